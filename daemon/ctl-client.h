/* extupdatectl's side of the local API: one HTTP request over the daemon's Unix socket with libcurl. */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "ctl.h"

/* Called with each complete line of a streamed answer (without its '\n'); a negative return stops. */
typedef int (*ctl_line_fn)(const char *line, void *userdata);

struct ctl_request {
        const char *method;      /* "GET" when NULL */
        const char *path;        /* "/v1/…", already percent-encoded */
        const char *body;        /* JSON, or NULL */
        ctl_line_fn on_line;     /* stream the answer line by line instead of collecting it */
        void *userdata;
};

/* Sends the request and parses a JSON answer into *ret (NULL for an empty one). On failure prints what
 * went wrong and what to do to stderr (the daemon not running, its error message) and returns -errno. */
int ctl_client_call(const struct ctl_options *o, const struct ctl_request *req, cJSON **ret);

/* "/v1/extensions/" + repository with every byte but letters, digits, "-._~/:" percent-encoded. */
char *ctl_client_path(const char *prefix, const char *repository);
