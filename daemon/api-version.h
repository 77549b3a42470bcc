/* Which Extension API version this Desktop speaks: the config, else `docker extension version`, else the fallback. */
#pragma once

#include <uv.h>

enum api_version_source {
        API_VERSION_FROM_CONFIG,
        API_VERSION_DETECTED,
        API_VERSION_FALLBACK,
};

/* How long `docker extension version` may take before its process group is killed. */
#define API_VERSION_DETECT_TIMEOUT_MS 5000u

/* version is valid during the call. */
typedef void (*api_version_fn)(const char *version, enum api_version_source source, void *userdata);
struct api_version_detect;

/* The configured version when given; else the "Server API Version" that `docker extension version`
 * prints (run on loop, killed with its process group after API_VERSION_DETECT_TIMEOUT_MS); else
 * CONFIG_FALLBACK_API_VERSION. cb runs once, from the loop, unless cancelled. Returns 0 or -ENOMEM. */
int api_version_detect_start(uv_loop_t *loop, const char *configured, api_version_fn cb, void *userdata,
                             struct api_version_detect **ret);
/* Stops a detection; its callback does not run. Accepts NULL. */
void api_version_detect_cancel(struct api_version_detect *d);

/* api_version_detect_start on a loop of its own, for one-shot modes. Returns 0 or -ENOMEM. */
int api_version_resolve(const char *configured, char **ret_version, enum api_version_source *ret_source);
/* Finds "Server API Version: X" in the command's output: 0, -ENOENT (no such line), -EBADMSG (not SemVer), -ENOMEM. */
int api_version_parse_docker_output(const char *output, char **ret);
/* "from the configuration", "detected with `docker extension version`", "default: …". */
const char *api_version_source_describe(enum api_version_source s);
