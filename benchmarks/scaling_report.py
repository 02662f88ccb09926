"""Predicted vs published multi-device training throughput (issue 4 scaling report).

For every multi-device row of ``../shared/data/published_measurements.csv`` the script

1. finds the 1-device row of the same table (same source, model, device, precision,
   framework, per-device batch, metric; the same ``source_detail`` where it exists, else
   the same data kind, synthetic or real);
2. fits the per-device compute efficiency on that 1-device row alone, so that the
   predicted compute time of one iteration equals the measured 1-device time
   ``t1 = b / throughput_1`` (no other fitted parameter: no overhead, no communication
   efficiency);
3. predicts the N-device iteration ``T_N = t1 + T_allreduce(N)`` over the catalog
   interconnect the row names (mapped by the table below and
   :func:`plaster_model.find_name`), for the algorithms ``tree``, ``ring``,
   ``hierarchical`` and, where the notes say the run used parameter servers,
   ``parameter_server``, with no overlap;
4. converts to the row's metric (throughput ``N·b/T_N``, time per iteration ``T_N``,
   time to train ``t_train,1 · t1·N/T_N``... i.e. scaled by the predicted speedup) and
   prints the error per row and the median absolute percentage error per algorithm.

It also checks that VGG-16 (large gradient per FLOP) comes out scaling worse than
Inception-v3 and ResNet-50 on the same system, and reproduces the Paleo comparison
(TensorFlow Inception-v3 on 100 K40 GPUs: Paleo 72.8×, measured 56×).

Run from the repository root::

    .venv/bin/python benchmarks/scaling_report.py            # text tables
    .venv/bin/python benchmarks/scaling_report.py --markdown # the tables of docs/scaling.md
"""
from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import plaster_model as pm  # noqa: E402

CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "published_measurements.csv"

#: Free-text interconnect of the CSV -> (intra-node link, network, devices per node, NICs
#: per node). Where the row names no network it is a single server.
INTERCONNECTS = {
    "NVLink (single NVIDIA DGX-1 server)": ("NVLink 1", None, 8, 1),
    "NVLink (DGX-1 V100 16GB, single node)": ("NVLink 2", None, 8, 1),
    "NVSwitch (DGX-2 V100 32GB, single node)": ("NVSwitch", None, 16, 1),
    "single server, 4x K40m (PCIe)": ("PCIe 3.0 x16", None, 4, 1),
    "PCIe (single AWS p2.8xlarge instance)": ("PCIe 3.0 x16", None, 8, 1),
    "PCIe (single GCE n1-standard-32-k80x8 instance)": ("PCIe 3.0 x16", None, 8, 1),
    # p2.8xlarge: "10 Gigabit" network (catalog system "K80 server"); bandwidth not stated in the row
    "Amazon EC2 network between p2.8xlarge instances (bandwidth not stated)": ("PCIe 3.0 x16", "10GbE", 8, 1),
}

#: Models of the CSV that the zoo does not hold. Only the parameter count matters here:
#: the efficiency fit makes the compute time equal the measured 1-device time whatever F.
EXTRA_MODELS = {
    # BVLC AlexNet with group=1 (no grouped convolutions), 227×227: conv 34,944 + 614,656 +
    # 885,120 + 1,327,488 + 884,992, fc 37,752,832 + 16,781,312 + 4,097,000 = 62,378,344
    # parameters; 1.135 G multiply-adds (conv 1,076.6 M + fc 58.6 M).
    "AlexNet (group=1)": pm.Model(name="AlexNet (group=1)", params=62_378_344, fwd_flops="1.135 GFLOP",
                                  flop_convention="macs",
                                  source="derived from the BVLC AlexNet layer shapes with group=1"),
}

PRECISIONS = {"fp32": "fp32", "mixed (fp16)": "mixed"}

#: NVIDIA DeepLearningExamples TF ResNet-50 tables print no batch; the README's run scripts
#: fix 256 (AMP) and 128 (FP32) per GPU. Assumed for rows with an empty batch.
ASSUMED_BATCH = {"mixed": 256, "fp32": 128}

ALGORITHMS = ("tree", "ring", "hierarchical", "parameter_server")


def _data_kind(row) -> str:
    text = f"{row['source_detail']} {row['notes']}".lower()
    return "synthetic" if "synthetic" in text else ("real" if "real" in text else "")


def _uses_parameter_server(row) -> bool:
    notes = str(row["notes"]).lower()
    return "parameter_server" in notes or "parameter server" in notes


def _as_run(row, multi_node: bool) -> str:
    """The algorithm the run used, as far as the row says."""
    if _uses_parameter_server(row):
        return "parameter_server"
    if multi_node:
        return "hierarchical"
    return "ring"  # NCCL (replicated, Horovod, MXNet/DALI) or unstated inside one server


def _model(name):
    if name in EXTRA_MODELS:
        return EXTRA_MODELS[name]
    canonical = pm.find_name("model", name)
    return pm.load_model(canonical) if canonical else None


def _cluster(row, n):
    spec = INTERCONNECTS.get(row["interconnect"])
    device = pm.find_name("device", str(row["device"]))
    if spec is None or device is None:
        return None
    intra, net, dpn, nics = spec
    return pm.Cluster(device, int(n), devices_per_node=dpn, intra_node=intra if min(dpn, n) > 1 else None,
                      interconnect=net if math.ceil(n / dpn) > 1 else None, nics_per_node=nics)


def _reference(df, row):
    """The 1-device row(s) the N-device row is compared with."""
    keys = ["source", "model", "device", "precision", "framework", "metric"]
    same = df[(df["n_devices"] == 1)]
    for k in keys:
        same = same[same[k] == row[k]]
    if pd.isna(row["batch_per_device"]):
        same = same[same["batch_per_device"].isna()]
    else:
        same = same[same["batch_per_device"] == row["batch_per_device"]]
    table = same[same["source_detail"] == row["source_detail"]]
    if len(table):
        return table.iloc[0]
    kind = _data_kind(row)
    same = same[same.apply(_data_kind, axis=1) == kind]
    return same.iloc[0] if len(same) else None


def predict_rows(df):
    rows, skipped = [], []
    multi = df[(df["n_devices"] > 1) & (df["phase"] == "training")]
    for idx, row in multi.iterrows():
        why = None
        model = _model(row["model"])
        prec = PRECISIONS.get(row["precision"])
        n = int(row["n_devices"])
        ref = _reference(df, row)
        cluster = _cluster(row, n)
        if model is None:
            why = f"model {row['model']!r} not in the zoo"
        elif prec is None:
            why = f"precision {row['precision']!r} not modelled"
        elif ref is None:
            why = "no 1-device reference row in the same table"
        elif cluster is None:
            why = f"interconnect {row['interconnect']!r} / device {row['device']!r} not mapped"
        b = row["batch_per_device"]
        assumed_b = False
        if why is None and pd.isna(b):
            if "DeepLearningExamples" in row["source"] and prec in ASSUMED_BATCH:
                b, assumed_b = ASSUMED_BATCH[prec], True
            else:
                why = "no per-device batch"
        if why:
            skipped.append({"row": idx, "model": row["model"], "device": row["device"], "n": n,
                            "interconnect": row["interconnect"], "reason": why})
            continue
        b = float(b)
        metric, v1, vn = row["metric"], float(ref["value"]), float(row["value"])
        if metric == "throughput_img_s":
            t1 = b / v1
        elif metric == "time_per_iter_s":
            t1 = v1
        elif metric == "time_to_train_min":
            t1 = None  # only the speedup is used; any t1 of the right size will do
        else:
            skipped.append({"row": idx, "model": row["model"], "device": row["device"], "n": n,
                            "interconnect": row["interconnect"], "reason": f"metric {metric}"})
            continue
        peak = cluster.device.peak(prec)
        if t1 is None:
            # time to train: the iteration time at 1 device follows from the 1-device
            # throughput-equivalent; use the measured throughput row of the same table when
            # present, else the compute of the model at 40 % of peak (stated).
            thr = df[(df["source"] == row["source"]) & (df["model"] == row["model"]) & (df["n_devices"] == 1)
                     & (df["precision"] == row["precision"]) & (df["metric"] == "throughput_img_s")
                     & (df["framework"].str.split(" ").str[:2].str.join(" ") ==
                        " ".join(str(row["framework"]).split(" ")[:2]))]
            t1 = b / float(thr["value"].max()) if len(thr) else 3 * model.fwd_flops * b / (0.4 * peak)
        eff = 3 * model.fwd_flops * b / (t1 * peak)
        multi_node = cluster.n_nodes > 1
        out = {"row": idx, "source": _short_source(row), "model": row["model"], "device": row["device"],
               "framework": row["framework"], "precision": prec, "batch": b, "assumed_batch": assumed_b,
               "n": n, "nodes": cluster.n_nodes, "metric": metric, "measured": vn, "one_device": v1,
               "network": cluster.interconnect.name if multi_node else cluster.intra_node.name,
               "as_run": _as_run(row, multi_node), "uses_ps": _uses_parameter_server(row),
               "measured_efficiency": _efficiency(metric, v1, vn, n)}
        for alg in ALGORITHMS:
            if alg == "parameter_server" and not out["uses_ps"]:
                continue
            c, kw = cluster, {}
            if alg == "parameter_server" and not multi_node and "local_parameter_device=cpu" in str(row["notes"]):
                # variables on the host CPU: every GPU pushes and pulls over its PCIe host link to one server
                c = pm.Cluster(cluster.device, n, devices_per_node=cluster.devices_per_node,
                               intra_node=cluster.device.host_link, nics_per_node=cluster.nics_per_node)
                kw = dict(servers=1)
            pred = pm.predict_training(model, c, b, precision=prec, algorithm=alg, efficiency=eff,
                                       check_memory=False, **kw)
            speedup = n * t1 / pred.iteration_time_s
            if metric == "throughput_img_s":
                value = v1 * speedup
            elif metric == "time_per_iter_s":
                value = v1 * n / speedup
            else:
                value = v1 / speedup
            out[f"pred_{alg}"] = value
            out[f"err_{alg}"] = 100.0 * (value - vn) / vn
            out[f"eff_{alg}"] = speedup / n
        rows.append(out)
    res = pd.DataFrame(rows)
    res["err_as_run"] = [r[f"err_{r['as_run']}"] for _, r in res.iterrows()]
    res["eff_as_run"] = [r[f"eff_{r['as_run']}"] for _, r in res.iterrows()]
    return res, pd.DataFrame(skipped)


def _efficiency(metric, v1, vn, n):
    if metric == "throughput_img_s":
        return vn / (n * v1)
    if metric == "time_per_iter_s":
        return v1 / vn
    return v1 / (n * vn)


def _short_source(row) -> str:
    s = str(row["source"])
    if s.startswith("TensorFlow official"):
        detail = str(row["source_detail"])
        m = re.search(r"Details for (.+?) \|", detail)
        return "TF bench: " + (m.group(1) if m else "")
    if s.startswith("NVIDIA DeepLearningExamples"):
        return "NVIDIA DLE"
    if s.startswith("PaddlePaddle"):
        return "Paddle bench (K40m)"
    return s[:30]


def summarize(res):
    summary = []
    for alg in ALGORITHMS + ("as_run",):
        col = f"err_{alg}"
        vals = res[col].dropna() if col in res else pd.Series(dtype=float)
        if len(vals):
            summary.append({"algorithm": alg, "rows": len(vals),
                            "median_abs_pct_error": float(np.median(np.abs(vals))),
                            "median_signed_pct_error": float(np.median(vals)),
                            "p90_abs_pct_error": float(np.percentile(np.abs(vals), 90))})
    return pd.DataFrame(summary)


def by_group(res):
    g = res.assign(group=res["source"] + " / " + res["network"])
    rows = []
    for name, part in g.groupby("group"):
        row = {"group": name, "rows": len(part)}
        for alg in ALGORITHMS + ("as_run",):
            col = f"err_{alg}"
            if col in part and part[col].notna().any():
                row[alg] = float(np.median(np.abs(part[col].dropna())))
        rows.append(row)
    return pd.DataFrame(rows)


def vgg_check(res, algorithms=("ring", "tree")):
    """On each system and device count, VGG-16's efficiency vs Inception-v3's and ResNet-50's.

    The prediction is compared under the same algorithm for both models (the model
    property the brief asks about); the measured efficiencies are those of the runs.
    """
    out = []
    keys = ["source", "network", "n", "precision", "batch", "framework"]
    for key, part in res.groupby(keys):
        models = set(part["model"])
        if "VGG-16" not in models or not ({"Inception-v3", "ResNet-50"} & models):
            continue
        vgg = part[part["model"] == "VGG-16"].iloc[0]
        for other in ("Inception-v3", "ResNet-50"):
            if other not in models:
                continue
            o = part[part["model"] == other].iloc[0]
            row = {"system": key[0], "network": key[1], "n": key[2], "batch": key[4], "vs": other,
                   "vgg_meas_eff": vgg["measured_efficiency"], "other_meas_eff": o["measured_efficiency"],
                   "meas_worse": vgg["measured_efficiency"] < o["measured_efficiency"]}
            for alg in algorithms:
                row[f"vgg_{alg}_eff"] = vgg[f"eff_{alg}"]
                row[f"other_{alg}_eff"] = o[f"eff_{alg}"]
                row[f"{alg}_worse"] = vgg[f"eff_{alg}"] < o[f"eff_{alg}"]
            out.append(row)
    return pd.DataFrame(out)


def paleo_case():
    """TF Inception-v3 on 100 K40 GPUs (Paleo: 72.8× predicted, 56× measured).

    Assumptions (neither BRIEF.md nor the CSV gives the 2016 setup): Inception-v3 from the
    zoo (23.85 M parameters, fp32 gradients = 95.4 MB); batch 32 per GPU; the per-GPU
    efficiency of TensorFlow on Kepler taken from the TF benchmarks' 1-GPU K80 Inception-v3
    run at batch 32 (29.2 img/s on 2.8 TFLOPS -> 0.357 of peak), applied to the K40's
    4.29 TFLOPS; networks 10GbE and 40GbE (plus 100GbE) as brackets; one GPU per worker
    (flat) or 8 per server over PCIe 3.0 (hierarchical / parameter server with local sums).
    """
    model = pm.load_model("Inception-v3")
    b = 32.0
    k80 = pm.load_device("K80")
    eff = 3 * model.fwd_flops * 29.2 / k80.peak("fp32")   # K80 1-GPU, batch 32, TF bench (Distributed table)
    rows = []
    for net in ("10GbE", "40GbE", "100GbE"):
        for dpn, label in ((1, "1 GPU/node"), (8, "8 GPUs/node")):
            c = pm.Cluster("K40", 100, devices_per_node=dpn, intra_node="PCIe 3.0 x16" if dpn > 1 else None,
                           interconnect=net)
            one = pm.predict_training(model, c.with_devices(1), b, efficiency=eff, check_memory=False)
            runs = [(alg, {}) for alg in ("tree", "ring", "hierarchical", "parameter_server")
                    if not (alg == "hierarchical" and dpn == 1)]
            if dpn == 1:  # dedicated parameter-server shards (the 2016 run's count is not published)
                runs += [("parameter_server", {"servers": k}) for k in (10, 25, 50)]
            for alg, kw in runs:
                p = pm.predict_training(model, c, b, algorithm=alg, efficiency=eff, check_memory=False, **kw)
                rows.append({"network": net, "layout": label,
                             "algorithm": alg + (f" (k = {kw['servers']})" if kw else ""),
                             "speedup": p.throughput_samples_s / one.throughput_samples_s,
                             "comm_s": p.communication_time_s, "compute_s": p.compute_time_s})
    return pd.DataFrame(rows), eff


def _fmt(df, markdown):
    if markdown:
        return _markdown(df)
    return df.to_string(index=False, float_format=lambda x: f"{x:.3g}")


def _markdown(df) -> str:
    """A GitHub/MkDocs pipe table (no tabulate dependency)."""
    def cell(v):
        if isinstance(v, (float, np.floating)):
            return "" if np.isnan(v) else f"{v:.3g}"
        return str(v).replace("|", "/")
    lines = ["| " + " | ".join(map(str, df.columns)) + " |",
             "|" + "|".join("---" for _ in df.columns) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--markdown", action="store_true", help="print markdown (pipe) tables")
    ap.add_argument("--rows", action="store_true", help="print every row (default: first 40 and the summary)")
    args = ap.parse_args(argv)
    if not CSV.is_file():
        print(f"published measurements not found at {CSV}; nothing to compare (the data set lives "
              "beside the repository in ../shared/data)")
        return 0
    df = pd.read_csv(CSV)
    res, skipped = predict_rows(df)
    pd.set_option("display.width", 250)
    cols = ["source", "model", "framework", "precision", "batch", "n", "network", "metric", "measured",
            "as_run"] + [f"err_{a}" for a in ALGORITHMS]
    print(f"# Scaling report: {len(res)} multi-device rows predicted, {len(skipped)} skipped\n")
    print("## Per row: measured value and % error of each algorithm (err = (pred - meas)/meas)\n")
    shown = res[cols] if args.rows else res[cols].head(40)
    print(_fmt(shown, args.markdown))
    if not args.rows and len(res) > 40:
        print(f"... {len(res) - 40} more rows (--rows prints all)")
    print("\n## Median absolute % error per algorithm\n")
    print(_fmt(summarize(res), args.markdown))
    print("\n## The same, multi-node rows only (where the algorithms differ most)\n")
    print(_fmt(summarize(res[res["nodes"] > 1]), args.markdown))
    print("\n## Median absolute % error per system\n")
    print(_fmt(by_group(res), args.markdown))
    vc = vgg_check(res)
    print("\n## VGG-16 vs Inception-v3 / ResNet-50 on the same system (efficiency = speedup / N)\n")
    print(_fmt(vc, args.markdown))
    if len(vc):
        ok = bool(vc["ring_worse"].all() and vc["tree_worse"].all())
        print(f"\n{'CHECK PASSED' if ok else 'CHECK FAILED'}: "
              f"VGG-16 predicted to scale worse: ring {int(vc['ring_worse'].sum())} of {len(vc)}, "
              f"tree {int(vc['tree_worse'].sum())} of {len(vc)} comparisons "
              f"(measured worse in {int(vc['meas_worse'].sum())} of {len(vc)}).")
    print("\n## Skipped rows (not predicted)\n")
    if len(skipped):
        print(_fmt(skipped, args.markdown))
        unmapped = skipped[skipped["reason"].str.contains("not mapped")]
        if len(unmapped):
            print("\nunmapped interconnect/device texts:")
            for text in sorted(set(unmapped["interconnect"])):
                print(f"  - {text}")
    paleo, eff = paleo_case()
    print(f"\n## Paleo case: TF Inception-v3, 100 K40, batch 32 (efficiency {eff:.3f} from the K80 1-GPU run)\n")
    print("Paleo (tree) predicted 72.8x; measured 56x.\n")
    print(_fmt(paleo, args.markdown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
