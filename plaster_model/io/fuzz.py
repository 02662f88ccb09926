"""Mutation fuzzing of the measurement readers: seeded corruptions of real files.

The readers' contract (:func:`plaster_model.read_measurements`): whatever a file holds, the
only exception its content can cause is :class:`~plaster_model.ParseError`; no file takes
long; no returned row holds an impossible number. This module checks that contract on
mutants of real files (the shared trtexec samples), so that the test suite
(``tests/test_fuzz_readers.py``, a few hundred inputs) and the benchmark
(``benchmarks/fuzz_readers.py``, 10,000 and more) run the same code.

Mutations (:data:`MUTATIONS`): truncation, line deletion and duplication, byte flips,
numbers replaced by NaN/inf/-1/1e308/1e400/0/empty, non-UTF-8 bytes, CRLF and CR-only line
ends, two files interleaved line by line, byte-order marks, blank-line preambles, deep JSON
nesting, JSON values of the wrong type, and large junk.

>>> import random
>>> MUTATIONS["crlf"](b"a\\nb\\n", random.Random(0), b"")
b'a\\r\\nb\\r\\n'
"""
from __future__ import annotations

import json
import math
import os
import random
import re
import shutil
import signal
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

__all__ = ["MUTATIONS", "Mutant", "Outcome", "sample_files", "mutants", "run_one", "run_fuzz",
           "outcome_table"]

_NUMBER = re.compile(rb"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.])")
_BAD_NUMBERS = (b"nan", b"NaN", b"inf", b"-inf", b"-1", b"1e308", b"1e400", b"-1e308", b"0",
                b"", b"-0.0", b"1e-320", b"99999999999999999999999")
_NON_UTF8 = (b"\xff", b"\xfe\xff", b"\xc3(", b"\xa0\xa1", b"\xe2\x28\xa1", b"\xf0\x28\x8c\xbc",
             b"\x80", b"\xed\xa0\x80")
_BOMS = (b"\xef\xbb\xbf", b"\xef\xbb\xbf\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True) or [data]


def _truncate(data: bytes, rng: random.Random, other: bytes) -> bytes:
    return data[: rng.randrange(0, max(len(data), 1))]


def _delete_lines(data: bytes, rng: random.Random, other: bytes) -> bytes:
    lines = _lines(data)
    for _ in range(rng.randint(1, max(1, min(20, len(lines) // 2)))):
        if len(lines) > 1:
            del lines[rng.randrange(len(lines))]
    return b"".join(lines)


def _duplicate_lines(data: bytes, rng: random.Random, other: bytes) -> bytes:
    lines = _lines(data)
    for _ in range(rng.randint(1, 10)):
        i = rng.randrange(len(lines))
        lines[i:i] = [lines[i]] * rng.randint(1, 3)
    return b"".join(lines)


def _byte_flips(data: bytes, rng: random.Random, other: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 32)):
        if buf:
            buf[rng.randrange(len(buf))] = rng.randrange(256)
    return bytes(buf)


def _bad_numbers(data: bytes, rng: random.Random, other: bytes) -> bytes:
    spans = [m.span() for m in _NUMBER.finditer(data)]
    if not spans:
        return data
    chosen = sorted(rng.sample(spans, min(len(spans), rng.randint(1, 6))), reverse=True)
    out = data
    for a, b in chosen:
        out = out[:a] + rng.choice(_BAD_NUMBERS) + out[b:]
    return out


def _non_utf8(data: bytes, rng: random.Random, other: bytes) -> bytes:
    out = data
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(out) + 1)
        out = out[:i] + rng.choice(_NON_UTF8) + out[i:]
    return out


def _crlf(data: bytes, rng: random.Random, other: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _cr_only(data: bytes, rng: random.Random, other: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r")


def _interleave(data: bytes, rng: random.Random, other: bytes) -> bytes:
    a, b = _lines(data), _lines(other)
    out = []
    for i in range(max(len(a), len(b))):
        if i < len(a):
            out.append(a[i])
        if i < len(b):
            out.append(b[i])
    return b"".join(out)


def _bom(data: bytes, rng: random.Random, other: bytes) -> bytes:
    return rng.choice(_BOMS) + data


def _blank_preamble(data: bytes, rng: random.Random, other: bytes) -> bytes:
    # Defect 1 of issue 15: 16,000-32,000 blank lines before a log took 13-71 s to sniff.
    return rng.choice((b"\n", b"\r\n", b" \n", b"\t\n")) * rng.choice((1000, 20000, 100000)) + data


def _deep_nesting(data: bytes, rng: random.Random, other: bytes) -> bytes:
    depth = rng.choice((1000, 10000, 100000))
    where = rng.randrange(len(data) + 1)
    if data.lstrip().startswith((b"[", b"{")) and rng.random() < 0.7:
        # Inside the JSON, where a value starts: right after a ':' or '['.
        cuts = [m.end() for m in re.finditer(rb"[:\[]\s*", data)]
        if cuts:
            where = rng.choice(cuts)
    return data[:where] + b"[" * depth + b"1" + b"]" * depth * rng.randint(0, 1) + data[where:]


_WRONG = (None, "text", "", [], {}, [None], {"a": None}, True, -1, 0, 1e308, [1, "x"],
          "nan", float("nan"), float("inf"), {"GPU Compute Time": None}, [[1, 2]])


def _wrong_json_types(data: bytes, rng: random.Random, other: bytes) -> bytes:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _byte_flips(data, rng, other)
    slots: list[tuple[object, object]] = []

    def walk(node, depth=0):
        if depth > 50 or len(slots) > 20000:
            return
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for k, v in items:
            slots.append((node, k))
            walk(v, depth + 1)

    walk(doc)
    if not slots:
        return json.dumps(rng.choice(_WRONG)).encode()
    for _ in range(rng.randint(1, 5)):
        parent, key = rng.choice(slots)
        try:
            parent[key] = rng.choice(_WRONG)
        except (TypeError, IndexError, KeyError):
            pass
    try:
        return json.dumps(doc, allow_nan=True).encode()
    except (ValueError, TypeError, RecursionError):
        return data


def _junk(data: bytes, rng: random.Random, other: bytes, junk_max: int = 1_000_000) -> bytes:
    kind = rng.randrange(4)
    # Random bytes and blank lines up to `junk_max` (50 MB in the benchmark); the kinds that
    # look like log lines, and cost a parser pass each, up to 5 MB.
    cap = junk_max if kind in (0, 1) else min(junk_max, 5_000_000)
    size = rng.choice([s for s in (10_000, 200_000, 1_000_000) if s < cap] + [cap])
    if kind == 0:
        junk = rng.randbytes(size)
    elif kind == 1:
        junk = b"\n" * size
    elif kind == 2:
        junk = (b"[" * 64 + b" " + b"x" * 60 + b"\n") * (size // 126 + 1)
    else:
        junk = (b"[01/01/2026-00:00:00] [I] " + b"Throughput: 1 qps " * 4 + b"\n") * (size // 100 + 1)
    where = rng.choice((0, len(data), rng.randrange(len(data) + 1)))
    return data[:where] + junk[:size] + data[where:]


#: Mutation name -> ``mutate(data, rng, other_file_bytes) -> bytes``.
MUTATIONS: dict[str, Callable[[bytes, random.Random, bytes], bytes]] = {
    "truncate": _truncate, "delete_lines": _delete_lines, "duplicate_lines": _duplicate_lines,
    "byte_flips": _byte_flips, "bad_numbers": _bad_numbers, "non_utf8": _non_utf8,
    "crlf": _crlf, "cr_only": _cr_only, "interleave": _interleave, "bom": _bom,
    "blank_preamble": _blank_preamble, "deep_nesting": _deep_nesting,
    "wrong_json_types": _wrong_json_types, "junk": _junk,
}


@dataclass
class Mutant:
    """One mutated input: where it came from, how it was changed, its bytes."""

    source: Path
    mutation: str
    data: bytes


@dataclass
class Outcome:
    """What reading one mutant gave.

    ``kind`` is ``"parsed"`` (rows or none, all sane), ``"ParseError"``, ``"other"`` (any
    other exception: a defect), or ``"impossible"`` (rows with a non-finite or
    non-positive number, or breaking the schema's row rules: a defect). ``slow`` is set
    when it took longer than the limit (a defect whatever the kind).
    """

    mutant: Mutant
    kind: str
    seconds: float
    rows: int = 0
    detail: str = ""
    slow: bool = False


def sample_files(root: str | os.PathLike) -> list[Path]:
    """The measurement files under `root` (hidden files and README files skipped)."""
    root = Path(root)
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")
                  and p.name.lower() != "readme.md")


def mutants(files: list[Path], n: int, seed: int = 0, *, junk_max: int = 1_000_000
            ) -> Iterator[Mutant]:
    """`n` seeded mutants of `files`, the mutations taken in turn (each file in turn too).

    `junk_max` is the largest ``junk`` mutation [B] (random bytes; junk that looks like log
    lines stays under 5 MB).
    """
    rng = random.Random(seed)
    cache = {f: f.read_bytes() for f in files}
    names = list(MUTATIONS)
    for i in range(n):
        src = files[i % len(files)]
        name = names[(i // len(files)) % len(names)] if n >= len(files) * len(names) else rng.choice(names)
        other = cache[rng.choice(files)]
        fn = MUTATIONS[name]
        data = fn(cache[src], rng, other, junk_max) if name == "junk" else fn(cache[src], rng, other)
        yield Mutant(src, name, data)


class _Hang(BaseException):
    """Raised by the alarm in :func:`run_one` (a BaseException: no reader may catch it)."""


def _alarm(signum, frame):
    raise _Hang()


def _impossible(df) -> str | None:
    import numpy as np  # noqa: PLC0415

    from .readers.schema import FLOAT_COLUMNS, row_problems  # noqa: PLC0415

    for col in FLOAT_COLUMNS:
        if col in df.columns:
            x = df[col].to_numpy(dtype=float, na_value=np.nan)
            given = ~np.isnan(x)
            low = 0.0 if col.endswith("_ms") or col in ("throughput_qps", "measured_power_w") else None
            bad = given & ~np.isfinite(x)
            bad |= given & ((x < 0) if low == 0.0 else (x <= 0))
            if bad.any():
                return f"{col} = {x[bad][0]!r}"
    problems = row_problems(df)
    return str(problems[0]) if problems else None


def run_one(mutant: Mutant, folder: Path, *, limit_s: float = 2.0, hang_s: float = 30.0) -> Outcome:
    """Write `mutant` into `folder` (with its siblings, for trex file sets) and read it.

    The read is stopped after `hang_s` seconds (a SIGALRM, where the platform has one) and
    counted as ``other``/slow.
    """
    import plaster_model as pm  # noqa: PLC0415

    work = Path(tempfile.mkdtemp(dir=folder))
    try:
        target = work / mutant.source.name
        for sib in mutant.source.parent.iterdir():
            # trex files are read with the files beside them (same <prefix>.*.json).
            if sib != mutant.source and sib.name.endswith(".json") and sib.is_file() \
                    and sib.name.split(".")[0] == mutant.source.name.split(".")[0]:
                shutil.copyfile(sib, work / sib.name)
        target.write_bytes(mutant.data)
        # SIGALRM handlers can only be set from the main thread.
        use_alarm = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
        if use_alarm:
            old = signal.signal(signal.SIGALRM, _alarm)
            signal.setitimer(signal.ITIMER_REAL, hang_s)
        t0 = time.perf_counter()
        try:
            df = pm.read_measurements(target)
            kind, rows, detail = "parsed", len(df), ""
            bad = _impossible(df)
            if bad:
                kind, detail = "impossible", bad
        except pm.ParseError as exc:
            kind, rows, detail = "ParseError", 0, str(exc)[:300]
        except _Hang:
            kind, rows, detail = "other", 0, f"hang: stopped after {hang_s:g} s"
        except Exception as exc:  # noqa: BLE001 - what the harness exists to find
            tb = exc.__traceback__
            while tb is not None and tb.tb_next is not None:
                tb = tb.tb_next
            site = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb else "?"
            kind, rows, detail = "other", 0, f"{type(exc).__name__} at {site}: {exc}"[:300]
        finally:
            seconds = time.perf_counter() - t0
            if use_alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, old)
        return Outcome(mutant, kind, seconds, rows, detail, slow=seconds > limit_s)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_fuzz(root: str | os.PathLike, n: int, seed: int = 0, *, limit_s: float = 2.0,
             junk_max: int = 1_000_000, progress: Callable[[int], None] | None = None
             ) -> list[Outcome]:
    """Read `n` seeded mutants of the files under `root`; one :class:`Outcome` each."""
    import warnings  # noqa: PLC0415

    files = sample_files(root)
    if not files:
        raise FileNotFoundError(f"no sample files under {root}")
    out = []
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, m in enumerate(mutants(files, n, seed, junk_max=junk_max)):
            out.append(run_one(m, Path(tmp), limit_s=limit_s))
            if progress is not None:
                progress(i + 1)
    return out


def outcome_table(outcomes: list[Outcome]):
    """Counts per mutation: parsed / ParseError / other / slow / impossible (a DataFrame)."""
    import pandas as pd  # noqa: PLC0415

    kinds = ("parsed", "ParseError", "other", "impossible")
    counts: dict[str, Counter] = {}
    for o in outcomes:
        c = counts.setdefault(o.mutant.mutation, Counter())
        c[o.kind] += 1
        c["slow"] += o.slow
        c["inputs"] += 1
        c["max_s"] = max(c["max_s"], o.seconds)
    rows = [{"mutation": name, "inputs": c["inputs"], **{k: c[k] for k in kinds},
             "slow": c["slow"], "max_s": round(c["max_s"], 3)} for name, c in counts.items()]
    df = pd.DataFrame(rows, columns=["mutation", "inputs", *kinds, "slow", "max_s"])
    total = {"mutation": "total", **{k: int(df[k].sum()) for k in ("inputs", *kinds, "slow")},
             "max_s": float(df["max_s"].max()) if len(df) else math.nan}
    return pd.concat([df, pd.DataFrame([total])], ignore_index=True)
