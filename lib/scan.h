/* One scan of every allow-listed repository on the loop: tags, candidate inspection, verdicts into the store. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <uv.h>

#include "allowlist.h"
#include "registry.h"
#include "store.h"

struct scan;

struct scan_settings {
        const char *api_version;  /* this Desktop's Extension API version (valid SemVer) */
        const char *platform;     /* normalized "os/arch[/variant]" an update must provide */
        bool include_prerelease;
        unsigned max_parallel;    /* repositories in flight at once; 0 = 64 */
        unsigned digest_max_age;  /* seconds a tag's confirmed digest is trusted without a HEAD;
                                     0 = a day */
        unsigned max_inspected;   /* versions inspected per repository and scan, newest first;
                                     past it the next one's verdict says the walk stopped; 0 = 32 */
};

struct scan_summary {
        int64_t id;
        time_t started_at;
        time_t finished_at;       /* 0 while running */
        unsigned repositories;
        unsigned updates;
        unsigned errors;
        unsigned requests;        /* HTTP requests this scan sent, retries and redirects included */
        bool cancelled;           /* scan_cancel() stopped it: not recorded as finished in the store */
};

enum scan_event_type {
        SCAN_EVENT_STARTED,
        SCAN_EVENT_REPOSITORY,    /* one repository's result is stored */
        SCAN_EVENT_FINISHED,
};

struct scan_event {
        enum scan_event_type type;
        const struct scan_summary *summary;  /* every event */
        const struct store_record *before;   /* REPOSITORY: the stored record before this scan */
        const struct store_record *after;    /* REPOSITORY: the stored record now */
};

typedef void (*scan_event_fn)(const struct scan_event *event, void *userdata);

/* Syncs the allow-list into the store and starts scanning every entry on the loop; events arrive
 * through cb (STARTED from inside this call, the others from the loop, also for an empty
 * allow-list; FINISHED exactly once, last). The registry client, store and allow-list must outlive the scan; the client's request
 * counter measures the scan, so give each scan a client of its own or accept a shared count.
 * Returns 0, -EINVAL (bad settings), -ENOMEM, or a store error. */
int scan_start(uv_loop_t *loop, struct store *store, struct registry_client *rc, const struct allowlist *al,
               const struct scan_settings *settings, scan_event_fn cb, void *userdata, struct scan **ret);

/* The summary so far (final after FINISHED). */
const struct scan_summary *scan_get_summary(const struct scan *s);
bool scan_is_finished(const struct scan *s);

/* Stops the scan: repositories not started are skipped, the registry client's requests are
 * cancelled (registry_client_cancel_all: the client must serve this scan alone), and FINISHED
 * arrives once, from the loop and never from inside this call, with summary->cancelled set. A
 * repository whose walk was cut keeps its stored record; the scan is not recorded as finished.
 * May be called from an event callback. No-op on a finished or already cancelled scan. */
void scan_cancel(struct scan *s);

/* Releases a scan after its FINISHED event (or after its registry client was freed, which
 * completes every job at once). Accepts NULL. */
void scan_free(struct scan *s);
