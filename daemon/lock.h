/* One extupdated per state directory: an flock on <state-dir>/lock that names its holder. */
#pragma once

/* Creates state_dir (0700, parents too) when missing and takes <state_dir>/lock, writing our pid in
 * it. Returns the lock's fd (held until exit or lock_release), -EBUSY with *ret_error "another
 * extupdated holds STATE (pid N)" (waiting up to 2 s for a holder that has not written its pid yet), or
 * another -errno with *ret_error naming the path. */
int lock_acquire(const char *state_dir, char **ret_error);
void lock_release(int fd);
