"""Issue 22 / 26: the gradient exchange as the frameworks ran it, and the gradient bytes
of each precision recipe (one rule: :func:`plaster_model.gradient_bytes_per_element`)."""
from __future__ import annotations

import pytest

import plaster_model as pm

# The HPE Deep Learning Cookbook job, one step: VGG-16 at batch 16 per GPU on 8 × P100 in
# one HPE Apollo 6500 (PCIe 3.0 x16 inside the node), fp32, at the peak (efficiency 1).
HPE = dict(batch_per_device=16, precision="fp32", check_memory=False)


def _cluster():
    return pm.Cluster.from_system("HPE Apollo 6500", n_nodes=1, interconnect="InfiniBand FDR")


def _vgg():
    return pm.load_model("VGG-16")


def test_hpe_job_tensorflow_as_dlbs_ran_it_exposes_the_whole_ring():
    # DLBS ran tf_cnn_benchmarks with variable_update=replicated + NCCL: overlap 0, so
    # T_iter = T_compute + T_ring with T_compute = 3·F·b/γ and, on one node of p = 8,
    # the ring's bandwidth term 2·(p−1)/p · w / β (w = 4 B · P, β = 15.75 GB/s PCIe 3.0 x16).
    m, c = _vgg(), _cluster()
    t = pm.predict_training("VGG-16", c, framework="TensorFlow (HPE DLBS)", **HPE)
    t_compute = 3 * m.fwd_flops * 16 / 10.6e12
    t_ring = 2 * 7 / 8 * 4 * m.params / c.intra_node.bandwidth
    assert t.compute_time_s == pytest.approx(t_compute, rel=1e-9)
    assert t.communication_time_s == pytest.approx(t_ring, rel=0.01)      # + 14 α latency terms
    assert t.iteration_time_s == pytest.approx(t.compute_time_s + t.communication_time_s, rel=1e-9)
    assert any("replicated" in a for a in t.assumptions)


def test_hpe_job_bvlc_caffe_hides_all_but_the_first_layer():
    # BVLC Caffe 1.0 with NCCL reduces layer by layer while backward continues: the ring of
    # everything but the last reduction (≤ 2/3 of T_compute here) hides behind backprop, and
    # the last reduction is the first layer's gradient (conv1_1: 1,792 parameters, 7,168 B;
    # issue 22 changed this on purpose from a 25 MiB bucket, which Caffe never forms):
    # T_iter = T_compute + T_ring(7,168 B) = T_compute + 2·7/8·7,168 B/β + 14 α.
    m, c = _vgg(), _cluster()
    t = pm.predict_training("VGG-16", c, framework="BVLC Caffe (HPE DLBS)", **HPE)
    t_compute = 3 * m.fwd_flops * 16 / 10.6e12
    t_first = 2 * 7 / 8 * 7168 / c.intra_node.bandwidth + 14 * c.intra_node.latency_s
    t_ring = 2 * 7 / 8 * 4 * m.params / c.intra_node.bandwidth
    assert t_ring < 2 / 3 * t_compute          # the window is wide enough
    assert t.exposed_communication_time_s <= t_first * (1 + 1e-9)
    assert t.iteration_time_s == pytest.approx(t_compute + t.exposed_communication_time_s, rel=1e-9)
    assert t.iteration_time_s == pytest.approx(t_compute, rel=1e-3)
    # the pre-1.0 P2PSync tree is serial and slower than the seed-free NCCL answer
    tree = pm.predict_training("VGG-16", c, framework="BVLC Caffe", backend="p2p_tree", **HPE)
    assert tree.iteration_time_s > t.iteration_time_s + 0.5 * t_ring


def test_default_answer_states_the_framework_it_assumed():
    t = pm.predict_training("VGG-16", _cluster(), **HPE)
    named = pm.predict_training("VGG-16", _cluster(), framework="PyTorch", **HPE)
    assert any(a.startswith("framework not named: PyTorch assumed") for a in t.assumptions)
    assert t.iteration_time_s == pytest.approx(named.iteration_time_s, rel=1e-12)
    # one device too (the framework also picks the calibrated per-step cost)
    one = pm.predict_training("VGG-16", pm.Cluster(device="P100", n_devices=1), **HPE)
    assert any(a.startswith("framework not named: PyTorch assumed") for a in one.assumptions)
    # a named seed algorithm is the HPE model, no framework behind it
    tree = pm.predict_training("VGG-16", _cluster(), algorithm="tree", **HPE)
    assert not any(a.startswith("framework not named") for a in tree.assumptions)


@pytest.mark.parametrize("precision, gradient_precision, bytes_per_param", [
    ("mixed", None, 4),     # AMP: fp32 master weights, DDP reduces the fp32 param.grad
    ("fp16", None, 2),      # pure 16-bit training reduces 16-bit gradients
    ("bf16", None, 2),
    ("fp32", None, 4),
    ("mixed", "fp16", 2),   # a 16-bit exchange as an option (DDP fp16 compression hook)
])
def test_gradient_bytes_per_precision_recipe(precision, gradient_precision, bytes_per_param):
    assert pm.gradient_bytes_per_element(precision, gradient_precision) == bytes_per_param
    c = pm.Cluster(device="A100", n_devices=8, devices_per_node=8, intra_node="NVLink 3")
    t = pm.predict_training("ResNet-50", c, 64, precision=precision, gradient_precision=gradient_precision,
                            check_memory=False)
    params = pm.load_model("ResNet-50").params
    assert t.gradient_bytes == pytest.approx(bytes_per_param * params)
    if precision == "mixed" and gradient_precision is None:
        assert any("gradients exchanged in fp32" in a and "AMP" in a for a in t.assumptions)


def test_sweep_uses_the_same_gradient_rule():
    # the sweep's communication for mixed equals fp32's (4 B per parameter), twice fp16's
    df = pm.sweep(models=["ResNet-50"], devices=["V100"], n_devices=[8], batch_per_device=[64],
                  precisions=["mixed", "fp16", "fp32"], interconnects=["NVLink 2"])
    col = next(k for k in df.columns if k.startswith("communication_time"))
    comm = dict(zip(df["precision"], df[col]))
    assert comm["mixed"] == pytest.approx(comm["fp32"], rel=1e-12)
    assert comm["mixed"] == pytest.approx(2 * comm["fp16"], rel=0.05)   # + the same latency terms
