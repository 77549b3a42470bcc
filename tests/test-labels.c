/* Tests for lib/labels: what an update needs from an image's labels, and the marketplace check. */
#include <errno.h>
#include <stdio.h>

#include "labels.h"
#include "util.h"
#include "check.h"

static cJSON *parse(const char *text) {
        cJSON *j = cJSON_Parse(text);
        if (!j) {
                fprintf(stderr, "test input is not JSON: %s\n", text);
                exit(1);
        }
        return j;
}

/* A labels object that passes the full check: every documented label, well-formed. */
static cJSON *good_labels(void) {
        return parse("{"
                     "\"org.opencontainers.image.title\": \"Disk usage\","
                     "\"org.opencontainers.image.description\": \"See how much disk space you use\","
                     "\"org.opencontainers.image.vendor\": \"Docker Inc.\","
                     "\"com.docker.desktop.extension.api.version\": \">= 0.3.4\","
                     "\"com.docker.desktop.extension.icon\": \"https://example.com/icon.svg\","
                     "\"com.docker.extension.screenshots\": "
                     "\"[{\\\"alt\\\": \\\"Main view\\\", \\\"url\\\": \\\"https://example.com/1.png\\\"}]\","
                     "\"com.docker.extension.detailed-description\": \"<p>Shows disk usage</p>\","
                     "\"com.docker.extension.publisher-url\": \"https://www.docker.com\","
                     "\"com.docker.extension.additional-urls\": "
                     "\"[{\\\"title\\\": \\\"Source\\\", \\\"url\\\": \\\"https://github.com/docker/x\\\"}]\","
                     "\"com.docker.extension.changelog\": \"<p>Fixed a bug</p>\","
                     "\"com.docker.extension.account-info\": \"\","
                     "\"com.docker.extension.categories\": \"utility-tools,volumes\","
                     "\"org.example.unrelated\": \"anything\""
                     "}");
}

/* good_labels() with one label set to a string value, or removed when value is NULL. */
static cJSON *labels_with(const char *key, const char *value) {
        cJSON *l = good_labels();
        cJSON_DeleteItemFromObjectCaseSensitive(l, key);
        if (value)
                cJSON_AddStringToObject(l, key, value);
        return l;
}

struct result {
        struct labels_finding *f;
        size_t n;
};

static struct result validate(cJSON *labels) {
        struct result r = {};
        int k = labels_validate(labels, &r.f, &r.n);
        CHECK_INT(k, 0);
        cJSON_Delete(labels);
        return r;
}

static void result_done(struct result *r) {
        labels_findings_free(r->f, r->n);
}

/* The index of the finding for label whose message contains needle, or -1. */
static long find(const struct result *r, const char *label, const char *needle) {
        for (size_t i = 0; i < r->n; i++)
                if (streq(r->f[i].label, label) && strstr(r->f[i].message, needle))
                        return (long) i;
        return -1;
}

static void dump(const struct result *r) {
        for (size_t i = 0; i < r->n; i++)
                fprintf(stderr, "    %s %s: %s\n", r->f[i].severity == LABELS_ERROR ? "error" : "warning",
                        r->f[i].label, r->f[i].message);
}

/* Expects exactly one finding, with this severity, label and message. */
static void expect_one(int line, cJSON *labels, enum labels_severity sev, const char *label, const char *message) {
        struct result r = validate(labels);
        if (!check_at(r.n == 1 && r.f[0].severity == sev && streq(r.f[0].label, label) &&
                              streq(r.f[0].message, message),
                      __FILE__, line, "expected one %s for %s: %s; got %zu:", sev == LABELS_ERROR ? "error" : "warning",
                      label, message, r.n))
                dump(&r);
        result_done(&r);
}

static void expect_none(int line, cJSON *labels) {
        struct result r = validate(labels);
        if (!check_at(r.n == 0, __FILE__, line, "expected no findings, got %zu:", r.n))
                dump(&r);
        result_done(&r);
}

static void test_extract_good(void) {
        cJSON *j = good_labels();
        struct extension_labels l;
        CHECK_INT(labels_extract(j, &l), 0);
        CHECK_STR(l.title, "Disk usage");
        CHECK_STR(l.vendor, "Docker Inc.");
        CHECK_STR(l.description, "See how much disk space you use");
        CHECK_STR(l.api_version, ">= 0.3.4");
        CHECK(!l.api_version_too_long);
        CHECK(labels_missing_required(&l) == NULL);
        labels_done(&l);
        CHECK(l.title == NULL);
        labels_done(NULL);
        cJSON_Delete(j);
}

static void test_extract_absent(void) {
        struct extension_labels l;
        CHECK_INT(labels_extract(NULL, &l), 0);
        CHECK(!l.title && !l.vendor && !l.description && !l.api_version);
        CHECK_STR(labels_missing_required(&l), "missing label org.opencontainers.image.title");
        labels_done(&l);

        cJSON *j = parse("[\"org.opencontainers.image.title\", \"x\"]");
        CHECK_INT(labels_extract(j, &l), 0);
        CHECK(!l.title);
        labels_done(&l);
        cJSON_Delete(j);

        j = parse("null");
        CHECK_INT(labels_extract(j, &l), 0);
        CHECK(!l.title);
        labels_done(&l);
        cJSON_Delete(j);
}

static void test_extract_required(void) {
        struct extension_labels l;
        cJSON *j = labels_with(LABELS_VENDOR, " \t\n ");
        CHECK_INT(labels_extract(j, &l), 0);
        CHECK(l.vendor == NULL);
        CHECK_STR(labels_missing_required(&l), "missing label org.opencontainers.image.vendor");
        labels_done(&l);
        cJSON_Delete(j);

        j = labels_with(LABELS_API_VERSION, NULL);
        CHECK_INT(labels_extract(j, &l), 0);
        CHECK_STR(labels_missing_required(&l), "missing label com.docker.desktop.extension.api.version");
        labels_done(&l);
        cJSON_Delete(j);

        /* A non-string value is not used, and named as labels_validate names it. */
        j = good_labels();
        cJSON_DeleteItemFromObjectCaseSensitive(j, LABELS_TITLE);
        cJSON_AddNumberToObject(j, LABELS_TITLE, 7);
        CHECK_INT(labels_extract(j, &l), 0);
        CHECK(l.title == NULL);
        CHECK(l.title_not_string);
        CHECK_STR(labels_missing_required(&l), "label org.opencontainers.image.title is not a string");
        labels_done(&l);
        cJSON_Delete(j);

        j = good_labels();
        cJSON_DeleteItemFromObjectCaseSensitive(j, LABELS_API_VERSION);
        cJSON_AddItemToObject(j, LABELS_API_VERSION, cJSON_CreateStringArray((const char *[]) {">= 0.3.0"}, 1));
        CHECK_INT(labels_extract(j, &l), 0);
        CHECK(l.api_version == NULL);
        CHECK_STR(labels_missing_required(&l), "label com.docker.desktop.extension.api.version is not a string");
        labels_done(&l);
        cJSON_Delete(j);

        /* Keys are case-sensitive. */
        j = parse("{\"Org.Opencontainers.Image.Title\": \"X\", \"org.opencontainers.image.vendor\": \"V\","
                  "\"com.docker.desktop.extension.api.version\": \"0.3.4\"}");
        CHECK_INT(labels_extract(j, &l), 0);
        CHECK(l.title == NULL);
        CHECK_STR(l.vendor, "V");
        CHECK_STR(l.api_version, "0.3.4");
        labels_done(&l);
        cJSON_Delete(j);

        /* The description is not required for an update. */
        j = labels_with(LABELS_DESCRIPTION, NULL);
        CHECK_INT(labels_extract(j, &l), 0);
        CHECK(l.description == NULL);
        CHECK(labels_missing_required(&l) == NULL);
        labels_done(&l);
        cJSON_Delete(j);
}

static void test_extract_untidy(void) {
        struct extension_labels l;
        /* Surrounding blanks go; the last of duplicate keys counts, as in Docker. */
        cJSON *j = parse("{\"org.opencontainers.image.title\": \"First\","
                         "\"org.opencontainers.image.title\": \"  Second\\t\\n\","
                         "\"org.opencontainers.image.vendor\": \"\\u0001 A\\u0007B\\nC\\u001b\","
                         "\"org.opencontainers.image.description\": \"line 1\\r\\nline 2\\rline 3\\tend\\u0001\","
                         "\"com.docker.desktop.extension.api.version\": \" >=0.2.3 \"}");
        CHECK_INT(labels_extract(j, &l), 0);
        CHECK_STR(l.title, "Second");
        CHECK_STR(l.vendor, "A B C");
        CHECK_STR(l.description, "line 1\nline 2\nline 3\tend");
        CHECK_STR(l.api_version, ">=0.2.3");
        labels_done(&l);
        cJSON_Delete(j);

        /* Invalid UTF-8 (a stray continuation byte, an overlong '/', a surrogate, a truncated
         * sequence) becomes U+FFFD; valid multi-byte characters stay. */
        j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, LABELS_TITLE, "a\x80z \xc0\xaf \xed\xa0\x80 \xe2\x82 caf\xc3\xa9 \xf0\x9f\x90\xb3");
        CHECK_INT(labels_extract(j, &l), 0);
        CHECK_STR(l.title, "a\xef\xbf\xbdz \xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
                           "\xef\xbf\xbd\xef\xbf\xbd caf\xc3\xa9 \xf0\x9f\x90\xb3");
        labels_done(&l);
        cJSON_Delete(j);
}

static void test_extract_limits(void) {
        struct extension_labels l;
        /* 300 two-byte characters: cut to LABELS_MAX_NAME bytes, never inside a character. */
        char title[601];
        for (int i = 0; i < 300; i++)
                memcpy(title + 2 * i, "\xc3\xa9", 2);
        title[600] = 0;
        char desc[LABELS_MAX_DESCRIPTION + 100];
        memset(desc, 'd', sizeof(desc) - 1);
        desc[sizeof(desc) - 1] = 0;
        char api[LABELS_MAX_API_VERSION + 2];
        memset(api, ' ', sizeof(api) - 1);
        memcpy(api, ">=1.0.0", 7);
        api[sizeof(api) - 1] = 0;

        cJSON *j = labels_with(LABELS_TITLE, title);
        cJSON_DeleteItemFromObjectCaseSensitive(j, LABELS_DESCRIPTION);
        cJSON_AddStringToObject(j, LABELS_DESCRIPTION, desc);
        cJSON_DeleteItemFromObjectCaseSensitive(j, LABELS_API_VERSION);
        cJSON_AddStringToObject(j, LABELS_API_VERSION, api);
        CHECK_INT(labels_extract(j, &l), 0);
        CHECK_INT(strlen(l.title), LABELS_MAX_NAME);
        CHECK(strncmp(l.title, title, LABELS_MAX_NAME) == 0);
        CHECK_INT(strlen(l.description), LABELS_MAX_DESCRIPTION);
        CHECK(l.api_version == NULL);
        CHECK(l.api_version_too_long);
        CHECK_STR(labels_missing_required(&l), "label com.docker.desktop.extension.api.version is too long");
        labels_done(&l);
        cJSON_Delete(j);

        /* 127 "é", an "x", then a stray continuation byte whose U+FFFD would pass the cap. */
        title[LABELS_MAX_NAME - 2] = 'x';
        j = labels_with(LABELS_TITLE, title);
        CHECK_INT(labels_extract(j, &l), 0);
        CHECK_INT(strlen(l.title), LABELS_MAX_NAME - 1);
        CHECK(l.title[LABELS_MAX_NAME - 2] == 'x');
        labels_done(&l);
        cJSON_Delete(j);

        /* Exactly at the API cap is fine. */
        api[LABELS_MAX_API_VERSION] = 0;
        api[LABELS_MAX_API_VERSION - 1] = '0';
        j = labels_with(LABELS_API_VERSION, api);
        CHECK_INT(labels_extract(j, &l), 0);
        CHECK(l.api_version != NULL);
        CHECK(!l.api_version_too_long);
        labels_done(&l);
        cJSON_Delete(j);
}

static void test_validate_good(void) {
        expect_none(__LINE__, good_labels());
        expect_none(__LINE__, labels_with(LABELS_ACCOUNT_INFO, "required"));
        expect_none(__LINE__, labels_with(LABELS_ACCOUNT_INFO, NULL));
        expect_none(__LINE__, labels_with(LABELS_ADDITIONAL_URLS, NULL));
        expect_none(__LINE__, labels_with(LABELS_API_VERSION, ">= 1.4.7, < 2.0"));
        expect_none(__LINE__, labels_with(LABELS_API_VERSION, "^0.3.0"));
        expect_none(__LINE__, labels_with(LABELS_API_VERSION, "=0.3.4"));
        expect_none(__LINE__, labels_with(LABELS_ICON, "HTTPS://EXAMPLE.COM/ICON.PNG"));
        expect_none(__LINE__, labels_with(LABELS_ICON, "http://example.com/a/b/icon.jpg?v=2#x"));
        expect_none(__LINE__, labels_with(LABELS_CATEGORIES, " security , kubernetes "));
        expect_none(__LINE__, labels_with(LABELS_PUBLISHER_URL, "https://example.com:8443/about"));
}

static void test_validate_missing(void) {
        static const char *const required[] = {
                LABELS_TITLE,      LABELS_DESCRIPTION,          LABELS_VENDOR,
                LABELS_API_VERSION, LABELS_ICON,                LABELS_SCREENSHOTS,
                LABELS_DETAILED_DESCRIPTION, LABELS_PUBLISHER_URL, LABELS_CHANGELOG,
        };
        for (int pass = 0; pass < 3; pass++) {
                cJSON *in = pass == 0 ? NULL : pass == 1 ? parse("{}") : parse("null");
                struct result r = validate(in);
                CHECK_INT(r.n, ELEMENTSOF(required) + 1);
                CHECK_INT(labels_findings_errors(r.f, r.n), ELEMENTSOF(required));
                for (size_t i = 0; i < ELEMENTSOF(required) && i < r.n; i++) {
                        CHECK_STR(r.f[i].label, required[i]);
                        CHECK_STR(r.f[i].message, "is missing (required)");
                        CHECK(r.f[i].severity == LABELS_ERROR);
                }
                long c = find(&r, LABELS_CATEGORIES, "");
                CHECK(c >= 0);
                if (c >= 0) {
                        CHECK(r.f[c].severity == LABELS_WARNING);
                        CHECK_STR(r.f[c].message, "is missing; the marketplace validator has demanded it");
                }
                result_done(&r);
        }

        struct result r = validate(parse("\"not an object\""));
        CHECK_INT(r.n, ELEMENTSOF(required) + 2);
        CHECK(r.n > 0 && streq(r.f[0].label, "config.Labels") && streq(r.f[0].message, "is not a JSON object"));
        result_done(&r);

        for (size_t i = 0; i < ELEMENTSOF(required); i++)
                expect_one(__LINE__, labels_with(required[i], NULL), LABELS_ERROR, required[i], "is missing (required)");
        expect_one(__LINE__, labels_with(LABELS_CATEGORIES, NULL), LABELS_WARNING, LABELS_CATEGORIES,
                   "is missing; the marketplace validator has demanded it");
}

static void test_validate_blank_and_types(void) {
        expect_one(__LINE__, labels_with(LABELS_TITLE, ""), LABELS_ERROR, LABELS_TITLE, "is empty");
        expect_one(__LINE__, labels_with(LABELS_VENDOR, "   "), LABELS_ERROR, LABELS_VENDOR, "is empty");
        expect_one(__LINE__, labels_with(LABELS_API_VERSION, ""), LABELS_ERROR, LABELS_API_VERSION, "is empty");
        expect_one(__LINE__, labels_with(LABELS_CHANGELOG, ""), LABELS_WARNING, LABELS_CHANGELOG, "is empty");
        expect_one(__LINE__, labels_with(LABELS_DETAILED_DESCRIPTION, "\n"), LABELS_WARNING,
                   LABELS_DETAILED_DESCRIPTION, "is empty");
        expect_one(__LINE__, labels_with(LABELS_ADDITIONAL_URLS, ""), LABELS_WARNING, LABELS_ADDITIONAL_URLS,
                   "is empty");
        expect_one(__LINE__, labels_with(LABELS_CATEGORIES, ""), LABELS_WARNING, LABELS_CATEGORIES,
                   "is empty; the marketplace validator has demanded categories");

        cJSON *j = good_labels();
        cJSON_DeleteItemFromObjectCaseSensitive(j, LABELS_VENDOR);
        cJSON_AddBoolToObject(j, LABELS_VENDOR, true);
        expect_one(__LINE__, j, LABELS_ERROR, LABELS_VENDOR, "is not a string");

        j = good_labels();
        cJSON_DeleteItemFromObjectCaseSensitive(j, LABELS_ACCOUNT_INFO);
        cJSON_AddNullToObject(j, LABELS_ACCOUNT_INFO);
        expect_one(__LINE__, j, LABELS_ERROR, LABELS_ACCOUNT_INFO, "is not a string");

        j = good_labels();
        cJSON_AddStringToObject(j, LABELS_TITLE, "Again");
        expect_one(__LINE__, j, LABELS_WARNING, LABELS_TITLE, "occurs 2 times; the last one counts");

        expect_one(__LINE__, labels_with(LABELS_VENDOR, "Bad \xff byte"), LABELS_WARNING, LABELS_VENDOR,
                   "is not valid UTF-8");
}

static void test_validate_api(void) {
        expect_one(__LINE__, labels_with(LABELS_API_VERSION, "0.3.0"), LABELS_WARNING, LABELS_API_VERSION,
                   "\"0.3.0\" is a bare version, which means exactly that version; write \">=0.3.0\" to accept "
                   "later API versions too");
        expect_one(__LINE__, labels_with(LABELS_API_VERSION, " 0.3.3 "), LABELS_WARNING, LABELS_API_VERSION,
                   "\"0.3.3\" is a bare version, which means exactly that version; write \">=0.3.3\" to accept "
                   "later API versions too");
        expect_one(__LINE__, labels_with(LABELS_API_VERSION, "banana"), LABELS_ERROR, LABELS_API_VERSION,
                   "\"banana\" is not a valid version range");
        expect_one(__LINE__, labels_with(LABELS_API_VERSION, ">= 0.3.4 <"), LABELS_ERROR, LABELS_API_VERSION,
                   "\">= 0.3.4 <\" is not a valid version range");
        /* A hostile value is quoted short and escaped. */
        char long_value[300];
        memset(long_value, 'q', sizeof(long_value) - 1);
        long_value[sizeof(long_value) - 1] = 0;
        long_value[0] = '\x1b';
        char expected[200] = "\"\\x1b";
        memset(expected + strlen(expected), 'q', 79);
        strcpy(expected + 5 + 79, "\xe2\x80\xa6\" is not a valid version range");
        expect_one(__LINE__, labels_with(LABELS_API_VERSION, long_value), LABELS_ERROR, LABELS_API_VERSION,
                   expected);
}

static void test_validate_urls(void) {
        expect_one(__LINE__, labels_with(LABELS_ICON, "https://example.com/icon.gif"), LABELS_WARNING, LABELS_ICON,
                   "\"https://example.com/icon.gif\" does not end in .svg, .png or .jpg");
        expect_one(__LINE__, labels_with(LABELS_ICON, "https://example.com/"), LABELS_WARNING, LABELS_ICON,
                   "\"https://example.com/\" does not end in .svg, .png or .jpg");
        expect_one(__LINE__, labels_with(LABELS_ICON, "icon.svg"), LABELS_ERROR, LABELS_ICON,
                   "\"icon.svg\" is not an absolute http(s) URL");
        expect_one(__LINE__, labels_with(LABELS_ICON, "ftp://example.com/icon.svg"), LABELS_ERROR, LABELS_ICON,
                   "\"ftp://example.com/icon.svg\" is not an absolute http(s) URL");
        expect_one(__LINE__, labels_with(LABELS_ICON, "https://exa mple.com/icon.svg"), LABELS_ERROR, LABELS_ICON,
                   "\"https://exa mple.com/icon.svg\" is not a well-formed URL");
        expect_one(__LINE__, labels_with(LABELS_ICON, "https:///icon.svg"), LABELS_ERROR, LABELS_ICON,
                   "\"https:///icon.svg\" is not a well-formed URL");
        expect_one(__LINE__, labels_with(LABELS_PUBLISHER_URL, "www.docker.com"), LABELS_ERROR, LABELS_PUBLISHER_URL,
                   "\"www.docker.com\" is not an absolute http(s) URL");

        /* A JSON array in publisher-url: untidy, each entry still a URL. */
        expect_one(__LINE__,
                   labels_with(LABELS_PUBLISHER_URL, "[{\"title\": \"Site\", \"url\": \"https://example.com\"}, "
                                                     "\"https://example.org\"]"),
                   LABELS_WARNING, LABELS_PUBLISHER_URL, "holds a JSON array; the documented value is one URL");
        struct result r = validate(labels_with(LABELS_PUBLISHER_URL, "[{\"title\": \"Site\"}, \"nope\"]"));
        CHECK_INT(r.n, 3);
        CHECK(find(&r, LABELS_PUBLISHER_URL, "holds a JSON array") == 0);
        CHECK(find(&r, LABELS_PUBLISHER_URL, "entry 1 holds no URL") == 1);
        CHECK(find(&r, LABELS_PUBLISHER_URL, "entry 2: \"nope\" is not an absolute http(s) URL") == 2);
        CHECK_INT(labels_findings_errors(r.f, r.n), 2);
        result_done(&r);
        r = validate(labels_with(LABELS_PUBLISHER_URL, "[]"));
        CHECK_INT(r.n, 2);
        CHECK(find(&r, LABELS_PUBLISHER_URL, "is an empty JSON array, not a URL") == 1);
        result_done(&r);
        /* Something that only starts like an array is judged as a URL. */
        expect_one(__LINE__, labels_with(LABELS_PUBLISHER_URL, "[https://example.com"), LABELS_ERROR,
                   LABELS_PUBLISHER_URL, "\"[https://example.com\" is not an absolute http(s) URL");
}

static void test_validate_arrays(void) {
        expect_one(__LINE__, labels_with(LABELS_SCREENSHOTS, "[{\"alt\": \"x\", \"url\": \"https://e.com/1.png\"}"),
                   LABELS_ERROR, LABELS_SCREENSHOTS,
                   "is not valid JSON (at byte 43); expected an array of {\"alt\", \"url\"} objects");
        expect_one(__LINE__, labels_with(LABELS_SCREENSHOTS, "{\"alt\": \"x\", \"url\": \"https://e.com/1.png\"}"),
                   LABELS_ERROR, LABELS_SCREENSHOTS, "is not a JSON array of {\"alt\", \"url\"} objects");
        expect_one(__LINE__, labels_with(LABELS_SCREENSHOTS, "[]"), LABELS_WARNING, LABELS_SCREENSHOTS,
                   "is an empty array");
        expect_one(__LINE__, labels_with(LABELS_SCREENSHOTS, "[\"https://e.com/1.png\"]"), LABELS_ERROR,
                   LABELS_SCREENSHOTS, "entry 1 is not an object");

        struct result r = validate(labels_with(LABELS_SCREENSHOTS,
                                               "[{\"alt\": \"a\", \"url\": \"https://e.com/1.png\"},"
                                               " {\"url\": \"https://e.com/2.png\"},"
                                               " {\"alt\": \"\", \"url\": 5},"
                                               " {\"alt\": \"d\", \"url\": \"/4.png\"}]"));
        CHECK_INT(r.n, 4);
        CHECK_INT(find(&r, LABELS_SCREENSHOTS, "entry 2 has no string \"alt\""), 0);
        CHECK_INT(find(&r, LABELS_SCREENSHOTS, "entry 3 has an empty \"alt\""), 1);
        CHECK_INT(find(&r, LABELS_SCREENSHOTS, "entry 3 has no string \"url\""), 2);
        CHECK_INT(find(&r, LABELS_SCREENSHOTS, "entry 4: \"/4.png\" is not an absolute http(s) URL"), 3);
        CHECK_INT(labels_findings_errors(r.f, r.n), 3);
        result_done(&r);

        expect_one(__LINE__, labels_with(LABELS_ADDITIONAL_URLS, "[{\"name\": \"x\", \"url\": \"https://e.com\"}]"),
                   LABELS_ERROR, LABELS_ADDITIONAL_URLS, "entry 1 has no string \"title\"");
        expect_one(__LINE__, labels_with(LABELS_ADDITIONAL_URLS, "[{\"title\": \"x\", \"url\": \"e.com\"}]"),
                   LABELS_ERROR, LABELS_ADDITIONAL_URLS, "entry 1: \"e.com\" is not an absolute http(s) URL");

        /* Beyond LABELS_MAX_ARRAY entries only the first ones are checked, and that is said. */
        _cleanup_free_ char *big = malloc(100 * 64 + 16);
        CHECK(big != NULL);
        if (!big)
                return;
        strcpy(big, "[");
        for (int i = 0; i < 70; i++)
                strcat(big, i < 69 ? "{\"alt\":\"a\",\"url\":\"https://e.com/s.png\"}," : "{\"alt\":\"a\"}");
        strcat(big, "]");
        expect_one(__LINE__, labels_with(LABELS_SCREENSHOTS, big), LABELS_WARNING, LABELS_SCREENSHOTS,
                   "has 70 entries; only the first 64 were checked");
}

static void test_validate_account_and_categories(void) {
        expect_one(__LINE__, labels_with(LABELS_ACCOUNT_INFO, "true"), LABELS_WARNING, LABELS_ACCOUNT_INFO,
                   "is \"true\"; the documented values are \"required\" and empty");
        expect_one(__LINE__, labels_with(LABELS_ACCOUNT_INFO, "Required"), LABELS_WARNING, LABELS_ACCOUNT_INFO,
                   "is \"Required\"; the documented values are \"required\" and empty");
        expect_one(__LINE__, labels_with(LABELS_ACCOUNT_INFO, "yes please"), LABELS_ERROR, LABELS_ACCOUNT_INFO,
                   "is \"yes please\"; the documented values are \"required\" and empty");
        expect_none(__LINE__, labels_with(LABELS_ACCOUNT_INFO, "  "));

        expect_one(__LINE__, labels_with(LABELS_CATEGORIES, "volumes,gaming"), LABELS_ERROR, LABELS_CATEGORIES,
                   "unknown category \"gaming\"; known: ci-cd, container-orchestration, cloud-deployment, "
                   "cloud-development, database, kubernetes, networking, image-registry, security, testing-tools, "
                   "utility-tools, volumes");
        expect_one(__LINE__, labels_with(LABELS_CATEGORIES, "volumes,,security"), LABELS_WARNING, LABELS_CATEGORIES,
                   "has an empty entry");
        expect_one(__LINE__, labels_with(LABELS_CATEGORIES, "volumes, "), LABELS_WARNING, LABELS_CATEGORIES,
                   "has an empty entry");
        expect_one(__LINE__, labels_with(LABELS_CATEGORIES, ",volumes"), LABELS_WARNING, LABELS_CATEGORIES,
                   "has an empty entry");
        expect_one(__LINE__, labels_with(LABELS_CATEGORIES, "volumes, security,volumes"), LABELS_WARNING,
                   LABELS_CATEGORIES, "lists \"volumes\" more than once");
        expect_one(__LINE__, labels_with(LABELS_CATEGORIES, "Volumes"), LABELS_ERROR, LABELS_CATEGORIES,
                   "unknown category \"Volumes\"; known: ci-cd, container-orchestration, cloud-deployment, "
                   "cloud-development, database, kubernetes, networking, image-registry, security, testing-tools, "
                   "utility-tools, volumes");
}

static void test_validate_unknown(void) {
        cJSON *j = good_labels();
        cJSON_AddStringToObject(j, "com.docker.extension.screenshot", "[]");
        expect_one(__LINE__, j, LABELS_WARNING, "com.docker.extension.screenshot",
                   "is not a documented extension label; did you mean com.docker.extension.screenshots?");
        j = good_labels();
        cJSON_AddStringToObject(j, "com.docker.desktop.extension.something-else", "x");
        expect_one(__LINE__, j, LABELS_WARNING, "com.docker.desktop.extension.something-else",
                   "is not a documented extension label");
        j = good_labels();
        cJSON_AddStringToObject(j, "com.docker.extensions.categories", "x");
        expect_none(__LINE__, j);
}

static void test_validate_limits(void) {
        size_t len = LABELS_MAX_LONG_VALUE + 1;
        char *big = malloc(len + 1);
        CHECK(big != NULL);
        if (!big)
                return;
        memset(big, 'x', len);
        big[len] = 0;
        expect_one(__LINE__, labels_with(LABELS_CHANGELOG, big), LABELS_ERROR, LABELS_CHANGELOG,
                   "is 262145 bytes long; at most 262144 are accepted");
        big[LABELS_MAX_SHORT_VALUE + 1] = 0;
        expect_one(__LINE__, labels_with(LABELS_TITLE, big), LABELS_ERROR, LABELS_TITLE,
                   "is 8193 bytes long; at most 8192 are accepted");
        big[LABELS_MAX_SHORT_VALUE] = 0;
        expect_none(__LINE__, labels_with(LABELS_TITLE, big));
        free(big);

        /* Many unknown labels: the list stops at LABELS_MAX_FINDINGS, the last entry says so. */
        cJSON *j = good_labels();
        for (int i = 0; i < 500; i++) {
                char key[64];
                snprintf(key, sizeof(key), "com.docker.extension.unknown-%d", i);
                cJSON_AddStringToObject(j, key, "x");
        }
        struct result r = validate(j);
        CHECK_INT(r.n, LABELS_MAX_FINDINGS);
        CHECK_INT(labels_findings_errors(r.f, r.n), 0);
        if (r.n == LABELS_MAX_FINDINGS) {
                CHECK_STR(r.f[r.n - 1].label, "config.Labels");
                CHECK_STR(r.f[r.n - 1].message, "more problems were found; only the first 99 are listed");
                CHECK_STR(r.f[r.n - 2].label, "com.docker.extension.unknown-98");
        }
        result_done(&r);

        /* An error past the cap must still count as an error. */
        char shots[64 * 48 + 8], urls[64 * 48 + 8];
        strcpy(shots, "[");
        strcpy(urls, "[");
        for (int i = 0; i < 64; i++) {
                strcat(shots, "{\"alt\":\"\",\"url\":\"https://e.com/s.png\"}");
                strcat(urls, "{\"title\":\"\",\"url\":\"https://e.com/\"}");
                strcat(shots, i < 63 ? "," : "]");
                strcat(urls, i < 63 ? "," : "]");
        }
        j = labels_with(LABELS_SCREENSHOTS, shots);
        cJSON_DeleteItemFromObjectCaseSensitive(j, LABELS_ADDITIONAL_URLS);
        cJSON_AddStringToObject(j, LABELS_ADDITIONAL_URLS, urls);
        cJSON_DeleteItemFromObjectCaseSensitive(j, LABELS_CATEGORIES);
        cJSON_AddStringToObject(j, LABELS_CATEGORIES, "nonsense");
        r = validate(j);
        CHECK_INT(r.n, LABELS_MAX_FINDINGS);
        CHECK_INT(labels_findings_errors(r.f, r.n), 1);
        if (r.n == LABELS_MAX_FINDINGS) {
                CHECK(r.f[r.n - 1].severity == LABELS_ERROR);
                CHECK(r.f[r.n - 2].severity == LABELS_WARNING);
        }
        result_done(&r);
}

int main(void) {
        test_extract_good();
        test_extract_absent();
        test_extract_required();
        test_extract_untidy();
        test_extract_limits();
        test_validate_good();
        test_validate_missing();
        test_validate_blank_and_types();
        test_validate_api();
        test_validate_urls();
        test_validate_arrays();
        test_validate_account_and_categories();
        test_validate_unknown();
        test_validate_limits();
        return check_summary("test-labels");
}
