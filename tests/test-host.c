/* Unit tests of lib/host: the host of a URL, userinfo, and the table of registry hosts. */
#include <stdio.h>

#include "check.h"
#include "host.h"
#include "util.h"

static void test_urls(void) {
        static const struct {
                const char *url, *host;
                bool userinfo;
                const char *redacted;
        } table[] = {
                { "https://registry.example/v2/", "registry.example", false, "https://registry.example/v2/" },
                { "http://127.0.0.1:5000", "127.0.0.1", false, "http://127.0.0.1:5000" },
                { "https://[::1]:5000/x", "::1", false, "https://[::1]:5000/x" },
                { "https://user:pw@example.com/l", "example.com", true, "https://example.com/l" },
                { "https://a:b@c@example.com:8080/l?x=@", "example.com", true, "https://example.com:8080/l?x=@" },
                { "https://token@example.com", "example.com", true, "https://example.com" },
                { "https://example.com/a@b", "example.com", false, "https://example.com/a@b" },
                { "https://example.com?q=a@b", "example.com", false, "https://example.com?q=a@b" },
                { "https:///x", "", false, "https:///x" },
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                check_context = table[i].url;
                size_t n;
                const char *h = host_of_url(table[i].url, &n);
                _cleanup_free_ char *got = strndup(h, n);
                CHECK_STR(got, table[i].host);
                CHECK_INT(host_url_has_userinfo(table[i].url), table[i].userinfo);
                _cleanup_free_ char *redacted = host_url_redact(table[i].url);
                CHECK_STR(redacted, table[i].redacted);
        }
        check_context = NULL;
        CHECK(host_same_in_urls("http://127.0.0.1:5000", "HTTP://127.0.0.1:5001/token"));
        CHECK(host_same_in_urls("https://Registry.Example", "http://registry.example/x"));
        CHECK(!host_same_in_urls("http://127.0.0.1:5000", "http://127.0.0.2:5000"));
        CHECK(!host_same_in_urls("http://[::1]:5000", "http://[::2]:5000"));
        CHECK(!host_same_in_urls("https:///x", "https:///x"));

        static const struct {
                const char *a, *b;
                bool same;
        } origins[] = {
                { "https://registry-1.docker.io/v2/x/blobs/sha256:1", "https://registry-1.docker.io", true },
                { "https://Registry-1.Docker.IO:443/v2/", "https://registry-1.docker.io", true },
                { "HTTP://127.0.0.1:80/v2/", "http://127.0.0.1", true },
                { "http://[::1]:5000/v2/", "http://[::1]:5000", true },
                { "http://127.0.0.1:5000/v2/", "http://127.0.0.1:5000", true },
                { "http://127.0.0.2:5000/cdn/x", "http://127.0.0.1:5000", false },
                { "http://127.0.0.1:5001/v2/", "http://127.0.0.1:5000", false },
                { "https://127.0.0.1:5000/v2/", "http://127.0.0.1:5000", false },
                { "https://registry.example:8443/v2/", "https://registry.example", false },
                { "https://registry.example.evil/v2/", "https://registry.example", false },
                { "https://registry.example@evil.example/v2/", "https://registry.example", false },
                { "http://[::1]:5000/v2/", "http://[::2]:5000", false },
                { "https://registry.example:99999/", "https://registry.example:99999", false },
                { "ftp://registry.example/", "ftp://registry.example/", false },
        };
        for (size_t i = 0; i < ELEMENTSOF(origins); i++) {
                check_context = origins[i].a;
                CHECK_INT(host_same_origin(origins[i].a, origins[i].b), origins[i].same);
                CHECK_INT(host_same_origin(origins[i].b, origins[i].a), origins[i].same);
        }
        check_context = NULL;
}

/* Docker's pattern (references) and the strict form (configuration keys, credential lookups). */
static void test_valid(void) {
        static const struct {
                const char *host;
                bool docker, strict;
        } table[] = {
                { "docker.io", true, true },
                { "registry-1.docker.io", true, true },
                { "Registry.Example:8443", true, true },
                { "localhost", true, true },
                { "localhost:5000", true, true },
                { "127.0.0.1:5000", true, true },
                { "a", true, true },
                { "[::1]", true, true },
                { "[::1]:5000", true, true },
                { "[2001:db8::1]:443", true, true },
                { "x--y.example", true, true },
                { "localhost:0", true, false },      /* docker's pattern takes any digits */
                { "localhost:65536", true, false },
                { "localhost:123456", true, false },
                { "[:]", true, false },              /* bracketed hex and colons that do not parse */
                { "[1:2:3:4:5:6:7:8:9]", true, false },
                { "", false, false },
                { "-a.example", false, false },
                { "a-.example", false, false },
                { "a..example", false, false },
                { ".example", false, false },
                { "example.", false, false },
                { "exa_mple.com", false, false },
                { "host:", false, false },
                { "host:port", false, false },
                { "host:5000:1", false, false },
                { "[]", false, false },
                { "[::1", false, false },
                { "[::1]x", false, false },
                { "[::ffff:127.0.0.1]", false, false }, /* docker's pattern has no dots in brackets */
                { "a b", false, false },
                { "host/path", false, false },
                { "user@host", false, false },
                { "h\xc3\xa9.example", false, false },
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                check_context = table[i].host;
                CHECK_INT(host_is_valid(table[i].host, strlen(table[i].host), false), table[i].docker);
                CHECK_INT(host_is_valid(table[i].host, strlen(table[i].host), true), table[i].strict);
        }
        check_context = NULL;
        /* The length is the caller's: a prefix of a longer string. */
        CHECK(host_is_valid("ghcr.io/ns/app", 7, true));
        CHECK(!host_is_valid("ghcr.io/ns/app", 8, true));
        char long_host[300];
        memset(long_host, 'a', sizeof long_host);
        for (size_t i = 63; i < sizeof long_host; i += 64)
                long_host[i] = '.';
        CHECK(host_is_valid(long_host, 255, false) == host_is_valid(long_host, 255, true));
        CHECK(host_is_valid(long_host, 257, false));
        CHECK(!host_is_valid(long_host, 257, true));
        CHECK(!host_is_valid(NULL, 0, false));
}

int main(void) {
        test_valid();
        test_urls();
        return check_summary("test-host");
}
