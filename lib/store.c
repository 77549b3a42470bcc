/* The scanner's persistent state: one SQLite database (WAL) with a forward-migrated schema. */
#include "store.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "select.h"
#include "util.h"

/* Each step is applied in its own transaction together with its user_version bump, so a
 * crash leaves the database at a whole version. Never edit a step once released: append. */
static const char *const migrations[STORE_SCHEMA_VERSION] = {
        /* 1: the allow-list, one result per repository, scan summaries. */
        "CREATE TABLE repositories ("
        "  name TEXT PRIMARY KEY NOT NULL,"
        "  canonical TEXT NOT NULL,"
        "  pinned TEXT,"
        "  source TEXT,"
        "  position INTEGER NOT NULL DEFAULT 0,"
        "  first_seen TEXT NOT NULL,"
        "  last_seen TEXT NOT NULL,"
        "  still_listed INTEGER NOT NULL DEFAULT 1 CHECK (still_listed IN (0, 1)));"
        "CREATE TABLE results ("
        "  repository TEXT PRIMARY KEY NOT NULL REFERENCES repositories(name) ON DELETE CASCADE,"
        "  title TEXT, vendor TEXT, description TEXT,"
        "  latest TEXT, latest_compatible TEXT,"
        "  api_constraint TEXT, latest_api_constraint TEXT,"
        "  digest TEXT,"
        "  platforms TEXT,"
        "  status TEXT NOT NULL CHECK (status IN ('ok', 'incompatible', 'invalid', 'no_versions', 'error')),"
        "  error TEXT,"
        "  checked_at TEXT NOT NULL,"
        "  last_ok_at TEXT);"
        "CREATE TABLE scans ("
        "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
        "  started_at TEXT NOT NULL,"
        "  finished_at TEXT,"
        "  repositories INTEGER NOT NULL DEFAULT 0,"
        "  updates INTEGER NOT NULL DEFAULT 0,"
        "  errors INTEGER NOT NULL DEFAULT 0,"
        "  requests INTEGER NOT NULL DEFAULT 0);",

        /* 2: what the registries told us: tag → digest, and the immutable content by digest. */
        "CREATE TABLE tags ("
        "  repository TEXT NOT NULL REFERENCES repositories(name) ON DELETE CASCADE,"
        "  tag TEXT NOT NULL,"
        "  digest TEXT,"
        "  observed_at TEXT NOT NULL,"
        "  last_seen_scan INTEGER REFERENCES scans(id) ON DELETE SET NULL,"
        "  PRIMARY KEY (repository, tag));"
        "CREATE TABLE manifests ("
        "  digest TEXT PRIMARY KEY NOT NULL,"
        "  media_type TEXT NOT NULL,"
        "  body BLOB NOT NULL,"
        "  stored_at TEXT NOT NULL);"
        "CREATE TABLE configs ("
        "  digest TEXT PRIMARY KEY NOT NULL,"
        "  os TEXT, architecture TEXT, variant TEXT,"
        "  labels TEXT NOT NULL,"
        "  stored_at TEXT NOT NULL);",

        /* 3: per-version verdicts, so `show` can say why a version was or was not taken. */
        "CREATE TABLE verdicts ("
        "  repository TEXT NOT NULL REFERENCES repositories(name) ON DELETE CASCADE,"
        "  tag TEXT NOT NULL,"
        "  digest TEXT,"
        "  api_constraint TEXT,"
        "  compatible INTEGER NOT NULL CHECK (compatible IN (0, 1)),"
        "  reason TEXT,"
        "  scan_id INTEGER REFERENCES scans(id) ON DELETE SET NULL,"
        "  PRIMARY KEY (repository, tag));",

        /* 4: the installed inventory and the notifications already sent. Neither references
         * repositories: both outlive a repository's removal from the allow-list. */
        "CREATE TABLE installed ("
        "  repository TEXT PRIMARY KEY NOT NULL,"
        "  version TEXT NOT NULL,"
        "  updated_at TEXT NOT NULL);"
        "CREATE TABLE notifications ("
        "  repository TEXT NOT NULL,"
        "  version TEXT NOT NULL,"
        "  sent_at TEXT NOT NULL,"
        "  PRIMARY KEY (repository, version));",

        /* 5: when a tag's digest was last confirmed by the registry, so a scan can trust a
         * recent one without asking and re-check an old one. NULL: never confirmed here. */
        "ALTER TABLE tags ADD COLUMN verified_at TEXT;",

        /* 6: the service's own state that must survive a restart (when the next scan is due, the
         * offline backoff), as keys and text values. */
        "CREATE TABLE service_state ("
        "  key TEXT PRIMARY KEY NOT NULL,"
        "  value TEXT NOT NULL,"
        "  updated_at TEXT NOT NULL);",

        /* 7: a notification is decided with the result that makes the update available and
         * sent later, so the row holds its text and a pending state (sent_at NULL). Rows of
         * earlier versions were recorded when sent. */
        "CREATE TABLE notifications_7 ("
        "  repository TEXT NOT NULL,"
        "  version TEXT NOT NULL,"
        "  title TEXT,"
        "  installed TEXT,"
        "  decided_at TEXT NOT NULL,"
        "  sent_at TEXT,"
        "  PRIMARY KEY (repository, version));"
        "INSERT INTO notifications_7 (repository, version, decided_at, sent_at)"
        "  SELECT repository, version, sent_at, sent_at FROM notifications;"
        "DROP TABLE notifications;"
        "ALTER TABLE notifications_7 RENAME TO notifications;"
        "CREATE INDEX notifications_pending ON notifications (repository, version) WHERE sent_at IS NULL;",
};

enum stmt_id {
        STMT_BEGIN,
        STMT_COMMIT,
        STMT_ROLLBACK,
        STMT_USER_VERSION,
        STMT_UNLIST_ALL,
        STMT_LIST_REPOSITORY,
        STMT_REPOSITORY_EXISTS,
        STMT_RESULT_UPSERT,
        STMT_RESULT_ERROR,
        STMT_TAG_UPSERT,
        STMT_TAG_NAMES,
        STMT_TAG_DELETE,
        STMT_TAGS_GET,
        STMT_VERDICTS_CLEAR,
        STMT_VERDICT_UPSERT,
        STMT_VERDICTS_PRUNE,
        STMT_VERDICTS_GET,
        STMT_RECORDS_BY_POSITION,
        STMT_RECORDS_BY_NAME,
        STMT_RECORD_GET,
        STMT_MANIFEST_PUT,
        STMT_MANIFEST_GET,
        STMT_CONFIG_PUT,
        STMT_CONFIG_GET,
        STMT_SCAN_BEGIN,
        STMT_SCAN_FINISH,
        STMT_SCAN_LAST,
        STMT_INSTALLED_CLEAR,
        STMT_INSTALLED_SET,
        STMT_INSTALLED_REMOVE,
        STMT_INSTALLED_LIST,
        STMT_INSTALLED_GET,
        STMT_NOTIFICATION_DECIDE,
        STMT_NOTIFICATION_MARK,
        STMT_NOTIFICATION_GET,
        STMT_NOTIFICATIONS_PENDING,
        STMT_STATE_GET,
        STMT_STATE_SET,
        STMT_STATE_DELETE,
        _STMT_MAX,
};

#define RECORD_COLUMNS                                                                             \
        "SELECT r.name, res.title, res.vendor, res.description, r.pinned, i.version, res.latest,"  \
        " res.latest_compatible, res.api_constraint, res.latest_api_constraint, res.digest,"      \
        " res.platforms, res.status, res.error, res.checked_at, res.last_ok_at"                   \
        " FROM repositories r"                                                                     \
        " LEFT JOIN results res ON res.repository = r.name"                                        \
        " LEFT JOIN installed i ON i.repository = r.name"                                          \
        " WHERE r.still_listed = 1"

static const char *const stmt_sql[_STMT_MAX] = {
        [STMT_BEGIN] = "BEGIN IMMEDIATE",
        [STMT_COMMIT] = "COMMIT",
        [STMT_ROLLBACK] = "ROLLBACK",
        [STMT_USER_VERSION] = "PRAGMA user_version",
        [STMT_UNLIST_ALL] = "UPDATE repositories SET still_listed = 0 WHERE still_listed = 1",
        /* The WHERE keeps the first position of a name the allow-list repeats. */
        [STMT_LIST_REPOSITORY] =
                "INSERT INTO repositories (name, canonical, pinned, source, position, first_seen,"
                " last_seen, still_listed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, 1)"
                " ON CONFLICT (name) DO UPDATE SET canonical = excluded.canonical,"
                " pinned = excluded.pinned, source = excluded.source, position = excluded.position,"
                " last_seen = excluded.last_seen, still_listed = 1 WHERE still_listed = 0",
        [STMT_REPOSITORY_EXISTS] = "SELECT 1 FROM repositories WHERE name = ?1",
        [STMT_RESULT_UPSERT] =
                "INSERT INTO results (repository, title, vendor, description, latest,"
                " latest_compatible, api_constraint, latest_api_constraint, digest, platforms,"
                " status, error, checked_at, last_ok_at)"
                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, NULL, ?12, ?12)"
                " ON CONFLICT (repository) DO UPDATE SET title = excluded.title,"
                " vendor = excluded.vendor, description = excluded.description,"
                " latest = excluded.latest, latest_compatible = excluded.latest_compatible,"
                " api_constraint = excluded.api_constraint,"
                " latest_api_constraint = excluded.latest_api_constraint,"
                " digest = excluded.digest, platforms = excluded.platforms,"
                " status = excluded.status, error = NULL, checked_at = excluded.checked_at,"
                " last_ok_at = excluded.last_ok_at",
        [STMT_RESULT_ERROR] =
                "INSERT INTO results (repository, status, error, checked_at)"
                " VALUES (?1, 'error', ?2, ?3)"
                " ON CONFLICT (repository) DO UPDATE SET status = 'error', error = excluded.error,"
                " checked_at = excluded.checked_at",
        /* observed_at is when this tag was first seen pointing at its current digest. */
        [STMT_TAG_UPSERT] =
                "INSERT INTO tags (repository, tag, digest, observed_at, last_seen_scan, verified_at)"
                " VALUES (?1, ?2, ?3, ?4, ?5, CASE WHEN ?3 IS NOT NULL THEN ?4 END)"
                " ON CONFLICT (repository, tag) DO UPDATE SET"
                " verified_at = CASE WHEN excluded.digest IS NOT NULL THEN excluded.observed_at"
                " ELSE tags.verified_at END,"
                " observed_at = CASE WHEN excluded.digest IS NOT NULL AND excluded.digest IS NOT tags.digest"
                " THEN excluded.observed_at ELSE tags.observed_at END,"
                " digest = coalesce(excluded.digest, tags.digest),"
                " last_seen_scan = excluded.last_seen_scan",
        [STMT_TAG_NAMES] = "SELECT tag FROM tags WHERE repository = ?1",
        [STMT_TAG_DELETE] = "DELETE FROM tags WHERE repository = ?1 AND tag = ?2",
        [STMT_TAGS_GET] = "SELECT tag, digest, verified_at FROM tags WHERE repository = ?1 ORDER BY tag",
        [STMT_VERDICTS_CLEAR] = "DELETE FROM verdicts WHERE repository = ?1",
        [STMT_VERDICT_UPSERT] =
                "INSERT INTO verdicts (repository, tag, digest, api_constraint, compatible, reason,"
                " scan_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                " ON CONFLICT (repository, tag) DO UPDATE SET digest = excluded.digest,"
                " api_constraint = excluded.api_constraint, compatible = excluded.compatible,"
                " reason = excluded.reason, scan_id = excluded.scan_id",
        [STMT_VERDICTS_PRUNE] =
                "DELETE FROM verdicts WHERE repository = ?1"
                " AND tag NOT IN (SELECT tag FROM tags WHERE repository = ?1)",
        [STMT_VERDICTS_GET] =
                "SELECT tag, digest, api_constraint, compatible, reason, scan_id FROM verdicts"
                " WHERE repository = ?1 ORDER BY tag",
        [STMT_RECORDS_BY_POSITION] = RECORD_COLUMNS " ORDER BY r.position, r.name",
        [STMT_RECORDS_BY_NAME] = RECORD_COLUMNS " ORDER BY r.name",
        [STMT_RECORD_GET] = RECORD_COLUMNS " AND r.name = ?1",
        [STMT_MANIFEST_PUT] =
                "INSERT OR IGNORE INTO manifests (digest, media_type, body, stored_at)"
                " VALUES (?1, ?2, ?3, ?4)",
        [STMT_MANIFEST_GET] = "SELECT media_type, body FROM manifests WHERE digest = ?1",
        [STMT_CONFIG_PUT] =
                "INSERT OR IGNORE INTO configs (digest, os, architecture, variant, labels, stored_at)"
                " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        [STMT_CONFIG_GET] = "SELECT os, architecture, variant, labels FROM configs WHERE digest = ?1",
        [STMT_SCAN_BEGIN] = "INSERT INTO scans (started_at) VALUES (?1)",
        [STMT_SCAN_FINISH] =
                "UPDATE scans SET finished_at = ?2, repositories = ?3, updates = ?4, errors = ?5,"
                " requests = ?6 WHERE id = ?1",
        [STMT_SCAN_LAST] =
                "SELECT id, started_at, finished_at, repositories, updates, errors, requests"
                " FROM scans WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1",
        [STMT_INSTALLED_CLEAR] = "DELETE FROM installed",
        [STMT_INSTALLED_SET] =
                "INSERT INTO installed (repository, version, updated_at) VALUES (?1, ?2, ?3)"
                " ON CONFLICT (repository) DO UPDATE SET version = excluded.version,"
                " updated_at = excluded.updated_at",
        [STMT_INSTALLED_REMOVE] = "DELETE FROM installed WHERE repository = ?1",
        [STMT_INSTALLED_LIST] = "SELECT repository, version FROM installed ORDER BY repository",
        [STMT_INSTALLED_GET] = "SELECT version FROM installed WHERE repository = ?1",
        [STMT_NOTIFICATION_DECIDE] =
                "INSERT OR IGNORE INTO notifications (repository, version, title, installed, decided_at)"
                " VALUES (?1, ?2, ?3, ?4, ?5)",
        [STMT_NOTIFICATION_MARK] =
                "INSERT INTO notifications (repository, version, decided_at, sent_at) VALUES (?1, ?2, ?3, ?3)"
                " ON CONFLICT (repository, version) DO UPDATE SET sent_at = excluded.sent_at"
                " WHERE sent_at IS NULL",
        [STMT_NOTIFICATION_GET] =
                "SELECT 1 FROM notifications WHERE repository = ?1 AND version = ?2 AND sent_at IS NOT NULL",
        [STMT_NOTIFICATIONS_PENDING] =
                "SELECT repository, version, title, installed FROM notifications WHERE sent_at IS NULL"
                " ORDER BY repository, version",
        [STMT_STATE_GET] = "SELECT value FROM service_state WHERE key = ?1",
        [STMT_STATE_SET] =
                "INSERT INTO service_state (key, value, updated_at) VALUES (?1, ?2, ?3)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        [STMT_STATE_DELETE] = "DELETE FROM service_state WHERE key = ?1",
};

/* Columns of RECORD_COLUMNS. */
enum {
        COL_NAME,
        COL_TITLE,
        COL_VENDOR,
        COL_DESCRIPTION,
        COL_PINNED,
        COL_INSTALLED,
        COL_LATEST,
        COL_LATEST_COMPATIBLE,
        COL_API_CONSTRAINT,
        COL_LATEST_API_CONSTRAINT,
        COL_DIGEST,
        COL_PLATFORMS,
        COL_STATUS,
        COL_ERROR,
        COL_CHECKED_AT,
        COL_LAST_OK_AT,
};

/* Our own file, but a corrupted or hand-edited one must not make us allocate without bound. */
#define STORE_LENGTH_LIMIT (16 * 1024 * 1024)
#define STORE_BUSY_TIMEOUT_MS 5000
/* SQLite's page cache per connection (its default is 2 MiB). */
#define STORE_CACHE_PRAGMA "PRAGMA cache_size = -256"

struct store {
        sqlite3 *db;
        char *path;
        char *error;
        char *write_error; /* the last write that failed, for store_last_write_error() */
        sqlite3_stmt *stmts[_STMT_MAX];
};

/* SQLite's explanation of the last failure, in the words a person acts on: SQLite says "disk I/O
 * error" when a full disk stops it creating the WAL or shared-memory file. */
static const char *reason(struct store *s) {
        int rc = sqlite3_extended_errcode(s->db) & 0xff;
        /* The system's errno only explains an I/O failure: it may be left over from an earlier one. */
        int sys = rc == SQLITE_IOERR || rc == SQLITE_CANTOPEN ? sqlite3_system_errno(s->db) : 0;
        if (rc == SQLITE_FULL || sys == ENOSPC || sys == EDQUOT)
                return "disk full";
        if (rc == SQLITE_READONLY || sys == EROFS)
                return "read-only (file system or permissions)";
        return sqlite3_errmsg(s->db);
}

static int errno_from_sqlite(int rc) {
        switch (rc & 0xff) {
        case SQLITE_OK:
        case SQLITE_ROW:
        case SQLITE_DONE:
                return 0;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_READONLY:
                return -EROFS;
        case SQLITE_PERM:
        case SQLITE_AUTH:
                return -EACCES;
        case SQLITE_CANTOPEN:
                return -ENOENT;
        case SQLITE_NOTADB:
        case SQLITE_CORRUPT:
                return -EBADMSG;
        case SQLITE_TOOBIG:
                return -EFBIG;
        case SQLITE_CONSTRAINT:
        case SQLITE_MISMATCH:
        case SQLITE_RANGE:
                return -EINVAL;
        default:
                return -EIO;
        }
}

/* A write did not reach the disk: remembered until the next successful commit. */
static void write_failed(struct store *s) {
        char *m = util_printf("%s: %s", s->path, reason(s));
        if (m) {
                free(s->write_error);
                s->write_error = m;
        }
}

/* Remembers SQLite's explanation for store_error_message() and turns rc into -errno. */
static int sql_fail(struct store *s, int rc) {
        char *m = util_printf("%s: %s", s->path, reason(s));
        if (m) {
                free(s->error);
                s->error = m;
        }
        return errno_from_sqlite(rc);
}

static int stmt_get(struct store *s, enum stmt_id id, sqlite3_stmt **ret) {
        if (!s->stmts[id]) {
                int rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                            &s->stmts[id], NULL);
                if (rc != SQLITE_OK)
                        return sql_fail(s, rc);
        }
        *ret = s->stmts[id];
        return 0;
}

/* A statement left un-reset would hold its read snapshot and keep the WAL from being
 * checkpointed, so every use ends through this. */
static void stmt_resetp(sqlite3_stmt **st) {
        if (*st) {
                sqlite3_reset(*st);
                sqlite3_clear_bindings(*st);
        }
}
#define _cleanup_stmt_ _cleanup_(stmt_resetp)

/* 1 on a row, 0 when done, or -errno. */
static int stmt_step(struct store *s, sqlite3_stmt *st) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                return 1;
        if (rc == SQLITE_DONE) {
                /* A write outside a transaction went through: writes work again. */
                if (!sqlite3_stmt_readonly(st) && sqlite3_get_autocommit(s->db)) {
                        free(s->write_error);
                        s->write_error = NULL;
                }
                return 0;
        }
        /* BEGIN and COMMIT count as read-only statements, yet are where a write fails. */
        if (!sqlite3_stmt_readonly(st) || st == s->stmts[STMT_BEGIN] || st == s->stmts[STMT_COMMIT])
                write_failed(s);
        return sql_fail(s, rc);
}

static int bind_text(struct store *s, sqlite3_stmt *st, int i, const char *v) {
        int rc = v ? sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
        return rc == SQLITE_OK ? 0 : sql_fail(s, rc);
}

static int bind_time(struct store *s, sqlite3_stmt *st, int i, time_t t) {
        char buf[21];
        util_format_time(t, buf);
        return bind_text(s, st, i, buf);
}

static int bind_int(struct store *s, sqlite3_stmt *st, int i, int64_t v) {
        int rc = sqlite3_bind_int64(st, i, v);
        return rc == SQLITE_OK ? 0 : sql_fail(s, rc);
}

/* Scan ids are positive; 0 means "not in a scan" and is stored as NULL. */
static int bind_scan_id(struct store *s, sqlite3_stmt *st, int i, int64_t id) {
        if (id <= 0) {
                int rc = sqlite3_bind_null(st, i);
                return rc == SQLITE_OK ? 0 : sql_fail(s, rc);
        }
        return bind_int(s, st, i, id);
}

/* Binds each string argument to ?1, ?2, …; NULL binds SQL NULL. */
static int bind_texts(struct store *s, sqlite3_stmt *st, size_t n, const char *const *v) {
        for (size_t i = 0; i < n; i++) {
                int r = bind_text(s, st, (int) i + 1, v[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The statement with the texts bound to ?1 … ?n; the caller holds it with _cleanup_stmt_. */
static int stmt_bind(struct store *s, enum stmt_id id, size_t n, const char *const *v, sqlite3_stmt **ret) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = stmt_get(s, id, &st);
        if (r < 0)
                return r;
        r = bind_texts(s, st, n, v);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(st);
        return 0;
}

/* Runs a statement that returns no rows; binds the given texts first. */
static int exec_texts(struct store *s, enum stmt_id id, size_t n, const char *const *v) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = stmt_bind(s, id, n, v, &st);
        if (r < 0)
                return r;
        return stmt_step(s, st);
}

/* As exec_texts, with the time t bound after the texts, to ?n+1. */
static int exec_texts_time(struct store *s, enum stmt_id id, size_t n, const char *const *v, time_t t) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = stmt_bind(s, id, n, v, &st);
        if (r < 0)
                return r;
        r = bind_time(s, st, (int) n + 1, t);
        if (r < 0)
                return r;
        return stmt_step(s, st);
}

/* A copy of a text column; *ret NULL for SQL NULL. */
static int column_strdup(sqlite3_stmt *st, int i, char **ret) {
        if (sqlite3_column_type(st, i) == SQLITE_NULL) {
                *ret = NULL;
                return 0;
        }
        /* Only a failed conversion gives NULL for a non-NULL value. */
        const unsigned char *t = sqlite3_column_text(st, i);
        if (!t)
                return -ENOMEM;
        char *c = strdup((const char *) t);
        if (!c)
                return -ENOMEM;
        *ret = c;
        return 0;
}

static void column_time(sqlite3_stmt *st, int i, char buf[static 21]) {
        const unsigned char *t = sqlite3_column_text(st, i);
        snprintf(buf, 21, "%s", t ? (const char *) t : "");
}

static int tx_begin(struct store *s) {
        return exec_texts(s, STMT_BEGIN, 0, NULL);
}

static int tx_commit(struct store *s) {
        int r = exec_texts(s, STMT_COMMIT, 0, NULL);
        if (r < 0 && !sqlite3_get_autocommit(s->db))
                (void) exec_texts(s, STMT_ROLLBACK, 0, NULL);
        if (r == 0) {
                free(s->write_error);
                s->write_error = NULL;
        }
        return r;
}

/* Keeps the first failure's message: the rollback's own outcome is not interesting. */
static void tx_rollback(struct store *s) {
        if (sqlite3_get_autocommit(s->db))
                return;
        _cleanup_free_ char *saved = TAKE_PTR(s->error);
        (void) exec_texts(s, STMT_ROLLBACK, 0, NULL);
        free(s->error);
        s->error = TAKE_PTR(saved);
}

/* Ends the transaction begun by the caller: commits when r >= 0, else rolls back. */
static int tx_end(struct store *s, int r) {
        if (r < 0) {
                tx_rollback(s);
                return r;
        }
        int k = tx_commit(s);
        return k < 0 ? k : r;
}

static void set_error(char **ret_error, char *message) {
        if (ret_error)
                *ret_error = message;
        else
                free(message);
}

static int user_version(struct store *s, int *ret) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = stmt_get(s, STMT_USER_VERSION, &st);
        if (r < 0)
                return r;
        r = stmt_step(s, st);
        if (r < 0)
                return r;
        if (r == 0)
                return -EIO;
        *ret = sqlite3_column_int(st, 0);
        return 0;
}

/* One step per transaction; another process migrating at the same time waits on the
 * IMMEDIATE lock and then finds the work done. */
static int migrate(struct store *s, unsigned target, char **ret_error) {
        /* The usual case, a database already at the target, needs no write lock: a reader must not
         * wait on (or block) a writer just to learn that. */
        int current;
        if (user_version(s, &current) == 0 && current >= 0 && (unsigned) current == target)
                return 0;
        for (;;) {
                int r = tx_begin(s);
                if (r < 0) {
                        set_error(ret_error, util_printf("%s: cannot lock the database: %s", s->path,
                                                         reason(s)));
                        return r;
                }
                int v;
                r = user_version(s, &v);
                if (r < 0) {
                        set_error(ret_error, util_printf("%s: cannot read the schema version: %s", s->path,
                                                         reason(s)));
                        tx_rollback(s);
                        return r;
                }
                if (v < 0 || v > STORE_SCHEMA_VERSION) {
                        tx_rollback(s);
                        set_error(ret_error,
                                  util_printf("%s: database schema version %d is newer than this extupdated "
                                              "understands (%d); run a newer extupdated or move the file away",
                                              s->path, v, STORE_SCHEMA_VERSION));
                        return -EPROTONOSUPPORT;
                }
                if ((unsigned) v >= target)
                        return tx_end(s, 0);

                char *msg = NULL;
                int rc = sqlite3_exec(s->db, migrations[v], NULL, NULL, &msg);
                if (rc == SQLITE_OK) {
                        _cleanup_free_ char *bump = util_printf("PRAGMA user_version = %d", v + 1);
                        rc = bump ? sqlite3_exec(s->db, bump, NULL, NULL, &msg) : SQLITE_NOMEM;
                }
                if (rc != SQLITE_OK) {
                        set_error(ret_error, util_printf("%s: migration to schema version %d failed: %s",
                                                         s->path, v + 1, msg ? msg : sqlite3_errstr(rc)));
                        sqlite3_free(msg);
                        tx_rollback(s);
                        return errno_from_sqlite(rc);
                }
                r = tx_commit(s);
                if (r < 0) {
                        set_error(ret_error, util_printf("%s: migration to schema version %d failed: %s",
                                                         s->path, v + 1, reason(s)));
                        return r;
                }
        }
}

static int pragma(struct store *s, const char *sql, const char *expect, char **ret_error) {
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
        if (rc == SQLITE_OK) {
                rc = sqlite3_step(st);
                if (rc == SQLITE_ROW && expect) {
                        const unsigned char *got = sqlite3_column_text(st, 0);
                        if (!got || !streq((const char *) got, expect)) {
                                set_error(ret_error, util_printf("%s: \"%s\" gave \"%s\", not \"%s\"", s->path,
                                                                 sql, got ? (const char *) got : "",
                                                                 expect));
                                sqlite3_finalize(st);
                                return -EIO;
                        }
                }
                if (rc == SQLITE_ROW || rc == SQLITE_DONE)
                        rc = SQLITE_OK;
        }
        if (rc != SQLITE_OK)
                set_error(ret_error, util_printf("%s: %s: %s", s->path, sql, reason(s)));
        sqlite3_finalize(st);
        return errno_from_sqlite(rc);
}

int store_open_at_version(const char *dir, unsigned version, struct store **ret, char **ret_error) {
        if (!dir || !ret || version > STORE_SCHEMA_VERSION)
                return -EINVAL;

        int r = util_mkdir_parents(dir, 0700);
        if (r < 0) {
                set_error(ret_error, util_printf("%s: cannot create the state directory: %s", dir, strerror(-r)));
                return r;
        }

        _cleanup_(store_freep) struct store *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->path = util_printf("%s/state.db", dir);
        if (!s->path)
                return -ENOMEM;

        /* SQLite would create the file 0644 less the umask, and its WAL and shared-memory files
         * take the database's mode: create it 0600 first. Only a new file, or one of ours readable
         * by others, is changed. */
        int fd = open(s->path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0) {
                struct stat st;
                if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
                    (st.st_mode & 0777) != 0600)
                        (void) fchmod(fd, 0600);
                close(fd);
        }
        int rc = sqlite3_open_v2(s->path, &s->db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW, NULL);
        if (rc != SQLITE_OK) {
                set_error(ret_error, util_printf("%s: cannot open: %s", s->path,
                                                 s->db ? reason(s) : sqlite3_errstr(rc)));
                return errno_from_sqlite(rc);
        }
        sqlite3_extended_result_codes(s->db, 1);
        sqlite3_limit(s->db, SQLITE_LIMIT_LENGTH, STORE_LENGTH_LIMIT);
        sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);

        /* Read before anything could write: a file that is not a database must be refused
         * untouched, never turned into one. */
        rc = sqlite3_exec(s->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
                r = errno_from_sqlite(rc);
                if (r == -EBADMSG)
                        set_error(ret_error,
                                  util_printf("%s: not a usable SQLite database (%s); refusing to touch it: "
                                              "move it away to start with an empty state",
                                              s->path, reason(s)));
                else
                        set_error(ret_error, util_printf("%s: cannot read: %s", s->path, reason(s)));
                return r;
        }

        r = pragma(s, "PRAGMA journal_mode = WAL", "wal", ret_error);
        if (r < 0)
                return r;
        r = pragma(s, "PRAGMA synchronous = NORMAL", NULL, ret_error);
        if (r < 0)
                return r;
        r = pragma(s, "PRAGMA foreign_keys = ON", NULL, ret_error);
        if (r < 0)
                return r;
        /* SQLite's default page cache (2 MiB) was the largest thing a scan held; lookups by key need
         * the interior pages only, and the kernel's page cache has the rest. */
        r = pragma(s, STORE_CACHE_PRAGMA, NULL, ret_error);
        if (r < 0)
                return r;

        r = migrate(s, version, ret_error);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(s);
        return 0;
}

int store_open(const char *dir, struct store **ret, char **ret_error) {
        return store_open_at_version(dir, STORE_SCHEMA_VERSION, ret, ret_error);
}

void store_free(struct store *s) {
        if (!s)
                return;
        for (size_t i = 0; i < _STMT_MAX; i++)
                sqlite3_finalize(s->stmts[i]);
        sqlite3_close(s->db);
        free(s->path);
        free(s->error);
        free(s->write_error);
        free(s);
}

const char *store_path(struct store *s) {
        return s->path;
}

const char *store_error_message(struct store *s) {
        return s->error ? s->error : s->path;
}

const char *store_last_write_error(struct store *s) {
        return s->write_error;
}

void store_record_done(struct store_record *r) {
        if (!r)
                return;
        free(r->repository);
        free(r->title);
        free(r->vendor);
        free(r->description);
        free(r->pinned);
        free(r->installed);
        free(r->latest);
        free(r->latest_compatible);
        free(r->api_constraint);
        free(r->latest_api_constraint);
        free(r->digest);
        util_strv_free(r->platforms);
        free(r->status);
        free(r->error);
        free(r->checked_at);
        free(r->last_ok_at);
        *r = (struct store_record){};
}

void store_record_array_free(struct store_record *a, size_t n) {
        for (size_t i = 0; a && i < n; i++)
                store_record_done(&a[i]);
        free(a);
}

void store_tag_array_free(struct store_tag *a, size_t n) {
        for (size_t i = 0; a && i < n; i++) {
                free(a[i].tag);
                free(a[i].digest);
                free(a[i].verified_at);
        }
        free(a);
}

void store_verdict_array_free(struct store_verdict *a, size_t n) {
        for (size_t i = 0; a && i < n; i++) {
                free(a[i].tag);
                free(a[i].digest);
                free(a[i].api_constraint);
                free(a[i].reason);
        }
        free(a);
}

void store_config_done(struct store_config *c) {
        if (!c)
                return;
        free(c->os);
        free(c->architecture);
        free(c->variant);
        free(c->labels);
        *c = (struct store_config){};
}

/* Grows *a (of *cap elements of size sz) so that index n fits. */
static int grow(void *a, size_t *cap, size_t n, size_t sz) {
        if (n < *cap)
                return 0;
        size_t c = *cap ? *cap * 2 : 16;
        void *na = reallocarray(*(void **) a, c, sz);
        if (!na)
                return -ENOMEM;
        *(void **) a = na;
        *cap = c;
        return 0;
}

/* Reads every row of st into a new array of elements of sz bytes, each zeroed and then filled
 * by fill. On failure the caller frees the *n elements of *a read so far. */
static int rows_read(struct store *s, sqlite3_stmt *st, size_t sz, int (*fill)(sqlite3_stmt *st, void *e), void **a,
                     size_t *n) {
        size_t cap = 0;
        int r;
        while ((r = stmt_step(s, st)) > 0) {
                r = grow(a, &cap, *n, sz);
                if (r < 0)
                        return r;
                void *e = (char *) *a + *n * sz;
                memset(e, 0, sz);
                (*n)++;
                r = fill(st, e);
                if (r < 0)
                        return r;
        }
        return r;
}

int store_set_repositories(struct store *s, const struct store_repository *repos, size_t n, time_t now) {
        if (!s || (n > 0 && !repos))
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (!repos[i].name || !repos[i].canonical)
                        return -EINVAL;

        int r = tx_begin(s);
        if (r < 0)
                return r;
        r = exec_texts(s, STMT_UNLIST_ALL, 0, NULL);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_stmt_ sqlite3_stmt *st = NULL;
                const char *texts[] = { repos[i].name, repos[i].canonical, repos[i].pinned, repos[i].source };
                r = stmt_bind(s, STMT_LIST_REPOSITORY, ELEMENTSOF(texts), texts, &st);
                if (r >= 0)
                        r = bind_int(s, st, 5, (int64_t) i);
                if (r >= 0)
                        r = bind_time(s, st, 6, now);
                if (r >= 0)
                        r = stmt_step(s, st);
        }
        return tx_end(s, r < 0 ? r : 0);
}

static int repository_exists(struct store *s, const char *repository) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = stmt_bind(s, STMT_REPOSITORY_EXISTS, 1, &repository, &st);
        if (r < 0)
                return r;
        return stmt_step(s, st);
}

static bool status_valid(const char *status) {
        static const char *const known[] = { "ok", "incompatible", "invalid", "no_versions", "error" };
        if (!status)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(known); i++)
                if (streq(status, known[i]))
                        return true;
        return false;
}

static int platforms_to_json(char *const *platforms, char **ret) {
        if (!platforms) {
                *ret = NULL;
                return 0;
        }
        cJSON *a = cJSON_CreateArray();
        if (!a)
                return -ENOMEM;
        for (char *const *p = platforms; *p; p++) {
                cJSON *item = cJSON_CreateString(*p);
                if (!item || !cJSON_AddItemToArray(a, item)) {
                        cJSON_Delete(item);
                        cJSON_Delete(a);
                        return -ENOMEM;
                }
        }
        char *text = cJSON_PrintUnformatted(a);
        cJSON_Delete(a);
        if (!text)
                return -ENOMEM;
        *ret = text;
        return 0;
}

/* A column that does not hold an array of strings (a hand-edited file) reads as NULL. */
static int platforms_from_json(const char *text, char ***ret) {
        *ret = NULL;
        if (!text)
                return 0;
        cJSON *a = cJSON_Parse(text);
        if (!a)
                return 0;
        _cleanup_strv_free_ char **l = NULL;
        int r = 0;
        bool valid = cJSON_IsArray(a);
        cJSON *item;
        cJSON_ArrayForEach(item, a) {
                if (!valid || !cJSON_IsString(item)) {
                        valid = false;
                        break;
                }
                r = util_strv_push(&l, item->valuestring);
                if (r < 0)
                        break;
        }
        cJSON_Delete(a);
        if (r < 0)
                return r;
        if (valid && !l) {
                l = calloc(1, sizeof(char *));
                if (!l)
                        return -ENOMEM;
        }
        if (valid)
                *ret = TAKE_PTR(l);
        return 0;
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* Forgets the tags the registry no longer lists. */
static int tags_prune(struct store *s, const char *repository, const struct store_tag *tags, size_t n_tags) {
        _cleanup_free_ const char **keep = NULL;
        if (n_tags > 0) {
                keep = calloc(n_tags, sizeof(char *));
                if (!keep)
                        return -ENOMEM;
                for (size_t i = 0; i < n_tags; i++)
                        keep[i] = tags[i].tag;
                qsort(keep, n_tags, sizeof(char *), compare_strings);
        }

        _cleanup_strv_free_ char **gone = NULL;
        {
                _cleanup_stmt_ sqlite3_stmt *st = NULL;
                int r = stmt_bind(s, STMT_TAG_NAMES, 1, &repository, &st);
                if (r < 0)
                        return r;
                while ((r = stmt_step(s, st)) > 0) {
                        const char *tag = (const char *) sqlite3_column_text(st, 0);
                        if (!tag)
                                continue;
                        if (keep && bsearch(&tag, keep, n_tags, sizeof(char *), compare_strings))
                                continue;
                        int k = util_strv_push(&gone, tag);
                        if (k < 0)
                                return k;
                }
                if (r < 0)
                        return r;
        }
        for (char **g = gone; g && *g; g++) {
                const char *texts[] = { repository, *g };
                int r = exec_texts(s, STMT_TAG_DELETE, ELEMENTSOF(texts), texts);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The result just written makes an update available: record, in the same transaction, that
 * the user is to hear of it, once per (repository, version) ever. The title and installed
 * version are kept for the text, which may be sent long after. */
static int notification_decide(struct store *s, const struct store_record *rec, time_t now) {
        if (!rec->latest_compatible)
                return 0;
        _cleanup_free_ char *installed = NULL;
        {
                _cleanup_stmt_ sqlite3_stmt *st = NULL;
                int r = stmt_bind(s, STMT_INSTALLED_GET, 1, (const char *const[]){ rec->repository }, &st);
                if (r >= 0)
                        r = stmt_step(s, st);
                if (r <= 0)
                        return r;
                r = column_strdup(st, 0, &installed);
                if (r < 0)
                        return r;
        }
        if (!select_is_update(installed, rec->latest_compatible))
                return 0;
        const char *texts[] = { rec->repository, rec->latest_compatible, rec->title, installed };
        return exec_texts_time(s, STMT_NOTIFICATION_DECIDE, ELEMENTSOF(texts), texts, now);
}

static int put_result_locked(struct store *s, const struct store_record *rec, time_t checked_at, int64_t scan_id,
                             const struct store_tag *tags, size_t n_tags, const struct store_verdict *verdicts,
                             size_t n_verdicts, unsigned flags) {
        int r = repository_exists(s, rec->repository);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENOENT;

        _cleanup_free_ char *platforms = NULL;
        r = platforms_to_json(rec->platforms, &platforms);
        if (r < 0)
                return r;
        const char *result[] = {
                rec->repository, rec->title, rec->vendor, rec->description, rec->latest,
                rec->latest_compatible, rec->api_constraint, rec->latest_api_constraint, rec->digest,
                platforms, rec->status,
        };
        r = exec_texts_time(s, STMT_RESULT_UPSERT, ELEMENTSOF(result), result, checked_at);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n_tags; i++) {
                _cleanup_stmt_ sqlite3_stmt *st = NULL;
                const char *texts[] = { rec->repository, tags[i].tag, tags[i].digest };
                r = stmt_bind(s, STMT_TAG_UPSERT, ELEMENTSOF(texts), texts, &st);
                if (r >= 0)
                        r = bind_time(s, st, 4, checked_at);
                if (r >= 0)
                        r = bind_scan_id(s, st, 5, scan_id);
                if (r >= 0)
                        r = stmt_step(s, st);
                if (r < 0)
                        return r;
        }
        r = tags_prune(s, rec->repository, tags, n_tags);
        if (r < 0)
                return r;

        if (flags & STORE_PUT_REPLACE_VERDICTS) {
                const char *texts[] = { rec->repository };
                r = exec_texts(s, STMT_VERDICTS_CLEAR, ELEMENTSOF(texts), texts);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n_verdicts; i++) {
                _cleanup_stmt_ sqlite3_stmt *st = NULL;
                const char *texts[] = { rec->repository, verdicts[i].tag, verdicts[i].digest,
                                        verdicts[i].api_constraint };
                r = stmt_bind(s, STMT_VERDICT_UPSERT, ELEMENTSOF(texts), texts, &st);
                if (r >= 0)
                        r = bind_int(s, st, 5, verdicts[i].compatible);
                if (r >= 0)
                        r = bind_text(s, st, 6, verdicts[i].reason);
                if (r >= 0)
                        r = bind_scan_id(s, st, 7, verdicts[i].scan_id > 0 ? verdicts[i].scan_id : scan_id);
                if (r >= 0)
                        r = stmt_step(s, st);
                if (r < 0)
                        return r;
        }
        const char *texts[] = { rec->repository };
        r = exec_texts(s, STMT_VERDICTS_PRUNE, ELEMENTSOF(texts), texts);
        if (r < 0)
                return r;
        return notification_decide(s, rec, checked_at);
}

int store_put_result(struct store *s, const struct store_record *record, time_t checked_at, int64_t scan_id,
                     const struct store_tag *tags, size_t n_tags, const struct store_verdict *verdicts,
                     size_t n_verdicts, unsigned flags) {
        if (!s || !record || !record->repository || !status_valid(record->status) ||
            streq(record->status, "error") || (n_tags > 0 && !tags) || (n_verdicts > 0 && !verdicts) ||
            (flags & ~(unsigned) STORE_PUT_REPLACE_VERDICTS))
                return -EINVAL;
        for (size_t i = 0; i < n_tags; i++)
                if (!tags[i].tag)
                        return -EINVAL;
        for (size_t i = 0; i < n_verdicts; i++)
                if (!verdicts[i].tag)
                        return -EINVAL;

        int r = tx_begin(s);
        if (r < 0)
                return r;
        return tx_end(s, put_result_locked(s, record, checked_at, scan_id, tags, n_tags, verdicts, n_verdicts,
                                           flags));
}

int store_put_error(struct store *s, const char *repository, const char *message, time_t checked_at) {
        if (!s || !repository || !message)
                return -EINVAL;
        int r = tx_begin(s);
        if (r < 0)
                return r;
        r = repository_exists(s, repository);
        if (r == 0)
                r = -ENOENT;
        if (r > 0) {
                const char *texts[] = { repository, message };
                r = exec_texts_time(s, STMT_RESULT_ERROR, ELEMENTSOF(texts), texts, checked_at);
        }
        return tx_end(s, r < 0 ? r : 0);
}

/* Fills a struct store_record, written only on success; a rows_read fill. */
static int record_from_row(sqlite3_stmt *st, void *ret) {
        _cleanup_(store_record_done) struct store_record rec = {};
        struct {
                int col;
                char **dst;
        } texts[] = {
                { COL_NAME, &rec.repository },
                { COL_TITLE, &rec.title },
                { COL_VENDOR, &rec.vendor },
                { COL_DESCRIPTION, &rec.description },
                { COL_PINNED, &rec.pinned },
                { COL_INSTALLED, &rec.installed },
                { COL_LATEST, &rec.latest },
                { COL_LATEST_COMPATIBLE, &rec.latest_compatible },
                { COL_API_CONSTRAINT, &rec.api_constraint },
                { COL_LATEST_API_CONSTRAINT, &rec.latest_api_constraint },
                { COL_DIGEST, &rec.digest },
                { COL_STATUS, &rec.status },
                { COL_ERROR, &rec.error },
                { COL_CHECKED_AT, &rec.checked_at },
                { COL_LAST_OK_AT, &rec.last_ok_at },
        };
        for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
                int r = column_strdup(st, texts[i].col, texts[i].dst);
                if (r < 0)
                        return r;
        }
        int r = platforms_from_json((const char *) sqlite3_column_text(st, COL_PLATFORMS), &rec.platforms);
        if (r < 0)
                return r;
        rec.update_available = select_is_update(rec.installed, rec.latest_compatible);
        *(struct store_record *) ret = rec;
        rec = (struct store_record){};
        return 0;
}

int store_list_records(struct store *s, enum store_order order, struct store_record **ret, size_t *ret_n) {
        if (!s || !ret || !ret_n || (order != STORE_ORDER_ALLOWLIST && order != STORE_ORDER_NAME))
                return -EINVAL;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = stmt_get(s, order == STORE_ORDER_NAME ? STMT_RECORDS_BY_NAME : STMT_RECORDS_BY_POSITION, &st);
        if (r < 0)
                return r;
        struct store_record *a = NULL;
        size_t n = 0;
        r = rows_read(s, st, sizeof(*a), record_from_row, (void **) &a, &n);
        if (r < 0) {
                store_record_array_free(a, n);
                return r;
        }
        *ret = a;
        *ret_n = n;
        return 0;
}

int store_get_record(struct store *s, const char *repository, struct store_record *ret) {
        if (!s || !repository || !ret)
                return -EINVAL;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = stmt_bind(s, STMT_RECORD_GET, 1, &repository, &st);
        if (r < 0)
                return r;
        r = stmt_step(s, st);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENOENT;
        return record_from_row(st, ret);
}

static int verdict_from_row(sqlite3_stmt *st, void *e) {
        struct store_verdict *v = e;
        int r = column_strdup(st, 0, &v->tag);
        if (r >= 0)
                r = column_strdup(st, 1, &v->digest);
        if (r >= 0)
                r = column_strdup(st, 2, &v->api_constraint);
        if (r >= 0)
                r = column_strdup(st, 4, &v->reason);
        if (r < 0)
                return r;
        v->compatible = sqlite3_column_int(st, 3) != 0;
        v->scan_id = sqlite3_column_int64(st, 5);
        return 0;
}

int store_get_verdicts(struct store *s, const char *repository, struct store_verdict **ret, size_t *ret_n) {
        if (!s || !repository || !ret || !ret_n)
                return -EINVAL;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = stmt_bind(s, STMT_VERDICTS_GET, 1, &repository, &st);
        if (r < 0)
                return r;
        struct store_verdict *a = NULL;
        size_t n = 0;
        r = rows_read(s, st, sizeof(*a), verdict_from_row, (void **) &a, &n);
        if (r < 0) {
                store_verdict_array_free(a, n);
                return r;
        }
        *ret = a;
        *ret_n = n;
        return 0;
}

static int tag_from_row(sqlite3_stmt *st, void *e) {
        struct store_tag *t = e;
        int r = column_strdup(st, 0, &t->tag);
        if (r >= 0)
                r = column_strdup(st, 1, &t->digest);
        if (r >= 0)
                r = column_strdup(st, 2, &t->verified_at);
        return r;
}

int store_get_tags(struct store *s, const char *repository, struct store_tag **ret, size_t *ret_n) {
        if (!s || !repository || !ret || !ret_n)
                return -EINVAL;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = stmt_bind(s, STMT_TAGS_GET, 1, &repository, &st);
        if (r < 0)
                return r;
        struct store_tag *a = NULL;
        size_t n = 0;
        r = rows_read(s, st, sizeof(*a), tag_from_row, (void **) &a, &n);
        if (r < 0) {
                store_tag_array_free(a, n);
                return r;
        }
        *ret = a;
        *ret_n = n;
        return 0;
}

int store_put_manifest(struct store *s, const char *digest, const char *media_type, const void *body,
                       size_t len, time_t now) {
        if (!s || !digest || !media_type || (len > 0 && !body))
                return -EINVAL;
        if (len > STORE_BLOB_MAX)
                return -EFBIG;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        const char *texts[] = { digest, media_type };
        int r = stmt_bind(s, STMT_MANIFEST_PUT, ELEMENTSOF(texts), texts, &st);
        if (r < 0)
                return r;
        /* A zero-length blob must still be a blob, not NULL, for the NOT NULL column. */
        int rc = sqlite3_bind_blob(st, 3, len > 0 ? body : "", (int) len, SQLITE_TRANSIENT);
        if (rc != SQLITE_OK)
                return sql_fail(s, rc);
        r = bind_time(s, st, 4, now);
        if (r < 0)
                return r;
        return stmt_step(s, st);
}

int store_get_manifest(struct store *s, const char *digest, char **ret_media_type, void **ret_body,
                       size_t *ret_len) {
        if (!s || !digest)
                return -EINVAL;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = stmt_bind(s, STMT_MANIFEST_GET, 1, &digest, &st);
        if (r < 0)
                return r;
        r = stmt_step(s, st);
        if (r <= 0)
                return r;

        _cleanup_free_ char *media_type = NULL;
        r = column_strdup(st, 0, &media_type);
        if (r < 0)
                return r;
        const void *blob = sqlite3_column_blob(st, 1);
        size_t len = (size_t) sqlite3_column_bytes(st, 1);
        /* NUL-terminated as well, since manifests are JSON text. */
        _cleanup_free_ char *body = malloc(len + 1);
        if (!body)
                return -ENOMEM;
        if (len > 0)
                memcpy(body, blob, len);
        body[len] = 0;

        if (ret_media_type)
                *ret_media_type = TAKE_PTR(media_type);
        if (ret_body)
                *ret_body = TAKE_PTR(body);
        if (ret_len)
                *ret_len = len;
        return 1;
}

int store_put_config(struct store *s, const char *digest, const struct store_config *config, time_t now) {
        if (!s || !digest || !config)
                return -EINVAL;
        const char *labels = config->labels ? config->labels : "{}";
        if (strlen(labels) > STORE_BLOB_MAX)
                return -EFBIG;
        const char *texts[] = { digest, config->os, config->architecture, config->variant, labels };
        return exec_texts_time(s, STMT_CONFIG_PUT, ELEMENTSOF(texts), texts, now);
}

int store_get_config(struct store *s, const char *digest, struct store_config *ret) {
        if (!s || !digest || !ret)
                return -EINVAL;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = stmt_bind(s, STMT_CONFIG_GET, 1, &digest, &st);
        if (r < 0)
                return r;
        r = stmt_step(s, st);
        if (r <= 0)
                return r;
        _cleanup_(store_config_done) struct store_config c = {};
        r = column_strdup(st, 0, &c.os);
        if (r >= 0)
                r = column_strdup(st, 1, &c.architecture);
        if (r >= 0)
                r = column_strdup(st, 2, &c.variant);
        if (r >= 0)
                r = column_strdup(st, 3, &c.labels);
        if (r < 0)
                return r;
        *ret = c;
        c = (struct store_config){};
        return 1;
}

int store_scan_begin(struct store *s, time_t started_at, int64_t *ret_id) {
        if (!s || !ret_id)
                return -EINVAL;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = stmt_get(s, STMT_SCAN_BEGIN, &st);
        if (r < 0)
                return r;
        r = bind_time(s, st, 1, started_at);
        if (r < 0)
                return r;
        r = stmt_step(s, st);
        if (r < 0)
                return r;
        *ret_id = sqlite3_last_insert_rowid(s->db);
        return 0;
}

int store_scan_finish(struct store *s, int64_t id, time_t finished_at, unsigned repositories,
                      unsigned updates, unsigned errors, unsigned requests) {
        if (!s || id <= 0)
                return -EINVAL;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = stmt_get(s, STMT_SCAN_FINISH, &st);
        if (r < 0)
                return r;
        r = bind_int(s, st, 1, id);
        if (r >= 0)
                r = bind_time(s, st, 2, finished_at);
        if (r >= 0)
                r = bind_int(s, st, 3, repositories);
        if (r >= 0)
                r = bind_int(s, st, 4, updates);
        if (r >= 0)
                r = bind_int(s, st, 5, errors);
        if (r >= 0)
                r = bind_int(s, st, 6, requests);
        if (r >= 0)
                r = stmt_step(s, st);
        if (r < 0)
                return r;
        return sqlite3_changes(s->db) > 0 ? 0 : -ENOENT;
}

int store_last_scan(struct store *s, struct store_scan *ret) {
        if (!s || !ret)
                return -EINVAL;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = stmt_get(s, STMT_SCAN_LAST, &st);
        if (r < 0)
                return r;
        r = stmt_step(s, st);
        if (r <= 0)
                return r;
        struct store_scan scan = {
                .id = sqlite3_column_int64(st, 0),
                .repositories = (unsigned) sqlite3_column_int64(st, 3),
                .updates = (unsigned) sqlite3_column_int64(st, 4),
                .errors = (unsigned) sqlite3_column_int64(st, 5),
                .requests = (unsigned) sqlite3_column_int64(st, 6),
        };
        column_time(st, 1, scan.started_at);
        column_time(st, 2, scan.finished_at);
        *ret = scan;
        return 1;
}

static int installed_set(struct store *s, const char *repository, const char *version, time_t now) {
        _cleanup_free_ char *normalized = NULL;
        int r = select_installed_normalize(version, &normalized, NULL);
        if (r < 0)
                return r;
        const char *texts[] = { repository, normalized };
        return exec_texts_time(s, STMT_INSTALLED_SET, ELEMENTSOF(texts), texts, now);
}

int store_installed_replace(struct store *s, char *const *pairs, time_t now) {
        size_t n = util_strv_length(pairs);
        if (!s || n % 2 != 0)
                return -EINVAL;
        int r = tx_begin(s);
        if (r < 0)
                return r;
        r = exec_texts(s, STMT_INSTALLED_CLEAR, 0, NULL);
        for (size_t i = 0; r >= 0 && i < n; i += 2)
                r = installed_set(s, pairs[i], pairs[i + 1], now);
        return tx_end(s, r < 0 ? r : 0);
}

int store_installed_set(struct store *s, const char *repository, const char *version, time_t now) {
        if (!s || !repository || !version)
                return -EINVAL;
        int r = installed_set(s, repository, version, now);
        return r < 0 ? r : 0;
}

int store_installed_remove(struct store *s, const char *repository) {
        if (!s || !repository)
                return -EINVAL;
        const char *texts[] = { repository };
        int r = exec_texts(s, STMT_INSTALLED_REMOVE, ELEMENTSOF(texts), texts);
        if (r < 0)
                return r;
        return sqlite3_changes(s->db) > 0;
}

int store_installed_list(struct store *s, char ***ret_pairs) {
        if (!s || !ret_pairs)
                return -EINVAL;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = stmt_get(s, STMT_INSTALLED_LIST, &st);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        while ((r = stmt_step(s, st)) > 0) {
                const char *repository = (const char *) sqlite3_column_text(st, 0);
                const char *version = (const char *) sqlite3_column_text(st, 1);
                if (!repository || !version)
                        return -ENOMEM;
                r = util_strv_push(&l, repository);
                if (r >= 0)
                        r = util_strv_push(&l, version);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        *ret_pairs = TAKE_PTR(l);
        return 0;
}

int store_notification_mark(struct store *s, const char *repository, const char *version, time_t now) {
        if (!s || !repository || !version)
                return -EINVAL;
        const char *texts[] = { repository, version };
        int r = exec_texts_time(s, STMT_NOTIFICATION_MARK, ELEMENTSOF(texts), texts, now);
        if (r < 0)
                return r;
        return sqlite3_changes(s->db) > 0;
}

void store_notification_array_free(struct store_notification *a, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(a[i].repository);
                free(a[i].version);
                free(a[i].title);
                free(a[i].installed);
        }
        free(a);
}

static int notification_from_row(sqlite3_stmt *st, void *ret) {
        struct store_notification *n = ret;
        char **dst[] = { &n->repository, &n->version, &n->title, &n->installed };
        for (size_t i = 0; i < ELEMENTSOF(dst); i++) {
                int r = column_strdup(st, (int) i, dst[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

int store_notifications_pending(struct store *s, struct store_notification **ret, size_t *ret_n) {
        if (!s || !ret || !ret_n)
                return -EINVAL;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = stmt_get(s, STMT_NOTIFICATIONS_PENDING, &st);
        if (r < 0)
                return r;
        struct store_notification *a = NULL;
        size_t n = 0;
        r = rows_read(s, st, sizeof(*a), notification_from_row, (void **) &a, &n);
        if (r < 0) {
                store_notification_array_free(a, n);
                return r;
        }
        *ret = a;
        *ret_n = n;
        return 0;
}

int store_notification_was_sent(struct store *s, const char *repository, const char *version) {
        if (!s || !repository || !version)
                return -EINVAL;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        const char *texts[] = { repository, version };
        int r = stmt_bind(s, STMT_NOTIFICATION_GET, ELEMENTSOF(texts), texts, &st);
        if (r < 0)
                return r;
        return stmt_step(s, st);
}

int store_state_get(struct store *s, const char *key, char **ret) {
        if (!s || !key || !ret)
                return -EINVAL;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        const char *texts[] = { key };
        int r = stmt_bind(s, STMT_STATE_GET, ELEMENTSOF(texts), texts, &st);
        if (r < 0)
                return r;
        r = stmt_step(s, st);
        if (r <= 0)
                return r;
        const char *v = (const char *) sqlite3_column_text(st, 0);
        char *copy = v ? strdup(v) : NULL;
        if (!copy)
                return -ENOMEM;
        *ret = copy;
        return 1;
}

int store_state_set(struct store *s, const char *key, const char *value, time_t now) {
        if (!s || !key)
                return -EINVAL;
        const char *texts[] = { key, value };
        int r = value ? exec_texts_time(s, STMT_STATE_SET, ELEMENTSOF(texts), texts, now)
                      : exec_texts(s, STMT_STATE_DELETE, 1, texts);
        return r < 0 ? r : 0;
}

void store_release_memory(struct store *s) {
        if (s)
                (void) sqlite3_db_release_memory(s->db);
}

int store_parse_time(const char *s, time_t *ret) {
        if (!s || !ret)
                return -EINVAL;
        struct tm tm = {};
        const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (!end || *end)
                return -EINVAL;
        time_t t = timegm(&tm);
        if (t == (time_t) -1)
                return -EINVAL;
        *ret = t;
        return 0;
}
