"""Devices, interconnects and systems of issue 14: counts, the names tools print, and each
peak re-derived from its datasheet's cores x clock x FLOP/cycle (or another stated rule)."""
from pathlib import Path

import pytest

import plaster_model as pm

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "trtexec_samples"

NEW_DEVICES = [
    "V100-32GB", "V100-PCIe", "V100S-PCIe", "P100", "P100-PCIe", "P100-PCIe-12GB", "P40", "P4",
    "K40", "K80", "K80 board", "M40", "M60", "T4", "A10", "A30", "A40", "A100", "A100-80GB",
    "A100-PCIe", "A100-PCIe-80GB", "H100", "H100-PCIe", "H100 NVL", "H200", "B200", "L4", "L40",
    "L40S", "Titan V", "GTX 1070", "GTX 1080 Ti", "RTX 2080 Ti", "RTX 3060 Laptop", "RTX 3090",
    "RTX 4090", "RTX 6000 Ada", "Jetson AGX Xavier", "Jetson AGX Orin", "MI100", "MI210",
    "MI250X", "MI250X GCD", "MI300X", "Gaudi2", "Gaudi3", "TPU2", "TPU2 chip", "TPU3",
    "TPU3 chip", "TPU4", "TPU4 chip", "Xeon Phi", "Xeon Phi 7250", "Xeon Gold 6148",
    "EPYC 7763", "Xeon Platinum 8380",
]
NEW_INTERCONNECTS = [
    "PCIe 5.0 x16", "NVLink 5", "NVLink-C2C", "NVSwitch 2 (DGX A100)", "NVSwitch 3 (DGX H100)",
    "NVSwitch 4 (DGX B200)", "InfiniBand NDR", "InfiniBand XDR", "RoCE 25G", "RoCE 100G",
    "RoCE 200G", "RoCE 400G", "200GbE", "400GbE", "AWS EFA 100G", "Omni-Path 100",
    "HPE Slingshot", "TPU v4 ICI", "TPU v5e ICI", "TPU v5p ICI",
]
NEW_SYSTEMS = [
    "DGX-1 (P100)", "DGX-1 (V100)", "DGX-2", "DGX A100", "DGX A100 640GB", "DGX H100", "DGX H200",
    "DGX B200", "HGX A100 8-GPU", "HGX H100 8-GPU", "HGX B200 8-GPU", "HPE Apollo 6500",
    "HPE Apollo 6500 Gen10 (V100)", "p3.16xlarge", "p3dn.24xlarge", "p4d.24xlarge",
    "p5.48xlarge", "a2-highgpu-8g", "a3-highgpu-8g", "Azure NDv2", "Azure ND A100 v4",
    "Azure ND H100 v5", "Cloud TPU v3", "Cloud TPU v4-8",
]


def test_issue14_counts_and_names():
    devices = set(pm.list_devices()["name"])
    assert set(NEW_DEVICES) <= devices and len(devices) >= 45
    links = set(pm.list_interconnects()["name"])
    assert set(NEW_INTERCONNECTS) <= links and len(links) >= 25
    systems = set(pm.list_systems()["name"])
    assert set(NEW_SYSTEMS) <= systems and len(systems) >= 20


def test_no_alias_names_two_entries():
    from plaster_model.catalog.loader import _key, active_catalog
    for kind, entries in active_catalog().entries.items():
        seen = {}
        for name, obj in entries.items():
            for alias in (name, *obj.aliases):
                assert seen.setdefault(_key(alias), name) == name, (kind, alias, seen[_key(alias)], name)


@pytest.mark.parametrize("printed, name", [
    # nvidia-smi --query-gpu=name and trtexec's "Selected Device:" lines
    ("Tesla V100-SXM2-32GB", "V100-32GB"), ("Tesla V100-SXM2-16GB", "V100"),
    ("NVIDIA A100-SXM4-80GB", "A100-80GB"), ("NVIDIA A100-SXM4-40GB", "A100"),
    ("NVIDIA A100-PCIE-40GB", "A100-PCIe"), ("NVIDIA A100 80GB PCIe", "A100-PCIe-80GB"),
    ("NVIDIA H100 80GB HBM3", "H100"), ("NVIDIA H100 PCIe", "H100-PCIe"),
    ("NVIDIA GeForce RTX 3060 Laptop GPU", "RTX 3060 Laptop"),
    ("NVIDIA GeForce GTX 1070", "GTX 1070"), ("NVIDIA GeForce RTX 3090", "RTX 3090"),
    ("NVIDIA GeForce RTX 4090", "RTX 4090"), ("NVIDIA RTX 6000 Ada Generation", "RTX 6000 Ada"),
    ("Tesla P100-PCIE-12GB", "P100-PCIe-12GB"), ("Tesla T4", "T4"), ("NVIDIA L4", "L4"),
    ("AMD Instinct MI300X", "MI300X"), ("Intel Gaudi 2", "Gaudi2"), ("TPU v4 chip", "TPU4 chip"),
])
def test_printed_names_resolve(printed, name):
    assert pm.load_device(printed).name == name


def _trtexec_devices():
    names = set()
    for path in list(SHARED.glob("*.log")) + list(SHARED.glob("*/*.log")) + list(SHARED.glob("*.md")):
        for line in path.read_text(errors="replace").splitlines():
            if "Selected Device:" in line:
                names.add(line.split("Selected Device:", 1)[1].strip())
    for path in SHARED.glob("*/*.json"):
        text = path.read_text(errors="replace")
        if '"Selected Device"' in text:
            import re
            for m in re.finditer(r'"Selected Device"\s*:\s*"([^"]+)"', text):
                names.add(m.group(1))
    return names


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/trtexec_samples not present")
def test_every_trtexec_sample_device_resolves():
    names = _trtexec_devices()
    # 6 GPUs print a name (the TRT 7.1 Jetson log prints none): GTX 1070, RTX 3060 Laptop,
    # RTX 4090, RTX 6000 Ada, H100 PCIe, RTX 3090.
    assert len(names) == 6, names
    for n in names:
        assert pm.find_name("device", n) is not None, n


T = 1e12


@pytest.mark.parametrize("name, key, derived", [
    # cores x clock [GHz] x FLOP per core per cycle, from the datasheet or whitepaper named in
    # the entry's `source`. Vector FP32 counts one FMA = 2 FLOP per CUDA core / stream processor.
    ("P40", "fp32", 3840 * 1.531e9 * 2),            # 11.76 -> printed "12 TFLOPS"
    ("P4", "fp32", 2560 * 1.063e9 * 2),             # 5.44 -> "5.5"
    ("M40", "fp32", 3072 * 1.114e9 * 2),            # 6.84 -> "7"
    ("M60", "fp32", 2048 * 1.178e9 * 2),            # per GPU
    ("Titan V", "fp32", 5120 * 1.455e9 * 2),
    ("Titan V", "fp64", 2560 * 1.455e9 * 2),
    ("GTX 1070", "fp32", 1920 * 1.683e9 * 2),
    ("GTX 1080 Ti", "fp32", 3584 * 1.582e9 * 2),
    ("RTX 2080 Ti", "fp32", 4352 * 1.545e9 * 2),
    ("RTX 3060 Laptop", "fp32", 3840 * 1.703e9 * 2),
    ("RTX 3090", "fp32", 10496 * 1.695e9 * 2),
    ("A10", "fp32", 9216 * 1.695e9 * 2),
    ("A40", "fp32", 10752 * 1.740e9 * 2),
    ("RTX 4090", "fp32", 16384 * 2.52e9 * 2),
    ("RTX 6000 Ada", "fp32", 18176 * 2.505e9 * 2),
    ("L40", "fp32", 18176 * 2.49e9 * 2),
    ("L40S", "fp32", 18176 * 2.52e9 * 2),
    ("Jetson AGX Xavier", "fp32", 512 * 1.377e9 * 2),
    ("Jetson AGX Xavier", "fp16_tensor", 64 * 1.377e9 * 128),  # 4x4x4 FMA per tensor core per clock
    ("Jetson AGX Orin", "fp32", 2048 * 1.3e9 * 2),
    ("MI100", "fp32", 7680 * 1.502e9 * 2),
    ("MI210", "fp32", 6656 * 1.7e9 * 2),
    ("MI250X", "fp32", 14080 * 1.7e9 * 2),
    ("MI300X", "fp64", 19456 * 2.1e9 * 2),
    # CPUs: cores x base clock x FMA units x SIMD lanes x 2
    ("EPYC 7763", "fp64", 64 * 2.45e9 * 2 * 4 * 2),
    ("EPYC 7763", "fp32", 64 * 2.45e9 * 2 * 8 * 2),
    ("Xeon Platinum 8380", "fp64", 40 * 2.3e9 * 2 * 8 * 2),
    ("Xeon Platinum 8380", "fp32", 40 * 2.3e9 * 2 * 16 * 2),
])
def test_peak_matches_datasheet_arithmetic(name, key, derived):
    # within 4 %: datasheets round ("12 TFLOPS" for 11.76)
    assert pm.load_device(name).peak_flops[key] == pytest.approx(derived, rel=0.04)


@pytest.mark.parametrize("name, key, ratio_to_fp32", [
    # GA10x GeForce rates per SM (GA102 whitepaper): TF32 = 1x, FP16 tensor (FP32 acc.) = 2x,
    # INT8 tensor = 8x the FP32 rate (RTX 3090: 35.6 / 71 / 284).
    ("RTX 3060 Laptop", "tf32", 1), ("RTX 3060 Laptop", "fp16_tensor", 2),
    ("RTX 3060 Laptop", "int8", 8), ("RTX 3090", "fp16_tensor", 2), ("RTX 3090", "int8", 8),
    # Ada GeForce (Ada whitepaper, RTX 4090): FP16 tensor with FP32 accumulate 2x, INT8 8x.
    ("RTX 4090", "fp16_tensor", 2), ("RTX 4090", "int8", 8),
])
def test_tensor_rate_ratios(name, key, ratio_to_fp32):
    d = pm.load_device(name)
    assert d.peak_flops[key] == pytest.approx(ratio_to_fp32 * d.peak_flops["fp32"], rel=0.01)


@pytest.mark.parametrize("name, key, sparse_printed", [
    # Datasheets print tensor rates with 2:4 sparsity; the catalog keeps the dense half.
    ("H100-PCIe", "fp16_tensor", 1513e12), ("H100-PCIe", "fp8", 3026e12),
    ("H100 NVL", "fp16_tensor", 1671e12), ("H200", "fp8", 3958e12), ("L4", "fp16_tensor", 242e12),
    ("L4", "fp8", 485e12), ("L40", "fp16_tensor", 362e12), ("L40S", "fp8", 1466e12),
    ("B200", "fp8", 9000e12), ("RTX 6000 Ada", "fp8", 1457e12), ("Jetson AGX Orin", "int8", 170e12),
    ("MI300X", "fp16_tensor", 2614.9e12),
])
def test_dense_is_half_the_sparse_figure(name, key, sparse_printed):
    assert pm.load_device(name).peak_flops[key] == pytest.approx(sparse_printed / 2, rel=0.002)


def test_multi_die_parts_are_halves():
    for board, die in (("MI250X", "MI250X GCD"), ("TPU4", "TPU4 chip")):
        b, d = pm.load_device(board), pm.load_device(die)
        n = b.dies_per_board
        assert d.board == board
        for key, val in d.peak_flops.items():
            assert b.peak_flops[key] == pytest.approx(n * val, rel=0.001)
        assert b.memory_bytes == pytest.approx(n * d.memory_bytes)
        assert b.memory_bandwidth == pytest.approx(n * d.memory_bandwidth)


@pytest.mark.parametrize("name, gbytes_per_s", [
    # per direction per device port: PCIe 5.0 x16 = 32 GT/s x 16 x 128/130 / 8 = 63.0 GB/s;
    # NVLink 5 = 18 x 50 GB/s = 900; NVSwitch 2 = 12 x 25 = 300; NVSwitch 3 (NVLink 4) = 18 x 25
    # = 450; InfiniBand XDR 800 Gb/s / 8 = 100; RoCE 200 Gb/s / 8 = 25; EFA 100 Gb/s / 8 = 12.5;
    # TPU v5e = 400 GB/s bidir / 2; TPU v5p = 1,200 GB/s bidir / 2 = 600 (Google's v5p table; the
    # "4,800 Gbps" of the announcement is the per-direction rate, 600 GB/s, not 300 as first read)
    ("PCIe 5.0 x16", 32 * 16 * 128 / 130 / 8), ("NVLink 5", 900), ("NVSwitch 2 (DGX A100)", 300),
    ("NVSwitch 3 (DGX H100)", 450), ("InfiniBand XDR", 100), ("RoCE 200G", 25),
    ("AWS EFA 100G", 12.5), ("TPU v5e ICI", 200), ("TPU v5p ICI", 1200 / 2),
])
def test_interconnect_bandwidths(name, gbytes_per_s):
    assert pm.load_interconnect(name).bandwidth == pytest.approx(gbytes_per_s * 1e9, rel=1e-6)


# NICs per node: p4d 400 Gb/s of EFA = 4 x 100G; p5 3,200 Gb/s of EFAv2 = 32 x 100G; Azure ND
# A100 v4 8 x HDR (one per GPU); p3.16xlarge one 25 GbE port; a TPU v4-8 host one
@pytest.mark.parametrize("name, device, n, intra, net, nics", [
    ("p4d.24xlarge", "A100", 8, "NVSwitch 2 (DGX A100)", "AWS EFA 100G", 4),
    ("p5.48xlarge", "H100", 8, "NVSwitch 3 (DGX H100)", "AWS EFA 100G", 32),
    ("p3.16xlarge", "V100", 8, "NVLink 2", "25GbE", 1),
    ("Azure ND A100 v4", "A100", 8, "NVSwitch 2 (DGX A100)", "InfiniBand HDR", 8),
    ("Cloud TPU v4-8", "TPU4 chip", 4, "TPU v4 ICI", None, 1),
])
def test_systems(name, device, n, intra, net, nics):
    s = pm.load_system(name)
    assert (s.device, s.devices_per_node, s.intra_node, s.interconnect, s.nics_per_node) == \
        (device, n, intra, net, nics)
