/* Shared helpers of the registry integration tests: checks, running the loop, small HTTP calls, JSON files. */
#pragma once

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <uv.h>

#include "registry.h"
#include "util.h"

extern unsigned checks, failures;

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
void run_until(uv_loop_t *loop, const bool *done);
/* Lets every handle close after a client was freed. */
void drain(uv_loop_t *loop);
/* A blocking HTTP call to a test server's control endpoint; body NULL = GET. Returns the parsed
 * JSON answer (an object or array), or NULL. */
cJSON *control(const char *url, const char *body);
cJSON *read_json_file(const char *path);
/* A string member by a path of keys ending in NULL, or NULL. */
const char *json_str(const cJSON *j, ...);
long json_int(const cJSON *j, const char *key);

/* What an operation's callback delivered; the on_* callbacks fill it, taking the results. */
struct result {
        bool done;
        int error;
        char *message;
        char **tags;
        size_t n_tags;
        unsigned pages;
        struct registry_manifest_info info;
        struct registry_manifest manifest;
        struct registry_config config;
        struct registry_image image;
};
void result_done(struct result *r);
void on_tags(int error, const char *message, struct registry_tags *t, void *userdata);
void on_head(int error, const char *message, struct registry_manifest_info *info, void *userdata);
void on_manifest(int error, const char *message, struct registry_manifest *m, void *userdata);
void on_config(int error, const char *message, struct registry_config *c, void *userdata);
void on_image(int error, const char *message, struct registry_image *img, void *userdata);
