"""VGG (Simonyan & Zisserman, ICLR 2015) and AlexNet (Krizhevsky et al., NIPS 2012) in the
torchvision layout (``torchvision.models.vgg`` / ``alexnet``: ungrouped convolutions)."""
from __future__ import annotations
from ..errors import ParameterError

from ._graph import Graph

__all__ = ["vgg", "alexnet", "squeezenet", "CFGS"]

#: torchvision ``cfgs``: convolution widths, "M" = 2×2 max-pool.
CFGS = {
    11: (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    13: (64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    16: (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"),
    19: (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
         512, 512, 512, 512, "M"),
}


def vgg(depth=16, batch_norm=False, num_classes=1000, hw=224, batch=None):
    """torchvision ``vgg{depth}[_bn]``: 3×3 convolutions with bias, three fully connected layers.

    >>> import plaster_model as pm
    >>> pm.model_from_onnx(vgg(11)).params
    132863336
    """
    g = Graph(f"vgg{depth}{'_bn' if batch_norm else ''}", (3, hw, hw))
    x = g.x
    for v in CFGS[depth]:
        if v == "M":
            x = g.maxpool(x, 2, 2)
        else:
            x = g.conv(x, v, 3, 1, 1, bias=True)
            x = g.act(g.bn(x) if batch_norm else x)
    x = g.flatten(x)          # adaptive average pool to 7×7 is the identity at 224×224
    x = g.act(g.linear(x, 4096))
    x = g.act(g.linear(x, 4096))
    g.x = g.linear(x, num_classes)
    return g.build(batch=batch)


def alexnet(num_classes=1000, hw=224, batch=None):
    """torchvision ``alexnet`` (one-tower variant of Krizhevsky et al. 2012, no LRN).

    >>> import plaster_model as pm
    >>> pm.model_from_onnx(alexnet()).params
    61100840
    """
    g = Graph("alexnet", (3, hw, hw))
    x = g.act(g.conv(g.x, 64, 11, 4, 2, bias=True))
    x = g.maxpool(x, 3, 2)
    x = g.act(g.conv(x, 192, 5, 1, 2, bias=True))
    x = g.maxpool(x, 3, 2)
    x = g.act(g.conv(x, 384, 3, 1, 1, bias=True))
    x = g.act(g.conv(x, 256, 3, 1, 1, bias=True))
    x = g.act(g.conv(x, 256, 3, 1, 1, bias=True))
    x = g.maxpool(x, 3, 2)    # 6×6 at 224: the adaptive pool is the identity
    x = g.flatten(x)
    x = g.act(g.linear(x, 4096))
    x = g.act(g.linear(x, 4096))
    g.x = g.linear(x, num_classes)
    return g.build(batch=batch)


def squeezenet(version="1_0", num_classes=1000, hw=224, batch=None):
    """torchvision ``squeezenet1_0`` / ``squeezenet1_1`` (Iandola et al., 2016).

    >>> import plaster_model as pm
    >>> pm.model_from_onnx(squeezenet("1_1")).params
    1235496
    """
    g = Graph(f"squeezenet{version}", (3, hw, hw))

    def fire(x, s, e1, e3):
        sq = g.act(g.conv(x, s, 1, 1, 0, bias=True))
        return g.concat([g.act(g.conv(sq, e1, 1, 1, 0, bias=True)),
                         g.act(g.conv(sq, e3, 3, 1, 1, bias=True))])

    if version == "1_0":
        x = g.maxpool(g.act(g.conv(g.x, 96, 7, 2, 0, bias=True)), 3, 2, ceil=True)
        x = fire(fire(fire(x, 16, 64, 64), 16, 64, 64), 32, 128, 128)
        x = g.maxpool(x, 3, 2, ceil=True)
        x = fire(fire(fire(fire(x, 32, 128, 128), 48, 192, 192), 48, 192, 192), 64, 256, 256)
        x = g.maxpool(x, 3, 2, ceil=True)
        x = fire(x, 64, 256, 256)
    elif version == "1_1":
        x = g.maxpool(g.act(g.conv(g.x, 64, 3, 2, 0, bias=True)), 3, 2, ceil=True)
        x = fire(fire(x, 16, 64, 64), 16, 64, 64)
        x = g.maxpool(x, 3, 2, ceil=True)
        x = fire(fire(x, 32, 128, 128), 32, 128, 128)
        x = g.maxpool(x, 3, 2, ceil=True)
        x = fire(fire(fire(fire(x, 48, 192, 192), 48, 192, 192), 64, 256, 256), 64, 256, 256)
    else:
        raise ParameterError("version", version, message=f"version must be '1_0' or '1_1', got {version!r}")
    x = g.act(g.conv(x, num_classes, 1, 1, 0, bias=True))
    g.x = g.flatten(g.gap(x))
    return g.build(batch=batch)
