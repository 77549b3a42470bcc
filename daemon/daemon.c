/* `extupdated` without --once: the service with its front ends on one loop, under systemd or not. */
#include "daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <uv.h>

#include "api.h"
#include "buses.h"
#include "config.h"
#include "lock.h"
#include "log.h"
#include "service.h"
#include "supervisor.h"
#include "util.h"

/* How long a stop may take before the loop is left with whatever still runs. */
#define STOP_DEADLINE_MS 4000

struct daemon {
        const struct daemon_options *options;
        uv_loop_t loop;
        uv_signal_t sigterm, sigint, sighup;
        uv_timer_t stop_deadline;
        struct service *service;
        struct supervisor *supervisor;
        struct api *api;
        struct buses *buses;
        char *socket_path; /* the API socket to create when systemd passed none */
        int listen_fd;     /* the socket systemd passed (socket activation), or -1 */
        bool stopping;
        int status;
};

/* Front ends attach here, once the settings are loaded and before READY=1, each with its own
 * subscription to the service; they are detached in detach_front_ends(), in reverse order. A front
 * end that cannot start makes the daemon exit 1 with the reason logged.
 *   - the API: api_new(d->service, d->socket_path, d->listen_fd, &d->api) serves the passed socket
 *     when listen_fd >= 0, else creates socket_path;
 *   - D-Bus (unless d->options->no_dbus): the session-bus front end and its desktop watchers. */
static int attach_front_ends(struct daemon *d) {
        int r = supervisor_new(d->service, &d->supervisor);
        if (r < 0) {
                log_error("cannot set up the systemd notifications: %s", strerror(-r));
                return r;
        }
        r = api_new(d->service, d->socket_path, d->listen_fd, &d->api);
        if (r < 0)
                return r;
        if (!d->options->no_dbus) {
                r = buses_start(d->service, &d->buses);
                if (r < 0) {
                        log_error("cannot set up D-Bus: %s", strerror(-r));
                        return r;
                }
        }
        return 0;
}

static void detach_front_ends(struct daemon *d) {
        api_free(TAKE_PTR(d->api));
        buses_free(TAKE_PTR(d->buses));
        supervisor_free(TAKE_PTR(d->supervisor));
}

static void on_stop_deadline(uv_timer_t *t) {
        struct daemon *d = t->data;
        log_warning("still busy %d ms after the stop was asked for: leaving anyway", STOP_DEADLINE_MS);
        uv_stop(&d->loop);
}

static void shut_down(struct daemon *d) {
        if (d->stopping)
                return;
        d->stopping = true;
        if (d->supervisor)
                supervisor_stopping(d->supervisor);
        detach_front_ends(d);
        int64_t t0 = util_now_ms();
        service_free(TAKE_PTR(d->service));
        log_debug("service released in %lld ms", (long long) (util_now_ms() - t0));
        uv_close((uv_handle_t *) &d->sigterm, NULL);
        uv_close((uv_handle_t *) &d->sigint, NULL);
        uv_close((uv_handle_t *) &d->sighup, NULL);
        /* Whatever is still open closes on its own; the deadline only guards against a handle that does not. */
        uv_timer_start(&d->stop_deadline, on_stop_deadline, STOP_DEADLINE_MS, 0);
        uv_unref((uv_handle_t *) &d->stop_deadline);
}

static void on_signal(uv_signal_t *h, int signum) {
        struct daemon *d = h->data;
        if (signum == SIGHUP) {
                if (d->service)
                        service_reload(d->service);
                return;
        }
        log_info("%s: stopping", strsignal(signum));
        shut_down(d);
}

static void on_ready(struct service *service, int error, void *userdata) {
        struct daemon *d = userdata;
        int r = error < 0 ? error : attach_front_ends(d);
        if (r < 0) {
                /* A front end that failed logged why already. */
                log_error("cannot start: %s",
                          error == -EINVAL ? "the configuration or the allow-list is unusable (see above)"
                          : error < 0      ? strerror(-error)
                                           : "a front end could not start (see above)");
                d->status = 1;
                shut_down(d);
                return;
        }
        service_start(service);
        supervisor_ready(d->supervisor);
}

/* The socket systemd passed, if any: one listening stream socket. */
static int take_listen_fd(void) {
        int n = sd_listen_fds(true);
        if (n <= 0)
                return -1;
        if (n > 1)
                log_warning("systemd passed %d sockets: only the first is used", n);
        if (sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0) <= 0)
                log_warning("the socket systemd passed is not a listening Unix stream socket");
        log_info("API socket passed by systemd (fd %d)", SD_LISTEN_FDS_START);
        return SD_LISTEN_FDS_START;
}

int daemon_run(const struct daemon_options *o) {
        struct daemon d = {.options = o, .listen_fd = -1};
        _cleanup_free_ char *state_dir = NULL;
        _cleanup_free_ char *error = NULL;

        log_open();
        /* A client that goes away mid-answer is an error on that write, not the end of the daemon. */
        signal(SIGPIPE, SIG_IGN);
        if (config_state_dir(o->state_dir, &state_dir) < 0) {
                log_error("no state directory: set --state-dir, XDG_STATE_HOME or HOME");
                return 1;
        }
        int lock_fd = lock_acquire(state_dir, &error);
        if (lock_fd < 0) {
                log_error("%s", error ? error : strerror(-lock_fd));
                return 1;
        }
        free(TAKE_PTR(error));
        d.listen_fd = take_listen_fd();
        if (o->socket)
                d.socket_path = strdup(o->socket);
        else if (config_default_socket_path(&d.socket_path) < 0)
                d.socket_path = NULL;
        if (!d.socket_path && d.listen_fd < 0)
                log_warning("no API socket: set --socket or XDG_RUNTIME_DIR");

        if (uv_loop_init(&d.loop) < 0) {
                free(d.socket_path);
                lock_release(lock_fd);
                return 1;
        }
        uv_signal_init(&d.loop, &d.sigterm);
        uv_signal_init(&d.loop, &d.sigint);
        uv_signal_init(&d.loop, &d.sighup);
        uv_timer_init(&d.loop, &d.stop_deadline);
        d.sigterm.data = d.sigint.data = d.sighup.data = d.stop_deadline.data = &d;
        uv_signal_start(&d.sigterm, on_signal, SIGTERM);
        uv_signal_start(&d.sigint, on_signal, SIGINT);
        uv_signal_start(&d.sighup, on_signal, SIGHUP);

        struct service_options so = {.config = o->config, .state_dir = state_dir};
        int r = service_new(&d.loop, &so, on_ready, &d, &d.service, &error);
        if (r < 0) {
                log_error("%s", error ? error : strerror(-r));
                d.status = 1;
                d.stopping = true;
                uv_close((uv_handle_t *) &d.sigterm, NULL);
                uv_close((uv_handle_t *) &d.sigint, NULL);
                uv_close((uv_handle_t *) &d.sighup, NULL);
        }
        uv_run(&d.loop, UV_RUN_DEFAULT);
        uv_close((uv_handle_t *) &d.stop_deadline, NULL);
        uv_run(&d.loop, UV_RUN_NOWAIT);
        if (uv_loop_close(&d.loop) < 0)
                log_debug("some handles were still open at exit");
        free(d.socket_path);
        if (d.listen_fd >= 0)
                close(d.listen_fd);
        if (d.status == 0)
                log_info("stopped");
        /* Released last: the store is closed, so the next one to take it finds it whole. */
        lock_release(lock_fd);
        return d.status;
}
