"""Partial pooling of efficiencies across devices (a random-effects model with deviations
correlated by architecture generation).

Each fitted group ``g`` (device ``d``, precision path, phase[, engine]) has a log compute
efficiency ``y_d = log η_d`` (a fraction of the per-operator roofline) with sampling variance
``v_d`` (its bootstrap or Jacobian spread). Groups of one *class* ``c`` (the group key without
the device: precision path, phase, engine) are modelled as

    y_d = μ_c + δ_d,    δ_d = a(t_d) + e_d,    a ~ GP(0, τ_c²·exp(−|t − t'|/ℓ)),  e_d ~ N(0, τ_n²)

with ``μ_c`` the efficiency the class shares across devices, ``a(t)`` the deviation of the
device's architecture, correlated along the architecture's launch year ``t``
(:data:`~plaster_model.calibration.architecture.ARCHITECTURE_YEAR`: neighbouring generations
share SM designs, libraries and compilers) and ``e_d`` the device's own. ``τ² = τ_c² + τ_n²``
is estimated from the fitted groups (empirical Bayes: the spread of each class's devices about
the class mean, :func:`variance_components`, never below 0.25 in log); its split
(``τ_c² = τ_n² = τ²/2``) and ``ℓ`` (:data:`GENERATION_LENGTH_YEARS`) are priors, since the
data hold too few architectures to estimate them. ``μ_c`` is the DerSimonian–Laird
random-effects mean,

    μ̂ = Σ y_d/(v_d + τ²) / Σ 1/(v_d + τ²),   se(μ̂)² = 1 / Σ 1/(v_d + τ²)

(DerSimonian & Laird 1986, *Controlled Clinical Trials* 7:177). A device the fit never saw
gets ``μ̂ + δ̂`` with ``δ̂`` the kriging mean of :func:`correlated_deviation` (0 far from every
fitted generation, or for an architecture of unknown year: the deviation shrinks to zero
without data), and ``se(μ̂)² + Var(δ)`` in its interval: never another device's fitted factor.
:func:`variance_components` also reports the within/between-architecture split the fitted
groups show (``pooling_``), and :func:`shrunk_deviation` is the exchangeable special case
(``ℓ → 0`` within one architecture).
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["random_effects_mean", "variance_components", "shrunk_deviation", "correlated_deviation",
           "GENERATION_LENGTH_YEARS", "ARCHITECTURE_SHARE"]

#: Correlation length of architecture deviations along the launch year [years]: deviations of
#: architectures ``Δ`` years apart correlate as ``exp(−Δ/ℓ)`` (Volta–Turing 0.61, Kepler–
#: Hopper 0.007). A prior (the data hold too few architectures to estimate it).
GENERATION_LENGTH_YEARS = 2.0
#: Share of the device-to-device variance τ² that the architecture carries (τ_c² = share·τ²,
#: the device's own τ_n² = (1 − share)·τ²). A prior, like :data:`GENERATION_LENGTH_YEARS`.
ARCHITECTURE_SHARE = 0.5



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


def correlated_deviation(residuals, years, year, v, tau: float, length: float | None = None):
    """The deviation of a device launched in ``year`` from the shared mean, given the fitted
    devices' ``residuals`` ``y_d − μ̂`` (launch years ``years``, sampling variances ``v``).

    Each device's deviation is an architecture part, correlated along the launch year as
    ``τ_c²·exp(−|Δyear|/ℓ)`` (ℓ = :data:`GENERATION_LENGTH_YEARS` unless ``length`` is given),
    plus a device part ``τ_n²`` of its own, with the prior split ``τ_c² = τ_n² = τ²/2``. The
    prediction is the kriging (Gaussian-process) mean and variance

        δ̂ = kᵀ (K + V)⁻¹ r,    Var(δ) = τ_c² − kᵀ (K + V)⁻¹ k,

    ``K_ij = τ_c² ρ_ij + τ_n² [i=j]``, ``k_i = τ_c² ρ(year, year_i)``, ``τ_c² = s·τ²`` with
    ``s`` = :data:`ARCHITECTURE_SHARE` (Rasmussen & Williams 2006,
    *Gaussian Processes for Machine Learning*, eq. 2.19). Far from every fitted architecture
    (``k → 0``) the deviation shrinks to 0 and its variance to ``τ_c²``; an unknown year
    (NaN) is uncorrelated with everything.

    Returns
    -------
    (float, float)
        ``δ̂`` and ``Var(δ) + τ_n²`` (the new device's own part included).

    Examples
    --------
    One fitted device 0.4 above the mean, τ = 0.4 (τ_c² = τ_n² = 0.08): the same year pulls
    halfway, ``0.08/(0.08 + 0.08)·0.4 = 0.2``; 20 years away, nothing:

    >>> d, var = correlated_deviation([0.4], [2017], 2017, [0.0], 0.4)
    >>> round(d, 3), round(var, 3)
    (0.2, 0.12)
    >>> d, var = correlated_deviation([0.4], [1997], 2017, [0.0], 0.4)
    >>> round(d, 4), round(var, 3)
    (0.0, 0.16)
    """
    length = GENERATION_LENGTH_YEARS if length is None else length
    r = np.asarray(residuals, dtype=float)
    tc2, tn2 = ARCHITECTURE_SHARE * tau ** 2, (1.0 - ARCHITECTURE_SHARE) * tau ** 2
    if r.size == 0 or not math.isfinite(float(year)):
        return 0.0, tc2 + tn2
    yrs = np.asarray(years, dtype=float)

    def rho(a, b):
        d = np.abs(a - b)
        return np.where(np.isfinite(d), np.exp(-np.nan_to_num(d, nan=np.inf) / length), 0.0)

    K = tc2 * rho(yrs[:, None], yrs[None, :])
    np.fill_diagonal(K, tc2)
    K = K + np.diag(tn2 + np.nan_to_num(np.asarray(v, dtype=float), nan=0.0))
    k = tc2 * rho(yrs, float(year))
    sol = np.linalg.solve(K, np.column_stack([r, k]))
    return float(k @ sol[:, 0]), float(max(tc2 - k @ sol[:, 1], 0.0) + tn2)
