/* Integration test of scan_cancel and registry_client_cancel_all against the real-registry harness. */
#include <errno.h>
#include <ftw.h>
#include <unistd.h>

#include "../../check.h"
#include "../common.h"
#include "allowlist.h"
#include "config.h"
#include "http.h"
#include "registry.h"
#include "scan.h"
#include "store.h"

/* The harness runs with --generate REPOS,TAGS,INCOMPATIBLE: bench/ext-0000 … each with TAGS
 * versions whose newest INCOMPATIBLE need a newer API, so every walk takes many requests. */
#define REPOS 6

static uv_loop_t *loop;
static const char *registry; /* 127.0.0.1:PORT */
static const char *control_url;
static struct config cfg;
static struct allowlist all, none;
static struct store *store;

/* What one scan delivered. */
struct events {
        unsigned started, repositories, finished;
        bool cancelled;          /* of the FINISHED summary */
        bool finished_reentrant; /* FINISHED arrived inside scan_start, scan_cancel or another event */
        bool in_call;            /* the test is inside scan_start or scan_cancel */
        bool in_event;
        bool done;
        int64_t id;
        struct scan *scan;
        unsigned cancel_after_repositories; /* 0: never from an event */
};

static void on_event(const struct scan_event *e, void *userdata) {
        struct events *ev = userdata;
        bool nested = ev->in_event;
        ev->in_event = true;
        switch (e->type) {
        case SCAN_EVENT_STARTED:
                ev->started++;
                break;
        case SCAN_EVENT_REPOSITORY:
                ev->repositories++;
                if (ev->cancel_after_repositories && ev->repositories == ev->cancel_after_repositories)
                        scan_cancel(ev->scan);
                break;
        case SCAN_EVENT_FINISHED:
                ev->finished++;
                ev->cancelled = e->summary->cancelled;
                ev->finished_reentrant = ev->in_call || nested;
                ev->done = true;
                break;
        }
        ev->in_event = nested;
}

static struct registry_client *client(void) {
        struct http_options ho = {.retry_base_ms = 50, .retry_max_ms = 2000};
        struct registry_options o = {.config = &cfg, .http = &ho, .anonymous = true};
        struct registry_client *rc = NULL;
        REQUIRE_OK(registry_client_new(loop, &o, &rc));
        return rc;
}

static void harness_config(const char *json) {
        _cleanup_free_ char *url = util_printf("%s/config", control_url);
        cJSON *j = control(url, json);
        REQUIRE(j);
        cJSON_Delete(j);
}

/* digest_max_age 1: every known tag is confirmed with a HEAD again, so a warm walk still takes
 * one request per version. */
static struct scan *start(struct registry_client *rc, const struct allowlist *al, unsigned parallel,
                          struct events *ev) {
        struct scan_settings ss = {.api_version = "0.3.4", .platform = "linux/amd64", .max_parallel = parallel,
                                   .digest_max_age = 1};
        struct scan *s = NULL;
        ev->in_call = true;
        REQUIRE_OK(scan_start(loop, store, rc, al, &ss, on_event, ev, &s));
        ev->in_call = false;
        ev->scan = s;
        ev->id = scan_get_summary(s)->id;
        return s;
}

static void cancel(struct events *ev) {
        ev->in_call = true;
        scan_cancel(ev->scan);
        ev->in_call = false;
}

/* Every record as one comparable text: status, versions, checked_at, verdict count. */
static char *snapshot(void) {
        struct store_record *rec = NULL;
        size_t n = 0;
        REQUIRE_OK(store_list_records(store, STORE_ORDER_ALLOWLIST, &rec, &n));
        char *text = strdup("");
        for (size_t i = 0; i < n && text; i++) {
                struct store_verdict *v = NULL;
                size_t nv = 0;
                (void) store_get_verdicts(store, rec[i].repository, &v, &nv);
                int64_t scan_id = nv ? v[0].scan_id : 0;
                store_verdict_array_free(v, nv);
                char *t = util_printf("%s%s %s %s %s %s %zu %lld\n", text, rec[i].repository,
                                      rec[i].status ? rec[i].status : "-", rec[i].latest ? rec[i].latest : "-",
                                      rec[i].latest_compatible ? rec[i].latest_compatible : "-",
                                      rec[i].checked_at ? rec[i].checked_at : "-", nv, (long long) scan_id);
                free(text);
                text = t;
        }
        store_record_array_free(rec, n);
        REQUIRE(text);
        return text;
}

static int64_t last_finished_scan(void) {
        struct store_scan last = {};
        return store_last_scan(store, &last) > 0 ? last.id : 0;
}

/* A complete scan first, so that later cancelled ones have stored records to leave alone. */
static void test_full_scan(void) {
        check_context = "full scan";
        struct registry_client *rc = client();
        struct events ev = {};
        struct scan *s = start(rc, &all, 0, &ev);
        run_until(loop, &ev.done);
        CHECK_INT(ev.finished, 1);
        CHECK(!ev.cancelled);
        CHECK(!ev.finished_reentrant);
        CHECK_INT(ev.repositories, REPOS);
        CHECK_INT(last_finished_scan(), ev.id);
        scan_free(s);
        registry_client_free(rc);
        drain(loop);
}

/* Cancelled while requests are in flight (the front delays each one): one FINISHED from the loop,
 * nothing stored, the scan not recorded as finished. */
static void test_cancel_in_flight(void) {
        check_context = "cancel in flight";
        int64_t finished_before = last_finished_scan();
        _cleanup_free_ char *before = snapshot();
        harness_config("{\"delay_ms\": 100}");
        /* Past digest_max_age: the walks confirm every tag with a HEAD, 100 ms each. */
        usleep(1100 * 1000);
        struct registry_client *rc = client();
        struct events ev = {};
        struct scan *s = start(rc, &all, 2, &ev);
        /* Run until requests are under way: the first tags lists, tokens, pings. */
        int64_t until = util_now_ms() + 350;
        while (util_now_ms() < until && !ev.done)
                uv_run(loop, UV_RUN_ONCE);
        CHECK(!ev.done);
        cancel(&ev);
        CHECK_INT(ev.finished, 0);
        run_until(loop, &ev.done);
        CHECK_INT(ev.finished, 1);
        CHECK(ev.cancelled);
        CHECK(!ev.finished_reentrant);
        CHECK_INT(ev.repositories, 0);
        CHECK(scan_get_summary(s)->cancelled);
        /* Nothing else arrives once the loop has settled. */
        drain(loop);
        CHECK_INT(ev.finished, 1);
        CHECK_INT(last_finished_scan(), finished_before);
        _cleanup_free_ char *after = snapshot();
        CHECK_STR(after, before);
        /* A client that cancelled stays usable. */
        struct result r = {};
        _cleanup_free_ char *path = strdup("bench/ext-0000");
        REQUIRE_OK(registry_list_tags(rc, registry, path, on_tags, &r));
        run_until(loop, &r.done);
        CHECK_INT(r.error, 0);
        result_done(&r);
        scan_free(s);
        registry_client_free(rc);
        drain(loop);
        harness_config("{\"delay_ms\": 0}");
}

/* Cancelled from inside the first REPOSITORY event: that repository is stored, the others are
 * left as they were, FINISHED does not arrive inside the event. */
static void test_cancel_from_event(void) {
        check_context = "cancel from an event";
        int64_t finished_before = last_finished_scan();
        _cleanup_free_ char *before = snapshot();
        struct registry_client *rc = client();
        struct events ev = {.cancel_after_repositories = 1};
        struct scan *s = start(rc, &all, 1, &ev);
        run_until(loop, &ev.done);
        CHECK_INT(ev.finished, 1);
        CHECK(ev.cancelled);
        CHECK(!ev.finished_reentrant);
        CHECK_INT(ev.repositories, 1);
        CHECK_INT(last_finished_scan(), finished_before);
        /* Only the first repository's record changed (its checked_at and verdicts' scan). */
        _cleanup_free_ char *after = snapshot();
        const char *b = strchr(before, '\n'), *a = strchr(after, '\n');
        CHECK(a && b);
        if (a && b)
                CHECK_STR(a, b);
        scan_free(s);
        registry_client_free(rc);
        drain(loop);
}

/* Cancelled right after the start, before any request went out. */
static void test_cancel_at_once(void) {
        check_context = "cancel at once";
        int64_t finished_before = last_finished_scan();
        _cleanup_free_ char *before = snapshot();
        struct registry_client *rc = client();
        struct events ev = {};
        struct scan *s = start(rc, &all, 0, &ev);
        cancel(&ev);
        cancel(&ev); /* a second call changes nothing */
        CHECK_INT(ev.finished, 0);
        run_until(loop, &ev.done);
        drain(loop);
        CHECK_INT(ev.finished, 1);
        CHECK(ev.cancelled);
        CHECK(!ev.finished_reentrant);
        CHECK_INT(ev.repositories, 0);
        CHECK_INT(last_finished_scan(), finished_before);
        _cleanup_free_ char *after = snapshot();
        CHECK_STR(after, before);
        scan_free(s);
        registry_client_free(rc);
        drain(loop);
}

/* An empty allow-list finishes from the loop, not inside scan_start, and is recorded. */
static void test_empty(void) {
        check_context = "empty allow-list";
        struct registry_client *rc = client();
        struct events ev = {};
        struct scan *s = start(rc, &none, 0, &ev);
        CHECK_INT(ev.started, 1);
        CHECK_INT(ev.finished, 0);
        run_until(loop, &ev.done);
        CHECK_INT(ev.finished, 1);
        CHECK(!ev.cancelled);
        CHECK(!ev.finished_reentrant);
        CHECK_INT(last_finished_scan(), ev.id);
        scan_free(s);
        registry_client_free(rc);
        drain(loop);
        /* Restore the allow-list in the store for whatever runs next. */
}

static void on_tags_count(int error, const char *message, struct registry_tags *t, void *userdata) {
        unsigned *canceled = userdata;
        (void) message;
        (void) t;
        if (error == -ECANCELED)
                (*canceled)++;
}

/* The client's own cancellation: callbacks from the loop only, every operation -ECANCELED. */
static void test_client_cancel_all(void) {
        check_context = "registry_client_cancel_all";
        harness_config("{\"delay_ms\": 200}");
        struct registry_client *rc = client();
        unsigned canceled = 0;
        for (unsigned i = 0; i < REPOS; i++) {
                _cleanup_free_ char *path = util_printf("bench/ext-%04u", i);
                REQUIRE_OK(registry_list_tags(rc, registry, path, on_tags_count, &canceled));
        }
        /* Some in flight (the ping and token under way), the rest waiting for them. */
        int64_t until = util_now_ms() + 100;
        while (util_now_ms() < until)
                uv_run(loop, UV_RUN_NOWAIT);
        registry_client_cancel_all(rc);
        CHECK_INT(canceled, 0);
        until = util_now_ms() + 2000;
        while (canceled < REPOS && util_now_ms() < until)
                uv_run(loop, UV_RUN_ONCE);
        CHECK_INT(canceled, REPOS);
        registry_client_free(rc);
        drain(loop);
        harness_config("{\"delay_ms\": 0}");
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st;
        (void) flag;
        (void) ftw;
        return remove(path);
}

int main(void) {
        registry = getenv("EXTUPDATED_TEST_REGISTRY");
        control_url = getenv("EXTUPDATED_TEST_CONTROL_URL");
        const char *registry_url = getenv("EXTUPDATED_TEST_REGISTRY_URL");
        if (!registry || !control_url || !registry_url) {
                fprintf(stderr, "run me under tests/registry/harness.py run --generate … -- %s\n",
                        "test-scan-cancel");
                return 77;
        }
        curl_global_init(CURL_GLOBAL_DEFAULT);
        REQUIRE_OK(registry_test_config(registry, registry_url, &cfg));

        _cleanup_free_ char *text = strdup("");
        for (unsigned i = 0; i < REPOS && text; i++) {
                char *t = util_printf("%s%s/bench/ext-%04u\n", text, registry, i);
                free(text);
                text = t;
        }
        REQUIRE(text);
        REQUIRE_OK(allowlist_parse("test", text, strlen(text), &all, NULL));
        REQUIRE_OK(allowlist_parse("empty", "", 0, &none, NULL));

        char dir[] = "/tmp/test-scan-cancel-XXXXXX";
        REQUIRE(mkdtemp(dir));
        REQUIRE_OK(store_open(dir, &store, NULL));
        loop = uv_default_loop();

        test_full_scan();
        test_cancel_in_flight();
        test_cancel_from_event();
        test_cancel_at_once();
        test_client_cancel_all();
        test_empty();

        store_free(store);
        allowlist_done(&all);
        allowlist_done(&none);
        config_done(&cfg);
        uv_loop_close(loop);
        curl_global_cleanup();
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        check_failed += common_failures;
        return check_summary("test-scan-cancel");
}
