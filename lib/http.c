/* Asynchronous HTTP client: libcurl's multi interface driven by a libuv loop, with retries and limits. */
#include "http.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <strings.h>

#include "util.h"

/* A response may not make us hold more header text than this (curl caps one line at 100 KiB). */
#define HEADERS_MAX_LINES 512
#define HEADERS_MAX_BYTES (256 * 1024)
#define BODY_DEFAULT_MAX (4 * 1024 * 1024)
#define REDIRECTS_MAX 5
/* Far beyond any cap a caller sets; keeps the millisecond arithmetic from overflowing. */
#define RETRY_AFTER_MAX_S ((int64_t) 1000000000000)

struct http_sock;
struct transfer;

struct http_client {
        unsigned n_ref; /* the owner, plus one per dispatch in progress (callbacks may free the client) */
        bool dead;
        uv_loop_t *loop;
        CURLM *multi;
        uv_timer_t *timer;
        struct http_options opts;
        char *user_agent;
        char *ca_file;
        uint64_t request_count;
        struct transfer *transfers;
        struct http_sock *socks;
        /* Transfers handed to curl, and those waiting for their turn (see transfer_start). */
        unsigned n_in_multi;
        struct transfer *queue_head, *queue_tail;
};

/* One uv_poll_t per socket curl asks us to watch; freed by its close callback. */
struct http_sock {
        uv_poll_t poll;
        struct http_client *client;
        curl_socket_t fd;
        struct http_sock *prev, *next;
};

struct transfer {
        struct http_client *client;
        struct transfer *prev, *next;
        CURL *easy;
        bool in_multi;
        bool queued;
        struct transfer *queue_prev, *queue_next;
        uv_timer_t *retry_timer;

        char *url;
        struct curl_slist *header_list;
        bool head;
        bool post;
        bool follow;
        bool no_retry;
        uint64_t deadline;
        size_t max_body;
        http_done_fn cb;
        void *userdata;

        /* The current attempt's response; reset on every status line and every retry. */
        long status;
        char **headers;
        size_t headers_bytes;
        char *body;
        size_t body_len, body_alloc;
        int error;
        char message[CURL_ERROR_SIZE];
        char curl_error[CURL_ERROR_SIZE];

        unsigned attempts;
        unsigned requests;
};

static struct http_client *client_ref(struct http_client *c) {
        c->n_ref++;
        return c;
}

static void client_unref(struct http_client *c) {
        if (--c->n_ref > 0)
                return;
        free(c->user_agent);
        free(c->ca_file);
        free(c);
}

static void close_free_cb(uv_handle_t *h) {
        free(h);
}

static void sock_close_cb(uv_handle_t *h) {
        free(h->data);
}

static void sock_close(struct http_sock *k) {
        struct http_client *c = k->client;
        if (k->prev)
                k->prev->next = k->next;
        else
                c->socks = k->next;
        if (k->next)
                k->next->prev = k->prev;
        uv_close((uv_handle_t *) &k->poll, sock_close_cb);
}

static void transfer_reset_response(struct transfer *t) {
        t->status = 0;
        util_strv_free(t->headers);
        t->headers = NULL;
        t->headers_bytes = 0;
        t->body_len = 0;
        t->error = 0;
        t->message[0] = 0;
        t->curl_error[0] = 0;
}

static void transfer_unlink(struct transfer *t) {
        struct http_client *c = t->client;
        if (t->prev)
                t->prev->next = t->next;
        else if (c->transfers == t)
                c->transfers = t->next;
        if (t->next)
                t->next->prev = t->prev;
        t->prev = t->next = NULL;
        if (t->in_multi) {
                curl_multi_remove_handle(c->multi, t->easy);
                t->in_multi = false;
                c->n_in_multi--;
        }
        if (t->queued) {
                if (t->queue_prev)
                        t->queue_prev->queue_next = t->queue_next;
                else
                        c->queue_head = t->queue_next;
                if (t->queue_next)
                        t->queue_next->queue_prev = t->queue_prev;
                else
                        c->queue_tail = t->queue_prev;
                t->queue_prev = t->queue_next = NULL;
                t->queued = false;
        }
        if (t->retry_timer) {
                uv_close((uv_handle_t *) t->retry_timer, close_free_cb);
                t->retry_timer = NULL;
        }
}

static void transfer_free(struct transfer *t) {
        if (!t)
                return;
        if (t->easy)
                curl_easy_cleanup(t->easy);
        curl_slist_free_all(t->header_list);
        free(t->url);
        util_strv_free(t->headers);
        free(t->body);
        free(t);
}

static const char *const no_headers[] = { NULL };

/* Hands the outcome to the caller and releases the transfer, which must already be unlinked. */
static void transfer_complete(struct transfer *t, int error, const char *message) {
        char *effective = NULL;
        if (t->easy)
                curl_easy_getinfo(t->easy, CURLINFO_EFFECTIVE_URL, &effective);

        struct http_response r = {
                .error = error,
                .error_message = error != 0 ? message : NULL,
                .status = t->status,
                .url = effective ?: t->url,
                .body = t->body ?: "",
                .body_len = t->body_len,
                .attempts = t->attempts,
                .requests = t->requests,
                .headers = (const char *const *) t->headers,
        };
        if (t->body)
                t->body[t->body_len] = 0;
        if (!r.headers && t->status > 0)
                r.headers = no_headers;

        t->cb(&r, t->userdata);
        transfer_free(t);
}

static size_t transfer_oom(struct transfer *t) {
        t->error = -ENOMEM;
        snprintf(t->message, sizeof t->message, "out of memory");
        return 0;
}

/* The three-digit code of "HTTP/x[.y] NNN reason" (the line is not NUL-terminated); 0 if malformed. */
static long status_line_code(const char *line, size_t l) {
        const char *sp = memchr(line, ' ', l);
        if (!sp || line + l - sp < 4)
                return 0;
        for (int i = 1; i <= 3; i++)
                if (!isdigit((unsigned char) sp[i]))
                        return 0;
        return (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
}

static size_t on_header(char *buf, size_t size, size_t n, void *userdata) {
        struct transfer *t = userdata;
        size_t len = size * n, l = len;

        while (l > 0 && (buf[l - 1] == '\n' || buf[l - 1] == '\r'))
                l--;

        /* curl hands us every hop's headers (1xx, redirects, proxy CONNECT): only the last counts. */
        if (l >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
                util_strv_free(t->headers);
                t->headers = NULL;
                t->headers_bytes = 0;
                t->body_len = 0;
                t->status = status_line_code(buf, l);
                return len;
        }
        if (l == 0)
                return len;

        if (t->headers_bytes + l > HEADERS_MAX_BYTES || util_strv_length(t->headers) >= HEADERS_MAX_LINES) {
                t->error = -EFBIG;
                snprintf(t->message, sizeof t->message, "response headers exceed %u lines or %u bytes",
                         HEADERS_MAX_LINES, HEADERS_MAX_BYTES);
                return 0;
        }

        size_t count = util_strv_length(t->headers);
        if (buf[0] == ' ' || buf[0] == '\t') {
                /* An obsolete folded continuation: part of the previous header's value. */
                if (count == 0)
                        return len;
                size_t s = 0;
                while (s < l && (buf[s] == ' ' || buf[s] == '\t'))
                        s++;
                char *joined = util_printf("%s %.*s", t->headers[count - 1], (int) (l - s), buf + s);
                if (!joined)
                        return transfer_oom(t);
                free(t->headers[count - 1]);
                t->headers[count - 1] = joined;
                t->headers_bytes += l;
                return len;
        }

        const char *colon = memchr(buf, ':', l);
        if (!colon || colon == buf)
                return len; /* not a header line; curl already rejects what it cannot parse */
        const char *v = colon + 1, *end = buf + l;
        while (v < end && (*v == ' ' || *v == '\t'))
                v++;
        while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
                end--;
        char *line = util_printf("%.*s: %.*s", (int) (colon - buf), buf, (int) (end - v), v);
        if (!line || util_strv_consume(&t->headers, line) < 0)
                return transfer_oom(t);
        t->headers_bytes += l;

        /* Refuse an announced oversized body before any of it arrives. */
        bool body_follows = !t->head && t->status >= 200 && t->status != 204 && t->status != 304 &&
                            !(t->follow && t->status >= 300 && t->status < 400);
        if (body_follows && (size_t) (colon - buf) == strlen("Content-Length") &&
            strncasecmp(buf, "Content-Length", colon - buf) == 0) {
                errno = 0;
                char *e;
                unsigned long long cl = strtoull(v, &e, 10);
                if (e != v && (errno == ERANGE || cl > t->max_body)) {
                        t->error = -EFBIG;
                        snprintf(t->message, sizeof t->message,
                                 "response body of %.*s bytes exceeds the limit of %zu bytes",
                                 (int) (end - v), v, t->max_body);
                        return 0;
                }
        }
        return len;
}

static size_t on_write(char *p, size_t size, size_t n, void *userdata) {
        struct transfer *t = userdata;
        size_t len = size * n;

        if (len > t->max_body - t->body_len) {
                t->error = -EFBIG;
                snprintf(t->message, sizeof t->message, "response body exceeds the limit of %zu bytes",
                         t->max_body);
                return 0;
        }
        if (t->body_len + len + 1 > t->body_alloc) {
                size_t want = t->body_alloc < 16384 ? 16384 : t->body_alloc;
                while (want < t->body_len + len + 1)
                        want *= 2;
                if (want > t->max_body + 1)
                        want = t->max_body + 1;
                char *b = realloc(t->body, want);
                if (!b)
                        return transfer_oom(t);
                t->body = b;
                t->body_alloc = want;
        }
        memcpy(t->body + t->body_len, p, len);
        t->body_len += len;
        return len;
}

/* Called right before each request goes out, redirect hops and curl's own resends included. */
static int on_prereq(void *userdata, char *primary_ip, char *local_ip, int primary_port, int local_port) {
        struct transfer *t = userdata;
        t->requests++;
        t->client->request_count++;
        return CURL_PREREQFUNC_OK;
}

static int error_from_curl(CURLcode code) {
        switch (code) {
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        case CURLE_FILESIZE_EXCEEDED:
                return -EFBIG;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
                return -EKEYREJECTED;
        default:
                return -EPROTO;
        }
}

/* Failures a second attempt can cure: the peer or the path between us was briefly unwell. */
static bool curl_code_retryable(CURLcode code) {
        switch (code) {
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_COULDNT_CONNECT:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
                return true;
        default:
                return false;
        }
}

static bool status_retryable(long status) {
        return status == 408 || status == 429 || (status >= 500 && status <= 599 && status != 501 && status != 505);
}

static int64_t retry_delay_ms(const struct transfer *t) {
        const struct http_options *o = &t->client->opts;

        /* The server knows best; a wait longer than we are prepared to sit out means giving up now. */
        struct http_response r = { .headers = (const char *const *) t->headers };
        const char *ra = http_response_header(&r, "Retry-After");
        if (ra) {
                int64_t ms = http_parse_retry_after(ra, util_now_ms());
                if (ms >= 0)
                        return ms <= o->retry_max_ms ? ms : -1;
        }

        /* Full jitter: uniformly anywhere below the exponential ceiling. */
        uint64_t ceiling = o->retry_base_ms;
        for (unsigned i = 1; i < t->attempts && ceiling < o->retry_max_ms; i++)
                ceiling *= 2;
        if (ceiling > o->retry_max_ms)
                ceiling = o->retry_max_ms;
        return arc4random_uniform((uint32_t) ceiling + 1);
}

static int transfer_add(struct transfer *t) {
        const struct http_options *o = &t->client->opts;
        long timeout = o->total_timeout_ms;
        if (t->deadline) {
                uint64_t now = uv_now(t->client->loop);
                /* Past the deadline the attempt still runs, for the 1 ms it takes curl to say it timed out:
                 * the callback must come from the loop. */
                uint64_t left = t->deadline > now ? t->deadline - now : 1;
                if (left < (uint64_t) timeout)
                        timeout = (long) left;
        }
        if (curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, timeout) != CURLE_OK)
                return -EINVAL;
        t->attempts++;
        CURLMcode mc = curl_multi_add_handle(t->client->multi, t->easy);
        if (mc != CURLM_OK)
                return mc == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EINVAL;
        t->in_multi = true;
        t->client->n_in_multi++;
        return 0;
}

/* Transfers handed to curl at once. curl's multi handle walks its list of handles whenever one is
 * removed, so thousands submitted together (a scan of 10,000 repositories) made every scan
 * quadratic; beyond a few per connection, the rest wait in our queue, in order. */
static unsigned multi_cap(const struct http_client *c) {
        return 4 * c->opts.max_connections;
}

static int transfer_start(struct transfer *t) {
        struct http_client *c = t->client;
        if (c->n_in_multi < multi_cap(c) && !c->queue_head)
                return transfer_add(t);
        t->queued = true;
        t->queue_prev = c->queue_tail;
        if (c->queue_tail)
                c->queue_tail->queue_next = t;
        else
                c->queue_head = t;
        c->queue_tail = t;
        return 0;
}

/* Hands waiting transfers to curl while there is room; one that cannot start fails. */
static void client_start_queued(struct http_client *c) {
        while (!c->dead && c->queue_head && c->n_in_multi < multi_cap(c)) {
                struct transfer *t = c->queue_head;
                c->queue_head = t->queue_next;
                if (c->queue_head)
                        c->queue_head->queue_prev = NULL;
                else
                        c->queue_tail = NULL;
                t->queue_next = NULL;
                t->queued = false;
                int r = transfer_add(t);
                if (r < 0) {
                        transfer_unlink(t);
                        transfer_complete(t, r, "cannot start the transfer");
                }
        }
}

static void on_retry_timer(uv_timer_t *timer) {
        struct transfer *t = timer->data;
        uv_close((uv_handle_t *) timer, close_free_cb);
        t->retry_timer = NULL;

        transfer_reset_response(t);
        int r = transfer_start(t);
        if (r < 0) {
                transfer_unlink(t);
                transfer_complete(t, r, "cannot restart the transfer");
        }
}

static bool transfer_schedule_retry(struct transfer *t) {
        struct http_client *c = t->client;
        if (t->no_retry || t->attempts > c->opts.max_retries)
                return false;
        int64_t delay = retry_delay_ms(t);
        if (delay < 0)
                return false;
        if (t->deadline && uv_now(c->loop) + (uint64_t) delay + HTTP_RETRY_MIN_WINDOW_MS > t->deadline)
                return false;

        uv_timer_t *timer = malloc(sizeof *timer);
        if (!timer)
                return false;
        uv_timer_init(c->loop, timer);
        timer->data = t;
        uv_timer_start(timer, on_retry_timer, (uint64_t) delay, 0);
        t->retry_timer = timer;
        return true;
}

static void transfer_done(struct transfer *t, CURLcode code) {
        struct http_client *c = t->client;

        curl_multi_remove_handle(c->multi, t->easy);
        t->in_multi = false;
        c->n_in_multi--;

        int error = t->error;
        const char *message = t->message;
        if (error == 0 && code != CURLE_OK) {
                error = error_from_curl(code);
                message = t->curl_error[0] ? t->curl_error : curl_easy_strerror(code);
                if (curl_code_retryable(code) && transfer_schedule_retry(t))
                        return;
        } else if (error == 0 && status_retryable(t->status) && transfer_schedule_retry(t))
                return;

        transfer_unlink(t);
        transfer_complete(t, error, message);
}

/* Drains curl's finished transfers; a callback may free the client, so check after each one. */
static void client_process_done(struct http_client *c) {
        CURLMsg *msg;
        int pending;

        while (!c->dead && (msg = curl_multi_info_read(c->multi, &pending))) {
                if (msg->msg != CURLMSG_DONE)
                        continue;
                struct transfer *t = NULL;
                curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &t);
                transfer_done(t, msg->data.result);
        }
        client_start_queued(c);
}

static void client_socket_action(struct http_client *c, curl_socket_t fd, int flags) {
        int running;
        if (c->dead)
                return;
        client_ref(c);
        curl_multi_socket_action(c->multi, fd, flags, &running);
        client_process_done(c);
        client_unref(c);
}

static void on_poll(uv_poll_t *p, int status, int events) {
        struct http_sock *k = p->data;
        int flags = 0;

        if (status < 0)
                flags = CURL_CSELECT_ERR;
        else {
                if (events & UV_READABLE)
                        flags |= CURL_CSELECT_IN;
                if (events & UV_WRITABLE)
                        flags |= CURL_CSELECT_OUT;
        }
        client_socket_action(k->client, k->fd, flags);
}

static void on_timeout(uv_timer_t *timer) {
        client_socket_action(timer->data, CURL_SOCKET_TIMEOUT, 0);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
        struct http_client *c = userp;
        struct http_sock *k = socketp;

        if (c->dead)
                return 0;
        if (what == CURL_POLL_REMOVE) {
                if (k) {
                        curl_multi_assign(c->multi, fd, NULL);
                        sock_close(k);
                }
                return 0;
        }

        if (!k) {
                k = calloc(1, sizeof *k);
                if (!k)
                        return -1;
                if (uv_poll_init_socket(c->loop, &k->poll, fd) < 0) {
                        free(k);
                        return -1;
                }
                k->poll.data = k;
                k->client = c;
                k->fd = fd;
                k->next = c->socks;
                if (c->socks)
                        c->socks->prev = k;
                c->socks = k;
                curl_multi_assign(c->multi, fd, k);
        }

        int events = 0;
        if (what & CURL_POLL_IN)
                events |= UV_READABLE;
        if (what & CURL_POLL_OUT)
                events |= UV_WRITABLE;
        return uv_poll_start(&k->poll, events, on_poll) < 0 ? -1 : 0;
}

static int on_timer_set(CURLM *multi, long timeout_ms, void *userp) {
        struct http_client *c = userp;

        if (c->dead)
                return 0;
        if (timeout_ms < 0)
                uv_timer_stop(c->timer);
        else
                uv_timer_start(c->timer, on_timeout, (uint64_t) timeout_ms, 0);
        return 0;
}

int http_client_new(uv_loop_t *loop, const struct http_options *opts, struct http_client **ret) {
        static bool curl_initialized = false;
        const struct http_options none = {};

        if (!loop || !ret)
                return -EINVAL;
        if (!opts)
                opts = &none;

        if (!curl_initialized) {
                if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                        return -ENOMEM;
                curl_initialized = true;
        }

        struct http_client *c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->n_ref = 1;
        c->loop = loop;
        c->opts = *opts;
        struct http_options *o = &c->opts;
        o->max_connections = o->max_connections ?: 8;
        o->max_per_host = o->max_per_host ?: o->max_connections;
        o->connect_timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 10000;
        o->low_speed_time_s = o->low_speed_time_s > 0 ? o->low_speed_time_s : 10;
        o->low_speed_limit = o->low_speed_limit > 0 ? o->low_speed_limit : 1024;
        o->total_timeout_ms = o->total_timeout_ms > 0 ? o->total_timeout_ms : 120000;
        o->max_retries = o->max_retries ?: 4;
        o->retry_base_ms = o->retry_base_ms ?: 500;
        o->retry_max_ms = o->retry_max_ms ?: 60000;
        if (o->retry_base_ms > o->retry_max_ms)
                o->retry_base_ms = o->retry_max_ms;
        c->user_agent = strdup(opts->user_agent ?: "extupdated/" EXTUPDATED_VERSION);
        o->user_agent = c->user_agent;
        if (opts->ca_file) {
                c->ca_file = strdup(opts->ca_file);
                if (!c->ca_file) {
                        client_unref(c);
                        return -ENOMEM;
                }
        }
        o->ca_file = c->ca_file;

        c->timer = malloc(sizeof *c->timer);
        c->multi = curl_multi_init();
        if (!c->user_agent || !c->timer || !c->multi) {
                if (c->multi)
                        curl_multi_cleanup(c->multi);
                free(c->timer);
                client_unref(c);
                return -ENOMEM;
        }
        uv_timer_init(loop, c->timer);
        c->timer->data = c;

        curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
        curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
        curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer_set);
        curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
        curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long) o->max_connections);
        curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long) o->max_per_host);
        curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long) o->max_connections);
        curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, (long) CURLPIPE_MULTIPLEX);

        *ret = c;
        return 0;
}

void http_client_free(struct http_client *c) {
        if (!c || c->dead)
                return;
        c->dead = true;

        /* Stop watching before curl closes the sockets, so no poll outlives its descriptor; from here
         * on the socket and timer callbacks ignore curl. */
        while (c->socks)
                sock_close(c->socks);
        while (c->transfers) {
                struct transfer *t = c->transfers;
                transfer_unlink(t);
                transfer_complete(t, -ECANCELED, "cancelled");
        }
        curl_multi_cleanup(c->multi);
        uv_close((uv_handle_t *) c->timer, close_free_cb);
        client_unref(c);
}

void http_client_cancel_all(struct http_client *c) {
        if (!c || c->dead)
                return;
        /* Unlink every transfer before the first callback runs: a callback may submit new requests
         * (which must not be cancelled by this call) or free the client. */
        struct transfer *list = c->transfers;
        c->transfers = NULL;
        for (struct transfer *t = list; t; t = t->next) {
                if (t->in_multi) {
                        curl_multi_remove_handle(c->multi, t->easy);
                        t->in_multi = false;
                }
                if (t->retry_timer) {
                        uv_close((uv_handle_t *) t->retry_timer, close_free_cb);
                        t->retry_timer = NULL;
                }
        }
        client_ref(c);
        for (struct transfer *t = list, *next; t; t = next) {
                next = t->next;
                t->prev = t->next = NULL;
                transfer_complete(t, -ECANCELED, "cancelled");
        }
        client_unref(c);
}

static bool header_line_valid(const char *h) {
        const char *colon = strchr(h, ':');
        return colon && colon != h && !strpbrk(h, "\r\n");
}

static int transfer_setup(struct transfer *t, const struct http_request *req) {
        struct http_client *c = t->client;
        const struct http_options *o = &c->opts;
        CURL *e = t->easy;

        bool https = util_startswith_no_case(req->url, "https://");
        if (!https && !util_startswith_no_case(req->url, "http://"))
                return -EINVAL;

        for (const char *const *h = req->headers; h && *h; h++) {
                if (!header_line_valid(*h))
                        return -EINVAL;
                struct curl_slist *l = curl_slist_append(t->header_list, *h);
                if (!l)
                        return -ENOMEM;
                t->header_list = l;
        }

        CURLcode r = CURLE_OK;
#define SET(opt, val) (r = r != CURLE_OK ? r : curl_easy_setopt(e, opt, val))
        SET(CURLOPT_URL, t->url);
        SET(CURLOPT_PRIVATE, t);
        SET(CURLOPT_NOSIGNAL, 1L);
        SET(CURLOPT_ERRORBUFFER, t->curl_error);
        SET(CURLOPT_USERAGENT, c->user_agent);
        SET(CURLOPT_HTTPHEADER, t->header_list);
        SET(CURLOPT_NOBODY, t->head ? 1L : 0L);
        if (t->post) {
                /* Copied into the handle, so a retry sends it again after req is gone. */
                SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req->body_len);
                SET(CURLOPT_COPYPOSTFIELDS, req->body ? req->body : "");
        }
        SET(CURLOPT_WRITEFUNCTION, on_write);
        SET(CURLOPT_WRITEDATA, t);
        SET(CURLOPT_HEADERFUNCTION, on_header);
        SET(CURLOPT_HEADERDATA, t);
        SET(CURLOPT_PREREQFUNCTION, on_prereq);
        SET(CURLOPT_PREREQDATA, t);
        SET(CURLOPT_PROTOCOLS_STR, "http,https");
        SET(CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_2TLS);
        /* Waiting to learn whether a connection multiplexes only pays where HTTP/2 is possible. */
        SET(CURLOPT_PIPEWAIT, https ? 1L : 0L);
        if (req->ca_file || c->ca_file)
                SET(CURLOPT_CAINFO, req->ca_file ? req->ca_file : c->ca_file);
        /* The CA bundle alone, no CA directory: curl keeps a parsed bundle for the whole multi handle
         * only then (Debian's libcurl names /etc/ssl/certs by default), and parsing it anew costs
         * ~30 ms of the loop for every new TLS connection. */
        SET(CURLOPT_CAPATH, NULL);
        SET(CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
        SET(CURLOPT_LOW_SPEED_LIMIT, o->low_speed_limit);
        SET(CURLOPT_LOW_SPEED_TIME, o->low_speed_time_s);
        if (t->follow) {
                /* Custom Authorization headers stay behind on another host (curl ≥ 7.58; we never set
                 * CURLOPT_UNRESTRICTED_AUTH); a redirect may keep or upgrade the scheme, never drop TLS. */
                SET(CURLOPT_FOLLOWLOCATION, 1L);
                SET(CURLOPT_MAXREDIRS, (long) REDIRECTS_MAX);
                SET(CURLOPT_REDIR_PROTOCOLS_STR, https ? "https" : "http,https");
        }
#undef SET
        if (r == CURLE_OUT_OF_MEMORY)
                return -ENOMEM;
        return r == CURLE_OK ? 0 : -EINVAL;
}

int http_submit(struct http_client *c, const struct http_request *req, http_done_fn cb, void *userdata) {
        if (!c || !req || !req->url || !cb)
                return -EINVAL;
        if (c->dead)
                return -ECANCELED;

        bool head = false, post = false;
        if (req->method && !streq(req->method, "GET")) {
                head = streq(req->method, "HEAD");
                post = streq(req->method, "POST");
                if (!head && !post)
                        return -EINVAL;
        }
        if (!post && req->body)
                return -EINVAL;

        struct transfer *t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        t->client = c;
        t->head = head;
        t->post = post;
        t->follow = req->follow_redirects;
        t->no_retry = req->no_retry;
        t->deadline = req->deadline;
        /* Clamped so the buffer arithmetic (max_body + 1 for the NUL) cannot wrap. */
        t->max_body = req->max_body == 0 ? BODY_DEFAULT_MAX : req->max_body < SIZE_MAX / 4 ? req->max_body : SIZE_MAX / 4;
        t->cb = cb;
        t->userdata = userdata;
        t->url = strdup(req->url);
        t->easy = curl_easy_init();
        if (!t->url || !t->easy) {
                transfer_free(t);
                return -ENOMEM;
        }

        int r = transfer_setup(t, req);
        if (r >= 0)
                r = transfer_start(t);
        if (r < 0) {
                transfer_free(t);
                return r;
        }

        t->next = c->transfers;
        if (c->transfers)
                c->transfers->prev = t;
        c->transfers = t;
        return 0;
}

unsigned http_cancel(struct http_client *c, const void *userdata) {
        unsigned n = 0;
        if (!c || c->dead)
                return 0;
        /* A callback may submit, cancel or free the client: look again from the start after each one. */
        client_ref(c);
        while (!c->dead) {
                struct transfer *t = c->transfers;
                while (t && t->userdata != userdata)
                        t = t->next;
                if (!t)
                        break;
                transfer_unlink(t);
                transfer_complete(t, -ECANCELED, "cancelled");
                n++;
        }
        client_start_queued(c);
        client_unref(c);
        return n;
}

uint64_t http_client_request_count(const struct http_client *c) {
        return c ? c->request_count : 0;
}

static const char *header_value(const char *line, const char *name) {
        size_t n = strlen(name);
        if (strncasecmp(line, name, n) != 0 || line[n] != ':')
                return NULL;
        const char *v = line + n + 1;
        while (*v == ' ' || *v == '\t')
                v++;
        return v;
}

const char *http_response_header(const struct http_response *r, const char *name) {
        const char *found = NULL;
        if (!r || !r->headers || !name)
                return NULL;
        for (const char *const *h = r->headers; *h; h++) {
                const char *v = header_value(*h, name);
                if (v)
                        found = v;
        }
        return found;
}

const char **http_response_headers(const struct http_response *r, const char *name) {
        size_t n = 0;
        if (r && r->headers && name)
                for (const char *const *h = r->headers; *h; h++)
                        if (header_value(*h, name))
                                n++;

        const char **l = calloc(n + 1, sizeof *l);
        if (!l || n == 0)
                return l;
        size_t i = 0;
        for (const char *const *h = r->headers; *h; h++) {
                const char *v = header_value(*h, name);
                if (v)
                        l[i++] = v;
        }
        return l;
}

int64_t http_parse_retry_after(const char *value, int64_t now_ms) {
        if (!value)
                return -1;
        while (*value == ' ' || *value == '\t')
                value++;

        if (isdigit((unsigned char) *value)) {
                /* delta-seconds: digits only; an absurd count saturates rather than wraps. */
                int64_t s = 0;
                const char *p = value;
                for (; isdigit((unsigned char) *p); p++)
                        s = s >= RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : s * 10 + (*p - '0');
                while (*p == ' ' || *p == '\t')
                        p++;
                return *p ? -1 : s * 1000;
        }

        /* Every HTTP-date form (IMF-fixdate, RFC 850, asctime) starts with a day name. */
        if (!isalpha((unsigned char) *value))
                return -1;
        time_t when = curl_getdate(value, NULL);
        if (when < 0)
                return -1;
        int64_t ms = (int64_t) when * 1000 - now_ms;
        return ms > 0 ? ms : 0;
}
