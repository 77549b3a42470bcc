/* The installed-extension inventory from `docker extension ls`: its table parsed by the header's columns, and the command run on the loop. */
#pragma once

#include <uv.h>

/* Limits on what the command can make us do or hold. */
#define DOCKER_INVENTORY_TIMEOUT_MS 10000u
#define DOCKER_INVENTORY_OUTPUT_MAX (1u << 20)
#define DOCKER_INVENTORY_MAX_ENTRIES 10000u

/* Parses the table `docker extension ls` prints (aligned by Go's tabwriter):
 *     ID                            PROVIDER     VERSION   UI                    VM         HOST
 *     docker/disk-usage-extension   Docker Inc.  0.2.7     1 tab(Disk usage)     Running(1) -
 * Cells are cut at the header's column positions (counted in characters, as tabwriter aligns them),
 * so a cell may hold spaces. *ret_pairs is { repository (familiar name), version, …, NULL }; a row
 * whose ID is not a repository or whose VERSION is not SemVer is skipped and described in
 * *ret_problems (NULL when none). Returns 0, -EBADMSG (no ID/VERSION header) or -ENOMEM. */
int docker_inventory_parse(const char *text, char ***ret_pairs, char ***ret_problems);

/* error 0: pairs as docker_inventory_parse gives them (problems too, each to be logged);
 * else -errno with message saying why (not installed, exit status, timeout, unreadable table). */
typedef void (*docker_inventory_fn)(int error, const char *message, char *const *pairs, char *const *problems,
                                    void *userdata);
struct docker_inventory;

/* Runs `docker extension ls` on loop; cb runs once from the loop unless cancelled. 0 or -ENOMEM. */
int docker_inventory_run(uv_loop_t *loop, docker_inventory_fn cb, void *userdata, struct docker_inventory **ret);
/* Accepts NULL; cb does not run. */
void docker_inventory_cancel(struct docker_inventory *d);
