"""U-Net (Ronneberger, Fischer & Brox, MICCAI 2015), exactly as the paper's Fig. 1 draws it:
unpadded 3×3 convolutions with bias and ReLU, 2×2 max-pooling, 2×2 up-convolutions that halve
the channels, cropped skip connections, a final 1×1 convolution; input 572×572×1, output
388×388×2."""
from __future__ import annotations

from ._graph import Graph

__all__ = ["unet"]


def unet(in_channels=1, classes=2, base=64, hw=572, batch=None):
    """The paper's U-Net (23 convolutional layers).

    Parameters (derivation in the tests): every 3×3 convolution ``9·cin·cout + cout``, every
    up-convolution ``4·cin·cout + cout``, the last 1×1 ``64·classes + classes``:
    31,030,658 for 1 input channel and 2 classes.
    """
    g = Graph("unet", (in_channels, hw, hw))

    def double(x, c):
        return g.act(g.conv(g.act(g.conv(x, c, 3, 1, 0, bias=True)), c, 3, 1, 0, bias=True))

    x = g.x
    skips = []
    for i in range(4):
        x = double(x, base * 2 ** i)
        skips.append(x)
        x = g.maxpool(x, 2, 2)
    x = double(x, base * 16)
    for i in reversed(range(4)):
        c = base * 2 ** i
        cin, h, _ = g.shapes[x]
        name = g.uid("upconv")
        w = g.weight(f"{name}.weight", (cin, c, 2, 2))
        b = g.weight(f"{name}.bias", (c,))
        x = g.node("ConvTranspose", [x, w, b], (c, 2 * h, 2 * h), name=name,
                   kernel_shape=[2, 2], strides=[2, 2])
        skip = skips[i]
        sc, sh, _ = g.shapes[skip]
        off = (sh - 2 * h) // 2
        crop = g.node("Slice", [skip, g.const_i64(g.uid("st"), [off, off]),
                                g.const_i64(g.uid("en"), [off + 2 * h, off + 2 * h]),
                                g.const_i64(g.uid("ax"), [2, 3])], (sc, 2 * h, 2 * h))
        x = double(g.concat([crop, x]), c)
    g.x = g.conv(x, classes, 1, 1, 0, bias=True)
    return g.build(batch=batch)
