/* The sd-bus ↔ libuv bridge on a real bus (run under dbus-run-session): replies, timeouts that only
 * the timer can fire, messages read ahead by a blocking call, a lost connection, and where a missing
 * bus's socket will appear. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../check.h"
#include "bus.h"
#include "util.h"

#define PEER_NAME "io.extupdated.TestPeer"

static uv_loop_t *loop;
static sd_bus_message *held; /* the call the peer never answers */
static unsigned echo_replies, timeouts, signals_seen, lost_calls;
static char timeout_error[128];

static int method_echo(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *s;
        int r = sd_bus_message_read(m, "s", &s);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(m, "s", s);
}

static int method_never(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        held = sd_bus_message_ref(m);
        return 1;
}

static const sd_bus_vtable peer_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Echo", "s", "s", method_echo, 0),
        SD_BUS_METHOD("Never", "", "", method_never, 0),
        SD_BUS_SIGNAL("Ping", "", 0),
        SD_BUS_VTABLE_END,
};

static int on_echo(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *s = NULL;
        if (CHECK(!sd_bus_message_is_method_error(m, NULL)) && sd_bus_message_read(m, "s", &s) >= 0)
                CHECK_STR(s, "hello");
        echo_replies++;
        uv_stop(loop);
        return 1;
}

static int on_never(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const sd_bus_error *e = sd_bus_message_get_error(m);
        snprintf(timeout_error, sizeof(timeout_error), "%s", e && e->name ? e->name : "(a reply)");
        timeouts++;
        uv_stop(loop);
        return 1;
}

static int on_ping(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        signals_seen++;
        uv_stop(loop);
        return 1;
}

static void on_lost(struct bus *b, void *userdata) {
        lost_calls++;
        uv_stop(loop);
}

static bool guard_fired;
static void guard_cb(uv_timer_t *t) {
        guard_fired = true;
        uv_stop(loop);
}

/* Runs the loop until a callback stops it; a guard ends a hang as a failure. */
static bool run_until_stopped(const char *what) {
        uv_timer_t guard;
        uv_timer_init(loop, &guard);
        guard_fired = false;
        uv_timer_start(&guard, guard_cb, 10000, 0);
        uv_run(loop, UV_RUN_DEFAULT);
        uv_close((uv_handle_t *) &guard, NULL);
        uv_run(loop, UV_RUN_NOWAIT);
        return CHECK_MSG(!guard_fired, "the loop hung waiting for %s", what);
}

/* Opens a connection of our own to a private dbus-daemon we start, so the test can take it away. */
static pid_t start_private_daemon(char *address, size_t size) {
        int out[2];
        REQUIRE(pipe(out) == 0);
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
                dup2(out[1], STDOUT_FILENO);
                close(out[0]);
                close(out[1]);
                execlp("dbus-daemon", "dbus-daemon", "--session", "--nofork", "--print-address=1", NULL);
                _exit(127);
        }
        close(out[1]);
        size_t n = 0;
        ssize_t k;
        while (n + 1 < size && (k = read(out[0], address + n, size - 1 - n)) > 0) {
                n += (size_t) k;
                if (memchr(address, '\n', n))
                        break;
        }
        close(out[0]);
        address[n] = '\0';
        char *nl = strchr(address, '\n');
        REQUIRE(nl);
        *nl = '\0';
        return pid;
}

static void check_socket_path(enum bus_kind kind, const char *address, int want_r, const char *want) {
        const char *var = kind == BUS_SESSION ? "DBUS_SESSION_BUS_ADDRESS" : "DBUS_SYSTEM_BUS_ADDRESS";
        if (address)
                setenv(var, address, 1);
        else
                unsetenv(var);
        char *path = NULL;
        int r = bus_socket_path(kind, &path);
        CHECK_MSG(r == want_r, "%s=%s gave %d", var, address ? address : "(unset)", r);
        if (want_r >= 0 && r >= 0)
                CHECK_STR(path, want);
        free(path);
}

/* Where a bus that is missing will appear, so that the daemon can wait for it there. */
static void test_socket_path(void) {
        const char *s = getenv("DBUS_SESSION_BUS_ADDRESS"), *x = getenv("XDG_RUNTIME_DIR");
        char *session = s ? strdup(s) : NULL, *runtime = x ? strdup(x) : NULL;
        check_socket_path(BUS_SESSION, "unix:path=/run/user/1000/bus", 0, "/run/user/1000/bus");
        check_socket_path(BUS_SESSION, "unix:guid=0123,path=/tmp/a%20b/bus%2c", 0, "/tmp/a b/bus,");
        check_socket_path(BUS_SESSION, "unix:abstract=/tmp/dbus-x;unix:path=/tmp/second", 0, "/tmp/second");
        check_socket_path(BUS_SESSION, "unix:abstract=/tmp/dbus-x,guid=1", -ENOENT, NULL);
        check_socket_path(BUS_SESSION, "tcp:host=localhost,port=1", -ENOENT, NULL);
        check_socket_path(BUS_SESSION, "unix:path=relative/bus", -ENOENT, NULL);
        check_socket_path(BUS_SESSION, "unix:path=/tmp/bad%zz", -ENOENT, NULL);
        check_socket_path(BUS_SESSION, "unix:path=/tmp/cut%2", -ENOENT, NULL);
        check_socket_path(BUS_SESSION, "unix:pathx=/tmp/no", -ENOENT, NULL);
        setenv("XDG_RUNTIME_DIR", "/run/user/42", 1);
        check_socket_path(BUS_SESSION, NULL, 0, "/run/user/42/bus");
        check_socket_path(BUS_SESSION, "", 0, "/run/user/42/bus");
        unsetenv("XDG_RUNTIME_DIR");
        check_socket_path(BUS_SESSION, NULL, -ENOENT, NULL);
        check_socket_path(BUS_SYSTEM, NULL, 0, "/run/dbus/system_bus_socket");
        check_socket_path(BUS_SYSTEM, "unix:path=/tmp/system", 0, "/tmp/system");
        if (session)
                setenv("DBUS_SESSION_BUS_ADDRESS", session, 1);
        if (runtime)
                setenv("XDG_RUNTIME_DIR", runtime, 1);
        free(session);
        free(runtime);
}

int main(void) {
        if (!getenv("DBUS_SESSION_BUS_ADDRESS")) {
                fprintf(stderr, "test-bus: no session bus (run under dbus-run-session)\n");
                return 77;
        }
        loop = uv_default_loop();
        struct bus *client = NULL, *peer = NULL;
        REQUIRE_OK(bus_open(loop, BUS_SESSION, "test-client", &client));
        REQUIRE_OK(bus_open(loop, BUS_SESSION, "test-peer", &peer));
        sd_bus *c = bus_sd(client), *p = bus_sd(peer);
        REQUIRE_OK(sd_bus_add_object_vtable(p, NULL, "/test", PEER_NAME, peer_vtable, NULL));
        REQUIRE_OK(sd_bus_request_name(p, PEER_NAME, 0));

        /* A call and its reply, both sides served by the loop. */
        REQUIRE_OK(sd_bus_call_method_async(c, NULL, PEER_NAME, "/test", PEER_NAME, "Echo", on_echo, NULL, "s",
                                            "hello"));
        /* No other handle: the bus alone keeps the loop running until the reply. */
        uv_run(loop, UV_RUN_DEFAULT);
        CHECK_INT(echo_replies, 1);

        /* No answer ever comes and no fd wakes us: only sd_bus_get_timeout's absolute time,
         * turned into a timer, ends the call. */
        sd_bus_message *call = NULL;
        REQUIRE_OK(sd_bus_message_new_method_call(c, &call, PEER_NAME, "/test", PEER_NAME, "Never"));
        REQUIRE_OK(sd_bus_call_async(c, NULL, call, on_never, NULL, 300 * 1000));
        sd_bus_message_unref(call);
        run_until_stopped("a method call timeout");
        CHECK_INT(timeouts, 1);
        CHECK_STR(timeout_error, SD_BUS_ERROR_NO_REPLY);
        CHECK(held != NULL);
        held = sd_bus_message_unref(held);

        /* A blocking call reads the signal that came before its reply and queues it: no fd event
         * will announce it, the bridge must still deliver it. The peer's own round trip to the
         * bus daemon makes sure the signal is on its way to the client first. */
        REQUIRE_OK(sd_bus_match_signal(c, NULL, PEER_NAME, "/test", PEER_NAME, "Ping", on_ping, NULL));
        REQUIRE_OK(sd_bus_emit_signal(p, "/test", PEER_NAME, "Ping", ""));
        REQUIRE_OK(sd_bus_call_method(p, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                      "GetId", NULL, NULL, ""));
        REQUIRE_OK(sd_bus_call_method(c, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                      "GetId", NULL, NULL, ""));
        run_until_stopped("a signal read ahead by a blocking call");
        CHECK_INT(signals_seen, 1);

        bus_free(client);
        bus_free(peer);

        /* A bus that goes away: reported once, and the loop goes on without it. */
        char address[512];
        pid_t daemon = start_private_daemon(address, sizeof(address));
        sd_bus *sd = NULL;
        REQUIRE_OK(sd_bus_new(&sd));
        REQUIRE_OK(sd_bus_set_address(sd, address));
        REQUIRE_OK(sd_bus_set_bus_client(sd, 1));
        REQUIRE_OK(sd_bus_start(sd));
        struct bus *doomed = NULL;
        REQUIRE_OK(bus_attach(loop, sd, &doomed));
        sd_bus_unref(sd);
        bus_on_lost(doomed, on_lost, NULL);
        REQUIRE_OK(sd_bus_call_method_async(bus_sd(doomed), NULL, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                            "org.freedesktop.DBus", "GetId", NULL, NULL, ""));
        uv_run(loop, UV_RUN_NOWAIT);
        kill(daemon, SIGTERM);
        waitpid(daemon, NULL, 0);
        run_until_stopped("the end of a connection");
        CHECK_INT(lost_calls, 1);
        uv_run(loop, UV_RUN_NOWAIT);
        CHECK_INT(lost_calls, 1);
        bus_free(doomed);

        CHECK_INT(uv_run(loop, UV_RUN_DEFAULT), 0);
        CHECK_INT(uv_loop_close(loop), 0);
        test_socket_path();
        printf("test-bus: %u passed, %u failed\n", check_passed, check_failed);
        return check_failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
