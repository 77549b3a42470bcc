/* libmicrohttpd on the libuv loop: MHD's epoll fd under a uv_poll, its timeout in a uv_timer. */
#include "http-server.h"

#include <errno.h>
#include <stdlib.h>

struct http_server {
        struct MHD_Daemon *mhd;
        uv_poll_t poll;
        uv_timer_t timer;
        unsigned open_handles;
};

static void on_timer(uv_timer_t *t);

/* MHD's epoll is edge-triggered: every run must be followed by re-arming from MHD_get_timeout, or work
 * MHD left for later (more queued connections, a resumed connection) waits for an event that never comes. */
static void run(struct http_server *h) {
        MHD_run(h->mhd);
        MHD_UNSIGNED_LONG_LONG timeout;
        if (MHD_get_timeout(h->mhd, &timeout) == MHD_YES)
                uv_timer_start(&h->timer, on_timer, timeout, 0);
        else
                uv_timer_stop(&h->timer);
}

static void on_timer(uv_timer_t *t) {
        run(t->data);
}

static void on_poll(uv_poll_t *p, int status, int events) {
        run(p->data);
}

int http_server_new(uv_loop_t *loop, const struct http_server_options *o, struct http_server **ret) {
        struct http_server *h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL, o->handler,
                                  o->handler_cls, MHD_OPTION_LISTEN_SOCKET, (MHD_socket) o->listen_fd,
                                  MHD_OPTION_NOTIFY_COMPLETED, o->completed, o->completed_cls,
                                  MHD_OPTION_CONNECTION_LIMIT, o->connection_limit,
                                  MHD_OPTION_CONNECTION_TIMEOUT, o->connection_timeout, MHD_OPTION_END);
        if (!h->mhd) {
                free(h);
                return -EIO;
        }
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
        int r = info ? uv_poll_init(loop, &h->poll, info->epoll_fd) : UV_EINVAL;
        if (r < 0) {
                MHD_stop_daemon(h->mhd);
                free(h);
                return r;
        }
        uv_timer_init(loop, &h->timer);
        h->poll.data = h->timer.data = h;
        h->open_handles = 2;
        uv_poll_start(&h->poll, UV_READABLE, on_poll);
        /* The listening socket may already hold connections (systemd's, or queued before we got here). */
        uv_timer_start(&h->timer, on_timer, 0, 0);
        *ret = h;
        return 0;
}

struct http_suspension {
        uv_poll_t poll;
        struct MHD_Connection *connection;
        http_hangup_fn on_hangup;
        void *userdata;
};

static void on_hangup(uv_poll_t *p, int status, int events) {
        struct http_suspension *s = p->data;
        uv_poll_stop(p);
        s->on_hangup(s->userdata);
}

int http_server_suspend(struct http_server *h, struct MHD_Connection *c, http_hangup_fn fn, void *userdata,
                        struct http_suspension **ret) {
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!info)
                return -EBADF;
        struct http_suspension *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        *s = (struct http_suspension) { .connection = c, .on_hangup = fn, .userdata = userdata };
        int r = uv_poll_init(uv_handle_get_loop((uv_handle_t *) &h->timer), &s->poll, info->connect_fd);
        if (r < 0) {
                free(s);
                return r;
        }
        s->poll.data = s;
        /* EPOLLRDHUP only: data the client sends meanwhile (a pipelined request) waits for MHD. */
        uv_poll_start(&s->poll, UV_DISCONNECT, on_hangup);
        MHD_suspend_connection(c);
        *ret = s;
        return 0;
}

static void free_handle(uv_handle_t *handle) {
        free(handle->data);
}

void http_server_resume(struct http_server *h, struct http_suspension *s) {
        /* Stop watching before MHD may close the fd. */
        uv_poll_stop(&s->poll);
        uv_close((uv_handle_t *) &s->poll, free_handle);
        MHD_resume_connection(s->connection);
        uv_timer_start(&h->timer, on_timer, 0, 0);
}

static void on_close(uv_handle_t *handle) {
        struct http_server *h = handle->data;
        if (--h->open_handles == 0)
                free(h);
}

void http_server_free(struct http_server *h) {
        if (!h)
                return;
        /* Resumed connections are only taken back by a run; then stop watching the epoll fd before MHD
         * closes it. */
        MHD_run(h->mhd);
        uv_poll_stop(&h->poll);
        MHD_stop_daemon(h->mhd);
        h->mhd = NULL;
        uv_close((uv_handle_t *) &h->poll, on_close);
        uv_close((uv_handle_t *) &h->timer, on_close);
}
