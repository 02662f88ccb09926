"""Parser for onnxruntime profiling JSON (Chrome trace events; ``tensorrt.md`` §7).

The file is a JSON array of events (or ``{"traceEvents": [...]}``) with ``ts`` and ``dur`` in
microseconds. ``cat == "Session"`` events named ``model_run`` are whole ``run()`` calls;
``cat == "Node"`` events named ``<node>_kernel_time`` are per-node kernel times.

* :func:`read_ort_profile`: ``latency_ms`` (median ``model_run`` time per batch [ms]) and
  ``throughput_img_s`` (batch / mean run time) rows, after dropping warm-up runs.
* :func:`read_ort_layer_profile`: per-node times (median and mean over the kept runs).
"""
from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import pandas as pd

from .normalize import precision_from_text
from .schema import (ParseError, check_batch, checked_frame, latency_stats, layer_frame,
                     only_parse_errors)
from .trtexec_json import load_trt_json

__all__ = ["load_ort_events", "read_ort_profile", "ort_profile_records", "read_ort_layer_profile"]

_KERNEL_SUFFIX = "_kernel_time"


def load_ort_events(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The list of trace events of an onnxruntime profile file."""
    data = load_trt_json(path)
    if isinstance(data, dict):
        data = data.get("traceEvents")
    if not isinstance(data, list) or not all(isinstance(e, dict) for e in data):
        raise ParseError("onnxruntime profile must be a JSON array of events "
                         "(or an object with traceEvents)", str(path), 1)
    for n, ev in enumerate(data):
        for key in ("ts", "dur"):
            if key in ev and (isinstance(ev[key], bool) or not isinstance(ev[key], (int, float))):
                raise ParseError(f"event {n} ({ev.get('name')!r}) has a non-numeric {key}: "
                                 f"{ev[key]!r}", str(path), None)
    return data


def _runs(events: list[dict[str, Any]], file: str) -> list[dict[str, Any]]:
    runs = []
    for n, e in enumerate(events):
        if e.get("cat") == "Session" and e.get("name") == "model_run":
            for key in ("ts", "dur"):
                if key not in e:
                    raise ParseError(f"traceEvents[{n}] (model_run) has no {key!r}", file, None)
                if not (math.isfinite(e[key]) and e[key] >= 0):
                    raise ParseError(f"traceEvents[{n}].{key} is {e[key]!r}; expected a finite "
                                     "time >= 0 [us]", file, None)
            runs.append(e)
    runs.sort(key=lambda e: e["ts"])
    if not runs:
        raise ParseError("onnxruntime profile has no model_run events", file, None)
    return runs


def _kernel_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e.get("cat") == "Node" and str(e.get("name", "")).endswith(_KERNEL_SUFFIX)]


def _kept(runs: list[dict], warmup_runs: int) -> list[dict]:
    """Runs after warm-up; keep all when there would be none left."""
    return runs[warmup_runs:] if len(runs) > warmup_runs else runs


def _run_of(event: dict, runs: list[dict]) -> int | None:
    ts = event.get("ts", 0)
    for i, run in enumerate(runs):
        if run["ts"] <= ts <= run["ts"] + run["dur"]:
            return i
    return None


_DTYPES = {"float": "fp32", "float32": "fp32", "float16": "fp16", "bfloat16": "bf16",
           "int8": "int8", "uint8": "int8", "double": "fp64"}


def _args(event: dict) -> dict:
    """An event's ``args`` object ({} when absent or not an object)."""
    args = event.get("args")
    return args if isinstance(args, dict) else {}


def _first_input(nodes: list[dict]) -> tuple[str | None, list | None]:
    """(dtype, dims) of the first input of the first node that reports shapes."""
    for ev in nodes:
        shapes = _args(ev).get("input_type_shape")
        if not isinstance(shapes, list):
            continue
        if shapes and isinstance(shapes[0], dict) and shapes[0]:
            dtype, dims = next(iter(shapes[0].items()))
            return dtype, dims
    return None, None


@only_parse_errors("onnxruntime profile")
def read_ort_profile(path: str | os.PathLike, *, batch: int | None = None,
                     device: str | None = None, warmup_runs: int = 1,
                     model: str | None = None) -> pd.DataFrame:
    """Measurement rows from an onnxruntime profile.

    Parameters
    ----------
    path : str or path-like
        The profile JSON written by ``InferenceSession.end_profiling()``.
    batch : int, optional
        Batch size [samples]; by default the leading dimension of the first node's first
        input (``input_type_shape``).
    device : str, optional
        Device name (the profile does not record it; the provider goes to ``notes``).
    warmup_runs : int
        Leading ``model_run`` events to drop (kept when nothing else is left).
    model : str, optional
        Model name (the profile does not record it).

    Returns
    -------
    pandas.DataFrame
        ``throughput_img_s`` (batch / mean run time; only with a batch) and ``latency_ms``
        (median run time per batch [ms]) rows, framework ``"onnxruntime"``.
    """
    return checked_frame(ort_profile_records(path, batch=check_batch(batch), device=device,
                                             warmup_runs=warmup_runs, model=model), str(path))


def ort_profile_records(path: str | os.PathLike, *, batch: int | None = None,
                        device: str | None = None, warmup_runs: int = 1,
                        model: str | None = None) -> list[dict[str, Any]]:
    """The rows of :func:`read_ort_profile` as dicts."""
    file = str(path)
    events = load_ort_events(path)
    runs = _runs(events, file)
    kept = _kept(runs, warmup_runs)
    durs_ms = np.array([r["dur"] for r in kept], dtype=float) / 1000.0
    stats = latency_stats(durs_ms)
    if not stats["latency_median_ms"] > 0:
        raise ParseError("model_run durations are zero", file, None)
    nodes = _kernel_events(events)
    dtype, dims = _first_input(nodes)
    notes = [f"{len(kept)} of {len(runs)} model_run events (first {len(runs) - len(kept)} "
             "dropped as warm-up); time per run() call"]
    providers = sorted({str(_args(e).get("provider")) for e in nodes} - {"None"})
    if providers:
        notes.append("providers: " + ", ".join(providers))
    if batch is None and isinstance(dims, list) and dims and isinstance(dims[0], int) \
            and not isinstance(dims[0], bool) and dims[0] > 0:
        batch = dims[0]
        notes.append(f"batch {batch} from the first node's input shape")
    elif batch is not None:
        notes.append(f"batch {batch} from argument")
    precision_raw = f"{dtype} (first node input)" if dtype else None
    base = {
        "source": "onnxruntime profile", "source_detail": os.path.basename(file),
        "model": model, "framework": "onnxruntime", "device": device, "device_raw": device,
        "n_devices": 1, "devices_per_node": 1,
        "precision": _DTYPES.get(dtype, precision_from_text(dtype)) if dtype else "not stated",
        "precision_raw": precision_raw, "batch_per_device": batch, "phase": "inference",
        "notes": "; ".join(notes), "throughput_qps": 1000.0 / stats["latency_mean_ms"],
        "file": file, "line": 1, **stats,
    }
    records = []
    if batch:
        records.append({**base, "metric": "throughput_img_s",
                        "value": batch * 1000.0 / stats["latency_mean_ms"]})
    records.append({**base, "metric": "latency_ms", "value": stats["latency_median_ms"]})
    return records


@only_parse_errors("onnxruntime profile")
def read_ort_layer_profile(path: str | os.PathLike, *, warmup_runs: int = 1) -> pd.DataFrame:
    """Per-node kernel times of an onnxruntime profile.

    Node events of the dropped warm-up runs are ignored; ``count`` is the number of kept
    events per node, ``percent`` the node's share of the sum of mean node times [%],
    ``layer_type`` the ONNX op type (``args.op_name``).
    """
    file = str(path)
    events = load_ort_events(path)
    runs = _runs(events, file)
    kept_ids = {id(r) for r in _kept(runs, warmup_runs)}
    by_node: dict[str, dict[str, Any]] = {}
    for ev in _kernel_events(events):
        idx = _run_of(ev, runs)
        if idx is not None and id(runs[idx]) not in kept_ids:
            continue
        name = ev["name"][: -len(_KERNEL_SUFFIX)]
        entry = by_node.setdefault(name, {"durs": [], "op": (ev.get("args") or {}).get("op_name")})
        entry["durs"].append(float(ev.get("dur", 0)) / 1000.0)
    means = {k: float(np.mean(v["durs"])) for k, v in by_node.items()}
    total = sum(means.values())
    records = [{"layer": k, "time_ms_mean": means[k], "time_ms_median": float(np.median(v["durs"])),
                "percent": 100.0 * means[k] / total if total > 0 else np.nan,
                "count": len(v["durs"]), "file": file, "layer_type": v["op"]}
               for k, v in by_node.items()]
    return layer_frame(records)
