/* OCI and Docker image manifests, indexes and config blobs: parsing, platform choice, digests. */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MANIFEST_MEDIA_TYPE_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MANIFEST_MEDIA_TYPE_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MANIFEST_MEDIA_TYPE_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MANIFEST_MEDIA_TYPE_DOCKER_V2 "application/vnd.docker.distribution.manifest.v2+json"

/* The Accept header for manifest requests: every media type manifest_parse understands. */
#define MANIFEST_ACCEPT_HEADER                                                                     \
        "Accept: " MANIFEST_MEDIA_TYPE_OCI_INDEX ", " MANIFEST_MEDIA_TYPE_OCI_MANIFEST             \
        ", " MANIFEST_MEDIA_TYPE_DOCKER_LIST ", " MANIFEST_MEDIA_TYPE_DOCKER_V2

/* What an untrusted registry can make us hold. */
#define MANIFEST_MAX_SIZE (4u << 20)     /* manifests, indexes and config blobs */
#define MANIFEST_MAX_ENTRIES 4096u       /* entries of an index */
#define MANIFEST_MAX_LAYERS 4096u        /* layers of an image manifest (counted, not kept) */

/* Length of a "sha256:<64 hex>" digest string, without the NUL. */
#define MANIFEST_DIGEST_LEN 71

enum manifest_kind {
        MANIFEST_OCI_INDEX,
        MANIFEST_OCI_MANIFEST,
        MANIFEST_DOCKER_LIST,
        MANIFEST_DOCKER_V2,
};

struct manifest_platform {
        char *os;
        char *architecture;
        char *variant;    /* NULL when absent */
        char *os_version; /* NULL when absent */
};

/* A content descriptor: an index entry or an image manifest's config. */
struct manifest_descriptor {
        char *media_type; /* NULL when the entry does not say */
        char *digest;     /* always a valid "sha256:…" digest */
        int64_t size;
        bool has_platform;
        struct manifest_platform platform; /* index entries only, when has_platform */
        cJSON *annotations;                /* an object of strings, or NULL */
        bool attestation;                  /* a BuildKit attestation or unknown/unknown entry */
};

struct manifest {
        enum manifest_kind kind;
        const char *media_type;            /* the MANIFEST_MEDIA_TYPE_… of kind */
        bool media_type_inferred;          /* the document had no mediaType field */
        /* Indexes (MANIFEST_OCI_INDEX, MANIFEST_DOCKER_LIST): */
        struct manifest_descriptor *entries;
        size_t n_entries;
        /* Image manifests (MANIFEST_OCI_MANIFEST, MANIFEST_DOCKER_V2): */
        struct manifest_descriptor config;
        size_t n_layers;
};

/* An image config blob, reduced to what a scan needs. */
struct manifest_image_config {
        struct manifest_platform platform; /* os and architecture are "" when the blob omits them */
        cJSON *labels;                     /* the config.Labels object (detached, owned), or NULL */
};

/* Parses a manifest or index of len bytes. content_type is the response's Content-Type (or NULL);
 * it decides the kind only when the document has no mediaType field, after which the document's
 * shape (manifests / config) does. Schema 1 manifests and unknown media types are refused.
 * Returns 0, -EBADMSG (malformed; *ret_error says why), -EFBIG, -EPROTONOSUPPORT (schema 1 or an
 * unsupported media type; *ret_error says which) or -ENOMEM. ret_error may be NULL. */
int manifest_parse(const void *data, size_t len, const char *content_type, struct manifest **ret,
                   char **ret_error);
void manifest_free(struct manifest *m);
static inline void manifest_freep(struct manifest **m) {
        manifest_free(*m);
}

static inline bool manifest_kind_is_index(enum manifest_kind k) {
        return k == MANIFEST_OCI_INDEX || k == MANIFEST_DOCKER_LIST;
}
static inline bool manifest_is_index(const struct manifest *m) {
        return manifest_kind_is_index(m->kind);
}

/* Maps a media type (parameters and case ignored) to a kind; -EPROTONOSUPPORT if it is none. */
int manifest_kind_from_media_type(const char *media_type, enum manifest_kind *ret);

/* Parses "os/arch[/variant]" (each part non-empty, lowercase letters, digits, '.', '_', '-').
 * Returns 0 or -EINVAL/-ENOMEM. */
int manifest_platform_parse(const char *s, struct manifest_platform *ret);
void manifest_platform_done(struct manifest_platform *p);
/* "os/arch[/variant]" as written (no normalization), or NULL on allocation failure. */
char *manifest_platform_format(const struct manifest_platform *p);

/* How well a platform an image offers serves the wanted one, as containerd and docker choose:
 * os and (normalized) architecture must be equal; arm64 ≡ arm64/v8; arm without a variant is
 * arm/v7; i386 ≡ 386, x86_64 ≡ amd64, aarch64 ≡ arm64. A wanted variant accepts older compatible
 * variants (arm/v7 runs v6 and v5, amd64/v3 runs v2 and v1); a wanted amd64 without a variant
 * accepts every amd64 variant. Returns 0 for no match, else a rank: higher is better. */
unsigned manifest_platform_match(const struct manifest_platform *want,
                                 const struct manifest_platform *have);

/* The index entry best serving want (attestation entries never count; ties go to the first),
 * or NULL when none does. For an image manifest returns NULL: check its config's platform. */
const struct manifest_descriptor *manifest_select(const struct manifest *m,
                                                  const struct manifest_platform *want);

/* The platforms an index provides, as normalized "os/arch[/variant]" strings, unique, sorted,
 * attestation entries excluded; an empty list for an image manifest. Returns 0 or -ENOMEM. */
int manifest_platforms(const struct manifest *m, char ***ret);
/* One platform in the same normalized form as manifest_platforms ("linux/arm64", "linux/arm/v7"). */
char *manifest_platform_normalized(const struct manifest_platform *p);

/* Parses an image config blob (the "config" of an image manifest). Returns 0, -EBADMSG
 * (*ret_error says why), -EFBIG or -ENOMEM. ret_error may be NULL. */
int manifest_image_config_parse(const void *data, size_t len, struct manifest_image_config **ret,
                                char **ret_error);
void manifest_image_config_free(struct manifest_image_config *c);
static inline void manifest_image_config_freep(struct manifest_image_config **c) {
        manifest_image_config_free(*c);
}

/* True for "sha256:" followed by exactly 64 lowercase hex digits. */
bool manifest_digest_valid(const char *digest);
/* 0 when the sha256 of data equals digest, -EBADMSG when it does not, -EINVAL when digest is not
 * a valid sha256 digest. */
int manifest_digest_verify(const void *data, size_t len, const char *digest);
