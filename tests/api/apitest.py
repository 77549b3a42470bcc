# Helpers of the API tests, its benchmark and the service tests: a daemon with its own config, state and socket; HTTP on a Unix socket.
import http.client
import json
import os
import re
import socket
import subprocess
import time


class Daemon:
    """One extupdated with its own config, state and socket."""

    def __init__(self, work, exe, name, config, env=None):
        self.exe = exe
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir, exist_ok=True)
        self.socket = os.path.join(self.dir, "run", "api.sock")
        self.config = os.path.join(self.dir, "config.json")
        with open(self.config, "w") as f:
            json.dump(config, f)
        self.env = dict(os.environ, **(env or {}))
        self.log = open(os.path.join(self.dir, "daemon.log"), "w+")
        self.proc = None

    def start(self, wait=True):
        self.proc = subprocess.Popen([self.exe, "--no-dbus", "--config", self.config, "--state-dir",
                                      os.path.join(self.dir, "state"), "--socket", self.socket],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=self.env)
        if wait:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise AssertionError("extupdated exited with %d:\n%s" % (self.proc.returncode, self.output()))
                try:
                    if request(self.socket, "GET", "/v1/status")[0] == 200:
                        return self
                except OSError:
                    pass
                time.sleep(0.05)
            raise AssertionError("extupdated did not answer on %s:\n%s" % (self.socket, self.output()))
        return self

    def output(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            return int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1))

    def stop(self):
        """Stops the daemon with SIGTERM; returns its exit status (a sanitizer's finding makes it non-zero)."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode if self.proc else None


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=60):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def wait_listening(path, timeout=30):
    """Until a socket listens at path: systemd-socket-activate binds it, then listens, and a connection
    in between is refused. Read from /proc/net/unix, where a listening socket has __SO_ACCEPTCON."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open("/proc/net/unix") as f:
            for line in f.readlines()[1:]:
                fields = line.split(None, 7)
                if len(fields) == 8 and fields[7].rstrip("\n") == path and int(fields[3], 16) & 0x10000:
                    return True
        time.sleep(0.05)
    return False


def read_to_eof(sock):
    """Everything a socket receives until the peer closes it."""
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def request(path, method, url, body=None, headers=None, timeout=60):
    """(status, headers, parsed JSON or None) of one request on a fresh connection."""
    c = UnixHTTPConnection(path, timeout)
    try:
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        h = dict(headers or {})
        if data is not None and "Content-Type" not in h:
            h["Content-Type"] = "application/json"
        c.request(method, url, body=data, headers=h)
        r = c.getresponse()
        raw = r.read()
        return r.status, r.headers, (json.loads(raw) if raw else None)
    finally:
        c.close()
