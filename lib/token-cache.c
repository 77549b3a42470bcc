/* Bearer tokens kept until shortly before they expire, per registry, credentials, realm and scope. */
#include "token-cache.h"

#include <errno.h>
#include <strings.h>

#include "hashmap.h"
#include "scope.h"
#include "util.h"

/* Refresh this long before expiry (capped at a quarter of the lifetime), so a token never
 * expires between our lookup and the registry checking it. */
#define REFRESH_MARGIN_MS 10000

struct entry;

/* One scope of an entry, as the bucket of its resource lists it. */
struct holder {
        struct entry *entry;
        const char *scope; /* the entry's own string */
};

/* The entries holding a scope on one resource ("type:name:"). */
struct bucket {
        struct holder *v;
        size_t n, cap;
};

/* The tokens of one key, indexed by resource. Groups live as long as the cache: there are as
 * many as registries and credentials in a scan. */
struct group {
        char *registry, *credentials, *realm, *service;
        struct hashmap *resources;
        struct group *next;
};

struct entry {
        struct group *group;
        char *token;
        char **scopes; /* one per resource (actions merged), NULL-terminated */
        size_t n_scopes;
        int64_t refresh_at_ms;
        size_t index;           /* in the cache's array */
        unsigned mark, covered; /* scopes a newer token covers, while it is stored */
};

struct token_cache {
        struct entry **entries;
        size_t n_entries, cap;
        struct group *groups;
        unsigned mark;
};

static void entry_free(struct entry *e) {
        if (!e)
                return;
        util_free_secret(e->token);
        util_strv_free(e->scopes);
        free(e);
}

static void bucket_free(void *p) {
        struct bucket *b = p;
        free(b->v);
        free(b);
}

static void group_free(struct group *g) {
        free(g->registry);
        free(g->credentials);
        free(g->realm);
        free(g->service);
        hashmap_free(g->resources, bucket_free);
        free(g);
}

int token_cache_new(struct token_cache **ret) {
        struct token_cache *c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        *ret = c;
        return 0;
}

void token_cache_free(struct token_cache *c) {
        if (!c)
                return;
        for (size_t i = 0; i < c->n_entries; i++)
                entry_free(c->entries[i]);
        free(c->entries);
        while (c->groups) {
                struct group *g = c->groups;
                c->groups = g->next;
                group_free(g);
        }
        free(c);
}

static const char *key_credentials(const struct token_cache_key *k) {
        return k->credentials ? k->credentials : "";
}

static bool key_valid(const struct token_cache_key *k) {
        return k && k->registry && k->realm;
}

static struct group *group_find(const struct token_cache *c, const struct token_cache_key *k) {
        for (struct group *g = c->groups; g; g = g->next)
                if (strcasecmp(g->registry, k->registry) == 0 && streq(g->credentials, key_credentials(k)) &&
                    streq(g->realm, k->realm) && streq_ptr(g->service, k->service))
                        return g;
        return NULL;
}

static int group_get(struct token_cache *c, const struct token_cache_key *k, struct group **ret) {
        struct group *g = group_find(c, k);
        if (g) {
                *ret = g;
                return 0;
        }
        g = calloc(1, sizeof *g);
        if (!g)
                return -ENOMEM;
        g->registry = strdup(k->registry);
        g->credentials = strdup(key_credentials(k));
        g->realm = strdup(k->realm);
        g->service = k->service ? strdup(k->service) : NULL;
        if (!g->registry || !g->credentials || !g->realm || (k->service && !g->service) ||
            hashmap_new(&g->resources) < 0) {
                group_free(g);
                return -ENOMEM;
        }
        g->next = c->groups;
        c->groups = g;
        *ret = g;
        return 0;
}

static struct bucket *bucket_of(const struct group *g, const char *scope, size_t len) {
        return hashmap_get(g->resources, scope, scope_resource_len(scope, len));
}

/* Whether e holds a scope covering the single scope w[0..len). */
static bool entry_covers(const struct group *g, const struct entry *e, const char *w, size_t len) {
        const struct bucket *b = bucket_of(g, w, len);
        for (size_t i = 0; b && i < b->n; i++)
                if (b->v[i].entry == e && scope_covers(b->v[i].scope, strlen(b->v[i].scope), w, len))
                        return true;
        return false;
}

/* Whether e covers every space-separated scope in s. */
static bool entry_covers_all(const struct group *g, const struct entry *e, const char *s) {
        for (;;) {
                while (*s == ' ')
                        s++;
                if (!*s)
                        return true;
                size_t n = strcspn(s, " ");
                if (!entry_covers(g, e, s, n))
                        return false;
                s += n;
        }
}

/* The longest-lived valid entry; among equals the later one. */
static bool better(const struct entry *e, const struct entry *best) {
        return !best || e->refresh_at_ms >= best->refresh_at_ms;
}

const char *token_cache_lookup(struct token_cache *c, const struct token_cache_key *key, const char *scope,
                               int64_t now_ms) {
        if (!c || !key_valid(key))
                return NULL;
        const struct group *g = group_find(c, key);
        if (!g)
                return NULL;
        const char *first = scope;
        while (first && *first == ' ')
                first++;
        const struct entry *best = NULL;
        if (!first || !*first) {
                for (size_t i = 0; i < c->n_entries; i++) {
                        const struct entry *e = c->entries[i];
                        if (e->group == g && now_ms < e->refresh_at_ms && better(e, best))
                                best = e;
                }
                return best ? best->token : NULL;
        }
        /* Candidates come from the first scope's resource; the others must be held by the same entry. */
        size_t n = strcspn(first, " ");
        const struct bucket *b = bucket_of(g, first, n);
        for (size_t i = 0; b && i < b->n; i++) {
                const struct entry *e = b->v[i].entry;
                if (now_ms >= e->refresh_at_ms || !better(e, best) ||
                    !scope_covers(b->v[i].scope, strlen(b->v[i].scope), first, n) ||
                    !entry_covers_all(g, e, first + n))
                        continue;
                best = e;
        }
        return best ? best->token : NULL;
}

static void cache_remove(struct token_cache *c, struct entry *e) {
        for (size_t s = 0; s < e->n_scopes; s++) {
                struct bucket *b = bucket_of(e->group, e->scopes[s], strlen(e->scopes[s]));
                for (size_t i = 0; b && i < b->n; i++)
                        if (b->v[i].entry == e) {
                                b->v[i] = b->v[--b->n];
                                break;
                        }
        }
        c->entries[e->index] = c->entries[--c->n_entries];
        c->entries[e->index]->index = e->index;
        entry_free(e);
}

/* Makes room for one entry: expired ones go first, then the one closest to its refresh. */
static void cache_make_room(struct token_cache *c, int64_t now_ms) {
        for (size_t i = c->n_entries; i > 0; i--)
                if (now_ms >= c->entries[i - 1]->refresh_at_ms)
                        cache_remove(c, c->entries[i - 1]);
        if (c->n_entries < TOKEN_CACHE_MAX_ENTRIES)
                return;
        size_t oldest = 0;
        for (size_t i = 1; i < c->n_entries; i++)
                if (c->entries[i]->refresh_at_ms < c->entries[oldest]->refresh_at_ms)
                        oldest = i;
        cache_remove(c, c->entries[oldest]);
}

bool token_cache_token_valid(const char *t) {
        if (!*t)
                return false;
        for (; *t; t++)
                if ((unsigned char) *t <= 0x20 || (unsigned char) *t >= 0x7f)
                        return false;
        return true;
}

/* Single scopes merged per resource: "repository:a:pull" and "repository:a:push" become
 * "repository:a:pull,push", so each entry holds one scope per resource. */
static int scopes_merge(char **singles, char ***ret, size_t *ret_n) {
        struct hashmap *seen = NULL;
        int r = hashmap_new(&seen);
        if (r < 0)
                return r;
        size_t n = util_strv_length(singles);
        char **merged = calloc(n + 1, sizeof(char *));
        size_t m = 0;
        r = merged ? 0 : -ENOMEM;
        for (size_t i = 0; r >= 0 && i < n; i++) {
                const char *s = singles[i];
                size_t len = strlen(s), res = scope_resource_len(s, len);
                /* Indexes are stored off by one: the map holds no NULL values. */
                uintptr_t at = (uintptr_t) hashmap_get(seen, s, res);
                if (!at) {
                        merged[m] = strdup(s);
                        r = merged[m] ? hashmap_put(seen, s, res, (void *) (uintptr_t) (m + 1)) : -ENOMEM;
                        m++;
                        continue;
                }
                char **into = &merged[at - 1];
                struct scope sc;
                if (!scope_split(s, len, &sc))
                        continue; /* an opaque duplicate */
                size_t into_len = strlen(*into);
                const char *into_actions = *into + scope_resource_len(*into, into_len);
                size_t into_actions_len = into_len - (size_t) (into_actions - *into);
                const char *p = sc.actions, *end = sc.actions + sc.actions_len;
                while (r >= 0 && p < end) {
                        size_t a = strcspn(p, ",");
                        if (a > (size_t) (end - p))
                                a = end - p;
                        if (a > 0 && !scope_action_in(into_actions, into_actions_len, p, a)) {
                                char *joined = util_printf("%s%s%.*s", *into, into_actions_len ? "," : "", (int) a, p);
                                if (!joined) {
                                        r = -ENOMEM;
                                        break;
                                }
                                free(*into);
                                *into = joined;
                                into_len = strlen(joined);
                                into_actions = joined + scope_resource_len(joined, into_len);
                                into_actions_len = into_len - (size_t) (into_actions - joined);
                        }
                        p += a + 1;
                }
        }
        hashmap_free(seen, NULL);
        if (r < 0) {
                util_strv_free(merged);
                return r;
        }
        *ret = merged;
        *ret_n = m;
        return 0;
}

/* Drops the entries of e's group that e makes redundant: it covers each of their scopes and
 * lives at least as long. Counting covered scopes through the index keeps this linear in the
 * scopes involved rather than in the whole cache. */
static int remove_redundant(struct token_cache *c, const struct entry *e) {
        c->mark++;
        struct entry **doomed = NULL;
        size_t n_doomed = 0;
        for (size_t s = 0; s < e->n_scopes; s++) {
                size_t len = strlen(e->scopes[s]);
                const struct bucket *b = bucket_of(e->group, e->scopes[s], len);
                for (size_t i = 0; b && i < b->n; i++) {
                        struct entry *o = b->v[i].entry;
                        if (o->refresh_at_ms > e->refresh_at_ms ||
                            !scope_covers(e->scopes[s], len, b->v[i].scope, strlen(b->v[i].scope)))
                                continue;
                        if (o->mark != c->mark) {
                                o->mark = c->mark;
                                o->covered = 0;
                        }
                        if (++o->covered == o->n_scopes) {
                                struct entry **nd = realloc(doomed, (n_doomed + 1) * sizeof *nd);
                                if (!nd) {
                                        free(doomed);
                                        return -ENOMEM;
                                }
                                doomed = nd;
                                doomed[n_doomed++] = o;
                        }
                }
        }
        /* A token without scopes (for the base endpoint) is redundant beside any newer one. */
        for (size_t i = c->n_entries; i > 0; i--) {
                struct entry *o = c->entries[i - 1];
                if (o->group == e->group && o->n_scopes == 0 && o->refresh_at_ms <= e->refresh_at_ms)
                        cache_remove(c, o);
        }
        for (size_t i = 0; i < n_doomed; i++)
                cache_remove(c, doomed[i]);
        free(doomed);
        return 0;
}

static int bucket_add(struct group *g, struct entry *e, const char *scope) {
        size_t res = scope_resource_len(scope, strlen(scope));
        struct bucket *b = hashmap_get(g->resources, scope, res);
        if (!b) {
                b = calloc(1, sizeof *b);
                if (!b)
                        return -ENOMEM;
                int r = hashmap_put(g->resources, scope, res, b);
                if (r < 0) {
                        free(b);
                        return r;
                }
        }
        if (b->n == b->cap) {
                size_t cap = b->cap ? b->cap * 2 : 2;
                struct holder *v = realloc(b->v, cap * sizeof *v);
                if (!v)
                        return -ENOMEM;
                b->v = v;
                b->cap = cap;
        }
        b->v[b->n++] = (struct holder) { .entry = e, .scope = scope };
        return 0;
}

int token_cache_store(struct token_cache *c, const struct token_cache_key *key, const char *const *scopes,
                      const char *token, int64_t now_ms, int64_t expires_at_ms) {
        if (!c || !key_valid(key) || !token || !token_cache_token_valid(token))
                return -EINVAL;
        int64_t lifetime = expires_at_ms - now_ms;
        if (lifetime <= 0)
                return 0;
        int64_t margin = lifetime / 4 < REFRESH_MARGIN_MS ? lifetime / 4 : REFRESH_MARGIN_MS;

        _cleanup_strv_free_ char **singles = NULL;
        int r = scope_list_normalize(scopes, &singles);
        if (r < 0)
                return r;
        struct entry *e = calloc(1, sizeof *e);
        if (!e)
                return -ENOMEM;
        e->refresh_at_ms = expires_at_ms - margin;
        e->token = strdup(token);
        r = e->token ? scopes_merge(singles, &e->scopes, &e->n_scopes) : -ENOMEM;
        if (r >= 0)
                r = group_get(c, key, &e->group);
        if (r >= 0)
                r = remove_redundant(c, e);
        if (r < 0) {
                entry_free(e);
                return r;
        }
        cache_make_room(c, now_ms);
        if (c->n_entries == c->cap) {
                size_t cap = c->cap ? c->cap * 2 : 16;
                struct entry **v = realloc(c->entries, cap * sizeof *v);
                if (!v) {
                        entry_free(e);
                        return -ENOMEM;
                }
                c->entries = v;
                c->cap = cap;
        }
        e->index = c->n_entries;
        c->entries[c->n_entries++] = e;
        for (size_t s = 0; s < e->n_scopes; s++) {
                r = bucket_add(e->group, e, e->scopes[s]);
                if (r < 0) {
                        /* Holders added so far are taken out with it. */
                        e->n_scopes = s;
                        cache_remove(c, e);
                        return r;
                }
        }
        return 0;
}
