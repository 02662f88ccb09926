"""The web guide: its controller (no browser), its Panel layout, and a real browser.

The controller (:class:`plaster_model.web.state.GuideState`) must show exactly what the
library predicts for the same inputs; the browser test serves the page with
``plaster-model serve`` and drives Debian's Chromium through Playwright.
"""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import time

import pandas as pd
import pytest

import plaster_model as pm
from plaster_model.web.state import (CUSTOM, FRAMEWORKS, SAMPLE_COUNT, GuideState, InferenceConfig,
                                     UploadTooLarge, algorithm_choices, compatible_links,
                                     format_duration, system_for_device, user_error)

#: What a stranger's file or file name may carry: an inline handler that would run if
#: the page put it into HTML as markup.
PAYLOAD = "<img src=x onerror='document.title=1337'>"
_COLUMNS = ["source", "source_detail", "model", "framework", "device", "n_devices", "devices_per_node",
            "interconnect", "precision", "batch_per_device", "phase", "metric", "value", "notes"]


def _csv(value: float, model="ResNet-50") -> bytes:
    """A one-row measurement CSV (the long schema of read_measurements)."""
    return (",".join(_COLUMNS) + f"\ntest,,{model},PyTorch,V100,1,1,,fp32,32,training,"
            f"throughput_img_s,{value},\n").encode()

# The HPE Deep Learning Cookbook job (Vassilieva & Serebryakov, 2017): VGG-16, 100 M
# images, 10 epochs, HPE Apollo 6500 (8 × P100, PCIe inside the node, InfiniBand FDR),
# batch 16 per GPU, weak scaling.
HPE_CLUSTER = dict(device="P100", n_devices=8, devices_per_node=8, intra_node="PCIe 3.0 x16",
                   interconnect="InfiniBand FDR", nics_per_node=1)
HPE_ARGS = dict(dataset=100_000_000, epochs=10, batch_per_device=16, precision="fp32", scaling="weak")


def _library(cluster=None, model="VGG-16", **kw):
    args = {**HPE_ARGS, **kw}
    return pm.predict_epoch_time(model, pm.Cluster(**(cluster or HPE_CLUSTER)), **args)


# --------------------------------------------------------------------------- controller
def test_default_form_is_the_hpe_cookbook_job():
    cfg = GuideState().config
    assert (cfg.model, cfg.dataset, cfg.samples, cfg.epochs) == ("VGG-16", SAMPLE_COUNT, 100_000_000, 10)
    assert (cfg.system, cfg.device, cfg.n_devices) == ("HPE Apollo 6500", "P100", 8)
    assert (cfg.interconnect, cfg.batch, cfg.batch_mode, cfg.scaling) == ("InfiniBand FDR", 16, "per device", "weak")
    # The form's system fields are the catalog's HPE Apollo 6500 entry.
    s = pm.load_system("HPE Apollo 6500")
    assert (s.device, s.devices_per_node, s.intra_node, s.interconnect) == \
        (cfg.device, cfg.devices_per_node, cfg.intra_node, cfg.interconnect)


def test_hpe_row_equals_the_library_prediction():
    row = GuideState().add_row()
    pred = _library()
    assert row["total_time_h"] == pytest.approx(pred.epoch_time_s / 3600, rel=1e-12)
    assert row["iteration_ms"] == pytest.approx(pred.iteration_time_s * 1e3, rel=1e-12)
    assert row["communication_ms"] == pytest.approx(pred.communication_time_s * 1e3, rel=1e-12)
    assert row["throughput_samples_s"] == pytest.approx(pred.throughput_samples_s, rel=1e-12)
    # Shown in the unit that suits: 310.97 h (the HPE job takes days, so hours).
    assert row["total_time"] == f"{pred.epoch_time_s / 3600:,.2f} h" and row["total_time"].endswith(" h")
    assert row["throughput"].endswith(" img/s")
    assert row["bound"] == pred.bound and row["calibrated"] is False
    # Independent derivation of the compute part: T = 3·F·b/γ with the zoo's VGG-16
    # forward FLOPs (2 × MACs), b = 16 and the P100's catalog fp32 peak (10.6 TFLOP/s).
    F = pm.load_model("VGG-16").fwd_flops
    gamma = pm.load_device("P100").peak_flops["fp32"]
    assert gamma == pytest.approx(10.6e12)
    assert row["compute_ms"] == pytest.approx(3 * F * 16 / gamma * 1e3, rel=1e-9)
    # 100,000,000 images / global batch 128 = 781,250 iterations per epoch, × 10 epochs.
    assert row["total_time_h"] == pytest.approx(10 * 781_250 * row["iteration_ms"] / 1e3 / 3600, rel=1e-12)
    verdict = pm.is_bandwidth_bound("VGG-16", pm.Cluster(**HPE_CLUSTER), batch_per_device=16)
    assert row["crossover_devices"] == pytest.approx(verdict.crossover_devices)
    assert row["required_bandwidth_GBps"] == pytest.approx(verdict.required_bandwidth / 1e9)


def test_changed_form_row_equals_the_library_prediction():
    g = GuideState()
    g.add_row()
    g.update(interconnect="InfiniBand EDR", n_devices=32)
    row = g.add_row()
    pred = _library(cluster={**HPE_CLUSTER, "interconnect": "InfiniBand EDR", "n_devices": 32})
    assert row["id"] == 2 and row["n_devices"] == 32 and row["link"] == "InfiniBand EDR"
    assert row["total_time_h"] == pytest.approx(pred.epoch_time_h, rel=1e-12)
    assert row["total_time_h"] != pytest.approx(g.rows[0]["total_time_h"])


def test_system_choice_fills_the_cluster_from_the_catalog():
    g = GuideState()
    cfg = g.update(system="DGX-1 (V100)")
    assert (cfg.device, cfg.devices_per_node, cfg.intra_node, cfg.interconnect, cfg.nics_per_node) == \
        ("V100", 8, "NVLink 2", "InfiniBand EDR", 4)
    row = g.add_row()
    # Same cluster built by the library's own constructor from the system.
    pred = pm.predict_epoch_time("VGG-16", pm.Cluster.from_system("DGX-1 (V100)"), **HPE_ARGS)  # one node
    assert row["total_time_h"] == pytest.approx(pred.epoch_time_h, rel=1e-12)


def test_global_batch_and_strong_scaling_pass_through():
    g = GuideState()
    g.update(batch_mode="global", batch=512, scaling="strong", n_devices=32, interconnect="InfiniBand EDR")
    row = g.add_row()
    pred = pm.predict_epoch_time("VGG-16", pm.Cluster(**{**HPE_CLUSTER, "n_devices": 32,
                                                          "interconnect": "InfiniBand EDR"}),
                                 dataset=100_000_000, epochs=10, global_batch=512, scaling="strong")
    assert row["batch_per_device"] == 16 and row["scaling"] == "strong"
    assert row["total_time_h"] == pytest.approx(pred.epoch_time_h, rel=1e-12)


def test_catalog_dataset_and_algorithm_choice():
    g = GuideState()
    names, default = algorithm_choices()
    # the library's default (what NCCL/Horovod run) first, the seed's tree among the named ones
    assert names[0] == default == "auto" and "tree" in names and "ring" in names
    g.update(dataset="ImageNet-1k", algorithm="ring", n_devices=16)
    row = g.add_row()
    pred = pm.predict_epoch_time("VGG-16", pm.Cluster(**{**HPE_CLUSTER, "n_devices": 16}),
                                 dataset="ImageNet-1k", epochs=10, batch_per_device=16, algorithm="ring")
    assert row["algorithm"] == "ring" and row["dataset"] == "ImageNet-1k"
    assert row["total_time_h"] == pytest.approx(pred.epoch_time_h, rel=1e-12)


def test_remove_row_and_remove_all():
    g = GuideState()
    for n in (8, 16, 32):
        g.update(n_devices=n)
        g.add_row()
    g.remove_row(2)
    assert [r["id"] for r in g.rows] == [1, 3]
    with pytest.raises(KeyError, match="2"):
        g.remove_row(2)
    g.remove_all()
    assert g.rows == [] and len(g.table()) == 0
    assert list(g.table().columns)[0] == "id"
    assert g.add_row()["id"] == 4  # ids are never reused, so a removed row stays removed


def test_csv_export_round_trips():
    g = GuideState()
    g.add_row()
    g.update(n_devices=64, interconnect="InfiniBand HDR", precision="fp16")
    g.add_row()
    back = pd.read_csv(io.StringIO(g.to_csv()))
    pd.testing.assert_frame_equal(back, g.table(), check_dtype=False)


def test_bad_input_raises_the_library_error_named_in_words():
    g = GuideState()
    g.update(n_devices=32, interconnect=None)
    with pytest.raises(ValueError, match="interconnect") as info:
        g.current_prediction()
    assert "interconnect" in user_error(info.value)
    g.update(interconnect="InfiniBand EDR", model="VGG16x")
    with pytest.raises(KeyError) as info:
        g.current_prediction()
    # an unknown name is the library's UnknownNameError (a KeyError), named in words
    assert user_error(info.value).startswith("UnknownNameError: ") and "VGG" in user_error(info.value)
    with pytest.raises(pm.ParameterError, match="field"):
        g.update(not_a_field=1)


def test_bandwidth_table_is_the_library_verdict_per_link():
    g = GuideState()
    g.update(n_devices=32)
    table = g.bandwidth_table()
    links = pm.list_interconnects()
    assert list(table["link"]) == list(links.loc[links["scope"] == "inter_node", "name"])
    for _, r in table.iterrows():
        v = pm.is_bandwidth_bound("VGG-16", pm.Cluster(**{**HPE_CLUSTER, "n_devices": 32,
                                                           "interconnect": r["link"]}),
                                  batch_per_device=16)
        assert r["bandwidth_bound"] == bool(v)
        assert r["comm_to_compute_ratio"] == pytest.approx(v.comm_to_compute_ratio)
        assert r["verdict"].startswith("Yes" if v else "No")
    assert table.loc[table["current"], "link"].tolist() == ["InfiniBand FDR"]
    # One node (8 GPUs of one Apollo): the intra-node links are compared instead.
    one_node = GuideState().bandwidth_table()
    assert "PCIe 3.0 x16" in set(one_node["link"]) and "InfiniBand FDR" not in set(one_node["link"])


def test_inference_tab_is_best_batch_and_plaster_report():
    g = GuideState()
    cfg = InferenceConfig(model="ResNet-50", devices=("V100", "P100"), precisions=("fp32",))
    curves, best, report = g.inference(cfg)
    assert cfg.latency_budget == "7 ms"
    for _, r in best.iterrows():
        b = pm.best_batch("ResNet-50", r["device"], "7 ms", precision="fp32", require_fit=False)
        assert r["batch"] == b.batch and r["latency_ms"] == pytest.approx(b.latency_s * 1e3)
        assert r["energy_per_inference_mJ"] == pytest.approx(b.energy_per_inference_j * 1e3)
        assert r["latency_ms"] <= 7.0
    assert set(report["device"]) == {"V100", "P100"}
    assert set(curves["configuration"]) == {"V100 fp32", "P100 fp32"}


def test_bad_measurement_upload_names_the_reader_error():
    g = GuideState()
    with pytest.raises(pm.ParseError) as info:
        g.calibrate_files({"results.csv": b"a,b\n1,2\n"})
    msg = user_error(info.value)
    assert msg.startswith("ParseError: results.csv:1:") and "plaster-web-" not in msg
    assert g.calibration is None


def test_published_measurements_are_found_beside_the_checkout(shared_dir):
    from plaster_model.web.state import published_measurements_path

    assert published_measurements_path().samefile(shared_dir / "data" / "published_measurements.csv")


def test_uploaded_calibration_is_used_by_later_rows(shared_dir, tmp_path):
    published = pm.read_measurements(shared_dir / "data" / "published_measurements.csv")
    p100 = published[(published["phase"] == "training") & (published["device"] == "P100")]
    columns = ["source", "source_detail", "model", "framework", "device", "n_devices",
               "devices_per_node", "interconnect", "precision", "batch_per_device", "phase",
               "metric", "value", "notes"]
    g = GuideState()
    cal = g.calibrate_files({"p100_training.csv": p100[columns].to_csv(index=False).encode()},
                            n_bootstrap=20)
    row = g.add_row()
    pred = _library(calibration=cal)
    assert row["calibrated"] is True and pred.calibrated
    assert row["total_time_h"] == pytest.approx(pred.epoch_time_h, rel=1e-12)
    lo, hi = pred.epoch_time_interval_s
    assert row["total_time_low_h"] == pytest.approx(lo / 3600) and row["total_time_high_h"] == pytest.approx(hi / 3600)
    assert row["total_time_low_h"] < row["total_time_h"] < row["total_time_high_h"]

    # The same fit saved and given to the page (plaster-model serve --calibration FILE):
    # the pre-filled row is calibrated from the start.
    pytest.importorskip("panel")
    from plaster_model.web import _load_calibration
    from plaster_model.web.page import GuideApp

    path = tmp_path / "calib.yaml"
    cal.save(path)
    loaded, label = _load_calibration(str(path))
    app = GuideApp(loaded, label)
    first = app.table.value.iloc[0]
    assert label == "calib.yaml" and "calib.yaml" in app.header.object
    first = app.state.rows[0]  # the table shows the readable columns; the state has every one
    assert bool(first["calibrated"]) and first["total_time_h"] == pytest.approx(row["total_time_h"], rel=1e-6)


def test_time_is_shown_in_the_unit_that_suits():
    assert format_duration(310.97 * 3600) == "310.97 h"
    assert format_duration(290.0) == "4.83 min"  # 290 s / 60
    assert format_duration(42.0) == "42.00 s"
    # A job of minutes: 1,000,000 images at 893 img/s (8 x P100, VGG-16) is 1,120 s.
    g = GuideState()
    g.update(samples=1_000_000, epochs=1)
    row = g.add_row()
    assert row["total_time"].endswith(" min")
    assert float(row["total_time"].split()[0]) == pytest.approx(row["total_time_h"] * 60, abs=0.006)


def test_a_configuration_that_does_not_fit_is_infeasible_not_a_time():
    g = GuideState()
    g.update(model="ResNet-50", batch=4096, system="DGX-1 (V100)")
    row = g.add_row()
    assert row["feasible"] is False and row["total_time"] == "does not fit"
    assert row["bound"] == "infeasible" and pd.isna(row["total_time_h"])
    # The library's own refusal, word for word (it names the batch and the device).
    with pytest.raises(pm.PlasterError) as info:
        pm.predict_epoch_time("ResNet-50", pm.Cluster.from_system("DGX-1 (V100)"), dataset=100_000_000,
                              epochs=10, batch_per_device=4096, check_memory="error")
    assert row["memory"] == f"does not fit: {info.value}" and "4096" in row["memory"]
    # A batch that fits says by how much: weights, gradients and momentum state of
    # ResNet-50's 25.6 M fp32 parameters alone are 3 x 4 B x 25.6e6 = 0.31 GB < the estimate.
    g.update(batch=32)
    ok = g.add_row()
    assert ok["feasible"] is True and ok["memory"].startswith("fits: ") and ok["memory"].endswith("of 16 GB")
    assert 0.31 < ok["memory_per_device_GB"] < 16


def test_framework_choice_like_hpe_maps_to_the_library_backend():
    for name in ("Caffe", "Caffe2", "TensorFlow", "PyTorch", "MXNet", "TensorFlow + Horovod"):
        assert name in FRAMEWORKS
    g = GuideState()
    g.update(framework="Caffe", n_devices=32, interconnect="InfiniBand EDR")
    row = g.add_row()
    cluster = pm.Cluster(**{**HPE_CLUSTER, "n_devices": 32, "interconnect": "InfiniBand EDR"})
    caffe = pm.predict_epoch_time("VGG-16", cluster, framework="Caffe", **HPE_ARGS)
    default = pm.predict_epoch_time("VGG-16", cluster, **HPE_ARGS)
    assert row["total_time_h"] == pytest.approx(caffe.epoch_time_h, rel=1e-12)
    # issue 22: BVLC Caffe 1.0 reduces layer by layer with NCCL while backprop continues, as
    # the default (PyTorch DDP) does; its pre-1.0 P2PSync tree reduces after the backward pass.
    tree = pm.predict_epoch_time("VGG-16", cluster, framework="Caffe", backend="p2p_tree", **HPE_ARGS)
    assert tree.epoch_time_h > 1.5 * caffe.epoch_time_h
    # The advanced backend choice overrides the framework's.
    g.update(backend="nccl")
    assert g.add_row()["total_time_h"] == pytest.approx(default.epoch_time_h, rel=1e-12)


def test_links_and_server_follow_the_device():
    intra, inter = compatible_links("P100-PCIe")
    # A PCIe card: no NVLink, no TPU ICI, no NVLink-C2C; PCIe up to its own generation 3.0.
    assert intra == ["PCIe 3.0 x16"] and "InfiniBand FDR" in inter
    intra, _ = compatible_links("P100")  # the SXM2 board of a DGX-1: NVLink 1 too
    assert "NVLink 1" in intra and not any("TPU" in n or "C2C" in n for n in intra)
    intra, inter = compatible_links("TPU3 chip")
    assert intra == ["TPU v3 ICI"] and inter == []
    assert system_for_device("H100", "HPE Apollo 6500") == "DGX H100"
    assert system_for_device("P100", "HPE Apollo 6500") == "HPE Apollo 6500"
    assert system_for_device("P100-PCIe", "HPE Apollo 6500") == CUSTOM


def test_two_uploads_of_one_name_stay_apart_and_oversized_ones_are_refused(monkeypatch):
    g = GuideState()
    rows, labels = g.read_uploads([("a/run.csv", _csv(350)), ("b/run.csv", _csv(360))])
    assert sorted(rows["value"]) == [350.0, 360.0]  # neither overwrote the other
    assert labels == ["run.csv", "run.csv (2)"]
    monkeypatch.setenv("PLASTER_WEB_MAX_UPLOAD_BYTES", "100")
    with pytest.raises(UploadTooLarge, match=r"run\.csv: 2\d\d bytes is over .* 100 bytes"):
        g.read_uploads({"run.csv": _csv(350)})


def test_scaling_chart_shows_the_curve_on_log_log_and_efficiency_on_0_to_1():
    pytest.importorskip("bokeh")
    from plaster_model.web.charts import ScalingChart, speedup_band

    curve = GuideState().scaling()
    chart = ScalingChart()
    chart.update(curve)
    data = chart.source.data
    assert data["speedup"] == list(curve["speedup"]) and data["devices"] == [float(d) for d in curve["devices"]]
    assert type(chart.speedup.x_scale).__name__ == type(chart.speedup.y_scale).__name__ == "LogScale"
    assert (chart.efficiency.y_range.start, chart.efficiency.y_range.end) == (0, 1.05)
    # p* = 8 for the HPE job is inside 1..256: marked.
    assert chart.crossover[0].visible and chart.crossover[0].location == pytest.approx(curve["crossover_devices"][0])
    # The band: speedup x (throughput bound / throughput), e.g. 4 x 90/100 = 3.6.
    band = pd.DataFrame({"devices": [1, 4], "speedup": [1.0, 4.0], "throughput_samples_s": [25.0, 100.0],
                         "throughput_low_samples_s": [20.0, 90.0], "throughput_high_samples_s": [30.0, 110.0]})
    lo, hi = speedup_band(band)
    assert list(lo) == pytest.approx([0.8, 3.6]) and list(hi) == pytest.approx([1.2, 4.4])


def test_messages_file_names_and_labels_are_text_never_markup():
    pytest.importorskip("panel")
    from plaster_model.web._security import md_text, text
    from plaster_model.web.page import GuideApp

    assert "<" not in text(PAYLOAD) and "<" not in md_text(PAYLOAD)
    app = GuideApp()
    app._show_error(ValueError(f"interconnect: {PAYLOAD}"))
    shown = app.group_errors["hardware"].object
    assert PAYLOAD not in shown and text(PAYLOAD) in shown
    # An upload whose name and content carry markup: the reader's error names it, as text.
    app._ensure("calibration")  # built when its tab is first opened
    app.cal_files.filename, app.cal_files.value = [f"{PAYLOAD}.csv"], [b"a,b\n1,2\n"]
    app.calibrate_uploaded()
    assert app.cal_error.visible and "<img" not in app.cal_error.object and "&lt;img" in app.cal_error.object
    # A calibration named by an uploaded file: the header shows the name, escaped.
    app.state.set_calibration(object(), PAYLOAD)
    app._refresh_header()
    assert "<img" not in app.header.object
    # A row's details (every field, e.g. a user catalog's model name) are escaped too.
    details = app._row_details({**app.state.rows[0], "model": PAYLOAD}).object
    assert "<img" not in details


def test_oversized_upload_marker_becomes_a_message():
    pytest.importorskip("panel")
    from plaster_model.web._security import TOO_LARGE_MIME
    from plaster_model.web.page import GuideApp

    app = GuideApp()
    app._ensure("calibration")  # built when its tab is first opened
    app.cal_files.filename, app.cal_files.value = ["big.log"], [b"123456789"]
    app.cal_files.mime_type = [TOO_LARGE_MIME]
    app.calibrate_uploaded()
    assert app.cal_error.visible and "big.log: 123456789 bytes is over" in app.cal_error.object


def test_a_shared_url_restores_the_form():
    pytest.importorskip("panel")
    from plaster_model.web.page import GuideApp

    app = GuideApp(query={"model": [b"ResNet-50"], "n_devices": [b"32"], "interconnect": [b"InfiniBand EDR"],
                          "framework": [b"Caffe"], "device": [PAYLOAD.encode()], "bogus": [b"1"]})
    cfg = app.state.config
    # Known fields restored; an unknown device name and an unknown key are ignored.
    assert (cfg.model, cfg.n_devices, cfg.interconnect, cfg.framework, cfg.device) == \
        ("ResNet-50", 32, "InfiniBand EDR", "Caffe", "P100")
    expect = pm.predict_epoch_time("ResNet-50", pm.Cluster(**{**HPE_CLUSTER, "n_devices": 32,
                                                               "interconnect": "InfiniBand EDR"}),
                                   framework="Caffe", **HPE_ARGS)
    assert app.state.rows[0]["total_time_h"] == pytest.approx(expect.epoch_time_h, rel=1e-12)


def test_device_change_moves_the_server_and_the_link_lists():
    pytest.importorskip("panel")
    from plaster_model.web.page import GuideApp

    app = GuideApp()
    app.w["device"].value = "H100"
    assert app.w["system"].value == "DGX H100" and app.state.config.intra_node == "NVLink 4"
    app.w["device"].value = "P100-PCIe"
    assert app.w["system"].value == CUSTOM
    assert not any("NVLink" in o or "TPU" in o for o in app.w["intra_node"].options)
    assert app.state.config.intra_node == "PCIe 3.0 x16"


# --------------------------------------------------------------------------- Panel layer
def test_panel_app_opens_on_the_hpe_row_and_handles_errors_in_page():
    pytest.importorskip("panel")
    import plaster_model.web as web

    layout = web.app()
    from plaster_model.web.page import GuideApp

    app = GuideApp()
    assert hasattr(layout, "_repr_mimebundle_")  # what Jupyter calls to render it inline
    table = app.table.value
    assert len(table) == 1 and table.loc[0, "total_time"] == f"{_library().epoch_time_h:,.2f} h"
    assert app.state.rows[0]["total_time_h"] == pytest.approx(_library().epoch_time_h)
    # the preview states the same predicted total as the library, bold, to 2 decimals
    assert f"{_library().epoch_time_h:,.2f} h**" in app.preview.object
    app.w["n_devices"].value = 32  # 4 nodes: InfiniBand FDR now carries the all-reduce
    expect = _library(cluster={**HPE_CLUSTER, "n_devices": 32})
    assert f"{expect.epoch_time_h:,.2f} h" in app.preview.object
    app.add_row()
    assert len(app.table.value) == 2 and app.table.selection == [1]
    # A bad configuration: the library's error in the alert, no exception out of the callback.
    app.w["interconnect"].value = "(none)"
    hardware = app.group_errors["hardware"]  # shown under the Hardware fields
    assert hardware.visible and ">ParameterError: interconnect" in hardware.object   # the library error, named
    assert not app.form_error.visible
    app.w["interconnect"].value = "InfiniBand EDR"
    assert not hardware.visible
    app.w["epochs"].value = 0.0
    assert app.group_errors["data"].visible and "epochs" in app.group_errors["data"].object
    app.w["epochs"].value = 10.0
    # A system fills the cluster widgets.
    app.w["system"].value = "DGX-1 (V100)"
    assert (app.w["device"].value, app.w["intra_node"].value) == ("V100", "NVLink 2")
    app.remove_all()
    assert len(app.table.value) == 0
    # The bandwidth and inference tabs, and a bad upload shown in the page.
    app.refresh_bandwidth()
    assert app.bw_verdict.object.startswith("**Yes") or app.bw_verdict.object.startswith("**No")
    assert len(app.bw_table.value)
    app.refresh_inference()
    assert len(app.inf_best.value) == 4  # 2 devices (V100, P100) x 2 precisions (fp32, fp16): the defaults
    app._ensure("calibration")
    app.cal_files.filename, app.cal_files.value = ["junk.log"], [b"not a measurement\n"]
    app.calibrate_uploaded()
    assert app.cal_error.visible and ">ParseError: junk.log" in app.cal_error.object


def test_missing_panel_names_the_extra(monkeypatch, capsys):
    import sys
    import plaster_model.web as web
    from plaster_model.cli import main

    monkeypatch.setitem(sys.modules, "panel", None)  # import panel -> ImportError
    with pytest.raises(ImportError, match=r'plaster_model\[web\]'):
        web.require_panel()
    assert main(["serve", "--no-browser"]) == 2
    assert "plaster_model[web]" in capsys.readouterr().err


def test_serve_subcommand_passes_its_options_and_catalogs(monkeypatch, tmp_path):
    pytest.importorskip("panel")
    import textwrap
    import plaster_model.web as web
    from plaster_model.cli import main

    user = tmp_path / "mine.yaml"
    user.write_text(textwrap.dedent("""
        devices:
          MyGPU:
            peak_flops: {fp32: "20 TFLOPS"}
            memory: "24 GiB"
            memory_bandwidth: "1 TB/s"
            power: "250 W"
            source: "my measurement"
    """))
    seen = {}
    monkeypatch.setattr(web, "serve", lambda **kw: seen.update(kw, devices=set(pm.list_devices()["name"])))
    assert main(["serve", "--port", "8123", "--host", "127.0.0.1", "--no-browser",
                 "--calibration", "calib.yaml", "--catalog", str(user)]) == 0
    assert (seen["port"], seen["host"], seen["show"], seen["calibration"]) == (8123, "127.0.0.1", False, "calib.yaml")
    assert "MyGPU" in seen["devices"]  # the page's device dropdown reads this catalog
    assert "allow_websocket_origin" not in seen  # default: this machine only
    assert main(["serve", "--no-browser", "--allow-websocket-origin", "lab.example:5006"]) == 0
    assert seen["allow_websocket_origin"] == ["lab.example:5006"]


# --------------------------------------------------------------------------- real browser
def _chromium_or_install():
    from plaster_model.web._browser import chromium_path

    exe = chromium_path()
    if exe is None and shutil.which("apt-get") and os.geteuid() == 0:
        # .ci/run installs it; a developer machine gets it here once.
        subprocess.run("apt-get update -qq && apt-get install -y -qq chromium", shell=True,
                       check=False, timeout=900, capture_output=True)
        exe = chromium_path()
    return exe


#: The served test guide's upload limit [bytes] (small, so the refusal is cheap to test).
_TEST_UPLOAD_LIMIT = 100_000


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One ``plaster-model serve`` for the module's HTTP and browser tests."""
    pytest.importorskip("panel")
    from plaster_model.web._browser import serve_subprocess

    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with serve_subprocess(log_path=log, env={"PLASTER_WEB_MAX_UPLOAD_BYTES": str(_TEST_UPLOAD_LIMIT)}) as url:
        yield url


def _get(url, **headers):
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60) as r:
            return r.status, dict(r.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)


@pytest.mark.slow
def test_served_page_has_a_csp_and_answers_only_this_machine(served):
    status, headers = _get(served)
    assert status == 200
    csp = headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
    assert directives["default-src"] == "'self'" and directives["connect-src"] == "'self'"
    assert "'unsafe-inline'" not in directives["script-src"]  # injected handlers cannot run
    assert "'sha256-" in directives["script-src"]  # the page's own inline scripts, by hash
    assert "http" not in csp  # no other origin anywhere
    # Another site's page (or a DNS-rebound name) gets nothing, before any session is built.
    port = served.rsplit(":", 1)[1].strip("/")
    assert _get(served, Host=f"evil.example:{port}")[0] == 403
    assert _get(served, Origin="http://evil.example")[0] == 403
    assert _get(served, Origin=f"http://localhost:{port}")[0] == 200
    # Static files carry the policy too.
    status, headers = _get(served.rstrip("/") + "/plaster-static/upload_guard.js")
    assert status == 200 and "Content-Security-Policy" in headers


def _browser_or_skip():
    pytest.importorskip("panel")
    pytest.importorskip("playwright.sync_api", reason="playwright (test extra) is not installed")
    exe = _chromium_or_install()
    if exe is None:
        pytest.skip("no Chromium: apt-get install chromium failed or is not possible here")
    return exe


@pytest.mark.slow
def test_served_page_in_a_real_browser(served, tmp_path):
    exe = _browser_or_skip()
    from plaster_model.web._browser import SCENARIO_CHANGES, hours, run_scenario

    result = run_scenario(served, tmp_path, chromium=exe, width=1280, height=800)

    # The pre-filled HPE row: its time in hours as the page rounds it (2 decimals).
    assert result.prefilled_row["model"] == "VGG-16" and result.prefilled_row["total_time"].endswith(" h")
    assert result.prefilled_time_h == pytest.approx(_library().epoch_time_h, abs=0.006)
    # The added row: InfiniBand EDR, 32 GPUs, equal to the library's prediction.
    expect = _library(cluster={**HPE_CLUSTER, **SCENARIO_CHANGES})
    assert result.added_row["link"] == "InfiniBand EDR"
    assert result.added_time_h == pytest.approx(expect.epoch_time_h, abs=0.006)
    assert result.rows_after_add == 2 and result.rows_after_remove_all == 0
    # At 1280 x 800 every header of the comparison table is readable in full.
    assert result.elided_headers == []
    # ResNet-50 at batch 4096 on a 16 GB P100 (about 330 GB): infeasible, no time.
    assert result.infeasible_row["total_time"] == "does not fit"
    assert result.infeasible_row["memory"].startswith("does not fit: ResNet-50 at batch_per_device=4096")
    # The HPE guide's framework choice.
    assert {"Caffe", "Caffe2", "TensorFlow", "PyTorch", "MXNet"} <= set(result.framework_options)
    # A shared URL (?n_devices=32&interconnect=InfiniBand+EDR&model=ResNet-50) restores the form.
    restored = _library(cluster={**HPE_CLUSTER, **SCENARIO_CHANGES}, model="ResNet-50")
    assert (result.restored_row["model"], result.restored_row["n_devices"]) == ("ResNet-50", "32")
    assert hours(result.restored_row["total_time"]) == pytest.approx(restored.epoch_time_h, abs=0.006)
    # Offline: every request went to the loopback server.
    assert result.requests and not result.off_host_requests, result.off_host_requests
    assert result.screenshot.stat().st_size > 10_000
    assert result.screenshot_after_remove_all.exists()
    # LLM plans (issue 23 item 8), from a shared URL: Llama-3.1-70B as pure data parallelism
    # on 8 x 80 GB does not fit (141 GB of bf16 weights per GPU): infeasible, no time; the
    # best plans of the same cluster are listed with readable headers.
    assert result.llm_headline.strip().startswith("Infeasible")
    # on this cluster no plan of the search fits (the library's n_feasible is 0): every row
    # of the best-plan table is marked infeasible with the memory it needs, and has no time
    assert len(result.llm_plan_rows) == 10
    assert all(r["status"].startswith("infeasible: needs") and r["time_per_step"] == "–"
               for r in result.llm_plan_rows)
    # LLM serving (issue 24 item 6): the Pareto front is shown; no header is cut.
    assert result.serving_rows and result.llm_elided_headers == []


@pytest.mark.slow
def test_crafted_uploads_run_nothing_in_a_real_browser(served):
    exe = _browser_or_skip()
    from plaster_model.web._browser import PAYLOAD, run_injection

    result = run_injection(served, chromium=exe, oversize_bytes=2 * _TEST_UPLOAD_LIMIT)
    # Nothing executed: the title is the page's own, no script set the flag, no dialog.
    assert result.title_after == result.title_before != "1337"
    assert not result.pwned and result.dialogs == []
    # The reader's error is shown, with the crafted name as literal text.
    assert result.error_text.startswith("ParseError: ") and PAYLOAD in result.error_text
    assert "Content-Security-Policy" not in result.csp and "default-src 'self'" in result.csp
    # A file over the limit never reached the server's websocket: refused with a message.
    assert f"big.log: {2 * _TEST_UPLOAD_LIMIT} bytes is over" in result.oversize_text
