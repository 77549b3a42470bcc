/* The extension record and scan summary as CONTRACT §4 JSON, and as a human-readable table. */
#pragma once

#include <stdio.h>

#include <cjson/cJSON.h>

#include "scan.h"
#include "store.h"

/* t as an RFC 3339 string, or JSON null when there is none (t <= 0). NULL on allocation failure. */
cJSON *report_time_json(time_t t);
/* CONTRACT §4 record, keys in the documented order. NULL on allocation failure. */
cJSON *report_record_json(const struct store_record *r);
/* SCAN_SUMMARY: {"id", "started_at", "finished_at", "repositories", "updates", "errors", "requests"}. */
cJSON *report_summary_json(const struct scan_summary *s);
/* Writes the `--once --json` document, {"scan": SUMMARY, "extensions": [RECORD, …]}, one record a
 * line, each built and freed in turn: a thousand records never sit in memory as one JSON tree.
 * Returns 0, -ENOMEM, or -EIO when writing failed. */
int report_write_once_json(FILE *f, const struct scan_summary *s, const struct store_record *records, size_t n);

/* A table of the records (repository, installed, latest, compatible, status, and a mark for
 * updates), then a line for each error (one for all the repositories that failed with the same
 * registry error, such as one unreachable registry) and each note (notes[i], may be NULL or hold NULLs: why
 * records[i] has no compatible version), then the summary line. Returns 0 or -errno of the write. */
int report_print_table(FILE *f, const struct scan_summary *s, const struct store_record *records, size_t n,
                       char *const *notes);
