/* Docker Desktop extension image labels: what an update needs, and the marketplace's full check. */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define LABELS_TITLE "org.opencontainers.image.title"
#define LABELS_DESCRIPTION "org.opencontainers.image.description"
#define LABELS_VENDOR "org.opencontainers.image.vendor"
#define LABELS_API_VERSION "com.docker.desktop.extension.api.version"
#define LABELS_ICON "com.docker.desktop.extension.icon"
#define LABELS_SCREENSHOTS "com.docker.extension.screenshots"
#define LABELS_DETAILED_DESCRIPTION "com.docker.extension.detailed-description"
#define LABELS_PUBLISHER_URL "com.docker.extension.publisher-url"
#define LABELS_ADDITIONAL_URLS "com.docker.extension.additional-urls"
#define LABELS_CHANGELOG "com.docker.extension.changelog"
#define LABELS_ACCOUNT_INFO "com.docker.extension.account-info"
#define LABELS_CATEGORIES "com.docker.extension.categories"

/* Limits on what an image's labels can make us keep. Title and vendor are display strings and are
 * cut (at a character boundary) rather than refused; an API range is never cut, since a shortened
 * range would mean something else. */
#define LABELS_MAX_NAME 256u          /* title, vendor (bytes) */
#define LABELS_MAX_DESCRIPTION 4096u  /* description (bytes) */
#define LABELS_MAX_API_VERSION 1024u  /* longer API labels count as unusable */
#define LABELS_MAX_SHORT_VALUE 8192u  /* labels_validate: URLs, categories, account-info, names */
#define LABELS_MAX_LONG_VALUE 262144u /* labels_validate: HTML texts and JSON arrays */
#define LABELS_MAX_ARRAY 64u          /* labels_validate: entries checked in a JSON-array label */
#define LABELS_MAX_FINDINGS 100u      /* labels_validate: findings reported (the last says so) */

/* The labels a scan keeps for a version. Strings are trimmed, valid UTF-8 (invalid bytes become
 * U+FFFD), free of control characters (the description keeps newlines and tabs), and NULL when the
 * label is absent, not a string, or blank. */
struct extension_labels {
        char *title;
        char *vendor;
        char *description;
        char *api_version;
        bool api_version_too_long; /* the API label exceeded LABELS_MAX_API_VERSION; api_version is NULL */
        bool title_not_string;     /* present, but not a JSON string (then NULL above) */
        bool vendor_not_string;
        bool api_version_not_string;
};

/* Reads the labels a scan needs from an image config's config.Labels object. labels may be NULL or
 * not an object (then every field is NULL); non-string values count as absent; when a key occurs
 * twice the last one counts, as Docker's JSON decoder does. Returns 0 or -ENOMEM. */
int labels_extract(const cJSON *labels, struct extension_labels *ret);
void labels_done(struct extension_labels *l);

/* NULL when the labels an update needs (CONTRACT §5: title, vendor, API version) are present and
 * non-blank; otherwise a static sentence naming the first missing label, such as
 * "missing label org.opencontainers.image.vendor", or one that is not a string or too long. */
const char *labels_missing_required(const struct extension_labels *l);

enum labels_severity {
        LABELS_ERROR,
        LABELS_WARNING,
};

/* One problem found by labels_validate. label is the label's key (or "config.Labels" for the object
 * as a whole); message does not repeat it, so a caller prints "LABEL: MESSAGE". */
struct labels_finding {
        enum labels_severity severity;
        char *label;
        char *message;
};

/* The marketplace's check of every documented label (EXTENSIONS.md): required labels present and
 * non-blank, JSON-array labels well-formed, URLs absolute http(s), categories from the documented
 * list, account-info "required" or empty, the API label a valid range. Real-world untidiness that
 * Docker Desktop copes with (account-info "true", a publisher-url holding a JSON array, a bare API
 * version) is a warning; unknown com.docker.extension.* / com.docker.desktop.extension.* labels are
 * warnings (usually typos). Findings come in table order, then unknown labels. On success *ret (NULL
 * when there is nothing to report) and *ret_n are set; free with labels_findings_free.
 * Returns 0 or -ENOMEM. */
int labels_validate(const cJSON *labels, struct labels_finding **ret, size_t *ret_n);
void labels_findings_free(struct labels_finding *f, size_t n);

/* Number of LABELS_ERROR findings. */
size_t labels_findings_errors(const struct labels_finding *f, size_t n);
