/* The local API: HTTP/1.1 + JSON on a Unix socket (CONTRACT §6), a front end of the service. */
#pragma once

#include "service.h"

struct api;

/* Serves the API on listen_fd when it is >= 0 (the socket systemd passed), else on socket_path (NULL:
 * $XDG_RUNTIME_DIR/extupdated/api.sock), which it creates. Returns 0, or -errno with the reason logged
 * (a live socket of another daemon: -EADDRINUSE). */
int api_new(struct service *s, const char *socket_path, int listen_fd, struct api **ret);
/* Ends event streams and waiting requests, stops serving, removes the socket it created. Accepts NULL. */
void api_free(struct api *a);
