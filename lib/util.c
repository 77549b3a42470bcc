/* Small helpers shared by every module: cleanup attributes, string lists, time stamps. */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

const char *util_startswith(const char *s, const char *prefix) {
        size_t n = strlen(prefix);
        return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

const char *util_startswith_no_case(const char *s, const char *prefix) {
        size_t n = strlen(prefix);
        return strncasecmp(s, prefix, n) == 0 ? s + n : NULL;
}

void util_ascii_lower_copy(char *dst, const char *src) {
        for (; *src; src++)
                *dst++ = *src >= 'A' && *src <= 'Z' ? (char) (*src - 'A' + 'a') : *src;
        *dst = 0;
}

void util_strv_free(char **l) {
        if (!l)
                return;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
}

size_t util_strv_length(char *const *l) {
        size_t n = 0;
        if (l)
                while (l[n])
                        n++;
        return n;
}

int util_strv_consume(char ***l, char *s) {
        if (!s)
                return -ENOMEM;
        size_t n = util_strv_length(*l);
        char **nl = realloc(*l, (n + 2) * sizeof(char *));
        if (!nl) {
                free(s);
                return -ENOMEM;
        }
        nl[n] = s;
        nl[n + 1] = NULL;
        *l = nl;
        return 0;
}

int util_strv_push(char ***l, const char *s) {
        return util_strv_consume(l, strdup(s));
}

bool util_strv_contains(char *const *l, const char *s) {
        if (l)
                for (char *const *i = l; *i; i++)
                        if (streq(*i, s))
                                return true;
        return false;
}

char *util_printf(const char *fmt, ...) {
        va_list ap;
        char *s;
        va_start(ap, fmt);
        int r = vasprintf(&s, fmt, ap);
        va_end(ap);
        return r < 0 ? NULL : s;
}

int util_fail(char **ret_error, int r, const char *fmt, ...) {
        if (ret_error) {
                va_list ap;
                char *s = NULL;
                va_start(ap, fmt);
                if (vasprintf(&s, fmt, ap) < 0)
                        s = NULL;
                va_end(ap);
                free(*ret_error);
                *ret_error = s;
        }
        return r;
}

void util_free_secret(char *s) {
        if (!s)
                return;
        explicit_bzero(s, strlen(s));
        free(s);
}

void util_format_time(time_t t, char buf[static 21]) {
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(buf, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int64_t util_now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int util_read_file(const char *path, size_t max, char **ret, size_t *ret_len) {
        /* O_NONBLOCK: opening a FIFO must not wait for a writer before we can refuse it. */
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        if (!S_ISREG(st.st_mode)) {
                close(fd);
                return S_ISDIR(st.st_mode) ? -EISDIR : -ENOTSUP;
        }
        /* A regular file never blocks; clear the flag anyway so a read is an ordinary read. */
        (void) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        size_t cap = 4096, len = 0;
        char *buf = malloc(cap);
        if (!buf) {
                close(fd);
                return -ENOMEM;
        }
        for (;;) {
                if (len + 1 >= cap) {
                        if (cap > max + 1) {
                                free(buf);
                                close(fd);
                                return -EFBIG;
                        }
                        char *nb = realloc(buf, cap * 2);
                        if (!nb) {
                                free(buf);
                                close(fd);
                                return -ENOMEM;
                        }
                        buf = nb;
                        cap *= 2;
                }
                ssize_t n = read(fd, buf + len, cap - len - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        int r = -errno;
                        free(buf);
                        close(fd);
                        return r;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        close(fd);
        if (len > max) {
                free(buf);
                return -EFBIG;
        }
        buf[len] = 0;
        *ret = buf;
        if (ret_len)
                *ret_len = len;
        return 0;
}

const char *util_read_file_strerror(int error) {
        switch (error) {
        case -ENOTSUP:
                return "not a regular file (a FIFO, pipe, device or socket is not read)";
        default:
                return strerror(-error);
        }
}

int util_mkdir_parents(const char *dir, mode_t mode) {
        _cleanup_free_ char *p = strdup(dir);
        if (!p)
                return -ENOMEM;
        for (char *c = p + 1;; c++) {
                if (*c != '/' && *c != 0)
                        continue;
                char saved = *c;
                *c = 0;
                if (mkdir(p, mode) == 0) {
                        /* The umask may have taken bits away (0500 leaves us unable to go on). */
                        if (chmod(p, mode) < 0)
                                return -errno;
                } else if (errno != EEXIST)
                        return -errno;
                *c = saved;
                if (!saved)
                        break;
        }
        struct stat st;
        if (stat(dir, &st) < 0)
                return -errno;
        return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* Whether JSON text holds a \u0000 escape: cJSON would cut that string there without a word. */
bool util_json_has_nul_escape(const char *text, size_t len) {
        for (size_t i = 0; i + 1 < len; i++) {
                if (text[i] != '\\')
                        continue;
                if (text[i + 1] == 'u' && i + 5 < len && strncmp(text + i + 2, "0000", 4) == 0)
                        return true;
                i++; /* skip the escaped character: in \\u0000 the backslash is what is escaped */
        }
        return false;
}

const char *util_strerror(int error) {
        if (error == -ENOSPC || error == -EDQUOT)
                return "disk full";
        return strerror(-error);
}

int util_open_std_fds(void) {
        for (int fd = 0; fd <= 2; fd++) {
                if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
                        continue;
                /* The lowest free descriptor is this one, as every lower one is open. */
                int n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
                if (n < 0)
                        return -errno;
                if (n != fd) {
                        close(n);
                        return -EBADF;
                }
        }
        return 0;
}

void util_sha256_digest(const void *data, size_t len, char buf[static 72]) {
        unsigned char md[32];
        unsigned int mdlen = 0;
        EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
        memcpy(buf, "sha256:", 7);
        for (unsigned i = 0; i < 32; i++)
                snprintf(buf + 7 + 2 * i, 3, "%02x", md[i]);
}
