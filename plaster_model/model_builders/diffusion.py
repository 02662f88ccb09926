"""The denoising UNet of Stable Diffusion v1.5 (Rombach et al., CVPR 2022; Hugging Face diffusers
``UNet2DConditionModel`` with the ``runwayml/stable-diffusion-v1-5`` ``unet/config.json``:
block_out_channels 320-640-1280-1280, 2 layers per block, 8 attention heads, cross-attention
on 77 × 768 CLIP text states, GroupNorm 32, SiLU, 1×1-convolution projections).

One UNet evaluation (one denoising step) on one latent of ``latent``² × 4 (64 for 512×512
images) is a sample; the text encoder and the VAE are not included (a pipeline runs the
UNet once or twice — classifier-free guidance — per step, for tens of steps).

Graph notes. GroupNorm is written as PyTorch exports it below opset 18: reshape to
[N, 32, -1], InstanceNormalization (its unit scale and zero offset made at run time, so they
are not parameters), reshape back, then the per-channel scale and offset (``Mul``/``Add``,
2·C parameters). The nearest-neighbour 2× upsample is a ``Tile`` (same bytes; see
:mod:`.detection`). The sinusoidal timestep projection (no parameters) is an input.
"""
from __future__ import annotations

from ._graph import Graph

__all__ = ["sd_unet"]


def _group_norm(g, x, groups=32, eps=1e-5):
    c, *sp = g.shapes[x]
    n = 1
    for s in sp:
        n *= s
    r = g.node("Reshape", [x, g.const_i64(g.uid("shape"), [0, groups, -1])], (groups, c // groups * n))
    ones = g.node("Expand", [g.scalar(1.0), g.const_i64(g.uid("gshape"), [groups])], (groups,))
    zeros = g.node("Expand", [g.scalar(0.0), g.const_i64(g.uid("gshape"), [groups])], (groups,))
    y = g.node("InstanceNormalization", [r, ones, zeros], g.shapes[r], epsilon=eps)
    y = g.node("Reshape", [y, g.const_i64(g.uid("shape"), [0, c, *sp])], (c, *sp))
    name = g.uid("gn")
    y = g.node("Mul", [y, g.weight(f"{name}.weight", (c, *[1] * len(sp)), 1.0)], (c, *sp))
    return g.node("Add", [y, g.weight(f"{name}.bias", (c, *[1] * len(sp)))], (c, *sp))


def _resnet(g, x, temb, cout):
    cin = g.shapes[x][0]
    h = g.conv(g.act(_group_norm(g, x), "silu"), cout, 3, 1, 1, bias=True)
    t = g.linear(g.act(temb, "silu"), cout, prefix="time_emb_proj")
    t = g.node("Reshape", [t, g.const_i64(g.uid("shape"), [0, cout, 1, 1])], (cout, 1, 1))
    h = g.node("Add", [h, t], g.shapes[h])
    h = g.conv(g.act(_group_norm(g, h), "silu"), cout, 3, 1, 1, bias=True)
    short = x if cin == cout else g.conv(x, cout, 1, 1, 0, bias=True, prefix="conv_shortcut")
    return g.add(short, h)


def _transformer(g, x, text, heads=8):
    c, hh, ww = g.shapes[x]
    h = g.conv(_group_norm(g, x, eps=1e-6), c, 1, 1, 0, bias=True, prefix="proj_in")
    h = g.node("Reshape", [h, g.const_i64(g.uid("shape"), [0, c, hh * ww])], (c, hh * ww))
    h = g.transpose(h, (1, 0))                                             # (HW, C)
    h = g.add(_self_attention(g, h, c, heads), h)                          # self-attention
    h = g.add(g.attention(g.layernorm(h), text, c, heads, bias=False), h)   # cross-attention
    f = g.linear(g.layernorm(h), 8 * c, prefix="geglu")                    # GEGLU: value and gate
    a = g.node("Slice", [f, g.const_i64(g.uid("st"), [0]), g.const_i64(g.uid("en"), [4 * c]),
                         g.const_i64(g.uid("ax"), [2])], (hh * ww, 4 * c))
    b = g.node("Slice", [f, g.const_i64(g.uid("st"), [4 * c]), g.const_i64(g.uid("en"), [8 * c]),
                         g.const_i64(g.uid("ax"), [2])], (hh * ww, 4 * c))
    f = g.mul(a, g.act(b, "gelu"))
    h = g.add(g.linear(f, c, prefix="ff_out"), h)
    h = g.transpose(h, (1, 0))
    h = g.node("Reshape", [h, g.const_i64(g.uid("shape"), [0, c, hh, ww])], (c, hh, ww))
    return g.add(g.conv(h, c, 1, 1, 0, bias=True, prefix="proj_out"), x)


def _self_attention(g, h, c, heads):
    n = g.layernorm(h)
    return g.attention(n, n, c, heads, bias=False)


def _upsample2x(g, x):
    c, h, w = g.shapes[x]
    return g.node("Tile", [x, g.const_i64(g.uid("repeats"), [1, 1, 2, 2])], (c, 2 * h, 2 * w))


def sd_unet(latent=64, channels=(320, 640, 1280, 1280), layers=2, heads=8, text_len=77, text_dim=768,
            in_channels=4, batch=None):
    """Stable Diffusion v1.5's UNet for one ``latent``×``latent`` latent (one denoising step).

    ``heads`` is one count or one per level; ``text_dim`` the text encoder's width. Stable
    Diffusion 2 (MLPerf Training v3.1+ "stable_diffusion") is ``heads=(5, 10, 20, 20),
    text_dim=1024``: 64-wide heads, OpenCLIP ViT-H text states, and linear instead of 1×1
    convolution projections (the same parameters and work).

    Examples
    --------
    >>> import plaster_model as pm
    >>> pm.model_from_onnx(sd_unet()).params     # diffusers: 859,520,964
    859520964
    """
    g = Graph("sd15_unet", (in_channels, latent, latent), input_name="latent")
    text = g.add_input("text", (text_len, text_dim))
    tproj = g.add_input("timestep_proj", (channels[0],))
    temb = g.linear(g.act(g.linear(tproj, 4 * channels[0], prefix="time_1"), "silu"), 4 * channels[0],
                    prefix="time_2")
    x = g.conv(g.x, channels[0], 3, 1, 1, bias=True, prefix="conv_in")
    skips = [x]
    hs = tuple(heads) if isinstance(heads, (tuple, list)) else (heads,) * len(channels)
    for i, c in enumerate(channels):
        attn = i < len(channels) - 1
        for _ in range(layers):
            x = _resnet(g, x, temb, c)
            if attn:
                x = _transformer(g, x, text, hs[i])
            skips.append(x)
        if i < len(channels) - 1:
            x = g.conv(x, c, 3, 2, 1, bias=True, prefix="downsample")
            skips.append(x)
    x = _resnet(g, x, temb, channels[-1])
    x = _transformer(g, x, text, hs[-1])
    x = _resnet(g, x, temb, channels[-1])
    for i, c in enumerate(reversed(channels)):
        attn = i > 0
        for _ in range(layers + 1):
            x = _resnet(g, g.concat([x, skips.pop()]), temb, c)
            if attn:
                x = _transformer(g, x, text, hs[len(channels) - 1 - i])
        if i < len(channels) - 1:
            x = g.conv(_upsample2x(g, x), c, 3, 1, 1, bias=True, prefix="upsample")
    x = g.act(_group_norm(g, x), "silu")
    g.x = g.conv(x, in_channels, 3, 1, 1, bias=True, prefix="conv_out")
    return g.build(batch=batch)
