"""ResNet, ResNeXt and Wide ResNet in the torchvision layout (``torchvision.models.resnet``).

He et al., "Deep residual learning for image recognition", CVPR 2016; Xie et al., "Aggregated
residual transformations" (ResNeXt), CVPR 2017; Zagoruyko & Komodakis, "Wide residual
networks", BMVC 2016. torchvision puts the bottleneck stride on the 3×3 convolution ("v1.5").
"""
from __future__ import annotations

from ._graph import Graph

__all__ = ["resnet", "resnet_stages", "DEPTHS"]

#: blocks per stage and block type, by depth (torchvision ``_resnet`` calls).
DEPTHS = {18: ("basic", (2, 2, 2, 2)), 34: ("basic", (3, 4, 6, 3)), 50: ("bottleneck", (3, 4, 6, 3)),
          101: ("bottleneck", (3, 4, 23, 3)), 152: ("bottleneck", (3, 8, 36, 3))}


def resnet(depth=50, groups=1, width_per_group=64, num_classes=1000, hw=224, batch=None, name=None,
           se_reduction=None):
    """A torchvision ResNet / ResNeXt / Wide ResNet as an ONNX graph (for counting).

    Parameters
    ----------
    depth : {18, 34, 50, 101, 152}
    groups, width_per_group : int
        ResNeXt cardinality and width (``resnext50_32x4d``: 32, 4); Wide ResNet doubles the
        width (``wide_resnet50_2``: 1, 128).
    hw : int
        Input height = width [px].
    se_reduction : int, optional
        Add a squeeze-and-excitation module (Hu et al., "Squeeze-and-excitation networks",
        CVPR 2018) to every bottleneck, as SE-ResNeXt does: global average pool → 1×1 conv
        (bias) to C/r → ReLU → 1×1 conv (bias) to C → sigmoid → scale, before the addition
        (the Cadene ``pretrainedmodels`` / timm ``SENet`` layout, r = 16).

    Returns
    -------
    onnx.ModelProto
        Input ``input`` [N, 3, hw, hw]; shape-only weights (see :mod:`._graph`).

    Examples
    --------
    >>> import plaster_model as pm
    >>> from plaster_model.model_builders.resnet import resnet
    >>> pm.model_from_onnx(resnet(18)).params     # torchvision resnet18
    11689512
    """
    g = Graph(name or f"resnet{depth}", (3, hw, hw))
    x = resnet_stages(g, g.x, depth, groups, width_per_group, se_reduction)[-1]
    x = g.flatten(g.gap(x))
    g.x = g.linear(x, num_classes)
    return g.build(batch=batch)


def resnet_stages(g, x, depth=50, groups=1, width_per_group=64, se_reduction=None,
                  strides=(1, 2, 2, 2), num_stages=4) -> list:
    """Append the stem and the stages of :func:`resnet` to ``g``; return the stage outputs
    (C2..C5, strides 4, 8, 16, 32), the features a detection backbone (FPN) reads.
    ``strides`` (of each stage's first block) and ``num_stages`` serve truncated backbones
    (SSD-ResNet34: three stages, the third at stride 1)."""
    kind, blocks = DEPTHS[depth]
    blocks = blocks[:num_stages]
    x = g.conv_bn(x, 64, 7, 2, 3)
    x = g.maxpool(x, 3, 2, 1)
    inplanes = 64
    expansion = 1 if kind == "basic" else 4
    feats = []
    for stage, (n, planes) in enumerate(zip(blocks, (64, 128, 256, 512))):
        for b in range(n):
            stride = strides[stage] if b == 0 else 1
            out = planes * expansion
            short = x
            if stride != 1 or inplanes != out:
                short = g.conv_bn(x, out, 1, stride, 0, act=None)
            if kind == "basic":
                y = g.conv_bn(x, planes, 3, stride)
                y = g.conv_bn(y, planes, 3, 1, act=None)
            else:
                width = int(planes * (width_per_group / 64.0)) * groups
                y = g.conv_bn(x, width, 1, 1, 0)
                y = g.conv_bn(y, width, 3, stride, groups=groups)
                y = g.conv_bn(y, out, 1, 1, 0, act=None)
                if se_reduction:
                    from .mobilenet import _se
                    y = _se(g, y, out // se_reduction, act="relu", gate="sigmoid")
            x = g.act(g.add(y, short))
            inplanes = out
        feats.append(x)
    return feats
