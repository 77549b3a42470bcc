#!/usr/bin/python3
# Integration tests of the long-running `extupdated` against the real-registry harness: readiness, status, schedule, signals.
"""Usage: test-service.py EXTUPDATED [unittest options]

Each case starts the real daemon (no --once) with its own config, allow-list and state
directory, a datagram socket in NOTIFY_SOCKET standing in for systemd, and watches it through
its sd_notify messages, its log on stderr and state.db (read with sqlite3).
"""

import json
import os
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

import harness  # noqa: E402

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
        self.sock.settimeout(0.2)
        self.messages = []  # (monotonic time, "KEY=VALUE")
        self.lock = threading.Lock()
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            now = time.monotonic()
            with self.lock:
                for line in data.decode().split("\n"):
                    if line:
                        self.messages.append((now, line))

    def lines(self, prefix=""):
        with self.lock:
            return [m for _, m in self.messages if m.startswith(prefix)]

    def times(self, line):
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
        """Until the state shows `scans` finished scans and the status says idle again."""
        self.wait_for("%d finished scans" % scans,
                      lambda: finished_scans(self.state) >= scans and self.notify.lines("STATUS=Idle"))

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
        self.assertTrue(d.notify.lines("STATUS=Scanning "), d.notify.lines())
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
        deadline = time.monotonic() + 10
        while not os.path.exists(sock) and time.monotonic() < deadline:
            time.sleep(0.05)
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
