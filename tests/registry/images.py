# Builds test images (configs, layers, manifests, indexes) from a seed spec and pushes them over the registry HTTP API.
"""Seed spec → registry content.

Images are deterministic: the same IMAGE spec in the same repository always yields the same
digests (layer bytes come from a PRNG seeded with repository, platform, layer number and the
optional "id"), so tags given equal specs share digests, and digests are stable between runs.
The spec format is documented in harness.py.
"""

import base64
import concurrent.futures
import copy
import functools
import gzip
import hashlib
import http.client
import io
import json
import os
import random
import re
import tarfile
import threading
import urllib.parse

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
IN_TOTO = "application/vnd.in-toto+json"
ACCEPT_ALL = ", ".join([OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST])
USER_AGENT = "extupdated-test-harness/1"

IMAGE_KEYS = {"labels", "platforms", "media", "attestations", "single", "index", "layers",
              "layer_size", "id", "created", "config_override", "annotations"}
REPO_KEYS = {"tags", "private", "denied"}
DEFAULT_PLATFORMS = ["linux/amd64", "linux/arm64"]
DEFAULT_CREATED = "2024-01-01T00:00:00Z"
REPO_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


class SeedError(Exception):
    pass


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def dumps(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def parse_platform(text):
    parts = text.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise SeedError("invalid platform %r (want os/arch[/variant])" % text)
    platform = {"architecture": parts[1], "os": parts[0]}
    if len(parts) == 3:
        platform["variant"] = parts[2]
    return platform


class Blob:
    __slots__ = ("digest", "data", "media_type")

    def __init__(self, data, media_type):
        self.data = data
        self.digest = sha256(data)
        self.media_type = media_type

    def descriptor(self, **extra):
        d = {"mediaType": self.media_type, "digest": self.digest, "size": len(self.data)}
        d.update(extra)
        return d


class Image:
    """A built image: blobs to upload, child manifests to put by digest, and the top manifest."""

    def __init__(self):
        self.blobs = []
        self.children = []
        self.top = None
        self.info = {}


@functools.lru_cache(maxsize=4096)
def make_layer(seed, size):
    """(tar bytes, gzipped bytes) of a one-file layer; cached because every tag of a repository reuses it."""
    rng = random.Random(seed)
    payload = rng.randbytes(size)
    tar_buf = io.BytesIO()
    with tarfile.open(fileobj=tar_buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        member = tarfile.TarInfo("layer.bin")
        member.size = len(payload)
        member.mtime = 0
        member.mode = 0o644
        tar.addfile(member, io.BytesIO(payload))
    tar_bytes = tar_buf.getvalue()
    return tar_bytes, gzip.compress(tar_bytes, mtime=0)


def check_image(where, spec):
    if not isinstance(spec, dict):
        raise SeedError("%s: an image must be an object or an alias string" % where)
    unknown = set(spec) - IMAGE_KEYS
    if unknown:
        raise SeedError("%s: unknown image keys %s" % (where, sorted(unknown)))
    if spec.get("media", "oci") not in ("oci", "docker"):
        raise SeedError("%s: media must be \"oci\" or \"docker\"" % where)
    platforms = spec.get("platforms", DEFAULT_PLATFORMS)
    if not isinstance(platforms, list) or not platforms:
        raise SeedError("%s: platforms must be a non-empty list" % where)
    for p in platforms:
        parse_platform(p)
    if spec.get("single") and (len(platforms) != 1 or spec.get("attestations") or spec.get("index")):
        raise SeedError("%s: \"single\" needs exactly one platform and no attestations/index" % where)
    labels = spec.get("labels", {})
    if labels is not None and (not isinstance(labels, dict) or
                               not all(isinstance(v, str) for v in labels.values())):
        raise SeedError("%s: labels must be an object of strings (or null)" % where)


def build_image(repository, spec):
    media = spec.get("media", "oci")
    platforms = spec.get("platforms", DEFAULT_PLATFORMS)
    want_index = not spec.get("single") and (len(platforms) > 1 or spec.get("attestations") or spec.get("index"))
    manifest_type = OCI_MANIFEST if media == "oci" else DOCKER_MANIFEST
    config_type = OCI_CONFIG if media == "oci" else DOCKER_CONFIG
    layer_type = OCI_LAYER if media == "oci" else DOCKER_LAYER
    index_type = OCI_INDEX if media == "oci" else DOCKER_LIST
    created = spec.get("created", DEFAULT_CREATED)
    nlayers = int(spec.get("layers", 1))
    layer_size = int(spec.get("layer_size", 64))
    image = Image()
    entries = []
    attestations = []
    per_platform = {}
    for text in platforms:
        platform = parse_platform(text)
        layers = []
        diff_ids = []
        for n in range(nlayers):
            tar_bytes, gz = make_layer("%s|%s|%d|%s" % (repository, text, n, spec.get("id", "")), layer_size)
            layers.append(Blob(gz, layer_type))
            diff_ids.append(sha256(tar_bytes))
        config = {"architecture": platform["architecture"], "os": platform["os"]}
        if "variant" in platform:
            config["variant"] = platform["variant"]
        config["created"] = created
        inner = {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}
        if "labels" in spec:
            inner["Labels"] = spec["labels"]
        config["config"] = inner
        config["rootfs"] = {"type": "layers", "diff_ids": diff_ids}
        config["history"] = [{"created": created, "created_by": "extupdated test harness layer %d" % n}
                             for n in range(nlayers)]
        config.update(copy.deepcopy(spec.get("config_override", {})))
        config_blob = Blob(dumps(config), config_type)
        manifest = {"schemaVersion": 2, "mediaType": manifest_type,
                    "config": config_blob.descriptor(),
                    "layers": [layer.descriptor() for layer in layers]}
        if not want_index and spec.get("annotations") and media == "oci":
            manifest["annotations"] = spec["annotations"]
        manifest_blob = Blob(dumps(manifest), manifest_type)
        image.blobs.extend(layers)
        image.blobs.append(config_blob)
        per_platform[text] = {"digest": manifest_blob.digest, "config_digest": config_blob.digest}
        if not want_index:
            image.top = manifest_blob
            image.info = {"digest": manifest_blob.digest, "media_type": manifest_type,
                          "config_digest": config_blob.digest, "platforms": per_platform}
            return image
        image.children.append(manifest_blob)
        entries.append(manifest_blob.descriptor(platform=platform))
        if spec.get("attestations"):
            attestations.append(build_attestation(repository, text, manifest_blob, image))
    index = {"schemaVersion": 2, "mediaType": index_type, "manifests": entries + attestations}
    if spec.get("annotations"):
        index["annotations"] = spec["annotations"]
    image.top = Blob(dumps(index), index_type)
    image.info = {"digest": image.top.digest, "media_type": index_type, "platforms": per_platform,
                  "attestations": [a["digest"] for a in attestations]}
    return image


def build_attestation(repository, platform_text, subject, image):
    """A BuildKit-style attestation manifest for one platform manifest, and its index entry."""
    statement = {"_type": "https://in-toto.io/Statement/v0.1",
                 "predicateType": "https://slsa.dev/provenance/v0.2",
                 "subject": [{"name": "pkg:docker/%s?platform=%s" % (repository, urllib.parse.quote(platform_text, safe="")),
                              "digest": {"sha256": subject.digest.split(":", 1)[1]}}],
                 "predicate": {"builder": {"id": ""}, "buildType": "https://mobyproject.org/buildkit@v1"}}
    layer = Blob(dumps(statement), IN_TOTO)
    config = Blob(dumps({"architecture": "unknown", "os": "unknown", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [layer.digest]}}), OCI_CONFIG)
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config.descriptor(),
                "layers": [layer.descriptor(annotations={"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"})]}
    blob = Blob(dumps(manifest), OCI_MANIFEST)
    image.blobs.extend([layer, config])
    image.children.append(blob)
    return blob.descriptor(annotations={"vnd.docker.reference.digest": subject.digest,
                                        "vnd.docker.reference.type": "attestation-manifest"},
                           platform={"architecture": "unknown", "os": "unknown"})


def check_spec(spec):
    """Validates a seed spec; returns its repositories mapping."""
    if not isinstance(spec, dict) or not isinstance(spec.get("repositories"), dict):
        raise SeedError("a seed spec is an object with a \"repositories\" object")
    unknown = set(spec) - {"repositories"}
    if unknown:
        raise SeedError("unknown seed keys %s" % sorted(unknown))
    for name, repo in spec["repositories"].items():
        if not REPO_RE.match(name):
            raise SeedError("invalid repository name %r" % name)
        if not isinstance(repo, dict) or set(repo) - REPO_KEYS:
            raise SeedError("%s: a repository is an object with keys %s" % (name, sorted(REPO_KEYS)))
        tags = repo.get("tags", {})
        if not isinstance(tags, dict):
            raise SeedError("%s: tags must be an object" % name)
        for tag, image in tags.items():
            if not TAG_RE.match(tag):
                raise SeedError("%s: invalid tag %r" % (name, tag))
            where = "%s:%s" % (name, tag)
            if isinstance(image, str):
                # An alias may also name a tag pushed earlier, or a digest: the registry resolves it.
                seen = {tag}
                target = image
                while isinstance(tags.get(target), str):
                    if target in seen:
                        raise SeedError("%s: alias loop" % where)
                    seen.add(target)
                    target = tags[target]
            else:
                check_image(where, image)
    return spec["repositories"]


def www_authenticate_params(header):
    return dict(re.findall(r'(\w+)="([^"]*)"', header or ""))


class RegistryError(Exception):
    pass


class InFlight:
    """Runs each keyed action at most once at a time: a second caller waits for the first, then
    re-checks. distribution's filesystem driver rewrites link files in place (truncate, write), so
    uploading or putting the same blob/manifest twice at once lets a concurrent reader — an index
    PUT verifying its children, or the scanner under test — see an empty link."""

    def __init__(self):
        self.lock = threading.Lock()
        self.running = {}

    def run(self, key, done, action):
        """Calls action() unless done() is true; returns whether it ran here."""
        while True:
            with self.lock:
                event = self.running.get(key)
                if event is None:
                    if done():
                        return False
                    event = self.running[key] = threading.Event()
                    break
            event.wait()
        try:
            action()
        finally:
            with self.lock:
                del self.running[key]
            event.set()
        return True


class StorageWriter:
    """Reads and writes the registry's filesystem storage, in distribution 2.8's layout
    (registry/storage/paths.go): blobs/sha256/XX/HEX/data for every blob and manifest,
    repositories/NAME/_layers/sha256/HEX/link for configs and layers,
    _manifests/revisions/sha256/HEX/link for manifests, and _manifests/tags/TAG/{current,index/sha256/HEX}/link.
    The filesystem driver caches nothing, so a running registry serves the result at once; it is
    byte-for-byte what pushing over the API produces, only without ~3 ms of registry CPU per
    request. Every file is written to a temporary name and renamed, so readers never see it half done."""

    def __init__(self, root):
        self.root = os.path.join(root, "docker", "registry", "v2")
        self.inflight = InFlight()

    @staticmethod
    def _write(path, data):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = "%s.%d.%d.tmp" % (path, os.getpid(), threading.get_ident())
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)

    @staticmethod
    def _hex(digest):
        algo, _, hexpart = digest.partition(":")
        if algo != "sha256" or not re.fullmatch(r"[0-9a-f]{64}", hexpart):
            raise SeedError("unsupported digest %r" % digest)
        return hexpart

    def _repo(self, repository):
        return os.path.join(self.root, "repositories", *repository.split("/"))

    def _data_path(self, digest):
        hexpart = self._hex(digest)
        return os.path.join(self.root, "blobs", "sha256", hexpart[:2], hexpart, "data")

    def _link_path(self, repository, link_dir, digest):
        return os.path.join(self._repo(repository), link_dir, "sha256", self._hex(digest), "link")

    def has_layer(self, repository, digest):
        return os.path.exists(self._link_path(repository, "_layers", digest))

    def has_manifest(self, repository, digest):
        return os.path.exists(self._link_path(repository, os.path.join("_manifests", "revisions"), digest))

    def blob(self, repository, blob, link_dir):
        link = self._link_path(repository, link_dir, blob.digest)

        def write():
            data_path = self._data_path(blob.digest)
            if not os.path.exists(data_path):
                self._write(data_path, blob.data)
            self._write(link, blob.digest.encode())
        self.inflight.run((repository, blob.digest), lambda: os.path.exists(link), write)

    def tag(self, repository, tag, digest):
        hexpart = self._hex(digest)
        tag_dir = os.path.join(self._repo(repository), "_manifests", "tags", tag)
        self._write(os.path.join(tag_dir, "index", "sha256", hexpart, "link"), digest.encode())
        self._write(os.path.join(tag_dir, "current", "link"), digest.encode())

    def current(self, repository, tag):
        path = os.path.join(self._repo(repository), "_manifests", "tags", tag, "current", "link")
        try:
            with open(path, "rb") as f:
                return f.read().decode()
        except FileNotFoundError:
            raise SeedError("%s: no tag %r" % (repository, tag))

    def manifest_info(self, digest):
        with open(self._data_path(digest), "rb") as f:
            return {"digest": digest, "media_type": json.loads(f.read()).get("mediaType")}

    def push_image(self, repository, tag, image):
        for blob in image.blobs:
            self.blob(repository, blob, "_layers")
        for child in image.children:
            self.blob(repository, child, os.path.join("_manifests", "revisions"))
        self.blob(repository, image.top, os.path.join("_manifests", "revisions"))
        self.tag(repository, tag, image.top.digest)

    def retag(self, repository, tag, target):
        digest = target if target.startswith("sha256:") else self.current(repository, target)
        if not self.has_manifest(repository, digest):
            raise SeedError("%s: no manifest %s" % (repository, digest))
        self.tag(repository, tag, digest)
        return self.manifest_info(digest)


class Pusher:
    """A small registry client used for seeding: token auth like a client, one connection per
    thread. Content already linked in the repository (checked in storage) is never sent again,
    and a tag for a manifest the repository already has is written into storage atomically
    instead of re-putting the manifest (see InFlight for why)."""

    def __init__(self, host, port, storage, credentials=None):
        self.host = host
        self.port = port
        self.storage = storage
        self.credentials = credentials
        self.local = threading.local()
        self.lock = threading.Lock()
        self.tokens = {}
        self.repo_locks = {}
        self.challenge = None
        self.requests = 0

    def _conn(self, host=None, port=None):
        key = (host or self.host, port or self.port)
        conns = getattr(self.local, "conns", None)
        if conns is None:
            conns = self.local.conns = {}
        conn = conns.get(key)
        if conn is None:
            conn = conns[key] = http.client.HTTPConnection(key[0], key[1], timeout=60)
        return conn

    def _raw(self, method, path, body=None, headers=None, host=None, port=None):
        headers = dict(headers or {})
        headers["User-Agent"] = USER_AGENT
        for attempt in range(2):
            conn = self._conn(host, port)
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                with self.lock:
                    self.requests += 1
                return resp, data
            except (http.client.HTTPException, OSError):
                conn.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _token(self, repository, refresh=False):
        with self.lock:
            lock = self.repo_locks.setdefault(repository, threading.Lock())
        with lock:
            if not refresh and repository in self.tokens:
                return self.tokens[repository]
            if self.challenge is None:
                return None
            realm = urllib.parse.urlsplit(self.challenge["realm"])
            query = urllib.parse.urlencode([("service", self.challenge.get("service", "")),
                                            ("scope", "repository:%s:pull,push,delete" % repository)])
            headers = {}
            if self.credentials:
                headers["Authorization"] = "Basic " + base64.b64encode(
                    ("%s:%s" % self.credentials).encode()).decode()
            resp, data = self._raw("GET", realm.path + "?" + query, headers=headers,
                                   host=realm.hostname, port=realm.port)
            if resp.status != 200:
                raise RegistryError("token for %s: HTTP %d %s" % (repository, resp.status, data[:200]))
            token = json.loads(data)["token"]
            self.tokens[repository] = token
            return token

    def discover(self):
        """GET /v2/ to learn the token realm (None when the registry needs no auth)."""
        resp, _ = self._raw("GET", "/v2/")
        if resp.status == 401:
            self.challenge = www_authenticate_params(resp.getheader("WWW-Authenticate"))
        elif resp.status != 200:
            raise RegistryError("GET /v2/: HTTP %d" % resp.status)

    def request(self, method, repository, path, body=None, headers=None, ok=(200, 201, 202)):
        headers = dict(headers or {})
        for attempt in range(2):
            token = self._token(repository, refresh=attempt > 0)
            if token:
                headers["Authorization"] = "Bearer " + token
            resp, data = self._raw(method, path, body, headers)
            if resp.status == 401 and attempt == 0 and self.challenge is not None:
                continue
            if resp.status not in ok:
                raise RegistryError("%s %s: HTTP %d %s" % (method, path, resp.status, data[:300].decode("utf-8", "replace")))
            return resp, data
        raise AssertionError("unreachable")

    def upload_blob(self, repository, blob):
        """Monolithic upload (POST, then PUT with the digest) unless the repository has the blob."""
        def upload():
            resp, _ = self.request("POST", repository, "/v2/%s/blobs/uploads/" % repository, ok=(202,))
            location = urllib.parse.urlsplit(resp.getheader("Location"))
            query = urllib.parse.parse_qsl(location.query) + [("digest", blob.digest)]
            self.request("PUT", repository, location.path + "?" + urllib.parse.urlencode(query), body=blob.data,
                         headers={"Content-Type": "application/octet-stream"}, ok=(201,))
        self.storage.inflight.run((repository, blob.digest),
                                  lambda: self.storage.has_layer(repository, blob.digest), upload)

    def put_manifest(self, repository, reference, media_type, data):
        """A plain manifest PUT (by tag or digest); returns the registry's digest."""
        resp, _ = self.request("PUT", repository, "/v2/%s/manifests/%s" % (repository, reference), body=data,
                               headers={"Content-Type": media_type}, ok=(201,))
        digest = resp.getheader("Docker-Content-Digest")
        if digest and digest != sha256(data):
            raise RegistryError("%s:%s: registry computed %s, expected %s" % (repository, reference, digest, sha256(data)))
        return digest

    def get_manifest(self, repository, reference):
        resp, data = self.request("GET", repository, "/v2/%s/manifests/%s" % (repository, reference),
                                  headers={"Accept": ACCEPT_ALL}, ok=(200,))
        return resp.getheader("Content-Type"), data

    def push_manifest(self, repository, tag, blob):
        """Puts blob under tag (or only by digest when tag is None), once per repository."""
        ran = self.storage.inflight.run(
            (repository, blob.digest), lambda: self.storage.has_manifest(repository, blob.digest),
            lambda: self.put_manifest(repository, tag or blob.digest, blob.media_type, blob.data))
        if not ran and tag is not None:
            self.storage.tag(repository, tag, blob.digest)

    def push_image(self, repository, tag, image):
        for blob in image.blobs:
            self.upload_blob(repository, blob)
        for child in image.children:
            self.push_manifest(repository, None, child)
        self.push_manifest(repository, tag, image.top)

    def retag(self, repository, tag, target):
        """Points tag at target (a tag or digest): the manifest exists, so its tag link is written
        in storage (atomically) rather than re-put over the API."""
        return self.storage.retag(repository, tag, target)

    def resolve(self, repository, reference):
        resp, _ = self.request("HEAD", repository, "/v2/%s/manifests/%s" % (repository, reference),
                               headers={"Accept": ACCEPT_ALL}, ok=(200,))
        return resp.getheader("Docker-Content-Digest")

    def delete_manifest(self, repository, reference):
        """Deletes a manifest (by digest, or the one a tag points at): every tag on it goes too."""
        digest = reference if reference.startswith("sha256:") else self.resolve(repository, reference)
        self.request("DELETE", repository, "/v2/%s/manifests/%s" % (repository, digest), ok=(202,))
        return digest


def seed_with(client, spec, workers=8):
    """Pushes every image of the spec with client (a Pusher or a StorageWriter), images
    concurrently, aliases after their targets; returns {repo: {tag: info}}."""
    repositories = check_spec(spec)
    result = {name: {} for name in repositories}
    built = {}
    jobs = []
    for name, repo in repositories.items():
        for tag, image_spec in repo.get("tags", {}).items():
            if isinstance(image_spec, dict):
                key = (name, json.dumps(image_spec, sort_keys=True))
                if key not in built:
                    built[key] = build_image(name, image_spec)
                jobs.append((name, tag, built[key]))
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(client.push_image, name, tag, image) for name, tag, image in jobs]
        for (name, tag, image), future in zip(jobs, futures):
            future.result()
            result[name][tag] = dict(image.info)
        alias_jobs = []
        for name, repo in repositories.items():
            tags = repo.get("tags", {})
            for tag, target in tags.items():
                if isinstance(target, str):
                    while isinstance(tags.get(target), str):
                        target = tags[target]
                    alias_jobs.append((name, tag, target))
        futures = [pool.submit(client.retag, name, tag, target) for name, tag, target in alias_jobs]
        for (name, tag, target), future in zip(alias_jobs, futures):
            info = future.result()
            result[name][tag] = dict(result[name].get(target, info))
    return result


def extension_labels(title, version, api=">= 0.3.3", vendor="Extupdated Test Vendor"):
    """The documented Docker extension label set, with values derived from title and version."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return {
        "org.opencontainers.image.title": title,
        "org.opencontainers.image.description": "%s, version %s (test image)" % (title, version),
        "org.opencontainers.image.vendor": vendor,
        "com.docker.desktop.extension.api.version": api,
        "com.docker.desktop.extension.icon": "https://example.com/%s/icon.svg" % slug,
        "com.docker.extension.screenshots": json.dumps([{"alt": "main view", "url": "https://example.com/%s/1.png" % slug}]),
        "com.docker.extension.detailed-description": "<p>%s does useful things.</p>" % title,
        "com.docker.extension.publisher-url": "https://example.com/%s" % slug,
        "com.docker.extension.additional-urls": json.dumps([{"title": "Docs", "url": "https://example.com/%s/docs" % slug}]),
        "com.docker.extension.changelog": "<p>Changes in %s.</p>" % version,
        "com.docker.extension.categories": "utility-tools",
    }


def generate_spec(repos, tags, incompatible=0, namespace="bench", attestations=True, latest=True):
    """`repos` repositories NAMESPACE/ext-NNNN, each with `tags` SemVer tags 1.0.0 … 1.(tags-1).0
    (multi-arch OCI indexes, linux/amd64 + linux/arm64, with attestations unless disabled) and a
    `latest` alias of the newest. The newest `incompatible` versions need API ">= 0.9.0"; the others
    ">= 0.3.3"."""
    spec = {"repositories": {}}
    for r in range(repos):
        name = "%s/ext-%04d" % (namespace, r)
        tag_map = {}
        for t in range(tags):
            version = "1.%d.0" % t
            api = ">= 0.9.0" if t >= tags - incompatible else ">= 0.3.3"
            tag_map[version] = {"labels": extension_labels("Extension %04d" % r, version, api),
                                "platforms": list(DEFAULT_PLATFORMS), "attestations": attestations}
        if latest and tags:
            tag_map["latest"] = "1.%d.0" % (tags - 1)
        spec["repositories"][name] = {"tags": tag_map}
    return spec
