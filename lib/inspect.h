/* One version of an extension image, manifest → platform → config (never layers): the walk the scanner and validate share. */
#pragma once

#include <stdbool.h>

#include "manifest.h"
#include "registry.h"
#include "store.h"

struct inspect_options {
        const struct manifest_platform *platform; /* the platform wanted (required) */
        /* Manifests and configs by digest, read before asking the registry and written after
         * (content-addressed and verified, so never stale). NULL: no cache. */
        struct store *cache;
        /* The tag's manifest digest when already known. NULL: one GET by tag fetches the manifest
         * and its digest at once (verified against Docker-Content-Digest and its own sha256). */
        const char *digest;
        bool recheck;       /* with digest: confirm it with a HEAD by tag first (not a counted pull) */
        /* An index without the wanted platform: read the labels from the config of the first
         * platform it does provide (provides_platform stays false). */
        bool labels_anyway;
};

struct inspect_result {
        /* 0, or why this version could not be read. inspect_error_is_version() tells a broken
         * version (a missing manifest or blob, a digest mismatch, schema 1, an unsupported media
         * type, an oversized body, a nested index) from a failure of the registry or the
         * repository (transport, authentication, rate limit, cancellation). */
        int error;
        char *message;          /* with error: what failed, naming the repository, tag or digest */
        char *reason;           /* with a version error: the same without the repository, for a verdict */

        char *digest;           /* of the tag's manifest (an index or an image), when known */
        enum manifest_kind kind;
        char **platforms;       /* provided: of an index, or the single image's config; NULL-terminated */
        bool provides_platform; /* the wanted platform is among them */
        char *image_digest;     /* the image manifest read (== digest for a single image), or NULL */
        char *config_digest;    /* of the config read, or NULL */
        char *config_platform;  /* that config's normalized platform, or NULL */
        struct manifest_image_config *config; /* labels and platform, or NULL when none was read */
};

/* Called once with the result; it and its fields belong to the inspector (take them with
 * TAKE_PTR to keep them). */
typedef void (*inspect_fn)(struct inspect_result *result, void *userdata);

/* Inspects REPOSITORY:tag. Steps that the cache answers take no request and no trip through the
 * loop, and the walk never recurses: a caller can inspect thousands of cached versions in a loop.
 * Returns 1 when it finished at once (*ret filled, cb never called; free with
 * inspect_result_done), 0 when cb will run from the loop, or -EINVAL/-ENOMEM. */
int inspect_version(struct registry_client *rc, const char *domain, const char *path, const char *tag,
                    const struct inspect_options *opts, inspect_fn cb, void *userdata, struct inspect_result *ret);

void inspect_result_done(struct inspect_result *r);

/* Whether an error of inspect_result is this version's fault rather than the repository's. */
bool inspect_error_is_version(int error);
