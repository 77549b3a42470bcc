#!/usr/bin/env bash
# Installs, from Debian's archive, every package extupdated needs to build, test, benchmark and demo.
set -euo pipefail
packages=(
  meson ninja-build pkg-config gcc clang libclang-rt-dev
  libcurl4-openssl-dev libcjson-dev libuv1-dev libsqlite3-dev sqlite3 libsystemd-dev
  libmicrohttpd-dev libssl-dev systemd dbus
  docker-registry skopeo python3 python3-cryptography openssl jq procps nghttp2-server time
  curl util-linux
  dunst xvfb python3-dbus python3-gi
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
