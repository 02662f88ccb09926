"""Closed-form data-parallel training estimators (HPE Deep Learning Cookbook).

Each of ``p`` devices holds a full model replica and processes its share of the batch;
gradients are then summed across devices by an all-reduce. All functions are pure and
broadcast over numpy arrays, so a sweep over 10^6 configurations is one call.

Symbols: ``p`` devices, ``γ`` sustained device rate [FLOP/s], ``β`` link bandwidth [B/s],
``c`` compute work per iteration [FLOP], ``w`` gradient size [B].

References
----------
.. [1] N. Vassilieva, S. Serebryakov, "HPE Deep Learning Cookbook" (slides, HPE, 2017).
.. [2] H. Qi, E. R. Sparks, A. Talwalkar, "Paleo: A Performance Model for Deep Neural
   Networks", ICLR 2017 (tree all-reduce ``2·⌈log2 p⌉·|W|/B``).
"""
from __future__ import annotations
from ..errors import ParameterError

import numpy as np

from ._validate import _count_array, _factor, _positive_array

__all__ = [
    "TRAINING_FLOPS_FACTOR",
    "training_flops",
    "data_parallel_compute_time",
    "required_bandwidth",
    "tree_crossover_devices",
    "tree_allreduce_time",
]

#: A training step costs about 3× the forward FLOPs: the forward pass plus the two
#: backward GEMMs (gradient w.r.t. activations and w.r.t. weights) of the same size.
TRAINING_FLOPS_FACTOR = 3.0


def training_flops(fwd_flops, batch, factor=TRAINING_FLOPS_FACTOR):
    """Work of one training iteration, ``c = factor · F · B`` [FLOP].

    Parameters
    ----------
    fwd_flops : float or array_like or str
        Forward FLOPs per sample ``F`` [FLOP] (2 × MACs).
    batch : int or array_like
        Samples in the iteration ``B`` (the global batch for the whole cluster).
    factor : float
        Forward + backward cost relative to the forward pass (default 3); finite and > 0.

    Returns
    -------
    float or numpy.ndarray
        ``c`` [FLOP].

    Examples
    --------
    Brief §3: ResNet-152 (11.3 GFLOPs as printed), 14 M images, one epoch:

    >>> training_flops(11.3e9, 14e6)
    4.746e+17
    """
    f = _positive_array(fwd_flops, "flops", "fwd_flops")
    b = _positive_array(batch, "dimensionless", "batch")
    # a negative factor made a negative FLOP count (issue 25)
    return _factor(factor, "factor") * f * b


def data_parallel_compute_time(flops, p, gamma):
    """Compute time of one data-parallel iteration, ``T_compute = c / (p·γ)`` [s].

    Parameters
    ----------
    flops : float or array_like or str
        Work of the iteration ``c`` [FLOP] for the whole (global) batch.
    p : int or array_like
        Number of devices.
    gamma : float or array_like or str
        Sustained rate of one device ``γ`` = peak × efficiency [FLOP/s].

    Returns
    -------
    float or numpy.ndarray
        ``T_compute`` [s].

    References
    ----------
    HPE Deep Learning Cookbook slides (2017), data-parallel model.

    Examples
    --------
    Brief §3 peak-only bound: VGG-16 (15.5 GFLOPs as printed), 100 M images × 10 epochs on
    8 × P100 (10.6 TFLOPS):

    >>> t = data_parallel_compute_time(3 * 15.5e9 * 1e9, 8, 10.6e12)
    >>> round(t / 3600)   # hours
    152
    """
    c = _positive_array(flops, "flops", "flops")
    p = _count_array(p, "p")
    g = _positive_array(gamma, "flop_rate", "gamma")
    return c / (p * g)


def required_bandwidth(w, t_compute, steps, alpha=0.0):
    """Bandwidth at which communication time equals compute time [B/s].

    Solves ``steps·(w/β + α) = T_compute`` for ``β``: ``β = steps·w / (T_compute − steps·α)``;
    ``inf`` where latency alone already exceeds compute. For the tree all-reduce
    ``steps = 2·log2(p)``.

    Parameters
    ----------
    w : float or array_like
        Bytes sent per step [B].
    t_compute : float or array_like
        Compute time to hide behind [s].
    steps : float or array_like
        Number of sequential transfers of ``w``.
    alpha : float or array_like
        Latency per step [s].

    Returns
    -------
    float or numpy.ndarray
        ``β_required`` [B/s] (0 where ``steps = 0``).

    Examples
    --------
    A tree over 8 devices (``steps = 2·log2 8 = 6``) hiding 102.4 MB behind 95.4 ms of
    compute needs ``6·102.4e6 / 0.0954`` = 6.44 GB/s:

    >>> round(required_bandwidth(102.4e6, 0.0954, 6) / 1e9, 2)
    6.44
    """
    w = np.asarray(_positive_array(w, "bytes", "w", allow_zero=True))
    t = np.asarray(_positive_array(t_compute, "time", "t_compute"))
    s = np.asarray(_positive_array(steps, "dimensionless", "steps", allow_zero=True))
    a = np.asarray(_positive_array(alpha, "time", "alpha", allow_zero=True))
    slack = t - s * a
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(s == 0, 0.0, np.where(slack > 0, s * w / np.where(slack > 0, slack, 1.0), np.inf))
    return out if out.ndim else float(out)


def tree_crossover_devices(fwd_flops, batch, gamma, w, beta, scaling="weak",
                           factor=TRAINING_FLOPS_FACTOR):
    """Device count ``p*`` where tree all-reduce time equals compute time (``α = 0``).

    Weak scaling (``batch`` per device ``b`` fixed): ``3·F·b/γ = 2·w·log2(p)/β`` gives
    ``p* = 2^(3·F·b·β / (2·w·γ))``.
    Strong scaling (``batch`` is the global batch ``B``): ``3·F·B/(p·γ) = 2·w·log2(p)/β``
    gives ``p·ln p = K·ln 2`` with ``K = 3·F·B·β/(2·w·γ)``, i.e. ``p* = exp(W(K·ln 2))``
    with ``W`` the Lambert W function (:func:`scipy.special.lambertw`).
    Beyond ``p*`` the interconnect is the bottleneck.

    Parameters
    ----------
    fwd_flops : float or array_like
        Forward FLOPs per sample [FLOP].
    batch : float or array_like
        Per-device batch (weak) or global batch (strong).
    gamma : float or array_like
        Sustained device rate [FLOP/s].
    w : float or array_like
        Gradient bytes [B].
    beta : float or array_like
        Bandwidth [B/s].
    scaling : {"weak", "strong"}
        Whether ``batch`` is per device (weak) or global (strong).
    factor : float
        Training work relative to the forward pass (:data:`TRAINING_FLOPS_FACTOR`, 3).

    Returns
    -------
    float or numpy.ndarray
        ``p*`` (a real number > 1; ``inf`` when ``w = 0``).

    Examples
    --------
    ResNet-50 (7.8 GFLOP, 102.4 MB of fp32 gradients), 64 per device on a 15.7 TFLOPS
    device over 56 Gb/s (7 GB/s): ``log2 p* = 3·7.8e9·64·7e9 / (2·102.4e6·15.7e12) = 3.26``:

    >>> p = tree_crossover_devices(7.8e9, 64, 15.7e12, 25.6e6 * 4, 7e9)
    >>> round(float(p), 2)
    9.58
    """
    f = np.asarray(_positive_array(fwd_flops, "flops", "fwd_flops"))
    b = np.asarray(_positive_array(batch, "dimensionless", "batch"))
    g = np.asarray(_positive_array(gamma, "flop_rate", "gamma"))
    w = np.asarray(_positive_array(w, "bytes", "w", allow_zero=True))
    beta = np.asarray(_positive_array(beta, "bandwidth", "beta"))
    with np.errstate(divide="ignore", over="ignore"):
        k = factor * f * b * beta / (2.0 * w * g)
        if scaling == "weak":
            out = np.exp2(k)
        elif scaling == "strong":
            out = _solve_p_log_p(k * np.log(2.0))
        else:
            raise ParameterError("scaling", scaling, message=f"scaling must be 'weak' or 'strong', got {scaling!r}")
    return out if out.ndim else float(out)


def _solve_p_log_p(rhs):
    """Solve ``p·ln(p) = rhs`` (rhs > 0) for p > 1: with ``x = ln p``, ``x·eˣ = rhs`` is the
    Lambert W function, so ``p = e^W(rhs) = rhs / W(rhs)`` (principal branch, real for rhs > 0)."""
    from scipy.special import lambertw

    rhs = np.asarray(rhs, dtype=float)
    return np.exp(lambertw(rhs).real)


# the seed's tree all-reduce lives with the other collectives; re-exported here
from .collectives import tree_allreduce_time  # noqa: E402,F401
