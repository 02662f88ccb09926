"""Write the tutorial notebooks in notebooks/ from the cell sources below.

The notebooks are generated (so a diff of this file is the review) and stored without
outputs; tests/test_notebooks.py executes each of them. Run after editing:

    .venv/bin/python scripts/make_notebooks.py            # write notebooks/*.ipynb
    .venv/bin/python scripts/make_notebooks.py --check    # exit 1 if they are out of date
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def md(text: str):
    return ("md", text.strip("\n"))


def code(text: str):
    return ("code", text.strip("\n"))


NOTEBOOKS: dict[str, list[tuple[str, str]]] = {}

# --------------------------------------------------------------------------- 01
NOTEBOOKS["01_quickstart"] = [
    md("""
# Quickstart: predict an epoch, list devices

`plaster_model` predicts deep-learning training and inference time from closed-form models
and catalogs of devices, interconnects and models, each number with its source.
This notebook predicts 90 epochs of ResNet-50 on 64 V100s and asks whether the network is
the bottleneck.
"""),
    code("""
import plaster_model as pm

devices = pm.list_devices()
devices[["name", "fp32_flops", "fp16_tensor_flops", "memory_bytes", "memory_bandwidth_Bps", "power_w"]]
"""),
    md("""
Every quantity is an SI float with its unit in the column name: FLOP/s, bytes, bytes per
second, watts. Each row also carries its `source`:
"""),
    code("""
devices.set_index("name").loc[["V100", "K40", "T4"], ["source"]]
"""),
    code("""
pm.list_models()[["name", "params", "fwd_flops", "reported_flops", "flop_convention"]]
"""),
    md("""
`fwd_flops` always counts a multiply-add as two FLOPs; `reported_flops` is the figure as
the source printed it, and `flop_convention` says how that source counted.

## An epoch on a cluster

Eight DGX-style nodes of 8 V100s joined by NVLink 2 inside a node and InfiniBand EDR across:
"""),
    code("""
cluster = pm.Cluster(device="V100", n_devices=64, devices_per_node=8,
                     intra_node="NVLink 2", interconnect="InfiniBand EDR")
pred = pm.predict_epoch_time("ResNet-50", cluster, dataset="ImageNet-1k", epochs=90,
                             batch_per_device=64, precision="fp32", scaling="weak")
print(pred)
"""),
    code("""
print(f"90 epochs: {pred.total_time_s / 3600:.1f} h "
      f"(compute {pred.compute_time_s * 1e3:.0f} ms + communication "
      f"{pred.communication_time_s * 1e3:.0f} ms per iteration, {pred.bound}-bound)")
for line in pred.assumptions:
    print("-", line)
"""),
    md("""
Uncalibrated predictions run the device at its peak, so they are a lower bound on time
(see the calibration notebook for an error bar fitted to measured runs).

## Is the network the bottleneck?
"""),
    code("""
verdict = pm.is_bandwidth_bound("VGG-16", cluster, batch_per_device=16)
print("bandwidth-bound:", bool(verdict))
print(f"communication / compute = {verdict.comm_to_compute_ratio:.2f}")
print(f"crossover p* = {verdict.crossover_devices:.1f} devices")
print(f"required bandwidth = {verdict.required_bandwidth / 1e9:.1f} GB/s "
      f"(the link gives {verdict.link_bandwidth / 1e9:.1f} GB/s)")
"""),
    md("""
## Where the time goes

A prediction per cluster size, drawn as stacked compute / communication / overhead bars:
"""),
    code("""
from plaster_model.plotting import plot_breakdown

preds = [pm.predict_training("VGG-16", cluster.with_devices(p), batch_per_device=16)
         for p in (8, 16, 32, 64)]
ax = plot_breakdown(preds, x="n_devices", title="VGG-16 on V100, NVLink 2 + InfiniBand EDR")
"""),
]

# --------------------------------------------------------------------------- 02
NOTEBOOKS["02_interconnect_bottleneck"] = [
    md("""
# Is my interconnect the bottleneck?

The HPE Deep Learning Cookbook slides chart data-parallel scaling of a K40 (≈ 4 TFLOPS)
over PCIe v3 (≈ 16 GB/s) and over InfiniBand FDR (≈ 56 Gb/s). Each iteration costs

$$T_\\text{iter} = \\underbrace{\\frac{c}{p\\,\\gamma}}_{\\text{compute}} +
  \\underbrace{\\frac{2\\,w\\,\\log_2 p}{\\beta}}_{\\text{tree all-reduce}}$$

and the interconnect is the bottleneck from the device count $p^*$ where the two terms are
equal. That is the seed's **tree** model (`algorithm="tree"`); the library's default,
`algorithm="auto"`, is what NCCL/Horovod run (rings and hierarchical all-reduces,
overlapped with the backward pass): the last section compares the two. First the classic
bug: **bytes versus bits**.
"""),
    code("""
import plaster_model as pm

pcie_slide = pm.to_si("16 GB/s", "bandwidth")     # bytes per second
ib_slide = pm.to_si("56 Gb/s", "bandwidth")       # bits per second -> bytes per second
print(f"PCIe v3: {pcie_slide / 1e9:.2f} GB/s, InfiniBand FDR: {ib_slide / 1e9:.2f} GB/s: "
      f"PCIe is {pcie_slide / ib_slide:.1f}x faster (reading 56 Gb/s as 56 GB/s would make "
      f"InfiniBand look 3.5x faster)")
"""),
    md("""
The catalog goes one step further and stores the data rate after line encoding
(InfiniBand FDR signals 56 Gb/s with 64b/66b encoding; PCIe 3.0 uses 128b/130b):
"""),
    code("""
links = pm.list_interconnects().set_index("name").loc[["PCIe 3.0 x16", "InfiniBand FDR"]]
links[["signalling_rate_Bps", "encoding", "bandwidth_Bps", "latency_s", "source"]]
"""),
    md("""
## Crossover and required bandwidth (the seed tree model)

VGG-16 (138 M parameters, a lot of gradient per FLOP) at 16 images per K40, weak scaling,
under the slides' tree all-reduce:
"""),
    code("""
import pandas as pd

rows = []
for model in ("VGG-16", "ResNet-50"):
    for link in ("PCIe 3.0 x16", "InfiniBand FDR"):
        cluster = pm.Cluster("K40", n_devices=16, interconnect=link)
        v = pm.is_bandwidth_bound(model, cluster, batch_per_device=16, algorithm="tree")
        rows.append({"model": model, "interconnect": link, "bandwidth_bound_at_16": bool(v),
                     "comm_to_compute_at_16": v.comm_to_compute_ratio,
                     "crossover_devices": v.crossover_devices,
                     "required_bandwidth_GBps": v.required_bandwidth / 1e9})
verdicts = pd.DataFrame(rows)
verdicts
"""),
    code("""
vgg_ib = verdicts.query("model == 'VGG-16' and interconnect == 'InfiniBand FDR'").iloc[0]
vgg_pcie = verdicts.query("model == 'VGG-16' and interconnect == 'PCIe 3.0 x16'").iloc[0]
assert vgg_ib.crossover_devices < vgg_pcie.crossover_devices   # the slower link saturates first
assert verdicts.query("model == 'ResNet-50'").crossover_devices.min() > vgg_ib.crossover_devices
"""),
    md("""
The slides' tip holds: a model with more compute per byte of gradient (ResNet-50) stays
compute-bound to larger device counts than VGG-16 on the same network.

## Scaling curves

`scaling_curve` evaluates every device count in one vectorized call and returns a tidy
DataFrame; a list of interconnects stacks the curves.
"""),
    code("""
template = pm.Cluster("K40", n_devices=64, interconnect="InfiniBand FDR")
curve = pm.scaling_curve("VGG-16", template, devices=[1, 2, 4, 8, 16, 32, 64], batch_per_device=16,
                         interconnect=["PCIe 3.0 x16", "InfiniBand FDR"], algorithm="tree")
curve[["interconnect", "devices", "iteration_time_s", "compute_time_s", "communication_time_s",
       "speedup", "efficiency", "bound", "crossover_devices"]]
"""),
    code("""
import matplotlib.pyplot as plt
from plaster_model.plotting import plot_breakdown, plot_scaling

fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2), layout="constrained")
plot_scaling(curve, y="speedup", hue="interconnect", ax=left, title="VGG-16 on K40, batch 16 per GPU")
plot_breakdown(curve[curve.devices.isin([1, 8, 64])], ax=right)
plt.show()
"""),
    md("""
Dotted vertical lines mark $p^*$ for each link; beyond it the all-reduce takes longer than
the compute and speedup flattens. The same curve as parallel efficiency:
"""),
    code("""
ax = plot_scaling(curve, y="efficiency", hue="interconnect")
"""),
    md("""
## What the libraries run: the seed tree against ring, hierarchical and auto

The tree moves the whole gradient $2\\log_2 p$ times; a ring moves $2(p-1)/p$ of it, so its
bandwidth term never exceeds $2w/\\beta$. NCCL runs rings inside a node and multi-rail rings
or a hierarchical all-reduce across nodes (one ring per NIC: a DGX-1 has 4), and DDP/Horovod
overlap it with the backward pass in buckets, only the last one exposed. `algorithm="auto"`
is that; the HPE Cookbook's own job is the check. VGG-16, 100 M images, 10 epochs, batch 16
per GPU, 8 × P100 in one HPE Apollo 6500 (PCIe inside the node, InfiniBand FDR outside):
measured 175.8 h (Caffe2), 188.1 h (BVLC Caffe) and 416.1 h (TensorFlow).
"""),
    code("""
from pathlib import Path

hpe = pm.Cluster.from_system("HPE Apollo 6500", n_devices=8, interconnect="InfiniBand FDR")
csv = Path("../../shared/data/published_measurements.csv")   # third-party data, beside the repository
cal = pm.calibrate(pm.read_measurements(str(csv)), n_bootstrap=20) if csv.is_file() else None

rows = []
for algorithm in ("tree", "ring", "hierarchical", "auto"):
    for calibration in (None, cal):
        if calibration is None and cal is not None and algorithm != "tree":
            continue
        p = pm.predict_epoch_time("VGG-16", hpe, dataset=100_000_000, epochs=10, batch_per_device=16,
                                  algorithm=algorithm, calibration=calibration, check_memory=False)
        lo, hi = (t / 3600 for t in p.epoch_time_interval_s) if p.epoch_time_interval_s else (None, None)
        rows.append({"algorithm": algorithm, "calibrated": calibration is not None, "hours": p.total_time_s / 3600,
                     "low_h": lo, "high_h": hi, "comm_per_iter_ms": p.communication_time_s * 1e3,
                     "exposed_ms": p.exposed_communication_time_s * 1e3, "overlap": p.overlap})
hpe_table = pd.DataFrame(rows)
hpe_table
"""),
    md("""
Uncalibrated, the tree at the catalog peak is the slides' 152 h bound doubled (the zoo
counts VGG-16's 15.5 G multiply-adds as 31 GFLOPs) plus its serial all-reduce. Calibrated,
the tree charges every iteration 2 · log2 8 = 6 × the 553 MB gradient at a fitted fraction of
PCIe (about 840 h). The ring and the hierarchical all-reduce charge 2 · 7/8 of it, but a named
algorithm runs serially (`overlap=0`), so they land at about 460 h, above the measured range;
`auto` is what NCCL runs, overlapped with the backward pass in buckets, and lands inside the
measured 176–416 h (about 320 h).

The same comparison on 4 DGX-1 (V100) nodes, 32 GPUs, ResNet-50 at 64 per GPU: the
multi-rail ring over 4 EDR NICs per node against the tree over one:
"""),
    code("""
dgx = pm.Cluster.from_system("DGX-1 (V100)", nodes=4)
pd.DataFrame([
    {"algorithm": a, **{k: getattr(p, k) for k in ("iteration_time_s", "communication_time_s",
                                                    "exposed_communication_time_s", "throughput_samples_s", "bound")}}
    for a in ("tree", "ring", "hierarchical", "multirail_ring", "auto")
    for p in [pm.predict_training("ResNet-50", dgx, 64, algorithm=a, check_memory=False)]
])
"""),
    code("""
v = pm.is_bandwidth_bound("VGG-16", pm.Cluster.from_system("DGX-1 (P100)", nodes=8), batch_per_device=16)
print(v)   # the verdict states the crossover under the seed tree and under auto
"""),
]

# --------------------------------------------------------------------------- 03
NOTEBOOKS["03_summa_bounds"] = [
    md("""
# SUMMA model-parallel bandwidth bounds

SUMMA multiplies $n\\times n$ matrices on a $p\\times p$ device grid. Per device

$$T_\\text{compute} = \\frac{2n^3}{p^2\\gamma}, \\qquad
  T_\\text{read} = \\frac{2n^2 s}{p\\,\\beta},$$

so there is no bandwidth stall when $\\beta \\ge s\\,p\\,\\gamma / n$ ($s$ bytes per element).
The HPE slides' worked examples: $n = 2000$, $\\gamma = 15$ TFLOPS, FP32.
"""),
    code("""
import plaster_model as pm

b10 = pm.summa_bandwidth_bound(n=2000, gamma="15 TFLOPS", p=10, precision="fp32")
b1 = pm.summa_bandwidth_bound(n=2000, gamma="15 TFLOPS", p=1, precision="fp32")
print(f"p = 10: beta >= {b10 / 1e9:.0f} GB/s;  p = 1: beta >= {b1 / 1e9:.0f} GB/s")
assert round(b10) == 300e9 and round(b1) == 30e9
"""),
    md("""
At the bound the data read exactly hides behind the compute:
"""),
    code("""
t_c = pm.summa_compute_time(n=2000, p=10, gamma="15 TFLOPS")
t_r = pm.summa_data_read_time(n=2000, p=10, beta=b10)
print(f"compute {t_c * 1e6:.2f} us, data read {t_r * 1e6:.2f} us")
"""),
    md("""
## A sweep over grid size and matrix size

The estimators broadcast over numpy arrays, so a whole table is one call:
"""),
    code("""
import numpy as np
import pandas as pd

p = np.arange(1, 33)[:, None]                       # grid side: p x p devices
n = np.array([1000, 2000, 4000, 8000, 16000])[None, :]
bound = pm.summa_bandwidth_bound(n=n, gamma="15 TFLOPS", p=p, precision="fp32")
table = pd.DataFrame({"p": np.repeat(p.ravel(), n.size), "devices": np.repeat(p.ravel() ** 2, n.size),
                      "n": np.tile(n.ravel(), p.size), "required_bandwidth_Bps": bound.ravel()})
table.pivot(index="p", columns="n", values="required_bandwidth_Bps").div(1e9).round(1).head(10)
"""),
    code("""
import matplotlib.pyplot as plt

links = pm.list_interconnects().set_index("name")["bandwidth_Bps"]
v100 = pm.load_device("V100")
fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
for size, grp in table.groupby("n"):
    ax.plot(grp["p"], grp["required_bandwidth_Bps"] / 1e9, marker=".", label=f"n = {size:,}")
for name in ("NVLink 2", "PCIe 3.0 x16", "InfiniBand EDR"):
    ax.axhline(links[name] / 1e9, ls=":", color="0.4")
    ax.text(32.5, links[name] / 1e9, name, va="center", fontsize="small")
ax.axhline(v100.memory_bandwidth / 1e9, ls="--", color="black")
ax.text(32.5, v100.memory_bandwidth / 1e9, "V100 HBM2", va="center", fontsize="small")
ax.set_yscale("log")
ax.set_xlabel("grid side p (p x p devices) [count]")
ax.set_ylabel("required bandwidth per device [GB/s]")
ax.set_title("SUMMA, gamma = 15 TFLOPS, FP32: a link above a curve never stalls")
ax.legend(fontsize="small")
plt.show()
"""),
    md("""
Larger matrices need less bandwidth per FLOP ($\\beta \\propto p/n$): at $n = 16{,}000$ even
a 32 × 32 grid stays under NVLink 2, while $n = 1000$ outgrows InfiniBand EDR at once.
"""),
]

# --------------------------------------------------------------------------- 04
NOTEBOOKS["04_calibrate_tensorrt"] = [
    md("""
# Calibrate from TensorRT logs

Peak FLOP/s over-predicts. The calibration step fits the estimators' efficiency factors to
measured runs, so every calibrated prediction carries an interval. Here: a real `trtexec`
sweep of ResNet-50 on an RTX 3060 Laptop GPU (TensorRT 8.6, batch 8–128, FP32/FP16/INT8)
from `../shared/trtexec_samples/` when it is present, else a measurement of a small ONNX
model on this machine's CPU with onnxruntime.
"""),
    code("""
from pathlib import Path

import plaster_model as pm

SWEEP = Path("../../shared/trtexec_samples/trt86_rtx3060laptop_resnet50_sweep")
if SWEEP.is_dir():
    meas = pm.read_measurements(SWEEP)
    source = "trtexec sweep"
else:  # no shared data: measure a model built in code on the CPU
    from plaster_model.onnx_builders import tiny_cnn
    meas = pm.measure.onnxruntime(tiny_cnn(), batch_sizes=[1, 2, 4, 8, 16, 32])
    source = "onnxruntime CPU"
print(source, len(meas), "rows")
meas[["model", "device", "precision", "batch_per_device", "metric", "value"]].head(6)
"""),
    md("""
`trtexec` reports the **GPU Compute Time** per batch (`latency_ms`, the median) and `qps`
(batches per second; `throughput_img_s` = qps × batch).

The log names neither a zoo model nor a catalog device: the ONNX file is a torchvision
export (ResNet-50 v1.5 in the zoo), and the laptop GPU is described here from its
specifications (30 SMs at the 1.702 GHz trtexec prints; Ampere GA10x per-SM rates; 14 Gbps
× 192-bit GDDR6). Mappings from the names in the log to objects tell the calibration what
they are; nothing is guessed.
"""),
    code("""
models, devices = {}, {}
if source == "trtexec sweep":
    SMS, CLOCK_HZ = 30, 1.702e9
    laptop_gpu = pm.Device(
        name="RTX 3060 Laptop",
        peak_flops={"fp32": SMS * 256 * CLOCK_HZ, "tf32": SMS * 256 * CLOCK_HZ,
                    "fp16_tensor": SMS * 1024 * CLOCK_HZ, "int8": SMS * 2048 * CLOCK_HZ},
        memory_bytes="6 GiB", memory_bandwidth="336 GB/s", power_w="115 W",
        source="derived from the trtexec device block, the NVIDIA Ampere GA102 whitepaper "
               "and NVIDIA's GeForce RTX 3060 laptop specifications")
    models = {name: pm.load_model("ResNet-50 v1.5") for name in meas["model"].unique()}
    devices = {name: laptop_gpu for name in meas["device"].unique()}
print(f"{len(models)} model and {len(devices)} device mapping(s)")
"""),
    md("""
Fit on every batch size but the largest, then predict the held-out batch:
"""),
    code("""
held_out = meas["batch_per_device"] == meas["batch_per_device"].max()
cal = pm.calibrate(meas[~held_out], models=models, devices=devices)
cal.residuals_.groupby("metric")["rel_error"].describe()
"""),
    code("""
from plaster_model.plotting import plot_calibration

ax = plot_calibration(cal, metric="latency_ms")
"""),
    code("""
pred = cal.predict(meas[held_out])
check = meas[held_out][["precision", "batch_per_device", "metric", "value"]].rename(columns={"value": "measured"})
check = check.assign(predicted=pred["value"].to_numpy(), low=pred["value_low"].to_numpy(),
                     high=pred["value_high"].to_numpy())
check["rel_error"] = check["predicted"] / check["measured"] - 1
check
"""),
    md("""
The interval (`low` … `high`) is what an honest prediction looks like; the relative error
on the held-out batch is the number to judge the fit by. `cal.save("calib.yaml")` stores
the fit, and `predict_training(..., calibration=cal)` / `latency_throughput_curve(...,
calibration=cal)` use it.
"""),
]

# --------------------------------------------------------------------------- 05
NOTEBOOKS["05_plaster_scorecard"] = [
    md("""
# A PLASTER scorecard for a deployment

PLASTER (TIRIAS Research for NVIDIA, 2018) names seven things that decide whether a
deep-learning service can be deployed: **P**rogrammability, **L**atency, **A**ccuracy,
**S**ize of model, **T**hroughput, **E**nergy efficiency, **R**ate of learning.
Which device, at which precision, serves ResNet-50 within a 7 ms latency budget?
"""),
    code("""
import plaster_model as pm

report = pm.plaster_report("ResNet-50", devices=["T4", "V100", "A100"], latency_budget="7 ms",
                           precision=["fp32", "fp16", "int8"])
report[["device", "precision", "programmability_supported", "latency_s", "throughput_batch",
        "throughput_samples_s", "energy_inferences_per_j", "accuracy_top1_pct"]]
"""),
    md("""
Each dimension is a column group with units in the names; `basis` says which numbers are
peak-based and which are calibrated or published:
"""),
    code("""
report.filter(regex="^(device|precision|size_|rate_of_learning_)").head(3)
"""),
    md("""
The same report in one readable column per dimension, units in the headers, throughput in
the model's own unit (img/s here, seq/s for BERT), and "not published" / "not predicted"
spelled out (`plaster-model plaster` prints this table):
"""),
    code("""
pm.plaster.compact_table(report)
"""),
    code("""
from plaster_model.plotting import plot_plaster

axes = plot_plaster(report[report.precision.isin(["fp32", "int8"])])
"""),
    md("""
Five rows are past what a radar shows legibly, so the default draws one small panel per
(device, precision); `kind="radar"` draws the radar. Each score is normalized to the best
of the rows compared (1 = best); "n/a" marks a dimension with no value (accuracy not
published, rate of learning not known), never a 0. INT8 wins latency, throughput and energy
at a published top-1 cost of about 0.6 points; the V100 has no INT8 peak in its datasheet,
so that row is left out.
"""),
    md("""
## Throughput within the latency budget

Batching raises throughput until the budget is spent; only inferences delivered within the
budget count.
"""),
    code("""
import pandas as pd
from plaster_model.plotting import plot_latency_throughput

batches = [1, 2, 4, 8, 16, 32, 64, 128, 256]
curves = pd.concat([pm.latency_throughput_curve("ResNet-50", dev, precision=prec, batches=batches)
                    for dev, prec in [("T4", "int8"), ("V100", "fp16"), ("A100", "int8")]],
                   ignore_index=True)
curves["config"] = curves["device"].astype(str) + " " + curves["precision"].astype(str)
ax = plot_latency_throughput(curves, latency_budget="7 ms", hue="config")
"""),
    code("""
best = pm.best_batch("ResNet-50", "T4", latency_budget="7 ms", precision="int8")
print(best.batch, f"{best.latency_s * 1e3:.2f} ms", f"{best.throughput_samples_s:,.0f} samples/s")
"""),
    md("""
These numbers are peak-based (efficiency 1): a lower bound on latency. Calibrate against
measured runs (notebook 04) to get an interval.
"""),
]

# --------------------------------------------------------------------------- 06
NOTEBOOKS["06_custom_device_and_model"] = [
    md("""
# Add your own device and model

Predict for hardware you do not own and models that are not in the zoo: build objects
directly, merge a YAML catalog of your own, or import an ONNX model.
"""),
    code("""
import plaster_model as pm

gpu = pm.Device(name="MyGPU", peak_flops={"fp32": "20 TFLOPS", "fp16_tensor": "160 TFLOPS"},
                memory_bytes="24 GB", memory_bandwidth="1.2 TB/s", power_w="300 W",
                source="hypothetical datasheet")
net = pm.Model(name="MyNet", params=40_000_000, fwd_flops="6 GFLOP", flop_convention="macs",
               source="hand count (multiply-adds)")
print(gpu.peak("fp16") / 1e12, "TFLOP/s fp16;", net.fwd_flops / 1e9, "GFLOP per sample (2 x MACs)")
"""),
    code("""
cluster = pm.Cluster(gpu, n_devices=16, devices_per_node=8, intra_node="NVLink 3",
                     interconnect="InfiniBand HDR")
pred = pm.predict_training(net, cluster, batch_per_device=32, precision="mixed")
pred.to_frame()[["model", "device", "n_devices", "compute_time_s", "communication_time_s",
                 "iteration_time_s", "throughput_samples_s", "bound"]]
"""),
    md("""
## A catalog of your own

The same in YAML, merged over the bundled catalogs, so every function finds the names.
Quantities are strings with units (bare numbers are rejected) and every entry needs a
`source`.
"""),
    code("""
import tempfile
from pathlib import Path

user_yaml = Path(tempfile.mkdtemp()) / "my_catalog.yaml"
user_yaml.write_text('''
devices:
  MyGPU:
    peak_flops: {fp32: "20 TFLOPS", fp16_tensor: "160 TFLOPS"}
    memory_bytes: "24 GB"
    memory_bandwidth: "1.2 TB/s"
    power_w: "300 W"
    source: "hypothetical datasheet"
models:
  MyNet:
    params: 40000000
    fwd_flops: "6 GFLOP"
    flop_convention: macs
    source: "hand count (multiply-adds)"
''')
pm.load_catalog([user_yaml])
pm.list_devices().query("name == 'MyGPU'")[["name", "fp32_flops", "memory_bandwidth_Bps", "source"]]
"""),
    code("""
v = pm.is_bandwidth_bound("MyNet", pm.Cluster("MyGPU", 64, devices_per_node=8, intra_node="NVLink 3",
                                              interconnect="25GbE"), batch_per_device=32)
print(f"bandwidth-bound: {bool(v)}, crossover at {v.crossover_devices:.0f} devices, "
      f"needs {v.required_bandwidth / 1e9:.1f} GB/s")
pm.reset_catalog()   # back to the bundled catalogs
"""),
    md("""
## From an ONNX model to its workload

A model built in code with `onnx.helper` (a ResNet basic block here; a path to an `.onnx`
file works the same). The import counts FLOPs (2 × MACs), parameters and bytes per layer:
"""),
    code("""
from plaster_model.onnx_builders import resnet_basic_block
from plaster_model.onnx_import import model_from_onnx, onnx_layer_table

onnx_model = resnet_basic_block(channels=64, hw=56)
block = model_from_onnx(onnx_model, name="basic block")
layers = onnx_layer_table(onnx_model, batch=32)
print(f"{block.params:,} parameters, {block.fwd_flops / 1e9:.2f} GFLOP per sample")
layers[["layer", "op_type", "kind", "flops", "bytes", "arithmetic_intensity"]]
"""),
    md("""
Placed on rooflines, the convolutions sit right of the ridge (compute-bound) while
batch normalization and ReLU sit far left: memory-bound layers never run at peak.
"""),
    code("""
from plaster_model.plotting import plot_roofline

ax = plot_roofline(["T4", gpu], layers, precisions=["fp32"])
"""),
]


# --------------------------------------------------------------------------- 07
NOTEBOOKS["07_llm_training_plan"] = [
    md("""
# Will Llama-3-70B train in a month on 512 H100?

A 70-billion-parameter transformer does not fit one GPU: its weights, gradients and Adam
states alone are about 1.1 TB (16–18 bytes per parameter). It has to be split with tensor,
pipeline and data parallelism (and perhaps ZeRO). This notebook asks the library for the plans
that fit on 64 DGX H100 nodes, their MFU and the binding term, and how long 1.4 trillion
tokens (Chinchilla's 20 tokens per parameter) would take.
"""),
    code("""
import plaster_model as pm

cluster = pm.Cluster.from_system("DGX H100", n_nodes=64)      # 512 × H100 80 GB, NVLink 4 + 8 × NDR per node
model = pm.load_model("Llama-3.1-70B")
cfg = model.transformer
print(cluster.name)
print(f"{model.params / 1e9:.1f} B parameters, {cfg.n_layers} layers, d_model {cfg.d_model}, "
      f"{cfg.n_heads} heads ({cfg.n_kv_heads} KV heads)")
"""),
    md("""
## Pure data parallelism does not fit

Every GPU would hold the whole model and its optimizer states. The library refuses to answer
with a time and says what does not fit, and by how much:
"""),
    code("""
try:
    pm.predict_llm_training(model, cluster, pm.ParallelPlan(), seq_len=8192, global_batch=1024)
except pm.MemoryFitError as err:
    print(err)
"""),
    md("""
## The best plans

`best_plans` evaluates every layout (tensor × pipeline × micro-batch × interleaving ×
recomputation × ZeRO stage) as numpy arrays, drops those that do not fit in 80 GB and ranks
the rest by step time. A global batch of 1,024 sequences of 8,192 tokens is 8 M tokens per step.
"""),
    code("""
best = pm.best_plans(model, cluster, global_batch=1024, seq_len=8192, precision="bf16", top=8)
print(f"{best.attrs['n_feasible']:,} of {best.attrs['n_plans']:,} plans fit")
best[["plan", "micro_batch", "time_per_iter_s", "tflops_per_device", "mfu", "memory_per_device_bytes", "binding"]]
"""),
    md("""
## The fastest plan in detail

The breakdown shows what a step spends its time on; the memory line what each GPU holds.
"""),
    code("""
top = best.iloc[0]
plan = pm.ParallelPlan(tp=int(top.tp), pp=int(top.pp), sp=bool(top.sp), zero=int(top.zero),
                       micro_batch=int(top.micro_batch), virtual_stages=int(top.virtual_stages),
                       recompute=top.recompute, global_batch=1024)
pred = pm.predict_llm_training(model, cluster, plan, seq_len=8192, tokens=1.4e12)
print(pred)
"""),
    code("""
pred.breakdown()
"""),
    md("""
## A month?

At this plan's throughput, 1.4 T tokens take `time_to_train_days`; Llama 3's own 15 T tokens
would take about ten times as long. FP8 GEMMs (Transformer Engine) raise the GEMM peak by 2×:
"""),
    code("""
fp8 = pm.predict_llm_training(model, cluster, plan, seq_len=8192, tokens=1.4e12, precision="fp8")
for p in (pred, fp8):
    print(f"{p.precision}: {p.time_per_iter_s:.2f} s/step, {p.throughput_tokens_s / 1e6:.2f} M tokens/s, "
          f"MFU {100 * p.mfu:.0f} %, 1.4 T tokens in {p.time_to_train_days:.0f} days, "
          f"15 T tokens in {p.time_to_train_days * 15 / 1.4:.0f} days")
"""),
    md("""
## With a calibration

The numbers above use default efficiencies (stated in `pred.assumptions`). A calibration fitted
on measured Megatron iterations (the shared vTrain and Korthikanti et al. rows, A100) gives the
efficiencies and a 90 % interval; the H100 prediction borrows the A100 efficiencies, which the
assumptions say.
"""),
    code("""
from pathlib import Path

# the shared third-party data sits beside the checkout (notebooks/ is the working directory)
rows_dir = next((p for p in (Path("../../shared/data/llm_training"), Path("../shared/data/llm_training"))
                 if p.is_dir()), None)
if rows_dir is not None:
    cal = pm.calibrate(pm.read_measurements(rows_dir))
    print(cal.llm_training_.summary())
    cpred = pm.predict_llm_training(model, cluster, plan, seq_len=8192, tokens=1.4e12, calibration=cal)
    lo, hi = cpred.time_to_train_interval_s
    print(f"calibrated: MFU {100 * cpred.mfu:.0f} %, 1.4 T tokens in {cpred.time_to_train_days:.0f} days "
          f"(90 %: {lo / 86400:.0f}–{hi / 86400:.0f} days)")
else:
    print("the shared measurements are not here; skipping the calibration")
"""),
    md("""
## Fewer GPUs for longer, or more for less?

`best_plans(rank_by="cost")` ranks plans by cost per trained token, `price · devices · T /
tokens per step`, over several cluster sizes (`device_counts`). The library has no built-in
prices: the $2.50 per GPU-hour below is an illustrative input, not a quote. On one cluster size
the cost order is the time order; across sizes, a smaller cluster can be slower but cheaper
(less communication exposed, fewer pipeline bubbles).
"""),
    code("""
by_cost = pm.best_plans(model, cluster, global_batch=1024, seq_len=8192, precision="bf16", top=5,
                        rank_by="cost", price_per_device_hour=2.50, device_counts=[256, 512],
                        tokens=1.4e12)
by_cost[["n_devices", "plan", "time_per_iter_s", "mfu", "time_to_train_days", "cost_per_million_tokens",
         "cost_to_train"]]
"""),
    md("""
## Fine-tuning with LoRA

A LoRA fine-tune (`finetune="lora"`, rank 16 on the attention projections) freezes the base
weights: no weight gradients, no optimizer states for them, but the backward pass still computes
input gradients. Llama 3.1 70B then fits on one DGX H100 node:
"""),
    code("""
node = pm.Cluster.from_system("DGX H100", n_nodes=1)
lora = pm.predict_llm_training(model, node, pm.ParallelPlan(tp=8, sp=True, micro_batch=1, recompute="selective"),
                               global_batch=8, seq_len=8192, precision="bf16", finetune="lora", lora_rank=16)
print(f"{lora.plan}: {lora.time_per_iter_s:.2f} s/step, {lora.throughput_tokens_s:,.0f} tokens/s, "
      f"{lora.memory_per_device_bytes / 1e9:.0f} GB per GPU (optimizer states "
      f"{lora.memory_optimizer_bytes / 1e6:.0f} MB)")
"""),
]

NOTEBOOKS["08_llm_serving_h200"] = [
    md("""
# How many H200 do I need for Llama-3.1-70B at 50 ms TPOT?

A service answers users at a time per output token (TPOT) of at most 50 ms (20 tokens/s per
user, faster than reading) and a time to first token (TTFT) of at most 2 s. How many H200 does
it take to serve 1,000 users at once? `pm.best_serving` searches layouts (replicas x tensor
parallel), precisions and concurrencies, and returns the Pareto front of tokens/s per GPU
against tokens/s per user within the budgets (see docs/llm-serving.md for the formulas).
"""),
    code("""
from pathlib import Path
import math
import plaster_model as pm

# Calibrate on the shared measured serving rows when they are here (efficiencies that transfer
# across GPUs, engine overheads); otherwise the priors (a factor-2 interval).
rows = Path("../../shared/data/llm_inference/serving_sample.csv")
cal = pm.fit_serving(pm.read_measurements(rows), max_nfev=30) if rows.is_file() else None
print("calibrated on", cal.n_rows if cal else 0, "measurements")
"""),
    code("""
# Hopper has no FP4 tensor cores: search bf16 and fp8
front = pm.best_serving("Llama-3.1-70B", "H200", n_devices=8, ttft_budget=2.0, tpot_budget=0.050,
                        precisions=("bf16", "fp8"), engine="TensorRT-LLM", calibration=cal)
front[["precision", "tp", "replicas", "concurrency", "ttft_s", "tpot_s", "tokens_s_per_gpu",
       "tokens_s_per_user"]].round(3)
"""),
    md("""
The first row of the front is the most tokens per GPU still within 50 ms: it serves
`concurrency` users on 8 GPUs. Users per GPU at that point give the count for 1,000 users.
"""),
    code("""
best = front.iloc[0]
users_per_gpu = best.concurrency / best.gpus
need = math.ceil(1000 / users_per_gpu)
print(f"{best.precision}, tp{int(best.tp)} x {int(best.replicas)} replicas per 8 GPUs: "
      f"{users_per_gpu:.1f} users per GPU at TPOT {best.tpot_s * 1e3:.1f} ms -> {need} H200 for 1,000 users")
"""),
    code("""
r = pm.predict_serving("Llama-3.1-70B", "H200", tp=int(best.tp), precision=best.precision,
                       concurrency=int(best.concurrency), replicas=int(best.replicas),
                       engine="TensorRT-LLM", calibration=cal)
print(r)
for a in r.assumptions:
    print(" -", a)
"""),
    code("""
ax = front.plot(x="tokens_s_per_user", y="tokens_s_per_gpu", marker="o", legend=False)
ax.set_xlabel("tokens/s per user (1 / TPOT)")
ax.set_ylabel("output tokens/s per GPU")
ax.axvline(20, ls="--", color="grey")
ax.set_title("Llama-3.1-70B on 8 x H200: the serving Pareto front");
"""),
    md("""
## The PLASTER scorecard of the service

`pm.plaster_report(..., serving={...})` answers the PLASTER questions for the service on each
GPU and precision at its best deployment within the budgets: latency as TTFT/TPOT, throughput in
tokens/s, energy in joules per output token (board power, an upper bound), size, and accuracy
where published (none is for Llama-3.1-70B: "not published", never 0).
"""),
    code("""
card = pm.plaster_report("Llama-3.1-70B", ["H100", "H200", "B200"], precision=["bf16", "fp8"], calibration=cal,
                         serving=dict(ttft_budget=2.0, tpot_budget=0.050, n_devices=8, engine="TensorRT-LLM"))
card[["device", "precision", "throughput_layout", "latency_ttft_s", "latency_tpot_s",
      "throughput_tokens_s_per_gpu", "energy_per_token_j", "accuracy_source"]].round(4)
"""),
]


def build(name: str, cells: list[tuple[str, str]]):
    nb = new_notebook()
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [new_markdown_cell(src) if kind == "md" else new_code_cell(src) for kind, src in cells]
    for i, cell in enumerate(nb.cells):  # stable ids keep regenerated files identical
        cell["id"] = f"{name[:2]}-{i:02d}"
    return nb


def render(nb) -> str:
    return nbformat.writes(nb) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a notebook is out of date")
    args = parser.parse_args(argv)
    NOTEBOOK_DIR.mkdir(exist_ok=True)
    stale = []
    for name, cells in NOTEBOOKS.items():
        path = NOTEBOOK_DIR / f"{name}.ipynb"
        text = render(build(name, cells))
        nbformat.validate(nbformat.reads(text, as_version=4))
        if args.check:
            if not path.is_file() or path.read_text() != text:
                stale.append(path.name)
        else:
            path.write_text(text)
            print("wrote", path.relative_to(NOTEBOOK_DIR.parent))
    if stale:
        print("out of date (run scripts/make_notebooks.py):", ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
