#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time, growing a corpus in the build tree, never in the sources.
set -euo pipefail
exe=$1 seeds=$2 work=$3 seconds=$4
mkdir -p "$work"
exec "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$work" "$seeds"
