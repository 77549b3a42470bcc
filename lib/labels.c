/* Docker Desktop extension image labels: what an update needs, and the marketplace's full check. */
#include "labels.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <strings.h>

#include "semver.h"
#include "util.h"

static void json_deletep(cJSON **j) {
        cJSON_Delete(*j);
}

/* Longest value quoted back in a message; the rest is elided. */
#define QUOTE_MAX 80u

static const char *const known_categories[] = {
        "ci-cd",         "container-orchestration", "cloud-deployment", "cloud-development",
        "database",      "kubernetes",              "networking",       "image-registry",
        "security",      "testing-tools",           "utility-tools",    "volumes",
};

static bool is_blank_char(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), storing its code point; 0 when the
 * bytes there are not valid UTF-8 (overlong forms, surrogates and values past U+10FFFF included). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *ret) {
        uint32_t c = s[0], min;
        size_t len;
        if (c < 0x80) {
                *ret = c;
                return 1;
        }
        if ((c & 0xe0) == 0xc0) {
                len = 2;
                c &= 0x1f;
                min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
                len = 3;
                c &= 0x0f;
                min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
                len = 4;
                c &= 0x07;
                min = 0x10000;
        } else
                return 0;
        if (len > n)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                c = (c << 6) | (s[i] & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
                return 0;
        *ret = c;
        return len;
}

static bool utf8_valid(const char *s) {
        const unsigned char *p = (const unsigned char *) s;
        size_t n = strlen(s);
        while (n > 0) {
                uint32_t c;
                size_t k = utf8_decode(p, n, &c);
                if (k == 0)
                        return false;
                p += k;
                n -= k;
        }
        return true;
}

/* A display-safe copy of s: trimmed, invalid UTF-8 replaced by U+FFFD, control characters by a
 * space (a multi-line text keeps its newlines and tabs), cut to at most max bytes at a character
 * boundary. NULL on allocation failure. */
static char *sanitize(const char *s, size_t max, bool multiline) {
        while (is_blank_char(*s))
                s++;
        size_t n = strlen(s);
        while (n > 0 && is_blank_char(s[n - 1]))
                n--;
        /* An invalid byte grows into a three-byte U+FFFD. */
        size_t cap = (n < max / 3 ? 3 * n : max) + 1;
        char *out = malloc(cap);
        if (!out)
                return NULL;
        const unsigned char *p = (const unsigned char *) s;
        size_t o = 0;
        while (n > 0) {
                uint32_t c;
                size_t k = utf8_decode(p, n, &c);
                const char *rep = NULL;
                size_t rep_len;
                if (k == 0) {
                        k = 1;
                        rep = "\xef\xbf\xbd";
                } else if (c == '\r' && multiline) {
                        rep = n > 1 && p[1] == '\n' ? "" : "\n";
                } else if ((c == '\n' || c == '\t') && multiline) {
                        rep = NULL; /* kept as they are */
                } else if (c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f)) {
                        rep = " ";
                }
                rep_len = rep ? strlen(rep) : k;
                if (o + rep_len > cap - 1)
                        break;
                memcpy(out + o, rep ? (const unsigned char *) rep : p, rep_len);
                o += rep_len;
                p += k;
                n -= k;
        }
        /* Trim again: control characters at either end became spaces. */
        while (o > 0 && is_blank_char(out[o - 1]))
                o--;
        size_t lead = 0;
        while (lead < o && is_blank_char(out[lead]))
                lead++;
        memmove(out, out + lead, o - lead);
        out[o - lead] = 0;
        return out;
}

/* The last member named key (exactly; Docker's labels are case-sensitive, and Go's decoder keeps
 * the last of duplicate keys); *ret_count, when given, says how many there were. */
static const cJSON *label_get(const cJSON *labels, const char *key, unsigned *ret_count) {
        const cJSON *found = NULL;
        unsigned count = 0;
        if (cJSON_IsObject(labels))
                for (const cJSON *i = labels->child; i; i = i->next)
                        if (i->string && streq(i->string, key)) {
                                found = i;
                                count++;
                        }
        if (ret_count)
                *ret_count = count;
        return found;
}

static int extract_one(const cJSON *labels, const char *key, size_t max, bool multiline, char **ret,
                       bool *ret_not_string) {
        const cJSON *v = label_get(labels, key, NULL);
        if (!cJSON_IsString(v) || !v->valuestring) {
                *ret = NULL;
                if (ret_not_string)
                        *ret_not_string = v != NULL;
                return 0;
        }
        char *s = sanitize(v->valuestring, max, multiline);
        if (!s)
                return -ENOMEM;
        if (!*s) {
                free(s);
                s = NULL;
        }
        *ret = s;
        return 0;
}

int labels_extract(const cJSON *labels, struct extension_labels *ret) {
        struct extension_labels l = {};
        int r;

        if ((r = extract_one(labels, LABELS_TITLE, LABELS_MAX_NAME, false, &l.title, &l.title_not_string)) < 0 ||
            (r = extract_one(labels, LABELS_VENDOR, LABELS_MAX_NAME, false, &l.vendor, &l.vendor_not_string)) < 0 ||
            (r = extract_one(labels, LABELS_DESCRIPTION, LABELS_MAX_DESCRIPTION, true, &l.description, NULL)) < 0)
                goto fail;

        const cJSON *api = label_get(labels, LABELS_API_VERSION, NULL);
        if (cJSON_IsString(api) && api->valuestring && strlen(api->valuestring) > LABELS_MAX_API_VERSION)
                l.api_version_too_long = true;
        else if ((r = extract_one(labels, LABELS_API_VERSION, LABELS_MAX_API_VERSION, false, &l.api_version,
                                  &l.api_version_not_string)) < 0)
                goto fail;

        *ret = l;
        return 0;
fail:
        labels_done(&l);
        return r;
}

void labels_done(struct extension_labels *l) {
        if (!l)
                return;
        free(l->title);
        free(l->vendor);
        free(l->description);
        free(l->api_version);
        *l = (struct extension_labels) {};
}

const char *labels_missing_required(const struct extension_labels *l) {
        /* The wrong type is named as labels_validate names it, so scan and validate agree. */
        if (l->title_not_string)
                return "label " LABELS_TITLE " is not a string";
        if (!l->title)
                return "missing label " LABELS_TITLE;
        if (l->vendor_not_string)
                return "label " LABELS_VENDOR " is not a string";
        if (!l->vendor)
                return "missing label " LABELS_VENDOR;
        if (l->api_version_too_long)
                return "label " LABELS_API_VERSION " is too long";
        if (l->api_version_not_string)
                return "label " LABELS_API_VERSION " is not a string";
        if (!l->api_version)
                return "missing label " LABELS_API_VERSION;
        return NULL;
}

/* ---- the marketplace check ---- */

struct findings {
        struct labels_finding *v;
        size_t n;
        bool overflow;
};

static int findings_add(struct findings *f, enum labels_severity sev, const char *label, char *message) {
        if (!message)
                return -ENOMEM;
        if (f->overflow) {
                /* The closing note must not hide that something dropped was an error. */
                if (sev == LABELS_ERROR)
                        f->v[f->n - 1].severity = LABELS_ERROR;
                free(message);
                return 0;
        }
        if (!f->v) {
                f->v = calloc(LABELS_MAX_FINDINGS, sizeof(struct labels_finding));
                if (!f->v) {
                        free(message);
                        return -ENOMEM;
                }
        }
        if (f->n == LABELS_MAX_FINDINGS - 1) {
                free(message);
                message = util_printf("more problems were found; only the first %u are listed",
                                      LABELS_MAX_FINDINGS - 1);
                if (!message)
                        return -ENOMEM;
                label = "config.Labels";
                f->overflow = true;
        }
        char *l = strdup(label);
        if (!l) {
                free(message);
                return -ENOMEM;
        }
        f->v[f->n++] = (struct labels_finding) { .severity = sev, .label = l, .message = message };
        return 0;
}

static int findingf(struct findings *f, enum labels_severity sev, const char *label, const char *fmt, ...)
        _printf_(4, 5);
static int findingf(struct findings *f, enum labels_severity sev, const char *label, const char *fmt, ...) {
        va_list ap;
        char *m;
        va_start(ap, fmt);
        int r = vasprintf(&m, fmt, ap);
        va_end(ap);
        return findings_add(f, sev, label, r < 0 ? NULL : m);
}

/* s in double quotes for a message: at most QUOTE_MAX bytes of it, control characters and bytes
 * that are not UTF-8 escaped, so a hostile label cannot garble a terminal. */
static char *quote(const char *s) {
        size_t n = strlen(s);
        /* Up to four bytes out per byte in, the last character may pass QUOTE_MAX by three bytes,
         * then the quotes, the ellipsis and the NUL. */
        char *out = malloc((QUOTE_MAX + 3) * 4 + 6);
        if (!out)
                return NULL;
        size_t o = 0;
        out[o++] = '"';
        const unsigned char *p = (const unsigned char *) s;
        size_t used = 0;
        while (n > 0) {
                if (used >= QUOTE_MAX) {
                        memcpy(out + o, "\xe2\x80\xa6", 3);
                        o += 3;
                        break;
                }
                uint32_t c;
                size_t k = utf8_decode(p, n, &c);
                if (k == 0 || c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f)) {
                        o += (size_t) sprintf(out + o, "\\x%02x", p[0]);
                        k = 1;
                } else if (c == '"' || c == '\\') {
                        out[o++] = '\\';
                        out[o++] = (char) c;
                } else {
                        memcpy(out + o, p, k);
                        o += k;
                }
                used += k;
                p += k;
                n -= k;
        }
        out[o++] = '"';
        out[o] = 0;
        return out;
}

/* NULL when s is an absolute http:// or https:// URL with a host; else why not. */
static const char *url_problem(const char *s, char **ret_path) {
        const char *authority = util_startswith_no_case(s, "http://");
        if (!authority)
                authority = util_startswith_no_case(s, "https://");
        if (!authority)
                return "is not an absolute http(s) URL";
        /* curl reads "https:///x" as host "x"; a browser does not. */
        if (*authority == '/' || *authority == '\\')
                return "is not a well-formed URL";
        CURLU *u = curl_url();
        if (!u)
                return "could not be checked (out of memory)";
        const char *problem = NULL;
        char *host = NULL;
        if (curl_url_set(u, CURLUPART_URL, s, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !*host)
                problem = "is not a well-formed URL";
        else if (ret_path) {
                char *path = NULL;
                if (curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK && path) {
                        *ret_path = strdup(path);
                        curl_free(path);
                } else
                        *ret_path = NULL;
        }
        curl_free(host);
        curl_url_cleanup(u);
        return problem;
}

/* Adds a finding "PREFIX"VALUE" PROBLEM" when s is not an absolute http(s) URL; 1 when it is. */
static int check_url(struct findings *f, const char *label, const char *prefix, const char *s, char **ret_path) {
        const char *problem = url_problem(s, ret_path);
        if (!problem)
                return 1;
        _cleanup_free_ char *q = quote(s);
        if (!q)
                return -ENOMEM;
        int r = findingf(f, LABELS_ERROR, label, "%s%s %s", prefix, q, problem);
        return r < 0 ? r : 0;
}

enum label_kind {
        KIND_TEXT,
        KIND_API,
        KIND_ICON,
        KIND_SCREENSHOTS,
        KIND_PUBLISHER_URL,
        KIND_ADDITIONAL_URLS,
        KIND_ACCOUNT_INFO,
        KIND_CATEGORIES,
};

#define NONE (-1)

struct label_spec {
        const char *key;
        int if_missing; /* severity, or NONE */
        int if_blank;   /* severity, or NONE */
        size_t max;
        enum label_kind kind;
};

/* EXTENSIONS.md's table, in its order. Long free texts that real published images leave empty are
 * warnings when blank; what Desktop cannot show without is an error. */
static const struct label_spec specs[] = {
        { LABELS_TITLE, LABELS_ERROR, LABELS_ERROR, LABELS_MAX_SHORT_VALUE, KIND_TEXT },
        { LABELS_DESCRIPTION, LABELS_ERROR, LABELS_ERROR, LABELS_MAX_SHORT_VALUE, KIND_TEXT },
        { LABELS_VENDOR, LABELS_ERROR, LABELS_ERROR, LABELS_MAX_SHORT_VALUE, KIND_TEXT },
        { LABELS_API_VERSION, LABELS_ERROR, LABELS_ERROR, LABELS_MAX_SHORT_VALUE, KIND_API },
        { LABELS_ICON, LABELS_ERROR, LABELS_ERROR, LABELS_MAX_SHORT_VALUE, KIND_ICON },
        { LABELS_SCREENSHOTS, LABELS_ERROR, LABELS_ERROR, LABELS_MAX_LONG_VALUE, KIND_SCREENSHOTS },
        { LABELS_DETAILED_DESCRIPTION, LABELS_ERROR, LABELS_WARNING, LABELS_MAX_LONG_VALUE, KIND_TEXT },
        { LABELS_PUBLISHER_URL, LABELS_ERROR, LABELS_ERROR, LABELS_MAX_LONG_VALUE, KIND_PUBLISHER_URL },
        { LABELS_ADDITIONAL_URLS, NONE, LABELS_WARNING, LABELS_MAX_LONG_VALUE, KIND_ADDITIONAL_URLS },
        { LABELS_CHANGELOG, LABELS_ERROR, LABELS_WARNING, LABELS_MAX_LONG_VALUE, KIND_TEXT },
        { LABELS_ACCOUNT_INFO, NONE, NONE, LABELS_MAX_SHORT_VALUE, KIND_ACCOUNT_INFO },
        { LABELS_CATEGORIES, LABELS_WARNING, LABELS_WARNING, LABELS_MAX_SHORT_VALUE, KIND_CATEGORIES },
};

static const char *blank_message(enum label_kind kind) {
        return kind == KIND_CATEGORIES ? "is empty; the marketplace validator has demanded categories"
                                       : "is empty";
}

static const char *missing_message(enum label_kind kind) {
        return kind == KIND_CATEGORIES ? "is missing; the marketplace validator has demanded it"
                                       : "is missing (required)";
}

/* Checks a JSON-array label: [{"NAME": "…", "url": "…"}, …] with both members strings. */
static int check_object_array(struct findings *f, const char *label, const char *value, const char *name) {
        const char *end = NULL;
        _cleanup_(json_deletep) cJSON *a = cJSON_ParseWithOpts(value, &end, true);
        if (!a)
                return findingf(f, LABELS_ERROR, label,
                                "is not valid JSON (at byte %zu); expected an array of {\"%s\", \"url\"} objects",
                                end && end >= value ? (size_t) (end - value) : 0, name);
        if (!cJSON_IsArray(a))
                return findingf(f, LABELS_ERROR, label, "is not a JSON array of {\"%s\", \"url\"} objects", name);
        size_t n = (size_t) cJSON_GetArraySize(a);
        if (n == 0)
                return findingf(f, LABELS_WARNING, label, "is an empty array");
        size_t i = 0;
        int r;
        for (const cJSON *e = a->child; e && i < LABELS_MAX_ARRAY; e = e->next) {
                i++;
                if (!cJSON_IsObject(e)) {
                        if ((r = findingf(f, LABELS_ERROR, label, "entry %zu is not an object", i)) < 0)
                                return r;
                        continue;
                }
                const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, name);
                const cJSON *u = cJSON_GetObjectItemCaseSensitive(e, "url");
                if (!cJSON_IsString(t)) {
                        if ((r = findingf(f, LABELS_ERROR, label, "entry %zu has no string \"%s\"", i, name)) < 0)
                                return r;
                } else if (!*t->valuestring) {
                        if ((r = findingf(f, LABELS_WARNING, label, "entry %zu has an empty \"%s\"", i, name)) < 0)
                                return r;
                }
                if (!cJSON_IsString(u)) {
                        if ((r = findingf(f, LABELS_ERROR, label, "entry %zu has no string \"url\"", i)) < 0)
                                return r;
                } else {
                        _cleanup_free_ char *prefix = util_printf("entry %zu: ", i);
                        if (!prefix)
                                return -ENOMEM;
                        if ((r = check_url(f, label, prefix, u->valuestring, NULL)) < 0)
                                return r;
                }
        }
        if (n > LABELS_MAX_ARRAY)
                return findingf(f, LABELS_WARNING, label, "has %zu entries; only the first %u were checked", n,
                                LABELS_MAX_ARRAY);
        return 0;
}

static bool has_image_suffix(const char *path) {
        static const char *const suffixes[] = { ".svg", ".png", ".jpg", ".jpeg" };
        size_t n = strlen(path);
        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                size_t k = strlen(suffixes[i]);
                if (n > k && strcasecmp(path + n - k, suffixes[i]) == 0)
                        return true;
        }
        return false;
}

static int check_icon(struct findings *f, const char *label, const char *value) {
        _cleanup_free_ char *path = NULL;
        int r = check_url(f, label, "", value, &path);
        if (r <= 0)
                return r;
        if (!path || !has_image_suffix(path)) {
                _cleanup_free_ char *q = quote(value);
                if (!q)
                        return -ENOMEM;
                return findingf(f, LABELS_WARNING, label, "%s does not end in .svg, .png or .jpg", q);
        }
        return 0;
}

/* A JSON array here is untidy but seen in published images: each entry must still hold a URL,
 * as a string or as an object's "url". */
static int check_publisher_url(struct findings *f, const char *label, const char *value) {
        if (value[0] != '[')
                return check_url(f, label, "", value, NULL) < 0 ? -ENOMEM : 0;
        _cleanup_(json_deletep) cJSON *a = cJSON_Parse(value);
        if (!cJSON_IsArray(a))
                return check_url(f, label, "", value, NULL) < 0 ? -ENOMEM : 0;
        int r = findingf(f, LABELS_WARNING, label, "holds a JSON array; the documented value is one URL");
        if (r < 0)
                return r;
        if (cJSON_GetArraySize(a) == 0)
                return findingf(f, LABELS_ERROR, label, "is an empty JSON array, not a URL");
        size_t i = 0;
        for (const cJSON *e = a->child; e && i < LABELS_MAX_ARRAY; e = e->next) {
                i++;
                const cJSON *u = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "url") : e;
                if (!cJSON_IsString(u)) {
                        if ((r = findingf(f, LABELS_ERROR, label, "entry %zu holds no URL", i)) < 0)
                                return r;
                        continue;
                }
                _cleanup_free_ char *prefix = util_printf("entry %zu: ", i);
                if (!prefix)
                        return -ENOMEM;
                if ((r = check_url(f, label, prefix, u->valuestring, NULL)) < 0)
                        return r;
        }
        return 0;
}

static int check_account_info(struct findings *f, const char *label, const char *value) {
        if (streq(value, "required"))
                return 0;
        _cleanup_free_ char *q = quote(value);
        if (!q)
                return -ENOMEM;
        if (strcasecmp(value, "required") == 0 || strcasecmp(value, "true") == 0 ||
            strcasecmp(value, "false") == 0)
                return findingf(f, LABELS_WARNING, label, "is %s; the documented values are \"required\" and empty", q);
        return findingf(f, LABELS_ERROR, label, "is %s; the documented values are \"required\" and empty", q);
}

static bool category_known(const char *s) {
        for (size_t i = 0; i < ELEMENTSOF(known_categories); i++)
                if (streq(known_categories[i], s))
                        return true;
        return false;
}

static int check_categories(struct findings *f, const char *label, const char *value) {
        _cleanup_free_ char *copy = strdup(value);
        if (!copy)
                return -ENOMEM;
        char *seen[LABELS_MAX_ARRAY];
        size_t n_seen = 0, n = 0;
        bool empty_entry = false;
        int r;
        char *save = NULL;
        for (char *tok = copy;; tok = NULL) {
                char *c = strtok_r(tok, ",", &save);
                if (!c)
                        break;
                while (is_blank_char(*c))
                        c++;
                size_t len = strlen(c);
                while (len > 0 && is_blank_char(c[len - 1]))
                        c[--len] = 0;
                if (!*c) {
                        empty_entry = true;
                        continue;
                }
                if (++n > LABELS_MAX_ARRAY)
                        return findingf(f, LABELS_WARNING, label, "lists more than %u categories; the rest were not checked",
                                        LABELS_MAX_ARRAY);
                _cleanup_free_ char *q = quote(c);
                if (!q)
                        return -ENOMEM;
                if (!category_known(c)) {
                        if ((r = findingf(f, LABELS_ERROR, label,
                                          "unknown category %s; known: ci-cd, container-orchestration, "
                                          "cloud-deployment, cloud-development, database, kubernetes, networking, "
                                          "image-registry, security, testing-tools, utility-tools, volumes",
                                          q)) < 0)
                                return r;
                        continue;
                }
                bool dup = false;
                for (size_t i = 0; i < n_seen; i++)
                        dup = dup || streq(seen[i], c);
                if (dup) {
                        if ((r = findingf(f, LABELS_WARNING, label, "lists %s more than once", q)) < 0)
                                return r;
                } else
                        seen[n_seen++] = c;
        }
        /* strtok_r folds ",,", a leading and a trailing comma away; they are still untidy. */
        if (empty_entry || value[0] == ',' || strstr(value, ",,") || value[strlen(value) - 1] == ',')
                return findingf(f, LABELS_WARNING, label, "has an empty entry");
        return 0;
}

static int check_api(struct findings *f, const char *label, const char *value) {
        _cleanup_free_ char *q = quote(value);
        if (!q)
                return -ENOMEM;
        _cleanup_(semver_range_freep) struct semver_range *range = NULL;
        int r = semver_range_parse(value, 0, &range);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return findingf(f, LABELS_ERROR, label, "%s is not a valid version range", q);

        /* The marketplace rejected a bare "0.3.0" against SDK 0.3.3: it means that version only. */
        struct semver v;
        r = semver_parse(value, SEMVER_PARSE_ALLOW_V, &v);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0;
        _cleanup_free_ char *plain = NULL;
        r = semver_format(&v, false, &plain);
        semver_done(&v);
        if (r < 0)
                return r;
        return findingf(f, LABELS_WARNING, label,
                        "%s is a bare version, which means exactly that version; write \">=%s\" to accept "
                        "later API versions too",
                        q, plain);
}

static int check_value(struct findings *f, const struct label_spec *s, const char *value) {
        switch (s->kind) {
        case KIND_TEXT:
                return 0;
        case KIND_API:
                return check_api(f, s->key, value);
        case KIND_ICON:
                return check_icon(f, s->key, value);
        case KIND_SCREENSHOTS:
                return check_object_array(f, s->key, value, "alt");
        case KIND_PUBLISHER_URL:
                return check_publisher_url(f, s->key, value);
        case KIND_ADDITIONAL_URLS:
                return check_object_array(f, s->key, value, "title");
        case KIND_ACCOUNT_INFO:
                return check_account_info(f, s->key, value);
        case KIND_CATEGORIES:
                return check_categories(f, s->key, value);
        }
        return 0;
}

static int check_label(struct findings *f, const cJSON *labels, const struct label_spec *s) {
        unsigned count;
        const cJSON *v = label_get(labels, s->key, &count);
        int r;
        if (!v)
                return s->if_missing == NONE ? 0 : findingf(f, s->if_missing, s->key, "%s", missing_message(s->kind));
        if (count > 1 && (r = findingf(f, LABELS_WARNING, s->key, "occurs %u times; the last one counts", count)) < 0)
                return r;
        if (!cJSON_IsString(v) || !v->valuestring)
                return findingf(f, LABELS_ERROR, s->key, "is not a string");
        size_t len = strlen(v->valuestring);
        if (len > s->max)
                return findingf(f, LABELS_ERROR, s->key, "is %zu bytes long; at most %zu are accepted", len, s->max);
        if (!utf8_valid(v->valuestring) &&
            (r = findingf(f, LABELS_WARNING, s->key, "is not valid UTF-8")) < 0)
                return r;

        const char *b = v->valuestring;
        while (is_blank_char(*b))
                b++;
        _cleanup_free_ char *value = strdup(b);
        if (!value)
                return -ENOMEM;
        for (size_t n = strlen(value); n > 0 && is_blank_char(value[n - 1]);)
                value[--n] = 0;
        if (!*value)
                return s->if_blank == NONE ? 0 : findingf(f, s->if_blank, s->key, "%s", blank_message(s->kind));
        return check_value(f, s, value);
}

/* Levenshtein distance, for suggesting the documented label a misspelt one meant; any value at or
 * above limit means "too far" and ends the work early. */
static size_t edit_distance(const char *a, const char *b, size_t limit) {
        size_t la = strlen(a), lb = strlen(b);
        size_t row[128];
        if (lb >= ELEMENTSOF(row) || (la > lb ? la - lb : lb - la) >= limit)
                return limit;
        for (size_t j = 0; j <= lb; j++)
                row[j] = j;
        for (size_t i = 1; i <= la; i++) {
                size_t diag = row[0], row_min;
                row[0] = row_min = i;
                for (size_t j = 1; j <= lb; j++) {
                        size_t up = row[j];
                        size_t best = diag + (a[i - 1] != b[j - 1]);
                        if (up + 1 < best)
                                best = up + 1;
                        if (row[j - 1] + 1 < best)
                                best = row[j - 1] + 1;
                        row[j] = best;
                        diag = up;
                        if (best < row_min)
                                row_min = best;
                }
                if (row_min >= limit)
                        return limit;
        }
        return row[lb];
}

static int check_unknown(struct findings *f, const cJSON *labels) {
        for (const cJSON *i = labels->child; i && !f->overflow; i = i->next) {
                const char *k = i->string;
                if (!k || (!util_startswith(k, "com.docker.extension.") &&
                           !util_startswith(k, "com.docker.desktop.extension.")))
                        continue;
                const char *suggest = NULL;
                size_t best = 4;
                bool known = false;
                for (size_t s = 0; s < ELEMENTSOF(specs); s++) {
                        if (streq(k, specs[s].key)) {
                                known = true;
                                break;
                        }
                        size_t d = edit_distance(k, specs[s].key, best);
                        if (d < best) {
                                best = d;
                                suggest = specs[s].key;
                        }
                }
                if (known)
                        continue;
                int r = suggest ? findingf(f, LABELS_WARNING, k, "is not a documented extension label; did you mean %s?",
                                           suggest)
                                : findingf(f, LABELS_WARNING, k, "is not a documented extension label");
                if (r < 0)
                        return r;
        }
        return 0;
}

void labels_findings_free(struct labels_finding *f, size_t n) {
        if (!f)
                return;
        for (size_t i = 0; i < n; i++) {
                free(f[i].label);
                free(f[i].message);
        }
        free(f);
}

size_t labels_findings_errors(const struct labels_finding *f, size_t n) {
        size_t e = 0;
        for (size_t i = 0; i < n; i++)
                e += f[i].severity == LABELS_ERROR;
        return e;
}

int labels_validate(const cJSON *labels, struct labels_finding **ret, size_t *ret_n) {
        struct findings f = {};
        int r = 0;

        if (labels && !cJSON_IsObject(labels) && !cJSON_IsNull(labels))
                r = findingf(&f, LABELS_ERROR, "config.Labels", "is not a JSON object");
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(specs); i++)
                r = check_label(&f, labels, &specs[i]);
        if (r >= 0 && cJSON_IsObject(labels))
                r = check_unknown(&f, labels);
        if (r < 0) {
                labels_findings_free(f.v, f.n);
                return r;
        }
        if (f.n == 0) {
                free(f.v);
                f.v = NULL;
        }
        *ret = f.v;
        *ret_n = f.n;
        return 0;
}
