#!/usr/bin/python3
# Integration tests of the long-running `extupdated` against the real-registry harness: readiness, status, schedule, signals.
"""Usage: test-service.py EXTUPDATED [unittest options]

Each case starts the real daemon (no --once) with its own config, allow-list and state
directory, a datagram socket in NOTIFY_SOCKET standing in for systemd, and watches it through
its sd_notify messages, its log on stderr and state.db (read with sqlite3).
"""

import json
import os
import select
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.environ.get("EXTUPDATED_TESTS") or os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TESTS, "registry"))
sys.path.insert(0, os.path.join(TESTS, "api"))

import harness  # noqa: E402
from apitest import wait_listening  # noqa: E402

EXE = None
H = None
REG = None
WORK = None
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "UndefinedBehaviorSanitizer")


def labels(title, api=">= 0.2.0", description=None):
    return {"labels": {"org.opencontainers.image.title": title, "org.opencontainers.image.vendor": "Acme Inc.",
                       "com.docker.desktop.extension.api.version": api,
                       "org.opencontainers.image.description": description or title}}


SEED = {"repositories": {
    "svc/one": {"tags": {"1.0.0": labels("One"), "1.1.0": labels("One", description="One 1.1")}},
    "svc/two": {"tags": {"0.1.0": labels("Two"), "0.2.0": labels("Two", description="Two 0.2")}},
    "svc/three": {"tags": {"2.0.0": labels("Three")}},
}}


def setUpModule():
    global H, REG, WORK
    WORK = tempfile.mkdtemp(prefix="extupdated-service-")
    unittest.addModuleCleanup(shutil.rmtree, WORK, True)
    H = harness.Harness(auth=True).start()
    unittest.addModuleCleanup(H.stop)
    REG = H.registry
    H.seed(SEED)


def new_dir(name):
    return tempfile.mkdtemp(prefix=name + "-", dir=WORK)


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f)
    return path


class Notify:
    """A datagram socket where the daemon's sd_notify messages arrive, as systemd's would."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.setblocking(False)
        self.messages = []  # (monotonic time, "KEY=VALUE")
        self.lock = threading.Lock()
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop:
            try:
                ready, _, _ = select.select([self.sock], [], [], 0.2)
            except (OSError, ValueError):
                return
            if ready:
                self.drain()

    def drain(self):
        """Takes in every message already sent: what the daemon sent before a change seen elsewhere
        (state.db, its log) is then in the lists read after that change."""
        with self.lock:
            while True:
                try:
                    data = self.sock.recv(65536)
                except (BlockingIOError, OSError):
                    return
                now = time.monotonic()
                for line in data.decode().split("\n"):
                    if line:
                        self.messages.append((now, line))

    def lines(self, prefix=""):
        self.drain()
        with self.lock:
            return [m for _, m in self.messages if m.startswith(prefix)]

    def times(self, line):
        self.drain()
        with self.lock:
            return [t for t, m in self.messages if m == line]

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


class Daemon:
    """One running extupdated."""

    def __init__(self, case, files, state, env=None, argv_prefix=(), extra_args=()):
        self.case = case
        self.state = state
        self.dir = new_dir("daemon")
        self.notify = Notify(self.dir)
        self.log_path = os.path.join(self.dir, "stderr.log")
        env = dict(env or case.env(files["dir"]))
        env["NOTIFY_SOCKET"] = self.notify.path
        self.argv = list(argv_prefix) + [EXE, "--config", files["config"], "--state-dir", state, "--no-dbus",
                                         "--socket", os.path.join(self.dir, "api.sock")] + list(extra_args)
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self.log, env=env)
        self.exit = None

    def stderr(self):
        with open(self.log_path) as f:
            return f.read()

    def wait_for(self, what, pred, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():
                return True
            if self.proc.poll() is not None and not pred():
                self.case.fail("extupdated exited (%s) while waiting for %s: %s" % (self.proc.returncode, what,
                                                                                   self.stderr()))
            time.sleep(0.05)
        self.case.fail("timed out waiting for %s; notify: %s; stderr: %s" % (what, self.notify.lines(), self.stderr()))

    def wait_ready(self):
        self.wait_for("READY=1", lambda: self.notify.lines("READY=1"))

    def wait_idle_after_scan(self, scans=1):
        """Until the state shows `scans` finished scans and the status says idle again.

        The daemon stores a scan's end before it reaps the scan (plans the next one, saves the plan);
        the Scanning status was sent before that end, so a last status that says Idle was sent after
        the reaping. Any earlier Idle (before the scan started) does not count."""
        def idle_after():
            if finished_scans(self.state) < scans:
                return False
            status = self.notify.lines("STATUS=")
            return bool(status) and status[-1].startswith("STATUS=Idle")
        self.wait_for("%d finished scans" % scans, idle_after)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        start = time.monotonic()
        self.proc.send_signal(sig)
        try:
            self.exit = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.case.fail("extupdated did not stop within %d s after %s: %s" % (timeout, sig, self.stderr()))
        elapsed = time.monotonic() - start
        self.close()
        return elapsed

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.notify.close()
        self.log.close()
        text = self.stderr()
        for marker in SANITIZER_MARKERS:
            self.case.assertNotIn(marker, text)


def db_query(state, sql):
    db = sqlite3.connect(os.path.join(state, "state.db"), timeout=10)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def finished_scans(state):
    if not os.path.exists(os.path.join(state, "state.db")):
        return 0
    try:
        return db_query(state, "SELECT count(*) FROM scans WHERE finished_at IS NOT NULL")[0][0]
    except sqlite3.OperationalError:
        return 0


def service_state(state):
    return dict(db_query(state, "SELECT key, value FROM service_state"))


def parse_time(text):
    return time.mktime(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone


class ServiceCase(unittest.TestCase):
    maxDiff = None

    def env(self, home):
        env = dict(os.environ)
        for key in [k for k in env if k.startswith("EXTUPDATED_TEST_") or k.startswith("WATCHDOG_")
                    or k in ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "JOURNAL_STREAM")]:
            del env[key]
        os.makedirs(os.path.join(home, "docker"), exist_ok=True)
        env.update({"HOME": home, "XDG_CONFIG_HOME": os.path.join(home, "config"),
                    "XDG_STATE_HOME": os.path.join(home, "state"), "DOCKER_CONFIG": os.path.join(home, "docker"),
                    "XDG_RUNTIME_DIR": os.path.join(home, "run")})
        return env

    def files(self, repositories=("svc/one", "svc/two", "svc/three"), config=None):
        d = new_dir("files")
        allow = os.path.join(d, "extensions.txt")
        with open(allow, "w") as f:
            f.write("".join("%s/%s\n" % (REG, r) for r in repositories))
        cfg = {"allowlist": [allow], "extension_api_version": "0.3.4", "platform": "linux/amd64",
               "interval": 3600}
        cfg.update(config or {})
        return {"dir": d, "allowlist": allow, "config": write_json(os.path.join(d, "config.json"), cfg), "cfg": cfg}

    def start(self, files, state=None, **kw):
        d = Daemon(self, files, state or new_dir("state"), **kw)
        self.addCleanup(d.close)
        return d

    def test_ready_status_restart(self):
        files = self.files()
        d = self.start(files)
        d.wait_ready()
        d.wait_idle_after_scan()
        scanning = d.notify.lines("STATUS=Scanning ")
        self.assertTrue(scanning, d.notify.lines())
        for line in scanning:
            self.assertRegex(line, r"^STATUS=Scanning [0-3]/3$")
        idle = d.notify.lines("STATUS=Idle")[-1]
        self.assertRegex(idle, r"^STATUS=Idle: 3 extensions, 0 updates; next scan \d\d:\d\d$")
        self.assertIn("scan 1 finished: 3 repositories", d.stderr())
        # The next scan is planned an interval (plus up to 10% jitter) after this one, and saved.
        st = service_state(d.state)
        finished = parse_time(db_query(d.state, "SELECT finished_at FROM scans")[0][0])
        delay = parse_time(st["next_scan_at"]) - finished
        self.assertGreaterEqual(delay, 3600)
        self.assertLessEqual(delay, 3960)
        elapsed = d.stop()
        self.assertEqual(d.exit, 0)
        self.assertLess(elapsed, 5)
        self.assertTrue(d.notify.lines("STOPPING=1"))

        # A restart finds the last scan young and the next one planned: it does not scan.
        again = self.start(files, state=d.state)
        again.wait_ready()
        time.sleep(1.5)
        self.assertEqual(finished_scans(d.state), 1)
        self.assertEqual(db_query(d.state, "SELECT count(*) FROM scans")[0][0], 1)
        self.assertEqual(service_state(d.state)["next_scan_at"], st["next_scan_at"])
        self.assertRegex(again.notify.lines("STATUS=")[-1], r"^STATUS=Idle: 3 extensions, 0 updates; next scan ")
        again.stop(signal.SIGINT)
        self.assertEqual(again.exit, 0)

    def test_due_scan_runs_at_start(self):
        files = self.files(repositories=("svc/one",))
        d = self.start(files)
        d.wait_ready()
        d.wait_idle_after_scan()
        d.stop()
        # A plan in the past (the daemon was down when it fell due) runs right away.
        db = sqlite3.connect(os.path.join(d.state, "state.db"))
        db.execute("UPDATE service_state SET value = '2000-01-01T00:00:00Z' WHERE key = 'next_scan_at'")
        db.commit()
        db.close()
        again = self.start(files, state=d.state)
        again.wait_ready()
        again.wait_idle_after_scan(2)
        again.stop()
        self.assertEqual(again.exit, 0)

    def test_watchdog(self):
        files = self.files(repositories=("svc/one",))
        env = self.env(files["dir"])
        env["WATCHDOG_USEC"] = "2000000"
        d = self.start(files, env=env)
        d.wait_ready()
        d.wait_for("three watchdog pings", lambda: len(d.notify.lines("WATCHDOG=1")) >= 3, timeout=10)
        pings = d.notify.times("WATCHDOG=1")
        # Half the interval: one a second, not a burst.
        self.assertGreaterEqual(pings[-1] - pings[0], 1.5)
        d.stop()
        self.assertEqual(d.exit, 0)

    def test_no_watchdog_unless_asked(self):
        files = self.files(repositories=("svc/one",))
        d = self.start(files)
        d.wait_ready()
        d.wait_idle_after_scan()
        time.sleep(1.2)
        self.assertEqual(d.notify.lines("WATCHDOG=1"), [])
        d.stop()

    def test_socket_activation(self):
        files = self.files(repositories=("svc/one",))
        sock = os.path.join(new_dir("run"), "api.sock")
        env = self.env(files["dir"])
        # systemd-socket-activate passes on only the variables it is told to.
        passed = []
        for key in ("HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "DOCKER_CONFIG", "PATH", "NOTIFY_SOCKET",
                    "ASAN_OPTIONS", "UBSAN_OPTIONS"):
            passed += ["-E", key]
        d = self.start(files, env=env, argv_prefix=["systemd-socket-activate", "-l", sock] + passed)
        # systemd-socket-activate starts the daemon at the first connection.
        self.assertTrue(wait_listening(sock), "nothing listens on %s: %s" % (sock, d.stderr()))
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(sock)
        d.wait_ready()
        self.assertIn("API socket passed by systemd (fd 3)", d.stderr())
        client.close()
        d.wait_idle_after_scan()
        d.stop()
        self.assertEqual(d.exit, 0)

    def test_instance_lock(self):
        files = self.files(repositories=("svc/one",))
        d = self.start(files)
        d.wait_ready()
        want = "another extupdated holds %s (pid %d)" % (d.state, d.proc.pid)
        second = self.start(files, state=d.state)
        second.proc.wait(10)
        self.assertEqual(second.proc.returncode, 1)
        self.assertIn(want, second.stderr())
        once = subprocess.run([EXE, "--once", "--config", files["config"], "--state-dir", d.state],
                              capture_output=True, text=True, timeout=60, env=self.env(files["dir"]))
        self.assertEqual(once.returncode, 1)
        self.assertIn("error: " + want, once.stderr)
        d.stop()
        once = subprocess.run([EXE, "--once", "--config", files["config"], "--state-dir", d.state],
                              capture_output=True, text=True, timeout=60, env=self.env(files["dir"]))
        self.assertEqual(once.returncode, 0, once.stderr)

    def test_lock_holder_not_yet_named(self):
        """A holder that has taken the lock but not yet written its pid (CI saw "holds STATE" with no
        pid when two first runs raced): the second waits for the name instead of reporting none."""
        import fcntl
        files = self.files(repositories=("svc/one",))
        state = os.path.join(new_dir("unnamed"), "state")
        os.makedirs(state, mode=0o700)
        fd = os.open(os.path.join(state, "lock"), os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        holder = subprocess.Popen(["sleep", "30"])
        try:
            once = subprocess.Popen([EXE, "--once", "--config", files["config"], "--state-dir", state],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                    env=self.env(files["dir"]))
            time.sleep(0.3)
            os.pwrite(fd, b"%d\n" % holder.pid, 0)
            err = once.communicate(timeout=60)[1]
            self.assertEqual(once.returncode, 1, err)
            self.assertIn("error: another extupdated holds %s (pid %d)" % (state, holder.pid), err)
        finally:
            holder.kill()
            holder.wait()
            os.close(fd)

    def test_two_once_on_a_new_state(self):
        """Issue 11 #9: two first runs at once failed with "database is locked"; now the second one
        says who holds the state."""
        files = self.files(repositories=("svc/one",))
        for _ in range(5):
            state = os.path.join(new_dir("pair"), "state")
            argv = [EXE, "--once", "--config", files["config"], "--state-dir", state]
            procs = [subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                      env=self.env(files["dir"])) for _ in range(2)]
            results = [(p.wait(60), p.stderr.read()) for p in procs]
            for p in procs:
                p.stderr.close()
            self.assertIn(0, [code for code, _ in results], results)
            for code, err in results:
                self.assertNotIn("database is locked", err)
                if code != 0:
                    self.assertEqual(code, 1)
                    self.assertRegex(err, r"error: another extupdated holds %s \(pid \d+\)" % state)

    def test_offline_backoff(self):
        # Nothing listens on port 1: every repository fails for want of a network.
        files = self.files(repositories=())
        with open(files["allowlist"], "w") as f:
            f.write("127.0.0.1:1/off/one\n127.0.0.1:1/off/two\n")
        d = self.start(files)
        d.wait_ready()
        d.wait_for("the offline status", lambda: any("(offline)" in m for m in d.notify.lines("STATUS=Idle")))
        st = service_state(d.state)
        self.assertEqual(st.get("offline_backoff"), "60")
        finished = parse_time(db_query(d.state, "SELECT finished_at FROM scans WHERE finished_at IS NOT NULL")[0][0])
        self.assertLessEqual(abs(parse_time(st["next_scan_at"]) - finished - 60), 1)
        self.assertIn("no registry could be reached: next try in 60 s", d.stderr())
        d.stop()
        # The backoff survives a restart and doubles after the next failure (capped at the interval).
        again = self.start(files, state=d.state)
        again.wait_ready()
        self.assertRegex(again.notify.lines("STATUS=")[-1], r"\(offline\)$")
        again.stop()

    def test_stop_with_requests_stuck(self):
        """SIGTERM stops within 5 s with 100 requests on registries that accept and never answer."""
        listeners = []
        for _ in range(100):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            s.listen(128)  # the kernel accepts the connections; nobody ever answers
            listeners.append(s)
        self.addCleanup(lambda: [s.close() for s in listeners])
        # Plain HTTP: the stop path is under test, not TLS set-up (which today loads the CA bundle
        # for every new connection on the loop thread, about 30 ms each).
        registries = {"127.0.0.1:%d" % s.getsockname()[1]: {"url": "http://127.0.0.1:%d" % s.getsockname()[1],
                                                            "insecure": True} for s in listeners}
        files = self.files(repositories=(), config={"max_connections": 64, "registries": registries})
        with open(files["allowlist"], "w") as f:
            for i, s in enumerate(listeners):
                f.write("127.0.0.1:%d/stuck/repo%d\n" % (s.getsockname()[1], i))
        d = self.start(files)
        d.wait_ready()
        d.wait_for("the scan to start", lambda: d.notify.lines("STATUS=Scanning"))
        time.sleep(1)
        elapsed = d.stop()
        self.assertEqual(d.exit, 0, d.stderr())
        self.assertLess(elapsed, 5)
        # The cancelled scan is not recorded as finished, and the store is whole.
        self.assertEqual(finished_scans(d.state), 0)
        self.assertEqual(db_query(d.state, "PRAGMA integrity_check"), [("ok",)])

    def test_kill_during_scan(self):
        # A registry that never answers holds the scan open after the others are stored.
        stuck = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        stuck.bind(("127.0.0.1", 0))
        stuck.listen(16)
        self.addCleanup(stuck.close)
        host = "127.0.0.1:%d" % stuck.getsockname()[1]
        files = self.files(config={"registries": {host: {"url": "http://" + host, "insecure": True}}})
        with open(files["allowlist"], "a") as f:
            f.write("%s/never/answers\n" % host)
        d = self.start(files)
        d.wait_ready()
        d.wait_for("three repositories stored", lambda: d.notify.lines("STATUS=Scanning 3/4"))
        d.proc.kill()
        d.proc.wait()
        self.assertEqual(db_query(d.state, "PRAGMA integrity_check"), [("ok",)])
        self.assertEqual(finished_scans(d.state), 0)
        self.assertEqual(db_query(d.state, "SELECT count(*) FROM results WHERE status = 'ok'"), [(3,)])
        # The next start finds the scan still due and does it whole.
        with open(files["allowlist"], "w") as f:
            f.write("".join("%s/%s\n" % (REG, r) for r in ("svc/one", "svc/two", "svc/three")))
        again = self.start(files, state=d.state)
        again.wait_ready()
        again.wait_idle_after_scan()
        again.stop()
        self.assertEqual(again.exit, 0)
        self.assertEqual(db_query(d.state, "PRAGMA integrity_check"), [("ok",)])
        rows = db_query(d.state, "SELECT r.status FROM results r JOIN repositories p ON p.name = r.repository"
                                 " WHERE p.still_listed = 1")
        self.assertEqual(rows, [("ok",)] * 3)

    def listed(self, state):
        return [r[0] for r in db_query(state, "SELECT name FROM repositories WHERE still_listed = 1 ORDER BY name")]

    def test_reload_by_sighup(self):
        files = self.files(repositories=("svc/one", "svc/two"))
        d = self.start(files)
        d.wait_ready()
        d.wait_idle_after_scan()
        # A new allow-list elsewhere (not watched) and a longer interval, read on SIGHUP.
        other = os.path.join(new_dir("other"), "extensions.txt")
        with open(other, "w") as f:
            f.write("%s/svc/one\n%s/svc/three\n" % (REG, REG))
        cfg = dict(files["cfg"], allowlist=[other], interval=7200)
        write_json(files["config"], cfg)
        d.proc.send_signal(signal.SIGHUP)
        # The added entry is scanned soon, not an interval later.
        d.wait_idle_after_scan(2)
        self.assertIn("configuration reloaded: 2 repositories", d.stderr())
        self.assertEqual(self.listed(d.state), ["%s/svc/one" % REG, "%s/svc/three" % REG])
        # The removed one is no longer listed, and its history stays.
        self.assertEqual(db_query(d.state, "SELECT status FROM results WHERE repository = '%s/svc/two'" % REG),
                         [("ok",)])
        d.wait_for("the status after the second scan",
                   lambda: d.notify.lines("STATUS=Idle")[-1].startswith("STATUS=Idle: 2 extensions"))
        # The new interval plans the next scan.
        finished = parse_time(db_query(d.state, "SELECT max(finished_at) FROM scans")[0][0])
        delay = parse_time(service_state(d.state)["next_scan_at"]) - finished
        self.assertGreaterEqual(delay, 7200)
        self.assertLessEqual(delay, 7920)
        d.stop()
        self.assertEqual(d.exit, 0)

    def test_reload_by_editing_the_allowlist(self):
        files = self.files(repositories=("svc/one",))
        d = self.start(files)
        d.wait_ready()
        d.wait_idle_after_scan()
        # As editors save: a new file renamed over the old one.
        tmp = files["allowlist"] + ".tmp"
        with open(tmp, "w") as f:
            f.write("%s/svc/one\n%s/svc/two\n" % (REG, REG))
        os.replace(tmp, files["allowlist"])
        d.wait_idle_after_scan(2)
        self.assertIn("an allow-list file changed", d.stderr())
        self.assertEqual(self.listed(d.state), ["%s/svc/one" % REG, "%s/svc/two" % REG])
        # And an edit in place.
        with open(files["allowlist"], "a") as f:
            f.write("%s/svc/three\n" % REG)
        d.wait_idle_after_scan(3)
        self.assertEqual(len(self.listed(d.state)), 3)
        d.stop()
        self.assertEqual(d.exit, 0)

    def test_bad_config_on_reload(self):
        files = self.files(repositories=("svc/one",))
        d = self.start(files)
        d.wait_ready()
        d.wait_idle_after_scan()
        planned = service_state(d.state)["next_scan_at"]
        with open(files["config"], "w") as f:
            f.write('{\n  "interval": 60,,\n}\n')
        d.proc.send_signal(signal.SIGHUP)
        d.wait_for("the refusal", lambda: "previous one stays in effect" in d.stderr())
        err = d.stderr()
        self.assertRegex(err, r"error: %s:2:\d+: " % files["config"])
        # The old configuration stays: same plan, same listing, still running.
        time.sleep(0.5)
        self.assertIsNone(d.proc.poll())
        self.assertEqual(finished_scans(d.state), 1)
        self.assertEqual(service_state(d.state)["next_scan_at"], planned)
        # A wrong type is named by its key.
        write_json(files["config"], dict(files["cfg"], interval="hourly"))
        d.proc.send_signal(signal.SIGHUP)
        d.wait_for("the second refusal", lambda: d.stderr().count("previous one stays in effect") == 2)
        self.assertIn("interval", d.stderr().split("previous one stays in effect")[1])
        d.stop()
        self.assertEqual(d.exit, 0)

    def stand_in_docker(self, table, status=0):
        """A `docker` on PATH that prints table for `docker extension ls` (and exits with status)."""
        bindir = new_dir("bin")
        path = os.path.join(bindir, "docker")
        with open(os.path.join(bindir, "table.txt"), "w") as f:
            f.write(table)
        with open(path, "w") as f:
            f.write('#!/bin/sh\n[ "$1 $2" = "extension ls" ] || exit 64\ncat "%s/table.txt"\nexit %d\n'
                    % (bindir, status))
        os.chmod(path, 0o755)
        return bindir

    def test_docker_inventory(self):
        table = ("ID                       PROVIDER     VERSION   UI                      VM           HOST\n"
                 "%-24s Acme Inc.    1.0.0     1 tab(My-Extension)     Running(1)   -\n"
                 "%-24s Acme Inc.    0.2.0     1 tab(Two)              -            -\n"
                 "%-24s Acme Inc.    latest    -                       -            -\n"
                 % ("%s/svc/one" % REG, "%s/svc/two" % REG, "%s/svc/three" % REG))
        bindir = self.stand_in_docker(table)
        files = self.files(repositories=("svc/one", "svc/two"), config={"installed_source": "docker"})
        env = self.env(files["dir"])
        env["PATH"] = bindir + ":" + env["PATH"]
        d = self.start(files, env=env)
        d.wait_ready()
        d.wait_for("the inventory", lambda: "installed inventory from `docker extension ls`: 2 extensions" in d.stderr())
        d.wait_idle_after_scan()
        self.assertEqual(db_query(d.state, "SELECT repository, version FROM installed ORDER BY repository"),
                         [("%s/svc/one" % REG, "1.0.0"), ("%s/svc/two" % REG, "0.2.0")])
        self.assertIn("line 4: %s/svc/three: version \"latest\" is not SemVer" % REG, d.stderr())
        d.wait_for("one update", lambda: d.notify.lines("STATUS=Idle")[-1].startswith(
            "STATUS=Idle: 2 extensions, 1 update;"))
        # A failing command is logged and the last inventory kept.
        with open(os.path.join(bindir, "docker"), "w") as f:
            f.write("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
        with open(files["allowlist"], "a") as f:
            f.write("%s/svc/three\n" % REG)
        d.wait_idle_after_scan(2)
        d.wait_for("the failure", lambda: "docker extension ls: exit status 1; the last inventory is kept" in d.stderr())
        self.assertEqual(len(db_query(d.state, "SELECT * FROM installed")), 2)
        d.stop()
        self.assertEqual(d.exit, 0)

    def test_api_version_detection_times_out(self):
        """`docker extension version` that hangs: after 5 s its whole process group is killed (a child
        was left running before) and the daemon goes on with the default."""
        bindir = new_dir("bin")
        child = os.path.join(bindir, "child.pid")
        with open(os.path.join(bindir, "docker"), "w") as f:
            f.write('#!/bin/sh\nsleep 300 &\necho $! > "%s"\nwait\n' % child)
        os.chmod(os.path.join(bindir, "docker"), 0o755)
        files = self.files(repositories=("svc/one",), config={"installed_source": "api"})
        del files["cfg"]["extension_api_version"]
        write_json(files["config"], files["cfg"])
        env = self.env(files["dir"])
        env["PATH"] = bindir + ":" + env["PATH"]
        d = self.start(files, env=env)
        d.wait_for("the helper to start", lambda: os.path.exists(child) and os.path.getsize(child) > 0, timeout=10)
        d.wait_ready()
        self.assertIn("Extension API 0.3.4 (default: ", d.stderr())
        with open(child) as f:
            pid = int(f.read())
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        with self.assertRaises(ProcessLookupError):
            os.kill(pid, 0)
        d.wait_idle_after_scan()
        d.stop()
        self.assertEqual(d.exit, 0)

    def test_log_level(self):
        quiet = self.files(repositories=("svc/one",), config={"log_level": "error"})
        d = self.start(quiet)
        d.wait_ready()
        d.wait_idle_after_scan()
        d.stop()
        self.assertEqual(d.stderr(), "")
        chatty = self.files(repositories=("svc/one",), config={"log_level": "debug"})
        d = self.start(chatty)
        d.wait_ready()
        d.wait_idle_after_scan()
        d.stop()
        self.assertRegex(d.stderr(), r"debug: %s/svc/one: ok: latest 1.1.0, compatible 1.1.0" % REG)

    def test_bad_config_at_start(self):
        files = self.files()
        with open(files["config"], "w") as f:
            f.write('{"interval": "soon"}')
        d = self.start(files)
        d.proc.wait(10)
        self.assertEqual(d.proc.returncode, 1)
        self.assertIn("interval", d.stderr())
        self.assertEqual(d.notify.lines("READY=1"), [])


if __name__ == "__main__":
    EXE = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
