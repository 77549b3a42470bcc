#!/usr/bin/python3
# End-to-end tests of `extupdated --once` against a real registry with token auth: every CONTRACT §5 rule as §4 records.
"""Usage: test-scan.py EXTUPDATED [unittest options]

One registry harness (tests/registry/harness.py: docker-registry behind a Hub-like front with
token auth) serves every case; seed.json beside this file holds the static repositories, and
setUpModule adds what a JSON seed cannot express (150 tags, an index whose only amd64-looking
entry is an attestation). Each case runs the real executable with its own config, allow-list
and state directory and compares whole CONTRACT §4 records. Every run also checks that the
report's `requests` equals what the registry's own access log and the token server saw.
"""

import base64
import http.server
import inspect
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.environ.get("EXTUPDATED_TESTS") or os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TESTS, "registry"))

import harness  # noqa: E402
import images  # noqa: E402

# The registry's storage and the states are many small files; tmpfs keeps setup and cleanup quick.
if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
    tempfile.tempdir = "/dev/shm"

TITLE = "org.opencontainers.image.title"
VENDOR = "org.opencontainers.image.vendor"
API = "com.docker.desktop.extension.api.version"
DESCRIPTION = "org.opencontainers.image.description"
DEFAULT_PLATFORMS = ["linux/amd64", "linux/arm64"]
RECORD_KEYS = ["repository", "title", "vendor", "description", "pinned", "installed", "latest",
               "latest_compatible", "api_constraint", "latest_api_constraint", "digest", "platforms",
               "update_available", "status", "error", "checked_at"]
SUMMARY_KEYS = ["id", "started_at", "finished_at", "repositories", "updates", "errors", "requests"]
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
UNSET = object()

EXE = None
H = None
REG = None
SPEC = {}     # repository -> {tag: image spec or alias}
DIGESTS = {}  # repository -> {tag: seed result}
WORK = None
MANY_TAGS = 150
STORAGE_SEEDING = "via" in inspect.signature(harness.Harness.seed).parameters


def image_labels(title, api, version):
    return {"labels": {TITLE: title, VENDOR: "Acme Inc.", API: api, DESCRIPTION: "%s %s" % (title, version)}}


def resolve(repo, tag):
    spec = SPEC[repo][tag]
    while isinstance(spec, str):
        spec = SPEC[repo][spec]
    return spec


def push_attestation_trick(repo, tag):
    """An index with a linux/arm64 image and one BuildKit attestation entry (unknown/unknown) whose
    subject is a linux/amd64 image of the same repository, pushed by digest only: a scanner that
    counted attestations, or followed their subject, would find a compatible amd64 image here."""
    spec = image_labels("Attest", ">= 0.3.0", tag)
    amd = images.build_image(repo, dict(spec, platforms=["linux/amd64"], single=True, id="trick"))
    arm = images.build_image(repo, dict(spec, platforms=["linux/arm64"], index=True, id="trick"))
    attestation = images.build_attestation(repo, "linux/amd64", amd.top, arm)
    arm_entry = json.loads(arm.top.data)["manifests"][0]
    index = images.dumps({"schemaVersion": 2, "mediaType": images.OCI_INDEX,
                          "manifests": [arm_entry, attestation]})
    for blob in amd.blobs + arm.blobs:
        H.pusher.upload_blob(repo, blob)
    H.pusher.put_manifest(repo, amd.top.digest, amd.top.media_type, amd.top.data)
    for child in arm.children:
        H.pusher.put_manifest(repo, child.digest, child.media_type, child.data)
    H.pusher.put_manifest(repo, tag, images.OCI_INDEX, index)
    SPEC[repo][tag] = dict(spec, platforms=["linux/arm64"])
    DIGESTS[repo][tag] = {"digest": images.sha256(index), "subject": amd.top.digest,
                          "attestation": attestation["digest"]}


def seed_images(spec):
    """Straight into the registry's storage where the harness can (much quicker), else over its API."""
    if STORAGE_SEEDING:
        return H.seed(spec, via="storage")
    return H.seed(spec)


def setUpModule():
    global H, REG, WORK
    WORK = tempfile.mkdtemp(prefix="extupdated-scan-")
    unittest.addModuleCleanup(shutil.rmtree, WORK, True)
    H = harness.Harness(auth=True).start()
    unittest.addModuleCleanup(H.stop)
    REG = H.registry
    # Docker Hub answers at most 100 tags a page whatever n asks for.
    H.configure(tags_page_cap=100)
    with open(os.path.join(HERE, "seed.json")) as f:
        spec = json.load(f)
    for name, repo in spec["repositories"].items():
        SPEC[name] = dict(repo["tags"])
    for name, tags in seed_images(spec).items():
        DIGESTS[name] = dict(tags)

    # 150 tags: 1.0.0 … 1.148.0 (one image) and 2.0.0, which sorts after them all, so it is only on
    # the second page.
    many = "many/tags"
    SPEC[many] = {"1.0.0": image_labels("Many", ">= 0.3.0", "1.x"), "2.0.0": image_labels("Many", ">= 0.3.0", "2.0.0")}
    aliases = {"1.%d.0" % i: "1.0.0" for i in range(1, MANY_TAGS - 1)}
    if STORAGE_SEEDING:
        SPEC[many].update(aliases)
        DIGESTS[many] = seed_images({"repositories": {many: {"tags": SPEC[many]}}})[many]
    else:
        # One by one: the registry's filesystem storage is not safe for concurrent writes of the
        # same manifest's links, which the harness's concurrent aliasing does.
        DIGESTS[many] = seed_images({"repositories": {many: {"tags": SPEC[many]}}})[many]
        for tag in aliases:
            DIGESTS[many][tag] = H.retag(many, tag, "1.0.0")
        SPEC[many].update(aliases)

    push_attestation_trick("plat/attest", "1.1.0")


class Run:
    def __init__(self, argv, proc, counts, requests):
        self.argv = argv
        self.exit = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.counts = counts
        self.requests = requests
        self.doc = None
        self.records = {}

    def paths(self, method=None, kind=None, repository=None):
        return [e["path"] for e in self.requests
                if (method is None or e["method"] == method) and (kind is None or e["kind"] == kind)
                and (repository is None or e.get("repository") == repository)]

    def count(self, key):
        return self.counts.get(key, 0)


def new_dir(name):
    return tempfile.mkdtemp(prefix=name + "-", dir=WORK)


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f)
    return path


class ScanCase(unittest.TestCase):
    maxDiff = None

    def env(self, home):
        env = dict(os.environ)
        for key in [k for k in env if k.startswith("EXTUPDATED_TEST_")]:
            del env[key]
        os.makedirs(os.path.join(home, "docker"), exist_ok=True)
        env.update({"HOME": home, "XDG_CONFIG_HOME": os.path.join(home, "config"),
                    "XDG_STATE_HOME": os.path.join(home, "state"), "DOCKER_CONFIG": os.path.join(home, "docker")})
        return env

    def files(self, lines, config=None, installed=None):
        """An allow-list, a config naming it, and optionally an installed inventory, in a new directory."""
        d = new_dir("case")
        allow = os.path.join(d, "extensions.txt")
        with open(allow, "w") as f:
            f.write("# written by test-scan.py\n" + "".join(line + "\n" for line in lines))
        cfg = {"allowlist": [allow], "extension_api_version": "0.3.4", "platform": "linux/amd64"}
        cfg.update(config or {})
        paths = {"dir": d, "allowlist": allow, "config": write_json(os.path.join(d, "config.json"), cfg)}
        if installed is not None:
            paths["installed"] = write_json(os.path.join(d, "installed.json"), installed)
        return paths

    def run_exe(self, args, home):
        H.reset_log()
        argv = [EXE] + args
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
                              env=self.env(home))
        run = Run(argv, proc, H.counts(), H.requests())
        for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:", "UndefinedBehaviorSanitizer"):
            self.assertNotIn(marker, proc.stderr, "sanitizer report from %s" % " ".join(argv))
        self.assertGreaterEqual(proc.returncode, 0, "killed by signal %d: %s" % (-proc.returncode, proc.stderr))
        return run

    def scan(self, lines=None, config=None, installed=None, state=None, files=None, installed_path=None,
             expect_exit=0):
        """extupdated --once --json; checks the document's shape, the exit status and that its request
        count is what the servers saw. state: a state directory to reuse (default: a new one)."""
        files = files or self.files(lines, config, installed)
        state = state or new_dir("state")
        args = ["--once", "--json", "--config", files["config"], "--state-dir", state]
        inst = installed_path or files.get("installed")
        if inst:
            args += ["--installed", inst]
        run = self.run_exe(args, files["dir"])
        run.state = state
        run.files = files
        self.assertEqual(run.exit, expect_exit, "exit status of %s\nstderr:\n%s" % (" ".join(run.argv), run.stderr))
        run.doc = json.loads(run.stdout)
        self.assertEqual(list(run.doc), ["scan", "extensions"])
        summary = run.doc["scan"]
        self.assertEqual(list(summary), SUMMARY_KEYS)
        self.assertIsInstance(summary["id"], int)
        self.assertRegex(summary["started_at"], TIME_RE)
        self.assertRegex(summary["finished_at"], TIME_RE)
        self.assertLessEqual(summary["started_at"], summary["finished_at"])
        self.assertEqual(summary["requests"], run.counts["total"],
                         "the report's request count against the servers' logs %s" % run.counts)
        for rec in run.doc["extensions"]:
            self.assertEqual(list(rec), RECORD_KEYS)
            self.assertRegex(rec["checked_at"], TIME_RE)
            run.records[rec["repository"]] = rec
        self.assertEqual(summary["repositories"], len(run.doc["extensions"]))
        self.assertEqual(summary["errors"], sum(r["status"] == "error" for r in run.doc["extensions"]))
        self.assertEqual(summary["updates"], sum(r["update_available"] for r in run.doc["extensions"]))
        return run

    def expect(self, repo, latest, compat, status="ok", familiar=None, pinned=None, installed=None,
               update=False, error=None, latest_api=UNSET, platforms=UNSET, digest=UNSET):
        """The CONTRACT §4 record (without checked_at) derived from the seed: fields of compat's image."""
        labels = (resolve(repo, compat).get("labels") or {}) if compat else {}
        if latest_api is UNSET:
            latest_api = (resolve(repo, latest).get("labels") or {}).get(API) if latest else None
        if platforms is UNSET:
            # Sorted, whatever the index's order.
            platforms = sorted(resolve(repo, compat).get("platforms", DEFAULT_PLATFORMS)) if compat else None
        if digest is UNSET:
            digest = DIGESTS[repo][compat]["digest"] if compat else None
        return {
            "repository": familiar or "%s/%s" % (REG, repo),
            "title": labels.get(TITLE), "vendor": labels.get(VENDOR), "description": labels.get(DESCRIPTION),
            "pinned": pinned, "installed": installed, "latest": latest, "latest_compatible": compat,
            "api_constraint": labels.get(API), "latest_api_constraint": latest_api, "digest": digest,
            "platforms": platforms, "update_available": update, "status": status, "error": error,
        }

    def record(self, run, name):
        self.assertIn(name, run.records, "records: %s" % sorted(run.records))
        rec = dict(run.records[name])
        del rec["checked_at"]
        return rec

    def assertRecord(self, run, expected):
        self.assertEqual(self.record(run, expected["repository"]), expected)

    def verdicts(self, run, repo):
        """{tag: reason} of the versions the last scan of repo judged, from the state."""
        db = sqlite3.connect(os.path.join(run.state, "state.db"))
        try:
            rows = db.execute("SELECT tag, reason FROM verdicts WHERE repository = ?",
                              ("%s/%s" % (REG, repo),)).fetchall()
        finally:
            db.close()
        return dict(rows)

    def assertInspected(self, run, repo, tags):
        """Exactly these tags were resolved in this run (in any order), each with one request: a GET
        by tag for a version never seen, a HEAD to confirm a known tag's digest."""
        refs = [p.rsplit("/", 1)[1] for p in run.paths("HEAD", "manifest", repo) + run.paths("GET", "manifest", repo)]
        by_tag = sorted(r for r in refs if not r.startswith("sha256:"))
        self.assertEqual(by_tag, sorted(tags), "tags resolved in %s" % repo)


class Selection(ScanCase):
    """CONTRACT §5 rules 1-3."""

    def test_v_prefix_and_non_semver_tags(self):
        run = self.scan(["%s/sel/tags" % REG])
        # latest, stable, 1.10, 9.0, 01.20.0 and sha256-….sig are not versions; v1.2.0 stays v1.2.0.
        self.assertRecord(run, self.expect("sel/tags", "v1.2.0", "v1.2.0"))
        self.assertInspected(run, "sel/tags", ["v1.2.0"])
        self.assertEqual(run.count("GET manifest"), 2)

    def test_prerelease_ignored_by_default(self):
        run = self.scan(["%s/sel/pre" % REG])
        self.assertRecord(run, self.expect("sel/pre", "1.0.0", "1.0.0"))
        self.assertInspected(run, "sel/pre", ["1.0.0"])

    def test_prerelease_with_include_prerelease(self):
        run = self.scan(["%s/sel/pre" % REG], config={"include_prerelease": True})
        self.assertRecord(run, self.expect("sel/pre", "2.0.0-beta.1", "2.0.0-beta.1"))

    def test_prerelease_when_installed_is_a_prerelease_of_the_same_version(self):
        name = "%s/sel/pre" % REG
        run = self.scan([name], installed={name: "1.1.0-rc.0"})
        # 1.1.0-rc.1 is considered (same 1.1.0); 2.0.0-beta.1 is not.
        self.assertRecord(run, self.expect("sel/pre", "1.1.0-rc.1", "1.1.0-rc.1", installed="1.1.0-rc.0",
                                           update=True))
        run = self.scan([name], installed={name: "1.0.0"})
        self.assertRecord(run, self.expect("sel/pre", "1.0.0", "1.0.0", installed="1.0.0"))
        run = self.scan([name], installed={name: "1.0.1-alpha"})
        self.assertRecord(run, self.expect("sel/pre", "1.0.0", "1.0.0", installed="1.0.1-alpha"))

    def test_pinned_entry(self):
        run = self.scan(["%s/sel/pinned:1.0.0" % REG, "%s/sel/pinned-missing:3.0.0" % REG])
        self.assertRecord(run, self.expect("sel/pinned", "1.0.0", "1.0.0", pinned="1.0.0"))
        self.assertInspected(run, "sel/pinned", ["1.0.0"])
        self.assertRecord(run, self.expect("sel/pinned-missing", None, None, "no_versions", pinned="3.0.0"))
        self.assertInspected(run, "sel/pinned-missing", [])
        # A pinned tag is offered as it is, even one that is not SemVer (stable is an alias of 1.0.0).
        run = self.scan(["%s/sel/tags:stable" % REG])
        self.assertRecord(run, dict(self.expect("sel/tags", "1.0.0", "1.0.0", pinned="stable"),
                                    latest="stable", latest_compatible="stable"))
        self.assertInspected(run, "sel/tags", ["stable"])


class Images(ScanCase):
    """CONTRACT §5 rule 4: platform, labels, API range."""

    def test_platform_missing_from_newest_version(self):
        run = self.scan(["%s/plat/fallback" % REG, "%s/plat/single" % REG])
        # An index (Docker manifest list) without linux/amd64, and a single arm64 image: both fall back.
        # The newest version's API label is still reported (CONTRACT §4 latest_api_constraint).
        self.assertRecord(run, self.expect("plat/fallback", "1.1.0", "1.0.0"))
        self.assertRecord(run, self.expect("plat/single", "1.1.0", "1.0.0"))
        self.assertInspected(run, "plat/fallback", ["1.1.0", "1.0.0"])
        # The newest index lacks the platform: its labels come from the first platform it has (one
        # image manifest and its config), nothing more.
        bad = DIGESTS["plat/fallback"]["1.1.0"]
        fetched = run.paths("GET", "manifest", "plat/fallback")
        first = sorted(bad["platforms"])[0]
        for platform, info in bad["platforms"].items():
            (self.assertIn if platform == first else self.assertNotIn)(
                "/v2/plat/fallback/manifests/%s" % info["digest"], fetched)

    def test_other_platform(self):
        lines = ["%s/plat/fallback" % REG, "%s/plat/single" % REG, "%s/plat/attest" % REG]
        run = self.scan(lines, config={"platform": "linux/arm64"})
        self.assertRecord(run, self.expect("plat/fallback", "1.1.0", "1.1.0"))
        self.assertRecord(run, self.expect("plat/single", "1.1.0", "1.1.0"))
        # The attestation about an amd64 image is not one of the platforms of 1.1.0.
        self.assertRecord(run, self.expect("plat/attest", "1.1.0", "1.1.0", platforms=["linux/arm64"]))
        self.assertInspected(run, "plat/attest", ["1.1.0"])

    def test_attestation_entries_do_not_provide_the_platform(self):
        run = self.scan(["%s/plat/attest" % REG])
        # 1.1.0: arm64 plus an attestation (unknown/unknown) about an amd64 image; 1.0.5: arm64 plus its
        # attestation. Neither provides linux/amd64; 1.0.0 (amd64, arm64, attestations) does, and its
        # attestations are not platforms.
        self.assertRecord(run, self.expect("plat/attest", "1.1.0", "1.0.0"))
        self.assertInspected(run, "plat/attest", ["1.1.0", "1.0.5", "1.0.0"])
        trick = DIGESTS["plat/attest"]["1.1.0"]
        for path in run.paths(repository="plat/attest"):
            self.assertNotIn(trick["subject"], path)
            self.assertNotIn(trick["attestation"], path)
        for digest in DIGESTS["plat/attest"]["1.0.0"]["attestations"]:
            self.assertNotIn("/v2/plat/attest/manifests/%s" % digest, run.paths(repository="plat/attest"))

    def test_missing_labels(self):
        run = self.scan(["%s/lab/fallback" % REG, "%s/lab/none" % REG])
        # The newest lacks the vendor: the previous version is the compatible one.
        self.assertRecord(run, self.expect("lab/fallback", "1.1.0", "1.0.0"))
        # Labels null, only a title, no Labels key, an empty vendor: no version is usable.
        self.assertRecord(run, self.expect("lab/none", "v1.3.0", None, "invalid"))
        self.assertEqual(self.record(run, "%s/lab/none" % REG)["latest_api_constraint"], ">= 0.1.0")
        self.assertInspected(run, "lab/none", ["v1.3.0", "1.2.0", "1.1.0", "1.0.0"])

    def test_exact_version_and_comma_ranges(self):
        lines = ["%s/api/exact-ok" % REG, "%s/api/exact-no" % REG, "%s/api/comma" % REG]
        run = self.scan(lines)
        self.assertRecord(run, self.expect("api/exact-ok", "1.0.0", "1.0.0"))
        self.assertRecord(run, self.expect("api/exact-no", "1.0.0", None, "incompatible"))
        # ">= 0.2.3, < 0.4" holds 0.3.4; ">= 0.2.3, < 0.3.4" does not.
        self.assertRecord(run, self.expect("api/comma", "1.1.0", "1.0.0"))
        # The same images against Desktop 0.3.3: the exact labels swap.
        run = self.scan(lines, config={"extension_api_version": "0.3.3"})
        self.assertRecord(run, self.expect("api/exact-ok", "1.0.0", None, "incompatible"))
        self.assertRecord(run, self.expect("api/exact-no", "1.0.0", "1.0.0"))
        self.assertRecord(run, self.expect("api/comma", "1.1.0", "1.1.0"))

    def test_inspection_budget(self):
        # max_inspected_versions: 1 looks at the newest only; the next version's verdict says why
        # the walk stopped.
        run = self.scan(["%s/api/none" % REG], config={"max_inspected_versions": 1})
        self.assertRecord(run, self.expect("api/none", "2.0.0", None, "incompatible"))
        self.assertInspected(run, "api/none", ["2.0.0"])
        self.assertIn("stopped after 1 version ", self.verdicts(run, "api/none")["1.0.0"])

    def test_no_compatible_version(self):
        run = self.scan(["%s/api/none" % REG])
        self.assertRecord(run, self.expect("api/none", "2.0.0", None, "incompatible"))
        self.assertInspected(run, "api/none", ["2.0.0", "1.0.0"])
        self.assertEqual(run.doc["scan"]["updates"], 0)


class Repositories(ScanCase):
    def test_missing_repository(self):
        run = self.scan(["%s/gone/never" % REG, "%s/api/exact-ok" % REG], expect_exit=2)
        rec = self.record(run, "%s/gone/never" % REG)
        self.assertEqual(rec["status"], "error")
        self.assertIn("gone/never", rec["error"])
        self.assertRegex(rec["error"], "404|NAME_UNKNOWN|not found")
        self.assertEqual(rec, dict(self.expect("gone/never", None, None, "error"), error=rec["error"]))
        self.assertRecord(run, self.expect("api/exact-ok", "1.0.0", "1.0.0"))
        self.assertEqual(run.doc["scan"]["errors"], 1)

    def test_failure_keeps_the_last_good_values(self):
        lines = ["%s/gone/denied" % REG, "%s/gone/broken" % REG, "%s/gone/deleted" % REG, "%s/inv/b" % REG]
        files = self.files(lines)
        first = self.scan(files=files)
        good_denied = self.expect("gone/denied", "1.0.0", "1.0.0")
        good_broken = self.expect("gone/broken", "1.0.0", "1.0.0")
        self.assertRecord(first, good_denied)
        self.assertRecord(first, good_broken)
        self.assertRecord(first, self.expect("gone/deleted", "1.1.0", "1.1.0"))
        try:
            # Nobody may pull gone/denied any more (401 after a token without actions).
            H.configure(denied=["gone/denied"])
            # gone/broken gets a new version whose config blob is gone: its tag list and manifests
            # answer, then the config is 404. That version is broken, not the repository.
            spec = image_labels("Broken later", ">= 0.3.0", "1.1.0")
            SPEC["gone/broken"]["1.1.0"] = spec
            info = H.add_tag("gone/broken", "1.1.0", spec)
            config = info["platforms"]["linux/amd64"]["config_digest"]
            H.pusher.request("DELETE", "gone/broken", "/v2/gone/broken/blobs/%s" % config, ok=(202,))
            # gone/deleted loses every tag: the registry answers an empty list, which is no failure.
            for tag in ("1.0.0", "1.1.0"):
                H.delete_manifest("gone/deleted", tag)
            second = self.scan(files=files, state=first.state, expect_exit=2)
        finally:
            H.configure(denied=[])
        self.assertEqual(second.doc["scan"]["errors"], 1)
        rec = self.record(second, good_denied["repository"])
        self.assertEqual(rec["status"], "error")
        self.assertIsInstance(rec["error"], str)
        self.assertIn(good_denied["repository"], rec["error"])
        self.assertEqual(rec, dict(good_denied, status="error", error=rec["error"]))
        # CONTRACT: latest 1.1.0 (its labels unreadable), latest compatible 1.0.0, ok.
        self.assertRecord(second, self.expect("gone/broken", "1.1.0", "1.0.0", latest_api=None))
        reason = self.verdicts(second, "gone/broken")["1.1.0"]
        self.assertIn(config, reason)
        self.assertIn("404", reason)
        self.assertNotIn(REG, reason)
        self.assertIn("/v2/gone/broken/blobs/%s" % config, second.paths("GET", "blob"))
        self.assertRecord(second, self.expect("gone/deleted", None, None, "no_versions"))
        self.assertRecord(second, self.expect("inv/b", "1.0.0", "1.0.0"))

    def test_allowlist_changes(self):
        a, b, c = ("%s/%s" % (REG, r) for r in ("api/exact-ok", "inv/b", "inv/d"))
        first = self.scan([a, b, c])
        self.assertEqual([r["repository"] for r in first.doc["extensions"]], [a, b, c])
        # Removed from the allow-list: no longer reported; the report follows the allow-list's order.
        second = self.scan([c, a], state=first.state)
        self.assertEqual([r["repository"] for r in second.doc["extensions"]], [c, a])
        self.assertEqual(second.doc["scan"]["repositories"], 2)
        self.assertRecord(second, self.expect("inv/d", "1.0.0", "1.0.0"))

    def test_table_report(self):
        files = self.files(["%s/inv/a" % REG, "%s/api/none" % REG, "%s/gone/never" % REG],
                           installed={"%s/inv/a" % REG: "0.2.7"})
        run = self.run_exe(["--once", "--config", files["config"], "--state-dir", new_dir("state"),
                            "--installed", files["installed"]], files["dir"])
        self.assertEqual(run.exit, 2, run.stderr)
        lines = run.stdout.splitlines()
        self.assertRegex(run.stdout, r"(?m)^%s/inv/a +0\.2\.7 +0\.2\.8 +0\.2\.8 +ok +yes$" % re.escape(REG))
        self.assertRegex(run.stdout, r"(?m)^%s/api/none +- +2\.0\.0 +- +incompatible *$" % re.escape(REG))
        self.assertRegex(run.stdout, r"(?m)^%s/gone/never +- +- +- +error *$" % re.escape(REG))
        self.assertRegex(run.stdout, r"(?m)^error: .*gone/never")
        self.assertEqual(lines[-1], "3 repositories, 1 update available, 1 error, %d requests" % run.counts["total"])

    def test_many_tags(self):
        run = self.scan(["%s/many/tags" % REG])
        self.assertRecord(run, self.expect("many/tags", "2.0.0", "2.0.0"))
        tags = run.paths("GET", "tags", "many/tags")
        self.assertEqual(len(tags), 2, tags)
        self.assertIn("last=", tags[1])
        self.assertInspected(run, "many/tags", ["2.0.0"])

    def test_docker_hub_official_image_name(self):
        files = self.files(["foo", "docker/x"],
                           config={"registries": {"docker.io": {"url": "http://%s" % REG}}},
                           installed={"docker.io/library/foo": "0.9.0"})
        run = self.scan(files=files)
        self.assertEqual([r["repository"] for r in run.doc["extensions"]], ["foo", "docker/x"])
        self.assertRecord(run, self.expect("library/foo", "1.0.0", "1.0.0", familiar="foo", installed="0.9.0",
                                           update=True))
        self.assertRecord(run, self.expect("docker/x", "0.1.0", "0.1.0", familiar="docker/x"))
        self.assertIn("/v2/library/foo/tags/list", " ".join(run.paths("GET", "tags")))


class Installed(ScanCase):
    def test_installed_inventory(self):
        names = {k: "%s/inv/%s" % (REG, k) for k in "abcdef"}
        installed = {names["a"]: "0.2.7", names["b"]: "1.0.0", names["c"]: "v1.0.0", names["d"]: "2.0.0",
                     names["e"]: "1.0.0", names["f"]: "1.1.0"}
        files = self.files(sorted(names.values()), installed=installed)
        run = self.scan(files=files)
        self.assertRecord(run, self.expect("inv/a", "0.2.8", "0.2.8", installed="0.2.7", update=True))
        self.assertRecord(run, self.expect("inv/b", "1.0.0", "1.0.0", installed="1.0.0"))
        self.assertRecord(run, self.expect("inv/c", "v1.1.0", "v1.1.0", installed="v1.0.0", update=True))
        self.assertRecord(run, self.expect("inv/d", "1.0.0", "1.0.0", installed="2.0.0"))
        # 1.1.0 needs a newer API; 1.0.0 is the installed version itself.
        self.assertRecord(run, self.expect("inv/e", "1.1.0", "1.0.0", installed="1.0.0"))
        # 1.2.0 and 1.1.0 (installed) need a newer API; 1.0.0 is the answer whatever is installed
        # (CONTRACT §5.4): the walk goes on below the installed version.
        self.assertRecord(run, self.expect("inv/f", "1.2.0", "1.0.0", installed="1.1.0"))
        self.assertInspected(run, "inv/f", ["1.2.0", "1.1.0", "1.0.0"])
        self.assertEqual(run.doc["scan"]["updates"], 2)

        # --installed replaces the stored inventory.
        path = write_json(os.path.join(files["dir"], "installed-2.json"), {names["b"]: "0.9.0"})
        run = self.scan(files=files, state=run.state, installed_path=path)
        self.assertRecord(run, self.expect("inv/a", "0.2.8", "0.2.8"))
        self.assertRecord(run, self.expect("inv/b", "1.0.0", "1.0.0", installed="0.9.0", update=True))
        self.assertRecord(run, self.expect("inv/c", "v1.1.0", "v1.1.0"))
        self.assertRecord(run, self.expect("inv/f", "1.2.0", "1.0.0"))
        # Every version was inspected before: no manifest or config is asked for again.
        self.assertInspected(run, "inv/f", [])
        self.assertEqual(run.count("HEAD manifest"), 0)
        self.assertEqual(run.count("GET manifest"), 0)
        self.assertEqual(run.count("GET blob"), 0)

    def test_bad_installed_file(self):
        name = "%s/inv/a" % REG
        files = self.files([name], installed={name: "0.2.7"})
        first = self.scan(files=files)
        good = self.expect("inv/a", "0.2.8", "0.2.8", installed="0.2.7", update=True)
        self.assertRecord(first, good)

        d = files["dir"]
        with open(os.path.join(d, "broken.json"), "w") as f:
            f.write('{"%s": "0.2.7",' % name)
        cases = {
            os.path.join(d, "absent.json"): None,
            os.path.join(d, "broken.json"): None,
            write_json(os.path.join(d, "array.json"), [name, "0.2.7"]): None,
            write_json(os.path.join(d, "badname.json"), {"Not A Reference!": "1.0.0"}): "Not A Reference!",
            write_json(os.path.join(d, "number.json"), {name: 1}): name,
            # Versions only (as tags are: SemVer, an optional v), each bad one named with its key.
            write_json(os.path.join(d, "notsemver.json"), {name: "latest"}): name + '": version "latest"',
            write_json(os.path.join(d, "escape.json"), {name: "\x1b[31m1.0.0\n"}): "\\u001b[31m1.0.0\\n",
        }
        for path, detail in cases.items():
            args = ["--once", "--json", "--config", files["config"], "--state-dir", first.state, "--installed", path]
            run = self.run_exe(args, d)
            self.assertEqual(run.exit, 1, "%s: %s" % (path, run.stderr))
            self.assertIn(path, run.stderr)
            if detail:
                self.assertIn(detail, run.stderr)
            self.assertEqual(run.stdout, "")
            self.assertEqual(run.counts["total"], 0, "no scan after a bad inventory")

        # Nothing stored was lost: the inventory and the results are those of the first scan.
        after = self.scan(files={k: v for k, v in files.items() if k != "installed"}, state=first.state)
        self.assertRecord(after, good)


class CheckConfig(ScanCase):
    def check(self, files):
        return self.run_exe(["--check-config", "--config", files["config"]], files["dir"])

    def test_clean(self):
        files = self.files(["%s/inv/a" % REG, "foo", "ghcr.io/acme/ext:1.2.3  # pinned"])
        run = self.check(files)
        self.assertEqual(run.exit, 0, run.stderr)
        self.assertIn("no problems", run.stdout)
        self.assertEqual(run.stderr, "")
        self.assertEqual(run.counts["total"], 0)

    def test_bad_allowlist_line(self):
        lines = ["%s/api/exact-ok" % REG, "this is not a reference!",
                 "%s/api/none@sha256:%s" % (REG, "0" * 64)]
        files = self.files(lines)
        run = self.check(files)
        self.assertEqual(run.exit, 1, run.stderr)
        # Line 1 is the header comment the test writes.
        self.assertRegex(run.stderr, re.escape(files["allowlist"]) + r":3: .*this is not a reference!")
        self.assertRegex(run.stderr, re.escape(files["allowlist"]) + r":4: .*digest")
        self.assertNotRegex(run.stderr, re.escape(files["allowlist"]) + r":2:")
        # A scan skips the bad lines and uses the rest.
        scan = self.scan(files=files)
        self.assertEqual(list(scan.records), ["%s/api/exact-ok" % REG])
        self.assertRegex(scan.stderr, re.escape(files["allowlist"]) + r":3: ")

    def test_bad_config_key(self):
        files = self.files(["%s/api/exact-ok" % REG], config={"bogus_key": 1})
        run = self.check(files)
        self.assertEqual(run.exit, 1, run.stderr)
        self.assertIn("bogus_key", run.stderr)
        self.assertIn(files["config"], run.stderr)

        files = self.files(["%s/api/exact-ok" % REG], config={"interval": "soon"})
        run = self.check(files)
        self.assertEqual(run.exit, 1, run.stderr)
        self.assertIn("interval", run.stderr)
        # A wrong type is fatal for a scan as well: exit 1 before any request.
        run = self.run_exe(["--once", "--json", "--config", files["config"], "--state-dir", new_dir("state")],
                           files["dir"])
        self.assertEqual(run.exit, 1, run.stderr)
        self.assertIn("interval", run.stderr)
        self.assertEqual(run.counts["total"], 0)


class Economy(ScanCase):
    """Requests counted by the servers: the registry's own access log and the token server."""

    def assertCounts(self, run, want, at_most=None):
        at_most = at_most or {}
        got = {k: v for k, v in run.counts.items() if k != "total"}
        for key, limit in at_most.items():
            self.assertLessEqual(got.pop(key, 0), limit, "%s in %s" % (key, run.counts))
        self.assertEqual(got, want, "requests the servers saw")

    def test_first_scan_then_unchanged_then_new_tags(self):
        repo = "econ/ten"
        files = self.files(["%s/%s" % (REG, repo)])
        first = self.scan(files=files)
        self.assertRecord(first, self.expect(repo, "1.9.0", "1.9.0"))
        # Ten versions, the newest compatible: its index by tag (no HEAD first), its amd64 manifest,
        # its config.
        self.assertCounts(first, {"GET token": 1, "GET tags": 1, "GET manifest": 2, "GET blob": 1},
                          at_most={"GET base": 1})
        info = DIGESTS[repo]["1.9.0"]
        amd = info["platforms"]["linux/amd64"]
        self.assertInspected(first, repo, ["1.9.0"])
        self.assertEqual(sorted(first.paths("GET", "manifest")),
                         sorted("/v2/%s/manifests/%s" % (repo, d) for d in ("1.9.0", amd["digest"])))
        self.assertEqual(first.paths("GET", "blob"), ["/v2/%s/blobs/%s" % (repo, amd["config_digest"])])

        # Nothing changed: the tag list only (and the token, and perhaps the ping).
        second = self.scan(files=files, state=first.state)
        self.assertCounts(second, {"GET tags": 1}, at_most={"GET token": 1, "GET base": 1})
        self.assertEqual(second.records, {k: dict(v, checked_at=second.records[k]["checked_at"])
                                          for k, v in first.records.items()})

        # A new compatible version: the GETs for it only.
        spec = image_labels("Ten", ">= 0.3.0", "1.10.0")
        SPEC[repo]["1.10.0"] = spec
        DIGESTS[repo]["1.10.0"] = H.add_tag(repo, "1.10.0", spec)
        third = self.scan(files=files, state=first.state)
        self.assertRecord(third, self.expect(repo, "1.10.0", "1.10.0"))
        self.assertCounts(third, {"GET tags": 1, "GET manifest": 2, "GET blob": 1},
                          at_most={"GET token": 1, "GET base": 1})
        self.assertInspected(third, repo, ["1.10.0"])

        # A new incompatible version: its requests, then the cached 1.10.0 costs nothing.
        spec = image_labels("Ten", ">= 0.9.0", "1.11.0")
        SPEC[repo]["1.11.0"] = spec
        DIGESTS[repo]["1.11.0"] = H.add_tag(repo, "1.11.0", spec)
        fourth = self.scan(files=files, state=first.state)
        self.assertRecord(fourth, self.expect(repo, "1.11.0", "1.10.0"))
        self.assertCounts(fourth, {"GET tags": 1, "GET manifest": 2, "GET blob": 1},
                          at_most={"GET token": 1, "GET base": 1})
        self.assertInspected(fourth, repo, ["1.11.0"])

        # Versions known from any earlier scan stay known: again only the tag list.
        fifth = self.scan(files=files, state=first.state)
        self.assertRecord(fifth, self.expect(repo, "1.11.0", "1.10.0"))
        self.assertCounts(fifth, {"GET tags": 1}, at_most={"GET token": 1, "GET base": 1})

    def test_repushed_tag_is_confirmed_after_a_day(self):
        repo = "econ/repush"
        SPEC[repo] = {"1.0.0": image_labels("Before", ">= 0.3.0", "1.0.0")}
        DIGESTS[repo] = {"1.0.0": H.add_tag(repo, "1.0.0", SPEC[repo]["1.0.0"])}
        files = self.files(["%s/%s" % (REG, repo)])
        first = self.scan(files=files)
        self.assertEqual(self.record(first, "%s/%s" % (REG, repo))["title"], "Before")

        # The publisher re-pushes 1.0.0. Within a day the confirmed digest is trusted: tags only.
        SPEC[repo]["1.0.0"] = image_labels("After", ">= 0.3.0", "1.0.0")
        DIGESTS[repo]["1.0.0"] = H.add_tag(repo, "1.0.0", SPEC[repo]["1.0.0"])
        second = self.scan(files=files, state=first.state)
        self.assertCounts(second, {"GET tags": 1}, at_most={"GET token": 1, "GET base": 1})
        self.assertEqual(self.record(second, "%s/%s" % (REG, repo))["title"], "Before")

        # A day later the digest is confirmed with a HEAD (free on Docker Hub), and the new image read.
        db = sqlite3.connect(os.path.join(first.state, "state.db"))
        with db:
            db.execute("UPDATE tags SET verified_at = '2000-01-01T00:00:00Z'")
        db.close()
        third = self.scan(files=files, state=first.state)
        self.assertCounts(third, {"GET tags": 1, "HEAD manifest": 1, "GET manifest": 2, "GET blob": 1},
                          at_most={"GET token": 1, "GET base": 1})
        self.assertEqual(self.record(third, "%s/%s" % (REG, repo))["title"], "After")
        self.assertEqual(self.record(third, "%s/%s" % (REG, repo))["digest"], DIGESTS[repo]["1.0.0"]["digest"])

        # Confirmed again: the next scan trusts it.
        fourth = self.scan(files=files, state=first.state)
        self.assertCounts(fourth, {"GET tags": 1}, at_most={"GET token": 1, "GET base": 1})

    def test_unchanged_rescan_of_every_repository(self):
        repos = ["sel/tags", "sel/pre", "sel/pinned:1.0.0", "sel/pinned-missing:3.0.0", "plat/fallback",
                 "plat/single", "plat/attest", "lab/fallback", "lab/none", "api/exact-ok", "api/exact-no",
                 "api/comma", "api/none", "inv/a", "inv/b", "inv/c", "inv/d", "inv/e", "inv/f", "many/tags",
                 "gone/never"]
        lines = ["%s/%s" % (REG, r) for r in repos]
        files = self.files(lines, installed={"%s/inv/f" % REG: "1.1.0", "%s/inv/a" % REG: "0.2.7"})
        first = self.scan(files=files, expect_exit=2)
        self.assertEqual(first.count("GET token"), 1, "one token for every repository")
        second = self.scan(files={k: v for k, v in files.items() if k != "installed"}, state=first.state,
                           expect_exit=2)
        # One tag list per repository (many/tags has two pages), no manifest, no blob.
        self.assertCounts(second, {"GET tags": len(repos) + 1}, at_most={"GET token": 1, "GET base": 1})
        self.assertEqual(second.records, {k: dict(v, checked_at=second.records[k]["checked_at"])
                                          for k, v in first.records.items()})
        self.assertEqual(second.doc["scan"]["updates"], 1)
        self.assertEqual(second.doc["scan"]["errors"], 1)


class RemoteAllowlist(ScanCase):
    """An allow-list at a URL: fetched, cached in the state, re-fetched conditionally, used offline."""

    def serve(self, body):
        served = {"body": body, "etag": '"v1"', "requests": []}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                served["requests"].append(dict(self.headers))
                if self.headers.get("If-None-Match") == served["etag"]:
                    self.send_response(304)
                    self.send_header("ETag", served["etag"])
                    self.end_headers()
                    return
                data = served["body"].encode()
                self.send_response(200)
                self.send_header("ETag", served["etag"])
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        return server, served, "http://127.0.0.1:%d/extensions.txt" % server.server_address[1]

    def test_url_source(self):
        good = "%s/api/exact-ok" % REG
        server, served, url = self.serve("# remote\n%s\nthis is not a reference!\n" % good)
        files = self.files([], config={"allowlist": [url]})

        first = self.scan(files=files)
        self.assertEqual(list(first.records), [good])
        self.assertIn("%s:3: invalid reference" % url, first.stderr)
        self.assertNotIn("If-None-Match", served["requests"][0])

        # Unchanged: a conditional request answered 304, the cached copy used.
        second = self.scan(files=files, state=first.state)
        self.assertEqual(served["requests"][1].get("If-None-Match"), '"v1"')
        self.assertEqual(list(second.records), [good])

        # Changed upstream: the new list replaces the cached one.
        served["etag"] = '"v2"'
        served["body"] = "%s\n%s/api/comma\n" % (good, REG)
        third = self.scan(files=files, state=first.state)
        self.assertEqual(list(third.records), [good, "%s/api/comma" % REG])

        # The server is gone: the last copy is used, and the warning names the URL.
        server.shutdown()
        server.server_close()
        fourth = self.scan(files=files, state=first.state)
        self.assertEqual(list(fourth.records), [good, "%s/api/comma" % REG])
        self.assertIn("warning: %s: cannot fetch the allow-list" % url, fourth.stderr)
        self.assertIn("using the copy fetched before", fourth.stderr)

        # No cache (a new state directory) and no server: a clear error, exit 1.
        fifth = self.run_exe(["--once", "--json", "--config", files["config"], "--state-dir", new_dir("state")],
                             files["dir"])
        self.assertEqual(fifth.exit, 1)
        self.assertIn("error: %s: cannot fetch the allow-list" % url, fifth.stderr)
        self.assertIn("no allow-list could be read", fifth.stderr)


class Credentials(ScanCase):
    """A private repository, read with the credentials docker keeps in config.json."""

    @classmethod
    def setUpClass(cls):
        cls.repo = "priv/ext"
        spec = {"repositories": {cls.repo: {"private": True, "tags": {
            "1.0.0": image_labels("Private", ">= 0.3.0", "1.0.0")}}}}
        SPEC[cls.repo] = dict(spec["repositories"][cls.repo]["tags"])
        DIGESTS.update(seed_images(spec))

    def scan_with(self, auths):
        files = self.files(["%s/%s" % (REG, self.repo)])
        if auths is not None:
            os.makedirs(os.path.join(files["dir"], "docker"), exist_ok=True)
            write_json(os.path.join(files["dir"], "docker", "config.json"), {"auths": {REG: auths}})
        return self.scan(files=files, expect_exit=0 if auths else 2)

    def test_anonymous_is_refused(self):
        run = self.scan_with(None)
        rec = run.records["%s/%s" % (REG, self.repo)]
        self.assertEqual(rec["status"], "error")
        self.assertIn("priv/ext", rec["error"])

    def test_username_and_password(self):
        user, password = H.issuer.user, H.issuer.password
        auth = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        run = self.scan_with({"auth": auth})
        self.assertRecord(run, self.expect(self.repo, "1.0.0", "1.0.0"))
        self.assertEqual(run.count("GET token"), 1)
        self.assertNotIn(password, run.stderr + run.stdout)

    def test_identity_token(self):
        # What `docker login` keeps for registries that hand out refresh tokens.
        form = urllib.parse.urlencode({"grant_type": "password", "username": H.issuer.user,
                                       "password": H.issuer.password, "service": "registry.docker.io",
                                       "client_id": "test", "access_type": "offline"}).encode()
        with urllib.request.urlopen(urllib.request.Request(H.token_url, data=form)) as resp:
            refresh = json.load(resp)["refresh_token"]
        run = self.scan_with({"identitytoken": refresh})
        self.assertRecord(run, self.expect(self.repo, "1.0.0", "1.0.0"))
        self.assertEqual(run.count("POST token"), 1, run.counts)
        self.assertEqual(run.count("GET token"), 0, run.counts)
        self.assertNotIn(refresh, run.stderr + run.stdout)


class ApiVersion(ScanCase):
    """The Desktop's Extension API version: configured, else `docker extension version`, else 0.3.4."""

    def scan_with_docker(self, script):
        files = self.files(["%s/api/exact-no" % REG], config={"extension_api_version": None})
        bindir = os.path.join(files["dir"], "bin")
        os.makedirs(bindir)
        if script is not None:
            path = os.path.join(bindir, "docker")
            with open(path, "w") as f:
                f.write("#!/bin/sh\n" + script)
            os.chmod(path, 0o755)
        env = self.env
        self.env = lambda home: dict(env(home), PATH=bindir + ":/usr/bin:/bin")
        try:
            return self.scan(files=files)
        finally:
            self.env = env

    def test_detected(self):
        run = self.scan_with_docker('[ "$1 $2" = "extension version" ] || exit 2\n'
                                    'echo "Client Version: v0.2.25"\necho "Server API Version: 0.3.3"\n')
        self.assertIn("Extension API 0.3.3 (detected with `docker extension version`)", run.stderr)
        # api/exact-no's newest version wants exactly 0.3.3: compatible on this Desktop only.
        self.assertEqual(run.records["%s/api/exact-no" % REG]["status"], "ok")
        self.assertEqual(run.records["%s/api/exact-no" % REG]["api_constraint"], "0.3.3")

    def test_fallback_without_docker(self):
        run = self.scan_with_docker(None)
        self.assertIn("Extension API 0.3.4 (default", run.stderr)
        self.assertEqual(run.records["%s/api/exact-no" % REG]["status"], "incompatible")

    def test_fallback_when_docker_fails(self):
        run = self.scan_with_docker("echo 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
        self.assertIn("Extension API 0.3.4 (default", run.stderr)

    def test_configured(self):
        run = self.scan(lines=["%s/api/exact-no" % REG])
        self.assertIn("Extension API 0.3.4 (from the configuration)", run.stderr)


def main():
    global EXE
    if len(sys.argv) < 2 or not os.access(sys.argv[1], os.X_OK):
        print("usage: test-scan.py EXTUPDATED [unittest options]", file=sys.stderr)
        return 2
    EXE = os.path.abspath(sys.argv.pop(1))
    if not os.access(harness.REGISTRY_BIN, os.X_OK):
        print("SKIP: %s not installed" % harness.REGISTRY_BIN)
        return 77
    start = time.monotonic()
    prog = unittest.main(exit=False, verbosity=2, warnings="ignore")
    result = prog.result
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    print("test-scan: %d passed, %d failed (%.1f s)" % (result.testsRun - failed, failed, time.monotonic() - start))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
