/* Unit tests for lib/manifest: media types, inference, schema 1, attestations, platforms, limits, digests. */
#include <errno.h>
#include <stdio.h>

#include "manifest.h"
#include "util.h"
#include "check.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"
#define D4 "sha256:4444444444444444444444444444444444444444444444444444444444444444"
#define D5 "sha256:5555555555555555555555555555555555555555555555555555555555555555"

#define ENTRY(mt, d, os, arch, extra)                                                              \
        "{\"mediaType\":\"" mt "\",\"digest\":\"" d "\",\"size\":1234,"                            \
        "\"platform\":{\"os\":\"" os "\",\"architecture\":\"" arch "\"" extra "}}"

/* A BuildKit index: two images and their two attestation manifests. */
static const char buildkit_index[] =
        "{\"schemaVersion\":2,\"mediaType\":\"" MANIFEST_MEDIA_TYPE_OCI_INDEX "\",\"manifests\":["
        ENTRY(MANIFEST_MEDIA_TYPE_OCI_MANIFEST, D1, "linux", "amd64", "") ","
        ENTRY(MANIFEST_MEDIA_TYPE_OCI_MANIFEST, D2, "linux", "arm64", ",\"variant\":\"v8\"") ","
        "{\"mediaType\":\"" MANIFEST_MEDIA_TYPE_OCI_MANIFEST "\",\"digest\":\"" D3 "\",\"size\":566,"
        "\"annotations\":{\"vnd.docker.reference.digest\":\"" D1 "\","
        "\"vnd.docker.reference.type\":\"attestation-manifest\"},"
        "\"platform\":{\"architecture\":\"unknown\",\"os\":\"unknown\"}},"
        "{\"mediaType\":\"" MANIFEST_MEDIA_TYPE_OCI_MANIFEST "\",\"digest\":\"" D4 "\",\"size\":566,"
        "\"annotations\":{\"vnd.docker.reference.type\":\"attestation-manifest\"},"
        "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}}"
        "]}";

static const char docker_list[] =
        "{\"schemaVersion\":2,\"mediaType\":\"" MANIFEST_MEDIA_TYPE_DOCKER_LIST "\",\"manifests\":["
        ENTRY(MANIFEST_MEDIA_TYPE_DOCKER_V2, D1, "linux", "amd64", "") ","
        ENTRY(MANIFEST_MEDIA_TYPE_DOCKER_V2, D2, "linux", "arm", ",\"variant\":\"v6\"") ","
        ENTRY(MANIFEST_MEDIA_TYPE_DOCKER_V2, D3, "linux", "arm", ",\"variant\":\"v7\"") ","
        ENTRY(MANIFEST_MEDIA_TYPE_DOCKER_V2, D4, "windows", "amd64",
              ",\"os.version\":\"10.0.17763.1817\"")
        "]}";

static const char oci_manifest[] =
        "{\"schemaVersion\":2,\"mediaType\":\"" MANIFEST_MEDIA_TYPE_OCI_MANIFEST "\","
        "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D5
        "\",\"size\":4321},"
        "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" D1
        "\",\"size\":10},{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
        "\"digest\":\"" D2 "\",\"size\":20}]}";

static const char docker_manifest[] =
        "{\"schemaVersion\":2,\"mediaType\":\"" MANIFEST_MEDIA_TYPE_DOCKER_V2 "\","
        "\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"digest\":\"" D5
        "\",\"size\":1500},\"layers\":[]}";

static int parse(const char *json, const char *content_type, struct manifest **ret, char **err) {
        free(*err);
        *err = NULL;
        return manifest_parse(json, strlen(json), content_type, ret, err);
}

static void test_index_oci(void) {
        _cleanup_(manifest_freep) struct manifest *m = NULL;
        _cleanup_free_ char *err = NULL;
        CHECK_INT(parse(buildkit_index, NULL, &m, &err), 0);
        if (!m)
                return;
        CHECK_INT(m->kind, MANIFEST_OCI_INDEX);
        CHECK(manifest_is_index(m));
        CHECK(!m->media_type_inferred);
        CHECK_STR(m->media_type, MANIFEST_MEDIA_TYPE_OCI_INDEX);
        CHECK_INT(m->n_entries, 4);
        CHECK_STR(m->entries[0].digest, D1);
        CHECK_INT(m->entries[0].size, 1234);
        CHECK_STR(m->entries[0].media_type, MANIFEST_MEDIA_TYPE_OCI_MANIFEST);
        CHECK(m->entries[0].has_platform);
        CHECK_STR(m->entries[0].platform.os, "linux");
        CHECK_STR(m->entries[0].platform.architecture, "amd64");
        CHECK(!m->entries[0].platform.variant);
        CHECK(!m->entries[0].attestation);
        CHECK_STR(m->entries[1].platform.variant, "v8");
        CHECK(!m->entries[1].attestation);
        CHECK(m->entries[2].attestation);
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(m->entries[2].annotations,
                                                          "vnd.docker.reference.digest");
        CHECK(cJSON_IsString(a) && streq(a->valuestring, D1));
        /* The annotation alone marks an attestation, even with a real-looking platform. */
        CHECK(m->entries[3].attestation);

        _cleanup_strv_free_ char **platforms = NULL;
        CHECK_INT(manifest_platforms(m, &platforms), 0);
        CHECK_INT(util_strv_length(platforms), 2);
        if (util_strv_length(platforms) == 2) {
                CHECK_STR(platforms[0], "linux/amd64");
                CHECK_STR(platforms[1], "linux/arm64");
        }

        struct manifest_platform want = {};
        CHECK_INT(manifest_platform_parse("linux/amd64", &want), 0);
        const struct manifest_descriptor *d = manifest_select(m, &want);
        CHECK(d && streq(d->digest, D1));
        manifest_platform_done(&want);
        CHECK_INT(manifest_platform_parse("linux/arm64", &want), 0);
        d = manifest_select(m, &want);
        CHECK(d && streq(d->digest, D2));
        manifest_platform_done(&want);
        CHECK_INT(manifest_platform_parse("linux/riscv64", &want), 0);
        CHECK(!manifest_select(m, &want));
        manifest_platform_done(&want);
        /* Attestations never answer for a platform, not even unknown/unknown. */
        CHECK_INT(manifest_platform_parse("unknown/unknown", &want), 0);
        CHECK(!manifest_select(m, &want));
        manifest_platform_done(&want);
}

static void test_docker_list(void) {
        _cleanup_(manifest_freep) struct manifest *m = NULL;
        _cleanup_free_ char *err = NULL;
        CHECK_INT(parse(docker_list, NULL, &m, &err), 0);
        if (!m)
                return;
        CHECK_INT(m->kind, MANIFEST_DOCKER_LIST);
        CHECK(manifest_is_index(m));
        CHECK_INT(m->n_entries, 4);
        CHECK_STR(m->entries[3].platform.os_version, "10.0.17763.1817");
        _cleanup_strv_free_ char **platforms = NULL;
        CHECK_INT(manifest_platforms(m, &platforms), 0);
        CHECK_INT(util_strv_length(platforms), 4);
        if (util_strv_length(platforms) == 4) {
                CHECK_STR(platforms[0], "linux/amd64");
                CHECK_STR(platforms[1], "linux/arm/v6");
                CHECK_STR(platforms[2], "linux/arm/v7");
                CHECK_STR(platforms[3], "windows/amd64");
        }
        struct manifest_platform want = {};
        /* arm without a variant means v7. */
        CHECK_INT(manifest_platform_parse("linux/arm", &want), 0);
        const struct manifest_descriptor *d = manifest_select(m, &want);
        CHECK(d && streq(d->digest, D3));
        manifest_platform_done(&want);
        /* v8 runs v7 binaries: the closest older variant wins. */
        CHECK_INT(manifest_platform_parse("linux/arm/v8", &want), 0);
        d = manifest_select(m, &want);
        CHECK(d && streq(d->digest, D3));
        manifest_platform_done(&want);
        CHECK_INT(manifest_platform_parse("linux/arm/v6", &want), 0);
        d = manifest_select(m, &want);
        CHECK(d && streq(d->digest, D2));
        manifest_platform_done(&want);
        CHECK_INT(manifest_platform_parse("linux/arm/v5", &want), 0);
        CHECK(!manifest_select(m, &want));
        manifest_platform_done(&want);
        CHECK_INT(manifest_platform_parse("windows/amd64", &want), 0);
        d = manifest_select(m, &want);
        CHECK(d && streq(d->digest, D4));
        manifest_platform_done(&want);
}

static void test_image_manifests(void) {
        _cleanup_(manifest_freep) struct manifest *m = NULL;
        _cleanup_free_ char *err = NULL;
        CHECK_INT(parse(oci_manifest, NULL, &m, &err), 0);
        if (m) {
                CHECK_INT(m->kind, MANIFEST_OCI_MANIFEST);
                CHECK(!manifest_is_index(m));
                CHECK_STR(m->config.digest, D5);
                CHECK_INT(m->config.size, 4321);
                CHECK_STR(m->config.media_type, "application/vnd.oci.image.config.v1+json");
                CHECK_INT(m->n_layers, 2);
                CHECK_INT(m->n_entries, 0);
                struct manifest_platform want = { .os = (char *) "linux", .architecture = (char *) "amd64" };
                CHECK(!manifest_select(m, &want));
                _cleanup_strv_free_ char **platforms = NULL;
                CHECK_INT(manifest_platforms(m, &platforms), 0);
                CHECK_INT(util_strv_length(platforms), 0);
        }
        manifest_free(m);
        m = NULL;
        CHECK_INT(parse(docker_manifest, NULL, &m, &err), 0);
        if (m) {
                CHECK_INT(m->kind, MANIFEST_DOCKER_V2);
                CHECK_STR(m->media_type, MANIFEST_MEDIA_TYPE_DOCKER_V2);
                CHECK_STR(m->config.digest, D5);
                CHECK_INT(m->config.size, 1500);
                CHECK_INT(m->n_layers, 0);
        }
}

static void test_missing_media_type(void) {
        _cleanup_(manifest_freep) struct manifest *m = NULL;
        _cleanup_free_ char *err = NULL;

        /* Shape decides when neither the body nor the header says. */
        static const char index[] = "{\"schemaVersion\":2,\"manifests\":[" ENTRY(
                MANIFEST_MEDIA_TYPE_OCI_MANIFEST, D1, "linux", "amd64", "") "]}";
        CHECK_INT(parse(index, NULL, &m, &err), 0);
        CHECK(m && m->kind == MANIFEST_OCI_INDEX && m->media_type_inferred && m->n_entries == 1);
        manifest_free(m);
        m = NULL;

        static const char image[] = "{\"schemaVersion\":2,\"config\":{\"mediaType\":"
                                    "\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D5
                                    "\",\"size\":7},\"layers\":[]}";
        CHECK_INT(parse(image, NULL, &m, &err), 0);
        CHECK(m && m->kind == MANIFEST_OCI_MANIFEST && m->media_type_inferred);
        manifest_free(m);
        m = NULL;

        static const char docker_image[] = "{\"schemaVersion\":2,\"config\":{\"mediaType\":"
                                           "\"application/vnd.docker.container.image.v1+json\","
                                           "\"digest\":\"" D5 "\",\"size\":7}}";
        CHECK_INT(parse(docker_image, NULL, &m, &err), 0);
        CHECK(m && m->kind == MANIFEST_DOCKER_V2);
        manifest_free(m);
        m = NULL;

        /* The Content-Type header wins over the shape, parameters and case ignored. */
        CHECK_INT(parse(index, "Application/VND.docker.distribution.manifest.list.v2+json; charset=utf-8",
                        &m, &err),
                  0);
        CHECK(m && m->kind == MANIFEST_DOCKER_LIST);
        manifest_free(m);
        m = NULL;
        /* An unrelated Content-Type falls back to the shape. */
        CHECK_INT(parse(index, "application/json", &m, &err), 0);
        CHECK(m && m->kind == MANIFEST_OCI_INDEX);
        manifest_free(m);
        m = NULL;

        /* The body's own mediaType wins over the header. */
        CHECK_INT(parse(oci_manifest, MANIFEST_MEDIA_TYPE_DOCKER_LIST, &m, &err), 0);
        CHECK(m && m->kind == MANIFEST_OCI_MANIFEST && !m->media_type_inferred);
        manifest_free(m);
        m = NULL;

        /* A header saying index on an image manifest body: the index shape is missing. */
        CHECK_INT(parse(image, MANIFEST_MEDIA_TYPE_OCI_INDEX, &m, &err), -EBADMSG);
        CHECK(!m);
        CHECK(err && strstr(err, "manifests"));

        CHECK_INT(parse("{\"schemaVersion\":2}", NULL, &m, &err), -EBADMSG);
        CHECK(err && strstr(err, "neither an index nor an image manifest"));
}

static void test_schema1(void) {
        _cleanup_(manifest_freep) struct manifest *m = NULL;
        _cleanup_free_ char *err = NULL;
        static const char s1[] = "{\"schemaVersion\":1,\"name\":\"x\",\"tag\":\"1\",\"architecture\":"
                                 "\"amd64\",\"fsLayers\":[],\"history\":[]}";
        CHECK_INT(parse(s1, NULL, &m, &err), -EPROTONOSUPPORT);
        CHECK(err && strstr(err, "schema 1 is not supported"));
        CHECK_INT(parse("{\"mediaType\":\"application/vnd.docker.distribution.manifest.v1+prettyjws\"}",
                        NULL, &m, &err),
                  -EPROTONOSUPPORT);
        CHECK(err && strstr(err, "schema 1"));
        CHECK_INT(parse("{\"fsLayers\":[]}", NULL, &m, &err), -EPROTONOSUPPORT);
        CHECK_INT(parse("{\"name\":\"x\"}", "application/vnd.docker.distribution.manifest.v1+json", &m,
                        &err),
                  -EPROTONOSUPPORT);
        CHECK(err && strstr(err, "schema 1"));
        CHECK(!m);
}

static void test_malformed(void) {
        static const struct {
                const char *json;
                int error;
                const char *message;
        } cases[] = {
                { "", -EBADMSG, "not valid JSON" },
                { "{", -EBADMSG, "not valid JSON" },
                { "[]", -EBADMSG, "not a JSON object" },
                { "\"x\"", -EBADMSG, "not a JSON object" },
                { "{\"schemaVersion\":3,\"manifests\":[]}", -EBADMSG, "schemaVersion" },
                { "{\"schemaVersion\":\"2\",\"manifests\":[]}", -EBADMSG, "schemaVersion" },
                { "{\"mediaType\":7,\"manifests\":[]}", -EBADMSG, "mediaType: not a string" },
                { "{\"mediaType\":\"application/vnd.oci.image.config.v1+json\"}", -EPROTONOSUPPORT,
                  "unsupported manifest media type \"application/vnd.oci.image.config.v1+json\"" },
                { "{\"mediaType\":\"" MANIFEST_MEDIA_TYPE_OCI_INDEX "\",\"manifests\":{}}", -EBADMSG,
                  "\"manifests\" is missing or not an array" },
                { "{\"manifests\":[7]}", -EBADMSG, "manifests[0]: not an object" },
                { "{\"manifests\":[{\"size\":1}]}", -EBADMSG, "manifests[0].digest: missing" },
                { "{\"manifests\":[{\"digest\":\"sha256:abc\",\"size\":1}]}", -EBADMSG,
                  "manifests[0].digest: not a sha256 digest: \"sha256:abc\"" },
                { "{\"manifests\":[{\"digest\":\"" D1 "\"}]}", -EBADMSG, "manifests[0].size" },
                { "{\"manifests\":[{\"digest\":\"" D1 "\",\"size\":-1}]}", -EBADMSG, "size" },
                { "{\"manifests\":[{\"digest\":\"" D1 "\",\"size\":1.5}]}", -EBADMSG, "size" },
                { "{\"manifests\":[{\"digest\":\"" D1 "\",\"size\":\"1\"}]}", -EBADMSG, "size" },
                { "{\"manifests\":[{\"digest\":\"" D1 "\",\"size\":1,\"platform\":\"linux\"}]}", -EBADMSG,
                  "manifests[0].platform: not an object" },
                { "{\"manifests\":[{\"digest\":\"" D1 "\",\"size\":1,\"platform\":{\"os\":\"linux\"}}]}",
                  -EBADMSG, "os and architecture are required" },
                { "{\"manifests\":[{\"digest\":\"" D1
                  "\",\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":5}}]}",
                  -EBADMSG, "manifests[0].platform.architecture: not a string" },
                { "{\"manifests\":[{\"digest\":\"" D1 "\",\"size\":1,\"annotations\":[]}]}", -EBADMSG,
                  "annotations: not an object" },
                { "{\"manifests\":[{\"digest\":\"" D1 "\",\"size\":1,\"annotations\":{\"a\":1}}]}", -EBADMSG,
                  "annotations: values must be strings" },
                { "{\"config\":{\"digest\":\"" D1 "\",\"size\":1},\"layers\":{}}", -EBADMSG,
                  "layers: not an array" },
                { "{\"config\":[],\"layers\":[]}", -EBADMSG, "config: not an object" },
                { "{\"mediaType\":\"" MANIFEST_MEDIA_TYPE_OCI_MANIFEST "\"}", -EBADMSG,
                  "\"config\" is missing" },
                /* A control character in a registry's text never reaches a message. */
                { "{\"manifests\":[{\"digest\":\"sha256:\\u001b[31m\",\"size\":1}]}", -EBADMSG,
                  "\"sha256:\\x1b[31m\"" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct manifest *m = NULL;
                _cleanup_free_ char *err = NULL;
                int r = manifest_parse(cases[i].json, strlen(cases[i].json), NULL, &m, &err);
                check_at(r == cases[i].error && err && strstr(err, cases[i].message), __FILE__, __LINE__,
                         "case %zu %s: got %d \"%s\", expected %d \"%s\"", i, cases[i].json, r,
                         err ? err : "(null)", cases[i].error, cases[i].message);
                CHECK(!m);
                manifest_free(m);
        }
        /* No message is asked for: still the error code, and nothing leaks. */
        struct manifest *m = NULL;
        CHECK_INT(manifest_parse("{", 1, NULL, &m, NULL), -EBADMSG);
        /* Bytes after the document, and NULs inside the buffer, are not a document. */
        CHECK_INT(manifest_parse("{}\0{}", 5, NULL, &m, NULL), -EBADMSG);
}

static char *big_index(size_t entries) {
        size_t cap = 128 + entries * 200;
        char *s = malloc(cap);
        if (!s)
                return NULL;
        size_t n = (size_t) snprintf(s, cap, "{\"mediaType\":\"%s\",\"manifests\":[",
                                     MANIFEST_MEDIA_TYPE_OCI_INDEX);
        for (size_t i = 0; i < entries; i++)
                n += (size_t) snprintf(s + n, cap - n,
                                       "%s{\"digest\":\"%s\",\"size\":%zu,\"platform\":{\"os\":\"linux\","
                                       "\"architecture\":\"a%zu\"}}",
                                       i ? "," : "", D1, i, i);
        snprintf(s + n, cap - n, "]}");
        return s;
}

static void test_limits(void) {
        _cleanup_free_ char *err = NULL;
        struct manifest *m = NULL;
        _cleanup_free_ char *ok = big_index(MANIFEST_MAX_ENTRIES);
        CHECK(ok);
        if (ok) {
                CHECK_INT(manifest_parse(ok, strlen(ok), NULL, &m, &err), 0);
                CHECK(m && m->n_entries == MANIFEST_MAX_ENTRIES);
                manifest_free(m);
                m = NULL;
        }
        _cleanup_free_ char *too_many = big_index(MANIFEST_MAX_ENTRIES + 1);
        CHECK(too_many);
        if (too_many) {
                CHECK_INT(manifest_parse(too_many, strlen(too_many), NULL, &m, &err), -EBADMSG);
                CHECK(err && strstr(err, "more than the limit"));
        }

        /* Over 4 MiB is refused before parsing, whatever it holds. */
        size_t huge_len = MANIFEST_MAX_SIZE + 1;
        _cleanup_free_ char *huge = malloc(huge_len);
        CHECK(huge);
        if (huge) {
                memset(huge, ' ', huge_len);
                huge[0] = '{';
                huge[huge_len - 1] = '}';
                CHECK_INT(manifest_parse(huge, huge_len, NULL, &m, &err), -EFBIG);
                CHECK(err && strstr(err, "larger than the limit"));
                /* Exactly the limit is parsed (and found to be an empty object). */
                CHECK_INT(manifest_parse(huge + 1, huge_len - 1, NULL, &m, &err), -EBADMSG);
                CHECK(err && strstr(err, "not valid JSON"));
                huge[huge_len - 2] = '}';
                CHECK_INT(manifest_parse(huge, huge_len - 1, NULL, &m, &err), -EBADMSG);
                CHECK(err && strstr(err, "neither an index"));
                struct manifest_image_config *c = NULL;
                CHECK_INT(manifest_image_config_parse(huge, huge_len, &c, &err), -EFBIG);
                CHECK(!c);
        }

        /* Deep nesting is cJSON's to refuse, without a crash. */
        size_t depth = 100000;
        _cleanup_free_ char *deep = malloc(2 * depth + 1);
        CHECK(deep);
        if (deep) {
                memset(deep, '[', depth);
                memset(deep + depth, ']', depth);
                CHECK_INT(manifest_parse(deep, 2 * depth, NULL, &m, &err), -EBADMSG);
        }
        CHECK(!m);
}

static void test_platform_table(void) {
        static const struct {
                const char *want, *have;
                bool match;
        } cases[] = {
                { "linux/amd64", "linux/amd64", true },
                { "linux/amd64", "linux/x86_64", true },
                { "linux/amd64", "linux/amd64/v1", true },
                { "linux/amd64", "linux/amd64/v2", true },
                { "linux/amd64", "linux/amd64/v3", true },
                { "linux/amd64", "linux/amd64/v4", true },
                { "linux/amd64", "linux/amd64/v9", false },
                { "linux/amd64/v2", "linux/amd64", true },
                { "linux/amd64/v2", "linux/amd64/v3", false },
                { "linux/amd64/v3", "linux/amd64/v2", true },
                { "linux/amd64", "linux/386", false },
                { "linux/amd64", "linux/arm64", false },
                { "linux/amd64", "windows/amd64", false },
                { "linux/amd64", "darwin/amd64", false },
                { "linux/arm64", "linux/arm64", true },
                { "linux/arm64", "linux/arm64/v8", true },
                { "linux/arm64", "linux/aarch64", true },
                { "linux/arm64/v8", "linux/arm64", true },
                { "linux/arm64", "linux/arm64/v9", false },
                { "linux/arm64/v9", "linux/arm64", true },
                { "linux/arm64", "linux/arm/v7", false },
                { "linux/arm", "linux/arm/v7", true },
                { "linux/arm/v7", "linux/arm", true },
                { "linux/arm/v7", "linux/armhf", true },
                { "linux/arm/v7", "linux/arm/v6", true },
                { "linux/arm/v7", "linux/arm/v5", true },
                { "linux/arm/v7", "linux/arm/v8", false },
                { "linux/arm/v6", "linux/arm/v7", false },
                { "linux/arm/v6", "linux/armel", true },
                { "linux/386", "linux/i386", true },
                { "linux/riscv64", "linux/riscv64", true },
                { "linux/riscv64", "linux/riscv64/rva22", false },
                { "linux/ppc64le", "linux/ppc64le", true },
                { "LINUX/AMD64", "linux/amd64", true },
                { "unknown/unknown", "linux/amd64", false },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct manifest_platform want = {}, have = {};
                CHECK_INT(manifest_platform_parse(cases[i].want, &want), 0);
                CHECK_INT(manifest_platform_parse(cases[i].have, &have), 0);
                bool got = manifest_platform_match(&want, &have) > 0;
                check_at(got == cases[i].match, __FILE__, __LINE__, "want %s, have %s: match %d, expected %d",
                         cases[i].want, cases[i].have, got, cases[i].match);
                manifest_platform_done(&want);
                manifest_platform_done(&have);
        }

        /* Best match: the exact variant beats a compatible one, whatever the order. */
        static const char amd64_levels[] = "{\"manifests\":["
                ENTRY(MANIFEST_MEDIA_TYPE_OCI_MANIFEST, D1, "linux", "amd64", ",\"variant\":\"v3\"") ","
                ENTRY(MANIFEST_MEDIA_TYPE_OCI_MANIFEST, D2, "linux", "amd64", ",\"variant\":\"v2\"") ","
                ENTRY(MANIFEST_MEDIA_TYPE_OCI_MANIFEST, D3, "linux", "amd64", "") "]}";
        _cleanup_(manifest_freep) struct manifest *m = NULL;
        CHECK_INT(manifest_parse(amd64_levels, strlen(amd64_levels), NULL, &m, NULL), 0);
        if (!m)
                return;
        static const struct {
                const char *want, *digest;
        } best[] = {
                { "linux/amd64", D3 },
                { "linux/amd64/v2", D2 },
                { "linux/amd64/v3", D1 },
                { "linux/amd64/v4", D1 },
        };
        for (size_t i = 0; i < ELEMENTSOF(best); i++) {
                struct manifest_platform want = {};
                CHECK_INT(manifest_platform_parse(best[i].want, &want), 0);
                const struct manifest_descriptor *d = manifest_select(m, &want);
                CHECK_STR(d ? d->digest : NULL, best[i].digest);
                manifest_platform_done(&want);
        }
        /* Without a plain amd64 entry, a plain amd64 request takes the oldest level offered. */
        m->entries[2].has_platform = false;
        struct manifest_platform want = {};
        CHECK_INT(manifest_platform_parse("linux/amd64", &want), 0);
        const struct manifest_descriptor *d = manifest_select(m, &want);
        CHECK_STR(d ? d->digest : NULL, D2);
        manifest_platform_done(&want);
        _cleanup_strv_free_ char **platforms = NULL;
        CHECK_INT(manifest_platforms(m, &platforms), 0);
        CHECK_INT(util_strv_length(platforms), 2);
        if (util_strv_length(platforms) == 2) {
                CHECK_STR(platforms[0], "linux/amd64/v2");
                CHECK_STR(platforms[1], "linux/amd64/v3");
        }
}

static void test_platform_strings(void) {
        static const char *const invalid[] = {
                "", "linux", "linux/", "/amd64", "linux//v7", "linux/arm/v7/x", "linux/am d64",
                "linux/arm/", "linux/amd64\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(invalid); i++) {
                struct manifest_platform p = {};
                int r = manifest_platform_parse(invalid[i], &p);
                if (!check_at(r == -EINVAL, __FILE__, __LINE__, "\"%s\" parsed (%d)", invalid[i], r))
                        manifest_platform_done(&p);
        }
        struct manifest_platform p = {};
        CHECK_INT(manifest_platform_parse("Linux/ARM/v7", &p), 0);
        CHECK_STR(p.os, "linux");
        CHECK_STR(p.architecture, "arm");
        CHECK_STR(p.variant, "v7");
        _cleanup_free_ char *f = manifest_platform_format(&p);
        CHECK_STR(f, "linux/arm/v7");
        manifest_platform_done(&p);
        CHECK(!p.os);

        static const struct {
                const char *in, *out;
        } norm[] = {
                { "linux/arm64/v8", "linux/arm64" },
                { "linux/aarch64", "linux/arm64" },
                { "linux/arm", "linux/arm/v7" },
                { "linux/x86_64", "linux/amd64" },
                { "linux/amd64/v1", "linux/amd64" },
                { "linux/amd64/v3", "linux/amd64/v3" },
                { "linux/i386", "linux/386" },
                { "macos/arm64", "darwin/arm64" },
        };
        for (size_t i = 0; i < ELEMENTSOF(norm); i++) {
                CHECK_INT(manifest_platform_parse(norm[i].in, &p), 0);
                _cleanup_free_ char *s = manifest_platform_normalized(&p);
                CHECK_STR(s, norm[i].out);
                manifest_platform_done(&p);
        }
}

static void test_kinds(void) {
        enum manifest_kind k = MANIFEST_OCI_MANIFEST;
        CHECK_INT(manifest_kind_from_media_type(MANIFEST_MEDIA_TYPE_DOCKER_LIST, &k), 0);
        CHECK_INT(k, MANIFEST_DOCKER_LIST);
        CHECK_INT(manifest_kind_from_media_type(" " MANIFEST_MEDIA_TYPE_OCI_INDEX " ;x=y", &k), 0);
        CHECK_INT(k, MANIFEST_OCI_INDEX);
        CHECK_INT(manifest_kind_from_media_type(MANIFEST_MEDIA_TYPE_OCI_INDEX "x", &k), -EPROTONOSUPPORT);
        CHECK_INT(manifest_kind_from_media_type(NULL, &k), -EPROTONOSUPPORT);
        CHECK_INT(manifest_kind_from_media_type("application/json", &k), -EPROTONOSUPPORT);
        CHECK_INT(k, MANIFEST_OCI_INDEX);
        CHECK(strstr(MANIFEST_ACCEPT_HEADER, MANIFEST_MEDIA_TYPE_OCI_INDEX));
        CHECK(strstr(MANIFEST_ACCEPT_HEADER, MANIFEST_MEDIA_TYPE_DOCKER_V2));
        CHECK(strstr(MANIFEST_ACCEPT_HEADER, MANIFEST_MEDIA_TYPE_DOCKER_LIST));
        CHECK(strstr(MANIFEST_ACCEPT_HEADER, MANIFEST_MEDIA_TYPE_OCI_MANIFEST));
}

static void test_image_config(void) {
        static const char config[] =
                "{\"architecture\":\"arm64\",\"variant\":\"v8\",\"os\":\"linux\","
                "\"config\":{\"Env\":[\"PATH=/bin\"],\"Labels\":{"
                "\"org.opencontainers.image.title\":\"Disk usage\","
                "\"com.docker.desktop.extension.api.version\":\">= 0.3.4\"}},"
                "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
        _cleanup_(manifest_image_config_freep) struct manifest_image_config *c = NULL;
        _cleanup_free_ char *err = NULL;
        CHECK_INT(manifest_image_config_parse(config, strlen(config), &c, &err), 0);
        if (c) {
                CHECK_STR(c->platform.os, "linux");
                CHECK_STR(c->platform.architecture, "arm64");
                CHECK_STR(c->platform.variant, "v8");
                CHECK(cJSON_IsObject(c->labels));
                const cJSON *t = cJSON_GetObjectItemCaseSensitive(c->labels,
                                                                  "org.opencontainers.image.title");
                CHECK(cJSON_IsString(t) && streq(t->valuestring, "Disk usage"));
                CHECK_INT(cJSON_GetArraySize(c->labels), 2);
                struct manifest_platform want = {};
                CHECK_INT(manifest_platform_parse("linux/arm64", &want), 0);
                CHECK(manifest_platform_match(&want, &c->platform) > 0);
                manifest_platform_done(&want);
        }
        manifest_image_config_free(c);
        c = NULL;

        /* No labels at all, and Labels null: both fine, labels NULL; missing os/arch are "". */
        CHECK_INT(manifest_image_config_parse("{\"config\":{}}", 13, &c, &err), 0);
        CHECK(c && !c->labels && c->platform.os && !*c->platform.os && c->platform.architecture);
        manifest_image_config_free(c);
        c = NULL;
        static const char null_labels[] = "{\"os\":\"linux\",\"architecture\":\"amd64\",\"config\":{\"Labels\":null}}";
        CHECK_INT(manifest_image_config_parse(null_labels, strlen(null_labels), &c, &err), 0);
        CHECK(c && !c->labels);
        manifest_image_config_free(c);
        c = NULL;

        static const struct {
                const char *json, *message;
        } bad[] = {
                { "[]", "not a JSON object" },
                { "{\"os\":", "not valid JSON" },
                { "{\"os\":1}", "os: not a string" },
                { "{\"config\":\"x\"}", "config: not an object" },
                { "{\"config\":{\"Labels\":[]}}", "config.Labels: not an object" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                CHECK_INT(manifest_image_config_parse(bad[i].json, strlen(bad[i].json), &c, &err), -EBADMSG);
                CHECK(err && strstr(err, bad[i].message));
                CHECK(!c);
        }
}

static void test_digests(void) {
        CHECK(manifest_digest_valid(D1));
        CHECK(manifest_digest_valid("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
        CHECK(!manifest_digest_valid(NULL));
        CHECK(!manifest_digest_valid(""));
        CHECK(!manifest_digest_valid("sha256:"));
        CHECK(!manifest_digest_valid("sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
        CHECK(!manifest_digest_valid("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"));
        CHECK(!manifest_digest_valid("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0"));
        CHECK(!manifest_digest_valid("sha512:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
        CHECK(!manifest_digest_valid("SHA256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
        CHECK_INT(strlen(D1), MANIFEST_DIGEST_LEN);

        /* The sha256 of "abc" (FIPS 180-2 test vector). */
        static const char abc[] = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        CHECK_INT(manifest_digest_verify("abc", 3, abc), 0);
        CHECK_INT(manifest_digest_verify("abd", 3, abc), -EBADMSG);
        CHECK_INT(manifest_digest_verify("abc", 2, abc), -EBADMSG);
        CHECK_INT(manifest_digest_verify("abc", 3, "sha256:abc"), -EINVAL);
        CHECK_INT(manifest_digest_verify("", 0,
                                         "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
                  0);
}

int main(void) {
        test_index_oci();
        test_docker_list();
        test_image_manifests();
        test_missing_media_type();
        test_schema1();
        test_malformed();
        test_limits();
        test_platform_table();
        test_platform_strings();
        test_kinds();
        test_image_config();
        test_digests();
        return check_summary("test-manifest");
}
