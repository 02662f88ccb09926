"""Timings of untrusted inputs that once hung, and bombs read under a 1 GiB memory cap.

The tests assert behaviour only (with a hang guard); the times and memory live here
(issue 25, defect 9: wall-clock asserts flaked on a loaded machine). Each case is built in
code; the shared samples are used where present.

Run from the repository root::

    .venv/bin/python benchmarks/bench_untrusted.py            # timings and bombs
    .venv/bin/python benchmarks/bench_untrusted.py --no-bombs
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DLBS = (b'__exp.model_title__= "ResNet50"\n__exp.phase__= "training"\n'
        b"__exp.replica_batch__= 32\n__results.throughput__= 500\n")


def _time(fn, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def timings(tmp: Path) -> list[tuple[str, float]]:
    import plaster_model as pm
    from plaster_model.io.fuzz import _trt8_run

    log = _trt8_run(32, 1000.0, 0.92).encode()
    out = []
    for n in (16_000, 32_000, 200_000):  # issue 15: 13 s and 71 s before the sniffing fix
        path = tmp / f"behind{n}.log"
        path.write_bytes(b"\n" * n + log)
        out.append((f"trtexec log behind {n:,} blank lines", _time(lambda: pm.read_measurements(path))))
    path = tmp / "dlbs.log"
    path.write_bytes(DLBS[:60] + b"\n" * 2_000_000 + DLBS[60:])
    out.append(("DLBS log with 2,000,000 blank lines inside", _time(lambda: pm.read_measurements(path))))
    text = ("x:\n" + "".join(f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]\n" for i in range(1, 10)))
    bomb = tmp / "laughs.yaml"
    bomb.write_text("x:\n  l0: &l0 lol\n" + text[3:])

    def laughs():
        try:
            pm.load_catalog([bomb], activate=False)
        except pm.CatalogError:
            pass
    out.append(("billion-laughs catalog refused", _time(laughs)))

    def long_unit():
        try:
            pm.to_si("1" * 99_997 + " GB", "bytes")
        except pm.UnitError:
            pass
    out.append(("100,000-character unit string refused", _time(long_unit)))
    return out


def bombs(tmp: Path) -> list[tuple[str, dict]]:
    from plaster_model.io import fuzz

    log = fuzz._trt8_run(32, 1000.0, 0.92).encode()
    cases = [
        ("3 GiB .log.gz bomb (3 MB on disk)", fuzz.gzip_bomb(tmp / "bomb.log.gz", DLBS, 3 * 2**30)),
        ("log + 2.5 GB NUL padding (sparse)", fuzz.nul_padded(tmp / "padded.log", log, int(2.5e9))),
        ("log + 60 MB NUL padding", fuzz.nul_padded(tmp / "padded60.log", log, 60 * 10**6)),
        ("1 GiB of NUL before a log (sparse)", fuzz.nul_padded(tmp / "front.log", b"", 2**30)),
    ]
    folder = tmp / "folder"
    folder.mkdir()
    for _, p in cases:
        (folder / p.name).symlink_to(p)
    (folder / "good.log").write_bytes(log)
    cases.append(("the four + one good log, as a folder", folder))
    return [(label, fuzz.read_under_cap(path)) for label, path in cases]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-bombs", action="store_true")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        print("case | median of 3 [s]")
        for label, s in timings(tmp):
            print(f"{label} | {s:.3f}")
        if not args.no_bombs and sys.platform == "linux":
            print("\nbomb (read under RLIMIT_AS = 1 GiB) | outcome | rows | time [s] | peak RSS [MiB] | message")
            for label, r in bombs(tmp):
                print(f"{label} | {r['outcome']} | {r['rows']} | {r['seconds']:.2f} | "
                      f"{r['peak_rss_mib']:.0f} | {r['message'][:110]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
