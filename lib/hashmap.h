/* String-keyed hash table for the few places where lookups must stay O(1) at allow-list scale. */
#pragma once

#include <stddef.h>

/* Keys are byte strings (copied), values are the caller's pointers (never NULL). There is no
 * removal: entries live as long as the map, which suits per-scan indexes. The hash is seeded
 * per map, so no input can be chosen to collide everywhere. */
struct hashmap;

int hashmap_new(struct hashmap **ret);
/* Calls free_value (may be NULL) on every value. Accepts NULL. */
void hashmap_free(struct hashmap *m, void (*free_value)(void *));

/* The value stored under key[0..len), or NULL. */
void *hashmap_get(const struct hashmap *m, const char *key, size_t len);
/* Stores value under key[0..len), replacing (not freeing) an earlier one. Returns 0, -EINVAL
 * (value NULL) or -ENOMEM. */
int hashmap_put(struct hashmap *m, const char *key, size_t len, void *value);
size_t hashmap_size(const struct hashmap *m);
