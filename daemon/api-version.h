/* Which Extension API version this Desktop speaks: the config, else `docker extension version`, else the fallback. */
#pragma once

enum api_version_source {
        API_VERSION_FROM_CONFIG,
        API_VERSION_DETECTED,
        API_VERSION_FALLBACK,
};

/* The configured version when given; else the "Server API Version" that `docker extension
 * version` prints (5 s at most); else CONFIG_FALLBACK_API_VERSION. Returns 0 or -ENOMEM. */
int api_version_resolve(const char *configured, char **ret_version, enum api_version_source *ret_source);
/* Finds "Server API Version: X" in the command's output: 0, -ENOENT (no such line), -EBADMSG (not SemVer), -ENOMEM. */
int api_version_parse_docker_output(const char *output, char **ret);
/* "from the configuration", "detected with `docker extension version`", "default: …". */
const char *api_version_source_describe(enum api_version_source s);
