"""Real-world names (plaster_model.catalog.names) and their wiring into read_measurements,
normalize_names, calibrate and the CLI."""
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import plaster_model as pm
from plaster_model.catalog.names import (
    model_key, parse_fabric, parse_rate_gbps, resolve_device, resolve_interconnect,
    resolve_model, resolve_precision, resolve_system,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "trtexec_samples"
SWEEP = SHARED / "trt86_rtx3060laptop_resnet50_sweep"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/trtexec_samples not present")


@pytest.mark.parametrize("text, gbps", [
    ("200 Gb/s", 200), ("100Gbit Ethernet", 100), ("25G", 25), ("100 Gbps", 100),
    ("10 Gigabit", 10), ("100GbE", 100), ("1.6 Tb/s", 1600), ("900 GB/s", None), ("NVLink 3.0", None),
])
def test_rates_are_bits(text, gbps):
    assert parse_rate_gbps(text) == gbps


@pytest.mark.parametrize("text, device, name, count", [
    ("IB HDR 200 Gb/s", None, "InfiniBand HDR", None),
    ("InfiniBand 100 Gb/s", None, "InfiniBand EDR", None),       # 4x rate -> generation
    ("56 Gb/s FDR", None, "InfiniBand FDR", None),
    ("8x ConnectX-6", None, "InfiniBand HDR", 8),               # ConnectX-6 tops out at HDR
    ("8x ConnectX-6 IB HDR 200 Gb/s per node", None, "InfiniBand HDR", 8),
    ("Mellanox ConnectX-5 100GbE", None, "100GbE", None),      # Ethernet mode
    ("NVLink 3.0", None, "NVLink 3", None),
    ("third-generation NVLink", None, "NVLink 3", None),
    ("NVLink", "V100", "NVLink 2", None),                      # generation of the GPU
    ("NVLink 3.0/NVSwitch", None, "NVSwitch 2 (DGX A100)", None),
    ("NVSwitch", "H100", "NVSwitch", None),                    # the catalog name wins
    ("RoCE v2 100 Gb/s", None, "RoCE 100G", None),
    ("4x 100 GbE RoCE", None, "RoCE 100G", 4),
    ("100Gbit Ethernet", None, "100GbE", None),
    ("25 Gbps Ethernet", None, "25GbE", None),
    ("400 Gbps EFA", None, "AWS EFA 100G", 4),                 # 4 interfaces of 100 Gb/s
    ("3200 Gbps EFAv2", None, "AWS EFA 100G", 32),
    ("PCIe Gen4", None, "PCIe 4.0 x16", None),
    ("PCI Express 5.0", None, "PCIe 5.0 x16", None),
    ("Omni-Path", None, "Omni-Path 100", None),
    ("Slingshot 11", None, "HPE Slingshot", None),
    ("TPU v4 ICI", None, "TPU v4 ICI", None),
])
def test_interconnect_keywords_and_rates(text, device, name, count):
    m = resolve_interconnect(text, device)
    assert (m.name, m.count) == (name, count), m.how


@pytest.mark.parametrize("text, fragment", [
    ("RoCE", "RoCE"),                         # no rate: ambiguous
    ("InfiniBand", "InfiniBand"),             # no generation, no rate
    ("InfiniBand EDR 200 Gb/s", "InfiniBand"),  # generation and rate disagree
    ("1 GbE", "GbE"),                         # a rate the catalog does not hold
    ("200 Gb/s", None),                       # a rate alone: HDR InfiniBand, 200 GbE or RoCE?
    ("carrier pigeon", None),
])
def test_unknown_links_are_reported_with_closest_names(text, fragment):
    m = resolve_interconnect(text)
    assert m.name is None and m.how
    if fragment:
        assert m.candidates and all(fragment.lower() in c.lower() or "gbe" in c.lower() for c in m.candidates[:2])


def test_bare_rate_lists_every_technology_at_that_rate():
    m = resolve_interconnect("200 Gb/s")
    assert m.name is None and set(m.candidates) == {"200GbE", "InfiniBand HDR", "RoCE 200G"}


def test_one_string_naming_intra_link_network_and_nics():
    f = parse_fabric("NVLink 3.0/NVSwitch within DGX A100, 8x ConnectX-6 IB HDR 200 Gb/s per node")
    assert (f.intra_node, f.interconnect, f.nics_per_node, f.system, f.device) == \
        ("NVSwitch 2 (DGX A100)", "InfiniBand HDR", 8, "DGX A100", "A100")
    assert f.unmapped_ == ()
    f = parse_fabric("8x V100 NVLink, 4x EDR InfiniBand")   # "8x V100" counts GPUs, not NICs
    assert (f.intra_node, f.interconnect, f.nics_per_node) == ("NVLink 2", "InfiniBand EDR", 4)
    f = parse_fabric("NVSwitch (DGX-2 V100 32GB, single node)")   # commas inside (...) do not split
    assert (f.intra_node, f.system, f.device) == ("NVSwitch", "DGX-2", "V100-32GB")
    f = parse_fabric("NVLink 4.0, telepathy")
    assert f.intra_node == "NVLink 4" and f.unmapped_[0][0] == "telepathy" and f.unmapped_[0][1]


@pytest.mark.parametrize("text, name", [
    ("DGX A100", "DGX A100"), ("p3.16xlarge", "p3.16xlarge"), ("AWS p4d.24xlarge", "p4d.24xlarge"),
    ("ND96asr_v4", "Azure ND A100 v4"), ("inside a DGX A100 640GB node", "DGX A100 640GB"),
])
def test_system_names(text, name):
    assert resolve_system(text).name == name


def test_system_name_supplies_the_links():
    f = parse_fabric("p4d.24xlarge")
    assert (f.intra_node, f.interconnect, f.nics_per_node) == ("NVSwitch 2 (DGX A100)", "AWS EFA 100G", 4)


@pytest.mark.parametrize("text, name, count", [
    ("Tesla V100-SXM2-32GB", "V100-32GB", None), ("V100 SXM2 32GB", "V100-32GB", None),
    ("v100_sxm2_32gb", "V100-32GB", None), ("8x NVIDIA A100-SXM4-80GB", "A100-80GB", 8),
    ("NVIDIA GeForce RTX 3060 Laptop GPU", "RTX 3060 Laptop", None),
])
def test_devices(text, name, count):
    m = resolve_device(text)
    assert (m.name, m.count) == (name, count)


def test_unknown_device_never_guessed():
    # the SXM3 board of the DGX-2 is a different part: reported, closest names given
    m = resolve_device("Tesla V100-SXM3-32GB")
    assert m.name is None and "V100-32GB" in m.candidates


@pytest.mark.parametrize("text, name", [
    ("resnet50_bs_dynamic", "ResNet-50"), ("resnet50-caffe", "ResNet-50"),
    ("inception_v3_fp16.engine", "Inception-v3"), ("googlenet.prototxt", "GoogleNet"),
    ("resnet50_v1.5_fp16", "ResNet-50 v1.5"), ("/models/vgg16.onnx", "VGG-16"),
    ("vgg16-ssd", None),            # an SSD detector, not VGG-16: "ssd" is architectural
    ("model-trained", None), ("resnet.onnx.engine", None),   # "resnet": which depth?
])
def test_model_rule(text, name):
    assert resolve_model(text).name == name


def test_model_key_strips_only_run_tokens():
    assert model_key("resnet50_bs_dynamic") == ("resnet50", ["dynamic", "bs"])
    assert model_key("vgg16-ssd_fp16.engine")[0] == "vgg16-ssd"
    assert model_key("mobilenet_v2_int8_bs32.plan")[0] == "mobilenet_v2"


def test_model_map_overrides():
    m = resolve_model("resnet50_bs_dynamic", {"RESNET50_BS_DYNAMIC": "ResNet-50 v1.5"})
    assert m.name == "ResNet-50 v1.5" and m.how == "model_map"
    m = resolve_model("mynet", {"mynet": "MyNet"})      # a user model, not in the zoo
    assert m.name == "MyNet" and "not in the zoo" in m.how


def test_precision_default_says_so():
    m = resolve_precision("not stated", framework="TensorFlow 1.15")
    assert m.name == "fp32" and "default" in m.how
    m = resolve_precision("not stated", framework="TensorFlow", device="TPU2 chip")
    assert m.name == "bf16" and "TPU" in m.how
    assert resolve_precision(None, framework="TensorRT 8.6").name is None   # engine precision unknown
    assert resolve_precision("FP32+FP16", framework="TensorRT").name == "fp16"


def test_normalize_names_reports_models_and_keeps_earlier_mapping():
    from plaster_model.measurements import normalize_names
    df = pd.DataFrame({"model": ["resnet50_bs_dynamic", "vgg16-ssd"], "device": ["Tesla T4", "Tesla T4"],
                       "metric": "latency_ms", "value": [1.0, 2.0]})
    out, rep = normalize_names(df, model_map={"vgg16-ssd": "VGG-16"})
    assert list(out["model"]) == ["ResNet-50", "VGG-16"]
    assert list(out["model_raw"]) == ["resnet50_bs_dynamic", "vgg16-ssd"]
    again, _ = normalize_names(out)              # as calibrate's prepare_rows re-normalizes
    assert list(again["model"]) == ["ResNet-50", "VGG-16"]
    models = rep[rep["kind"] == "model"].set_index("raw")
    assert models.loc["vgg16-ssd", "how"] == "model_map"


def test_fabric_text_gives_network_to_multinode_rows_only():
    from plaster_model.measurements import normalize_names
    fab = "NVLink 3.0/NVSwitch within DGX A100, 8x ConnectX-6 IB HDR 200 Gb/s per node"
    df = pd.DataFrame({"device": "NVIDIA A100-SXM4-40GB", "interconnect": fab, "n_devices": [8, 16],
                       "devices_per_node": 8, "metric": "throughput_img_s", "value": [1.0, 2.0]})
    out, rep = normalize_names(df)
    assert list(out["interconnect"]) == ["NVSwitch 2 (DGX A100)", "InfiniBand HDR"]
    assert list(out["interconnect_raw"]) == [fab, fab]


def _vendor_table():
    """A table written the way vendors and benchmark pages print it: nvidia-smi device names,
    free-text fabrics, file-style model names and prose precisions. ``value`` is synthetic
    (30 % of the device's peak over 3 x forward FLOPs per training sample, 1 x per inference
    sample), not a measurement: the test checks that the rows resolve and predict."""
    rows = []

    def add(device, fabric, n, dpn, model, prec, batch, phase):
        rows.append(dict(source="vendor-style table (synthetic values)", model=model, framework="PyTorch",
                         device=device, n_devices=n, devices_per_node=dpn, interconnect=fabric,
                         precision=prec, batch_per_device=batch, phase=phase, metric="throughput_img_s"))
    a100 = "NVLink 3.0/NVSwitch within DGX A100, 8x ConnectX-6 IB HDR 200 Gb/s per node"
    for n in (1, 8, 16, 64):
        add("NVIDIA A100-SXM4-80GB", a100 if n > 1 else None, n, 8, "resnet50_v1.5", "mixed (fp16)", 256, "training")
    v100 = "NVLink 2.0 hybrid cube-mesh, 4x EDR InfiniBand 100 Gb/s"
    for n in (1, 8, 32):
        add("Tesla V100-SXM2-32GB", v100 if n > 1 else None, n, 8, "resnet50", "FP16 (Tensor Cores)", 256, "training")
    h100 = "NVLink 4.0/NVSwitch, 8x 400 Gb/s NDR per node"
    for n in (1, 8, 64):
        add("NVIDIA H100 80GB HBM3", h100 if n > 1 else None, n, 8, "resnet50_bs256", "bf16", 256, "training")
    for n in (8, 16):
        add("Tesla V100-SXM2-16GB", "AWS p3.16xlarge (25 Gbps)", n, 8, "resnet50-pytorch", "fp32", 128, "training")
    for b in (1, 8, 64):
        add("NVIDIA GeForce RTX 3060 Laptop GPU", None, 1, 1, "resnet50_bs_dynamic", "FP32+INT8", b, "inference")
    for n in (16, 32):
        add("NVIDIA A100-SXM4-40GB", "p4d.24xlarge, 400 Gbps EFA", n, 8, "ResNet50 v1.5", "AMP", 256, "training")
    for b in (1, 32):
        add("NVIDIA L4", None, 1, 1, "vgg16.onnx", "fp16", b, "inference")
    add("NVIDIA L4", None, 1, 1, "vgg16-ssd", "fp16", 8, "inference")                 # no such zoo model
    add("NVIDIA A100-SXM4-80GB", "RoCE", 16, 8, "resnet50_v1.5", "mixed (fp16)", 256, "training")  # no rate
    df = pd.DataFrame(rows)
    prec = {"mixed (fp16)": "mixed", "FP16 (Tensor Cores)": "fp16", "FP32+INT8": "int8", "AMP": "mixed"}
    vals = []
    for r in df.itertuples():
        d = pm.load_device(resolve_device(r.device).name)
        m = pm.load_model(resolve_model(r.model).name or "VGG-16")
        k = 3 if r.phase == "training" else 1
        vals.append(r.n_devices * 0.3 * d.peak(prec.get(r.precision, r.precision)) / (k * m.fwd_flops))
    df["value"] = vals
    return df


def test_vendor_style_table_predicts_for_90_percent_of_rows():
    df = _vendor_table()
    cal = pm.calibrate(df, n_bootstrap=0)
    pred = cal.predict(df)
    ok = np.isfinite(pred["value"].to_numpy(dtype=float))
    assert ok.mean() >= 0.9, pred.loc[~ok, ["device", "interconnect", "model", "reason"]]
    # the rest are listed with reasons, and the calibration names what it could not map
    assert pred.loc[~ok, "reason"].map(bool).all()
    assert set(cal.unmapped_["text"]) == {"RoCE", "vgg16-ssd"}


@needs_shared
def test_trtexec_sweep_calibrates_three_precisions():
    df = pm.read_measurements(SWEEP)
    assert set(df["model"]) == {"ResNet-50"} and set(df["model_raw"]) == {"resnet50_bs_dynamic"}
    cal = pm.calibrate(df, n_bootstrap=0)
    groups = {(g[0], g[1]) for g in cal.params_[["device", "precision"]].itertuples(index=False)}
    assert groups == {("RTX 3060 Laptop", "fp32"), ("RTX 3060 Laptop", "fp16"), ("RTX 3060 Laptop", "int8")}


@needs_shared
def test_read_measurements_model_map():
    df = pm.read_measurements(SWEEP, model_map={"resnet50_bs_dynamic": "ResNet-50 v1.5"})
    assert set(df["model"]) == {"ResNet-50 v1.5"}
    rep = pd.DataFrame(df.attrs["name_report"])
    assert (rep.loc[rep["kind"] == "model", "how"] == "model_map").all()


@needs_shared
def test_every_sample_gpu_resolves():
    df = pm.read_measurements(SHARED)
    rep = pd.DataFrame(df.attrs["name_report"])
    devs = rep[rep["kind"] == "device"]
    assert len(devs) == 6 and devs["mapped_to"].notna().all()


@needs_shared
# 15 = the rows of the log's "=== Profile ===" table (its Total row excluded); 9 = the
# entries of the JSON's "Layers" list
@pytest.mark.parametrize("name, n_layers", [
    ("08_trt10.16.1_h100pcie_mnist-cnn_dumpProfile.log", 15),
    ("09_trt10.16.1_h100pcie_mnist-cnn_exportLayerInfo.json", 9),
])
def test_layer_only_files_warn_instead_of_silent_zero_rows(name, n_layers):
    with pytest.warns(UserWarning, match="per-layer data only"):
        df = pm.read_measurements(SHARED / name)
    assert len(df) == 0
    (path, msg), = df.attrs["layer_only"]
    assert msg.startswith(f"{n_layers} layer rows")


@needs_shared
def test_cli_model_map(tmp_path, capsys):
    from plaster_model.cli import main
    out = tmp_path / "cal.yaml"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["calibrate", str(SWEEP), "--model-map", "resnet50_bs_dynamic=ResNet-50 v1.5",
                     "--n-bootstrap", "0", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "RTX 3060 Laptop" in text and out.is_file()
    with pytest.raises(SystemExit):
        main(["calibrate", str(SWEEP), "--model-map", "no-equals-sign"])


def test_names_follow_a_merged_file(tmp_path):
    # a file merged into the active catalog that re-aliases the K80 (same device count, so a
    # cache keyed on the count would not notice): spellings that differ from an alias only by
    # punctuation follow the new aliases ("Kepler-die" resolves), not the replaced ones
    # ("K80_die", from the old alias "K80 die", no longer does)
    cat = pm.load_catalog([], activate=True)
    assert resolve_device("K80-die").name == "K80"
    (tmp_path / "k80.yaml").write_text(
        "devices:\n  K80:\n    aliases: [Kepler die]\n    peak_flops: {fp32: '2.8 TFLOPS'}\n"
        "    memory: '12 GB'\n    memory_bandwidth: '240 GB/s'\n    power: '150 W'\n    source: test\n",
        encoding="utf-8")
    cat.merge_file(tmp_path / "k80.yaml")
    assert resolve_device("Kepler-die").name == "K80"
    assert resolve_device("K80_die").name is None
