#!/usr/bin/python3
# Hostile inputs and broken environments for extupdated and extupdatectl: closed fds, odd files, full disks, signals.
"""Usage: test-hostile.py EXTUPDATED EXTUPDATECTL [unittest options]

Every case runs the real executables. Registries are "unreachable" (127.0.0.1:1) unless a case
starts its own loopback server, so no case needs a registry harness; allow-list URLs are served
by a small http.server on 127.0.0.1.
"""

import http.server
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

EXTUPDATED = None
EXTUPDATECTL = None
UNREACHABLE = "127.0.0.1:1"


class Server:
    """Serves the bodies in `routes` ({path: (status, content type, body)}) on 127.0.0.1; counts hits."""

    def __init__(self, routes, host="127.0.0.1", delay=0):
        self.routes = routes
        self.hits = {}
        self.delay = delay
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.hits[self.path] = outer.hits.get(self.path, 0) + 1
                time.sleep(outer.delay)
                status, ctype, body, *extra = outer.routes.get(self.path, (404, "text/plain", b"not found"))
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (extra[0] if extra else {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        class Quiet(http.server.ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # a client that hung up (a cancelled scan) is expected here

        self.httpd = Quiet((host, 0), Handler)
        self.authority = "%s:%d" % (host, self.httpd.server_address[1])
        self.url = "http://" + self.authority
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Case(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="extupdated-hostile-")
        self.env = dict(os.environ, HOME=self.dir, XDG_CONFIG_HOME=self.dir + "/config",
                        XDG_STATE_HOME=self.dir + "/state", DOCKER_CONFIG=self.dir + "/docker",
                        PATH="/usr/bin:/bin")
        self.state = os.path.join(self.dir, "st")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, name, text, mode="w"):
        path = os.path.join(self.dir, name)
        with open(path, mode) as f:
            f.write(text)
        return path

    def config(self, allowlist, **extra):
        """A config whose allow-list is the given lines (a file) or URLs; API version fixed so no docker runs."""
        sources = []
        for a in allowlist:
            if isinstance(a, str):
                sources.append(a)
            else:
                sources.append(self.write("allow-%d.txt" % len(sources), "\n".join(a) + "\n"))
        doc = {"allowlist": sources, "extension_api_version": "0.3.4"}
        doc.update(extra)
        return self.write("config.json", json.dumps(doc))

    def run_exe(self, argv, shell_redirect="", stdin=subprocess.DEVNULL, timeout=60, **kw):
        """Runs argv; shell_redirect (e.g. '<&-') is applied by a shell so closed fds can be tested."""
        if shell_redirect:
            argv = ["/bin/sh", "-c", 'exec "$0" "$@" ' + shell_redirect] + argv
        return subprocess.run(argv, stdin=stdin, capture_output=True, timeout=timeout, env=self.env, **kw)

    def once(self, *args, **kw):
        return self.run_exe([EXTUPDATED, "--once", "--state-dir", self.state] + list(args), **kw)


class ClosedStreams(Case):
    """Issue 11.1: a closed stdin, stdout or stderr must not crash either executable."""

    def test_once_with_each_stream_closed(self):
        cfg = self.config([[UNREACHABLE + "/acme/ext"]])
        for redirect in ["<&-", ">&-", "2>&-"]:
            with self.subTest(redirect=redirect):
                p = self.once("--config", cfg, shell_redirect=redirect)
                # The registry is unreachable: a finished scan with an error, never an abort.
                self.assertEqual(p.returncode, 2, p.stderr)
                if redirect != ">&-":
                    self.assertIn(b"127.0.0.1:1/acme/ext", p.stdout)

    def test_validate_with_each_stream_closed(self):
        for redirect in ["<&-", ">&-", "2>&-"]:
            with self.subTest(redirect=redirect):
                p = self.run_exe([EXTUPDATECTL, "validate", UNREACHABLE + "/acme/ext:1.0.0"],
                                 shell_redirect=redirect)
                self.assertEqual(p.returncode, 1, p.stderr)
                if redirect == "<&-":
                    self.assertIn(b"unreachable", p.stdout)


class NotRegularFiles(Case):
    """Issue 11.7: a FIFO or a pipe given as a file is refused at once, with a message that says why."""

    def test_fifo_and_pipe(self):
        fifo = os.path.join(self.dir, "fifo")
        os.mkfifo(fifo)
        good = self.config([[UNREACHABLE + "/acme/ext"]])
        bad_allowlist = self.write("fifo-config.json", json.dumps(
            {"allowlist": [fifo], "extension_api_version": "0.3.4"}))
        cases = [
            (["--config", fifo], fifo),
            (["--config", bad_allowlist], fifo),
            (["--config", good, "--installed", fifo], fifo),
        ]
        for args, name in cases:
            with self.subTest(args=args):
                p = self.once(*args, timeout=20)
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertIn(("error: %s: " % name).encode(), p.stderr)
                self.assertIn(b"not a regular file", p.stderr)
        # A pipe on /dev/stdin: the same refusal, not "Invalid argument".
        proc = subprocess.run([EXTUPDATED, "--once", "--state-dir", self.state, "--config", "/dev/stdin"],
                              input=b"{}", capture_output=True, timeout=20, env=self.env)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn(b"not a regular file", proc.stderr)
        self.assertNotIn(b"Invalid argument", proc.stderr)


class ReportWriteFails(Case):
    """Issue 11.8: a report that cannot be written is an error that says so."""

    def test_dev_full(self):
        cfg = self.config([[UNREACHABLE + "/acme/ext"]])
        for args in [[], ["--json"]]:
            with self.subTest(args=args):
                p = self.once("--config", cfg, *args, shell_redirect=">/dev/full")
                self.assertEqual(p.returncode, 1)
                self.assertIn(b"error: cannot write the report to standard output: No space left on device",
                              p.stderr)


class Inventory(Case):
    """Issue 11.5: an installed version must be SemVer; each bad entry is named by its key, escaped."""

    def test_bad_versions_named_and_escaped(self):
        cfg = self.config([[UNREACHABLE + "/acme/ext"]])
        cases = [
            (b'{"acme/a": "1.0.0", "acme/b": "\xff1.0"}', [b'error: ', b'"acme/b": "\\xff1.0" is not a SemVer version']),
            (b'{"acme/c": "1.0\u001b[31m\nX"}', [b'"acme/c": "1.0\\x1b[31m\\x0aX" is not a SemVer version']),
            (b'{"\u001b[2Jacme/d": "1.0.0"}', [b'"\\x1b[2Jacme/d": ']),
            (b'{"acme/e": "latest", "acme/f": 3}', [b'"acme/e": "latest" is not a SemVer version',
                                                    b'"acme/f": the version must be a string']),
            (b'{"acme/g": "1.0.0\u0000evil"}', [b'NUL character']),
        ]
        for body, wants in cases:
            with self.subTest(body=body):
                inv = self.write("installed.json", body, mode="wb")
                p = self.once("--config", cfg, "--installed", inv)
                self.assertEqual(p.returncode, 1, p.stderr)
                for want in wants:
                    self.assertIn(want, p.stderr)
                self.assertTrue(p.stderr.startswith(b"error: " + inv.encode() + b": "), p.stderr)
                # Nothing from the file reaches the terminal raw, and every line is one message.
                self.assertNotIn(b"\x1b", p.stderr)
                self.assertNotIn(b"\xff", p.stderr)
                for line in p.stderr.splitlines():
                    self.assertTrue(line.startswith(b"error: "), line)

    def test_v_prefix_accepted(self):
        cfg = self.config([[UNREACHABLE + "/acme/ext"]])
        inv = self.write("installed.json", json.dumps({UNREACHABLE + "/acme/ext": "v1.2.3"}))
        p = self.once("--config", cfg, "--installed", inv, "--json")
        self.assertEqual(p.returncode, 2, p.stderr)
        doc = json.loads(p.stdout)
        self.assertEqual(doc["extensions"][0]["installed"], "v1.2.3")


class AllowlistUrl(Case):
    """Issue 11.2: a bad answer from an allow-list URL never replaces the good cached copy."""

    def setUp(self):
        super().setUp()
        # The repositories' registry answers 404 at once: each scan is quick and ends with an error.
        self.registry = Server({})
        self.addCleanup(self.registry.close)
        self.good = ("%s/acme/ext\n" % self.registry.authority).encode()
        self.server = Server({"/list.txt": (200, "text/plain", self.good)})
        self.addCleanup(self.server.close)
        self.list_url = self.server.url + "/list.txt"

    def scan(self, cfg, state=None):
        p = self.run_exe([EXTUPDATED, "--once", "--json", "--config", cfg, "--state-dir", state or self.state])
        doc = json.loads(p.stdout) if p.stdout.startswith(b"{") else None
        return p, doc

    def test_bad_answers_keep_the_good_copy(self):
        cfg = self.config([self.list_url])
        p, doc = self.scan(cfg)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertEqual(doc["scan"]["repositories"], 1)
        bad_answers = [
            ((200, "text/html", b"<!DOCTYPE html><html><body>Sign in</body></html>\n"), "an HTML page"),
            ((200, "text/plain", b"  <html>\nfoo\n"), "an HTML page"),
            ((200, "text/plain", b""), "empty"),
            ((200, "text/plain", b"\n \n"), "empty"),
            ((200, "text/plain", b"Not Found\nAccess Denied!\n"), "no valid allow-list entry"),
        ]
        for route, why in bad_answers:
            with self.subTest(body=route[2]):
                self.server.routes["/list.txt"] = route
                p, doc = self.scan(cfg)
                self.assertIn(("error: %s: the answer is %s" % (self.list_url, why)).encode()
                              if why != "no valid allow-list entry" else
                              ("error: %s: the answer has no valid allow-list entry" % self.list_url).encode(),
                              p.stderr)
                self.assertIn(b"using the copy fetched before", p.stderr)
                self.assertEqual(doc["scan"]["repositories"], 1, p.stderr)
        # The URL now down: the copy in use is still the last good one, not the HTML page.
        del self.server.routes["/list.txt"]
        p, doc = self.scan(cfg)
        self.assertEqual(doc["scan"]["repositories"], 1, p.stderr)
        self.assertEqual(doc["extensions"][0]["repository"], self.registry.authority + "/acme/ext")

    def test_bad_answer_without_a_copy_fails(self):
        self.server.routes["/list.txt"] = (200, "text/html", b"<html>login</html>")
        p, doc = self.scan(self.config([self.list_url]))
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(("error: %s: the answer is an HTML page" % self.list_url).encode(), p.stderr)
        self.assertIn(b"error: no allow-list could be read", p.stderr)

    def test_every_line_invalid_is_a_failure(self):
        cfg = self.config([["Not/A/Valid/Line", "<html>", "# a comment"]])
        p, doc = self.scan(cfg)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(b"no valid allow-list entry (2 lines, none a repository)", p.stderr)
        # Only comments is an empty allow-list, not an invalid one.
        p, doc = self.scan(self.config([["# nothing yet"]]))
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_redirect_to_plain_http_on_another_host(self):
        other = Server({"/list.txt": (200, "text/plain", self.good)}, host="127.0.0.2")
        self.addCleanup(other.close)
        self.server.routes["/moved"] = (302, "text/plain", b"", {"Location": other.url + "/list.txt"})
        self.server.routes["/here"] = (302, "text/plain", b"", {"Location": "/list.txt"})
        p, doc = self.scan(self.config([self.server.url + "/moved"]))
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(b"plain HTTP on another host; refused", p.stderr)
        # A redirect on the same host is fine.
        p, doc = self.scan(self.config([self.server.url + "/here"]))
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertEqual(doc["scan"]["repositories"], 1)

    def test_upper_case_scheme_is_a_url(self):
        url = "HTTP://" + self.server.authority + "/list.txt"
        p, doc = self.scan(self.config([url]))
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertEqual(doc["scan"]["repositories"], 1, p.stderr)
        self.assertEqual(self.server.hits.get("/list.txt"), 1)


# Runs inside a private mount namespace: a small tmpfs, a first scan that fits, then the disk filled
# but for RESERVE KiB (room to open the store and start, not to save the results), a second scan,
# and a third on a new state once the disk is full to the last block. Outputs go to OUT, outside the tmpfs.
DISK_FULL_SCRIPT = r"""
set -u
mount -t tmpfs -o size=4m tmpfs "$MNT" || exit 77
run() { "$EXE" --once --config "$CFG" --state-dir "$1" >"$OUT/out$2" 2>"$OUT/err$2"; echo $? >"$OUT/rc$2"; }
run "$MNT/st" 1
dd if=/dev/zero of="$MNT/reserve" bs=1k count="$RESERVE" 2>/dev/null
dd if=/dev/zero of="$MNT/fill" bs=4k 2>/dev/null
rm "$MNT/reserve"
run "$MNT/st" 2
cp "$MNT"/st/state.db* "$OUT/"
dd if=/dev/zero of="$MNT/fill2" bs=1k 2>/dev/null
run "$MNT/new" 3
"""


class DiskFull(Case):
    """Issue 11.3: a full disk is named once, no stale record is shown as fresh, start says "disk full"."""

    def test_full_disk(self):
        if os.geteuid() == 0:
            ns = ["unshare", "-m"]
        else:
            ns = ["unshare", "-rm"]
        if subprocess.run(ns + ["true"], capture_output=True).returncode != 0:
            self.skipTest("no mount namespace to mount a small tmpfs in")
        registry = Server({})
        self.addCleanup(registry.close)
        cfg = self.config([["%s/acme/ext%d" % (registry.authority, i) for i in range(300)]])
        mnt = os.path.join(self.dir, "mnt")
        out = os.path.join(self.dir, "out")
        os.mkdir(mnt)
        os.mkdir(out)
        env = dict(self.env, MNT=mnt, OUT=out, EXE=EXTUPDATED, CFG=cfg, RESERVE="256")
        p = subprocess.run(ns + ["/bin/sh", "-c", DISK_FULL_SCRIPT], env=env, capture_output=True, timeout=240)
        if p.returncode == 77:
            self.skipTest("cannot mount a tmpfs: %s" % p.stderr)

        def result(n):
            with open(os.path.join(out, "rc%d" % n)) as f:
                rc = int(f.read())
            with open(os.path.join(out, "out%d" % n), "rb") as f, open(os.path.join(out, "err%d" % n), "rb") as g:
                return rc, f.read(), g.read()

        rc, stdout, stderr = result(1)
        self.assertEqual(rc, 2, stderr)
        self.assertIn(b"300 repositories, 0 updates available, 300 errors", stdout)

        rc, stdout, stderr = result(2)
        self.assertEqual(rc, 1, stderr)
        db = os.path.join(mnt, "st", "state.db").encode()
        self.assertEqual(stderr, b"error: " + db + b": disk full: results of this scan not saved\n")
        self.assertNotIn(b"REPOSITORY", stdout)
        # What was saved is the first scan's, whole: the second is not recorded as finished.
        con = sqlite3.connect(os.path.join(out, "state.db"))
        finished = con.execute("SELECT count(*) FROM scans WHERE finished_at IS NOT NULL").fetchone()[0]
        statuses = {row[0] for row in con.execute("SELECT status FROM results")}
        con.close()
        self.assertEqual(finished, 1)
        self.assertEqual(statuses, {"error"})

        rc, stdout, stderr = result(3)
        self.assertEqual(rc, 1, stderr)
        self.assertIn(b"disk full", stderr)
        self.assertNotIn(b"disk I/O error", stderr)


class Permissions(Case):
    """Issue 7: the state directory is 0700 and state.db 0600 whatever the umask."""

    def test_modes_under_permissive_and_strict_umasks(self):
        cfg = self.config([["# nothing"]])
        for umask in ["000", "022", "277"]:
            with self.subTest(umask=umask):
                state = os.path.join(self.dir, "u" + umask, "nested", "st")
                p = self.run_exe([EXTUPDATED, "--once", "--config", cfg, "--state-dir", state],
                                 shell_redirect="", preexec_fn=lambda u=umask: os.umask(int(u, 8)))
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertEqual(os.stat(state).st_mode & 0o777, 0o700)
                for name in os.listdir(state):
                    if name.startswith("state.db"):
                        self.assertEqual(os.stat(os.path.join(state, name)).st_mode & 0o777, 0o600, name)


class Signals(Case):
    """Issue 11.10: SIGINT or SIGTERM cancels the scan, prints what was done, exits 130 or 143,
    and the scan is never recorded as finished."""

    def test_interrupted_scan(self):
        # Every answer takes 3 s: with 8 connections, 40 repositories take 15 s unless stopped.
        registry = Server({}, delay=3)
        self.addCleanup(registry.close)
        cfg = self.config([["%s/acme/ext%d" % (registry.authority, i) for i in range(40)]])
        for signum, code in [(signal.SIGINT, 130), (signal.SIGTERM, 143)]:
            with self.subTest(signal=signum):
                state = os.path.join(self.dir, "st-%d" % signum)
                proc = subprocess.Popen([EXTUPDATED, "--once", "--config", cfg, "--state-dir", state],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        env=self.env)
                # Wait for the scan to have started (its first requests), then interrupt it.
                deadline = time.monotonic() + 30
                while not registry.hits and time.monotonic() < deadline:
                    time.sleep(0.05)
                registry.hits.clear()
                started = time.monotonic()
                proc.send_signal(signum)
                out, err = proc.communicate(timeout=60)
                self.assertLess(time.monotonic() - started, 10, "the scan was not cut short")
                self.assertEqual(proc.returncode, code, err)
                self.assertIn(b"error: interrupted by %s: scan cancelled" % signal.Signals(signum).name.encode(), err)
                self.assertIn(b"40 repositories", out)
                con = sqlite3.connect(os.path.join(state, "state.db"))
                rows = con.execute("SELECT finished_at FROM scans").fetchall()
                con.close()
                self.assertEqual(rows, [(None,)])

    def test_signal_before_the_scan(self):
        # The allow-list URL answers after 5 s; a SIGTERM meanwhile stops the run before any scan.
        server = Server({"/list.txt": (200, "text/plain", (UNREACHABLE + "/acme/ext\n").encode())}, delay=5)
        self.addCleanup(server.close)
        cfg = self.config([server.url + "/list.txt"])
        proc = subprocess.Popen([EXTUPDATED, "--once", "--config", cfg, "--state-dir", self.state],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=self.env)
        time.sleep(1.5)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 1, err)
        self.assertIn(b"error: interrupted by SIGTERM before the scan started", err)


class Messages(Case):
    """Issue 11, messages: each names its real source and carries an error:/warning: prefix."""

    def test_api_version_note_names_its_source(self):
        # A configuration is present but sets no API version, and there is no docker on PATH.
        cfg = self.write("config.json", json.dumps({"allowlist": [self.write("a.txt", "# none\n")]}))
        p = self.once("--config", cfg)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"(default: extension_api_version is not set and `docker extension version` gave no answer)",
                      p.stdout)
        self.assertNotIn(b"no configuration", p.stdout)

    def test_empty_scan_is_clean(self):
        # A scan of 0 repositories: in a sanitizer build, a leak report would fill stderr and fail the run.
        p = self.once("--config", self.config([["# nothing listed yet"]]))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, b"")
        self.assertIn(b"0 repositories, 0 updates available, 0 errors, 0 requests", p.stdout)

    def test_check_config_separates_warnings_from_errors(self):
        registry = Server({})  # answers 404 at once: the scan below never leaves loopback
        self.addCleanup(registry.close)
        warn_only = [registry.authority + r for r in ["/acme/a", "/acme/a", "/acme/b:latest", "/acme/c:v1.2.3"]]
        cfg = self.config([warn_only])
        p = self.run_exe([EXTUPDATED, "--check-config", "--config", cfg])
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stderr.decode().splitlines()
        self.assertEqual(len(lines), 2, lines)
        self.assertRegex(lines[0], r"^warning: .*allow-0.txt:2: duplicate of line 1$")
        self.assertRegex(lines[1], r'^warning: .*allow-0.txt:3: pinned tag "latest" is not a SemVer version')
        self.assertEqual(p.stdout.decode(), "%s and 3 allow-listed repositories: 0 errors, 2 warnings\n" % cfg)

        cfg = self.config([warn_only + ["Not A Reference"]])
        p = self.run_exe([EXTUPDATED, "--check-config", "--config", cfg])
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(b"\nerror: ", b"\n" + p.stderr)
        for line in p.stderr.splitlines():
            self.assertTrue(line.startswith((b"error: ", b"warning: ")), line)
        self.assertTrue(p.stdout.endswith(b": 1 error, 2 warnings\n"), p.stdout)

        # The same allow-list in a scan: the same prefixes.
        p = self.once("--config", cfg)
        for line in p.stderr.splitlines():
            self.assertTrue(line.startswith((b"error: ", b"warning: ")), line)


def main():
    global EXTUPDATED, EXTUPDATECTL
    EXTUPDATED, EXTUPDATECTL = sys.argv[1], sys.argv[2]
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:], verbosity=2)


if __name__ == "__main__":
    main()
