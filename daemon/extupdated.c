/* extupdated: the update scanner's executable; option parsing and the choice of mode. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "daemon.h"
#include "lock.h"
#include "util.h"
#include "once.h"
#include "util.h"

static void help(void) {
        printf("Usage: extupdated [OPTIONS]\n"
               "Finds new versions of Docker Desktop extensions without pulling images.\n"
               "Without --once: the per-user service (SIGHUP reloads, SIGTERM stops).\n\n"
               "  --config PATH      configuration file (default $XDG_CONFIG_HOME/extupdated/config.json)\n"
               "  --once             run one scan, print a report, exit\n"
               "  --json             with --once: the report as JSON\n"
               "  --installed FILE   replace the installed-extension inventory with FILE's\n"
               "                     {\"repository\": \"version\"} before scanning\n"
               "  --state-dir DIR    where state.db lives (default $XDG_STATE_HOME/extupdated)\n"
               "  --socket PATH      the API socket (default $XDG_RUNTIME_DIR/extupdated/api.sock)\n"
               "  --no-dbus          do not connect to the session bus\n"
               "  --check-config     validate the configuration and allow-list, print every problem\n"
               "  --version          print the version\n"
               "  --help             this text\n\n"
               "Exit status: 0 success; 1 usage, configuration or fatal error; 2 (--once) the scan\n"
               "finished but at least one repository failed.\n");
}

/* A single scan holds the state's lock too, so it never races a daemon or another scan. */
static int run_once(struct once_options *o) {
        _cleanup_free_ char *state_dir = NULL;
        _cleanup_free_ char *error = NULL;
        if (config_state_dir(o->state_dir, &state_dir) < 0) {
                fprintf(stderr, "error: no state directory: set --state-dir, XDG_STATE_HOME or HOME\n");
                return 1;
        }
        int fd = lock_acquire(state_dir, &error);
        if (fd < 0) {
                fprintf(stderr, "error: %s\n", error ? error : strerror(-fd));
                return 1;
        }
        o->state_dir = state_dir;
        int status = once_run(o);
        lock_release(fd);
        return status;
}

int main(int argc, char **argv) {
        enum { OPT_CONFIG = 0x100, OPT_ONCE, OPT_JSON, OPT_INSTALLED, OPT_STATE_DIR, OPT_SOCKET, OPT_NO_DBUS,
               OPT_CHECK_CONFIG, OPT_VERSION, OPT_HELP };
        static const struct option options[] = {
                {"config", required_argument, NULL, OPT_CONFIG},
                {"once", no_argument, NULL, OPT_ONCE},
                {"json", no_argument, NULL, OPT_JSON},
                {"installed", required_argument, NULL, OPT_INSTALLED},
                {"state-dir", required_argument, NULL, OPT_STATE_DIR},
                {"socket", required_argument, NULL, OPT_SOCKET},
                {"no-dbus", no_argument, NULL, OPT_NO_DBUS},
                {"check-config", no_argument, NULL, OPT_CHECK_CONFIG},
                {"version", no_argument, NULL, OPT_VERSION},
                {"help", no_argument, NULL, OPT_HELP},
                {},
        };
        if (util_open_std_fds() < 0)
                return 1;
        struct once_options o = {};
        struct daemon_options d = {};
        bool once = false, check_config = false;
        int c;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case OPT_CONFIG:
                        o.config = d.config = optarg;
                        break;
                case OPT_ONCE:
                        once = true;
                        break;
                case OPT_JSON:
                        o.json = true;
                        break;
                case OPT_INSTALLED:
                        o.installed = optarg;
                        break;
                case OPT_STATE_DIR:
                        o.state_dir = d.state_dir = optarg;
                        break;
                case OPT_SOCKET:
                        /* A single scan needs neither the socket nor the bus. */
                        d.socket = optarg;
                        break;
                case OPT_NO_DBUS:
                        d.no_dbus = true;
                        break;
                case OPT_CHECK_CONFIG:
                        check_config = true;
                        break;
                case OPT_VERSION:
                        printf("extupdated %s\n", EXTUPDATED_VERSION);
                        return 0;
                case OPT_HELP:
                        help();
                        return 0;
                default:
                        fprintf(stderr, "Try 'extupdated --help'.\n");
                        return 1;
                }
        if (optind < argc) {
                fprintf(stderr, "extupdated: unexpected argument \"%s\"\nTry 'extupdated --help'.\n", argv[optind]);
                return 1;
        }
        if (check_config)
                return once_check_config(o.config);
        if (o.json && !once) {
                fprintf(stderr, "extupdated: --json goes with --once\n");
                return 1;
        }
        if (!once) {
                if (o.installed) {
                        fprintf(stderr, "extupdated: --installed goes with --once (the service takes the "
                                        "inventory from the API, D-Bus or `docker extension ls`)\n");
                        return 1;
                }
                return daemon_run(&d);
        }
        return run_once(&o);
}
