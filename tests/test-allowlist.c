/* Unit tests for lib/allowlist: the extensions.txt format, exact diagnostics, duplicates, limits, the shipped list. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "allowlist.h"
#include "util.h"
#include "check.h"

/* Compares the whole problem list with the expected one, line by line. */
static void check_problems(const char *what, const struct allowlist *l, const char *const *want) {
        size_t n_want = 0;
        while (want[n_want])
                n_want++;
        size_t n_got = util_strv_length(l->problems);
        check_context = what;
        for (size_t i = 0; i < n_got || i < n_want; i++)
                CHECK_STR(i < n_got ? l->problems[i] : NULL, i < n_want ? want[i] : NULL);
        check_context = NULL;
}

static int parse_str(const char *source, const char *text, struct allowlist *ret) {
        char *error = NULL;
        int r = allowlist_parse(source, text, strlen(text), ret, &error);
        if (r < 0)
                fprintf(stderr, "allowlist_parse: %s\n", error ? error : "(no message)");
        free(error);
        return r;
}

static void test_contract_example(void) {
        /* CONTRACT §1: the diagnostic for an invalid line 19. */
        _cleanup_free_ char *text = NULL;
        {
                char buf[2048] = "";
                for (int i = 1; i < 19; i++)
                        strcat(buf, i % 3 ? "# comment\n" : "\n");
                strcat(buf, "this is not a reference!\n");
                strcat(buf, "docker/disk-usage-extension\n");
                text = strdup(buf);
        }
        struct allowlist l;
        CHECK_INT(parse_str("extensions.txt", text, &l), 0);
        check_problems("contract", &l,
                       (const char *const[]) { "extensions.txt:19: invalid reference \"this is not a reference!\"",
                                               NULL });
        CHECK_INT(l.n, 1);
        CHECK_STR(l.n ? l.entries[0].repository : NULL, "docker/disk-usage-extension");
        CHECK_INT(l.n ? l.entries[0].line : 0, 20);
        allowlist_done(&l);
}

static void test_format(void) {
        const char *text = "\xef\xbb\xbf# Allowed extensions\r\n"
                           "docker/disk-usage-extension:0.2.8\r\n"
                           "\r\n"
                           "   docker/logs-explorer-extension   # trailing comment\n"
                           "\tubuntu\t\n"
                           "ghcr.io/org/ext:v1.2.0#no space before the comment\n"
                           "127.0.0.1:5000/ns/x\n"
                           "docker.io/library/redis:7\n"
                           "   # indented comment\n"
                           "      \n"
                           "localhost:5000/plain";
        struct allowlist l;
        CHECK_INT(parse_str("t.txt", text, &l), 0);
        CHECK(l.problems == NULL);
        static const struct {
                const char *repository, *pinned, *domain, *path;
                unsigned line;
        } want[] = {
                { "docker/disk-usage-extension", "0.2.8", "docker.io", "docker/disk-usage-extension", 2 },
                { "docker/logs-explorer-extension", NULL, "docker.io", "docker/logs-explorer-extension", 4 },
                { "ubuntu", NULL, "docker.io", "library/ubuntu", 5 },
                { "ghcr.io/org/ext", "v1.2.0", "ghcr.io", "org/ext", 6 },
                { "127.0.0.1:5000/ns/x", NULL, "127.0.0.1:5000", "ns/x", 7 },
                { "redis", "7", "docker.io", "library/redis", 8 },
                { "localhost:5000/plain", NULL, "localhost:5000", "plain", 11 },
        };
        CHECK_INT(l.n, ELEMENTSOF(want));
        for (size_t i = 0; i < l.n && i < ELEMENTSOF(want); i++) {
                const struct allowlist_entry *e = &l.entries[i];
                CHECK_STR(e->repository, want[i].repository);
                CHECK_STR(e->pinned, want[i].pinned);
                CHECK_STR(e->ref.tag, want[i].pinned);
                CHECK_STR(e->ref.domain, want[i].domain);
                CHECK_STR(e->ref.path, want[i].path);
                CHECK(e->ref.digest == NULL);
                CHECK_STR(e->source, "t.txt");
                CHECK_INT(e->line, want[i].line);
        }

        /* Lookup in any spelling of the name; tags are not part of the key. */
        const struct allowlist_entry *e = allowlist_find(&l, "docker.io/library/ubuntu");
        CHECK_STR(e ? e->repository : NULL, "ubuntu");
        e = allowlist_find(&l, "index.docker.io/docker/disk-usage-extension");
        CHECK_STR(e ? e->repository : NULL, "docker/disk-usage-extension");
        CHECK(allowlist_find(&l, "ghcr.io/org/ext") != NULL);
        CHECK(allowlist_find(&l, "docker/volumes-backup-extension") == NULL);
        CHECK(allowlist_find(&l, "ghcr.io/org/ext:v1.2.0") == NULL);
        CHECK(allowlist_find(&l, "not a name") == NULL);
        allowlist_done(&l);
        CHECK(l.n == 0 && l.entries == NULL && l.problems == NULL);
        allowlist_done(&l);
        allowlist_done(NULL);
}

static void test_invalid_lines(void) {
        const char *text = "Foo\n"                                                          /* 1 */
                           "docker/Disk-Usage\n"                                            /* 2 */
                           "docker/x@sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\n" /* 3 */
                           "docker/x:1.0@sha256:abc\n"                                      /* 4 */
                           "Docker/disk-usage-extension\n"                                  /* 5 */
                           "GHCR.io/org/x\n"                                                /* 6 */
                           "docker/y:-bad\n"                                                /* 7 */
                           "https://hub.docker.com/r/docker/x\n"                            /* 8 */
                           "say \"hi\" \\ there\n"                                          /* 9 */
                           "a\tb\n"                                                         /* 10 */
                           "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a\n" /* 11 */
                           "docker/ok\n";                                                   /* 12 */
        struct allowlist l;
        CHECK_INT(parse_str("list", text, &l), 0);
        check_problems("invalid", &l,
                       (const char *const[]) {
                               "list:1: invalid reference \"Foo\": repository name must be lowercase",
                               "list:2: invalid reference \"docker/Disk-Usage\": repository name must be lowercase",
                               "list:3: digest reference "
                               "\"docker/x@sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\" "
                               "is not allowed, pin a version with a tag instead (docker/x:TAG)",
                               "list:4: invalid reference \"docker/x:1.0@sha256:abc\"",
                               "list:5: invalid reference \"Docker/disk-usage-extension\": registry host \"Docker\" "
                               "must be lowercase",
                               "list:6: invalid reference \"GHCR.io/org/x\": registry host \"GHCR.io\" must be "
                               "lowercase",
                               "list:7: invalid reference \"docker/y:-bad\"",
                               "list:8: invalid reference \"https://hub.docker.com/r/docker/x\"",
                               "list:9: invalid reference \"say \\\"hi\\\" \\\\ there\"",
                               "list:10: invalid reference \"a\\x09b\"",
                               "list:11: invalid reference "
                               "\"1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a\": invalid "
                               "repository name, cannot specify 64-byte hexadecimal strings",
                               NULL,
                       });
        CHECK_INT(l.n, 1);
        CHECK_STR(l.n ? l.entries[0].repository : NULL, "docker/ok");
        allowlist_done(&l);
}

static void test_duplicates(void) {
        const char *text = "docker/a\n"                   /* 1 */
                           "docker/b:1.0\n"               /* 2 */
                           "docker.io/docker/a\n"         /* 3: same repository, other spelling */
                           "docker/b:1.0   # again\n"     /* 4: same pin */
                           "docker/b:2.0\n"               /* 5: other pin */
                           "docker/a:3.0\n"               /* 6: pinned after unpinned */
                           "docker/b\n"                   /* 7: unpinned after pinned */
                           "ubuntu\n"                     /* 8 */
                           "library/ubuntu\n"             /* 9 */
                           "index.docker.io/ubuntu\n";    /* 10 */
        struct allowlist l;
        CHECK_INT(parse_str("a.txt", text, &l), 0);
        check_problems("duplicates", &l,
                       (const char *const[]) {
                               "a.txt:3: duplicate of line 1",
                               "a.txt:4: duplicate of line 2",
                               "a.txt:5: \"docker/b:2.0\" conflicts with line 2 (docker/b:1.0), keeping line 2",
                               "a.txt:6: \"docker/a:3.0\" conflicts with line 1 (docker/a, unpinned), keeping line 1",
                               "a.txt:7: \"docker/b\" conflicts with line 2 (docker/b:1.0), keeping line 2",
                               "a.txt:9: duplicate of line 8",
                               "a.txt:10: duplicate of line 8",
                               NULL,
                       });
        /* A repeated line is harmless: a warning; a conflicting pin drops what was written: an error. */
        static const bool warning[] = { true, true, false, false, false, true, true };
        for (size_t i = 0; i < ELEMENTSOF(warning); i++)
                CHECK_MSG(allowlist_problem_is_warning(&l, i) == warning[i], "problem %zu", i);
        CHECK(!allowlist_problem_is_warning(&l, ELEMENTSOF(warning)));
        CHECK_INT(l.n, 3);
        const struct allowlist_entry *b = allowlist_find(&l, "docker/b");
        CHECK_STR(b ? b->pinned : NULL, "1.0");

        /* A second source merges into the same list with the same diagnostics, naming the file. */
        char *error = NULL;
        const char *more = "docker/c\ndocker/a\ndocker/b:9\ndocker/c\n";
        CHECK_INT(allowlist_add_text(&l, "https://example.com/b.txt", more, strlen(more), &error), 0);
        CHECK(error == NULL);
        check_problems("merged", &l,
                       (const char *const[]) {
                               "a.txt:3: duplicate of line 1",
                               "a.txt:4: duplicate of line 2",
                               "a.txt:5: \"docker/b:2.0\" conflicts with line 2 (docker/b:1.0), keeping line 2",
                               "a.txt:6: \"docker/a:3.0\" conflicts with line 1 (docker/a, unpinned), keeping line 1",
                               "a.txt:7: \"docker/b\" conflicts with line 2 (docker/b:1.0), keeping line 2",
                               "a.txt:9: duplicate of line 8",
                               "a.txt:10: duplicate of line 8",
                               "https://example.com/b.txt:2: duplicate of a.txt:1",
                               "https://example.com/b.txt:3: \"docker/b:9\" conflicts with a.txt:2 (docker/b:1.0), "
                               "keeping a.txt:2",
                               "https://example.com/b.txt:4: duplicate of line 1",
                               NULL,
                       });
        CHECK_INT(l.n, 4);
        const struct allowlist_entry *c = allowlist_find(&l, "docker/c");
        CHECK_STR(c ? c->source : NULL, "https://example.com/b.txt");
        CHECK_INT(c ? c->line : 0, 1);
        allowlist_done(&l);
}

static void test_bytes(void) {
        /* NUL bytes, invalid UTF-8 and control characters are reported, escaped, never fatal. */
        static const char text[] = "docker/a\0b\n"
                                   "docker/\xff\xfe\n"
                                   "docker/ok # caf\xc3\xa9, valid UTF-8 in a comment\n"
                                   "docker/\xc0\xaf\n"          /* overlong encoding of '/' */
                                   "docker/\xed\xa0\x80\n"      /* a UTF-16 surrogate */
                                   "\x1b[31mred\x1b[0m\n"
                                   "caf\xc3\xa9\n"
                                   "x\xc2\x9b" "y\n"            /* a C1 control, valid UTF-8 */
                                   "docker/whale # \xf0\x9f\x90\xb3\n"
                                   "x\xf0\x9f\x90\n"               /* a 4-byte sequence cut short */
                                   "\x80x\n"                     /* a continuation byte first */
                                   "x\xf5\x80\x80\x80\n";          /* beyond U+10FFFF */
        struct allowlist l;
        char *error = NULL;
        CHECK_INT(allowlist_parse("bin", text, sizeof text - 1, &l, &error), 0);
        check_problems("bytes", &l,
                       (const char *const[]) {
                               "bin:1: line contains a NUL byte: \"docker/a\\x00b\"",
                               "bin:2: line is not valid UTF-8: \"docker/\\xff\\xfe\"",
                               "bin:4: line is not valid UTF-8: \"docker/\\xc0\\xaf\"",
                               "bin:5: line is not valid UTF-8: \"docker/\\xed\\xa0\\x80\"",
                               "bin:6: invalid reference \"\\x1b[31mred\\x1b[0m\"",
                               "bin:7: invalid reference \"caf\xc3\xa9\"",
                               "bin:8: invalid reference \"x\\xc2\\x9by\"",
                               "bin:10: line is not valid UTF-8: \"x\\xf0\\x9f\\x90\"",
                               "bin:11: line is not valid UTF-8: \"\\x80x\"",
                               "bin:12: line is not valid UTF-8: \"x\\xf5\\x80\\x80\\x80\"",
                               NULL,
                       });
        CHECK_INT(l.n, 2);
        CHECK_STR(l.n > 1 ? l.entries[1].repository : NULL, "docker/whale");
        allowlist_done(&l);
}

static char *repeat_char(char c, size_t n) {
        char *s = malloc(n + 1);
        if (!s)
                abort();
        memset(s, c, n);
        s[n] = 0;
        return s;
}

static void test_lines_and_quotes(void) {
        /* A 4096-byte line is fine; one more byte is reported, unless the line is a comment. */
        _cleanup_free_ char *pad_ok = repeat_char('x', ALLOWLIST_LINE_MAX - 1);
        _cleanup_free_ char *pad_long = repeat_char('x', ALLOWLIST_LINE_MAX);
        _cleanup_free_ char *text2 = util_printf("#%s\n#%s\ndocker/a\n %s\n", pad_ok, pad_long, pad_long);
        CHECK_INT(strchr(text2, '\n') - text2, ALLOWLIST_LINE_MAX);
        struct allowlist l;
        CHECK_INT(parse_str("long", text2, &l), 0);
        check_problems("long lines", &l,
                       (const char *const[]) { "long:4: line too long (more than 4096 bytes)", NULL });
        CHECK_INT(l.n, 1);
        allowlist_done(&l);

        /* A long bad line is quoted up to 100 characters. */
        _cleanup_free_ char *bad_line = repeat_char('A', 300);
        _cleanup_free_ char *bad = util_printf("%s\ndocker/ok\n", bad_line);
        CHECK_INT(parse_str("q", bad, &l), 0);
        _cleanup_free_ char *shown = repeat_char('A', 100);
        _cleanup_free_ char *want = util_printf("q:1: invalid reference \"%s\xe2\x80\xa6\": repository name must be lowercase",
                                                shown);
        check_problems("quote", &l, (const char *const[]) { want, NULL });
        allowlist_done(&l);

        /* Nothing but invalid lines (an HTML page served as an allow-list): the source is refused,
         * each line's problem kept; comments and blanks alone are an empty source, not a bad one. */
        static const char html[] = "<!DOCTYPE html>\n<html><body>Not Found</body></html>\n\n# note\n";
        allowlist_init(&l);
        char *why = NULL;
        CHECK_INT(allowlist_add_text(&l, "https://h/x.txt", html, strlen(html), &why), -EBADMSG);
        CHECK_STR(why, "https://h/x.txt: no valid allow-list entry (2 lines, none a repository)");
        CHECK_INT(l.n, 0);
        CHECK_INT(util_strv_length(l.problems), 2);
        free(why);
        CHECK_INT(allowlist_add_text(&l, "c", "# only\n\n  # comments\n", 21, NULL), 0);
        /* Lines naming repositories already listed are not invalid. */
        CHECK_INT(allowlist_add_text(&l, "d1", "docker/a\n", 9, NULL), 0);
        CHECK_INT(allowlist_add_text(&l, "d2", "docker/a\n", 9, NULL), 0);
        CHECK_INT(l.n, 1);
        allowlist_done(&l);

        /* Empty input, only blanks, no final newline. */
        CHECK_INT(parse_str("e", "", &l), 0);
        CHECK(l.n == 0 && l.problems == NULL);
        allowlist_done(&l);
        CHECK_INT(parse_str("e", " \n\t\n\r\n#\n", &l), 0);
        CHECK(l.n == 0 && l.problems == NULL);
        allowlist_done(&l);
        CHECK_INT(parse_str("e", "docker/x\n\nbad!", &l), 0);
        check_problems("last line", &l, (const char *const[]) { "e:3: invalid reference \"bad!\"", NULL });
        allowlist_done(&l);
}

static void test_limits(void) {
        /* Entries: the first ALLOWLIST_ENTRIES_MAX are kept, one message, the rest of the source skipped. */
        size_t cap = (ALLOWLIST_ENTRIES_MAX + 10) * 24, len = 0;
        char *text = malloc(cap);
        if (!text)
                abort();
        for (unsigned i = 0; i < ALLOWLIST_ENTRIES_MAX + 5; i++)
                len += (size_t) snprintf(text + len, cap - len, "ns/repo-%u\n", i);
        len += (size_t) snprintf(text + len, cap - len, "not valid!\n");
        struct allowlist l;
        char *error = NULL;
        CHECK_INT(allowlist_parse("big", text, len, &l, &error), 0);
        CHECK_INT(l.n, ALLOWLIST_ENTRIES_MAX);
        _cleanup_free_ char *want = util_printf("big:%u: too many entries (more than %u), ignoring the rest of big",
                                                ALLOWLIST_ENTRIES_MAX + 1, ALLOWLIST_ENTRIES_MAX);
        check_problems("entry limit", &l, (const char *const[]) { want, NULL });
        /* Every kept entry is still found through the index. */
        unsigned found = 0;
        for (unsigned i = 0; i < ALLOWLIST_ENTRIES_MAX; i++) {
                char name[32];
                snprintf(name, sizeof name, "ns/repo-%u", i);
                const struct allowlist_entry *e = allowlist_find(&l, name);
                found += e && e->line == i + 1;
        }
        CHECK_INT(found, ALLOWLIST_ENTRIES_MAX);
        allowlist_done(&l);

        /* Problems: ALLOWLIST_PROBLEMS_MAX of them, then one line saying the rest went unreported;
         * entries after that are still used. */
        len = 0;
        for (unsigned i = 0; i < ALLOWLIST_PROBLEMS_MAX + 500; i++)
                len += (size_t) snprintf(text + len, cap - len, "bad name %u\n", i);
        len += (size_t) snprintf(text + len, cap - len, "docker/still-used\n");
        CHECK_INT(allowlist_parse("noisy", text, len, &l, &error), 0);
        CHECK_INT(util_strv_length(l.problems), ALLOWLIST_PROBLEMS_MAX + 1);
        CHECK_STR(l.problems ? l.problems[0] : NULL, "noisy:1: invalid reference \"bad name 0\"");
        CHECK_STR(l.problems ? l.problems[ALLOWLIST_PROBLEMS_MAX] : NULL,
                  "noisy: too many problems, not reporting more");
        CHECK_INT(l.n, 1);
        allowlist_done(&l);
        free(text);

        /* Size: a source over the limit is refused as a whole, and the list keeps what it had. */
        char *huge = calloc(1, ALLOWLIST_SOURCE_MAX + 1);
        if (!huge)
                abort();
        allowlist_init(&l);
        CHECK_INT(allowlist_add_text(&l, "first", "docker/a\n", 9, &error), 0);
        CHECK_INT(allowlist_add_text(&l, "huge", huge, ALLOWLIST_SOURCE_MAX + 1, &error), -EFBIG);
        CHECK_STR(error, "huge: allow-list is larger than 4 MiB");
        free(error);
        error = NULL;
        CHECK_INT(l.n, 1);
        CHECK(l.problems == NULL);
        allowlist_done(&l);

        /* allowlist_parse writes *ret only on success. */
        struct allowlist untouched = { .n = 42 };
        CHECK_INT(allowlist_parse("huge", huge, ALLOWLIST_SOURCE_MAX + 1, &untouched, NULL), -EFBIG);
        CHECK_INT(untouched.n, 42);
        free(huge);
}

static void test_files(void) {
        char dir[] = "/tmp/test-allowlist-XXXXXX";
        if (!mkdtemp(dir))
                abort();
        _cleanup_free_ char *missing = util_printf("%s/missing.txt", dir);
        _cleanup_free_ char *good = util_printf("%s/extensions.txt", dir);
        _cleanup_free_ char *big = util_printf("%s/big.txt", dir);

        struct allowlist l = { .n = 42 };
        char *error = NULL;
        CHECK_INT(allowlist_load_file(missing, &l, &error), -ENOENT);
        _cleanup_free_ char *want = util_printf("%s: cannot read allow-list: No such file or directory", missing);
        CHECK_STR(error, want);
        CHECK_INT(l.n, 42);
        free(error);

        CHECK_INT(allowlist_load_file(dir, &l, &error), -EISDIR);
        _cleanup_free_ char *want_dir = util_printf("%s: cannot read allow-list: Is a directory", dir);
        CHECK_STR(error, want_dir);
        free(error);

        FILE *f = fopen(good, "w");
        if (!f)
                abort();
        fputs("docker/a\n\nbroken line\n", f);
        fclose(f);
        error = NULL;
        CHECK_INT(allowlist_load_file(good, &l, &error), 0);
        CHECK(error == NULL);
        CHECK_INT(l.n, 1);
        _cleanup_free_ char *want_line = util_printf("%s:3: invalid reference \"broken line\"", good);
        check_problems("file", &l, (const char *const[]) { want_line, NULL });
        CHECK_STR(l.n ? l.entries[0].source : NULL, good);
        allowlist_done(&l);

        f = fopen(big, "w");
        if (!f)
                abort();
        for (size_t i = 0; i <= ALLOWLIST_SOURCE_MAX / 16; i++)
                fputs("# padding......\n", f);
        fclose(f);
        CHECK_INT(allowlist_load_file(big, &l, &error), -EFBIG);
        _cleanup_free_ char *want_big = util_printf("%s: allow-list is larger than 4 MiB", big);
        CHECK_STR(error, want_big);
        free(error);

        unlink(good);
        unlink(big);
        rmdir(dir);
}

static void test_shipped_list(void) {
        const char *tests = getenv("EXTUPDATED_TESTS");
        if (!tests) {
                fprintf(stderr, "EXTUPDATED_TESTS not set, skipping the shipped allow-list\n");
                return;
        }
        _cleanup_free_ char *path = util_printf("%s/../data/extensions.txt", tests);
        struct allowlist l;
        char *error = NULL;
        int r = allowlist_load_file(path, &l, &error);
        CHECK_INT(r, 0);
        CHECK_STR(error, NULL);
        free(error);
        if (r < 0)
                return;
        for (char **p = l.problems; p && *p; p++)
                CHECK_STR(*p, NULL);
        CHECK(l.n >= 10);
        for (size_t i = 0; i < l.n; i++) {
                CHECK_STR(l.entries[i].ref.domain, "docker.io");
                CHECK_STR(l.entries[i].pinned, NULL);
        }
        CHECK(allowlist_find(&l, "docker/disk-usage-extension") != NULL);
        CHECK(allowlist_find(&l, "docker/logs-explorer-extension") != NULL);
        allowlist_done(&l);
}

int main(void) {
        test_contract_example();
        test_format();
        test_invalid_lines();
        test_duplicates();
        test_bytes();
        test_lines_and_quotes();
        test_limits();
        test_files();
        test_shipped_list();
        return check_summary("test-allowlist");
}
