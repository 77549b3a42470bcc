/* Which Extension API version this Desktop speaks: the config, else `docker extension version`, else the fallback. */
#include "api-version.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "config.h"
#include "semver.h"
#include "util.h"

#define DETECT_OUTPUT_MAX 16384

int api_version_parse_docker_output(const char *output, char **ret) {
        /* The line reads "Server API Version: 0.3.4"; the client's own line is not the Desktop's. */
        for (const char *line = output; line && *line;) {
                const char *end = strchrnul(line, '\n');
                const char *p = line;
                while (*p == ' ' || *p == '\t')
                        p++;
                const char *v = util_startswith_no_case(p, "Server API Version:");
                if (v) {
                        while (*v == ' ' || *v == '\t')
                                v++;
                        size_t n = (size_t) (end - v);
                        while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\r' || v[n - 1] == '\t'))
                                n--;
                        _cleanup_free_ char *candidate = strndup(v, n);
                        if (!candidate)
                                return -ENOMEM;
                        struct semver sv;
                        if (semver_parse(candidate, SEMVER_PARSE_ALLOW_V, &sv) < 0)
                                return -EBADMSG;
                        semver_done(&sv);
                        *ret = TAKE_PTR(candidate);
                        return 0;
                }
                line = *end ? end + 1 : NULL;
        }
        return -ENOENT;
}

struct api_version_detect {
        uv_timer_t timer; /* answers the configured version from the loop, as a detection would */
        struct command *command;
        char *configured;
        api_version_fn cb;
        void *userdata;
};

static void on_detect_closed(uv_handle_t *h) {
        struct api_version_detect *d = h->data;
        free(d->configured);
        free(d);
}

static void detect_finish(struct api_version_detect *d, const char *version, enum api_version_source source) {
        d->command = NULL;
        d->cb(version, source, d->userdata);
        uv_close((uv_handle_t *) &d->timer, on_detect_closed);
}

static void on_configured(uv_timer_t *t) {
        struct api_version_detect *d = t->data;
        detect_finish(d, d->configured, API_VERSION_FROM_CONFIG);
}

static void on_docker_output(int error, int exit_status, const char *out, size_t len, void *userdata) {
        struct api_version_detect *d = userdata;
        _cleanup_free_ char *v = NULL;
        (void) len;
        if (error == 0 && exit_status == 0 && api_version_parse_docker_output(out, &v) == 0)
                detect_finish(d, v, API_VERSION_DETECTED);
        else
                detect_finish(d, CONFIG_FALLBACK_API_VERSION, API_VERSION_FALLBACK);
}

int api_version_detect_start(uv_loop_t *loop, const char *configured, api_version_fn cb, void *userdata,
                             struct api_version_detect **ret) {
        struct api_version_detect *d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->cb = cb;
        d->userdata = userdata;
        uv_timer_init(loop, &d->timer);
        d->timer.data = d;
        if (configured) {
                d->configured = strdup(configured);
                if (!d->configured) {
                        uv_close((uv_handle_t *) &d->timer, on_detect_closed);
                        return -ENOMEM;
                }
                uv_timer_start(&d->timer, on_configured, 0, 0);
        } else {
                char *const argv[] = { (char *) "docker", (char *) "extension", (char *) "version", NULL };
                int r = command_run(loop, argv, API_VERSION_DETECT_TIMEOUT_MS, DETECT_OUTPUT_MAX, on_docker_output,
                                    d, &d->command);
                if (r < 0) {
                        uv_close((uv_handle_t *) &d->timer, on_detect_closed);
                        return r;
                }
        }
        *ret = d;
        return 0;
}

void api_version_detect_cancel(struct api_version_detect *d) {
        if (!d || uv_is_closing((uv_handle_t *) &d->timer))
                return;
        command_cancel(TAKE_PTR(d->command));
        uv_close((uv_handle_t *) &d->timer, on_detect_closed);
}

struct resolved {
        char *version;
        enum api_version_source source;
};

static void on_resolved(const char *version, enum api_version_source source, void *userdata) {
        struct resolved *res = userdata;
        res->version = strdup(version);
        res->source = source;
}

int api_version_resolve(const char *configured, char **ret_version, enum api_version_source *ret_source) {
        uv_loop_t loop;
        struct resolved res = {};
        struct api_version_detect *d;
        if (uv_loop_init(&loop) < 0)
                return -ENOMEM;
        int r = api_version_detect_start(&loop, configured, on_resolved, &res, &d);
        if (r == 0)
                uv_run(&loop, UV_RUN_DEFAULT);
        (void) uv_loop_close(&loop);
        if (r < 0)
                return r;
        if (!res.version)
                return -ENOMEM;
        *ret_version = res.version;
        *ret_source = res.source;
        return 0;
}

const char *api_version_source_describe(enum api_version_source s) {
        switch (s) {
        case API_VERSION_FROM_CONFIG:
                return "from the configuration";
        case API_VERSION_DETECTED:
                return "detected with `docker extension version`";
        case API_VERSION_FALLBACK:
                break;
        }
        return "default: no configuration and no `docker extension version`";
}
