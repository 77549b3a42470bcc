/* The API's requests as data: which endpoint a method and path name, and what a body says; no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Bodies larger than this are refused with 413 before they are read. */
#define API_BODY_MAX (64u * 1024u)

enum api_endpoint {
        API_STATUS,
        API_EXTENSIONS,
        API_EXTENSION,       /* repository */
        API_UPDATES,
        API_SCAN,
        API_EVENTS,
        API_INSTALLED,       /* GET the inventory, PUT a whole new one */
        API_INSTALLED_ONE,   /* repository */
};

enum api_method {
        API_GET,
        API_PUT,
        API_POST,
        API_DELETE,
};

struct api_route {
        enum api_endpoint endpoint;
        enum api_method method;
        const char *repository; /* points into the path given; NULL when the endpoint has none */
};

/* An answer the router gives by itself: an HTTP status, the Allow header for 405, and a message. */
struct api_refusal {
        unsigned status;
        const char *allow;  /* static; 405 only */
        char *message;      /* malloc'd */
};

void api_refusal_done(struct api_refusal *r);

/* Maps a method and an (already percent-decoded) path to an endpoint. Returns 0, or -EINVAL with
 * *ret_refusal set: 404 for an unknown path, 405 (with Allow) for a method the path does not take,
 * 400 for an empty or malformed repository name. -ENOMEM. */
int api_route(const char *method, const char *path, struct api_route *ret, struct api_refusal *ret_refusal);

/* Whether a request body of this Content-Type (NULL when absent) is JSON: application/json or any
 * +json type, parameters allowed. */
bool api_content_type_is_json(const char *content_type);

/* `{"version": "1.2.3"}`: the version (a SemVer, one leading 'v' allowed), malloc'd. -EINVAL with a
 * 400 refusal for bad JSON, a wrong shape or an invalid version; -ENOMEM. */
int api_parse_version_body(const char *body, size_t len, char **ret_version, struct api_refusal *ret_refusal);

/* `{"repository": "version", …}`: a NULL-terminated strv of pairs as store_installed_replace takes.
 * -EINVAL with a 400 refusal naming the bad entry; -ENOMEM. */
int api_parse_inventory_body(const char *body, size_t len, char ***ret_pairs, struct api_refusal *ret_refusal);
