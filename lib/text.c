/* Untrusted text: one UTF-8 decoder, and one way to quote such text in a message or on a terminal. */
#include "text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t text_utf8_decode(const char *s, size_t n, uint32_t *ret_cp) {
        const unsigned char *u = (const unsigned char *) s;
        unsigned char c = u[0];
        size_t len;
        uint32_t cp, min;
        if (c < 0x80) {
                *ret_cp = c;
                return 1;
        } else if (c >= 0xc2 && c <= 0xdf) {
                len = 2, cp = c & 0x1f, min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
                len = 3, cp = c & 0x0f, min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
                len = 4, cp = c & 0x07, min = 0x10000;
        } else
                return 0;
        if (n < len)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((u[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (u[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        *ret_cp = cp;
        return len;
}

bool text_utf8_valid(const char *s, size_t n) {
        uint32_t cp;
        for (size_t i = 0; i < n;) {
                size_t len = text_utf8_decode(s + i, n - i, &cp);
                if (len == 0)
                        return false;
                i += len;
        }
        return true;
}

bool text_is_control(uint32_t cp) {
        return cp < 0x20 || (cp >= 0x7f && cp < 0xa0);
}

/* The escaping text_escape and text_quote share; quoted also escapes '"' and adds the quotes. */
static char *escape(const char *s, size_t n, size_t max, bool quoted) {
        /* At worst every character is a 4-byte \xNN; then the quotes, "…" and the NUL. */
        size_t shown = n < max ? n : max;
        char *buf = malloc(shown * 4 + 2 + 3 + 1);
        if (!buf)
                return NULL;
        size_t o = 0, chars = 0;
        if (quoted)
                buf[o++] = '"';
        for (size_t i = 0; i < n; chars++) {
                if (chars == max) {
                        memcpy(buf + o, "\xe2\x80\xa6", 3);
                        o += 3;
                        break;
                }
                const unsigned char *u = (const unsigned char *) s + i;
                uint32_t cp;
                size_t len = text_utf8_decode(s + i, n - i, &cp);
                if (len == 0 || text_is_control(cp)) {
                        /* One byte at a time: a C1 control's second byte is then not UTF-8 either. */
                        o += (size_t) sprintf(buf + o, "\\x%02x", u[0]);
                        i++;
                } else if (cp == '\\' || (quoted && cp == '"')) {
                        buf[o++] = '\\';
                        buf[o++] = (char) cp;
                        i++;
                } else {
                        memcpy(buf + o, u, len);
                        o += len;
                        i += len;
                }
        }
        if (quoted)
                buf[o++] = '"';
        buf[o] = 0;
        return buf;
}

char *text_escape(const char *s, size_t n, size_t max) {
        return escape(s, n, max, false);
}

char *text_escape_str(const char *s, size_t max) {
        return escape(s, strlen(s), max, false);
}

char *text_quote(const char *s, size_t n, size_t max) {
        return escape(s, n, max, true);
}

char *text_quote_str(const char *s, size_t max) {
        return text_quote(s, strlen(s), max);
}
