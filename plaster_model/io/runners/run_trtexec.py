"""Run TensorRT's ``trtexec`` over an ONNX model per batch size and precision, and parse it.

Each (batch, precision) is one ``trtexec --onnx=MODEL --shapes=INPUT:BxCxHxW [--fp16|--int8]``
run; its output goes through the project's trtexec log parser
(:func:`plaster_model.io.readers.trtexec.parse_trtexec_text`), which gives two rows per
run: ``throughput_img_s`` (qps × batch) and ``latency_ms`` (the median **GPU Compute Time**,
the number to fit compute to; ``BRIEF.md`` §7). When no ``trtexec`` executable is found the
TensorRT Python API (``import tensorrt``) is used instead, timing with CUDA events.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np

from ._onnx import add_model_columns, graph_inputs, load_onnx, model_for, onnx_name
from ..._arguments import aliased
from ...errors import MeasureError, MeasureWarning, ParameterError, PlasterError

__all__ = ["trtexec", "PRECISION_FLAGS", "DEFAULT_TIMEOUT_S"]

#: Default limit of one trtexec run [s]: an INT8 build of a large network takes minutes,
#: never an hour; a hung trtexec (a driver stuck, a device held by another process) is
#: stopped instead of blocking forever.
DEFAULT_TIMEOUT_S = 3600.0

#: Precision -> trtexec flags (TensorRT may run any layer at a higher precision).
PRECISION_FLAGS = {"fp32": (), "fp16": ("--fp16",), "int8": ("--int8",), "bf16": ("--bf16",),
                   "fp8": ("--fp8",), "best": ("--best",)}


def _shape_text(inputs, batch, input_name, shape):
    if input_name is not None:
        match = [i for i in inputs if i[0] == input_name]
        if not match:
            raise ParameterError("input_name", input_name,
                                 f"an input of the model: one of {[i[0] for i in inputs]}")
        inputs = match + [i for i in inputs if i[0] != input_name]
    parts = []
    for name, dims, _ in inputs:
        rest = shape if (shape is not None and name == inputs[0][0]) else dims[1:]
        if any(not isinstance(d, int) for d in rest):
            raise ParameterError("sample_shape", shape, f"the per-sample shape (C, H, W) of input "
                                 f"{name!r}, whose non-batch dimensions {dims} are symbolic")
        parts.append(f"{name}:" + "x".join(str(d) for d in (batch, *rest)))
    return ",".join(parts)


def _find_trtexec(trtexec):
    if os.path.sep in str(trtexec) or (os.altsep and os.altsep in str(trtexec)):
        return str(trtexec) if Path(trtexec).is_file() else None
    return shutil.which(str(trtexec))


def trtexec(onnx_path, batches=None, precisions=("fp32", "fp16"), trtexec="trtexec",
            extra_args=(), input_name=None, model_name=None, sample_shape=None, timeout=None,
            log_dir=None, *, batch_sizes=None):
    """Measure an ONNX model with TensorRT at several batch sizes and precisions.

    Parameters
    ----------
    onnx_path : str or path-like
        The ONNX file (its first input's batch dimension must be dynamic).
    batches : sequence of int
        Batch sizes, default ``(1, 8, 32)``; ``batch_sizes=`` is accepted as an alias (not both).
    precisions : sequence of {"fp32", "fp16", "int8", "bf16", "fp8", "best"}
        Builder precisions (:data:`PRECISION_FLAGS`).
    trtexec : str
        Executable name or path (default ``"trtexec"`` on ``PATH``).
    extra_args : sequence of str, or str
        More trtexec flags (e.g. ``("--useCudaGraph", "--noDataTransfers")``); a string is
        split like a shell command line (:func:`shlex.split`: ``"--fp16 --workspace=64"``).
    input_name : str, optional
        Input to size first (default: the first graph input).
    model_name : str, optional
        Name for the ``model`` column (default: the graph name, else the file stem).
    sample_shape : tuple of int, optional
        Per-sample shape of that input when the ONNX file leaves it symbolic.
    timeout : float, optional
        Seconds per trtexec run; default :data:`DEFAULT_TIMEOUT_S` (one hour). A run past it
        is stopped and counts as a failed run.
    log_dir : str or path-like, optional
        Keep each run's output as ``<model>_b<batch>_<precision>.log`` there. The model
        name is reduced to letters, digits, ``.``, ``_`` and ``-`` for the file name, so that
        a graph named ``../../x`` or ``/etc/x`` cannot write outside `log_dir`.
    batch_sizes : sequence of int, optional
        Alias of ``batches`` (its former name).

    Returns
    -------
    pandas.DataFrame
        Measurement rows (two per finished run), device and TensorRT version as trtexec
        printed them (names mapped to the catalog), and the model's work counted from the
        graph in ``model_fwd_flops`` [FLOP per sample] and ``model_params`` (when it can be
        counted). A run that fails (an unsupported precision, a timeout, no summary) costs
        itself only: the finished runs are returned, a :class:`~plaster_model.MeasureWarning`
        names each failed run and ``df.attrs["failed"]`` lists ``(batch, precision, reason)``.
        Output bytes that are not UTF-8 are replaced, never fatal.

    Raises
    ------
    MeasureError
        (a ``RuntimeError``) Every run failed (the message holds each command and the end
        of its output), or neither ``trtexec`` nor the TensorRT Python API is available.
    ParameterError
        A batch, precision, input name, timeout or ``extra_args`` outside its domain.
    """
    import pandas as pd

    from ..readers.normalize import normalize_names
    from ..readers.schema import conform

    extra = _extra_args(extra_args)
    batch_sizes = aliased("batches", batches, "batch_sizes", batch_sizes)
    batch_sizes = _batches((1, 8, 32) if batch_sizes is None else batch_sizes)
    if isinstance(precisions, str):
        precisions = (precisions,)
    bad = [p for p in precisions if p not in PRECISION_FLAGS]
    if bad or not precisions:
        raise ParameterError("precisions", precisions, f"some of {list(PRECISION_FLAGS)}")
    timeout = _timeout(timeout)
    onnx_path = Path(onnx_path)
    if not onnx_path.is_file():
        raise FileNotFoundError(f"ONNX model not found: {os.fspath(onnx_path)!r}")
    model = load_onnx(onnx_path)
    name = onnx_name(model, onnx_path, model_name)
    inputs = graph_inputs(model)
    _shape_text(inputs, batch_sizes[0], input_name, sample_shape)  # arguments first
    exe = _find_trtexec(trtexec)
    if exe is None:
        _require_tensorrt_api(trtexec)  # neither path: one error, before any run
    frames, failed = [], []
    for precision in precisions:
        for b in batch_sizes:
            shapes = _shape_text(inputs, b, input_name, sample_shape)
            try:
                if exe is None:
                    frames.append(_tensorrt_api(onnx_path, b, precision, shapes, name, trtexec))
                    continue
                cmd = [exe, f"--onnx={os.fspath(onnx_path)}", f"--shapes={shapes}",
                       *PRECISION_FLAGS[precision], *extra]
                frames.append(_one_run(cmd, name, b, precision, timeout, log_dir))
            except MeasureError as exc:
                # One failed run (an unsupported precision on this GPU, a timeout) costs
                # itself only: the finished runs are kept.
                failed.append((b, precision, str(exc)))
    if failed:
        listing = "\n".join(f"  batch {b} {p}: {m}" for b, p, m in failed)
        if not frames:
            raise MeasureError(f"every trtexec run failed ({len(failed)}):\n{listing}")
        warnings.warn(f"{len(failed)} of {len(failed) + len(frames)} trtexec runs failed; the "
                      f"finished ones are returned:\n{listing}", MeasureWarning, stacklevel=2)
    out = conform(pd.concat(frames, ignore_index=True))
    out, _ = normalize_names(out)
    out = add_model_columns(out, model_for(model, name))
    out.attrs["failed"] = failed
    return out


def _one_run(cmd: list[str], name: str, b: int, precision: str, timeout: float, log_dir):
    """Rows of one trtexec run, or :class:`MeasureError` saying why there are none."""
    from ..readers.schema import decode_text
    from ..readers.trtexec import parse_trtexec_text, runs_to_frame

    try:
        # Bytes, not text=True: one byte that is not UTF-8 in trtexec's output (a device
        # name, a path) raised UnicodeDecodeError and lost every finished run.
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise MeasureError(f"trtexec timed out after {timeout:g} s: {' '.join(cmd)}") from None
    except OSError as exc:
        raise MeasureError(f"trtexec could not start ({exc}): {' '.join(cmd)}") from None
    stdout, stderr = decode_text(proc.stdout or b""), decode_text(proc.stderr or b"")
    text = stdout + ("\n" + stderr if stderr else "")
    if log_dir is not None:
        _log_path(log_dir, name, b, precision).write_text(text, encoding="utf-8")
    if proc.returncode != 0:
        tail = "\n".join(text.strip().splitlines()[-15:])
        raise MeasureError(f"trtexec failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")
    try:
        log = parse_trtexec_text(stdout or text, file=f"trtexec {name} b={b} {precision}", batch=b)
    except PlasterError as exc:
        raise MeasureError(f"trtexec output unreadable ({exc}): {' '.join(cmd)}") from None
    if not log.runs:
        raise MeasureError(f"trtexec printed no performance summary: {' '.join(cmd)}")
    df = runs_to_frame(log.runs)
    df["model"] = name
    df["source"] = "plaster_model.measure.trtexec"
    return df


def _batches(values) -> list[int]:
    """Batch sizes as ints: whole numbers >= 1 (2.5 is refused, not truncated)."""
    from ..readers.schema import check_batch

    try:
        items = list(values)
    except TypeError:
        raise ParameterError("batches", values, "a sequence of whole numbers >= 1") from None
    if not items:
        raise ParameterError("batches", values, "a non-empty sequence of whole numbers >= 1")
    out = []
    for v in items:
        try:
            out.append(check_batch(v, "batches"))
        except ParameterError:
            raise ParameterError("batches", values, "whole numbers of samples >= 1") from None
    return out


def _whole(value, name: str, low: int) -> int:
    """`value` as an int >= `low` (a whole number; True is not one), else ParameterError."""
    import numbers

    if (isinstance(value, bool) or not isinstance(value, numbers.Real) or value != value
            or value in (float("inf"), float("-inf")) or value != int(value) or value < low):
        raise ParameterError(name, value, f"a whole number >= {low}")
    return int(value)


def _timeout(timeout) -> float:
    import math

    if timeout is None:
        return DEFAULT_TIMEOUT_S
    ok = isinstance(timeout, (int, float)) and not isinstance(timeout, bool)
    if not ok or not (timeout > 0) or math.isnan(timeout):
        raise ParameterError("timeout", timeout, "seconds > 0 (None for the default, one hour)")
    return float(timeout)


def _extra_args(extra_args) -> list[str]:
    """trtexec flags from a sequence of strings or one shell-like string."""
    import shlex

    if isinstance(extra_args, str):
        try:
            return shlex.split(extra_args)
        except ValueError as exc:  # an unclosed quote
            raise ParameterError("extra_args", extra_args, f"a command-line string ({exc})") from None
    if isinstance(extra_args, (bytes, bytearray)) or not all(isinstance(a, str) for a in extra_args):
        raise ParameterError("extra_args", extra_args, "a list of strings or one command-line string")
    return list(extra_args)


def _log_path(log_dir, name: str, batch: int, precision: str) -> Path:
    """``<log_dir>/<name>_b<batch>_<precision>.log``, confined to `log_dir`.

    The name comes from the ONNX graph, i.e. from whoever wrote the file: only letters,
    digits, ``.``, ``_`` and ``-`` are kept (no separator, no leading dot), and the
    resolved path must still lie inside `log_dir` (a symbolic link there cannot lead out).
    """
    import re

    folder = Path(log_dir)
    folder.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)).lstrip(".")[:100] or "onnx_model"
    path = folder / f"{stem}_b{int(batch)}_{precision}.log"
    root = folder.resolve()
    if root not in path.resolve().parents:
        raise ParameterError("log_dir", os.fspath(log_dir),
                             f"a folder the log {path.name!r} resolves inside of")
    return path


def _require_tensorrt_api(trtexec_name) -> None:
    """:class:`MeasureError` unless the TensorRT Python API path can run (tensorrt, torch)."""
    import importlib.util

    if importlib.util.find_spec("tensorrt") is None:
        raise MeasureError(f"neither {trtexec_name!r} (not on PATH) nor the TensorRT Python API "
                           "('import tensorrt' failed) is available: install TensorRT, or pass "
                           "trtexec='/path/to/trtexec'")
    if importlib.util.find_spec("torch") is None:
        raise MeasureError("the TensorRT Python API path needs PyTorch for device buffers "
                           "(or install trtexec)")


def _tensorrt_api(onnx_path, batch, precision, shapes, name, trtexec_name):
    """One (batch, precision) measurement through the TensorRT Python API (TensorRT >= 8.5,
    with PyTorch for device buffers and CUDA events): build, warm up 20 runs, time 100."""
    try:
        import tensorrt as trt
    except ImportError:
        raise MeasureError(f"neither {trtexec_name!r} (not on PATH) nor the TensorRT Python API "
                           "('import tensorrt' failed) is available: install TensorRT, or pass "
                           "trtexec='/path/to/trtexec'") from None
    try:
        import torch
    except ImportError:
        raise MeasureError("the TensorRT Python API path needs PyTorch for device buffers "
                           "(or install trtexec)") from None
    from ..readers.schema import frame_from_records, latency_stats

    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
                                     if hasattr(trt.NetworkDefinitionCreationFlag, "EXPLICIT_BATCH") else 0)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(Path(onnx_path).read_bytes()):
        errs = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise MeasureError(f"TensorRT could not parse {onnx_path}: {errs}")
    config = builder.create_builder_config()
    for flag in {"fp16": ("FP16",), "int8": ("INT8",), "bf16": ("BF16",), "fp8": ("FP8",),
                 "best": ("FP16", "INT8")}.get(precision, ()):
        config.set_flag(getattr(trt.BuilderFlag, flag))
    profile = builder.create_optimization_profile()
    dims = {}
    for item in shapes.split(","):
        iname, d = item.rsplit(":", 1)
        dims[iname] = tuple(int(v) for v in d.split("x"))
        profile.set_shape(iname, dims[iname], dims[iname], dims[iname])
    config.add_optimization_profile(profile)
    engine_bytes = builder.build_serialized_network(network, config)
    if engine_bytes is None:
        raise MeasureError(f"TensorRT failed to build {onnx_path} at batch {batch} ({precision})")
    engine = trt.Runtime(logger).deserialize_cuda_engine(engine_bytes)
    ctx = engine.create_execution_context()
    bufs = []
    for i in range(engine.num_io_tensors):
        tname = engine.get_tensor_name(i)
        if engine.get_tensor_mode(tname) == trt.TensorIOMode.INPUT:
            ctx.set_input_shape(tname, dims[tname])
    for i in range(engine.num_io_tensors):
        tname = engine.get_tensor_name(i)
        shape = tuple(ctx.get_tensor_shape(tname))
        dtype = torch.from_numpy(np.zeros(1, dtype=trt.nptype(engine.get_tensor_dtype(tname)))).dtype
        t = torch.empty(shape, dtype=dtype, device="cuda")
        bufs.append(t)
        ctx.set_tensor_address(tname, t.data_ptr())
    stream = torch.cuda.Stream()
    times = []
    with torch.cuda.stream(stream):
        for k in range(120):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record(stream)
            ctx.execute_async_v3(stream.cuda_stream)
            end.record(stream)
            end.synchronize()
            if k >= 20:
                times.append(start.elapsed_time(end))
    stats = latency_stats(times)
    device = torch.cuda.get_device_name()
    base = {"source": "plaster_model.measure.trtexec (TensorRT Python API)",
            "source_detail": f"{name} batch {batch} {precision}", "model": name,
            "framework": "TensorRT", "device": device, "device_raw": device, "n_devices": 1,
            "devices_per_node": 1, "precision": "int8" if precision == "best" else precision,
            "batch_per_device": batch, "phase": "inference", "engine_version": trt.__version__,
            "notes": "TensorRT Python API; 100 timed execute_async_v3 after 20 warm-up; CUDA events; "
                     "no host transfers", **stats}
    return frame_from_records([
        {**base, "metric": "latency_ms", "value": stats["latency_median_ms"]},
        {**base, "metric": "throughput_img_s", "value": batch * 1e3 / stats["latency_median_ms"]},
    ])
