#!/usr/bin/env bash
# The whole test suite, as CI runs it: a plain and a sanitizer build, warnings as errors, every suite but bench.
set -uo pipefail
cd "$(dirname "$0")/.."
tests/install-deps.sh || exit 1

status=0
builds=()
run_build() {
  local dir=$1; shift
  rm -rf "$dir"
  builds+=("$dir")
  meson setup "$dir" -Dwerror=true "$@" || return 1
  meson compile -C "$dir" || return 1
  meson test -C "$dir" --no-suite bench --print-errorlogs --num-processes 2
}

echo "== plain build (gcc) =="
CC=gcc run_build build-check || status=1
echo "== sanitizer build (clang, address+undefined, libFuzzer) =="
CC=clang run_build build-check-asan -Db_sanitize=address,undefined -Db_lundef=false \
  -Dfuzzing=true -Dfuzz_seconds="${FUZZ_SECONDS:-20}" || status=1

# One closing line over both builds, counted from meson's own logs.
passed=0 failed=0 skipped=0
for dir in "${builds[@]}"; do
  log=$dir/meson-logs/testlog.json
  [ -f "$log" ] || { failed=$((failed + 1)); continue; }
  passed=$((passed + $(jq -s '[.[] | select(.result == "OK" or .result == "EXPECTEDFAIL")] | length' "$log")))
  failed=$((failed + $(jq -s '[.[] | select(.result != "OK" and .result != "EXPECTEDFAIL" and .result != "SKIP")] | length' "$log")))
  skipped=$((skipped + $(jq -s '[.[] | select(.result == "SKIP")] | length' "$log")))
done
[ "$passed" -gt 0 ] || status=1
[ "$failed" -eq 0 ] || status=1
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
