"""Measure an ONNX model on the CPU with onnxruntime: latency per batch and throughput.

For each batch size ``b`` the model runs ``n_warmup`` untimed and ``n_runs`` timed
``InferenceSession.run`` calls on random inputs; the wall time of each call
(:func:`time.perf_counter`) gives the latency statistics. Two rows per batch:
``latency_ms`` = the median time per call [ms] and ``throughput_img_s`` = ``b`` / median
time [samples/s] (the median, not the mean, so that a noisy machine's stragglers do not
move the number).
"""
from __future__ import annotations

import time

import numpy as np

from ._onnx import ELEM_TYPES, add_model_columns, graph_inputs, load_onnx, model_for, onnx_name
from ..._arguments import aliased
from ...errors import ParameterError, ParseError

__all__ = ["onnxruntime"]

DEFAULT_DEVICE = "x86-64 core (AVX2)"


def _import_ort():
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise ImportError("plaster_model.measure.onnxruntime needs onnxruntime: "
                          "pip install 'plaster_model[measure]'") from exc
    return ort


def _feeds(inputs, batch, rng, dims):
    feeds = {}
    for name, shape, elem in inputs:
        dtype = ELEM_TYPES.get(elem, ("float32", None))[0]
        if dtype == "bfloat16":
            raise ParseError(f"input {name!r} is bfloat16, which numpy cannot feed")
        full = []
        for k, d in enumerate(shape):
            if k == 0:
                if isinstance(d, int) and d != batch:
                    raise ParameterError("batches", batch, f"the static batch dimension {d} of input "
                                         f"{name!r} (export the model with a dynamic batch)")
                full.append(batch)
            elif isinstance(d, int):
                full.append(d)
            elif d in dims:
                full.append(int(dims[d]))
            else:
                raise ParameterError("dims", dict(dims), f"a value for the symbolic dimension {d!r} "
                                     f"(dimension {k} of input {name!r}): dims={{{d!r}: ...}}")
        if np.issubdtype(np.dtype(dtype), np.floating):
            feeds[name] = rng.standard_normal(full).astype(dtype)
        elif dtype == "bool":
            feeds[name] = rng.integers(0, 2, full).astype(bool)
        else:
            feeds[name] = rng.integers(0, 8, full).astype(dtype)
    return feeds


def onnxruntime(model_or_path, batches=None, n_warmup=3, n_runs=20, threads=1,
                model_name=None, device=DEFAULT_DEVICE, providers=("CPUExecutionProvider",),
                dims=None, seed=0, *, batch_sizes=None):
    """Measure a model with onnxruntime at several batch sizes.

    Parameters
    ----------
    model_or_path : onnx.ModelProto or str or path-like or bytes
        The model; its first input dimension must be dynamic (or equal the batch).
    batches : sequence of int
        Batch sizes, default ``(1, 4, 16)``; ``batch_sizes=`` is accepted as an alias (not both).
    n_warmup, n_runs : int
        Untimed and timed calls per batch size.
    threads : int
        ``intra_op_num_threads`` (and 1 inter-op thread). The default device
        ``"x86-64 core (AVX2)"`` is **one** core: with more threads give a ``device`` whose
        peak covers them.
    model_name : str, optional
        Name written in the ``model`` column (default: the graph name).
    device : str
        Device name written in the ``device`` column (a catalog name for calibration).
    providers : sequence of str
        onnxruntime execution providers.
    dims : mapping, optional
        Values of symbolic non-batch dimensions.
    seed : int
        Seed of the random inputs.
    batch_sizes : sequence of int, optional
        Alias of ``batches`` (its former name).

    Returns
    -------
    pandas.DataFrame
        Measurement rows (``phase="inference"``, ``framework="onnxruntime"``), two per
        batch size, with the latency statistics, and the model's work counted from the
        graph (:func:`plaster_model.onnx_import.model_from_onnx`) in ``model_fwd_flops``
        [FLOP per sample] and ``model_params``, which the calibration reads for models that
        are not in the zoo.

    Raises
    ------
    ImportError
        onnxruntime (or onnx) is not installed: ``pip install 'plaster_model[measure]'``.
    """
    ort = _import_ort()
    from ..readers.normalize import normalize_names
    from ..readers.schema import frame_from_records, latency_stats

    batch_sizes = aliased("batches", batches, "batch_sizes", batch_sizes)
    from .run_trtexec import _batches, _whole

    batch_sizes = _batches((1, 4, 16) if batch_sizes is None else batch_sizes)
    n_runs, threads = _whole(n_runs, "n_runs", 1), _whole(threads, "threads", 1)
    n_warmup = _whole(n_warmup, "n_warmup", 0)
    model = load_onnx(model_or_path)
    name = onnx_name(model, model_or_path, model_name)
    inputs = graph_inputs(model)
    precision = ELEM_TYPES.get(inputs[0][2], (None, None))[1] or "not stated"
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = int(threads)
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), sess_options=opts, providers=list(providers))
    rng = np.random.default_rng(seed)
    records = []
    for b in batch_sizes:
        feeds = _feeds(inputs, b, rng, dict(dims or {}))
        for _ in range(int(n_warmup)):
            sess.run(None, feeds)
        times = np.empty(int(n_runs))
        for k in range(int(n_runs)):
            t0 = time.perf_counter()
            sess.run(None, feeds)
            times[k] = time.perf_counter() - t0
        stats = latency_stats(times * 1e3)
        base = {
            "source": "plaster_model.measure.onnxruntime", "source_detail": f"{name} batch {b}",
            "model": name, "framework": "onnxruntime", "device": device, "n_devices": 1,
            "devices_per_node": 1, "precision": precision, "batch_per_device": b,
            "phase": "inference", "engine_version": ort.__version__,
            "notes": (f"{n_runs} timed run() calls after {n_warmup} warm-up; median; "
                      f"{threads} intra-op thread(s); providers {', '.join(providers)}"),
            "throughput_qps": 1.0 / float(np.median(times)), **stats,
        }
        records.append({**base, "metric": "latency_ms", "value": stats["latency_median_ms"]})
        records.append({**base, "metric": "throughput_img_s", "value": b / float(np.median(times))})
    df, _ = normalize_names(frame_from_records(records))
    return add_model_columns(df, model_for(model, name))
