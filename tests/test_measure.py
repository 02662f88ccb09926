"""Runners: trtexec (a fake executable on PATH) and onnxruntime on the CPU, end to end."""
from __future__ import annotations

import os
import stat
import sys
import textwrap

import numpy as np
import pytest

import plaster_model as pm

onnx = pytest.importorskip("onnx")

# A stand-in for trtexec: prints a TensorRT 8.6-style log (the layout of
# shared/trtexec_samples/04_trt8.6.0_...log) for the requested batch; GPU compute time
# t(b) = 0.05 ms + b x 0.01 ms (fp32) or b x 0.005 ms (--fp16), plus 0.08 ms H2D and 0.02 ms
# D2H in the host latency and the qps. It records its arguments.
FAKE_TRTEXEC = textwrap.dedent('''\
    #!{python}
    import sys
    args = sys.argv[1:]
    with open({calls!r}, "a") as fh:
        fh.write(" ".join(args) + "\\n")
    if {fail}:
        print("[E] Error[4]: something went wrong in the builder")
        sys.exit(1)
    shapes = next(a.split("=", 1)[1] for a in args if a.startswith("--shapes="))
    onnx = next(a.split("=", 1)[1] for a in args if a.startswith("--onnx="))
    name, dims = shapes.split(",")[0].rsplit(":", 1)
    b = int(dims.split("x")[0])
    fp16 = "--fp16" in args
    t = 0.05 + (0.005 if fp16 else 0.01) * b
    cmd = "trtexec " + " ".join(args)
    p = "[08/20/2023-10:18:05] [I] "
    print("&&&& RUNNING TensorRT.trtexec [TensorRT v8600] # " + cmd)
    print(p + "=== Model Options ===")
    print(p + "Model: " + onnx)
    print(p + "Precision: FP32" + ("+FP16" if fp16 else ""))
    print(p + "Input inference shape: " + name + "=" + dims)
    print(p + "=== Device Information ===")
    print(p + "Selected Device: NVIDIA H100 80GB HBM3")
    print(p + "TensorRT version: 8.6.0")
    print(p + "=== Performance summary ===")
    print(p + "Throughput: %.4f qps" % (1000 / (t + 0.1)))   # one stream: H2D + compute + D2H
    def st(x):
        return ("min = %.5f ms, max = %.5f ms, mean = %.5f ms, median = %.5f ms, "
                "percentile(90%%) = %.5f ms, percentile(95%%) = %.5f ms, percentile(99%%) = %.5f ms"
                % (x * 0.98, x * 1.05, x * 1.01, x, x * 1.02, x * 1.03, x * 1.04))
    for label, x in (("Latency", t + 0.1), ("Enqueue Time", 0.05), ("H2D Latency", 0.08),
                     ("GPU Compute Time", t), ("D2H Latency", 0.02)):
        print(p + label + ": " + st(x))
    print(p + "Total Host Walltime: 3.0 s")
    print(p + "Total GPU Compute Time: 2.9 s")
    print("&&&& PASSED TensorRT.trtexec [TensorRT v8600] # " + cmd)
''')


@pytest.fixture
def onnx_file(tmp_path):
    from plaster_model.onnx_builders import tiny_cnn

    path = tmp_path / "tiny_cnn.onnx"
    onnx.save(tiny_cnn(), str(path))
    return path


def _fake(tmp_path, monkeypatch, fail=False):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    calls = tmp_path / "calls.txt"
    exe = bindir / "trtexec"
    exe.write_text(FAKE_TRTEXEC.format(python=sys.executable, calls=str(calls), fail=fail))
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    return calls


@pytest.mark.skipif(sys.platform == "win32", reason="shebang script")
def test_trtexec_runs_the_executable_and_parses_it(tmp_path, monkeypatch, onnx_file):
    calls = _fake(tmp_path, monkeypatch)
    df = pm.measure.trtexec(onnx_file, batch_sizes=[1, 4, 16], precisions=["fp32", "fp16"],
                            extra_args=("--useSpinWait",), log_dir=tmp_path / "logs")
    lines = calls.read_text().splitlines()
    assert len(lines) == 6
    assert all("--shapes=x:" in ln and "--useSpinWait" in ln for ln in lines)
    assert sum("--fp16" in ln for ln in lines) == 3
    assert "--shapes=x:16x3x32x32" in lines[2]
    assert len(list((tmp_path / "logs").glob("*.log"))) == 6
    assert len(df) == 12
    assert set(df["metric"]) == {"throughput_img_s", "latency_ms"}
    assert set(df["device"]) == {"H100"} and set(df["engine_version"]) == {"8.6.0"}
    assert set(df["model"]) == {"tiny_cnn"} and set(df["phase"]) == {"inference"}
    lat = df[(df["metric"] == "latency_ms") & (df["precision"] == "fp16")].set_index("batch_per_device")["value"]
    assert lat.loc[16] == pytest.approx(0.05 + 0.005 * 16)
    tput = df[(df["metric"] == "throughput_img_s") & (df["precision"] == "fp32")].set_index("batch_per_device")["value"]
    assert tput.loc[4] == pytest.approx(4 * 1000 / (0.05 + 0.04 + 0.1), rel=1e-4)   # qps x batch
    assert df["model_fwd_flops"].iloc[0] > 0
    # the rows calibrate without the zoo knowing the model; throughput rows are predicted
    # from compute + the measured H2D + D2H, latency rows from the GPU compute time alone
    cal = pm.calibrate(df, n_bootstrap=0)
    assert cal.errors_["median_abs_pct_error"].max() < 1


def test_trtexec_failure_is_reported(tmp_path, monkeypatch, onnx_file):
    _fake(tmp_path, monkeypatch, fail=True)
    with pytest.raises(RuntimeError, match="something went wrong"):
        pm.measure.trtexec(onnx_file, batch_sizes=[1], precisions=["fp32"])


def test_trtexec_missing(tmp_path, monkeypatch, onnx_file):
    try:
        import tensorrt  # noqa: F401
        pytest.skip("TensorRT is installed: the Python API path would run")
    except ImportError:
        pass
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="neither 'trtexec'"):
        pm.measure.trtexec(onnx_file, batch_sizes=[1], precisions=["fp32"])
    with pytest.raises(ValueError, match="precisions="):
        pm.measure.trtexec(onnx_file, precisions=["fp12"])
    with pytest.raises(ValueError, match="input_name"):
        pm.measure.trtexec(onnx_file, precisions=["fp32"], input_name="nope", trtexec=str(tmp_path / "t"))


def test_onnxruntime_missing_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(ImportError, match=r"plaster_model\[measure\]"):
        pm.measure.onnxruntime(b"", batch_sizes=[1])


def test_cpu_loop_measure_fit_predict():
    """Measure a small model with onnxruntime, calibrate on some batch sizes, predict a
    held-back one within 25 %."""
    pytest.importorskip("onnxruntime")
    from plaster_model.onnx_builders import tiny_cnn

    batches = [1, 2, 4, 8, 16, 32]
    held = 8
    df = pm.measure.onnxruntime(tiny_cnn(), batch_sizes=batches, n_warmup=3, n_runs=15)
    assert len(df) == 2 * len(batches)
    assert set(df["device"]) == {"x86-64 core (AVX2)"} and set(df["precision"]) == {"fp32"}
    assert (df["latency_p99_ms"] >= df["latency_median_ms"]).all()
    counted = pm.onnx_import.model_from_onnx(tiny_cnn(), name="tiny_cnn")
    assert df["model_fwd_flops"].iloc[0] == pytest.approx(counted.fwd_flops)
    train = df[df["batch_per_device"] != held]
    cal = pm.calibrate(train, n_bootstrap=20)
    out = cal.predict(df[df["batch_per_device"] == held])
    err = np.abs(out["value"] / out["measured_value"] - 1)
    assert (err < 0.25).all(), out[["metric", "measured_value", "value"]]
    assert (out["value_low"] < out["value"]).all() and (out["value"] < out["value_high"]).all()
    pf = cal.parameters_for("x86-64 core (AVX2)", "fp32", "tiny_cnn", "inference")
    assert pf["t0_s"] >= 0 and pf["efficiency"] > 0 and pf["latency_p99_ratio"] >= 1
