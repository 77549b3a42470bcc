#!/usr/bin/python3
# Benchmark: what the idle daemon costs (context switches of all its threads) and its RSS after a 1,000-repository scan.
"""Usage: bench-service.py --extupdated PATH [--repos N] [--tags M] [--idle-seconds S] [--watchdog]

Seeds N generated repositories (default 1000) of M tags (default 3) into a harness registry,
starts the daemon (no --once) on them with a fresh state, and waits for its first scan to end
(STATUS=Idle on a test NOTIFY_SOCKET). Then prints:

  scan             wall time of the first scan, repositories, requests (from state.db)
  RSS after scan   VmRSS and VmHWM of the daemon (/proc/PID/status), once the scan memory was
                   returned (malloc_trim, SQLite's cache released)
  idle             voluntary + involuntary context switches summed over every thread
                   (/proc/PID/task/*/status) during an idle window of --idle-seconds (default
                   300), and per minute; with --watchdog, WATCHDOG_USEC=60000000 as the unit sets
                   it, whose pings are then the only expected wake-ups (one each 30 s)

Numbers are printed, never asserted.
"""

import argparse
import glob
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.environ.get("EXTUPDATED_TESTS") or os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TESTS, "registry"))

import harness  # noqa: E402


def context_switches(pid):
    total = 0
    for status in glob.glob("/proc/%d/task/*/status" % pid):
        try:
            with open(status) as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")):
                        total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total


def memory(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "Threads"):
                out[key] = value.strip()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--extupdated", required=True)
    ap.add_argument("--repos", type=int, default=1000)
    ap.add_argument("--tags", type=int, default=3)
    ap.add_argument("--idle-seconds", type=float, default=300)
    ap.add_argument("--watchdog", action="store_true")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="extupdated-bench-service-")
    try:
        with harness.Harness(auth=True) as h:
            print("seeding %d repositories x %d tags…" % (args.repos, args.tags), flush=True)
            h.generate(args.repos, args.tags)
            allow = os.path.join(work, "extensions.txt")
            with open(allow, "w") as f:
                for i in range(args.repos):
                    f.write("%s/bench/ext-%04d\n" % (h.registry, i))
            config = os.path.join(work, "config.json")
            with open(config, "w") as f:
                json.dump({"allowlist": [allow], "extension_api_version": "0.3.4", "platform": "linux/amd64",
                           "interval": 21600, "installed_source": "api"}, f)
            notify_path = os.path.join(work, "notify.sock")
            notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            notify.bind(notify_path)
            notify.settimeout(1)
            env = dict(os.environ, NOTIFY_SOCKET=notify_path, HOME=work, DOCKER_CONFIG=os.path.join(work, "docker"))
            for key in ("WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID"):
                env.pop(key, None)
            if args.watchdog:
                env["WATCHDOG_USEC"] = "60000000"
            state = os.path.join(work, "state")
            start = time.monotonic()
            proc = subprocess.Popen([args.extupdated, "--config", config, "--state-dir", state, "--no-dbus",
                                     "--socket", os.path.join(work, "api.sock")],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=open(os.path.join(work, "stderr.log"), "w"), env=env)
            seen_scanning = False
            while True:
                try:
                    msg = notify.recv(65536).decode()
                except socket.timeout:
                    if proc.poll() is not None:
                        sys.exit("extupdated exited: see %s/stderr.log" % work)
                    continue
                seen_scanning = seen_scanning or "STATUS=Scanning" in msg
                if seen_scanning and "STATUS=Idle" in msg:
                    break
            scan_s = time.monotonic() - start
            db = sqlite3.connect(os.path.join(state, "state.db"))
            repos, errors, requests = db.execute(
                "SELECT repositories, errors, requests FROM scans ORDER BY id DESC LIMIT 1").fetchone()
            db.close()
            time.sleep(1)
            print("scan:            %.1f s, %d repositories, %d errors, %d requests" % (scan_s, repos, errors, requests))
            m = memory(proc.pid)
            print("RSS after scan:  %s (peak %s), %s threads" % (m["VmRSS"], m["VmHWM"], m["Threads"]))
            before = context_switches(proc.pid)
            time.sleep(args.idle_seconds)
            after = context_switches(proc.pid)
            n = after - before
            print("idle:            %d context switches over %.0f s (all threads), %.2f per minute%s"
                  % (n, args.idle_seconds, n * 60.0 / args.idle_seconds,
                     " (watchdog every 30 s)" if args.watchdog else ""))
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)
            notify.close()
    finally:
        shutil.rmtree(work, True)


if __name__ == "__main__":
    main()
