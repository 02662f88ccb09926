"""Parsers for trtexec's JSON exports and trex's metadata digests (``tensorrt.md`` §2).

* ``--exportTimes``: one record per inference -> the same two rows as a text summary
  (``throughput_img_s``, ``latency_ms`` = median GPU compute time), statistics recomputed
  with trtexec's rules. Files from TRT <= 8.4 include the warm-up inferences: records whose
  ``startComputeMs`` is below the warm-up (200 ms by default, GPU-clock time since the start
  event) are dropped, as trtexec itself does.
* ``--exportProfile``: per-layer times -> :func:`read_layer_profile`.
* ``--exportLayerInfo``: layer list -> :func:`read_layer_info` (no measurement rows).
* trex ``*.profile.metadata.json`` (performance summary digest) -> measurement rows;
  ``*.build.metadata.json`` -> build context only (no rows).

trtexec writes these files by hand (no JSON library): bare ``nan``/``inf`` are repaired
before :func:`json.loads`, and a file that still does not parse raises :class:`ParseError`
with the line of the JSON error.
"""
from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .normalize import precision_from_text
from .schema import (ParseError, check_batch, checked_frame, latency_stats, layer_frame,
                     only_parse_errors, read_text)

__all__ = ["load_trt_json", "export_times_stats", "read_export_times", "export_times_records",
           "read_export_profile", "read_layer_info", "read_trex_metadata",
           "trex_metadata_records", "read_layer_profile", "trex_siblings"]

_NONFINITE = re.compile(r"(?<![\w.\"])(-?)(nan|inf)(?![\w\"])", re.IGNORECASE)


def load_trt_json(path: str | os.PathLike, text: str | None = None) -> Any:
    """Load a trtexec/trex JSON file, repairing bare ``nan``/``inf`` tokens.

    Raises
    ------
    ParseError
        If the file is not valid JSON even after the repair (names file and line).
    """
    if text is None:
        text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        # Repair only when the parser stopped at a bare nan/inf token (what trtexec writes);
        # any other error is reported at once, without a regex pass over a large file.
        if not re.match(r"-?(?:nan|inf)", text[exc.pos:exc.pos + 4], re.IGNORECASE):
            raise ParseError(f"invalid JSON: {exc.msg} (column {exc.colno})", str(path),
                             exc.lineno) from None
    except RecursionError:
        raise ParseError("JSON nested too deeply (deeper than Python's recursion limit)",
                         str(path), None) from None
    fixed = _NONFINITE.sub(lambda m: ("-Infinity" if m.group(1) else "Infinity")
                           if m.group(2).lower() == "inf" else "NaN", text)
    try:
        return json.loads(fixed)
    except json.JSONDecodeError as exc:
        raise ParseError(f"invalid JSON: {exc.msg} (column {exc.colno})", str(path), exc.lineno) from None
    except RecursionError:
        raise ParseError("JSON nested too deeply (deeper than Python's recursion limit)",
                         str(path), None) from None


def _record_lines(text: str) -> list[int]:
    """1-based line of each top-level record (trtexec writes one record per line).

    A record starts at a "{" with only blanks and at most one comma before it on its line.
    The "{"s are found by a literal search and the lines by newline counts between them, at
    C speed: millions of blank lines between the records cost no Python step per line.
    """
    if "\n" not in text:
        text = text.replace("\r", "\n")  # CR-only line ends
    out, line, scanned, line_start = [], 1, 0, 0
    start = text.find("{")
    while start >= 0:
        n = text.count("\n", scanned, start)  # each stretch of text is counted once
        if n:
            line += n
            line_start = text.rfind("\n", scanned, start) + 1
        scanned = start
        # a short head only: a minified one-line file must not be re-read per "{"
        head = text[line_start:start] if start - line_start <= 64 else "x"
        if head.count(",") <= 1 and not head.replace(",", "").strip(" \t\r"):
            out.append(line)
        start = text.find("{", start + 1)
    return out


def export_times_stats(records: list[dict[str, Any]], *, warmup_ms: float = 200.0,
                       file: str = "<records>", lines: list[int] | None = None) -> dict[str, Any]:
    """Statistics of ``--exportTimes`` records, as trtexec's summary would print them.

    Parameters
    ----------
    records : list of dict
        Per-inference records (``startComputeMs``, ``computeMs``, ``latencyMs``, ...) [ms].
    warmup_ms : float
        Warm-up length [ms]. Used only when the file holds warm-up records (its first
        ``startComputeMs`` is below `warmup_ms`, i.e. TRT <= 8.4): then records with
        ``startComputeMs < warmup_ms`` are dropped.

    Returns
    -------
    dict
        ``count``, ``n_dropped_warmup``, ``walltime_s`` [s], ``qps`` (inferences/s) and
        ``latency_*_ms`` (GPU compute statistics), ``host_latency_mean_ms``,
        ``host_latency_median_ms``, ``h2d_mean_ms``, ``d2h_mean_ms``, ``enqueue_mean_ms`` [ms].
    lines : list of int, optional
        Line of each record in the file, for error messages.
    """
    for n, rec in enumerate(records):
        ok = isinstance(rec, dict) and all(
            isinstance(rec.get(k), (int, float)) and not isinstance(rec.get(k), bool)
            for k in ("computeMs", "startComputeMs"))
        if not ok:
            line = lines[n] if lines and n < len(lines) else None
            raise ParseError(f"exportTimes record {n} has no numeric computeMs/startComputeMs: {rec!r}"[:200],
                             file, line)
    includes_warmup = bool(records) and records[0]["startComputeMs"] < warmup_ms
    kept = [r for r in records if r["startComputeMs"] >= warmup_ms] if includes_warmup else list(records)
    if not kept:
        raise ParseError(f"no exportTimes records after the {warmup_ms} ms warm-up", file, None)
    compute = np.array([float(r["computeMs"]) for r in kept])
    if not np.all(np.isfinite(compute)):
        raise ParseError("non-finite computeMs in exportTimes records", file, None)
    out: dict[str, Any] = dict(latency_stats(compute))
    out["count"] = len(kept)
    out["n_dropped_warmup"] = len(records) - len(kept)
    out.update(_optional_means(kept, file))
    start = _h2d_start(kept[0])
    end = kept[-1].get("endD2hMs", kept[-1].get("endOutMs", kept[-1].get("endComputeMs")))
    walltime_ms = float(end) - float(start)
    out["walltime_s"] = walltime_ms / 1000.0
    out["qps"] = len(kept) / out["walltime_s"] if walltime_ms > 0 else None
    return out


def _h2d_start(rec: dict[str, Any]) -> float:
    """GPU-clock start of the input copy, whatever the version's key names."""
    if "startH2dMs" in rec:  # 8.0+
        return float(rec["startH2dMs"])
    if "startEnqMs" in rec and "startInMs" in rec:  # 7.1-7.2 swapped the two pairs
        return float(rec["startEnqMs"])
    return float(rec.get("startInMs", rec["startComputeMs"]))  # 7.0


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _optional_means(records: list[dict[str, Any]], file: str = "<records>") -> dict[str, float]:
    """Host latency, H2D, D2H and enqueue means where the version's keys exist [ms]."""
    def col(key: str) -> np.ndarray | None:
        if all(key in r for r in records):
            for n, r in enumerate(records):
                if not _is_number(r[key]):
                    raise ParseError(f"exportTimes record {n}: {key} is {r[key]!r}, not a number"[:300],
                                     file, None)
            return np.array([float(r[key]) for r in records])
        return None

    out = {}
    lat = col("latencyMs")
    if lat is not None:
        out["host_latency_mean_ms"] = float(lat.mean())
        out["host_latency_median_ms"] = float(np.median(lat))
    for src, dst in (("h2dMs", "h2d_mean_ms"), ("inMs", "h2d_mean_ms"),
                     ("d2hMs", "d2h_mean_ms"), ("outMs", "d2h_mean_ms")):
        v = col(src)
        if v is not None and dst not in out:
            out[dst] = float(v.mean())
    s, e = col("startEnqMs"), col("endEnqMs")
    # 7.1-7.2 swapped the enqueue and H2D timestamps (tensorrt.md §2.1): only trust >= 8.0 keys.
    if s is not None and e is not None and "startH2dMs" in records[0]:
        out["enqueue_mean_ms"] = float((e - s).mean())
    return out


def trex_siblings(path: str | os.PathLike) -> dict[str, Path]:
    """trex files next to ``<prefix>.timing.json``/``.profile.json``/...: ``{kind: path}``.

    Kinds: ``timing``, ``profile``, ``graph``, ``profile_metadata``, ``build_metadata``.
    """
    p = Path(path)
    name = p.name
    for suffix in (".profile.metadata.json", ".build.metadata.json", ".timing.json",
                   ".profile.json", ".graph.json"):
        if name.endswith(suffix):
            prefix = name[: -len(suffix)]
            break
    else:
        return {}
    kinds = {"timing": ".timing.json", "profile": ".profile.json", "graph": ".graph.json",
             "profile_metadata": ".profile.metadata.json", "build_metadata": ".build.metadata.json"}
    out = {}
    for kind, suffix in kinds.items():
        q = p.with_name(prefix + suffix)
        if q.is_file():
            out[kind] = q
    return out


def _trex_context(path: str | os.PathLike) -> dict[str, Any]:
    """Device, model, precision and batch from trex metadata next to `path` (if any)."""
    ctx: dict[str, Any] = {}
    sib = trex_siblings(path)
    for kind, reader in (("build_metadata", _build_context), ("profile_metadata", _profile_context)):
        if kind not in sib or sib[kind] == Path(path):
            continue
        try:
            meta = load_trt_json(sib[kind])
        except ParseError as exc:
            # A broken context file costs its context, never the good file beside it.
            ctx.setdefault("context_errors", []).append(f"{sib[kind].name} unreadable ({exc.reason})")
            continue
        ctx.update(reader(meta))
        ctx.setdefault("context_files", []).append(sib[kind].name)
    return ctx


def _section(meta: Any, key: str) -> dict[str, Any]:
    """``meta[key]`` when both are JSON objects, else {} (context is optional)."""
    value = meta.get(key) if isinstance(meta, dict) else None
    return value if isinstance(value, dict) else {}


def _build_context(meta: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    model = _section(meta, "model_options").get("Model")
    if model:
        name = re.split(r"[\\/]", str(model))[-1]
        out["model"] = re.sub(r"\.(onnx|prototxt|uff|engine|trt|plan)$", "", name, flags=re.I)
    prec = _section(meta, "build_options").get("Precision")
    if isinstance(prec, str) and prec:
        out["precision"], out["precision_raw"] = precision_from_text(prec), prec
    return out


def _profile_context(meta: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    dev = _section(meta, "device_information").get("Selected Device")
    if isinstance(dev, str) and dev:
        out["device"] = dev
    shape = _section(meta, "inference_options").get("Input inference shape")
    if shape and "=" in str(shape):
        m = re.match(r"^\s*(\d+)", str(shape).split(",")[0].rsplit("=", 1)[1])
        if m:
            out["batch"] = int(m.group(1))
    return out


def _rows(stats: dict[str, Any], ctx: dict[str, Any], *, source: str, file: str, line: int | None,
          notes: list[str]) -> list[dict[str, Any]]:
    """``throughput_img_s`` + ``latency_ms`` rows from summary statistics and context."""
    batch = ctx.get("batch")
    base = {
        "source": source, "source_detail": f"{os.path.basename(file)}", "model": ctx.get("model"),
        "framework": "TensorRT", "device": ctx.get("device"), "device_raw": ctx.get("device"),
        "n_devices": 1, "devices_per_node": 1, "precision": ctx.get("precision", "not stated"),
        "precision_raw": ctx.get("precision_raw"), "batch_per_device": batch,
        "phase": "inference", "notes": "; ".join(notes) or None,
        "engine_version": ctx.get("engine_version"), "throughput_qps": stats.get("qps"),
        "file": file, "line": line,
    }
    for key in ("latency_mean_ms", "latency_median_ms", "latency_min_ms", "latency_max_ms",
                "latency_p90_ms", "latency_p95_ms", "latency_p99_ms", "latency_std_ms",
                "host_latency_mean_ms", "host_latency_median_ms", "h2d_mean_ms", "d2h_mean_ms",
                "enqueue_mean_ms"):
        base[key] = stats.get(key)
    records = []
    if stats.get("qps") and batch:
        records.append({**base, "metric": "throughput_img_s", "value": stats["qps"] * batch})
    records.append({**base, "metric": "latency_ms", "value": stats["latency_median_ms"]})
    return records


@only_parse_errors("exportTimes")
def read_export_times(path: str | os.PathLike, *, batch: int | None = None,
                      warmup_ms: float = 200.0, device: str | None = None,
                      use_trex_metadata: bool = True) -> pd.DataFrame:
    """Measurement rows from a ``--exportTimes`` JSON file.

    Parameters
    ----------
    path : str or path-like
        The JSON array of per-inference records.
    batch : int, optional
        Batch size [samples]; needed for ``throughput_img_s`` (the file does not record it).
        When omitted it is taken from a trex ``<prefix>.profile.metadata.json`` next to the
        file, if any.
    warmup_ms : float
        Warm-up to drop from files that include it (TRT <= 8.4) [ms].
    device : str, optional
        Device name when no trex metadata gives it.
    use_trex_metadata : bool
        Read model, device, precision and batch from trex metadata files next to `path`.

    Returns
    -------
    pandas.DataFrame
        ``throughput_img_s`` (only when the batch is known) and ``latency_ms`` (median GPU
        compute time per batch [ms]) rows; ``df.attrs["export_times"]`` holds the statistics.
    """
    records, stats = export_times_records(path, batch=check_batch(batch), warmup_ms=warmup_ms,
                                          device=device, use_trex_metadata=use_trex_metadata)
    df = checked_frame(records, str(path))
    df.attrs["export_times"] = stats
    return df


def export_times_records(path: str | os.PathLike, *, batch: int | None = None,
                         warmup_ms: float = 200.0, device: str | None = None,
                         use_trex_metadata: bool = True) -> tuple[list[dict[str, Any]], dict]:
    """The rows of :func:`read_export_times` as dicts, and the statistics."""
    file = str(path)
    text = read_text(path)
    records = load_trt_json(path, text)
    if not isinstance(records, list):
        raise ParseError("exportTimes file is not a JSON array", file, 1)
    lines = _record_lines(text)
    stats = export_times_stats(records, warmup_ms=warmup_ms, file=file,
                               lines=lines if len(lines) == len(records) else None)
    ctx = _trex_context(path) if use_trex_metadata else {}
    notes = [f"{stats['count']} inferences from --exportTimes"]
    if stats["n_dropped_warmup"]:
        notes.append(f"{stats['n_dropped_warmup']} warm-up records dropped "
                     f"(startComputeMs < {warmup_ms:g} ms)")
    if batch is not None:
        ctx["batch"] = int(batch)
        notes.append(f"batch {batch} from argument")
    elif "batch" in ctx:
        notes.append(f"batch {ctx['batch']} from trex metadata")
    if device and not ctx.get("device"):
        ctx["device"] = device
    if ctx.get("context_files"):
        notes.append("context from " + ", ".join(ctx["context_files"]))
    notes += ctx.get("context_errors", [])
    rows = _rows(stats, ctx, source="trtexec --exportTimes", file=file,
                 line=lines[0] if lines else 1, notes=notes)
    return rows, stats


@only_parse_errors("exportProfile")
def read_export_profile(path: str | os.PathLike) -> pd.DataFrame:
    """Per-layer times from a ``--exportProfile`` JSON file.

    Returns
    -------
    pandas.DataFrame
        :data:`~.schema.LAYER_PROFILE_COLUMNS`: ``time_ms_mean`` = ``averageMs``,
        ``time_ms_median`` = ``medianMs`` (NaN before TRT 8.4) [ms], ``percent`` [%],
        ``count`` = profiled iterations (the first record).
    """
    file = str(path)
    data = load_trt_json(path)
    if not isinstance(data, list) or not data or not isinstance(data[0], dict) or "count" not in data[0]:
        raise ParseError('exportProfile file must be a JSON array starting with {"count": N}', file, 1)
    count = data[0]["count"]
    records = []
    for n, rec in enumerate(data[1:], start=1):
        if not isinstance(rec, dict) or "name" not in rec or "averageMs" not in rec:
            raise ParseError(f"exportProfile record {n} has no name/averageMs", file, None)
        records.append({"layer": rec["name"], "time_ms_mean": rec["averageMs"],
                        "time_ms_median": rec.get("medianMs", math.nan),
                        "percent": rec.get("percentage", math.nan), "count": count, "file": file})
    return layer_frame(records)


@only_parse_errors("exportLayerInfo")
def read_layer_info(path: str | os.PathLike) -> pd.DataFrame:
    """Layer list of a ``--exportLayerInfo`` JSON file (engine inspector output).

    Returns
    -------
    pandas.DataFrame
        One row per layer: ``layer``, ``layer_type``, ``parameter_type``, ``input_dims``,
        ``output_dims`` (lists of dimension lists), ``input_formats``, ``output_formats``,
        ``kernel``, ``out_maps``, ``groups``, ``weights_count``, ``tactic``, ``metadata``,
        ``file``. With ``layer_names_only`` verbosity only ``layer`` and ``file`` are filled.
    """
    file = str(path)
    data = load_trt_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("Layers"), list):
        raise ParseError('exportLayerInfo file must be a JSON object with a "Layers" list', file, 1)
    rows = []
    for layer in data["Layers"]:
        if isinstance(layer, str):
            rows.append({"layer": layer, "file": file})
            continue
        ins, outs = layer.get("Inputs") or [], layer.get("Outputs") or []
        rows.append({
            "layer": layer.get("Name"), "layer_type": layer.get("LayerType"),
            "parameter_type": layer.get("ParameterType"),
            "input_dims": [t.get("Dimensions") for t in ins],
            "output_dims": [t.get("Dimensions") for t in outs],
            "input_formats": [t.get("Format/Datatype") for t in ins],
            "output_formats": [t.get("Format/Datatype") for t in outs],
            "kernel": layer.get("Kernel"), "out_maps": layer.get("OutMaps"),
            "groups": layer.get("Groups"),
            "weights_count": (layer.get("Weights") or {}).get("Count"),
            "tactic": layer.get("TacticName") or layer.get("TacticValue"),
            "metadata": layer.get("Metadata"), "file": file,
        })
    cols = ["layer", "layer_type", "parameter_type", "input_dims", "output_dims", "input_formats",
            "output_formats", "kernel", "out_maps", "groups", "weights_count", "tactic",
            "metadata", "file"]
    return pd.DataFrame(rows, columns=cols)


# trex summary lists are [min, max, mean, median, p<percentile>] (tensorrt.md §2.4).
def _trex_stats(summary: dict[str, Any], file: str) -> dict[str, Any]:
    def five(key: str) -> list[float] | None:
        v = summary.get(key)
        if v is None:
            return None
        if not isinstance(v, list) or len(v) < 4 or not all(_is_number(x) for x in v):
            raise ParseError(f"performance_summary[{key!r}] is not a [min, max, mean, median, ...] "
                             f"list of numbers: {v!r}"[:300], file, None)
        return [float(x) for x in v]

    gpu = five("GPU Compute Time")
    if gpu is None:
        raise ParseError('performance_summary has no "GPU Compute Time"', file, None)
    out: dict[str, Any] = {"latency_min_ms": gpu[0], "latency_max_ms": gpu[1],
                           "latency_mean_ms": gpu[2], "latency_median_ms": gpu[3]}
    if len(gpu) >= 5:
        out["latency_p99_ms"] = gpu[4]
    lat = five("Latency")
    if lat:
        out["host_latency_mean_ms"], out["host_latency_median_ms"] = lat[2], lat[3]
    for key, col in (("H2D Latency", "h2d_mean_ms"), ("D2H Latency", "d2h_mean_ms"),
                     ("Enqueue Time", "enqueue_mean_ms")):
        v = five(key)
        if v:
            out[col] = v[2]
    if summary.get("Throughput") is not None:
        if not _is_number(summary["Throughput"]):
            raise ParseError(f"performance_summary['Throughput'] is {summary['Throughput']!r}, "
                             "not a number"[:300], file, None)
        out["qps"] = float(summary["Throughput"])
    if not (math.isfinite(out["latency_median_ms"]) and out["latency_median_ms"] > 0):
        raise ParseError(f"GPU Compute Time median is {out['latency_median_ms']!r}", file, None)
    return out


def _check_trex_busy(stats: dict[str, Any], summary: dict[str, Any], opts: dict[str, Any],
                     file: str) -> None:
    """The text log's throughput-latency cross-check (:func:`.trtexec.check_gpu_busy`) on a
    trex digest: its "Throughput" is inferences/s (trex digests explicit-batch runs)."""
    from .trtexec import check_gpu_busy  # noqa: PLC0415

    streams = str(opts.get("Streams", "1")).strip()
    totals = [summary.get(k) for k in ("Total GPU Compute Time", "Total Host Walltime")]
    gpu_total_s, walltime_s = (float(v) if _is_number(v) and math.isfinite(v) else None for v in totals)
    check_gpu_busy(stats.get("qps"), stats.get("latency_min_ms"),
                   int(streams) if streams.isdigit() and len(streams) < 7 else 1,
                   gpu_total_s, walltime_s, file, None)


@only_parse_errors("trex metadata")
def read_trex_metadata(path: str | os.PathLike, *, batch: int | None = None) -> pd.DataFrame:
    """Rows from a trex ``*.profile.metadata.json`` (none from ``*.build.metadata.json``).

    The percentile in trex's lists is trtexec's (99 % by default before 8.5); it is stored
    as ``latency_p99_ms``. Model and precision come from the sibling build metadata.
    """
    return checked_frame(trex_metadata_records(path, batch=check_batch(batch)), str(path))


def trex_metadata_records(path: str | os.PathLike, *, batch: int | None = None) -> list[dict[str, Any]]:
    """The rows of :func:`read_trex_metadata` as dicts."""
    file = str(path)
    meta = load_trt_json(path)
    if not isinstance(meta, dict):
        raise ParseError("trex metadata must be a JSON object", file, 1)
    if "performance_summary" not in meta:
        return []  # build metadata: context only
    if not isinstance(meta["performance_summary"], dict):
        raise ParseError(f"performance_summary is a {type(meta['performance_summary']).__name__}, "
                         "not an object", file, None)
    summary = meta["performance_summary"]
    stats = _trex_stats(summary, file)
    _check_trex_busy(stats, summary, _section(meta, "inference_options"), file)
    ctx = _trex_context(path)
    ctx.update(_profile_context(meta))
    notes = ["trex digest of a trtexec summary"]
    if batch is not None:
        ctx["batch"] = int(batch)
    opts = _section(meta, "inference_options")
    if opts.get("CUDA Graph") == "Enabled":
        notes.append("CUDA graph")
    if opts.get("Data transfers") == "Disabled":
        notes.append("data transfers disabled")
    if ctx.get("batch"):
        notes.append(f"batch {ctx['batch']} from Input inference shape")
    notes += ctx.get("context_errors", [])
    return _rows(stats, ctx, source="trex metadata", file=file, line=1, notes=notes)


@only_parse_errors("layer profile")
def read_layer_profile(path: str | os.PathLike, *, warmup_runs: int = 1) -> pd.DataFrame:
    """Per-layer times from any supported file, chosen by content.

    ``--exportProfile`` JSON, a trtexec log with a ``--dumpProfile`` table, or an
    onnxruntime profile (per-node times, the first `warmup_runs` runs dropped).

    Returns
    -------
    pandas.DataFrame
        :data:`~.schema.LAYER_PROFILE_COLUMNS` (times per inference [ms], ``percent`` [%]).
    """
    from .read import sniff_format  # noqa: PLC0415 - read imports this module

    fmt = sniff_format(path)
    if fmt == "trtexec_profile":
        return read_export_profile(path)
    if fmt == "trtexec_log":
        from .trtexec import read_trtexec_layer_profile  # noqa: PLC0415
        return read_trtexec_layer_profile(path)
    if fmt == "ort_profile":
        from .ort_profile import read_ort_layer_profile  # noqa: PLC0415
        return read_ort_layer_profile(path, warmup_runs=warmup_runs)
    raise ParseError(f"no per-layer times in a {fmt} file", str(path), None)
