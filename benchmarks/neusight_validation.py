"""Held-out validation of the transformer-pass latency model on NeuSight's labels.

Reads ``shared/data/per_model_latency/neusight_labels.csv`` (whole Hugging Face transformers,
forward or forward + backward, fp32, PyTorch eager, ten GPUs), fits
:func:`plaster_model.calibration.transformer_latency.fit_transformer_latency` on all rows but
one group, predicts the held-out group, and reports the median and p90 of ``|pred/meas − 1|``
and the share of measurements inside the 90 % interval for

* leave-one-GPU-out (NeuSight's own split: its MLP 6–10 %, a plain roofline about 31 %),
* leave-one-model-out,
* the in-sample fit,

and the uncalibrated roofline (every efficiency 1, no launch cost) for reference. With
``--write`` the tables go into ``docs/validation.md`` between ``<!-- neusight-validation:start -->``
and ``<!-- neusight-validation:end -->``.

Usage: ``python benchmarks/neusight_validation.py [--data PATH] [--write]``
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import plaster_model as pm  # noqa: E402
from plaster_model.calibration import transformer_latency as tl  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "data" / "per_model_latency"
START, END = "<!-- neusight-validation:start -->", "<!-- neusight-validation:end -->"


def _md(t: pd.DataFrame, fmt: str = ".1f") -> str:
    """A markdown table (no tabulate dependency)."""
    cell = lambda v: format(v, fmt) if isinstance(v, (float, np.floating)) else str(v)  # noqa: E731
    lines = ["| " + " | ".join(map(str, t.columns)) + " |", "|" + "---|" * len(t.columns)]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in t.itertuples(index=False)]
    return "\n".join(lines)


def _score(meas, pred, lo=None, hi=None) -> dict:
    ok = np.isfinite(pred)
    e = np.abs(pred[ok] / meas[ok] - 1) * 100
    out = {"n": int(ok.sum()), "median_%": float(np.median(e)), "p90_%": float(np.percentile(e, 90))}
    out["coverage_90_%"] = (float(np.mean((meas[ok] >= lo[ok]) & (meas[ok] <= hi[ok])) * 100)
                            if lo is not None else float("nan"))
    return out


def _held_out(d: pd.DataFrame, key: str):
    pred, lo, hi = (np.full(len(d), np.nan) for _ in range(3))
    per = []
    for g in sorted(d[key].unique()):
        test = (d[key] == g).to_numpy()
        fit = tl.fit_transformer_latency(d[~test])
        p = fit.predict_rows(d[test])
        pred[test], lo[test], hi[test] = p["value"], p["value_low"], p["value_high"]
        per.append({key: g, **_score(d["value"].to_numpy()[test], pred[test], lo[test], hi[test])})
    return pred, lo, hi, pd.DataFrame(per)


def main(argv=None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DEFAULT))
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    df = pm.read_measurements(args.data).reset_index(drop=True)
    claimed = df[tl.is_transformer_latency_rows(df)].reset_index(drop=True)
    fit = tl.fit_transformer_latency(claimed)
    d = claimed.drop(index=fit.skipped["row"]).reset_index(drop=True)
    y = d["value"].to_numpy(float)
    ins = fit.predict_rows(d)
    roof = tl.TransformerLatencyFit(np.zeros(len(tl.PARAMETERS)), np.zeros((len(tl.PARAMETERS),) * 2), 0.0, 0.0, 0)
    roof.theta[list(tl.PARAMETERS).index("launch_s")] = np.log(1e-12)
    r0 = roof.predict_rows(d)["value"].to_numpy(float)
    logo = _held_out(d, "device")
    lomo = _held_out(d, "model")
    rows = [
        {"split": "leave-one-GPU-out", **_score(y, *logo[:3])},
        {"split": "leave-one-model-out", **_score(y, *lomo[:3])},
        {"split": "in-sample", **_score(y, ins["value"].to_numpy(float), ins["value_low"].to_numpy(float),
                                        ins["value_high"].to_numpy(float))},
        {"split": "uncalibrated roofline (η = 1, no launch)", **_score(y, r0)},
    ]
    tab = pd.DataFrame(rows)
    secs = time.perf_counter() - t0
    fmt = _md
    params = fit.params[["name", "value", "low_90", "high_90", "prior_median", "informed_by_data"]]
    text = "\n".join([
        "## NeuSight labels: whole-transformer latency on ten GPUs",
        "",
        f"`benchmarks/neusight_validation.py` ({secs:.0f} s). {len(d)} single-GPU rows of "
        f"`per_model_latency/neusight_labels.csv` (BERT-Large, GPT2-Large, GPT3-XL, GPT3-2.7B, OPT-1.3B; "
        "forward or forward + backward, fp32, PyTorch eager, 4 of them `torch.compile`) predicted by "
        "`estimators/transformer_step.py` with the efficiencies of `calibration/transformer_latency.py` "
        f"shared across GPUs. Not predicted: {fit.skipped['reason'].str.split(':').str[0].value_counts().to_dict()}.",
        "Errors are |pred/meas − 1|; coverage is the share inside the 90 % interval. Targets (issue 22): "
        "leave-one-GPU-out median ≤ 12 % (NeuSight's MLP 6–10 %, a plain roofline about 31 %), coverage 80–95 %.",
        "",
        fmt(tab),
        "",
        "What the numbers say: the efficiencies shared across GPUs transfer to an unseen GPU at 9–10 % median "
        "(the uncalibrated roofline misses by about a third). The misses are whole GPUs, not models: the 70–75 W "
        "T4 and P4 run slower than their boost-clock fp32 peaks (power capping) and the V100 PCIe faster than "
        "the others' shared GEMM efficiency; their held-out intervals cover 20–45 % of their rows, since the "
        "device spread is taken robustly (median absolute deviation) over GPUs that mostly agree.",
        "",
        "Leave-one-GPU-out, per held-out GPU:",
        "",
        fmt(logo[3]),
        "",
        "Leave-one-model-out, per held-out model:",
        "",
        fmt(lomo[3]),
        "",
        "Parameters fitted on all rows (90 % intervals; `informed_by_data` False: the prior answers):",
        "",
        _md(params, ".3g"),
    ])
    if args.write:
        path = ROOT / "docs" / "validation.md"
        doc = path.read_text()
        block = f"{START}\n{text}\n{END}"
        if START in doc and END in doc:
            doc = doc[:doc.index(START)] + block + doc[doc.index(END) + len(END):]
        else:
            doc = doc.rstrip("\n") + "\n\n" + block + "\n"
        path.write_text(doc)
    print(text)
    return text


if __name__ == "__main__":
    main()
