/* An sd-bus connection driven by the libuv loop: one helper for the session and the system bus. */
#pragma once

#include <systemd/sd-bus.h>
#include <uv.h>

struct bus;

/* Called once, from the loop, when the connection is gone (the bus daemon went away or
 * refused us); the bus stops polling and stays valid until bus_free. */
typedef void (*bus_lost_fn)(struct bus *b, void *userdata);

enum bus_kind {
        BUS_SESSION,
        BUS_SYSTEM,
};

/* Connects to the session or system bus ($DBUS_SESSION_BUS_ADDRESS, $DBUS_SYSTEM_BUS_ADDRESS
 * or the defaults) and attaches it to the loop. -errno when there is no such bus. */
int bus_open(uv_loop_t *loop, enum bus_kind kind, const char *description, struct bus **ret);
/* The file system socket that bus_open() would connect to: the first `unix:path=` address of
 * $DBUS_SESSION_BUS_ADDRESS / $DBUS_SYSTEM_BUS_ADDRESS, else the default ($XDG_RUNTIME_DIR/bus,
 * /run/dbus/system_bus_socket). -ENOENT when the address names no such path (abstract sockets, TCP),
 * -ENOMEM. */
int bus_socket_path(enum bus_kind kind, char **ret);
/* Attaches a connection the caller opened; the bus takes its own reference. */
int bus_attach(uv_loop_t *loop, sd_bus *sd, struct bus **ret);
sd_bus *bus_sd(struct bus *b);
void bus_on_lost(struct bus *b, bus_lost_fn fn, void *userdata);
/* Flushes and closes the connection; the memory goes once the loop has closed the handles. */
void bus_free(struct bus *b);
static inline void bus_freep(struct bus **b) {
        bus_free(*b);
}
