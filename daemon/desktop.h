/* The desktop the daemon runs on, from the system bus: NetworkManager's metered state and logind's
 * suspend and resume, handed to the service. */
#pragma once

#include "bus.h"
#include "service.h"

struct desktop;

/* log (a sentence; may be NULL) hears of changes worth a line. */
int desktop_new(struct service *s, struct bus *system, void (*log)(const char *message, void *userdata),
                void *userdata, struct desktop **ret);
void desktop_free(struct desktop *d);
