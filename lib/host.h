/* Hosts as registries and URLs write them: validation, loopback, the host of a URL, userinfo. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define HOST_MAX 255u /* bytes of a host with its port, as configuration keys and lookups take */

/* Whether s[0..len) is a registry host as image references write it (distribution/reference's
 * domain): dot-separated labels of ASCII letters, digits and inner dashes, or an IPv6 address in
 * brackets, with an optional :PORT of digits. strict also demands what lookups and configuration
 * keys need beyond docker's pattern: at most HOST_MAX bytes, a port in 1..65535, and an IPv6
 * address that parses. */
bool host_is_valid(const char *s, size_t len, bool strict);

/* The host part of an http(s) URL ("scheme://[userinfo@]host[:port]/…"), without userinfo, port
 * or IPv6 brackets: a pointer into url and its length, which is 0 when there is none. */
const char *host_of_url(const char *url, size_t *ret_len);

/* Whether two URLs name the same host (case-insensitive; ports and schemes may differ). */
bool host_same_in_urls(const char *url_a, const char *url_b);

/* Whether two http(s) URLs have the same origin: scheme, host (case-insensitive) and port, an
 * absent port being the scheme's default. */
bool host_same_origin(const char *url_a, const char *url_b);

/* Whether an absolute URL carries userinfo ("user:password@") before its host. */
bool host_url_has_userinfo(const char *url);

/* url without its userinfo, for messages that must not repeat a password; NULL on allocation
 * failure. */
char *host_url_redact(const char *url);
