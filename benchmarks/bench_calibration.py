"""Calibration fit time on the published measurements (../shared/data/published_measurements.csv).

Run from the repository root::

    .venv/bin/python benchmarks/bench_calibration.py [--data PATH] [--repeat 1]

Skips (exit 0, with a message) when ``plaster_model.calibrate`` does not exist yet or the
data file is absent.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DEFAULT_DATA = REPO.parent / "shared" / "data" / "published_measurements.csv"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--repeat", type=int, default=1, help="fits to time (each can take minutes)")
    args = ap.parse_args(argv)
    import plaster_model as pm

    try:
        calibrate = pm.calibrate
    except (AttributeError, ImportError) as exc:
        print(f"calibration: SKIPPED, plaster_model.calibrate is not available ({exc})")
        return 0
    if not args.data.is_file():
        print(f"calibration: SKIPPED, data file absent: {args.data}")
        return 0
    t0 = time.perf_counter()
    reader = getattr(pm, "read_measurements", None)
    if reader is not None:
        df = reader(args.data)
    else:
        import pandas as pd

        df = pd.read_csv(args.data, comment="#")
    t_read = time.perf_counter() - t0
    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(args.repeat):
            t = time.perf_counter()
            calibrate(df)
            times.append(time.perf_counter() - t)
    print(f"calibration data: {args.data.name}, {len(df)} rows (read in {t_read * 1e3:.0f} ms)")
    print(f"calibration fit time (pm.calibrate, {len(times)} run(s)): median {statistics.median(times):.1f} s; "
          f"all: {', '.join(f'{t:.1f}' for t in times)} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
