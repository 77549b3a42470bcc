/* One extupdated per state directory: an flock on <state-dir>/lock that names its holder. */
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

enum {
        HOLDER_NAME_WAIT_MS = 2000,
        HOLDER_NAME_POLL_MS = 10,
};

/* The pid written in the lock file when that process is alive, else 0. */
static long read_holder(int fd) {
        char buf[32] = "";
        ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
        if (n <= 0)
                return 0;
        char *end;
        long pid = strtol(buf, &end, 10);
        if (pid <= 0 || pid > INT32_MAX || *end != '\n')
                return 0;
        if (kill((pid_t) pid, 0) < 0 && errno != EPERM)
                return 0;
        return pid;
}

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
        /* The holder writes its pid right after taking the lock, so a racing second start can find it
         * locked and still empty (or naming a dead former holder): wait a moment for the name, and take
         * the lock if the holder lets go meanwhile. */
        long holder = 0;
        for (int attempt = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; attempt++) {
                r = -errno;
                if (r == -EINTR)
                        continue;
                if (r != -EWOULDBLOCK) {
                        *ret_error = util_printf("%s: cannot lock: %s", path, util_strerror(r));
                        close(fd);
                        return r;
                }
                holder = read_holder(fd);
                if (holder > 0 || attempt >= HOLDER_NAME_WAIT_MS / HOLDER_NAME_POLL_MS) {
                        close(fd);
                        if (holder > 0)
                                *ret_error = util_printf("another extupdated holds %s (pid %ld)", state_dir, holder);
                        else
                                *ret_error = util_printf("another extupdated holds %s", state_dir);
                        return -EBUSY;
                }
                (void) nanosleep(&(struct timespec){ .tv_nsec = HOLDER_NAME_POLL_MS * 1000000L }, NULL);
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
        if (fd < 0)
                return;
        /* Empty again, so that nobody names us after we are gone; failing that, read_holder() still
         * skips a dead pid. */
        if (ftruncate(fd, 0) < 0) {
        }
        close(fd);
}
