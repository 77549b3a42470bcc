/* Which tags of a repository are versions worth considering, newest first (CONTRACT §5 rules 1-3). */
#include "select.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static void candidate_done(struct select_candidate *c) {
        free(c->tag);
        if (c->is_version)
                semver_done(&c->version);
}

void select_plan_done(struct select_plan *p) {
        if (!p)
                return;
        for (size_t i = 0; i < p->n; i++)
                candidate_done(&p->candidates[i]);
        free(p->candidates);
        *p = (struct select_plan) {};
}

static int candidate_order(const void *a, const void *b) {
        const struct select_candidate *x = a, *y = b;
        int c = semver_compare(&y->version, &x->version);
        return c != 0 ? c : strcmp(x->tag, y->tag);
}

static bool same_release(const struct semver *a, const struct semver *b) {
        return a->major == b->major && a->minor == b->minor && a->patch == b->patch;
}

int select_plan_build(char *const *tags, const char *pinned, const char *installed, bool include_prerelease,
                      struct select_plan *ret) {
        struct semver inst;
        bool have_installed = installed && semver_parse(installed, SEMVER_PARSE_ALLOW_V, &inst) == 0;
        struct select_plan plan = {};
        size_t n_tags = util_strv_length(tags);
        int r = 0;

        plan.candidates = calloc(n_tags ? n_tags : 1, sizeof(struct select_candidate));
        if (!plan.candidates) {
                r = -ENOMEM;
                goto out;
        }

        for (size_t i = 0; i < n_tags; i++) {
                struct select_candidate c = {};
                if (pinned && !streq(tags[i], pinned))
                        continue;
                c.is_version = semver_parse(tags[i], SEMVER_PARSE_ALLOW_V, &c.version) == 0;
                if (!c.is_version && !pinned)
                        continue;
                if (!pinned && semver_is_prerelease(&c.version) && !include_prerelease &&
                    !(have_installed && semver_is_prerelease(&inst) && same_release(&inst, &c.version))) {
                        semver_done(&c.version);
                        continue;
                }
                c.tag = strdup(tags[i]);
                if (!c.tag) {
                        candidate_done(&c);
                        r = -ENOMEM;
                        goto out;
                }
                plan.candidates[plan.n++] = c;
                if (pinned)
                        break;
        }
        plan.pinned_missing = pinned && plan.n == 0;
        if (!pinned)
                qsort(plan.candidates, plan.n, sizeof(struct select_candidate), candidate_order);
        *ret = plan;
        plan = (struct select_plan) {};
out:
        select_plan_done(&plan);
        if (have_installed)
                semver_done(&inst);
        return r;
}

int select_installed_normalize(const char *text, char **ret, const char **ret_reason) {
        if (!text || !ret)
                return -EINVAL;
        const char *b = text;
        while (*b == ' ' || *b == '\t' || *b == '\n' || *b == '\r')
                b++;
        size_t n = strlen(b);
        while (n > 0 && (b[n - 1] == ' ' || b[n - 1] == '\t' || b[n - 1] == '\n' || b[n - 1] == '\r'))
                n--;
        _cleanup_free_ char *v = strndup(b, n);
        if (!v)
                return -ENOMEM;
        struct semver parsed;
        int r = semver_parse(v, SEMVER_PARSE_ALLOW_V, &parsed);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                if (ret_reason)
                        *ret_reason = n == 0 ? "the version is empty"
                                             : "not a SemVer version (like 1.2.3, optionally with a leading v)";
                return -EINVAL;
        }
        semver_done(&parsed);
        *ret = TAKE_PTR(v);
        return 0;
}

bool select_is_update(const char *installed, const char *candidate) {
        struct semver a, b;
        if (!installed || !candidate)
                return false;
        if (semver_parse(installed, SEMVER_PARSE_ALLOW_V, &a) < 0)
                return false;
        bool update = false;
        if (semver_parse(candidate, SEMVER_PARSE_ALLOW_V, &b) == 0) {
                update = semver_compare(&b, &a) > 0;
                semver_done(&b);
        }
        semver_done(&a);
        return update;
}
