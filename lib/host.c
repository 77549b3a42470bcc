/* Hosts as registries and URLs write them: validation, loopback, the host of a URL, userinfo. */
#include "host.h"

#include <strings.h>

#include "util.h"

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
