/* Unit tests for lib/credentials: docker config.json variants and real credential-helper processes on a libuv loop. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "credentials.h"
#include "util.h"
#include "check.h"

/* Every secret any test puts anywhere; no message may ever contain one. */
static const char *const secrets[] = {
        "s3cret-pw", "gh-password", "idtok-123", "helper-secret", "helper-idtok", "garbage-secret",
        "malformed-pw", "hub-exact-pw", "hub-other-pw", "fallback-pw", "czNjcmV0",
};

static char tmpdir[] = "/tmp/test-credentials-XXXXXX";
static uv_loop_t loop;
static unsigned messages_seen;

static void check_no_secret(const char *message, int line) {
        if (!message)
                return;
        messages_seen++;
        for (size_t i = 0; i < ELEMENTSOF(secrets); i++)
                check_at(!strstr(message, secrets[i]), __FILE__, line, "message leaks a secret: %s", message);
}

static void write_file(const char *path, const char *content, mode_t mode) {
        FILE *f = fopen(path, "w");
        if (!f) {
                fprintf(stderr, "cannot write %s\n", path);
                exit(1);
        }
        fputs(content, f);
        fclose(f);
        chmod(path, mode);
}

static char *dir_with_config(const char *name, const char *config) {
        char *d = util_printf("%s/%s", tmpdir, name);
        if (!d || mkdir(d, 0700) < 0) {
                fprintf(stderr, "cannot create %s\n", d ? d : name);
                exit(1);
        }
        if (config) {
                _cleanup_free_ char *p = util_printf("%s/config.json", d);
                write_file(p, config, 0600);
        }
        return d;
}

struct answer {
        bool called, in_lookup;
        unsigned calls;
        int error;
        bool anonymous;
        struct auth_credentials creds;
        char *message;
};

static bool inside_lookup;

static void on_answer(int error, const struct auth_credentials *creds, const char *message, void *userdata) {
        struct answer *a = userdata;
        a->calls++;
        a->called = true;
        a->in_lookup = inside_lookup;
        a->error = error;
        a->anonymous = creds == NULL;
        auth_credentials_done(&a->creds);
        if (creds && auth_credentials_copy(creds, &a->creds) < 0)
                abort();
        free(a->message);
        a->message = message ? strdup(message) : NULL;
        check_no_secret(message, __LINE__);
}

static void answer_done(struct answer *a) {
        auth_credentials_done(&a->creds);
        free(a->message);
        *a = (struct answer) {};
}

/* Looks one host up and runs the loop until the answer came. */
static struct answer lookup(struct credentials_store *s, const char *host) {
        struct answer a = {};
        inside_lookup = true;
        int r = credentials_lookup(s, &loop, host, on_answer, &a);
        inside_lookup = false;
        CHECK_INT(r, 0);
        if (r < 0) {
                a.error = r;
                return a;
        }
        CHECK(!a.called);
        uv_run(&loop, UV_RUN_DEFAULT);
        CHECK_INT(a.calls, 1);
        CHECK(!a.in_lookup);
        return a;
}

static struct credentials_store *load_ok(const char *dir) {
        struct credentials_store *s = NULL;
        char *err = NULL;
        int r = credentials_store_load(dir, &s, &err);
        CHECK_INT(r, 0);
        if (r < 0) {
                fprintf(stderr, "load %s: %s\n", dir, err ? err : "?");
                free(err);
                exit(1);
        }
        CHECK(err == NULL);
        return s;
}

static void test_missing_file(void) {
        _cleanup_free_ char *d = dir_with_config("missing", NULL);
        struct credentials_store *s = load_ok(d);
        struct answer a = lookup(s, "docker.io");
        CHECK_INT(a.error, 0);
        CHECK(a.anonymous);
        CHECK_STR(a.message, NULL);
        answer_done(&a);
        credentials_store_free(s);

        /* A directory that does not exist at all is the same. */
        _cleanup_free_ char *nowhere = util_printf("%s/does/not/exist", tmpdir);
        s = load_ok(nowhere);
        a = lookup(s, "ghcr.io");
        CHECK(a.anonymous && a.error == 0);
        answer_done(&a);
        credentials_store_free(s);
}

static void test_auths(void) {
        /* "auth" is base64("alice:s3cret-pw"); it wins over the username/password fields beside it. */
        _cleanup_free_ char *d = dir_with_config(
                "auths",
                "{\n"
                "  \"auths\": {\n"
                "    \"https://index.docker.io/v1/\": {\"auth\": \"YWxpY2U6czNjcmV0LXB3\", \"username\": \"x\"},\n"
                "    \"ghcr.io\": {\"username\": \"gh-user\", \"password\": \"gh-password\"},\n"
                "    \"http://registry.example.com:5000\": {\"identitytoken\": \"idtok-123\"},\n"
                "    \"https://empty.example\": {},\n"
                "    \"colon.example\": {\"auth\": \"dTpwOmFzczp3b3Jk\"}\n"
                "  },\n"
                "  \"HttpHeaders\": {\"User-Agent\": \"x\"}\n"
                "}\n");
        struct credentials_store *s = load_ok(d);

        const char *hub[] = { "docker.io", "index.docker.io", "registry-1.docker.io", "Docker.IO" };
        for (size_t i = 0; i < ELEMENTSOF(hub); i++) {
                struct answer a = lookup(s, hub[i]);
                CHECK_INT(a.error, 0);
                CHECK(!a.anonymous);
                CHECK_STR(a.creds.username, "alice");
                CHECK_STR(a.creds.password, "s3cret-pw");
                CHECK_STR(a.creds.identity_token, NULL);
                answer_done(&a);
        }

        struct answer a = lookup(s, "ghcr.io");
        CHECK_STR(a.creds.username, "gh-user");
        CHECK_STR(a.creds.password, "gh-password");
        answer_done(&a);
        a = lookup(s, "GHCR.io");
        CHECK_STR(a.creds.password, "gh-password");
        answer_done(&a);

        a = lookup(s, "registry.example.com:5000");
        CHECK(!a.anonymous);
        CHECK_STR(a.creds.username, NULL);
        CHECK_STR(a.creds.identity_token, "idtok-123");
        answer_done(&a);

        /* Another port is another registry; an empty entry is anonymous. */
        a = lookup(s, "registry.example.com:5001");
        CHECK(a.anonymous);
        answer_done(&a);
        a = lookup(s, "empty.example");
        CHECK(a.anonymous && a.error == 0);
        answer_done(&a);
        a = lookup(s, "quay.io");
        CHECK(a.anonymous && a.error == 0 && !a.message);
        answer_done(&a);

        /* Passwords may contain colons: only the first one separates. */
        a = lookup(s, "colon.example");
        CHECK_STR(a.creds.username, "u");
        CHECK_STR(a.creds.password, "p:ass:word");
        answer_done(&a);

        /* Invalid hosts are refused at once. */
        struct answer dummy = {};
        CHECK_INT(credentials_lookup(s, &loop, "", on_answer, &dummy), -EINVAL);
        CHECK_INT(credentials_lookup(s, &loop, "host/path", on_answer, &dummy), -EINVAL);
        CHECK_INT(credentials_lookup(s, &loop, "a host", on_answer, &dummy), -EINVAL);
        CHECK_INT(credentials_lookup(s, &loop, "ghcr.io", NULL, &dummy), -EINVAL);
        CHECK(!dummy.called);
        credentials_store_free(s);
}

static void test_hub_spellings(void) {
        const char *keys[] = { "index.docker.io", "docker.io", "https://registry-1.docker.io", "https://index.docker.io/v1",
                               "http://index.docker.io/v1/", "https://docker.io/v2/" };
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                _cleanup_free_ char *name = util_printf("hub%zu", i);
                _cleanup_free_ char *cfg = util_printf(
                        "{\"auths\": {\"%s\": {\"username\": \"hubuser%zu\", \"password\": \"hub-other-pw\"}}}", keys[i], i);
                _cleanup_free_ char *d = dir_with_config(name, cfg);
                struct credentials_store *s = load_ok(d);
                _cleanup_free_ char *want = util_printf("hubuser%zu", i);
                struct answer a = lookup(s, "docker.io");
                if (!streq_ptr(a.creds.username, want))
                        fprintf(stderr, "key %s\n", keys[i]);
                CHECK_STR(a.creds.username, want);
                answer_done(&a);
                a = lookup(s, "registry-1.docker.io");
                CHECK_STR(a.creds.username, want);
                answer_done(&a);
                /* Not Hub: a lookalike host gets nothing. */
                a = lookup(s, "docker.io.evil.example");
                CHECK(a.anonymous);
                answer_done(&a);
                credentials_store_free(s);
        }

        /* docker's own key wins over another spelling, whatever the order in the file. */
        _cleanup_free_ char *d = dir_with_config(
                "hub-exact", "{\"auths\": {\"docker.io\": {\"username\": \"other\", \"password\": \"hub-other-pw\"},"
                             "\"https://index.docker.io/v1/\": {\"username\": \"exact\", \"password\": \"hub-exact-pw\"}}}");
        struct credentials_store *s = load_ok(d);
        struct answer a = lookup(s, "index.docker.io");
        CHECK_STR(a.creds.username, "exact");
        CHECK_STR(a.creds.password, "hub-exact-pw");
        answer_done(&a);
        credentials_store_free(s);
}

static void test_env_dir(void) {
        _cleanup_free_ char *d = dir_with_config("env", "{\"auths\": {\"env.example\": {\"auth\": \"ZW52OnMzY3JldC1wdw==\"}}}");
        setenv("DOCKER_CONFIG", d, 1);
        struct credentials_store *s = load_ok(NULL);
        struct answer a = lookup(s, "env.example");
        CHECK_STR(a.creds.username, "env");
        CHECK_STR(a.creds.password, "s3cret-pw");
        answer_done(&a);
        credentials_store_free(s);

        /* Without DOCKER_CONFIG: ~/.docker. */
        unsetenv("DOCKER_CONFIG");
        _cleanup_free_ char *home = util_printf("%s/home", tmpdir);
        _cleanup_free_ char *dot = util_printf("%s/.docker", home);
        _cleanup_free_ char *cfg = util_printf("%s/config.json", dot);
        mkdir(home, 0700);
        mkdir(dot, 0700);
        write_file(cfg, "{\"auths\": {\"home.example\": {\"username\": \"homer\", \"password\": \"s3cret-pw\"}}}", 0600);
        const char *old_home = getenv("HOME");
        _cleanup_free_ char *saved = old_home ? strdup(old_home) : NULL;
        setenv("HOME", home, 1);
        s = load_ok(NULL);
        a = lookup(s, "home.example");
        CHECK_STR(a.creds.username, "homer");
        answer_done(&a);
        credentials_store_free(s);
        if (saved)
                setenv("HOME", saved, 1);
        else
                unsetenv("HOME");
}

static void test_malformed(void) {
        static const struct {
                const char *name, *config, *expect;
        } cases[] = {
                { "bad-json", "{\n  \"auths\": {\n    \"x\": {\"password\": \"malformed-pw\",, }\n  }\n}\n", ":3: invalid JSON" },
                { "bad-array", "[1, 2]", "not a JSON object" },
                { "bad-auths", "{\"auths\": [\"malformed-pw\"]}", "\"auths\" is not an object" },
                { "bad-entry", "{\"auths\": {\"h.example\": \"malformed-pw\"}}", "auths[\"h.example\"] is not an object" },
                { "bad-field", "{\"auths\": {\"h.example\": {\"password\": 42}}}", "auths[\"h.example\"] has a field" },
                { "bad-base64", "{\"auths\": {\"h.example\": {\"auth\": \"czNjcmV0!!\"}}}", "auths[\"h.example\"].auth" },
                { "no-colon", "{\"auths\": {\"h.example\": {\"auth\": \"czNjcmV0\"}}}", "auths[\"h.example\"].auth" },
                { "bad-store", "{\"credsStore\": 7}", "\"credsStore\"" },
                { "bad-helper-path", "{\"credHelpers\": {\"h.example\": \"../../bin/sh\"}}", "credHelpers[\"h.example\"]" },
                { "bad-helpers", "{\"credHelpers\": \"desktop\"}", "\"credHelpers\" is not an object" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *d = dir_with_config(cases[i].name, cases[i].config);
                struct credentials_store *s = (struct credentials_store *) 1;
                char *err = NULL;
                int r = credentials_store_load(d, &s, &err);
                CHECK_INT(r, -EBADMSG);
                CHECK(s == (struct credentials_store *) 1);
                _cleanup_free_ char *path = util_printf("%s/config.json", d);
                CHECK_CONTAINS(err, path);
                CHECK_CONTAINS(err, cases[i].expect);
                check_no_secret(err, __LINE__);
                free(err);
        }

        /* Unreadable: a directory where the file should be. */
        _cleanup_free_ char *d = dir_with_config("is-dir", NULL);
        _cleanup_free_ char *p = util_printf("%s/config.json", d);
        mkdir(p, 0700);
        struct credentials_store *s = NULL;
        char *err = NULL;
        CHECK(credentials_store_load(d, &s, &err) < 0);
        CHECK_CONTAINS(err, p);
        free(err);
}

static char *bindir;

static void helper(const char *name, const char *body) {
        _cleanup_free_ char *p = util_printf("%s/docker-credential-%s", bindir, name);
        _cleanup_free_ char *script = util_printf("#!/bin/sh\n%s\n", body);
        write_file(p, script, 0755);
}

static int count_runs(const char *name) {
        _cleanup_free_ char *p = util_printf("%s/runs-%s", tmpdir, name);
        FILE *f = fopen(p, "r");
        if (!f)
                return 0;
        int n = 0, c;
        while ((c = fgetc(f)) != EOF)
                n += c == '\n';
        fclose(f);
        return n;
}

static char *last_server(const char *name) {
        _cleanup_free_ char *p = util_printf("%s/server-%s", tmpdir, name);
        char *s = NULL;
        size_t n;
        return util_read_file(p, 4096, &s, &n) == 0 ? s : NULL;
}

static void setup_helpers(void) {
        bindir = util_printf("%s/bin", tmpdir);
        mkdir(bindir, 0700);
        /* Each helper records the server it was asked about and counts its runs. */
        _cleanup_free_ char *rec = util_printf("read -r server || true; printf '%%s' \"$server\" > %s/server-$1NAME; "
                                               "echo run >> %s/runs-$1NAME",
                                               tmpdir, tmpdir);
        const struct {
                const char *name, *body;
        } helpers[] = {
                { "found", "printf '{\"ServerURL\":\"%s\",\"Username\":\"helper-user\",\"Secret\":\"helper-secret\"}' \"$server\"" },
                { "token", "echo '{\"ServerURL\":\"x\",\"Username\":\"<token>\",\"Secret\":\"helper-idtok\"}'" },
                { "notfound", "echo 'credentials not found in native keychain'; exit 1" },
                { "fail", "echo 'keychain is locked' >&2; exit 3" },
                { "slow", "sleep 10; echo '{}'" },
                { "garbage", "echo '{\"Username\": \"u\", \"Secret\": \"garbage-secret\" trailing'" },
                { "huge", "head -c 100000 /dev/zero | tr '\\0' 'x'" },
                { "empty", "echo '{\"ServerURL\":\"\",\"Username\":\"\",\"Secret\":\"\"}'" },
                { "noread", "exit 1" },
        };
        for (size_t i = 0; i < ELEMENTSOF(helpers); i++) {
                /* The record step substitutes the helper's own name for $1NAME. */
                _cleanup_free_ char *r1 = strdup(rec);
                char *pos;
                while (r1 && (pos = strstr(r1, "$1NAME"))) {
                        *pos = 0;
                        char *n = util_printf("%s%s%s", r1, helpers[i].name, pos + 6);
                        free(r1);
                        r1 = n;
                }
                _cleanup_free_ char *body = streq(helpers[i].name, "noread")
                                                    ? util_printf("echo run >> %s/runs-noread; %s", tmpdir, helpers[i].body)
                                                    : util_printf("%s\n%s", r1, helpers[i].body);
                helper(helpers[i].name, body);
        }
        const char *path = getenv("PATH");
        _cleanup_free_ char *np = util_printf("%s:%s", bindir, path ? path : "/usr/bin:/bin");
        setenv("PATH", np, 1);
}

static void test_helpers(void) {
        _cleanup_free_ char *d = dir_with_config(
                "helpers",
                "{\"auths\": {\"fallback.example\": {\"username\": \"fb\", \"password\": \"fallback-pw\"},"
                "             \"found.example\": {\"username\": \"file-user\", \"password\": \"fallback-pw\"}},"
                " \"credsStore\": \"found\","
                " \"credHelpers\": {\"token.example\": \"token\", \"https://fallback.example\": \"notfound\","
                "                   \"nf.example\": \"notfound\", \"fail.example\": \"fail\", \"slow.example\": \"slow\","
                "                   \"garbage.example\": \"garbage\", \"huge.example\": \"huge\","
                "                   \"missing.example\": \"not-installed\", \"empty.example\": \"empty\","
                "                   \"noread.example\": \"noread\"}}");
        struct credentials_store *s = load_ok(d);
        credentials_store_set_helper_timeout(s, 400);

        /* credsStore for Hub, asked with docker's server address. */
        struct answer a = lookup(s, "registry-1.docker.io");
        CHECK_INT(a.error, 0);
        CHECK_STR(a.creds.username, "helper-user");
        CHECK_STR(a.creds.password, "helper-secret");
        answer_done(&a);
        _cleanup_free_ char *server = last_server("found");
        CHECK_STR(server, "https://index.docker.io/v1/");
        CHECK_INT(count_runs("found"), 1);
        /* Cached per host, whatever the spelling. */
        a = lookup(s, "docker.io");
        CHECK_STR(a.creds.password, "helper-secret");
        answer_done(&a);
        CHECK_INT(count_runs("found"), 1);

        /* The helper's answer wins over the file's; other hosts get the host name on stdin. */
        a = lookup(s, "found.example");
        CHECK_STR(a.creds.username, "helper-user");
        answer_done(&a);
        free(server);
        server = last_server("found");
        CHECK_STR(server, "found.example");
        CHECK_INT(count_runs("found"), 2);

        /* credHelpers beats credsStore; "<token>" makes Secret an identity token. */
        a = lookup(s, "token.example");
        CHECK_INT(a.error, 0);
        CHECK_STR(a.creds.username, NULL);
        CHECK_STR(a.creds.password, NULL);
        CHECK_STR(a.creds.identity_token, "helper-idtok");
        answer_done(&a);
        CHECK_INT(count_runs("found"), 2);

        /* Not found: anonymous, or the file's entry when there is one. */
        a = lookup(s, "nf.example");
        CHECK_INT(a.error, 0);
        CHECK(a.anonymous);
        CHECK_STR(a.message, NULL);
        answer_done(&a);
        a = lookup(s, "fallback.example");
        CHECK_INT(a.error, 0);
        CHECK_STR(a.creds.username, "fb");
        CHECK_STR(a.creds.password, "fallback-pw");
        answer_done(&a);

        /* An empty answer is anonymous. */
        a = lookup(s, "empty.example");
        CHECK_INT(a.error, 0);
        CHECK(a.anonymous);
        answer_done(&a);

        /* Failing: the exit status and what it said, not cached. */
        a = lookup(s, "fail.example");
        CHECK_INT(a.error, -EIO);
        CHECK_CONTAINS(a.message, "docker-credential-fail");
        CHECK_CONTAINS(a.message, "fail.example");
        CHECK_CONTAINS(a.message, "exit status 3");
        CHECK_CONTAINS(a.message, "keychain is locked");
        answer_done(&a);
        a = lookup(s, "fail.example");
        CHECK_INT(a.error, -EIO);
        answer_done(&a);
        CHECK_INT(count_runs("fail"), 2);

        /* Exits without reading stdin. */
        a = lookup(s, "noread.example");
        CHECK_INT(a.error, -EIO);
        CHECK_CONTAINS(a.message, "exit status 1");
        answer_done(&a);

        /* Garbage output is an error that does not repeat the output. */
        a = lookup(s, "garbage.example");
        CHECK_INT(a.error, -EBADMSG);
        CHECK_CONTAINS(a.message, "docker-credential-garbage");
        CHECK(a.message && !strstr(a.message, "trailing"));
        answer_done(&a);

        /* Output is capped. */
        a = lookup(s, "huge.example");
        CHECK_INT(a.error, -EFBIG);
        CHECK_CONTAINS(a.message, "docker-credential-huge");
        answer_done(&a);

        /* Timeout: the helper is killed, the answer comes on time. */
        int64_t t0 = util_now_ms();
        a = lookup(s, "slow.example");
        int64_t took = util_now_ms() - t0;
        CHECK_INT(a.error, -ETIMEDOUT);
        CHECK_CONTAINS(a.message, "timed out");
        CHECK_CONTAINS(a.message, "slow.example");
        CHECK(took >= 350 && took < 3000);
        answer_done(&a);

        /* Not installed: anonymous with a note naming the helper and the config file. */
        a = lookup(s, "missing.example");
        CHECK_INT(a.error, 0);
        CHECK(a.anonymous);
        CHECK_CONTAINS(a.message, "docker-credential-not-installed");
        CHECK_CONTAINS(a.message, d);
        answer_done(&a);

        credentials_store_free(s);
        uv_run(&loop, UV_RUN_DEFAULT);
}

static void test_coalescing_and_cancel(void) {
        _cleanup_free_ char *d = dir_with_config("coalesce", "{\"credsStore\": \"found\"}");
        struct credentials_store *s = load_ok(d);
        int before = count_runs("found");

        struct answer a[3] = {};
        CHECK_INT(credentials_lookup(s, &loop, "ghcr.io", on_answer, &a[0]), 0);
        CHECK_INT(credentials_lookup(s, &loop, "ghcr.io", on_answer, &a[1]), 0);
        CHECK_INT(credentials_lookup(s, &loop, "quay.io", on_answer, &a[2]), 0);
        uv_run(&loop, UV_RUN_DEFAULT);
        for (size_t i = 0; i < 3; i++) {
                CHECK_INT(a[i].calls, 1);
                CHECK_INT(a[i].error, 0);
                CHECK_STR(a[i].creds.password, "helper-secret");
                answer_done(&a[i]);
        }
        CHECK_INT(count_runs("found") - before, 2);
        credentials_store_free(s);

        /* Freeing the store cancels a running helper and a queued answer. */
        _cleanup_free_ char *d2 = dir_with_config("cancel", "{\"credsStore\": \"slow\", \"auths\": {\"q.example\": {}}}");
        s = load_ok(d2);
        CHECK_INT(credentials_lookup(s, &loop, "slow.example", on_answer, &a[0]), 0);
        CHECK_INT(credentials_lookup(s, &loop, "slow.example", on_answer, &a[1]), 0);
        uv_run(&loop, UV_RUN_NOWAIT);
        int64_t t0 = util_now_ms();
        credentials_store_free(s);
        for (size_t i = 0; i < 2; i++) {
                CHECK_INT(a[i].calls, 1);
                CHECK_INT(a[i].error, -ECANCELED);
                answer_done(&a[i]);
        }
        uv_run(&loop, UV_RUN_DEFAULT);
        CHECK(util_now_ms() - t0 < 3000);

        /* A cached answer queued for delivery is canceled too. */
        _cleanup_free_ char *d3 = dir_with_config("cancel-cached", "{}");
        s = load_ok(d3);
        CHECK_INT(credentials_lookup(s, &loop, "q.example", on_answer, &a[0]), 0);
        credentials_store_free(s);
        CHECK_INT(a[0].calls, 1);
        CHECK_INT(a[0].error, -ECANCELED);
        answer_done(&a[0]);
        uv_run(&loop, UV_RUN_DEFAULT);
        credentials_store_free(NULL);
}

int main(void) {
        if (!mkdtemp(tmpdir)) {
                perror("mkdtemp");
                return 1;
        }
        unsetenv("DOCKER_CONFIG");
        if (uv_loop_init(&loop) < 0)
                return 1;

        test_missing_file();
        test_auths();
        test_hub_spellings();
        test_env_dir();
        test_malformed();
        setup_helpers();
        test_helpers();
        test_coalescing_and_cancel();

        /* Every handle the module opened is closed again. */
        CHECK_INT(uv_loop_close(&loop), 0);
        CHECK(messages_seen >= 10);

        _cleanup_free_ char *rm = util_printf("rm -rf '%s'", tmpdir);
        if (system(rm) != 0)
                fprintf(stderr, "could not remove %s\n", tmpdir);
        free(bindir);
        printf("test-credentials: %u messages checked for secrets\n", messages_seen);
        return check_summary("test-credentials");
}
