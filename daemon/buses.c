/* The daemon's D-Bus side: the session bus for io.extupdated.Daemon1 and notifications, the system
 * bus for metered networks and sleep. */
#include "buses.h"

#include <errno.h>

#include "bus.h"
#include "dbus.h"
#include "desktop.h"
#include "log.h"
#include "notify.h"
#include "util.h"

struct buses {
        struct service *service;
        struct bus *session;
        struct bus *system;
        struct dbus *dbus;
        struct notify *notify;
        struct desktop *desktop;
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

static void session_lost(struct bus *bus, void *userdata) {
        struct buses *b = userdata;
        log_warning("lost the session bus: io.extupdated.Daemon1 and desktop notifications are off until restart; "
                    "notifications decided meanwhile are sent then");
        session_close(b);
}

static void system_lost(struct bus *bus, void *userdata) {
        struct buses *b = userdata;
        log_warning("lost the system bus: metered networks and suspend are no longer followed");
        system_close(b);
        /* Nothing tells us the connection is metered any more. */
        service_set_metered(b->service, false);
}

static int session_start(struct buses *b) {
        int r = bus_open(service_loop(b->service), BUS_SESSION, "extupdated-session", &b->session);
        if (r < 0) {
                log_warning("no session bus (%s): running without io.extupdated.Daemon1 and desktop notifications",
                            strerror(-r));
                return r == -ENOMEM ? r : 0;
        }
        bus_on_lost(b->session, session_lost, b);
        r = dbus_new(b->service, b->session, &b->dbus);
        if (r >= 0)
                r = notify_new(b->service, b->session, &b->notify);
        if (r < 0) {
                log_warning("cannot serve on the session bus (%s): running without io.extupdated.Daemon1 and "
                            "desktop notifications",
                            strerror(-r));
                session_close(b);
        }
        return r == -ENOMEM ? r : 0;
}

/* Most desktops have a system bus; containers and minimal systems may not, and then no
 * connection is metered and nothing announces sleep. */
static int system_start(struct buses *b) {
        int r = bus_open(service_loop(b->service), BUS_SYSTEM, "extupdated-system", &b->system);
        if (r < 0) {
                log_info("no system bus (%s): metered networks and suspend are not followed", strerror(-r));
                return r == -ENOMEM ? r : 0;
        }
        bus_on_lost(b->system, system_lost, b);
        r = desktop_new(b->service, b->system, &b->desktop);
        if (r < 0) {
                log_warning("cannot follow the system bus (%s): metered networks and suspend are not followed",
                            strerror(-r));
                system_close(b);
        }
        return r == -ENOMEM ? r : 0;
}

void buses_free(struct buses *b) {
        if (!b)
                return;
        session_close(b);
        system_close(b);
        free(b);
}

int buses_start(struct service *s, struct buses **ret) {
        if (!s || !ret)
                return -EINVAL;
        struct buses *b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->service = s;
        int r = session_start(b);
        if (r >= 0)
                r = system_start(b);
        if (r < 0) {
                buses_free(b);
                return r;
        }
        *ret = b;
        return 0;
}
