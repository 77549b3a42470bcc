/* String-keyed hash table for the few places where lookups must stay O(1) at allow-list scale. */
#include "hashmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct slot {
        char *key; /* NULL: empty */
        size_t len;
        uint64_t hash;
        void *value;
};

struct hashmap {
        struct slot *slots;
        size_t n_slots; /* a power of two */
        size_t n_used;
        uint64_t seed;
};

/* FNV-1a over the seed and the key, then a final mix (splitmix64) so low bits depend on all. */
static uint64_t hash(uint64_t seed, const char *key, size_t len) {
        uint64_t h = 0xcbf29ce484222325ull ^ seed;
        for (size_t i = 0; i < len; i++) {
                h ^= (unsigned char) key[i];
                h *= 0x100000001b3ull;
        }
        h ^= h >> 30;
        h *= 0xbf58476d1ce4e5b9ull;
        h ^= h >> 27;
        h *= 0x94d049bb133111ebull;
        return h ^ (h >> 31);
}

int hashmap_new(struct hashmap **ret) {
        struct hashmap *m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;
        m->n_slots = 16;
        m->slots = calloc(m->n_slots, sizeof *m->slots);
        if (!m->slots) {
                free(m);
                return -ENOMEM;
        }
        m->seed = (uint64_t) arc4random() << 32 | arc4random();
        *ret = m;
        return 0;
}

void hashmap_free(struct hashmap *m, void (*free_value)(void *)) {
        if (!m)
                return;
        for (size_t i = 0; i < m->n_slots; i++)
                if (m->slots[i].key) {
                        free(m->slots[i].key);
                        if (free_value)
                                free_value(m->slots[i].value);
                }
        free(m->slots);
        free(m);
}

static struct slot *find(const struct hashmap *m, const char *key, size_t len, uint64_t h) {
        size_t mask = m->n_slots - 1;
        for (size_t i = h & mask;; i = (i + 1) & mask) {
                struct slot *s = &m->slots[i];
                if (!s->key || (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0))
                        return s;
        }
}

void *hashmap_get(const struct hashmap *m, const char *key, size_t len) {
        if (!m || !key)
                return NULL;
        struct slot *s = find(m, key, len, hash(m->seed, key, len));
        return s->key ? s->value : NULL;
}

/* Doubles the table; linear probing stays short below a load of 1/2. */
static int grow(struct hashmap *m) {
        struct hashmap bigger = { .n_slots = m->n_slots * 2, .seed = m->seed, .n_used = m->n_used };
        bigger.slots = calloc(bigger.n_slots, sizeof *bigger.slots);
        if (!bigger.slots)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_slots; i++)
                if (m->slots[i].key)
                        *find(&bigger, m->slots[i].key, m->slots[i].len, m->slots[i].hash) = m->slots[i];
        free(m->slots);
        *m = bigger;
        return 0;
}

int hashmap_put(struct hashmap *m, const char *key, size_t len, void *value) {
        if (!m || !key || !value)
                return -EINVAL;
        uint64_t h = hash(m->seed, key, len);
        struct slot *s = find(m, key, len, h);
        if (s->key) {
                s->value = value;
                return 0;
        }
        if ((m->n_used + 1) * 2 > m->n_slots) {
                int r = grow(m);
                if (r < 0)
                        return r;
                s = find(m, key, len, h);
        }
        char *k = malloc(len + 1);
        if (!k)
                return -ENOMEM;
        memcpy(k, key, len);
        k[len] = 0;
        *s = (struct slot) { .key = k, .len = len, .hash = h, .value = value };
        m->n_used++;
        return 0;
}

size_t hashmap_size(const struct hashmap *m) {
        return m ? m->n_used : 0;
}
