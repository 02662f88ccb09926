r"""The operator-level step model: every operator on its own roofline, for its precision path.

A model's layer table (:func:`plaster_model.onnx_import.onnx_layer_table`, or the graphs of
:mod:`plaster_model.model_builders`) is turned into an *operator table*: each operator with its
class, FLOPs per sample, the activation elements it reads and writes per sample and the
elements it reads once per step whatever the batch (weights). Training adds the backward
operators (input and weight gradients) and the optimizer update. Operator ``i`` of class
``c`` then takes

.. math::

    t_i(b) = \max\left(\frac{F_i\,b}{\eta_c\,\gamma_{c,p}},\
                       \frac{(W_i + A_i\,b)\,s_p}{\eta_m\,\beta}\right) + \tau_\mathrm{launch}

with ``γ_{c,p}`` the device's peak for that class on precision path ``p`` (dense GEMMs,
convolutions and attention run the matrix units at the precision's peak; grouped/depthwise
convolutions, element-wise, normalisation, reduction, gather and copy kernels run the vector
(SIMT) units), ``s_p`` bytes per element, ``β`` the memory bandwidth and the ``η`` the
efficiencies; a step is the sum. Each term is piecewise linear in the batch ``b``.

References
----------
Qi, Sparks, Talwalkar, "Paleo: A performance model for deep neural networks", ICLR 2017
(per-layer FLOPs and bytes). Williams, Waterman, Patterson, "Roofline", CACM 52(4), 2009.
Micikevicius et al., "Mixed precision training", ICLR 2018 (fp16 activations and gradients,
fp32 master weights).
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import ParameterError
from .roofline import _roofline

__all__ = ["OPERATOR_CLASSES", "MATRIX_CLASSES", "OPTIMIZER_BYTES_PER_PARAM", "WINOGRAD_SPEEDUP", "operator_class",
           "operator_table", "class_rates", "roofline_step_time", "roofline_ratio"]

#: Operator classes of the step model. ``winograd_conv`` is a dense 3×3 stride-1 convolution,
#: which cuDNN runs with Winograd's minimal filtering on the fp32 path.
OPERATOR_CLASSES = ("dense", "winograd_conv", "grouped_conv", "attention", "elementwise", "reduction",
                    "embedding", "data_movement", "optimizer")

#: Classes that run on the matrix (tensor-core) units at the precision's peak.
MATRIX_CLASSES = frozenset({"dense", "winograd_conv", "attention"})

#: Arithmetic saved by Winograd's F(2×2, 3×3) on a 3×3 stride-1 convolution: 16 multiplies
#: per 2×2 output tile instead of 36 (Lavin & Gray, "Fast Algorithms for Convolutional Neural
#: Networks", CVPR 2016), which cuDNN's fp32 (SIMT) kernels use; tensor-core paths run
#: implicit GEMMs, and a direct count stands.
WINOGRAD_SPEEDUP = 36.0 / 16.0

#: Bytes moved per parameter by one optimizer update, per recipe (read and written once each,
#: a fused element-wise kernel). SGD with momentum, fp32: read w, g, m and write w, m
#: (5 × 4 B). Mixed precision (Micikevicius et al. 2018): read the fp16 gradient (2 B) and the
#: fp32 master weight and momentum (8 B), write both (8 B) and the fp16 weight copy (2 B).
#: Adam keeps a second moment: 4 more fp32 bytes read and written (+8 B).
OPTIMIZER_BYTES_PER_PARAM = {
    ("sgd_momentum", 4): 20.0, ("sgd_momentum", 2): 20.0,
    ("adam", 4): 28.0, ("adam", 2): 28.0,
}

#: Backward FLOPs of each class as multiples of its forward FLOPs, split into the input
#: gradient (dX) and the weight gradient (dW): a GEMM's dX and dW are one GEMM each, as large
#: as the forward one; element-wise and normalisation backward passes cost about their forward.
_BWD_FLOPS = {"dense": (1.0, 1.0), "winograd_conv": (1.0, 1.0), "grouped_conv": (1.0, 1.0), "attention": (2.0, 0.0),
              "elementwise": (1.0, 0.0), "reduction": (1.0, 0.0), "embedding": (0.0, 1.0),
              "data_movement": (0.0, 0.0)}

_KIND_CLASS = {"matmul": "dense", "rnn": "dense", "attention": "attention",
               "normalization": "elementwise", "elementwise": "elementwise",
               "pooling": "reduction", "reduction": "reduction", "copy": "data_movement"}


def operator_class(op_type: str, kind: str, groups: int = 1, kernel: int = 0, stride: int = 0) -> str:
    """Operator class of one layer-table row.

    ``Conv`` with ``groups > 1`` (grouped and depthwise convolutions) is ``grouped_conv``:
    its reduction is too short for the matrix units (a depthwise 3×3 reduces over 9
    elements), so it runs as a vector kernel; a dense 3×3 stride-1 ``Conv`` is
    ``winograd_conv`` (``kernel``/``stride``: its square kernel size and stride, 0 unknown);
    ``Gather`` is ``embedding``; views and folded
    constants (``kind`` ``"view"``/``"constant"``) launch nothing and return ``""``.

    Examples
    --------
    >>> operator_class("Conv", "matmul", groups=32), operator_class("Gemm", "matmul")
    ('grouped_conv', 'dense')
    >>> operator_class("BatchNormalization", "normalization"), operator_class("Gather", "copy")
    ('elementwise', 'embedding')
    >>> operator_class("Conv", "matmul", kernel=3, stride=1)
    'winograd_conv'
    """
    if kind in ("view", "constant"):
        return ""
    if op_type == "Conv" and groups > 1:
        return "grouped_conv"
    if op_type == "Conv" and kernel == 3 and stride == 1:
        return "winograd_conv"
    if op_type in ("Gather", "GatherElements", "GatherND", "EmbeddingBag"):
        return "embedding"
    return _KIND_CLASS.get(kind, "data_movement")


def operator_table(layers, *, training: bool = False, optimizer: str = "sgd_momentum",
                   weight_bytes_per_element: int = 4, fused: bool = False) -> "pd.DataFrame":
    """Operators of one step, per sample, from a layer table at batch 1.

    Parameters
    ----------
    layers : pandas.DataFrame
        :func:`~plaster_model.onnx_import.onnx_layer_table` at batch 1 (float32 tensors),
        with optional ``groups``, ``kernel`` and ``stride`` columns (convolution groups, square
        kernel size and stride; 1, 0, 0 where absent).
    training : bool
        Add the backward operators and the optimizer update.
    optimizer : {"sgd_momentum", "adam"}
        Recipe of the update (:data:`OPTIMIZER_BYTES_PER_PARAM`).
    weight_bytes_per_element : {4, 2}
        Bytes of a gradient element the optimizer reads (2: mixed precision).
    fused : bool
        An inference engine's fused graph (TensorRT, onnxruntime): normalisation folds into
        the preceding convolution's weights and activations and residual adds run in the
        GEMM's epilogue, so ``elementwise`` operators launch nothing and move no data of
        their own. False: every operator is its own kernel (a framework's eager runtime).

    Returns
    -------
    pandas.DataFrame
        ``op_class``, ``pass`` (``forward``, ``backward_input``, ``backward_weight``,
        ``optimizer``), ``flops`` [FLOP per sample], ``act_elements`` (activation elements
        read and written per sample), ``fixed_elements`` (elements read once per step:
        weights), ``fixed_bytes`` [B per step, precision-independent: the optimizer's],
        ``kernels`` (launches per step).

    Notes
    -----
    Backward traffic: dX reads dY and W and writes dX; dW reads dY and X and writes dW;
    an element-wise backward reads dY and X and writes dX (twice its forward activations).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"op_type": ["Gemm"], "kind": ["matmul"], "flops": [2e6],
    ...                   "input_bytes": [4e3], "output_bytes": [4e3], "bytes": [4.008e6]})
    >>> ops = operator_table(t, training=True)
    >>> ops[["pass", "flops", "act_elements", "fixed_elements"]].values.tolist()
    [['forward', 2000000.0, 2000.0, 1000000.0], ['backward_input', 2000000.0, 2000.0, 1000000.0], \
['backward_weight', 2000000.0, 2000.0, 1000000.0], ['optimizer', 0.0, 0.0, 0.0]]
    """
    import pandas as pd

    ones = np.ones(len(layers), dtype=int)
    groups = layers["groups"].to_numpy() if "groups" in layers.columns else ones
    kern = layers["kernel"].to_numpy() if "kernel" in layers.columns else 0 * ones
    strd = layers["stride"].to_numpy() if "stride" in layers.columns else 0 * ones
    cls = np.array([operator_class(o, k, int(g), int(kk), int(st)) for o, k, g, kk, st in
                    zip(layers["op_type"], layers["kind"], groups, kern, strd)], dtype=object)
    keep = cls != ""
    if fused:
        keep &= cls != "elementwise"
    lay = layers[keep]
    cls = cls[keep]
    flops = lay["flops"].to_numpy(dtype=float)
    x_el = lay["input_bytes"].to_numpy(dtype=float) / 4.0
    y_el = lay["output_bytes"].to_numpy(dtype=float) / 4.0
    w_el = np.maximum(lay["bytes"].to_numpy(dtype=float) / 4.0 - x_el - y_el, 0.0)
    n = len(lay)
    parts = [pd.DataFrame({"op_class": cls, "pass": "forward", "flops": flops,
                           "act_elements": x_el + y_el, "fixed_elements": w_el,
                           "fixed_bytes": 0.0, "kernels": 1.0})]
    if training:
        fx = np.array([_BWD_FLOPS[c][0] for c in cls])
        fw = np.array([_BWD_FLOPS[c][1] for c in cls])
        has_dx = (fx > 0) | np.isin(cls, ["data_movement"])
        # dX: read dY (|Y|) and X where the op needs it (elementwise: yes), write dX (|X|)
        bx_act = np.where(np.isin(cls, ["dense", "winograd_conv", "grouped_conv", "attention", "data_movement"]),
                          y_el + x_el, y_el + 2.0 * x_el)
        parts.append(pd.DataFrame({"op_class": cls[has_dx], "pass": "backward_input",
                                   "flops": (flops * fx)[has_dx], "act_elements": bx_act[has_dx],
                                   "fixed_elements": w_el[has_dx], "fixed_bytes": 0.0, "kernels": 1.0}))
        has_dw = (fw > 0) & (w_el > 0)
        # dW: read dY and X, write dW (|W|)
        parts.append(pd.DataFrame({"op_class": cls[has_dw], "pass": "backward_weight",
                                   "flops": (flops * fw)[has_dw], "act_elements": (x_el + y_el)[has_dw],
                                   "fixed_elements": w_el[has_dw], "fixed_bytes": 0.0, "kernels": 1.0}))
        params = float(lay["params"].sum()) if "params" in lay.columns else float(w_el.sum())
        try:
            per_param = OPTIMIZER_BYTES_PER_PARAM[(optimizer, int(weight_bytes_per_element))]
        except KeyError:
            raise ParameterError("optimizer", (optimizer, weight_bytes_per_element),
                                 message=f"optimizer/weight_bytes_per_element must be one of "
                                         f"{sorted(OPTIMIZER_BYTES_PER_PARAM)}, got {(optimizer, weight_bytes_per_element)!r}") from None
        # one fused multi-tensor kernel per parameter tensor (of the ops with weights)
        parts.append(pd.DataFrame({"op_class": ["optimizer"], "pass": ["optimizer"], "flops": [0.0],
                                   "act_elements": [0.0], "fixed_elements": [0.0],
                                   "fixed_bytes": [per_param * params], "kernels": [float(max(int((w_el > 0).sum()), 1))]}))
    del n
    return pd.concat(parts, ignore_index=True)


def class_rates(device, precision: str) -> dict:
    """Peak rate [FLOP/s] of each operator class on ``device`` for ``precision``'s path.

    Matrix classes (:data:`MATRIX_CLASSES`) take :meth:`Device.peak` of the precision (the
    tensor-core peak for fp16/bf16/mixed, the tf32 peak for tf32, int8/fp8 peaks), and a
    3×3 stride-1 convolution on a vector-unit (SIMT) path at :data:`WINOGRAD_SPEEDUP` times
    it (the rate of direct-count FLOPs); the others run on the vector units: the device's vector half-precision peak (``fp16``/``bf16``
    keys) for 16-bit paths where it publishes one, else its fp32 peak.

    Examples
    --------
    >>> import plaster_model as pm
    >>> r = class_rates(pm.load_device("V100"), "mixed")
    >>> r["dense"] / 1e12, r["elementwise"] / 1e12
    (125.0, 31.4)
    >>> round(class_rates(pm.load_device("V100"), "fp32")["winograd_conv"] / 1e12, 2)  # 15.7 × 2.25
    35.33
    """
    from ..catalog.objects import normalize_precision

    prec = normalize_precision(precision)
    matrix = device.peak(prec)
    pf = device.peak_flops
    fp32 = pf.get("fp32", matrix)
    if prec in ("fp16", "mixed", "bf16", "int8", "fp8"):
        vec = pf.get("bf16" if prec == "bf16" else "fp16", pf.get("fp16", fp32))
    else:
        vec = fp32
    vec = min(vec, matrix)
    out = {c: (matrix if c in MATRIX_CLASSES else vec) for c in OPERATOR_CLASSES}
    # Winograd where the matrix rate is the SIMT fp32 one (no tensor cores on this path)
    simt = prec in ("fp32", "fp64") or (prec == "tf32" and "tf32" not in pf)
    if simt or matrix <= fp32:
        out["winograd_conv"] = matrix * WINOGRAD_SPEEDUP
    return out


def roofline_step_time(ops, rates: dict, memory_bandwidth: float, batch, *, bytes_per_element: float = 4.0,
                       efficiency=None, memory_efficiency: float = 1.0, launch_s: float = 0.0):
    r"""Step time [s] of an operator table at each batch: the sum of per-operator rooflines.

    .. math::

        T(b) = \sum_i \max\left(\frac{F_i b}{\eta_{c_i}\gamma_{c_i}},
               \frac{(W_i + A_i b)\,s + Q_i}{\eta_m\beta}\right) + K\,\tau

    Parameters
    ----------
    ops : pandas.DataFrame
        :func:`operator_table`.
    rates : dict
        Peak per class [FLOP/s] (:func:`class_rates`).
    memory_bandwidth : float
        β [B/s].
    batch : float or array_like
        Samples per step (per device).
    bytes_per_element : float
        ``s``, activation and weight bytes per element of the precision.
    efficiency : dict, optional
        η per class (default 1).
    memory_efficiency : float
        η_m.
    launch_s : float
        τ, time per kernel launch [s] (K kernels).

    Returns
    -------
    numpy.ndarray
        T per batch [s].

    Examples
    --------
    >>> import pandas as pd
    >>> ops = pd.DataFrame({"op_class": ["dense", "elementwise"], "flops": [1e9, 1e6],
    ...                     "act_elements": [1e5, 1e6], "fixed_elements": [1e6, 0.0],
    ...                     "fixed_bytes": [0.0, 0.0], "kernels": [1.0, 1.0]})
    >>> rates = {"dense": 1e13, "elementwise": 1e12}
    >>> # dense: max(1e9/1e13, (4e6 + 4e5)/1e12) = 1e-4 s; elementwise: 4e6/1e12 = 4e-6 s
    >>> round(float(roofline_step_time(ops, rates, 1e12, 1)[0]), 9)
    0.000104
    """
    b = np.atleast_1d(np.asarray(batch, dtype=float))
    cls = ops["op_class"].to_numpy()
    eff = np.array([1.0 if efficiency is None else float(efficiency.get(c, 1.0)) for c in cls])
    gam = np.array([float(rates[c]) for c in cls]) * eff
    F = ops["flops"].to_numpy(dtype=float)[:, None]
    mem_fixed = (ops["fixed_elements"].to_numpy(dtype=float) * bytes_per_element
                 + ops["fixed_bytes"].to_numpy(dtype=float))[:, None]
    mem_act = ops["act_elements"].to_numpy(dtype=float)[:, None] * bytes_per_element
    bw = float(memory_bandwidth) * float(memory_efficiency)
    t = _roofline(F * b[None, :], mem_fixed + mem_act * b[None, :], gam[:, None], bw)
    return t.sum(axis=0) + float(ops["kernels"].sum()) * float(launch_s)


def roofline_ratio(ops, rates: dict, memory_bandwidth: float, batch=None, *, bytes_per_element: float = 4.0,
                   flops_factor: float = 1.0, base_flops: float | None = None):
    r"""Per-operator roofline time over the FLOP-only time, ``T_roofline(b) / (f·F·b/γ)``.

    ``F`` is the forward FLOPs of the table, ``γ`` the matrix peak (``rates["dense"]``) and
    ``f`` ``flops_factor`` (3 for training: the ×3 rule); ``base_flops`` replaces ``F`` (the
    model's forward FLOPs when the table is a fused graph that dropped some). A model of large GEMMs at a large
    batch gives about 1; memory-bound operators and vector-unit classes raise it. With
    ``batch=None`` the ratio of the large-batch slopes (per sample, the weights' traffic
    amortised away), which does not depend on the batch:

    .. math::

        r_\infty = \frac{\sum_i \max(F_i/\gamma_{c_i},\ A_i s/\beta)}{f\,F/\gamma}

    The calibration multiplies its FLOP-only compute time by :math:`r_\infty`, so a fitted
    efficiency is a fraction of the per-operator roofline, which carries across models and
    precisions (the weights' traffic at small batches is the inference roofline's own term).

    Examples
    --------
    >>> import pandas as pd
    >>> ops = pd.DataFrame({"op_class": ["dense", "elementwise"], "pass": "forward",
    ...                     "flops": [1e9, 1e6], "act_elements": [1e5, 1e6],
    ...                     "fixed_elements": [1e6, 0.0], "fixed_bytes": [0.0, 0.0], "kernels": [1.0, 1.0]})
    >>> rates = {"dense": 1e13, "elementwise": 1e12}
    >>> # batch 1: 1.04e-4 s against (1e9 + 1e6)/1e13 = 1.001e-4 s
    >>> round(float(roofline_ratio(ops, rates, 1e12, 1)[0]), 4)
    1.039
    >>> # slopes: max(1e-4, 4e-7) + max(1e-6, 4e-6) = 1.04e-4 s per sample, same base
    >>> round(float(roofline_ratio(ops, rates, 1e12)), 4)
    1.039
    """
    fwd = ops["pass"].to_numpy() == "forward" if "pass" in ops.columns else np.ones(len(ops), bool)
    F = float(ops["flops"].to_numpy(dtype=float)[fwd].sum()) if base_flops is None else float(base_flops)
    if batch is None:
        cls = ops["op_class"].to_numpy()
        gam = np.array([float(rates[c]) for c in cls])
        t = float(_roofline(ops["flops"].to_numpy(dtype=float),
                            ops["act_elements"].to_numpy(dtype=float) * bytes_per_element, gam,
                            float(memory_bandwidth)).sum())
        base = flops_factor * F / float(rates["dense"])
        return t / base if base > 0 else math.nan
    b = np.atleast_1d(np.asarray(batch, dtype=float))
    t = roofline_step_time(ops, rates, memory_bandwidth, b, bytes_per_element=bytes_per_element)
    base = flops_factor * F * b / float(rates["dense"])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(base > 0, t / base, math.nan)
