"""Per-layer roofline over a model's layer table (Paleo's idea, Qi et al., ICLR 2017).

Each layer ``l`` of an ONNX layer table (:func:`plaster_model.onnx_import.onnx_layer_table`)
costs ``max(F_l/(η_c·γ), B_l/(η_m·bw))`` (or the sum, ``combine="sum"``); training adds the
backward pass. The whole-model inference roofline is :func:`plaster_model.estimators.inference_batch_time`.
"""
from __future__ import annotations
from ..errors import ParameterError, ParameterTypeError

import math

import numpy as np

from ..units import to_si
from .data_parallel import TRAINING_FLOPS_FACTOR

__all__ = ["layerwise_time", "layerwise_summary"]


#: Backward FLOPs / forward FLOPs per op kind for ``backward_factor="explicit"``.
_BACKWARD_FLOP_FACTOR = {"matmul": 2.0, "rnn": 2.0, "attention": 2.0, "normalization": 2.0,
                         "elementwise": 1.0, "pooling": 1.0, "reduction": 1.0}


def _layers_frame(layers) -> "pd.DataFrame":
    import pandas as pd

    if isinstance(layers, pd.DataFrame):
        df = layers
    elif getattr(layers, "layers", None) is not None:
        df = layers.layers
    else:
        raise ParameterTypeError("layers", layers,
                                 message="layers must be the DataFrame of onnx_layer_table or a Model with .layers")
    missing = {"flops", "bytes"} - set(df.columns)
    if missing:
        raise ParameterError("layers", sorted(missing), message=f"layers lacks column(s) {sorted(missing)}")
    return df


def _rates(peak_flops, memory_bandwidth, compute_efficiency, memory_efficiency):
    gamma = float(to_si(peak_flops, "flop_rate", name="peak_flops"))
    bw = float(to_si(memory_bandwidth, "bandwidth", name="memory_bandwidth"))
    for nm, v in (("peak_flops", gamma), ("memory_bandwidth", bw)):
        if not math.isfinite(v) or v <= 0:
            raise ParameterError(nm, v, message=f"{nm} must be a positive rate, got {v!r}")
    for nm, v in (("compute_efficiency", compute_efficiency),
                  ("memory_efficiency", memory_efficiency)):
        if not (0 < float(v) <= 1):
            raise ParameterError(nm, v, message=f"{nm} must be in (0, 1], got {v!r}")
    return gamma * float(compute_efficiency), bw * float(memory_efficiency)


def layerwise_time(layers, peak_flops, memory_bandwidth, compute_efficiency: float = 1.0,
                   memory_efficiency: float = 1.0, training: bool = False,
                   backward_factor: float | str = TRAINING_FLOPS_FACTOR - 1.0, *, combine: str = "max") -> "pd.DataFrame":
    r"""Per-layer roofline time: each layer is compute- or memory-bound on its own.

    .. math::

        t_i = \max\left(\frac{F_i}{\gamma\,\eta_c},\ \frac{B_i}{\beta\,\eta_m}\right)

    with F the layer's FLOPs, B its bytes, γ the peak [FLOP/s], β the memory bandwidth
    [B/s] and η the efficiencies. Training multiplies both terms by ``1 + backward_factor``
    (the ×3 rule: the backward pass is two GEMMs per forward GEMM, for the input and the
    weight gradients). ``backward_factor="explicit"`` counts the backward per layer
    instead: 2× the forward FLOPs for matrix, recurrent and normalization layers, 1× for
    element-wise, pooling and reduction layers, 0 for views and copies, and 2× the forward
    bytes for every layer with traffic (read dY, X and W; write dX and dW); forward and
    backward are then separate roofline terms, ``t = max(fwd) + max(bwd)``. The optimizer
    update and the layers' kernel launch overheads are not counted.

    Parameters
    ----------
    layers : pandas.DataFrame or Model
        The table of :func:`onnx_layer_table` (columns ``flops`` and ``bytes``) or a Model
        carrying it in ``.layers``.
    peak_flops : float or str
        Device peak γ [FLOP/s], e.g. ``"15.7 TFLOPS"``.
    memory_bandwidth : float or str
        Device memory bandwidth β [B/s], e.g. ``"900 GB/s"``.
    compute_efficiency, memory_efficiency : float
        Fractions of the peaks reached, in (0, 1].
    training : bool
        Forward + backward (True) or forward only.
    backward_factor : float or "explicit"
        Backward cost / forward cost (2.0: the ×3 rule), or ``"explicit"``.
    combine : {"max", "sum"}
        ``"max"``: roofline (compute and memory traffic overlap). ``"sum"``: Paleo's
        ``FLOPs/(η·γ) + bytes/β`` (no overlap).

    Returns
    -------
    pandas.DataFrame
        A copy of ``layers`` with ``compute_time_s`` [s], ``memory_time_s`` [s], ``time_s``
        [s] and ``bound`` (``"compute"``, ``"memory"``, or ``"none"`` for zero-cost rows).

    References
    ----------
    Qi, Sparks, Talwalkar, "Paleo: A performance model for deep neural networks", ICLR
    2017. Williams, Waterman, Patterson, "Roofline", CACM 52(4), 2009.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"flops": [2e9, 1e6], "bytes": [1e6, 8e6]})
    >>> layerwise_time(t, "10 TFLOPS", "1 TB/s")[["time_s", "bound"]].values.tolist()
    [[0.0002, 'compute'], [8e-06, 'memory']]
    """
    import pandas as pd

    df = _layers_frame(layers)
    g_eff, bw_eff = _rates(peak_flops, memory_bandwidth, compute_efficiency, memory_efficiency)
    if combine not in ("max", "sum"):
        raise ParameterError("combine", combine, message=f"combine must be 'max' or 'sum', got {combine!r}")
    op = np.maximum if combine == "max" else np.add
    flops = df["flops"].to_numpy(dtype=float)
    nbytes = df["bytes"].to_numpy(dtype=float)
    tc = flops / g_eff
    tm = nbytes / bw_eff
    if not training:
        time = op(tc, tm)
    elif isinstance(backward_factor, str):
        if backward_factor != "explicit":
            raise ParameterError("backward_factor", backward_factor,
                                 message=f"backward_factor must be a number or 'explicit', got {backward_factor!r}")
        kinds = df["kind"] if "kind" in df.columns else pd.Series("matmul", index=df.index)
        fb = kinds.map(_BACKWARD_FLOP_FACTOR).fillna(0.0).to_numpy(dtype=float)
        tcb, tmb = tc * fb, tm * 2.0
        time = op(tc, tm) + op(tcb, tmb)
        tc, tm = tc + tcb, tm + tmb
    else:
        f = 1.0 + float(backward_factor)
        if f < 1.0:
            raise ParameterError("backward_factor", backward_factor,
                                 message=f"backward_factor must be >= 0, got {backward_factor!r}")
        tc, tm = tc * f, tm * f
        time = op(tc, tm)
    out = df.copy()
    out["compute_time_s"] = tc
    out["memory_time_s"] = tm
    out["time_s"] = time
    out["bound"] = np.where(time <= 0, "none", np.where(tc >= tm, "compute", "memory"))
    return out


def layerwise_summary(layers, peak_flops, memory_bandwidth, compute_efficiency: float = 1.0,
                      memory_efficiency: float = 1.0, training: bool = False,
                      backward_factor: float | str = TRAINING_FLOPS_FACTOR - 1.0, *, combine: str = "max") -> "pd.Series":
    r"""Total per-layer roofline time against the single-number estimate.

    The single-number estimate is :math:`\sum_i F_i / (\gamma\,\eta_c)` (times
    ``1 + backward_factor`` in training; ×3 for ``"explicit"``), what a predictor that
    knows only ``fwd_flops`` computes. The ratio tells how much the memory-bound layers
    add.

    Parameters
    ----------
    layers, peak_flops, memory_bandwidth, compute_efficiency, memory_efficiency
        As for :func:`layerwise_time`.
    training, backward_factor, combine
        As for :func:`layerwise_time`.

    Returns
    -------
    pandas.Series
        ``layerwise_time_s`` [s], ``single_number_time_s`` [s], ``ratio`` (layer-wise /
        single-number), ``compute_bound_time_s`` and ``memory_bound_time_s`` [s] (time of
        the layers bound by each), ``memory_bound_fraction`` (of the layer-wise time),
        ``n_compute_bound``, ``n_memory_bound``, ``flops`` [FLOP], ``bytes`` [B] (forward).

    Examples
    --------
    >>> from plaster_model.onnx_builders import resnet50
    >>> from plaster_model.onnx_import import onnx_layer_table
    >>> s = layerwise_summary(onnx_layer_table(resnet50(), 32), "125 TFLOPS", "900 GB/s")
    >>> bool(s["ratio"] > 1)
    True
    """
    import pandas as pd

    t = layerwise_time(layers, peak_flops, memory_bandwidth, compute_efficiency,
                       memory_efficiency, training, backward_factor, combine=combine)
    g_eff, _ = _rates(peak_flops, memory_bandwidth, compute_efficiency, memory_efficiency)
    flops = float(t["flops"].sum())
    if not training:
        mult = 1.0
    elif isinstance(backward_factor, str):
        mult = 3.0
    else:
        mult = 1.0 + float(backward_factor)
    single = flops * mult / g_eff
    total = float(t["time_s"].sum())
    bound = t["bound"].to_numpy()
    tt = t["time_s"].to_numpy(dtype=float)
    mem_t = float(tt[bound == "memory"].sum())
    return pd.Series({
        "layerwise_time_s": total,
        "single_number_time_s": single,
        "ratio": total / single if single > 0 else float("nan"),
        "compute_bound_time_s": float(tt[bound == "compute"].sum()),
        "memory_bound_time_s": mem_t,
        "memory_bound_fraction": mem_t / total if total > 0 else float("nan"),
        "n_compute_bound": int((bound == "compute").sum()),
        "n_memory_bound": int((bound == "memory").sum()),
        "flops": flops,
        "bytes": float(t["bytes"].sum()),
    })
