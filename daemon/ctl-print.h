/* extupdatectl's output for people: text from outside made safe for a terminal, relative times, tables. */
#pragma once

#include <stdio.h>
#include <time.h>

/* s as text_escape writes it (control characters and bytes that are not UTF-8 as \xNN, backslashes
 * doubled), so nothing a registry or the daemon sent can move the cursor or change the terminal; "-"
 * for NULL. malloc'd; NULL on OOM. */
char *ctl_escape(const char *s);

/* "just now", "5 min ago", "2 h ago", "3 d ago", "in 4 h" for t relative to now, into buf. */
void ctl_relative_time(time_t t, time_t now, char buf[static 32]);

/* A table of already-escaped cells: columns padded to their widest cell, two spaces apart. */
struct ctl_table;
struct ctl_table *ctl_table_new(const char *const *headers, size_t n_columns);
/* Adds a row of n_columns cells, taking ownership of them (NULL cells print as "-"). 0 or -ENOMEM. */
int ctl_table_add(struct ctl_table *t, char **cells);
void ctl_table_print(const struct ctl_table *t, FILE *f);
void ctl_table_free(struct ctl_table *t);
