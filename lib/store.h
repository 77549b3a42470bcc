/* The scanner's persistent state: one SQLite database (WAL) with a forward-migrated schema. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Timestamps are stored as RFC 3339 UTC text ("2026-11-28T13:00:00Z", util_format_time):
 * readable in the sqlite3 shell, and fixed-width so text order is time order. Functions
 * take time_t; records give back the text. */

struct store;

/* The schema version this build writes; older databases are migrated up to it on open. */
#define STORE_SCHEMA_VERSION 7

/* Manifest bodies and config label sets larger than this are refused (-EFBIG). */
#define STORE_BLOB_MAX (4u * 1024u * 1024u)

/* One allow-listed repository, as the allow-list gives it. */
struct store_repository {
        const char *name;      /* familiar name, the key: "docker/disk-usage-extension" */
        const char *canonical; /* "docker.io/docker/disk-usage-extension" */
        const char *pinned;    /* pinned tag, or NULL */
        const char *source;    /* "extensions.txt:3", a URL…, or NULL */
};

/* The CONTRACT §4 extension record. Every string is owned; NULL is JSON null.
 * On write (store_put_result) `repository` names the row; `pinned` (the allow-list's, from
 * store_set_repositories), `installed` (the inventory's), `update_available`, `checked_at`,
 * `last_ok_at` and `error` are not taken from it. */
struct store_record {
        char *repository;
        char *title;
        char *vendor;
        char *description;
        char *pinned;
        char *installed;
        char *latest;
        char *latest_compatible;
        char *api_constraint;
        char *latest_api_constraint;
        char *digest;
        char **platforms; /* NULL-terminated, or NULL */
        bool update_available; /* installed and latest_compatible are versions (a leading 'v'
                                  allowed) and latest_compatible has higher precedence */
        char *status;     /* "ok", "incompatible", "invalid", "no_versions", "error";
                             NULL for a listed repository that was never scanned */
        char *error;
        char *checked_at;
        char *last_ok_at; /* when a scan of it last succeeded (any status but "error") */
};

void store_record_done(struct store_record *r);
void store_record_array_free(struct store_record *a, size_t n);

/* A tag as the registry lists it; digest NULL when not looked up this time (the known
 * digest of that tag is then kept). */
struct store_tag {
        char *tag;
        char *digest;
        char *verified_at; /* read only: when the registry last confirmed digest, or NULL */
};

void store_tag_array_free(struct store_tag *a, size_t n);

/* Why one version was or was not compatible, for `show`. */
struct store_verdict {
        char *tag;
        char *digest;
        char *api_constraint;
        bool compatible;
        char *reason;
        int64_t scan_id; /* 0 when written outside a scan */
};

void store_verdict_array_free(struct store_verdict *a, size_t n);

struct store_scan {
        int64_t id;
        char started_at[21];
        char finished_at[21]; /* "" while running (or when the daemon died during it) */
        unsigned repositories, updates, errors, requests;
};

struct store_config {
        char *os;
        char *architecture;
        char *variant;
        char *labels; /* JSON object text */
};

void store_config_done(struct store_config *c);

/* Creates dir (mode 0700, parents too) and dir/state.db, migrates the schema forward.
 * A file that is not an SQLite database is never touched: -EBADMSG with a message naming
 * it. A schema newer than STORE_SCHEMA_VERSION: -EPROTONOSUPPORT. On failure *ret_error
 * (if given) is a malloc'd sentence naming the path. */
int store_open(const char *dir, struct store **ret, char **ret_error);
/* As store_open, but migrates only up to `version` (for tests of the migrations). The
 * store is then fit for store_free only. */
int store_open_at_version(const char *dir, unsigned version, struct store **ret, char **ret_error);
void store_free(struct store *s);
static inline void store_freep(struct store **s) {
        store_free(*s);
}
/* The path of state.db. */
const char *store_path(struct store *s);
/* SQLite's text for the last failure on this connection, prefixed with the path (the path
 * alone when nothing failed yet). */
const char *store_error_message(struct store *s);
/* "PATH: disk full" (or read-only, or SQLite's words) when the last write failed and no
 * transaction has committed since; NULL when writes are going through. For a status line: a
 * caller that saw a write fail can say that what it found was not saved. */
const char *store_last_write_error(struct store *s);

/* Syncs the allow-list: the given repositories become the listed ones, in this order
 * (a repeated name keeps its first position); others stay in the database with their
 * history but are no longer listed. One transaction. */
int store_set_repositories(struct store *s, const struct store_repository *repos, size_t n, time_t now);

/* Writes one repository's whole successful scan in one transaction: the record (status
 * must not be "error"), the current tag list (tags not in it are forgotten, with their
 * verdicts), and the verdicts given (upserted; with STORE_PUT_REPLACE_VERDICTS every
 * other verdict of the repository is dropped first, for when the API version or the
 * platform changed). -ENOENT when the repository was never allow-listed. */
enum {
        STORE_PUT_REPLACE_VERDICTS = 1 << 0,
};
int store_put_result(struct store *s, const struct store_record *record, time_t checked_at, int64_t scan_id,
                     const struct store_tag *tags, size_t n_tags, const struct store_verdict *verdicts,
                     size_t n_verdicts, unsigned flags);
/* Records a failed scan of one repository: status "error", the message and checked_at;
 * every other field keeps its last good value. -ENOENT as above. */
int store_put_error(struct store *s, const char *repository, const char *message, time_t checked_at);

/* Currently listed repositories with their records, in allow-list order or by name. */
enum store_order {
        STORE_ORDER_ALLOWLIST,
        STORE_ORDER_NAME,
};
int store_list_records(struct store *s, enum store_order order, struct store_record **ret, size_t *ret_n);
/* One listed repository's record; -ENOENT when it is not allow-listed now. */
int store_get_record(struct store *s, const char *repository, struct store_record *ret);
/* The repository's verdicts, by tag. */
int store_get_verdicts(struct store *s, const char *repository, struct store_verdict **ret, size_t *ret_n);
/* The tags seen by the last successful scan of the repository, with their known digests. */
int store_get_tags(struct store *s, const char *repository, struct store_tag **ret, size_t *ret_n);

/* Content-addressed and immutable: a second put of a digest is a no-op. get returns 1 and
 * fills the outputs when known, 0 when not. */
int store_put_manifest(struct store *s, const char *digest, const char *media_type, const void *body,
                       size_t len, time_t now);
int store_get_manifest(struct store *s, const char *digest, char **ret_media_type, void **ret_body,
                       size_t *ret_len);
int store_put_config(struct store *s, const char *digest, const struct store_config *config, time_t now);
int store_get_config(struct store *s, const char *digest, struct store_config *ret);

int store_scan_begin(struct store *s, time_t started_at, int64_t *ret_id);
int store_scan_finish(struct store *s, int64_t id, time_t finished_at, unsigned repositories,
                      unsigned updates, unsigned errors, unsigned requests);
/* The last finished scan: 1 and *ret filled, or 0 when none finished yet. */
int store_last_scan(struct store *s, struct store_scan *ret);

/* The installed-extension inventory. Maps are NULL-terminated strvs of pairs:
 * { repository, version, repository, version, …, NULL }. A version is stored as
 * select_installed_normalize() gives it; one that is not a version is refused with -EINVAL
 * (replace then changes nothing). */
int store_installed_replace(struct store *s, char *const *pairs, time_t now);
int store_installed_set(struct store *s, const char *repository, const char *version, time_t now);
/* 1 when it was there, 0 when not. */
int store_installed_remove(struct store *s, const char *repository);
/* Sorted by repository. */
int store_installed_list(struct store *s, char ***ret_pairs);

/* Notifications, once per (repository, version) ever. store_put_result decides one, in its
 * own transaction, when the result it writes makes an update available over the installed
 * version (pending); the notifier sends the pending ones and marks each sent. */
struct store_notification {
        char *repository;
        char *version;   /* the available version, latest_compatible as the registry spells it */
        char *title;     /* of that version, or NULL */
        char *installed; /* the installed version when it was decided */
};

void store_notification_array_free(struct store_notification *a, size_t n);
/* Decided and not yet sent, by repository: one scan decides in the order its repositories
 * finish, which says nothing to the reader. */
int store_notifications_pending(struct store *s, struct store_notification **ret, size_t *ret_n);
/* Records (repository, version) as sent, decided or not: 1 when this call did, 0 when it
 * was sent before. */
int store_notification_mark(struct store *s, const char *repository, const char *version, time_t now);
/* 1 when (repository, version) was sent, else 0. */
int store_notification_was_sent(struct store *s, const char *repository, const char *version);

/* The service's own state (the next scan time, the backoff…) by key: get returns 1 and *ret
 * (malloc'd) when set, 0 when not; set with value NULL forgets the key. */
int store_state_get(struct store *s, const char *key, char **ret);
int store_state_set(struct store *s, const char *key, const char *value, time_t now);

/* Gives back the page cache's unused memory (the cache itself stays at SQLite's bounded default
 * of 2 MiB), for a process that idles between scans. */
void store_release_memory(struct store *s);

/* Parses the RFC 3339 UTC text this store writes. 0, or -EINVAL. */
int store_parse_time(const char *s, time_t *ret);
