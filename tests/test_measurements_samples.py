"""Real measurement files from ../shared/trtexec_samples (read in place, never copied)."""
from __future__ import annotations

import math
import warnings
from pathlib import Path

import pytest

from plaster_model.io.readers import (MEASUREMENT_COLUMNS, read_layer_info, read_layer_profile,
                                        read_measurements, validate_measurements)
from plaster_model.io.readers.read import sniff_format
from plaster_model.io.readers.trtexec import parse_trtexec_text
from plaster_model.io.readers.trtexec_json import export_times_stats, load_trt_json

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "trtexec_samples"
PUBLISHED = Path(__file__).resolve().parents[2] / "shared" / "data" / "published_measurements.csv"

pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared/trtexec_samples not present")


def _read(name: str, **kw):
    return read_measurements(SAMPLES / name, normalize=False, **kw)


def _row(df, metric: str, i: int = 0):
    return df[df.metric == metric].iloc[i]


def _sample_files():
    if not SAMPLES.is_dir():
        return []
    return sorted(p for p in SAMPLES.rglob("*") if p.is_file() and p.name != "README.md")


@pytest.mark.parametrize("path", _sample_files(), ids=lambda p: str(p.relative_to(SAMPLES)))
def test_every_sample_file_parses(path):
    df = read_measurements(path, normalize=False)
    assert list(df.columns[: len(MEASUREMENT_COLUMNS)]) == MEASUREMENT_COLUMNS
    validate_measurements(df)


def test_whole_directory_reads_without_failures():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no "could not read" warning
        df = read_measurements(SAMPLES, normalize=False)
    assert df.attrs["failed"] == []
    # the per-layer-only files are named (UserWarning), not dropped in silence
    assert sorted(Path(p).name for p, _ in df.attrs["layer_only"]) == [
        "08_trt10.16.1_h100pcie_mnist-cnn_dumpProfile.log",
        "09_trt10.16.1_h100pcie_mnist-cnn_exportLayerInfo.json",
        "resnet.onnx.engine.graph.json", "resnet.onnx.engine.profile.json"]
    assert [Path(p).name for p, _ in df.attrs["skipped"]] == ["README.md"]
    # the trex digest repeats timing.json's run: kept once
    assert len(df.attrs["dropped"]) == 1 and "profile.metadata.json" in df.attrs["dropped"][0]
    assert len(df) == 14 + 2 + 2 + 2 + 27 + 2 + 2 + 2 + 2 + 2 + 30


def test_04_trt86_resnet50_bs32():
    df = _read("04_trt8.6.0_rtx3060laptop_resnet50_fp16_bs32.log")
    assert sorted(df.metric) == ["latency_ms", "throughput_img_s"]
    tput, lat = _row(df, "throughput_img_s"), _row(df, "latency_ms")
    # [08/20/2023-10:19:08] [I] Throughput: 83.0696 qps   (explicit batch 32: x 32)
    assert tput.value == pytest.approx(83.0696 * 32)
    assert tput.throughput_qps == pytest.approx(83.0696)
    # [I] GPU Compute Time: min = 9.64301 ms, max = 9.82837 ms, mean = 9.72326 ms,
    #     median = 9.71161 ms, percentile(90%) = 9.79053 ms, ... percentile(99%) = 9.82324 ms
    assert lat.value == pytest.approx(9.71161)
    for row in (tput, lat):
        assert row.latency_median_ms == pytest.approx(9.71161)
        assert row.latency_mean_ms == pytest.approx(9.72326)
        assert row.latency_min_ms == pytest.approx(9.64301)
        assert row.latency_p90_ms == pytest.approx(9.79053)
        assert row.latency_p99_ms == pytest.approx(9.82324)
    # [I] Latency: ... mean = 11.9358 ms, median = 11.9179 ms; H2D mean = 2.19259 ms
    assert lat.host_latency_mean_ms == pytest.approx(11.9358)
    assert lat.h2d_mean_ms == pytest.approx(2.19259)
    assert lat.d2h_mean_ms == pytest.approx(0.019998)
    assert lat.enqueue_mean_ms == pytest.approx(0.508796)
    assert lat.batch_per_device == 32 and lat.precision == "fp16" and lat.phase == "inference"
    assert lat.device_raw == "NVIDIA GeForce RTX 3060 Laptop GPU"
    assert lat.engine_version == "8.6.0" and lat.framework == "TensorRT"
    assert lat.model == "resnet50_bs_dynamic"
    assert lat.line == 159  # "=== Performance summary ==="
    assert lat.n_devices == 1


def test_01_trt71_implicit_batch_sweep_gives_seven_runs():
    df = _read("01_trt7.1_jetson_resnet50-caffe_fp16_implicit-batch-sweep.log")
    lat = df[df.metric == "latency_ms"]
    tput = df[df.metric == "throughput_img_s"]
    assert list(lat.batch_per_device) == [1, 4, 8, 16, 32, 64, 128]
    assert len(tput) == 7
    # implicit batch: "throughput: 43.6244 qps" at --batch=4 is already samples/s
    assert tput.value.iloc[1] == pytest.approx(43.6244)
    assert tput.throughput_qps.iloc[1] == pytest.approx(43.6244 / 4)
    # first run: "[I] GPU Compute" block, "median: 26.9075 ms"; "throughput: 37.0368 qps"
    assert lat.value.iloc[0] == pytest.approx(26.9075)
    assert tput.value.iloc[0] == pytest.approx(37.0368)
    # Host Latency block "mean: 26.9861 ms"; Enqueue Time block has no mean in 7.1
    assert lat.host_latency_mean_ms.iloc[0] == pytest.approx(26.9861)
    assert math.isnan(lat.enqueue_mean_ms.iloc[0])
    # last run (--batch=128): "median: 2671.88 ms", "throughput: 47.7781 qps"
    assert lat.value.iloc[-1] == pytest.approx(2671.88)
    assert tput.value.iloc[-1] == pytest.approx(47.7781)
    assert set(lat.engine_version) == {"7.x"} and set(lat.precision) == {"fp16"}
    assert lat.device.isna().all()  # TRT 7.1 prints no device block
    assert list(lat.line) == [93, 179, 260, 338, 415, 511, 587]


def test_02_trt80_one_percentile_and_e2e_line():
    df = _read("02_trt8.0.3_gtx1070_mnist-cnn_fp16_bs4_verbose.log")
    lat, tput = _row(df, "latency_ms"), _row(df, "throughput_img_s")
    # [I] Throughput: 6330.83 qps ; explicit batch 4 (x:0=4x1x28x28)
    assert tput.value == pytest.approx(6330.83 * 4)
    # [I] GPU Compute Time: min = 0.150391 ms, ..., median = 0.152588 ms, percentile(99%) = 0.156677 ms
    assert lat.value == pytest.approx(0.152588)
    assert lat.latency_p99_ms == pytest.approx(0.156677)
    assert math.isnan(lat.latency_p90_ms)
    assert lat.engine_version == "8.0.3"  # "[TensorRT v8003]", "TensorRT version: 8003"
    assert lat.batch_per_device == 4


def test_03_trt84():
    df = _read("03_trt8.4.1_gtx1070_mnist-cnn_fp16_bs4_verbose.log")
    # [I] Throughput: 6106.55 qps ; GPU Compute Time: ... median = 0.154663 ms
    assert _row(df, "throughput_img_s").value == pytest.approx(6106.55 * 4)
    assert _row(df, "latency_ms").value == pytest.approx(0.154663)
    assert _row(df, "latency_ms").engine_version == "8.4.1"


def test_05_markdown_summaries_without_prefix():
    df = _read("05_trt10.0_rtx4090_yolov9c_int8-fp16_bs1-12_summaries.md")
    lat = df[df.metric == "latency_ms"]
    assert len(lat) == 14
    # first block under "## Batch Size 1": "Throughput: 1026.71 qps", "median = 0.972656 ms"
    assert _row(df, "throughput_img_s").value == pytest.approx(1026.71)
    assert lat.value.iloc[0] == pytest.approx(0.972656)
    assert set(lat.device_raw) == {"NVIDIA GeForce RTX 4090"}  # "Selected Device: ..."
    # the 2nd FP16 block is headed "BatchSize 8" again (it is batch 12): batch left unknown
    dup = lat[lat.throughput_qps.round(4) == 99.3162]
    assert len(dup) == 1 and math.isnan(dup.batch_per_device.iloc[0])
    assert "batch unknown" in dup.notes.iloc[0]
    assert len(df[df.metric == "throughput_img_s"]) == 13


def test_06_trt1014_cov_gives_std():
    df = _read("06_trt10.14.1_rtx6000ada_mnist-cnn_fp32_bs1_defaults.log")
    lat = _row(df, "latency_ms")
    # [W] * GPU compute time is unstable, with coefficient of variance = 12.8763%.
    assert lat.latency_std_ms == pytest.approx(0.128763 * 0.0287623)
    assert lat.engine_version == "10.14.1" and lat.precision == "fp32" and lat.batch_per_device == 1
    assert _row(df, "throughput_img_s").value == pytest.approx(23188.6)


def test_07_trt1016_loaded_engine_precision_not_stated():
    df = _read("07_trt10.16.1_h100pcie_mnist-cnn_fp16_bs4_cudagraph_verbose.log")
    lat = _row(df, "latency_ms")
    # --loadEngine: the build flags are not in the log
    assert lat.precision == "not stated"
    assert lat.batch_per_device == 4 and lat.engine_version == "10.16.1"
    assert _row(df, "throughput_img_s").value == pytest.approx(24896.9 * 4)
    assert lat.h2d_mean_ms == 0 and "CUDA graph" in lat.notes


def test_08_dump_profile_has_layers_not_rows():
    path = SAMPLES / "08_trt10.16.1_h100pcie_mnist-cnn_dumpProfile.log"
    assert len(read_measurements(path, normalize=False)) == 0
    layers = read_layer_profile(path)
    assert len(layers) == 15
    # [I]       31.40       0.0017       0.0018       2.1   __mye59_0_myl0_0
    first = layers.iloc[0]
    assert first.layer == "__mye59_0_myl0_0"
    assert (first.time_ms_mean, first.time_ms_median, first.percent, first["count"]) == (0.0017, 0.0018, 2.1, 18362)
    assert "Reformatting CopyNode for Input Tensor 0 to {ForeignNode[node_conv2d_1...node_relu_1]}" in set(layers.layer)


def test_09_and_trex_graph_layer_info():
    info = read_layer_info(SAMPLES / "09_trt10.16.1_h100pcie_mnist-cnn_exportLayerInfo.json")
    assert len(info) == 9 and info.layer.iloc[0] == "node_conv2d + node_relu"
    assert info.weights_count.iloc[0] == 800
    graph = read_layer_info(SAMPLES / "trt84_rtx3090_keras-resnet50_fp16_bs32_json" / "resnet.onnx.engine.graph.json")
    assert len(graph) == 86 and (graph.layer_type == "CaskConvolution").sum() > 0


def test_trt84_timing_json_cross_check():
    folder = SAMPLES / "trt84_rtx3090_keras-resnet50_fp16_bs32_json"
    records = load_trt_json(folder / "resnet.onnx.engine.timing.json")
    assert len(records) == 795
    stats = export_times_stats(records)
    # README: 747 records after the 200 ms warm-up; median 4.02026, mean 4.02732,
    # min 4.00281, max 4.08575, p99 4.08063 ms; walltime 3.00953 s; 248.211 qps
    assert stats["count"] == 747
    assert stats["latency_median_ms"] == pytest.approx(4.02026, abs=5e-6)
    assert stats["latency_mean_ms"] == pytest.approx(4.02732, abs=5e-6)
    assert stats["latency_min_ms"] == pytest.approx(4.00281)
    assert stats["latency_max_ms"] == pytest.approx(4.08575)
    assert stats["latency_p99_ms"] == pytest.approx(4.08063)
    assert stats["walltime_s"] == pytest.approx(3.00953, abs=5e-6)
    assert stats["qps"] == pytest.approx(248.211, rel=1e-5)  # timestamps have 6 digits
    df = read_measurements(folder / "resnet.onnx.engine.timing.json", normalize=False)
    lat, tput = _row(df, "latency_ms"), _row(df, "throughput_img_s")
    assert lat.value == pytest.approx(4.02026, abs=5e-6)
    # batch, device, model and precision come from the trex metadata next to it
    assert lat.batch_per_device == 32 and lat.device_raw == "NVIDIA GeForce RTX 3090"
    assert lat.precision == "fp16" and lat.model == "resnet"
    assert tput.value == pytest.approx(248.211 * 32, rel=1e-5)


def test_trt84_trex_metadata_and_profile():
    folder = SAMPLES / "trt84_rtx3090_keras-resnet50_fp16_bs32_json"
    meta = read_measurements(folder / "resnet.onnx.engine.profile.metadata.json", normalize=False)
    # "GPU Compute Time": [4.00281, 4.08575, 4.02732, 4.02026, 4.08063], "Throughput": 248.211
    assert _row(meta, "latency_ms").value == pytest.approx(4.02026)
    assert _row(meta, "throughput_img_s").value == pytest.approx(248.211 * 32)
    assert len(read_measurements(folder / "resnet.onnx.engine.build.metadata.json", normalize=False)) == 0
    prof = read_layer_profile(folder / "resnet.onnx.engine.profile.json")
    assert len(prof) == 86 and set(prof["count"]) == {1}
    # { "name" : "resnet50/conv1_conv/Conv2D__6", "timeMs" : 0.08704, "averageMs" : 0.08704, ... "percentage" : 2.0371 }
    assert prof.iloc[0].layer == "resnet50/conv1_conv/Conv2D__6"
    assert prof.iloc[0].time_ms_mean == pytest.approx(0.08704) and prof.iloc[0].percent == pytest.approx(2.0371)
    assert prof.time_ms_mean.sum() == pytest.approx(4.27, abs=0.01)  # tensorrt.md §2.2


def test_trt86_sweep_directory():
    df = read_measurements(SAMPLES / "trt86_rtx3060laptop_resnet50_sweep", normalize=False)
    assert len(df) == 30
    lat = df[df.metric == "latency_ms"]
    assert set(lat.batch_per_device) == {8, 16, 32, 64, 128}
    assert lat.groupby("precision").size().to_dict() == {"fp16": 5, "fp32": 5, "int8": 5}
    # dynamic_1-128-128.log: "Throughput: 9.00487 qps", GPU Compute median = 102.679 ms
    fp32_128 = df[(df.precision == "fp32") & (df.batch_per_device == 128)]
    assert _row(fp32_128, "throughput_img_s").value == pytest.approx(9.00487 * 128)
    assert _row(fp32_128, "latency_ms").value == pytest.approx(102.679)


def test_onnxruntime_profiles():
    folder = SAMPLES / "other_formats"
    df = read_measurements(folder / "onnxruntime-1.32.0_cpu_tiny-mlp-conv_b8_profile.json", normalize=False)
    lat = _row(df, "latency_ms")
    # model_run durations 722, 181, 143 us: the first is warm-up -> median of 181, 143
    assert lat.value == pytest.approx(0.162)
    assert lat.batch_per_device == 8 and lat.precision == "fp32" and lat.framework == "onnxruntime"
    assert _row(df, "throughput_img_s").value == pytest.approx(8 / 0.162e-3)
    layers = read_layer_profile(folder / "onnxruntime-1.32.0_cpu_tiny-mlp-conv_b8_profile.json")
    assert set(layers.layer) == {"c_nchwc", "ReorderOutput", "fc1", "relu1", "fc2"}
    # c_nchwc_kernel_time durations 351 (warm-up), 58, 54 us
    conv = layers.set_index("layer").loc["c_nchwc"]
    assert conv.time_ms_median == pytest.approx(0.056) and conv.layer_type == "Conv" and conv["count"] == 2
    two = read_measurements(folder / "onnxruntime-1.32.0_cpu_tiny-mlp-conv_b8_2threads_profile.json",
                            normalize=False)
    assert _row(two, "latency_ms").value == pytest.approx(0.253)  # runs 12683 (warm-up), 253 us


def test_sniffing_by_content():
    assert sniff_format(SAMPLES / "05_trt10.0_rtx4090_yolov9c_int8-fp16_bs1-12_summaries.md") == "trtexec_log"
    assert sniff_format(SAMPLES / "09_trt10.16.1_h100pcie_mnist-cnn_exportLayerInfo.json") == "trtexec_layers"
    folder = SAMPLES / "trt84_rtx3090_keras-resnet50_fp16_bs32_json"
    assert sniff_format(folder / "resnet.onnx.engine.timing.json") == "trtexec_times"
    assert sniff_format(folder / "resnet.onnx.engine.profile.json") == "trtexec_profile"
    assert sniff_format(folder / "resnet.onnx.engine.graph.json") == "trtexec_layers"
    assert sniff_format(folder / "resnet.onnx.engine.profile.metadata.json") == "trex_metadata"


def test_parse_runs_api_on_sweep_log():
    text = (SAMPLES / "01_trt7.1_jetson_resnet50-caffe_fp16_implicit-batch-sweep.log").read_text()
    log = parse_trtexec_text(text, file="01.log")
    assert len(log.runs) == 7
    assert all(r.implicit_batch for r in log.runs)
    assert log.runs[0].layout == "7.1-7.2 blocks"
    assert log.runs[0].stats["End-to-End Host Latency"]["median"] == pytest.approx(26.9833)


@pytest.mark.skipif(not PUBLISHED.is_file(), reason="shared/data not present")
@pytest.mark.slow  # published data
def test_published_csv_loads():
    df = read_measurements(PUBLISHED, normalize=False)
    assert len(df) == 652
    validate_measurements(df)
    assert set(df.precision) <= {"fp32", "mixed", "fp16", "int8", "bf16", "not stated"}
    assert (df.precision_raw == "mixed (fp16)").sum() == (df.precision == "mixed").sum()
    bf = df[df.precision_raw.str.startswith("bfloat16")]
    assert set(bf.precision) == {"bf16"}
    assert df.line.iloc[0] == 2 and df.file.iloc[0] == str(PUBLISHED)
