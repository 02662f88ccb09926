"""The trtexec runner writes only inside the folder it is given (issue 15 defect 5), and takes
extra flags as a list or as one command-line string."""
from __future__ import annotations

import sys

import pytest

import plaster_model as pm

onnx = pytest.importorskip("onnx")
from test_measure import _fake  # noqa: E402  the fake trtexec executable


@pytest.fixture
def evil_onnx(tmp_path):
    from plaster_model.onnx_builders import tiny_cnn

    def make(graph_name):
        model = tiny_cnn()
        model.graph.name = graph_name
        path = tmp_path / "model.onnx"
        onnx.save(model, str(path))
        return path
    return make


@pytest.mark.skipif(sys.platform == "win32", reason="shebang script")
@pytest.mark.parametrize("graph_name", ["../../escaped", "/tmp/abs_escape", "..", ".hidden/../../x", "a\\..\\b"])
def test_log_names_stay_inside_log_dir(tmp_path, monkeypatch, evil_onnx, graph_name):
    _fake(tmp_path, monkeypatch)
    logs = tmp_path / "deep" / "logs"
    model = evil_onnx(graph_name)
    before = {p for p in tmp_path.rglob("*")}
    pm.measure.trtexec(model, batch_sizes=[1], precisions=["fp32"], log_dir=logs)
    written = {p for p in tmp_path.rglob("*") if p.is_file()} - before
    written -= {tmp_path / "calls.txt"}
    assert written and all(logs in p.parents for p in written), written
    assert all(not p.name.startswith(".") for p in written)


@pytest.mark.skipif(sys.platform == "win32", reason="shebang script")
def test_extra_args_string_is_split_like_a_shell(tmp_path, monkeypatch, evil_onnx):
    calls = _fake(tmp_path, monkeypatch)
    path = evil_onnx("m")
    pm.measure.trtexec(path, batch_sizes=[1], precisions=["fp32"], extra_args="--useSpinWait --workspace=64")
    line = calls.read_text().splitlines()[-1]
    # "--fp16" used to become "-", "-", "f", "p", "1", "6": six arguments
    assert " --useSpinWait --workspace=64" in line and " - " not in line
    with pytest.raises(pm.ParameterError, match="extra_args"):
        pm.measure.trtexec(path, batch_sizes=[1], precisions=["fp32"], extra_args=[1, 2])
    with pytest.raises(pm.ParameterError, match="extra_args"):
        pm.measure.trtexec(path, batch_sizes=[1], precisions=["fp32"], extra_args="--x='unclosed")
