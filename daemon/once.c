/* `extupdated --once`: one scan of the allow-list, a report on stdout, an exit status. */
#include "once.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "api-version.h"
#include "reference.h"
#include "registry.h"
#include "report.h"
#include "scan.h"
#include "select.h"
#include "settings.h"
#include "store.h"
#include "util.h"

#define INSTALLED_FILE_MAX (1u << 20)
#define INSTALLED_ENTRIES_MAX 10000u

int once_check_config(const char *config) {
        struct settings s;
        uv_loop_t loop;
        if (uv_loop_init(&loop) < 0)
                return 1;
        /* No cache: the check is about what the sources say now. */
        int r = settings_load(config, &loop, NULL, stderr, &s);
        (void) uv_loop_close(&loop);
        if (r < 0)
                return 1;
        unsigned problems = s.problems;
        if (problems == 0)
                printf("%s and %zu allow-listed repositor%s: no problems\n",
                       s.config_path ? s.config_path : "built-in defaults", s.allowlist.n,
                       s.allowlist.n == 1 ? "y" : "ies");
        settings_done(&s);
        return problems ? 1 : 0;
}

/* Reads `{"repository": "version"}` into pairs of familiar names and versions; prints what is wrong. */
static int read_installed(const char *path, char ***ret_pairs) {
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r = util_read_file(path, INSTALLED_FILE_MAX, &text, &len);
        if (r < 0) {
                fprintf(stderr, "error: %s: cannot read the installed inventory: %s\n", path,
                        r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
                return r;
        }
        cJSON *root = cJSON_ParseWithLength(text, len);
        if (!cJSON_IsObject(root)) {
                fprintf(stderr, "error: %s: the installed inventory must be a JSON object "
                                "{\"repository\": \"version\"}\n", path);
                cJSON_Delete(root);
                return -EINVAL;
        }
        _cleanup_strv_free_ char **pairs = NULL;
        unsigned bad = 0, n = 0;
        for (cJSON *e = root->child; e; e = e->next) {
                const char *reason = NULL;
                _cleanup_free_ char *name = NULL;
                if (++n > INSTALLED_ENTRIES_MAX) {
                        fprintf(stderr, "error: %s: more than %u entries\n", path, INSTALLED_ENTRIES_MAX);
                        bad++;
                        break;
                }
                if (!cJSON_IsString(e) || !*e->valuestring) {
                        fprintf(stderr, "error: %s: \"%.200s\": the version must be a non-empty string\n", path,
                                e->string);
                        bad++;
                        continue;
                }
                r = reference_normalize_repository(e->string, &name, &reason);
                if (r == -ENOMEM)
                        break;
                if (r < 0) {
                        fprintf(stderr, "error: %s: \"%.200s\": %s\n", path, e->string,
                                reason ? reason : "not a repository name");
                        bad++;
                        continue;
                }
                if (util_strv_contains(pairs, name)) {
                        fprintf(stderr, "error: %s: \"%.200s\": listed twice\n", path, e->string);
                        bad++;
                        continue;
                }
                _cleanup_free_ char *version = NULL;
                r = select_installed_normalize(e->valuestring, &version, &reason);
                if (r == -ENOMEM)
                        break;
                if (r < 0) {
                        /* The key is a valid name by now; the value may hold anything: quote it safely. */
                        _cleanup_free_ char *shown = cJSON_PrintUnformatted(e);
                        fprintf(stderr, "error: %s: \"%.200s\": version %.200s: %s\n", path, e->string,
                                shown ? shown : "?", reason);
                        bad++;
                        continue;
                }
                if (util_strv_push(&pairs, name) < 0 || util_strv_consume(&pairs, TAKE_PTR(version)) < 0) {
                        r = -ENOMEM;
                        break;
                }
        }
        cJSON_Delete(root);
        if (r == -ENOMEM) {
                fprintf(stderr, "error: out of memory\n");
                return r;
        }
        if (bad)
                return -EINVAL;
        if (!pairs) {
                pairs = calloc(1, sizeof(char *));
                if (!pairs)
                        return -ENOMEM;
        }
        *ret_pairs = TAKE_PTR(pairs);
        return 0;
}

static void on_scan_event(const struct scan_event *e, void *userdata) {
        if (e->type == SCAN_EVENT_FINISHED)
                uv_stop(userdata);
}

/* Why a repository has no compatible version: the verdict on its newest version, as the table's note. */
static char *no_compatible_note(struct store *store, const struct store_record *r) {
        if (!r->status || !(streq(r->status, "incompatible") || streq(r->status, "invalid")) || !r->latest)
                return NULL;
        struct store_verdict *v = NULL;
        size_t n = 0;
        char *note = NULL;
        if (store_get_verdicts(store, r->repository, &v, &n) < 0)
                return NULL;
        for (size_t i = 0; i < n && !note; i++)
                if (streq(v[i].tag, r->latest) && v[i].reason)
                        note = util_printf("%s %s", v[i].tag, v[i].reason);
        store_verdict_array_free(v, n);
        return note;
}

static int print_report(struct store *store, const struct scan_summary *summary, bool json) {
        struct store_record *records = NULL;
        size_t n = 0;
        int r = store_list_records(store, STORE_ORDER_ALLOWLIST, &records, &n);
        if (r < 0) {
                fprintf(stderr, "error: %s\n", store_error_message(store));
                return r;
        }
        if (json) {
                cJSON *doc = report_once_json(summary, records, n);
                char *text = doc ? cJSON_Print(doc) : NULL;
                if (text)
                        printf("%s\n", text);
                else
                        r = -ENOMEM;
                free(text);
                cJSON_Delete(doc);
        } else {
                char **notes = calloc(n + 1, sizeof(char *));
                for (size_t i = 0; notes && i < n; i++)
                        notes[i] = no_compatible_note(store, &records[i]);
                r = report_print_table(stdout, summary, records, n, notes);
                for (size_t i = 0; notes && i < n; i++)
                        free(notes[i]);
                free(notes);
        }
        store_record_array_free(records, n);
        if (fflush(stdout) != 0)
                r = -EIO;
        return r;
}

int once_run(const struct once_options *o) {
        struct settings s = {};
        int r;
        int status = 1;
        _cleanup_free_ char *state_dir = NULL;
        _cleanup_free_ char *api_version = NULL;
        _cleanup_strv_free_ char **installed = NULL;
        struct store *store = NULL;
        struct registry_client *rc = NULL;
        struct scan *scan = NULL;
        uv_loop_t loop;
        bool loop_ready = false;
        enum api_version_source api_source;
        _cleanup_free_ char *store_error = NULL;
        _cleanup_free_ char *cache_dir = NULL;

        if (o->installed && read_installed(o->installed, &installed) < 0)
                goto out;
        if (uv_loop_init(&loop) < 0)
                goto out;
        loop_ready = true;
        if (o->state_dir)
                state_dir = strdup(o->state_dir);
        else if (config_default_state_dir(&state_dir) < 0)
                state_dir = NULL;
        if (!state_dir) {
                fprintf(stderr, "error: no state directory: set --state-dir, XDG_STATE_HOME or HOME\n");
                goto out;
        }
        r = store_open(state_dir, &store, &store_error);
        if (r < 0) {
                fprintf(stderr, "error: %s\n", store_error ? store_error : strerror(-r));
                goto out;
        }
        cache_dir = util_printf("%s/allowlists", state_dir);
        if (!cache_dir || settings_load(o->config, &loop, cache_dir, stderr, &s) < 0)
                goto out;
        if (installed && store_installed_replace(store, installed, time(NULL)) < 0) {
                fprintf(stderr, "error: %s\n", store_error_message(store));
                goto out;
        }
        if (api_version_resolve(s.config.extension_api_version, &api_version, &api_source) < 0)
                goto out;

        struct registry_options ropts = {.config = &s.config};
        r = registry_client_new(&loop, &ropts, &rc);
        if (r < 0) {
                fprintf(stderr, "error: cannot set up the registry client: %s\n", strerror(-r));
                goto out;
        }
        struct scan_settings ss = {
                .api_version = api_version,
                .platform = s.config.platform,
                .include_prerelease = s.config.include_prerelease,
                .max_inspected = s.config.max_inspected_versions,
        };
        /* The human report opens with it; JSON keeps stdout to CONTRACT §4, so it goes to stderr. */
        fprintf(o->json ? stderr : stdout, "Extension API %s (%s), platform %s\n\n", api_version,
                api_version_source_describe(api_source), s.config.platform);
        r = scan_start(&loop, store, rc, &s.allowlist, &ss, on_scan_event, &loop, &scan);
        if (r < 0) {
                fprintf(stderr, "error: cannot start the scan: %s\n",
                        r == -EINVAL ? "invalid Extension API version or platform" : store_error_message(store));
                goto out;
        }
        if (!scan_is_finished(scan))
                uv_run(&loop, UV_RUN_DEFAULT);
        const char *note = registry_client_credentials_note(rc);
        if (note)
                fprintf(stderr, "note: %s\n", note);

        const struct scan_summary *summary = scan_get_summary(scan);
        if (print_report(store, summary, o->json) < 0)
                goto out;
        status = summary->errors > 0 ? 2 : 0;

out:
        registry_client_free(rc);
        scan_free(scan);
        if (loop_ready) {
                uv_run(&loop, UV_RUN_DEFAULT);
                (void) uv_loop_close(&loop);
        }
        store_free(store);
        settings_done(&s);
        return status;
}
