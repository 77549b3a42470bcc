/* The installed-extension inventory from `docker extension ls`: its table parsed by the header's columns, and the command run on the loop. */
#include "docker-inventory.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "reference.h"
#include "semver.h"
#include "util.h"

/* Characters (not bytes) up to p: tabwriter pads by characters. */
static size_t char_count(const char *s, const char *p) {
        size_t n = 0;
        for (; s < p; s++)
                n += ((unsigned char) *s & 0xc0) != 0x80;
        return n;
}

/* The byte offset of character index col in line [s, end), or end. */
static const char *at_char(const char *s, const char *end, size_t col) {
        size_t n = 0;
        for (; s < end; s++) {
                if (((unsigned char) *s & 0xc0) != 0x80) {
                        if (n == col)
                                return s;
                        n++;
                }
        }
        return end;
}

/* The cell from character column from up to to (SIZE_MAX: the end), trimmed. */
static char *cell(const char *line, const char *end, size_t from, size_t to) {
        const char *a = at_char(line, end, from);
        const char *b = to == SIZE_MAX ? end : at_char(line, end, to);
        while (a < b && (*a == ' ' || *a == '\t'))
                a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r'))
                b--;
        return strndup(a, (size_t) (b - a));
}

/* The character column where header word name starts, or SIZE_MAX; *ret_next the next word's. */
static size_t header_column(const char *line, const char *end, const char *name, size_t *ret_next) {
        size_t len = strlen(name);
        for (const char *p = line; p + len <= end; p++) {
                if ((p != line && p[-1] != ' ' && p[-1] != '\t') || strncmp(p, name, len) != 0 ||
                    (p + len < end && p[len] != ' ' && p[len] != '\t' && p[len] != '\r'))
                        continue;
                const char *q = p + len;
                while (q < end && (*q == ' ' || *q == '\t'))
                        q++;
                *ret_next = q < end && *q != '\r' ? char_count(line, q) : SIZE_MAX;
                return char_count(line, p);
        }
        return SIZE_MAX;
}

/* Takes what (NULL: out of memory). */
static int add_problem(char ***problems, unsigned line, char *what) {
        _cleanup_free_ char *w = what;
        return w ? util_strv_consume(problems, util_printf("docker extension ls: line %u: %s", line, w)) : -ENOMEM;
}

int docker_inventory_parse(const char *text, char ***ret_pairs, char ***ret_problems) {
        _cleanup_strv_free_ char **pairs = NULL;
        _cleanup_strv_free_ char **problems = NULL;
        size_t id_col = SIZE_MAX, id_end = SIZE_MAX, version_col = SIZE_MAX, version_end = SIZE_MAX;
        unsigned line_no = 0, entries = 0;
        bool header = false;
        int r = 0;

        for (const char *line = text; line && *line && r >= 0;) {
                const char *end = strchrnul(line, '\n');
                line_no++;
                if (!header) {
                        id_col = header_column(line, end, "ID", &id_end);
                        version_col = header_column(line, end, "VERSION", &version_end);
                        header = id_col != SIZE_MAX && version_col != SIZE_MAX;
                        if (!header && end > line)
                                return -EBADMSG;
                } else if (end > line) {
                        _cleanup_free_ char *id = cell(line, end, id_col, id_end);
                        _cleanup_free_ char *version = cell(line, end, version_col, version_end);
                        _cleanup_free_ char *name = NULL;
                        const char *reason = NULL;
                        struct semver v;
                        if (!id || !version)
                                return -ENOMEM;
                        if (!*id && !*version)
                                goto next;
                        if (++entries > DOCKER_INVENTORY_MAX_ENTRIES) {
                                r = add_problem(&problems, line_no,
                                                util_printf("more than %u entries", DOCKER_INVENTORY_MAX_ENTRIES));
                                break;
                        }
                        r = reference_normalize_repository(id, &name, &reason);
                        if (r == -ENOMEM)
                                return r;
                        if (r < 0) {
                                r = add_problem(&problems, line_no,
                                                util_printf("\"%.200s\": %s", id, reason ? reason : "not a repository name"));
                                goto next;
                        }
                        r = semver_parse(version, SEMVER_PARSE_ALLOW_V, &v);
                        if (r == -ENOMEM)
                                return r;
                        if (r < 0) {
                                r = add_problem(&problems, line_no,
                                                util_printf("%s: version \"%.200s\" is not SemVer", name, version));
                                goto next;
                        }
                        semver_done(&v);
                        if (util_strv_contains(pairs, name)) {
                                r = add_problem(&problems, line_no, util_printf("%s listed twice", name));
                                goto next;
                        }
                        r = util_strv_push(&pairs, name);
                        if (r >= 0)
                                r = util_strv_push(&pairs, version);
                }
        next:
                line = *end ? end + 1 : NULL;
        }
        if (r < 0)
                return r;
        if (!header)
                return -EBADMSG;
        if (!pairs && !(pairs = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret_pairs = TAKE_PTR(pairs);
        *ret_problems = TAKE_PTR(problems);
        return 0;
}

struct docker_inventory {
        struct command *command;
        docker_inventory_fn cb;
        void *userdata;
};

static void on_output(int error, int exit_status, const char *out, size_t len, void *userdata) {
        struct docker_inventory *d = userdata;
        _cleanup_free_ char *message = NULL;
        _cleanup_strv_free_ char **pairs = NULL;
        _cleanup_strv_free_ char **problems = NULL;
        int r = error;
        (void) len;
        if (error == -ENOENT)
                message = strdup("docker extension ls: docker is not installed");
        else if (error == -ETIMEDOUT)
                message = util_printf("docker extension ls: no answer within %u s", DOCKER_INVENTORY_TIMEOUT_MS / 1000);
        else if (error == -EFBIG)
                message = util_printf("docker extension ls: more than %u bytes of output", DOCKER_INVENTORY_OUTPUT_MAX);
        else if (error < 0)
                message = util_printf("docker extension ls: %s", strerror(-error));
        else if (exit_status != 0) {
                r = -EIO;
                message = exit_status < 0 ? strdup("docker extension ls: killed by a signal")
                                          : util_printf("docker extension ls: exit status %d", exit_status);
        } else {
                r = docker_inventory_parse(out, &pairs, &problems);
                if (r == -EBADMSG)
                        message = strdup("docker extension ls: no table with ID and VERSION columns in its output");
                else if (r < 0)
                        message = strdup(strerror(-r));
        }
        d->cb(r, message ? message : "docker extension ls: failed", pairs, problems, d->userdata);
        free(d);
}

int docker_inventory_run(uv_loop_t *loop, docker_inventory_fn cb, void *userdata, struct docker_inventory **ret) {
        struct docker_inventory *d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->cb = cb;
        d->userdata = userdata;
        char *const argv[] = { (char *) "docker", (char *) "extension", (char *) "ls", NULL };
        int r = command_run(loop, argv, DOCKER_INVENTORY_TIMEOUT_MS, DOCKER_INVENTORY_OUTPUT_MAX, on_output, d,
                            &d->command);
        if (r < 0) {
                free(d);
                return r;
        }
        *ret = d;
        return 0;
}

void docker_inventory_cancel(struct docker_inventory *d) {
        if (!d)
                return;
        command_cancel(d->command);
        free(d);
}
