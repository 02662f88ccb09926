"""Fuzz the measurement readers at scale: >= 10,000 seeded mutants of the shared samples.

The same harness as ``tests/test_fuzz_readers.py`` (:mod:`plaster_model.io.fuzz`), with
more inputs and junk up to 50 MB of random bytes. Prints the outcome table per mutation:
parsed / ParseError / other (any other exception: a defect) / impossible (a row with a
non-finite or non-positive number: a defect) / slow (over 2 s: a defect), and the
slowest inputs.

Run from the repository root::

    .venv/bin/python benchmarks/fuzz_readers.py                  # 10,080 inputs, seed 0
    .venv/bin/python benchmarks/fuzz_readers.py --n 2000 --seed 7
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO.parent / "shared" / "trtexec_samples"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_080, help="inputs (default 10,080 = 14 mutations x 32 files x 22.5)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--junk-mb", type=float, default=50.0, help="largest random junk [MB]")
    ap.add_argument("--limit-s", type=float, default=2.0)
    ap.add_argument("--synthetic", action="store_true",
                    help="fuzz the samples built in code (plaster_model.io.fuzz.synthetic_samples)")
    args = ap.parse_args(argv)
    import tempfile

    from plaster_model.io.fuzz import outcome_table, run_fuzz, synthetic_samples

    root = SAMPLES
    if args.synthetic or not SAMPLES.is_dir():
        # No third-party samples (or asked for): the samples of every format built in code.
        keep = tempfile.TemporaryDirectory(prefix="plaster-fuzz-samples-")  # removed at exit
        root = Path(keep.name)
        synthetic_samples(root)
        print(f"fuzzing the samples built in code ({root})", file=sys.stderr)

    t0 = time.perf_counter()

    def progress(i: int) -> None:
        if i % 1000 == 0:
            print(f"  {i} inputs, {time.perf_counter() - t0:.0f} s", file=sys.stderr)

    outcomes = run_fuzz(root, args.n, args.seed, limit_s=args.limit_s,
                        junk_max=int(args.junk_mb * 1e6), progress=progress)
    elapsed = time.perf_counter() - t0
    import pandas as pd

    with pd.option_context("display.width", 120):
        print(outcome_table(outcomes).to_string(index=False))
    print(f"\n{len(outcomes)} inputs in {elapsed:.0f} s (seed {args.seed}, junk up to {args.junk_mb:g} MB)")
    slowest = sorted(outcomes, key=lambda o: -o.seconds)[:5]
    print("slowest:", ", ".join(f"{o.mutant.mutation}/{o.mutant.source.name} "
                                 f"{len(o.mutant.data) / 1e6:.1f} MB {o.seconds:.2f} s "
                                 f"({o.cpu_seconds:.2f} s CPU)" for o in slowest))
    over_cpu = sum(o.cpu_seconds > args.limit_s for o in outcomes)
    print(f"inputs over {args.limit_s:g} s: {sum(o.slow for o in outcomes)} wall clock, {over_cpu} CPU time")
    defects = [o for o in outcomes if o.kind in ("other", "impossible") or o.slow]
    for o in defects[:20]:
        print(f"DEFECT {o.kind}{' slow' if o.slow else ''}: {o.mutant.mutation} of "
              f"{o.mutant.source.name}: {o.detail}")
    return 1 if defects else 0


if __name__ == "__main__":
    sys.exit(main())
