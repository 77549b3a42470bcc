#!/usr/bin/python3
# Measures how fast the harness seeds generated repositories, through storage and through the registry API.
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import images  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--storage", default="500,10", help="N,M seeded straight into storage")
    parser.add_argument("--api", default="25,10", help="N,M pushed over the registry API")
    args = parser.parse_args()
    if not os.access(harness.REGISTRY_BIN, os.X_OK):
        print("%s not installed: skipping" % harness.REGISTRY_BIN)
        return 77
    with harness.Harness() as h:
        for via, size in (("storage", args.storage), ("api", args.api)):
            n, m = (int(x) for x in size.split(","))
            h.seed(images.generate_spec(n, m, namespace="bench-" + via), via=via)
            s = h.last_seed_stats
            print("seed via %-7s %4d repositories x %2d tags (+latest): %7.2f s, %6d registry requests, %6.1f tags/s"
                  % (via, n, m, s["seconds"], s["requests"], s["tags"] / max(s["seconds"], 1e-9)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
