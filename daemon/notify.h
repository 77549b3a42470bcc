/* Desktop notifications of new updates: each (repository, version) once, ever, none lost. */
#pragma once

#include "bus.h"
#include "service.h"

struct notify;

/* Sends what the store holds as pending now, after every scan, and whenever a notification server
 * appears on the bus. log (a sentence; may be NULL) hears of a missing server once per absence. */
int notify_new(struct service *s, struct bus *session, void (*log)(const char *message, void *userdata),
               void *userdata, struct notify **ret);
void notify_free(struct notify *n);
