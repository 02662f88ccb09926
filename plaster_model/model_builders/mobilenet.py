"""MobileNet v2 (Sandler et al., CVPR 2018), v3 (Howard et al., ICCV 2019) and EfficientNet
B0–B7 (Tan & Le, ICML 2019) in the torchvision layouts (``torchvision.models.mobilenetv2``,
``mobilenetv3``, ``efficientnet``)."""
from __future__ import annotations

import math

from ._graph import Graph

__all__ = ["mobilenet_v1", "mobilenet_v1_features", "mobilenet_v2", "mobilenet_v3", "efficientnet", "efficientnet_v2_s", "efficientnet_v2", "make_divisible", "V2_SETTING", "V3_LARGE", "V3_SMALL", "B0_STAGES", "SCALING", "V2S_STAGES", "V2M_STAGES", "V2L_STAGES", "V2_SIZES"]


def make_divisible(v, divisor=8, min_value=None):
    """torchvision ``_make_divisible``: round to a multiple of 8, never below 90 % of ``v``."""
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def _se(g, x, squeeze, act="relu", gate="hardsigmoid"):
    """Squeeze-and-excitation: GAP → 1×1 conv (bias) → act → 1×1 conv (bias) → gate → scale."""
    c = g.shapes[x][0]
    s = g.gap(x)
    s = g.act(g.conv(s, squeeze, 1, 1, 0, bias=True), act)
    s = g.act(g.conv(s, c, 1, 1, 0, bias=True), gate)
    return g.mul(x, s)


#: (expand ratio t, channels c, repeats n, stride s) of torchvision mobilenet_v2.
V2_SETTING = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
              (6, 160, 3, 2), (6, 320, 1, 1))


def mobilenet_v2(num_classes=1000, hw=224, batch=None):
    """torchvision ``mobilenet_v2`` (width 1.0).

    >>> import plaster_model as pm
    >>> pm.model_from_onnx(mobilenet_v2()).params
    3504872
    """
    g = Graph("mobilenet_v2", (3, hw, hw))
    x = g.conv_bn(g.x, 32, 3, 2, act="relu6")
    cin = 32
    for t, c, n, s in V2_SETTING:
        for i in range(n):
            stride = s if i == 0 else 1
            hidden = int(round(cin * t))
            y = x
            if t != 1:
                y = g.conv_bn(y, hidden, 1, 1, 0, act="relu6")
            y = g.conv_bn(y, hidden, 3, stride, groups=hidden, act="relu6")
            y = g.conv_bn(y, c, 1, 1, 0, act=None)
            x = g.add(y, x) if (stride == 1 and cin == c) else y
            cin = c
    x = g.conv_bn(x, 1280, 1, 1, 0, act="relu6")
    g.x = g.linear(g.flatten(g.gap(x)), num_classes)
    return g.build(batch=batch)


#: torchvision ``_mobilenet_v3_conf``: (in, kernel, expanded, out, SE, activation, stride).
V3_LARGE = ((16, 3, 16, 16, False, "relu", 1), (16, 3, 64, 24, False, "relu", 2),
            (24, 3, 72, 24, False, "relu", 1), (24, 5, 72, 40, True, "relu", 2),
            (40, 5, 120, 40, True, "relu", 1), (40, 5, 120, 40, True, "relu", 1),
            (40, 3, 240, 80, False, "hardswish", 2), (80, 3, 200, 80, False, "hardswish", 1),
            (80, 3, 184, 80, False, "hardswish", 1), (80, 3, 184, 80, False, "hardswish", 1),
            (80, 3, 480, 112, True, "hardswish", 1), (112, 3, 672, 112, True, "hardswish", 1),
            (112, 5, 672, 160, True, "hardswish", 2), (160, 5, 960, 160, True, "hardswish", 1),
            (160, 5, 960, 160, True, "hardswish", 1))
V3_SMALL = ((16, 3, 16, 16, True, "relu", 2), (16, 3, 72, 24, False, "relu", 2),
            (24, 3, 88, 24, False, "relu", 1), (24, 5, 96, 40, True, "hardswish", 2),
            (40, 5, 240, 40, True, "hardswish", 1), (40, 5, 240, 40, True, "hardswish", 1),
            (40, 5, 120, 48, True, "hardswish", 1), (48, 5, 144, 48, True, "hardswish", 1),
            (48, 5, 288, 96, True, "hardswish", 2), (96, 5, 576, 96, True, "hardswish", 1),
            (96, 5, 576, 96, True, "hardswish", 1))


def mobilenet_v3(size="large", num_classes=1000, hw=224, batch=None):
    """torchvision ``mobilenet_v3_large`` / ``mobilenet_v3_small``.

    >>> import plaster_model as pm
    >>> pm.model_from_onnx(mobilenet_v3("large")).params
    5483032
    """
    conf, last_ch = (V3_LARGE, 1280) if size == "large" else (V3_SMALL, 1024)
    g = Graph(f"mobilenet_v3_{size}", (3, hw, hw))
    x = g.conv_bn(g.x, 16, 3, 2, act="hardswish", eps=0.001)
    for cin, k, exp, cout, se, act, s in conf:
        y = x
        if exp != cin:
            y = g.conv_bn(y, exp, 1, 1, 0, act=act, eps=0.001)
        y = g.conv_bn(y, exp, k, s, groups=exp, act=act, eps=0.001)
        if se:
            y = _se(g, y, make_divisible(exp // 4, 8))
        y = g.conv_bn(y, cout, 1, 1, 0, act=None, eps=0.001)
        x = g.add(y, x) if (s == 1 and cin == cout) else y
    c = 6 * conf[-1][3]
    x = g.conv_bn(x, c, 1, 1, 0, act="hardswish", eps=0.001)
    x = g.flatten(g.gap(x))
    x = g.act(g.linear(x, last_ch), "hardswish")
    g.x = g.linear(x, num_classes)
    return g.build(batch=batch)


#: EfficientNet-B0 MBConv stages: (expand, kernel, stride, in, out, layers).
B0_STAGES = ((1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
             (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1))
#: (width multiplier, depth multiplier, resolution) of torchvision efficientnet_b0 ... b7.
SCALING = {"b0": (1.0, 1.0, 224), "b1": (1.0, 1.1, 240), "b2": (1.1, 1.2, 288),
           "b3": (1.2, 1.4, 300), "b4": (1.4, 1.8, 380), "b5": (1.6, 2.2, 456),
           "b6": (1.8, 2.6, 528), "b7": (2.0, 3.1, 600)}


def efficientnet(variant="b0", num_classes=1000, hw=None, batch=None):
    """torchvision ``efficientnet_b0`` … ``b7`` at its evaluation resolution.

    Channels ``make_divisible(c × width)``, repeats ``ceil(n × depth)``; the SE squeeze width
    is a quarter of the block's *input* channels.

    >>> import plaster_model as pm
    >>> pm.model_from_onnx(efficientnet("b0")).params
    5288548
    """
    wm, dm, res = SCALING[variant]
    hw = hw or res
    ch = lambda c: make_divisible(c * wm, 8)  # noqa: E731
    g = Graph(f"efficientnet_{variant}", (3, hw, hw))
    x = g.conv_bn(g.x, ch(32), 3, 2, act="silu")
    for e, k, s, cin, cout, n in B0_STAGES:
        cin, cout = ch(cin), ch(cout)
        for i in range(int(math.ceil(n * dm))):
            stride = s if i == 0 else 1
            bin_ = cin if i == 0 else cout
            exp = make_divisible(bin_ * e, 8)
            y = x
            if exp != bin_:
                y = g.conv_bn(y, exp, 1, 1, 0, act="silu")
            y = g.conv_bn(y, exp, k, stride, groups=exp, act="silu")
            y = _se(g, y, max(1, bin_ // 4), act="silu", gate="sigmoid")
            y = g.conv_bn(y, cout, 1, 1, 0, act=None)
            x = g.add(y, x) if (stride == 1 and bin_ == cout) else y
    x = g.conv_bn(x, 4 * ch(320), 1, 1, 0, act="silu")
    g.x = g.linear(g.flatten(g.gap(x)), num_classes)
    return g.build(batch=batch)


def mobilenet_v1(num_classes=1000, hw=224, batch=None):
    """Keras Applications ``MobileNet`` (Howard et al. 2017, width 1.0, 224×224).

    Depthwise-separable blocks (3×3 depthwise → BN → ReLU6 → 1×1 → BN → ReLU6, no conv
    biases) and a 1×1 convolution classifier with bias, as Keras builds it.

    >>> import plaster_model as pm
    >>> pm.model_from_onnx(mobilenet_v1()).params     # Keras: 4,231,976 trainable
    4231976
    """
    g = Graph("mobilenet_v1", (3, hw, hw))
    x = mobilenet_v1_features(g, g.x)[-1]
    x = g.conv(g.gap(x), num_classes, 1, 1, 0, bias=True)
    g.x = g.flatten(x)
    return g.build(batch=batch)


def mobilenet_v1_features(g, x) -> list:
    """Append :func:`mobilenet_v1`'s convolutions to ``g``; return the outputs of its 13
    depthwise-separable blocks (``Conv2d_1_pointwise`` ... ``Conv2d_13_pointwise``)."""
    x = g.conv_bn(x, 32, 3, 2, act="relu6", eps=0.001)
    feats = []
    for c, s in ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
                 (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)):
        cin = g.shapes[x][0]
        x = g.conv_bn(x, cin, 3, s, groups=cin, act="relu6", eps=0.001)
        x = g.conv_bn(x, c, 1, 1, 0, act="relu6", eps=0.001)
        feats.append(x)
    return feats


#: EfficientNetV2 stages: (block, expand, kernel, stride, in, out, layers); torchvision
#: ``_efficientnet_conf("efficientnet_v2_s" / "_m" / "_l")``.
V2S_STAGES = (("fused", 1, 3, 1, 24, 24, 2), ("fused", 4, 3, 2, 24, 48, 4), ("fused", 4, 3, 2, 48, 64, 4),
              ("mb", 4, 3, 2, 64, 128, 6), ("mb", 6, 3, 1, 128, 160, 9), ("mb", 6, 3, 2, 160, 256, 15))
V2M_STAGES = (("fused", 1, 3, 1, 24, 24, 3), ("fused", 4, 3, 2, 24, 48, 5), ("fused", 4, 3, 2, 48, 80, 5),
              ("mb", 4, 3, 2, 80, 160, 7), ("mb", 6, 3, 1, 160, 176, 14), ("mb", 6, 3, 2, 176, 304, 18),
              ("mb", 6, 3, 1, 304, 512, 5))
V2L_STAGES = (("fused", 1, 3, 1, 32, 32, 4), ("fused", 4, 3, 2, 32, 64, 7), ("fused", 4, 3, 2, 64, 96, 7),
              ("mb", 4, 3, 2, 96, 192, 10), ("mb", 6, 3, 1, 192, 224, 19), ("mb", 6, 3, 2, 224, 384, 25),
              ("mb", 6, 3, 1, 384, 640, 7))
#: (stages, evaluation resolution) of torchvision efficientnet_v2_s / _m / _l.
V2_SIZES = {"s": (V2S_STAGES, 384), "m": (V2M_STAGES, 480), "l": (V2L_STAGES, 480)}


def efficientnet_v2_s(num_classes=1000, hw=384, batch=None):
    """torchvision ``efficientnet_v2_s`` (Tan & Le, ICML 2021) at its 384×384 evaluation size
    (:func:`efficientnet_v2` with ``size="s"``).

    >>> import plaster_model as pm
    >>> pm.model_from_onnx(efficientnet_v2_s()).params
    21458488
    """
    return efficientnet_v2("s", num_classes=num_classes, hw=hw, batch=batch)


def efficientnet_v2(size="s", num_classes=1000, hw=None, batch=None):
    """torchvision ``efficientnet_v2_s`` / ``_m`` / ``_l`` (Tan & Le, ICML 2021) at its evaluation
    size (384, 480, 480).

    Fused-MBConv stages (a k×k expansion convolution replaces the 1×1 + depthwise pair) then
    MBConv stages with squeeze-and-excitation (squeeze = a quarter of the block input);
    BatchNorm eps 0.001; the stem's width is the first stage's input; a 1280-channel head.

    >>> import plaster_model as pm
    >>> pm.model_from_onnx(efficientnet_v2("m", hw=224)).params   # torchvision: 54,139,356
    54139356
    """
    stages, res = V2_SIZES[size]
    hw = hw or res
    g = Graph(f"efficientnet_v2_{size}", (3, hw, hw))
    x = g.conv_bn(g.x, stages[0][4], 3, 2, act="silu", eps=0.001)
    for kind, e, k, s, cin, cout, n in stages:
        for i in range(n):
            stride = s if i == 0 else 1
            bin_ = cin if i == 0 else cout
            exp = make_divisible(bin_ * e, 8)
            if kind == "fused":
                if exp != bin_:
                    y = g.conv_bn(x, exp, k, stride, act="silu", eps=0.001)
                    y = g.conv_bn(y, cout, 1, 1, 0, act=None, eps=0.001)
                else:
                    y = g.conv_bn(x, cout, k, stride, act="silu", eps=0.001)
            else:
                y = g.conv_bn(x, exp, 1, 1, 0, act="silu", eps=0.001)
                y = g.conv_bn(y, exp, k, stride, groups=exp, act="silu", eps=0.001)
                y = _se(g, y, max(1, bin_ // 4), act="silu", gate="sigmoid")
                y = g.conv_bn(y, cout, 1, 1, 0, act=None, eps=0.001)
            x = g.add(y, x) if (stride == 1 and bin_ == cout) else y
    x = g.conv_bn(x, 1280, 1, 1, 0, act="silu", eps=0.001)
    g.x = g.linear(g.flatten(g.gap(x)), num_classes)
    return g.build(batch=batch)
