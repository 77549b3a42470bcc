/* Unit tests of the API's routing, body type check and body parsers (daemon/api-route.c). */
#include <errno.h>

#include "../check.h"
#include "api-route.h"
#include "util.h"

static void test_routes(void) {
        static const struct {
                const char *method, *path;
                int endpoint;         /* -1: refused */
                const char *repository;
                unsigned status;
                const char *allow;
        } table[] = {
                { "GET", "/v1/status", API_STATUS, NULL, 0, NULL },
                { "GET", "/v1/extensions", API_EXTENSIONS, NULL, 0, NULL },
                { "GET", "/v1/extensions/docker/disk-usage-extension", API_EXTENSION, "docker/disk-usage-extension", 0, NULL },
                { "GET", "/v1/extensions/127.0.0.1:5000/acme/x", API_EXTENSION, "127.0.0.1:5000/acme/x", 0, NULL },
                { "GET", "/v1/extensions/alpine", API_EXTENSION, "alpine", 0, NULL },
                { "GET", "/v1/updates", API_UPDATES, NULL, 0, NULL },
                { "POST", "/v1/scan", API_SCAN, NULL, 0, NULL },
                { "GET", "/v1/events", API_EVENTS, NULL, 0, NULL },
                { "GET", "/v1/installed", API_INSTALLED, NULL, 0, NULL },
                { "PUT", "/v1/installed", API_INSTALLED, NULL, 0, NULL },
                { "PUT", "/v1/installed/docker/x", API_INSTALLED_ONE, "docker/x", 0, NULL },
                { "DELETE", "/v1/installed/docker/x", API_INSTALLED_ONE, "docker/x", 0, NULL },
                { "GET", "/v1/scan", -1, NULL, 405, "POST" },
                { "POST", "/v1/status", -1, NULL, 405, "GET" },
                { "DELETE", "/v1/installed", -1, NULL, 405, "GET, PUT" },
                { "GET", "/v1/installed/docker/x", -1, NULL, 405, "PUT, DELETE" },
                { "PATCH", "/v1/status", -1, NULL, 405, "GET" },
                { "GE", "/v1/status", -1, NULL, 405, "GET" },
                { "GET", "/v1/nothing", -1, NULL, 404, NULL },
                { "GET", "/v1/status/", -1, NULL, 404, NULL },
                { "GET", "/", -1, NULL, 404, NULL },
                { "GET", "", -1, NULL, 404, NULL },
                { "GET", "/v1/extensions/", -1, NULL, 404, NULL },
                { "GET", "/v1/extensions//x", -1, NULL, 400, NULL },
                { "GET", "/v1/extensions/a/", -1, NULL, 400, NULL },
                { "GET", "/v1/extensions/a b", -1, NULL, 400, NULL },
                { "GET", "/v1/extensions/a\x01", -1, NULL, 400, NULL },
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                check_context = table[i].path;
                struct api_route route = {};
                struct api_refusal f;
                int r = api_route(table[i].method, table[i].path, &route, &f);
                if (table[i].endpoint >= 0) {
                        CHECK_INT(r, 0);
                        CHECK_INT(route.endpoint, table[i].endpoint);
                        CHECK_STR(route.repository, table[i].repository);
                } else {
                        CHECK_INT(r, -EINVAL);
                        CHECK_INT(f.status, table[i].status);
                        CHECK_STR(f.allow, table[i].allow);
                        CHECK(f.message && *f.message);
                }
                api_refusal_done(&f);
        }
        check_context = NULL;
}

static void test_content_types(void) {
        CHECK(api_content_type_is_json(NULL));
        CHECK(api_content_type_is_json("application/json"));
        CHECK(api_content_type_is_json("Application/JSON; charset=utf-8"));
        CHECK(api_content_type_is_json("application/merge-patch+json"));
        CHECK(!api_content_type_is_json("application/x-www-form-urlencoded"));
        CHECK(!api_content_type_is_json("text/plain"));
        CHECK(!api_content_type_is_json("text/json+"));
        CHECK(!api_content_type_is_json("application/jsonx"));
        CHECK(!api_content_type_is_json(""));
}

static void test_version_body(void) {
        static const struct {
                const char *body;
                const char *version; /* NULL: refused with 400 */
                const char *message_part;
        } table[] = {
                { "{\"version\": \"1.2.3\"}", "1.2.3", NULL },
                { "{\"version\": \"v0.2.2\", \"other\": 1}", "v0.2.2", NULL },
                { "{\"version\": \"1.0.0-rc.1+b\"}", "1.0.0-rc.1+b", NULL },
                { "{\"version\": \"1.2\"}", NULL, "\"1.2\" is not a SemVer version" },
                { "{\"version\": 1}", NULL, "\"version\"" },
                { "{}", NULL, "\"version\"" },
                { "[\"1.2.3\"]", NULL, "JSON object" },
                { "{\"version\": \"1.2.3\"", NULL, "not valid JSON" },
                { "", NULL, "not valid JSON" },
                /* cJSON would cut the string at the NUL and take "1.0.0". */
                { "{\"version\": \"1.0.0\\u0000evil\"}", NULL, "NUL character" },
                { "{\"version\": \"1.0.0\", \"x\": \"\\\\u0000\"}", "1.0.0", NULL },
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                check_context = table[i].body;
                char *v = NULL;
                struct api_refusal f;
                int r = api_parse_version_body(table[i].body, strlen(table[i].body), &v, &f);
                if (table[i].version) {
                        CHECK_INT(r, 0);
                        CHECK_STR(v, table[i].version);
                } else {
                        CHECK_INT(r, -EINVAL);
                        CHECK_INT(f.status, 400);
                        CHECK_CONTAINS(f.message, table[i].message_part);
                }
                free(v);
                api_refusal_done(&f);
        }
        check_context = NULL;
}

static void test_inventory_body(void) {
        const char *good = "{\"docker/a\": \"1.0.0\", \"127.0.0.1:5000/b/c\": \"v2.0.0\"}";
        char **pairs = NULL;
        struct api_refusal f;
        CHECK_INT(api_parse_inventory_body(good, strlen(good), &pairs, &f), 0);
        CHECK_INT(util_strv_length(pairs), 4);
        if (util_strv_length(pairs) == 4) {
                CHECK_STR(pairs[0], "docker/a");
                CHECK_STR(pairs[1], "1.0.0");
                CHECK_STR(pairs[2], "127.0.0.1:5000/b/c");
                CHECK_STR(pairs[3], "v2.0.0");
        }
        util_strv_free(pairs);

        pairs = NULL;
        CHECK_INT(api_parse_inventory_body("{}", 2, &pairs, &f), 0);
        CHECK_INT(util_strv_length(pairs), 0);
        util_strv_free(pairs);

        static const struct {
                const char *body, *message_part;
        } bad[] = {
                { "{\"docker/a\": \"1.0\"}", "docker/a: \"1.0\" is not a SemVer version" },
                { "{\"docker/a\": 1}", "docker/a: the version must be a string" },
                { "{\"\": \"1.0.0\"}", "is not a repository name" },
                { "[]", "JSON object" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                check_context = bad[i].body;
                pairs = NULL;
                CHECK_INT(api_parse_inventory_body(bad[i].body, strlen(bad[i].body), &pairs, &f), -EINVAL);
                CHECK_INT(f.status, 400);
                CHECK_CONTAINS(f.message, bad[i].message_part);
                CHECK(!pairs);
                api_refusal_done(&f);
        }
        check_context = NULL;
}

int main(void) {
        test_routes();
        test_content_types();
        test_version_body();
        test_inventory_body();
        return check_summary("test-api-route");
}
