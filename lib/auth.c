/* Registry authentication: WWW-Authenticate challenges, bearer tokens and their cache. */
#include "auth.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>

#include "host.h"
#include "http.h"
#include "scope.h"
#include "text.h"
#include "util.h"

#define MAX_CHALLENGES 32
#define MAX_HEADER_VALUE (64u * 1024u)
#define MAX_TOKEN_RESPONSE (1024u * 1024u)
#define MAX_REALM 4096u
#define DEFAULT_EXPIRES_IN_S 60
#define MAX_EXPIRES_IN_S 86400
#define MAX_SERVER_DETAIL 200u

/* ---- WWW-Authenticate ---- */

static bool is_tchar(char c) {
        return isalnum((unsigned char) c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_token68_char(char c) {
        return isalnum((unsigned char) c) || (c && strchr("-._~+/", c));
}

static bool is_ws(char c) {
        return c == ' ' || c == '\t';
}

static const char *skip_ws(const char *p) {
        while (is_ws(*p))
                p++;
        return p;
}

/* Skips to the next comma that is not inside a quoted string (or to the end). */
static const char *skip_element(const char *p) {
        bool quoted = false;
        for (; *p; p++) {
                if (quoted) {
                        if (*p == '\\' && p[1])
                                p++;
                        else if (*p == '"')
                                quoted = false;
                } else if (*p == '"')
                        quoted = true;
                else if (*p == ',')
                        break;
        }
        return p;
}

static const char *scan_token(const char *p) {
        while (is_tchar(*p))
                p++;
        return p;
}

/* Whether p (after list separators) starts an auth-param "name =". */
static bool looks_like_param(const char *p) {
        const char *e = scan_token(p);
        if (e == p)
                return false;
        e = skip_ws(e);
        return *e == '=';
}

/* Whether p starts a new challenge: a scheme token followed by whitespace, a comma or the end. */
static bool looks_like_scheme(const char *p) {
        const char *e = scan_token(p);
        return e > p && (!*e || *e == ',' || is_ws(*e));
}

/* A quoted-string starting at *p (on the opening quote); unescapes into a new string. Returns
 * -EBADMSG when unterminated. */
static int parse_quoted(const char **p, char **ret) {
        const char *s = *p + 1;
        size_t n = 0;
        const char *e = s;
        for (;; e++) {
                if (!*e)
                        return -EBADMSG;
                if (*e == '"')
                        break;
                if (*e == '\\' && e[1])
                        e++;
                n++;
        }
        char *v = malloc(n + 1);
        if (!v)
                return -ENOMEM;
        size_t i = 0;
        for (const char *q = s; q < e; q++) {
                if (*q == '\\' && q + 1 < e)
                        q++;
                v[i++] = *q;
        }
        v[i] = 0;
        *p = e + 1;
        *ret = v;
        return 0;
}

/* An unquoted value. Strictly a token, but some registries send realms such as
 * https://host/token unquoted, so anything up to a separator is taken. */
static int parse_bare(const char **p, char **ret) {
        const char *s = *p, *e = s;
        while (*e && *e != ',' && !is_ws(*e) && *e != '"' && (unsigned char) *e >= 0x20 && *e != 0x7f)
                e++;
        if (e == s)
                return -EBADMSG;
        char *v = strndup(s, e - s);
        if (!v)
                return -ENOMEM;
        *p = e;
        *ret = v;
        return 0;
}

static void challenge_done(struct auth_challenge *c) {
        free(c->scheme_name);
        free(c->realm);
        free(c->service);
        free(c->scope);
        free(c->error);
        *c = (struct auth_challenge) {};
}

void auth_challenges_free(struct auth_challenge *c, size_t n) {
        if (!c)
                return;
        for (size_t i = 0; i < n; i++)
                challenge_done(&c[i]);
        free(c);
}

static char **challenge_field(struct auth_challenge *c, const char *name, size_t len) {
        static const struct {
                const char *name;
                size_t offset;
        } fields[] = {
                { "realm", offsetof(struct auth_challenge, realm) },
                { "service", offsetof(struct auth_challenge, service) },
                { "scope", offsetof(struct auth_challenge, scope) },
                { "error", offsetof(struct auth_challenge, error) },
        };
        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                if (strlen(fields[i].name) == len && strncasecmp(fields[i].name, name, len) == 0)
                        return (char **) ((char *) c + fields[i].offset);
        return NULL;
}

/* Parses the parameters (or token68) of one challenge; *p is just past the scheme. Leaves *p at
 * the start of the next challenge or at the end. */
static int parse_params(const char **p, struct auth_challenge *c) {
        const char *q = skip_ws(*p);

        /* token68: no "name=" pair follows, only the token68 and its padding. */
        const char *e = q;
        while (is_token68_char(*e))
                e++;
        if (e > q) {
                while (*e == '=')
                        e++;
                const char *after = skip_ws(e);
                if (*after == ',' || !*after) {
                        *p = after;
                        return 0;
                }
        }

        for (;;) {
                q = skip_ws(q);
                if (!*q)
                        break;
                if (*q == ',') {
                        /* A list separator: what follows is another parameter, the next challenge, or
                         * junk to skip. */
                        const char *n = q;
                        while (*n == ',' || is_ws(*n))
                                n++;
                        if (!*n || (!looks_like_param(n) && looks_like_scheme(n))) {
                                q = n;
                                break;
                        }
                        q = looks_like_param(n) ? n : skip_element(n);
                        continue;
                }
                const char *name = q;
                const char *name_end = scan_token(q);
                if (name_end == name) {
                        q = skip_element(q);
                        continue;
                }
                q = skip_ws(name_end);
                if (*q != '=') {
                        /* A new challenge without a separating comma is not valid; resynchronise. */
                        q = skip_element(q);
                        continue;
                }
                q = skip_ws(q + 1);
                _cleanup_free_ char *value = NULL;
                int r = *q == '"' ? parse_quoted(&q, &value) : parse_bare(&q, &value);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        q = *q == '"' ? q + strlen(q) : skip_element(q);
                        continue;
                }
                q = skip_ws(q);
                if (*q && *q != ',') {
                        /* Junk after the value: the parameter is malformed, drop it. */
                        q = skip_element(q);
                        continue;
                }
                char **field = challenge_field(c, name, name_end - name);
                if (field && !*field)
                        *field = TAKE_PTR(value);
        }
        *p = q;
        return 0;
}

static int parse_value(const char *v, struct auth_challenge **list, size_t *n) {
        if (strlen(v) > MAX_HEADER_VALUE)
                return -E2BIG;
        const char *p = v;
        for (;;) {
                while (*p == ',' || is_ws(*p))
                        p++;
                if (!*p)
                        return 0;
                const char *e = scan_token(p);
                if (e == p || (*e && *e != ',' && !is_ws(*e))) {
                        p = skip_element(p);
                        continue;
                }
                if (*n >= MAX_CHALLENGES)
                        return -E2BIG;
                struct auth_challenge c = {};
                c.scheme_name = strndup(p, e - p);
                if (!c.scheme_name)
                        return -ENOMEM;
                c.scheme = strcasecmp(c.scheme_name, "bearer") == 0  ? AUTH_SCHEME_BEARER
                           : strcasecmp(c.scheme_name, "basic") == 0 ? AUTH_SCHEME_BASIC
                                                                     : AUTH_SCHEME_OTHER;
                p = e;
                int r = parse_params(&p, &c);
                if (r < 0) {
                        challenge_done(&c);
                        return r;
                }
                struct auth_challenge *nl = realloc(*list, (*n + 1) * sizeof(**list));
                if (!nl) {
                        challenge_done(&c);
                        return -ENOMEM;
                }
                *list = nl;
                nl[(*n)++] = c;
        }
}

int auth_parse_challenges(const char *const *values, struct auth_challenge **ret, size_t *ret_n) {
        if (!ret || !ret_n)
                return -EINVAL;
        struct auth_challenge *list = NULL;
        size_t n = 0;
        for (const char *const *v = values; v && *v; v++) {
                int r = parse_value(*v, &list, &n);
                if (r < 0) {
                        auth_challenges_free(list, n);
                        return r;
                }
        }
        *ret = list;
        *ret_n = n;
        return 0;
}

const struct auth_challenge *auth_pick_challenge(const struct auth_challenge *c, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (c[i].scheme == AUTH_SCHEME_BEARER)
                        return &c[i];
        for (size_t i = 0; i < n; i++)
                if (c[i].scheme == AUTH_SCHEME_BASIC)
                        return &c[i];
        return NULL;
}

/* ---- credentials and base64 ---- */

void auth_credentials_done(struct auth_credentials *c) {
        if (!c)
                return;
        free(c->username);
        util_free_secret(c->password);
        util_free_secret(c->identity_token);
        *c = (struct auth_credentials) {};
}

static int strdup_opt(const char *s, char **ret) {
        if (!s) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

int auth_credentials_copy(const struct auth_credentials *src, struct auth_credentials *ret) {
        struct auth_credentials c = {};
        if (src && (strdup_opt(src->username, &c.username) < 0 || strdup_opt(src->password, &c.password) < 0 ||
                    strdup_opt(src->identity_token, &c.identity_token) < 0)) {
                auth_credentials_done(&c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

bool auth_credentials_is_anonymous(const struct auth_credentials *c) {
        return !c || (!c->username && !c->password && !c->identity_token);
}

static const char base64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *base64_encode(const unsigned char *d, size_t len) {
        char *out = malloc((len + 2) / 3 * 4 + 1);
        if (!out)
                return NULL;
        char *o = out;
        for (size_t i = 0; i < len; i += 3) {
                uint32_t v = (uint32_t) d[i] << 16;
                if (i + 1 < len)
                        v |= (uint32_t) d[i + 1] << 8;
                if (i + 2 < len)
                        v |= d[i + 2];
                *o++ = base64_alphabet[(v >> 18) & 63];
                *o++ = base64_alphabet[(v >> 12) & 63];
                *o++ = i + 1 < len ? base64_alphabet[(v >> 6) & 63] : '=';
                *o++ = i + 2 < len ? base64_alphabet[v & 63] : '=';
        }
        *o = 0;
        return out;
}

static int base64_value(char c) {
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '+' || c == '-')
                return 62;
        if (c == '/' || c == '_')
                return 63;
        return -1;
}

int auth_base64_decode(const char *s, size_t len, char **ret, size_t *ret_len) {
        while (len > 0 && s[len - 1] == '=')
                len--;
        if (len % 4 == 1)
                return -EBADMSG;
        char *out = malloc(len / 4 * 3 + 3);
        if (!out)
                return -ENOMEM;
        size_t o = 0;
        uint32_t acc = 0;
        unsigned bits = 0;
        for (size_t i = 0; i < len; i++) {
                int v = base64_value(s[i]);
                if (v < 0) {
                        explicit_bzero(out, o);
                        free(out);
                        return -EBADMSG;
                }
                acc = (acc << 6) | (uint32_t) v;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        out[o++] = (char) ((acc >> bits) & 0xff);
                }
        }
        out[o] = 0;
        *ret = out;
        if (ret_len)
                *ret_len = o;
        return 0;
}

char *auth_basic_header(const struct auth_credentials *creds) {
        if (!creds || !creds->username || !creds->password)
                return NULL;
        char *plain = util_printf("%s:%s", creds->username, creds->password);
        if (!plain)
                return NULL;
        char *b64 = base64_encode((const unsigned char *) plain, strlen(plain));
        util_free_secret(plain);
        if (!b64)
                return NULL;
        char *h = util_printf("Basic %s", b64);
        util_free_secret(b64);
        return h;
}

/* ---- token cache and fetches in flight ---- */

struct pending;

struct auth_cache {
        struct token_cache *tokens;
        struct pending *pending;
};

int auth_cache_new(struct auth_cache **ret) {
        struct auth_cache *c = calloc(1, sizeof(*c));
        if (!c || token_cache_new(&c->tokens) < 0) {
                free(c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

const char *auth_cache_lookup(struct auth_cache *c, const struct token_cache_key *key, const char *scope,
                              int64_t now_ms) {
        return c ? token_cache_lookup(c->tokens, key, scope, now_ms) : NULL;
}

/* ---- token responses ---- */

static bool parse_digits(const char **p, unsigned n, int *ret) {
        int v = 0;
        for (unsigned i = 0; i < n; i++) {
                if (!isdigit((unsigned char) (*p)[i]))
                        return false;
                v = v * 10 + ((*p)[i] - '0');
        }
        *p += n;
        *ret = v;
        return true;
}

/* RFC 3339 as token servers write it ("2026-11-28T13:00:00.123456789Z", or with an offset). */
static bool parse_rfc3339_ms(const char *s, int64_t *ret) {
        int Y, M, D, h, m, sec;
        const char *p = s;
        if (!parse_digits(&p, 4, &Y) || *p++ != '-' || !parse_digits(&p, 2, &M) || *p++ != '-' ||
            !parse_digits(&p, 2, &D) || (*p != 'T' && *p != 't' && *p != ' '))
                return false;
        p++;
        if (!parse_digits(&p, 2, &h) || *p++ != ':' || !parse_digits(&p, 2, &m) || *p++ != ':' ||
            !parse_digits(&p, 2, &sec))
                return false;
        if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
                return false;
        int ms = 0;
        if (*p == '.') {
                p++;
                unsigned digits = 0;
                while (isdigit((unsigned char) *p)) {
                        if (digits < 3)
                                ms = ms * 10 + (*p - '0');
                        digits++;
                        p++;
                }
                if (digits == 0)
                        return false;
                for (; digits < 3; digits++)
                        ms *= 10;
        }
        int offset_s = 0;
        if (*p == 'Z' || *p == 'z')
                p++;
        else if (*p == '+' || *p == '-') {
                int sign = *p++ == '-' ? -1 : 1, oh, om;
                if (!parse_digits(&p, 2, &oh) || *p++ != ':' || !parse_digits(&p, 2, &om) || oh > 23 || om > 59)
                        return false;
                offset_s = sign * (oh * 3600 + om * 60);
        } else
                return false;
        if (*p)
                return false;
        struct tm tm = { .tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D, .tm_hour = h, .tm_min = m, .tm_sec = sec };
        time_t t = timegm(&tm);
        *ret = ((int64_t) t - offset_s) * 1000 + ms;
        return true;
}

int auth_parse_token_response(const char *body, size_t len, int64_t now_ms, char **ret_token,
                              int64_t *ret_expires_at_ms) {
        if (!body || len > MAX_TOKEN_RESPONSE)
                return -EBADMSG;
        cJSON *j = cJSON_ParseWithLength(body, len);
        if (!j)
                return -EBADMSG;
        int r = -EBADMSG;
        if (!cJSON_IsObject(j))
                goto out;
        /* Docker prefers "token" and falls back to the OAuth2 name. */
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "token");
        if (!cJSON_IsString(t) || !*t->valuestring)
                t = cJSON_GetObjectItemCaseSensitive(j, "access_token");
        if (!cJSON_IsString(t) || !token_cache_token_valid(t->valuestring))
                goto out;

        int64_t expires_in = DEFAULT_EXPIRES_IN_S;
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, "expires_in");
        if (cJSON_IsNumber(x) && x->valuedouble >= 1)
                expires_in = x->valuedouble > MAX_EXPIRES_IN_S ? MAX_EXPIRES_IN_S : (int64_t) x->valuedouble;
        int64_t start = now_ms, issued;
        const cJSON *ia = cJSON_GetObjectItemCaseSensitive(j, "issued_at");
        /* issued_at only shortens the lifetime (a token that waited somewhere); a clock ahead of
         * ours or a stale value would be skew, not information. */
        if (cJSON_IsString(ia) && parse_rfc3339_ms(ia->valuestring, &issued) && issued <= now_ms &&
            issued > now_ms - expires_in * 1000)
                start = issued;

        char *token = strdup(t->valuestring);
        if (!token) {
                r = -ENOMEM;
                goto out;
        }
        *ret_token = token;
        *ret_expires_at_ms = start + expires_in * 1000;
        r = 0;
out:
        /* The parsed tree holds the token: wipe it before freeing. */
        if (cJSON_IsObject(j))
                for (cJSON *i = j->child; i; i = i->next)
                        if (cJSON_IsString(i) && i->valuestring)
                                explicit_bzero(i->valuestring, strlen(i->valuestring));
        cJSON_Delete(j);
        return r;
}

/* The scopes a JWT's "access" claim grants out of the wanted ones. Returns -ENOENT when the token
 * is not a JWT with such a claim (an opaque token: assume everything was granted). */
static int jwt_granted_scopes(const char *token, char *const *wanted, char ***ret) {
        const char *d1 = strchr(token, '.');
        const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
        if (!d2 || strchr(d2 + 1, '.'))
                return -ENOENT;
        _cleanup_free_ char *payload = NULL;
        size_t payload_len;
        int r = auth_base64_decode(d1 + 1, d2 - d1 - 1, &payload, &payload_len);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return -ENOENT;
        cJSON *j = cJSON_ParseWithLength(payload, payload_len);
        const cJSON *access = cJSON_GetObjectItemCaseSensitive(j, "access");
        if (!cJSON_IsArray(access)) {
                cJSON_Delete(j);
                return -ENOENT;
        }
        _cleanup_strv_free_ char **granted = NULL;
        for (char *const *w = wanted; w && *w; w++) {
                struct scope ws;
                if (!scope_split(*w, strlen(*w), &ws))
                        continue;
                /* "repository(plugin)" is type "repository" with a class in the claim. */
                size_t type_len = strcspn(ws.type, "(");
                if (type_len > ws.type_len)
                        type_len = ws.type_len;
                _cleanup_free_ char *actions = NULL;
                const cJSON *a;
                cJSON_ArrayForEach(a, access) {
                        const cJSON *type = cJSON_GetObjectItemCaseSensitive(a, "type");
                        const cJSON *name = cJSON_GetObjectItemCaseSensitive(a, "name");
                        const cJSON *acts = cJSON_GetObjectItemCaseSensitive(a, "actions");
                        if (!cJSON_IsString(type) || !cJSON_IsString(name) || !cJSON_IsArray(acts) ||
                            strlen(type->valuestring) != type_len || strncmp(type->valuestring, ws.type, type_len) != 0 ||
                            strlen(name->valuestring) != ws.name_len ||
                            strncmp(name->valuestring, ws.name, ws.name_len) != 0)
                                continue;
                        const cJSON *act;
                        cJSON_ArrayForEach(act, acts) {
                                if (!cJSON_IsString(act))
                                        continue;
                                const char *s = act->valuestring;
                                if (!scope_action_in(ws.actions, ws.actions_len, s, strlen(s)) && !streq(s, "*"))
                                        continue;
                                if (actions && scope_action_in(actions, strlen(actions), s, strlen(s)))
                                        continue;
                                char *n = actions ? util_printf("%s,%s", actions, s) : strdup(s);
                                if (!n) {
                                        cJSON_Delete(j);
                                        return -ENOMEM;
                                }
                                free(actions);
                                actions = n;
                        }
                }
                if (!actions)
                        continue;
                char *g = util_printf("%.*s:%.*s:%s", (int) ws.type_len, ws.type, (int) ws.name_len, ws.name, actions);
                if (util_strv_consume(&granted, g) < 0) {
                        cJSON_Delete(j);
                        return -ENOMEM;
                }
        }
        cJSON_Delete(j);
        if (!granted) {
                granted = calloc(1, sizeof(char *));
                if (!granted)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(granted);
        return 0;
}

/* ---- realms ---- */

/* The realm for messages: scheme://host/path, without userinfo or query (which could carry
 * something the issuer did not mean to be printed). */
static char *realm_for_message(const char *realm) {
        const char *s = strstr(realm, "://");
        const char *auth = s ? s + 3 : realm;
        size_t auth_len = strcspn(auth, "/?#");
        const char *at = memchr(auth, '@', auth_len);
        const char *host = at ? at + 1 : auth;
        size_t rest = strcspn(host, "?#");
        if (rest > 200)
                rest = 200;
        return util_printf("%.*s%.*s", (int) (auth - realm), realm, (int) rest, host);
}

int auth_check_realm(const char *realm, const struct auth_registry *registry, bool with_credentials,
                     char **ret_error) {
        const char *why = NULL;
        const char *rest;
        const char *base = registry ? registry->base_url : NULL;
        bool registry_is_https = base && util_startswith_no_case(base, "https://");
        bool plain = false;
        if (!realm || !*realm)
                why = "is empty";
        else if (strlen(realm) > MAX_REALM)
                why = "is too long";
        else if ((rest = util_startswith_no_case(realm, "https://")))
                ;
        else if ((rest = util_startswith_no_case(realm, "http://"))) {
                plain = true;
                if (registry_is_https)
                        why = "would downgrade an https registry to plain http";
        } else
                why = "is not an http(s) URL";
        if (!why) {
                size_t auth_len = strcspn(rest, "/?#");
                if (auth_len == 0)
                        why = "has no host";
                else if (memchr(rest, '@', auth_len))
                        why = "carries credentials";
                for (const char *p = realm; !why && *p; p++)
                        if ((unsigned char) *p <= 0x20 || (unsigned char) *p >= 0x7f)
                                why = "contains characters not allowed in a URL";
        }
        /* Over plain HTTP, credentials may go to the registry's own host only: anyone on the path to
         * another host could read them. */
        bool leak = !why && plain && with_credentials && !(base && host_same_in_urls(realm, base));
        if (!why && !leak)
                return 0;
        if (ret_error) {
                _cleanup_free_ char *shown = realm ? realm_for_message(realm) : NULL;
                if (leak)
                        *ret_error = util_printf("token realm \"%s\" refused: credentials for %s are not sent "
                                                 "over plain HTTP to another host",
                                                 shown ? shown : "",
                                                 registry && registry->host ? registry->host : "the registry");
                else
                        *ret_error = util_printf("token realm \"%s\" refused: it %s", shown ? shown : "", why);
        }
        return -EPERM;
}

/* ---- token fetches ---- */

struct waiter {
        auth_token_fn cb;
        void *userdata;
        struct waiter *next;
};

struct pending {
        struct auth_cache *cache; /* NULL once the cache was freed */
        char *registry, *realm, *service;
        char **scopes;
        char fingerprint[72];
        struct auth_credentials creds; /* kept to scrub them from any server text we repeat */
        struct waiter *waiters, **waiters_tail;
        struct pending *next;
};

static void pending_free(struct pending *p) {
        free(p->registry);
        free(p->realm);
        free(p->service);
        util_strv_free(p->scopes);
        auth_credentials_done(&p->creds);
        for (struct waiter *w = p->waiters, *n; w; w = n) {
                n = w->next;
                free(w);
        }
        free(p);
}

void auth_cache_free(struct auth_cache *c) {
        if (!c)
                return;
        for (struct pending *p = c->pending; p; p = p->next)
                p->cache = NULL;
        token_cache_free(c->tokens);
        free(c);
}

void auth_credentials_fingerprint(const struct auth_credentials *creds, char buf[static 72]) {
        if (auth_credentials_is_anonymous(creds)) {
                buf[0] = 0;
                return;
        }
        const char *parts[] = { creds->username, creds->password, creds->identity_token };
        size_t len = 0;
        for (size_t i = 0; i < ELEMENTSOF(parts); i++)
                len += (parts[i] ? strlen(parts[i]) : 0) + 2;
        _cleanup_free_ char *data = malloc(len);
        if (!data) {
                /* Unique enough: nothing coalesces with an unfingerprinted fetch. */
                snprintf(buf, 72, "unique:%p", (void *) creds);
                return;
        }
        size_t o = 0;
        for (size_t i = 0; i < ELEMENTSOF(parts); i++) {
                data[o++] = parts[i] ? 1 : 0;
                size_t n = parts[i] ? strlen(parts[i]) : 0;
                memcpy(data + o, parts[i] ? parts[i] : "", n);
                o += n;
                data[o++] = 0;
        }
        util_sha256_digest(data, o, buf);
        explicit_bzero(data, o);
}

static char *url_escape(const char *s) {
        size_t n = 0;
        for (const char *p = s; *p; p++)
                n += isalnum((unsigned char) *p) || strchr("-._~", *p) ? 1 : 3;
        char *out = malloc(n + 1), *o = out;
        if (!out)
                return NULL;
        for (const char *p = s; *p; p++) {
                if (isalnum((unsigned char) *p) || strchr("-._~", *p))
                        *o++ = *p;
                else
                        o += sprintf(o, "%%%02X", (unsigned char) *p);
        }
        *o = 0;
        return out;
}

static int append_param(char **url, char *sep, const char *name, const char *value) {
        _cleanup_free_ char *v = url_escape(value);
        if (!v)
                return -ENOMEM;
        char *n = util_printf("%s%c%s=%s", *url, *sep, name, v);
        if (!n)
                return -ENOMEM;
        free(*url);
        *url = n;
        *sep = '&';
        return 0;
}

static char *token_url(const char *realm, const char *service, char *const *scopes) {
        _cleanup_free_ char *url = strdup(realm);
        if (!url)
                return NULL;
        /* A fragment would swallow our parameters. */
        url[strcspn(url, "#")] = 0;
        char sep = strchr(url, '?') ? '&' : '?';
        if (service && append_param(&url, &sep, "service", service) < 0)
                return NULL;
        for (char *const *s = scopes; s && *s; s++)
                if (append_param(&url, &sep, "scope", *s) < 0)
                        return NULL;
        return TAKE_PTR(url);
}

/* The form of docker's OAuth2 refresh-token grant: the scopes space-separated in one parameter. */
static char *oauth_form(const char *service, char *const *scopes, const char *refresh_token) {
        _cleanup_free_ char *form = strdup("grant_type=refresh_token");
        _cleanup_free_ char *joined = strdup("");
        char sep = '&';
        if (!form || !joined)
                return NULL;
        for (char *const *s = scopes; s && *s; s++) {
                char *j = util_printf("%s%s%s", joined, *joined ? " " : "", *s);
                if (!j)
                        return NULL;
                free(joined);
                joined = j;
        }
        if ((service && append_param(&form, &sep, "service", service) < 0) ||
            append_param(&form, &sep, "client_id", "extupdated") < 0 ||
            (*joined && append_param(&form, &sep, "scope", joined) < 0) ||
            append_param(&form, &sep, "refresh_token", refresh_token) < 0)
                return NULL;
        return TAKE_PTR(form);
}

/* A short, printable excerpt of the issuer's error, unless it repeats a secret we sent. */
static char *server_detail(const struct http_response *resp, const struct auth_credentials *creds) {
        if (!resp->body || resp->body_len == 0)
                return NULL;
        cJSON *j = cJSON_ParseWithLength(resp->body, resp->body_len);
        const char *text = NULL;
        const cJSON *errors = cJSON_GetObjectItemCaseSensitive(j, "errors");
        const cJSON *first = cJSON_IsArray(errors) ? cJSON_GetArrayItem(errors, 0) : NULL;
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(first, "message");
        if (!cJSON_IsString(m))
                m = cJSON_GetObjectItemCaseSensitive(j, "details");
        if (!cJSON_IsString(m))
                m = cJSON_GetObjectItemCaseSensitive(j, "error_description");
        if (!cJSON_IsString(m))
                m = cJSON_GetObjectItemCaseSensitive(j, "error");
        if (cJSON_IsString(m))
                text = m->valuestring;
        char *out = NULL;
        /* Looked for in the server's own text: quoting could hide a secret from the search. */
        if (text && *text &&
            !(creds && ((creds->password && *creds->password && strstr(text, creds->password)) ||
                        (creds->identity_token && *creds->identity_token && strstr(text, creds->identity_token)))))
                out = text_quote_str(text, MAX_SERVER_DETAIL);
        cJSON_Delete(j);
        return out;
}

static void pending_finish(struct pending *p, int error, const char *token, const char *message) {
        if (p->cache) {
                for (struct pending **i = &p->cache->pending; *i; i = &(*i)->next)
                        if (*i == p) {
                                *i = p->next;
                                break;
                        }
        }
        /* A callback may start new fetches: p is already out of the list. */
        for (struct waiter *w = p->waiters; w; w = w->next)
                w->cb(error, error ? NULL : token, error ? message : NULL, w->userdata);
        pending_free(p);
}

static void on_token_response(const struct http_response *resp, void *userdata) {
        struct pending *p = userdata;
        _cleanup_free_ char *shown = realm_for_message(p->realm);
        _cleanup_free_ char *message = NULL;
        const char *where = shown ? shown : "token realm";

        if (!p->cache) {
                message = util_printf("token request to %s canceled", where);
                pending_finish(p, -ECANCELED, NULL, message);
                return;
        }
        if (resp->error) {
                if (resp->error == -EFBIG)
                        message = util_printf("token request to %s: response larger than %u bytes", where,
                                              MAX_TOKEN_RESPONSE);
                else if (resp->status > 0)
                        message = util_printf("token request to %s failed after HTTP %ld: %s", where, resp->status,
                                              resp->error_message ? resp->error_message : strerror(-resp->error));
                else
                        message = util_printf("token request to %s failed: %s", where,
                                              resp->error_message ? resp->error_message : strerror(-resp->error));
                pending_finish(p, resp->error, NULL, message);
                return;
        }
        if (resp->status != 200) {
                _cleanup_free_ char *detail = server_detail(resp, &p->creds);
                message = util_printf("token request to %s failed: HTTP %ld%s%s", where, resp->status,
                                      detail ? ": " : "", detail ? detail : "");
                pending_finish(p, resp->status == 401 || resp->status == 403 ? -EACCES : -EPROTO, NULL, message);
                return;
        }

        int64_t now = util_now_ms(), expires_at;
        char *token = NULL;
        int r = auth_parse_token_response(resp->body, resp->body_len, now, &token, &expires_at);
        if (r < 0) {
                message = util_printf("token response from %s (HTTP %ld) %s", where, resp->status,
                                      r == -ENOMEM ? "could not be stored: out of memory"
                                                   : "is not JSON with a usable token");
                pending_finish(p, r, NULL, message);
                return;
        }
        _cleanup_strv_free_ char **granted = NULL;
        r = jwt_granted_scopes(token, p->scopes, &granted);
        if (r >= 0 || r == -ENOENT)
                r = token_cache_store(p->cache->tokens,
                                     &(struct token_cache_key) { .registry = p->registry, .credentials = p->fingerprint,
                                                                 .realm = p->realm, .service = p->service },
                                     (const char *const *) (granted ? granted : p->scopes), token, now, expires_at);
        if (r < 0) {
                util_free_secret(token);
                message = util_printf("token from %s (HTTP %ld) could not be stored: %s", where, resp->status,
                                      strerror(-r));
                pending_finish(p, r, NULL, message);
                return;
        }
        pending_finish(p, 0, token, NULL);
        util_free_secret(token);
}

static bool pending_matches(const struct pending *p, const char *registry, const char *realm, const char *service,
                            const char *fingerprint, char *const *scopes) {
        if (strcasecmp(p->registry, registry) != 0 || !streq(p->realm, realm) || !streq_ptr(p->service, service) ||
            !streq(p->fingerprint, fingerprint))
                return false;
        for (char *const *s = scopes; s && *s; s++)
                if (!scope_list_covers(p->scopes, *s))
                        return false;
        return true;
}

int auth_fetch_token(struct auth_cache *c, struct http_client *http, const struct auth_registry *registry,
                     const struct auth_challenge *challenge, const char *const *scopes,
                     const struct auth_credentials *creds, auth_token_fn cb, void *userdata) {
        if (!c || !http || !registry || !registry->host || !registry->base_url || !challenge ||
            challenge->scheme != AUTH_SCHEME_BEARER || !challenge->realm || !cb)
                return -EINVAL;
        int r = auth_check_realm(challenge->realm, registry, !auth_credentials_is_anonymous(creds), NULL);
        if (r < 0)
                return r;
        const char *own[] = { challenge->scope, NULL };
        _cleanup_strv_free_ char **wanted = NULL;
        r = scope_list_normalize(scopes ? scopes : own, &wanted);
        if (r < 0)
                return r;
        char fingerprint[72];
        auth_credentials_fingerprint(creds, fingerprint);

        struct waiter *w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        *w = (struct waiter) { .cb = cb, .userdata = userdata };

        for (struct pending *p = c->pending; p; p = p->next)
                if (pending_matches(p, registry->host, challenge->realm, challenge->service, fingerprint, wanted)) {
                        *p->waiters_tail = w;
                        p->waiters_tail = &w->next;
                        return 0;
                }

        struct pending *p = calloc(1, sizeof(*p));
        if (!p) {
                free(w);
                return -ENOMEM;
        }
        p->cache = c;
        p->registry = strdup(registry->host);
        p->realm = strdup(challenge->realm);
        p->service = challenge->service ? strdup(challenge->service) : NULL;
        p->scopes = TAKE_PTR(wanted);
        if (!p->scopes)
                p->scopes = calloc(1, sizeof(char *));
        memcpy(p->fingerprint, fingerprint, sizeof(fingerprint));
        p->waiters = w;
        p->waiters_tail = &w->next;
        if (!p->registry || !p->realm || (challenge->service && !p->service) || !p->scopes ||
            auth_credentials_copy(creds, &p->creds) < 0) {
                pending_free(p);
                return -ENOMEM;
        }

        bool oauth = creds && creds->identity_token && *creds->identity_token;
        _cleanup_free_ char *url = oauth ? strdup(p->realm) : token_url(p->realm, p->service, p->scopes);
        char *form = NULL;
        char *authorization = NULL;
        if (oauth) {
                /* Docker's exchange of an identity (refresh) token: an OAuth2 form POST to the realm. */
                form = oauth_form(p->service, p->scopes, creds->identity_token);
                if (!form) {
                        pending_free(p);
                        return -ENOMEM;
                }
        } else if (creds && creds->username && creds->password) {
                _cleanup_free_ char *basic = auth_basic_header(creds);
                authorization = basic ? util_printf("Authorization: %s", basic) : NULL;
                if (basic)
                        explicit_bzero(basic, strlen(basic));
                if (!authorization) {
                        pending_free(p);
                        return -ENOMEM;
                }
        }
        if (!url) {
                util_free_secret(authorization);
                util_free_secret(form);
                pending_free(p);
                return -ENOMEM;
        }
        const char *headers[] = { "Accept: application/json", authorization, NULL };
        struct http_request req = {
                .method = oauth ? "POST" : "GET",
                .url = url,
                .headers = headers,
                .max_body = MAX_TOKEN_RESPONSE,
                .follow_redirects = !oauth,
                .body = form,
                .body_len = form ? strlen(form) : 0,
                .ca_file = registry->ca_file,
        };
        r = http_submit(http, &req, on_token_response, p);
        util_free_secret(authorization);
        util_free_secret(form);
        if (r < 0) {
                pending_free(p);
                return r;
        }
        p->next = c->pending;
        c->pending = p;
        return 0;
}
