"""Calibration fit time against the number of rows, with and without the bootstrap.

The published measurements (``../shared/data/published_measurements.csv``, 652 rows) are
fitted as they are and replicated with noise (each copy's ``value`` multiplied by
``exp(N(0, 0.05))``, a fixed seed) to 5,000 and 50,000 rows; 100 rows are a seeded sample.
Each figure is the median of ``--repeat`` fits in this process after one warm-up fit (the
imports and catalog loads are not part of a fit). The log-log slope of time against rows
between 652 and 50,000 says how the fit scales (1 = linear).

Run from the repository root::

    .venv/bin/python benchmarks/bench_calibration.py            # median of 3
    .venv/bin/python benchmarks/bench_calibration.py --repeat 5 --sizes 100 652 5000
    .venv/bin/python benchmarks/bench_calibration.py --repeat 1 --sizes 652 --bootstrap 50 --predict-rows 50000

``cal.predict`` is timed on 50,000 rows (copies of the published rows with noise, and the
same with every batch changed), after fitting the published rows.

Skips (exit 0, with a message) when the data file is absent.
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DEFAULT_DATA = REPO.parent / "shared" / "data" / "published_measurements.csv"


def rows_of_size(df, n: int, rng):
    """``n`` rows: a sample when fewer than the table, else copies with 5 % log-normal noise."""
    import pandas as pd

    if n <= len(df):
        return df.sample(n=n, random_state=int(rng.integers(2**31))).reset_index(drop=True)
    reps = math.ceil(n / len(df))
    parts = []
    for k in range(reps):
        part = df.copy()
        if k:
            part["value"] = part["value"] * np.exp(rng.normal(0.0, 0.05, len(part)))
            part["source"] = part["source"].astype(str) + f" (copy {k})"
        parts.append(part)
    return pd.concat(parts, ignore_index=True).iloc[:n]


def time_fit(rows, n_bootstrap: int, repeat: int) -> float:
    import plaster_model as pm

    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        pm.calibrate(rows, n_bootstrap=n_bootstrap)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 652, 5000, 50000])
    ap.add_argument("--bootstrap", type=int, default=50, help="draws of the bootstrapped fits (default 50)")
    ap.add_argument("--predict-rows", type=int, nargs="*", default=[50000],
                    help="rows for the cal.predict throughput (default 50000; none to skip)")
    args = ap.parse_args(argv)
    if not args.data.is_file():
        print(f"calibration: SKIPPED, data file absent: {args.data}")
        return 0
    import plaster_model as pm

    df = pm.read_measurements(str(args.data))
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pm.calibrate(df.head(60), n_bootstrap=0)  # warm-up: imports, catalog, caches
        print(f"machine: python {sys.version.split()[0]}, numpy {np.__version__}; median of {args.repeat}")
        results = {}
        for n in args.sizes:
            rows = rows_of_size(df, n, rng)
            for nb in (0, args.bootstrap):
                t = results[(n, nb)] = time_fit(rows, nb, args.repeat)
                print(f"fit[{n} rows, n_bootstrap={nb}] time_s: {t:.3f}")
        # cal.predict throughput: the published rows, and the same rows at 5 % noise with every
        # batch moved by a random factor (distinct batches: nothing to share but the configuration)
        cal = pm.calibrate(df, n_bootstrap=args.bootstrap)
        for n in args.predict_rows:
            rows = rows_of_size(df, n, rng)
            for label, table in (("copies", rows), ("distinct batches", rows.assign(
                    batch_per_device=rows["batch_per_device"] * rng.integers(1, 9, len(rows))))):
                cal.predict(table.head(100))
                times = []
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    cal.predict(table)
                    times.append(time.perf_counter() - t0)
                t = statistics.median(times)
                print(f"predict[{n} rows, {label}, n_bootstrap={args.bootstrap}] time_s: {t:.3f} "
                      f"rows_per_s: {n / t:,.0f}")
    for nb in (0, args.bootstrap):
        ns = [n for n in args.sizes if n >= 652]
        if len(ns) >= 2:
            x = np.log([ns[0], ns[-1]])
            y = np.log([results[(ns[0], nb)], results[(ns[-1], nb)]])
            print(f"slope[log time / log rows, {ns[0]}..{ns[-1]}, n_bootstrap={nb}]: "
                  f"{(y[1] - y[0]) / (x[1] - x[0]):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
