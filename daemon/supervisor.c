/* The systemd front end: READY=1, STATUS= lines a person can read, watchdog pings, STOPPING=1. */
#include "supervisor.h"

#include <errno.h>
#include <stdlib.h>

#include <systemd/sd-daemon.h>

#include "log.h"
#include "util.h"

struct supervisor {
        struct service *service;
        struct service_subscription *sub;
        uv_timer_t watchdog;
        bool watchdog_on;
        char *last_status;
};

char *supervisor_status_text(const struct service_status *st) {
        if (st->scanning)
                return util_printf("Scanning %u/%u", st->current_done, st->current.repositories);
        char when[32] = "";
        if (st->next_scan_at) {
                struct tm tm;
                time_t t = st->next_scan_at;
                /* Today's scans by the clock, later ones with their date. */
                time_t now = time(NULL);
                if (localtime_r(&t, &tm)) {
                        if (t - now < 20 * 3600)
                                strftime(when, sizeof(when), "%H:%M", &tm);
                        else
                                strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
                }
        }
        return util_printf("Idle: %u extension%s, %u update%s%s%s%s%s%s%s", st->extensions,
                           st->extensions == 1 ? "" : "s", st->updates, st->updates == 1 ? "" : "s",
                           *when ? "; next scan " : "", when, st->scan_deferred ? " (" : "",
                           st->scan_deferred ? st->scan_deferred : "", st->scan_deferred ? ")" : "",
                           st->store_error ? "; state not saved" : "");
}

static void send_status(struct supervisor *s, bool ready) {
        struct service_status st;
        service_get_status(s->service, &st);
        _cleanup_free_ char *text = supervisor_status_text(&st);
        if (!text || (!ready && streq_ptr(text, s->last_status)))
                return;
        (void) sd_notifyf(false, "%sSTATUS=%s", ready ? "READY=1\n" : "", text);
        free(s->last_status);
        s->last_status = TAKE_PTR(text);
}

static void on_event(const struct service_event *e, void *userdata) {
        struct supervisor *s = userdata;
        if (e->type == SERVICE_EVENT_STATUS_CHANGED || e->type == SERVICE_EVENT_SCAN_STARTED ||
            e->type == SERVICE_EVENT_SCAN_FINISHED)
                send_status(s, false);
}

static void on_watchdog(uv_timer_t *t) {
        (void) t;
        (void) sd_notify(false, "WATCHDOG=1");
}

int supervisor_new(struct service *service, struct supervisor **ret) {
        struct supervisor *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->service = service;
        int r = service_subscribe(service, on_event, s, &s->sub);
        if (r < 0) {
                free(s);
                return r;
        }
        uint64_t usec = 0;
        if (sd_watchdog_enabled(false, &usec) > 0 && usec > 0) {
                uint64_t ms = usec / 2000;
                uv_timer_init(service_loop(service), &s->watchdog);
                uv_timer_start(&s->watchdog, on_watchdog, ms ? ms : 1, ms ? ms : 1);
                s->watchdog_on = true;
                log_debug("watchdog: a ping every %llu ms", (unsigned long long) (ms ? ms : 1));
        }
        *ret = s;
        return 0;
}

static void on_watchdog_closed(uv_handle_t *h) {
        free(h->data);
}

void supervisor_free(struct supervisor *s) {
        if (!s)
                return;
        service_unsubscribe(s->sub);
        free(s->last_status);
        if (s->watchdog_on) {
                s->watchdog.data = s;
                uv_close((uv_handle_t *) &s->watchdog, on_watchdog_closed);
        } else
                free(s);
}

void supervisor_ready(struct supervisor *s) {
        send_status(s, true);
}

void supervisor_stopping(struct supervisor *s) {
        (void) s;
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Stopping");
}
