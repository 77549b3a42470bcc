/* libmicrohttpd on the libuv loop: MHD's epoll fd under a uv_poll, its timeout in a uv_timer. */
#pragma once

#include <microhttpd.h>
#include <uv.h>

struct http_server;

struct http_server_options {
        int listen_fd;                              /* a listening socket, closed with the server */
        MHD_AccessHandlerCallback handler;
        void *handler_cls;
        MHD_RequestCompletedCallback completed;     /* may be NULL */
        void *completed_cls;
        unsigned connection_limit;                  /* connections served at once; more wait in the backlog */
        unsigned connection_timeout;                /* seconds an idle connection is kept */
};

int http_server_new(uv_loop_t *loop, const struct http_server_options *o, struct http_server **ret);
/* A suspended connection (a stream waiting for data, a request waiting for a scan). MHD does not notice
 * a suspended connection's client leaving, so the fd is watched for the hang-up meanwhile. */
struct http_suspension;
typedef void (*http_hangup_fn)(void *userdata);

/* Suspends c; call only from MHD's access handler or content reader of c. When its client hangs up
 * first, on_hangup(userdata) runs from the loop (it should make c finish, then resume it). */
int http_server_suspend(struct http_server *h, struct MHD_Connection *c, http_hangup_fn on_hangup, void *userdata,
                        struct http_suspension **ret);
/* Resumes the connection, frees s, and lets MHD run soon (MHD does not notice a resume by itself). */
void http_server_resume(struct http_server *h, struct http_suspension *s);
/* Stops MHD (resume suspended connections first) and closes the handles; the memory goes once they
 * are closed. Accepts NULL. */
void http_server_free(struct http_server *h);
