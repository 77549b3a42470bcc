/* Unit tests for lib/text: the UTF-8 decoder and the escaping and quoting of untrusted text, as tables. */
#include <string.h>

#include "check.h"
#include "text.h"
#include "util.h"

static void test_decode(void) {
        static const struct {
                const char *bytes;
                size_t n;
                size_t len; /* 0: not UTF-8 */
                uint32_t cp;
        } table[] = {
                { "a", 1, 1, 'a' },
                { "\0", 1, 1, 0 },
                { "\x7f", 1, 1, 0x7f },
                { "\xc2\x80", 2, 2, 0x80 },
                { "\xc3\xa9", 2, 2, 0xe9 },
                { "\xe2\x80\xa6", 3, 3, 0x2026 },
                { "\xf0\x9f\x90\xb3", 4, 4, 0x1f433 },
                { "\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff },
                { "\x80", 1, 0, 0 },                 /* continuation byte first */
                { "\xc0\xaf", 2, 0, 0 },             /* overlong '/' */
                { "\xc1\xbf", 2, 0, 0 },             /* overlong */
                { "\xe0\x80\xaf", 3, 0, 0 },         /* overlong */
                { "\xed\xa0\x80", 3, 0, 0 },         /* surrogate U+D800 */
                { "\xf4\x90\x80\x80", 4, 0, 0 },     /* past U+10FFFF */
                { "\xf5\x80\x80\x80", 4, 0, 0 },     /* never a lead byte */
                { "\xff", 1, 0, 0 },
                { "\xf0\x9f\x90", 3, 0, 0 },         /* truncated */
                { "\xc3\xa9", 1, 0, 0 },             /* cut by n */
                { "\xc3(", 2, 0, 0 },                /* bad continuation */
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                uint32_t cp = 0xdead;
                size_t len = text_utf8_decode(table[i].bytes, table[i].n, &cp);
                CHECK_MSG(len == table[i].len, "row %zu: length %zu, want %zu", i, len, table[i].len);
                if (table[i].len)
                        CHECK_MSG(cp == table[i].cp, "row %zu: U+%04X, want U+%04X", i, (unsigned) cp,
                                  (unsigned) table[i].cp);
                CHECK_MSG(text_utf8_valid(table[i].bytes, table[i].n) == (table[i].len == table[i].n),
                          "row %zu: validity", i);
        }
        CHECK(text_utf8_valid("", 0));
        CHECK(text_utf8_valid("caf\xc3\xa9 \xf0\x9f\x90\xb3", 10));
        CHECK(!text_utf8_valid("ok\xff", 3));
        CHECK(text_is_control(0) && text_is_control(0x1b) && text_is_control(0x7f) && text_is_control(0x9b));
        CHECK(!text_is_control(' ') && !text_is_control(0xa0) && !text_is_control(0x2026));
}

static void test_quote(void) {
        static const struct {
                const char *in;
                size_t n;
                size_t max;
                const char *want;
        } table[] = {
                { "", 0, 10, "\"\"" },
                { "docker/ext", 10, 80, "\"docker/ext\"" },
                { "say \"hi\" \\o/", 12, 80, "\"say \\\"hi\\\" \\\\o/\"" },
                { "\x1b[31mred\x1b[0m", 12, 80, "\"\\x1b[31mred\\x1b[0m\"" },
                { "1.0\nforged line", 15, 80, "\"1.0\\x0aforged line\"" },
                { "1.0\0evil", 8, 80, "\"1.0\\x00evil\"" },
                { "v\xff\xfe", 3, 80, "\"v\\xff\\xfe\"" },
                { "x\xc2\x9by", 4, 80, "\"x\\xc2\\x9by\"" },          /* C1 CSI, byte by byte */
                { "\xed\xa0\x80", 3, 80, "\"\\xed\\xa0\\x80\"" },     /* a surrogate is not UTF-8 */
                { "caf\xc3\xa9", 5, 80, "\"caf\xc3\xa9\"" },          /* printable UTF-8 stays */
                { "\xe2\x80\xae" "abc", 6, 80, "\"\xe2\x80\xae" "abc\"" }, /* not a control: kept */
                { "abcdef", 6, 3, "\"abc\xe2\x80\xa6\"" },
                { "\xc3\xa9\xc3\xa9\xc3\xa9", 6, 2, "\"\xc3\xa9\xc3\xa9\xe2\x80\xa6\"" }, /* cut by characters */
                { "\x01\x02\x03\x04", 4, 2, "\"\\x01\\x02\xe2\x80\xa6\"" },
                { "abc", 3, 3, "\"abc\"" },
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_free_ char *q = text_quote(table[i].in, table[i].n, table[i].max);
                CHECK_MSG(q && streq(q, table[i].want), "row %zu: got %s, want %s", i, q ? q : "(null)",
                          table[i].want);
                /* Whatever came in, what goes out is valid UTF-8 without a control character. */
                size_t n = q ? strlen(q) : 0;
                CHECK(q && text_utf8_valid(q, n));
                for (size_t k = 0; q && k < n; k++)
                        CHECK_MSG((unsigned char) q[k] >= 0x20 && q[k] != 0x7f, "row %zu: byte %zu", i, k);
        }
        _cleanup_free_ char *s = text_quote_str("a\tb", 80);
        CHECK_STR(s, "\"a\\x09b\"");
}

static void test_escape(void) {
        static const struct {
                const char *in;
                size_t n;
                size_t max;
                const char *want;
        } table[] = {
                { "", 0, 10, "" },
                { "docker/ext", 10, 80, "docker/ext" },
                { "say \"hi\" \\o/", 12, 80, "say \"hi\" \\\\o/" },      /* no quotes to protect */
                { "a\x1b[2Jb", 6, 80, "a\\x1b[2Jb" },
                { "line\nbreak\ttab\r", 15, 80, "line\\x0abreak\\x09tab\\x0d" },
                { "del\x7f", 4, 80, "del\\x7f" },
                { "c1 \xc2\x9b" "31m", 8, 80, "c1 \\xc2\\x9b31m" },
                { "caf\xc3\xa9 \xc2\xa0", 8, 80, "caf\xc3\xa9 \xc2\xa0" }, /* U+00A0 is no control */
                { "v\xff\0", 3, 80, "v\\xff\\x00" },
                { "abcdef", 6, 3, "abc\xe2\x80\xa6" },
                { "\x01\x02\x03", 3, 2, "\\x01\\x02\xe2\x80\xa6" },
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_free_ char *e = text_escape(table[i].in, table[i].n, table[i].max);
                CHECK_MSG(e && streq(e, table[i].want), "row %zu: got %s, want %s", i, e ? e : "(null)",
                          table[i].want);
        }
        _cleanup_free_ char *s = text_escape_str("a\tb", 80);
        CHECK_STR(s, "a\\x09b");
}

int main(void) {
        test_decode();
        test_escape();
        test_quote();
        return check_summary("test-text");
}
