/* Unit tests for lib/report: the CONTRACT §4 record and summary JSON, and the human table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "util.h"
#include "check.h"

static const char *const record_keys[] = {
        "repository", "title", "vendor", "description", "pinned", "installed", "latest", "latest_compatible",
        "api_constraint", "latest_api_constraint", "digest", "platforms", "update_available", "status", "error",
        "checked_at",
};

static void test_record(void) {
        char *platforms[] = {"linux/amd64", "linux/arm64", NULL};
        struct store_record r = {
                .repository = "docker/disk-usage-extension", .title = "Disk usage", .vendor = "Docker Inc.",
                .installed = "0.2.7", .latest = "0.3.0", .latest_compatible = "0.2.8",
                .api_constraint = ">= 0.3.4", .latest_api_constraint = ">= 0.4.0", .digest = "sha256:00",
                .platforms = platforms, .update_available = true, .status = "ok",
                .checked_at = "2026-11-28T13:00:00Z",
        };
        cJSON *o = report_record_json(&r);
        CHECK(o != NULL);
        size_t i = 0;
        for (cJSON *e = o ? o->child : NULL; e; e = e->next, i++)
                CHECK(i < ELEMENTSOF(record_keys) && streq(e->string, record_keys[i]));
        CHECK(i == ELEMENTSOF(record_keys));
        CHECK(cJSON_IsNull(cJSON_GetObjectItem(o, "pinned")));
        CHECK(cJSON_IsNull(cJSON_GetObjectItem(o, "description")));
        CHECK(cJSON_IsTrue(cJSON_GetObjectItem(o, "update_available")));
        CHECK(streq(cJSON_GetObjectItem(o, "latest_compatible")->valuestring, "0.2.8"));
        cJSON *p = cJSON_GetObjectItem(o, "platforms");
        CHECK(cJSON_GetArraySize(p) == 2 && streq(cJSON_GetArrayItem(p, 1)->valuestring, "linux/arm64"));
        cJSON_Delete(o);

        struct store_record none = {.repository = "acme/x", .status = "incompatible", .latest = "v2.0.0"};
        o = report_record_json(&none);
        CHECK(cJSON_IsNull(cJSON_GetObjectItem(o, "platforms")));
        CHECK(cJSON_IsFalse(cJSON_GetObjectItem(o, "update_available")));
        CHECK(streq(cJSON_GetObjectItem(o, "latest")->valuestring, "v2.0.0"));
        cJSON_Delete(o);
}

static void test_once_document(void) {
        struct scan_summary s = {.id = 7, .started_at = 1795861800, .finished_at = 1795861860, .repositories = 2,
                                 .updates = 1, .errors = 1, .requests = 58};
        struct store_record records[] = {
                {.repository = "a/b", .status = "ok"},
                {.repository = "c/d", .status = "error", .error = "c/d: tags: HTTP 404"},
        };
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        CHECK_INT(report_write_once_json(f, &s, records, 2), 0);
        CHECK_INT(fclose(f), 0);
        cJSON *doc = cJSON_Parse(out);
        CHECK(cJSON_IsObject(doc));
        CHECK(out && len > 0 && out[len - 1] == '\n');
        free(out);
        cJSON *scan = cJSON_GetObjectItem(doc, "scan");
        CHECK(cJSON_GetObjectItem(scan, "id")->valueint == 7);
        CHECK(streq(cJSON_GetObjectItem(scan, "started_at")->valuestring, "2026-11-28T10:30:00Z"));
        CHECK(streq(cJSON_GetObjectItem(scan, "finished_at")->valuestring, "2026-11-28T10:31:00Z"));
        CHECK(cJSON_GetObjectItem(scan, "requests")->valueint == 58);
        cJSON *list = cJSON_GetObjectItem(doc, "extensions");
        CHECK(cJSON_GetArraySize(list) == 2);
        CHECK(streq(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 1), "error")->valuestring, "c/d: tags: HTTP 404"));
        cJSON_Delete(doc);

        /* None at all is still a document. */
        out = NULL;
        f = open_memstream(&out, &len);
        CHECK_INT(report_write_once_json(f, &s, records, 0), 0);
        CHECK_INT(fclose(f), 0);
        doc = cJSON_Parse(out);
        CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "extensions")), 0);
        cJSON_Delete(doc);
        free(out);

        s.finished_at = 0;
        cJSON *running = report_summary_json(&s);
        CHECK(cJSON_IsNull(cJSON_GetObjectItem(running, "finished_at")));
        cJSON_Delete(running);
}

static void test_table(void) {
        struct scan_summary s = {.repositories = 3, .updates = 1, .errors = 1, .requests = 9};
        struct store_record records[] = {
                {.repository = "docker/disk-usage-extension", .installed = "0.2.7", .latest = "0.3.0",
                 .latest_compatible = "0.2.8", .status = "ok", .update_available = true},
                {.repository = "acme/gone", .status = "error", .error = "acme/gone: tags: HTTP 404"},
                {.repository = "acme/arm", .latest = "1.0.0", .status = "incompatible"},
        };
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        char *notes[] = {NULL, NULL, (char *) "1.0.0 does not provide linux/amd64"};
        CHECK(report_print_table(f, &s, records, 3, notes) == 0);
        fclose(f);
        CHECK(strstr(out, "REPOSITORY") == out);
        CHECK(strstr(out, "docker/disk-usage-extension  0.2.7      0.3.0   0.2.8       ok            yes\n") != NULL);
        CHECK(strstr(out, "error: acme/gone: tags: HTTP 404\n") != NULL);
        CHECK(strstr(out, "acme/arm: 1.0.0 does not provide linux/amd64\n") != NULL);
        CHECK(strstr(out, "3 repositories, 1 update available, 1 error, 9 requests\n") != NULL);
        free(out);
}

/* 21 repositories behind one unreachable registry make one line, where the first stands; another
 * registry's single failure keeps its own line. */
static void test_grouped_errors(void) {
        struct scan_summary s = {.repositories = 23, .errors = 22};
        struct store_record records[23] = {};
        char names[23][32], errors[23][160];
        for (size_t i = 0; i < 23; i++) {
                snprintf(names[i], sizeof(names[i]), "127.0.0.1:1/acme/x%zu", i);
                snprintf(errors[i], sizeof(errors[i]), "%s: %s: registry http://127.0.0.1:1/v2/ unreachable: refused",
                         names[i], i % 2 ? "tags" : "manifest");
                records[i] = (struct store_record) {.repository = names[i], .status = "error", .error = errors[i]};
        }
        records[1] = (struct store_record) {.repository = "acme/ok", .latest = "1.0.0", .status = "ok"};
        snprintf(errors[5], sizeof(errors[5]), "%s: tags: registry https://other.test/v2/ unreachable: refused",
                 names[5]);
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        CHECK(report_print_table(f, &s, records, 23, NULL) == 0);
        fclose(f);
        CHECK_CONTAINS(out, "\nerror: registry http://127.0.0.1:1/v2/ unreachable: refused (21 repositories: "
                            "127.0.0.1:1/acme/x0, 127.0.0.1:1/acme/x2, 127.0.0.1:1/acme/x3 and 18 more)\n"
                            "error: 127.0.0.1:1/acme/x5: tags: registry https://other.test/v2/ unreachable: refused\n\n");
        size_t lines = 0;
        for (const char *p = strstr(out, "\nerror: "); p; p = strstr(p + 1, "\nerror: "))
                lines++;
        CHECK_INT(lines, 2);
        free(out);
}

int main(void) {
        test_record();
        test_once_document();
        test_table();
        test_grouped_errors();
        return check_summary("test-report");
}
