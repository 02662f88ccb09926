"""Swin Transformer (Liu et al., ICCV 2021) in the torchvision layout (``torchvision.models.swin_t``).

Windowed multi-head self-attention over 7×7 windows with a learned relative-position bias
table ((2·7 − 1)² × heads per block), patch merging between stages. The cyclic shift of every
second block (``torch.roll``) only moves data and adds no work; it is left out, and the
shifted blocks' attention mask is added as in torchvision (1 FLOP per score).
"""
from __future__ import annotations

import numpy as np

from ._graph import Graph

__all__ = ["swin"]


def _window_attention(g, x, hw, c, heads, window, masked):
    """(H, W, C) → windows (nW, w², C) → attention with relative bias → (H, W, C)."""
    nw, ww = hw // window, window * window
    t = g.reshape(x, (nw, window, nw, window, c))
    t = g.reshape(g.transpose(t, (0, 2, 1, 3, 4)), (nw * nw, ww, c))
    qkv = g.linear(t, 3 * c, prefix="qkv")
    split = g.node("Split", [qkv, g.const_i64(g.uid("split"), [c, c, c])], (nw * nw, ww, c), axis=-1)
    node = g.nodes[-1]
    del node.output[:]
    q, k, v = (f"{split}_{i}" for i in range(3))
    node.output.extend([q, k, v])
    dh = c // heads
    for nm in (q, k, v):
        g.shapes[nm] = (nw * nw, ww, c)
    qh = g.transpose(g.reshape(q, (nw * nw, ww, heads, dh)), (0, 2, 1, 3))
    kh = g.transpose(g.reshape(k, (nw * nw, ww, heads, dh)), (0, 2, 3, 1))
    vh = g.transpose(g.reshape(v, (nw * nw, ww, heads, dh)), (0, 2, 1, 3))
    s = g.node("MatMul", [qh, kh], (nw * nw, heads, ww, ww))
    s = g.node("Div", [s, g.scalar(float(np.sqrt(dh)))], g.shapes[s])
    table = g.weight(g.uid("relative_position_bias_table"), ((2 * window - 1) ** 2, heads))
    index = g.const_i64(g.uid("relative_position_index"), np.zeros(ww * ww, dtype=np.int64))
    bias = g.node("Gather", [table, index], (ww * ww, heads), axis=0)
    # Gather's first dimension is not the batch here: reshape with an explicit shape
    bias = g.node("Reshape", [bias, g.const_i64(g.uid("shape"), [ww, ww, heads])], (ww, ww, heads))
    bias = g.node("Transpose", [bias], (heads, ww, ww), perm=[2, 0, 1])
    s = g.node("Add", [s, bias], g.shapes[s])
    if masked:
        s = g.node("Add", [s, g._mask(ww, ww)], g.shapes[s])
    p = g.node("Softmax", [s], g.shapes[s], axis=-1)
    o = g.node("MatMul", [p, vh], (nw * nw, heads, ww, dh))
    o = g.reshape(g.transpose(o, (0, 2, 1, 3)), (nw * nw, ww, c))
    o = g.linear(o, c, prefix="proj")
    o = g.reshape(o, (nw, nw, window, window, c))
    return g.reshape(g.transpose(o, (0, 2, 1, 3, 4)), (hw, hw, c))


def swin(embed=96, depths=(2, 2, 6, 2), heads=(3, 6, 12, 24), window=7, hw=224,
         num_classes=1000, batch=None, name=None):
    """torchvision ``swin_t`` (defaults); ``swin_s``: depths (2, 2, 18, 2); ``swin_b``: embed 128,
    heads (4, 8, 16, 32), depths (2, 2, 18, 2).

    >>> import plaster_model as pm
    >>> pm.model_from_onnx(swin()).params
    28288354
    """
    g = Graph(name or "swin_t", (3, hw, hw))
    x = g.conv(g.x, embed, 4, 4, 0, bias=True)
    size, c = hw // 4, embed
    x = g.layernorm(g.transpose(x, (1, 2, 0)))              # (H, W, C)
    for stage, (n, h) in enumerate(zip(depths, heads)):
        for b in range(n):
            shifted = b % 2 == 1 and size > window
            y = _window_attention(g, g.layernorm(x), size, c, h, window, shifted)
            x = g.add(x, y)
            x = g.add(x, g.linear(g.act(g.linear(g.layernorm(x), 4 * c), "gelu"), c))
        if stage < len(depths) - 1:   # patch merging: 2×2 neighbours -> 4C -> LN -> 2C
            t = g.reshape(x, (size // 2, 2, size // 2, 2, c))
            t = g.reshape(g.transpose(t, (0, 2, 3, 1, 4)), (size // 2, size // 2, 4 * c))
            x = g.linear(g.layernorm(t), 2 * c, bias=False, prefix="reduction")
            size, c = size // 2, 2 * c
    x = g.layernorm(x)
    x = g.node("ReduceMean", [x, g.const_i64(g.uid("axes"), [1, 2])], (c,), keepdims=0)
    g.x = g.linear(x, num_classes)
    return g.build(batch=batch)
