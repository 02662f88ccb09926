"""The power-capped clock: a device fitted on one board serving another on the same process.

Each test states the property it checks and the derivation of the number it asserts.
"""
from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import plaster_model as pm
from plaster_model.catalog.loader import active_catalog

from _synthetic import BATCHES, inference_latency_rows


def test_t4_against_v100_follows_the_cube_law():
    # w = P / γ: T4 70 W / 8.1 TFLOPS = 8.642 W per TFLOPS, V100 SXM2 300 W / 15.7 TFLOPS =
    # 19.108; P ∝ f³ at one energy per operation gives (8.642 / 19.108)^(1/3) = 0.7676
    r = pm.power_capped_clock_ratio(70.0, 8.1e12, 300.0, 15.7e12)
    assert r == pytest.approx((70 / 8.1 / (300 / 15.7)) ** (1 / 3), rel=1e-12)
    assert r == pytest.approx(0.7676, abs=1e-4)
    # the same chips at their tensor-core peaks (65 and 125 TFLOPS): (1.0769 / 2.4)^(1/3) = 0.7655,
    # the clock fraction is the chip's whatever unit is counted
    assert pm.power_capped_clock_ratio(70.0, 65e12, 300.0, 125e12) == pytest.approx(r, rel=0.01)


def test_units_at_the_boundary_and_exponent():
    # quantities with units give the SI result; exponent 2 (voltage at its floor) is the square root
    assert pm.power_capped_clock_ratio("70 W", "8.1 TFLOPS", "0.3 kW", "15.7 TFLOPS") == pytest.approx(0.7676, abs=1e-4)
    assert pm.power_capped_clock_ratio(70.0, 8.1e12, 300.0, 15.7e12, exponent=2) == pytest.approx(
        math.sqrt(70 / 8.1 / (300 / 15.7)))
    for bad in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(pm.PlasterError, match="exponent"):
            pm.power_capped_clock_ratio(70.0, 8.1e12, 300.0, 15.7e12, exponent=bad)


@settings(max_examples=50, deadline=None)
@given(p=st.floats(10, 1000), g=st.floats(1e11, 1e16), p0=st.floats(10, 1000), g0=st.floats(1e11, 1e16),
       k=st.floats(0.1, 10))
def test_ratio_is_symmetric_and_scale_free(p, g, p0, g0, k):
    # x_t/x_s · x_s/x_t = 1; scaling both boards' power (or both peaks) by k leaves the ratio
    # unchanged (only watts per FLOP/s compare); k times the power at the same peak is
    # k^(1/3) times the clock fraction
    r = pm.power_capped_clock_ratio(p, g, p0, g0)
    assert r * pm.power_capped_clock_ratio(p0, g0, p, g) == pytest.approx(1.0, rel=1e-9)
    assert pm.power_capped_clock_ratio(k * p, g, k * p0, g0) == pytest.approx(r, rel=1e-9)
    assert pm.power_capped_clock_ratio(k * p, g, p0, g0) == pytest.approx(k ** (1 / 3) * r, rel=1e-9)


def test_catalog_processes_are_known_spellings():
    # the ratio is applied only between devices of one process: each catalog value must be
    # one spelling of PROCESS_NODES; the T4 and the V100 (both TSMC 12 nm FFN, per the
    # Turing and Volta whitepapers) and the P100 (TSMC 16 nm FinFET) are the ones the
    # published data exercises
    cat = active_catalog()
    for d in cat.entries["device"].values():
        assert d.process is None or d.process in pm.catalog.PROCESS_NODES, d.name
    assert cat.get("device", "T4").process == cat.get("device", "V100").process == "TSMC 12 nm FFN"
    assert cat.get("device", "P100").process == "TSMC 16 nm FinFET"


def test_a_misspelled_process_is_refused_with_close_matches():
    with pytest.raises(ValueError, match=r"TSMC 12 nm FFN"):
        pm.Device(name="X", peak_flops={"fp32": "1 TFLOPS"}, memory_bytes="1 GB", memory_bandwidth="1 GB/s",
                  power_w="1 W", source="test", process="TSMC 12nm FFN")


def test_a_bare_number_process_is_refused_in_yaml(tmp_path):
    (tmp_path / "devices.yaml").write_text(
        "devices:\n  X:\n    peak_flops: {fp32: '1 TFLOPS'}\n    memory: '1 GB'\n    memory_bandwidth: '1 GB/s'\n"
        "    power: '1 W'\n    process: 12\n    source: test\n", encoding="utf-8")
    with pytest.raises(pm.PlasterError, match="process"):
        pm.load_catalog([tmp_path / "devices.yaml"], activate=False)


def _v100_rows(eta=0.5, t0=2e-3, device="V100"):
    """fp32 inference latency rows of ResNet-50 on ``device`` at sustained efficiency ``eta``."""
    return inference_latency_rows("ResNet-50", device, "fp32", "TensorFlow", eta=eta, t0_s=t0,
                                  batches=(*BATCHES, 256))


@pytest.fixture(scope="module")
def v100_cal():
    # the FLOP-only forward model isolates the power-cap rule (under the default per-operator
    # roofline the fallback also carries the devices' roofline ratio: tests/test_step.py)
    return pm.Calibration(n_bootstrap=0, roofline=False).fit(_v100_rows())


def test_a_t4_served_by_a_v100_group_runs_at_its_power_capped_clock(v100_cal):
    # fitted on V100 rows at η = 0.5, a T4 query falls back to the V100 group (same vendor and
    # kind, nearest fp32 peak) and, both on TSMC 12 nm FFN, gets η = 0.5 × 0.7676 = 0.384
    v = v100_cal.parameters_for("V100", "fp32", "ResNet-50", phase="inference", framework="TensorFlow")
    t = v100_cal.parameters_for("T4", "fp32", "ResNet-50", phase="inference", framework="TensorFlow")
    assert v["efficiency"] == pytest.approx(0.5, rel=0.02)
    assert t["efficiency"] == pytest.approx(v["efficiency"] * 0.7676, rel=1e-3)
    assert any("power cap" in n and "TSMC 12 nm FFN" in n for n in t["notes"])


def test_another_process_passes_the_efficiency_unchanged(v100_cal):
    # a P100 (TSMC 16 nm FinFET) has another energy per operation: no power-cap ratio is known,
    # so it takes the V100's efficiency as it is, and says nothing of a power cap
    v = v100_cal.parameters_for("V100", "fp32", "ResNet-50", phase="inference", framework="TensorFlow")
    p = v100_cal.parameters_for("P100", "fp32", "ResNet-50", phase="inference", framework="TensorFlow")
    assert p["efficiency"] == pytest.approx(v["efficiency"], rel=1e-9)
    assert not any("power cap" in n for n in p["notes"])


def test_the_row_path_and_the_single_query_agree(v100_cal):
    # predict() on a T4 row and parameters_for() on the same configuration are one look-up:
    # the predicted latency at batch 256 is the roofline at the power-capped efficiency
    row = _v100_rows().iloc[[-1]].assign(device="T4")
    got = v100_cal.predict(row)["value"].iloc[0]
    prm = v100_cal.parameters_for("T4", "fp32", "ResNet-50", phase="inference", framework="TensorFlow")
    w = pm.inference.api.inference_workload("ResNet-50", "T4", "fp32")
    want = pm.inference_batch_time(w["fwd_flops"], w["weight_bytes"], w["activation_bytes_per_sample"], 256,
                                   prm["efficiency"] * w["peak_flops"],
                                   prm["memory_efficiency"] * w["peak_bandwidth"], prm["t0_s"]) * 1e3
    assert got == pytest.approx(want, rel=1e-6)


def test_a_fallback_interval_does_not_count_the_source_spread_twice(v100_cal):
    # a fitted group's interval holds the source-to-source spread (a new run is a new source);
    # a fallback to another device holds the group-to-group spread instead, which already
    # contains it: raising the source spread widens the V100 interval, not the T4 one
    def widths(cal):
        out = []
        for dev in ("V100", "T4"):
            lo, hi = cal.parameters_for(dev, "fp32", "ResNet-50", phase="inference",
                                        framework="TensorFlow")["efficiency_interval"]
            out.append(math.log(hi / lo))
        return out
    before = widths(v100_cal)
    saved = dict(v100_cal.source_spread_)
    try:
        v100_cal.source_spread_ = {**saved, "inference": 0.4}
        after = widths(v100_cal)
    finally:
        v100_cal.source_spread_ = saved
    assert after[0] > before[0] + 0.5  # ±z·0.4 at 90 % is at least ±0.66 in log
    assert after[1] == pytest.approx(before[1], rel=1e-9)


def test_the_pooled_fallback_scales_only_the_groups_of_the_same_process():
    # V100 (η 0.5, TSMC 12 nm FFN) and K80 (η 0.3, TSMC 28 nm) fp32 groups; a T4 mixed query
    # has no group of its own, no half-precision group on any device and no other T4
    # precision, so it takes the median of both groups: the V100's η scaled to the T4's
    # power-capped clock (0.5 × 0.7676 = 0.384) and the K80's unscaled (0.3), the median of
    # two logs being their mean: sqrt(0.384 × 0.3) = 0.339, as a fraction of the T4's peak
    rows = pd.concat([_v100_rows(), _v100_rows(eta=0.3, device="K80")], ignore_index=True)
    cal = pm.Calibration(n_bootstrap=0, roofline=False).fit(rows)
    v, k = (cal.parameters_for(d, "fp32", "ResNet-50", phase="inference", framework="TensorFlow")["efficiency"]
            for d in ("V100", "K80"))
    t = cal.parameters_for("T4", "mixed", "ResNet-50", phase="inference", framework="TensorFlow")
    assert any("median of all" in n for n in t["notes"])
    assert t["efficiency"] == pytest.approx(math.sqrt(v * 0.7676 * k), rel=1e-3)
    assert t["efficiency"] == pytest.approx(0.339, rel=0.03)


def test_a_device_given_at_predict_time_is_power_capped_too(v100_cal):
    # a half-power T4-like board given only to predict(devices=...): 35 W, 8.1 TFLOPS fp32,
    # 320 GB/s, TSMC 12 nm FFN. Against the V100 group its clock ratio is
    # ((35/8.1) / (300/15.7))^(1/3) = (4.321/19.108)^(1/3) = 0.6093, and the batch-256
    # latency is the roofline at η_V100 × 0.6093 on its own peak
    dev = pm.Device(name="Half T4", peak_flops={"fp32": "8.1 TFLOPS"}, memory_bytes="16 GB",
                    memory_bandwidth="320 GB/s", power_w="35 W", source="test", vendor="NVIDIA",
                    process="TSMC 12 nm FFN")
    r = pm.power_capped_clock_ratio(35.0, 8.1e12, 300.0, 15.7e12)
    assert r == pytest.approx(0.6093, abs=1e-4)
    row = _v100_rows().iloc[[-1]].assign(device="Half T4")
    got = v100_cal.predict(row, devices={"Half T4": dev})
    assert "power cap" in got["calibration_notes"].iloc[0]
    v = v100_cal.parameters_for("V100", "fp32", "ResNet-50", phase="inference", framework="TensorFlow")
    w = pm.inference.api.inference_workload("ResNet-50", dev, "fp32")
    want = pm.inference_batch_time(w["fwd_flops"], w["weight_bytes"], w["activation_bytes_per_sample"], 256,
                                   v["efficiency"] * r * 8.1e12, v["memory_efficiency"] * 320e9, v["t0_s"]) * 1e3
    assert got["value"].iloc[0] == pytest.approx(want, rel=1e-6)


def test_only_the_compute_bound_share_slows_with_the_capped_clock():
    # T'/T = (1 − c) + c/x: c = 1 is the whole clock ratio, c = 0 (all memory-bound) none
    x = pm.power_capped_clock_ratio(70.0, 65e12, 300.0, 125e12)
    assert pm.estimators.capped_efficiency_ratio(x, 1.0) == pytest.approx(x, rel=1e-12)
    assert pm.estimators.capped_efficiency_ratio(x, 0.0) == pytest.approx(1.0, rel=1e-12)
    # a roofline 3.2 × the FLOP-only time: c = 0.3125, 1/(0.6875 + 0.3125/x)
    assert pm.estimators.capped_efficiency_ratio(x, 1 / 3.2) == pytest.approx(1 / (0.6875 + 0.3125 / x), rel=1e-12)
    assert x < pm.estimators.capped_efficiency_ratio(x, 0.5) < 1.0
    with pytest.raises(ValueError, match="compute_share"):
        pm.estimators.capped_efficiency_ratio(x, 1.5)
