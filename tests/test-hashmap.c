/* Unit tests of lib/hashmap: lookups by byte strings, replacement, growth. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include "check.h"
#include "hashmap.h"
#include "util.h"

int main(void) {
        struct hashmap *m = NULL;
        REQUIRE_OK(hashmap_new(&m));
        CHECK(hashmap_get(m, "a", 1) == NULL);
        CHECK_INT(hashmap_put(m, "abc", 2, (void *) 1), 0);
        /* Keys are the given bytes, not C strings. */
        CHECK(hashmap_get(m, "ab", 2) == (void *) 1);
        CHECK(hashmap_get(m, "abc", 3) == NULL);
        CHECK_INT(hashmap_put(m, "ab", 2, (void *) 2), 0);
        CHECK(hashmap_get(m, "abX", 2) == (void *) 2);
        CHECK_INT(hashmap_size(m), 1);
        CHECK_INT(hashmap_put(m, "x", 1, NULL), -EINVAL);
        CHECK_INT(hashmap_put(m, "", 0, (void *) 3), 0);
        CHECK(hashmap_get(m, "", 0) == (void *) 3);

        /* Growth keeps every entry. */
        int missing = 0;
        char key[32];
        for (uintptr_t i = 0; i < 20000; i++) {
                snprintf(key, sizeof key, "repository:r%lu:pull", (unsigned long) i);
                if (hashmap_put(m, key, strlen(key), (void *) (i + 10)) < 0)
                        missing++;
        }
        for (uintptr_t i = 0; i < 20000; i++) {
                snprintf(key, sizeof key, "repository:r%lu:pull", (unsigned long) i);
                if (hashmap_get(m, key, strlen(key)) != (void *) (i + 10))
                        missing++;
        }
        CHECK_INT(missing, 0);
        CHECK_INT(hashmap_size(m), 20002);
        hashmap_free(m, NULL);

        /* Values are freed with the map when asked. */
        REQUIRE_OK(hashmap_new(&m));
        CHECK_INT(hashmap_put(m, "k", 1, strdup("v")), 0);
        hashmap_free(m, free);
        hashmap_free(NULL, NULL);
        CHECK(hashmap_get(NULL, "k", 1) == NULL);
        return check_summary("test-hashmap");
}
