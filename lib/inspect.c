/* One version of an extension image, manifest → platform → config (never layers): the walk the scanner and validate share. */
#include "inspect.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reference.h"
#include "util.h"

/* The steps of one inspection. Each either completes from the cache and moves on at once, or
 * sends one request and waits (STEP_WAIT) until its callback sets the next step. */
enum step {
        STEP_RESOLVE,     /* the tag's manifest digest: known, HEAD, or GET by tag */
        STEP_TOP,         /* the tag's manifest, by digest */
        STEP_TOP_READY,   /* in->top parsed: an image, or an index to choose from */
        STEP_CHILD,       /* the chosen image manifest of an index */
        STEP_CHILD_READY,
        STEP_CONFIG,      /* the image's config blob */
        STEP_CONFIG_READY,
        STEP_WAIT,
        STEP_DONE,
};

struct inspection {
        struct registry_client *rc;
        struct store *cache;
        char *domain, *path, *tag;
        char *name; /* the familiar repository name registry messages start with */
        struct manifest_platform want;
        bool recheck, labels_anyway;

        enum step step;
        struct manifest *top;
        char *child_digest;
        struct manifest *child;
        char *config_digest;
        struct inspect_result res;
        inspect_fn cb;
        void *userdata;
};

bool inspect_error_is_version(int error) {
        switch (error) {
        case -ENOENT:          /* manifest or blob unknown (garbage-collected, never pushed) */
        case -EBADMSG:         /* malformed, or not matching its digest */
        case -EPROTONOSUPPORT: /* schema 1, unsupported media type, nested index */
        case -EFBIG:           /* larger than the limits */
                return true;
        default:
                return false;
        }
}

void inspect_result_done(struct inspect_result *r) {
        if (!r)
                return;
        free(r->message);
        free(r->reason);
        free(r->digest);
        free(r->image_digest);
        util_strv_free(r->platforms);
        free(r->config_digest);
        free(r->config_platform);
        manifest_image_config_free(r->config);
        *r = (struct inspect_result) {};
}

static void inspection_free(struct inspection *in) {
        free(in->domain);
        free(in->path);
        free(in->tag);
        free(in->name);
        manifest_platform_done(&in->want);
        manifest_free(in->top);
        free(in->child_digest);
        manifest_free(in->child);
        free(in->config_digest);
        inspect_result_done(&in->res);
        free(in);
}

/* Ends the inspection with error; message names the repository (registry messages do). */
static void fail(struct inspection *in, int error, const char *message) {
        in->res.error = error;
        free(in->res.message);
        in->res.message = strdup(message ? message : strerror(-error));
        if (inspect_error_is_version(error)) {
                /* The verdict belongs to the repository already: say what failed without its name. */
                const char *m = in->res.message ? in->res.message : strerror(-error);
                if (util_startswith(m, in->name) && (m[strlen(in->name)] == ':' || m[strlen(in->name)] == '@'))
                        m += strlen(in->name) + 1;
                while (*m == ' ')
                        m++;
                free(in->res.reason);
                in->res.reason = strdup(m);
        }
        if (!in->res.message || (inspect_error_is_version(error) && !in->res.reason))
                in->res.error = -ENOMEM;
        in->step = STEP_DONE;
}

_printf_(3, 4) static void failf(struct inspection *in, int error, const char *fmt, ...) {
        _cleanup_free_ char *text = NULL;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&text, fmt, ap) < 0)
                text = NULL;
        va_end(ap);
        _cleanup_free_ char *m = text ? util_printf("%s:%s: %s", in->name, in->tag, text) : NULL;
        fail(in, m ? error : -ENOMEM, m);
}

static void oom(struct inspection *in) {
        fail(in, -ENOMEM, "out of memory");
}

static bool inspection_run(struct inspection *in);

/* A callback brought the next step: run on, and report when the walk is complete. */
static void inspection_resume(struct inspection *in) {
        if (!inspection_run(in))
                return;
        in->cb(&in->res, in->userdata);
        inspection_free(in);
}

static void cache_manifest(struct inspection *in, const struct registry_manifest *m) {
        /* A manifest that cannot be cached is fetched again next time; the walk goes on either way. */
        if (in->cache)
                (void) store_put_manifest(in->cache, m->digest, m->manifest->media_type, m->body, m->body_len,
                                          time(NULL));
}

/* A 404 for the tag itself: a tag listed without a manifest (deleted or garbage-collected since). */
static void fail_no_manifest(struct inspection *in, const char *message) {
        fail(in, -ENOENT, message);
        char *reason = util_printf("the tag has no manifest (%s)", in->res.reason ? in->res.reason : "HTTP 404");
        if (!reason) {
                oom(in);
                return;
        }
        free(in->res.reason);
        in->res.reason = reason;
}

static void on_top(int error, const char *message, struct registry_manifest *m, void *userdata) {
        struct inspection *in = userdata;
        if (error == -ENOENT && !in->res.digest)
                fail_no_manifest(in, message);
        else if (error < 0)
                fail(in, error, message);
        else {
                cache_manifest(in, m);
                free(in->res.digest);
                in->res.digest = TAKE_PTR(m->digest);
                in->top = TAKE_PTR(m->manifest);
                in->step = in->res.digest ? STEP_TOP_READY : STEP_DONE;
                if (!in->res.digest)
                        oom(in);
        }
        inspection_resume(in);
}

static void on_head(int error, const char *message, struct registry_manifest_info *info, void *userdata) {
        struct inspection *in = userdata;
        if (error == -ENOENT)
                fail_no_manifest(in, message);
        else if (error < 0)
                fail(in, error, message);
        else {
                free(in->res.digest);
                in->res.digest = TAKE_PTR(info->digest);
                in->step = STEP_TOP;
                if (!in->res.digest)
                        oom(in);
        }
        inspection_resume(in);
}

static void on_child(int error, const char *message, struct registry_manifest *m, void *userdata) {
        struct inspection *in = userdata;
        if (error < 0)
                fail(in, error, message);
        else {
                cache_manifest(in, m);
                in->child = TAKE_PTR(m->manifest);
                in->step = STEP_CHILD_READY;
        }
        inspection_resume(in);
}

static void on_config(int error, const char *message, struct registry_config *c, void *userdata) {
        struct inspection *in = userdata;
        if (error < 0) {
                fail(in, error, message);
                inspection_resume(in);
                return;
        }
        in->res.config = TAKE_PTR(c->config);
        if (in->cache) {
                const struct manifest_platform *p = &in->res.config->platform;
                _cleanup_free_ char *labels = in->res.config->labels ? cJSON_PrintUnformatted(in->res.config->labels)
                                                                    : strdup("{}");
                struct store_config sc = {.os = p->os, .architecture = p->architecture, .variant = p->variant,
                                          .labels = labels};
                if (labels)
                        (void) store_put_config(in->cache, in->config_digest, &sc, time(NULL));
        }
        in->step = STEP_CONFIG_READY;
        inspection_resume(in);
}

/* The manifest of digest from the cache: 1 and *ret, or 0 when it must be fetched. */
static int cached_manifest(struct inspection *in, const char *digest, struct manifest **ret) {
        _cleanup_free_ char *media_type = NULL;
        _cleanup_free_ void *body = NULL;
        size_t len = 0;
        if (!in->cache || store_get_manifest(in->cache, digest, &media_type, &body, &len) <= 0)
                return 0;
        /* A stored body this build cannot parse is fetched again rather than trusted. */
        return manifest_parse(body, len, media_type, ret, NULL) == 0 ? 1 : 0;
}

static int cached_config(struct inspection *in, const char *digest, struct manifest_image_config **ret) {
        struct store_config sc = {};
        if (!in->cache || store_get_config(in->cache, digest, &sc) <= 0)
                return 0;
        struct manifest_image_config *c = calloc(1, sizeof *c);
        if (c) {
                c->platform.os = strdup(sc.os ? sc.os : "");
                c->platform.architecture = strdup(sc.architecture ? sc.architecture : "");
                c->platform.variant = sc.variant ? strdup(sc.variant) : NULL;
                c->labels = sc.labels ? cJSON_Parse(sc.labels) : NULL;
        }
        bool ok = c && c->platform.os && c->platform.architecture && (!sc.variant || c->platform.variant);
        store_config_done(&sc);
        if (!ok) {
                manifest_image_config_free(c);
                return -ENOMEM;
        }
        *ret = c;
        return 1;
}

static void submit_failed(struct inspection *in, int r, const char *what) {
        failf(in, r, "%s: cannot ask the registry: %s", what, strerror(-r));
}

/* The index entry to read: the wanted platform's, or with labels_anyway the first provided. */
static void choose_from_index(struct inspection *in) {
        const struct manifest *m = in->top;
        if (manifest_platforms(m, &in->res.platforms) < 0) {
                oom(in);
                return;
        }
        const struct manifest_descriptor *d = manifest_select(m, &in->want);
        in->res.provides_platform = d != NULL;
        if (!d && in->labels_anyway && in->res.platforms[0]) {
                struct manifest_platform other = {};
                if (manifest_platform_parse(in->res.platforms[0], &other) == 0) {
                        d = manifest_select(m, &other);
                        manifest_platform_done(&other);
                }
        }
        if (!d) {
                in->step = STEP_DONE;
                return;
        }
        enum manifest_kind k;
        if (d->media_type && manifest_kind_from_media_type(d->media_type, &k) >= 0 && manifest_kind_is_index(k)) {
                failf(in, -EPROTONOSUPPORT, "an index nested in an index is not supported");
                return;
        }
        in->child_digest = strdup(d->digest);
        if (!in->child_digest) {
                oom(in);
                return;
        }
        in->step = STEP_CHILD;
}

static void config_ready(struct inspection *in) {
        const struct manifest_platform *p = &in->res.config->platform;
        in->res.config_digest = strdup(in->config_digest);
        if (!in->res.config_digest) {
                oom(in);
                return;
        }
        if (*p->os && *p->architecture) {
                in->res.config_platform = manifest_platform_normalized(p);
                if (!in->res.config_platform) {
                        oom(in);
                        return;
                }
        }
        if (!manifest_kind_is_index(in->res.kind)) {
                /* A single image: its config says which platform it is. */
                if (in->res.config_platform && util_strv_push(&in->res.platforms, in->res.config_platform) < 0) {
                        oom(in);
                        return;
                }
                in->res.provides_platform = *p->os && *p->architecture && manifest_platform_match(&in->want, p) > 0;
        }
        in->step = STEP_DONE;
}

/* Runs the steps until one must wait for the registry (false) or the walk is complete (true). */
static bool inspection_run(struct inspection *in) {
        int r;
        for (;;)
                switch (in->step) {
                case STEP_RESOLVE:
                        if (in->res.digest && !in->recheck) {
                                in->step = STEP_TOP;
                                break;
                        }
                        in->step = STEP_WAIT;
                        if (in->res.digest)
                                r = registry_head_manifest(in->rc, in->domain, in->path, in->tag, on_head, in);
                        else
                                r = registry_get_manifest(in->rc, in->domain, in->path, in->tag, on_top, in);
                        if (r < 0)
                                submit_failed(in, r, "manifest");
                        break;
                case STEP_TOP:
                        r = cached_manifest(in, in->res.digest, &in->top);
                        if (r > 0) {
                                in->step = STEP_TOP_READY;
                                break;
                        }
                        in->step = STEP_WAIT;
                        r = registry_get_manifest(in->rc, in->domain, in->path, in->res.digest, on_top, in);
                        if (r < 0)
                                submit_failed(in, r, "manifest");
                        break;
                case STEP_TOP_READY:
                        in->res.kind = in->top->kind;
                        if (manifest_is_index(in->top))
                                choose_from_index(in);
                        else {
                                in->config_digest = strdup(in->top->config.digest);
                                in->res.image_digest = strdup(in->res.digest);
                                in->step = STEP_CONFIG;
                                if (!in->config_digest || !in->res.image_digest)
                                        oom(in);
                        }
                        break;
                case STEP_CHILD:
                        r = cached_manifest(in, in->child_digest, &in->child);
                        if (r > 0) {
                                in->step = STEP_CHILD_READY;
                                break;
                        }
                        in->step = STEP_WAIT;
                        r = registry_get_manifest(in->rc, in->domain, in->path, in->child_digest, on_child, in);
                        if (r < 0)
                                submit_failed(in, r, "image manifest");
                        break;
                case STEP_CHILD_READY:
                        if (manifest_is_index(in->child)) {
                                failf(in, -EPROTONOSUPPORT, "an index nested in an index is not supported");
                                break;
                        }
                        in->config_digest = strdup(in->child->config.digest);
                        in->res.image_digest = strdup(in->child_digest);
                        in->step = STEP_CONFIG;
                        if (!in->config_digest || !in->res.image_digest)
                                oom(in);
                        break;
                case STEP_CONFIG:
                        r = cached_config(in, in->config_digest, &in->res.config);
                        if (r < 0) {
                                oom(in);
                                break;
                        }
                        if (r > 0) {
                                in->step = STEP_CONFIG_READY;
                                break;
                        }
                        in->step = STEP_WAIT;
                        r = registry_get_config(in->rc, in->domain, in->path, in->config_digest, on_config, in);
                        if (r < 0)
                                submit_failed(in, r, "config blob");
                        break;
                case STEP_CONFIG_READY:
                        config_ready(in);
                        break;
                case STEP_WAIT:
                        return false;
                case STEP_DONE:
                        return true;
                }
}

int inspect_version(struct registry_client *rc, const char *domain, const char *path, const char *tag,
                    const struct inspect_options *opts, inspect_fn cb, void *userdata, struct inspect_result *ret) {
        if (!rc || !domain || !path || !tag || !opts || !opts->platform || !opts->platform->os ||
            !opts->platform->architecture || !cb || !ret)
                return -EINVAL;
        if (opts->digest && !manifest_digest_valid(opts->digest))
                return -EINVAL;
        struct inspection *in = calloc(1, sizeof *in);
        if (!in)
                return -ENOMEM;
        struct reference ref = {.domain = (char *) domain, .path = (char *) path};
        in->rc = rc;
        in->cache = opts->cache;
        in->recheck = opts->recheck;
        in->labels_anyway = opts->labels_anyway;
        in->cb = cb;
        in->userdata = userdata;
        in->domain = strdup(domain);
        in->path = strdup(path);
        in->tag = strdup(tag);
        in->name = reference_familiar_name(&ref);
        in->want.os = strdup(opts->platform->os);
        in->want.architecture = strdup(opts->platform->architecture);
        in->want.variant = opts->platform->variant ? strdup(opts->platform->variant) : NULL;
        in->res.digest = opts->digest ? strdup(opts->digest) : NULL;
        if (!in->domain || !in->path || !in->tag || !in->name || !in->want.os || !in->want.architecture ||
            (opts->platform->variant && !in->want.variant) || (opts->digest && !in->res.digest)) {
                inspection_free(in);
                return -ENOMEM;
        }
        if (!inspection_run(in))
                return 0;
        *ret = in->res;
        in->res = (struct inspect_result) {};
        inspection_free(in);
        return 1;
}
