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
from plaster_model.web.state import (SAMPLE_COUNT, GuideState, InferenceConfig,
                                     algorithm_choices, user_error)

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
    assert row["throughput_img_s"] == pytest.approx(pred.throughput_samples_s, rel=1e-12)
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
    assert user_error(info.value).startswith("KeyError: ") and "VGG" in user_error(info.value)
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
    assert bool(first["calibrated"]) and first["total_time_h"] == pytest.approx(row["total_time_h"], rel=1e-6)


def test_update_path_cpu_time_under_half_a_second():
    """A form change (prediction, verdict, scaling curve, both charts as PNG) costs the
    server < 0.5 s of CPU. CPU time, not wall time: the machine is shared."""
    import matplotlib
    matplotlib.use("Agg")
    from plaster_model.web import charts

    g = GuideState()
    g.preview_row()
    charts.figure_png(charts.scaling_figure(g.scaling()))  # warm imports and caches
    costs = []
    for n in (16, 32, 64):
        t = time.process_time()
        g.update(n_devices=n)
        g.preview_row()
        curve = g.scaling()
        charts.figure_png(charts.scaling_figure(curve))
        charts.figure_png(charts.breakdown_figure(curve))
        costs.append(time.process_time() - t)
    assert min(costs) < 0.5, costs


# --------------------------------------------------------------------------- Panel layer
def test_panel_app_opens_on_the_hpe_row_and_handles_errors_in_page():
    pytest.importorskip("panel")
    import plaster_model.web as web

    layout = web.app()
    from plaster_model.web.page import GuideApp

    app = GuideApp()
    assert hasattr(layout, "_repr_mimebundle_")  # what Jupyter calls to render it inline
    table = app.table.value
    assert len(table) == 1 and table.loc[0, "total_time_h"] == pytest.approx(_library().epoch_time_h)
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
    assert hardware.visible and hardware.object.startswith("ValueError: interconnect")
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
    app.refresh_inference()
    assert len(app.inf_best.value) == 4  # 2 devices (V100, P100) x 2 precisions (fp32, fp16): the defaults
    app.cal_files.filename, app.cal_files.value = ["junk.log"], [b"not a measurement\n"]
    app.calibrate_uploaded()
    assert app.cal_error.visible and app.cal_error.object.startswith("ParseError: junk.log")


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


@pytest.mark.slow
def test_served_page_in_a_real_browser(tmp_path):
    pytest.importorskip("panel")
    pytest.importorskip("playwright.sync_api", reason="playwright (test extra) is not installed")
    exe = _chromium_or_install()
    if exe is None:
        pytest.skip("no Chromium: apt-get install chromium failed or is not possible here")
    from plaster_model.web._browser import SCENARIO_CHANGES, run_scenario, serve_subprocess

    with serve_subprocess(log_path=tmp_path / "serve.log") as url:
        assert url.startswith("http://127.0.0.1:")
        result = run_scenario(url, tmp_path, chromium=exe)

    # The pre-filled HPE row: its time in hours as the page rounds it (2 decimals).
    assert result.prefilled_row["model"] == "VGG-16"
    assert result.prefilled_time_h == pytest.approx(_library().epoch_time_h, abs=0.006)
    # The added row: InfiniBand EDR, 32 GPUs, equal to the library's prediction.
    expect = _library(cluster={**HPE_CLUSTER, **SCENARIO_CHANGES})
    assert result.added_row["link"] == "InfiniBand EDR"
    assert result.added_time_h == pytest.approx(expect.epoch_time_h, abs=0.006)
    assert result.rows_after_add == 2 and result.rows_after_remove_all == 0
    # Offline: every request went to the loopback server.
    assert result.requests and not result.off_host_requests, result.off_host_requests
    assert result.screenshot.stat().st_size > 10_000
    assert result.screenshot_after_remove_all.exists()
