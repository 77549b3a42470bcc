/* A helper program run on the loop (`docker extension …`): time limit, output cap, its whole process group killed. */
#pragma once

#include <stddef.h>
#include <uv.h>

struct command;

/* error: 0 when the program ran to its end (exit_status its exit code, -1 when a signal ended it),
 * -ENOENT (not installed or not executable), -ETIMEDOUT, -EFBIG (more output than the cap), or
 * another -errno when it could not be started. out is its stdout (NUL-terminated; NULL on error),
 * valid during the call. */
typedef void (*command_fn)(int error, int exit_status, const char *out, size_t len, void *userdata);

/* Starts argv (looked up on PATH) in a process group of its own, stdin and stderr on /dev/null.
 * cb runs exactly once, from the loop, unless command_cancel comes first. Returns 0 or -ENOMEM. */
int command_run(uv_loop_t *loop, char *const *argv, unsigned timeout_ms, size_t output_max, command_fn cb,
                void *userdata, struct command **ret);
/* Kills the program and its group; cb does not run. Accepts NULL. */
void command_cancel(struct command *c);
