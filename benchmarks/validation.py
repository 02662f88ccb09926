"""Leave-one-source-out validation of the calibration on the published measurements.

For every ``source`` of ``shared/data/published_measurements.csv`` the calibration is fitted
on the other sources and predicts the held-out rows; the absolute percentage error
``|ŷ/y − 1|`` is summarised per metric (median and 90th percentile), next to the
uncalibrated prediction (catalog peak, efficiency 1, no overhead) and the in-sample fit, with
the share of measured values inside the 90 % prediction intervals.

Run from the repository root::

    .venv/bin/python benchmarks/validation.py            # print the tables (about 2 minutes)
    .venv/bin/python benchmarks/validation.py --write    # also rewrite docs/validation.md

Options: ``--csv PATH`` (default ``../shared/data/published_measurements.csv``),
``--n-bootstrap N`` (bootstrap refits per fit, default 50), ``--no-ablation`` (skip the
comparison of calibration settings).
"""
from __future__ import annotations

import argparse
import math
import platform
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import plaster_model as pm  # noqa: E402
from plaster_model.calibration.predict import log_prediction  # noqa: E402
from plaster_model.calibration.rows import prepare_rows  # noqa: E402

DEFAULT_CSV = REPO.parent / "shared" / "data" / "published_measurements.csv"
METRIC_ORDER = ["throughput_img_s", "latency_ms", "time_per_iter_s", "time_to_train_min",
                "epoch_time_s", "scaling_efficiency"]

#: Calibration settings compared in the ablation (the first is the library default).
CONFIGS = {
    "default (backend per row, device × precision × phase[ × engine], model factors per phase)": {},
    "no model factors": {"model_factors": False},
    "groups split by framework": {"by_framework": True},
    "one group per model (per='device_precision_model')": {"per": "device_precision_model"},
    "seed tree for every multi-device row (serial)": {"algorithm": "tree"},
    "ring for every multi-device row (serial)": {"algorithm": "ring"},
    "plain least squares (loss='linear')": {"loss": "linear"},
}


def uncalibrated(df: pd.DataFrame, roofline: bool = True) -> pd.DataFrame:
    """Predictions at the per-operator roofline (``roofline=False``: the catalog peak): η = 1,
    no overhead, η_comm = η_m = 1, κ = 1."""
    rows = prepare_rows(df, roofline=roofline)
    n = len(df)
    lp = log_prediction(rows, np.ones(n), np.zeros(n), np.ones(n), np.ones(n))
    out = df.copy()
    out["measured_value"] = out["value"]
    out["value"] = np.where(rows.ok, np.exp(lp), np.nan)
    out["reason"] = rows.reason
    return out


def leave_one_source_out(df: pd.DataFrame, **kw) -> pd.DataFrame:
    """Held-out predictions for every row (``value``, ``value_low``, ``value_high``, ...)."""
    parts = []
    for source in df["source"].unique():
        test = df["source"] == source
        cal = pm.calibrate(df[~test], **kw)
        parts.append(cal.predict(df[test]).assign(held_out_source=source))
    return pd.concat(parts).loc[df.index]


def split_keys(df: pd.DataFrame) -> dict:
    """The held-out key of every row for each split: ``source``, ``family`` (the model's
    architecture family), ``device`` and ``precision`` (as the catalog names them), ``engine``
    (inference: TensorRT / onnxruntime / a framework's runtime; training: the framework
    family). Rows the library cannot map keep their raw text."""
    from plaster_model.calibration.rows import framework_family, inference_engine, model_family

    rows = prepare_rows(df)
    raw = lambda col: df[col].astype(str).tolist() if col in df else [""] * len(df)  # noqa: E731
    fam = [model_family(m) or str(r) if m else str(r) for m, r in zip(rows.model, raw("model"))]
    dev = [d or str(r) for d, r in zip(rows.device, raw("device"))]
    prec = [q or str(r) for q, r in zip(rows.precision, raw("precision"))]
    eng = [f"inference: {inference_engine(f)}" if ph == "inference" else f"training: {framework_family(f)}"
           for ph, f in zip(df["phase"], raw("framework"))]
    return {"source": df["source"].astype(str).tolist(), "family": fam, "device": dev,
            "precision": prec, "engine": eng}


def leave_one_out(df: pd.DataFrame, keys, **kw) -> pd.DataFrame:
    """Held-out predictions for every row, each key value held out in turn (the fit sees
    none of its rows). A held-out set the rest cannot answer (no group of its phase) stays
    NaN, with ``reason``."""
    keys = pd.Series(list(keys), index=df.index)
    parts = []
    for k in keys.unique():
        test = (keys == k).to_numpy()
        try:
            cal = pm.calibrate(df[~test], **kw)
            parts.append(cal.predict(df[test]).assign(held_out=k))
        except (ValueError, LookupError) as exc:
            part = df[test].copy()
            part["measured_value"], part["value"] = part["value"], np.nan
            part["value_low"] = part["value_high"] = np.nan
            part["calibration_fallback"], part["reason"], part["held_out"] = None, str(exc)[:80], k
            parts.append(part)
    return pd.concat(parts).loc[df.index]


def transfer_table(preds: dict) -> pd.DataFrame:
    """Per split and metric: rows, predicted, median/p90 |error|, coverage of all, fitted and
    fallback answers."""
    recs = []
    for split, pred in preds.items():
        labels = pred.apply(lambda r: _metric_label(r["phase"], r["metric"]), axis=1)
        for label in ("throughput_img_s (training)", "throughput_img_s (inference)", "latency_ms",
                      "time_per_iter_s", "time_to_train_min"):
            g = pred[labels == label]
            if not len(g):
                continue
            med, p90 = _stats(_abs_pct(g))
            fb = g["calibration_fallback"].fillna(False).astype(bool)
            ok = g["value"].notna()
            fmed, _ = _stats(_abs_pct(g[~fb]))
            bmed, _ = _stats(_abs_pct(g[fb]))
            recs.append({"split": split, "metric": label, "rows": len(g), "predicted": int(ok.sum()),
                         "median %": med, "p90 %": p90, "coverage %": _coverage(g),
                         "fitted n": int((ok & ~fb).sum()), "fitted median %": fmed,
                         "fitted coverage %": _coverage(g[~fb]),
                         "fallback n": int((ok & fb).sum()), "fallback median %": bmed,
                         "fallback coverage %": _coverage(g[fb]),
                         "interval width median ×": _width(g)})
    return pd.DataFrame(recs)


def _width(g: pd.DataFrame) -> float:
    ok = g["value_high"].notna() & g["value_low"].notna() & (g["value_low"] > 0)
    return float(np.median(g.loc[ok, "value_high"] / g.loc[ok, "value_low"])) if ok.any() else math.nan


SWEEP = REPO.parent / "shared" / "trtexec_samples" / "trt86_rtx3060laptop_resnet50_sweep"


def trtexec_sweep_lopo(n_bootstrap: int = 10, **kw) -> pd.DataFrame | None:
    """The shared RTX 3060 Laptop / TensorRT 8.6 / ResNet-50 sweep: each precision predicted
    by a calibration fitted on the sweep's other precisions (the device at its logged clock,
    as ``tests/test_calibration.py`` builds it)."""
    if not SWEEP.is_dir():
        return None
    meas = pm.read_measurements(SWEEP)
    sms, clock = 30, 1.702e9   # from the log's device block
    gpu = pm.Device(name="RTX 3060 Laptop", peak_flops={"fp32": sms * 256 * clock,
                    "fp16_tensor": sms * 1024 * clock, "int8": sms * 2048 * clock},
                    memory_bytes="6 GiB", memory_bandwidth="336 GB/s", power_w="115 W",
                    source="NVIDIA Ampere GA10x per-SM rates at the logged clock")
    models = {m: pm.load_model("ResNet-50 v1.5") for m in meas["model"].unique()}
    devices = {d: gpu for d in meas["device"].unique()}
    parts = []
    for q in meas["precision"].unique():
        test = meas["precision"] == q
        cal = pm.calibrate(meas[~test], n_bootstrap=n_bootstrap, models=models, devices=devices, **kw)
        parts.append(cal.predict(meas[test]).assign(held_out=q))
    return pd.concat(parts)


def _abs_pct(g: pd.DataFrame) -> np.ndarray:
    ok = g["value"].notna() & g["measured_value"].notna()
    return (np.abs(g.loc[ok, "value"] / g.loc[ok, "measured_value"] - 1) * 100).to_numpy()


def _stats(e: np.ndarray) -> tuple[float, float]:
    return (float(np.median(e)), float(np.percentile(e, 90))) if e.size else (math.nan, math.nan)


def _coverage(g: pd.DataFrame) -> float:
    ok = g["value"].notna() & g["measured_value"].notna()
    if not ok.any() or "value_low" not in g:
        return math.nan
    inside = (g.loc[ok, "measured_value"] >= g.loc[ok, "value_low"]) & \
             (g.loc[ok, "measured_value"] <= g.loc[ok, "value_high"])
    return float(inside.mean() * 100)


def _metric_label(phase: str, metric: str) -> str:
    """Throughput rows are split by phase (the acceptance targets differ); others by metric."""
    return f"{metric} ({phase})" if metric == "throughput_img_s" else metric


def error_table(pred: pd.DataFrame) -> pd.DataFrame:
    """Per metric (throughput per phase): rows, rows predicted, median and p90 absolute %
    error, interval coverage."""
    recs = []
    labels = pred.apply(lambda r: _metric_label(r["phase"], r["metric"]), axis=1)
    order = []
    for m in METRIC_ORDER:
        order += [f"{m} (training)", f"{m} (inference)"] if m == "throughput_img_s" else [m]
    for label in [m for m in order if m in set(labels)]:
        g = pred[labels == label]
        med, p90 = _stats(_abs_pct(g))
        recs.append({"metric": label, "rows": len(g), "predicted": int(g["value"].notna().sum()),
                     "median": med, "p90": p90, "coverage": _coverage(g)})
    return pd.DataFrame(recs)


def split_table(loso: pd.DataFrame) -> pd.DataFrame:
    """LOSO errors for rows whose own group was fitted from other sources vs fallbacks."""
    recs = []
    ok = loso["value"].notna()
    labels = loso.apply(lambda r: _metric_label(r["phase"], r["metric"]), axis=1)
    for fb, label in ((False, "own group fitted on other sources"),
                      (True, "fallback (device / precision / engine not in the other sources)")):
        for metric in ("throughput_img_s (training)", "throughput_img_s (inference)", "latency_ms"):
            g = loso[ok & (loso["calibration_fallback"] == fb) & (labels == metric)]
            med, p90 = _stats(_abs_pct(g))
            recs.append({"rows": label, "metric": metric, "n": len(g), "median": med, "p90": p90,
                         "coverage": _coverage(g)})
    return pd.DataFrame(recs)


def source_table(loso: pd.DataFrame, base: pd.DataFrame) -> pd.DataFrame:
    recs = []
    for source, g in loso.groupby("source", sort=False):
        med, p90 = _stats(_abs_pct(g))
        umed, _ = _stats(_abs_pct(base.loc[g.index]))
        recs.append({"source": source, "rows": len(g), "predicted": int(g["value"].notna().sum()),
                     "median": med, "p90": p90, "uncal_median": umed})
    return pd.DataFrame(recs)


def ablation(df: pd.DataFrame) -> pd.DataFrame:
    recs = []
    for name, extra in CONFIGS.items():
        pred = leave_one_source_out(df, **{"n_bootstrap": 0, **extra})
        t = error_table(pred).set_index("metric")
        tr = "throughput_img_s (training)"
        recs.append({"setting": name,
                     "training throughput median %": t.loc[tr, "median"],
                     "training throughput p90 %": t.loc[tr, "p90"],
                     "latency median %": t.loc["latency_ms", "median"],
                     "training throughput 90 % coverage %": t.loc[tr, "coverage"],
                     "latency 90 % coverage %": t.loc["latency_ms", "coverage"]})
    return pd.DataFrame(recs)


def run(csv=DEFAULT_CSV, n_bootstrap=50, with_ablation=True, roofline=True) -> dict:
    df = pm.read_measurements(str(csv))
    kw = {"n_bootstrap": n_bootstrap, "roofline": roofline}
    t0 = time.perf_counter()
    loso = leave_one_source_out(df, **kw)
    seconds = time.perf_counter() - t0
    base = uncalibrated(df, roofline=roofline)
    t1 = time.perf_counter()
    cal = pm.calibrate(df, **kw)
    t_cal = time.perf_counter() - t1
    insample = cal.predict(df)
    keys = split_keys(df)
    preds = {"source": loso}
    for split in ("family", "device", "precision", "engine"):
        preds[split] = leave_one_out(df, keys[split], **kw)
    sweep = trtexec_sweep_lopo(min(n_bootstrap, 20), roofline=roofline)
    if sweep is not None:
        preds["trtexec sweep precision"] = sweep
    out = {"df": df, "loso": loso, "base": base, "cal": cal, "seconds": seconds, "t_calibrate": t_cal,
           "t_loso": error_table(loso), "t_uncal": error_table(base), "t_in": error_table(insample),
           "t_split": split_table(loso), "t_sources": source_table(loso, base),
           "t_transfer": transfer_table(preds)}
    if with_ablation:
        out["t_ablation"] = ablation(df)
    return out


def run_transfer(csv=DEFAULT_CSV, n_bootstrap=50, roofline=True) -> pd.DataFrame:
    """Only the transfer table (every split), for the comparison with another setting."""
    df = pm.read_measurements(str(csv))
    kw = {"n_bootstrap": n_bootstrap, "roofline": roofline}
    keys = split_keys(df)
    preds = {split: leave_one_out(df, keys[split], **kw)
             for split in ("source", "family", "device", "precision", "engine")}
    sweep = trtexec_sweep_lopo(min(n_bootstrap, 20), roofline=roofline)
    if sweep is not None:
        preds["trtexec sweep precision"] = sweep
    return transfer_table(preds)


# ------------------------------------------------------------------------- report
def _f(v, digits=1) -> str:
    return "–" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.{digits}f}"


def _md(df: pd.DataFrame, fmt: dict | None = None) -> str:
    fmt = fmt or {}
    head = "| " + " | ".join(df.columns) + " |"
    sep = "|" + "|".join("---:" if pd.api.types.is_numeric_dtype(df[c]) else "---" for c in df.columns) + "|"
    lines = [head, sep]
    for _, r in df.iterrows():
        cells = []
        for c in df.columns:
            v = r[c]
            cells.append(fmt[c](v) if c in fmt else (_f(v) if isinstance(v, float) else str(v)))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def headline(res: dict) -> pd.DataFrame:
    lo, un, ins = (res[k].set_index("metric") for k in ("t_loso", "t_uncal", "t_in"))
    recs = []
    for m in lo.index:
        recs.append({"metric": f"`{m}`", "rows": int(lo.loc[m, "rows"]), "predicted": int(lo.loc[m, "predicted"]),
                     "LOSO median %": lo.loc[m, "median"], "LOSO p90 %": lo.loc[m, "p90"],
                     "uncalibrated median %": un.loc[m, "median"], "uncalibrated p90 %": un.loc[m, "p90"],
                     "in-sample median %": ins.loc[m, "median"], "in-sample p90 %": ins.loc[m, "p90"],
                     "LOSO 90 % interval coverage %": lo.loc[m, "coverage"]})
    return pd.DataFrame(recs)


def _before_after(res: dict) -> str:
    if "t_transfer_before" not in res:
        return ""
    a = res["t_transfer"].set_index(["split", "metric"])
    b = res["t_transfer_before"].set_index(["split", "metric"])
    recs = []
    for k in a.index:
        recs.append({"split": k[0], "metric": k[1],
                     "FLOP-only median %": b["median %"].get(k, math.nan),
                     "roofline median %": a.loc[k, "median %"],
                     "FLOP-only coverage %": b["coverage %"].get(k, math.nan),
                     "roofline coverage %": a.loc[k, "coverage %"]})
    return ("Before and after the per-operator roofline (`Calibration(roofline=False)`, the FLOP-only "
            "model η·κ·γ_peak that this page reported before, against the default):\n\n"
            + _md(pd.DataFrame(recs)))


def _targets(t: pd.DataFrame) -> str:
    t = t.set_index(["split", "metric"])
    goals = [(("source", "throughput_img_s (training)"), 8), (("source", "throughput_img_s (inference)"), 12),
             (("source", "latency_ms"), 12)]
    for sp in ("family", "device", "precision"):
        for m in ("throughput_img_s (training)", "throughput_img_s (inference)", "latency_ms"):
            goals.append(((sp, m), 15))
    for m in ("throughput_img_s (inference)", "latency_ms"):
        goals.append((("trtexec sweep precision", m), 15))
    out = []
    for k, goal in goals:
        if k not in t.index:
            continue
        med, cov = t.loc[k, "median %"], t.loc[k, "coverage %"]
        out.append(f"{k[0]} {k[1]} {_f(med)} % ({'met' if med <= goal else 'not met'}, ≤ {goal} %), "
                   f"coverage {_f(cov, 0)} % ({'met' if 80 <= cov <= 95 else 'not met'})")
    return "; ".join(out) + "."


def _kept_sections(path: Path) -> str:
    """The sections other benchmarks write into the same page, between their own markers
    (``<!-- name:begin -->`` or ``:start`` ... ``<!-- name:end -->``), kept as they are."""
    import re

    if not path.exists():
        return ""
    old = path.read_text(encoding="utf-8")
    found = re.finditer(r"<!-- ([\w-]+):(?:begin|start) -->.*?<!-- \1:end -->", old, flags=re.S)
    return "".join("\n" + m.group(0) + "\n" for m in found)


def write_report(res: dict, path: Path, n_bootstrap: int) -> None:
    df, cal = res["df"], res["cal"]
    hl = headline(res)
    lo = res["t_loso"].set_index("metric")
    tr = lo.loc["throughput_img_s (training)"]
    lat = lo.loc["latency_ms"]
    skipped = cal.skipped_["reason"].value_counts()
    src = res["t_sources"].copy()
    src["source"] = src["source"].str.replace("|", "/", regex=False)
    src = src.rename(columns={"median": "median %", "p90": "p90 %", "uncal_median": "uncalibrated median %"})
    split = res["t_split"].rename(columns={"median": "median %", "p90": "p90 %", "coverage": "coverage %"})
    mf = cal.model_factors_
    k = mf[mf["phase"] == "training"].set_index("model")["factor"]  # one factor per model and phase
    ratio = lambda a, b: k[a] / k[b] if a in k and b in k else math.nan  # noqa: E731
    ce = cal.comm_efficiencies_[["backend", "link_class", "comm_efficiency", "comm_efficiency_low",
                                 "comm_efficiency_high", "n_rows"]]
    verdict = lambda ok: "met" if ok else "not met"  # noqa: E731
    cov_ok = lambda c: 85 <= c <= 95  # noqa: E731
    text = f"""# Validation

How well does a calibration fitted on some published measurements predict others? This page
answers with a **leave-one-source-out** (LOSO) cross-validation on
`shared/data/published_measurements.csv` ({len(df)} rows from {df['source'].nunique()} public
sources, none produced by this project): for each `source`, the calibration is fitted on all
the *other* sources and predicts the held-out rows. The error of a row is `|ŷ/y − 1|`; the
tables give its median and 90th percentile per metric (throughput split into training and
inference rows). "Uncalibrated" predicts on the per-operator roofline at the catalog peaks
(efficiency 1, no overhead, ideal links, each row's communication backend); "in-sample" fits and predicts all rows.
"Coverage" is the share of measured values inside the calibrated 90 % prediction interval
(`value_low`…`value_high`): an honest 90 % interval covers 85–95 % of held-out rows.
Calibrating all rows took {res['t_calibrate']:.1f} s here (`n_bootstrap={n_bootstrap}`, on a
shared two-core machine).

Reproduce (about a minute on a laptop core):

```bash
.venv/bin/python benchmarks/validation.py --write --compare   # rewrites this page
```

Settings: `pm.calibrate(rows, n_bootstrap={n_bootstrap})` with the defaults: each row's compute
on the per-operator roofline of its model, device and precision (`estimators/step.py`; η a
fraction of that roofline, 3 × 3 stride-1 fp32 convolutions at Winograd's 2.25 ×, fused
element-wise operators under TensorRT/onnxruntime), each
multi-device row modelled with its communication backend (read from its framework and
notes: NCCL rings, parameter servers, Caffe's tree) and that backend's overlap, `η_comm`
per (backend, link class), groups by device × precision × phase (× inference engine), model
factors per (model, phase) with family priors, an inference batch's overhead scaled by the
model's operator count (`Model.kernels`), parameters no row links solved apart (training and
inference), a missing batch taken from the reference script's documented default (stated),
soft-L1 loss; generated {date.today().isoformat()} with Python
{platform.python_version()}, plaster_model {pm.__version__}.

## Results

{_md(hl, {"rows": str, "predicted": str})}

**Against the targets** (LOSO median ≤ 12 % on training throughput and ≤ 20 % on latency,
90 % interval coverage 85–95 % for both):

- training throughput: median **{tr['median']:.1f} %** ({verdict(tr['median'] <= 12)}), coverage
  **{tr['coverage']:.0f} %** ({verdict(cov_ok(tr['coverage']))});
- latency: median **{lat['median']:.1f} %** ({verdict(lat['median'] <= 20)}), coverage
  **{lat['coverage']:.0f} %** ({verdict(cov_ok(lat['coverage']))}).

### Transfer: leave one model family, device, precision or engine out

Leave-one-source-out holds out a publication; it never asks about a model family, a device,
a precision or an inference engine the fit has not seen. These splits do: each value of the
key is held out in turn (the fit sees none of its rows) and predicted by the calibration of
the rest. *family* is the model's architecture family (ResNets, VGG, Inception, AlexNet);
*device* and *precision* are the catalog's names; *engine* is, for inference rows, TensorRT /
onnxruntime / a framework's own runtime and, for training rows, the framework family. The
last split is the shared trtexec sweep (RTX 3060 Laptop, TensorRT 8.6, ResNet-50, fp32 /
fp16 / int8 at batch 1–128: `shared/trtexec_samples/trt86_rtx3060laptop_resnet50_sweep`), each
precision predicted from the other two. *Fitted* answers are rows whose own group the rest
fitted; *fallback* answers come from another group (see below). Width is the median ratio
`value_high / value_low` of the 90 % interval.

{_md(res["t_transfer"], {"rows": str, "predicted": str, "fitted n": str, "fallback n": str})}

{_before_after(res)}

**Against issue 22's targets** (leave-one-source-out ≤ 8 % training throughput and ≤ 12 %
inference throughput and latency; family-, device- and precision-out ≤ 15 %; the sweep's
precision-out ≤ 15 %; coverage 80–95 % in every split): {_targets(res["t_transfer"])}

Where the roofline loses: leaving one **inference engine** out asks the framework groups
about TensorRT and the other way round, and the TensorRT groups were fitted on runs served
by Triton (about 0.5 ms per sample of server and protocol time inside the measurement): a
fused-graph roofline with a framework's efficiency, or an unfused one with a
Triton-polluted efficiency, misses more than the FLOP-only model, whose one factor per
group absorbed both. Keeping server time apart from the engine (a serving-mode column on
the rows) is the fix, not yet made.

A device the fit never saw no longer takes the nearest-peak device's efficiency (a K80
answered by the PaddlePaddle K40 runs, 45 % on leave-one-device-out training before this
change): it takes a fitted board of its own GPU die where one exists (V100 PCIe for V100
SXM2), else the efficiency its precision path shares across devices (a random-effects mean)
plus its architecture's deviation, kriged along the launch year, with the device-to-device
spread in its interval (`calibration/pooling.py`, `calibration/architecture.py`). What that
leaves: a generation newer than every fitted one (V100 fp32 with only Kepler and Pascal
fitted at fp32) regresses towards the older generations' efficiency. Leaving one model
**family** out is limited by the model factor an unseen family takes (the median of the
fitted factors: Inception about +40 %, AlexNet about −35 %); reading TF 1.x replicated + NCCL
as not overlapped (as HPE's DLBS and tf_cnn_benchmarks ran it) took away a P100 per-step
overhead that had cancelled part of that error, so the family split moved from 19 % to the
figure above.

### Where the out-of-sample error comes from

{_md(split, {"n": str})}

A *fallback* is a held-out row whose group no other source covers, answered by a similar
fitted group (same device at another precision, a board of the same GPU die, the efficiency
shared across devices with the architecture's deviation, or the median of all groups;
inference stays within its engine: TensorRT,
onnxruntime or a framework's runtime), as the prediction's `calibration_notes` say. Every
T4 and every mixed-precision row lives in one source (NVIDIA's READMEs), every P100 row in
another (TensorFlow 2017), every K40 row in a third (PaddlePaddle): holding those sources
out asks the calibration about hardware and precisions it has never seen. A fallback's
interval is at least the *measured* fallback spread (every fitted group answered from the
others, `Calibration.fallback_spread_`: {", ".join(f"{ph} ×/÷ {math.exp(v):.2f} per sd" for ph, v in cal.fallback_spread_.items() if math.isfinite(v))}).

### Communication efficiency, keyed by how the runs communicated

Fitted on all rows (`Calibration.comm_efficiencies_`; bounded by 1, the link's payload
rate; a prior centred on 1 holds keys the data say little about):

{_md(ce, {"n_rows": str, "comm_efficiency": lambda v: f"{v:.3f}", "comm_efficiency_low": lambda v: f"{v:.3f}",
          "comm_efficiency_high": lambda v: f"{v:.3f}"})}

A parameter server over 10 GbE (TensorFlow 2017 on EC2) no longer sets the efficiency of an
NCCL ring over NVLink or InfiniBand: a prediction for a Horovod/NCCL cluster takes the
`nccl` key of its link class, or the NCCL efficiency of another link, or 1.0, and says which.

### Per held-out source

{_md(src, {"rows": str, "predicted": str})}

### Settings compared (same cross-validation, `n_bootstrap=0`: intervals from the Jacobian)

{_md(res["t_ablation"]) if "t_ablation" in res else "(skipped: --no-ablation)"}

The per-model factors κ matter when the held-out source brings several models (fitted on
all training rows, VGG-16 runs at {ratio('VGG-16', 'ResNet-50'):.1f} × and Inception-v3 at
{ratio('Inception-v3', 'ResNet-50'):.2f} × ResNet-50's rate per nominal FLOP, AlexNet at
{ratio('AlexNet', 'ResNet-50'):.1f} ×); a model the fit never saw takes its family's factor
(ResNet-101 takes the ResNets'), else the median factor, with the model-to-model spread in
its interval. Modelling every multi-device row with one serial algorithm (the seed tree or
a ring) instead of its backend is the calibration before backends were read.

## Caveats

- **Rows not predicted.** {int(cal.skipped_.shape[0])} of {len(df)} rows are not fitted and not
  predicted, each with a reason: {"; ".join(f"{k} × {v}" for v, k in skipped.items())}. "AlexNet (group=1)"
  (ungrouped convolutions, about 1.6 × the FLOPs of the zoo's grouped AlexNet) is not in the
  zoo and is deliberately not aliased; pass `models={{"AlexNet (group=1)": pm.Model(...)}}` to use it.
- **Mapping decisions**, all explicit tables in `plaster_model/calibration/rows.py` and
  `plaster_model/resolution.py`: TPU rows count chips (`TPU2` → `TPU2 chip`); K80 rows are one
  GK210 die; the EC2 network between p2.8xlarge instances is 10 GbE (AWS P2 page) and the
  devices of a multi-node row share a PCIe 3.0 x16 switch and one NIC; NVLink in a DGX-1 is
  NVLink 1 on P100 and NVLink 2 on V100; `variable_update=parameter_server` and
  `distributed_replicated` are parameter servers, `replicated` and Horovod are NCCL
  all-reduces, MXNet's `device` kvstore reduces each gradient on one GPU.
- **What the model cannot know.** Framework overheads at small batch (PyTorch eager ≈ 13 ms
  per batch on a T4, TensorFlow ≈ 5 ms) before any run of that framework is seen; the
  server time of TensorRT behind Triton (the measured latency exceeds the engine's by about
  0.5 ms per sample on both the T4 and the V100, the same on either device: the client's
  input tensors going through the server's protocol, not the GPU); a power-capped device's
  clock against a device on another or unknown fabrication process (on the same process the
  fallbacks scale by `power_capped_clock_ratio`: a 70 W T4 holds 0.768 of a V100's clock
  fraction) and how much faster a
  precision runs before any run at that precision is seen. Time-to-train rows include
  evaluation and checkpointing, which the model does not.
- **Held-out data.** Further published measurements exist that this project has not seen; nothing
  here was tuned to single rows. The defaults (priors, backends' overlaps, the fallback
  rules) were chosen for the method, and this page is the check, not the target of a search.
"""
    path.write_text(text + _kept_sections(path), encoding="utf-8")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", default=str(DEFAULT_CSV))
    ap.add_argument("--n-bootstrap", type=int, default=50)
    ap.add_argument("--no-ablation", action="store_true")
    ap.add_argument("--write", action="store_true", help="rewrite docs/validation.md")
    ap.add_argument("--compare", action="store_true",
                    help="also run every split with roofline=False and report both (the page's before/after)")
    ap.add_argument("--flops-only", action="store_true",
                    help="calibrate with roofline=False (FLOPs at the peak: the model before the step model)")
    args = ap.parse_args(argv)
    if not Path(args.csv).is_file():
        print(f"validation: SKIPPED, data file absent: {args.csv}")
        return 0
    res = run(args.csv, args.n_bootstrap, not args.no_ablation, roofline=not args.flops_only)
    if args.compare:
        res["t_transfer_before"] = run_transfer(args.csv, args.n_bootstrap, roofline=False)
        print(res["t_transfer_before"].round(1).to_string(index=False))
    pd.set_option("display.width", 200)
    pd.set_option("display.max_colwidth", 60)
    print(headline(res).round(1).to_string(index=False))
    print(res["t_split"].round(1).to_string(index=False))
    print(res["t_sources"].round(1).to_string(index=False))
    if "t_ablation" in res:
        print(res["t_ablation"].round(1).to_string(index=False))
    print(res["t_transfer"].round(1).to_string(index=False))
    print(f"leave-one-source-out took {res['seconds']:.1f} s; calibrating all rows {res['t_calibrate']:.2f} s")
    if args.write:
        write_report(res, REPO / "docs" / "validation.md", args.n_bootstrap)
        print("wrote docs/validation.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
