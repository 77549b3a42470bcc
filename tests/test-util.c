/* Unit tests for lib/util: string lists, prefixes, time stamps, bounded file reads (FIFOs refused), closed standard fds, sha256 digests. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"
#include "check.h"

static void test_strings(void) {
        CHECK(streq(util_startswith("sha256:abc", "sha256:"), "abc"));
        CHECK(util_startswith("sha25", "sha256:") == NULL);
        CHECK(streq(util_startswith_no_case("WWW-Authenticate: x", "www-authenticate:"), " x"));
        CHECK(streq_ptr(NULL, NULL) && !streq_ptr("a", NULL) && streq_ptr("a", "a"));

        _cleanup_strv_free_ char **l = NULL;
        CHECK(util_strv_length(l) == 0);
        CHECK(util_strv_push(&l, "a") == 0);
        CHECK(util_strv_consume(&l, util_printf("%s-%d", "b", 2)) == 0);
        CHECK(util_strv_length(l) == 2 && streq(l[1], "b-2") && l[2] == NULL);
        CHECK(util_strv_contains(l, "a") && !util_strv_contains(l, "c"));
        CHECK(util_strv_consume(&l, NULL) == -ENOMEM && util_strv_length(l) == 2);
}

static void test_time(void) {
        char buf[21];
        util_format_time(0, buf);
        CHECK(streq(buf, "1970-01-01T00:00:00Z"));
        util_format_time(1795861800, buf);
        CHECK(streq(buf, "2026-11-28T10:30:00Z"));
        CHECK(util_now_ms() > INT64_C(1700000000000));
}

static void test_read_file(void) {
        char path[] = "/tmp/test-util-XXXXXX";
        int fd = mkstemp(path);
        CHECK(fd >= 0);
        CHECK(write(fd, "hello\n", 6) == 6);
        close(fd);

        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        CHECK(util_read_file(path, 6, &text, &len) == 0 && len == 6 && streq(text, "hello\n"));
        char *big = NULL;
        CHECK(util_read_file(path, 5, &big, &len) == -EFBIG && big == NULL);
        CHECK(util_read_file("/nonexistent/file", 10, &big, &len) == -ENOENT);
        CHECK(util_read_file("/tmp", 10, &big, &len) == -EISDIR);
        unlink(path);

        /* A FIFO with no writer: refused at once (a plain open would wait for a writer forever). */
        CHECK(mkfifo(path, 0600) == 0);
        CHECK(util_read_file(path, 10, &big, &len) == -ENOTSUP && big == NULL);
        CHECK(strstr(util_read_file_strerror(-ENOTSUP), "not a regular file") != NULL);
        unlink(path);
        int p[2];
        CHECK(pipe(p) == 0);
        _cleanup_free_ char *dev_fd = util_printf("/dev/fd/%d", p[0]);
        CHECK(util_read_file(dev_fd, 10, &big, &len) == -ENOTSUP);
        close(p[0]);
        close(p[1]);
}

/* Runs util_open_std_fds in a child with fd `closed` closed; the child reports what it found. */
static void test_open_std_fds(void) {
        for (int closed = 0; closed <= 2; closed++) {
                pid_t pid = fork();
                CHECK(pid >= 0);
                if (pid == 0) {
                        close(closed);
                        if (util_open_std_fds() < 0)
                                _exit(2);
                        struct stat st, null;
                        _exit(fstat(closed, &st) == 0 && stat("/dev/null", &null) == 0 &&
                                              st.st_rdev == null.st_rdev ? 0 : 1);
                }
                int status = 0;
                CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
        CHECK_INT(util_open_std_fds(), 0);
}

static void test_sha256(void) {
        char d[72];
        util_sha256_digest("abc", 3, d);
        CHECK(streq(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
        util_sha256_digest("", 0, d);
        CHECK(streq(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
}

int main(void) {
        test_strings();
        test_time();
        test_read_file();
        test_open_std_fds();
        test_sha256();
        return check_summary("test-util");
}
