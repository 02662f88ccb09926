"""Partial pooling of compute efficiencies across devices (a two-level random-effects model).

Each fitted group ``g`` (device ``d``, precision path, phase[, engine]) has a log compute
efficiency ``y_g = log η_g`` (a fraction of the per-operator roofline) with sampling variance
``v_g`` (its bootstrap or Jacobian spread). Groups of one *class* ``c`` (the group key without
the device: precision path, phase, engine) are modelled as

    y_g = μ_c + δ_a(g) + ε_g,    δ_a ~ N(0, τ_a²),  ε_g ~ N(0, τ_w²),  y_g | ε ~ N(·, v_g)

with ``μ_c`` the efficiency the class shares across devices, ``δ_a`` the deviation of the
device's architecture (GPU generation, :mod:`.architecture`) and ``ε_g`` the device's own.
The variances are estimated from the fitted groups (empirical Bayes, method of moments):
``τ² = τ_a² + τ_w²`` from the spread of each class's groups about their class mean,
``τ_w²`` from the spread within (class, architecture) cells measured on several devices,
``τ_a² = max(τ² − τ_w², 0)``. ``μ_c`` is the DerSimonian–Laird random-effects mean,

    μ̂ = Σ y_d/(v_d + τ²) / Σ 1/(v_d + τ²),   se(μ̂)² = 1 / Σ 1/(v_d + τ²)

(DerSimonian & Laird 1986, *Controlled Clinical Trials* 7:177). A device the fit never saw
gets ``μ̂ + δ̂_a``, with ``δ̂_a`` the architecture's mean residual shrunk by
``k_a·τ_a²/(k_a·τ_a² + τ_w²)`` (0 for an architecture the fit never saw: the deviation
shrinks to zero without data), and the variance ``se² + τ_w² + Var(δ_a | data)`` in its
interval: never another device's fitted factor.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["random_effects_mean", "variance_components", "shrunk_deviation"]


def random_effects_mean(y, v, tau: float) -> tuple[float, float, np.ndarray]:
    """The random-effects mean of estimates ``y`` with sampling variances ``v`` and
    between-estimate sd ``tau``.

    Parameters
    ----------
    y, v : array_like
        Estimates (log units) and their sampling variances (log units squared).
    tau : float
        Between-estimate sd (log units).

    Returns
    -------
    (float, float, numpy.ndarray)
        ``μ̂``, ``se(μ̂)`` and the normalised weights ``w_d ∝ 1/(v_d + τ²)``.

    Examples
    --------
    Two devices at log η = −1 and 0, equally precise: the mean is −0.5 and its se
    ``sqrt((0.01 + 0.25)/2)``:

    >>> mu, se, w = random_effects_mean([-1.0, 0.0], [0.01, 0.01], 0.5)
    >>> round(mu, 3), round(se, 4), w.tolist()
    (-0.5, 0.3606, [0.5, 0.5])
    """
    y = np.asarray(y, dtype=float)
    v = np.nan_to_num(np.asarray(v, dtype=float), nan=0.0)
    w = 1.0 / (v + tau ** 2 + 1e-12)
    mu = float(np.sum(w * y) / np.sum(w))
    return mu, float(math.sqrt(1.0 / np.sum(w))), w / np.sum(w)


def variance_components(classes, archs, y) -> dict:
    """Method-of-moments ``τ``, ``τ_a`` and ``τ_w`` (log units) from fitted groups.

    Parameters
    ----------
    classes, archs : sequence
        Class key and architecture of each group (one value per device and class).
    y : array_like
        The groups' log efficiencies.

    Returns
    -------
    dict
        ``sd_device`` (τ, NaN when no class holds two devices), ``sd_within_architecture``
        (τ_w, NaN when no class holds two devices of one architecture), ``sd_architecture``
        (τ_a), ``n_classes`` and ``n_cells`` (the classes and (class, architecture) cells
        that measured them).

    Examples
    --------
    One class of four devices, two architectures: ±0.1 about each architecture's mean, the
    architectures 0.6 apart. About the class mean 0: ``τ² = (0.4² + 0.2² + 0.2² + 0.4²)/3
    = 0.4/3``; within the architectures ``τ_w² = 4·0.1²/2 = 0.02``; ``τ_a² = τ² − τ_w²``:

    >>> vc = variance_components(["c"] * 4, ["A", "A", "B", "B"], [-0.4, -0.2, 0.2, 0.4])
    >>> round(vc["sd_device"], 4), round(vc["sd_within_architecture"], 4), round(vc["sd_architecture"], 4)
    (0.3651, 0.1414, 0.3367)
    """
    y = np.asarray(y, dtype=float)
    by_class: dict = {}
    for k, c in enumerate(classes):
        by_class.setdefault(c, []).append(k)
    ss, dof, n_classes = 0.0, 0, 0
    ss_w, dof_w, n_cells = 0.0, 0, 0
    for idx in by_class.values():
        if len(idx) < 2:
            continue
        v = y[idx]
        ss += float(np.sum((v - v.mean()) ** 2))
        dof += len(idx) - 1
        n_classes += 1
        cells: dict = {}
        for k in idx:
            cells.setdefault(archs[k], []).append(y[k])
        for vals in cells.values():
            if len(vals) >= 2:
                vals = np.asarray(vals)
                ss_w += float(np.sum((vals - vals.mean()) ** 2))
                dof_w += len(vals) - 1
                n_cells += 1
    tau2 = ss / dof if dof else math.nan
    tau_w2 = ss_w / dof_w if dof_w else math.nan
    tau_a2 = max(tau2 - tau_w2, 0.0) if dof and dof_w else math.nan
    return {"sd_device": math.sqrt(tau2) if dof else math.nan,
            "sd_within_architecture": math.sqrt(tau_w2) if dof_w else math.nan,
            "sd_architecture": math.sqrt(tau_a2) if math.isfinite(tau_a2) else math.nan,
            "n_classes": n_classes, "n_cells": n_cells}


def shrunk_deviation(residuals, tau_a: float, tau_w: float) -> tuple[float, float]:
    """The posterior mean and variance of an architecture's deviation ``δ_a`` from the
    residuals ``y_d − μ̂`` of its ``k`` fitted devices:
    ``δ̂ = mean·k·τ_a²/(k·τ_a² + τ_w²)``, ``Var = τ_a²·τ_w²/(k·τ_a² + τ_w²)``; ``(0, τ_a²)``
    without residuals (an architecture the fit never saw).

    Examples
    --------
    >>> shrunk_deviation([], 0.3, 0.2)
    (0.0, 0.09)
    >>> d, v = shrunk_deviation([0.5], 0.3, 0.3)   # one device: halfway to its residual
    >>> round(d, 3), round(v, 4)
    (0.25, 0.045)
    """
    r = np.asarray(residuals, dtype=float)
    a2, w2 = tau_a ** 2, tau_w ** 2
    if r.size == 0 or a2 <= 0:
        return 0.0, a2
    k = r.size
    return float(r.mean() * k * a2 / (k * a2 + w2)), float(a2 * w2 / (k * a2 + w2))
