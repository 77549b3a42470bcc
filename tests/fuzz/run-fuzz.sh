#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time, growing a corpus in the build tree, never in the sources.
set -euo pipefail
exe=$1 seeds=$2 work=$3
# FUZZ_SECONDS in the environment lengthens a run without reconfiguring (see README, Tests).
seconds=${FUZZ_SECONDS:-$4}
mkdir -p "$work"
# libFuzzer's own exit code for a finding is 77, which meson reads as "skipped": make it a failure.
exec "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -error_exitcode=1 -timeout_exitcode=1 \
  -artifact_prefix="$work/" -print_final_stats=1 "$work" "$seeds"
