/* CPU cost of token batching: tag lists of N repositories on one token-auth registry, for several N. */
#include <errno.h>
#include <sys/resource.h>

#include "../integration/common.h"
#include "config.h"

static double cpu_seconds(void) {
        struct rusage u;
        getrusage(RUSAGE_SELF, &u);
        return (double) u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

struct counter {
        unsigned done, failed;
};

static void on_done(int error, const char *message, struct registry_tags *t, void *userdata) {
        struct counter *c = userdata;
        c->done++;
        if (error && c->failed++ == 0)
                fprintf(stderr, "%s\n", message);
}

/* Lists the tags of n repositories at once, as a scan does; returns the failures. */
static unsigned run(uv_loop_t *loop, const struct config *cfg, const char *registry, unsigned n) {
        struct registry_options o = { .config = cfg, .anonymous = true };
        struct registry_client *rc = NULL;
        if (registry_client_new(loop, &o, &rc) < 0)
                exit(1);
        char path[64];
        for (unsigned i = 0; i < n; i++) {
                snprintf(path, sizeof path, "bench/r%05u", i);
                registry_client_add_scope(rc, registry, path);
        }
        struct counter c = {};
        double cpu = cpu_seconds();
        int64_t wall = util_now_ms();
        for (unsigned i = 0; i < n; i++) {
                snprintf(path, sizeof path, "bench/r%05u", i);
                if (registry_list_tags(rc, registry, path, on_done, &c) < 0)
                        exit(1);
        }
        while (c.done < n)
                uv_run(loop, UV_RUN_ONCE);
        cpu = cpu_seconds() - cpu;
        struct registry_stats s;
        registry_client_stats(rc, &s);
        printf("%6u repositories: %7.2f s CPU in this process, %6.1f s wall, %4llu token requests, %u failed\n", n,
               cpu, (util_now_ms() - wall) / 1000.0, (unsigned long long) s.tokens, c.failed);
        fflush(stdout);
        registry_client_free(rc);
        drain(loop);
        return c.failed;
}

int main(int argc, char **argv) {
        const char *registry = getenv("FAKE_REGISTRY"), *url = getenv("FAKE_REGISTRY_URL");
        if (!registry || !url) {
                fprintf(stderr, "run me under tests/integration/fakeregistry.py -- bench-tokens [N...]\n");
                return 77;
        }
        _cleanup_free_ char *text = util_printf("{\"registries\": {\"%s\": {\"url\": \"%s\"}}}", registry, url);
        struct config cfg;
        if (config_load_string(text, strlen(text), "bench", NULL, &cfg, NULL, NULL) < 0)
                return 1;
        uv_loop_t *loop = uv_default_loop();
        unsigned failed = 0;
        static const char *const sizes[] = { "1000", "4000", "10000", NULL };
        for (const char *const *n = argc > 1 ? (const char *const *) argv + 1 : sizes; *n; n++)
                failed += run(loop, &cfg, registry, (unsigned) strtoul(*n, NULL, 10));
        config_done(&cfg);
        uv_loop_close(loop);
        return failed ? 1 : 0;
}
