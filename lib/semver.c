/* SemVer 2.0.0 versions and node-semver's range language: parsing, precedence, satisfaction. */
#include "semver.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/types.h>

#include "util.h"

/* node-semver guards its regular expressions with these bounds; we keep them so that long
 * numbers and identifiers inside ranges are refused exactly where node-semver refuses them. */
#define MAX_DIGITS 257      /* "[1-9]\d{0,256}" */
#define MAX_ID_TAIL 250     /* "[a-zA-Z0-9-]{0,250}" after an identifier's first letter */
#define MAX_ID_DIGITS 256   /* "\d{0,256}" before it */

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static bool is_alpha_dash(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

/* An identifier character: [0-9A-Za-z-]. */
static bool is_ldn(char c) {
        return is_digit(c) || is_alpha_dash(c);
}

/* Length in bytes of the JavaScript whitespace character (\s, String.prototype.trim) at s, or 0. */
static size_t js_space(const char *s) {
        const unsigned char *u = (const unsigned char *) s;

        if (u[0] == ' ' || (u[0] >= '\t' && u[0] <= '\r'))
                return 1;
        if (u[0] == 0xC2 && u[1] == 0xA0) /* U+00A0 */
                return 2;
        if (u[0] == 0xE1 && u[1] == 0x9A && u[2] == 0x80) /* U+1680 */
                return 3;
        if (u[0] == 0xE2 && u[1] == 0x80 &&
            ((u[2] >= 0x80 && u[2] <= 0x8A) || u[2] == 0xA8 || u[2] == 0xA9 || u[2] == 0xAF))
                return 3; /* U+2000..U+200A, U+2028, U+2029, U+202F */
        if (u[0] == 0xE2 && u[1] == 0x81 && u[2] == 0x9F) /* U+205F */
                return 3;
        if (u[0] == 0xE3 && u[1] == 0x80 && u[2] == 0x80) /* U+3000 */
                return 3;
        if (u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF) /* U+FEFF */
                return 3;
        return 0;
}

/* node-semver measures MAX_LENGTH in UTF-16 code units. */
static size_t utf16_length(const char *s) {
        size_t n = 0;
        for (const unsigned char *u = (const unsigned char *) s; *u; u++) {
                if ((*u & 0xC0) != 0x80)
                        n++;
                if (*u >= 0xF0)
                        n++;
        }
        return n;
}

/* Bounds of s without surrounding JavaScript whitespace. */
static void js_trim(const char *s, size_t *ret_begin, size_t *ret_end) {
        size_t b = 0, e = 0, i = 0, k;

        while ((k = js_space(s + b)) > 0)
                b += k;
        i = e = b;
        while (s[i]) {
                k = js_space(s + i);
                if (k > 0)
                        i += k;
                else
                        e = ++i;
        }
        *ret_begin = b;
        *ret_end = e;
}

/* A growing string; an allocation failure is remembered and reported once at the end. */
struct sbuf {
        char *s;
        size_t len, cap;
        bool oom;
};

static void sb_putn(struct sbuf *b, const char *s, size_t n) {
        if (b->oom)
                return;
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 64;
                while (cap < b->len + n + 1)
                        cap *= 2;
                char *p = realloc(b->s, cap);
                if (!p) {
                        b->oom = true;
                        return;
                }
                b->s = p;
                b->cap = cap;
        }
        memcpy(b->s + b->len, s, n);
        b->len += n;
        b->s[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s) {
        sb_putn(b, s, strlen(s));
}

static void sb_putc(struct sbuf *b, char c) {
        sb_putn(b, &c, 1);
}

_printf_(2, 3) static void sb_printf(struct sbuf *b, const char *fmt, ...) {
        char small[128];
        va_list ap;

        va_start(ap, fmt);
        int n = vsnprintf(small, sizeof small, fmt, ap);
        va_end(ap);
        if (n < 0) {
                b->oom = true;
                return;
        }
        if ((size_t) n < sizeof small) {
                sb_putn(b, small, n);
                return;
        }
        _cleanup_free_ char *big = malloc(n + 1);
        if (!big) {
                b->oom = true;
                return;
        }
        va_start(ap, fmt);
        vsnprintf(big, n + 1, fmt, ap);
        va_end(ap);
        sb_putn(b, big, n);
}

/* Hands the string over (an empty one when nothing was written); NULL on allocation failure. */
static char *sb_take(struct sbuf *b) {
        if (!b->oom && !b->s)
                sb_putn(b, "", 0);
        if (b->oom) {
                free(b->s);
                b->s = NULL;
                return NULL;
        }
        char *s = b->s;
        *b = (struct sbuf) {};
        return s;
}

static void sb_done(struct sbuf *b) {
        free(b->s);
        *b = (struct sbuf) {};
}

/* ---- versions ---- */

/* NUMERICIDENTIFIER ("0" or no leading zero) not above SEMVER_MAX_NUMBER. */
static bool parse_number(const char *p, size_t n, size_t *i, uint64_t *ret) {
        size_t j = *i;
        uint64_t v = 0;

        if (j >= n || !is_digit(p[j]))
                return false;
        if (p[j] == '0') {
                *i = j + 1;
                *ret = 0;
                return true;
        }
        for (; j < n && is_digit(p[j]); j++) {
                v = v * 10 + (uint64_t) (p[j] - '0');
                if (v > SEMVER_MAX_NUMBER)
                        return false;
        }
        *i = j;
        *ret = v;
        return true;
}

static bool all_digits(const char *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!is_digit(p[i]))
                        return false;
        return true;
}

/* A strict version in p[0..n): "[v]MAJOR.MINOR.PATCH[-PRE][+BUILD]". */
static int parse_core(const char *p, size_t n, bool allow_v, struct semver *ret) {
        _cleanup_strv_free_ char **pre = NULL;
        _cleanup_free_ char *build = NULL;
        uint64_t major, minor, patch;
        size_t i = 0;

        if (allow_v && n > 0 && p[0] == 'v')
                i++;
        if (!parse_number(p, n, &i, &major) || i >= n || p[i++] != '.' ||
            !parse_number(p, n, &i, &minor) || i >= n || p[i++] != '.' ||
            !parse_number(p, n, &i, &patch))
                return -EINVAL;

        if (i < n && p[i] == '-') {
                for (;;) {
                        size_t b = ++i;
                        while (i < n && is_ldn(p[i]))
                                i++;
                        size_t len = i - b;
                        if (len == 0 || (len > 1 && p[b] == '0' && all_digits(p + b, len)))
                                return -EINVAL;
                        _cleanup_free_ char *id = strndup(p + b, len);
                        if (!id)
                                return -ENOMEM;
                        if (util_strv_consume(&pre, TAKE_PTR(id)) < 0)
                                return -ENOMEM;
                        if (i >= n || p[i] != '.')
                                break;
                }
        }

        if (i < n && p[i] == '+') {
                size_t b = i + 1;
                for (;;) {
                        size_t s = ++i;
                        while (i < n && is_ldn(p[i]))
                                i++;
                        if (i == s)
                                return -EINVAL;
                        if (i >= n || p[i] != '.')
                                break;
                }
                build = strndup(p + b, i - b);
                if (!build)
                        return -ENOMEM;
        }

        if (i != n)
                return -EINVAL;

        *ret = (struct semver) {
                .major = major,
                .minor = minor,
                .patch = patch,
                .prerelease = TAKE_PTR(pre),
                .build = TAKE_PTR(build),
        };
        return 0;
}

int semver_parse(const char *s, unsigned flags, struct semver *ret) {
        size_t b = 0, e;

        if (!s)
                return -EINVAL;
        if (flags & SEMVER_PARSE_TRIM) {
                if (utf16_length(s) > SEMVER_MAX_LENGTH)
                        return -EINVAL;
                js_trim(s, &b, &e);
        } else {
                e = strlen(s);
                if (e > SEMVER_MAX_LENGTH)
                        return -EINVAL;
        }
        return parse_core(s + b, e - b, flags & SEMVER_PARSE_ALLOW_V, ret);
}

void semver_done(struct semver *v) {
        if (!v)
                return;
        util_strv_free(v->prerelease);
        free(v->build);
        *v = (struct semver) {};
}

static int cmp_u64(uint64_t a, uint64_t b) {
        return a < b ? -1 : a > b ? 1 : 0;
}

static int sign(int r) {
        return r < 0 ? -1 : r > 0 ? 1 : 0;
}

/* Numeric identifiers compare numerically (exactly, at any length), below alphanumeric ones;
 * alphanumeric ones compare in ASCII order. */
static int compare_identifiers(const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b);
        bool na = all_digits(a, la), nb = all_digits(b, lb);

        if (na && nb) {
                while (la > 1 && *a == '0')
                        a++, la--;
                while (lb > 1 && *b == '0')
                        b++, lb--;
                if (la != lb)
                        return la < lb ? -1 : 1;
                return sign(strcmp(a, b));
        }
        if (na)
                return -1;
        if (nb)
                return 1;
        return sign(strcmp(a, b));
}

int semver_compare(const struct semver *a, const struct semver *b) {
        int r = cmp_u64(a->major, b->major);
        if (r == 0)
                r = cmp_u64(a->minor, b->minor);
        if (r == 0)
                r = cmp_u64(a->patch, b->patch);
        if (r != 0)
                return r;

        /* A pre-release has lower precedence than the release itself. */
        if (!a->prerelease || !b->prerelease)
                return !a->prerelease ? (b->prerelease ? 1 : 0) : -1;

        for (size_t i = 0;; i++) {
                const char *x = a->prerelease[i], *y = b->prerelease[i];
                if (!x || !y)
                        return !x ? (y ? -1 : 0) : 1;
                r = compare_identifiers(x, y);
                if (r != 0)
                        return r;
        }
}

bool semver_is_prerelease(const struct semver *v) {
        return v->prerelease && v->prerelease[0];
}

static void format_version(struct sbuf *b, const struct semver *v, bool with_build) {
        sb_printf(b, "%" PRIu64 ".%" PRIu64 ".%" PRIu64, v->major, v->minor, v->patch);
        for (size_t i = 0; v->prerelease && v->prerelease[i]; i++) {
                sb_putc(b, i == 0 ? '-' : '.');
                sb_puts(b, v->prerelease[i]);
        }
        if (with_build && v->build) {
                sb_putc(b, '+');
                sb_puts(b, v->build);
        }
}

int semver_format(const struct semver *v, bool with_build, char **ret) {
        struct sbuf b = {};

        format_version(&b, v, with_build);
        char *s = sb_take(&b);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int semver_compare_strings(const char *a, const char *b) {
        struct semver va = {}, vb = {};
        int ra = semver_parse(a, SEMVER_PARSE_ALLOW_V, &va);
        int rb = semver_parse(b, SEMVER_PARSE_ALLOW_V, &vb);
        int r = 0;

        if (ra == 0 && rb == 0)
                r = semver_compare(&va, &vb);
        else if (ra == -EINVAL && rb == 0)
                r = -1;
        else if (ra == 0 && rb == -EINVAL)
                r = 1;
        semver_done(&va);
        semver_done(&vb);
        return r != 0 ? r : sign(strcmp(a, b));
}

/* ---- ranges ----
 *
 * node-semver (7.8.5, whose fixtures tests/test-semver-conformance.c reads) defines its range
 * language by rewriting the string with regular expressions in a fixed order (strip build
 * metadata, hyphen ranges, glue operators to their versions, carets, tildes, x-ranges, stars)
 * and then parsing what is left as plain comparators. Its answers for unusual input ("^v=1.2",
 * "1.x.3 - 2", "> =1") follow from that order, so we rewrite the same way, with a hand-written
 * matcher for each expression, rather than parse a grammar of our own that would disagree at
 * the edges. */

/* A piece of the input; p == NULL when a regular-expression group did not take part. */
struct slice {
        const char *p;
        size_t n;
};

static bool slice_is(struct slice s, const char *lit) {
        return s.p && s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

/* node-semver's isX(): absent, "x", "X" or "*". */
static bool is_x(struct slice s) {
        return !s.p || slice_is(s, "x") || slice_is(s, "X") || slice_is(s, "*");
}

/* How many digits start at p, counting no further than max + 1. */
static size_t digit_run(const char *p, size_t max) {
        size_t k = 0;
        while (k <= max && is_digit(p[k]))
                k++;
        return k;
}

/* XRANGEIDENTIFIER, whole: "0", "[1-9]\d{0,256}", "x", "X" or "*". */
static bool xid_full(const char *p, size_t n) {
        if (n == 1 && (p[0] == 'x' || p[0] == 'X' || p[0] == '*' || p[0] == '0'))
                return true;
        return n >= 1 && n <= MAX_DIGITS && p[0] >= '1' && p[0] <= '9' && all_digits(p, n);
}

/* PRERELEASEIDENTIFIER, whole: a non-numeric identifier within node-semver's bounds, or a
 * numeric one without leading zero. */
static bool prid_full(const char *p, size_t n) {
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_ldn(p[i]))
                        return false;
        size_t k = 0;
        while (k < n && is_digit(p[k]))
                k++;
        if (k < n)
                return k <= MAX_ID_DIGITS && n - k - 1 <= MAX_ID_TAIL;
        return (n == 1 && p[0] == '0') || (p[0] != '0' && n <= MAX_DIGITS);
}

static bool prerelease_full(const char *p, size_t n) {
        size_t b = 0;
        for (size_t i = 0; i <= n; i++)
                if (i == n || p[i] == '.') {
                        if (!prid_full(p + b, i - b))
                                return false;
                        b = i + 1;
                }
        return true;
}

struct xrange {
        struct slice all, major, minor, patch, pre;
};

/* XRANGEPLAIN matching all of p[0..n): "[v=\s]*" then "M[.m[.p[-pre]]]" of x-range identifiers.
 * Build metadata was stripped before any caller runs. */
static bool xrange_full(const char *p, size_t n, struct xrange *ret) {
        struct xrange x = { .all = { p, n } };
        size_t i = 0, b;

        while (i < n && (p[i] == 'v' || p[i] == '=' || p[i] == ' '))
                i++;

        b = i;
        while (i < n && p[i] != '.')
                i++;
        if (!xid_full(p + b, i - b))
                return false;
        x.major = (struct slice) { p + b, i - b };

        if (i < n) {
                b = ++i;
                while (i < n && p[i] != '.')
                        i++;
                if (!xid_full(p + b, i - b))
                        return false;
                x.minor = (struct slice) { p + b, i - b };
        }

        if (i < n) {
                b = ++i;
                while (i < n && p[i] != '-')
                        i++;
                if (!xid_full(p + b, i - b))
                        return false;
                x.patch = (struct slice) { p + b, i - b };
                if (i < n) {
                        if (!prerelease_full(p + i + 1, n - i - 1))
                                return false;
                        x.pre = (struct slice) { p + i + 1, n - i - 1 };
                }
        }

        *ret = x;
        return true;
}

/* JavaScript's "+n + 1" for a numeric identifier. Any result above SEMVER_MAX_NUMBER makes the
 * comparator it lands in invalid, as in node-semver, so such results are all written as 2^53. */
static void put_incremented(struct sbuf *b, struct slice num) {
        uint64_t v = 0;
        for (size_t i = 0; i < num.n; i++) {
                v = v * 10 + (uint64_t) (num.p[i] - '0');
                if (v > SEMVER_MAX_NUMBER)
                        break;
        }
        sb_printf(b, "%" PRIu64, v >= SEMVER_MAX_NUMBER ? SEMVER_MAX_NUMBER + 1 : v + 1);
}

static void put_slice(struct sbuf *b, struct slice s) {
        if (s.p)
                sb_putn(b, s.p, s.n);
}

/* BUILDSTRIPRE: every "+id(.id)*" goes, wherever it is. */
static char *strip_build(const char *s) {
        struct sbuf b = {};
        size_t i = 0;

        while (s[i]) {
                if (s[i] == '+' && is_ldn(s[i + 1])) {
                        i++;
                        for (;;) {
                                while (is_ldn(s[i]))
                                        i++;
                                if (s[i] != '.' || !is_ldn(s[i + 1]))
                                        break;
                                i++;
                        }
                        continue;
                }
                sb_putc(&b, s[i++]);
        }
        return sb_take(&b);
}

/* Appends s without leading and trailing spaces (the only whitespace left by now). */
static void put_trimmed(struct sbuf *b, const char *s, size_t n) {
        while (n > 0 && s[0] == ' ')
                s++, n--;
        while (n > 0 && s[n - 1] == ' ')
                n--;
        sb_putn(b, s, n);
}

/* HYPHENRANGE "^\s?(XR)\s-\s(XR)\s?$" and node-semver's hyphenReplace(). */
static char *hyphen_replace(const char *s, bool incpr) {
        size_t n = strlen(s), lead = s[0] == ' ';
        struct xrange f, t;
        struct sbuf b = {};
        const char *z = incpr ? "-0" : "";

        const char *dash = strstr(s + lead, " - ");
        size_t end = n > 0 && s[n - 1] == ' ' ? n - 1 : n;
        if (!dash || (size_t) (dash - s) + 3 > end ||
            !xrange_full(s + lead, dash - s - lead, &f) ||
            !xrange_full(dash + 3, s + end - (dash + 3), &t))
                return strdup(s);

        if (is_x(f.major))
                ;
        else if (is_x(f.minor))
                sb_printf(&b, ">=%.*s.0.0%s", (int) f.major.n, f.major.p, z);
        else if (is_x(f.patch))
                sb_printf(&b, ">=%.*s.%.*s.0%s", (int) f.major.n, f.major.p, (int) f.minor.n,
                          f.minor.p, z);
        else {
                sb_puts(&b, ">=");
                put_slice(&b, f.all);
                if (!f.pre.p)
                        sb_puts(&b, z);
        }

        sb_putc(&b, ' ');

        if (is_x(t.major))
                ;
        else if (is_x(t.minor)) {
                sb_putc(&b, '<');
                put_incremented(&b, t.major);
                sb_puts(&b, ".0.0-0");
        } else if (is_x(t.patch)) {
                sb_printf(&b, "<%.*s.", (int) t.major.n, t.major.p);
                put_incremented(&b, t.minor);
                sb_puts(&b, ".0-0");
        } else if (t.pre.p)
                sb_printf(&b, "<=%.*s.%.*s.%.*s-%.*s", (int) t.major.n, t.major.p,
                          (int) t.minor.n, t.minor.p, (int) t.patch.n, t.patch.p, (int) t.pre.n,
                          t.pre.p);
        else if (incpr) {
                sb_printf(&b, "<%.*s.%.*s.", (int) t.major.n, t.major.p, (int) t.minor.n,
                          t.minor.p);
                put_incremented(&b, t.patch);
                sb_puts(&b, "-0");
        } else {
                sb_puts(&b, "<=");
                put_slice(&b, t.all);
        }

        _cleanup_free_ char *joined = sb_take(&b);
        if (!joined)
                return NULL;
        struct sbuf out = {};
        put_trimmed(&out, joined, strlen(joined));
        return sb_take(&out);
}

/* LOOSEPLAIN at p, unanchored and greedy: where its match ends, or -1. Only the glueing step
 * uses it, to decide whether "op version" is an operator followed by a version. */
static ssize_t looseplain_end(const char *s, size_t a) {
        size_t i = a, k;

        while (s[i] == 'v' || s[i] == '=' || s[i] == ' ')
                i++;
        for (int part = 0; part < 2; part++) {
                k = digit_run(s + i, MAX_DIGITS - 1);
                if (k == 0 || k > MAX_DIGITS - 1 || s[i + k] != '.')
                        return -1;
                i += k + 1;
        }
        k = digit_run(s + i, MAX_DIGITS - 1);
        if (k == 0)
                return -1;
        i += k > MAX_DIGITS - 1 ? MAX_DIGITS - 1 : k;

        /* "(?:-?(PRIDLOOSE(?:\.PRIDLOOSE)*))?", PRIDLOOSE trying the non-numeric form first. */
        for (bool first = true;; first = false) {
                size_t j = i;
                if (first) {
                        /* "-?" keeps the hyphen only when an identifier follows; otherwise the
                         * hyphen is itself a non-numeric identifier. */
                        if (s[j] == '-' && is_ldn(s[j + 1]))
                                j++;
                } else {
                        if (s[j] != '.')
                                break;
                        j++;
                }
                size_t d = digit_run(s + j, MAX_ID_DIGITS);
                if (d <= MAX_ID_DIGITS && is_alpha_dash(s[j + d])) {
                        size_t t = 0;
                        while (t < MAX_ID_TAIL && is_ldn(s[j + d + 1 + t]))
                                t++;
                        i = j + d + 1 + t;
                } else if (d > 0)
                        i = j + (d > MAX_ID_DIGITS ? MAX_ID_DIGITS : d);
                else
                        break;
        }
        return (ssize_t) i;
}

/* XRANGEIDENTIFIER at p, unanchored: its length, or 0. */
static size_t xid_prefix(const char *p) {
        if (p[0] == '0' || p[0] == 'x' || p[0] == 'X' || p[0] == '*')
                return 1;
        if (p[0] >= '1' && p[0] <= '9') {
                size_t k = digit_run(p, MAX_DIGITS);
                return k > MAX_DIGITS ? MAX_DIGITS : k;
        }
        return 0;
}

/* PRERELEASEIDENTIFIER at p, unanchored, non-numeric form first: its length, or 0. */
static size_t prid_prefix(const char *p) {
        size_t d = digit_run(p, MAX_ID_DIGITS);
        if (d <= MAX_ID_DIGITS && is_alpha_dash(p[d])) {
                size_t t = 0;
                while (t < MAX_ID_TAIL && is_ldn(p[d + 1 + t]))
                        t++;
                return d + 1 + t;
        }
        if (p[0] == '0')
                return 1;
        if (d > 0)
                return d > MAX_DIGITS ? MAX_DIGITS : d;
        return 0;
}

/* XRANGEPLAIN at p, unanchored and greedy: where its match ends, or -1. */
static ssize_t xrangeplain_end(const char *s, size_t a) {
        size_t i = a, k;

        while (s[i] == 'v' || s[i] == '=' || s[i] == ' ')
                i++;
        k = xid_prefix(s + i);
        if (k == 0)
                return -1;
        i += k;
        if (s[i] != '.' || (k = xid_prefix(s + i + 1)) == 0)
                return (ssize_t) i;
        i += 1 + k;
        if (s[i] != '.' || (k = xid_prefix(s + i + 1)) == 0)
                return (ssize_t) i;
        i += 1 + k;
        if (s[i] == '-' && (k = prid_prefix(s + i + 1)) > 0) {
                i += 1 + k;
                while (s[i] == '.' && (k = prid_prefix(s + i + 1)) > 0)
                        i += 1 + k;
        }
        return (ssize_t) i;
}

/* COMPARATORTRIM "(\s?)GTLT\s?(LOOSEPLAIN|XRANGEPLAIN)" at i, trying alternatives in the order a
 * backtracking matcher does. On a match returns its end and the offset of the space between
 * operator and version that the replacement drops, or SIZE_MAX when there is none. */
static ssize_t comparator_trim_at(const char *s, size_t i, size_t *ret_drop) {
        for (int lead = s[i] == ' '; lead >= 0; lead--) {
                size_t p = i + lead;
                size_t ops[3], nops = 0;

                if (s[p] == '<' || s[p] == '>') {
                        if (s[p + 1] == '=')
                                ops[nops++] = 2;
                        ops[nops++] = 1;
                } else if (s[p] == '=')
                        ops[nops++] = 1;
                ops[nops++] = 0;

                for (size_t o = 0; o < nops; o++) {
                        size_t q = p + ops[o];
                        for (int sp = s[q] == ' '; sp >= 0; sp--) {
                                size_t r = q + sp;
                                ssize_t e = looseplain_end(s, r);
                                if (e < 0)
                                        e = xrangeplain_end(s, r);
                                if (e >= 0) {
                                        *ret_drop = sp ? q : SIZE_MAX;
                                        return e;
                                }
                        }
                }
        }
        return -1;
}

/* "> 1.2.3" -> ">1.2.3", everywhere in the string. */
static char *comparator_trim(const char *s) {
        struct sbuf b = {};
        size_t i = 0, n = strlen(s);

        while (i < n) {
                size_t drop;
                ssize_t e = comparator_trim_at(s, i, &drop);
                if (e < 0) {
                        /* A failure inside a run of "[v= ]" means the run ends where no version
                         * starts, so no position in it can match either: skip it whole, which
                         * keeps long runs from costing quadratic time. */
                        size_t j = i + 1;
                        while (s[i] && strchr("v= ", s[i]) && s[j] && strchr("v= ", s[j]))
                                j++;
                        sb_putn(&b, s + i, j - i);
                        i = j;
                        continue;
                }
                if (drop != SIZE_MAX) {
                        sb_putn(&b, s + i, drop - i);
                        sb_putn(&b, s + drop + 1, e - drop - 1);
                } else
                        sb_putn(&b, s + i, e - i);
                i = e > (ssize_t) i ? (size_t) e : i + 1;
        }
        return sb_take(&b);
}

/* TILDETRIM "(\s?)~>?\s" -> "$1~" and CARETTRIM "(\s?)\^\s" -> "$1^", everywhere. */
static char *operator_trim(const char *s, char op) {
        struct sbuf b = {};
        size_t i = 0;

        while (s[i]) {
                if (s[i] == op) {
                        size_t j = i + 1;
                        if (op == '~' && s[j] == '>')
                                j++;
                        if (s[j] == ' ') {
                                sb_putc(&b, op);
                                i = j + 1;
                                continue;
                        }
                }
                sb_putc(&b, s[i++]);
        }
        return sb_take(&b);
}

/* GTLT "((?:<|>)?=?)" at the start of a token: its length. */
static size_t gtlt_length(const char *s) {
        size_t k = 0;
        if (s[0] == '<' || s[0] == '>')
                k++;
        if (s[k] == '=')
                k++;
        return k;
}

#define SL(s) (int) (s).n, (s).p

/* node-semver's replaceCaret() for one token. */
static void put_caret(struct sbuf *b, const char *tok, bool incpr) {
        const char *z = incpr ? "-0" : "";
        struct xrange x;

        if (tok[0] != '^' || !xrange_full(tok + 1, strlen(tok + 1), &x)) {
                sb_puts(b, tok);
                return;
        }
        struct slice M = x.major, m = x.minor, p = x.patch;
        bool M0 = slice_is(M, "0"), m0 = slice_is(m, "0");

        if (is_x(M))
                return;
        if (is_x(m)) {
                sb_printf(b, ">=%.*s.0.0%s <", SL(M), z);
                put_incremented(b, M);
                sb_puts(b, ".0.0-0");
        } else if (is_x(p)) {
                sb_printf(b, ">=%.*s.%.*s.0%s <", SL(M), SL(m), z);
                if (M0) {
                        sb_printf(b, "%.*s.", SL(M));
                        put_incremented(b, m);
                        sb_puts(b, ".0-0");
                } else {
                        put_incremented(b, M);
                        sb_puts(b, ".0.0-0");
                }
        } else {
                sb_printf(b, ">=%.*s.%.*s.%.*s", SL(M), SL(m), SL(p));
                if (x.pre.p)
                        sb_printf(b, "-%.*s", SL(x.pre));
                sb_puts(b, " <");
                if (M0 && m0) {
                        sb_printf(b, "%.*s.%.*s.", SL(M), SL(m));
                        put_incremented(b, p);
                        sb_puts(b, "-0");
                } else if (M0) {
                        sb_printf(b, "%.*s.", SL(M));
                        put_incremented(b, m);
                        sb_puts(b, ".0-0");
                } else {
                        put_incremented(b, M);
                        sb_puts(b, ".0.0-0");
                }
        }
}

/* node-semver's replaceTilde() for one token. */
static void put_tilde(struct sbuf *b, const char *tok, bool incpr) {
        const char *z = incpr ? "-0" : "";
        struct xrange x;
        size_t k = 1;

        if (tok[0] == '~' && tok[1] == '>')
                k++;
        if (tok[0] != '~' || !xrange_full(tok + k, strlen(tok + k), &x)) {
                sb_puts(b, tok);
                return;
        }
        struct slice M = x.major, m = x.minor, p = x.patch;

        if (is_x(M))
                return;
        if (is_x(m)) {
                sb_printf(b, ">=%.*s.0.0%s <", SL(M), z);
                put_incremented(b, M);
                sb_puts(b, ".0.0-0");
                return;
        }
        if (is_x(p))
                sb_printf(b, ">=%.*s.%.*s.0%s <%.*s.", SL(M), SL(m), z, SL(M));
        else if (x.pre.p)
                sb_printf(b, ">=%.*s.%.*s.%.*s-%.*s <%.*s.", SL(M), SL(m), SL(p), SL(x.pre),
                          SL(M));
        else
                sb_printf(b, ">=%.*s.%.*s.%.*s <%.*s.", SL(M), SL(m), SL(p), SL(M));
        put_incremented(b, m);
        sb_puts(b, ".0-0");
}

/* node-semver's replaceXRange() for one token. */
static void put_xrange(struct sbuf *b, const char *tok, bool incpr) {
        size_t g = gtlt_length(tok);
        struct xrange x;

        if (!xrange_full(tok + g, strlen(tok + g), &x)) {
                sb_puts(b, tok);
                return;
        }
        struct slice M = x.major, m = x.minor, p = x.patch;

        /* "x.1", "1.x.2": not an x-range; left for the comparator parser to refuse. */
        if ((is_x(M) && !is_x(m)) || (is_x(m) && p.p && p.n > 0 && !is_x(p))) {
                sb_puts(b, tok);
                return;
        }

        bool xM = is_x(M), xm = xM || is_x(m), xp = xm || is_x(p);
        char op[3] = {};
        memcpy(op, tok, g);
        if (streq(op, "=") && xp)
                op[0] = '\0';
        const char *pr = incpr ? "-0" : "";

        if (xM) {
                sb_puts(b, streq(op, ">") || streq(op, "<") ? "<0.0.0-0" : "*");
                return;
        }
        if (op[0] && xp) {
                bool incM = false, incm = false;
                if (streq(op, ">")) {
                        strcpy(op, ">=");
                        incM = xm;
                        incm = !xm;
                } else if (streq(op, "<=")) {
                        strcpy(op, "<");
                        incM = xm;
                        incm = !xm;
                }
                if (streq(op, "<"))
                        pr = "-0";
                sb_puts(b, op);
                if (incM)
                        put_incremented(b, M);
                else
                        put_slice(b, M);
                sb_putc(b, '.');
                if (incM || xm)
                        sb_putc(b, '0');
                else if (incm)
                        put_incremented(b, m);
                else
                        put_slice(b, m);
                sb_printf(b, ".0%s", pr);
                return;
        }
        if (xm) {
                sb_printf(b, ">=%.*s.0.0%s <", SL(M), pr);
                put_incremented(b, M);
                sb_puts(b, ".0.0-0");
                return;
        }
        if (xp) {
                sb_printf(b, ">=%.*s.%.*s.0%s <%.*s.", SL(M), SL(m), pr, SL(M));
                put_incremented(b, m);
                sb_puts(b, ".0-0");
                return;
        }
        sb_puts(b, tok);
}

/* Calls fn on every space-separated word of s, empty words included (as JavaScript's
 * split(' ') yields them). */
static void for_each_word(const char *s, void (*fn)(struct sbuf *, const char *, bool),
                          struct sbuf *out, bool incpr, struct sbuf *scratch) {
        const char *w = s;
        for (;;) {
                const char *e = strchr(w, ' ');
                size_t n = e ? (size_t) (e - w) : strlen(w);
                scratch->len = 0;
                sb_putn(scratch, w, n);
                if (scratch->oom) {
                        out->oom = true;
                        return;
                }
                if (w != s)
                        sb_putc(out, ' ');
                fn(out, scratch->s, incpr);
                if (!e)
                        return;
                w = e + 1;
        }
}

/* STAR "(<|>)?=?\s?\*": the first match goes. */
static void put_without_first_star(struct sbuf *b, const char *s, size_t n) {
        for (size_t i = 0; i < n; i++) {
                size_t j = i;
                if (s[j] == '<' || s[j] == '>')
                        j++;
                if (s[j] == '=')
                        j++;
                if (s[j] == ' ')
                        j++;
                /* Giving back an optional part never helps: the character it took is not '*'. */
                if (j < n && s[j] == '*') {
                        sb_putn(b, s, i);
                        sb_putn(b, s + j + 1, n - j - 1);
                        return;
                }
        }
        sb_putn(b, s, n);
}

/* node-semver's parseComparator() for one word: carets, tildes, x-ranges, stars. */
static int rewrite_word(const char *word, bool incpr, struct sbuf *out) {
        struct sbuf carets = {}, tildes = {}, xranges = {}, scratch = {};
        int r = 0;

        put_caret(&carets, word, incpr);
        _cleanup_free_ char *c = sb_take(&carets);
        if (!c)
                return -ENOMEM;
        for_each_word(c, put_tilde, &tildes, incpr, &scratch);
        _cleanup_free_ char *t = sb_take(&tildes);
        if (!t) {
                sb_done(&scratch);
                return -ENOMEM;
        }
        for_each_word(t, put_xrange, &xranges, incpr, &scratch);
        sb_done(&scratch);
        _cleanup_free_ char *x = sb_take(&xranges);
        if (!x)
                return -ENOMEM;

        size_t b, e;
        js_trim(x, &b, &e);
        put_without_first_star(out, x + b, e - b);
        if (out->oom)
                r = -ENOMEM;
        return r;
}

enum op {
        OP_ANY,
        OP_EQ,
        OP_LT,
        OP_LE,
        OP_GT,
        OP_GE,
};

struct comparator {
        enum op op;
        struct semver v;
};

struct cset {
        struct comparator *items;
        size_t n;
};

struct semver_range {
        struct cset *sets;
        size_t n;
        bool include_prerelease;
};

static void cset_done(struct cset *c) {
        for (size_t i = 0; i < c->n; i++)
                semver_done(&c->items[i].v);
        free(c->items);
        *c = (struct cset) {};
}

/* COMPARATOR "^GTLT\s?(FULLPLAIN)$|^$" and node-semver's Comparator: the version part is a
 * strict version, a leading 'v' allowed, at most SEMVER_MAX_LENGTH long. */
static int parse_comparator(const char *w, size_t n, struct comparator *ret) {
        static const struct {
                const char *s;
                enum op op;
        } ops[] = {
                { "<=", OP_LE }, { ">=", OP_GE }, { "<", OP_LT }, { ">", OP_GT }, { "=", OP_EQ },
        };
        enum op op = OP_EQ;
        size_t g = 0;

        if (n == 0) {
                *ret = (struct comparator) { .op = OP_ANY };
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(ops); i++) {
                size_t k = strlen(ops[i].s);
                if (n >= k && memcmp(w, ops[i].s, k) == 0) {
                        op = ops[i].op;
                        g = k;
                        break;
                }
        }
        if (n - g > SEMVER_MAX_LENGTH)
                return -EINVAL;
        struct semver v;
        int r = parse_core(w + g, n - g, true, &v);
        if (r < 0)
                return r;
        *ret = (struct comparator) { .op = op, .v = v };
        return 0;
}

static bool is_null_comparator(const struct comparator *c) {
        return c->op == OP_LT && c->v.major == 0 && c->v.minor == 0 && c->v.patch == 0 &&
               c->v.prerelease && streq_ptr(c->v.prerelease[0], "0") && !c->v.prerelease[1];
}

static bool comparator_equal(const struct comparator *a, const struct comparator *b) {
        return a->op == b->op && (a->op == OP_ANY || semver_compare(&a->v, &b->v) == 0);
}

/* Adds c to the set (taking its version), as node-semver's parseRange() collects comparators:
 * the null set "<0.0.0-0" swallows the rest, "any" gives way to anything else, duplicates
 * keep their first place. */
static int cset_add(struct cset *set, struct comparator *c) {
        if (set->n == 1 && is_null_comparator(&set->items[0])) {
                semver_done(&c->v);
                return 0;
        }
        if (is_null_comparator(c)) {
                cset_done(set);
        } else {
                if (c->op == OP_ANY && set->n > 0)
                        return 0;
                for (size_t i = 0; i < set->n; i++)
                        if (comparator_equal(&set->items[i], c)) {
                                semver_done(&c->v);
                                return 0;
                        }
                if (set->n == 1 && set->items[0].op == OP_ANY)
                        set->n = 0;
        }
        struct comparator *p = realloc(set->items, (set->n + 1) * sizeof *p);
        if (!p) {
                semver_done(&c->v);
                return -ENOMEM;
        }
        set->items = p;
        set->items[set->n++] = *c;
        *c = (struct comparator) {};
        return 0;
}

/* node-semver's parseRange() on one comparator set (one side of "||", one piece between
 * commas), whitespace already collapsed to single spaces and trimmed. Adds to set. */
static int parse_set(const char *s, bool incpr, struct cset *set) {
        _cleanup_free_ char *stripped = strip_build(s);
        if (!stripped)
                return -ENOMEM;
        _cleanup_free_ char *hyphen = hyphen_replace(stripped, incpr);
        if (!hyphen)
                return -ENOMEM;
        _cleanup_free_ char *glued = comparator_trim(hyphen);
        if (!glued)
                return -ENOMEM;
        _cleanup_free_ char *tilde = operator_trim(glued, '~');
        if (!tilde)
                return -ENOMEM;
        _cleanup_free_ char *caret = operator_trim(tilde, '^');
        if (!caret)
                return -ENOMEM;

        /* Rewrite word by word, then read back every word of the result as a comparator. */
        struct sbuf all = {};
        const char *w = caret;
        for (;;) {
                const char *e = strchr(w, ' ');
                _cleanup_free_ char *word = strndup(w, e ? (size_t) (e - w) : strlen(w));
                if (!word) {
                        sb_done(&all);
                        return -ENOMEM;
                }
                sb_putc(&all, ' ');
                int r = rewrite_word(word, incpr, &all);
                if (r < 0) {
                        sb_done(&all);
                        return r;
                }
                if (!e)
                        break;
                w = e + 1;
        }
        _cleanup_free_ char *words = sb_take(&all);
        if (!words)
                return -ENOMEM;

        struct cset local = {};
        bool any = false;
        int r = 0;
        for (const char *p = words; r == 0 && *p;) {
                while (*p == ' ')
                        p++;
                size_t n = 0;
                while (p[n] && p[n] != ' ')
                        n++;
                if (n == 0)
                        break;
                /* replaceGTE0: ">=0.0.0" (">=0.0.0-0" with pre-releases) means any version. */
                if ((!incpr && n == 7 && memcmp(p, ">=0.0.0", 7) == 0) ||
                    (incpr && n == 9 && memcmp(p, ">=0.0.0-0", 9) == 0)) {
                        any = true;
                        p += n;
                        continue;
                }
                struct comparator c;
                r = parse_comparator(p, n, &c);
                if (r == 0)
                        r = cset_add(&local, &c);
                p += n;
        }
        if (r == 0 && local.n == 0 && any) {
                struct comparator c = { .op = OP_ANY };
                r = cset_add(&local, &c);
        }
        if (r == 0 && local.n == 0) {
                /* Only empty words: node-semver reads "" as the comparator that matches all. */
                struct comparator c = { .op = OP_ANY };
                r = cset_add(&local, &c);
        }
        for (size_t i = 0; r == 0 && i < local.n; i++)
                r = cset_add(set, &local.items[i]);
        cset_done(&local);
        return r;
}

void semver_range_free(struct semver_range *r) {
        if (!r)
                return;
        for (size_t i = 0; i < r->n; i++)
                cset_done(&r->sets[i]);
        free(r->sets);
        free(r);
}

/* Whitespace as node-semver's Range constructor leaves it: trimmed, each run one space. */
static char *collapse_space(const char *s) {
        struct sbuf b = {};
        size_t i, e, k;
        bool pending = false;

        js_trim(s, &i, &e);
        while (i < e) {
                k = js_space(s + i);
                if (k > 0) {
                        pending = true;
                        i += k;
                        continue;
                }
                if (pending)
                        sb_putc(&b, ' ');
                pending = false;
                sb_putc(&b, s[i++]);
        }
        return sb_take(&b);
}

/* One side of "||": comma-separated pieces, each a node-semver comparator set, all ANDed. */
static int parse_alternative(const char *s, size_t n, bool incpr, struct cset *ret) {
        struct cset set = {};
        size_t b = 0;
        bool has_comma = memchr(s, ',', n) != NULL;

        for (size_t i = 0; i <= n; i++) {
                if (i < n && s[i] != ',')
                        continue;
                struct sbuf piece = {};
                put_trimmed(&piece, s + b, i - b);
                _cleanup_free_ char *p = sb_take(&piece);
                if (!p) {
                        cset_done(&set);
                        return -ENOMEM;
                }
                /* A comma stands between two comparators, never at either end. */
                int r = has_comma && !p[0] ? -EINVAL : parse_set(p, incpr, &set);
                if (r < 0) {
                        cset_done(&set);
                        return r;
                }
                b = i + 1;
        }
        *ret = set;
        return 0;
}

int semver_range_parse(const char *s, unsigned flags, struct semver_range **ret) {
        bool incpr = flags & SEMVER_RANGE_INCLUDE_PRERELEASE;

        if (!s || strlen(s) > SEMVER_RANGE_MAX_LENGTH)
                return -EINVAL;
        _cleanup_free_ char *raw = collapse_space(s);
        if (!raw)
                return -ENOMEM;

        _cleanup_(semver_range_freep) struct semver_range *range = calloc(1, sizeof *range);
        if (!range)
                return -ENOMEM;
        range->include_prerelease = incpr;

        for (const char *p = raw;;) {
                const char *e = strstr(p, "||");
                size_t n = e ? (size_t) (e - p) : strlen(p);
                struct cset set;
                int r = parse_alternative(p, n, incpr, &set);
                if (r < 0)
                        return r;
                struct cset *sets = realloc(range->sets, (range->n + 1) * sizeof *sets);
                if (!sets) {
                        cset_done(&set);
                        return -ENOMEM;
                }
                range->sets = sets;
                range->sets[range->n++] = set;
                if (!e)
                        break;
                p = e + 2;
        }

        /* With several sets, null sets go (the first stays if all are null), and a set that
         * matches anything makes the whole range match anything. */
        if (range->n > 1) {
                struct cset first = range->sets[0];
                size_t k = 0;
                range->sets[0] = (struct cset) {};
                for (size_t i = 0; i < range->n; i++) {
                        struct cset c = i == 0 ? first : range->sets[i];
                        range->sets[i] = (struct cset) {};
                        if (!is_null_comparator(&c.items[0]))
                                range->sets[k++] = c;
                        else if (i > 0)
                                cset_done(&c);
                }
                if (k == 0)
                        range->sets[k++] = first;
                else if (is_null_comparator(&first.items[0]))
                        cset_done(&first);
                range->n = k;
                for (size_t i = 0; range->n > 1 && i < range->n; i++) {
                        if (range->sets[i].n != 1 || range->sets[i].items[0].op != OP_ANY)
                                continue;
                        struct cset keep = range->sets[i];
                        range->sets[i] = (struct cset) {};
                        for (size_t j = 0; j < range->n; j++)
                                cset_done(&range->sets[j]);
                        range->sets[0] = keep;
                        range->n = 1;
                }
        }

        *ret = TAKE_PTR(range);
        return 0;
}

static bool comparator_test(const struct comparator *c, const struct semver *v) {
        if (c->op == OP_ANY)
                return true;
        int r = semver_compare(v, &c->v);
        switch (c->op) {
        case OP_EQ:
                return r == 0;
        case OP_LT:
                return r < 0;
        case OP_LE:
                return r <= 0;
        case OP_GT:
                return r > 0;
        case OP_GE:
                return r >= 0;
        default:
                return true;
        }
}

static bool cset_test(const struct cset *set, const struct semver *v, bool incpr) {
        for (size_t i = 0; i < set->n; i++)
                if (!comparator_test(&set->items[i], v))
                        return false;
        if (!semver_is_prerelease(v) || incpr)
                return true;
        /* "^1.2.3-pr.1" admits 1.2.3-pr.2 but not 1.2.4-alpha: a pre-release needs a comparator
         * that names a pre-release of the same major.minor.patch. */
        for (size_t i = 0; i < set->n; i++) {
                const struct semver *a = &set->items[i].v;
                if (set->items[i].op != OP_ANY && semver_is_prerelease(a) &&
                    a->major == v->major && a->minor == v->minor && a->patch == v->patch)
                        return true;
        }
        return false;
}

bool semver_range_test(const struct semver_range *r, const struct semver *v) {
        for (size_t i = 0; i < r->n; i++)
                if (cset_test(&r->sets[i], v, r->include_prerelease))
                        return true;
        return false;
}

int semver_range_format(const struct semver_range *r, char **ret) {
        static const char *const op_text[] = {
                [OP_ANY] = "", [OP_EQ] = "", [OP_LT] = "<", [OP_LE] = "<=", [OP_GT] = ">",
                [OP_GE] = ">=",
        };
        struct sbuf b = {};

        for (size_t i = 0; i < r->n; i++) {
                if (i > 0)
                        sb_puts(&b, "||");
                for (size_t k = 0; k < r->sets[i].n; k++) {
                        const struct comparator *c = &r->sets[i].items[k];
                        if (k > 0)
                                sb_putc(&b, ' ');
                        sb_puts(&b, op_text[c->op]);
                        if (c->op != OP_ANY)
                                format_version(&b, &c->v, false);
                }
        }
        if (!b.oom && b.len == 0)
                sb_puts(&b, "*");
        char *s = sb_take(&b);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int semver_satisfies(const char *version, const char *range, bool include_prerelease) {
        _cleanup_(semver_range_freep) struct semver_range *r = NULL;
        struct semver v;
        int k;

        k = semver_parse(version, SEMVER_PARSE_NODE, &v);
        if (k < 0)
                return k;
        k = semver_range_parse(range, include_prerelease ? SEMVER_RANGE_INCLUDE_PRERELEASE : 0, &r);
        if (k >= 0)
                k = semver_range_test(r, &v);
        semver_done(&v);
        return k;
}
