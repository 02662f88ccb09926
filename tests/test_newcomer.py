"""Issue 26: a newcomer's reproducers, each failing on the code before the fix.

Never a number for what cannot run (memory), calibrating nothing, plots, PLASTER, names.
The command-line reproducers are in tests/test_cli_commands.py.
"""
import math
import warnings

import numpy as np
import pandas as pd
import pytest

import plaster_model as pm
from plaster_model.estimators.memory import (DEFAULT_WORKSPACE_BYTES, transformer_activation_bytes,
                                             transformer_dims)


# --------------------------------------------------------------------------- memory
def test_resnet50_batch_4096_on_a_16gb_v100_is_refused_with_the_excess():
    # 25,610,269 parameters × 12 B (fp32 weights, gradients, momentum) + 1 GiB workspace
    # + 4096 × 80.1 MB activations = 329.4 GB, 313.4 GB more than the V100's 16 GB
    need = 12 * 25_610_269 + DEFAULT_WORKSPACE_BYTES + 4096 * 80.1e6
    c = pm.Cluster("V100", 1)
    for call in (lambda **k: pm.predict_training("ResNet-50", c, 4096, **k),
                 lambda **k: pm.predict_epoch_time("ResNet-50", c, batch_per_device=4096, **k)):
        with pytest.raises(pm.MemoryFitError, match="329 GB exceeds V100's 16 GB by 313 GB") as err:
            call()
        assert err.value.need_bytes == pytest.approx(need, rel=1e-9)
        assert err.value.excess_bytes == pytest.approx(need - 16e9, rel=1e-9)
        with pytest.warns(pm.MemoryWarning, match="does not fit"):
            pred = call(allow_oversubscribed=True)
        assert pred.iteration_time_s > 0 and any(a.startswith("OVERSUBSCRIBED") for a in pred.assumptions)


def test_korthikanti_activation_formula_terms():
    # Korthikanti et al. 2022, section 4.1, per layer at 16 bits: attention 11·sbh + 5·as²b
    # (QKV input 2sbh, Q and K 4sbh, softmax output 2as²b, dropout mask as²b, dropout
    # output 2as²b, V 2sbh, output projection input 2sbh, its dropout mask sbh), MLP 19·sbh,
    # two LayerNorm inputs 4·sbh: 34·sbh + 5·as²b in all
    s, b, h, a = 1024, 2, 1600, 25
    per_layer = 11 * s * b * h + 5 * a * s * s * b + 19 * s * b * h + 4 * s * b * h
    assert transformer_activation_bytes(s, b, h, a, 1) == pytest.approx(per_layer, rel=1e-12)
    # tensor parallelism t: 10·sbh + 24·sbh/t + 5·as²b/t; selective recomputation drops 5·as²b
    t = 4
    assert transformer_activation_bytes(s, b, h, a, 1, tp=t) == pytest.approx(
        10 * s * b * h + 24 * s * b * h / t + 5 * a * s * s * b / t, rel=1e-12)
    assert transformer_activation_bytes(s, b, h, a, 1, recompute="selective") == pytest.approx(34 * s * b * h)
    assert transformer_activation_bytes(s, b, h, a, 3, recompute="full") == pytest.approx(3 * 2 * s * b * h)


def test_max_batch_that_fits_gpt2_xl():
    # used to raise: transformers had no activation figure
    assert transformer_dims("GPT-2 XL") == {"layers": 48, "hidden": 1600, "heads": 25, "seq_len": 1024}
    # 16 GB V100, fp32 momentum: 1,557,611,200 × 12 B = 18.7 GB of model states alone
    assert pm.max_batch_that_fits("GPT-2 XL", "V100") == 0
    # A100 40 GB, mixed precision: fixed = P·(2 + 2 + 4·(1 + 1)) B + 1 GiB = 19.76 GB;
    # one 1024-token sequence keeps 48·1024·1600·(34 + 5·25·1024/1600) B = 8.97 GB
    a100 = pm.load_device("A100")
    fixed = 1_557_611_200 * 12 + 2**30
    per_seq = 48 * 1024 * 1600 * (34 + 5 * 25 * 1024 / 1600)
    assert pm.max_batch_that_fits("GPT-2 XL", "A100", "mixed") == math.floor((a100.memory_bytes - fixed) / per_seq)
    with pytest.raises(pm.MemoryFitError, match="shard the model"):
        pm.predict_training("GPT-2 XL", pm.Cluster("V100", 1), 1)


def test_scaling_curve_marks_rows_that_do_not_fit():
    # strong scaling of a global batch of 4096: 4096 and 512 per device do not fit a 16 GB
    # V100 (329 GB, 42.3 GB), 64 per device does (6.5 GB)
    c = pm.Cluster.from_system("DGX-1 (V100)", n_devices=64)
    df = pm.scaling_curve("ResNet-50", c, devices=[1, 8, 64], global_batch=4096, scaling="strong")
    assert df["fits_memory"].tolist() == [False, False, True]
    assert df.loc[:1, ["iteration_time_s", "speedup", "efficiency"]].isna().all().all()
    assert df.loc[2, "iteration_time_s"] > 0
    with pytest.warns(pm.MemoryWarning):
        kept = pm.scaling_curve("ResNet-50", c, devices=[1, 8, 64], global_batch=4096, scaling="strong",
                                allow_oversubscribed=True)
    assert kept["iteration_time_s"].notna().all() and kept["fits_memory"].tolist() == [False, False, True]


def test_inference_batches_that_do_not_fit_show_no_time():
    # BERT-large fp32 on a 16 GB T4: weights 335 M × 4 B = 1.34 GB, one layer's live
    # activations per sequence 2·384·1024·(34 + 5·16·384/1024) = 50.3 MB: batch 8 needs
    # 1.74 GB (fits), batch 512 needs 1.34 + 512 × 0.0503 = 27.1 GB (does not)
    df = pm.latency_throughput_curve("BERT-large", "T4", batches=[8, 512])
    assert df["fits_in_memory"].tolist() == [True, False]
    assert np.isnan(df.loc[1, "latency_s"]) and df.loc[0, "latency_s"] > 0
    kept = pm.latency_throughput_curve("BERT-large", "T4", batches=[8, 512], allow_oversubscribed=True)
    assert kept.loc[1, "latency_s"] > 0
    # nothing fits: refused, not a "batch 0" answer
    big = pm.Model(name="huge", params=10**10, fwd_flops="1 TFLOP", source="test")
    with pytest.raises(pm.MemoryFitError, match="does not fit"):
        pm.best_batch(big, "T4", "1 s")
    # ... and a PLASTER row for it says infeasible instead of failing the report
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = pm.plaster_report(big, "T4", dataset=1000, epochs=1)
    assert report.loc[0, "note"].startswith("infeasible") and not report.loc[0, "size_fits_in_memory"]
    assert np.isnan(report.loc[0, "latency_s"]) and np.isnan(report.loc[0, "throughput_samples_s"])


# --------------------------------------------------------------------------- calibration
def test_calibrating_zero_rows_says_which_files_and_why(shared_dir):
    for name, reader in (("08_trt10.16.1_h100pcie_mnist-cnn_dumpProfile.log", "read_layer_profile"),
                         ("09_trt10.16.1_h100pcie_mnist-cnn_exportLayerInfo.json", "read_layer_info")):
        path = shared_dir / "trtexec_samples" / name
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rows = pm.read_measurements(path)
        with pytest.raises(pm.CalibrationError, match="no measurement rows") as err:
            pm.calibrate(rows)
        assert name in str(err.value) and reader in str(err.value)


def test_calibrating_an_empty_table_is_a_calibration_error():
    # built in code: a filter that leaves nothing (it crashed with "ufunc 'bitwise_and'")
    df = pd.DataFrame({c: pd.Series(dtype=object) for c in pm.io.readers.schema.CSV_COLUMNS})
    with pytest.raises(pm.CalibrationError, match="no measurement rows"):
        pm.calibrate(df)
    df.attrs["layer_only"] = [("run.log", "15 layer rows")]
    with pytest.raises(pm.CalibrationError, match="run.log: 15 layer rows"):
        pm.calibrate(df)


# --------------------------------------------------------------------------- plots
def test_plot_scaling_one_line_per_configuration_log_log_and_efficiency_from_zero():
    import matplotlib
    matplotlib.use("Agg")
    from plaster_model.plotting import plot_scaling

    c = pm.Cluster.from_system("DGX-1 (V100)", n_devices=64)
    df = pm.scaling_curve("ResNet-50", c, devices=[1, 2, 4, 8, 16, 32, 64], batch_per_device=64)
    assert df["link"].nunique() > 1  # NVLink inside the node, InfiniBand beyond: one curve
    ax = plot_scaling(df)
    curves = [ln for ln in ax.get_lines() if ln.get_label() not in ("ideal",) and len(ln.get_xdata()) > 1]
    assert len(curves) == 1 and list(curves[0].get_xdata()) == [1, 2, 4, 8, 16, 32, 64]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"  # the ideal line is straight
    assert any("over" in t.get_text() for t in ax.get_legend().get_texts())  # links as markers
    ax = plot_scaling(df, y="efficiency")
    assert ax.get_ylim()[0] == 0 and ax.get_ylim()[1] >= 1


# --------------------------------------------------------------------------- PLASTER
def test_plaster_rate_of_learning_accuracy_and_units_per_model_kind():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bert = pm.plaster_report("BERT-base", "V100", precision=["fp32", "fp16"])
        gpt = pm.plaster_report("GPT-2", "V100", precision="fp16")
        resnet = pm.plaster_report("ResNet-50", "V100", precision=["fp32", "fp16"])
    # BERT retrains on SQuAD v1.1 for 3 epochs (Devlin et al. 2019), not 90 epochs of ImageNet
    assert bert.loc[0, "rate_of_learning_dataset"] == "SQuAD v1.1" and bert.loc[0, "rate_of_learning_epochs"] == 3
    # GPT-2's corpus is not in the catalog: not known, no number
    assert gpt.loc[0, "rate_of_learning_dataset"] == "not known"
    assert math.isnan(gpt.loc[0, "rate_of_learning_training_time_s"])
    assert bert.loc[0, "throughput_unit"] == "seq/s" and resnet.loc[0, "throughput_unit"] == "img/s"
    # fp16 accuracy is not published: NaN, shown as "not published", never 0
    assert math.isnan(resnet.loc[1, "accuracy_top1_pct"])
    table = pm.plaster.compact_table(resnet)
    assert table["A: top-1 [%]"].tolist() == ["73.11", "not published"]
    assert table["T: throughput"].str.endswith("img/s").all()


# --------------------------------------------------------------------------- names
def test_pareto_of_a_sweep_uses_a_derived_cost():
    df = pm.sweep("ResNet-50", ["V100", "T4"], [1, 8], "InfiniBand EDR", 32, devices_per_node=8,
                  intra_node="NVLink 2")
    front = pm.pareto(df)  # used to raise: no column 'cost'
    assert "cost_device_s_per_sample" in front.columns and len(front) >= 1
    # device-seconds per sample = n_devices / throughput
    assert np.allclose(front["cost_device_s_per_sample"], front["n_devices"] / front["throughput_samples_s"])


def test_names_nodes_device_print_solve_for_and_total_time():
    assert pm.Cluster.from_system("DGX-1 (V100)", nodes=2).n_devices == 16
    text = str(pm.load_device("V100"))
    assert len(text) < 200 and "\n" not in text and text.startswith("V100:")
    from plaster_model import formulas as fm
    (p,) = fm.compute_time("strong").solve_for("p")  # T_c = 3·F·B/(p·γ) -> p = 3·F·B/(T_c·γ)
    assert str(p.expr) == "3*B*F/(T_c*gamma)"
    with pytest.warns(DeprecationWarning, match="equals="):
        fm.compute_time("strong").solve_for("p", rhs=1)
    c = pm.Cluster.from_system("DGX-1 (V100)", nodes=1)
    e = pm.predict_epoch_time("ResNet-50", c, batch_per_device=64, epochs=3)
    assert e.total_time_s == e.epoch_time_s == pytest.approx(3 * e.time_per_epoch_s)
    from plaster_model.units import format_si
    assert format_si(3.9e-30, "s") == "0 s"  # summaries printed "overhead 3.9e-24 us"


def test_minimal_csv_is_read_with_stated_defaults(tmp_path):
    f = tmp_path / "mine.csv"
    f.write_text("model,device,metric,value\nResNet-50,V100,latency_ms,2.5\n")
    df = pm.read_measurements(f)
    row = df.iloc[0]
    assert row["n_devices"] == 1 and row["precision"] == "fp32" and row["phase"] == "inference"
    assert "defaulted" in row["notes"] and "n_devices=1" in row["notes"]
    bad = tmp_path / "bad.csv"
    bad.write_text("model,device,value\nResNet-50,V100,2.5\n")
    with pytest.raises(pm.ParseError, match="metric"):
        pm.read_measurements(bad)
