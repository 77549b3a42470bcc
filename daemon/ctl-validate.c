/* extupdatectl validate: check an extension image as the marketplace does, without pulling layers. */
#include "ctl-validate.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>
#include <uv.h>

#include "config.h"
#include "inspect.h"
#include "labels.h"
#include "manifest.h"
#include "reference.h"
#include "registry.h"
#include "semver.h"
#include "util.h"

/* The platforms the marketplace expects every extension to provide. */
static const char *const required_platforms[] = { "linux/amd64", "linux/arm64" };

struct validation {
        uv_loop_t loop;
        struct registry_client *rc;
        struct reference ref;
        char *repository; /* familiar name */
        const char *want_text;
        struct manifest_platform want;
        char *tag;
        bool tag_from_list;
        bool done;

        /* What the registry said, for the report. */
        char *digest;
        const char *media_type;
        char **platforms;
        char *config_platform;
        char *config_digest;
        cJSON *labels;

        cJSON *checks;
        unsigned errors, warnings;
};

static void help(void) {
        printf("Usage: extupdatectl validate [--config FILE] [--platform P] [--json] IMAGE[:TAG]\n"
               "Checks an extension image as the marketplace does, reading only manifests and the\n"
               "image config (never layers):\n"
               "  - TAG is a SemVer version (optionally with a leading v); without TAG the\n"
               "    greatest SemVer tag of the repository is checked (releases before pre-releases);\n"
               "  - linux/amd64 and linux/arm64 are both provided (and P, when given);\n"
               "  - every documented label is present and well-formed (required ones, JSON-array\n"
               "    ones, URLs, categories), read from the image config of P;\n"
               "  - the API version label is a range that parses.\n\n"
               "  --config FILE   configuration for registry endpoints (default: extupdated's)\n"
               "  --platform P    os/arch[/variant] whose config is read (default linux/amd64)\n"
               "  --json          print the report as JSON\n"
               "  --help          this text\n\n"
               "Credentials come from docker's config.json, as docker uses them.\n"
               "Exit status: 0 valid (warnings allowed); 1 invalid, with every problem listed, or a\n"
               "usage, configuration or registry error.\n");
}

_printf_(1, 2) static int usage_error(const char *fmt, ...) {
        va_list ap;
        fprintf(stderr, "extupdatectl validate: ");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\nTry 'extupdatectl validate --help'.\n");
        return 1;
}

enum status {
        STATUS_OK,
        STATUS_WARNING,
        STATUS_ERROR,
};

/* Records one check: its kind ("tag", "platform", "config", "label", "api_version", "registry"),
 * what it is about, and how it went. */
_printf_(5, 6) static void add_check(struct validation *v, const char *check, const char *subject,
                                     enum status status, const char *fmt, ...) {
        static const char *const names[] = { "ok", "warning", "error" };
        _cleanup_free_ char *message = NULL;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&message, fmt, ap) < 0)
                message = NULL;
        va_end(ap);
        cJSON *c = cJSON_CreateObject();
        if (!c || !cJSON_AddStringToObject(c, "check", check) || !cJSON_AddStringToObject(c, "subject", subject) ||
            !cJSON_AddStringToObject(c, "status", names[status]) ||
            !cJSON_AddStringToObject(c, "message", message ? message : "out of memory") ||
            !cJSON_AddItemToArray(v->checks, c)) {
                cJSON_Delete(c);
                fprintf(stderr, "extupdatectl validate: out of memory\n");
                exit(1);
        }
        v->errors += status == STATUS_ERROR;
        v->warnings += status == STATUS_WARNING;
}

static void finish(struct validation *v) {
        v->done = true;
}

static bool platform_provided(char *const *platforms, const struct manifest_platform *want) {
        for (char *const *p = platforms; p && *p; p++) {
                struct manifest_platform have = {};
                if (manifest_platform_parse(*p, &have) < 0)
                        continue;
                bool match = manifest_platform_match(want, &have) > 0;
                manifest_platform_done(&have);
                if (match)
                        return true;
        }
        return false;
}

static void check_platform(struct validation *v, const char *text) {
        struct manifest_platform p = {};
        if (manifest_platform_parse(text, &p) < 0)
                return;
        _cleanup_free_ char *subject = util_printf("platform %s", text);
        if (platform_provided(v->platforms, &p))
                add_check(v, "platform", subject ? subject : text, STATUS_OK, "provided");
        else {
                _cleanup_free_ char *list = NULL;
                for (char **i = v->platforms; i && *i; i++) {
                        char *n = util_printf("%s%s%s", list ? list : "", list ? ", " : "", *i);
                        free(list);
                        list = n;
                }
                add_check(v, "platform", subject ? subject : text, STATUS_ERROR, "not provided (the image provides %s)",
                          list ? list : "no platform");
        }
        manifest_platform_done(&p);
}

static void check_labels(struct validation *v) {
        struct labels_finding *f = NULL;
        size_t n = 0;
        if (labels_validate(v->labels, &f, &n) < 0) {
                fprintf(stderr, "extupdatectl validate: out of memory\n");
                exit(1);
        }
        bool api_reported = false;
        for (size_t i = 0; i < n; i++) {
                add_check(v, "label", f[i].label, f[i].severity == LABELS_ERROR ? STATUS_ERROR : STATUS_WARNING, "%s",
                          f[i].message);
                api_reported |= f[i].severity == LABELS_ERROR && streq(f[i].label, LABELS_API_VERSION);
        }
        if (labels_findings_errors(f, n) == 0)
                add_check(v, "label", "labels", STATUS_OK, "every required label is present and well-formed");
        labels_findings_free(f, n);

        const cJSON *api = cJSON_GetObjectItemCaseSensitive(v->labels, LABELS_API_VERSION);
        if (api_reported || !cJSON_IsString(api))
                return;
        _cleanup_(semver_range_freep) struct semver_range *range = NULL;
        int r = semver_range_parse(api->valuestring, 0, &range);
        _cleanup_free_ char *desugared = NULL;
        if (r >= 0)
                r = semver_range_format(range, &desugared);
        if (r == -ENOMEM) {
                fprintf(stderr, "extupdatectl validate: out of memory\n");
                exit(1);
        }
        if (r < 0)
                add_check(v, "api_version", LABELS_API_VERSION, STATUS_ERROR, "\"%s\" is not a valid version range",
                          api->valuestring);
        else
                add_check(v, "api_version", LABELS_API_VERSION, STATUS_OK, "\"%s\" parses as %s", api->valuestring,
                          desugared);
}

/* What the inspector found: the platforms, then the labels of the wanted platform's config (or,
 * when it is not provided, of the platform the image does provide). */
static void on_inspected(struct inspect_result *res, void *userdata) {
        struct validation *v = userdata;
        if (res->error) {
                add_check(v, "registry", "registry", STATUS_ERROR, "%s", res->message);
                finish(v);
                return;
        }
        v->digest = TAKE_PTR(res->digest);
        v->media_type = manifest_kind_is_index(res->kind) ? (res->kind == MANIFEST_OCI_INDEX
                                                                     ? MANIFEST_MEDIA_TYPE_OCI_INDEX
                                                                     : MANIFEST_MEDIA_TYPE_DOCKER_LIST)
                        : res->kind == MANIFEST_OCI_MANIFEST ? MANIFEST_MEDIA_TYPE_OCI_MANIFEST
                                                             : MANIFEST_MEDIA_TYPE_DOCKER_V2;
        v->platforms = TAKE_PTR(res->platforms);
        if (!v->platforms && !(v->platforms = calloc(1, sizeof(char *)))) {
                fprintf(stderr, "extupdatectl validate: out of memory\n");
                exit(1);
        }

        bool want_checked = false;
        for (size_t i = 0; i < ELEMENTSOF(required_platforms); i++) {
                check_platform(v, required_platforms[i]);
                want_checked |= streq(required_platforms[i], v->want_text);
        }
        if (!want_checked)
                check_platform(v, v->want_text);

        if (!res->config) {
                add_check(v, "config", "image config", STATUS_ERROR,
                          "the index provides no platform: no image config to read labels from");
                finish(v);
                return;
        }
        v->config_platform = TAKE_PTR(res->config_platform);
        v->config_digest = TAKE_PTR(res->config_digest);
        v->labels = TAKE_PTR(res->config->labels);
        if (res->provides_platform)
                add_check(v, "config", "image config", STATUS_OK, "read for %s (%s)", v->want_text, v->config_digest);
        else if (manifest_kind_is_index(res->kind))
                add_check(v, "config", "image config", STATUS_WARNING,
                          "%s is not provided: labels read from the %s image instead (%s)", v->want_text,
                          v->config_platform ? v->config_platform : "unknown", v->config_digest);
        else
                add_check(v, "config", "image config", STATUS_WARNING,
                          "%s is not provided: labels read from the image's only platform, %s (%s)", v->want_text,
                          v->config_platform ? v->config_platform : "unknown", v->config_digest);
        check_labels(v);
        finish(v);
}

static void inspect(struct validation *v) {
        /* The labels are worth checking even when the wanted platform is missing. */
        struct inspect_options o = {.platform = &v->want, .labels_anyway = true};
        struct inspect_result res = {};
        int r = inspect_version(v->rc, v->ref.domain, v->ref.path, v->tag, &o, on_inspected, v, &res);
        if (r > 0) {
                on_inspected(&res, v);
                inspect_result_done(&res);
        } else if (r < 0) {
                add_check(v, "registry", "registry", STATUS_ERROR, "%s: cannot ask the registry: %s", v->repository,
                          strerror(-r));
                finish(v);
        }
}

/* The greatest SemVer tag: releases first, pre-releases only when there is no release. */
static const char *greatest_tag(char *const *tags, size_t *ret_n) {
        const char *best = NULL;
        struct semver best_v = {};
        bool best_pre = true;
        size_t n = 0;
        for (char *const *t = tags; t && *t; t++) {
                struct semver s;
                if (semver_parse(*t, SEMVER_PARSE_ALLOW_V, &s) < 0)
                        continue;
                n++;
                bool pre = semver_is_prerelease(&s);
                if (!best || (best_pre && !pre) || (pre == best_pre && semver_compare(&s, &best_v) > 0)) {
                        semver_done(&best_v);
                        best_v = s;
                        best = *t;
                        best_pre = pre;
                } else
                        semver_done(&s);
        }
        semver_done(&best_v);
        *ret_n = n;
        return best;
}

static void on_tags(int error, const char *error_message, struct registry_tags *result, void *userdata) {
        struct validation *v = userdata;
        if (error < 0) {
                add_check(v, "registry", "registry", STATUS_ERROR, "%s", error_message);
                finish(v);
                return;
        }
        size_t n = 0;
        const char *best = greatest_tag(result->tags, &n);
        if (!best) {
                add_check(v, "tag", "tag", STATUS_ERROR, "no tag given and none of the %zu tags is a SemVer version",
                          result->n_tags);
                finish(v);
                return;
        }
        v->tag = strdup(best);
        if (!v->tag) {
                fprintf(stderr, "extupdatectl validate: out of memory\n");
                exit(1);
        }
        v->tag_from_list = true;
        add_check(v, "tag", "tag", STATUS_OK, "no tag given: %s is the greatest of %zu SemVer tags", v->tag, n);
        inspect(v);
}

static void start(struct validation *v) {
        if (!v->tag) {
                int r = registry_list_tags(v->rc, v->ref.domain, v->ref.path, on_tags, v);
                if (r < 0) {
                        add_check(v, "registry", "registry", STATUS_ERROR, "%s: cannot ask the registry: %s",
                                  v->repository, strerror(-r));
                        finish(v);
                }
                return;
        }
        struct semver s;
        if (semver_parse(v->tag, SEMVER_PARSE_ALLOW_V, &s) >= 0) {
                add_check(v, "tag", "tag", STATUS_OK, "%s is a SemVer version", v->tag);
                semver_done(&s);
        } else
                add_check(v, "tag", "tag", STATUS_ERROR,
                          "\"%s\" is not a SemVer version (the marketplace only offers tags like 1.2.3)", v->tag);
        inspect(v);
}

static int load_config(const char *path, struct config *ret) {
        _cleanup_free_ char *default_path = NULL;
        if (!path && config_default_path(&default_path) == 0 && access(default_path, F_OK) == 0)
                path = default_path;
        if (!path)
                return config_init_defaults(ret);
        _cleanup_strv_free_ char **warnings = NULL, **errors = NULL;
        int r = config_load_file(path, ret, &warnings, &errors);
        for (char **w = warnings; w && *w; w++)
                fprintf(stderr, "warning: %s\n", *w);
        for (char **e = errors; e && *e; e++)
                fprintf(stderr, "error: %s\n", *e);
        if (r < 0 && !errors)
                fprintf(stderr, "error: %s: %s\n", path, strerror(-r));
        return r;
}

static const char *field(const cJSON *c, const char *key) {
        const cJSON *j = cJSON_GetObjectItemCaseSensitive(c, key);
        return cJSON_IsString(j) ? j->valuestring : "";
}

static void print_human(const struct validation *v) {
        _cleanup_free_ char *image = util_printf("%s%s%s", v->repository, v->tag ? ":" : "", v->tag ? v->tag : "");
        printf("%s\n", image ? image : v->repository);
        if (v->digest)
                printf("  digest     %s (%s)\n", v->digest, v->media_type);
        if (v->platforms) {
                printf("  platforms ");
                for (char **p = v->platforms; *p; p++)
                        printf(" %s", *p);
                printf("%s\n", *v->platforms ? "" : " (none)");
        }
        const cJSON *c;
        cJSON_ArrayForEach(c, v->checks) {
                const char *status = field(c, "status");
                const char *mark = streq(status, "ok") ? "\u2713" : streq(status, "warning") ? "!" : "\u2717";
                printf("%s %s: %s\n", mark, field(c, "subject"), field(c, "message"));
        }
        if (v->errors == 0)
                printf("valid (%u warning%s)\n", v->warnings, v->warnings == 1 ? "" : "s");
        else
                printf("invalid: %u problem%s, %u warning%s\n", v->errors, v->errors == 1 ? "" : "s", v->warnings,
                       v->warnings == 1 ? "" : "s");
}

static cJSON *string_or_null(const char *s) {
        return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static int print_json(struct validation *v) {
        cJSON *j = cJSON_CreateObject();
        _cleanup_free_ char *image = util_printf("%s%s%s", v->repository, v->tag ? ":" : "", v->tag ? v->tag : "");
        cJSON *platforms = v->platforms ? cJSON_CreateArray() : cJSON_CreateNull();
        for (char **p = v->platforms; p && *p; p++)
                cJSON_AddItemToArray(platforms, cJSON_CreateString(*p));
        cJSON_AddItemToObject(j, "image", string_or_null(image));
        cJSON_AddItemToObject(j, "repository", string_or_null(v->repository));
        cJSON_AddItemToObject(j, "tag", string_or_null(v->tag));
        cJSON_AddBoolToObject(j, "tag_from_list", v->tag_from_list);
        cJSON_AddItemToObject(j, "digest", string_or_null(v->digest));
        cJSON_AddItemToObject(j, "media_type", string_or_null(v->media_type));
        cJSON_AddItemToObject(j, "platforms", platforms);
        cJSON_AddItemToObject(j, "platform", string_or_null(v->want_text));
        cJSON_AddItemToObject(j, "config_platform", string_or_null(v->config_platform));
        cJSON_AddItemToObject(j, "config_digest", string_or_null(v->config_digest));
        cJSON_AddItemToObject(j, "labels", v->labels ? cJSON_Duplicate(v->labels, true) : cJSON_CreateNull());
        cJSON_AddBoolToObject(j, "valid", v->errors == 0);
        cJSON_AddNumberToObject(j, "errors", v->errors);
        cJSON_AddNumberToObject(j, "warnings", v->warnings);
        cJSON_AddItemReferenceToObject(j, "checks", v->checks);
        char *text = cJSON_Print(j);
        cJSON_Delete(j);
        if (!text) {
                fprintf(stderr, "extupdatectl validate: out of memory\n");
                return -ENOMEM;
        }
        printf("%s\n", text);
        free(text);
        return 0;
}

static void validation_done(struct validation *v) {
        reference_done(&v->ref);
        free(v->repository);
        manifest_platform_done(&v->want);
        free(v->tag);
        free(v->digest);
        util_strv_free(v->platforms);
        free(v->config_platform);
        free(v->config_digest);
        cJSON_Delete(v->labels);
        cJSON_Delete(v->checks);
}

int ctl_validate_main(int argc, char **argv, const struct ctl_options *opts) {
        enum { OPT_CONFIG = 0x100, OPT_PLATFORM, OPT_JSON, OPT_HELP };
        static const struct option options[] = {
                { "config", required_argument, NULL, OPT_CONFIG },
                { "platform", required_argument, NULL, OPT_PLATFORM },
                { "json", no_argument, NULL, OPT_JSON },
                { "help", no_argument, NULL, OPT_HELP },
                {},
        };
        const char *config_path = NULL;
        bool json = opts && opts->json;
        struct validation v = { .want_text = "linux/amd64" };
        int c;

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case OPT_CONFIG:
                        config_path = optarg;
                        break;
                case OPT_PLATFORM:
                        v.want_text = optarg;
                        break;
                case OPT_JSON:
                        json = true;
                        break;
                case OPT_HELP:
                        help();
                        return 0;
                default:
                        if (optopt)
                                return usage_error("option \"%s\" needs an argument or is unknown", argv[optind - 1]);
                        return usage_error("unknown option \"%s\"", argv[optind - 1]);
                }
        if (argc - optind != 1)
                return usage_error("needs exactly one IMAGE[:TAG]");

        const char *why = NULL;
        int r = reference_parse_no_digest(argv[optind], &v.ref, &why);
        if (r == -ENOMEM)
                return usage_error("out of memory");
        if (r < 0)
                return usage_error("\"%s\": %s", argv[optind], why ? why : "invalid reference");
        if (manifest_platform_parse(v.want_text, &v.want) < 0) {
                reference_done(&v.ref);
                return usage_error("--platform \"%s\": not os/arch[/variant]", v.want_text);
        }
        v.repository = reference_familiar_name(&v.ref);
        v.tag = v.ref.tag ? strdup(v.ref.tag) : NULL;
        v.checks = cJSON_CreateArray();
        if (!v.repository || (v.ref.tag && !v.tag) || !v.checks) {
                validation_done(&v);
                return usage_error("out of memory");
        }

        struct config config = {};
        r = load_config(config_path, &config);
        if (r < 0) {
                validation_done(&v);
                return 1;
        }
        if (uv_loop_init(&v.loop) < 0) {
                config_done(&config);
                validation_done(&v);
                fprintf(stderr, "extupdatectl validate: cannot set up an event loop\n");
                return 1;
        }
        struct registry_options ro = { .config = &config };
        r = registry_client_new(&v.loop, &ro, &v.rc);
        if (r < 0) {
                fprintf(stderr, "extupdatectl validate: cannot set up the registry client: %s\n", strerror(-r));
        } else {
                start(&v);
                while (!v.done && uv_run(&v.loop, UV_RUN_ONCE) != 0)
                        ;
                if (!v.done)
                        add_check(&v, "registry", "registry", STATUS_ERROR, "the registry requests stopped without an answer");
                const char *note = registry_client_credentials_note(v.rc);
                if (note)
                        fprintf(stderr, "note: %s\n", note);
                registry_client_free(v.rc);
                uv_run(&v.loop, UV_RUN_DEFAULT);
        }
        uv_loop_close(&v.loop);
        config_done(&config);

        if (r >= 0) {
                if (json)
                        r = print_json(&v);
                else
                        print_human(&v);
        }
        int status = r < 0 || v.errors > 0 ? 1 : 0;
        validation_done(&v);
        return status;
}
