#!/usr/bin/env bash
# Runs extupdatectl's semver commands as a person would: output, stderr and exit status.
set -uo pipefail

ctl=${1:-${EXTUPDATED_BUILD:-build}/daemon/extupdatectl}
if [ ! -x "$ctl" ]; then
  echo "$ctl: not built" >&2
  exit 1
fi

passed=0 failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# expect STATUS STDOUT STDERR-PATTERN -- ARGS...: runs extupdatectl ARGS and compares.
expect() {
  local want_status=$1 want_out=$2 want_err=$3
  shift 4
  "$ctl" "$@" >"$tmp/out" 2>"$tmp/err"
  local status=$?
  local out err
  out=$(cat "$tmp/out")
  err=$(cat "$tmp/err")
  if [ "$status" -eq "$want_status" ] && [ "$out" = "$want_out" ] &&
     { [ -z "$want_err" ] && [ -z "$err" ] || [ -n "$want_err" ] && [[ $err == *"$want_err"* ]]; }; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: extupdatectl $*" >&2
    echo "  status $status (want $want_status)" >&2
    echo "  stdout: $(printf '%q' "$out") (want $(printf '%q' "$want_out"))" >&2
    echo "  stderr: $(printf '%q' "$err") (want ${want_err:+*}$(printf '%q' "$want_err"))" >&2
  fi
}

nl=$'\n'

# compare
expect 0 "-1" "" -- semver compare 1.2.3 1.2.4
expect 0 "1" "" -- semver compare 1.10.0 1.9.0
expect 0 "0" "" -- semver compare v1.2.3+build 1.2.3
expect 0 "-1" "" -- semver compare 1.0.0-rc.1 1.0.0
expect 0 "1" "" -- semver compare 1.0.0-beta.11 1.0.0-beta.2
expect 2 "" '"1.2" is not a valid SemVer version' -- semver compare 1.2 1.2.4
expect 2 "" '"=1.2.3" is not a valid SemVer version' -- semver compare 1.2.3 =1.2.3
expect 2 "" "compare needs two versions" -- semver compare 1.2.3
expect 2 "" "compare needs two versions" -- semver compare 1.2.3 1.2.4 1.2.5
expect 0 "-1" "" -- --json semver compare 1.2.3 1.2.4

# satisfies
expect 0 "" "" -- semver satisfies 1.5.0 ">= 1.4.7, < 2.0"
expect 1 "" "" -- semver satisfies 2.0.0 ">= 1.4.7, < 2.0"
expect 0 "" "" -- semver satisfies 0.3.4 ">=0.2.3"
expect 0 "" "" -- semver satisfies 0.3.0 0.3.0
expect 1 "" "" -- semver satisfies 0.3.3 0.3.0
expect 0 "" "" -- semver satisfies 1.2.9 "~1.2.3"
expect 0 "" "" -- semver satisfies 2.3.4 "1.2.3 - 2.3.4"
expect 0 "" "" -- semver satisfies 3.0.0 "1.x || >=3"
expect 1 "" "" -- semver satisfies 1.3.0-rc.1 "^1.2"
expect 0 "" "" -- semver satisfies --include-prerelease 1.3.0-rc.1 "^1.2"
expect 0 "" "" -- semver satisfies 1.3.0-rc.1 "^1.2" --include-prerelease
expect 0 "" "" -- semver satisfies 1.2.3-beta.2 "^1.2.3-beta.1"
expect 2 "" '"1.x.3" is not a valid range' -- semver satisfies 1.2.3 1.x.3
expect 2 "" '"1.2" is not a valid SemVer version' -- semver satisfies 1.2 1.x
expect 2 "" '"-1" is not a valid range' -- semver satisfies -- 1.0.0 -1
expect 2 "" 'satisfies: unknown option "-1"' -- semver satisfies 1.0.0 -1
expect 2 "" 'compare: unknown option "--bogus"' -- semver compare --bogus 1.0.0 1.0.0
expect 2 "" 'semver: unknown option "--bogus"' -- semver --bogus compare 1.0.0 1.0.0
expect 2 "" "satisfies needs two arguments" -- semver satisfies 1.0.0
expect 2 "" "--include-prerelease is for satisfies" -- semver compare --include-prerelease 1.0.0 1.0.0
expect 0 "true" "" -- --json semver satisfies 1.0.0 1.x
expect 1 "false" "" -- --json semver satisfies 2.0.0 1.x

# sort: ascending, stable for equal precedence, invalid ones named on stderr
expect 0 "1.0.0-rc.1${nl}1.0.0${nl}1.2.0${nl}v1.2.0${nl}1.2.0+b${nl}1.10.0" "" -- \
  semver sort 1.10.0 1.2.0 v1.2.0 1.0.0 1.2.0+b 1.0.0-rc.1
expect 0 "1.2.0+b${nl}1.2.0${nl}v1.2.0" "" -- semver sort 1.2.0+b 1.2.0 v1.2.0
expect 2 "0.9.0${nl}1.0.0" '"latest" is not a valid SemVer version' -- semver sort latest 1.0.0 0.9.0
expect 0 "" "" -- semver sort
expect 0 '["0.9.0","1.0.0"]' "" -- --json semver sort 1.0.0 0.9.0

# help and usage
"$ctl" semver --help >"$tmp/out" 2>&1
if [ $? -eq 0 ] && grep -q "Exit status" "$tmp/out" && grep -q -- "--include-prerelease" "$tmp/out"; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
  echo "FAIL: extupdatectl semver --help" >&2
fi
expect 0 "$("$ctl" semver --help)" "" -- semver satisfies --help
expect 2 "" "which command" -- semver
expect 2 "" 'unknown command "bogus"' -- semver bogus

# the client's own options and dispatch
"$ctl" --help >"$tmp/out" 2>&1
if [ $? -eq 0 ] && grep -q "semver compare" "$tmp/out" && grep -q -- "--socket" "$tmp/out"; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
  echo "FAIL: extupdatectl --help" >&2
fi
if [[ $("$ctl" --version) =~ ^extupdatectl\ [0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
  echo "FAIL: extupdatectl --version" >&2
fi
# The daemon's commands need it running; without it they say how to start it.
expect 1 "" "systemctl --user start extupdated.socket" -- --socket /nonexistent status
expect 1 "" "extupdated is not running" -- --socket /nonexistent list
expect 1 "" 'unknown command "bogus"' -- bogus
expect 1 "" "which command" --
expect 1 "" "Try 'extupdatectl --help'" -- --no-such-option

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
