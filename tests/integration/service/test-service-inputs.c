/* The service's entry points against the real registry: metered networks, sleep, joined scans, inventory writes and their events. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "service.h"
#include "util.h"

#define MAX_EVENTS 256

struct seen {
        enum service_event_type type;
        bool cancelled;
        int64_t scan_id;
        char repository[256];
        bool update_available;
};

static struct seen events[MAX_EVENTS];
static unsigned n_events;
static bool ready;
static int ready_error;

static void on_event(const struct service_event *e, void *userdata) {
        (void) userdata;
        if (n_events == MAX_EVENTS)
                return;
        struct seen *s = &events[n_events++];
        *s = (struct seen) {.type = e->type, .cancelled = e->cancelled};
        if (e->summary)
                s->scan_id = e->summary->id;
        if (e->after) {
                snprintf(s->repository, sizeof(s->repository), "%s", e->after->repository);
                s->update_available = e->after->update_available;
        }
}

static unsigned count(enum service_event_type type, bool cancelled) {
        unsigned n = 0;
        for (unsigned i = 0; i < n_events; i++)
                n += events[i].type == type && (type != SERVICE_EVENT_SCAN_FINISHED || events[i].cancelled == cancelled);
        return n;
}

static void on_ready(struct service *s, int error, void *userdata) {
        (void) s;
        (void) userdata;
        ready = true;
        ready_error = error;
}

/* Runs the loop until the number of events of a type reaches want, or 60 s pass. */
static bool run_until_count(uv_loop_t *loop, enum service_event_type type, bool cancelled, unsigned want) {
        int64_t deadline = util_now_ms() + 60000;
        while (count(type, cancelled) < want && util_now_ms() < deadline)
                uv_run(loop, UV_RUN_ONCE);
        return CHECK_MSG(count(type, cancelled) >= want, "event %d: %u of %u", (int) type, count(type, cancelled), want);
}

/* Lets queued events arrive. */
static void settle(uv_loop_t *loop) {
        for (int i = 0; i < 20; i++)
                uv_run(loop, UV_RUN_NOWAIT);
}

static void write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "w");
        REQUIRE(f);
        fputs(text, f);
        fclose(f);
}

int main(void) {
        const char *registry = getenv("EXTUPDATED_TEST_REGISTRY");
        if (!registry) {
                fprintf(stderr, "run under tests/registry/harness.py\n");
                return 77;
        }
        char dir[] = "/tmp/extupdated-service-inputs-XXXXXX";
        REQUIRE(mkdtemp(dir));
        _cleanup_free_ char *allow = util_printf("%s/extensions.txt", dir);
        _cleanup_free_ char *config = util_printf("%s/config.json", dir);
        _cleanup_free_ char *state = util_printf("%s/state", dir);
        _cleanup_free_ char *list = util_printf("%s/sel/tags\n%s/sel/pre\n", registry, registry);
        _cleanup_free_ char *cfg = util_printf("{\"allowlist\": [\"%s\"], \"extension_api_version\": \"0.3.4\","
                                               " \"platform\": \"linux/amd64\", \"interval\": 3600,"
                                               " \"installed_source\": \"api\", \"log_level\": \"warning\"}",
                                               allow);
        write_file(allow, list);
        write_file(config, cfg);

        uv_loop_t loop;
        REQUIRE_OK(uv_loop_init(&loop));
        struct service *s = NULL;
        struct service_subscription *sub = NULL;
        _cleanup_free_ char *error = NULL;
        struct service_options o = {.config = config, .state_dir = state};
        REQUIRE_OK(service_new(&loop, &o, on_ready, NULL, &s, &error));
        REQUIRE_OK(service_subscribe(s, on_event, NULL, &sub));
        while (!ready)
                uv_run(&loop, UV_RUN_ONCE);
        REQUIRE_OK(ready_error);

        /* Metered before the first scheduled scan: it waits, and says why. */
        service_set_metered(s, true);
        service_start(s);
        settle(&loop);
        struct service_status st;
        service_get_status(s, &st);
        CHECK(!st.scanning);
        CHECK_STR(st.scan_deferred, "metered network");
        CHECK_INT(count(SERVICE_EVENT_SCAN_STARTED, false), 0);
        CHECK_STR(st.installed_source, "api");
        CHECK_STR(st.extension_api_version, "0.3.4");

        /* A scan asked for runs anyway; asking again while it runs joins it. */
        int64_t id = 0, joined = 0;
        REQUIRE_OK(service_scan_now(s, SERVICE_ORIGIN_USER, &id));
        CHECK_CMP(id, >, 0);
        REQUIRE_OK(service_scan_now(s, SERVICE_ORIGIN_USER, &joined));
        CHECK_INT(joined, id);
        run_until_count(&loop, SERVICE_EVENT_SCAN_FINISHED, false, 1);
        settle(&loop);
        CHECK_INT(count(SERVICE_EVENT_SCAN_STARTED, false), 1);
        CHECK_INT(count(SERVICE_EVENT_EXTENSION_CHANGED, false), 2);
        service_get_status(s, &st);
        CHECK(!st.scanning);
        CHECK(st.has_last_scan);
        CHECK_INT(st.last_scan.id, id);
        CHECK_INT(st.extensions, 2);
        CHECK_CMP(st.next_scan_at, >=, time(NULL) + 3600 - 5);

        /* Inventory writes: validated, then the changed record and a new update are told. */
        _cleanup_free_ char *tags = util_printf("%s/sel/tags", registry);
        char *why = NULL;
        CHECK_INT(service_set_installed(s, tags, "one.two", &why), -EINVAL);
        CHECK_CONTAINS(why, "is not a SemVer version");
        free(TAKE_PTR(why));
        CHECK_INT(service_set_installed(s, "Not A Repository", "1.0.0", &why), -EINVAL);
        CHECK(why != NULL);
        free(TAKE_PTR(why));
        unsigned updates_before = count(SERVICE_EVENT_UPDATE_AVAILABLE, false);
        REQUIRE_OK(service_set_installed(s, tags, "1.0.0", &why));
        settle(&loop);
        CHECK_INT(count(SERVICE_EVENT_INSTALLED_CHANGED, false), 1);
        CHECK_INT(count(SERVICE_EVENT_UPDATE_AVAILABLE, false), updates_before + 1);
        service_get_status(s, &st);
        CHECK_INT(st.updates, 1);
        REQUIRE_OK(service_remove_installed(s, tags, &why));
        CHECK_INT(service_remove_installed(s, tags, &why), -ENOENT);
        CHECK_CONTAINS(why, "is not in the installed inventory");
        free(TAKE_PTR(why));
        char *pairs[] = { tags, (char *) "v1.0.0", NULL };
        REQUIRE_OK(service_replace_installed(s, pairs, &why));
        settle(&loop);
        service_get_status(s, &st);
        CHECK_INT(st.updates, 1);

        /* Going to sleep cancels the running scan: FINISHED, marked cancelled, and not recorded. */
        REQUIRE_OK(service_scan_now(s, SERVICE_ORIGIN_USER, &id));
        service_prepare_for_sleep(s, true);
        run_until_count(&loop, SERVICE_EVENT_SCAN_FINISHED, true, 1);
        settle(&loop);
        service_get_status(s, &st);
        CHECK(!st.scanning);
        CHECK_CMP(st.last_scan.id, <, id);

        /* After resume the cancelled scan is due again, but the network is still metered. */
        service_prepare_for_sleep(s, false);
        settle(&loop);
        service_get_status(s, &st);
        CHECK(!st.scanning);
        CHECK_STR(st.scan_deferred, "metered network");

        /* Unmetered: the waiting scheduled scan runs. */
        unsigned finished = count(SERVICE_EVENT_SCAN_FINISHED, false);
        service_set_metered(s, false);
        run_until_count(&loop, SERVICE_EVENT_SCAN_FINISHED, false, finished + 1);
        settle(&loop);
        service_get_status(s, &st);
        CHECK(st.scan_deferred == NULL);
        CHECK_CMP(st.last_scan.id, >, id);

        service_unsubscribe(sub);
        service_free(s);
        uv_run(&loop, UV_RUN_DEFAULT);
        CHECK_INT(uv_loop_close(&loop), 0);
        _cleanup_free_ char *rm = util_printf("rm -rf '%s'", dir);
        if (system(rm) != 0)
                fprintf(stderr, "could not remove %s\n", dir);
        return check_summary("test-service-inputs");
}
