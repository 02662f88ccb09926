"""Parser for DLBS (HPE Deep Learning Benchmarking Suite) logs (``shared/formats/dlbs.md``).

A DLBS log mixes the framework's output with ``__<key>__=<json value>`` lines; the last value
of a key wins. One log is one benchmark and gives up to two rows:

* ``throughput_img_s`` = ``results.throughput`` (samples/s over all devices);
* training: ``time_per_iter_s`` = ``results.time`` / 1000 (mean time of one iteration of the
  effective batch); inference: ``latency_ms`` per batch, from the TensorRT backend's GPU
  compute time ``results.gpu_0_infer_time`` when present (what compute estimators fit to),
  else from ``results.time``. The median of the per-batch ``..._data`` list is used when the
  log has one, else the mean.

A benchmark that did not succeed (``exp.status`` other than ``"success"``, or no positive
time/throughput) gives no rows; ``df.attrs["dlbs_status"]`` says why.
"""
from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

import pandas as pd

from .normalize import precision_from_text
from .schema import (ParseError, checked_frame, latency_stats, only_parse_errors,
                     read_text)

__all__ = ["parse_dlbs_text", "read_dlbs_log", "dlbs_rows", "dlbs_records", "dlbs_log_records"]

_KEY_ML = re.compile(r"^[ \t\f\v]*__(?P<key>[A-Za-z0-9_.]+)__[ \t\f\v]*=[ \t\f\v]*(?P<json>[^\n]*?)[ \t\f\v]*$",
                     re.MULTILINE)
_OTHER_LINE_ENDS = "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_LINE_ENDS_TO_LF = str.maketrans({c: "\n" for c in _OTHER_LINE_ENDS})


def parse_dlbs_text(text: str, *, file: str = "<string>") -> tuple[dict[str, Any], dict[str, int]]:
    """Parameters of a DLBS log and the line each (last) value came from.

    Values are decoded with :func:`json.loads`; a value that is not JSON raises
    :class:`ParseError` for the numeric ``results.*`` keys and is kept as text otherwise.
    """
    params: dict[str, Any] = {}
    lines: dict[str, int] = {}
    # One MULTILINE regex pass over the text with every line end made "\n" (the ends
    # str.splitlines knows), line numbers from newline counts between matches: a log with
    # millions of other lines costs no Python step per line.
    text = text.replace("\r\n", "\n")
    if any(c in text for c in _OTHER_LINE_ENDS):
        text = text.translate(_LINE_ENDS_TO_LF)
    n, pos = 1, 0
    for m in _KEY_ML.finditer(text):
        n += text.count("\n", pos, m.start())
        pos = m.start()
        key, value = m.group("key"), m.group("json")
        try:
            params[key] = json.loads(value) if value else None
        except RecursionError:
            raise ParseError(f"__{key}__ value nested too deeply", file, n) from None
        except json.JSONDecodeError:
            if key.startswith("results."):
                raise ParseError(f"__{key}__ value is not JSON: {value!r}", file, n) from None
            params[key] = value
        lines[key] = n
    return params, lines


def _number(params: dict, lines: dict, key: str, file: str) -> float | None:
    v = params.get(key)
    if v is None or v == "":
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ParseError(f"__{key}__ is not a number: {v!r}", file, lines.get(key))
    return float(v)


def _stats(params: dict, lines: dict, prefix: str, file: str) -> dict[str, float]:
    """Latency statistics [ms] of ``<prefix>``, ``<prefix>_data``, ``_std``/``_stdev``, ``_min``, ``_max``."""
    data = params.get(f"{prefix}_data")
    out: dict[str, float] = {}
    if isinstance(data, list) and data:
        try:
            out = latency_stats(float(x) for x in data)
        except (TypeError, ValueError):
            raise ParseError(f"__{prefix}_data__ holds a non-number", file,
                             lines.get(f"{prefix}_data")) from None
    mean = _number(params, lines, prefix, file)
    if mean is not None:
        out["latency_mean_ms"] = mean
    for suffix, col in (("_std", "latency_std_ms"), ("_stdev", "latency_std_ms"),
                        ("_min", "latency_min_ms"), ("_max", "latency_max_ms")):
        v = _number(params, lines, prefix + suffix, file)
        if v is not None:
            out[col] = v
    return out


def _n_devices(params: dict, lines: dict | None = None, file: str = "<string>") -> int | None:
    for key in ("exp.num_gpus", "exp.num_replicas"):
        v = params.get(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            # 1e400 decodes to inf (int() of it overflows); a count is a finite integer >= 1.
            if not (math.isfinite(v) and v >= 1 and v == int(v)):
                raise ParseError(f"__{key}__ is {v!r}; expected a device count (an integer >= 1)",
                                 file, (lines or {}).get(key))
            return int(v)
    gpus = params.get("exp.gpus")
    if isinstance(gpus, str) and gpus.strip():
        return len([g for g in re.split(r"[,\s]+", gpus.strip()) if g])
    return None


def dlbs_rows(params: dict[str, Any], lines: dict[str, int], *, file: str = "<string>",
              device: str | None = None) -> pd.DataFrame:
    """Measurement rows for one DLBS benchmark (see the module docstring)."""
    records, status = dlbs_records(params, lines, file=file, device=device)
    df = checked_frame(records, file)
    if status:
        df.attrs["dlbs_status"] = status
    return df


def dlbs_records(params: dict[str, Any], lines: dict[str, int], *, file: str = "<string>",
                 device: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """The rows of :func:`dlbs_rows` as dicts, and why there are none (or None)."""
    status = params.get("exp.status")
    tput = _number(params, lines, "results.throughput", file)
    time_ms = _number(params, lines, "results.time", file)
    if (status not in (None, "success")) or not ((tput or 0) > 0 or (time_ms or 0) > 0):
        return [], (f"no result: exp.status={status!r}, "
                    f"results.throughput={tput!r}, results.time={time_ms!r}")
    phase = params.get("exp.phase")
    phase = phase if phase in ("training", "inference") else None
    n_dev = _n_devices(params, lines, file)
    n_nodes = params.get("exp.num_nodes")
    dev = params.get("exp.device_title") or device
    notes = [f"exp.status={status!r}"] if status else []
    if not params.get("exp.device_title"):
        notes.append("exp.device_title empty: device " + ("from argument" if device else "unknown"))
    if isinstance(n_nodes, (int, float)) and n_nodes > 1:
        notes.append(f"{int(n_nodes)} nodes")
    base = {
        "source": "DLBS log", "source_detail": os.path.basename(file),
        "model": params.get("exp.model_title") or params.get("exp.model"),
        "framework": params.get("exp.framework_title") or params.get("exp.framework"),
        "engine_version": _text(params.get("exp.framework_ver")),
        "device": dev, "device_raw": dev, "n_devices": n_dev,
        "devices_per_node": params.get("exp.num_local_gpus") or (n_dev if not n_nodes or n_nodes == 1 else None),
        "interconnect": params.get("exp.node_nic") if isinstance(n_nodes, (int, float)) and n_nodes > 1 else None,
        "precision": precision_from_text(params.get("exp.dtype")),
        "precision_raw": _text(params.get("exp.dtype")),
        "batch_per_device": params.get("exp.replica_batch"), "phase": phase, "file": file,
    }
    base["interconnect_raw"] = base["interconnect"]
    records = []
    if tput and tput > 0:
        records.append({**base, "metric": "throughput_img_s", "value": tput,
                        "line": lines.get("results.throughput"),
                        "notes": "; ".join(notes + ["results.throughput"])})
    records += _time_rows(params, lines, base, notes, phase, file)
    return records, None


def _text(v: Any) -> str | None:
    return None if v is None or v == "" else str(v)


def _time_rows(params: dict, lines: dict, base: dict, notes: list[str], phase: str | None,
               file: str) -> list[dict]:
    if phase == "inference" and _number(params, lines, "results.gpu_0_infer_time", file):
        prefix, what = "results.gpu_0_infer_time", "GPU 0 infer time (GPU compute, CUDA events)"
    elif _number(params, lines, "results.time", file):
        prefix, what = "results.time", "results.time (whole effective batch)"
    else:
        return []
    stats = _stats(params, lines, prefix, file)
    median = stats.get("latency_median_ms")
    value_ms = median if median is not None else stats["latency_mean_ms"]
    how = f"{'median of ' + prefix + '_data' if median is not None else 'mean'}: {what}"
    row = {**base, **stats, "line": lines.get(prefix), "notes": "; ".join(notes + [how])}
    if not (math.isfinite(value_ms) and value_ms > 0):
        raise ParseError(f"__{prefix}__ is {value_ms!r}; expected a time > 0", file, lines.get(prefix))
    if phase == "training":
        return [{**row, "metric": "time_per_iter_s", "value": value_ms / 1000.0}]
    return [{**row, "metric": "latency_ms", "value": value_ms}]


@only_parse_errors("DLBS log")
def read_dlbs_log(path: str | os.PathLike, *, device: str | None = None) -> pd.DataFrame:
    """Measurement rows from a DLBS log file (``*.log``; ``*.log.gz`` is decompressed).

    Parameters
    ----------
    path : str or path-like
        The log.
    device : str, optional
        Device name to use when ``exp.device_title`` is empty (DLBS often leaves it empty).

    Raises
    ------
    ParseError
        No ``__key__=value`` line at all, or a ``results.*`` value that is not a number.
    """
    records, params = dlbs_log_records(path, device=device)
    df = checked_frame(records, str(path))
    df.attrs["dlbs_params"] = len(params)
    return df


def dlbs_log_records(path: str | os.PathLike, *, device: str | None = None
                     ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The rows of :func:`read_dlbs_log` as dicts, and the log's parameters."""
    # A .gz log is decompressed as a bounded stream (schema.read_bytes): a decompression
    # bomb is refused at MAX_FILE_BYTES, never inflated whole.
    text = read_text(Path(path))
    params, lines = parse_dlbs_text(text, file=str(path))
    if not params:
        raise ParseError("no DLBS __key__=value lines", str(path), None)
    records, _ = dlbs_records(params, lines, file=str(path), device=device)
    return records, params
