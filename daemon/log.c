/* The service's log: the journal with fields when systemd connected stderr to it, else readable lines on stderr. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <syslog.h>

#include <systemd/sd-journal.h>

static enum config_log_level max_level = CONFIG_LOG_INFO;
static bool to_journal;

void log_open(void) {
        /* systemd sets JOURNAL_STREAM=DEV:INODE for the stream it connected; a child whose stderr was
         * redirected inherits the variable but not the stream, so compare. */
        const char *e = getenv("JOURNAL_STREAM");
        struct stat st;
        unsigned long long dev, ino;
        to_journal = e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
                     (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

void log_set_level(enum config_log_level level) {
        max_level = level;
}

enum config_log_level log_get_level(void) {
        return max_level;
}

static const int priorities[] = {
        [CONFIG_LOG_ERROR] = LOG_ERR,
        [CONFIG_LOG_WARNING] = LOG_WARNING,
        [CONFIG_LOG_INFO] = LOG_INFO,
        [CONFIG_LOG_DEBUG] = LOG_DEBUG,
};

static const char *const prefixes[] = {
        [CONFIG_LOG_ERROR] = "error: ",
        [CONFIG_LOG_WARNING] = "warning: ",
        [CONFIG_LOG_INFO] = "",
        [CONFIG_LOG_DEBUG] = "debug: ",
};

void log_full(enum config_log_level level, const char *extension, int64_t scan_id, const char *fmt, ...) {
        if (level > max_level || (size_t) level >= ELEMENTSOF(priorities))
                return;
        va_list ap;
        va_start(ap, fmt);
        char *text = NULL;
        int n = vasprintf(&text, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        if (to_journal) {
                _cleanup_free_ char *message = util_printf("MESSAGE=%s", text);
                _cleanup_free_ char *priority = util_printf("PRIORITY=%d", priorities[level]);
                _cleanup_free_ char *ext = extension ? util_printf("EXTENSION=%s", extension) : NULL;
                _cleanup_free_ char *scan = scan_id > 0 ? util_printf("SCAN_ID=%lld", (long long) scan_id) : NULL;
                struct iovec iov[4];
                int k = 0;
                if (message && priority) {
                        iov[k++] = (struct iovec) {message, strlen(message)};
                        iov[k++] = (struct iovec) {priority, strlen(priority)};
                        if (ext)
                                iov[k++] = (struct iovec) {ext, strlen(ext)};
                        if (scan)
                                iov[k++] = (struct iovec) {scan, strlen(scan)};
                        if (sd_journal_sendv(iov, k) >= 0) {
                                free(text);
                                return;
                        }
                }
        }
        fprintf(stderr, "%s%s%s%s\n", prefixes[level], extension ? extension : "", extension ? ": " : "", text);
        free(text);
}
