/* Asynchronous HTTP client: libcurl's multi interface driven by a libuv loop. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct http_client;

struct http_options {
        unsigned max_connections;   /* in all; 0 = 8 */
        unsigned max_per_host;      /* 0 = max_connections */
        long connect_timeout_ms;    /* 0 = 10000 */
        long low_speed_time_s;      /* abort when below low_speed_limit for this long; 0 = 30 */
        long low_speed_limit;       /* bytes per second; 0 = 1 */
        long total_timeout_ms;      /* one attempt, time waiting for a free connection included;
                                       0 = 120000 */
        unsigned max_retries;       /* for 408, 429, 5xx except 501 and 505, and transport errors
                                       (timeouts, refused or reset connections); 0 = 4 */
        unsigned retry_base_ms;     /* first backoff, doubled each attempt, full jitter; 0 = 500 */
        unsigned retry_max_ms;      /* cap for one backoff; a Retry-After above it is not waited
                                       for: the response is returned as it is; 0 = 60000 */
        const char *user_agent;     /* NULL = "extupdated/VERSION" */
        const char *ca_file;        /* PEM bundle trusted instead of the system's (test registries,
                                       private CAs); NULL = the system's */
};

struct http_request {
        const char *method;          /* "GET" (default when NULL), "HEAD" or "POST" */
        const char *url;
        const char *const *headers;  /* NULL-terminated "Name: value" lines, or NULL */
        size_t max_body;             /* larger bodies fail with -EFBIG; 0 = 4 MiB */
        bool follow_redirects;       /* same-scheme-or-upgrade redirects, at most 5; never sends
                                        the request's Authorization header to another host */
        bool no_retry;               /* one attempt only */
        const char *body;            /* POST only: the request body (copied), sent as
                                        application/x-www-form-urlencoded unless a header says otherwise */
        size_t body_len;
};

struct http_response {
        int error;               /* 0, or negative errno: -ETIMEDOUT, -ECONNREFUSED, -EFBIG,
                                    -EPROTO (other transport failure), -ECANCELED */
        const char *error_message; /* human text for error != 0 (curl's), else NULL */
        long status;             /* last HTTP status, 0 when no response */
        const char *url;         /* the effective URL after redirects */
        const char *body;        /* NUL-terminated for convenience; may hold NULs */
        size_t body_len;
        unsigned attempts;       /* 1 + retries */
        unsigned requests;       /* HTTP requests this call sent, retries and redirects included
                                    (an attempt whose connection failed sent none) */
        const char *const *headers; /* the final response's header lines as "Name: value",
                                       NULL-terminated; NULL when there was no response */
};

/* Header of the final response by name, case-insensitive; last occurrence; NULL if absent. */
const char *http_response_header(const struct http_response *r, const char *name);
/* Every value of a header in order (for several WWW-Authenticate or Link lines), NULL-terminated;
 * the array is freed by the caller with free(), the strings belong to the response. */
const char **http_response_headers(const struct http_response *r, const char *name);

/* The response is valid only during the callback. */
typedef void (*http_done_fn)(const struct http_response *response, void *userdata);

int http_client_new(uv_loop_t *loop, const struct http_options *opts, struct http_client **ret);
/* Cancels what is in flight (callbacks run with -ECANCELED) and releases everything;
 * the loop must run once more afterwards to close handles. Accepts NULL. */
void http_client_free(struct http_client *c);

/* Cancels every request in flight or waiting for a retry: their callbacks run with -ECANCELED
 * from inside this call (requests they submit are not cancelled). The client stays usable. */
void http_client_cancel_all(struct http_client *c);

/* Queues a request; cb runs exactly once, from the loop, never from inside http_submit.
 * The request's strings are copied. Returns 0 or -ENOMEM/-EINVAL, or -ECANCELED when called
 * from a callback that http_client_free runs. */
int http_submit(struct http_client *c, const struct http_request *req, http_done_fn cb, void *userdata);

/* HTTP requests sent since the client was created, retries and redirects included. */
uint64_t http_client_request_count(const struct http_client *c);

/* Parses Retry-After (delta-seconds or an HTTP date) into milliseconds from now; -1 when invalid. */
int64_t http_parse_retry_after(const char *value, int64_t now_ms);
