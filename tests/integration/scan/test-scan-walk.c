/* Unit test of the scan's walk over versions, against a scripted registry (scripted-registry.py). */
#include <errno.h>
#include <ftw.h>
#include <unistd.h>

#include "../../check.h"
#include "../common.h"
#include "allowlist.h"
#include "config.h"
#include "http.h"
#include "labels.h"
#include "manifest.h"
#include "scan.h"
#include "store.h"

static uv_loop_t *loop;
static const char *registry; /* 127.0.0.1:PORT */
static const char *registry_url;
static struct config cfg;
static cJSON *script;

/* ---- Building the script ------------------------------------------------------------------ */

static cJSON *repo_script(const char *repo) {
        cJSON *r = cJSON_GetObjectItemCaseSensitive(script, repo);
        if (!r) {
                r = cJSON_AddObjectToObject(script, repo);
                cJSON_AddArrayToObject(r, "tags");
                cJSON_AddObjectToObject(r, "manifests");
                cJSON_AddObjectToObject(r, "blobs");
        }
        return r;
}

/* Adds an entry serving body under key of the repository's "manifests" or "blobs"; returns it. */
static cJSON *serve(const char *repo, const char *kind, const char *key, const char *body, const char *media_type) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "body", body);
        if (media_type)
                cJSON_AddStringToObject(e, "media_type", media_type);
        cJSON *parent = cJSON_GetObjectItemCaseSensitive(repo_script(repo), kind);
        cJSON_DeleteItemFromObjectCaseSensitive(parent, key);
        cJSON_AddItemToObject(parent, key, e);
        return e;
}

static void add_tag(const char *repo, const char *tag) {
        cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(repo_script(repo), "tags"), cJSON_CreateString(tag));
}

/* The labels of a well-formed extension needing api (NULL: no API label). */
static cJSON *labels(const char *api) {
        cJSON *l = cJSON_CreateObject();
        cJSON_AddStringToObject(l, LABELS_TITLE, "Walk");
        cJSON_AddStringToObject(l, LABELS_VENDOR, "Tests");
        if (api)
                cJSON_AddStringToObject(l, LABELS_API_VERSION, api);
        return l;
}

/* A config blob for platform with the labels (taken); *ret its digest. */
static char *config_blob(const char *platform, cJSON *l, char digest[static 72]) {
        struct manifest_platform p = {};
        REQUIRE_OK(manifest_platform_parse(platform, &p));
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "os", p.os);
        cJSON_AddStringToObject(c, "architecture", p.architecture);
        if (p.variant)
                cJSON_AddStringToObject(c, "variant", p.variant);
        cJSON_AddItemToObject(cJSON_AddObjectToObject(c, "config"), "Labels", l);
        char *body = cJSON_PrintUnformatted(c);
        cJSON_Delete(c);
        manifest_platform_done(&p);
        util_sha256_digest(body, strlen(body), digest);
        return body;
}

static char *image_manifest(const char *config_digest, size_t config_size, char digest[static 72]) {
        char *body = util_printf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":"
                                 "\"application/vnd.oci.image.config.v1+json\",\"digest\":\"%s\",\"size\":%zu},"
                                 "\"layers\":[]}",
                                 MANIFEST_MEDIA_TYPE_OCI_MANIFEST, config_digest, config_size);
        util_sha256_digest(body, strlen(body), digest);
        return body;
}

/* What image() wrote, for tests that break a part of it. */
struct image {
        char digest[72];        /* of the tag's manifest */
        char config[72];        /* of the (first) config blob */
        char child[72];         /* of the first image manifest of an index */
};

#define BOTH ((const char *const[]) {"linux/amd64", "linux/arm64", NULL})

/* Tags repo:tag as an extension image with labels l (taken): a single linux/amd64 image when
 * platforms is NULL, else an OCI index of those platforms. */
static struct image image(const char *repo, const char *tag, cJSON *l, const char *const *platforms) {
        struct image img = {};
        add_tag(repo, tag);
        /* Every version its own image, as real ones are (they differ in more than labels). */
        if (!cJSON_GetObjectItemCaseSensitive(l, LABELS_DESCRIPTION))
                cJSON_AddStringToObject(l, LABELS_DESCRIPTION, tag);
        if (!platforms) {
                _cleanup_free_ char *config = config_blob("linux/amd64", l, img.config);
                serve(repo, "blobs", img.config, config, "application/vnd.oci.image.config.v1+json");
                _cleanup_free_ char *m = image_manifest(img.config, strlen(config), img.digest);
                serve(repo, "manifests", img.digest, m, MANIFEST_MEDIA_TYPE_OCI_MANIFEST);
                serve(repo, "manifests", tag, m, MANIFEST_MEDIA_TYPE_OCI_MANIFEST);
                return img;
        }
        _cleanup_free_ char *entries = strdup("");
        for (const char *const *p = platforms; *p; p++) {
                char config_digest[72], manifest_digest[72];
                _cleanup_free_ char *config = config_blob(*p, cJSON_Duplicate(l, true), config_digest);
                serve(repo, "blobs", config_digest, config, "application/vnd.oci.image.config.v1+json");
                _cleanup_free_ char *m = image_manifest(config_digest, strlen(config), manifest_digest);
                serve(repo, "manifests", manifest_digest, m, MANIFEST_MEDIA_TYPE_OCI_MANIFEST);
                if (p == platforms) {
                        memcpy(img.config, config_digest, sizeof img.config);
                        memcpy(img.child, manifest_digest, sizeof img.child);
                }
                struct manifest_platform mp = {};
                REQUIRE_OK(manifest_platform_parse(*p, &mp));
                char *e = util_printf("%s%s{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu,\"platform\":"
                                      "{\"os\":\"%s\",\"architecture\":\"%s\"}}",
                                      entries, *entries ? "," : "", MANIFEST_MEDIA_TYPE_OCI_MANIFEST, manifest_digest,
                                      strlen(m), mp.os, mp.architecture);
                manifest_platform_done(&mp);
                free(entries);
                entries = e;
        }
        cJSON_Delete(l);
        _cleanup_free_ char *index = util_printf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":[%s]}",
                                                 MANIFEST_MEDIA_TYPE_OCI_INDEX, entries);
        util_sha256_digest(index, strlen(index), img.digest);
        serve(repo, "manifests", img.digest, index, MANIFEST_MEDIA_TYPE_OCI_INDEX);
        serve(repo, "manifests", tag, index, MANIFEST_MEDIA_TYPE_OCI_INDEX);
        return img;
}

static void post_script(void) {
        _cleanup_free_ char *url = util_printf("%s/_script", registry_url);
        _cleanup_free_ char *body = cJSON_PrintUnformatted(script);
        cJSON_Delete(control(url, body));
        _cleanup_free_ char *reset = util_printf("%s/_reset", registry_url);
        cJSON_Delete(control(reset, "{}"));
}

/* The requests since the script was posted. */
static cJSON *request_log(void) {
        _cleanup_free_ char *url = util_printf("%s/_log", registry_url);
        cJSON *j = control(url, NULL);
        REQUIRE(cJSON_IsArray(j));
        return j;
}

static unsigned count_requests(const char *prefix) {
        cJSON *log = request_log();
        unsigned n = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, log) n += util_startswith(e->valuestring, prefix) != NULL;
        cJSON_Delete(log);
        return n;
}

/* ---- Running scans ------------------------------------------------------------------------- */

struct state {
        char dir[64];
        struct store *store;
};

static void state_new(struct state *st) {
        snprintf(st->dir, sizeof st->dir, "/tmp/test-scan-walk-XXXXXX");
        REQUIRE(mkdtemp(st->dir));
        REQUIRE_OK(store_open(st->dir, &st->store, NULL));
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
        (void) sb;
        (void) flag;
        (void) ftw;
        return remove(path);
}

static void state_free(struct state *st) {
        store_free(st->store);
        nftw(st->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void on_event(const struct scan_event *e, void *userdata) {
        if (e->type == SCAN_EVENT_FINISHED)
                *(bool *) userdata = true;
}

/* Scans the repositories (NULL-terminated "REPO[:TAG]" under the scripted registry). */
static struct scan_summary scan(struct state *st, const char *const *repos, struct scan_settings ss) {
        _cleanup_free_ char *text = strdup("");
        for (const char *const *r = repos; *r; r++) {
                char *t = util_printf("%s%s/%s\n", text, registry, *r);
                free(text);
                text = t;
        }
        struct allowlist al = {};
        REQUIRE_OK(allowlist_parse("test", text, strlen(text), &al, NULL));
        if (!ss.api_version)
                ss.api_version = "0.3.4";
        if (!ss.platform)
                ss.platform = "linux/amd64";
        struct http_options ho = {.retry_base_ms = 10, .retry_max_ms = 100, .max_retries = 1};
        struct registry_options o = {.config = &cfg, .http = &ho, .anonymous = true};
        struct registry_client *rc = NULL;
        REQUIRE_OK(registry_client_new(loop, &o, &rc));
        bool done = false;
        struct scan *s = NULL;
        REQUIRE_OK(scan_start(loop, st->store, rc, &al, &ss, on_event, &done, &s));
        run_until(loop, &done);
        struct scan_summary summary = *scan_get_summary(s);
        scan_free(s);
        registry_client_free(rc);
        drain(loop);
        allowlist_done(&al);
        return summary;
}

static struct store_record record(struct state *st, const char *repo) {
        _cleanup_free_ char *name = util_printf("%s/%s", registry, repo);
        struct store_record r = {};
        CHECK_INT(store_get_record(st->store, name, &r), 0);
        return r;
}

/* The reason given for tag, or NULL. The caller frees it. */
static char *verdict(struct state *st, const char *repo, const char *tag) {
        _cleanup_free_ char *name = util_printf("%s/%s", registry, repo);
        struct store_verdict *v = NULL;
        size_t n = 0;
        char *reason = NULL;
        REQUIRE_OK(store_get_verdicts(st->store, name, &v, &n));
        for (size_t i = 0; i < n; i++)
                if (streq(v[i].tag, tag))
                        reason = strdup(v[i].reason ? v[i].reason : "");
        store_verdict_array_free(v, n);
        return reason;
}

static size_t n_verdicts(struct state *st, const char *repo) {
        _cleanup_free_ char *name = util_printf("%s/%s", registry, repo);
        struct store_verdict *v = NULL;
        size_t n = 0;
        REQUIRE_OK(store_get_verdicts(st->store, name, &v, &n));
        store_verdict_array_free(v, n);
        return n;
}

#define CHECK_VERDICT(st, repo, tag, needle)                                                       \
        do {                                                                                       \
                _cleanup_free_ char *_v = verdict(st, repo, tag);                                  \
                CHECK_CONTAINS(_v, needle);                                                        \
        } while (0)

static void reset_script(void) {
        cJSON_Delete(script);
        script = cJSON_CreateObject();
}

/* ---- Cases --------------------------------------------------------------------------------- */

/* Every way one version can be broken is a verdict on it; the good older version is the answer. */
static void test_broken_versions(void) {
        check_context = "broken versions";
        reset_script();
        const char *repo = "walk/broken";
        image(repo, "1.0.0", labels(">= 0.2.0"), BOTH);
        struct image img = image(repo, "2.0.0", labels(">= 0.2.0"), NULL);
        cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(repo_script(repo), "blobs"),
                                                img.config);
        add_tag(repo, "3.0.0"); /* listed, no manifest */
        img = image(repo, "4.0.0", labels(">= 0.2.0"), NULL);
        cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(
                                        cJSON_GetObjectItemCaseSensitive(repo_script(repo), "manifests"), "4.0.0"),
                                "digest", "sha256:0000000000000000000000000000000000000000000000000000000000000000");
        add_tag(repo, "5.0.0");
        serve(repo, "manifests", "5.0.0", "{\"schemaVersion\":1,\"name\":\"walk/broken\",\"tag\":\"5.0.0\"}",
              "application/vnd.docker.distribution.manifest.v1+prettyjws");
        add_tag(repo, "6.0.0");
        serve(repo, "manifests", "6.0.0", "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.example+json\"}",
              "application/vnd.example+json");
        add_tag(repo, "7.0.0");
        cJSON_AddNumberToObject(serve(repo, "manifests", "7.0.0", "", MANIFEST_MEDIA_TYPE_OCI_MANIFEST), "size",
                                5 << 20);
        img = image(repo, "8.0.0", labels(">= 0.2.0"), BOTH);
        cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(repo_script(repo), "manifests"),
                                                img.child);
        post_script();

        struct state st;
        state_new(&st);
        struct scan_summary sum = scan(&st, (const char *[]) {repo, NULL}, (struct scan_settings) {});
        CHECK_INT(sum.errors, 0);
        struct store_record r = record(&st, repo);
        CHECK_STR(r.status, "ok");
        CHECK_STR(r.latest, "8.0.0");
        CHECK_STR(r.latest_compatible, "1.0.0");
        CHECK_STR(r.error, NULL);
        store_record_done(&r);
        CHECK_VERDICT(&st, repo, "8.0.0", "404");
        CHECK_VERDICT(&st, repo, "7.0.0", "larger than the limit");
        CHECK_VERDICT(&st, repo, "6.0.0", "application/vnd.example+json");
        CHECK_VERDICT(&st, repo, "5.0.0", "schema");
        CHECK_VERDICT(&st, repo, "4.0.0", "digest mismatch");
        CHECK_VERDICT(&st, repo, "3.0.0", "the tag has no manifest (3.0.0: manifest: HTTP 404");
        CHECK_VERDICT(&st, repo, "2.0.0", img.config[0] ? "config blob" : "");
        CHECK_VERDICT(&st, repo, "1.0.0", "compatible");
        state_free(&st);
}

/* Failures of the registry rather than of a version stay repository errors. */
static void test_repository_errors(void) {
        check_context = "repository errors";
        reset_script();
        image("walk/limited", "1.0.0", labels(">= 0.2.0"), NULL);
        cJSON_AddNumberToObject(cJSON_GetObjectItemCaseSensitive(
                                        cJSON_GetObjectItemCaseSensitive(repo_script("walk/limited"), "manifests"),
                                        "1.0.0"),
                                "status", 429);
        image("walk/denied", "1.0.0", labels(">= 0.2.0"), NULL);
        cJSON_AddNumberToObject(cJSON_GetObjectItemCaseSensitive(
                                        cJSON_GetObjectItemCaseSensitive(repo_script("walk/denied"), "manifests"),
                                        "1.0.0"),
                                "status", 401);
        post_script();
        struct state st;
        state_new(&st);
        struct scan_summary sum = scan(&st, (const char *[]) {"walk/limited", "walk/denied", NULL},
                                       (struct scan_settings) {});
        CHECK_INT(sum.errors, 2);
        struct store_record r = record(&st, "walk/limited");
        CHECK_STR(r.status, "error");
        CHECK_CONTAINS(r.error, "429");
        store_record_done(&r);
        r = record(&st, "walk/denied");
        CHECK_STR(r.status, "error");
        CHECK_CONTAINS(r.error, "401");
        store_record_done(&r);
        state_free(&st);
}

/* CONTRACT §5.4: an installed version this Desktop cannot run does not hide an older one it can. */
static void test_installed_incompatible(void) {
        check_context = "installed incompatible";
        reset_script();
        const char *repo = "walk/inv";
        image(repo, "0.2.9", labels(">= 0.2.3"), NULL);
        image(repo, "0.3.0", labels(">= 0.4.0"), NULL);
        post_script();
        struct state st;
        state_new(&st);
        _cleanup_free_ char *name = util_printf("%s/%s", registry, repo);
        REQUIRE_OK(store_installed_set(st.store, name, "0.3.0", time(NULL)));
        scan(&st, (const char *[]) {repo, NULL}, (struct scan_settings) {});
        struct store_record r = record(&st, repo);
        CHECK_STR(r.status, "ok");
        CHECK_STR(r.latest, "0.3.0");
        CHECK_STR(r.latest_compatible, "0.2.9");
        CHECK_STR(r.latest_api_constraint, ">= 0.4.0");
        CHECK(!r.update_available);
        store_record_done(&r);
        state_free(&st);
}

/* A beta Desktop's API version matches as node-semver's includePrerelease. */
static void test_prerelease_api(void) {
        check_context = "pre-release API";
        reset_script();
        const char *repo = "walk/beta";
        image(repo, "1.0.0", labels(">= 0.2.3"), NULL);
        image(repo, "1.1.0", labels(">= 0.5.0"), NULL);
        post_script();
        struct state st;
        state_new(&st);
        scan(&st, (const char *[]) {repo, NULL}, (struct scan_settings) {.api_version = "0.4.0-beta.1"});
        struct store_record r = record(&st, repo);
        CHECK_STR(r.status, "ok");
        CHECK_STR(r.latest_compatible, "1.0.0");
        store_record_done(&r);
        CHECK_VERDICT(&st, repo, "1.1.0", "this Desktop has 0.4.0-beta.1");
        state_free(&st);
}

/* At most max_inspected versions per scan; the next one's verdict says the walk stopped. */
static void test_budget(void) {
        check_context = "budget";
        reset_script();
        const char *repo = "walk/budget";
        for (unsigned i = 0; i < 40; i++) {
                _cleanup_free_ char *tag = util_printf("1.%u.0", i);
                image(repo, tag, labels(">= 9.0.0"), NULL);
        }
        post_script();
        struct state st;
        state_new(&st);
        scan(&st, (const char *[]) {repo, NULL}, (struct scan_settings) {});
        struct store_record r = record(&st, repo);
        CHECK_STR(r.status, "incompatible");
        CHECK_STR(r.latest, "1.39.0");
        CHECK_STR(r.latest_compatible, NULL);
        CHECK_STR(r.latest_api_constraint, ">= 9.0.0");
        store_record_done(&r);
        /* 1.39.0 … 1.8.0 inspected, one GET by tag each (single images, no HEAD); 1.7.0 not. */
        CHECK_INT(count_requests("GET /v2/walk/budget/manifests/1."), 32);
        CHECK_INT(count_requests("HEAD "), 0);
        CHECK_INT(n_verdicts(&st, repo), 33);
        CHECK_VERDICT(&st, repo, "1.8.0", "needs Extension API");
        CHECK_VERDICT(&st, repo, "1.7.0", "stopped after 32 versions");

        scan(&st, (const char *[]) {repo, NULL}, (struct scan_settings) {.max_inspected = 3});
        CHECK_INT(n_verdicts(&st, repo), 4);
        CHECK_VERDICT(&st, repo, "1.36.0", "stopped after 3 versions");
        state_free(&st);
}

/* Label problems make a repository invalid, each with its own reason. */
static void test_labels(void) {
        check_context = "labels";
        reset_script();
        const char *repo = "walk/labels";
        _cleanup_free_ char *long_api = malloc(LABELS_MAX_API_VERSION + 100);
        memset(long_api, ' ', LABELS_MAX_API_VERSION + 99);
        memcpy(long_api, ">= 0.1.0", 8);
        long_api[LABELS_MAX_API_VERSION + 99] = 0;
        image(repo, "3.0.0", labels(long_api), NULL);
        image(repo, "2.0.0", labels(">= banana"), NULL);
        cJSON *l = labels(">= 0.1.0");
        cJSON_ReplaceItemInObjectCaseSensitive(l, LABELS_TITLE, cJSON_CreateNumber(7));
        image(repo, "1.0.0", l, NULL);
        post_script();
        struct state st;
        state_new(&st);
        scan(&st, (const char *[]) {repo, NULL}, (struct scan_settings) {});
        struct store_record r = record(&st, repo);
        CHECK_STR(r.status, "invalid");
        CHECK_STR(r.latest_compatible, NULL);
        store_record_done(&r);
        CHECK_VERDICT(&st, repo, "3.0.0", "longer than");
        CHECK_VERDICT(&st, repo, "2.0.0", "\">= banana\" is not a valid version range");
        /* As validate says it: "org.opencontainers.image.title: is not a string". */
        CHECK_VERDICT(&st, repo, "1.0.0", "label " LABELS_TITLE " is not a string");
        state_free(&st);
}

/* no_versions says why. */
static void test_no_versions(void) {
        check_context = "no versions";
        reset_script();
        image("walk/pin", "v0.2.2", labels(">= 0.1.0"), NULL);
        image("walk/pre", "1.0.0-beta.1", labels(">= 0.1.0"), NULL);
        image("walk/none", "latest", labels(">= 0.1.0"), NULL);
        post_script();
        struct state st;
        state_new(&st);
        scan(&st, (const char *[]) {"walk/pin:0.2.2", "walk/pre", "walk/none", NULL}, (struct scan_settings) {});
        for (const char *const *repo = (const char *[]) {"walk/pin", "walk/pre", "walk/none", NULL}; *repo; repo++) {
                struct store_record r = record(&st, *repo);
                CHECK_STR(r.status, "no_versions");
                store_record_done(&r);
        }
        CHECK_VERDICT(&st, "walk/pin", "v0.2.2", "pins 0.2.2, which the registry does not have: pin v0.2.2");
        CHECK_VERDICT(&st, "walk/pre", "1.0.0-beta.1", "include_prerelease");
        CHECK_INT(n_verdicts(&st, "walk/none"), 0);
        CHECK_INT(count_requests("GET /v2/walk/pin/manifests"), 0);
        state_free(&st);
}

/* A cold scan reads each version with one GET by tag; a warm one only lists tags. */
static void test_cold_and_warm(void) {
        check_context = "cold and warm";
        reset_script();
        const char *repo = "walk/cold";
        image(repo, "1.0.0", labels(">= 0.1.0"), BOTH);
        image(repo, "2.0.0", labels(">= 9.0.0"), BOTH);
        post_script();
        struct state st;
        state_new(&st);
        struct scan_summary sum = scan(&st, (const char *[]) {repo, NULL}, (struct scan_settings) {});
        /* Per version: the index by tag, the amd64 manifest, its config. */
        CHECK_INT(count_requests("GET /v2/walk/cold/manifests/"), 4);
        CHECK_INT(count_requests("GET /v2/walk/cold/blobs/"), 2);
        CHECK_INT(count_requests("HEAD "), 0);
        CHECK_INT(sum.requests, 8); /* with the ping and the tags list */
        _cleanup_free_ char *reset = util_printf("%s/_reset", registry_url);
        cJSON_Delete(control(reset, "{}"));
        sum = scan(&st, (const char *[]) {repo, NULL}, (struct scan_settings) {});
        CHECK_INT(count_requests("GET /v2/walk/cold/tags/list"), 1);
        CHECK_INT(sum.requests, 2);
        struct store_record r = record(&st, repo);
        CHECK_STR(r.latest_compatible, "1.0.0");
        store_record_done(&r);
        state_free(&st);
}

/* 20,000 incompatible versions whose digests, manifests and configs are all known: the second
 * scan of them used to overflow the stack. */
#define MANY 20000u
static void test_many_cached_versions(void) {
        check_context = "many cached versions";
        reset_script();
        const char *repo = "walk/many";
        struct image img = image(repo, "0.0.0", labels(">= 9.0.0"), NULL);
        cJSON *tags = cJSON_GetObjectItemCaseSensitive(repo_script(repo), "tags");
        for (unsigned i = 1; i < MANY; i++) {
                char tag[32];
                snprintf(tag, sizeof tag, "0.%u.%u", i / 1000, i % 1000);
                cJSON_AddItemToArray(tags, cJSON_CreateString(tag));
        }
        post_script();
        struct state st;
        state_new(&st);
        /* What a first scan of them would have stored: every tag with the one image's digest. */
        _cleanup_free_ char *name = util_printf("%s/%s", registry, repo);
        _cleanup_free_ char *canonical = util_printf("%s/%s", registry, repo);
        struct store_repository sr = {.name = name, .canonical = canonical, .source = "test:1"};
        REQUIRE_OK(store_set_repositories(st.store, &sr, 1, time(NULL)));
        struct store_tag *st_tags = calloc(MANY, sizeof *st_tags);
        const cJSON *t;
        size_t n = 0;
        cJSON_ArrayForEach(t, tags) st_tags[n++] = (struct store_tag) {.tag = t->valuestring, .digest = img.digest};
        struct store_record rec = {.repository = name, .status = (char *) "incompatible"};
        REQUIRE_OK(store_put_result(st.store, &rec, time(NULL), 0, st_tags, n, NULL, 0, 0));
        free(st_tags);
        const cJSON *manifests = cJSON_GetObjectItemCaseSensitive(repo_script(repo), "manifests");
        const cJSON *blobs = cJSON_GetObjectItemCaseSensitive(repo_script(repo), "blobs");
        const char *m = json_str(manifests, img.digest, "body", NULL);
        REQUIRE_OK(store_put_manifest(st.store, img.digest, MANIFEST_MEDIA_TYPE_OCI_MANIFEST, m, strlen(m), time(NULL)));
        cJSON *cfg_json = cJSON_Parse(json_str(blobs, img.config, "body", NULL));
        _cleanup_free_ char *label_text = cJSON_PrintUnformatted(
                cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cfg_json, "config"), "Labels"));
        cJSON_Delete(cfg_json);
        struct store_config sc = {.os = (char *) "linux", .architecture = (char *) "amd64", .labels = label_text};
        REQUIRE_OK(store_put_config(st.store, img.config, &sc, time(NULL)));

        struct scan_summary sum = scan(&st, (const char *[]) {repo, NULL},
                                       (struct scan_settings) {.max_inspected = MANY + 1});
        CHECK_INT(sum.errors, 0);
        CHECK_INT(sum.requests, 2); /* the ping and the tags list: everything else was known */
        struct store_record r = record(&st, repo);
        CHECK_STR(r.status, "incompatible");
        CHECK_STR(r.latest, "0.19.999");
        store_record_done(&r);
        CHECK_INT(n_verdicts(&st, repo), MANY);
        state_free(&st);
}

int main(void) {
        registry = getenv("SCRIPTED_REGISTRY");
        registry_url = getenv("SCRIPTED_REGISTRY_URL");
        if (!registry || !registry_url) {
                fprintf(stderr, "run me under tests/integration/scan/scripted-registry.py -- test-scan-walk\n");
                return 77;
        }
        curl_global_init(CURL_GLOBAL_DEFAULT);
        REQUIRE_OK(registry_test_config(registry, registry_url, &cfg));
        loop = uv_default_loop();

        test_broken_versions();
        test_repository_errors();
        test_installed_incompatible();
        test_prerelease_api();
        test_budget();
        test_labels();
        test_no_versions();
        test_cold_and_warm();
        test_many_cached_versions();

        cJSON_Delete(script);
        config_done(&cfg);
        uv_loop_close(loop);
        curl_global_cleanup();
        check_failed += common_failures;
        return check_summary("test-scan-walk");
}
