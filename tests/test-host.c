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
}

int main(void) {
        test_urls();
        return check_summary("test-host");
}
