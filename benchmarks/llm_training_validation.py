"""Validation of the parallel LLM-training step model on the shared LLM rows.

Rows: ``../shared/data/llm_training`` (vTrain's 1,440 single-node Megatron-DeepSpeed iterations
on A100, Korthikanti et al.'s 8 measured Selene iterations). Three views:

- in-sample: the calibration fitted on every row, errors per source and Korthikanti's 8 rows;
- leave-one-model-size-out: each of the 12 architectures held out in turn, the model fitted on
  the other 11 predicts it;
- leave-one-parallel-layout-out: each (devices, TP, PP, DP) layout held out in turn.

Reported: median and 90th-percentile absolute error ``|ŷ/y − 1|`` of the held-out rows, and
the share of measured values inside the 90 % interval (coverage).

Run from the repository root::

    PYTHONPATH=. python benchmarks/llm_training_validation.py           # print (about a minute)
    PYTHONPATH=. python benchmarks/llm_training_validation.py --write   # also docs/validation.md
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import plaster_model as pm  # noqa: E402
from plaster_model.calibration.llm_training import LLMTrainingFit, row_setup, subset_setup  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "llm_training"
BEGIN, END = "<!-- llm-training-validation:begin -->", "<!-- llm-training-validation:end -->"


def _held_out(rows, setup, keys):
    """Fit without each key's rows, predict them: (pred, low, high) per row."""
    pred, lo, hi = (np.full(len(rows), np.nan) for _ in range(3))
    y = rows["value"].to_numpy(float)
    src = rows["source"].astype(str).to_numpy()
    for k in pd.unique(keys):
        out = keys == k
        fit = LLMTrainingFit().fit_arrays(subset_setup(setup, ~out), y[~out], src[~out])
        t = fit.predict_arrays(subset_setup(setup, out))
        f = fit.interval_factors()
        pred[out], lo[out], hi[out] = t, t * f[0], t * f[1]
    return pred, lo, hi


def _summary(name, rows, pred, lo, hi, group):
    y = rows["value"].to_numpy(float)
    err = 100 * np.abs(pred / y - 1)
    inside = (y >= lo) & (y <= hi)
    per = pd.DataFrame({"group": group, "err": err, "inside": inside}).groupby("group", sort=False).agg(
        rows=("err", "size"), median_abs_pct_error=("err", "median"), p90_abs_pct_error=("err", lambda e: np.quantile(e, 0.9)),
        coverage_pct=("inside", lambda v: 100 * v.mean()))
    head = {"validation": name, "rows": len(y), "median_abs_pct_error": float(np.median(err)),
            "p90_abs_pct_error": float(np.quantile(err, 0.9)),
            "median_of_group_medians_pct": float(per["median_abs_pct_error"].median()),
            "coverage_90_pct": float(100 * inside.mean())}
    return head, per.reset_index()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="rewrite the section of docs/validation.md")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    rows = pm.read_measurements(DATA).reset_index(drop=True)
    setup = row_setup(rows)
    y = rows["value"].to_numpy(float)
    src = rows["source"].astype(str).to_numpy()
    fit = LLMTrainingFit().fit_arrays(setup, y, src)
    t_in = fit.predict_arrays(setup)
    f = fit.interval_factors()
    heads, tables = [], {}
    h, per = _summary("in-sample (all rows)", rows, t_in, t_in * f[0], t_in * f[1], rows["model"].to_numpy())
    heads.append(h)
    k = rows["model"].str.contains("Korthikanti").to_numpy()
    kor = rows.loc[k, ["model", "n_devices", "recompute", "sequence_parallel", "value"]].copy()
    kor["predicted_s"] = t_in[k]
    kor["abs_pct_error"] = 100 * np.abs(kor["predicted_s"] / kor["value"] - 1)
    kor = kor.rename(columns={"value": "measured_s"})
    model_key = rows["model"].to_numpy()
    h, per_model = _summary("leave-one-model-size-out", rows, *_held_out(rows, setup, model_key), model_key)
    heads.append(h)
    tables["model"] = per_model
    layout = (rows["n_devices"].astype(int).astype(str) + " GPUs: TP " + rows["tensor_parallel"].astype(str)
              + " PP " + rows["pipeline_parallel"].astype(str) + " DP " + rows["data_parallel"].astype(str)).to_numpy()
    h, per_layout = _summary("leave-one-parallel-layout-out", rows, *_held_out(rows, setup, layout), layout)
    heads.append(h)
    tables["layout"] = per_layout
    summary = pd.DataFrame(heads)
    pd.set_option("display.width", 200)
    print(fit.summary())
    print()
    print(summary.round(2).to_string(index=False))
    print("\nKorthikanti et al. Table 5 (in-sample):")
    print(kor.round(3).to_string(index=False))
    print("\nper held-out model:")
    print(per_model.round(2).to_string(index=False))
    print("\nper held-out layout:")
    print(per_layout.round(2).to_string(index=False))
    print(f"\n({time.perf_counter() - t0:.0f} s)")
    if args.write:
        _write(fit, summary, kor, per_model, per_layout)
    return summary, kor


def _md(df):
    cols = list(df.columns)
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in df.itertuples(index=False):
        out.append("| " + " | ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in r) + " |")
    return "\n".join(out)


def _write(fit, summary, kor, per_model, per_layout):
    held = set(getattr(fit, "held_at_prior_", ()))
    params = pd.DataFrame([{"parameter": k, "fitted": v,
                            "note": "held at its prior (the rows do not inform it)" if k in held else ""}
                           for k, v in fit.params_.items()])
    text = "\n".join([
        BEGIN, "## LLM training at scale (parallel plans)", "",
        "Generated by `benchmarks/llm_training_validation.py --write` from the shared LLM rows "
        "(`data/llm_training`: vTrain's 1,440 single-node Megatron-DeepSpeed iterations on A100 and "
        "Korthikanti et al.'s 8 measured Selene iterations, 8 to 512 GPUs). The step model is "
        "`plaster_model.parallel.step` (docs: [LLM training](llm-training.md)); the held-out rows are "
        "predicted by a calibration fitted without them. Coverage is the share of measured times "
        "inside the 90 % interval.", "",
        _md(summary.round(2)), "",
        "Fitted parameters (all rows):", "", _md(params), "",
        "Korthikanti et al.'s measured iterations (Table 5; in-sample):", "", _md(kor.round(3)), "",
        "### Per held-out model size", "", _md(per_model.round(2)), "",
        "### Per held-out parallel layout", "", _md(per_layout.round(2)), "", END])
    path = REPO / "docs" / "validation.md"
    doc = path.read_text()
    if BEGIN in doc:
        doc = doc[:doc.index(BEGIN)] + text + doc[doc.index(END) + len(END):]
    else:
        marker = "## Caveats"
        doc = doc.replace(marker, text + "\n\n" + marker, 1) if marker in doc else doc + "\n\n" + text + "\n"
    path.write_text(doc)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
