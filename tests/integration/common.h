/* Shared helpers of the registry integration tests: checks, running the loop, small HTTP calls, JSON files. */
#pragma once

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <uv.h>

#include "util.h"

static unsigned checks, failures;

#define CHECK(cond)                                                                                \
        do {                                                                                       \
                checks++;                                                                          \
                if (!(cond)) {                                                                     \
                        failures++;                                                                \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
                }                                                                                  \
        } while (0)

#define CHECK_INT(a, b)                                                                            \
        do {                                                                                       \
                long long _a = (long long) (a), _b = (long long) (b);                              \
                checks++;                                                                          \
                if (_a != _b) {                                                                    \
                        failures++;                                                                \
                        fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__,      \
                                __LINE__, #a, _a, #b, _b);                                         \
                }                                                                                  \
        } while (0)

#define CHECK_STR(a, b)                                                                            \
        do {                                                                                       \
                const char *_a = (a), *_b = (b);                                                   \
                checks++;                                                                          \
                if (!streq_ptr(_a, _b)) {                                                          \
                        failures++;                                                                \
                        fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__,        \
                                __LINE__, #a, _a ? _a : "(null)", _b ? _b : "(null)");             \
                }                                                                                  \
        } while (0)

/* Checks that a message contains a piece of text, printing both when it does not. */
#define CHECK_CONTAINS(hay, needle)                                                                \
        do {                                                                                       \
                const char *_h = (hay), *_n = (needle);                                            \
                checks++;                                                                          \
                if (!_h || !strstr(_h, _n)) {                                                      \
                        failures++;                                                                \
                        fprintf(stderr, "%s:%d: %s == \"%s\" does not contain \"%s\"\n", __FILE__, \
                                __LINE__, #hay, _h ? _h : "(null)", _n);                           \
                }                                                                                  \
        } while (0)

/* Runs the loop until *done, failing the test if the loop runs dry first or 60 s pass. */
static inline void run_until(uv_loop_t *loop, const bool *done) {
        int64_t deadline = util_now_ms() + 60000;
        while (!*done) {
                if (uv_run(loop, UV_RUN_ONCE) == 0 && !*done) {
                        failures++;
                        fprintf(stderr, "loop ran dry before the operation finished\n");
                        return;
                }
                if (util_now_ms() > deadline) {
                        failures++;
                        fprintf(stderr, "operation did not finish within 60 s\n");
                        return;
                }
        }
}

/* Lets every handle close after a client was freed. */
static inline void drain(uv_loop_t *loop) {
        for (int i = 0; i < 10; i++)
                uv_run(loop, UV_RUN_NOWAIT);
}

static inline size_t collect(char *data, size_t size, size_t n, void *userdata) {
        char **buf = userdata;
        size_t old = *buf ? strlen(*buf) : 0;
        char *nb = realloc(*buf, old + size * n + 1);
        if (!nb)
                return 0;
        memcpy(nb + old, data, size * n);
        nb[old + size * n] = 0;
        *buf = nb;
        return size * n;
}

/* A blocking HTTP call to a test server's control endpoint; body NULL = GET. Returns the parsed
 * JSON answer, or NULL. */
static inline cJSON *control(const char *url, const char *body) {
        CURL *e = curl_easy_init();
        char *out = NULL;
        long status = 0;
        struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &out);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(e, CURLOPT_TIMEOUT, 30L);
        if (body)
                curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        CURLcode r = curl_easy_perform(e);
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(e);
        curl_slist_free_all(h);
        cJSON *j = r == CURLE_OK && status == 200 && out ? cJSON_Parse(out) : NULL;
        if (!j)
                fprintf(stderr, "control %s: curl %d, HTTP %ld, %s\n", url, r, status, out ? out : "");
        free(out);
        return j;
}

static inline cJSON *read_json_file(const char *path) {
        _cleanup_free_ char *text = NULL;
        if (!path || util_read_file(path, 64 << 20, &text, NULL) < 0)
                return NULL;
        return cJSON_Parse(text);
}

/* A string member by a path of keys ending in NULL, or NULL. */
static inline const char *json_str(const cJSON *j, ...) {
        va_list ap;
        va_start(ap, j);
        for (const char *k; j && (k = va_arg(ap, const char *));)
                j = cJSON_GetObjectItemCaseSensitive(j, k);
        va_end(ap);
        return cJSON_IsString(j) ? j->valuestring : NULL;
}

static inline long json_int(const cJSON *j, const char *key) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
        return cJSON_IsNumber(v) ? (long) v->valuedouble : 0;
}
