/* Fuzz target for allow-list parsing: never crash, keep the limits, one entry per repository, merges consistent. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "allowlist.h"
#include "util.h"
#include "fuzz-assert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct allowlist l;
        char *error = NULL;
        /* The buffer is not NUL-terminated: the parser must respect len. */
        allowlist_init(&l);
        int r = allowlist_add_text(&l, "a", (const char *) data, size, &error);
        if (r == -ENOMEM || size > ALLOWLIST_SOURCE_MAX) {
                ASSERT(r == -ENOMEM || (r == -EFBIG && error));
                free(error);
                allowlist_done(&l);
                return 0;
        }
        /* Refused as a whole only when no line named a repository, each bad line reported. */
        bool bad = r == -EBADMSG;
        ASSERT(r == 0 || (bad && error && util_startswith(error, "a: ") && l.n == 0 && l.problems));
        free(error);
        error = NULL;

        ASSERT(l.n <= ALLOWLIST_ENTRIES_MAX);
        ASSERT(util_strv_length(l.problems) <= ALLOWLIST_PROBLEMS_MAX + 1);
        for (char **p = l.problems; p && *p; p++)
                ASSERT(util_startswith(*p, "a:"));
        for (size_t i = 0; i < l.n; i++) {
                const struct allowlist_entry *e = &l.entries[i];
                ASSERT(!e->ref.digest);
                ASSERT(streq_ptr(e->pinned, e->ref.tag));
                ASSERT(streq(e->source, "a") && e->line > 0);
                ASSERT(i == 0 || e->line > l.entries[i - 1].line);
                ASSERT(allowlist_find(&l, e->repository) == e);
                _cleanup_free_ char *familiar = reference_familiar_name(&e->ref);
                ASSERT(!familiar || streq(familiar, e->repository));
        }

        /* The same text again as a second source adds nothing: every line is now a duplicate. */
        size_t n = l.n;
        r = allowlist_add_text(&l, "b", (const char *) data, size, &error);
        ASSERT(r == -ENOMEM || (r == -EBADMSG) == bad);
        if (r == 0) {
                ASSERT(l.n == n);
                ASSERT(util_strv_length(l.problems) <= ALLOWLIST_PROBLEMS_MAX + 1);
        }
        free(error);
        allowlist_done(&l);
        return 0;
}
