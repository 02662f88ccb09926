"""SUMMA model-parallel matrix multiply: compute time, data movement and bandwidth bound.

``C = A·B`` with ``n × n`` matrices distributed over a ``p × p`` device grid (``p²``
devices). Each device computes ``2·n³/p²`` FLOPs and reads ``2·n²/p`` elements (a block
row of ``A`` and a block column of ``B``).

References
----------
.. [1] R. A. van de Geijn, J. Watts, "SUMMA: Scalable Universal Matrix Multiplication
   Algorithm", Concurrency: Practice and Experience 9(4), 1997.
.. [2] N. Vassilieva, S. Serebryakov, "HPE Deep Learning Cookbook" (slides, HPE, 2017):
   the bandwidth bound ``β ≥ s·p·γ/n`` and its worked examples (n = 2000, γ = 15 TFLOPS,
   FP32: 300 GB/s at p = 10, 30 GB/s at p = 1).
"""
from __future__ import annotations

import numpy as np

from ..catalog.objects import BYTES_PER_ELEMENT, normalize_precision
from .data_parallel import _positive_array

__all__ = ["summa_compute_time", "summa_data_read_time", "summa_bandwidth_bound"]


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
    p = _positive_array(p, "dimensionless", "p")
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
    p = _positive_array(p, "dimensionless", "p")
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
    p = _positive_array(p, "dimensionless", "p")
    g = _positive_array(gamma, "flop_rate", "gamma")
    return _element_bytes(precision) * p * g / n
