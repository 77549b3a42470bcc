/* Hosts as registries and URLs write them: validation, loopback, the host of a URL, userinfo. */
#include "host.h"

#include <arpa/inet.h>
#include <strings.h>

#include "util.h"

static bool is_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* [a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9] */
static bool label_valid(const char *s, size_t n) {
        if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
                return false;
        for (size_t i = 1; i + 1 < n; i++)
                if (!is_alnum(s[i]) && s[i] != '-')
                        return false;
        return true;
}

static bool ipv6_parses(const char *s, size_t n) {
        char buf[INET6_ADDRSTRLEN];
        struct in6_addr a;
        if (n >= sizeof buf)
                return false;
        memcpy(buf, s, n);
        buf[n] = 0;
        return inet_pton(AF_INET6, buf, &a) == 1;
}

bool host_is_valid(const char *s, size_t len, bool strict) {
        if (!s || len == 0 || (strict && len > HOST_MAX))
                return false;
        size_t host_len;
        if (s[0] == '[') {
                const char *close = memchr(s, ']', len);
                if (!close || close == s + 1)
                        return false;
                host_len = (size_t) (close - s) + 1;
                for (size_t i = 1; i + 1 < host_len; i++)
                        if (!strchr("0123456789abcdefABCDEF:", s[i]) || !s[i])
                                return false;
                if (strict && !ipv6_parses(s + 1, host_len - 2))
                        return false;
        } else {
                const char *colon = memchr(s, ':', len);
                host_len = colon ? (size_t) (colon - s) : len;
                for (const char *c = s, *end = s + host_len;;) {
                        const char *dot = memchr(c, '.', (size_t) (end - c));
                        size_t n = dot ? (size_t) (dot - c) : (size_t) (end - c);
                        if (!label_valid(c, n))
                                return false;
                        if (!dot)
                                break;
                        c = dot + 1;
                }
        }
        if (host_len == len)
                return true;
        const char *port = s + host_len + 1;
        size_t port_len = len - host_len - 1;
        if (s[host_len] != ':' || port_len == 0)
                return false;
        unsigned long v = 0;
        for (size_t i = 0; i < port_len; i++) {
                if (port[i] < '0' || port[i] > '9')
                        return false;
                if (v <= 65535)
                        v = v * 10 + (unsigned long) (port[i] - '0');
        }
        return !strict || (port_len <= 5 && v >= 1 && v <= 65535);
}

/* The authority of an absolute URL (after "scheme://", up to the path, query or fragment). */
static const char *url_authority(const char *url, size_t *ret_len) {
        const char *s = strstr(url, "://");
        const char *auth = s ? s + 3 : url;
        *ret_len = strcspn(auth, "/?#");
        return auth;
}

const char *host_of_url(const char *url, size_t *ret_len) {
        size_t n;
        const char *auth = url_authority(url, &n);
        /* The last '@' ends the userinfo, as curl and browsers read it. */
        for (size_t i = n; i > 0; i--)
                if (auth[i - 1] == '@') {
                        auth += i;
                        n -= i;
                        break;
                }
        if (n > 0 && auth[0] == '[') {
                const char *close = memchr(auth, ']', n);
                *ret_len = close ? (size_t) (close - auth - 1) : 0;
                return auth + 1;
        }
        const char *colon = memchr(auth, ':', n);
        *ret_len = colon ? (size_t) (colon - auth) : n;
        return auth;
}

bool host_same_in_urls(const char *url_a, const char *url_b) {
        size_t na, nb;
        const char *a = host_of_url(url_a, &na), *b = host_of_url(url_b, &nb);
        return na > 0 && na == nb && strncasecmp(a, b, na) == 0;
}

/* The port of an http(s) URL, the scheme's default when absent; 0 when not a number. */
static unsigned long url_port(const char *url, bool https) {
        size_t n;
        const char *h = host_of_url(url, &n);
        size_t auth_len;
        const char *end = url_authority(url, &auth_len) + auth_len;
        const char *p = h + n;
        if (p < end && *p == ']')
                p++;
        if (p >= end || *p != ':' || p + 1 == end)
                return https ? 443 : 80;
        unsigned long v = 0;
        for (p++; p < end; p++) {
                if (*p < '0' || *p > '9' || v > 65535)
                        return 0;
                v = v * 10 + (unsigned long) (*p - '0');
        }
        return v <= 65535 ? v : 0;
}

bool host_same_origin(const char *url_a, const char *url_b) {
        bool https_a = util_startswith_no_case(url_a, "https://"), https_b = util_startswith_no_case(url_b, "https://");
        if (https_a != https_b || (!https_a && (!util_startswith_no_case(url_a, "http://") ||
                                                !util_startswith_no_case(url_b, "http://"))))
                return false;
        unsigned long pa = url_port(url_a, https_a), pb = url_port(url_b, https_b);
        return host_same_in_urls(url_a, url_b) && pa != 0 && pa == pb;
}

bool host_url_has_userinfo(const char *url) {
        size_t n;
        const char *auth = url_authority(url, &n);
        return memchr(auth, '@', n) != NULL;
}

char *host_url_redact(const char *url) {
        size_t n;
        const char *auth = url_authority(url, &n);
        const char *at = NULL;
        for (size_t i = n; i > 0 && !at; i--)
                if (auth[i - 1] == '@')
                        at = auth + i - 1;
        if (!at)
                return strdup(url);
        return util_printf("%.*s%s", (int) (auth - url), url, at + 1);
}
