/* Registry client on the loop: tags, manifests, platforms and config blobs (never layers), with batched tokens. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "manifest.h"

struct config;
struct http_options;
struct registry_client;

/* Limits on what a registry can make us do or hold. */
#define REGISTRY_TAGS_PAGE_SIZE 1000u       /* the n= asked for; servers may send fewer */
#define REGISTRY_MAX_TAG_PAGES 100u
#define REGISTRY_MAX_TAGS 100000u
#define REGISTRY_MAX_TAGS_PAGE_BYTES (4u << 20)
#define REGISTRY_TOKEN_MAX_SCOPES 50u       /* repositories per token request */
#define REGISTRY_TOKEN_MAX_SCOPE_BYTES 4000u /* their total length, for the URL */
#define REGISTRY_DEFAULT_RATELIMIT_RESERVE 5u

struct registry_options {
        /* Endpoints: config->registries (url, insecure, ca_file), via config_registry_endpoint. NULL: the
         * defaults (https://registry-1.docker.io for docker.io, https://HOST for others; plain
         * HTTP only for loopback hosts). Not copied: must outlive the client. */
        const struct config *config;
        /* HTTP tuning; NULL = defaults, with max_connections from config (else 8). */
        const struct http_options *http;
        /* Where docker's config.json is (NULL = $DOCKER_CONFIG, else ~/.docker). */
        const char *docker_config_dir;
        bool anonymous; /* never look credentials up */
        /* Counted pulls (manifest GETs) are refused on a registry that reported
         * ratelimit-remaining at or below this; 0 = REGISTRY_DEFAULT_RATELIMIT_RESERVE. */
        unsigned ratelimit_reserve;
};

/* One client serves a whole scan: one HTTP client (connection reuse, max_connections), one
 * token cache, one /v2/ ping per registry host (its challenge kept for the client's lifetime,
 * a failed ping fails that host's requests for the client's lifetime), credentials looked up
 * once per host and only when the registry asks for authentication. Returns 0, -ENOMEM, or
 * the HTTP client's error. A docker config.json that cannot be used is not fatal: the client
 * goes anonymous and registry_client_credentials_note() says why. */
int registry_client_new(uv_loop_t *loop, const struct registry_options *opts, struct registry_client **ret);
/* Cancels everything in flight: every pending callback runs with -ECANCELED from inside this
 * call. The loop must run once more afterwards to close handles. Never call it from inside one of
 * the client's callbacks. Accepts NULL. */
void registry_client_free(struct registry_client *rc);

/* Cancels every operation submitted so far: their callbacks run with -ECANCELED from the loop,
 * soon after this call and never inside it, and their requests are aborted. Operations submitted
 * after the cancellation ran proceed normally: the client stays usable. Safe to call from any of
 * the client's callbacks. Accepts NULL. */
void registry_client_cancel_all(struct registry_client *rc);

/* Declares a repository the scan will touch (domain as in references: "docker.io",
 * "127.0.0.1:5000"; path "library/ubuntu"). When a token is needed for any repository of a
 * host, ONE token request asks for every declared repository of that host not yet covered
 * (up to REGISTRY_TOKEN_MAX_SCOPES / _SCOPE_BYTES per request); requests waiting for a token
 * share that fetch. Every operation declares its own repository too, so operations submitted
 * together batch even without this. Returns 0, -EINVAL or -ENOMEM. */
int registry_client_add_scope(struct registry_client *rc, const char *domain, const char *path);

/* Errors, in every callback (error_message always names the repository and what failed, e.g.
 * "127.0.0.1:5000/ns/x: tags: HTTP 404 NAME_UNKNOWN repository name not known to registry"):
 *   -ENOENT           HTTP 404: repository, tag, manifest or blob unknown
 *   -EACCES           HTTP 401/403, or the token issuer denied pull access
 *   -EDQUOT           pull rate limit: HTTP 429, or remaining pulls at the reserve
 *   -EBADMSG          malformed response, or content not matching its digest
 *   -EPROTONOSUPPORT  schema 1 manifest, unsupported media type
 *   -EPERM            refused: plain HTTP endpoint not allowed, a Link to another host or
 *                     scheme, a token realm downgrading to HTTP
 *   -E2BIG            more than REGISTRY_MAX_TAG_PAGES pages or REGISTRY_MAX_TAGS tags
 *   -ELOOP            the tag pages link back to a page already fetched
 *   -EPROTO           another HTTP status
 *   -EKEYREJECTED     the registry's TLS certificate could not be verified (never retried over
 *                     plain HTTP; "ca_file" in its configuration trusts a private CA)
 *   -ETIMEDOUT, -ECONNREFUSED, -EFBIG, ...  transport errors from lib/http (after its retries)
 *   -ECANCELED        the client was freed
 * Results are NULL on error. A result's pointer fields are owned by the client and freed after
 * the callback returns; the callback may take any of them (TAKE_PTR) to keep it.
 *
 * Every operation returns 0 when cb will run (exactly once, from the loop, never from inside the
 * call), or -EINVAL/-ENOMEM/-ECANCELED without calling it. */

struct registry_tags {
        char **tags;    /* NULL-terminated, in the registry's order; invalid tag names dropped */
        size_t n_tags;
        unsigned pages;
};
typedef void (*registry_tags_fn)(int error, const char *error_message, struct registry_tags *result,
                                 void *userdata);
/* GET /v2/PATH/tags/list?n=REGISTRY_TAGS_PAGE_SIZE, following Link: <…>; rel="next" (relative
 * or absolute, same scheme and host only) to the end. */
int registry_list_tags(struct registry_client *rc, const char *domain, const char *path, registry_tags_fn cb,
                       void *userdata);

struct registry_manifest_info {
        char *digest;     /* "sha256:…" */
        char *media_type; /* the Content-Type (parameters stripped), or NULL */
        int64_t size;     /* bytes, or -1 when not reported */
        bool counted;     /* the registry sent no digest on HEAD, so a GET (a counted pull) was made */
};
typedef void (*registry_head_fn)(int error, const char *error_message, struct registry_manifest_info *result,
                                 void *userdata);
/* HEAD /v2/PATH/manifests/REFERENCE (a tag or a digest), which Docker Hub does not count as a
 * pull: the manifest's digest from Docker-Content-Digest. A registry that omits the header gets
 * a GET instead, and the digest of the body. */
int registry_head_manifest(struct registry_client *rc, const char *domain, const char *path,
                           const char *reference, registry_head_fn cb, void *userdata);

struct registry_manifest {
        char *digest;              /* sha256 of the body, verified (see registry_get_manifest) */
        struct manifest *manifest; /* parsed */
        char *body;                /* the raw bytes, NUL-terminated */
        size_t body_len;
};
typedef void (*registry_manifest_fn)(int error, const char *error_message, struct registry_manifest *result,
                                     void *userdata);
/* GET /v2/PATH/manifests/REFERENCE with an Accept header naming the four media types; a counted
 * pull on Docker Hub. The body must hash to REFERENCE when it is a digest, else to the
 * Docker-Content-Digest header when the registry sends one (-EBADMSG otherwise). */
int registry_get_manifest(struct registry_client *rc, const char *domain, const char *path,
                          const char *reference, registry_manifest_fn cb, void *userdata);

struct registry_config {
        char *digest;                         /* the blob's digest, verified */
        struct manifest_image_config *config; /* parsed */
};
typedef void (*registry_config_fn)(int error, const char *error_message, struct registry_config *result,
                                   void *userdata);
/* GET /v2/PATH/blobs/DIGEST of an image config, following redirects (the registry's
 * Authorization never goes to another host), verified against DIGEST, parsed. */
int registry_get_config(struct registry_client *rc, const char *domain, const char *path, const char *digest,
                        registry_config_fn cb, void *userdata);

/* Bounds every later operation on one repository in time (all its requests and retries): each
 * request's attempts are cut at deadline, a time on the loop's uv_now() clock, and no retry starts
 * that could not end before it (lib/http). Operations waiting for something shared (the host's
 * /v2/ ping, credentials, a token) are not cut: registry_client_cancel ends them. 0 removes the
 * deadline. Returns 0, -EINVAL or -ENOMEM. */
int registry_client_set_deadline(struct registry_client *rc, const char *domain, const char *path,
                                 uint64_t deadline);

/* Cancels every operation in flight on one repository (domain and path), or on all of them (both
 * NULL): their callbacks run with error (negative) from the loop, never from inside this call, with
 * a message naming what each was waiting for ("REPO: tags: no complete answer yet to GET URL",
 * "…: waiting for a token from REALM"); their HTTP requests end at once. Returns how many
 * operations were cancelled (0: none was pending), -EINVAL or -ENOMEM. */
int registry_client_cancel(struct registry_client *rc, const char *domain, const char *path, int error);

/* The last ratelimit-limit / ratelimit-remaining ("N;w=SECONDS") a registry host sent. */
struct registry_ratelimit {
        long limit;     /* -1 when not sent */
        long remaining; /* -1 when not sent */
        long window_s;  /* the w= of remaining (else of limit), -1 when absent */
        bool exhausted; /* the host answered 429: no further counted pulls are attempted */
};
/* Returns 0, or -ENODATA when the host sent neither header nor a 429 (unlimited, or not asked yet). */
int registry_client_ratelimit(const struct registry_client *rc, const char *domain, struct registry_ratelimit *ret);

/* HTTP requests by purpose, retries and redirects included. */
struct registry_stats {
        uint64_t requests;       /* every request the client sent: the sum of the ones below */
        uint64_t pings;          /* GET /v2/ */
        uint64_t tokens;         /* token endpoint requests */
        uint64_t tag_pages;
        uint64_t manifest_heads;
        uint64_t manifest_gets;  /* counted pulls on Docker Hub */
        uint64_t blob_gets;
};
void registry_client_stats(const struct registry_client *rc, struct registry_stats *ret);

/* Why credentials are not used (a malformed config.json, a failing helper), or NULL. The
 * string belongs to the client; a later lookup may replace it. */
const char *registry_client_credentials_note(const struct registry_client *rc);
