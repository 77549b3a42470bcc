/* Shared helpers of the registry integration tests: the loop, small HTTP calls, JSON files, a test configuration. */
#pragma once

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <uv.h>

#include "config.h"
#include "inspect.h"
#include "registry.h"
#include "util.h"

/* Failures these helpers found themselves (a loop that ran dry, a callback that ran twice), for
 * each program to add to the count of its own checks (tests/check.h). */
extern unsigned common_failures;

/* Runs the loop until *done, failing the test if the loop runs dry first or 60 s pass. */
void run_until(uv_loop_t *loop, const bool *done);
/* Lets every handle close after a client was freed. */
void drain(uv_loop_t *loop);
/* A blocking HTTP call to a test server's control endpoint; body NULL = GET. Returns the parsed
 * JSON answer (an object or array), or NULL. */
cJSON *control(const char *url, const char *body);
cJSON *read_json_file(const char *path);
/* A configuration whose one entry maps the registry name to its URL (the test registry's). */
int registry_test_config(const char *registry, const char *registry_url, struct config *ret);
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
        struct inspect_result image;
};
void result_done(struct result *r);
void on_tags(int error, const char *message, struct registry_tags *t, void *userdata);
void on_head(int error, const char *message, struct registry_manifest_info *info, void *userdata);
void on_manifest(int error, const char *message, struct registry_manifest *m, void *userdata);
void on_config(int error, const char *message, struct registry_config *c, void *userdata);
/* Starts inspect_version (no cache) into r, which is done at once when nothing had to be asked. */
int inspect_into(struct registry_client *rc, const char *domain, const char *path, const char *reference,
                 const struct manifest_platform *want, struct result *r);
