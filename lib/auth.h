/* Registry authentication: WWW-Authenticate challenges, bearer tokens and their cache. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "token-cache.h"

struct http_client;

enum auth_scheme {
        AUTH_SCHEME_OTHER,
        AUTH_SCHEME_BASIC,
        AUTH_SCHEME_BEARER,
};

/* One challenge. Parameters that were absent are NULL; scheme_name keeps the spelling received. */
struct auth_challenge {
        enum auth_scheme scheme;
        char *scheme_name;
        char *realm;
        char *service;
        char *scope;
        char *error;
};

/* Parses every challenge in every given header value (RFC 7235: several challenges in one header,
 * quoted strings with backslash escapes, token68, case-insensitive scheme and parameter names,
 * commas inside quotes). values is NULL-terminated. Malformed parts are skipped rather than fatal:
 * a header with nothing usable yields zero challenges. Returns 0, -ENOMEM or -E2BIG (more than
 * 32 challenges, or a value longer than 64 KiB). */
int auth_parse_challenges(const char *const *values, struct auth_challenge **ret, size_t *ret_n);
void auth_challenges_free(struct auth_challenge *c, size_t n);
/* The first Bearer challenge, else the first Basic one, else NULL. */
const struct auth_challenge *auth_pick_challenge(const struct auth_challenge *c, size_t n);

/* All fields may be NULL: anonymous. identity_token is an OAuth2 refresh token (docker's
 * "identitytoken", or a helper's Secret when its Username is "<token>"). */
struct auth_credentials {
        char *username;
        char *password;
        char *identity_token;
};
/* Wipes the secrets before freeing them; leaves every field NULL. */
void auth_credentials_done(struct auth_credentials *c);
/* Deep copy; src NULL gives an anonymous (all NULL) copy. Returns 0 or -ENOMEM. */
int auth_credentials_copy(const struct auth_credentials *src, struct auth_credentials *ret);
/* True when c is NULL or carries no secret at all. */
bool auth_credentials_is_anonymous(const struct auth_credentials *c);

/* Identifies credentials without holding them: a sha256 over all their fields, "" when anonymous. */
void auth_credentials_fingerprint(const struct auth_credentials *c, char buf[static 72]);

/* The token cache (lib/token-cache) and the token fetches in flight, which calls for the same
 * tokens share. */
struct auth_cache;
int auth_cache_new(struct auth_cache **ret);
/* Fetches still in flight are detached: their callbacks still run (with -ECANCELED) when the
 * HTTP client completes them. Accepts NULL. */
void auth_cache_free(struct auth_cache *c);
/* token_cache_lookup() on the cache's tokens. */
const char *auth_cache_lookup(struct auth_cache *c, const struct token_cache_key *key, const char *scope,
                              int64_t now_ms);

/* Parses a token endpoint's JSON {"token"|"access_token", "expires_in", "issued_at"} received at
 * now_ms. The expiry is expires_in (60 s when absent or not positive, at most a day) from issued_at
 * when that is plausible (not in the future, not older than the lifetime), else from now_ms.
 * Returns 0, -ENOMEM, or -EBADMSG (not JSON, no token, a token unfit for a header). */
int auth_parse_token_response(const char *body, size_t len, int64_t now_ms, char **ret_token,
                              int64_t *ret_expires_at_ms);

/* Decodes standard or URL-safe base64, padding optional. The result is NUL-terminated (it may hold
 * NULs too). Returns 0, -ENOMEM or -EBADMSG. */
int auth_base64_decode(const char *s, size_t len, char **ret, size_t *ret_len);

/* The registry a token is fetched for. */
struct auth_registry {
        const char *host;     /* as references write it; tokens are cached per host */
        const char *base_url; /* its endpoint, "scheme://authority[:port]" */
        const char *ca_file;  /* PEM bundle trusted for it and its realm, or NULL for the system's */
};

/* Checks that a token realm may be used for registry: an absolute http(s) URL with a host and no
 * userinfo, no spaces or control characters, not http when the registry is https, and, when
 * credentials would go with the request, not plain http to a host other than the registry's.
 * Returns 0, or -EPERM with *ret_error (may be NULL) set to a message naming the realm. */
int auth_check_realm(const char *realm, const struct auth_registry *registry, bool with_credentials,
                     char **ret_error);

/* token is valid only during the callback (auth_cache_lookup finds it afterwards). On success
 * error is 0 and error_message NULL. */
typedef void (*auth_token_fn)(int error, const char *token, const char *error_message, void *userdata);

/* Requests one token for SEVERAL scopes in one request (repeated scope= parameters, as Docker Hub
 * accepts): GET realm?service=S&scope=A&scope=B… with Basic credentials when given. scopes is
 * NULL-terminated, each may hold several space-separated scopes (at most 256 in all); NULL means
 * the challenge's own scope (if any). Credentials with an identity token use docker's OAuth2
 * exchange instead: POST realm with grant_type=refresh_token, the scopes space-separated.
 *
 * The token is stored in the cache for every requested scope, except that when it is a JWT with
 * an "access" claim only the scopes it actually grants are stored: after the callback,
 * auth_cache_lookup() returning NULL for a requested scope means the issuer denied it.
 *
 * Coalesces: a call for scopes all covered by a fetch already in flight (same registry, realm,
 * service and credentials) waits for that request instead of sending another. The cache is not consulted:
 * call auth_cache_lookup() first.
 *
 * Errors in the callback: -EACCES (401/403), -EPROTO (other HTTP status), -EBADMSG (unusable
 * body), -EFBIG (body over 1 MiB), the HTTP client's transport errors, -ECANCELED. The message
 * names the realm URL (without any userinfo) and the HTTP status, never a secret.
 *
 * Returns 0 when cb will run (exactly once, from the loop, never from inside this call), or
 * without calling cb: -EINVAL (not a Bearer challenge, no realm, no registry host, bad arguments), -EPERM (realm refused: see
 * auth_check_realm for the message, with the realm that carries no userinfo either),
 * -E2BIG (too many scopes), -ENOMEM, or http_submit's errors. */
int auth_fetch_token(struct auth_cache *c, struct http_client *http, const struct auth_registry *registry,
                     const struct auth_challenge *challenge, const char *const *scopes,
                     const struct auth_credentials *creds, auth_token_fn cb, void *userdata);

/* "Basic base64(user:pass)" header value for registries that challenge Basic; NULL when creds
 * have no username/password, or on allocation failure. The caller frees it (it holds a secret). */
char *auth_basic_header(const struct auth_credentials *creds);
