/* Integration test of lib/registry against a real docker-registry with token auth (tests/registry/harness.py). */
#include <errno.h>

#include "../check.h"
#include "common.h"
#include "config.h"
#include "http.h"
#include "registry.h"

static uv_loop_t *loop;
static const char *registry; /* 127.0.0.1:PORT */
static const char *control_url;
static cJSON *seed;           /* the harness's seed result */
static struct config cfg;     /* registries: the harness as a plain-HTTP endpoint */

static struct registry_client *client(bool anonymous, const char *docker_config, const struct config *c) {
        /* Fast retries: the harness never needs the production backoff. */
        struct http_options ho = { .retry_base_ms = 50, .retry_max_ms = 2000 };
        struct registry_options o = {
                .config = c,
                .http = &ho,
                .anonymous = anonymous,
                .docker_config_dir = docker_config,
        };
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

static void reset_log(void) {
        _cleanup_free_ char *url = util_printf("%s/reset-log", control_url);
        cJSON_Delete(control(url, "{}"));
}

/* The harness's request counts since the last reset ("GET tags", "GET token", "total", …). */
static cJSON *counts(void) {
        _cleanup_free_ char *url = util_printf("%s/counts", control_url);
        cJSON *j = control(url, NULL);
        CHECK(j);
        return j;
}

static cJSON *requests(const char *server) {
        _cleanup_free_ char *url = util_printf("%s/requests?server=%s", control_url, server);
        cJSON *j = control(url, NULL);
        CHECK(cJSON_IsArray(j));
        return j;
}

static const char *seeded(const char *repo, const char *tag, const char *platform, const char *key) {
        if (platform)
                return json_str(seed, repo, tag, "platforms", platform, key, NULL);
        return json_str(seed, repo, tag, key, NULL);
}

static void test_tags_pages(void) {
        reset_log();
        struct registry_client *rc = client(true, NULL, &cfg);
        struct result r = {};
        CHECK_INT(registry_list_tags(rc, registry, "it/many-tags", on_tags, &r), 0);
        CHECK(!r.done); /* never from inside the call */
        run_until(loop, &r.done);
        CHECK_INT(r.error, 0);
        CHECK_INT(r.n_tags, 150);
        CHECK_INT(util_strv_length(r.tags), 150);
        CHECK_INT(r.pages, 2);
        CHECK(util_strv_contains(r.tags, "0.0.0"));
        CHECK(util_strv_contains(r.tags, "0.0.149"));
        /* Every tag once: the second page starts after the first. */
        for (size_t i = 0; r.tags && i < r.n_tags; i++)
                for (size_t j = i + 1; j < r.n_tags; j++)
                        if (streq(r.tags[i], r.tags[j]))
                                check_at(false, __FILE__, __LINE__, "tag %s listed twice", r.tags[i]);
        struct registry_stats s;
        registry_client_stats(rc, &s);
        CHECK_INT(s.tag_pages, 2);
        CHECK_INT(s.pings, 1);
        CHECK_INT(s.tokens, 1);
        CHECK_INT(s.requests, 4);
        cJSON *c = counts();
        CHECK_INT(json_int(c, "GET tags"), 2);
        CHECK_INT(json_int(c, "GET token"), 1);
        CHECK_INT(json_int(c, "GET base"), 1);
        /* What we count is what the servers saw. */
        CHECK_INT(json_int(c, "total"), (long) s.requests);
        cJSON_Delete(c);
        result_done(&r);
        client_free(rc);
}

static void test_missing_repository(void) {
        struct registry_client *rc = client(true, NULL, &cfg);
        struct result r = {};
        CHECK_INT(registry_list_tags(rc, registry, "it/does-not-exist", on_tags, &r), 0);
        run_until(loop, &r.done);
        CHECK_INT(r.error, -ENOENT);
        _cleanup_free_ char *want = util_printf("%s/it/does-not-exist: tags: HTTP 404 NAME_UNKNOWN", registry);
        CHECK_CONTAINS(r.message, want);
        CHECK(!r.tags);
        result_done(&r);

        CHECK_INT(registry_head_manifest(rc, registry, "it/oci-multi", "9.9.9", on_head, &r), 0);
        run_until(loop, &r.done);
        CHECK_INT(r.error, -ENOENT);
        _cleanup_free_ char *want_head = util_printf("%s/it/oci-multi:9.9.9: manifest: HTTP 404", registry);
        CHECK_CONTAINS(r.message, want_head);
        result_done(&r);

        CHECK_INT(registry_get_manifest(rc, registry, "it/oci-multi", "9.9.9", on_manifest, &r), 0);
        run_until(loop, &r.done);
        CHECK_INT(r.error, -ENOENT);
        CHECK_CONTAINS(r.message, "MANIFEST_UNKNOWN");
        result_done(&r);
        client_free(rc);
}

static void test_denied(void) {
        reset_log();
        struct registry_client *rc = client(true, NULL, &cfg);
        struct result r = {};
        CHECK_INT(registry_list_tags(rc, registry, "it/denied", on_tags, &r), 0);
        run_until(loop, &r.done);
        CHECK_INT(r.error, -EACCES);
        _cleanup_free_ char *want = util_printf("%s/it/denied: tags: pull access denied", registry);
        CHECK_CONTAINS(r.message, want);
        result_done(&r);
        /* A second attempt knows the answer: no new token request, nothing sent to the registry. */
        CHECK_INT(registry_list_tags(rc, registry, "it/denied", on_tags, &r), 0);
        run_until(loop, &r.done);
        CHECK_INT(r.error, -EACCES);
        result_done(&r);
        cJSON *c = counts();
        CHECK_INT(json_int(c, "GET token"), 1);
        CHECK_INT(json_int(c, "GET tags"), 0);
        cJSON_Delete(c);
        client_free(rc);
}

static void test_private(void) {
        struct registry_client *rc = client(true, NULL, &cfg);
        struct result r = {};
        CHECK_INT(registry_list_tags(rc, registry, "it/private", on_tags, &r), 0);
        run_until(loop, &r.done);
        CHECK_INT(r.error, -EACCES);
        result_done(&r);
        client_free(rc);

        /* With docker's config.json holding the user's credentials, the same request works. */
        rc = client(false, getenv("EXTUPDATED_TEST_DOCKER_CONFIG"), &cfg);
        CHECK_INT(registry_list_tags(rc, registry, "it/private", on_tags, &r), 0);
        run_until(loop, &r.done);
        CHECK_INT(r.error, 0);
        CHECK_INT(r.n_tags, 1);
        CHECK(r.tags && streq(r.tags[0], "1.0.0"));
        CHECK(!registry_client_credentials_note(rc));
        result_done(&r);
        client_free(rc);
}

static void test_batch_token(void) {
        reset_log();
        struct registry_client *rc = client(true, NULL, &cfg);
        char path[32];
        for (int i = 0; i < 5; i++) {
                snprintf(path, sizeof path, "it/batch-%d", i);
                CHECK_INT(registry_client_add_scope(rc, registry, path), 0);
        }
        /* One repository first: its token covers all five declared ones. */
        struct result first = {};
        CHECK_INT(registry_list_tags(rc, registry, "it/batch-0", on_tags, &first), 0);
        run_until(loop, &first.done);
        CHECK_INT(first.error, 0);
        CHECK_INT(first.n_tags, 1);
        result_done(&first);

        struct result r[4] = {};
        for (int i = 1; i < 5; i++) {
                snprintf(path, sizeof path, "it/batch-%d", i);
                CHECK_INT(registry_list_tags(rc, registry, path, on_tags, &r[i - 1]), 0);
        }
        for (int i = 0; i < 4; i++) {
                run_until(loop, &r[i].done);
                CHECK_INT(r[i].error, 0);
                CHECK_INT(r[i].n_tags, 1);
                result_done(&r[i]);
        }
        cJSON *c = counts();
        CHECK_INT(json_int(c, "GET token"), 1);
        CHECK_INT(json_int(c, "GET base"), 1);
        CHECK_INT(json_int(c, "GET tags"), 5);
        CHECK_INT(json_int(c, "total"), 7);
        cJSON_Delete(c);
        cJSON *tokens = requests("token");
        CHECK_INT(cJSON_GetArraySize(tokens), 1);
        const cJSON *scopes = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(tokens, 0), "scopes");
        CHECK_INT(cJSON_GetArraySize(scopes), 5);
        cJSON_Delete(tokens);
        client_free(rc);

        /* Without declaring anything, operations submitted together still share one token. */
        reset_log();
        rc = client(true, NULL, &cfg);
        struct result s[5] = {};
        for (int i = 0; i < 5; i++) {
                snprintf(path, sizeof path, "it/batch-%d", i);
                CHECK_INT(registry_head_manifest(rc, registry, path, "latest", on_head, &s[i]), 0);
        }
        for (int i = 0; i < 5; i++) {
                run_until(loop, &s[i].done);
                /* The batch repositories have no "latest" tag: 404 each, after one token. */
                CHECK_INT(s[i].error, -ENOENT);
                result_done(&s[i]);
        }
        c = counts();
        CHECK_INT(json_int(c, "GET token"), 1);
        CHECK_INT(json_int(c, "HEAD manifest"), 5);
        cJSON_Delete(c);
        client_free(rc);
}

static void check_image(const struct result *r, const char *repo, const char *tag, const char *platform) {
        CHECK_INT(r->error, 0);
        CHECK_STR(r->image.digest, seeded(repo, tag, NULL, "digest"));
        CHECK(r->image.provides_platform);
        CHECK_STR(r->image.image_digest, seeded(repo, tag, platform, "digest"));
        CHECK_STR(r->image.config_digest, seeded(repo, tag, platform, "config_digest"));
        CHECK(r->image.config);
}

static void test_inspect_index(void) {
        reset_log();
        struct registry_client *rc = client(true, NULL, &cfg);
        struct manifest_platform amd64 = {}, arm64 = {}, riscv = {};
        CHECK_INT(manifest_platform_parse("linux/amd64", &amd64), 0);
        CHECK_INT(manifest_platform_parse("linux/arm64", &arm64), 0);
        CHECK_INT(manifest_platform_parse("linux/riscv64", &riscv), 0);

        struct result r = {};
        CHECK_INT(inspect_into(rc, registry, "it/oci-multi", "1.0.0", &amd64, &r), 0);
        run_until(loop, &r.done);
        check_image(&r, "it/oci-multi", "1.0.0", "linux/amd64");
        CHECK_INT(r.image.kind, MANIFEST_OCI_INDEX);
        /* The attestation entries (unknown/unknown) are not platforms. */
        CHECK_INT(util_strv_length(r.image.platforms), 2);
        CHECK(r.image.platforms && streq(r.image.platforms[0], "linux/amd64") &&
              streq(r.image.platforms[1], "linux/arm64"));
        if (r.image.config) {
                CHECK_STR(r.image.config->platform.architecture, "amd64");
                CHECK_STR(json_str(r.image.config->labels, "org.opencontainers.image.title", NULL), "Good extension");
        }
        result_done(&r);

        /* By digest and for the other platform. */
        const char *digest = seeded("it/oci-multi", "1.1.0", NULL, "digest");
        CHECK_INT(inspect_into(rc, registry, "it/oci-multi", digest, &arm64, &r), 0);
        run_until(loop, &r.done);
        check_image(&r, "it/oci-multi", "1.1.0", "linux/arm64");
        if (r.image.config)
                CHECK_STR(json_str(r.image.config->labels, "org.opencontainers.image.title", NULL),
                          "Good extension 1.1");
        result_done(&r);

        CHECK_INT(inspect_into(rc, registry, "it/oci-multi", "1.0.0", &riscv, &r), 0);
        run_until(loop, &r.done);
        CHECK_INT(r.error, 0);
        CHECK(!r.image.provides_platform);
        CHECK(!r.image.config);
        CHECK(!r.image.image_digest);
        CHECK_INT(util_strv_length(r.image.platforms), 2);
        result_done(&r);

        cJSON *c = counts();
        /* index + image + blob, twice, then the index alone. */
        CHECK_INT(json_int(c, "GET manifest"), 5);
        CHECK_INT(json_int(c, "GET blob"), 2);
        CHECK_INT(json_int(c, "GET token"), 1);
        cJSON_Delete(c);
        struct registry_stats s;
        registry_client_stats(rc, &s);
        CHECK_INT(s.manifest_gets, 5);
        CHECK_INT(s.blob_gets, 2);

        /* A registry without ratelimit headers reports none. */
        struct registry_ratelimit rl;
        CHECK_INT(registry_client_ratelimit(rc, registry, &rl), -ENODATA);

        manifest_platform_done(&amd64);
        manifest_platform_done(&arm64);
        manifest_platform_done(&riscv);
        client_free(rc);
}

static void test_inspect_docker_and_single(void) {
        struct registry_client *rc = client(true, NULL, &cfg);
        struct manifest_platform arm = {}, amd64 = {};
        CHECK_INT(manifest_platform_parse("linux/arm", &arm), 0);
        CHECK_INT(manifest_platform_parse("linux/amd64", &amd64), 0);

        struct result r = {};
        CHECK_INT(inspect_into(rc, registry, "it/docker-multi", "2.0.0", &arm, &r), 0);
        run_until(loop, &r.done);
        check_image(&r, "it/docker-multi", "2.0.0", "linux/arm/v7");
        CHECK_INT(r.image.kind, MANIFEST_DOCKER_LIST);
        CHECK_INT(util_strv_length(r.image.platforms), 2);
        CHECK(r.image.platforms && streq(r.image.platforms[1], "linux/arm/v7"));
        result_done(&r);

        /* A single arm64 image: not amd64, but its config is there to say so. */
        CHECK_INT(inspect_into(rc, registry, "it/single-oci", "0.1.0", &amd64, &r), 0);
        run_until(loop, &r.done);
        CHECK_INT(r.error, 0);
        CHECK_INT(r.image.kind, MANIFEST_OCI_MANIFEST);
        CHECK(!r.image.provides_platform);
        CHECK(r.image.config);
        CHECK_STR(r.image.digest, seeded("it/single-oci", "0.1.0", NULL, "digest"));
        CHECK_STR(r.image.image_digest, r.image.digest);
        CHECK_STR(r.image.config_digest, seeded("it/single-oci", "0.1.0", NULL, "config_digest"));
        CHECK_INT(util_strv_length(r.image.platforms), 1);
        CHECK(r.image.platforms && streq(r.image.platforms[0], "linux/arm64"));
        result_done(&r);

        CHECK_INT(inspect_into(rc, registry, "it/single-docker", "0.2.0", &amd64, &r), 0);
        run_until(loop, &r.done);
        CHECK_INT(r.error, 0);
        CHECK_INT(r.image.kind, MANIFEST_DOCKER_V2);
        CHECK(r.image.provides_platform);
        if (r.image.config)
                CHECK_STR(json_str(r.image.config->labels, "org.opencontainers.image.vendor", NULL), "V");
        result_done(&r);

        /* Labels null in the config: no labels, no error. */
        CHECK_INT(inspect_into(rc, registry, "it/nolabels", "1.0.0", &amd64, &r), 0);
        run_until(loop, &r.done);
        CHECK_INT(r.error, 0);
        CHECK(r.image.config && !r.image.config->labels);
        result_done(&r);

        manifest_platform_done(&arm);
        manifest_platform_done(&amd64);
        client_free(rc);
}

static void test_head_get_config(void) {
        reset_log();
        struct registry_client *rc = client(true, NULL, &cfg);
        struct result r = {};
        CHECK_INT(registry_head_manifest(rc, registry, "it/oci-multi", "latest", on_head, &r), 0);
        run_until(loop, &r.done);
        CHECK_INT(r.error, 0);
        CHECK_STR(r.info.digest, seeded("it/oci-multi", "1.1.0", NULL, "digest"));
        CHECK_STR(r.info.media_type, MANIFEST_MEDIA_TYPE_OCI_INDEX);
        CHECK(r.info.size > 0);
        CHECK(!r.info.counted);
        result_done(&r);
        cJSON *c = counts();
        CHECK_INT(json_int(c, "HEAD manifest"), 1);
        CHECK_INT(json_int(c, "GET manifest"), 0);
        cJSON_Delete(c);

        const char *image = seeded("it/oci-multi", "1.0.0", "linux/arm64", "digest");
        CHECK_INT(registry_get_manifest(rc, registry, "it/oci-multi", image, on_manifest, &r), 0);
        run_until(loop, &r.done);
        CHECK_INT(r.error, 0);
        CHECK_STR(r.manifest.digest, image);
        CHECK(r.manifest.manifest && r.manifest.manifest->kind == MANIFEST_OCI_MANIFEST);
        CHECK(r.manifest.body && r.manifest.body_len > 0);
        char d[72];
        util_sha256_digest(r.manifest.body, r.manifest.body_len, d);
        CHECK_STR(d, image);
        result_done(&r);

        const char *config = seeded("it/oci-multi", "1.0.0", "linux/arm64", "config_digest");
        CHECK_INT(registry_get_config(rc, registry, "it/oci-multi", config, on_config, &r), 0);
        run_until(loop, &r.done);
        CHECK_INT(r.error, 0);
        CHECK_STR(r.config.digest, config);
        CHECK(r.config.config && streq(r.config.config->platform.architecture, "arm64"));
        result_done(&r);

        /* Invalid arguments are refused at once, with no callback. */
        CHECK_INT(registry_get_manifest(rc, registry, "it/oci-multi", "not a tag", on_manifest, &r), -EINVAL);
        CHECK_INT(registry_get_config(rc, registry, "it/oci-multi", "latest", on_config, &r), -EINVAL);
        CHECK_INT(registry_list_tags(rc, registry, "It/Upper", on_tags, &r), -EINVAL);
        CHECK_INT(registry_list_tags(rc, registry, "it/../x", on_tags, &r), -EINVAL);
        CHECK(!r.done);
        client_free(rc);
}

static void test_http_fallback(void) {
        /* No configuration: https://127.0.0.1:PORT first, then plain HTTP, as docker does for loopback. */
        struct registry_client *rc = client(true, NULL, NULL);
        struct result r = {};
        CHECK_INT(registry_list_tags(rc, registry, "it/docker-multi", on_tags, &r), 0);
        run_until(loop, &r.done);
        CHECK_INT(r.error, 0);
        CHECK_INT(r.n_tags, 1);
        result_done(&r);
        client_free(rc);
}

static void test_rate_limit(void) {
        _cleanup_free_ char *url = util_printf("%s/config", control_url);
        cJSON_Delete(control(url, "{\"pull_limit\": 8}"));
        struct registry_client *rc = client(true, NULL, &cfg);
        struct result r = {};
        /* 8 pulls allowed, a reserve of 5: the first GET sees 7 left, the next two 6 and 5, then refusal. */
        int ok = 0, refused = 0;
        for (int i = 0; i < 6; i++) {
                CHECK_INT(registry_get_manifest(rc, registry, "it/single-docker", "0.2.0", on_manifest, &r), 0);
                run_until(loop, &r.done);
                if (r.error == 0)
                        ok++;
                else {
                        refused++;
                        CHECK_INT(r.error, -EDQUOT);
                        CHECK_CONTAINS(r.message, "pull rate limit nearly exhausted: 5 left");
                }
                result_done(&r);
        }
        CHECK_INT(ok, 3);
        CHECK_INT(refused, 3);
        struct registry_ratelimit rl;
        CHECK_INT(registry_client_ratelimit(rc, registry, &rl), 0);
        CHECK_INT(rl.limit, 8);
        CHECK_INT(rl.remaining, 5);
        CHECK_INT(rl.window_s, 21600);
        CHECK(!rl.exhausted);
        /* HEAD is no pull: still allowed. */
        CHECK_INT(registry_head_manifest(rc, registry, "it/single-docker", "0.2.0", on_head, &r), 0);
        run_until(loop, &r.done);
        CHECK_INT(r.error, 0);
        result_done(&r);
        client_free(rc);

        /* With no reserve to speak of, the registry's own 429 ends it, and is remembered. */
        struct http_options ho = { .retry_base_ms = 50, .retry_max_ms = 2000, .max_retries = 1 };
        struct registry_options o = { .config = &cfg, .http = &ho, .anonymous = true, .ratelimit_reserve = 1 };
        CHECK_INT(registry_client_new(loop, &o, &rc), 0);
        cJSON_Delete(control(url, "{\"pull_limit\": 1}"));
        for (int i = 0; i < 3; i++) {
                CHECK_INT(registry_get_manifest(rc, registry, "it/single-docker", "0.2.0", on_manifest, &r), 0);
                run_until(loop, &r.done);
                if (i == 0) {
                        /* remaining 0 after this one */
                        CHECK_INT(r.error, 0);
                } else
                        CHECK_INT(r.error, -EDQUOT);
                result_done(&r);
        }
        cJSON_Delete(control(url, "{\"pull_limit\": 0}"));
        reset_log();
        CHECK_INT(registry_get_manifest(rc, registry, "it/single-docker", "0.2.0", on_manifest, &r), 0);
        run_until(loop, &r.done);
        CHECK_INT(r.error, -EDQUOT);
        result_done(&r);
        cJSON *c = counts();
        CHECK_INT(json_int(c, "total"), 0);
        cJSON_Delete(c);
        client_free(rc);

        /* Fresh client, limit already at zero: Hub's 429 and its message. */
        CHECK_INT(registry_client_new(loop, &o, &rc), 0);
        CHECK_INT(registry_get_manifest(rc, registry, "it/single-docker", "0.2.0", on_manifest, &r), 0);
        run_until(loop, &r.done);
        CHECK_INT(r.error, -EDQUOT);
        CHECK_CONTAINS(r.message, "HTTP 429 TOOMANYREQUESTS You have reached your pull rate limit");
        result_done(&r);
        CHECK_INT(registry_client_ratelimit(rc, registry, &rl), 0);
        CHECK(rl.exhausted);
        client_free(rc);
        cJSON_Delete(control(url, "{\"pull_limit\": null}"));
}

static void test_cancel(void) {
        struct registry_client *rc = client(true, NULL, &cfg);
        struct result r[3] = {};
        struct manifest_platform amd64 = {};
        CHECK_INT(manifest_platform_parse("linux/amd64", &amd64), 0);
        CHECK_INT(registry_list_tags(rc, registry, "it/many-tags", on_tags, &r[0]), 0);
        CHECK_INT(inspect_into(rc, registry, "it/oci-multi", "1.0.0", &amd64, &r[1]), 0);
        CHECK_INT(registry_head_manifest(rc, registry, "it/oci-multi", "1.0.0", on_head, &r[2]), 0);
        /* Let the ping go out, then tear down with everything in flight. */
        uv_run(loop, UV_RUN_NOWAIT);
        registry_client_free(rc);
        for (int i = 0; i < 3; i++) {
                CHECK(r[i].done);
                CHECK_INT(r[i].error, -ECANCELED);
                result_done(&r[i]);
        }
        drain(loop);
        manifest_platform_done(&amd64);
}

int main(void) {
        registry = getenv("EXTUPDATED_TEST_REGISTRY");
        control_url = getenv("EXTUPDATED_TEST_CONTROL_URL");
        const char *registry_url = getenv("EXTUPDATED_TEST_REGISTRY_URL");
        if (!registry || !control_url || !registry_url) {
                fprintf(stderr, "run me under tests/registry/harness.py run --seed … -- %s\n", "test-registry");
                return 77;
        }
        seed = read_json_file(getenv("EXTUPDATED_TEST_SEED_RESULT"));
        if (!seed) {
                fprintf(stderr, "cannot read the seed result\n");
                return 1;
        }
        curl_global_init(CURL_GLOBAL_DEFAULT);
        int r = registry_test_config(registry, registry_url, &cfg);
        if (r < 0) {
                fprintf(stderr, "config: %s\n", strerror(-r));
                return 1;
        }
        loop = uv_default_loop();

        test_tags_pages();
        test_missing_repository();
        test_denied();
        test_private();
        test_batch_token();
        test_inspect_index();
        test_inspect_docker_and_single();
        test_head_get_config();
        test_http_fallback();
        test_rate_limit();
        test_cancel();

        config_done(&cfg);
        cJSON_Delete(seed);
        uv_loop_close(loop);
        curl_global_cleanup();
        check_failed += common_failures;
        return check_summary("test-registry");
}
