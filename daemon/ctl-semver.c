/* extupdatectl semver: compare, test and sort SemVer versions without a daemon. */
#include "ctl-semver.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>

#include "semver.h"
#include "util.h"

#define EXIT_INVALID 2

static void help(void) {
        printf("Usage: extupdatectl semver COMMAND [OPTIONS] ARGS...\n"
               "SemVer 2.0.0 versions and node-semver ranges, as the scanner uses them.\n\n"
               "  compare A B          print -1, 0 or 1: the precedence of A against B\n"
               "                       (build metadata ignored)\n"
               "  satisfies [--include-prerelease] VERSION RANGE\n"
               "                       exit 0 if VERSION satisfies RANGE, 1 if not\n"
               "  sort V...            print the valid versions in ascending precedence, one a\n"
               "                       line, as given; versions of equal precedence keep their\n"
               "                       order; invalid ones are named on stderr\n\n"
               "A version is what node-semver's valid() accepts: strict SemVer, optionally with\n"
               "one leading 'v' and surrounding whitespace (\"1.2.3\", \"v1.2.3-rc.1+build\").\n"
               "A range is node-semver's (<, <=, >, >=, =, ^, ~, ~>, 1.x, 1.2.*, \"1.2 - 2\",\n"
               "||), plus ',' between comparators meaning AND, as in \">= 1.4.7, < 2.0\".\n"
               "A bare version is a range meaning exactly that version.\n\n"
               "  --include-prerelease  pre-releases satisfy ranges like any other version\n"
               "                        (default: only when the range names a pre-release of\n"
               "                        the same major.minor.patch)\n"
               "  --help                this text\n"
               "With the global --json, compare prints a number, satisfies prints true or false,\n"
               "sort prints a JSON array.\n"
               "Put -- before arguments that start with '-'.\n\n"
               "Exit status: 0 success (satisfies: satisfied); 1 satisfies: not satisfied;\n"
               "2 an invalid version or range (named on stderr, sort still prints the valid\n"
               "ones), or a usage error.\n");
}

_printf_(1, 2) static int usage_error(const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "extupdatectl semver: ");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\nTry 'extupdatectl semver --help'.\n");
        return EXIT_INVALID;
}

/* Parses one version operand, naming it on stderr when it is not one. */
static int parse_version(const char *cmd, const char *s, struct semver *ret) {
        int r = semver_parse(s, SEMVER_PARSE_NODE, ret);
        if (r == -EINVAL)
                fprintf(stderr, "extupdatectl semver %s: \"%s\" is not a valid SemVer version\n",
                        cmd, s);
        else if (r < 0)
                fprintf(stderr, "extupdatectl semver %s: out of memory\n", cmd);
        return r;
}

/* getopt's own message would name the subcommand as if it were the program. */
static int bad_option(const char *cmd, char **argv) {
        char shortopt[3] = { '-', (char) optopt, '\0' };
        if (optopt)
                return usage_error("%s: unknown option \"%s\" (put -- before arguments that start "
                                   "with '-')", cmd, shortopt);
        return usage_error("%s: unknown option \"%s\"", cmd, argv[optind - 1]);
}

/* The subcommand's own options; returns the index of its first operand, or -1 after a usage
 * error was reported. */
static int parse_options(int argc, char **argv, bool *include_prerelease) {
        enum { OPT_INCLUDE_PRERELEASE = 0x100, OPT_HELP };
        static const struct option options[] = {
                { "include-prerelease", no_argument, NULL, OPT_INCLUDE_PRERELEASE },
                { "help", no_argument, NULL, OPT_HELP },
                {},
        };
        int c;

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case OPT_INCLUDE_PRERELEASE:
                        if (!include_prerelease) {
                                usage_error("%s: --include-prerelease is for satisfies", argv[0]);
                                return -1;
                        }
                        *include_prerelease = true;
                        break;
                case OPT_HELP:
                        help();
                        return -2;
                default:
                        bad_option(argv[0], argv);
                        return -1;
                }
        return optind;
}

static int cmd_compare(int argc, char **argv, const struct ctl_options *opts) {
        struct semver a, b;
        int i = parse_options(argc, argv, NULL);

        if (i < 0)
                return i == -2 ? 0 : EXIT_INVALID;
        if (argc - i != 2)
                return usage_error("compare needs two versions: A B");
        if (parse_version("compare", argv[i], &a) < 0)
                return EXIT_INVALID;
        if (parse_version("compare", argv[i + 1], &b) < 0) {
                semver_done(&a);
                return EXIT_INVALID;
        }
        printf("%d\n", semver_compare(&a, &b));
        semver_done(&a);
        semver_done(&b);
        return 0;
}

static int cmd_satisfies(int argc, char **argv, const struct ctl_options *opts) {
        _cleanup_(semver_range_freep) struct semver_range *range = NULL;
        bool incpr = false;
        struct semver v;
        int i = parse_options(argc, argv, &incpr), r;

        if (i < 0)
                return i == -2 ? 0 : EXIT_INVALID;
        if (argc - i != 2)
                return usage_error("satisfies needs two arguments: VERSION RANGE");
        if (parse_version("satisfies", argv[i], &v) < 0)
                return EXIT_INVALID;
        r = semver_range_parse(argv[i + 1], incpr ? SEMVER_RANGE_INCLUDE_PRERELEASE : 0, &range);
        if (r < 0) {
                if (r == -EINVAL)
                        fprintf(stderr, "extupdatectl semver satisfies: \"%s\" is not a valid range\n",
                                argv[i + 1]);
                else
                        fprintf(stderr, "extupdatectl semver satisfies: out of memory\n");
                semver_done(&v);
                return EXIT_INVALID;
        }
        bool ok = semver_range_test(range, &v);
        semver_done(&v);
        if (opts->json)
                printf("%s\n", ok ? "true" : "false");
        return ok ? 0 : 1;
}

struct sort_item {
        const char *text;
        struct semver v;
        size_t index;
};

/* Precedence, then input order: qsort is not stable by itself. */
static int sort_item_compare(const void *a, const void *b) {
        const struct sort_item *x = a, *y = b;
        int r = semver_compare(&x->v, &y->v);
        if (r != 0)
                return r;
        return x->index < y->index ? -1 : x->index > y->index;
}

static int cmd_sort(int argc, char **argv, const struct ctl_options *opts) {
        int i = parse_options(argc, argv, NULL), status = 0;
        size_t n = 0;

        if (i < 0)
                return i == -2 ? 0 : EXIT_INVALID;
        _cleanup_free_ struct sort_item *items = calloc(argc - i + 1, sizeof *items);
        if (!items) {
                fprintf(stderr, "extupdatectl semver sort: out of memory\n");
                return EXIT_INVALID;
        }
        for (; i < argc; i++) {
                int r = parse_version("sort", argv[i], &items[n].v);
                if (r == -ENOMEM) {
                        status = EXIT_INVALID;
                        break;
                }
                if (r < 0) {
                        status = EXIT_INVALID;
                        continue;
                }
                items[n].text = argv[i];
                items[n].index = n;
                n++;
        }
        qsort(items, n, sizeof *items, sort_item_compare);

        if (opts->json) {
                cJSON *array = cJSON_CreateArray();
                for (size_t k = 0; array && k < n; k++)
                        if (!cJSON_AddItemToArray(array, cJSON_CreateString(items[k].text))) {
                                cJSON_Delete(array);
                                array = NULL;
                        }
                _cleanup_free_ char *text = array ? cJSON_PrintUnformatted(array) : NULL;
                cJSON_Delete(array);
                if (text)
                        printf("%s\n", text);
                else {
                        fprintf(stderr, "extupdatectl semver sort: out of memory\n");
                        status = EXIT_INVALID;
                }
        } else
                for (size_t k = 0; k < n; k++)
                        printf("%s\n", items[k].text);

        for (size_t k = 0; k < n; k++)
                semver_done(&items[k].v);
        return status;
}

int ctl_semver_main(int argc, char **argv, const struct ctl_options *opts) {
        static const struct {
                const char *name;
                int (*fn)(int argc, char **argv, const struct ctl_options *opts);
        } commands[] = {
                { "compare", cmd_compare },
                { "satisfies", cmd_satisfies },
                { "sort", cmd_sort },
        };
        enum { OPT_HELP = 0x100 };
        static const struct option options[] = {
                { "help", no_argument, NULL, OPT_HELP },
                {},
        };
        int c;

        /* Options before the subcommand word; '+' stops at it so the subcommand parses its own. */
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+", options, NULL)) >= 0)
                switch (c) {
                case OPT_HELP:
                        help();
                        return 0;
                default:
                        return bad_option("semver", argv);
                }
        if (optind >= argc)
                return usage_error("which command? compare, satisfies or sort");

        for (size_t k = 0; k < ELEMENTSOF(commands); k++)
                if (streq(argv[optind], commands[k].name))
                        return commands[k].fn(argc - optind, argv + optind, opts);
        return usage_error("unknown command \"%s\"", argv[optind]);
}
