"""Draw the figures of the README and the plotting guide into docs/img/.

    .venv/bin/python scripts/make_readme_figure.py            # all figures
    .venv/bin/python scripts/make_readme_figure.py scaling    # only docs/img/scaling.png

scaling.png (the README picture): data-parallel speedup of VGG-16 on K40 GPUs, batch 16 per
GPU, weak scaling, over PCIe 3.0 x16 and InfiniBand FDR (the HPE Deep Learning Cookbook
example), with the crossover device count of each link.
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
IMG = REPO / "docs" / "img"
sys.path.insert(0, str(REPO))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import plaster_model as pm  # noqa: E402
from plaster_model import plotting  # noqa: E402

PNG_METADATA = {"Software": None}  # no version string: regenerating gives the same bytes


def scaling():
    template = pm.Cluster("K40", n_devices=64, interconnect="InfiniBand FDR")
    # the HPE slides' chart: their tree all-reduce, named explicitly (the default is "auto")
    curve = pm.scaling_curve("VGG-16", template, devices=[1, 2, 4, 8, 16, 32, 64], batch_per_device=16,
                             interconnect=["PCIe 3.0 x16", "InfiniBand FDR"], algorithm="tree")
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    plotting.plot_scaling(curve, y="speedup", hue="interconnect", ax=left,
                          title="VGG-16 on K40, batch 16 per GPU (weak scaling)")
    plotting.plot_breakdown(curve[curve["devices"].isin([1, 8, 64])], ax=right,
                            title="time per iteration")
    return fig


def roofline():
    ax = plotting.plot_roofline(["V100", "T4"], ["ResNet-50", "VGG-16", "AlexNet"])
    return ax.figure


def latency_throughput():
    import pandas as pd

    batches = [1, 2, 4, 8, 16, 32, 64, 128, 256]
    frames = [pm.latency_throughput_curve("ResNet-50", dev, precision=prec, batches=batches)
              for dev, prec in [("T4", "int8"), ("V100", "fp16"), ("A100", "int8")]]
    df = pd.concat(frames, ignore_index=True)
    df["config"] = df["device"].astype(str) + " " + df["precision"].astype(str)
    ax = plotting.plot_latency_throughput(df, latency_budget="7 ms", hue="config",
                                          title="ResNet-50, peak-based")
    return ax.figure


def plaster():
    report = pm.plaster_report("ResNet-50", devices=["T4", "A100"], latency_budget="7 ms",
                               precision=["fp32", "int8"])
    ax = plotting.plot_plaster(report)
    return ax.figure


FIGURES = {"scaling": scaling, "roofline": roofline, "latency_throughput": latency_throughput,
           "plaster": plaster}


def main(argv=None) -> int:
    names = (argv if argv is not None else sys.argv[1:]) or list(FIGURES)
    IMG.mkdir(parents=True, exist_ok=True)
    for name in names:
        fig = FIGURES[name]()
        path = IMG / f"{name}.png"
        fig.savefig(path, dpi=100, metadata=PNG_METADATA, bbox_inches="tight")
        plt.close(fig)
        print("wrote", path.relative_to(REPO))
    return 0


if __name__ == "__main__":
    sys.exit(main())
