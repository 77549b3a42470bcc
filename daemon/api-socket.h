/* The API's listening Unix socket: a private directory, a 0600 socket, a stale one replaced, a live one kept. */
#pragma once

/* Where the API listens when neither --socket nor systemd says: $XDG_RUNTIME_DIR/extupdated/api.sock.
 * Returns a malloc'd path, or NULL with *ret_error set when XDG_RUNTIME_DIR is unset. */
char *api_socket_default_path(char **ret_error);

/* Binds and listens on path (parent directory created 0700 when missing, socket 0600). A socket file
 * nobody answers on is a dead daemon's and is replaced; one a process answers on is left alone
 * (-EADDRINUSE), and so is anything that is not a socket (-EEXIST). Returns 0 and the non-blocking fd,
 * or -errno with *ret_error (malloc'd) naming the path. */
int api_socket_listen(const char *path, int *ret_fd, char **ret_error);

