/* Integration test of lib/auth and lib/credentials against the real token issuer and registry of tests/registry/harness.py. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "credentials.h"
#include "http.h"
#include "util.h"
#include "../check.h"

static uv_loop_t loop;
static struct http_client *http;
static struct auth_cache *cache;
static const char *registry, *registry_url, *token_url, *service, *control_url, *password;
/* The registry under test, and the same host as if it spoke https (whose realm may not be http). */
static struct auth_registry reg, https_reg;

/* The cache key of ch's tokens for the registry under test, fetched with creds. */
static const struct token_cache_key *key_of(const struct auth_challenge *ch, const struct auth_credentials *creds) {
        static char fingerprint[72];
        static struct token_cache_key k;
        auth_credentials_fingerprint(creds, fingerprint);
        k = (struct token_cache_key) { .registry = registry, .credentials = fingerprint, .realm = ch->realm,
                                       .service = ch->service };
        return &k;
}

/* ---- the harness's control API, outside the client under test ---- */

static size_t collect(char *p, size_t size, size_t n, void *userdata) {
        char **buf = userdata;
        size_t old = *buf ? strlen(*buf) : 0;
        char *nb = realloc(*buf, old + size * n + 1);
        if (!nb)
                return 0;
        memcpy(nb + old, p, size * n);
        nb[old + size * n] = 0;
        *buf = nb;
        return size * n;
}

static char *control(const char *path, const char *post_body) {
        _cleanup_free_ char *url = util_printf("%s/%s", control_url, path);
        char *out = NULL;
        CURL *e = curl_easy_init();
        struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &out);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(e, CURLOPT_USERAGENT, "auth-integration-control");
        if (post_body)
                curl_easy_setopt(e, CURLOPT_POSTFIELDS, post_body);
        long status = 0;
        if (curl_easy_perform(e) != CURLE_OK || curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK ||
            status != 200) {
                fprintf(stderr, "control %s failed (HTTP %ld)\n", path, status);
                exit(1);
        }
        curl_slist_free_all(h);
        curl_easy_cleanup(e);
        return out;
}

static void reset_log(void) {
        free(control("reset-log", "{}"));
}

/* Requests of one "METHOD KIND" since the last reset, as the servers themselves logged them. */
static int count(const char *key) {
        _cleanup_free_ char *body = control("counts", NULL);
        cJSON *j = cJSON_Parse(body);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
        int n = cJSON_IsNumber(v) ? v->valueint : 0;
        cJSON_Delete(j);
        return n;
}

/* ---- the client under test, run to completion on the loop ---- */

struct get_result {
        bool done;
        long status;
        int error;
        char **www_authenticate;
};

static void on_get(const struct http_response *r, void *userdata) {
        struct get_result *g = userdata;
        g->done = true;
        g->status = r->status;
        g->error = r->error;
        _cleanup_free_ const char **values = http_response_headers(r, "WWW-Authenticate");
        for (const char **v = values; v && *v; v++)
                util_strv_push(&g->www_authenticate, *v);
}

static struct get_result get(const char *path, const char *token) {
        _cleanup_free_ char *url = util_printf("%s%s", registry_url, path);
        _cleanup_free_ char *auth = token ? util_printf("Authorization: Bearer %s", token) : NULL;
        const char *headers[] = { auth, NULL };
        struct http_request req = { .url = url, .headers = headers, .no_retry = true };
        struct get_result g = {};
        CHECK_INT(http_submit(http, &req, on_get, &g), 0);
        uv_run(&loop, UV_RUN_DEFAULT);
        CHECK(g.done);
        return g;
}

struct fetch_result {
        unsigned calls;
        int error;
        char *token;
        char *message;
};

static void on_token(int error, const char *token, const char *message, void *userdata) {
        struct fetch_result *f = userdata;
        f->calls++;
        f->error = error;
        f->token = token ? strdup(token) : NULL;
        f->message = message ? strdup(message) : NULL;
}

static void fetch_done(struct fetch_result *f) {
        free(f->token);
        free(f->message);
        *f = (struct fetch_result) {};
}

static struct fetch_result fetch(const struct auth_challenge *ch, const char *const *scopes,
                                 const struct auth_credentials *creds) {
        struct fetch_result f = {};
        CHECK_INT(auth_fetch_token(cache, http, &reg, ch, scopes, creds, on_token, &f), 0);
        CHECK_INT(f.calls, 0);
        uv_run(&loop, UV_RUN_DEFAULT);
        CHECK_INT(f.calls, 1);
        return f;
}

/* The challenge of an anonymous request to path, which must be a 401. */
static struct auth_challenge *challenge_of(const char *path, size_t *ret_n) {
        struct get_result g = get(path, NULL);
        CHECK_INT(g.status, 401);
        struct auth_challenge *c = NULL;
        CHECK_INT(auth_parse_challenges((const char *const *) g.www_authenticate, &c, ret_n), 0);
        util_strv_free(g.www_authenticate);
        return c;
}

static void test_flow(const struct auth_challenge *ch) {
        /* One token for three repositories, then each used with it. */
        reset_log();
        const char *scopes[] = { "repository:auth/one:pull", "repository:auth/two:pull", "repository:auth/three:pull", NULL };
        struct fetch_result f = fetch(ch, scopes, NULL);
        CHECK_INT(f.error, 0);
        CHECK(f.token != NULL);
        CHECK(f.message == NULL);
        int64_t now = util_now_ms();
        /* auth/one may also be served by the token fetched for its challenge earlier. */
        for (size_t i = 0; scopes[i]; i++) {
                const char *t = auth_cache_lookup(cache, key_of(ch, NULL), scopes[i], now);
                CHECK(t != NULL);
                if (i > 0)
                        CHECK(t && f.token && streq(t, f.token));
        }
        const char *repos[] = { "auth/one", "auth/two", "auth/three" };
        for (size_t i = 0; i < ELEMENTSOF(repos); i++) {
                _cleanup_free_ char *path = util_printf("/v2/%s/tags/list", repos[i]);
                struct get_result g = get(path, auth_cache_lookup(cache, key_of(ch, NULL), scopes[i], now));
                CHECK_INT(g.status, 200);
                util_strv_free(g.www_authenticate);
        }
        CHECK_INT(count("GET token"), 1);
        CHECK_INT(count("GET tags"), 3);

        /* The base endpoint accepts any token of the realm. */
        struct get_result g = get("/v2/", auth_cache_lookup(cache, key_of(ch, NULL), NULL, now));
        CHECK_INT(g.status, 200);
        util_strv_free(g.www_authenticate);

        /* A scope nobody asked for is not covered. */
        CHECK(auth_cache_lookup(cache, key_of(ch, NULL), "repository:auth/four:pull", now) == NULL);
        CHECK(auth_cache_lookup(cache, key_of(ch, NULL), "repository:auth/one:push", now) == NULL);
        fetch_done(&f);
}

static void test_denied(const struct auth_challenge *ch) {
        /* The issuer answers 200 but grants nothing on the denied repository: the cache knows. */
        const char *scopes[] = { "repository:auth/one:pull", "repository:auth/denied:pull", NULL };
        struct fetch_result f = fetch(ch, scopes, NULL);
        CHECK_INT(f.error, 0);
        int64_t now = util_now_ms();
        CHECK(auth_cache_lookup(cache, key_of(ch, NULL), "repository:auth/denied:pull", now) == NULL);
        CHECK(auth_cache_lookup(cache, key_of(ch, NULL), "repository:auth/one:pull", now) != NULL);

        /* And the registry agrees: 401 insufficient_scope with this token. */
        struct get_result g = get("/v2/auth/denied/tags/list", f.token);
        CHECK_INT(g.status, 401);
        struct auth_challenge *c = NULL;
        size_t n = 0;
        CHECK_INT(auth_parse_challenges((const char *const *) g.www_authenticate, &c, &n), 0);
        const struct auth_challenge *picked = auth_pick_challenge(c, n);
        CHECK(picked && picked->error && streq(picked->error, "insufficient_scope"));
        CHECK(picked && picked->scope && strstr(picked->scope, "auth/denied"));
        auth_challenges_free(c, n);
        util_strv_free(g.www_authenticate);
        fetch_done(&f);

        /* Even the user gets nothing there. */
        struct auth_credentials user = { .username = getenv("EXTUPDATED_TEST_USER"), .password = (char *) password };
        const char *denied[] = { "repository:auth/denied:pull", NULL };
        f = fetch(ch, denied, &user);
        CHECK_INT(f.error, 0);
        g = get("/v2/auth/denied/tags/list", f.token);
        CHECK_INT(g.status, 401);
        util_strv_free(g.www_authenticate);
        fetch_done(&f);
}

struct cred_result {
        bool done;
        int error;
        struct auth_credentials creds;
};

static void on_creds(int error, const struct auth_credentials *creds, const char *message, void *userdata) {
        struct cred_result *r = userdata;
        r->done = true;
        r->error = error;
        if (creds)
                auth_credentials_copy(creds, &r->creds);
        CHECK(!message || !strstr(message, password));
}

static void test_private_with_credentials(const struct auth_challenge *ch) {
        /* Anonymous: not granted. */
        const char *scopes[] = { "repository:auth/private:pull", NULL };
        struct fetch_result f = fetch(ch, scopes, NULL);
        CHECK_INT(f.error, 0);
        CHECK(auth_cache_lookup(cache, key_of(ch, NULL), scopes[0], util_now_ms()) == NULL);
        struct get_result g = get("/v2/auth/private/tags/list", f.token);
        CHECK_INT(g.status, 401);
        util_strv_free(g.www_authenticate);
        fetch_done(&f);

        /* With the user from the harness's docker config.json, found as docker would. */
        struct credentials_store *s = NULL;
        char *err = NULL;
        CHECK_INT(credentials_store_load(getenv("EXTUPDATED_TEST_DOCKER_CONFIG"), &s, &err), 0);
        free(err);
        struct cred_result cr = {};
        CHECK_INT(credentials_lookup(s, &loop, registry, on_creds, &cr), 0);
        uv_run(&loop, UV_RUN_DEFAULT);
        CHECK(cr.done);
        CHECK_INT(cr.error, 0);
        CHECK(cr.creds.username && streq(cr.creds.username, getenv("EXTUPDATED_TEST_USER")));
        CHECK(cr.creds.password && streq(cr.creds.password, password));
        credentials_store_free(s);

        reset_log();
        f = fetch(ch, scopes, &cr.creds);
        CHECK_INT(f.error, 0);
        /* Kept for these credentials only. */
        CHECK(auth_cache_lookup(cache, key_of(ch, NULL), scopes[0], util_now_ms()) == NULL);
        const char *t = auth_cache_lookup(cache, key_of(ch, &cr.creds), scopes[0], util_now_ms());
        CHECK(t && f.token && streq(t, f.token));
        g = get("/v2/auth/private/tags/list", t);
        CHECK_INT(g.status, 200);
        util_strv_free(g.www_authenticate);
        CHECK_INT(count("GET token"), 1);
        fetch_done(&f);
        auth_credentials_done(&cr.creds);

        /* Wrong password: the issuer's 401 becomes -EACCES, and the message keeps the password out. */
        struct auth_credentials wrong = { .username = getenv("EXTUPDATED_TEST_USER"),
                                          .password = (char *) "wrong-password-7d1f" };
        f = fetch(ch, scopes, &wrong);
        CHECK_INT(f.error, -EACCES);
        CHECK(f.token == NULL);
        CHECK_CONTAINS(f.message, token_url);
        CHECK_CONTAINS(f.message, "HTTP 401");
        CHECK(f.message && !strstr(f.message, "wrong-password-7d1f") && !strstr(f.message, password));
        fetch_done(&f);
}

static void test_coalescing(const struct auth_challenge *ch) {
        /* Four fetches whose scopes the first covers share its one request; a fifth with a new scope
         * sends its own. The cache is fresh so nothing is answered from it. */
        auth_cache_free(cache);
        CHECK_INT(auth_cache_new(&cache), 0);
        reset_log();
        const char *all[] = { "repository:auth/one:pull", "repository:auth/two:pull", "repository:auth/three:pull", NULL };
        const char *one[] = { "repository:auth/two:pull", NULL };
        const char *two[] = { "repository:auth/three:pull repository:auth/one:pull", NULL };
        const char *none[] = { NULL };
        const char *other[] = { "repository:auth/four:pull", NULL };
        const char *const *sets[] = { all, one, two, none, other };
        struct fetch_result f[ELEMENTSOF(sets)] = {};
        for (size_t i = 0; i < ELEMENTSOF(sets); i++)
                CHECK_INT(auth_fetch_token(cache, http, &reg, ch, sets[i], NULL, on_token, &f[i]), 0);
        uv_run(&loop, UV_RUN_DEFAULT);
        for (size_t i = 0; i < ELEMENTSOF(sets); i++) {
                CHECK_INT(f[i].calls, 1);
                CHECK_INT(f[i].error, 0);
                CHECK(f[i].token != NULL);
        }
        for (size_t i = 1; i < 4; i++)
                CHECK(f[0].token && f[i].token && streq(f[0].token, f[i].token));
        CHECK(f[0].token && f[4].token && !streq(f[0].token, f[4].token));
        CHECK_INT(count("GET token"), 2);
        /* Same scopes with different credentials never share a request. */
        reset_log();
        struct auth_credentials user = { .username = getenv("EXTUPDATED_TEST_USER"), .password = (char *) password };
        struct fetch_result g[2] = {};
        CHECK_INT(auth_fetch_token(cache, http, &reg, ch, one, NULL, on_token, &g[0]), 0);
        CHECK_INT(auth_fetch_token(cache, http, &reg, ch, one, &user, on_token, &g[1]), 0);
        uv_run(&loop, UV_RUN_DEFAULT);
        CHECK(g[0].error == 0 && g[1].error == 0);
        CHECK_INT(count("GET token"), 2);
        for (size_t i = 0; i < ELEMENTSOF(sets); i++)
                fetch_done(&f[i]);
        fetch_done(&g[0]);
        fetch_done(&g[1]);
}

static void test_lifetimes_and_failures(const struct auth_challenge *ch) {
        const char *scopes[] = { "repository:auth/one:pull", NULL };

        /* No expires_in: 60 s, refreshed 10 s early (checked with a clock moved forward). issued_at
         * has whole seconds, so the token may count from up to a second before now. */
        free(control("config", "{\"omit_expires_in\": true}"));
        auth_cache_free(cache);
        CHECK_INT(auth_cache_new(&cache), 0);
        struct fetch_result f = fetch(ch, scopes, NULL);
        CHECK_INT(f.error, 0);
        int64_t now = util_now_ms();
        CHECK(auth_cache_lookup(cache, key_of(ch, NULL), scopes[0], now + 48000) != NULL);
        CHECK(auth_cache_lookup(cache, key_of(ch, NULL), scopes[0], now + 51000) == NULL);
        fetch_done(&f);

        /* A short real lifetime runs out on the real clock, and the next fetch gets a new token. */
        free(control("config", "{\"omit_expires_in\": false, \"expires_in\": 3}"));
        auth_cache_free(cache);
        CHECK_INT(auth_cache_new(&cache), 0);
        reset_log();
        f = fetch(ch, scopes, NULL);
        CHECK(auth_cache_lookup(cache, key_of(ch, NULL), scopes[0], util_now_ms()) != NULL);
        uv_sleep(2400);
        CHECK(auth_cache_lookup(cache, key_of(ch, NULL), scopes[0], util_now_ms()) == NULL);
        struct fetch_result f2 = fetch(ch, scopes, NULL);
        CHECK_INT(f2.error, 0);
        CHECK(auth_cache_lookup(cache, key_of(ch, NULL), scopes[0], util_now_ms()) != NULL);
        CHECK_INT(count("GET token"), 2);
        fetch_done(&f);
        fetch_done(&f2);
        free(control("config", "{\"expires_in\": 300}"));

        /* An issuer error that is not retried: its status is in the message. */
        free(control("config", "{\"fail_next\": 1, \"fail_status\": 400}"));
        f = fetch(ch, scopes, NULL);
        CHECK_INT(f.error, -EPROTO);
        CHECK_CONTAINS(f.message, "HTTP 400");
        CHECK_CONTAINS(f.message, token_url);
        fetch_done(&f);

        /* This realm is plain http: an https registry may not send us there. */
        char *msg = NULL;
        CHECK_INT(auth_fetch_token(cache, http, &https_reg, ch, scopes, NULL, on_token, &f), -EPERM);
        CHECK_INT(auth_check_realm(ch->realm, &https_reg, false, &msg), -EPERM);
        CHECK_CONTAINS(msg, "downgrade");
        free(msg);
        CHECK_INT(f.calls, 0);
}

int main(void) {
        registry = getenv("EXTUPDATED_TEST_REGISTRY");
        registry_url = getenv("EXTUPDATED_TEST_REGISTRY_URL");
        token_url = getenv("EXTUPDATED_TEST_TOKEN_URL");
        service = getenv("EXTUPDATED_TEST_SERVICE");
        control_url = getenv("EXTUPDATED_TEST_CONTROL_URL");
        password = getenv("EXTUPDATED_TEST_PASSWORD");
        const char *auth = getenv("EXTUPDATED_TEST_AUTH");
        if (!registry || !registry_url || !token_url || !service || !control_url || !password || !auth ||
            !streq(auth, "1")) {
                fprintf(stderr, "run me under tests/registry/harness.py run (with token auth)\n");
                return 77;
        }
        reg = (struct auth_registry) { .host = registry, .base_url = registry_url };
        https_reg = (struct auth_registry) { .host = registry, .base_url = "https://registry.example" };
        curl_global_init(CURL_GLOBAL_DEFAULT);
        if (uv_loop_init(&loop) < 0 || http_client_new(&loop, NULL, &http) < 0 || auth_cache_new(&cache) < 0)
                return 1;

        /* Ping: 401 with Docker Hub's challenge naming the issuer. */
        size_t n = 0;
        struct auth_challenge *c = challenge_of("/v2/", &n);
        const struct auth_challenge *ch = auth_pick_challenge(c, n);
        CHECK(ch != NULL);
        if (!ch) {
                fprintf(stderr, "no usable challenge\n");
                return 1;
        }
        CHECK_INT(ch->scheme, AUTH_SCHEME_BEARER);
        CHECK(ch->realm && streq(ch->realm, token_url));
        CHECK(ch->service && streq(ch->service, service));

        /* A repository's challenge carries its scope; fetching with scopes NULL uses it. */
        size_t rn = 0;
        struct auth_challenge *rc = challenge_of("/v2/auth/one/tags/list", &rn);
        const struct auth_challenge *rch = auth_pick_challenge(rc, rn);
        CHECK(rch && rch->scope && streq(rch->scope, "repository:auth/one:pull"));
        if (rch) {
                struct fetch_result f = fetch(rch, NULL, NULL);
                CHECK_INT(f.error, 0);
                CHECK(auth_cache_lookup(cache, key_of(rch, NULL), rch->scope, util_now_ms()) != NULL);
                fetch_done(&f);
        }
        auth_challenges_free(rc, rn);

        test_flow(ch);
        test_denied(ch);
        test_private_with_credentials(ch);
        test_coalescing(ch);
        test_lifetimes_and_failures(ch);

        auth_challenges_free(c, n);
        http_client_free(http);
        uv_run(&loop, UV_RUN_DEFAULT);
        auth_cache_free(cache);
        CHECK_INT(uv_loop_close(&loop), 0);
        curl_global_cleanup();
        return check_summary("auth-integration");
}
