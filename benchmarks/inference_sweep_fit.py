"""Fit the inference roofline to a real TensorRT sweep and check held-out predictions.

Data: ``../shared/trtexec_samples/trt86_rtx3060laptop_resnet50_sweep/`` (15 trtexec 8.6
logs: ResNet-50, batch 8/16/32/64/128 × FP32 / FP32+FP16 / FP32+INT8 on an NVIDIA GeForce
RTX 3060 Laptop GPU). The fitted quantity is the median **GPU Compute Time** per batch.

For each precision: fit ``t0``, ``η_c``, ``η_m`` to all five batches (the table of fitted
parameters), then leave one batch out at a time, fit the other four and predict the held-out
batch (the acceptance check: every held-out error within 15 %).

Run::

    .venv/bin/python benchmarks/inference_sweep_fit.py [--figure docs/img/inference_sweep_fit.png]

The RTX 3060 Laptop GPU is not in the catalog; its peaks are derived below and given as an
explicit :class:`plaster_model.Device`.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a source checkout without installing

import plaster_model as pm  # noqa: E402

SWEEP = REPO.parent / "shared" / "trtexec_samples" / "trt86_rtx3060laptop_resnet50_sweep"
FIGURE = REPO / "docs" / "img" / "inference_sweep_fit.png"

# 30 SMs and the 1.702 GHz application clock are printed by trtexec in every log of the sweep.
# Per-SM rates of a GA10x (Ampere consumer) SM, NVIDIA Ampere GA102 whitepaper (2020):
# 128 FP32 lanes (256 FLOP/clock), TF32 tensor 256 FLOP/clock (dense), FP16 tensor with FP16
# accumulate 1024 FLOP/clock (dense; half that with FP32 accumulate), INT8 tensor 2048
# OP/clock (dense).
SMS, CLOCK_HZ = 30, 1.702e9
RTX3060_LAPTOP = pm.Device(
    name="RTX 3060 Laptop",
    full_name="NVIDIA GeForce RTX 3060 Laptop GPU (GA106, 30 SMs, 6 GB GDDR6, 192-bit)",
    peak_flops={
        "fp32": SMS * 256 * CLOCK_HZ,          # 3840 cores × 2 × 1.702 GHz = 13.07 TFLOPS
        "tf32": SMS * 256 * CLOCK_HZ,          # TensorRT FP32 engines run convolutions in TF32
        "fp16_tensor": SMS * 1024 * CLOCK_HZ,  # 52.3 TFLOPS (26.1 with FP32 accumulate)
        "int8": SMS * 2048 * CLOCK_HZ,         # 104.6 TOPS
    },
    memory_bytes="6 GiB",
    memory_bandwidth="336 GB/s",               # 14 Gbps GDDR6 × 192 bit / 8
    power_w="115 W",
    source=("derived: 30 SMs and 1.702 GHz from the trtexec device block of the sweep's logs; "
            "per-SM rates from the NVIDIA Ampere GA102 whitepaper; 14 Gbps × 192-bit GDDR6 and the "
            "60-115 W TGP range from NVIDIA's GeForce RTX 3060 laptop specifications"),
    notes=("Laptop GPUs run at the TGP the laptop maker sets (60-115 W, boost 1.283-1.703 GHz): "
           "these peaks are for the 1.702 GHz clock this machine reports and can be ~25 % lower on "
           "a low-TGP laptop. The fit absorbs any such offset in the efficiencies."),
    host_link="PCIe 4.0 x16",
)

# torchvision's resnet50 (the sweep's ONNX file is a PyTorch export) is v1.5 in the zoo.
MODEL = "ResNet-50 v1.5"
PRECISIONS = ("fp32", "fp16", "int8")
_NAME = re.compile(r"dynamic_1-(\d+)-(\d+)(?:-(fp16|int8))?\.log$")
_GPU = re.compile(r"GPU Compute Time: min = ([\d.]+) ms, max = ([\d.]+) ms, mean = ([\d.]+) ms, "
                  r"median = ([\d.]+) ms")


def load_sweep(folder: Path = SWEEP):
    """``{precision: (batch array, median GPU compute time array [s])}``, sorted by batch.

    Uses :func:`plaster_model.io.readers.read_measurements` (metric ``latency_ms`` = median
    GPU Compute Time per batch); falls back to reading the two lines it needs when the
    measurement parsers are unavailable.
    """
    rows = []
    try:
        from plaster_model.io.readers import read_measurements
    except ImportError:
        read_measurements = None
    if read_measurements is not None:
        df = read_measurements(folder)
        df = df[(df["metric"] == "latency_ms") & (df["phase"] == "inference")]
        rows = [(str(r.precision), float(r.batch_per_device), float(r.value) * 1e-3) for r in df.itertuples()]
    else:  # pragma: no cover - only before the parsers exist
        for path in sorted(folder.glob("*.log")):
            m = _NAME.search(path.name)
            g = _GPU.search(path.read_text(errors="replace"))
            if m and g:
                rows.append((m.group(3) or "fp32", float(m.group(2)), float(g.group(4)) * 1e-3))
    out = {}
    for prec in PRECISIONS:
        pts = sorted((b, t) for p, b, t in rows if p == prec)
        if pts:
            b, t = map(np.array, zip(*pts))
            out[prec] = (b, t)
    return out


def fit_all(data, device=RTX3060_LAPTOP, model=MODEL):
    """Full fits and leave-one-batch-out errors per precision.

    Returns
    -------
    fits : dict of precision -> InferenceFit
    loo : list of dict
        ``precision``, ``batch``, ``measured_s``, ``predicted_s``, ``error`` (relative).
    """
    fits, loo = {}, []
    for prec, (b, t) in data.items():
        work = pm.inference_workload(model, device, prec)
        fits[prec] = pm.fit_inference_curve(b, t, **work)
        for i in range(len(b)):
            keep = np.arange(len(b)) != i
            f = pm.fit_inference_curve(b[keep], t[keep], **work)
            pred = float(f.predict(b[i]))
            lo, hi = f.interval(b[i], 0.9)
            loo.append({"precision": prec, "batch": int(b[i]), "measured_s": float(t[i]),
                        "predicted_s": pred, "error": pred / t[i] - 1.0,
                        "interval_low_s": lo, "interval_high_s": hi})
    return fits, loo


def markdown_tables(fits, loo) -> str:
    lines = ["| precision | peak used | t0 [ms] | η_c | η_m | rms error (all 5) | max \\|held-out error\\| |",
             "|---|---|---|---|---|---|---|"]
    for prec, f in fits.items():
        errs = [abs(r["error"]) for r in loo if r["precision"] == prec]
        eta_m = f"{f.memory_efficiency:.3g}" + ("" if f.identified["memory_efficiency"] else " (held, not identified)")
        lines.append(f"| {prec} | {f.peak_flops / 1e12:.1f} TFLOP/s | {f.t0_s * 1e3:.3f} ± {f.stderr['t0_s'] * 1e3:.3f} | "
                     f"{f.compute_efficiency:.3f} ± {f.stderr['compute_efficiency']:.3f} | {eta_m} | "
                     f"{100 * f.rms_relative_error:.2f} % | {100 * max(errs):.2f} % |")
    lines += ["", "| precision | held-out batch | measured [ms] | predicted [ms] | error | 90 % prediction interval [ms] |",
              "|---|---|---|---|---|---|"]
    for r in loo:
        lines.append(f"| {r['precision']} | {r['batch']} | {r['measured_s'] * 1e3:.3f} | {r['predicted_s'] * 1e3:.3f} | "
                     f"{100 * r['error']:+.2f} % | {r['interval_low_s'] * 1e3:.3f} – {r['interval_high_s'] * 1e3:.3f} |")
    return "\n".join(lines)


def plot(data, fits, loo, path: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    colors = {"fp32": "C0", "fp16": "C1", "int8": "C2"}
    grid = np.geomspace(1, 256, 200)
    for prec, (b, t) in data.items():
        f = fits[prec]
        c = colors[prec]
        lo, hi = f.interval(grid, 0.9)
        axes[0].plot(grid, np.asarray(f.predict(grid)) * 1e3, color=c, label=f"{prec} fit")
        axes[0].fill_between(grid, lo * 1e3, hi * 1e3, color=c, alpha=0.15)
        axes[0].plot(b, t * 1e3, "o", color=c, label=f"{prec} measured")
        held = [r for r in loo if r["precision"] == prec]
        axes[0].plot([r["batch"] for r in held], [r["predicted_s"] * 1e3 for r in held], "x", color=c, ms=8)
        axes[1].plot([r["batch"] for r in held], [100 * r["error"] for r in held], "o-", color=c, label=prec)
    axes[0].set(xscale="log", yscale="log", xlabel="batch [samples]", ylabel="GPU compute time per batch [ms]",
                title="ResNet-50, TensorRT 8.6, RTX 3060 Laptop\n(x: leave-one-out prediction; band: 90 % interval)")
    axes[0].legend(fontsize=8, ncol=2)
    axes[1].axhspan(-15, 15, color="0.9")
    axes[1].axhline(0, color="0.5", lw=0.8)
    axes[1].set(xscale="log", xlabel="held-out batch [samples]", ylabel="prediction error [%]",
                title="leave-one-batch-out error (grey: ±15 % acceptance)", ylim=(-20, 20))
    axes[1].legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--figure", type=Path, default=FIGURE, help="where to write the PNG (default %(default)s)")
    ap.add_argument("--no-figure", action="store_true")
    ap.add_argument("--sweep", type=Path, default=SWEEP)
    args = ap.parse_args(argv)
    if not args.sweep.is_dir():
        print(f"sweep folder {args.sweep} not found (../shared is not part of the repository)", file=sys.stderr)
        return 2
    data = load_sweep(args.sweep)
    fits, loo = fit_all(data)
    for prec, f in fits.items():
        print(f"--- {prec} (peak {f.peak_flops / 1e12:.2f} TFLOP/s, {f.peak_bandwidth / 1e9:.0f} GB/s)")
        print(f)
    print()
    print(markdown_tables(fits, loo))
    worst = max(abs(r["error"]) for r in loo)
    print(f"\nworst held-out error: {100 * worst:.2f} % (acceptance: 15 %)")
    if not args.no_figure:
        plot(data, fits, loo, args.figure)
        print(f"figure: {args.figure}")
    return 0 if worst <= 0.15 else 1


if __name__ == "__main__":
    raise SystemExit(main())
