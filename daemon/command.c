/* A helper program run on the loop (`docker extension …`): time limit, output cap, its whole process group killed. */
#include "command.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>

struct command {
        uv_process_t proc;
        uv_pipe_t out;
        uv_timer_t timer;
        unsigned open_handles;
        bool exited, eof, reported;
        int64_t exit_status;
        int term_signal;
        int spawn_error;
        char *buf;
        size_t len, max;
        command_fn cb;
        void *userdata;
};

static void on_closed(uv_handle_t *h) {
        struct command *c = h->data;
        if (--c->open_handles > 0)
                return;
        free(c->buf);
        free(c);
}

static void close_handle(struct command *c, uv_handle_t *h) {
        if (!uv_is_closing(h))
                uv_close(h, on_closed);
}

/* Closes the pipe and the timer; the process handle once the child is reaped, so it is not left a zombie. */
static void teardown(struct command *c) {
        c->reported = true;
        close_handle(c, (uv_handle_t *) &c->out);
        close_handle(c, (uv_handle_t *) &c->timer);
        if (c->exited)
                close_handle(c, (uv_handle_t *) &c->proc);
        else {
                /* The program leads its own process group: a wrapper script's children go with it. */
                uv_kill(-c->proc.pid, SIGKILL);
                uv_process_kill(&c->proc, SIGKILL);
        }
}

static void report(struct command *c, int error) {
        if (c->reported)
                return;
        c->reported = true;
        if (c->buf)
                c->buf[c->len] = 0;
        int status = c->term_signal ? -1 : (int) c->exit_status;
        c->cb(error, error < 0 ? 0 : status, error < 0 ? NULL : c->buf ? c->buf : "", error < 0 ? 0 : c->len,
              c->userdata);
        teardown(c);
}

static void maybe_done(struct command *c) {
        if (c->exited && c->eof)
                report(c, 0);
}

static void on_exit_cb(uv_process_t *p, int64_t exit_status, int term_signal) {
        struct command *c = p->data;
        c->exited = true;
        c->exit_status = exit_status;
        c->term_signal = term_signal;
        if (c->reported) {
                close_handle(c, (uv_handle_t *) &c->proc);
                return;
        }
        maybe_done(c);
        if (c->reported)
                close_handle(c, (uv_handle_t *) &c->proc);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
        struct command *c = h->data;
        (void) suggested;
        if (!c->buf)
                c->buf = malloc(c->max + 2);
        /* One byte more than the cap is asked for, so overflowing output is noticed. */
        *b = c->buf ? uv_buf_init(c->buf + c->len, (unsigned) (c->max + 1 - c->len)) : uv_buf_init(NULL, 0);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
        struct command *c = s->data;
        (void) b;
        if (c->reported)
                return;
        if (n == UV_ENOBUFS || (n > 0 && !c->buf)) {
                report(c, -ENOMEM);
                return;
        }
        if (n < 0) {
                uv_read_stop(s);
                c->eof = true;
                maybe_done(c);
                return;
        }
        c->len += (size_t) n;
        if (c->len > c->max)
                report(c, -EFBIG);
}

static void on_timeout(uv_timer_t *t) {
        report(t->data, -ETIMEDOUT);
}

static void on_spawn_failed(uv_timer_t *t) {
        struct command *c = t->data;
        report(c, c->spawn_error);
}

int command_run(uv_loop_t *loop, char *const *argv, unsigned timeout_ms, size_t output_max, command_fn cb,
                void *userdata, struct command **ret) {
        struct command *c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->cb = cb;
        c->userdata = userdata;
        c->max = output_max;
        c->proc.data = c->out.data = c->timer.data = c;
        uv_pipe_init(loop, &c->out, 0);
        uv_timer_init(loop, &c->timer);
        c->open_handles = 3;
        uv_stdio_container_t stdio[3] = {
                { .flags = UV_IGNORE },
                { .flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *) &c->out },
                { .flags = UV_IGNORE },
        };
        uv_process_options_t opts = {
                .exit_cb = on_exit_cb,
                .flags = UV_PROCESS_DETACHED,
                .file = argv[0],
                .args = (char **) argv,
                .stdio_count = 3,
                .stdio = stdio,
        };
        int r = uv_spawn(loop, &c->proc, &opts);
        if (r < 0) {
                /* A handle uv_spawn failed on is initialised and still has to be closed; the failure is
                 * reported from the loop like any other outcome. */
                c->exited = true;
                c->spawn_error = r == UV_ENOENT || r == UV_EACCES ? -ENOENT : r == UV_ENOMEM ? -ENOMEM : -EIO;
                uv_timer_start(&c->timer, on_spawn_failed, 0, 0);
        } else {
                uv_read_start((uv_stream_t *) &c->out, on_alloc, on_read);
                uv_timer_start(&c->timer, on_timeout, timeout_ms, 0);
        }
        *ret = c;
        return 0;
}

void command_cancel(struct command *c) {
        if (!c || c->reported)
                return;
        teardown(c);
}
