/* `extupdated` without --once: the service with its front ends on one loop, under systemd or not. */
#pragma once

#include <stdbool.h>

struct daemon_options {
        const char *config;    /* --config, or NULL */
        const char *state_dir; /* --state-dir, or NULL for the default */
        const char *socket;    /* --socket, or NULL for the default (ignored when systemd passes one) */
        bool no_dbus;          /* --no-dbus */
};

/* Runs until SIGTERM or SIGINT. Returns the exit status: 0 after a clean stop, 1 when it could not
 * start (the reason logged). */
int daemon_run(const struct daemon_options *o);
