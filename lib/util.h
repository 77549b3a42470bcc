/* Small helpers shared by every module: cleanup attributes, string lists, time stamps. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(util_freep)
#define _cleanup_strv_free_ _cleanup_(util_strv_freep)
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

static inline void util_freep(void *p) {
        free(*(void **) p);
}

/* Hands ownership of *p to the caller and leaves NULL behind, so a cleanup attribute does nothing. */
#define TAKE_PTR(p)                                                                                \
        ({                                                                                         \
                __typeof__(p) _taken = (p);                                                        \
                (p) = NULL;                                                                        \
                _taken;                                                                            \
        })

static inline bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}

static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}

/* Returns the rest of s after prefix, or NULL when s does not start with it. */
const char *util_startswith(const char *s, const char *prefix);
/* Case-insensitive variant of util_startswith, for header names and schemes. */
const char *util_startswith_no_case(const char *s, const char *prefix);

/* Copies src to dst lowercasing ASCII letters only, so no locale changes what compares equal;
 * dst may be src. */
void util_ascii_lower_copy(char *dst, const char *src);

/* A NULL-terminated array of owned strings. */
void util_strv_free(char **l);
static inline void util_strv_freep(char ***l) {
        util_strv_free(*l);
}
size_t util_strv_length(char *const *l);
/* Appends a copy of s; returns 0 or -ENOMEM. */
int util_strv_push(char ***l, const char *s);
/* Appends s itself, taking ownership (freed on failure); returns 0 or -ENOMEM. */
int util_strv_consume(char ***l, char *s);
bool util_strv_contains(char *const *l, const char *s);

/* asprintf returning the string, or NULL on allocation failure. */
char *util_printf(const char *fmt, ...) _printf_(1, 2);

/* Sets *ret_error (freeing what it held; ret_error may be NULL) to the formatted message, NULL
 * when that allocation fails, and returns r: the one line of a failure that explains itself. */
int util_fail(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);
/* Frees a string that held a secret, zeroing it first. Accepts NULL. */
void util_free_secret(char *s);

/* Formats t (seconds since the epoch, UTC) as RFC 3339 "2026-11-28T13:00:00Z" into buf[21]. */
void util_format_time(time_t t, char buf[static 21]);
/* Current wall-clock time in milliseconds since the epoch. */
int64_t util_now_ms(void);

/* Reads a whole regular file up to max bytes; NUL-terminates. Returns 0, -errno, -EFBIG, -EISDIR,
 * or -ENOTSUP for what is not a regular file (a FIFO, pipe or device is refused without waiting
 * on it: a FIFO without a writer would block forever). */
int util_read_file(const char *path, size_t max, char **ret, size_t *ret_len);
/* The reason for a util_read_file error, for a message after "PATH: ". */
const char *util_read_file_strerror(int error);

/* Creates dir and its missing parents with mode, whatever the umask. 0 (also when dir exists and
 * is a directory), -ENOTDIR, or -errno. */
int util_mkdir_parents(const char *dir, mode_t mode);
/* Whether JSON text holds a \u0000 escape: cJSON cuts such a string at the NUL without a word, so a
 * caller that must not take "1.0.0\u0000evil" for "1.0.0" refuses the text first. */
bool util_json_has_nul_escape(const char *text, size_t len);
/* strerror, in the words a person acts on for a full disk ("disk full" for ENOSPC and EDQUOT). */
const char *util_strerror(int error);

/* Opens /dev/null on each of the standard descriptors 0-2 that is closed, so nothing opened later
 * (a socket, libuv's own pipes) takes their place and gets written to or closed as a stream.
 * Call first thing in main(). Returns 0 or -errno. */
int util_open_std_fds(void);

/* Hex sha256 of data as "sha256:<64 hex>" into buf[72]. */
void util_sha256_digest(const void *data, size_t len, char buf[static 72]);
