/* Loads what every mode starts from: the configuration and the allow-list, reporting each problem. */
#include "settings.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

static unsigned print_lines(FILE *diag, char **lines, const char *prefix) {
        unsigned n = 0;
        for (char **l = lines; l && *l; l++, n++)
                fprintf(diag, "%s%s\n", prefix, *l);
        return n;
}

int settings_load(const char *config_arg, FILE *diag, struct settings *ret) {
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
        if (path) {
                s.config_path = strdup(path);
                if (!s.config_path) {
                        config_done(&s.config);
                        return -ENOMEM;
                }
        }

        allowlist_init(&s.allowlist);
        unsigned readable = 0;
        for (char **src = s.config.allowlist; *src; src++) {
                _cleanup_free_ char *error = NULL;
                if (util_startswith(*src, "https://") || util_startswith(*src, "http://")) {
                        fprintf(diag, "error: %s: allow-list URLs are fetched by the long-running daemon only; "
                                      "this build reads files\n", *src);
                        s.problems++;
                        continue;
                }
                r = allowlist_add_file(&s.allowlist, *src, &error);
                if (r == -ENOMEM) {
                        settings_done(&s);
                        return r;
                }
                if (r < 0) {
                        fprintf(diag, "error: %s\n", error ? error : *src);
                        s.problems++;
                        continue;
                }
                readable++;
        }
        s.problems += print_lines(diag, s.allowlist.problems, "");
        if (readable == 0) {
                fprintf(diag, "error: no allow-list could be read%s%s\n", s.config_path ? "; check \"allowlist\" in " : "",
                        s.config_path ? s.config_path : "");
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
