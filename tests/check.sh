#!/usr/bin/env bash
# The whole test suite, as CI runs it: a plain and a sanitizer build, warnings as errors, every suite but bench.
set -euo pipefail
cd "$(dirname "$0")/.."
tests/install-deps.sh

run_build() {
  local dir=$1; shift
  rm -rf "$dir"
  meson setup "$dir" -Dwerror=true "$@"
  meson compile -C "$dir"
  meson test -C "$dir" --no-suite bench --print-errorlogs --num-processes 2
}

echo "== plain build (gcc) =="
CC=gcc run_build build-check
echo "== sanitizer build (clang, address+undefined, libFuzzer) =="
CC=clang run_build build-check-asan -Db_sanitize=address,undefined -Db_lundef=false \
  -Dfuzzing=true -Dfuzz_seconds="${FUZZ_SECONDS:-20}"
