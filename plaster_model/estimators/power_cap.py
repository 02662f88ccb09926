"""Sustained clock under a board power cap: how two devices on one process compare.

A GPU's peak rate is quoted at its boost clock, but under a sustained dense load the
firmware lowers the clock until the board stays within its power limit. Dynamic power is
``P = α·C·V²·f`` and, under dynamic voltage and frequency scaling, the supply voltage
tracks the clock (``V ∝ f``), so a chip of ``N`` identical units draws ``P ∝ N·f³``. Its
peak rate is ``γ = N·k·f_boost``, so at boost, fully loaded, it draws ``P_boost = e·γ``
where ``e`` is the energy per operation at the boost voltage: a property of the
fabrication process and the circuit design, about the same for two chips of one vendor on
one process. Below its cap ``P`` the chip therefore sustains the clock fraction

    x = f / f_boost = min(1, (P / (e·γ))^(1/3)).

Two devices ``t`` and ``s`` on one process share ``e``; taking the one with more watts per
peak operation as running at boost, the other's sustained clock relative to it is

    x_t / x_s = (w_t / w_s)^(1/3),     w = P / γ  [W per FLOP/s],

the ratio a sustained efficiency ``η = rate / γ`` fitted on ``s`` must be multiplied by to
serve ``t``. A 70 W T4 (8.1 TFLOPS fp32) against a 300 W V100 SXM2 (15.7 TFLOPS), both on
TSMC 12 nm FFN, sustains 0.768 of the clock fraction relative to the V100; the same ratio at
the tensor-core peaks (65 and 125 TFLOPS) is 0.766.

Assumptions: static (leakage) and memory power are not separated out (both are smaller
under a dense compute load, and counting them would lower a capped clock further); the
exponent is 3 (``V ∝ f``; 2 where the voltage is already at its floor); memory clocks are
not power-managed, so only the compute rate is scaled.

References
----------
.. [1] J. M. Rabaey, A. Chandrakasan, B. Nikolić, *Digital Integrated Circuits*, 2nd ed.,
   Prentice Hall, 2003, ch. 5 (dynamic power ``α·C·V²·f``).
.. [2] X. Mei, Q. Wang, X. Chu, "A survey and measurement study of GPU DVFS on energy
   conservation", Digital Communications and Networks 3(2), 2017 (GPU power under voltage
   and frequency scaling).
.. [3] NVIDIA Developer Forums, "About GPU peak performance" (2023): a T4 sustains about
   24 of its 65 TFLOPS on continuous FP16 GEMM because of power capping at 70 W.
"""
from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from ._validate import _positive_array

__all__ = ["DVFS_POWER_EXPONENT", "power_capped_clock_ratio", "capped_efficiency_ratio"]

#: Exponent ``n`` of ``P ∝ f^n`` under dynamic voltage and frequency scaling (``V ∝ f``).
DVFS_POWER_EXPONENT = 3.0


def power_capped_clock_ratio(power_w, peak_flops, power_w_ref, peak_flops_ref, exponent=DVFS_POWER_EXPONENT):
    """Sustained clock of a power-capped device relative to a reference on the same process.

    ``x_t / x_s = (w_t / w_s)^(1/n)`` with ``w = P / γ_peak``

    Parameters
    ----------
    power_w : array_like
        Board power limit of the device ``P_t`` [W].
    peak_flops : array_like
        Its peak rate at the precision of interest ``γ_t`` [FLOP/s].
    power_w_ref : array_like
        Board power limit of the reference device ``P_s`` [W].
    peak_flops_ref : array_like
        The reference's peak rate at the same precision ``γ_s`` [FLOP/s].
    exponent : float
        ``n`` in ``P ∝ f^n`` (3 where the voltage tracks the clock).

    Returns
    -------
    float or numpy.ndarray
        The ratio of sustained clock fractions (dimensionless): multiply an efficiency
        measured on the reference by it. Only meaningful for two devices of one vendor on
        one fabrication process (the same energy per operation).

    Examples
    --------
    T4 (70 W, 8.1 TFLOPS fp32) against V100 SXM2 (300 W, 15.7 TFLOPS): the T4 has 8.64 W
    per TFLOPS against 19.1, so it sustains (8.64/19.1)^(1/3) = 0.768 of the clock
    fraction the V100 holds.

    >>> round(power_capped_clock_ratio(70.0, 8.1e12, 300.0, 15.7e12), 3)
    0.768

    The relation is symmetric: the V100 against the T4 is the inverse.

    >>> round(power_capped_clock_ratio(300.0, 15.7e12, 70.0, 8.1e12), 3)
    1.303
    """
    p = np.asarray(_positive_array(power_w, "power", "power_w"))
    g = np.asarray(_positive_array(peak_flops, "flop_rate", "peak_flops"))
    p0 = np.asarray(_positive_array(power_w_ref, "power", "power_w_ref"))
    g0 = np.asarray(_positive_array(peak_flops_ref, "flop_rate", "peak_flops_ref"))
    n = float(exponent)
    if not np.isfinite(n) or n <= 0:
        raise ParameterError("exponent", exponent, "a positive finite number")
    out = ((p / g) / (p0 / g0)) ** (1.0 / n)
    return out if out.ndim else float(out)


def capped_efficiency_ratio(clock_ratio, compute_share):
    """Efficiency ratio of a step when only its compute-bound share runs at a lower clock.

    A power cap lowers the SM clock, not the memory clock (module assumptions), so of a
    step's roofline time only the compute-bound share ``c`` stretches by ``1/x``; the
    memory-bound rest does not::

        T'/T = (1 − c) + c/x,     η'/η = 1 / ((1 − c) + c/x)

    With the per-operator roofline ratio ``r_∞`` (roofline time over FLOP-only time,
    :func:`plaster_model.estimators.step.roofline_ratio`), the FLOP-bound share of the time
    is ``c = 1/r_∞`` (``c = 1`` for a FLOP-only model, ``r_∞ <= 1``): a CNN's BatchNorm,
    activations and adds, memory-bound against tensor cores, do not slow with the clock.

    Parameters
    ----------
    clock_ratio : array_like
        Sustained clock fraction relative to the reference ``x``
        (:func:`power_capped_clock_ratio`), > 0.
    compute_share : array_like
        Share ``c`` of the step's time in compute-bound operators, in [0, 1].

    Returns
    -------
    float or numpy.ndarray
        ``η'/η`` (dimensionless): multiply an efficiency measured on the reference by it.

    Examples
    --------
    A T4 (0.7676 of a V100's clock fraction) on a FLOP-bound step, and on a tensor-core step
    whose roofline is 3.2 × its FLOP-only time (c = 1/3.2: 1/(0.6875 + 0.3125/0.7676) = 0.914):

    >>> round(capped_efficiency_ratio(0.7676, 1.0), 4), round(capped_efficiency_ratio(0.7676, 1 / 3.2), 3)
    (0.7676, 0.914)
    """
    x = np.asarray(_positive_array(clock_ratio, "dimensionless", "clock_ratio"), dtype=float)
    c = np.asarray(compute_share, dtype=float)
    if not np.all(np.isfinite(c) & (c >= 0.0) & (c <= 1.0)):
        raise ParameterError("compute_share", compute_share, "a fraction in [0, 1]")
    out = 1.0 / ((1.0 - c) + c / x)
    return out if out.ndim else float(out)
