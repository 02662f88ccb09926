"""U-Net (Ronneberger, Fischer & Brox, MICCAI 2015), exactly as the paper's Fig. 1 draws it:
unpadded 3×3 convolutions with bias and ReLU, 2×2 max-pooling, 2×2 up-convolutions that halve
the channels, cropped skip connections, a final 1×1 convolution; input 572×572×1, output
388×388×2; and MLPerf's 3D U-Net (:func:`unet3d`, KiTS19, 128³ patches)."""
from __future__ import annotations

from ._graph import Graph

__all__ = ["unet", "unet3d", "UNET3D_FILTERS"]


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


#: Channels per level of MLPerf's 3D U-Net (mlcommons/training ``image_segmentation``, ``Unet3D``).
UNET3D_FILTERS = (32, 64, 128, 256, 320)


def unet3d(in_channels=1, classes=3, filters=UNET3D_FILTERS, patch=128, batch=None):
    """MLPerf's 3D U-Net for KiTS19 kidney-tumour segmentation (Training v1.0+, Inference
    v2.0+ "3d-unet"), mlcommons/training ``image_segmentation/pytorch/model/unet3d.py``.

    Every 3×3×3 convolution has no bias and is followed by ``InstanceNorm3d(affine=True)`` and
    ReLU (the reference's defaults). Input block (2 convolutions at 32 channels), four
    downsampling blocks (a stride-2 convolution then a stride-1 one: 64, 128, 256, 320), a
    bottleneck block (320, stride 2), five upsampling blocks (2×2×2 stride-2 transposed
    convolution with bias, concatenation with the skip, two convolutions) and a 1×1×1
    convolution with bias to ``classes``. A sample is one ``patch``³ sub-volume (training:
    128³; inference slides 128³ windows over each case).

    Parameters: see ``tests/test_zoo_mlperf.py`` (31,190,243 for the defaults).

    >>> import plaster_model as pm
    >>> pm.model_from_onnx(unet3d()).params
    31190243
    """
    g = Graph("unet3d", (in_channels, patch, patch, patch))

    def conv(x, cout, s=1):
        c, d, h, w = g.shapes[x]
        name = g.uid("conv3d")
        y = g.node("Conv", [x, g.weight(f"{name}.weight", (cout, c, 3, 3, 3))],
                   (cout, (d - 1) // s + 1, (h - 1) // s + 1, (w - 1) // s + 1), name=name,
                   kernel_shape=[3, 3, 3], strides=[s, s, s], pads=[1] * 6)
        n = g.uid("in")
        y = g.node("InstanceNormalization", [y, g.weight(f"{n}.weight", (cout,), 1.0), g.weight(f"{n}.bias", (cout,))],
                   g.shapes[y], name=n, epsilon=1e-5)
        return g.act(y)

    def up(x, skip, cout):
        c, d, h, w = g.shapes[x]
        name = g.uid("upconv3d")
        y = g.node("ConvTranspose", [x, g.weight(f"{name}.weight", (c, cout, 2, 2, 2)), g.weight(f"{name}.bias", (cout,))],
                   (cout, 2 * d, 2 * h, 2 * w), name=name, kernel_shape=[2, 2, 2], strides=[2, 2, 2])
        y = g.concat([y, skip])
        return conv(conv(y, cout), cout)

    x = conv(conv(g.x, filters[0]), filters[0])
    skips = [x]
    for cout in filters[1:]:
        x = conv(conv(x, cout, 2), cout)
        skips.append(x)
    x = conv(conv(x, filters[-1], 2), filters[-1])      # bottleneck
    for skip in reversed(skips):
        x = up(x, skip, g.shapes[skip][0])
    name = g.uid("out")
    c = g.shapes[x][0]
    g.x = g.node("Conv", [x, g.weight(f"{name}.weight", (classes, c, 1, 1, 1)), g.weight(f"{name}.bias", (classes,))],
                 (classes, *g.shapes[x][1:]), name=name, kernel_shape=[1, 1, 1])
    return g.build(batch=batch)
