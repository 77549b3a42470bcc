/* extupdatectl semver: compare, test and sort SemVer versions without a daemon. */
#pragma once

#include "ctl.h"

/* argv[0] is "semver"; returns the exit status (0/1 the answer, 2 invalid input or usage). */
int ctl_semver_main(int argc, char **argv, const struct ctl_options *opts);
