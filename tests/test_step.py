"""The operator-level step model (estimators/step.py) and the zoo's operator tables."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import plaster_model as pm
from plaster_model.estimators.step import (OPTIMIZER_BYTES_PER_PARAM, WINOGRAD_SPEEDUP, class_rates,
                                           operator_class, operator_table, roofline_ratio,
                                           roofline_step_time)
from plaster_model.model_builders.operators import operator_layers, roofline_factor


def _gemm_table(m=64, k=1024, n=1024):
    """One Gemm y = x·W at batch 1: x has k elements, W k×n, y n; 2·k·n FLOPs."""
    return pd.DataFrame({"op_type": ["Gemm"], "kind": ["matmul"], "flops": [2.0 * k * n],
                         "params": [k * n], "input_bytes": [4.0 * k], "output_bytes": [4.0 * n],
                         "bytes": [4.0 * (k + n + k * n)]})


def test_operator_classes():
    assert operator_class("Conv", "matmul") == "dense"
    assert operator_class("Conv", "matmul", groups=32) == "grouped_conv"
    assert operator_class("Conv", "matmul", kernel=3, stride=1) == "winograd_conv"
    assert operator_class("Conv", "matmul", kernel=3, stride=2) == "dense"
    assert operator_class("MatMul", "attention") == "attention"
    assert operator_class("Relu", "elementwise") == "elementwise"
    assert operator_class("MaxPool", "pooling") == "reduction"
    assert operator_class("Reshape", "view") == ""


def test_training_adds_backward_and_optimizer():
    ops = operator_table(_gemm_table(), training=True)
    by = ops.set_index("pass")
    F = 2.0 * 1024 * 1024
    # dX and dW are one GEMM each, as large as the forward one: 3 × the forward FLOPs
    assert by.loc[["forward", "backward_input", "backward_weight"], "flops"].sum() == pytest.approx(3 * F)
    # the optimizer moves 20 B per parameter (SGD momentum: read w, g, m; write w, m, 4 B each)
    assert by.loc["optimizer", "fixed_bytes"] == pytest.approx(20.0 * 1024 * 1024)
    assert OPTIMIZER_BYTES_PER_PARAM[("adam", 4)] == 28.0
    with pytest.raises(ValueError, match="optimizer"):
        operator_table(_gemm_table(), training=True, optimizer="lion")


def test_class_rates_follow_the_precision_path():
    v100 = pm.load_device("V100")
    mixed = class_rates(v100, "mixed")
    # V100 datasheet: 125 TFLOPS tensor, 31.4 TFLOPS vector fp16, 15.7 TFLOPS fp32
    assert mixed["dense"] == pytest.approx(125e12)
    assert mixed["elementwise"] == mixed["grouped_conv"] == pytest.approx(31.4e12)
    assert mixed["winograd_conv"] == pytest.approx(125e12)   # tensor cores: implicit GEMM
    fp32 = class_rates(v100, "fp32")
    assert fp32["dense"] == fp32["elementwise"] == pytest.approx(15.7e12)
    assert fp32["winograd_conv"] == pytest.approx(15.7e12 * 36 / 16)   # F(2x2,3x3): 16 vs 36 multiplies
    assert WINOGRAD_SPEEDUP == 2.25


def test_roofline_of_a_large_gemm_is_its_flops():
    # k = n = 1024 at batch b: compute 2·k·n·b/γ; memory (4kn + 4(k+n)·b)/β. At b = 4096 on
    # γ = 10 TFLOPS, β = 1 TB/s: compute 8.6e9/1e13 = 0.859 ms, memory (4.19e6 + 3.36e7)/1e12
    # = 0.038 ms: compute-bound, ratio 1
    ops = operator_table(_gemm_table())
    rates = {"dense": 1e13}
    t = roofline_step_time(ops, rates, 1e12, [1, 4096])
    assert t[1] == pytest.approx(2 * 1024 * 1024 * 4096 / 1e13)
    # batch 1: the weights (4 MiB) dominate: 4·(1024·1024 + 2048)/1e12 s
    assert t[0] == pytest.approx(4.0 * (1024 * 1024 + 2048) / 1e12)
    assert float(roofline_ratio(ops, rates, 1e12)) == pytest.approx(1.0)   # slopes: compute-bound


def test_zoo_operator_tables_count_resnet50():
    t = operator_layers("ResNet-50")
    ops = operator_table(t)
    counts = ops["op_class"].value_counts().to_dict()
    # 53 convolutions: 13 are 3×3 stride 1 (16 bottlenecks, 3 with stride 2 on the 3×3 in
    # the v1.5 layout the builder writes), 40 others + 1 FC; 53 BN + 49 ReLU + 16 adds; 2 pools
    assert counts == {"dense": 41, "winograd_conv": 13, "elementwise": 118, "reduction": 2}
    # EfficientNet-B0 has one depthwise convolution in each of its 16 MBConv blocks
    eff = operator_table(operator_layers("EfficientNet-B0"))
    assert int((eff["op_class"] == "grouped_conv").sum()) == 16
    assert operator_layers("not a model") is None


def test_roofline_factor_physics():
    v100 = pm.load_device("V100")
    r = lambda m, q, ph="training", e=None: roofline_factor(pm.load_model(m), v100, q, ph, e)  # noqa: E731
    # mixed precision cannot run BatchNorm/ReLU on the tensor cores: ResNet-50's ratio rises
    assert r("ResNet-50", "mixed") > 2 * r("ResNet-50", "fp32")
    # depthwise convolutions and squeeze-excitation: EfficientNet is far from its FLOPs
    assert r("EfficientNet-B0", "fp32") > 4 * r("ResNet-50", "fp32")
    # a fusing engine drops the element-wise operators' own traffic
    assert r("ResNet-50", "fp16", "inference", "tensorrt") < r("ResNet-50", "fp16", "inference", "framework")
    # unknown operators: the FLOPs are all the model knows
    toy = pm.Model(name="toy", params=10, fwd_flops="1 GFLOP", source="hand")
    assert roofline_factor(toy, v100, "fp32") == 1.0


def test_calibration_parameter_table_names_every_parameter():
    rows = []
    for b in (16, 32, 64, 128):
        c = pm.Cluster("V100", 1)
        p = pm.predict_training("ResNet-50", c, b, efficiency=0.4, overhead_s=0.01, check_memory=False)
        rows.append({"source": "synthetic", "model": "ResNet-50", "framework": "PyTorch", "device": "V100",
                     "n_devices": 1, "devices_per_node": 1, "precision": "fp32", "batch_per_device": b,
                     "phase": "training", "metric": "throughput_img_s", "value": p.throughput_samples_s})
    cal = pm.Calibration(n_bootstrap=0).fit(pd.DataFrame(rows))
    pt = cal.parameter_table_.set_index("name")
    assert {"eta[V100|fp32|training]", "overhead_s[V100|fp32|training]", "kappa[ResNet-50|training]"} <= set(pt.index)
    assert pt.loc["eta[V100|fp32|training]", "status"] == "fitted"
    assert pt.loc["eta[V100|fp32|training]", "n_rows"] == 4
    # a training group's memory-efficiency slot is not a parameter of the model
    assert pt.loc["memory_efficiency[V100|fp32|training]", "status"] == "unused"
    # the round trip: η·κ is a fraction of the roofline, parameters_for gives back 0.4 of the peak
    assert cal.parameters_for("V100", "fp32", "ResNet-50")["efficiency"] == pytest.approx(0.4, rel=0.02)
    assert "parameters:" in cal.summary()
    assert math.isfinite(pt.loc["eta[V100|fp32|training]", "value"])
    assert np.all(pt["lower"] <= pt["value"] + 1e-12)
