/* A one-shot alarm at a wall-clock time that counts time asleep: a CLOCK_BOOTTIME timerfd under the loop. */
#include "schedule.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include <unistd.h>

struct schedule {
        uv_poll_t poll;
        int fd;
        schedule_fn cb;
        void *userdata;
};

static void on_closed(uv_handle_t *h) {
        struct schedule *s = h->data;
        close(s->fd);
        free(s);
}

static void on_ready(uv_poll_t *p, int status, int events) {
        struct schedule *s = p->data;
        uint64_t expirations;
        (void) events;
        /* Reading resets the timerfd, so it is not readable again until it is re-armed. */
        if (status < 0 || read(s->fd, &expirations, sizeof(expirations)) != sizeof(expirations))
                return;
        s->cb(s->userdata);
}

int schedule_new(uv_loop_t *loop, schedule_fn cb, void *userdata, struct schedule **ret) {
        struct schedule *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->fd = timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK | TFD_CLOEXEC);
        if (s->fd < 0) {
                int r = -errno;
                free(s);
                return r;
        }
        s->cb = cb;
        s->userdata = userdata;
        int r = uv_poll_init(loop, &s->poll, s->fd);
        if (r < 0) {
                close(s->fd);
                free(s);
                return r;
        }
        s->poll.data = s;
        uv_poll_start(&s->poll, UV_READABLE, on_ready);
        *ret = s;
        return 0;
}

void schedule_free(struct schedule *s) {
        if (!s)
                return;
        uv_close((uv_handle_t *) &s->poll, on_closed);
}

int schedule_arm(struct schedule *s, time_t at) {
        struct timespec now;
        if (clock_gettime(CLOCK_BOOTTIME, &now) < 0)
                return -errno;
        time_t delay = at - time(NULL);
        if (delay < 0)
                delay = 0;
        struct itimerspec its = {.it_value = {.tv_sec = now.tv_sec + delay, .tv_nsec = now.tv_nsec}};
        /* it_value all zero would disarm instead. */
        if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
                its.it_value.tv_nsec = 1;
        if (timerfd_settime(s->fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
                return -errno;
        return 0;
}

void schedule_disarm(struct schedule *s) {
        struct itimerspec its = {};
        (void) timerfd_settime(s->fd, 0, &its, NULL);
}
