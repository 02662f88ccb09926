"""The :class:`Calibration` estimator: fit efficiency factors to measured runs, predict with
an interval, and hand the fitted parameters to the predictors.

See ``docs/calibration.md`` for the method; :mod:`.rows` (name mapping, metric algebra),
:mod:`.predict` (the forward model) and :mod:`.fit` (the least-squares problem) hold the
pieces.
"""
from __future__ import annotations

import math
import os
from typing import Mapping

import numpy as np
import pandas as pd

from ..errors import CalibrationError, CalibrationLookupError, NotFittedError, ParameterError, ParameterTypeError
from . import fit as _fit
from .lookup import SD_BETWEEN_FLOOR, WITHIN_GROUP_LEVELS, LookupMixin, _device, _key_text, _z
from .predict import log_prediction
from .rows import SUPPORTED_METRICS, prepare_rows
from ..catalog.frameworks import framework_family

__all__ = ["Calibration", "calibrate", "NotFittedError", "CalibrationLookupError", "SD_BETWEEN_FLOOR"]

_PERS = ("device_precision", "device_precision_model")
_LOSSES = ("linear", "soft_l1", "huber", "cauchy", "arctan")


class Calibration(LookupMixin):
    """Efficiency factors fitted to measured runs, with honest intervals.

    For every group of rows — by default (device, precision, phase), inference groups also
    by engine (TensorRT, onnxruntime, a framework's runtime) — the fit finds

    * training: the compute efficiency ``η`` (fraction of the catalog peak for the
      precision, ≤ 1) and a per-iteration overhead ``t_oh ≥ 0`` [s], in
      ``T = C + T_allreduce(β·η_comm) + t_oh − hidden`` with ``C = 3·F·b/(η·κ_m·γ_peak)``
      and the all-reduce and overlap of each row's communication backend
      (:func:`plaster_model.resolution.communication_backend`);
    * inference: ``η``, a per-batch overhead ``t0 ≥ 0`` [s] of the group's typical model
      and a memory efficiency ``η_m ≤ 1``, in
      ``T = t0·K_m/K̄_g + max(F·b/(η·κ_m·γ_peak), (W + A·b)/(η_m·bw))`` (the roofline of
      :func:`~plaster_model.latency_throughput_curve`, same ``W`` and ``A``; ``K_m`` the
      model's operators, :attr:`plaster_model.Model.kernels`, ``K̄_g`` the group's median);

    a communication efficiency ``η_comm ≤ 1`` (fraction of the link's payload rate) per
    (backend, link class) the multi-device rows used (``comm_efficiencies_``), and, shared
    by every group of a phase, a model factor ``κ_m`` per model and phase (``model_factors=True``):
    how much faster than the group's typical model this model runs per nominal FLOP (VGG's
    3×3 convolutions run Winograd kernels, so its FLOPs "count" more). Everything is fitted
    at once by :func:`scipy.optimize.least_squares` on log residuals ``log(ŷ/y)`` under a
    robust loss, with bounds and weak priors (see :mod:`plaster_model.calibration.fit`).

    Parameters
    ----------
    per : {"device_precision", "device_precision_model"}
        Group key: (device, precision, phase), or also the model (then no model factors).
    by_framework : bool
        Also split groups by framework family (``"tensorflow"``, ``"mxnet"``, ...).
    loss : {"soft_l1", "linear", "huber", "cauchy", "arctan"}
        Robust loss of :func:`scipy.optimize.least_squares`.
    n_bootstrap : int
        Bootstrap draws (rows resampled with replacement within each group; default 50: the
        intervals use the draws' standard deviation, which 50 draws estimate to about 10 %,
        and the prediction intervals are dominated by the residual scatter). 0 uses the
        Jacobian instead: parameter draws from ``N(x̂, s²·(JᵀJ)⁻¹)``.
    bootstrap : {"refit", "linearized"}
        How each resample is fitted: a full refit warm-started from the converged solution
        (default), or one Gauss-Newton step from it with all resamples in one batched solve
        (:func:`plaster_model.calibration.fit.bootstrap`; about 15× faster, but on the
        published data its parameter spreads are a median 0.63 × the refit's, and far
        narrower for parameters near a roofline kink or a bound: use it for quick looks).
    interval : float
        Coverage of the intervals, in (0, 1) (default 0.9).
    random_state : int or None
        Seed of the bootstrap.
    model_factors : bool
        Fit the per-model factors ``κ_m`` (default True; ignored with
        ``per="device_precision_model"``).
    algorithm : {"auto", "tree", "ring", "halving_doubling"}
        ``"auto"`` (default): each multi-device row is modelled with its communication
        backend (:func:`plaster_model.resolution.communication_backend`: NCCL rings,
        parameter servers, Caffe's tree, read from the row's framework and notes) and that
        backend's overlap; a flat name models every such row with it, serially.
    f_scale : float
        Soft margin of the robust loss in log-residual units (0.1 ≈ 10 %).
    dataset : str
        Catalog dataset of ``epoch_time_s`` / ``time_to_train_min`` rows.
    metrics : sequence of str, optional
        Metrics to fit (default every supported one).
    roofline : bool
        Model each row's compute with the per-operator roofline of its model on its device
        and precision (:mod:`plaster_model.estimators.step`; default True): ``η`` is then a
        fraction of that roofline, which carries across models and precisions (a model of
        memory-bound operators, or mixed precision whose element-wise kernels cannot use the
        tensor cores, runs at a lower fraction of the peak by physics, not by a fitted
        factor). False: FLOPs at the peak only (η a fraction of the peak).

    Attributes
    ----------
    params_ : pandas.DataFrame
        One row per group: ``device``, ``precision``, ``phase`` (and ``framework``/``model``
        with the finer keys), ``n_rows``, ``efficiency``, ``efficiency_low``,
        ``efficiency_high`` (``η·exp(±z·sd)`` with ``sd`` the bootstrap spread of ``log η``:
        the uncertainty of the parameter, not of a new run), ``overhead_s`` (``t_oh`` or ``t0``)
        [s], ``memory_efficiency`` (inference),
        ``scatter`` (the ``interval`` quantile of the absolute log residuals divided by the
        normal z, i.e. an sd equivalent), ``median_abs_pct_error``,
        ``frameworks``, ``peak_flops`` [FLOP/s], ``vendor``, ``kind``,
        ``latency_p99_ratio``, ``kernels_ref`` (``K̄_g``, the median operator count of an
        inference group's models; NaN for training groups).
    model_factors_ : pandas.DataFrame
        ``model``, ``phase``, ``factor`` (κ), ``factor_low``, ``factor_high``, ``n_rows``.
    parameter_table_ : pandas.DataFrame
        Every fitted parameter by name (``eta[V100|fp32|training]``, ``kappa[VGG-16|training]``,
        ``comm_efficiency[nccl|nvlink]``, ...) with its value, bounds, prior, the rows that
        inform it, its interval and a status (``fitted``, ``prior-only``, ``at bound``,
        ``unused``): :func:`plaster_model.calibration.parameters.parameter_table`.
    comm_efficiencies_ : pandas.DataFrame
        ``backend``, ``link_class``, ``comm_efficiency`` (η_comm ≤ 1, the fraction of the
        link's payload rate the exchange achieved), ``comm_efficiency_low``,
        ``comm_efficiency_high``, ``n_rows``: one row per (backend, link class) the
        multi-device training rows used.
    pooling_ : dict
        The variance components of the efficiencies shared across devices
        (:func:`plaster_model.calibration.pooling.variance_components`): ``sd_device`` (τ, the
        device-to-device sd of log η within a precision path/phase/engine), ``sd_architecture``
        (τ_a), ``sd_within_architecture`` (τ_w), ``n_classes``, ``n_cells``.
    above_peak_ : pandas.DataFrame
        ``group``, ``model``, ``fraction_of_peak`` (η·κ/r_∞ > 1) of the fitted (group, model)
        pairs that run faster than the physical peak for their counted FLOPs (flagged in
        :meth:`summary`).
    groups_ : list of tuple
        The group keys.
    residuals_ : pandas.DataFrame
        In-sample residual per fitted row: ``row`` (index in the input), ``group``,
        ``model``, ``metric``, ``measured``, ``predicted``, ``rel_error`` (ŷ/y − 1).
    errors_ : pandas.DataFrame
        In-sample ``n``, ``median_abs_pct_error``, ``p90_abs_pct_error`` per metric.
    n_rows_ : int
        Rows fitted.
    skipped_ : pandas.DataFrame
        ``row`` and ``reason`` for every input row that was not fitted.
    unmapped_ : pandas.DataFrame
        Names that could not be mapped to the catalog: ``kind``, ``text``, ``n_rows``.
    source_spread_ : dict
        Per phase, the source-to-source spread within groups (each source's median log
        residual against its group's mean, over the groups several sources measured): a new
        run is a new source, so the interval of every prediction a fitted group answers
        carries it (NaN where no group was measured by several sources: the fallback spread
        stands in). A fallback to another device or precision carries the group-to-group
        spread instead, which holds it already.
    fallback_spread_ : dict
        Per phase, the measured error sd of a fallback: every fitted group of 3 or more rows
        answered as if it had not been fitted (from the other groups, no refit), its log
        errors pooled; a fallback prediction's interval is at least that wide (at least its
        level's, :attr:`fallback_level_spread_`, where that was measured).
    fallback_level_spread_ : dict
        ``{phase: {level: sd}}``: the same, per fallback level
        (:data:`~plaster_model.calibration.lookup.FALLBACK_LEVELS`: another device at the
        same precision errs less than the same device at another precision), for levels
        with at least :data:`~plaster_model.calibration.lookup.MIN_FALLBACK_ERRORS` errors.
    setup_spread_ : numpy.ndarray
        Framework-to-framework spread of (log η, log t, log η2) within a group, from the
        fitted residuals (rms deviation of each framework's median residual from the group
        mean, over the groups measured with several frameworks; zeros when none is). Added,
        through the prediction's sensitivity to each parameter, to the interval of a
        prediction for a framework its group was not fitted on (or not named).
    theta_, theta_bootstrap_ : numpy.ndarray
        The fitted parameter vector and its bootstrap (or Jacobian) draws (layout in
        :mod:`plaster_model.calibration.fit`).
    group_time_scale_ : numpy.ndarray
        Per-group time unit of the overhead parameters in ``theta_`` [s].
    user_models_, user_devices_ : dict
        The models and devices given to :meth:`fit`.

    Examples
    --------
    >>> import plaster_model as pm                                         # doctest: +SKIP
    >>> cal = pm.calibrate("published_measurements.csv", n_bootstrap=50)  # doctest: +SKIP
    >>> c = pm.Cluster("V100", 1)                                          # doctest: +SKIP
    >>> pm.predict_training("ResNet-50", c, 64, calibration=cal).throughput_samples_s  # doctest: +SKIP
    """

    def __init__(self, per="device_precision", by_framework=False, loss="soft_l1", n_bootstrap=50,
                 interval=0.9, random_state=0, model_factors=True, algorithm="auto", f_scale=0.1,
                 dataset="ImageNet-1k", metrics=None, bootstrap="refit", roofline=True):
        self.per = per
        self.by_framework = by_framework
        self.loss = loss
        self.n_bootstrap = n_bootstrap
        self.interval = interval
        self.random_state = random_state
        self.model_factors = model_factors
        self.algorithm = algorithm
        self.f_scale = f_scale
        self.dataset = dataset
        self.metrics = metrics
        self.bootstrap = bootstrap
        self.roofline = roofline

    # ------------------------------------------------------------------ sklearn protocol
    _PARAM_NAMES = ("per", "by_framework", "loss", "n_bootstrap", "interval", "random_state",
                    "model_factors", "algorithm", "f_scale", "dataset", "metrics", "bootstrap", "roofline")

    def get_params(self, deep: bool = True) -> dict:
        """Constructor parameters (scikit-learn protocol)."""
        return {k: getattr(self, k) for k in self._PARAM_NAMES}

    def set_params(self, **params) -> "Calibration":
        """Set constructor parameters (scikit-learn protocol); returns self."""
        for k, v in params.items():
            if k not in self._PARAM_NAMES:
                raise CalibrationError(f"Calibration has no parameter {k!r}; expected one of {list(self._PARAM_NAMES)}")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        defaults = Calibration().get_params()
        changed = [f"{k}={v!r}" for k, v in self.get_params().items() if v != defaults[k]]
        head = f"Calibration({', '.join(changed)})"
        if self._fitted():
            head += f"  # fitted: {self.n_rows_} rows, {len(self.groups_)} groups"
        return head

    def _fitted(self) -> bool:
        return hasattr(self, "theta_")

    def _check_fitted(self):
        if not self._fitted():
            raise NotFittedError("this Calibration is not fitted yet: call fit(measurements) first "
                                 "(or pm.calibrate(...), or Calibration.load(path))")

    def _validate(self):
        from ..estimators.collectives import FLAT_ALGORITHMS, normalize_algorithm

        if self.per not in _PERS:
            raise ParameterError("per", self.per, message=f"per must be one of {_PERS}, got {self.per!r}")
        if self.loss not in _LOSSES:
            raise ParameterError("loss", self.loss, message=f"loss must be one of {_LOSSES}, got {self.loss!r}")
        if isinstance(self.n_bootstrap, bool) or not isinstance(self.n_bootstrap, (int, np.integer)) \
                or self.n_bootstrap < 0:
            raise ParameterError("n_bootstrap", self.n_bootstrap,
                                 message=f"n_bootstrap must be a non-negative integer, got {self.n_bootstrap!r}")
        if not (isinstance(self.interval, (int, float)) and 0 < self.interval < 1):
            raise ParameterError("interval", self.interval,
                                 message=f"interval must be a coverage in (0, 1), got {self.interval!r}")
        if self.bootstrap not in ("linearized", "refit"):
            raise ParameterError("bootstrap", self.bootstrap,
                                 message=f"bootstrap must be 'linearized' or 'refit', got {self.bootstrap!r}")
        if not (isinstance(self.f_scale, (int, float)) and self.f_scale > 0):
            raise ParameterError("f_scale", self.f_scale, message=f"f_scale must be positive, got {self.f_scale!r}")
        algo = normalize_algorithm(self.algorithm)
        if algo != "auto" and algo not in FLAT_ALGORITHMS:
            raise ParameterError("algorithm", self.algorithm,
                                 message=f"algorithm must be 'auto' (each row's backend) or a flat all-reduce "
                                         f"{sorted(FLAT_ALGORITHMS)}, got {self.algorithm!r}")
        if self.metrics is not None:
            bad = [m for m in self.metrics if m not in SUPPORTED_METRICS]
            if bad:
                raise ParameterError("metrics", bad,
                                     message=f"metrics: unknown {bad}; supported: {list(SUPPORTED_METRICS)}")
        from ..catalog.loader import active_catalog
        active_catalog().get("dataset", self.dataset)
        return algo

    # ------------------------------------------------------------------ fit
    def fit(self, measurements, y=None, *, models: Mapping | None = None,
            devices: Mapping | None = None) -> "Calibration":
        """Fit the efficiency factors to measured rows.

        Parameters
        ----------
        measurements : pandas.DataFrame or str or path-like or list
            Rows in the measurement schema, or files/directories/globs for
            :func:`plaster_model.read_measurements`.
        y : ignored
            scikit-learn compatibility.
        models : mapping of str to Model, optional
            Models the rows name that are not in the zoo (e.g. from
            :func:`plaster_model.onnx_import.model_from_onnx`).
        devices : mapping of str to Device, optional
            Devices the rows name that are not in the catalog.

        Returns
        -------
        Calibration
            self, fitted.

        Raises
        ------
        ValueError
            Invalid parameters, or no row that can be fitted (the message lists why rows
            were skipped).
        """
        algo = self._validate()
        for attr in [a for a in vars(self) if a.endswith("_") or a.startswith("_")]:
            delattr(self, attr)  # a failed refit must not leave the previous fit behind
        df = _as_frame(measurements)
        # --- LLM serving rows (metrics ttft_ms/tpot_ms) have their own model: calibration/serving.py
        from . import serving as _serving
        df, self.serving_ = _serving.split_and_fit(df)
        if df.empty and self.serving_ is not None:
            return self
        # --- LLM-training rows (parallel layouts) have their own step model: llm_training.py
        from .llm_training import fit_llm_part
        df = fit_llm_part(self, df)
        if df is None:  # only such rows: the calibration holds that part alone
            return self
        # --- whole transformer passes on one GPU (latency_ms with seq_len): transformer_latency.py
        from .transformer_latency import fit_transformer_part
        df = fit_transformer_part(self, df)
        if df is None:  # only such rows: the calibration holds that part alone
            return self
        # ---
        self.user_models_ = dict(models or {})
        self.user_devices_ = dict(devices or {})
        rows = prepare_rows(df, models=self.user_models_, devices=self.user_devices_,
                            dataset=self.dataset, algorithm=algo, by_framework=self.by_framework,
                            per=self.per, roofline=bool(self.roofline))
        use = rows.ok.copy()
        if self.metrics is not None:
            use &= np.isin(np.asarray(rows.metric, dtype=object), list(self.metrics))
        use &= np.isfinite(rows.value) & (rows.value > 0)
        self.user_models_.update(rows.row_models)
        reasons = [r if r else ("metric not selected" if not u else None) for r, u in zip(rows.reason, use)]
        self.skipped_ = pd.DataFrame({"row": [i for i, u in zip(rows.index, use) if not u],
                                      "reason": [r or "no measured value" for r, u in zip(reasons, use) if not u]})
        self.unmapped_ = _unmapped_table(rows)
        if not use.any():
            why = self.skipped_["reason"].value_counts().head(5).to_dict()
            raise CalibrationError(f"Calibration.fit: no row can be fitted; reasons: {why}")
        fr = rows.subset(use)
        model_factors = bool(self.model_factors) and self.per == "device_precision"
        # The SVDs inside least_squares are small (hundreds of rows x tens of parameters):
        # BLAS threads only fight over them, 40-60x slower on a loaded two-core box. One
        # thread inside the fit, as scikit-learn does for small problems; the user's
        # environment is untouched outside it.
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):
            layout = _fit.build_layout(fr, model_factors)
            x0 = _fit.initial_guess(fr, layout)
            x, res = _fit.solve(fr, layout, x0, loss=self.loss, f_scale=self.f_scale)
            rng = np.random.default_rng(self.random_state)
            n_draws = self.n_bootstrap if self.n_bootstrap > 0 else 200
            if self.n_bootstrap > 0:
                draws = _fit.bootstrap(fr, layout, x, self.n_bootstrap, rng, method=self.bootstrap,
                                       loss=self.loss, f_scale=self.f_scale)
            else:
                draws = _jacobian_draws(res, layout, x, n_draws, rng)
            self.theta_ = x
            self.theta_bootstrap_ = draws
            eta, t, eta2, kappa = layout.unpack(x)
            logr = log_prediction(fr, eta, t, eta2, kappa) - np.log(fr.value)
            self.setup_spread_ = _framework_spread(fr, logr, self.by_framework)
            self.source_spread_ = _source_spread(fr, logr)
        self.groups_ = list(layout.groups)
        self.group_time_scale_ = layout.tau
        self.n_rows_ = int(use.sum())
        self._store(fr, layout)
        return self

    def _store(self, rows, layout):
        """Derive the fitted tables from ``theta_`` and the fitted rows."""
        x = self.theta_
        G = len(layout.groups)
        eta, t, eta2, kappa = layout.unpack(x)
        lp = log_prediction(rows, eta, t, eta2, kappa)
        logr = lp - np.log(rows.value)
        pred = np.exp(lp)
        self.residuals_ = pd.DataFrame({
            "row": list(rows.index), "group": [_key_text(g) for g in rows.group], "model": rows.model,
            "metric": rows.metric, "measured": rows.value, "predicted": pred,
            "rel_error": pred / rows.value - 1.0})
        self.errors_ = _error_table(self.residuals_)
        z = _z(self.interval)
        B = self.theta_bootstrap_
        sdB = np.std(B, axis=0)
        # scatter: the `interval` quantile of |log residual| of each group, as an sd
        # equivalent (q/z), inflated by n/(n−k); pooled per phase when the group is small
        phase_rows = {ph: logr[np.asarray(rows.phase, dtype=object) == ph] for ph in ("training", "inference")}
        pooled = {ph: _quantile_sd(v, self.interval) for ph, v in phase_rows.items() if v.size}
        recs = []
        for i, key in enumerate(layout.groups):
            m = layout.row_group == i
            k_free = int(layout.free[3 * i:3 * i + 3].sum())
            n = int(m.sum())
            sd = _quantile_sd(logr[m], self.interval) * math.sqrt(n / (n - k_free)) \
                if n >= 5 and n > k_free + 2 else math.nan
            sd = sd if math.isfinite(sd) else pooled.get(key[2], 0.1)
            dev = _device(key[0], self.user_devices_)
            rec = {"group": _key_text(key), "device": key[0], "precision": key[1], "phase": key[2]}
            extra = list(key[3:])
            if self.by_framework:
                rec["framework"] = extra.pop(0)
            elif key[2] == "inference":
                rec["engine"] = extra.pop(0)
            if self.per == "device_precision_model":
                rec["model"] = extra.pop(0)
            ratios = rows.p99_ratio[m]
            p99 = float(np.median(ratios[np.isfinite(ratios)])) if np.isfinite(ratios).any() else math.nan
            rec.update({
                "n_rows": n,
                "efficiency": float(np.exp(x[3 * i])),
                "efficiency_low": float(np.exp(x[3 * i] - z * sdB[3 * i])),
                "efficiency_high": float(np.exp(x[3 * i] + z * sdB[3 * i])),
                "overhead_s": float(x[3 * i + 1] * layout.tau[i]),
                "memory_efficiency": float(np.exp(x[3 * i + 2])) if key[2] == "inference" else math.nan,
                "scatter": float(sd),
                "median_abs_pct_error": float(np.median(np.abs(np.expm1(logr[m]))) * 100),
                "max_devices": float(np.max(rows.n_devices[m])),
                "frameworks": ", ".join(sorted(set(np.asarray(rows.framework, dtype=object)[m]))),
                "peak_flops": float(rows.peak[m][0]),
                "vendor": getattr(dev, "vendor", "") if dev is not None else "",
                "kind": getattr(dev, "kind", "") if dev is not None else "",
                "latency_p99_ratio": p99,
                # K̄_g: the operators of the group's typical model (its per-batch overhead is
                # for that model; another model pays overhead_s·K_m/K̄_g), NaN when not scaled
                "kernels_ref": float(layout.kernels_ref[i]),
                # r̄_g: the median per-operator roofline ratio of the group's rows (η is a
                # fraction of the roofline; a query without a known model divides by this)
                "roofline_ref": float(np.median(rows.roofline[m])) if rows.roofline is not None else 1.0,
            })
            recs.append(rec)
        self.params_ = pd.DataFrame(recs)
        mf = []
        for j, name in enumerate(layout.models):
            col = 3 * G + j
            mf.append({"model": name[0], "phase": name[1], "factor": float(np.exp(x[col])),
                       "factor_low": float(np.exp(x[col] - z * sdB[col])),
                       "factor_high": float(np.exp(x[col] + z * sdB[col])),
                       "n_rows": int(np.sum(layout.row_model == j))})
        self.model_factors_ = pd.DataFrame(mf, columns=["model", "phase", "factor", "factor_low", "factor_high",
                                                        "n_rows"])
        ce = []
        for c, (backend, lclass) in enumerate(layout.comm_keys or ()):
            col = layout.comm_offset + c
            ce.append({"backend": backend, "link_class": lclass, "comm_efficiency": float(np.exp(x[col])),
                       "comm_efficiency_low": float(np.exp(x[col] - z * sdB[col])),
                       "comm_efficiency_high": float(np.exp(x[col] + z * sdB[col])),
                       "n_rows": int(np.sum(layout.row_comm == c)),
                       "max_devices": float(np.max(rows.n_devices[layout.row_comm == c]))})
        self.comm_efficiencies_ = pd.DataFrame(ce, columns=["backend", "link_class", "comm_efficiency",
                                                            "comm_efficiency_low", "comm_efficiency_high",
                                                            "n_rows", "max_devices"])
        # the sustained FLOP rate of each fitted (group, model) as a fraction of the
        # physical peak: η·κ/r_∞ (η a fraction of the per-operator roofline, r_∞ ≥ 1 its
        # time over the FLOP-only time). Above 1 the fit says the model runs faster than the
        # chip can compute its counted FLOPs (Winograd/FFT convolutions do fewer), which
        # summary() flags
        roof = rows.roofline if rows.roofline is not None else np.ones(len(eta))
        frac = eta * kappa / roof
        above = [{"group": _key_text(rows.group[k]), "model": rows.model[k], "fraction_of_peak": float(frac[k])}
                 for k in np.flatnonzero(frac > 1.0 + 1e-9)]
        self.above_peak_ = (pd.DataFrame(above, columns=["group", "model", "fraction_of_peak"])
                            .drop_duplicates(["group", "model"]).reset_index(drop=True))
        from .parameters import parameter_table
        self.parameter_table_ = parameter_table(rows, layout, x, B, self.interval)
        self._index_tables()
        self.fallback_spread_, self.fallback_level_spread_ = self._measure_fallback_spread(rows, layout)
        self._index_tables()

    def comm_efficiency_for(self, backend="nccl", link_class="other", n_devices=None) -> tuple[float, list]:
        """Communication efficiency η_comm of an exchange by ``backend`` over a link of class
        ``link_class`` (fitted, or the same backend on other links, or 1.0: stated).

        Parameters
        ----------
        backend : str
            A key of :data:`plaster_model.resolution.BACKENDS` (or ``"auto"``).
        link_class : str
            :func:`plaster_model.resolution.link_class` of the link.
        n_devices : int, optional
            Devices of the run (a note warns beyond the fitted range).

        Returns
        -------
        (float, list of str)
            η_comm in (0, 1] (fraction of the link's payload rate) and the notes.

        Examples
        --------
        >>> import plaster_model as pm                                   # doctest: +SKIP
        >>> cal.comm_efficiency_for("nccl", "nvlink")[0] <= 1            # doctest: +SKIP
        True
        """
        from ..resolution import communication_backend

        self._check_fitted()
        be, _ = communication_backend(None, None, backend)
        lc, _, _, notes = self._comm(be.name, link_class, n_devices)
        return float(math.exp(lc)), notes

    def parameters_for(self, device, precision="fp32", model=None, phase="training", n_devices=1,
                       framework=None, backend=None, link_class=None) -> dict:
        """Calibrated parameters for one configuration (what the predictors ask for).

        Parameters
        ----------
        device : str or Device
            Catalog device name (or a Device).
        precision : str
            Any spelling :func:`plaster_model.normalize_precision` accepts.
        model : str or Model, optional
            Model name (for its factor κ).
        phase : {"training", "inference"}
        n_devices : int
            Devices of the run (notes warn when beyond the fitted range).
        framework : str, optional
            Framework (used with ``by_framework=True``, and for the default backend).
        backend : str, optional
            Communication backend of a multi-device run
            (:data:`plaster_model.resolution.BACKENDS`; default from ``framework``, else NCCL).
        link_class : str, optional
            Class of the link the exchange crosses (:func:`plaster_model.resolution.link_class`).

        Returns
        -------
        dict
            ``efficiency`` (η·κ, fraction of peak), ``efficiency_interval`` ((low, high): a
            ``interval`` prediction interval for the effective efficiency of a new run —
            the bootstrap spread of η·κ combined with the group's residual scatter),
            ``notes`` (list of str), and for training ``overhead_s`` [s] and
            ``comm_efficiency``, for inference ``t0_s`` [s], ``memory_efficiency`` and
            ``latency_p99_ratio`` (p99/median of the measured latencies; NaN-free: omitted
            when unknown).
        """
        from ..catalog.objects import normalize_precision

        self._check_fitted()
        if phase not in ("training", "inference"):
            raise ParameterError("phase", phase, message=f"phase must be 'training' or 'inference', got {phase!r}")
        dev = _device(device, self.user_devices_)
        dev_name = getattr(dev, "name", device)
        prec = normalize_precision(precision)
        model_name = getattr(model, "name", model)
        peak = None
        if dev is not None:
            try:
                peak = dev.peak(prec)
            except ValueError:
                peak = None
        key, engine_note = self._concrete(self._key(dev_name, prec, phase, model_name, framework))
        nat, natB, scatter, extra, notes, src, level = self._resolve(key, peak, dev)
        notes = notes + engine_note
        lk, lkB, extra_k, knotes = self._kappa(model_name, phase) if model_name else (
            0.0, 0.0, self._sd_kappa if len(self.model_factors_) else 0.0, [])
        log_eff = nat[0] + lk
        setup = self._setup_sd(src, phase, framework)
        sd = math.sqrt(float(np.var(natB[:, 0] + lkB)) + scatter ** 2 + setup[0] ** 2 + extra[0] ** 2
                       + extra_k ** 2)
        if level is None or level in WITHIN_GROUP_LEVELS:
            sd = math.hypot(sd, self._source_sd(phase))  # a new run is a new source
        # (a fallback to another device or precision: its group-to-group spread already holds
        # the source-to-source one, those groups were measured by other sources)
        if tuple(key) not in self._gidx:  # a fallback: at least the measured fallback spread
            sd = max(sd, self._fallback_sd(phase, level))
        # η is a fraction of the per-operator roofline: the fraction of the peak divides it
        # by the model's roofline ratio r_∞ on this device and precision
        r_inf, rnote = self._roofline(model, dev, prec, phase, src)
        log_eff -= math.log(r_inf)
        notes = notes + rnote
        z = _z(self.interval)
        out = {"efficiency": float(math.exp(log_eff)),
               "efficiency_interval": (float(math.exp(log_eff - z * sd)), float(math.exp(log_eff + z * sd))),
               "notes": notes + knotes}
        if phase == "training":
            out["overhead_s"] = float(nat[1])
            # issue 22: a per-step cost is the framework's (a TF 1.x session step is not a Caffe
            # solver step): a run of a family the group was not fitted on takes the overhead's
            # prior (0 s), the framework-to-framework spread already in its interval
            fam = framework_family(framework) if framework else None
            fitted = self._frameworks_of(src, phase)
            if fam and fitted and fam not in fitted and out["overhead_s"] > 0:
                out["notes"].append(f"per-iteration overhead {out['overhead_s'] * 1e3:.3g} ms was fitted on "
                                    f"{', '.join(sorted(fitted))} runs: not charged to {fam} (prior 0 s)")
                out["overhead_s"] = 0.0
            if n_devices and n_devices > 1:
                from ..resolution import communication_backend

                be, _ = communication_backend(framework, None, backend)
                out["comm_efficiency"], cnotes = self.comm_efficiency_for(be.name, link_class or "other", n_devices)
                out["notes"] += cnotes
            else:
                out["comm_efficiency"] = 1.0
        else:
            kernels = getattr(self._model(model), "kernels", None) if model is not None else None
            ratio, onote = self._operator_ratio(src, phase, kernels)
            out["t0_s"] = float(nat[1]) * ratio
            out["notes"] += onote
            out["memory_efficiency"] = float(math.exp(nat[2]))
            # with the per-operator roofline the activation traffic is inside r_∞ (the
            # calibration's rows carry none): the predictors must not count it again
            out["activation_in_efficiency"] = bool(getattr(self, "roofline", False))
            i = self._gidx.get(tuple(key))
            if i is not None and math.isfinite(self.params_.iloc[i]["latency_p99_ratio"]):
                out["latency_p99_ratio"] = float(self.params_.iloc[i]["latency_p99_ratio"])
        return out

    # ------------------------------------------------------------------ predict
    def predict(self, rows, *, models: Mapping | None = None, devices: Mapping | None = None) -> pd.DataFrame:
        """Predict the ``value`` of measurement-schema rows, with an interval.

        Parameters
        ----------
        rows : pandas.DataFrame or path
            Rows in the measurement schema (``value`` may be absent; where present it is
            kept as ``measured_value``).
        models, devices : mapping, optional
            Extra user models/devices (those given to :meth:`fit` are remembered).

        Returns
        -------
        pandas.DataFrame
            A copy of ``rows`` with ``value`` (the prediction, unit set by ``metric``),
            ``value_low``/``value_high`` (the ``interval`` prediction interval: bootstrap
            spread of the parameters combined with the group's residual scatter, and the
            device-to-device / model-to-model spread where a fallback was used),
            ``reason`` (why a row is NaN, else None), ``calibration_group`` (the fitted
            group(s) used), ``calibration_fallback`` (True where the row's own group was
            not fitted and a similar one stood in) and ``calibration_notes``.
        """
        # -- LLM-training rows (parallel layouts): llm_training.py predicts them
        from .llm_training import predict_llm_part
        both = predict_llm_part(self, _as_frame(rows), lambda r: self.predict(r, models=models, devices=devices))
        if both is not None:
            return both
        df = _as_frame(rows)
        # --- whole transformer passes (calibration/transformer_latency.py)
        from .transformer_latency import predict_transformer_part
        both = predict_transformer_part(self, df, lambda r: self.predict(r, models=models, devices=devices))
        if both is not None:
            return both
        # --- LLM serving rows: predicted by the serving model (calibration/serving.py)
        from . import serving as _serving
        if _serving.is_serving_rows(df).any():
            return _serving.predict_with(self, df, lambda rest: self.predict(rest, models=models, devices=devices))
        # ---
        self._check_fitted()
        out = df.copy()
        if "value" in out.columns:
            out["measured_value"] = out["value"]
        r = prepare_rows(df, models={**self.user_models_, **(models or {})},
                         devices={**self.user_devices_, **(devices or {})}, dataset=self.dataset,
                         algorithm=self.algorithm, by_framework=self.by_framework, per=self.per,
                         roofline=bool(getattr(self, "roofline", False)))
        n = len(df)
        value, lo, hi = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
        groups, notes = [None] * n, [None] * n
        fallback = [None] * n
        reasons = list(r.reason)
        idx = np.flatnonzero(r.ok)
        if idx.size:
            sub = r if idx.size == len(r.ok) else r.take(idx)
            m = idx.size
            B = len(self.theta_bootstrap_)
            # every look-up depends on the row only through this key: evaluate each distinct
            # key once, then spread its parameters to the rows with numpy (rows of one
            # configuration at many batches share everything but the batch)
            ukeys, inv = _unique_keys(r, idx)
            U = len(ukeys)
            Pu, PBu, exu, scu = np.zeros((U, 4)), np.zeros((B, U, 4)), np.zeros((U, 4)), np.zeros(U)
            lvu, srcu, txtu = [None] * U, [None] * U, [None] * U
            all_devices = {**self.user_devices_, **(devices or {})}
            dev_cache, res_cache = {}, {}
            first = idx[np.unique(inv, return_index=True)[1]]  # a row of each key
            for u, i in enumerate(first):
                dname = r.device[i]
                dk = dname if isinstance(dname, str) or dname is None else id(dname)
                if dk not in dev_cache:
                    dev_cache[dk] = _device(dname, all_devices)
                dev = dev_cache[dk]
                ck = (r.group[i], r.model[i], r.framework[i])
                if ck not in res_cache:
                    nat, natB, sc, ex, nts, src, level = self._resolve(r.group[i], r.peak[i], dev)
                    lk, lkB, exk, kn = self._kappa(r.model[i], r.phase[i])
                    ex = np.hypot(ex, self._setup_sd(src, r.phase[i], r.framework[i]))
                    res_cache[ck] = (nat, natB, sc, ex, exk, "; ".join(nts + kn), src, level, lk, lkB)
                nat, natB, sc, ex, exk, txt, src, level, lk, lkB = res_cache[ck]
                Pu[u, :3], Pu[u, 3] = nat, lk
                PBu[:, u, :3] = natB
                PBu[:, u, 3] = lkB
                exu[u] = (*ex, exk)
                ratio, onote = self._operator_ratio(src, r.phase[i], r.kernels[i])
                if ratio != 1.0:
                    Pu[u, 1] *= ratio
                    PBu[:, u, 1] *= ratio
                    txt = txt + "; " + "; ".join(onote)
                if r.comm_key[i] is not None:
                    lc, lcB, exc, cn = self._comm(*r.comm_key[i], r.n_devices[i])
                    Pu[u, 2], PBu[:, u, 2], exu[u, 2] = lc, lcB, exc
                    txt = txt + "; " + "; ".join(cn)
                if r.assumed and r.assumed[i]:
                    txt = txt + "; " + r.assumed[i]
                scu[u], lvu[u], srcu[u], txtu[u] = sc, level, src, txt
            P, extra_sd, scat = Pu[inv], exu[inv], scu[inv]
            fallback = np.array(fallback, dtype=object)
            groups, notes = np.array(groups, dtype=object), np.array(notes, dtype=object)
            fallback[idx] = np.array([lv is not None for lv in lvu], dtype=object)[inv]
            groups[idx] = np.array(srcu, dtype=object)[inv]
            notes[idx] = np.array(txtu, dtype=object)[inv]
            lp, J = log_prediction(sub, np.exp(P[:, 0]), P[:, 1], np.exp(P[:, 2]), np.exp(P[:, 3]), jacobian=True)
            # the parameter spread through the draws: once per distinct (key, batch,
            # host-transfer time), the only row fields a row's prediction reads beyond its key
            kb, kx = pd.factorize(sub.batch)[0], pd.factorize(sub.extra_s)[0]
            inv_e = pd.factorize((inv.astype(np.int64) * (kb.max() + 1) + kb) * (kx.max() + 1) + kx)[0]
            first_e = np.unique(inv_e, return_index=True)[1]
            PBe = PBu[:, inv[first_e]]
            lpB = log_prediction(sub.take(first_e), np.exp(PBe[..., 0]), PBe[..., 1], np.exp(PBe[..., 2]),
                                 np.exp(PBe[..., 3]))
            var_draws = np.nanvar(lpB, axis=0)[inv_e] if lpB.size else np.zeros(m)
            # parameter spread + residual scatter + (fallbacks) group-to-group spread of each
            # parameter and (unseen models) model-to-model spread, through d log ŷ / d θ
            var = (var_draws + scat ** 2 + (J[:, 0] * extra_sd[:, 0]) ** 2
                   + (J[:, 1] * P[:, 1] * extra_sd[:, 1]) ** 2 + (J[:, 2] * extra_sd[:, 2]) ** 2
                   + (J[:, 3] * extra_sd[:, 3]) ** 2)
            # a new run is a new source: the source-to-source spread within groups. A fallback to
            # another device or precision adds the group-to-group spread, which already holds it
            # (those groups were measured by other sources); every fallback is at least as
            # uncertain as fallbacks measured on the fitted groups
            fb = np.array([lv is not None for lv in lvu], dtype=bool)[inv]
            between = np.array([lv is not None and lv not in WITHIN_GROUP_LEVELS for lv in lvu], dtype=bool)[inv]
            phase_u = [r.phase[i] for i in first]
            var = var + np.where(between, 0.0, np.array([self._source_sd(ph) for ph in phase_u])[inv] ** 2)
            floor = np.array([self._fallback_sd(ph, lv) for ph, lv in zip(phase_u, lvu)])[inv] ** 2
            var = np.where(fb, np.maximum(var, var_draws + floor), var)
            # the shared level's error was measured directly (every fitted device answered from
            # the others): where it was, that measurement is the device term of the interval,
            # instead of the sum of the modelled spreads (which counts the overhead and memory
            # terms on top of an η spread that already absorbed them)
            measured = np.array([lv == "shared" and lv in getattr(self, "fallback_level_spread_", {}).get(ph, {})
                                 for ph, lv in zip(phase_u, lvu)], dtype=bool)[inv]
            var = np.where(measured, var_draws + scat ** 2 + floor + (J[:, 3] * extra_sd[:, 3]) ** 2, var)
            z = _z(self.interval)
            half = z * np.sqrt(var)
            value[idx] = np.exp(lp)
            lo[idx] = np.exp(lp - half)
            hi[idx] = np.exp(lp + half)
            bad = idx[~np.isfinite(lp)]
            for i in bad:
                reasons[i] = "prediction is not finite"
        out["value"] = value
        out["value_low"] = lo
        out["value_high"] = hi
        out["reason"] = reasons
        out["calibration_group"] = groups
        out["calibration_notes"] = notes
        out["calibration_fallback"] = fallback
        return out

    # ------------------------------------------------------------------ reporting
    def summary(self) -> str:
        """The fitted table (one line per group), model factors and in-sample errors."""
        self._check_fitted()
        p = self.params_
        lines = [f"{self!r}", "",
                 f"{'group':<34} {'rows':>5} {'η':>7} {'90% CI':>15} {'overhead':>10} "
                 f"{'η_mem':>7} {'scatter':>8} {'med|err|':>8}"]
        for _, g in p.iterrows():
            ci = f"[{g['efficiency_low']:.3g}, {g['efficiency_high']:.3g}]"
            oh = _fmt_s(g["overhead_s"])
            me = "" if not math.isfinite(g["memory_efficiency"]) else f"{g['memory_efficiency']:.3g}"
            lines.append(f"{g['group']:<34} {g['n_rows']:>5d} {g['efficiency']:>7.3g} {ci:>15} {oh:>10} "
                         f"{me:>7} {g['scatter']:>8.3g} {g['median_abs_pct_error']:>7.3g}%")
        if len(self.comm_efficiencies_):
            lines += ["", "communication efficiency η_comm per (backend, link class), of the payload rate:"]
            for _, c in self.comm_efficiencies_.iterrows():
                lines.append(f"  {c['backend'] + ' over ' + c['link_class']:<32} {c['comm_efficiency']:.3g}  "
                             f"[{c['comm_efficiency_low']:.3g}, {c['comm_efficiency_high']:.3g}]  ({c['n_rows']} rows)")
        if len(self.model_factors_):
            lines += ["", "model factors κ (effective efficiency = η·κ):"]
            for _, m in self.model_factors_.iterrows():
                lines.append(f"  {m['model'] + ' (' + m['phase'] + ')':<34} {m['factor']:.3g}  "
                             f"[{m['factor_low']:.3g}, {m['factor_high']:.3g}]"
                             f"  ({m['n_rows']} rows)")
        pt = getattr(self, "parameter_table_", None)
        if pt is not None and len(pt):
            counts = pt["status"].value_counts()
            lines += ["", "parameters: " + ", ".join(f"{v} {k}" for k, v in counts.items())
                      + " (parameter_table_: name, value, bounds, prior, rows informing it, interval)"]
            for _, q in pt[pt["status"] == "at bound"].iterrows():
                lines.append(f"  AT BOUND {q['name']} = {q['value']:.4g} (bounds [{q['lower']:.3g}, {q['upper']:.3g}], "
                             f"{q['n_rows']} rows): the data ask for more than the physical limit")
            po = pt[pt["status"] == "prior-only"]
            if len(po):
                lines.append(f"  prior-only (no row informs them; value and interval are the prior's): "
                             + ", ".join(po["name"].head(12)) + (" ..." if len(po) > 12 else ""))
        ab = getattr(self, "above_peak_", None)
        if ab is not None and len(ab):
            lines += ["", "ABOVE PEAK: fitted runs faster than the device's peak for the counted FLOPs "
                          "(η·κ/r_∞ > 1; fewer FLOPs than the zoo counts, e.g. Winograd, or a wrong peak):"]
            for _, a in ab.iterrows():
                lines.append(f"  {a['model']} on {a['group']}: {a['fraction_of_peak']:.3g} × the peak")
        pool = getattr(self, "pooling_", None)
        if pool:
            lines += ["", "shared across devices (an unseen device: the random-effects mean of its precision path, "
                          "its architecture's deviation kriged by launch year, this spread in its interval):",
                      f"  device-to-device sd of log η {pool['sd_device']:.3g} ({pool['n_classes']} classes), "
                      f"within-architecture {pool['sd_within_architecture']:.3g}, "
                      f"between architectures {pool['sd_architecture']:.3g} ({pool['n_cells']} cells)"]
        lines += ["", "in-sample absolute % error:"]
        for _, e in self.errors_.iterrows():
            lines.append(f"  {e['metric']:<20} n={e['n']:<4d} median {e['median_abs_pct_error']:.3g} %  "
                         f"p90 {e['p90_abs_pct_error']:.3g} %")
        if len(self.skipped_):
            lines += ["", f"{len(self.skipped_)} row(s) not fitted:"]
            for reason, k in self.skipped_["reason"].value_counts().items():
                lines.append(f"  {k:>4} × {reason}")
        if len(self.unmapped_):
            lines += ["", "not mapped to the catalog:"]
            for _, u in self.unmapped_.iterrows():
                lines.append(f"  {u['kind']} {u['text']!r} ({u['n_rows']} rows)")
        return "\n".join(lines)

    # ------------------------------------------------------------------ persistence
    def save(self, path) -> None:
        """Write the fitted calibration to ``path`` (YAML for .yaml/.yml, else JSON)."""
        from .io import save_calibration
        if not hasattr(self, "llm_training_") and getattr(self, "transformer_latency_", None) is None:
            self._check_fitted()  # an LLM-training- or transformer-latency-only calibration saves that part
        save_calibration(self, path)

    @classmethod
    def load(cls, path) -> "Calibration":
        """Read a calibration written by :meth:`save`."""
        from .io import load_calibration
        return load_calibration(path)


def calibrate(measurements, *, models=None, devices=None, **kwargs) -> Calibration:
    """Fit a calibration: ``Calibration(**kwargs).fit(measurements, models=models, devices=devices)``.

    Parameters
    ----------
    measurements : pandas.DataFrame or str or path-like or list
        Rows in the measurement schema, or files, directories or globs read with
        :func:`plaster_model.read_measurements`.
    models : mapping of str to Model, optional
        Models the rows name that are not in the zoo.
    devices : mapping of str to Device, optional
        Devices the rows name that are not in the catalog.
    **kwargs
        Parameters of :class:`Calibration` (``n_bootstrap``, ``per``, ``loss``, ...).

    Returns
    -------
    Calibration
        The fitted calibration.

    Examples
    --------
    Rows generated at a known efficiency (ResNet-50 on one V100 at 0.5 of its 15.7 TFLOPS,
    no overhead: ``0.5·15.7e12 / (3·7.8e9)`` = 335.5 img/s at any batch) fit back to it:

    >>> import pandas as pd, plaster_model as pm
    >>> rows = pd.DataFrame([{"source": "example", "model": "ResNet-50", "framework": "PyTorch",
    ...                       "device": "V100", "n_devices": 1, "devices_per_node": 1,
    ...                       "precision": "fp32", "batch_per_device": b, "phase": "training",
    ...                       "metric": "throughput_img_s", "value": 0.5 * 15.7e12 / (3 * 7.8e9)}
    ...                      for b in (32, 64, 128)])
    >>> cal = pm.calibrate(rows, n_bootstrap=0)
    >>> round(cal.parameters_for("V100", "fp32", "ResNet-50", phase="training")["efficiency"], 2)
    0.5

    The fitted group's ``efficiency`` is a fraction of the per-operator roofline, which for
    ResNet-50 on a V100 in fp32 is 1.22 × the FLOP-only time (``roofline_ref``): 0.5 × 1.22 = 0.61.

    >>> round(float(cal.params_["efficiency"].iloc[0]), 2), round(float(cal.params_["roofline_ref"].iloc[0]), 2)
    (0.61, 1.22)
    """
    return Calibration(**kwargs).fit(measurements, models=models, devices=devices)


# ---------------------------------------------------------------------- helpers
def _as_frame(measurements) -> pd.DataFrame:
    if isinstance(measurements, pd.DataFrame):
        return measurements
    if isinstance(measurements, (str, os.PathLike, list, tuple)):
        from ..io.readers import read_measurements
        return read_measurements(measurements)
    raise ParameterTypeError("measurements", measurements,
                             message=f"measurements must be a DataFrame or a path/glob/directory, got {type(measurements).__name__}")


def _unique_keys(r, idx):
    """The distinct look-up keys of the rows ``idx`` of the RowTable ``r`` and each row's
    index into them: rows of one configuration (:func:`~.rows.prepare_rows`) share group,
    model, framework, operator count, communication key and size, stated assumption and
    device, so one key each."""
    if getattr(r, "config", None) is not None:
        inv = pd.factorize(np.asarray(r.config)[idx])[0]
        return list(range(int(inv.max()) + 1 if inv.size else 0)), inv

    def clean(v):
        return None if isinstance(v, float) and v != v else v  # NaN != NaN: one key for all

    assumed = r.assumed if r.assumed else [None] * len(r.ok)
    index: dict = {}
    inv = np.empty(len(idx), dtype=int)
    for k, i in enumerate(idx):
        comm = r.comm_key[i]
        key = (r.group[i], r.model[i], r.framework[i], clean(float(r.kernels[i])), comm,
               float(r.n_devices[i]) if comm is not None else None, assumed[i],
               r.device[i] if isinstance(r.device[i], str) or r.device[i] is None else id(r.device[i]))
        inv[k] = index.setdefault(key, len(index))
    return list(index), inv


def _cell_spread(groups, labels, logr) -> float:
    """rms deviation of each (group, label) cell's median log residual from its group's mean
    (``k/(k−1)`` for ``k`` cells), over the groups whose rows carry several labels; 0 when
    none does."""
    cells: dict = {}
    for g, f, r in zip(groups, labels, logr):
        cells.setdefault(tuple(g), {}).setdefault(f, []).append(r)
    dev2, n = 0.0, 0
    for by_label in cells.values():
        if len(by_label) < 2:
            continue
        med = np.array([np.median(v) for v in by_label.values()])
        dev2 += float(np.sum((med - med.mean()) ** 2)) * len(med) / (len(med) - 1)
        n += len(med)
    return math.sqrt(dev2 / n) if n else math.nan


def _framework_spread(rows, logr, by_framework: bool) -> np.ndarray:
    """How far one framework's runs sit from another's on the same group, from the fitted
    residuals (no refit): :func:`_cell_spread` over (group, framework) cells. It is charged to
    log η and log t (a framework's kernels and its per-iteration overhead; the residuals
    cannot tell them apart), not to η2. Zeros with ``by_framework`` (frameworks have their
    own groups then)."""
    if by_framework:
        return np.zeros(3)
    sd = _cell_spread(rows.group, rows.framework, logr)
    sd = 0.0 if math.isnan(sd) else sd
    return np.array([sd, sd, 0.0])


def _source_spread(rows, logr) -> dict:
    """Per phase, how far one source's runs sit from another's on the same group (different
    software versions, servers, input pipelines): :func:`_cell_spread` over (group, source)
    cells. A new run is a new source, so every prediction interval carries it."""
    phase = np.asarray(rows.phase, dtype=object)
    src = [s or "" for s in rows.source] if rows.source else [""] * len(logr)
    out = {}
    for ph in ("training", "inference"):
        m = phase == ph
        out[ph] = _cell_spread([g for g, k in zip(rows.group, m) if k], [s for s, k in zip(src, m) if k],
                               logr[m]) if m.any() else math.nan
    return out


def _quantile_sd(x, level: float) -> float:
    """The ``level`` quantile of |x| divided by the normal ``z`` of that coverage: an sd that
    makes ``±z·sd`` cover the same fraction of the residuals, heavy tails included."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    return float(np.quantile(np.abs(x), level) / _z(level)) if x.size else math.nan


def _error_table(res: pd.DataFrame) -> pd.DataFrame:
    recs = []
    for metric, g in res.groupby("metric", sort=True):
        e = np.abs(g["rel_error"].to_numpy()) * 100
        recs.append({"metric": metric, "n": int(e.size), "median_abs_pct_error": float(np.median(e)),
                     "p90_abs_pct_error": float(np.percentile(e, 90))})
    return pd.DataFrame(recs, columns=["metric", "n", "median_abs_pct_error", "p90_abs_pct_error"])


def _unmapped_table(rows) -> pd.DataFrame:
    recs = [{"kind": "interconnect", "text": u["interconnect"], "n_rows": u["n_rows"]} for u in rows.unmapped]
    for kind, prefix in (("model", "model "), ("device", "device ")):
        counts: dict[str, int] = {}
        for r in rows.reason:
            if r and r.startswith(prefix) and ("not in the zoo" in r or "not in the catalog" in r):
                name = r.split("'")[1]
                counts[name] = counts.get(name, 0) + 1
        recs += [{"kind": kind, "text": k, "n_rows": v} for k, v in counts.items()]
    return pd.DataFrame(recs, columns=["kind", "text", "n_rows"])


def _jacobian_draws(res, layout, x, n, rng) -> np.ndarray:
    """Draws from N(x̂, s²·(JᵀJ)⁻¹) over the free parameters (fixed ones stay put)."""
    J = res.jac
    free = np.flatnonzero(layout.free)
    n_data = J.shape[0]
    dof = max(n_data - free.size, 1)
    s2 = float(np.sum(res.fun ** 2) / dof)
    cov = s2 * np.linalg.pinv(J.T @ J)
    draws = np.tile(x, (n, 1))
    draws[:, free] = rng.multivariate_normal(x[free], cov, size=n, method="svd", check_valid="ignore")
    lo, hi = _fit._bounds(layout)
    return np.clip(draws, lo, hi)


def _fmt_s(t) -> str:
    if not math.isfinite(t):
        return ""
    from ..units import format_si
    return format_si(t, "s")
