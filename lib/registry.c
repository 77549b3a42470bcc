/* Registry client on the loop: tags, manifests, platforms and config blobs (never layers), with batched tokens. */
#include "registry.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

#include "auth.h"
#include "config.h"
#include "credentials.h"
#include "hashmap.h"
#include "host.h"
#include "http.h"
#include "link-header.h"
#include "reference.h"
#include "text.h"
#include "util.h"

/* Longest registry error text repeated in a message. */
#define DETAIL_MAX 300
/* Error bodies larger than this are not worth parsing for a message. */
#define ERROR_BODY_MAX (64u << 10)

enum op_kind {
        OP_TAGS,
        OP_HEAD,
        OP_MANIFEST,
        OP_BLOB,
};

enum ping_state {
        PING_NONE,
        PING_RUNNING,
        PING_DONE,
        PING_FAILED,
};

enum creds_state {
        CREDS_NONE,
        CREDS_RUNNING,
        CREDS_DONE,
};

/* What an operation waits for, so a cancellation can say what was pending. */
enum op_stage {
        STAGE_QUEUED, /* submitted, not started */
        STAGE_HOST,   /* the host's /v2/ ping or credentials */
        STAGE_TOKEN,
        STAGE_HTTP,
};

struct op;

struct host {
        struct registry_client *rc;
        char *domain;
        char *base_url; /* "scheme://authority", no trailing slash */
        bool https;
        bool allow_http;
        bool http_fallback_tried;
        char *https_error;    /* why HTTPS failed before the fallback to plain HTTP */
        char *ca_file;        /* the configured CA bundle for this registry, or NULL */
        char *endpoint_error; /* set when the endpoint may not be used at all */

        enum ping_state ping;
        int ping_error;
        char *ping_message;
        struct auth_challenge *challenges;
        size_t n_challenges;
        const struct auth_challenge *challenge; /* NULL: the registry asked for no authentication */

        enum creds_state creds_state;
        struct auth_credentials creds;
        char creds_fingerprint[72]; /* of creds: tokens are kept per host and credentials */

        /* Every repository announced for this host, by its scope "repository:PATH:pull" (struct
         * scope_info), and in the order announced: token batches take them from next_declared on,
         * so that declaring and batching cost O(1) per repository. */
        struct hashmap *scopes;
        char **declared;
        size_t n_declared, declared_cap, next_declared;

        struct op *waiting, **waiting_tail; /* for the ping or the credentials */

        struct registry_ratelimit rl;
        bool rl_seen;
        unsigned pulls_inflight;

        struct host *next;
};

struct registry_client {
        uv_loop_t *loop;
        struct http_client *http;
        struct auth_cache *auth;
        struct credentials_store *creds;
        char *creds_note;
        const struct config *config;
        unsigned reserve;
        bool dead;
        struct host *hosts;
        uv_timer_t *defer_timer;
        struct op *deferred, **deferred_tail;
        struct op *ops;                      /* every live operation */
        struct notice *notices, **notices_tail; /* cancellations to deliver from the loop */
        struct deadline *deadlines;
        uv_timer_t *cancel_timer;
        struct registry_stats stats;
};

/* The caller's callback, whose type the operation's kind tells. */
union op_callback {
        registry_tags_fn tags;
        registry_head_fn head;
        registry_manifest_fn manifest;
        registry_config_fn config;
};

/* The callback of a cancelled operation, waiting to be called from the loop. */
struct notice {
        enum op_kind kind;
        union op_callback cb;
        void *userdata;
        int error;
        char *message;
        struct notice *next;
};

/* A repository's deadline (registry_client_set_deadline). */
struct deadline {
        char *domain;
        char *path;
        uint64_t at;
        struct deadline *next;
};

struct op {
        struct registry_client *rc;
        struct host *host;
        enum op_kind kind;
        bool head_as_get; /* a HEAD answered without digest, redone as GET */
        char *path;
        char *reference; /* tag or digest (manifests), digest (blobs) */
        char *what;      /* message prefix: "REPO: tags", "REPO:TAG: manifest" */
        char *scope;     /* "repository:PATH:pull" */
        char *url;

        /* Authentication state of the current request. */
        bool token_attempted;
        bool auth_retried;
        char *sent_scope; /* the scope of the bearer token sent, NULL when none */
        struct auth_challenge *challenges; /* from a 401 that asked for something else */
        size_t n_challenges;
        const struct auth_challenge *challenge;
        bool counted_inflight;

        uint64_t deadline; /* of its repository when it was submitted, 0 = none */
        enum op_stage stage;
        /* Its callback already ran (registry_client_cancel): it only waits for what it was waiting
         * for to end, then goes away without a word. */
        bool detached;
        struct op *all_prev, *all_next; /* rc->ops */

        /* Tag listing. */
        char **tags;
        size_t n_tags, tags_alloc; /* grown by doubling: 100,000 tags must not cost n² copies */
        unsigned pages;
        char **visited;
        bool without_n;

        union op_callback cb;
        void *userdata;
        struct op *next;
};

struct batch {
        struct host *host;
        char **scopes;
        struct op *waiting, **waiting_tail; /* operations to resume when the token arrives */
};

enum scope_state {
        SCOPE_DECLARED,
        SCOPE_INFLIGHT, /* a batch's token request is under way */
        SCOPE_DENIED,   /* the issuer answered without granting it */
};

struct scope_info {
        enum scope_state state;
        struct batch *batch; /* while SCOPE_INFLIGHT */
};

static void op_authorize(struct op *op);
static void host_start_ping(struct host *h);

/* ---- Small helpers ------------------------------------------------------------------------ */

static bool path_valid(const char *p) {
        size_t n = strlen(p);
        if (n == 0 || n > REFERENCE_PATH_MAX || p[0] == '/' || p[n - 1] == '/' || strstr(p, "//"))
                return false;
        for (const char *c = p; *c; c++)
                if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || strchr("._-/", *c)))
                        return false;
        /* Every component must start with a letter or digit, so no "." or ".." sneaks into a URL. */
        for (const char *c = p; c; c = strchr(c, '/')) {
                if (*c == '/')
                        c++;
                if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')))
                        return false;
        }
        return true;
}

static bool manifest_reference_valid(const char *r) {
        return manifest_digest_valid(r) || reference_is_valid_tag(r);
}

static char *repo_name(const char *domain, const char *path) {
        struct reference ref = { .domain = (char *) domain, .path = (char *) path };
        return reference_familiar_name(&ref);
}

/* Media type without parameters, lowercase, or NULL. */
static char *media_type_of(const char *content_type) {
        if (!content_type)
                return NULL;
        while (*content_type == ' ' || *content_type == '\t')
                content_type++;
        size_t n = strcspn(content_type, "; \t");
        if (n == 0 || n > 255)
                return NULL;
        char *s = strndup(content_type, n);
        for (char *c = s; c && *c; c++)
                if (*c >= 'A' && *c <= 'Z')
                        *c = (char) (*c - 'A' + 'a');
        return s;
}

/* "CODE message" from a registry's {"errors":[{"code","message"}]}, else a short text body. */
static char *error_detail(const struct http_response *resp) {
        if (!resp->body || resp->body_len == 0 || resp->body_len > ERROR_BODY_MAX)
                return NULL;
        cJSON *j = cJSON_ParseWithLength(resp->body, resp->body_len);
        char *out = NULL;
        if (j) {
                const cJSON *errors = cJSON_GetObjectItemCaseSensitive(j, "errors");
                const cJSON *first = cJSON_IsArray(errors) ? cJSON_GetArrayItem(errors, 0) : NULL;
                const cJSON *code = cJSON_GetObjectItemCaseSensitive(first, "code");
                const cJSON *msg = cJSON_GetObjectItemCaseSensitive(first, "message");
                const char *c = cJSON_IsString(code) ? code->valuestring : NULL;
                const char *m = cJSON_IsString(msg) ? msg->valuestring : NULL;
                if (c || m) {
                        _cleanup_free_ char *joined =
                                util_printf("%s%s%s", c ? c : "", c && m ? " " : "", m ? m : "");
                        out = joined ? text_escape_str(joined, DETAIL_MAX) : NULL;
                }
                cJSON_Delete(j);
                return out;
        }
        const char *ct = http_response_header(resp, "Content-Type");
        if (ct && util_startswith_no_case(ct, "text/")) {
                size_t n = strcspn(resp->body, "\r\n");
                _cleanup_free_ char *line = strndup(resp->body, n);
                if (line && *line)
                        out = text_escape_str(line, 100);
        }
        return out;
}

/* Parses "N" or "N;w=SECONDS". */
static bool parse_ratelimit(const char *v, long *ret_n, long *ret_w) {
        char *end;
        errno = 0;
        long n = strtol(v, &end, 10);
        if (errno || end == v || n < 0)
                return false;
        long w = -1;
        const char *p = strstr(end, "w=");
        if (p) {
                char *wend;
                long x = strtol(p + 2, &wend, 10);
                if (wend != p + 2 && x >= 0)
                        w = x;
        }
        *ret_n = n;
        *ret_w = w;
        return true;
}

static void host_note_response(struct host *h, const struct http_response *resp) {
        if (resp->status <= 0)
                return;
        const char *lim = http_response_header(resp, "ratelimit-limit");
        const char *rem = http_response_header(resp, "ratelimit-remaining");
        long n, w;
        if (lim && parse_ratelimit(lim, &n, &w)) {
                h->rl.limit = n;
                if (h->rl.window_s < 0)
                        h->rl.window_s = w;
                h->rl_seen = true;
        }
        if (rem && parse_ratelimit(rem, &n, &w)) {
                h->rl.remaining = n;
                if (w >= 0)
                        h->rl.window_s = w;
                h->rl_seen = true;
        }
        if (resp->status == 429) {
                h->rl.exhausted = true;
                h->rl_seen = true;
        }
}

static int status_error(long status) {
        switch (status) {
        case 404:
                return -ENOENT;
        case 401:
        case 403:
                return -EACCES;
        case 429:
                return -EDQUOT;
        default:
                return -EPROTO;
        }
}

/* ---- Operations: completion ---------------------------------------------------------------- */

static void op_free(struct op *op) {
        if (!op)
                return;
        if (op->all_prev)
                op->all_prev->all_next = op->all_next;
        else if (op->rc->ops == op)
                op->rc->ops = op->all_next;
        if (op->all_next)
                op->all_next->all_prev = op->all_prev;
        free(op->path);
        free(op->reference);
        free(op->what);
        free(op->scope);
        free(op->url);
        free(op->sent_scope);
        auth_challenges_free(op->challenges, op->n_challenges);
        util_strv_free(op->tags);
        util_strv_free(op->visited);
        free(op);
}

static void op_release_pull(struct op *op) {
        if (op->counted_inflight) {
                op->counted_inflight = false;
                op->host->pulls_inflight--;
        }
}

/* Lets go of an operation whose callback a cancellation already ran; returns whether it was one. */
static bool op_drop_detached(struct op *op) {
        if (!op->detached)
                return false;
        op_release_pull(op);
        op_free(op);
        return true;
}

/* Finishes op with an error: the message is "WHAT: TEXT". */
_printf_(3, 4) static void op_fail(struct op *op, int error, const char *fmt, ...) {
        if (op_drop_detached(op))
                return;
        _cleanup_free_ char *text = NULL, *message = NULL;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&text, fmt, ap) < 0)
                text = NULL;
        va_end(ap);
        message = util_printf("%s: %s", op->what, text ? text : strerror(-error));
        const char *m = message ? message : "out of memory";
        op_release_pull(op);
        switch (op->kind) {
        case OP_TAGS:
                op->cb.tags(error, m, NULL, op->userdata);
                break;
        case OP_HEAD:
                op->cb.head(error, m, NULL, op->userdata);
                break;
        case OP_MANIFEST:
                op->cb.manifest(error, m, NULL, op->userdata);
                break;
        case OP_BLOB:
                op->cb.config(error, m, NULL, op->userdata);
                break;
        }
        op_free(op);
}

static void op_fail_canceled(struct op *op) {
        op_fail(op, -ECANCELED, "canceled");
}

/* ---- Hosts --------------------------------------------------------------------------------- */

static void host_free(struct host *h) {
        free(h->domain);
        free(h->base_url);
        free(h->https_error);
        free(h->ca_file);
        free(h->endpoint_error);
        free(h->ping_message);
        auth_challenges_free(h->challenges, h->n_challenges);
        auth_credentials_done(&h->creds);
        hashmap_free(h->scopes, free);
        for (size_t i = 0; i < h->n_declared; i++)
                free(h->declared[i]);
        free(h->declared);
        free(h);
}

static struct host *host_find(struct registry_client *rc, const char *domain) {
        for (struct host *h = rc->hosts; h; h = h->next)
                if (strcasecmp(h->domain, domain) == 0)
                        return h;
        return NULL;
}

static int host_get(struct registry_client *rc, const char *domain, struct host **ret) {
        struct host *h = host_find(rc, domain);
        if (h) {
                *ret = h;
                return 0;
        }
        _cleanup_free_ char *url = NULL;
        bool allow_http = false;
        int r = config_registry_endpoint(rc->config, domain, &url, &allow_http);
        if (r < 0)
                return r;
        h = calloc(1, sizeof *h);
        if (!h)
                return -ENOMEM;
        h->rc = rc;
        h->waiting_tail = &h->waiting;
        h->rl = (struct registry_ratelimit) { .limit = -1, .remaining = -1, .window_s = -1 };
        h->domain = strdup(domain);
        size_t n = strlen(url);
        while (n > 0 && url[n - 1] == '/')
                url[--n] = 0;
        h->base_url = TAKE_PTR(url);
        const char *ca_file = config_registry_ca_file(rc->config, domain);
        h->ca_file = ca_file ? strdup(ca_file) : NULL;
        if (!h->domain || (ca_file && !h->ca_file) || hashmap_new(&h->scopes) < 0) {
                host_free(h);
                return -ENOMEM;
        }
        h->allow_http = allow_http;
        h->https = util_startswith_no_case(h->base_url, "https://");
        if (!h->https && !allow_http) {
                h->endpoint_error = util_printf(
                        "plain HTTP endpoint %s refused: set \"insecure\": true for \"%s\" in the "
                        "configuration's \"registries\"",
                        h->base_url, domain);
                if (!h->endpoint_error) {
                        host_free(h);
                        return -ENOMEM;
                }
        }
        h->next = rc->hosts;
        rc->hosts = h;
        *ret = h;
        return 0;
}

static void host_wait(struct host *h, struct op *op) {
        op->stage = STAGE_HOST;
        op->next = NULL;
        *h->waiting_tail = op;
        h->waiting_tail = &op->next;
}

static struct op *host_take_waiting(struct host *h) {
        struct op *l = h->waiting;
        h->waiting = NULL;
        h->waiting_tail = &h->waiting;
        return l;
}

/* Runs (or, when the client is going away, cancels) every operation that waited. */
static void host_resume(struct host *h) {
        for (struct op *op = host_take_waiting(h), *next; op; op = next) {
                next = op->next;
                op->next = NULL;
                if (h->rc->dead)
                        op_fail_canceled(op);
                else
                        op_authorize(op);
        }
}

static void on_ping(const struct http_response *resp, void *userdata) {
        struct host *h = userdata;
        struct registry_client *rc = h->rc;
        rc->stats.pings += resp->requests;

        if (rc->dead || resp->error == -ECANCELED) {
                h->ping = PING_NONE;
                for (struct op *op = host_take_waiting(h), *next; op; op = next) {
                        next = op->next;
                        op_fail_canceled(op);
                }
                return;
        }
        /* Docker's way with loopback and insecure registries: HTTPS first, then plain HTTP. A server
         * that speaks TLS but whose certificate cannot be verified gets no second try in the clear:
         * that failure is the answer. */
        if (resp->error && resp->error != -EKEYREJECTED && resp->status == 0 && h->https && h->allow_http &&
            !h->http_fallback_tried) {
                char *u = util_printf("http://%s", h->base_url + strlen("https://"));
                h->https_error = text_escape_str(resp->error_message ? resp->error_message : strerror(-resp->error), 300);
                if (u) {
                        free(h->base_url);
                        h->base_url = u;
                        h->https = false;
                        h->http_fallback_tried = true;
                        h->ping = PING_NONE;
                        host_start_ping(h);
                        return;
                }
        }
        if (resp->error) {
                h->ping = PING_FAILED;
                h->ping_error = resp->error;
                const char *why = resp->error_message ? resp->error_message : strerror(-resp->error);
                if (resp->error == -EKEYREJECTED)
                        h->ping_message = util_printf(
                                "registry %s/v2/: TLS certificate not verified: %s (a private CA is trusted with "
                                "\"ca_file\" for \"%s\" in the configuration's \"registries\")",
                                h->base_url, why, h->domain);
                else if (h->https_error)
                        h->ping_message = util_printf("registry %s/v2/ unreachable: %s (and over https: %s)",
                                                      h->base_url, why, h->https_error);
                else
                        h->ping_message = util_printf("registry %s/v2/ unreachable: %s", h->base_url, why);
                for (struct op *op = host_take_waiting(h), *next; op; op = next) {
                        next = op->next;
                        op_fail(op, h->ping_error, "%s", h->ping_message ? h->ping_message : "registry unreachable");
                }
                return;
        }
        host_note_response(h, resp);
        if (resp->status == 401) {
                _cleanup_free_ const char **values = http_response_headers(resp, "WWW-Authenticate");
                if (values && auth_parse_challenges(values, &h->challenges, &h->n_challenges) >= 0)
                        h->challenge = auth_pick_challenge(h->challenges, h->n_challenges);
        }
        h->ping = PING_DONE;
        host_resume(h);
}

static void host_start_ping(struct host *h) {
        struct registry_client *rc = h->rc;
        _cleanup_free_ char *url = util_printf("%s/v2/", h->base_url);
        int r = url ? 0 : -ENOMEM;
        if (r >= 0) {
                struct http_request req = {
                        .method = "GET",
                        .url = url,
                        .max_body = ERROR_BODY_MAX,
                        /* A fallback to HTTP waits behind no retries of a TLS handshake that cannot work. */
                        .no_retry = h->https && h->allow_http && !h->http_fallback_tried,
                        .ca_file = h->ca_file,
                };
                r = http_submit(rc->http, &req, on_ping, h);
        }
        if (r < 0) {
                h->ping = PING_NONE;
                for (struct op *op = host_take_waiting(h), *next; op; op = next) {
                        next = op->next;
                        op_fail(op, r, "cannot reach registry %s: %s", h->base_url, strerror(-r));
                }
                return;
        }
        h->ping = PING_RUNNING;
}

static void set_note(struct registry_client *rc, const char *note) {
        char *n = strdup(note);
        if (n) {
                free(rc->creds_note);
                rc->creds_note = n;
        }
}

static void on_credentials(int error, const struct auth_credentials *creds, const char *error_message,
                           void *userdata) {
        struct host *h = userdata;
        if (error == 0 && creds && auth_credentials_copy(creds, &h->creds) < 0)
                error = -ENOMEM;
        auth_credentials_fingerprint(&h->creds, h->creds_fingerprint);
        if (error_message)
                set_note(h->rc, error_message);
        /* Failing credentials leave us anonymous: public repositories still work, and an access
         * error later is what the user sees, with the note beside it. */
        h->creds_state = CREDS_DONE;
        host_resume(h);
}

/* ---- Tokens -------------------------------------------------------------------------------- */

/* Tokens of this host's challenge, fetched with its credentials. */
static struct token_cache_key host_token_key(const struct host *h, const struct auth_challenge *ch) {
        return (struct token_cache_key) {
                .registry = h->domain,
                .credentials = h->creds_fingerprint,
                .realm = ch->realm,
                .service = ch->service,
        };
}

static struct auth_registry host_auth_registry(const struct host *h) {
        return (struct auth_registry) { .host = h->domain, .base_url = h->base_url, .ca_file = h->ca_file };
}

static void batch_free(struct batch *b) {
        util_strv_free(b->scopes);
        free(b);
}

static struct scope_info *host_scope(const struct host *h, const char *scope) {
        return hashmap_get(h->scopes, scope, strlen(scope));
}

static void on_batch_token(int error, const char *token, const char *error_message, void *userdata) {
        struct batch *b = userdata;
        struct host *h = b->host;
        struct registry_client *rc = h->rc;
        int64_t now = util_now_ms();
        struct token_cache_key key = host_token_key(h, h->challenge);
        for (char **s = b->scopes; *s; s++) {
                struct scope_info *si = host_scope(h, *s);
                si->batch = NULL;
                /* A token that does not grant a scope it was asked for is the issuer's "no". */
                si->state = error == 0 && !rc->dead && !auth_cache_lookup(rc->auth, &key, *s, now) ? SCOPE_DENIED
                                                                                                   : SCOPE_DECLARED;
        }
        for (struct op *op = b->waiting, *next; op; op = next) {
                next = op->next;
                op->next = NULL;
                if (rc->dead || error == -ECANCELED)
                        op_fail_canceled(op);
                else if (error < 0)
                        op_fail(op, error, "%s", error_message ? error_message : strerror(-error));
                else
                        op_authorize(op);
        }
        batch_free(b);
}

/* Starts one token request for scope and the declared scopes of the host after it that no token
 * covers yet. */
static int start_batch(struct host *h, const char *scope, struct scope_info *info) {
        struct registry_client *rc = h->rc;
        const struct auth_challenge *ch = h->challenge;
        int64_t now = util_now_ms();
        struct token_cache_key key = host_token_key(h, ch);
        struct batch *b = calloc(1, sizeof *b);
        if (!b)
                return -ENOMEM;
        b->host = h;
        b->waiting_tail = &b->waiting;
        if (util_strv_push(&b->scopes, scope) < 0) {
                batch_free(b);
                return -ENOMEM;
        }
        /* The scan goes on from where the last batch stopped, so each declared scope is looked at
         * about once however many batches there are. */
        size_t n = 1, bytes = strlen(scope), next = h->next_declared;
        for (; h->next_declared < h->n_declared && n < REGISTRY_TOKEN_MAX_SCOPES; h->next_declared++) {
                const char *s = h->declared[h->next_declared];
                size_t l = strlen(s);
                if (bytes + l > REGISTRY_TOKEN_MAX_SCOPE_BYTES)
                        break;
                if (streq(s, scope) || host_scope(h, s)->state != SCOPE_DECLARED ||
                    auth_cache_lookup(rc->auth, &key, s, now))
                        continue;
                if (util_strv_push(&b->scopes, s) < 0) {
                        h->next_declared = next;
                        batch_free(b);
                        return -ENOMEM;
                }
                n++;
                bytes += l;
        }
        struct auth_registry reg = host_auth_registry(h);
        int r = auth_fetch_token(rc->auth, rc->http, &reg, ch, (const char *const *) b->scopes, &h->creds,
                                 on_batch_token, b);
        if (r < 0) {
                h->next_declared = next;
                batch_free(b);
                return r;
        }
        info->state = SCOPE_INFLIGHT;
        info->batch = b;
        for (char **s = b->scopes + 1; *s; s++) {
                struct scope_info *si = host_scope(h, *s);
                si->state = SCOPE_INFLIGHT;
                si->batch = b;
        }
        return 0;
}

static void batch_wait(struct batch *b, struct op *op) {
        op->next = NULL;
        *b->waiting_tail = op;
        b->waiting_tail = &op->next;
}

static void on_op_token(int error, const char *token, const char *error_message, void *userdata) {
        struct op *op = userdata;
        if (op->rc->dead || error == -ECANCELED) {
                op_fail_canceled(op);
                return;
        }
        if (error < 0) {
                op_fail(op, error, "%s", error_message ? error_message : strerror(-error));
                return;
        }
        op_authorize(op);
}

/* ---- Sending ------------------------------------------------------------------------------- */

static void on_response(const struct http_response *resp, void *userdata);

static void op_send(struct op *op, const char *authorization, const char *bearer_scope) {
        struct registry_client *rc = op->rc;
        struct host *h = op->host;
        bool counted = op->kind == OP_MANIFEST || op->head_as_get;

        if (counted && !op->counted_inflight) {
                if (h->rl.exhausted) {
                        op_fail(op, -EDQUOT, "pull rate limit reached (HTTP 429 earlier); no further pulls");
                        return;
                }
                if (h->rl.remaining >= 0 && (unsigned long) h->rl.remaining <= rc->reserve + h->pulls_inflight) {
                        if (streq(h->domain, REFERENCE_DEFAULT_DOMAIN))
                                op_fail(op, -EDQUOT, "Docker Hub pull rate limit nearly exhausted: %ld left",
                                        h->rl.remaining);
                        else
                                op_fail(op, -EDQUOT, "%s pull rate limit nearly exhausted: %ld left", h->domain,
                                        h->rl.remaining);
                        return;
                }
                op->counted_inflight = true;
                h->pulls_inflight++;
        }

        free(op->sent_scope);
        op->sent_scope = bearer_scope ? strdup(bearer_scope) : NULL;
        if (bearer_scope && !op->sent_scope) {
                op_fail(op, -ENOMEM, "out of memory");
                return;
        }
        const char *headers[3] = {};
        size_t n = 0;
        if (op->kind == OP_HEAD || op->kind == OP_MANIFEST)
                headers[n++] = MANIFEST_ACCEPT_HEADER;
        if (authorization)
                headers[n++] = authorization;

        struct http_request req = {
                .method = op->kind == OP_HEAD && !op->head_as_get ? "HEAD" : "GET",
                .url = op->url,
                .headers = headers,
                .max_body = op->kind == OP_TAGS ? REGISTRY_MAX_TAGS_PAGE_BYTES : MANIFEST_MAX_SIZE,
                .follow_redirects = op->kind != OP_TAGS,
                .ca_file = h->ca_file,
                .deadline = op->deadline,
        };
        int r = http_submit(rc->http, &req, on_response, op);
        if (r < 0)
                op_fail(op, r, "request to %s not sent: %s", op->url, strerror(-r));
        else
                op->stage = STAGE_HTTP;
}

/* The first URL is made once the ping settled the endpoint (it may have fallen back to HTTP). */
static int op_build_url(struct op *op) {
        const char *base = op->host->base_url;
        switch (op->kind) {
        case OP_TAGS:
                op->url = util_printf("%s/v2/%s/tags/list?n=%u", base, op->path, REGISTRY_TAGS_PAGE_SIZE);
                return op->url && util_strv_push(&op->visited, op->url) >= 0 ? 0 : -ENOMEM;
        case OP_HEAD:
        case OP_MANIFEST:
                op->url = util_printf("%s/v2/%s/manifests/%s", base, op->path, op->reference);
                break;
        case OP_BLOB:
                op->url = util_printf("%s/v2/%s/blobs/%s", base, op->path, op->reference);
                break;
        }
        return op->url ? 0 : -ENOMEM;
}

static void op_authorize(struct op *op) {
        struct registry_client *rc = op->rc;
        struct host *h = op->host;
        if (op_drop_detached(op))
                return;
        if (rc->dead) {
                op_fail_canceled(op);
                return;
        }
        if (!op->url && op_build_url(op) < 0) {
                op_fail(op, -ENOMEM, "out of memory");
                return;
        }
        const struct auth_challenge *ch = op->challenge ? op->challenge : h->challenge;
        if (!ch || (ch->scheme != AUTH_SCHEME_BEARER && ch->scheme != AUTH_SCHEME_BASIC)) {
                op_send(op, NULL, NULL);
                return;
        }
        if (rc->creds && h->creds_state != CREDS_DONE) {
                host_wait(h, op);
                if (h->creds_state == CREDS_NONE) {
                        h->creds_state = CREDS_RUNNING;
                        int r = credentials_lookup(rc->creds, rc->loop, h->domain, on_credentials, h);
                        if (r < 0) {
                                h->creds_state = CREDS_DONE;
                                host_resume(h);
                        }
                }
                return;
        }

        if (ch->scheme == AUTH_SCHEME_BASIC) {
                _cleanup_free_ char *basic = auth_basic_header(&h->creds);
                _cleanup_free_ char *header = basic ? util_printf("Authorization: %s", basic) : NULL;
                if (basic)
                        explicit_bzero(basic, strlen(basic));
                op_send(op, header, NULL);
                if (header)
                        explicit_bzero(header, strlen(header));
                return;
        }

        /* A 401 naming another scope is answered with a token for exactly that scope. */
        const char *scope = op->challenge && op->challenge->scope ? op->challenge->scope : op->scope;
        struct token_cache_key key = host_token_key(h, ch);
        const char *token = auth_cache_lookup(rc->auth, &key, scope, util_now_ms());
        if (token) {
                _cleanup_free_ char *header = util_printf("Authorization: Bearer %s", token);
                if (!header) {
                        op_fail(op, -ENOMEM, "out of memory");
                        return;
                }
                op_send(op, header, scope);
                explicit_bzero(header, strlen(header));
                return;
        }
        /* The host's own scopes wait for a batch; a challenge's scope gets a token of its own. */
        struct scope_info *si = op->challenge ? NULL : host_scope(h, scope);
        if (op->token_attempted || (si && si->state == SCOPE_DENIED)) {
                op_fail(op, -EACCES,
                        "pull access denied by the token issuer (the repository does not exist, or it is "
                        "private and needs credentials: docker login %s)%s%s",
                        h->domain, rc->creds_note ? "; credentials: " : "", rc->creds_note ? rc->creds_note : "");
                return;
        }
        int r;
        struct auth_registry reg = host_auth_registry(h);
        if (si) {
                r = si->state == SCOPE_INFLIGHT ? 0 : start_batch(h, scope, si);
                if (r >= 0)
                        batch_wait(si->batch, op);
        } else {
                const char *one[] = { scope, NULL };
                r = auth_fetch_token(rc->auth, rc->http, &reg, ch, one, &h->creds, on_op_token, op);
        }
        if (r < 0) {
                _cleanup_free_ char *why = NULL;
                if (r == -EPERM)
                        (void) auth_check_realm(ch->realm, &reg, !auth_credentials_is_anonymous(&h->creds), &why);
                op_fail(op, r, "token: %s", why ? why : strerror(-r));
                return;
        }
        op->token_attempted = true;
        op->stage = STAGE_TOKEN;
}

/* ---- Responses ----------------------------------------------------------------------------- */

static void op_fail_status(struct op *op, const struct http_response *resp) {
        _cleanup_free_ char *detail = error_detail(resp);
        const char *retry = resp->status == 429 ? http_response_header(resp, "Retry-After") : NULL;
        _cleanup_free_ char *retry_s = retry ? text_escape_str(retry, 40) : NULL;
        op_fail(op, status_error(resp->status), "HTTP %ld%s%s%s%s%s", resp->status, detail ? " " : "",
                detail ? detail : "", resp->status == 429 ? " (pull rate limit)" : "",
                retry_s ? "; Retry-After: " : "", retry_s ? retry_s : "");
}

/* Whether url is on the registry's own endpoint (scheme, host and port), not a redirect target. */
static bool host_owns_url(const struct host *h, const char *url) {
        return url && host_same_origin(url, h->base_url);
}

/* A 401 that names what it wants gets one more try with a token for that. */
static bool op_retry_auth(struct op *op, const struct http_response *resp) {
        if (op->auth_retried)
                return false;
        _cleanup_free_ const char **values = http_response_headers(resp, "WWW-Authenticate");
        struct auth_challenge *c = NULL;
        size_t n = 0;
        if (!values || auth_parse_challenges(values, &c, &n) < 0)
                return false;
        const struct auth_challenge *ch = auth_pick_challenge(c, n);
        bool retry = false;
        if (ch && ch->scheme == AUTH_SCHEME_BEARER && ch->realm)
                retry = !op->sent_scope || (ch->scope && !streq(ch->scope, op->sent_scope));
        else if (ch && ch->scheme == AUTH_SCHEME_BASIC)
                retry = !op->host->challenge && op->rc->creds;
        if (!retry) {
                auth_challenges_free(c, n);
                return false;
        }
        auth_challenges_free(op->challenges, op->n_challenges);
        op->challenges = c;
        op->n_challenges = n;
        op->challenge = ch;
        op->auth_retried = true;
        op->token_attempted = false;
        op_authorize(op);
        return true;
}

static void tags_done(struct op *op) {
        struct registry_tags result = {
                .tags = TAKE_PTR(op->tags),
                .n_tags = op->n_tags,
                .pages = op->pages,
        };
        if (!result.tags && !(result.tags = calloc(1, sizeof(char *)))) {
                op_fail(op, -ENOMEM, "out of memory");
                return;
        }
        op->cb.tags(0, NULL, &result, op->userdata);
        util_strv_free(result.tags);
        op_free(op);
}

static void on_tags_page(struct op *op, const struct http_response *resp) {
        if (resp->status == 400 && op->pages == 0 && !op->without_n) {
                /* A registry that refuses our page size gets its own default instead. */
                char *u = util_printf("%s/v2/%s/tags/list", op->host->base_url, op->path);
                if (!u) {
                        op_fail(op, -ENOMEM, "out of memory");
                        return;
                }
                free(op->url);
                op->url = u;
                op->without_n = true;
                op->auth_retried = false;
                op_authorize(op);
                return;
        }
        if (resp->status != 200) {
                op_fail_status(op, resp);
                return;
        }
        op->pages++;
        cJSON *j = cJSON_ParseWithLength(resp->body, resp->body_len);
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "tags");
        if (!cJSON_IsObject(j) || !(cJSON_IsArray(list) || cJSON_IsNull(list) || !list)) {
                cJSON_Delete(j);
                op_fail(op, -EBADMSG, "page %u is not a JSON object with a \"tags\" array", op->pages);
                return;
        }
        const cJSON *t;
        int r = 0;
        cJSON_ArrayForEach(t, list) {
                if (!cJSON_IsString(t) || !reference_is_valid_tag(t->valuestring))
                        continue;
                if (op->n_tags >= REGISTRY_MAX_TAGS) {
                        r = -E2BIG;
                        break;
                }
                if (op->n_tags + 2 > op->tags_alloc) {
                        size_t a = op->tags_alloc ? op->tags_alloc * 2 : 64;
                        char **l = realloc(op->tags, a * sizeof(char *));
                        if (!l) {
                                r = -ENOMEM;
                                break;
                        }
                        op->tags = l;
                        op->tags_alloc = a;
                }
                op->tags[op->n_tags] = strdup(t->valuestring);
                op->tags[op->n_tags + 1] = NULL;
                if (!op->tags[op->n_tags]) {
                        r = -ENOMEM;
                        break;
                }
                op->n_tags++;
        }
        cJSON_Delete(j);
        if (r == -E2BIG) {
                op_fail(op, r, "more than %u tags", REGISTRY_MAX_TAGS);
                return;
        }
        if (r < 0) {
                op_fail(op, r, "out of memory");
                return;
        }

        _cleanup_free_ const char **links = http_response_headers(resp, "Link");
        _cleanup_free_ char *next = NULL;
        r = link_header_next(links, &next);
        if (r < 0) {
                op_fail(op, r == -ENOMEM ? r : -EBADMSG, "page %u: malformed Link header", op->pages);
                return;
        }
        if (!next) {
                tags_done(op);
                return;
        }
        _cleanup_free_ char *url = NULL, *why = NULL;
        r = link_header_resolve(resp->url ? resp->url : op->url, next, &url, &why);
        if (r < 0) {
                op_fail(op, r, "page %u: next-page link refused: %s", op->pages, why ? why : strerror(-r));
                return;
        }
        if (util_strv_contains(op->visited, url)) {
                op_fail(op, -ELOOP, "page %u links back to an earlier page (%s)", op->pages, url);
                return;
        }
        if (op->pages >= REGISTRY_MAX_TAG_PAGES) {
                op_fail(op, -E2BIG, "more than %u pages of tags", REGISTRY_MAX_TAG_PAGES);
                return;
        }
        if (util_strv_push(&op->visited, url) < 0) {
                op_fail(op, -ENOMEM, "out of memory");
                return;
        }
        free(op->url);
        op->url = TAKE_PTR(url);
        op->auth_retried = false;
        op_authorize(op);
}

/* Checks a body against the digest it must have; returns 0 or fails op. */
static int op_verify(struct op *op, const struct http_response *resp, const char *expected, const char *what,
                     char digest[static 72]) {
        util_sha256_digest(resp->body, resp->body_len, digest);
        if (expected && !streq(digest, expected)) {
                _cleanup_free_ char *e = text_escape_str(expected, 80);
                op_fail(op, -EBADMSG, "%s digest mismatch: expected %s, content is %s", what, e ? e : "?", digest);
                return -EBADMSG;
        }
        return 0;
}

static void on_manifest_body(struct op *op, const struct http_response *resp) {
        const char *header = http_response_header(resp, "Docker-Content-Digest");
        const char *expected = manifest_digest_valid(op->reference) ? op->reference
                               : manifest_digest_valid(header)       ? header
                                                                     : NULL;
        char digest[72];
        if (op_verify(op, resp, expected, "manifest", digest) < 0)
                return;
        const char *content_type = http_response_header(resp, "Content-Type");
        if (op->kind == OP_HEAD) {
                struct registry_manifest_info info = {
                        .digest = strdup(digest),
                        .media_type = media_type_of(content_type),
                        .size = (int64_t) resp->body_len,
                        .counted = true,
                };
                if (!info.digest) {
                        free(info.media_type);
                        op_fail(op, -ENOMEM, "out of memory");
                        return;
                }
                op->cb.head(0, NULL, &info, op->userdata);
                free(info.digest);
                free(info.media_type);
                op_free(op);
                return;
        }
        _cleanup_free_ char *err = NULL;
        struct registry_manifest result = {};
        int r = manifest_parse(resp->body, resp->body_len, content_type, &result.manifest, &err);
        if (r < 0) {
                op_fail(op, r, "%s", err ? err : strerror(-r));
                return;
        }
        result.digest = strdup(digest);
        result.body = malloc(resp->body_len + 1);
        if (!result.digest || !result.body) {
                manifest_free(result.manifest);
                free(result.digest);
                free(result.body);
                op_fail(op, -ENOMEM, "out of memory");
                return;
        }
        memcpy(result.body, resp->body, resp->body_len);
        result.body[resp->body_len] = 0;
        result.body_len = resp->body_len;
        op->cb.manifest(0, NULL, &result, op->userdata);
        manifest_free(result.manifest);
        free(result.digest);
        free(result.body);
        op_free(op);
}

static void on_head(struct op *op, const struct http_response *resp) {
        const char *digest = http_response_header(resp, "Docker-Content-Digest");
        if (!manifest_digest_valid(digest)) {
                /* Some registries send no digest on HEAD: ask for the body and hash it. */
                op->head_as_get = true;
                op->auth_retried = false;
                op_authorize(op);
                return;
        }
        if (manifest_digest_valid(op->reference) && !streq(digest, op->reference)) {
                op_fail(op, -EBADMSG, "registry answered with digest %s", digest);
                return;
        }
        const char *length = http_response_header(resp, "Content-Length");
        char *end = NULL;
        long long size = length ? strtoll(length, &end, 10) : -1;
        struct registry_manifest_info info = {
                .digest = strdup(digest),
                .media_type = media_type_of(http_response_header(resp, "Content-Type")),
                .size = length && end && !*end && size >= 0 ? size : -1,
        };
        if (!info.digest) {
                free(info.media_type);
                op_fail(op, -ENOMEM, "out of memory");
                return;
        }
        op->cb.head(0, NULL, &info, op->userdata);
        free(info.digest);
        free(info.media_type);
        op_free(op);
}

static void on_blob(struct op *op, const struct http_response *resp) {
        char digest[72];
        if (op_verify(op, resp, op->reference, "blob", digest) < 0)
                return;
        _cleanup_free_ char *err = NULL;
        struct registry_config result = {};
        int r = manifest_image_config_parse(resp->body, resp->body_len, &result.config, &err);
        if (r < 0) {
                op_fail(op, r, "%s", err ? err : strerror(-r));
                return;
        }
        result.digest = strdup(digest);
        if (!result.digest) {
                manifest_image_config_free(result.config);
                op_fail(op, -ENOMEM, "out of memory");
                return;
        }
        op->cb.config(0, NULL, &result, op->userdata);
        manifest_image_config_free(result.config);
        free(result.digest);
        op_free(op);
}

static void on_response(const struct http_response *resp, void *userdata) {
        struct op *op = userdata;
        struct registry_client *rc = op->rc;
        switch (op->kind) {
        case OP_TAGS:
                rc->stats.tag_pages += resp->requests;
                break;
        case OP_HEAD:
                if (op->head_as_get)
                        rc->stats.manifest_gets += resp->requests;
                else
                        rc->stats.manifest_heads += resp->requests;
                break;
        case OP_MANIFEST:
                rc->stats.manifest_gets += resp->requests;
                break;
        case OP_BLOB:
                rc->stats.blob_gets += resp->requests;
                break;
        }
        if (op_drop_detached(op))
                return;
        op_release_pull(op);
        if (rc->dead || resp->error == -ECANCELED) {
                op_fail_canceled(op);
                return;
        }
        host_note_response(op->host, resp);
        if (resp->error) {
                if (resp->error == -EFBIG)
                        op_fail(op, -EFBIG, "response from %s larger than the limit", op->url);
                else if (resp->status > 0)
                        op_fail(op, resp->error, "%s: %s after HTTP %ld", op->url,
                                resp->error_message ? resp->error_message : strerror(-resp->error), resp->status);
                else
                        op_fail(op, resp->error, "%s: %s", op->url,
                                resp->error_message ? resp->error_message : strerror(-resp->error));
                return;
        }
        if (resp->status == 401 && !host_owns_url(op->host, resp->url)) {
                /* A redirect target (a CDN) is not the registry: its challenge gets neither the
                 * registry's credentials nor its tokens. */
                /* Without the query: a CDN's signed URL holds its own credentials. */
                _cleanup_free_ char *bare = resp->url ? strndup(resp->url, strcspn(resp->url, "?#")) : NULL;
                _cleanup_free_ char *where = bare ? text_escape_str(bare, 200) : NULL;
                op_fail(op, -EACCES, "HTTP 401 from %s, where the registry redirected: not the registry, so no "
                        "credentials or token are sent there",
                        where ? where : "a redirect target");
                return;
        }
        if (resp->status == 401 && op_retry_auth(op, resp))
                return;
        if (op->kind == OP_TAGS) {
                on_tags_page(op, resp);
                return;
        }
        if (resp->status != 200) {
                op_fail_status(op, resp);
                return;
        }
        switch (op->kind) {
        case OP_HEAD:
                if (op->head_as_get)
                        on_manifest_body(op, resp);
                else
                        on_head(op, resp);
                break;
        case OP_MANIFEST:
                on_manifest_body(op, resp);
                break;
        case OP_BLOB:
                on_blob(op, resp);
                break;
        case OP_TAGS:
                break;
        }
}

/* ---- Starting operations ------------------------------------------------------------------- */

static void op_start(struct op *op) {
        struct host *h = op->host;
        if (op_drop_detached(op))
                return;
        if (op->rc->dead) {
                op_fail_canceled(op);
                return;
        }
        if (h->endpoint_error) {
                op_fail(op, -EPERM, "%s", h->endpoint_error);
                return;
        }
        switch (h->ping) {
        case PING_FAILED:
                op_fail(op, h->ping_error, "%s", h->ping_message ? h->ping_message : "registry unreachable");
                return;
        case PING_DONE:
                op_authorize(op);
                return;
        case PING_NONE:
                host_wait(h, op);
                host_start_ping(h);
                return;
        case PING_RUNNING:
                host_wait(h, op);
                return;
        }
}

static void notice_free(struct notice *n) {
        free(n->message);
        free(n);
}

static void notice_deliver(struct notice *n) {
        switch (n->kind) {
        case OP_TAGS:
                n->cb.tags(n->error, n->message, NULL, n->userdata);
                break;
        case OP_HEAD:
                n->cb.head(n->error, n->message, NULL, n->userdata);
                break;
        case OP_MANIFEST:
                n->cb.manifest(n->error, n->message, NULL, n->userdata);
                break;
        case OP_BLOB:
                n->cb.config(n->error, n->message, NULL, n->userdata);
                break;
        }
        notice_free(n);
}

static void deliver_notices(struct registry_client *rc) {
        while (rc->notices) {
                struct notice *n = rc->notices;
                rc->notices = n->next;
                if (!rc->notices)
                        rc->notices_tail = &rc->notices;
                notice_deliver(n);
        }
}

static void on_defer(uv_timer_t *t) {
        struct registry_client *rc = t->data;
        deliver_notices(rc);
        struct op *l = rc->deferred;
        rc->deferred = NULL;
        rc->deferred_tail = &rc->deferred;
        for (struct op *next; l; l = next) {
                next = l->next;
                l->next = NULL;
                op_start(l);
        }
}

static int declare(struct host *h, const char *scope) {
        size_t len = strlen(scope);
        if (hashmap_get(h->scopes, scope, len))
                return 0;
        if (h->n_declared == h->declared_cap) {
                size_t cap = h->declared_cap ? h->declared_cap * 2 : 16;
                char **l = realloc(h->declared, cap * sizeof(char *));
                if (!l)
                        return -ENOMEM;
                h->declared = l;
                h->declared_cap = cap;
        }
        struct scope_info *si = calloc(1, sizeof *si);
        char *copy = strdup(scope);
        int r = si && copy ? hashmap_put(h->scopes, scope, len, si) : -ENOMEM;
        if (r < 0) {
                free(si);
                free(copy);
                return r;
        }
        h->declared[h->n_declared++] = copy;
        return 0;
}

static int op_new(struct registry_client *rc, enum op_kind kind, const char *domain, const char *path,
                  const char *reference, void *userdata, struct op **ret) {
        if (!rc || !domain || !path || !path_valid(path))
                return -EINVAL;
        if (rc->dead)
                return -ECANCELED;
        struct host *h;
        int r = host_get(rc, domain, &h);
        if (r < 0)
                return r;
        struct op *op = calloc(1, sizeof *op);
        if (!op)
                return -ENOMEM;
        op->rc = rc;
        op->host = h;
        op->kind = kind;
        op->userdata = userdata;
        op->path = strdup(path);
        op->reference = reference ? strdup(reference) : NULL;
        op->scope = util_printf("repository:%s:pull", path);
        for (const struct deadline *d = rc->deadlines; d; d = d->next)
                if (strcasecmp(d->domain, domain) == 0 && streq(d->path, path))
                        op->deadline = d->at;
        _cleanup_free_ char *name = repo_name(domain, path);
        switch (kind) {
        case OP_TAGS:
                op->what = name ? util_printf("%s: tags", name) : NULL;
                break;
        case OP_HEAD:
        case OP_MANIFEST:
                op->what = name ? util_printf("%s%c%s: manifest", name, manifest_digest_valid(reference) ? '@' : ':',
                                              reference)
                                : NULL;
                break;
        case OP_BLOB:
                op->what = name ? util_printf("%s: config blob %s", name, reference) : NULL;
                break;
        }
        op->all_next = rc->ops;
        if (rc->ops)
                rc->ops->all_prev = op;
        rc->ops = op;
        if (!op->path || (reference && !op->reference) || !op->scope || !op->what || declare(h, op->scope) < 0) {
                op_free(op);
                return -ENOMEM;
        }
        *ret = op;
        return 0;
}

/* Makes the loop run on_defer soon. */
static int rc_kick(struct registry_client *rc) {
        if (uv_is_active((uv_handle_t *) rc->defer_timer))
                return 0;
        return uv_timer_start(rc->defer_timer, on_defer, 0, 0) < 0 ? -ENOMEM : 0;
}

static int op_submit(struct op *op) {
        struct registry_client *rc = op->rc;
        if (rc_kick(rc) < 0) {
                op_free(op);
                return -ENOMEM;
        }
        op->next = NULL;
        *rc->deferred_tail = op;
        rc->deferred_tail = &op->next;
        return 0;
}

int registry_list_tags(struct registry_client *rc, const char *domain, const char *path, registry_tags_fn cb,
                       void *userdata) {
        if (!cb)
                return -EINVAL;
        struct op *op;
        int r = op_new(rc, OP_TAGS, domain, path, NULL, userdata, &op);
        if (r < 0)
                return r;
        op->cb.tags = cb;
        return op_submit(op);
}

int registry_head_manifest(struct registry_client *rc, const char *domain, const char *path,
                           const char *reference, registry_head_fn cb, void *userdata) {
        if (!cb || !reference || !manifest_reference_valid(reference))
                return -EINVAL;
        struct op *op;
        int r = op_new(rc, OP_HEAD, domain, path, reference, userdata, &op);
        if (r < 0)
                return r;
        op->cb.head = cb;
        return op_submit(op);
}

int registry_get_manifest(struct registry_client *rc, const char *domain, const char *path,
                          const char *reference, registry_manifest_fn cb, void *userdata) {
        if (!cb || !reference || !manifest_reference_valid(reference))
                return -EINVAL;
        struct op *op;
        int r = op_new(rc, OP_MANIFEST, domain, path, reference, userdata, &op);
        if (r < 0)
                return r;
        op->cb.manifest = cb;
        return op_submit(op);
}

int registry_get_config(struct registry_client *rc, const char *domain, const char *path, const char *digest,
                        registry_config_fn cb, void *userdata) {
        if (!cb || !manifest_digest_valid(digest))
                return -EINVAL;
        struct op *op;
        int r = op_new(rc, OP_BLOB, domain, path, digest, userdata, &op);
        if (r < 0)
                return r;
        op->cb.config = cb;
        return op_submit(op);
}

int registry_client_add_scope(struct registry_client *rc, const char *domain, const char *path) {
        if (!rc || !domain || !path || !path_valid(path))
                return -EINVAL;
        if (rc->dead)
                return -ECANCELED;
        struct host *h;
        int r = host_get(rc, domain, &h);
        if (r < 0)
                return r;
        _cleanup_free_ char *scope = util_printf("repository:%s:pull", path);
        if (!scope)
                return -ENOMEM;
        return declare(h, scope);
}

/* ---- Deadlines and cancellation ----------------------------------------------------------- */

int registry_client_set_deadline(struct registry_client *rc, const char *domain, const char *path,
                                 uint64_t deadline) {
        if (!rc || !domain || !path)
                return -EINVAL;
        for (struct deadline **p = &rc->deadlines; *p; p = &(*p)->next) {
                struct deadline *d = *p;
                if (strcasecmp(d->domain, domain) != 0 || !streq(d->path, path))
                        continue;
                if (deadline) {
                        d->at = deadline;
                        return 0;
                }
                *p = d->next;
                free(d->domain);
                free(d->path);
                free(d);
                return 0;
        }
        if (!deadline)
                return 0;
        struct deadline *d = calloc(1, sizeof *d);
        if (!d)
                return -ENOMEM;
        d->domain = strdup(domain);
        d->path = strdup(path);
        d->at = deadline;
        if (!d->domain || !d->path) {
                free(d->domain);
                free(d->path);
                free(d);
                return -ENOMEM;
        }
        d->next = rc->deadlines;
        rc->deadlines = d;
        return 0;
}

/* "WHAT: what it was waiting for", for the callback of a cancelled operation. */
static char *op_describe_pending(const struct op *op) {
        const struct host *h = op->host;
        const struct auth_challenge *ch = op->challenge ? op->challenge : h->challenge;
        switch (op->stage) {
        case STAGE_QUEUED:
                return util_printf("%s: not started yet", op->what);
        case STAGE_HOST:
                if (h->ping == PING_RUNNING)
                        return util_printf("%s: waiting for %s/v2/ to answer", op->what, h->base_url);
                return util_printf("%s: waiting for the credentials of %s", op->what, h->domain);
        case STAGE_TOKEN:
                return util_printf("%s: waiting for a token from %s", op->what,
                                   ch && ch->realm ? ch->realm : "the token server");
        case STAGE_HTTP:
                return util_printf("%s: no complete answer yet to %s %s", op->what,
                                   op->kind == OP_HEAD && !op->head_as_get ? "HEAD" : "GET", op->url);
        }
        return NULL;
}

static bool op_matches(const struct op *op, const char *domain, const char *path) {
        return !domain || (strcasecmp(op->host->domain, domain) == 0 && streq(op->path, path));
}

int registry_client_cancel(struct registry_client *rc, const char *domain, const char *path, int error) {
        if (!rc || error >= 0 || (!domain != !path))
                return -EINVAL;
        size_t n = 0, n_http = 0;
        for (struct op *op = rc->ops; op; op = op->all_next)
                if (!op->detached && op_matches(op, domain, path))
                        n++;
        if (n == 0)
                return 0;
        _cleanup_free_ struct op **in_http = calloc(n, sizeof *in_http);
        if (!in_http || rc_kick(rc) < 0)
                return -ENOMEM;
        for (struct op *op = rc->ops; op; op = op->all_next) {
                if (op->detached || !op_matches(op, domain, path))
                        continue;
                struct notice *k = calloc(1, sizeof *k);
                if (!k)
                        return -ENOMEM;
                k->message = op_describe_pending(op);
                if (!k->message) {
                        free(k);
                        return -ENOMEM;
                }
                k->kind = op->kind;
                k->userdata = op->userdata;
                k->error = error;
                switch (op->kind) {
                case OP_TAGS:
                        k->cb.tags = op->cb.tags;
                        break;
                case OP_HEAD:
                        k->cb.head = op->cb.head;
                        break;
                case OP_MANIFEST:
                        k->cb.manifest = op->cb.manifest;
                        break;
                case OP_BLOB:
                        k->cb.config = op->cb.config;
                        break;
                }
                *rc->notices_tail = k;
                rc->notices_tail = &k->next;
                op->detached = true;
                if (op->stage == STAGE_HTTP)
                        in_http[n_http++] = op;
        }
        /* Their requests end now, so the connections they held serve others at once. Each
         * cancelled request completes only its own (detached) operation, which that frees: the
         * pointers are keys here, never dereferenced. */
        for (size_t i = 0; i < n_http; i++)
                (void) http_cancel(rc->http, in_http[i]);
        return (int) n;
}

/* ---- The client ---------------------------------------------------------------------------- */

int registry_client_new(uv_loop_t *loop, const struct registry_options *opts, struct registry_client **ret) {
        static const struct registry_options defaults = {};
        if (!loop || !ret)
                return -EINVAL;
        if (!opts)
                opts = &defaults;
        struct registry_client *rc = calloc(1, sizeof *rc);
        if (!rc)
                return -ENOMEM;
        rc->loop = loop;
        rc->config = opts->config;
        rc->reserve = opts->ratelimit_reserve ? opts->ratelimit_reserve : REGISTRY_DEFAULT_RATELIMIT_RESERVE;
        rc->deferred_tail = &rc->deferred;
        rc->notices_tail = &rc->notices;

        struct http_options ho = opts->http ? *opts->http : (struct http_options) {};
        if (ho.max_connections == 0)
                ho.max_connections = opts->config ? opts->config->max_connections : CONFIG_DEFAULT_MAX_CONNECTIONS;
        int r = http_client_new(loop, &ho, &rc->http);
        if (r >= 0)
                r = auth_cache_new(&rc->auth);
        if (r >= 0) {
                rc->defer_timer = calloc(1, sizeof *rc->defer_timer);
                rc->cancel_timer = calloc(1, sizeof *rc->cancel_timer);
                r = rc->defer_timer && rc->cancel_timer ? 0 : -ENOMEM;
        }
        if (r < 0) {
                free(rc->defer_timer);
                free(rc->cancel_timer);
                auth_cache_free(rc->auth);
                http_client_free(rc->http);
                free(rc);
                return r;
        }
        uv_timer_init(loop, rc->defer_timer);
        rc->defer_timer->data = rc;
        uv_timer_init(loop, rc->cancel_timer);
        rc->cancel_timer->data = rc;

        if (!opts->anonymous) {
                _cleanup_free_ char *err = NULL;
                r = credentials_store_load(opts->docker_config_dir, &rc->creds, &err);
                if (r == -ENOMEM) {
                        registry_client_free(rc);
                        return r;
                }
                if (r < 0) {
                        rc->creds = NULL;
                        _cleanup_free_ char *note = util_printf("%s; using anonymous access",
                                                                err ? err : strerror(-r));
                        if (note)
                                set_note(rc, note);
                }
        }
        *ret = rc;
        return 0;
}

static void close_free(uv_handle_t *h) {
        free(h);
}

void registry_client_free(struct registry_client *rc) {
        if (!rc)
                return;
        rc->dead = true;
        deliver_notices(rc);
        /* Cancelling the HTTP client completes our requests, pings and token fetches (and, through
         * them, the operations waiting for a token) with -ECANCELED. */
        http_client_free(rc->http);
        rc->http = NULL;
        credentials_store_free(rc->creds);
        rc->creds = NULL;
        for (struct op *op = rc->deferred, *next; op; op = next) {
                next = op->next;
                op_fail_canceled(op);
        }
        rc->deferred = NULL;
        for (struct host *h = rc->hosts; h; h = h->next)
                for (struct op *op = host_take_waiting(h), *next; op; op = next) {
                        next = op->next;
                        op_fail_canceled(op);
                }
        auth_cache_free(rc->auth);
        uv_close((uv_handle_t *) rc->defer_timer, close_free);
        uv_close((uv_handle_t *) rc->cancel_timer, close_free);
        while (rc->hosts) {
                struct host *h = rc->hosts;
                rc->hosts = h->next;
                host_free(h);
        }
        while (rc->deadlines) {
                struct deadline *d = rc->deadlines;
                rc->deadlines = d->next;
                free(d->domain);
                free(d->path);
                free(d);
        }
        free(rc->creds_note);
        free(rc);
}

/* Everything submitted until now ends with -ECANCELED; the client stays usable afterwards. */
static void on_cancel(uv_timer_t *t) {
        struct registry_client *rc = t->data;
        /* While dead is set, every path an operation can take (token and ping callbacks, waiting
         * lists, op_authorize) cancels it, and new submissions are refused. */
        rc->dead = true;
        http_client_cancel_all(rc->http);
        for (struct op *op = rc->deferred, *next; op; op = next) {
                next = op->next;
                op_fail_canceled(op);
        }
        rc->deferred = NULL;
        rc->deferred_tail = &rc->deferred;
        for (struct host *h = rc->hosts; h; h = h->next)
                for (struct op *op = host_take_waiting(h), *next; op; op = next) {
                        next = op->next;
                        op_fail_canceled(op);
                }
        rc->dead = false;
}

void registry_client_cancel_all(struct registry_client *rc) {
        if (!rc || rc->dead)
                return;
        uv_timer_start(rc->cancel_timer, on_cancel, 0, 0);
}

int registry_client_ratelimit(const struct registry_client *rc, const char *domain, struct registry_ratelimit *ret) {
        if (!rc || !domain || !ret)
                return -EINVAL;
        const struct host *h = host_find((struct registry_client *) rc, domain);
        if (!h || !h->rl_seen)
                return -ENODATA;
        *ret = h->rl;
        return 0;
}

void registry_client_stats(const struct registry_client *rc, struct registry_stats *ret) {
        struct registry_stats s = rc->stats;
        s.requests = rc->http ? http_client_request_count(rc->http) : 0;
        uint64_t known = s.pings + s.tag_pages + s.manifest_heads + s.manifest_gets + s.blob_gets;
        s.tokens = s.requests > known ? s.requests - known : 0;
        *ret = s;
}

const char *registry_client_credentials_note(const struct registry_client *rc) {
        return rc ? rc->creds_note : NULL;
}
