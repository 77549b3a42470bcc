/* The daemon's D-Bus side: the session bus for io.extupdated.Daemon1 and notifications, the system
 * bus for metered networks and sleep. */
#pragma once

#include "service.h"

struct buses;

/* Connects what it can; a missing or lost bus is logged once and the daemon goes on without it,
 * so this fails only for want of memory. */
int buses_start(struct service *s, struct buses **ret);
void buses_free(struct buses *b);
