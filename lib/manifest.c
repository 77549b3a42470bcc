/* OCI and Docker image manifests, indexes and config blobs: parsing, platform choice, digests. */
#include "manifest.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <strings.h>

#include "platform.h"
#include "text.h"
#include "util.h"

#define MEDIA_TYPE_SCHEMA1 "application/vnd.docker.distribution.manifest.v1+json"
#define MEDIA_TYPE_SCHEMA1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"
#define MEDIA_TYPE_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define SCHEMA1_MESSAGE                                                                            \
        "Docker image manifest schema 1 is not supported (deprecated since 2017; "                 \
        "push the image again with a current docker or buildx)"
#define ATTESTATION_ANNOTATION "vnd.docker.reference.type"

/* Longest piece of untrusted text quoted in a message. */
#define QUOTE_MAX 64

static const struct {
        const char *media_type;
        enum manifest_kind kind;
} media_types[] = {
        { MANIFEST_MEDIA_TYPE_OCI_INDEX, MANIFEST_OCI_INDEX },
        { MANIFEST_MEDIA_TYPE_OCI_MANIFEST, MANIFEST_OCI_MANIFEST },
        { MANIFEST_MEDIA_TYPE_DOCKER_LIST, MANIFEST_DOCKER_LIST },
        { MANIFEST_MEDIA_TYPE_DOCKER_V2, MANIFEST_DOCKER_V2 },
};

static const char *kind_media_type(enum manifest_kind k) {
        for (size_t i = 0; i < ELEMENTSOF(media_types); i++)
                if (media_types[i].kind == k)
                        return media_types[i].media_type;
        return NULL;
}


/* Compares a media type with an expected one, ignoring parameters (";charset=…") and case. */
static bool media_type_is(const char *value, const char *expected) {
        while (*value == ' ' || *value == '\t')
                value++;
        size_t n = strlen(expected);
        if (strncasecmp(value, expected, n) != 0)
                return false;
        value += n;
        while (*value == ' ' || *value == '\t')
                value++;
        return *value == 0 || *value == ';';
}

int manifest_kind_from_media_type(const char *media_type, enum manifest_kind *ret) {
        if (!media_type)
                return -EPROTONOSUPPORT;
        for (size_t i = 0; i < ELEMENTSOF(media_types); i++)
                if (media_type_is(media_type, media_types[i].media_type)) {
                        *ret = media_types[i].kind;
                        return 0;
                }
        return -EPROTONOSUPPORT;
}

static bool is_schema1(const char *media_type) {
        return media_type && (media_type_is(media_type, MEDIA_TYPE_SCHEMA1) ||
                              media_type_is(media_type, MEDIA_TYPE_SCHEMA1_SIGNED));
}

bool manifest_digest_valid(const char *digest) {
        const char *hex = digest ? util_startswith(digest, "sha256:") : NULL;
        if (!hex)
                return false;
        for (size_t i = 0; i < 64; i++)
                if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
                        return false;
        return hex[64] == 0;
}

int manifest_digest_verify(const void *data, size_t len, const char *digest) {
        if (!manifest_digest_valid(digest))
                return -EINVAL;
        char actual[72];
        util_sha256_digest(data, len, actual);
        return streq(actual, digest) ? 0 : -EBADMSG;
}

void manifest_platform_done(struct manifest_platform *p) {
        if (!p)
                return;
        free(p->os);
        free(p->architecture);
        free(p->variant);
        free(p->os_version);
        *p = (struct manifest_platform) {};
}

static bool platform_part_valid(const char *s, size_t n) {
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
                        return false;
        return true;
}

static char *strndup_lower(const char *s, size_t n) {
        char *c = strndup(s, n);
        if (c)
                for (char *i = c; *i; i++)
                        *i = (char) tolower((unsigned char) *i);
        return c;
}

int manifest_platform_parse(const char *s, struct manifest_platform *ret) {
        const char *parts[3];
        size_t lens[3], n = 0;
        const char *p = s;
        for (;;) {
                const char *slash = strchr(p, '/');
                size_t l = slash ? (size_t) (slash - p) : strlen(p);
                if (n == 3 || !platform_part_valid(p, l))
                        return -EINVAL;
                parts[n] = p;
                lens[n++] = l;
                if (!slash)
                        break;
                p = slash + 1;
        }
        if (n < 2)
                return -EINVAL;
        struct manifest_platform r = {
                .os = strndup_lower(parts[0], lens[0]),
                .architecture = strndup_lower(parts[1], lens[1]),
                .variant = n == 3 ? strndup_lower(parts[2], lens[2]) : NULL,
        };
        if (!r.os || !r.architecture || (n == 3 && !r.variant)) {
                manifest_platform_done(&r);
                return -ENOMEM;
        }
        *ret = r;
        return 0;
}

char *manifest_platform_format(const struct manifest_platform *p) {
        if (p->variant && *p->variant)
                return util_printf("%s/%s/%s", p->os, p->architecture, p->variant);
        return util_printf("%s/%s", p->os, p->architecture);
}

/* The ordered level of a normalized variant within its architecture, or -1 when it has none
 * that we know of (then only an exact variant match counts). */
static int variant_level(const struct platform *n) {
        const char *v = n->variant;
        if (streq(n->arch, "amd64")) {
                if (!*v)
                        return 1;
                if (v[0] == 'v' && v[1] >= '2' && v[1] <= '4' && !v[2])
                        return v[1] - '0';
        } else if (streq(n->arch, "arm")) {
                if (v[0] == 'v' && v[1] >= '5' && v[1] <= '8' && !v[2])
                        return v[1] - '0';
        } else if (streq(n->arch, "arm64")) {
                if (!*v)
                        return 8;
                if (streq(v, "v9"))
                        return 9;
        }
        return -1;
}

unsigned manifest_platform_match(const struct manifest_platform *want,
                                 const struct manifest_platform *have) {
        if (!want->os || !want->architecture || !have->os || !have->architecture)
                return 0;
        /* A component too long for any known platform matches nothing. */
        struct platform w, h;
        if (platform_normalize(want->os, want->architecture, want->variant, &w) < 0 ||
            platform_normalize(have->os, have->architecture, have->variant, &h) < 0)
                return 0;
        if (!streq(w.os, h.os) || !streq(w.arch, h.arch))
                return 0;
        if (streq(w.variant, h.variant))
                return 100;
        int wl = variant_level(&w), hl = variant_level(&h);
        if (hl < 0)
                return 0;
        /* Docker treats a plain amd64 request as "any amd64"; the oldest level is the safest. */
        if (streq(w.arch, "amd64") && !*w.variant)
                return (unsigned) (50 - hl);
        if (wl >= 0 && hl < wl)
                return (unsigned) (50 + hl);
        return 0;
}

char *manifest_platform_normalized(const struct manifest_platform *p) {
        if (!p->os || !p->architecture)
                return NULL;
        struct platform n;
        /* A platform with a component too long to normalize is shown as written. */
        if (platform_normalize(p->os, p->architecture, p->variant, &n) < 0)
                return manifest_platform_format(p);
        return platform_format(&n);
}

static void descriptor_done(struct manifest_descriptor *d) {
        free(d->media_type);
        free(d->digest);
        manifest_platform_done(&d->platform);
        cJSON_Delete(d->annotations);
        *d = (struct manifest_descriptor) {};
}

void manifest_free(struct manifest *m) {
        if (!m)
                return;
        for (size_t i = 0; i < m->n_entries; i++)
                descriptor_done(&m->entries[i]);
        free(m->entries);
        descriptor_done(&m->config);
        free(m);
}

static void cjson_deletep(cJSON **j) {
        cJSON_Delete(*j);
}

/* One JSON document filling the whole buffer (trailing white space allowed), or NULL. */
static cJSON *parse_json(const void *data, size_t len) {
        const char *end = NULL;
        cJSON *j = cJSON_ParseWithLengthOpts(data, len, &end, false);
        if (!j)
                return NULL;
        for (const char *p = end; p < (const char *) data + len; p++)
                if (!strchr(" \t\r\n", *p) || !*p) {
                        cJSON_Delete(j);
                        return NULL;
                }
        return j;
}

/* Reads an optional string member: 0 (ret NULL when absent), or -EBADMSG for a non-string. */
static int get_string(const cJSON *obj, const char *key, const char *where, char **ret,
                      char **ret_error) {
        const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
        if (!j || cJSON_IsNull(j)) {
                *ret = NULL;
                return 0;
        }
        if (!cJSON_IsString(j))
                return util_fail(ret_error, -EBADMSG, "%s%s: not a string", where, key);
        char *s = strdup(j->valuestring);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int parse_platform(const cJSON *j, const char *where, struct manifest_platform *ret,
                          char **ret_error) {
        if (!cJSON_IsObject(j))
                return util_fail(ret_error, -EBADMSG, "%splatform: not an object", where);
        _cleanup_free_ char *w = util_printf("%splatform.", where);
        if (!w)
                return -ENOMEM;
        struct manifest_platform p = {};
        int r = get_string(j, "os", w, &p.os, ret_error);
        if (r >= 0)
                r = get_string(j, "architecture", w, &p.architecture, ret_error);
        if (r >= 0)
                r = get_string(j, "variant", w, &p.variant, ret_error);
        if (r >= 0)
                r = get_string(j, "os.version", w, &p.os_version, ret_error);
        if (r >= 0 && (!p.os || !p.architecture))
                r = util_fail(ret_error, -EBADMSG, "%s: os and architecture are required", w);
        if (r < 0) {
                manifest_platform_done(&p);
                return r;
        }
        *ret = p;
        return 0;
}

static int parse_descriptor(const cJSON *j, const char *where, bool index_entry,
                            struct manifest_descriptor *ret, char **ret_error) {
        if (!cJSON_IsObject(j))
                return util_fail(ret_error, -EBADMSG, "%s: not an object", where);
        _cleanup_free_ char *w = util_printf("%s.", where);
        if (!w)
                return -ENOMEM;
        struct manifest_descriptor d = {};
        int r = get_string(j, "mediaType", w, &d.media_type, ret_error);
        if (r >= 0)
                r = get_string(j, "digest", w, &d.digest, ret_error);
        if (r >= 0 && !d.digest)
                r = util_fail(ret_error, -EBADMSG, "%sdigest: missing", w);
        if (r >= 0 && !manifest_digest_valid(d.digest)) {
                _cleanup_free_ char *q = text_quote_str(d.digest, QUOTE_MAX);
                r = util_fail(ret_error, -EBADMSG, "%sdigest: not a sha256 digest: %s", w, q ? q : "");
        }
        if (r >= 0) {
                const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "size");
                double v = cJSON_IsNumber(s) ? s->valuedouble : -1;
                if (!(v >= 0 && v <= 9007199254740992.0 && v == floor(v)))
                        r = util_fail(ret_error, -EBADMSG, "%ssize: missing or not a non-negative integer",
                                 w);
                else
                        d.size = (int64_t) v;
        }
        if (r >= 0 && index_entry) {
                const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "platform");
                if (p && !cJSON_IsNull(p)) {
                        r = parse_platform(p, w, &d.platform, ret_error);
                        d.has_platform = r >= 0;
                }
        }
        if (r >= 0) {
                const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "annotations");
                if (a && !cJSON_IsNull(a)) {
                        if (!cJSON_IsObject(a))
                                r = util_fail(ret_error, -EBADMSG, "%sannotations: not an object", w);
                        const cJSON *i;
                        if (r >= 0)
                                cJSON_ArrayForEach(i, a) {
                                        if (!cJSON_IsString(i)) {
                                                r = util_fail(ret_error, -EBADMSG,
                                                         "%sannotations: values must be strings",
                                                         w);
                                                break;
                                        }
                                }
                        if (r >= 0 && !(d.annotations = cJSON_Duplicate(a, true)))
                                r = -ENOMEM;
                }
        }
        if (r < 0) {
                descriptor_done(&d);
                return r;
        }
        if (index_entry) {
                const cJSON *t = cJSON_GetObjectItemCaseSensitive(d.annotations,
                                                                  ATTESTATION_ANNOTATION);
                d.attestation = (cJSON_IsString(t) && streq(t->valuestring, "attestation-manifest")) ||
                                (d.has_platform && streq(d.platform.os, "unknown") &&
                                 streq(d.platform.architecture, "unknown"));
        }
        *ret = d;
        return 0;
}

static int parse_index(const cJSON *root, struct manifest *m, char **ret_error) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "manifests");
        if (!cJSON_IsArray(list))
                return util_fail(ret_error, -EBADMSG, "%s: \"manifests\" is missing or not an array",
                            m->media_type);
        int n = cJSON_GetArraySize(list);
        if (n < 0 || (unsigned) n > MANIFEST_MAX_ENTRIES)
                return util_fail(ret_error, -EBADMSG, "index has %d entries, more than the limit of %u", n,
                            MANIFEST_MAX_ENTRIES);
        if (n == 0)
                return 0;
        m->entries = calloc((size_t) n, sizeof *m->entries);
        if (!m->entries)
                return -ENOMEM;
        const cJSON *e;
        cJSON_ArrayForEach(e, list) {
                char where[32];
                snprintf(where, sizeof where, "manifests[%zu]", m->n_entries);
                int r = parse_descriptor(e, where, true, &m->entries[m->n_entries], ret_error);
                if (r < 0)
                        return r;
                m->n_entries++;
        }
        return 0;
}

static int parse_image(const cJSON *root, struct manifest *m, char **ret_error) {
        const cJSON *config = cJSON_GetObjectItemCaseSensitive(root, "config");
        if (!config)
                return util_fail(ret_error, -EBADMSG, "%s: \"config\" is missing", m->media_type);
        int r = parse_descriptor(config, "config", false, &m->config, ret_error);
        if (r < 0)
                return r;
        const cJSON *layers = cJSON_GetObjectItemCaseSensitive(root, "layers");
        if (layers && !cJSON_IsNull(layers)) {
                if (!cJSON_IsArray(layers))
                        return util_fail(ret_error, -EBADMSG, "layers: not an array");
                int n = cJSON_GetArraySize(layers);
                if (n < 0 || (unsigned) n > MANIFEST_MAX_LAYERS)
                        return util_fail(ret_error, -EBADMSG,
                                    "image has %d layers, more than the limit of %u", n,
                                    MANIFEST_MAX_LAYERS);
                m->n_layers = (size_t) n;
        }
        return 0;
}

/* Decides the kind of a document: its mediaType, else the Content-Type, else its shape. */
static int detect_kind(const cJSON *root, const char *content_type, struct manifest *m,
                       char **ret_error) {
        const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "mediaType");
        const cJSON *sv = cJSON_GetObjectItemCaseSensitive(root, "schemaVersion");

        if (cJSON_IsNumber(sv) && sv->valuedouble == 1)
                return util_fail(ret_error, -EPROTONOSUPPORT, SCHEMA1_MESSAGE);
        if (sv && !(cJSON_IsNumber(sv) && sv->valuedouble == 2))
                return util_fail(ret_error, -EBADMSG, "schemaVersion: must be 2");

        if (mt && !cJSON_IsNull(mt)) {
                if (!cJSON_IsString(mt))
                        return util_fail(ret_error, -EBADMSG, "mediaType: not a string");
                if (is_schema1(mt->valuestring))
                        return util_fail(ret_error, -EPROTONOSUPPORT, SCHEMA1_MESSAGE);
                if (manifest_kind_from_media_type(mt->valuestring, &m->kind) < 0) {
                        _cleanup_free_ char *q = text_quote_str(mt->valuestring, QUOTE_MAX);
                        return util_fail(ret_error, -EPROTONOSUPPORT, "unsupported manifest media type %s", q ? q : "");
                }
                return 0;
        }

        m->media_type_inferred = true;
        if (manifest_kind_from_media_type(content_type, &m->kind) >= 0)
                return 0;
        if (is_schema1(content_type) || cJSON_GetObjectItemCaseSensitive(root, "fsLayers"))
                return util_fail(ret_error, -EPROTONOSUPPORT, SCHEMA1_MESSAGE);
        if (cJSON_GetObjectItemCaseSensitive(root, "manifests")) {
                m->kind = MANIFEST_OCI_INDEX;
                return 0;
        }
        const cJSON *config = cJSON_GetObjectItemCaseSensitive(root, "config");
        if (config) {
                const cJSON *cmt = cJSON_GetObjectItemCaseSensitive(config, "mediaType");
                m->kind = cJSON_IsString(cmt) && media_type_is(cmt->valuestring,
                                                               MEDIA_TYPE_DOCKER_CONFIG)
                                  ? MANIFEST_DOCKER_V2
                                  : MANIFEST_OCI_MANIFEST;
                return 0;
        }
        return util_fail(ret_error, -EBADMSG,
                    "neither an index nor an image manifest (no mediaType, manifests or config)");
}

int manifest_parse(const void *data, size_t len, const char *content_type, struct manifest **ret,
                   char **ret_error) {
        if (len > MANIFEST_MAX_SIZE)
                return util_fail(ret_error, -EFBIG, "manifest of %zu bytes is larger than the limit of %u",
                            len, MANIFEST_MAX_SIZE);
        _cleanup_(cjson_deletep) cJSON *root = parse_json(data, len);
        if (!root)
                return util_fail(ret_error, -EBADMSG, "manifest is not valid JSON");
        if (!cJSON_IsObject(root))
                return util_fail(ret_error, -EBADMSG, "manifest is not a JSON object");

        _cleanup_(manifest_freep) struct manifest *m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;
        int r = detect_kind(root, content_type, m, ret_error);
        if (r < 0)
                return r;
        m->media_type = kind_media_type(m->kind);
        r = manifest_is_index(m) ? parse_index(root, m, ret_error) : parse_image(root, m, ret_error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

const struct manifest_descriptor *manifest_select(const struct manifest *m,
                                                  const struct manifest_platform *want) {
        const struct manifest_descriptor *best = NULL;
        unsigned best_rank = 0;
        for (size_t i = 0; i < m->n_entries; i++) {
                const struct manifest_descriptor *d = &m->entries[i];
                if (d->attestation || !d->has_platform)
                        continue;
                unsigned rank = manifest_platform_match(want, &d->platform);
                if (rank > best_rank) {
                        best = d;
                        best_rank = rank;
                }
        }
        return best;
}

static int strcmp_ptr(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int manifest_platforms(const struct manifest *m, char ***ret) {
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_entries; i++) {
                const struct manifest_descriptor *d = &m->entries[i];
                if (d->attestation || !d->has_platform)
                        continue;
                _cleanup_free_ char *s = manifest_platform_normalized(&d->platform);
                if (!s)
                        return -ENOMEM;
                if (util_strv_contains(l, s))
                        continue;
                if (util_strv_consume(&l, TAKE_PTR(s)) < 0)
                        return -ENOMEM;
        }
        qsort(l, util_strv_length(l), sizeof(char *), strcmp_ptr);
        *ret = TAKE_PTR(l);
        return 0;
}

void manifest_image_config_free(struct manifest_image_config *c) {
        if (!c)
                return;
        manifest_platform_done(&c->platform);
        cJSON_Delete(c->labels);
        free(c);
}

int manifest_image_config_parse(const void *data, size_t len, struct manifest_image_config **ret,
                                char **ret_error) {
        if (len > MANIFEST_MAX_SIZE)
                return util_fail(ret_error, -EFBIG,
                            "image config of %zu bytes is larger than the limit of %u", len,
                            MANIFEST_MAX_SIZE);
        _cleanup_(cjson_deletep) cJSON *root = parse_json(data, len);
        if (!root)
                return util_fail(ret_error, -EBADMSG, "image config is not valid JSON");
        if (!cJSON_IsObject(root))
                return util_fail(ret_error, -EBADMSG, "image config is not a JSON object");

        _cleanup_(manifest_image_config_freep) struct manifest_image_config *c =
                calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        int r = get_string(root, "os", "", &c->platform.os, ret_error);
        if (r >= 0)
                r = get_string(root, "architecture", "", &c->platform.architecture, ret_error);
        if (r >= 0)
                r = get_string(root, "variant", "", &c->platform.variant, ret_error);
        if (r >= 0)
                r = get_string(root, "os.version", "", &c->platform.os_version, ret_error);
        if (r < 0)
                return r;
        if (!c->platform.os && !(c->platform.os = strdup("")))
                return -ENOMEM;
        if (!c->platform.architecture && !(c->platform.architecture = strdup("")))
                return -ENOMEM;

        cJSON *config = cJSON_GetObjectItemCaseSensitive(root, "config");
        if (config && !cJSON_IsNull(config)) {
                if (!cJSON_IsObject(config))
                        return util_fail(ret_error, -EBADMSG, "config: not an object");
                cJSON *labels = cJSON_GetObjectItemCaseSensitive(config, "Labels");
                if (labels && !cJSON_IsNull(labels)) {
                        if (!cJSON_IsObject(labels))
                                return util_fail(ret_error, -EBADMSG, "config.Labels: not an object");
                        c->labels = cJSON_DetachItemViaPointer(config, labels);
                }
        }
        *ret = TAKE_PTR(c);
        return 0;
}
