"""Calibration of whole-transformer pass latency on one GPU (NeuSight's labels and their like).

Rows claimed: ``metric == "latency_ms"`` with a ``seq_len`` at ``fp32`` (a forward pass for
``phase == "inference"``, forward + backward for ``"training"``). Those with one device and a
model that carries a :class:`~plaster_model.catalog.transformer.TransformerConfig` are predicted
by :func:`~plaster_model.estimators.transformer_step.transformer_step_time`; the others (a model
no TransformerConfig expresses, such as the encoder-decoder Switch Transformer, or the 4-GPU
Megatron-LM runs) are listed in ``skipped`` with their reason.

Parameters (a named table in the manner of lmfit: value, bounds, log-normal prior, interval),
shared by every GPU: ``gemm_efficiency``, ``attention_efficiency``, ``vector_efficiency`` (fractions
of the fp32 matrix/vector peaks), ``memory_efficiency`` (of the bandwidth) and ``launch_s`` (per
kernel). The fit minimises squared log errors plus the priors. The 90 % interval of a row is
``exp(± z·σ)`` around the prediction, σ combining the in-sample residual scatter, the
device-to-device spread (1.4826 × MAD) of the per-device median residuals (so a GPU the fit has not seen gets an
honest width) and the parameters' own uncertainty.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["PARAMETERS", "TransformerLatencyFit", "is_transformer_latency_rows", "fit_transformer_latency",
           "fit_transformer_part", "predict_transformer_part"]

#: name -> (prior median, prior σ of the log, lower bound, upper bound). Priors: fp32 SIMT GEMMs
#: in cuBLAS reach ~70-90 % of peak at these sizes; batched attention products less; streaming
#: kernels ~70-85 % of the bandwidth; an eager PyTorch launch ~5-10 µs of host time.
PARAMETERS = {
    "gemm_efficiency": (0.75, 0.4, 0.05, 1.0),
    "attention_efficiency": (0.5, 0.6, 0.02, 1.0),
    "vector_efficiency": (0.3, 1.0, 0.01, 1.0),
    "memory_efficiency": (0.75, 0.4, 0.05, 1.0),
    "launch_s": (8e-6, 1.0, 1e-7, 1e-3),
    # per-vendor deviation of the product efficiencies (rocBLAS on CDNA matrix cores against
    # cuBLAS on SIMT): 1 without AMD rows
    "amd_matrix_ratio": (1.0, 0.5, 0.1, 2.0),
}
_NAMES = tuple(PARAMETERS)
_Z90 = 1.6448536269514722
_PRIOR_WEIGHT_SIGMA = 0.15  # a prior counts as one row with this log scatter


def is_transformer_latency_rows(df: pd.DataFrame) -> pd.Series:
    """Rows this module claims: ``latency_ms`` of a whole pass with a ``seq_len``, at fp32.

    >>> rows = pd.DataFrame({"metric": ["latency_ms", "latency_ms", "throughput"],
    ...                      "seq_len": [512, None, 512], "precision": ["fp32"] * 3})
    >>> is_transformer_latency_rows(rows).tolist()
    [True, False, False]
    """
    if not {"metric", "seq_len"} <= set(df.columns):
        return pd.Series(False, index=df.index)
    prec = df["precision"] if "precision" in df.columns else pd.Series("fp32", index=df.index)
    seq = pd.to_numeric(df["seq_len"], errors="coerce")
    return (df["metric"] == "latency_ms") & seq.notna() & (prec == "fp32")


def _inputs(df: pd.DataFrame, models: dict | None = None):
    """Per row: the TransformerConfig (or None) and why a row cannot be predicted (or None)."""
    import plaster_model as pm  # noqa: PLC0415

    models = models or {}
    cache, cfgs, reasons = {}, [], []
    cols = {c: (df[c].to_numpy(object) if c in df.columns else np.full(len(df), None, object))
            for c in ("model", "n_devices", "execution", "phase")}
    for i in range(len(df)):
        r = {c: v[i] for c, v in cols.items()}
        name = r.get("model")
        if name not in cache:
            try:
                m = models.get(name) or pm.load_model(name)
                cache[name] = getattr(m, "transformer", None)
            except Exception:  # noqa: BLE001 - an unknown model is a skip reason, not an error
                cache[name] = None
        cfg = cache[name]
        nd = r.get("n_devices")
        nd = 1.0 if nd is None or (isinstance(nd, float) and math.isnan(nd)) else float(nd)
        why = None
        if cfg is None:
            why = (f"model {name!r} has no TransformerConfig (an encoder-decoder such as the Switch "
                   "Transformer is not expressible): the transformer step model does not predict it")
        elif nd != 1:
            why = (f"{int(nd)}-GPU run ({r.get('execution')}): a whole parallel training step; the "
                   "one-GPU transformer step model does not predict it")
        elif r.get("phase") not in ("inference", "training"):
            why = f"phase {r.get('phase')!r} (expected inference or training)"
        cfgs.append(cfg)
        reasons.append(why)
    return cfgs, reasons


def _work(df: pd.DataFrame, cfgs: list, ok: np.ndarray) -> dict:
    """Per-class work arrays for the rows where ``ok`` (grouped by model and phase, vectorized)."""
    from ..estimators.transformer_step import STEP_CLASSES, transformer_step_work  # noqa: PLC0415

    n = len(df)
    W = {k: {q: np.zeros(n) for q in ("flops", "bytes", "kernels")} for k in STEP_CLASSES}
    batch = pd.to_numeric(df["batch_per_device"], errors="coerce").to_numpy(float)
    seq = pd.to_numeric(df["seq_len"], errors="coerce").to_numpy(float)
    phase = df["phase"].to_numpy(object)
    ex = df["execution"].to_numpy(object) if "execution" in df.columns else np.full(n, None, object)
    keys = {}
    for i in np.flatnonzero(ok):
        keys.setdefault((id(cfgs[i]), phase[i], ex[i] == "torch.compile"), []).append(i)
    for (_, ph, fused), idx in keys.items():
        cfg = cfgs[idx[0]]
        training = ph == "training"
        # BERT inference is BertForSequenceClassification (no vocabulary projection); every
        # causal LM and BERT pre-training project every token onto the vocabulary
        w = transformer_step_work(cfg, batch[idx], seq[idx], training=training,
                                  lm_head=training or not cfg.encoder, fused=fused)
        for k in STEP_CLASSES:
            for q in W[k]:
                W[k][q][idx] = w[k][q]
    return W


def _devices(df: pd.DataFrame, ok: np.ndarray, devices: dict | None = None):
    import plaster_model as pm  # noqa: PLC0415
    from ..estimators.transformer_step import fp32_matrix_peak_flops  # noqa: PLC0415

    devices = devices or {}
    n = len(df)
    gp, vp, bw = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    amd = np.zeros(n, bool)
    names = np.full(n, None, object)
    reasons = [None] * n
    for i in np.flatnonzero(ok):
        raw = df["device"].iloc[i]
        try:
            d = devices.get(raw) or pm.load_device(raw)
            gp[i], vp[i], bw[i] = fp32_matrix_peak_flops(d), d.peak_flops["fp32"], d.memory_bandwidth
            names[i], amd[i] = d.name, d.vendor == "AMD"
        except Exception as exc:  # noqa: BLE001 - an unknown device is a skip reason
            reasons[i] = f"device {raw!r} not resolved ({exc})"
    return gp, vp, bw, names, reasons, amd


def _predict_s(theta: np.ndarray, W: dict, gp, vp, bw, amd) -> np.ndarray:
    from ..estimators.transformer_step import transformer_step_time  # noqa: PLC0415

    p = dict(zip(_NAMES, np.exp(theta)))
    dev = np.where(amd, p["amd_matrix_ratio"], 1.0)
    return transformer_step_time(W, gp, vp, bw, gemm_efficiency=p["gemm_efficiency"] * dev,
                                 attention_efficiency=p["attention_efficiency"] * dev,
                                 vector_efficiency=p["vector_efficiency"],
                                 memory_efficiency=p["memory_efficiency"], launch_s=p["launch_s"])


@dataclass
class TransformerLatencyFit:
    """A fitted transformer-pass latency model (see the module docstring)."""

    theta: np.ndarray                      # log parameter values, order of PARAMETERS
    cov: np.ndarray                        # covariance of theta
    sigma_resid: float                     # in-sample log residual scatter (within devices)
    sigma_device: float                    # spread of per-device median log residuals
    n_rows: int
    params: pd.DataFrame = field(default=None)
    skipped: pd.DataFrame = field(default=None)
    errors: dict = field(default_factory=dict)

    @property
    def sigma(self) -> float:
        """Log σ of a row's 90 % interval (without the parameters' own part)."""
        return math.hypot(self.sigma_resid, self.sigma_device)

    def predict_rows(self, df: pd.DataFrame, *, models=None, devices=None) -> pd.DataFrame:
        """``value`` [ms], ``value_low``/``value_high`` (90 %) and ``reason`` for each row of ``df``."""
        df = df.reset_index(drop=True)
        df.attrs = {}  # read_measurements' metadata: pandas deep-copies it on every row access
        cfgs, reasons = _inputs(df, models)
        ok = np.array([r is None for r in reasons])
        gp, vp, bw, _, dev_reasons, amd = _devices(df, ok, devices)
        reasons = [r or d for r, d in zip(reasons, dev_reasons)]
        ok = np.array([r is None for r in reasons])
        n = len(df)
        value, lo, hi = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
        if ok.any():
            W = _work(df, cfgs, ok)
            sub = {k: {q: v[ok] for q, v in d.items()} for k, d in W.items()}
            t = _predict_s(self.theta, sub, gp[ok], vp[ok], bw[ok], amd[ok]) * 1e3
            # the parameters' part of the log variance, by finite differences (5 parameters)
            J = np.empty((ok.sum(), len(self.theta)))
            for j in range(len(self.theta)):
                th = self.theta.copy()
                th[j] += 1e-4
                J[:, j] = (np.log(_predict_s(th, sub, gp[ok], vp[ok], bw[ok], amd[ok]) * 1e3) - np.log(t)) / 1e-4
            var_p = np.einsum("ij,jk,ik->i", J, self.cov, J)
            s = np.sqrt(self.sigma ** 2 + var_p)
            value[ok], lo[ok], hi[ok] = t, t * np.exp(-_Z90 * s), t * np.exp(_Z90 * s)
        return pd.DataFrame({"value": value, "value_low": lo, "value_high": hi, "reason": reasons})

    def to_dict(self) -> dict:
        return {"theta": [float(v) for v in self.theta], "cov": [[float(v) for v in r] for r in self.cov],
                "sigma_resid": float(self.sigma_resid), "sigma_device": float(self.sigma_device),
                "n_rows": int(self.n_rows), "names": list(_NAMES)}

    @classmethod
    def from_dict(cls, d: dict) -> "TransformerLatencyFit":
        from ..errors import CalibrationError  # noqa: PLC0415
        try:
            theta = np.asarray(d["theta"], dtype=float)
            cov = np.asarray(d["cov"], dtype=float)
            ok = theta.shape == (len(_NAMES),) and cov.shape == (len(_NAMES),) * 2 and list(d["names"]) == list(_NAMES)
            fit = cls(theta, cov, float(d["sigma_resid"]), float(d["sigma_device"]), int(d["n_rows"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise CalibrationError(f"transformer_latency: malformed entry ({type(exc).__name__}: {exc})") from None
        if not ok or not (np.isfinite(theta).all() and np.isfinite(cov).all()):
            raise CalibrationError(f"transformer_latency: theta/cov must be finite, {len(_NAMES)} parameters "
                                   f"named {list(_NAMES)}")
        fit.params = _param_table(theta, cov, None)
        return fit


def _param_table(theta, cov, J) -> pd.DataFrame:
    sd = np.sqrt(np.clip(np.diag(cov), 0, None))
    rows = []
    for j, (name, (mu, s, lo, hi)) in enumerate(PARAMETERS.items()):
        # a parameter the rows barely move (the data's part of its precision under a tenth of the
        # prior's) is reported as prior-only
        informed = None if J is None else bool(np.sum(J[:, j] ** 2) / _PRIOR_WEIGHT_SIGMA ** 2 > 0.1 / s ** 2)
        # the interval of a bounded parameter stays inside its bounds (no efficiency above 1)
        rows.append({"name": name, "value": math.exp(theta[j]), "low_90": max(lo, math.exp(theta[j] - _Z90 * sd[j])),
                     "high_90": min(hi, math.exp(theta[j] + _Z90 * sd[j])), "prior_median": mu, "prior_log_sd": s,
                     "bound_low": lo, "bound_high": hi, "informed_by_data": informed})
    return pd.DataFrame(rows)


def fit_transformer_latency(df: pd.DataFrame, *, models=None, devices=None) -> TransformerLatencyFit:
    """Fit the shared parameters to the claimed rows of ``df`` (see the module docstring).

    Raises
    ------
    CalibrationError
        No row the step model can predict.
    """
    from scipy.optimize import least_squares  # noqa: PLC0415

    from ..errors import CalibrationError  # noqa: PLC0415

    df = df.reset_index(drop=True)
    df.attrs = {}  # read_measurements' metadata: pandas deep-copies it on every row access
    cfgs, reasons = _inputs(df, models)
    ok = np.array([r is None for r in reasons])
    gp, vp, bw, dev_names, dev_reasons, amd = _devices(df, ok, devices)
    reasons = [r or d for r, d in zip(reasons, dev_reasons)]
    y = pd.to_numeric(df["value"], errors="coerce").to_numpy(float)
    reasons = [r or (None if (math.isfinite(v) and v > 0) else "no measured value") for r, v in zip(reasons, y)]
    ok = np.array([r is None for r in reasons])
    skipped = pd.DataFrame({"row": df.index[~ok], "reason": [r for r in reasons if r]})
    if not ok.any():
        raise CalibrationError(f"transformer latency: no row can be fitted; reasons: "
                               f"{skipped['reason'].value_counts().head(3).to_dict()}")
    W = _work(df, cfgs, ok)
    sub = {k: {q: v[ok] for q, v in d.items()} for k, d in W.items()}
    g, v, b, a, ly = gp[ok], vp[ok], bw[ok], amd[ok], np.log(y[ok])
    mu = np.log([p[0] for p in PARAMETERS.values()])
    sd = np.array([p[1] for p in PARAMETERS.values()])
    lb = np.log([p[2] for p in PARAMETERS.values()])
    ub = np.log([p[3] for p in PARAMETERS.values()])

    def resid(th):
        r = np.log(_predict_s(th, sub, g, v, b, a) * 1e3) - ly
        return np.concatenate([r, _PRIOR_WEIGHT_SIGMA * (th - mu) / sd])

    res = least_squares(resid, np.clip(mu, lb + 1e-6, ub - 1e-6), bounds=(lb, ub), x_scale=1.0, method="trf")
    m = int(ok.sum())
    r = res.fun[:m]
    J = res.jac[:m]
    s2 = float(np.sum(r ** 2) / max(m - 1, 1))
    A = res.jac.T @ res.jac
    cov = np.linalg.pinv(A) * max(s2, 1e-6)
    dev = pd.Series(r).groupby(dev_names[ok]).median()
    # robust (1.4826 × MAD): one odd GPU (a 75 W P4) must not widen every interval
    sigma_device = (float(1.4826 * np.median(np.abs(dev - dev.median()))) if len(dev) > 2
                    else float(np.sqrt(s2)))
    within = r - pd.Series(dev_names[ok]).map(dev).to_numpy(float)
    sigma_resid = float(np.sqrt(np.sum(within ** 2) / max(m - len(dev), 1)))
    fit = TransformerLatencyFit(res.x, cov, sigma_resid, sigma_device, m, skipped=skipped)
    fit.params = _param_table(res.x, cov, J)
    err = np.abs(np.expm1(r)) * 100
    fit.errors = {"n": m, "median_abs_pct_error": float(np.median(err)), "p90_abs_pct_error": float(np.percentile(err, 90))}
    return fit


# ---------------------------------------------------------------- hooks of Calibration.fit/predict
def fit_transformer_part(cal, df: pd.DataFrame):
    """The hook :meth:`plaster_model.Calibration.fit` calls: fit the claimed rows into
    ``cal.transformer_latency_`` and return the other rows (None when none remain)."""
    mask = is_transformer_latency_rows(df)
    cal.transformer_latency_ = None
    if not mask.any():
        return df
    from ..errors import CalibrationError  # noqa: PLC0415
    try:
        cal.transformer_latency_ = fit_transformer_latency(df[mask])
    except CalibrationError:  # none of them predictable (e.g. only Switch rows): the others' skip reasons
        return df
    rest = df[~mask]
    if rest.empty:  # the calibration holds this part alone: its skipped rows are the calibration's
        sk = cal.transformer_latency_.skipped
        cal.skipped_ = pd.DataFrame({"row": df[mask].index[sk["row"].to_numpy(int)], "reason": sk["reason"].to_numpy()})
        return None
    return rest


def predict_transformer_part(cal, df: pd.DataFrame, predict_rest):
    """:meth:`plaster_model.Calibration.predict` for a table holding claimed rows, else None."""
    mask = is_transformer_latency_rows(df)
    fit = getattr(cal, "transformer_latency_", None)
    if not mask.any() or fit is None:
        return None
    out = df.copy()
    if "value" in out.columns:
        out["measured_value"] = out["value"]
    pred = fit.predict_rows(df[mask])
    for col in ("value", "value_low", "value_high", "reason"):
        out[col] = np.nan if col != "reason" else None
        out.loc[mask, col] = pred[col].to_numpy()
    if (~mask).any():
        rest = predict_rest(df[~mask])
        for col in rest.columns:
            out.loc[~mask, col] = rest[col]
    return out
