#!/usr/bin/python3
# End-to-end tests of the local API and extupdatectl against the real daemon and the real-registry harness.
"""Usage: test-api.py EXTUPDATED EXTUPDATECTL [unittest options]

One registry harness (tests/registry/harness.py, docker-registry with Hub-style token auth) holds
the demo extensions; one daemon (`extupdated --no-dbus`, its own state and socket) serves every
case. Requests go through `curl --unix-socket`, through extupdatectl, and, where a case needs raw
control (a burst of clients, a reader that never reads, garbage bytes), through plain sockets.
"""

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import queue
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.environ.get("EXTUPDATED_TESTS") or os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TESTS, "registry"))

import harness  # noqa: E402
sys.path.insert(0, HERE)
from apitest import Daemon, UnixHTTPConnection, read_to_eof, request, wait_listening  # noqa: E402

if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
    tempfile.tempdir = "/dev/shm"

RECORD_KEYS = ["repository", "title", "vendor", "description", "pinned", "installed", "latest",
               "latest_compatible", "api_constraint", "latest_api_constraint", "digest", "platforms",
               "update_available", "status", "error", "checked_at"]
SUMMARY_KEYS = ["id", "started_at", "finished_at", "repositories", "updates", "errors", "requests"]
STATUS_KEYS = ["version", "state", "last_scan", "next_scan_at", "scan_deferred", "extension_api_version",
               "platform", "installed_source", "extensions", "updates"]
VERSION_KEYS = ["tag", "digest", "api_constraint", "compatible", "reason"]
# The events queue of one reader, made small so a test reaches it in seconds (the default is 1 MiB).
EVENTS_QUEUE = 16384

EXE = CTL = None
SANITIZED = False
H = None
REG = None
WORK = None


def curl(sock, method, url, body=None, content_type="application/json", extra=()):
    """(status, headers text, body text) through `curl --unix-socket`."""
    cmd = ["curl", "-sS", "--unix-socket", sock, "-X", method, "-D", "-", "-o", "-", "--max-time", "60"]
    if body is not None:
        cmd += ["-H", "Content-Type: " + content_type, "--data-binary", body]
    cmd += list(extra) + ["http://localhost" + url]
    # Bytes: text mode would turn the header lines' CRLF into LF.
    out = subprocess.run(cmd, capture_output=True, check=True).stdout.decode()
    head, _, rest = out.partition("\r\n\r\n")
    while head.startswith("HTTP/1.1 100"):
        head, _, rest = rest.partition("\r\n\r\n")
    return int(head.split()[1]), head, rest


def ctl(sock, *args, check=None):
    r = subprocess.run([CTL, "--socket", sock] + list(args), capture_output=True, text=True, timeout=120)
    if check is not None and r.returncode != check:
        raise AssertionError("extupdatectl %s exited %d (want %d):\n%s%s" % (" ".join(args), r.returncode, check,
                                                                              r.stdout, r.stderr))
    return r


def scan_and_wait(sock):
    status, _, summary = request(sock, "POST", "/v1/scan?wait=1", timeout=120)
    assert status == 200, (status, summary)
    return summary


def setUpModule():
    global H, REG, WORK, D
    WORK = tempfile.mkdtemp(prefix="test-api-")
    H = harness.Harness()
    H.start()
    with open(os.path.join(TESTS, "demo", "seed.json")) as f:
        H.seed(json.load(f))
    REG = H.registry
    allowlist = os.path.join(WORK, "extensions.txt")
    with open(allowlist, "w") as f:
        for repo in ["docker/disk-usage-extension", "docker/logs-explorer-extension", "acme/future-extension",
                     "acme/unlabelled", "acme/not-published"]:
            f.write("%s/%s\n" % (REG, repo))
    D = Daemon(WORK, EXE, "main", {"allowlist": [allowlist], "extension_api_version": "0.3.4", "platform": "linux/amd64",
                        "installed_source": "api", "notifications": False},
               env={"EXTUPDATED_API_EVENTS_QUEUE_MAX": str(EVENTS_QUEUE)}).start()
    scan_and_wait(D.socket)


def tearDownModule():
    status = D.stop() if D else 0
    output = D.output() if D else ""
    if H:
        H.stop()
    shutil.rmtree(WORK, ignore_errors=True)
    if status != 0:
        raise AssertionError("extupdated exited %s after SIGTERM:\n%s" % (status, output[-20000:]))


D = None


def main_config():
    with open(D.config) as f:
        return json.load(f)


def repo(name):
    return "%s/%s" % (REG, name)


class Endpoints(unittest.TestCase):
    def test_status(self):
        status, head, body = curl(D.socket, "GET", "/v1/status")
        self.assertEqual(status, 200)
        self.assertRegex(head, r"(?i)content-type: application/json")
        j = json.loads(body)
        for k in STATUS_KEYS:
            self.assertIn(k, j)
        self.assertIn(j["state"], ("idle", "scanning"))
        self.assertEqual(j["extension_api_version"], "0.3.4")
        self.assertEqual(j["platform"], "linux/amd64")
        self.assertEqual(j["installed_source"], "api")
        self.assertEqual(j["extensions"], 5)
        self.assertEqual(list(j["last_scan"].keys())[:7], SUMMARY_KEYS)

    def test_extensions(self):
        status, _, body = curl(D.socket, "GET", "/v1/extensions")
        self.assertEqual(status, 200)
        records = json.loads(body)
        self.assertEqual([r["repository"] for r in records],
                         [repo(n) for n in ["docker/disk-usage-extension", "docker/logs-explorer-extension",
                                            "acme/future-extension", "acme/unlabelled", "acme/not-published"]])
        for r in records:
            self.assertEqual(list(r.keys()), RECORD_KEYS)
        by = {r["repository"]: r for r in records}
        self.assertEqual(by[repo("docker/disk-usage-extension")]["latest_compatible"], "0.2.8")
        self.assertEqual(by[repo("acme/future-extension")]["status"], "incompatible")
        self.assertEqual(by[repo("acme/not-published")]["status"], "error")

    def test_one_extension_with_versions(self):
        status, _, body = curl(D.socket, "GET", "/v1/extensions/" + repo("docker/disk-usage-extension"))
        self.assertEqual(status, 200)
        j = json.loads(body)
        self.assertEqual(list(j.keys()), RECORD_KEYS + ["versions"])
        versions = {v["tag"]: v for v in j["versions"]}
        for v in j["versions"]:
            self.assertEqual(list(v.keys()), VERSION_KEYS)
        self.assertFalse(versions["0.3.0"]["compatible"])
        self.assertEqual(versions["0.3.0"]["api_constraint"], ">= 0.4.0")
        self.assertIn(">= 0.4.0", versions["0.3.0"]["reason"])
        self.assertTrue(versions["0.2.8"]["compatible"])
        self.assertIsNone(versions["0.2.8"]["reason"])
        self.assertRegex(versions["0.2.8"]["digest"], r"^sha256:[0-9a-f]{64}$")
        # Percent-encoded slashes name the same repository.
        status, _, body = curl(D.socket, "GET", "/v1/extensions/" + repo("docker/disk-usage-extension").replace("/", "%2F"))
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["repository"], repo("docker/disk-usage-extension"))

    def test_unlisted_extension_is_404(self):
        status, _, body = curl(D.socket, "GET", "/v1/extensions/docker/not-listed")
        self.assertEqual(status, 404)
        self.assertIn("docker/not-listed", json.loads(body)["message"])

    def test_updates(self):
        request(D.socket, "PUT", "/v1/installed/" + repo("docker/disk-usage-extension"), {"version": "0.2.7"})
        scan_and_wait(D.socket)
        status, _, body = curl(D.socket, "GET", "/v1/updates")
        self.assertEqual(status, 200)
        updates = json.loads(body)
        self.assertTrue(all(r["update_available"] for r in updates))
        self.assertIn(repo("docker/disk-usage-extension"), [r["repository"] for r in updates])

    def test_scan_202_and_wait(self):
        status, _, body = curl(D.socket, "POST", "/v1/scan")
        self.assertEqual(status, 202)
        first = json.loads(body)["id"]
        # While it runs, another request joins it; ?wait=1 answers with its summary once it ends.
        status, _, body = curl(D.socket, "POST", "/v1/scan?wait=1")
        self.assertEqual(status, 200)
        summary = json.loads(body)
        self.assertEqual(list(summary.keys())[:7], SUMMARY_KEYS)
        self.assertGreaterEqual(summary["id"], first)
        self.assertIsNotNone(summary["finished_at"])
        self.assertEqual(summary["repositories"], 5)

    def test_scan_joins_a_running_scan(self):
        H.configure(delay_ms=300)
        try:
            a = request(D.socket, "POST", "/v1/scan")
            b = request(D.socket, "POST", "/v1/scan")
            self.assertEqual((a[0], b[0]), (202, 202))
            self.assertEqual(a[2]["id"], b[2]["id"])
            self.assertEqual(request(D.socket, "GET", "/v1/status")[2]["state"], "scanning")
            self.assertEqual(scan_and_wait(D.socket)["id"], a[2]["id"])
        finally:
            H.configure(delay_ms=0)

    def test_installed(self):
        sock = D.socket
        r = repo("docker/logs-explorer-extension")
        self.assertEqual(curl(sock, "PUT", "/v1/installed/" + r, '{"version": "v0.2.1"}')[0], 204)
        status, _, body = curl(sock, "GET", "/v1/installed")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)[r], "v0.2.1")
        self.assertEqual(curl(sock, "DELETE", "/v1/installed/" + r)[0], 204)
        status, _, body = curl(sock, "DELETE", "/v1/installed/" + r)
        self.assertEqual(status, 404)
        self.assertIn("not installed", json.loads(body)["message"])
        self.assertNotIn(r, request(sock, "GET", "/v1/installed")[2])

    def test_put_installed_turns_into_update_on_next_scan(self):
        r = repo("docker/logs-explorer-extension")
        ctl(D.socket, "installed", "set", r, "v0.2.2", check=0)
        scan_and_wait(D.socket)
        self.assertFalse(request(D.socket, "GET", "/v1/extensions/" + r)[2]["update_available"])
        ctl(D.socket, "installed", "set", r, "v0.2.1", check=0)
        scan_and_wait(D.socket)
        rec = request(D.socket, "GET", "/v1/extensions/" + r)[2]
        self.assertEqual((rec["installed"], rec["latest_compatible"], rec["update_available"]),
                         ("v0.2.1", "v0.2.2", True))
        self.assertIn(r, ctl(D.socket, "updates", check=0).stdout)
        ctl(D.socket, "installed", "rm", r, check=0)


class BadRequests(unittest.TestCase):
    def error(self, status, body):
        j = json.loads(body)
        self.assertEqual(list(j.keys()), ["message"])
        self.assertTrue(j["message"])
        return j["message"]

    def test_404_unknown_path(self):
        for url in ["/", "/v2/status", "/v1/status/x", "/v1/extensions/"]:
            status, _, body = curl(D.socket, "GET", url)
            self.assertEqual(status, 404, url)
            self.error(status, body)

    def test_405_with_allow(self):
        for method, url, allow in [("GET", "/v1/scan", "POST"), ("DELETE", "/v1/status", "GET"),
                                   ("POST", "/v1/installed", "GET, PUT"),
                                   ("GET", "/v1/installed/docker/x", "PUT, DELETE")]:
            status, head, body = curl(D.socket, method, url)
            self.assertEqual(status, 405, url)
            self.assertRegex(head, r"(?im)^allow: %s\r?$" % re.escape(allow))
            self.error(status, body)

    def test_400_bad_json_and_version(self):
        url = "/v1/installed/" + repo("docker/disk-usage-extension")
        for body, part in [('{"version": ', "not valid JSON"), ('["1.0.0"]', "JSON object"),
                           ('{"version": "1.2"}', "not a SemVer"), ('{"version": 3}', '"version"')]:
            status, _, text = curl(D.socket, "PUT", url, body)
            self.assertEqual(status, 400, body)
            self.assertIn(part, self.error(status, text))
        status, _, text = curl(D.socket, "PUT", "/v1/installed", '{"a/b": "x"}')
        self.assertEqual(status, 400)
        self.assertIn('a/b: "x" is not a SemVer version', self.error(status, text))

    def test_413_body_too_large_refused_before_read(self):
        # Raw sockets: the daemon answers and closes while the body is still being written, and the answer
        # stays readable on a Unix socket; curl races between its write error and reading that answer.
        def send_big(head, body):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(10)
            s.connect(D.socket)
            try:
                s.sendall(head)
                for part in body:
                    s.sendall(part)
            except (BrokenPipeError, ConnectionResetError):
                pass
            answer = b""
            while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
                chunk = s.recv(4096)
                if not chunk:
                    break
                answer += chunk
            s.close()
            head, _, text = answer.decode().partition("\r\n\r\n")
            return int(head.split()[1]), text

        big = ('{"version": "1.0.0", "pad": "%s"}' % ("x" * (70 * 1024))).encode()
        url = ("/v1/installed/" + repo("acme/unlabelled")).encode()
        status, text = send_big(b"PUT %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                b"Content-Length: %d\r\n\r\n" % (url, len(big)), [big])
        self.assertEqual(status, 413)
        self.error(status, text)
        # Announced but never sent: the answer comes without waiting for the body.
        status, text = send_big(b"PUT /v1/installed/x/y HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                b"Content-Length: 10000000\r\n\r\n", [])
        self.assertEqual(status, 413)
        # A chunked body is counted as it arrives.
        chunks = [b"%x\r\n%s\r\n" % (len(big[i:i + 8192]), big[i:i + 8192]) for i in range(0, len(big), 8192)]
        status, text = send_big(b"PUT /v1/installed/x/y HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                b"Transfer-Encoding: chunked\r\n\r\n", chunks + [b"0\r\n\r\n"])
        self.assertEqual(status, 413)

    def test_415_non_json(self):
        status, _, text = curl(D.socket, "PUT", "/v1/installed/" + repo("acme/unlabelled"), "version=1.0.0",
                               content_type="application/x-www-form-urlencoded")
        self.assertEqual(status, 415)
        self.assertIn("application/json", self.error(status, text))

    def test_garbage_does_not_crash(self):
        payloads = [b"\x00\xff\r\n\r\n", b"GET /v1/status HTTP/9.9\r\n\r\n", b"GET " + b"a" * 100000 + b"\r\n\r\n",
                    b"GET /v1/status HTTP/1.1\r\n" + b"X: y\r\n" * 5000 + b"\r\n",
                    b"PUT /v1/installed/%00/%ff HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
                    b"GET /v1/extensions/..%2F..%2Fetc HTTP/1.1\r\nHost: x\r\n\r\n",
                    b"POST /v1/scan?wait=1&wait=2 HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"]
        for p in payloads:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(10)
            s.connect(D.socket)
            try:
                s.sendall(p)
                s.recv(65536)
            except OSError:
                pass
            s.close()
        self.assertIsNone(D.proc.poll())
        self.assertEqual(request(D.socket, "GET", "/v1/status")[0], 200)


class Events(unittest.TestCase):
    def test_stream_sees_a_scan_start_and_finish(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(60)
        s.connect(D.socket)
        s.sendall(b"GET /v1/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
        f = s.makefile("rb")
        status = f.readline()
        self.assertIn(b" 200 ", status)
        headers = {}
        while True:
            line = f.readline().strip()
            if not line:
                break
            k, _, v = line.decode().partition(":")
            headers[k.lower()] = v.strip()
        self.assertEqual(headers["content-type"], "application/x-ndjson")
        self.assertEqual(headers.get("transfer-encoding"), "chunked")
        summary = scan_and_wait(D.socket)
        events = []
        while not any(e["type"] == "scan_finished" for e in events):
            size = int(f.readline().strip(), 16)
            chunk = f.read(size)
            f.readline()
            for line in chunk.decode().splitlines(keepends=True):
                self.assertTrue(line.endswith("\n"))
                events.append(json.loads(line))
        s.close()
        types = [e["type"] for e in events]
        self.assertLess(types.index("scan_started"), types.index("scan_finished"))
        finished = [e for e in events if e["type"] == "scan_finished"][-1]
        self.assertEqual(finished["scan"]["id"], summary["id"])
        for e in events:
            self.assertRegex(e["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

    def test_extupdatectl_events(self):
        p = subprocess.Popen([CTL, "--socket", D.socket, "events"], stdout=subprocess.PIPE, text=True)
        lines = queue.Queue()
        reader = threading.Thread(target=lambda: [lines.put(line) for line in p.stdout], daemon=True)
        reader.start()
        seen = []
        try:
            # extupdatectl may connect after the first scan started: scan until it saw one whole.
            for _ in range(10):
                scan_and_wait(D.socket)
                time.sleep(0.2)
                while not lines.empty():
                    seen.append(lines.get())
                started = [i for i, line in enumerate(seen) if re.search(r"scan_started\s+scan #\d+", line)]
                if started and any("scan_finished" in line for line in seen[started[0]:]):
                    break
            else:
                self.fail("extupdatectl events never showed a scan start and finish:\n" + "".join(seen))
            self.assertRegex("".join(seen), r"scan_finished\s+scan #\d+: 5 repositories")
        finally:
            p.terminate()
            p.wait()
            p.stdout.close()

    def test_slow_reader_does_not_grow_memory(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(D.socket)
        s.sendall(b"GET /v1/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
        r = repo("docker/logs-explorer-extension")
        before = D.rss_kib()
        # Every round changes a record, so each scan carries extension_changed events with whole records.
        for i in range(150):
            request(D.socket, "PUT", "/v1/installed/" + r, {"version": "v0.2.1" if i % 2 else "v0.2.2"})
            scan_and_wait(D.socket)
        after = D.rss_kib()
        # The queue is bounded (EVENTS_QUEUE), and past it the stream ends with an error event.
        s.settimeout(30)
        data = read_to_eof(s)
        s.close()
        self.assertIn(b'"type":"error"', data)
        self.assertIn(b"fell more than", data)
        # AddressSanitizer's quarantine holds freed memory back by design: there the RSS says nothing.
        if not SANITIZED:
            self.assertLess(after - before, 2048, "RSS grew from %d to %d KiB" % (before, after))
        request(D.socket, "DELETE", "/v1/installed/" + r)


class Access(unittest.TestCase):
    def test_socket_modes(self):
        self.assertEqual(os.stat(D.socket).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(os.path.dirname(D.socket)).st_mode & 0o777, 0o700)

    def test_other_uid_is_refused(self):
        if os.getuid() != 0:
            self.skipTest("needs root to run a client as another uid")
        probe = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "curl", "-sS", "--unix-socket",
                 D.socket, "-o", "-", "-w", "\n%{http_code}", "http://localhost/v1/status"]
        # The file modes keep other users out already...
        r = subprocess.run(probe, capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        # ...and where they do not (a socket made reachable by mistake), SO_PEERCRED does.
        parent = os.path.dirname(D.socket)
        os.chmod(parent, 0o755)
        os.chmod(D.socket, 0o666)
        walk = WORK
        modes = []
        while walk != "/":
            modes.append((walk, os.stat(walk).st_mode & 0o777))
            os.chmod(walk, modes[-1][1] | 0o005)
            walk = os.path.dirname(walk)
        try:
            r = subprocess.run(probe, capture_output=True, text=True)
        finally:
            for path, mode in modes:
                os.chmod(path, mode)
            os.chmod(parent, 0o700)
            os.chmod(D.socket, 0o600)
        body, _, code = r.stdout.rpartition("\n")
        self.assertEqual(code, "403")
        self.assertIn("only the user running extupdated", json.loads(body)["message"])
        self.assertRegex(D.output(), r"refused a request from uid 65534")


class Load(unittest.TestCase):
    def test_1000_concurrent_clients(self):
        n = 1000

        async def one(i):
            start = time.monotonic()
            reader, writer = await asyncio.open_unix_connection(D.socket)
            path = "/v1/extensions" if i % 2 else "/v1/status"
            writer.write(("GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" % path).encode())
            await writer.drain()
            data = await reader.read()
            writer.close()
            return data.split(b" ", 2)[1] == b"200" and data.rstrip().endswith((b"}", b"]")), time.monotonic() - start

        async def burst():
            return await asyncio.gather(*(one(i) for i in range(n)), return_exceptions=True)

        results = asyncio.run(burst())
        failures = [r for r in results if isinstance(r, BaseException) or not r[0]]
        self.assertEqual(failures, [])
        lat = sorted(r[1] for r in results)
        print("\n1000 concurrent clients: p50 %.1f ms, p99 %.1f ms, max %.1f ms" %
              (lat[n // 2] * 1000, lat[int(n * 0.99)] * 1000, lat[-1] * 1000), file=sys.stderr)

    def test_keep_alive(self):
        c = UnixHTTPConnection(D.socket)
        try:
            for _ in range(20):
                c.request("GET", "/v1/status")
                r = c.getresponse()
                r.read()
                self.assertEqual(r.status, 200)
            self.assertIsNotNone(c.sock)
        finally:
            c.close()


class Extupdatectl(unittest.TestCase):
    def test_status(self):
        out = ctl(D.socket, "status", check=0).stdout
        self.assertRegex(out, r"State:\s+(idle|scanning)")
        self.assertRegex(out, r"Last scan:\s+#\d+, finished (just now|\d+ min ago)")
        self.assertRegex(out, r"Extension API:\s+0\.3\.4")
        j = json.loads(ctl(D.socket, "--json", "status", check=0).stdout)
        self.assertEqual(set(STATUS_KEYS) - set(j), set())

    def test_list_and_json(self):
        out = ctl(D.socket, "list", check=0).stdout
        self.assertRegex(out.splitlines()[0], r"^REPOSITORY\s+INSTALLED\s+LATEST\s+COMPATIBLE\s+STATUS\s+CHECKED")
        self.assertIn(repo("acme/future-extension"), out)
        self.assertRegex(out, r"(just now|min ago)")
        self.assertEqual(json.loads(ctl(D.socket, "--json", "list", check=0).stdout),
                         request(D.socket, "GET", "/v1/extensions")[2])

    def test_show_explains_verdicts(self):
        out = ctl(D.socket, "show", repo("docker/disk-usage-extension"), check=0).stdout
        self.assertRegex(out, r"(?m)^0\.3\.0\s+>= 0\.4\.0\s+.*0\.4\.0")
        self.assertRegex(out, r"(?m)^0\.2\.8\s+>= 0\.3\.0\s+compatible$")
        r = ctl(D.socket, "show", "docker/nothing-here", check=1)
        self.assertIn("not in the allow-list", r.stderr)

    def test_scan_wait(self):
        out = ctl(D.socket, "scan", "--wait").stdout
        self.assertRegex(out, r"Scan #\d+ finished: 5 repositories, \d+ updates? available, 1 error")
        self.assertRegex(ctl(D.socket, "scan", check=0).stdout, r"Scan #\d+ started")
        scan_and_wait(D.socket)

    def test_installed_import(self):
        path = os.path.join(WORK, "installed.json")
        with open(path, "w") as f:
            json.dump({repo("acme/unlabelled"): "1.0.0"}, f)
        ctl(D.socket, "installed", "import", path, check=0)
        self.assertEqual(json.loads(ctl(D.socket, "--json", "installed", check=0).stdout),
                         {repo("acme/unlabelled"): "1.0.0"})
        with open(path, "w") as f:
            f.write("[1]")
        self.assertIn("not a JSON object", ctl(D.socket, "installed", "import", path, check=1).stderr)
        r = ctl(D.socket, "installed", "set", repo("acme/unlabelled"), "1.0", check=1)
        self.assertIn("not a SemVer version", r.stderr)
        ctl(D.socket, "installed", "rm", repo("acme/unlabelled"), check=0)

    def test_daemon_not_running(self):
        r = ctl(os.path.join(WORK, "nothing.sock"), "status", check=1)
        self.assertIn("systemctl --user start extupdated.socket", r.stderr)
        self.assertIn("extupdated", r.stderr)

    def test_control_characters_escaped(self):
        r = ctl(D.socket, "show", "docker/\x1b[2Jbad", check=1)
        self.assertNotIn("\x1b", r.stderr)
        self.assertIn("\\x1b", r.stderr)


class Lifecycle(unittest.TestCase):
    def test_live_socket_kept_stale_replaced(self):
        other = Daemon(WORK, EXE, "second", main_config())
        other.socket = D.socket
        other.start(wait=False)
        self.assertEqual(other.proc.wait(30), 1)
        self.assertIn(D.socket, other.output())
        other.stop()
        self.assertEqual(request(D.socket, "GET", "/v1/status")[0], 200)

        third = Daemon(WORK, EXE, "third", main_config())
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        os.makedirs(os.path.dirname(third.socket), mode=0o700, exist_ok=True)
        stale.bind(third.socket)
        stale.close()
        try:
            third.start()
            self.assertEqual(request(third.socket, "GET", "/v1/status")[0], 200)
        finally:
            third.stop()

    def test_socket_passed_by_systemd(self):
        d = Daemon(WORK, EXE, "activated", main_config())
        os.makedirs(os.path.dirname(d.socket), mode=0o700, exist_ok=True)
        d.proc = subprocess.Popen(["systemd-socket-activate", "-l", d.socket, EXE, "--no-dbus", "--config", d.config,
                                   "--state-dir", os.path.join(d.dir, "state"), "--socket",
                                   os.path.join(d.dir, "unused.sock")], stdout=d.log, stderr=subprocess.STDOUT)
        try:
            self.assertTrue(wait_listening(d.socket), d.output())
            # The first connection starts the daemon, which then serves the passed socket (not --socket).
            self.assertEqual(request(d.socket, "GET", "/v1/status", timeout=30)[0], 200, d.output())
            self.assertFalse(os.path.exists(os.path.join(d.dir, "unused.sock")))
        finally:
            d.stop()

    def test_waiting_client_told_when_the_daemon_stops(self):
        # A registry that accepts and never answers keeps the scan, and so `?wait=1`, open.
        stuck = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        stuck.bind(("127.0.0.1", 0))
        stuck.listen(16)
        host = "127.0.0.1:%d" % stuck.getsockname()[1]
        allowlist = os.path.join(WORK, "stuck.txt")
        with open(allowlist, "w") as f:
            f.write(host + "/stuck/one\n")
        config = dict(main_config(), allowlist=[allowlist],
                      registries={host: {"url": "http://" + host, "insecure": True}})
        d = Daemon(WORK, EXE, "stopping", config).start()
        waiter = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            deadline = time.monotonic() + 30
            while request(d.socket, "GET", "/v1/status")[2]["state"] != "scanning" and time.monotonic() < deadline:
                time.sleep(0.05)
            waiter.settimeout(30)
            waiter.connect(d.socket)
            waiter.sendall(b"POST /v1/scan?wait=1 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n")
            # Requests that come later are answered after the waiter's was read (one loop, connections
            # served in order), so once these are, it is parked.
            for _ in range(3):
                self.assertEqual(request(d.socket, "GET", "/v1/status")[0], 200)
            self.assertEqual(d.stop(), 0, d.output())
            answer = read_to_eof(waiter)
        finally:
            d.stop()
            waiter.close()
            stuck.close()
        head, _, body = answer.decode().partition("\r\n\r\n")
        self.assertTrue(head.startswith("HTTP/1.1 503 "), answer)
        self.assertEqual(json.loads(body), {"message": "extupdated is stopping"})


class DockerInventory(unittest.TestCase):
    def test_writes_refused_with_409_naming_the_source(self):
        bin_dir = os.path.join(WORK, "fake-docker")
        os.makedirs(bin_dir, exist_ok=True)
        with open(os.path.join(bin_dir, "docker"), "w") as f:
            f.write("#!/bin/sh\n"
                    "[ \"$1 $2\" = \"extension ls\" ] || exit 1\n"
                    "printf 'ID                              PROVIDER    VERSION   UI          VM  HOST\\n'\n"
                    "printf '%%s  Docker Inc. 0.2.7     1 tab(Disk)  Running(1)  \\n' %s/docker/disk-usage-extension\n"
                    % REG)
        os.chmod(os.path.join(bin_dir, "docker"), 0o755)
        config = main_config()
        config["installed_source"] = "docker"
        d = Daemon(WORK, EXE, "docker", config, env={"PATH": bin_dir + ":" + os.environ["PATH"]}).start()
        try:
            self.assertEqual(request(d.socket, "GET", "/v1/status")[2]["installed_source"], "docker")
            for method, url, body in [("PUT", "/v1/installed/" + repo("acme/unlabelled"), '{"version": "1.0.0"}'),
                                      ("DELETE", "/v1/installed/" + repo("docker/disk-usage-extension"), None),
                                      ("PUT", "/v1/installed", "{}")]:
                status, _, text = curl(d.socket, method, url, body)
                self.assertEqual(status, 409, url)
                self.assertIn("docker extension ls", json.loads(text)["message"])
            r = ctl(d.socket, "installed", "set", repo("acme/unlabelled"), "1.0.0", check=1)
            self.assertIn("installed_source", r.stderr)
        finally:
            d.stop()


if __name__ == "__main__":
    EXE, CTL = sys.argv[1], sys.argv[2]
    with open(EXE, "rb") as f:
        SANITIZED = b"__asan_init" in f.read()
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:], verbosity=2)
