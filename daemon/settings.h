/* Loads what every mode starts from: the configuration and the allow-list, reporting each problem. */
#pragma once

#include <stdio.h>

#include "allowlist.h"
#include "config.h"

struct settings {
        struct config config;
        char *config_path;   /* the file read, or NULL for built-in defaults */
        struct allowlist allowlist;
        unsigned problems;   /* warnings and allow-list problems printed */
};

/* Reads the config (config_arg, else the default path when that file exists, else defaults)
 * and every allow-list source; prints each warning and problem on diag, naming its source.
 * Returns 0 (settings usable, perhaps with problems), -EINVAL (the config has errors, or no
 * allow-list source could be read; already printed) or -ENOMEM. */
int settings_load(const char *config_arg, FILE *diag, struct settings *ret);
void settings_done(struct settings *s);
