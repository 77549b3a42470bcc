/* One extupdated per state directory: an flock on <state-dir>/lock that names its holder. */
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

int lock_acquire(const char *state_dir, char **ret_error) {
        int r = util_mkdir_parents(state_dir, 0700);
        if (r < 0) {
                *ret_error = util_printf("%s: cannot create the state directory: %s", state_dir, util_strerror(r));
                return r;
        }
        _cleanup_free_ char *path = util_printf("%s/lock", state_dir);
        if (!path)
                return -ENOMEM;
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
                r = -errno;
                *ret_error = util_printf("%s: %s", path, util_strerror(r));
                return r;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                r = -errno;
                if (r != -EWOULDBLOCK) {
                        *ret_error = util_printf("%s: cannot lock: %s", path, strerror(-r));
                        close(fd);
                        return r;
                }
                /* The holder wrote its pid right after taking the lock; it may not have yet. */
                char buf[32] = "";
                ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
                long pid = n > 0 ? strtol(buf, NULL, 10) : 0;
                close(fd);
                if (pid > 0)
                        *ret_error = util_printf("another extupdated holds %s (pid %ld)", state_dir, pid);
                else
                        *ret_error = util_printf("another extupdated holds %s", state_dir);
                return -EBUSY;
        }
        char pid[32];
        int len = snprintf(pid, sizeof(pid), "%ld\n", (long) getpid());
        if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t) len, 0) != len) {
                r = -errno;
                *ret_error = util_printf("%s: cannot write: %s", path, util_strerror(r));
                close(fd);
                return r;
        }
        return fd;
}

void lock_release(int fd) {
        if (fd >= 0)
                close(fd);
}
