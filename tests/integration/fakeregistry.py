#!/usr/bin/python3
# A registry that misbehaves on purpose, for lib/registry's fault tests.
"""Fake OCI registry with token auth whose repositories each misbehave in one way.

Usage: fakeregistry.py -- CMD ARGS...   start the servers, run CMD with the environment below,
                                       stop; exit with CMD's status.

Servers: "a" on 127.0.0.1 is the registry (token realm http://127.0.0.1:PORT/token); "b" on
127.0.0.2 is another host: a CDN for blob redirects (/cdn/), a CDN that answers 401 naming a realm of
its own (/cdn401/, realm http://127.0.0.2:PORT/token), a foreign target for Link headers, and under
/v2/ a second registry whose 401 names a's realm and service, as registries using Docker Hub's
token service do. Both log every request with its Authorization header: GET /_log (on a) returns
the log as JSON, POST /_reset clears it and every per-repository counter.

"t" on 127.0.0.1 is a registry over HTTPS (every repository has tag 1.0.0; tokens from its own
realm https://127.0.0.1:PORT/token) with a certificate for 127.0.0.1 signed by a CA made with
openssl at start. A client that talks plain
HTTP to it is logged as {"server": "t", "method": "PLAIN"} and hung up on.

Environment for CMD: FAKE_REGISTRY (127.0.0.1:PORT), FAKE_REGISTRY_URL, FAKE_OTHER (127.0.0.2:PORT),
FAKE_OTHER_URL, FAKE_TLS (127.0.0.1:PORT), FAKE_TLS_CA (the PEM file of t's CA),
FAKE_TLS_OTHER_CA (a CA that signed nothing of t's).

Auth: /v2/ answers 401 with a Bearer challenge. A token is "tok." + base64url of the granted
scopes (every scope asked for), "tok-USER." when the token request carried Basic credentials of
USER; /v2/NAME/... needs a token granting repository:NAME:pull, except scope/* which needs
pull,push (its 401 names that scope).

Repositories (tag "1.0.0" unless said otherwise; manifests are Docker v2 images):
  ok/app           correct; its config blob redirects (307) to server b
  redir401/app     its config blob redirects to server b, which answers 401
  bad/manifest     Docker-Content-Digest names other content; by digest: content of another digest
  bad/blob         the config blob's bytes do not match its digest
  link/other       tags: Link to server b          link/scheme     Link to https on the same host
  link/loop        tags: page 2 links to itself    link/many       an endless chain of pages
  link/relative    tags: 3 pages linked relatively, path-absolute and absolutely
  busy/once429     manifest GET: first 429 (Retry-After: 1), then fine
  busy/always429   manifest GET: always 429 (Retry-After: 1)
  flaky/tags500    tags: first 500, then fine
  rate/limited     manifests carry ratelimit-limit 100;w=21600 and ratelimit-remaining 7, 6, …
  nodigest/app     HEAD without Docker-Content-Digest
  schema1/app      a schema 1 manifest
  big/manifest     a manifest over 4 MiB
  scope/app        needs a pull,push token (see Auth)
"""

import base64
import hashlib
import http.server
import json
import os
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import urllib.parse

lock = threading.Lock()
log = []
counters = {}
ports = {}


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def dumps(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


CONFIG = dumps({"architecture": "amd64", "os": "linux",
                "config": {"Labels": {"org.opencontainers.image.title": "Fake",
                                      "org.opencontainers.image.vendor": "Fake Inc.",
                                      "com.docker.desktop.extension.api.version": ">= 0.3.0"}},
                "rootfs": {"type": "layers", "diff_ids": []}})
MANIFEST = dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                  "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                             "digest": sha256(CONFIG), "size": len(CONFIG)},
                  "layers": []})
OTHER = b'{"other": true}'
SCHEMA1 = dumps({"schemaVersion": 1, "name": "schema1/app", "tag": "1.0.0", "architecture": "amd64",
                 "fsLayers": [], "history": []})
BIG = b"{" + b" " * (5 << 20) + b"}"


def bump(key):
    with lock:
        counters[key] = counters.get(key, 0) + 1
        return counters[key]


def basic_user(header):
    if not header or not header.startswith("Basic "):
        return None
    try:
        return base64.b64decode(header[len("Basic "):]).decode().partition(":")[0]
    except ValueError:
        return None


def token_scopes(header):
    if not header or not header.startswith("Bearer tok"):
        return None
    raw = header.partition(".")[2]
    try:
        return json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except ValueError:
        return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    tag = "?"

    def log_message(self, fmt, *args):
        pass

    def reply(self, code, body=b"", headers=(), content_type="application/json"):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, code, err, message, headers=()):
        self.reply(code, dumps({"errors": [{"code": err, "message": message, "detail": None}]}), headers)

    def do_HEAD(self):
        self.handle_any()

    def do_GET(self):
        self.handle_any()

    def do_POST(self):
        if self.path == "/_reset":
            with lock:
                log.clear()
                counters.clear()
            self.reply(200, b"{}")
        else:
            self.reply(404)

    def handle_any(self):
        if self.path == "/_log":
            with lock:
                self.reply(200, json.dumps(log).encode())
            return
        with lock:
            log.append({"server": self.tag, "method": self.command, "path": self.path,
                        "authorization": self.headers.get("Authorization")})
        if self.tag == "t":
            path = self.path.partition("?")[0]
            challenge = [("WWW-Authenticate", 'Bearer realm="https://127.0.0.1:%d/token",service="tls"' % ports["t"])]
            if path == "/token":
                self.reply(200, dumps({"token": "tls-token", "expires_in": 300}))
            elif self.headers.get("Authorization") != "Bearer tls-token":
                self.error(401, "UNAUTHORIZED", "authentication required", challenge)
            elif path.endswith("/tags/list"):
                self.reply(200, dumps({"name": path[len("/v2/"):-len("/tags/list")], "tags": ["1.0.0"]}))
            else:
                self.reply(200, b"{}")
        elif self.tag == "b":
            self.serve_b()
        else:
            self.serve_a()

    def serve_b(self):
        path = self.path.partition("?")[0]
        if path.startswith("/cdn/"):
            self.reply(200, CONFIG, content_type="application/octet-stream")
        elif path.startswith("/cdn401/"):
            value = ('Bearer realm="http://127.0.0.2:%d/token",service="cdn",'
                     'scope="repository:redir401/app:pull,push"' % ports["b"])
            self.error(401, "UNAUTHORIZED", "authentication required", [("WWW-Authenticate", value)])
        elif path == "/token":
            self.reply(200, dumps({"token": "cdn-token", "expires_in": 300}))
        elif path.startswith("/v2/"):
            # A registry of its own whose tokens come from a's realm and service.
            name = path[len("/v2/"):].partition("/tags/list")[0]
            if path == "/v2/" or token_scopes(self.headers.get("Authorization")) is None:
                self.error(401, "UNAUTHORIZED", "authentication required", self.challenge())
            else:
                self.reply(200, dumps({"name": name, "tags": ["1.0.0"]}))
        else:
            self.reply(200, dumps({"name": "x", "tags": ["evil"]}))

    def challenge(self, scope=None):
        value = 'Bearer realm="http://127.0.0.1:%d/token",service="fake"' % ports["a"]
        if scope:
            value += ',scope="%s",error="insufficient_scope"' % scope
        return [("WWW-Authenticate", value)]

    def serve_a(self):
        path, _, query = self.path.partition("?")
        if path == "/token":
            scopes = urllib.parse.parse_qs(query).get("scope", [])
            user = basic_user(self.headers.get("Authorization"))
            tok = ("tok-%s." % user if user else "tok.") + base64.urlsafe_b64encode(json.dumps(scopes).encode()).decode().rstrip("=")
            self.reply(200, dumps({"token": tok, "expires_in": 300}))
            return
        if path == "/v2/":
            self.error(401, "UNAUTHORIZED", "authentication required", self.challenge())
            return
        if not path.startswith("/v2/"):
            self.reply(404)
            return
        rest = path[len("/v2/"):]
        for kind in ("/tags/list", "/manifests/", "/blobs/"):
            if kind in rest:
                name, _, ref = rest.partition(kind)
                break
        else:
            self.reply(404)
            return
        granted = token_scopes(self.headers.get("Authorization")) or []
        needed = "repository:%s:pull,push" % name if name.startswith("scope/") else "repository:%s:pull" % name
        if needed not in granted:
            self.error(401, "UNAUTHORIZED", "authentication required", self.challenge(needed))
            return
        if kind == "/tags/list":
            self.tags(name, query)
        elif kind == "/manifests/":
            self.manifest(name, ref)
        else:
            self.blob(name, ref)

    def tags(self, name, query):
        base = "http://127.0.0.1:%d" % ports["a"]
        page = "last=" in query
        links = {
            "link/other": "<http://127.0.0.2:%d/v2/link/other/tags/list?last=a>; rel=\"next\"" % ports["b"],
            "link/scheme": "<https://127.0.0.1:%d/v2/link/scheme/tags/list?last=a>; rel=\"next\"" % ports["a"],
            "link/loop": "</v2/link/loop/tags/list?last=a&n=1000>; rel=\"next\"",
        }
        if name == "flaky/tags500" and bump(name) == 1:
            self.error(500, "UNKNOWN", "unknown error")
        elif name in links:
            self.reply(200, dumps({"name": name, "tags": ["a" if page else "0.1.0"]}), [("Link", links[name])])
        elif name == "link/many":
            n = bump(name)
            self.reply(200, dumps({"name": name, "tags": ["t%d" % n]}),
                       [("Link", "</v2/link/many/tags/list?last=t%d>; rel=\"next\"" % n)])
        elif name == "link/relative":
            if "last=" not in query:
                self.reply(200, dumps({"name": name, "tags": ["1.0.0"]}),
                           [("Link", '<list?last=1.0.0&n=1000>; rel="next"; type="application/json"')])
            elif "last=1.0.0" in query:
                self.reply(200, dumps({"name": name, "tags": ["2.0.0"]}),
                           [("Link", '<%s/v2/link/relative/tags/list?last=2.0.0>; REL="previous next"' % base)])
            elif "last=2.0.0" in query:
                self.reply(200, dumps({"name": name, "tags": ["3.0.0"]}),
                           [("Link", '</v2/link/relative/tags/list?last=1.0.0>; rel="prev first"')])
        else:
            self.reply(200, dumps({"name": name, "tags": ["1.0.0", "2.0.0"]}))

    def manifest(self, name, ref):
        mt = "application/vnd.docker.distribution.manifest.v2+json"
        body, headers = MANIFEST, []
        if name == "bad/manifest":
            body = OTHER if ref.startswith("sha256:") else MANIFEST
            headers = [("Docker-Content-Digest", sha256(OTHER))]
        elif name == "schema1/app":
            body, mt = SCHEMA1, "application/vnd.docker.distribution.manifest.v1+prettyjws"
        elif name == "big/manifest":
            body = BIG
        elif name == "busy/once429" and self.command == "GET" and bump(name) == 1:
            self.error(429, "TOOMANYREQUESTS", "slow down", [("Retry-After", "1")])
            return
        elif name == "busy/always429" and self.command == "GET":
            bump(name)
            self.error(429, "TOOMANYREQUESTS", "You have reached your pull rate limit.", [("Retry-After", "1")])
            return
        if name == "rate/limited":
            remaining = 7 - (bump(name) - 1) if self.command == "GET" else 7 - counters.get(name, 0)
            headers += [("ratelimit-limit", "100;w=21600"), ("ratelimit-remaining", "%d;w=21600" % remaining)]
        if not headers and name != "nodigest/app":
            headers = [("Docker-Content-Digest", sha256(body))]
        self.reply(200, body, headers, content_type=mt)

    def blob(self, name, ref):
        if name == "redir401/app":
            self.reply(307, b"", [("Location", "http://127.0.0.2:%d/cdn401/%s" % (ports["b"], ref))])
        elif name == "ok/app":
            self.reply(307, b"", [("Location", "http://127.0.0.2:%d/cdn/%s" % (ports["b"], ref))])
        elif name == "bad/blob":
            self.reply(200, CONFIG + b" ", content_type="application/octet-stream")
        elif ref == sha256(CONFIG):
            self.reply(200, CONFIG, content_type="application/octet-stream")
        else:
            self.error(404, "BLOB_UNKNOWN", "blob unknown to registry")


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # Clients hanging up early (a body over their limit) are part of the tests.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class TLSServer(Server):
    """HTTPS, and a log entry for every client that sends plain HTTP instead of a TLS handshake."""
    context = None

    def get_request(self):
        sock, addr = self.socket.accept()
        sock.settimeout(10)
        try:
            first = sock.recv(1, socket.MSG_PEEK)
        except OSError:
            first = b""
        if first != b"\x16":
            with lock:
                log.append({"server": "t", "method": "PLAIN", "path": None, "authorization": None})
            sock.close()
            raise OSError("not a TLS client")
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):
        # Clients refusing our certificate are what the TLS tests are about.
        if not isinstance(sys.exc_info()[1], (ssl.SSLError, OSError)):
            super().handle_error(request, client_address)


def make_certificates(directory):
    """Two CAs, and a certificate for 127.0.0.1 signed by the first; returns (ca, other_ca, cert, key)."""
    def run(*args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True, cwd=directory)
    for ca in ("ca", "other-ca"):
        run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=fake %s" % ca,
            "-keyout", ca + ".key", "-out", ca + ".pem")
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key",
        "-out", "server.csr")
    with open(os.path.join(directory, "ext.cnf"), "w") as f:
        f.write("subjectAltName = IP:127.0.0.1\nbasicConstraints = CA:FALSE\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-extfile", "ext.cnf", "-out", "server.pem")
    return tuple(os.path.join(directory, n) for n in ("ca.pem", "other-ca.pem", "server.pem", "server.key"))


def start(tag, host, server_class=Server):
    handler = type("Handler_" + tag, (Handler,), {"tag": tag})
    srv = server_class((host, 0), handler)
    ports[tag] = srv.server_address[1]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def main():
    if len(sys.argv) < 3 or sys.argv[1] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    start("a", "127.0.0.1")
    start("b", "127.0.0.2")
    with tempfile.TemporaryDirectory(prefix="fakeregistry-") as certs:
        ca, other_ca, cert, key = make_certificates(certs)
        TLSServer.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        TLSServer.context.load_cert_chain(cert, key)
        start("t", "127.0.0.1", TLSServer)
        env = dict(os.environ,
                   FAKE_REGISTRY="127.0.0.1:%d" % ports["a"], FAKE_REGISTRY_URL="http://127.0.0.1:%d" % ports["a"],
                   FAKE_OTHER="127.0.0.2:%d" % ports["b"], FAKE_OTHER_URL="http://127.0.0.2:%d" % ports["b"],
                   FAKE_TLS="127.0.0.1:%d" % ports["t"], FAKE_TLS_CA=ca, FAKE_TLS_OTHER_CA=other_ca)
        return subprocess.call(sys.argv[2:], env=env)


if __name__ == "__main__":
    sys.exit(main())
