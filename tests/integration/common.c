/* Shared helpers of the registry integration tests: the loop, small HTTP calls, JSON files, a test configuration. */
#include "common.h"

#include <errno.h>
#include <stdarg.h>

unsigned common_failures;

void run_until(uv_loop_t *loop, const bool *done) {
        int64_t deadline = util_now_ms() + 60000;
        while (!*done) {
                if (uv_run(loop, UV_RUN_ONCE) == 0 && !*done) {
                        common_failures++;
                        fprintf(stderr, "loop ran dry before the operation finished\n");
                        return;
                }
                if (util_now_ms() > deadline) {
                        common_failures++;
                        fprintf(stderr, "operation did not finish within 60 s\n");
                        return;
                }
        }
}

void drain(uv_loop_t *loop) {
        for (int i = 0; i < 10; i++)
                uv_run(loop, UV_RUN_NOWAIT);
}

static size_t collect(char *data, size_t size, size_t n, void *userdata) {
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

cJSON *control(const char *url, const char *body) {
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

cJSON *read_json_file(const char *path) {
        _cleanup_free_ char *text = NULL;
        if (!path || util_read_file(path, 64 << 20, &text, NULL) < 0)
                return NULL;
        return cJSON_Parse(text);
}

const char *json_str(const cJSON *j, ...) {
        va_list ap;
        va_start(ap, j);
        for (const char *k; j && (k = va_arg(ap, const char *));)
                j = cJSON_GetObjectItemCaseSensitive(j, k);
        va_end(ap);
        return cJSON_IsString(j) ? j->valuestring : NULL;
}

long json_int(const cJSON *j, const char *key) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
        return cJSON_IsNumber(v) ? (long) v->valuedouble : 0;
}

void result_done(struct result *r) {
        free(r->message);
        util_strv_free(r->tags);
        free(r->info.digest);
        free(r->info.media_type);
        free(r->manifest.digest);
        manifest_free(r->manifest.manifest);
        free(r->manifest.body);
        free(r->config.digest);
        manifest_image_config_free(r->config.config);
        inspect_result_done(&r->image);
        *r = (struct result) {};
}

static void finish(struct result *r, int error, const char *message) {
        if (r->done) {
                common_failures++;
                fprintf(stderr, "callback ran twice\n");
        }
        r->done = true;
        r->error = error;
        r->message = message ? strdup(message) : NULL;
}

void on_tags(int error, const char *message, struct registry_tags *t, void *userdata) {
        struct result *r = userdata;
        finish(r, error, message);
        if (t) {
                r->tags = TAKE_PTR(t->tags);
                r->n_tags = t->n_tags;
                r->pages = t->pages;
        }
}

void on_head(int error, const char *message, struct registry_manifest_info *info, void *userdata) {
        struct result *r = userdata;
        finish(r, error, message);
        if (info) {
                r->info = *info;
                info->digest = info->media_type = NULL;
        }
}

void on_manifest(int error, const char *message, struct registry_manifest *m, void *userdata) {
        struct result *r = userdata;
        finish(r, error, message);
        if (m) {
                r->manifest = *m;
                *m = (struct registry_manifest) {};
        }
}

void on_config(int error, const char *message, struct registry_config *c, void *userdata) {
        struct result *r = userdata;
        finish(r, error, message);
        if (c) {
                r->config = *c;
                *c = (struct registry_config) {};
        }
}

static void on_inspected(struct inspect_result *res, void *userdata) {
        struct result *r = userdata;
        finish(r, res->error, res->message);
        if (!res->error) {
                r->image = *res;
                *res = (struct inspect_result) {};
        }
}

int inspect_into(struct registry_client *rc, const char *domain, const char *path, const char *reference,
                 const struct manifest_platform *want, struct result *r) {
        struct inspect_options o = {.platform = want};
        struct inspect_result res = {};
        int k = inspect_version(rc, domain, path, reference, &o, on_inspected, r, &res);
        if (k > 0) {
                on_inspected(&res, r);
                inspect_result_done(&res);
        }
        return k < 0 ? k : 0;
}

int registry_test_config(const char *registry, const char *registry_url, struct config *ret) {
        _cleanup_free_ char *text = util_printf("{\"registries\": {\"%s\": {\"url\": \"%s\"}}}", registry,
                                                registry_url);
        if (!text)
                return -ENOMEM;
        char **warnings = NULL, **errors = NULL;
        int r = config_load_string(text, strlen(text), "test", NULL, ret, &warnings, &errors);
        util_strv_free(warnings);
        util_strv_free(errors);
        return r;
}
