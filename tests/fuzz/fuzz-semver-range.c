/* Fuzzes range parsing: never a crash, and the desugared form of a range parses to itself. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "semver.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *range, const char *version, unsigned flags) {
        _cleanup_(semver_range_freep) struct semver_range *r = NULL, *again = NULL;
        _cleanup_free_ char *text = NULL, *text_again = NULL;

        if (semver_range_parse(range, flags, &r) < 0)
                return;
        if (semver_range_format(r, &text) < 0)
                return;
        /* node-semver's validRange(validRange(x)) is validRange(x); so is ours. */
        if (semver_range_parse(text, flags, &again) < 0) {
                fprintf(stderr, "\"%s\" desugared to \"%s\", which does not parse\n", range, text);
                abort();
        }
        if (semver_range_format(again, &text_again) < 0)
                return;
        if (!streq(text, text_again)) {
                fprintf(stderr, "\"%s\" desugared to \"%s\", then to \"%s\"\n", range, text, text_again);
                abort();
        }

        struct semver v;
        if (version && semver_parse(version, SEMVER_PARSE_NODE, &v) == 0) {
                if (semver_range_test(r, &v) != semver_range_test(again, &v)) {
                        fprintf(stderr, "\"%s\" and its desugared form \"%s\" disagree on \"%s\"\n",
                                range, text, version);
                        abort();
                }
                semver_done(&v);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        /* The first line is the range, a second line (when there is one) a version to test. */
        char *s = strndup((const char *) data, size);
        if (!s)
                return 0;
        check(s, NULL, 0);
        char *nl = strchr(s, '\n');
        if (nl) {
                *nl = '\0';
                check(s, nl + 1, 0);
                check(s, nl + 1, SEMVER_RANGE_INCLUDE_PRERELEASE);
        } else
                check(s, NULL, SEMVER_RANGE_INCLUDE_PRERELEASE);
        free(s);
        return 0;
}
