/* extupdatectl's daemon commands: status, list, updates, show, scan, events, installed. */
#include "ctl-daemon.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ctl-client.h"
#include "ctl-print.h"
#include "store.h"
#include "util.h"

static const char *str(const cJSON *o, const char *key) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
        return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num(const cJSON *o, const char *key) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
        return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static bool flag(const cJSON *o, const char *key) {
        return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static int print_json(const cJSON *j) {
        char *s = cJSON_Print(j);
        if (!s)
                return 1;
        puts(s);
        free(s);
        return 0;
}

/* "2 h ago (2026-11-28T13:00:00Z)", or "-" for a missing or unreadable time. */
static char *when(const char *rfc3339) {
        time_t t;
        if (!rfc3339 || store_parse_time(rfc3339, &t) < 0)
                return ctl_escape(rfc3339);
        char rel[32];
        ctl_relative_time(t, time(NULL), rel);
        return util_printf("%s (%s)", rel, rfc3339);
}

static char *relative(const char *rfc3339) {
        time_t t;
        if (!rfc3339 || store_parse_time(rfc3339, &t) < 0)
                return ctl_escape(rfc3339);
        char rel[32];
        ctl_relative_time(t, time(NULL), rel);
        return strdup(rel);
}

/* Handles --help and refuses options and extra arguments a command does not take. */
static int plain_arguments(int argc, char **argv, int want, const char *usage) {
        if (argc > 1 && streq(argv[1], "--help")) {
                printf("Usage: extupdatectl [--socket PATH] [--json] %s\n", usage);
                return 0;
        }
        int given = argc - 1;
        char **args = argv + 1;
        if (given > 0 && streq(args[0], "--")) {
                given--;
                args++;
        }
        if (given != want || (given > 0 && args[0][0] == '-' && args[0][1])) {
                fprintf(stderr, "Usage: extupdatectl %s\n", usage);
                return 1;
        }
        return -1;
}

static void print_summary_line(const cJSON *s) {
        unsigned r = (unsigned) num(s, "repositories"), u = (unsigned) num(s, "updates"),
                 e = (unsigned) num(s, "errors"), q = (unsigned) num(s, "requests");
        printf("%u repositor%s, %u update%s available, %u error%s, %u request%s", r, r == 1 ? "y" : "ies", u,
               u == 1 ? "" : "s", e, e == 1 ? "" : "s", q, q == 1 ? "" : "s");
}

int ctl_status_main(int argc, char **argv, const struct ctl_options *opts) {
        int r = plain_arguments(argc, argv, 0, "status");
        if (r >= 0)
                return r;
        cJSON *j = NULL;
        if (ctl_client_call(opts, &(struct ctl_request) { .path = "/v1/status" }, &j) < 0)
                return 1;
        if (opts->json) {
                r = print_json(j);
                cJSON_Delete(j);
                return r;
        }
        _cleanup_free_ char *state = ctl_escape(str(j, "state")), *api = ctl_escape(str(j, "extension_api_version")),
                            *platform = ctl_escape(str(j, "platform")),
                            *source = ctl_escape(str(j, "installed_source")),
                            *deferred = ctl_escape(str(j, "scan_deferred")),
                            *next = when(str(j, "next_scan_at"));
        printf("State:          %s\n", state);
        const cJSON *last = cJSON_GetObjectItemCaseSensitive(j, "last_scan");
        if (cJSON_IsObject(last)) {
                _cleanup_free_ char *fin = when(str(last, "finished_at"));
                printf("Last scan:      #%.0f, finished %s\n                ", num(last, "id"), fin);
                print_summary_line(last);
                putchar('\n');
        } else
                printf("Last scan:      never\n");
        printf("Next scan:      %s\n", str(j, "next_scan_at") ? next : "not planned");
        if (str(j, "scan_deferred"))
                printf("Scan deferred:  %s\n", deferred);
        printf("Extension API:  %s\nPlatform:       %s\nInstalled from: %s\n", api, platform, source);
        printf("Extensions:     %.0f, %.0f with an update available\n", num(j, "extensions"), num(j, "updates"));
        if (str(j, "store_error")) {
                _cleanup_free_ char *e = ctl_escape(str(j, "store_error"));
                printf("State error:    %s\n", e);
        }
        cJSON_Delete(j);
        return 0;
}

static int print_records(const cJSON *list, bool updates_only) {
        static const char *const headers[] = { "REPOSITORY", "INSTALLED", "LATEST", "COMPATIBLE", "STATUS",
                                               "CHECKED", "UPDATE" };
        struct ctl_table *t = ctl_table_new(headers, ELEMENTSOF(headers));
        if (!t)
                return 1;
        const cJSON *rec;
        unsigned shown = 0;
        cJSON_ArrayForEach(rec, list) {
                if (updates_only && !flag(rec, "update_available"))
                        continue;
                char *cells[] = {
                        ctl_escape(str(rec, "repository")),
                        ctl_escape(str(rec, "installed")),
                        ctl_escape(str(rec, "latest")),
                        ctl_escape(str(rec, "latest_compatible")),
                        ctl_escape(str(rec, "status") ? str(rec, "status") : "not scanned"),
                        relative(str(rec, "checked_at")),
                        strdup(flag(rec, "update_available") ? "yes" : ""),
                };
                ctl_table_add(t, cells);
                shown++;
        }
        if (shown == 0)
                printf(updates_only ? "No updates available.\n" : "The allow-list is empty.\n");
        else
                ctl_table_print(t, stdout);
        ctl_table_free(t);
        /* Errors follow the table, one a line, as `extupdated --once` prints them. */
        bool first = true;
        cJSON_ArrayForEach(rec, list) {
                if (!str(rec, "error") || (updates_only && !flag(rec, "update_available")))
                        continue;
                _cleanup_free_ char *repo = ctl_escape(str(rec, "repository")), *e = ctl_escape(str(rec, "error"));
                printf("%s%s: %s\n", first ? "\n" : "", repo, e);
                first = false;
        }
        return 0;
}

int ctl_list_main(int argc, char **argv, const struct ctl_options *opts) {
        bool updates = streq(argv[0], "updates");
        int r = plain_arguments(argc, argv, 0, updates ? "updates" : "list");
        if (r >= 0)
                return r;
        cJSON *j = NULL;
        if (ctl_client_call(opts, &(struct ctl_request) { .path = updates ? "/v1/updates" : "/v1/extensions" }, &j) < 0)
                return 1;
        r = opts->json ? print_json(j) : print_records(j, updates);
        cJSON_Delete(j);
        return r;
}

/* Why a version is or is not offered, in words. */
static char *verdict_text(const cJSON *v) {
        if (flag(v, "compatible"))
                return strdup("compatible");
        return ctl_escape(str(v, "reason") ? str(v, "reason") : "not compatible");
}

int ctl_show_main(int argc, char **argv, const struct ctl_options *opts) {
        int r = plain_arguments(argc, argv, 1, "show REPOSITORY");
        if (r >= 0)
                return r;
        const char *repository = argv[argc - 1];
        _cleanup_free_ char *path = ctl_client_path("/v1/extensions/", repository);
        cJSON *j = NULL;
        if (!path || ctl_client_call(opts, &(struct ctl_request) { .path = path }, &j) < 0)
                return 1;
        if (opts->json) {
                r = print_json(j);
                cJSON_Delete(j);
                return r;
        }
        static const struct {
                const char *label, *key;
        } fields[] = {
                { "Repository", "repository" },   { "Title", "title" },
                { "Vendor", "vendor" },           { "Description", "description" },
                { "Pinned", "pinned" },           { "Installed", "installed" },
                { "Latest", "latest" },           { "Latest compatible", "latest_compatible" },
                { "API range", "api_constraint" }, { "Latest's API range", "latest_api_constraint" },
                { "Digest", "digest" },           { "Status", "status" },
                { "Error", "error" },
        };
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                const char *v = str(j, fields[i].key);
                if (!v && (streq(fields[i].key, "pinned") || streq(fields[i].key, "error") ||
                           streq(fields[i].key, "description")))
                        continue;
                if (!v && streq(fields[i].key, "status"))
                        v = "not scanned";
                _cleanup_free_ char *e = ctl_escape(v);
                printf("%-19s %s\n", fields[i].label, e ? e : "-");
        }
        const cJSON *platforms = cJSON_GetObjectItemCaseSensitive(j, "platforms"), *p;
        if (cJSON_IsArray(platforms)) {
                printf("%-19s", "Platforms");
                cJSON_ArrayForEach(p, platforms) {
                        _cleanup_free_ char *e = ctl_escape(cJSON_IsString(p) ? p->valuestring : NULL);
                        printf(" %s", e ? e : "-");
                }
                putchar('\n');
        }
        printf("%-19s %s\n", "Update available", flag(j, "update_available") ? "yes" : "no");
        _cleanup_free_ char *checked = when(str(j, "checked_at"));
        printf("%-19s %s\n", "Checked", str(j, "checked_at") ? checked : "never");

        const cJSON *versions = cJSON_GetObjectItemCaseSensitive(j, "versions"), *v;
        if (cJSON_GetArraySize(versions) == 0)
                printf("\nNo version inspected yet.\n");
        else {
                static const char *const headers[] = { "VERSION", "API RANGE", "VERDICT" };
                struct ctl_table *t = ctl_table_new(headers, ELEMENTSOF(headers));
                cJSON_ArrayForEach(v, versions) {
                        char *cells[] = { ctl_escape(str(v, "tag")), ctl_escape(str(v, "api_constraint")),
                                          verdict_text(v) };
                        if (t)
                                ctl_table_add(t, cells);
                }
                printf("\nVersions inspected, newest first:\n");
                if (t)
                        ctl_table_print(t, stdout);
                ctl_table_free(t);
        }
        cJSON_Delete(j);
        return 0;
}

int ctl_scan_main(int argc, char **argv, const struct ctl_options *opts) {
        bool wait = false;
        if (argc > 1 && streq(argv[1], "--wait")) {
                wait = true;
                argc--;
                argv++;
        }
        int r = plain_arguments(argc, argv, 0, "scan [--wait]");
        if (r >= 0)
                return r;
        cJSON *j = NULL;
        struct ctl_request req = { .method = "POST", .path = wait ? "/v1/scan?wait=1" : "/v1/scan" };
        if (ctl_client_call(opts, &req, &j) < 0)
                return 1;
        r = 0;
        if (opts->json)
                r = print_json(j);
        else if (!wait)
                printf("Scan #%.0f started; 'extupdatectl scan --wait' waits for it to end.\n", num(j, "id"));
        else {
                printf("Scan #%.0f %s: ", num(j, "id"), flag(j, "cancelled") ? "was cancelled" : "finished");
                print_summary_line(j);
                putchar('\n');
                r = num(j, "errors") > 0 || flag(j, "cancelled") ? 1 : 0;
        }
        cJSON_Delete(j);
        return r;
}

static int print_event(const char *line, void *userdata) {
        const struct ctl_options *opts = userdata;
        cJSON *j = cJSON_Parse(line);
        if (opts->json) {
                /* Printed again by cJSON: valid JSON whatever the line held, control characters escaped. */
                _cleanup_free_ char *again = j ? cJSON_PrintUnformatted(j) : ctl_escape(line);
                printf("%s\n", again ? again : "");
                fflush(stdout);
                cJSON_Delete(j);
                return 0;
        }
        const char *type = str(j, "type");
        _cleanup_free_ char *t = ctl_escape(str(j, "time")), *ty = ctl_escape(type),
                            *repo = ctl_escape(str(j, "repository"));
        const cJSON *scan = cJSON_GetObjectItemCaseSensitive(j, "scan");
        const cJSON *ext = cJSON_GetObjectItemCaseSensitive(j, "extension");
        printf("%s  %-17s ", t, ty);
        if (type && streq(type, "scan_started"))
                printf("scan #%.0f", num(scan, "id"));
        else if (type && streq(type, "scan_finished")) {
                printf("scan #%.0f%s: ", num(scan, "id"), flag(j, "cancelled") ? " (cancelled)" : "");
                print_summary_line(scan);
        } else if (type && streq(type, "update_available")) {
                _cleanup_free_ char *i = ctl_escape(str(ext, "installed")), *a = ctl_escape(str(ext, "latest_compatible"));
                printf("%s: %s -> %s", repo, i, a);
        } else if (type && streq(type, "extension_changed")) {
                _cleanup_free_ char *s = ctl_escape(str(ext, "status")), *l = ctl_escape(str(ext, "latest_compatible"));
                printf("%s: %s, latest compatible %s", repo, s, l);
        } else if (type && streq(type, "error")) {
                _cleanup_free_ char *m = ctl_escape(str(j, "message"));
                /* Messages about a repository often name it already. */
                bool named = !str(j, "repository") || (m && util_startswith(m, repo));
                printf("%s%s%s", named ? "" : repo, named ? "" : ": ", m);
        }
        putchar('\n');
        fflush(stdout);
        cJSON_Delete(j);
        return 0;
}

int ctl_events_main(int argc, char **argv, const struct ctl_options *opts) {
        int r = plain_arguments(argc, argv, 0, "events");
        if (r >= 0)
                return r;
        struct ctl_request req = { .path = "/v1/events", .on_line = print_event, .userdata = (void *) opts };
        return ctl_client_call(opts, &req, NULL) < 0 ? 1 : 0;
}

static int installed_list(const struct ctl_options *opts) {
        cJSON *j = NULL;
        if (ctl_client_call(opts, &(struct ctl_request) { .path = "/v1/installed" }, &j) < 0)
                return 1;
        if (opts->json) {
                int r = print_json(j);
                cJSON_Delete(j);
                return r;
        }
        static const char *const headers[] = { "REPOSITORY", "VERSION" };
        struct ctl_table *t = ctl_table_new(headers, ELEMENTSOF(headers));
        const cJSON *e;
        cJSON_ArrayForEach(e, j) {
                char *cells[] = { ctl_escape(e->string), ctl_escape(cJSON_IsString(e) ? e->valuestring : NULL) };
                if (t)
                        ctl_table_add(t, cells);
        }
        if (cJSON_GetArraySize(j) == 0)
                printf("No extension is recorded as installed.\n");
        else if (t)
                ctl_table_print(t, stdout);
        ctl_table_free(t);
        cJSON_Delete(j);
        return 0;
}

static const char installed_usage[] = "installed [list] | set REPOSITORY VERSION | rm REPOSITORY | import FILE";

int ctl_installed_main(int argc, char **argv, const struct ctl_options *opts) {
        int r;
        if (argc < 2 || streq(argv[1], "list")) {
                /* "installed list …" is checked as if "list" were the command word. */
                r = plain_arguments(argc - (argc > 1), argv + (argc > 1), 0, installed_usage);
                return r >= 0 ? r : installed_list(opts);
        }
        if (streq(argv[1], "--help")) {
                printf("Usage: extupdatectl [--socket PATH] [--json] %s\n"
                       "  list                        the inventory (the default)\n"
                       "  set REPOSITORY VERSION      record VERSION of REPOSITORY as installed\n"
                       "  rm REPOSITORY               record REPOSITORY as not installed\n"
                       "  import FILE                 replace the inventory with FILE's {\"repository\": \"version\"}\n",
                       installed_usage);
                return 0;
        }
        const char *sub = argv[1];
        if (streq(sub, "set")) {
                if ((r = plain_arguments(argc - 1, argv + 1, 2, "installed set REPOSITORY VERSION")) >= 0)
                        return r;
                _cleanup_free_ char *path = ctl_client_path("/v1/installed/", argv[argc - 2]);
                cJSON *body = cJSON_CreateObject();
                _cleanup_free_ char *text = body && cJSON_AddStringToObject(body, "version", argv[argc - 1])
                                                    ? cJSON_PrintUnformatted(body)
                                                    : NULL;
                cJSON_Delete(body);
                if (!path || !text)
                        return 1;
                return ctl_client_call(opts, &(struct ctl_request) { .method = "PUT", .path = path, .body = text },
                                       NULL) < 0;
        }
        if (streq(sub, "rm")) {
                if ((r = plain_arguments(argc - 1, argv + 1, 1, "installed rm REPOSITORY")) >= 0)
                        return r;
                _cleanup_free_ char *path = ctl_client_path("/v1/installed/", argv[argc - 1]);
                return !path || ctl_client_call(opts, &(struct ctl_request) { .method = "DELETE", .path = path },
                                                NULL) < 0;
        }
        if (streq(sub, "import")) {
                if ((r = plain_arguments(argc - 1, argv + 1, 1, "installed import FILE")) >= 0)
                        return r;
                const char *file = argv[argc - 1];
                _cleanup_free_ char *text = NULL;
                size_t len = 0;
                r = util_read_file(file, 1024 * 1024, &text, &len);
                if (r < 0) {
                        _cleanup_free_ char *f = ctl_escape(file);
                        fprintf(stderr, "extupdatectl: %s: %s\n", f, r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
                        return 1;
                }
                cJSON *j = cJSON_ParseWithLength(text, len);
                if (!cJSON_IsObject(j)) {
                        _cleanup_free_ char *f = ctl_escape(file);
                        fprintf(stderr, "extupdatectl: %s: not a JSON object {\"repository\": \"version\", …}\n", f);
                        cJSON_Delete(j);
                        return 1;
                }
                cJSON_Delete(j);
                return ctl_client_call(opts, &(struct ctl_request) { .method = "PUT", .path = "/v1/installed", .body = text },
                                       NULL) < 0;
        }
        _cleanup_free_ char *s = ctl_escape(sub);
        fprintf(stderr, "extupdatectl installed: unknown subcommand \"%s\"\nUsage: extupdatectl %s\n", s, installed_usage);
        return 1;
}
