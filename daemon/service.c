/* The long-running service: owns the loop, settings, store, schedule and the one current scan; front ends
 * subscribe to its event stream and call its few entry points, and none knows another. */
#include "service.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "api-version.h"
#include "docker-inventory.h"
#include "log.h"
#include "reference.h"
#include "registry.h"
#include "schedule.h"
#include "semver.h"
#include "settings.h"
#include "util.h"
#include "watch.h"

/* Keys of the store's service_state table. */
#define STATE_NEXT_SCAN_AT "next_scan_at"
#define STATE_OFFLINE_BACKOFF "offline_backoff"

/* The first retry of a scan that found no network, doubled each time up to the interval. */
#define OFFLINE_BACKOFF_FIRST 60u

struct service_subscription {
        struct service *service;
        service_event_fn fn; /* NULL once unsubscribed during a delivery */
        void *userdata;
        struct service_subscription *next;
};

/* An event waiting for delivery, owning copies of everything it points to. */
struct queued_event {
        struct queued_event *next;
        struct service_event event;
        struct scan_summary summary;
        struct store_record before, after;
        char *repository, *message;
};

struct service {
        uv_loop_t *loop;
        char *config_arg;
        char *state_dir;
        char *cache_dir;
        struct store *store;

        /* Settings in use, and a newer load waiting for the end of the scan. */
        struct settings settings;
        char *api_version;
        enum api_version_source api_source;
        bool have_settings;
        struct settings pending;
        char *pending_api_version;
        enum api_version_source pending_api_source;
        bool have_pending;
        struct settings_loader *loader;
        struct api_version_detect *detect;
        struct watch *watch; /* the allow-list files */
        struct docker_inventory *inventory;
        bool docker_works; /* `docker extension ls` answered last time: "auto" means "docker" */
        bool reload_again; /* a reload was asked for while one was loading */
        service_ready_fn ready_cb;
        void *ready_userdata;

        /* The current scan, with a registry client of its own so its request count is the scan's. */
        struct registry_client *rc;
        struct scan *scan;
        bool scanning;
        bool scan_ended;  /* FINISHED arrived; released from the loop (not inside the client's callbacks) */
        bool cancelling;
        unsigned current_done;
        unsigned current_errors;
        unsigned current_offline; /* repositories whose registry could not be reached */

        /* The schedule. */
        struct schedule *alarm;
        bool started;
        time_t next_scan_at;
        unsigned backoff;
        const char *deferred;
        bool metered;
        bool asleep;
        bool due_while_asleep;

        /* Status. */
        bool has_last_scan;
        struct store_scan last_scan;
        struct scan_summary current;
        unsigned extensions, updates;
        char *store_error;

        /* Events. */
        struct service_subscription *subscribers;
        unsigned delivering;
        bool subscribers_dead;
        struct queued_event *queue_head, *queue_tail;
        uv_idle_t deliver;
        bool freed;
};

static void schedule_next(struct service *s, time_t at);
static void start_scheduled_scan(struct service *s);

/* ---- records ---- */

static int strdup_opt(const char *src, char **dst) {
        if (!src) {
                *dst = NULL;
                return 0;
        }
        *dst = strdup(src);
        return *dst ? 0 : -ENOMEM;
}

static int record_copy(const struct store_record *src, struct store_record *ret) {
        struct store_record r = {.update_available = src->update_available};
        int k = 0;
        k |= strdup_opt(src->repository, &r.repository);
        k |= strdup_opt(src->title, &r.title);
        k |= strdup_opt(src->vendor, &r.vendor);
        k |= strdup_opt(src->description, &r.description);
        k |= strdup_opt(src->pinned, &r.pinned);
        k |= strdup_opt(src->installed, &r.installed);
        k |= strdup_opt(src->latest, &r.latest);
        k |= strdup_opt(src->latest_compatible, &r.latest_compatible);
        k |= strdup_opt(src->api_constraint, &r.api_constraint);
        k |= strdup_opt(src->latest_api_constraint, &r.latest_api_constraint);
        k |= strdup_opt(src->digest, &r.digest);
        k |= strdup_opt(src->status, &r.status);
        k |= strdup_opt(src->error, &r.error);
        k |= strdup_opt(src->checked_at, &r.checked_at);
        k |= strdup_opt(src->last_ok_at, &r.last_ok_at);
        for (char **p = src->platforms; p && *p && k == 0; p++)
                k = util_strv_push(&r.platforms, *p);
        if (k != 0) {
                store_record_done(&r);
                return -ENOMEM;
        }
        *ret = r;
        return 0;
}

static bool strv_equal(char *const *a, char *const *b) {
        size_t n = util_strv_length(a);
        if (n != util_strv_length(b))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!streq(a[i], b[i]))
                        return false;
        return true;
}

/* Whether what a reader sees changed; when it was checked alone does not count. */
static bool record_changed(const struct store_record *a, const struct store_record *b) {
        return !streq_ptr(a->title, b->title) || !streq_ptr(a->vendor, b->vendor) ||
               !streq_ptr(a->description, b->description) || !streq_ptr(a->pinned, b->pinned) ||
               !streq_ptr(a->installed, b->installed) || !streq_ptr(a->latest, b->latest) ||
               !streq_ptr(a->latest_compatible, b->latest_compatible) ||
               !streq_ptr(a->api_constraint, b->api_constraint) ||
               !streq_ptr(a->latest_api_constraint, b->latest_api_constraint) || !streq_ptr(a->digest, b->digest) ||
               !strv_equal(a->platforms, b->platforms) || a->update_available != b->update_available ||
               !streq_ptr(a->status, b->status) || !streq_ptr(a->error, b->error);
}

/* A new update to tell about: there was none, or it was for another version. */
static bool update_is_new(const struct store_record *before, const struct store_record *after) {
        return after->update_available &&
               (!before->update_available || !streq_ptr(before->latest_compatible, after->latest_compatible));
}

/* ---- events ---- */

static void queued_free(struct queued_event *q) {
        store_record_done(&q->before);
        store_record_done(&q->after);
        free(q->repository);
        free(q->message);
        free(q);
}

static void remove_dead_subscribers(struct service *s) {
        for (struct service_subscription **p = &s->subscribers; *p;) {
                if ((*p)->fn) {
                        p = &(*p)->next;
                        continue;
                }
                struct service_subscription *dead = *p;
                *p = dead->next;
                free(dead);
        }
        s->subscribers_dead = false;
}

static void reap_scan(struct service *s);

static void on_deliver(uv_idle_t *idle) {
        struct service *s = idle->data;
        reap_scan(s);
        s->delivering++;
        while (s->queue_head && !s->freed) {
                struct queued_event *q = s->queue_head;
                s->queue_head = q->next;
                if (!s->queue_head)
                        s->queue_tail = NULL;
                for (struct service_subscription *sub = s->subscribers; sub && !s->freed; sub = sub->next)
                        if (sub->fn)
                                sub->fn(&q->event, sub->userdata);
                queued_free(q);
        }
        s->delivering--;
        if (s->freed)
                return;
        if (s->subscribers_dead)
                remove_dead_subscribers(s);
        uv_idle_stop(&s->deliver);
}

/* Queues an event; everything it points to is copied. Delivery happens from the loop, in order. */
static void emit(struct service *s, enum service_event_type type, const struct scan_summary *summary,
                 bool cancelled, const struct store_record *before, const struct store_record *after,
                 const char *repository, const char *message) {
        struct queued_event *q = calloc(1, sizeof(*q));
        if (!q)
                return;
        q->event = (struct service_event) {.type = type, .time = time(NULL), .cancelled = cancelled};
        if (summary) {
                q->summary = *summary;
                q->event.summary = &q->summary;
        }
        static const struct store_record never_scanned = {};
        if ((before && record_copy(before, &q->before) < 0) || (after && record_copy(after, &q->after) < 0) ||
            strdup_opt(repository, &q->repository) < 0 || strdup_opt(message, &q->message) < 0) {
                queued_free(q);
                return;
        }
        if (after) {
                q->event.before = before ? &q->before : &never_scanned;
                q->event.after = &q->after;
        }
        q->event.repository = q->repository;
        q->event.message = q->message;
        if (s->queue_tail)
                s->queue_tail->next = q;
        else
                s->queue_head = q;
        s->queue_tail = q;
        uv_idle_start(&s->deliver, on_deliver);
}

static void emit_status(struct service *s) {
        emit(s, SERVICE_EVENT_STATUS_CHANGED, NULL, false, NULL, NULL, NULL, NULL);
}

static void emit_error(struct service *s, const char *repository, const char *message) {
        emit(s, SERVICE_EVENT_ERROR, NULL, false, NULL, NULL, repository, message);
}

int service_subscribe(struct service *s, service_event_fn fn, void *userdata, struct service_subscription **ret) {
        if (!s || !fn || !ret)
                return -EINVAL;
        struct service_subscription *sub = calloc(1, sizeof(*sub));
        if (!sub)
                return -ENOMEM;
        *sub = (struct service_subscription) {.service = s, .fn = fn, .userdata = userdata};
        struct service_subscription **p = &s->subscribers;
        while (*p)
                p = &(*p)->next;
        *p = sub;
        *ret = sub;
        return 0;
}

void service_unsubscribe(struct service_subscription *sub) {
        if (!sub)
                return;
        struct service *s = sub->service;
        sub->fn = NULL;
        if (s->delivering)
                s->subscribers_dead = true;
        else
                remove_dead_subscribers(s);
}

/* ---- status ---- */

/* A store write failed: kept for the status and told once per distinct message (m is taken). */
static void set_store_error(struct service *s, char *message) {
        _cleanup_free_ char *m = message;
        if (!m || streq_ptr(m, s->store_error))
                return;
        free(s->store_error);
        s->store_error = TAKE_PTR(m);
        log_error("%s", s->store_error);
        emit_error(s, NULL, s->store_error);
        emit_status(s);
}

static void note_store_error(struct service *s, const char *what) {
        set_store_error(s, util_printf("%s: %s", what, store_error_message(s->store)));
}

static void clear_store_error(struct service *s) {
        if (!s->store_error)
                return;
        free(TAKE_PTR(s->store_error));
        emit_status(s);
}

/* Counts listed extensions and updates from the store. */
static void recount(struct service *s) {
        struct store_record *records = NULL;
        size_t n = 0;
        if (store_list_records(s->store, STORE_ORDER_NAME, &records, &n) < 0)
                return;
        unsigned updates = 0;
        for (size_t i = 0; i < n; i++)
                updates += records[i].update_available;
        store_record_array_free(records, n);
        s->extensions = (unsigned) n;
        s->updates = updates;
}

static const char *installed_source_resolved(struct service *s) {
        switch (s->settings.config.installed_source) {
        case CONFIG_INSTALLED_DOCKER:
                return "docker";
        case CONFIG_INSTALLED_AUTO:
                /* "auto" is "docker" while `docker extension ls` works, else "api". */
                return s->docker_works ? "docker" : "api";
        case CONFIG_INSTALLED_API:
                break;
        }
        return "api";
}

void service_get_status(struct service *s, struct service_status *ret) {
        *ret = (struct service_status) {
                .scanning = s->scanning,
                .has_last_scan = s->has_last_scan,
                .last_scan = s->last_scan,
                .current = s->scanning ? s->current : (struct scan_summary) {},
                .current_done = s->scanning ? s->current_done : 0,
                .next_scan_at = s->next_scan_at,
                .scan_deferred = s->deferred,
                .extension_api_version = s->api_version,
                .platform = s->settings.config.platform,
                .installed_source = installed_source_resolved(s),
                .desktop_version = s->settings.config.desktop_version,
                .extensions = s->extensions,
                .updates = s->updates,
                .store_error = s->store_error,
        };
}

struct store *service_store(struct service *s) {
        return s->store;
}

uv_loop_t *service_loop(struct service *s) {
        return s->loop;
}

bool service_notifications_enabled(struct service *s) {
        return s->settings.config.notifications;
}

/* ---- persisted schedule ---- */

static void persist_schedule(struct service *s) {
        time_t now = time(NULL);
        char at[21], backoff[16];
        util_format_time(s->next_scan_at, at);
        snprintf(backoff, sizeof(backoff), "%u", s->backoff);
        if (store_state_set(s->store, STATE_NEXT_SCAN_AT, s->next_scan_at ? at : NULL, now) < 0 ||
            store_state_set(s->store, STATE_OFFLINE_BACKOFF, s->backoff ? backoff : NULL, now) < 0)
                note_store_error(s, "cannot save the schedule");
}

static void load_schedule(struct service *s) {
        _cleanup_free_ char *at = NULL, *backoff = NULL;
        time_t t;
        if (store_state_get(s->store, STATE_NEXT_SCAN_AT, &at) > 0 && store_parse_time(at, &t) == 0)
                s->next_scan_at = t;
        if (store_state_get(s->store, STATE_OFFLINE_BACKOFF, &backoff) > 0)
                s->backoff = (unsigned) strtoul(backoff, NULL, 10);
}

/* interval plus a uniform jitter of up to 10%, drawn anew each time so that many daemons started
 * together drift apart. */
static time_t interval_with_jitter(const struct service *s) {
        unsigned interval = s->settings.config.interval;
        uint32_t r = 0;
        if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
                r = (uint32_t) time(NULL);
        return (time_t) interval + (time_t) (r % (interval / 10 + 1));
}

/* ---- scanning ---- */

static void set_deferred(struct service *s, const char *why) {
        if (s->deferred == why)
                return;
        s->deferred = why;
        emit_status(s);
}

static bool is_offline_error(const char *message) {
        /* The registry client says "registry URL/v2/ unreachable: …" when no connection could be made. */
        return message && strstr(message, "/v2/ unreachable: ");
}

static void on_scan_event(const struct scan_event *e, void *userdata) {
        struct service *s = userdata;
        switch (e->type) {
        case SCAN_EVENT_STARTED:
                s->scanning = true;
                s->current = *e->summary;
                log_full(CONFIG_LOG_INFO, NULL, e->summary->id, "scan %lld started: %u repositories",
                         (long long) e->summary->id, e->summary->repositories);
                emit(s, SERVICE_EVENT_SCAN_STARTED, e->summary, false, NULL, NULL, NULL, NULL);
                emit_status(s);
                break;
        case SCAN_EVENT_REPOSITORY: {
                const struct store_record *a = e->after;
                s->current = *e->summary;
                s->current_done++;
                if (a->status && streq(a->status, "error")) {
                        s->current_errors++;
                        s->current_offline += is_offline_error(a->error);
                        log_full(CONFIG_LOG_WARNING, a->repository, e->summary->id, "%s",
                                 a->error ? a->error : "scan failed");
                        emit_error(s, a->repository, a->error ? a->error : "scan failed");
                } else
                        log_full(CONFIG_LOG_DEBUG, a->repository, e->summary->id, "%s: latest %s, compatible %s",
                                 a->status ? a->status : "?", a->latest ? a->latest : "none",
                                 a->latest_compatible ? a->latest_compatible : "none");
                if (record_changed(e->before, a))
                        emit(s, SERVICE_EVENT_EXTENSION_CHANGED, NULL, false, e->before, a, NULL, NULL);
                if (update_is_new(e->before, a)) {
                        log_full(CONFIG_LOG_INFO, a->repository, e->summary->id, "update available: %s → %s",
                                 a->installed, a->latest_compatible);
                        emit(s, SERVICE_EVENT_UPDATE_AVAILABLE, NULL, false, e->before, a, NULL, NULL);
                }
                emit_status(s);
                break;
        }
        case SCAN_EVENT_FINISHED:
                s->current = *e->summary;
                s->scan_ended = true;
                /* The client and the scan are released from the loop, not inside the client's callback. */
                uv_idle_start(&s->deliver, on_deliver);
                break;
        }
}

static void swap_settings(struct service *s);
static void watch_allowlist(struct service *s);

/* Releases the ended scan, records what it did, and plans the next one. */
static void reap_scan(struct service *s) {
        if (!s->scan_ended)
                return;
        struct scan_summary summary = *scan_get_summary(s->scan);
        bool cancelled = summary.cancelled || s->cancelling;
        registry_client_free(TAKE_PTR(s->rc));
        scan_free(TAKE_PTR(s->scan));
        s->scan_ended = s->scanning = s->cancelling = false;
        const char *write_error = store_last_write_error(s->store);
        if (write_error)
                set_store_error(s, util_printf("%s: results of this scan not saved", write_error));

        struct store_scan last;
        int r = store_last_scan(s->store, &last);
        if (r > 0) {
                s->last_scan = last;
                s->has_last_scan = true;
        }
        recount(s);
        time_t now = time(NULL);
        bool offline = !cancelled && summary.repositories > 0 && s->current_offline == summary.repositories;
        if (cancelled) {
                log_full(CONFIG_LOG_INFO, NULL, summary.id, "scan %lld cancelled", (long long) summary.id);
                /* Still due: it runs again when the reason for stopping is gone. */
                if (s->asleep)
                        s->due_while_asleep = true;
        } else {
                log_full(CONFIG_LOG_INFO, NULL, summary.id,
                         "scan %lld finished: %u repositories, %u updates, %u errors, %u requests",
                         (long long) summary.id, summary.repositories, summary.updates, summary.errors,
                         summary.requests);
                if (offline) {
                        unsigned cap = s->settings.config.interval;
                        s->backoff = s->backoff ? (s->backoff * 2 > cap ? cap : s->backoff * 2)
                                                : (OFFLINE_BACKOFF_FIRST > cap ? cap : OFFLINE_BACKOFF_FIRST);
                        s->next_scan_at = now + s->backoff;
                        log_info("no registry could be reached: next try in %u s", s->backoff);
                } else {
                        s->backoff = 0;
                        s->next_scan_at = now + interval_with_jitter(s);
                }
                persist_schedule(s);
                /* Told once the plan is saved: whoever sees the status can read the plan. */
                set_deferred(s, offline ? "offline" : NULL);
        }
        emit(s, SERVICE_EVENT_SCAN_FINISHED, &summary, cancelled, NULL, NULL, NULL, NULL);
        emit_status(s);
        /* Scan memory goes back to the system: idle should cost nothing. */
        store_release_memory(s->store);
        malloc_trim(0);
        if (s->have_pending)
                swap_settings(s);
        else if (!s->asleep && s->started)
                schedule_next(s, s->next_scan_at);
}

static int inventory_write(struct service *s, int (*write)(struct service *s, void *data), void *data,
                           char **ret_error);
static int write_replace(struct service *s, void *data);

static void on_inventory(int error, const char *message, char *const *pairs, char *const *problems, void *userdata) {
        struct service *s = userdata;
        s->inventory = NULL;
        bool auto_source = s->settings.config.installed_source == CONFIG_INSTALLED_AUTO;
        bool worked = s->docker_works;
        if (error < 0) {
                if (!auto_source)
                        log_warning("%s; the last inventory is kept", message);
                else if (worked)
                        log_info("%s: the inventory is kept by the API now (installed_source \"auto\")", message);
                else
                        log_debug("%s: the inventory is kept by the API (installed_source \"auto\")", message);
                s->docker_works = false;
                if (worked)
                        emit_status(s);
                return;
        }
        for (char *const *p = problems; p && *p; p++)
                log_warning("%s", *p);
        s->docker_works = true;
        if (!worked)
                emit_status(s);
        _cleanup_strv_free_ char **stored = NULL;
        if (store_installed_list(s->store, &stored) == 0 && strv_equal(stored, pairs))
                return;
        if (inventory_write(s, write_replace, (void *) pairs, NULL) == 0)
                log_info("installed inventory from `docker extension ls`: %zu extensions", util_strv_length(pairs) / 2);
}

/* `docker extension ls` answers while the scan runs: the records' update_available is computed when
 * they are read, so they are right as soon as it is stored. */
static void refresh_inventory(struct service *s) {
        if (s->settings.config.installed_source == CONFIG_INSTALLED_API || s->inventory)
                return;
        if (docker_inventory_run(s->loop, on_inventory, s, &s->inventory) < 0)
                log_error("cannot run `docker extension ls`: out of memory");
}

static int start_scan(struct service *s) {
        if (!s->have_settings)
                return -EAGAIN;
        struct registry_options ropts = {.config = &s->settings.config};
        int r = registry_client_new(s->loop, &ropts, &s->rc);
        if (r < 0) {
                log_error("cannot set up the registry client: %s", strerror(-r));
                return r;
        }
        struct scan_settings ss = {
                .api_version = s->api_version,
                .platform = s->settings.config.platform,
                .include_prerelease = s->settings.config.include_prerelease,
                .max_inspected = s->settings.config.max_inspected_versions,
                .repository_timeout = s->settings.config.repository_timeout,
                /* Twice the connections keeps them busy without a queue of idle curl handles. */
                .max_parallel = 2 * s->settings.config.max_connections,
        };
        s->current_done = s->current_errors = s->current_offline = 0;
        s->current = (struct scan_summary) {};
        r = scan_start(s->loop, s->store, s->rc, &s->settings.allowlist, &ss, on_scan_event, s, &s->scan);
        if (r < 0) {
                registry_client_free(TAKE_PTR(s->rc));
                s->scanning = false;
                if (r == -EINVAL)
                        log_error("cannot start a scan: invalid Extension API version or platform");
                else
                        note_store_error(s, "cannot start a scan");
                return r;
        }
        schedule_disarm(s->alarm);
        clear_store_error(s);
        refresh_inventory(s);
        return 0;
}

int service_scan_now(struct service *s, enum service_origin origin, int64_t *ret_id) {
        if (!s)
                return -EINVAL;
        /* Scheduled scans wait while the connection is metered; asked-for ones always run. */
        if (origin == SERVICE_ORIGIN_SCHEDULE && s->metered && !s->settings.config.scan_on_metered) {
                set_deferred(s, "metered network");
                return -EAGAIN;
        }
        reap_scan(s);
        if (!s->scan) {
                int r = start_scan(s);
                if (r < 0)
                        return r;
        }
        if (ret_id)
                *ret_id = s->current.id;
        return 0;
}

/* How soon a scheduled scan that could not start (a store or memory failure) is tried again. */
#define START_RETRY_S 60

static void start_scheduled_scan(struct service *s) {
        int r = service_scan_now(s, SERVICE_ORIGIN_SCHEDULE, NULL);
        if (r < 0 && r != -EAGAIN && schedule_arm(s->alarm, time(NULL) + START_RETRY_S) < 0)
                log_error("cannot arm the scan timer");
}

static void on_alarm(void *userdata) {
        struct service *s = userdata;
        if (!s->scanning && !s->asleep)
                start_scheduled_scan(s);
}

/* Plans a scan at `at` (now or past: at once). */
static void schedule_next(struct service *s, time_t at) {
        s->next_scan_at = at;
        if (at <= time(NULL)) {
                start_scheduled_scan(s);
                return;
        }
        int r = schedule_arm(s->alarm, at);
        if (r < 0)
                log_error("cannot arm the scan timer: %s", strerror(-r));
        emit_status(s);
}

void service_start(struct service *s) {
        if (s->started)
                return;
        s->started = true;
        time_t now = time(NULL);
        time_t interval = s->settings.config.interval;
        load_schedule(s);
        if (s->next_scan_at == 0 && s->has_last_scan) {
                /* No plan saved: the last scan's age decides. */
                time_t finished;
                if (store_parse_time(s->last_scan.finished_at, &finished) == 0)
                        s->next_scan_at = finished + interval;
        }
        /* A plan further out than one interval with jitter was made for a longer interval. */
        if (s->next_scan_at > now + interval + interval / 10)
                s->next_scan_at = now + interval_with_jitter(s);
        if (s->backoff)
                s->deferred = "offline";
        schedule_next(s, s->next_scan_at);
}

/* ---- settings ---- */

static void log_messages(char *const *messages) {
        for (char *const *m = messages; m && *m; m++) {
                const char *rest;
                if ((rest = util_startswith(*m, "error: ")))
                        log_error("%s", rest);
                else if ((rest = util_startswith(*m, "warning: ")))
                        log_warning("%s", rest);
                else
                        log_warning("%s", *m);
        }
}

/* Makes the allow-list the listed repositories now, so removed ones leave the listings at once. */
static int sync_listing(struct service *s) {
        const struct allowlist *al = &s->settings.allowlist;
        struct store_repository *repos = calloc(al->n ? al->n : 1, sizeof(struct store_repository));
        char **canonical = calloc(al->n + 1, sizeof(char *));
        char **sources = calloc(al->n + 1, sizeof(char *));
        int r = repos && canonical && sources ? 0 : -ENOMEM;
        for (size_t i = 0; r == 0 && i < al->n; i++) {
                const struct allowlist_entry *e = &al->entries[i];
                canonical[i] = util_printf("%s/%s", e->ref.domain, e->ref.path);
                sources[i] = util_printf("%s:%u", e->source ? e->source : "", e->line);
                if (!canonical[i] || !sources[i])
                        r = -ENOMEM;
                repos[i] = (struct store_repository) {.name = e->repository, .canonical = canonical[i],
                                                      .pinned = e->pinned, .source = sources[i]};
        }
        if (r == 0)
                r = store_set_repositories(s->store, repos, al->n, time(NULL));
        free(repos);
        util_strv_free(canonical);
        util_strv_free(sources);
        return r;
}

static bool has_new_entries(const struct allowlist *old, const struct allowlist *new) {
        for (size_t i = 0; i < new->n; i++) {
                bool found = false;
                for (size_t k = 0; k < old->n && !found; k++)
                        found = streq(new->entries[i].repository, old->entries[k].repository) &&
                                streq_ptr(new->entries[i].pinned, old->entries[k].pinned);
                if (!found)
                        return true;
        }
        return false;
}

/* Puts the loaded settings in use; between scans only, since a scan points into them. */
static void swap_settings(struct service *s) {
        bool added = has_new_entries(&s->settings.allowlist, &s->pending.allowlist);
        unsigned old_interval = s->settings.config.interval;
        bool scan_settings_changed = !streq_ptr(s->api_version, s->pending_api_version) ||
                                     !streq_ptr(s->settings.config.platform, s->pending.config.platform) ||
                                     s->settings.config.include_prerelease != s->pending.config.include_prerelease;
        settings_done(&s->settings);
        s->settings = s->pending;
        s->pending = (struct settings) {};
        free(s->api_version);
        s->api_version = TAKE_PTR(s->pending_api_version);
        s->api_source = s->pending_api_source;
        s->have_pending = false;
        log_set_level(s->settings.config.log_level);
        log_info("configuration reloaded: %zu repositories, Extension API %s (%s)", s->settings.allowlist.n,
                 s->api_version, api_version_source_describe(s->api_source));
        if (sync_listing(s) < 0)
                note_store_error(s, "cannot update the list of repositories");
        recount(s);
        watch_allowlist(s);
        emit_status(s);
        if (!s->started || s->asleep)
                return;
        time_t now = time(NULL);
        if (added || scan_settings_changed)
                /* New entries are scanned soon, not an interval later. */
                schedule_next(s, now);
        else if (old_interval != s->settings.config.interval && !s->backoff) {
                time_t base = now;
                if (s->has_last_scan)
                        (void) store_parse_time(s->last_scan.finished_at, &base);
                s->next_scan_at = base + interval_with_jitter(s);
                persist_schedule(s);
                schedule_next(s, s->next_scan_at);
        } else
                schedule_next(s, s->next_scan_at);
}

static void start_load(struct service *s);

static void on_allowlist_changed(void *userdata) {
        struct service *s = userdata;
        log_info("an allow-list file changed");
        service_reload(s);
}

/* Watches the allow-list files in use (URLs are fetched again at each reload). */
static void watch_allowlist(struct service *s) {
        _cleanup_strv_free_ char **files = NULL;
        for (char **src = s->settings.config.allowlist; src && *src; src++)
                if (!util_startswith(*src, "https://") && !util_startswith(*src, "http://") &&
                    util_strv_push(&files, *src) < 0)
                        return;
        watch_free(TAKE_PTR(s->watch));
        if (files && watch_new(s->loop, files, on_allowlist_changed, s, &s->watch) < 0)
                log_warning("cannot watch the allow-list files: changes are read on SIGHUP only");
}

static void on_api_version(const char *version, enum api_version_source source, void *userdata) {
        struct service *s = userdata;
        s->detect = NULL;
        s->pending_api_version = strdup(version);
        s->pending_api_source = source;
        if (!s->pending_api_version) {
                log_error("out of memory");
                settings_done(&s->pending);
                return;
        }
        if (!s->have_settings) {
                s->settings = s->pending;
                s->pending = (struct settings) {};
                s->api_version = TAKE_PTR(s->pending_api_version);
                s->api_source = source;
                s->have_settings = true;
                log_set_level(s->settings.config.log_level);
                log_info("%s: %zu repositories; Extension API %s (%s), platform %s",
                         s->settings.config_path ? s->settings.config_path : "built-in defaults",
                         s->settings.allowlist.n, s->api_version, api_version_source_describe(s->api_source),
                         s->settings.config.platform);
                if (sync_listing(s) < 0)
                        note_store_error(s, "cannot update the list of repositories");
                recount(s);
                watch_allowlist(s);
                s->ready_cb(s, 0, s->ready_userdata);
        } else {
                s->have_pending = true;
                if (!s->scan)
                        swap_settings(s);
        }
        if (s->reload_again && !s->freed) {
                s->reload_again = false;
                start_load(s);
        }
}

static void on_settings_loaded(int r, struct settings *loaded, char *const *messages, void *userdata) {
        struct service *s = userdata;
        s->loader = NULL;
        log_messages(messages);
        if (r < 0) {
                if (!s->have_settings) {
                        s->ready_cb(s, r, s->ready_userdata);
                        return;
                }
                log_error("the new configuration is not used; the previous one stays in effect");
                emit_error(s, NULL, "reload failed: the previous configuration stays in effect");
                if (s->reload_again) {
                        s->reload_again = false;
                        start_load(s);
                }
                return;
        }
        /* A newer load replaces one that waited for the end of a scan. */
        settings_done(&s->pending);
        free(TAKE_PTR(s->pending_api_version));
        s->have_pending = false;
        s->pending = *loaded;
        *loaded = (struct settings) {};
        r = api_version_detect_start(s->loop, s->pending.config.extension_api_version, on_api_version, s,
                                     &s->detect);
        if (r < 0) {
                log_error("out of memory");
                settings_done(&s->pending);
                if (!s->have_settings)
                        s->ready_cb(s, r, s->ready_userdata);
        }
}

static void start_load(struct service *s) {
        int r = settings_load_start(s->config_arg, s->loop, s->cache_dir, on_settings_loaded, s, &s->loader);
        if (r < 0)
                log_error("cannot reload: %s", strerror(-r));
}

void service_reload(struct service *s) {
        if (s->loader || s->detect) {
                s->reload_again = true;
                return;
        }
        log_info("reloading the configuration");
        start_load(s);
}

/* ---- the inventory ---- */

static int inventory_writable(struct service *s, char **ret_error) {
        if (streq(installed_source_resolved(s), "docker")) {
                if (ret_error)
                        *ret_error = util_printf("the installed inventory comes from `docker extension ls` "
                                                 "(installed_source is \"%s\"%s%s)",
                                                 config_installed_source_name(s->settings.config.installed_source),
                                                 s->settings.config_path ? " in " : "",
                                                 s->settings.config_path ? s->settings.config_path : "");
                return -EPERM;
        }
        return 0;
}

/* The familiar name of a repository and a version that is SemVer (with an optional leading 'v'). */
static int check_entry(const char *repository, const char *version, char **ret_name, char **ret_error) {
        const char *reason = NULL;
        _cleanup_free_ char *name = NULL;
        if (!repository || !*repository) {
                *ret_error = strdup("a repository name is required");
                return -EINVAL;
        }
        int r = reference_normalize_repository(repository, &name, &reason);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                *ret_error = util_printf("\"%.200s\": %s", repository, reason ? reason : "not a repository name");
                return -EINVAL;
        }
        if (version) {
                struct semver v;
                r = semver_parse(version, SEMVER_PARSE_ALLOW_V, &v);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        *ret_error = util_printf("%s: \"%.200s\" is not a SemVer version", name, version);
                        return -EINVAL;
                }
                semver_done(&v);
        }
        *ret_name = TAKE_PTR(name);
        return 0;
}

/* Every listed record, by name, for telling what an inventory change did. */
static int snapshot(struct service *s, struct store_record **ret, size_t *ret_n) {
        return store_list_records(s->store, STORE_ORDER_NAME, ret, ret_n);
}

/* Emits what changed between two snapshots (both by name) and recounts. */
static void emit_inventory_changes(struct service *s, struct store_record *before, size_t n_before,
                                   struct store_record *after, size_t n_after) {
        emit(s, SERVICE_EVENT_INSTALLED_CHANGED, NULL, false, NULL, NULL, NULL, NULL);
        for (size_t i = 0, k = 0; i < n_after; i++) {
                while (k < n_before && strcmp(before[k].repository, after[i].repository) < 0)
                        k++;
                const struct store_record *b =
                        k < n_before && streq(before[k].repository, after[i].repository) ? &before[k] : NULL;
                static const struct store_record none = {};
                if (!b || record_changed(b, &after[i]))
                        emit(s, SERVICE_EVENT_EXTENSION_CHANGED, NULL, false, b ? b : &none, &after[i], NULL, NULL);
                if (update_is_new(b ? b : &none, &after[i]))
                        emit(s, SERVICE_EVENT_UPDATE_AVAILABLE, NULL, false, b ? b : &none, &after[i], NULL, NULL);
        }
        unsigned old_updates = s->updates;
        recount(s);
        if (s->updates != old_updates)
                emit_status(s);
}

/* Runs one inventory write between two snapshots of the records. */
static int inventory_write(struct service *s, int (*write)(struct service *s, void *data), void *data,
                           char **ret_error) {
        struct store_record *before = NULL, *after = NULL;
        size_t n_before = 0, n_after = 0;
        if (snapshot(s, &before, &n_before) < 0) {
                n_before = 0;
                before = NULL;
        }
        int r = write(s, data);
        if (r == -ENOENT) {
                store_record_array_free(before, n_before);
                return r;
        }
        if (r < 0) {
                note_store_error(s, "cannot save the installed inventory");
                if (ret_error)
                        *ret_error = util_printf("cannot save the installed inventory: %s",
                                                 store_error_message(s->store));
                store_record_array_free(before, n_before);
                return -EIO;
        }
        clear_store_error(s);
        if (snapshot(s, &after, &n_after) == 0)
                emit_inventory_changes(s, before, n_before, after, n_after);
        store_record_array_free(before, n_before);
        store_record_array_free(after, n_after);
        return 0;
}

struct set_data {
        const char *name, *version;
};

static int write_set(struct service *s, void *data) {
        struct set_data *d = data;
        return store_installed_set(s->store, d->name, d->version, time(NULL));
}

static int write_remove(struct service *s, void *data) {
        struct set_data *d = data;
        int r = store_installed_remove(s->store, d->name);
        return r == 0 ? -ENOENT : r < 0 ? r : 0;
}

static int write_replace(struct service *s, void *data) {
        return store_installed_replace(s->store, data, time(NULL));
}

int service_set_installed(struct service *s, const char *repository, const char *version, char **ret_error) {
        _cleanup_free_ char *name = NULL;
        char *error = NULL;
        int r = inventory_writable(s, &error);
        if (r == 0 && !version) {
                error = strdup("a version is required");
                r = -EINVAL;
        }
        if (r == 0)
                r = check_entry(repository, version, &name, &error);
        if (r == 0)
                r = inventory_write(s, write_set, &(struct set_data) {name, version}, &error);
        if (r == 0)
                log_info("installed inventory: %s %s", name, version);
        if (ret_error)
                *ret_error = error;
        else
                free(error);
        return r;
}

int service_remove_installed(struct service *s, const char *repository, char **ret_error) {
        _cleanup_free_ char *name = NULL;
        char *error = NULL;
        int r = inventory_writable(s, &error);
        if (r == 0)
                r = check_entry(repository, NULL, &name, &error);
        if (r == 0)
                r = inventory_write(s, write_remove, &(struct set_data) {name, NULL}, &error);
        if (r == -ENOENT)
                error = util_printf("%s is not in the installed inventory", name);
        else if (r == 0)
                log_info("installed inventory: %s removed", name);
        if (ret_error)
                *ret_error = error;
        else
                free(error);
        return r;
}

int service_replace_installed(struct service *s, char *const *pairs, char **ret_error) {
        _cleanup_strv_free_ char **normalized = NULL;
        char *error = NULL;
        size_t n = util_strv_length(pairs);
        int r = inventory_writable(s, &error);
        if (r == 0 && n % 2 != 0) {
                error = strdup("the inventory must be pairs of repository and version");
                r = -EINVAL;
        }
        for (size_t i = 0; r == 0 && i < n; i += 2) {
                _cleanup_free_ char *name = NULL;
                r = check_entry(pairs[i], pairs[i + 1], &name, &error);
                if (r == 0 && util_strv_contains(normalized, name)) {
                        error = util_printf("%s: listed twice", name);
                        r = -EINVAL;
                }
                if (r == 0 && (util_strv_push(&normalized, name) < 0 || util_strv_push(&normalized, pairs[i + 1]) < 0))
                        r = -ENOMEM;
        }
        if (r == 0 && !normalized && !(normalized = calloc(1, sizeof(char *))))
                r = -ENOMEM;
        if (r == 0)
                r = inventory_write(s, write_replace, normalized, &error);
        if (r == 0)
                log_info("installed inventory replaced: %zu entries", n / 2);
        if (ret_error)
                *ret_error = error;
        else
                free(error);
        return r;
}

/* ---- the desktop ---- */

/* Stops the running scan; FINISHED then comes marked cancelled. */
static void cancel_scan(struct service *s) {
        if (!s->scan || s->scan_ended)
                return;
        s->cancelling = true;
        scan_cancel(s->scan);
}

void service_set_metered(struct service *s, bool metered) {
        if (s->metered == metered)
                return;
        s->metered = metered;
        log_info("the network is %s", metered ? "metered" : "not metered");
        if (!metered && s->deferred && streq(s->deferred, "metered network")) {
                set_deferred(s, NULL);
                if (s->started && !s->asleep && !s->scanning)
                        schedule_next(s, s->next_scan_at);
        }
}

void service_prepare_for_sleep(struct service *s, bool sleeping) {
        if (s->asleep == sleeping)
                return;
        s->asleep = sleeping;
        if (sleeping) {
                log_info("going to sleep: %s", s->scan ? "cancelling the scan" : "nothing to stop");
                cancel_scan(s);
                return;
        }
        log_info("resumed");
        reap_scan(s);
        if (!s->started || s->scanning)
                return;
        if (s->have_pending)
                swap_settings(s);
        else
                schedule_next(s, s->due_while_asleep ? time(NULL) : s->next_scan_at);
        s->due_while_asleep = false;
}

/* ---- life ---- */

int service_new(uv_loop_t *loop, const struct service_options *o, service_ready_fn ready_cb, void *userdata,
                struct service **ret, char **ret_error) {
        struct service *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->loop = loop;
        s->ready_cb = ready_cb;
        s->ready_userdata = userdata;
        int r = -ENOMEM;
        if (strdup_opt(o->config, &s->config_arg) < 0 || !(s->state_dir = strdup(o->state_dir)) ||
            !(s->cache_dir = util_printf("%s/allowlists", o->state_dir)))
                goto fail;
        r = store_open(s->state_dir, &s->store, ret_error);
        if (r < 0)
                goto fail;
        struct store_scan last;
        if (store_last_scan(s->store, &last) > 0) {
                s->last_scan = last;
                s->has_last_scan = true;
        }
        r = schedule_new(loop, on_alarm, s, &s->alarm);
        if (r < 0) {
                if (ret_error)
                        *ret_error = util_printf("cannot create a CLOCK_BOOTTIME timer: %s", strerror(-r));
                goto fail;
        }
        uv_idle_init(loop, &s->deliver);
        s->deliver.data = s;
        r = settings_load_start(s->config_arg, loop, s->cache_dir, on_settings_loaded, s, &s->loader);
        if (r < 0) {
                service_free(s);
                return r;
        }
        *ret = s;
        return 0;
fail:
        schedule_free(s->alarm);
        store_free(s->store);
        free(s->config_arg);
        free(s->state_dir);
        free(s->cache_dir);
        free(s);
        return r;
}

static void on_deliver_closed(uv_handle_t *h) {
        struct service *s = h->data;
        while (s->queue_head) {
                struct queued_event *q = s->queue_head;
                s->queue_head = q->next;
                queued_free(q);
        }
        while (s->subscribers) {
                struct service_subscription *sub = s->subscribers;
                s->subscribers = sub->next;
                free(sub);
        }
        free(s);
}

void service_free(struct service *s) {
        if (!s || s->freed)
                return;
        settings_load_cancel(TAKE_PTR(s->loader));
        api_version_detect_cancel(TAKE_PTR(s->detect));
        watch_free(TAKE_PTR(s->watch));
        docker_inventory_cancel(TAKE_PTR(s->inventory));
        cancel_scan(s);
        /* Freeing the client completes the cancelled scan at once: no callback of ours runs later. */
        registry_client_free(TAKE_PTR(s->rc));
        scan_free(TAKE_PTR(s->scan));
        s->freed = true;
        schedule_free(TAKE_PTR(s->alarm));
        store_free(TAKE_PTR(s->store));
        settings_done(&s->settings);
        settings_done(&s->pending);
        free(s->api_version);
        free(s->pending_api_version);
        free(s->config_arg);
        free(s->state_dir);
        free(s->cache_dir);
        free(s->store_error);
        uv_close((uv_handle_t *) &s->deliver, on_deliver_closed);
}
