/* Fault tests of lib/registry against tests/integration/fakeregistry.py: digests, links, redirects, 429, 5xx, rate limits. */
#include <errno.h>

#include "../check.h"
#include "common.h"
#include "config.h"
#include "http.h"

static uv_loop_t *loop;
static const char *registry, *registry_url, *other;
static struct config cfg;

static struct registry_client *client(unsigned max_retries) {
        struct http_options ho = { .retry_base_ms = 50, .retry_max_ms = 3000, .max_retries = max_retries };
        struct registry_options o = { .config = &cfg, .http = &ho, .anonymous = true };
        struct registry_client *rc = NULL;
        int r = registry_client_new(loop, &o, &rc);
        CHECK_INT(r, 0);
        if (r < 0)
                exit(1);
        return rc;
}

static void client_free(struct registry_client *rc) {
        registry_client_free(rc);
        drain(loop);
}

static void reset(void) {
        _cleanup_free_ char *url = util_printf("%s/_reset", registry_url);
        cJSON_Delete(control(url, "{}"));
}

/* The fake servers' request log: [{"server", "method", "path", "authorization"}]. */
static cJSON *fake_log(void) {
        _cleanup_free_ char *url = util_printf("%s/_log", registry_url);
        cJSON *j = control(url, NULL);
        CHECK(cJSON_IsArray(j));
        return j;
}

static unsigned log_count(const cJSON *log, const char *server, const char *method, const char *path_part) {
        unsigned n = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, log) {
                if (server && !streq_ptr(json_str(e, "server", NULL), server))
                        continue;
                if (method && !streq_ptr(json_str(e, "method", NULL), method))
                        continue;
                const char *p = json_str(e, "path", NULL);
                if (path_part && (!p || !strstr(p, path_part)))
                        continue;
                n++;
        }
        return n;
}

static void tags(struct registry_client *rc, const char *domain, const char *path, struct result *r) {
        CHECK_INT(registry_list_tags(rc, domain, path, on_tags, r), 0);
        run_until(loop, &r->done);
}

static void get_manifest(struct registry_client *rc, const char *domain, const char *path, const char *ref,
                         struct result *r) {
        CHECK_INT(registry_get_manifest(rc, domain, path, ref, on_manifest, r), 0);
        run_until(loop, &r->done);
}

static void test_blob_redirect(void) {
        reset();
        struct registry_client *rc = client(2);
        struct result m = {}, c = {};
        get_manifest(rc, registry, "ok/app", "1.0.0", &m);
        CHECK_INT(m.error, 0);
        CHECK(m.manifest.manifest);
        if (m.manifest.manifest) {
                CHECK_INT(registry_get_config(rc, registry, "ok/app", m.manifest.manifest->config.digest, on_config, &c),
                          0);
                run_until(loop, &c.done);
                CHECK_INT(c.error, 0);
                CHECK(c.config.config && c.config.config->labels);
                CHECK_STR(c.config.digest, m.manifest.manifest->config.digest);
        }
        cJSON *log = fake_log();
        /* The registry got the token; the other host got the redirected request, without it. */
        const cJSON *e;
        unsigned on_b = 0, on_a = 0;
        cJSON_ArrayForEach(e, log) {
                const char *path = json_str(e, "path", NULL);
                const char *auth = json_str(e, "authorization", NULL);
                if (streq_ptr(json_str(e, "server", NULL), "b")) {
                        on_b++;
                        CHECK(path && util_startswith(path, "/cdn/sha256:"));
                        CHECK(!auth);
                } else if (path && strstr(path, "/blobs/")) {
                        on_a++;
                        CHECK(auth && util_startswith(auth, "Bearer tok."));
                }
        }
        CHECK_INT(on_b, 1);
        CHECK_INT(on_a, 1);
        cJSON_Delete(log);
        result_done(&m);
        result_done(&c);
        client_free(rc);
}

static void test_wrong_digests(void) {
        struct registry_client *rc = client(2);
        struct result r = {};
        /* By tag: the body does not hash to Docker-Content-Digest. */
        get_manifest(rc, registry, "bad/manifest", "1.0.0", &r);
        CHECK_INT(r.error, -EBADMSG);
        CHECK_CONTAINS(r.message, "/bad/manifest:1.0.0: manifest: manifest digest mismatch: expected sha256:");
        CHECK(!r.manifest.manifest);
        result_done(&r);
        /* By digest: the body does not hash to the digest asked for. */
        static const char d[] = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
        get_manifest(rc, registry, "bad/manifest", d, &r);
        CHECK_INT(r.error, -EBADMSG);
        CHECK_CONTAINS(r.message, "expected sha256:0000000000000000000000000000000000000000000000000000000000000000");
        result_done(&r);
        /* The same through HEAD: a digest header that is not the one asked for. */
        CHECK_INT(registry_head_manifest(rc, registry, "bad/manifest", d, on_head, &r), 0);
        run_until(loop, &r.done);
        CHECK_INT(r.error, -EBADMSG);
        result_done(&r);

        /* A blob whose bytes are not its digest. */
        struct result m = {};
        get_manifest(rc, registry, "bad/blob", "1.0.0", &m);
        CHECK_INT(m.error, 0);
        if (m.manifest.manifest) {
                CHECK_INT(registry_get_config(rc, registry, "bad/blob", m.manifest.manifest->config.digest, on_config, &r),
                          0);
                run_until(loop, &r.done);
                CHECK_INT(r.error, -EBADMSG);
                CHECK_CONTAINS(r.message, "/bad/blob: config blob sha256:");
                CHECK_CONTAINS(r.message, "blob digest mismatch");
                CHECK(!r.config.config);
                result_done(&r);
        }
        result_done(&m);

        /* Through inspect as well. */
        struct manifest_platform amd64 = { .os = (char *) "linux", .architecture = (char *) "amd64" };
        CHECK_INT(inspect_into(rc, registry, "bad/blob", "1.0.0", &amd64, &r), 0);
        run_until(loop, &r.done);
        CHECK_INT(r.error, -EBADMSG);
        result_done(&r);
        client_free(rc);
}

static void test_links(void) {
        reset();
        struct registry_client *rc = client(2);
        struct result r = {};
        tags(rc, registry, "link/other", &r);
        CHECK_INT(r.error, -EPERM);
        CHECK_CONTAINS(r.message, "/link/other: tags: page 1: next-page link refused: http://127.0.0.2:");
        CHECK_CONTAINS(r.message, "points to another host or scheme");
        result_done(&r);
        tags(rc, registry, "link/scheme", &r);
        CHECK_INT(r.error, -EPERM);
        CHECK_CONTAINS(r.message, "https://127.0.0.1:");
        result_done(&r);
        cJSON *log = fake_log();
        CHECK_INT(log_count(log, "b", NULL, NULL), 0);
        cJSON_Delete(log);

        tags(rc, registry, "link/loop", &r);
        CHECK_INT(r.error, -ELOOP);
        CHECK_CONTAINS(r.message, "page 2 links back to an earlier page");
        result_done(&r);

        struct registry_stats before, after;
        registry_client_stats(rc, &before);
        tags(rc, registry, "link/many", &r);
        CHECK_INT(r.error, -E2BIG);
        CHECK_CONTAINS(r.message, "more than 100 pages of tags");
        registry_client_stats(rc, &after);
        CHECK_INT(after.tag_pages - before.tag_pages, REGISTRY_MAX_TAG_PAGES);
        result_done(&r);

        tags(rc, registry, "link/relative", &r);
        CHECK_INT(r.error, 0);
        CHECK_INT(r.pages, 3);
        CHECK_INT(r.n_tags, 3);
        CHECK(r.tags && streq(r.tags[0], "1.0.0") && streq(r.tags[1], "2.0.0") && streq(r.tags[2], "3.0.0"));
        result_done(&r);
        client_free(rc);
}

static void test_retries(void) {
        reset();
        struct registry_client *rc = client(2);
        struct result r = {};
        int64_t start = util_now_ms();
        get_manifest(rc, registry, "busy/once429", "1.0.0", &r);
        CHECK_INT(r.error, 0);
        /* Retry-After: 1 was honoured. */
        CHECK(util_now_ms() - start >= 900);
        result_done(&r);
        tags(rc, registry, "flaky/tags500", &r);
        CHECK_INT(r.error, 0);
        CHECK_INT(r.n_tags, 2);
        result_done(&r);
        cJSON *log = fake_log();
        CHECK_INT(log_count(log, "a", "GET", "/busy/once429/manifests/"), 2);
        CHECK_INT(log_count(log, "a", "GET", "/flaky/tags500/tags/list"), 2);
        cJSON_Delete(log);
        struct registry_stats s;
        registry_client_stats(rc, &s);
        CHECK_INT(s.manifest_gets, 2);
        CHECK_INT(s.tag_pages, 2);
        CHECK_INT(s.requests, s.pings + s.tokens + s.tag_pages + s.manifest_gets);
        client_free(rc);

        /* A 429 that lasts: a clear error, and no more pulls from that host in this scan. */
        reset();
        rc = client(1);
        get_manifest(rc, registry, "busy/always429", "1.0.0", &r);
        CHECK_INT(r.error, -EDQUOT);
        CHECK_CONTAINS(r.message, "/busy/always429:1.0.0: manifest: HTTP 429 TOOMANYREQUESTS You have reached your pull rate limit.");
        CHECK_CONTAINS(r.message, "Retry-After: 1");
        result_done(&r);
        struct registry_ratelimit rl;
        CHECK_INT(registry_client_ratelimit(rc, registry, &rl), 0);
        CHECK(rl.exhausted);
        get_manifest(rc, registry, "ok/app", "1.0.0", &r);
        CHECK_INT(r.error, -EDQUOT);
        CHECK_CONTAINS(r.message, "no further pulls");
        result_done(&r);
        /* HEAD and tags still work: they are no pulls. */
        tags(rc, registry, "ok/app", &r);
        CHECK_INT(r.error, 0);
        result_done(&r);
        log = fake_log();
        CHECK_INT(log_count(log, "a", "GET", "/busy/always429/manifests/"), 2);
        CHECK_INT(log_count(log, "a", "GET", "/ok/app/manifests/"), 0);
        cJSON_Delete(log);
        client_free(rc);
}

static void test_rate_limit_headers(void) {
        reset();
        struct registry_client *rc = client(2);
        struct result r = {};
        struct registry_ratelimit rl;
        CHECK_INT(registry_client_ratelimit(rc, "docker.io", &rl), -ENODATA);
        unsigned ok = 0;
        for (int i = 0; i < 5; i++) {
                get_manifest(rc, "docker.io", "rate/limited", "1.0.0", &r);
                if (r.error == 0)
                        ok++;
                else {
                        CHECK_INT(r.error, -EDQUOT);
                        CHECK_STR(r.message, "rate/limited:1.0.0: manifest: Docker Hub pull rate limit nearly exhausted: 5 left");
                }
                result_done(&r);
        }
        /* 7, 6 and 5 left after each of three pulls; then the reserve of 5 stops us. */
        CHECK_INT(ok, 3);
        CHECK_INT(registry_client_ratelimit(rc, "docker.io", &rl), 0);
        CHECK_INT(rl.limit, 100);
        CHECK_INT(rl.remaining, 5);
        CHECK_INT(rl.window_s, 21600);
        CHECK(!rl.exhausted);
        cJSON *log = fake_log();
        CHECK_INT(log_count(log, "a", "GET", "/rate/limited/manifests/"), 3);
        cJSON_Delete(log);
        client_free(rc);
}

static void test_odd_manifests(void) {
        struct registry_client *rc = client(2);
        struct result r = {}, ok = {};
        get_manifest(rc, registry, "ok/app", "1.0.0", &ok);
        CHECK_INT(ok.error, 0);

        /* No digest on HEAD: the body is fetched and hashed, and the caller is told it cost a pull. */
        CHECK_INT(registry_head_manifest(rc, registry, "nodigest/app", "1.0.0", on_head, &r), 0);
        run_until(loop, &r.done);
        CHECK_INT(r.error, 0);
        CHECK(r.info.counted);
        CHECK_STR(r.info.digest, ok.manifest.digest);
        CHECK_STR(r.info.media_type, MANIFEST_MEDIA_TYPE_DOCKER_V2);
        result_done(&r);

        get_manifest(rc, registry, "schema1/app", "1.0.0", &r);
        CHECK_INT(r.error, -EPROTONOSUPPORT);
        CHECK_CONTAINS(r.message, "/schema1/app:1.0.0: manifest: Docker image manifest schema 1 is not supported");
        result_done(&r);

        get_manifest(rc, registry, "big/manifest", "1.0.0", &r);
        CHECK_INT(r.error, -EFBIG);
        CHECK_CONTAINS(r.message, "larger than the limit");
        result_done(&r);
        result_done(&ok);
        client_free(rc);
}

static void test_other_scope(void) {
        reset();
        struct registry_client *rc = client(2);
        struct result r = {};
        tags(rc, registry, "scope/app", &r);
        CHECK_INT(r.error, 0);
        CHECK_INT(r.n_tags, 2);
        result_done(&r);
        cJSON *log = fake_log();
        /* The pull token, its 401 naming pull,push, a token for that, the retry. */
        CHECK_INT(log_count(log, "a", "GET", "/token?"), 2);
        CHECK_INT(log_count(log, "a", "GET", "scope=repository%3Ascope%2Fapp%3Apull%2Cpush"), 1);
        CHECK_INT(log_count(log, "a", "GET", "/scope/app/tags/list"), 2);
        cJSON_Delete(log);
        client_free(rc);
}

static void test_refused_endpoints(void) {
        /* A plain-HTTP mirror that is neither loopback nor marked insecure is never contacted (the
         * configuration parser refuses one too; this is the registry's own line of defence). */
        struct config_registry mirror = { .host = (char *) "mirror.example", .url = (char *) "http://mirror.example:5000" };
        struct config c = { .registries = &mirror, .n_registries = 1, .max_connections = 2 };
        struct registry_options mo = { .config = &c, .anonymous = true };
        struct registry_client *rc = NULL;
        CHECK_INT(registry_client_new(loop, &mo, &rc), 0);
        struct result t = {};
        tags(rc, "mirror.example", "ns/x", &t);
        CHECK_INT(t.error, -EPERM);
        CHECK_CONTAINS(t.message, "mirror.example/ns/x: tags: plain HTTP endpoint http://mirror.example:5000 refused");
        result_done(&t);
        struct registry_stats s;
        registry_client_stats(rc, &s);
        CHECK_INT(s.requests, 0);
        client_free(rc);

        /* A registry that is down: one ping, every operation of that host fails with its reason. */
        static const char down[] = "{\"registries\": {\"127.0.0.1:1\": {\"url\": \"http://127.0.0.1:1\"}}}";
        int r = config_load_string(down, strlen(down), "test", NULL, &c, NULL, NULL);
        CHECK_INT(r, 0);
        if (r < 0)
                return;
        struct http_options ho = { .retry_base_ms = 10, .max_retries = 1 };
        struct registry_options o = { .config = &c, .http = &ho, .anonymous = true };
        CHECK_INT(registry_client_new(loop, &o, &rc), 0);
        struct result a = {}, b = {};
        CHECK_INT(registry_list_tags(rc, "127.0.0.1:1", "ns/a", on_tags, &a), 0);
        CHECK_INT(registry_head_manifest(rc, "127.0.0.1:1", "ns/b", "1.0.0", on_head, &b), 0);
        run_until(loop, &a.done);
        run_until(loop, &b.done);
        CHECK_INT(a.error, -ECONNREFUSED);
        CHECK_CONTAINS(a.message, "127.0.0.1:1/ns/a: tags: registry http://127.0.0.1:1/v2/ unreachable");
        CHECK_INT(b.error, -ECONNREFUSED);
        CHECK_CONTAINS(b.message, "127.0.0.1:1/ns/b:1.0.0: manifest: registry http://127.0.0.1:1/v2/ unreachable");
        result_done(&a);
        result_done(&b);
        registry_client_stats(rc, &s);
        CHECK_INT(s.tag_pages + s.manifest_heads, 0);
        client_free(rc);
        config_done(&c);
}

int main(void) {
        registry = getenv("FAKE_REGISTRY");
        registry_url = getenv("FAKE_REGISTRY_URL");
        other = getenv("FAKE_OTHER");
        if (!registry || !registry_url || !other) {
                fprintf(stderr, "run me under tests/integration/fakeregistry.py -- test-registry-faults\n");
                return 77;
        }
        curl_global_init(CURL_GLOBAL_DEFAULT);
        _cleanup_free_ char *text = util_printf(
                "{\"registries\": {\"%s\": {\"url\": \"%s\"}, \"docker.io\": {\"url\": \"%s\"}}}", registry,
                registry_url, registry_url);
        char **warnings = NULL, **errors = NULL;
        int r = config_load_string(text, strlen(text), "test", NULL, &cfg, &warnings, &errors);
        for (char **e = errors; e && *e; e++)
                fprintf(stderr, "%s\n", *e);
        util_strv_free(warnings);
        util_strv_free(errors);
        if (r < 0)
                return 1;
        loop = uv_default_loop();

        test_blob_redirect();
        test_wrong_digests();
        test_links();
        test_retries();
        test_rate_limit_headers();
        test_odd_manifests();
        test_other_scope();
        test_refused_endpoints();

        config_done(&cfg);
        uv_loop_close(loop);
        curl_global_cleanup();
        check_failed += common_failures;
        return check_summary("test-registry-faults");
}
