"""Calibration of the LLM-serving model on measured TTFT/TPOT rows (metrics ``ttft_ms``/``tpot_ms``).

What is fitted, all at once, by robust least squares on ``log(predicted/measured)``:

* hardware efficiencies shared by every GPU (they are what transfers to a GPU absent from the
  rows): ``eta_gemm`` (dense GEMMs, bf16 math), ``eta_fp8_rel``/``eta_fp4_rel`` (the fraction of
  it fp8/fp4 math keeps), ``eta_moe`` (grouped expert GEMMs), ``eta_attn``, ``eta_mem``
  (bandwidth), ``eta_link`` and ``alpha_link_s`` (collectives), and the scheduling shares
  ``q_queue`` and ``iota`` (:data:`~plaster_model.estimators.serving.SERVING_PARAMETERS`);
* each engine's overheads and scheduling (``t_step_s``, ``t_layer_s``, ``t_request_s``,
  ``q_wave``, ``iota``) as log-offsets from the engines' shared value, and each engine
  version's as log-offsets from its engine's, with Gaussian priors pulling each towards the
  level above (engine sd 1, version sd 0.5).

Every parameter carries a log-normal prior around :data:`SERVING_PARAMETERS` /
:data:`~plaster_model.serving.engines.ENGINE_PRIORS`; nothing is set by hand to single rows.
The 90 % interval is the 5th-95th percentile of the fitted log-residuals per metric; an
unknown version of a fitted engine adds the versions' spread, an engine the fit has not seen
adds the engines' spread too (standard deviations of their offsets), in quadrature.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import CalibrationError
from ..estimators.serving import SERVING_PARAMETERS
from ..serving.engines import ENGINE_KEYS, ENGINE_PRIORS, normalize_engine

__all__ = ["ServingCalibration", "fit_serving", "serving_inputs", "SERVING_METRICS", "is_serving_rows"]

SERVING_METRICS = ("ttft_ms", "tpot_ms")
#: Global parameters the fit frees, with the log-space prior standard deviation of each.
_FREE = {"eta_gemm": 0.5, "eta_fp8_rel": 0.3, "eta_fp4_rel": 0.4, "eta_moe": 0.7, "eta_attn": 0.7,
         "eta_mem": 0.3, "eta_kv_rel": 0.4, "eta_link": 0.7, "alpha_link_s": 1.0, "q_queue": 0.7,
         "tile_tokens": 0.7}
_UPPER = {"eta_gemm": 1.0, "eta_fp8_rel": 1.0, "eta_fp4_rel": 1.0, "eta_moe": 1.0, "eta_attn": 1.0,
          "eta_mem": 1.0, "eta_kv_rel": 1.0, "eta_link": 1.0, "q_queue": 4.0, "q_wave": 1.0, "iota": 2.0, "alpha_link_s": 1e-3, "tile_tokens": 512.0}
#: Weight of the TPOT residuals against TTFT's: each metric weighted by the inverse of its noise
#: (maximum likelihood for unequal variances). TTFT carries the benchmark client's queueing and
#: first wave, which the rows do not state; its log-residuals scatter about twice TPOT's (MAD
#: 0.28 against 0.14 in-sample on the shared rows), so TPOT counts twice.
_TPOT_WEIGHT = 2.0
#: Robust loss of the fit and its scale in log units (scipy ``least_squares``).
_LOSS, _F_SCALE = "soft_l1", 0.2
_ENGINE_PRIOR_SD = 1.0
_VERSION_PRIOR_SD = 0.5
_MATH_REL = {"bf16": None, "fp16": None, "int8": "eta_fp8_rel", "fp8": "eta_fp8_rel", "fp4": "eta_fp4_rel"}


def is_serving_rows(df: pd.DataFrame) -> pd.Series:
    """Rows of a measurement table that this module fits (metric ttft_ms or tpot_ms)."""
    return df["metric"].isin(SERVING_METRICS) if "metric" in df.columns else pd.Series(False, index=df.index)


def _models_yaml(files) -> dict:
    """Architectures from a ``models.yaml`` beside the rows' file (the shared folder's layout)."""
    from .._yaml import load_yaml  # noqa: PLC0415
    out = {}
    for f in {str(x) for x in files if isinstance(x, str)}:
        p = Path(f).with_name("models.yaml")
        if p.is_file():
            for name, entry in (load_yaml(p.read_text()) or {}).items():
                if isinstance(entry, dict) and "config" in entry:
                    out[name] = entry["config"]
    return out


def _shape_of(name: str, yaml_configs: dict, cache: dict):
    if name in cache:
        return cache[name]
    from ..serving.layout import model_shape  # noqa: PLC0415
    cfg = None
    try:
        from ..catalog.loader import load_model  # noqa: PLC0415
        cfg = getattr(load_model(name), "transformer", None)
    except Exception:  # noqa: BLE001 - not a zoo name: the models.yaml beside the rows
        cfg = None
    if cfg is None and name in yaml_configs:
        from ..catalog.transformer import TransformerConfig  # noqa: PLC0415
        cfg = TransformerConfig.from_hf_config(dict(yaml_configs[name]), name=name)
    cache[name] = None if cfg is None else model_shape(cfg)
    return cache[name]


def serving_inputs(df: pd.DataFrame) -> tuple[pd.DataFrame, dict, list[str]]:
    """Measurement rows -> (one row per measurement with ttft_ms/tpot_ms, evaluate() inputs, notes).

    Keeps aggregated rows with a resolved layout and a concurrency, and disaggregated rows
    with stated worker counts; rows of unknown models or devices are dropped and counted in
    the notes.
    """
    from ..serving.hardware import hardware_values, resolve_hardware  # noqa: PLC0415
    from ..serving.precision import WEIGHT_BYTES, resolve_serving_precision  # noqa: PLC0415
    rows = df[is_serving_rows(df)]
    key = "dup_group" if "dup_group" in rows.columns else "source_detail"
    wide = rows.pivot_table(index=key, columns="metric", values="value", aggfunc="first")
    first = rows.drop_duplicates(key).set_index(key)
    t = first.join(wide[[m for m in SERVING_METRICS if m in wide.columns]], how="inner")
    notes = []
    for col in ("tp", "pp", "attention_dp", "ep", "mode", *(f"{r}_{k}" for r in ("prefill", "decode")
                for k in ("workers", "tp", "pp", "attention_dp", "ep"))):
        if col not in t.columns:  # tables that only hold aggregated runs, or built by hand
            t[col] = "aggregated" if col == "mode" else np.nan
    t = t.dropna(subset=["ttft_ms", "tpot_ms", "concurrency", "input_len", "output_len"])
    dis = t["mode"].eq("disaggregated")
    ok_agg = ~dis & t[["tp", "pp"]].notna().all(axis=1)
    ok_dis = dis & t[["prefill_workers", "decode_workers", "prefill_tp", "decode_tp"]].notna().all(axis=1)
    n0 = len(t)
    t = t[ok_agg | ok_dis].copy()
    notes.append(f"{n0 - len(t)} measurements without a resolved layout, worker counts or concurrency dropped")
    yaml_configs = _models_yaml(t["file"].unique() if "file" in t.columns else [])
    cache: dict = {}
    model_col = t["model_raw"] if "model_raw" in t.columns else t["model"]
    shapes = {m: _shape_of(m, yaml_configs, cache) for m in model_col.unique()}
    known = model_col.map(lambda m: shapes[m] is not None)
    if (~known).any():
        notes.append(f"{int((~known).sum())} measurements of models without an architecture dropped: "
                     f"{sorted(set(model_col[~known]))}")
    t = t[known.to_numpy()]
    model_col = model_col[known.to_numpy()]
    # systems as the sample names them ("GB200 SXM", "a100_sxm"): the catalog's GPU, else dropped
    devs = {d: _lookup_device(d) for d in t["device"].astype(str).unique()}
    unknown = t["device"].astype(str).map(lambda d: devs[d] is None).to_numpy(bool)
    if unknown.any():
        notes.append(f"{int(unknown.sum())} measurements on GPUs the catalog lacks dropped: "
                     f"{sorted(d for d, v in devs.items() if v is None)}")
        t, model_col = t[~unknown], model_col[~unknown]
    # one look-up per distinct (device, math precision) and model, then gathered per row: the
    # tables repeat a few dozen combinations over thousands of rows
    rules = set()
    combos = pd.MultiIndex.from_arrays([t["device"].astype(str), t["activation_precision"].astype(str)])
    uniq, inv = np.unique(np.asarray(combos.codes).T, axis=0, return_inverse=True) if len(t) else ([], [])
    hw_table = []
    for dc, ac in uniq:
        dev, act = combos.levels[0][dc], combos.levels[1][ac]
        d, links, _ = resolve_hardware(devs[dev])
        h, rule = hardware_values(d, links, act)
        if rule:
            rules.add(f"{dev}: {rule}")
        hw_table.append(h)
    notes.extend(sorted(rules))
    inv = np.asarray(inv).ravel()
    hw = {k: np.array([h[k] for h in hw_table], float)[inv] for k in hw_table[0]} if hw_table else {}
    names = list(shapes)
    midx = model_col.map({m: i for i, m in enumerate(names)}).to_numpy(int)
    shape = {k: np.array([float(shapes[m][k]) if shapes[m] is not None else np.nan for m in names])[midx]
             for k in next(iter(s for s in shapes.values() if s is not None)).keys()} if len(t) else {}
    kv_of = {a: resolve_serving_precision({"weights": "bf16", "activations": a}).kv_bytes
             for a in t["activation_precision"].unique()}
    kv_bytes = t["activation_precision"].map(kv_of).to_numpy(float)
    wb = t["weight_precision"].map(WEIGHT_BYTES).to_numpy(float)
    mw = t["moe_weight_precision"].where(t["moe_weight_precision"].isin(list(WEIGHT_BYTES)),
                                         t["weight_precision"]).map(WEIGHT_BYTES).to_numpy(float)
    prec = {"weight_bytes": wb, "moe_weight_bytes": mw, "kv_bytes": kv_bytes,
            "math_key": t["activation_precision"].to_numpy()}
    dis = t["mode"].eq("disaggregated").to_numpy()

    def col(name, default=1.0):
        return t[name].fillna(default).to_numpy(float) if name in t.columns else np.full(len(t), default)
    lay = {}
    for role in ("prefill", "decode"):
        for k, src in (("tp", "tp"), ("pp", "pp"), ("attention_dp", "attention_dp"), ("ep", "ep")):
            lay[f"{role}_{k}"] = np.where(dis, col(f"{role}_{k}"), col(src))
        lay[f"{role}_workers"] = np.where(dis, col(f"{role}_workers"), 1.0)
    # an expert-parallel size beyond the model's experts or a missing one: experts spread over the stage
    wl = {"input_len": col("input_len"), "output_len": col("output_len"), "concurrency": col("concurrency"),
          "disaggregated": dis}
    t["engine_name"] = t["engine"].map(normalize_engine) if "engine" in t.columns else \
        t["framework"].map(normalize_engine)
    t["model_name"] = model_col.to_numpy()
    return t, {"shape": shape, "hw": hw, "lay": lay, "prec": prec, "wl": wl}, notes


@dataclass
class ServingCalibration:
    """Fitted serving parameters: the shared hardware efficiencies and each engine's overheads.

    Attributes
    ----------
    params : dict
        Fitted values of :data:`SERVING_PARAMETERS` (engine keys hold the engines' shared value).
    engines : dict
        Engine name -> {``t_step_s``, ``t_layer_s``, ``t_request_s``} [s].
    engine_spread : float
        Standard deviation of the engines' log-offsets (widens an unknown engine's interval).
    residual_quantiles : dict
        Metric -> (q05, q95) of the fit's log-residuals ``log(pred/meas)``.
    n_rows : int
        Measurements fitted.
    notes : list of str
    versions : dict
        Engine version -> overheads (``by_version`` fits only).
    version_spread : float
        Standard deviation of the versions' log-offsets.
    devices : list of str
        Catalog names of the GPUs the fit saw.
    system_spread : dict
        Metric -> root mean square of the per-GPU median log-residuals: how far one system's
        level sits from the shared fit (widens the interval of a GPU absent from the fit).
    models : list of str
        The models the fit saw (:func:`_model_key`: zoo names, else checkpoint names without
        their quantisation suffix).
    model_spread : dict
        Metric -> RMS of the per-model median log-residuals (widens an unseen model's interval).
    """

    params: dict
    engines: dict
    engine_spread: float
    residual_quantiles: dict
    n_rows: int
    notes: list = field(default_factory=list)
    versions: dict = field(default_factory=dict)
    version_spread: float = 0.0
    devices: list = field(default_factory=list)
    system_spread: dict = field(default_factory=dict)
    models: list = field(default_factory=list)
    model_spread: dict = field(default_factory=dict)

    def level_of(self, engine) -> str:
        """``"version"``, ``"engine"`` or ``"unknown"``: how much of `engine` the fit knows."""
        if engine is not None and str(engine).strip() in self.versions:
            return "version"
        return "engine" if normalize_engine(engine) in self.engines else "unknown"

    def parameters_for(self, engine) -> tuple[dict, bool]:
        """(parameter dict for `engine` (a version such as ``"vLLM 0.17.0"`` or an engine), whether
        the engine was fitted)."""
        p = dict(self.params)
        level = self.level_of(engine)
        if level == "version":
            p.update(self.versions[str(engine).strip()])
        elif level == "engine":
            p.update(self.engines[normalize_engine(engine)])
        return p, level != "unknown"

    def knows_device(self, device) -> bool:
        """Whether the fit saw `device` (a catalog name or Device); True for fits that do not
        record their GPUs (older calibration files)."""
        if not self.devices:
            return True
        return str(getattr(device, "name", device)) in self.devices

    def knows_model(self, model) -> bool:
        """Whether the fit saw `model` (a name or an object with ``.name``); True for fits that do
        not record their models."""
        if not self.models:
            return True
        return _model_key(str(getattr(model, "name", model))) in self.models

    def interval(self, metric: str, known_engine: bool | str = True, known_device: bool = True,
                 known_model: bool = True) -> tuple[float, float]:
        """Multiplicative (low, high) factors of the 90 % interval of `metric`.

        ``known_engine``: True or ``"version"`` (fitted version), ``"engine"`` (a fitted engine,
        version unknown: adds the version spread), False or ``"unknown"`` (adds the engine
        spread too); ``known_device`` False (a GPU the fit has not seen) adds the systems'
        spread (:attr:`system_spread`), ``known_model`` False the models' spread
        (:attr:`model_spread`); in quadrature.
        """
        lo, hi = self.residual_quantiles[metric]
        level = {True: "version", False: "unknown"}.get(known_engine, known_engine)
        extra = {"version": 0.0, "engine": self.version_spread,
                 "unknown": math.hypot(self.version_spread, self.engine_spread)}[level]
        if not known_device:
            extra = math.hypot(extra, self.system_spread.get(metric, 0.0))
        if not known_model:
            extra = math.hypot(extra, self.model_spread.get(metric, 0.0))
        if extra:
            w = math.hypot(max(hi - lo, 0.0) / 2.0, 1.645 * extra)
            mid = (lo + hi) / 2.0
            lo, hi = mid - w, mid + w
        # a prediction p with residual r = log(p/m) means m = p·exp(−r)
        return math.exp(-hi), math.exp(-lo)

    def predict_rows(self, df: pd.DataFrame) -> pd.DataFrame:
        """Predicted TTFT/TPOT [ms] with 90 % intervals for the serving rows of `df`.

        Returns one row per measurement (:func:`serving_inputs`) with ``ttft_ms``, ``tpot_ms``
        (measured), ``ttft_pred_ms``, ``tpot_pred_ms``, ``*_low_ms``/``*_high_ms`` and
        ``engine_known``.
        """
        t, inp, _ = serving_inputs(df)
        if t.empty:  # no row with a known model, GPU and layout: nothing to predict
            cols = ["ttft_pred_ms", "tpot_pred_ms", "engine_level", "engine_known", "device_known", "model_known",
                    "fits",
                    *(f"{m}_{b}_ms" for m in ("ttft", "tpot") for b in ("low", "high"))]
            return t.assign(**{c: pd.Series(dtype=float) for c in cols})
        vkeys = [_version_key(f, e) for f, e in zip(t["framework"], t["engine_name"])]
        levels = np.array([self.level_of(v) if self.level_of(v) == "version" else self.level_of(e)
                           for v, e in zip(vkeys, t["engine_name"])])
        rows = [self.parameters_for(v if lv == "version" else e)[0]
                for v, e, lv in zip(vkeys, t["engine_name"], levels)]
        ev = {k: np.array([r[k] for r in rows]) for k in ENGINE_KEYS}
        out = predict_inputs(inp, self.params, ev)
        dev_known = np.array([self.knows_device(d) for d in _catalog_names(t["device"])], bool)
        mod_known = np.array([self.knows_model(m) for m in t["model_name"]], bool)
        t = t.assign(ttft_pred_ms=out["ttft_s"] * 1e3, tpot_pred_ms=out["tpot_s"] * 1e3, engine_level=levels,
                     engine_known=levels != "unknown", device_known=dev_known, model_known=mod_known,
                     fits=out["fits"])
        for m in ("ttft", "tpot"):
            lo = np.ones(len(t))
            hi = np.ones(len(t))
            for lv in ("version", "engine", "unknown"):
                for dk in (True, False):
                    for mk in (True, False):
                        a, b = self.interval(f"{m}_ms", lv, dk, mk)
                        sel = (levels == lv) & (dev_known == dk) & (mod_known == mk)
                        lo = np.where(sel, a, lo)
                        hi = np.where(sel, b, hi)
            t[f"{m}_low_ms"] = t[f"{m}_pred_ms"] * lo
            t[f"{m}_high_ms"] = t[f"{m}_pred_ms"] * hi
        return t

    def to_dict(self) -> dict:
        """Plain-data form (JSON/YAML-safe) of the fit; :meth:`from_dict` reads it back."""
        return {"params": self.params, "engines": self.engines, "engine_spread": self.engine_spread,
                "versions": self.versions, "version_spread": self.version_spread,
                "residual_quantiles": {k: list(v) for k, v in self.residual_quantiles.items()},
                "n_rows": self.n_rows, "notes": list(self.notes), "devices": list(self.devices),
                "system_spread": dict(self.system_spread), "models": list(self.models),
                "model_spread": dict(self.model_spread)}

    @classmethod
    def from_dict(cls, d: dict) -> "ServingCalibration":
        """Rebuild a fit from :meth:`to_dict` output."""
        return cls(dict(d["params"]), {k: dict(v) for k, v in d["engines"].items()}, float(d["engine_spread"]),
                   {k: tuple(v) for k, v in d["residual_quantiles"].items()}, int(d["n_rows"]),
                   list(d.get("notes", [])), {k: dict(v) for k, v in d.get("versions", {}).items()},
                   float(d.get("version_spread", 0.0)), list(d.get("devices", [])),
                   {k: float(v) for k, v in d.get("system_spread", {}).items()}, list(d.get("models", [])),
                   {k: float(v) for k, v in d.get("model_spread", {}).items()})


def _lookup_device(text: str):
    """The catalog Device of a system name as serving tables write it, or None.

    Tries the text, then without the form factor (``"GB200 SXM"``, ``"a100_sxm"`` -> ``GB200``,
    ``a100``) and with underscores as spaces: aiconfigurator names systems ``<gpu>_sxm``.

    Examples
    --------
    >>> _lookup_device("gb200_sxm").name, _lookup_device("B200 SXM").name, _lookup_device("Z9") is None
    ('GB200', 'B200', True)
    """
    import re  # noqa: PLC0415

    from ..catalog.loader import load_device  # noqa: PLC0415
    base = re.sub(r"[\s_-]*sxm\d*$", "", str(text).strip(), flags=re.IGNORECASE)
    for cand in dict.fromkeys((str(text).strip(), base, base.replace("_", " "), base.upper())):
        try:
            return load_device(cand)
        except Exception:  # noqa: BLE001 - not this spelling; the next one, else None
            continue
    return None


def _catalog_names(devices) -> list:
    """Catalog names of the rows' device texts (``"H100 SXM"`` -> ``"H100"``), one look-up each."""
    names = {}
    for d in set(map(str, devices)):
        dev = _lookup_device(d)
        names[d] = d if dev is None else dev.name  # a device the catalog lacks keeps its own text
    return [names[str(d)] for d in devices]


def _model_key(name: str) -> str:
    """The model a fit records: the zoo's name when the catalog knows it, else the checkpoint's
    name without organisation and quantisation/instruct suffix (``nvidia/Qwen3-32B-NVFP4`` ->
    ``Qwen3-32B``): a re-quantised checkpoint is the same model.

    Examples
    --------
    >>> _model_key("meta-llama/Llama-3.1-70B"), _model_key("nvidia/Qwen3-32B-NVFP4")
    ('Llama-3.1-70B', 'Qwen3-32B')
    """
    import re  # noqa: PLC0415

    from ..catalog.loader import active_catalog  # noqa: PLC0415
    try:
        return active_catalog().get("model", name).name
    except Exception:  # noqa: BLE001 - not a zoo model: its checkpoint name
        base = str(name).split("/")[-1]
        return re.sub(r"(-(NVFP4|FP8|FP4|Instruct))+$", "", base, flags=re.IGNORECASE)


def _system_spread(res: np.ndarray, devices: list) -> float:
    """Root mean square of the per-device median log-residuals (0 with fewer than two devices).

    The fit centres the residuals over all rows, so each device's median is its offset from
    the shared level; their RMS is the offset a GPU absent from the fit is expected to show.
    """
    dev = np.asarray(devices)
    med = [float(np.median(res[dev == d])) for d in np.unique(dev)]
    return float(np.sqrt(np.mean(np.square(med)))) if len(med) > 1 else 0.0


def _shared_engine_prior() -> dict:
    return {k: float(np.exp(np.mean([np.log(v[k]) for v in ENGINE_PRIORS.values()]))) for k in ENGINE_KEYS}


def predict_inputs(inp: dict, params: dict, engine_values: dict | None = None) -> dict:
    """Evaluate fit inputs with `params` (``engine_values``: per-row arrays of the engine keys)."""
    from ..serving.core import evaluate  # noqa: PLC0415
    p = dict(params)
    if engine_values:
        p.update(engine_values)
    keys = inp["prec"]["math_key"]
    rel = np.ones(len(keys))
    for name, k in _MATH_REL.items():
        if k:
            rel = np.where(keys == name, p[k], rel)
    prec = {**inp["prec"], "math_rel": rel}
    return evaluate(inp["shape"], inp["hw"], inp["lay"], prec, inp["wl"], p, cache=inp.get("cache"))


def _subset(t, inp, mask):
    """Rows `mask` of the frame and of every array of the inputs."""
    n = len(t)

    def cut(v):
        return v[mask] if isinstance(v, np.ndarray) and v.shape[:1] == (n,) else v
    return t[mask], {grp: {k: cut(v) for k, v in d.items()} for grp, d in inp.items()}


def _version_key(framework: str, engine: str) -> str:
    """``"<engine> <version>"`` of a framework text (versions not stated stay apart)."""
    text = str(framework).strip()
    return text if text.startswith(engine) else f"{engine} {text}"


def _sparse_jacobian(fun, structure, upper, step: float = 1e-3):
    """Forward-difference Jacobian of `fun` with an absolute step in log space, columns that touch
    disjoint rows perturbed together (Curtis-Powell-Reid grouping).

    scipy's relative steps shrink to ~1e-8 (or to nothing) for parameters that start at 0, the
    engines' log-offsets whose prior is the shared value, which froze them at their prior; an
    absolute step of 1e-3 (0.1 % in the parameter) moves every column alike. The residuals at
    the point come from the solver's last evaluation when it was at the same point.
    """
    from scipy.optimize._numdiff import group_columns  # noqa: PLC0415
    from scipy.sparse import csc_matrix  # noqa: PLC0415
    groups = group_columns(structure)
    rows, cols = structure.nonzero()
    # per group: its columns and the structure's entries in them (fixed for the whole fit)
    plan = [(groups == grp, np.flatnonzero(groups[cols] == grp)) for grp in np.unique(groups)]
    last = {}

    def f(theta):
        out = fun(theta)
        last["x"], last["f"] = theta.copy(), out
        return out

    def jac(theta):
        f0 = last["f"] if "x" in last and np.array_equal(last["x"], theta) else fun(theta)
        h = np.where(theta + step <= upper, step, -step)
        vals = np.empty(len(rows))
        for members, sel in plan:
            df = fun(theta + h * members) - f0
            vals[sel] = df[rows[sel]] / h[cols[sel]]
        return csc_matrix((vals, (rows, cols)), shape=structure.shape)
    return f, jac


def fit_serving(df: pd.DataFrame, *, max_nfev: int = 60, by_version: bool = False) -> ServingCalibration:
    """Fit :class:`ServingCalibration` to the serving rows of a measurement table.

    The parameters are the global efficiencies (:data:`_FREE`), the engines' shared overheads, one
    log-offset per engine (prior: :data:`ENGINE_PRIORS`, sd 1) and, with ``by_version``, one
    per engine version (prior 0, sd 0.5: a version differs from its engine less than engines
    differ). Off by default: in the shared rows the versions are confounded with the GPUs
    (each system was measured with its own set of versions), so version offsets absorb
    hardware differences and transfer worse to a GPU absent from the rows
    (leave-one-system-out TTFT error 38-41 % with them, 34-38 % without; in-sample 23 % with).
    Finite-difference Jacobian columns of offsets that touch disjoint rows are evaluated
    together (:func:`_sparse_jacobian`, absolute steps in log space), so the offsets cost one
    evaluation per key; the rows' geometry is computed once. TPOT residuals weigh
    :data:`_TPOT_WEIGHT` times TTFT's (inverse noise). An engine the fit has not seen takes
    the shared level (the engines' geometric mean instead: leave-one-engine-out TTFT 67 %
    against 36 %, TPOT 17 % against 16 %).

    Parameters
    ----------
    df : pandas.DataFrame
        Measurement rows with metrics ``ttft_ms``/``tpot_ms`` [ms] and the serving detail
        columns (:func:`plaster_model.read_measurements` of the shared serving table).
    max_nfev : int
        Function evaluations of the least-squares solver.
    by_version : bool
        Fit one offset per engine version as well.

    Returns
    -------
    ServingCalibration
        The fitted efficiencies, engine overheads and residual quantiles.

    Raises
    ------
    CalibrationError
        Fewer than 10 usable measurements.

    Examples
    --------
    >>> import plaster_model as pm                                                 # doctest: +SKIP
    >>> cal = pm.fit_serving(pm.read_measurements("serving_sample.csv"))          # doctest: +SKIP
    >>> cal.params["eta_mem"] < 1                                                  # doctest: +SKIP
    True
    """
    from scipy.optimize import least_squares  # noqa: PLC0415
    from scipy.sparse import lil_matrix  # noqa: PLC0415
    t, inp, notes = serving_inputs(df)
    if len(t) < 10:
        raise CalibrationError(f"serving fit: {len(t)} usable measurements; need at least 10")
    fits = predict_inputs(inp, {**SERVING_PARAMETERS, **_shared_engine_prior()})["fits"]
    if not fits.all():
        notes.append(f"{int((~fits).sum())} measurements whose configuration does not fit the model's "
                     "memory estimate left out of the fit")
        t, inp = _subset(t, inp, fits)
    n = len(t)
    engines = sorted(t["engine_name"].unique())
    vkeys = [_version_key(f, e) if by_version else e for f, e in zip(t["framework"], t["engine_name"])]
    versions = sorted(set(vkeys)) if by_version else []
    eidx = t["engine_name"].map({e: i for i, e in enumerate(engines)}).to_numpy()
    vidx = np.array([versions.index(v) for v in vkeys]) if by_version else np.zeros(len(t), int)
    y_ttft, y_tpot = np.log(t["ttft_ms"].to_numpy(float) / 1e3), np.log(t["tpot_ms"].to_numpy(float) / 1e3)
    shared_prior = _shared_engine_prior()
    ne, nf, E, V = len(ENGINE_KEYS), len(_FREE), len(engines), len(versions)
    prior = np.array([math.log(SERVING_PARAMETERS[k]) for k in _FREE]
                     + [math.log(shared_prior[k]) for k in ENGINE_KEYS]
                     + [math.log(ENGINE_PRIORS.get(e, shared_prior)[k] / shared_prior[k])
                        for e in engines for k in ENGINE_KEYS] + [0.0] * (ne * V))
    sd = np.array(list(_FREE.values()) + [1.5] * ne + [_ENGINE_PRIOR_SD] * (ne * E) + [_VERSION_PRIOR_SD] * (ne * V))
    upper = np.array([math.log(_UPPER[k]) for k in _FREE] + [math.log(_UPPER.get(k, 1.0)) for k in ENGINE_KEYS]
                     + [6.0] * (ne * (E + V)))
    lower = np.array([math.log(1e-8 if k.endswith("_s") else 1e-3) for k in _FREE]
                     + [math.log(1e-8 if k.endswith("_s") else 1e-3) for k in ENGINE_KEYS] + [-6.0] * (ne * (E + V)))
    x0 = np.clip(prior, lower + 1e-6, upper - 1e-6)
    w_prior = math.sqrt(max(n, 1) / 200.0)  # priors count as ~200 rows' worth of evidence at most

    def unpack(theta):
        p = dict(SERVING_PARAMETERS)
        p.update({k: float(np.exp(theta[i])) for i, k in enumerate(_FREE)})
        shared = theta[nf:nf + ne]
        p.update({k: float(np.exp(shared[j])) for j, k in enumerate(ENGINE_KEYS)})
        eo = theta[nf + ne:nf + ne + ne * E].reshape(E, ne)
        vo = theta[nf + ne + ne * E:].reshape(V, ne) if V else np.zeros((1, ne))
        return p, shared, eo, vo

    def residuals(theta):
        p, shared, eo, vo = unpack(theta)
        ev = {k: np.exp(shared[j] + eo[eidx, j] + vo[vidx, j]) for j, k in enumerate(ENGINE_KEYS)}
        out = predict_inputs(inp, p, ev)
        r1 = np.log(np.maximum(out["ttft_s"], 1e-9)) - y_ttft
        r2 = np.log(np.maximum(out["tpot_s"], 1e-9)) - y_tpot
        return np.concatenate([r1, _TPOT_WEIGHT * r2, w_prior * (theta - prior) / sd / math.sqrt(n)])

    inp = {**inp, "cache": {}}  # the rows' geometry, computed at the first evaluation
    m = len(prior)
    sparsity = lil_matrix((2 * n + m, m), dtype=int)
    sparsity[: 2 * n, : nf + ne] = 1
    rows = np.arange(n)
    for j in range(ne):
        for block, idx in ((nf + ne, eidx), (nf + ne + ne * E, vidx))[: 2 if V else 1]:
            cols = block + idx * ne + j
            sparsity[rows, cols] = 1
            sparsity[rows + n, cols] = 1
    sparsity[2 * n + np.arange(m), np.arange(m)] = 1
    fun, jac = _sparse_jacobian(residuals, sparsity.tocsc(), upper)
    # stop at a 0.1 % change of the robust cost or of the parameters: the fit's median errors move
    # in the fourth digit beyond it (2558 shared rows: cost 190.54 against 190.49 at 1e-8), in half
    # the Jacobians
    sol = least_squares(fun, x0, bounds=(lower, upper), loss=_LOSS, f_scale=_F_SCALE, max_nfev=max_nfev,
                        x_scale=1.0, jac=jac, ftol=1e-3, xtol=1e-3)
    p, shared, eo, vo = unpack(sol.x)
    eng = {e: {k: float(np.exp(shared[j] + eo[i, j])) for j, k in enumerate(ENGINE_KEYS)}
           for i, e in enumerate(engines)}
    ver = {v: {k: float(np.exp(shared[j] + eo[engines.index(v.split()[0]) if v.split()[0] in engines else 0, j]
                               + vo[i, j])) for j, k in enumerate(ENGINE_KEYS)}
           for i, v in enumerate(versions)}
    res = sol.fun[: 2 * n] / np.repeat([1.0, _TPOT_WEIGHT], n)
    rq = {"ttft_ms": tuple(np.quantile(res[:n], [0.05, 0.95])),
          "tpot_ms": tuple(np.quantile(res[n:], [0.05, 0.95]))}
    spread = float(np.std(eo, axis=0).mean()) if E > 1 else 0.5
    vspread = float(np.std(vo, axis=0).mean()) if V > 1 else 0.0
    devs = _catalog_names(t["device"])
    sys_spread = {"ttft_ms": _system_spread(res[:n], devs), "tpot_ms": _system_spread(res[n:], devs)}
    # the same RMS over models: what a model the fit has not seen is expected to be off by
    mods = [_model_key(m) for m in t["model_name"]]
    mod_spread = {"ttft_ms": _system_spread(res[:n], mods), "tpot_ms": _system_spread(res[n:], mods)}
    return ServingCalibration({k: float(v) for k, v in p.items()}, eng, spread,
                              {k: (float(a), float(b)) for k, (a, b) in rq.items()}, int(n), notes,
                              versions=ver, version_spread=vspread, devices=sorted(set(devs)),
                              system_spread=sys_spread, models=sorted(set(mods)), model_spread=mod_spread)


def split_and_fit(df: pd.DataFrame):
    """(the rows that are not serving rows, a ServingCalibration of the serving rows or None).

    The hook :meth:`plaster_model.Calibration.fit` calls: serving rows go to
    :func:`fit_serving` (when there are any), the rest to the step model.
    """
    mask = is_serving_rows(df)
    if not mask.any():
        return df, None
    return df[~mask], fit_serving(df[mask])


def predict_with(calibration, df: pd.DataFrame, predict_rest) -> pd.DataFrame:
    """:meth:`plaster_model.Calibration.predict` for a table holding serving rows.

    Serving rows get ``value`` (ms), ``value_low``/``value_high`` from the calibration's
    serving fit; the other rows go to ``predict_rest``.
    """
    from ..errors import NotFittedError  # noqa: PLC0415
    serving = getattr(calibration, "serving_", None)
    if serving is None:
        raise NotFittedError("this Calibration holds no serving fit: fit it on rows with metrics ttft_ms/tpot_ms")
    mask = is_serving_rows(df)
    out = df.copy()
    if "value" in out.columns:
        out["measured_value"] = out["value"]
    for col in ("value", "value_low", "value_high"):
        out[col] = np.nan
    out["reason"] = None
    sub = df[mask]
    key = "dup_group" if "dup_group" in sub.columns else "source_detail"
    pred = serving.predict_rows(sub)
    for metric in SERVING_METRICS:
        m = metric.split("_")[0]
        rows = sub.index[sub["metric"] == metric]
        k = sub.loc[rows, key]
        for col, src in (("value", f"{m}_pred_ms"), ("value_low", f"{m}_low_ms"), ("value_high", f"{m}_high_ms")):
            out.loc[rows, col] = k.map(pred[src]).to_numpy(float)
    missing = mask & out["value"].isna()
    out.loc[missing, "reason"] = "serving row without a resolved layout, known model or concurrency"
    if (~mask).any():
        rest = predict_rest(df[~mask])
        for col in rest.columns:
            out.loc[~mask, col] = rest[col]
    return out
