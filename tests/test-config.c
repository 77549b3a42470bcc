/* Tests for lib/config: keys, defaults, messages naming their key, XDG paths, endpoints, platforms. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "util.h"
#include "check.h"

/* The result of loading one text as "config.json". */
struct load {
        int r;
        struct config c;
        char **warnings, **errors;
};

static struct load load_base(const char *text, const char *base_dir) {
        struct load l = {};
        l.c.interval = 12345; /* must survive a failed load */
        l.r = config_load_string(text, strlen(text), "config.json", base_dir, &l.c, &l.warnings, &l.errors);
        return l;
}

static struct load load(const char *text) {
        return load_base(text, NULL);
}

static void load_done(struct load *l) {
        if (l->r == 0)
                config_done(&l->c);
        util_strv_free(l->warnings);
        util_strv_free(l->errors);
}

static void dump(const char *what, char **l) {
        for (char **i = l; i && *i; i++)
                fprintf(stderr, "    %s: %s\n", what, *i);
}

/* Expects the text to load, with exactly the given warning (or none, when NULL). */
static void expect_ok(int line, const char *text, const char *warning) {
        struct load l = load(text);
        if (!check_at(l.r == 0 && (warning ? util_strv_length(l.warnings) == 1 && streq(l.warnings[0], warning)
                                           : l.warnings == NULL),
                      __FILE__, line, "%s: expected success%s%s, got %d", text, warning ? " with warning " : "",
                      warning ? warning : "", l.r)) {
                dump("warning", l.warnings);
                dump("error", l.errors);
        }
        load_done(&l);
}

/* Expects the text to fail with exactly this one error, and no warning. */
static void expect_error(int line, const char *text, const char *error) {
        struct load l = load(text);
        if (!check_at(l.r == -EINVAL && util_strv_length(l.errors) == 1 && streq(l.errors[0], error) && !l.warnings &&
                              l.c.interval == 12345,
                      __FILE__, line, "%s: expected the error %s, got %d", text, error, l.r)) {
                dump("warning", l.warnings);
                dump("error", l.errors);
        }
        load_done(&l);
}

static void test_defaults(void) {
        struct config c;
        CHECK_INT(config_init_defaults(&c), 0);
        CHECK_INT(util_strv_length(c.allowlist), 1);
        CHECK_STR(c.allowlist[0], EXTUPDATED_PKGDATADIR "/extensions.txt");
        CHECK(c.extension_api_version == NULL);
        CHECK(c.desktop_version == NULL);
        _cleanup_free_ char *host = NULL;
        CHECK_INT(config_platform_host(&host), 0);
        CHECK_STR(c.platform, host);
        CHECK_INT(c.interval, 21600);
        CHECK(!c.include_prerelease);
        CHECK(c.notifications);
        CHECK_INT(c.max_connections, 8);
        CHECK_INT(c.repository_timeout, 60);
        CHECK_INT(c.max_inspected_versions, 32);
        CHECK_INT(c.n_registries, 0);
        config_done(&c);
        CHECK(c.allowlist == NULL && c.platform == NULL);
        config_done(NULL);

        struct load l = load("{}");
        CHECK_INT(l.r, 0);
        CHECK(l.warnings == NULL && l.errors == NULL);
        CHECK_STR(l.c.allowlist[0], EXTUPDATED_PKGDATADIR "/extensions.txt");
        CHECK_STR(l.c.platform, host);
        CHECK_INT(l.c.interval, 21600);
        CHECK_INT(l.c.max_connections, 8);
        CHECK_INT(l.c.repository_timeout, 60);
        load_done(&l);

        /* Output lists are optional. */
        struct config c2;
        CHECK_INT(config_load_string("{\"interval\": 60}", 16, "x", NULL, &c2, NULL, NULL), 0);
        CHECK_INT(c2.interval, 60);
        config_done(&c2);
        CHECK_INT(config_load_string("{\"interval\": 6}", 15, "x", NULL, &c2, NULL, NULL), -EINVAL);
}

static void test_every_key(void) {
        struct load l = load("{\"allowlist\": [\"/etc/ext.txt\", \"https://example.com/extensions.txt\"],"
                             " \"extension_api_version\": \"0.3.3\", \"desktop_version\": \"4.16.2\","
                             " \"platform\": \"linux/arm64\", \"interval\": 3600, \"include_prerelease\": true,"
                             " \"notifications\": false, \"max_connections\": 16, \"repository_timeout\": 5,"
                             " \"scan_on_metered\": true,"
                             " \"installed_source\": \"docker\", \"log_level\": \"debug\", \"max_inspected_versions\": 5,"
                             " \"registries\": {\"127.0.0.1:5000\": {\"url\": \"http://127.0.0.1:5000\", \"insecure\": true},"
                             "                  \"ghcr.io\": {\"url\": \"https://Mirror.Example.com:8443/\"}}}");
        CHECK_INT(l.r, 0);
        CHECK(l.warnings == NULL && l.errors == NULL);
        if (l.r == 0) {
                CHECK_INT(util_strv_length(l.c.allowlist), 2);
                CHECK_STR(l.c.allowlist[0], "/etc/ext.txt");
                CHECK_STR(l.c.allowlist[1], "https://example.com/extensions.txt");
                CHECK_STR(l.c.extension_api_version, "0.3.3");
                CHECK_STR(l.c.desktop_version, "4.16.2");
                CHECK_STR(l.c.platform, "linux/arm64");
                CHECK_INT(l.c.interval, 3600);
                CHECK(l.c.include_prerelease);
                CHECK(!l.c.notifications);
                CHECK_INT(l.c.max_connections, 16);
                CHECK_INT(l.c.repository_timeout, 5);
                CHECK(l.c.scan_on_metered);
                CHECK_INT(l.c.installed_source, CONFIG_INSTALLED_DOCKER);
                CHECK_INT(l.c.log_level, CONFIG_LOG_DEBUG);
                CHECK_INT(l.c.max_inspected_versions, 5);
                CHECK_INT(l.c.n_registries, 2);
                if (l.c.n_registries == 2) {
                        CHECK_STR(l.c.registries[0].host, "127.0.0.1:5000");
                        CHECK_STR(l.c.registries[0].url, "http://127.0.0.1:5000");
                        CHECK(l.c.registries[0].insecure);
                        CHECK_STR(l.c.registries[1].host, "ghcr.io");
                        CHECK_STR(l.c.registries[1].url, "https://mirror.example.com:8443");
                        CHECK(!l.c.registries[1].insecure);
                }
        }
        load_done(&l);
}

static void test_service_keys(void) {
        struct load l = load("{}");
        CHECK_INT(l.r, 0);
        CHECK(!l.c.scan_on_metered);
        CHECK_INT(l.c.installed_source, CONFIG_INSTALLED_AUTO);
        CHECK_INT(l.c.log_level, CONFIG_LOG_INFO);
        load_done(&l);

        l = load("{\"installed_source\": \"podman\", \"log_level\": 3, \"scan_on_metered\": \"yes\"}");
        CHECK_INT(l.r, -EINVAL);
        CHECK_INT(util_strv_length(l.errors), 3);
        if (util_strv_length(l.errors) == 3) {
                CHECK_STR(l.errors[0], "config.json: installed_source: \"podman\" is not one of \"auto\", \"docker\" or \"api\"");
                CHECK_STR(l.errors[1], "config.json: log_level: expected a string, got a number");
                CHECK_STR(l.errors[2], "config.json: scan_on_metered: expected true or false, got a string");
        }
        load_done(&l);
}

static void test_example_file(void) {
        /* The installed example, as meson writes it: its allow-list is where meson installs ours. */
        const char *build = getenv("EXTUPDATED_BUILD");
        _cleanup_free_ char *path = util_printf("%s/data/config.example.json", build ? build : ".");
        struct config c;
        char **warnings = NULL, **errors = NULL;
        int r = config_load_file(path, &c, &warnings, &errors);
        CHECK_INT(r, 0);
        CHECK(warnings == NULL);
        CHECK(errors == NULL);
        dump("warning", warnings);
        dump("error", errors);
        util_strv_free(warnings);
        util_strv_free(errors);
        if (r == 0) {
                CHECK(util_strv_length(c.allowlist) == 1 && streq(c.allowlist[0], CONFIG_DEFAULT_ALLOWLIST));
                config_done(&c);
        }

        /* The example shows every key. */
        _cleanup_free_ char *text = NULL;
        CHECK_INT(util_read_file(path, CONFIG_MAX_FILE_SIZE, &text, NULL), 0);
        cJSON *j = text ? cJSON_Parse(text) : NULL;
        CHECK(cJSON_IsObject(j));
        static const char *const keys[] = { "allowlist", "extension_api_version", "desktop_version",
                                            "platform", "interval", "include_prerelease",
                                            "notifications", "max_connections", "repository_timeout",
                                            "registries", "max_inspected_versions" };
        bool all = true;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (!cJSON_GetObjectItemCaseSensitive(j, keys[i])) {
                        all = false;
                        fprintf(stderr, "%s: no key \"%s\"\n", path, keys[i]);
                }
        CHECK(all);
        cJSON_Delete(j);
}

static void test_allowlist(void) {
        struct load l = load_base("{\"allowlist\": \"extensions.txt\"}", "/etc/extupdated");
        CHECK_INT(l.r, 0);
        CHECK(l.r != 0 || (util_strv_length(l.c.allowlist) == 1 && streq(l.c.allowlist[0], "/etc/extupdated/extensions.txt")));
        load_done(&l);

        l = load("{\"allowlist\": [\"a.txt\", \"http://127.0.0.1:8080/list.txt\", \"http://[::1]/l\", \"HTTPS://x.example/l\"]}");
        CHECK_INT(l.r, 0);
        CHECK(l.r != 0 || (util_strv_length(l.c.allowlist) == 4 && streq(l.c.allowlist[0], "a.txt") &&
                           streq(l.c.allowlist[1], "http://127.0.0.1:8080/list.txt")));
        load_done(&l);

        expect_ok(__LINE__, "{\"allowlist\": [\"/a\", \"/b\", \"/a\"]}", "config.json: allowlist[2]: \"/a\" is listed twice");
        expect_ok(__LINE__, "{\"allowlist\": []}", "config.json: allowlist: empty; nothing will be scanned");
        l = load("{\"allowlist\": []}");
        CHECK(l.r == 0 && l.c.allowlist && !l.c.allowlist[0]);
        load_done(&l);

        expect_error(__LINE__, "{\"allowlist\": [\"/a\", \"http://example.com/list\"]}",
                     "config.json: allowlist[1]: \"http://example.com/list\": plain HTTP is allowed only for a "
                     "loopback host; use https://");
        /* Userinfo is refused, and the password is in no message. */
        expect_error(__LINE__, "{\"allowlist\": [\"/a\", \"https://user:hunter2@example.com/list.txt\"]}",
                     "config.json: allowlist[1]: \"https://example.com/list.txt\": a user name or password in an "
                     "allow-list URL is refused (it would be repeated in messages, the state and the cache)");
        expect_error(__LINE__, "{\"allowlist\": \"http://token@127.0.0.1:8080/l\"}",
                     "config.json: allowlist: \"http://127.0.0.1:8080/l\": a user name or password in an allow-list "
                     "URL is refused (it would be repeated in messages, the state and the cache)");
        expect_error(__LINE__, "{\"allowlist\": \"https://a:b@c@example.com/l\"}",
                     "config.json: allowlist: \"https://example.com/l\": a user name or password in an allow-list "
                     "URL is refused (it would be repeated in messages, the state and the cache)");
        l = load("{\"allowlist\": \"https://example.com/a@b/list.txt\"}");
        CHECK_INT(l.r, 0);
        load_done(&l);
        expect_error(__LINE__, "{\"allowlist\": \"ftp://example.com/list\"}",
                     "config.json: allowlist: \"ftp://example.com/list\" is not an absolute http:// or https:// URL");
        expect_error(__LINE__, "{\"allowlist\": \"https:///list\"}",
                     "config.json: allowlist: \"https:///list\" is not a well-formed URL");
        expect_error(__LINE__, "{\"allowlist\": [\"\"]}",
                     "config.json: allowlist[0]: empty; expected a file path or an https:// URL");
        expect_error(__LINE__, "{\"allowlist\": [3]}", "config.json: allowlist[0]: expected a string, got a number");
        expect_error(__LINE__, "{\"allowlist\": {\"a\": 1}}",
                     "config.json: allowlist: expected a string or an array of strings, got an object");
        expect_error(__LINE__, "{\"allowlist\": \"/a\\u0001b\"}", "config.json: allowlist: contains a control character");

        _cleanup_free_ char *many = malloc(CONFIG_MAX_ALLOWLIST * 8 + 64);
        CHECK(many != NULL);
        if (many) {
                strcpy(many, "{\"allowlist\": [");
                for (unsigned i = 0; i <= CONFIG_MAX_ALLOWLIST; i++)
                        sprintf(many + strlen(many), "%s\"/%u\"", i ? "," : "", i);
                strcat(many, "]}");
                expect_error(__LINE__, many, "config.json: allowlist: more than 256 entries");
        }
}

static void test_versions(void) {
        expect_ok(__LINE__, "{\"extension_api_version\": \"0.3.4-beta.1+build.5\"}", NULL);
        struct load l = load("{\"extension_api_version\": null, \"desktop_version\": \"\"}");
        CHECK(l.r == 0 && l.c.extension_api_version == NULL && l.c.desktop_version == NULL);
        load_done(&l);
        expect_error(__LINE__, "{\"extension_api_version\": \"0.3\"}",
                     "config.json: extension_api_version: \"0.3\" is not a valid SemVer version (such as \"0.3.4\")");
        /* A leading 'v' as everywhere a version is read; kept as Docker prints it, without. */
        l = load("{\"extension_api_version\": \"v0.3.4\"}");
        CHECK(l.r == 0 && streq_ptr(l.c.extension_api_version, "0.3.4"));
        load_done(&l);
        expect_error(__LINE__, "{\"extension_api_version\": \"V0.3.4\"}",
                     "config.json: extension_api_version: \"V0.3.4\" is not a valid SemVer version (such as \"0.3.4\")");
        expect_error(__LINE__, "{\"extension_api_version\": \">=0.3.4\"}",
                     "config.json: extension_api_version: \">=0.3.4\" is not a valid SemVer version (such as \"0.3.4\")");
        expect_error(__LINE__, "{\"extension_api_version\": 3}",
                     "config.json: extension_api_version: expected a string, got a number");
        expect_error(__LINE__, "{\"desktop_version\": [\"4\"]}", "config.json: desktop_version: expected a string, got an array");
        expect_error(__LINE__, "{\"desktop_version\": \"4.25\\n\"}", "config.json: desktop_version: contains a control character");

        char big[CONFIG_MAX_STRING + 64];
        strcpy(big, "{\"desktop_version\": \"");
        size_t n = strlen(big);
        memset(big + n, '4', CONFIG_MAX_STRING + 1);
        strcpy(big + n + CONFIG_MAX_STRING + 1, "\"}");
        expect_error(__LINE__, big, "config.json: desktop_version: longer than 4096 bytes");
}

static void test_numbers_and_bools(void) {
        expect_ok(__LINE__, "{\"interval\": 60}", NULL);
        expect_ok(__LINE__, "{\"interval\": 2592000}", NULL);
        expect_ok(__LINE__, "{\"interval\": 6e2}", NULL);
        expect_error(__LINE__, "{\"interval\": 59}", "config.json: interval: 59 is out of range (60 to 2592000)");
        expect_error(__LINE__, "{\"interval\": 2592001}", "config.json: interval: 2592001 is out of range (60 to 2592000)");
        expect_error(__LINE__, "{\"interval\": -60}", "config.json: interval: -60 is out of range (60 to 2592000)");
        expect_error(__LINE__, "{\"interval\": 60.5}", "config.json: interval: expected a whole number of seconds, got 60.5");
        expect_error(__LINE__, "{\"interval\": \"60\"}",
                     "config.json: interval: expected a whole number of seconds, got a string");
        expect_error(__LINE__, "{\"interval\": 1e999}", "config.json: interval: expected a whole number of seconds, got inf");
        expect_error(__LINE__, "{\"interval\": 60.000001}",
                     "config.json: interval: expected a whole number of seconds, got 60.000001");
        expect_error(__LINE__, "{\"interval\": 1e300}", "config.json: interval: 1e+300 is out of range (60 to 2592000)");
        expect_error(__LINE__, "{\"interval\": null}", "config.json: interval: expected a whole number of seconds, got null");

        expect_ok(__LINE__, "{\"max_connections\": 1}", NULL);
        expect_ok(__LINE__, "{\"max_connections\": 64}", NULL);
        expect_error(__LINE__, "{\"max_connections\": 0}", "config.json: max_connections: 0 is out of range (1 to 64)");
        expect_error(__LINE__, "{\"max_connections\": 65}", "config.json: max_connections: 65 is out of range (1 to 64)");
        expect_error(__LINE__, "{\"max_connections\": true}", "config.json: max_connections: expected a whole number, got a boolean");
        expect_ok(__LINE__, "{\"repository_timeout\": 1}", NULL);
        expect_ok(__LINE__, "{\"repository_timeout\": 3600}", NULL);
        expect_error(__LINE__, "{\"repository_timeout\": 0}", "config.json: repository_timeout: 0 is out of range (1 to 3600)");
        expect_error(__LINE__, "{\"repository_timeout\": \"60\"}",
                     "config.json: repository_timeout: expected a whole number of seconds, got a string");
        expect_ok(__LINE__, "{\"max_inspected_versions\": 1}", NULL);
        expect_ok(__LINE__, "{\"max_inspected_versions\": 100000}", NULL);
        expect_error(__LINE__, "{\"max_inspected_versions\": 0}",
                     "config.json: max_inspected_versions: 0 is out of range (1 to 100000)");
        expect_error(__LINE__, "{\"max_inspected_versions\": \"32\"}",
                     "config.json: max_inspected_versions: expected a whole number, got a string");

        struct load l = load("{\"include_prerelease\": true, \"notifications\": false}");
        CHECK(l.r == 0 && l.c.include_prerelease && !l.c.notifications);
        load_done(&l);
        expect_error(__LINE__, "{\"include_prerelease\": \"yes\"}",
                     "config.json: include_prerelease: expected true or false, got a string");
        expect_error(__LINE__, "{\"notifications\": 1}", "config.json: notifications: expected true or false, got a number");
}

static void test_platform_key(void) {
        static const struct {
                const char *in, *out;
        } ok[] = {
                { "linux/amd64", "linux/amd64" },       { "LINUX/AMD64", "linux/amd64" },
                { "linux/x86_64", "linux/amd64" },      { "linux/amd64/v1", "linux/amd64" },
                { "linux/amd64/v3", "linux/amd64/v3" }, { "linux/arm64/v8", "linux/arm64" },
                { "linux/aarch64", "linux/arm64" },     { "linux/arm64/8.2", "linux/arm64/v8.2" },
                { "linux/arm64/v9.0", "linux/arm64/v9" }, { "linux/arm", "linux/arm/v7" },
                { "linux/arm/7", "linux/arm/v7" },      { "linux/arm/v6", "linux/arm/v6" },
                { "linux/arm/6", "linux/arm/v6" },      { "linux/armhf", "linux/arm/v7" },
                { "linux/armel", "linux/arm/v6" },      { "linux/i386", "linux/386" },
                { "windows/amd64", "windows/amd64" },   { "macos/arm64", "darwin/arm64" },
                { "linux/riscv64", "linux/riscv64" },
        };
        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                _cleanup_free_ char *p = NULL;
                int r = config_platform_parse(ok[i].in, &p);
                CHECK_INT(r, 0);
                CHECK_STR(p, ok[i].out);
        }
        static const char *const bad[] = { "linux", "", "/", "linux/", "/amd64", "linux//v7", "linux/arm/v7/",
                                           "linux/arm/v7/x", "linux/amd 64", "linux/amd64/\xc3\xa9",
                                           "linux/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *p = NULL;
                CHECK_INT(config_platform_parse(bad[i], &p), -EINVAL);
                CHECK(p == NULL);
        }
        _cleanup_free_ char *n = NULL;
        CHECK_INT(config_platform_normalize("Linux", "ARM64", "V8", &n), 0);
        CHECK_STR(n, "linux/arm64");
        free(n);
        n = NULL;
        CHECK_INT(config_platform_normalize("linux", "amd64", "", &n), 0);
        CHECK_STR(n, "linux/amd64");
        char *none = NULL;
        CHECK_INT(config_platform_normalize("linux", "", NULL, &none), -EINVAL);
        CHECK_INT(config_platform_normalize(NULL, "amd64", NULL, &none), -EINVAL);

        /* The host's platform is already normalized. */
        _cleanup_free_ char *host = NULL, *again = NULL;
        CHECK_INT(config_platform_host(&host), 0);
        CHECK_INT(config_platform_parse(host ? host : "", &again), 0);
        CHECK_STR(again, host);
        CHECK(host && util_startswith(host, "linux/"));

        struct load l = load("{\"platform\": \"linux/aarch64/v8\"}");
        CHECK(l.r == 0 && streq(l.c.platform, "linux/arm64"));
        load_done(&l);
        expect_error(__LINE__, "{\"platform\": \"linux\"}",
                     "config.json: platform: \"linux\" is not a platform of the form os/arch[/variant] (such as \"linux/amd64\")");
        expect_error(__LINE__, "{\"platform\": [\"linux/amd64\"]}", "config.json: platform: expected a string, got an array");
}

static void test_registries(void) {
        expect_ok(__LINE__, "{\"registries\": {}}", NULL);
        expect_ok(__LINE__, "{\"registries\": {\"localhost:5000\": {\"url\": \"http://localhost:5000\"}}}", NULL);
        expect_ok(__LINE__, "{\"registries\": {\"[::1]:5000\": {\"url\": \"http://[::1]:5000/\"}}}", NULL);
        expect_ok(__LINE__, "{\"registries\": {\"r.example\": {\"url\": \"http://127.0.0.2:5000\"}}}", NULL);
        expect_ok(__LINE__, "{\"registries\": {\"r.example\": {\"url\": \"http://r.example\", \"insecure\": true}}}", NULL);
        expect_ok(__LINE__, "{\"registries\": {\"r.example\": {\"insecure\": true}}}", NULL);

        expect_error(__LINE__, "{\"registries\": {\"mirror.example.com\": {\"url\": \"http://mirror.example.com\"}}}",
                     "config.json: registries.\"mirror.example.com\".url: plain HTTP needs \"insecure\": true or a "
                     "loopback host");
        expect_error(__LINE__,
                     "{\"registries\": {\"mirror.example.com\": {\"url\": \"http://mirror.example.com\", \"insecure\": false}}}",
                     "config.json: registries.\"mirror.example.com\".url: plain HTTP needs \"insecure\": true or a "
                     "loopback host");
        expect_error(__LINE__, "{\"registries\": {\"ghcr.io\": {\"url\": \"https://x.example/v2\"}}}",
                     "config.json: registries.\"ghcr.io\".url: \"https://x.example/v2\" must not have a path (the "
                     "registry API is always at /v2/)");
        expect_error(__LINE__, "{\"registries\": {\"ghcr.io\": {\"url\": \"https://u:p@x.example\"}}}",
                     "config.json: registries.\"ghcr.io\".url: \"https://x.example\" must not contain credentials");
        expect_error(__LINE__, "{\"registries\": {\"ghcr.io\": {\"url\": \"https://x.example/?a=b\"}}}",
                     "config.json: registries.\"ghcr.io\".url: \"https://x.example/?a=b\" must not have a query or a "
                     "fragment");
        expect_error(__LINE__, "{\"registries\": {\"ghcr.io\": {\"url\": \"x.example\"}}}",
                     "config.json: registries.\"ghcr.io\".url: \"x.example\" is not an absolute http:// or https:// URL");
        expect_error(__LINE__, "{\"registries\": {\"ghcr.io\": {\"url\": 5}}}",
                     "config.json: registries.\"ghcr.io\".url: expected a string, got a number");
        expect_error(__LINE__, "{\"registries\": {\"ghcr.io\": {\"insecure\": \"yes\"}}}",
                     "config.json: registries.\"ghcr.io\".insecure: expected true or false, got a string");
        expect_error(__LINE__, "{\"registries\": {\"ghcr.io\": true}}",
                     "config.json: registries.\"ghcr.io\": expected an object, got a boolean");
        expect_error(__LINE__, "{\"registries\": [\"ghcr.io\"]}", "config.json: registries: expected an object, got an array");
        expect_error(__LINE__, "{\"registries\": {\"not a host\": {}}}",
                     "config.json: registries.\"not a host\": not a registry host as image references write it "
                     "(such as \"ghcr.io\" or \"127.0.0.1:5000\")");
        static const char *const bad_hosts[] = { "https://ghcr.io", "ghcr.io/x", "-a.example", "a-.example",
                                                 "a..b", "a.", "host:0", "host:65536", "host:", "[::1", "[nope]:5",
                                                 ":5000", "h_st" };
        for (size_t i = 0; i < ELEMENTSOF(bad_hosts); i++) {
                _cleanup_free_ char *t = util_printf("{\"registries\": {\"%s\": {}}}", bad_hosts[i]);
                struct load l = load(t);
                CHECK_INT(l.r, -EINVAL);
                CHECK(l.errors && strstr(l.errors[0], "not a registry host"));
                load_done(&l);
        }

        expect_ok(__LINE__, "{\"registries\": {\"ghcr.io\": {\"insecure\": false, \"bar\": 1}}}",
                  "config.json: registries.\"ghcr.io\": unknown key \"bar\"");
        expect_ok(__LINE__, "{\"registries\": {\"ghcr.io\": {\"URL\": \"https://x.example\"}}}",
                  "config.json: registries.\"ghcr.io\": unknown key \"URL\" (did you mean \"url\"?)");
        expect_ok(__LINE__, "{\"registries\": {\"ghcr.io\": {\"insecure\": false, \"insecure\": true}}}",
                  "config.json: registries.\"ghcr.io\": duplicate key \"insecure\"; the last one counts");

        struct load l = load("{\"registries\": {\"GHCR.io\": {\"url\": \"https://a.example\"}, \"ghcr.IO\": {\"url\": \"https://b.example\"}}}");
        CHECK_INT(l.r, 0);
        CHECK_INT(util_strv_length(l.warnings), 1);
        CHECK(l.warnings && streq(l.warnings[0], "config.json: registries.\"ghcr.IO\": the same registry as an earlier entry; the last one counts"));
        CHECK(l.r == 0 && l.c.n_registries == 1 && streq(l.c.registries[0].host, "ghcr.io") &&
              streq(l.c.registries[0].url, "https://b.example"));
        load_done(&l);
}

static void test_unknown_and_duplicates(void) {
        expect_ok(__LINE__, "{\"foo\": 1}", "config.json: unknown key \"foo\"");
        expect_ok(__LINE__, "{\"Interval\": 60}", "config.json: unknown key \"Interval\" (did you mean \"interval\"?)");
        expect_ok(__LINE__, "{\"max-connections\": 4}",
                  "config.json: unknown key \"max-connections\" (did you mean \"max_connections\"?)");
        expect_ok(__LINE__, "{\"allowlists\": []}", "config.json: unknown key \"allowlists\" (did you mean \"allowlist\"?)");
        expect_ok(__LINE__, "{\"notification\": true}",
                  "config.json: unknown key \"notification\" (did you mean \"notifications\"?)");
        expect_ok(__LINE__, "{\"platfrom\": \"linux/amd64\"}", "config.json: unknown key \"platfrom\"");
        expect_ok(__LINE__, "{\"we\\\"ird\\n\": 1}", "config.json: unknown key \"we\\\"ird\\x0a\"");

        struct load l = load("{\"interval\": 60, \"interval\": 120}");
        CHECK_INT(l.r, 0);
        CHECK(l.r == 0 && l.c.interval == 120);
        CHECK(util_strv_length(l.warnings) == 1 && streq(l.warnings[0], "config.json: interval: duplicate key; the last one counts"));
        load_done(&l);

        /* A later "registries" replaces an earlier one as a whole. */
        l = load("{\"registries\": {\"a.example\": {}}, \"registries\": {\"b.example\": {}}}");
        CHECK(l.r == 0 && l.c.n_registries == 1 && streq(l.c.registries[0].host, "b.example"));
        load_done(&l);

        /* Too many messages: the list stops, and says so. */
        _cleanup_free_ char *many = malloc(500 * 16 + 8);
        CHECK(many != NULL);
        if (!many)
                return;
        strcpy(many, "{");
        for (int i = 0; i < 500; i++)
                sprintf(many + strlen(many), "%s\"k%d\": 1", i ? "," : "", i);
        strcat(many, "}");
        l = load(many);
        CHECK_INT(l.r, 0);
        CHECK_INT(util_strv_length(l.warnings), CONFIG_MAX_MESSAGES);
        if (util_strv_length(l.warnings) == CONFIG_MAX_MESSAGES) {
                CHECK_STR(l.warnings[CONFIG_MAX_MESSAGES - 2], "config.json: unknown key \"k98\"");
                CHECK_STR(l.warnings[CONFIG_MAX_MESSAGES - 1],
                          "config.json: more problems were found; only the first 99 are listed");
        }
        load_done(&l);
}

static void test_all_errors_collected(void) {
        struct load l = load("{\"interval\": 1, \"zzz\": 0, \"platform\": \"x\", \"max_connections\": \"8\","
                             " \"registries\": {\"ghcr.io\": {\"insecure\": 1}}}");
        CHECK_INT(l.r, -EINVAL);
        CHECK_INT(l.c.interval, 12345);
        CHECK_INT(util_strv_length(l.errors), 4);
        CHECK_INT(util_strv_length(l.warnings), 1);
        if (util_strv_length(l.errors) == 4) {
                CHECK_STR(l.errors[0], "config.json: interval: 1 is out of range (60 to 2592000)");
                CHECK(util_startswith(l.errors[1], "config.json: platform: \"x\""));
                CHECK_STR(l.errors[2], "config.json: max_connections: expected a whole number, got a string");
                CHECK_STR(l.errors[3], "config.json: registries.\"ghcr.io\".insecure: expected true or false, got a number");
        }
        load_done(&l);
}

static void test_syntax(void) {
        expect_error(__LINE__, "{\n  \"interval\": 60,\n  \"x\": ]\n}", "config.json:3:8: invalid JSON");
        expect_error(__LINE__, "{\"interval\": 60,}", "config.json:1:17: invalid JSON");
        expect_error(__LINE__, "{} x", "config.json:1:4: invalid JSON");
        expect_error(__LINE__, "{\"a\": tru}", "config.json:1:7: invalid JSON");
        expect_error(__LINE__, "", "config.json: empty; expected a JSON object");
        expect_error(__LINE__, " \n\t", "config.json: empty; expected a JSON object");
        expect_error(__LINE__, "[1]", "config.json: expected a JSON object at the top level, got an array");
        expect_error(__LINE__, "\"x\"", "config.json: expected a JSON object at the top level, got a string");
        expect_ok(__LINE__, "\xef\xbb\xbf{\"interval\": 60}", NULL);

        struct load l = {};
        l.r = config_load_string("{\"a\"\0: 1}", 9, "config.json", NULL, &l.c, &l.warnings, &l.errors);
        CHECK_INT(l.r, -EINVAL);
        CHECK(l.errors && streq(l.errors[0], "config.json:1:5: NUL byte"));
        load_done(&l);

        /* Deep nesting is refused by cJSON's limit, not by the stack. */
        size_t depth = 100000;
        char *deep = malloc(2 * depth + 16);
        CHECK(deep != NULL);
        if (deep) {
                strcpy(deep, "{\"x\":");
                size_t n = strlen(deep);
                memset(deep + n, '[', depth);
                memset(deep + n + depth, ']', depth);
                strcpy(deep + n + 2 * depth, "}");
                l = load(deep);
                CHECK_INT(l.r, -EINVAL);
                CHECK(l.errors && strstr(l.errors[0], "invalid JSON"));
                load_done(&l);
                free(deep);
        }
}

static void test_files(void) {
        char dir[] = "/tmp/test-config-XXXXXX";
        CHECK(mkdtemp(dir) != NULL);
        _cleanup_free_ char *path = util_printf("%s/config.json", dir);
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        if (!f)
                return;
        fputs("{\"allowlist\": [\"mine.txt\", \"/abs.txt\"],\n \"bogus\": 1}\n", f);
        fclose(f);

        struct config c;
        char **warnings = NULL, **errors = NULL;
        CHECK_INT(config_load_file(path, &c, &warnings, &errors), 0);
        _cleanup_free_ char *expect_path = util_printf("%s/mine.txt", dir);
        _cleanup_free_ char *expect_warning = util_printf("%s: unknown key \"bogus\"", path);
        CHECK_STR(c.allowlist[0], expect_path);
        CHECK_STR(c.allowlist[1], "/abs.txt");
        CHECK(warnings && streq(warnings[0], expect_warning));
        CHECK(errors == NULL);
        config_done(&c);
        util_strv_free(warnings);
        util_strv_free(errors);

        f = fopen(path, "w");
        CHECK(f != NULL);
        if (f) {
                fputs("{\"interval\":\n  \"soon\"}", f);
                fclose(f);
        }
        CHECK_INT(config_load_file(path, &c, &warnings, &errors), -EINVAL);
        _cleanup_free_ char *expect_error = util_printf("%s: interval: expected a whole number of seconds, got a string", path);
        CHECK(errors && streq(errors[0], expect_error));
        util_strv_free(warnings);
        util_strv_free(errors);

        /* One byte over the cap. */
        f = fopen(path, "w");
        CHECK(f != NULL);
        if (f) {
                fputc('{', f);
                for (unsigned i = 0; i < CONFIG_MAX_FILE_SIZE - 1; i++)
                        fputc(' ', f);
                fputs("}", f);
                fclose(f);
        }
        CHECK_INT(config_load_file(path, &c, &warnings, &errors), -EFBIG);
        _cleanup_free_ char *expect_big = util_printf("%s: larger than 1048576 bytes", path);
        CHECK(errors && streq(errors[0], expect_big));
        CHECK(warnings == NULL);
        util_strv_free(errors);
        /* Exactly at the cap is fine. */
        CHECK_INT(truncate(path, CONFIG_MAX_FILE_SIZE - 1), 0);
        f = fopen(path, "a");
        if (f) {
                fputc('}', f);
                fclose(f);
        }
        CHECK_INT(config_load_file(path, &c, NULL, NULL), 0);
        config_done(&c);

        unlink(path);
        CHECK_INT(config_load_file(path, &c, &warnings, &errors), -ENOENT);
        _cleanup_free_ char *expect_missing = util_printf("%s: cannot read: No such file or directory", path);
        CHECK(errors && streq(errors[0], expect_missing));
        util_strv_free(errors);

        CHECK_INT(config_load_file(dir, &c, &warnings, &errors), -EISDIR);
        util_strv_free(errors);
        rmdir(dir);
}

static void test_xdg(void) {
        char *p = NULL;
        setenv("HOME", "/home/u", 1);
        setenv("XDG_CONFIG_HOME", "/xdg/config", 1);
        setenv("XDG_STATE_HOME", "/xdg/state", 1);
        setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
        CHECK_INT(config_default_path(&p), 0);
        CHECK_STR(p, "/xdg/config/extupdated/config.json");
        free(p);
        CHECK_INT(config_default_state_dir(&p), 0);
        CHECK_STR(p, "/xdg/state/extupdated");
        free(p);
        CHECK_INT(config_state_dir(NULL, &p), 0);
        CHECK_STR(p, "/xdg/state/extupdated");
        free(p);
        CHECK_INT(config_state_dir("/given", &p), 0);
        CHECK_STR(p, "/given");
        free(p);
        CHECK_INT(config_default_socket_path(&p), 0);
        CHECK_STR(p, "/run/user/1000/extupdated/api.sock");
        free(p);

        /* Relative XDG values are ignored; empty ones too. */
        setenv("XDG_CONFIG_HOME", "relative", 1);
        setenv("XDG_STATE_HOME", "", 1);
        setenv("XDG_RUNTIME_DIR", "run", 1);
        CHECK_INT(config_default_path(&p), 0);
        CHECK_STR(p, "/home/u/.config/extupdated/config.json");
        free(p);
        CHECK_INT(config_default_state_dir(&p), 0);
        CHECK_STR(p, "/home/u/.local/state/extupdated");
        free(p);
        p = NULL;
        CHECK_INT(config_default_socket_path(&p), -ENXIO);
        CHECK(p == NULL);

        unsetenv("XDG_CONFIG_HOME");
        unsetenv("XDG_RUNTIME_DIR");
        CHECK_INT(config_default_socket_path(&p), -ENXIO);
        setenv("HOME", "/", 1);
        CHECK_INT(config_default_path(&p), 0);
        CHECK_STR(p, "/.config/extupdated/config.json");
        free(p);

        /* Without HOME, the password database says where home is. */
        unsetenv("HOME");
        int r = config_default_path(&p);
        CHECK(r == 0 || r == -ENOENT);
        if (r == 0) {
                CHECK(p[0] == '/');
                CHECK(strstr(p, "/.config/extupdated/config.json") != NULL);
                free(p);
        }
}

static void expect_endpoint(int line, const struct config *c, const char *host, const char *url, bool allow_http) {
        char *u = NULL;
        bool h = !allow_http;
        int r = config_registry_endpoint(c, host, &u, &h);
        check_at(r == 0 && streq(u, url) && h == allow_http, __FILE__, line,
                 "endpoint of %s: got %d %s %s, expected %s %s", host, r, u ? u : "(null)", h ? "http" : "no-http",
                 url, allow_http ? "http" : "no-http");
        free(u);
}

static void test_endpoints(void) {
        struct config c;
        CHECK_INT(config_init_defaults(&c), 0);
        expect_endpoint(__LINE__, &c, "docker.io", "https://registry-1.docker.io", false);
        expect_endpoint(__LINE__, &c, "Docker.IO", "https://registry-1.docker.io", false);
        expect_endpoint(__LINE__, &c, "index.docker.io", "https://registry-1.docker.io", false);
        expect_endpoint(__LINE__, &c, "ghcr.io", "https://ghcr.io", false);
        expect_endpoint(__LINE__, &c, "Registry.Example:8443", "https://registry.example:8443", false);
        expect_endpoint(__LINE__, &c, "127.0.0.1:5000", "https://127.0.0.1:5000", true);
        expect_endpoint(__LINE__, &c, "localhost:5000", "https://localhost:5000", true);
        expect_endpoint(__LINE__, &c, "[::1]:5000", "https://[::1]:5000", true);
        expect_endpoint(__LINE__, NULL, "quay.io", "https://quay.io", false);
        char *u = NULL;
        bool h;
        CHECK_INT(config_registry_endpoint(&c, "not a host", &u, &h), -EINVAL);
        CHECK_INT(config_registry_endpoint(&c, "", &u, &h), -EINVAL);
        CHECK_INT(config_registry_endpoint(&c, "ghcr.io/x", &u, &h), -EINVAL);
        CHECK(u == NULL);
        config_done(&c);

        struct load l = load("{\"registries\": {"
                             "\"127.0.0.1:5000\": {\"url\": \"http://127.0.0.1:5000\"},"
                             "\"docker.io\": {\"url\": \"https://mirror.example.com\"},"
                             "\"ghcr.io\": {\"insecure\": true},"
                             "\"test.example\": {\"url\": \"http://10.0.0.5:5000\", \"insecure\": true},"
                             "\"other.example\": {\"url\": \"http://localhost:5001\"}}}");
        CHECK_INT(l.r, 0);
        if (l.r == 0) {
                expect_endpoint(__LINE__, &l.c, "127.0.0.1:5000", "http://127.0.0.1:5000", true);
                expect_endpoint(__LINE__, &l.c, "docker.io", "https://mirror.example.com", false);
                expect_endpoint(__LINE__, &l.c, "index.docker.io", "https://mirror.example.com", false);
                expect_endpoint(__LINE__, &l.c, "GHCR.IO", "https://ghcr.io", true);
                expect_endpoint(__LINE__, &l.c, "test.example", "http://10.0.0.5:5000", true);
                expect_endpoint(__LINE__, &l.c, "other.example", "http://localhost:5001", true);
                expect_endpoint(__LINE__, &l.c, "quay.io", "https://quay.io", false);
        }
        load_done(&l);
}

static void test_loopback(void) {
        static const char *const yes[] = { "localhost", "LocalHost:80", "127.0.0.1", "127.1.2.3:5000", "::1",
                                           "[::1]", "[::1]:443", "::ffff:127.0.0.1", "[0:0:0:0:0:0:0:1]:1" };
        static const char *const no[] = { "", "localhost.example.com", "128.0.0.1", "0.0.0.0", "10.0.0.1",
                                          "::", "[::2]:5", "[::1", "example.com:127", "127.0.0.1.nip.io" };
        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                CHECK_MSG(config_host_is_loopback(yes[i]), "%s should be loopback", yes[i]);
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                CHECK_MSG(!config_host_is_loopback(no[i]), "%s should not be loopback", no[i]);
}

static void test_ca_file(void) {
        char dir[] = "/tmp/test-config-ca-XXXXXX";
        REQUIRE(mkdtemp(dir));
        _cleanup_free_ char *pem = util_printf("%s/ca.pem", dir);
        FILE *f = fopen(pem, "w");
        REQUIRE(f && fputs("-----BEGIN CERTIFICATE-----\n", f) >= 0 && fclose(f) == 0);

        /* Relative to the config file's directory; index.docker.io finds docker.io's. */
        struct load l = load_base("{\"registries\": {\"docker.io\": {\"ca_file\": \"ca.pem\"}, "
                                  "\"ghcr.io\": {\"insecure\": true}}}",
                                  dir);
        CHECK_INT(l.r, 0);
        if (l.r == 0) {
                CHECK_STR(config_registry_ca_file(&l.c, "docker.io"), pem);
                CHECK_STR(config_registry_ca_file(&l.c, "Index.Docker.IO"), pem);
                CHECK_STR(config_registry_ca_file(&l.c, "ghcr.io"), NULL);
                CHECK_STR(config_registry_ca_file(&l.c, "quay.io"), NULL);
                CHECK_STR(config_registry_ca_file(&l.c, "not a host"), NULL);
        }
        load_done(&l);
        CHECK_STR(config_registry_ca_file(NULL, "docker.io"), NULL);

        _cleanup_free_ char *absolute = util_printf("{\"registries\": {\"r.example\": {\"ca_file\": \"%s\"}}}", pem);
        l = load(absolute);
        CHECK(l.r == 0 && streq_ptr(config_registry_ca_file(&l.c, "r.example"), pem));
        load_done(&l);

        _cleanup_free_ char *missing = util_printf("{\"registries\": {\"r.example\": {\"ca_file\": \"%s/nope.pem\"}}}", dir);
        _cleanup_free_ char *missing_error = util_printf(
                "config.json: registries.\"r.example\".ca_file: cannot read \"%s/nope.pem\": No such file or directory",
                dir);
        expect_error(__LINE__, missing, missing_error);
        _cleanup_free_ char *directory = util_printf("{\"registries\": {\"r.example\": {\"ca_file\": \"%s\"}}}", dir);
        _cleanup_free_ char *directory_error =
                util_printf("config.json: registries.\"r.example\".ca_file: cannot read \"%s\": not a regular file", dir);
        expect_error(__LINE__, directory, directory_error);
        expect_error(__LINE__, "{\"registries\": {\"r.example\": {\"ca_file\": true}}}",
                     "config.json: registries.\"r.example\".ca_file: expected a string, got a boolean");
        expect_error(__LINE__, "{\"registries\": {\"r.example\": {\"ca_file\": \"\"}}}",
                     "config.json: registries.\"r.example\".ca_file: empty; expected the path of a PEM file of CA "
                     "certificates");
        unlink(pem);
        rmdir(dir);
}

int main(void) {
        test_defaults();
        test_every_key();
        test_service_keys();
        test_example_file();
        test_allowlist();
        test_versions();
        test_numbers_and_bools();
        test_platform_key();
        test_registries();
        test_unknown_and_duplicates();
        test_all_errors_collected();
        test_syntax();
        test_files();
        test_endpoints();
        test_loopback();
        test_ca_file();
        test_xdg();
        return check_summary("test-config");
}
