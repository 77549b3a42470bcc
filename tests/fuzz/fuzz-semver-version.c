/* Fuzzes version parsing: never a crash, and every version parsed renders to one that parses back equal. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "semver.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *s, unsigned flags) {
        struct semver v, w;
        char *text = NULL;

        if (semver_parse(s, flags, &v) < 0)
                return;
        if (semver_format(&v, true, &text) < 0) {
                semver_done(&v);
                return;
        }
        /* The canonical form is bare SemVer: it must parse without any leniency. */
        if (semver_parse(text, 0, &w) < 0) {
                fprintf(stderr, "\"%s\" rendered as \"%s\", which does not parse\n", s, text);
                abort();
        }
        if (semver_compare(&v, &w) != 0 || semver_compare(&w, &v) != 0 || !streq_ptr(v.build, w.build)) {
                fprintf(stderr, "\"%s\" and its rendering \"%s\" differ\n", s, text);
                abort();
        }
        semver_done(&w);
        semver_done(&v);
        free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        /* The input as one string, and its first half against its second for compare(). */
        char *s = strndup((const char *) data, size);
        if (!s)
                return 0;
        check(s, 0);
        check(s, SEMVER_PARSE_ALLOW_V);
        check(s, SEMVER_PARSE_NODE);

        char *nl = strchr(s, '\n');
        if (nl) {
                *nl = '\0';
                struct semver a, b;
                if (semver_parse(s, SEMVER_PARSE_NODE, &a) == 0) {
                        if (semver_parse(nl + 1, SEMVER_PARSE_NODE, &b) == 0) {
                                if (semver_compare(&a, &b) != -semver_compare(&b, &a)) {
                                        fprintf(stderr, "compare(\"%s\", \"%s\") is not antisymmetric\n", s, nl + 1);
                                        abort();
                                }
                                semver_done(&b);
                        }
                        semver_done(&a);
                }
                int c = semver_compare_strings(s, nl + 1);
                if ((c > 0) != (semver_compare_strings(nl + 1, s) < 0)) {
                        fprintf(stderr, "compare_strings(\"%s\", \"%s\") is not antisymmetric\n", s, nl + 1);
                        abort();
                }
        }
        free(s);
        return 0;
}
