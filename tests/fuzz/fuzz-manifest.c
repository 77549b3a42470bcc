/* Fuzz target: manifest, index and image config parsing, then every query on what was parsed. */
#include <stdint.h>

#include "manifest.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *const content_types[] = {
                NULL, MANIFEST_MEDIA_TYPE_DOCKER_LIST, MANIFEST_MEDIA_TYPE_DOCKER_V2,
                "application/vnd.docker.distribution.manifest.v1+prettyjws",
        };
        static const char *const wanted[] = { "linux/amd64", "linux/arm64", "linux/arm", "windows/amd64/v3" };

        /* The first byte picks the Content-Type, so every inference path gets explored. */
        const char *content_type = size > 0 ? content_types[data[0] % ELEMENTSOF(content_types)] : NULL;

        struct manifest *m = NULL;
        char *err = NULL;
        if (manifest_parse(data, size, content_type, &m, &err) >= 0) {
                for (size_t i = 0; i < ELEMENTSOF(wanted); i++) {
                        struct manifest_platform want = {};
                        if (manifest_platform_parse(wanted[i], &want) < 0)
                                __builtin_trap();
                        const struct manifest_descriptor *d = manifest_select(m, &want);
                        if (d && (d->attestation || !manifest_digest_valid(d->digest)))
                                __builtin_trap();
                        manifest_platform_done(&want);
                }
                char **platforms = NULL;
                if (manifest_platforms(m, &platforms) >= 0)
                        util_strv_free(platforms);
                for (size_t i = 0; i < m->n_entries; i++)
                        if (m->entries[i].has_platform) {
                                char *s = manifest_platform_format(&m->entries[i].platform);
                                free(s);
                        }
        }
        manifest_free(m);
        free(err);

        struct manifest_image_config *c = NULL;
        err = NULL;
        if (manifest_image_config_parse(data, size, &c, &err) >= 0) {
                struct manifest_platform want = { .os = (char *) "linux", .architecture = (char *) "arm64" };
                (void) manifest_platform_match(&want, &c->platform);
                char *s = manifest_platform_normalized(&c->platform);
                free(s);
        }
        manifest_image_config_free(c);
        free(err);

        /* Arbitrary text as a platform string. */
        char *s = strndup((const char *) data, size < 256 ? size : 256);
        if (s) {
                struct manifest_platform p = {};
                if (manifest_platform_parse(s, &p) >= 0) {
                        char *n = manifest_platform_normalized(&p);
                        free(n);
                        manifest_platform_done(&p);
                }
                (void) manifest_digest_valid(s);
                free(s);
        }
        return 0;
}
