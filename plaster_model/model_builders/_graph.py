"""A small ONNX graph writer that tracks tensor shapes, for the family builders.

The graphs are built to be *counted* (:func:`plaster_model.model_from_onnx`), not run:
weights larger than :data:`INLINE_LIMIT` elements are written as shape-only initializers
(``dims`` set, no data), which the ONNX counter reads without copying any weights, so even
BERT-large builds in well under a second and a few MB. Smaller constants (biases of small
layers, reshape targets) carry zeros so ONNX shape inference can read them.

Shapes are tracked here without the batch dimension: ``(C, H, W)`` for images,
``(L, D)`` for token sequences; the graph input's first dimension is the symbolic ``"N"``.
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import ParameterError
from ..onnx_builders import IR_VERSION, OPSET, _onnx

#: Initializers above this many elements carry their shape only (see the module docstring).
INLINE_LIMIT = 4096


def same_pad(k: int, dilation: int = 1) -> int:
    """Padding that keeps the size at stride 1 (odd kernels): ``dilation * (k - 1) // 2``."""
    return dilation * (k - 1) // 2


def conv_out(size: int, k: int, s: int, p: int, dilation: int = 1, ceil: bool = False) -> int:
    """Output size of a convolution/pooling window: ``floor((size + 2p - d(k-1) - 1)/s) + 1``."""
    num = size + 2 * p - dilation * (k - 1) - 1
    return (math.ceil(num / s) if ceil else num // s) + 1


class Graph:
    """Append ONNX nodes and initializers, keeping each tensor's shape (batch excluded)."""

    def __init__(self, name: str, input_shape: tuple[int, ...], input_name: str = "input",
                 elem_type=None):
        onnx = _onnx()
        self.h = onnx.helper
        self.onnx = onnx
        self.name = name
        self.nodes: list = []
        self.inits: list = []
        self.inputs = [(input_name, tuple(input_shape), elem_type)]
        self.shapes: dict[str, tuple[int, ...]] = {input_name: tuple(input_shape)}
        self._n = 0
        self.x = input_name

    # -- plumbing -------------------------------------------------------------------------
    def uid(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}_{self._n}"

    def add_input(self, name: str, shape: tuple[int, ...], elem_type=None) -> str:
        self.inputs.append((name, tuple(shape), elem_type))
        self.shapes[name] = tuple(shape)
        return name

    def weight(self, name: str, shape: tuple[int, ...], fill: float = 0.0, dtype=np.float32) -> str:
        """A trainable (or constant) tensor; shape-only above :data:`INLINE_LIMIT` elements."""
        shape = tuple(int(d) for d in shape)
        if math.prod(shape) <= INLINE_LIMIT:
            from onnx import numpy_helper
            self.inits.append(numpy_helper.from_array(np.full(shape, fill, dtype=dtype), name))
        else:
            t = self.onnx.TensorProto()
            t.name = name
            t.data_type = self.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
            t.dims.extend(shape)
            self.inits.append(t)
        return name

    def const_i64(self, name: str, values) -> str:
        from onnx import numpy_helper
        self.inits.append(numpy_helper.from_array(np.asarray(values, dtype=np.int64), name))
        return name

    def scalar(self, value: float) -> str:
        from onnx import numpy_helper
        name = self.uid("const")
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))
        return name

    def node(self, op: str, inputs, shape, name: str | None = None, **attrs) -> str:
        name = name or self.uid(op.lower())
        self.nodes.append(self.h.make_node(op, list(inputs), [name], name=name, **attrs))
        self.shapes[name] = tuple(shape)
        return name

    def build(self, outputs=None, batch=None):
        """The ModelProto; ``outputs`` default to the last tensor written."""
        n = "N" if batch is None else int(batch)
        outputs = outputs or [self.x]
        ft = self.onnx.TensorProto.FLOAT
        ins = [self.h.make_tensor_value_info(nm, et if et is not None else ft, [n, *shp])
               for nm, shp, et in self.inputs]
        outs = [self.h.make_tensor_value_info(o, ft, None) for o in outputs]
        graph = self.h.make_graph(self.nodes, self.name, ins, outs, initializer=self.inits)
        model = self.h.make_model(graph, opset_imports=[self.h.make_opsetid("", OPSET)],
                                  producer_name="plaster_model.model_builders")
        model.ir_version = IR_VERSION
        return model

    # -- CNN layers (shapes (C, H, W)) ------------------------------------------------------
    def conv(self, x, cout, k, s=1, p=None, groups=1, bias=False, dilation=1, prefix="conv"):
        c, hh, ww = self.shapes[x]
        kh, kw = (k, k) if isinstance(k, int) else k
        if p is None:
            p = (same_pad(kh, dilation), same_pad(kw, dilation))
        ph, pw = (p, p) if isinstance(p, int) else p
        sh, sw = (s, s) if isinstance(s, int) else s
        name = self.uid(prefix)
        w = self.weight(f"{name}.weight", (cout, c // groups, kh, kw))
        ins = [x, w]
        if bias:
            ins.append(self.weight(f"{name}.bias", (cout,)))
        shape = (cout, conv_out(hh, kh, sh, ph, dilation), conv_out(ww, kw, sw, pw, dilation))
        return self.node("Conv", ins, shape, name=name, kernel_shape=[kh, kw], strides=[sh, sw],
                         pads=[ph, pw, ph, pw], group=groups, dilations=[dilation, dilation])

    def bn(self, x, eps=1e-5):
        c = self.shapes[x][0]
        name = self.uid("bn")
        ws = [self.weight(f"{name}.{s}", (c,), 1.0 if s in ("weight", "running_var") else 0.0)
              for s in ("weight", "bias", "running_mean", "running_var")]
        return self.node("BatchNormalization", [x, *ws], self.shapes[x], name=name, epsilon=eps)

    def act(self, x, kind="relu"):
        shp = self.shapes[x]
        if kind == "relu":
            return self.node("Relu", [x], shp)
        if kind == "relu6":
            return self.node("Clip", [x, self.scalar(0.0), self.scalar(6.0)], shp)
        if kind == "sigmoid":
            return self.node("Sigmoid", [x], shp)
        if kind == "hardsigmoid":  # PyTorch: relu6(x + 3) / 6
            return self.node("HardSigmoid", [x], shp, alpha=1.0 / 6, beta=0.5)
        if kind == "hardswish":
            return self.node("HardSwish", [x], shp)
        if kind == "silu":
            return self.node("Mul", [x, self.node("Sigmoid", [x], shp)], shp)
        if kind == "gelu":  # exact GELU, as x * 0.5 * (1 + erf(x / sqrt 2))
            e = self.node("Erf", [self.node("Div", [x, self.scalar(math.sqrt(2.0))], shp)], shp)
            return self.node("Mul", [self.node("Mul", [x, self.scalar(0.5)], shp),
                                     self.node("Add", [e, self.scalar(1.0)], shp)], shp)
        if kind == "gelu_tanh":  # GPT-2: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
            x3 = self.node("Mul", [self.node("Mul", [x, x], shp), x], shp)
            inner = self.node("Add", [x, self.node("Mul", [x3, self.scalar(0.044715)], shp)], shp)
            t = self.node("Tanh", [self.node("Mul", [inner, self.scalar(math.sqrt(2 / math.pi))], shp)], shp)
            return self.node("Mul", [self.node("Mul", [x, self.scalar(0.5)], shp),
                                     self.node("Add", [t, self.scalar(1.0)], shp)], shp)
        raise ParameterError("act", kind, message=f"unknown activation {kind!r}")

    def conv_bn(self, x, cout, k, s=1, p=None, groups=1, act="relu", dilation=1, eps=1e-5):
        y = self.bn(self.conv(x, cout, k, s, p, groups, dilation=dilation), eps=eps)
        return self.act(y, act) if act else y

    def maxpool(self, x, k, s, p=0, ceil=False):
        c, hh, ww = self.shapes[x]
        shape = (c, conv_out(hh, k, s, p, ceil=ceil), conv_out(ww, k, s, p, ceil=ceil))
        return self.node("MaxPool", [x], shape, kernel_shape=[k, k], strides=[s, s],
                         pads=[p, p, p, p], ceil_mode=int(ceil))

    def avgpool(self, x, k, s, p=0, ceil=False, count_include_pad=1):
        c, hh, ww = self.shapes[x]
        shape = (c, conv_out(hh, k, s, p, ceil=ceil), conv_out(ww, k, s, p, ceil=ceil))
        return self.node("AveragePool", [x], shape, kernel_shape=[k, k], strides=[s, s],
                         pads=[p, p, p, p], ceil_mode=int(ceil), count_include_pad=count_include_pad)

    def gap(self, x):
        return self.node("GlobalAveragePool", [x], (self.shapes[x][0], 1, 1))

    def flatten(self, x):
        return self.node("Flatten", [x], (math.prod(self.shapes[x]),), axis=1)

    def add(self, a, b):
        return self.node("Add", [a, b], self.shapes[a])

    def mul(self, a, b):
        return self.node("Mul", [a, b], self.shapes[a])

    def concat(self, xs, axis=1):
        shp = list(self.shapes[xs[0]])
        shp[axis - 1] = sum(self.shapes[x][axis - 1] for x in xs)
        return self.node("Concat", xs, tuple(shp), axis=axis)

    def linear(self, x, out, bias=True, prefix="fc"):
        """``x @ Wᵀ + b``: Gemm for a [N, F] input, MatMul (+ Add) for [N, L, F]."""
        shp = self.shapes[x]
        name = self.uid(prefix)
        if len(shp) == 1:
            ins = [x, self.weight(f"{name}.weight", (out, shp[0]))]
            if bias:
                ins.append(self.weight(f"{name}.bias", (out,)))
            return self.node("Gemm", ins, (out,), name=name, transB=1)
        y = self.node("MatMul", [x, self.weight(f"{name}.weight", (shp[-1], out))],
                      (*shp[:-1], out), name=name)
        if bias:
            y = self.node("Add", [y, self.weight(f"{name}.bias", (out,))], self.shapes[y])
        return y

    # -- sequence layers (shapes (L, D)) ----------------------------------------------------
    def layernorm(self, x, eps=1e-5):
        d = self.shapes[x][-1]
        name = self.uid("ln")
        return self.node("LayerNormalization",
                         [x, self.weight(f"{name}.weight", (d,), 1.0), self.weight(f"{name}.bias", (d,))],
                         self.shapes[x], name=name, axis=-1, epsilon=eps)

    def reshape(self, x, shape):
        """Reshape to ``(N, *shape)`` (``shape`` without the batch dimension)."""
        tgt = self.const_i64(self.uid("shape"), [-1, *shape])
        return self.node("Reshape", [x, tgt], tuple(shape))

    def transpose(self, x, perm):
        """``perm`` over the non-batch axes (0-based), batch kept first."""
        shp = self.shapes[x]
        return self.node("Transpose", [x], tuple(shp[i] for i in perm), perm=[0, *[i + 1 for i in perm]])

    def attention(self, q_in, kv_in, d_model, heads, causal=False, bias=True, fused_qkv=False,
                  out_bias=True, rel_bias=None):
        """Multi-head attention: projections, ``softmax(Q Kᵀ / √d) V``, output projection.

        Unfused (MatMul → Div → Softmax → MatMul, as PyTorch exports it), so the counter
        tags it as attention and counts ``QKᵀ`` and ``AV``: ``L·S·d_model`` MACs each.
        """
        lq = self.shapes[q_in][0]
        ls = self.shapes[kv_in][0]
        dh = d_model // heads
        if fused_qkv:
            qkv = self.linear(q_in, 3 * d_model, bias=bias, prefix="qkv")
            parts = self.node("Split", [qkv, self.const_i64(self.uid("split"), [d_model] * 3)],
                              (lq, d_model), axis=-1)
            # Split has three outputs: write them by hand
            node = self.nodes[-1]
            del node.output[:]
            names = [f"{parts}_{i}" for i in range(3)]
            node.output.extend(names)
            for nm in names:
                self.shapes[nm] = (lq, d_model)
            q, k, v = names
        else:
            q = self.linear(q_in, d_model, bias=bias, prefix="q")
            k = self.linear(kv_in, d_model, bias=bias, prefix="k")
            v = self.linear(kv_in, d_model, bias=bias, prefix="v")
        qh = self.transpose(self.reshape(q, (lq, heads, dh)), (1, 0, 2))        # (h, L, dh)
        kh = self.transpose(self.reshape(k, (ls, heads, dh)), (1, 2, 0))        # (h, dh, S)
        vh = self.transpose(self.reshape(v, (ls, heads, dh)), (1, 0, 2))        # (h, S, dh)
        s = self.node("MatMul", [qh, kh], (heads, lq, ls))
        s = self.node("Div", [s, self.scalar(math.sqrt(dh))], (heads, lq, ls))
        if rel_bias is not None:
            s = self.node("Add", [s, rel_bias], (heads, lq, ls))
        if causal:
            s = self.node("Add", [s, self._mask(lq, ls)], (heads, lq, ls))
        p = self.node("Softmax", [s], (heads, lq, ls), axis=-1)
        o = self.node("MatMul", [p, vh], (heads, lq, dh))
        o = self.reshape(self.transpose(o, (1, 0, 2)), (lq, d_model))
        return self.linear(o, d_model, bias=out_bias, prefix="attn_out")

    def _mask(self, lq, ls):
        # The additive causal mask is a buffer, not a parameter, but the counter takes any
        # non-scalar constant of an element-wise op for a parameter: so the mask is made at
        # run time by expanding a scalar (a copy: no FLOPs, no parameters; the values do not
        # matter for counting). The Add then costs 1 FLOP per score, as a real mask does.
        shp = self.const_i64(self.uid("mask_shape"), [lq, ls])
        return self.node("Expand", [self.scalar(0.0), shp], (lq, ls))
