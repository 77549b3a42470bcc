/* A one-shot alarm at a wall-clock time that counts time asleep: a CLOCK_BOOTTIME timerfd under the loop. */
#pragma once

#include <time.h>
#include <uv.h>

struct schedule;

typedef void (*schedule_fn)(void *userdata);

/* Returns 0 or -errno (no timerfd). */
int schedule_new(uv_loop_t *loop, schedule_fn cb, void *userdata, struct schedule **ret);
/* Closes the alarm (the loop releases it). Accepts NULL. */
void schedule_free(struct schedule *s);

/* Arms the alarm for wall-clock time at (seconds since the epoch), replacing any earlier one;
 * a time already past fires on the next loop iteration. The delay is taken from the wall clock
 * now and then counted on CLOCK_BOOTTIME, so a suspend does not postpone it: a time passed while
 * asleep fires right after resume, with no wake-up before. Returns 0 or -errno. */
int schedule_arm(struct schedule *s, time_t at);
void schedule_disarm(struct schedule *s);
