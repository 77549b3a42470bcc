/* Unit tests of the `docker extension ls` table parser: columns by the header, cells with spaces, bad rows. */
#include <errno.h>
#include <stdio.h>

#include "check.h"
#include "docker-inventory.h"
#include "util.h"

static char *joined(char **pairs) {
        char buf[1024] = "";
        for (size_t i = 0; pairs && pairs[i]; i++) {
                size_t l = strlen(buf);
                snprintf(buf + l, sizeof(buf) - l, "%s%s", i ? (i % 2 ? "=" : " ") : "", pairs[i]);
        }
        return strdup(buf);
}

static void test_table(void) {
        /* As Docker Desktop prints it: the UI and VM cells hold spaces, a provider is not ASCII. */
        const char *text =
                "ID                                  PROVIDER         VERSION   UI                      VM           HOST\n"
                "docker/disk-usage-extension         Docker Inc.      0.2.7     1 tab(Disk usage)       Running(1)   -\n"
                "docker.io/portainer/portainer-docker-extension  Portainer.io  2.19.4  1 tab(Portainer)  Running(1)  -\n"
                "ghcr.io/acme/logs                   Acmé Ünïcode     v1.0.0    1 tab(My-Extension)     -            -\n"
                "\n";
        _cleanup_strv_free_ char **pairs = NULL, **problems = NULL;
        REQUIRE_OK(docker_inventory_parse(text, &pairs, &problems));
        _cleanup_free_ char *j = joined(pairs);
        /* The second row overflows its columns, so its cells are not where the header says: its ID
         * reads past PROVIDER's start and is refused rather than guessed. */
        CHECK_STR(j, "docker/disk-usage-extension=0.2.7 ghcr.io/acme/logs=v1.0.0");
        CHECK_INT(util_strv_length(problems), 1);
        if (problems)
                CHECK_CONTAINS(problems[0], "docker extension ls: line 3:");
}

static void test_familiar_names_and_bad_rows(void) {
        const char *text =
                "ID                              PROVIDER   VERSION    UI            VM   HOST\n"
                "docker.io/library/ubuntu        Canonical  1.0.0      -             -    -\n"
                "Not A Repo                      X          1.0.0      -             -    -\n"
                "docker/good                     Docker     latest     -             -    -\n"
                "docker/good                     Docker     1.2.3      -             -    -\n"
                "docker/good                     Docker     1.2.4      -             -    -\n";
        _cleanup_strv_free_ char **pairs = NULL, **problems = NULL;
        REQUIRE_OK(docker_inventory_parse(text, &pairs, &problems));
        _cleanup_free_ char *j = joined(pairs);
        CHECK_STR(j, "ubuntu=1.0.0 docker/good=1.2.3");
        CHECK_INT(util_strv_length(problems), 3);
        if (util_strv_length(problems) == 3) {
                CHECK_CONTAINS(problems[0], "line 3: \"Not A Repo\"");
                CHECK_CONTAINS(problems[1], "line 4: docker/good: version \"latest\" is not SemVer");
                CHECK_CONTAINS(problems[2], "line 6: docker/good listed twice");
        }
}

static void test_empty_and_garbage(void) {
        _cleanup_strv_free_ char **pairs = NULL, **problems = NULL;
        REQUIRE_OK(docker_inventory_parse("ID    PROVIDER   VERSION   UI   VM   HOST\n", &pairs, &problems));
        CHECK(pairs && !pairs[0]);
        CHECK(!problems);
        char **p2 = NULL, **q2 = NULL;
        CHECK_INT(docker_inventory_parse("docker: 'extension' is not a docker command.\n", &p2, &q2), -EBADMSG);
        CHECK_INT(docker_inventory_parse("", &p2, &q2), -EBADMSG);
        /* A word that merely contains ID is not the ID column. */
        CHECK_INT(docker_inventory_parse("IDENTITY  VERSIONS\nx  1.0.0\n", &p2, &q2), -EBADMSG);
}

int main(void) {
        test_table();
        test_familiar_names_and_bad_rows();
        test_empty_and_garbage();
        return check_summary("test-docker-inventory");
}
