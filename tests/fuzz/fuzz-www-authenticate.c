/* Fuzz target: WWW-Authenticate parsing, challenge choice, realm checks and scope coverage of what was parsed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool is_tchar(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               (c && strchr("!#$%&'*+-.^_`|~", c));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size > 256 * 1024)
                return 0;
        /* Each line is one header value, as several WWW-Authenticate lines arrive. */
        char *text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = 0;
        const char *values[64];
        size_t nv = 0;
        for (char *p = text; nv < ELEMENTSOF(values) - 1;) {
                values[nv++] = p;
                char *nl = strchr(p, '\n');
                if (!nl)
                        break;
                *nl = 0;
                p = nl + 1;
        }
        values[nv] = NULL;

        struct auth_challenge *c = NULL;
        size_t n = 0;
        int r = auth_parse_challenges(values, &c, &n);
        if (r < 0) {
                if (c || n)
                        __builtin_trap();
                free(text);
                return 0;
        }
        if (n > 32 || (n > 0) != (c != NULL))
                __builtin_trap();

        struct token_cache *cache = NULL;
        if (token_cache_new(&cache) < 0)
                __builtin_trap();
        for (size_t i = 0; i < n; i++) {
                const char *name = c[i].scheme_name;
                if (!name || !*name)
                        __builtin_trap();
                for (const char *q = name; *q; q++)
                        if (!is_tchar(*q))
                                __builtin_trap();
                enum auth_scheme want = strcasecmp(name, "bearer") == 0  ? AUTH_SCHEME_BEARER
                                        : strcasecmp(name, "basic") == 0 ? AUTH_SCHEME_BASIC
                                                                         : AUTH_SCHEME_OTHER;
                if (c[i].scheme != want)
                        __builtin_trap();

                if (c[i].realm) {
                        char *msg = NULL;
                        const struct auth_registry reg = { .host = "registry.example",
                                                           .base_url = i % 2 ? "https://registry.example"
                                                                             : "http://registry.example" };
                        int k = auth_check_realm(c[i].realm, &reg, i % 3 == 0, &msg);
                        if ((k < 0) != (msg != NULL))
                                __builtin_trap();
                        free(msg);
                        /* Every scope a token was stored for is covered by that token. */
                        if (c[i].scope) {
                                const char *scopes[] = { c[i].scope, NULL };
                                const struct token_cache_key key = { .registry = "registry.example",
                                                                     .realm = c[i].realm, .service = c[i].service };
                                if (token_cache_store(cache, &key, scopes, "t", 0, 60000) == 0 &&
                                    !token_cache_lookup(cache, &key, c[i].scope, 0))
                                        __builtin_trap();
                        }
                }
        }

        const struct auth_challenge *pick = auth_pick_challenge(c, n);
        bool any_bearer = false, any_basic = false;
        for (size_t i = 0; i < n; i++) {
                any_bearer |= c[i].scheme == AUTH_SCHEME_BEARER;
                any_basic |= c[i].scheme == AUTH_SCHEME_BASIC;
        }
        if (pick && (pick < c || pick >= c + n))
                __builtin_trap();
        if ((pick != NULL) != (any_bearer || any_basic))
                __builtin_trap();
        if (pick && any_bearer && pick->scheme != AUTH_SCHEME_BEARER)
                __builtin_trap();

        token_cache_free(cache);
        auth_challenges_free(c, n);
        free(text);
        return 0;
}
