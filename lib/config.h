/* The configuration file (CONTRACT §2), its defaults, the XDG locations and platform strings. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define CONFIG_DEFAULT_ALLOWLIST EXTUPDATED_PKGDATADIR "/extensions.txt"
/* The Extension API version assumed when none is configured and none can be detected. */
#define CONFIG_FALLBACK_API_VERSION "0.3.4"
#define CONFIG_DEFAULT_INTERVAL 21600u
#define CONFIG_MIN_INTERVAL 60u
#define CONFIG_MAX_INTERVAL (30u * 86400u)
#define CONFIG_DEFAULT_MAX_CONNECTIONS 8u
#define CONFIG_MAX_CONNECTIONS 64u
#define CONFIG_DEFAULT_REPOSITORY_TIMEOUT 60u
#define CONFIG_MAX_REPOSITORY_TIMEOUT 3600u
#define CONFIG_DEFAULT_MAX_INSPECTED 32u
#define CONFIG_MAX_INSPECTED 100000u /* as many as a repository may have tags */

/* Limits on what a configuration file can make us hold. */
#define CONFIG_MAX_FILE_SIZE (1u << 20)
#define CONFIG_MAX_ALLOWLIST 256u  /* allow-list sources */
#define CONFIG_MAX_REGISTRIES 256u /* entries of "registries" */
#define CONFIG_MAX_STRING 4096u    /* any string value, in bytes */
#define CONFIG_MAX_MESSAGES 100u   /* warnings, and errors, reported per load (the last says so) */

struct config_registry {
        char *host;    /* as in references, lowercase: "docker.io", "ghcr.io", "127.0.0.1:5000" */
        char *url;     /* "scheme://host[:port]" replacing the default endpoint, or NULL */
        bool insecure; /* plain HTTP allowed for this registry; never skips TLS verification */
        char *ca_file; /* PEM file of CA certificates to verify it (and its token realm) with: a
                          private CA; relative paths are resolved against the config file's
                          directory; NULL = the system's CAs */
};

/* Where the installed-extension inventory comes from (CONTRACT §2 "installed_source"). */
enum config_installed_source {
        CONFIG_INSTALLED_AUTO,   /* "docker" when `docker extension ls` works, else "api" */
        CONFIG_INSTALLED_DOCKER, /* `docker extension ls` before each scan; API writes refused */
        CONFIG_INSTALLED_API,    /* what --installed, the API and D-Bus set */
};

/* What the service logs, most severe first. */
enum config_log_level {
        CONFIG_LOG_ERROR,
        CONFIG_LOG_WARNING,
        CONFIG_LOG_INFO,
        CONFIG_LOG_DEBUG,
};

struct config {
        char **allowlist;            /* file paths (relative ones resolved against the config file's
                                        directory) and http(s) URLs; never NULL, may be empty */
        char *extension_api_version; /* a valid SemVer version, or NULL: detect (else
                                        CONFIG_FALLBACK_API_VERSION) */
        char *desktop_version;       /* informational, or NULL */
        char *platform;              /* normalized "os/arch[/variant]" (see config_platform_parse) */
        unsigned interval;           /* seconds between scans, CONFIG_MIN_INTERVAL..CONFIG_MAX_INTERVAL */
        bool include_prerelease;
        bool notifications;
        unsigned max_connections; /* 1..CONFIG_MAX_CONNECTIONS */
        unsigned repository_timeout; /* seconds one repository's walk may take, 1..CONFIG_MAX_REPOSITORY_TIMEOUT */
        bool scan_on_metered;     /* scheduled scans run on a metered connection too */
        enum config_installed_source installed_source;
        enum config_log_level log_level;
        unsigned max_inspected_versions; /* per repository and scan, 1..CONFIG_MAX_INSPECTED */
        struct config_registry *registries;
        size_t n_registries;
};

/* The built-in defaults: the packaged allow-list, the host's platform, 21600 s, 8 connections,
 * 60 s per repository, notifications on, pre-releases off, no registries, inventory "auto", log level
 * "info". Returns 0 or -ENOMEM. */
int config_init_defaults(struct config *ret);
void config_done(struct config *c);

/* Parses a configuration from text (len bytes). Keys absent from it keep their defaults. Every
 * message starts with "NAME: " (or "NAME:LINE:COLUMN: " for JSON syntax errors): unknown keys and
 * duplicate keys are warnings naming the key; a wrong type or value is an error naming the key
 * and what is expected. All problems are collected, not just the first. Relative allow-list paths
 * are resolved against base_dir when it is not NULL.
 *
 * Unlike most functions here, *ret_warnings and *ret_errors (each optional) are set on every
 * return: a NULL-terminated list, or NULL when there is nothing to say. Returns 0 (*ret set),
 * -EINVAL (there were errors; *ret untouched) or -ENOMEM. */
int config_load_string(const char *text, size_t len, const char *name, const char *base_dir, struct config *ret,
                       char ***ret_warnings, char ***ret_errors);

/* config_load_string on the file at path (at most CONFIG_MAX_FILE_SIZE bytes), named by its path,
 * relative allow-list paths resolved against its directory. A file that cannot be read returns its
 * -errno (-ENOENT when it does not exist, -EFBIG when it is too large) with one error message. */
int config_load_file(const char *path, struct config *ret, char ***ret_warnings, char ***ret_errors);

/* "auto", "docker", "api"; "error", "warning", "info", "debug". */
const char *config_installed_source_name(enum config_installed_source s);
const char *config_log_level_name(enum config_log_level l);

/* $XDG_CONFIG_HOME/extupdated/config.json, else ~/.config/extupdated/config.json. Relative XDG
 * values are ignored, as the XDG specification says. Returns 0, -ENOENT (no home) or -ENOMEM. */
int config_default_path(char **ret);
/* $XDG_STATE_HOME/extupdated, else ~/.local/state/extupdated. */
int config_default_state_dir(char **ret);
/* A copy of dir (--state-dir) when given, else config_default_state_dir(). Returns 0, -ENOENT
 * (neither, no home) or -ENOMEM. */
int config_state_dir(const char *dir, char **ret);
/* $XDG_RUNTIME_DIR/extupdated/api.sock; -ENXIO when XDG_RUNTIME_DIR is unset or relative. */
int config_default_socket_path(char **ret);

/* The base URL (no trailing slash) to reach the registry named host (as written in a reference,
 * any case; "index.docker.io" means "docker.io"): its configured url, else
 * "https://registry-1.docker.io" for docker.io and "https://HOST" for others. *ret_allow_http says
 * whether plain HTTP may be used with it (the endpoint itself, a fallback, a token realm): the
 * registry is configured insecure or its endpoint host is a loopback address.
 * Returns 0, -EINVAL (not a registry host) or -ENOMEM. */
int config_registry_endpoint(const struct config *c, const char *host, char **ret_url, bool *ret_allow_http);

/* The configured ca_file of the registry named host (same spellings as above), or NULL. */
const char *config_registry_ca_file(const struct config *c, const char *host);

/* True for "localhost", 127.0.0.0/8 and ::1 (and IPv4-mapped ::ffff:127.x.y.z); host may carry a
 * ":port" and IPv6 brackets. */
bool config_host_is_loopback(const char *host);

/* Platform strings as Docker writes them. Normalization follows containerd's: lowercase;
 * x86_64/x86-64 → amd64; aarch64 → arm64, whose variant v8 is dropped; i386 → 386; armhf → arm/v7,
 * armel → arm/v6, arm without a variant → arm/v7; macos → darwin. Two platforms are the same when
 * their normalized strings are equal. Each returns 0, -EINVAL or -ENOMEM. */
int config_platform_normalize(const char *os, const char *arch, const char *variant, char **ret);
/* Parses "os/arch[/variant]" into its normalized form. */
int config_platform_parse(const char *s, char **ret);
/* The platform this program was built for, normalized: "linux/amd64", "linux/arm64", "linux/arm/v7"… */
int config_platform_host(char **ret);
