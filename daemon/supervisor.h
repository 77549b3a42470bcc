/* The systemd front end: READY=1, STATUS= lines a person can read, watchdog pings, STOPPING=1. */
#pragma once

#include "service.h"

struct supervisor;

/* Subscribes to the service's events and, when systemd asked for it, pings the watchdog at half its
 * interval (the only periodic wake-up). Without $NOTIFY_SOCKET every message is a no-op. */
int supervisor_new(struct service *service, struct supervisor **ret);
void supervisor_free(struct supervisor *s);

/* Everything is up: READY=1 with the first STATUS=. */
void supervisor_ready(struct supervisor *s);
/* Shutting down: STOPPING=1. */
void supervisor_stopping(struct supervisor *s);
/* The STATUS= text: "Idle: 16 extensions, 3 updates; next scan 15:04" or "Scanning 5/16". */
char *supervisor_status_text(const struct service_status *st);
