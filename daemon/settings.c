/* Loads what every mode starts from: the configuration and the allow-list, reporting each problem. */
#include "settings.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "remote-allowlist.h"
#include "util.h"

static unsigned print_lines(FILE *diag, char **lines, const char *prefix) {
        unsigned n = 0;
        for (char **l = lines; l && *l; l++, n++)
                fprintf(diag, "%s%s\n", prefix, *l);
        return n;
}

static bool is_url(const char *source) {
        return util_startswith_no_case(source, "https://") || util_startswith_no_case(source, "http://");
}

struct remote_source {
        struct settings *settings;
        FILE *diag;
        const char *url;
        int error;
};

static void on_remote(int error, const char *message, const struct remote_allowlist *result, void *userdata) {
        struct remote_source *rs = userdata;
        struct settings *s = rs->settings;
        if (error < 0) {
                fprintf(rs->diag, "error: %s\n", message);
                s->problems++;
                s->errors++;
                return;
        }
        if (result->note) {
                fprintf(rs->diag, "%s: %s\n", result->note_is_error ? "error" : "warning", result->note);
                s->problems++;
                s->errors += result->note_is_error;
        }
        _cleanup_free_ char *why = NULL;
        rs->error = allowlist_add_text(&s->allowlist, rs->url, result->text, result->len, &why);
        if (rs->error == -ENOMEM)
                return;
        if (rs->error < 0) {
                fprintf(rs->diag, "error: %s\n", why ? why : rs->url);
                s->problems++;
                s->errors++;
                return;
        }
        s->sources_read++;
}

/* Fetches every URL source at once and waits for all of them: the allow-list is needed whole. */
static int load_remote_sources(struct settings *s, uv_loop_t *loop, const char *cache_dir, FILE *diag) {
        size_t n = 0;
        for (char **src = s->config.allowlist; *src; src++)
                n += is_url(*src);
        if (n == 0)
                return 0;
        struct http_client *http = NULL;
        struct http_options opts = {.max_connections = s->config.max_connections};
        int r = http_client_new(loop, &opts, &http);
        if (r < 0)
                return r;
        struct remote_source *rs = calloc(n, sizeof(struct remote_source));
        if (!rs) {
                http_client_free(http);
                return -ENOMEM;
        }
        size_t i = 0;
        for (char **src = s->config.allowlist; *src; src++) {
                if (!is_url(*src))
                        continue;
                rs[i] = (struct remote_source) {.settings = s, .diag = diag, .url = *src};
                r = remote_allowlist_fetch(http, *src, cache_dir, on_remote, &rs[i]);
                if (r < 0) {
                        fprintf(diag, "error: %s: cannot fetch the allow-list: %s\n", *src, strerror(-r));
                        s->problems++;
                        s->errors++;
                }
                i++;
        }
        uv_run(loop, UV_RUN_DEFAULT);
        http_client_free(http);
        uv_run(loop, UV_RUN_DEFAULT);
        r = 0;
        for (i = 0; i < n; i++)
                if (rs[i].error == -ENOMEM)
                        r = -ENOMEM;
        free(rs);
        return r;
}

int settings_load(const char *config_arg, uv_loop_t *loop, const char *cache_dir, FILE *diag,
                  struct settings *ret) {
        struct settings s = {};
        _cleanup_free_ char *default_path = NULL;
        const char *path = config_arg;
        int r;

        if (!path && config_default_path(&default_path) == 0 && access(default_path, F_OK) == 0)
                path = default_path;

        _cleanup_strv_free_ char **warnings = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        if (path)
                r = config_load_file(path, &s.config, &warnings, &errors);
        else
                r = config_init_defaults(&s.config);
        s.problems += print_lines(diag, warnings, "warning: ");
        if (r < 0) {
                if (!print_lines(diag, errors, "error: "))
                        fprintf(diag, "error: %s: %s\n", path ? path : "defaults", strerror(-r));
                return r == -ENOMEM ? r : -EINVAL;
        }
        allowlist_init(&s.allowlist);
        if (path) {
                s.config_path = strdup(path);
                if (!s.config_path) {
                        settings_done(&s);
                        return -ENOMEM;
                }
        }

        for (char **src = s.config.allowlist; *src; src++) {
                _cleanup_free_ char *error = NULL;
                if (is_url(*src))
                        continue;
                r = allowlist_add_file(&s.allowlist, *src, &error);
                if (r == -ENOMEM) {
                        settings_done(&s);
                        return r;
                }
                if (r < 0) {
                        fprintf(diag, "error: %s\n", error ? error : *src);
                        s.problems++;
                        s.errors++;
                        continue;
                }
                s.sources_read++;
        }
        r = load_remote_sources(&s, loop, cache_dir, diag);
        if (r < 0) {
                settings_done(&s);
                return r;
        }
        for (size_t i = 0; s.allowlist.problems && s.allowlist.problems[i]; i++, s.problems++) {
                bool warning = allowlist_problem_is_warning(&s.allowlist, i);
                fprintf(diag, "%s: %s\n", warning ? "warning" : "error", s.allowlist.problems[i]);
                s.errors += !warning;
        }
        if (s.sources_read == 0 && s.config.allowlist[0]) {
                fprintf(diag, "error: no allow-list could be read%s%s\n",
                        s.config_path ? "; check \"allowlist\" in " : "", s.config_path ? s.config_path : "");
                settings_done(&s);
                return -EINVAL;
        }
        *ret = s;
        return 0;
}

void settings_done(struct settings *s) {
        config_done(&s->config);
        free(s->config_path);
        allowlist_done(&s->allowlist);
        *s = (struct settings) {};
}
