"""``pm.measure.trtexec`` keeps its finished runs (issue 25, defect 6).

Before: one failing precision, or one byte of trtexec output that is not UTF-8, raised a
plain RuntimeError / UnicodeDecodeError and threw away every completed run; with no default
timeout a hung trtexec blocked forever.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

import plaster_model as pm
from plaster_model.io.runners import run_trtexec
from test_measure import FAKE_TRTEXEC, _fake, onnx_file  # noqa: F401  the fake trtexec and a tiny ONNX file

onnx = pytest.importorskip("onnx")
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="shebang script")


def _fake_with(tmp_path, monkeypatch, fail_expr: str):
    """The fake trtexec of test_measure, failing where `fail_expr` (Python, over ``args``) holds."""
    calls = _fake(tmp_path, monkeypatch)
    exe = tmp_path / "bin" / "trtexec"
    exe.write_text(FAKE_TRTEXEC.format(python=sys.executable, calls=str(calls), fail=fail_expr))
    return calls


def test_one_failing_precision_keeps_the_finished_runs(tmp_path, monkeypatch, onnx_file):
    # int8 fails (exit 1, as on a GPU without INT8 support); fp32 and fp16 at 2 batches
    # finish: 4 runs x 2 rows = 8 rows, and the 2 failed runs are named.
    _fake_with(tmp_path, monkeypatch, '"--int8" in args')
    with pytest.warns(pm.MeasureWarning, match="2 of 6 trtexec runs failed"):
        df = pm.measure.trtexec(onnx_file, batches=[1, 4], precisions=["fp32", "int8", "fp16"])
    assert len(df) == 8 and set(df["precision"]) == {"fp32", "fp16"}
    assert [(b, p) for b, p, _ in df.attrs["failed"]] == [(1, "int8"), (4, "int8")]
    assert "something went wrong" in df.attrs["failed"][0][2]


def test_non_utf8_output_is_not_fatal(tmp_path, monkeypatch, onnx_file):
    # The fake writes "\xff\xfe" and a Latin-1 device suffix before its log: the bytes are
    # replaced (U+FFFD) and the run parses.
    expr = ('sys.stdout.buffer.write(b"[I] Selected Device note: caf\\xe9 \\xff\\xfe\\n") and '
            'sys.stdout.flush() and False')
    _fake_with(tmp_path, monkeypatch, expr)
    df = pm.measure.trtexec(onnx_file, batches=[2], precisions=["fp16"], log_dir=tmp_path / "logs")
    assert len(df) == 2 and df.attrs["failed"] == []
    # latency = the fake's GPU time 0.05 + 0.005 x 2 = 0.06 ms
    assert df.set_index("metric").loc["latency_ms", "value"] == pytest.approx(0.06)
    assert "\ufffd" in next((tmp_path / "logs").glob("*.log")).read_text(encoding="utf-8")


def test_every_run_failing_is_a_plaster_error(tmp_path, monkeypatch, onnx_file):
    _fake_with(tmp_path, monkeypatch, "True")
    with pytest.raises(pm.MeasureError, match="every trtexec run failed") as err:
        pm.measure.trtexec(onnx_file, batches=[1], precisions=["fp32"])
    assert isinstance(err.value, RuntimeError) and isinstance(err.value, pm.PlasterError)


def test_default_timeout_and_a_hung_run(tmp_path, monkeypatch, onnx_file):
    # A hung fp16 run (sleeps 60 s) is stopped at the timeout; the fp32 run is kept.
    _fake_with(tmp_path, monkeypatch, '"--fp16" in args and __import__("time").sleep(60)')
    with pytest.warns(pm.MeasureWarning, match="timed out after 2 s"):
        df = pm.measure.trtexec(onnx_file, batches=[1], precisions=["fp32", "fp16"], timeout=2)
    assert set(df["precision"]) == {"fp32"}
    # Without timeout= every run gets the default (one hour), never "wait forever".
    seen = []
    real = subprocess.run

    def spy(cmd, **kw):
        seen.append(kw.get("timeout"))
        return real(cmd, **kw)

    monkeypatch.setattr(run_trtexec.subprocess, "run", spy)
    exe = tmp_path / "bin" / "trtexec"
    exe.write_text(FAKE_TRTEXEC.format(python=sys.executable, calls=str(tmp_path / "calls.txt"), fail=False))
    pm.measure.trtexec(onnx_file, batches=[1], precisions=["fp32"])
    assert seen == [run_trtexec.DEFAULT_TIMEOUT_S] == [3600.0]


@pytest.mark.parametrize("kw, name", [
    ({"batches": [2.5]}, "batches"), ({"batches": [0]}, "batches"), ({"batches": []}, "batches"),
    ({"precisions": ["fp12"]}, "precisions"), ({"timeout": -1}, "timeout"),
    ({"timeout": float("nan")}, "timeout"), ({"input_name": "nope"}, "input_name"),
])
def test_bad_arguments_are_parameter_errors(tmp_path, monkeypatch, onnx_file, kw, name):
    _fake(tmp_path, monkeypatch)
    with pytest.raises(pm.ParameterError, match=f"{name}="):
        pm.measure.trtexec(onnx_file, **{"precisions": ["fp32"], **kw})
