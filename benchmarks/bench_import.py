"""Import time of plaster_model in fresh interpreters, and what the import pulls in.

Run from the repository root::

    .venv/bin/python benchmarks/bench_import.py            # 15 fresh processes per figure
    .venv/bin/python benchmarks/bench_import.py --runs 31

Each figure is the median over fresh subprocesses (no warm module cache inside the
interpreter; the OS file cache is warm after the first run, as it is for a user).
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("numpy", "scipy", "sympy", "matplotlib", "pint", "pandas", "yaml")

PROBE = r"""
import sys, time, json
t0 = time.perf_counter()
{stmt}
dt = time.perf_counter() - t0
print(json.dumps({{"s": dt, "mods": [m for m in {heavy!r} if m in sys.modules]}}))
"""

CASES = {
    "import plaster_model": "import plaster_model",
    "import numpy (reference)": "import numpy",
    "plaster-model --help (every sub-command's parser, formatted)":
        "from plaster_model import cli; cli.build_parser().format_help()",
    "import plaster_model; pm.sweep (attribute)": "import plaster_model as pm; pm.sweep",
    "first prediction (import + catalog + predict_training)":
        "import plaster_model as pm; pm.predict_training('ResNet-50', pm.Cluster('V100', 8, devices_per_node=8, "
        "intra_node='NVLink 2'), 64)",
    "first sweep (import + catalog + pandas + sweep)":
        "import plaster_model as pm; pm.sweep('ResNet-50', 'V100', [1, 8], 'InfiniBand EDR', 64)",
}


def measure(stmt: str, runs: int):
    times, mods = [], None
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", PROBE.format(stmt=stmt, heavy=HEAVY)], cwd=REPO,
                             capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        times.append(r["s"])
        mods = r["mods"]
    return statistics.median(times), min(times), max(times), mods


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args(argv)
    print(f"python {sys.version.split()[0]}; median of {args.runs} fresh processes")
    results = {}
    for label, stmt in CASES.items():
        med, lo, hi, mods = results[label] = measure(stmt, args.runs)
        print(f"{label}: {med * 1e3:.1f} ms (min {lo * 1e3:.1f}, max {hi * 1e3:.1f}); "
              f"loaded: {', '.join(mods) or 'none of ' + '/'.join(HEAVY)}")
    med = results["import plaster_model"][0]
    print(f"import plaster_model under 0.3 s: {'yes' if med < 0.3 else 'NO'} ({med * 1e3:.1f} ms)")
    cli = results["plaster-model --help (every sub-command's parser, formatted)"][0]
    print(f"plaster-model --help under 0.1 s: {'yes' if cli < 0.1 else 'NO'} ({cli * 1e3:.1f} ms)")


if __name__ == "__main__":
    main()
