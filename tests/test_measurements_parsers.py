"""Parsers on small synthetic fixtures written from shared/formats/tensorrt.md and dlbs.md."""
from __future__ import annotations

import json
import math
import warnings

import pytest

from plaster_model.errors import ParseWarning
from plaster_model.io.readers import ParseError, read_layer_profile, read_measurements
from plaster_model.io.readers.read import read_file, sniff_format
from plaster_model.io.readers.trtexec import decode_trt_version, parse_trtexec_text, runs_to_frame

# --- trtexec text fixtures --------------------------------------------------------------

TRT10_LOG = """\
&&&& RUNNING TensorRT.trtexec [TensorRT v101000] [b12] # trtexec --onnx=tiny_cnn.onnx --shapes=input:16x3x32x32 --fp16 --useCudaGraph
[05/01/2025-10:00:00] [I] === Model Options ===
[05/01/2025-10:00:00] [I] Format: ONNX
[05/01/2025-10:00:00] [I] Model: tiny_cnn.onnx
[05/01/2025-10:00:00] [I] === Build Options ===
[05/01/2025-10:00:00] [I] Precision: FP32+FP16
[05/01/2025-10:00:00] [I] Input build shape (profile 0): input=16x3x32x32+16x3x32x32+16x3x32x32
[05/01/2025-10:00:00] [I] === Inference Options ===
[05/01/2025-10:00:00] [I] Batch: Explicit
[05/01/2025-10:00:00] [I] Input inference shape : input=16x3x32x32
[05/01/2025-10:00:00] [I] CUDA Graph: Enabled
[05/01/2025-10:00:00] [I] === Device Information ===
[05/01/2025-10:00:00] [I] Selected Device: NVIDIA A100 80GB PCIe
[05/01/2025-10:00:00] [I] TensorRT version: 10.10.0
[05/01/2025-10:00:05] [I] Input binding for input with dimensions 16x3x32x32 and type fp32 is created.
[05/01/2025-10:00:05] [I] Starting inference
[05/01/2025-10:00:08] [I] Warmup completed 50 queries over 200 ms
[05/01/2025-10:00:08] [I] Timing trace has 1000 queries over 3.001 s
[05/01/2025-10:00:08] [I] === Trace details ===
[05/01/2025-10:00:08] [I] Average on 10 runs - GPU latency: 1.2 ms - Host latency: 1.5 ms (enqueue 0.02 ms)
[05/01/2025-10:00:08] [I]
[05/01/2025-10:00:08] [I] === Performance summary ===
[05/01/2025-10:00:08] [I] Throughput: 333.2 qps
[05/01/2025-10:00:08] [I] Latency: min = 1.4 ms, max = 1.9 ms, mean = 1.5 ms, median = 1.49 ms, percentile(90%) = 1.6 ms, percentile(95%) = 1.7 ms, percentile(99%) = 1.8 ms
[05/01/2025-10:00:08] [I] Enqueue Time: min = 0.01 ms, max = 0.05 ms, mean = 0.02 ms, median = 0.02 ms, percentile(90%) = 0.03 ms, percentile(95%) = 0.04 ms, percentile(99%) = 0.05 ms
[05/01/2025-10:00:08] [I] H2D Latency: min = 0.1 ms, max = 0.2 ms, mean = 0.15 ms, median = 0.15 ms, percentile(90%) = 0.18 ms, percentile(95%) = 0.19 ms, percentile(99%) = 0.2 ms
[05/01/2025-10:00:08] [I] GPU Compute Time: min = 1.1 ms, max = 1.6 ms, mean = 1.25 ms, median = 1.2 ms, percentile(90%) = 1.3 ms, percentile(95%) = 1.4 ms, percentile(99%) = 1.5 ms
[05/01/2025-10:00:08] [I] D2H Latency: min = 0.05 ms, max = 0.1 ms, mean = 0.1 ms, median = 0.1 ms, percentile(90%) = 0.1 ms, percentile(95%) = 0.1 ms, percentile(99%) = 0.1 ms
[05/01/2025-10:00:08] [I] Total Host Walltime: 3.001 s
[05/01/2025-10:00:08] [I] Total GPU Compute Time: 1.25 s
[05/01/2025-10:00:08] [W] * GPU compute time is unstable, with coefficient of variance = 4%.
[05/01/2025-10:00:08] [W]   If not already in use, locking GPU clock frequency or adding --useSpinWait may improve the stability.
[05/01/2025-10:00:08] [I] Explanations of the performance metrics are printed in the verbose logs.
[05/01/2025-10:00:08] [V] Throughput: the observed throughput computed by dividing the number of queries by the Total Host Walltime.
&&&& PASSED TensorRT.trtexec [TensorRT v101000] [b12] # trtexec --onnx=tiny_cnn.onnx --shapes=input:16x3x32x32 --fp16 --useCudaGraph
"""
SUMMARY_LINE = 22  # "=== Performance summary ===" in TRT10_LOG

TRT80_LOG = """\
&&&& RUNNING TensorRT.trtexec [TensorRT v8003] # trtexec --onnx=net.onnx --shapes=x:0:8x1x28x28 --int8
[01/29/2022-15:09:35] [I] Max batch: explicit
[01/29/2022-15:09:35] [I] Precision: FP32+INT8
[01/29/2022-15:09:35] [I] Batch: Explicit
[01/29/2022-15:09:35] [I] Input inference shape: x:0=8x1x28x28
[01/29/2022-15:09:35] [I] Selected Device: Tesla V100-SXM2-16GB
[01/29/2022-15:09:35] [I] TensorRT version: 8003
[01/29/2022-15:09:41] [I] Created input binding for x:0 with dimensions 8x1x28x28
[01/29/2022-15:09:44] [I] === Performance summary ===
[01/29/2022-15:09:44] [I] Throughput: 5000 qps
[01/29/2022-15:09:44] [I] Latency: min = 0.2 ms, max = 0.4 ms, mean = 0.21 ms, median = 0.2 ms, percentile(99%) = 0.3 ms
[01/29/2022-15:09:44] [I] End-to-End Host Latency: min = 0.3 ms, max = 0.6 ms, mean = 0.38 ms, median = 0.37 ms, percentile(99%) = 0.5 ms
[01/29/2022-15:09:44] [I] Enqueue Time: min = 0.03 ms, max = 0.1 ms, mean = 0.04 ms, median = 0.03 ms, percentile(99%) = 0.06 ms
[01/29/2022-15:09:44] [I] H2D Latency: min = 0.003 ms, max = 0.03 ms, mean = 0.004 ms, median = 0.004 ms, percentile(99%) = 0.007 ms
[01/29/2022-15:09:44] [I] GPU Compute Time: min = 0.15 ms, max = 0.41 ms, mean = 0.16 ms, median = 1.5e-01 ms, percentile(99%) = 0.2 ms
[01/29/2022-15:09:44] [I] D2H Latency: min = 0.002 ms, max = 0.01 ms, mean = 0.0025 ms, median = 0.002 ms, percentile(99%) = 0.003 ms
[01/29/2022-15:09:44] [I] Total Host Walltime: 3.0 s
[01/29/2022-15:09:44] [I] Total GPU Compute Time: 2.4 s
&&&& PASSED TensorRT.trtexec [TensorRT v8003] # trtexec --onnx=net.onnx --shapes=x:0:8x1x28x28 --int8
"""

TRT70_BLOCKS = """\
&&&& RUNNING TensorRT.trtexec # trtexec --onnx=m.onnx --shapes=data:2x3x8x8
[06/11/2020-10:40:02] [06/11/2020-10:40:02] [I] Batch: 1
[06/11/2020-10:40:02] [I] Starting inference threads
[06/11/2020-10:40:05] [I] Host latency
[06/11/2020-10:40:05] [I] min: 26.8054 ms (end to end 26.8135 ms)
[06/11/2020-10:40:05] [I] max: 29.0007 ms (end to end 29.0186 ms)
[06/11/2020-10:40:05] [I] mean: 26.9861 ms (end to end 26.9996 ms)
[06/11/2020-10:40:05] [I] median: 26.9689 ms (end to end 26.9833 ms)
[06/11/2020-10:40:05] [I] percentile: 27.1187 ms at 99% (end to end 27.1382 ms at 99%)
[06/11/2020-10:40:05] [I] throughput: 0 qps
[06/11/2020-10:40:05] [I] walltime: 3.05102 s
[06/11/2020-10:40:05] [I] GPU Compute
[06/11/2020-10:40:05] [I] min: 26.7439 ms
[06/11/2020-10:40:05] [I] max: 28.9368 ms
[06/11/2020-10:40:05] [I] mean: 26.925 ms
[06/11/2020-10:40:05] [I] median: 26.9075 ms
[06/11/2020-10:40:05] [I] percentile: 27.0562 ms at 99%
[06/11/2020-10:40:05] [I] total compute time: 3.04253 s
&&&& PASSED TensorRT.trtexec # trtexec --onnx=m.onnx --shapes=data:2x3x8x8
"""

IMPLICIT_86 = """\
&&&& RUNNING TensorRT.trtexec [TensorRT v8601] # trtexec --deploy=net.prototxt --batch=8 --output=prob
[I] Max batch: 8
[I] Batch: 8
[I] === Performance summary ===
[I] Throughput: 800 qps
[I] Latency: min = 9 ms, max = 11 ms, mean = 10 ms, median = 10 ms, percentile(90%) = 10.5 ms, percentile(95%) = 10.7 ms, percentile(99%) = 10.9 ms
[I] Enqueue Time: min = 1 ms, max = 1 ms, mean = 1 ms, median = 1 ms, percentile(90%) = 1 ms, percentile(95%) = 1 ms, percentile(99%) = 1 ms
[I] H2D Latency: min = 0.5 ms, max = 0.5 ms, mean = 0.5 ms, median = 0.5 ms, percentile(90%) = 0.5 ms, percentile(95%) = 0.5 ms, percentile(99%) = 0.5 ms
[I] GPU Compute Time: min = 9 ms, max = 10 ms, mean = 9.5 ms, median = 9.5 ms, percentile(90%) = 9.9 ms, percentile(95%) = 9.9 ms, percentile(99%) = 10 ms
[I] D2H Latency: min = 0.01 ms, max = 0.01 ms, mean = 0.01 ms, median = 0.01 ms, percentile(90%) = 0.01 ms, percentile(95%) = 0.01 ms, percentile(99%) = 0.01 ms
[I] Total Host Walltime: 3 s
[I] Total GPU Compute Time: 2.85 s
&&&& PASSED TensorRT.trtexec [TensorRT v8601] # trtexec --deploy=net.prototxt --batch=8 --output=prob
"""


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_decode_trt_version():
    assert decode_trt_version("8601") == "8.6.1"
    assert decode_trt_version("8003") == "8.0.3"
    assert decode_trt_version("101601") == "10.16.1"
    assert decode_trt_version("100300") == "10.3.0"
    assert decode_trt_version("8.6.0") == "8.6.0"


def test_trt10_style_log(tmp_path):
    df = read_measurements(_write(tmp_path, "run.txt", TRT10_LOG), normalize=False)
    assert list(df.metric) == ["throughput_img_s", "latency_ms"]
    tput, lat = df.iloc[0], df.iloc[1]
    assert tput.value == pytest.approx(333.2 * 16) and tput.throughput_qps == pytest.approx(333.2)
    assert lat.value == pytest.approx(1.2)
    assert (lat.latency_p90_ms, lat.latency_p95_ms, lat.latency_p99_ms) == (1.3, 1.4, 1.5)
    assert lat.latency_std_ms == pytest.approx(0.04 * 1.25)  # CoV 4 % of the mean
    assert lat.host_latency_median_ms == 1.49 and lat.h2d_mean_ms == 0.15 and lat.enqueue_mean_ms == 0.02
    assert lat.engine_version == "10.10.0" and lat.precision == "fp16" and lat.precision_raw == "--fp16"
    assert lat.device_raw == "NVIDIA A100 80GB PCIe" and lat.model == "tiny_cnn"
    assert lat.batch_per_device == 16 and lat.line == SUMMARY_LINE
    assert "CUDA graph" in lat.notes and "b12" in lat.notes


def test_trt80_style_log_with_colon_tensor_name_and_sci_notation():
    log = parse_trtexec_text(TRT80_LOG, file="t.log")
    (run,) = log.runs
    assert run.layout == "8.0-8.2" and run.engine_version == "8.0.3"
    assert run.batch == 8 and run.precision == "int8"
    assert run.stats["End-to-End Host Latency"]["median"] == 0.37
    df = runs_to_frame(log.runs)
    assert df.set_index("metric").loc["latency_ms", "value"] == pytest.approx(0.15)  # "1.5e-01 ms"
    assert df.set_index("metric").loc["throughput_img_s", "value"] == pytest.approx(40000)


def test_trt70_block_layout_zero_qps_quirk():
    log = parse_trtexec_text(TRT70_BLOCKS, file="t.log")
    (run,) = log.runs
    assert run.layout == "7.0 blocks" and run.batch == 2 and not run.implicit_batch
    df = runs_to_frame(log.runs)
    # 7.0 explicit-batch runs report 0 qps: no throughput row, the latency row stays
    assert list(df.metric) == ["latency_ms"] and df.value.iloc[0] == pytest.approx(26.9075)
    assert "0 qps" in df.notes.iloc[0]
    assert df.host_latency_median_ms.iloc[0] == pytest.approx(26.9689)


def test_implicit_batch_qps_counts_samples():
    df = runs_to_frame(parse_trtexec_text(IMPLICIT_86).runs).set_index("metric")
    assert df.loc["throughput_img_s", "value"] == 800  # already samples/s
    assert df.loc["throughput_img_s", "throughput_qps"] == 100
    assert df.loc["latency_ms", "batch_per_device"] == 8
    assert df.loc["latency_ms", "precision"] == "fp32"  # no precision flag


def test_wrapped_and_stripped_prefixes():
    wrapped = "\n".join("[INFO] [05/27/2023-12:05:31] " + line if line.startswith("[I]") else line
                        for line in IMPLICIT_86.splitlines())
    stripped = "\n".join(" " + line[4:] if line.startswith("[I]") else line
                         for line in IMPLICIT_86.splitlines())
    for text in (wrapped, stripped):
        (run,) = parse_trtexec_text(text).runs
        assert run.stats["GPU Compute Time"]["median"] == 9.5 and run.samples_per_s == 800


def test_several_runs_in_one_file():
    text = TRT10_LOG + IMPLICIT_86 + TRT80_LOG
    log = parse_trtexec_text(text)
    assert [r.batch for r in log.runs] == [16, 8, 8]
    assert [r.engine_version for r in log.runs] == ["10.10.0", "8.6.1", "8.0.3"]
    assert log.runs[1].cov_percent is None  # the CoV warning belongs to run 0 only


def test_truncated_summary_raises_with_line(tmp_path):
    lines = TRT10_LOG.splitlines()
    cut = lines[: SUMMARY_LINE + 3]  # summary cut after "Enqueue Time"
    path = _write(tmp_path, "cut.log", "\n".join(cut) + "\n")
    with pytest.raises(ParseError) as err:
        read_measurements(path)
    assert err.value.line == SUMMARY_LINE + 3 and str(path) in str(err.value)
    assert "truncated" in str(err.value) and "GPU Compute Time" in str(err.value)
    assert isinstance(err.value, ValueError)
    # a summary interrupted by another line is truncated too
    broken = lines[: SUMMARY_LINE + 3] + ["[I] something else"] + lines[SUMMARY_LINE + 3:]
    with pytest.raises(ParseError, match="truncated") as err:
        parse_trtexec_text("\n".join(broken), file="b.log")
    assert err.value.line == SUMMARY_LINE + 4 and err.value.file == "b.log"


def test_non_numeric_stats_value_raises_with_line():
    text = TRT10_LOG.replace("median = 1.2 ms", "median = fast ms")
    with pytest.raises(ParseError, match="malformed") as err:
        parse_trtexec_text(text, file="x.log")
    assert err.value.line == SUMMARY_LINE + 5
    assert str(err.value).startswith(f"x.log:{SUMMARY_LINE + 5}:")


def test_log_ending_before_summary_and_failed_run_raise():
    head = "\n".join(TRT10_LOG.splitlines()[:15])
    with pytest.raises(ParseError, match="ends before the performance summary") as err:
        parse_trtexec_text(head, file="h.log")
    assert err.value.line == 15
    failed = head + "\n[E] Error[4]: bad\n&&&& FAILED TensorRT.trtexec [TensorRT v101000] # trtexec\n"
    with pytest.raises(ParseError, match="FAILED"):
        parse_trtexec_text(failed)


def test_profiler_run_without_summary_is_not_an_error(tmp_path):
    text = """\
&&&& RUNNING TensorRT.trtexec [TensorRT v8401] # trtexec --loadEngine=m.plan --dumpProfile
[I] Created input binding for input with dimensions 4x3x8x8
[I] The e2e network timing is not reported since it is inaccurate due to the extra synchronizations when the profiler is enabled.
[I] === Profile (100 iterations ) ===
[I]                 Layer   Time (ms)   Avg. Time (ms)   Median Time (ms)   Time %
[I]    [conv1] + relu (a)       12.00           0.1200             0.1100     60.0
[I]                 fc 1        8.00           0.0800             0.0800     40.0
[I]                 Total       20.00           0.2000             0.1900    100.0
&&&& PASSED TensorRT.trtexec [TensorRT v8401] # trtexec --loadEngine=m.plan --dumpProfile
"""
    path = _write(tmp_path, "prof.log", text)
    df = read_measurements(path)
    assert len(df) == 0 and df.attrs["failed"] == []
    layers = read_layer_profile(path)
    assert list(layers.layer) == ["[conv1] + relu (a)", "fc 1"]  # pre-8.6 layout: name first
    assert list(layers.time_ms_median) == [0.11, 0.08] and list(layers.percent) == [60.0, 40.0]


def test_directory_with_good_and_bad_file(tmp_path):
    _write(tmp_path, "good.log", TRT10_LOG)
    bad = _write(tmp_path, "bad.log", "\n".join(TRT10_LOG.splitlines()[: SUMMARY_LINE + 2]))
    with pytest.warns(RuntimeWarning, match="bad.log") as rec:
        df = read_measurements(tmp_path)
    assert len(rec) == 1
    assert len(df) == 2 and set(df.file) == {str(tmp_path / "good.log")}
    (failed,) = df.attrs["failed"]
    assert failed[0] == str(bad) and f"bad.log:{SUMMARY_LINE + 2}:" in failed[1]
    with pytest.raises(ParseError):
        read_measurements(tmp_path, on_error="raise")
    # a glob and a list behave the same
    with pytest.warns(RuntimeWarning):
        assert len(read_measurements(str(tmp_path / "*.log"))) == 2
    with pytest.warns(RuntimeWarning):
        assert len(read_measurements([tmp_path / "good.log", bad])) == 2


def test_missing_input_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_measurements(str(tmp_path / "nothing*.log"))
    with pytest.raises(ValueError, match="on_error"):
        read_measurements(tmp_path, on_error="ignore")


# --- DLBS --------------------------------------------------------------------------------

DLBS_TRAINING = """\
__exp.status__= "ok"
__exp.model__="resnet50"
__exp.model_title__="ResNet50"
__exp.framework__="tensorflow"
__exp.framework_title__="TensorFlow"
__exp.framework_ver__="1.4.0"
__exp.device_type__="gpu"
__exp.device_title__=""
__exp.gpus__="0,1,2,3"
__exp.num_gpus__=4
__exp.num_nodes__=1
__exp.replica_batch__=64
__exp.effective_batch__=256
__exp.dtype__="float16"
__exp.phase__="training"
INFO:tensorflow: step 100 images/sec: 1234.5
  __results.time_data__=[205.0, 207.0, 206.0, 208.0]
__results.time__=206.5
__results.throughput__=1239
__exp.status__="success"
"""

DLBS_TENSORRT = """\
__exp.model_title__="ResNet50"
__exp.framework__="tensorrt"
__exp.framework_ver__="7.2.1"
__exp.device_title__="Tesla V100-SXM2-16GB"
__exp.num_gpus__=1
__exp.replica_batch__=32
__exp.dtype__="int8"
__exp.phase__="inference"
[tensorrt] engine 0: fetch 0.1 ms process 4.0 ms
__results.gpu_0_infer_time__=4.1
__results.gpu_0_infer_time_data__=[4.0, 4.2, 4.1]
__results.gpu_0_infer_time_stdev__=0.08
__results.time__=5.0
__results.throughput__=6400.0
__exp.status__="success"
"""


def test_dlbs_training_log(tmp_path):
    df = read_measurements(_write(tmp_path, "tf.out", DLBS_TRAINING), normalize=False,
                           device="V100")
    assert sorted(df.metric) == ["throughput_img_s", "time_per_iter_s"]
    t = df.set_index("metric")
    assert t.loc["throughput_img_s", "value"] == 1239
    assert t.loc["time_per_iter_s", "value"] == pytest.approx(0.2065)  # median of time_data [ms] / 1000
    assert t.loc["time_per_iter_s", "latency_mean_ms"] == 206.5
    row = t.loc["time_per_iter_s"]
    assert (row.model, row.framework, row.engine_version) == ("ResNet50", "TensorFlow", "1.4.0")
    assert (row.n_devices, row.batch_per_device, row.precision, row.phase) == (4, 64, "fp16", "training")
    assert row.device == "V100" and "device_title empty" in row.notes
    assert t.loc["throughput_img_s", "line"] == 19  # last value of a key wins; its line


def test_dlbs_tensorrt_inference_uses_gpu_compute_time(tmp_path):
    df = read_measurements(_write(tmp_path, "trt.log", DLBS_TENSORRT), normalize=False).set_index("metric")
    assert df.loc["latency_ms", "value"] == pytest.approx(4.1)  # median of gpu_0_infer_time_data
    assert df.loc["latency_ms", "latency_std_ms"] == 0.08
    assert df.loc["latency_ms", "device_raw"] == "Tesla V100-SXM2-16GB"
    assert df.loc["latency_ms", "precision"] == "int8" and df.loc["latency_ms", "framework"] == "tensorrt"


def test_dlbs_failed_benchmark_and_bad_value(tmp_path):
    failed = DLBS_TRAINING.replace('__exp.status__="success"', '__exp.status__="failure"')
    df = read_measurements(_write(tmp_path, "f.log", failed))
    assert len(df) == 0
    bad = DLBS_TRAINING.replace("__results.time__=206.5", "__results.time__=fast")
    with pytest.raises(ParseError) as err:
        read_measurements(_write(tmp_path, "b.log", bad))
    assert err.value.line == 18


# --- trtexec JSON ------------------------------------------------------------------------

def _times(starts, compute=2.0, keys84=True):
    recs = []
    for s in starts:
        r = {"startEnqMs": s, "endEnqMs": s + 0.01, "startH2dMs": s, "endH2dMs": s,
             "startComputeMs": s, "endComputeMs": s + compute, "startD2hMs": s + compute,
             "endD2hMs": s + compute, "h2dMs": 0, "computeMs": compute, "d2hMs": 0,
             "latencyMs": compute}
        if not keys84:
            r["endToEndMs"] = compute
        recs.append(r)
    return "[\n" + "\n, ".join(json.dumps(r) for r in recs) + "\n]\n"


def test_export_times_warmup_and_batch(tmp_path):
    # TRT <= 8.4: warm-up included (first record at 5 ms): records before 200 ms are dropped
    path = _write(tmp_path, "t.json", _times([5 + 2 * i for i in range(200)]))
    df = read_measurements(path, normalize=False)
    assert list(df.metric) == ["latency_ms"]  # no batch, no samples/s
    assert df.value.iloc[0] == 2.0 and "warm-up records dropped" in df.notes.iloc[0]
    df = read_measurements(path, normalize=False, batch=4)
    tput = df.set_index("metric").loc["throughput_img_s"]
    # kept: starts 201 ... 403 ms (102 records); walltime = last D2H end 405 - first H2D start 201
    assert tput.throughput_qps == pytest.approx(102 / 0.204)
    assert tput.value == pytest.approx(4 * 102 / 0.204)
    # TRT >= 8.5: no warm-up in the file (first record after 200 ms): all records kept
    path = _write(tmp_path, "t85.dat", _times([210 + 2 * i for i in range(10)]))
    assert sniff_format(path) == "trtexec_times"
    assert "dropped" not in read_measurements(path, normalize=False).notes.iloc[0]


def test_export_profile_with_bare_nan(tmp_path):
    text = ('[\n  { "count" : 10 }\n, { "name" : "conv", "timeMs" : 5, "averageMs" : 0.5, '
            '"medianMs" : 0.5, "percentage" : 62.5 }\n, { "name" : "relu", "timeMs" : 3, '
            '"averageMs" : 0.3, "medianMs" : nan, "percentage" : 37.5 }\n]\n')
    path = _write(tmp_path, "p.json", text)
    assert len(read_measurements(path)) == 0  # per-layer only: no rows, not a failure
    layers = read_layer_profile(path)
    assert list(layers.layer) == ["conv", "relu"] and math.isnan(layers.time_ms_median.iloc[1])
    assert set(layers["count"]) == {10}


def test_invalid_json_raises_with_line(tmp_path):
    path = _write(tmp_path, "p.json", '[\n  { "count" : 10 }\n, { "name" : "a", "timeMs" : }\n]\n')
    with pytest.raises(ParseError) as err:
        read_layer_profile(path)
    assert err.value.line == 3


def test_ort_trace_events_object(tmp_path):
    def run(ts, dur):
        return [{"cat": "Node", "name": "mm_kernel_time", "ts": ts + 1, "dur": dur - 2, "ph": "X",
                 "args": {"op_name": "MatMul", "provider": "CPUExecutionProvider",
                          "input_type_shape": [{"float16": [16, 64]}]}},
                {"cat": "Session", "name": "model_run", "ts": ts, "dur": dur, "ph": "X", "args": {}}]
    events = run(100, 900) + run(1100, 400) + run(1600, 500) + run(2200, 600)
    path = _write(tmp_path, "prof.json", json.dumps({"traceEvents": events}))
    df = read_measurements(path, normalize=False, device="cpu").set_index("metric")
    assert df.loc["latency_ms", "value"] == pytest.approx(0.5)  # median of 400, 500, 600 us
    assert df.loc["latency_ms", "precision"] == "fp16" and df.loc["latency_ms", "batch_per_device"] == 16
    assert df.loc["throughput_img_s", "value"] == pytest.approx(16 / 0.5e-3)
    assert df.loc["latency_ms", "device"] == "cpu"
    layers = read_layer_profile(path)
    assert layers["count"].iloc[0] == 3 and layers.time_ms_median.iloc[0] == pytest.approx(0.498)


# --- CSV ---------------------------------------------------------------------------------

CSV_HEAD = ("source,source_detail,model,framework,device,n_devices,devices_per_node,interconnect,"
            "precision,batch_per_device,phase,metric,value,notes\n")


def test_csv_with_bad_value_names_line(tmp_path):
    good = 's,d,ResNet-50,TF,V100,1,1,"NVLink (x, y)",mixed (fp16),64,training,throughput_img_s,380,"a\nb"\n'
    bad = "s,d,ResNet-50,TF,V100,1,1,,fp32,64,training,throughput_img_s,lots,\n"
    path = _write(tmp_path, "m.dat", CSV_HEAD + good + bad)
    assert sniff_format(path) == "csv"
    with pytest.raises(ParseError, match="non-numeric") as err:
        read_measurements(path)
    assert err.value.line == 4  # the good record spans lines 2-3
    df = read_measurements(_write(tmp_path, "ok.csv", CSV_HEAD + good), normalize=False)
    assert df.precision.iloc[0] == "mixed" and df.precision_raw.iloc[0] == "mixed (fp16)"
    for cell, msg in (("-5", "finite and > 0"), ("0", "finite and > 0")):
        row = f"s,d,m,f,V100,1,1,,fp32,64,training,latency_ms,{cell},\n"
        with pytest.raises(ParseError, match=msg) as err:
            read_measurements(_write(tmp_path, "v.csv", CSV_HEAD + good + row))
        assert err.value.line == 4
    row = "s,d,m,f,V100,1,1,,fp32,64,training,flops,3,\n"
    with pytest.raises(ParseError, match="metric"):
        read_measurements(_write(tmp_path, "w.csv", CSV_HEAD + row))


def test_unrecognised_file_in_directory_is_skipped_not_failed(tmp_path):
    _write(tmp_path, "notes.txt", "nothing to see here\n")
    _write(tmp_path, "run.log", IMPLICIT_86)
    # Skipped, not failed: no RuntimeWarning ("could not read"), but a ParseWarning naming
    # the skipped file (issue 25: a folder of unreadable files used to give 0 rows silently).
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.warns(ParseWarning, match="notes.txt"):
            df = read_measurements(tmp_path)
    assert len(df) == 2 and df.attrs["failed"] == [] and len(df.attrs["skipped"]) == 1
    with pytest.raises(ParseError, match="unrecognised"):
        read_file(tmp_path / "notes.txt")
