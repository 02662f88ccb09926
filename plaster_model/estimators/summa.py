"""SUMMA model-parallel matrix multiply: compute time, data movement and bandwidth bound.

``C = A·B`` with ``n × n`` matrices distributed over a ``p × p`` device grid (``p²``
devices). Each device computes ``2·n³/p²`` FLOPs and reads ``2·n²/p`` elements (a block
row of ``A`` and a block column of ``B``).

General form (the ``summa_gemm_*`` functions): ``C (m×n) = A (m×k) · B (k×n)`` on a
``pr × pc`` grid. Device ``(i, j)`` owns the ``m/pr × n/pc`` block of ``C``; it computes
``2·m·k·n/(pr·pc)`` FLOPs and reads the block row ``A[i, :]`` (``m·k/pr`` elements,
broadcast along its grid row) and the block column ``B[:, j]`` (``k·n/pc`` elements,
broadcast along its grid column)::

    T_compute = 2·m·k·n / (pr·pc·γ)
    T_read    = s·(m·k/pr + k·n/pc) / β
    β_bound   = s·γ·(pr/m + pc/n) / 2        (T_read ≤ T_compute)

With ``m = k = n`` and ``pr = pc = p`` these are the square formulas above.

References
----------
.. [1] R. A. van de Geijn, J. Watts, "SUMMA: Scalable Universal Matrix Multiplication
   Algorithm", Concurrency: Practice and Experience 9(4), 1997.
.. [2] N. Vassilieva, S. Serebryakov, "HPE Deep Learning Cookbook" (slides, HPE, 2017):
   the bandwidth bound ``β ≥ s·p·γ/n`` and its worked examples (n = 2000, γ = 15 TFLOPS,
   FP32: 300 GB/s at p = 10, 30 GB/s at p = 1).
"""
from __future__ import annotations
from ..errors import ParameterError

import numpy as np

from ..catalog.objects import BYTES_PER_ELEMENT, normalize_precision
from ._validate import _count_array, _positive_array
from .data_parallel import TRAINING_FLOPS_FACTOR

__all__ = ["summa_compute_time", "summa_data_read_time", "summa_bandwidth_bound",
           "summa_gemm_compute_time", "summa_gemm_data_read_time", "summa_gemm_bandwidth_bound",
           "summa_time", "summa_grid", "summa_layers"]


def _element_bytes(precision):
    return BYTES_PER_ELEMENT[normalize_precision(precision)]


def summa_compute_time(n, p, gamma):
    """SUMMA compute time per device, ``T_compute = 2·n³ / (p²·γ)`` [s].

    Parameters
    ----------
    n : float or array_like
        Matrix dimension (``n × n`` operands).
    p : float or array_like
        Grid side: ``p × p`` devices.
    gamma : float or array_like or str
        Sustained rate of one device [FLOP/s] (``"15 TFLOPS"`` accepted).

    Returns
    -------
    float or numpy.ndarray
        [s]

    Examples
    --------
    >>> summa_compute_time(2000, 10, "15 TFLOPS")   # 2·8e9 / (100·15e12)
    1.0666666666666667e-05
    """
    n = _positive_array(n, "dimensionless", "n")
    p = _count_array(p, "p")
    g = _positive_array(gamma, "flop_rate", "gamma")
    return 2.0 * n**3 / (p**2 * g)


def summa_data_read_time(n, p, beta, precision="fp32"):
    """SUMMA data-read time per device, ``T_read = 2·n²·s / (p·β)`` [s].

    Each device reads ``2·n²/p`` elements of ``s`` bytes (``s = 4`` for FP32).

    Parameters
    ----------
    n : float or array_like
        Matrix dimension.
    p : float or array_like
        Grid side (``p × p`` devices).
    beta : float or array_like or str
        Per-device bandwidth [B/s] (``"300 GB/s"`` accepted).
    precision : str
        Element type: ``"fp32"`` (4 B), ``"fp16"``/``"bf16"`` (2 B), ``"fp64"`` (8 B), ``"int8"`` (1 B).

    Returns
    -------
    float or numpy.ndarray
        [s]

    Examples
    --------
    >>> summa_data_read_time(2000, 10, "300 GB/s")   # 2·4e6·4 B / (10·300e9 B/s)
    1.0666666666666667e-05
    """
    n = _positive_array(n, "dimensionless", "n")
    p = _count_array(p, "p")
    b = _positive_array(beta, "bandwidth", "beta")
    return 2.0 * n**2 * _element_bytes(precision) / (p * b)


def summa_bandwidth_bound(n, gamma, p, precision="fp32"):
    """Smallest per-device bandwidth with no bandwidth stall in SUMMA, ``β ≥ s·p·γ/n`` [B/s].

    From ``T_read ≤ T_compute``: ``2·n²·s/(p·β) ≤ 2·n³/(p²·γ)`` ⇔ ``β ≥ s·p·γ/n``.

    Parameters
    ----------
    n : float or array_like
        Matrix dimension.
    gamma : float or array_like or str
        Sustained device rate [FLOP/s].
    p : float or array_like
        Grid side (``p × p`` devices).
    precision : str
        Element type (4 B for ``"fp32"``).

    Returns
    -------
    float or numpy.ndarray
        Required bandwidth [B/s].

    References
    ----------
    HPE Deep Learning Cookbook slides (2017); van de Geijn & Watts (1997).

    Examples
    --------
    The slides' worked examples (n = 2000, γ = 15 TFLOPS, FP32):

    >>> summa_bandwidth_bound(n=2000, gamma="15 TFLOPS", p=10)   # 300 GB/s
    300000000000.0
    >>> summa_bandwidth_bound(n=2000, gamma="15 TFLOPS", p=1)    # 30 GB/s
    30000000000.0
    """
    n = _positive_array(n, "dimensionless", "n")
    p = _count_array(p, "p")
    g = _positive_array(gamma, "flop_rate", "gamma")
    return _element_bytes(precision) * p * g / n


# --------------------------------------------------------------------------- general GEMM
def _grid(pr, pc):
    pr = _positive_array(pr, "dimensionless", "pr")
    pc = pr if pc is None else _positive_array(pc, "dimensionless", "pc")
    return pr, pc


def _element_bytes_array(precision):
    if isinstance(precision, str):
        return float(_element_bytes(precision))
    return np.vectorize(lambda q: float(_element_bytes(q)), otypes=[float])(np.asarray(precision, dtype=object))


def summa_gemm_compute_time(m, k, n, gamma, pr, pc=None):
    """SUMMA compute time per device for ``C(m×n) = A(m×k)·B(k×n)``, ``2·m·k·n/(pr·pc·γ)`` [s].

    Parameters
    ----------
    m, k, n : float or array_like
        GEMM dimensions (``m`` rows of ``A`` and ``C``, ``k`` the reduction, ``n`` columns).
    gamma : float or array_like or str
        Sustained rate of one device [FLOP/s].
    pr, pc : float or array_like
        Device grid: ``pr`` rows × ``pc`` columns (``pc`` defaults to ``pr``).

    Returns
    -------
    float or numpy.ndarray
        [s]

    Examples
    --------
    >>> summa_gemm_compute_time(2000, 2000, 2000, 15e12, 10) == summa_compute_time(2000, 10, 15e12)
    True
    """
    m, k, n = (_positive_array(x, "dimensionless", name) for x, name in ((m, "m"), (k, "k"), (n, "n")))
    pr, pc = _grid(pr, pc)
    g = _positive_array(gamma, "flop_rate", "gamma")
    return 2.0 * m * k * n / (pr * pc * g)


def summa_gemm_data_read_time(m, k, n, beta, pr, pc=None, precision="fp32"):
    """SUMMA data-read time per device, ``s·(m·k/pr + k·n/pc)/β`` [s].

    Device ``(i, j)`` of a ``pr × pc`` grid receives the block row of ``A`` (``m·k/pr``
    elements) along its grid row and the block column of ``B`` (``k·n/pc`` elements) along
    its grid column, ``s`` bytes each.

    Parameters
    ----------
    m, k, n : float or array_like
        GEMM dimensions.
    beta : float or array_like or str
        Per-device bandwidth [B/s].
    pr, pc : float or array_like
        Device grid (``pc`` defaults to ``pr``).
    precision : str
        Element type (``"fp32"`` 4 B, ``"fp16"``/``"bf16"``/``"mixed"`` 2 B, ``"int8"`` 1 B).

    Returns
    -------
    float or numpy.ndarray
        [s]

    Examples
    --------
    A 4096 × 1024 · 1024 × 4096 fp16 GEMM on a 2 × 4 grid at 100 GB/s:
    ``2·(4096·1024/2 + 1024·4096/4)/1e11`` = 62.9 us

    >>> round(summa_gemm_data_read_time(4096, 1024, 4096, 100e9, 2, 4, "fp16") * 1e6, 1)
    62.9
    """
    m, k, n = (_positive_array(x, "dimensionless", name) for x, name in ((m, "m"), (k, "k"), (n, "n")))
    pr, pc = _grid(pr, pc)
    b = _positive_array(beta, "bandwidth", "beta")
    return _element_bytes_array(precision) * (m * k / pr + k * n / pc) / b


def summa_gemm_bandwidth_bound(m, k, n, gamma, pr, pc=None, precision="fp32"):
    """Smallest per-device bandwidth with no SUMMA stall for a rectangular GEMM [B/s].

    ``T_read ≤ T_compute`` ⇔ ``s·(m·k/pr + k·n/pc)/β ≤ 2·m·k·n/(pr·pc·γ)``
    ⇔ ``β ≥ s·γ·(pr/m + pc/n)/2``. Independent of ``k``: every panel of ``k`` brings as much
    compute as data. Square case: ``s·p·γ/n`` (the HPE slides' bound).

    Parameters
    ----------
    m, k, n : float or array_like
        GEMM dimensions (``k`` is accepted for symmetry; it cancels).
    gamma : float or array_like or str
        Sustained device rate [FLOP/s].
    pr, pc : float or array_like
        Device grid (``pc`` defaults to ``pr``).
    precision : str
        Element type.

    Returns
    -------
    float or numpy.ndarray
        [B/s]

    References
    ----------
    van de Geijn & Watts (1997); HPE Deep Learning Cookbook slides (2017).

    Examples
    --------
    >>> summa_gemm_bandwidth_bound(2000, 2000, 2000, 15e12, 10)   # the slides' 300 GB/s
    300000000000.0
    >>> summa_gemm_bandwidth_bound(1000, 4000, 4000, 15e12, 2, 8)   # 4·15e12·(2/1000 + 8/4000)/2
    120000000000.0
    """
    m, k, n = (_positive_array(x, "dimensionless", name) for x, name in ((m, "m"), (k, "k"), (n, "n")))
    pr, pc = _grid(pr, pc)
    g = _positive_array(gamma, "flop_rate", "gamma")
    return _element_bytes_array(precision) * g * (pr / m + pc / n) / 2.0


def summa_time(m, k, n, gamma, beta, pr, pc=None, precision="fp32", overlap=True):
    """Predicted SUMMA time per GEMM at bandwidth ``β`` [s].

    ``T = max(T_compute, T_read)`` when the panel broadcasts are pipelined with the
    local multiplies (``overlap=True``, SUMMA's usual implementation and the premise of
    the bandwidth bound: no stall while ``T_read ≤ T_compute``), else
    ``T_compute + T_read``. Latency per panel is not modelled (large panels).

    Parameters
    ----------
    m, k, n : float or array_like
        GEMM dimensions.
    gamma : float or array_like or str
        Sustained device rate [FLOP/s].
    beta : float or array_like or str
        Per-device bandwidth [B/s].
    pr, pc : float or array_like
        Device grid (``pc`` defaults to ``pr``).
    precision : str
        Element type.
    overlap : bool
        Pipelined (max) or serial (sum).

    Returns
    -------
    float or numpy.ndarray
        [s]

    Examples
    --------
    The slides' case at exactly the bound: compute and read both take 10.7 us

    >>> summa_time(2000, 2000, 2000, 15e12, 300e9, 10) == summa_compute_time(2000, 10, 15e12)
    True
    >>> round(summa_time(2000, 2000, 2000, 15e12, 150e9, 10) * 1e6, 2)   # half the bandwidth: read-bound
    21.33
    """
    tc = summa_gemm_compute_time(m, k, n, gamma, pr, pc)
    tr = summa_gemm_data_read_time(m, k, n, beta, pr, pc, precision)
    out = np.maximum(tc, tr) if overlap else np.add(tc, tr)
    return out if np.ndim(out) else float(out)


def summa_grid(devices):
    """The most square ``pr × pc`` grid with ``pr·pc = devices`` and ``pr ≤ pc``.

    Parameters
    ----------
    devices : int
        Devices of the grid.

    Returns
    -------
    (int, int)
        ``(pr, pc)``: the largest divisor ``pr ≤ √devices`` and ``devices / pr``.

    Examples
    --------
    >>> summa_grid(8), summa_grid(16), summa_grid(7)
    ((2, 4), (4, 4), (1, 7))
    """
    d = int(devices)
    if d < 1 or d != devices:
        raise ParameterError("devices", devices, message=f"devices must be a positive integer, got {devices!r}")
    pr = int(np.floor(np.sqrt(d)))
    while d % pr:
        pr -= 1
    return pr, d // pr


def _model_gemm_shapes(layers, batch):
    """(m, k, n) rows of a zoo name or Model at ``batch``: its ``fully_connected`` layers
    (``m = batch``, ``k`` inputs, ``n`` outputs), else its per-layer table rescaled to ``batch``."""
    import pandas as pd

    from ..catalog.loader import active_catalog
    from ..errors import ParameterError

    model = active_catalog().get("model", layers) if isinstance(layers, str) else layers
    if batch is None:
        raise ParameterError("batch", batch, f"samples per GEMM (m) to apply SUMMA to {model.name}'s layers")
    b = float(batch)
    if not (b >= 1 and b == int(b)):
        raise ParameterError("batch", batch, "a positive whole number of samples")
    if model.fully_connected:
        return pd.DataFrame([{"layer": f"fc{i + 1}", "m": b, "k": float(k), "n": float(n)}
                             for i, (k, n) in enumerate(model.fully_connected)],
                            columns=["layer", "m", "k", "n"])
    table = getattr(model, "layers", None)
    if isinstance(table, pd.DataFrame):
        df = _gemm_shapes(table)
        df["m"] = df["m"] / float(table.attrs.get("batch", 1) or 1) * b  # m scales with the batch
        return df
    raise ParameterError("layers", layers,
                         message=f"layers: model {model.name!r} has neither fully_connected layers in the zoo nor a "
                                 "per-layer table (Model.from_onnx); pass GEMM shapes [(m, k, n), ...]")


def _gemm_shapes(layers, batch=None):
    """DataFrame with m, k, n (and a layer label) from a list of (m, k, n), a DataFrame with
    columns m, k, n, an ONNX layer table (rows with op_type Gemm/MatMul), or a zoo name or
    Model (its fully connected layers at ``batch``)."""
    import pandas as pd

    from ..catalog.objects import Model

    if isinstance(layers, (str, Model)):
        return _model_gemm_shapes(layers, batch)
    if isinstance(layers, pd.DataFrame):
        df = layers
        if {"m", "k", "n"} <= set(df.columns):
            out = df[["m", "k", "n"]].astype(float).copy()
            out.insert(0, "layer", df["layer"].astype(str).values if "layer" in df.columns
                       else [f"gemm_{i}" for i in range(len(df))])
            return out.reset_index(drop=True)
        if {"op_type", "macs", "output_shape"} <= set(df.columns):
            rows = []
            for _, r in df.iterrows():
                if str(r["op_type"]).split(".")[-1] not in ("Gemm", "MatMul"):
                    continue
                shape = tuple(int(x) for x in r["output_shape"] or () if x is not None)
                if len(shape) < 2 or not r["macs"]:
                    continue
                n = shape[-1]
                m = int(np.prod(shape[:-1]))
                rows.append({"layer": str(r.get("layer", f"gemm_{len(rows)}")), "m": float(m),
                             "k": float(r["macs"]) / (m * n), "n": float(n)})
            if not rows:
                raise ParameterError("layers", None,
                                     message="layers: the layer table has no Gemm/MatMul rows with known shapes")
            return pd.DataFrame(rows, columns=["layer", "m", "k", "n"])
        raise ParameterError("layers", None,
                             message="layers: a DataFrame needs columns m, k, n (or be an ONNX layer table "
                                     "with op_type, macs and output_shape)")
    rows = []
    for i, item in enumerate(layers):
        if isinstance(item, dict):
            rows.append({"layer": str(item.get("layer", f"gemm_{i}")), "m": float(item["m"]),
                         "k": float(item["k"]), "n": float(item["n"])})
        else:
            m, k, n = item
            rows.append({"layer": f"gemm_{i}", "m": float(m), "k": float(k), "n": float(n)})
    if not rows:
        raise ParameterError("layers", None, message="layers: no GEMM shapes given")
    return pd.DataFrame(rows, columns=["layer", "m", "k", "n"])


def summa_layers(layers, gamma, beta, devices=None, *, grid=None, precision="fp32", overlap=True,
                 training=False, batch=None):
    """Apply SUMMA to a model's fully connected (GEMM) layers: one row per layer.

    Parameters
    ----------
    layers : str, Model, list of (m, k, n), DataFrame or ONNX layer table
        A zoo name (``"VGG-16"``) or :class:`~plaster_model.Model`: its fully connected
        layers (the zoo's ``fully_connected``, else the Gemm/MatMul rows of its per-layer
        table) at ``batch``. Or GEMM shapes: a list of ``(m, k, n)`` tuples (or dicts with
        ``m``, ``k``, ``n`` and an optional ``layer``), a DataFrame with columns ``m``, ``k``,
        ``n``, or the table of :func:`plaster_model.onnx_import.onnx_layer_table` (its
        ``Gemm``/``MatMul`` rows: ``n`` = last output dimension, ``m`` = the product of the
        others, ``k = macs/(m·n)``). For a fully connected layer at batch ``B``: ``m = B``,
        ``k`` = inputs, ``n`` = outputs.
    gamma : float or str
        Sustained device rate [FLOP/s].
    beta : float or str
        Per-device bandwidth [B/s].
    devices : int, optional
        Devices; the grid is :func:`summa_grid` of it. Give this or ``grid``.
    grid : (int, int), optional
        Explicit ``(pr, pc)``.
    precision : str
        Element type.
    overlap : bool
        See :func:`summa_time`.
    training : bool
        Also count the two backward GEMMs (``dX = dY·Wᵀ``: m×n×k, ``dW = Xᵀ·dY``: k×m×n),
        which have the same FLOPs; times are tripled (their bounds differ; the forward
        bound is reported).
    batch : int, optional
        Samples per GEMM (``m``) when ``layers`` is a model name or :class:`Model`.

    Returns
    -------
    pandas.DataFrame
        ``layer, m, k, n, pr, pc, flops, compute_time_s, data_read_time_s, time_s,
        bandwidth_bound_Bps, bound`` (``"bandwidth"`` where ``β`` is below the bound).
        ``DataFrame.attrs`` holds the totals ``time_s`` and ``compute_time_s``.

    Examples
    --------
    VGG-16's three fully connected layers at batch 256 on 8 devices (2 × 4 grid):

    >>> df = summa_layers([(256, 25088, 4096), (256, 4096, 4096), (256, 4096, 1000)],
    ...                   gamma=15.7e12, beta=25e9, devices=8)
    >>> list(df["bound"])
    ['bandwidth', 'bandwidth', 'bandwidth']

    The same layers by the zoo's name:

    >>> df = summa_layers("VGG-16", gamma=15.7e12, beta=25e9, devices=8, batch=256)
    >>> df[["layer", "m", "k", "n"]].values.tolist()
    [['fc1', 256.0, 25088.0, 4096.0], ['fc2', 256.0, 4096.0, 4096.0], ['fc3', 256.0, 4096.0, 1000.0]]
    """
    df = _gemm_shapes(layers, batch)
    if grid is None:
        if devices is None:
            raise ParameterError("devices", None,
                                 message="give devices= (the grid is chosen as square as possible) or grid=(pr, pc)")
        grid = summa_grid(devices)
    pr, pc = (int(x) for x in grid)
    m, k, n = (df[c].to_numpy(float) for c in ("m", "k", "n"))
    factor = TRAINING_FLOPS_FACTOR if training else 1.0
    tc = factor * summa_gemm_compute_time(m, k, n, gamma, pr, pc)
    tr = factor * summa_gemm_data_read_time(m, k, n, beta, pr, pc, precision)
    bound = summa_gemm_bandwidth_bound(m, k, n, gamma, pr, pc, precision)
    b = float(_positive_array(beta, "bandwidth", "beta"))
    df["pr"], df["pc"] = pr, pc
    df["flops"] = factor * 2.0 * m * k * n
    df["compute_time_s"] = tc
    df["data_read_time_s"] = tr
    df["time_s"] = np.maximum(tc, tr) if overlap else tc + tr
    df["bandwidth_bound_Bps"] = bound
    df["bound"] = np.where(b < bound, "bandwidth", "compute")
    df.attrs.update(time_s=float(df["time_s"].sum()), compute_time_s=float(df["compute_time_s"].sum()),
                    precision=precision, grid=(pr, pc))
    return df
