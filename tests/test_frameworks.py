"""Every row read as it ran (issue 22 item 4): framework names, engine modes, communication
backends, parameter-server placement and multi-node layouts.

Each test here failed on the code before the fix it checks (commit 57322a1): the comment
above each says what that code did.
"""
import math

import numpy as np
import pandas as pd
import pytest

import plaster_model as pm
from plaster_model.calibration.rows import prepare_rows
from plaster_model.catalog.frameworks import (communication_backend, engine_mode, framework_family,
                                              inference_engine, parse_framework)
from plaster_model.resolution import link_class, multi_node_layout


# --------------------------------------------------------------------------- names

@pytest.mark.parametrize("text, family", [
    ("Caffe2", "caffe2"),                       # was "caffe": tie at position 0 broken alphabetically
    ("Caffe2 (data_parallel_model, Gloo)", "caffe2"),
    ("BVLC Caffe 1.0", "caffe"),
    ("TF-TRT 1.14", "tensorflow"),              # was "tf-trt" (its first word)
    ("TensorFlow 20.06 NGC, without TensorRT", "tensorflow"),
    ("no TensorRT; PyTorch 1.8", "pytorch"),    # was "tensorrt": the negated name came first
    ("PyTorch 21.03 NGC", "pytorch"),
    ("Horovod + TensorFlow 1.15", "tensorflow"),
    ("", "unknown"),
])
def test_framework_family_longest_match_and_negations(text, family):
    assert framework_family(text) == family


@pytest.mark.parametrize("text, engine", [
    ("TensorFlow 20.06 NGC (no TensorRT)", "framework"),     # was "tensorrt"
    ("TensorFlow 20.06 NGC, without TensorRT", "framework"),  # was "tensorrt"
    ("TF-TRT (TensorFlow 1.14 with TensorRT 5)", "tensorrt"),
    ("TF-TRT", "tensorrt"),                                   # was "framework"
    ("PyTorch + Torch-TensorRT", "tensorrt"),
    ("TensorRT 4.0.0.3 (CUDA 9.0, cuDNN 7)", "tensorrt"),
    ("ONNX Runtime 1.14 (CUDA EP)", "onnxruntime"),
    ("TensorRT (ONNX Runtime TensorRT EP) on Triton Inference Server", "tensorrt (server)"),
])
def test_inference_engine_reads_negations_and_tf_trt(text, engine):
    assert inference_engine(text) == engine


@pytest.mark.parametrize("text, notes, mode", [
    ("TensorRT (ONNX Runtime TensorRT EP) on Triton Inference Server", None, "server"),
    ("TensorRT 8.6", "perf_analyzer against a Triton model repository", "server"),
    ("TensorFlow Serving 2.4", None, "server"),
    ("TensorRT 7.2", "MLPerf Inference v1.0 harness (LoadGen), Offline scenario", "harness"),
    ("TensorRT 8.6.1 (trtexec)", None, "engine"),
    ("PyTorch 21.03 NGC", "no Triton: a Python loop", "engine"),
])
def test_engine_mode_server_harness_engine(text, notes, mode):
    assert engine_mode(text, notes) == mode


def test_negated_phrases_are_reported():
    f = parse_framework("TensorFlow 19.07 NGC, without TensorRT or XLA")
    assert f.negated == ("without tensorrt or xla",) and f.engine == "framework"
    assert f.xla is False and parse_framework("TensorFlow 20.06 NGC + XLA (Horovod)").xla is True
    assert parse_framework("TensorFlow 19.07 NGC", "TF-AMP, no XLA").xla is False
    assert parse_framework("PyTorch 21.03 NGC").xla is None


# --------------------------------------------------------------------------- backends

@pytest.mark.parametrize("framework, notes, multi_node, backend", [
    ("Caffe2", None, False, "nccl"),            # was "p2p_tree" (read as BVLC Caffe)
    ("Caffe2", None, True, "gloo"),             # Goyal et al. 2017: Gloo across servers
    ("BVLC Caffe", None, False, "nccl"),        # was "p2p_tree": Caffe 1.0 with NCCL (layer-wise)
    ("BVLC Caffe rc3", None, False, "p2p_tree"),  # pre-1.0 P2PSync tree
    ("BVLC Caffe", "P2PSync over PCIe", False, "p2p_tree"),
    ("TensorFlow (HPE DLBS)", None, False, "nccl"),  # DLBS: variable_update=replicated, use_nccl=true
    ("TensorFlow (Horovod over MPI)", None, False, "mpi"),              # was "nccl"
    ("TensorFlow 1.12", "Horovod with CPU all-reduce (MPI)", False, "mpi"),  # was "nccl"
    ("TensorFlow 19.07 NGC (Horovod)", None, False, "nccl"),
    ("PyTorch (Horovod, gloo)", None, False, "gloo"),                   # was "nccl"
    ("TensorFlow (tf_cnn_benchmarks)", "variable_update=replicated without NCCL", False,
     "parameter_server"),                                               # was "nccl"
    ("TensorFlow (tf_cnn_benchmarks)", "variable_update=replicated with NCCL", False, "nccl"),
    ("Intel Caffe v1.0.7 (LARS)", None, True, "mpi"),                   # was "p2p_tree"
])
def test_communication_backend_as_the_run_stated(framework, notes, multi_node, backend):
    assert communication_backend(framework, notes, multi_node=multi_node)[0].name == backend


def test_tensorflow_parameter_servers_place_whole_variables_and_overlap_the_push_only():
    be, why = communication_backend("TensorFlow (tf_cnn_benchmarks)", "variable_update=parameter_server")
    # was overlap 1.0 with balanced shards
    assert (be.name, be.placement, be.overlap) == ("parameter_server", "largest", 0.5)
    kv, _ = communication_backend("MXNet 1.2", "kvstore=device")
    assert (kv.name, kv.placement, kv.overlap) == ("parameter_server", "balanced", 1.0)


def test_parameter_server_largest_variable_hand_value():
    # VGG-16 at fp32 on 8 workers, 8 co-located servers, 1.25 GB/s ports, no latency.
    # balanced: each server carries 8 · (w/8) = w per phase, T = 2·w/β;
    # whole variables: the fc6 server carries 8 · 411 MB, T = 2·8·fc6/β.
    w, fc6, beta = 138_357_544 * 4, 25088 * 4096 * 4, 1.25e9
    assert pm.parameter_server_time(w, 8, beta) == pytest.approx(2 * w / beta)
    t = pm.parameter_server_time(w, 8, beta, placement="largest", largest_bytes=fc6)
    assert t == pytest.approx(2 * 8 * fc6 / beta)
    # a variable cannot be larger than the gradient: clipped to w (one server holds it all)
    t1 = pm.parameter_server_time(w, 8, beta, placement="largest", largest_bytes=10 * w)
    assert t1 == pytest.approx(2 * 8 * w / beta)
    # unknown largest variable (0): balanced
    assert pm.parameter_server_time(w, 8, beta, placement="largest", largest_bytes=0) == pytest.approx(2 * w / beta)
    with pytest.raises(ValueError, match="largest_bytes"):
        pm.parameter_server_time(w, 8, beta, placement="largest")
    with pytest.raises(ValueError, match="placement"):
        pm.parameter_server_time(w, 8, beta, placement="round robin")


def _row(**kw):
    base = dict(source="test", source_detail="", model="ResNet-50", framework="PyTorch", device="V100", n_devices=8,
                devices_per_node=8, interconnect="NVLink 2", precision="fp32", batch_per_device=64,
                phase="training", metric="throughput_img_s", value=1000.0, notes="")
    base.update(kw)
    return base


def test_rows_charge_the_largest_variable_to_one_server():
    # tf_cnn_benchmarks VGG-16, 8 × P100 in one DGX-1, variable_update=parameter_server with
    # one server per GPU: the bandwidth part of the exchange at η_comm = 1 is
    # 2 · P · max(w/k, fc6) / β = 2 · 8 · fc6 / β over NVLink 1 (was 2·w/β: balanced shards).
    df = pd.DataFrame([_row(model="VGG-16", framework="TensorFlow (tf_cnn_benchmarks)", device="P100",
                            interconnect="NVLink 1", notes="variable_update=parameter_server")])
    rows = prepare_rows(df)
    assert rows.ok[0] and rows.algorithm[0] == "parameter_server"
    beta = pm.load_interconnect("NVLink 1").bandwidth
    fc6 = 25088 * 4096 * 4
    assert rows.comm_a[0] == pytest.approx(2 * 8 * fc6 / beta, rel=1e-9)
    assert rows.overlap[0] == 0.5


# --------------------------------------------------------------------------- layouts

def test_unstated_fabric_takes_the_named_systems_network_with_an_assumption():
    # was: the row was refused ("interconnect ... is not mapped")
    text = "NVLink within DGX-1; multi-node (fabric not stated)"
    lay = multi_node_layout(text, "V100")
    assert (lay.network, lay.intra_node, lay.nics_per_node, lay.system) == \
        ("InfiniBand EDR", "NVLink 2", 4, "DGX-1 (V100)")
    assert any("not stated" in a for a in lay.assumptions)
    rows = prepare_rows(pd.DataFrame([_row(n_devices=32, interconnect=text)]))
    assert rows.ok[0] and rows.link[0] == "InfiniBand EDR"
    assert "InfiniBand EDR of DGX-1 (V100) assumed" in rows.assumed[0]


def test_nvlink_is_never_the_network_between_nodes():
    # "NVLink (DGX-1 ...)" on 16 V100 in 2 nodes: the old rows took NVLink 2 (25 GB/s per
    # direction per link) as the link between the nodes
    rows = prepare_rows(pd.DataFrame([_row(n_devices=16, interconnect="NVLink (DGX-1 V100 16GB)")]))
    ib = pm.load_interconnect("InfiniBand EDR")
    nvl = pm.load_interconnect("NVLink 2")
    assert rows.ok[0] and rows.link[0] == "InfiniBand EDR"
    assert rows.beta[0] == ib.bandwidth and rows.beta_intra[0] == nvl.bandwidth
    assert rows.devices_per_node[0] == 8


def test_named_system_supplies_nvswitch_and_nics():
    # DGX A100: NVLink 3 / NVSwitch inside, 8 HDR NICs per node (was PCIe 3.0 inside, 1 NIC).
    # With the multi-rail NICs the hierarchical exchange's network stage carries
    # w/(m·β) per node instead of w/β: the row's comm time must fall below the 1-NIC one.
    rows = prepare_rows(pd.DataFrame([_row(device="A100", n_devices=64, interconnect="DGX A100 SuperPOD"),
                                      _row(device="A100", n_devices=64, interconnect="InfiniBand HDR")]))
    assert rows.ok.all()
    assert rows.beta_intra[0] == pm.load_interconnect("NVLink 3").bandwidth
    assert rows.beta_intra[1] == pm.load_interconnect("PCIe 3.0 x16").bandwidth
    assert rows.comm_a[0] < rows.comm_a[1]
    assert "8 NIC(s) per node of DGX A100 assumed" in rows.assumed[0]


def test_multi_node_without_network_or_system_is_refused_with_a_reason():
    rows = prepare_rows(pd.DataFrame([_row(device="T4", n_devices=16, interconnect="multi-node (fabric not stated)")]))
    assert not rows.ok[0] and "not stated" in rows.reason[0]


def test_ethernet_is_its_own_link_class():
    # NCCL over Ethernet and NCCL over InfiniBand are different η_comm keys; a fabric text
    # saying RoCE is off, or NCCL on sockets, is Ethernet (was "rdma": the negation ignored)
    df = pd.DataFrame([_row(n_devices=16, interconnect="25 Gbps Ethernet"),
                       _row(n_devices=16, interconnect="InfiniBand EDR"),
                       _row(n_devices=16, interconnect="40 Gbps Ethernet (RoCE disabled)"),
                       _row(n_devices=16, interconnect="InfiniBand EDR", notes="NCCL_IB_DISABLE=1")])
    rows = prepare_rows(df)
    assert rows.comm_key == [("nccl", "ethernet"), ("nccl", "rdma"), ("nccl", "ethernet"), ("nccl", "ethernet")]
    assert link_class("RoCE 100G") == "rdma"


# --------------------------------------------------------------------------- engines in the fit

def test_served_and_bare_engines_are_fitted_apart():
    # Triton adds protocol/queueing time per request: the same engine behind a server is its
    # own calibration group, so a bare engine does not take the server's overhead
    # (was: one "tensorrt" group, fitted to both, t0 between 0.2 and 2 ms).
    from tests._synthetic import inference_latency_rows

    bare = inference_latency_rows("ResNet-50", "V100", "fp16", "TensorRT 8.6 (trtexec)", 0.4, 0.2e-3)
    served = inference_latency_rows("ResNet-50", "V100", "fp16", "TensorRT 8.6 on Triton Inference Server",
                                    0.4, 2.0e-3)
    df = pd.concat([bare, served], ignore_index=True)
    rows = prepare_rows(df)
    assert {g[3] for g in rows.group} == {"tensorrt", "tensorrt (server)"}
    # the synthetic rows follow the FLOP-only forward model: recover its parameters exactly
    cal = pm.calibrate(df, n_bootstrap=0, roofline=False)
    t_bare = cal.parameters_for("V100", "fp16", "ResNet-50", phase="inference", framework="TensorRT 8.6")["t0_s"]
    t_srv = cal.parameters_for("V100", "fp16", "ResNet-50", phase="inference",
                               framework="TensorRT on Triton")["t0_s"]
    assert t_bare == pytest.approx(0.2e-3, rel=0.05) and t_srv == pytest.approx(2.0e-3, rel=0.05)


def test_engine_mode_column_from_read_measurements(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame([_row(phase="inference", framework="TensorRT on Triton", metric="latency_ms", value=3.0,
                       n_devices=1, devices_per_node=1, interconnect=None),
                  _row(phase="inference", framework="TensorRT 8.6 (trtexec)", metric="latency_ms", value=1.0,
                       n_devices=1, devices_per_node=1, interconnect=None),
                  _row()]).to_csv(path, index=False)
    df = pm.read_measurements(path)
    assert df["engine_mode"].tolist()[:2] == ["server", "engine"] and pd.isna(df["engine_mode"].iloc[2])


def test_parameter_servers_on_the_host_cross_pcie_not_nvlink():
    # tf_cnn_benchmarks on a DGX-1 with local_parameter_device=cpu: the variables sit in
    # host memory, so each GPU's push and pull cross its PCIe 3.0 x16 host link (15.75 GB/s),
    # not NVLink 1 (80 GB/s, what the old rows used): T_A = 2·w/β_PCIe at η_comm = 1
    # (balanced: the host's memory serves every variable)
    notes = "synthetic data; variable_update=parameter_server, local_parameter_device=cpu"
    rows = prepare_rows(pd.DataFrame([_row(framework="TensorFlow (tf_cnn_benchmarks)", device="P100",
                                           interconnect="NVLink (single NVIDIA DGX-1 server)", notes=notes)]))
    pcie = pm.load_interconnect("PCIe 3.0 x16")
    assert rows.link[0] == "PCIe 3.0 x16" and rows.comm_key[0] == ("parameter_server", "pcie")
    assert rows.comm_a[0] == pytest.approx(2 * 25_610_269 * 4 / pcie.bandwidth, rel=1e-9)


# --------------------------------------------------------------------------- issue 22: as the frameworks ran

def test_caffe_1_0_reduces_layer_by_layer_while_backprop_continues():
    # BVLC Caffe 1.0 NCCL<Dtype>::run(layer) (layer_wise_reduce default true): overlapped
    be, why = communication_backend("BVLC Caffe")
    assert (be.name, be.algorithm, be.overlap) == ("nccl", "auto", 1.0) and "layer" in why
    # the pre-1.0 P2PSync tree reduces after the backward pass
    old, _ = communication_backend("BVLC Caffe", "P2PSync")
    assert (old.name, old.algorithm, old.overlap) == ("p2p_tree", "tree", 0.0)


def test_tensorflow_replicated_nccl_is_not_hidden_and_dlbs_defaults_apply():
    be, _ = communication_backend("TensorFlow (tf_cnn_benchmarks)", "variable_update=replicated with NCCL")
    assert (be.name, be.overlap) == ("nccl", 0.0)       # η_comm keyed with NCCL, overlap 0
    # DLBS's tensorflow.json: var_update=replicated, use_nccl=true
    dl, why = communication_backend("TensorFlow (HPE DLBS)")
    assert (dl.name, dl.overlap) == ("nccl", 0.0) and "replicated" in why
    # tf_cnn_benchmarks' own default stays the parameter server
    assert communication_backend("TensorFlow")[0].name == "parameter_server"
    # DLBS for a family it has no rule for: the family's default
    assert communication_backend("PyTorch (DLBS)")[0].name == "nccl"
    assert communication_backend("Caffe2 (HPE DLBS)")[0].overlap == 1.0
    # explicit names of the new variants are accepted
    assert communication_backend(backend="tf_replicated_nccl")[0].overlap == 0.0
    assert communication_backend(backend="caffe_nccl")[0].overlap == 1.0
