#!/bin/bash
# Checks the systemd user units as the user manager would read them: `systemd-analyze verify` and the hardening score.
# Usage: test-units.sh BUILT-SERVICE-UNIT SOCKET-UNIT EXTUPDATED
set -u
command -v systemd-analyze >/dev/null || { echo "systemd-analyze is not installed"; exit 77; }
service=$1 socket=$2 exe=$(realpath "$3")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -m 0700 "$dir/run"
# The installed ExecStart names the installed binary; verify checks that it exists, so point it at the build.
sed "s#^ExecStart=.*#ExecStart=$exe#" "$service" > "$dir/extupdated.service"
cp "$socket" "$dir/extupdated.socket"
export XDG_RUNTIME_DIR=$dir/run
failed=0
if ! out=$(systemd-analyze --user verify "$dir/extupdated.service" "$dir/extupdated.socket" 2>&1) || [ -n "$out" ]; then
        echo "FAIL: systemd-analyze verify: $out"
        failed=1
fi
for want in 'Type=notify' 'WatchdogSec=' 'Restart=on-failure' 'NoNewPrivileges=yes' 'RestrictAddressFamilies=' \
            'MemoryDenyWriteExecute=yes' 'SystemCallFilter=@system-service' 'LockPersonality=yes' 'RestrictRealtime=yes'; do
        grep -q "^$want" "$dir/extupdated.service" || { echo "FAIL: $want missing"; failed=1; }
done
# Namespace settings need user namespaces inside a user manager: none may creep in.
if grep -E '^(ProtectSystem|ProtectHome|PrivateTmp|PrivateUsers|PrivateDevices|ProtectKernel[A-Za-z]*|ProtectControlGroups)=' \
        "$dir/extupdated.service"; then
        echo "FAIL: a setting that needs user namespaces"
        failed=1
fi
if systemd-analyze security --help 2>&1 | grep -q -- --offline; then
        if ! out=$(systemd-analyze --user security --offline=true --threshold=65 "$dir/extupdated.service" 2>&1); then
                echo "FAIL: exposure above 6.5: $out" | tail -3
                failed=1
        else
                echo "$out" | tail -1
        fi
fi
[ "$failed" = 0 ] && echo "units: ok"
exit "$failed"
