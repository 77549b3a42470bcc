/* Notices changes to a set of files by watching their directories, since editors replace files by rename. */
#include "watch.h"

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* An editor's save is several events (write a temporary file, rename it over the old one): one
 * reload after they settle. */
#define WATCH_SETTLE_MS 300

struct dir_watch {
        uv_fs_event_t event;
        struct watch *watch;
        char *dir;
        char **names; /* the watched files' base names in this directory */
};

struct watch {
        uv_timer_t settle;
        struct dir_watch *dirs;
        size_t n_dirs;
        unsigned open_handles;
        watch_fn cb;
        void *userdata;
};

static void on_settled(uv_timer_t *t) {
        struct watch *w = t->data;
        w->cb(w->userdata);
}

static void on_change(uv_fs_event_t *e, const char *filename, int events, int status) {
        struct dir_watch *d = e->data;
        (void) events;
        if (status < 0 || (filename && !util_strv_contains(d->names, filename)))
                return;
        uv_timer_start(&d->watch->settle, on_settled, WATCH_SETTLE_MS, 0);
}

static struct dir_watch *find_dir(struct watch *w, const char *dir) {
        for (size_t i = 0; i < w->n_dirs; i++)
                if (streq(w->dirs[i].dir, dir))
                        return &w->dirs[i];
        return NULL;
}

int watch_new(uv_loop_t *loop, char *const *paths, watch_fn cb, void *userdata, struct watch **ret) {
        struct watch *w = calloc(1, sizeof(*w));
        size_t n = util_strv_length(paths);
        if (!w || !(w->dirs = calloc(n ? n : 1, sizeof(struct dir_watch)))) {
                free(w);
                return -ENOMEM;
        }
        w->cb = cb;
        w->userdata = userdata;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *a = strdup(paths[i]), *b = strdup(paths[i]);
                if (!a || !b)
                        continue;
                const char *dir = dirname(a), *name = basename(b);
                struct dir_watch *d = find_dir(w, dir);
                if (!d) {
                        d = &w->dirs[w->n_dirs];
                        d->dir = strdup(dir);
                        if (!d->dir)
                                continue;
                        w->n_dirs++;
                }
                (void) util_strv_push(&d->names, name);
        }
        uv_timer_init(loop, &w->settle);
        w->settle.data = w;
        w->open_handles = 1;
        for (size_t i = 0; i < w->n_dirs; i++) {
                struct dir_watch *d = &w->dirs[i];
                d->watch = w;
                d->event.data = d;
                uv_fs_event_init(loop, &d->event);
                w->open_handles++;
                (void) uv_fs_event_start(&d->event, on_change, d->dir, 0);
        }
        *ret = w;
        return 0;
}

static void on_closed(uv_handle_t *h) {
        struct watch *w = h->type == UV_TIMER ? h->data : ((struct dir_watch *) h->data)->watch;
        if (--w->open_handles > 0)
                return;
        for (size_t i = 0; i < w->n_dirs; i++) {
                free(w->dirs[i].dir);
                util_strv_free(w->dirs[i].names);
        }
        free(w->dirs);
        free(w);
}

void watch_free(struct watch *w) {
        if (!w)
                return;
        uv_close((uv_handle_t *) &w->settle, on_closed);
        for (size_t i = 0; i < w->n_dirs; i++)
                uv_close((uv_handle_t *) &w->dirs[i].event, on_closed);
}
