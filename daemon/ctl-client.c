/* extupdatectl's side of the local API: one HTTP request over the daemon's Unix socket with libcurl. */
#include "ctl-client.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-socket.h"
#include "ctl-print.h"
#include "util.h"

/* Answers come from the local store; anything bigger than this is not the daemon speaking. */
#define CTL_ANSWER_MAX (64u * 1024u * 1024u)

struct answer {
        char *data;
        size_t len;
        bool too_big;
        const struct ctl_request *req;
        long status;
        CURL *curl;
        bool stopped;
};

static bool streaming(struct answer *a) {
        if (!a->req->on_line)
                return false;
        if (a->status == 0)
                curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &a->status);
        return a->status == 200;
}

static size_t on_data(char *ptr, size_t size, size_t n, void *userdata) {
        struct answer *a = userdata;
        size_t len = size * n;
        if (a->len + len > CTL_ANSWER_MAX) {
                a->too_big = true;
                return 0;
        }
        char *d = realloc(a->data, a->len + len + 1);
        if (!d)
                return 0;
        memcpy(d + a->len, ptr, len);
        a->data = d;
        a->len += len;
        d[a->len] = '\0';
        if (!streaming(a))
                return len;
        /* Hand over every complete line; keep the partial one. */
        char *start = a->data, *nl;
        while ((nl = memchr(start, '\n', a->len - (size_t) (start - a->data)))) {
                *nl = '\0';
                if (a->req->on_line(start, a->req->userdata) < 0) {
                        a->stopped = true;
                        return 0;
                }
                start = nl + 1;
        }
        a->len -= (size_t) (start - a->data);
        memmove(a->data, start, a->len + 1);
        return len;
}

char *ctl_client_path(const char *prefix, const char *repository) {
        size_t n = strlen(repository);
        char *out = malloc(strlen(prefix) + n * 3 + 1);
        if (!out)
                return NULL;
        char *o = stpcpy(out, prefix);
        for (const unsigned char *p = (const unsigned char *) repository; *p; p++)
                if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                    strchr("-._~/:", *p))
                        *o++ = (char) *p;
                else
                        o += sprintf(o, "%%%02X", *p);
        *o = '\0';
        return out;
}

static void not_running(const char *path, const char *why) {
        _cleanup_free_ char *p = ctl_escape(path);
        fprintf(stderr,
                "extupdatectl: extupdated is not running: nothing answers on %s (%s).\n"
                "Start it with: systemctl --user start extupdated.socket\n"
                "or run it in a terminal: extupdated\n",
                p ? p : "the socket", why);
}

static void print_error(long status, const char *body) {
        cJSON *j = body ? cJSON_Parse(body) : NULL;
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
        _cleanup_free_ char *text = ctl_escape(cJSON_IsString(m) ? m->valuestring : NULL);
        if (cJSON_IsString(m))
                fprintf(stderr, "extupdatectl: %s\n", text ? text : "error");
        else
                fprintf(stderr, "extupdatectl: the daemon answered HTTP %ld\n", status);
        cJSON_Delete(j);
}

int ctl_client_call(const struct ctl_options *o, const struct ctl_request *req, cJSON **ret) {
        _cleanup_free_ char *default_path = NULL, *error = NULL;
        const char *path = o->socket_path;
        if (!path) {
                default_path = api_socket_default_path(&error);
                if (!default_path) {
                        fprintf(stderr, "extupdatectl: %s\n", error ? error : "out of memory");
                        return -EINVAL;
                }
                path = default_path;
        }
        _cleanup_free_ char *url = util_printf("http://localhost%s", req->path);
        CURL *curl = curl_easy_init();
        if (!url || !curl) {
                curl_easy_cleanup(curl);
                return -ENOMEM;
        }
        struct answer a = { .req = req, .curl = curl };
        struct curl_slist *headers = NULL;
        if (req->body)
                headers = curl_slist_append(headers, "Content-Type: application/json");
        curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, path);
        curl_easy_setopt(curl, CURLOPT_URL, url);
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method ? req->method : "GET");
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        if (req->body)
                curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &a);
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_USERAGENT, "extupdatectl/" EXTUPDATED_VERSION);
        CURLcode cc = curl_easy_perform(curl);
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a.status);
        curl_slist_free_all(headers);
        curl_easy_cleanup(curl);

        int r = 0;
        if (cc == CURLE_COULDNT_CONNECT) {
                not_running(path, "connection refused or no socket");
                r = -ECONNREFUSED;
        } else if (a.stopped)
                r = 0;
        else if (a.too_big) {
                fprintf(stderr, "extupdatectl: the answer is larger than %u bytes\n", CTL_ANSWER_MAX);
                r = -EFBIG;
        } else if (cc != CURLE_OK) {
                fprintf(stderr, "extupdatectl: talking to extupdated on %s failed: %s\n", path, curl_easy_strerror(cc));
                r = -EIO;
        } else if (a.status >= 400) {
                print_error(a.status, a.data);
                r = a.status == 404 ? -ENOENT : a.status == 409 ? -EPERM : -EIO;
        } else if (req->on_line && a.len > 0) {
                /* A last line without its newline. */
                req->on_line(a.data, req->userdata);
        } else if (ret) {
                *ret = a.len > 0 ? cJSON_ParseWithLength(a.data, a.len) : NULL;
                if (a.len > 0 && !*ret) {
                        fprintf(stderr, "extupdatectl: the daemon's answer is not JSON\n");
                        r = -EBADMSG;
                }
        }
        free(a.data);
        return r;
}
