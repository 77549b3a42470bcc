/* Unit tests for lib/auth: WWW-Authenticate parsing, token responses, the token cache, realms, Basic headers. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "util.h"
#include "check.h"

struct parsed {
        struct auth_challenge *c;
        size_t n;
        int r;
};

static struct parsed parse1(const char *value) {
        const char *values[] = { value, NULL };
        struct parsed p = {};
        p.r = auth_parse_challenges(values, &p.c, &p.n);
        return p;
}

static void parsed_done(struct parsed *p) {
        auth_challenges_free(p->c, p->n);
        *p = (struct parsed) {};
}

static void test_docker_hub(void) {
        struct parsed p = parse1("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
                                 "scope=\"repository:library/ubuntu:pull\"");
        CHECK_INT(p.r, 0);
        CHECK_INT(p.n, 1);
        if (p.n == 1) {
                CHECK_INT(p.c[0].scheme, AUTH_SCHEME_BEARER);
                CHECK_STR(p.c[0].scheme_name, "Bearer");
                CHECK_STR(p.c[0].realm, "https://auth.docker.io/token");
                CHECK_STR(p.c[0].service, "registry.docker.io");
                CHECK_STR(p.c[0].scope, "repository:library/ubuntu:pull");
                CHECK_STR(p.c[0].error, NULL);
        }
        parsed_done(&p);

        /* What distribution sends when the token lacks an action. */
        p = parse1("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
                   "scope=\"repository:a/b:pull\",error=\"insufficient_scope\"");
        CHECK_INT(p.n, 1);
        if (p.n == 1)
                CHECK_STR(p.c[0].error, "insufficient_scope");
        parsed_done(&p);
}

static void test_several_challenges(void) {
        struct parsed p = parse1("Basic realm=\"x\", Bearer realm=\"y\",service=\"z\"");
        CHECK_INT(p.r, 0);
        CHECK_INT(p.n, 2);
        if (p.n == 2) {
                CHECK_INT(p.c[0].scheme, AUTH_SCHEME_BASIC);
                CHECK_STR(p.c[0].realm, "x");
                CHECK_STR(p.c[0].service, NULL);
                CHECK_INT(p.c[1].scheme, AUTH_SCHEME_BEARER);
                CHECK_STR(p.c[1].realm, "y");
                CHECK_STR(p.c[1].service, "z");
                CHECK(auth_pick_challenge(p.c, p.n) == &p.c[1]);
        }
        parsed_done(&p);

        /* Schemes without parameters between others; empty list elements. */
        p = parse1("Negotiate, , Basic realm=\"b\" ,, NTLM,Bearer realm=\"r\"");
        CHECK_INT(p.n, 4);
        if (p.n == 4) {
                CHECK_STR(p.c[0].scheme_name, "Negotiate");
                CHECK_INT(p.c[0].scheme, AUTH_SCHEME_OTHER);
                CHECK_STR(p.c[1].realm, "b");
                CHECK_STR(p.c[2].scheme_name, "NTLM");
                CHECK_STR(p.c[3].realm, "r");
        }
        parsed_done(&p);

        /* Several header lines. */
        const char *values[] = { "Basic realm=\"one\"", "Bearer realm=\"two\", service=svc", NULL };
        struct auth_challenge *c = NULL;
        size_t n = 0;
        CHECK_INT(auth_parse_challenges(values, &c, &n), 0);
        CHECK_INT(n, 2);
        if (n == 2) {
                CHECK_STR(c[0].realm, "one");
                CHECK_STR(c[1].realm, "two");
                CHECK_STR(c[1].service, "svc");
        }
        auth_challenges_free(c, n);

        /* Only Basic: picked. Only others: none. */
        p = parse1("Digest realm=\"d\", nonce=\"abc\", Basic realm=\"b\"");
        CHECK_INT(p.n, 2);
        CHECK(p.n == 2 && auth_pick_challenge(p.c, p.n) == &p.c[1]);
        parsed_done(&p);
        p = parse1("Digest realm=\"d\", Negotiate");
        CHECK_INT(p.n, 2);
        CHECK(auth_pick_challenge(p.c, p.n) == NULL);
        parsed_done(&p);
        CHECK(auth_pick_challenge(NULL, 0) == NULL);
}

static void test_quoting(void) {
        struct parsed p = parse1("Bearer realm=\"https://a/token?x=1,2\",scope=\"repository:a:pull,push\",service=\"s\"");
        CHECK_INT(p.n, 1);
        if (p.n == 1) {
                CHECK_STR(p.c[0].realm, "https://a/token?x=1,2");
                CHECK_STR(p.c[0].scope, "repository:a:pull,push");
                CHECK_STR(p.c[0].service, "s");
        }
        parsed_done(&p);

        p = parse1("Bearer realm=\"a \\\"quoted\\\" \\\\ back\\slash\", service=\"x, Basic realm=y\"");
        CHECK_INT(p.n, 1);
        if (p.n == 1) {
                CHECK_STR(p.c[0].realm, "a \"quoted\" \\ backslash");
                CHECK_STR(p.c[0].service, "x, Basic realm=y");
        }
        parsed_done(&p);

        /* Whitespace around '=' (BWS) and an empty quoted value. */
        p = parse1("Bearer realm = \"r\" , service= \"\" ,scope =s");
        CHECK_INT(p.n, 1);
        if (p.n == 1) {
                CHECK_STR(p.c[0].realm, "r");
                CHECK_STR(p.c[0].service, "");
                CHECK_STR(p.c[0].scope, "s");
        }
        parsed_done(&p);

        /* Unquoted URL realms, as some registries send them. */
        p = parse1("Bearer realm=https://ghcr.io/token,service=ghcr.io,scope=repository:user/image:pull");
        CHECK_INT(p.n, 1);
        if (p.n == 1) {
                CHECK_STR(p.c[0].realm, "https://ghcr.io/token");
                CHECK_STR(p.c[0].service, "ghcr.io");
                CHECK_STR(p.c[0].scope, "repository:user/image:pull");
        }
        parsed_done(&p);

        /* Unterminated quote: the parameter is dropped, the challenge kept. */
        p = parse1("Bearer service=\"s\", realm=\"https://never-closed");
        CHECK_INT(p.n, 1);
        if (p.n == 1) {
                CHECK_STR(p.c[0].service, "s");
                CHECK_STR(p.c[0].realm, NULL);
        }
        parsed_done(&p);

        /* The first of duplicated parameters wins. */
        p = parse1("Bearer realm=\"first\", realm=\"second\"");
        CHECK(p.n == 1 && streq_ptr(p.c[0].realm, "first"));
        parsed_done(&p);
}

static void test_case(void) {
        struct parsed p = parse1("bEARER REALM=\"r\",Service=\"s\",SCOPE=\"x\",Error=\"e\"");
        CHECK_INT(p.n, 1);
        if (p.n == 1) {
                CHECK_INT(p.c[0].scheme, AUTH_SCHEME_BEARER);
                CHECK_STR(p.c[0].scheme_name, "bEARER");
                CHECK_STR(p.c[0].realm, "r");
                CHECK_STR(p.c[0].service, "s");
                CHECK_STR(p.c[0].scope, "x");
                CHECK_STR(p.c[0].error, "e");
        }
        parsed_done(&p);
        p = parse1("basic realm=\"lower\"");
        CHECK(p.n == 1 && p.c[0].scheme == AUTH_SCHEME_BASIC);
        parsed_done(&p);
        /* Parameter values keep their case. */
        p = parse1("BASIC Realm=\"MiXeD\"");
        CHECK(p.n == 1 && streq_ptr(p.c[0].realm, "MiXeD"));
        parsed_done(&p);
}

static void test_token68(void) {
        struct parsed p = parse1("Negotiate YIIBgwYGKwYBBQUCoIIBdzCCAXOgJDAiBgkqhkiC9xIBAgIGCSqGSIb3EgECAgYKKwYBBAGCNwICCqKC==");
        CHECK_INT(p.n, 1);
        if (p.n == 1) {
                CHECK_STR(p.c[0].scheme_name, "Negotiate");
                CHECK_STR(p.c[0].realm, NULL);
        }
        parsed_done(&p);

        /* token68 followed by another challenge. */
        p = parse1("Custom abc123+/==, Bearer realm=\"r\"");
        CHECK_INT(p.n, 2);
        if (p.n == 2) {
                CHECK_STR(p.c[0].scheme_name, "Custom");
                CHECK_STR(p.c[1].realm, "r");
                CHECK(auth_pick_challenge(p.c, p.n) == &p.c[1]);
        }
        parsed_done(&p);

        /* "realm=" alone is a token68, not a parameter with no value. */
        p = parse1("Basic realm=");
        CHECK_INT(p.n, 1);
        if (p.n == 1)
                CHECK_STR(p.c[0].realm, NULL);
        parsed_done(&p);
}

static void test_garbage(void) {
        struct parsed p = parse1("");
        CHECK_INT(p.r, 0);
        CHECK_INT(p.n, 0);
        parsed_done(&p);

        p = parse1("   ,  , ");
        CHECK_INT(p.r, 0);
        CHECK_INT(p.n, 0);
        parsed_done(&p);

        p = parse1("\"quoted\" Bearer realm=\"x\"");
        CHECK_INT(p.r, 0);
        CHECK_INT(p.n, 0);
        parsed_done(&p);

        p = parse1("@@@, Bearer realm=\"after-garbage\"");
        CHECK_INT(p.n, 1);
        CHECK(p.n == 1 && streq_ptr(p.c[0].realm, "after-garbage"));
        parsed_done(&p);

        p = parse1("Bearer realm=\"r\" junk, service=\"s\"");
        CHECK_INT(p.n, 1);
        if (p.n == 1) {
                CHECK_STR(p.c[0].realm, NULL);
                CHECK_STR(p.c[0].service, "s");
        }
        parsed_done(&p);

        p = parse1("Bearer =\"x\", ==, realm=\"r\"");
        CHECK_INT(p.n, 1);
        CHECK(p.n == 1 && streq_ptr(p.c[0].realm, "r"));
        parsed_done(&p);

        /* No values at all. */
        struct auth_challenge *c = (struct auth_challenge *) 1;
        size_t n = 99;
        CHECK_INT(auth_parse_challenges(NULL, &c, &n), 0);
        CHECK_INT(n, 0);
        CHECK(c == NULL);

        /* Limits: too many challenges, too long a value. */
        char many[33 * 8 + 1] = "";
        for (int i = 0; i < 33; i++)
                strcat(many, "Basic, ");
        p = parse1(many);
        CHECK_INT(p.r, -E2BIG);
        parsed_done(&p);
        char *huge = malloc(70000);
        CHECK(huge != NULL);
        if (huge) {
                memset(huge, 'a', 69999);
                huge[69999] = 0;
                memcpy(huge, "Bearer realm=\"", 14);
                p = parse1(huge);
                CHECK_INT(p.r, -E2BIG);
                parsed_done(&p);
                free(huge);
        }
}

static void test_token_response(void) {
        char *token = NULL;
        int64_t exp = 0;
        const int64_t now = 1700000000000;
        const char *b = "{\"token\":\"abc.def.ghi\",\"expires_in\":300,\"issued_at\":\"2023-11-14T22:13:20Z\"}";
        /* 2023-11-14T22:13:20Z is exactly 1700000000 s. */
        CHECK_INT(auth_parse_token_response(b, strlen(b), now, &token, &exp), 0);
        CHECK_STR(token, "abc.def.ghi");
        CHECK_INT(exp, now + 300000);
        free(token);
        token = NULL;

        /* issued_at ten seconds ago shortens the lifetime; a fractional, offset time too. */
        b = "{\"access_token\":\"tok\",\"expires_in\":120,\"issued_at\":\"2023-11-14T23:13:10.500+01:00\"}";
        CHECK_INT(auth_parse_token_response(b, strlen(b), now, &token, &exp), 0);
        CHECK_STR(token, "tok");
        CHECK_INT(exp, now - 9500 + 120000);
        free(token);
        token = NULL;

        /* issued_at in the future or older than the lifetime is skew: counted from now. */
        b = "{\"token\":\"t\",\"expires_in\":100,\"issued_at\":\"2030-01-01T00:00:00Z\"}";
        CHECK_INT(auth_parse_token_response(b, strlen(b), now, &token, &exp), 0);
        CHECK_INT(exp, now + 100000);
        free(token);
        b = "{\"token\":\"t\",\"expires_in\":100,\"issued_at\":\"2001-01-01T00:00:00Z\"}";
        CHECK_INT(auth_parse_token_response(b, strlen(b), now, &token, &exp), 0);
        CHECK_INT(exp, now + 100000);
        free(token);
        b = "{\"token\":\"t\",\"issued_at\":\"yesterday\"}";
        CHECK_INT(auth_parse_token_response(b, strlen(b), now, &token, &exp), 0);
        CHECK_INT(exp, now + 60000);
        free(token);

        /* Default and odd lifetimes. */
        b = "{\"token\":\"t\"}";
        CHECK_INT(auth_parse_token_response(b, strlen(b), now, &token, &exp), 0);
        CHECK_INT(exp, now + 60000);
        free(token);
        b = "{\"token\":\"t\",\"expires_in\":0}";
        CHECK_INT(auth_parse_token_response(b, strlen(b), now, &token, &exp), 0);
        CHECK_INT(exp, now + 60000);
        free(token);
        b = "{\"token\":\"t\",\"expires_in\":\"300\"}";
        CHECK_INT(auth_parse_token_response(b, strlen(b), now, &token, &exp), 0);
        CHECK_INT(exp, now + 60000);
        free(token);
        b = "{\"token\":\"t\",\"expires_in\":1e12}";
        CHECK_INT(auth_parse_token_response(b, strlen(b), now, &token, &exp), 0);
        CHECK_INT(exp, now + 86400000);
        free(token);

        /* "token" wins over "access_token"; an empty "token" falls back. */
        b = "{\"access_token\":\"oauth\",\"token\":\"docker\"}";
        CHECK_INT(auth_parse_token_response(b, strlen(b), now, &token, &exp), 0);
        CHECK_STR(token, "docker");
        free(token);
        b = "{\"token\":\"\",\"access_token\":\"oauth\"}";
        CHECK_INT(auth_parse_token_response(b, strlen(b), now, &token, &exp), 0);
        CHECK_STR(token, "oauth");
        free(token);

        /* Unusable bodies, and output untouched on failure. */
        token = (char *) "untouched";
        const char *bad[] = {
                "", "not json", "[]", "\"token\"", "{}", "{\"token\":42}", "{\"token\":\"\"}",
                "{\"token\":\"has space\"}", "{\"token\":\"line\\r\\nX-Injected: 1\"}", "{\"token\":\"t\"",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                int r = auth_parse_token_response(bad[i], strlen(bad[i]), now, &token, &exp);
                if (r != -EBADMSG)
                        fprintf(stderr, "bad token body #%zu: %s\n", i, bad[i]);
                CHECK_INT(r, -EBADMSG);
        }
        CHECK_STR(token, "untouched");
        CHECK_INT(auth_parse_token_response(NULL, 0, now, &token, &exp), -EBADMSG);
        CHECK_INT(auth_parse_token_response("{}", 2u << 20, now, &token, &exp), -EBADMSG);
}

static void test_realm(void) {
        char *msg = NULL;
        const struct auth_registry https = { .host = "registry.example", .base_url = "https://registry.example" };
        const struct auth_registry http = { .host = "127.0.0.1:5000", .base_url = "http://127.0.0.1:5000" };
        CHECK_INT(auth_check_realm("https://auth.docker.io/token", &https, false, &msg), 0);
        CHECK(msg == NULL);
        CHECK_INT(auth_check_realm("HTTPS://auth.docker.io/token", &https, false, NULL), 0);
        CHECK_INT(auth_check_realm("http://127.0.0.1:5001/token", &http, false, NULL), 0);
        CHECK_INT(auth_check_realm("https://127.0.0.1:5001/token", &http, false, NULL), 0);

        CHECK_INT(auth_check_realm("http://auth.example/token?x=1", &https, false, &msg), -EPERM);
        CHECK(msg && strstr(msg, "http://auth.example/token") && strstr(msg, "downgrade"));
        CHECK(msg && !strstr(msg, "x=1"));
        free(msg);

        const char *bad[] = { "", "ftp://auth.example/token", "file:///etc/passwd", "/token", "auth.example/token",
                              "https://", "https:///token", "https://auth.example/to ken", "https://auth.example/\r\n" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                msg = NULL;
                CHECK_INT(auth_check_realm(bad[i], &http, false, &msg), -EPERM);
                CHECK(msg != NULL);
                free(msg);
        }
        CHECK_INT(auth_check_realm(NULL, &http, false, NULL), -EPERM);

        msg = NULL;
        CHECK_INT(auth_check_realm("https://user:hunter2@auth.example/token", &http, false, &msg), -EPERM);
        CHECK(msg && strstr(msg, "https://auth.example/token") && !strstr(msg, "hunter2") && !strstr(msg, "user"));
        free(msg);

        /* Credentials over plain HTTP go to the registry's own host only (any port), never elsewhere. */
        CHECK_INT(auth_check_realm("http://127.0.0.1:5001/token", &http, true, NULL), 0);
        CHECK_INT(auth_check_realm("http://127.0.0.2:5001/token", &http, false, NULL), 0);
        msg = NULL;
        CHECK_INT(auth_check_realm("http://127.0.0.2:5001/token", &http, true, &msg), -EPERM);
        CHECK_STR(msg, "token realm \"http://127.0.0.2:5001/token\" refused: credentials for 127.0.0.1:5000 are not "
                       "sent over plain HTTP to another host");
        free(msg);
        const struct auth_registry v6 = { .host = "[::1]:5000", .base_url = "http://[::1]:5000" };
        CHECK_INT(auth_check_realm("http://[::1]:5001/token", &v6, true, NULL), 0);
        CHECK_INT(auth_check_realm("http://[::2]:5001/token", &v6, true, NULL), -EPERM);
        CHECK_INT(auth_check_realm("http://localhost:5001/token", &http, true, NULL), -EPERM);
        /* Over TLS a registry may name a realm elsewhere (Docker Hub names auth.docker.io). */
        CHECK_INT(auth_check_realm("https://auth.docker.io/token", &https, true, NULL), 0);
        CHECK_INT(auth_check_realm("https://127.0.0.2:5001/token", &http, true, NULL), 0);
}

static void test_fetch_refusals(void) {
        struct auth_cache *c = NULL;
        CHECK_INT(auth_cache_new(&c), 0);
        /* These are refused before any request, so the client is never touched. */
        struct http_client *dummy = (struct http_client *) c;
        const struct auth_registry https = { .host = "registry.example", .base_url = "https://registry.example" };
        const struct auth_registry http = { .host = "127.0.0.1:5000", .base_url = "http://127.0.0.1:5000" };
        struct auth_challenge ch = { .scheme = AUTH_SCHEME_BEARER, .realm = (char *) "http://auth.example/token" };
        CHECK_INT(auth_fetch_token(c, dummy, &https, &ch, NULL, NULL, NULL, NULL), -EINVAL);
        struct auth_challenge none = { .scheme = AUTH_SCHEME_BEARER };
        CHECK_INT(auth_fetch_token(c, dummy, &http, &none, NULL, NULL, (auth_token_fn) 1, NULL), -EINVAL);
        CHECK_INT(auth_fetch_token(c, dummy, &https, &ch, NULL, NULL, (auth_token_fn) 1, NULL), -EPERM);
        struct auth_challenge basic = { .scheme = AUTH_SCHEME_BASIC, .realm = (char *) "https://auth.example/token" };
        CHECK_INT(auth_fetch_token(c, dummy, &https, &basic, NULL, NULL, (auth_token_fn) 1, NULL), -EINVAL);
        ch.realm = (char *) "gopher://auth.example/token";
        CHECK_INT(auth_fetch_token(c, dummy, &http, &ch, NULL, NULL, (auth_token_fn) 1, NULL), -EPERM);
        struct auth_credentials user = { .username = (char *) "u", .password = (char *) "p" };
        ch.realm = (char *) "http://127.0.0.2:5001/token";
        CHECK_INT(auth_fetch_token(c, dummy, &http, &ch, NULL, &user, (auth_token_fn) 1, NULL), -EPERM);
        const struct auth_registry nameless = { .base_url = "https://registry.example" };
        CHECK_INT(auth_fetch_token(c, dummy, &nameless, &ch, NULL, NULL, (auth_token_fn) 1, NULL), -EINVAL);
        ch.realm = (char *) "https://auth.example/token";

        char **many = calloc(258, sizeof(char *));
        CHECK(many != NULL);
        for (int i = 0; many && i < 257; i++)
                many[i] = util_printf("repository:r%d:pull", i);
        if (many)
                CHECK_INT(auth_fetch_token(c, dummy, &https, &ch, (const char *const *) many, NULL, (auth_token_fn) 1,
                                           NULL),
                          -E2BIG);
        util_strv_free(many);
        auth_cache_free(c);
}

static void test_credentials_and_basic(void) {
        struct auth_credentials c = { .username = (char *) "Aladdin", .password = (char *) "open sesame" };
        char *h = auth_basic_header(&c);
        CHECK_STR(h, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        free(h);
        struct auth_credentials c2 = { .username = (char *) "u", .password = (char *) "" };
        h = auth_basic_header(&c2);
        CHECK_STR(h, "Basic dTo=");
        free(h);
        struct auth_credentials c3 = { .username = (char *) "user", .password = (char *) "pw1" };
        h = auth_basic_header(&c3);
        CHECK_STR(h, "Basic dXNlcjpwdzE=");
        free(h);
        CHECK(auth_basic_header(NULL) == NULL);
        struct auth_credentials only_user = { .username = (char *) "u" };
        CHECK(auth_basic_header(&only_user) == NULL);

        CHECK(auth_credentials_is_anonymous(NULL));
        struct auth_credentials empty = {};
        CHECK(auth_credentials_is_anonymous(&empty));
        CHECK(!auth_credentials_is_anonymous(&c));

        struct auth_credentials copy;
        CHECK_INT(auth_credentials_copy(&c, &copy), 0);
        CHECK_STR(copy.username, "Aladdin");
        CHECK_STR(copy.password, "open sesame");
        CHECK_STR(copy.identity_token, NULL);
        CHECK(copy.password != c.password);
        auth_credentials_done(&copy);
        CHECK(copy.username == NULL && copy.password == NULL);
        CHECK_INT(auth_credentials_copy(NULL, &copy), 0);
        CHECK(auth_credentials_is_anonymous(&copy));
        auth_credentials_done(&copy);
        auth_credentials_done(NULL);

        char *d = NULL;
        size_t n = 0;
        CHECK_INT(auth_base64_decode("QWxhZGRpbjpvcGVuIHNlc2FtZQ==", 28, &d, &n), 0);
        CHECK_STR(d, "Aladdin:open sesame");
        CHECK_INT(n, 19);
        free(d);
        CHECK_INT(auth_base64_decode("-_-_", 4, &d, &n), 0);
        CHECK_INT(n, 3);
        CHECK(d && (unsigned char) d[0] == 0xfb && (unsigned char) d[1] == 0xff && (unsigned char) d[2] == 0xbf);
        free(d);
        CHECK_INT(auth_base64_decode("dTo", 3, &d, &n), 0);
        CHECK_STR(d, "u:");
        free(d);
        CHECK_INT(auth_base64_decode("", 0, &d, &n), 0);
        CHECK_INT(n, 0);
        free(d);
        d = (char *) "untouched";
        CHECK_INT(auth_base64_decode("a", 1, &d, &n), -EBADMSG);
        CHECK_INT(auth_base64_decode("ab!d", 4, &d, &n), -EBADMSG);
        CHECK_INT(auth_base64_decode("ab cd", 5, &d, &n), -EBADMSG);
        CHECK_STR(d, "untouched");
}

int main(void) {
        test_docker_hub();
        test_several_challenges();
        test_quoting();
        test_case();
        test_token68();
        test_garbage();
        test_token_response();
        test_realm();
        test_fetch_refusals();
        test_credentials_and_basic();
        return check_summary("test-auth");
}
