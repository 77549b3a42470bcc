/* Loads what every mode starts from: the configuration and the allow-list, reporting each problem. */
#pragma once

#include <stdio.h>
#include <uv.h>

#include "allowlist.h"
#include "config.h"

struct settings {
        struct config config;
        char *config_path;    /* the file read, or NULL for built-in defaults */
        struct allowlist allowlist;
        unsigned sources_read; /* allow-list sources that could be used */
        unsigned problems;     /* warnings and allow-list problems printed */
        unsigned errors;       /* of those, the errors: something written will not be scanned */
};

/* Reads the config (config_arg, else the default path when that file exists, else defaults),
 * every allow-list file, and every allow-list URL (on loop; cached in cache_dir when not NULL,
 * which lets an unreachable URL fall back to its last copy). Prints each warning and problem on
 * diag, naming its source. Returns 0 (settings usable, perhaps with problems), -EINVAL (the
 * config has errors, or no allow-list source could be read; already printed) or -ENOMEM. */
int settings_load(const char *config_arg, uv_loop_t *loop, const char *cache_dir, FILE *diag,
                  struct settings *ret);
void settings_done(struct settings *s);
