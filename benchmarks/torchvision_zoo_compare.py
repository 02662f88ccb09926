"""Compare ONNX-imported torchvision models with the model zoo, and explain each difference.

Run from the repository root::

    python benchmarks/torchvision_zoo_compare.py

Part 1 (needs ``onnx`` only) rebuilds the *Caffe* layouts the zoo figures come from (the
HPE slides took them from the Caffe model zoo) with ``onnx.helper`` and counts them with
:func:`plaster_model.onnx_import.model_from_onnx`, reconciling the zoo's parameter counts
with torchvision's to the last parameter.

Part 2 (needs ``torch`` and ``torchvision``; optional, not in CI) exports torchvision
``resnet50``, ``vgg16`` and ``alexnet`` with ``weights=None`` (random weights, no download)
to ONNX in a temporary folder, imports them, and prints parameters and MACs against
``sum(p.numel() for p in model.parameters())``, ``torch.utils.flop_counter`` and the zoo
(``model_zoo.yaml``). Without torch it says so and exits 0.

Convention: MACs are multiply-accumulates; the zoo stores these three models with
``flop_convention: macs`` (the slides' "GFLOPs" are multiply-adds), and
``Model.fwd_flops`` doubles them.
"""
from __future__ import annotations

import os
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from plaster_model.onnx_import import model_from_onnx  # noqa: E402

#: Zoo figures used when model_zoo.yaml cannot be read (HPE slides: params, GMACs).
ZOO_FALLBACK = {"AlexNet": (60_965_224, 0.7e9), "VGG-16": (138_357_544, 15.5e9),
                "ResNet-50": (25_610_269, 3.9e9)}
#: torchvision model cards (v0.13+): parameters and "GFLOPS" (which are GMACs).
TORCHVISION_CARD = {"alexnet": (61_100_840, 0.71e9), "vgg16": (138_357_544, 15.47e9),
                    "resnet50": (25_557_032, 4.09e9)}


def zoo_figures():
    """{zoo name: (params, MACs)} from model_zoo.yaml, else the HPE-slide fallback."""
    try:
        import yaml
        models = yaml.safe_load(open(REPO / "model_zoo.yaml"))["models"]
        from plaster_model.units import to_si
        out = {}
        for name in ZOO_FALLBACK:
            e = models[name]
            flops = to_si(e["fwd_flops"], "flops")
            macs = flops if e.get("flop_convention", "flops") == "macs" else flops / 2
            out[name] = (int(e["params"]), macs)
        return out, "model_zoo.yaml"
    except Exception as exc:  # the zoo file is another engineer's; fall back, say so
        return dict(ZOO_FALLBACK), f"HPE slides (model_zoo.yaml not read: {exc})"


# ------------------------------------------------------------------ part 1: Caffe ----
def caffe_alexnet():
    """BVLC AlexNet (Caffe model zoo, 227×227): grouped conv2/4/5 (group=2), biases.

    LRN layers are left out: they have no parameters and no multiply-adds in the count.
    """
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(0)
    nodes, inits = [], []

    def w(name, shape):
        inits.append(numpy_helper.from_array(rng.standard_normal(shape, dtype=np.float32) * 0.01, name))
        return name

    def conv(x, name, cin, cout, k, s, p, g=1):
        nodes.append(helper.make_node(
            "Conv", [x, w(f"{name}.w", (cout, cin // g, k, k)), w(f"{name}.b", (cout,))], [name],
            name=name, kernel_shape=[k, k], strides=[s, s], pads=[p] * 4, group=g))
        nodes.append(helper.make_node("Relu", [name], [name + "_r"], name=name + "_relu"))
        return name + "_r"

    def pool(x, name):
        nodes.append(helper.make_node("MaxPool", [x], [name], name=name, kernel_shape=[3, 3],
                                      strides=[2, 2]))
        return name

    x = pool(conv("data", "conv1", 3, 96, 11, 4, 0), "pool1")
    x = pool(conv(x, "conv2", 96, 256, 5, 1, 2, g=2), "pool2")
    x = conv(x, "conv3", 256, 384, 3, 1, 1)
    x = conv(x, "conv4", 384, 384, 3, 1, 1, g=2)
    x = pool(conv(x, "conv5", 384, 256, 3, 1, 1, g=2), "pool5")
    nodes.append(helper.make_node("Flatten", [x], ["flat"], name="flatten"))
    x = "flat"
    for name, cin, cout in (("fc6", 9216, 4096), ("fc7", 4096, 4096), ("fc8", 4096, 1000)):
        nodes.append(helper.make_node("Gemm", [x, w(f"{name}.w", (cout, cin)), w(f"{name}.b", (cout,))],
                                      [name], name=name, transB=1))
        x = name
    g = helper.make_graph(nodes, "bvlc_alexnet",
                          [helper.make_tensor_value_info("data", TensorProto.FLOAT, ["N", 3, 227, 227])],
                          [helper.make_tensor_value_info(x, TensorProto.FLOAT, None)], initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


def part1(zoo):
    from plaster_model.onnx_builders import resnet50
    print("== Part 1: the zoo's Caffe models rebuilt in code (onnx.helper) ==")
    alex = model_from_onnx(caffe_alexnet())
    macs = alex.layers.macs.sum()
    print(f"BVLC AlexNet (Caffe, 227x227, groups=2): {alex.params:,} params, {macs / 1e9:.3f} GMAC"
          f"   zoo AlexNet: {zoo['AlexNet'][0]:,} params, {zoo['AlexNet'][1] / 1e9:.2f} GMAC")
    print("  -> the zoo's 60,965,224 is exactly the grouped Caffe AlexNet; its 0.7 GMAC rounds "
          f"{macs / 1e9:.3f}.")

    r1 = model_from_onnx(resnet50(stride_on="1x1"))
    bn_channels = int(sum(r1.layers[r1.layers.op_type == "BatchNormalization"].params) // 2)
    n_bn = int((r1.layers.op_type == "BatchNormalization").sum())
    caffe = r1.params + 64 + 2 * bn_channels + n_bn
    print(f"ResNet-50 v1 (stride on the 1x1 conv, as Caffe/Keras): {r1.params:,} params "
          f"(torchvision layout), {r1.layers.macs.sum() / 1e9:.3f} GMAC")
    print(f"  Caffe count = {r1.params:,} + 64 (conv1 bias: the only Caffe conv without "
          f"bias_term: false) + 2 x {bn_channels:,} (BN running mean and variance, Caffe "
          f"BatchNorm blobs 0 and 1) + {n_bn} (one scale-factor scalar per BatchNorm layer, "
          f"blob 2) = {caffe:,}   zoo ResNet-50: {zoo['ResNet-50'][0]:,}"
          f"  {'(exact)' if caffe == zoo['ResNet-50'][0] else '(MISMATCH)'}")
    print("  Caffe's Scale layers hold gamma and beta, which torchvision counts as the BN "
          "weight and bias; torchvision's BN running statistics are buffers, not parameters.")
    print(f"  MACs: v1 {r1.layers.macs.sum() / 1e9:.3f} G (He et al. 2016: '3.8 x 10^9 FLOPs', "
          f"multiply-adds; zoo 3.9) vs torchvision v1.5 4.089 G: v1.5 moves the stride of "
          f"the first block of stages 3-5 from the 1x1 to the 3x3 conv, so that 3x3 runs at "
          f"the higher resolution.")
    print()


# ---------------------------------------------------------------- part 2: torch ----
def export(model, path, hw):
    """Export to ONNX keeping BatchNormalization nodes (training-mode export: the
    eval-mode TorchScript exporter folds BN into the convolution weights)."""
    import torch
    x = torch.randn(1, 3, hw, hw)
    kw = dict(input_names=["input"], output_names=["logits"], opset_version=17,
              dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model.train()
            torch.onnx.export(model, x, path, dynamo=False, do_constant_folding=False,
                              training=torch.onnx.TrainingMode.TRAINING, **kw)
            return "TorchScript exporter, training mode (BN kept)"
        except Exception as exc:  # a torch without the TorchScript exporter
            # optimize=False: the onnxscript optimizer folds BN into the convolutions and,
            # with untrained weights, merges identical initializers and drops zero biases,
            # which changes the parameter count of the file
            model.eval()
            torch.onnx.export(model, (x,), path, dynamo=True, optimize=False,
                              input_names=["input"], output_names=["logits"])
            return f"dynamo exporter, optimize=False (TorchScript exporter failed: {type(exc).__name__})"


def torch_macs(model, hw):
    """MACs from torch.utils.flop_counter (it counts 2 FLOPs per multiply-add)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        model(torch.randn(1, 3, hw, hw))
    return fc.get_total_flops() / 2


NOTES = {
    "alexnet": ("torchvision's AlexNet is the 'one weird trick' variant (Krizhevsky 2014): "
                "convs of 64-192-384-256-256 channels without groups and no LRN, against "
                "Caffe's 96-256-384-384-256 with groups=2 on conv2/4/5: convolutions hold "
                "2,469,696 parameters against 2,334,080 (+135,616), the three fc layers "
                "58,631,144 in both. MACs: 0.714 G at 224x224 vs 0.724 G for the Caffe net "
                "at 227x227; the zoo's 0.7 rounds either."),
    "vgg16": ("Same network as the Caffe VGG-16 (configuration D): identical parameter "
              "count. torchvision's AdaptiveAvgPool2d(7) is the identity at 224x224. "
              "15.47 GMAC; the zoo's 15.5 is the same figure rounded."),
    "resnet50": ("torchvision ResNet-50 is v1.5 (stride on the 3x3 conv: 4.09 GMAC against "
                 "v1's 3.86); the zoo's ResNet-50 is the Caffe v1 model, whose 25,610,269 "
                 "'parameters' add 53,237 non-trainable or extra blobs: conv1 bias (64), BN "
                 "running mean/var (53,120) and 53 BN scale factors (see part 1)."),
}


def part2(zoo):
    print("== Part 2: torchvision models exported to ONNX and imported ==")
    try:
        import torch  # noqa: F401
        import torchvision
    except ImportError:
        print("torch/torchvision are not installed: skipping the torchvision comparison "
              "(optional; pip install torch torchvision to run it).")
        return
    cases = [("resnet50", "ResNet-50", 224), ("vgg16", "VGG-16", 224), ("alexnet", "AlexNet", 224)]
    with tempfile.TemporaryDirectory() as tmp:
        for tv_name, zoo_name, hw in cases:
            model = getattr(torchvision.models, tv_name)(weights=None)
            tparams = sum(p.numel() for p in model.parameters())
            tmacs = torch_macs(model, hw)
            path = os.path.join(tmp, f"{tv_name}.onnx")
            how = export(model, path, hw)
            with warnings.catch_warnings(record=True) as rec:
                warnings.simplefilter("always")
                m = model_from_onnx(path, batch=1, name=tv_name)
            macs = m.layers.macs.sum()
            card_p, card_m = TORCHVISION_CARD[tv_name]
            zoo_p, zoo_m = zoo[zoo_name]
            print(f"--- {tv_name} ({how}; {len(m.layers)} ONNX nodes, "
                  f"{int((m.layers.op_type == 'BatchNormalization').sum())} BatchNormalization)")
            print(f"  params : ONNX import {m.params:,} | torch parameters() {tparams:,} | "
                  f"torchvision card {card_p:,} | zoo {zoo_name} {zoo_p:,} "
                  f"(diff vs zoo {m.params - zoo_p:+,})")
            print(f"  MACs   : ONNX import {macs / 1e9:.4f} G | torch flop_counter "
                  f"{tmacs / 1e9:.4f} G | card {card_m / 1e9:.2f} G | zoo {zoo_m / 1e9:.2f} G")
            print(f"  fwd_flops {m.fwd_flops / 1e9:.3f} GFLOP (2 x MACs + element-wise), "
                  f"activations {m.activation_bytes_per_sample / 1e6:.1f} MB/sample fp32")
            if m.params != tparams:
                print(f"  !! ONNX params differ from torch by {m.params - tparams:+,}")
            for w in rec:
                print(f"  warning: {w.message}")
            print(f"  note: {NOTES[tv_name]}")


def main():
    try:
        import onnx  # noqa: F401
    except ImportError:
        print("onnx is not installed: pip install 'plaster_model[onnx]'")
        return 0
    zoo, where = zoo_figures()
    print(f"zoo figures from {where}\n")
    part1(zoo)
    part2(zoo)
    return 0


if __name__ == "__main__":
    sys.exit(main())
