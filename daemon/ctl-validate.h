/* extupdatectl validate: check an extension image as the marketplace does, without pulling layers. */
#pragma once

#include "ctl.h"

/* argv[0] is "validate"; returns the exit status: 0 valid, 1 invalid (every problem listed) or a
 * usage, configuration or registry error. */
int ctl_validate_main(int argc, char **argv, const struct ctl_options *opts);
