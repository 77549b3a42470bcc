/* Fuzz target for lib/config: input is the text of a configuration file. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_config(const struct config *c) {
        if (!c->allowlist || !c->platform || c->interval < CONFIG_MIN_INTERVAL || c->interval > CONFIG_MAX_INTERVAL ||
            c->max_connections < 1 || c->max_connections > CONFIG_MAX_CONNECTIONS ||
            util_strv_length(c->allowlist) > CONFIG_MAX_ALLOWLIST || c->n_registries > CONFIG_MAX_REGISTRIES)
                abort();
        /* The stored platform is normalized: parsing it again changes nothing. */
        char *p = NULL;
        if (config_platform_parse(c->platform, &p) < 0 || !streq(p, c->platform))
                abort();
        free(p);
        for (size_t i = 0; i < c->n_registries; i++) {
                char *url = NULL;
                bool http = false;
                if (config_registry_endpoint(c, c->registries[i].host, &url, &http) < 0)
                        abort();
                /* A plain-HTTP endpoint is always one the configuration allows. */
                if (util_startswith(url, "http://") && !http)
                        abort();
                free(url);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct config c;
        char **warnings = NULL, **errors = NULL;
        int r = config_load_string((const char *) data, size, "fuzz.json", "/base", &c, &warnings, &errors);
        if (r == 0) {
                if (errors)
                        abort();
                check_config(&c);
                config_done(&c);
        } else if (r == -EINVAL && !errors)
                abort();
        if (util_strv_length(warnings) > CONFIG_MAX_MESSAGES || util_strv_length(errors) > CONFIG_MAX_MESSAGES)
                abort();
        util_strv_free(warnings);
        util_strv_free(errors);

        /* The same bytes as a platform string and as a registry host. */
        if (size < 512) {
                char s[512];
                memcpy(s, data, size);
                s[size] = 0;
                char *p = NULL, *again = NULL;
                if (config_platform_parse(s, &p) == 0) {
                        if (config_platform_parse(p, &again) < 0 || !streq(p, again))
                                abort();
                        free(again);
                        free(p);
                }
                char *url = NULL;
                bool http;
                if (config_registry_endpoint(NULL, s, &url, &http) == 0) {
                        if (http != config_host_is_loopback(s))
                                abort();
                        free(url);
                }
        }
        return 0;
}
