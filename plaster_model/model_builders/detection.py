"""Object detectors in the torchvision layout: RetinaNet (ResNet/ResNeXt + FPN + shared heads)
and Mask R-CNN (ResNet-50 FPN, RPN, box and mask heads at a stated number of proposals);
MLPerf's SSD-ResNet34 ("SSD-large", 1200×1200) and SSD-MobileNet v1 ("SSD-small", 300×300).

Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017 (RetinaNet); Lin et al.,
"Feature Pyramid Networks for Object Detection", CVPR 2017 (FPN). torchvision
``retinanet_resnet50_fpn`` (v1) is the layout; MLPerf's RetinaNet (Training v2.0+, Inference
v2.1+) is the same network on a ResNeXt-50 32x4d backbone with 264 OpenImages classes at
800×800 (mlcommons/training ``single_stage_detector``).

What the graph counts: backbone, FPN (P3–P5 from C3–C5, P6/P7 by stride-2 convolutions),
the classification and box-regression subnets applied to the five levels **with shared
weights** (each parameter counted once, its work five times). Anchor generation, box
decoding, top-k and NMS (post-processing, data-dependent) are not in the graph.

The FPN's nearest-neighbour 2× upsample is written as an ONNX ``Tile`` with repeats
``[1, 1, 2, 2]``: the same output shape and the same bytes read and written (a copy, no
arithmetic), which is what the operator table charges.
"""
from __future__ import annotations

from ._graph import Graph, conv_out
from .resnet import resnet_stages

__all__ = ["retinanet", "fpn", "mask_rcnn", "ssd_resnet34", "ssd_mobilenet_v1"]


def _shared_conv(g, x, weights: tuple[str, str], cout: int, k: int = 3, s: int = 1):
    """A convolution with existing (shared) weight and bias tensors, 'same' padding."""
    c, h, w = g.shapes[x]
    p = k // 2
    return g.node("Conv", [x, *weights], (cout, conv_out(h, k, s, p), conv_out(w, k, s, p)),
                  kernel_shape=[k, k], strides=[s, s], pads=[p, p, p, p], group=1, dilations=[1, 1])


def _upsample2x(g, x):
    c, h, w = g.shapes[x]
    return g.node("Tile", [x, g.const_i64(g.uid("repeats"), [1, 1, 2, 2])], (c, 2 * h, 2 * w))


def fpn(g, feats, channels: int = 256, p6p7_from_p5: bool = True, extra: str = "p6p7") -> list:
    """torchvision ``FeaturePyramidNetwork`` over ``feats`` (C3, C4, C5) plus ``LastLevelP6P7``:
    lateral 1×1 convolutions (bias), top-down nearest 2× upsample + add, 3×3 output
    convolutions (bias); P6 = 3×3 stride-2 convolution of P5 (v1; of C5 when
    ``p6p7_from_p5`` is False), P7 = the same of ReLU(P6). Returns [P3, ..., P7].
    ``extra="maxpool"`` (Mask R-CNN's ``LastLevelMaxPool``): one more level, a 1×1 stride-2
    max-pool of the last output, instead of P6/P7."""
    lat = [g.conv(c, channels, 1, 1, 0, bias=True, prefix="fpn_inner") for c in feats]
    inner = lat[-1]
    outs = [g.conv(inner, channels, 3, 1, 1, bias=True, prefix="fpn_layer")]
    for lateral in reversed(lat[:-1]):
        inner = g.add(lateral, _upsample2x(g, inner))
        outs.insert(0, g.conv(inner, channels, 3, 1, 1, bias=True, prefix="fpn_layer"))
    if extra == "maxpool":
        return outs + [g.maxpool(outs[-1], 1, 2, 0)]
    p6 = g.conv(outs[-1] if p6p7_from_p5 else feats[-1], channels, 3, 2, 1, bias=True, prefix="p6")
    p7 = g.conv(g.act(p6), channels, 3, 2, 1, bias=True, prefix="p7")
    return outs + [p6, p7]


def _head(g, levels, channels: int, out_per_anchor: int, anchors: int, tag: str) -> list:
    """A RetinaNet subnet: 4 × (3×3 conv + ReLU) then a 3×3 conv to ``anchors × out``,
    its weights shared by every pyramid level."""
    ws = [(g.weight(f"{tag}.conv{i}.weight", (channels, channels, 3, 3)),
           g.weight(f"{tag}.conv{i}.bias", (channels,))) for i in range(4)]
    last = anchors * out_per_anchor
    wl = (g.weight(f"{tag}.out.weight", (last, channels, 3, 3)), g.weight(f"{tag}.out.bias", (last,)))
    outs = []
    for x in levels:
        for w in ws:
            x = g.act(_shared_conv(g, x, w, channels))
        outs.append(_shared_conv(g, x, wl, last))
    return outs


def retinanet(depth=50, groups=1, width_per_group=64, num_classes=91, anchors=9, hw=800, batch=None,
              name=None):
    """RetinaNet (torchvision ``retinanet_resnet50_fpn`` layout) as an ONNX graph (for counting).

    Parameters
    ----------
    depth, groups, width_per_group : int
        Backbone (:func:`~.resnet.resnet`): ResNet-50 is ``50, 1, 64``; MLPerf's ResNeXt-50
        32x4d is ``50, 32, 4``.
    num_classes : int
        91 (torchvision, COCO) or 264 (MLPerf, OpenImages subset).
    anchors : int
        Anchors per location (3 scales × 3 aspect ratios).
    hw : int
        Input height = width [px] (MLPerf: 800).

    Notes
    -----
    Parameters: backbone without its classifier + FPN + heads. For ResNet-50 and 91 classes:
    backbone 25,557,032 − 2,049,000 (fc) = 23,508,032; FPN 3·(1×1 lateral) + 5·(3×3, 256)
    = 917,504 + 768 + 5·590,080 = 3,868,672; heads 2·4·590,080 + (2304·819 + 819) + (2304·36 + 36)
    = 6,691,415; total 34,068,119. torchvision reports 34,014,999 because its backbone's
    BatchNorm is ``FrozenBatchNorm2d`` (affine values held as buffers: 2 × 26,560 = 53,120).

    Examples
    --------
    >>> import plaster_model as pm
    >>> pm.model_from_onnx(retinanet()).params - 53120     # torchvision retinanet_resnet50_fpn
    34014999
    """
    g = Graph(name or f"retinanet_resnet{depth}_fpn", (3, hw, hw))
    feats = resnet_stages(g, g.x, depth, groups, width_per_group)[1:]
    levels = fpn(g, feats)
    outs = _head(g, levels, 256, num_classes, anchors, "cls") + _head(g, levels, 256, 4, anchors, "box")
    return g.build(outputs=outs, batch=batch)


def _roi_align(g, x, deltas, rois: int, size: int):
    """ONNX ``RoiAlign`` of ``rois`` boxes to ``size``×``size`` from feature map ``x``; the boxes
    are the first ``rois`` rows of the RPN's box output ``deltas`` read as [-1, 4] (where the
    proposals come from; no constant tensor, so nothing is miscounted as a parameter). Its
    output's leading dimension is the proposal count: the proposals play the batch from here."""
    flat = g.node("Reshape", [deltas, g.const_i64(g.uid("shape"), [-1, 4])], (4,))
    boxes = g.node("Slice", [flat, g.const_i64(g.uid("st"), [0]), g.const_i64(g.uid("en"), [rois]),
                             g.const_i64(g.uid("ax"), [0])], (4,))
    col = g.node("Slice", [boxes, g.const_i64(g.uid("st"), [0]), g.const_i64(g.uid("en"), [1]),
                           g.const_i64(g.uid("ax"), [1])], (1,))
    idx = g.node("Cast", [g.node("Reshape", [col, g.const_i64(g.uid("shape"), [-1])], ())], (), to=7)
    c = g.shapes[x][0]
    return g.node("RoiAlign", [x, boxes, idx], (c, size, size), output_height=size, output_width=size,
                  sampling_ratio=2, mode="avg")


def mask_rcnn(num_classes=91, hw=(800, 1344), box_rois=512, mask_rois=128, batch=None, name=None):
    """Mask R-CNN (He et al., ICCV 2017) in the torchvision ``maskrcnn_resnet50_fpn`` (v1) layout.

    ResNet-50 backbone; FPN P2–P5 from C2–C5 (1×1 lateral, 3×3 output, 256 channels) plus a
    max-pooled P6; the RPN head (3×3 conv + ReLU, 1×1 objectness for 3 anchors, 1×1 box deltas)
    on the five levels with shared weights; RoIAlign 7×7 → two 1024-wide FC layers → class
    and box predictors on ``box_rois`` proposals; RoIAlign 14×14 → four 3×3 convolutions →
    2×2 transposed convolution → 1×1 mask logits on ``mask_rois`` proposals.

    Parameters
    ----------
    hw : (int, int)
        Padded input (height, width) [px]: 800×1333 images padded to a multiple of 32.
    box_rois, mask_rois : int
        Proposals per image through the box and mask heads. Defaults: the training sampling of
        the reference (512 per image, at most 25 % positives = 128 for the masks); at
        inference torchvision runs 1,000 proposals through the box head and at most 100
        detections through the mask head.

    Notes
    -----
    Approximations (stated in the zoo entry): RoIAlign reads from P2 for every proposal (the
    reference picks the level by box size; the work after it is the same); anchor generation,
    proposal NMS, box decoding and the losses are not in the graph; RoIAlign is an op the
    layer table does not cost (a gather of 256·7·7 values per proposal).
    Parameters: backbone without classifier 23,508,032 (BatchNorm included); FPN
    3,840·256 + 4·256 + 4·590,080 = 3,344,384; RPN 590,080 + 771 + 3,084 = 593,935; box head
    12,846,080 + 1,049,600 + 93,275 + 373,100 = 14,362,055; mask head 4·590,080 + 262,400 +
    23,387 = 2,646,107; total 44,454,513 = torchvision's 44,401,393 + 53,120 frozen
    BatchNorm values.

    Examples
    --------
    >>> import warnings, plaster_model as pm
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")       # RoiAlign: not costed
    ...     pm.model_from_onnx(mask_rcnn()).params - 53120   # torchvision maskrcnn_resnet50_fpn
    44401393
    """
    h, w = hw
    g = Graph(name or "maskrcnn_resnet50_fpn", (3, h, w))
    feats = resnet_stages(g, g.x, 50)
    levels = fpn(g, feats, extra="maxpool")
    # RPN head, shared across the five levels
    conv = (g.weight("rpn.conv.weight", (256, 256, 3, 3)), g.weight("rpn.conv.bias", (256,)))
    cls = (g.weight("rpn.cls.weight", (3, 256, 1, 1)), g.weight("rpn.cls.bias", (3,)))
    box = (g.weight("rpn.box.weight", (12, 256, 1, 1)), g.weight("rpn.box.bias", (12,)))
    outs, deltas = [], []
    for x in levels:
        t = g.act(_shared_conv(g, x, conv, 256))
        deltas.append(_shared_conv(g, t, box, 12, k=1))
        outs += [_shared_conv(g, t, cls, 3, k=1), deltas[-1]]
    # box head (TwoMLPHead + FastRCNNPredictor) on box_rois proposals
    r = g.flatten(_roi_align(g, levels[0], deltas[0], box_rois, 7))
    r = g.act(g.linear(r, 1024))
    r = g.act(g.linear(r, 1024))
    outs += [g.linear(r, num_classes), g.linear(r, 4 * num_classes)]
    # mask head (MaskRCNNHeads + MaskRCNNPredictor) on mask_rois proposals
    m = _roi_align(g, levels[0], deltas[0], mask_rois, 14)
    for _ in range(4):
        m = g.act(g.conv(m, 256, 3, 1, 1, bias=True))
    c, mh, mw = g.shapes[m]
    up = g.uid("mask_up")
    m = g.node("ConvTranspose", [m, g.weight(f"{up}.weight", (c, 256, 2, 2)), g.weight(f"{up}.bias", (256,))],
               (256, 2 * mh, 2 * mw), name=up, kernel_shape=[2, 2], strides=[2, 2])
    outs.append(g.conv(g.act(m), num_classes, 1, 1, 0, bias=True))
    return g.build(outputs=outs, batch=batch)


#: SSD-ResNet34 extra blocks: (1×1 width, 3×3 output channels, stride, padding) after the backbone.
SSD_R34_EXTRAS = ((256, 512, 2, 1), (256, 512, 2, 1), (128, 256, 2, 1), (128, 256, 2, 0), (128, 256, 1, 0))


def ssd_resnet34(num_classes=81, hw=1200, head_stride=3, fourth_extra_stride=2, batch=None, name=None):
    """MLPerf Inference's SSD-ResNet34 ("SSD-large", COCO at 1200×1200; mlcommons/inference
    ``vision/classification_and_detection/python/models/ssd_r34.py``, ``SSD_R34``).

    Backbone: torchvision ResNet-34 through ``layer3`` (three stages), the third stage's first
    block at stride 1 (256 channels at 1/8 of the input: 150×150). Five extra blocks (1×1 conv
    + ReLU, 3×3 conv + ReLU, with bias): 512@75, 512@38, 256@19, 256@9, 256@7. On the six
    feature maps, 3×3 location (4 × anchors) and confidence (81 × anchors) convolutions with
    anchors (4, 6, 6, 6, 4, 4), at stride ``head_stride`` (3 in the 1200×1200 model: outputs
    50, 25, 13, 7, 3, 3, as the published ONNX model's). Box decoding and NMS are not counted.
    MLPerf Training's SSD (v0.5–v1.1) is the same code at 300×300 with strides
    ``[1, 1, 2, 2, 2, 1]``: ``hw=300, head_stride=1, fourth_extra_stride=1`` (maps 38, 19, 10,
    5, 3, 1: 8,732 boxes).

    Notes
    -----
    Parameters: ResNet-34 through layer3 = 21,797,672 − 13,114,368 (layer4) − 513,000 (fc)
    = 8,170,304; extras 1,245,952 + 1,311,488 + 360,832 + 2 · 328,064 = 3,574,400; location
    heads 387,192; confidence heads 7,840,638; total 19,972,534 (the published fp32 ONNX file
    is 80.4 MB: 20.1 M values with the BatchNorm statistics).

    Examples
    --------
    >>> import plaster_model as pm
    >>> pm.model_from_onnx(ssd_resnet34()).params
    19972534
    """
    g = Graph(name or "ssd_resnet34", (3, hw, hw))
    x = resnet_stages(g, g.x, 34, strides=(1, 2, 1), num_stages=3)[-1]
    levels = [x]
    for i, (mid, cout, s, p) in enumerate(SSD_R34_EXTRAS):
        s = fourth_extra_stride if i == 3 else s
        x = g.act(g.conv(x, mid, 1, 1, 0, bias=True))
        x = g.act(g.conv(x, cout, 3, s, p, bias=True))
        levels.append(x)
    outs = []
    for x, nd in zip(levels, (4, 6, 6, 6, 4, 4)):
        outs.append(g.conv(x, 4 * nd, 3, head_stride, 1, bias=True, prefix="loc"))
        outs.append(g.conv(x, num_classes * nd, 3, head_stride, 1, bias=True, prefix="conf"))
    return g.build(outputs=outs, batch=batch)


def ssd_mobilenet_v1(num_classes=91, hw=300, batch=None, name=None):
    """SSD-MobileNet v1 at 300×300 in the TensorFlow Object Detection API layout
    (``ssd_mobilenet_v1_coco``; MLPerf Inference v0.5–v1.1 "ssd-mobilenet", "SSD-small").

    Feature extractor: MobileNet v1 (:func:`~.mobilenet.mobilenet_v1_features`; its
    ``Conv2d_11_pointwise``, 512@19×19, and ``Conv2d_13_pointwise``, 1024@10×10) plus four
    extra layers (1×1 conv to half the depth, 3×3 stride-2 conv to 512, 256, 256, 128, each
    with BatchNorm and ReLU6, no conv bias): 5×5, 3×3, 2×2, 1×1. Box predictor: 1×1
    convolutions (bias) to anchors × 4 and anchors × 91 classes (90 + background), 3 anchors
    on the first map and 6 on the others. Anchor decoding and NMS are not counted.

    Notes
    -----
    Parameters (BatchNorm scale and offset included, moving statistics not): MobileNet v1
    without its classifier 4,231,976 − 1,025,000 = 3,206,976; extras 2,223,488; box heads
    58,500; class heads 1,330,875; total 6,819,839.

    Examples
    --------
    >>> import plaster_model as pm
    >>> pm.model_from_onnx(ssd_mobilenet_v1()).params
    6819839
    """
    from .mobilenet import mobilenet_v1_features

    g = Graph(name or "ssd_mobilenet_v1", (3, hw, hw))
    feats = mobilenet_v1_features(g, g.x)
    levels = [feats[10], feats[12]]
    x = feats[12]
    for depth in (512, 256, 256, 128):
        x = g.conv_bn(x, depth // 2, 1, 1, 0, act="relu6", eps=0.001)
        x = g.conv_bn(x, depth, 3, 2, 1, act="relu6", eps=0.001)
        levels.append(x)
    outs = []
    for x, nd in zip(levels, (3, 6, 6, 6, 6, 6)):
        outs.append(g.conv(x, 4 * nd, 1, 1, 0, bias=True, prefix="box"))
        outs.append(g.conv(x, num_classes * nd, 1, 1, 0, bias=True, prefix="cls"))
    return g.build(outputs=outs, batch=batch)
