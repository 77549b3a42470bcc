/* The configuration file (CONTRACT §2), its defaults, the XDG locations and platform strings. */
#include "config.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <sys/utsname.h>
#include <sys/stat.h>
#include <unistd.h>

#include "platform.h"
#include "semver.h"
#include "host.h"
#include "text.h"
#include "util.h"

static void json_deletep(cJSON **j) {
        cJSON_Delete(*j);
}

/* Longest value quoted back in a message; the rest is elided. */
#define QUOTE_MAX 80u

static bool ascii_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static char ascii_lower(char c) {
        return c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c;
}


/* ---- platforms ---- */

static int platform_string(const struct platform *p, char **ret) {
        char *s = platform_format(p);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int config_platform_normalize(const char *os, const char *arch, const char *variant, char **ret) {
        struct platform p;

        /* Unlike a registry's text, ours must be a platform: its components are checked. */
        if (!os || !arch || !platform_component_valid(os) || !platform_component_valid(arch) ||
            (variant && *variant && !platform_component_valid(variant)))
                return -EINVAL;
        int r = platform_normalize(os, arch, variant, &p);
        if (r < 0)
                return r;
        return platform_string(&p, ret);
}

int config_platform_parse(const char *s, char **ret) {
        struct platform p;
        int r = platform_parse(s, &p);
        if (r < 0)
                return r;
        return platform_string(&p, ret);
}

int config_platform_host(char **ret) {
        /* The build's target, not uname(): a 32-bit userland on a 64-bit kernel runs 32-bit images. */
#if defined(__x86_64__)
        return config_platform_normalize("linux", "amd64", NULL, ret);
#elif defined(__aarch64__)
        return config_platform_normalize("linux", "arm64", NULL, ret);
#elif defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH >= 7
        return config_platform_normalize("linux", "arm", "v7", ret);
#elif defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH == 6
        return config_platform_normalize("linux", "arm", "v6", ret);
#elif defined(__arm__)
        return config_platform_normalize("linux", "arm", "v5", ret);
#elif defined(__i386__)
        return config_platform_normalize("linux", "386", NULL, ret);
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        return config_platform_normalize("linux", "ppc64le", NULL, ret);
#elif defined(__s390x__)
        return config_platform_normalize("linux", "s390x", NULL, ret);
#elif defined(__riscv) && __riscv_xlen == 64
        return config_platform_normalize("linux", "riscv64", NULL, ret);
#else
        struct utsname u;
        if (uname(&u) < 0)
                return -errno;
        return config_platform_normalize("linux", u.machine, NULL, ret);
#endif
}

/* ---- hosts and URLs ---- */

bool config_host_is_loopback(const char *host) {
        char buf[256];
        if (strlen(host) >= sizeof(buf))
                return false;
        if (host[0] == '[') {
                const char *end = strchr(host, ']');
                if (!end)
                        return false;
                memcpy(buf, host + 1, (size_t) (end - host - 1));
                buf[end - host - 1] = 0;
        } else {
                strcpy(buf, host);
                char *colon = strchr(buf, ':');
                /* One colon separates a port; more make a bare IPv6 address. */
                if (colon && !strchr(colon + 1, ':'))
                        *colon = 0;
        }
        if (strcasecmp(buf, "localhost") == 0)
                return true;
        struct in_addr a4;
        if (inet_pton(AF_INET, buf, &a4) == 1)
                return (ntohl(a4.s_addr) >> 24) == 127;
        struct in6_addr a6;
        if (inet_pton(AF_INET6, buf, &a6) == 1)
                return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
        return false;
}

/* Checks an http(s) URL. With base_only, the URL must be a bare endpoint (no credentials, path,
 * query or fragment) and *ret_canonical (optional) receives it as "scheme://host[:port]" in
 * lowercase. Returns NULL, or why the URL is refused. */
static const char *url_check(const char *s, bool base_only, char **ret_canonical, bool *ret_http,
                             bool *ret_loopback) {
        const char *authority = util_startswith_no_case(s, "http://");
        bool http = !!authority;
        if (!authority)
                authority = util_startswith_no_case(s, "https://");
        if (!authority)
                return "is not an absolute http:// or https:// URL";
        /* curl reads "https:///x" as host "x"; a browser does not. */
        if (*authority == '/' || *authority == '\\')
                return "is not a well-formed URL";
        CURLU *u = curl_url();
        if (!u)
                return "could not be checked (out of memory)";
        const char *problem = NULL;
        char *host = NULL, *port = NULL, *user = NULL, *query = NULL, *fragment = NULL, *path = NULL;
        if (curl_url_set(u, CURLUPART_URL, s, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !*host)
                problem = "is not a well-formed URL";
        else if (base_only) {
                if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK)
                        problem = "must not contain credentials";
                else if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
                         curl_url_get(u, CURLUPART_FRAGMENT, &fragment, 0) == CURLUE_OK)
                        problem = "must not have a query or a fragment";
                else if (curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK && path && !streq(path, "/") &&
                         !streq(path, ""))
                        problem = "must not have a path (the registry API is always at /v2/)";
        }
        if (!problem && ret_canonical) {
                (void) curl_url_get(u, CURLUPART_PORT, &port, 0);
                char *c = port ? util_printf("%s://%s:%s", http ? "http" : "https", host, port)
                               : util_printf("%s://%s", http ? "http" : "https", host);
                if (!c)
                        problem = "could not be checked (out of memory)";
                else {
                        util_ascii_lower_copy(c, c);
                        *ret_canonical = c;
                }
        }
        if (!problem) {
                if (ret_http)
                        *ret_http = http;
                if (ret_loopback)
                        *ret_loopback = config_host_is_loopback(host);
        }
        curl_free(host);
        curl_free(port);
        curl_free(user);
        curl_free(query);
        curl_free(fragment);
        curl_free(path);
        curl_url_cleanup(u);
        return problem;
}

/* ---- defaults ---- */

int config_init_defaults(struct config *ret) {
        struct config c = {
                .interval = CONFIG_DEFAULT_INTERVAL,
                .notifications = true,
                .max_connections = CONFIG_DEFAULT_MAX_CONNECTIONS,
                .repository_timeout = CONFIG_DEFAULT_REPOSITORY_TIMEOUT,
                .installed_source = CONFIG_INSTALLED_AUTO,
                .log_level = CONFIG_LOG_INFO,
                .max_inspected_versions = CONFIG_DEFAULT_MAX_INSPECTED,
        };
        int r = util_strv_push(&c.allowlist, CONFIG_DEFAULT_ALLOWLIST);
        if (r >= 0)
                r = config_platform_host(&c.platform);
        if (r < 0) {
                config_done(&c);
                return r;
        }
        *ret = c;
        return 0;
}

static void registry_done(struct config_registry *r) {
        free(r->host);
        free(r->url);
        free(r->ca_file);
        *r = (struct config_registry) {};
}

void config_done(struct config *c) {
        if (!c)
                return;
        util_strv_free(c->allowlist);
        free(c->extension_api_version);
        free(c->desktop_version);
        free(c->platform);
        for (size_t i = 0; i < c->n_registries; i++)
                registry_done(&c->registries[i]);
        free(c->registries);
        *c = (struct config) {};
}

/* ---- loading ---- */

struct loader {
        const char *name;
        const char *base_dir;
        char **warnings, **errors;
        size_t n_warnings, n_errors;
        bool oom;
};

static void add_message(struct loader *l, char ***list, size_t *n, char *m) {
        if (!m) {
                l->oom = true;
                return;
        }
        if (*n >= CONFIG_MAX_MESSAGES) {
                free(m);
                return;
        }
        if (*n == CONFIG_MAX_MESSAGES - 1) {
                free(m);
                m = util_printf("%s: more problems were found; only the first %u are listed", l->name,
                                CONFIG_MAX_MESSAGES - 1);
        }
        if (util_strv_consume(list, m) < 0)
                l->oom = true;
        (*n)++;
}

static void message(struct loader *l, bool error, const char *keypath, const char *fmt, va_list ap) _printf_(4, 0);
static void message(struct loader *l, bool error, const char *keypath, const char *fmt, va_list ap) {
        char *m = NULL;
        if (vasprintf(&m, fmt, ap) < 0) {
                l->oom = true;
                return;
        }
        char *full = keypath ? util_printf("%s: %s: %s", l->name, keypath, m) : util_printf("%s: %s", l->name, m);
        free(m);
        if (error)
                add_message(l, &l->errors, &l->n_errors, full);
        else
                add_message(l, &l->warnings, &l->n_warnings, full);
}

static void lerror(struct loader *l, const char *keypath, const char *fmt, ...) _printf_(3, 4);
static void lerror(struct loader *l, const char *keypath, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        message(l, true, keypath, fmt, ap);
        va_end(ap);
}

static void lwarn(struct loader *l, const char *keypath, const char *fmt, ...) _printf_(3, 4);
static void lwarn(struct loader *l, const char *keypath, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        message(l, false, keypath, fmt, ap);
        va_end(ap);
}

/* A value from the file as a message quotes it: short, and escaped so it cannot garble a terminal. */
static char *quote(const char *s) {
        return text_quote_str(s, QUOTE_MAX);
}

static bool identifier(const char *s) {
        if (!*s || (*s >= '0' && *s <= '9'))
                return false;
        for (; *s; s++)
                if (!ascii_alnum(*s) && *s != '_')
                        return false;
        return true;
}

/* The jq-style path of key inside parent: interval, registries."ghcr.io".url. */
static char *keypath(const char *parent, const char *key) {
        _cleanup_free_ char *q = identifier(key) ? strdup(key) : quote(key);
        if (!q)
                return NULL;
        return parent ? util_printf("%s.%s", parent, q) : TAKE_PTR(q);
}

static const char *type_name(const cJSON *v) {
        if (cJSON_IsString(v))
                return "a string";
        if (cJSON_IsNumber(v))
                return "a number";
        if (cJSON_IsBool(v))
                return "a boolean";
        if (cJSON_IsNull(v))
                return "null";
        if (cJSON_IsArray(v))
                return "an array";
        if (cJSON_IsObject(v))
                return "an object";
        return "an invalid value";
}

/* A string value for key path kp, or NULL after reporting why not (wrong type, too long, control
 * characters). */
static const char *get_string(struct loader *l, const char *kp, const cJSON *v) {
        if (!cJSON_IsString(v) || !v->valuestring) {
                lerror(l, kp, "expected a string, got %s", type_name(v));
                return NULL;
        }
        const char *s = v->valuestring;
        if (strlen(s) > CONFIG_MAX_STRING) {
                lerror(l, kp, "longer than %u bytes", CONFIG_MAX_STRING);
                return NULL;
        }
        for (const char *p = s; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f) {
                        lerror(l, kp, "contains a control character");
                        return NULL;
                }
        return s;
}

static bool get_bool(struct loader *l, const char *kp, const cJSON *v, bool *ret) {
        if (!cJSON_IsBool(v)) {
                lerror(l, kp, "expected true or false, got %s", type_name(v));
                return false;
        }
        *ret = cJSON_IsTrue(v);
        return true;
}

static bool get_unsigned(struct loader *l, const char *kp, const cJSON *v, const char *what, unsigned min,
                         unsigned max, unsigned *ret) {
        if (!cJSON_IsNumber(v)) {
                lerror(l, kp, "expected %s, got %s", what, type_name(v));
                return false;
        }
        double d = v->valuedouble;
        if (!isfinite(d) || d != floor(d)) {
                lerror(l, kp, "expected %s, got %.15g", what, d);
                return false;
        }
        if (d < min || d > max) {
                /* Whole numbers print in full unless they are too large to be meant. */
                if (fabs(d) < 1e15)
                        lerror(l, kp, "%.0f is out of range (%u to %u)", d, min, max);
                else
                        lerror(l, kp, "%g is out of range (%u to %u)", d, min, max);
                return false;
        }
        *ret = (unsigned) d;
        return true;
}

static bool set_string(struct loader *l, char **field, const char *value) {
        char *s = NULL;
        if (value && !(s = strdup(value))) {
                l->oom = true;
                return false;
        }
        free(*field);
        *field = s;
        return true;
}

/* One allow-list source: a path (made absolute against base_dir) or an http(s) URL. */
static char *load_source(struct loader *l, const char *kp, const cJSON *v) {
        const char *s = get_string(l, kp, v);
        if (!s)
                return NULL;
        if (!*s) {
                lerror(l, kp, "empty; expected a file path or an https:// URL");
                return NULL;
        }
        /* A URL is shown without its userinfo: a password must not reach any message. */
        _cleanup_free_ char *shown = host_url_redact(s);
        _cleanup_free_ char *q = shown ? quote(shown) : NULL;
        if (!q) {
                l->oom = true;
                return NULL;
        }
        if (strstr(s, "://")) {
                if (host_url_has_userinfo(s)) {
                        lerror(l, kp, "%s: a user name or password in an allow-list URL is refused (it would be "
                                      "repeated in messages, the state and the cache)", q);
                        return NULL;
                }
                bool http = false, loopback = false;
                const char *problem = url_check(s, false, NULL, &http, &loopback);
                if (problem) {
                        lerror(l, kp, "%s %s", q, problem);
                        return NULL;
                }
                if (http && !loopback) {
                        lerror(l, kp, "%s: plain HTTP is allowed only for a loopback host; use https://", q);
                        return NULL;
                }
        } else if (s[0] != '/' && l->base_dir) {
                char *p = util_printf("%s/%s", l->base_dir, s);
                if (!p)
                        l->oom = true;
                return p;
        }
        char *p = strdup(s);
        if (!p)
                l->oom = true;
        return p;
}

static void load_allowlist(struct loader *l, const cJSON *v, struct config *c) {
        _cleanup_strv_free_ char **list = NULL;
        bool ok = true;
        if (cJSON_IsString(v)) {
                char *p = load_source(l, "allowlist", v);
                if (!p || util_strv_consume(&list, p) < 0)
                        ok = false;
        } else if (cJSON_IsArray(v)) {
                if ((size_t) cJSON_GetArraySize(v) > CONFIG_MAX_ALLOWLIST) {
                        lerror(l, "allowlist", "more than %u entries", CONFIG_MAX_ALLOWLIST);
                        return;
                }
                size_t i = 0;
                for (const cJSON *e = v->child; e; e = e->next, i++) {
                        _cleanup_free_ char *kp = util_printf("allowlist[%zu]", i);
                        if (!kp) {
                                l->oom = true;
                                return;
                        }
                        _cleanup_free_ char *p = load_source(l, kp, e);
                        if (!p) {
                                ok = false;
                                continue;
                        }
                        if (util_strv_contains(list, p)) {
                                _cleanup_free_ char *q = quote(p);
                                if (q)
                                        lwarn(l, kp, "%s is listed twice", q);
                                else
                                        l->oom = true;
                                continue;
                        }
                        if (util_strv_consume(&list, TAKE_PTR(p)) < 0) {
                                l->oom = true;
                                return;
                        }
                }
                if (i == 0) {
                        lwarn(l, "allowlist", "empty; nothing will be scanned");
                        if (!(list = calloc(1, sizeof(char *)))) {
                                l->oom = true;
                                return;
                        }
                }
        } else {
                lerror(l, "allowlist", "expected a string or an array of strings, got %s", type_name(v));
                return;
        }
        if (!ok)
                return;
        util_strv_free(c->allowlist);
        c->allowlist = TAKE_PTR(list);
}

static void load_api_version(struct loader *l, const cJSON *v, struct config *c) {
        if (cJSON_IsNull(v)) {
                set_string(l, &c->extension_api_version, NULL);
                return;
        }
        const char *s = get_string(l, "extension_api_version", v);
        if (!s)
                return;
        struct semver ver;
        /* "v0.3.4" as everywhere a version is read; kept without the 'v', as Docker prints it. */
        int r = semver_parse(s, SEMVER_PARSE_ALLOW_V, &ver);
        if (r == -ENOMEM) {
                l->oom = true;
                return;
        }
        if (r < 0) {
                _cleanup_free_ char *q = quote(s);
                if (q)
                        lerror(l, "extension_api_version", "%s is not a valid SemVer version (such as \"0.3.4\")", q);
                else
                        l->oom = true;
                return;
        }
        semver_done(&ver);
        set_string(l, &c->extension_api_version, s + (s[0] == 'v'));
}

static void load_desktop_version(struct loader *l, const cJSON *v, struct config *c) {
        if (cJSON_IsNull(v)) {
                set_string(l, &c->desktop_version, NULL);
                return;
        }
        const char *s = get_string(l, "desktop_version", v);
        if (s)
                set_string(l, &c->desktop_version, *s ? s : NULL);
}

static void load_platform(struct loader *l, const cJSON *v, struct config *c) {
        const char *s = get_string(l, "platform", v);
        if (!s)
                return;
        char *p = NULL;
        int r = config_platform_parse(s, &p);
        if (r == -ENOMEM) {
                l->oom = true;
                return;
        }
        if (r < 0) {
                _cleanup_free_ char *q = quote(s);
                if (q)
                        lerror(l, "platform", "%s is not a platform of the form os/arch[/variant] (such as \"linux/amd64\")",
                               q);
                else
                        l->oom = true;
                return;
        }
        free(c->platform);
        c->platform = p;
}

/* Suggests a known key for a misspelt one: same letters ignoring case, '-' for '_', or one edit. */
static const char *suggest_key(const char *key, const char *const *known, size_t n_known) {
        size_t lk = strlen(key);
        for (size_t i = 0; i < n_known; i++) {
                const char *k = known[i];
                size_t lw = strlen(k);
                if (lk == lw) {
                        size_t diff = 0;
                        bool loose = true;
                        for (size_t j = 0; j < lk; j++) {
                                char a = ascii_lower(key[j]), b = k[j];
                                if (a == '-')
                                        a = '_';
                                loose = loose && a == b;
                                diff += key[j] != k[j];
                        }
                        if (loose || diff <= 1)
                                return k;
                } else if (lk + 1 == lw || lw + 1 == lk) {
                        /* One character inserted or dropped. */
                        const char *lng = lk > lw ? key : k, *sht = lk > lw ? k : key;
                        size_t j = 0;
                        while (sht[j] && sht[j] == lng[j])
                                j++;
                        if (streq(sht + j, lng + j + 1))
                                return k;
                }
        }
        return NULL;
}

static void warn_unknown(struct loader *l, const char *parent, const char *key, const char *const *known,
                         size_t n_known) {
        _cleanup_free_ char *q = quote(key);
        if (!q) {
                l->oom = true;
                return;
        }
        const char *s = suggest_key(key, known, n_known);
        if (s)
                lwarn(l, parent, "unknown key %s (did you mean \"%s\"?)", q, s);
        else
                lwarn(l, parent, "unknown key %s", q);
}

static const char *const registry_keys[] = { "url", "insecure", "ca_file" };

/* A registry's CA bundle: a readable regular file, made absolute against base_dir. */
static char *load_ca_file(struct loader *l, const char *kp, const cJSON *v) {
        const char *s = get_string(l, kp, v);
        if (!s)
                return NULL;
        if (!*s) {
                lerror(l, kp, "empty; expected the path of a PEM file of CA certificates");
                return NULL;
        }
        char *p = s[0] != '/' && l->base_dir ? util_printf("%s/%s", l->base_dir, s) : strdup(s);
        if (!p) {
                l->oom = true;
                return NULL;
        }
        struct stat st;
        const char *why = NULL;
        if (stat(p, &st) < 0 || access(p, R_OK) < 0)
                why = strerror(errno);
        else if (!S_ISREG(st.st_mode))
                why = "not a regular file";
        if (why) {
                _cleanup_free_ char *q = quote(p);
                if (q)
                        lerror(l, kp, "cannot read %s: %s", q, why);
                else
                        l->oom = true;
                free(p);
                return NULL;
        }
        return p;
}

static void load_registry(struct loader *l, const char *key, const cJSON *v, struct config *c) {
        _cleanup_free_ char *kp = keypath("registries", key);
        if (!kp) {
                l->oom = true;
                return;
        }
        if (!host_is_valid(key, strlen(key), true)) {
                lerror(l, kp, "not a registry host as image references write it (such as \"ghcr.io\" or "
                              "\"127.0.0.1:5000\")");
                return;
        }
        if (!cJSON_IsObject(v)) {
                lerror(l, kp, "expected an object, got %s", type_name(v));
                return;
        }

        struct config_registry reg = {};
        _cleanup_free_ char *url_kp = keypath(kp, "url");
        _cleanup_free_ char *insecure_kp = keypath(kp, "insecure");
        _cleanup_free_ char *ca_kp = keypath(kp, "ca_file");
        if (!url_kp || !insecure_kp || !ca_kp || !(reg.host = strdup(key))) {
                l->oom = true;
                return;
        }
        util_ascii_lower_copy(reg.host, reg.host);
        bool ok = true, seen_url = false, seen_insecure = false, seen_ca = false, url_http = false,
             url_loopback = false;
        for (const cJSON *m = v->child; m; m = m->next) {
                if (streq(m->string, "url")) {
                        if (seen_url)
                                lwarn(l, kp, "duplicate key \"url\"; the last one counts");
                        seen_url = true;
                        free(reg.url);
                        reg.url = NULL;
                        const char *s = get_string(l, url_kp, m);
                        if (!s) {
                                ok = false;
                                continue;
                        }
                        const char *problem = url_check(s, true, &reg.url, &url_http, &url_loopback);
                        if (problem) {
                                _cleanup_free_ char *shown = host_url_redact(s);
                                _cleanup_free_ char *q = shown ? quote(shown) : NULL;
                                if (q)
                                        lerror(l, url_kp, "%s %s", q, problem);
                                else
                                        l->oom = true;
                                ok = false;
                        }
                } else if (streq(m->string, "insecure")) {
                        if (seen_insecure)
                                lwarn(l, kp, "duplicate key \"insecure\"; the last one counts");
                        seen_insecure = true;
                        ok = get_bool(l, insecure_kp, m, &reg.insecure) && ok;
                } else if (streq(m->string, "ca_file")) {
                        if (seen_ca)
                                lwarn(l, kp, "duplicate key \"ca_file\"; the last one counts");
                        seen_ca = true;
                        free(reg.ca_file);
                        reg.ca_file = load_ca_file(l, ca_kp, m);
                        ok = reg.ca_file && ok;
                } else
                        warn_unknown(l, kp, m->string, registry_keys, ELEMENTSOF(registry_keys));
        }
        if (ok && reg.url && url_http && !reg.insecure && !url_loopback) {
                lerror(l, url_kp, "plain HTTP needs \"insecure\": true or a loopback host");
                ok = false;
        }
        if (!ok) {
                registry_done(&reg);
                return;
        }

        for (size_t i = 0; i < c->n_registries; i++)
                if (streq(c->registries[i].host, reg.host)) {
                        lwarn(l, kp, "the same registry as an earlier entry; the last one counts");
                        registry_done(&c->registries[i]);
                        c->registries[i] = reg;
                        return;
                }
        struct config_registry *n = realloc(c->registries, (c->n_registries + 1) * sizeof(*n));
        if (!n) {
                registry_done(&reg);
                l->oom = true;
                return;
        }
        c->registries = n;
        c->registries[c->n_registries++] = reg;
}

static void load_registries(struct loader *l, const cJSON *v, struct config *c) {
        if (!cJSON_IsObject(v)) {
                lerror(l, "registries", "expected an object, got %s", type_name(v));
                return;
        }
        if ((size_t) cJSON_GetArraySize(v) > CONFIG_MAX_REGISTRIES) {
                lerror(l, "registries", "more than %u entries", CONFIG_MAX_REGISTRIES);
                return;
        }
        /* A later "registries" key replaces an earlier one as a whole, as for every other key. */
        for (size_t i = 0; i < c->n_registries; i++)
                registry_done(&c->registries[i]);
        c->n_registries = 0;
        for (const cJSON *m = v->child; m && !l->oom; m = m->next)
                load_registry(l, m->string, m, c);
}

static const char *const installed_source_names[] = {
        [CONFIG_INSTALLED_AUTO] = "auto",
        [CONFIG_INSTALLED_DOCKER] = "docker",
        [CONFIG_INSTALLED_API] = "api",
};

static const char *const log_level_names[] = {
        [CONFIG_LOG_ERROR] = "error",
        [CONFIG_LOG_WARNING] = "warning",
        [CONFIG_LOG_INFO] = "info",
        [CONFIG_LOG_DEBUG] = "debug",
};

const char *config_installed_source_name(enum config_installed_source s) {
        return (size_t) s < ELEMENTSOF(installed_source_names) ? installed_source_names[s] : NULL;
}

const char *config_log_level_name(enum config_log_level l) {
        return (size_t) l < ELEMENTSOF(log_level_names) ? log_level_names[l] : NULL;
}

/* One of a key's fixed words: its index in names, or -1 after reporting the choices. */
static int get_choice(struct loader *l, const char *kp, const cJSON *v, const char *const *names, size_t n) {
        const char *s = get_string(l, kp, v);
        if (!s)
                return -1;
        for (size_t i = 0; i < n; i++)
                if (streq(s, names[i]))
                        return (int) i;
        _cleanup_free_ char *q = quote(s);
        if (!q) {
                l->oom = true;
                return -1;
        }
        char choices[128] = "";
        for (size_t i = 0; i < n; i++)
                snprintf(choices + strlen(choices), sizeof(choices) - strlen(choices), "%s\"%s\"",
                         i == 0 ? "" : i + 1 == n ? " or " : ", ", names[i]);
        lerror(l, kp, "%s is not one of %s", q, choices);
        return -1;
}

static const char *const top_keys[] = {
        "allowlist",          "extension_api_version", "desktop_version", "platform",        "interval",
        "include_prerelease", "notifications",         "max_connections", "registries",      "scan_on_metered",
        "installed_source",   "log_level",             "repository_timeout", "max_inspected_versions",
};

static void load_key(struct loader *l, const cJSON *m, struct config *c) {
        const char *k = m->string;
        if (streq(k, "allowlist"))
                load_allowlist(l, m, c);
        else if (streq(k, "extension_api_version"))
                load_api_version(l, m, c);
        else if (streq(k, "desktop_version"))
                load_desktop_version(l, m, c);
        else if (streq(k, "platform"))
                load_platform(l, m, c);
        else if (streq(k, "interval"))
                (void) get_unsigned(l, k, m, "a whole number of seconds", CONFIG_MIN_INTERVAL, CONFIG_MAX_INTERVAL,
                                    &c->interval);
        else if (streq(k, "include_prerelease"))
                (void) get_bool(l, k, m, &c->include_prerelease);
        else if (streq(k, "notifications"))
                (void) get_bool(l, k, m, &c->notifications);
        else if (streq(k, "max_connections"))
                (void) get_unsigned(l, k, m, "a whole number", 1, CONFIG_MAX_CONNECTIONS, &c->max_connections);
        else if (streq(k, "repository_timeout"))
                (void) get_unsigned(l, k, m, "a whole number of seconds", 1, CONFIG_MAX_REPOSITORY_TIMEOUT,
                                    &c->repository_timeout);
        else if (streq(k, "max_inspected_versions"))
                (void) get_unsigned(l, k, m, "a whole number", 1, CONFIG_MAX_INSPECTED, &c->max_inspected_versions);
        else if (streq(k, "registries"))
                load_registries(l, m, c);
        else if (streq(k, "scan_on_metered"))
                (void) get_bool(l, k, m, &c->scan_on_metered);
        else if (streq(k, "installed_source")) {
                int i = get_choice(l, k, m, installed_source_names, ELEMENTSOF(installed_source_names));
                if (i >= 0)
                        c->installed_source = (enum config_installed_source) i;
        } else if (streq(k, "log_level")) {
                int i = get_choice(l, k, m, log_level_names, ELEMENTSOF(log_level_names));
                if (i >= 0)
                        c->log_level = (enum config_log_level) i;
        } else
                warn_unknown(l, NULL, k, top_keys, ELEMENTSOF(top_keys));
}

static bool json_space(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* 1-based line and column (in bytes) of offset in text. */
static void position(const char *text, size_t offset, size_t *ret_line, size_t *ret_column) {
        size_t line = 1, col = 1;
        for (size_t i = 0; i < offset; i++) {
                if (text[i] == '\n') {
                        line++;
                        col = 1;
                } else
                        col++;
        }
        *ret_line = line;
        *ret_column = col;
}

static void load_json(struct loader *l, const char *text, size_t len, struct config *c) {
        if (len > CONFIG_MAX_FILE_SIZE) {
                lerror(l, NULL, "larger than %u bytes", CONFIG_MAX_FILE_SIZE);
                return;
        }
        const char *nul = memchr(text, 0, len);
        size_t line, col;
        if (nul) {
                position(text, (size_t) (nul - text), &line, &col);
                add_message(l, &l->errors, &l->n_errors, util_printf("%s:%zu:%zu: NUL byte", l->name, line, col));
                return;
        }
        size_t blank = 0;
        while (blank < len && json_space(text[blank]))
                blank++;
        if (blank == len) {
                lerror(l, NULL, "empty; expected a JSON object");
                return;
        }
        /* Trailing text is checked here: cJSON's own check wants the NUL inside the length. */
        const char *end = NULL;
        _cleanup_(json_deletep) cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
        if (root && end >= text && end <= text + len)
                while (end < text + len && json_space(*end))
                        end++;
        if (!root || end != text + len) {
                size_t off = end && end >= text && end <= text + len ? (size_t) (end - text) : 0;
                position(text, off, &line, &col);
                add_message(l, &l->errors, &l->n_errors, util_printf("%s:%zu:%zu: invalid JSON", l->name, line, col));
                return;
        }
        if (!cJSON_IsObject(root)) {
                lerror(l, NULL, "expected a JSON object at the top level, got %s", type_name(root));
                return;
        }
        bool seen[ELEMENTSOF(top_keys)] = {};
        for (const cJSON *m = root->child; m && !l->oom; m = m->next) {
                for (size_t i = 0; i < ELEMENTSOF(top_keys); i++)
                        if (streq(m->string, top_keys[i])) {
                                if (seen[i]) {
                                        _cleanup_free_ char *kp = keypath(NULL, m->string);
                                        if (kp)
                                                lwarn(l, kp, "duplicate key; the last one counts");
                                        else
                                                l->oom = true;
                                }
                                seen[i] = true;
                        }
                load_key(l, m, c);
        }
}

int config_load_string(const char *text, size_t len, const char *name, const char *base_dir, struct config *ret,
                       char ***ret_warnings, char ***ret_errors) {
        struct loader l = { .name = name, .base_dir = base_dir };
        struct config c;
        int r = config_init_defaults(&c);
        if (r < 0)
                l.oom = true;
        else
                load_json(&l, text, len, &c);

        if (l.oom)
                r = -ENOMEM;
        else if (l.n_errors > 0)
                r = -EINVAL;
        else
                r = 0;
        if (r == 0)
                *ret = c;
        else
                config_done(&c);
        if (r == -ENOMEM) {
                util_strv_free(l.warnings);
                util_strv_free(l.errors);
                l.warnings = l.errors = NULL;
        }
        if (ret_warnings)
                *ret_warnings = l.warnings;
        else
                util_strv_free(l.warnings);
        if (ret_errors)
                *ret_errors = l.errors;
        else
                util_strv_free(l.errors);
        return r;
}

int config_load_file(const char *path, struct config *ret, char ***ret_warnings, char ***ret_errors) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r = util_read_file(path, CONFIG_MAX_FILE_SIZE, &text, &len);
        if (r < 0) {
                char **errors = NULL;
                char *m = r == -EFBIG ? util_printf("%s: larger than %u bytes", path, CONFIG_MAX_FILE_SIZE)
                                      : util_printf("%s: cannot read: %s", path, util_read_file_strerror(r));
                if (util_strv_consume(&errors, m) < 0)
                        r = -ENOMEM;
                if (ret_warnings)
                        *ret_warnings = NULL;
                if (ret_errors)
                        *ret_errors = errors;
                else
                        util_strv_free(errors);
                return r;
        }
        _cleanup_free_ char *copy = strdup(path);
        if (!copy) {
                if (ret_warnings)
                        *ret_warnings = NULL;
                if (ret_errors)
                        *ret_errors = NULL;
                return -ENOMEM;
        }
        return config_load_string(text, len, path, dirname(copy), ret, ret_warnings, ret_errors);
}

/* ---- XDG locations ---- */

static char *home_dir(void) {
        const char *h = getenv("HOME");
        if (h && h[0] == '/')
                return strdup(h);
        struct passwd pw, *res = NULL;
        char buf[4096];
        if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &res) != 0 || !res || !pw.pw_dir || pw.pw_dir[0] != '/')
                return NULL;
        return strdup(pw.pw_dir);
}

static int xdg_path(const char *env, const char *fallback, const char *suffix, char **ret) {
        const char *e = getenv(env);
        char *p;
        if (e && e[0] == '/')
                p = util_printf("%s/%s", e, suffix);
        else {
                _cleanup_free_ char *home = home_dir();
                if (!home)
                        return -ENOENT;
                p = util_printf("%s/%s/%s", streq(home, "/") ? "" : home, fallback, suffix);
        }
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

int config_default_path(char **ret) {
        return xdg_path("XDG_CONFIG_HOME", ".config", "extupdated/config.json", ret);
}

int config_default_state_dir(char **ret) {
        return xdg_path("XDG_STATE_HOME", ".local/state", "extupdated", ret);
}

int config_state_dir(const char *dir, char **ret) {
        if (!dir)
                return config_default_state_dir(ret);
        char *p = strdup(dir);
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

int config_default_socket_path(char **ret) {
        const char *e = getenv("XDG_RUNTIME_DIR");
        if (!e || e[0] != '/')
                return -ENXIO;
        char *p = util_printf("%s/extupdated/api.sock", e);
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

/* ---- registry endpoints ---- */

/* The host as configuration keys write it (lowercase, docker.io for index.docker.io) into
 * buf[256]; false when it is not a registry host. */
static bool registry_key(const char *host, char buf[static 256]) {
        if (!host_is_valid(host, strlen(host), true))
                return false;
        util_ascii_lower_copy(buf, host);
        if (streq(buf, "index.docker.io"))
                strcpy(buf, "docker.io");
        return true;
}

static const struct config_registry *registry_find(const struct config *c, const char *key) {
        const struct config_registry *reg = NULL;
        for (size_t i = 0; c && i < c->n_registries; i++)
                if (streq(c->registries[i].host, key))
                        reg = &c->registries[i];
        return reg;
}

const char *config_registry_ca_file(const struct config *c, const char *host) {
        char h[256];
        const struct config_registry *reg = registry_key(host, h) ? registry_find(c, h) : NULL;
        return reg ? reg->ca_file : NULL;
}

int config_registry_endpoint(const struct config *c, const char *host, char **ret_url, bool *ret_allow_http) {
        char h[256];
        if (!registry_key(host, h))
                return -EINVAL;
        const struct config_registry *reg = registry_find(c, h);

        char *url;
        bool loopback;
        if (reg && reg->url) {
                url = strdup(reg->url);
                const char *authority = strstr(reg->url, "://") + 3;
                loopback = config_host_is_loopback(authority);
        } else {
                url = streq(h, "docker.io") ? strdup("https://registry-1.docker.io") : util_printf("https://%s", h);
                loopback = config_host_is_loopback(h);
        }
        if (!url)
                return -ENOMEM;
        *ret_url = url;
        if (ret_allow_http)
                *ret_allow_http = (reg && reg->insecure) || loopback;
        return 0;
}
