/* Docker image references: distribution/reference's grammar and ParseNormalizedNamed, without regular expressions. */
#include "reference.h"

#include <errno.h>

#include "host.h"
#include "util.h"

#define ERROR_FORMAT "invalid reference format"
#define ERROR_LOWERCASE "invalid reference format: repository name must be lowercase"
#define ERROR_TOO_LONG "repository name must not be more than 255 characters"
#define ERROR_IDENTIFIER "invalid repository name, cannot specify 64-byte hexadecimal strings"
#define ERROR_DIGEST_FORMAT "invalid checksum digest format"
#define ERROR_DIGEST_LENGTH "invalid checksum digest length"
#define ERROR_DIGEST_UNSUPPORTED "unsupported digest algorithm"
#define ERROR_NOT_REPOSITORY "a repository name takes no tag or digest"

#define LEGACY_DEFAULT_DOMAIN "index.docker.io"
#define OFFICIAL_PREFIX "library/"

static bool is_lower_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c) {
        return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool is_alpha(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static bool is_xdigit(char c) {
        return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_word(char c) {
        return is_alnum(c) || c == '_';
}

static bool has_upper(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (s[i] >= 'A' && s[i] <= 'Z')
                        return true;
        return false;
}

/* [a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)* */
static bool match_path_component(const char *s, size_t n) {
        if (n == 0 || !is_lower_alnum(s[0]))
                return false;
        size_t i = 0;
        while (i < n) {
                if (is_lower_alnum(s[i])) {
                        i++;
                        continue;
                }
                size_t j = i + 1;
                if (s[i] == '_') {
                        if (j < n && s[j] == '_')
                                j++;
                } else if (s[i] == '-') {
                        while (j < n && s[j] == '-')
                                j++;
                } else if (s[i] != '.')
                        return false;
                /* A separator must be followed by an alphanumeric run. */
                if (j >= n || !is_lower_alnum(s[j]))
                        return false;
                i = j;
        }
        return true;
}

/* pathComponent(/pathComponent)* */
static bool match_remote_name(const char *s, size_t n) {
        for (;;) {
                const char *slash = memchr(s, '/', n);
                size_t len = slash ? (size_t) (slash - s) : n;
                if (!match_path_component(s, len))
                        return false;
                if (!slash)
                        return true;
                s += len + 1;
                n -= len + 1;
        }
}

/* [\w][\w.-]{0,127} */
static bool match_tag(const char *s, size_t n) {
        if (n == 0 || n > REFERENCE_TAG_MAX || !is_word(s[0]))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!is_word(s[i]) && s[i] != '.' && s[i] != '-')
                        return false;
        return true;
}

/* [A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][[:xdigit:]]{32,} */
static bool match_digest(const char *s, size_t n) {
        size_t i = 0;
        for (;;) {
                if (i >= n || !is_alpha(s[i]))
                        return false;
                while (i < n && is_alnum(s[i]))
                        i++;
                if (i < n && (s[i] == '-' || s[i] == '_' || s[i] == '+' || s[i] == '.')) {
                        i++;
                        continue;
                }
                break;
        }
        if (i >= n || s[i] != ':' || n - i - 1 < 32)
                return false;
        for (i++; i < n; i++)
                if (!is_xdigit(s[i]))
                        return false;
        return true;
}

/* Where the parts of a reference lie in the string; lengths of 0 mean absent. */
struct span {
        size_t domain_len, name_len, tag_at, tag_len, digest_at, digest_len;
};

/* The anchored reference pattern: name(:tag)?(@digest)?, name = (domain/)?remoteName. Neither
 * a tag nor a digest contains ':' after a '/', or '@', which makes every split unambiguous. */
static bool match_reference(const char *s, size_t n, struct span *ret) {
        struct span sp = {};
        size_t left = n;
        const char *at = memchr(s, '@', n);
        if (at) {
                left = (size_t) (at - s);
                sp.digest_at = left + 1;
                sp.digest_len = n - left - 1;
                if (!match_digest(s + sp.digest_at, sp.digest_len))
                        return false;
        }
        const char *slash = memrchr(s, '/', left);
        const char *colon = memrchr(s, ':', left);
        sp.name_len = left;
        if (colon && (!slash || colon > slash)) {
                sp.name_len = (size_t) (colon - s);
                sp.tag_at = sp.name_len + 1;
                sp.tag_len = left - sp.tag_at;
                if (!match_tag(s + sp.tag_at, sp.tag_len))
                        return false;
        }
        const char *first = memchr(s, '/', sp.name_len);
        if (first && host_is_valid(s, (size_t) (first - s), false) &&
            match_remote_name(first + 1, sp.name_len - (size_t) (first - s) - 1))
                sp.domain_len = (size_t) (first - s);
        else if (!match_remote_name(s, sp.name_len))
                return false;
        *ret = sp;
        return true;
}

/* go-digest's own, stricter digest pattern, which decides between "unsupported" and "invalid"
 * for an algorithm it does not know: [a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+ */
static bool match_go_digest(const char *s, size_t n) {
        size_t i = 0;
        for (;;) {
                size_t start = i;
                while (i < n && is_lower_alnum(s[i]))
                        i++;
                if (i == start)
                        return false;
                if (i < n && (s[i] == '.' || s[i] == '+' || s[i] == '_' || s[i] == '-')) {
                        i++;
                        continue;
                }
                break;
        }
        if (i >= n || s[i] != ':' || i + 1 == n)
                return false;
        for (i++; i < n; i++)
                if (!is_alnum(s[i]) && s[i] != '=' && s[i] != '_' && s[i] != '-')
                        return false;
        return true;
}

static int validate_digest(const char *s, size_t n, const char **ret_error) {
        static const struct {
                const char *name;
                size_t hex;
        } algorithms[] = {
                { "sha256", 64 },
                { "sha384", 96 },
                { "sha512", 128 },
        };
        const char *colon = memchr(s, ':', n);
        if (!colon || colon == s || colon == s + n - 1) {
                *ret_error = ERROR_DIGEST_FORMAT;
                return -EINVAL;
        }
        size_t alg_len = (size_t) (colon - s), hex_len = n - alg_len - 1;
        for (size_t i = 0; i < ELEMENTSOF(algorithms); i++) {
                if (strlen(algorithms[i].name) != alg_len || memcmp(algorithms[i].name, s, alg_len) != 0)
                        continue;
                if (hex_len != algorithms[i].hex) {
                        *ret_error = ERROR_DIGEST_LENGTH;
                        return -EINVAL;
                }
                for (const char *c = colon + 1; c < s + n; c++)
                        if (!is_digit(*c) && !(*c >= 'a' && *c <= 'f')) {
                                *ret_error = ERROR_DIGEST_FORMAT;
                                return -EINVAL;
                        }
                return 0;
        }
        *ret_error = match_go_digest(s, n) ? ERROR_DIGEST_UNSUPPORTED : ERROR_DIGEST_FORMAT;
        return -EINVAL;
}

int reference_validate_digest(const char *s, const char **ret_error) {
        const char *error = NULL;
        int r = validate_digest(s, strlen(s), &error);
        if (r < 0 && ret_error)
                *ret_error = error;
        return r;
}

bool reference_is_valid_tag(const char *s) {
        return s && match_tag(s, strlen(s));
}

/* distribution/reference's Parse() on an already normalized "domain/remainder" string. */
static int parse_normalized(const char *s, struct reference *ret, const char **ret_error) {
        size_t n = strlen(s);
        struct span sp;
        if (!match_reference(s, n, &sp)) {
                _cleanup_free_ char *lower = strdup(s);
                if (!lower)
                        return -ENOMEM;
                for (char *c = lower; *c; c++)
                        if (*c >= 'A' && *c <= 'Z')
                                *c = (char) (*c - 'A' + 'a');
                *ret_error = match_reference(lower, n, &sp) ? ERROR_LOWERCASE : ERROR_FORMAT;
                return -EINVAL;
        }
        size_t path_at = sp.domain_len ? sp.domain_len + 1 : 0;
        if (sp.name_len - path_at > REFERENCE_PATH_MAX) {
                *ret_error = ERROR_TOO_LONG;
                return -EINVAL;
        }
        if (sp.digest_len > 0) {
                int r = validate_digest(s + sp.digest_at, sp.digest_len, ret_error);
                if (r < 0)
                        return r;
        }
        /* Docker would carry on with an empty domain here ("foo_bar.com/x" splits as a domain,
         * then only matches as a path); such a reference names no registry we could reach. */
        if (sp.domain_len == 0) {
                *ret_error = ERROR_FORMAT;
                return -EINVAL;
        }

        struct reference ref = {
                .domain = strndup(s, sp.domain_len),
                .path = strndup(s + path_at, sp.name_len - path_at),
                .tag = sp.tag_len ? strndup(s + sp.tag_at, sp.tag_len) : NULL,
                .digest = sp.digest_len ? strndup(s + sp.digest_at, sp.digest_len) : NULL,
        };
        if (!ref.domain || !ref.path || (sp.tag_len && !ref.tag) || (sp.digest_len && !ref.digest)) {
                reference_done(&ref);
                return -ENOMEM;
        }
        *ret = ref;
        return 0;
}

static bool is_identifier(const char *s) {
        size_t n = strlen(s);
        if (n != 64)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_digit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
                        return false;
        return true;
}

/* Whether splitDockerDomain() takes a first component of this spelling for a registry host. */
static bool first_is_domain(const char *s, size_t n) {
        return (n == strlen("localhost") && strncmp(s, "localhost", n) == 0) || memchr(s, '.', n) ||
               memchr(s, ':', n) || has_upper(s, n);
}

/* splitDockerDomain(): decides whether the first component names a registry, and returns the
 * string Parse() sees: "domain/remainder". */
static char *split_docker_domain(const char *s) {
        const char *slash = strchr(s, '/');
        if (!slash)
                return util_printf(REFERENCE_DEFAULT_DOMAIN "/" OFFICIAL_PREFIX "%s", s);

        size_t first_len = (size_t) (slash - s);
        const char *domain = REFERENCE_DEFAULT_DOMAIN, *remainder = s;
        size_t domain_len = strlen(REFERENCE_DEFAULT_DOMAIN);
        if (first_is_domain(s, first_len)) {
                domain = s;
                domain_len = first_len;
                remainder = slash + 1;
        }
        if (first_len == strlen(LEGACY_DEFAULT_DOMAIN) && strncmp(s, LEGACY_DEFAULT_DOMAIN, first_len) == 0) {
                domain = REFERENCE_DEFAULT_DOMAIN;
                domain_len = strlen(REFERENCE_DEFAULT_DOMAIN);
        }
        bool official = domain_len == strlen(REFERENCE_DEFAULT_DOMAIN) &&
                        strncmp(domain, REFERENCE_DEFAULT_DOMAIN, domain_len) == 0 && !strchr(remainder, '/');
        return util_printf("%.*s/%s%s", (int) domain_len, domain, official ? OFFICIAL_PREFIX : "", remainder);
}

static int parse(const char *s, struct reference *ret, const char **ret_error) {
        if (is_identifier(s)) {
                *ret_error = ERROR_IDENTIFIER;
                return -EINVAL;
        }
        _cleanup_free_ char *full = split_docker_domain(s);
        if (!full)
                return -ENOMEM;

        /* ParseNormalizedNamed checks the repository part (up to the first ':') for upper case
         * before the grammar, so "Foo" reports case rather than format. */
        const char *remainder = strchr(full, '/') + 1;
        const char *colon = strchr(remainder, ':');
        if (has_upper(remainder, colon ? (size_t) (colon - remainder) : strlen(remainder))) {
                *ret_error = ERROR_LOWERCASE;
                return -EINVAL;
        }
        return parse_normalized(full, ret, ret_error);
}

int reference_parse(const char *s, struct reference *ret, const char **ret_error) {
        const char *error = NULL;
        int r = parse(s, ret, &error);
        if (r < 0 && ret_error && error)
                *ret_error = error;
        return r;
}

int reference_parse_no_digest(const char *s, struct reference *ret, const char **ret_error) {
        struct reference ref = {};
        int r = reference_parse(s, &ref, ret_error);
        if (r < 0)
                return r;
        if (ref.digest) {
                reference_done(&ref);
                if (ret_error)
                        *ret_error = REFERENCE_DIGEST_NOT_ALLOWED;
                return -EOPNOTSUPP;
        }
        *ret = ref;
        return 0;
}

int reference_parse_repository(const char *s, struct reference *ret, const char **ret_error) {
        struct reference ref = {};
        int r = reference_parse(s, &ref, ret_error);
        if (r < 0)
                return r;
        if (ref.tag || ref.digest) {
                reference_done(&ref);
                if (ret_error)
                        *ret_error = ERROR_NOT_REPOSITORY;
                return -EINVAL;
        }
        *ret = ref;
        return 0;
}

void reference_done(struct reference *ref) {
        if (!ref)
                return;
        free(ref->domain);
        free(ref->path);
        free(ref->tag);
        free(ref->digest);
        *ref = (struct reference) {};
}

char *reference_canonical_name(const struct reference *ref) {
        return util_printf("%s/%s", ref->domain, ref->path);
}

char *reference_familiar_name(const struct reference *ref) {
        if (!streq(ref->domain, REFERENCE_DEFAULT_DOMAIN))
                return reference_canonical_name(ref);
        const char *official = util_startswith(ref->path, OFFICIAL_PREFIX);
        if (official && !strchr(official, '/') && !is_identifier(official))
                return strdup(official);
        /* Docker would shorten "docker.io/foo.com/bar" to "foo.com/bar", which reads back as
         * registry foo.com; such names keep their domain so the familiar name always parses back. */
        size_t first_len = strcspn(ref->path, "/");
        if (ref->path[first_len] == '/' && first_is_domain(ref->path, first_len))
                return reference_canonical_name(ref);
        return strdup(ref->path);
}

char *reference_familiar_string(const struct reference *ref) {
        _cleanup_free_ char *name = reference_familiar_name(ref);
        if (!name)
                return NULL;
        return util_printf("%s%s%s%s%s", name, ref->tag ? ":" : "", ref->tag ?: "", ref->digest ? "@" : "",
                           ref->digest ?: "");
}

int reference_normalize_repository(const char *s, char **ret, const char **ret_error) {
        struct reference ref = {};
        int r = reference_parse_repository(s, &ref, ret_error);
        if (r < 0)
                return r;
        char *name = reference_familiar_name(&ref);
        reference_done(&ref);
        if (!name)
                return -ENOMEM;
        *ret = name;
        return 0;
}
