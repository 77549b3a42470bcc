/* The extension allow-list: line parsing, diagnostics with file and line, de-duplication across sources. */
#include "allowlist.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "text.h"
#include "util.h"

/* How much of an offending line a message quotes. */
#define QUOTE_MAX 100u
#define REFERENCE_FORMAT_PREFIX "invalid reference format"

void allowlist_init(struct allowlist *l) {
        *l = (struct allowlist) {};
}

static void entry_done(struct allowlist_entry *e) {
        reference_done(&e->ref);
        free(e->repository);
        free(e->pinned);
        free(e->source);
}

void allowlist_done(struct allowlist *l) {
        if (!l)
                return;
        for (size_t i = 0; i < l->n; i++)
                entry_done(&l->entries[i]);
        free(l->entries);
        util_strv_free(l->problems);
        free(l->problem_warning);
        free(l->index);
        allowlist_init(l);
}

/* An offending line as a message shows it. */
static char *quote(const char *s, size_t n) {
        return text_quote(s, n, QUOTE_MAX);
}

static int add_finding(struct allowlist *l, bool warning, const char *source, const char *fmt, va_list ap)
        _printf_(4, 0);
static int add_finding(struct allowlist *l, bool warning, const char *source, const char *fmt, va_list ap) {
        if (l->n_problems > ALLOWLIST_PROBLEMS_MAX)
                return 0;
        char *msg;
        if (l->n_problems == ALLOWLIST_PROBLEMS_MAX) {
                msg = util_printf("%s: too many problems, not reporting more", source);
                warning = false;
        } else if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        bool *w = realloc(l->problem_warning, (l->n_problems + 1) * sizeof(bool));
        if (!w) {
                free(msg);
                return -ENOMEM;
        }
        l->problem_warning = w;
        int r = util_strv_consume(&l->problems, msg);
        if (r < 0)
                return r;
        l->problem_warning[l->n_problems++] = warning;
        return 0;
}

/* A line skipped, or a source cut short: what the author meant is not what will be scanned. */
static int add_problem(struct allowlist *l, const char *source, const char *fmt, ...) _printf_(3, 4);
static int add_problem(struct allowlist *l, const char *source, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int r = add_finding(l, false, source, fmt, ap);
        va_end(ap);
        return r;
}

/* Harmless as it stands (a repeated line), or kept though it will not do what it seems to. */
static int add_warning(struct allowlist *l, const char *source, const char *fmt, ...) _printf_(3, 4);
static int add_warning(struct allowlist *l, const char *source, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int r = add_finding(l, true, source, fmt, ap);
        va_end(ap);
        return r;
}

bool allowlist_problem_is_warning(const struct allowlist *l, size_t i) {
        return i < l->n_problems && l->problem_warning[i];
}

/* FNV-1a: the keys are short names, and there are at most ALLOWLIST_ENTRIES_MAX of them. */
static size_t hash_name(const char *s) {
        uint64_t h = 0xcbf29ce484222325u;
        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * 0x100000001b3u;
        return (size_t) h;
}

/* Index slots hold entry number + 1; 0 is free. Size is a power of two, at most half full. */
static const struct allowlist_entry *index_lookup(const struct allowlist *l, const char *repository) {
        if (l->index_size == 0)
                return NULL;
        for (size_t i = hash_name(repository) & (l->index_size - 1);; i = (i + 1) & (l->index_size - 1)) {
                if (l->index[i] == 0)
                        return NULL;
                const struct allowlist_entry *e = &l->entries[l->index[i] - 1];
                if (streq(e->repository, repository))
                        return e;
        }
}

static void index_insert(size_t *index, size_t size, const char *repository, size_t entry) {
        size_t i = hash_name(repository) & (size - 1);
        while (index[i] != 0)
                i = (i + 1) & (size - 1);
        index[i] = entry + 1;
}

/* Makes room for one more entry in both the array and the index. */
static int reserve(struct allowlist *l) {
        if (l->n == l->n_allocated) {
                size_t cap = l->n_allocated ? l->n_allocated * 2 : 16;
                struct allowlist_entry *e = realloc(l->entries, cap * sizeof(*e));
                if (!e)
                        return -ENOMEM;
                l->entries = e;
                l->n_allocated = cap;
        }
        if ((l->n + 1) * 2 > l->index_size) {
                size_t size = l->index_size ? l->index_size * 2 : 32;
                size_t *index = calloc(size, sizeof(size_t));
                if (!index)
                        return -ENOMEM;
                for (size_t i = 0; i < l->n; i++)
                        index_insert(index, size, l->entries[i].repository, i);
                free(l->index);
                l->index = index;
                l->index_size = size;
        }
        return 0;
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static bool has_upper(const char *s) {
        for (; *s; s++)
                if (*s >= 'A' && *s <= 'Z')
                        return true;
        return false;
}

enum { LINE_OK, LINE_STOP };

/* What a source held: lines other than blanks and comments, and those of them naming a repository
 * (listed or a duplicate), so a source of nothing but invalid lines can be told from an empty one. */
struct line_counts {
        unsigned content, references;
};

/* Handles one line; returns LINE_OK, LINE_STOP once the entry limit is reached, or -ENOMEM. */
static int add_line(struct allowlist *l, const char *source, unsigned line, const char *p, size_t n,
                    struct line_counts *counts) {
        /* A comment may be as long as its author likes: only entries have a length limit. */
        size_t lead = 0;
        while (lead < n && is_blank(p[lead]))
                lead++;
        if (lead == n || p[lead] == '#')
                return LINE_OK;
        counts->content++;
        if (n > ALLOWLIST_LINE_MAX)
                return add_problem(l, source, "%s:%u: line too long (more than %u bytes)", source, line,
                                   ALLOWLIST_LINE_MAX);
        if (memchr(p, 0, n) || !text_utf8_valid(p, n)) {
                _cleanup_free_ char *q = quote(p, n);
                if (!q)
                        return -ENOMEM;
                return add_problem(l, source, "%s:%u: %s: %s", source, line,
                                   memchr(p, 0, n) ? "line contains a NUL byte" : "line is not valid UTF-8", q);
        }

        const char *comment = memchr(p, '#', n);
        if (comment)
                n = (size_t) (comment - p);
        while (n > 0 && is_blank(p[0]))
                p++, n--;
        while (n > 0 && is_blank(p[n - 1]))
                n--;
        if (n == 0)
                return LINE_OK;

        _cleanup_free_ char *text = strndup(p, n);
        if (!text)
                return -ENOMEM;
        /* Quoted only for a message: most lines need none. */
        _cleanup_free_ char *q = NULL;

        _cleanup_(reference_done) struct reference ref = {};
        const char *error = NULL;
        int r = reference_parse(text, &ref, &error);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                q = quote(p, n);
                if (!q)
                        return -ENOMEM;
                const char *detail = util_startswith(error, REFERENCE_FORMAT_PREFIX);
                if (!detail)
                        detail = error;
                else if (*detail == ':')
                        detail += strspn(detail, ": ");
                return add_problem(l, source, "%s:%u: invalid reference %s%s%s", source, line, q,
                                   *detail ? ": " : "", detail);
        }
        _cleanup_free_ char *repository = reference_familiar_name(&ref);
        if (!repository)
                return -ENOMEM;

        if (ref.digest || has_upper(ref.domain)) {
                q = quote(p, n);
                if (!q)
                        return -ENOMEM;
        }
        if (ref.digest)
                return add_problem(l, source,
                                   "%s:%u: digest reference %s is not allowed, pin a version with a tag "
                                   "instead (%s:TAG)",
                                   source, line, q, repository);
        /* Docker keeps a registry host's case, but the same host spelled twice must not become two
         * repositories, and an upper-case first component ("Docker/x") is almost always a typo. */
        if (has_upper(ref.domain))
                return add_problem(l, source, "%s:%u: invalid reference %s: registry host \"%s\" must be lowercase",
                                   source, line, q, ref.domain);

        counts->references++;
        const struct allowlist_entry *first = index_lookup(l, repository);
        if (first) {
                _cleanup_free_ char *where = streq(first->source, source) ? util_printf("line %u", first->line)
                                                                          : util_printf("%s:%u", first->source,
                                                                                        first->line);
                if (!where)
                        return -ENOMEM;
                if (streq_ptr(first->pinned, ref.tag))
                        return add_warning(l, source, "%s:%u: duplicate of %s", source, line, where);
                q = quote(p, n);
                if (!q)
                        return -ENOMEM;
                return add_problem(l, source, "%s:%u: %s conflicts with %s (%s%s%s), keeping %s", source, line,
                                   q, where, first->repository, first->pinned ? ":" : ", unpinned",
                                   first->pinned ?: "", where);
        }
        if (l->n >= ALLOWLIST_ENTRIES_MAX) {
                r = add_problem(l, source, "%s:%u: too many entries (more than %u), ignoring the rest of %s", source,
                                line, ALLOWLIST_ENTRIES_MAX, source);
                return r < 0 ? r : LINE_STOP;
        }

        r = reserve(l);
        if (r < 0)
                return r;
        struct allowlist_entry e = {
                .pinned = ref.tag ? strdup(ref.tag) : NULL,
                .source = strdup(source),
                .line = line,
        };
        if ((ref.tag && !e.pinned) || !e.source) {
                entry_done(&e);
                return -ENOMEM;
        }
        e.ref = ref;
        ref = (struct reference) {};
        e.repository = TAKE_PTR(repository);
        l->entries[l->n] = e;
        index_insert(l->index, l->index_size, e.repository, l->n);
        l->n++;
        return LINE_OK;
}

static void set_error(char **ret_error, const char *fmt, ...) _printf_(2, 3);
static void set_error(char **ret_error, const char *fmt, ...) {
        if (!ret_error)
                return;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(ret_error, fmt, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
}

int allowlist_add_text(struct allowlist *l, const char *source, const char *text, size_t len, char **ret_error) {
        if (len > ALLOWLIST_SOURCE_MAX) {
                set_error(ret_error, "%s: allow-list is larger than %u MiB", source, ALLOWLIST_SOURCE_MAX >> 20);
                return -EFBIG;
        }
        const char *p = text, *end = text + len;
        if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
                p += 3;
        struct line_counts counts = {};
        for (unsigned line = 1; p < end; line++) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                const char *line_end = nl ? nl : end;
                int r = add_line(l, source, line, p, (size_t) (line_end - p), &counts);
                if (r < 0) {
                        set_error(ret_error, "%s: out of memory", source);
                        return r;
                }
                if (r == LINE_STOP)
                        break;
                p = nl ? nl + 1 : end;
        }
        if (counts.content > 0 && counts.references == 0) {
                set_error(ret_error, "%s: no valid allow-list entry (%u line%s, none a repository)", source,
                          counts.content, counts.content == 1 ? "" : "s");
                return -EBADMSG;
        }
        return 0;
}

int allowlist_add_file(struct allowlist *l, const char *path, char **ret_error) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int r = util_read_file(path, ALLOWLIST_SOURCE_MAX, &buf, &len);
        if (r == -EFBIG) {
                set_error(ret_error, "%s: allow-list is larger than %u MiB", path, ALLOWLIST_SOURCE_MAX >> 20);
                return r;
        }
        if (r < 0) {
                set_error(ret_error, "%s: cannot read allow-list: %s", path,
                          util_read_file_strerror(r));
                return r;
        }
        return allowlist_add_text(l, path, buf, len, ret_error);
}

int allowlist_parse(const char *source, const char *text, size_t len, struct allowlist *ret, char **ret_error) {
        struct allowlist l;
        allowlist_init(&l);
        int r = allowlist_add_text(&l, source, text, len, ret_error);
        if (r < 0) {
                allowlist_done(&l);
                return r;
        }
        *ret = l;
        return 0;
}

int allowlist_load_file(const char *path, struct allowlist *ret, char **ret_error) {
        struct allowlist l;
        allowlist_init(&l);
        int r = allowlist_add_file(&l, path, ret_error);
        if (r < 0) {
                allowlist_done(&l);
                return r;
        }
        *ret = l;
        return 0;
}

const struct allowlist_entry *allowlist_find(const struct allowlist *l, const char *repository) {
        _cleanup_free_ char *name = NULL;
        if (reference_normalize_repository(repository, &name, NULL) < 0)
                return NULL;
        return index_lookup(l, name);
}
