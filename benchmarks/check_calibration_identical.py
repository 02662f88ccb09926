"""Same-results check for speed work on the calibration: fit
``pm.calibrate(pm.read_measurements("../shared/data"))`` (default seed and bootstrap), pickle
every fitted attribute (names ending in ``_``) and its predictions with intervals on the
measurement rows, then compare two dumps to a relative tolerance (default 1e-9).

Usage (before the change on one tree, after it on the other)::

    PYTHONPATH=/work/main .venv/bin/python benchmarks/check_calibration_identical.py dump /tmp/cal_before.pkl
    PYTHONPATH=$PWD      .venv/bin/python benchmarks/check_calibration_identical.py dump /tmp/cal_after.pkl
    .venv/bin/python benchmarks/check_calibration_identical.py compare /tmp/cal_before.pkl /tmp/cal_after.pkl

Also prints the read and fit times (wall and process CPU). Skips when the data are absent.
"""
from __future__ import annotations

import math
import pickle
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def dump(path):
    import plaster_model as pm

    if not DATA.exists():
        print(f"skipped: {DATA} absent")
        return
    warnings.simplefilter("ignore")
    t0, c0 = time.perf_counter(), time.process_time()
    m = pm.read_measurements(str(DATA))
    t1, c1 = time.perf_counter(), time.process_time()
    cal = pm.calibrate(m)
    t2, c2 = time.perf_counter(), time.process_time()
    print(f"read {len(m)} rows: {t1 - t0:.2f} s wall, {c1 - c0:.2f} s CPU; "
          f"calibrate: {t2 - t1:.2f} s wall, {c2 - c1:.2f} s CPU; total {t2 - t0:.2f} s wall, {c2 - c0:.2f} s CPU")
    state = {}
    for k, v in vars(cal).items():
        if k.endswith("_") and not k.startswith("_"):
            try:
                pickle.dumps(v)
            except Exception:  # noqa: BLE001 - an unpicklable attribute is compared by repr
                v = repr(v)
            state[k] = v
    try:
        state["__predict__"] = cal.predict(m)
    except Exception as exc:  # noqa: BLE001
        state["__predict__"] = f"{type(exc).__name__}: {exc}"
    with open(path, "wb") as fh:
        pickle.dump(state, fh)
    print(f"{len(state)} attributes written to {path}")


def _same(a, b, rtol, where, bad):
    if isinstance(a, pd.DataFrame) or isinstance(a, pd.Series):
        if type(a) is not type(b) or a.shape != b.shape or list(getattr(a, "columns", [])) != list(getattr(b, "columns", [])):
            bad.append(f"{where}: shape/columns differ")
            return
        if isinstance(a, pd.Series):
            a, b = a.to_frame(), b.to_frame()
        for c in a.columns:
            _same(a[c].to_numpy(), b[c].to_numpy(), rtol, f"{where}[{c}]", bad)
        return
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape:
            bad.append(f"{where}: shape {a.shape} vs {b.shape}")
        elif a.dtype.kind in "fc" and b.dtype.kind in "fc":
            if not np.allclose(a, b, rtol=rtol, atol=0, equal_nan=True):
                d = np.nanmax(np.abs(a - b) / np.maximum(np.abs(a), 1e-300))
                bad.append(f"{where}: max relative difference {d:.3g}")
        elif not all(_eq(x, y, rtol) for x, y in zip(a.ravel().tolist(), b.ravel().tolist())):
            bad.append(f"{where}: values differ")
        return
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            bad.append(f"{where}: keys differ {set(a) ^ set(b)}")
        for k in set(a) & set(b):
            _same(a[k], b[k], rtol, f"{where}.{k}", bad)
        return
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            bad.append(f"{where}: length {len(a)} vs {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, rtol, f"{where}[{i}]", bad)
        return
    if hasattr(a, "__dict__") and type(a) is type(b) and not isinstance(a, type):
        _same(vars(a), vars(b), rtol, where, bad)
        return
    if not _eq(a, b, rtol):
        bad.append(f"{where}: {a!r:.80} vs {b!r:.80}")


def _eq(x, y, rtol):
    if isinstance(x, (float, np.floating)) and isinstance(y, (float, np.floating)):
        return (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=rtol, abs_tol=0.0)
    try:
        return bool(x == y)
    except Exception:  # noqa: BLE001
        return repr(x) == repr(y)


def compare(a, b, rtol=1e-9):
    sa, sb = (pickle.load(open(p, "rb")) for p in (a, b))
    bad: list[str] = []
    _same(sa, sb, rtol, "cal", bad)
    print(f"{len(sa)} vs {len(sb)} attributes; differing beyond rtol {rtol:g}: {len(bad)}")
    for line in bad[:20]:
        print("  ", line)
    return 1 if bad else 0


if __name__ == "__main__":
    if sys.argv[1] == "dump":
        dump(sys.argv[2])
    else:
        sys.exit(compare(sys.argv[2], sys.argv[3]))
