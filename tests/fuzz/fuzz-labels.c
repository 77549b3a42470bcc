/* Fuzz target for lib/labels: input is the JSON text of an image config's Labels object. */
#include <stdint.h>
#include <stdio.h>

#include "labels.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_display(const char *s, size_t max, bool multiline) {
        if (!s)
                return;
        size_t n = strlen(s);
        if (n == 0 || n > max || s[0] == ' ' || s[n - 1] == ' ')
                abort();
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if ((*p < 0x20 && !(multiline && (*p == '\n' || *p == '\t'))) || *p == 0x7f)
                        abort();
}

static void run(const cJSON *labels) {
        struct extension_labels l;
        if (labels_extract(labels, &l) == 0) {
                check_display(l.title, LABELS_MAX_NAME, false);
                check_display(l.vendor, LABELS_MAX_NAME, false);
                check_display(l.description, LABELS_MAX_DESCRIPTION, true);
                check_display(l.api_version, LABELS_MAX_API_VERSION, false);
                const char *missing = labels_missing_required(&l);
                if (!missing != (l.title && l.vendor && l.api_version))
                        abort();
                labels_done(&l);
        }

        struct labels_finding *f = NULL;
        size_t n = 0;
        if (labels_validate(labels, &f, &n) == 0) {
                if (n > LABELS_MAX_FINDINGS || (n == 0) != (f == NULL))
                        abort();
                for (size_t i = 0; i < n; i++)
                        if (!f[i].label || !f[i].message || !*f[i].message ||
                            (f[i].severity != LABELS_ERROR && f[i].severity != LABELS_WARNING))
                                abort();
                labels_findings_free(f, n);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size > (1u << 20))
                return 0;
        cJSON *labels = cJSON_ParseWithLength((const char *) data, size);
        run(labels);
        cJSON_Delete(labels);

        /* The same bytes as the value of every documented label reach the value checks directly. */
        char *value = malloc(size + 1);
        if (!value)
                return 0;
        memcpy(value, data, size);
        value[size] = 0;
        static const char *const keys[] = {
                LABELS_TITLE,        LABELS_DESCRIPTION,          LABELS_VENDOR,        LABELS_API_VERSION,
                LABELS_ICON,         LABELS_SCREENSHOTS,          LABELS_DETAILED_DESCRIPTION,
                LABELS_PUBLISHER_URL, LABELS_ADDITIONAL_URLS,     LABELS_CHANGELOG,     LABELS_ACCOUNT_INFO,
                LABELS_CATEGORIES,
        };
        labels = cJSON_CreateObject();
        for (size_t i = 0; labels && i < ELEMENTSOF(keys); i++)
                cJSON_AddStringToObject(labels, keys[i], value);
        run(labels);
        cJSON_Delete(labels);
        free(value);
        return 0;
}
