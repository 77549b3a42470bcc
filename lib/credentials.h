/* Registry credentials from docker's config.json ($DOCKER_CONFIG or ~/.docker/config.json) and its helpers. */
#pragma once

#include <uv.h>

#include "auth.h"

/* The parsed config.json; loaded once, lookups per registry host, results cached per host. */
struct credentials_store;

/* docker_config_dir NULL = $DOCKER_CONFIG, else ~/.docker. A missing config.json gives an empty
 * store (anonymous everywhere), not an error; a malformed one (or over 4 MiB) fails with -EBADMSG
 * (-EFBIG) and *ret_error (may be NULL) naming the file. Returns 0, -errno. */
int credentials_store_load(const char *docker_config_dir, struct credentials_store **ret, char **ret_error);
/* Kills running helpers and completes pending lookups with -ECANCELED (their callbacks run from
 * inside this call); the loop must run once more afterwards to close handles. Accepts NULL. */
void credentials_store_free(struct credentials_store *s);

/* creds NULL = anonymous; valid only during the callback (auth_credentials_copy to keep them).
 * error_message is set when error != 0, and also with error == 0 for a note worth showing
 * (a configured helper missing from PATH). Messages never contain a secret. */
typedef void (*credentials_fn)(int error, const struct auth_credentials *creds, const char *error_message,
                               void *userdata);

/* Looks up credentials for a registry host ("docker.io", "ghcr.io", "127.0.0.1:5000") as docker
 * does: credHelpers[host], else credsStore, else auths[host] ("auth" base64 user:pass, or
 * username/password, identitytoken). Docker Hub's key is "https://index.docker.io/v1/"; the other
 * spellings docker accepts (index.docker.io, registry-1.docker.io, docker.io, with or without
 * https:// and /v1/) match it too. When a helper knows nothing, auths[host] is still used.
 *
 * Helpers run asynchronously on the loop: `docker-credential-NAME get`, the server address on
 * stdin, JSON {"ServerURL","Username","Secret"} on stdout (Username "<token>": Secret is an
 * identity token). "credentials not found" → anonymous; helper missing from PATH → anonymous with
 * a note; other failures, garbage output, output over 64 KiB → error; no answer within 10 s →
 * -ETIMEDOUT. Concurrent lookups of one host share one helper run.
 *
 * cb runs exactly once, from the loop, never from inside this call. Returns 0, or -EINVAL/-ENOMEM
 * without calling cb. */
int credentials_lookup(struct credentials_store *s, uv_loop_t *loop, const char *registry_host, credentials_fn cb,
                       void *userdata);

/* The helper timeout in milliseconds (default 10000); for tests and impatient callers. */
void credentials_store_set_helper_timeout(struct credentials_store *s, uint64_t timeout_ms);
