/* Which tags of a repository are versions worth considering, newest first (CONTRACT §5 rules 1-3). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "semver.h"

struct select_candidate {
        char *tag;          /* exactly as the registry lists it: "v1.2.0" stays "v1.2.0" */
        bool is_version;    /* false only for a pinned tag that is not SemVer */
        struct semver version;
};

struct select_plan {
        struct select_candidate *candidates; /* considered versions, highest precedence first */
        size_t n;
        bool pinned_missing; /* the entry is pinned and the registry does not have that tag */
};

/* Builds the plan for one repository from its tag list (NULL-terminated).
 * - A tag is a version when it is SemVer 2.0.0, optionally with one leading 'v'.
 * - Pre-releases count only with include_prerelease, or when installed (may be NULL or not
 *   SemVer) is a pre-release of the same major.minor.patch (node-semver's rule). Nothing else
 *   depends on the installed version: the answer does not (CONTRACT §5.4).
 * - A pinned entry (pinned non-NULL) considers its pinned tag only, whatever it is.
 * Equal precedence ("1.0.0" and "v1.0.0") keeps both, ordered bytewise so the plan is stable.
 * Returns 0 or -ENOMEM. */
int select_plan_build(char *const *tags, const char *pinned, const char *installed, bool include_prerelease,
                      struct select_plan *ret);
void select_plan_done(struct select_plan *p);

/* CONTRACT §4 update_available: both set, both versions, and candidate has higher precedence.
 * The one update check: the store's records and the selection both use it. */
bool select_is_update(const char *installed, const char *candidate);

/* An installed version as the inventory keeps it, checked once where it is written: SemVer 2.0.0
 * with at most one leading 'v' (as tags are), surrounding blanks dropped. Returns 0 and *ret
 * (malloc'd), -EINVAL with *ret_reason (a static sentence) when it is not a version, or -ENOMEM.
 * ret_reason may be NULL. */
int select_installed_normalize(const char *text, char **ret, const char **ret_reason);
