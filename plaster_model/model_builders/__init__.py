"""Reference architectures built in code with :mod:`onnx.helper`, one module per family.

Each builder writes the network's graph (shape-only weights: for counting, not running; see
:mod:`._graph`); :func:`plaster_model.model_from_onnx` then counts its parameters and
multiply-adds from the architecture. :data:`SPECS` lists the zoo models built this way, with
the reference implementation each one reproduces and that implementation's published counts
(the tests check parameters exactly and multiply-adds within 1 %);
``scripts/make_model_zoo.py`` writes their ``model_zoo.yaml`` entries.

=================  ==========================================================  ===========
module             builders                                                    family
=================  ==========================================================  ===========
``resnet``         :func:`~.resnet.resnet` (ResNet, ResNeXt, Wide ResNet)      resnet ...
``vgg``            :func:`~.vgg.vgg`, :func:`~.vgg.alexnet`,                    vgg, ...
                   :func:`~.vgg.squeezenet`
``densenet``       :func:`~.densenet.densenet`                                 densenet
``mobilenet``      MobileNet v1/v2/v3, EfficientNet B0–B7, V2-S/M/L           mobilenet ...
``inception``      GoogLeNet, Inception-v3, Inception-v4                        inception
``transformers``   ViT, BERT, GPT-2, Transformer "big"                          vit, bert ...
``swin``           :func:`~.swin.swin`                                         swin
``unet``           :func:`~.unet.unet`, :func:`~.unet.unet3d` (MLPerf 3D U-Net)    unet
``rnnt``           :func:`~.rnnt.rnnt` (MLPerf RNN-T, LSTMs)                    rnnt
``diffusion``      :func:`~.diffusion.sd_unet` (Stable Diffusion v1.5 / 2 UNet)   diffusion
``dlrm``           :func:`~.dlrm.dlrm`, :func:`~.dlrm.dlrm_dcnv2`              dlrm
``detection``      RetinaNet, Mask R-CNN, SSD-ResNet34, SSD-MobileNet v1        retinanet ...
=================  ==========================================================  ===========

Examples
--------
>>> from plaster_model.model_builders import count
>>> m = count("ResNet-18")
>>> m.params, round(float(m.layers["macs"].sum()) / 1e9, 2)
(11689512, 1.81)
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable

__all__ = ["ZooSpec", "SPECS", "architecture", "build", "count", "zoo_entry"]

_TV = "torchvision models documentation (pytorch.org/vision/stable/models), {w}: num_params {p}, GFLOPS {f} (multiply-adds)"


@dataclass(frozen=True)
class ZooSpec:
    """One zoo model built in code.

    Attributes
    ----------
    name : str
        Zoo name.
    builder : callable
        Returns the ``onnx.ModelProto``.
    family, task, full_name : str
    reference : str
        The implementation whose layout is reproduced, with its published counts.
    ref_params : int or None
        Published parameter count of ``reference`` (None: no exact published count).
    ref_gmacs : float or None
        Published forward multiply-adds per sample [GMAC], as printed (torchvision's
        "GFLOPS" column counts multiply-adds).
    seq_len : int or None
        Tokens per sample (sequence models).
    """

    name: str
    builder: Callable
    family: str
    task: str
    full_name: str
    reference: str
    ref_params: int | None
    ref_gmacs: float | None
    aliases: tuple[str, ...] = ()
    seq_len: int | None = None
    notes: str = ""
    dims: dict = field(default_factory=dict)


def _lazy(module: str, fn: str, **kw):
    def make():
        import importlib
        return getattr(importlib.import_module(f".{module}", __name__), fn)(**kw)
    make.__name__ = f"{fn}({', '.join(f'{k}={v!r}' for k, v in kw.items())})"
    # the architecture, readable without building the graph (memory estimates and the zoo's
    # transformer configs need it)
    make.target, make.keywords = (module, fn), dict(kw)
    return make


def hf_config(spec: "ZooSpec") -> dict | None:
    """The Hugging Face config of a code-built BERT or GPT-2 (for the zoo's ``transformer:``
    field, whose parameter count the catalog loader checks against the graph's), else None."""
    fn = getattr(spec.builder, "target", (None, None))[1]
    kw = getattr(spec.builder, "keywords", {})
    if fn == "bert":
        return {"model_type": "bert", "hidden_size": kw.get("d", 768), "num_hidden_layers": kw.get("layers", 12),
                "num_attention_heads": kw.get("heads", 12), "intermediate_size": kw.get("ff", 3072),
                "vocab_size": kw.get("vocab", 30522), "max_position_embeddings": kw.get("max_pos", 512),
                "type_vocab_size": kw.get("type_vocab", 2)}
    if fn == "gpt2":
        return {"model_type": "gpt2", "n_embd": kw.get("d", 768), "n_layer": kw.get("layers", 12),
                "n_head": kw.get("heads", 12), "vocab_size": kw.get("vocab", 50257),
                "n_positions": kw.get("n_ctx", 1024)}
    return None


def _tv(name, module, fn, family, full, weights, params, gflops, aliases=(), task="image classification",
        notes="", **kw):
    return ZooSpec(name, _lazy(module, fn, **kw), family, task, full,
                   _TV.format(w=weights, p=f"{params:,}", f=gflops), params, gflops, tuple(aliases), notes=notes)


SPECS: dict[str, ZooSpec] = {s.name: s for s in [
    _tv("ResNet-18", "resnet", "resnet", "resnet", "ResNet-18 (He et al. 2016; torchvision resnet18)",
        "ResNet18_Weights.IMAGENET1K_V1", 11689512, 1.81, ["resnet18", "ResNet18", "resnet-18", "resnet_18"], depth=18),
    _tv("ResNet-34", "resnet", "resnet", "resnet", "ResNet-34 (He et al. 2016; torchvision resnet34)",
        "ResNet34_Weights.IMAGENET1K_V1", 21797672, 3.66, ["resnet34", "ResNet34", "resnet-34", "resnet_34"], depth=34),
    _tv("ResNet-101 v1.5", "resnet", "resnet", "resnet", "ResNet-101 v1.5 (torchvision resnet101; stride on the 3x3 convolution)",
        "ResNet101_Weights.IMAGENET1K_V1", 44549160, 7.80,
        ["resnet101 v1.5", "resnet101_v1.5", "ResNet101 v1.5", "torchvision resnet101", "resnet101-v1.5"], depth=101,
        notes="The original Caffe ResNet-101 (v1, stride on the first 1x1, 44,654,608 parameters with BatchNorm/Scale) is the zoo's ResNet-101."),
    _tv("ResNet-152 v1.5", "resnet", "resnet", "resnet", "ResNet-152 v1.5 (torchvision resnet152; stride on the 3x3 convolution)",
        "ResNet152_Weights.IMAGENET1K_V1", 60192808, 11.51,
        ["resnet152 v1.5", "resnet152_v1.5", "ResNet152 v1.5", "torchvision resnet152", "resnet152-v1.5"], depth=152,
        notes="The original Caffe ResNet-152 is the zoo's ResNet-152."),
    _tv("ResNeXt-50 32x4d", "resnet", "resnet", "resnext", "ResNeXt-50 32x4d (Xie et al. 2017; torchvision resnext50_32x4d)",
        "ResNeXt50_32X4D_Weights.IMAGENET1K_V1", 25028904, 4.23,
        ["resnext50_32x4d", "ResNeXt50 32x4d", "ResNeXt-50", "resnext50", "ResNeXt50"], depth=50, groups=32, width_per_group=4),
    _tv("ResNeXt-101 32x8d", "resnet", "resnet", "resnext", "ResNeXt-101 32x8d (Xie et al. 2017; torchvision resnext101_32x8d)",
        "ResNeXt101_32X8D_Weights.IMAGENET1K_V1", 88791336, 16.41,
        ["resnext101_32x8d", "ResNeXt101 32x8d"], depth=101, groups=32, width_per_group=8),
    _tv("ResNeXt-101 64x4d", "resnet", "resnet", "resnext", "ResNeXt-101 64x4d (Xie et al. 2017; torchvision resnext101_64x4d)",
        "ResNeXt101_64X4D_Weights.IMAGENET1K_V1", 83455272, 15.46,
        ["resnext101_64x4d", "ResNeXt101 64x4d"], depth=101, groups=64, width_per_group=4),
    ZooSpec("ResNeXt-101 32x4d", _lazy("resnet", "resnet", depth=101, groups=32, width_per_group=4), "resnext",
            "image classification", "ResNeXt-101 32x4d (Xie et al. 2017), torchvision-style layout (no torchvision weights exist)",
            "Xie et al., Aggregated Residual Transformations for Deep Neural Networks, CVPR 2017 (101-layer, 32x4d); "
            "imgclsmob (osmr) resnext101_32x4d, whose model tests assert weight_count == 44,177,704",
            44177704, None, ("resnext101_32x4d", "ResNeXt101 32x4d", "ResNeXt-101")),
    ZooSpec("SE-ResNeXt-101 32x4d", _lazy("resnet", "resnet", depth=101, groups=32, width_per_group=4, se_reduction=16),
            "resnext", "image classification",
            "SE-ResNeXt-101 32x4d (Hu et al., Squeeze-and-Excitation Networks, CVPR 2018): ResNeXt-101 32x4d with an SE module (r = 16) per block",
            "Hu et al., CVPR 2018 (SE-ResNeXt-101 32x4d); imgclsmob (osmr) seresnext101_32x4d, whose model tests assert "
            "weight_count == 48,955,416 (7x7 stem, SE after the last 1x1 convolution, as in the Cadene pretrainedmodels code)",
            48955416, None, ("se_resnext101_32x4d", "SE-ResNeXt101 32x4d", "SE-ResNeXt-101", "seresnext101_32x4d")),
    _tv("Wide ResNet-50-2", "resnet", "resnet", "resnet", "Wide ResNet-50-2 (Zagoruyko & Komodakis 2016; torchvision wide_resnet50_2)",
        "Wide_ResNet50_2_Weights.IMAGENET1K_V1", 68883240, 11.40,
        ["wide_resnet50_2", "WRN-50-2", "Wide ResNet50-2", "wide-resnet50-2"], depth=50, width_per_group=128),
    _tv("Wide ResNet-101-2", "resnet", "resnet", "resnet", "Wide ResNet-101-2 (torchvision wide_resnet101_2)",
        "Wide_ResNet101_2_Weights.IMAGENET1K_V1", 126886696, 22.75,
        ["wide_resnet101_2", "WRN-101-2", "Wide ResNet101-2"], depth=101, width_per_group=128),
    _tv("VGG-11", "vgg", "vgg", "vgg", "VGG-11 (Simonyan & Zisserman 2015, configuration A; torchvision vgg11)",
        "VGG11_Weights.IMAGENET1K_V1", 132863336, 7.61, ["vgg11", "VGG11", "vgg-11", "VGG-A"], depth=11),
    _tv("VGG-13", "vgg", "vgg", "vgg", "VGG-13 (configuration B; torchvision vgg13)",
        "VGG13_Weights.IMAGENET1K_V1", 133047848, 11.31, ["vgg13", "VGG13", "vgg-13", "VGG-B"], depth=13),
    _tv("VGG-11 BN", "vgg", "vgg", "vgg", "VGG-11 with BatchNorm (torchvision vgg11_bn)",
        "VGG11_BN_Weights.IMAGENET1K_V1", 132868840, 7.61, ["vgg11_bn", "VGG11-BN", "VGG-11-BN"], depth=11, batch_norm=True),
    _tv("VGG-16 BN", "vgg", "vgg", "vgg", "VGG-16 with BatchNorm (torchvision vgg16_bn)",
        "VGG16_BN_Weights.IMAGENET1K_V1", 138365992, 15.47, ["vgg16_bn", "VGG16-BN", "VGG-16-BN"], depth=16, batch_norm=True),
    _tv("VGG-19 BN", "vgg", "vgg", "vgg", "VGG-19 with BatchNorm (torchvision vgg19_bn)",
        "VGG19_BN_Weights.IMAGENET1K_V1", 143678248, 19.63, ["vgg19_bn", "VGG19-BN", "VGG-19-BN"], depth=19, batch_norm=True),
    _tv("AlexNet (torchvision)", "vgg", "alexnet", "alexnet", "AlexNet, torchvision one-tower variant (no groups, no LRN)",
        "AlexNet_Weights.IMAGENET1K_V1", 61100840, 0.71, ["torchvision alexnet", "alexnet_tv", "AlexNet torchvision"],
        notes="Differs from the grouped BVLC Caffe AlexNet (zoo: AlexNet, 60,965,224 parameters at 227x227)."),
    _tv("SqueezeNet 1.0", "vgg", "squeezenet", "squeezenet", "SqueezeNet 1.0 (Iandola et al. 2016; torchvision squeezenet1_0)",
        "SqueezeNet1_0_Weights.IMAGENET1K_V1", 1248424, 0.82, ["squeezenet1_0", "SqueezeNet", "squeezenet", "SqueezeNet1.0"], version="1_0"),
    _tv("SqueezeNet 1.1", "vgg", "squeezenet", "squeezenet", "SqueezeNet 1.1 (torchvision squeezenet1_1)",
        "SqueezeNet1_1_Weights.IMAGENET1K_V1", 1235496, 0.35, ["squeezenet1_1", "SqueezeNet1.1"], version="1_1"),
    _tv("DenseNet-121", "densenet", "densenet", "densenet", "DenseNet-121 (Huang et al. 2017; torchvision densenet121)",
        "DenseNet121_Weights.IMAGENET1K_V1", 7978856, 2.83, ["densenet121", "DenseNet121", "densenet-121"], depth=121),
    _tv("DenseNet-169", "densenet", "densenet", "densenet", "DenseNet-169 (torchvision densenet169)",
        "DenseNet169_Weights.IMAGENET1K_V1", 14149480, 3.36, ["densenet169", "DenseNet169", "densenet-169"], depth=169),
    _tv("DenseNet-201", "densenet", "densenet", "densenet", "DenseNet-201 (torchvision densenet201)",
        "DenseNet201_Weights.IMAGENET1K_V1", 20013928, 4.29, ["densenet201", "DenseNet201", "densenet-201"], depth=201),
    _tv("DenseNet-161", "densenet", "densenet", "densenet", "DenseNet-161 (torchvision densenet161)",
        "DenseNet161_Weights.IMAGENET1K_V1", 28681000, 7.73, ["densenet161", "DenseNet161", "densenet-161"], depth=161),
    _tv("GoogLeNet (torchvision)", "inception", "googlenet", "inception", "GoogLeNet with BatchNorm (torchvision googlenet, auxiliary heads removed)",
        "GoogLeNet_Weights.IMAGENET1K_V1", 6624904, 1.5, ["torchvision googlenet", "googlenet_tv", "GoogLeNet torchvision"],
        notes="torchvision's BatchNorm variant (its branch 3 uses a 3x3 convolution); the BVLC Caffe model is the zoo's GoogleNet."),
    _tv("Inception-v3 (torchvision)", "inception", "inception_v3", "inception", "Inception-v3 (Szegedy et al. 2016; torchvision inception_v3 with its auxiliary classifier)",
        "Inception_V3_Weights.IMAGENET1K_V1", 27161264, 5.71, ["torchvision inception_v3", "inception_v3_tv", "Inception-v3 torchvision"],
        notes="Counts include the auxiliary classifier, as torchvision's do (the Keras count without it is the zoo's Inception-v3); its multiply-adds (about 0.1 %) run only in training."),
    ZooSpec("Inception-v4", _lazy("inception", "inception_v4"), "inception", "image classification",
            "Inception-v4 (Szegedy et al., AAAI 2017), 299x299",
            "Szegedy, Ioffe, Vanhoucke & Alemi, Inception-v4, Inception-ResNet and the Impact of Residual Connections, AAAI 2017; "
            "imgclsmob (osmr) inceptionv4, whose model tests assert weight_count == 42,679,816 (the Cadene pretrainedmodels layout)",
            42679816, None, ("inception_v4", "InceptionV4", "inceptionv4", "Inception v4", "inception-v4")),
    ZooSpec("MobileNet v1", _lazy("mobilenet", "mobilenet_v1"), "mobilenet", "image classification",
            "MobileNet v1 (Howard et al. 2017, width 1.0, 224x224; Keras Applications MobileNet)",
            "Keras Applications documentation (MobileNet: 4,253,864 parameters, of which 4,231,976 trainable; "
            "the 21,888 others are BatchNorm moving statistics); Howard et al. 2017, Table 8: 569 million multiply-adds, 4.2 M parameters",
            4231976, 0.569, ("mobilenet_v1", "MobileNet", "MobileNetV1", "mobilenet", "mobilenet-v1")),
    _tv("MobileNet v2", "mobilenet", "mobilenet_v2", "mobilenet", "MobileNet v2 (Sandler et al. 2018; torchvision mobilenet_v2)",
        "MobileNet_V2_Weights.IMAGENET1K_V1", 3504872, 0.30, ["mobilenet_v2", "MobileNetV2", "mobilenetv2", "mobilenet-v2"]),
    _tv("MobileNet v3-large", "mobilenet", "mobilenet_v3", "mobilenet", "MobileNet v3-large (Howard et al. 2019; torchvision mobilenet_v3_large)",
        "MobileNet_V3_Large_Weights.IMAGENET1K_V1", 5483032, 0.22,
        ["mobilenet_v3_large", "MobileNetV3-Large", "MobileNetV3 large", "mobilenetv3_large"], size="large"),
    _tv("MobileNet v3-small", "mobilenet", "mobilenet_v3", "mobilenet", "MobileNet v3-small (torchvision mobilenet_v3_small)",
        "MobileNet_V3_Small_Weights.IMAGENET1K_V1", 2542856, 0.06,
        ["mobilenet_v3_small", "MobileNetV3-Small", "MobileNetV3 small", "mobilenetv3_small"], size="small"),
    *[_tv(f"EfficientNet-{v.upper()}", "mobilenet", "efficientnet", "efficientnet",
          f"EfficientNet-{v.upper()} (Tan & Le 2019; torchvision efficientnet_{v} at {res}x{res})",
          f"EfficientNet_{v.upper()}_Weights.IMAGENET1K_V1", p, f_,
          [f"efficientnet_{v}", f"EfficientNet{v.upper()}", f"efficientnet-{v}", f"EfficientNet {v.upper()}"], variant=v)
      for v, res, p, f_ in (("b0", 224, 5288548, 0.39), ("b1", 240, 7794184, 0.69), ("b2", 288, 9109994, 1.09),
                            ("b3", 300, 12233232, 1.83), ("b4", 380, 19341616, 4.39), ("b5", 456, 30389784, 10.27),
                            ("b6", 528, 43040704, 19.07), ("b7", 600, 66347960, 37.75))],
    _tv("EfficientNetV2-S", "mobilenet", "efficientnet_v2_s", "efficientnet", "EfficientNetV2-S (Tan & Le 2021; torchvision efficientnet_v2_s at 384x384)",
        "EfficientNet_V2_S_Weights.IMAGENET1K_V1", 21458488, 8.37, ["efficientnet_v2_s", "EfficientNetV2S", "efficientnetv2-s", "EfficientNet-V2-S"]),
    *[_tv(f"EfficientNetV2-{z.upper()}", "mobilenet", "efficientnet_v2", "efficientnet",
          f"EfficientNetV2-{z.upper()} (Tan & Le 2021; torchvision efficientnet_v2_{z} at 480x480)",
          f"EfficientNet_V2_{z.upper()}_Weights.IMAGENET1K_V1", p, f_,
          [f"efficientnet_v2_{z}", f"EfficientNetV2{z.upper()}", f"efficientnetv2-{z}", f"EfficientNet-V2-{z.upper()}",
           f"efficientnetv2_{z}"], size=z)
      for z, p, f_ in (("m", 54139356, 24.58), ("l", 118515272, 56.08))],
    _tv("ViT-B/16", "transformers", "vit", "vit", "Vision Transformer Base, 16x16 patches (Dosovitskiy et al. 2021; torchvision vit_b_16), 224x224, 197 tokens",
        "ViT_B_16_Weights.IMAGENET1K_V1", 86567656, 17.56, ["vit_b_16", "ViT-B-16", "ViT-Base/16", "vit-base-patch16-224"]),
    _tv("ViT-B/32", "transformers", "vit", "vit", "Vision Transformer Base, 32x32 patches (torchvision vit_b_32), 224x224, 50 tokens",
        "ViT_B_32_Weights.IMAGENET1K_V1", 88224232, 4.41, ["vit_b_32", "ViT-B-32", "ViT-Base/32"], patch=32),
    _tv("ViT-L/16", "transformers", "vit", "vit", "Vision Transformer Large, 16x16 patches (torchvision vit_l_16), 224x224, 197 tokens",
        "ViT_L_16_Weights.IMAGENET1K_V1", 304326632, 61.55, ["vit_l_16", "ViT-L-16", "ViT-Large/16"],
        d=1024, layers=24, heads=16, ff=4096),
    _tv("Swin-T", "swin", "swin", "swin", "Swin Transformer Tiny (Liu et al. 2021; torchvision swin_t), 224x224",
        "Swin_T_Weights.IMAGENET1K_V1", 28288354, 4.49, ["swin_t", "Swin-Tiny", "swin-tiny", "SwinT", "swin_tiny_patch4_window7_224"]),
    ZooSpec("BERT-base", _lazy("transformers", "bert", seq_len=384), "bert", "language model (SQuAD question answering)",
            "BERT-base uncased (Devlin et al. 2019; Hugging Face BertModel, bert-base-uncased, with pooler), one 384-token sequence",
            "Hugging Face transformers BertModel.from_pretrained('bert-base-uncased').num_parameters() = 109,482,240",
            109482240, None, ("bert-base-uncased", "bert_base", "BERT base", "bert-base", "BERT-Base"), seq_len=384,
            notes="A sample is one 384-token sequence (the SQuAD v1.1 fine-tuning and MLPerf inference length); "
                  "attention work grows with its square, the rest linearly. The task head (e.g. 768x2 for SQuAD) is not included."),
    ZooSpec("BERT-large", _lazy("transformers", "bert", d=1024, layers=24, heads=16, ff=4096, seq_len=384), "bert",
            "language model (SQuAD question answering)",
            "BERT-large uncased (Devlin et al. 2019; Hugging Face BertModel, bert-large-uncased, with pooler), one 384-token sequence",
            "Hugging Face transformers BertModel.from_pretrained('bert-large-uncased').num_parameters() = 335,141,888",
            335141888, None, ("bert-large-uncased", "bert_large", "BERT large", "bert-large", "BERT-Large",
                              "bert", "bert-99", "bert-99.9", "BERT-Large (SQuAD)", "MLPerf BERT", "bert-large-squad",
                              "bert-large-99", "bert-large-99.9"),
            seq_len=384,
            notes="A sample is one 384-token sequence (MLPerf BERT-large inference on SQuAD v1.1; MLPerf's 'bert', "
                  "'bert-99' and 'bert-99.9' name this model at two accuracy targets). The task head is not included."),
    ZooSpec("GPT-2", _lazy("transformers", "gpt2", seq_len=1024), "gpt", "language model",
            "GPT-2 small, 124 M (Radford et al. 2019; Hugging Face GPT2LMHeadModel 'gpt2', LM head tied to the token embedding), one 1024-token sequence",
            "Hugging Face transformers GPT2LMHeadModel.from_pretrained('gpt2').num_parameters() = 124,439,808 (tied weights counted once)",
            124439808, None, ("gpt2", "GPT-2 124M", "gpt2-small", "GPT2", "GPT-2 small"), seq_len=1024,
            notes="A sample is one full 1024-token context (training / prefill). Includes the LM head's multiply-adds "
                  "(1024 x 768 x 50,257 = 39.5 G of the total)."),
    ZooSpec("GPT-2 medium", _lazy("transformers", "gpt2", d=1024, layers=24, heads=16, seq_len=1024, name="gpt2_medium"), "gpt",
            "language model",
            "GPT-2 medium (Radford et al. 2019; Hugging Face GPT2LMHeadModel 'gpt2-medium', LM head tied), one 1024-token sequence",
            "Hugging Face transformers GPT2LMHeadModel.from_pretrained('gpt2-medium').num_parameters() = 354,823,168 (tied weights counted once)",
            354823168, None, ("gpt2-medium", "GPT-2 355M", "gpt2_medium", "GPT2 medium"), seq_len=1024,
            notes="A sample is one full 1024-token context (training / prefill); d 1024, 24 layers, 16 heads."),
    ZooSpec("GPT-2 large", _lazy("transformers", "gpt2", d=1280, layers=36, heads=20, seq_len=1024, name="gpt2_large"), "gpt",
            "language model",
            "GPT-2 large (Radford et al. 2019; Hugging Face GPT2LMHeadModel 'gpt2-large', LM head tied), one 1024-token sequence",
            "Hugging Face transformers GPT2LMHeadModel.from_pretrained('gpt2-large').num_parameters() = 774,030,080 (tied weights counted once)",
            774030080, None, ("gpt2-large", "GPT-2 774M", "gpt2_large", "GPT2 large"), seq_len=1024,
            notes="A sample is one full 1024-token context (training / prefill); d 1280, 36 layers, 20 heads."),
    ZooSpec("GPT-2 XL", _lazy("transformers", "gpt2", d=1600, layers=48, heads=25, seq_len=1024, name="gpt2_xl"), "gpt",
            "language model",
            "GPT-2 XL (Radford et al. 2019; Hugging Face GPT2LMHeadModel 'gpt2-xl', LM head tied), one 1024-token sequence",
            "Hugging Face transformers GPT2LMHeadModel.from_pretrained('gpt2-xl').num_parameters() = 1,557,611,200 (tied weights counted once)",
            1557611200, None, ("gpt2-xl", "GPT-2 1.5B", "gpt2_xl", "GPT2 XL"), seq_len=1024,
            notes="A sample is one full 1024-token context (training / prefill); d 1600, 48 layers, 25 heads."),
    ZooSpec("Transformer-big", _lazy("transformers", "transformer_nmt"), "transformer", "machine translation",
            "Transformer (big) for WMT translation (Vaswani et al. 2017): 6+6 layers, d 1024, 16 heads, ff 4096, shared 33,708-token vocabulary",
            "Vaswani et al., Attention Is All You Need, NeurIPS 2017, Table 3 (big: 213 M parameters with the paper's ~37,000-token "
            "vocabulary); vocabulary 33,708 of the MLPerf reference (tensor2tensor wmt32k)",
            None, None, ("transformer_big", "Transformer big", "transformer-big", "Transformer (big)", "transformer_wmt_en_de_big"),
            seq_len=128,
            notes="A sample is one sentence pair of 128 source and 128 target tokens (training with teacher forcing); "
                  "the paper reports 213 M parameters with its ~37 k vocabulary: 3,292 fewer embedding rows here (3.4 M)."),
    ZooSpec("DLRM (Criteo 1TB)", _lazy("dlrm", "dlrm"), "dlrm", "recommendation (click-through rate)",
            "DLRM, MLPerf Criteo-Terabyte configuration (26 tables x 128, indices capped at 40 M; MLPs 13-512-256-128 and 479-1024-1024-512-256-1)",
            "Naumov et al., Deep Learning Recommendation Model for Personalization and Recommendation Systems, arXiv:1906.00091 (2019); "
            "facebookresearch/dlrm dlrm_s_pytorch.py, MLPerf Terabyte configuration (ln_emb, ln_bot, ln_top)",
            None, None, ("DLRM", "dlrm", "DLRM Criteo TB", "dlrm_terabyte", "MLPerf DLRM", "dlrm-99", "dlrm-99.9"),
            notes="A sample is one click-log record (13 dense features, one index per table). 99.99 % of the parameters are "
                  "embedding rows, of which a sample reads 26 x 128 values; the work is the two MLPs and the 27 x 27 dot products."),
    ZooSpec("3D U-Net (KiTS19)", _lazy("unet", "unet3d"), "unet", "3-D medical image segmentation",
            "3D U-Net for KiTS19 kidney-tumour segmentation (MLPerf Training v1.0+ 'unet3d', Inference v2.0+ '3d-unet'): "
            "filters 32-64-128-256-320, InstanceNorm and ReLU, one 1x128x128x128 patch, 3 classes",
            "mlcommons/training image_segmentation/pytorch/model/unet3d.py and layers.py (Unet3D: filters [32, 64, 128, 256, 320], "
            "conv_block_factory: 3x3x3 convolutions without bias + InstanceNorm3d(affine=True); transposed 2x2x2 convolutions "
            "and the 1x1x1 output with bias; runtime/arguments.py: input_shape 128 128 128, activation relu)",
            None, None, ("3d-unet", "3d-unet-99", "3d-unet-99.9", "unet3d", "3D U-Net", "3D-UNet", "3d_unet",
                         "MLPerf 3D U-Net", "3D U-Net KiTS19"),
            notes="A sample is one 128x128x128 sub-volume (training patch; inference slides 128^3 windows with overlap "
                  "over each case, so a case is several samples). Counts derived from the reference code (no published "
                  "count). MLPerf Inference v0.7-v1.1's '3d-unet' was a different network (nnU-Net on BraTS 2019, "
                  "4 x 224 x 224 x 160), not this one."),
    ZooSpec("RNN-T (MLPerf)", _lazy("rnnt", "rnnt"), "rnnt", "speech recognition",
            "RNN-T (MLPerf Inference 'rnnt'): LSTM encoder 2 + 3 layers of 1024 with time stacking, prediction network "
            "2 x 320, joint 512, 29 labels; one 12.3 s utterance, greedy decoding",
            "mlcommons/inference speech_recognition/rnnt/pytorch (model_separable_rnnt.py: Encoder, Prediction with "
            "Embedding(vocab - 1, 320), Joint Linear(1344, 512) + ReLU + Linear(512, 29); rnnt.toml: encoder_n_hidden 1024, "
            "encoder_pre_rnn_layers 2, encoder_stack_time_factor 2, encoder_post_rnn_layers 3, pred_n_hidden 320, "
            "pred_rnn_layers 2, joint_n_hidden 512; 80 features x frame_splicing 3)",
            None, None, ("rnnt", "RNN-T", "rnn-t", "MLPerf RNN-T", "rnnt-99", "RNNT"),
            notes="A sample is one utterance of 12.3 s (the LibriSpeech 960 h mean: 1229 frames of 10 ms, 410 spliced "
                  "encoder steps, 205 after time stacking) with 184 characters (about 15 per second: an assumption). "
                  "Greedy decoding evaluates the joint network once per encoder step and once per label (389 times); "
                  "the featurizer and the decoding control flow are not counted. Counts derived from the reference code "
                  "(45,323,037 parameters; no exact published count)."),
    ZooSpec("RNN-T (MLPerf, training lattice)", _lazy("rnnt", "rnnt", lattice=True), "rnnt", "speech recognition",
            "RNN-T (MLPerf Training 'rnnt') with the joint network on the whole 205 x 184 (time x label) lattice the "
            "RNN-T loss needs; one 12.3 s utterance",
            "as RNN-T (MLPerf): mlcommons/inference and mlcommons/training rnnt references (the same network)",
            None, None, ("rnnt training", "rnnt-training", "RNN-T training", "rnnt_lattice"),
            notes="The same network and utterance as RNN-T (MLPerf); the joint network runs on all 205 x 184 = 37,720 "
                  "(time, label) pairs, as training does, so its forward work is about 3 times the greedy path's. "
                  "The loss itself is not counted."),
    ZooSpec("RetinaNet ResNet-50-FPN", _lazy("detection", "retinanet"), "retinanet", "object detection",
            "RetinaNet with a ResNet-50 FPN backbone (Lin et al. 2017; torchvision retinanet_resnet50_fpn, v1), 800x800, 91 COCO classes",
            "torchvision models documentation, RetinaNet_ResNet50_FPN_Weights.COCO_V1: num_params 34,014,999, GFLOPS 151.54 "
            "(multiply-adds); its backbone's BatchNorm is FrozenBatchNorm2d (buffers), so the graph's count is 34,014,999 + 53,120",
            None, 151.54, ("retinanet_resnet50_fpn", "RetinaNet R50-FPN", "RetinaNet ResNet50 FPN"),
            notes="Counts include the backbone's BatchNorm affine values (2 x 26,560 = 53,120), which torchvision holds "
                  "frozen as buffers (34,014,999 trainable). The class and box subnets run on five pyramid levels "
                  "with shared weights; anchors, box decoding and NMS are not counted."),
    ZooSpec("RetinaNet ResNeXt-50-FPN (MLPerf)",
            _lazy("detection", "retinanet", groups=32, width_per_group=4, num_classes=264, name="retinanet_resnext50_32x4d_fpn"),
            "retinanet", "object detection",
            "RetinaNet with a ResNeXt-50 32x4d FPN backbone, 264 OpenImages classes, 800x800 (MLPerf Training v2.0+ and Inference v2.1+ 'retinanet')",
            "mlcommons/training single_stage_detector reference (torchvision retinanet layout, backbone resnext50_32x4d, "
            "num_classes 264, image size 800x800); the same builder reproduces torchvision retinanet_resnet50_fpn "
            "(34,014,999 parameters + 53,120 frozen BatchNorm values, 151.54 GMAC)",
            None, None, ("retinanet", "RetinaNet", "MLPerf RetinaNet", "retinanet_resnext50_32x4d_fpn",
                         "RetinaNet ResNeXt50", "retinanet-resnext50", "RetinaNet 800x800"),
            notes="A sample is one 800x800 image. Counts include the backbone's BatchNorm affine values (frozen in the "
                  "reference, as in torchvision); the class (9 anchors x 264 classes) and box subnets run on P3-P7 with "
                  "shared weights; anchors, box decoding and NMS are not counted."),
    ZooSpec("SSD-ResNet34 1200", _lazy("detection", "ssd_resnet34"), "ssd", "object detection",
            "SSD with a ResNet-34 backbone at 1200x1200, 81 COCO classes (MLPerf Inference v0.5-v1.1 'ssd-resnet34', 'SSD-large')",
            "mlcommons/inference vision/classification_and_detection/python/models/ssd_r34.py (SSD_R34: strides [3, 3, 2, 2, 2, 2], "
            "out_chan [256, 512, 512, 256, 256, 256], num_defaults [4, 6, 6, 6, 4, 4]); the published ONNX model "
            "(resnet34-ssd1200.onnx, 80.4 MB) has outputs 324x50x50 ... 16x3x3; a published model card prints 433 G float ops",
            None, None, ("ssd-resnet34", "SSD-ResNet34", "ssd_resnet34", "SSD-large", "ssd-large", "SSD ResNet34",
                         "ssd-resnet34-1200", "resnet34-ssd1200"),
            notes="A sample is one 1200x1200 image. Counts derived from the reference code (no exact published count: the "
                  "fp32 ONNX file's 80.4 MB is 20.1 M values, BatchNorm statistics included); 2 x 216.4 G multiply-adds = "
                  "432.8 GFLOP against the 433 G printed by a model card. Box decoding and NMS are not counted."),
    ZooSpec("SSD-ResNet34 300", _lazy("detection", "ssd_resnet34", hw=300, head_stride=1, fourth_extra_stride=1,
                                      name="ssd300_resnet34"), "ssd", "object detection",
            "SSD with a ResNet-34 backbone at 300x300, 81 COCO classes (MLPerf Training v0.5-v1.1 'ssd', single_stage_detector)",
            "mlcommons/training single_stage_detector (SSD300 with a ResNet-34 backbone) and the SSD_R34 code of "
            "mlcommons/inference with strides [1, 1, 2, 2, 2, 1] ('For SSD 300 ... 38x38x4, 19x19x6, 10x10x6, 5x5x6, 3x3x4, 1x1x4': 8,732 boxes)",
            None, None, ("ssd300-resnet34", "SSD-ResNet34 300x300", "ssd-resnet34-300", "SSD300 ResNet34", "ssd_r34_300"),
            notes="A sample is one 300x300 image. The same parameters as SSD-ResNet34 1200 (only strides differ). MLPerf "
                  "Training's benchmark named 'ssd' is this model in v0.5-v1.1 and RetinaNet (zoo: retinanet) from v2.0. "
                  "Box matching, the loss and NMS are not counted."),
    ZooSpec("SSD-MobileNet v1", _lazy("detection", "ssd_mobilenet_v1"), "ssd", "object detection",
            "SSD with a MobileNet v1 feature extractor at 300x300, 91 classes (TensorFlow Object Detection API "
            "ssd_mobilenet_v1_coco; MLPerf Inference v0.5-v1.1 'ssd-mobilenet', 'SSD-small')",
            "TensorFlow Object Detection API ssd_mobilenet_v1_coco (feature maps Conv2d_11/13_pointwise + 4 extra layers "
            "512/256/256/128, 1x1 box predictor, 3 then 6 anchors, 91 classes; BatchNorm with scale, epsilon 0.001)",
            None, None, ("ssd-mobilenet", "SSD-MobileNet", "ssd_mobilenet_v1", "ssd_mobilenet_v1_coco", "SSD-small",
                         "ssd-small", "SSD MobileNet v1", "ssd-mobilenet-v1"),
            notes="A sample is one 300x300 image. Counts derived from the Object Detection API layout (BatchNorm scale "
                  "and offset counted, moving statistics not); 2 x 1.237 G multiply-adds = 2.47 GFLOP. Anchor decoding "
                  "and NMS are not counted."),
    ZooSpec("Mask R-CNN ResNet-50-FPN", _lazy("detection", "mask_rcnn"), "maskrcnn", "instance segmentation",
            "Mask R-CNN with a ResNet-50 FPN backbone (He et al. 2017; torchvision maskrcnn_resnet50_fpn, v1; MLPerf Training "
            "'maskrcnn'), 800x1333 padded to 800x1344, 512 box and 128 mask proposals per image",
            "torchvision models documentation, MaskRCNN_ResNet50_FPN_Weights.COCO_V1: num_params 44,401,393; its backbone's "
            "BatchNorm is FrozenBatchNorm2d (buffers), so the graph's count is 44,401,393 + 53,120",
            None, None, ("maskrcnn", "Mask R-CNN", "MaskRCNN", "maskrcnn_resnet50_fpn", "Mask R-CNN R50-FPN",
                         "mask_rcnn", "MLPerf Mask R-CNN"),
            notes="A sample is one COCO image resized to 800x1333 and padded to 800x1344. Approximations: the box head "
                  "runs on 512 proposals and the mask head on 128 (the reference's training sampling: 512 RoIs per "
                  "image, at most 25 % positive; inference runs 1,000 and at most 100), RoIAlign reads P2 for every "
                  "proposal and is not costed, anchors, NMS, box decoding and the losses are not counted. Counts include "
                  "the backbone's BatchNorm affine values (2 x 26,560), frozen in the reference."),
    ZooSpec("DLRM-DCNv2 (Criteo 1TB multi-hot)", _lazy("dlrm", "dlrm_dcnv2"), "dlrm", "recommendation (click-through rate)",
            "DLRM with a DCNv2 low-rank cross network (MLPerf Training and Inference v3.0+ 'dlrm-v2'): 26 multi-hot tables "
            "x 128 (indices capped at 40 M), MLPs 13-512-256-128 and 3456-1024-1024-512-256-1, 3 cross layers of rank 512",
            "mlcommons/training recommendation_v2/torchrec_dlrm (torchrec DLRM_DCN; --embedding_dim 128, --dense_arch_layer_sizes "
            "512,256,128, --over_arch_layer_sizes 1024,1024,512,256,1, --num_embeddings_per_feature 40000000,39060,...,36, "
            "--interaction_type dcn, --dcn_num_layers 3, --dcn_low_rank_dim 512, --multi_hot_sizes 3,2,1,...,1)",
            None, None, ("dlrm-v2", "dlrm-v2-99", "dlrm-v2-99.9", "dlrm_dcnv2", "DLRM DCNv2", "DLRMv2", "dlrmv2",
                         "DLRM-DCNv2", "MLPerf DLRM-DCNv2", "dlrm dcnv2"),
            notes="A sample is one click-log record of the synthetic multi-hot Criteo 1TB set: 13 dense features and "
                  "214 embedding rows in all (1 to 100 per table), summed per table. 99.94 % of the parameters are "
                  "embedding rows; the work is the MLPs and the cross network. The MLPerf v0.7-v2.1 DLRM (one-hot, "
                  "dot interaction) is the zoo's DLRM (Criteo 1TB)."),
    ZooSpec("Stable Diffusion v1.5 UNet", _lazy("diffusion", "sd_unet"), "diffusion", "image generation (one denoising step)",
            "Stable Diffusion v1.5 denoising UNet (Rombach et al. 2022; diffusers UNet2DConditionModel, runwayml/stable-diffusion-v1-5): "
            "one 64x64x4 latent (512x512 image), 77 x 768 CLIP text states",
            "Hugging Face diffusers UNet2DConditionModel with the runwayml/stable-diffusion-v1-5 unet/config.json "
            "(block_out_channels 320/640/1280/1280, layers_per_block 2, attention_head_dim 8, cross_attention_dim 768): "
            "num_parameters() = 859,520,964 (the model card's '860M UNet')",
            859520964, None, ("stable-diffusion-v1-5", "runwayml/stable-diffusion-v1-5", "SD 1.5 UNet", "sd15-unet",
                              "Stable Diffusion 1.5", "Stable Diffusion v1.5", "sd-v1.5"),
            notes="A sample is one UNet evaluation on one 64x64 latent: a pipeline runs it once per denoising step "
                  "(twice with classifier-free guidance), for tens of steps; the CLIP text encoder and the VAE are not "
                  "included. Training (MLPerf) runs the UNet once per image per step."),
    ZooSpec("Stable Diffusion 2 UNet", _lazy("diffusion", "sd_unet", heads=(5, 10, 20, 20), text_dim=1024),
            "diffusion", "image generation (one denoising step)",
            "Stable Diffusion 2 denoising UNet (diffusers UNet2DConditionModel, stabilityai/stable-diffusion-2-base; MLPerf "
            "Training v3.1+ 'stable_diffusion'): one 64x64x4 latent (512x512), 77 x 1024 OpenCLIP text states",
            "Hugging Face diffusers UNet2DConditionModel with the stabilityai/stable-diffusion-2-base unet/config.json "
            "(attention_head_dim 5/10/20/20, cross_attention_dim 1024, use_linear_projection): num_parameters() = 865,910,724",
            865910724, None, ("stable_diffusion", "stabilityai/stable-diffusion-2-base", "stable-diffusion-2",
                              "SD 2 UNet", "sd2-unet", "MLPerf Stable Diffusion", "Stable Diffusion v2"),
            notes="A sample is one UNet evaluation on one 64x64 latent (MLPerf Training: 512x512 images; the frozen "
                  "OpenCLIP text encoder and VAE encoder are not included). Linear projections in and out of the "
                  "transformers have the parameters and work of the 1x1 convolutions of v1.5."),
    ZooSpec("U-Net", _lazy("unet", "unet"), "unet", "image segmentation",
            "U-Net (Ronneberger et al. 2015) as in the paper's Fig. 1: 572x572x1 input, unpadded convolutions, 2 output classes",
            "Ronneberger, Fischer & Brox, U-Net: Convolutional Networks for Biomedical Image Segmentation, MICCAI 2015, Fig. 1",
            None, None, ("unet", "UNet", "u-net", "U-Net (2015)"),
            notes="Counts derived from the paper's figure (no reference implementation count is published); 572x572 input."),
]}


def architecture(name: str) -> dict:
    """The keyword arguments of ``name``'s builder, its defaults filled in (no graph built).

    ``{}`` for a name that is not built in code. For a transformer: ``d``, ``layers``,
    ``heads`` (and ``seq_len``, ``patch``, ``hw``, ... as the builder takes them).

    >>> architecture("GPT-2 XL")["d"], architecture("GPT-2 XL")["layers"]
    (1600, 48)
    """
    import importlib
    import inspect

    spec = SPECS.get(name)
    target = getattr(spec.builder, "target", None) if spec is not None else None
    if target is None:
        return {}
    fn = getattr(importlib.import_module(f".{target[0]}", __name__), target[1])
    out = {k: p.default for k, p in inspect.signature(fn).parameters.items()
           if p.default is not inspect.Parameter.empty}
    out.update(spec.builder.keywords)
    out["builder"] = target[1]
    return out


def build(name: str, **kwargs):
    """The ONNX graph of the zoo model ``name`` (a key of :data:`SPECS`)."""
    spec = SPECS[name]
    return spec.builder(**kwargs) if kwargs else spec.builder()


@functools.lru_cache(maxsize=None)
def count(name: str):
    """:func:`plaster_model.model_from_onnx` of :func:`build` (cached per process)."""
    from ..onnx_import import model_from_onnx
    spec = SPECS[name]
    return model_from_onnx(build(name), name=name, task=spec.task)


def kernel_count(layers) -> int:
    """Operators of a forward pass that launch device work: the rows of a layer table
    (:func:`plaster_model.onnx_import.onnx_layer_table`) that are not views (reshapes,
    flattens and other metadata-only nodes launch nothing)."""
    return int((layers["kind"] != "view").sum())


def zoo_entry(name: str) -> dict:
    """The ``model_zoo.yaml`` entry of ``name``: counts from the graph, the spec's metadata."""
    spec = SPECS[name]
    m = count(name)
    macs = int(m.layers["macs"].sum())
    entry = {
        "full_name": spec.full_name,
        "aliases": list(spec.aliases),
        "family": spec.family,
        "task": spec.task,
    }
    hf = hf_config(spec)
    if hf is not None:
        entry["transformer"] = hf
    if m.input_shape and spec.seq_len is None:
        entry["input_shape"] = list(m.input_shape)
    if spec.seq_len is not None:
        entry["seq_len"] = spec.seq_len
    entry["params"] = int(m.params)
    entry["kernels"] = kernel_count(m.layers)
    entry["fwd_flops"] = f"{macs / 1e9:.10g} GFLOP"
    entry["flop_convention"] = "macs"
    entry["source"] = (f"built in code: plaster_model.model_builders ({spec.builder.__name__}), counted by "
                       f"plaster_model.model_from_onnx; layout of {spec.reference}")
    sources = {"params": ("equals the published count of the reference implementation" if spec.ref_params
                          else "counted from the architecture (no exact published count)"),
               "kernels": "non-view nodes of the built graph (plaster_model.model_builders.kernel_count)"}
    if spec.ref_gmacs:
        sources["fwd_flops"] = f"multiply-adds counted from the graph; the reference prints {spec.ref_gmacs} G"
    else:
        sources["fwd_flops"] = "multiply-adds counted from the graph (Conv/Gemm/MatMul, attention QK^T and AV included)"
    entry["sources"] = sources
    other = float(m.fwd_flops) - 2.0 * macs
    note = (f"Element-wise work (normalization, activations, softmax, pooling) adds "
            f"{other / 1e9:.3g} GFLOP to the {2 * macs / 1e9:.4g} GFLOP of the multiply-adds.")
    entry["notes"] = (spec.notes + " " + note).strip()
    return entry
