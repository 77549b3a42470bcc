/* Token scopes as registries write them ("repository:ns/app:pull,push"): parts and coverage. */
#include "scope.h"

#include <errno.h>

#include "util.h"

bool scope_split(const char *s, size_t len, struct scope *ret) {
        const char *end = s + len;
        const char *c1 = memchr(s, ':', len);
        if (!c1)
                return false;
        const char *c2 = NULL;
        for (const char *p = end; p > c1 + 1; p--)
                if (p[-1] == ':') {
                        c2 = p - 1;
                        break;
                }
        if (!c2 || c2 == c1)
                return false;
        *ret = (struct scope) {
                .type = s, .type_len = c1 - s,
                .name = c1 + 1, .name_len = c2 - c1 - 1,
                .actions = c2 + 1, .actions_len = end - c2 - 1,
        };
        return true;
}

size_t scope_resource_len(const char *s, size_t len) {
        struct scope sc;
        return scope_split(s, len, &sc) ? (size_t) (sc.actions - s) : len;
}

bool scope_action_in(const char *actions, size_t len, const char *a, size_t a_len) {
        const char *p = actions, *end = actions + len;
        while (p < end) {
                const char *c = memchr(p, ',', end - p);
                const char *e = c ? c : end;
                if (((size_t) (e - p) == a_len && memcmp(p, a, a_len) == 0) || (e - p == 1 && *p == '*'))
                        return true;
                p = e + 1;
        }
        return false;
}

bool scope_covers(const char *g, size_t g_len, const char *w, size_t w_len) {
        struct scope gs, ws;
        if (!scope_split(g, g_len, &gs) || !scope_split(w, w_len, &ws))
                return g_len == w_len && memcmp(g, w, g_len) == 0;
        if (gs.type_len != ws.type_len || memcmp(gs.type, ws.type, gs.type_len) != 0 ||
            gs.name_len != ws.name_len || memcmp(gs.name, ws.name, gs.name_len) != 0)
                return false;
        const char *p = ws.actions, *end = ws.actions + ws.actions_len;
        while (p < end) {
                const char *c = memchr(p, ',', end - p);
                const char *e = c ? c : end;
                if (e > p && !scope_action_in(gs.actions, gs.actions_len, p, e - p))
                        return false;
                p = e + 1;
        }
        return true;
}

bool scope_list_covers(char *const *granted, const char *wanted) {
        const char *p = wanted;
        for (;;) {
                while (*p == ' ')
                        p++;
                if (!*p)
                        return true;
                size_t n = strcspn(p, " ");
                bool found = false;
                for (char *const *g = granted; g && *g && !found; g++)
                        found = scope_covers(*g, strlen(*g), p, n);
                if (!found)
                        return false;
                p += n;
        }
}

int scope_list_normalize(const char *const *scopes, char ***ret) {
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        size_t n_l = 0;
        for (const char *const *s = scopes; s && *s; s++) {
                const char *p = *s;
                for (;;) {
                        while (*p == ' ')
                                p++;
                        if (!*p)
                                break;
                        size_t n = strcspn(p, " ");
                        char *one = strndup(p, n);
                        if (!one)
                                return -ENOMEM;
                        if (util_strv_contains(l, one))
                                free(one);
                        else {
                                if (n_l >= SCOPE_MAX) {
                                        free(one);
                                        return -E2BIG;
                                }
                                if (util_strv_consume(&l, one) < 0)
                                        return -ENOMEM;
                                n_l++;
                        }
                        p += n;
                }
        }
        *ret = TAKE_PTR(l);
        return 0;
}
