"""Small ONNX models built in code with :mod:`onnx.helper` (no downloads).

Used by the tests, the notebooks and the onnxruntime CPU measurement path:

* :func:`tiny_mlp` -- MatMul → Relu → MatMul (node names ``fc1``, ``relu1``, ``fc2``, as in
  the onnxruntime profile in ``../shared/trtexec_samples/other_formats/``);
* :func:`tiny_cnn` -- Conv → Relu → MaxPool → Conv → Relu → GlobalAveragePool → Flatten → Gemm;
* :func:`tiny_mlp_conv` -- the two-input graph of that shared onnxruntime profile
  (a 3→16 3×3 Conv beside the MLP);
* :func:`resnet_basic_block` -- one ResNet-18/34 basic block (two 3×3 convolutions,
  BatchNormalization, identity shortcut);
* :func:`resnet50` -- a full ResNet-50 v1.5 (torchvision layout), 25,557,032 parameters,
  4.09 GMAC at 224×224.

Every builder takes ``batch``: an int gives a static batch dimension, ``None`` a dynamic one
(``dim_param "N"``). Weights are random float32 (``numpy.random.default_rng(0)``), so the
graphs run in onnxruntime but predict nothing: they are workloads, not classifiers.

``onnx`` is imported inside the functions: importing this module never needs it.
"""
from __future__ import annotations

import functools

import numpy as np

__all__ = ["tiny_mlp", "tiny_cnn", "tiny_mlp_conv", "resnet_basic_block", "resnet50",
           "OPSET", "IR_VERSION"]

#: Default opset of the built models (LayerNormalization needs 17; every op used here exists
#: at 17, and onnxruntime >= 1.14 runs it).
OPSET = 17
#: IR version written into the models: 8 is the one of opset 17 and is read by every
#: onnxruntime since 1.11 (newer onnx releases default to an IR newer runtimes only accept).
IR_VERSION = 8


def _onnx():
    try:
        import onnx  # noqa: F401
        from onnx import helper  # noqa: F401
    except ImportError as exc:  # pragma: no cover - exercised only without onnx
        raise ImportError(
            "plaster_model.onnx_builders needs the 'onnx' package: "
            "pip install 'plaster_model[onnx]'"
        ) from exc
    return onnx


def _batch_dim(batch):
    if batch is None:
        return "N"
    import numbers

    from .errors import ParameterError

    if (isinstance(batch, bool) or not isinstance(batch, numbers.Real) or batch != batch
            or batch in (float("inf"), float("-inf")) or batch != int(batch) or batch < 1):
        raise ParameterError("batch", batch, "a whole number >= 1, or None (dynamic)")
    return int(batch)


def _value_info(name, shape, elem_type=None):
    onnx = _onnx()
    return onnx.helper.make_tensor_value_info(
        name, onnx.TensorProto.FLOAT if elem_type is None else elem_type, list(shape))


def _model(nodes, name, inputs, outputs, initializers, opset=OPSET):
    onnx = _onnx()
    graph = onnx.helper.make_graph(nodes, name, inputs, outputs, initializer=initializers)
    model = onnx.helper.make_model(
        graph, opset_imports=[onnx.helper.make_opsetid("", opset)],
        producer_name="plaster_model.onnx_builders")
    model.ir_version = IR_VERSION
    return model


def _tensor(name, array):
    from onnx import numpy_helper
    return numpy_helper.from_array(np.ascontiguousarray(array), name)


def _he(rng, shape, fan_in):
    """He-normal float32 weights: N(0, 2/fan_in) keeps activations O(1) through ReLUs."""
    return (rng.standard_normal(shape, dtype=np.float32) * np.float32(np.sqrt(2.0 / fan_in)))


def tiny_mlp(batch=None, in_features=256, hidden=512, out=128, bias=False):
    """Two-layer perceptron: ``x @ W1 → Relu → @ W2`` (MatMul nodes ``fc1``, ``fc2``).

    Parameters
    ----------
    batch : int or None
        Static batch size, or None for a dynamic one (``"N"``).
    in_features, hidden, out : int
        Layer widths.
    bias : bool
        Add a bias (an ``Add`` node after each MatMul, as PyTorch's exporter writes Linear).

    Returns
    -------
    onnx.ModelProto
        Input ``x`` [N, in_features] float32, output ``y`` [N, out].

    Notes
    -----
    MACs per sample: ``in_features·hidden + hidden·out`` (256·512 + 512·128 = 196,608 with
    the defaults); parameters: the same plus ``hidden + out`` with ``bias``.

    Examples
    --------
    >>> from plaster_model.onnx_builders import tiny_mlp
    >>> m = tiny_mlp(batch=8)
    >>> [n.name for n in m.graph.node]
    ['fc1', 'relu1', 'fc2']
    """
    onnx = _onnx()
    h = onnx.helper
    n = _batch_dim(batch)
    rng = np.random.default_rng(0)
    inits = [_tensor("fc1.weight", _he(rng, (in_features, hidden), in_features)),
             _tensor("fc2.weight", _he(rng, (hidden, out), hidden))]
    nodes = [h.make_node("MatMul", ["x", "fc1.weight"], ["fc1_out"], name="fc1")]
    a = "fc1_out"
    if bias:
        inits.append(_tensor("fc1.bias", np.zeros(hidden, np.float32)))
        nodes.append(h.make_node("Add", [a, "fc1.bias"], ["fc1_biased"], name="fc1_bias"))
        a = "fc1_biased"
    nodes.append(h.make_node("Relu", [a], ["relu1_out"], name="relu1"))
    nodes.append(h.make_node("MatMul", ["relu1_out", "fc2.weight"],
                             ["y" if not bias else "fc2_out"], name="fc2"))
    if bias:
        inits.append(_tensor("fc2.bias", np.zeros(out, np.float32)))
        nodes.append(h.make_node("Add", ["fc2_out", "fc2.bias"], ["y"], name="fc2_bias"))
    return _model(nodes, "tiny_mlp", [_value_info("x", [n, in_features])],
                  [_value_info("y", [n, out])], inits)


def tiny_cnn(batch=None, in_channels=3, hw=32, channels=(16, 32), classes=10):
    """Small CNN: ``conv1 3×3 → relu → maxpool 2×2 → conv2 3×3 → relu → GAP → flatten → fc``.

    Parameters
    ----------
    batch : int or None
        Static batch size, or None for a dynamic one.
    in_channels, hw : int
        Input channels and spatial size (square).
    channels : tuple of two int
        Output channels of the two convolutions (3×3, padding 1, stride 1, with bias).
    classes : int
        Output features of the final Gemm.

    Returns
    -------
    onnx.ModelProto
        Input ``x`` [N, in_channels, hw, hw], output ``y`` [N, classes].

    Notes
    -----
    MACs per sample: ``hw²·c1·in·9 + (hw/2)²·c2·c1·9 + c2·classes``
    (32²·16·3·9 + 16²·32·16·9 + 32·10 = 442,368 + 1,179,648 + 320 = 1,622,336 by default).
    """
    onnx = _onnx()
    h = onnx.helper
    n = _batch_dim(batch)
    c1, c2 = channels
    rng = np.random.default_rng(0)
    inits = [
        _tensor("conv1.weight", _he(rng, (c1, in_channels, 3, 3), in_channels * 9)),
        _tensor("conv1.bias", np.zeros(c1, np.float32)),
        _tensor("conv2.weight", _he(rng, (c2, c1, 3, 3), c1 * 9)),
        _tensor("conv2.bias", np.zeros(c2, np.float32)),
        _tensor("fc.weight", _he(rng, (classes, c2), c2)),
        _tensor("fc.bias", np.zeros(classes, np.float32)),
    ]
    conv = dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1])
    nodes = [
        h.make_node("Conv", ["x", "conv1.weight", "conv1.bias"], ["c1"], name="conv1", **conv),
        h.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        h.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        h.make_node("Conv", ["p1", "conv2.weight", "conv2.bias"], ["c2"], name="conv2", **conv),
        h.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        h.make_node("GlobalAveragePool", ["r2"], ["g"], name="gap"),
        h.make_node("Flatten", ["g"], ["f"], name="flatten", axis=1),
        h.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["y"], name="fc", transB=1),
    ]
    return _model(nodes, "tiny_cnn", [_value_info("x", [n, in_channels, hw, hw])],
                  [_value_info("y", [n, classes])], inits)


def tiny_mlp_conv(batch=None):
    """The two-input graph of ``onnxruntime-1.32.0_cpu_tiny-mlp-conv_b8_profile.json``.

    Input ``x`` [N, 256] goes through ``fc1`` (MatMul 256→512), ``relu1``, ``fc2`` (MatMul
    512→128) to ``y``; input ``image`` [N, 3, 32, 32] through ``c`` (Conv 3→16, 3×3, pad 1,
    no bias) to ``feat`` [N, 16, 32, 32]. (onnxruntime's NCHWc layout pass renames the Conv
    ``c`` to ``c_nchwc`` in its profile.)
    """
    onnx = _onnx()
    h = onnx.helper
    n = _batch_dim(batch)
    mlp = tiny_mlp(batch=batch)
    rng = np.random.default_rng(1)
    inits = list(mlp.graph.initializer) + [_tensor("c.weight", _he(rng, (16, 3, 3, 3), 27))]
    nodes = list(mlp.graph.node) + [
        h.make_node("Conv", ["image", "c.weight"], ["feat"], name="c",
                    kernel_shape=[3, 3], pads=[1, 1, 1, 1])]
    return _model(nodes, "tiny_mlp_conv",
                  [_value_info("x", [n, 256]), _value_info("image", [n, 3, 32, 32])],
                  [_value_info("y", [n, 128]), _value_info("feat", [n, 16, 32, 32])], inits)


def _conv_bn(nodes, inits, rng, x, prefix, cin, cout, k, stride, conv_bias=False, relu=True):
    """Append Conv (+bias) → BatchNormalization (→ Relu) named ``{prefix}_conv/_bn/_relu``."""
    h = _onnx().helper
    w = f"{prefix}_conv.weight"
    inits.append(_tensor(w, _he(rng, (cout, cin, k, k), cin * k * k)))
    conv_in = [x, w]
    if conv_bias:
        inits.append(_tensor(f"{prefix}_conv.bias", np.zeros(cout, np.float32)))
        conv_in.append(f"{prefix}_conv.bias")
    pad = k // 2
    nodes.append(h.make_node("Conv", conv_in, [f"{prefix}_conv"], name=f"{prefix}_conv",
                             kernel_shape=[k, k], strides=[stride, stride],
                             pads=[pad, pad, pad, pad]))
    bn = [f"{prefix}_bn.{s}" for s in ("weight", "bias", "running_mean", "running_var")]
    inits.append(_tensor(bn[0], (1.0 + 0.1 * rng.standard_normal(cout)).astype(np.float32)))
    inits.append(_tensor(bn[1], (0.1 * rng.standard_normal(cout)).astype(np.float32)))
    inits.append(_tensor(bn[2], (0.1 * rng.standard_normal(cout)).astype(np.float32)))
    inits.append(_tensor(bn[3], rng.uniform(0.5, 1.5, cout).astype(np.float32)))
    nodes.append(h.make_node("BatchNormalization", [f"{prefix}_conv", *bn], [f"{prefix}_bn"],
                             name=f"{prefix}_bn", epsilon=1e-5))
    if not relu:
        return f"{prefix}_bn"
    nodes.append(h.make_node("Relu", [f"{prefix}_bn"], [f"{prefix}_relu"], name=f"{prefix}_relu"))
    return f"{prefix}_relu"


def resnet_basic_block(channels=64, hw=56, batch=None):
    """One ResNet-18/34 basic block with an identity shortcut.

    ``x → conv 3×3 → BN → Relu → conv 3×3 → BN → Add(x) → Relu``, stride 1, padding 1, no
    conv bias (He et al., CVPR 2016, Fig. 2 left; torchvision ``BasicBlock``).

    Parameters
    ----------
    channels : int
        Input = output channels C.
    hw : int
        Spatial size H = W.
    batch : int or None
        Static batch size, or None for a dynamic one.

    Notes
    -----
    MACs per sample: ``2 · hw² · C · C · 9`` (2·56²·64²·9 = 231,211,008 by default);
    parameters: ``2 · 9 · C² + 2 · 2C`` (conv weights, BN scale and bias; 73,984 by default).
    """
    onnx = _onnx()
    h = onnx.helper
    n = _batch_dim(batch)
    rng = np.random.default_rng(0)
    nodes, inits = [], []
    y = _conv_bn(nodes, inits, rng, "x", "block_1", channels, channels, 3, 1)
    y = _conv_bn(nodes, inits, rng, y, "block_2", channels, channels, 3, 1, relu=False)
    nodes.append(h.make_node("Add", [y, "x"], ["block_add"], name="block_add"))
    nodes.append(h.make_node("Relu", ["block_add"], ["y"], name="block_out"))
    shape = [n, channels, hw, hw]
    return _model(nodes, "resnet_basic_block", [_value_info("x", shape)],
                  [_value_info("y", shape)], inits)


#: Bottleneck stages of ResNet-50: (blocks, width); output channels are 4 × width.
RESNET50_STAGES = ((3, 64), (4, 128), (6, 256), (3, 512))


@functools.lru_cache(maxsize=4)
def _resnet50_parts(hw, num_classes, stride_on, conv_bias):
    """Nodes and initializers of ResNet-50, built once per process and configuration."""
    onnx = _onnx()
    h = onnx.helper
    rng = np.random.default_rng(0)
    nodes, inits = [], []
    x = _conv_bn(nodes, inits, rng, "input", "conv1", 3, 64, 7, 2, conv_bias=conv_bias)
    nodes.append(h.make_node("MaxPool", [x], ["pool1_pool"], name="pool1_pool",
                             kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]))
    x, cin = "pool1_pool", 64
    for stage, (blocks, width) in enumerate(RESNET50_STAGES, start=2):
        cout = 4 * width
        for b in range(1, blocks + 1):
            p = f"conv{stage}_block{b}"
            stride = 2 if (b == 1 and stage > 2) else 1
            s1, s3 = (1, stride) if stride_on == "3x3" else (stride, 1)
            if b == 1:  # projection shortcut (torchvision: downsample.0 / downsample.1)
                short = _conv_bn(nodes, inits, rng, x, f"{p}_0", cin, cout, 1, stride,
                                 conv_bias=conv_bias, relu=False)
            else:
                short = x
            y = _conv_bn(nodes, inits, rng, x, f"{p}_1", cin, width, 1, s1, conv_bias=conv_bias)
            y = _conv_bn(nodes, inits, rng, y, f"{p}_2", width, width, 3, s3, conv_bias=conv_bias)
            y = _conv_bn(nodes, inits, rng, y, f"{p}_3", width, cout, 1, 1,
                         conv_bias=conv_bias, relu=False)
            nodes.append(h.make_node("Add", [short, y], [f"{p}_add"], name=f"{p}_add"))
            nodes.append(h.make_node("Relu", [f"{p}_add"], [f"{p}_out"], name=f"{p}_out"))
            x, cin = f"{p}_out", cout
    nodes.append(h.make_node("GlobalAveragePool", [x], ["avg_pool"], name="avg_pool"))
    nodes.append(h.make_node("Flatten", ["avg_pool"], ["flatten"], name="flatten", axis=1))
    inits.append(_tensor("predictions.weight", _he(rng, (num_classes, cin), cin)))
    inits.append(_tensor("predictions.bias", np.zeros(num_classes, np.float32)))
    nodes.append(h.make_node("Gemm", ["flatten", "predictions.weight", "predictions.bias"],
                             ["output"], name="predictions", transB=1))
    return tuple(nodes), tuple(inits)


def resnet50(batch=None, hw=224, num_classes=1000, stride_on="3x3", conv_bias=False):
    """ResNet-50 v1.5 in the torchvision layout, with random float32 weights.

    Bottleneck blocks ``1×1 → 3×3 → 1×1`` with BatchNormalization as separate nodes
    (not folded into the convolutions), projection shortcuts on the first block of each
    stage, the stride on the 3×3 convolution ("v1.5", torchvision ``Bottleneck``), global
    average pooling and a 2048→1000 fully connected layer with bias.

    Parameters
    ----------
    batch : int or None
        Static batch size, or None for a dynamic one (``dim_param "N"``).
    hw : int
        Input height = width [px].
    num_classes : int
        Outputs of the final Gemm.
    stride_on : {"3x3", "1x1"}
        ``"3x3"``: torchvision v1.5 (default). ``"1x1"``: the original v1 of He et al. (2016)
        as in the Caffe and Keras models, stride on the first 1×1 convolution (fewer MACs).
    conv_bias : bool
        Give every convolution a bias, as Keras' ``ResNet50`` does (+26,560 parameters).

    Returns
    -------
    onnx.ModelProto
        Input ``input`` [N, 3, hw, hw] float32, output ``output`` [N, num_classes].

    Notes
    -----
    Node names follow Keras (``conv2_block1_1_conv``, ``conv2_block1_0_bn``,
    ``conv2_block1_add``, ``avg_pool``, ``predictions``) so per-layer profiles of Keras
    exports can be matched by name; ``convS_blockB_i`` is torchvision's
    ``layer{S-1}.{B-1}.conv{i}`` and ``convS_block1_0`` its ``downsample``.

    Counts (checked in the tests): 25,557,032 parameters (convolution weights 23,454,912,
    BatchNorm scale and bias 2 × 26,560, fc 2,049,000); 4.089e9 MACs at 224×224 (torchvision
    lists ResNet50 at "4.09 GFLOPS" and 25.6 M parameters: its GFLOPS are multiply-adds).
    The weights (about 100 MB) are drawn once per process and configuration and cached.

    References
    ----------
    He, Zhang, Ren, Sun, "Deep residual learning for image recognition", CVPR 2016.
    torchvision ``resnet50`` model card (ResNet50_Weights.IMAGENET1K_V1).

    Examples
    --------
    >>> from plaster_model.onnx_builders import resnet50
    >>> m = resnet50(batch=1)
    >>> sum(1 for n in m.graph.node if n.op_type == "Conv")
    53
    """
    if stride_on not in ("3x3", "1x1"):
        from .errors import ParameterError

        raise ParameterError("stride_on", stride_on, "'3x3' (v1.5) or '1x1' (v1)")
    n = _batch_dim(batch)
    nodes, inits = _resnet50_parts(int(hw), int(num_classes), stride_on, bool(conv_bias))
    name = "resnet50_v1.5" if stride_on == "3x3" else "resnet50_v1"
    return _model(list(nodes), name, [_value_info("input", [n, 3, hw, hw])],
                  [_value_info("output", [n, num_classes])], list(inits))
