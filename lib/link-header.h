/* Link headers (RFC 8288) of paginated tag listings: the "next" target, and where it may lead. */
#pragma once

#define LINK_HEADER_MAX (64u << 10) /* one Link header value */

/* Finds the first rel="next" target in Link header values (RFC 8288: several links per value,
 * parameters with tokens or quoted strings, rel holding space-separated relation types in any
 * case). values is NULL-terminated (NULL = none). *ret is the URI reference as written, or NULL
 * when no link is "next". Returns 0, -EBADMSG (malformed), -E2BIG (a value over
 * LINK_HEADER_MAX) or -ENOMEM. */
int link_header_next(const char *const *values, char **ret);

/* Resolves a next-page reference against the URL of the page that carried it and checks that
 * the result stays on scheme and host:port of that URL. Returns 0, -EPERM (another scheme or
 * host; *ret_error names the URL), -EINVAL (not a URL; *ret_error says so) or -ENOMEM.
 * ret_error may be NULL. */
int link_header_resolve(const char *page_url, const char *reference, char **ret, char **ret_error);
