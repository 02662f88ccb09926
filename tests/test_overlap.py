"""The pipelined exchange: when each gradient byte is ready, and what is left after backprop.

Every expected number is derived in the test from the FIFO rule (a single channel serving
buckets in the order backprop releases them) or read from the operator tables' layer sizes.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import plaster_model as pm
from plaster_model.catalog.frameworks import communication_backend
from plaster_model.errors import ParameterError
from plaster_model.estimators.iteration import data_parallel_iteration
from plaster_model.estimators.overlap import gradient_ready_profile, pipelined_exposed_time
from plaster_model.model_builders.operators import operator_layers
from plaster_model.resolution import first_layer_params


def _simulate(t_bwd, comm, tau, sizes, alpha=0.0):
    """Event simulation of one FIFO channel: bucket k released at tau_k·T_bwd, served for
    its share of C plus alpha; the exposed time is the end of the last service after T_bwd."""
    end = 0.0
    for r, g in zip(tau, sizes):
        end = max(end, r * t_bwd) + g * comm + alpha
    return max(0.0, end - t_bwd)


def test_profile_of_a_small_network_by_hand():
    # forward order: layer 1 (work 4, 0 B), layer 2 (work 2, 10 B), layer 3 (work 2, 30 B)
    # backward order 3, 2, 1: layer 3 ready after 2/8, layer 2 after 4/8; layer 1 has no
    # gradient, so no bucket waits for it. Bytes from each bucket on: 40/40, 10/40.
    tau, s = gradient_ready_profile([4, 2, 2], [0, 10, 30])
    assert tau.tolist() == [0.25, 0.5]
    assert s.tolist() == [1.0, 0.25]


def test_bucket_closes_at_its_capacity_and_the_remainder_is_ready_with_its_last_layer():
    # 4 layers of 10 B, equal work; 15 B buckets: {4, 3} (20 B >= 15) then {2, 1} (20 B)
    tau, s = gradient_ready_profile([1, 1, 1, 1], [10, 10, 10, 10], bucket_bytes=15)
    assert tau.tolist() == [0.5, 1.0]
    assert s.tolist() == [1.0, 0.5]
    # 25 B buckets: {4, 3, 2} (30 B) then the partly filled {1} (10 B), ready at the end
    tau, s = gradient_ready_profile([1, 1, 1, 1], [10, 10, 10, 10], bucket_bytes=25)
    assert tau.tolist() == [0.75, 1.0]
    assert s.tolist() == [1.0, 0.25]


@pytest.mark.parametrize("t_bwd, comm, alpha", [(1.0, 0.3, 0.0), (1.0, 1.0, 0.0), (0.5, 2.0, 0.0),
                                                 (1.0, 0.8, 0.01), (2.0, 0.1, 0.05)])
def test_closed_form_equals_an_event_simulation(t_bwd, comm, alpha):
    rng = np.random.default_rng(7)
    work, grads = rng.uniform(0.1, 2.0, 12), rng.uniform(0.0, 5.0, 12)
    tau, s = gradient_ready_profile(work, grads)
    sizes = -np.diff(np.append(s, 0.0))  # each bucket's share of the bytes
    got = float(pipelined_exposed_time(t_bwd, comm, tau, s, per_bucket_s=alpha))
    assert got == pytest.approx(_simulate(t_bwd, comm, tau, sizes, alpha), rel=1e-12, abs=1e-15)


def test_two_bucket_profile_is_the_library_overlap_model_with_o_1():
    # everything but the last bucket ready at once (tau 0), the last bucket c·C at the end:
    # exposed = max(C − T_bwd, c·C); data_parallel_iteration(overlap=1) hides min(T_bwd, C − c·C)
    # with the same all-reduce on both (ring: T ∝ bytes at alpha = 0)
    w, last = 100e6, 25 * 1024 * 1024
    c = last / w
    for batch in (8, 64, 512):
        out = data_parallel_iteration(1e9, w / 4, 4, batch, 10e12, 4, 10e9, algorithm="ring", overlap=1.0,
                                      bucket_bytes=last)
        t_bwd = float(out["compute_time_s"]) * 2 / 3
        exposed = pipelined_exposed_time(t_bwd, float(out["communication_time_s"]), [0.0, 1.0], [1.0, c])
        assert float(exposed) == pytest.approx(float(out["exposed_communication_time_s"]), rel=1e-12)


def test_vgg16_gradient_order_hides_nearly_everything_up_to_the_backward_time():
    # VGG-16's classifier (fc6-8, ~89 % of the 138 M parameters) comes last in the network, so
    # backprop frees it within its first few percent: with C = T_bwd the per-layer pipeline
    # leaves under 1 % of C exposed, at C = 2·T_bwd half of C (only T_bwd can hide). The
    # measured TensorFlow 1.x replicated exposure (~ all of C) is therefore not the gradient
    # order: the framework does not overlap (catalog/frameworks.py TF_REPLICATED_NCCL).
    t = operator_layers("VGG-16")
    tau, s = gradient_ready_profile(2.0 * t["flops"].to_numpy(), 4.0 * t["params"].to_numpy())
    assert float(pipelined_exposed_time(1.0, 1.0, tau, s)) < 0.01
    assert float(pipelined_exposed_time(1.0, 2.0, tau, s)) == pytest.approx(1.0, abs=0.02)
    # the last reduction is conv1_1's gradient: 3·3·3·64 + 64 = 1,792 parameters
    assert s[-1] * 4.0 * t["params"].sum() == pytest.approx(4.0 * 1792)


def test_first_layer_params_from_the_operator_tables():
    assert first_layer_params(pm.load_model("VGG-16")) == 3 * 3 * 3 * 64 + 64
    assert first_layer_params(pm.load_model("ResNet-50")) == 7 * 7 * 3 * 64  # conv1, no bias
    assert first_layer_params(pm.load_model("AlexNet")) == 11 * 11 * 3 * 64 + 64


@pytest.mark.parametrize("framework", ["BVLC Caffe (HPE DLBS)", "Caffe2"])
def test_layer_wise_frameworks_expose_the_first_layer_not_a_bucket(framework):
    # Caffe's layer_wise_reduce and Caffe2's per-gradient chained NCCLAllreduce (reverse
    # parameter order) end with the first layer's gradient: VGG-16's 1,792 parameters, 7,168 B
    be, _ = communication_backend(framework)
    assert be.last_bucket == "first_layer" and be.overlap == 1.0 and be.name == "nccl"
    c = pm.Cluster.from_system("HPE Apollo 6500", n_nodes=1, interconnect="InfiniBand FDR")
    pred = pm.predict_training("VGG-16", c, batch_per_device=64, check_memory=False, framework=framework)
    # with backprop longer than the exchange, only the first layer's reduction (7,168 B against
    # the 553 MB gradient: 1.3e-5 of its bandwidth time, plus the link latencies) stays exposed
    assert pred.communication_time_s < 2 / 3 * pred.compute_time_s
    assert 0 < pred.exposed_communication_time_s < 1e-3 * pred.communication_time_s
    assert any("first layer's gradient exposed" in a for a in pred.assumptions)
    # PyTorch DDP keeps its 25 MiB last bucket: 26,214,400 / (138,357,544 · 4) of the
    # bandwidth-dominated all-reduce time
    ddp = pm.predict_training("VGG-16", c, batch_per_device=64, check_memory=False, framework="PyTorch")
    assert ddp.exposed_communication_time_s == pytest.approx(
        ddp.communication_time_s * 26_214_400 / (138_357_544 * 4), rel=0.05)


def test_bad_profiles_are_refused():
    with pytest.raises(ParameterError, match="gradient_bytes"):
        gradient_ready_profile([1, 1], [1, 1, 1])
    with pytest.raises(ParameterError, match="backward_work"):
        gradient_ready_profile([0, 0], [1, 1])
    with pytest.raises(ParameterError, match="tau"):
        pipelined_exposed_time(1.0, 1.0, [0.5, 1.5], [1.0, 0.5])
    with pytest.raises(ParameterError, match="s"):
        pipelined_exposed_time(1.0, 1.0, [0.5, 1.0], [1.0])
    with pytest.raises(ValueError):
        pipelined_exposed_time(-1.0, 1.0, [1.0], [1.0])
    assert math.isfinite(float(pipelined_exposed_time(1.0, 0.0, [1.0], [1.0])))
