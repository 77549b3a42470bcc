#!/usr/bin/python3
"""HTTP server that misbehaves on request, for the http client's integration tests.

Listens on 127.0.0.1 ("a"), on 127.0.0.2 ("b", the other host for redirects), on 127.0.0.1
with TLS ("tls", a self-signed certificate in a temporary directory, its path as "cert"), and on
a port whose accept queue is full ("blackhole", connects hang); "closed" is a port nobody
listens on. When nghttpd (nghttp2-server) is installed, it serves "h2.txt" over HTTP/2 with
the same certificate on port "h2", logging frames to "h2log". Prints one JSON line with these,
then serves until stdin closes or SIGTERM.
Every request except /_control/* is logged with its headers; GET /_control/log returns the
log, /_control/stats the concurrency high-water marks, /_control/reset clears both.

Routes (query parameters in brackets):
  /ok [size, multi]         200 with size bytes; multi=1 adds two Link headers
  /chunked [size]           200, chunked, no Content-Length
  /unframed [size]          200, no Content-Length, body ends at connection close
  /slow [bytes, interval]   Content-Length bytes, one byte every interval seconds
  /stall                    reads the request, never answers
  /hold [ms]                200 after ms milliseconds (tracks requests in flight)
  /status [code, key, times, retry_after, retry_after_date]
                            code for the first `times` requests with this key, then 200
  /redirect [to, code, hop] Location: to (to=self: this same URL); X-Hop: hop

A hostile registry under /v2/ (the OCI distribution API as far as a scan needs it):
  /v2/                      200 {} on "a"; on "b" 401 with a Bearer challenge whose realm is
                            "a"'s /stall, so every repository of "b" waits for a token forever
  /v2/hostile/slow-tags/tags/list      Content-Length 100000, then one byte a second
  /v2/hostile/stall-tags/tags/list     never answers
  /v2/hostile/busy/tags/list           503 with Retry-After: 5, every time
  /v2/hostile/stall-manifest/…         tags ["1.0.0"]; its manifests never answer
  any other /v2/NAME/tags/list         404 NAME_UNKNOWN
"""

import datetime
import email.utils
import http.server
import json
import os
import select
import shutil
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

lock = threading.Lock()
log = []
counters = {}
stats = {}  # per server tag: requests in flight and connections, with high-water marks


def new_stats():
    return {"inflight": 0, "max_inflight": 0, "open_connections": 0, "max_open_connections": 0,
            "connections_opened": 0}


def stat_add(tag, name, delta):
    """Counts for the server tagged tag and for "all" of them together."""
    with lock:
        for t in (tag, "all"):
            s = stats.setdefault(t, new_stats())
            s[name] += delta
            if "max_" + name in s:
                s["max_" + name] = max(s["max_" + name], s[name])


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_name_tag = "?"

    def log_message(self, fmt, *args):
        pass

    def setup(self):
        super().setup()
        stat_add(self.server_name_tag, "open_connections", 1)
        stat_add(self.server_name_tag, "connections_opened", 1)

    def finish(self):
        try:
            super().finish()
        finally:
            stat_add(self.server_name_tag, "open_connections", -1)

    def send_body(self, code, body, headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
        if url.path.startswith("/_control/"):
            return self.control(url.path)
        with lock:
            log.append({"server": self.server_name_tag, "method": self.command, "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()}})
        if url.path.startswith("/v2/"):
            return self.registry(url.path[len("/v2/"):])
        route = getattr(self, "route_" + url.path.strip("/"), None)
        if route is None:
            return self.send_body(404, b"not found\n")
        route(q)

    def control(self, path):
        with lock:
            if path == "/_control/log":
                body = json.dumps(log)
            elif path == "/_control/stats":
                body = json.dumps(stats)
            elif path == "/_control/reset":
                log.clear()
                counters.clear()
                for s in stats.values():
                    s["max_inflight"] = s["inflight"]
                    s["max_open_connections"] = s["open_connections"]
                    s["connections_opened"] = 0
                body = "{}"
            else:
                body = None
        if body is None:
            return self.send_body(404, b"no such control\n")
        self.send_body(200, body.encode(), [("Content-Type", "application/json")])

    def route_ok(self, q):
        headers = []
        if q.get("multi"):
            headers = [("Link", '</a>; rel="next"'), ("Link", '</b>; rel="last"')]
        self.send_body(200, b"x" * int(q.get("size", "2")), headers)

    def route_chunked(self, q):
        size = int(q.get("size", "100"))
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b"y" * 16384
        try:
            while size > 0:
                part = chunk[:size]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                size -= len(part)
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True

    def route_unframed(self, q):
        self.send_response(200)
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            self.wfile.write(b"z" * int(q.get("size", "100")))
        except OSError:
            pass

    def route_slow(self, q):
        n = int(q.get("bytes", "10"))
        interval = float(q.get("interval", "0.5"))
        self.send_response(200)
        self.send_header("Content-Length", str(n))
        self.end_headers()
        try:
            for _ in range(n):
                self.wfile.write(b"s")
                self.wfile.flush()
                time.sleep(interval)
        except OSError:
            self.close_connection = True

    def route_stall(self, q):
        self.stall(30)

    def stall(self, seconds):
        """Waits for the client to give up (EOF) or seconds, whichever comes first."""
        self.close_connection = True
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.connection], [], [], 0.2)
            if r:
                try:
                    if not self.connection.recv(4096):
                        return
                except OSError:
                    return

    def route_hold(self, q):
        stat_add(self.server_name_tag, "inflight", 1)
        try:
            time.sleep(int(q.get("ms", "200")) / 1000)
        finally:
            stat_add(self.server_name_tag, "inflight", -1)
        self.send_body(200, b"held\n")

    def route_status(self, q):
        key = q.get("key", "")
        with lock:
            counters[key] = counters.get(key, 0) + 1
            n = counters[key]
        if n > int(q.get("times", "1")):
            return self.send_body(200, b"finally\n")
        headers = []
        if "retry_after" in q:
            headers.append(("Retry-After", q["retry_after"]))
        if "retry_after_date" in q:
            when = time.time() + float(q["retry_after_date"])
            headers.append(("Retry-After", email.utils.formatdate(when, usegmt=True)))
        self.send_body(int(q.get("code", "500")), b"status\n", headers)

    def route_redirect(self, q):
        to = q.get("to", "/ok")
        self.send_body(int(q.get("code", "302")), b"moved\n",
                       [("Location", self.path if to == "self" else to), ("X-Hop", q.get("hop", "redirect"))])


    def send_json(self, code, doc, headers=()):
        body = json.dumps(doc).encode()
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def registry(self, rest):
        if rest == "":
            if self.server_name_tag == "b":
                realm = "http://127.0.0.1:%d/stall" % ports["a"]
                return self.send_json(401, {"errors": [{"code": "UNAUTHORIZED"}]},
                                      [("WWW-Authenticate", 'Bearer realm="%s",service="hostile"' % realm)])
            return self.send_json(200, {})
        name, _, what = rest.partition("/tags/")
        if what:
            if name == "hostile/slow-tags":
                return self.trickle(b'{"name": "hostile/slow-tags", "tags": ["1.0.0"', 100000, 1.0)
            if name == "hostile/stall-tags":
                return self.stall(120)
            if name == "hostile/busy":
                return self.send_json(503, {"errors": [{"code": "UNAVAILABLE", "message": "busy"}]},
                                      [("Retry-After", "5")])
            if name == "hostile/stall-manifest":
                return self.send_json(200, {"name": name, "tags": ["1.0.0"]})
            return self.send_json(404, {"errors": [{"code": "NAME_UNKNOWN", "message": "unknown"}]})
        if rest.startswith("hostile/stall-manifest/manifests/"):
            return self.stall(120)
        self.send_json(404, {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "unknown"}]})

    def trickle(self, start, length, interval):
        """Announces length bytes and sends start one byte every interval seconds."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(length))
        self.end_headers()
        try:
            for i in range(len(start)):
                self.wfile.write(start[i:i + 1])
                self.wfile.flush()
                time.sleep(interval)
        except OSError:
            pass
        self.close_connection = True


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 512
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # Clients that give up mid-response (caps, timeouts, cancellation) are the point here.
        if not isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError, TimeoutError)):
            super().handle_error(request, client_address)


def serve(address, tag, context=None):
    handler = type("Handler_" + tag, (Handler,), {"server_name_tag": tag})
    srv = Server((address, 0), handler)
    if context:
        srv.socket = context.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv.server_address[1]


def make_tls_context(state_dir):
    """A self-signed certificate for 127.0.0.1; the test passes its path to the client as trust."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        return None, None
    import ipaddress
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path = os.path.join(state_dir, "cert.pem")
    key_path = os.path.join(state_dir, "key.pem")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_path, key_path)
    return ctx, cert_path


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_nghttpd(state_dir):
    """nghttpd speaks nothing but HTTP/2, so any answer from it proves the client negotiated h2."""
    nghttpd = shutil.which("nghttpd") or ("/usr/sbin/nghttpd" if os.path.exists("/usr/sbin/nghttpd") else None)
    if not nghttpd:
        return None, None, None
    docroot = os.path.join(state_dir, "htdocs")
    os.mkdir(docroot)
    with open(os.path.join(docroot, "h2.txt"), "w") as f:
        f.write("hello over h2\n")
    port = free_port()
    log_path = os.path.join(state_dir, "h2.log")
    with open(log_path, "w") as logf:
        proc = subprocess.Popen([nghttpd, "-v", "-d", docroot, "--address=127.0.0.1", str(port),
                                 os.path.join(state_dir, "key.pem"), os.path.join(state_dir, "cert.pem")],
                                stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return port, log_path, proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    proc.wait()
    return None, None, None


def blackhole():
    """A listener that never accepts, its queue filled so further SYNs are dropped and connects hang."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    port = srv.getsockname()[1]
    fillers = []
    for _ in range(4):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        fillers.append(s)
    time.sleep(0.1)
    return port, (srv, fillers)


ports = {}


def main():
    state_dir = tempfile.mkdtemp(prefix="faultserver-")
    ports.update({"a": serve("127.0.0.1", "a"), "b": serve("127.0.0.2", "b")})
    ctx, cert = make_tls_context(state_dir)
    h2 = None
    if ctx:
        ports["tls"] = serve("127.0.0.1", "tls", ctx)
        ports["cert"] = cert
        port, log_path, h2 = start_nghttpd(state_dir)
        if h2:
            ports["h2"] = port
            ports["h2log"] = log_path
    ports["blackhole"], keep = blackhole()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    ports["closed"] = closed.getsockname()[1]
    closed.close()

    print(json.dumps(ports), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        sys.stdin.read()
    finally:
        if h2:
            h2.terminate()
            h2.wait()
        shutil.rmtree(state_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
