"""Memory fit: weights + gradients + optimizer state + activations + workspace."""
import math
import warnings

import pytest

import plaster_model as pm
from plaster_model.estimators.memory import DEFAULT_WORKSPACE_BYTES, OPTIMIZER_STATE_COPIES
from plaster_model.training import MemoryWarning


def resnet50_saved_elements(v15=False):
    """Activation elements per 224×224 sample that ResNet-50 keeps for the backward pass.

    Derivation (the rule of PyTorch/TensorFlow with BatchNorm and ReLU in place): a
    convolution keeps its input, BatchNorm its input (= the conv output), ReLU its output,
    and a residual add nothing. The tensors alive at the end of the forward pass are:

    * the input image, 3·224·224;
    * the stem: conv1 output and its ReLU output, 64·112·112 each, and the max-pool output
      64·56·56;
    * per bottleneck block (widths 64/128/256/512, ×4 out, blocks 3/4/6/3 at 56/28/14/7 px):
      conv1 output + ReLU output (width ch), conv2 output + ReLU output (width ch), conv3
      output (4·width ch), the block output after add + ReLU (4·width ch), and in the first
      block of a stage the projection shortcut's conv output (4·width ch). v1 applies the
      stride in conv1 (so conv1 runs at the output size), v1.5 in conv2 (conv1 at the input
      size);
    * the pooled 2048 features and the 1000 logits.
    """
    total = 3 * 224 * 224 + 2 * 64 * 112 * 112 + 64 * 56 * 56
    hw = 56
    for blocks, width, stride in [(3, 64, 1), (4, 128, 2), (6, 256, 2), (3, 512, 2)]:
        for i in range(blocks):
            s = stride if i == 0 else 1
            out_hw = hw // s
            hw1 = hw if (v15 or s == 1) else out_hw
            total += 2 * width * hw1 * hw1          # conv1 output + ReLU output
            total += 2 * width * out_hw * out_hw    # conv2 output + ReLU output
            total += 4 * width * out_hw * out_hw    # conv3 output
            total += 4 * width * out_hw * out_hw    # block output (add, ReLU in place)
            if i == 0:
                total += 4 * width * out_hw * out_hw  # projection shortcut conv output
            hw = out_hw
    return total + 2048 + 1000


def test_resnet50_activation_figure_derivation():
    # 20,023,272 fp32 elements = 80.09 MB (v1); v1.5: 21,076,968 = 84.31 MB
    assert resnet50_saved_elements() == 20_023_272
    assert resnet50_saved_elements(v15=True) == 21_076_968
    assert pm.load_model("ResNet-50").activation_bytes_per_sample == pytest.approx(4 * 20_023_272, rel=1e-3)
    assert pm.load_model("ResNet-50 v1.5").activation_bytes_per_sample == pytest.approx(4 * 21_076_968, rel=1e-3)


@pytest.mark.parametrize("stride_on, v15", [("1x1", False), ("3x3", True)])
def test_activation_count_matches_the_code_built_onnx_resnet50(stride_on, v15):
    # the same rule applied to the ONNX graph of plaster_model.onnx_builders.resnet50:
    # input + every Conv output + ReLU outputs that are not block outputs (ReLU after Add)
    # + block outputs (= Add outputs) + max-pool + pooled features + logits
    pytest.importorskip("onnx")
    from plaster_model.onnx_builders import resnet50
    from plaster_model.onnx_import import onnx_layer_table

    t = onnx_layer_table(resnet50(stride_on=stride_on), batch=1)
    out = t.groupby("op_type")["output_elements"].sum()
    blocks = out["Add"]
    total = 3 * 224 * 224 + out["Conv"] + (out["Relu"] - blocks) + blocks + out["MaxPool"] \
        + out["GlobalAveragePool"] + out["Gemm"]
    assert total == resnet50_saved_elements(v15=v15)


def test_resnet50_fp32_momentum_batch_on_16gb_is_in_the_published_range():
    # 16 GB V100 (16e9 B, the datasheet figure): fixed part = 25,610,269 × (4 + 4 + 4) B
    # (weights, gradients, momentum) = 0.307 GB, plus the 1 GiB workspace; activations
    # 80.1 MB per sample -> b_max = floor((16e9 − 0.307e9 − 1.074e9) / 80.1e6) = 182.
    P = 25_610_269
    expected = math.floor((16e9 - 12 * P - DEFAULT_WORKSPACE_BYTES) / 80.1e6)
    b = pm.max_batch_that_fits("ResNet-50", "V100", "fp32", "momentum")
    assert b == expected == 182
    # Published fp32 batches on 16 GB V100s: MXNet 96, PyTorch 112 (NVIDIA DLE, DGX-1 16G),
    # TF 128 (NVIDIA DLE / tf_cnn_benchmarks): all must fit, and the maximum stays below
    # 256, the fp32 batch nobody runs on a 16 GB card (frameworks keep headroom).
    assert 128 <= b < 256
    b15 = pm.max_batch_that_fits("ResNet-50 v1.5", "V100", "fp32", "momentum")
    assert 128 <= b15 < 256 and b15 < b
    # AMP: NVIDIA DLE trains RN50 v1.5 at 256 per 16 GB V100 -> it must fit (fp16 activations)
    amp = pm.max_batch_that_fits("ResNet-50 v1.5", "V100", "mixed", "momentum")
    assert 256 <= amp < 512
    # mixed keeps 2 + 2 + 4 (master) + 4 (momentum) = 12 B/param, like fp32
    assert amp == math.floor((16e9 - 12 * 25_557_032 - 2**30) / (84.3e6 / 2))


def test_optimizer_state_and_device_size_order_batches():
    b = {opt: pm.max_batch_that_fits("ResNet-50", "V100", "fp32", opt) for opt in ("sgd", "momentum", "adam")}
    assert b["sgd"] >= b["momentum"] >= b["adam"]
    # Adam keeps 2 fp32 moments: 4 more bytes per parameter than momentum = 102 MB ≈ 1.3 samples
    assert b["momentum"] - b["adam"] == pytest.approx(4 * 25_610_269 / 80.1e6, abs=1)
    assert pm.max_batch_that_fits("ResNet-50", "V100-32GB", "fp32") > 2 * b["momentum"]
    assert OPTIMIZER_STATE_COPIES["adam"] == 2 and OPTIMIZER_STATE_COPIES["momentum"] == 1


def test_breakdown_components():
    br = pm.training_memory_breakdown("ResNet-50", "fp32", 64, "adam")
    P = 25_610_269
    assert br["weights_bytes"] == br["gradients_bytes"] == 4 * P
    assert br["optimizer_bytes"] == 8 * P
    assert br["activations_bytes"] == pytest.approx(64 * 80.1e6)
    assert br["workspace_bytes"] == 2**30
    assert br["total_bytes"] == pytest.approx(sum(v for k, v in br.items() if k != "total_bytes"))
    mixed = pm.training_memory_breakdown("ResNet-50", "mixed", 64, "adam")
    assert mixed["weights_bytes"] == 2 * P and mixed["optimizer_bytes"] == 12 * P  # 2 moments + master
    assert mixed["activations_bytes"] == pytest.approx(br["activations_bytes"] / 2)


def test_large_model_holds_small_batches_only():
    # brief tip: one GPU holds only small batches of a large model. 1.3 B parameters with
    # Adam need 16 B/param = 20.8 GB > 16 GB: nothing fits; 300 M parameters leave room for few.
    big = pm.Model(name="1.3B", params=1_300_000_000, fwd_flops="2.6 TFLOP", source="test",
                   activation_bytes_per_sample="500 MB")
    assert pm.max_batch_that_fits(big, "V100", "fp32", "adam") == 0
    mid = pm.Model(name="300M", params=300_000_000, fwd_flops="0.6 TFLOP", source="test",
                   activation_bytes_per_sample="500 MB")
    # (16e9 − 16·3e8 − 2^30) / 5e8 = 20.2
    assert pm.max_batch_that_fits(mid, "V100", "fp32", "adam") == 20


def test_missing_activation_figure_is_an_error_not_a_guess():
    with pytest.raises(ValueError, match="activation_bytes_per_sample"):
        pm.max_batch_that_fits("VGG-16", "V100")
    assert pm.max_batch_that_fits("VGG-16", "V100", activation_bytes_per_sample="100 MB") == math.floor(
        (16e9 - 12 * 138_357_544 - 2**30) / 100e6)


def test_predict_training_raises_or_warns_with_the_largest_batch():
    # issue 26: a configuration that does not fit is refused by default (it used to warn and
    # answer); allow_oversubscribed=True (or check_memory="warn") keeps the old behaviour
    c = pm.Cluster("V100", 1)
    with pytest.raises(pm.MemoryFitError, match="largest batch that fits is 182") as err:
        pm.predict_training("ResNet-50", c, batch_per_device=256)
    # 256 × 80.1 MB + 12 B × 25,610,269 + 1 GiB = 21.89 GB against 16 GB
    assert err.value.excess_bytes == pytest.approx(256 * 80.1e6 + 12 * 25_610_269 + 2**30 - 16e9, rel=1e-9)
    assert isinstance(err.value, pm.PlasterError) and isinstance(err.value, ValueError)
    with pytest.warns(MemoryWarning, match="largest batch that fits is 182"):
        pm.predict_training("ResNet-50", c, batch_per_device=256, allow_oversubscribed=True)
    with pytest.warns(MemoryWarning, match="exceeds"):
        pm.predict_training("ResNet-50", c, batch_per_device=256, check_memory="warn")
    with pytest.raises(pm.MemoryFitError, match="exceeds"):
        pm.predict_training("ResNet-50", c, batch_per_device=256, check_memory="error")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pred = pm.predict_training("ResNet-50", c, batch_per_device=182, check_memory="error")
    assert pred.memory_per_device_bytes <= 16e9
    with pytest.raises(ValueError, match="check_memory"):
        pm.predict_training("ResNet-50", c, batch_per_device=32, check_memory="maybe")


def test_training_memory_bytes_is_vectorized_and_unchanged():
    # the seed signature: P·2·s + P·4·k + b·a·s/4 + workspace
    import numpy as np

    out = pm.training_memory_bytes(25.6e6, np.array([0, 64]), 80e6, 4, "momentum")
    np.testing.assert_allclose(out, [12 * 25.6e6, 12 * 25.6e6 + 64 * 80e6])
    with pytest.raises(ValueError, match="optimizer"):
        pm.training_memory_bytes(1e6, 1, optimizer="sgdd")
