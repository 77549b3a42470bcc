/* Notices changes to a set of files by watching their directories, since editors replace files by rename. */
#pragma once

#include <uv.h>

struct watch;

typedef void (*watch_fn)(void *userdata);

/* Watches the directory of every path in paths (NULL-terminated); cb runs from the loop once a burst
 * of changes to any of those files has settled (a few hundred ms). Paths whose directory cannot be
 * watched are skipped. Returns 0 or -ENOMEM. */
int watch_new(uv_loop_t *loop, char *const *paths, watch_fn cb, void *userdata, struct watch **ret);
/* Accepts NULL. */
void watch_free(struct watch *w);
