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

__all__ = ["MUTATIONS", "Mutant", "Outcome", "sample_files", "synthetic_samples", "gzip_bomb", "nul_padded",
           "read_under_cap", "mutants", "run_one", "run_fuzz",
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
    cpu_seconds: float = 0.0  # CPU time of the read (wall time less what other jobs took)


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
        t0, c0 = time.perf_counter(), time.process_time()
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
            cpu = time.process_time() - c0
            if use_alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, old)
        return Outcome(mutant, kind, seconds, rows, detail, slow=seconds > limit_s, cpu_seconds=cpu)
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
        # Warm-up, untimed: the first read imports pandas and loads the catalog (seconds on
        # a loaded machine), which is no input's cost.
        run_one(Mutant(files[0], "none", files[0].read_bytes()), Path(tmp), hang_s=600.0)
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
        c["max_cpu_s"] = max(c["max_cpu_s"], o.cpu_seconds)
    rows = [{"mutation": name, "inputs": c["inputs"], **{k: c[k] for k in kinds},
             "slow": c["slow"], "max_s": round(c["max_s"], 3), "max_cpu_s": round(c["max_cpu_s"], 3)}
            for name, c in counts.items()]
    df = pd.DataFrame(rows, columns=["mutation", "inputs", *kinds, "slow", "max_s", "max_cpu_s"])
    total = {"mutation": "total", **{k: int(df[k].sum()) for k in ("inputs", *kinds, "slow")},
             "max_s": float(df["max_s"].max()) if len(df) else math.nan,
             "max_cpu_s": float(df["max_cpu_s"].max()) if len(df) else math.nan}
    return pd.concat([df, pd.DataFrame([total])], ignore_index=True)


# ----------------------------------------------------------------------- samples built in code
# Small files of every format, written from the formats' documented layouts
# (shared/formats/tensorrt.md, dlbs.md), with made-up but self-consistent numbers: the fuzz
# contract runs on them when the shared third-party samples are absent.

def _trt8_run(batch: int, qps: float, gpu_ms: float, precision_flag: str = "--fp16",
              stamp: str = "[12/01/2026-10:00:00] [I] ") -> str:
    # qps x min GPU time <= 1 stream: 1 / gpu_ms ms is the most a stream can give.
    g = [gpu_ms * f for f in (0.98, 1.05, 1.0, 0.995, 1.03)]  # min, max, mean, median, p99
    stat = ("min = {:.5g} ms, max = {:.5g} ms, mean = {:.5g} ms, median = {:.5g} ms, "
            "percentile(90%) = {:.5g} ms, percentile(95%) = {:.5g} ms, percentile(99%) = {:.5g} ms")

    def line(name: str, scale: float, add: float) -> str:
        v = [x * scale + add for x in g]
        return f"{stamp}{name}: " + stat.format(v[0], v[1], v[2], v[3], v[4] * 0.99, v[4] * 0.995, v[4])

    wall = 3.0
    cmd = f"trtexec --onnx=resnet50.onnx {precision_flag} --shapes=input:{batch}x3x224x224"
    return "\n".join([
        f"&&&& RUNNING TensorRT.trtexec [TensorRT v8601] # {cmd}",
        f"{stamp}=== Device Information ===",
        f"{stamp}Selected Device: NVIDIA GeForce RTX 3060 Laptop GPU",
        f"{stamp}=== Inference Options ===",
        f"{stamp}Streams: 1",
        f"{stamp}Input inference shape: input={batch}x3x224x224",
        f"{stamp}=== Performance summary ===",
        f"{stamp}Throughput: {qps:.6g} qps",
        line("Latency", 1.0, 0.4),
        line("Enqueue Time", 0.01, 0.0),
        line("H2D Latency", 0.0, 0.2),
        line("GPU Compute Time", 1.0, 0.0),
        line("D2H Latency", 0.0, 0.01),
        f"{stamp}Total Host Walltime: {wall:.5g} s",
        f"{stamp}Total GPU Compute Time: {wall * qps * gpu_ms / 1000:.5g} s",
        f"&&&& PASSED TensorRT.trtexec [TensorRT v8601] # {cmd}",
        ""])


def _trt7_run(batch: int, qps: float, gpu_ms: float) -> str:
    s = "[01/28/2018-09:12:34] [I] "
    cmd = f"trtexec --deploy=resnet-50.prototxt --fp16 --batch={batch} --output=prob"
    body = [f"&&&& RUNNING TensorRT.trtexec # {cmd}", f"{s}Max batch: {batch}", f"{s}Precision: FP32+FP16",
            f"{s}Batch: {batch}", f"{s}Streams: 1", f"{s}Host Latency"]
    for k, f in (("min", 0.98), ("max", 1.05), ("mean", 1.0), ("median", 0.995)):
        body.append(f"{s}{k}: {gpu_ms * f + 0.1:.5g} ms (end to end {gpu_ms * f + 0.11:.5g} ms)")
    body += [f"{s}percentile: {gpu_ms * 1.04 + 0.1:.5g} ms at 99% (end to end {gpu_ms * 1.04 + 0.11:.5g} ms at 99%)",
             f"{s}throughput: {qps:.6g} qps", f"{s}walltime: 3.0 s", f"{s}Enqueue Time",
             f"{s}min: 0.05 ms", f"{s}max: 0.09 ms", f"{s}median: 0.06 ms", f"{s}GPU Compute"]
    for k, f in (("min", 0.98), ("max", 1.05), ("mean", 1.0), ("median", 0.995)):
        body.append(f"{s}{k}: {gpu_ms * f:.5g} ms")
    body += [f"{s}percentile: {gpu_ms * 1.04:.5g} ms at 99%",
             f"{s}total compute time: {3.0 * qps / batch * gpu_ms / 1000:.5g} s",
             f"&&&& PASSED TensorRT.trtexec # {cmd}", ""]
    return "\n".join(body)


def synthetic_samples(folder: str | os.PathLike) -> list[Path]:
    """Write a small sample of every supported format into `folder`; return the files.

    Used by the fuzz contract when ``../shared/trtexec_samples`` is absent: a TensorRT 8.6
    log, a three-run TensorRT 7.1 ``--batch`` sweep (implicit batch), a two-run log of two
    precisions, a README excerpt of summaries without the ``[date] [I]`` prefix, a DLBS log,
    an exportTimes file with its trex metadata, an onnxruntime profile and a CSV table.
    The numbers are self-consistent (``qps x min GPU time <= 1``; throughput = qps x batch).

    Examples
    --------
    >>> import tempfile, plaster_model as pm
    >>> with tempfile.TemporaryDirectory() as d:
    ...     files = synthetic_samples(d)
    ...     len(pm.read_measurements(d)) > 10
    True
    """
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {
        "trt86_resnet50_fp16_bs32.log": _trt8_run(32, 248.0, 3.9),
        "trt71_resnet50_implicit_sweep.log": "".join(
            _trt7_run(b, qps, ms) for b, qps, ms in ((1, 37.0, 26.9), (4, 43.6, 91.6), (8, 45.0, 176.0))),
        "trt86_two_precisions_bs8.log": _trt8_run(8, 700.0, 1.35, "--fp16") + _trt8_run(8, 1300.0, 0.74, "--int8"),
        "readme_summaries.md": "# ResNet-50 on RTX 4090\n\n## Batch Size 4\n\n```\n"
                               + _trt8_run(4, 1500.0, 0.64, stamp="").split("\n", 6)[6].rsplit("&&&&", 1)[0]
                               + "```\n",
        "dlbs_resnet50_training.log": "\n".join([
            "Some framework output", '__exp.model_title__= "ResNet50"', '__exp.framework_title__= "TensorFlow"',
            '__exp.device_title__= "Tesla V100-SXM2-16GB"', "__exp.num_gpus__= 1", "__exp.replica_batch__= 64",
            '__exp.phase__= "training"', '__exp.dtype__= "float16"', '__exp.status__= "success"',
            "__results.time__= 178.0", "__results.throughput__= 359.55", ""]),
        "run.timing.json": json.dumps([
            {"startEnqMs": 250 + 4.1 * i, "endEnqMs": 250.01 + 4.1 * i, "startComputeMs": 250 + 4.1 * i,
             "endComputeMs": 254 + 4.1 * i + 0.01 * (i % 3), "computeMs": 4.0 + 0.01 * (i % 3),
             "latencyMs": 4.02 + 0.01 * (i % 3)} for i in range(60)]),
        "run.profile.metadata.json": json.dumps({
            "performance_summary": {"Throughput": 243.0, "Latency": [4.0, 4.1, 4.02, 4.01, 4.08],
                                    "GPU Compute Time": [3.98, 4.05, 4.01, 4.0, 4.04],
                                    "Total Host Walltime": 3.0, "Total GPU Compute Time": 2.92},
            "inference_options": {"Input inference shape": "input_1=32x224x224x3", "Streams": "1"},
            "device_information": {"Selected Device": "NVIDIA GeForce RTX 3090"}}),
        "ort_profile.json": json.dumps([
            {"cat": "Session", "name": "model_run", "ts": 1000 * i, "dur": 800 + 5 * (i % 4), "ph": "X",
             "args": {}} for i in range(12)]),
        "measurements.csv": "source,source_detail,model,framework,device,n_devices,devices_per_node,"
                            "interconnect,precision,batch_per_device,phase,metric,value,notes\n"
                            "synthetic,row 1,ResNet-50,PyTorch,V100,8,8,NVLink,mixed,256,training,"
                            "throughput_img_s,9000,\n"
                            "synthetic,row 2,ResNet-50,TensorRT,T4,1,1,,int8,1,inference,latency_ms,1.6,\n",
    }
    out = []
    for name, text in files.items():
        path = root / name
        path.write_text(text, encoding="utf-8")
        out.append(path)
    return out


# ----------------------------------------------------------------------- bombs
def gzip_bomb(path: str | os.PathLike, head: bytes, inflated_bytes: int, *,
              filler: bytes = b"\n") -> Path:
    """Write a ``.gz`` of `head` followed by `inflated_bytes` of `filler`, a few MB on disk.

    One 64 MiB member of filler is compressed once (about 65 kB) and repeated: gzip
    readers inflate concatenated members as one stream, so a 3 MB file inflates to 3 GiB
    (issue 25's decompression bomb) in well under a second of writing.
    """
    import gzip  # noqa: PLC0415

    block = 64 * 2**20
    member = gzip.compress(filler * (block // len(filler)), compresslevel=9)
    path = Path(path)
    with open(path, "wb") as fh:
        fh.write(gzip.compress(head))
        for _ in range(max(inflated_bytes // block, 1)):
            fh.write(member)
    return path


def nul_padded(path: str | os.PathLike, head: bytes, pad_bytes: int) -> Path:
    """Write `head` followed by `pad_bytes` NUL bytes as a sparse file (no disk cost): the
    2.5 GB NUL-padded log of issue 25 (what a crash leaves when a file was preallocated)."""
    path = Path(path)
    with open(path, "wb") as fh:
        fh.write(head)
        fh.truncate(len(head) + pad_bytes)
    return path


def read_under_cap(path: str | os.PathLike, cap_bytes: int = 2**30, timeout_s: float = 120.0) -> dict:
    """Read `path` with :func:`plaster_model.read_measurements` in a child process whose
    address space is capped at `cap_bytes` (``RLIMIT_AS``, 1 GiB by default; Linux).

    Returns
    -------
    dict
        ``outcome`` (``"rows"``, ``"ParseError"``, ``"other"`` or ``"killed"``), ``rows``,
        ``message``, ``exception`` (type name), ``seconds``, ``peak_rss_mib``.
    """
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    code = f"""
import json, resource, time, warnings
import plaster_model as pm
import plaster_model.io.readers.read  # imports pandas before the cap
resource.setrlimit(resource.RLIMIT_AS, ({int(cap_bytes)}, {int(cap_bytes)}))
out = {{}}
t0 = time.perf_counter()
try:
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        df = pm.read_measurements({os.fspath(path)!r})
    out.update(outcome="rows", rows=len(df), message="; ".join(str(x.message)[:300] for x in w),
               exception=None, failed=[m for _, m in df.attrs.get("failed", [])])
except pm.ParseError as exc:
    out.update(outcome="ParseError", rows=0, message=str(exc)[:500], exception="ParseError")
except BaseException as exc:
    out.update(outcome="other", rows=0, message=str(exc)[:500], exception=type(exc).__name__)
out["seconds"] = time.perf_counter() - t0
out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("RESULT" + json.dumps(out))
"""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    try:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=timeout_s, env=env)
    except subprocess.TimeoutExpired:
        return {"outcome": "killed", "rows": 0, "message": f"timeout after {timeout_s:g} s",
                "exception": None, "seconds": timeout_s, "peak_rss_mib": float("nan")}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT"):
            return json.loads(line[6:])
    return {"outcome": "killed", "rows": 0, "message": (proc.stderr or "")[-500:],
            "exception": None, "seconds": float("nan"), "peak_rss_mib": float("nan")}
