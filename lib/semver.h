/* SemVer 2.0.0 versions and node-semver's range language: parsing, precedence, satisfaction. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* node-semver's limits: a longer version string, or a larger number, is not a version. */
#define SEMVER_MAX_LENGTH 256
#define SEMVER_MAX_NUMBER UINT64_C(9007199254740991) /* Number.MAX_SAFE_INTEGER */
/* node-semver has no limit on ranges; we refuse longer ones so a peer cannot make us work without end. */
#define SEMVER_RANGE_MAX_LENGTH 8192

enum {
        /* Accept one leading 'v', as registry tags often carry ("v1.2.3"). */
        SEMVER_PARSE_ALLOW_V = 1u << 0,
        /* Ignore surrounding whitespace (JavaScript's definition, as node-semver trims). */
        SEMVER_PARSE_TRIM = 1u << 1,
};
/* What node-semver's valid()/parse() accept with default options. */
#define SEMVER_PARSE_NODE (SEMVER_PARSE_ALLOW_V | SEMVER_PARSE_TRIM)

struct semver {
        uint64_t major, minor, patch;
        char **prerelease; /* NULL-terminated identifiers, NULL when the version has none */
        char *build;       /* dot-separated metadata without the '+', NULL when none */
};

/* Parses a strict SemVer 2.0.0 string (no loose forms: no leading zeros, no "=" prefix, no
 * "1.2.3beta"). Returns 0, -EINVAL (not a version, too long, number above SEMVER_MAX_NUMBER)
 * or -ENOMEM. ret is written only on success and must be released with semver_done(). */
int semver_parse(const char *s, unsigned flags, struct semver *ret);
void semver_done(struct semver *v);

/* SemVer precedence: -1, 0 or 1. Build metadata is ignored. */
int semver_compare(const struct semver *a, const struct semver *b);
bool semver_is_prerelease(const struct semver *v);

/* "MAJOR.MINOR.PATCH[-PRE][+BUILD]" (build only when with_build). 0 or -ENOMEM. */
int semver_format(const struct semver *v, bool with_build, char **ret);

/* Total order on strings for sorting tag lists: strings that are not versions (parsed with
 * SEMVER_PARSE_ALLOW_V) sort first, among themselves bytewise; versions by precedence, ties
 * broken bytewise so the order is deterministic. Returns <0, 0 or >0 as strcmp(). Allocation
 * failure sorts the pair bytewise. */
int semver_compare_strings(const char *a, const char *b);

enum {
        /* node-semver's includePrerelease: pre-releases satisfy like any other version. It
         * changes the desugared form too (">=1.2.3-0"), so it is chosen when parsing. */
        SEMVER_RANGE_INCLUDE_PRERELEASE = 1u << 0,
};

/* A parsed range: sets of comparators, satisfied when every comparator of some set is. */
struct semver_range;

/* Parses node-semver's range language with default options (comparators <, <=, >, >=, =;
 * ^, ~, ~>, x-ranges, partial versions, hyphen ranges, ||), plus ',' between comparators
 * meaning AND (as in ">= 1.4.7, < 2.0"). A bare version means exactly that version. Returns 0,
 * -EINVAL (an invalid range, or longer than SEMVER_RANGE_MAX_LENGTH) or -ENOMEM. */
int semver_range_parse(const char *s, unsigned flags, struct semver_range **ret);
void semver_range_free(struct semver_range *r);
static inline void semver_range_freep(struct semver_range **r) {
        semver_range_free(*r);
}

/* node-semver's Range.test(): with pre-releases excluded (the default), a pre-release satisfies
 * only a set that has a comparator with a pre-release of the same major.minor.patch. */
bool semver_range_test(const struct semver_range *r, const struct semver *v);

/* The desugared form node-semver's validRange() prints, e.g. "^1.2.3" -> ">=1.2.3 <2.0.0-0",
 * "*" for a range that matches anything. 0 or -ENOMEM. */
int semver_range_format(const struct semver_range *r, char **ret);

/* node-semver's satisfies(version, range, {includePrerelease}), the version parsed as
 * SEMVER_PARSE_NODE: 1 or 0; -EINVAL when the version or the range is invalid; -ENOMEM. */
int semver_satisfies(const char *version, const char *range, bool include_prerelease);
