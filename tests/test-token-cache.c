/* Unit tests of lib/token-cache: keys, scope coverage, expiry, redundancy, bounds, and its index at scale. */
#include <errno.h>
#include <stdio.h>

#include "check.h"
#include "scope.h"
#include "token-cache.h"
#include "util.h"

static void test_keys_scopes_expiry(void) {
        struct token_cache *c = NULL;
        CHECK_INT(token_cache_new(&c), 0);
        const int64_t t0 = 1000000;
        const char *realm = "https://auth.example/token", *svc = "registry.example";
#define K(r, s) (&(struct token_cache_key) { .registry = "registry.example", .realm = (r), .service = (s) })

        CHECK(token_cache_lookup(c, K(realm, svc), "repository:a:pull", t0) == NULL);

        const char *s1[] = { "repository:a:pull", "repository:b:pull,push", NULL };
        CHECK_INT(token_cache_store(c, K(realm, svc), s1, "tok1", t0, t0 + 60000), 0);
        CHECK_STR(token_cache_lookup(c, K(realm, svc), "repository:a:pull", t0), "tok1");
        CHECK_STR(token_cache_lookup(c, K(realm, svc), "repository:b:pull", t0), "tok1");
        CHECK_STR(token_cache_lookup(c, K(realm, svc), "repository:b:push", t0), "tok1");
        CHECK_STR(token_cache_lookup(c, K(realm, svc), "repository:b:push,pull", t0), "tok1");
        CHECK_STR(token_cache_lookup(c, K(realm, svc), "repository:a:pull repository:b:pull", t0), "tok1");
        CHECK_STR(token_cache_lookup(c, K(realm, svc), NULL, t0), "tok1");
        /* Not covered: another action, another repository, another realm or service. */
        CHECK(token_cache_lookup(c, K(realm, svc), "repository:a:push", t0) == NULL);
        CHECK(token_cache_lookup(c, K(realm, svc), "repository:a:pull,push", t0) == NULL);
        CHECK(token_cache_lookup(c, K(realm, svc), "repository:c:pull", t0) == NULL);
        CHECK(token_cache_lookup(c, K(realm, svc), "repository:a:pull repository:c:pull", t0) == NULL);
        CHECK(token_cache_lookup(c, K(realm, svc), "repository:a/b:pull", t0) == NULL);
        CHECK(token_cache_lookup(c, K(realm, svc), "registry:a:pull", t0) == NULL);
        CHECK(token_cache_lookup(c, K("https://other/token", svc), "repository:a:pull", t0) == NULL);
        CHECK(token_cache_lookup(c, K(realm, "other"), "repository:a:pull", t0) == NULL);
        CHECK(token_cache_lookup(c, K(realm, NULL), "repository:a:pull", t0) == NULL);
        /* Nor for another registry naming the same realm and service, nor with other credentials. */
        struct token_cache_key other_registry = { .registry = "other.example", .realm = realm, .service = svc };
        CHECK(token_cache_lookup(c, &other_registry, "repository:a:pull", t0) == NULL);
        struct token_cache_key with_credentials = { .registry = "registry.example", .credentials = "sha256:1",
                                                    .realm = realm, .service = svc };
        CHECK(token_cache_lookup(c, &with_credentials, "repository:a:pull", t0) == NULL);
        CHECK_INT(token_cache_store(c, &with_credentials, s1, "mine", t0, t0 + 60000), 0);
        CHECK_STR(token_cache_lookup(c, &with_credentials, "repository:a:pull", t0), "mine");
        CHECK_STR(token_cache_lookup(c, K(realm, svc), "repository:a:pull", t0), "tok1");
        CHECK(token_cache_lookup(c, &other_registry, "repository:a:pull", t0) == NULL);
        struct token_cache_key no_registry = { .realm = realm, .service = svc };
        CHECK_INT(token_cache_store(c, &no_registry, s1, "x", t0, t0 + 60000), -EINVAL);
        CHECK(token_cache_lookup(c, &no_registry, "repository:a:pull", t0) == NULL);

        /* Expiry with a fake clock: 60 s lifetime, refreshed 10 s early. */
        CHECK_STR(token_cache_lookup(c, K(realm, svc), "repository:a:pull", t0 + 49999), "tok1");
        CHECK(token_cache_lookup(c, K(realm, svc), "repository:a:pull", t0 + 50000) == NULL);
        CHECK(token_cache_lookup(c, K(realm, svc), "repository:a:pull", t0 + 60000) == NULL);

        /* A short-lived token: the margin is a quarter of its lifetime. */
        const char *s2[] = { "repository:short:pull", NULL };
        CHECK_INT(token_cache_store(c, K(realm, svc), s2, "short", t0, t0 + 4000), 0);
        CHECK_STR(token_cache_lookup(c, K(realm, svc), "repository:short:pull", t0 + 2999), "short");
        CHECK(token_cache_lookup(c, K(realm, svc), "repository:short:pull", t0 + 3000) == NULL);

        /* Already expired: not stored. */
        CHECK_INT(token_cache_store(c, K(realm, svc), s2, "dead", t0, t0), 0);
        CHECK_STR(token_cache_lookup(c, K(realm, svc), "repository:short:pull", t0), "short");

        /* The longest-lived of several covering tokens is returned. */
        const char *s3[] = { "repository:a:pull", NULL };
        CHECK_INT(token_cache_store(c, K(realm, svc), s3, "tok2", t0 + 1000, t0 + 301000), 0);
        CHECK_STR(token_cache_lookup(c, K(realm, svc), "repository:a:pull", t0 + 1000), "tok2");
        CHECK_STR(token_cache_lookup(c, K(realm, svc), "repository:b:pull", t0 + 1000), "tok1");
        CHECK_STR(token_cache_lookup(c, K(realm, svc), "repository:a:pull", t0 + 200000), "tok2");
        CHECK(token_cache_lookup(c, K(realm, svc), "repository:b:pull", t0 + 200000) == NULL);

        /* A token with no scopes serves the base endpoint only; a service of NULL is its own key. */
        CHECK_INT(token_cache_store(c, K("https://bare/token", NULL), NULL, "bare", t0, t0 + 60000), 0);
        CHECK_STR(token_cache_lookup(c, K("https://bare/token", NULL), NULL, t0), "bare");
        CHECK(token_cache_lookup(c, K("https://bare/token", NULL), "repository:a:pull", t0) == NULL);
        CHECK(token_cache_lookup(c, K("https://bare/token", "svc"), NULL, t0) == NULL);

        /* Wildcard actions and scopes that are not type:name:actions. */
        const char *s4[] = { "repository:w:*", "registry:catalog:*", "opaque-scope", NULL };
        CHECK_INT(token_cache_store(c, K(realm, "wild"), s4, "wild", t0, t0 + 60000), 0);
        CHECK_STR(token_cache_lookup(c, K(realm, "wild"), "repository:w:pull,push,delete", t0), "wild");
        CHECK_STR(token_cache_lookup(c, K(realm, "wild"), "registry:catalog:*", t0), "wild");
        CHECK_STR(token_cache_lookup(c, K(realm, "wild"), "opaque-scope", t0), "wild");
        CHECK(token_cache_lookup(c, K(realm, "wild"), "opaque", t0) == NULL);

        /* Tokens that would break a header line are refused. */
        CHECK_INT(token_cache_store(c, K(realm, svc), s3, "a\r\nb", t0, t0 + 60000), -EINVAL);
        CHECK_INT(token_cache_store(c, K(realm, svc), s3, "", t0, t0 + 60000), -EINVAL);

        /* The cache stays bounded: the oldest entries make room. */
        int bulk_errors = 0;
        for (int i = 0; i < 1100; i++) {
                char scope[64], tok[32];
                snprintf(scope, sizeof(scope), "repository:bulk%d:pull", i);
                snprintf(tok, sizeof(tok), "bulk%d", i);
                const char *s[] = { scope, NULL };
                if (token_cache_store(c, K(realm, "bulk"), s, tok, t0, t0 + 60000 + i) < 0)
                        bulk_errors++;
        }
        CHECK_INT(bulk_errors, 0);
        CHECK(token_cache_lookup(c, K(realm, "bulk"), "repository:bulk0:pull", t0) == NULL);
        CHECK_STR(token_cache_lookup(c, K(realm, "bulk"), "repository:bulk1099:pull", t0), "bulk1099");
        /* Entries closest to their refresh made room: the short token went, the long-lived one stayed. */
        CHECK(token_cache_lookup(c, K(realm, svc), "repository:short:pull", t0) == NULL);
        CHECK_STR(token_cache_lookup(c, K(realm, svc), "repository:a:pull", t0 + 1000), "tok2");

        token_cache_free(c);
        token_cache_free(NULL);
#undef K
}


/* Scopes of one resource are merged, and a token covering another's scopes replaces it. */
static void test_merge_and_redundancy(void) {
        struct token_cache *c = NULL;
        REQUIRE_OK(token_cache_new(&c));
        const struct token_cache_key k = { .registry = "r.example", .realm = "https://auth/token" };
        const int64_t t0 = 1000;
        const char *split[] = { "repository:a:pull", "repository:a:push", "repository:a:pull", NULL };
        CHECK_INT(token_cache_store(c, &k, split, "split", t0, t0 + 60000), 0);
        CHECK_STR(token_cache_lookup(c, &k, "repository:a:pull,push", t0), "split");
        CHECK_STR(token_cache_lookup(c, &k, "repository:a:push", t0), "split");
        /* An opaque scope never shares a resource with a split one. */
        const char *opaque[] = { "repository:a", NULL };
        CHECK_INT(token_cache_store(c, &k, opaque, "opaque", t0, t0 + 30000), 0);
        CHECK_STR(token_cache_lookup(c, &k, "repository:a", t0), "opaque");
        CHECK_STR(token_cache_lookup(c, &k, "repository:a:pull", t0), "split");
        /* Scopes of one token: several looked up at once. */
        const char *two[] = { "repository:b:pull repository:c:pull", NULL };
        CHECK_INT(token_cache_store(c, &k, two, "two", t0, t0 + 60000), 0);
        CHECK_STR(token_cache_lookup(c, &k, "repository:b:pull repository:c:pull", t0), "two");
        CHECK(token_cache_lookup(c, &k, "repository:b:pull repository:a:push", t0) == NULL);
        /* A longer-lived token for b, c and d makes "two" redundant; one for b alone does not. */
        const char *b_only[] = { "repository:b:pull", NULL };
        CHECK_INT(token_cache_store(c, &k, b_only, "b", t0, t0 + 90000), 0);
        CHECK_STR(token_cache_lookup(c, &k, "repository:c:pull", t0), "two");
        const char *bcd[] = { "repository:b:pull,push", "repository:c:pull", "repository:d:pull", NULL };
        CHECK_INT(token_cache_store(c, &k, bcd, "bcd", t0, t0 + 120000), 0);
        CHECK_STR(token_cache_lookup(c, &k, "repository:c:pull", t0 + 100000), "bcd");
        CHECK_STR(token_cache_lookup(c, &k, "repository:b:pull repository:c:pull", t0), "bcd");
        /* An empty scope list asks for any token of the key. */
        CHECK(token_cache_lookup(c, &k, "  ", t0) != NULL);
        token_cache_free(c);
}

/* 10,000 repositories in batches of 50, then every one looked up: the results, not the time
 * (bench-tokens measures that), are checked here. */
static void test_many(void) {
        struct token_cache *c = NULL;
        REQUIRE_OK(token_cache_new(&c));
        const struct token_cache_key k = { .registry = "docker.io", .realm = "https://auth.docker.io/token",
                                           .service = "registry.docker.io" };
        char *scopes[51] = {};
        int errors = 0;
        for (int b = 0; b < 200; b++) {
                for (int i = 0; i < 50; i++)
                        scopes[i] = util_printf("repository:ns/r%05d:pull", b * 50 + i);
                char tok[16];
                snprintf(tok, sizeof tok, "batch%d", b);
                if (token_cache_store(c, &k, (const char *const *) scopes, tok, 0, 300000) < 0)
                        errors++;
                for (int i = 0; i < 50; i++)
                        free(scopes[i]);
        }
        CHECK_INT(errors, 0);
        int wrong = 0;
        for (int r = 0; r < 10000; r++) {
                char scope[64], tok[16];
                snprintf(scope, sizeof scope, "repository:ns/r%05d:pull", r);
                snprintf(tok, sizeof tok, "batch%d", r / 50);
                if (!streq_ptr(token_cache_lookup(c, &k, scope, 1000), tok))
                        wrong++;
        }
        CHECK_INT(wrong, 0);
        CHECK(token_cache_lookup(c, &k, "repository:ns/r10000:pull", 1000) == NULL);
        token_cache_free(c);
}

static void test_scopes(void) {
        struct scope sc;
        CHECK(scope_split("repository:ns/app:pull,push", 27, &sc));
        CHECK(sc.type_len == 10 && sc.name_len == 6 && sc.actions_len == 9);
        CHECK(!scope_split("opaque", 6, &sc));
        CHECK_INT(scope_resource_len("repository:ns/app:pull", 22), 18);
        CHECK_INT(scope_resource_len("repository:a", 12), 12);
        CHECK(scope_covers("repository:a:*", 14, "repository:a:push", 17));
        CHECK(!scope_covers("repository:a:pull", 17, "repository:ab:pull", 18));
        char **l = NULL;
        const char *in[] = { "a:b:c d:e:f", "a:b:c", NULL };
        CHECK_INT(scope_list_normalize(in, &l), 0);
        CHECK(l && util_strv_length(l) == 2 && streq(l[0], "a:b:c") && streq(l[1], "d:e:f"));
        CHECK(scope_list_covers(l, "d:e:f a:b:c"));
        util_strv_free(l);
        CHECK_INT(scope_list_normalize(NULL, &l), 0);
        CHECK(l && !l[0]);
        util_strv_free(l);
}

/* What may go into an Authorization header as it is. */
static void test_token_valid(void) {
        CHECK(token_cache_token_valid("eyJhbGciOi.J9-_x/+="));
        static const char *const bad[] = { "", "a b", "a\tb", "a\r\nX-Evil: 1", "del\x7f", "caf\xc3\xa9" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                CHECK_MSG(!token_cache_token_valid(bad[i]), "accepted bad[%zu]", i);
}

int main(void) {
        test_token_valid();
        test_keys_scopes_expiry();
        test_merge_and_redundancy();
        test_many();
        test_scopes();
        return check_summary("test-token-cache");
}
