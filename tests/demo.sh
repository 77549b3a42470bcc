#!/usr/bin/env bash
# The README's demo: installs what is missing, builds, starts the daemon against a throwaway local registry
# (Docker-Hub-style token auth) of sample extensions, publishes a new version and shows the daemon finding it.
set -euo pipefail
cd "$(dirname "$0")/.."
tests/install-deps.sh
[ -d build ] || meson setup build >/dev/null
meson compile -C build >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export DEMO=$work EXTUPDATED=$PWD/build/daemon/extupdated EXTUPDATECTL=$PWD/build/daemon/extupdatectl

tests/registry/harness.py run --quiet --seed tests/demo/seed.json -- bash -c '
  set -euo pipefail
  reg=$EXTUPDATED_TEST_REGISTRY
  cat > "$DEMO/extensions.txt" <<EOT
# The demo allow-list: Docker Desktop extensions in a local registry.
$reg/docker/disk-usage-extension
$reg/docker/logs-explorer-extension
$reg/acme/future-extension
$reg/acme/unlabelled
$reg/acme/not-published
EOT
  cat > "$DEMO/config.json" <<EOT
{"allowlist": ["$DEMO/extensions.txt"], "extension_api_version": "0.3.4", "platform": "linux/amd64",
 "installed_source": "api", "notifications": false}
EOT
  cat > "$DEMO/installed.json" <<EOT
{"$reg/docker/disk-usage-extension": "0.2.7", "$reg/docker/logs-explorer-extension": "v0.2.2"}
EOT
  ctl() { echo "\$ extupdatectl $*"; "$EXTUPDATECTL" --socket "$DEMO/api.sock" "$@"; }

  "$EXTUPDATED" --no-dbus --config "$DEMO/config.json" --state-dir "$DEMO/state" --socket "$DEMO/api.sock" \
    2>"$DEMO/daemon.log" &
  daemon=$!
  trap "kill $daemon 2>/dev/null; wait $daemon 2>/dev/null || true" EXIT
  for _ in $(seq 100); do [ -S "$DEMO/api.sock" ] && break; sleep 0.1; done

  echo "== the daemon runs; tell it what is installed, and let it scan =="
  ctl installed import "$DEMO/installed.json"
  ctl scan --wait || true
  echo
  ctl status
  echo
  ctl updates
  echo
  echo "== a new version of logs-explorer-extension is published to the registry =="
  curl -sf -X POST "$EXTUPDATED_TEST_CONTROL_URL/seed" --data-binary @- >/dev/null <<EOT
{"repositories": {"docker/logs-explorer-extension": {"tags": {"v0.3.0": {"media": "docker",
  "platforms": ["linux/amd64", "linux/arm64"], "labels": {"org.opencontainers.image.title": "Logs Explorer",
  "org.opencontainers.image.vendor": "Docker Inc.", "com.docker.desktop.extension.api.version": ">= 0.3.0"}}}}}}
EOT
  "$EXTUPDATECTL" --socket "$DEMO/api.sock" events >"$DEMO/events" &
  events=$!
  sleep 0.2
  ctl scan --wait || true
  sleep 0.2
  kill $events
  echo
  echo "\$ extupdatectl events   # what a client following the stream saw meanwhile"
  cat "$DEMO/events"
  echo
  ctl updates
'
