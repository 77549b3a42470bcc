/* Fuzz target: Link header parsing (RFC 8288) and next-page URL resolution for tag listings. */
#include <errno.h>
#include <stdint.h>

#include "link-header.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        /* Each line is one header value, as several Link header lines arrive. */
        char *text = strndup((const char *) data, size);
        if (!text)
                return 0;
        char **values = NULL;
        for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
                if (util_strv_push(&values, line) < 0)
                        break;

        char *next = NULL;
        int r = link_header_next((const char *const *) values, &next);
        if (r >= 0 && next) {
                if (!*next)
                        __builtin_trap();
                char *url = NULL, *err = NULL;
                r = link_header_resolve("http://127.0.0.1:5000/v2/ns/x/tags/list?n=1000", next, &url, &err);
                /* Whatever is accepted stays on the page's origin. */
                if (r >= 0 && !util_startswith(url, "http://127.0.0.1:5000/"))
                        __builtin_trap();
                if (r < 0 && r != -ENOMEM && !err)
                        __builtin_trap();
                free(url);
                free(err);
        } else if (r < 0 && next)
                __builtin_trap();
        free(next);
        util_strv_free(values);
        free(text);
        return 0;
}
