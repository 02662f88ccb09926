"""GoogLeNet (Szegedy et al., CVPR 2015) and Inception-v3 (Szegedy et al., CVPR 2016) in the
torchvision layouts (``torchvision.models.googlenet`` / ``inception``): every convolution is
``BasicConv2d`` = Conv (no bias) → BatchNorm (eps 0.001) → ReLU."""
from __future__ import annotations

from ._graph import Graph

__all__ = ["googlenet", "inception_v3", "inception_v4"]


def _c(g, x, cout, k, s=1, p=0):
    return g.conv_bn(x, cout, k, s, p, eps=0.001)


def googlenet(num_classes=1000, hw=224, batch=None):
    """torchvision ``googlenet`` as loaded with weights (auxiliary classifiers removed).

    torchvision's inception branch 3 uses a 3×3 convolution where the paper has 5×5
    (torchvision issue #906); this follows torchvision, whose parameter count it reproduces.

    >>> import plaster_model as pm
    >>> pm.model_from_onnx(googlenet()).params
    6624904
    """
    g = Graph("googlenet", (3, hw, hw))

    def inception(x, c1, c3r, c3, c5r, c5, pp):
        b1 = _c(g, x, c1, 1)
        b2 = _c(g, _c(g, x, c3r, 1), c3, 3, 1, 1)
        b3 = _c(g, _c(g, x, c5r, 1), c5, 3, 1, 1)
        b4 = _c(g, g.maxpool(x, 3, 1, 1, ceil=True), pp, 1)
        return g.concat([b1, b2, b3, b4])

    x = g.maxpool(_c(g, g.x, 64, 7, 2, 3), 3, 2, ceil=True)
    x = _c(g, x, 64, 1)
    x = g.maxpool(_c(g, x, 192, 3, 1, 1), 3, 2, ceil=True)
    x = inception(x, 64, 96, 128, 16, 32, 32)
    x = inception(x, 128, 128, 192, 32, 96, 64)
    x = g.maxpool(x, 3, 2, ceil=True)
    for cfg in ((192, 96, 208, 16, 48, 64), (160, 112, 224, 24, 64, 64), (128, 128, 256, 24, 64, 64),
                (112, 144, 288, 32, 64, 64), (256, 160, 320, 32, 128, 128)):
        x = inception(x, *cfg)
    x = g.maxpool(x, 2, 2, ceil=True)
    x = inception(x, 256, 160, 320, 32, 128, 128)
    x = inception(x, 384, 192, 384, 48, 128, 128)
    g.x = g.linear(g.flatten(g.gap(x)), num_classes)
    return g.build(batch=batch)


def inception_v3(num_classes=1000, hw=299, aux_logits=True, batch=None):
    """torchvision ``inception_v3`` (with its auxiliary classifier, as torchvision counts it).

    The auxiliary head is a second graph output; it runs only in training, and adds about
    0.1 % to the MACs.

    >>> import plaster_model as pm
    >>> pm.model_from_onnx(inception_v3()).params
    27161264
    """
    g = Graph("inception_v3", (3, hw, hw))

    def a(x, pf):
        b1 = _c(g, x, 64, 1)
        b5 = _c(g, _c(g, x, 48, 1), 64, 5, 1, 2)
        b3 = _c(g, _c(g, _c(g, x, 64, 1), 96, 3, 1, 1), 96, 3, 1, 1)
        bp = _c(g, g.avgpool(x, 3, 1, 1), pf, 1)
        return g.concat([b1, b5, b3, bp])

    def b(x):
        b3 = _c(g, x, 384, 3, 2)
        bd = _c(g, _c(g, _c(g, x, 64, 1), 96, 3, 1, 1), 96, 3, 2)
        return g.concat([b3, bd, g.maxpool(x, 3, 2)])

    def c(x, c7):
        b1 = _c(g, x, 192, 1)
        b7 = _c(g, _c(g, _c(g, x, c7, 1), c7, (1, 7), 1, (0, 3)), 192, (7, 1), 1, (3, 0))
        bd = _c(g, x, c7, 1)
        for k, p, out in (((7, 1), (3, 0), c7), ((1, 7), (0, 3), c7), ((7, 1), (3, 0), c7),
                          ((1, 7), (0, 3), 192)):
            bd = _c(g, bd, out, k, 1, p)
        bp = _c(g, g.avgpool(x, 3, 1, 1), 192, 1)
        return g.concat([b1, b7, bd, bp])

    def d(x):
        b3 = _c(g, _c(g, x, 192, 1), 320, 3, 2)
        b7 = _c(g, _c(g, _c(g, x, 192, 1), 192, (1, 7), 1, (0, 3)), 192, (7, 1), 1, (3, 0))
        b7 = _c(g, b7, 192, 3, 2)
        return g.concat([b3, b7, g.maxpool(x, 3, 2)])

    def e(x):
        b1 = _c(g, x, 320, 1)
        t = _c(g, x, 384, 1)
        b3 = g.concat([_c(g, t, 384, (1, 3), 1, (0, 1)), _c(g, t, 384, (3, 1), 1, (1, 0))])
        t = _c(g, _c(g, x, 448, 1), 384, 3, 1, 1)
        bd = g.concat([_c(g, t, 384, (1, 3), 1, (0, 1)), _c(g, t, 384, (3, 1), 1, (1, 0))])
        bp = _c(g, g.avgpool(x, 3, 1, 1), 192, 1)
        return g.concat([b1, b3, bd, bp])

    x = _c(g, g.x, 32, 3, 2)
    x = _c(g, x, 32, 3)
    x = _c(g, x, 64, 3, 1, 1)
    x = g.maxpool(x, 3, 2)
    x = _c(g, x, 80, 1)
    x = _c(g, x, 192, 3)
    x = g.maxpool(x, 3, 2)
    x = a(a(a(x, 32), 64), 64)
    x = b(x)
    x = c(c(c(c(x, 128), 160), 160), 192)
    outputs = []
    if aux_logits:
        t = g.avgpool(x, 5, 3)
        t = _c(g, t, 128, 1)
        t = _c(g, t, 768, 5)
        outputs.append(g.linear(g.flatten(g.gap(t)), num_classes, prefix="aux_fc"))
    x = e(e(d(x)))
    main = g.linear(g.flatten(g.gap(x)), num_classes)
    return g.build(outputs=[main, *outputs], batch=batch)


def inception_v4(num_classes=1000, hw=299, batch=None):
    """Inception-v4 (Szegedy et al., "Inception-v4, Inception-ResNet and the impact of residual
    connections", AAAI 2017) in the layout of the Cadene ``pretrainedmodels`` / imgclsmob code.

    >>> import plaster_model as pm
    >>> pm.model_from_onnx(inception_v4()).params
    42679816
    """
    g = Graph("inception_v4", (3, hw, hw))
    c = lambda x, co, k, s=1, p=0: _c(g, x, co, k, s, p)  # noqa: E731
    pool = lambda x: g.avgpool(x, 3, 1, 1, count_include_pad=0)  # noqa: E731

    x = c(c(c(g.x, 32, 3, 2), 32, 3), 64, 3, 1, 1)
    x = g.concat([g.maxpool(x, 3, 2), c(x, 96, 3, 2)])                                   # mixed 3a
    x = g.concat([c(c(x, 64, 1), 96, 3),
                  c(c(c(c(x, 64, 1), 64, (1, 7), 1, (0, 3)), 64, (7, 1), 1, (3, 0)), 96, 3)])  # 4a
    x = g.concat([c(x, 192, 3, 2), g.maxpool(x, 3, 2)])                                  # 5a
    for _ in range(4):                                                                    # A
        x = g.concat([c(x, 96, 1), c(c(x, 64, 1), 96, 3, 1, 1),
                      c(c(c(x, 64, 1), 96, 3, 1, 1), 96, 3, 1, 1), c(pool(x), 96, 1)])
    x = g.concat([c(x, 384, 3, 2), c(c(c(x, 192, 1), 224, 3, 1, 1), 256, 3, 2), g.maxpool(x, 3, 2)])
    for _ in range(7):                                                                    # B
        b1 = c(c(c(x, 192, 1), 224, (1, 7), 1, (0, 3)), 256, (7, 1), 1, (3, 0))
        b2 = c(x, 192, 1)
        for co, k, p in ((192, (7, 1), (3, 0)), (224, (1, 7), (0, 3)), (224, (7, 1), (3, 0)),
                         (256, (1, 7), (0, 3))):
            b2 = c(b2, co, k, 1, p)
        x = g.concat([c(x, 384, 1), b1, b2, c(pool(x), 128, 1)])
    b0 = c(c(x, 192, 1), 192, 3, 2)
    b1 = c(c(c(c(x, 256, 1), 256, (1, 7), 1, (0, 3)), 320, (7, 1), 1, (3, 0)), 320, 3, 2)
    x = g.concat([b0, b1, g.maxpool(x, 3, 2)])
    for _ in range(3):                                                                    # C
        t1 = c(x, 384, 1)
        t2 = c(c(c(x, 384, 1), 448, (3, 1), 1, (1, 0)), 512, (1, 3), 1, (0, 1))
        x = g.concat([c(x, 256, 1), c(t1, 256, (1, 3), 1, (0, 1)), c(t1, 256, (3, 1), 1, (1, 0)),
                      c(t2, 256, (1, 3), 1, (0, 1)), c(t2, 256, (3, 1), 1, (1, 0)), c(pool(x), 256, 1)])
    g.x = g.linear(g.flatten(g.gap(x)), num_classes)
    return g.build(batch=batch)
