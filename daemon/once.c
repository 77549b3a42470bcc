/* `extupdated --once`: one scan of the allow-list, a report on stdout, an exit status. */
#include "once.h"

#include <errno.h>
#include <signal.h>
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
#include "semver.h"
#include "settings.h"
#include "store.h"
#include "text.h"
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
        if (r < 0) {
                fprintf(stderr, "%s: errors found; nothing would be scanned\n", config ? config : "configuration");
                return 1;
        }
        /* Kept by the scan, but never a version: CONTRACT §5 considers only SemVer tags. */
        for (size_t i = 0; i < s.allowlist.n; i++) {
                const struct allowlist_entry *e = &s.allowlist.entries[i];
                struct semver v;
                if (!e->pinned)
                        continue;
                if (semver_parse(e->pinned, SEMVER_PARSE_ALLOW_V, &v) == 0) {
                        semver_done(&v);
                        continue;
                }
                _cleanup_free_ char *tag = text_quote_str(e->pinned, 200);
                fprintf(stderr, "warning: %s:%u: pinned tag %s is not a SemVer version, so no version of %s will "
                                "be considered (status no_versions); pin a version such as :1.2.3\n",
                        e->source, e->line, tag ? tag : "", e->repository);
                s.problems++;
        }
        unsigned warnings = s.problems - s.errors;
        const char *what = s.config_path ? s.config_path : "built-in defaults";
        const char *plural = s.allowlist.n == 1 ? "y" : "ies";
        if (s.problems == 0)
                printf("%s and %zu allow-listed repositor%s: no problems\n", what, s.allowlist.n, plural);
        else
                printf("%s and %zu allow-listed repositor%s: %u error%s, %u warning%s\n", what, s.allowlist.n,
                       plural, s.errors, s.errors == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s");
        int status = s.errors ? 1 : 0;
        settings_done(&s);
        return status;
}

/* Reads `{"repository": "version"}` into pairs of familiar names and versions; prints what is wrong,
 * each bad entry by its key, quoted, as the file is not ours. */
static int read_installed(const char *path, char ***ret_pairs) {
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r = util_read_file(path, INSTALLED_FILE_MAX, &text, &len);
        if (r < 0) {
                fprintf(stderr, "error: %s: cannot read the installed inventory: %s\n", path,
                        r == -EFBIG ? "larger than 1 MiB" : util_read_file_strerror(r));
                return r;
        }
        if (util_json_has_nul_escape(text, len) || memchr(text, 0, len)) {
                fprintf(stderr, "error: %s: a string holds a NUL character (\\u0000), which no repository "
                                "or version may contain\n", path);
                return -EINVAL;
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
                _cleanup_free_ char *key = text_quote_str(e->string, 200);
                if (!key) {
                        r = -ENOMEM;
                        break;
                }
                if (!cJSON_IsString(e)) {
                        fprintf(stderr, "error: %s: %s: the version must be a string\n", path, key);
                        bad++;
                        continue;
                }
                struct semver v;
                r = semver_parse(e->valuestring, SEMVER_PARSE_ALLOW_V, &v);
                if (r == -ENOMEM)
                        break;
                if (r < 0) {
                        _cleanup_free_ char *value = text_quote_str(e->valuestring, 200);
                        fprintf(stderr, "error: %s: %s: %s is not a SemVer version (MAJOR.MINOR.PATCH, an "
                                        "optional leading 'v')\n", path, key, value ? value : "the version");
                        bad++;
                        continue;
                }
                semver_done(&v);
                r = reference_normalize_repository(e->string, &name, &reason);
                if (r == -ENOMEM)
                        break;
                if (r < 0) {
                        fprintf(stderr, "error: %s: %s: %s\n", path, key, reason ? reason : "not a repository name");
                        bad++;
                        continue;
                }
                if (util_strv_contains(pairs, name)) {
                        fprintf(stderr, "error: %s: %s: listed twice\n", path, key);
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

/* What a signal must reach: the loop and, once started, the scan to cancel. */
struct run {
        uv_loop_t loop;
        struct scan *scan;
        uv_signal_t sigint, sigterm;
        int signal; /* the first SIGINT or SIGTERM received, else 0 */
};

static void on_scan_event(const struct scan_event *e, void *userdata) {
        struct run *run = userdata;
        if (e->type == SCAN_EVENT_FINISHED)
                uv_stop(&run->loop);
}

/* Cancels the scan (FINISHED then arrives, marked cancelled); before it started, the next step
 * sees run->signal and stops. */
static void on_signal(uv_signal_t *handle, int signum) {
        struct run *run = handle->data;
        if (run->signal)
                return;
        run->signal = signum;
        if (run->scan)
                scan_cancel(run->scan);
}

/* Unreferenced: they must not keep settings_load's or the scan's loop running. */
static int watch_signals(struct run *run) {
        uv_signal_t *handles[] = {&run->sigint, &run->sigterm};
        const int signums[] = {SIGINT, SIGTERM};
        for (size_t i = 0; i < ELEMENTSOF(handles); i++) {
                int r = uv_signal_init(&run->loop, handles[i]);
                if (r < 0)
                        return r;
                handles[i]->data = run;
                uv_unref((uv_handle_t *) handles[i]);
                r = uv_signal_start(handles[i], on_signal, signums[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool interrupted(const struct run *run) {
        if (run->signal)
                fprintf(stderr, "error: interrupted by %s before the scan started; nothing scanned\n",
                        run->signal == SIGINT ? "SIGINT" : "SIGTERM");
        return run->signal != 0;
}

/* Why a repository has no compatible version: the verdict on its newest version (for no_versions,
 * the verdict explaining it, when there is one), as the table's note. */
static char *no_compatible_note(struct store *store, const struct store_record *r) {
        bool none = r->status && streq(r->status, "no_versions");
        if (!r->status || !(none || streq(r->status, "incompatible") || streq(r->status, "invalid")) ||
            (!none && !r->latest))
                return NULL;
        struct store_verdict *v = NULL;
        size_t n = 0;
        char *note = NULL;
        if (store_get_verdicts(store, r->repository, &v, &n) < 0)
                return NULL;
        for (size_t i = 0; i < n && !note; i++)
                if ((none || streq(v[i].tag, r->latest)) && v[i].reason)
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
        if (json)
                r = report_write_once_json(stdout, summary, records, n);
        else {
                char **notes = calloc(n + 1, sizeof(char *));
                for (size_t i = 0; notes && i < n; i++)
                        notes[i] = no_compatible_note(store, &records[i]);
                r = report_print_table(stdout, summary, records, n, notes);
                for (size_t i = 0; notes && i < n; i++)
                        free(notes[i]);
                free(notes);
        }
        store_record_array_free(records, n);
        /* stdio keeps the first write error: ferror catches one an earlier implicit flush hit. */
        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "error: cannot write the report to standard output: %s\n",
                        strerror(errno ? errno : EIO));
                return -EIO;
        }
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
        struct run run = {};
        bool loop_ready = false;
        enum api_version_source api_source;
        _cleanup_free_ char *store_error = NULL;
        _cleanup_free_ char *cache_dir = NULL;

        if (o->installed && read_installed(o->installed, &installed) < 0)
                goto out;
        if (uv_loop_init(&run.loop) < 0)
                goto out;
        loop_ready = true;
        if (watch_signals(&run) < 0) {
                fprintf(stderr, "error: cannot watch SIGINT and SIGTERM\n");
                goto out;
        }
        if (config_state_dir(o->state_dir, &state_dir) < 0) {
                fprintf(stderr, "error: no state directory: set --state-dir, XDG_STATE_HOME or HOME\n");
                goto out;
        }
        r = store_open(state_dir, &store, &store_error);
        if (r < 0) {
                fprintf(stderr, "error: %s\n", store_error ? store_error : strerror(-r));
                goto out;
        }
        cache_dir = util_printf("%s/allowlists", state_dir);
        if (!cache_dir || settings_load(o->config, &run.loop, cache_dir, stderr, &s) < 0 || interrupted(&run))
                goto out;
        if (installed && store_installed_replace(store, installed, time(NULL)) < 0) {
                fprintf(stderr, "error: %s\n", store_error_message(store));
                goto out;
        }
        if (api_version_resolve(s.config.extension_api_version, &api_version, &api_source) < 0 ||
            interrupted(&run))
                goto out;

        struct registry_options ropts = {.config = &s.config};
        r = registry_client_new(&run.loop, &ropts, &rc);
        if (r < 0) {
                fprintf(stderr, "error: cannot set up the registry client: %s\n", strerror(-r));
                goto out;
        }
        struct scan_settings ss = {
                .api_version = api_version,
                .platform = s.config.platform,
                .include_prerelease = s.config.include_prerelease,
                .repository_timeout = s.config.repository_timeout,
                .max_parallel = 2 * s.config.max_connections,
                .max_inspected = s.config.max_inspected_versions,
        };
        /* The human report opens with it; JSON keeps stdout to CONTRACT §4, so it goes to stderr. */
        fprintf(o->json ? stderr : stdout, "Extension API %s (%s), platform %s\n\n", api_version,
                api_version_source_describe(api_source), s.config.platform);
        r = scan_start(&run.loop, store, rc, &s.allowlist, &ss, on_scan_event, &run, &run.scan);
        if (r < 0) {
                fprintf(stderr, "error: cannot start the scan: %s\n",
                        r == -EINVAL ? "invalid Extension API version or platform" : store_error_message(store));
                goto out;
        }
        if (!scan_is_finished(run.scan))
                uv_run(&run.loop, UV_RUN_DEFAULT);
        const char *note = registry_client_credentials_note(rc);
        if (note)
                fprintf(stderr, "note: %s\n", note);

        /* The records would mix this scan's saved results with older ones shown as fresh: say once
         * what happened instead of printing them. */
        const char *write_error = store_last_write_error(store);
        if (write_error) {
                fprintf(stderr, "error: %s: results of this scan not saved\n", write_error);
                goto out;
        }
        const struct scan_summary *summary = scan_get_summary(run.scan);
        if (print_report(store, summary, o->json) < 0)
                goto out;
        status = summary->errors > 0 ? 2 : 0;
        if (summary->cancelled) {
                fprintf(stderr, "error: interrupted by %s: scan cancelled; the report shows what was saved, "
                                "repositories not reached keep their last results\n",
                        run.signal == SIGINT ? "SIGINT" : "SIGTERM");
                status = 128 + run.signal;
        }

out:
        registry_client_free(rc);
        scan_free(run.scan);
        if (loop_ready) {
                if (run.sigint.loop)
                        uv_close((uv_handle_t *) &run.sigint, NULL);
                if (run.sigterm.loop)
                        uv_close((uv_handle_t *) &run.sigterm, NULL);
                uv_run(&run.loop, UV_RUN_DEFAULT);
                (void) uv_loop_close(&run.loop);
        }
        store_free(store);
        settings_done(&s);
        return status;
}
