/* The desktop the daemon runs on, from the system bus: NetworkManager's metered state and logind's
 * suspend and resume, handed to the service. */
#pragma once

#include "bus.h"
#include "service.h"

struct desktop;

/* The service hears the metered state at once (before its first scan) and every change after. */
int desktop_new(struct service *s, struct bus *system, struct desktop **ret);
void desktop_free(struct desktop *d);
