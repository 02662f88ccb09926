"""Fit the inference roofline to measured latency-versus-batch points.

The model is :func:`plaster_model.estimators.inference_batch_time`::

    t(b) = t0 + max(F·b / (η_c·γ_peak), (W + A·b) / (η_m·bw_peak))

with three free parameters: a fixed per-batch overhead ``t0`` [s] and the compute and memory
efficiencies ``η_c``, ``η_m`` (fractions of the device's peaks). They are fitted by bounded
non-linear least squares on **relative** residuals ``(t_model − t_meas)/t_meas``, so a 1 ms
and a 100 ms point weigh alike, with a robust loss that down-weights outliers.

:func:`fit_inference_curve` is the one entry point; the calibration step calls it for every
(device, precision, model) group of inference measurements.
"""
from __future__ import annotations
from ..errors import ParameterError

import math
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from ..units import format_si, to_si
from ..estimators._validate import COMPUTE_EFFICIENCY_MAX, TRANSFER_EFFICIENCY_MAX
from ..estimators.inference import _roofline_terms, inference_batch_time

__all__ = ["fit_inference_curve", "InferenceFit", "PARAMETERS", "EFFICIENCY_MAX"]

#: Names of the fitted parameters, in the order of :attr:`InferenceFit.covariance`.
PARAMETERS = ("t0_s", "compute_efficiency", "memory_efficiency")

#: Upper bound of both efficiencies. Efficiencies above 1 are legitimate: ``F`` counts the
#: FLOPs of direct convolution, and Winograd/FFT kernels (cuDNN, TensorRT) do fewer
#: arithmetic operations for 3×3 layers, so the *apparent* rate can exceed the peak; on-chip
#: caches likewise let the apparent bandwidth exceed DRAM bandwidth.
#: Upper bound of the fitted compute efficiency (the package's one bound,
#: :data:`plaster_model.estimators._validate.COMPUTE_EFFICIENCY_MAX`) and of the memory
#: efficiency (no memory beats its DRAM peak).
EFFICIENCY_MAX = COMPUTE_EFFICIENCY_MAX
MEMORY_EFFICIENCY_MAX = TRANSFER_EFFICIENCY_MAX
_EFFICIENCY_MIN = 1e-6


@dataclass(frozen=True, eq=False)
class InferenceFit:
    """Fitted inference roofline for one (model, device, precision).

    Attributes
    ----------
    t0_s : float
        Fixed per-batch overhead [s].
    compute_efficiency, memory_efficiency : float
        Fractions of ``peak_flops`` and ``peak_bandwidth`` sustained [-].
    stderr : dict
        Standard error of each parameter (``t0_s`` [s], efficiencies [-]); NaN for a
        parameter the data do not determine (see ``identified``) or when there are no
        degrees of freedom left.
    covariance : numpy.ndarray
        3 × 3 covariance of (``t0_s``, ``compute_efficiency``, ``memory_efficiency``);
        NaN rows/columns for fixed or unidentified parameters.
    identified : dict
        Whether the data constrain each parameter. ``memory_efficiency`` is not identified
        when every point is compute-bound (and vice versa); it then keeps its starting
        value 1.0 and must not be read as a measurement.
    fixed : dict
        Parameters held at a given value (``fixed=`` argument).
    batch, time_s : numpy.ndarray
        The points fitted (samples per batch; measured time per batch [s]).
    residuals : numpy.ndarray
        Relative residuals ``(t_fit − t_meas)/t_meas`` per point [-].
    bound : numpy.ndarray of str
        ``"compute"`` or ``"memory"``: the roofline term that dominates at each point.
    rms_relative_error : float
        ``sqrt(mean(residuals²))`` [-].
    dof : int
        Degrees of freedom: points minus identified free parameters.
    fwd_flops, weight_bytes, activation_bytes_per_sample, peak_flops, peak_bandwidth : float
        The fixed inputs of the model [FLOP], [B], [B], [FLOP/s], [B/s].
    loss : str
        Robust loss used by :func:`scipy.optimize.least_squares`.
    notes : tuple of str
        Plain-language remarks (unidentified parameters, parameters at a bound).
    """

    t0_s: float
    compute_efficiency: float
    memory_efficiency: float
    stderr: Mapping[str, float]
    covariance: np.ndarray = field(repr=False)
    identified: Mapping[str, bool] = field(repr=False)
    fixed: Mapping[str, float] = field(repr=False)
    batch: np.ndarray = field(repr=False)
    time_s: np.ndarray = field(repr=False)
    residuals: np.ndarray = field(repr=False)
    bound: np.ndarray = field(repr=False)
    rms_relative_error: float = math.nan
    dof: int = 0
    fwd_flops: float = field(default=math.nan, repr=False)
    weight_bytes: float = field(default=math.nan, repr=False)
    activation_bytes_per_sample: float = field(default=0.0, repr=False)
    peak_flops: float = field(default=math.nan, repr=False)
    peak_bandwidth: float = field(default=math.nan, repr=False)
    loss: str = field(default="soft_l1", repr=False)
    notes: tuple[str, ...] = field(default=(), repr=False)

    # -- prediction ---------------------------------------------------------------------
    def _times(self, batch, t0, eta_c, eta_m):
        return inference_batch_time(self.fwd_flops, self.weight_bytes, self.activation_bytes_per_sample,
                                    batch, eta_c * self.peak_flops, eta_m * self.peak_bandwidth, t0)

    def predict(self, batch):
        """Predicted time per batch [s] at ``batch`` (scalar or array)."""
        return self._times(batch, self.t0_s, self.compute_efficiency, self.memory_efficiency)

    def _gradient(self, batch) -> np.ndarray:
        """d t(b) / d (t0, η_c, η_m), shape (3, n)."""
        b = np.atleast_1d(np.asarray(batch, dtype=float))
        comp = self.fwd_flops * b / (self.compute_efficiency * self.peak_flops)
        mem = (self.weight_bytes + self.activation_bytes_per_sample * b) / (self.memory_efficiency * self.peak_bandwidth)
        cbound = comp >= mem
        return np.vstack([np.ones_like(b),
                          np.where(cbound, -comp / self.compute_efficiency, 0.0),
                          np.where(cbound, 0.0, -mem / self.memory_efficiency)])

    def interval(self, batch, level: float = 0.9, kind: str = "prediction"):
        """Interval for the time per batch at ``batch`` [s].

        ``kind="confidence"``: uncertainty of the fitted curve only (delta method,
        ``var = gᵀ·C·g`` with ``g = ∂t/∂θ`` and ``C`` the parameter covariance).
        ``kind="prediction"`` (default): for a new measurement, adding the residual scatter
        ``(s·t(b))²`` with ``s²`` the mean squared relative residual per degree of freedom.
        Both use Student's t quantile with :attr:`dof` degrees of freedom.

        Parameters
        ----------
        batch : array_like
            Samples per batch.
        level : float
            Two-sided coverage in (0, 1), default 0.9.
        kind : {"prediction", "confidence"}

        Returns
        -------
        (low, high) : tuple of float or numpy.ndarray
            [s]; NaN when the fit has no degrees of freedom left (as many free parameters
            as points).
        """
        if not 0 < level < 1:
            raise ParameterError("level", level, message=f"level must be in (0, 1), got {level!r}")
        if kind not in ("prediction", "confidence"):
            raise ParameterError("kind", kind, message=f"kind must be 'prediction' or 'confidence', got {kind!r}")
        t = np.asarray(self.predict(batch), dtype=float)
        if self.dof <= 0:
            nan = np.full_like(t, np.nan)
            return (nan, nan) if t.ndim else (math.nan, math.nan)
        from scipy.special import stdtrit  # t.ppf's kernel: same doubles, no scipy.stats import

        g = self._gradient(batch)
        cov = np.nan_to_num(self.covariance, nan=0.0)
        var = np.einsum("in,ij,jn->n", g, cov, g).reshape(t.shape)
        if kind == "prediction":
            s2 = float(np.sum(self.residuals ** 2) / self.dof)
            var = var + s2 * t ** 2
        half = float(stdtrit(self.dof, 0.5 + level / 2.0)) * np.sqrt(np.maximum(var, 0.0))
        lo, hi = np.maximum(t - half, 0.0), t + half
        return (lo, hi) if t.ndim else (float(lo), float(hi))

    def efficiency_interval(self, level: float = 0.9) -> tuple[float, float] | None:
        """``compute_efficiency ± t·stderr`` clipped to (0, 3]; None when unknown."""
        se = self.stderr.get("compute_efficiency", math.nan)
        if not math.isfinite(se) or self.dof <= 0:
            return None
        from scipy.special import stdtrit  # t.ppf's kernel: same doubles, no scipy.stats import

        half = float(stdtrit(self.dof, 0.5 + level / 2.0)) * se
        return (max(self.compute_efficiency - half, _EFFICIENCY_MIN),
                min(self.compute_efficiency + half, EFFICIENCY_MAX))

    # -- tables -------------------------------------------------------------------------
    def to_frame(self):
        """Per-point table: ``batch``, ``time_s``, ``predicted_s``, ``relative_error``, ``bound``."""
        import pandas as pd

        return pd.DataFrame({"batch": self.batch, "time_s": self.time_s,
                             "predicted_s": np.asarray(self.predict(self.batch), dtype=float),
                             "relative_error": self.residuals, "bound": self.bound})

    def parameters(self, level: float = 0.9) -> dict:
        """The fit in the calibration protocol's shape (what ``Calibration.parameters_for``
        returns for ``phase="inference"``): ``efficiency``, ``efficiency_interval``,
        ``memory_efficiency``, ``t0_s``, ``notes``."""
        return {
            "efficiency": self.compute_efficiency,
            "efficiency_interval": self.efficiency_interval(level),
            "memory_efficiency": self.memory_efficiency,
            "t0_s": self.t0_s,
            "notes": [f"inference roofline fitted to {len(self.batch)} point(s): "
                      f"t0 = {format_si(self.t0_s, 's')}, η_c = {self.compute_efficiency:.3g}, "
                      f"η_m = {self.memory_efficiency:.3g}, rms error {100 * self.rms_relative_error:.2g} %",
                      *self.notes],
        }

    def __str__(self) -> str:
        def fmt(name, value, unit=""):
            se = self.stderr.get(name, math.nan)
            tail = f" ± {se:.2g}" if math.isfinite(se) else ""
            tag = " (fixed)" if name in self.fixed else ("" if self.identified.get(name, True) else " (not identified)")
            return f"{name:<20} {value:.4g}{tail}{unit}{tag}"

        lines = [fmt("t0_s", self.t0_s, " s"), fmt("compute_efficiency", self.compute_efficiency),
                 fmt("memory_efficiency", self.memory_efficiency),
                 f"{len(self.batch)} points, dof {self.dof}, rms relative error {100 * self.rms_relative_error:.3g} %"]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def _as_1d(value, kind, name):
    arr = np.atleast_1d(np.asarray(to_si(value, kind, name=name), dtype=float))
    if arr.ndim != 1:
        raise ParameterError(name, None, message=f"{name} must be one-dimensional, got shape {arr.shape}")
    return arr


def _scalar(value, kind, name, allow_zero=False):
    v = float(to_si(value, kind, name=name))
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ParameterError(name, value,
                             message=f"{name} must be a finite {'non-negative' if allow_zero else 'positive'} number, got {value!r}")
    return v


def fit_inference_curve(batch, time_s, *, fwd_flops, weight_bytes, activation_bytes_per_sample=0.0,
                        peak_flops, peak_bandwidth, loss="soft_l1", f_scale=0.05,
                        fixed: Mapping[str, float] | None = None,
                        min_points_per_branch: int = 2) -> InferenceFit:
    """Fit ``t0``, ``η_c`` and ``η_m`` of the inference roofline to measured batch times.

    ``t(b) = t0 + max(F·b/(η_c·γ_peak), (W + A·b)/(η_m·bw_peak))``

    minimising ``Σ ρ(r_i)`` with relative residuals ``r_i = (t(b_i) − t_i)/t_i`` and the robust
    loss ``ρ`` (:func:`scipy.optimize.least_squares`, trust-region reflective, analytic
    Jacobian, several starting points, each run to a tolerance of 1e-5 and the best one
    polished to scipy's default 1e-8). Bounds: ``t0 ≥ 0``; ``0 < η_c ≤ 5`` (it may exceed 1
    because ``F`` counts direct-convolution FLOPs while Winograd/FFT kernels do less
    arithmetic: "the rate at which the nominal work gets done"); ``0 < η_m ≤ 1`` (no memory
    beats its DRAM peak).

    Standard errors come from the Jacobian at the solution: ``C = s²·(JᵀJ)⁻¹`` with
    ``s² = Σ r_i² / (n − k)`` over the ``k`` identified free parameters. A parameter is
    *identified* when some point depends on it (``η_m`` is not when every point is
    compute-bound); unidentified parameters keep their start value (``η_m = η_c = 1``) and get
    a NaN standard error.

    Parameters
    ----------
    batch : array_like
        Samples per batch of each measurement [-].
    time_s : array_like
        Measured time per batch [s] (for trtexec: the median GPU Compute Time, not the host
        latency), or strings such as ``"7.69 ms"``.
    fwd_flops : float or str
        Forward FLOPs per sample ``F`` [FLOP] (2 × MACs).
    weight_bytes : float or str
        Weight bytes at the run's precision ``W`` [B].
    activation_bytes_per_sample : float or str
        Activation bytes moved per sample ``A`` [B]; 0 counts weights only.
    peak_flops : float or str
        Device peak for the run's precision ``γ_peak`` [FLOP/s].
    peak_bandwidth : float or str
        Device memory bandwidth ``bw_peak`` [B/s].
    loss : {"soft_l1", "linear", "huber", "cauchy", "arctan"}
        Robust loss of :func:`scipy.optimize.least_squares`.
    f_scale : float
        Soft margin of the robust loss in relative-residual units (0.05: residuals beyond
        about 5 % are down-weighted).
    fixed : mapping, optional
        Parameters to hold, e.g. ``{"t0_s": 0.0}`` or ``{"memory_efficiency": 1.0}`` (needed
        when there are fewer points than free parameters).

    min_points_per_branch : int
        An efficiency is fitted only when at least this many points lie on its branch of
        the ``max`` (default 2) while the other branch is well supported; otherwise it is
        held at 1.0 (peak) and reported as not identified. With one point on a branch the efficiency would fit that point exactly,
        whatever the physics: e.g. a weights-only memory term is a constant "floor", and a
        free ``η_m`` turns one slow small-batch point into a floor that ruins small-batch
        predictions.

    Returns
    -------
    InferenceFit
        Parameters, standard errors, residuals per point, ``predict(batch)`` and
        ``interval(batch, level=0.9)``.

    Raises
    ------
    ValueError
        For mismatched or non-positive inputs, or fewer points than free parameters.

    References
    ----------
    S. Williams, A. Waterman, D. Patterson, "Roofline", CACM 52(4), 2009.
    A. Lavin, S. Gray, "Fast Algorithms for Convolutional Neural Networks" (Winograd), CVPR 2016.

    Examples
    --------
    Points from a curve with t0 = 1 ms, η_c = 0.5 on a 10 TFLOPS, 300 GB/s device:

    >>> import numpy as np
    >>> from plaster_model.inference import fit_inference_curve, inference_batch_time
    >>> b = np.array([8, 16, 32, 64, 128])
    >>> t = inference_batch_time(8e9, 100e6, 0.0, b, 0.5 * 10e12, 300e9, 1e-3)
    >>> fit = fit_inference_curve(b, t, fwd_flops=8e9, weight_bytes=100e6,
    ...                           peak_flops=10e12, peak_bandwidth=300e9)
    >>> round(fit.compute_efficiency, 3), round(fit.t0_s * 1e3, 3)
    (0.5, 1.0)
    >>> fit.identified["memory_efficiency"]       # every point is compute-bound
    False
    """
    from scipy.optimize import least_squares

    b = _as_1d(batch, "dimensionless", "batch")
    t = _as_1d(time_s, "time", "time_s")
    if b.shape != t.shape:
        raise ParameterError("batch", b.size,
                             message=f"batch and time_s must have the same length, got {b.size} and {t.size}")
    if b.size == 0:
        raise ParameterError("batch", b.tolist(), message="fit_inference_curve: no points to fit")
    if not (np.all(np.isfinite(b)) and np.all(b > 0)):
        raise ParameterError("batch", b.tolist(), message=f"batch must be positive and finite, got {b.tolist()}")
    if not (np.all(np.isfinite(t)) and np.all(t > 0)):
        raise ParameterError("time_s", t.tolist(), message=f"time_s must be positive and finite, got {t.tolist()}")
    F = _scalar(fwd_flops, "flops", "fwd_flops")
    W = _scalar(weight_bytes, "bytes", "weight_bytes", allow_zero=True)
    A = _scalar(activation_bytes_per_sample, "bytes", "activation_bytes_per_sample", allow_zero=True)
    gamma = _scalar(peak_flops, "flop_rate", "peak_flops")
    bw = _scalar(peak_bandwidth, "bandwidth", "peak_bandwidth")
    fixed = dict(fixed or {})
    unknown = set(fixed) - set(PARAMETERS)
    if unknown:
        raise ParameterError("fixed", None,
                             message=f"fixed: unknown parameter(s) {sorted(unknown)}; expected some of {list(PARAMETERS)}")
    for name, value in fixed.items():
        v = float(to_si(value, "time", name=name)) if name == "t0_s" else float(value)
        lo_ok = v >= 0 if name == "t0_s" else v > 0
        cap = EFFICIENCY_MAX if name == "compute_efficiency" else MEMORY_EFFICIENCY_MAX
        if not (math.isfinite(v) and lo_ok and (name == "t0_s" or v <= cap)):
            raise ParameterError(f"fixed[{name!r}]", value,
                                 message=f"fixed[{name!r}] = {value!r} is outside its bounds")
        fixed[name] = v
    _held_notes: dict[str, str] = {}
    free = [i for i, n in enumerate(PARAMETERS) if n not in fixed]
    if not free:
        raise ParameterError("fixed", None, message="fixed: every parameter is fixed; nothing to fit")
    if b.size < len(free):
        raise ParameterError("batch", b.tolist(),
                             message=f"fit_inference_curve: {b.size} point(s) cannot determine {len(free)} free parameters "
                                     f"{[PARAMETERS[i] for i in free]}; measure more batch sizes or hold some with "
                                     "fixed={'t0_s': 0.0, 'memory_efficiency': 1.0}")

    t_scale = float(np.median(t))  # t0 is optimised in units of the median time
    held: dict[str, float] = {}
    x, r, comp, mem = _solve(b, t, F, W, A, gamma, bw, t_scale, fixed, loss, f_scale, least_squares)
    # A branch of the max that holds a single point is fitted exactly by its efficiency: the
    # data then carry no test of it, and the value is typically unphysical (a one-point
    # "memory floor" far below the real bandwidth wrecks small-batch extrapolation). Such an
    # efficiency, and one with no point on its branch, is held at 1.0 (peak) and the fit rerun.
    for _ in range(2):
        cb = comp >= mem
        counts = {"compute_efficiency": int(np.sum(cb)), "memory_efficiency": int(np.sum(~cb))}
        other = {"compute_efficiency": "memory_efficiency", "memory_efficiency": "compute_efficiency"}
        weak = [n for n, c in counts.items()
                if n not in fixed and n not in held and c < min_points_per_branch
                and (c == 0 or counts[other[n]] >= min_points_per_branch)]
        if not weak or len(weak) == 2:
            break
        for n in weak:
            held[n] = 1.0
            if counts[n]:
                which = "compute" if n == "compute_efficiency" else "memory"
                pts = ", ".join(f"{v:g}" for v in b[cb if which == "compute" else ~cb])
                _held_notes[n] = (f"{n}: only batch {pts} on the {which} branch, which a free {n} "
                                  f"would fit exactly; held at 1.0 (peak) instead")
        x, r, comp, mem = _solve(b, t, F, W, A, gamma, bw, t_scale, {**fixed, **held}, loss, f_scale,
                                 least_squares)
    bound = np.where(comp >= mem, "compute", "memory")

    # Covariance over identified free parameters, in physical units (t0 in seconds).
    cb = comp >= mem
    jac_full = np.column_stack([np.ones_like(t) / t,  # d r / d t0 [1/s]
                                np.where(cb, -comp / x[1], 0.0) / t,
                                np.where(cb, 0.0, -mem / x[2]) / t])
    col_norm = np.linalg.norm(jac_full * np.array([t_scale, 1.0, 1.0]), axis=0)
    identified = {n: (n not in fixed) and (n not in held)
                  and bool(col_norm[i] > 1e-9 * max(col_norm.max(), 1e-300))
                  for i, n in enumerate(PARAMETERS)}
    idx = [i for i, n in enumerate(PARAMETERS) if identified[n]]
    dof = int(b.size - len(idx))
    cov = np.full((3, 3), np.nan)
    if idx and dof > 0:
        J = jac_full[:, idx]
        s2 = float(np.sum(r ** 2) / dof)
        cov[np.ix_(idx, idx)] = s2 * np.linalg.pinv(J.T @ J)
    stderr = {n: (float(np.sqrt(cov[i, i])) if identified[n] and np.isfinite(cov[i, i]) else math.nan)
              for i, n in enumerate(PARAMETERS)}

    notes = []
    params = [x[0] * t_scale, x[1], x[2]]
    for i, n in enumerate(PARAMETERS):
        if n in fixed:
            notes.append(f"{n} fixed at {fixed[n]:.4g}")
        elif n in _held_notes:
            notes.append(_held_notes[n])
        elif not identified[n]:
            which = "memory" if n == "memory_efficiency" else "compute"
            notes.append(f"{n} not identified (no point is {which}-bound): held at {params[i]:.3g}, "
                         "do not read it as measured")
    if "t0_s" not in fixed and params[0] <= 1e-12 * t_scale:
        notes.append("t0_s at its lower bound 0")
    for i in (1, 2):
        n = PARAMETERS[i]
        cap = EFFICIENCY_MAX if i == 1 else MEMORY_EFFICIENCY_MAX
        if identified[n] and params[i] >= cap * (1 - 1e-6):
            notes.append(f"{n} at its upper bound {cap:g}: check the FLOP count and peak")

    return InferenceFit(
        t0_s=float(params[0]), compute_efficiency=float(params[1]), memory_efficiency=float(params[2]),
        stderr=stderr, covariance=cov, identified=identified, fixed=fixed, batch=b, time_s=t,
        residuals=r, bound=bound, rms_relative_error=float(np.sqrt(np.mean(r ** 2))), dof=dof,
        fwd_flops=F, weight_bytes=W, activation_bytes_per_sample=A, peak_flops=gamma,
        peak_bandwidth=bw, loss=loss, notes=tuple(notes))


#: Tolerance of each starting point's descent in :func:`_solve` (the best is then polished).
_START_TOL = 1e-5


def _solve(b, t, F, W, A, gamma, bw, t_scale, fixed, loss, f_scale, least_squares):
    """Bounded multi-start least squares; returns (x, residuals, compute_s, memory_s) with
    ``x = (t0/t_scale, η_c, η_m)``."""
    free = [i for i, n in enumerate(PARAMETERS) if n not in fixed]

    def full(x_free):
        x = np.array([fixed.get("t0_s", 0.0) / t_scale, fixed.get("compute_efficiency", 1.0),
                      fixed.get("memory_efficiency", 1.0)])
        x[free] = x_free
        return x

    def terms(x):
        return _roofline_terms(F, W, A, b, x[1] * gamma, x[2] * bw)

    def residuals(x_free):
        x = full(x_free)
        comp, mem = terms(x)
        return (x[0] * t_scale + np.maximum(comp, mem) - t) / t

    def jacobian(x_free):
        x = full(x_free)
        comp, mem = terms(x)
        cb = comp >= mem
        jac = np.column_stack([t_scale / t,
                               np.where(cb, -comp / x[1], 0.0) / t,
                               np.where(cb, 0.0, -mem / x[2]) / t])
        return jac[:, free]

    if not free:
        x = full(np.empty(0))
        return (x, residuals(np.empty(0)), *terms(x))
    lower = np.array([0.0, _EFFICIENCY_MIN, _EFFICIENCY_MIN])[free]
    upper = np.array([np.inf, EFFICIENCY_MAX, MEMORY_EFFICIENCY_MAX])[free]

    # Starting points: a straight line through the points gives t0 (intercept) and η_c
    # (slope = F/(η_c·γ)); η_m starts at 1 and at a value making the smallest batch
    # memory-bound, so both branches of the max are explored. Ties keep the first start.
    if b.size >= 2 and np.ptp(b) > 0:
        slope, intercept = np.polyfit(b, t, 1)
    else:
        slope, intercept = t[0] / b[0], 0.0
    t0_guess = float(np.clip(intercept, 0.0, 0.9 * t.min()))
    eta_c_guess = float(np.clip(F / (max(slope, 1e-30) * gamma), 1e-3, EFFICIENCY_MAX))
    i_min = int(np.argmin(b))
    mem_needed = (W + A * b[i_min]) / bw
    eta_m_alt = (float(np.clip(mem_needed / max(t[i_min] - t0_guess, 1e-12), 1e-3, MEMORY_EFFICIENCY_MAX))
                 if mem_needed > 0 else 1.0)
    # Each start only has to find its basin: it runs to a loose tolerance, and the best one
    # is then polished to scipy's default (1e-8), half the evaluations of polishing all nine.
    best, seen = None, []
    for eta_m0 in (1.0, eta_m_alt, 0.3):
        for t0_0, eta_c0 in ((t0_guess, eta_c_guess), (0.0, eta_c_guess), (t0_guess, 1.0)):
            x0 = np.clip(np.array([t0_0 / t_scale, eta_c0, eta_m0])[free], lower, np.minimum(upper, 1e12))
            if any(np.array_equal(x0, s) for s in seen):
                continue  # a repeated start (t0_guess = 0, or eta_m_alt = 1) finds the same point
            seen.append(x0)
            res = least_squares(residuals, x0, jac=jacobian, bounds=(lower, upper), loss=loss,
                                f_scale=f_scale, method="trf", x_scale="jac", max_nfev=2000,
                                ftol=_START_TOL, xtol=_START_TOL, gtol=_START_TOL)
            if best is None or res.cost < best.cost * (1 - 1e-9):
                best = res
    best = least_squares(residuals, best.x, jac=jacobian, bounds=(lower, upper), loss=loss,
                         f_scale=f_scale, method="trf", x_scale="jac", max_nfev=2000)
    x = full(best.x)
    return (x, residuals(best.x), *terms(x))
