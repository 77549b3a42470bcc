/* Token scopes as registries write them ("repository:ns/app:pull,push"): parts and coverage. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define SCOPE_MAX 256u /* single scopes in one list (a token request, a cache entry) */

/* "type:name:actions": type before the first colon, actions after the last (names may not hold
 * a colon, but registry hosts with ports never appear in scopes). Pointers into the string. */
struct scope {
        const char *type, *name, *actions;
        size_t type_len, name_len, actions_len;
};
/* Splits s[0..len); false for an opaque scope (not type:name:actions). */
bool scope_split(const char *s, size_t len, struct scope *ret);
/* The length of the part naming the resource, "type:name:" with its colon (the whole for an
 * opaque scope, which never ends that way): two scopes of one resource differ at most in their
 * actions, and an opaque scope never shares a resource with another. */
size_t scope_resource_len(const char *s, size_t len);
/* Whether the comma-separated actions hold a (or "*"). */
bool scope_action_in(const char *actions, size_t len, const char *a, size_t a_len);
/* Whether one granted scope covers one wanted scope (neither space-separated): same resource and
 * every wanted action granted; opaque scopes only cover themselves. */
bool scope_covers(const char *granted, size_t g_len, const char *wanted, size_t w_len);
/* Whether the granted list covers every space-separated scope in wanted. */
bool scope_list_covers(char *const *granted, const char *wanted);
/* Splits every given (possibly space-separated) scope into single ones, without duplicates, in
 * order. scopes may be NULL. Returns 0 (*ret never NULL), -E2BIG (over SCOPE_MAX) or -ENOMEM. */
int scope_list_normalize(const char *const *scopes, char ***ret);
