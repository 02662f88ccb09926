"""ONNX import: per-layer counts checked against hand derivations (models built in code).

Convention everywhere: FLOPs = 2 × MACs for Conv/Gemm/MatMul (the bias rides in the
2·MACs: K products + bias = K multiplies + K adds), element-wise FLOPs per
``plaster_model.onnx_import``'s table.
"""
from __future__ import annotations

import math
import sys
import warnings

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from plaster_model.onnx_builders import (  # noqa: E402
    resnet50, resnet_basic_block, tiny_cnn, tiny_mlp, tiny_mlp_conv)
from plaster_model.onnx_import import (  # noqa: E402
    _from_onnx, layerwise_summary, layerwise_time, model_from_onnx, model_to_yaml,
    onnx_layer_table)

F32 = TensorProto.FLOAT


def _init(name, shape, value=None):
    arr = np.full(shape, 0.01 if value is None else value, dtype=np.float32)
    return numpy_helper.from_array(arr, name)


def _model(nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(nodes, "t", inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def _vi(name, shape, et=F32):
    return helper.make_tensor_value_info(name, et, shape)


def _row(table, layer):
    return table.set_index("layer").loc[layer]


# --------------------------------------------------------------------------- Conv ----
def test_grouped_conv_hand_count():
    # Cin=32, Cout=64, k=3×3, groups=4, 56×56 input, pad 1, stride 1 → 56×56 output.
    # Each output element is a dot product over Cin/groups · k·k = 8·9 = 72 inputs:
    # MACs = N · 56·56 · 64 · (32/4) · 9 = N · 3136 · 4608 = N · 14,450,688. Weight [64, 8, 3, 3] = 4608, bias 64.
    n = 2
    m = _model([helper.make_node("Conv", ["x", "w", "b"], ["y"], name="gconv", group=4,
                                 kernel_shape=[3, 3], pads=[1, 1, 1, 1])],
               [_vi("x", ["N", 32, 56, 56])], [_vi("y", ["N", 64, 56, 56])],
               [_init("w", (64, 8, 3, 3)), _init("b", (64,))])
    r = _row(onnx_layer_table(m, batch=n), "gconv")
    macs = n * 56 * 56 * 64 * (32 // 4) * 9
    assert r.macs == macs == 28_901_376
    assert r.flops == 2 * macs
    assert r.params == 64 * 8 * 9 + 64
    assert r.param_bytes == 4 * 4672
    assert r.input_bytes == 4 * n * 32 * 56 * 56
    assert r.output_bytes == 4 * n * 64 * 56 * 56
    assert r.bytes == r.param_bytes + r.input_bytes + r.output_bytes
    assert r.arithmetic_intensity == pytest.approx(r.flops / r.bytes)
    assert r.output_shape == (n, 64, 56, 56)


def test_conv_stride_dilation():
    # stride 2, dilation 2, pad 2, k=3: out = floor((56 + 4 - 2·(3-1) - 1)/2) + 1 = 28.
    # MACs = 28·28 · 16 · 8 · 9 (no groups, Cin = 8).
    m = _model([helper.make_node("Conv", ["x", "w"], ["y"], name="c", kernel_shape=[3, 3],
                                 strides=[2, 2], dilations=[2, 2], pads=[2, 2, 2, 2])],
               [_vi("x", [1, 8, 56, 56])], [_vi("y", None)], [_init("w", (16, 8, 3, 3))])
    r = _row(onnx_layer_table(m), "c")
    assert r.output_shape == (1, 16, 28, 28)
    assert r.macs == 28 * 28 * 16 * 8 * 9


def test_conv_transpose():
    # ConvTranspose scatters each input element into Cout/groups · k·k outputs:
    # X [1, 16, 14, 14], W [16, 8, 4, 4], stride 2 → MACs = 16·14·14 · 8·4·4.
    m = _model([helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], name="up",
                                 kernel_shape=[4, 4], strides=[2, 2], pads=[1, 1, 1, 1])],
               [_vi("x", [1, 16, 14, 14])], [_vi("y", None)],
               [_init("w", (16, 8, 4, 4)), _init("b", (8,))])
    r = _row(onnx_layer_table(m), "up")
    assert r.output_shape == (1, 8, 28, 28)
    assert r.macs == 16 * 14 * 14 * 8 * 16
    assert r.params == 16 * 8 * 16 + 8


# --------------------------------------------------------------------------- Gemm ----
@pytest.mark.parametrize("trans_a", [0, 1])
def test_gemm_with_bias(trans_a):
    # Y[4, 50] = A[4, 100] · Bᵀ (B stored [50, 100], transB=1) + C[50]:
    # MACs = M·N·K = 4·50·100 = 20,000; params 50·100 + 50 = 5,050.
    a_shape = [100, 4] if trans_a else [4, 100]
    m = _model([helper.make_node("Gemm", ["a", "w", "c"], ["y"], name="fc", transA=trans_a,
                                 transB=1)],
               [_vi("a", a_shape)], [_vi("y", [4, 50])], [_init("w", (50, 100)), _init("c", (50,))])
    r = _row(onnx_layer_table(m), "fc")
    assert (r.macs, r.flops, r.params) == (20_000, 40_000, 5_050)
    assert r.output_shape == (4, 50)


# ------------------------------------------------------------------------- MatMul ----
def test_batched_matmul_broadcasting():
    # A [2, 1, 8, 16] × B [3, 16, 4] → batch dims broadcast (2,1)×(3,) = (2, 3):
    # Y [2, 3, 8, 4], MACs = 2·3 · 8·4 · 16 = 3,072; both operands activations: no params.
    m = _model([helper.make_node("MatMul", ["a", "b"], ["y"], name="bmm")],
               [_vi("a", [2, 1, 8, 16]), _vi("b", [3, 16, 4])], [_vi("y", None)])
    r = _row(onnx_layer_table(m, batch=2), "bmm")
    assert r.output_shape == (2, 3, 8, 4)
    assert r.macs == 2 * 3 * 8 * 4 * 16 == 3072
    assert r.params == 0
    assert r.input_bytes == 4 * (2 * 8 * 16 + 3 * 16 * 4)


def test_matmul_vector_and_linear_bias():
    # 1-D A [16] × B [16, 4] → Y [4]: 4 dot products of length 16 = 64 MACs.
    # A PyTorch Linear export: MatMul(x, Wᵀ) + Add(bias): the bias Add counts N·out FLOPs
    # and its 4 elements are parameters; a Reshape's int64 shape is a buffer, not a param.
    shape = numpy_helper.from_array(np.array([1, 4], dtype=np.int64), "shape")
    m = _model([helper.make_node("MatMul", ["v", "w"], ["y"], name="mv"),
                helper.make_node("Add", ["y", "bias"], ["z"], name="bias_add"),
                helper.make_node("Reshape", ["z", "shape"], ["out"], name="reshape")],
               [_vi("v", [16])], [_vi("out", None)],
               [_init("w", (16, 4)), _init("bias", (4,)), shape])
    t = onnx_layer_table(m)
    assert _row(t, "mv").macs == 64
    assert _row(t, "bias_add").flops == 4 and _row(t, "bias_add").params == 4
    rs = _row(t, "reshape")
    assert rs.params == 0 and rs.buffer_bytes == 16 and rs.flops == 0 and rs.bytes == 0
    assert model_from_onnx(m).params == 16 * 4 + 4


def test_weights_through_constant_folded_nodes():
    # PyTorch's exporters write Linear as MatMul(x, Transpose(W)) and a missing conv bias as
    # Expand(CastLike(0.0, x), Shape(W)[:1]): nodes on constants only, folded at load time.
    # Their rows cost nothing; the MatMul's parameters are W's 32·16 = 512 elements (once),
    # and the synthesized zero bias (from a scalar) is no parameter.
    nodes = [helper.make_node("Transpose", ["W"], ["Wt"], name="w_t", perm=[1, 0]),
             helper.make_node("MatMul", ["x", "Wt"], ["h"], name="linear"),
             helper.make_node("Shape", ["cw"], ["cw_shape"], name="shape", start=0, end=1),
             helper.make_node("CastLike", ["zero", "x"], ["zero_like"], name="castlike"),
             helper.make_node("Expand", ["zero_like", "cw_shape"], ["cb"], name="expand"),
             helper.make_node("Reshape", ["h", "hw"], ["img"], name="to_img"),
             helper.make_node("Conv", ["img", "cw", "cb"], ["y"], name="conv", kernel_shape=[1, 1])]
    hw = numpy_helper.from_array(np.array([4, 16, 2, 1], np.int64), "hw")
    zero = numpy_helper.from_array(np.array(0.0, np.float32), "zero")
    m = _model(nodes, [_vi("x", [4, 16])], [_vi("y", None)],
               [_init("W", (32, 16)), _init("cw", (8, 16, 1, 1)), hw, zero])
    t = onnx_layer_table(m, batch=4).set_index("layer")
    assert set(t.loc[["w_t", "shape", "castlike", "expand"], "kind"]) == {"constant"}
    assert (t.loc[["w_t", "shape", "castlike", "expand"], ["flops", "bytes"]].to_numpy() == 0).all()
    assert t.loc["linear", "macs"] == 4 * 32 * 16 and t.loc["linear", "params"] == 512
    assert t.loc["linear", "input_bytes"] == 4 * 4 * 16  # x only; the weight is a parameter
    assert t.loc["conv", "params"] == 8 * 16
    assert model_from_onnx(m).params == 512 + 128


# --------------------------------------------------------------------------- RNNs ----
def test_lstm_hand_count():
    # LSTM, seq T=10, batch N=2, input I=16, hidden H=32, one direction, gates G=4.
    # Per step and sample the gate pre-activations W·x + R·h are G·H = 128 dot products of
    # length I + H = 48: MACs = T·N·dirs·G·H·(I+H) = 10·2·1·4·32·48 = 122,880.
    # FLOPs = 2·MACs + T·N·H·(4 second-bias adds [B holds Wb and Rb; one rides in 2·MACs]
    #         + 9 [3 sigmoids × 3] + 1 [tanh g] + 3 [f⊙c + i⊙g] + 1 [tanh c] + 1 [o⊙])
    #       = 245,760 + 20·32·19 = 257,920.
    # Params W [1,128,16] + R [1,128,32] + B [1,256] = 2048 + 4096 + 256 = 6,400, which is
    # torch.nn.LSTM(16, 32)'s 4·32·(16+32) + 2·4·32.
    T, N, I, H = 10, 2, 16, 32
    m = _model([helper.make_node("LSTM", ["x", "W", "R", "B"], ["y", "yh", "yc"], name="lstm",
                                 hidden_size=H)],
               [_vi("x", [T, N, I])], [_vi("y", None), _vi("yh", None), _vi("yc", None)],
               [_init("W", (1, 4 * H, I)), _init("R", (1, 4 * H, H)), _init("B", (1, 8 * H))])
    r = _row(onnx_layer_table(m), "lstm")
    assert r.macs == T * N * 1 * 4 * H * (I + H) == 122_880
    assert r.flops == 2 * 122_880 + T * N * H * 19 == 257_920
    assert r.params == 6_400
    assert r.output_shape == (T, 1, N, H)
    assert r.output_bytes == 4 * (T * N * H + N * H + N * H)
    ort = pytest.importorskip("onnxruntime")
    s = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    y = s.run(None, {"x": np.ones((T, N, I), np.float32)})[0]
    assert y.shape == r.output_shape


def test_gru_bidirectional():
    # GRU (G=3), bidirectional, T=5, N=3, I=8, H=16:
    # MACs = 5·3·2·3·16·(8+16) = 34,560; e = 3 (second bias) + 6 (2 sigmoids) + 1 (r⊙)
    # + 1 (tanh) + 4 (output blend) = 15 → FLOPs = 69,120 + 5·3·2·16·15 = 76,320.
    # Params 2·(3·16·8 + 3·16·16 + 6·16) = 2,496 = torch.nn.GRU(8, 16, bidirectional=True).
    m = _model([helper.make_node("GRU", ["x", "W", "R", "B"], ["y"], name="gru",
                                 hidden_size=16, direction="bidirectional")],
               [_vi("x", [5, 3, 8])], [_vi("y", None)],
               [_init("W", (2, 48, 8)), _init("R", (2, 48, 16)), _init("B", (2, 96))])
    r = _row(onnx_layer_table(m), "gru")
    assert (r.macs, r.flops, r.params) == (34_560, 76_320, 2_496)


# ------------------------------------------------------------------ element-wise ----
def test_elementwise_normalization_pooling_counts():
    # x [1, 4, 8, 8] = 256 elements.
    nodes = [
        helper.make_node("Sigmoid", ["x"], ["s"], name="sig"),           # 3 / element
        helper.make_node("Gelu", ["s"], ["g"], name="gelu"),             # 5 / element
        helper.make_node("Softmax", ["g"], ["sm"], name="softmax", axis=-1),  # 5 / element
        helper.make_node("LayerNormalization", ["sm", "ln_s", "ln_b"], ["ln"], name="ln",
                         axis=-1),                                        # 7 / element
        helper.make_node("AveragePool", ["ln"], ["ap"], name="ap", kernel_shape=[2, 2],
                         strides=[2, 2]),                                 # 4 per output, 64 out
        helper.make_node("GlobalMaxPool", ["ap"], ["gp"], name="gmp"),   # 1 per input (64)
        helper.make_node("Transpose", ["gp"], ["tr"], name="tr", perm=[0, 2, 3, 1]),
    ]
    m = _model(nodes, [_vi("x", [1, 4, 8, 8])], [_vi("tr", None)],
               [_init("ln_s", (8,), 1.0), _init("ln_b", (8,), 0.0)], opset=20)
    t = onnx_layer_table(m).set_index("layer")
    assert t.loc["sig", "flops"] == 3 * 256
    assert t.loc["gelu", "flops"] == 5 * 256
    assert t.loc["softmax", "flops"] == 5 * 256
    assert t.loc["ln", "flops"] == 7 * 256 and t.loc["ln", "params"] == 16
    assert t.loc["ap", "flops"] == 4 * 64
    assert t.loc["gmp", "flops"] == 64
    # a copy: no FLOPs, but its bytes are charged
    assert t.loc["tr", "flops"] == 0 and t.loc["tr", "bytes"] == 2 * 4 * 4
    assert t.loc["tr", "kind"] == "copy"


def test_attention_subgraph_counted_by_matmuls():
    # Q [B,h,L,d] = [2,4,16,8], Kᵀ [2,4,8,16], V [2,4,16,8] (S = 16):
    # MatMul(Q,Kᵀ): B·h·L·S·d = 2·4·16·16·8 = 16,384 MACs; Div by √d: 1 per score (2,048);
    # Softmax: 5 per score; MatMul(P,V): B·h·L·d_v·S = 16,384 MACs.
    scale = numpy_helper.from_array(np.array(math.sqrt(8), np.float32), "scale")
    nodes = [helper.make_node("MatMul", ["q", "kt"], ["s"], name="qk"),
             helper.make_node("Div", ["s", "scale"], ["ss"], name="scale_div"),
             helper.make_node("Softmax", ["ss"], ["p"], name="softmax", axis=-1),
             helper.make_node("MatMul", ["p", "v"], ["o"], name="pv")]
    m = _model(nodes, [_vi("q", [2, 4, 16, 8]), _vi("kt", [2, 4, 8, 16]), _vi("v", [2, 4, 16, 8])],
               [_vi("o", None)], [scale])
    t = onnx_layer_table(m, batch=2)
    assert list(t.kind) == ["attention"] * 4
    scores = 2 * 4 * 16 * 16
    assert t.macs.sum() == 2 * 16_384
    assert t.flops.sum() == 2 * 2 * 16_384 + scores * (1 + 5)
    assert t.params.sum() == 0  # the scalar 1/√d is not a parameter


# ---------------------------------------------------------------- unknown ops ----
def test_unknown_ops_warn_once_and_keep_rows():
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu"),
             helper.make_node("Einsum", ["r", "r"], ["e"], name="einsum", equation="ij,ij->i"),
             helper.make_node("Foo", ["r"], ["f1"], name="foo1", domain="com.example"),
             helper.make_node("Foo", ["f1"], ["f2"], name="foo2", domain="com.example")]
    g = helper.make_graph(nodes, "u", [_vi("x", [4, 8])], [_vi("e", None), _vi("f2", None)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17),
                                            helper.make_opsetid("com.example", 1)])
    m.ir_version = 8
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        t = onnx_layer_table(m)
    msgs = [str(w.message) for w in rec if "unsupported" in str(w.message)]
    assert len(msgs) == 1
    assert "Einsum ×1" in msgs[0] and "com.example.Foo ×2" in msgs[0]
    assert len(t) == 4
    bad = t[~t.supported]
    assert list(bad.layer) == ["einsum", "foo1", "foo2"]
    assert (bad[["macs", "flops", "bytes"]].to_numpy() == 0).all()
    assert t.attrs["unsupported"] == {"Einsum": 1, "com.example.Foo": 2}


def test_symbolic_dims_and_dims_argument():
    # x [N, S, 64] with S symbolic: without dims the MatMul is uncountable (warned),
    # with dims={"S": 10} it is N·S·64·32 MACs.
    m = _model([helper.make_node("MatMul", ["x", "w"], ["y"], name="proj")],
               [_vi("x", ["N", "S", 64])], [_vi("y", None)], [_init("w", (64, 32))])
    with pytest.warns(UserWarning, match="shapes could not be inferred"):
        t = onnx_layer_table(m, batch=3)
    assert t.macs.sum() == 0
    t = onnx_layer_table(m, batch=3, dims={"S": 10})
    assert t.macs.sum() == 3 * 10 * 64 * 32


# ------------------------------------------------------------------ ResNet parts ----
def test_resnet_basic_block_hand_count():
    # Two 3×3 convs C=64 → 64 on 56×56: MACs = 2 · 56²·64·64·9 = 231,211,008.
    # FLOPs = 2·MACs + BN 2 × (2 per element) + Relu 2 × 1 + Add 1, on E = 64·56² elements.
    # Params 2·(64·64·9) + 2·(2·64) [BN scale, bias] = 73,984; running stats are buffers
    # (2 BN × 2 × 64 × 4 B = 1,024 B).
    e = 64 * 56 * 56
    t = onnx_layer_table(resnet_basic_block(), batch=1)
    macs = 2 * 56 * 56 * 64 * 64 * 9
    assert t.macs.sum() == macs == 231_211_008
    assert t.flops.sum() == 2 * macs + 2 * 2 * e + 2 * e + e
    assert t.params.sum() == 73_984 == model_from_onnx(resnet_basic_block()).params
    assert t.buffer_bytes.sum() == 1024
    assert list(t.op_type) == ["Conv", "BatchNormalization", "Relu", "Conv",
                               "BatchNormalization", "Add", "Relu"]


def test_tiny_models_and_path_input(tmp_path):
    # tiny_mlp at batch 8: (256·512 + 512·128)·8 MACs; tiny_cnn per its docstring.
    t = onnx_layer_table(tiny_mlp(), batch=8)
    assert t.macs.sum() == 8 * (256 * 512 + 512 * 128)
    assert list(t.layer) == ["fc1", "relu1", "fc2"]
    assert onnx_layer_table(tiny_cnn(), batch=1).macs.sum() == 1_622_336
    assert set(onnx_layer_table(tiny_mlp_conv(), batch=8).layer) == {"fc1", "relu1", "fc2", "c"}
    p = tmp_path / "mlp.onnx"
    onnx.save(tiny_mlp(), str(p))
    m = model_from_onnx(p, batch=8)
    assert str(p) in m.source and m.params == 256 * 512 + 512 * 128
    assert m.fwd_flops == pytest.approx(2 * (256 * 512 + 512 * 128) + 512)


# ---------------------------------------------------------------------- ResNet-50 ----
@pytest.fixture(scope="module")
def r50():
    return resnet50()


def test_resnet50_params_and_macs(r50):
    # torchvision ResNet-50: 25,557,032 parameters; "4.09 GFLOPS" on its model card are
    # multiply-adds (conv + fc at 224×224).
    m = model_from_onnx(r50, batch=1)
    assert m.params == 25_557_032
    macs = m.layers.macs.sum()
    assert macs == pytest.approx(4.09e9, rel=0.01)
    assert m.fwd_flops > 2 * macs  # + BN, ReLU, Add, pooling
    assert m.flop_convention == "flops" and m.input_shape == (3, 224, 224)
    # activation memory: fp32 outputs of every allocating node (views excluded)
    alloc = m.layers[m.layers.kind != "view"]
    assert m.activation_bytes_per_sample == 4 * alloc.output_elements.sum()
    print(f"ResNet-50: {m.params} params, {macs:.4g} MACs, "
          f"{m.activation_bytes_per_sample / 1e6:.1f} MB fp32 activations per sample")
    assert 100e6 < m.activation_bytes_per_sample < 200e6
    # per-sample figures do not depend on the batch used for the import
    m4 = model_from_onnx(r50, batch=4)
    assert m4.layers.macs.sum() == 4 * macs and m4.fwd_flops == pytest.approx(m.fwd_flops)
    assert m4.activation_bytes_per_sample == pytest.approx(m.activation_bytes_per_sample)
    # v1 (stride on the 1×1 conv, as the Caffe/Keras models): He et al.'s "3.8 GFLOPs" (MACs)
    v1 = onnx_layer_table(resnet50(stride_on="1x1"))
    assert v1.macs.sum() == pytest.approx(3.86e9, rel=0.01)


def test_resnet50_runs_in_onnxruntime(r50):
    ort = pytest.importorskip("onnxruntime")
    s = ort.InferenceSession(r50.SerializeToString(), providers=["CPUExecutionProvider"])
    y = s.run(None, {"input": np.random.default_rng(0).random((1, 3, 224, 224), np.float32)})[0]
    assert y.shape == (1, 1000) and np.isfinite(y).all()


def test_from_onnx_classmethod_shape(r50):
    from plaster_model.catalog.objects import Model
    m = _from_onnx(Model, tiny_mlp(), batch=2, name="mlp")
    assert isinstance(m, Model) and m.name == "mlp"


def test_model_to_yaml_round_trip(r50, tmp_path):
    yaml = pytest.importorskip("yaml")
    m = model_from_onnx(r50, name="resnet50_onnx", task="image classification")
    text = model_to_yaml(m)
    entry = yaml.safe_load(text)["models"]["resnet50_onnx"]
    assert entry["params"] == 25_557_032 and entry["input_shape"] == [3, 224, 224]
    assert entry["flop_convention"] == "flops" and entry["task"] == "image classification"
    assert entry["source"].startswith("ONNX import of")
    # through the catalog loader: same model back, to the 6 digits written
    from plaster_model.catalog.loader import Catalog
    p = tmp_path / "zoo.yaml"
    p.write_text(text)
    cat = Catalog()
    cat.merge_file(p)
    back = cat.entries["model"]["resnet50_onnx"]
    assert back.params == m.params and back.input_shape == m.input_shape
    assert back.fwd_flops == pytest.approx(m.fwd_flops, rel=1e-5)
    assert back.activation_bytes_per_sample == pytest.approx(m.activation_bytes_per_sample, rel=1e-5)


# ----------------------------------------------------------------- roofline ----------
def test_layerwise_time_hand_example():
    import pandas as pd
    # γ = 10 TFLOP/s, β = 1 TB/s. Layer a: 2 GFLOP, 1 MB → compute 0.2 ms vs memory 1 µs.
    # Layer b: 1 MFLOP, 8 MB → compute 0.1 µs vs memory 8 µs: memory-bound.
    t = pd.DataFrame({"flops": [2e9, 1e6, 0], "bytes": [1e6, 8e6, 0],
                      "kind": ["matmul", "elementwise", "view"]})
    r = layerwise_time(t, "10 TFLOPS", "1 TB/s")
    assert r.time_s.tolist() == pytest.approx([2e-4, 8e-6, 0])
    assert r.bound.tolist() == ["compute", "memory", "none"]
    half = layerwise_time(t, 10e12, 1e12, compute_efficiency=0.5, memory_efficiency=0.5)
    assert half.time_s.tolist() == pytest.approx([4e-4, 16e-6, 0])
    tr = layerwise_time(t, 10e12, 1e12, training=True)  # ×3 rule
    assert tr.time_s.tolist() == pytest.approx([6e-4, 24e-6, 0])
    ex = layerwise_time(t, 10e12, 1e12, training=True, backward_factor="explicit")
    # a: fwd 0.2 ms + bwd max(0.4 ms, 2 µs); b: fwd 8 µs + bwd max(0.1 µs, 16 µs)
    assert ex.time_s.tolist() == pytest.approx([6e-4, 24e-6, 0])
    paleo = layerwise_time(t, 10e12, 1e12, combine="sum")
    assert paleo.time_s.tolist() == pytest.approx([2e-4 + 1e-6, 8e-6 + 1e-7, 0])
    s = layerwise_summary(t, 10e12, 1e12)
    assert s.single_number_time_s == pytest.approx(2.001e9 / 10e12)
    assert s.layerwise_time_s == pytest.approx(2.08e-4)
    assert (s.n_compute_bound, s.n_memory_bound) == (1, 1)
    with pytest.raises(ValueError, match="compute_efficiency"):
        layerwise_time(t, 10e12, 1e12, compute_efficiency=1.5)


def test_layerwise_resnet50_memory_bound_layers(r50):
    # V100-like: 15.7 TFLOP/s fp32, 900 GB/s. BN/ReLU/Add (≈0.25 FLOP/B) are memory-bound,
    # most convolutions compute-bound, so the per-layer sum exceeds FLOPs/γ.
    t = onnx_layer_table(r50, batch=32)
    r = layerwise_time(t, "15.7 TFLOPS", "900 GB/s")
    assert set(r[r.op_type == "BatchNormalization"].bound) == {"memory"}
    assert (r[r.op_type == "Conv"].bound == "compute").mean() > 0.8
    s = layerwise_summary(t, "15.7 TFLOPS", "900 GB/s")
    assert 1.05 < s.ratio < 2.0
    st = layerwise_summary(t, "15.7 TFLOPS", "900 GB/s", training=True)
    assert st.layerwise_time_s == pytest.approx(3 * s.layerwise_time_s)
    m = model_from_onnx(r50)  # a Model carrying .layers is accepted too
    assert layerwise_summary(m, 15.7e12, 900e9).flops == pytest.approx(m.fwd_flops)


def test_missing_onnx_raises_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"pip install 'plaster_model\[onnx\]'"):
        onnx_layer_table("whatever.onnx")


def test_a_file_is_named_by_its_stem_not_the_exporters_graph_name(tmp_path):
    # Issue 26 (Names): torch.onnx names every graph "main_graph"; two exported files
    # must not import under one name. A ModelProto keeps its graph name.
    m = tiny_mlp()
    m.graph.name = "main_graph"
    path = tmp_path / "my_classifier.onnx"
    onnx.save(m, str(path))
    assert model_from_onnx(str(path)).name == "my_classifier"
    assert model_from_onnx(path, name="given").name == "given"
    assert model_from_onnx(m).name == "main_graph"
    assert onnx_layer_table(str(path)).attrs["path"] == str(path)
    m.graph.name = ""
    assert model_from_onnx(m.SerializeToString()).name == "onnx_model"
