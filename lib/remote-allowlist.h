/* Allow-list sources at http(s) URLs: fetched with conditional requests, cached on disk, the cache used when offline. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct http_client;

/* What a fetch produced. text is valid only during the callback. */
struct remote_allowlist {
        const char *text;     /* the allow-list, or NULL on error */
        size_t len;
        const char *note;     /* for a person: why the cached copy was used; NULL when fresh */
        bool note_is_error;   /* the URL answered with what is not an allow-list (an HTML page, an
                                 empty body, no valid entry): an error, though the last good copy
                                 stands in */
        bool from_cache;
};

/* error is 0 (result->text set, fresh or cached) or negative errno with message naming the URL. */
typedef void (*remote_allowlist_fn)(int error, const char *message, const struct remote_allowlist *result,
                                    void *userdata);

/* GETs url (at most ALLOWLIST_SOURCE_MAX bytes). With cache_dir (created 0700 when missing), the
 * last good copy and its ETag / Last-Modified live there: the request is conditional, a 304 answers
 * from the cache, and a failure falls back to the cache with a note. A 200 answer that is not an
 * allow-list (HTML, empty, no line naming a repository, or a redirect to plain HTTP on another
 * host) never replaces the cache: it is an error naming the URL, and the cached copy stands in.
 * Without cache_dir every fetch is plain. Returns 0 when cb will run (from the loop), or -EINVAL
 * (also for a URL with userinfo) / -ENOMEM / http_submit's error. */
int remote_allowlist_fetch(struct http_client *http, const char *url, const char *cache_dir, remote_allowlist_fn cb,
                           void *userdata);
