/* Unit tests of the libmicrohttpd-on-libuv bridge and the API socket: modes, stale and live sockets,
 * suspend/resume, a client hanging up while suspended, and a burst of clients beyond the connection limit. */
#include <errno.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../check.h"
#include "api-socket.h"
#include "http-server.h"
#include "util.h"

#define BURST 1000

struct fixture {
        uv_loop_t loop;
        struct http_server *http;
        uv_async_t stop;
        uv_timer_t later;
        struct http_suspension *pending;   /* /later, resumed by the timer */
        struct MHD_Connection *pending_connection;
        unsigned hangups;
        char path[108];
};

static struct fixture F;

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, const char *text) {
        struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *) text, MHD_RESPMEM_PERSISTENT);
        enum MHD_Result ret = MHD_queue_response(c, status, r);
        MHD_destroy_response(r);
        return ret;
}

static void on_later(uv_timer_t *t) {
        if (F.pending)
                http_server_resume(F.http, TAKE_PTR(F.pending));
}

static void on_hangup(void *userdata) {
        F.hangups++;
        *(bool *) userdata = true;
        http_server_resume(F.http, TAKE_PTR(F.pending));
}

struct req {
        bool resumed;
        bool gone;
};

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
        free(*con_cls);
        *con_cls = NULL;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *data, size_t *size, void **con_cls) {
        struct req *q = *con_cls;
        if (!q) {
                *con_cls = q = calloc(1, sizeof(*q));
                return q ? MHD_YES : MHD_NO;
        }
        if (streq(url, "/hello"))
                return answer(c, 200, "hi");
        if (streq(url, "/later") || streq(url, "/forever")) {
                if (q->gone)
                        return MHD_NO;
                if (q->resumed)
                        return answer(c, 200, "late");
                q->resumed = true;
                REQUIRE_OK(http_server_suspend(F.http, c, on_hangup, &q->gone, &F.pending));
                if (streq(url, "/later"))
                        uv_timer_start(&F.later, on_later, 50, 0);
                return MHD_YES;
        }
        return answer(c, 404, "no");
}

static int connect_to(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        strcpy(sa.sun_path, path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

/* One blocking request on a fresh connection; the whole answer (headers and body) into buf. */
static ssize_t get(const char *url, char *buf, size_t size) {
        int fd = connect_to(F.path);
        if (fd < 0)
                return fd;
        char req[256];
        int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", url);
        if (write(fd, req, (size_t) n) != n) {
                close(fd);
                return -EIO;
        }
        size_t len = 0;
        ssize_t k;
        while (len + 1 < size && (k = read(fd, buf + len, size - 1 - len)) > 0)
                len += (size_t) k;
        buf[len] = '\0';
        close(fd);
        return (ssize_t) len;
}

static unsigned burst_answered;

static void *client(void *arg) {
        char buf[4096];
        CHECK(get("/hello", buf, sizeof(buf)) > 0);
        CHECK_CONTAINS(buf, "200 OK");
        CHECK(get("/later", buf, sizeof(buf)) > 0);
        CHECK_CONTAINS(buf, "late");

        /* A client that leaves while its request is suspended: the server must notice. */
        int fd = connect_to(F.path);
        const char req[] = "GET /forever HTTP/1.1\r\nHost: x\r\n\r\n";
        CHECK(fd >= 0 && write(fd, req, sizeof(req) - 1) == (ssize_t) sizeof(req) - 1);
        usleep(100 * 1000);
        close(fd);
        for (int i = 0; i < 100 && __atomic_load_n(&F.hangups, __ATOMIC_SEQ_CST) == 0; i++)
                usleep(20 * 1000);

        /* More clients at once than the server's connection limit (100 here): they wait in the backlog. */
        static int fds[BURST];
        const char hello[] = "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        for (int i = 0; i < BURST; i++) {
                fds[i] = connect_to(F.path);
                if (fds[i] >= 0 && write(fds[i], hello, sizeof(hello) - 1) != (ssize_t) sizeof(hello) - 1) {
                        close(fds[i]);
                        fds[i] = -1;
                }
        }
        for (int i = 0; i < BURST; i++) {
                if (fds[i] < 0)
                        continue;
                char b[512];
                size_t len = 0;
                ssize_t k;
                while (len + 1 < sizeof(b) && (k = read(fds[i], b + len, sizeof(b) - 1 - len)) > 0)
                        len += (size_t) k;
                b[len] = '\0';
                if (strstr(b, "200 OK") && strstr(b, "\r\n\r\nhi"))
                        burst_answered++;
                close(fds[i]);
        }
        uv_async_send(&F.stop);
        return NULL;
}

static void on_stop(uv_async_t *a) {
        http_server_free(F.http);
        uv_close((uv_handle_t *) &F.stop, NULL);
        uv_close((uv_handle_t *) &F.later, NULL);
}

static void test_socket(const char *dir) {
        char path[108], *error = NULL;
        int fd = -1;
        snprintf(path, sizeof(path), "%s/sub/api.sock", dir);
        REQUIRE_OK(api_socket_listen(path, &fd, &error));
        struct stat st;
        REQUIRE(stat(path, &st) == 0);
        CHECK_INT(st.st_mode & 0777, 0600);
        CHECK(S_ISSOCK(st.st_mode));
        char sub[108];
        snprintf(sub, sizeof(sub), "%s/sub", dir);
        REQUIRE(stat(sub, &st) == 0);
        CHECK_INT(st.st_mode & 0777, 0700);

        /* A live socket is left alone, and the message names it. */
        int fd2 = -1;
        CHECK_INT(api_socket_listen(path, &fd2, &error), -EADDRINUSE);
        CHECK_CONTAINS(error, path);
        free(TAKE_PTR(error));

        /* A dead daemon's socket is replaced. */
        close(fd);
        CHECK_INT(api_socket_listen(path, &fd2, &error), 0);
        CHECK(connect_to(path) >= 0);
        close(fd2);

        /* Anything but a socket is never removed. */
        char file[108];
        snprintf(file, sizeof(file), "%s/file", dir);
        FILE *f = fopen(file, "w");
        REQUIRE(f);
        fclose(f);
        CHECK_INT(api_socket_listen(file, &fd2, &error), -EEXIST);
        CHECK_CONTAINS(error, "not a socket");
        free(error);
        CHECK(access(file, F_OK) == 0);
        unlink(file);
        unlink(path);
        rmdir(sub);
}

int main(void) {
        char dir[] = "/tmp/test-http-server-XXXXXX";
        REQUIRE(mkdtemp(dir));
        test_socket(dir);

        snprintf(F.path, sizeof(F.path), "%s/api.sock", dir);
        char *error = NULL;
        int fd = -1;
        REQUIRE_OK(api_socket_listen(F.path, &fd, &error));
        REQUIRE_OK(uv_loop_init(&F.loop));
        uv_async_init(&F.loop, &F.stop, on_stop);
        uv_timer_init(&F.loop, &F.later);
        struct http_server_options o = { .listen_fd = fd, .handler = handle, .completed = completed,
                                         .connection_limit = 100, .connection_timeout = 10 };
        REQUIRE_OK(http_server_new(&F.loop, &o, &F.http));
        pthread_t t;
        REQUIRE(pthread_create(&t, NULL, client, NULL) == 0);
        uv_run(&F.loop, UV_RUN_DEFAULT);
        pthread_join(t, NULL);
        CHECK_INT(F.hangups, 1);
        CHECK_INT(burst_answered, BURST);
        CHECK_INT(uv_loop_close(&F.loop), 0);
        unlink(F.path);
        rmdir(dir);
        return check_summary("test-http-server");
}
