/* Which tags of a repository are versions worth considering, newest first (CONTRACT §5 rules 1-3). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "semver.h"

struct select_candidate {
        char *tag;          /* exactly as the registry lists it: "v1.2.0" stays "v1.2.0" */
        bool is_version;    /* false only for a pinned tag that is not SemVer */
        struct semver version;
        bool below_installed; /* lower precedence than the installed version: never inspected */
};

struct select_plan {
        struct select_candidate *candidates; /* considered versions, highest precedence first */
        size_t n;
        bool pinned_missing; /* the entry is pinned and the registry does not have that tag */
};

/* Builds the plan for one repository from its tag list (NULL-terminated).
 * - A tag is a version when it is SemVer 2.0.0, optionally with one leading 'v'.
 * - Pre-releases count only with include_prerelease, or when installed is a pre-release of the
 *   same major.minor.patch (node-semver's rule).
 * - A pinned entry (pinned non-NULL) considers its pinned tag only, whatever it is.
 * - installed (may be NULL or not SemVer) marks the candidates below it.
 * Equal precedence ("1.0.0" and "v1.0.0") keeps both, ordered bytewise so the plan is stable.
 * Returns 0 or -ENOMEM. */
int select_plan_build(char *const *tags, const char *pinned, const char *installed, bool include_prerelease,
                      struct select_plan *ret);
void select_plan_done(struct select_plan *p);

/* CONTRACT §4 update_available: both set, both versions, and candidate has higher precedence. */
bool select_is_update(const char *installed, const char *candidate);
