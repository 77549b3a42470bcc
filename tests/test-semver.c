/* Unit tests for lib/semver: version limits and forms, precedence, every range operator, rendering. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "semver.h"
#include "util.h"
#include "check.h"

/* Parses s and renders it back without build metadata; NULL when it is not a version. */
static char *canonical(const char *s, unsigned flags) {
        struct semver v;
        char *out = NULL;
        if (semver_parse(s, flags, &v) < 0)
                return NULL;
        if (semver_format(&v, false, &out) < 0)
                out = NULL;
        semver_done(&v);
        return out;
}

static void check_version(const char *s, unsigned flags, const char *want) {
        _cleanup_free_ char *got = canonical(s, flags);
        CHECK_MSG(streq_ptr(got, want), "parse(\"%.70s\", %u) = %s, want %s", s, flags,
                  got ? got : "invalid", want ? want : "invalid");
}

static void test_parse(void) {
        struct semver v;

        CHECK_MSG(semver_parse("1.2.3-alpha.10+build.7", 0, &v) == 0, "%s", "parts");
        CHECK_MSG(v.major == 1 && v.minor == 2 && v.patch == 3, "%" PRIu64 ".%" PRIu64 ".%" PRIu64,
                  v.major, v.minor, v.patch);
        CHECK_MSG(util_strv_length(v.prerelease) == 2 && streq(v.prerelease[0], "alpha") &&
                          streq(v.prerelease[1], "10"),
                  "prerelease has %zu ids", util_strv_length(v.prerelease));
        CHECK_MSG(streq_ptr(v.build, "build.7"), "build %s", v.build ? v.build : "(null)");
        CHECK_MSG(semver_is_prerelease(&v), "%s", "is a pre-release");
        _cleanup_free_ char *full = NULL;
        CHECK_MSG(semver_format(&v, true, &full) == 0 && streq(full, "1.2.3-alpha.10+build.7"), "%s",
                  full ? full : "(null)");
        semver_done(&v);

        CHECK_MSG(semver_parse("1.2.3", 0, &v) == 0 && !semver_is_prerelease(&v) && !v.build, "%s",
                  "release");
        semver_done(&v);

        check_version("0.0.0", 0, "0.0.0");
        check_version("1.0.0-0A.is.legal", 0, "1.0.0-0A.is.legal");
        check_version("1.2.3----RC-SNAPSHOT.12.9.1--.12+788", 0, "1.2.3----RC-SNAPSHOT.12.9.1--.12");
        check_version("1.2.3-0a", 0, "1.2.3-0a");

        /* Not versions. */
        static const char *const bad[] = {
                "", "1", "1.2", "1.2.3.4", "01.2.3", "1.02.3", "1.2.03", "1.2.3-", "1.2.3+",
                "1.2.3-01", "1.2.3-a..b", "1.2.3+a..b", "1.2.3-a_b", "1.2.3beta", "=1.2.3",
                "v1.2.3", " 1.2.3", "1.2.3 ", "-1.2.3", "1.2.-3", "1.2.3+a+b", "x.1.2", "1.2.x",
                "1.2.3-é",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                check_version(bad[i], 0, NULL);

        /* A leading 'v' (one) only when asked; '=' never. */
        check_version("v1.2.3", SEMVER_PARSE_ALLOW_V, "1.2.3");
        check_version("vv1.2.3", SEMVER_PARSE_ALLOW_V, NULL);
        check_version("V1.2.3", SEMVER_PARSE_ALLOW_V, NULL);
        check_version("=1.2.3", SEMVER_PARSE_NODE, NULL);
        check_version("v 1.2.3", SEMVER_PARSE_NODE, NULL);

        /* Whitespace as JavaScript trims it, only when asked. */
        check_version(" \t\n v1.2.3-rc.1+b \r\n", SEMVER_PARSE_NODE, "1.2.3-rc.1");
        check_version("\xc2\xa0" "1.2.3\xe3\x80\x80", SEMVER_PARSE_NODE, "1.2.3");
        check_version("\xef\xbb\xbf" "1.2.3", SEMVER_PARSE_NODE, "1.2.3");
        check_version(" 1.2.3", SEMVER_PARSE_ALLOW_V, NULL);
        check_version("1. 2.3", SEMVER_PARSE_NODE, NULL);

        /* Numbers up to 2^53-1. */
        check_version("9007199254740991.9007199254740991.9007199254740991", 0,
                      "9007199254740991.9007199254740991.9007199254740991");
        check_version("9007199254740992.0.0", 0, NULL);
        check_version("0.9007199254740992.0", 0, NULL);
        check_version("0.0.90071992547409910", 0, NULL);
        check_version("18446744073709551617.0.0", 0, NULL);
        /* Pre-release numbers have no such limit. */
        check_version("1.0.0-99999999999999999999999", 0, "1.0.0-99999999999999999999999");

        /* 256 characters at most, whitespace included when trimming. */
        char s[300];
        memset(s, 'a', sizeof s);
        memcpy(s, "1.0.0-", 6);
        s[256] = '\0';
        _cleanup_free_ char *exact = canonical(s, 0);
        CHECK_MSG(exact && strlen(exact) == 256, "%s", "256 characters are a version");
        s[256] = 'a';
        s[257] = '\0';
        check_version(s, 0, NULL);
        memset(s, ' ', 10);
        memcpy(s + 10, "1.0.0-", 6);
        s[256] = '\0';
        CHECK_MSG(semver_parse(s, SEMVER_PARSE_NODE, &v) == 0, "%s", "256 with leading spaces");
        semver_done(&v);
        s[256] = ' ';
        s[257] = '\0';
        CHECK_MSG(semver_parse(s, SEMVER_PARSE_NODE, &v) == -EINVAL, "%s",
                  "257 with the whitespace that trimming would drop");
        CHECK_MSG(semver_parse(NULL, 0, &v) == -EINVAL, "%s", "NULL");
}

static int cmp(const char *a, const char *b) {
        struct semver x, y;
        int r;
        if (semver_parse(a, SEMVER_PARSE_ALLOW_V, &x) < 0)
                return 99;
        if (semver_parse(b, SEMVER_PARSE_ALLOW_V, &y) < 0) {
                semver_done(&x);
                return 99;
        }
        r = semver_compare(&x, &y);
        semver_done(&x);
        semver_done(&y);
        return r;
}

static void test_compare(void) {
        static const char *const order[] = {
                "0.0.0-0", "0.0.0", "0.0.1", "0.1.0", "0.10.0", "1.0.0-0", "1.0.0-1", "1.0.0-2",
                "1.0.0-10", "1.0.0-99999999999999999999", "1.0.0-100000000000000000000",
                "1.0.0--", "1.0.0-A", "1.0.0-B", "1.0.0-a", "1.0.0-alpha", "1.0.0-alpha.1",
                "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1",
                "1.0.0", "1.0.1", "1.1.0", "2.0.0", "9007199254740991.0.0",
        };
        for (size_t i = 0; i < ELEMENTSOF(order); i++)
                for (size_t k = 0; k < ELEMENTSOF(order); k++) {
                        int want = i < k ? -1 : i > k ? 1 : 0, got = cmp(order[i], order[k]);
                        CHECK_MSG(got == want, "compare(%s, %s) = %d, want %d", order[i], order[k], got,
                                  want);
                }

        CHECK_MSG(cmp("1.0.0+a", "1.0.0+b") == 0, "%s", "build ignored");
        CHECK_MSG(cmp("1.0.0-rc.1+a", "1.0.0-rc.1") == 0, "%s", "build ignored after pre-release");
        CHECK_MSG(cmp("v1.2.3", "1.2.3") == 0, "%s", "v ignored");

        /* The tag-sorting order: non-versions first, bytewise; ties broken bytewise. */
        static const char *const tags[] = { "latest", "stable", "0.9.0", "1.0.0-rc.1", "1.0.0",
                                            "1.0.0+b", "v1.0.0", "1.10.0" };
        for (size_t i = 0; i < ELEMENTSOF(tags); i++)
                for (size_t k = 0; k < ELEMENTSOF(tags); k++) {
                        int got = semver_compare_strings(tags[i], tags[k]);
                        int want = i < k ? -1 : i > k ? 1 : 0;
                        CHECK_MSG((got > 0) - (got < 0) == want, "compare_strings(%s, %s) = %d", tags[i],
                                  tags[k], got);
                }
}

static void check_range(const char *range, unsigned flags, const char *want) {
        _cleanup_(semver_range_freep) struct semver_range *r = NULL;
        _cleanup_free_ char *got = NULL;
        int k = semver_range_parse(range, flags, &r);
        if (k == 0)
                CHECK_MSG(semver_range_format(r, &got) == 0, "%s", range);
        CHECK_MSG(want ? streq_ptr(got, want) : k == -EINVAL, "range(\"%.70s\"%s) = %s, want %s", range,
                  flags ? ", include-prerelease" : "", got ? got : "invalid", want ? want : "invalid");
}

static void test_range_forms(void) {
        static const struct {
                const char *range, *want;
        } cases[] = {
                /* Comparators. */
                { "<1.2.3", "<1.2.3" },
                { "<=1.2.3", "<=1.2.3" },
                { ">1.2.3", ">1.2.3" },
                { ">=1.2.3", ">=1.2.3" },
                { "=1.2.3", "1.2.3" },
                { "1.2.3", "1.2.3" },
                { "v1.2.3", "1.2.3" },
                { "=v1.2.3-rc.1+build", "1.2.3-rc.1" },
                { ">=1.2.3 <2.0.0", ">=1.2.3 <2.0.0" },
                { ">=1.2.3 >=1.2.3", ">=1.2.3" },
                /* Carets. */
                { "^1.2.3", ">=1.2.3 <2.0.0-0" },
                { "^0.2.3", ">=0.2.3 <0.3.0-0" },
                { "^0.0.3", ">=0.0.3 <0.0.4-0" },
                { "^1.2.3-beta.2", ">=1.2.3-beta.2 <2.0.0-0" },
                { "^0.0.3-beta", ">=0.0.3-beta <0.0.4-0" },
                { "^1.2.x", ">=1.2.0 <2.0.0-0" },
                { "^0.0.x", "<0.1.0-0" },
                { "^0.0", "<0.1.0-0" },
                { "^1.x", ">=1.0.0 <2.0.0-0" },
                { "^0.x", "<1.0.0-0" },
                { "^ 1.2", ">=1.2.0 <2.0.0-0" },
                /* Tildes. */
                { "~1.2.3", ">=1.2.3 <1.3.0-0" },
                { "~1.2", ">=1.2.0 <1.3.0-0" },
                { "~1", ">=1.0.0 <2.0.0-0" },
                { "~0.2.3-rc.1", ">=0.2.3-rc.1 <0.3.0-0" },
                { "~>1.2.3", ">=1.2.3 <1.3.0-0" },
                { "~> 1.2", ">=1.2.0 <1.3.0-0" },
                { "~ 1", ">=1.0.0 <2.0.0-0" },
                /* X-ranges and partial versions. */
                { "*", "*" },
                { "", "*" },
                { "x", "*" },
                { "X.x.*", "*" },
                { "1.x", ">=1.0.0 <2.0.0-0" },
                { "1.2.*", ">=1.2.0 <1.3.0-0" },
                { "1", ">=1.0.0 <2.0.0-0" },
                { "1.2", ">=1.2.0 <1.3.0-0" },
                { ">1.2", ">=1.3.0" },
                { ">1", ">=2.0.0" },
                { "<=1.2", "<1.3.0-0" },
                { "<1.2", "<1.2.0-0" },
                { ">=1.2", ">=1.2.0" },
                { "=1.x", ">=1.0.0 <2.0.0-0" },
                { ">*", "<0.0.0-0" },
                { ">=0.0.0", "*" },
                /* Hyphen ranges. */
                { "1.2.3 - 2.3.4", ">=1.2.3 <=2.3.4" },
                { "1.2 - 2.3.4", ">=1.2.0 <=2.3.4" },
                { "1.2.3 - 2.3", ">=1.2.3 <2.4.0-0" },
                { "1.2.3 - 2", ">=1.2.3 <3.0.0-0" },
                { "* - 2", "<3.0.0-0" },
                { "1.2.3-rc.1 - 2.0.0-rc.2", ">=1.2.3-rc.1 <=2.0.0-rc.2" },
                { "1.2.3\t-\t2.3.4", ">=1.2.3 <=2.3.4" },
                /* Alternatives; null sets go, "anything" absorbs the rest. */
                { "1.2.3 || 2.x", "1.2.3||>=2.0.0 <3.0.0-0" },
                { "<0.0.0-0 || 1.2.3", "1.2.3" },
                { "1.2.3 || * || 2", "*" },
                { "||", "*" },
                { ">x || <x", "<0.0.0-0" },
                /* Whitespace, as node-semver's regular expressions take it. */
                { ">=  1.2.3", ">=1.2.3" },
                { "  >= 1.2.3   <  2  ", ">=1.2.3 <2.0.0-0" },
                { "> =1.2.3", ">=1.2.3" },
                { ">=\xc2\xa0" "1.2.3", ">=1.2.3" },
                { "1.2.3\n||\n2.0.0", "1.2.3||2.0.0" },
                /* node-semver's rewriting order shows at the edges; we follow it. */
                { "^v=1.2", ">=1.2.0 <2.0.0-0" },
                { "1.x.3 - 2", ">=1.0.0 <3.0.0-0" },
                { "<==1", "<2.0.0-0" },
                { "1.2.3*", "1.2.3" },
                { "v <1", NULL },
                { "=v= 1", NULL },
                /* Commas AND comparators, as Docker's documentation writes ranges. */
                { ">= 1.4.7, < 2.0", ">=1.4.7 <2.0.0-0" },
                { ">=0.2.3,<0.4", ">=0.2.3 <0.4.0-0" },
                { "^1.2, ~1.3", ">=1.2.0 <2.0.0-0 >=1.3.0 <1.4.0-0" },
                { "1 - 2, <1.5", ">=1.0.0 <3.0.0-0 <1.5.0-0" },
                { ">=1, <0.0.0-0", "<0.0.0-0" },
                { "*, 1.2.3", "1.2.3" },
                { ">= 1.4.7, < 2.0 || 3.x", ">=1.4.7 <2.0.0-0||>=3.0.0 <4.0.0-0" },
                /* Build metadata never takes part. */
                { "1.2.3+build - 2.0.0+b.2", ">=1.2.3 <=2.0.0" },
                { "^1.x+build", ">=1.0.0 <2.0.0-0" },
                /* Numbers: bounds past 2^53-1 make a range invalid, as in node-semver. */
                { "^9007199254740990.0.0", ">=9007199254740990.0.0 <9007199254740991.0.0-0" },
                { "<=9007199254740991.0.0", "<=9007199254740991.0.0" },
                /* Invalid ranges. */
                { "^9007199254740991.0.0", NULL },
                { "9007199254740992", NULL },
                { "1.x.3", NULL },
                { "x.1", NULL },
                { ">01.2.3", NULL },
                { "1.2.3beta", NULL },
                { "foo", NULL },
                { ">", NULL },
                { ">=", NULL },
                { "1.2.3 -", NULL },
                { "1.2.3 - ", NULL },
                { "- 1.2.3", NULL },
                { "a || 1.2.3", NULL },
                { "1.2.3 | 2.0.0", NULL },
                { ">= =1.2.3", NULL },
                { "!1.2.3", NULL },
                { ",1.2.3", NULL },
                { "1.2.3,", NULL },
                { "1.2.3,,2.0.0", NULL },
                { "1.2.3, || 2", NULL },
                { ", ", NULL },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                check_range(cases[i].range, 0, cases[i].want);

        /* includePrerelease lowers the bounds to the first pre-release. */
        check_range("^1.2.3", SEMVER_RANGE_INCLUDE_PRERELEASE, ">=1.2.3 <2.0.0-0");
        check_range("^1.2", SEMVER_RANGE_INCLUDE_PRERELEASE, ">=1.2.0-0 <2.0.0-0");
        check_range("1.x", SEMVER_RANGE_INCLUDE_PRERELEASE, ">=1.0.0-0 <2.0.0-0");
        check_range("1.2.3 - 2.3.4", SEMVER_RANGE_INCLUDE_PRERELEASE, ">=1.2.3-0 <2.3.5-0");
        check_range(">=0.0.0-0", SEMVER_RANGE_INCLUDE_PRERELEASE, "*");
        check_range(">=0.0.0", SEMVER_RANGE_INCLUDE_PRERELEASE, ">=0.0.0");

        /* node-semver has no limit on range length; we stop at SEMVER_RANGE_MAX_LENGTH. */
        char *longest = malloc(SEMVER_RANGE_MAX_LENGTH + 2);
        CHECK_MSG(longest != NULL, "%s", "allocation");
        if (!longest)
                return;
        memset(longest, ' ', SEMVER_RANGE_MAX_LENGTH + 1);
        memcpy(longest, "1.2.3", 5);
        longest[SEMVER_RANGE_MAX_LENGTH] = '\0';
        check_range(longest, 0, "1.2.3");
        longest[SEMVER_RANGE_MAX_LENGTH] = ' ';
        longest[SEMVER_RANGE_MAX_LENGTH + 1] = '\0';
        check_range(longest, 0, NULL);
        free(longest);
}

static void check_satisfies(const char *version, const char *range, bool incpr, int want) {
        int got = semver_satisfies(version, range, incpr);
        CHECK_MSG(got == want, "satisfies(%s, \"%s\"%s) = %d, want %d", version, range,
                  incpr ? ", include-prerelease" : "", got, want);
}

static void test_satisfies(void) {
        static const struct {
                const char *version, *range;
                int want, want_incpr;
        } cases[] = {
                /* A bare version means exactly that version. */
                { "0.3.0", "0.3.0", 1, 1 },
                { "0.3.3", "0.3.0", 0, 0 },
                { "0.3.0+build", "0.3.0", 1, 1 },
                { "v0.3.0", "=0.3.0", 1, 1 },
                { " 0.3.0 ", "0.3.0", 1, 1 },
                /* Every operator. */
                { "1.2.2", "<1.2.3", 1, 1 },
                { "1.2.3", "<1.2.3", 0, 0 },
                { "1.2.3", "<=1.2.3", 1, 1 },
                { "1.2.4", ">1.2.3", 1, 1 },
                { "1.2.3", ">1.2.3", 0, 0 },
                { "1.2.3", ">=1.2.3", 1, 1 },
                { "1.9.9", "^1.2.3", 1, 1 },
                { "2.0.0", "^1.2.3", 0, 0 },
                { "0.2.9", "^0.2.3", 1, 1 },
                { "0.3.0", "^0.2.3", 0, 0 },
                { "1.2.9", "~1.2.3", 1, 1 },
                { "1.3.0", "~1.2.3", 0, 0 },
                { "1.3.0", "~>1.2", 0, 0 },
                { "1.99.0", "1.x", 1, 1 },
                { "2.0.0", "1.x", 0, 0 },
                { "2.3.4", "1.2.3 - 2.3.4", 1, 1 },
                { "2.3.5", "1.2.3 - 2.3.4", 0, 0 },
                { "3.1.0", "1.x || >=3.0.0", 1, 1 },
                { "2.1.0", "1.x || >=3.0.0", 0, 0 },
                /* The extension API label as Docker writes it. */
                { "1.4.7", ">= 1.4.7, < 2.0", 1, 1 },
                { "1.4.6", ">= 1.4.7, < 2.0", 0, 0 },
                { "2.0.0", ">= 1.4.7, < 2.0", 0, 0 },
                { "0.3.4", ">= 0.2.3", 1, 1 },
                /* Pre-releases need a comparator naming the same major.minor.patch. */
                { "1.2.3-beta.2", "^1.2.3-beta.1", 1, 1 },
                { "1.2.3-alpha", "^1.2.3-beta.1", 0, 0 },
                { "1.2.4-alpha", "^1.2.3-beta.1", 0, 1 },
                { "1.3.0-rc.1", ">=1.2.0", 0, 1 },
                { "1.3.0-rc.1", "*", 0, 1 },
                { "1.3.0-rc.1", "", 0, 1 },
                { "1.3.0-rc.1", "1.3.0-rc.1", 1, 1 },
                { "1.3.0-rc.2", ">1.3.0-rc.1 <1.3.0", 1, 1 },
                { "1.3.0-rc.2", ">1.2.0-rc.1 <1.3.0", 0, 1 },
                { "1.0.0-rc.1", "1.x", 0, 1 },
                { "1.0.0-rc.1", "^1", 0, 1 },
                /* The rule is per set, not per range. */
                { "1.2.3-rc.1", ">=1.2.3-rc.0 <2 || 0.x", 1, 1 },
                { "2.0.0-rc.1", ">=1.2.3-rc.0 <3 || 0.x", 0, 1 },
                /* includePrerelease changes what a range means, not only the test. */
                { "1.0.0-rc.1", "1.0.0 - 2.0.0", 0, 1 },
                { "2.0.1-rc.1", "1.0.0 - 2.0.0", 0, 0 },
                /* Invalid input on either side. */
                { "1.2", "1.x", -EINVAL, -EINVAL },
                { "1.2.3", "1.x.3", -EINVAL, -EINVAL },
                { "=1.2.3", "1.x", -EINVAL, -EINVAL },
                { "1.2.3", "^9007199254740991", -EINVAL, -EINVAL },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                check_satisfies(cases[i].version, cases[i].range, false, cases[i].want);
                check_satisfies(cases[i].version, cases[i].range, true, cases[i].want_incpr);
        }

        /* One parsed range tested against many versions. */
        _cleanup_(semver_range_freep) struct semver_range *r = NULL;
        CHECK_MSG(semver_range_parse("~1.2 || >=2.1.0-beta <2.1.0", 0, &r) == 0, "%s", "parse");
        static const struct {
                const char *v;
                bool want;
        } tests[] = {
                { "1.2.0", true },        { "1.2.99", true },       { "1.3.0", false },
                { "2.1.0-beta", true },   { "2.1.0-beta.1", true }, { "2.1.0-alpha", false },
                { "2.1.0", false },       { "1.2.5-rc.1", false },
        };
        for (size_t i = 0; r && i < ELEMENTSOF(tests); i++) {
                struct semver v;
                CHECK_MSG(semver_parse(tests[i].v, 0, &v) == 0, "%s", tests[i].v);
                bool got = semver_range_test(r, &v);
                CHECK_MSG(got == tests[i].want, "%s: %d", tests[i].v, got);
                semver_done(&v);
        }
}

int main(void) {
        test_parse();
        test_compare();
        test_range_forms();
        test_satisfies();
        return check_summary("test-semver");
}
