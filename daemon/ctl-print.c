/* extupdatectl's output for people: text from outside made safe for a terminal, relative times, tables. */
#include "ctl-print.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "util.h"

char *ctl_escape(const char *s) {
        return s ? text_escape_str(s, SIZE_MAX) : strdup("-");
}

void ctl_relative_time(time_t t, time_t now, char buf[static 32]) {
        long long d = (long long) now - (long long) t;
        bool future = d < 0;
        unsigned long long a = future ? (unsigned long long) -d : (unsigned long long) d;
        if (a < 60) {
                snprintf(buf, 32, future ? "in less than a minute" : "just now");
                return;
        }
        unsigned long long v;
        const char *unit;
        if (a < 3600) {
                v = a / 60;
                unit = "min";
        } else if (a < 2 * 86400) {
                v = a / 3600;
                unit = "h";
        } else {
                v = a / 86400;
                unit = "d";
        }
        snprintf(buf, 32, future ? "in %llu %s" : "%llu %s ago", v, unit);
}

struct ctl_table {
        size_t n_columns, n_rows;
        const char *const *headers;
        char **cells; /* n_rows * n_columns */
};

struct ctl_table *ctl_table_new(const char *const *headers, size_t n_columns) {
        struct ctl_table *t = calloc(1, sizeof(*t));
        if (t)
                *t = (struct ctl_table) { .n_columns = n_columns, .headers = headers };
        return t;
}

int ctl_table_add(struct ctl_table *t, char **cells) {
        char **c = realloc(t->cells, (t->n_rows + 1) * t->n_columns * sizeof(char *));
        if (!c) {
                for (size_t i = 0; i < t->n_columns; i++)
                        free(cells[i]);
                return -ENOMEM;
        }
        t->cells = c;
        memcpy(c + t->n_rows * t->n_columns, cells, t->n_columns * sizeof(char *));
        t->n_rows++;
        return 0;
}

static const char *cell(const struct ctl_table *t, size_t row, size_t col) {
        const char *s = t->cells[row * t->n_columns + col];
        return s ? s : "-";
}

void ctl_table_print(const struct ctl_table *t, FILE *f) {
        size_t *w = calloc(t->n_columns, sizeof(size_t));
        if (!w)
                return;
        size_t line_max = 0;
        for (size_t c = 0; c < t->n_columns; c++) {
                w[c] = strlen(t->headers[c]);
                for (size_t r = 0; r < t->n_rows; r++)
                        if (strlen(cell(t, r, c)) > w[c])
                                w[c] = strlen(cell(t, r, c));
                line_max += w[c] + 2;
        }
        char *line = malloc(line_max + 1);
        for (size_t r = 0; line && r <= t->n_rows; r++) {
                size_t len = 0;
                for (size_t c = 0; c < t->n_columns; c++) {
                        const char *s = r == 0 ? t->headers[c] : cell(t, r - 1, c);
                        len += (size_t) sprintf(line + len, "%-*s  ", (int) w[c], s);
                }
                /* No trailing blanks, even when the last cells are empty. */
                while (len > 0 && line[len - 1] == ' ')
                        len--;
                line[len] = '\0';
                fprintf(f, "%s\n", line);
        }
        free(line);
        free(w);
}

void ctl_table_free(struct ctl_table *t) {
        if (!t)
                return;
        for (size_t i = 0; i < t->n_rows * t->n_columns; i++)
                free(t->cells[i]);
        free(t->cells);
        free(t);
}
