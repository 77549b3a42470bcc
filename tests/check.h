/* Assertion macros and counters shared by the C test programs. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each test program is one translation unit including this once, so static counters are the
 * program's counters. */
static unsigned check_passed, check_failed;

/* What the checks that follow are about (say, the table row under test), printed with each failure
 * while it is set. */
static const char *check_context;

/* Counts one outcome; a failure prints "FILE:LINE: " and the formatted reason. Returns ok. */
__attribute__((format(printf, 4, 5))) static inline bool check_at(bool ok, const char *file, int line,
                                                                   const char *fmt, ...) {
        if (ok) {
                check_passed++;
                return true;
        }
        check_failed++;
        fprintf(stderr, "%s:%d: ", file, line);
        if (check_context)
                fprintf(stderr, "[%s] ", check_context);
        va_list ap;
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        return false;
}

static inline bool check_int_at(long long a, long long b, const char *file, int line, const char *expr_a,
                                const char *expr_b) {
        return check_at(a == b, file, line, "%s == %s failed: got %lld, want %lld", expr_a, expr_b, a, b);
}

/* NULL equals only NULL; values print quoted, NULL bare. */
static inline bool check_str_at(const char *a, const char *b, const char *file, int line, const char *expr_a,
                                const char *expr_b) {
        bool eq = a && b ? strcmp(a, b) == 0 : a == b;
        return check_at(eq, file, line, "%s == %s failed: got %s%s%s, want %s%s%s", expr_a, expr_b, a ? "\"" : "",
                        a ? a : "NULL", a ? "\"" : "", b ? "\"" : "", b ? b : "NULL", b ? "\"" : "");
}

static inline bool check_contains_at(const char *hay, const char *needle, const char *file, int line,
                                     const char *expr_hay) {
        return check_at(hay && strstr(hay, needle), file, line, "%s contains \"%s\" failed: got %s%s%s", expr_hay,
                        needle, hay ? "\"" : "", hay ? hay : "NULL", hay ? "\"" : "");
}

/* Each macro evaluates its arguments once and returns whether the check held. */
#define CHECK(cond) check_at(!!(cond), __FILE__, __LINE__, "check failed: %s", #cond)
/* Adds a printf-style explanation, for conditions whose values the expression does not show. */
#define CHECK_MSG(cond, fmt, ...) check_at(!!(cond), __FILE__, __LINE__, "check failed: %s: " fmt, #cond, __VA_ARGS__)
#define CHECK_INT(a, b) check_int_at((long long) (a), (long long) (b), __FILE__, __LINE__, #a, #b)
#define CHECK_STR(a, b) check_str_at((a), (b), __FILE__, __LINE__, #a, #b)
#define CHECK_CONTAINS(hay, needle) check_contains_at((hay), (needle), __FILE__, __LINE__, #hay)
/* An ordering between two integers, op one of < <= > >= !=; a statement. */
#define CHECK_CMP(a, op, b)                                                                        \
        do {                                                                                       \
                long long _a = (long long) (a), _b = (long long) (b);                              \
                check_at(_a op _b, __FILE__, __LINE__, "%s %s %s failed: got %lld vs %lld", #a, #op,   \
                         #b, _a, _b);                                                              \
        } while (0)

/* A precondition of everything that follows: when it fails the program stops here. */
#define REQUIRE(cond)                                                                              \
        do {                                                                                       \
                if (!CHECK(cond))                                                                  \
                        exit(EXIT_FAILURE);                                                        \
        } while (0)

/* As REQUIRE, for a call returning 0 or a negative errno. */
#define REQUIRE_OK(expr)                                                                           \
        do {                                                                                       \
                int _r = (expr);                                                                   \
                if (!check_at(_r >= 0, __FILE__, __LINE__, "%s failed: %s", #expr,                 \
                              _r < 0 ? strerror(-_r) : ""))                                        \
                        exit(EXIT_FAILURE);                                                        \
        } while (0)

/* Prints the closing "NAME: N passed, N failed" line; returns the program's exit status. */
static inline int check_summary(const char *name) {
        printf("%s: %u passed, %u failed\n", name, check_passed, check_failed);
        return check_failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
