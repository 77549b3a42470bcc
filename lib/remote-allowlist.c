/* Allow-list sources at http(s) URLs: fetched with conditional requests, cached on disk, the cache used when offline. */
#include "remote-allowlist.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "allowlist.h"
#include "host.h"
#include "http.h"
#include "text.h"
#include "util.h"

#define META_MAX 16384

struct fetch {
        char *url;
        char *body_path; /* NULL without a cache */
        char *meta_path;
        remote_allowlist_fn cb;
        void *userdata;
};

static void fetch_free(struct fetch *f) {
        free(f->url);
        free(f->body_path);
        free(f->meta_path);
        free(f);
}

/* Writes data to path through a temporary file and a rename, so a crash leaves the old or the new copy. */
static int write_atomic(const char *path, const void *data, size_t len) {
        _cleanup_free_ char *tmp = util_printf("%s.tmp", path);
        if (!tmp)
                return -ENOMEM;
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        const char *p = data;
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int r = -errno;
                        close(fd);
                        unlink(tmp);
                        return r;
                }
                p += n;
                len -= (size_t) n;
        }
        if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
                int r = -errno;
                unlink(tmp);
                return r;
        }
        return 0;
}

/* The cached validators: {"url", "etag", "last_modified"}; NULL when there is no usable cache. */
static cJSON *read_meta(const struct fetch *f) {
        _cleanup_free_ char *text = NULL;
        if (!f->meta_path || util_read_file(f->meta_path, META_MAX, &text, NULL) < 0 || access(f->body_path, R_OK) < 0)
                return NULL;
        cJSON *meta = cJSON_Parse(text);
        cJSON *url = cJSON_GetObjectItem(meta, "url");
        if (!cJSON_IsString(url) || !streq(url->valuestring, f->url)) {
                cJSON_Delete(meta);
                return NULL;
        }
        return meta;
}

/* Answers with the cached copy: fresh after a 304 (why NULL), else a fallback that says why;
 * unusable when the URL answered with something that is not an allow-list. */
static void answer_from_cache(struct fetch *f, int error, const char *why, bool unusable) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r = f->body_path ? util_read_file(f->body_path, ALLOWLIST_SOURCE_MAX, &text, &len) : -ENOENT;
        if (r < 0) {
                f->cb(error, why ? why : f->url, NULL, f->userdata);
                return;
        }
        _cleanup_free_ char *note = why ? util_printf("%s; using the copy fetched before", why) : NULL;
        struct remote_allowlist result = {.text = text, .len = len, .from_cache = true,
                                          .note = why ? (note ? note : why) : NULL, .note_is_error = unusable};
        f->cb(0, NULL, &result, f->userdata);
}

static void save(const struct fetch *f, const struct http_response *resp) {
        if (!f->body_path)
                return;
        cJSON *meta = cJSON_CreateObject();
        const char *etag = http_response_header(resp, "ETag");
        const char *modified = http_response_header(resp, "Last-Modified");
        cJSON_AddStringToObject(meta, "url", f->url);
        if (etag)
                cJSON_AddStringToObject(meta, "etag", etag);
        if (modified)
                cJSON_AddStringToObject(meta, "last_modified", modified);
        _cleanup_free_ char *text = cJSON_PrintUnformatted(meta);
        cJSON_Delete(meta);
        /* A cache that cannot be written only costs a full fetch next time. */
        if (text && write_atomic(f->body_path, resp->body, resp->body_len) == 0)
                (void) write_atomic(f->meta_path, text, strlen(text));
}

/* The host[:port] of an http(s) URL, lowercased, into buf; "" when there is none. */
static void url_authority(const char *url, char buf[static 256]) {
        const char *a = strstr(url, "://");
        a = a ? a + 3 : url;
        size_t n = strcspn(a, "/?#");
        if (n > 255)
                n = 255;
        memcpy(buf, a, n);
        buf[n] = 0;
        util_ascii_lower_copy(buf, buf);
}

/* Why a 200 answer is not an allow-list (NULL when it may be one): the cache must not be replaced
 * by an error page, an empty body, or text that a redirect brought over plain HTTP from another host. */
static char *unusable_answer(const struct fetch *f, const struct http_response *resp) {
        if (resp->url && util_startswith_no_case(resp->url, "http://")) {
                char from[256], to[256];
                url_authority(f->url, from);
                url_authority(resp->url, to);
                if (!streq(from, to)) {
                        _cleanup_free_ char *q = text_quote_str(resp->url, 200);
                        return util_printf("%s: redirected to %s, plain HTTP on another host; refused", f->url,
                                           q ? q : "another host");
                }
        }
        const char *type = http_response_header(resp, "Content-Type");
        size_t lead = strspn(resp->body, " \t\r\n");
        if ((type && util_startswith_no_case(type, "text/html")) || (lead < resp->body_len && resp->body[lead] == '<'))
                return util_printf("%s: the answer is an HTML page, not an allow-list", f->url);
        if (lead == resp->body_len)
                return util_printf("%s: the answer is empty, not an allow-list", f->url);
        struct allowlist scratch;
        _cleanup_free_ char *error = NULL;
        int r = allowlist_parse(f->url, resp->body, resp->body_len, &scratch, &error);
        if (r == 0)
                allowlist_done(&scratch);
        if (r == -EBADMSG)
                return util_printf("%s: the answer has no valid allow-list entry", f->url);
        return NULL;
}

static void on_response(const struct http_response *resp, void *userdata) {
        struct fetch *f = userdata;
        _cleanup_free_ char *why = NULL;

        if (resp->error == -ECANCELED) {
                f->cb(-ECANCELED, "cancelled", NULL, f->userdata);
        } else if (resp->error == 0 && resp->status == 200 && (why = unusable_answer(f, resp))) {
                answer_from_cache(f, -EBADMSG, why, true);
        } else if (resp->error == 0 && resp->status == 200) {
                save(f, resp);
                struct remote_allowlist result = {.text = resp->body, .len = resp->body_len};
                f->cb(0, NULL, &result, f->userdata);
        } else if (resp->error == 0 && resp->status == 304 && f->body_path) {
                answer_from_cache(f, -EPROTO, NULL, false);
        } else {
                if (resp->error == -EFBIG)
                        why = util_printf("%s: allow-list is larger than %u MiB", f->url, ALLOWLIST_SOURCE_MAX >> 20);
                else if (resp->error < 0)
                        why = util_printf("%s: cannot fetch the allow-list: %s", f->url,
                                          resp->error_message ? resp->error_message : strerror(-resp->error));
                else
                        why = util_printf("%s: cannot fetch the allow-list: HTTP %ld", f->url, resp->status);
                answer_from_cache(f, resp->error < 0 ? resp->error : -EPROTO, why ? why : f->url, false);
        }
        fetch_free(f);
}

int remote_allowlist_fetch(struct http_client *http, const char *url, const char *cache_dir, remote_allowlist_fn cb,
                           void *userdata) {
        /* Credentials in the URL would be repeated in messages and cached files. */
        if (!http || !url || !cb || host_url_has_userinfo(url))
                return -EINVAL;
        struct fetch *f = calloc(1, sizeof(struct fetch));
        if (!f)
                return -ENOMEM;
        f->cb = cb;
        f->userdata = userdata;
        f->url = strdup(url);
        if (!f->url) {
                fetch_free(f);
                return -ENOMEM;
        }
        if (cache_dir) {
                char digest[72];
                util_sha256_digest(url, strlen(url), digest);
                if (mkdir(cache_dir, 0700) < 0 && errno != EEXIST) {
                        fetch_free(f);
                        return -errno;
                }
                /* Named by the URL's hash: any URL maps to a safe, fixed-length file name. */
                f->body_path = util_printf("%s/%s.txt", cache_dir, digest + 7);
                f->meta_path = util_printf("%s/%s.json", cache_dir, digest + 7);
                if (!f->body_path || !f->meta_path) {
                        fetch_free(f);
                        return -ENOMEM;
                }
        }

        _cleanup_free_ char *if_none_match = NULL;
        _cleanup_free_ char *if_modified_since = NULL;
        cJSON *meta = read_meta(f);
        const char *etag = cJSON_GetStringValue(cJSON_GetObjectItem(meta, "etag"));
        const char *modified = cJSON_GetStringValue(cJSON_GetObjectItem(meta, "last_modified"));
        if (etag)
                if_none_match = util_printf("If-None-Match: %s", etag);
        if (modified)
                if_modified_since = util_printf("If-Modified-Since: %s", modified);
        cJSON_Delete(meta);
        const char *headers[3] = {};
        size_t n = 0;
        if (if_none_match)
                headers[n++] = if_none_match;
        if (if_modified_since)
                headers[n++] = if_modified_since;

        struct http_request req = {
                .method = "GET",
                .url = url,
                .headers = headers,
                .max_body = ALLOWLIST_SOURCE_MAX,
                .follow_redirects = true,
        };
        int r = http_submit(http, &req, on_response, f);
        if (r < 0)
                fetch_free(f);
        return r;
}
