/* Unit tests for lib/link-header: the "next" target of Link header values, and where it may lead. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "link-header.h"
#include "util.h"

static void test_next(void) {
        static const struct {
                const char *values[3];
                int r;
                const char *next; /* NULL: none */
        } table[] = {
                { { "</v2/x/tags/list?last=a&n=2>; rel=\"next\"" }, 0, "/v2/x/tags/list?last=a&n=2" },
                { { "<a>; rel=next" }, 0, "a" },
                { { "<a>; REL=\"Next\"" }, 0, "a" },
                { { "<p>; rel=\"prev\", <n>; rel=\"prev next\"" }, 0, "n" },
                { { "<p>; rel=prev", "<n>; title=\"a, b\"; rel=next" }, 0, "n" },
                { { "<a>; rel=next, <b>; rel=next" }, 0, "a" },
                { { "<a>; rel=prev; rel=next" }, 0, NULL }, /* only the first rel counts */
                { { "<a>; rel=\"nextpage\"" }, 0, NULL },
                { { "<a>; title=\"\\\"q\\\"\"; rel=next" }, 0, "a" },
                { { "" }, 0, NULL },
                { { "a; rel=next" }, -EBADMSG, NULL },
                { { "<a b>; rel=next" }, -EBADMSG, NULL },
                { { "<a>; rel=\"next" }, -EBADMSG, NULL },
                { { "<a>; =next" }, -EBADMSG, NULL },
                { { "<a>; rel=" }, -EBADMSG, NULL },
                { { "<a> rel=next" }, -EBADMSG, NULL },
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_free_ char *next = NULL;
                int r = link_header_next(table[i].values, &next);
                CHECK_MSG(r == table[i].r, "row %zu: %d, want %d", i, r, table[i].r);
                if (r == 0)
                        CHECK_MSG(table[i].next ? next && streq(next, table[i].next) : !next,
                                  "row %zu: next %s, want %s", i, next ? next : "(none)",
                                  table[i].next ? table[i].next : "(none)");
        }
        _cleanup_free_ char *none = NULL;
        CHECK_INT(link_header_next(NULL, &none), 0);
        CHECK(!none);

        /* One value past the limit is refused whole. */
        size_t n = LINK_HEADER_MAX + 1;
        _cleanup_free_ char *big = malloc(n + 1);
        CHECK(big);
        memset(big, ' ', n);
        big[n] = 0;
        const char *values[] = { big, NULL };
        _cleanup_free_ char *next = NULL;
        CHECK_INT(link_header_next(values, &next), -E2BIG);
}

static void test_resolve(void) {
        static const char page[] = "http://127.0.0.1:5000/v2/ns/x/tags/list?n=1000";
        static const struct {
                const char *reference;
                int r;
                const char *want; /* the URL, or a part of the error */
        } table[] = {
                { "/v2/ns/x/tags/list?last=a&n=2", 0, "http://127.0.0.1:5000/v2/ns/x/tags/list?last=a&n=2" },
                { "?last=b", 0, "http://127.0.0.1:5000/v2/ns/x/tags/list?last=b" },
                { "HTTP://127.0.0.1:5000/v2/ns/x/tags/list?last=c", 0, "http://127.0.0.1:5000/v2/ns/x/tags/list?last=c" },
                { "http://127.0.0.2:5000/v2/ns/x/tags/list", -EPERM, "points to another host or scheme" },
                { "https://127.0.0.1:5000/v2/ns/x/tags/list", -EPERM, "points to another host or scheme" },
                { "//127.0.0.2:5000/v2/", -EPERM, "points to another host or scheme" },
                { "http://127.0.0.1:5001/", -EPERM, "points to another host or scheme" },
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_free_ char *url = NULL, *error = NULL;
                int r = link_header_resolve(page, table[i].reference, &url, &error);
                CHECK_MSG(r == table[i].r, "row %zu: %d, want %d", i, r, table[i].r);
                if (r == 0)
                        CHECK_MSG(url && streq(url, table[i].want), "row %zu: %s", i, url ? url : "(null)");
                else
                        CHECK_MSG(error && strstr(error, table[i].want), "row %zu: %s", i, error ? error : "(null)");
        }
        /* The reference is shown escaped: a forged line cannot reach a log. */
        _cleanup_free_ char *url = NULL, *error = NULL;
        int r = link_header_resolve(page, "http://127.0.0.2/\x1b[2J", &url, &error);
        CHECK(r == -EPERM || r == -EINVAL);
        CHECK(error && !strchr(error, '\x1b') && strstr(error, "\\x1b"));
        CHECK_INT(link_header_resolve("not a url", "/v2/", &url, NULL), -EINVAL);
}

int main(void) {
        test_next();
        test_resolve();
        return check_summary("test-link-header");
}
