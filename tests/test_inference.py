"""Inference estimator: the roofline fit, latency/throughput curves, best batch, energy, size."""
from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import plaster_model as pm
from plaster_model.inference import UnknownLatencyDistribution
from plaster_model.inference.api import INFERENCE_LIVE_ACTIVATION_FRACTION

SWEEP = Path(__file__).resolve().parents[2] / "shared" / "trtexec_samples" / "trt86_rtx3060laptop_resnet50_sweep"


class FakeCalibration:
    """The calibration protocol: parameters_for(...) -> dict, KeyError when it has no data."""

    def __init__(self, table):
        self.table = table
        self.calls = []

    def parameters_for(self, *, device, precision, model, phase, n_devices):
        self.calls.append(dict(device=device, precision=precision, model=model, phase=phase, n_devices=n_devices))
        try:
            return self.table[(device, precision, model, phase)]
        except KeyError:
            raise KeyError(f"no {phase} calibration for {model} on {device} at {precision}") from None


def toy_model(**kw):
    base = dict(name="toy", params=25_000_000, fwd_flops="8 GFLOP", source="test")
    base.update(kw)
    return pm.Model(**base)


def toy_device(name="GPU-A", fp32="10 TFLOPS", bw="300 GB/s", power="100 W", **kw):
    return pm.Device(name=name, peak_flops={"fp32": fp32, **kw.pop("peaks", {})}, memory_bytes=kw.pop("memory", "16 GB"),
                     memory_bandwidth=bw, power_w=power, source="test", **kw)


# --------------------------------------------------------------------------- roofline
def test_knee_batch_matches_equal_terms():
    F, W, A, g, bw = 8e9, 100e6, 5e6, 10e12, 300e9
    b_star = pm.inference_knee_batch(F, W, A, g, bw)
    assert F * b_star / g == pytest.approx((W + A * b_star) / bw)
    # activation traffic alone memory-bound: no knee
    assert pm.inference_knee_batch(F, W, F * bw / g * 2, g, bw) == math.inf


# --------------------------------------------------------------------------- fit
def test_fit_recovers_both_branches_with_standard_errors():
    F, W, A, g, bw = 8e9, 400e6, 20e6, 10e12, 300e9
    b = np.array([1, 2, 4, 8, 16, 32, 64, 128])
    truth = dict(t0=0.4e-3, eta_c=0.6, eta_m=0.5)
    t = pm.inference_batch_time(F, W, A, b, truth["eta_c"] * g, truth["eta_m"] * bw, truth["t0"])
    rng = np.random.default_rng(0)
    t_noisy = t * (1 + 0.005 * rng.standard_normal(b.size))
    fit = pm.fit_inference_curve(b, t_noisy, fwd_flops=F, weight_bytes=W, activation_bytes_per_sample=A,
                                 peak_flops=g, peak_bandwidth=bw)
    assert set(fit.bound) == {"compute", "memory"}
    assert fit.identified == {"t0_s": True, "compute_efficiency": True, "memory_efficiency": True}
    assert fit.compute_efficiency == pytest.approx(0.6, rel=0.03)
    assert fit.memory_efficiency == pytest.approx(0.5, rel=0.03)
    assert fit.t0_s == pytest.approx(0.4e-3, rel=0.2)
    for name in ("t0_s", "compute_efficiency", "memory_efficiency"):
        assert 0 < fit.stderr[name] < np.inf
    assert fit.covariance.shape == (3, 3)
    assert fit.residuals.shape == b.shape and fit.dof == b.size - 3
    np.testing.assert_allclose(fit.residuals, fit.predict(b) / t_noisy - 1, atol=1e-12)
    lo, hi = fit.interval(b, level=0.9)
    assert np.all(lo < fit.predict(b)) and np.all(fit.predict(b) < hi)
    clo, chi = fit.interval(b, level=0.9, kind="confidence")
    assert np.all(chi - clo < hi - lo)  # prediction band adds the residual scatter
    assert isinstance(fit.predict(3), float) and isinstance(fit.interval(3)[0], float)
    frame = fit.to_frame()
    assert list(frame.columns) == ["batch", "time_s", "predicted_s", "relative_error", "bound"]
    params = fit.parameters()
    assert set(params) >= {"efficiency", "efficiency_interval", "memory_efficiency", "t0_s", "notes"}
    lo_e, hi_e = params["efficiency_interval"]
    assert lo_e < fit.compute_efficiency < hi_e


def test_fit_efficiency_may_exceed_one_but_is_bounded():
    # a Winograd-like run: 1.8x faster than the direct-convolution FLOP count allows
    b = np.array([8, 16, 32, 64])
    t = pm.inference_batch_time(8e9, 1e6, 0.0, b, 1.8 * 10e12, 300e9, 1e-4)
    fit = pm.fit_inference_curve(b, t, fwd_flops=8e9, weight_bytes=1e6, peak_flops=10e12, peak_bandwidth=300e9)
    assert fit.compute_efficiency == pytest.approx(1.8, rel=1e-4)
    # 8x the direct count is beyond the package's one bound (5: COMPUTE_EFFICIENCY_MAX)
    t_bad = pm.inference_batch_time(8e9, 1e6, 0.0, b, 8 * 10e12, 300e9, 0.0)
    fit_bad = pm.fit_inference_curve(b, t_bad, fwd_flops=8e9, weight_bytes=1e6, peak_flops=10e12, peak_bandwidth=300e9)
    assert fit_bad.compute_efficiency <= 5.0
    assert any("upper bound" in n for n in fit_bad.notes)


def test_fit_holds_an_efficiency_supported_by_one_point():
    # all compute-bound except the smallest batch, which sits 10 % above the line: a free
    # memory efficiency would turn it into a "memory floor"; it is held at 1.0 instead.
    b = np.array([8.0, 16, 32, 64, 128])
    t = 1e-3 + 0.8e-3 * b
    t[0] *= 1.10
    fit = pm.fit_inference_curve(b, t, fwd_flops=8e9, weight_bytes=100e6, peak_flops=13e12, peak_bandwidth=336e9)
    assert fit.memory_efficiency == 1.0 and not fit.identified["memory_efficiency"]
    assert math.isnan(fit.stderr["memory_efficiency"])
    assert any("batch 8" in n and "held at 1.0" in n for n in fit.notes)
    assert float(fit.predict(1)) < 3e-3  # small-batch extrapolation stays on the line


def test_fit_input_checks_and_fixed_parameters():
    kw = dict(fwd_flops=8e9, weight_bytes=100e6, peak_flops=10e12, peak_bandwidth=300e9)
    with pytest.raises(ValueError, match="same length"):
        pm.fit_inference_curve([1, 2], [1e-3], **kw)
    with pytest.raises(ValueError, match="positive"):
        pm.fit_inference_curve([1, 2], [1e-3, -1e-3], **kw)
    with pytest.raises(ValueError, match="cannot determine"):
        pm.fit_inference_curve([8], [5e-3], **kw)
    one = pm.fit_inference_curve([8], ["5 ms"], fixed={"t0_s": "1 ms", "memory_efficiency": 1.0}, **kw)
    assert one.t0_s == 1e-3 and one.compute_efficiency == pytest.approx(8e9 * 8 / (10e12 * 4e-3))
    assert one.dof == 0 and math.isnan(one.interval(8)[0])
    with pytest.raises(ValueError, match="unknown parameter"):
        pm.fit_inference_curve([8, 16], [5e-3, 9e-3], fixed={"eta": 1.0}, **kw)


# --------------------------------------------------------------------------- curves
@settings(max_examples=30, deadline=None)
@given(device=st.sampled_from(["T4", "V100", "K80", "A100", "Xeon Gold 6148"]),
       eta_c=st.floats(0.05, 3.0), eta_m=st.floats(0.05, 1.0), t0=st.floats(0.0, 5e-3),
       transfer=st.booleans())
def test_latency_non_decreasing_in_batch(device, eta_c, eta_m, t0, transfer):
    kw = dict(host_link="PCIe 3.0 x16") if transfer else {}
    df = pm.latency_throughput_curve("ResNet-50", device, "fp32", batches=range(1, 300, 7),
                                     compute_efficiency=eta_c, memory_efficiency=eta_m, t0=t0,
                                     include_transfer=transfer, **kw)
    assert np.all(np.diff(df["latency_s"].to_numpy()) >= 0)


@pytest.mark.parametrize("device,precision", [("T4", "int8"), ("T4", "fp32"), ("V100", "fp16"), ("A100", "int8")])
def test_throughput_non_decreasing_up_to_the_knee(device, precision):
    w = pm.inference_workload("ResNet-50", device, precision)
    knee = pm.inference_knee_batch(w["fwd_flops"], w["weight_bytes"], w["activation_bytes_per_sample"],
                                   w["peak_flops"], w["peak_bandwidth"])
    top = int(min(max(2 * knee, 64), 4096))
    df = pm.latency_throughput_curve("ResNet-50", device, precision, batches=range(1, top + 1), t0="0.2 ms")
    thr = df["throughput_samples_s"].to_numpy()
    upto = df["batch"].to_numpy() <= knee
    assert np.all(np.diff(thr[upto]) >= 0)
    assert np.all(np.diff(thr) >= -1e-9 * thr[:-1])  # and beyond it, saturating
    # beyond the knee every batch is compute-bound, throughput approaches γ/F
    beyond = df[df["batch"] > knee]
    if len(beyond):
        assert set(beyond["bound"]) == {"compute"}
        assert thr[-1] <= w["peak_flops"] / w["fwd_flops"] * (1 + 1e-12)


@pytest.mark.parametrize("transfer", [False, True])
def test_int8_never_slower_than_fp32_on_t4(transfer):
    assert "int8" in pm.load_device("T4").precisions
    b = list(range(1, 513))
    kw = dict(include_transfer=transfer)
    fp32 = pm.latency_throughput_curve("ResNet-50", "T4", "fp32", batches=b, **kw)
    int8 = pm.latency_throughput_curve("ResNet-50", "T4", "int8", batches=b, **kw)
    assert np.all(int8["latency_s"].to_numpy() <= fp32["latency_s"].to_numpy())
    assert np.all(int8["throughput_samples_s"].to_numpy() >= fp32["throughput_samples_s"].to_numpy())


def test_curve_columns_and_assumptions():
    df = pm.latency_throughput_curve("ResNet-50", "T4", "fp16", include_transfer=True)
    for col in ("batch", "latency_s", "throughput_samples_s", "compute_time_s", "memory_time_s", "transfer_time_s",
                "bound", "energy_per_inference_j", "inferences_per_j", "power_w", "calibrated"):
        assert col in df.columns
    assert df["batch"].tolist() == [1, 2, 4, 8, 16, 32, 64, 128, 256]
    assert not df["calibrated"].any()
    text = " ".join(df.attrs["assumptions"])
    assert "efficiencies 1.0 and t0 = 0" in text and "PCIe 3.0 x16" in text
    # the latency is the single formula plus the host transfer
    w = pm.inference_workload("ResNet-50", "T4", "fp16")
    link = pm.load_interconnect("PCIe 3.0 x16")
    b = df["batch"].to_numpy()
    expected = pm.inference_batch_time(w["fwd_flops"], w["weight_bytes"], w["activation_bytes_per_sample"], b,
                                       w["peak_flops"], w["peak_bandwidth"]) \
        + pm.host_transfer_time(3 * 224 * 224 * 4, 0.0, b, link.bandwidth, link.latency_s)
    np.testing.assert_allclose(df["latency_s"], expected, rtol=1e-12)


def test_unsupported_precision_names_device_and_precision():
    with pytest.raises(ValueError, match=r"V100.*int8|int8.*V100"):
        pm.latency_throughput_curve("ResNet-50", "V100", "int8")
    with pytest.raises(ValueError, match=r"TPU2.*fp32"):
        pm.best_batch("ResNet-50", "TPU2", precision="fp32")


# --------------------------------------------------------------------------- best batch
def test_best_batch_accepts_latency_exactly_at_the_budget():
    curve = pm.latency_throughput_curve("ResNet-50", "T4", "int8", batches=range(1, 65), t0="0.3 ms",
                                        compute_efficiency=0.4)
    edge = float(curve.loc[curve["batch"] == 16, "latency_s"].iloc[0])
    r = pm.best_batch("ResNet-50", "T4", latency_budget=edge, precision="int8", t0="0.3 ms", compute_efficiency=0.4)
    assert r.batch == 16 and r.meets_budget and r.latency_s == edge
    assert r.limited_by == "latency"
    assert r.throughput_samples_s == pytest.approx(16 / edge)
    just_below = pm.best_batch("ResNet-50", "T4", latency_budget=np.nextafter(edge, 0) * (1 - 1e-9),
                               precision="int8", t0="0.3 ms", compute_efficiency=0.4)
    assert just_below.batch == 15
    # a string budget: 0.3 ms + 0.2 ms·b at 7 ms -> 33.5 -> 33
    m = toy_model(fwd_flops="7.8 GFLOP")
    r2 = pm.best_batch(m, "T4", "7 ms", "int8", compute_efficiency=0.3, t0="0.3 ms")
    assert r2.batch == 33 and r2.latency_s <= 7e-3


def test_best_batch_none_meets_gives_zero_throughput_and_a_message():
    r = pm.best_batch("VGG-16", "K80", latency_budget="1 ms", precision="fp32")
    assert r.batch == 0 and not r.meets_budget and r.throughput_samples_s == 0.0
    assert r.latency_s > r.budget_s
    assert "no batch meets the budget" in r.message and "throughput within the budget is 0" in r.message
    assert r.to_frame().loc[0, "batch"] == 0
    assert "no batch meets" in str(r)


def test_best_batch_candidates_and_memory_limit():
    r = pm.best_batch("ResNet-50", "T4", "50 ms", "int8", batches=[1, 2, 4, 8, 16, 32, 64, 128, 256, 512])
    assert r.batch in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512) and r.latency_s <= 0.05
    small = toy_device("small", memory="1 GB", bw="300 GB/s", fp32="100 TFLOPS")
    m = toy_model(activation_bytes_per_sample="80 MB")
    rm = pm.best_batch(m, small, "1 s", "fp32")
    assert rm.limited_by == "memory"
    assert rm.memory_needed_bytes <= small.memory_bytes
    # weights once (25 M × 4 B) + the live fraction of the 80 MB training figure per sample
    live = INFERENCE_LIVE_ACTIVATION_FRACTION * 80e6
    assert rm.batch == int((1e9 - 25e6 * 4) // live)
    assert any("does not fit" in a for a in rm.assumptions)


def test_percentile_budget_uses_the_calibrated_tail_ratio():
    cal = FakeCalibration({("T4", "int8", "ResNet-50", "inference"): {
        "efficiency": 0.4, "efficiency_interval": (0.35, 0.45), "memory_efficiency": 0.8, "t0_s": 0.5e-3,
        "notes": ["fitted to 5 trtexec runs"], "latency_p99_ratio": 1.2}})
    mean = pm.best_batch("ResNet-50", "T4", "7 ms", "int8", calibration=cal)
    p99 = pm.best_batch("ResNet-50", "T4", "7 ms", "int8", calibration=cal, percentile=99)
    assert p99.latency_statistic == "p99" and p99.batch < mean.batch
    assert p99.latency_s <= 7e-3
    curve = pm.latency_throughput_curve("ResNet-50", "T4", "int8", batches=[p99.batch], calibration=cal,
                                        latency_percentile=99)
    assert curve.loc[0, "latency_s"] == pytest.approx(p99.latency_s)
    # throughput comes from the typical (mean) latency, not the tail
    assert p99.throughput_samples_s == pytest.approx(p99.batch * 1.2 / p99.latency_s)
    with pytest.raises(UnknownLatencyDistribution, match="percentile_ratio"):
        pm.best_batch("ResNet-50", "T4", "7 ms", "int8", percentile=99)
    given = pm.best_batch("ResNet-50", "T4", "7 ms", "int8", percentile=99, percentile_ratio=1.2,
                          compute_efficiency=0.4, memory_efficiency=0.8, t0="0.5 ms")
    assert given.batch == p99.batch and not given.calibrated


def test_calibration_protocol_and_fallback():
    cal = FakeCalibration({("T4", "int8", "ResNet-50", "inference"): {
        "efficiency": 0.4, "efficiency_interval": (0.35, 0.45), "memory_efficiency": 0.8, "t0_s": 0.5e-3,
        "notes": ["fitted to 5 trtexec runs"], "measured_power_w": 62.0}})
    df = pm.latency_throughput_curve("ResNet-50", "T4", "int8", batches=[1, 32], calibration=cal)
    assert cal.calls[0] == dict(device="T4", precision="int8", model="ResNet-50", phase="inference", n_devices=1)
    assert df["calibrated"].all() and (df["power_w"] == 62.0).all()
    # the interval carries the compute-efficiency interval: zero width where memory-bound (batch 1)
    assert np.all(df["latency_low_s"] <= df["latency_s"]) and np.all(df["latency_s"] <= df["latency_high_s"])
    assert df.loc[1, "bound"] == "compute" and df.loc[1, "latency_low_s"] < df.loc[1, "latency_s"] < df.loc[1, "latency_high_s"]
    assert any("fitted to 5 trtexec runs" in a for a in df.attrs["assumptions"])
    w = pm.inference_workload("ResNet-50", "T4", "int8")
    expected = pm.inference_batch_time(w["fwd_flops"], w["weight_bytes"], w["activation_bytes_per_sample"],
                                       np.array([1, 32]), 0.4 * w["peak_flops"], 0.8 * w["peak_bandwidth"], 0.5e-3)
    np.testing.assert_allclose(df["latency_s"], expected)
    # an explicit efficiency overrides the calibration
    df2 = pm.latency_throughput_curve("ResNet-50", "T4", "int8", batches=[32], calibration=cal, compute_efficiency=0.2)
    assert df2.loc[0, "compute_time_s"] == pytest.approx(w["fwd_flops"] * 32 / (0.2 * w["peak_flops"]))
    # a pair the calibration does not cover: warned, stated, peak-based
    with pytest.warns(UserWarning, match="no inference parameters"):
        df3 = pm.latency_throughput_curve("ResNet-50", "T4", "fp16", calibration=cal)
    assert not df3["calibrated"].any()


def test_fit_feeds_the_calibration_protocol():
    w = pm.inference_workload("ResNet-50", "T4", "int8")
    b = np.array([1, 4, 16, 64, 128])
    t = pm.inference_batch_time(w["fwd_flops"], w["weight_bytes"], w["activation_bytes_per_sample"], b,
                                0.3 * w["peak_flops"], 0.7 * w["peak_bandwidth"], 0.6e-3)
    t = t * (1 + 0.01 * np.array([1, -1, 1, -1, 0.5]))
    fit = pm.fit_inference_curve(b, t, **w)
    cal = FakeCalibration({("T4", "int8", "ResNet-50", "inference"): fit.parameters()})
    df = pm.latency_throughput_curve("ResNet-50", "T4", "int8", batches=b, calibration=cal)
    np.testing.assert_allclose(df["latency_s"], fit.predict(b), rtol=1e-12)


# --------------------------------------------------------------------------- energy
def test_energy_units_by_derivation():
    df = pm.latency_throughput_curve("ResNet-50", "T4", "int8", batches=[1, 8, 64], t0="0.5 ms")
    for row in df.itertuples():
        # J per inference = W × (s per batch) / (inferences per batch)
        joules = pm.to_si(f"{row.power_w} W", "power") * pm.to_si(f"{row.latency_s} s", "time") / row.batch
        assert row.energy_per_inference_j == pytest.approx(joules)
        assert joules == pytest.approx(pm.to_si(f"{row.energy_per_inference_j * 1e3} mJ", "energy"))
        # inferences per joule = (inferences/s) / W, the reciprocal
        assert row.inferences_per_j == pytest.approx(row.throughput_samples_s / row.power_w)
        assert row.inferences_per_j * row.energy_per_inference_j == pytest.approx(1.0)
    assert pm.energy_per_inference(1000.0, "70 W") == pytest.approx(0.07)
    assert pm.inferences_per_joule("1000 img/s", 70.0) == pytest.approx(1000 / 70)
    # no throughput is no energy figure (never an infinite one): refused by name
    with pytest.raises(pm.ParameterError, match="throughput_samples_s"):
        pm.energy_per_inference(0.0, 70.0)
    with pytest.raises(pm.ParameterError, match="power_w"):
        pm.inferences_per_joule(10.0, 0.0)


def test_plaster_rule_of_thumb_200w_20x_faster_beats_130w():
    # (20·r/200) / (r/130) = 130·20/200 = 13: the faster device wins 13× on inferences per joule
    r = 250.0
    assert pm.inferences_per_joule(20 * r, 200) / pm.inferences_per_joule(r, 130) == pytest.approx(13.0)
    slow = toy_device("slow-130W", fp32="1 TFLOPS", bw="50 GB/s", power="130 W")
    fast = toy_device("fast-200W", fp32="20 TFLOPS", bw="1 TB/s", power="200 W")
    b = [1, 8, 32]
    s = pm.latency_throughput_curve("ResNet-50", slow, "fp32", batches=b)
    f = pm.latency_throughput_curve("ResNet-50", fast, "fp32", batches=b)
    np.testing.assert_allclose(f["throughput_samples_s"] / s["throughput_samples_s"], 20.0)
    np.testing.assert_allclose(f["inferences_per_j"] / s["inferences_per_j"], 13.0)
    assert np.all(f["energy_per_inference_j"] < s["energy_per_inference_j"])


# --------------------------------------------------------------------------- size
def test_model_footprint():
    f = pm.model_footprint("VGG-16", "T4", precision="fp16", batch=1)
    assert f["params"] == 138_357_544 and f["weight_bytes"] == 2 * 138_357_544
    link = pm.load_interconnect("PCIe 3.0 x16")
    assert f["weight_transfer_time_s"] == pytest.approx(link.latency_s + f["weight_bytes"] / link.bandwidth)
    assert f["fits_in_memory"] and f["transfer_link"] == "PCIe 3.0 x16"
    tiny = toy_device("tiny", memory="100 MB")
    assert not pm.model_footprint("VGG-16", tiny, "fp32")["fits_in_memory"]
    assert pm.model_footprint("VGG-16", tiny, "int8")["fits_in_memory"] is False  # 138 MB > 100 MB
    m = toy_model(activation_bytes_per_sample="10 MB")
    big = pm.model_footprint(m, "T4", "fp32", batch=100)
    assert big["memory_needed_bytes"] == pytest.approx(25e6 * 4 + 100 * INFERENCE_LIVE_ACTIVATION_FRACTION * 10e6)
    nolink = pm.model_footprint("ResNet-50", "TPU2")
    assert math.isnan(nolink["weight_transfer_time_s"])
    assert pm.model_footprint("ResNet-50", "TPU2", link="PCIe 3.0 x16")["transfer_link"] == "PCIe 3.0 x16"


# --------------------------------------------------------------------------- acceptance on real data
def _sweep_points():
    if not SWEEP.is_dir():
        pytest.skip("../shared/trtexec_samples is absent (third-party data is not part of the repository)")
    from plaster_model.io.readers import read_measurements

    df = read_measurements(SWEEP)
    df = df[(df["metric"] == "latency_ms") & (df["phase"] == "inference")]
    out = {}
    for prec, g in df.groupby("precision"):
        g = g.sort_values("batch_per_device")
        out[prec] = (g["batch_per_device"].to_numpy(float), g["value"].to_numpy(float) * 1e-3)
    return out


def test_resnet50_trt_sweep_held_out_batches_within_15_percent():
    data = _sweep_points()
    assert sorted(data) == ["fp16", "fp32", "int8"] and all(len(b) == 5 for b, _ in data.values())
    # RTX 3060 Laptop GPU (not in the catalog): 30 SMs × 1.702 GHz (trtexec device block),
    # GA10x per-SM rates (Ampere GA102 whitepaper), 14 Gbps × 192-bit GDDR6.
    sm_hz = 30 * 1.702e9
    gpu = pm.Device(name="RTX 3060 Laptop", peak_flops={"fp32": 256 * sm_hz, "fp16_tensor": 1024 * sm_hz,
                                                        "int8": 2048 * sm_hz},
                    memory_bytes="6 GiB", memory_bandwidth="336 GB/s", power_w="115 W",
                    source="derived from the trtexec log and NVIDIA Ampere/RTX 3060 laptop specs")
    worst = {}
    for prec, (b, t) in data.items():
        work = pm.inference_workload("ResNet-50 v1.5", gpu, prec)
        errors = []
        for i in range(len(b)):
            keep = np.arange(len(b)) != i
            fit = pm.fit_inference_curve(b[keep], t[keep], **work)
            errors.append(float(fit.predict(b[i])) / t[i] - 1)
        worst[prec] = max(abs(e) for e in errors)
    assert all(w <= 0.15 for w in worst.values()), worst
    # and tighter than the acceptance: measured worst cases are 2.6 / 3.0 / 4.0 %
    assert max(worst.values()) < 0.06, worst
