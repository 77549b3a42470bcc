/* The service's log: the journal with fields when systemd connected stderr to it, else readable lines on stderr. */
#pragma once

#include <stdint.h>

#include "config.h"
#include "util.h"

/* Decides once where messages go: the journal when $JOURNAL_STREAM names our stderr. */
void log_open(void);
/* Messages less severe than level are dropped. */
void log_set_level(enum config_log_level level);
enum config_log_level log_get_level(void);

/* One message; extension (a repository name) and scan_id (when > 0) go into the journal's
 * EXTENSION= and SCAN_ID= fields, and onto a stderr line as a prefix. */
void log_full(enum config_log_level level, const char *extension, int64_t scan_id, const char *fmt, ...)
        _printf_(4, 5);

#define log_error(...) log_full(CONFIG_LOG_ERROR, NULL, 0, __VA_ARGS__)
#define log_warning(...) log_full(CONFIG_LOG_WARNING, NULL, 0, __VA_ARGS__)
#define log_info(...) log_full(CONFIG_LOG_INFO, NULL, 0, __VA_ARGS__)
#define log_debug(...) log_full(CONFIG_LOG_DEBUG, NULL, 0, __VA_ARGS__)
