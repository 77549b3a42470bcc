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
        unsigned problems;     /* warnings and allow-list problems reported */
};

struct settings_loader;

/* r is 0 (*loaded usable, perhaps with problems; the callee may move it out, leaving it zeroed),
 * -EINVAL (the config has errors, or no allow-list source could be read) or -ENOMEM. messages
 * (NULL-terminated, or NULL) are every warning and problem in order, each naming its source, the
 * fatal ones starting with "error: ". Both are valid during the call only. */
typedef void (*settings_fn)(int r, struct settings *loaded, char *const *messages, void *userdata);

/* Reads the config (config_arg, else the default path when that file exists, else defaults) and
 * every allow-list file at once, and fetches every allow-list URL on the loop (cached in cache_dir
 * when not NULL, which lets an unreachable URL fall back to its last copy). cb runs once, from the
 * loop, never from inside this call, unless settings_load_cancel comes first. Returns 0 or -ENOMEM. */
int settings_load_start(const char *config_arg, uv_loop_t *loop, const char *cache_dir, settings_fn cb,
                        void *userdata, struct settings_loader **ret);
/* Stops a load; its callback does not run. Accepts NULL. */
void settings_load_cancel(struct settings_loader *l);

/* For one-shot modes that own their loop: settings_load_start, then runs loop until it is done,
 * printing each message on diag. Returns as the callback's r. */
int settings_load(const char *config_arg, uv_loop_t *loop, const char *cache_dir, FILE *diag,
                  struct settings *ret);
void settings_done(struct settings *s);
