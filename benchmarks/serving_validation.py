"""Held-out validation of the LLM-serving model on the shared TTFT/TPOT rows.

Reads ``shared/data/llm_inference/serving_sample.csv`` (de-duplicated on ``dup_group``), fits
:func:`plaster_model.calibration.serving.fit_serving` on all rows but one group, predicts
the held-out group, and reports the median relative error ``|pred/meas − 1|`` of TTFT and TPOT
and the share of measurements inside the 90 % interval, for:

* leave-one-system-out (H100, H200, B200),
* leave-one-model-out (one architecture at a time: checkpoints of one architecture, such as
  DeepSeek-R1 and DeepSeek-V3 or a model and its NVFP4/FP8 re-quantisation, leave together),
* leave-one-engine-out (TensorRT-LLM, SGLang, vLLM; the held-out engine is predicted as an
  unknown engine: the engines' shared overheads, interval widened by their spread),

and the in-sample fit. Writes the tables into ``docs/validation.md`` between the markers
``<!-- serving-validation:start -->`` and ``<!-- serving-validation:end -->`` with ``--write``.

Usage: ``python benchmarks/serving_validation.py [--data PATH] [--write] [--nfev N]``
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import plaster_model as pm  # noqa: E402
from plaster_model.calibration.serving import fit_serving  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "data" / "llm_inference" / "serving_sample.csv"
START, END = "<!-- serving-validation:start -->", "<!-- serving-validation:end -->"
NOTE = ("What the numbers say: TPOT transfers to a GPU absent from the rows at the issue's 15 % (the decode step is wei"
        'ghts and KV cache over bandwidth, plus grouped-GEMM tiles, collectives and engine overheads, all shared across'
        ' GPUs); TTFT does not reach 20 % on any split. This round: the KV-cache pool is 0.9 of the memory the weights '
        "and reserve leave (TensorRT-LLM's rule; 0.9·M − W refused DeepSeek-V3 fp8 on 4 × B200, which the rows ran at 3"
        '2 requests, and predicted admission waits of 40-300 s for TTFTs of 0.2-1.5 s); the reader sets attention_dp = '
        'moe_tp·ep/tp where the sample left it blank (19 Qwen3-235B rows read as one GPU); a GPU or model absent from t'
        "he fit widens the interval by the systems' or models' spread. Against the previous table: system-out 33.1 / 15"
        '.0 % to 32.4 / 15.0 % (coverage 86.1 / 80.6 % to 86.9 / 82.3 %), model-out 34.6 / 19.7 % to 35.0 / 18.9 % (cov'
        'erage 84.2 % TPOT), engine-out 35.8 / 16.4 % to 36.0 / 17.8 % (the pool rule: 35.6 / 16.1 % with the old one),'
        ' in-sample 28.2 / 13.0 % to 29.0 / 11.3 %. Tried and not kept: a per-engine multiple of the prefill time (syst'
        'em-out TTFT 31.6 %, model-out 34.0 %, but engine-out 45.8 %), one first-wave share for all engines (32.8 %), C'
        'auchy and arctan losses (37.4 %, 40.2 %), other loss scales and prior weights (within ±0.6 %). The TTFT residu'
        'al is the level of a deployment, not its load dependence (next paragraph): one engine build on one system sits'
        ' apart (median log-residuals in-sample at the start of this round: SGLang −0.41 on H100 and +0.55 on H200; Lla'
        'ma-3.1-70B under TensorRT-LLM on one, two or four B200s answers its first token 2.0-3.7 times slower at 1,024 '
        'output tokens than at 8,192 with all else equal, and alike at tp8, which no hardware term carries), that is, d'
        'eployment settings the sample does not record (chunked-prefill budget, scheduler policy, benchmark client, req'
        'uest count of the first wave). Leaving an engine out leaves its scheduling unknown (TTFT), while its decode st'
        'ep is mostly the shared hardware (TPOT).')



def architecture(name: str) -> str:
    """Architecture family of a checkpoint name (same weights' shapes leave together)."""
    base = name.split("/")[-1]
    base = re.sub(r"-(NVFP4|FP8|Instruct)(?=$|-)", "", base)
    base = re.sub(r"-(NVFP4|FP8|Instruct)(?=$|-)", "", base)
    if re.match(r"DeepSeek-(R1|V3)", base):
        return "DeepSeek-V3/R1"
    return base


def score(pred: pd.DataFrame) -> dict:
    out = {"n": len(pred)}
    for m in ("ttft", "tpot"):
        err = np.abs(pred[f"{m}_pred_ms"] / pred[f"{m}_ms"] - 1.0)
        inside = (pred[f"{m}_ms"] >= pred[f"{m}_low_ms"]) & (pred[f"{m}_ms"] <= pred[f"{m}_high_ms"])
        out[f"{m}_median_err"] = float(np.median(err))
        out[f"{m}_coverage"] = float(inside.mean())
    return out


def held_out(df: pd.DataFrame, key: pd.Series, nfev: int) -> pd.DataFrame:
    rows = []
    for group in sorted(key.dropna().unique()):
        test = key == group
        t0 = time.time()
        cal = fit_serving(df[~test], max_nfev=nfev)
        pred = cal.predict_rows(df[test])
        if pred.empty:
            continue
        rows.append({"held_out": group, **score(pred), "fit_s": time.time() - t0})
        print(f"  {group}: {rows[-1]}", flush=True)
    return pd.DataFrame(rows)


def _pooled(df_rows: list[pd.DataFrame]) -> dict:
    return score(pd.concat(df_rows, ignore_index=True))


_SERIES = ["model_name", "device", "engine_name", "framework", "tp", "ep", "attention_dp", "activation_precision",
           "input_len", "output_len", "mode"]


def diagnose(df: pd.DataFrame, cal) -> dict:
    """Where the in-sample TTFT misses: level of a configuration against its load dependence.

    * ``between``/``within``: median absolute deviation of the TTFT log-residuals between
      series (one model, system, engine build, layout, precision, ISL and OSL; their median
      residual) and within them (over concurrency). A model whose load dependence is right
      and whose levels are off has ``within`` much below ``between``.
    * ``repeat_ttft``/``repeat_tpot``: the same configuration (series and concurrency)
      measured with two builds of one engine: median |ratio − 1| between the builds (the
      floor no hardware model can go below for a build it has not seen).
    * ``queue_share``: median log-residual of rows whose predicted TTFT is mostly waiting
      (queue, first wave, admission: share > 0.9) against the rest.
    """
    from plaster_model.calibration.serving import predict_inputs, serving_inputs  # noqa: PLC0415
    from plaster_model.serving.engines import ENGINE_KEYS  # noqa: PLC0415
    t, inp, _ = serving_inputs(df)
    rows = [cal.parameters_for(e)[0] for e in t["engine_name"]]
    out = predict_inputs(inp, cal.params, {k: np.array([r[k] for r in rows]) for k in ENGINE_KEYS})
    t = t.assign(r=np.log(out["ttft_s"] * 1e3 / t["ttft_ms"].to_numpy(float)),
                 wait=(np.ravel(out["queue_s"]) + np.ravel(out["capacity_wait_s"])) / out["ttft_s"])
    t = t[t["mode"] == "aggregated"]
    key = t[_SERIES].astype(str).agg("|".join, axis=1)
    med = t.groupby(key)["r"].transform("median")
    res = {"between": float(np.median(np.abs(med - med.median()))),
           "within": float(np.median(np.abs(t["r"] - med))), "series": int(key.nunique())}
    same = t[_SERIES[:3] + _SERIES[4:] + ["concurrency"]].astype(str).agg("|".join, axis=1)
    rep = t.assign(k=same).groupby("k").filter(lambda g: g["framework"].nunique() > 1)
    if len(rep):
        g = rep.groupby("k")
        res["repeat_ttft"] = float(np.median(g["ttft_ms"].max() / g["ttft_ms"].min() - 1))
        res["repeat_tpot"] = float(np.median(g["tpot_ms"].max() / g["tpot_ms"].min() - 1))
        res["repeat_n"] = int(g.ngroups)
    busy = t["wait"] > 0.9
    res["queue_share_r"] = float(t.loc[busy, "r"].median()) if busy.any() else float("nan")
    res["queue_share_n"] = int(busy.sum())
    res["rest_r"] = float(t.loc[~busy, "r"].median())
    return res


def diagnosis_text(d: dict) -> str:
    """The diagnosis as a sentence for docs/validation.md (numbers from :func:`diagnose`)."""
    text = (f"Where TTFT misses (in-sample fit, {d['series']} series of one model, system, engine build, layout, "
            f"precision, ISL and OSL over concurrency): the median absolute log-residual is {d['between']:.2f} "
            f"between series and {d['within']:.2f} within them, so the load dependence (queueing, first wave, "
            f"chunked-prefill interference) holds and the level of a deployment is what misses.")
    if "repeat_ttft" in d:
        text += (f" The same configuration measured with two builds of one engine ({d['repeat_n']} cases) differs "
                 f"by {d['repeat_ttft']:.0%} in TTFT and {d['repeat_tpot']:.0%} in TPOT in the median, part of what "
                 "a build or system the fit has not seen adds to any prediction.")
    text += (f" Rows whose predicted TTFT is over 90 % waiting ({d['queue_share_n']}) sit at a median log-residual "
             f"of {d['queue_share_r']:+.2f}, the rest at {d['rest_r']:+.2f}.")
    return text


def run(path: Path, nfev: int, splits=("system", "model", "engine")) -> dict[str, pd.DataFrame]:
    df = pm.read_measurements(path)
    model = df.get("model_raw", df["model"]).astype(str)
    keys = {"system": df["device"], "model": model.map(architecture), "engine": df["engine"]}
    results = {}
    for name, key in keys.items():
        if name not in splits:
            continue
        print(f"leave-one-{name}-out", flush=True)
        results[name] = held_out(df, key, nfev)
    cal = fit_serving(df, max_nfev=nfev)
    results["in-sample"] = pd.DataFrame([{"held_out": "none (all rows)", **score(cal.predict_rows(df))}])
    results["in-sample"].attrs["diagnosis"] = diagnose(df, cal)
    return results


def summary(results: dict[str, pd.DataFrame]) -> pd.DataFrame:
    rows = []
    for name, r in results.items():
        w = r["n"] / r["n"].sum()
        rows.append({"split": name, "groups": len(r), "n": int(r["n"].sum()),
                     "ttft_median_err": float(np.median(np.repeat(r["ttft_median_err"], 1))),
                     "tpot_median_err": float(np.median(r["tpot_median_err"])),
                     "ttft_coverage": float((w * r["ttft_coverage"]).sum()),
                     "tpot_coverage": float((w * r["tpot_coverage"]).sum())})
    return pd.DataFrame(rows)


def markdown(results: dict[str, pd.DataFrame]) -> str:
    lines = [START, "", "### LLM serving: TTFT and TPOT (shared aiconfigurator rows)", "",
             "`benchmarks/serving_validation.py` on `llm_inference/serving_sample.csv` "
             "(ai-dynamo/aiconfigurator@095f58a, Apache-2.0), de-duplicated on `dup_group`; aggregated rows "
             "with a resolved layout and disaggregated rows with worker counts. Error = median "
             "|predicted/measured − 1| over the held-out group's measurements; coverage = share inside "
             "the 90 % interval. The summary row of each split is the median over groups (errors) and "
             "the row-weighted mean (coverage).", ""]
    lines.append("| split | groups | measurements | TTFT median error | TPOT median error | TTFT 90 % coverage | TPOT 90 % coverage |")
    lines.append("|---|---|---|---|---|---|---|")
    for _, s in summary(results).iterrows():
        lines.append(f"| {s.split} | {s.groups} | {s.n} | {s.ttft_median_err:.1%} | {s.tpot_median_err:.1%} | "
                     f"{s.ttft_coverage:.1%} | {s.tpot_coverage:.1%} |")
    lines += ["", NOTE]
    diag = results.get("in-sample", pd.DataFrame()).attrs.get("diagnosis")
    if diag:
        lines += ["", diagnosis_text(diag)]
    for name, r in results.items():
        if name == "in-sample":
            continue
        lines += ["", f"Leave-one-{name}-out, per group:", "",
                  "| held out | measurements | TTFT error | TPOT error | TTFT coverage | TPOT coverage |",
                  "|---|---|---|---|---|---|"]
        for _, g in r.iterrows():
            lines.append(f"| {g.held_out} | {g.n} | {g.ttft_median_err:.1%} | {g.tpot_median_err:.1%} | "
                         f"{g.ttft_coverage:.1%} | {g.tpot_coverage:.1%} |")
    lines += ["", END]
    return "\n".join(lines)


def write_doc(text: str) -> None:
    doc = ROOT / "docs" / "validation.md"
    old = doc.read_text()
    if START in old:
        new = old[: old.index(START)] + text + old[old.index(END) + len(END):]
    else:
        anchor = "## Caveats"
        new = old.replace(anchor, text + "\n\n" + anchor, 1) if anchor in old else old + "\n\n" + text + "\n"
    doc.write_text(new)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT)
    ap.add_argument("--write", action="store_true", help="write the tables into docs/validation.md")
    ap.add_argument("--nfev", type=int, default=40, help="function evaluations of each fit")
    ap.add_argument("--splits", default="system,model,engine",
                    help="comma-separated held-out splits to run (system, model, engine)")
    args = ap.parse_args(argv)
    if not args.data.is_file():
        print(f"no serving rows at {args.data}; nothing to validate")
        return 0
    results = run(args.data, args.nfev, tuple(args.splits.split(",")))
    print(summary(results).to_string(index=False))
    text = markdown(results)
    if args.write:
        write_doc(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
