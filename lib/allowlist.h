/* The extension allow-list: Docker Desktop's private-marketplace extensions.txt format, from files or buffers. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "reference.h"

/* Limits on what one allow-list (all its sources together) can make us hold. */
#define ALLOWLIST_SOURCE_MAX (4u << 20) /* bytes in one source */
#define ALLOWLIST_LINE_MAX 4096u        /* bytes in one line, without the newline */
#define ALLOWLIST_ENTRIES_MAX 10000u
#define ALLOWLIST_PROBLEMS_MAX 1000u /* after that, one last line says the rest went unreported */

struct allowlist_entry {
        struct reference ref; /* never carries a digest */
        char *repository;     /* Docker's familiar name: "docker/disk-usage-extension", "ghcr.io/org/x" */
        char *pinned;         /* the tag that pins the version (a copy of ref.tag), or NULL */
        char *source;         /* the file path or URL the entry came from */
        unsigned line;
};

/* Entries in the order first seen, one per repository. problems is a NULL-terminated list of
 * "SOURCE:LINE: message" lines (or NULL when there are none), in the order found. */
struct allowlist {
        struct allowlist_entry *entries;
        size_t n;
        char **problems;

        /* Private: the array's capacity, a hash index from repository to entry, and the count
         * behind the problem limit. */
        size_t n_allocated;
        bool *problem_warning; /* per problem, see allowlist_problem_is_warning */
        size_t *index;
        size_t index_size;
        size_t n_problems;
};

void allowlist_init(struct allowlist *l);
void allowlist_done(struct allowlist *l);

/* Adds the entries of one source to l. Format, one entry a line: [REGISTRY/]NAMESPACE/REPOSITORY[:TAG]
 * (a bare NAME is a Docker Hub official image); '#' starts a comment anywhere on a line; blank
 * lines and surrounding blanks are ignored; a leading UTF-8 byte-order mark is skipped. Lines that
 * are invalid (bad reference, digest, over-long line, NUL byte, invalid UTF-8) and repositories
 * already listed (in this or an earlier source) are added to l->problems as
 * "SOURCE:LINE: message" and skipped; the first entry for a repository wins.
 * Returns 0 (even with problems), or, when the source as a whole cannot be used, -EFBIG (larger
 * than ALLOWLIST_SOURCE_MAX; nothing is added), -EBADMSG (lines other than comments, and not one
 * of them a repository: an HTML page, say; their problems are in l->problems) or -ENOMEM (l stays
 * valid but may hold part of the source). A source of only comments and blanks is empty, not bad. On error *ret_error, when ret_error is non-NULL, gets an allocated message naming the
 * source, or NULL if even that could not be allocated. */
int allowlist_add_text(struct allowlist *l, const char *source, const char *text, size_t len, char **ret_error);

/* allowlist_add_text on the contents of the file at path, named by path in messages. Also fails
 * with the -errno of opening or reading it, and -EISDIR or -ENOTSUP for a directory or another
 * non-regular file; the message reads "PATH: cannot read allow-list: REASON". */
int allowlist_add_file(struct allowlist *l, const char *path, char **ret_error);

/* A fresh allow-list from one buffer or one file; *ret is written only on success and must be
 * released with allowlist_done. */
int allowlist_parse(const char *source, const char *text, size_t len, struct allowlist *ret, char **ret_error);
int allowlist_load_file(const char *path, struct allowlist *ret, char **ret_error);

/* Whether problems[i] is a warning: harmless as it stands (a repeated line). The others are
 * errors: what the author wrote is not what will be scanned. */
bool allowlist_problem_is_warning(const struct allowlist *l, size_t i);

/* The entry for a repository in any spelling reference_parse_repository accepts ("ubuntu",
 * "docker.io/library/ubuntu"), or NULL when it is not listed or not a valid name. */
const struct allowlist_entry *allowlist_find(const struct allowlist *l, const char *repository);
