"""Efficiencies shared across devices (calibration/pooling.py, lookup._shared), prior-only
parameters, and the configuration-at-once prediction path (rows.prepare_rows dedupe)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import plaster_model as pm
from plaster_model.calibration.architecture import ARCHITECTURES, architecture_of
from plaster_model.calibration.rows import _prepare_configurations, prepare_rows
from plaster_model.model_builders.operators import roofline_factor

CSV = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "published_measurements.csv"
Z90 = 1.6448536269514722  # normal z of a 90 % two-sided interval

#: the fraction of each device's per-operator roofline the synthetic runs achieve
ETAS = {"V100": 0.8, "P100": 0.6, "K80": 0.4}  # Volta, Pascal, Kepler: three architectures


def _rows(device, eta, batches=(16, 32, 64, 128, 256, 512)):
    """ResNet-50 fp32 training on one ``device`` at ``eta`` of its roofline, no overhead:
    throughput = η·(γ_peak/r_∞)/(3·F) samples/s at any batch."""
    m, d = pm.load_model("ResNet-50"), pm.load_device(device)
    r = roofline_factor(m, d, "fp32", "training")
    value = eta * d.peak("fp32") / r / (3 * m.fwd_flops)
    # two sources alternate over the batches: the source-to-source spread is then measured
    # (0 on exact data) instead of standing in for the fallback spread
    return [{"source": f"synthetic {k % 2}", "model": "ResNet-50", "framework": "PyTorch", "device": device,
             "n_devices": 1, "devices_per_node": 1, "precision": "fp32", "batch_per_device": b,
             "phase": "training", "metric": "throughput_img_s", "value": value} for k, b in enumerate(batches)]


@pytest.fixture(scope="module")
def cal3():
    rows = pd.DataFrame([r for dev, eta in ETAS.items() for r in _rows(dev, eta)])
    return pm.calibrate(rows, n_bootstrap=0)


def test_fitted_devices_recover_their_efficiency(cal3):
    p = cal3.params_.set_index("device")
    for dev, eta in ETAS.items():
        # params_' efficiency is η, the fraction of the per-operator roofline
        assert p.loc[dev, "efficiency"] == pytest.approx(eta, rel=1e-3)


def _sd_from_low(pf):
    # (from the low end: the high end may be cut at the physical peak)
    return math.log(pf["efficiency"] / pf["efficiency_interval"][0]) / Z90


def test_unseen_architecture_gets_shared_value_deviation_zero_and_wider_interval(cal3):
    """A device of an architecture the fit cannot place (a user's GPU: no launch year, no
    catalog process, so no power-cap scaling) takes the random-effects mean of the three
    devices' log η with deviation 0, and the device-to-device spread in its interval."""
    logs = np.log(list(ETAS.values()))
    # every device is fitted exactly (sampling variance ~0): the random-effects mean is the
    # plain mean of the logs; τ the sample sd of the logs (ddof 1), never below the 0.25 floor
    mu = logs.mean()
    tau = max(logs.std(ddof=1), 0.25)
    # deviation 0; the interval adds se(μ̂)² = τ²/3 (the between-device part of the mean of
    # three) and the new device's whole deviation variance τ_c² + τ_n² = τ²
    extra = math.sqrt(tau ** 2 / 3 + tau ** 2)
    gpu = pm.Device(name="MyGPU", peak_flops={"fp32": "20 TFLOPS"}, memory_bytes="24 GB",
                    memory_bandwidth="1 TB/s", power_w="250 W", vendor="NVIDIA", kind="gpu", source="test")
    m = pm.load_model("ResNet-50")
    r = roofline_factor(m, gpu, "fp32", "training")
    pf = cal3.parameters_for(gpu, "fp32", "ResNet-50", "training", 1)
    assert pf["efficiency"] == pytest.approx(math.exp(mu) / r, rel=1e-3)
    assert any("no MyGPU deviation (deviation 0" in n for n in pf["notes"])
    own = cal3.parameters_for("V100", "fp32", "ResNet-50", "training", 1)
    sd_unseen, sd_own = _sd_from_low(pf), _sd_from_low(own)
    assert sd_unseen > sd_own
    # the widening is the device-to-device term (the fitted parts are ~0 on exact data)
    assert math.sqrt(sd_unseen ** 2 - sd_own ** 2) == pytest.approx(extra, rel=0.05)
    assert cal3.pooling_["sd_device"] == pytest.approx(logs.std(ddof=1), rel=1e-3)


def test_unseen_catalog_device_deviation_correlated_by_generation(cal3):
    """A100 (Ampere, 2020) is never fitted: its deviation from the shared mean is the kriging
    mean over the fitted devices' residuals, correlated as exp(−Δyear/2) (V100 2017, P100
    2016, K80 2012), derived here independently."""
    logs = np.log([ETAS["K80"], ETAS["P100"], ETAS["V100"]])
    years = np.array([2012.0, 2016.0, 2017.0])
    mu = logs.mean()
    tau = max(logs.std(ddof=1), 0.25)
    tc2 = tn2 = tau ** 2 / 2
    rho = np.exp(-np.abs(years[:, None] - years[None, :]) / 2.0)
    K = tc2 * rho + tn2 * np.eye(3)
    k = tc2 * np.exp(-np.abs(2020.0 - years) / 2.0)
    delta = k @ np.linalg.solve(K, logs - mu)
    var_dev = tc2 - k @ np.linalg.solve(K, k) + tn2
    assert 0 < delta < logs.max() - mu  # pulled towards the recent (efficient) V100, not to it
    m, a100 = pm.load_model("ResNet-50"), pm.load_device("A100")
    pf = cal3.parameters_for("A100", "fp32", "ResNet-50", "training", 1)
    r = roofline_factor(m, a100, "fp32", "training")
    assert pf["efficiency"] * r == pytest.approx(math.exp(mu + delta), rel=1e-3)
    assert any("shared across devices" in n and "Ampere (2020) deviation" in n for n in pf["notes"])
    own = cal3.parameters_for("V100", "fp32", "ResNet-50", "training", 1)
    widen = math.sqrt(_sd_from_low(pf) ** 2 - _sd_from_low(own) ** 2)
    assert widen == pytest.approx(math.sqrt(tau ** 2 / 3 + var_dev), rel=0.05)
    # predict() answers the same way, says it fell back, and is wider than a fitted device
    out = cal3.predict(pd.DataFrame(_rows("A100", 0.6, batches=(64,)) + _rows("V100", 0.8, batches=(64,))))
    assert list(out["calibration_fallback"]) == [True, False]
    assert "shared across devices" in out["calibration_notes"].iloc[0]
    w = out["value_high"] / out["value_low"]
    assert w.iloc[0] > w.iloc[1]


def test_unseen_device_is_never_another_devices_value(cal3):
    """The nearest-peak device (V100 for an A100) no longer answers alone."""
    m = pm.load_model("ResNet-50")
    pf = cal3.parameters_for("A100", "fp32", "ResNet-50", "training", 1)
    eta_a100 = pf["efficiency"] * roofline_factor(m, pm.load_device("A100"), "fp32", "training")
    assert min(ETAS.values()) < eta_a100 < ETAS["V100"] - 0.1


def test_prior_only_parameter_is_reported_as_such():
    """ResNet-50 fp32 inference on a V100 at batch ≥ 32 is compute-bound: the weights
    (25.6 M × 4 B ≈ 0.1 GB, 0.11 ms at 900 GB/s) take far less than the compute (≥ 8 ms), so
    no row informs the memory efficiency η_m: it is prior-only, its value the prior's 1 and
    its interval the prior's exp(±z·σ), σ = 1 in log, within the bound η_m ≤ 1."""
    rows = pd.DataFrame([{"source": "s", "model": "ResNet-50", "framework": "PyTorch", "device": "V100",
                          "n_devices": 1, "devices_per_node": 1, "precision": "fp32", "batch_per_device": b,
                          "phase": "inference", "metric": "throughput_img_s", "value": v}
                         for b, v in ((32, 1000.0), (64, 1100.0), (128, 1150.0), (256, 1160.0))])
    cal = pm.calibrate(rows, n_bootstrap=0)
    pt = cal.parameter_table_.set_index("name")
    q = pt.loc["memory_efficiency[V100|fp32|inference|framework]"]
    assert q["status"] == "prior-only" and q["n_rows"] == 0
    assert q["value"] == pytest.approx(1.0, abs=1e-2)
    assert q["low"] == pytest.approx(math.exp(-Z90 * 1.0), rel=1e-6)
    assert q["high"] == pytest.approx(1.0)
    assert q["high"] / q["low"] > 5  # never pinned with a zero-width interval
    assert "prior-only" in cal.summary() and "memory_efficiency[V100|fp32|inference|framework]" in cal.summary()
    assert (pt.loc[pt["status"] == "fitted", "n_rows"] > 0).all()


def test_every_catalog_device_has_an_architecture():
    from plaster_model.catalog.loader import active_catalog
    missing = [d for d in active_catalog().entries["device"] if d not in ARCHITECTURES]
    assert not missing, f"add these devices to calibration.architecture.ARCHITECTURES: {missing}"
    assert architecture_of("V100") == architecture_of("Titan V") == "Volta"
    assert architecture_of(pm.load_device("H100")) == "Hopper"


def test_duplicate_rows_predict_like_one():
    """Rows of one configuration are resolved once: a table repeated three times (batches
    and values kept) predicts every copy exactly as the single table does."""
    rows = pd.DataFrame([r for dev, eta in ETAS.items() for r in _rows(dev, eta)])
    cal = pm.calibrate(rows, n_bootstrap=4)
    one = cal.predict(rows)
    three = cal.predict(pd.concat([rows] * 3, ignore_index=True))
    for col in ("value", "value_low", "value_high"):
        np.testing.assert_allclose(three[col].to_numpy(), np.tile(one[col].to_numpy(), 3), rtol=1e-12)
    assert list(three["calibration_notes"]) == list(one["calibration_notes"]) * 3


@pytest.mark.skipif(not CSV.is_file(), reason="../shared/data is absent")
def test_prepare_rows_dedupe_matches_row_by_row():
    """prepare_rows resolves each configuration once and sets batch, constant and measured
    values per row: every field agrees with resolving each row on its own."""
    df = pm.read_measurements(str(CSV))
    fast = prepare_rows(df)
    slow = _prepare_configurations(df)[0]
    assert list(fast.reason) == list(slow.reason)
    ok = slow.ok
    assert (fast.ok == ok).all()
    for name in ("batch", "const", "sign", "value", "compute_s", "comm_a", "comm_l", "extra_s", "roofline",
                 "n_devices", "peak", "p99_ratio"):
        np.testing.assert_allclose(np.asarray(getattr(fast, name))[ok], np.asarray(getattr(slow, name))[ok],
                                   rtol=1e-12, equal_nan=True, err_msg=name)
    assert list(fast.group) == list(slow.group) and list(fast.source) == list(slow.source)
    assert fast.unmapped == slow.unmapped


def test_board_of_a_fitted_die_takes_that_die_efficiency(cal3):
    """V100-PCIe carries the GV100 die of the fitted V100 (SXM2): it takes V100's η = 0.8 (the
    same SMs and kernels), not the shared mean over V100/P100/K80 (exp(mean(log(0.8, 0.6, 0.4)))
    = 0.577). Both boards are TSMC 12 nm at 250 W vs 300 W, so the power-capped clock scales
    the compute-bound share of the time (< 0.8)."""
    from plaster_model.calibration.architecture import die_of
    from plaster_model.estimators.power_cap import capped_efficiency_ratio, power_capped_clock_ratio

    assert die_of("V100-PCIe") == die_of("V100") == "GV100" and die_of("P100") != "GV100"
    pf = cal3.parameters_for("V100-PCIe", "fp32", "ResNet-50", "training", 1)
    a, b = pm.load_device("V100-PCIe"), pm.load_device("V100")
    x = power_capped_clock_ratio(a.power_w, a.peak("fp32"), b.power_w, b.peak("fp32"))
    # only the compute-bound share c = 1/r_∞ of V100's roofline time (ResNet-50, the group's
    # model) slows with the capped clock: η'/η = 1/((1 − c) + c/x)
    c = 1.0 / roofline_factor(pm.load_model("ResNet-50"), b, "fp32", "training")
    ratio = capped_efficiency_ratio(x, c)
    assert x < ratio < 1.0
    # parameters_for reports η per FLOP: the roofline fraction over the operator roofline ratio
    r = roofline_factor(pm.load_model("ResNet-50"), a, "fp32", "training")
    assert pf["efficiency"] * r == pytest.approx(0.8 * ratio, rel=1e-3)
    assert any("same GV100 die" in n for n in pf["notes"])
