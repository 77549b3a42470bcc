#!/usr/bin/python3
# Benchmark: extupdated --once (cold, warm, one new tag) against the skopeo script, on one real registry.
"""Scans N generated repositories x M tags with `extupdated --once` and with skopeo-scan.py, side by side.

One harness registry (token auth) is seeded with N repositories of M multi-arch SemVer tags whose
newest K need API >= 0.9.0, so with API 0.3.4 every scan must walk down K+1 versions. The runs
below are made once per --rtt-ms value: at 0 against the registry itself, otherwise through a
delaying TCP proxy in front of the registry and another in front of the token server (this
machine has no netem), each adding that round-trip time. Runs:

  extupdated cold       empty state directory
  extupdated warm       the same state, nothing changed in the registry
  skopeo                skopeo-scan.py, --jobs repositories at a time (skopeo keeps no state: warm = cold)
  skopeo config-only    the same without `inspect --raw` (one skopeo call per candidate)
  skopeo sequential     skopeo-scan.py --jobs 1 on the first --sequential repositories
  (push a new compatible version to --new-tags repositories)
  extupdated new tag    the warm state again, after the push
  skopeo after push     skopeo-scan.py again, to check both still agree

The default (100 x 10, RTT 0 and 20 ms, skopeo before the push only) takes a few minutes on two
cores; `--repos 1000 --skopeo-runs 0 --sequential 0 --no-config-only` is the large run. Each run gets: wall time; client CPU (user+sys of the whole process tree, from GNU time); peak RSS as
the largest single process (GNU time's maximum resident set size) and as the sampled sum over the live process tree;
the registry's CPU time; and the requests the registry's own access log and the token server saw
(reset before each run), by kind. For extupdated the report's "requests" is compared with that
count. Every answer (latest, latest_compatible per repository) is compared with the other tool's
and with what the generator implies; mismatches are printed. A second table gives per run the
requests per repository, the manifest GETs (Docker Hub's counted pulls), the peak RSS and, with a
round-trip time, how far the wall time is from the ideal of requests x RTT / connections.
Timings are printed, never asserted.
"""

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.environ.get("EXTUPDATED_TESTS") or os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TESTS, "registry"))

import harness  # noqa: E402
import images  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")
TIME = "/usr/bin/time"
KINDS = [("token", "GET token"), ("base", "GET base"), ("tags", "GET tags"), ("HEAD man", "HEAD manifest"),
         ("GET man", "GET manifest"), ("GET blob", "GET blob")]


def say(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def tree_rss(root):
    """Resident bytes of root's descendants (not root itself) right now."""
    total, todo = 0, [(root, False)]
    while todo:
        pid, count = todo.pop()
        try:
            if count:
                with open("/proc/%d/statm" % pid) as f:
                    total += int(f.read().split()[1]) * PAGE
            for tid in os.listdir("/proc/%d/task" % pid):
                with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                    todo.extend((int(c), True) for c in f.read().split())
        except (OSError, ValueError):
            pass
    return total


def proc_cpu(pid):
    """User+system seconds a running process has used."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


class Sampler(threading.Thread):
    def __init__(self, pid, interval):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak = 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, tree_rss(self.pid))
            self.stop.wait(self.interval)


class DelayProxy:
    """A TCP proxy to 127.0.0.1:port that adds rtt_ms of round-trip time: the bytes of each direction
    leave rtt/2 after they arrived, and a new connection's first bytes wait one more RTT (the
    handshake a real network costs before a request can go out)."""

    def __init__(self, port, rtt_ms):
        self.target, self.rtt = port, rtt_ms / 1000.0
        # The loop holds its tasks weakly: one nobody references can be collected mid-copy.
        self.tasks = set()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        server = asyncio.run_coroutine_threadsafe(asyncio.start_server(self.handle, "127.0.0.1", 0),
                                                  self.loop).result()
        self.port = server.sockets[0].getsockname()[1]

    def keep(self, task):
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def handle(self, reader, writer):
        self.keep(asyncio.current_task())
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.close()
            return
        await asyncio.sleep(self.rtt)
        await asyncio.gather(self.pump(reader, up_writer), self.pump(up_reader, writer), return_exceptions=True)
        for w in (writer, up_writer):
            w.close()

    async def pump(self, reader, writer):
        """Copies reader to writer, each chunk rtt/2 after it arrived, in order; EOF passes on too."""
        queue = asyncio.Queue()

        async def send():
            while True:
                due, data = await queue.get()
                delay = due - self.loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()

        sender = self.keep(asyncio.ensure_future(send()))
        try:
            while True:
                data = await reader.read(65536)
                queue.put_nowait((self.loop.time() + self.rtt / 2, data))
                if not data:
                    break
        except OSError:
            queue.put_nowait((0, b""))
        await sender


class DelayedHarness(harness.Harness):
    """The harness with its token realm behind a DelayProxy (rtt_ms > 0), so tokens pay the RTT too."""

    def __init__(self, rtt_ms, **kwargs):
        super().__init__(**kwargs)
        self.rtt_ms, self.token_proxy = rtt_ms, None

    def _registry_config(self, port):
        config = super()._registry_config(port)
        if self.rtt_ms and "auth" in config:
            self.token_proxy = DelayProxy(self.token_port, self.rtt_ms)
            config["auth"]["token"]["realm"] = "http://127.0.0.1:%d/token" % self.token_proxy.port
        return config


class Bench:
    def __init__(self, args, h, workdir):
        self.args, self.h, self.workdir = args, h, workdir
        self.results = []
        self.env = dict(os.environ)
        # Both tools go anonymous: no credentials from the caller's docker config.
        self.env["DOCKER_CONFIG"] = os.path.join(workdir, "docker-config")
        os.mkdir(self.env["DOCKER_CONFIG"])
        self.env.pop("REGISTRY_AUTH_FILE", None)

    def measure(self, name, argv, parse, n_repos, rtt_ms=0, connections=1):
        """Runs argv once with the registry log reset; returns the parsed output."""
        h = self.h
        h.reset_log()
        out_path = os.path.join(self.workdir, "out.json")
        err_path = os.path.join(self.workdir, "err.txt")
        time_path = os.path.join(self.workdir, "time.txt")
        registry_cpu = proc_cpu(h.proc.pid)
        say("%s: %s" % (name, " ".join(argv)))
        # GNU time forks from a small process: a child forked by this Python would start its
        # ru_maxrss at Python's own size.
        timed = [TIME, "-f", "%e %U %S %M", "-o", time_path] + argv
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            start = time.monotonic()
            proc = subprocess.Popen(timed, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=self.env)
            sampler = Sampler(proc.pid, self.args.sample_ms / 1000.0)
            sampler.start()
            proc.wait()
            wall = time.monotonic() - start
            sampler.stop.set()
            sampler.join()
        registry_cpu = proc_cpu(h.proc.pid) - registry_cpu
        with open(time_path) as f:
            _, user, system, maxrss_kib = f.read().split()[-4:]
        counts = h.counts()
        with open(err_path, encoding="utf-8", errors="replace") as f:
            err_text = f.read()
        if proc.returncode not in (0, 2):
            say("%s exited with %d:\n%s" % (name, proc.returncode, err_text[-3000:]))
        try:
            with open(out_path, encoding="utf-8") as f:
                doc = json.load(f)
        except ValueError:
            say("%s printed no JSON:\n%s" % (name, err_text[-3000:]))
            doc = None
        answers, extra = parse(doc) if doc else ({}, {})
        maxrss = int(maxrss_kib) * 1024
        row = {"name": name, "rtt": rtt_ms, "connections": connections,
               "exit": proc.returncode, "wall": wall, "cpu": float(user) + float(system),
               "maxrss": maxrss, "tree_rss": max(sampler.peak, maxrss),
               "registry_cpu": registry_cpu, "counts": counts, "repos": n_repos, "answers": answers}
        row.update(extra)
        self.results.append(row)
        say("%s: %.2f s, %d requests, exit %d" % (name, wall, counts.get("total", 0), proc.returncode))
        return row

    def extupdated(self, name, config, state_dir, n_repos, rtt_ms=0):
        def parse(doc):
            answers = {e["repository"]: (e.get("latest"), e.get("latest_compatible"), e.get("digest"))
                       for e in doc.get("extensions", [])}
            return answers, {"reported": doc.get("scan", {}).get("requests")}
        argv = [self.args.extupdated, "--once", "--json", "--config", config, "--state-dir", state_dir]
        return self.measure(name, argv, parse, n_repos, rtt_ms, self.args.jobs)

    def skopeo(self, name, allowlist, n_repos, jobs, config_only=False, rtt_ms=0):
        def parse(doc):
            answers = {e["repository"]: (e.get("latest"), e.get("latest_compatible"), e.get("digest"))
                       for e in doc.get("extensions", [])}
            return answers, {"processes": doc.get("processes")}
        argv = [sys.executable, os.path.join(HERE, "skopeo-scan.py"), "--allowlist", allowlist,
                "--api", "0.3.4", "--platform", "linux/amd64", "--jobs", str(jobs), "--no-creds"]
        if self.args.extupdatectl:
            argv += ["--extupdatectl", self.args.extupdatectl]
        if config_only:
            argv.append("--config-only")
        return self.measure(name, argv, parse, n_repos, rtt_ms, jobs)


def compare(label, got, want):
    """Prints the repositories whose latest, latest_compatible (and digest, when both know it)
    differ; returns how many."""
    bad = 0
    for repo in sorted(set(got) | set(want)):
        g = got.get(repo, (None, None, None))
        w = want.get(repo, (None, None, None))
        same = g[:2] == w[:2] and not (g[2:] and w[2:] and g[2] and w[2] and g[2] != w[2])
        if not same:
            if bad < 10:
                print("  mismatch %s: %s: %s vs %s" % (label, repo, g, w))
            bad += 1
    if bad > 10:
        print("  … %d more mismatches (%s)" % (bad - 10, label))
    return bad


def mib(n):
    return "%.1f" % (n / 1048576.0)


def print_table(results):
    head = ["run", "rtt", "exit", "wall s", "cpu s", "rss MiB", "tree MiB", "reg cpu s", "requests", "/repo"]
    head += [k for k, _ in KINDS] + ["other", "report", "agrees"]
    rows = []
    for r in results:
        c = dict(r["counts"])
        total = c.pop("total", 0)
        known = [c.pop(key, 0) for _, key in KINDS]
        report = "-"
        if r.get("reported") is not None:
            report = "%d %s" % (r["reported"], "=" if r["reported"] == total else "!=")
        rows.append([r["name"], str(r["rtt"]), str(r["exit"]), "%.2f" % r["wall"], "%.2f" % r["cpu"], mib(r["maxrss"]),
                     mib(r["tree_rss"]), "%.2f" % r["registry_cpu"], str(total),
                     "%.2f" % (total / max(r["repos"], 1))] + [str(v) for v in known] +
                    [str(sum(c.values())), report, r.get("agrees", "-")])
    widths = [max(len(x[i]) for x in rows + [head]) for i in range(len(head))]
    line = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    print(line(head))
    print(line(["-" * w for w in widths]))
    for row in rows:
        print(line(row))


def print_cost_table(results):
    """Per run: requests per repository, pulls, peak RSS, and wall time against requests x RTT / connections."""
    head = ["run", "rtt ms", "wall s", "req/repo", "pulls", "rss MiB", "ideal s", "x ideal"]
    rows = []
    for r in results:
        total = r["counts"].get("total", 0)
        ideal = total * r["rtt"] / 1000.0 / max(r["connections"], 1)
        rows.append([r["name"], str(r["rtt"]), "%.2f" % r["wall"], "%.2f" % (total / max(r["repos"], 1)),
                     str(r["counts"].get("GET manifest", 0)), mib(r["tree_rss"]),
                     "%.2f" % ideal if ideal else "-", "%.2f" % (r["wall"] / ideal) if ideal else "-"])
    widths = [max(len(x[i]) for x in rows + [head]) for i in range(len(head))]
    line = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    print(line(head))
    print(line(["-" * w for w in widths]))
    for row in rows:
        print(line(row))


def report(args, b, mism, n, m, k):
    """Prints the table and the comparisons (and writes --json-out)."""
    print()
    print("%d repositories x %d tags (+latest), newest %d need API >= 0.9.0; API 0.3.4, linux/amd64; "
          "%d connections / jobs; registry %s; RTT %s ms; %d CPUs, load %.1f" %
          (n, m, k, args.jobs, args.via, ",".join(map(str, args.rtt)), os.cpu_count(), os.getloadavg()[0]))
    print_table(b.results)
    print()
    print_cost_table(b.results)
    print()
    print("wall: elapsed; cpu: user+sys of the client's whole process tree; rss: largest single process; "
          "tree: sampled peak of the tree's sum;")
    print("reg cpu: the registry's CPU time; requests: registry access log + token server, by kind; "
          "report: extupdated's own count (= matches the server).")
    for r in b.results:
        if r.get("processes"):
            print("%s: %d skopeo and %d extupdatectl processes" % (r["name"], r["processes"]["skopeo"],
                                                                   r["processes"]["extupdatectl"]))
    ext = [r for r in b.results if r["name"].startswith("extupdated cold") and r["rtt"] == 0]
    sko = [r for r in b.results if r["name"].startswith("skopeo -j%d" % args.jobs) and r["rtt"] == 0]
    if ext and sko and ext[0]["wall"] > 0 and ext[0]["counts"].get("total"):
        e, s = ext[0], sko[0]
        print("skopeo -j%d / extupdated cold: %.1fx wall, %.1fx client CPU, %.1fx requests" %
              (args.jobs, s["wall"] / e["wall"], s["cpu"] / max(e["cpu"], 1e-3),
               s["counts"]["total"] / e["counts"]["total"]))
    for r in b.results:
        if r["name"].startswith("skopeo -j1") and r["repos"]:
            print("skopeo sequential: %.3f s per repository, about %.0f s for all %d" %
                  (r["wall"] / r["repos"], r["wall"] / r["repos"] * n, n))
    bad = {k: v for k, v in mism.items() if v}
    print("answers: %s" % ("all agree (%s)" % ", ".join(mism) if not bad else
                           "; ".join("%s: %d mismatches" % kv for kv in bad.items())))
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"repos": n, "tags": m, "incompatible": k, "jobs": args.jobs, "via": args.via, "rtt_ms": args.rtt,
                       "runs": [{x: v for x, v in r.items() if x != "answers"} for r in b.results],
                       "mismatches": mism}, f, indent=1)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repos", type=int, default=100, help="repositories (default 100; 1000 for the large run)")
    p.add_argument("--tags", type=int, default=10, help="SemVer tags per repository (default 10)")
    p.add_argument("--incompatible", type=int, default=2, help="newest versions needing API >= 0.9.0 (default 2)")
    p.add_argument("--new-tags", type=int, default=10, help="repositories that get a new version (default 10)")
    p.add_argument("--jobs", type=int, default=8, help="max_connections of extupdated and skopeo's parallelism (default 8)")
    p.add_argument("--rtt-ms", default="0,20",
                   help="round-trip times in ms to run everything at, comma-separated (default 0,20)")
    p.add_argument("--sequential", type=int, default=10,
                   help="run skopeo sequentially on this many repositories, at RTT 0 (0: skip; default 10)")
    p.add_argument("--skopeo-runs", type=int, default=1, choices=(0, 1, 2),
                   help="1: skopeo before the push (default), 2: also after it, 0: never")
    p.add_argument("--no-config-only", action="store_true", help="skip the skopeo --config-only run (made at RTT 0)")
    p.add_argument("--via", choices=("direct", "front"), default="direct",
                   help="address the registry directly (default) or through the harness's Python front")
    p.add_argument("--extupdated", help="the daemon (default $EXTUPDATED_BUILD/daemon/extupdated)")
    p.add_argument("--extupdatectl", help="for skopeo-scan's range checks (default next to extupdated)")
    p.add_argument("--sample-ms", type=int, default=20, help="process-tree RSS sampling interval (default 20)")
    p.add_argument("--json-out", help="also write every figure as JSON to this file")
    args = p.parse_args()
    try:
        args.rtt = sorted({int(x) for x in args.rtt_ms.split(",") if x.strip()})
    except ValueError:
        p.error("--rtt-ms: comma-separated whole milliseconds expected, got %r" % args.rtt_ms)
    if not args.rtt or min(args.rtt) < 0:
        p.error("--rtt-ms: at least one round-trip time, none negative")

    build = os.environ.get("EXTUPDATED_BUILD", "")
    args.extupdated = args.extupdated or os.path.join(build, "daemon", "extupdated")
    if args.extupdatectl is None:
        ctl = os.path.join(os.path.dirname(os.path.abspath(args.extupdated)), "extupdatectl")
        args.extupdatectl = ctl if os.access(ctl, os.X_OK) else None
    missing = [x for x in (harness.REGISTRY_BIN, args.extupdated, TIME) if not os.access(x, os.X_OK)]
    if not shutil.which("skopeo"):
        missing.append("skopeo")
    if missing:
        print("not available: %s: skipping" % ", ".join(missing))
        return 77
    n, m, k = args.repos, args.tags, min(args.incompatible, args.tags)

    workdir = tempfile.mkdtemp(prefix="extupdated-bench-")
    try:
        with DelayedHarness(max(args.rtt)) as h:
            start = time.monotonic()
            h.generate(n, m, incompatible=k)
            say("seeded %d x %d (newest %d incompatible) in %.1f s" % (n, m, k, time.monotonic() - start))
            registry = h.registry if args.via == "front" else h.registry_direct_url.split("://", 1)[1]
            repos = ["bench/ext-%04d" % i for i in range(n)]
            newest_ok = "1.%d.0" % (m - 1 - k) if m > k else None

            # One set-up per round-trip time: the registry's address (a proxy's when delayed), the
            # allow-list naming it, a config, a state directory and the answers expected there.
            setups = []
            for rtt in args.rtt:
                host = registry if rtt == 0 else "127.0.0.1:%d" % DelayProxy(int(registry.rsplit(":", 1)[1]), rtt).port
                d = os.path.join(workdir, "rtt-%d" % rtt)
                os.mkdir(d)
                names = ["%s/%s" % (host, r) for r in repos]
                allowlist = os.path.join(d, "allowlist.txt")
                with open(allowlist, "w") as f:
                    f.write("".join(x + "\n" for x in names))
                config = os.path.join(d, "config.json")
                with open(config, "w") as f:
                    json.dump({"allowlist": [allowlist], "extension_api_version": "0.3.4",
                               "platform": "linux/amd64", "max_connections": args.jobs}, f)
                setups.append({"rtt": rtt, "names": names, "allowlist": allowlist, "config": config,
                               "state": os.path.join(d, "state"), "dir": d,
                               "expected": {x: ("1.%d.0" % (m - 1) if m else None, newest_ok) for x in names}})

            b = Bench(args, h, workdir)
            mism = {}

            def at(rtt, label):
                if h.token_proxy:
                    h.token_proxy.rtt = rtt / 1000.0
                return label if len(args.rtt) == 1 else "%s @%dms" % (label, rtt)

            def agree(row, key, got, want, against):
                mism[key] = compare(key, got, want)
                row["agrees"] = "%s %s" % (against, "ok" if not mism[key] else "NO")

            for st in setups:
                rtt = st["rtt"]
                cold = b.extupdated(at(rtt, "extupdated cold"), st["config"], st["state"], n, rtt)
                agree(cold, at(rtt, "extupdated cold vs generator"), cold["answers"], st["expected"], "gen")
                warm = b.extupdated(at(rtt, "extupdated warm"), st["config"], st["state"], n, rtt)
                agree(warm, at(rtt, "extupdated warm vs cold"), warm["answers"], cold["answers"], "cold")
                st["cold"] = cold
                if args.skopeo_runs >= 1:
                    sk = b.skopeo(at(rtt, "skopeo -j%d" % args.jobs), st["allowlist"], n, args.jobs, rtt_ms=rtt)
                    agree(sk, at(rtt, "skopeo vs extupdated cold"), sk["answers"], cold["answers"], "ext")
                    if not args.no_config_only and rtt == 0:
                        lean = b.skopeo("skopeo config-only -j%d" % args.jobs, st["allowlist"], n, args.jobs,
                                        config_only=True)
                        agree(lean, "skopeo config-only vs extupdated cold", lean["answers"], cold["answers"], "ext")
                if args.sequential > 0 and rtt == 0:
                    s = min(args.sequential, n)
                    sample = os.path.join(st["dir"], "allowlist-sample.txt")
                    with open(sample, "w") as f:
                        f.write("".join(x + "\n" for x in st["names"][:s]))
                    seq = b.skopeo("skopeo -j1 (%d repos)" % s, sample, s, 1)
                    agree(seq, "skopeo sequential vs extupdated cold", seq["answers"],
                          {x: cold["answers"][x] for x in st["names"][:s] if x in cold["answers"]}, "ext")

            changed = [] if n == 0 else sorted({(i * n) // max(args.new_tags, 1) for i in range(min(args.new_tags, n))})
            if changed:
                new_version = "1.%d.0" % m
                spec = {"repositories": {repos[i]: {"tags": {new_version: {
                    "labels": images.extension_labels("Extension %04d" % i, new_version),
                    "platforms": list(images.DEFAULT_PLATFORMS), "attestations": True}}} for i in changed}}
                start = time.monotonic()
                if h.token_proxy:
                    h.token_proxy.rtt = 0
                h.seed(spec)
                say("pushed %s to %d repositories in %.1f s" % (new_version, len(changed), time.monotonic() - start))
                for st in setups:
                    rtt = st["rtt"]
                    for i in changed:
                        st["expected"][st["names"][i]] = (new_version, new_version)
                    new = b.extupdated(at(rtt, "extupdated new tag (%d)" % len(changed)), st["config"], st["state"],
                                       n, rtt)
                    agree(new, at(rtt, "extupdated new tag vs generator"), new["answers"], st["expected"], "gen")
                    if args.skopeo_runs >= 2:
                        sk2 = b.skopeo(at(rtt, "skopeo after push -j%d" % args.jobs), st["allowlist"], n, args.jobs,
                                       rtt_ms=rtt)
                        agree(sk2, at(rtt, "skopeo after push vs extupdated new tag"), sk2["answers"], new["answers"],
                              "ext")
            report(args, b, mism, n, m, k)
            sys.stdout.flush()
            say("stopping the registry and removing its storage")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
