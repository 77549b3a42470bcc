# Forwarding front for docker-registry: adds tags-list pagination (absent in distribution 2.8) and Hub-like extras.
"""The address clients use for the test registry.

Every request is forwarded to docker-registry unchanged (same method, URI, headers and body;
auth is the registry's own), so the registry's access log still holds one line per client
request. What the front adds, because distribution 2.8 lacks it or Docker Hub has it:

- tags pagination: `GET /v2/NAME/tags/list?n=N[&last=T]` answers at most N tags (sorted),
  after T, with `Link: </v2/NAME/tags/list?last=X&n=N>; rel="next"` while more remain; with
  `tags_page_cap` set, requests without n (or with a larger one) are capped like Hub does;
- `delay_ms`: latency before each request is forwarded;
- `pull_limit`: Hub's anonymous rate limit: manifest GETs (not HEADs) count as pulls, manifest
  responses carry `ratelimit-limit`/`ratelimit-remaining`, and once none remain a manifest GET
  gets Hub's 429 without reaching the registry (logged with server "front").
"""

import http.client
import http.server
import json
import re
import threading
import time
import urllib.parse

# Expect is answered here (http.server sends 100 Continue) and must not reach the registry again.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "expect"}
TAGS_RE = re.compile(r"^/v2/(.+)/tags/list$")
MANIFEST_RE = re.compile(r"^/v2/(.+)/manifests/[^/]+$")
MAX_BODY = 256 * 1024 * 1024
RATE_WINDOW = 21600
TOO_MANY = {"errors": [{"code": "TOOMANYREQUESTS",
                        "message": "You have reached your pull rate limit. You may increase the limit by "
                                   "authenticating and upgrading: https://www.docker.com/increase-rate-limits"}]}


class FrontSettings:
    KEYS = ("tags_page_cap", "delay_ms", "pull_limit", "pulls_remaining")

    def __init__(self):
        self.lock = threading.Lock()
        self.tags_page_cap = 0
        self.delay_ms = 0
        self.pull_limit = None
        self.pulls_remaining = None

    def configure(self, settings):
        with self.lock:
            for key, value in settings.items():
                if key not in self.KEYS:
                    raise ValueError("unknown setting %r" % key)
                value = None if value is None else int(value)
                if key in ("tags_page_cap", "delay_ms") and (value is None or value < 0):
                    raise ValueError("%s must be a non-negative integer" % key)
                setattr(self, key, value)
            if "pull_limit" in settings and "pulls_remaining" not in settings:
                self.pulls_remaining = self.pull_limit

    def settings(self):
        with self.lock:
            return {k: getattr(self, k) for k in self.KEYS}

    def take_pull(self):
        """For a manifest GET: (allowed, limit, remaining after it)."""
        with self.lock:
            if self.pull_limit is None:
                return True, None, None
            if self.pulls_remaining is None or self.pulls_remaining <= 0:
                return False, self.pull_limit, 0
            self.pulls_remaining -= 1
            return True, self.pull_limit, self.pulls_remaining

    def peek_pulls(self):
        with self.lock:
            return self.pull_limit, self.pulls_remaining


class FrontHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        self._forward()

    do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = do_GET

    def finish(self):
        super().finish()
        conn = getattr(self, "upstream", None)
        if conn is not None:
            conn.close()

    def _upstream(self):
        conn = getattr(self, "upstream", None)
        if conn is None:
            conn = self.upstream = http.client.HTTPConnection("127.0.0.1", self.server.upstream_port, timeout=120)
        return conn

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    raise ValueError("request body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("request body too large")
        return self.rfile.read(length) if length else None

    def _reply(self, status, headers, body):
        self.send_response_only(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _forward(self):
        settings = self.server.settings
        url = urllib.parse.urlsplit(self.path)
        try:
            body = self._read_body()
        except ValueError as e:
            self._reply(413, [("Content-Type", "application/json")], json.dumps({"error": str(e)}).encode())
            self.close_connection = True
            return
        delay = settings.settings()["delay_ms"]
        if delay:
            time.sleep(delay / 1000.0)
        is_manifest = MANIFEST_RE.match(url.path) is not None
        rate_headers = []
        if is_manifest and self.command == "GET":
            allowed, limit, remaining = settings.take_pull()
            if not allowed:
                self.server.on_synthesized(self, 429)
                self._reply(429, [("Content-Type", "application/json"),
                                  ("ratelimit-limit", "%d;w=%d" % (limit, RATE_WINDOW)),
                                  ("ratelimit-remaining", "0;w=%d" % RATE_WINDOW),
                                  ("Retry-After", "60")], json.dumps(TOO_MANY).encode())
                return
        else:
            limit, remaining = settings.peek_pulls() if is_manifest else (None, None)
        if limit is not None:
            rate_headers = [("ratelimit-limit", "%d;w=%d" % (limit, RATE_WINDOW)),
                            ("ratelimit-remaining", "%d;w=%d" % (max(remaining or 0, 0), RATE_WINDOW))]
        # A list, not a dict: clients repeat headers (containers/image sends one Accept per type).
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"content-length"}]
        if body is not None:
            headers.append(("Content-Length", str(len(body))))
        for attempt in range(2):
            conn = self._upstream()
            try:
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for k, v in headers:
                    conn.putheader(k, v)
                conn.endheaders(body)
                resp = conn.getresponse()
                data = resp.read()
                break
            except (http.client.HTTPException, OSError):
                conn.close()
                self.upstream = None
                if attempt:
                    self._reply(502, [("Content-Type", "application/json")], b'{"error":"registry unreachable"}')
                    return
        out_headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP | {"content-length"}]
        m = TAGS_RE.match(url.path)
        status = resp.status
        if m and self.command == "GET" and status == 200:
            status, out_headers, data = self._paginate(m.group(1), url.query, out_headers, data)
        if self.command == "HEAD":
            length = resp.getheader("Content-Length")
            self.send_response_only(resp.status)
            for k, v in out_headers + rate_headers:
                self.send_header(k, v)
            if length is not None:
                self.send_header("Content-Length", length)
            self.end_headers()
            return
        self._reply(status, out_headers + rate_headers, data)

    def _paginate(self, name, query, headers, data):
        params = urllib.parse.parse_qs(query)
        cap = self.server.settings.settings()["tags_page_cap"]
        n_text = (params.get("n") or [None])[0]
        last = (params.get("last") or [None])[0]
        if n_text is None and last is None and not cap:
            return 200, headers, data
        try:
            n = int(n_text) if n_text is not None else None
            if n is not None and n < 0:
                raise ValueError
        except ValueError:
            body = json.dumps({"errors": [{"code": "PAGINATION_NUMBER_INVALID",
                                           "message": "invalid number of results requested",
                                           "detail": {"n": n_text}}]}).encode()
            return 400, [("Content-Type", "application/json")], body
        if cap and (n is None or n > cap):
            n = cap
        doc = json.loads(data)
        tags = sorted(doc.get("tags") or [])
        if last is not None:
            tags = [t for t in tags if t > last]
        link = None
        if n is not None and len(tags) > n:
            tags = tags[:n]
            link = '</v2/%s/tags/list?%s>; rel="next"' % (name, urllib.parse.urlencode([("last", tags[-1]), ("n", n)]))
        doc["tags"] = tags
        headers = [(k, v) for k, v in headers if k.lower() != "link"]
        if link:
            headers.append(("Link", link))
        return 200, headers, json.dumps(doc).encode()


class Front(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, upstream_port, settings, on_synthesized):
        super().__init__(("127.0.0.1", 0), FrontHandler)
        self.upstream_port = upstream_port
        self.settings = settings
        self.on_synthesized = on_synthesized
