/* Fuzzes range parsing: never a crash, and the desugared form of a range parses to itself (node-semver's one exception allowed). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "semver.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* node-semver applies two rules to ">=0.0.0" while parsing: a set of only ">=0.0.0" makes the
 * whole range "*", and in a set with other comparators it is dropped. ">=v0.0.0" escapes both but
 * is formatted without its 'v', so the rules apply on the second round only (the fuzzer found
 * `=0.2||>=0.3 || >=v0.0.0`). We agree with node-semver on both texts; the round trip may differ
 * exactly by these rules. Returns text with them applied, or NULL when they change nothing. */
static char *gte0_rules(const char *text) {
        char *out = calloc(1, strlen(text) + 2);
        bool changed = false;
        if (!out)
                return NULL;
        for (const char *p = text;;) {
                const char *end = strstr(p, "||");
                size_t n = end ? (size_t) (end - p) : strlen(p);
                _cleanup_free_ char *set = strndup(p, n);
                if (!set) {
                        free(out);
                        return NULL;
                }
                if (streq(set, ">=0.0.0")) {
                        strcpy(out, "*");
                        return out;
                }
                if (*out)
                        strcat(out, "||");
                bool first = true;
                for (char *save = NULL, *c = strtok_r(set, " ", &save); c; c = strtok_r(NULL, " ", &save)) {
                        if (streq(c, ">=0.0.0")) {
                                changed = true;
                                continue;
                        }
                        if (!first)
                                strcat(out, " ");
                        strcat(out, c);
                        first = false;
                }
                if (!end)
                        break;
                p = end + 2;
        }
        if (!changed) {
                free(out);
                return NULL;
        }
        return out;
}

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
                _cleanup_free_ char *expected = gte0_rules(text);
                if (!expected || !streq(expected, text_again)) {
                        fprintf(stderr, "\"%s\" desugared to \"%s\", then to \"%s\"\n", range, text, text_again);
                        abort();
                }
                /* node-semver's own ranges differ here on pre-releases of 0.0.0 too: compare the
                 * second form with its own round trip instead, which must hold. */
                semver_range_free(r);
                r = TAKE_PTR(again);
                if (semver_range_parse(text_again, flags, &again) < 0) {
                        fprintf(stderr, "\"%s\" does not parse again\n", text_again);
                        abort();
                }
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
