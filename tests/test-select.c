/* Unit tests for lib/select: which tags are candidate versions, their order, the pre-release and pinning rules. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "select.h"
#include "util.h"
#include "check.h"

/* The plan as one line: tags newest first, "?" after one that is not a version, and "(missing)"
 * when a pinned tag is absent. */
static char *render(const struct select_plan *p) {
        size_t size = 32;
        for (size_t i = 0; i < p->n; i++)
                size += strlen(p->candidates[i].tag) + 3;
        char *out = calloc(1, size);
        if (!out)
                abort();
        for (size_t i = 0; i < p->n; i++) {
                const struct select_candidate *c = &p->candidates[i];
                if (i > 0)
                        strcat(out, " ");
                strcat(out, c->tag);
                if (!c->is_version)
                        strcat(out, "?");
        }
        if (p->pinned_missing)
                strcat(out, p->n ? " (missing)" : "(missing)");
        return out;
}

static void check_plan_at(const char *file, int line, char *const *tags, const char *pinned, const char *installed,
                          bool include_prerelease, const char *want) {
        struct select_plan p = {};
        int r = select_plan_build(tags, pinned, installed, include_prerelease, &p);
        if (r < 0) {
                check_at(false, file, line, "select_plan_build: %s", strerror(-r));
                return;
        }
        _cleanup_free_ char *got = render(&p);
        check_at(streq(got, want), file, line,
                 "plan(pinned=%s, installed=%s, prerelease=%d)\n   got: \"%s\"\n  want: \"%s\"",
                 pinned ? pinned : "NULL", installed ? installed : "NULL", include_prerelease, got, want);
        select_plan_done(&p);
        CHECK_MSG(p.n == 0 && !p.candidates, "plan_done leaves n=%zu", p.n);
}

#define check_plan(...) check_plan_at(__FILE__, __LINE__, __VA_ARGS__)

static void test_versions_only(void) {
        char *tags[] = {"1.0.0", "latest", "v1.10.0", "1.2.0", "stable", "1.10", "0.9.9",
                        "sha256-3f1e5a0b6c8d2e4f6a8b0c2d4e6f8a0b2c4d6e8f0a2b4c6d8e0f2a4b6c8d0e2f.sig",
                        "01.2.3", "1.2", "V1.3.0", "vv1.3.0", "=1.3.0", " 1.3.0", "1.3.0 ", "1.2.3.4",
                        "edge", "main", "1.9.0+build.5", NULL};
        check_plan(tags, NULL, NULL, false, "v1.10.0 1.9.0+build.5 1.2.0 1.0.0 0.9.9");
        /* Numeric, not lexical, order of the parts. */
        char *numeric[] = {"0.10.0", "0.9.0", "0.2.10", "0.2.9", "10.0.0", "9.99.99", NULL};
        check_plan(numeric, NULL, NULL, false, "10.0.0 9.99.99 0.10.0 0.9.0 0.2.10 0.2.9");
        char *none[] = {"latest", "stable", "1.10", "edge", NULL};
        check_plan(none, NULL, NULL, false, "");
        char *empty[] = {NULL};
        check_plan(empty, NULL, NULL, false, "");
        check_plan(NULL, NULL, NULL, false, "");
        check_plan(NULL, NULL, "1.0.0", true, "");
}

static void test_v_prefix_ties(void) {
        /* Equal precedence keeps both, ordered bytewise ('1'  'v'), whatever the listing order. */
        char *a[] = {"v1.2.0", "1.2.0", "1.1.0", NULL};
        char *b[] = {"1.1.0", "1.2.0", "v1.2.0", NULL};
        check_plan(a, NULL, NULL, false, "1.2.0 v1.2.0 1.1.0");
        check_plan(b, NULL, NULL, false, "1.2.0 v1.2.0 1.1.0");
        /* Build metadata does not count for precedence either. */
        char *c[] = {"1.2.0+b", "v1.2.0", "1.2.0+a", "1.2.0", NULL};
        check_plan(c, NULL, NULL, false, "1.2.0 1.2.0+a 1.2.0+b v1.2.0");
        /* The tag text is kept exactly. */
        char *d[] = {"v0.3.0", "0.2.8", NULL};
        check_plan(d, NULL, NULL, false, "v0.3.0 0.2.8");
        /* An installed version, with a 'v' or not, leaves the plan as it is. */
        check_plan(a, NULL, "v1.2.0", false, "1.2.0 v1.2.0 1.1.0");
        check_plan(a, NULL, "1.1.0", false, "1.2.0 v1.2.0 1.1.0");
}

static void test_prerelease(void) {
        char *tags[] = {"1.0.0", "2.0.0-rc.1", "2.0.0-rc.2", "2.0.0-alpha", "1.5.0-beta.1", "3.0.0-beta",
                        "v2.0.0-rc.10", "1.9.0", NULL};
        /* Ignored by default. */
        check_plan(tags, NULL, NULL, false, "1.9.0 1.0.0");
        /* All of them with include_prerelease, in SemVer precedence (rc.10 above rc.2: numeric ids). */
        check_plan(tags, NULL, NULL, true,
                   "3.0.0-beta v2.0.0-rc.10 2.0.0-rc.2 2.0.0-rc.1 2.0.0-alpha 1.9.0 1.5.0-beta.1 1.0.0");
        /* Installed pre-release of 2.0.0: pre-releases of 2.0.0 only, not of 3.0.0 or 1.5.0. */
        check_plan(tags, NULL, "2.0.0-rc.1", false, "v2.0.0-rc.10 2.0.0-rc.2 2.0.0-rc.1 2.0.0-alpha 1.9.0 1.0.0");
        check_plan(tags, NULL, "v2.0.0-rc.1", false,
                   "v2.0.0-rc.10 2.0.0-rc.2 2.0.0-rc.1 2.0.0-alpha 1.9.0 1.0.0");
        check_plan(tags, NULL, "1.5.0-beta.0", false, "1.9.0 1.5.0-beta.1 1.0.0");
        /* Installed release of the same major.minor.patch does not open the pre-releases. */
        check_plan(tags, NULL, "2.0.0", false, "1.9.0 1.0.0");
        /* Same major.minor, other patch: no. */
        check_plan(tags, NULL, "2.0.1-rc.1", false, "1.9.0 1.0.0");
        /* Installed is not a version: the default rule. */
        check_plan(tags, NULL, "garbage", false, "1.9.0 1.0.0");
        check_plan(tags, NULL, "", false, "1.9.0 1.0.0");
        /* Release 2.0.0 above its pre-releases. */
        char *with_release[] = {"2.0.0-rc.1", "2.0.0", "2.0.0-rc.2", NULL};
        check_plan(with_release, NULL, NULL, true, "2.0.0 2.0.0-rc.2 2.0.0-rc.1");
        check_plan(with_release, NULL, "2.0.0-rc.2", false, "2.0.0 2.0.0-rc.2 2.0.0-rc.1");
}

static void test_pinned(void) {
        char *tags[] = {"1.0.0", "v1.2.0", "1.2.0", "latest", "2.0.0-rc.1", "1.5.0", NULL};
        check_plan(tags, "1.0.0", NULL, false, "1.0.0");
        /* Exactly the pinned text: v1.2.0 is not 1.2.0. */
        check_plan(tags, "v1.2.0", NULL, false, "v1.2.0");
        check_plan(tags, "1.2.0", NULL, false, "1.2.0");
        /* A pinned pre-release is considered without include_prerelease. */
        check_plan(tags, "2.0.0-rc.1", NULL, false, "2.0.0-rc.1");
        /* A pinned tag that is not SemVer is still the one to consider. */
        check_plan(tags, "latest", NULL, false, "latest?");
        check_plan(tags, "latest", "1.0.0", false, "latest?");
        /* Missing. */
        check_plan(tags, "9.9.9", NULL, false, "(missing)");
        check_plan(tags, "v1.0.0", NULL, false, "(missing)");
        check_plan(tags, "stable", NULL, true, "(missing)");
        check_plan(NULL, "1.0.0", NULL, false, "(missing)");
        /* An installed version above the pin changes nothing. */
        check_plan(tags, "1.0.0", "1.2.0", false, "1.0.0");
        check_plan(tags, "1.5.0", "1.2.0", false, "1.5.0");

        struct select_plan p = {};
        CHECK_MSG(select_plan_build(tags, "1.5.0", NULL, false, &p) == 0, "%s", "build");
        CHECK_MSG(p.n == 1 && p.candidates[0].is_version && p.candidates[0].version.major == 1 &&
                          p.candidates[0].version.minor == 5 && !p.pinned_missing,
                  "n=%zu", p.n);
        select_plan_done(&p);
        select_plan_done(NULL);
}

/* CONTRACT §5.4: the installed version does not cut the plan (an installed version this Desktop
 * cannot run must not hide an older one it can); only the pre-release rule looks at it. */
static void test_installed_does_not_cut(void) {
        char *tags[] = {"0.1.0", "0.2.7", "0.2.8", "v0.3.0", "0.2.6", NULL};
        const char *all = "v0.3.0 0.2.8 0.2.7 0.2.6 0.1.0";
        check_plan(tags, NULL, "0.2.7", false, all);
        check_plan(tags, NULL, "v0.2.7", false, all);
        check_plan(tags, NULL, "1.0.0", false, all);
        check_plan(tags, NULL, "0.0.1", false, all);
        check_plan(tags, NULL, "not a version", false, all);
        char *pre[] = {"1.0.0-rc.1", "1.0.0", NULL};
        check_plan(pre, NULL, "1.0.0", true, "1.0.0 1.0.0-rc.1");
}

static void check_normalize_at(int line, const char *text, const char *want) {
        char *got = NULL;
        const char *reason = NULL;
        int r = select_installed_normalize(text, &got, &reason);
        if (want)
                check_at(r == 0 && got && streq(got, want), __FILE__, line, "normalize(\"%s\") = %d \"%s\", want \"%s\"",
                         text, r, got ? got : "NULL", want);
        else
                check_at(r == -EINVAL && !got && reason, __FILE__, line, "normalize(\"%s\") = %d, want -EINVAL", text,
                         r);
        free(got);
}

#define check_normalize(...) check_normalize_at(__LINE__, __VA_ARGS__)

static void test_installed_normalize(void) {
        check_normalize("1.2.3", "1.2.3");
        check_normalize("v1.2.3", "v1.2.3");
        check_normalize("  1.2.3\n", "1.2.3");
        check_normalize("1.0.0-rc.1+build.5", "1.0.0-rc.1+build.5");
        check_normalize("", NULL);
        check_normalize("   ", NULL);
        check_normalize("1.2", NULL);
        check_normalize("vv1.2.3", NULL);
        check_normalize("latest", NULL);
        check_normalize("1.0\xff", NULL);
        check_normalize("\x1b[31m1.0.0", NULL);
        check_normalize("1.0.0\n2.0.0", NULL);
        char *got = NULL;
        CHECK_INT(select_installed_normalize(NULL, &got, NULL), -EINVAL);
}

/* Many tags listed in a scrambled order come out sorted. */
static void test_many(void) {
        enum { N = 150 };
        char *tags[N + 1] = {};
        for (unsigned i = 0; i < N; i++) {
                unsigned k = (i * 37u) % N; /* 37 is coprime with 150: a permutation */
                if (asprintf(&tags[i], "%s1.%u.%u", k % 3 == 0 ? "v" : "", k / 10, k % 10) < 0)
                        abort();
        }
        struct select_plan p = {};
        CHECK_MSG(select_plan_build(tags, NULL, "1.7.3", false, &p) == 0, "%s", "build");
        CHECK_MSG(p.n == N, "n=%zu", p.n);
        bool sorted = true;
        for (size_t i = 0; i < p.n; i++) {
                unsigned k = N - 1 - (unsigned) i;
                char want[32];
                snprintf(want, sizeof want, "%s1.%u.%u", k % 3 == 0 ? "v" : "", k / 10, k % 10);
                if (!streq(p.candidates[i].tag, want)) {
                        sorted = false;
                        fprintf(stderr, "position %zu: %s, want %s\n", i, p.candidates[i].tag, want);
                        break;
                }
        }
        CHECK_MSG(sorted, "%s", "150 tags in descending order");
        select_plan_done(&p);
        for (unsigned i = 0; i < N; i++)
                free(tags[i]);
}

static void check_update_at(int line, const char *installed, const char *candidate, bool want) {
        bool got = select_is_update(installed, candidate);
        check_at(got == want, __FILE__, line, "select_is_update(%s, %s) = %d, want %d",
                 installed ? installed : "NULL", candidate ? candidate : "NULL", got, want);
}

#define check_update(...) check_update_at(__LINE__, __VA_ARGS__)

static void test_is_update(void) {
        check_update(NULL, "1.0.0", false);
        check_update("1.0.0", NULL, false);
        check_update(NULL, NULL, false);
        check_update("1.0.0", "1.0.1", true);
        check_update("1.0.0", "1.0.0", false);
        check_update("1.0.1", "1.0.0", false);
        check_update("0.2.7", "0.2.8", true);
        check_update("0.9.0", "0.10.0", true);
        check_update("v1.0.0", "1.0.1", true);
        check_update("1.0.0", "v1.0.1", true);
        check_update("1.0.0", "v1.0.0", false);
        check_update("v1.0.0", "1.0.0", false);
        check_update("1.0.0-rc.1", "1.0.0", true);
        check_update("1.0.0", "1.0.0-rc.1", false);
        check_update("1.0.0-rc.1", "1.0.0-rc.2", true);
        check_update("1.0.0+a", "1.0.0+b", false);
        check_update("latest", "1.0.0", false);
        check_update("1.0.0", "latest", false);
        check_update("", "1.0.0", false);
        check_update("1.0", "1.0.1", false);
}

int main(void) {
        test_versions_only();
        test_v_prefix_ties();
        test_prerelease();
        test_pinned();
        test_installed_does_not_cut();
        test_installed_normalize();
        test_many();
        test_is_update();
        return check_summary("test-select");
}
