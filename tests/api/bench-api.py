#!/usr/bin/python3
# Benchmark: API latency with 1,000 clients at once, idle and while a slow scan runs; prints figures, asserts none.
"""Usage: bench-api.py EXTUPDATED

The daemon scans the generated repositories of the registry harness (tests/registry/harness.py).
Each round opens 1,000 connections at once, each sending one request (GET /v1/status or
GET /v1/extensions) and reading the answer; latency is from connect to the last byte. One round
runs while the daemon is idle, one while a scan is held up by 200 ms of added registry latency (the
answers come from the store and should not wait for it), and one over 100 keep-alive connections
of 10 requests each. Latency on a loaded machine says as much about the machine and this Python
client as about the daemon, so each round also reports the daemon's own CPU time per request and
its RSS.
"""

import asyncio
import json
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.environ.get("EXTUPDATED_TESTS") or os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TESTS, "registry"))
sys.path.insert(0, HERE)

import harness  # noqa: E402
from apitest import Daemon, request  # noqa: E402

CLIENTS = 1000


async def one(sock, path, requests=1):
    start = time.monotonic()
    reader, writer = await asyncio.open_unix_connection(sock, limit=1 << 22)
    ok = True
    for i in range(requests):
        last = i == requests - 1
        writer.write(("GET %s HTTP/1.1\r\nHost: localhost\r\n%s\r\n" %
                      (path, "Connection: close\r\n" if last else "")).encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        ok = ok and head.split(b" ", 2)[1] == b"200"
        length = int([h.split(b":")[1] for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:")][0])
        await reader.readexactly(length)
    writer.close()
    return ok, time.monotonic() - start


def cpu_ms(pid):
    """User and system CPU time of the process, in ms (clock ticks of 10 ms)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 // os.sysconf("SC_CLK_TCK")


def round_(d, n, requests=1):
    sock = d.socket
    cpu = cpu_ms(d.proc.pid)
    async def all_():
        return await asyncio.gather(*(one(sock, "/v1/extensions" if i % 2 else "/v1/status", requests)
                                      for i in range(n)), return_exceptions=True)
    start = time.monotonic()
    results = asyncio.run(all_())
    wall = time.monotonic() - start
    failed = sum(1 for r in results if isinstance(r, BaseException) or not r[0])
    lat = sorted(r[1] * 1000 for r in results if not isinstance(r, BaseException))
    # The daemon's own CPU per request does not depend on how busy the machine or this client is.
    return {"clients": n, "requests_each": requests, "failed": failed, "wall_s": round(wall, 3),
            "p50_ms": round(lat[len(lat) // 2], 1), "p99_ms": round(lat[int(len(lat) * 0.99)], 1),
            "max_ms": round(lat[-1], 1), "requests_per_s": round(n * requests / wall),
            "daemon_cpu_ms_per_request": round((cpu_ms(d.proc.pid) - cpu) / (n * requests), 3),
            "daemon_rss_kib": d.rss_kib(), "load_average": os.getloadavg()[0]}


def main():
    exe = sys.argv[1]
    work = tempfile.mkdtemp(prefix="bench-api-")
    try:
        with harness.Harness() as h:
            h.generate(50, 5)
            allowlist = os.path.join(work, "extensions.txt")
            with open(allowlist, "w") as f:
                f.writelines("%s/bench/ext-%04d\n" % (h.registry, i) for i in range(50))
            d = Daemon(work, exe, "bench", {"allowlist": [allowlist], "extension_api_version": "0.3.4",
                                            "platform": "linux/amd64", "installed_source": "api",
                                            "notifications": False}).start()
            try:
                request(d.socket, "POST", "/v1/scan?wait=1", timeout=300)
                idle = round_(d, CLIENTS)
                h.configure(delay_ms=200)
                request(d.socket, "POST", "/v1/scan")
                busy = round_(d, CLIENTS)
                scanning = request(d.socket, "GET", "/v1/status")[2]["state"]
                h.configure(delay_ms=0)
                keepalive = round_(d, 100, 10)
                print(json.dumps({"idle": idle, "during_scan": dict(busy, state_after=scanning),
                                  "keep_alive": keepalive}, indent=1))
            finally:
                d.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
