"""The models MLPerf and the CNN tables ask about (issue 22): detectors built in code, the larger
EfficientNets, GPT-J and MLPerf's short names. Parameter counts are checked against the
reference implementation's published figure where one exists, else against a derivation by
hand written here; the stored operator tables carry every new model."""
import gzip
import json
import warnings

import pytest

pytest.importorskip("onnx")

import plaster_model as pm  # noqa: E402
from plaster_model.model_builders import SPECS, count, kernel_count  # noqa: E402
from plaster_model.model_builders.operators import OPERATOR_TABLES  # noqa: E402

NEW = ["EfficientNet-B5", "EfficientNet-B6", "EfficientNet-B7", "EfficientNetV2-M", "EfficientNetV2-L",
       "RetinaNet ResNet-50-FPN", "RetinaNet ResNeXt-50-FPN (MLPerf)", "Mask R-CNN ResNet-50-FPN",
       "SSD-ResNet34 1200", "SSD-ResNet34 300", "SSD-MobileNet v1", "3D U-Net (KiTS19)",
       "RNN-T (MLPerf)", "RNN-T (MLPerf, training lattice)", "DLRM-DCNv2 (Criteo 1TB multi-hot)",
       "Stable Diffusion v1.5 UNet", "Stable Diffusion 2 UNet"]


def _count(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # Mask R-CNN's RoiAlign is not costed (stated)
        return count(name)


def conv3(cin, cout):
    return 9 * cin * cout + cout             # 3x3 convolution with bias


def conv1(cin, cout):
    return cin * cout + cout                 # 1x1 convolution with bias


# ResNet-50's BatchNorm channels: stem 64; a bottleneck block of width p has BN over p, p, 4p;
# each stage's first block adds a downsample BN over 4p. Stages (p, blocks) = (64, 3),
# (128, 4), (256, 6), (512, 3). torchvision's detectors hold these as FrozenBatchNorm2d
# buffers (not parameters); the graphs count their scale and offset (2 values per channel).
R50_BN_CHANNELS = 64 + sum(n * 6 * p + 4 * p for p, n in ((64, 3), (128, 4), (256, 6), (512, 3)))
R50_FROZEN_BN = 2 * R50_BN_CHANNELS


def test_resnet50_frozen_batchnorm_count():
    # independent check of the constant above: torchvision resnet50 (25,557,032) less its fc
    # (2048 x 1000 + 1000) less BN = the conv weights alone, 23,454,912 (summed in the next test)
    assert R50_BN_CHANNELS == 26_560 and R50_FROZEN_BN == 53_120


# ---- RetinaNet ---------------------------------------------------------------------------
FPN_P3_P7 = (conv1(512, 256) + conv1(1024, 256) + conv1(2048, 256)   # lateral 1x1 from C3..C5
             + 3 * conv3(256, 256) + 2 * conv3(256, 256))            # P3..P5 outputs, P6, P7


def _retina_heads(classes, anchors=9):
    return (4 * conv3(256, 256) + conv3(256, anchors * classes)     # class subnet
            + 4 * conv3(256, 256) + conv3(256, anchors * 4))        # box subnet


def test_retinanet_r50_equals_torchvision():
    # torchvision docs, RetinaNet_ResNet50_FPN_Weights.COCO_V1: num_params 34,014,999,
    # GFLOPS 151.54 (multiply-adds, at 800x800)
    m = _count("RetinaNet ResNet-50-FPN")
    backbone = 25_557_032 - (2048 * 1000 + 1000)                   # torchvision resnet50 - fc
    assert FPN_P3_P7 == 3_868_672 and _retina_heads(91) == 6_691_415
    assert backbone + FPN_P3_P7 + _retina_heads(91) == 34_014_999 + R50_FROZEN_BN
    assert m.params == 34_014_999 + R50_FROZEN_BN
    assert float(m.layers["macs"].sum()) == pytest.approx(151.54e9, rel=0.01)


def test_retinanet_mlperf_resnext50_264_classes():
    # backbone: torchvision resnext50_32x4d (25,028,904) less its fc; 264 OpenImages classes
    m = _count("RetinaNet ResNeXt-50-FPN (MLPerf)")
    expect = 25_028_904 - (2048 * 1000 + 1000) + FPN_P3_P7 + _retina_heads(264)
    assert m.params == expect == 37_128_876
    assert m.input_shape == (3, 800, 800)


def test_retinanet_heads_share_weights_across_five_levels():
    # one set of head weights, five applications: each head 3x3 conv appears 5 times
    layers = _count("RetinaNet ResNet-50-FPN").layers
    t = layers[layers["op_type"] == "Conv"]
    # 53 backbone convs + 3 lateral + 3 output + P6 + P7 = 61; heads 2 subnets x 5 convs x 5 levels
    assert len(t) == 53 + 8 + 2 * 5 * 5
    # the P3 (100x100) class logits: 9 x 91 outputs per position, 256 x 9 MACs each
    logits = t[t["output_shape"].astype(str) == str((1, 819, 100, 100))]
    assert len(logits) == 1 and int(logits["macs"].iloc[0]) == 819 * 100 * 100 * 256 * 9


# ---- Mask R-CNN --------------------------------------------------------------------------
def test_mask_rcnn_equals_torchvision():
    # torchvision docs, MaskRCNN_ResNet50_FPN_Weights.COCO_V1: num_params 44,401,393
    backbone = 25_557_032 - (2048 * 1000 + 1000)
    fpn = sum(conv1(c, 256) for c in (256, 512, 1024, 2048)) + 4 * conv3(256, 256)   # P6 = max-pool
    rpn = conv3(256, 256) + conv1(256, 3) + conv1(256, 12)
    box = (256 * 7 * 7 * 1024 + 1024) + (1024 * 1024 + 1024) + (1024 * 91 + 91) + (1024 * 364 + 364)
    mask = 4 * conv3(256, 256) + (256 * 256 * 4 + 256) + conv1(256, 91)
    assert backbone + fpn + rpn + box + mask == 44_401_393 + R50_FROZEN_BN
    assert _count("Mask R-CNN ResNet-50-FPN").params == 44_401_393 + R50_FROZEN_BN


def test_mask_rcnn_heads_run_per_proposal():
    # the box head's first FC runs once per proposal: 512 x 12,544 x 1,024 multiply-adds
    layers = _count("Mask R-CNN ResNet-50-FPN").layers
    gemm = layers[layers["op_type"] == "Gemm"]
    assert int(gemm["macs"].max()) == 512 * 256 * 7 * 7 * 1024
    # the mask logits: 128 proposals x 91 x 28 x 28 outputs x 256 inputs
    conv = layers[layers["op_type"] == "Conv"]
    assert int(conv["macs"].iloc[-1]) == 128 * 91 * 28 * 28 * 256


# ---- SSD ---------------------------------------------------------------------------------
def test_ssd_resnet34_counts_and_output_shapes():
    # mlcommons/inference ssd_r34.py: ResNet-34 through layer3 (torchvision resnet34 21,797,672
    # less layer4 and fc), extras, 3x3 loc/conf heads with anchors (4, 6, 6, 6, 4, 4), 81 classes
    layer4 = (9 * 256 * 512 + 9 * 512 * 512 + 256 * 512 + 3 * 2 * 512       # block 1 + downsample
              + 2 * (2 * 9 * 512 * 512 + 2 * 2 * 512))                      # blocks 2, 3
    backbone = 21_797_672 - layer4 - (512 * 1000 + 1000)
    extras = (conv1(256, 256) + conv3(256, 512) + conv1(512, 256) + conv3(256, 512)
              + conv1(512, 128) + conv3(128, 256) + 2 * (conv1(256, 128) + conv3(128, 256)))
    chans, anchors = (256, 512, 512, 256, 256, 256), (4, 6, 6, 6, 4, 4)
    heads = sum(conv3(c, 4 * a) + conv3(c, 81 * a) for c, a in zip(chans, anchors))
    m = _count("SSD-ResNet34 1200")
    assert m.params == backbone + extras + heads == 19_972_534
    # the published ONNX model's outputs (1200x1200): conf 324x50x50, 486x25x25, 486x13x13,
    # 486x7x7, 324x3x3, 324x3x3 (loc: 16, 24, 24, 24, 16, 16 channels)
    conv = m.layers[m.layers["op_type"] == "Conv"]
    outs = [tuple(s)[1:] for s in conv["output_shape"].iloc[-12:]]
    assert outs[1::2] == [(324, 50, 50), (486, 25, 25), (486, 13, 13), (486, 7, 7), (324, 3, 3), (324, 3, 3)]
    assert outs[0::2] == [(16, 50, 50), (24, 25, 25), (24, 13, 13), (24, 7, 7), (16, 3, 3), (16, 3, 3)]
    # a published model card prints "float ops: 433G" for this network: 2 x multiply-adds
    assert 2 * float(m.layers["macs"].sum()) == pytest.approx(433e9, rel=0.01)


def test_ssd_mobilenet_v1_counts():
    # MobileNet v1 without its classifier (Keras: 4,231,976 trainable, classifier 1024x1000+1000)
    body = 4_231_976 - (1024 * 1000 + 1000)

    def conv_bn(cin, cout, k):          # no conv bias; BatchNorm scale and offset
        return k * k * cin * cout + 2 * cout

    extras = sum(conv_bn(cin, d // 2, 1) + conv_bn(d // 2, d, 3)
                 for cin, d in ((1024, 512), (512, 256), (256, 256), (256, 128)))
    chans, anchors = (512, 1024, 512, 256, 256, 128), (3, 6, 6, 6, 6, 6)
    heads = sum(conv1(c, 4 * a) + conv1(c, 91 * a) for c, a in zip(chans, anchors))
    m = _count("SSD-MobileNet v1")
    assert m.params == body + extras + heads == 6_819_839
    conv = m.layers[m.layers["op_type"] == "Conv"]
    # feature maps 19, 10, 5, 3, 2, 1 (TensorFlow SAME padding at 300x300)
    assert [tuple(s)[2] for s in conv["output_shape"].iloc[-12::2]] == [19, 10, 5, 3, 2, 1]


# ---- EfficientNet ------------------------------------------------------------------------
@pytest.mark.parametrize("name,params,gmacs", [
    # torchvision models documentation: num_params, GFLOPS (multiply-adds)
    ("EfficientNet-B5", 30_389_784, 10.27), ("EfficientNet-B6", 43_040_704, 19.07),
    ("EfficientNet-B7", 66_347_960, 37.75), ("EfficientNetV2-M", 54_139_356, 24.58),
    ("EfficientNetV2-L", 118_515_272, 56.08)])
def test_large_efficientnets_equal_torchvision(name, params, gmacs):
    m = _count(name)
    assert m.params == params == SPECS[name].ref_params
    assert float(m.layers["macs"].sum()) == pytest.approx(gmacs * 1e9, rel=0.01)


def test_efficientnet_resolutions():
    # torchvision evaluation sizes: B5 456, B6 528, B7 600, V2-M and V2-L 480
    for name, hw in (("EfficientNet-B5", 456), ("EfficientNet-B6", 528), ("EfficientNet-B7", 600),
                     ("EfficientNetV2-M", 480), ("EfficientNetV2-L", 480)):
        assert pm.load_model(name).input_shape[1:] == (hw, hw)


# ---- the zoo and the operator tables ------------------------------------------------------
def test_new_models_carry_their_operators_and_kernels():
    with gzip.open(OPERATOR_TABLES, "rt", encoding="utf-8") as f:
        stored = json.load(f)
    for name in NEW:
        assert name in stored, name
        m = _count(name)
        assert len(stored[name]["op_type"]) == len(m.layers)
        assert sum(k != "view" for k in stored[name]["kind"]) == kernel_count(m.layers)
        entry = pm.load_model(name)
        assert entry.params == m.params
        assert entry.kernels == kernel_count(m.layers)
        # the zoo's forward FLOPs are 2 x the graph's multiply-adds
        assert entry.fwd_flops == pytest.approx(2 * float(m.layers["macs"].sum()), rel=1e-9)


def test_gptj_from_its_config():
    # GPT-J in the gpt_neox layout (the config reader has no 'gptj' family):
    # embeddings 50,400 x 4,096 in and out (untied, no head bias); per layer two LayerNorms
    # (2 x 2 x 4096), q/k/v and output projections with bias (4 x (4096^2 + 4096)), MLP
    # 4096 -> 16384 -> 4096 with biases; a final LayerNorm.
    d, ff, v, n = 4096, 16384, 50400, 28
    layer = 4 * d + 4 * (d * d + d) + (d * ff + ff) + (ff * d + d)
    expect = 2 * v * d + n * layer + 2 * d
    m = pm.load_model("gptj")
    assert m.name == "GPT-J 6B" and m.params == expect == 6_051_520_512
    # published (mesh-transformer-jax README): 6,053,381,344 parameters
    assert m.params == pytest.approx(6_053_381_344, rel=5e-4)


@pytest.mark.parametrize("alias,name", [
    ("MLPerf resnet", "ResNet-50 v1.5"), ("ssd-resnet34", "SSD-ResNet34 1200"), ("ssd-mobilenet", "SSD-MobileNet v1"),
    ("retinanet", "RetinaNet ResNeXt-50-FPN (MLPerf)"), ("maskrcnn", "Mask R-CNN ResNet-50-FPN"),
    ("bert", "BERT-large"), ("bert-99", "BERT-large"), ("bert-99.9", "BERT-large"),
    ("BERT-Large (SQuAD)", "BERT-large"), ("gptj", "GPT-J 6B"), ("gptj-99", "GPT-J 6B"),
    ("dlrm", "DLRM (Criteo 1TB)"), ("rnnt", "RNN-T (MLPerf)"), ("3d-unet", "3D U-Net (KiTS19)"),
    ("Llama-2-7b-chat", "Llama-2-7B"),
    ("meta-llama/Llama-2-7b-chat-hf", "Llama-2-7B"), ("llama2-70b-99", "Llama-2-70B"),
    ("efficientnet_b7", "EfficientNet-B7"), ("efficientnet_v2_l", "EfficientNetV2-L")])
def test_mlperf_short_names(alias, name):
    assert pm.load_model(alias).name == name


def test_bare_resnet_stays_ambiguous():
    # MLPerf's benchmark "resnet" is ResNet-50 v1.5, but a bare "resnet" (a log's
    # "resnet.onnx.engine") names no depth: the name rules never guess (tests/test_names.py),
    # so the zoo spells it "MLPerf resnet"
    from plaster_model.errors import UnknownNameError
    with pytest.raises(UnknownNameError):
        pm.load_model("resnet")


# ---- 3D U-Net ----------------------------------------------------------------------------
def test_unet3d_counts_from_the_reference_code():
    # mlcommons/training image_segmentation Unet3D: 3x3x3 convolutions without bias, each with
    # InstanceNorm3d(affine) (2 per channel); transposed 2x2x2 convolutions and the 1x1x1 output
    # with bias; filters 32, 64, 128, 256, 320; 1 input channel, 3 classes.
    def conv(cin, cout):
        return 27 * cin * cout + 2 * cout

    def block(cin, cout):                     # input, downsampling and bottleneck blocks
        return conv(cin, cout) + conv(cout, cout)

    def up(cin, cout):                        # transposed conv, concat with the skip, 2 convs
        return 8 * cin * cout + cout + conv(2 * cout, cout) + conv(cout, cout)

    f = (32, 64, 128, 256, 320)
    expect = (block(1, 32) + sum(block(i, o) for i, o in zip(f[:-1], f[1:])) + block(320, 320)
              + up(320, 320) + sum(up(i, o) for i, o in zip(f[:0:-1], f[-2::-1])) + 32 * 3 + 3)
    m = _count("3D U-Net (KiTS19)")
    assert m.params == expect == 31_190_243
    # the output is the 3-class 128^3 volume; the 32-channel full-resolution 3x3x3 convolution
    # costs 128^3 x 32 x 27 x 32 multiply-adds
    assert tuple(m.layers["output_shape"].iloc[-1]) == (1, 3, 128, 128, 128)
    conv_macs = m.layers.loc[m.layers["op_type"] == "Conv", "macs"]
    assert int(conv_macs.iloc[1]) == 128 ** 3 * 32 * 27 * 32
    assert pm.load_model("3d-unet").name == "3D U-Net (KiTS19)"


# ---- RNN-T -------------------------------------------------------------------------------
def test_rnnt_counts_from_the_reference_code():
    # PyTorch LSTM layer: W_ih 4H x I, W_hh 4H x H, two biases of 4H
    def lstm(i, h):
        return 4 * h * (i + h) + 8 * h

    encoder = lstm(240, 1024) + lstm(1024, 1024) + lstm(2048, 1024) + 2 * lstm(1024, 1024)
    prediction = 28 * 320 + 2 * lstm(320, 320)          # Embedding(vocab - 1, 320)
    joint = (1344 * 512 + 512) + (512 * 29 + 29)
    assert encoder + prediction + joint == 45_323_037
    for name in ("RNN-T (MLPerf)", "RNN-T (MLPerf, training lattice)"):
        assert _count(name).params == 45_323_037


def test_rnnt_work_per_utterance():
    # encoder: 410 steps through the pre-network, 205 through the post-network;
    # LSTM MACs = steps x 4H x (I + H)
    enc = (410 * 4 * 1024 * (240 + 1024) + 410 * 4 * 1024 * 2048
           + 205 * 4 * 1024 * (2048 + 1024) + 2 * 205 * 4 * 1024 * 2048)
    pred = 2 * 184 * 4 * 320 * 640
    joint_one = 1344 * 512 + 512 * 29                    # one joint evaluation
    greedy = _count("RNN-T (MLPerf)").layers
    assert int(greedy["macs"].sum()) == enc + pred + (205 + 184) * joint_one
    lattice = _count("RNN-T (MLPerf, training lattice)").layers
    assert int(lattice["macs"].sum()) == enc + pred + 205 * 184 * joint_one
    assert pm.load_model("rnnt").name == "RNN-T (MLPerf)"


def test_rnnt_refuses_an_odd_step_count():
    from plaster_model.errors import ParameterError
    from plaster_model.model_builders.rnnt import rnnt
    with pytest.raises(ParameterError, match="steps"):
        rnnt(steps=411)


def test_ssd_resnet34_300_has_8732_boxes():
    # MLPerf Training's SSD300: the same code with strides [1, 1, 2, 2, 2, 1]; the reference's
    # comment: 38x38x4, 19x19x6, 10x10x6, 5x5x6, 3x3x4, 1x1x4 default boxes = 8,732
    m = _count("SSD-ResNet34 300")
    assert m.params == _count("SSD-ResNet34 1200").params == 19_972_534
    conv = m.layers[m.layers["op_type"] == "Conv"]
    loc = [tuple(s)[1:] for s in conv["output_shape"].iloc[-12::2]]
    assert sum(c // 4 * h * w for c, h, w in loc) == 8732


# ---- DLRM-DCNv2 --------------------------------------------------------------------------
def test_dlrm_dcnv2_params_by_hand():
    from plaster_model.model_builders.dlrm import CRITEO_MULTI_HOT, CRITEO_TB_DCNV2_TABLES
    emb = 128 * sum(CRITEO_TB_DCNV2_TABLES)
    assert emb == 128 * 204_184_588                       # five tables capped at 40 M rows
    width = 128 * 27                                      # bottom output + 26 pooled bags
    mlp = [(13, 512), (512, 256), (256, 128), (width, 1024), (1024, 1024), (1024, 512), (512, 256), (256, 1)]
    cross = 3 * (width * 512 + 512 * width + width)       # V (no bias), W and b per layer
    m = _count("DLRM-DCNv2 (Criteo 1TB multi-hot)")
    assert m.params == emb + sum(a * b + b for a, b in mlp) + cross == 26_151_671_809
    # work: the MLPs and the cross network's two low-rank products per layer
    assert int(m.layers["macs"].sum()) == sum(a * b for a, b in mlp) + 3 * 2 * width * 512
    # a sample reads 214 embedding rows (the multi-hot sizes)
    assert sum(CRITEO_MULTI_HOT) == 214
    assert pm.load_model("dlrm-v2").name == "DLRM-DCNv2 (Criteo 1TB multi-hot)"
    assert pm.load_model("dlrm-99").name == "DLRM (Criteo 1TB)"


# ---- Stable Diffusion --------------------------------------------------------------------
def test_stable_diffusion_unets_equal_diffusers():
    # diffusers UNet2DConditionModel(...).num_parameters(): SD v1.5 859,520,964; SD 2 865,910,724
    v15, v2 = _count("Stable Diffusion v1.5 UNet"), _count("Stable Diffusion 2 UNet")
    assert v15.params == 859_520_964 and v2.params == 865_910_724
    # the difference is only the cross-attention key/value projections reading 1024-wide text
    # states instead of 768: 2 x (1024 - 768) x C per transformer; transformers per width C:
    # 320: 2 down + 3 up, 640: 2 + 3, 1280: 2 + 3 + 1 (middle)
    assert v2.params - v15.params == 2 * 256 * (5 * 320 + 5 * 640 + 6 * 1280)
    # conv_in on the 64x64 latent: 64 x 64 x 320 outputs of 9 x 4 multiply-adds
    conv = v15.layers[v15.layers["op_type"] == "Conv"]
    assert int(conv["macs"].iloc[0]) == 64 * 64 * 320 * 9 * 4
    assert pm.load_model("stable_diffusion").name == "Stable Diffusion 2 UNet"
