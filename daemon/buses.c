/* The daemon's D-Bus side: the session bus for io.extupdated.Daemon1 and notifications, the system
 * bus for metered networks and sleep. */
#include "buses.h"

#include <errno.h>
#include <stdint.h>

#include "bus.h"
#include "dbus.h"
#include "desktop.h"
#include "log.h"
#include "notify.h"
#include "util.h"
#include "watch.h"

/* After the bus socket appears, or a bus is lost, a few tries a second apart: a bus daemon binds its
 * socket a moment before it accepts, and a socket-activated one comes back behind the same file. */
#define RECONNECT_TRIES 5
#define RECONNECT_INTERVAL_MS 1000
#define RECONNECT_STABLE_MS 10000

struct buses;

/* A bus that is missing: its socket's directory is watched (nothing runs while it stays away). */
struct reconnect {
        struct buses *buses;
        enum bus_kind kind;
        int (*connect)(struct buses *b, bool quiet); /* > 0 connected, 0 not, -ENOMEM */
        struct watch *watch;
        uv_timer_t retry;
        unsigned tries_left;
        uint64_t connected_at; /* loop time of the last reconnection, 0 before one */
};

struct buses {
        struct service *service;
        struct bus *session;
        struct bus *system;
        struct dbus *dbus;
        struct notify *notify;
        struct desktop *desktop;
        struct reconnect session_back, system_back;
        unsigned open_handles;
};

static void session_close(struct buses *b) {
        dbus_free(TAKE_PTR(b->dbus));
        notify_free(TAKE_PTR(b->notify));
        bus_free(TAKE_PTR(b->session));
}

static void system_close(struct buses *b) {
        desktop_free(TAKE_PTR(b->desktop));
        bus_free(TAKE_PTR(b->system));
}

static void reconnect_retry_due(uv_timer_t *t);

static void reconnect_try(struct reconnect *rc) {
        int r = rc->connect(rc->buses, true);
        if (r > 0) {
                rc->connected_at = uv_now(service_loop(rc->buses->service));
                watch_free(TAKE_PTR(rc->watch));
                uv_timer_stop(&rc->retry);
                return;
        }
        if (r == 0 && rc->tries_left > 0) {
                rc->tries_left--;
                uv_timer_start(&rc->retry, reconnect_retry_due, RECONNECT_INTERVAL_MS, 0);
        }
}

static void reconnect_retry_due(uv_timer_t *t) {
        reconnect_try(t->data);
}

static void reconnect_socket_changed(void *userdata) {
        struct reconnect *rc = userdata;
        rc->tries_left = RECONNECT_TRIES;
        reconnect_try(rc);
}

/* From now on, the bus is connected again when its socket comes back; soon: also try a few times
 * without waiting for the socket to change, unless a reconnection was just lost (a bus that takes
 * connections and drops them must not keep us trying every second). */
static void reconnect_arm(struct reconnect *rc, bool soon) {
        uint64_t now = uv_now(service_loop(rc->buses->service));
        if (rc->connected_at && now - rc->connected_at < RECONNECT_STABLE_MS)
                soon = false;
        if (!rc->watch) {
                _cleanup_free_ char *path = NULL;
                if (bus_socket_path(rc->kind, &path) >= 0)
                        (void) watch_new(service_loop(rc->buses->service), (char *[]){ path, NULL },
                                         reconnect_socket_changed, rc, &rc->watch);
        }
        if (soon) {
                rc->tries_left = RECONNECT_TRIES - 1;
                uv_timer_start(&rc->retry, reconnect_retry_due, RECONNECT_INTERVAL_MS, 0);
        }
}

static void session_lost(struct bus *bus, void *userdata) {
        struct buses *b = userdata;
        log_warning("lost the session bus: io.extupdated.Daemon1 and desktop notifications are off until it is "
                    "back; notifications decided meanwhile are sent then");
        session_close(b);
        reconnect_arm(&b->session_back, true);
}

static void system_lost(struct bus *bus, void *userdata) {
        struct buses *b = userdata;
        log_warning("lost the system bus: metered networks and suspend are not followed until it is back");
        system_close(b);
        /* Nothing tells us the connection is metered any more. */
        service_set_metered(b->service, false);
        reconnect_arm(&b->system_back, true);
}

/* quiet: a reconnection attempt, which says only that it succeeded. */
static int session_start(struct buses *b, bool quiet) {
        int r = bus_open(service_loop(b->service), BUS_SESSION, "extupdated-session", &b->session);
        if (r < 0) {
                if (!quiet)
                        log_warning("no session bus (%s): running without io.extupdated.Daemon1 and desktop "
                                    "notifications until it appears",
                                    strerror(-r));
                return r == -ENOMEM ? r : 0;
        }
        bus_on_lost(b->session, session_lost, b);
        r = dbus_new(b->service, b->session, &b->dbus);
        if (r >= 0)
                r = notify_new(b->service, b->session, &b->notify);
        if (r < 0) {
                if (!quiet || r == -ENOMEM)
                        log_warning("cannot serve on the session bus (%s): running without io.extupdated.Daemon1 "
                                    "and desktop notifications",
                                    strerror(-r));
                session_close(b);
                return r == -ENOMEM ? r : 0;
        }
        if (quiet)
                log_info("connected to the session bus: io.extupdated.Daemon1 and desktop notifications are on now");
        return 1;
}

/* Most desktops have a system bus; containers and minimal systems may not, and then no
 * connection is metered and nothing announces sleep. */
static int system_start(struct buses *b, bool quiet) {
        int r = bus_open(service_loop(b->service), BUS_SYSTEM, "extupdated-system", &b->system);
        if (r < 0) {
                if (!quiet)
                        log_info("no system bus (%s): metered networks and suspend are not followed",
                                 strerror(-r));
                return r == -ENOMEM ? r : 0;
        }
        bus_on_lost(b->system, system_lost, b);
        r = desktop_new(b->service, b->system, &b->desktop);
        if (r < 0) {
                if (!quiet || r == -ENOMEM)
                        log_warning("cannot follow the system bus (%s): metered networks and suspend are not followed",
                                    strerror(-r));
                system_close(b);
                return r == -ENOMEM ? r : 0;
        }
        if (quiet)
                log_info("connected to the system bus: following metered networks and suspend now");
        return 1;
}

static void retry_closed(uv_handle_t *h) {
        struct buses *b = ((struct reconnect *) h->data)->buses;
        if (--b->open_handles == 0)
                free(b);
}

void buses_free(struct buses *b) {
        if (!b)
                return;
        session_close(b);
        system_close(b);
        struct reconnect *all[] = { &b->session_back, &b->system_back };
        for (size_t i = 0; i < ELEMENTSOF(all); i++) {
                watch_free(TAKE_PTR(all[i]->watch));
                uv_close((uv_handle_t *) &all[i]->retry, retry_closed);
        }
}

static void reconnect_init(struct buses *b, struct reconnect *rc, enum bus_kind kind,
                           int (*connect)(struct buses *b, bool quiet)) {
        *rc = (struct reconnect){ .buses = b, .kind = kind, .connect = connect };
        uv_timer_init(service_loop(b->service), &rc->retry);
        rc->retry.data = rc;
        b->open_handles++;
}

int buses_start(struct service *s, struct buses **ret) {
        if (!s || !ret)
                return -EINVAL;
        struct buses *b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->service = s;
        reconnect_init(b, &b->session_back, BUS_SESSION, session_start);
        reconnect_init(b, &b->system_back, BUS_SYSTEM, system_start);
        int r = session_start(b, false);
        if (r == 0)
                reconnect_arm(&b->session_back, false);
        if (r >= 0 && (r = system_start(b, false)) == 0)
                reconnect_arm(&b->system_back, false);
        if (r < 0) {
                buses_free(b);
                return r;
        }
        *ret = b;
        return 0;
}
