/* Unit tests of extupdatectl's output helpers: terminal-safe text, relative times, tables. */
#include <stdio.h>

#include "../check.h"
#include "ctl-print.h"
#include "util.h"

static void test_escape(void) {
        static const struct {
                const char *in, *out;
        } table[] = {
                { "docker/disk-usage-extension", "docker/disk-usage-extension" },
                { "", "" },
                { "a\x1b[2Jb", "a\\x1b[2Jb" },
                { "line\nbreak\ttab\r", "line\\x0abreak\\x09tab\\x0d" },
                { "del\x7f", "del\\x7f" },
                { "c1 \xc2\x9b" "31m", "c1 \\xc2\\x9b31m" },
                { "caf\xc3\xa9 \xc2\xa0", "caf\xc3\xa9 \xc2\xa0" },
                { "back\\slash", "back\\\\slash" },
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                check_context = table[i].out;
                char *e = ctl_escape(table[i].in);
                CHECK_STR(e, table[i].out);
                free(e);
        }
        check_context = NULL;
        char *e = ctl_escape(NULL);
        CHECK_STR(e, "-");
        free(e);
}

static void test_relative_time(void) {
        static const struct {
                long long delta; /* now - t */
                const char *text;
        } table[] = {
                { 0, "just now" },       { 59, "just now" },       { 60, "1 min ago" },
                { 3599, "59 min ago" },  { 7200, "2 h ago" },      { 47 * 3600, "47 h ago" },
                { 3 * 86400, "3 d ago" }, { -30, "in less than a minute" }, { -4 * 3600, "in 4 h" },
        };
        time_t now = 1800000000;
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                char buf[32];
                check_context = table[i].text;
                ctl_relative_time(now - (time_t) table[i].delta, now, buf);
                CHECK_STR(buf, table[i].text);
        }
        check_context = NULL;
}

static void test_table(void) {
        static const char *const headers[] = { "NAME", "V", "NOTE" };
        struct ctl_table *t = ctl_table_new(headers, 3);
        REQUIRE(t);
        char *row1[] = { strdup("a/long-name"), strdup("1.0.0"), strdup("x") };
        char *row2[] = { strdup("b"), NULL, strdup("") };
        REQUIRE_OK(ctl_table_add(t, row1));
        REQUIRE_OK(ctl_table_add(t, row2));
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        REQUIRE(f);
        ctl_table_print(t, f);
        fclose(f);
        CHECK_STR(out, "NAME         V      NOTE\n"
                       "a/long-name  1.0.0  x\n"
                       "b            -\n");
        free(out);
        ctl_table_free(t);
}

int main(void) {
        test_escape();
        test_relative_time();
        test_table();
        return check_summary("test-ctl-print");
}
