/* Unit tests for lib/reference: distribution/reference's own cases, normalization and familiar names. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "reference.h"
#include "util.h"
#include "check.h"

#define SHA256_F "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
#define SHA512_F                                                                                            \
        "sha512:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"                          \
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"

/* Normalization as ParseNormalizedNamed does it, with the familiar name Docker displays. */
static const struct {
        const char *input, *domain, *path, *tag, *digest, *familiar;
} valid[] = {
        { "ubuntu", "docker.io", "library/ubuntu", NULL, NULL, "ubuntu" },
        { "ubuntu:22.04", "docker.io", "library/ubuntu", "22.04", NULL, "ubuntu" },
        { "library/ubuntu", "docker.io", "library/ubuntu", NULL, NULL, "ubuntu" },
        { "docker.io/ubuntu", "docker.io", "library/ubuntu", NULL, NULL, "ubuntu" },
        { "docker.io/library/ubuntu", "docker.io", "library/ubuntu", NULL, NULL, "ubuntu" },
        { "index.docker.io/ubuntu:latest", "docker.io", "library/ubuntu", "latest", NULL, "ubuntu" },
        { "index.docker.io/docker/docker", "docker.io", "docker/docker", NULL, NULL, "docker/docker" },
        { "docker/disk-usage-extension", "docker.io", "docker/disk-usage-extension", NULL, NULL,
          "docker/disk-usage-extension" },
        { "docker/disk-usage-extension:0.2.8", "docker.io", "docker/disk-usage-extension", "0.2.8", NULL,
          "docker/disk-usage-extension" },
        { "docker.io/docker/disk-usage-extension:v1.2.0", "docker.io", "docker/disk-usage-extension", "v1.2.0",
          NULL, "docker/disk-usage-extension" },
        { "ghcr.io/org/x", "ghcr.io", "org/x", NULL, NULL, "ghcr.io/org/x" },
        { "ghcr.io/x", "ghcr.io", "x", NULL, NULL, "ghcr.io/x" },
        { "127.0.0.1:5000/ns/x:1.0.0", "127.0.0.1:5000", "ns/x", "1.0.0", NULL, "127.0.0.1:5000/ns/x" },
        { "localhost/foo", "localhost", "foo", NULL, NULL, "localhost/foo" },
        { "localhost:5000/foo/bar:tag", "localhost:5000", "foo/bar", "tag", NULL, "localhost:5000/foo/bar" },
        { "localhost", "docker.io", "library/localhost", NULL, NULL, "localhost" },
        { "localhost:5000", "docker.io", "library/localhost", "5000", NULL, "localhost" },
        { "test.com:5000", "docker.io", "library/test.com", "5000", NULL, "test.com" },
        { "test.com:tag", "docker.io", "library/test.com", "tag", NULL, "test.com" },
        { "test_com", "docker.io", "library/test_com", NULL, NULL, "test_com" },
        { "test_com/foo", "docker.io", "test_com/foo", NULL, NULL, "test_com/foo" },
        { "test:5000/repo", "test:5000", "repo", NULL, NULL, "test:5000/repo" },
        { "test-com:8080/foo", "test-com:8080", "foo", NULL, NULL, "test-com:8080/foo" },
        { "test:5000/repo@" SHA256_F, "test:5000", "repo", NULL, SHA256_F, "test:5000/repo" },
        { "test:5000/repo:tag@" SHA256_F, "test:5000", "repo", "tag", SHA256_F, "test:5000/repo" },
        { "busybox:latest@" SHA256_F, "docker.io", "library/busybox", "latest", SHA256_F, "busybox" },
        { "sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com", "bar/baz/quux", "some-long-tag", NULL,
          "sub-dom1.foo.com/bar/baz/quux" },
        { "b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io", "test.example.com/my-app",
          "test.example.com", NULL, "b.gcr.io/test.example.com/my-app" },
        { "xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com", "myimage", "xn--n3h.com", NULL, "xn--n3h.com/myimage" },
        { "xn--7o8h.com/myimage:xn--7o8h.com@" SHA512_F, "xn--7o8h.com", "myimage", "xn--7o8h.com", SHA512_F,
          "xn--7o8h.com/myimage" },
        { "foo_bar.com:8080", "docker.io", "library/foo_bar.com", "8080", NULL, "foo_bar.com" },
        { "foo/foo_bar.com:8080", "docker.io", "foo/foo_bar.com", "8080", NULL, "foo/foo_bar.com" },
        { "192.168.1.1", "docker.io", "library/192.168.1.1", NULL, NULL, "192.168.1.1" },
        { "192.168.1.1:5000", "docker.io", "library/192.168.1.1", "5000", NULL, "192.168.1.1" },
        { "192.168.1.1/repo", "192.168.1.1", "repo", NULL, NULL, "192.168.1.1/repo" },
        { "192.168.1.1:5000/repo:5050", "192.168.1.1:5000", "repo", "5050", NULL, "192.168.1.1:5000/repo" },
        { "[2001:db8::1]/repo", "[2001:db8::1]", "repo", NULL, NULL, "[2001:db8::1]/repo" },
        { "[2001:db8:1:2:3:4:5:6]/repo:tag", "[2001:db8:1:2:3:4:5:6]", "repo", "tag", NULL,
          "[2001:db8:1:2:3:4:5:6]/repo" },
        { "[2001:db8::1]:5000/repo:tag@" SHA256_F, "[2001:db8::1]:5000", "repo", "tag", SHA256_F,
          "[2001:db8::1]:5000/repo" },
        { "[::1]:5000/repo", "[::1]:5000", "repo", NULL, NULL, "[::1]:5000/repo" },
        { "[fc00::1]:5000/docker/docker", "[fc00::1]:5000", "docker/docker", NULL, NULL,
          "[fc00::1]:5000/docker/docker" },
        { "lowercase:Uppercase", "docker.io", "library/lowercase", "Uppercase", NULL, "lowercase" },
        /* Upper case in the first component makes it a registry host, as in docker. */
        { "Docker/docker", "Docker", "docker", NULL, NULL, "Docker/docker" },
        { "FOO/bar", "FOO", "bar", NULL, NULL, "FOO/bar" },
        { "library/foo/bar", "docker.io", "library/foo/bar", NULL, NULL, "library/foo/bar" },
        { "docker.io/library/foo/bar", "docker.io", "library/foo/bar", NULL, NULL, "library/foo/bar" },
        { "store/foo/bar", "docker.io", "store/foo/bar", NULL, NULL, "store/foo/bar" },
        { "other/library", "docker.io", "other/library", NULL, NULL, "other/library" },
        { "127.0.0.1:8000/privatebase", "127.0.0.1:8000", "privatebase", NULL, NULL, "127.0.0.1:8000/privatebase" },
        { "example.com:8000/private/moonbase", "example.com:8000", "private/moonbase", NULL, NULL,
          "example.com:8000/private/moonbase" },
        { "docker---rules/docker", "docker.io", "docker---rules/docker", NULL, NULL, "docker---rules/docker" },
        { "dock__er/docker", "docker.io", "dock__er/docker", NULL, NULL, "dock__er/docker" },
        { "d/docker", "docker.io", "d/docker", NULL, NULL, "d/docker" },
        { "jess/t", "docker.io", "jess/t", NULL, NULL, "jess/t" },
        { "ns/a.b_c-d__e---f9", "docker.io", "ns/a.b_c-d__e---f9", NULL, NULL, "ns/a.b_c-d__e---f9" },
        { "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a", "docker.io",
          "library/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a", NULL, NULL,
          /* Docker shows the bare identifier, which it then refuses to parse; keep "library/". */
          "library/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a" },
        /* Docker would show "foo.com/bar" and "localhost/x", which read back as other registries. */
        { "docker.io/foo.com/bar", "docker.io", "foo.com/bar", NULL, NULL, "docker.io/foo.com/bar" },
        { "index.docker.io/localhost/x:1", "docker.io", "localhost/x", "1", NULL, "docker.io/localhost/x" },
        { "docker.io/library/foo.com", "docker.io", "library/foo.com", NULL, NULL, "foo.com" },
        { "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", "docker.io",
          "library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", NULL, NULL,
          "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev" },
        { "foo:_tag", "docker.io", "library/foo", "_tag", NULL, "foo" },
        { "test.com:8080/foo:v1.0.0-rc.1_build-2", "test.com:8080", "foo", "v1.0.0-rc.1_build-2", NULL,
          "test.com:8080/foo" },
};

/* Rejections, with the message docker gives. */
static const struct {
        const char *input, *error;
} invalid[] = {
        { "", "invalid reference format" },
        { ":justtag", "invalid reference format" },
        { "@" SHA256_F, "invalid reference format" },
        { "repo@sha256:ffffffffffffffffffffffffffffffffff", "invalid checksum digest length" },
        { "validname@invaliddigest:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
          "unsupported digest algorithm" },
        { "repo@sha256:FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
          "invalid checksum digest format" },
        { "repo@sha256:fff", "invalid reference format" },
        { "repo@sha256+b64:ffffffffffffffffffffffffffffffff", "unsupported digest algorithm" },
        /* Only the lower-cased string matches: the host "Foo_Bar" is not a host, "foo_bar" a path. */
        { "Foo_Bar/x", "invalid reference format: repository name must be lowercase" },
        { "foo:-BAD", "invalid reference format" },
        { "repo@SHA256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
          "invalid reference format: repository name must be lowercase" },
        { "docker.io/library/repo:tag@SHA256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
          "invalid checksum digest format" },
        { "repo@" SHA256_F "@" SHA256_F, "invalid reference format" },
        { "Uppercase:tag", "invalid reference format: repository name must be lowercase" },
        { "Foo", "invalid reference format: repository name must be lowercase" },
        { "test:5000/Uppercase/lowercase:tag", "invalid reference format: repository name must be lowercase" },
        { "docker/Docker", "invalid reference format: repository name must be lowercase" },
        { "docker.io/docker/Docker", "invalid reference format: repository name must be lowercase" },
        { "ghcr.io/Org/x", "invalid reference format: repository name must be lowercase" },
        { "aa/asdf$$^/aa", "invalid reference format" },
        { "https://github.com/docker/docker", "invalid reference format" },
        { "-docker", "invalid reference format" },
        { "-docker/docker", "invalid reference format" },
        { "-docker.io/docker/docker", "invalid reference format" },
        { "docker-/docker", "invalid reference format" },
        { "-docker-/docker", "invalid reference format" },
        { "docker///docker", "invalid reference format" },
        { "docker.io/docker///docker", "invalid reference format" },
        { "____/____", "invalid reference format" },
        { "_docker/_docker", "invalid reference format" },
        { "dock..er/docker", "invalid reference format" },
        { "dock_.er/docker", "invalid reference format" },
        { "dock-.er/docker", "invalid reference format" },
        { "dock___er/docker", "invalid reference format" },
        { "docker/", "invalid reference format" },
        { "/docker", "invalid reference format" },
        { "docker/docker/", "invalid reference format" },
        { "[fc00::1]", "invalid reference format" },
        { "[fc00::1]:5000", "invalid reference format" },
        { "[2001:db8::1]:tag", "invalid reference format" },
        { "fc00::1:5000/debian", "invalid reference format" },
        { "[fe80::1%eth0]:5000/debian", "invalid reference format" },
        { "[fe80::1%@invalidzone]:5000/repo", "invalid reference format" },
        { "[2001:db8:3:4::192.0.2.33]:5000/debian", "invalid reference format" },
        { "[]:5000/x", "invalid reference format" },
        { "test:/x", "invalid reference format" },
        { "test:50a0/x", "invalid reference format" },
        { "foo_bar.com/x", "invalid reference format" },
        { "a.b_c-d__e---f/x", "invalid reference format" },
        { "foo:", "invalid reference format" },
        { "foo@", "invalid reference format" },
        { "foo:-tag", "invalid reference format" },
        { "foo:.tag", "invalid reference format" },
        { "foo:ta/g", "invalid reference format" },
        { "foo bar", "invalid reference format" },
        { " foo", "invalid reference format" },
        { "this is not a reference!", "invalid reference format" },
        { "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
          "invalid repository name, cannot specify 64-byte hexadecimal strings" },
        { "this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_"
          "because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_"
          "255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255/docker",
          "repository name must not be more than 255 characters" },
        { "caf\xc3\xa9/x", "invalid reference format" },
        { "foo\x01", "invalid reference format" },
};

static void test_valid(void) {
        for (size_t i = 0; i < ELEMENTSOF(valid); i++) {
                const char *in = valid[i].input;
                check_context = in;
                struct reference ref = {};
                const char *error = NULL;
                int r = reference_parse(in, &ref, &error);
                CHECK_STR(error, NULL);
                CHECK_INT(r, 0);
                if (r < 0)
                        continue;
                CHECK_STR(ref.domain, valid[i].domain);
                CHECK_STR(ref.path, valid[i].path);
                CHECK_STR(ref.tag, valid[i].tag);
                CHECK_STR(ref.digest, valid[i].digest);

                _cleanup_free_ char *familiar = reference_familiar_name(&ref);
                CHECK_STR(familiar, valid[i].familiar);

                _cleanup_free_ char *canonical = reference_canonical_name(&ref);
                _cleanup_free_ char *want_canonical = util_printf("%s/%s", valid[i].domain, valid[i].path);
                CHECK_STR(canonical, want_canonical);

                /* The familiar name must parse back to the same repository. */
                struct reference back = {};
                CHECK_INT(reference_parse_repository(familiar, &back, NULL), 0);
                CHECK_STR(back.domain, ref.domain);
                CHECK_STR(back.path, ref.path);
                reference_done(&back);

                /* And the familiar string, tag and digest included, to the same reference. */
                _cleanup_free_ char *str = reference_familiar_string(&ref);
                CHECK_INT(reference_parse(str, &back, NULL), 0);
                CHECK_STR(back.tag, ref.tag);
                CHECK_STR(back.digest, ref.digest);
                reference_done(&back);

                reference_done(&ref);
                CHECK(!ref.domain && !ref.path && !ref.tag && !ref.digest);
                reference_done(&ref);
                reference_done(NULL);
        }
        check_context = NULL;
}

static void test_invalid(void) {
        for (size_t i = 0; i < ELEMENTSOF(invalid); i++) {
                const char *in = invalid[i].input;
                check_context = in;
                struct reference ref = { .domain = (char *) "untouched" };
                const char *error = NULL;
                CHECK_INT(reference_parse(in, &ref, &error), -EINVAL);
                CHECK_STR(error, invalid[i].error);
                CHECK_STR(ref.domain, "untouched");
                /* A NULL ret_error is allowed. */
                CHECK_INT(reference_parse(in, &ref, NULL), -EINVAL);
        }
        check_context = NULL;
}

static char *repeat(const char *unit, size_t times, const char *suffix) {
        size_t u = strlen(unit), s = strlen(suffix);
        char *buf = malloc(u * times + s + 1);
        if (!buf)
                abort();
        for (size_t i = 0; i < times; i++)
                memcpy(buf + i * u, unit, u);
        memcpy(buf + u * times, suffix, s + 1);
        return buf;
}

static void test_lengths(void) {
        struct reference ref = {};
        const char *error = NULL;

        /* distribution/reference: the path, not the whole name, is limited to 255 characters. */
        _cleanup_free_ char *max = repeat("a/", 127, "a:tag-puts-this-over-max");
        CHECK_INT(reference_parse(max, &ref, &error), 0);
        CHECK_INT((int) strlen(ref.path ? ref.path : ""), 255);
        CHECK_STR(ref.tag, "tag-puts-this-over-max");
        reference_done(&ref);

        _cleanup_free_ char *over = repeat("a/", 128, "a:tag");
        CHECK_INT(reference_parse(over, &ref, &error), -EINVAL);
        CHECK_STR(error, "repository name must not be more than 255 characters");

        /* "library/" counts: a familiar name of 247 fits, 248 does not. */
        _cleanup_free_ char *official = repeat("a", 247, "");
        CHECK_INT(reference_parse(official, &ref, NULL), 0);
        reference_done(&ref);
        _cleanup_free_ char *official_over = repeat("a", 248, "");
        CHECK_INT(reference_parse(official_over, &ref, NULL), -EINVAL);

        /* The domain does not count towards the limit. */
        _cleanup_free_ char *long_domain = repeat("d", 300, ".example.com/x");
        CHECK_INT(reference_parse(long_domain, &ref, NULL), 0);
        reference_done(&ref);

        /* Tags: 128 characters at most. */
        _cleanup_free_ char *tag128 = repeat("t", 128, "");
        _cleanup_free_ char *tag129 = repeat("t", 129, "");
        CHECK(reference_is_valid_tag(tag128));
        CHECK(!reference_is_valid_tag(tag129));
        _cleanup_free_ char *ref128 = util_printf("foo:%s", tag128);
        _cleanup_free_ char *ref129 = util_printf("foo:%s", tag129);
        CHECK_INT(reference_parse(ref128, &ref, NULL), 0);
        reference_done(&ref);
        CHECK_INT(reference_parse(ref129, &ref, &error), -EINVAL);
        CHECK_STR(error, "invalid reference format");
}

static void test_tags(void) {
        static const char *good[] = { "latest", "1.2.3", "v1.2.3-rc.1", "_x", "A", "9", "a.b-c_d", "TAG5" };
        static const char *bad[] = { "", "-x", ".x", "a:b", "a/b", "a b", "a@b", "ä", "a+b" };
        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                CHECK_MSG(reference_is_valid_tag(good[i]), "\"%s\"", good[i]);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                CHECK_MSG(!reference_is_valid_tag(bad[i]), "\"%s\"", bad[i]);
        CHECK(!reference_is_valid_tag(NULL));
}

static void test_digests(void) {
        static const struct {
                const char *digest, *error;
        } cases[] = {
                { SHA256_F, NULL },
                { SHA512_F, NULL },
                { "sha384:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
                  NULL },
                { "sha256:abc", "invalid checksum digest length" },
                { "sha256:FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
                  "invalid checksum digest format" },
                { "sha256:gggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg",
                  "invalid checksum digest format" },
                { "md5:ffffffffffffffffffffffffffffffff", "unsupported digest algorithm" },
                { "md5:fff", "unsupported digest algorithm" },
                { "MD5:ffffffffffffffffffffffffffffffff", "invalid checksum digest format" },
                { "sha256+b64:ffffffffffffffffffffffffffffffff", "unsupported digest algorithm" },
                { "md5:ff/f", "invalid checksum digest format" },
                { "md5..x:ff", "invalid checksum digest format" },
                { "sha256", "invalid checksum digest format" },
                { ":ffff", "invalid checksum digest format" },
                { "sha256:", "invalid checksum digest format" },
                { "", "invalid checksum digest format" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                check_context = cases[i].digest;
                const char *error = NULL;
                int r = reference_validate_digest(cases[i].digest, &error);
                CHECK_INT(r, cases[i].error ? -EINVAL : 0);
                CHECK_STR(error, cases[i].error);
        }
        check_context = NULL;
}

static void test_no_digest(void) {
        struct reference ref = {};
        const char *error = NULL;
        CHECK_INT(reference_parse_no_digest("docker/x@" SHA256_F, &ref, &error), -EOPNOTSUPP);
        CHECK_STR(error, REFERENCE_DIGEST_NOT_ALLOWED);
        CHECK(!ref.domain);
        CHECK_INT(reference_parse_no_digest("docker/x:1.0@" SHA256_F, &ref, &error), -EOPNOTSUPP);
        /* Syntax errors still come first, with their own message. */
        CHECK_INT(reference_parse_no_digest("docker/x@sha256:abc", &ref, &error), -EINVAL);
        CHECK_STR(error, "invalid reference format");
        CHECK_INT(reference_parse_no_digest("docker/x:1.0", &ref, &error), 0);
        CHECK_STR(ref.tag, "1.0");
        reference_done(&ref);
}

static void test_repository(void) {
        static const struct {
                const char *input, *familiar;
        } good[] = {
                { "docker/disk-usage-extension", "docker/disk-usage-extension" },
                { "docker.io/docker/disk-usage-extension", "docker/disk-usage-extension" },
                { "index.docker.io/library/ubuntu", "ubuntu" },
                { "docker.io/library/ubuntu", "ubuntu" },
                { "ubuntu", "ubuntu" },
                { "ghcr.io/org/x", "ghcr.io/org/x" },
                { "127.0.0.1:5000/ns/x", "127.0.0.1:5000/ns/x" },
                { "[::1]:5000/x", "[::1]:5000/x" },
        };
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                check_context = good[i].input;
                char *name = NULL;
                const char *error = NULL;
                CHECK_INT(reference_normalize_repository(good[i].input, &name, &error), 0);
                CHECK_STR(name, good[i].familiar);
                free(name);
        }
        static const struct {
                const char *input, *error;
        } bad[] = {
                { "ubuntu:22.04", "a repository name takes no tag or digest" },
                { "localhost:5000", "a repository name takes no tag or digest" },
                { "docker/x@" SHA256_F, "a repository name takes no tag or digest" },
                { "Docker/X", "invalid reference format: repository name must be lowercase" },
                { "docker//x", "invalid reference format" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                check_context = bad[i].input;
                char *name = NULL;
                const char *error = NULL;
                CHECK_INT(reference_normalize_repository(bad[i].input, &name, &error), -EINVAL);
                CHECK_STR(error, bad[i].error);
                CHECK(!name);
        }
        check_context = NULL;
}

static void test_familiar_string(void) {
        static const struct {
                const char *input, *string;
        } cases[] = {
                { "docker.io/library/ubuntu:22.04", "ubuntu:22.04" },
                { "index.docker.io/docker/x", "docker/x" },
                { "ghcr.io/org/x:1.0@" SHA256_F, "ghcr.io/org/x:1.0@" SHA256_F },
                { "busybox@" SHA256_F, "busybox@" SHA256_F },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                check_context = cases[i].input;
                struct reference ref = {};
                CHECK_INT(reference_parse(cases[i].input, &ref, NULL), 0);
                _cleanup_free_ char *s = reference_familiar_string(&ref);
                CHECK_STR(s, cases[i].string);
                reference_done(&ref);
        }
        check_context = NULL;
}

int main(void) {
        test_valid();
        test_invalid();
        test_lengths();
        test_tags();
        test_digests();
        test_no_digest();
        test_repository();
        test_familiar_string();
        return check_summary("test-reference");
}
