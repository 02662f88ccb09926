"""plaster_model.plotting: each function returns axes with the expected lines, labels and data.

No image comparison (brittle); every figure is saved under tests/_artifacts/ for a person to
look at. Frames are hand-built in the shape the library returns (scaling_curve,
latency_throughput_curve, Calibration.residuals_, plaster_report), plus a few real ones.
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import plaster_model as pm  # noqa: E402
from plaster_model import plotting  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _save(ax, artifacts_dir, name):
    ax.figure.savefig(artifacts_dir / f"plot_{name}.png", dpi=90, bbox_inches="tight")


def _scaling_frame(interconnect, beta, p_list=(1, 2, 4, 8, 16, 32, 64, 128), t_c1=0.4, w=138e6 * 4):
    """A weak-scaling curve in the shape of pm.scaling_curve (seed tree all-reduce)."""
    p = np.asarray(p_list, dtype=float)
    comm = np.where(p > 1, 2 * w * np.log2(np.maximum(p, 1)) / beta, 0.0)
    t = t_c1 + comm
    thr = p * 16 / t
    speedup = thr / thr[0]
    # p* solves t_c1 = 2 w log2 p / beta
    p_star = 2 ** (t_c1 * beta / (2 * w))
    return pd.DataFrame({
        "devices": p.astype(int), "nodes": p.astype(int), "iteration_time_s": t,
        "compute_time_s": t_c1, "communication_time_s": comm, "overhead_time_s": 0.01,
        "throughput_samples_s": thr, "speedup": speedup, "efficiency": speedup / p,
        "bound": np.where(comm > t_c1, "communication", "compute"), "algorithm": "tree",
        "interconnect": interconnect, "crossover_devices": p_star,
    })


def test_import_does_not_load_matplotlib():
    code = ("import sys, plaster_model, plaster_model.plotting; "
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported eagerly'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_axis_label_units():
    assert plotting.axis_label("iteration_time_s") == "iteration time [s]"
    assert plotting.axis_label("throughput_samples_s") == "throughput [samples/s]"
    assert plotting.axis_label("energy_inferences_per_j") == "energy inferences [1/J]"
    assert plotting.axis_label("weight_bytes") == "weight [B]"


def test_plot_scaling_hue_ideal_crossover_measured(artifacts_dir):
    df = pd.concat([_scaling_frame("PCIe 3.0 x16", 15.75e9), _scaling_frame("InfiniBand FDR", 6.79e9)],
                   ignore_index=True)
    measured = pd.DataFrame({"devices": [2, 8, 32], "speedup": [1.7, 4.9, 9.0]})
    ax = plotting.plot_scaling(df, y="speedup", measured=measured, measured_label="published")
    _save(ax, artifacts_dir, "scaling_speedup")
    labels = [l.get_label() for l in ax.get_lines()]
    assert "PCIe 3.0 x16" in labels and "InfiniBand FDR" in labels
    assert "ideal" in labels
    ideal = next(l for l in ax.get_lines() if l.get_label() == "ideal")
    np.testing.assert_allclose(ideal.get_ydata(), ideal.get_xdata())  # speedup 1 at p = 1
    cross = [l for l in ax.get_lines() if l.get_label().startswith("crossover p*")]
    assert len(cross) == 2
    xs = sorted(float(np.asarray(l.get_xdata())[0]) for l in cross)
    np.testing.assert_allclose(xs, sorted(df.groupby("interconnect")["crossover_devices"].first()), rtol=1e-12)
    line = next(l for l in ax.get_lines() if l.get_label() == "PCIe 3.0 x16")
    np.testing.assert_allclose(line.get_ydata(), df[df.interconnect == "PCIe 3.0 x16"]["speedup"])
    pts = ax.collections[-1]
    np.testing.assert_allclose(pts.get_offsets()[:, 1], measured["speedup"])
    assert ax.get_xlabel() == "devices p [count]"
    assert ax.get_ylabel() == "speedup [×]"
    assert ax.get_xscale() == "log"
    assert "published" in [t.get_text() for t in ax.get_legend().get_texts()]


@pytest.mark.parametrize("y, label", [("efficiency", "parallel efficiency [fraction of ideal]"),
                                      ("iteration_time_s", "iteration time [s]"),
                                      ("throughput_samples_s", "throughput [samples/s]")])
def test_plot_scaling_other_quantities(y, label, artifacts_dir):
    df = _scaling_frame("InfiniBand FDR", 6.79e9)
    df.attrs["scaling"] = "weak"
    ax = plotting.plot_scaling(df, y=y, crossover=False)
    _save(ax, artifacts_dir, f"scaling_{y}")
    assert ax.get_ylabel() == label
    assert not any(l.get_label().startswith("crossover") for l in ax.get_lines())
    ideal = next(l for l in ax.get_lines() if l.get_label() == "ideal")
    if y == "efficiency":
        assert set(np.asarray(ideal.get_ydata())) == {1.0}
    if y == "iteration_time_s":  # weak scaling: ideal time is constant
        np.testing.assert_allclose(ideal.get_ydata(), df["iteration_time_s"].iloc[0])


def test_plot_scaling_band_and_explicit_crossover(artifacts_dir):
    df = _scaling_frame("InfiniBand EDR", 12.5e9)
    df["speedup_low"] = df["speedup"] * 0.85
    df["speedup_high"] = df["speedup"] * 1.1
    fig, ax0 = plt.subplots()
    ax = plotting.plot_scaling(df, ax=ax0, crossover=24, hue=None)
    _save(ax, artifacts_dir, "scaling_band")
    assert ax is ax0
    assert len(ax.collections) == 1  # the interval band
    verts = ax.collections[0].get_paths()[0].vertices
    assert verts[:, 1].min() == pytest.approx(df["speedup_low"].min())
    assert verts[:, 1].max() == pytest.approx(df["speedup_high"].max())
    cross = [l for l in ax.get_lines() if l.get_label().startswith("crossover")]
    assert len(cross) == 1 and float(np.asarray(cross[0].get_xdata())[0]) == 24


def test_plot_scaling_from_real_sweep(artifacts_dir):
    df = pm.sweep(models=["VGG-16"], devices=["K40"], n_devices=[1, 2, 4, 8, 16, 32],
                  interconnects=["InfiniBand FDR", "10GbE"], batch_per_device=[16])
    ax = plotting.plot_scaling(df, y="throughput_samples_s")  # n_devices column, hue = interconnect
    _save(ax, artifacts_dir, "scaling_sweep")
    labels = {l.get_label() for l in ax.get_lines()}
    assert {"InfiniBand FDR", "10GbE", "ideal"} <= labels


def test_plot_scaling_rejects_missing_columns():
    with pytest.raises(ValueError, match="devices"):
        plotting.plot_scaling(pd.DataFrame({"speedup": [1, 2]}))
    with pytest.raises(ValueError, match="speedup"):
        plotting.plot_scaling(pd.DataFrame({"devices": [1, 2]}))


def test_plot_breakdown_stacks_components(artifacts_dir):
    df = pd.concat([_scaling_frame("PCIe 3.0 x16", 15.75e9, p_list=(1, 8, 64)),
                    _scaling_frame("InfiniBand FDR", 6.79e9, p_list=(1, 8, 64))], ignore_index=True)
    ax = plotting.plot_breakdown(df)
    _save(ax, artifacts_dir, "breakdown")
    names = [c.get_label() for c in ax.containers]
    assert names == ["compute", "communication", "overhead"]
    tops = np.array([r.get_y() + r.get_height() for r in ax.containers[-1]])
    np.testing.assert_allclose(tops, df["compute_time_s"] + df["communication_time_s"] + df["overhead_time_s"])
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks[0] == "PCIe 3.0 x16, 1 dev" and len(ticks) == 6
    assert ax.get_ylabel() == "time per iteration [s]"

    ax = plotting.plot_breakdown(df, normalize=True, horizontal=True, x="interconnect")
    _save(ax, artifacts_dir, "breakdown_normalized")
    widths = np.array([r.get_x() + r.get_width() for r in ax.containers[-1]])
    np.testing.assert_allclose(widths, 100.0)
    assert ax.get_xlabel() == "share of iteration time [%]"


def test_plot_breakdown_accepts_predictions(artifacts_dir):
    preds = [pm.predict_training("ResNet-50", pm.Cluster("V100", p, devices_per_node=8, intra_node="NVLink 2",
                                                         interconnect="10GbE"), batch_per_device=32)
             for p in (8, 16, 32)]
    ax = plotting.plot_breakdown(preds)
    _save(ax, artifacts_dir, "breakdown_predictions")
    heights = [r.get_height() for r in ax.containers[0]]
    np.testing.assert_allclose(heights, [p.compute_time_s for p in preds])


def test_plot_roofline_devices_models(artifacts_dir):
    ax = plotting.plot_roofline(["V100", "T4"], ["ResNet-50", "VGG-16", "AlexNet"], batch=1)
    _save(ax, artifacts_dir, "roofline_models")
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlabel() == "arithmetic intensity [FLOP/B]"
    assert ax.get_ylabel() == "attainable performance [TFLOP/s]"
    roofs = [l for l in ax.get_lines() if l.get_label().startswith(("V100", "T4"))]
    v100 = pm.load_device("V100")
    fp32 = next(l for l in roofs if l.get_label().startswith("V100 fp32"))
    assert max(fp32.get_ydata()) == pytest.approx(v100.peak("fp32") / 1e12)
    x, yv = np.asarray(fp32.get_xdata()), np.asarray(fp32.get_ydata())
    low = x < v100.peak("fp32") / v100.memory_bandwidth / 2  # memory-bound slope = bandwidth
    np.testing.assert_allclose(yv[low] * 1e12 / x[low], v100.memory_bandwidth)
    assert any(l.get_label().startswith("T4 int8") for l in roofs)
    names = [t.get_text().split("\n")[0] for t in ax.texts]
    assert sorted(names) == ["AlexNet", "ResNet-50", "VGG-16"]


def test_plot_roofline_layers(artifacts_dir):
    pytest.importorskip("onnx")
    from plaster_model.onnx_builders import tiny_cnn
    from plaster_model.onnx_import import onnx_layer_table

    layers = onnx_layer_table(tiny_cnn(), batch=8)
    ax = plotting.plot_roofline("x86-64 core (AVX2)", layers)
    _save(ax, artifacts_dir, "roofline_layers")
    placed = sum(len(c.get_offsets()) for c in ax.collections)
    expected = int(((layers["flops"] > 0) & (layers["arithmetic_intensity"] > 0)).sum())
    assert placed == expected > 0
    assert any(c.get_label().startswith("layers") for c in ax.collections)


def test_plot_roofline_unknown_precision():
    with pytest.raises(ValueError, match="int8"):
        plotting.plot_roofline("V100", precisions=["int8"])


def _lt_frame(device, scale):
    b = np.array([1, 2, 4, 8, 16, 32, 64, 128])
    lat = scale * (0.4e-3 + 0.12e-3 * b)
    return pd.DataFrame({"model": "ResNet-50", "device": device, "precision": "fp16", "batch": b,
                         "latency_s": lat, "latency_low_s": lat * 0.9, "latency_high_s": lat * 1.15,
                         "throughput_samples_s": b / lat, "bound": "compute"})


def test_plot_latency_throughput_budget(artifacts_dir):
    df = pd.concat([_lt_frame("T4", 2.0), _lt_frame("V100", 1.0)], ignore_index=True)
    ax = plotting.plot_latency_throughput(df, latency_budget="7 ms")
    _save(ax, artifacts_dir, "latency_throughput")
    lines = {l.get_label(): l for l in ax.get_lines()}
    assert {"T4", "V100"} <= set(lines)
    np.testing.assert_allclose(lines["V100"].get_xdata(), df[df.device == "V100"]["latency_s"] * 1e3)
    budget = lines["latency budget 7 ms"]
    assert float(np.asarray(budget.get_xdata())[0]) == pytest.approx(7.0)
    from matplotlib.collections import PathCollection

    stars = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(stars) == 2
    for star in stars:  # best batch within the budget
        assert star.get_offsets()[0, 0] <= 7.0
    v100 = df[(df.device == "V100") & (df.latency_s <= 7e-3)]
    assert max(s.get_offsets()[0, 1] for s in stars) == pytest.approx(v100.throughput_samples_s.max())
    assert ax.get_xlabel() == "latency per batch [ms]"
    assert ax.get_ylabel() == "throughput [samples/s]"


def test_plot_latency_throughput_real_curve(artifacts_dir):
    inference = pytest.importorskip("plaster_model.inference.api", reason="module pending")
    df = pd.concat([inference.latency_throughput_curve("ResNet-50", "T4", precision=p, batches=[1, 4, 16, 64])
                    for p in ("fp32", "int8")], ignore_index=True)
    ax = plotting.plot_latency_throughput(df, latency_budget=0.007)
    _save(ax, artifacts_dir, "latency_throughput_real")
    assert {"fp32", "int8"} <= {l.get_label() for l in ax.get_lines()}


def _residuals(n=30, seed=0):
    rng = np.random.default_rng(seed)
    measured = 10 ** rng.uniform(0, 2, n)
    predicted = measured * (1 + rng.normal(0, 0.1, n))
    return pd.DataFrame({"metric": "latency_ms", "device": rng.choice(["T4", "V100"], n),
                         "measured": measured, "predicted": predicted,
                         "predicted_low": predicted * 0.9, "predicted_high": predicted * 1.1,
                         "rel_error": predicted / measured - 1})


def test_plot_calibration(artifacts_dir):
    df = _residuals()
    ax = plotting.plot_calibration(df)
    _save(ax, artifacts_dir, "calibration")
    assert ax.get_xlabel() == "measured latency per batch [ms]"
    assert ax.get_ylabel() == "predicted latency per batch [ms]"
    identity = next(l for l in ax.get_lines() if l.get_label() == "y = x")
    np.testing.assert_allclose(identity.get_xdata(), identity.get_ydata())
    e90 = np.percentile(np.abs(df.rel_error), 90)
    assert any(f"±{100 * e90:.0f} %" in t.get_text() for t in ax.get_legend().get_texts())
    plotted = np.concatenate([np.column_stack([c.lines[0].get_xdata(), c.lines[0].get_ydata()])
                              for c in ax.containers])  # one errorbar container per device
    assert sorted(map(tuple, plotted)) == sorted(zip(df.measured, df.predicted))
    assert "median |error|" in ax.get_title()


def test_plot_calibration_from_object_and_bands(artifacts_dir):
    class FakeCalibration:  # the documented attribute of a fitted pm.Calibration
        residuals_ = _residuals(seed=1).drop(columns=["rel_error", "predicted_low", "predicted_high"])

    ax = plotting.plot_calibration(FakeCalibration(), band=[0.1, 0.25], log=False, hue=None)
    _save(ax, artifacts_dir, "calibration_bands")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "±10 %" in legend and "±25 %" in legend
    with pytest.raises(ValueError, match="measured"):
        plotting.plot_calibration(pd.DataFrame({"predicted": [1.0]}))


def _plaster_frame():
    return pd.DataFrame({
        "model": "ResNet-50", "device": ["T4", "T4", "V100", "V100"],
        "precision": ["fp32", "int8", "fp32", "int8"],
        "programmability_supported": [True, True, True, False],
        "programmability_precisions": ["fp32, fp16, int8", "fp32, fp16, int8", "fp64, fp32, fp16", "fp64, fp32, fp16"],
        "programmability_frameworks": ["TensorRT, PyTorch", "TensorRT, PyTorch", "TensorRT, PyTorch, Caffe",
                                       "TensorRT, PyTorch, Caffe"],
        "latency_budget_s": 0.007, "latency_s": [6.7e-3, 6.9e-3, 6.9e-3, np.nan],
        "latency_batch1_s": [1.0e-3, 0.25e-3, 0.5e-3, np.nan],
        "accuracy_top1_pct": [73.11, 72.54, 73.11, np.nan],
        "accuracy_top1_drop_vs_fp32_pct": [0.0, 0.57, 0.0, np.nan],
        "size_params": 25_610_269, "size_weight_bytes": [102e6, 25.6e6, 102e6, 25.6e6],
        "size_fits_in_memory": True,
        "throughput_batch": [8, 64, 16, np.nan], "throughput_samples_s": [1000.0, 15000.0, 2300.0, np.nan],
        "energy_power_w": [70.0, 70.0, 300.0, np.nan],
        "energy_per_inference_j": [0.07, 0.0047, 0.13, np.nan],
        "energy_inferences_per_j": [14.3, 214.0, 7.7, np.nan],
        "rate_of_learning_training_time_s": [59e3, 59e3, 23e3, np.nan],
        "rate_of_learning_refreshes_per_day": [1.46, 1.46, 3.7, np.nan],
    })


def test_plaster_scores_directions():
    scores = plotting.plaster_scores(_plaster_frame())
    assert list(scores.columns) == list(plotting.PLASTER_DIMENSIONS)
    used = scores.attrs["columns"]
    assert used["latency"] == ("latency_batch1_s", "lower")
    assert used["throughput"] == ("throughput_samples_s", "higher")
    assert used["energy"] == ("energy_inferences_per_j", "higher")
    assert used["accuracy"] == ("accuracy_top1_pct", "higher")
    assert used["size"] == ("size_weight_bytes", "lower")
    assert used["rate_of_learning"] == ("rate_of_learning_refreshes_per_day", "higher")
    assert scores.loc[1, "latency"] == 1.0 and scores.loc[0, "latency"] == pytest.approx(0.25)
    assert scores.loc[1, "throughput"] == 1.0
    assert scores.loc[3, "programmability"] == 0.0  # unsupported precision
    assert scores.loc[2, "programmability"] == 1.0  # most frameworks + precisions
    vals = scores.to_numpy(dtype=float)
    assert np.nanmin(vals) >= 0 and np.nanmax(vals) <= 1


def test_plot_plaster_radar_and_bars(artifacts_dir):
    df = _plaster_frame()
    ax = plotting.plot_plaster(df)
    _save(ax, artifacts_dir, "plaster_radar")
    assert ax.name == "polar"
    assert [l.get_label() for l in ax.get_lines()] == ["T4 fp32", "T4 int8", "V100 fp32"]
    ticks = [t.get_text().split("\n")[0] for t in ax.get_xticklabels()]
    assert ticks == ["Programmability", "Latency", "Accuracy", "Size", "Throughput", "Energy",
                     "Rate of learning"]
    assert "not supported: V100 int8" in ax.get_title()
    assert "[s]" in ax.get_xticklabels()[1].get_text()

    ax = plotting.plot_plaster(df, kind="bars", include_unsupported=True)
    _save(ax, artifacts_dir, "plaster_bars")
    assert len(ax.containers) == 4
    assert ax.get_ylabel() == "normalized score [0–1, 1 = best of compared]"
    fig, flat = plt.subplots()
    with pytest.raises(ValueError, match="polar"):
        plotting.plot_plaster(df, ax=flat)


def test_plot_plaster_real_report(artifacts_dir):
    plaster = pytest.importorskip("plaster_model.plaster", reason="module pending")
    df = plaster.plaster_report("ResNet-50", devices=["T4", "V100", "A100"], latency_budget="7 ms",
                                precision=["fp32", "int8"])
    ax = plotting.plot_plaster(df, kind="radar")
    _save(ax, artifacts_dir, "plaster_real")
    assert len(ax.get_lines()) == int(df["programmability_supported"].sum())
    # issue 26: beyond four rows the default draws small multiples, one panel per row
    axes = plotting.plot_plaster(df)
    assert int(df["programmability_supported"].sum()) == 5 > plotting.RADAR_MAX_ROWS
    assert len(axes) == 5 and [a.get_title() for a in axes][0] == "T4 fp32"


def test_plot_latency_throughput_one_line_per_device_and_precision():
    # issue 12, defect 6: V100 fp16 + T4 int8 + T4 fp16 are three curves. With hue on the
    # device alone, T4's two precisions joined into one zig-zag line of 16 points.
    frames = [_lt_frame("V100", 1.0), _lt_frame("T4", 2.0), _lt_frame("T4", 1.5)]
    frames[1]["precision"] = "int8"
    df = pd.concat(frames, ignore_index=True)
    ax = plotting.plot_latency_throughput(df)
    lines = {l.get_label(): l for l in ax.get_lines()}
    assert {"V100 fp16", "T4 int8", "T4 fp16"} <= set(lines)
    for label, (dev, prec) in {"T4 int8": ("T4", "int8"), "T4 fp16": ("T4", "fp16")}.items():
        sub = df[(df.device == dev) & (df.precision == prec)].sort_values("batch")
        assert len(lines[label].get_xdata()) == 8  # its own 8 batches, no other curve's
        np.testing.assert_allclose(lines[label].get_xdata(), sub["latency_s"] * 1e3)
    assert ax.get_legend().get_title().get_text() == "device / precision"
    # an explicit single hue still groups by that column only
    ax2 = plotting.plot_latency_throughput(df, hue="device")
    assert len(next(l for l in ax2.get_lines() if l.get_label() == "T4").get_xdata()) == 16
