"""Issue 23, item 6: the hardware LLMs are trained and served on (Blackwell / Blackwell Ultra,
MI300-class, TPU v5e/v5p/Trillium), their fabrics and platforms.

Each figure is asserted against the number its datasheet prints, written here, with the
conversion spelled out: dense = sparse / 2 (NVIDIA and AMD print 2:4-sparsity figures), per GPU
= rack or baseboard total / GPUs, bytes = bits / 8, per direction = bidirectional / 2.
"""
import math
from pathlib import Path

import pytest

import plaster_model as pm
from plaster_model.catalog.objects import BYTES_PER_ELEMENT, Device, System, normalize_precision
from plaster_model.errors import CatalogError

T, P = 1e12, 1e15

NEW_DEVICES = ["B300", "GB200", "GB300", "MI325X", "MI355X", "MI250", "MI250 GCD", "V100-PCIe-32GB",
               "TPU5e chip", "TPU5p chip", "TPU6e chip"]
NEW_INTERCONNECTS = ["PCIe 6.0 x16", "NVLink Switch (NVL72)", "Infinity Fabric (MI300X)",
                     "Infinity Fabric (MI355X)", "800GbE", "RoCE 800G", "TPU v6e ICI"]
NEW_SYSTEMS = ["HGX H200 8-GPU", "HGX B300 8-GPU", "DGX B300", "GB200 NVL72", "GB300 NVL72",
               "AMD Instinct MI300X Platform", "Azure ND MI300X v5", "AMD Instinct MI325X Platform",
               "AMD Instinct MI355X Platform", "Cloud TPU v5e pod", "Cloud TPU v5p pod", "Cloud TPU v6e pod"]


def test_new_entries_listed_and_loadable():
    assert set(NEW_DEVICES) <= set(pm.list_devices()["name"])
    assert set(NEW_INTERCONNECTS) <= set(pm.list_interconnects()["name"])
    assert set(NEW_SYSTEMS) <= set(pm.list_systems()["name"])
    assert pm.load_device("B200").name == "B200"
    for name in NEW_DEVICES:
        d = pm.load_device(name)
        assert d.source and d.memory_bytes > 0 and d.memory_bandwidth > 0


@pytest.mark.parametrize("typo, expected", [("B3000", "B300"), ("GB20", "GB200"), ("MI355", "MI355X"),
                                            ("Trilium", "TPU6e chip")])
def test_unknown_name_suggests_close_matches(typo, expected):
    with pytest.raises(KeyError) as err:
        pm.load_device(typo)
    assert repr(expected) in str(err.value)


@pytest.mark.parametrize("name, key, printed, divisor", [
    # (device, catalog key, figure the source prints, what to divide it by for the dense per-device peak)
    # H100 SXM5 whitepaper: FP16/BF16 tensor 1978.9 sparse -> 989.4 dense (not the datasheet's rounded 1979/2)
    ("H100", "fp16_tensor", 1978.9 * T, 2), ("H100", "bf16_tensor", 1978.9 * T, 2),
    ("H100", "fp8", 3957.8 * T, 2), ("H100", "tf32", 989.4 * T, 2),
    # Blackwell Technical Brief, HGX B200 per GPU: FP4 18 PFLOPS sparse
    ("B200", "fp4", 18 * P, 2),
    # HGX B300 (8 GPUs): FP4 108 PFLOPS dense; FP8 72, BF16 36, TF32 18 PFLOPS sparse; FP32 600 TF; FP64 10 TF
    ("B300", "fp4", 108 * P, 8), ("B300", "fp8", 72 * P, 8 * 2), ("B300", "bf16_tensor", 36 * P, 8 * 2),
    ("B300", "tf32", 18 * P, 8 * 2), ("B300", "fp32", 600 * T, 8), ("B300", "fp64", 10 * T, 8),
    # GB200 NVL72 (72 GPUs): FP4 1440, FP8 720, INT8 720 POPS, FP16/BF16 360, TF32 180 (all sparse);
    # FP32 5760 TF, FP64 2880 TF
    ("GB200", "fp4", 1440 * P, 72 * 2), ("GB200", "fp8", 720 * P, 72 * 2), ("GB200", "int8", 720 * P, 72 * 2),
    ("GB200", "bf16_tensor", 360 * P, 72 * 2), ("GB200", "tf32", 180 * P, 72 * 2),
    ("GB200", "fp32", 5760 * T, 72), ("GB200", "fp64", 2880 * T, 72),
    # GB300 NVL72: FP4 1080 PFLOPS dense (1440 sparse), FP8 720 / BF16 360 sparse
    ("GB300", "fp4", 1080 * P, 72), ("GB300", "fp4", 1440 * P, 72 * 4 / 3),
    ("GB300", "fp8", 720 * P, 72 * 2), ("GB300", "bf16_tensor", 360 * P, 72 * 2),
    # AMD MI325X datasheet: FP8 5229.8 and FP16 2614.9 with sparsity
    ("MI325X", "fp8", 5229.8 * T, 2), ("MI325X", "fp16_tensor", 2614.9 * T, 2),
    # AMD MI355X: MXFP4 20.1 PFLOPS with sparsity, FP8 10.1 PFLOPS with sparsity
    ("MI355X", "fp4", 20.1 * P, 2), ("MI355X", "fp8", 10.1 * P, 2),
])
def test_dense_peak_from_the_printed_figure(name, key, printed, divisor):
    # within 0.5 %: vendors round (e.g. 20.1 for 2 x 10066.3)
    assert pm.load_device(name).peak_flops[key] == pytest.approx(printed / divisor, rel=0.005)


@pytest.mark.parametrize("name, bf16, int8, pod_chips, pod_bf16", [
    # Google Cloud TPU tables: per-chip bf16 / int8 peaks, and the pod's bf16 peak where printed
    ("TPU5e chip", 197 * T, 393 * T, 256, 50.63 * P),   # 256 x 197 = 50.43 PFLOPS (Google: 50.63)
    ("TPU5p chip", 459 * T, 918 * T, 8960, None),
    ("TPU6e chip", 918 * T, 1836 * T, 256, 234.9 * P),  # 256 x 918 = 235.0 PFLOPS
])
def test_tpu_peaks(name, bf16, int8, pod_chips, pod_bf16):
    d = pm.load_device(name)
    assert d.peak("bf16") == bf16 and d.peak("int8") == int8
    if pod_bf16 is not None:
        assert pod_chips * d.peak("bf16") == pytest.approx(pod_bf16, rel=0.005)
    # the v5e pod's int8 figure: 100 PetaOps for 256 chips = 390.6 TOPS per chip, within 1 % of 393
    if name == "TPU5e chip":
        assert 256 * d.peak("int8") == pytest.approx(100 * P, rel=0.01)


def test_v100_pcie_32gb_is_the_16gb_part_with_more_memory():
    a, b = pm.load_device("V100-PCIe"), pm.load_device("Tesla V100-PCIE-32GB")
    assert dict(a.peak_flops) == dict(b.peak_flops) and a.memory_bandwidth == b.memory_bandwidth == 900e9
    assert (a.memory_bytes, b.memory_bytes) == (16e9, 32e9)


def test_h100_sxm_dense_is_not_the_sparse_figure():
    h = pm.load_device("H100 SXM")
    assert h.peak("bf16") == pytest.approx(989.4 * T)       # whitepaper, dense
    assert h.peak("bf16") != pytest.approx(1979 * T, rel=0.01)  # the datasheet's sparse headline


@pytest.mark.parametrize("name, key, derived", [
    # compute units x clock x FLOP per CU per clock (AMD CDNA whitepapers / ISSCC 2026 for CDNA 4)
    ("MI355X", "fp16_tensor", 256 * 2.4e9 * 4096),   # 2516.6 TFLOPS, printed "2.5 PFLOPS"
    ("MI355X", "fp8", 256 * 2.4e9 * 8192),           # per-CU FP8 doubled from 4096 (CDNA 3) to 8192
    ("MI355X", "fp4", 256 * 2.4e9 * 16384),          # MXFP4 = 2 x FP8
    ("MI355X", "fp32", 256 * 2.4e9 * 256),           # 157.3 TFLOPS vector
    ("MI325X", "fp64", 19456 * 2.1e9 * 2),           # 81.7: MI300X silicon and clock
    ("MI325X", "fp16_tensor", 304 * 2.1e9 * 2048),   # 1307.4
    ("MI250", "fp32", 13312 * 1.7e9 * 2),            # 45.26 vector
    ("MI250", "fp16_tensor", 208 * 1.7e9 * 1024),    # 362.1 matrix
])
def test_amd_peaks_from_cus_and_clock(name, key, derived):
    assert pm.load_device(name).peak_flops[key] == pytest.approx(derived, rel=0.002)


@pytest.mark.parametrize("name, memory_bytes, bandwidth_Bps", [
    # GB vs GiB: the sources print decimal GB; 16 GB is 16e9 B, not 16 x 2^30
    ("TPU5e chip", 16e9, 819e9), ("TPU5p chip", 95e9, 2765e9), ("TPU6e chip", 32e9, 1638e9),
    ("GB200", 186e9, 576e12 / 72),                   # NVL72: 13.4 TB, 576 TB/s over 72 GPUs
    ("GB300", 288e9, 576e12 / 72), ("B300", 288e9, 8e12),
    ("MI325X", 256e9, 6e12), ("MI355X", 288e9, 8e12),
    ("MI250", 128e9, 4096 / 8 * 3.2e9 * 2),          # 2 x 4096-bit HBM2e at 3.2 Gb/s = 3.2768 TB/s
    ("MI250 GCD", 64e9, 4096 / 8 * 3.2e9),
])
def test_memory_and_bandwidth(name, memory_bytes, bandwidth_Bps):
    d = pm.load_device(name)
    assert d.memory_bytes == pytest.approx(memory_bytes)
    assert d.memory_bandwidth == pytest.approx(bandwidth_Bps)
    assert d.memory_bytes != pytest.approx(memory_bytes / 1e9 * 2**30)


def test_gb200_memory_is_the_rack_total_over_72():
    assert pm.load_device("GB200").memory_bytes == pytest.approx(13.4e12 / 72, rel=0.001)


def test_multi_die_boards():
    b, d = pm.load_device("MI250"), pm.load_device("MI250 GCD")
    assert d.board == "MI250" and b.dies_per_board == 2
    for key, val in d.peak_flops.items():
        assert b.peak_flops[key] == pytest.approx(2 * val, rel=0.001)
    assert b.memory_bytes == 2 * d.memory_bytes and b.power_w == 2 * d.power_w
    # torch sees one GCD, which NeuSight's table records with the MI210's peaks (104 CUs at 1.7 GHz)
    mi210 = pm.load_device("MI210")
    assert d.peak_flops["fp16_tensor"] == pytest.approx(mi210.peak_flops["fp16_tensor"], rel=0.001)
    assert pm.load_device("AMD Instinct MI250").name == "MI250 GCD"


def test_power_published_or_said_not_to_be():
    # board power from the sources: B200 1000 W (HGX), GB200 1200 W, GB300 1400 W, MI325X 1000 W, MI355X 1400 W
    for name, watts in (("B200", 1000), ("GB200", 1200), ("GB300", 1400), ("MI325X", 1000), ("MI355X", 1400)):
        assert pm.load_device(name).power_w == watts
    for name in ("TPU5e chip", "TPU5p chip", "TPU6e chip", "B300"):
        d = pm.load_device(name)
        assert d.power_w is None and d.sources["power"].startswith("not published")
    df = pm.list_devices().set_index("name")
    assert math.isnan(df.loc["TPU6e chip", "power_w"]) and df.loc["GB300", "power_w"] == 1400


def test_unpublished_power_needs_a_stated_reason():
    kw = dict(name="x", peak_flops={"fp32": "1 TFLOPS"}, memory_bytes="1 GB", memory_bandwidth="1 GB/s",
              power_w=None, source="s")
    with pytest.raises(CatalogError, match="sources"):
        Device(**kw)
    assert Device(**kw, sources={"power": "not published by the vendor"}).power_w is None


def test_unpublished_power_gives_no_energy(tmp_path):
    bb = pm.best_batch("BERT-base", "TPU v6e", latency_budget="50 ms", precision="bf16")
    assert math.isnan(bb.energy_per_inference_j) and "not published" in bb.power_source
    assert any("energy per inference not estimated" in a for a in bb.assumptions)
    # a measured power given by the user is used
    bb = pm.best_batch("BERT-base", "TPU v6e", latency_budget="50 ms", precision="bf16", power_w="200 W")
    assert bb.power_w == 200 and bb.energy_per_inference_j == pytest.approx(200 / bb.throughput_samples_s)


@pytest.mark.parametrize("name, gbytes_per_s", [
    # per direction per device port
    ("NVLink Switch (NVL72)", 1800 / 2),             # 1.8 TB/s bidirectional per GPU
    ("Infinity Fabric (MI300X)", 7 * 128 / 2),       # 7 peer links x 128 GB/s bidirectional = 896
    ("Infinity Fabric (MI355X)", 7 * 153.6 / 2),     # 7 x 153.6 = 1075.2 bidirectional
    ("InfiniBand NDR", 400 / 8), ("InfiniBand XDR", 800 / 8),   # Gb/s -> GB/s
    ("800GbE", 800 / 8), ("RoCE 800G", 800 / 8),
    ("TPU v6e ICI", 800 / 2),                        # 800 GBps bidirectional per chip
    ("PCIe 6.0 x16", 64 * 16 * 242 / 256 / 8),       # 64 GT/s x 16 lanes, FLIT 242/256
])
def test_fabric_bandwidths(name, gbytes_per_s):
    assert pm.load_interconnect(name).bandwidth == pytest.approx(gbytes_per_s * 1e9, rel=1e-6)


def test_nvl72_aggregate_matches_nvidia():
    # NVIDIA: 130 TB/s of NVLink across the 72 GPUs (72 x 1.8 TB/s = 129.6)
    per_gpu_bidir = 2 * pm.load_interconnect("NVLink Switch (NVL72)").bandwidth
    assert 72 * per_gpu_bidir == pytest.approx(130e12, rel=0.01)


@pytest.mark.parametrize("name, device, n, domain, intra, net, nics", [
    ("DGX H100", "H100", 8, 8, "NVLink 4", "InfiniBand NDR", 8),        # 8 x ConnectX-7 400 Gb/s
    ("HGX H200 8-GPU", "H200", 8, 8, "NVSwitch 3 (DGX H100)", "InfiniBand NDR", 8),
    ("HGX B200 8-GPU", "B200", 8, 8, "NVSwitch 4 (DGX B200)", "InfiniBand NDR", 8),
    ("HGX B300 8-GPU", "B300", 8, 8, "NVSwitch 4 (DGX B200)", "InfiniBand XDR", 8),  # 8 x ConnectX-8 800G
    ("DGX GB200 NVL72", "GB200", 4, 72, "NVLink Switch (NVL72)", "InfiniBand NDR", 4),  # 18 trays of 4
    ("GB300 NVL72", "GB300", 4, 72, "NVLink Switch (NVL72)", "InfiniBand XDR", 4),
    ("MI300X Platform", "MI300X", 8, 8, "Infinity Fabric (MI300X)", "RoCE 400G", 8),
    ("ND MI300X v5", "MI300X", 8, 8, "Infinity Fabric (MI300X)", "InfiniBand NDR", 8),
    ("MI325X Platform", "MI325X", 8, 8, "Infinity Fabric (MI300X)", "RoCE 400G", 8),
    ("MI355X Platform", "MI355X", 8, 8, "Infinity Fabric (MI355X)", "RoCE 400G", 8),
    ("TPU v5e pod", "TPU5e chip", 8, 256, "TPU v5e ICI", "100GbE", 2),  # 2 x 100 Gbps per host
    ("TPU v5p pod", "TPU5p chip", 4, 8960, "TPU v5p ICI", None, 1),
    ("Trillium pod", "TPU6e chip", 8, 256, "TPU v6e ICI", None, 1),
])
def test_llm_systems(name, device, n, domain, intra, net, nics):
    s = pm.load_system(name)
    assert (s.device, s.devices_per_node, s.scale_up_domain, s.intra_node, s.interconnect, s.nics_per_node) == \
        (device, n, domain, intra, net, nics)


def test_v5e_pod_network_matches_google():
    # Google: data-center network bandwidth 6.4 Tbps per 256-chip pod = 32 hosts x 2 x 100 Gbps
    s = pm.load_system("Cloud TPU v5e pod")
    hosts = s.scale_up_domain // s.devices_per_node
    assert hosts * s.nics_per_node * pm.load_interconnect(s.interconnect).bandwidth * 8 == pytest.approx(6.4e12)


def test_scale_up_domain_validation(tmp_path):
    base = dict(name="s", device="H100", devices_per_node=4, intra_node=None, interconnect=None, source="x")
    assert System(**base).scale_up_domain == 4
    assert System(**base, scale_up_domain=72).scale_up_domain == 72
    for bad in (6, 0, True, 7.5):
        with pytest.raises(CatalogError, match="scale_up_domain"):
            System(**base, scale_up_domain=bad)
    p = tmp_path / "sys.yaml"
    p.write_text('systems:\n  Mine:\n    device: H100\n    devices_per_node: 4\n    scale_up_domain: "72"\n'
                 '    intra_node: null\n    interconnect: null\n    source: x\n')
    with pytest.raises(CatalogError, match="scale_up_domain"):
        pm.load_catalog([p], activate=False)
    assert "scale_up_domain" in pm.list_systems().columns


def test_fp4_precision():
    assert normalize_precision("NVFP4") == normalize_precision("MXFP4") == "fp4"
    assert normalize_precision("W4A4 (nvfp4)", free_text=True) == "fp4"
    assert BYTES_PER_ELEMENT["fp4"] == 0.5                 # two 4-bit elements per byte
    assert pm.load_device("B200").peak("fp4") == pytest.approx(9 * P)
    with pytest.raises(ValueError, match="no published fp4 peak"):
        pm.load_device("H100").peak("fp4")                  # Hopper has no FP4 tensor path
    assert "fp4" in pm.load_device("GB300").precisions


def test_memory_technology():
    # HBM generation from the sources: Blackwell / Blackwell Ultra / MI325X / MI355X HBM3e, MI300X HBM3,
    # MI250 HBM2e, TPU v5e HBM2 and v5p HBM2e; GDDR on the older inference cards
    expected = {"B200": "HBM3e", "B300": "HBM3e", "GB200": "HBM3e", "GB300": "HBM3e", "H100": "HBM3",
                "H100-PCIe": "HBM2e", "MI300X": "HBM3", "MI325X": "HBM3e", "MI355X": "HBM3e",
                "MI250 GCD": "HBM2e", "TPU5e chip": "HBM2", "TPU5p chip": "HBM2e", "P4": "GDDR5", "T4": "GDDR6"}
    for name, tech in expected.items():
        assert pm.load_device(name).memory_technology == tech, name
    with pytest.raises(CatalogError, match="memory_technology"):
        Device(name="x", peak_flops={"fp32": "1 TFLOPS"}, memory_bytes="1 GB", memory_bandwidth="1 GB/s",
               power_w="1 W", source="s", memory_technology="HBM9")
    assert pm.list_devices().set_index("name").loc["GB300", "memory_technology"] == "HBM3e"


def test_processes():
    assert pm.load_device("MI355X").process == "TSMC 3 nm N3P"
    assert {pm.load_device(n).process for n in ("B300", "GB200", "GB300")} == {"TSMC 4NP"}


# Names the shared data write (LLM serving rows, NeuSight's torch device names) -> catalog entry
@pytest.mark.parametrize("printed, name", [
    ("H100 SXM", "H100"), ("H200 SXM", "H200"), ("B200 SXM", "B200"),
    ("NVIDIA A100-PCIE-40GB", "A100-PCIe"), ("NVIDIA A100-SXM4-40GB", "A100"),
    ("NVIDIA A100 80GB PCIe", "A100-PCIe-80GB"), ("Tesla P100-PCIE-16GB", "P100-PCIe"),
    ("Tesla V100-PCIE-32GB", "V100-PCIe-32GB"), ("Tesla T4", "T4"), ("Tesla P4", "P4"),
    ("AMD Instinct MI100", "MI100"), ("AMD Instinct MI210", "MI210"), ("AMD Instinct MI250", "MI250 GCD"),
    ("NVIDIA GB200", "GB200"), ("TPU v5p", "TPU5p chip"), ("Trillium", "TPU6e chip"),
    # Korthikanti et al. (2022) ran on Selene's DGX A100 nodes with 80 GB A100s
    ("A100 (NVIDIA Selene)", "A100-80GB"),
])
def test_shared_data_names_resolve(printed, name):
    assert pm.load_device(printed).name == name


def test_every_neusight_device_resolves(shared_dir):
    import pandas as pd

    path = Path(shared_dir) / "data" / "per_model_latency" / "neusight_devices.csv"
    if not path.is_file():
        pytest.skip("shared NeuSight device table not present")
    table = pd.read_csv(path)
    for _, row in table.iterrows():
        d = pm.load_device(row["device"])
        # NeuSight's own memory figure agrees with the catalog's within GiB vs GB: 2^30/10^9 = 1.0737
        # (the catalog writes the driver's 40,960 MiB for A100-SXM4-40GB, NeuSight "40"; T4: 15 vs 16 GB)
        assert d.memory_bytes == pytest.approx(row["Dev_Mem_GB"] * 1e9, rel=0.075), row["device"]


@pytest.mark.parametrize("kind, name", [("device", "TPU6e chip"), ("device", "GB300"), ("device", "MI250 GCD"),
                                        ("system", "GB200 NVL72"), ("system", "Cloud TPU v5p pod")])
def test_new_entries_round_trip_through_yaml(kind, name):
    # an unpublished power (None), fp4 peaks, memory technology and scale_up_domain survive the serializer
    from plaster_model.catalog.serialize import catalog_entry, from_entry

    obj = getattr(pm, f"load_{kind}")(name)
    k, n, entry = catalog_entry(obj)
    back = from_entry(k, n, entry)
    assert back == obj
    if kind == "system":
        assert back.scale_up_domain == obj.scale_up_domain > obj.devices_per_node
