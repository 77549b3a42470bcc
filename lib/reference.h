/* Docker image references ("ubuntu:22.04", "ghcr.io/org/x@sha256:…") parsed and normalized as the docker CLI does. */
#pragma once

#include <stdbool.h>

/* Docker Hub's canonical registry name, as it appears in normalized references. */
#define REFERENCE_DEFAULT_DOMAIN "docker.io"
/* The longest repository path (without the domain) a registry accepts. */
#define REFERENCE_PATH_MAX 255
/* The longest tag: one word character followed by up to 127 of [A-Za-z0-9_.-]. */
#define REFERENCE_TAG_MAX 128

/* A normalized reference: "ubuntu:22.04" is {"docker.io", "library/ubuntu", "22.04", NULL}.
 * Every field is owned; tag and digest are NULL when absent. */
struct reference {
        char *domain; /* "docker.io", "ghcr.io", "127.0.0.1:5000", "[::1]:5000" */
        char *path;   /* "library/ubuntu", "docker/disk-usage-extension" */
        char *tag;
        char *digest; /* "sha256:<64 lowercase hex>" */
};

/* Parses s like docker's ParseNormalizedNamed: a first component is a registry host when it
 * contains '.' or ':', is "localhost", or has upper-case letters; otherwise the registry is
 * docker.io, and a single docker.io component gets "library/". "index.docker.io" becomes
 * "docker.io". A tag and a digest may both be present.
 * Returns 0, -EINVAL with *ret_error set to a static message (docker's wording: "invalid reference
 * format", "repository name must be lowercase", "invalid checksum digest length", …), or -ENOMEM.
 * ret_error may be NULL. One divergence from docker: a host that is not a valid host name
 * ("foo_bar.com/x") is an error here, where docker would yield a reference without a domain. */
int reference_parse(const char *s, struct reference *ret, const char **ret_error);

/* As reference_parse, but a reference carrying a digest fails with -EOPNOTSUPP and the message
 * REFERENCE_DIGEST_NOT_ALLOWED, for the places that need a tag (the allow-list, pins). */
int reference_parse_no_digest(const char *s, struct reference *ret, const char **ret_error);
#define REFERENCE_DIGEST_NOT_ALLOWED "digest references are not allowed, use a tag (NAME:TAG) instead"

/* Parses a bare repository name in any spelling ("ubuntu", "docker.io/library/ubuntu",
 * "docker/disk-usage-extension", "ghcr.io/org/x"): no tag and no digest allowed (-EINVAL,
 * "a repository name takes no tag or digest"). For names received from API clients. */
int reference_parse_repository(const char *s, struct reference *ret, const char **ret_error);

/* Frees the fields and leaves the struct zeroed; safe on a zeroed or already-done struct. */
void reference_done(struct reference *ref);

/* "docker.io/library/ubuntu": domain and path. Allocated; NULL on allocation failure. */
char *reference_canonical_name(const struct reference *ref);
/* Docker's familiar name: "ubuntu", "docker/disk-usage-extension", "ghcr.io/org/x",
 * "127.0.0.1:5000/ns/x" ("library/" is dropped only when one component follows it, as docker
 * does). Unlike docker, it always parses back to the same repository: "docker.io/" stays where
 * the first path component would read as a host ("docker.io/foo.com/bar"), and "library/" stays
 * before a 64-hex name. Allocated; NULL on allocation failure. */
char *reference_familiar_name(const struct reference *ref);
/* The familiar name with ":TAG" and "@DIGEST" when present, for messages. Allocated. */
char *reference_familiar_string(const struct reference *ref);

/* Normalizes a repository name to its familiar form ("docker.io/library/ubuntu" → "ubuntu").
 * Same errors as reference_parse_repository. */
int reference_normalize_repository(const char *s, char **ret, const char **ret_error);

/* Whether s is a valid tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}. */
bool reference_is_valid_tag(const char *s);

/* Validates a digest as docker does (go-digest): "sha256:" + 64, "sha384:" + 96 or "sha512:" +
 * 128 lowercase hex digits. Returns 0 or -EINVAL with a static message ("invalid checksum digest
 * format", "invalid checksum digest length", "unsupported digest algorithm"). */
int reference_validate_digest(const char *s, const char **ret_error);
