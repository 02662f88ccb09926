"""Inference entry points: one name for batch lists, the inference memory fit, whole batches
(issue 12, defects 3 and 8)."""
import pytest

import plaster_model as pm
from plaster_model.inference.api import INFERENCE_LIVE_ACTIVATION_FRACTION


# --------------------------------------------------------------------------- batches / batch_sizes
def test_curve_accepts_batch_sizes_alias():
    a = pm.latency_throughput_curve("ResNet-50", "T4", precision="int8", batches=[1, 8, 64])
    b = pm.latency_throughput_curve("ResNet-50", "T4", precision="int8", batch_sizes=[1, 8, 64])
    assert b["batch"].tolist() == [1, 8, 64]
    assert b["latency_s"].tolist() == a["latency_s"].tolist()


def test_curve_refuses_both_names():
    with pytest.raises(pm.ParameterError, match="batch_sizes.*not both"):
        pm.latency_throughput_curve("ResNet-50", "T4", batches=[1], batch_sizes=[2])


def test_best_batch_accepts_batch_sizes_alias():
    a = pm.best_batch("ResNet-50", "T4", "7 ms", "int8", batches=[1, 2, 4, 8, 16])
    b = pm.best_batch("ResNet-50", "T4", "7 ms", "int8", batch_sizes=[1, 2, 4, 8, 16])
    assert (a.batch, a.latency_s) == (b.batch, b.latency_s)
    with pytest.raises(pm.ParameterError, match="not both"):
        pm.best_batch("ResNet-50", "T4", "7 ms", "int8", batches=[1], batch_sizes=[1])


def test_runners_take_batches_and_the_old_name():
    pytest.importorskip("onnxruntime")
    from plaster_model.onnx_builders import tiny_mlp

    new = pm.measure.onnxruntime(tiny_mlp(), batches=[1, 2], n_warmup=0, n_runs=2)
    old = pm.measure.onnxruntime(tiny_mlp(), batch_sizes=[1, 2], n_warmup=0, n_runs=2)
    assert sorted(set(new["batch_per_device"])) == sorted(set(old["batch_per_device"])) == [1, 2]
    with pytest.raises(pm.ParameterError, match="not both"):
        pm.measure.onnxruntime(tiny_mlp(), batches=[1], batch_sizes=[1])
    with pytest.raises(pm.ParameterError, match="not both"):  # refused before any file is read
        pm.measure.trtexec("absent.onnx", batches=[1], batch_sizes=[1])


# --------------------------------------------------------------------------- memory fit
def test_resnet50_fp32_batch256_fits_a_v100_at_inference():
    # Inference holds weights once and the live activations, not the training set:
    #   weights: 25,610,269 params × 4 B = 102,441,076 B
    #   live activations per sample: the largest layer's inputs + output, a conv2_x residual
    #   Add (two 56×56×256 inputs, one output) = 3 × 802,816 elements = 9,633,792 B at fp32;
    #   the zoo has ResNet-50's training figure (80.1 MB), of which that is 2,408,448 /
    #   20,023,272 = 0.1203.
    #   batch 256: 102.4 MB + 256 × 0.1203 × 80.1 MB = 2.569 GB < 16 GB (V100 16 GB).
    # (The old rule, 102.4 MB + 256 × 80.1 MB = 20.6 GB, reported it as not fitting.)
    f = pm.model_footprint("ResNet-50", "V100", "fp32", batch=256)
    live = 2_408_448 / 20_023_272 * 80.1e6
    assert f["activation_bytes"] == pytest.approx(256 * live)
    assert f["memory_needed_bytes"] == pytest.approx(102_441_076 + 256 * live)
    assert f["memory_needed_bytes"] == pytest.approx(2.569e9, rel=1e-3)
    assert f["fits_in_memory"] is True
    row = pm.latency_throughput_curve("ResNet-50", "V100", batches=[256]).iloc[0]
    assert bool(row["fits_in_memory"]) and row["memory_needed_bytes"] == pytest.approx(f["memory_needed_bytes"])


def test_live_fraction_matches_the_code_built_resnet50_layer_table():
    # The constant is the ONNX graph's peak (inputs + output of one layer) over the zoo's
    # training element count; recomputed here from plaster_model.onnx_builders.resnet50.
    pytest.importorskip("onnx")
    from plaster_model.onnx_builders import resnet50
    from plaster_model.onnx_import import model_from_onnx

    m = model_from_onnx(resnet50(stride_on="1x1"))
    t = m.layers
    peak = float((t["input_bytes"] + 4 * t["output_elements"]).max()) / t.attrs["batch"]
    assert peak == 4 * 3 * 56 * 56 * 256
    assert INFERENCE_LIVE_ACTIVATION_FRACTION == pytest.approx(peak / 4 / 20_023_272)
    # a model with a layer table uses its own peak, at the precision's element size (fp16: 2 B)
    f = pm.model_footprint(m, "V100", "fp16", batch=10)
    assert f["activation_bytes"] == pytest.approx(10 * peak / 2)


# --------------------------------------------------------------------------- whole batches
@pytest.mark.parametrize("call", [
    lambda: pm.latency_throughput_curve("ResNet-50", "T4", batches=[0.5]),
    lambda: pm.best_batch("ResNet-50", "T4", "7 ms", batches=[0.5, 1]),
    lambda: pm.model_footprint("ResNet-50", "T4", batch=0.5),
    lambda: pm.latency_throughput_curve("ResNet-50", "T4", batches=[1.5]),
])
def test_fractional_batch_refused(call):
    with pytest.raises(pm.ParameterError, match="whole numbers"):
        call()
