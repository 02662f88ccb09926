"""Catalog load time: the bundled YAML catalogs parsed cold (fresh process) and cached.

Run from the repository root::

    .venv/bin/python benchmarks/bench_catalog.py            # 11 fresh processes
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

PROBE = r"""
import json, time
import plaster_model
from plaster_model.catalog import loader
t0 = time.perf_counter()
import yaml, pint                      # the parsers the first load needs
t1 = time.perf_counter()
cat = loader.bundled_catalog()         # cold: read + parse + build + cross-check
t2 = time.perf_counter()
for _ in range(1000):
    loader.bundled_catalog()           # cached (lru_cache)
t3 = time.perf_counter()
n = {k: len(v) for k, v in cat.entries.items()}
print(json.dumps({"deps": t1 - t0, "cold": t2 - t1, "warm": (t3 - t2) / 1000, "n": n}))
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=11)
    args = ap.parse_args(argv)
    rows = []
    for _ in range(args.runs):
        out = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    med = lambda k: statistics.median(r[k] for r in rows)  # noqa: E731
    print(f"catalog entries: {rows[0]['n']}")
    print(f"catalog import yaml+pint: {med('deps') * 1e3:.1f} ms (median of {args.runs} fresh processes)")
    print(f"catalog cold load (parse + build, bundled_catalog()): {med('cold') * 1e3:.1f} ms")
    print(f"catalog cold total (imports + load): {(med('deps') + med('cold')) * 1e3:.1f} ms")
    print(f"catalog cached call: {med('warm') * 1e9:.0f} ns")


if __name__ == "__main__":
    main()
