/* GET /v1/events: the service's events as NDJSON lines, one bounded queue per reader. */
#include "api-events.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>

#include "report.h"
#include "util.h"

struct reader {
        struct api_events *owner;     /* NULL once the owner is gone */
        struct reader *prev, *next;
        struct MHD_Connection *connection;
        struct http_suspension *suspension; /* set while waiting for a line */
        char *buf;
        size_t len, off;
        bool ending;                  /* send what is queued, then end the stream */
};

struct api_events {
        struct http_server *http;
        size_t queue_max;
        struct reader *readers;
};

int api_events_new(struct http_server *h, size_t queue_max, struct api_events **ret) {
        struct api_events *e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        *e = (struct api_events) { .http = h, .queue_max = queue_max };
        *ret = e;
        return 0;
}

static void unlink_reader(struct reader *r) {
        if (!r->owner)
                return;
        if (r->prev)
                r->prev->next = r->next;
        else
                r->owner->readers = r->next;
        if (r->next)
                r->next->prev = r->prev;
        r->prev = r->next = NULL;
        r->owner = NULL;
}

static void wake(struct reader *r) {
        if (r->suspension)
                http_server_resume(r->owner->http, TAKE_PTR(r->suspension));
}

static void end(struct reader *r) {
        r->ending = true;
        if (r->owner)
                wake(r);
}

void api_events_free(struct api_events *e) {
        if (!e)
                return;
        while (e->readers) {
                struct reader *r = e->readers;
                end(r);
                unlink_reader(r);
        }
        free(e);
}

static void on_hangup(void *userdata) {
        end(userdata);
}

static ssize_t read_stream(void *cls, uint64_t pos, char *buf, size_t max) {
        struct reader *r = cls;
        if (r->off < r->len) {
                size_t n = r->len - r->off < max ? r->len - r->off : max;
                memcpy(buf, r->buf + r->off, n);
                r->off += n;
                if (r->off == r->len)
                        r->off = r->len = 0;
                return (ssize_t) n;
        }
        if (r->ending || !r->owner)
                return MHD_CONTENT_READER_END_OF_STREAM;
        if (http_server_suspend(r->owner->http, r->connection, on_hangup, r, &r->suspension) < 0)
                return MHD_CONTENT_READER_END_WITH_ERROR;
        return 0;
}

static void free_reader(void *cls) {
        struct reader *r = cls;
        unlink_reader(r);
        free(r->buf);
        free(r);
}

struct MHD_Response *api_events_open(struct api_events *e, struct MHD_Connection *c) {
        struct reader *r = calloc(1, sizeof(*r));
        if (!r)
                return NULL;
        *r = (struct reader) { .owner = e, .connection = c, .next = e->readers };
        struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, read_stream, r,
                                                                      free_reader);
        if (!resp) {
                free(r);
                return NULL;
        }
        MHD_add_response_header(resp, "Content-Type", "application/x-ndjson");
        MHD_add_response_header(resp, "Cache-Control", "no-store");
        /* A stream ends only for good (the daemon stops, the reader fell behind): the client sees EOF. */
        MHD_add_response_header(resp, "Connection", "close");
        if (e->readers)
                e->readers->prev = r;
        e->readers = r;
        return resp;
}

static bool append(struct reader *r, const char *line, size_t n) {
        if (r->off > 0) {
                memmove(r->buf, r->buf + r->off, r->len - r->off);
                r->len -= r->off;
                r->off = 0;
        }
        char *b = realloc(r->buf, r->len + n);
        if (!b)
                return false;
        memcpy(b + r->len, line, n);
        r->buf = b;
        r->len += n;
        return true;
}

static char *error_line(const char *message) {
        cJSON *o = cJSON_CreateObject();
        char now[21];
        util_format_time(time(NULL), now);
        char *s = NULL;
        if (o && cJSON_AddStringToObject(o, "type", "error") && cJSON_AddStringToObject(o, "time", now) &&
            cJSON_AddStringToObject(o, "message", message))
                s = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        char *line = s ? util_printf("%s\n", s) : NULL;
        free(s);
        return line;
}

void api_events_publish(struct api_events *e, const char *line) {
        size_t n = strlen(line);
        for (struct reader *r = e->readers, *next; r; r = next) {
                next = r->next;
                if (r->ending)
                        continue;
                if (r->len - r->off + n > e->queue_max || !append(r, line, n)) {
                        /* The reader is too slow: what it has not taken is dropped, so memory stays bounded. */
                        _cleanup_free_ char *err = util_printf(
                                "this reader fell more than %zu bytes behind; events were dropped and the stream "
                                "ends: reconnect and re-read the state",
                                e->queue_max);
                        _cleanup_free_ char *el = err ? error_line(err) : NULL;
                        free(r->buf);
                        r->buf = el ? TAKE_PTR(el) : NULL;
                        r->off = 0;
                        r->len = r->buf ? strlen(r->buf) : 0;
                        end(r);
                        continue;
                }
                wake(r);
        }
}

static bool add(cJSON *o, const char *key, cJSON *value) {
        return value && cJSON_AddItemToObject(o, key, value);
}

static const char *type_name(enum service_event_type t) {
        switch (t) {
        case SERVICE_EVENT_SCAN_STARTED:
                return "scan_started";
        case SERVICE_EVENT_SCAN_FINISHED:
                return "scan_finished";
        case SERVICE_EVENT_EXTENSION_CHANGED:
                return "extension_changed";
        case SERVICE_EVENT_UPDATE_AVAILABLE:
                return "update_available";
        case SERVICE_EVENT_ERROR:
                return "error";
        default:
                return NULL;
        }
}

static cJSON *string_or_null(const char *s) {
        return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

char *api_event_line(const struct service_event *ev) {
        const char *type = type_name(ev->type);
        if (!type)
                return NULL;
        cJSON *o = cJSON_CreateObject();
        char t[21];
        util_format_time(ev->time, t);
        bool ok = o && add(o, "type", cJSON_CreateString(type)) && add(o, "time", cJSON_CreateString(t));
        switch (ev->type) {
        case SERVICE_EVENT_SCAN_STARTED:
                ok = ok && ev->summary && add(o, "scan", report_summary_json(ev->summary));
                break;
        case SERVICE_EVENT_SCAN_FINISHED:
                ok = ok && ev->summary && add(o, "scan", report_summary_json(ev->summary)) &&
                     add(o, "cancelled", cJSON_CreateBool(ev->cancelled));
                break;
        case SERVICE_EVENT_EXTENSION_CHANGED:
        case SERVICE_EVENT_UPDATE_AVAILABLE:
                ok = ok && ev->after && add(o, "repository", string_or_null(ev->after->repository)) &&
                     add(o, "extension", report_record_json(ev->after));
                break;
        case SERVICE_EVENT_ERROR:
                ok = ok && add(o, "repository", string_or_null(ev->repository)) &&
                     add(o, "message", string_or_null(ev->message));
                break;
        default:
                break;
        }
        char *s = ok ? cJSON_PrintUnformatted(o) : NULL;
        cJSON_Delete(o);
        char *line = s ? util_printf("%s\n", s) : NULL;
        free(s);
        return line;
}
