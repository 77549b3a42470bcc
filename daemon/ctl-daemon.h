/* extupdatectl's daemon commands: status, list, updates, show, scan, events, installed. */
#pragma once

#include "ctl.h"

/* argv[0] is the command word; returns the exit status. */
int ctl_status_main(int argc, char **argv, const struct ctl_options *opts);
int ctl_list_main(int argc, char **argv, const struct ctl_options *opts);
int ctl_show_main(int argc, char **argv, const struct ctl_options *opts);
int ctl_scan_main(int argc, char **argv, const struct ctl_options *opts);
int ctl_events_main(int argc, char **argv, const struct ctl_options *opts);
int ctl_installed_main(int argc, char **argv, const struct ctl_options *opts);
