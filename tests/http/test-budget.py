#!/usr/bin/python3
# Every repository's walk ends within its time budget: hostile registries become named errors, the rest stays right.
"""Usage: test-budget.py EXTUPDATED [unittest options]

A real registry (tests/registry/harness.py) serves well-behaved extensions; faultserver.py
serves hostile ones beside them: a tags list trickling at one byte a second under a
Content-Length of 100,000, a tags list that never comes, manifests that never come, a
registry that is always busy (503, Retry-After longer than the budget) and a registry whose
token server never answers. With `repository_timeout` at a few seconds one `extupdated --once`
must end in about that time, each hostile repository with an error that says what it waited
for, every other repository with its right answer; a later scan that times out keeps the last
good values.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.environ.get("EXTUPDATED_TESTS") or os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TESTS, "registry"))

import harness  # noqa: E402
import images  # noqa: E402

BUDGET = 3
# Far below what the hostile servers could make a scan last without a budget (minutes), far above
# one budget plus start-up on a loaded machine.
WALL_LIMIT = 8 * BUDGET

EXE = None
H = None
FAULT = None
PORTS = {}
WORK = None


def setUpModule():
    global H, FAULT, WORK
    WORK = tempfile.mkdtemp(prefix="extupdated-budget-")
    unittest.addModuleCleanup(shutil.rmtree, WORK, True)
    H = harness.Harness(auth=True).start()
    unittest.addModuleCleanup(H.stop)
    H.seed({"repositories": {
        "good/one": {"tags": {v: {"labels": images.extension_labels("One", v)} for v in ("1.0.0", "1.1.0")}},
        "good/two": {"tags": {"2.0.0": {"labels": images.extension_labels("Two", "2.0.0")}}},
    }})
    FAULT = subprocess.Popen([sys.executable, os.path.join(HERE, "faultserver.py")], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    unittest.addModuleCleanup(stop_fault)
    PORTS.update(json.loads(FAULT.stdout.readline()))


def stop_fault():
    FAULT.stdin.close()
    FAULT.stdout.close()
    FAULT.terminate()
    FAULT.wait()


def hostile(name, host="a"):
    return "127.0.0.%d:%d/hostile/%s" % (1 if host == "a" else 2, PORTS[host], name)


class Budget(unittest.TestCase):
    def scan(self, lines, state):
        home = tempfile.mkdtemp(dir=WORK)
        allow = os.path.join(home, "extensions.txt")
        with open(allow, "w") as f:
            f.write("".join(line + "\n" for line in lines))
        config = {"allowlist": [allow], "extension_api_version": "0.3.4", "platform": "linux/amd64",
                  "repository_timeout": BUDGET,
                  "registries": {"127.0.0.1:%d" % PORTS["a"]: {"url": "http://127.0.0.1:%d" % PORTS["a"]},
                                 "127.0.0.2:%d" % PORTS["b"]: {"url": "http://127.0.0.2:%d" % PORTS["b"]}}}
        config_path = os.path.join(home, "config.json")
        with open(config_path, "w") as f:
            json.dump(config, f)
        env = dict(os.environ, HOME=home, DOCKER_CONFIG=os.path.join(home, "docker"))
        os.makedirs(env["DOCKER_CONFIG"])
        start = time.monotonic()
        try:
            proc = subprocess.run([EXE, "--once", "--json", "--config", config_path, "--state-dir", state],
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env,
                                  timeout=WALL_LIMIT)
        except subprocess.TimeoutExpired:
            self.fail("the scan was still running after %d s with a %d s budget per repository" %
                      (WALL_LIMIT, BUDGET))
        wall = time.monotonic() - start
        for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            self.assertNotIn(marker, proc.stderr)
        self.assertIn(proc.returncode, (0, 2), proc.stderr)
        doc = json.loads(proc.stdout)
        print("scan of %d repositories: %.1f s" % (len(lines), wall), file=sys.stderr)
        for rec in doc["extensions"]:
            print("  %s: %s" % (rec["repository"], rec["error"] or rec["status"]), file=sys.stderr)
        return {r["repository"]: r for r in doc["extensions"]}, doc["scan"]

    def assertGood(self, rec, latest):
        self.assertEqual((rec["status"], rec["error"], rec["latest"], rec["latest_compatible"]),
                         ("ok", None, latest, latest), rec["repository"])

    def assertTimedOut(self, rec, pending):
        self.assertEqual(rec["status"], "error")
        prefix = "timed out after %d s (" % BUDGET
        self.assertTrue(rec["error"].startswith(prefix), "%s: %r" % (rec["repository"], rec["error"]))
        self.assertIn(pending, rec["error"])

    def test_hostile_beside_good(self):
        good = ["%s/good/one" % H.registry, "%s/good/two" % H.registry]
        bad = [hostile("slow-tags"), hostile("stall-tags"), hostile("stall-manifest"), hostile("busy"),
               hostile("token-stall", host="b")]
        records, summary = self.scan(good[:1] + bad + good[1:], os.path.join(WORK, "state-hostile"))
        self.assertGood(records[good[0]], "1.1.0")
        self.assertGood(records[good[1]], "2.0.0")
        self.assertTimedOut(records[hostile("slow-tags")], "tags")
        self.assertTimedOut(records[hostile("stall-tags")], "tags")
        self.assertTimedOut(records[hostile("stall-manifest")], "manifest")
        self.assertTimedOut(records[hostile("token-stall", host="b")], "token")
        # A retry that could not end within the budget is not waited for: the registry's answer is the error.
        busy = records[hostile("busy")]
        self.assertEqual(busy["status"], "error")
        self.assertIn("HTTP 503", busy["error"])
        self.assertEqual(summary["errors"], len(bad))

    def test_timeout_keeps_last_good_values(self):
        state = os.path.join(WORK, "state-keep")
        good = ["%s/good/one" % H.registry, "%s/good/two" % H.registry]
        first, _ = self.scan(good, state)
        self.assertGood(first[good[0]], "1.1.0")
        H.configure(delay_ms=(BUDGET + 2) * 1000)
        try:
            second, summary = self.scan(good, state)
        finally:
            H.configure(delay_ms=0)
        self.assertEqual(summary["errors"], len(good))
        for name in good:
            rec = second[name]
            self.assertTimedOut(rec, "")
            kept = dict(first[name])
            for key in ("status", "error", "checked_at"):
                kept.pop(key)
                rec.pop(key)
            self.assertEqual(rec, kept)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    EXE = os.path.abspath(sys.argv.pop(1))
    if not os.access(harness.REGISTRY_BIN, os.X_OK):
        print("docker-registry not installed: skipping")
        sys.exit(77)
    unittest.main(verbosity=2)
