/* Fuzzes the escaping and quoting of untrusted text: whatever comes in, what goes out is short, valid UTF-8 without a control byte. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "util.h"
#include "fuzz-assert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        /* The first byte chooses the limit, so cuts land everywhere. */
        size_t max = size ? data[0] : 0;
        const char *s = size ? (const char *) data + 1 : "";
        size_t n = size ? size - 1 : 0;
        _cleanup_free_ char *q = text_quote(s, n, max);
        if (!q)
                return 0;
        size_t len = strlen(q);
        ASSERT(len >= 2 && q[0] == '"' && q[len - 1] == '"');
        ASSERT(text_utf8_valid(q, len));
        for (size_t i = 0; i < len; i++)
                ASSERT((unsigned char) q[i] >= 0x20 && q[i] != 0x7f);
        /* At most four bytes a character shown, then the quotes and the ellipsis. */
        ASSERT(len <= 4 * (max < n ? max : n) + 2 + 3);
        _cleanup_free_ char *e = text_escape(s, n, max);
        if (!e)
                return 0;
        size_t elen = strlen(e);
        ASSERT(text_utf8_valid(e, elen));
        for (size_t i = 0; i < elen; i++)
                ASSERT((unsigned char) e[i] >= 0x20 && e[i] != 0x7f);
        ASSERT(elen <= 4 * (max < n ? max : n) + 3);
        /* A decoder that accepts a sequence accepts exactly its bytes. */
        uint32_t cp;
        for (size_t i = 0; i < n;) {
                size_t k = text_utf8_decode(s + i, n - i, &cp);
                ASSERT(k <= 4 && k <= n - i);
                ASSERT(k == 0 || cp <= 0x10ffff);
                i += k ? k : 1;
        }
        return 0;
}
