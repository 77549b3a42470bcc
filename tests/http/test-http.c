/* Integration tests for lib/http.c against tests/http/faultserver.py: limits, retries, redirects, cancellation. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "util.h"
#include "../check.h"

/* What the server told us at start-up. */
static int port_a, port_b, port_tls, port_h2, port_blackhole, port_closed;
static char *cert_path, *h2_log;
static uv_loop_t *loop;
static struct http_client *ctl; /* talks to the control endpoint on host b, never under test */

static int64_t mono_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A copy of everything a callback saw, since the response dies with the callback. */
struct result {
        unsigned calls;
        int error;
        char *message;
        long status;
        char *url;
        char *body;
        size_t body_len;
        unsigned attempts, requests;
        char **headers;
        bool had_headers;
        int64_t done_ms;
        int submit_in_callback; /* what http_submit returned from inside the callback, if tried */
        struct http_client *free_in_callback;
        struct http_client *submit_client;
};

static void result_done(struct result *r) {
        free(r->message);
        free(r->url);
        free(r->body);
        util_strv_free(r->headers);
}

static void noop_cb(const struct http_response *resp, void *userdata) {
}

static void on_done(const struct http_response *resp, void *userdata) {
        struct result *r = userdata;
        r->calls++;
        r->error = resp->error;
        r->message = resp->error_message ? strdup(resp->error_message) : NULL;
        r->status = resp->status;
        r->url = resp->url ? strdup(resp->url) : NULL;
        r->body = malloc(resp->body_len + 1);
        memcpy(r->body, resp->body, resp->body_len + 1);
        r->body_len = resp->body_len;
        r->attempts = resp->attempts;
        r->requests = resp->requests;
        r->had_headers = resp->headers != NULL;
        for (const char *const *h = resp->headers; h && *h; h++)
                util_strv_push(&r->headers, *h);
        r->done_ms = mono_ms();
        if (r->submit_client)
                r->submit_in_callback = http_submit(r->submit_client,
                                                    &(struct http_request) { .url = "http://127.0.0.1:1/" },
                                                    noop_cb, NULL);
        if (r->free_in_callback)
                http_client_free(r->free_in_callback);
}

static const char *result_header(const struct result *r, const char *name) {
        struct http_response resp = { .headers = (const char *const *) r->headers };
        return http_response_header(&resp, name);
}

static void run_until(unsigned *counter, unsigned n) {
        while (*counter < n)
                uv_run(loop, UV_RUN_ONCE);
}

/* Submits one request and runs the loop until its callback has run. */
static void fetch(struct http_client *c, const struct http_request *req, struct result *r) {
        *r = (struct result) {};
        int k = http_submit(c, req, on_done, r);
        CHECK_INT(k, 0);
        if (k < 0)
                return;
        CHECK_INT(r->calls, 0); /* never from inside http_submit */
        run_until(&r->calls, 1);
        CHECK_INT(r->calls, 1);
}

static char *url_a(const char *path) {
        return util_printf("http://127.0.0.1:%d%s", port_a, path);
}

static cJSON *control(const char *what) {
        _cleanup_free_ char *url = util_printf("http://127.0.0.2:%d/_control/%s", port_b, what);
        struct result r;
        fetch(ctl, &(struct http_request) { .url = url, .no_retry = true }, &r);
        CHECK_INT(r.status, 200);
        cJSON *j = cJSON_Parse(r.status == 200 ? r.body : "null");
        result_done(&r);
        return j;
}

static void server_reset(void) {
        cJSON_Delete(control("reset"));
}

static long stat_of(const char *server, const char *name) {
        cJSON *j = control("stats");
        cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(j, server), name);
        long n = cJSON_IsNumber(v) ? (long) v->valuedouble : -1;
        cJSON_Delete(j);
        return n;
}

/* The logged value of a request header for the first logged request to server whose path starts
 * with prefix: *found tells whether such a request arrived; NULL return = header absent. */
static char *logged_header(const char *server, const char *prefix, const char *header, bool *found) {
        cJSON *j = control("log"), *e;
        char *v = NULL;
        *found = false;
        cJSON_ArrayForEach(e, j) {
                const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(e, "server"));
                const char *p = cJSON_GetStringValue(cJSON_GetObjectItem(e, "path"));
                if (!s || !p || !streq(s, server) || !util_startswith(p, prefix))
                        continue;
                *found = true;
                const char *h = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(e, "headers"), header));
                v = h ? strdup(h) : NULL;
                break;
        }
        cJSON_Delete(j);
        return v;
}

static long logged_count(void) {
        cJSON *j = control("log");
        long n = cJSON_GetArraySize(j);
        cJSON_Delete(j);
        return n;
}

static struct http_client *client(const struct http_options *o) {
        struct http_client *c = NULL;
        int r = http_client_new(loop, o, &c);
        CHECK_INT(r, 0);
        if (r < 0)
                exit(EXIT_FAILURE);
        return c;
}

static void client_free(struct http_client *c) {
        http_client_free(c);
        uv_run(loop, UV_RUN_NOWAIT);
}

static void test_get_head(void) {
        struct http_client *c = client(NULL);
        _cleanup_free_ char *url = url_a("/ok?size=1000&multi=1");
        struct result r;

        fetch(c, &(struct http_request) { .url = url }, &r);
        CHECK_INT(r.error, 0);
        CHECK_INT(r.status, 200);
        CHECK_INT(r.body_len, 1000);
        CHECK(r.body && r.body[0] == 'x' && r.body[999] == 'x' && r.body[1000] == 0);
        CHECK_STR(r.url, url);
        CHECK_STR(r.message, NULL);
        CHECK_INT(r.attempts, 1);
        CHECK_INT(r.requests, 1);
        CHECK_STR(result_header(&r, "content-length"), "1000");
        CHECK_STR(result_header(&r, "CONTENT-TYPE"), "text/plain");
        CHECK_STR(result_header(&r, "Link"), "</b>; rel=\"last\"");
        struct http_response resp = { .headers = (const char *const *) r.headers };
        const char **links = http_response_headers(&resp, "link");
        CHECK(links && links[0] && links[1] && !links[2]);
        if (links && links[0] && links[1]) {
                CHECK_STR(links[0], "</a>; rel=\"next\"");
                CHECK_STR(links[1], "</b>; rel=\"last\"");
        }
        free(links);
        result_done(&r);

        /* A HEAD announces a body far over the cap without being refused for it. */
        fetch(c, &(struct http_request) { .method = "HEAD", .url = url, .max_body = 10 }, &r);
        CHECK_INT(r.error, 0);
        CHECK_INT(r.status, 200);
        CHECK_INT(r.body_len, 0);
        CHECK_STR(r.body, "");
        CHECK_STR(result_header(&r, "Content-Length"), "1000");
        result_done(&r);

        _cleanup_free_ char *missing = url_a("/missing");
        fetch(c, &(struct http_request) { .url = missing }, &r);
        CHECK_INT(r.error, 0);
        CHECK_INT(r.status, 404);
        CHECK_INT(r.attempts, 1);
        CHECK_STR(r.body, "not found\n");
        result_done(&r);
        client_free(c);
}

static void test_body_cap(void) {
        struct http_client *c = client(NULL);
        struct result r;
        static const char *const over[] = { "/ok?size=100001", "/chunked?size=2000000", "/unframed?size=300000" };

        for (size_t i = 0; i < ELEMENTSOF(over); i++) {
                _cleanup_free_ char *url = url_a(over[i]);
                fetch(c, &(struct http_request) { .url = url, .max_body = 100000 }, &r);
                CHECK_INT(r.error, -EFBIG);
                CHECK(r.message && strstr(r.message, "100000"));
                CHECK_INT(r.attempts, 1);
                CHECK_CMP(r.body_len, <=, 100000);
                result_done(&r);
        }

        /* Announced over the cap: refused from the header, before any body byte is stored. */
        _cleanup_free_ char *announced = url_a("/ok?size=100001");
        fetch(c, &(struct http_request) { .url = announced, .max_body = 100000 }, &r);
        CHECK_INT(r.body_len, 0);
        CHECK(r.message && strstr(r.message, "100001"));
        result_done(&r);

        static const char *const exact[] = { "/ok?size=100000", "/chunked?size=100000", "/unframed?size=100000" };
        for (size_t i = 0; i < ELEMENTSOF(exact); i++) {
                _cleanup_free_ char *url = url_a(exact[i]);
                fetch(c, &(struct http_request) { .url = url, .max_body = 100000 }, &r);
                CHECK_INT(r.error, 0);
                CHECK_INT(r.status, 200);
                CHECK_INT(r.body_len, 100000);
                result_done(&r);
        }

        /* The default cap is 4 MiB. */
        _cleanup_free_ char *big = url_a("/chunked?size=4194305");
        fetch(c, &(struct http_request) { .url = big }, &r);
        CHECK_INT(r.error, -EFBIG);
        result_done(&r);
        client_free(c);
}

static void test_timeouts(void) {
        struct result r;

        /* Bytes trickle in below the low-speed limit: aborted long before the 5 s the body needs. */
        struct http_client *c = client(&(struct http_options) { .low_speed_limit = 100, .low_speed_time_s = 1 });
        _cleanup_free_ char *slow = url_a("/slow?bytes=10&interval=0.5");
        fetch(c, &(struct http_request) { .url = slow, .no_retry = true }, &r);
        CHECK_INT(r.error, -ETIMEDOUT);
        CHECK_INT(r.attempts, 1);
        CHECK(r.message != NULL);
        result_done(&r);

        /* A server that accepts and never answers trips the low-speed check too. */
        _cleanup_free_ char *stall = url_a("/stall");
        fetch(c, &(struct http_request) { .url = stall, .no_retry = true }, &r);
        CHECK_INT(r.error, -ETIMEDOUT);
        CHECK_INT(r.requests, 1);
        result_done(&r);
        client_free(c);

        /* The total timeout, with one retry of the transport failure. */
        c = client(&(struct http_options) { .total_timeout_ms = 500, .max_retries = 1, .retry_base_ms = 10 });
        fetch(c, &(struct http_request) { .url = stall }, &r);
        CHECK_INT(r.error, -ETIMEDOUT);
        CHECK_INT(r.attempts, 2);
        CHECK_INT(r.requests, 2);
        CHECK_INT(r.status, 0);
        CHECK(!r.had_headers);
        result_done(&r);
        client_free(c);

        /* A connect that never completes: no request was ever sent. */
        c = client(&(struct http_options) { .connect_timeout_ms = 300, .max_retries = 1, .retry_base_ms = 10 });
        _cleanup_free_ char *hole = util_printf("http://127.0.0.1:%d/", port_blackhole);
        fetch(c, &(struct http_request) { .url = hole }, &r);
        CHECK_INT(r.error, -ETIMEDOUT);
        CHECK_INT(r.attempts, 2);
        CHECK_INT(r.requests, 0);
        result_done(&r);

        _cleanup_free_ char *closed = util_printf("http://127.0.0.1:%d/", port_closed);
        fetch(c, &(struct http_request) { .url = closed }, &r);
        CHECK_INT(r.error, -ECONNREFUSED);
        CHECK_INT(r.attempts, 2);
        CHECK_INT(r.requests, 0);
        result_done(&r);
        fetch(c, &(struct http_request) { .url = closed, .no_retry = true }, &r);
        CHECK_INT(r.error, -ECONNREFUSED);
        CHECK_INT(r.attempts, 1);
        result_done(&r);
        CHECK_INT(http_client_request_count(c), 0);
        client_free(c);
}

/* A request's deadline cuts its attempt and stops retries that could not finish before it. */
static void test_deadline(void) {
        struct http_client *c = client(&(struct http_options) { .retry_base_ms = 10 });
        struct result r;

        /* Bytes fast enough for the low-speed check, too slow for the deadline: cut there, not retried. */
        _cleanup_free_ char *slow = url_a("/slow?bytes=100&interval=0.1");
        fetch(c, &(struct http_request) { .url = slow, .deadline = uv_now(loop) + 700 }, &r);
        CHECK_INT(r.error, -ETIMEDOUT);
        CHECK(r.message && strstr(r.message, "Operation timed out"));
        CHECK_INT(r.attempts, 1);
        result_done(&r);

        /* A Retry-After that ends too close to the deadline: the 503 is the answer, at once. */
        server_reset();
        _cleanup_free_ char *busy = url_a("/status?code=503&times=1&retry_after=2&key=deadline-short");
        fetch(c, &(struct http_request) { .url = busy, .deadline = uv_now(loop) + 2500 }, &r);
        CHECK_INT(r.error, 0);
        CHECK_INT(r.status, 503);
        CHECK_INT(r.attempts, 1);
        result_done(&r);

        /* The same with room for the retry and its minimum window: retried, and it succeeds. */
        _cleanup_free_ char *busy2 = url_a("/status?code=503&times=1&retry_after=1&key=deadline-long");
        fetch(c, &(struct http_request) { .url = busy2, .deadline = uv_now(loop) + 10000 }, &r);
        CHECK_INT(r.status, 200);
        CHECK_INT(r.attempts, 2);
        result_done(&r);

        /* Submitted past its deadline (1 ms after the loop's clock began): fails from the loop. */
        _cleanup_free_ char *ok = url_a("/hold?ms=500");
        fetch(c, &(struct http_request) { .url = ok, .deadline = 1 }, &r);
        CHECK_INT(r.error, -ETIMEDOUT);
        CHECK_INT(r.attempts, 1);
        result_done(&r);
        client_free(c);
}

/* The default low-speed limit: an API answer trickling at a byte a second is abandoned after 10 s
 * (before, 1 byte/s for 30 s never tripped on it). The deadline only keeps old code from hanging. */
static void test_low_speed_default(void) {
        struct http_client *c = client(NULL);
        struct result r;
        _cleanup_free_ char *slow = url_a("/slow?bytes=100000&interval=1");
        fetch(c, &(struct http_request) { .url = slow, .no_retry = true, .deadline = uv_now(loop) + 25000 }, &r);
        CHECK_INT(r.error, -ETIMEDOUT);
        CHECK(r.message && strstr(r.message, "too slow"));
        result_done(&r);
        client_free(c);
}

static void count_cb(const struct http_response *resp, void *userdata) {
        struct result *r = userdata;
        r->calls++;
        r->error = resp->error;
}

/* http_cancel ends the requests of one userdata at once, from inside the call, and no others. */
static void test_cancel_one(void) {
        struct http_client *c = client(NULL);
        struct result a = {}, b = {}, other = {};
        _cleanup_free_ char *stall = url_a("/stall");
        _cleanup_free_ char *hold = url_a("/hold?ms=300");
        CHECK_INT(http_submit(c, &(struct http_request) { .url = stall }, count_cb, &a), 0);
        CHECK_INT(http_submit(c, &(struct http_request) { .url = stall }, count_cb, &a), 0);
        CHECK_INT(http_submit(c, &(struct http_request) { .url = stall }, count_cb, &b), 0);
        CHECK_INT(http_submit(c, &(struct http_request) { .url = hold }, count_cb, &other), 0);
        /* Let them reach the server first. */
        int64_t until = mono_ms() + 100;
        while (mono_ms() < until)
                uv_run(loop, UV_RUN_NOWAIT);
        CHECK_INT(http_cancel(c, &a), 2);
        CHECK_INT(a.calls, 2);
        CHECK_INT(a.error, -ECANCELED);
        CHECK_INT(http_cancel(c, &a), 0);
        run_until(&other.calls, 1);
        CHECK_INT(other.error, 0);
        CHECK_INT(b.calls, 0);
        CHECK_INT(http_cancel(c, &b), 1);
        CHECK_INT(b.calls, 1);
        client_free(c);
}

static void test_retries(void) {
        struct http_client *c = client(&(struct http_options) { .retry_base_ms = 20, .max_retries = 3 });
        struct result r;

        /* 429 with Retry-After in seconds: the wait is honoured. */
        _cleanup_free_ char *ra = url_a("/status?code=429&key=ra&times=1&retry_after=1");
        int64_t start = mono_ms();
        fetch(c, &(struct http_request) { .url = ra }, &r);
        CHECK_INT(r.error, 0);
        CHECK_INT(r.status, 200);
        CHECK_STR(r.body, "finally\n");
        CHECK_INT(r.attempts, 2);
        CHECK_INT(r.requests, 2);
        CHECK_CMP(r.done_ms - start, >=, 900);
        CHECK_STR(result_header(&r, "Retry-After"), NULL); /* only the final response's headers */
        result_done(&r);

        /* 503 with Retry-After as an HTTP date two seconds ahead (whole seconds, so at least 1 s). */
        _cleanup_free_ char *rad = url_a("/status?code=503&key=rad&times=1&retry_after_date=2");
        start = mono_ms();
        fetch(c, &(struct http_request) { .url = rad }, &r);
        CHECK_INT(r.status, 200);
        CHECK_INT(r.attempts, 2);
        CHECK_CMP(r.done_ms - start, >=, 900);
        result_done(&r);

        /* 500 then success. */
        _cleanup_free_ char *once = url_a("/status?code=500&key=once&times=1");
        fetch(c, &(struct http_request) { .url = once }, &r);
        CHECK_INT(r.status, 200);
        CHECK_INT(r.attempts, 2);
        CHECK_INT(r.requests, 2);
        result_done(&r);

        /* 408 is retried as well; exhausting the retries returns the last response as it is. */
        _cleanup_free_ char *always = url_a("/status?code=408&key=always&times=100");
        fetch(c, &(struct http_request) { .url = always }, &r);
        CHECK_INT(r.error, 0);
        CHECK_INT(r.status, 408);
        CHECK_INT(r.attempts, 4);
        CHECK_INT(r.requests, 4);
        CHECK_STR(r.body, "status\n");
        result_done(&r);

        /* no_retry: one attempt. */
        _cleanup_free_ char *nr = url_a("/status?code=502&key=nr&times=1");
        fetch(c, &(struct http_request) { .url = nr, .no_retry = true }, &r);
        CHECK_INT(r.status, 502);
        CHECK_INT(r.attempts, 1);
        result_done(&r);

        /* Never retried: other 4xx, 501. */
        static const char *const final[] = { "/status?code=404&key=f404", "/status?code=401&key=f401",
                                             "/status?code=400&key=f400", "/status?code=501&key=f501" };
        for (size_t i = 0; i < ELEMENTSOF(final); i++) {
                _cleanup_free_ char *url = url_a(final[i]);
                fetch(c, &(struct http_request) { .url = url }, &r);
                CHECK_CMP(r.status, !=, 200);
                CHECK_INT(r.attempts, 1);
                CHECK_INT(r.requests, 1);
                result_done(&r);
        }
        client_free(c);

        /* A Retry-After beyond retry_max_ms is not sat out: the 429 comes back at once. */
        c = client(&(struct http_options) { .retry_base_ms = 20, .retry_max_ms = 1000 });
        _cleanup_free_ char *far = url_a("/status?code=429&key=far&times=1&retry_after=120");
        fetch(c, &(struct http_request) { .url = far }, &r);
        CHECK_INT(r.status, 429);
        CHECK_INT(r.attempts, 1);
        CHECK_STR(result_header(&r, "Retry-After"), "120");
        result_done(&r);
        client_free(c);
}

static void test_redirects(void) {
        struct http_client *c = client(&(struct http_options) { .ca_file = cert_path });
        struct result r;
        bool found;

        /* To another host: Authorization stays behind, other headers go along. */
        server_reset();
        _cleanup_free_ char *cross = util_printf("http://127.0.0.1:%d/redirect?hop=first&to=http://127.0.0.2:%d/ok%%3Fsize=5",
                                                 port_a, port_b);
        _cleanup_free_ char *target = util_printf("http://127.0.0.2:%d/ok?size=5", port_b);
        const char *const headers[] = { "Authorization: Bearer s3cret", "X-Custom: kept", NULL };
        fetch(c, &(struct http_request) { .url = cross, .headers = headers, .follow_redirects = true }, &r);
        CHECK_INT(r.error, 0);
        CHECK_INT(r.status, 200);
        CHECK_STR(r.url, target);
        CHECK_STR(r.body, "xxxxx");
        CHECK_INT(r.requests, 2);
        CHECK_INT(r.attempts, 1);
        CHECK_STR(result_header(&r, "X-Hop"), NULL);
        CHECK_STR(result_header(&r, "Location"), NULL);
        char *auth = logged_header("a", "/redirect", "authorization", &found);
        CHECK(found);
        CHECK_STR(auth, "Bearer s3cret");
        free(auth);
        auth = logged_header("b", "/ok", "authorization", &found);
        CHECK(found);
        CHECK_STR(auth, NULL);
        free(auth);
        char *custom = logged_header("b", "/ok", "x-custom", &found);
        CHECK_STR(custom, "kept");
        free(custom);
        result_done(&r);

        /* On the same host and port the header goes along. */
        server_reset();
        _cleanup_free_ char *same = url_a("/redirect?to=/ok%3Fsize=3");
        fetch(c, &(struct http_request) { .url = same, .headers = headers, .follow_redirects = true }, &r);
        CHECK_INT(r.status, 200);
        CHECK_STR(r.body, "xxx");
        auth = logged_header("a", "/ok", "authorization", &found);
        CHECK(found);
        CHECK_STR(auth, "Bearer s3cret");
        free(auth);
        result_done(&r);

        /* Not followed unless asked. */
        fetch(c, &(struct http_request) { .url = cross }, &r);
        CHECK_INT(r.status, 302);
        CHECK_INT(r.requests, 1);
        CHECK_STR(result_header(&r, "Location"), target);
        CHECK_STR(result_header(&r, "X-Hop"), "first");
        CHECK_STR(r.body, "moved\n");
        result_done(&r);

        /* A loop stops after 5 redirects (6 requests). */
        _cleanup_free_ char *loop_url = url_a("/redirect?to=self");
        fetch(c, &(struct http_request) { .url = loop_url, .follow_redirects = true }, &r);
        CHECK_INT(r.error, -EPROTO);
        CHECK_INT(r.requests, 6);
        CHECK_INT(r.attempts, 1);
        result_done(&r);

        /* Only http and https. */
        _cleanup_free_ char *file = url_a("/redirect?to=file:///etc/passwd");
        fetch(c, &(struct http_request) { .url = file, .follow_redirects = true }, &r);
        CHECK_INT(r.error, -EPROTO);
        CHECK(r.body_len == 0 || !strstr(r.body, "root:"));
        result_done(&r);

        if (!cert_path) {
                fprintf(stderr, "no TLS listener (python3-cryptography missing): skipping https redirects\n");
                client_free(c);
                return;
        }

        /* https → http is refused; https → https and http → https are fine. */
        server_reset();
        _cleanup_free_ char *down = util_printf("https://127.0.0.1:%d/redirect?to=http://127.0.0.1:%d/ok", port_tls, port_a);
        fetch(c, &(struct http_request) { .url = down, .follow_redirects = true }, &r);
        CHECK_INT(r.error, -EPROTO);
        CHECK_INT(r.requests, 1);
        logged_header("a", "/ok", "host", &found);
        CHECK(!found);
        result_done(&r);

        _cleanup_free_ char *tls_same = util_printf("https://127.0.0.1:%d/redirect?to=/ok", port_tls);
        fetch(c, &(struct http_request) { .url = tls_same, .follow_redirects = true }, &r);
        CHECK_INT(r.error, 0);
        CHECK_INT(r.status, 200);
        CHECK_INT(r.requests, 2);
        result_done(&r);

        _cleanup_free_ char *up = util_printf("http://127.0.0.1:%d/redirect?to=https://127.0.0.1:%d/ok", port_a, port_tls);
        fetch(c, &(struct http_request) { .url = up, .follow_redirects = true }, &r);
        CHECK_INT(r.error, 0);
        CHECK_INT(r.status, 200);
        result_done(&r);
        client_free(c);

        /* Without the test certificate the system trust store rejects it, and says so; a request's
         * own CA file trusts it. */
        c = client(NULL);
        _cleanup_free_ char *tls = util_printf("https://127.0.0.1:%d/ok", port_tls);
        fetch(c, &(struct http_request) { .url = tls, .no_retry = true }, &r);
        CHECK_INT(r.error, -EKEYREJECTED);
        CHECK_CONTAINS(r.message, "SSL certificate problem");
        result_done(&r);
        fetch(c, &(struct http_request) { .url = tls, .no_retry = true, .ca_file = cert_path }, &r);
        CHECK_INT(r.error, 0);
        CHECK_INT(r.status, 200);
        result_done(&r);
        client_free(c);
}

static void test_invalid(void) {
        struct http_client *c = client(NULL);
        struct result r = {};
        _cleanup_free_ char *url = url_a("/ok");
        const char *const crlf[] = { "X-Evil: a\r\nX-Injected: b", NULL };
        const char *const noname[] = { "no colon here", NULL };

        CHECK_INT(http_submit(c, &(struct http_request) { .url = url, .method = "PUT" }, on_done, &r), -EINVAL);
        CHECK_INT(http_submit(c, &(struct http_request) { .url = url, .body = "x", .body_len = 1 }, on_done, &r),
                  -EINVAL);
        CHECK_INT(http_submit(c, &(struct http_request) { .url = "ftp://127.0.0.1/x" }, on_done, &r), -EINVAL);
        CHECK_INT(http_submit(c, &(struct http_request) { .url = NULL }, on_done, &r), -EINVAL);
        CHECK_INT(http_submit(c, &(struct http_request) { .url = url, .headers = crlf }, on_done, &r), -EINVAL);
        CHECK_INT(http_submit(c, &(struct http_request) { .url = url, .headers = noname }, on_done, &r), -EINVAL);
        uv_run(loop, UV_RUN_NOWAIT);
        CHECK_INT(r.calls, 0);
        CHECK_INT(http_client_request_count(c), 0);
        client_free(c);
        http_client_free(NULL);
}

static void test_keepalive_and_limits(void) {
        struct http_client *c = client(NULL);
        struct result r;
        _cleanup_free_ char *ok = url_a("/ok");

        server_reset();
        for (int i = 0; i < 5; i++) {
                fetch(c, &(struct http_request) { .url = ok }, &r);
                CHECK_INT(r.status, 200);
                result_done(&r);
        }
        /* One connection serves all five. The bound allows one more: under load the server may accept,
         * after the reset, a connection an earlier test's freed client had left in its backlog. */
        CHECK_CMP(stat_of("a", "connections_opened"), <=, 2);
        client_free(c);

        /* Six slow requests through two connections: never more than two at the server at once. */
        c = client(&(struct http_options) { .max_connections = 2 });
        _cleanup_free_ char *hold = url_a("/hold?ms=500");
        struct result rs[6] = {};
        unsigned done = 0;
        server_reset();
        for (size_t i = 0; i < ELEMENTSOF(rs); i++)
                CHECK_INT(http_submit(c, &(struct http_request) { .url = hold }, on_done, &rs[i]), 0);
        for (;;) {
                done = 0;
                for (size_t i = 0; i < ELEMENTSOF(rs); i++)
                        done += rs[i].calls;
                if (done == ELEMENTSOF(rs))
                        break;
                uv_run(loop, UV_RUN_ONCE);
        }
        for (size_t i = 0; i < ELEMENTSOF(rs); i++) {
                CHECK_INT(rs[i].status, 200);
                result_done(&rs[i]);
        }
        CHECK_INT(stat_of("a", "max_inflight"), 2);
        CHECK_CMP(stat_of("a", "connections_opened"), <=, 2);
        client_free(c);

        /* The total limit across hosts, with no per-host limit below it. */
        c = client(&(struct http_options) { .max_connections = 2, .max_per_host = 2 });
        _cleanup_free_ char *hold_b = util_printf("http://127.0.0.2:%d/hold?ms=500", port_b);
        server_reset();
        struct result rt[6] = {};
        for (size_t i = 0; i < ELEMENTSOF(rt); i++)
                CHECK_INT(http_submit(c, &(struct http_request) { .url = i % 2 ? hold_b : hold }, on_done, &rt[i]), 0);
        for (size_t i = 0; i < ELEMENTSOF(rt); i++) {
                run_until(&rt[i].calls, 1);
                CHECK_INT(rt[i].status, 200);
                result_done(&rt[i]);
        }
        CHECK_INT(stat_of("all", "max_inflight"), 2);
        client_free(c);

        /* A per-host limit below the total. */
        c = client(&(struct http_options) { .max_connections = 8, .max_per_host = 1 });
        server_reset();
        struct result rh[3] = {};
        for (size_t i = 0; i < ELEMENTSOF(rh); i++)
                CHECK_INT(http_submit(c, &(struct http_request) { .url = hold }, on_done, &rh[i]), 0);
        for (size_t i = 0; i < ELEMENTSOF(rh); i++) {
                run_until(&rh[i].calls, 1);
                CHECK_INT(rh[i].status, 200);
                result_done(&rh[i]);
        }
        CHECK_INT(stat_of("a", "max_inflight"), 1);
        client_free(c);
}

static void test_counting(void) {
        struct http_client *c = client(NULL);
        struct result r;
        unsigned sum = 0;

        server_reset();
        const char *const paths[] = { "/ok", "/redirect?to=/ok", "/status?code=500&key=count&times=1", "/missing" };
        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                _cleanup_free_ char *url = url_a(paths[i]);
                fetch(c, &(struct http_request) { .url = url, .follow_redirects = true,
                                                  .method = i == 0 ? "HEAD" : NULL }, &r);
                sum += r.requests;
                result_done(&r);
        }
        CHECK_INT(sum, 1 + 2 + 2 + 1);
        CHECK_INT(http_client_request_count(c), sum);
        CHECK_INT(logged_count(), sum);
        client_free(c);
}

static void test_many(void) {
        struct http_client *c = client(NULL);
        enum { N = 200 };
        struct result *rs = calloc(N, sizeof *rs);
        _cleanup_free_ char *url = url_a("/ok?size=100");

        for (int i = 0; i < N; i++)
                CHECK_INT(http_submit(c, &(struct http_request) { .url = url }, on_done, &rs[i]), 0);
        unsigned ok = 0, calls = 0;
        for (int i = 0; i < N; i++) {
                run_until(&rs[i].calls, 1);
                calls += rs[i].calls;
                ok += rs[i].status == 200 && rs[i].body_len == 100;
                result_done(&rs[i]);
        }
        CHECK_INT(calls, N);
        CHECK_INT(ok, N);
        CHECK_INT(http_client_request_count(c), N);
        free(rs);
        client_free(c);
}

static void on_cancel_timer(uv_timer_t *t) {
        http_client_free(t->data);
        uv_close((uv_handle_t *) t, NULL);
}

/* Freeing with requests in every state: connecting, waiting for an answer, waiting to retry. */
static void test_cancel(void) {
        uv_loop_t own;
        CHECK_INT(uv_loop_init(&own), 0);
        struct http_client *c = NULL;
        CHECK_INT(http_client_new(&own, &(struct http_options) { .connect_timeout_ms = 20000 }, &c), 0);

        _cleanup_free_ char *stall = url_a("/stall");
        _cleanup_free_ char *retry = url_a("/status?code=503&key=cancel&times=5&retry_after=30");
        _cleanup_free_ char *hole = util_printf("http://127.0.0.1:%d/", port_blackhole);
        const char *urls[] = { stall, stall, retry, hole, stall };
        struct result rs[ELEMENTSOF(urls)] = {};
        for (size_t i = 0; i < ELEMENTSOF(urls); i++) {
                rs[i].submit_client = c;
                CHECK_INT(http_submit(c, &(struct http_request) { .url = urls[i] }, on_done, &rs[i]), 0);
        }

        uv_timer_t timer;
        uv_timer_init(&own, &timer);
        timer.data = c;
        uv_timer_start(&timer, on_cancel_timer, 500, 0);
        int64_t start = mono_ms();
        uv_run(&own, UV_RUN_DEFAULT);
        CHECK_CMP(mono_ms() - start, <, 20000); /* nothing kept the loop alive after the free */

        for (size_t i = 0; i < ELEMENTSOF(urls); i++) {
                CHECK_INT(rs[i].calls, 1);
                CHECK_INT(rs[i].error, -ECANCELED);
                CHECK_INT(rs[i].submit_in_callback, -ECANCELED);
                result_done(&rs[i]);
        }
        CHECK_INT(rs[2].attempts, 1);
        CHECK_INT(uv_loop_close(&own), 0);

        /* Freed from inside one request's callback while others are in flight. */
        CHECK_INT(uv_loop_init(&own), 0);
        CHECK_INT(http_client_new(&own, NULL, &c), 0);
        _cleanup_free_ char *ok = url_a("/ok");
        struct result first = { .free_in_callback = c }, others[3] = {};
        CHECK_INT(http_submit(c, &(struct http_request) { .url = ok }, on_done, &first), 0);
        for (size_t i = 0; i < ELEMENTSOF(others); i++)
                CHECK_INT(http_submit(c, &(struct http_request) { .url = stall }, on_done, &others[i]), 0);
        uv_run(&own, UV_RUN_DEFAULT);
        CHECK_INT(first.calls, 1);
        CHECK_INT(first.status, 200);
        for (size_t i = 0; i < ELEMENTSOF(others); i++) {
                CHECK_INT(others[i].calls, 1);
                CHECK_INT(others[i].error, -ECANCELED);
                result_done(&others[i]);
        }
        result_done(&first);
        CHECK_INT(uv_loop_close(&own), 0);
}

/* A callback may queue the next request on the same client. */
struct chain {
        struct http_client *c;
        char *url;
        unsigned left, done;
        long last_status;
};

static void on_chain(const struct http_response *resp, void *userdata) {
        struct chain *ch = userdata;
        ch->done++;
        ch->last_status = resp->status;
        if (--ch->left > 0)
                CHECK_INT(http_submit(ch->c, &(struct http_request) { .url = ch->url }, on_chain, ch), 0);
}

static void test_chain(void) {
        struct chain ch = { .c = client(NULL), .url = url_a("/ok"), .left = 5 };
        CHECK_INT(http_submit(ch.c, &(struct http_request) { .url = ch.url }, on_chain, &ch), 0);
        run_until(&ch.done, 5);
        CHECK_INT(ch.done, 5);
        CHECK_INT(ch.last_status, 200);
        CHECK_INT(http_client_request_count(ch.c), 5);
        free(ch.url);
        client_free(ch.c);
}

/* nghttpd speaks only HTTP/2: twenty concurrent requests must share one multiplexed connection. */
static void test_http2(void) {
        if (!port_h2) {
                fprintf(stderr, "nghttpd (nghttp2-server) not installed: skipping HTTP/2\n");
                return;
        }
        struct http_client *c = client(&(struct http_options) { .ca_file = cert_path });
        enum { N = 20 };
        struct result rs[N] = {};
        _cleanup_free_ char *url = util_printf("https://127.0.0.1:%d/h2.txt", port_h2);

        for (int i = 0; i < N; i++)
                CHECK_INT(http_submit(c, &(struct http_request) { .url = url }, on_done, &rs[i]), 0);
        for (int i = 0; i < N; i++) {
                run_until(&rs[i].calls, 1);
                CHECK_INT(rs[i].error, 0);
                CHECK_INT(rs[i].status, 200);
                CHECK_STR(rs[i].body, "hello over h2\n");
                CHECK_STR(result_header(&rs[i], "Content-Length"), "14");
                CHECK_INT(rs[i].requests, 1);
                result_done(&rs[i]);
        }
        CHECK_INT(http_client_request_count(c), N);
        client_free(c);

        /* nghttpd -v tags every line with its connection, "[id=N] ... recv HEADERS frame" for each
         * request; connections without requests (the server's own readiness probe) do not count. */
        _cleanup_free_ char *log = NULL;
        size_t len;
        CHECK_INT(util_read_file(h2_log, 64 * 1024 * 1024, &log, &len), 0);
        if (!log)
                return;
        long first = -1, others = 0, headers = 0;
        for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n")) {
                if (!util_startswith(line, "[id=") || !strstr(line, "recv HEADERS frame"))
                        continue;
                long id = strtol(line + 4, NULL, 10);
                headers++;
                if (first < 0)
                        first = id;
                else if (id != first)
                        others++;
        }
        CHECK_CMP(first, >, 0);
        CHECK_INT(others, 0);
        CHECK_INT(headers, N);
}

static pid_t server_start(int *ret_stdin) {
        const char *tests = getenv("EXTUPDATED_TESTS");
        if (!tests) {
                fprintf(stderr, "EXTUPDATED_TESTS is not set\n");
                exit(77);
        }
        _cleanup_free_ char *script = util_printf("%s/http/faultserver.py", tests);
        int in[2], out[2];
        if (pipe(in) < 0 || pipe(out) < 0)
                exit(EXIT_FAILURE);
        pid_t pid = fork();
        if (pid < 0)
                exit(EXIT_FAILURE);
        if (pid == 0) {
                dup2(in[0], STDIN_FILENO);
                dup2(out[1], STDOUT_FILENO);
                close(in[0]);
                close(in[1]);
                close(out[0]);
                close(out[1]);
                execl("/usr/bin/python3", "python3", script, (char *) NULL);
                _exit(127);
        }
        close(in[0]);
        close(out[1]);

        FILE *f = fdopen(out[0], "r");
        char line[4096];
        if (!f || !fgets(line, sizeof line, f)) {
                fprintf(stderr, "faultserver did not start\n");
                exit(EXIT_FAILURE);
        }
        fclose(f);
        cJSON *j = cJSON_Parse(line);
        port_a = cJSON_GetObjectItem(j, "a")->valueint;
        port_b = cJSON_GetObjectItem(j, "b")->valueint;
        port_blackhole = cJSON_GetObjectItem(j, "blackhole")->valueint;
        port_closed = cJSON_GetObjectItem(j, "closed")->valueint;
        cJSON *tls = cJSON_GetObjectItem(j, "tls");
        if (tls) {
                port_tls = tls->valueint;
                cert_path = strdup(cJSON_GetStringValue(cJSON_GetObjectItem(j, "cert")));
        }
        cJSON *h2 = cJSON_GetObjectItem(j, "h2");
        if (h2) {
                port_h2 = h2->valueint;
                h2_log = strdup(cJSON_GetStringValue(cJSON_GetObjectItem(j, "h2log")));
        }
        cJSON_Delete(j);
        *ret_stdin = in[1];
        return pid;
}

int main(void) {
        /* libcurl honours the proxy variables; the fault server must be reached directly. */
        static const char *const proxy_vars[] = { "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                                  "all_proxy", "ALL_PROXY" };
        for (size_t i = 0; i < ELEMENTSOF(proxy_vars); i++)
                unsetenv(proxy_vars[i]);

        int server_stdin;
        pid_t server = server_start(&server_stdin);
        loop = uv_default_loop();
        ctl = client(&(struct http_options) { .max_retries = 1 });

        struct {
                const char *name;
                void (*fn)(void);
        } tests[] = {
                { "get_head", test_get_head },
                { "body_cap", test_body_cap },
                { "timeouts", test_timeouts },
                { "deadline", test_deadline },
                { "low_speed_default", test_low_speed_default },
                { "cancel_one", test_cancel_one },
                { "retries", test_retries },
                { "redirects", test_redirects },
                { "invalid", test_invalid },
                { "keepalive_and_limits", test_keepalive_and_limits },
                { "counting", test_counting },
                { "many", test_many },
                { "cancel", test_cancel },
                { "chain", test_chain },
                { "http2", test_http2 },
        };
        const char *only = getenv("TEST_HTTP_ONLY");
        for (size_t i = 0; i < ELEMENTSOF(tests); i++) {
                if (only && !streq(only, tests[i].name))
                        continue;
                unsigned before = check_failed;
                int64_t start = mono_ms();
                tests[i].fn();
                printf("%s %s (%lld ms)\n", check_failed == before ? "ok  " : "FAIL", tests[i].name,
                       (long long) (mono_ms() - start));
        }

        client_free(ctl);
        uv_run(loop, UV_RUN_DEFAULT);
        CHECK_INT(uv_loop_close(loop), 0);

        close(server_stdin);
        kill(server, SIGTERM);
        waitpid(server, NULL, 0);
        free(cert_path);
        free(h2_log);

        return check_summary("test-http");
}
