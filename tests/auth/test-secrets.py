#!/usr/bin/python3
# A password in an allow-list URL is refused and appears in no message, state row or cached file.
"""Usage: test-secrets.py EXTUPDATED

Runs extupdated --check-config and --once with a configuration whose allow-list URL carries
user:password@ (pointing at the unreachable 127.0.0.1:1), with HOME and the XDG directories in a
temporary directory; then searches everything written there, and both programs' output, for the
password.
"""

import os
import subprocess
import sys
import tempfile

SECRET = "hunter2-s3cret"


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    exe = sys.argv[1]
    failures = 0
    with tempfile.TemporaryDirectory(prefix="extupdated-secrets-") as work:
        env = dict(os.environ, HOME=work, XDG_STATE_HOME=work + "/state", XDG_CACHE_HOME=work + "/cache",
                   XDG_CONFIG_HOME=work + "/config", XDG_RUNTIME_DIR=work + "/run")
        config = os.path.join(work, "config.json")
        with open(config, "w") as f:
            f.write('{"allowlist": ["/nonexistent/extensions.txt", '
                    '"https://alice:%s@127.0.0.1:1/extensions.txt"]}' % SECRET)
        runs = [[exe, "--check-config", "--config", config],
                [exe, "--once", "--no-dbus", "--config", config, "--state-dir", work + "/state"],
                [exe, "--once", "--json", "--no-dbus", "--config", config, "--state-dir", work + "/state"]]
        for args in runs:
            p = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
            name = " ".join(args[1:3])
            if p.returncode != 1:
                print("%s: exit status %d, want 1" % (name, p.returncode), file=sys.stderr)
                failures += 1
            if SECRET in p.stdout or SECRET in p.stderr:
                print("%s: the password is in the output" % name, file=sys.stderr)
                failures += 1
            if "127.0.0.1:1/extensions.txt" not in p.stderr or "user name or password" not in p.stderr:
                print("%s: no error naming the URL: %r" % (name, p.stderr), file=sys.stderr)
                failures += 1
        for root, _, files in os.walk(work):
            for fn in files:
                path = os.path.join(root, fn)
                if path == config:
                    continue
                with open(path, "rb") as f:
                    if SECRET.encode() in f.read():
                        print("the password is in %s" % path, file=sys.stderr)
                        failures += 1
    print("test-secrets: %s" % ("ok" if failures == 0 else "%d failed" % failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
