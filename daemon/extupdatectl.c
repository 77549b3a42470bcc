/* extupdatectl: the command-line client; global options, then the command word picks a handler. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "ctl-daemon.h"
#include "ctl-semver.h"
#include "ctl-validate.h"
#include "ctl.h"
#include "util.h"

static void help(void) {
        printf("Usage: extupdatectl [OPTIONS] COMMAND [ARGS...]\n"
               "Asks extupdated about Docker Desktop extension updates; works with SemVer.\n\n"
               "Commands that ask the daemon:\n"
               "  status                     daemon state, last and next scan, counts\n"
               "  list                       every allow-listed extension with installed, latest\n"
               "                             and latest compatible versions\n"
               "  updates                    only those with an update available\n"
               "  show REPOSITORY            one extension, with the versions inspected\n"
               "  scan [--wait]              start a scan (--wait: until it ends)\n"
               "  events                     follow the event stream\n"
               "  installed [list]           the installed-extension inventory\n"
               "  installed set REPOSITORY VERSION | rm REPOSITORY | import FILE\n"
               "                             maintain the installed-extension inventory\n"
               "Commands that need no daemon:\n"
               "  semver compare A B         print -1, 0 or 1 (SemVer precedence)\n"
               "  semver satisfies [--include-prerelease] VERSION RANGE\n"
               "                             exit 0 if VERSION satisfies RANGE, 1 if not\n"
               "  semver sort V...           print the valid versions in ascending order\n"
               "  validate [--config FILE] [--platform P] IMAGE[:TAG]\n"
               "                             check an extension image as the marketplace does\n\n"
               "Options (before the command):\n"
               "  --socket PATH   the daemon's API socket\n"
               "                  (default $XDG_RUNTIME_DIR/extupdated/api.sock)\n"
               "  --json          print JSON instead of text\n"
               "  --version       print the version\n"
               "  --help          this text; 'extupdatectl COMMAND --help' for a command's\n\n"
               "Exit status: 0 success; 1 failure or usage error (semver: see its --help).\n");
}

int main(int argc, char **argv) {
        static const struct {
                const char *name;
                int (*fn)(int argc, char **argv, const struct ctl_options *opts);
        } commands[] = {
                { "status", ctl_status_main },   { "list", ctl_list_main },
                { "updates", ctl_list_main },    { "show", ctl_show_main },
                { "scan", ctl_scan_main },       { "events", ctl_events_main },
                { "installed", ctl_installed_main }, { "semver", ctl_semver_main },
                { "validate", ctl_validate_main },
        };
        enum { OPT_SOCKET = 0x100, OPT_JSON, OPT_VERSION, OPT_HELP };
        static const struct option options[] = {
                { "socket", required_argument, NULL, OPT_SOCKET },
                { "json", no_argument, NULL, OPT_JSON },
                { "version", no_argument, NULL, OPT_VERSION },
                { "help", no_argument, NULL, OPT_HELP },
                {},
        };
        if (util_open_std_fds() < 0)
                return 1;
        struct ctl_options opts = {};
        int c;

        /* '+': stop at the command word, whose own options its handler parses. */
        while ((c = getopt_long(argc, argv, "+", options, NULL)) >= 0)
                switch (c) {
                case OPT_SOCKET:
                        opts.socket_path = optarg;
                        break;
                case OPT_JSON:
                        opts.json = true;
                        break;
                case OPT_VERSION:
                        printf("extupdatectl %s\n", EXTUPDATED_VERSION);
                        return 0;
                case OPT_HELP:
                        help();
                        return 0;
                default:
                        fprintf(stderr, "Try 'extupdatectl --help'.\n");
                        return 1;
                }

        if (optind >= argc) {
                fprintf(stderr, "extupdatectl: which command? Try 'extupdatectl --help'.\n");
                return 1;
        }
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (streq(argv[optind], commands[i].name))
                        return commands[i].fn(argc - optind, argv + optind, &opts);

        fprintf(stderr, "extupdatectl: unknown command \"%s\". Try 'extupdatectl --help'.\n",
                argv[optind]);
        return 1;
}
