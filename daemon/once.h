/* `extupdated --once`: one scan of the allow-list, a report on stdout, an exit status. */
#pragma once

#include <stdbool.h>

struct once_options {
        const char *config;
        const char *state_dir;
        const char *installed;
        bool json;
};

/* Returns the process exit status: 0 all scanned, 2 some repository failed, 1 fatal (printed). */
int once_run(const struct once_options *o);
/* `--check-config`: 0 clean, 1 when anything was reported. */
int once_check_config(const char *config);
