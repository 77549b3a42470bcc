/* Unit tests for lib/store: migrations, refusals, records, tags, verdicts, caches, inventory, kill -9. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store.h"
#include "util.h"
#include "check.h"

static const time_t T0 = 1795870800; /* 2026-11-28T13:00:00Z */

static char *topdir;

static char *new_dir(const char *name) {
        char *d = util_printf("%s/%s", topdir, name);
        if (!d)
                exit(EXIT_FAILURE);
        return d;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static struct store *open_ok(const char *dir) {
        struct store *s = NULL;
        _cleanup_free_ char *error = NULL;
        int r = store_open(dir, &s, &error);
        if (r < 0) {
                fprintf(stderr, "store_open(%s): %s\n", dir, error ? error : strerror(-r));
                exit(EXIT_FAILURE);
        }
        return s;
}

/* Opens the file under the store's back, as an outside observer (or an older build) would. */
static sqlite3 *raw_open(const char *dir) {
        _cleanup_free_ char *path = util_printf("%s/state.db", dir);
        sqlite3 *db = NULL;
        if (!path || sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
                fprintf(stderr, "cannot open %s\n", path ? path : dir);
                exit(EXIT_FAILURE);
        }
        sqlite3_busy_timeout(db, 5000);
        return db;
}

static void raw_exec(sqlite3 *db, const char *sql) {
        char *msg = NULL;
        if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
                fprintf(stderr, "%s: %s\n", sql, msg);
                exit(EXIT_FAILURE);
        }
}

/* The first column of the first row as text (copied), or NULL. */
static char *raw_text(sqlite3 *db, const char *sql) {
        sqlite3_stmt *st = NULL;
        char *v = NULL;
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
            sqlite3_column_text(st, 0))
                v = strdup((const char *) sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        return v;
}

static long long raw_int(sqlite3 *db, const char *sql) {
        _cleanup_free_ char *t = raw_text(db, sql);
        return t ? atoll(t) : -1;
}

static const struct store_repository repos3[] = {
        { "docker/disk-usage-extension", "docker.io/docker/disk-usage-extension", NULL, "extensions.txt:1" },
        { "ghcr.io/acme/tool", "ghcr.io/acme/tool", "v1.2.0", "extensions.txt:2" },
        { "aaa/first-by-name", "docker.io/aaa/first-by-name", NULL, "extensions.txt:3" },
};

static void test_open_fresh(void) {
        _cleanup_free_ char *dir = new_dir("fresh/nested/state");
        struct store *s = open_ok(dir);
        _cleanup_free_ char *expect_path = util_printf("%s/state.db", dir);
        CHECK_STR(store_path(s), expect_path);
        struct stat st;
        CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
        CHECK(stat(expect_path, &st) == 0 && (st.st_mode & 0777) == 0600);
        store_free(s);

        sqlite3 *db = raw_open(dir);
        CHECK_INT(raw_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
        _cleanup_free_ char *mode = raw_text(db, "PRAGMA journal_mode");
        CHECK_STR(mode, "wal");
        CHECK_INT(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                              "('repositories', 'results', 'tags', 'manifests', 'configs', 'verdicts',"
                              " 'scans', 'installed', 'notifications')"),
                  9);
        sqlite3_close(db);

        /* A second open of an up-to-date database changes nothing. */
        s = open_ok(dir);
        store_free(s);
        db = raw_open(dir);
        CHECK_INT(raw_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
        sqlite3_close(db);

        CHECK_INT(store_open(NULL, &s, NULL), -EINVAL);
        CHECK_INT(store_open_at_version(dir, STORE_SCHEMA_VERSION + 1, &s, NULL), -EINVAL);
}

/* Fills a database at schema version k with what that version can hold, then checks that
 * every later migration keeps it and that the newer tables work. */
static void test_migrations(void) {
        for (unsigned k = 0; k <= STORE_SCHEMA_VERSION; k++) {
                _cleanup_free_ char *name = util_printf("migrate-%u", k);
                _cleanup_free_ char *dir = new_dir(name);
                struct store *s = NULL;
                _cleanup_free_ char *error = NULL;
                REQUIRE_OK(store_open_at_version(dir, k, &s, &error));
                store_free(s);

                sqlite3 *db = raw_open(dir);
                CHECK_INT(raw_int(db, "PRAGMA user_version"), k);
                static const long long tables_at[] = { 0, 3, 6, 7, 9, 9, 10, 10 };
                CHECK_INT(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                                      " AND name <> 'sqlite_sequence'"),
                          tables_at[k]);
                if (k >= 1) {
                        raw_exec(db, "INSERT INTO repositories (name, canonical, position, first_seen, last_seen)"
                                     " VALUES ('old/repo', 'docker.io/old/repo', 0, '2026-01-01T00:00:00Z',"
                                     " '2026-01-01T00:00:00Z');"
                                     "INSERT INTO results (repository, title, latest_compatible, platforms,"
                                     " status, checked_at, last_ok_at) VALUES ('old/repo', 'Old', '1.0.0',"
                                     " '[\"linux/amd64\"]', 'ok', '2026-01-01T00:00:00Z',"
                                     " '2026-01-01T00:00:00Z');"
                                     "INSERT INTO scans (started_at, finished_at, repositories)"
                                     " VALUES ('2026-01-01T00:00:00Z', '2026-01-01T00:01:00Z', 1);");
                }
                if (k >= 2)
                        raw_exec(db, "INSERT INTO manifests (digest, media_type, body, stored_at)"
                                     " VALUES ('sha256:old', 'application/vnd.oci.image.index.v1+json',"
                                     " x'00ff7b7d', '2026-01-01T00:00:00Z');"
                                     "INSERT INTO tags (repository, tag, digest, observed_at)"
                                     " VALUES ('old/repo', '1.0.0', 'sha256:old', '2026-01-01T00:00:00Z');");
                if (k >= 3)
                        raw_exec(db, "INSERT INTO verdicts (repository, tag, digest, compatible, reason)"
                                     " VALUES ('old/repo', '1.0.0', 'sha256:old', 1, 'fine');");
                if (k >= 4)
                        raw_exec(db, k >= 7 ? "INSERT INTO notifications (repository, version, decided_at, sent_at)"
                                              " VALUES ('old/repo', '1.0.0', '2026-01-01T00:00:00Z',"
                                              " '2026-01-01T00:00:00Z');"
                                              "INSERT INTO installed VALUES ('old/repo', '0.9.0', '2026-01-01T00:00:00Z');"
                                            : "INSERT INTO notifications VALUES ('old/repo', '1.0.0', '2026-01-01T00:00:00Z');"
                                              "INSERT INTO installed VALUES ('old/repo', '0.9.0', '2026-01-01T00:00:00Z');");
                sqlite3_close(db);

                s = open_ok(dir);
                db = raw_open(dir);
                CHECK_INT(raw_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
                sqlite3_close(db);

                struct store_record rec = {};
                if (k >= 1) {
                        REQUIRE_OK(store_get_record(s, "old/repo", &rec));
                        CHECK_STR(rec.title, "Old");
                        CHECK_STR(rec.latest_compatible, "1.0.0");
                        CHECK(rec.platforms && util_strv_length(rec.platforms) == 1 &&
                              streq(rec.platforms[0], "linux/amd64"));
                        CHECK_STR(rec.installed, k >= 4 ? "0.9.0" : NULL);
                        store_record_done(&rec);
                        struct store_scan scan;
                        CHECK_INT(store_last_scan(s, &scan), 1);
                } else
                        CHECK_INT(store_get_record(s, "old/repo", &rec), -ENOENT);

                void *body = NULL;
                size_t len = 0;
                CHECK_INT(store_get_manifest(s, "sha256:old", NULL, &body, &len), k >= 2 ? 1 : 0);
                if (k >= 2)
                        CHECK(len == 4 && memcmp(body, "\x00\xff{}", 4) == 0);
                free(body);

                struct store_verdict *v = NULL;
                size_t nv = 0;
                REQUIRE_OK(store_get_verdicts(s, "old/repo", &v, &nv));
                CHECK_INT(nv, k >= 3 ? 1 : 0);
                store_verdict_array_free(v, nv);
                CHECK_INT(store_notification_was_sent(s, "old/repo", "1.0.0"), k >= 4 ? 1 : 0);

                /* The tables added by later steps are usable. */
                CHECK_INT(store_notification_mark(s, "new/repo", "2.0.0", T0), 1);
                REQUIRE_OK(store_set_repositories(s, repos3, 1, T0));
                struct store_record put = { .repository = (char *) repos3[0].name, .title = "T", .status = "ok" };
                struct store_tag tag = { .tag = "2.0.0", .digest = "sha256:new" };
                struct store_verdict verdict = { .tag = "2.0.0", .compatible = true, .reason = "ok" };
                REQUIRE_OK(store_put_result(s, &put, T0, 0, &tag, 1, &verdict, 1, 0));
                store_free(s);
        }
}

static void test_refusals(void) {
        /* A database from a newer build is refused and left as it is. */
        _cleanup_free_ char *dir = new_dir("newer");
        store_free(open_ok(dir));
        sqlite3 *db = raw_open(dir);
        _cleanup_free_ char *bump = util_printf("PRAGMA user_version = %d", STORE_SCHEMA_VERSION + 1);
        raw_exec(db, bump);
        sqlite3_close(db);
        struct store *s = NULL;
        _cleanup_free_ char *error = NULL;
        CHECK_INT(store_open(dir, &s, &error), -EPROTONOSUPPORT);
        CHECK(s == NULL);
        CHECK(error && strstr(error, dir) && strstr(error, "newer"));
        db = raw_open(dir);
        CHECK_INT(raw_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION + 1);
        sqlite3_close(db);

        /* A file that is not a database is named and never overwritten. */
        _cleanup_free_ char *gdir = new_dir("garbage");
        REQUIRE_OK(mkdir(gdir, 0700) < 0 ? -errno : 0);
        _cleanup_free_ char *gpath = util_printf("%s/state.db", gdir);
        char garbage[8192];
        for (size_t i = 0; i < sizeof(garbage); i++)
                garbage[i] = (char) ('a' + i % 26);
        FILE *f = fopen(gpath, "w");
        CHECK(f && fwrite(garbage, 1, sizeof(garbage), f) == sizeof(garbage));
        if (f)
                fclose(f);
        _cleanup_free_ char *gerror = NULL;
        CHECK_INT(store_open(gdir, &s, &gerror), -EBADMSG);
        CHECK(gerror && strstr(gerror, gpath));
        _cleanup_free_ char *after = NULL;
        size_t after_len = 0;
        REQUIRE_OK(util_read_file(gpath, 1 << 20, &after, &after_len));
        CHECK(after_len == sizeof(garbage) && memcmp(after, garbage, sizeof(garbage)) == 0);
        _cleanup_free_ char *wal = util_printf("%s-wal", gpath);
        CHECK(access(wal, F_OK) < 0);

        /* The state directory's place is taken by a file. */
        _cleanup_free_ char *fdir = new_dir("garbage/state.db/sub");
        _cleanup_free_ char *ferror = NULL;
        CHECK(store_open(fdir, &s, &ferror) < 0);
        CHECK(ferror && strstr(ferror, fdir));
}

static void test_results(void) {
        _cleanup_free_ char *dir = new_dir("results");
        struct store *s = open_ok(dir);
        REQUIRE_OK(store_set_repositories(s, repos3, ELEMENTSOF(repos3), T0));

        const char *name = repos3[0].name;
        struct store_record rec = {};
        REQUIRE_OK(store_get_record(s, name, &rec));
        CHECK_STR(rec.repository, name);
        CHECK_STR(rec.status, NULL);
        CHECK_STR(rec.checked_at, NULL);
        CHECK(rec.platforms == NULL);
        store_record_done(&rec);

        char *platforms[] = { "linux/amd64", "linux/arm64", NULL };
        struct store_record put = {
                .repository = (char *) name,
                .title = "Disk usage",
                .vendor = "Docker Inc.",
                .description = "Shows \"disk\" usage\n\xc3\xa9",
                .latest = "0.3.0",
                .latest_compatible = "0.2.8",
                .api_constraint = ">= 0.3.4",
                .latest_api_constraint = ">= 0.4.0",
                .digest = "sha256:aaaa",
                .platforms = platforms,
                .status = "ok",
                .installed = "ignored on write",
        };
        REQUIRE_OK(store_put_result(s, &put, T0, 0, NULL, 0, NULL, 0, 0));
        REQUIRE_OK(store_get_record(s, name, &rec));
        CHECK_STR(rec.title, "Disk usage");
        CHECK_STR(rec.vendor, "Docker Inc.");
        CHECK_STR(rec.description, put.description);
        CHECK_STR(rec.latest, "0.3.0");
        CHECK_STR(rec.latest_compatible, "0.2.8");
        CHECK_STR(rec.api_constraint, ">= 0.3.4");
        CHECK_STR(rec.latest_api_constraint, ">= 0.4.0");
        CHECK_STR(rec.digest, "sha256:aaaa");
        CHECK(rec.platforms && util_strv_length(rec.platforms) == 2 && streq(rec.platforms[0], "linux/amd64") &&
              streq(rec.platforms[1], "linux/arm64"));
        CHECK_STR(rec.status, "ok");
        CHECK_STR(rec.error, NULL);
        CHECK_STR(rec.installed, NULL);
        CHECK_STR(rec.pinned, NULL);
        CHECK_STR(rec.checked_at, "2026-11-28T13:00:00Z");
        CHECK_STR(rec.last_ok_at, "2026-11-28T13:00:00Z");
        store_record_done(&rec);

        /* An error keeps the last good values. */
        REQUIRE_OK(store_put_error(s, name, "registry-1.docker.io: 503 Service Unavailable", T0 + 60));
        REQUIRE_OK(store_get_record(s, name, &rec));
        CHECK_STR(rec.status, "error");
        CHECK_STR(rec.error, "registry-1.docker.io: 503 Service Unavailable");
        CHECK_STR(rec.checked_at, "2026-11-28T13:01:00Z");
        CHECK_STR(rec.last_ok_at, "2026-11-28T13:00:00Z");
        CHECK_STR(rec.title, "Disk usage");
        CHECK_STR(rec.latest_compatible, "0.2.8");
        CHECK_STR(rec.digest, "sha256:aaaa");
        CHECK(rec.platforms && util_strv_length(rec.platforms) == 2);
        store_record_done(&rec);

        /* The next good result replaces everything and clears the error; NULLs stay NULL. */
        struct store_record none = { .repository = (char *) name, .latest = "v9", .status = "no_versions" };
        REQUIRE_OK(store_put_result(s, &none, T0 + 120, 0, NULL, 0, NULL, 0, 0));
        REQUIRE_OK(store_get_record(s, name, &rec));
        CHECK_STR(rec.status, "no_versions");
        CHECK_STR(rec.error, NULL);
        CHECK_STR(rec.title, NULL);
        CHECK_STR(rec.latest, "v9");
        CHECK(rec.platforms == NULL);
        CHECK_STR(rec.last_ok_at, "2026-11-28T13:02:00Z");
        store_record_done(&rec);

        /* An empty platform list stays an empty list, not null. */
        char *empty[] = { NULL };
        none.platforms = empty;
        REQUIRE_OK(store_put_result(s, &none, T0 + 120, 0, NULL, 0, NULL, 0, 0));
        REQUIRE_OK(store_get_record(s, name, &rec));
        CHECK(rec.platforms && rec.platforms[0] == NULL);
        store_record_done(&rec);

        /* An error before any result: only status, error and time. */
        REQUIRE_OK(store_put_error(s, repos3[1].name, "boom", T0));
        REQUIRE_OK(store_get_record(s, repos3[1].name, &rec));
        CHECK_STR(rec.status, "error");
        CHECK_STR(rec.error, "boom");
        CHECK_STR(rec.pinned, "v1.2.0");
        CHECK_STR(rec.title, NULL);
        CHECK_STR(rec.last_ok_at, NULL);
        store_record_done(&rec);

        CHECK_INT(store_put_error(s, "not/listed", "x", T0), -ENOENT);
        struct store_record unknown = { .repository = "not/listed", .status = "ok" };
        CHECK_INT(store_put_result(s, &unknown, T0, 0, NULL, 0, NULL, 0, 0), -ENOENT);
        struct store_record bad = { .repository = (char *) name, .status = "error" };
        CHECK_INT(store_put_result(s, &bad, T0, 0, NULL, 0, NULL, 0, 0), -EINVAL);
        bad.status = "fine";
        CHECK_INT(store_put_result(s, &bad, T0, 0, NULL, 0, NULL, 0, 0), -EINVAL);
        CHECK_INT(store_get_record(s, "not/listed", &rec), -ENOENT);

        /* Survives close and reopen. */
        store_free(s);
        s = open_ok(dir);
        REQUIRE_OK(store_get_record(s, repos3[1].name, &rec));
        CHECK_STR(rec.error, "boom");
        store_record_done(&rec);
        store_free(s);
}

static void check_tags(struct store *s, const char *repo, const char *expect) {
        struct store_tag *t = NULL;
        size_t n = 0;
        REQUIRE_OK(store_get_tags(s, repo, &t, &n));
        char buf[512] = "";
        for (size_t i = 0; i < n; i++) {
                size_t l = strlen(buf);
                snprintf(buf + l, sizeof(buf) - l, "%s%s=%s", i ? " " : "", t[i].tag,
                         t[i].digest ? t[i].digest : "null");
        }
        CHECK_STR(buf, expect);
        store_tag_array_free(t, n);
}

static void check_verdicts(struct store *s, const char *repo, const char *expect) {
        struct store_verdict *v = NULL;
        size_t n = 0;
        REQUIRE_OK(store_get_verdicts(s, repo, &v, &n));
        char buf[512] = "";
        for (size_t i = 0; i < n; i++) {
                size_t l = strlen(buf);
                snprintf(buf + l, sizeof(buf) - l, "%s%s:%s:%s:%d:%s:%lld", i ? " " : "", v[i].tag,
                         v[i].digest ? v[i].digest : "null", v[i].api_constraint ? v[i].api_constraint : "null",
                         v[i].compatible, v[i].reason ? v[i].reason : "null", (long long) v[i].scan_id);
        }
        CHECK_STR(buf, expect);
        store_verdict_array_free(v, n);
}

static void test_tags_verdicts(void) {
        _cleanup_free_ char *dir = new_dir("tags");
        struct store *s = open_ok(dir);
        REQUIRE_OK(store_set_repositories(s, repos3, ELEMENTSOF(repos3), T0));
        const char *name = repos3[0].name;
        int64_t scan1, scan2;
        REQUIRE_OK(store_scan_begin(s, T0, &scan1));
        REQUIRE_OK(store_scan_begin(s, T0, &scan2));
        CHECK(scan2 > scan1 && scan1 > 0);

        struct store_record rec = { .repository = (char *) name, .status = "ok" };
        struct store_tag tags1[] = {
                { "1.0.0", "sha256:a" }, { "1.1.0", "sha256:b" }, { "v2.0.0", "sha256:c" }, { "latest", NULL },
        };
        struct store_verdict verdicts1[] = {
                { "v2.0.0", "sha256:c", ">= 9.0", false, "needs Extension API >= 9.0", 0 },
                { "1.1.0", "sha256:b", ">= 0.3", true, NULL, 0 },
        };
        REQUIRE_OK(store_put_result(s, &rec, T0, scan1, tags1, ELEMENTSOF(tags1), verdicts1, ELEMENTSOF(verdicts1),
                                    0));
        check_tags(s, name, "1.0.0=sha256:a 1.1.0=sha256:b latest=null v2.0.0=sha256:c");
        char expect1[256];
        snprintf(expect1, sizeof(expect1),
                 "1.1.0:sha256:b:>= 0.3:1:null:%lld v2.0.0:sha256:c:>= 9.0:0:needs Extension API >= 9.0:%lld",
                 (long long) scan1, (long long) scan1);
        check_verdicts(s, name, expect1);

        /* 1.0.0 vanished; 1.1.0 was not looked up (digest kept); v2.0.0 was re-pushed. The
         * verdict of a vanished tag goes with it; others not given are kept. */
        struct store_tag tags2[] = {
                { "1.1.0", NULL }, { "v2.0.0", "sha256:d" }, { "3.0.0", "sha256:e" },
        };
        struct store_verdict verdicts2[] = {
                { "v2.0.0", "sha256:d", ">= 0.1", true, NULL, 0 },
        };
        sqlite3 *db = raw_open(dir);
        raw_exec(db, "UPDATE tags SET observed_at = 'before' WHERE tag = '1.1.0'");
        sqlite3_close(db);
        REQUIRE_OK(store_put_result(s, &rec, T0 + 10, scan2, tags2, ELEMENTSOF(tags2), verdicts2,
                                    ELEMENTSOF(verdicts2), 0));
        check_tags(s, name, "1.1.0=sha256:b 3.0.0=sha256:e v2.0.0=sha256:d");
        char expect2[256];
        snprintf(expect2, sizeof(expect2), "1.1.0:sha256:b:>= 0.3:1:null:%lld v2.0.0:sha256:d:>= 0.1:1:null:%lld",
                 (long long) scan1, (long long) scan2);
        check_verdicts(s, name, expect2);
        db = raw_open(dir);
        _cleanup_free_ char *kept = raw_text(db, "SELECT observed_at FROM tags WHERE tag = '1.1.0'");
        _cleanup_free_ char *moved = raw_text(db, "SELECT observed_at FROM tags WHERE tag = 'v2.0.0'");
        long long seen = raw_int(db, "SELECT last_seen_scan FROM tags WHERE tag = '1.1.0'");
        sqlite3_close(db);
        CHECK_STR(kept, "before");
        CHECK_STR(moved, "2026-11-28T13:00:10Z");
        CHECK_INT(seen, scan2);

        /* Replacing drops the verdicts not given again. */
        REQUIRE_OK(store_put_result(s, &rec, T0 + 20, 0, tags2, ELEMENTSOF(tags2), verdicts2, ELEMENTSOF(verdicts2),
                                    STORE_PUT_REPLACE_VERDICTS));
        check_verdicts(s, name, "v2.0.0:sha256:d:>= 0.1:1:null:0");

        /* An error leaves tags and verdicts as the last good scan saw them. */
        REQUIRE_OK(store_put_error(s, name, "timeout", T0 + 30));
        check_tags(s, name, "1.1.0=sha256:b 3.0.0=sha256:e v2.0.0=sha256:d");
        check_verdicts(s, name, "v2.0.0:sha256:d:>= 0.1:1:null:0");

        /* No tags at all. */
        rec.status = "no_versions";
        REQUIRE_OK(store_put_result(s, &rec, T0 + 40, 0, NULL, 0, NULL, 0, 0));
        check_tags(s, name, "");
        check_verdicts(s, name, "");

        /* A failing statement rolls the whole result back. */
        struct store_tag bad_tags[] = { { "1.0.0", "sha256:a" }, { NULL, NULL } };
        CHECK_INT(store_put_result(s, &rec, T0, 0, bad_tags, 2, NULL, 0, 0), -EINVAL);
        rec.status = "ok";
        rec.title = "must not stay";
        CHECK(store_put_result(s, &rec, T0 + 50, 999999, tags1, 1, NULL, 0, 0) < 0);
        CHECK(strstr(store_error_message(s), "FOREIGN KEY") != NULL);
        struct store_record got = {};
        REQUIRE_OK(store_get_record(s, name, &got));
        CHECK_STR(got.title, NULL);
        CHECK_STR(got.status, "no_versions");
        store_record_done(&got);
        check_tags(s, name, "");
        store_free(s);
}

static void check_list(struct store *s, enum store_order order, const char *expect) {
        struct store_record *recs = NULL;
        size_t n = 0;
        REQUIRE_OK(store_list_records(s, order, &recs, &n));
        char buf[512] = "";
        for (size_t i = 0; i < n; i++) {
                size_t l = strlen(buf);
                snprintf(buf + l, sizeof(buf) - l, "%s%s", i ? " " : "", recs[i].repository);
        }
        CHECK_STR(buf, expect);
        store_record_array_free(recs, n);
}

static void test_repositories(void) {
        _cleanup_free_ char *dir = new_dir("repos");
        struct store *s = open_ok(dir);
        check_list(s, STORE_ORDER_ALLOWLIST, "");
        REQUIRE_OK(store_set_repositories(s, repos3, ELEMENTSOF(repos3), T0));
        check_list(s, STORE_ORDER_ALLOWLIST, "docker/disk-usage-extension ghcr.io/acme/tool aaa/first-by-name");
        check_list(s, STORE_ORDER_NAME, "aaa/first-by-name docker/disk-usage-extension ghcr.io/acme/tool");

        struct store_record rec = { .repository = "ghcr.io/acme/tool", .title = "Tool", .status = "ok" };
        REQUIRE_OK(store_put_result(s, &rec, T0, 0, NULL, 0, NULL, 0, 0));
        REQUIRE_OK(store_notification_mark(s, "ghcr.io/acme/tool", "v1.2.0", T0));

        /* Dropped from the list: hidden, but its history stays for when it comes back. */
        struct store_repository two[] = { repos3[2], repos3[0] };
        REQUIRE_OK(store_set_repositories(s, two, ELEMENTSOF(two), T0 + 100));
        check_list(s, STORE_ORDER_ALLOWLIST, "aaa/first-by-name docker/disk-usage-extension");
        struct store_record got = {};
        CHECK_INT(store_get_record(s, "ghcr.io/acme/tool", &got), -ENOENT);
        CHECK_INT(store_put_error(s, "ghcr.io/acme/tool", "still known", T0), 0);
        sqlite3 *db = raw_open(dir);
        CHECK_INT(raw_int(db, "SELECT still_listed FROM repositories WHERE name = 'ghcr.io/acme/tool'"), 0);
        _cleanup_free_ char *first = raw_text(db, "SELECT first_seen FROM repositories WHERE name = 'aaa/first-by-name'");
        _cleanup_free_ char *last = raw_text(db, "SELECT last_seen FROM repositories WHERE name = 'aaa/first-by-name'");
        _cleanup_free_ char *gone_last =
                raw_text(db, "SELECT last_seen FROM repositories WHERE name = 'ghcr.io/acme/tool'");
        sqlite3_close(db);
        CHECK_STR(first, "2026-11-28T13:00:00Z");
        CHECK_STR(last, "2026-11-28T13:01:40Z");
        CHECK_STR(gone_last, "2026-11-28T13:00:00Z");

        /* Back, now pinned differently, and a repeated name keeps its first place. */
        struct store_repository back[] = {
                { "ghcr.io/acme/tool", "ghcr.io/acme/tool", "v2.0.0", "https://example.com/list.txt" },
                repos3[2],
                { "ghcr.io/acme/tool", "ghcr.io/acme/tool", "v3.0.0", "later line" },
        };
        REQUIRE_OK(store_set_repositories(s, back, ELEMENTSOF(back), T0 + 200));
        check_list(s, STORE_ORDER_ALLOWLIST, "ghcr.io/acme/tool aaa/first-by-name");
        REQUIRE_OK(store_get_record(s, "ghcr.io/acme/tool", &got));
        CHECK_STR(got.title, "Tool");
        CHECK_STR(got.pinned, "v2.0.0");
        CHECK_STR(got.error, "still known");
        store_record_done(&got);
        CHECK_INT(store_notification_was_sent(s, "ghcr.io/acme/tool", "v1.2.0"), 1);

        struct store_repository invalid = { "x/y", NULL, NULL, NULL };
        CHECK_INT(store_set_repositories(s, &invalid, 1, T0), -EINVAL);
        check_list(s, STORE_ORDER_ALLOWLIST, "ghcr.io/acme/tool aaa/first-by-name");

        REQUIRE_OK(store_set_repositories(s, NULL, 0, T0 + 300));
        check_list(s, STORE_ORDER_NAME, "");
        store_free(s);
}

static void check_pairs(char **pairs, const char *expect) {
        char buf[512] = "";
        for (size_t i = 0; pairs && pairs[i]; i++) {
                size_t l = strlen(buf);
                snprintf(buf + l, sizeof(buf) - l, "%s%s", i ? (i % 2 ? "=" : " ") : "", pairs[i]);
        }
        CHECK_STR(buf, expect);
}

static void test_installed(void) {
        _cleanup_free_ char *dir = new_dir("installed");
        struct store *s = open_ok(dir);
        _cleanup_strv_free_ char **l = NULL;
        REQUIRE_OK(store_installed_list(s, &l));
        CHECK(l && !l[0]);
        util_strv_free(TAKE_PTR(l));

        REQUIRE_OK(store_installed_set(s, "b/one", "1.0.0", T0));
        REQUIRE_OK(store_installed_set(s, "a/two", "0.1.0", T0));
        REQUIRE_OK(store_installed_set(s, "b/one", "1.1.0", T0));
        REQUIRE_OK(store_installed_list(s, &l));
        check_pairs(l, "a/two=0.1.0 b/one=1.1.0");
        util_strv_free(TAKE_PTR(l));

        CHECK_INT(store_installed_remove(s, "a/two"), 1);
        CHECK_INT(store_installed_remove(s, "a/two"), 0);

        char *replacement[] = { "docker/disk-usage-extension", "0.2.7", "c/three", "3.0.0", NULL };
        REQUIRE_OK(store_installed_replace(s, replacement, T0));
        REQUIRE_OK(store_installed_list(s, &l));
        check_pairs(l, "c/three=3.0.0 docker/disk-usage-extension=0.2.7");
        util_strv_free(TAKE_PTR(l));

        char *odd[] = { "only/key", NULL };
        CHECK_INT(store_installed_replace(s, odd, T0), -EINVAL);
        char *missing_version[] = { "x/y", "1.0.0", "z/w", NULL, NULL };
        CHECK_INT(store_installed_replace(s, missing_version, T0), -EINVAL);
        REQUIRE_OK(store_installed_list(s, &l));
        check_pairs(l, "c/three=3.0.0 docker/disk-usage-extension=0.2.7");
        util_strv_free(TAKE_PTR(l));

        /* The record shows the inventory's version. */
        REQUIRE_OK(store_set_repositories(s, repos3, 1, T0));
        struct store_record rec = {};
        REQUIRE_OK(store_get_record(s, repos3[0].name, &rec));
        CHECK_STR(rec.installed, "0.2.7");
        store_record_done(&rec);

        REQUIRE_OK(store_installed_replace(s, NULL, T0));
        REQUIRE_OK(store_installed_list(s, &l));
        check_pairs(l, "");
        store_free(s);
}

static void test_service_state(void) {
        _cleanup_free_ char *dir = new_dir("service-state");
        struct store *s = open_ok(dir);
        _cleanup_free_ char *v = NULL;
        CHECK_INT(store_state_get(s, "next_scan_at", &v), 0);
        REQUIRE_OK(store_state_set(s, "next_scan_at", "2026-11-28T13:00:00Z", T0));
        REQUIRE_OK(store_state_set(s, "next_scan_at", "2026-11-28T19:00:00Z", T0));
        CHECK_INT(store_state_get(s, "next_scan_at", &v), 1);
        CHECK_STR(v, "2026-11-28T19:00:00Z");
        free(TAKE_PTR(v));
        store_free(s);

        /* It survives a reopen; a NULL value forgets the key. */
        s = open_ok(dir);
        CHECK_INT(store_state_get(s, "next_scan_at", &v), 1);
        CHECK_STR(v, "2026-11-28T19:00:00Z");
        free(TAKE_PTR(v));
        REQUIRE_OK(store_state_set(s, "next_scan_at", NULL, T0));
        CHECK_INT(store_state_get(s, "next_scan_at", &v), 0);
        store_free(s);
}

static void test_update_available(void) {
        _cleanup_free_ char *dir = new_dir("updates");
        struct store *s = open_ok(dir);
        REQUIRE_OK(store_set_repositories(s, repos3, 1, T0));
        const char *name = repos3[0].name;
        static const struct {
                const char *latest_compatible, *installed;
                bool expect;
        } cases[] = {
                { "0.2.8", "0.2.7", true },     { "0.2.7", "0.2.7", false },
                { "0.2.7", "0.2.8", false },    { "v1.10.0", "1.9.0", true },
                { "1.0.0", "1.0.0-rc.1", true }, { "1.0.0-rc.1", "1.0.0", false },
                { "1.0.0-rc.2", "v1.0.0-rc.1", true }, { "1.0.0+build.2", "1.0.0+build.1", false },
                { "latest", "0.1.0", false },   { NULL, "0.1.0", false },
                { "1.0.0", NULL, false },       { "v1.0.1", " 1.0.0\n", true },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct store_record put = { .repository = (char *) name,
                                            .latest_compatible = (char *) cases[i].latest_compatible,
                                            .status = "ok" };
                REQUIRE_OK(store_put_result(s, &put, T0, 0, NULL, 0, NULL, 0, 0));
                if (cases[i].installed)
                        REQUIRE_OK(store_installed_set(s, name, cases[i].installed, T0));
                else
                        REQUIRE_OK(store_installed_remove(s, name));
                struct store_record rec = {};
                REQUIRE_OK(store_get_record(s, name, &rec));
                if (rec.update_available != cases[i].expect)
                        fprintf(stderr, "case %zu: %s over %s\n", i, cases[i].latest_compatible,
                                cases[i].installed);
                CHECK_INT(rec.update_available, cases[i].expect);
                store_record_done(&rec);

                struct store_record *recs = NULL;
                size_t n = 0;
                REQUIRE_OK(store_list_records(s, STORE_ORDER_NAME, &recs, &n));
                CHECK(n == 1 && recs[0].update_available == cases[i].expect);
                store_record_array_free(recs, n);
        }
        /* The inventory holds versions only, normalised where written; a bad one changes nothing. */
        REQUIRE_OK(store_installed_set(s, name, " v1.0.0 ", T0));
        CHECK_INT(store_installed_set(s, name, "not a version", T0), -EINVAL);
        char *bad[] = { (char *) name, (char *) "2.0.0", (char *) "x/y", (char *) "1.0\xff", NULL };
        CHECK_INT(store_installed_replace(s, bad, T0), -EINVAL);
        _cleanup_strv_free_ char **pairs = NULL;
        REQUIRE_OK(store_installed_list(s, &pairs));
        CHECK(util_strv_length(pairs) == 2 && streq(pairs[0], name) && streq(pairs[1], "v1.0.0"));
        store_free(s);
}

static void test_notifications(void) {
        _cleanup_free_ char *dir = new_dir("notify");
        struct store *s = open_ok(dir);
        CHECK_INT(store_notification_was_sent(s, "a/b", "1.0.0"), 0);
        CHECK_INT(store_notification_mark(s, "a/b", "1.0.0", T0), 1);
        CHECK_INT(store_notification_mark(s, "a/b", "1.0.0", T0 + 5), 0);
        CHECK_INT(store_notification_mark(s, "a/b", "1.0.1", T0), 1);
        CHECK_INT(store_notification_mark(s, "a/c", "1.0.0", T0), 1);
        store_free(s);

        s = open_ok(dir);
        CHECK_INT(store_notification_mark(s, "a/b", "1.0.0", T0 + 10), 0);
        CHECK_INT(store_notification_was_sent(s, "a/b", "1.0.0"), 1);
        CHECK_INT(store_notification_was_sent(s, "a/b", "1.0.2"), 0);
        store_free(s);
        sqlite3 *db = raw_open(dir);
        _cleanup_free_ char *when = raw_text(db, "SELECT sent_at FROM notifications WHERE version = '1.0.0'"
                                                 " AND repository = 'a/b'");
        sqlite3_close(db);
        CHECK_STR(when, "2026-11-28T13:00:00Z");
}

static void check_pending(struct store *s, const char *expect) {
        struct store_notification *a = NULL;
        size_t n = 0;
        REQUIRE_OK(store_notifications_pending(s, &a, &n));
        _cleanup_free_ char *got = strdup("");
        for (size_t i = 0; i < n; i++) {
                char *next = util_printf("%s%s%s %s %s %s", got, i ? "; " : "", a[i].repository, a[i].version,
                                         a[i].title ? a[i].title : "-", a[i].installed ? a[i].installed : "-");
                free(got);
                got = next;
        }
        store_notification_array_free(a, n);
        CHECK_STR(got, expect);
}

/* The result that makes an update available decides its notification in the same
 * transaction; it stays pending until marked sent, and is never decided twice. */
static void test_notification_decisions(void) {
        _cleanup_free_ char *dir = new_dir("decide");
        struct store *s = open_ok(dir);
        REQUIRE_OK(store_set_repositories(s, repos3, ELEMENTSOF(repos3), T0));
        struct store_record disk = { .repository = "docker/disk-usage-extension", .title = "Disk usage",
                                     .latest_compatible = "0.2.8", .status = "ok" };
        struct store_record tool = { .repository = "ghcr.io/acme/tool", .title = "Tool",
                                     .latest_compatible = "v1.2.0", .status = "ok" };

        /* Not installed: no update, nothing to tell. */
        REQUIRE_OK(store_put_result(s, &disk, T0, 0, NULL, 0, NULL, 0, 0));
        check_pending(s, "");

        REQUIRE_OK(store_installed_set(s, "docker/disk-usage-extension", "0.2.7", T0));
        REQUIRE_OK(store_installed_set(s, "ghcr.io/acme/tool", "1.2.0", T0));
        REQUIRE_OK(store_put_result(s, &disk, T0 + 1, 0, NULL, 0, NULL, 0, 0));
        REQUIRE_OK(store_put_result(s, &tool, T0 + 1, 0, NULL, 0, NULL, 0, 0));
        check_pending(s, "docker/disk-usage-extension 0.2.8 Disk usage 0.2.7");
        CHECK_INT(store_notification_was_sent(s, "docker/disk-usage-extension", "0.2.8"), 0);

        /* A rescan of the same result decides nothing new, and a restart keeps it pending. */
        REQUIRE_OK(store_put_result(s, &disk, T0 + 2, 0, NULL, 0, NULL, 0, 0));
        store_free(s);
        s = open_ok(dir);
        check_pending(s, "docker/disk-usage-extension 0.2.8 Disk usage 0.2.7");

        CHECK_INT(store_notification_mark(s, "docker/disk-usage-extension", "0.2.8", T0 + 3), 1);
        CHECK_INT(store_notification_mark(s, "docker/disk-usage-extension", "0.2.8", T0 + 4), 0);
        CHECK_INT(store_notification_was_sent(s, "docker/disk-usage-extension", "0.2.8"), 1);
        check_pending(s, "");
        REQUIRE_OK(store_put_result(s, &disk, T0 + 5, 0, NULL, 0, NULL, 0, 0));
        check_pending(s, "");

        /* A newer version is news again; a failed write decides nothing. */
        disk.latest_compatible = "0.2.9";
        disk.title = NULL;
        struct store_tag bad = {};
        CHECK_INT(store_put_result(s, &disk, T0 + 6, 0, &bad, 1, NULL, 0, 0), -EINVAL);
        check_pending(s, "");
        struct store_verdict dup[] = { { .tag = "0.2.9" }, { .tag = NULL } };
        CHECK_INT(store_put_result(s, &disk, T0 + 6, 0, NULL, 0, dup, 2, 0), -EINVAL);
        REQUIRE_OK(store_put_result(s, &disk, T0 + 6, 0, NULL, 0, NULL, 0, 0));
        check_pending(s, "docker/disk-usage-extension 0.2.9 - 0.2.7");

        /* Pending ones come by repository, whenever each was decided. */
        REQUIRE_OK(store_installed_set(s, "aaa/first-by-name", "1.0.0", T0));
        struct store_record first = { .repository = "aaa/first-by-name", .title = "First",
                                      .latest_compatible = "1.1.0", .status = "ok" };
        REQUIRE_OK(store_put_result(s, &first, T0 + 7, 0, NULL, 0, NULL, 0, 0));
        check_pending(s, "aaa/first-by-name 1.1.0 First 1.0.0; docker/disk-usage-extension 0.2.9 - 0.2.7");
        sqlite3 *db = raw_open(dir);
        _cleanup_free_ char *decided =
                raw_text(db, "SELECT decided_at FROM notifications WHERE version = '0.2.9'");
        sqlite3_close(db);
        CHECK_STR(decided, "2026-11-28T13:00:06Z");
        store_free(s);
}

static void test_blobs(void) {
        _cleanup_free_ char *dir = new_dir("blobs");
        struct store *s = open_ok(dir);

        unsigned char body[3000];
        for (size_t i = 0; i < sizeof(body); i++)
                body[i] = (unsigned char) (i * 7);
        char digest[72];
        util_sha256_digest(body, sizeof(body), digest);
        const char *mt = "application/vnd.oci.image.manifest.v1+json";
        CHECK_INT(store_get_manifest(s, digest, NULL, NULL, NULL), 0);
        REQUIRE_OK(store_put_manifest(s, digest, mt, body, sizeof(body), T0));
        /* Immutable: a second put of the same digest does not replace it. */
        REQUIRE_OK(store_put_manifest(s, digest, "other", "x", 1, T0));
        store_free(s);
        s = open_ok(dir);

        _cleanup_free_ char *got_mt = NULL;
        _cleanup_free_ void *got = NULL;
        size_t len = 0;
        CHECK_INT(store_get_manifest(s, digest, &got_mt, &got, &len), 1);
        CHECK_STR(got_mt, mt);
        CHECK_INT(len, sizeof(body));
        CHECK(got && memcmp(got, body, sizeof(body)) == 0 && ((char *) got)[len] == 0);

        REQUIRE_OK(store_put_manifest(s, "sha256:empty", mt, NULL, 0, T0));
        _cleanup_free_ void *empty = NULL;
        CHECK_INT(store_get_manifest(s, "sha256:empty", NULL, &empty, &len), 1);
        CHECK_INT(len, 0);

        _cleanup_free_ char *huge = malloc(STORE_BLOB_MAX + 1);
        REQUIRE_OK(huge ? 0 : -ENOMEM);
        memset(huge, 'x', STORE_BLOB_MAX + 1);
        CHECK_INT(store_put_manifest(s, "sha256:huge", mt, huge, STORE_BLOB_MAX + 1, T0), -EFBIG);
        REQUIRE_OK(store_put_manifest(s, "sha256:max", mt, huge, STORE_BLOB_MAX, T0));
        _cleanup_free_ void *max = NULL;
        CHECK_INT(store_get_manifest(s, "sha256:max", NULL, &max, &len), 1);
        CHECK_INT(len, STORE_BLOB_MAX);

        struct store_config c = {
                .os = "linux",
                .architecture = "arm64",
                .variant = "v8",
                .labels = "{\"org.opencontainers.image.title\":\"Disk \\u00e9\"}",
        };
        CHECK_INT(store_get_config(s, "sha256:cfg", &(struct store_config){}), 0);
        REQUIRE_OK(store_put_config(s, "sha256:cfg", &c, T0));
        struct store_config other = { .os = "windows", .labels = "{}" };
        REQUIRE_OK(store_put_config(s, "sha256:cfg", &other, T0));
        REQUIRE_OK(store_put_config(s, "sha256:bare", &(struct store_config){}, T0));
        store_free(s);
        s = open_ok(dir);

        _cleanup_(store_config_done) struct store_config gc = {};
        CHECK_INT(store_get_config(s, "sha256:cfg", &gc), 1);
        CHECK_STR(gc.os, "linux");
        CHECK_STR(gc.architecture, "arm64");
        CHECK_STR(gc.variant, "v8");
        CHECK_STR(gc.labels, c.labels);
        _cleanup_(store_config_done) struct store_config bare = {};
        CHECK_INT(store_get_config(s, "sha256:bare", &bare), 1);
        CHECK_STR(bare.os, NULL);
        CHECK_STR(bare.variant, NULL);
        CHECK_STR(bare.labels, "{}");
        store_free(s);
}

static void test_scans(void) {
        _cleanup_free_ char *dir = new_dir("scans");
        struct store *s = open_ok(dir);
        struct store_scan scan;
        CHECK_INT(store_last_scan(s, &scan), 0);
        int64_t a, b;
        REQUIRE_OK(store_scan_begin(s, T0, &a));
        CHECK_INT(store_last_scan(s, &scan), 0);
        REQUIRE_OK(store_scan_finish(s, a, T0 + 42, 16, 5, 1, 58));
        REQUIRE_OK(store_scan_begin(s, T0 + 100, &b));
        CHECK(b > a);
        CHECK_INT(store_last_scan(s, &scan), 1);
        CHECK_INT(scan.id, a);
        CHECK_STR(scan.started_at, "2026-11-28T13:00:00Z");
        CHECK_STR(scan.finished_at, "2026-11-28T13:00:42Z");
        CHECK_INT(scan.repositories, 16);
        CHECK_INT(scan.updates, 5);
        CHECK_INT(scan.errors, 1);
        CHECK_INT(scan.requests, 58);
        CHECK_INT(store_scan_finish(s, b + 100, T0, 0, 0, 0, 0), -ENOENT);
        store_free(s);

        /* A scan cut short by a crash never becomes the last scan; ids are never reused. */
        s = open_ok(dir);
        CHECK_INT(store_last_scan(s, &scan), 1);
        CHECK_INT(scan.id, a);
        int64_t c;
        REQUIRE_OK(store_scan_begin(s, T0 + 200, &c));
        CHECK(c > b);
        REQUIRE_OK(store_scan_finish(s, c, T0 + 201, 1, 0, 0, 1));
        CHECK_INT(store_last_scan(s, &scan), 1);
        CHECK_INT(scan.id, c);
        store_free(s);
}

static void test_time(void) {
        time_t t = 0;
        REQUIRE_OK(store_parse_time("2026-11-28T13:00:00Z", &t));
        CHECK_INT(t, T0);
        char buf[21];
        util_format_time(T0 + 86399, buf);
        REQUIRE_OK(store_parse_time(buf, &t));
        CHECK_INT(t, T0 + 86399);
        CHECK_INT(store_parse_time("2026-11-28T13:00:00", &t), -EINVAL);
        CHECK_INT(store_parse_time("2026-11-28T13:00:00Z junk", &t), -EINVAL);
        CHECK_INT(store_parse_time("", &t), -EINVAL);
}

/* Two connections (the daemon and, say, a second instance) see each other's commits. */
static void test_two_connections(void) {
        _cleanup_free_ char *dir = new_dir("two");
        struct store *a = open_ok(dir);
        struct store *b = open_ok(dir);
        REQUIRE_OK(store_set_repositories(a, repos3, 2, T0));
        struct store_record rec = { .repository = (char *) repos3[1].name, .title = "from a", .status = "ok" };
        REQUIRE_OK(store_put_result(a, &rec, T0, 0, NULL, 0, NULL, 0, 0));
        struct store_record got = {};
        REQUIRE_OK(store_get_record(b, repos3[1].name, &got));
        CHECK_STR(got.title, "from a");
        store_record_done(&got);
        CHECK_INT(store_notification_mark(b, "x/y", "1", T0), 1);
        CHECK_INT(store_notification_mark(a, "x/y", "1", T0), 0);
        store_free(b);

        /* Another connection holds the write lock: opening an up-to-date store only reads its
         * schema version, so it neither waits nor fails. */
        sqlite3 *db = raw_open(dir);
        REQUIRE(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
        char *error = NULL;
        CHECK_INT(store_open(dir, &b, &error), 0);
        CHECK(error == NULL);
        free(error);
        store_free(b);

        /* A write that cannot go through is remembered for a status line, until one succeeds. */
        CHECK(store_last_write_error(a) == NULL);
        CHECK_INT(store_put_error(a, repos3[1].name, "x", T0), -EBUSY);
        _cleanup_free_ char *want = util_printf("%s/state.db: database is locked", dir);
        CHECK_STR(store_last_write_error(a), want);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close(db);
        REQUIRE_OK(store_put_error(a, repos3[1].name, "x", T0));
        CHECK(store_last_write_error(a) == NULL);
        store_free(a);
}

/* The crash test: a writer whose every value derives from one counter, killed at random. */
#define CRASH_REPOS 4

static const char *crash_repo(unsigned i) {
        static const char *const names[CRASH_REPOS] = { "crash/a", "crash/b", "ghcr.io/crash/c", "crash/d" };
        return names[i];
}

struct crash_expect {
        char title[64], vendor[64], description[64], latest[32], latest_compatible[32], api[32], latest_api[32],
                digest[64], variant_platform[32];
        const char *status;
        size_t n_tags;
        char tag[8][16], tag_digest[8][32], reason[8][32];
        bool compatible[8];
};

static void crash_expected(unsigned long t, unsigned i, struct crash_expect *e) {
        snprintf(e->title, sizeof(e->title), "title-%lu-%u", t, i);
        snprintf(e->vendor, sizeof(e->vendor), "vendor-%lu", t);
        snprintf(e->description, sizeof(e->description), "description %lu of %u", t, i);
        snprintf(e->latest, sizeof(e->latest), "2.%lu.0", t);
        snprintf(e->latest_compatible, sizeof(e->latest_compatible), "1.%lu.0", t);
        snprintf(e->api, sizeof(e->api), ">= 0.%lu.0", t);
        snprintf(e->latest_api, sizeof(e->latest_api), ">= 1.%lu.0", t);
        snprintf(e->digest, sizeof(e->digest), "sha256:%lu-%u", t, i);
        snprintf(e->variant_platform, sizeof(e->variant_platform), "linux/arm/v%lu", t);
        e->status = t % 3 == 0 ? "incompatible" : "ok";
        e->n_tags = 1 + t % 5;
        for (size_t k = 0; k < e->n_tags; k++) {
                size_t tag = t % 3 + k;
                snprintf(e->tag[k], sizeof(e->tag[k]), "tag-%zu", tag);
                snprintf(e->tag_digest[k], sizeof(e->tag_digest[k]), "sha256:%lu-%zu", t, tag);
                snprintf(e->reason[k], sizeof(e->reason[k]), "reason-%lu-%zu", t, tag);
                e->compatible[k] = (t + tag) % 2;
        }
}

static unsigned long parse_counter(const char *title) {
        unsigned long t = 0;
        unsigned i = 0;
        if (!title || sscanf(title, "title-%lu-%u", &t, &i) != 2)
                return 0;
        return t;
}

static int crash_write(struct store *s, unsigned long c) {
        int64_t scan;
        int r = store_scan_begin(s, T0 + (time_t) c, &scan);
        if (r < 0)
                return r;
        char version[32];
        snprintf(version, sizeof(version), "1.%lu.0", c);
        /* Every repository is marked before any result of this counter is written, so a
         * record at counter t implies every notification up to t, for all of them. */
        for (unsigned i = 0; i < CRASH_REPOS; i++) {
                r = store_notification_mark(s, crash_repo(i), version, T0);
                if (r < 0)
                        return r;
        }
        for (unsigned i = 0; i < CRASH_REPOS; i++) {
                if (c % 4 == 3) {
                        char msg[32];
                        snprintf(msg, sizeof(msg), "error-%lu", c);
                        r = store_put_error(s, crash_repo(i), msg, T0 + (time_t) c);
                        if (r < 0)
                                return r;
                        continue;
                }
                struct crash_expect e;
                crash_expected(c, i, &e);
                char *platforms[] = { "linux/amd64", e.variant_platform, NULL };
                struct store_record rec = {
                        .repository = (char *) crash_repo(i),
                        .title = e.title,
                        .vendor = e.vendor,
                        .description = e.description,
                        .latest = e.latest,
                        .latest_compatible = e.latest_compatible,
                        .api_constraint = e.api,
                        .latest_api_constraint = e.latest_api,
                        .digest = e.digest,
                        .platforms = platforms,
                        .status = (char *) e.status,
                };
                struct store_tag tags[8];
                struct store_verdict verdicts[8];
                for (size_t k = 0; k < e.n_tags; k++) {
                        tags[k] = (struct store_tag){ e.tag[k], e.tag_digest[k] };
                        verdicts[k] = (struct store_verdict){ e.tag[k], e.tag_digest[k], e.api, e.compatible[k],
                                                              e.reason[k], 0 };
                }
                r = store_put_result(s, &rec, T0 + (time_t) c, scan, tags, e.n_tags, verdicts, e.n_tags,
                                     STORE_PUT_REPLACE_VERDICTS);
                if (r < 0)
                        return r;
        }
        unsigned char body[2048];
        for (size_t k = 0; k < sizeof(body); k++)
                body[k] = (unsigned char) (k ^ c);
        char digest[72];
        util_sha256_digest(body, sizeof(body), digest);
        r = store_put_manifest(s, digest, "application/octet-stream", body, sizeof(body), T0);
        if (r < 0)
                return r;
        char *pairs[2 * CRASH_REPOS + 1];
        for (unsigned i = 0; i < CRASH_REPOS; i++) {
                pairs[2 * i] = (char *) crash_repo(i);
                pairs[2 * i + 1] = version;
        }
        pairs[2 * CRASH_REPOS] = NULL;
        r = store_installed_replace(s, pairs, T0);
        if (r < 0)
                return r;
        return store_scan_finish(s, scan, T0 + (time_t) c, CRASH_REPOS, (unsigned) c, (unsigned) c % 4,
                                 2 * (unsigned) c);
}

/* Writes counters from the last one stored on, telling report_fd each counter once it is committed. */
_Noreturn static void crash_child(const char *dir, int report_fd) {
        struct store *s = NULL;
        if (store_open(dir, &s, NULL) < 0)
                _exit(3);
        struct store_repository repos[CRASH_REPOS];
        for (unsigned i = 0; i < CRASH_REPOS; i++)
                repos[i] = (struct store_repository){ crash_repo(i), crash_repo(i), NULL, "crash" };
        if (store_set_repositories(s, repos, CRASH_REPOS, T0) < 0)
                _exit(4);
        unsigned long c = 0;
        struct store_record rec = {};
        if (store_get_record(s, crash_repo(0), &rec) >= 0)
                c = parse_counter(rec.title);
        store_record_done(&rec);
        for (c++;; c++) {
                if (crash_write(s, c) < 0)
                        _exit(5);
                if (write(report_fd, &c, sizeof(c)) != sizeof(c))
                        _exit(6);
        }
}

/* Reads up to `wanted` of the writer's reports (all until its end if 0); returns how many came, and
 * raises *result to the last counter that wrote results (errors keep the records' counters, which
 * may still lag behind where a killed writer left them). */
static unsigned crash_reports(int fd, unsigned wanted, unsigned long *result) {
        unsigned long c;
        unsigned got = 0;
        while ((wanted == 0 || got < wanted) && read(fd, &c, sizeof(c)) == sizeof(c)) {
                if (c % 4 != 3)
                        *result = c;
                got++;
        }
        return got;
}

/* Checks the database after a kill; returns the smallest counter found in the records. */
static unsigned long crash_check(const char *dir, unsigned long previous) {
        _cleanup_free_ char *path = util_printf("%s/state.db", dir);
        if (path && access(path, F_OK) == 0) {
                sqlite3 *db = raw_open(dir);
                _cleanup_free_ char *integrity = raw_text(db, "PRAGMA integrity_check");
                CHECK_STR(integrity, "ok");
                sqlite3_close(db);
        } else
                CHECK_INT(previous, 0);

        struct store *s = open_ok(dir);
        sqlite3 *db = raw_open(dir);
        CHECK_INT(raw_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
        CHECK_INT(raw_int(db, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
        /* The inventory is replaced in one transaction: never a mix of two counters. */
        CHECK(raw_int(db, "SELECT count(DISTINCT version) FROM installed") <= 1);
        long long n_installed = raw_int(db, "SELECT count(*) FROM installed");
        CHECK(n_installed == 0 || n_installed == CRASH_REPOS);
        CHECK_INT(raw_int(db, "SELECT count(*) FROM scans WHERE finished_at IS NOT NULL AND"
                              " (updates * 2 <> requests OR errors <> updates % 4)"),
                  0);
        sqlite3_close(db);

        unsigned long lowest = ULONG_MAX;
        for (unsigned i = 0; i < CRASH_REPOS; i++) {
                struct store_record rec = {};
                int r = store_get_record(s, crash_repo(i), &rec);
                if (r == -ENOENT) {
                        /* Killed before the allow-list was written: nothing else can be there. */
                        CHECK_INT(previous, 0);
                        lowest = 0;
                        continue;
                }
                REQUIRE_OK(r);
                unsigned long t = parse_counter(rec.title);
                if (t < lowest)
                        lowest = t;
                if (t == 0) {
                        CHECK_STR(rec.title, NULL);
                        CHECK(rec.status == NULL || streq(rec.status, "error"));
                        store_record_done(&rec);
                        continue;
                }
                struct crash_expect e;
                crash_expected(t, i, &e);
                CHECK_STR(rec.vendor, e.vendor);
                CHECK_STR(rec.description, e.description);
                CHECK_STR(rec.latest, e.latest);
                CHECK_STR(rec.latest_compatible, e.latest_compatible);
                CHECK_STR(rec.api_constraint, e.api);
                CHECK_STR(rec.latest_api_constraint, e.latest_api);
                CHECK_STR(rec.digest, e.digest);
                CHECK(rec.platforms && util_strv_length(rec.platforms) == 2 &&
                      streq(rec.platforms[1], e.variant_platform));
                if (rec.status && streq(rec.status, "error")) {
                        unsigned long ec = 0;
                        CHECK(rec.error && sscanf(rec.error, "error-%lu", &ec) == 1 && ec > t);
                } else {
                        CHECK_STR(rec.status, e.status);
                        CHECK_STR(rec.error, NULL);
                }
                char checked[21];
                util_format_time(T0 + (time_t) t, checked);
                CHECK_STR(rec.last_ok_at, checked);

                struct store_tag *tags = NULL;
                size_t n = 0;
                REQUIRE_OK(store_get_tags(s, crash_repo(i), &tags, &n));
                CHECK_INT(n, e.n_tags);
                for (size_t k = 0; k < n && k < e.n_tags; k++) {
                        CHECK_STR(tags[k].tag, e.tag[k]);
                        CHECK_STR(tags[k].digest, e.tag_digest[k]);
                }
                store_tag_array_free(tags, n);
                struct store_verdict *v = NULL;
                REQUIRE_OK(store_get_verdicts(s, crash_repo(i), &v, &n));
                CHECK_INT(n, e.n_tags);
                for (size_t k = 0; k < n && k < e.n_tags; k++) {
                        CHECK_STR(v[k].tag, e.tag[k]);
                        CHECK_STR(v[k].reason, e.reason[k]);
                        CHECK_INT(v[k].compatible, e.compatible[k]);
                }
                store_verdict_array_free(v, n);

                /* No notification record is ever lost. */
                for (unsigned long k = 1; k <= t; k++) {
                        char version[32];
                        snprintf(version, sizeof(version), "1.%lu.0", k);
                        if (store_notification_was_sent(s, crash_repo(i), version) != 1) {
                                CHECK_STR(version, "recorded as notified");
                                break;
                        }
                }
                store_record_done(&rec);
        }
        store_free(s);
        return lowest == ULONG_MAX ? 0 : lowest;
}

static void test_crash(void) {
        unsigned seed = (unsigned) getpid() ^ (unsigned) util_now_ms();
        const char *env = getenv("STORE_CRASH_SEED");
        if (env)
                seed = (unsigned) strtoul(env, NULL, 0);
        unsigned iterations = 30;
        env = getenv("STORE_CRASH_ITERATIONS");
        if (env)
                iterations = (unsigned) strtoul(env, NULL, 0);
        srand(seed);

        _cleanup_free_ char *dir = NULL;
        unsigned long previous = 0, progressed = 0, fresh = 0, after_commit = 0;
        int64_t t_start = util_now_ms();
        for (unsigned it = 0; it < iterations; it++) {
                /* Every fifth run starts from nothing, so some kills land inside the creation
                 * and the migrations. */
                if (it % 5 == 0) {
                        free(dir);
                        dir = util_printf("%s/crash-%u", topdir, it);
                        REQUIRE_OK(dir ? 0 : -ENOMEM);
                        previous = 0;
                        fresh++;
                }
                /* The other kills come 0 to 20 ms after one to three commits the writer reported, so
                 * they land inside later writes however slow the build; one run in five still kills on
                 * a timer alone (1 to 81 ms), which can land in the reopening of the database. */
                bool on_timer = it % 5 == 0 || it % 5 == 2;
                unsigned delay_us = it % 5 == 0 ? (unsigned) rand() % 3000
                                  : it % 5 == 2 ? 1000 + (unsigned) rand() % 80000
                                                : (unsigned) rand() % 20000;
                unsigned wait_commits = 1 + (unsigned) rand() % 3;

                int report[2];
                REQUIRE_OK(pipe2(report, O_CLOEXEC) < 0 ? -errno : 0);
                fflush(NULL);
                pid_t pid = fork();
                REQUIRE_OK(pid < 0 ? -errno : 0);
                if (pid == 0) {
                        close(report[0]);
                        crash_child(dir, report[1]);
                }
                close(report[1]);
                unsigned long committed = 0;
                if (!on_timer)
                        after_commit += crash_reports(report[0], wait_commits, &committed) > 0;
                usleep(delay_us);
                kill(pid, SIGKILL);
                int status = 0;
                REQUIRE_OK(waitpid(pid, &status, 0) < 0 ? -errno : 0);
                if (!WIFSIGNALED(status)) {
                        fprintf(stderr, "crash writer exited with %d before the kill (seed %u)\n",
                                WEXITSTATUS(status), seed);
                        CHECK(WIFSIGNALED(status));
                }
                (void) crash_reports(report[0], 0, &committed);
                close(report[0]);

                unsigned long now = crash_check(dir, previous);
                /* What a killed process committed is never lost. */
                if (now < previous) {
                        fprintf(stderr, "counter went back from %lu to %lu (seed %u)\n", previous, now, seed);
                        CHECK(now >= previous);
                }
                /* The results the writer said were committed are there. */
                if (now < committed) {
                        fprintf(stderr, "writer committed results %lu, the records hold %lu (seed %u)\n", committed,
                                now, seed);
                        CHECK(now >= committed);
                }
                if (now > previous)
                        progressed++;
                previous = now;
        }
        printf("crash: %u kills (%lu on fresh databases, %lu after commits), %lu advanced the state, %.1f s,"
               " seed %u\n",
               iterations, fresh, after_commit, progressed, (double) (util_now_ms() - t_start) / 1000.0, seed);
        CHECK(progressed > 0);
}

/* verified_at says when the registry last confirmed a tag's digest: set by a put with a digest,
 * kept by a put without one, reset by a re-push. */
static void test_tag_verification(void) {
        _cleanup_free_ char *dir = new_dir("verified");
        struct store *s = open_ok(dir);
        REQUIRE_OK(store_set_repositories(s, repos3, ELEMENTSOF(repos3), T0));
        const char *name = repos3[0].name;
        struct store_record rec = { .repository = (char *) name, .status = "ok" };
        struct store_tag first[] = { { "1.0.0", "sha256:a" }, { "2.0.0", NULL } };
        REQUIRE_OK(store_put_result(s, &rec, T0, 0, first, ELEMENTSOF(first), NULL, 0, 0));
        struct store_tag second[] = { { "1.0.0", NULL }, { "2.0.0", "sha256:b" } };
        REQUIRE_OK(store_put_result(s, &rec, T0 + 3600, 0, second, ELEMENTSOF(second), NULL, 0, 0));

        struct store_tag *tags = NULL;
        size_t n = 0;
        char t0[21], t1[21];
        util_format_time(T0, t0);
        util_format_time(T0 + 3600, t1);
        REQUIRE_OK(store_get_tags(s, name, &tags, &n));
        CHECK_INT(n, 2);
        CHECK_STR(tags[0].tag, "1.0.0");
        CHECK_STR(tags[0].verified_at, t0);
        CHECK_STR(tags[1].tag, "2.0.0");
        CHECK_STR(tags[1].verified_at, t1);
        store_tag_array_free(tags, n);
        store_free(s);
}

int main(void) {
        char template[] = "/tmp/test-store-XXXXXX";
        topdir = mkdtemp(template);
        if (!topdir) {
                perror("mkdtemp");
                return EXIT_FAILURE;
        }

        test_open_fresh();
        test_migrations();
        test_refusals();
        test_results();
        test_tags_verdicts();
        test_tag_verification();
        test_repositories();
        test_installed();
        test_service_state();
        test_update_available();
        test_notifications();
        test_notification_decisions();
        test_blobs();
        test_scans();
        test_time();
        test_two_connections();
        test_crash();

        nftw(topdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        return check_summary("test-store");
}
