/* Unit tests for lib/http.c's network-free parts: Retry-After parsing and response header lookup. */
#include <errno.h>
#include <stdio.h>

#include "http.h"
#include "util.h"
#include "check.h"

/* Sun, 06 Nov 1994 08:49:37 GMT, the example date of RFC 9110. */
#define EXAMPLE_MS ((int64_t) 784111777 * 1000)

static void test_retry_after_seconds(void) {
        CHECK_INT(http_parse_retry_after("120", 0), 120000);
        CHECK_INT(http_parse_retry_after("0", 5), 0);
        CHECK_INT(http_parse_retry_after(" 7 ", 0), 7000);
        CHECK_INT(http_parse_retry_after("007", 0), 7000);
        /* The current time does not matter for a delay. */
        CHECK_INT(http_parse_retry_after("3", EXAMPLE_MS), 3000);
        /* Absurd values saturate instead of wrapping into the past. */
        int64_t huge = http_parse_retry_after("99999999999999999999999999999", 0);
        CHECK_INT(huge > (int64_t) 1000000000 * 1000, 1);
        CHECK_INT(http_parse_retry_after("9223372036854775807", 0), huge);

        static const char *const bad[] = { "", " ", "-1", "+5", "1.5", "12abc", "1 2", "0x10", "abc", "∞" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                int64_t v = http_parse_retry_after(bad[i], 0);
                if (v != -1)
                        fprintf(stderr, "accepted \"%s\"\n", bad[i]);
                CHECK_INT(v, -1);
        }
        CHECK_INT(http_parse_retry_after(NULL, 0), -1);
}

static void test_retry_after_dates(void) {
        /* The three forms a recipient must accept, five seconds before the date. */
        static const char *const forms[] = {
                "Sun, 06 Nov 1994 08:49:37 GMT",
                "Sunday, 06-Nov-94 08:49:37 GMT",
                "Sun Nov  6 08:49:37 1994",
        };
        for (size_t i = 0; i < ELEMENTSOF(forms); i++) {
                CHECK_INT(http_parse_retry_after(forms[i], EXAMPLE_MS - 5000), 5000);
                CHECK_INT(http_parse_retry_after(forms[i], EXAMPLE_MS - 1), 1);
                /* A date already past means "now". */
                CHECK_INT(http_parse_retry_after(forms[i], EXAMPLE_MS + 60000), 0);
        }
        CHECK_INT(http_parse_retry_after("Thu, 01 Jan 2099 00:00:00 GMT", (int64_t) 4070908800 * 1000 - 250),
                  250);
        CHECK_INT(http_parse_retry_after("  Sun, 06 Nov 1994 08:49:37 GMT", EXAMPLE_MS - 2000), 2000);
        CHECK_INT(http_parse_retry_after("Sun, 99 Zzz 1994 08:49:37 GMT", 0), -1);
        CHECK_INT(http_parse_retry_after("tomorrow", 0), -1);
}

static void test_header_lookup(void) {
        const char *const lines[] = {
                "Content-Type: application/json",
                "Link: </v2/a/tags/list?n=2&last=b>; rel=\"next\"",
                "Docker-Content-Digest: sha256:0123",
                "Content-Length: 42",
                "link: <second>",
                "X-Empty: ",
                "WWW-Authenticate: Bearer realm=\"https://auth.example/token\",service=\"registry\"",
                "Www-Authenticate: Basic realm=\"x\"",
                NULL,
        };
        struct http_response r = { .status = 200, .headers = lines };

        CHECK_STR(http_response_header(&r, "content-type"), "application/json");
        CHECK_STR(http_response_header(&r, "CONTENT-LENGTH"), "42");
        CHECK_STR(http_response_header(&r, "docker-content-digest"), "sha256:0123");
        /* The last occurrence wins. */
        CHECK_STR(http_response_header(&r, "Link"), "<second>");
        CHECK_STR(http_response_header(&r, "X-Empty"), "");
        /* Names match whole, not by prefix. */
        CHECK_STR(http_response_header(&r, "Content"), NULL);
        CHECK_STR(http_response_header(&r, "Content-Type-X"), NULL);
        CHECK_STR(http_response_header(&r, "Retry-After"), NULL);

        const char **all = http_response_headers(&r, "www-authenticate");
        CHECK_INT(all != NULL, 1);
        if (all) {
                CHECK_INT(util_strv_length((char *const *) all), 2);
                CHECK_STR(all[0], "Bearer realm=\"https://auth.example/token\",service=\"registry\"");
                CHECK_STR(all[1], "Basic realm=\"x\"");
        }
        free(all);

        const char **none = http_response_headers(&r, "Set-Cookie");
        CHECK_INT(none != NULL, 1);
        CHECK_STR(none ? none[0] : "unset", NULL);
        free(none);

        /* A response without headers, as for a transport error. */
        struct http_response empty = { .error = -ETIMEDOUT };
        CHECK_STR(http_response_header(&empty, "Content-Type"), NULL);
        const char **e = http_response_headers(&empty, "Link");
        CHECK_STR(e ? e[0] : "unset", NULL);
        free(e);
        CHECK_STR(http_response_header(NULL, "Link"), NULL);
}

int main(void) {
        test_retry_after_seconds();
        test_retry_after_dates();
        test_header_lookup();
        return check_summary("test-http-headers");
}
