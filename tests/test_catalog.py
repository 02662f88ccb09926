"""Catalog loading, validation, aliases and user extensions."""
import textwrap

import pytest

import plaster_model as pm
from plaster_model.catalog.loader import CatalogError

REQUIRED_DEVICES = ["V100", "P100", "K40", "K80", "K80 board", "TPU2", "Xeon Phi", "V100-PCIe",
                    "V100S-PCIe", "P100-PCIe", "T4", "A100", "H100", "TPU3", "Xeon Phi 7250",
                    "Xeon Gold 6148"]
REQUIRED_INTERCONNECTS = ["PCIe 3.0 x16", "PCIe 4.0 x16", "NVLink 1", "NVLink 2", "NVSwitch",
                          "InfiniBand QDR", "InfiniBand FDR", "InfiniBand EDR", "InfiniBand HDR",
                          "10GbE", "25GbE", "40GbE", "50GbE", "100GbE", "TPU v2 ICI", "TPU v3 ICI"]
REQUIRED_SYSTEMS = ["DGX-1 (P100)", "DGX-1 (V100)", "DGX-2", "HPE Apollo 6500", "K80 server", "Cloud TPU v2"]
REQUIRED_MODELS = ["AlexNet", "GoogleNet", "VGG-16", "VGG-19", "ResNet-50", "ResNet-101", "ResNet-152",
                   "Eng Acoustic Model", "TextCNN", "Inception-v3", "ResNet-50 v1.5"]


def test_required_entries_present():
    assert set(REQUIRED_DEVICES) <= set(pm.list_devices()["name"])
    assert set(REQUIRED_INTERCONNECTS) <= set(pm.list_interconnects()["name"])
    assert set(REQUIRED_SYSTEMS) <= set(pm.list_systems()["name"])
    assert set(REQUIRED_MODELS) <= set(pm.list_models()["name"])


@pytest.mark.parametrize("lister", [pm.list_devices, pm.list_interconnects, pm.list_systems,
                                    pm.list_models, pm.list_datasets])
def test_every_entry_has_a_source(lister):
    df = lister()
    assert "source" in df.columns
    assert df["source"].map(lambda s: isinstance(s, str) and len(s) > 10).all()


@pytest.mark.parametrize("name, params, reported", [
    # BRIEF.md §4 (HPE slides): exact parameter counts and forward figures as printed
    ("AlexNet", 60_965_224, 0.7e9), ("GoogleNet", 6_998_552, 1.6e9),
    ("VGG-16", 138_357_544, 15.5e9), ("VGG-19", 143_667_240, 19.6e9),
    ("ResNet-50", 25_610_269, 3.9e9), ("ResNet-101", 44_654_608, 7.6e9),
    ("ResNet-152", 60_344_387, 11.3e9), ("Eng Acoustic Model", 34_678_784, 0.035e9),
    ("TextCNN", 151_690, 0.009e9),
])
def test_zoo_matches_the_brief(name, params, reported):
    m = pm.load_model(name)
    assert m.params == params
    assert m.reported_flops == pytest.approx(reported)


def test_macs_versus_flops_convention():
    # The ResNet paper's "11.3e9 FLOPs" for ResNet-152 are multiply-adds; FLOPs = 2 × MACs.
    m = pm.load_model("ResNet-152")
    assert m.flop_convention == "macs"
    assert m.fwd_macs == pytest.approx(11.3e9)
    assert m.fwd_flops == pytest.approx(22.6e9)
    # a user model given in FLOPs is not doubled
    u = pm.Model(name="u", params=10, fwd_flops="2 GFLOP", flop_convention="flops", source="test")
    assert u.fwd_flops == 2e9 and u.fwd_macs == 1e9


def test_model_size_bytes_per_precision():
    # VGG-16: 138,357,544 params × 4 B = 553.4 MB = 527.8 MiB (the slides' "528 MB")
    m = pm.load_model("VGG-16")
    assert m.size_bytes("fp32") == 138_357_544 * 4
    assert m.size_bytes("fp32") / 2**20 == pytest.approx(527.8, abs=0.05)
    assert m.size_bytes("fp16") == 138_357_544 * 2
    assert m.size_bytes("int8") == 138_357_544


def test_accuracy_from_brief():
    # PLASTER whitepaper, TensorRT FP32 -> INT8 top-1
    assert pm.load_model("ResNet-50").accuracy_for("fp32") == 73.11
    assert pm.load_model("ResNet-50").accuracy_for("int8") == 72.54
    assert pm.load_model("ResNet-152").accuracy_for("int8") == 74.56
    assert pm.load_model("AlexNet").accuracy_for("int8") is None   # not published


def test_datasets():
    assert pm.load_dataset("ImageNet-1k").train_samples == 1_281_167
    assert pm.load_dataset("ImageNet-22k").train_samples == 14_197_122
    assert pm.load_dataset("14M images").train_samples == 14_000_000
    assert pm.load_dataset("100M images").train_samples == 100_000_000


def test_device_peaks_and_units():
    v100 = pm.load_device("V100")
    assert v100.peak("fp32") == 15.7e12
    assert v100.peak("fp16") == 125e12          # tensor cores
    assert v100.peak_key("mixed") == "fp16_tensor"
    assert v100.memory_bandwidth == 900e9
    assert v100.power_w == 300
    assert "12 GB" in v100.notes               # the slides' memory error is recorded
    p100 = pm.load_device("P100")
    assert p100.peak_key("mixed") == "fp16"     # no tensor cores on Pascal
    assert pm.load_device("T4").peak("int8") == 130e12


def test_k80_die_versus_board():
    die, board = pm.load_device("K80"), pm.load_device("K80 board")
    assert board.dies_per_board == 2 and die.board == "K80 board"
    assert board.peak("fp32") == 5.6e12        # base clock, per the brief
    assert die.peak("fp32") * 2 == pytest.approx(board.peak("fp32"))
    assert die.memory_bytes * 2 == pytest.approx(board.memory_bytes)


def test_tpu2_is_four_chips():
    tpu, chip = pm.load_device("TPU2"), pm.load_device("TPU2 chip")
    assert tpu.peak("bf16") == 180e12
    assert tpu.peak("bf16") == pytest.approx(4 * chip.peak("bf16"))


def test_interconnect_bits_bytes_and_encoding():
    fdr = pm.load_interconnect("InfiniBand FDR")
    assert fdr.signalling_rate == 7e9                      # 56 Gb/s / 8 = 7 GB/s
    assert fdr.bandwidth == pytest.approx(56e9 * 64 / 66 / 8)  # 64b/66b payload = 6.79 GB/s
    qdr = pm.load_interconnect("InfiniBand QDR")
    assert qdr.bandwidth == pytest.approx(40e9 * 8 / 10 / 8)   # 8b/10b: 4 GB/s
    pcie = pm.load_interconnect("PCIe 3.0 x16")
    assert pcie.bandwidth == pytest.approx(8e9 * 16 * 128 / 130 / 8)  # 15.75 GB/s
    nvl = pm.load_interconnect("NVLink 2")
    assert nvl.bandwidth == 6 * 25e9


@pytest.mark.parametrize("alias, name", [
    ("IB FDR", "InfiniBand FDR"), ("fdr", "InfiniBand FDR"), ("PCIe v3", "PCIe 3.0 x16"),
    ("25 Gbit/s Ethernet", "25GbE"), ("tesla v100", "V100"), ("resnet50", "ResNet-50"),
])
def test_aliases_case_insensitive(alias, name):
    kind = "model" if "resnet" in alias else "device" if "v100" in alias else "interconnect"
    assert pm.find_name(kind, alias) == name


@pytest.mark.parametrize("loader, typo, expected", [
    (pm.load_device, "V10", "V100"), (pm.load_model, "Resnet-05", "ResNet-50"),
    (pm.load_interconnect, "Infiniband EDX", "InfiniBand EDR"),
])
def test_unknown_name_lists_close_matches(loader, typo, expected):
    with pytest.raises(KeyError, match=expected):
        loader(typo)


def test_user_device_object():
    gpu = pm.Device(name="MyGPU", peak_flops={"fp32": "20 TFLOPS"}, memory_bytes="24 GB",
                    memory_bandwidth="1 TB/s", power_w="250 W", source="test")
    c = pm.Cluster(gpu, 1)
    assert pm.predict_training("ResNet-50", c, 32).peak_flops == 20e12


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(memory_bytes="-1 GB"), "memory_bytes"),
    (dict(memory_bandwidth="0 GB/s"), "memory_bandwidth"),
    (dict(memory_bandwidth="100 TFLOPS"), "bandwidth"),
    (dict(peak_flops={"fp32": "900 GB/s"}), "compute rate"),
    (dict(peak_flops={"fp33": "1 TFLOPS"}), "fp33"),
    (dict(source=""), "source"),
])
def test_device_validation(kwargs, fragment):
    base = dict(name="X", peak_flops={"fp32": "1 TFLOPS"}, memory_bytes="1 GB",
                memory_bandwidth="1 GB/s", power_w="1 W", source="test")
    base.update(kwargs)
    with pytest.raises(ValueError, match=fragment):
        pm.Device(**base)


def test_unknown_precision_for_device():
    with pytest.raises(ValueError, match="K40.*fp16"):
        pm.load_device("K40").peak("fp16")


def test_load_catalog_merges_user_yaml(tmp_path):
    user = tmp_path / "mine.yaml"
    user.write_text(textwrap.dedent("""
        devices:
          MyGPU:
            aliases: [my gpu]
            peak_flops: {fp32: "20 TFLOPS", fp16_tensor: "160 TFLOPS"}
            memory: "24 GiB"
            memory_bandwidth: "1 TB/s"
            power: "250 W"
            source: "my measurement"
        interconnects:
          MyLink:
            link_bandwidth: "50 GB/s"
            latency: "2 us"
            scope: intra_node
            source: "vendor"
        models:
          MyNet:
            params: 1000000
            fwd_flops: "1 GFLOP"
            flop_convention: flops
            source: "hand count"
    """))
    cat = pm.load_catalog([user])
    assert pm.load_device("my gpu").memory_bytes == 24 * 2**30
    assert pm.load_interconnect("MyLink").bandwidth == 50e9
    assert pm.load_model("MyNet").fwd_flops == 1e9
    assert pm.load_device("V100").peak("fp32") == 15.7e12  # bundled entries still there
    assert "MyGPU" in cat.entries["device"]
    pm.reset_catalog()
    with pytest.raises(KeyError):
        pm.load_device("MyGPU")


@pytest.mark.parametrize("text, fragment", [
    ("devices:\n  Bad:\n    peak_flops: {fp32: '1 TFLOPS'}\n    memory: '1 GB'\n    memory_bandwidth: '1 GB/s'\n    power: '-5 W'\n    source: x\n", "power_w"),
    ("devices:\n  Bad:\n    peak_flops: {fp32: '1 TFLOPS'}\n    memory: '1 GB'\n    memory_bandwidth: '1 GB/s'\n    source: x\n", "power_w"),
    ("devices:\n  Bad:\n    peak_flops: {fp32: 1}\n    memory: '1 GB'\n    memory_bandwidth: '1 GB/s'\n    power: '1 W'\n    colour: red\n    source: x\n", "colour"),
    ("interconnects:\n  Bad:\n    signalling_rate: '10 Gb/s'\n    link_bandwidth: '20 Gb/s'\n    latency: '1 us'\n    source: x\n", "exceeds the signalling rate"),
    ("models:\n  Bad:\n    params: 10\n    fwd_flops: '1 GFLOP'\n    flop_convention: fmas\n    source: x\n", "flop_convention"),
    ("systems:\n  Bad:\n    device: V1000\n    devices_per_node: 8\n    intra_node: NVLink 2\n    interconnect: null\n    source: x\n", "V100"),
    ("gadgets: {}\n", "gadgets"),
])
def test_catalog_validation_errors(tmp_path, text, fragment):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises((CatalogError, KeyError), match=fragment):
        pm.load_catalog([path])


def test_bundled_catalog_files_found_without_cwd(tmp_path, monkeypatch):
    # Located through the package, not the current directory.
    from plaster_model.catalog import loader
    monkeypatch.chdir(tmp_path)
    loader.bundled_catalog.cache_clear()
    assert "V100" in loader.bundled_catalog().entries["device"]
