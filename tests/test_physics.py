"""Physics of the communication model: auto, overlap, topology, backend-keyed calibration.

Each test states the property it checks and why it must hold.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import plaster_model as pm
from plaster_model.estimators import FLAT_ALGORITHMS, allreduce_time

from _synthetic import inference_latency_rows

SHARED = Path(__file__).resolve().parents[2] / "shared"
CSV = SHARED / "data" / "published_measurements.csv"


@settings(max_examples=60, deadline=None)
@given(w=st.floats(1e3, 2e9), p=st.integers(2, 4096), g=st.sampled_from([1, 2, 4, 8, 16]),
       m=st.integers(1, 8), beta=st.floats(1e9, 50e9), beta_in=st.floats(10e9, 900e9),
       alpha=st.floats(0, 1e-5))
def test_auto_never_slower_than_the_best_flat_algorithm(w, p, g, m, beta, beta_in, alpha):
    # auto is the minimum over candidates that include every flat algorithm on the same links
    topo = dict(devices_per_node=g, nics_per_node=m, beta_intra=beta_in, alpha_intra=alpha / 2)
    auto = allreduce_time("auto", w, p, beta, alpha, **topo)
    best_flat = min(allreduce_time(a, w, p, beta, alpha) for a in FLAT_ALGORITHMS)
    assert auto <= best_flat * (1 + 1e-12)


@settings(max_examples=40, deadline=None)
@given(w=st.floats(1e3, 2e9), p=st.integers(2, 512), beta=st.floats(1e9, 50e9), m=st.integers(1, 8))
def test_one_device_per_node_reduces_hierarchical_to_flat(w, p, beta, m):
    # g = 1: no intra-node stage, and one device owns all the node's NICs' traffic
    for inter in FLAT_ALGORITHMS:
        h = pm.hierarchical_allreduce_time(w, p, beta, devices_per_node=1, nics_per_node=m,
                                           beta_intra=100e9, inter_algorithm=inter)
        assert h == pytest.approx(allreduce_time(inter, w, p, beta), rel=1e-12)
    assert pm.multirail_ring_allreduce_time(w, p, beta, devices_per_node=1) == \
        pytest.approx(pm.ring_allreduce_time(w, p, beta), rel=1e-12)


def test_multirail_ring_crosses_each_node_boundary_once():
    # 4 DGX-1 (8 GPUs, 4 EDR NICs of 12.5 GB/s, NVLink 150 GB/s), ResNet-50 fp32 (102.4 MB):
    # one ring per NIC, each carrying 1/4 of 2·31/32·w -> bound by 4 × 12.5 = 50 GB/s, not by
    # a single NIC shared 8 ways (12.5/8 GB/s).
    w = 25.6e6 * 4
    t = pm.multirail_ring_allreduce_time(w, 32, 12.5e9, devices_per_node=8, nics_per_node=4, beta_intra=150e9)
    assert t == pytest.approx(2 * 31 / 32 * w / 50e9, rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(batch=st.integers(1, 256), n_nodes=st.integers(1, 16),
       model=st.sampled_from(["ResNet-50", "VGG-16", "AlexNet"]))
def test_overlap_never_slower_than_serial(batch, n_nodes, model):
    c = pm.Cluster.from_system("DGX-1 (V100)", n_nodes=n_nodes)
    over = pm.predict_training(model, c, batch, overlap=1.0, check_memory=False)
    serial = pm.predict_training(model, c, batch, overlap=0.0, check_memory=False)
    assert over.iteration_time_s <= serial.iteration_time_s * (1 + 1e-12)


def test_auto_default_is_the_nccl_backend_with_overlap():
    c = pm.Cluster.from_system("DGX-1 (V100)", n_nodes=4)
    pred = pm.predict_training("ResNet-50", c, 64, check_memory=False)
    assert pred.algorithm == "auto" and pred.overlap == 1.0
    assert any("backend nccl" in a for a in pred.assumptions)
    # tf_cnn_benchmarks' default exchange is a parameter server
    ps = pm.predict_training("ResNet-50", c, 64, framework="TensorFlow (tf_cnn_benchmarks)", check_memory=False)
    assert ps.algorithm == "parameter_server"


def test_verdict_states_the_seed_tree_and_auto():
    c = pm.Cluster("K40", 16, interconnect="InfiniBand FDR")
    v = pm.is_bandwidth_bound("VGG-16", c, batch_per_device=16)
    tree = pm.is_bandwidth_bound("VGG-16", c, batch_per_device=16, algorithm="tree")
    note = " ".join(v.notes)
    assert "seed tree model" in note and f"{tree.crossover_devices:.4g}" in note


def _comm_rows(framework, notes, eta_comm):
    """Two-device-per-run rows over 10 GbE generated with a known η_comm and backend."""
    from plaster_model.resolution import communication_backend

    backend, _ = communication_backend(framework, notes)
    recs = []
    for p in (1, 2, 4, 8):
        for b in (16, 32, 64):
            c = pm.Cluster("V100", p, interconnect="10GbE")
            pred = pm.predict_training("ResNet-50", c, b, efficiency=0.5, comm_efficiency=eta_comm,
                                       backend=backend.name, check_memory=False)
            recs.append({"source": "synthetic", "model": "ResNet-50", "framework": framework, "device": "V100",
                         "n_devices": p, "devices_per_node": 1, "interconnect": "10GbE", "precision": "fp32",
                         "batch_per_device": b, "phase": "training", "metric": "throughput_img_s",
                         "value": pred.throughput_samples_s, "notes": notes})
    return recs


def test_parameter_server_fit_does_not_move_nccl_predictions():
    # η_comm is keyed by (backend, link class): a slow parameter server says nothing about NCCL
    rows = pd.DataFrame(_comm_rows("TensorFlow (tf_cnn_benchmarks)", "variable_update=parameter_server", 0.25))
    cal = pm.Calibration(n_bootstrap=0).fit(rows)
    ce = cal.comm_efficiencies_.set_index(["backend", "link_class"])["comm_efficiency"]
    assert ce[("parameter_server", "ethernet")] == pytest.approx(0.25, rel=0.05)
    nccl = cal.parameters_for("V100", "fp32", "ResNet-50", n_devices=8, backend="nccl", link_class="ethernet")
    assert nccl["comm_efficiency"] == 1.0
    ps = cal.parameters_for("V100", "fp32", "ResNet-50", n_devices=8, backend="parameter_server",
                            link_class="ethernet")
    assert ps["comm_efficiency"] == pytest.approx(0.25, rel=0.05)


@pytest.mark.slow
@pytest.mark.skipif(not CSV.is_file(), reason="../shared/data is absent")
def test_hpe_cookbook_job_lands_in_the_measured_range():
    # HPE Deep Learning Cookbook slides: VGG-16, 100 M images, 10 epochs, batch 16 per GPU
    # (weak), 8 × P100 in one HPE Apollo 6500, InfiniBand FDR; measured 175.8 h (Caffe2),
    # 188.1 h (BVLC Caffe) and 416.1 h (TensorFlow). Peak-only through the zoo's FLOP count
    # (15.5 GMACs = 31 GFLOPs): 3·31e9·1e9 / (8·10.6e12) = 1.10e6 s = 304.6 h, so a calibrated
    # efficiency (η·κ for VGG-16) between 0.68 and 2.0 of the direct-count peak lands in
    # 150-450 h; the 8 GPUs share one node, so the all-reduce runs over PCIe, overlapped.
    cal = pm.calibrate(pm.read_measurements(str(CSV)), n_bootstrap=20)
    c = pm.Cluster.from_system("HPE Apollo 6500", n_nodes=1, interconnect="InfiniBand FDR")
    assert c.n_devices == 8
    pred = pm.predict_epoch_time("VGG-16", c, dataset=100_000_000, epochs=10, batch_per_device=16,
                                 calibration=cal, check_memory=False)
    hours = pred.epoch_time_s / 3600
    lo, hi = (t / 3600 for t in pred.epoch_time_interval_s)
    assert 150 < hours < 450
    assert lo < 416.1 and hi > 175.8  # the interval overlaps the measured range


# ------------------------------------------------------- operators and per-phase model factors
def _inference_rows(per_operator_s, models=("ResNet-50", "AlexNet"), eta=0.2):
    """Latency rows on a T4 (fp16, PyTorch) whose per-batch overhead is ``per_operator_s``
    times the model's operator count (ResNet-50 174; AlexNet 20 = 5 conv + 3 FC + 7 ReLU +
    2 LRN + 3 max-pool, the non-view nodes of the graphs built in code). ``eta`` is a
    fraction of the peak; the calibration fits a fraction of the per-operator roofline,
    eta × r_∞ (ResNet-50 unfused on a T4 in fp16: r_∞ = 4.34, so 0.2 -> 0.87 < 1: data a
    physical device can produce)."""
    return inference_latency_rows(models, "T4", "fp16", "PyTorch", eta=eta,
                                  t0_s=lambda m: per_operator_s * m.kernels)


def test_inference_overhead_scales_with_the_operator_count():
    # A runtime dispatches and launches each operator on its own: rows generated with
    # t0 = 30 µs × K (ResNet-50: 174 operators -> 5.22 ms; AlexNet: 20 -> 0.60 ms) are fitted
    # with one overhead for the group's typical model, and each model gets its share K/K̄.
    cal = pm.Calibration(n_bootstrap=0).fit(_inference_rows(30e-6))
    for name, k in (("ResNet-50", 174), ("AlexNet", 20)):
        t0 = cal.parameters_for("T4", "fp16", name, phase="inference", framework="PyTorch")["t0_s"]
        assert t0 == pytest.approx(30e-6 * k, rel=0.03), name
    assert cal.errors_["median_abs_pct_error"].max() < 1.0


def test_an_unseen_model_pays_overhead_for_its_own_operators():
    # fitted on ResNet-50 alone (K̄ = 174), a ResNet-152 query pays for its 514 operators
    # (155 conv = 1 + 50 × 3 + 4 projections, 155 BN, 151 ReLU, 50 adds, 1 FC, 2 pools):
    # 514/174 = 2.95 times the overhead, 30 µs × 514 = 15.4 ms
    cal = pm.Calibration(n_bootstrap=0).fit(_inference_rows(30e-6, models=("ResNet-50",)))
    out = cal.parameters_for("T4", "fp16", "ResNet-152", phase="inference", framework="PyTorch")
    assert out["t0_s"] == pytest.approx(30e-6 * 514, rel=0.03)
    assert any("514 operators" in n for n in out["notes"])


def test_training_overhead_does_not_scale_with_operators():
    # a training step's overhead (optimizer, input pipeline) stays the group's one figure
    rows = pd.DataFrame(_comm_rows("PyTorch", "", 1.0))
    cal = pm.Calibration(n_bootstrap=0).fit(rows)
    a = cal.parameters_for("V100", "fp32", "ResNet-50")["overhead_s"]
    b = cal.parameters_for("V100", "fp32", "AlexNet")["overhead_s"]
    assert a == b


def test_model_factors_are_per_phase():
    # training and inference run different kernels: the factor of a model fitted in training
    # is not its inference factor; a model seen in one phase lends it to the other, stated
    train = pd.DataFrame(_comm_rows("PyTorch", "", 1.0))
    cal = pm.Calibration(n_bootstrap=0).fit(pd.concat([train, _inference_rows(30e-6)], ignore_index=True))
    mf = cal.model_factors_
    assert set(zip(mf["model"], mf["phase"])) == {("ResNet-50", "training"), ("ResNet-50", "inference"),
                                                  ("AlexNet", "inference")}
    out = cal.parameters_for("V100", "fp32", "AlexNet", phase="training")
    assert any("no training factor" in n and "inference factor" in n for n in out["notes"])


@pytest.mark.parametrize("bad", [0, -3, True, 1.5, "174"])
def test_model_kernels_must_be_a_positive_count(bad):
    with pytest.raises((ValueError, TypeError), match="kernels"):
        pm.Model(name="toy", params=10, fwd_flops="1 GFLOP", source="hand", kernels=bad)


def test_zoo_operator_counts_follow_the_built_graphs():
    # the hand-written entries state how their count derives from a graph built in code
    pytest.importorskip("onnx")
    from plaster_model.model_builders import count, kernel_count
    from plaster_model.model_builders.inception import inception_v3
    from plaster_model.model_builders.resnet import resnet
    from plaster_model.model_builders.vgg import alexnet, vgg
    from plaster_model.onnx_import import onnx_layer_table

    def k(graph):
        return kernel_count(onnx_layer_table(graph, batch=1))

    expect = {"ResNet-50": k(resnet(depth=50)), "ResNet-50 v1.5": k(resnet(depth=50)),
              "ResNet-101": k(resnet(depth=101)), "ResNet-152": k(resnet(depth=152)),
              "VGG-16": k(vgg(16)), "VGG-19": k(vgg(19)), "Inception-v3": k(inception_v3(aux_logits=False)),
              "AlexNet": k(alexnet()) + 2}  # Caffe's AlexNet adds two LRN layers
    tv = count("GoogLeNet (torchvision)").layers
    expect["GoogleNet"] = kernel_count(tv) - int((tv["kind"] == "normalization").sum()) + 2  # no BN, 2 LRN
    assert expect["ResNet-50"] == 53 + 1 + 53 + 49 + 16 + 2  # conv, FC, BN, ReLU, adds, pools
    for name, n in expect.items():
        assert pm.load_model(name).kernels == n, name


def test_training_rows_do_not_move_an_inference_fit():
    # with per-phase model factors no row links a training parameter to an inference one:
    # parameter_blocks() solves them apart, so adding training rows leaves every inference
    # parameter where it was (to the solver's tolerance)
    from plaster_model.calibration.fit import build_layout, parameter_blocks
    from plaster_model.calibration.rows import prepare_rows

    inf = _inference_rows(30e-6)
    train = pd.DataFrame(_comm_rows("PyTorch", "", 0.8))
    rows = prepare_rows(pd.concat([train, inf], ignore_index=True))
    blocks = parameter_blocks(build_layout(rows, True))
    assert len(blocks) == 2
    phases = [set(np.asarray(rows.phase, dtype=object)[rm]) for rm, _ in blocks]
    assert sorted(map(sorted, phases)) == [["inference"], ["training"]]
    alone = pm.Calibration(n_bootstrap=0).fit(inf).params_.set_index("group")
    both = pm.Calibration(n_bootstrap=0).fit(pd.concat([train, inf], ignore_index=True)).params_.set_index("group")
    g = "T4|fp16|inference|framework"
    for col in ("efficiency", "overhead_s"):
        assert both.loc[g, col] == pytest.approx(alone.loc[g, col], rel=1e-6)


def test_a_missing_batch_takes_the_documented_default():
    # NVIDIA's TensorFlow ResNet-50 v1.5 README documents --batch_size=128 (FP32) and 256
    # (AMP) as the default; a row without a batch is predicted at it, and says so
    from plaster_model.calibration.defaults import default_batch
    from plaster_model.calibration.rows import prepare_rows

    assert default_batch("TensorFlow 19.07 NGC", "tensorflow", "ResNet-50 v1.5", "fp32", "training").batch == 128
    assert default_batch("PyTorch 21.03 NGC", "pytorch", "ResNet-50 v1.5", "fp32", "training") is None
    row = {"source": "s", "model": "ResNet-50 v1.5", "framework": "TensorFlow 19.07 NGC (Horovod)",
           "device": "V100", "n_devices": 1, "devices_per_node": 1, "precision": "mixed",
           "phase": "training", "metric": "throughput_img_s", "value": 800.0, "notes": ""}
    rows = prepare_rows(pd.DataFrame([row, {**row, "framework": "TensorFlow 1.3"}]))
    assert rows.ok.tolist() == [True, False]
    assert rows.batch[0] == 256 and "documented default" in rows.assumed[0]
    assert rows.reason[1] == "batch_per_device not given"
