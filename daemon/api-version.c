/* Which Extension API version this Desktop speaks: the config, else `docker extension version`, else the fallback. */
#include "api-version.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "semver.h"
#include "util.h"

#define DETECT_TIMEOUT_MS 5000
#define DETECT_OUTPUT_MAX 16384

/* Runs `docker extension version` with a time limit; its stdout, or NULL when it is missing or fails. */
static char *run_docker_extension_version(void) {
        int pipefd[2];
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return NULL;
        pid_t pid = fork();
        if (pid < 0) {
                close(pipefd[0]);
                close(pipefd[1]);
                return NULL;
        }
        if (pid == 0) {
                int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
                dup2(devnull, STDIN_FILENO);
                dup2(pipefd[1], STDOUT_FILENO);
                dup2(devnull, STDERR_FILENO);
                execlp("docker", "docker", "extension", "version", (char *) NULL);
                _exit(127);
        }
        close(pipefd[1]);

        char *out = malloc(DETECT_OUTPUT_MAX + 1);
        size_t len = 0;
        int64_t deadline = util_now_ms() + DETECT_TIMEOUT_MS;
        bool timed_out = false;
        while (out && len < DETECT_OUTPUT_MAX) {
                int64_t left = deadline - util_now_ms();
                if (left <= 0) {
                        timed_out = true;
                        break;
                }
                struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
                int r = poll(&p, 1, (int) left);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0) {
                        timed_out = r == 0;
                        break;
                }
                ssize_t n = read(pipefd[0], out + len, DETECT_OUTPUT_MAX - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                len += (size_t) n;
        }
        close(pipefd[0]);
        if (timed_out)
                kill(pid, SIGKILL);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (!out || timed_out || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                free(out);
                return NULL;
        }
        out[len] = 0;
        return out;
}

int api_version_parse_docker_output(const char *output, char **ret) {
        /* The line reads "Server API Version: 0.3.4"; the client's own line is not the Desktop's. */
        for (const char *line = output; line && *line;) {
                const char *end = strchrnul(line, '\n');
                const char *p = line;
                while (*p == ' ' || *p == '\t')
                        p++;
                const char *v = util_startswith_no_case(p, "Server API Version:");
                if (v) {
                        while (*v == ' ' || *v == '\t')
                                v++;
                        size_t n = (size_t) (end - v);
                        while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\r' || v[n - 1] == '\t'))
                                n--;
                        _cleanup_free_ char *candidate = strndup(v, n);
                        if (!candidate)
                                return -ENOMEM;
                        struct semver sv;
                        if (semver_parse(candidate, SEMVER_PARSE_ALLOW_V, &sv) < 0)
                                return -EBADMSG;
                        semver_done(&sv);
                        *ret = TAKE_PTR(candidate);
                        return 0;
                }
                line = *end ? end + 1 : NULL;
        }
        return -ENOENT;
}

int api_version_resolve(const char *configured, char **ret_version, enum api_version_source *ret_source) {
        if (configured) {
                char *v = strdup(configured);
                if (!v)
                        return -ENOMEM;
                *ret_version = v;
                *ret_source = API_VERSION_FROM_CONFIG;
                return 0;
        }
        _cleanup_free_ char *out = run_docker_extension_version();
        char *v = NULL;
        if (out && api_version_parse_docker_output(out, &v) == 0) {
                *ret_version = v;
                *ret_source = API_VERSION_DETECTED;
                return 0;
        }
        v = strdup(CONFIG_FALLBACK_API_VERSION);
        if (!v)
                return -ENOMEM;
        *ret_version = v;
        *ret_source = API_VERSION_FALLBACK;
        return 0;
}

const char *api_version_source_describe(enum api_version_source s) {
        switch (s) {
        case API_VERSION_FROM_CONFIG:
                return "from the configuration";
        case API_VERSION_DETECTED:
                return "detected with `docker extension version`";
        case API_VERSION_FALLBACK:
                break;
        }
        return "default: extension_api_version is not set and `docker extension version` gave no answer";
}
