#!/usr/bin/python3
# The scanner's job done the straightforward way with skopeo, as a baseline for the benchmark.
"""skopeo-scan: latest and latest compatible version of each allow-listed repository, with skopeo.

For every repository of the allow-list (one reference a line, `#` comments, an optional `:TAG`
pins the version), bounded by --jobs repositories at a time:

  skopeo list-tags docker://HOST/REPO
  SemVer tags (optional leading v, no pre-releases), newest first, until one is compatible:
    skopeo inspect --raw docker://HOST/REPO:TAG          the index: does it provide the platform?
    skopeo inspect --config --override-os … docker://…   the config of that platform: labels
    extupdatectl semver satisfies API RANGE               (or a small comparison in Python)

A version is compatible when it provides the platform and has non-empty title, vendor and
com.docker.desktop.extension.api.version labels whose range API satisfies. With --config-only the
raw step is skipped and a failing platform override counts as "does not provide the platform".

Prints JSON: {"tool": "skopeo", "processes": {"skopeo": N, "extupdatectl": N},
"extensions": [{"repository", "latest", "latest_compatible", "status", "digest", "error"}]}.
Exit status 0, or 2 when a repository failed (like `extupdated --once`).
"""

import argparse
import concurrent.futures
import hashlib
import json
import os
import re
import subprocess
import sys
import threading

SEMVER_RE = re.compile(r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
                       r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
                       r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$")
COMPARATOR_RE = re.compile(r"^(>=|<=|>|<|=)?\s*v?(\d+)\.(\d+)\.(\d+)$")
REQUIRED = ("org.opencontainers.image.title", "org.opencontainers.image.vendor",
            "com.docker.desktop.extension.api.version")
API_LABEL = "com.docker.desktop.extension.api.version"
TIMEOUT = 120


class Failure(Exception):
    pass


class Counter:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {"skopeo": 0, "extupdatectl": 0}

    def add(self, name):
        with self.lock:
            self.counts[name] += 1


def run(counter, name, argv):
    counter.add(name)
    try:
        return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired as e:
        raise Failure("%s timed out after %d s" % (" ".join(argv[:3]), TIMEOUT)) from e


def familiar(reference):
    """(familiar repository name, skopeo name, pinned tag) of an allow-list reference."""
    name, tag = reference, None
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        full = name
        shown = name
    else:
        path = name if rest else "library/" + name
        full = "docker.io/" + path
        shown = path[len("library/"):] if path.startswith("library/") else path
    return shown.lower(), full, tag


def read_allowlist(path):
    entries = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                entries.append(familiar(line))
    return entries


def version_key(tag):
    m = SEMVER_RE.match(tag)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3)))


def candidates(tags, pinned):
    if pinned is not None:
        return [pinned] if pinned in tags else []
    chosen = [t for t in tags if SEMVER_RE.match(t) and SEMVER_RE.match(t).group(4) is None]
    # Newest first; equal precedence (1.0.0, v1.0.0, 1.0.0+build) by name, as extupdated orders them.
    return sorted(sorted(chosen), key=version_key, reverse=True)


def python_satisfies(version, text):
    """The `>= X` (and other plain comparator, comma or space separated) ranges the benchmark uses."""
    have = tuple(int(x) for x in version.lstrip("v").split("."))
    parts = re.findall(r"(?:>=|<=|>|<|=)?\s*v?\d+\.\d+\.\d+", text)
    if not parts or re.sub(r"[\s,]", "", "".join(parts)) != re.sub(r"[\s,]", "", text):
        return None
    for part in parts:
        m = COMPARATOR_RE.match(part.strip())
        op, want = m.group(1) or "=", tuple(int(x) for x in m.group(2, 3, 4))
        ok = {">=": have >= want, "<=": have <= want, ">": have > want, "<": have < want, "=": have == want}[op]
        if not ok:
            return False
    return True


class Scanner:
    def __init__(self, args):
        self.args = args
        self.counter = Counter()
        self.os, self.arch, self.variant = (args.platform.split("/") + [None])[:3]

    def skopeo(self, *argv):
        cmd = ["skopeo"] + [argv[0], "--tls-verify=false"]
        if self.args.no_creds:
            cmd.append("--no-creds")
        cmd += list(argv[1:])
        return run(self.counter, "skopeo", cmd)

    def satisfies(self, text):
        if self.args.extupdatectl:
            p = run(self.counter, "extupdatectl",
                    [self.args.extupdatectl, "semver", "satisfies", "--", self.args.api, text])
            if p.returncode in (0, 1):
                return p.returncode == 0
            return None
        return python_satisfies(self.args.api, text)

    def provides(self, index):
        """Whether a raw manifest provides the platform: None for a single image (its config decides)."""
        if "manifests" not in index:
            return None
        for d in index.get("manifests") or []:
            p = d.get("platform") or {}
            if p.get("os") == self.os and p.get("architecture") == self.arch and \
                    (self.variant is None or p.get("variant") == self.variant):
                return True
        return False

    def config(self, ref):
        argv = ["inspect", "--config", "--override-os", self.os, "--override-arch", self.arch]
        if self.variant:
            argv += ["--override-variant", self.variant]
        p = self.skopeo(*argv, "docker://" + ref)
        if p.returncode != 0:
            return None, p.stderr.decode("utf-8", "replace").strip()
        return json.loads(p.stdout), None

    def inspect(self, full, tag):
        """(compatible, digest, reason) of one candidate."""
        ref = "%s:%s" % (full, tag)
        digest = None
        if not self.args.config_only:
            p = self.skopeo("inspect", "--raw", "docker://" + ref)
            if p.returncode != 0:
                raise Failure("skopeo inspect --raw %s: %s" % (ref, p.stderr.decode("utf-8", "replace").strip()))
            digest = "sha256:" + hashlib.sha256(p.stdout).hexdigest()
            if self.provides(json.loads(p.stdout)) is False:
                return False, digest, "does not provide %s" % self.args.platform
        cfg, err = self.config(ref)
        if cfg is None:
            if self.args.config_only and "no image found" in err:
                return False, digest, "does not provide %s" % self.args.platform
            raise Failure("skopeo inspect --config %s: %s" % (ref, err))
        if cfg.get("os") != self.os or cfg.get("architecture") != self.arch:
            return False, digest, "does not provide %s" % self.args.platform
        labels = (cfg.get("config") or {}).get("Labels") or {}
        missing = [k for k in REQUIRED if not labels.get(k)]
        if missing:
            return False, digest, "missing label " + missing[0]
        ok = self.satisfies(labels[API_LABEL])
        if ok is None:
            return False, digest, "invalid Extension API range %r" % labels[API_LABEL]
        return ok, digest, "compatible" if ok else "needs Extension API %r" % labels[API_LABEL]

    def repository(self, entry):
        shown, full, pinned = entry
        rec = {"repository": shown, "latest": None, "latest_compatible": None, "status": "no_versions",
               "digest": None, "error": None}
        try:
            p = self.skopeo("list-tags", "docker://" + full)
            if p.returncode != 0:
                raise Failure("skopeo list-tags %s: %s" % (full, p.stderr.decode("utf-8", "replace").strip()))
            order = candidates(json.loads(p.stdout).get("Tags") or [], pinned)
            if order:
                rec["latest"] = order[0]
                rec["status"] = "incompatible"
            labelled = False
            for tag in order:
                ok, digest, reason = self.inspect(full, tag)
                labelled = labelled or not reason.startswith("missing label")
                if ok:
                    rec.update(latest_compatible=tag, status="ok", digest=digest)
                    break
            if order and rec["status"] != "ok" and not labelled:
                rec["status"] = "invalid"
        except (Failure, ValueError) as e:
            rec.update(status="error", error=str(e))
        return rec

    def scan(self, entries):
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, self.args.jobs)) as pool:
            return list(pool.map(self.repository, entries))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--allowlist", required=True, help="allow-list file")
    parser.add_argument("--api", default="0.3.4", help="Extension API version of this Desktop (default 0.3.4)")
    parser.add_argument("--platform", default="linux/amd64", help="os/arch[/variant] (default linux/amd64)")
    parser.add_argument("--jobs", type=int, default=8, help="repositories scanned at a time (default 8)")
    parser.add_argument("--extupdatectl", help="use `extupdatectl semver satisfies` for API ranges "
                                               "(default: a Python check of plain comparators)")
    parser.add_argument("--config-only", action="store_true",
                        help="skip `inspect --raw`: one skopeo call per candidate (no digest)")
    parser.add_argument("--no-creds", action="store_true", help="pass --no-creds to skopeo (anonymous access)")
    args = parser.parse_args()
    if args.extupdatectl and not os.access(args.extupdatectl, os.X_OK):
        args.extupdatectl = None
    scanner = Scanner(args)
    records = scanner.scan(read_allowlist(args.allowlist))
    json.dump({"tool": "skopeo", "processes": scanner.counter.counts, "extensions": records}, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 2 if any(r["status"] == "error" for r in records) else 0


if __name__ == "__main__":
    sys.exit(main())
