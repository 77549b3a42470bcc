/* Loads what every mode starts from: the configuration and the allow-list, reporting each problem. */
#include "settings.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "remote-allowlist.h"
#include "util.h"

struct remote_source {
        struct settings_loader *loader;
        const char *url;
        bool done;
};

struct settings_loader {
        uv_loop_t *loop;
        uv_timer_t timer; /* delivers the result from the loop, and frees the HTTP client outside its callbacks */
        struct settings s;
        char **messages;
        int error;                /* fatal so far: -EINVAL or -ENOMEM */
        struct http_client *http;
        struct remote_source *remote;
        size_t n_remote, remote_pending;
        settings_fn cb;
        void *userdata;
        bool finished;
};

static void add_message(struct settings_loader *l, const char *prefix, const char *text) {
        if (util_strv_consume(&l->messages, util_printf("%s%s", prefix, text)) < 0)
                l->error = -ENOMEM;
}

static void add_lines(struct settings_loader *l, char **lines, const char *prefix, bool count) {
        for (char **p = lines; p && *p; p++) {
                add_message(l, prefix, *p);
                if (count)
                        l->s.problems++;
        }
}

static bool is_url(const char *source) {
        return util_startswith(source, "https://") || util_startswith(source, "http://");
}

static void on_loader_closed(uv_handle_t *h) {
        struct settings_loader *l = h->data;
        free(l->remote);
        util_strv_free(l->messages);
        settings_done(&l->s);
        free(l);
}

/* Everything is known: checks the whole, hands it over, and lets go of the loader. */
static void finish(uv_timer_t *t) {
        struct settings_loader *l = t->data;
        http_client_free(TAKE_PTR(l->http));
        if (l->error == 0) {
                add_lines(l, l->s.allowlist.problems, "", true);
                if (l->s.sources_read == 0 && l->s.config.allowlist[0]) {
                        _cleanup_free_ char *m = util_printf("no allow-list could be read%s%s",
                                                             l->s.config_path ? "; check \"allowlist\" in " : "",
                                                             l->s.config_path ? l->s.config_path : "");
                        if (m)
                                add_message(l, "error: ", m);
                        l->error = m ? -EINVAL : -ENOMEM;
                }
        }
        l->finished = true;
        l->cb(l->error, l->error < 0 ? NULL : &l->s, l->messages, l->userdata);
        uv_close((uv_handle_t *) &l->timer, on_loader_closed);
}

static void on_remote(int error, const char *message, const struct remote_allowlist *result, void *userdata) {
        struct remote_source *rs = userdata;
        struct settings_loader *l = rs->loader;
        rs->done = true;
        if (l->finished)
                return;
        if (error < 0) {
                add_message(l, "error: ", message ? message : rs->url);
                l->s.problems++;
        } else {
                if (result->note) {
                        add_message(l, "warning: ", result->note);
                        l->s.problems++;
                }
                _cleanup_free_ char *why = NULL;
                int r = allowlist_add_text(&l->s.allowlist, rs->url, result->text, result->len, &why);
                if (r == -ENOMEM)
                        l->error = r;
                else if (r < 0) {
                        add_message(l, "error: ", why ? why : rs->url);
                        l->s.problems++;
                } else
                        l->s.sources_read++;
        }
        if (--l->remote_pending == 0)
                uv_timer_start(&l->timer, finish, 0, 0);
}

/* Fetches every URL source at once: the allow-list is needed whole. */
static int start_remote_sources(struct settings_loader *l, const char *cache_dir) {
        for (char **src = l->s.config.allowlist; *src; src++)
                l->n_remote += is_url(*src);
        if (l->n_remote == 0)
                return 0;
        struct http_options opts = {.max_connections = l->s.config.max_connections};
        int r = http_client_new(l->loop, &opts, &l->http);
        if (r < 0)
                return r;
        l->remote = calloc(l->n_remote, sizeof(struct remote_source));
        if (!l->remote)
                return -ENOMEM;
        size_t i = 0;
        for (char **src = l->s.config.allowlist; *src; src++) {
                if (!is_url(*src))
                        continue;
                l->remote[i] = (struct remote_source) {.loader = l, .url = *src};
                r = remote_allowlist_fetch(l->http, *src, cache_dir, on_remote, &l->remote[i]);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        _cleanup_free_ char *m = util_printf("%s: cannot fetch the allow-list: %s", *src,
                                                             strerror(-r));
                        add_message(l, "error: ", m ? m : *src);
                        l->s.problems++;
                } else
                        l->remote_pending++;
                i++;
        }
        return 0;
}

/* The config and the allow-list files: quick local reads. */
static void load_local(struct settings_loader *l, const char *config_arg, const char *cache_dir) {
        _cleanup_free_ char *default_path = NULL;
        const char *path = config_arg;
        int r;

        if (!path && config_default_path(&default_path) == 0 && access(default_path, F_OK) == 0)
                path = default_path;

        _cleanup_strv_free_ char **warnings = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        if (path)
                r = config_load_file(path, &l->s.config, &warnings, &errors);
        else
                r = config_init_defaults(&l->s.config);
        add_lines(l, warnings, "warning: ", true);
        if (r < 0) {
                if (errors)
                        add_lines(l, errors, "error: ", false);
                else {
                        _cleanup_free_ char *m = util_printf("%s: %s", path ? path : "defaults", strerror(-r));
                        add_message(l, "error: ", m ? m : strerror(-r));
                }
                l->s.config = (struct config) {};
                l->error = r == -ENOMEM ? r : -EINVAL;
                return;
        }
        allowlist_init(&l->s.allowlist);
        if (path && !(l->s.config_path = strdup(path))) {
                l->error = -ENOMEM;
                return;
        }
        for (char **src = l->s.config.allowlist; *src; src++) {
                _cleanup_free_ char *error = NULL;
                if (is_url(*src))
                        continue;
                r = allowlist_add_file(&l->s.allowlist, *src, &error);
                if (r == -ENOMEM) {
                        l->error = r;
                        return;
                }
                if (r < 0) {
                        add_message(l, "error: ", error ? error : *src);
                        l->s.problems++;
                        continue;
                }
                l->s.sources_read++;
        }
        r = start_remote_sources(l, cache_dir);
        if (r < 0)
                l->error = r;
}

int settings_load_start(const char *config_arg, uv_loop_t *loop, const char *cache_dir, settings_fn cb,
                        void *userdata, struct settings_loader **ret) {
        struct settings_loader *l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->loop = loop;
        l->cb = cb;
        l->userdata = userdata;
        uv_timer_init(loop, &l->timer);
        l->timer.data = l;
        load_local(l, config_arg, cache_dir);
        /* On an early failure the fetches already started are cancelled by finish(). */
        if (l->error < 0 || l->remote_pending == 0)
                uv_timer_start(&l->timer, finish, 0, 0);
        *ret = l;
        return 0;
}

void settings_load_cancel(struct settings_loader *l) {
        if (!l || l->finished)
                return;
        l->finished = true;
        uv_timer_stop(&l->timer);
        http_client_free(TAKE_PTR(l->http));
        uv_close((uv_handle_t *) &l->timer, on_loader_closed);
}

struct blocking_load {
        bool done;
        int r;
        FILE *diag;
        struct settings *ret;
};

static void on_blocking_loaded(int r, struct settings *loaded, char *const *messages, void *userdata) {
        struct blocking_load *b = userdata;
        for (char *const *m = messages; m && *m; m++)
                fprintf(b->diag, "%s\n", *m);
        b->r = r;
        b->done = true;
        if (r == 0) {
                *b->ret = *loaded;
                *loaded = (struct settings) {};
        }
}

int settings_load(const char *config_arg, uv_loop_t *loop, const char *cache_dir, FILE *diag,
                  struct settings *ret) {
        struct settings_loader *l;
        struct blocking_load b = {.diag = diag, .ret = ret};
        int r = settings_load_start(config_arg, loop, cache_dir, on_blocking_loaded, &b, &l);
        if (r < 0)
                return r;
        uv_run(loop, UV_RUN_DEFAULT);
        return b.done ? b.r : -EIO;
}

void settings_done(struct settings *s) {
        config_done(&s->config);
        free(s->config_path);
        allowlist_done(&s->allowlist);
        *s = (struct settings) {};
}
