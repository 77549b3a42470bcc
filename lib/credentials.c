/* Registry credentials from docker's config.json ($DOCKER_CONFIG or ~/.docker/config.json) and its helpers. */
#include "credentials.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <unistd.h>

#include "host.h"
#include "text.h"
#include "util.h"

#define MAX_CONFIG_SIZE (4u * 1024u * 1024u)
#define MAX_HELPER_OUTPUT (64u * 1024u)
#define DEFAULT_HELPER_TIMEOUT_MS 10000
#define HUB_KEY "https://index.docker.io/v1/"
#define MAX_OUTPUT_IN_MESSAGE 200

struct auth_entry {
        char *key;
        struct auth_credentials creds;
};

struct helper_entry {
        char *key;
        char *helper;
};

struct lookup;
struct helper_run;

/* What is known, or being found out, about one registry host. Errors are not kept: the next
 * lookup tries again. */
struct host_result {
        char *host;
        bool done;
        struct auth_credentials creds;
        bool anonymous;
        char *note;
        struct lookup *waiters; /* while a helper runs */
        struct helper_run *run;
        struct host_result *next;
};

/* One caller waiting: either on a running helper (in its host's waiters) or, with the answer
 * already copied in, on a zero timer that delivers it from the loop (in the store's deferred). */
struct lookup {
        struct credentials_store *store;
        credentials_fn cb;
        void *userdata;
        int error;
        bool anonymous;
        struct auth_credentials creds;
        char *message;
        uv_timer_t timer;
        struct lookup *next;
};

struct helper_run {
        struct credentials_store *store; /* NULL once the store was freed */
        struct host_result *result;
        char *helper;                    /* "docker-credential-NAME" */
        char *server;                    /* what the helper reads on stdin */
        char *host;
        uv_process_t proc;
        uv_pipe_t in, out, err;
        uv_timer_t timer;
        uv_write_t write_req;
        char *buf[2];
        size_t len[2];
        bool eof[2];
        bool exited, completed, overflow;
        int64_t exit_status;
        int term_signal;
        unsigned open_handles;
};

struct credentials_store {
        char *path;
        char *creds_store;
        struct auth_entry *auths;
        size_t n_auths;
        struct helper_entry *helpers;
        size_t n_helpers;
        struct host_result *results;
        struct lookup *deferred;
        uint64_t helper_timeout_ms;
};

/* ---- hosts ---- */

static bool is_hub_host(const char *h, size_t len) {
        static const char *const names[] = { "docker.io", "index.docker.io", "registry-1.docker.io" };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strlen(names[i]) == len && strncasecmp(names[i], h, len) == 0)
                        return true;
        return false;
}

/* The host part of a config key, as docker's ConvertToHostname: scheme and path dropped. */
static void key_host(const char *key, const char **ret, size_t *ret_len) {
        const char *k = util_startswith_no_case(key, "https://");
        if (!k)
                k = util_startswith_no_case(key, "http://");
        if (!k)
                k = key;
        *ret = k;
        *ret_len = strcspn(k, "/");
}

/* 2 = the key is exactly how docker writes this host, 1 = another accepted spelling, 0 = other. */
static int key_matches(const char *key, const char *host) {
        bool hub = is_hub_host(host, strlen(host));
        if (hub ? streq(key, HUB_KEY) : strcasecmp(key, host) == 0)
                return 2;
        const char *h;
        size_t n;
        key_host(key, &h, &n);
        if (hub)
                return is_hub_host(h, n) ? 1 : 0;
        return n == strlen(host) && strncasecmp(h, host, n) == 0 ? 1 : 0;
}

/* ---- loading ---- */

static void store_free_config(struct credentials_store *s) {
        for (size_t i = 0; i < s->n_auths; i++) {
                free(s->auths[i].key);
                auth_credentials_done(&s->auths[i].creds);
        }
        free(s->auths);
        for (size_t i = 0; i < s->n_helpers; i++) {
                free(s->helpers[i].key);
                free(s->helpers[i].helper);
        }
        free(s->helpers);
        free(s->creds_store);
        free(s->path);
}

static bool helper_name_valid(const char *n) {
        if (!*n || strlen(n) > 64)
                return false;
        for (; *n; n++)
                if (!isalnum((unsigned char) *n) && !strchr("._-", *n))
                        return false;
        return true;
}

static int fail(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);
static int fail(char **ret_error, int r, const char *fmt, ...) {
        if (ret_error) {
                va_list ap;
                va_start(ap, fmt);
                if (vasprintf(ret_error, fmt, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return r;
}

static int dup_string_field(const cJSON *o, const char *name, char **ret, bool *ret_bad) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
        *ret = NULL;
        if (!v || cJSON_IsNull(v))
                return 0;
        if (!cJSON_IsString(v)) {
                *ret_bad = true;
                return 0;
        }
        if (!*v->valuestring)
                return 0;
        *ret = strdup(v->valuestring);
        return *ret ? 0 : -ENOMEM;
}

static int parse_auth_entry(const char *path, const cJSON *e, struct auth_entry *ret, char **ret_error) {
        if (!cJSON_IsObject(e))
                return fail(ret_error, -EBADMSG, "%s: auths[\"%s\"] is not an object", path, e->string);
        struct auth_credentials c = {};
        bool bad = false;
        _cleanup_free_ char *auth = NULL;
        int r;
        if ((r = dup_string_field(e, "auth", &auth, &bad)) < 0 ||
            (r = dup_string_field(e, "username", &c.username, &bad)) < 0 ||
            (r = dup_string_field(e, "password", &c.password, &bad)) < 0 ||
            (r = dup_string_field(e, "identitytoken", &c.identity_token, &bad)) < 0) {
                auth_credentials_done(&c);
                if (auth)
                        explicit_bzero(auth, strlen(auth));
                return r;
        }
        if (bad) {
                auth_credentials_done(&c);
                if (auth)
                        explicit_bzero(auth, strlen(auth));
                return fail(ret_error, -EBADMSG, "%s: auths[\"%s\"] has a field that is not a string", path,
                            e->string);
        }
        if (auth) {
                /* Like docker, "auth" wins over separate username/password fields. */
                char *plain = NULL;
                size_t len = 0;
                r = auth_base64_decode(auth, strlen(auth), &plain, &len);
                explicit_bzero(auth, strlen(auth));
                if (r == -ENOMEM) {
                        auth_credentials_done(&c);
                        return r;
                }
                char *colon = r == 0 && memchr(plain, 0, len) == NULL ? strchr(plain, ':') : NULL;
                if (!colon) {
                        if (plain) {
                                explicit_bzero(plain, len);
                                free(plain);
                        }
                        auth_credentials_done(&c);
                        return fail(ret_error, -EBADMSG, "%s: auths[\"%s\"].auth is not base64 of \"user:password\"",
                                    path, e->string);
                }
                *colon = 0;
                free(c.username);
                if (c.password) {
                        explicit_bzero(c.password, strlen(c.password));
                        free(c.password);
                }
                c.username = strdup(plain);
                c.password = strdup(colon + 1);
                explicit_bzero(plain, len);
                free(plain);
                if (!c.username || !c.password) {
                        auth_credentials_done(&c);
                        return -ENOMEM;
                }
        }
        ret->creds = c;
        return 0;
}

static int parse_config(struct credentials_store *s, const char *text, size_t len, char **ret_error) {
        const char *path = s->path;
        cJSON *j = cJSON_ParseWithLength(text, len);
        if (!j) {
                const char *at = cJSON_GetErrorPtr();
                unsigned line = 1;
                if (at && at >= text && at <= text + len)
                        for (const char *p = text; p < at; p++)
                                line += *p == '\n';
                return fail(ret_error, -EBADMSG, "%s:%u: invalid JSON", path, line);
        }
        int r = 0;
        const cJSON *auths = cJSON_GetObjectItemCaseSensitive(j, "auths");
        if (!cJSON_IsObject(j)) {
                r = fail(ret_error, -EBADMSG, "%s: not a JSON object", path);
                goto out;
        }

        if (auths && !cJSON_IsNull(auths)) {
                if (!cJSON_IsObject(auths)) {
                        r = fail(ret_error, -EBADMSG, "%s: \"auths\" is not an object", path);
                        goto out;
                }
                size_t n = (size_t) cJSON_GetArraySize(auths);
                s->auths = calloc(n ? n : 1, sizeof(*s->auths));
                if (!s->auths) {
                        r = -ENOMEM;
                        goto out;
                }
                const cJSON *e;
                cJSON_ArrayForEach(e, auths) {
                        struct auth_entry *a = &s->auths[s->n_auths];
                        a->key = strdup(e->string);
                        if (!a->key) {
                                r = -ENOMEM;
                                goto out;
                        }
                        s->n_auths++;
                        r = parse_auth_entry(path, e, a, ret_error);
                        if (r < 0)
                                goto out;
                }
        }

        const cJSON *store = cJSON_GetObjectItemCaseSensitive(j, "credsStore");
        if (store && !cJSON_IsNull(store)) {
                if (!cJSON_IsString(store) || (*store->valuestring && !helper_name_valid(store->valuestring))) {
                        r = fail(ret_error, -EBADMSG, "%s: \"credsStore\" is not a helper name", path);
                        goto out;
                }
                if (*store->valuestring && !(s->creds_store = strdup(store->valuestring))) {
                        r = -ENOMEM;
                        goto out;
                }
        }

        const cJSON *helpers = cJSON_GetObjectItemCaseSensitive(j, "credHelpers");
        if (helpers && !cJSON_IsNull(helpers)) {
                if (!cJSON_IsObject(helpers)) {
                        r = fail(ret_error, -EBADMSG, "%s: \"credHelpers\" is not an object", path);
                        goto out;
                }
                size_t n = (size_t) cJSON_GetArraySize(helpers);
                s->helpers = calloc(n ? n : 1, sizeof(*s->helpers));
                if (!s->helpers) {
                        r = -ENOMEM;
                        goto out;
                }
                const cJSON *e;
                cJSON_ArrayForEach(e, helpers) {
                        if (!cJSON_IsString(e) || !helper_name_valid(e->valuestring)) {
                                r = fail(ret_error, -EBADMSG, "%s: credHelpers[\"%s\"] is not a helper name", path,
                                         e->string);
                                goto out;
                        }
                        struct helper_entry *h = &s->helpers[s->n_helpers];
                        h->key = strdup(e->string);
                        h->helper = strdup(e->valuestring);
                        s->n_helpers++;
                        if (!h->key || !h->helper) {
                                r = -ENOMEM;
                                goto out;
                        }
                }
        }
out:
        /* The tree holds secrets from "auth" and "password" fields. */
        for (cJSON *a = auths ? auths->child : NULL; cJSON_IsObject(auths) && a; a = a->next)
                for (cJSON *f = cJSON_IsObject(a) ? a->child : NULL; f; f = f->next)
                        if (cJSON_IsString(f) && f->valuestring)
                                explicit_bzero(f->valuestring, strlen(f->valuestring));
        cJSON_Delete(j);
        return r;
}

static char *default_config_dir(void) {
        const char *d = getenv("DOCKER_CONFIG");
        if (d && *d)
                return strdup(d);
        const char *home = getenv("HOME");
        if (!home || !*home) {
                struct passwd *pw = getpwuid(getuid());
                home = pw ? pw->pw_dir : NULL;
        }
        if (!home)
                return NULL;
        return util_printf("%s/.docker", home);
}

int credentials_store_load(const char *docker_config_dir, struct credentials_store **ret, char **ret_error) {
        if (!ret)
                return -EINVAL;
        _cleanup_free_ char *dir = docker_config_dir ? strdup(docker_config_dir) : default_config_dir();
        if (!dir)
                return docker_config_dir ? -ENOMEM
                                         : fail(ret_error, -ENOENT, "no home directory to find .docker/config.json in");
        struct credentials_store *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->helper_timeout_ms = DEFAULT_HELPER_TIMEOUT_MS;
        s->path = util_printf("%s/config.json", dir);
        if (!s->path) {
                free(s);
                return -ENOMEM;
        }
        char *text = NULL;
        size_t len = 0;
        int r = util_read_file(s->path, MAX_CONFIG_SIZE, &text, &len);
        if (r == -ENOENT || r == -ENOTDIR) {
                *ret = s;
                return 0;
        }
        if (r < 0) {
                if (r == -EFBIG)
                        fail(ret_error, r, "%s: larger than %u bytes", s->path, MAX_CONFIG_SIZE);
                else
                        fail(ret_error, r, "%s: %s", s->path, util_read_file_strerror(r));
                credentials_store_free(s);
                return r;
        }
        r = parse_config(s, text, len, ret_error);
        explicit_bzero(text, len);
        free(text);
        if (r < 0) {
                credentials_store_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

void credentials_store_set_helper_timeout(struct credentials_store *s, uint64_t timeout_ms) {
        if (s)
                s->helper_timeout_ms = timeout_ms ? timeout_ms : DEFAULT_HELPER_TIMEOUT_MS;
}

/* ---- results ---- */

static void result_free(struct host_result *r) {
        free(r->host);
        auth_credentials_done(&r->creds);
        free(r->note);
        free(r);
}

static void result_unlink(struct credentials_store *s, struct host_result *r) {
        for (struct host_result **i = &s->results; *i; i = &(*i)->next)
                if (*i == r) {
                        *i = r->next;
                        return;
                }
}

static const struct auth_entry *find_auth(const struct credentials_store *s, const char *host) {
        const struct auth_entry *best = NULL;
        int best_score = 0;
        for (size_t i = 0; i < s->n_auths; i++) {
                int m = key_matches(s->auths[i].key, host);
                if (m > best_score) {
                        best = &s->auths[i];
                        best_score = m;
                }
        }
        return best;
}

static const char *find_helper(const struct credentials_store *s, const char *host, bool *ret_from_store) {
        const struct helper_entry *best = NULL;
        int best_score = 0;
        for (size_t i = 0; i < s->n_helpers; i++) {
                int m = key_matches(s->helpers[i].key, host);
                if (m > best_score) {
                        best = &s->helpers[i];
                        best_score = m;
                }
        }
        *ret_from_store = !best;
        return best ? best->helper : s->creds_store;
}

/* Settles r from the config file's auths entry (used when there is no helper, or it knew nothing). */
static int result_from_auths(struct credentials_store *s, struct host_result *r) {
        const struct auth_entry *a = find_auth(s, r->host);
        r->done = true;
        r->anonymous = !a || auth_credentials_is_anonymous(&a->creds);
        if (r->anonymous)
                return 0;
        return auth_credentials_copy(&a->creds, &r->creds);
}

static void lookup_free(struct lookup *l) {
        auth_credentials_done(&l->creds);
        free(l->message);
        free(l);
}

static void lookup_closed(uv_handle_t *h) {
        lookup_free(h->data);
}

static void lookup_unlink(struct credentials_store *s, struct lookup *l) {
        for (struct lookup **i = &s->deferred; *i; i = &(*i)->next)
                if (*i == l) {
                        *i = l->next;
                        return;
                }
}

static void on_deferred(uv_timer_t *t) {
        struct lookup *l = t->data;
        lookup_unlink(l->store, l);
        /* The callback may free the store; the lookup itself lives until its timer closed. */
        uv_close((uv_handle_t *) &l->timer, lookup_closed);
        l->cb(l->error, l->anonymous ? NULL : &l->creds, l->message, l->userdata);
}

/* Answers a lookup from the loop with a copy of what is known now. */
static int defer(struct credentials_store *s, uv_loop_t *loop, int error, const struct auth_credentials *creds,
                 const char *message, credentials_fn cb, void *userdata) {
        struct lookup *l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        *l = (struct lookup) { .store = s, .cb = cb, .userdata = userdata, .error = error, .anonymous = !creds };
        if ((creds && auth_credentials_copy(creds, &l->creds) < 0) || (message && !(l->message = strdup(message)))) {
                lookup_free(l);
                return -ENOMEM;
        }
        uv_timer_init(loop, &l->timer);
        l->timer.data = l;
        uv_timer_start(&l->timer, on_deferred, 0, 0);
        l->next = s->deferred;
        s->deferred = l;
        return 0;
}

static int defer_result(struct credentials_store *s, uv_loop_t *loop, const struct host_result *r, credentials_fn cb,
                        void *userdata) {
        return defer(s, loop, 0, r->anonymous ? NULL : &r->creds, r->note, cb, userdata);
}

/* ---- helpers ---- */

static void run_handle_closed(uv_handle_t *h) {
        struct helper_run *run = h->data;
        if (--run->open_handles > 0)
                return;
        for (size_t i = 0; i < 2; i++)
                if (run->buf[i]) {
                        explicit_bzero(run->buf[i], run->len[i]);
                        free(run->buf[i]);
                }
        free(run->helper);
        free(run->server);
        free(run->host);
        free(run);
}

static void run_close(struct helper_run *run, uv_handle_t *h) {
        if (!uv_is_closing(h))
                uv_close(h, run_handle_closed);
}

/* Closes what is no longer needed; the process handle only once the child was reaped. */
static void run_teardown(struct helper_run *run) {
        run_close(run, (uv_handle_t *) &run->in);
        run_close(run, (uv_handle_t *) &run->out);
        run_close(run, (uv_handle_t *) &run->err);
        run_close(run, (uv_handle_t *) &run->timer);
        if (run->exited)
                run_close(run, (uv_handle_t *) &run->proc);
        else {
                /* The helper leads its own process group: a shell script's children go with it. */
                uv_kill(-run->proc.pid, SIGKILL);
                uv_process_kill(&run->proc, SIGKILL);
        }
}

static char *output_excerpt(const struct helper_run *run) {
        /* Helpers report on stdout ("credentials not found in native keychain"), some on stderr. */
        for (size_t i = 0; i < 2; i++) {
                const char *b = run->buf[i];
                size_t n = run->len[i];
                while (n > 0 && isspace((unsigned char) *b))
                        b++, n--;
                while (n > 0 && isspace((unsigned char) b[n - 1]))
                        n--;
                if (n == 0)
                        continue;
                size_t line = strcspn(b, "\n");
                if (line < n)
                        n = line;
                return text_quote(b, n, MAX_OUTPUT_IN_MESSAGE);
        }
        return NULL;
}

static bool output_says_not_found(const struct helper_run *run) {
        for (size_t i = 0; i < 2; i++)
                if (run->buf[i] && strcasestr(run->buf[i], "credentials not found"))
                        return true;
        return false;
}

/* Reads {"ServerURL","Username","Secret"}. Returns 0 (anonymous when Secret is empty), -EBADMSG, -ENOMEM. */
static int parse_helper_output(const struct helper_run *run, struct auth_credentials *ret, bool *ret_anonymous) {
        cJSON *j = cJSON_ParseWithLength(run->buf[0] ? run->buf[0] : "", run->len[0]);
        int r = -EBADMSG;
        const cJSON *user = cJSON_GetObjectItemCaseSensitive(j, "Username");
        const cJSON *secret = cJSON_GetObjectItemCaseSensitive(j, "Secret");
        if (cJSON_IsObject(j) && cJSON_IsString(secret) && (!user || cJSON_IsString(user) || cJSON_IsNull(user))) {
                struct auth_credentials c = {};
                const char *u = cJSON_IsString(user) ? user->valuestring : "";
                r = 0;
                if (!*secret->valuestring)
                        *ret_anonymous = true;
                else if (streq(u, "<token>")) {
                        c.identity_token = strdup(secret->valuestring);
                        r = c.identity_token ? 0 : -ENOMEM;
                } else {
                        c.username = strdup(u);
                        c.password = strdup(secret->valuestring);
                        r = c.username && c.password ? 0 : -ENOMEM;
                }
                if (r < 0)
                        auth_credentials_done(&c);
                else if (!*ret_anonymous)
                        *ret = c;
        }
        for (cJSON *f = cJSON_IsObject(j) ? j->child : NULL; f; f = f->next)
                if (cJSON_IsString(f) && f->valuestring)
                        explicit_bzero(f->valuestring, strlen(f->valuestring));
        cJSON_Delete(j);
        return r;
}

static void deliver_waiters(struct lookup *waiters, int error, const struct auth_credentials *creds,
                            const char *message) {
        for (struct lookup *l = waiters, *n; l; l = n) {
                n = l->next;
                l->cb(error, creds, message, l->userdata);
                lookup_free(l);
        }
}

/* Works out the helper's answer, settles or drops the host's result, and tells every waiter. */
static void run_complete(struct helper_run *run, int timeout_error) {
        if (run->completed)
                return;
        run->completed = true;
        struct credentials_store *s = run->store;
        struct host_result *res = run->result;
        run_teardown(run);
        if (!s)
                return;
        res->run = NULL;
        struct lookup *waiters = TAKE_PTR(res->waiters);

        int error = 0;
        _cleanup_free_ char *message = NULL;
        struct auth_credentials creds = {};
        bool anonymous = false;

        if (timeout_error)
                message = util_printf("%s get for %s timed out after %.1f s", run->helper, run->host,
                                      s->helper_timeout_ms / 1000.0),
                error = timeout_error;
        else if (run->overflow)
                message = util_printf("%s get for %s printed more than %u bytes", run->helper, run->host,
                                      MAX_HELPER_OUTPUT),
                error = -EFBIG;
        else if (run->term_signal != 0)
                message = util_printf("%s get for %s was killed by signal %d", run->helper, run->host,
                                      run->term_signal),
                error = -EIO;
        else if (run->exit_status != 0) {
                if (output_says_not_found(run))
                        anonymous = true;
                else {
                        _cleanup_free_ char *excerpt = output_excerpt(run);
                        message = util_printf("%s get for %s failed with exit status %lld%s%s", run->helper, run->host,
                                              (long long) run->exit_status, excerpt ? ": " : "",
                                              excerpt ? excerpt : "");
                        error = -EIO;
                }
        } else {
                /* The output may hold a secret: it is never repeated. */
                error = parse_helper_output(run, &creds, &anonymous);
                if (error == -EBADMSG)
                        message = util_printf("%s get for %s printed something other than credentials JSON",
                                              run->helper, run->host);
        }

        if (error < 0) {
                result_unlink(s, res);
                result_free(res);
                deliver_waiters(waiters, error, NULL, message ? message : strerror(-error));
                return;
        }
        res->done = true;
        if (anonymous) {
                int r = result_from_auths(s, res);
                if (r < 0) {
                        result_unlink(s, res);
                        result_free(res);
                        deliver_waiters(waiters, r, NULL, strerror(-r));
                        return;
                }
        } else {
                res->creds = creds;
                res->anonymous = false;
        }
        /* Callbacks may free the store: hand them a copy that outlives it. */
        struct auth_credentials copy = {};
        _cleanup_free_ char *note = res->note ? strdup(res->note) : NULL;
        int r = auth_credentials_copy(res->anonymous ? NULL : &res->creds, &copy);
        if (r < 0) {
                deliver_waiters(waiters, r, NULL, strerror(-r));
                return;
        }
        bool anon = res->anonymous;
        deliver_waiters(waiters, 0, anon ? NULL : &copy, note);
        auth_credentials_done(&copy);
}

static void on_timeout(uv_timer_t *t) {
        run_complete(t->data, -ETIMEDOUT);
}

static void maybe_complete(struct helper_run *run) {
        if (run->exited && run->eof[0] && run->eof[1])
                run_complete(run, 0);
}

static void on_exit_cb(uv_process_t *p, int64_t exit_status, int term_signal) {
        struct helper_run *run = p->data;
        run->exited = true;
        run->exit_status = exit_status;
        run->term_signal = term_signal;
        if (run->completed)
                run_close(run, (uv_handle_t *) &run->proc);
        else
                maybe_complete(run);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
        static char scratch[4096];
        (void) h;
        (void) suggested;
        *buf = uv_buf_init(scratch, sizeof(scratch));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
        struct helper_run *run = stream->data;
        size_t i = stream == (uv_stream_t *) &run->out ? 0 : 1;
        if (nread < 0) {
                uv_read_stop(stream);
                run->eof[i] = true;
                maybe_complete(run);
                return;
        }
        if (nread == 0 || run->completed)
                goto wipe;
        if (run->len[i] + (size_t) nread > MAX_HELPER_OUTPUT) {
                run->overflow = true;
                run_complete(run, 0);
                goto wipe;
        }
        char *n = realloc(run->buf[i], run->len[i] + (size_t) nread + 1);
        if (!n) {
                run->overflow = true;
                run_complete(run, 0);
                goto wipe;
        }
        memcpy(n + run->len[i], buf->base, (size_t) nread);
        run->len[i] += (size_t) nread;
        n[run->len[i]] = 0;
        run->buf[i] = n;
wipe:
        if (nread > 0)
                explicit_bzero(buf->base, (size_t) nread);
}

static void on_written(uv_write_t *req, int status) {
        struct helper_run *run = req->data;
        (void) status;
        /* EOF on stdin tells the helper the request is complete. */
        run_close(run, (uv_handle_t *) &run->in);
}

/* A helper that exits before reading its stdin must not kill us with SIGPIPE, and a library may
 * not change the process's signal dispositions: block it around the write (which libuv performs
 * at once on an idle pipe) and take back a SIGPIPE that the write raised. */
static int write_without_sigpipe(struct helper_run *run, uv_buf_t *b) {
        sigset_t pipe_set, old, pending;
        sigemptyset(&pipe_set);
        sigaddset(&pipe_set, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
        sigpending(&pending);
        bool was_pending = sigismember(&pending, SIGPIPE);
        int r = uv_write(&run->write_req, (uv_stream_t *) &run->in, b, 1, on_written);
        sigpending(&pending);
        if (!was_pending && sigismember(&pending, SIGPIPE)) {
                struct timespec zero = {};
                sigtimedwait(&pipe_set, NULL, &zero);
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return r;
}

/* Starts the helper for r. Returns 0 when it runs, 1 when it is not installed (r settled from
 * the config with a note), or -errno with *ret_message. */
static int run_start(struct credentials_store *s, uv_loop_t *loop, struct host_result *res, const char *helper_name,
                     bool from_store, char **ret_message) {
        struct helper_run *run = calloc(1, sizeof(*run));
        if (!run)
                return -ENOMEM;
        run->store = s;
        run->result = res;
        run->helper = util_printf("docker-credential-%s", helper_name);
        run->server = strdup(is_hub_host(res->host, strlen(res->host)) ? HUB_KEY : res->host);
        run->host = strdup(res->host);
        if (!run->helper || !run->server || !run->host) {
                free(run->helper);
                free(run->server);
                free(run->host);
                free(run);
                return -ENOMEM;
        }
        run->proc.data = run->in.data = run->out.data = run->err.data = run->timer.data = run->write_req.data = run;
        uv_pipe_init(loop, &run->in, 0);
        uv_pipe_init(loop, &run->out, 0);
        uv_pipe_init(loop, &run->err, 0);
        uv_timer_init(loop, &run->timer);
        run->open_handles = 4;

        char *args[] = { run->helper, (char *) "get", NULL };
        uv_stdio_container_t stdio[3] = {
                { .flags = UV_CREATE_PIPE | UV_READABLE_PIPE, .data.stream = (uv_stream_t *) &run->in },
                { .flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *) &run->out },
                { .flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *) &run->err },
        };
        uv_process_options_t opts = {
                .exit_cb = on_exit_cb,
                .flags = UV_PROCESS_DETACHED,
                .file = run->helper,
                .args = args,
                .stdio_count = 3,
                .stdio = stdio,
        };
        int r = uv_spawn(loop, &run->proc, &opts);
        if (r < 0) {
                /* A handle uv_spawn failed on is initialised and still has to be closed. */
                run->open_handles++;
                run->completed = true;
                run->exited = true;
                int missing = r == UV_ENOENT || r == UV_EACCES;
                if (missing)
                        res->note = util_printf("%s (%s in %s) is not installed: no credentials from it for %s",
                                                run->helper, from_store ? "credsStore" : "credHelpers", s->path,
                                                res->host);
                else
                        *ret_message = util_printf("%s get for %s could not be started: %s", run->helper, res->host,
                                                   uv_strerror(r));
                run_teardown(run);
                if (!missing)
                        return r == UV_ENOMEM ? -ENOMEM : -EIO;
                r = result_from_auths(s, res);
                return r < 0 ? r : 1;
        }
        run->open_handles++;
        res->run = run;

        uv_buf_t b = uv_buf_init(run->server, strlen(run->server));
        if (write_without_sigpipe(run, &b) < 0)
                run_close(run, (uv_handle_t *) &run->in);
        uv_read_start((uv_stream_t *) &run->out, on_alloc, on_read);
        uv_read_start((uv_stream_t *) &run->err, on_alloc, on_read);
        uv_timer_start(&run->timer, on_timeout, s->helper_timeout_ms, 0);
        return 0;
}

/* ---- lookups ---- */

int credentials_lookup(struct credentials_store *s, uv_loop_t *loop, const char *registry_host, credentials_fn cb,
                       void *userdata) {
        if (!s || !loop || !registry_host || !cb || !host_is_valid(registry_host, strlen(registry_host), true))
                return -EINVAL;
        /* Docker Hub has many names and one set of credentials. */
        const char *canonical = is_hub_host(registry_host, strlen(registry_host)) ? "docker.io" : registry_host;

        struct host_result *res = NULL;
        for (struct host_result *i = s->results; i; i = i->next)
                if (strcasecmp(i->host, canonical) == 0) {
                        res = i;
                        break;
                }
        if (res && res->done)
                return defer_result(s, loop, res, cb, userdata);
        if (res) {
                struct lookup *l = calloc(1, sizeof(*l));
                if (!l)
                        return -ENOMEM;
                *l = (struct lookup) { .store = s, .cb = cb, .userdata = userdata, .next = res->waiters };
                res->waiters = l;
                return 0;
        }

        res = calloc(1, sizeof(*res));
        if (!res || !(res->host = strdup(canonical))) {
                free(res);
                return -ENOMEM;
        }
        for (char *p = res->host; *p; p++)
                *p = (char) tolower((unsigned char) *p);
        bool from_store;
        const char *helper = find_helper(s, res->host, &from_store);
        int r;
        if (!helper) {
                r = result_from_auths(s, res);
                if (r < 0) {
                        result_free(res);
                        return r;
                }
                res->next = s->results;
                s->results = res;
                return defer_result(s, loop, res, cb, userdata);
        }

        struct lookup *l = calloc(1, sizeof(*l));
        if (!l) {
                result_free(res);
                return -ENOMEM;
        }
        *l = (struct lookup) { .store = s, .cb = cb, .userdata = userdata };
        _cleanup_free_ char *message = NULL;
        r = run_start(s, loop, res, helper, from_store, &message);
        if (r == 0) {
                res->waiters = l;
                res->next = s->results;
                s->results = res;
                return 0;
        }
        free(l);
        if (r == 1) {
                res->next = s->results;
                s->results = res;
                return defer_result(s, loop, res, cb, userdata);
        }
        result_free(res);
        if (r == -ENOMEM || !message)
                return r;
        /* A helper that cannot start is this host's error, reported like any other from the loop. */
        return defer(s, loop, r, NULL, message, cb, userdata);
}

void credentials_store_free(struct credentials_store *s) {
        if (!s)
                return;
        while (s->deferred) {
                struct lookup *l = s->deferred;
                s->deferred = l->next;
                uv_timer_stop(&l->timer);
                uv_close((uv_handle_t *) &l->timer, lookup_closed);
                l->cb(-ECANCELED, NULL, "credential lookup canceled", l->userdata);
        }
        while (s->results) {
                struct host_result *r = s->results;
                s->results = r->next;
                if (r->run) {
                        r->run->store = NULL;
                        run_complete(r->run, 0);
                }
                deliver_waiters(TAKE_PTR(r->waiters), -ECANCELED, NULL, "credential lookup canceled");
                result_free(r);
        }
        store_free_config(s);
        free(s);
}
