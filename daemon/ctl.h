/* What every extupdatectl command is given: the global options parsed before the command word. */
#pragma once

#include <stdbool.h>

struct ctl_options {
        const char *socket_path; /* --socket PATH, NULL for the default */
        bool json;               /* --json: print JSON instead of text */
};
