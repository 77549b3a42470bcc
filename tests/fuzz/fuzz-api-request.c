/* Fuzz target: the API's request routing, body type check and body parsers (daemon/api-route.c). */
#include <errno.h>
#include <stdint.h>

#include "api-route.h"
#include "semver.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_refusal(int r, const struct api_refusal *f) {
        if (r == -EINVAL && (!f->message || (f->status != 400 && f->status != 404 && f->status != 405 &&
                                             f->status != 413 && f->status != 415)))
                __builtin_trap();
        if (r == -EINVAL && (f->status == 405) != (f->allow != NULL))
                __builtin_trap();
        if (r == 0 && f->message)
                __builtin_trap();
}

/* Input: "METHOD PATH\nCONTENT-TYPE\nBODY". */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        char *line2 = strchr(text, '\n');
        char *body = line2 ? strchr(line2 + 1, '\n') : NULL;
        if (line2)
                *line2++ = '\0';
        if (body)
                *body++ = '\0';
        char *path = strchr(text, ' ');
        if (path)
                *path++ = '\0';

        struct api_route route;
        struct api_refusal f;
        int r = api_route(text, path ? path : "", &route, &f);
        check_refusal(r, &f);
        if (r == 0 && (route.endpoint == API_EXTENSION || route.endpoint == API_INSTALLED_ONE) !=
                              (route.repository != NULL))
                __builtin_trap();
        if (r == 0 && route.repository && !*route.repository)
                __builtin_trap();
        api_refusal_done(&f);

        (void) api_content_type_is_json(line2);

        size_t body_len = body ? size - (size_t) (body - text) : 0;
        char *version = NULL;
        r = api_parse_version_body(body ? body : "", body_len, &version, &f);
        check_refusal(r, &f);
        if (r == 0) {
                struct semver v;
                if (semver_parse(version, SEMVER_PARSE_ALLOW_V, &v) < 0)
                        __builtin_trap();
                semver_done(&v);
        }
        free(version);
        api_refusal_done(&f);

        char **pairs = NULL;
        r = api_parse_inventory_body(body ? body : "", body_len, &pairs, &f);
        check_refusal(r, &f);
        if (r == 0 && util_strv_length(pairs) % 2 != 0)
                __builtin_trap();
        util_strv_free(pairs);
        api_refusal_done(&f);
        free(text);
        return 0;
}
