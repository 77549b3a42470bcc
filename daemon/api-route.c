/* The API's requests as data: which endpoint a method and path name, and what a body says; no I/O. */
#include "api-route.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <strings.h>

#include "semver.h"
#include "util.h"

void api_refusal_done(struct api_refusal *r) {
        free(r->message);
        *r = (struct api_refusal) {};
}

static int refuse(struct api_refusal *r, unsigned status, const char *allow, char *message) {
        if (!message)
                return -ENOMEM;
        *r = (struct api_refusal) { .status = status, .allow = allow, .message = message };
        return -EINVAL;
}

static bool parse_method(const char *s, enum api_method *ret) {
        static const char *const names[] = { [API_GET] = "GET", [API_PUT] = "PUT", [API_POST] = "POST",
                                             [API_DELETE] = "DELETE" };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (streq(s, names[i])) {
                        *ret = (enum api_method) i;
                        return true;
                }
        return false;
}

/* A familiar name is lowercase path components joined by '/', an optional host first; what is allowed
 * in it is decided by the allow-list, so here only what could never be one is refused. */
static bool repository_plausible(const char *s) {
        if (!*s || strlen(s) > 512 || s[0] == '/' || s[strlen(s) - 1] == '/' || strstr(s, "//"))
                return false;
        for (const char *p = s; *p; p++)
                if ((unsigned char) *p <= ' ' || *p == 0x7f)
                        return false;
        return true;
}

int api_route(const char *method, const char *path, struct api_route *ret, struct api_refusal *ret_refusal) {
        static const struct {
                const char *path; /* exact, or a prefix when it ends in '/' */
                enum api_endpoint endpoint;
                const char *allow;
        } table[] = {
                { "/v1/status", API_STATUS, "GET" },
                { "/v1/extensions", API_EXTENSIONS, "GET" },
                { "/v1/extensions/", API_EXTENSION, "GET" },
                { "/v1/updates", API_UPDATES, "GET" },
                { "/v1/scan", API_SCAN, "POST" },
                { "/v1/events", API_EVENTS, "GET" },
                { "/v1/installed", API_INSTALLED, "GET, PUT" },
                { "/v1/installed/", API_INSTALLED_ONE, "PUT, DELETE" },
        };
        *ret_refusal = (struct api_refusal) {};
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                size_t n = strlen(table[i].path);
                bool prefix = table[i].path[n - 1] == '/';
                const char *repository = NULL;
                if (prefix) {
                        if (strncmp(path, table[i].path, n) != 0)
                                continue;
                        repository = path + n;
                        if (!repository_plausible(repository))
                                return refuse(ret_refusal, *repository ? 400 : 404, NULL,
                                              *repository ? util_printf("\"%s\" is not a repository name", repository)
                                                          : util_printf("no such endpoint: %s", path));
                } else if (!streq(path, table[i].path))
                        continue;

                enum api_method m;
                if (!parse_method(method, &m) || !strstr(table[i].allow, method) ||
                    (m == API_PUT && strstr(table[i].allow, "PUT") == NULL))
                        return refuse(ret_refusal, 405, table[i].allow,
                                      util_printf("%s does not take %s; it takes %s", table[i].path, method,
                                                  table[i].allow));
                *ret = (struct api_route) { .endpoint = table[i].endpoint, .method = m, .repository = repository };
                return 0;
        }
        return refuse(ret_refusal, 404, NULL, util_printf("no such endpoint: %s (the API is under /v1/)", path));
}

bool api_content_type_is_json(const char *content_type) {
        if (!content_type)
                return true;
        size_t n = strcspn(content_type, ";");
        while (n > 0 && (content_type[n - 1] == ' ' || content_type[n - 1] == '\t'))
                n--;
        if (n == strlen("application/json") && strncasecmp(content_type, "application/json", n) == 0)
                return true;
        return n > 5 && strncasecmp(content_type + n - 5, "+json", 5) == 0 &&
               strncasecmp(content_type, "application/", strlen("application/")) == 0;
}

static cJSON *parse_object(const char *body, size_t len, struct api_refusal *ret_refusal, int *ret_r) {
        if (util_json_has_nul_escape(body, len)) {
                *ret_r = refuse(ret_refusal, 400, NULL,
                                util_printf("the request body holds a NUL character (\\u0000), which no "
                                            "repository or version contains"));
                return NULL;
        }
        cJSON *j = cJSON_ParseWithLength(body, len);
        if (!j) {
                *ret_r = refuse(ret_refusal, 400, NULL, util_printf("the request body is not valid JSON"));
                return NULL;
        }
        if (!cJSON_IsObject(j)) {
                cJSON_Delete(j);
                *ret_r = refuse(ret_refusal, 400, NULL, util_printf("the request body must be a JSON object"));
                return NULL;
        }
        return j;
}

static int check_version(const char *v, const char *repository, struct api_refusal *ret_refusal) {
        struct semver sv;
        if (semver_parse(v, SEMVER_PARSE_ALLOW_V, &sv) < 0)
                return refuse(ret_refusal, 400, NULL,
                              repository ? util_printf("%s: \"%s\" is not a SemVer version", repository, v)
                                         : util_printf("\"%s\" is not a SemVer version", v));
        semver_done(&sv);
        return 0;
}

int api_parse_version_body(const char *body, size_t len, char **ret_version, struct api_refusal *ret_refusal) {
        int r = 0;
        *ret_refusal = (struct api_refusal) {};
        cJSON *j = parse_object(body, len, ret_refusal, &r);
        if (!j)
                return r;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "version");
        if (!cJSON_IsString(v))
                r = refuse(ret_refusal, 400, NULL, util_printf("the body needs \"version\", a string: {\"version\": \"1.2.3\"}"));
        else
                r = check_version(v->valuestring, NULL, ret_refusal);
        if (r == 0) {
                *ret_version = strdup(v->valuestring);
                if (!*ret_version)
                        r = -ENOMEM;
        }
        cJSON_Delete(j);
        return r;
}

int api_parse_inventory_body(const char *body, size_t len, char ***ret_pairs, struct api_refusal *ret_refusal) {
        int r = 0;
        *ret_refusal = (struct api_refusal) {};
        cJSON *j = parse_object(body, len, ret_refusal, &r);
        if (!j)
                return r;
        _cleanup_strv_free_ char **pairs = calloc(1, sizeof(char *));
        if (!pairs)
                r = -ENOMEM;
        const cJSON *e;
        cJSON_ArrayForEach(e, j) {
                if (r < 0)
                        break;
                if (!cJSON_IsString(e))
                        r = refuse(ret_refusal, 400, NULL, util_printf("%s: the version must be a string", e->string));
                else if (!repository_plausible(e->string))
                        r = refuse(ret_refusal, 400, NULL, util_printf("\"%s\" is not a repository name", e->string));
                else
                        r = check_version(e->valuestring, e->string, ret_refusal);
                if (r == 0)
                        r = util_strv_push(&pairs, e->string);
                if (r == 0)
                        r = util_strv_push(&pairs, e->valuestring);
        }
        cJSON_Delete(j);
        if (r < 0)
                return r;
        *ret_pairs = TAKE_PTR(pairs);
        return 0;
}
