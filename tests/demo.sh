#!/usr/bin/env bash
# The README's demo: installs what is missing, builds, and runs `extupdated --once` against a throwaway
# local registry (with Docker-Hub-style token auth) seeded with sample extensions, then cleans up.
set -euo pipefail
cd "$(dirname "$0")/.."
tests/install-deps.sh
[ -d build ] || meson setup build >/dev/null
meson compile -C build >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export EXTUPDATED_DEMO_WORK=$work EXTUPDATED_BIN=$PWD/build/daemon/extupdated

tests/registry/harness.py run --quiet --seed tests/demo/seed.json -- bash -c '
  set -euo pipefail
  reg=$EXTUPDATED_TEST_REGISTRY
  cat > "$EXTUPDATED_DEMO_WORK/extensions.txt" <<EOT
# The demo allow-list: Docker Desktop extensions in a local registry.
$reg/docker/disk-usage-extension
$reg/docker/logs-explorer-extension
$reg/acme/future-extension
$reg/acme/unlabelled
$reg/acme/not-published
EOT
  cat > "$EXTUPDATED_DEMO_WORK/config.json" <<EOT
{"allowlist": ["$EXTUPDATED_DEMO_WORK/extensions.txt"], "extension_api_version": "0.3.4", "platform": "linux/amd64"}
EOT
  cat > "$EXTUPDATED_DEMO_WORK/installed.json" <<EOT
{"$reg/docker/disk-usage-extension": "0.2.7", "$reg/docker/logs-explorer-extension": "v0.2.2"}
EOT
  echo "== extupdated --once (first scan) =="
  "$EXTUPDATED_BIN" --once --config "$EXTUPDATED_DEMO_WORK/config.json" --state-dir "$EXTUPDATED_DEMO_WORK/state" \
    --installed "$EXTUPDATED_DEMO_WORK/installed.json" || true
  echo
  echo "== again: nothing changed, so only tag lists are asked for =="
  "$EXTUPDATED_BIN" --once --config "$EXTUPDATED_DEMO_WORK/config.json" --state-dir "$EXTUPDATED_DEMO_WORK/state" \
    2>/dev/null | tail -n 1 || true
'
