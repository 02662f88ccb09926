"""Calibration files (issue 15 defect 4): atomic save, validated load."""
from __future__ import annotations

import copy
import io
import json
import os

import numpy as np
import pytest

import plaster_model as pm
from plaster_model.calibration import io as cio

from _synthetic import inference_latency_rows


def _rows():
    # Inference latencies from the library's own roofline (ResNet-50 fp16 on a T4) with
    # eta = 0.4 and t0 = 0.2 ms: a calibration that fits them exactly.
    return inference_latency_rows("ResNet-50", "T4", "fp16", "TensorRT", eta=0.4, t0_s=2e-4)


@pytest.fixture(scope="module")
def cal():
    return pm.Calibration(n_bootstrap=4).fit(_rows())


def test_round_trip_still_exact(cal, tmp_path):
    for suffix in (".json", ".yaml"):
        path = tmp_path / f"c{suffix}"
        cal.save(path)
        back = pm.Calibration.load(path)
        np.testing.assert_array_equal(back.theta_, cal.theta_)
        assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind


def test_failing_write_leaves_the_old_file_intact(cal, tmp_path, monkeypatch):
    path = tmp_path / "c.json"
    cal.save(path)
    before = path.read_bytes()
    assert len(before) > 1024

    real_fdopen = os.fdopen

    class FullDisk(io.RawIOBase):
        """A file that accepts 1 KiB, then fails like a full disk (ENOSPC)."""

        def __init__(self, fh):
            self.fh, self.n = fh, 0

        def write(self, data):
            if self.n + len(data) > 1024:
                self.fh.write(bytes(data[: 1024 - self.n]))
                raise OSError(28, "No space left on device")
            self.n += len(data)
            return self.fh.write(data)

        def fileno(self):
            return self.fh.fileno()

        def close(self):
            self.fh.close()

    monkeypatch.setattr(os, "fdopen", lambda fd, mode="r", *a, **k: FullDisk(real_fdopen(fd, mode, *a, **k)))
    other = copy.copy(cal)
    other.theta_ = cal.theta_ * 0.5
    with pytest.raises(OSError, match="No space"):
        other.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before  # the old file, whole
    assert not list(tmp_path.glob(".*.tmp"))
    pm.Calibration.load(path)


def test_unencodable_name_fails_before_touching_the_file(cal, tmp_path):
    path = tmp_path / "c.json"
    cal.save(path)
    before = path.read_bytes()
    bad = copy.copy(cal)
    bad.model_factors_ = cal.model_factors_.copy()
    bad.residuals_ = cal.residuals_.assign(model="ResNet\udc80")  # a lone surrogate
    with pytest.raises(pm.CalibrationError, match="cannot be saved"):
        bad.save(path)
    assert path.read_bytes() == before


def _crafted(cal, tmp_path, edit):
    data = cio.to_dict(cal)
    edit(data)
    path = tmp_path / "crafted.json"
    path.write_text(json.dumps(data, allow_nan=True))
    return path


@pytest.mark.parametrize("edit, fragment", [
    (lambda d: d["theta"].__setitem__(1, float("nan")), "theta"),              # NaN overhead
    (lambda d: d["theta"].__setitem__(0, 1e10), "log efficiency"),             # exp(1e10) overflows
    (lambda d: d["theta"].__setitem__(1, -1.0), "negative overhead"),
    (lambda d: d["parameters"].__setitem__("interval", 5), "interval"),
    (lambda d: d["parameters"].__setitem__("loss", "fast"), "loss"),
    (lambda d: d["parameters"].__setitem__("colour", 1), "unknown parameter"),
    (lambda d: d.__setitem__("group_time_scale", [0.0] * len(d["groups"])), "group_time_scale"),
    (lambda d: d.__setitem__("groups", "all"), "groups"),
    (lambda d: d.__setitem__("theta_bootstrap", [[1.0]]), "theta_bootstrap"),
    (lambda d: d["params"].__setitem__("rows", [[None] * len(d["params"]["columns"])]), "params"),
    (lambda d: d.pop("residuals"), "residuals"),
])
def test_crafted_files_raise_calibration_error(cal, tmp_path, edit, fragment):
    path = _crafted(cal, tmp_path, edit)
    with pytest.raises(pm.CalibrationError, match=fragment) as info:
        pm.Calibration.load(path)
    assert "crafted.json" in str(info.value)


def test_yaml_alias_bomb_is_refused(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text("format: plaster_model.calibration\nversion: 1\n"
                    "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                    "c: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n")
    with pytest.raises(pm.CalibrationError, match="aliases"):
        pm.Calibration.load(path)
