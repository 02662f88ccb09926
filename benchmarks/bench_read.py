"""``read_measurements`` speed: files/s and MB/s on a directory of copied shared trtexec logs.

The directory is made in a temporary folder by copying the text logs of
``../shared/trtexec_samples`` round-robin (never committed). Reported: files/s and MB/s of
``pm.read_measurements(dir)`` (median of ``--runs``), the rate of reading the same bytes with
``Path.read_bytes`` (the floor), and the time of one small log.

Run from the repository root::

    .venv/bin/python benchmarks/bench_read.py              # 1,000 files, 3 runs
    .venv/bin/python benchmarks/bench_read.py --files 200 --runs 5
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO.parent / "shared" / "trtexec_samples"


def make_directory(n_files: int, root: Path, samples: Path = SAMPLES) -> tuple[Path, int]:
    """Copy the shared ``*.log`` files round-robin into ``root/logs``; return it and its bytes."""
    logs = sorted(p for p in samples.rglob("*.log") if p.is_file())
    if not logs:
        raise FileNotFoundError(f"no trtexec logs under {samples}")
    out = root / "logs"
    out.mkdir()
    total = 0
    for i in range(n_files):
        src = logs[i % len(logs)]
        dst = out / f"{i:05d}_{src.name}"
        shutil.copyfile(src, dst)
        total += dst.stat().st_size
    return out, total


def _time(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    if not SAMPLES.is_dir():
        print(f"shared samples not found at {SAMPLES}; nothing to measure")
        return 0
    import plaster_model as pm

    with tempfile.TemporaryDirectory() as tmp:
        folder, n_bytes = make_directory(args.files, Path(tmp))
        files = sorted(folder.iterdir())
        pm.read_measurements(files[:2])  # warm imports and the catalog
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            df = pm.read_measurements(folder)
            t_read = _time(lambda: pm.read_measurements(folder), args.runs)
        t_bytes = _time(lambda: [f.read_bytes() for f in files], args.runs)
        small = min(files, key=lambda f: f.stat().st_size if "dumpProfile" not in f.name else 1e12)
        t_small = _time(lambda: pm.read_measurements(small), max(args.runs, 10))
        small_kb = small.stat().st_size / 1e3
    mb = n_bytes / 1e6
    print(f"directory: {args.files} files, {mb:.1f} MB, {len(df)} rows")
    print(f"read_measurements : {t_read:8.3f} s  {args.files / t_read:9.0f} files/s  {mb / t_read:8.1f} MB/s")
    print(f"read_bytes (floor): {t_bytes:8.3f} s  {args.files / t_bytes:9.0f} files/s  {mb / t_bytes:8.1f} MB/s")
    print(f"one small log     : {t_small * 1e3:8.2f} ms  ({small_kb:.1f} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
