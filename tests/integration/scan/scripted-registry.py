#!/usr/bin/python3
# A registry that answers exactly what the test scripted, for the unit test of the scan's walk.
"""Scripted OCI registry (no auth) on 127.0.0.1.

Usage: scripted-registry.py -- CMD ARGS...   serve, run CMD with SCRIPTED_REGISTRY=127.0.0.1:PORT
                                             and SCRIPTED_REGISTRY_URL, stop; exit with CMD's status.

POST /_script  replaces the script (JSON below); POST /_reset clears the request log;
GET /_log      the requests since then, as ["HEAD /v2/a/b/manifests/1.0.0", …].

Script: {"REPOSITORY": {
            "tags": ["1.0.0", …],                  the tags list (one page)
            "tags_status": 200,                    optional: another status for the tags list
            "manifests": {"REFERENCE": ENTRY},     by tag and by digest
            "blobs": {"DIGEST": ENTRY}}}
ENTRY: {"body": TEXT, "media_type": "…", "status": 200, "digest": "sha256:…" (the
Docker-Content-Digest header: default the body's sha256, null for none), "size": N (a body of N
spaces instead of TEXT)}. Anything not scripted answers 404 with the registry's error code.
"""

import hashlib
import http.server
import json
import os
import re
import subprocess
import sys
import threading

lock = threading.Lock()
script = {}
log = []

ERRORS = {401: "UNAUTHORIZED", 404: None, 429: "TOOMANYREQUESTS", 500: "UNKNOWN"}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status, code, message):
        body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
        self.reply(status, body, [("Content-Type", "application/json")])

    def do_POST(self):
        global script
        data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with lock:
            if self.path == "/_script":
                script = json.loads(data)
            elif self.path == "/_reset":
                log.clear()
        self.reply(200, b"{}", [("Content-Type", "application/json")])

    def do_HEAD(self):
        self.serve()

    def do_GET(self):
        if self.path == "/_log":
            with lock:
                body = json.dumps(log).encode()
            self.reply(200, body, [("Content-Type", "application/json")])
            return
        self.serve()

    def entry(self, entry, unknown):
        status = entry.get("status", 200)
        if status != 200:
            self.error(status, ERRORS.get(status) or unknown, "scripted %d" % status)
            return
        body = b" " * entry["size"] if "size" in entry else entry.get("body", "").encode()
        headers = [("Content-Type", entry.get("media_type", "application/octet-stream"))]
        digest = entry.get("digest", "sha256:" + hashlib.sha256(body).hexdigest())
        if digest:
            headers.append(("Docker-Content-Digest", digest))
        self.reply(200, body, headers)

    def serve(self):
        with lock:
            log.append("%s %s" % (self.command, self.path))
            current = script
        if self.path == "/v2/":
            self.reply(200, b"{}", [("Content-Type", "application/json")])
            return
        m = re.match(r"^/v2/(.+)/(tags/list|manifests|blobs)(?:/([^/?]+))?(?:\?.*)?$", self.path)
        repo = current.get(m.group(1)) if m else None
        if repo is None:
            self.error(404, "NAME_UNKNOWN", "repository name not known to registry")
        elif m.group(2) == "tags/list":
            status = repo.get("tags_status", 200)
            if status != 200:
                self.error(status, ERRORS.get(status) or "UNKNOWN", "scripted %d" % status)
                return
            body = json.dumps({"name": m.group(1), "tags": repo.get("tags", [])}).encode()
            self.reply(200, body, [("Content-Type", "application/json")])
        elif m.group(2) == "manifests" and m.group(3) in repo.get("manifests", {}):
            self.entry(repo["manifests"][m.group(3)], "MANIFEST_UNKNOWN")
        elif m.group(2) == "blobs" and m.group(3) in repo.get("blobs", {}):
            self.entry(repo["blobs"][m.group(3)], "BLOB_UNKNOWN")
        else:
            kind = "MANIFEST_UNKNOWN" if m.group(2) == "manifests" else "BLOB_UNKNOWN"
            self.error(404, kind, "scripted: unknown")


def main():
    if "--" not in sys.argv:
        sys.exit("usage: scripted-registry.py -- CMD ARGS...")
    cmd = sys.argv[sys.argv.index("--") + 1:]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = "127.0.0.1:%d" % server.server_address[1]
    env = dict(os.environ, SCRIPTED_REGISTRY=host, SCRIPTED_REGISTRY_URL="http://" + host)
    try:
        status = subprocess.call(cmd, env=env)
    finally:
        server.shutdown()
    sys.exit(status if status >= 0 else 128 - status)


if __name__ == "__main__":
    main()
