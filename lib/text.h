/* Untrusted text: one UTF-8 decoder, and one way to quote such text in a message or on a terminal. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length of the valid UTF-8 sequence at s (at most n bytes, n > 0), storing its code point in
 * *ret_cp; 0 when the bytes there are not UTF-8 (overlong forms, surrogates and values past
 * U+10FFFF included). */
size_t text_utf8_decode(const char *s, size_t n, uint32_t *ret_cp);
/* Whether n bytes at s are valid UTF-8 throughout (NUL bytes count as valid). */
bool text_utf8_valid(const char *s, size_t n);
/* Whether cp is a C0 or C1 control character or DEL: what a terminal may act on. */
bool text_is_control(uint32_t cp);

/* n bytes at s fit to show anywhere, for text that has its own delimiters (a table cell, the
 * end of a message): '\' escaped by a backslash; control characters (C0, DEL, C1), NUL and
 * bytes that are not UTF-8 as \xNN per byte; at most max characters (an escaped byte counts as
 * one), then "…". Valid UTF-8 without a control character. NULL on allocation failure. */
char *text_escape(const char *s, size_t n, size_t max);
/* As text_escape for a NUL-terminated string. */
char *text_escape_str(const char *s, size_t max);

/* As text_escape, in double quotes, with '"' escaped by a backslash too. */
char *text_quote(const char *s, size_t n, size_t max);
/* As text_quote for a NUL-terminated string. */
char *text_quote_str(const char *s, size_t max);
