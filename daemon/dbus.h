/* io.extupdated.Daemon1 on the session bus: the service's entry points as methods, its status as
 * properties, its events as signals. */
#pragma once

#include "bus.h"
#include "service.h"

#define DBUS_NAME "io.extupdated.Daemon1"
#define DBUS_PATH "/io/extupdated/Daemon1"
#define DBUS_INTERFACE "io.extupdated.Daemon1"

struct dbus;

/* Publishes the object and asks for the name; a name another process holds is logged, and the
 * object stays reachable by unique name. */
int dbus_new(struct service *s, struct bus *session, struct dbus **ret);
void dbus_free(struct dbus *d);
