/* The local API: HTTP/1.1 + JSON on a Unix socket (CONTRACT §6), a front end of the service. */
#include "api.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api-events.h"
#include "api-route.h"
#include "api-socket.h"
#include "http-server.h"
#include "log.h"
#include "report.h"
#include "semver.h"
#include "util.h"

/* Connections served at once; more wait in the listen backlog (SOMAXCONN) rather than being refused. */
#define API_CONNECTION_LIMIT 2048u
/* Idle keep-alive connections are closed after this many seconds. */
#define API_CONNECTION_TIMEOUT 120u

struct request;

struct api {
        struct service *service;
        struct service_subscription *subscription;
        struct http_server *http;
        struct api_events *events;
        char *socket_path;           /* the socket this API created and removes, NULL for systemd's */
        struct request *waiters;     /* POST /v1/scan?wait=1, suspended until their scan ends */
        struct scan_summary last_finished;
        bool last_finished_cancelled;
        uid_t uid;
};

/* One HTTP request, from its headers to its answer. */
struct request {
        struct api *api;
        struct MHD_Connection *connection;
        /* Found once, when the headers came; its repository is our copy (MHD promises the URL only for
         * the duration of each call). */
        struct api_route route;
        char *repository;
        char *body;
        size_t len;
        bool too_large;
        /* ?wait=1 */
        struct request *prev, *next;
        bool waiting;
        int64_t scan_id;
        struct http_suspension *suspension;
        unsigned answer_status;      /* set when the answer is ready while suspended */
        char *answer;
};

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, char *body, const char *allow) {
        struct MHD_Response *resp = MHD_create_response_from_buffer(body ? strlen(body) : 0, body,
                                                                    body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
        if (!resp) {
                free(body);
                return MHD_NO;
        }
        if (body)
                MHD_add_response_header(resp, "Content-Type", "application/json");
        if (allow)
                MHD_add_response_header(resp, "Allow", allow);
        enum MHD_Result r = MHD_queue_response(c, status, resp);
        MHD_destroy_response(resp);
        return r;
}

static char *print_json(cJSON *j) {
        char *s = j ? cJSON_PrintUnformatted(j) : NULL;
        cJSON_Delete(j);
        return s;
}

static enum MHD_Result respond_json(struct MHD_Connection *c, unsigned status, cJSON *j) {
        char *s = print_json(j);
        if (!s)
                return respond(c, 500, util_printf("{\"message\": \"out of memory\"}"), NULL);
        return respond(c, status, s, NULL);
}

static char *message_json(const char *message) {
        cJSON *o = cJSON_CreateObject();
        if (o && !cJSON_AddStringToObject(o, "message", message ? message : "out of memory")) {
                cJSON_Delete(o);
                o = NULL;
        }
        return print_json(o);
}

_printf_(3, 4) static enum MHD_Result respond_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *m = NULL;
        if (vasprintf(&m, fmt, ap) < 0)
                m = NULL;
        va_end(ap);
        return respond(c, status, message_json(m), NULL);
}

static bool peer_allowed(struct api *a, struct MHD_Connection *c, struct ucred *ret) {
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        socklen_t n = sizeof(*ret);
        if (!info || getsockopt(info->connect_fd, SOL_SOCKET, SO_PEERCRED, ret, &n) < 0) {
                *ret = (struct ucred) { .pid = 0, .uid = (uid_t) -1, .gid = (gid_t) -1 };
                return false;
        }
        return ret->uid == a->uid || ret->uid == 0;
}

static cJSON *string_or_null(const char *s) {
        return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static bool add(cJSON *o, const char *key, cJSON *value) {
        return value && cJSON_AddItemToObject(o, key, value);
}

static cJSON *last_scan_json(const struct service_status *st) {
        if (!st->has_last_scan)
                return cJSON_CreateNull();
        struct scan_summary s = { .id = st->last_scan.id, .repositories = st->last_scan.repositories,
                                  .updates = st->last_scan.updates, .errors = st->last_scan.errors,
                                  .requests = st->last_scan.requests };
        (void) store_parse_time(st->last_scan.started_at, &s.started_at);
        (void) store_parse_time(st->last_scan.finished_at, &s.finished_at);
        return report_summary_json(&s);
}

static enum MHD_Result get_status(struct api *a, struct MHD_Connection *c) {
        struct service_status st;
        service_get_status(a->service, &st);
        cJSON *o = cJSON_CreateObject();
        bool ok = o && add(o, "version", cJSON_CreateString(EXTUPDATED_VERSION)) &&
                  add(o, "state", cJSON_CreateString(st.scanning ? "scanning" : "idle")) &&
                  add(o, "last_scan", last_scan_json(&st)) && add(o, "next_scan_at", report_time_json(st.next_scan_at)) &&
                  add(o, "scan_deferred", string_or_null(st.scan_deferred)) &&
                  add(o, "extension_api_version", string_or_null(st.extension_api_version)) &&
                  add(o, "platform", string_or_null(st.platform)) &&
                  add(o, "installed_source", string_or_null(st.installed_source)) &&
                  add(o, "extensions", cJSON_CreateNumber(st.extensions)) &&
                  add(o, "updates", cJSON_CreateNumber(st.updates)) &&
                  add(o, "desktop_version", string_or_null(st.desktop_version)) &&
                  add(o, "current_scan", st.scanning ? report_summary_json(&st.current) : cJSON_CreateNull()) &&
                  add(o, "store_error", string_or_null(st.store_error));
        if (!ok) {
                cJSON_Delete(o);
                o = NULL;
        }
        return respond_json(c, 200, o);
}

static enum MHD_Result store_failure(struct api *a, struct MHD_Connection *c, int r) {
        return respond_error(c, 500, "reading the state failed: %s (%s)", strerror(-r),
                             store_error_message(service_store(a->service)));
}

static enum MHD_Result get_extensions(struct api *a, struct MHD_Connection *c, bool updates_only) {
        struct store_record *records = NULL;
        size_t n = 0;
        int r = store_list_records(service_store(a->service), STORE_ORDER_ALLOWLIST, &records, &n);
        if (r < 0)
                return store_failure(a, c, r);
        cJSON *list = cJSON_CreateArray();
        for (size_t i = 0; list && i < n; i++) {
                if (updates_only && !records[i].update_available)
                        continue;
                if (!cJSON_AddItemToArray(list, report_record_json(&records[i]))) {
                        cJSON_Delete(list);
                        list = NULL;
                }
        }
        store_record_array_free(records, n);
        return respond_json(c, 200, list);
}

static cJSON *verdict_json(const struct store_verdict *v) {
        cJSON *o = cJSON_CreateObject();
        if (o && add(o, "tag", string_or_null(v->tag)) && add(o, "digest", string_or_null(v->digest)) &&
            add(o, "api_constraint", string_or_null(v->api_constraint)) &&
            add(o, "compatible", cJSON_CreateBool(v->compatible)) && add(o, "reason", string_or_null(v->compatible ? NULL : v->reason)))
                return o;
        cJSON_Delete(o);
        return NULL;
}

static int compare_verdicts(const void *x, const void *y) {
        /* Newest first, as they were inspected. */
        return -semver_compare_strings(((const struct store_verdict *) x)->tag, ((const struct store_verdict *) y)->tag);
}

static enum MHD_Result get_extension(struct api *a, struct MHD_Connection *c, const char *repository) {
        struct store *store = service_store(a->service);
        struct store_record rec = {};
        int r = store_get_record(store, repository, &rec);
        if (r == -ENOENT)
                return respond_error(c, 404, "%s is not in the allow-list", repository);
        if (r < 0)
                return store_failure(a, c, r);
        struct store_verdict *verdicts = NULL;
        size_t n = 0;
        r = store_get_verdicts(store, repository, &verdicts, &n);
        if (r < 0) {
                store_record_done(&rec);
                return store_failure(a, c, r);
        }
        if (n > 1)
                qsort(verdicts, n, sizeof(*verdicts), compare_verdicts);
        cJSON *o = report_record_json(&rec);
        cJSON *versions = cJSON_CreateArray();
        for (size_t i = 0; versions && i < n; i++)
                if (!cJSON_AddItemToArray(versions, verdict_json(&verdicts[i]))) {
                        cJSON_Delete(versions);
                        versions = NULL;
                }
        if (o && !add(o, "versions", versions)) {
                cJSON_Delete(o);
                o = NULL;
        }
        store_record_done(&rec);
        store_verdict_array_free(verdicts, n);
        return respond_json(c, 200, o);
}

static enum MHD_Result get_installed(struct api *a, struct MHD_Connection *c) {
        _cleanup_strv_free_ char **pairs = NULL;
        int r = store_installed_list(service_store(a->service), &pairs);
        if (r < 0)
                return store_failure(a, c, r);
        cJSON *o = cJSON_CreateObject();
        for (char **p = pairs; o && p && p[0] && p[1]; p += 2)
                if (!cJSON_AddStringToObject(o, p[0], p[1])) {
                        cJSON_Delete(o);
                        o = NULL;
                }
        return respond_json(c, 200, o);
}

/* The answer to an inventory write: 204, or why not. */
static enum MHD_Result inventory_result(struct api *a, struct MHD_Connection *c, int r, const char *repository,
                                        char *error) {
        _cleanup_free_ char *e = error;
        if (r >= 0)
                return respond(c, 204, NULL, NULL);
        if (r == -EPERM)
                return respond_error(c, 409,
                                     "the installed-extension inventory comes from `docker extension ls` "
                                     "(installed_source is \"docker\"): install or remove the extension in "
                                     "Docker Desktop instead");
        if (r == -ENOENT)
                return respond_error(c, 404, "%s is not installed", repository ? repository : "that repository");
        if (r == -EINVAL)
                return respond_error(c, 400, "%s", e ? e : "invalid repository or version");
        return respond_error(c, 500, "%s", e ? e : strerror(-r));
}

static enum MHD_Result respond_refusal(struct MHD_Connection *c, struct api_refusal *f) {
        enum MHD_Result r = respond(c, f->status, message_json(f->message), f->allow);
        api_refusal_done(f);
        return r;
}

static enum MHD_Result put_installed(struct api *a, struct request *q, const char *repository) {
        struct api_refusal f;
        char *error = NULL;
        int r;
        if (repository) {
                _cleanup_free_ char *version = NULL;
                r = api_parse_version_body(q->body ? q->body : "", q->len, &version, &f);
                if (r == -EINVAL)
                        return respond_refusal(q->connection, &f);
                if (r >= 0)
                        r = service_set_installed(a->service, repository, version, &error);
        } else {
                _cleanup_strv_free_ char **pairs = NULL;
                r = api_parse_inventory_body(q->body ? q->body : "", q->len, &pairs, &f);
                if (r == -EINVAL)
                        return respond_refusal(q->connection, &f);
                if (r >= 0)
                        r = service_replace_installed(a->service, pairs, &error);
        }
        return inventory_result(a, q->connection, r, repository, error);
}

static void unlink_waiter(struct request *q) {
        if (!q->waiting)
                return;
        if (q->prev)
                q->prev->next = q->next;
        else
                q->api->waiters = q->next;
        if (q->next)
                q->next->prev = q->prev;
        q->prev = q->next = NULL;
        q->waiting = false;
}

/* Gives a suspended ?wait=1 request its answer and lets MHD send it. */
static void answer_waiter(struct request *q, unsigned status, char *body) {
        unlink_waiter(q);
        q->answer_status = status;
        q->answer = body ? body : message_json(NULL);
        if (q->suspension)
                http_server_resume(q->api->http, TAKE_PTR(q->suspension));
}

static char *summary_answer(const struct scan_summary *s, bool cancelled) {
        cJSON *o = report_summary_json(s);
        if (o && cancelled && !add(o, "cancelled", cJSON_CreateTrue())) {
                cJSON_Delete(o);
                o = NULL;
        }
        return print_json(o);
}

static void on_waiter_hangup(void *userdata) {
        struct request *q = userdata;
        /* Nobody reads the answer; the connection only needs to finish. */
        answer_waiter(q, 500, message_json("the client went away"));
}

static enum MHD_Result post_scan(struct api *a, struct request *q) {
        const char *wait = MHD_lookup_connection_value(q->connection, MHD_GET_ARGUMENT_KIND, "wait");
        bool want_wait = wait && (streq(wait, "1") || streq(wait, "true"));
        int64_t id = 0;
        int r = service_scan_now(a->service, SERVICE_ORIGIN_USER, &id);
        if (r < 0)
                return respond_error(q->connection, 503, "cannot start a scan: %s", strerror(-r));
        if (!want_wait) {
                cJSON *o = cJSON_CreateObject();
                if (o && !add(o, "id", cJSON_CreateNumber((double) id))) {
                        cJSON_Delete(o);
                        o = NULL;
                }
                return respond_json(q->connection, 202, o);
        }
        /* A scan may end before we get here (nothing to scan). */
        if (a->last_finished.id == id)
                return respond(q->connection, 200, summary_answer(&a->last_finished, a->last_finished_cancelled), NULL);
        r = http_server_suspend(a->http, q->connection, on_waiter_hangup, q, &q->suspension);
        if (r < 0)
                return respond_error(q->connection, 500, "cannot wait for the scan: %s", strerror(-r));
        q->scan_id = id;
        q->waiting = true;
        q->next = a->waiters;
        if (a->waiters)
                a->waiters->prev = q;
        a->waiters = q;
        return MHD_YES;
}

static enum MHD_Result dispatch(struct api *a, struct request *q, const struct api_route *route) {
        struct MHD_Connection *c = q->connection;
        switch (route->endpoint) {
        case API_STATUS:
                return get_status(a, c);
        case API_EXTENSIONS:
                return get_extensions(a, c, false);
        case API_UPDATES:
                return get_extensions(a, c, true);
        case API_EXTENSION:
                return get_extension(a, c, route->repository);
        case API_SCAN:
                return post_scan(a, q);
        case API_EVENTS: {
                struct MHD_Response *resp = api_events_open(a->events, c);
                if (!resp)
                        return respond_error(c, 500, "out of memory");
                enum MHD_Result r = MHD_queue_response(c, 200, resp);
                MHD_destroy_response(resp);
                return r;
        }
        case API_INSTALLED:
                return route->method == API_GET ? get_installed(a, c) : put_installed(a, q, NULL);
        case API_INSTALLED_ONE:
                if (route->method == API_PUT)
                        return put_installed(a, q, route->repository);
                char *error = NULL;
                int r = service_remove_installed(a->service, route->repository, &error);
                return inventory_result(a, c, r, route->repository, error);
        }
        return respond_error(c, 500, "unhandled endpoint");
}

/* The checks made on a request's headers, before any of its body is read. */
static enum MHD_Result first_call(struct api *a, struct request *q, const char *url, const char *method) {
        struct MHD_Connection *c = q->connection;
        struct ucred cred;
        if (!peer_allowed(a, c, &cred)) {
                log_warning("API: refused a request from uid %d (pid %d): only uid %d and root are served",
                        (int) cred.uid, (int) cred.pid, (int) a->uid);
                return respond_error(c, 403, "only the user running extupdated (uid %d) and root may use this API",
                                     (int) a->uid);
        }
        struct api_refusal f;
        int r = api_route(method, url, &q->route, &f);
        if (r == -EINVAL)
                return respond_refusal(c, &f);
        if (r < 0)
                return respond_error(c, 500, "out of memory");
        if (q->route.repository) {
                q->repository = strdup(q->route.repository);
                if (!q->repository)
                        return respond_error(c, 500, "out of memory");
                q->route.repository = q->repository;
        }

        const char *length = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        const char *chunked = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
        if (length) {
                char *end;
                errno = 0;
                unsigned long long n = strtoull(length, &end, 10);
                if (errno == 0 && *end == '\0' && n > API_BODY_MAX)
                        return respond_error(c, 413, "the request body is %llu bytes; at most %u are accepted", n,
                                             API_BODY_MAX);
        }
        bool has_body = (length && !streq(length, "0")) || chunked;
        const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
        if (has_body && !api_content_type_is_json(type))
                return respond_error(c, 415, "the request body must be application/json, not %s", type);
        return MHD_YES;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size,
                              void **con_cls) {
        struct api *a = cls;
        struct request *q = *con_cls;
        if (!q) {
                q = calloc(1, sizeof(*q));
                if (!q)
                        return MHD_NO;
                *q = (struct request) { .api = a, .connection = c };
                *con_cls = q;
                return first_call(a, q, url, method);
        }
        if (*upload_data_size > 0) {
                /* Chunked bodies have no Content-Length to refuse them by. */
                if (q->too_large || q->len + *upload_data_size > API_BODY_MAX) {
                        q->too_large = true;
                        free(TAKE_PTR(q->body));
                        q->len = 0;
                } else {
                        char *b = realloc(q->body, q->len + *upload_data_size + 1);
                        if (!b)
                                return MHD_NO;
                        memcpy(b + q->len, upload_data, *upload_data_size);
                        q->len += *upload_data_size;
                        b[q->len] = '\0';
                        q->body = b;
                }
                *upload_data_size = 0;
                return MHD_YES;
        }
        if (q->answer)
                return respond(c, q->answer_status, TAKE_PTR(q->answer), NULL);
        if (q->waiting)
                return MHD_YES;
        if (q->too_large)
                return respond_error(c, 413, "the request body is over %u bytes", API_BODY_MAX);
        return dispatch(a, q, &q->route);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
        struct request *q = *con_cls;
        if (!q)
                return;
        unlink_waiter(q);
        free(q->repository);
        free(q->body);
        free(q->answer);
        free(q);
        *con_cls = NULL;
}

static void on_event(const struct service_event *ev, void *userdata) {
        struct api *a = userdata;
        if (ev->type == SERVICE_EVENT_SCAN_FINISHED && ev->summary) {
                a->last_finished = *ev->summary;
                a->last_finished_cancelled = ev->cancelled;
                for (struct request *q = a->waiters, *next; q; q = next) {
                        next = q->next;
                        if (q->scan_id == ev->summary->id)
                                answer_waiter(q, 200, summary_answer(ev->summary, ev->cancelled));
                }
        }
        _cleanup_free_ char *line = api_event_line(ev);
        if (line)
                api_events_publish(a->events, line);
}

/* Every client of a burst gets a descriptor of its own. */
static void raise_fd_limit(void) {
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
}

static size_t events_queue_max(void) {
        /* Tests make a slow reader's limit small enough to reach in seconds. */
        const char *e = getenv("EXTUPDATED_API_EVENTS_QUEUE_MAX");
        char *end;
        unsigned long long n = e ? strtoull(e, &end, 10) : 0;
        return e && *e && *end == '\0' && n >= 1024 && n <= API_EVENTS_QUEUE_MAX ? (size_t) n : API_EVENTS_QUEUE_MAX;
}

int api_new(struct service *s, const char *socket_path, int listen_fd, struct api **ret) {
        struct api *a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        *a = (struct api) { .service = s, .uid = getuid(), .last_finished = { .id = -1 } };
        int r;
        if (listen_fd >= 0) {
                /* MHD closes the socket it serves when it stops; the one systemd passed stays the caller's. */
                listen_fd = fcntl(listen_fd, F_DUPFD_CLOEXEC, 3);
                if (listen_fd < 0) {
                        r = -errno;
                        log_error("cannot use the socket systemd passed: %s", strerror(-r));
                        free(a);
                        return r;
                }
        } else {
                char *error = NULL;
                char *path = socket_path ? strdup(socket_path) : api_socket_default_path(&error);
                if (!path) {
                        log_error("%s", error ? error : "out of memory");
                        free(error);
                        free(a);
                        return -EINVAL;
                }
                r = api_socket_listen(path, &listen_fd, &error);
                if (r < 0) {
                        log_error("%s", error ? error : strerror(-r));
                        free(error);
                        free(path);
                        free(a);
                        return r;
                }
                a->socket_path = path;
        }
        raise_fd_limit();
        struct http_server_options o = {
                .listen_fd = listen_fd,
                .handler = handle,
                .handler_cls = a,
                .completed = completed,
                .completed_cls = a,
                .connection_limit = API_CONNECTION_LIMIT,
                .connection_timeout = API_CONNECTION_TIMEOUT,
        };
        r = http_server_new(service_loop(s), &o, &a->http);
        if (r < 0) {
                log_error("cannot start the HTTP server: %s", strerror(-r));
                if (a->socket_path)
                        unlink(a->socket_path);
                close(listen_fd);
                free(a->socket_path);
                free(a);
                return r;
        }
        r = api_events_new(a->http, events_queue_max(), &a->events);
        if (r >= 0)
                r = service_subscribe(s, on_event, a, &a->subscription);
        if (r < 0) {
                api_free(a);
                return r;
        }
        *ret = a;
        return 0;
}

void api_free(struct api *a) {
        if (!a)
                return;
        if (a->subscription)
                service_unsubscribe(a->subscription);
        while (a->waiters)
                answer_waiter(a->waiters, 503, message_json("extupdated is stopping"));
        api_events_free(a->events);
        http_server_free(a->http);
        if (a->socket_path)
                unlink(a->socket_path);
        free(a->socket_path);
        free(a);
}
