#!/usr/bin/python3
# Crash test of `extupdated --once`: SIGKILL at random moments of scans; the state stays intact and the next scan is right.
"""Usage: test-crash.py EXTUPDATED [--runs N] [--repos N] [--seed S]

Seeds N repositories (default 30) of five versions each, the newest two needing a newer
Extension API than this Desktop's, so a cold scan inspects three versions per repository and
writes manifests, configs, tags, verdicts and results. A clean scan in a state directory of its
own gives the reference report and the length of a cold scan; a second one the length of a warm
scan. Then, in one state directory, `--runs` scans (default 24) are each killed with SIGKILL after
a random delay within the length of the scan they are doing: a cold one until a scan has
completed on that state, a warm one after, twice that after new versions were pushed to a few
repositories (before every third run). After each, `PRAGMA integrity_check` must answer ok.
Every fourth run also replaces the installed inventory, so kills keep landing on cold work,
result writes and inventory writes as the state warms up. A final scan on that state must report
what a scan in a fresh state directory reports, ignoring times, ids and request counts.
"""

import argparse
import inspect
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.environ.get("EXTUPDATED_TESTS") or os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TESTS, "registry"))

import harness  # noqa: E402
import images  # noqa: E402

if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
    tempfile.tempdir = "/dev/shm"

VERSIONS = 5
INCOMPATIBLE = 2
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "UndefinedBehaviorSanitizer")

passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL: %s" % what, flush=True)
    return cond


def comparable(doc):
    """The report without what differs between equal scans: ids, times, request counts."""
    scan = {k: v for k, v in doc["scan"].items() if k in ("repositories", "updates", "errors")}
    return {"scan": scan, "extensions": [{k: v for k, v in r.items() if k != "checked_at"}
                                         for r in doc["extensions"]]}


def seed_images(h, spec):
    """Straight into the registry's storage where the harness can (much quicker), else over its API."""
    if "via" in inspect.signature(h.seed).parameters:
        return h.seed(spec, via="storage")
    return h.seed(spec)


def quiet_servers(h):
    """Killed clients reset their connections: expected here, so the servers need not print tracebacks."""
    for server in (h.front, h.server):
        server.handle_error = lambda request, client_address: None


def integrity(state):
    path = os.path.join(state, "state.db")
    if not os.path.exists(path):
        return None
    db = sqlite3.connect(path, timeout=10)
    try:
        return [row[0] for row in db.execute("PRAGMA integrity_check")]
    finally:
        db.close()


class Scanner:
    def __init__(self, exe, work, config, env):
        self.exe = exe
        self.work = work
        self.config = config
        self.env = env

    def argv(self, state, installed=None):
        argv = [self.exe, "--once", "--json", "--config", self.config, "--state-dir", state]
        if installed:
            argv += ["--installed", installed]
        return argv

    def complete(self, state, installed=None):
        start = time.monotonic()
        proc = subprocess.run(self.argv(state, installed), stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=300, env=self.env)
        elapsed = time.monotonic() - start
        for marker in SANITIZER_MARKERS:
            check(marker not in proc.stderr, "no sanitizer report: %s" % proc.stderr[-3000:])
        if not check(proc.returncode == 0, "a complete scan exits 0, got %d: %s" % (proc.returncode, proc.stderr)):
            return None, elapsed
        return json.loads(proc.stdout), elapsed

    def killed(self, state, delay, installed=None):
        """Starts a scan and SIGKILLs it after delay seconds; True if it was still running."""
        proc = subprocess.Popen(self.argv(state, installed), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env=self.env)
        try:
            proc.wait(delay)
            finished = True
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            finished = False
        err = proc.communicate(timeout=60)[1].decode("utf-8", "replace")
        if not finished and proc.returncode == 0:
            # It exited between the wait's timeout and the kill: the signal met a finished process.
            finished = True
        if finished:
            check(proc.returncode == 0, "an unkilled scan exits 0, got %d: %s" % (proc.returncode, err))
        else:
            check(proc.returncode == -signal.SIGKILL, "killed by SIGKILL, got %d" % proc.returncode)
        for marker in SANITIZER_MARKERS:
            check(marker not in err, "no sanitizer report: %s" % err[-3000:])
        return not finished


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("exe")
    parser.add_argument("--runs", type=int, default=24)
    parser.add_argument("--repos", type=int, default=30)
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: time)")
    args = parser.parse_args()
    if not os.access(harness.REGISTRY_BIN, os.X_OK):
        print("SKIP: %s not installed" % harness.REGISTRY_BIN)
        return 77
    seed = args.seed if args.seed is not None else int(time.time())
    rng = random.Random(seed)
    print("random seed %d (--seed %d repeats this run)" % (seed, seed), flush=True)

    started = time.monotonic()
    work = tempfile.mkdtemp(prefix="extupdated-crash-")
    h = harness.Harness(auth=True).start()
    quiet_servers(h)
    try:
        names = ["crash/ext-%04d" % i for i in range(args.repos)]
        seed_images(h, images.generate_spec(args.repos, VERSIONS, INCOMPATIBLE, namespace="crash", attestations=False))
        print("seeded %d repositories x %d versions in %.1f s" % (args.repos, VERSIONS, time.monotonic() - started),
              flush=True)

        allow = os.path.join(work, "extensions.txt")
        with open(allow, "w") as f:
            f.write("".join("%s/%s\n" % (h.registry, n) for n in names))
        config = os.path.join(work, "config.json")
        with open(config, "w") as f:
            json.dump({"allowlist": [allow], "extension_api_version": "0.3.4", "platform": "linux/amd64"}, f)
        inventories = []
        for i in range(2):
            path = os.path.join(work, "installed-%d.json" % i)
            with open(path, "w") as f:
                json.dump({"%s/%s" % (h.registry, n): "1.%d.0" % (i + k % 3) for k, n in enumerate(names[i::2])}, f)
            inventories.append(path)
        home = os.path.join(work, "home")
        os.makedirs(os.path.join(home, "docker"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("EXTUPDATED_TEST_")}
        env.update({"HOME": home, "XDG_CONFIG_HOME": os.path.join(home, "config"),
                    "XDG_STATE_HOME": os.path.join(home, "state"), "DOCKER_CONFIG": os.path.join(home, "docker")})
        scanner = Scanner(args.exe, work, config, env)

        clean_state = os.path.join(work, "clean")
        reference, cold = scanner.complete(clean_state, inventories[0])
        if reference is None:
            return 1
        check(len(reference["extensions"]) == args.repos, "the clean scan reports every repository")
        check(all(r["status"] == "ok" and r["latest"] == "1.%d.0" % (VERSIONS - 1) and
                  r["latest_compatible"] == "1.%d.0" % (VERSIONS - 1 - INCOMPATIBLE) for r in reference["extensions"]),
              "the clean scan finds the newest compatible version everywhere")
        _, warm = scanner.complete(clean_state, inventories[0])
        print("cold scan of %d repositories: %.2f s, %d requests; warm scan %.2f s" %
              (args.repos, cold, reference["scan"]["requests"], warm), flush=True)

        state = os.path.join(work, "crash")
        mid_scan = 0
        bumped = 0
        installed = inventories[0]
        window = cold
        for run in range(args.runs):
            if run % 3 == 2:
                # New versions: some repositories have cold work again.
                bumped += 1
                version = "2.%d.0" % bumped
                seed_images(h, {"repositories": {n: {"tags": {version: {
                    "labels": images.extension_labels("Extension " + n[-4:], version)}}}
                    for n in rng.sample(names, 5)}})
                window = max(window, 2 * warm)
            if run % 4 == 3:
                installed = inventories[(run // 4) % 2]
                arg = installed
            else:
                arg = None
            delay = rng.uniform(0, window)
            was_running = scanner.killed(state, delay, arg)
            mid_scan += was_running
            if not was_running:
                window = warm
            result = integrity(state)
            if result is None:
                check(was_running, "run %d: state.db exists after a complete scan" % run)
            else:
                check(result == ["ok"], "run %d (kill after %.3f s): integrity_check says %s" % (run, delay, result))
            print("run %2d: kill after %.3f s, %s, integrity %s" %
                  (run, delay, "mid-scan" if was_running else "had finished", result and result[0]), flush=True)

        final, _ = scanner.complete(state, installed)
        reference, _ = scanner.complete(os.path.join(work, "clean-end"), installed)
        if final is not None and reference is not None:
            same = comparable(final) == comparable(reference)
            if not same:
                print(json.dumps(comparable(final), indent=1), json.dumps(comparable(reference), indent=1), sep="\n")
            check(same, "the scan after the kills reports what a clean scan does")
            check(integrity(state) == ["ok"], "integrity after the final scan")
        check(mid_scan >= args.runs // 3, "at least a third of the kills landed mid-scan (%d of %d)" % (mid_scan, args.runs))
        print("%d of %d kills landed mid-scan; %.1f s in all" % (mid_scan, args.runs, time.monotonic() - started))
    finally:
        h.stop()
        shutil.rmtree(work, ignore_errors=True)
    print("test-crash: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
