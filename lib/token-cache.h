/* Bearer tokens kept until shortly before they expire, per registry, credentials, realm and scope. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Whom a token was minted for. A token is only ever handed to the registry host it was fetched
 * for, with the credentials it was fetched with: another registry naming the same realm and
 * service (every registry using Docker Hub's token service does) gets its own. */
struct token_cache_key {
        const char *registry;    /* host as references write it: "docker.io", "127.0.0.1:5000" */
        const char *credentials; /* auth_credentials_fingerprint(); NULL or "" = anonymous */
        const char *realm;
        const char *service;     /* may be NULL */
};

#define TOKEN_CACHE_MAX_ENTRIES 1024u

/* Tokens honour their expiry and are refreshed shortly before it. A scope
 * "repository:a/b:pull,push" covers "repository:a/b:pull". Lookups cost O(1) in the number of
 * tokens and scopes held (an index by resource), so a scan of 10,000 repositories pays for each
 * of them once. */
struct token_cache;
int token_cache_new(struct token_cache **ret);
/* Wipes the tokens. Accepts NULL. */
void token_cache_free(struct token_cache *c);

/* A valid cached token for key covering scope, or NULL. scope may hold several space-separated
 * scopes (one token must cover them all); NULL asks for any token of the key, which is what the
 * /v2/ base endpoint needs. The string stays valid until the next token_cache_store or free. */
const char *token_cache_lookup(struct token_cache *c, const struct token_cache_key *key, const char *scope,
                               int64_t now_ms);

/* Whether t can be a bearer token: not empty, printable ASCII without spaces, so that it fits an
 * Authorization header as it is. */
bool token_cache_token_valid(const char *t);

/* Stores a token, received at now_ms, for the NULL-terminated scopes (may be NULL or empty) until
 * expires_at_ms; lookups stop returning it a little earlier (10 s, or a quarter of its lifetime
 * when that is shorter). Entries it makes redundant (it covers all their scopes for at least as
 * long) go; at most TOKEN_CACHE_MAX_ENTRIES are kept: expired ones, then the ones closest to
 * their refresh, make room. Returns 0, -ENOMEM, -E2BIG (over SCOPE_MAX scopes) or -EINVAL (no
 * registry or realm, a token with characters not allowed in a header). */
int token_cache_store(struct token_cache *c, const struct token_cache_key *key, const char *const *scopes,
                      const char *token, int64_t now_ms, int64_t expires_at_ms);
