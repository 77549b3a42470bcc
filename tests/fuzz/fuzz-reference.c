/* Fuzz target for reference parsing: never crash, and every accepted reference is self-consistent and round-trips. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "reference.h"
#include "util.h"
#include "fuzz-assert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_same(const struct reference *a, const struct reference *b, bool with_tag) {
        ASSERT(streq(a->domain, b->domain));
        ASSERT(streq(a->path, b->path));
        if (with_tag) {
                ASSERT(streq_ptr(a->tag, b->tag));
                ASSERT(streq_ptr(a->digest, b->digest));
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        /* References are short; longer inputs only slow the search down. */
        if (size > 1024)
                return 0;
        _cleanup_free_ char *s = strndup((const char *) data, size);
        if (!s)
                return 0;

        (void) reference_is_valid_tag(s);
        const char *error = NULL;
        if (reference_validate_digest(s, &error) < 0)
                ASSERT(error);

        struct reference ref = {};
        error = NULL;
        int r = reference_parse(s, &ref, &error);
        if (r == -ENOMEM)
                return 0;
        if (r < 0) {
                ASSERT(r == -EINVAL && error && *error);
                ASSERT(!ref.domain && !ref.path && !ref.tag && !ref.digest);
                struct reference other = {};
                ASSERT(reference_parse_no_digest(s, &other, NULL) == r);
                ASSERT(reference_parse_repository(s, &other, NULL) == r);
                return 0;
        }

        ASSERT(ref.domain && *ref.domain && ref.path && *ref.path);
        ASSERT(strlen(ref.path) <= REFERENCE_PATH_MAX);
        ASSERT(!ref.tag || reference_is_valid_tag(ref.tag));
        ASSERT(!ref.digest || reference_validate_digest(ref.digest, NULL) == 0);
        ASSERT(!streq(ref.domain, "index.docker.io"));
        if (streq(ref.domain, REFERENCE_DEFAULT_DOMAIN))
                ASSERT(strchr(ref.path, '/'));

        struct reference back = {};
        _cleanup_free_ char *familiar = reference_familiar_name(&ref);
        _cleanup_free_ char *canonical = reference_canonical_name(&ref);
        _cleanup_free_ char *string = reference_familiar_string(&ref);
        if (familiar && canonical && string) {
                ASSERT(reference_parse_repository(familiar, &back, NULL) == 0);
                check_same(&ref, &back, false);
                reference_done(&back);

                ASSERT(reference_parse_repository(canonical, &back, NULL) == 0);
                check_same(&ref, &back, false);
                reference_done(&back);

                ASSERT(reference_parse(string, &back, NULL) == 0);
                check_same(&ref, &back, true);
                reference_done(&back);

                _cleanup_free_ char *normalized = NULL;
                ASSERT(reference_normalize_repository(canonical, &normalized, NULL) == 0);
                ASSERT(streq(normalized, familiar));
        }

        r = reference_parse_no_digest(s, &back, &error);
        ASSERT(ref.digest ? r == -EOPNOTSUPP && streq(error, REFERENCE_DIGEST_NOT_ALLOWED) : r == 0);
        reference_done(&back);
        r = reference_parse_repository(s, &back, NULL);
        ASSERT((ref.tag || ref.digest) ? r == -EINVAL : r == 0);
        reference_done(&back);

        reference_done(&ref);
        return 0;
}
