/* An sd-bus connection driven by the libuv loop: one helper for the session and the system bus. */
#include "bus.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct bus {
        sd_bus *sd;
        uv_poll_t poll;
        uv_timer_t timer;
        uv_prepare_t prepare;
        int uv_events; /* what poll waits for now; -1 before the first start */
        unsigned open_handles;
        bool lost;
        bus_lost_fn on_lost;
        void *userdata;
};

static void handle_closed(uv_handle_t *h) {
        struct bus *b = h->data;
        if (--b->open_handles == 0)
                free(b);
}

static void stop(struct bus *b) {
        uv_poll_stop(&b->poll);
        uv_timer_stop(&b->timer);
        uv_prepare_stop(&b->prepare);
}

/* sd_bus_process until it has nothing left: one call handles at most one message, and it
 * can hold read messages that no fd event will announce. */
static void dispatch(struct bus *b) {
        if (b->lost)
                return;
        int r;
        do
                r = sd_bus_process(b->sd, NULL);
        while (r > 0);
        if (r < 0 || !sd_bus_is_open(b->sd)) {
                b->lost = true;
                stop(b);
                if (b->on_lost)
                        b->on_lost(b, b->userdata);
        }
}

static void poll_cb(uv_poll_t *p, int status, int events) {
        (void) status;
        (void) events;
        /* An error on the fd is sd_bus_process's to find and report. */
        dispatch(p->data);
}

static void timer_cb(uv_timer_t *t) {
        dispatch(t->data);
}

/* Before every poll: what the connection waits for now, and until when. sd-bus gives its
 * timeout as an absolute CLOCK_MONOTONIC time in µs (0: now, UINT64_MAX: none); libuv
 * wants a relative delay in ms, rounded up so the timer never fires early and spins. */
static void prepare_cb(uv_prepare_t *p) {
        struct bus *b = p->data;
        if (b->lost)
                return;
        int e = sd_bus_get_events(b->sd);
        uint64_t until;
        int r = e < 0 ? e : sd_bus_get_timeout(b->sd, &until);
        if (r < 0) {
                dispatch(b);
                /* Still open means the failure was passing; the next pass asks again. */
                return;
        }
        int want = (e & POLLIN ? UV_READABLE : 0) | (e & POLLOUT ? UV_WRITABLE : 0);
        if (want != b->uv_events) {
                uv_poll_start(&b->poll, want, poll_cb);
                b->uv_events = want;
        }
        if (until == UINT64_MAX) {
                uv_timer_stop(&b->timer);
                return;
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t now = (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
        uint64_t delay = until <= now ? 0 : (until - now + 999) / 1000;
        uv_timer_start(&b->timer, timer_cb, delay, 0);
}

int bus_attach(uv_loop_t *loop, sd_bus *sd, struct bus **ret) {
        if (!loop || !sd || !ret)
                return -EINVAL;
        int fd = sd_bus_get_fd(sd);
        if (fd < 0)
                return fd;
        struct bus *b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        int r = uv_poll_init(loop, &b->poll, fd);
        if (r < 0) {
                free(b);
                return r;
        }
        b->sd = sd_bus_ref(sd);
        b->uv_events = -1;
        b->poll.data = b->timer.data = b->prepare.data = b;
        uv_timer_init(loop, &b->timer);
        uv_prepare_init(loop, &b->prepare);
        b->open_handles = 3;
        /* The poll and the timer hold the loop while a reply is awaited; the prepare hook
         * alone must not keep an otherwise finished loop running. */
        uv_prepare_start(&b->prepare, prepare_cb);
        uv_unref((uv_handle_t *) &b->prepare);
        /* Armed now too: a loop with nothing else to do would end before any prepare hook ran. */
        prepare_cb(&b->prepare);
        *ret = b;
        return 0;
}

int bus_open(uv_loop_t *loop, enum bus_kind kind, const char *description, struct bus **ret) {
        if (!loop || !ret || (kind != BUS_SESSION && kind != BUS_SYSTEM))
                return -EINVAL;
        sd_bus *sd = NULL;
        int r = kind == BUS_SESSION ? sd_bus_open_user_with_description(&sd, description)
                                    : sd_bus_open_system_with_description(&sd, description);
        if (r < 0)
                return r;
        r = bus_attach(loop, sd, ret);
        sd_bus_unref(sd);
        return r;
}

static int hex_digit(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* One `key=value` of a D-Bus address, percent-escapes decoded; NULL when absent or malformed. */
static char *address_value(const char *params, size_t len, const char *key) {
        size_t klen = strlen(key);
        for (const char *p = params, *end = params + len; p < end;) {
                const char *comma = memchr(p, ',', (size_t) (end - p));
                const char *stop = comma ? comma : end;
                if ((size_t) (stop - p) > klen && memcmp(p, key, klen) == 0 && p[klen] == '=') {
                        const char *v = p + klen + 1;
                        char *out = malloc((size_t) (stop - v) + 1), *o = out;
                        if (!out)
                                return NULL;
                        while (v < stop) {
                                if (*v != '%') {
                                        *o++ = *v++;
                                        continue;
                                }
                                int hi = stop - v > 2 ? hex_digit(v[1]) : -1;
                                int lo = hi >= 0 ? hex_digit(v[2]) : -1;
                                if (lo < 0) {
                                        free(out);
                                        return NULL;
                                }
                                *o++ = (char) (hi << 4 | lo);
                                v += 3;
                        }
                        *o = '\0';
                        return out;
                }
                p = stop + 1;
        }
        return NULL;
}

int bus_socket_path(enum bus_kind kind, char **ret) {
        const char *address = getenv(kind == BUS_SESSION ? "DBUS_SESSION_BUS_ADDRESS" : "DBUS_SYSTEM_BUS_ADDRESS");
        _cleanup_free_ char *fallback = NULL;
        if (!address || !*address) {
                if (kind == BUS_SYSTEM)
                        address = "unix:path=/run/dbus/system_bus_socket";
                else {
                        const char *runtime = getenv("XDG_RUNTIME_DIR");
                        if (!runtime || runtime[0] != '/')
                                return -ENOENT;
                        if (!(fallback = util_printf("unix:path=%s/bus", runtime)))
                                return -ENOMEM;
                        address = fallback;
                }
        }
        /* Alternatives are separated by ';'; sd-bus tries them in order. */
        for (const char *a = address; *a;) {
                size_t len = strcspn(a, ";");
                const char *params = len > 5 && memcmp(a, "unix:", 5) == 0 ? a + 5 : NULL;
                if (params) {
                        char *path = address_value(params, len - 5, "path");
                        if (path && path[0] == '/') {
                                *ret = path;
                                return 0;
                        }
                        free(path);
                }
                a += len;
                if (*a == ';')
                        a++;
        }
        return -ENOENT;
}

sd_bus *bus_sd(struct bus *b) {
        return b->sd;
}

void bus_on_lost(struct bus *b, bus_lost_fn fn, void *userdata) {
        b->on_lost = fn;
        b->userdata = userdata;
}

void bus_free(struct bus *b) {
        if (!b)
                return;
        stop(b);
        b->on_lost = NULL;
        sd_bus_flush_close_unref(TAKE_PTR(b->sd));
        uv_close((uv_handle_t *) &b->poll, handle_closed);
        uv_close((uv_handle_t *) &b->timer, handle_closed);
        uv_close((uv_handle_t *) &b->prepare, handle_closed);
}
