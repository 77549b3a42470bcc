/* The long-running service: owns the loop, settings, store, schedule and the one current scan; front ends
 * subscribe to its event stream and call its few entry points, and none knows another. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <uv.h>

#include "scan.h"
#include "store.h"

struct service;

struct service_options {
        const char *config;    /* --config, or NULL for the default path (else built-in defaults) */
        const char *state_dir; /* where state.db and the allow-list cache live */
};

/* Called once the first settings are loaded: 0 (attach the front ends, then service_start), or
 * -EINVAL/-ENOMEM when the service cannot run (each problem was logged). */
typedef void (*service_ready_fn)(struct service *s, int error, void *userdata);

/* Opens the store and starts loading the settings on loop (ready_cb runs from the loop). Returns 0,
 * or -errno with *ret_error (malloc'd, naming the path) when the store cannot be opened. */
int service_new(uv_loop_t *loop, const struct service_options *o, service_ready_fn ready_cb, void *userdata,
                struct service **ret, char **ret_error);
/* Begins the schedule: a scan now unless the last one is younger than the interval. */
void service_start(struct service *s);
/* Cancels the running scan and everything in flight and releases the service; the loop closes
 * its handles when it runs on. No event is delivered after this. Accepts NULL. */
void service_free(struct service *s);

/* Where a scan request comes from: scheduled scans wait while the network is metered, asked-for
 * ones always run. */
enum service_origin {
        SERVICE_ORIGIN_SCHEDULE,
        SERVICE_ORIGIN_USER,
};

enum service_event_type {
        SERVICE_EVENT_SCAN_STARTED,      /* summary */
        SERVICE_EVENT_SCAN_FINISHED,     /* summary, cancelled */
        SERVICE_EVENT_EXTENSION_CHANGED, /* before, after: a repository's stored record changed */
        SERVICE_EVENT_UPDATE_AVAILABLE,  /* after: a repository newly has an update (or a newer one) */
        SERVICE_EVENT_ERROR,             /* message (and repository when it is about one) */
        SERVICE_EVENT_STATUS_CHANGED,    /* anything in struct service_status changed */
        SERVICE_EVENT_INSTALLED_CHANGED, /* the inventory changed */
};

struct service_event {
        enum service_event_type type;
        time_t time;
        const struct scan_summary *summary;  /* SCAN_STARTED, SCAN_FINISHED */
        bool cancelled;                      /* SCAN_FINISHED: stopped before the end; not recorded as finished */
        const struct store_record *before;   /* EXTENSION_CHANGED (NULL fields when never scanned) */
        const struct store_record *after;    /* EXTENSION_CHANGED, UPDATE_AVAILABLE */
        const char *repository;              /* ERROR: the repository it concerns, or NULL */
        const char *message;                 /* ERROR */
};

typedef void (*service_event_fn)(const struct service_event *event, void *userdata);

struct service_subscription;

/* Events are delivered from the loop, in order, to every subscriber; a subscriber may call entry points
 * and unsubscribe (itself or others) from inside its callback. */
int service_subscribe(struct service *s, service_event_fn fn, void *userdata, struct service_subscription **ret);
void service_unsubscribe(struct service_subscription *sub);

/* Snapshot of what `GET /v1/status`, D-Bus properties and sd_notify STATUS= show. Strings are owned by the
 * service and valid until the next event. */
struct service_status {
        bool scanning;
        bool has_last_scan;
        struct store_scan last_scan;     /* the last finished scan */
        struct scan_summary current;     /* while scanning: the running scan so far */
        unsigned current_done;           /* while scanning: repositories finished */
        time_t next_scan_at;             /* 0 when none is planned */
        const char *scan_deferred;       /* NULL, "metered network", "offline", … */
        const char *extension_api_version;
        const char *platform;
        const char *installed_source;    /* "docker" or "api": what "auto" resolved to */
        const char *desktop_version;     /* NULL when not configured */
        unsigned extensions;
        unsigned updates;
        const char *store_error;         /* NULL, or why the last store write failed */
};

void service_get_status(struct service *s, struct service_status *ret);

/* The store, for reading records, verdicts and the inventory. Writes go through entry points. */
struct store *service_store(struct service *s);
uv_loop_t *service_loop(struct service *s);
/* Whether desktop notifications are on (`notifications` in the config). */
bool service_notifications_enabled(struct service *s);

/* Starts a scan now, or joins the running one; *ret_id (optional) is its id. */
int service_scan_now(struct service *s, enum service_origin origin, int64_t *ret_id);
/* Re-reads config and allow-list in the background and swaps them in between scans. */
void service_reload(struct service *s);

/* Inventory writes. -EPERM when installed_source is "docker" (the API answers 409), -EINVAL with
 * *ret_error (malloc'd) for an invalid repository or version, -ENOENT (remove) when not installed. */
int service_set_installed(struct service *s, const char *repository, const char *version, char **ret_error);
int service_remove_installed(struct service *s, const char *repository, char **ret_error);
int service_replace_installed(struct service *s, char *const *pairs, char **ret_error);

/* Inputs from the desktop (the D-Bus front end reads them from NetworkManager and logind). */
void service_set_metered(struct service *s, bool metered);
void service_prepare_for_sleep(struct service *s, bool sleeping);
