"""Calibration of the parallel LLM-training step model on measured iteration times.

Rows with a parallel layout (the shared ``data/llm_training`` tables: vTrain's single-node
Megatron-DeepSpeed runs, Korthikanti et al.'s Selene iterations) are predicted by
:func:`plaster_model.parallel.step.llm_step`, whose physical parameters are fitted here
together, by robust least squares on log time with log-normal priors:

================= ============================================ ==============
parameter         meaning                                      prior (median, sd of log)
================= ============================================ ==============
``eta_c``         GEMM / attention efficiency of the peak      0.6, 0.5
``eta_m``         element-wise memory-bandwidth efficiency     0.7, 0.5
``tau_layer``     host launch time of a layer's forward pass   200 us, 1.5
``eta_tp``        collective efficiency of the scale-up link   0.7, 0.5
                  (every group inside an NVLink/IF/ICI domain)
``eta_dp``        collective efficiency of the network         0.7, 0.5
                  (every group that crosses nodes)
``k_bubble``      scale of the pipeline bubble                 1, 0.3
``k_recompute``   scale of the recomputed forward              1, 0.3
``tau0``          per-step overhead [s]                        10 ms, 1.5
``tau_coll``      fixed cost of one collective / p2p call      20 us, 1.0
================= ============================================ ==============

Each source weighs the same in the fit (vTrain's 1,440 rows do not drown Korthikanti's 8). The
interval is the fitted rows' spread of log errors (the ``interval`` quantiles); the parameters'
own spread (Jacobian at the optimum) is reported in ``log_sd_``. Nothing is fitted by hand to
single rows. A parameter the rows do not inform — a 20 % change of it moves no row's predicted
time by more than :data:`INFORMED_LOG_CHANGE` (``eta_dp`` on the shared rows, whose only
network traffic is Korthikanti's pipeline sends, about 1 % of a step) — is held at its prior
median instead of drifting to a bound (``held_at_prior_``).

:class:`~plaster_model.Calibration` calls :func:`fit_llm_part` / :func:`predict_llm_part` from its
``fit`` / ``predict`` and saves the part with itself (``llm_training`` in its file).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..errors import CalibrationError
from ..parallel.step import DEFAULT_EFFICIENCIES, llm_step, model_terms

__all__ = ["LLMTrainingFit", "PRIORS", "is_llm_row", "split_llm_rows", "fit_llm_part", "predict_llm_part",
           "row_setup", "subset_setup"]

#: Prior median and sd of the log of each parameter (module table).
PRIORS = {"eta_c": (0.6, 0.5), "eta_m": (0.7, 0.5), "tau_layer": (2e-4, 1.5), "eta_tp": (0.7, 0.5),
          "eta_dp": (0.7, 0.5), "k_bubble": (1.0, 0.3), "k_recompute": (1.0, 0.3), "tau0": (0.01, 1.5),
          "tau_coll": (2e-5, 1.0)}
_BOUNDS = {"eta_c": (0.02, 1.0), "eta_m": (0.02, 1.0), "tau_layer": (1e-8, 1e-2), "eta_tp": (0.02, 1.0),
           "eta_dp": (0.02, 1.0), "k_bubble": (0.25, 4.0), "k_recompute": (0.25, 4.0), "tau0": (1e-6, 30.0),
           "tau_coll": (1e-7, 1e-2)}
PARAMS = tuple(PRIORS)
#: The typical log error of one row (scales the data residuals against the priors).
_ROW_SD = 0.1
#: A parameter is fitted only when a 20 % change of it moves some row's predicted time by more
#: than this (in log); otherwise the rows do not inform it and it stays at its prior median.
INFORMED_LOG_CHANGE = 0.01


def is_llm_row(df: pd.DataFrame) -> np.ndarray:
    """Training iteration-time rows that carry a parallel layout (``tensor_parallel``,
    ``pipeline_parallel`` and ``data_parallel`` given; serving rows with a TP size are not these)."""
    cols = ("tensor_parallel", "pipeline_parallel", "data_parallel")
    if any(c not in df.columns for c in cols):
        return np.zeros(len(df), dtype=bool)
    ok = np.ones(len(df), dtype=bool)
    for c in cols:
        ok &= pd.to_numeric(df[c], errors="coerce").notna().to_numpy()
    if "phase" in df.columns:
        ok &= (df["phase"].astype(str) == "training").to_numpy()
    if "metric" in df.columns:
        # the step model predicts iteration times; other metrics of layout rows (NeuSight's
        # latency of a 4-GPU run) stay with the rest of the calibration, which states why it skips them
        ok &= (df["metric"].astype(str) == "time_per_iter_s").to_numpy()
    return ok


def split_llm_rows(df: pd.DataFrame):
    """``(llm_rows, other_rows)`` of a measurement frame."""
    m = is_llm_row(df)
    return df[m], df[~m]


# ------------------------------------------------------------------------------ row set-up
def _row_model(row):
    """The row's transformer: the zoo's (the shared models are aliases there), else one built
    from the row's architecture columns as a GPT (Megatron's)."""
    from ..catalog.loader import active_catalog
    from ..catalog.objects import Model

    try:
        m = active_catalog().get("model", row["model"])
        if getattr(m, "transformer", None) is not None:
            return m
    except (KeyError, LookupError, ValueError):
        pass
    h, L, a = row.get("hidden_size"), row.get("num_layers"), row.get("num_attention_heads")
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in (h, L, a)):
        raise CalibrationError(f"model {row['model']!r}: not a zoo transformer and the row has no architecture")
    f = row.get("ffn_hidden_size")
    f = 4 * int(h) if f is None or (isinstance(f, float) and math.isnan(f)) else int(f)
    # vocabulary: not stated by either source; vTrain's simulator assumes 50,257, Megatron pads
    # GPT-2's to 51,200 (an assumption either way: the output layer is < 4 % of the FLOPs here)
    vocab = 50257 if "vTrain" in str(row["model"]) else 51200
    return Model.from_hf_config({"model_type": "gpt2", "n_layer": int(L), "n_embd": int(h), "n_head": int(a),
                                 "n_inner": f, "vocab_size": vocab, "n_positions": int(row["seq_len"])},
                                name=str(row["model"]), seq_len=int(row["seq_len"]))


def _row_cluster(device, n_devices, devices_per_node):
    """A catalog system of the row's device and node size (``n_devices`` of it)."""
    from ..catalog.loader import active_catalog, list_systems
    from ..cluster import Cluster

    dev = active_catalog().get("device", device)
    g = int(devices_per_node) if devices_per_node and not math.isnan(devices_per_node) else 8
    sysf = list_systems()
    cand = sysf[(sysf["device"] == dev.name) & (sysf["devices_per_node"] == g)]
    if not len(cand):
        raise CalibrationError(f"no catalog system of {g} × {dev.name} to place the row's GPUs on")
    # prefer an InfiniBand-connected DGX/HGX (where the sources ran)
    name = sorted(cand["name"], key=lambda s: (not s.startswith(("DGX", "HGX")), s))[0]
    return Cluster.from_system(name, n_devices=int(n_devices))


def row_setup(rows: pd.DataFrame) -> dict:
    """Arrays of :func:`llm_step` (terms, hardware, plan) for measurement rows, with the
    row's model FLOPs per token (built once; the fit evaluates them many times)."""
    from ..estimators.llm_memory import RECOMPUTE_CODES
    from ..estimators.transformer import model_flops_per_token
    from ..parallel.predict import hardware_arrays, precision_recipe

    n = len(rows)
    terms_cache, cl_cache = {}, {}
    term_rows, hw_parts = [], []
    # iterrows deep-copies the frame's attrs (the reader's provenance) into every row
    # Series: that copying was most of the fit's time. The rows need only their values.
    plain = rows.copy(deep=False)
    plain.attrs = {}
    for i, (_, r) in enumerate(plain.iterrows()):
        key = (r["model"], int(r["seq_len"]))
        if key not in terms_cache:
            m = _row_model(r)
            terms_cache[key] = (vars(model_terms(m.transformer)), model_flops_per_token(m.transformer, key[1]))
        term_rows.append(terms_cache[key][0])
        ck = (r["device"], int(r["n_devices"]), r.get("devices_per_node"))
        if ck not in cl_cache:
            cl_cache[ck] = _row_cluster(*ck)
        c = cl_cache[ck]
        rec = precision_recipe(c.device, "mixed" if r["precision"] in ("mixed", None) else r["precision"], "fp32")
        cp = int(r.get("context_parallel", 1) or 1) if "context_parallel" in rows.columns else 1
        hw = hardware_arrays(c, rec, r["tensor_parallel"], r["pipeline_parallel"], r["data_parallel"], cp, 1)
        hw.pop("links")
        hw_parts.append(hw)
    keys_t = [k for k in term_rows[0] if k != "name"]
    terms = {k: np.array([t[k] for t in term_rows]) for k in keys_t}
    hw = {k: np.array([float(np.asarray(h[k])) for h in hw_parts]) for k in hw_parts[0]}
    col = lambda c, d: rows[c].to_numpy() if c in rows.columns else np.full(n, d)  # noqa: E731
    gb = col("global_batch", 1).astype(float)
    dp = col("data_parallel", 1).astype(float)
    mb = col("micro_batch", 1).astype(float)
    plan = {"tp": col("tensor_parallel", 1).astype(float), "pp": col("pipeline_parallel", 1).astype(float), "dp": dp,
            "cp": np.ones(n), "ep": np.ones(n), "sp": col("sequence_parallel", 0).astype(float) > 0,
            "zero": col("zero_stage", 0).astype(float), "mb": mb, "m": np.maximum(1.0, gb / (mb * dp)),
            "v": col("virtual_pipeline_stages", 1).astype(float),
            "rec": np.array([RECOMPUTE_CODES.get(str(x), 2) for x in col("recompute", "full")], dtype=float),
            "flash": np.array([str(x) == "flash" for x in col("attention", "materialized")]),
            "seq_len": col("seq_len", 2048).astype(float), "w_bytes": 2.0, "o_bytes": 12.0,
            "g_bytes": np.array([2.0 if str(g) in ("fp16", "bf16") else 4.0
                                 for g in col("grad_reduce_precision", "fp32")]),
            "act_bytes": 2.0, "comm_bytes": 2.0,
            # Megatron-LM of 2021-22 and vTrain's runs (use_gradient_bucket=false): no overlap
            "dp_overlap": np.zeros(n, dtype=bool), "reserve": 0.0}
    fpt = np.array([terms_cache[(r, int(s))][1] for r, s in zip(rows["model"], rows["seq_len"])])
    devices = sorted({c.device.name for c in cl_cache.values()})
    return {"terms": terms, "hw": hw, "plan": plan, "model_flops_per_token": fpt, "devices": devices}


def subset_setup(setup: dict, mask) -> dict:
    """The rows ``mask`` of a :func:`row_setup`."""
    m = np.asarray(mask)
    n = len(setup["model_flops_per_token"])
    cut = lambda v: v[m] if isinstance(v, np.ndarray) and v.ndim and v.shape[0] == n else v  # noqa: E731
    return {k: ({kk: cut(vv) for kk, vv in v.items()} if isinstance(v, dict) else cut(v)) for k, v in setup.items()}


def _times(setup, eff):
    return llm_step(setup["terms"], setup["hw"], setup["plan"], eff)["time_per_iter_s"]


# ------------------------------------------------------------------------------ the fit
class LLMTrainingFit:
    """The fitted parameters of the LLM-training step model, with a prediction interval.

    Parameters
    ----------
    interval : float
        Coverage of the prediction interval (default 0.9).

    Attributes (after :meth:`fit`)
    ------------------------------
    params_ : dict
        Fitted value of each parameter (:data:`PRIORS` keys).
    log_sd_ : dict
        Standard deviation of each parameter's log (Jacobian at the optimum).
    residual_quantiles_ : tuple of float
        The ``(1−interval)/2`` and ``(1+interval)/2`` quantiles of the fitted rows' log errors.
    n_rows_ : int
    errors_ : pandas.DataFrame
        ``source``, ``n``, ``median_abs_pct_error``, ``p90_abs_pct_error`` in-sample.

    Examples
    --------
    >>> fit = LLMTrainingFit()
    >>> fit.efficiencies()["eta_c"]      # unfitted: the prior medians
    0.6
    """

    def __init__(self, interval: float = 0.9):
        if not (isinstance(interval, (int, float)) and 0 < interval < 1):
            raise CalibrationError(f"interval must be a coverage in (0, 1), got {interval!r}")
        self.interval = float(interval)

    # -- reading the fit
    def efficiencies(self) -> dict:
        """The step model's parameters (prior medians before a fit)."""
        if hasattr(self, "params_"):
            return dict(self.params_)
        return {k: v[0] for k, v in PRIORS.items()}

    def interval_factors(self) -> tuple[float, float] | None:
        """``(low, high)`` multipliers of a predicted time for the interval (None unfitted)."""
        if not hasattr(self, "residual_quantiles_"):
            return None
        lo, hi = self.residual_quantiles_
        return math.exp(-hi), math.exp(-lo)

    # -- fitting
    def fit(self, rows: pd.DataFrame) -> "LLMTrainingFit":
        """Fit the parameters to rows of metric ``time_per_iter_s`` with a parallel layout."""

        rows = rows[(rows["metric"] == "time_per_iter_s") & np.isfinite(rows["value"].astype(float))
                    & (rows["value"].astype(float) > 0)]
        if not len(rows):
            raise CalibrationError("LLMTrainingFit.fit: no time_per_iter_s row with a parallel layout")
        return self.fit_arrays(row_setup(rows), rows["value"].to_numpy(float), rows["source"].astype(str).to_numpy())

    def fit_arrays(self, setup: dict, value, source) -> "LLMTrainingFit":
        """:meth:`fit` on a :func:`row_setup` (``value`` [s] and ``source`` per row): the
        validation refits subsets without rebuilding the rows."""
        from scipy.optimize import least_squares

        y = np.log(np.asarray(value, dtype=float))
        src = np.asarray(source)
        uniq, inv, counts = np.unique(src, return_inverse=True, return_counts=True)
        # each source the weight of N/S rows
        w = np.sqrt(len(y) / (len(uniq) * counts[inv]))
        mu = np.array([math.log(PRIORS[k][0]) for k in PARAMS])
        sd = np.array([PRIORS[k][1] for k in PARAMS])
        lo = np.array([math.log(_BOUNDS[k][0]) for k in PARAMS])
        hi = np.array([math.log(_BOUNDS[k][1]) for k in PARAMS])
        # which parameters the rows inform (module docstring); the others stay at the prior
        prior = {k: PRIORS[k][0] for k in PARAMS}
        t0 = np.log(_times(setup, prior))
        free = np.array([np.max(np.abs(np.log(_times(setup, dict(prior, **{k: prior[k] * 1.2}))) - t0))
                         > INFORMED_LOG_CHANGE for k in PARAMS])
        self.held_at_prior_ = tuple(k for k, f in zip(PARAMS, free) if not f)

        def full(xf):
            x = mu.copy()
            x[free] = xf
            return x

        def resid(xf):
            x = full(xf)
            eff = dict(zip(PARAMS, np.exp(x)))
            r = (np.log(_times(setup, eff)) - y) / _ROW_SD * w
            # soft-L1 on the rows (robust to a stray run), Gaussian priors on the parameters
            r = np.sign(r) * np.sqrt(2.0 * (np.sqrt(1.0 + r * r) - 1.0))
            return np.concatenate([r, (xf - mu[free]) / sd[free]])

        x0 = np.clip(mu, lo + 1e-9, hi - 1e-9)[free]
        res = least_squares(resid, x0, bounds=(lo[free], hi[free]), x_scale=1.0, max_nfev=400)
        x = full(res.x)
        self.params_ = {k: float(v) for k, v in zip(PARAMS, np.exp(x))}
        self.log_sd_ = {k: float(PRIORS[k][1]) for k in self.held_at_prior_}  # the prior's own spread
        try:
            cov = np.linalg.pinv(res.jac.T @ res.jac)
            self.log_sd_.update({k: float(math.sqrt(max(cov[i, i], 0.0)))
                                 for i, k in enumerate(k for k, f in zip(PARAMS, free) if f)})
        except np.linalg.LinAlgError:  # pragma: no cover - a degenerate Jacobian
            self.log_sd_.update({k: float("nan") for k, f in zip(PARAMS, free) if f})
        pred = _times(setup, self.params_)
        logr = np.log(pred) - y
        a = (1.0 - self.interval) / 2.0
        # the spread of the fitted rows' errors (the parameters' own spread is far smaller
        # than the row-to-row scatter of 1,448 rows; it is reported in log_sd_)
        qlo, qhi = np.quantile(logr, [a, 1.0 - a])
        self.residual_quantiles_ = (float(qlo), float(qhi))
        self.n_rows_ = int(len(y))
        self.devices_ = tuple(setup.get("devices", ()))
        err = 100 * np.abs(np.expm1(logr))
        self.errors_ = pd.DataFrame([{"source": s, "n": int((src == s).sum()),
                                      "median_abs_pct_error": float(np.median(err[src == s])),
                                      "p90_abs_pct_error": float(np.quantile(err[src == s], 0.9))} for s in uniq])
        return self

    def predict_arrays(self, setup: dict) -> np.ndarray:
        """Predicted step times [s] of a :func:`row_setup`."""
        return _times(setup, self.efficiencies())

    def predict(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Predicted ``value`` (s per step), ``value_low``/``value_high`` of layout rows."""
        setup = row_setup(rows)
        t = _times(setup, self.efficiencies())
        out = rows.copy()
        if "value" in out.columns:
            out["measured_value"] = out["value"]
        f = self.interval_factors() or (np.nan, np.nan)
        out["value"], out["value_low"], out["value_high"] = t, t * f[0], t * f[1]
        out["reason"] = None
        out["calibration_group"] = "llm_training"
        out["calibration_notes"] = "parallel LLM step model (plaster_model.parallel.step)"
        out["calibration_fallback"] = False
        return out

    def summary(self) -> str:
        """Fitted parameters with their 90 % range and the in-sample errors per source."""
        lines = ["LLM-training step model (plaster_model.parallel.step):"]
        for k in PARAMS:
            v, s = self.params_[k], self.log_sd_.get(k, float("nan"))
            lines.append(f"  {k:<12} {v:10.4g}  [{v * math.exp(-1.645 * s):.4g}, {v * math.exp(1.645 * s):.4g}]"
                         f"  prior {PRIORS[k][0]:g}"
                         + ("  (held at the prior: the rows do not inform it)"
                            if k in getattr(self, "held_at_prior_", ()) else ""))
        for _, e in self.errors_.iterrows():
            lines.append(f"  {e['source'][:60]:<60} n={e['n']:<5d} median {e['median_abs_pct_error']:.3g} % "
                         f"p90 {e['p90_abs_pct_error']:.3g} %")
        return "\n".join(lines)

    # -- persistence (inside a Calibration's file)
    def to_dict(self) -> dict:
        """Plain data of the fit (stored under ``llm_training`` in a calibration file)."""
        return {"interval": self.interval, "params": dict(self.params_), "log_sd": dict(self.log_sd_),
                "devices": list(getattr(self, "devices_", ())),
                "residual_quantiles": list(self.residual_quantiles_), "n_rows": self.n_rows_,
                "errors": self.errors_.to_dict(orient="list"),
                "held_at_prior": list(getattr(self, "held_at_prior_", ()))}

    @classmethod
    def from_dict(cls, data: dict, origin: str = "calibration data") -> "LLMTrainingFit":
        """Rebuild a fit from :meth:`to_dict` output, validating each part.

        Raises
        ------
        CalibrationError
            A missing part, or a parameter outside the fit's bounds (names ``origin``).
        """
        try:
            fit = cls(float(data["interval"]))
            fit.params_ = {k: float(data["params"][k]) for k in PARAMS}
            fit.log_sd_ = {k: float(v) if v is not None else float("nan") for k, v in data["log_sd"].items()}
            q = [float(v) for v in data["residual_quantiles"]]
            fit.residual_quantiles_ = (q[0], q[1])
            fit.n_rows_ = int(data["n_rows"])
            fit.devices_ = tuple(str(d) for d in data.get("devices", []))
            fit.errors_ = pd.DataFrame(data.get("errors", {}))
            fit.held_at_prior_ = tuple(str(k) for k in data.get("held_at_prior", []) if k in PARAMS)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise CalibrationError(f"{origin}: malformed llm_training part ({type(exc).__name__}: {exc})") from None
        for k in PARAMS:
            lo, hi = _BOUNDS[k]
            if not (math.isfinite(fit.params_[k]) and lo * 0.999 <= fit.params_[k] <= hi * 1.001):
                raise CalibrationError(f"{origin}: llm_training parameter {k}={fit.params_[k]!r} outside [{lo}, {hi}]")
        if not all(math.isfinite(v) for v in q) or q[0] > q[1]:
            raise CalibrationError(f"{origin}: llm_training residual_quantiles {q!r} not an ordered finite pair")
        return fit


# ------------------------------------------------------------------------------ Calibration hooks
def fit_llm_part(cal, df: pd.DataFrame):
    """Fit the LLM part of ``cal`` on the layout rows of ``df``; return the other rows (None
    when there are none: the calibration then holds only the LLM part)."""
    llm, rest = split_llm_rows(df)
    if len(llm):
        cal.llm_training_ = LLMTrainingFit(interval=getattr(cal, "interval", 0.9)).fit(llm)
        return rest if len(rest) else None
    return df


def predict_llm_part(cal, df: pd.DataFrame, predict_rest):
    """Predictions of ``df``: layout rows by the LLM part, the others by ``predict_rest``; None
    when ``df`` has no layout row (the caller goes on as before)."""
    llm, rest = split_llm_rows(df)
    if not len(llm):
        return None
    fit = getattr(cal, "llm_training_", None)
    if fit is None:
        raise CalibrationError("this calibration was fitted without LLM-training rows (parallel layouts)")
    parts = [fit.predict(llm)]
    if len(rest):
        parts.append(predict_rest(rest))
    return pd.concat(parts).loc[df.index]
