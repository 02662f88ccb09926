"""The per-operator roofline: the one closed form every operator-level step model sums.

An operator (a GEMM, an attention core, a normalization, an all-to-all's local permute) takes
the longer of its arithmetic at the device's peak for its precision path and its memory
traffic at the device's bandwidth, each scaled by an achieved fraction, plus the cost of
launching it (Williams, Waterman & Patterson, "Roofline", CACM 2009; per layer: Qi et al.,
Paleo, ICLR 2017).
"""
from __future__ import annotations

import numpy as np

from ._validate import _positive_array

__all__ = ["operator_roofline_time"]


def operator_roofline_time(flops, bytes_, peak_flops, memory_bandwidth, compute_efficiency=1.0,
                           memory_efficiency=1.0, launch_s=0.0):
    r"""Time of one operator on one device [s]: the roofline plus a launch cost.

    .. math::

        t = \max\left(\frac{F}{\eta_c\,\gamma},\ \frac{B}{\eta_m\,\beta}\right) + t_\mathrm{launch}

    Parameters
    ----------
    flops : float or array_like
        Arithmetic F of the operator [FLOP] (2 per multiply-add), >= 0.
    bytes_ : float or array_like
        Bytes B the operator reads and writes in device memory [B], >= 0.
    peak_flops : float, str or array_like
        Peak γ of the device for the operator's precision path [FLOP/s] (e.g. ``"989 TFLOPS"``).
    memory_bandwidth : float, str or array_like
        Memory bandwidth β [B/s] (e.g. ``"3.35 TB/s"``).
    compute_efficiency, memory_efficiency : float or array_like
        Achieved fractions η_c, η_m of the peaks, > 0.
    launch_s : float or array_like
        Fixed cost per operator [s] (kernel launch and tail), >= 0.

    Returns
    -------
    float or numpy.ndarray
        Seconds, broadcast over the inputs.

    References
    ----------
    S. Williams, A. Waterman, D. Patterson, "Roofline: an insightful visual performance model
    for multicore architectures", CACM 52(4), 2009.

    Examples
    --------
    A 4096 × 4096 × 4096 bf16 GEMM (2·4096³ FLOP; three 32 MiB matrices) on an H100 SXM
    (989 TFLOP/s dense bf16, 3.35 TB/s) is compute-bound: 2·4096³/989e12 = 139 µs.

    >>> from plaster_model.estimators.roofline import operator_roofline_time
    >>> round(operator_roofline_time(2 * 4096**3, 3 * 2 * 4096**2, 989e12, 3.35e12) * 1e6, 1)
    139.0
    """
    f = _positive_array(flops, "flops", "flops", allow_zero=True)
    b = _positive_array(bytes_, "bytes", "bytes_", allow_zero=True)
    gamma = _positive_array(peak_flops, "flop_rate", "peak_flops")
    beta = _positive_array(memory_bandwidth, "bandwidth", "memory_bandwidth")
    eta_c = _positive_array(compute_efficiency, "dimensionless", "compute_efficiency")
    eta_m = _positive_array(memory_efficiency, "dimensionless", "memory_efficiency")
    t0 = _positive_array(launch_s, "time", "launch_s", allow_zero=True)
    out = _roofline(f, b, np.multiply(gamma, eta_c), np.multiply(beta, eta_m)) + t0
    return float(out) if np.ndim(out) == 0 else out


def _roofline(flops, bytes_, rate, bandwidth):
    """``max(F/γ, B/β)`` on SI arrays already validated, with the efficiencies folded into
    ``rate`` and ``bandwidth`` (the form's one home; the step models call it on large arrays)."""
    return np.maximum(np.divide(flops, rate), np.divide(bytes_, bandwidth))
