/* The API's listening Unix socket: a private directory, a 0600 socket, a stale one replaced, a live one kept. */
#include "api-socket.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

char *api_socket_default_path(char **ret_error) {
        const char *runtime = getenv("XDG_RUNTIME_DIR");
        if (!runtime || runtime[0] != '/') {
                *ret_error = util_printf("XDG_RUNTIME_DIR is not set to an absolute path: give the API socket with "
                                         "--socket PATH");
                return NULL;
        }
        char *path = util_printf("%s/extupdated/api.sock", runtime);
        if (!path)
                *ret_error = NULL;
        return path;
}

static int fill_address(const char *path, struct sockaddr_un *sa, char **ret_error) {
        *sa = (struct sockaddr_un) { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof(sa->sun_path)) {
                *ret_error = util_printf("%s: socket path too long (at most %zu bytes)", path, sizeof(sa->sun_path) - 1);
                return -ENAMETOOLONG;
        }
        strcpy(sa->sun_path, path);
        return 0;
}

/* The parent directory, made 0700 when missing; an existing one is used as it is (the runtime dir of
 * systemd-less setups, or a directory the user chose). */
static int make_parent(const char *path, char **ret_error) {
        _cleanup_free_ char *dir = strdup(path);
        if (!dir)
                return -ENOMEM;
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir)
                return 0;
        *slash = '\0';
        if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
                int r = -errno;
                *ret_error = util_printf("%s: cannot create the socket's directory: %s", dir, strerror(errno));
                return r;
        }
        return 0;
}

/* 1 when a process accepts connections on the socket file, 0 when it is stale. */
static int socket_is_live(const struct sockaddr_un *sa) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        int r = connect(fd, (const struct sockaddr *) sa, sizeof(*sa));
        int e = errno;
        close(fd);
        if (r == 0)
                return 1;
        /* Refused: no listener behind the file. A full backlog (EAGAIN) means somebody listens. */
        return e == ECONNREFUSED ? 0 : 1;
}

int api_socket_listen(const char *path, int *ret_fd, char **ret_error) {
        struct sockaddr_un sa;
        *ret_error = NULL;
        int r = fill_address(path, &sa, ret_error);
        if (r < 0)
                return r;
        r = make_parent(path, ret_error);
        if (r < 0)
                return r;

        struct stat st;
        if (lstat(path, &st) == 0) {
                if (!S_ISSOCK(st.st_mode)) {
                        *ret_error = util_printf("%s exists and is not a socket; not replacing it", path);
                        return -EEXIST;
                }
                r = socket_is_live(&sa);
                if (r < 0) {
                        *ret_error = util_printf("%s: %s", path, strerror(-r));
                        return r;
                }
                if (r > 0) {
                        *ret_error = util_printf("%s is in use: another extupdated is serving it (stop it first, "
                                                 "or give another --socket)",
                                                 path);
                        return -EADDRINUSE;
                }
                if (unlink(path) < 0 && errno != ENOENT) {
                        r = -errno;
                        *ret_error = util_printf("%s: cannot remove the stale socket: %s", path, strerror(errno));
                        return r;
                }
        }

        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        /* The mode comes from the umask at bind time: no moment where others could connect. */
        mode_t old = umask(0177);
        r = bind(fd, (const struct sockaddr *) &sa, sizeof(sa));
        int e = errno;
        umask(old);
        if (r < 0 || listen(fd, SOMAXCONN) < 0) {
                if (r == 0)
                        e = errno;
                close(fd);
                *ret_error = util_printf("%s: cannot listen: %s", path, strerror(e));
                return -e;
        }
        *ret_fd = fd;
        return 0;
}

