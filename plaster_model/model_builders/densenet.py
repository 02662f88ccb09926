"""DenseNet (Huang et al., "Densely connected convolutional networks", CVPR 2017) in the
torchvision layout (``torchvision.models.densenet``)."""
from __future__ import annotations

from ._graph import Graph

__all__ = ["densenet", "CONFIGS"]

#: (growth rate, block sizes, initial features) by depth.
CONFIGS = {121: (32, (6, 12, 24, 16), 64), 169: (32, (6, 12, 32, 32), 64),
           201: (32, (6, 12, 48, 32), 64), 161: (48, (6, 12, 36, 24), 96)}


def densenet(depth=121, bn_size=4, num_classes=1000, hw=224, batch=None):
    """torchvision ``densenet{depth}``: BN-ReLU-Conv dense layers, transitions halve channels.

    >>> import plaster_model as pm
    >>> pm.model_from_onnx(densenet(121)).params
    7978856
    """
    growth, blocks, init = CONFIGS[depth]
    g = Graph(f"densenet{depth}", (3, hw, hw))
    x = g.maxpool(g.conv_bn(g.x, init, 7, 2, 3), 3, 2, 1)
    c = init
    for i, n in enumerate(blocks):
        feats = [x]
        for _ in range(n):
            cat = g.concat(feats) if len(feats) > 1 else feats[0]
            y = g.conv(g.act(g.bn(cat)), bn_size * growth, 1, 1, 0)
            y = g.conv(g.act(g.bn(y)), growth, 3, 1, 1)
            feats.append(y)
        x = g.concat(feats)
        c += n * growth
        if i != len(blocks) - 1:
            x = g.conv(g.act(g.bn(x)), c // 2, 1, 1, 0)
            x = g.avgpool(x, 2, 2)
            c //= 2
    x = g.act(g.bn(x))
    g.x = g.linear(g.flatten(g.gap(x)), num_classes)
    return g.build(batch=batch)
