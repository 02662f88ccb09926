"""Match the ONNX per-layer table to a real TensorRT per-layer profile, layer by layer.

Data: ``../shared/trtexec_samples/trt84_rtx3090_keras-resnet50_fp16_bs32_json/`` — TensorRT
8.4 on an RTX 3090, Keras ResNet50 exported with tf2onnx, FP16, batch 32, CUDA graph, no
data transfers (``--exportProfile`` and ``--exportLayerInfo``). The ONNX file itself is not
published, so the graph is rebuilt with :func:`plaster_model.onnx_builders.resnet50` in the
Keras configuration (v1: stride on the first 1×1 convolution; conv biases) and Keras node
names, which is the same network layer for layer.

TensorRT fuses: BatchNormalization is folded into the convolution weights, ReLU and the
residual Add run in the convolution's epilogue, so one TensorRT layer such as
``resnet50/conv2_block1_0_conv/Conv2D + resnet50/conv2_block1_add/add +
resnet50/conv2_block1_out/Relu`` holds 4 ONNX nodes (0_conv, 0_bn, add, out). The match
goes by name: an ONNX node ``X`` belongs to the TensorRT layer whose name contains
``resnet50/X/``; a ``*_bn`` node to the layer of its ``*_conv``, and a conv whose own name
is not in the profile (``conv1_conv``, renamed ``Conv__435`` by tf2onnx) to the layer of its
``*_relu``. Reformat, NoOp and Shuffle layers (layout changes TensorRT inserts) hold none.

The fused layer's traffic is what the fused kernel moves: its first node's input, the
parameters and buffers of all its nodes, its last node's output, plus the residual operand
of an Add (half of the Add's input bytes), at 2 bytes per element (FP16).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnx")

from plaster_model.onnx_builders import resnet50  # noqa: E402
from plaster_model.onnx_import import layerwise_time, onnx_layer_table  # noqa: E402

SAMPLE = (Path(__file__).resolve().parents[1].parent / "shared" / "trtexec_samples"
          / "trt84_rtx3090_keras-resnet50_fp16_bs32_json")

#: RTX 3090 (GA102 whitepaper): FP16 tensor-core peak with FP16 accumulation 142 TFLOP/s
#: (71 with FP32 accumulation; the measured 3×3 convolutions reach 79, so TensorRT
#: accumulated in FP16), GDDR6X bandwidth 936 GB/s.
PEAK_FP16 = 142e12
BANDWIDTH = 936e9
_NOT_COMPUTE = {"Reformat", "NoOp", "Shuffle"}


def _ranks(x):
    return np.argsort(np.argsort(np.asarray(x)))


@pytest.fixture(scope="module")
def matched():
    if not SAMPLE.is_dir():
        pytest.skip("../shared/trtexec_samples is absent (third-party data)")
    profile = [r for r in json.loads((SAMPLE / "resnet.onnx.engine.profile.json").read_text())
               if "name" in r]
    ltype = {l["Name"]: l["LayerType"] for l in
             json.loads((SAMPLE / "resnet.onnx.engine.graph.json").read_text())["Layers"]}
    layers = [(r["name"], r["averageMs"] * 1e-3,
               set(re.findall(r"resnet50/([A-Za-z0-9_]+)/", r["name"])))
              for r in profile if ltype.get(r["name"]) not in _NOT_COMPUTE]

    table = onnx_layer_table(resnet50(batch=32, stride_on="1x1", conv_bias=True), batch=32)

    def trt_layer(node):
        cands = [node]
        for suffix in ("_bn", "_conv"):
            if node.endswith(suffix):
                cands += [node[: -len(suffix)] + "_conv", node[: -len(suffix)] + "_relu"]
        for c in cands:
            for i, (_, _, tokens) in enumerate(layers):
                if c in tokens:
                    return i
        return -1

    table["trt"] = [trt_layer(n) for n in table.layer]
    groups = []
    for i, g in table[table.trt >= 0].groupby("trt", sort=True):
        nbytes = (g.param_bytes.sum() + g.buffer_bytes.sum() + g.input_bytes.iloc[0]
                  + g.output_bytes.iloc[-1] + g.input_bytes[g.op_type == "Add"].sum() / 2) / 2
        flops = g.flops.sum()
        groups.append({"trt_layer": layers[i][0], "onnx_nodes": list(g.layer),
                       "flops": flops, "bytes": nbytes,
                       "predicted_s": max(flops / PEAK_FP16, nbytes / BANDWIDTH),
                       "measured_s": layers[i][1]})
    unmatched_trt = [name for i, (name, _, _) in enumerate(layers)
                     if i not in set(table.trt)]
    return table, groups, unmatched_trt, layers


def test_layers_match_by_name(matched):
    table, groups, unmatched_trt, layers = matched
    convs = table[table.op_type == "Conv"]
    # every one of the 53 convolutions (and their BN) lands in a TensorRT layer
    assert len(convs) == 53 and (convs.trt >= 0).all()
    assert (table[table.op_type == "BatchNormalization"].trt >= 0).all()
    # only the Flatten (a view, no TensorRT layer of its own) is left over on the ONNX side
    assert list(table[table.trt < 0].layer) == ["flatten"]
    # TensorRT layers with no ONNX counterpart: Keras' explicit pool1 Pad (the builder pads
    # inside MaxPool) and the Softmax (the builder stops at the logits)
    assert sorted(unmatched_trt) == ["resnet50/pool1_pad/Pad", "resnet50/predictions/Softmax"]
    print(f"\nmatched {len(groups)} of {len(layers)} TensorRT compute layers "
          f"({len(table) - 1} of {len(table)} ONNX nodes); unmatched: {unmatched_trt}")
    assert len(groups) == len(layers) - 2


def test_fused_layer_roofline_tracks_measured_times(matched):
    _, groups, _, _ = matched
    pred = np.array([g["predicted_s"] for g in groups])
    meas = np.array([g["measured_s"] for g in groups])
    rho = np.corrcoef(_ranks(pred), _ranks(meas))[0, 1]
    eff = pred.sum() / meas.sum()  # fraction of the roofline TensorRT reaches overall
    print(f"per-layer roofline at peak: {pred.sum() * 1e3:.3f} ms, measured "
          f"{meas.sum() * 1e3:.3f} ms over the matched layers (overall efficiency "
          f"{eff:.2f}); Spearman rank correlation {rho:.2f}")
    assert rho > 0.7
    assert 0.3 < eff < 1.0  # the roofline at peak is a lower bound on time


def test_unfused_node_roofline_overcounts_traffic(matched):
    # The same table node by node (no fusion, FP16 bytes): BN, ReLU and Add each read and
    # write a full activation, traffic TensorRT's fused kernels never make, so the unfused
    # per-node roofline exceeds even the measured time.
    table, groups, _, _ = matched
    t = table[table.trt >= 0].assign(bytes=lambda d: d.bytes / 2)
    unfused = layerwise_time(t, PEAK_FP16, BANDWIDTH).time_s.sum()
    fused = sum(g["predicted_s"] for g in groups)
    measured = sum(g["measured_s"] for g in groups)
    print(f"unfused per-node roofline {unfused * 1e3:.3f} ms vs fused {fused * 1e3:.3f} ms, "
          f"measured {measured * 1e3:.3f} ms")
    assert unfused > measured > fused
