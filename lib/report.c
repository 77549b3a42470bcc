/* The extension record and scan summary as CONTRACT §4 JSON, and as a human-readable table. */
#include "report.h"

#include <errno.h>
#include <string.h>

#include "util.h"

static cJSON *string_or_null(const char *s) {
        return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static bool add(cJSON *o, const char *key, cJSON *value) {
        return value && cJSON_AddItemToObject(o, key, value);
}

cJSON *report_record_json(const struct store_record *r) {
        cJSON *o = cJSON_CreateObject();
        if (!o)
                return NULL;
        /* Like the other fields describing latest_compatible, null when there is none. */
        cJSON *platforms = r->platforms ? cJSON_CreateArray() : cJSON_CreateNull();
        for (char **p = r->platforms; platforms && p && *p; p++)
                if (!cJSON_AddItemToArray(platforms, cJSON_CreateString(*p))) {
                        cJSON_Delete(platforms);
                        platforms = NULL;
                }
        bool ok = add(o, "repository", string_or_null(r->repository)) && add(o, "title", string_or_null(r->title)) &&
                  add(o, "vendor", string_or_null(r->vendor)) &&
                  add(o, "description", string_or_null(r->description)) &&
                  add(o, "pinned", string_or_null(r->pinned)) && add(o, "installed", string_or_null(r->installed)) &&
                  add(o, "latest", string_or_null(r->latest)) &&
                  add(o, "latest_compatible", string_or_null(r->latest_compatible)) &&
                  add(o, "api_constraint", string_or_null(r->api_constraint)) &&
                  add(o, "latest_api_constraint", string_or_null(r->latest_api_constraint)) &&
                  add(o, "digest", string_or_null(r->digest)) && add(o, "platforms", platforms) &&
                  add(o, "update_available", cJSON_CreateBool(r->update_available)) &&
                  add(o, "status", string_or_null(r->status)) && add(o, "error", string_or_null(r->error)) &&
                  add(o, "checked_at", string_or_null(r->checked_at));
        if (!ok) {
                cJSON_Delete(o);
                return NULL;
        }
        return o;
}

cJSON *report_time_json(time_t t) {
        char buf[21];
        if (t <= 0)
                return cJSON_CreateNull();
        util_format_time(t, buf);
        return cJSON_CreateString(buf);
}

cJSON *report_summary_json(const struct scan_summary *s) {
        cJSON *o = cJSON_CreateObject();
        if (!o)
                return NULL;
        bool ok = add(o, "id", cJSON_CreateNumber((double) s->id)) &&
                  add(o, "started_at", report_time_json(s->started_at)) &&
                  add(o, "finished_at", report_time_json(s->finished_at)) &&
                  add(o, "repositories", cJSON_CreateNumber(s->repositories)) &&
                  add(o, "updates", cJSON_CreateNumber(s->updates)) &&
                  add(o, "errors", cJSON_CreateNumber(s->errors)) &&
                  add(o, "requests", cJSON_CreateNumber(s->requests));
        if (!ok) {
                cJSON_Delete(o);
                return NULL;
        }
        return o;
}

/* Prints o unformatted after prefix and frees it; a NULL o (allocation failed) is -ENOMEM. */
static int write_json(FILE *f, const char *prefix, cJSON *o) {
        char *text = o ? cJSON_PrintUnformatted(o) : NULL;
        cJSON_Delete(o);
        if (!text)
                return -ENOMEM;
        int r = fprintf(f, "%s%s", prefix, text) < 0 ? -EIO : 0;
        free(text);
        return r;
}

int report_write_once_json(FILE *f, const struct scan_summary *s, const struct store_record *records, size_t n) {
        int r = write_json(f, "{\"scan\": ", report_summary_json(s));
        if (r >= 0 && fputs(",\n \"extensions\": [", f) < 0)
                r = -EIO;
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = write_json(f, i == 0 ? "\n  " : ",\n  ", report_record_json(&records[i]));
        if (r >= 0 && fputs("\n]}\n", f) < 0)
                r = -EIO;
        return r;
}

static const char *cell(const char *s) {
        return s ? s : "-";
}

static int column_width(const char *title, const struct store_record *records, size_t n,
                        const char *(*get)(const struct store_record *)) {
        size_t w = strlen(title);
        for (size_t i = 0; i < n; i++) {
                size_t l = strlen(cell(get(&records[i])));
                if (l > w)
                        w = l;
        }
        return (int) (w > 60 ? 60 : w);
}

static const char *get_repository(const struct store_record *r) {
        return r->repository;
}
static const char *get_installed(const struct store_record *r) {
        return r->installed;
}
static const char *get_latest(const struct store_record *r) {
        return r->latest;
}
static const char *get_compatible(const struct store_record *r) {
        return r->latest_compatible;
}
static const char *get_status(const struct store_record *r) {
        return r->status ? r->status : "not scanned";
}

/* The part of a record's error that names a registry ("registry URL unreachable: …"), which many
 * repositories of one registry share; NULL for an error of the repository's own. */
static const char *registry_error(const struct store_record *r) {
        if (!r->status || !streq(r->status, "error") || !r->error)
                return NULL;
        const char *p = strstr(r->error, ": registry ");
        return p ? p + 2 : NULL;
}

/* How many repositories one grouped line names before "and N more". */
#define GROUP_NAMES_MAX 3

/* One line for every repository that failed with the same registry error, printed where the first
 * of them stands: one unreachable registry is one line, not one per repository. */
static void print_registry_error(FILE *f, const struct store_record *records, size_t n, size_t first) {
        const char *e = registry_error(&records[first]);
        size_t count = 0;
        for (size_t i = 0; i < n; i++)
                count += registry_error(&records[i]) && streq(registry_error(&records[i]), e);
        if (count == 1) {
                fprintf(f, "error: %s\n", records[first].error);
                return;
        }
        fprintf(f, "error: %s (%zu repositories: ", e, count);
        size_t shown = 0;
        for (size_t i = first; i < n && shown < GROUP_NAMES_MAX; i++)
                if (registry_error(&records[i]) && streq(registry_error(&records[i]), e))
                        fprintf(f, "%s%s", shown++ ? ", " : "", records[i].repository);
        if (count > shown)
                fprintf(f, " and %zu more", count - shown);
        fputs(")\n", f);
}

static bool grouped_before(const struct store_record *records, size_t i) {
        const char *e = registry_error(&records[i]);
        for (size_t k = 0; e && k < i; k++)
                if (registry_error(&records[k]) && streq(registry_error(&records[k]), e))
                        return true;
        return false;
}

int report_print_table(FILE *f, const struct scan_summary *s, const struct store_record *records, size_t n,
                       char *const *notes) {
        int wr = column_width("REPOSITORY", records, n, get_repository);
        int wi = column_width("INSTALLED", records, n, get_installed);
        int wl = column_width("LATEST", records, n, get_latest);
        int wc = column_width("COMPATIBLE", records, n, get_compatible);
        int ws = column_width("STATUS", records, n, get_status);

        fprintf(f, "%-*s  %-*s  %-*s  %-*s  %-*s  %s\n", wr, "REPOSITORY", wi, "INSTALLED", wl, "LATEST", wc,
                "COMPATIBLE", ws, "STATUS", "UPDATE");
        for (size_t i = 0; i < n; i++) {
                const struct store_record *r = &records[i];
                fprintf(f, "%-*.*s  %-*.*s  %-*.*s  %-*.*s  %-*s  %s\n", wr, wr, cell(r->repository), wi, wi,
                        cell(r->installed), wl, wl, cell(r->latest), wc, wc, cell(r->latest_compatible), ws,
                        get_status(r), r->update_available ? "yes" : "");
        }
        bool first = true;
        for (size_t i = 0; i < n; i++) {
                const struct store_record *r = &records[i];
                const char *note = notes ? notes[i] : NULL;
                bool is_error = r->status && streq(r->status, "error");
                if ((!is_error && !note) || grouped_before(records, i))
                        continue;
                if (first)
                        fputc('\n', f);
                first = false;
                if (registry_error(r))
                        print_registry_error(f, records, n, i);
                else if (is_error)
                        fprintf(f, "error: %s\n", cell(r->error));
                else
                        fprintf(f, "%s: %s\n", r->repository, note);
        }
        fprintf(f, "\n%u repositor%s, %u update%s available, %u error%s, %u request%s\n", s->repositories,
                s->repositories == 1 ? "y" : "ies", s->updates, s->updates == 1 ? "" : "s", s->errors,
                s->errors == 1 ? "" : "s", s->requests, s->requests == 1 ? "" : "s");
        return ferror(f) ? -EIO : 0;
}
