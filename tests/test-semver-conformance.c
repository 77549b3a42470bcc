/* Checks lib/semver against node-semver's own test fixtures and the SemVer 2.0.0 spec's examples. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>

#include "semver.h"
#include "util.h"
#include "check.h"

/* Where the program's counts stood when the file being checked began, and what it skipped. */
static unsigned file_passed, file_failed, skip, total_skip;

static void begin_file(void) {
        file_passed = check_passed;
        file_failed = check_failed;
        skip = 0;
}

static void end_file(const char *name, const char *skip_reason) {
        printf("%-40s %3u passed, %u failed, %u skipped%s%s\n", name, check_passed - file_passed,
               check_failed - file_failed, skip, skip && skip_reason ? ": " : "",
               skip && skip_reason ? skip_reason : "");
        total_skip += skip;
}

static cJSON *load(const char *dir, const char *name) {
        _cleanup_free_ char *path = util_printf("%s/%s", dir, name);
        _cleanup_free_ char *text = NULL;
        size_t len;

        if (!path || util_read_file(path, 16 << 20, &text, &len) < 0) {
                check_at(false, __FILE__, __LINE__, "%s: cannot read", path ? path : name);
                return NULL;
        }
        cJSON *j = cJSON_Parse(text);
        if (!j)
                check_at(false, __FILE__, __LINE__, "%s: not JSON", path);
        return j;
}

static const char *str(const cJSON *o, const char *key) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
        return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool option(const cJSON *c, const char *key) {
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(c, "options");
        return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* A fixture's identifier: node-semver turns numeric pre-release identifiers into JSON numbers. */
static bool identifier_matches(const cJSON *want, const char *got) {
        if (cJSON_IsString(want))
                return streq(want->valuestring, got);
        if (cJSON_IsNumber(want)) {
                char buf[32];
                snprintf(buf, sizeof buf, "%.0f", want->valuedouble);
                return streq(buf, got);
        }
        return false;
}

static bool identifiers_match(const cJSON *want, char **got) {
        size_t n = util_strv_length(got);
        if ((size_t) cJSON_GetArraySize(want) != n)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!identifier_matches(cJSON_GetArrayItem(want, (int) i), got[i]))
                        return false;
        return true;
}

/* The build metadata as node-semver splits it. */
static bool build_matches(const cJSON *want, const char *got) {
        _cleanup_strv_free_ char **ids = NULL;
        if (got) {
                const char *b = got;
                for (const char *p = got;; p++)
                        if (*p == '.' || *p == '\0') {
                                if (util_strv_consume(&ids, strndup(b, p - b)) < 0)
                                        return false;
                                if (*p == '\0')
                                        break;
                                b = p + 1;
                        }
        }
        return identifiers_match(want, ids);
}

static bool number_matches(const cJSON *want, uint64_t got) {
        if (cJSON_IsNumber(want))
                return want->valuedouble == (double) got;
        if (cJSON_IsString(want)) {
                char buf[32];
                snprintf(buf, sizeof buf, "%" PRIu64, got);
                return streq(buf, want->valuestring);
        }
        return false;
}

static void check_valid_versions(const char *dir) {
        begin_file();
        cJSON *j = load(dir, "node-semver/valid-versions.json");
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "cases")) {
                const char *s = str(c, "version");
                struct semver v;
                int r = semver_parse(s, SEMVER_PARSE_NODE, &v);
                if (r < 0) {
                        CHECK_MSG(false, "valid(\"%s\") refused: %d", s, r);
                        continue;
                }
                bool ok = number_matches(cJSON_GetObjectItemCaseSensitive(c, "major"), v.major) &&
                          number_matches(cJSON_GetObjectItemCaseSensitive(c, "minor"), v.minor) &&
                          number_matches(cJSON_GetObjectItemCaseSensitive(c, "patch"), v.patch) &&
                          identifiers_match(cJSON_GetObjectItemCaseSensitive(c, "prerelease"),
                                            v.prerelease) &&
                          build_matches(cJSON_GetObjectItemCaseSensitive(c, "build"), v.build);
                CHECK_MSG(ok, "\"%s\": parts differ", s);
                semver_done(&v);
        }
        cJSON_Delete(j);
        end_file("node-semver/valid-versions.json", "not a string (RegExp, object)");
}

static void check_invalid_versions(const char *dir) {
        begin_file();
        cJSON *j = load(dir, "node-semver/invalid-versions.json");
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "cases")) {
                const char *s = str(c, "value");
                if (!s) {
                        skip++;
                        continue;
                }
                /* Strict mode accepts a subset of loose mode: junk even to loose is junk to us. */
                struct semver v;
                int r = semver_parse(s, SEMVER_PARSE_NODE, &v);
                CHECK_MSG(r == -EINVAL, "valid(\"%.40s\") accepted (%s)", s, str(c, "reason"));
                if (r == 0)
                        semver_done(&v);
        }
        cJSON_Delete(j);
        end_file("node-semver/invalid-versions.json", "not a string (RegExp, object)");
}

/* compare(a, b) of two fixture strings; false when a loose-only string makes it not ours. */
static bool compare_strict(const char *a, const char *b, int *ret) {
        struct semver va, vb;
        if (semver_parse(a, SEMVER_PARSE_NODE, &va) < 0)
                return false;
        if (semver_parse(b, SEMVER_PARSE_NODE, &vb) < 0) {
                semver_done(&va);
                return false;
        }
        *ret = semver_compare(&va, &vb);
        semver_done(&va);
        semver_done(&vb);
        return true;
}

static void check_comparisons(const char *dir) {
        begin_file();
        cJSON *j = load(dir, "node-semver/comparisons.json");
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "cases")) {
                const char *g = str(c, "greater"), *l = str(c, "lesser");
                int gl, lg, gg, ll;
                if (!compare_strict(g, l, &gl)) {
                        /* Strict parsing may refuse only what loose mode was needed for. */
                        if (option(c, "loose"))
                                skip++;
                        else
                                CHECK_MSG(false, "\"%s\" or \"%s\" refused", g, l);
                        continue;
                }
                compare_strict(l, g, &lg);
                compare_strict(g, g, &gg);
                compare_strict(l, l, &ll);
                CHECK_MSG(gl == 1 && lg == -1 && gg == 0 && ll == 0,
                          "compare(\"%s\", \"%s\") = %d, reverse %d, self %d %d", g, l, gl, lg, gg, ll);
        }
        cJSON_Delete(j);
        end_file("node-semver/comparisons.json", "need node-semver's loose option");
}

static void check_equality(const char *dir) {
        begin_file();
        cJSON *j = load(dir, "node-semver/equality.json");
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "cases")) {
                const char *a = str(c, "a"), *b = str(c, "b");
                int ab, ba;
                if (!compare_strict(a, b, &ab)) {
                        /* Strict parsing may refuse only what loose mode was needed for. */
                        if (option(c, "loose"))
                                skip++;
                        else
                                CHECK_MSG(false, "\"%s\" or \"%s\" refused", a, b);
                        continue;
                }
                compare_strict(b, a, &ba);
                CHECK_MSG(ab == 0 && ba == 0, "compare(\"%s\", \"%s\") = %d, reverse %d", a, b, ab, ba);
        }
        cJSON_Delete(j);
        end_file("node-semver/equality.json", "need node-semver's loose option");
}

static void check_satisfies(const char *dir, const char *name, bool expected) {
        begin_file();
        cJSON *j = load(dir, name);
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "cases")) {
                const char *range = str(c, "range"), *version = str(c, "version");
                if (option(c, "loose") || !version) {
                        skip++;
                        continue;
                }
                bool incpr = option(c, "includePrerelease");
                /* node-semver answers false for an invalid range or version; we say -EINVAL. */
                int r = semver_satisfies(version, range, incpr);
                CHECK_MSG((r == 1) == expected, "satisfies(\"%s\", \"%s\"%s) = %d, want %s", version,
                          range, incpr ? ", includePrerelease" : "", r, expected ? "true" : "false");
        }
        cJSON_Delete(j);
        end_file(name, "need node-semver's loose option, or the version is not a string");
}

static void check_range_parse(const char *dir) {
        begin_file();
        cJSON *j = load(dir, "node-semver/range-parse.json");
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "cases")) {
                const char *range = str(c, "range"), *expected = str(c, "expected");
                if (option(c, "loose")) {
                        skip++;
                        continue;
                }
                unsigned flags = option(c, "includePrerelease") ? SEMVER_RANGE_INCLUDE_PRERELEASE : 0;
                _cleanup_(semver_range_freep) struct semver_range *r = NULL;
                _cleanup_free_ char *got = NULL;
                int k = semver_range_parse(range, flags, &r);
                if (k == 0)
                        k = semver_range_format(r, &got);
                CHECK_MSG(expected ? (k == 0 && streq(got, expected)) : k == -EINVAL,
                          "validRange(\"%.60s\"%s) = %s, want %s", range, flags ? ", includePrerelease" : "",
                          k == 0 ? got : "null", expected ? expected : "null");
        }
        cJSON_Delete(j);
        end_file("node-semver/range-parse.json", "need node-semver's loose option");
}

static void check_precedence(const char *dir) {
        begin_file();
        cJSON *j = load(dir, "semver-spec/precedence-examples.json");
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "ordered_pairs")) {
                const char *l = str(c, "lesser"), *g = str(c, "greater");
                int lg = 2, gl = 2;
                bool ok = compare_strict(l, g, &lg) && compare_strict(g, l, &gl);
                CHECK_MSG(ok && lg == -1 && gl == 1, "\"%s\" < \"%s\": compare = %d, reverse %d", l, g,
                          lg, gl);
        }
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "equal_precedence")) {
                const char *a = str(c, "a"), *b = str(c, "b");
                int ab = 2, ba = 2;
                bool ok = compare_strict(a, b, &ab) && compare_strict(b, a, &ba);
                CHECK_MSG(ok && ab == 0 && ba == 0, "\"%s\" = \"%s\": compare = %d, reverse %d", a, b, ab,
                          ba);
        }
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "chains")) {
                /* Sorting a chain's reversal must give the chain back. */
                const cJSON *chain = cJSON_GetObjectItemCaseSensitive(c, "chain");
                int n = cJSON_GetArraySize(chain);
                const char *sorted[16];
                if (n > (int) ELEMENTSOF(sorted))
                        continue;
                for (int i = 0; i < n; i++)
                        sorted[i] = cJSON_GetArrayItem(chain, n - 1 - i)->valuestring;
                for (int i = 1; i < n; i++)
                        for (int k = i; k > 0 && semver_compare_strings(sorted[k - 1], sorted[k]) > 0; k--) {
                                const char *t = sorted[k];
                                sorted[k] = sorted[k - 1];
                                sorted[k - 1] = t;
                        }
                bool ok = true;
                for (int i = 0; i < n; i++)
                        ok = ok && streq(sorted[i], cJSON_GetArrayItem(chain, i)->valuestring);
                CHECK_MSG(ok, "chain %s does not sort back", str(c, "text"));
        }
        cJSON_Delete(j);
        end_file("semver-spec/precedence-examples.json", NULL);
}

static bool within_node_limits(const cJSON *parts) {
        static const char *const keys[] = { "major", "minor", "patch" };
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                const char *s = str(parts, keys[i]);
                if (!s || strlen(s) > 16 || strtoull(s, NULL, 10) > SEMVER_MAX_NUMBER)
                        return false;
        }
        return true;
}

static void check_spec_versions(const char *dir, const char *name) {
        unsigned beyond = 0;

        begin_file();
        cJSON *j = load(dir, name);
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "cases")) {
                const char *s = str(c, "version");
                const cJSON *valid = cJSON_GetObjectItemCaseSensitive(c, "valid");
                const cJSON *parts = cJSON_GetObjectItemCaseSensitive(c, "parts");
                bool want = !valid || cJSON_IsTrue(valid);
                /* Bare SemVer: no 'v', no whitespace. node-semver's numeric limit applies. */
                if (want && !within_node_limits(parts)) {
                        want = false;
                        beyond++;
                }
                struct semver v;
                int r = semver_parse(s, 0, &v);
                if (r < 0 || !want) {
                        CHECK_MSG((r == 0) == want, "\"%.60s\": parse = %d, want %s", s, r,
                                  want ? "valid" : "invalid");
                        if (r == 0)
                                semver_done(&v);
                        continue;
                }
                char buf[64];
                bool ok = true;
                snprintf(buf, sizeof buf, "%" PRIu64 ".%" PRIu64 ".%" PRIu64, v.major, v.minor, v.patch);
                _cleanup_free_ char *main_part = util_printf("%s.%s.%s", str(parts, "major"),
                                                             str(parts, "minor"), str(parts, "patch"));
                ok = main_part && streq(buf, main_part) &&
                     identifiers_match(cJSON_GetObjectItemCaseSensitive(parts, "prerelease"),
                                       v.prerelease) &&
                     build_matches(cJSON_GetObjectItemCaseSensitive(parts, "build"), v.build);
                CHECK_MSG(ok, "\"%s\": parts differ", s);
                semver_done(&v);
        }
        cJSON_Delete(j);
        end_file(name, NULL);
        if (beyond > 0)
                printf("%-40s (%u spec-valid versions expected invalid: numbers above 2^53-1, "
                       "as node-semver)\n", "", beyond);
}

int main(void) {
        const char *root = getenv("EXTUPDATED_TESTDATA");
        struct stat st;

        if (!root || !*root) {
                printf("EXTUPDATED_TESTDATA not set, skipping\n");
                return 77;
        }
        _cleanup_free_ char *dir = util_printf("%s/semver", root);
        if (!dir || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
                printf("%s: absent, skipping\n", dir ? dir : root);
                return 77;
        }

        check_valid_versions(dir);
        check_invalid_versions(dir);
        check_comparisons(dir);
        check_equality(dir);
        check_satisfies(dir, "node-semver/range-include.json", true);
        check_satisfies(dir, "node-semver/range-exclude.json", false);
        check_range_parse(dir);
        check_precedence(dir);
        check_spec_versions(dir, "semver-spec/spec-example-versions.json");
        check_spec_versions(dir, "semver-spec/regex101-valid-invalid.json");

        printf("test-semver-conformance: %u skipped\n", total_skip);
        return check_summary("test-semver-conformance");
}
