/* Desktop notifications of new updates: each (repository, version) once, ever, none lost. */
#pragma once

#include "bus.h"
#include "service.h"

struct notify;

/* Sends what the store holds as pending now, after every scan, and whenever a notification server
 * appears on the bus. A missing server is logged once per absence. */
int notify_new(struct service *s, struct bus *session, struct notify **ret);
void notify_free(struct notify *n);
