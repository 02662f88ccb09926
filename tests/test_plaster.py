"""The PLASTER scorecard: one row per (device, precision), seven dimensions, honest basis."""
from __future__ import annotations

import math

import numpy as np
import pytest

import plaster_model as pm
from plaster_model.plaster import NOT_PUBLISHED, PLASTER_COLUMNS

DIMENSIONS = ("programmability_", "latency_", "accuracy_", "size_", "throughput_", "energy_", "rate_of_learning_")


class FakeCalibration:
    def __init__(self, table):
        self.table = table
        self.calls = []

    def parameters_for(self, *, device, precision, model, phase, n_devices, **how):
        # **how: backend/link_class (multi-device training) and framework (inference engine)
        self.calls.append((device, precision, model, phase, n_devices))
        try:
            return self.table[(device, precision, model, phase)]
        except KeyError:
            raise KeyError(f"no {phase} calibration for {model} on {device} at {precision}") from None


@pytest.fixture(scope="module")
def report():
    return pm.plaster_report("ResNet-50", devices=["T4", "V100", "TPU2"], latency_budget="7 ms",
                             precision=["fp32", "int8"])


def test_shape_and_columns(report):
    assert list(report.columns) == PLASTER_COLUMNS
    assert len(report) == 3 * 2
    assert report[["device", "precision"]].values.tolist() == [
        ["T4", "fp32"], ["T4", "int8"], ["V100", "fp32"], ["V100", "int8"], ["TPU2", "fp32"], ["TPU2", "int8"]]
    for prefix in DIMENSIONS:
        assert any(c.startswith(prefix) for c in report.columns), prefix
    # units in the names of every numeric per-dimension column
    for col in ("latency_s", "latency_budget_s", "size_weight_bytes", "throughput_samples_s", "energy_power_w",
                "energy_per_inference_j", "energy_inferences_per_j", "rate_of_learning_training_time_s",
                "rate_of_learning_refreshes_per_day", "accuracy_top1_pct"):
        assert col in report.columns
    assert report["basis"].map(bool).all()


def test_unsupported_pairs_are_rows_with_a_note(report):
    v100_int8 = report[(report.device == "V100") & (report.precision == "int8")].iloc[0]
    assert not v100_int8["programmability_supported"]
    assert "no published int8 peak" in v100_int8["note"] and "V100" in v100_int8["note"]
    assert math.isnan(v100_int8["latency_s"]) and math.isnan(v100_int8["throughput_samples_s"])
    # what does not depend on the device's peak is still reported
    assert v100_int8["size_weight_bytes"] == 25_610_269 and v100_int8["accuracy_top1_pct"] == 72.54
    tpu = report[report.device == "TPU2"]
    assert not tpu["programmability_supported"].any()
    assert "bf16" in tpu.iloc[0]["programmability_precisions"]
    supported = report[report.programmability_supported]
    assert len(supported) == 3 and supported["latency_s"].notna().all()


def test_single_pair_api_raises_naming_device_and_precision():
    with pytest.raises(ValueError, match=r"V100.*int8|int8.*V100"):
        pm.best_batch("ResNet-50", "V100", precision="int8")


def test_accuracy_published_or_not_published(report):
    t4 = report[report.device == "T4"].set_index("precision")
    assert t4.loc["fp32", "accuracy_top1_pct"] == 73.11
    assert t4.loc["int8", "accuracy_top1_pct"] == 72.54
    assert t4.loc["int8", "accuracy_top1_drop_vs_fp32_pct"] == pytest.approx(0.57)
    # numeric columns hold NaN where nothing is published; the source column says so
    assert np.isnan(t4.loc["fp32", "accuracy_top5_pct"])
    assert report["accuracy_top1_pct"].dtype.kind == "f" and report["accuracy_top5_pct"].dtype.kind == "f"
    assert "PLASTER whitepaper" in t4.loc["int8", "accuracy_source"]
    # a precision with no record, and a model with none at all: never invented
    assert pm.published_accuracy("ResNet-50", "fp16") == "not published"
    alex = pm.plaster_report("AlexNet", "T4", precision=["fp32", "fp16"])
    assert alex["accuracy_top1_pct"].isna().all() and alex["accuracy_top1_drop_vs_fp32_pct"].isna().all()
    assert (alex["accuracy_source"] == NOT_PUBLISHED).all()
    assert alex["basis"].str.contains("accuracy: not published").all()
    vgg = pm.plaster_report("VGG-16", "T4", precision="int8")
    assert vgg.loc[0, "accuracy_top5_pct"] == 85.49 and vgg.loc[0, "accuracy_top1_pct"] == 68.45


def test_latency_throughput_energy_consistent(report):
    ok = report[report.programmability_supported]
    assert (ok["latency_s"] <= ok["latency_budget_s"]).all() and ok["latency_meets_budget"].all()
    assert (ok["latency_batch1_s"] <= ok["latency_s"]).all()
    np.testing.assert_allclose(ok["throughput_samples_s"], ok["throughput_batch"].astype(float) / ok["latency_s"])
    np.testing.assert_allclose(ok["energy_inferences_per_j"], ok["throughput_samples_s"] / ok["energy_power_w"])
    np.testing.assert_allclose(ok["energy_per_inference_j"] * ok["energy_inferences_per_j"], 1.0)
    t4 = ok[ok.device == "T4"].set_index("precision")
    assert t4.loc["int8", "throughput_samples_s"] >= t4.loc["fp32", "throughput_samples_s"]
    assert (t4["energy_power_w"] == 70.0).all()
    assert t4["energy_power_source"].str.contains("TDP").all()
    assert ok["basis"].str.contains("peak-based").all()


def test_size_columns(report):
    t4 = report[report.device == "T4"].set_index("precision")
    assert t4.loc["fp32", "size_weight_bytes"] == 4 * 25_610_269
    assert t4.loc["int8", "size_weight_bytes"] == 25_610_269
    assert t4["size_fits_in_memory"].all() and (t4["size_device_memory_bytes"] == 16e9).all()
    link = pm.load_interconnect("PCIe 3.0 x16")
    assert t4.loc["fp32", "size_weight_transfer_time_s"] == pytest.approx(link.latency_s + 4 * 25_610_269 / link.bandwidth)


def test_rate_of_learning_default_and_given_cluster(report):
    v100 = report[(report.device == "V100") & (report.precision == "fp32")].iloc[0]
    assert v100["rate_of_learning_cluster"] == "8× V100, NVLink 2"
    assert v100["rate_of_learning_refreshes_per_day"] == pytest.approx(86400 / v100["rate_of_learning_training_time_s"])
    assert v100["rate_of_learning_epochs"] == 90 and v100["rate_of_learning_dataset"] == "ImageNet-1k"
    assert "DGX-1 (V100)" in v100["note"]
    cluster = pm.Cluster("V100", 64, devices_per_node=8, intra_node="NVLink 2", interconnect="InfiniBand EDR")
    r = pm.rate_of_learning("ResNet-50", training_cluster=cluster, epochs=10, batch_per_device=64)
    direct = pm.predict_epoch_time("ResNet-50", cluster, epochs=10, batch_per_device=64)
    assert r["training_time_s"] == pytest.approx(direct.epoch_time_s)
    assert r["refreshes_per_day"] == pytest.approx(86400 / direct.epoch_time_s)
    df = pm.plaster_report("ResNet-50", "V100", training_cluster=cluster, epochs=10, training_batch_per_device=64)
    assert df.loc[0, "rate_of_learning_training_time_s"] == pytest.approx(direct.epoch_time_s)
    # defaults: a catalog system, else 8 over the host link, else one device
    assert pm.default_training_cluster("T4")[0].name == "8× T4, PCIe 3.0 x16"
    assert pm.default_training_cluster("TPU2")[0].n_devices == 1
    # a TPU trains in mixed precision by default (it has no fp32 peak)
    assert pm.rate_of_learning("ResNet-50", "TPU2")["precision"] == "mixed"


def test_programmability():
    p = pm.programmability("T4")
    assert p["precisions"] == ("fp32", "fp16", "mixed", "int8") and "TensorRT" in p["frameworks"]


def test_basis_separates_calibrated_from_peak_based():
    cal = FakeCalibration({("T4", "int8", "ResNet-50", "inference"): {
        "efficiency": 0.35, "efficiency_interval": (0.3, 0.4), "memory_efficiency": 0.7, "t0_s": 0.6e-3,
        "notes": ["fitted to trtexec runs"]}})
    df = pm.plaster_report("ResNet-50", ["T4"], precision=["fp32", "int8"], calibration=cal).set_index("precision")
    assert df.loc["int8", "basis"].startswith("latency/throughput/energy: calibrated")
    assert "rate_of_learning: peak-based" in df.loc["int8", "basis"]
    assert "peak-based" in df.loc["fp32", "basis"].split(";")[0]
    assert df.loc["int8", "latency_low_s"] <= df.loc["int8", "latency_s"] <= df.loc["int8", "latency_high_s"]
    assert math.isnan(df.loc["fp32", "latency_low_s"])
    assert "no inference parameters" in df.loc["fp32", "note"]
    assert ("T4", "int8", "ResNet-50", "inference", 1) in cal.calls
    # the calibrated row's best batch is smaller than the peak-based one (efficiency < 1)
    peak = pm.plaster_report("ResNet-50", "T4", precision="int8")
    assert df.loc["int8", "throughput_batch"] < peak.loc[0, "throughput_batch"]


def test_budget_missed_everywhere_is_reported_not_raised():
    df = pm.plaster_report("VGG-16", ["K80", "T4"], latency_budget="0.5 ms", precision="fp32")
    k80 = df[df.device == "K80"].iloc[0]
    assert k80["throughput_batch"] == 0 and k80["throughput_samples_s"] == 0.0
    assert not k80["latency_meets_budget"] and "no batch meets the budget" in k80["note"]
    assert k80["energy_inferences_per_j"] == 0.0
