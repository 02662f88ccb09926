r"""From an ONNX file to its workload: per-layer MACs, FLOPs, parameters and bytes.

:func:`onnx_layer_table` runs ONNX shape inference (with the batch dimension set) and
counts, for every node, the multiply-accumulates, FLOPs, parameters and the bytes it reads
and writes. :func:`model_from_onnx` turns the table into a zoo-compatible
:class:`~plaster_model.catalog.objects.Model` (usable by every predictor, with the table in
``Model.layers``); :func:`model_to_yaml` writes it as a zoo entry. :func:`layerwise_time`
and :func:`layerwise_summary` are the per-layer roofline (Paleo's idea): memory-bound layers
(normalization, element-wise, small convolutions) do not run at peak FLOP/s.

FLOP convention
---------------
A multiply-add is **two** FLOPs (FLOPs = 2 × MACs), the convention of device peaks and of
:class:`~plaster_model.catalog.objects.Model` (``flop_convention="flops"``). For Conv,
ConvTranspose, Gemm, MatMul and Attention ``flops = 2 × macs`` exactly, bias included: a
sum of K products plus a bias is K multiplies and K additions (the accumulator starts at
the bias), which is what 2K counts; torchvision and fvcore report the same number with or
without bias. Gemm's ``alpha``/``beta`` scalings are not counted (exporters write 1.0).

FLOPs of the other ops, per output element unless said otherwise (one FLOP per arithmetic
operation or elementary function evaluation: exp, log, tanh, erf, sqrt, division count 1):

================================================  =============================================
op                                                FLOPs
================================================  =============================================
Relu, Tanh, Erf, Exp, Log, Sqrt, Reciprocal,      1
Neg, Abs, Sign, Floor, Ceil, Round, Sin, Cos,
Not, comparisons, Where, ThresholdedRelu
Add, Sub, Mul, Div, Pow, Mod, And, Or, Xor        1 (on the broadcast output)
Sum, Max, Min (n inputs) / Mean                   n − 1 / n
LeakyRelu, PRelu                                  2 (compare, multiply)
Clip                                              2 (min, max)
Sigmoid                                           3 (exp(−x), 1 + ·, 1 / ·)
Softplus, Softsign                                3 (exp, add, log) / (abs, add, divide)
Elu / Selu, Celu                                  4 (compare, exp, subtract, multiply) / 5
HardSigmoid / HardSwish                           4 (multiply, add, min, max) / 5
Mish                                              5 (softplus 3, tanh, multiply)
Gelu (exact, erf) / approximate="tanh"            5 (x/√2, erf, +1, ×x, ×0.5) / 9
Softmax                                           5 (max, subtract, exp, sum, divide)
LogSoftmax                                        5 (max, subtract, exp, sum, subtract) + 1 log per row
BatchNormalization (inference)                    2: the per-channel affine ``a·x + b`` every
                                                  runtime executes (a = γ/√(σ²+ε), b = β − a·μ)
BatchNormalization (training_mode=1),             6: statistics (sum, subtract, square, sum) + affine
InstanceNormalization, GroupNormalization
LayerNormalization                                7 (sum, subtract, square, sum, × rstd, × scale,
                                                  + bias); 6 without bias
RMSNormalization                                  4 (square, sum, × rstd, × scale)
MaxPool, AveragePool, LpPool                      prod(kernel_shape) per output: k − 1 additions
                                                  and one divide (average), k comparisons
                                                  (max, against the −∞ start)
GlobalAveragePool, GlobalMaxPool                  1 per *input* element (H·W − 1 adds + 1 divide
                                                  per output)
ReduceSum/Max/Min/Prod, ArgMax, ArgMin            1 per input element
ReduceMean                                        1 per input element + 1 per output
ReduceSumSquare, ReduceL1 / ReduceL2              2 per input element / + 1 sqrt per output
================================================  =============================================

Recurrent layers (ONNX ``LSTM``, ``GRU``, ``RNN``; X is [seq, batch, input] for
``layout=0``, [batch, seq, input] for ``layout=1``; ``dirs`` = 2 when bidirectional; H the
hidden size, I the input size, G the gate count 4 / 3 / 1). Per time step, batch element and
direction the gate pre-activations ``W·x + R·h`` are G·H dot products of length I + H, so

    MACs = seq · batch · dirs · G · H · (I + H)

and ``flops = 2 · MACs + seq · batch · dirs · e · H`` where e collects what is not a
multiply-add: the second bias (the ONNX ``B`` holds both Wb and Rb; the first is absorbed in
the 2·MACs as above) adds G; the element-wise cell update adds, for the LSTM,
3 sigmoids × 3 + tanh(g) + (f⊙c + i⊙g: 3) + tanh(c) + o⊙· = 15 (+ 6 with peepholes
``P``: i, f, o each get ``+ P⊙c``); for the GRU 2 sigmoids × 3 + r⊙(·) + tanh + (1 − z)⊙h̃ +
z⊙h (4) = 12 (the same for both ``linear_before_reset`` values); for the RNN the activation
only, 1 (tanh). So an LSTM with bias has e = 19, a GRU with bias e = 15. ``sequence_lens``
is ignored: every sequence is taken at the full length of X.

Attention. Unfused attention (``MatMul(Q, Kᵀ) → [scale, mask] → Softmax → MatMul(·, V)``,
as PyTorch and TensorFlow export it) is counted by its parts: the two MatMuls give
``B·h·L·S·(d + d_v)`` MACs, the Softmax 5 FLOPs per score and the scaling/mask 1 each. Such
subgraphs are detected (a Softmax between two MatMuls whose operands are both activations)
and their rows tagged ``kind="attention"``. The fused ONNX ``Attention`` operator (opset 23)
is counted the same way: ``B·h_q·L·S·(d + d_v)`` MACs, plus 6 FLOPs per score (scale and
softmax) and 1 more with a mask.

Bytes and parameters
--------------------
``params`` counts the elements of the constant inputs (initializers, or ``Constant`` node
outputs) that a node consumes in a *trainable* slot: Conv/ConvTranspose/Gemm/MatMul
weights and biases, the scale and bias of the normalizations, W/R/B/P of the recurrent
layers, an embedding table read by Gather, and non-scalar constants of element-wise ops
(e.g. the bias ``Add`` after a MatMul that PyTorch writes for ``Linear``). BatchNorm
running mean and variance are **not** parameters, as in PyTorch (``model.parameters()``
holds BN ``weight`` and ``bias``; ``running_mean``/``running_var`` are buffers, updated by
averaging, not by the optimizer). They and other non-trainable constants (shapes, axes,
pads, scalars such as an epsilon) are ``buffer_bytes``.

``input_bytes`` are the activations read (inputs that are not constants, each distinct
tensor once) and ``output_bytes`` the tensors written, at the graph's element types.
``bytes`` is the memory traffic the per-layer roofline charges:
``param_bytes + buffer_bytes + input_bytes + output_bytes``, with three exceptions:
*views* (Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout at inference, Shape,
Size, Constant) move no data, so ``bytes = 0``; an embedding ``Gather`` reads only the rows
it gathers (``indices + 2 × output``), not the whole table; unsupported ops get 0. The other
zero-FLOP ops (Transpose, Concat, Cast, Gather, Slice, Split, Pad, Tile, Expand, ...) are
*copies*: no FLOPs, but their input and output bytes count.

A node whose inputs are all constants (PyTorch writes ``Transpose(weight) → MatMul``) is
folded by every runtime when the model is loaded: its row has ``kind="constant"`` and no
cost, and the consumer counts the folded tensor as a weight whose parameters are the
source initializers. An exporter that merges identical initializers (the onnxscript
optimizer does, and untrained LayerNorm weights are all ones) or drops all-zero biases
leaves fewer parameters in the file than the framework model had.

References
----------
ONNX operator specification, https://onnx.ai/onnx/operators/ (shapes and attributes).
Qi, Sparks, Talwalkar, "Paleo: A performance model for deep neural networks", ICLR 2017
(per-layer FLOPs and bytes).

Examples
--------
>>> from plaster_model.onnx_builders import resnet50
>>> from plaster_model.onnx_import import onnx_layer_table, model_from_onnx
>>> t = onnx_layer_table(resnet50(), batch=1)
>>> round(int(t["macs"].sum()) / 1e9, 2)   # GMAC at 224x224
4.09
>>> model_from_onnx(resnet50()).params
25557032
"""
from __future__ import annotations

import math
import os
import warnings
from collections import Counter
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from .errors import ParameterError, ParameterTypeError, ParseError, PlasterError, UnknownNameError


# pandas is imported inside the functions: `import plaster_model` stays light.
if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "onnx_layer_table", "model_from_onnx", "model_to_yaml", "layerwise_time",
    "layerwise_summary", "SUPPORTED_OPS", "VIEW_OPS", "COPY_OPS",
]

_INSTALL_HINT = "pip install 'plaster_model[onnx]'"

#: Columns of :func:`onnx_layer_table`, in order.
COLUMNS = ("layer", "op_type", "kind", "supported", "macs", "flops", "params", "param_bytes",
           "buffer_bytes", "input_bytes", "output_bytes", "output_elements", "bytes",
           "arithmetic_intensity", "output_shape", "note")


def _import_onnx():
    try:
        import onnx
        import onnx.shape_inference  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "plaster_model's ONNX import needs the 'onnx' package, which is not installed: "
            f"{_INSTALL_HINT}"
        ) from exc
    return onnx


# ---------------------------------------------------------------------------------------
# op tables
# ---------------------------------------------------------------------------------------

#: Zero-FLOP ops that move no data (views, metadata).
VIEW_OPS = frozenset({"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout",
                      "Shape", "Size", "Constant"})
#: Zero-FLOP ops that copy data (bytes in and out are charged).
COPY_OPS = frozenset({"Transpose", "Concat", "Cast", "CastLike", "Gather", "GatherElements",
                      "GatherND", "Slice", "Split", "Pad", "Tile", "Expand", "ConstantOfShape",
                      "Range", "DepthToSpace", "SpaceToDepth", "ScatterND", "ScatterElements",
                      "ReverseSequence", "EyeLike", "Trilu", "NonZero", "OneHot"})

#: FLOPs per output element of element-wise ops (see the module docstring).
_ELEMENTWISE = {
    "Relu": 1, "Tanh": 1, "Erf": 1, "Exp": 1, "Log": 1, "Sqrt": 1, "Reciprocal": 1, "Neg": 1,
    "Abs": 1, "Sign": 1, "Floor": 1, "Ceil": 1, "Round": 1, "Sin": 1, "Cos": 1, "Tan": 1,
    "Not": 1, "Equal": 1, "Less": 1, "Greater": 1, "LessOrEqual": 1, "GreaterOrEqual": 1,
    "Where": 1, "ThresholdedRelu": 1, "IsNaN": 1, "IsInf": 1,
    "Add": 1, "Sub": 1, "Mul": 1, "Div": 1, "Pow": 1, "Mod": 1, "And": 1, "Or": 1, "Xor": 1,
    "BitShift": 1,
    "LeakyRelu": 2, "PRelu": 2, "Clip": 2,
    "Sigmoid": 3, "Softplus": 3, "Softsign": 3,
    "Elu": 4, "HardSigmoid": 4, "Selu": 5, "Celu": 5, "HardSwish": 5, "Mish": 5,
    "Gelu": 5,
}
_VARIADIC = {"Sum": -1, "Max": -1, "Min": -1, "Mean": 0}  # n inputs → n + offset FLOPs
_MATRIX_OPS = frozenset({"Conv", "ConvTranspose", "Gemm", "MatMul", "MatMulInteger",
                         "ConvInteger", "QLinearConv", "QLinearMatMul", "Attention"})
_NORM_OPS = {"BatchNormalization": 2, "InstanceNormalization": 6, "GroupNormalization": 6,
             "LayerNormalization": 7, "RMSNormalization": 4}
_POOL_OPS = frozenset({"MaxPool", "AveragePool", "LpPool"})
_GLOBAL_POOL_OPS = frozenset({"GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"})
_REDUCE_OPS = {"ReduceSum": (1, 0), "ReduceMax": (1, 0), "ReduceMin": (1, 0),
               "ReduceProd": (1, 0), "ArgMax": (1, 0), "ArgMin": (1, 0),
               "ReduceMean": (1, 1), "ReduceSumSquare": (2, 0), "ReduceL1": (2, 0),
               "ReduceL2": (2, 1), "ReduceLogSum": (1, 1), "ReduceLogSumExp": (2, 1)}
_RNN_OPS = {"LSTM": 4, "GRU": 3, "RNN": 1}
_SOFTMAX_OPS = frozenset({"Softmax", "LogSoftmax"})

#: Every op type counted (others are warned about and counted as zero).
SUPPORTED_OPS = frozenset(set(_ELEMENTWISE) | set(_VARIADIC) | _MATRIX_OPS | set(_NORM_OPS)
                          | _POOL_OPS | _GLOBAL_POOL_OPS | set(_REDUCE_OPS) | set(_RNN_OPS)
                          | _SOFTMAX_OPS | VIEW_OPS | COPY_OPS)

#: Input slots holding trainable weights, by op (other constant inputs are buffers).
_TRAINABLE_SLOTS = {
    "Conv": {1, 2}, "ConvTranspose": {1, 2}, "ConvInteger": {1}, "QLinearConv": {3, 8},
    "MatMulInteger": {0, 1}, "QLinearMatMul": {0, 3},
    "BatchNormalization": {1, 2}, "InstanceNormalization": {1, 2},
    "GroupNormalization": {1, 2}, "LayerNormalization": {1, 2}, "RMSNormalization": {1},
    "LSTM": {1, 2, 3, 7}, "GRU": {1, 2, 3}, "RNN": {1, 2, 3},
    "Gather": {0}, "PRelu": {1},
}
# Gemm and MatMul: every constant operand is a weight. Element-wise ops: non-scalar constants.
_ALL_CONST_TRAINABLE = frozenset({"Gemm", "MatMul"})
#: Quantized ops, whose integer weights are parameters; elsewhere only floating-point
#: constants are (an integer constant is an index, a shape or an axis).
_QUANTIZED_OPS = frozenset({"ConvInteger", "QLinearConv", "MatMulInteger", "QLinearMatMul"})
_FLOAT_TYPES = frozenset({1, 10, 11, 16, 17, 18, 19, 20, 23, 24})

#: Ops never treated as constant even when all their inputs are constants.
_NONDETERMINISTIC = frozenset({"RandomNormal", "RandomNormalLike", "RandomUniform",
                               "RandomUniformLike", "Multinomial", "Bernoulli", "Dropout"})

#: Bits per element of ONNX TensorProto data types (0 for strings, unknown size).
_BITS = {1: 32, 2: 8, 3: 8, 4: 16, 5: 16, 6: 32, 7: 64, 8: 0, 9: 8, 10: 16, 11: 64, 12: 32,
         13: 64, 14: 64, 15: 128, 16: 16, 17: 8, 18: 8, 19: 8, 20: 8, 21: 4, 22: 4, 23: 4,
         24: 8, 25: 2, 26: 2}


class _ShapeUnknown(Exception):
    """A shape needed to count a node is not known after shape inference."""


def _nbytes(numel: int, elem_type: int) -> int:
    return (int(numel) * _BITS.get(int(elem_type), 32) + 7) // 8


def _numel(shape) -> int:
    if shape is None or any(d is None for d in shape):
        raise _ShapeUnknown
    return int(math.prod(shape))


# ---------------------------------------------------------------------------------------
# loading and shape inference
# ---------------------------------------------------------------------------------------

def _load(model_or_path):
    """``(ModelProto, path or None)``; a file or bytes that are no ONNX model is a ParseError.

    Raises
    ------
    ParseError
        The bytes do not decode as an ONNX protobuf (protobuf's ``DecodeError``, and the
        ``IndexError``/``RuntimeError``/``ValueError`` a truncated file can raise), naming
        the file.
    FileNotFoundError
        No file at the path.
    ParameterTypeError
        Neither a ModelProto, a path nor bytes.
    """
    onnx = _import_onnx()
    if isinstance(model_or_path, onnx.ModelProto):
        return model_or_path, None
    if isinstance(model_or_path, (str, os.PathLike)):
        path = os.fspath(model_or_path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"ONNX file not found: {path}")
        return _decode(lambda: onnx.load(path), path), path
    if isinstance(model_or_path, (bytes, bytearray)):
        return _decode(lambda: onnx.load_from_string(bytes(model_or_path)), "<bytes>"), None
    raise ParameterTypeError("model_or_path", type(model_or_path).__name__,
                             "an onnx.ModelProto, a path to an .onnx file or serialized bytes")


def _decode(load, where: str):
    try:
        model = load()
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        raise
    except Exception as exc:  # noqa: BLE001 - protobuf's DecodeError has no common base with ours
        raise ParseError(f"not a readable ONNX model ({type(exc).__name__}: {exc})"[:400],
                         where, None) from None
    if not model.HasField("graph"):
        raise ParseError("not an ONNX model: no graph", where, None)
    return model


def _onnx_errors(fn):
    """A public ONNX reader raises PlasterErrors only: a malformed graph that slips past the
    checks (a node with a missing input, a wrong attribute type) becomes a ParseError."""
    import functools

    @functools.wraps(fn)
    def wrapped(model_or_path, *args, **kwargs):
        try:
            return fn(model_or_path, *args, **kwargs)
        except (PlasterError, ImportError, OSError):
            raise
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, ArithmeticError,
                RecursionError) as exc:
            where = os.fspath(model_or_path) if isinstance(model_or_path, (str, os.PathLike)) else None
            raise ParseError(f"malformed ONNX graph ({type(exc).__name__}: {exc})"[:400], where,
                             None) from exc
    return wrapped


#: Initializers larger than this are replaced by typed graph inputs for shape inference
#: (their values are not needed, only their shapes; this avoids copying the weights).
_INLINE_LIMIT = 4096


def _skeleton(model, batch: int, dims: Mapping[str, int] | None):
    """A weight-less copy of ``model`` with the batch dimension set, for shape inference.

    Returns ``(skeleton, const_info, substituted)`` where ``const_info`` maps every
    initializer name to ``(shape, elem_type)`` and ``substituted`` tells whether the first
    dimension of the first graph input was dynamic (and set to ``batch``).
    """
    onnx = _import_onnx()
    helper = onnx.helper
    g = model.graph
    const_info = {t.name: (tuple(int(d) for d in t.dims), int(t.data_type)) for t in g.initializer}
    sk = onnx.ModelProto()
    sk.ir_version = max(int(model.ir_version), 4)
    sk.opset_import.extend(model.opset_import)
    sk.functions.extend(model.functions)
    sg = sk.graph
    sg.name = g.name
    sg.node.extend(g.node)
    small = [t for t in g.initializer if math.prod(t.dims) <= _INLINE_LIMIT]
    sg.initializer.extend(small)
    small_names = {t.name for t in small}
    substituted = False
    first = True
    dims = {k: int(v) for k, v in (dims or {}).items()}
    rename = dict(dims)  # dim_param -> value, applied to the exporter's value_info too
    for inp in g.input:
        if inp.name in const_info:
            continue
        new = sg.input.add()
        new.CopyFrom(inp)
        shp = new.type.tensor_type.shape if new.type.HasField("tensor_type") else None
        if shp is not None:
            for i, d in enumerate(shp.dim):
                if d.HasField("dim_param") and d.dim_param in dims:
                    d.dim_value = dims[d.dim_param]
                elif i == 0 and (d.HasField("dim_param") or not d.HasField("dim_value")
                                 or d.dim_value <= 0):
                    if d.HasField("dim_param") and d.dim_param:
                        rename.setdefault(d.dim_param, int(batch))
                    d.dim_value = int(batch)
                    if first:
                        substituted = True
        first = False
    # Shapes the exporter wrote (PyTorch's dynamo exporter writes every one): kept, with the
    # symbolic dimensions set, since ONNX inference cannot always redo them (ReduceMean
    # whose axes come from a Reshape of constants, for instance).
    for vi in g.value_info:
        if vi.name in const_info or not vi.type.HasField("tensor_type"):
            continue
        new = sg.value_info.add()
        new.CopyFrom(vi)
        for d in new.type.tensor_type.shape.dim:
            if d.HasField("dim_param") and d.dim_param in rename:
                d.dim_value = rename[d.dim_param]
    for name, (shape, et) in const_info.items():  # big weights become typed inputs
        if name not in small_names:
            sg.input.append(helper.make_tensor_value_info(name, et, list(shape)))
    for out in g.output:
        new = sg.output.add()
        new.name = out.name
        if out.type.HasField("tensor_type"):
            new.type.tensor_type.elem_type = out.type.tensor_type.elem_type
    if sk.functions:
        try:
            import onnx.inliner
            sk = onnx.inliner.inline_local_functions(sk)
        except Exception:  # pragma: no cover - older onnx; functions stay unknown ops
            pass
    return sk, const_info, substituted


def _tensor_infos(inferred) -> dict[str, tuple[tuple | None, int]]:
    """name → (shape with None for unknown dims, or None for unknown rank; elem_type)."""
    infos = {}
    g = inferred.graph
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        if not vi.type.HasField("tensor_type"):
            continue
        tt = vi.type.tensor_type
        if tt.HasField("shape"):
            shape = tuple(int(d.dim_value) if d.HasField("dim_value") else None
                          for d in tt.shape.dim)
        else:
            shape = None
        infos[vi.name] = (shape, int(tt.elem_type))
    for t in g.initializer:
        infos[t.name] = (tuple(int(d) for d in t.dims), int(t.data_type))
    for node in g.node:
        if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
            for a in node.attribute:
                if a.name == "value" and a.HasField("t"):
                    infos[node.output[0]] = (tuple(int(d) for d in a.t.dims), int(a.t.data_type))
    return infos


# ---------------------------------------------------------------------------------------
# per-op counts
# ---------------------------------------------------------------------------------------

def _data_inputs(node) -> list[str]:
    """Inputs whose *values* a node reads (not CastLike's type source, not Shape's input)."""
    if node.domain in ("", "ai.onnx"):
        if node.op_type in ("Shape", "Size"):
            return []
        if node.op_type == "CastLike":
            return [x for x in node.input[:1] if x]
    return [x for x in node.input if x]


def _static(infos, name) -> bool:
    shp = infos.get(name, (None, 0))[0]
    return shp is not None and all(d is not None for d in shp)


def _attrs(node) -> dict[str, Any]:
    import onnx.helper
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _shape(infos, name):
    if not name or name not in infos:
        return None
    return infos[name][0]


def _count(node, op: str, ins: list, outs: list, attrs: dict) -> tuple[int, int]:
    """(MACs, FLOPs) of one node, from its input and output shapes (see module docstring)."""
    y = outs[0] if outs else None
    if op in ("Conv", "ConvInteger", "QLinearConv"):
        w = ins[3] if op == "QLinearConv" else ins[1]
        macs = _numel(y) * _numel(w[1:] if w is not None else None)
        return macs, 2 * macs
    if op == "ConvTranspose":
        macs = _numel(ins[0]) * _numel(ins[1][1:] if ins[1] is not None else None)
        return macs, 2 * macs
    if op == "Gemm":
        a = ins[0]
        if a is None or len(a) != 2:
            raise _ShapeUnknown
        k = a[0] if attrs.get("transA", 0) else a[1]
        if k is None:
            raise _ShapeUnknown
        macs = _numel(y) * k
        return macs, 2 * macs
    if op in ("MatMul", "MatMulInteger", "QLinearMatMul"):
        a = ins[0]
        if a is None or not a or a[-1] is None:
            raise _ShapeUnknown
        if op == "QLinearMatMul":
            y = outs[0]
        macs = _numel(y) * a[-1]
        return macs, 2 * macs
    if op == "Attention":
        return _count_attention(ins, attrs)
    if op in _ELEMENTWISE:
        per = _ELEMENTWISE[op]
        if op == "Gelu" and attrs.get("approximate", b"none") in (b"tanh", "tanh"):
            per = 9
        return 0, per * _numel(y)
    if op in _VARIADIC:
        n_in = sum(1 for s in ins if s is not False)
        return 0, max(n_in + _VARIADIC[op], 0) * _numel(y)
    if op in _NORM_OPS:
        per = _NORM_OPS[op]
        if op == "BatchNormalization" and attrs.get("training_mode", 0):
            per = 6
        if op == "LayerNormalization" and (len(ins) < 3 or ins[2] is False):
            per = 6
        return 0, per * _numel(y)
    if op in _POOL_OPS:
        k = attrs.get("kernel_shape")
        if not k:
            raise _ShapeUnknown
        return 0, _numel(y) * int(math.prod(k))
    if op in _GLOBAL_POOL_OPS:
        return 0, _numel(ins[0])
    if op in _REDUCE_OPS:
        per_in, per_out = _REDUCE_OPS[op]
        return 0, per_in * _numel(ins[0]) + per_out * _numel(y)
    if op in _SOFTMAX_OPS:
        n = _numel(y)
        flops = 5 * n
        if op == "LogSoftmax":
            axis = attrs.get("axis", -1)
            length = y[axis] if y else 1
            flops += n // max(int(length or 1), 1)
        return 0, flops
    if op in _RNN_OPS:
        return _count_rnn(op, ins, attrs)
    if op in VIEW_OPS or op in COPY_OPS:
        return 0, 0
    raise UnknownNameError(op)  # pragma: no cover - callers check SUPPORTED_OPS first


def _count_rnn(op, ins, attrs):
    """LSTM / GRU / RNN: see the module docstring for the derivation."""
    gates = _RNN_OPS[op]
    x, w = ins[0], ins[1]
    if x is None or w is None or len(x) != 3 or len(w) != 3 or None in x or None in w:
        raise _ShapeUnknown
    if attrs.get("layout", 0):
        batch, seq, inp = x
    else:
        seq, batch, inp = x
    dirs = w[0]
    hidden = int(attrs.get("hidden_size") or w[1] // gates)
    macs = seq * batch * dirs * gates * hidden * (inp + hidden)
    has_bias = len(ins) > 3 and ins[3] not in (None, False)
    if op == "LSTM":
        extra = 15 + (6 if len(ins) > 7 and ins[7] not in (None, False) else 0)
    elif op == "GRU":
        extra = 12
    else:
        extra = 1
    extra += gates if has_bias else 0
    return macs, 2 * macs + seq * batch * dirs * extra * hidden


def _count_attention(ins, attrs):
    """ONNX Attention (opset 23): Q·Kᵀ and P·V, softmax and scale per score."""
    q, k, v = ins[0], ins[1], ins[2]
    if q is None or k is None or v is None or None in q or None in k or None in v:
        raise _ShapeUnknown
    past = ins[4] if len(ins) > 4 and ins[4] not in (None, False) else None
    if len(q) == 4:
        b, hq, lq, d = q
        s = k[2] + (past[2] if past else 0)
        dv = v[3]
    elif len(q) == 3:
        hq = int(attrs.get("q_num_heads", 0)) or 1
        hkv = int(attrs.get("kv_num_heads", 0)) or hq
        b, lq, qh = q
        d = qh // hq
        s = k[1] + (past[2] if past else 0)
        dv = v[2] // hkv
    else:
        raise _ShapeUnknown
    scores = b * hq * lq * s
    macs = scores * (d + dv)
    has_mask = len(ins) > 3 and ins[3] not in (None, False)
    return macs, 2 * macs + scores * (6 + (1 if has_mask else 0))


def _kind(op: str) -> str:
    if op in _MATRIX_OPS:
        return "matmul"
    if op in _RNN_OPS:
        return "rnn"
    if op in _NORM_OPS:
        return "normalization"
    if op in _POOL_OPS or op in _GLOBAL_POOL_OPS:
        return "pooling"
    if op in _REDUCE_OPS:
        return "reduction"
    if op in _SOFTMAX_OPS or op in _ELEMENTWISE or op in _VARIADIC:
        return "elementwise"
    if op in VIEW_OPS:
        return "view"
    if op in COPY_OPS:
        return "copy"
    return "unknown"


def _tag_attention(nodes, const, kinds):
    """Tag MatMul → [Div/Mul/Add/Where/Cast] → Softmax → [Dropout/Cast] → MatMul subgraphs."""
    producer = {o: i for i, n in enumerate(nodes) for o in n.output if o}
    consumers: dict[str, list[int]] = {}
    for i, n in enumerate(nodes):
        for x in n.input:
            consumers.setdefault(x, []).append(i)
    passthrough_back = {"Div", "Mul", "Add", "Sub", "Where", "Cast"}
    passthrough_fwd = {"Dropout", "Cast"}

    def activation_matmul(i):
        n = nodes[i]
        return n.op_type == "MatMul" and not any(x in const for x in n.input[:2])

    for s_idx, node in enumerate(nodes):
        if node.op_type != "Softmax":
            continue
        chain, cur = [s_idx], node.input[0]
        first = None
        for _ in range(4):  # walk back through scaling and masking
            p = producer.get(cur)
            if p is None:
                break
            if activation_matmul(p):
                first = p
                break
            if nodes[p].op_type not in passthrough_back:
                break
            chain.append(p)
            cur = next((x for x in nodes[p].input if x and x not in const), None)
        if first is None:
            continue
        second, outs = None, list(node.output)
        for _ in range(3):  # walk forward through dropout / casts
            nxt = [c for o in outs for c in consumers.get(o, [])]
            if len(nxt) != 1:
                break
            c = nxt[0]
            if activation_matmul(c) and nodes[c].input[0] in outs:
                second = c
                break
            if nodes[c].op_type not in passthrough_fwd:
                break
            chain.append(c)
            outs = list(nodes[c].output)
        if second is None:
            continue
        for i in chain + [first, second]:
            kinds[i] = "attention"


# ---------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------

def _batch(batch) -> int:
    """`batch` as an int >= 1 (2.5 is refused, not truncated), else ParameterError."""
    import numbers

    if (isinstance(batch, bool) or not isinstance(batch, numbers.Real) or not math.isfinite(batch)
            or batch != int(batch) or batch < 1):
        raise ParameterError("batch", batch, "a whole number of samples >= 1")
    return int(batch)


@_onnx_errors
def onnx_layer_table(model_or_path, batch: int = 1, *, dims: Mapping[str, int] | None = None
                     ) -> "pd.DataFrame":
    """Per-node MACs, FLOPs, parameters and bytes of an ONNX model.

    Runs :func:`onnx.shape_inference.infer_shapes` (with ``data_prop``) after setting the
    batch dimension: a dynamic first dimension (``dim_param`` or unset) of every graph
    input becomes ``batch``. The counting rules per op are in the module docstring.

    Parameters
    ----------
    model_or_path : onnx.ModelProto, str, os.PathLike or bytes
        The model, a path to an ``.onnx`` file or its serialized bytes.
    batch : int
        Batch size the counts are made for (counts are totals for the whole batch).
    dims : mapping of str to int, optional
        Values for other symbolic dimensions, by ``dim_param`` name (e.g.
        ``{"sequence": 128}``); a named first dimension listed here takes this value
        instead of ``batch``.

    Returns
    -------
    pandas.DataFrame
        One row per node, in graph order, with columns

        ``layer`` (node name, or ``op_<i>`` when unnamed), ``op_type``, ``kind``
        (``matmul``, ``rnn``, ``normalization``, ``elementwise``, ``pooling``, ``reduction``,
        ``attention``, ``view``, ``copy``, ``constant``, ``unknown``), ``supported``
        (bool), ``macs``
        [MAC], ``flops`` [FLOP], ``params`` [elements], ``param_bytes`` [B],
        ``buffer_bytes`` [B] (non-trainable constants), ``input_bytes`` [B] (activations
        read, weights excluded), ``output_bytes`` [B], ``output_elements``, ``bytes`` [B]
        (traffic charged by the roofline), ``arithmetic_intensity`` = flops / bytes
        [FLOP/B] (NaN where bytes is 0), ``output_shape`` (tuple, first output) and
        ``note``. ``DataFrame.attrs`` holds ``batch``, ``graph_name``, ``source``,
        ``path`` (the file read, None for a ModelProto or bytes), ``unsupported`` ({op_type: count}) and ``params_total`` (distinct trainable
        tensors, each counted once even when shared by several nodes).

    Warns
    -----
    UserWarning
        One warning listing every unsupported op type with its count (those rows are
        kept with ``supported=False`` and zero cost); one listing nodes whose shapes could
        not be inferred (counted as zero); one when a static batch dimension differs
        from ``batch``.

    Raises
    ------
    ImportError
        When ``onnx`` is not installed (``pip install 'plaster_model[onnx]'``).

    References
    ----------
    ONNX operators: https://onnx.ai/onnx/operators/ ; Paleo (Qi et al., ICLR 2017).

    Examples
    --------
    >>> from plaster_model.onnx_builders import tiny_mlp
    >>> t = onnx_layer_table(tiny_mlp(), batch=8)
    >>> list(t["layer"])
    ['fc1', 'relu1', 'fc2']
    >>> t.loc[0, ["macs", "flops", "params"]].tolist()    # 8·256·512 MACs
    [1048576, 2097152, 131072]
    """
    import pandas as pd

    onnx = _import_onnx()
    model, path = _load(model_or_path)
    batch = _batch(batch)
    skeleton, const_info, substituted = _skeleton(model, batch, dims)
    try:
        inferred = onnx.shape_inference.infer_shapes(skeleton, strict_mode=False, data_prop=True)
    except Exception:
        try:  # the exporter's value_info may disagree with the new batch: infer afresh
            del skeleton.graph.value_info[:]
            inferred = onnx.shape_inference.infer_shapes(skeleton, strict_mode=False,
                                                         data_prop=True)
        except Exception as exc:  # pragma: no cover - malformed models
            warnings.warn(f"ONNX shape inference failed ({exc}); counts use declared shapes "
                          "only", stacklevel=2)
            inferred = skeleton
    infos = _tensor_infos(inferred)
    g = inferred.graph
    nodes = list(g.node)

    const = set(const_info)
    roots: dict[str, frozenset] = {c: frozenset((c,)) for c in const_info}
    folded = set()  # nodes computing on constants only: folded by runtimes at load time
    for i, n in enumerate(nodes):
        std = n.domain in ("", "ai.onnx")
        data_in = _data_inputs(n)
        if n.op_type == "Constant" and std:
            for o in n.output:
                if o:
                    const.add(o)
                    roots[o] = frozenset((o,))
        elif std and n.op_type in ("Shape", "Size") and _static(infos, n.input[0]):
            folded.add(i)  # the shape of a statically shaped tensor is a constant
            for o in n.output:
                if o:
                    const.add(o)
                    roots[o] = frozenset()
        elif (std and n.op_type not in _NONDETERMINISTIC and data_in
              and all(x in const for x in data_in)):
            folded.add(i)
            src = frozenset().union(*(roots[x] for x in data_in))
            for o in n.output:
                if o:
                    const.add(o)
                    roots[o] = src
    graph_inputs = [i for i in g.input if i.name not in const]

    # effective batch: the first dimension of the first graph input
    eff_batch = batch
    if graph_inputs and not substituted:
        shp = infos.get(graph_inputs[0].name, (None, 0))[0]
        if shp and shp[0] is not None and shp[0] != batch:
            if batch != 1:
                warnings.warn(
                    f"graph input {graph_inputs[0].name!r} has a fixed first dimension "
                    f"{shp[0]}; batch={batch} cannot be applied, the counts are for "
                    f"{shp[0]}", stacklevel=2)
            eff_batch = int(shp[0])

    rows, kinds = [], []
    trainable: dict[str, int] = {}
    unsupported: Counter = Counter()
    unsupported_params = 0
    unknown_shape: Counter = Counter()
    for i, node in enumerate(nodes):
        std = node.domain in ("", "ai.onnx")
        op = node.op_type if std else f"{node.domain}.{node.op_type}"
        supported = std and node.op_type in SUPPORTED_OPS
        attrs = _attrs(node)
        ins = [(_shape(infos, x) if x else False) for x in node.input]
        outs = [_shape(infos, x) for x in node.output if x]
        note = ""

        # parameters, buffers and activations read
        params = param_bytes = buffer_bytes = input_bytes = 0
        seen = set()
        data_in = _data_inputs(node)
        for slot, x in enumerate(node.input):
            if not x or x in seen or i in folded or x not in data_in:
                continue
            seen.add(x)
            shp, et = infos.get(x, (None, 1))
            try:
                n_el = _numel(shp)
            except _ShapeUnknown:
                n_el = 0
            nb = _nbytes(n_el, et)
            if x in const:
                if et not in _FLOAT_TYPES and node.op_type not in _QUANTIZED_OPS:
                    is_w = False
                elif not supported:
                    is_w = n_el > 1
                elif node.op_type in _ALL_CONST_TRAINABLE:
                    is_w = True
                elif node.op_type in _TRAINABLE_SLOTS:
                    is_w = slot in _TRAINABLE_SLOTS[node.op_type]
                else:
                    is_w = (node.op_type in _ELEMENTWISE or node.op_type in _VARIADIC) and n_el > 1
                if is_w and x not in const_info and roots.get(x, frozenset((x,))) != {x}:
                    # a weight reaching the node through folded ops (PyTorch writes
                    # Transpose(weight) → MatMul): its parameters are the source tensors
                    # (scalars and integer tensors among them are not parameters)
                    src = 0
                    for r in roots[x]:
                        r_shp, r_et = infos.get(r, (None, 1))
                        try:
                            r_n = _numel(r_shp)
                        except _ShapeUnknown:
                            continue
                        if r_n > 1 and (r_et in _FLOAT_TYPES or node.op_type in _QUANTIZED_OPS):
                            trainable[r] = r_n
                            src += r_n
                    if src:
                        params += src
                        param_bytes += nb
                    else:
                        buffer_bytes += nb
                elif is_w:
                    params += n_el
                    param_bytes += nb
                    trainable[x] = n_el
                else:
                    buffer_bytes += nb
            else:
                input_bytes += nb
        out_elems = out_bytes = 0
        for x in node.output:
            if not x:
                continue
            shp, et = infos.get(x, (None, 1))
            try:
                n_el = _numel(shp)
            except _ShapeUnknown:
                continue
            out_elems += n_el
            out_bytes += _nbytes(n_el, et)

        macs = flops = 0
        if i in folded:
            note = "constant-folded: no runtime cost"
            if not supported:
                unsupported[op] += 1
        elif supported:
            try:
                macs, flops = _count(node, node.op_type, ins, outs, attrs)
            except (_ShapeUnknown, IndexError, TypeError, ZeroDivisionError):
                unknown_shape[node.op_type] += 1
                note = "shape unknown: counted as zero"
        else:
            unsupported[op] += 1
            unsupported_params += params
            note = "unsupported op: counted as zero cost"

        kind = "constant" if i in folded else (_kind(node.op_type) if supported else "unknown")
        if i in folded:
            out_elems = out_bytes = 0
        if not supported or kind in ("view", "constant"):
            traffic = 0
        elif node.op_type == "Gather" and node.input[0] in const:
            # embedding lookup: reads the gathered rows only, not the whole table
            traffic = input_bytes + 2 * out_bytes
        else:
            traffic = param_bytes + buffer_bytes + input_bytes + out_bytes
        kinds.append(kind)
        rows.append({
            "layer": node.name or f"op_{i}", "op_type": op, "kind": kind,
            "supported": bool(supported), "macs": int(macs), "flops": int(flops),
            "params": int(params), "param_bytes": int(param_bytes),
            "buffer_bytes": int(buffer_bytes), "input_bytes": int(input_bytes),
            "output_bytes": int(out_bytes), "output_elements": int(out_elems),
            "bytes": int(traffic), "output_shape": outs[0] if outs else None, "note": note,
        })

    _tag_attention(nodes, const, kinds)
    df = pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "arithmetic_intensity"])
    if len(df):
        df["kind"] = kinds
        for c in ("macs", "flops", "params", "param_bytes", "buffer_bytes", "input_bytes",
                  "output_bytes", "output_elements", "bytes"):
            df[c] = df[c].astype(np.int64)
    fl = df["flops"].to_numpy(dtype=float)
    by = df["bytes"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        df["arithmetic_intensity"] = np.where(by > 0, fl / np.where(by > 0, by, 1.0), np.nan)
    df = df[list(COLUMNS)]

    if unsupported:
        listing = ", ".join(f"{op} ×{n}" for op, n in sorted(unsupported.items()))
        warnings.warn(
            f"ONNX import: {sum(unsupported.values())} node(s) of unsupported op types counted "
            f"as zero cost (rows kept with supported=False): {listing}"
            + (f"; their {unsupported_params} initializer elements are counted as parameters"
               if unsupported_params else ""), stacklevel=2)
    if unknown_shape:
        listing = ", ".join(f"{op} ×{n}" for op, n in sorted(unknown_shape.items()))
        warnings.warn(
            f"ONNX import: shapes could not be inferred for {sum(unknown_shape.values())} "
            f"node(s), counted as zero: {listing}; give symbolic dimensions with dims=",
            stacklevel=2)

    df.attrs.update({
        "batch": eff_batch,
        "graph_name": model.graph.name,
        "source": path or model.graph.name or "ONNX model",
        "path": path,
        "unsupported": dict(unsupported),
        "params_total": int(sum(trainable.values())),
        "input_shape": (infos.get(graph_inputs[0].name, (None, 0))[0] if graph_inputs else None),
    })
    return df


@_onnx_errors
def model_from_onnx(model_or_path, batch: int = 1, name: str | None = None, *,
                    task: str = "", dims: Mapping[str, int] | None = None):
    """A :class:`~plaster_model.catalog.objects.Model` from an ONNX model.

    Parameters
    ----------
    model_or_path : onnx.ModelProto, str, os.PathLike or bytes
        The model or a path to it.
    batch : int
        Batch size used for the shape inference; per-sample figures divide by it.
    name : str, optional
        Model name; default the file's stem for a path (``resnet50.onnx`` ->
        ``"resnet50"``: exporters name every graph alike, torch.onnx ``main_graph``), else
        the graph name (a ModelProto or bytes), else ``"onnx_model"``.
    task : str
        Task label written into the zoo entry (e.g. ``"image classification"``).
    dims : mapping, optional
        Values of other symbolic dimensions (see :func:`onnx_layer_table`).

    Returns
    -------
    Model
        ``params`` [elements]: distinct trainable initializers (BatchNorm running mean and
        variance excluded, as in PyTorch; a weight shared by two nodes counted once);
        ``fwd_flops`` [FLOP] = Σ flops / batch, per sample, FLOPs = 2 × MACs plus the
        element-wise FLOPs (``flop_convention="flops"``; Σ macs is in ``layers``);
        ``input_shape``: the first graph input without its batch dimension;
        ``activation_bytes_per_sample`` [B] = 4 · Σ output elements / batch over the rows
        that allocate a tensor (views excluded): the fp32 forward activations a training
        framework stores for the backward pass (intermediate state an op keeps besides
        its outputs, such as LSTM gates or dropout masks, is not included);
        ``source = "ONNX import of <path or graph name>"``; ``layers``: the table of
        :func:`onnx_layer_table`.

    Notes
    -----
    The batch is the first dimension of the first graph input. For time-major sequence
    models (ONNX ``LSTM`` with ``layout=0``, input [seq, batch, feature]) name the
    dimensions with ``dims`` instead, or divide yourself.

    Examples
    --------
    >>> from plaster_model.onnx_builders import resnet50
    >>> m = model_from_onnx(resnet50(), name="resnet50_tv")
    >>> m.params, round(m.fwd_flops / 1e9, 2), m.input_shape
    (25557032, 8.22, (3, 224, 224))
    """
    from .catalog.objects import Model

    layers = onnx_layer_table(model_or_path, batch=batch, dims=dims)
    b = layers.attrs["batch"]
    src = layers.attrs["source"]
    if name is None:
        # A file is named by its stem: exporters give every graph the same name
        # (torch.onnx writes "main_graph"), the file name is what the user chose.
        path = layers.attrs.get("path")
        name = (os.path.splitext(os.path.basename(path))[0] if path
                else layers.attrs["graph_name"] or "onnx_model")
    shape = layers.attrs.get("input_shape") or ()
    input_shape = tuple(shape[1:]) if shape and all(d is not None for d in shape[1:]) else ()
    allocating = ~layers["kind"].isin(["view", "constant"]).to_numpy() & layers["supported"].to_numpy()
    act = 4.0 * float(layers["output_elements"].to_numpy()[allocating].sum()) / b
    params = layers.attrs["params_total"]
    macs = float(layers["macs"].sum()) / b
    return Model(
        name=str(name), params=params, fwd_flops=float(layers["flops"].sum()) / b,
        flop_convention="flops", task=task, input_shape=input_shape,
        activation_bytes_per_sample=act if act > 0 else None,
        source=f"ONNX import of {src}", layers=layers,
        notes=(f"{len(layers)} nodes; {macs:.6g} MACs per sample in Conv/Gemm/MatMul/RNN "
               f"layers; fwd_flops adds element-wise FLOPs"),
    )


def _from_onnx(cls, model_or_path, batch: int = 1, name: str | None = None, **kwargs):
    """``Model.from_onnx(path_or_ModelProto, batch=1, name=None)``: see :func:`model_from_onnx`.

    Written to be attached as ``Model.from_onnx = classmethod(_from_onnx)``; a subclass
    ``cls`` other than Model is rebuilt from the Model's fields.
    """
    m = model_from_onnx(model_or_path, batch=batch, name=name, **kwargs)
    if cls is type(m):
        return m
    from dataclasses import fields
    return cls(**{f.name: getattr(m, f.name) for f in fields(m)
                  if f.init and f.name not in ("reported_flops",)})


def model_to_yaml(model) -> str:
    """A model zoo entry (YAML text) for ``model``, readable by ``pm.load_catalog``.

    Parameters
    ----------
    model : Model
        E.g. from :func:`model_from_onnx`.

    Returns
    -------
    str
        A catalog file holding ``models: {<name>: ...}``, written by the catalog's one
        serializer (:func:`plaster_model.catalog.serialize.to_yaml`): quantities as SI unit
        strings, exact.

    Examples
    --------
    >>> from plaster_model.catalog.objects import Model
    >>> print(model_to_yaml(Model(name="toy", params=10, fwd_flops=2e9, source="hand")).strip())
    schema_version: 1
    models:
      toy:
        params: 10
        fwd_flops: 2000000000.0 FLOP
        source: hand
        flop_convention: flops
    """
    from .catalog.serialize import to_yaml

    return to_yaml(model)


# the per-layer roofline lives in estimators/ (one home per formula); re-exported here
from .estimators.layerwise import layerwise_summary, layerwise_time  # noqa: E402,F401
