/* Link headers (RFC 8288) of paginated tag listings: the "next" target, and where it may lead. */
#include "link-header.h"

#include <curl/curl.h>
#include <errno.h>
#include <strings.h>

#include "text.h"
#include "util.h"

static bool is_tchar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               (c && strchr("!#$%&'*+-.^_`|~", c));
}

static const char *skip_ows(const char *p) {
        while (*p == ' ' || *p == '\t')
                p++;
        return p;
}

/* Whether a rel value (space-separated relation types) contains "next". */
static bool rel_has_next(const char *v, size_t n) {
        size_t i = 0;
        while (i < n) {
                while (i < n && (v[i] == ' ' || v[i] == '\t'))
                        i++;
                size_t start = i;
                while (i < n && v[i] != ' ' && v[i] != '\t')
                        i++;
                if (i - start == 4 && strncasecmp(v + start, "next", 4) == 0)
                        return true;
        }
        return false;
}

/* Parses one Link header value; sets *ret (if still NULL) to the first "next" target. */
static int parse_link_value(const char *p, char **ret) {
        for (;;) {
                while (*p == ' ' || *p == '\t' || *p == ',')
                        p++;
                if (!*p)
                        return 0;
                if (*p != '<')
                        return -EBADMSG;
                const char *uri = ++p;
                while (*p && *p != '>') {
                        if ((unsigned char) *p <= 0x20 || *p == 0x7f || *p == '<')
                                return -EBADMSG;
                        p++;
                }
                if (*p != '>')
                        return -EBADMSG;
                size_t uri_len = (size_t) (p - uri);
                p++;
                bool next = false, rel_seen = false;
                for (;;) {
                        p = skip_ows(p);
                        if (!*p || *p == ',')
                                break;
                        if (*p != ';')
                                return -EBADMSG;
                        p = skip_ows(p + 1);
                        const char *name = p;
                        while (is_tchar(*p))
                                p++;
                        size_t name_len = (size_t) (p - name);
                        if (name_len == 0)
                                return -EBADMSG;
                        p = skip_ows(p);
                        const char *value = NULL;
                        size_t value_len = 0;
                        _cleanup_free_ char *unquoted = NULL;
                        if (*p == '=') {
                                p = skip_ows(p + 1);
                                if (*p == '"') {
                                        p++;
                                        size_t cap = strlen(p) + 1, n = 0;
                                        unquoted = malloc(cap);
                                        if (!unquoted)
                                                return -ENOMEM;
                                        while (*p && *p != '"') {
                                                if (*p == '\\' && p[1])
                                                        p++;
                                                unquoted[n++] = *p++;
                                        }
                                        if (*p != '"')
                                                return -EBADMSG;
                                        p++;
                                        unquoted[n] = 0;
                                        value = unquoted;
                                        value_len = n;
                                } else {
                                        value = p;
                                        while (is_tchar(*p))
                                                p++;
                                        value_len = (size_t) (p - value);
                                        if (value_len == 0)
                                                return -EBADMSG;
                                }
                        }
                        /* RFC 8288 §3.3: only the first rel parameter of a link counts. */
                        if (name_len == 3 && strncasecmp(name, "rel", 3) == 0 && !rel_seen) {
                                rel_seen = true;
                                next = value && rel_has_next(value, value_len);
                        }
                }
                if (next && !*ret && uri_len > 0) {
                        *ret = strndup(uri, uri_len);
                        if (!*ret)
                                return -ENOMEM;
                }
        }
}

int link_header_next(const char *const *values, char **ret) {
        _cleanup_free_ char *found = NULL;
        for (const char *const *v = values; v && *v; v++) {
                if (strlen(*v) > LINK_HEADER_MAX)
                        return -E2BIG;
                int r = parse_link_value(*v, &found);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(found);
        return 0;
}

static void curl_url_cleanupp(CURLU **u) {
        if (*u)
                curl_url_cleanup(*u);
}

static void curl_freep(char **p) {
        curl_free(*p);
}

/* Scheme, host and port of a parsed URL, lowercase, as one comparable string. */
static char *origin_of(CURLU *u) {
        char *scheme = NULL, *host = NULL, *port = NULL;
        char *out = NULL;
        if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
                out = util_printf("%s://%s:%s", scheme, host, port);
                for (char *c = out; c && *c; c++)
                        if (*c >= 'A' && *c <= 'Z')
                                *c = (char) (*c - 'A' + 'a');
        }
        curl_free(scheme);
        curl_free(host);
        curl_free(port);
        return out;
}

int link_header_resolve(const char *page_url, const char *reference, char **ret, char **ret_error) {
        _cleanup_free_ char *shown = text_escape_str(reference, 200);
        _cleanup_(curl_url_cleanupp) CURLU *base = curl_url();
        _cleanup_(curl_url_cleanupp) CURLU *u = curl_url();
        if (!base || !u || !shown)
                return -ENOMEM;
        if (curl_url_set(base, CURLUPART_URL, page_url, 0) != CURLUE_OK ||
            curl_url_set(u, CURLUPART_URL, page_url, 0) != CURLUE_OK)
                return util_fail(ret_error, -EINVAL, "page URL %s is not a URL", page_url);
        /* Set on a handle that holds the page URL, a relative reference is resolved against it. */
        if (curl_url_set(u, CURLUPART_URL, reference, 0) != CURLUE_OK)
                return util_fail(ret_error, -EINVAL, "\"%s\" is not a URL", shown);
        _cleanup_free_ char *want = origin_of(base), *got = origin_of(u);
        if (!want || !got)
                return util_fail(ret_error, -EINVAL, "\"%s\" has no usable scheme or host", shown);
        if (!streq(want, got))
                return util_fail(ret_error, -EPERM, "%s points to another host or scheme than %s", shown, page_url);
        _cleanup_(curl_freep) char *url = NULL;
        if (curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK)
                return util_fail(ret_error, -EINVAL, "\"%s\" is not a URL", shown);
        char *r = strdup(url);
        if (!r)
                return -ENOMEM;
        *ret = r;
        return 0;
}
