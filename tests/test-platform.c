/* Unit tests for lib/platform: every normalization rule and spelling, limits, parsing, formatting. */
#include <errno.h>
#include <string.h>

#include "platform.h"
#include "util.h"
#include "check.h"

/* Normalizes (os, arch, variant) and formats it; NULL when normalization refuses. */
static char *normalized(const char *os, const char *arch, const char *variant) {
        struct platform p;
        if (platform_normalize(os, arch, variant, &p) < 0)
                return NULL;
        return platform_format(&p);
}

static void test_normalize(void) {
        static const struct {
                const char *os, *arch, *variant, *want;
        } cases[] = {
                { "linux", "amd64", NULL, "linux/amd64" },
                { "linux", "amd64", "", "linux/amd64" },
                { "Linux", "AMD64", NULL, "linux/amd64" },
                { "linux", "x86_64", NULL, "linux/amd64" },
                { "linux", "x86-64", NULL, "linux/amd64" },
                { "linux", "X86_64", "V1", "linux/amd64" },
                { "linux", "amd64", "v1", "linux/amd64" },
                { "linux", "amd64", "v2", "linux/amd64/v2" },
                { "linux", "amd64", "v3", "linux/amd64/v3" },
                { "linux", "i386", NULL, "linux/386" },
                { "linux", "i386", "v2", "linux/386" },
                { "linux", "386", NULL, "linux/386" },
                { "linux", "arm64", NULL, "linux/arm64" },
                { "linux", "aarch64", NULL, "linux/arm64" },
                { "linux", "ARM64", "V8", "linux/arm64" },
                { "linux", "arm64", "8", "linux/arm64" },
                { "linux", "arm64", "8.0", "linux/arm64" },
                { "linux", "arm64", "v8", "linux/arm64" },
                { "linux", "aarch64", "v8.0", "linux/arm64" },
                { "linux", "arm64", "9", "linux/arm64/v9" },
                { "linux", "arm64", "9.0", "linux/arm64/v9" },
                { "linux", "arm64", "v9.0", "linux/arm64/v9" },
                { "linux", "arm64", "v9", "linux/arm64/v9" },
                { "linux", "arm64", "8.2", "linux/arm64/v8.2" },
                { "linux", "arm64", "v8.2", "linux/arm64/v8.2" },
                { "linux", "arm64", "custom", "linux/arm64/custom" },
                { "linux", "arm", NULL, "linux/arm/v7" },
                { "linux", "arm", "", "linux/arm/v7" },
                { "linux", "arm", "7", "linux/arm/v7" },
                { "linux", "arm", "v7", "linux/arm/v7" },
                { "linux", "arm", "5", "linux/arm/v5" },
                { "linux", "arm", "6", "linux/arm/v6" },
                { "linux", "arm", "8", "linux/arm/v8" },
                { "linux", "arm", "V6", "linux/arm/v6" },
                { "linux", "arm", "9", "linux/arm/9" },
                { "linux", "armhf", NULL, "linux/arm/v7" },
                { "linux", "armhf", "v6", "linux/arm/v7" },
                { "linux", "armel", NULL, "linux/arm/v6" },
                { "macos", "arm64", NULL, "darwin/arm64" },
                { "MacOS", "x86_64", NULL, "darwin/amd64" },
                { "darwin", "arm64", NULL, "darwin/arm64" },
                { "windows", "amd64", NULL, "windows/amd64" },
                { "linux", "riscv64", NULL, "linux/riscv64" },
                { "linux", "ppc64le", NULL, "linux/ppc64le" },
                { "linux", "s390x", "", "linux/s390x" },
                { "linux", "riscv64", "RVA22", "linux/riscv64/rva22" },
                /* Registry text need not be a platform; it still compares as itself. */
                { "", "", NULL, "/" },
                { "unknown", "unknown", NULL, "unknown/unknown" },
                { "Linux", "A B", NULL, "linux/a b" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *got = normalized(cases[i].os, cases[i].arch, cases[i].variant);
                CHECK_MSG(streq_ptr(got, cases[i].want), "(%s, %s, %s) = %s, want %s", cases[i].os,
                          cases[i].arch, cases[i].variant ? cases[i].variant : "NULL", got ? got : "refused",
                          cases[i].want);
        }

        /* The separate fields, not only the formatted string. */
        struct platform p;
        CHECK_INT(platform_normalize("Linux", "armhf", NULL, &p), 0);
        CHECK_STR(p.os, "linux");
        CHECK_STR(p.arch, "arm");
        CHECK_STR(p.variant, "v7");
        CHECK_INT(platform_normalize("linux", "amd64", "v1", &p), 0);
        CHECK_STR(p.variant, "");
}

static void test_limits(void) {
        char longest[PLATFORM_COMPONENT_MAX + 1], too_long[PLATFORM_COMPONENT_MAX + 2];
        memset(longest, 'a', PLATFORM_COMPONENT_MAX);
        longest[PLATFORM_COMPONENT_MAX] = 0;
        memset(too_long, 'a', PLATFORM_COMPONENT_MAX + 1);
        too_long[PLATFORM_COMPONENT_MAX + 1] = 0;

        struct platform p, untouched;
        memset(&untouched, 'x', sizeof untouched);
        p = untouched;
        CHECK_INT(platform_normalize(NULL, "amd64", NULL, &p), -EINVAL);
        CHECK_INT(platform_normalize("linux", NULL, NULL, &p), -EINVAL);
        CHECK_INT(platform_normalize(too_long, "amd64", NULL, &p), -EINVAL);
        CHECK_INT(platform_normalize("linux", too_long, NULL, &p), -EINVAL);
        CHECK_INT(platform_normalize("linux", "amd64", too_long, &p), -EINVAL);
        CHECK(memcmp(&p, &untouched, sizeof p) == 0);

        CHECK_INT(platform_normalize(longest, longest, longest, &p), 0);
        CHECK_STR(p.os, longest);
        CHECK_STR(p.arch, longest);
        CHECK_STR(p.variant, longest);

        /* An arm64 variant starting with a digit gains a "v": at the longest length that would make a
         * normal form too long to parse again, so it is refused (found by fuzz-config). */
        char digits[PLATFORM_COMPONENT_MAX + 1];
        memset(digits, '8', PLATFORM_COMPONENT_MAX);
        digits[PLATFORM_COMPONENT_MAX] = 0;
        CHECK_INT(platform_normalize("linux", "arm64", digits, &p), -EINVAL);
        digits[PLATFORM_COMPONENT_MAX - 1] = 0;
        CHECK_INT(platform_normalize("linux", "arm64", digits, &p), 0);
        CHECK_INT(strlen(p.variant), PLATFORM_COMPONENT_MAX);
        CHECK(p.variant[0] == 'v' && streq(p.variant + 1, digits));
        struct platform again;
        _cleanup_free_ char *text = platform_format(&p);
        CHECK_INT(platform_parse(text, &again), 0);
        CHECK_STR(again.variant, p.variant);
}

static void test_component_valid(void) {
        static const char *const valid[] = { "linux", "amd64", "x86_64", "x86-64", "v8.0", "A", "0" };
        for (size_t i = 0; i < ELEMENTSOF(valid); i++)
                CHECK_MSG(platform_component_valid(valid[i]), "\"%s\"", valid[i]);
        static const char *const invalid[] = { "", "amd 64", "arm/v7", "linux\n", "\xc3\xa9", "a+b" };
        for (size_t i = 0; i < ELEMENTSOF(invalid); i++)
                CHECK_MSG(!platform_component_valid(invalid[i]), "\"%s\"", invalid[i]);

        char buf[PLATFORM_COMPONENT_MAX + 2];
        memset(buf, 'a', PLATFORM_COMPONENT_MAX);
        buf[PLATFORM_COMPONENT_MAX] = 0;
        CHECK(platform_component_valid(buf));
        buf[PLATFORM_COMPONENT_MAX] = 'a';
        buf[PLATFORM_COMPONENT_MAX + 1] = 0;
        CHECK(!platform_component_valid(buf));
}

static void test_parse(void) {
        static const struct {
                const char *in, *out;
        } ok[] = {
                /* Two and three parts, each normalized; the rules themselves are test_normalize's. */
                { "Linux/X86_64", "linux/amd64" },
                { "linux/aarch64/8.0", "linux/arm64" },
                { "linux/arm64/9", "linux/arm64/v9" },
                { "linux/armel", "linux/arm/v6" },
                { "macos/arm64", "darwin/arm64" },
        };
        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                check_context = ok[i].in;
                struct platform p;
                CHECK_INT(platform_parse(ok[i].in, &p), 0);
                _cleanup_free_ char *s = platform_format(&p);
                CHECK_STR(s, ok[i].out);
                /* The normal form is a fixed point. */
                struct platform again;
                CHECK_INT(platform_parse(s ? s : "", &again), 0);
                _cleanup_free_ char *t = platform_format(&again);
                CHECK_STR(t, s);
        }
        check_context = NULL;

        char too_long[PLATFORM_COMPONENT_MAX + 16];
        memset(too_long, 'a', sizeof too_long - 1);
        too_long[sizeof too_long - 1] = 0;
        memcpy(too_long, "linux/", 6);
        static const char *const bad[] = {
                "", "linux", "/", "linux/", "/amd64", "linux//v7", "linux/arm/v7/", "linux/arm/v7/x",
                "linux/amd 64", "linux/amd64/\xc3\xa9", "linux/amd64\n", "linux/arm/",
                /* Valid for normalization, but not a platform. */
                "unknown/a b",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad) + 1; i++) {
                const char *in = i < ELEMENTSOF(bad) ? bad[i] : too_long;
                struct platform p, untouched;
                memset(&untouched, 'x', sizeof untouched);
                p = untouched;
                CHECK_MSG(platform_parse(in, &p) == -EINVAL, "\"%s\" parsed", in);
                CHECK_MSG(memcmp(&p, &untouched, sizeof p) == 0, "\"%s\" wrote its result", in);
        }

        /* A string longer than three full components is refused before it is copied. */
        char huge[4 * PLATFORM_COMPONENT_MAX];
        memset(huge, 'a', sizeof huge - 1);
        huge[sizeof huge - 1] = 0;
        huge[3] = '/';
        huge[40] = '/';
        struct platform p;
        CHECK_INT(platform_parse(huge, &p), -EINVAL);
}

int main(void) {
        test_normalize();
        test_limits();
        test_component_valid();
        test_parse();
        return check_summary("test-platform");
}
