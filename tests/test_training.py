"""predict_training / predict_epoch_time / is_bandwidth_bound against hand derivations."""
import math
import warnings

import pytest
from hypothesis import given, settings, strategies as st

import plaster_model as pm
from plaster_model.training import MemoryWarning


@pytest.fixture
def v100_cluster():
    return pm.Cluster(device="V100", n_devices=64, devices_per_node=8,
                      intra_node="NVLink 2", interconnect="InfiniBand EDR")


def test_issue_example_epoch(v100_cluster):
    # the seed's worked example names its tree all-reduce explicitly (the default is "auto")
    # and runs at the peak (efficiency=1.0; uncalibrated, the default is the per-operator roofline)
    pred = pm.predict_epoch_time("ResNet-50", v100_cluster, dataset="ImageNet-1k",
                                 batch_per_device=64, precision="fp32", scaling="weak", algorithm="tree",
                                 efficiency=1.0)
    # compute: 3 × 7.8e9 FLOP × 64 / 15.7e12 FLOP/s = 0.095388 s per iteration
    assert pred.compute_time_s == pytest.approx(3 * 7.8e9 * 64 / 15.7e12)
    # tree over InfiniBand EDR (100 Gb/s, 64b/66b = 12.12 GB/s... catalog value), 64 devices:
    ib = pm.load_interconnect("InfiniBand EDR")
    w = 25_610_269 * 4
    assert pred.communication_time_s == pytest.approx(2 * math.log2(64) * (w / ib.bandwidth + ib.latency_s))
    # 1,281,167 / (64 × 64) -> 313 iterations (last one full length)
    assert pred.iterations_per_epoch == 313
    assert pred.epoch_time_s == pytest.approx(313 * pred.iteration_time_s)
    assert pred.bound in ("compute", "communication")
    assert any("compute efficiency 1 of peak" in a for a in pred.assumptions)
    df = pred.to_frame()
    assert len(df) == 1 and df.loc[0, "epoch_time_s"] == pred.epoch_time_s


def test_epochs_multiply(v100_cluster):
    one = pm.predict_epoch_time("ResNet-50", v100_cluster, batch_per_device=64)
    ninety = pm.predict_epoch_time("ResNet-50", v100_cluster, batch_per_device=64, epochs=90)
    assert ninety.epoch_time_s == pytest.approx(90 * one.epoch_time_s)
    assert ninety.time_per_epoch_s == pytest.approx(one.epoch_time_s)


def test_vgg16_peak_only_through_the_api():
    # Brief: 3 × 15.5e9 × 1e9 / (8 × 10.6e12) ≈ 152 h, with the slides' 15.5 "GFLOPs".
    # The zoo doubles that (15.5 G are multiply-adds, FLOPs = 2 × MACs), so the same job
    # through the zoo model is 2 × 152.3 = 304.6 h at peak; a model given in the slides'
    # convention reproduces 152 h exactly.
    c = pm.Cluster("P100", 8, devices_per_node=8, intra_node="NVLink 1")
    slides = pm.Model(name="VGG-16 (slides)", params=138_357_544, fwd_flops="15.5 GFLOP",
                      flop_convention="flops", source="HPE slides")
    p = pm.predict_epoch_time(slides, c, dataset="100M images", epochs=10, batch_per_device=16,
                              check_memory=False)
    # 1e8 / 128 = 781,250 iterations per epoch exactly, so no rounding
    assert p.iterations_per_epoch * 10 * p.compute_time_s / 3600 == pytest.approx(152.3, abs=0.1)
    z = pm.predict_epoch_time("VGG-16", c, dataset="100M images", epochs=10, batch_per_device=16,
                              check_memory=False)
    assert z.iterations_per_epoch * 10 * z.compute_time_s / 3600 == pytest.approx(304.6, abs=0.2)


def test_single_device_has_no_communication():
    pred = pm.predict_training("ResNet-50", pm.Cluster("V100", 1), batch_per_device=32)
    assert pred.communication_time_s == 0 and pred.bound == "compute"
    assert pred.throughput_samples_s == pytest.approx(32 / pred.iteration_time_s)


def test_efficiency_scales_compute():
    c = pm.Cluster("V100", 1)
    full = pm.predict_training("ResNet-50", c, 32, efficiency=1.0)
    half = pm.predict_training("ResNet-50", c, 32, efficiency=0.5)
    assert half.compute_time_s == pytest.approx(2 * full.compute_time_s)


def test_precision_changes_peak_and_gradient_bytes(v100_cluster):
    fp32 = pm.predict_training("ResNet-50", v100_cluster, 64, precision="fp32")
    mixed = pm.predict_training("ResNet-50", v100_cluster, 64, precision="mixed")
    assert mixed.peak_flops == 125e12 and fp32.peak_flops == 15.7e12
    # issue 26: AMP keeps fp32 master weights, so DDP reduces fp32 gradients (was fp32 / 2)
    assert mixed.gradient_bytes == fp32.gradient_bytes
    fp16_grads = pm.predict_training("ResNet-50", v100_cluster, 64, precision="mixed", gradient_precision="fp16")
    assert fp16_grads.gradient_bytes == fp32.gradient_bytes / 2


def test_strong_scaling_global_batch():
    c = pm.Cluster("V100", 8, devices_per_node=8, intra_node="NVLink 2")
    p = pm.predict_training("ResNet-50", c, global_batch=1024, scaling="strong")
    assert p.batch_per_device == 128
    with pytest.raises(ValueError, match="contradicts"):
        pm.predict_training("ResNet-50", c, batch_per_device=64, global_batch=1024, scaling="strong")


@pytest.mark.parametrize("kwargs, exc, fragment", [
    (dict(batch_per_device=0), ValueError, "batch_per_device"),
    (dict(batch_per_device=-3), ValueError, "batch_per_device"),
    (dict(batch_per_device=32, precision="fp12"), ValueError, "fp12"),
    (dict(batch_per_device=32, scaling="medium"), ValueError, "scaling"),
    (dict(batch_per_device=32, algorithm="gossip"), ValueError, "gossip"),
])
def test_bad_prediction_input(v100_cluster, kwargs, exc, fragment):
    with pytest.raises(exc, match=fragment):
        pm.predict_training("ResNet-50", v100_cluster, **kwargs)


def test_unsupported_precision_names_device():
    with pytest.raises(ValueError, match="K40"):
        pm.predict_training("ResNet-50", pm.Cluster("K40", 1), 32, precision="fp16")


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(device="V100", n_devices=0), "n_devices"),
    (dict(device="V100", n_devices=-8), "n_devices"),
    (dict(device="V100", n_devices=8.5), "n_devices"),
    (dict(device="V100", n_devices=16, devices_per_node=8, intra_node="NVLink 2"), "interconnect"),
    (dict(device="V100", n_devices=8, devices_per_node=8), "intra_node"),
])
def test_cluster_validation(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        pm.Cluster(**kwargs)


def test_cluster_unknown_names():
    with pytest.raises(KeyError, match="V100"):
        pm.Cluster("V1OO", 1)
    with pytest.raises(KeyError, match="InfiniBand"):
        pm.Cluster("V100", 2, interconnect="Infiniband YDR")  # no such generation (XDR is catalogued)


def test_memory_warning_for_huge_batch():
    # VGG-16 weights+grads+momentum = 138.4e6 × 12 B = 1.66 GB; activations are unknown
    # for VGG-16 in the zoo, so use a user model with 100 MB/sample: 200 × 0.1 GB > 16 GB.
    m = pm.Model(name="big", params=138_357_544, fwd_flops="31 GFLOP", source="test",
                 activation_bytes_per_sample="100 MB")
    with pytest.raises(pm.MemoryFitError, match="exceeds"):
        pm.predict_training(m, pm.Cluster("V100", 1), batch_per_device=200)
    with pytest.warns(MemoryWarning, match="exceeds"):
        pm.predict_training(m, pm.Cluster("V100", 1), batch_per_device=200, allow_oversubscribed=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pm.predict_training(m, pm.Cluster("V100", 1), batch_per_device=100)  # 10 GB + 1.7 GB fits


def test_from_system():
    c = pm.Cluster.from_system("DGX-1 (V100)", n_nodes=4)
    assert (c.n_devices, c.devices_per_node, c.intra_node.name, c.interconnect.name) == (32, 8, "NVLink 2", "InfiniBand EDR")


# --- bandwidth verdict -----------------------------------------------------------------
def test_verdict_fields(v100_cluster):
    v = pm.is_bandwidth_bound("VGG-16", v100_cluster, batch_per_device=16, algorithm="tree")
    assert bool(v) == (v.communication_time_s > v.compute_time_s)
    assert v.comm_to_compute_ratio == pytest.approx(v.communication_time_s / v.compute_time_s)
    assert v.link == "InfiniBand EDR"
    # at the required bandwidth the two times are equal
    ib = pm.load_interconnect("InfiniBand EDR")
    w = 138_357_544 * 4
    t_comm_req = 2 * math.log2(64) * (w / v.required_bandwidth + ib.latency_s)
    assert t_comm_req == pytest.approx(v.compute_time_s, rel=1e-9)


def test_vgg_is_more_bandwidth_bound_than_resnet():
    # brief tip: models with little compute per parameter need the fast interconnect.
    # VGG-16: 31 GFLOP / 138 M params; ResNet-50: 7.8 GFLOP / 25.6 M -> 224 vs 305 FLOP per param.
    flat = pm.Cluster("V100", 16, interconnect="InfiniBand EDR")
    vgg = pm.is_bandwidth_bound("VGG-16", flat, batch_per_device=32, algorithm="tree")
    rn = pm.is_bandwidth_bound("ResNet-50", flat, batch_per_device=32, algorithm="tree")
    assert vgg.comm_to_compute_ratio > rn.comm_to_compute_ratio
    assert vgg.crossover_devices < rn.crossover_devices


def test_k40_pcie_versus_infiniband():
    # brief: K40 (~4 TFLOPS) over PCIe v3 (~16 GB/s) vs InfiniBand (~56 Gb/s = 7 GB/s):
    # the 8x units trap. IB is ~2.3x slower than PCIe 3 here, so it goes bandwidth-bound sooner.
    pcie = pm.is_bandwidth_bound("AlexNet", pm.Cluster("K40", 4, interconnect="PCIe 3.0 x16"), batch_per_device=64)
    ib = pm.is_bandwidth_bound("AlexNet", pm.Cluster("K40", 4, interconnect="InfiniBand FDR"), batch_per_device=64)
    assert ib.communication_time_s / pcie.communication_time_s == pytest.approx(15.7538 / 6.7879, rel=0.05)
    assert ib.crossover_devices < pcie.crossover_devices


def test_crossover_matches_closed_form_without_latency():
    link = pm.Interconnect(name="ideal", bandwidth="7 GB/s", latency_s=0, source="test")
    c = pm.Cluster("V100", 16, interconnect=link)
    v = pm.is_bandwidth_bound("ResNet-50", c, batch_per_device=32, algorithm="tree", efficiency=1.0)
    expected = pm.tree_crossover_devices(7.8e9, 32, 15.7e12, 25_610_269 * 4, 7e9)
    assert v.crossover_devices == pytest.approx(expected, rel=1e-9)
    vs = pm.is_bandwidth_bound("ResNet-50", c, batch_per_device=32, scaling="strong",
                              algorithm="tree", efficiency=1.0)
    expected_s = pm.tree_crossover_devices(7.8e9, 32 * 16, 15.7e12, 25_610_269 * 4, 7e9, scaling="strong")
    assert vs.crossover_devices == pytest.approx(expected_s, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(batch=st.integers(1, 256), beta_gbs=st.floats(0.5, 100.0), model=st.sampled_from(["VGG-16", "ResNet-50", "AlexNet"]))
def test_verdict_flips_exactly_at_crossover(batch, beta_gbs, model):
    link = pm.Interconnect(name="l", bandwidth=beta_gbs * 1e9, latency_s=0, source="test")
    v = pm.is_bandwidth_bound(model, pm.Cluster("V100", 2, interconnect=link), batch_per_device=batch,
                              check_memory=False)
    p_star = v.crossover_devices
    if not math.isfinite(p_star) or p_star > 2**30:
        return
    below, above = math.floor(p_star * (1 - 1e-9)), math.ceil(p_star * (1 + 1e-9))
    if below >= 2:
        assert not pm.is_bandwidth_bound(model, pm.Cluster("V100", below, interconnect=link),
                                         batch_per_device=batch, check_memory=False)
    assert pm.is_bandwidth_bound(model, pm.Cluster("V100", above, interconnect=link),
                                 batch_per_device=batch, check_memory=False)


@settings(max_examples=30, deadline=None)
@given(beta=st.floats(1e8, 1e12), factor=st.floats(1.0, 50.0), p=st.integers(2, 512))
def test_more_bandwidth_never_slower_end_to_end(beta, factor, p):
    slow = pm.Interconnect(name="s", bandwidth=beta, latency_s=1e-6, source="t")
    fast = pm.Interconnect(name="f", bandwidth=beta * factor, latency_s=1e-6, source="t")
    t_slow = pm.predict_training("ResNet-50", pm.Cluster("V100", p, interconnect=slow), 32).iteration_time_s
    t_fast = pm.predict_training("ResNet-50", pm.Cluster("V100", p, interconnect=fast), 32).iteration_time_s
    assert t_fast <= t_slow


def test_str_and_html(v100_cluster):
    pred = pm.predict_epoch_time("ResNet-50", v100_cluster, batch_per_device=64, epochs=90)
    text = str(pred)
    for word in ("total time", "compute", "communication", "bound", "assumptions"):
        assert word in text
    assert "<table>" in pred._repr_html_()


class _FakeCalibration:
    """Stands in for a fitted Calibration: efficiency 0.5 with a 90 % interval 0.4-0.6."""

    def parameters_for(self, **_):
        return {"efficiency": 0.5, "efficiency_interval": (0.4, 0.6), "overhead_s": 0.01,
                "comm_efficiency": 1.0, "notes": ["fake"]}


def test_calibrated_prediction_carries_interval():
    c = pm.Cluster("V100", 1)
    pred = pm.predict_epoch_time("ResNet-50", c, batch_per_device=64, calibration=_FakeCalibration())
    # compute at η: 3 × 7.8e9 × 64 / (η × 15.7e12); iteration adds the 10 ms overhead
    t = lambda eta: 3 * 7.8e9 * 64 / (eta * 15.7e12) + 0.01  # noqa: E731
    assert pred.iteration_time_s == pytest.approx(t(0.5))
    assert pred.iteration_time_interval_s == pytest.approx((t(0.6), t(0.4)))
    row = pred.to_frame().iloc[0]
    assert row["iteration_time_low_s"] == pytest.approx(t(0.6))
    assert row["epoch_time_high_s"] == pytest.approx(pred.iterations_per_epoch * t(0.4))
    assert pred.calibrated and any("fake" in a for a in pred.assumptions)


def test_iteration_broadcasts_every_argument():
    import numpy as np
    from plaster_model.training import data_parallel_iteration
    out = data_parallel_iteration(7.8e9, 25.6e6, np.array([2, 4, 8]), 64, 15e12, 4, 12.5e9,
                                  overhead_s=np.array([0.0, 0.01, 0.02]))
    assert all(np.shape(v) == (3,) for v in out.values())
    # compute 3·7.8e9·64/15e12 s is the same on every row; overhead adds per row
    np.testing.assert_allclose(out["compute_time_s"], 3 * 7.8e9 * 64 / 15e12)
    np.testing.assert_allclose(np.diff(out["iteration_time_s"] - out["communication_time_s"]), [0.01, 0.01])


@pytest.mark.parametrize("algorithm, overlap, overhead", [("tree", 0.0, 0.0), ("auto", 1.0, 0.0),
                                                          ("ring", 0.3, [0.0, 0.01, 0.02])])
def test_iteration_out_is_bit_identical_to_the_returned_dict(algorithm, overlap, overhead):
    """out= (the sweep's path) writes the same bits as the returned dict, for any subset of
    keys, into arrays larger than the inputs' broadcast shape and into int8 codes."""
    import numpy as np
    from plaster_model.estimators.iteration import ITERATION_OUTPUTS
    from plaster_model.training import data_parallel_iteration

    # p (3, 1), b (2,), γ (2, 1, 1) with a NaN (a device without a peak): broadcast (2, 3, 2)
    args = (7.8e9, 25.6e6, np.array([1, 4, 8])[:, None], np.array([16.0, 64.0]),
            np.array([15e12, np.nan])[:, None, None], 4, 12.5e9, 2e-6)
    kw = dict(algorithm=algorithm, overlap=overlap,
              overhead_s=np.reshape(overhead, (-1, 1)) if np.ndim(overhead) else overhead,
              devices_per_node=4, beta_intra=150e9, alpha_intra=1e-6)
    ref = data_parallel_iteration(*args, **kw)
    shape = (2, 2, 3, 2)  # one axis more than the inputs have
    out = {k: np.empty(shape, dtype=np.int8 if k == "communication_bound" else float) for k in ITERATION_OUTPUTS}
    assert data_parallel_iteration(*args, **kw, out=out) is out
    for k in ITERATION_OUTPUTS:
        np.testing.assert_array_equal(out[k], np.broadcast_to(ref[k], shape).astype(out[k].dtype), err_msg=k)
    # one key alone (the throughput needs T_iter: a temporary, not a key of out)
    only = {"throughput_samples_s": np.empty(shape)}
    data_parallel_iteration(*args, **kw, out=only)
    assert list(only) == ["throughput_samples_s"]
    np.testing.assert_array_equal(only["throughput_samples_s"], np.broadcast_to(ref["throughput_samples_s"], shape))
    with pytest.raises(TypeError, match="unknown out key"):
        data_parallel_iteration(*args, **kw, out={"iteration_time": np.empty(shape)})


def test_crossover_beyond_a_networkless_node_is_flagged():
    c = pm.Cluster("K40", 8, devices_per_node=8, intra_node="PCIe 3.0 x16")
    v = pm.is_bandwidth_bound("VGG-16", c, batch_per_device=16)
    assert v.crossover_devices > 8 and "no inter-node interconnect" in v.notes[0]
    assert "no inter-node interconnect" in str(v)


def test_repeated_predictions_are_reused_and_still_warn():
    # a loop over the same configuration reuses the first evaluation (issue 17) ...
    c = pm.Cluster.from_system("DGX-1 (V100)", n_nodes=2)
    a = pm.predict_training("ResNet-50", c, 64, check_memory=False)
    assert pm.predict_training("ResNet-50", c, 64, check_memory=False) is a
    assert pm.predict_training("ResNet-50", c, 32, check_memory=False) is not a
    # ... says a memory warning again on every call, as on the first ...
    for _ in range(2):
        with pytest.warns(pm.MemoryWarning):
            pm.predict_training("ResNet-50", pm.Cluster("K40", 1), 4096,  # 4096 × ~78 MB of activations
                                allow_oversubscribed=True)
    # ... and a new catalog (other objects may stand behind the same names) starts afresh
    try:
        pm.load_catalog([])
        assert pm.predict_training("ResNet-50", c, 64, check_memory=False) is not a
    finally:
        pm.reset_catalog()


def test_a_device_name_is_a_one_device_cluster():
    # a newcomer asks about one GPU by name, as predict_serving takes it: the same answer as
    # the explicit one-device cluster
    a = pm.predict_training("ResNet-50", "V100", 64)
    b = pm.predict_training("ResNet-50", pm.Cluster(device="V100", n_devices=1), 64)
    assert a.throughput_samples_s == b.throughput_samples_s and a.n_devices == 1
    with pytest.raises(pm.ParameterTypeError):
        pm.predict_training("ResNet-50", 42, 64)


def test_uncalibrated_default_is_the_per_operator_roofline_bound():
    """Uncalibrated, a step runs at the per-operator roofline (issue 22): each operator at the
    larger of its FLOPs over the peak of its precision path and its bytes over the memory
    bandwidth. For a memory-bound model the bound sits far below the FLOP-only peak rate:
    compute time = 3·F·b/γ_peak × r_∞ (r_∞ = roofline time / FLOP-only time ≥ 1)."""
    from plaster_model.model_builders.operators import roofline_factor

    c = pm.Cluster("A100", 1)
    for name, r_min in (("ResNet-50", 2.0), ("EfficientNet-B4", 8.0)):
        m = pm.load_model(name)
        r = roofline_factor(m, pm.load_device("A100"), "mixed", "training")
        # BatchNorm/activations/depthwise convolutions are memory-bound against 312 TFLOPS
        assert r > r_min
        pred = pm.predict_training(name, c, 64, precision="mixed")
        assert pred.compute_time_s == pytest.approx(3 * m.fwd_flops * 64 / 312e12 * r, rel=1e-9)
        assert any("per-operator roofline bound" in a for a in pred.assumptions)
        peak = pm.predict_training(name, c, 64, precision="mixed", efficiency=1.0)
        assert peak.throughput_samples_s == pytest.approx(r * pred.throughput_samples_s, rel=1e-9)
