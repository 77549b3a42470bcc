#!/usr/bin/python3
# Real-registry test harness: docker-registry with Docker-Hub-style token auth, seeding, request log, control API.
"""extupdated test registry harness
==================================

Starts a real registry (Debian's `docker-registry`, CNCF distribution 2.8.2) on a free loopback
port, with Docker-Hub-style bearer-token auth served by an in-process token issuer, seeds test
images, and records every request each server received — the registry's requests are read from
the registry's OWN access log (combined log format on its stdout), never from a client. (Its
text log at info is incomplete: a 401 is logged as "error authorizing context" with no
http.response.status; the access log has one line with the status for every request.)

Clients talk to a thin in-process front (front.py) that forwards every request unchanged to the
registry (which does all auth and serving) and adds what distribution 2.8 lacks: tags-list
pagination (`?n=`, `&last=`, `Link: <…>; rel="next"`); optionally Hub's page cap, latency and
pull rate limit. One client request = one line in the registry's log.

CLI
---
    harness.py run   [OPTIONS] -- CMD ARGS...   start, seed, run CMD with the env below, stop;
                                                exits with CMD's status (128+N if killed by signal N)
    harness.py serve [OPTIONS]                  start, seed, print the env lines (KEY=VALUE) on
                                                stdout, then "# ready" and serve until SIGINT/SIGTERM
    harness.py generate N,M[,K]                 print the spec --generate would seed (JSON)

    OPTIONS
      --seed FILE         seed spec (JSON, format below) pushed over the registry API; repeatable
      --seed-via storage  write the --seed specs straight into the registry's storage instead
      --generate N,M[,K]  also seed N repositories x M tags (see "Generated repositories"),
                          written straight into the registry's storage (fast)
      --no-auth           registry without auth (the token server still runs for /_harness)
      --user USER:PASS    credentials that get pull/push/delete (default tester:tester-password)
      --deny REPO         nobody (but the harness) gets access to REPO; repeatable
      --private REPO      anonymous clients get no access to REPO, the user does; repeatable
      --expires-in S      token lifetime in seconds (default 300)
      --tags-page-cap N   tags lists answer at most N tags even without ?n= (Hub-like; default off)
      --delay-ms MS       latency added by the front before each request (default 0)
      --pull-limit N      emulate Hub's pull rate limit: N manifest GETs, then 429 (default off)
      --workers N         concurrent pushes while seeding (default 8)
      --env-file FILE     also write the env lines to FILE (atomically, once everything is ready)
      --keep              keep the temporary directory (its path is printed)
      --quiet             no progress lines on stderr
    Stops everything on exit, on failure, on SIGTERM/SIGHUP (forwarded to CMD) and on Ctrl-C
    (the terminal delivers SIGINT to CMD itself; the harness waits for CMD, then cleans up).

Environment exported to CMD (and printed by `serve`)
----------------------------------------------------
    EXTUPDATED_TEST_REGISTRY        host:port as written in image references, e.g. 127.0.0.1:5123
    EXTUPDATED_TEST_REGISTRY_URL    http://127.0.0.1:5123 (the front)
    EXTUPDATED_TEST_REGISTRY_DIRECT_URL  docker-registry itself, without the front's additions
    EXTUPDATED_TEST_TOKEN_URL       the token realm, http://127.0.0.1:5124/token
    EXTUPDATED_TEST_SERVICE         registry.docker.io (the `service` of the challenge and `aud` of tokens)
    EXTUPDATED_TEST_CONTROL_URL     http://127.0.0.1:5124/_harness (endpoints below)
    EXTUPDATED_TEST_ACCESS_LOG      JSON-lines file of every request (entries below), appended as
                                    requests happen; the registry's own log is tailed every 50 ms,
                                    so for exact counts use GET $CONTROL_URL/requests or /counts,
                                    which first wait until the registry log has caught up
    EXTUPDATED_TEST_REGISTRY_LOG    the registry's raw access log (combined log format)
    EXTUPDATED_TEST_AUTH            1 with token auth, 0 with --no-auth
    EXTUPDATED_TEST_USER            the user of --user
    EXTUPDATED_TEST_PASSWORD        its password
    EXTUPDATED_TEST_DOCKER_CONFIG   a directory holding config.json with `auths` for
                                    $EXTUPDATED_TEST_REGISTRY and the user's credentials (use as DOCKER_CONFIG)
    EXTUPDATED_TEST_SEED_RESULT     JSON file: the seed result (below) of everything seeded so far,
                                    rewritten after every change

Seed spec (JSON)
----------------
    {"repositories": {
       "ns/name": {
         "private": false,          optional: anonymous clients get no access (the user does)
         "denied": false,           optional: nobody gets access (Hub's answer for a private repo)
         "tags": {
           "1.0.0": IMAGE,
           "v1.1.0": IMAGE,
           "latest": "1.0.0"        an alias: a tag of this spec, a tag already in the registry,
                                    or a digest; it gets exactly the same manifest (same digest)
         }}}}

    IMAGE (every key optional):
      "labels":       {"k": "v"}   image config labels (config.Labels); null writes "Labels": null;
                                   absent writes no Labels key
      "platforms":    ["linux/amd64", "linux/arm64"]   default; "os/arch[/variant]"
      "media":        "oci" | "docker"   default "oci": OCI index/manifest/config/layer types;
                                   "docker": manifest list / v2 manifest / container config types
      "attestations": false        true: per platform a BuildKit attestation manifest in the index
                                   (platform unknown/unknown, annotations
                                   vnd.docker.reference.type=attestation-manifest and
                                   vnd.docker.reference.digest=<platform manifest digest>)
      "single":       false        true: a single manifest (no index), exactly one platform whose
                                   os/arch/variant go into the config
      "index":        false        true: an index even with one platform and no attestations
      (without single/index: more than one platform or attestations → an index, else single)
      "layers":       1            layers per platform (each a real gzipped tar)
      "layer_size":   64           random payload bytes per layer
      "id":           ""           mixed into the layer bytes to make otherwise equal images differ
      "created":      "2024-01-01T00:00:00Z"
      "config_override": {...}     merged into the top level of each config JSON after building
      "annotations":  {...}        index annotations (single OCI manifests: manifest annotations)
    Images are deterministic: equal IMAGE specs in one repository give equal digests (also across
    runs); tags with equal specs therefore share digests. Layers are shared by all tags of a
    repository (per platform) unless "id" differs; configs differ by labels.
    Over the API, blobs and manifests go up once per repository (POST + PUT uploads, manifest PUTs,
    children before their index); a further tag on a manifest the repository already has (an
    alias, a retag, an equal spec) is written as the registry's tag link files, atomically:
    re-putting the manifest would make distribution rewrite its link in place, which a client
    reading at that moment sees as a missing manifest.

Seed result (returned by seed(), POST /_harness/seed, written to EXTUPDATED_TEST_SEED_RESULT)
    {"ns/name": {"1.0.0": {"digest": "sha256:…", "media_type": "…",
                           "platforms": {"linux/amd64": {"digest": "sha256:…",
                                                         "config_digest": "sha256:…"}},
                           "attestations": ["sha256:…"],        (indexes)
                           "config_digest": "sha256:…"}}}        (single manifests)
    Aliases carry their target's info.

Registry behaviour worth knowing (distribution 2.8.2, observed)
    - tags/list order is not sorted (paged answers from the front are sorted); a repository whose
      tags were all deleted answers {"name": …, "tags": null}; an unknown one 404 NAME_UNKNOWN.
    - A GET of an OCI manifest whose Accept lacks its media type answers 404 MANIFEST_UNKNOWN
      ("OCI manifest found, but accept header does not support OCI manifests").
    - Tags cannot be deleted through the API (DELETE by tag answers 400 DIGEST_INVALID);
      delete_tag edits the storage instead. DELETE by digest removes every tag on the manifest.
    - The registry accepts a token until 60 s after its exp (leeway), so expiry tests should look
      at the token server's log (a new token request), not at registry refusals.
    - A 401 carries error="insufficient_scope" when the token lacks the action.

Generated repositories (--generate N,M[,K], generate_spec())
    N repositories bench/ext-0000 … bench/ext-(N-1), each with M SemVer tags 1.0.0 … 1.(M-1).0
    plus `latest` (alias of the newest). Every version is an OCI index with linux/amd64 and
    linux/arm64 and attestations, carrying the full documented extension label set
    (title "Extension NNNN"); the newest K versions (default 0) require API ">= 0.9.0", the
    others ">= 0.3.3".

Token server (EXTUPDATED_TEST_TOKEN_URL)
    GET /token?service=registry.docker.io&scope=S&scope=S…  (several scopes in one request; a
    scope parameter may also hold several space-separated scopes), optional basic auth.
    POST /token (OAuth2 form: grant_type=password with username/password, or refresh_token;
    scope space-separated; access_type=offline returns a refresh_token).
    Answers {"token", "access_token", "expires_in", "issued_at"} like auth.docker.io. Anonymous:
    pull on every repository except private/denied ones; the user: pull,push,delete except on
    denied ones (and registry:catalog:*); bad credentials: 401. A scope that is not allowed is
    still listed in the token, with no actions, so the registry answers 401 insufficient_scope.
    The registry accepts a token until 60 s after its exp (distribution's leeway).

Control endpoints (EXTUPDATED_TEST_CONTROL_URL = http://HOST:PORT/_harness)
    GET  /_harness/requests[?all=1][&harness=1][&server=registry|token|front]
         JSON array of log entries since the last reset-log (all=1: since start; harness=1: also
         the harness's own seeding requests). Waits for the registry log to catch up first.
    GET  /_harness/counts[?same options]  {"GET tags": 3, "HEAD manifest": 2, "GET token": 1,
         …, "total": 6} — keys "METHOD KIND"
    POST /_harness/reset-log              later requests/counts only see newer entries → {"seq": N}
    POST /_harness/seed[?via=storage]  body: seed spec → seed result (default via the API)
    POST /_harness/retag     {"repository", "tag", "target": tag-or-digest} → {"digest", …}
    POST /_harness/delete    {"repository", "tag"}: removes just that tag;
                             {"repository", "manifest": tag-or-digest}: deletes the manifest and
                             every tag pointing at it → {"digest"} / {}
    GET  /_harness/config    settings; POST a subset to change them:
         token server: {"expires_in": 300, "omit_expires_in": false, "denied": [...],
           "private": [...], "fail_next": 0, "fail_status": 503, "fail_retry_after": null}
           (fail_next=N: the next N token requests answer fail_status, with Retry-After if set)
         front: {"tags_page_cap": 0, "delay_ms": 0, "pull_limit": null, "pulls_remaining": null}
           (pull_limit=N: manifest GETs count down pulls_remaining from N; manifest GET/HEAD
           answers carry ratelimit-limit: N;w=21600 and ratelimit-remaining: R;w=21600; at 0 a
           GET gets Hub's 429 TOOMANYREQUESTS with Retry-After: 60; null turns it off)
    GET  /_harness/env       the environment above as a JSON object
    GET  /_harness/digests   the accumulated seed result
    Errors: 400 {"error": "…"}.

Log entries (JSON lines in EXTUPDATED_TEST_ACCESS_LOG, objects in /requests)
    {"seq": 7, "time": 1700000000.5, "server": "registry", "method": "GET",
     "path": "/v2/ns/name/tags/list?n=100", "status": 200, "kind": "tags",
     "repository": "ns/name", "user_agent": "…", "harness": false}
    {"seq": 8, …, "server": "token", "kind": "token", "path": "/token?…", "status": 200,
     "scopes": ["repository:ns/name:pull"], "account": null,
     "granted": [{"type": "repository", "name": "ns/name", "actions": ["pull"]}], "harness": false}
    kind: base (/v2/), tags, manifest, blob (GET/HEAD of a blob), upload (blob uploads),
    catalog, token, other. server: registry (from its log), token, or front (a 429 the front
    answered itself under pull_limit). "harness" marks the harness's own requests (User-Agent
    extupdated-test-harness/…), which requests()/counts() leave out unless asked.

Python API (sys.path.insert(0, "tests/registry"); import harness)
    with harness.Harness(auth=True, denied=(), private=(), expires_in=300) as h:
        h.registry, h.registry_url, h.token_url, h.control_url, h.env()
        h.seed(spec, via="api"|"storage"); h.generate(n, m, incompatible=0, via="storage")
        h.add_tag(repo, tag, image); h.retag(repo, tag, target)
        h.delete_tag(repo, tag); h.delete_manifest(repo, tag_or_digest)
        h.requests(all=False, include_harness=False, server=None); h.counts(...); h.reset_log()
        h.configure(expires_in=…, denied=[…], pull_limit=…, …)  (keys of /_harness/config)
        h.last_seed_stats → {"repositories", "tags", "seconds", "requests"}
        images.generate_spec(), images.extension_labels(title, version, api) build specs.
    Call start()/the `with` from the main thread: the registry is told to exit when the thread
    that started it dies (PR_SET_PDEATHSIG), so an orphaned registry never lingers.
"""

import argparse
import atexit
import base64
import ctypes
import http.server
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import front as front_mod  # noqa: E402
import images  # noqa: E402
import issuer as issuer_mod  # noqa: E402

REGISTRY_BIN = "/usr/bin/docker-registry"
MAX_BODY = 64 * 1024 * 1024
SYNC_PREFIX = "/_harness/sync/"

# gorilla/handlers combined log format, as docker-registry writes it on stdout.
COMBINED_RE = re.compile(r'^(\S+) \S+ (\S+) \[([^\]]+)\] "(\S+) (\S+) ([^"]*)" (\d{3}) (\S+) '
                         r'"((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"$')
KIND_RES = [
    ("tags", re.compile(r"^/v2/(.+)/tags/list$")),
    ("manifest", re.compile(r"^/v2/(.+)/manifests/[^/]+$")),
    ("upload", re.compile(r"^/v2/(.+)/blobs/uploads(?:/.*)?$")),
    ("blob", re.compile(r"^/v2/(.+)/blobs/[^/]+$")),
]


def classify(path):
    """(kind, repository) of a registry request path (query ignored)."""
    bare = urllib.parse.urlsplit(path).path
    if bare in ("/v2", "/v2/"):
        return "base", None
    if bare == "/v2/_catalog":
        return "catalog", None
    for kind, regex in KIND_RES:
        m = regex.match(bare)
        if m:
            return kind, m.group(1)
    return "other", None


def is_harness_agent(agent):
    return (agent or "").startswith("extupdated-test-harness/")


class RequestLog:
    """Every request of both servers, in arrival order, mirrored to a JSON-lines file."""

    def __init__(self, path):
        self.lock = threading.Lock()
        self.entries = []
        self.cursor = 0
        self.file = open(path, "a", encoding="utf-8", buffering=1)

    def add(self, entry):
        with self.lock:
            entry["seq"] = len(self.entries) + 1
            entry.setdefault("time", round(time.time(), 3))
            self.entries.append(entry)
            self.file.write(json.dumps(entry, sort_keys=True) + "\n")

    def reset(self):
        with self.lock:
            self.cursor = len(self.entries)
            return self.cursor

    def select(self, all=False, include_harness=False, server=None):
        with self.lock:
            chosen = self.entries if all else self.entries[self.cursor:]
            return [dict(e) for e in chosen
                    if (include_harness or not e["harness"]) and (server is None or e["server"] == server)]

    @staticmethod
    def count(entries):
        counts = {}
        for e in entries:
            key = "%s %s" % (e["method"], e["kind"])
            counts[key] = counts.get(key, 0) + 1
        counts["total"] = len(entries)
        return counts

    def close(self):
        with self.lock:
            self.file.close()


class RegistryLogTail:
    """Reads the registry's access log as it grows and turns each line into a log entry."""

    def __init__(self, path, log):
        self.path = path
        self.log = log
        self.lock = threading.Lock()
        self.offset = 0
        self.partial = b""
        self.markers = set()

    def pump(self):
        with self.lock:
            try:
                with open(self.path, "rb") as f:
                    f.seek(self.offset)
                    data = f.read()
            except FileNotFoundError:
                return
            self.offset += len(data)
            data = self.partial + data
            lines = data.split(b"\n")
            self.partial = lines.pop()
            for raw in lines:
                self._line(raw.decode("utf-8", "replace"))

    def _line(self, line):
        m = COMBINED_RE.match(line)
        if not m:
            # Never count silently wrong: say so when the registry writes something unexpected.
            if line.strip():
                print("harness: unparsed registry access log line: %r" % line[:300], file=sys.stderr, flush=True)
            return
        _, _, _, method, uri, _, status, _, _, agent = m.groups()
        agent = agent.replace('\\"', '"').replace("\\\\", "\\")
        if uri.startswith(SYNC_PREFIX):
            self.markers.add(uri[len(SYNC_PREFIX):])
            return
        kind, repository = classify(uri)
        self.log.add({"server": "registry", "method": method, "path": uri, "status": int(status),
                      "kind": kind, "repository": repository, "user_agent": agent,
                      "harness": is_harness_agent(agent)})

    def seen(self, marker):
        with self.lock:
            return marker in self.markers


class HarnessError(Exception):
    pass


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def set_pdeathsig():
    # Runs in the child between fork and exec: die with the harness even if it is SIGKILLed.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class TokenHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "extupdated-test-token/1"

    def log_message(self, fmt, *args):
        pass

    def _send(self, status, body, headers=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(length) if length else b""

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_HEAD(self):
        self._dispatch()

    def _dispatch(self):
        harness = self.server.harness
        url = urllib.parse.urlsplit(self.path)
        try:
            if url.path == "/token":
                self._token(harness, url)
            elif url.path.startswith("/_harness/"):
                status, body = harness.control(self.command, url.path[len("/_harness/"):],
                                               urllib.parse.parse_qs(url.query), self._body())
                self._send(status, body)
            else:
                self._send(404, {"error": "not found"})
        except (ValueError, KeyError, TypeError, images.SeedError, images.RegistryError, HarnessError) as e:
            self._send(400, {"error": "%s: %s" % (type(e).__name__, e)})

    def _token(self, harness, url):
        iss = harness.issuer
        params = urllib.parse.parse_qs(url.query)
        form = {}
        if self.command == "POST":
            form = urllib.parse.parse_qs(self._body().decode("utf-8", "replace"))
        scopes = []
        for s in params.get("scope", []) + form.get("scope", []):
            scopes.extend(s.split())
        entry = {"server": "token", "method": self.command, "path": self.path, "kind": "token",
                 "scopes": scopes, "account": None, "granted": None,
                 "user_agent": self.headers.get("User-Agent", ""),
                 "harness": is_harness_agent(self.headers.get("User-Agent"))}

        def reply(status, body, headers=None):
            entry["status"] = status
            harness.log.add(entry)
            self._send(status, body, headers)

        failure = iss.take_failure()
        if failure:
            status, retry_after = failure
            reply(status, {"details": "injected failure"}, {"Retry-After": retry_after} if retry_after else None)
            return
        service = (params.get("service") or form.get("service") or [None])[0]
        if service is not None and service != iss.service:
            reply(400, {"details": "unknown service %r" % service})
            return
        try:
            account, offline = self._account(iss, form, params)
            for s in scopes:
                issuer_mod.parse_scope(s)
        except PermissionError as e:
            reply(401, {"details": str(e)}, {"WWW-Authenticate": 'Basic realm="extupdated-test"'})
            return
        except ValueError as e:
            reply(400, {"details": str(e)})
            return
        body, access = iss.issue(account, scopes, offline=offline)
        entry["account"] = account
        entry["granted"] = access
        if self.command == "POST":
            body["scope"] = " ".join(scopes)
        reply(200, body)

    def _account(self, iss, form, params):
        if self.command == "POST":
            grant = (form.get("grant_type") or [""])[0]
            offline = (form.get("access_type") or [""])[0] == "offline"
            if grant == "password":
                return iss.authenticate((form.get("username") or [""])[0], (form.get("password") or [""])[0]), offline
            if grant == "refresh_token":
                return iss.account_for_refresh((form.get("refresh_token") or [""])[0]), offline
            raise ValueError("unsupported grant_type %r" % grant)
        offline = (params.get("offline_token") or [""])[0] == "true"
        auth = self.headers.get("Authorization")
        if not auth:
            return None, offline
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "basic":
            raise PermissionError("unsupported authorization scheme")
        try:
            user, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            raise PermissionError("malformed basic credentials")
        return iss.authenticate(user, password), offline


class TokenServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False


class Harness:
    def __init__(self, auth=True, user="tester", password="tester-password", denied=(), private=(),
                 expires_in=issuer_mod.DEFAULT_EXPIRES_IN, workers=8, keep=False, quiet=True,
                 registry_bin=REGISTRY_BIN, access_log=None):
        self.auth = auth
        self.workers = workers
        self.keep = keep
        self.quiet = quiet
        self.registry_bin = registry_bin
        self.issuer = issuer_mod.Issuer(user=user, password=password)
        self.issuer.configure({"expires_in": expires_in, "denied": list(denied), "private": list(private)})
        self.access_log_path = access_log
        self.tmp = None
        self.proc = None
        self.server = None
        self.front = None
        self.front_settings = front_mod.FrontSettings()
        self.threads = []
        self.stopping = threading.Event()
        self.seed_lock = threading.Lock()
        self.digests = {}
        self.pusher = None
        self.log = None
        self.tail = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def say(self, msg):
        if not self.quiet:
            print("harness: " + msg, file=sys.stderr, flush=True)

    # Lifecycle

    def start(self):
        # A test that dies without stop() must not leave the registry or the temp dir behind.
        atexit.register(self.stop)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self):
        if not os.access(self.registry_bin, os.X_OK):
            raise HarnessError("%s not found (apt-get install docker-registry)" % self.registry_bin)
        self.tmp = tempfile.mkdtemp(prefix="extupdated-registry-")
        if self.access_log_path is None:
            self.access_log_path = os.path.join(self.tmp, "requests.jsonl")
        self.log = RequestLog(self.access_log_path)
        self.registry_log_path = os.path.join(self.tmp, "registry-access.log")
        self.registry_app_log_path = os.path.join(self.tmp, "registry.log")
        self.tail = RegistryLogTail(self.registry_log_path, self.log)
        self.cert_path = os.path.join(self.tmp, "issuer.pem")
        with open(self.cert_path, "wb") as f:
            f.write(self.issuer.cert_pem)

        self.server = TokenServer(("127.0.0.1", 0), TokenHandler)
        self.server.harness = self
        self.token_port = self.server.server_address[1]
        self.token_url = "http://127.0.0.1:%d/token" % self.token_port
        self.control_url = "http://127.0.0.1:%d/_harness" % self.token_port
        self._thread(self.server.serve_forever)

        self._start_registry()
        self._thread(self._tail_loop)
        self.front = front_mod.Front(self.registry_port, self.front_settings, self._front_answered)
        self.registry = "127.0.0.1:%d" % self.front.server_address[1]
        self.registry_url = "http://" + self.registry
        self._thread(self.front.serve_forever)
        self.docker_config = os.path.join(self.tmp, "docker-config")
        os.mkdir(self.docker_config)
        with open(os.path.join(self.docker_config, "config.json"), "w") as f:
            auth = base64.b64encode(("%s:%s" % (self.issuer.user, self.issuer.password)).encode()).decode()
            json.dump({"auths": {self.registry: {"auth": auth}}}, f, indent=2)
        self.seed_result_path = os.path.join(self.tmp, "seed-result.json")
        self._write_seed_result()
        self.storage = images.StorageWriter(os.path.join(self.tmp, "storage"))
        self.pusher = images.Pusher("127.0.0.1", self.registry_port, self.storage,
                                    credentials=(self.issuer.admin_user, self.issuer.admin_password))
        self.pusher.discover()
        if self.auth and self.pusher.challenge is None:
            raise HarnessError("the registry did not ask for a token")
        self.say("registry %s (token server %s, dir %s)" % (self.registry_url, self.token_url, self.tmp))

    def _thread(self, target):
        t = threading.Thread(target=target, daemon=True)
        t.start()
        self.threads.append(t)

    def _registry_config(self, port):
        config = {
            "version": "0.1",
            "log": {"level": "info", "formatter": "text", "accesslog": {"disabled": False}},
            "storage": {"filesystem": {"rootdirectory": os.path.join(self.tmp, "storage")},
                        "delete": {"enabled": True},
                        "maintenance": {"uploadpurging": {"enabled": False}}},
            "http": {"addr": "127.0.0.1:%d" % port, "secret": secrets.token_hex(16)},
            "health": {"storagedriver": {"enabled": False}},
        }
        if self.auth:
            config["auth"] = {"token": {"realm": self.token_url, "service": self.issuer.service,
                                        "issuer": self.issuer.issuer, "rootcertbundle": self.cert_path}}
        return config

    def _start_registry(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        last_error = ""
        for _ in range(5):
            port = free_port()
            config_path = os.path.join(self.tmp, "registry.yml")
            with open(config_path, "w") as f:
                # YAML is a superset of JSON.
                json.dump(self._registry_config(port), f, indent=2)
            out = open(self.registry_log_path, "ab")
            err = open(self.registry_app_log_path, "ab")
            self.proc = subprocess.Popen([self.registry_bin, "serve", config_path], stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=err, env=env, start_new_session=True,
                                         preexec_fn=set_pdeathsig)
            out.close()
            err.close()
            self.registry_port = port
            self.registry_direct_url = "http://127.0.0.1:%d" % port
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    req = urllib.request.Request(self.registry_direct_url + "/", headers={"User-Agent": images.USER_AGENT})
                    with urllib.request.urlopen(req, timeout=2) as r:
                        if r.status == 200:
                            return
                except (urllib.error.URLError, OSError):
                    time.sleep(0.05)
            self._kill_registry()
            with open(self.registry_app_log_path, "rb") as f:
                last_error = f.read()[-2000:].decode("utf-8", "replace")
            if "address already in use" not in last_error:
                break
        raise HarnessError("docker-registry did not start:\n" + last_error)

    def _kill_registry(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def _tail_loop(self):
        while not self.stopping.wait(0.05):
            self.tail.pump()

    def stop(self):
        atexit.unregister(self.stop)
        self.stopping.set()
        for srv in (self.front, self.server):
            if srv is not None:
                srv.shutdown()
                srv.server_close()
        self.front = self.server = None
        self._kill_registry()
        for t in self.threads:
            t.join(5)
        self.threads = []
        if self.tail is not None:
            self.tail.pump()
        if self.log is not None:
            self.log.close()
            self.log = None
        if self.tmp is not None:
            if self.keep:
                self.say("kept %s" % self.tmp)
            else:
                shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def env(self):
        return {
            "EXTUPDATED_TEST_REGISTRY": self.registry,
            "EXTUPDATED_TEST_REGISTRY_URL": self.registry_url,
            "EXTUPDATED_TEST_REGISTRY_DIRECT_URL": self.registry_direct_url,
            "EXTUPDATED_TEST_TOKEN_URL": self.token_url,
            "EXTUPDATED_TEST_SERVICE": self.issuer.service,
            "EXTUPDATED_TEST_CONTROL_URL": self.control_url,
            "EXTUPDATED_TEST_ACCESS_LOG": self.access_log_path,
            "EXTUPDATED_TEST_REGISTRY_LOG": self.registry_log_path,
            "EXTUPDATED_TEST_AUTH": "1" if self.auth else "0",
            "EXTUPDATED_TEST_USER": self.issuer.user,
            "EXTUPDATED_TEST_PASSWORD": self.issuer.password,
            "EXTUPDATED_TEST_DOCKER_CONFIG": self.docker_config,
            "EXTUPDATED_TEST_SEED_RESULT": self.seed_result_path,
        }

    # Request log

    def sync(self):
        """Waits until every request answered so far is in the log (the registry logs after answering)."""
        marker = secrets.token_hex(8)
        req = urllib.request.Request(self.registry_direct_url + SYNC_PREFIX + marker,
                                     headers={"User-Agent": images.USER_AGENT})
        try:
            urllib.request.urlopen(req, timeout=5).close()
        except urllib.error.HTTPError:
            pass
        deadline = time.monotonic() + 5
        while not self.tail.seen(marker):
            if time.monotonic() > deadline:
                raise HarnessError("the registry access log did not show the sync request")
            time.sleep(0.005)
            self.tail.pump()
        # Other connections' handlers may finish a moment after the marker's.
        time.sleep(0.02)
        self.tail.pump()

    def requests(self, all=False, include_harness=False, server=None):
        self.sync()
        return self.log.select(all=all, include_harness=include_harness, server=server)

    def counts(self, all=False, include_harness=False, server=None):
        return RequestLog.count(self.requests(all=all, include_harness=include_harness, server=server))

    def reset_log(self):
        self.sync()
        return self.log.reset()

    def configure(self, **settings):
        """Changes token-issuer and front settings (the keys of GET /_harness/config)."""
        front_keys = {k: v for k, v in settings.items() if k in front_mod.FrontSettings.KEYS}
        issuer_keys = {k: v for k, v in settings.items() if k not in front_keys}
        self.issuer.configure(issuer_keys)
        self.front_settings.configure(front_keys)

    def settings(self):
        merged = self.issuer.settings()
        merged.update(self.front_settings.settings())
        return merged

    def _front_answered(self, handler, status):
        path = handler.path
        kind, repository = classify(path)
        agent = handler.headers.get("User-Agent", "")
        self.log.add({"server": "front", "method": handler.command, "path": path, "status": status,
                      "kind": kind, "repository": repository, "user_agent": agent,
                      "harness": is_harness_agent(agent)})

    # Content

    def _write_seed_result(self):
        tmp = self.seed_result_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.digests, f, indent=1, sort_keys=True)
        os.replace(tmp, self.seed_result_path)

    def seed(self, spec, via="api"):
        """Seeds spec over the registry API (via="api") or straight into its storage ("storage")."""
        if via not in ("api", "storage"):
            raise HarnessError("via must be \"api\" or \"storage\"")
        repositories = images.check_spec(spec)
        with self.seed_lock:
            for name, repo in repositories.items():
                self.issuer.restrict(name, private=repo.get("private", False), denied=repo.get("denied", False))
            start = time.monotonic()
            before = self.pusher.requests
            client = self.pusher if via == "api" else self.storage
            result = images.seed_with(client, spec, self.workers)
            elapsed = time.monotonic() - start
            for name, tags in result.items():
                self.digests.setdefault(name, {}).update(tags)
            self._write_seed_result()
        ntags = sum(len(t) for t in result.values())
        self.last_seed_stats = {"repositories": len(result), "tags": ntags, "seconds": round(elapsed, 3),
                                "requests": self.pusher.requests - before}
        self.say("seeded %d repositories, %d tags via %s in %.2f s (%d requests)" %
                 (len(result), ntags, via, elapsed, self.pusher.requests - before))
        return result

    def generate(self, repos, tags, incompatible=0, via="storage"):
        return self.seed(images.generate_spec(repos, tags, incompatible), via=via)

    def add_tag(self, repository, tag, image):
        return self.seed({"repositories": {repository: {"tags": {tag: image}}}})[repository][tag]

    def retag(self, repository, tag, target):
        with self.seed_lock:
            info = self.pusher.retag(repository, tag, target)
            known = next((i for i in self.digests.get(repository, {}).values() if i.get("digest") == info["digest"]), None)
            self.digests.setdefault(repository, {})[tag] = dict(known or info)
            self._write_seed_result()
        return info

    def delete_tag(self, repository, tag):
        """Removes one tag, leaving the manifest and other tags (distribution 2.8 has no API for it:
        its DELETE by tag is unsupported, so the tag's link directory is removed from storage;
        the filesystem driver keeps no tag cache, so the next tags/list no longer shows it)."""
        path = os.path.join(self.tmp, "storage", "docker", "registry", "v2", "repositories",
                            *repository.split("/"), "_manifests", "tags", tag)
        if not os.path.isdir(path):
            raise HarnessError("%s: no tag %r" % (repository, tag))
        with self.seed_lock:
            shutil.rmtree(path)
            self.digests.get(repository, {}).pop(tag, None)
            self._write_seed_result()

    def delete_manifest(self, repository, reference):
        with self.seed_lock:
            digest = self.pusher.delete_manifest(repository, reference)
            tags = self.digests.get(repository, {})
            for tag in [t for t, i in tags.items() if i.get("digest") == digest]:
                del tags[tag]
            self._write_seed_result()
        return digest

    # Control endpoint

    def control(self, method, name, query, body):
        flag = lambda key: (query.get(key) or ["0"])[0] in ("1", "true", "yes")
        server = (query.get("server") or [None])[0]
        if method in ("GET", "HEAD") and name == "requests":
            return 200, self.requests(all=flag("all"), include_harness=flag("harness"), server=server)
        if method in ("GET", "HEAD") and name == "counts":
            return 200, self.counts(all=flag("all"), include_harness=flag("harness"), server=server)
        if method in ("GET", "HEAD") and name == "env":
            return 200, self.env()
        if method in ("GET", "HEAD") and name == "digests":
            with self.seed_lock:
                return 200, self.digests
        if name == "config":
            if method == "POST":
                self.configure(**json.loads(body or b"{}"))
            return 200, self.settings()
        if method != "POST":
            return 404, {"error": "no such endpoint: %s /_harness/%s" % (method, name)}
        if name == "reset-log":
            return 200, {"seq": self.reset_log()}
        doc = json.loads(body or b"{}")
        if name == "seed":
            return 200, self.seed(doc, via=(query.get("via") or ["api"])[0])
        if name == "retag":
            return 200, self.retag(doc["repository"], doc["tag"], doc["target"])
        if name == "delete":
            if "manifest" in doc:
                return 200, {"digest": self.delete_manifest(doc["repository"], doc["manifest"])}
            self.delete_tag(doc["repository"], doc["tag"])
            return 200, {}
        return 404, {"error": "no such endpoint: POST /_harness/%s" % name}


# CLI

def parse_generate(text):
    parts = text.split(",")
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        raise argparse.ArgumentTypeError("want N,M[,K], e.g. 500,10")
    return tuple(int(p) for p in parts)


def parse_user(text):
    user, sep, password = text.partition(":")
    if not sep or not user:
        raise argparse.ArgumentTypeError("want USER:PASSWORD")
    return user, password


def make_parser():
    parser = argparse.ArgumentParser(description="extupdated test registry harness (docs: the top of this file)")
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--seed", action="append", default=[], metavar="FILE")
    common.add_argument("--seed-via", choices=("api", "storage"), default="api")
    common.add_argument("--generate", type=parse_generate, metavar="N,M[,K]")
    common.add_argument("--no-auth", action="store_true")
    common.add_argument("--user", type=parse_user, default=("tester", "tester-password"), metavar="USER:PASS")
    common.add_argument("--deny", action="append", default=[], metavar="REPO")
    common.add_argument("--private", action="append", default=[], metavar="REPO")
    common.add_argument("--expires-in", type=int, default=issuer_mod.DEFAULT_EXPIRES_IN, metavar="S")
    common.add_argument("--tags-page-cap", type=int, default=0, metavar="N")
    common.add_argument("--delay-ms", type=int, default=0, metavar="MS")
    common.add_argument("--pull-limit", type=int, metavar="N")
    common.add_argument("--workers", type=int, default=8)
    common.add_argument("--env-file", metavar="FILE")
    common.add_argument("--keep", action="store_true")
    common.add_argument("--quiet", action="store_true")
    run = sub.add_parser("run", parents=[common], help="run a command against a seeded registry")
    run.add_argument("cmd", nargs=argparse.REMAINDER)
    sub.add_parser("serve", parents=[common], help="serve until killed, printing the env lines")
    gen = sub.add_parser("generate", help="print a generated seed spec")
    gen.add_argument("size", type=parse_generate, metavar="N,M[,K]")
    return parser


def env_lines(env):
    return "".join("%s=%s\n" % (k, v) for k, v in env.items())


def setup(args):
    h = Harness(auth=not args.no_auth, user=args.user[0], password=args.user[1], denied=args.deny,
                private=args.private, expires_in=args.expires_in, workers=args.workers, keep=args.keep,
                quiet=args.quiet)
    h.start()
    try:
        h.configure(tags_page_cap=args.tags_page_cap, delay_ms=args.delay_ms)
        for path in args.seed:
            with open(path, encoding="utf-8") as f:
                h.seed(json.load(f), via=args.seed_via)
        if args.generate:
            h.generate(*args.generate)
        if args.pull_limit is not None:
            h.configure(pull_limit=args.pull_limit)
        if args.env_file:
            tmp = args.env_file + ".tmp"
            with open(tmp, "w") as f:
                f.write(env_lines(h.env()))
            os.replace(tmp, args.env_file)
    except BaseException:
        h.stop()
        raise
    return h


class Terminated(Exception):
    pass


def main(argv=None):
    args = make_parser().parse_args(argv)
    if args.command == "generate":
        json.dump(images.generate_spec(args.size[0], args.size[1], args.size[2] if len(args.size) > 2 else 0),
                  sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    cmd = getattr(args, "cmd", None)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if args.command == "run" and not cmd:
        print("harness.py run: no command given (harness.py run [OPTIONS] -- CMD ARGS...)", file=sys.stderr)
        return 1

    child = None
    stop_signal = []

    def on_signal(signum, frame):
        stop_signal.append(signum)
        if child is not None and child.poll() is None:
            if signum != signal.SIGINT:
                child.send_signal(signum)
        elif args.command == "serve" or child is None:
            raise Terminated()

    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(s, on_signal)
    h = None
    try:
        try:
            h = setup(args)
        except (HarnessError, images.SeedError, images.RegistryError, OSError, ValueError) as e:
            print("harness: %s" % e, file=sys.stderr)
            return 1
        if args.command == "serve":
            sys.stdout.write(env_lines(h.env()) + "# ready\n")
            sys.stdout.flush()
            while True:
                signal.pause()
        env = dict(os.environ)
        env.update(h.env())
        try:
            child = subprocess.Popen(cmd, env=env)
        except OSError as e:
            print("harness: cannot run %s: %s" % (cmd[0], e), file=sys.stderr)
            return 127
        while True:
            try:
                rc = child.wait()
                break
            except Terminated:
                continue
        return rc if rc >= 0 else 128 - rc
    except Terminated:
        return 128 + stop_signal[0] if stop_signal and args.command == "run" else 0
    finally:
        if h is not None:
            h.stop()


if __name__ == "__main__":
    sys.exit(main())
