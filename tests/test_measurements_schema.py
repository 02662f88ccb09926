"""Measurement-table schema, validation, precision and name normalization."""
from __future__ import annotations

import math
import sys
import types

import numpy as np
import pandas as pd
import pytest

from plaster_model.io.readers import (MEASUREMENT_COLUMNS, MeasurementValidationError,
                                        empty_measurements, normalize_names,
                                        validate_measurements)
from plaster_model.io.readers.normalize import (device_candidates, precision_from_text,
                                                  precision_from_flags)
from plaster_model.io.readers.schema import frame_from_records, nearest_rank_percentile


def _row(**kw):
    base = dict(source="s", source_detail="d", model="ResNet-50", framework="TF", device="V100",
                n_devices=1, devices_per_node=1, interconnect=None, precision="fp32",
                batch_per_device=64, phase="training", metric="throughput_img_s", value=380.0,
                notes=None)
    base.update(kw)
    return base


def test_columns_and_empty_frame():
    assert MEASUREMENT_COLUMNS[:14] == [
        "source", "source_detail", "model", "framework", "device", "n_devices",
        "devices_per_node", "interconnect", "precision", "batch_per_device", "phase", "metric",
        "value", "notes"]
    # 14 CSV columns + 21 detail columns + 6 added for sequence models, model parallelism and the
    # inference engine mode (issue 22: seq_len, data/tensor/pipeline_parallel, execution, engine_mode)
    assert MEASUREMENT_COLUMNS[-2:] == ["file", "line"] and len(MEASUREMENT_COLUMNS) == 41
    empty = empty_measurements()
    assert list(empty.columns) == MEASUREMENT_COLUMNS and len(empty) == 0
    assert empty["value"].dtype == np.float64 and empty["n_devices"].dtype == np.float64
    assert pd.api.types.is_string_dtype(empty["device"]) and str(empty["line"].dtype) == "Int64"
    validate_measurements(empty)


def test_frame_from_records_keeps_missing_as_nan():
    df = frame_from_records([_row(), _row(device=None, value=2)])
    assert list(df.columns) == MEASUREMENT_COLUMNS
    assert df.device.isna().tolist() == [False, True]  # not the string "None"/"nan"
    validate_measurements(df)


@pytest.mark.parametrize("col, bad, reason", [
    ("metric", "flops_per_s", "not one of"),
    ("value", 0.0, "> 0"),
    ("value", -3.0, "> 0"),
    ("value", math.inf, "finite"),
    ("value", math.nan, "finite"),
    ("n_devices", 2.5, "positive integer"),
    ("n_devices", 0, "positive integer"),
    ("batch_per_device", -1, "positive integer"),
    ("precision", "mixed (fp16)", "not one of"),
    ("phase", "train", "not one of"),
])
def test_validation_names_column_row_and_value(col, bad, reason):
    df = frame_from_records([_row(), _row(**{col: bad})])
    with pytest.raises(MeasurementValidationError, match=reason) as err:
        validate_measurements(df)
    assert isinstance(err.value, ValueError)
    assert err.value.column == col and err.value.row == 1
    assert f"column {col!r}, row 1" in str(err.value) and repr(bad) in str(err.value)


def test_validation_missing_column_and_dtype():
    df = frame_from_records([_row()])
    with pytest.raises(ValueError, match="missing required column"):
        validate_measurements(df.drop(columns=["metric"]))
    df2 = df.copy()
    df2["value"] = df2["value"].astype(str)
    with pytest.raises(ValueError, match="non-numeric dtype"):
        validate_measurements(df2)
    df3 = df.copy()
    df3["h2d_mean_ms"] = -1.0
    with pytest.raises(ValueError, match="h2d_mean_ms"):
        validate_measurements(df3)


def test_layer_time_rows_need_layer_column():
    df = frame_from_records([_row(metric="layer_time_ms", value=0.1)])
    with pytest.raises(ValueError, match="layer"):
        validate_measurements(df)
    df["layer"] = ["conv1"]
    validate_measurements(df)


@pytest.mark.parametrize("text, expected", [
    ("fp32", "fp32"), ("mixed (fp16)", "mixed"), ("fp16", "fp16"), ("fp16 (Tensor Cores)", "fp16"),
    ("int8", "int8"), ("bfloat16 (mixed; not stated in log)", "bf16"), ("bfloat16 (mixed)", "bf16"),
    ("bfloat16/fp32 mixed (not stated)", "bf16"), ("not stated", "not stated"),
    ("not stated in abstract", "not stated"), ("FP32+FP16", "fp16"), ("FP32+INT8", "int8"),
    ("FP32+FP16+INT8", "int8"), ("FP32", "fp32"), ("Strongly Typed", "not stated"),
    ("float16", "fp16"), ("float32", "fp32"), ("AMP", "mixed"), ("--best", "int8"),
    (None, "not stated"), ("", "not stated"), ("quantum", "not stated"),
    # TF32 is its own precision (own tensor-core peak), also when read from a file.
    ("TF32", "tf32"), ("FP32+TF32", "tf32"), ("tensorfloat32", "tf32"), ("float64", "fp64"),
])
def test_normalize_precision(text, expected):
    assert precision_from_text(text) == expected


def test_one_precision_normalizer_and_one_precision_list():
    """The readers, the catalog and the schema share one normalizer and one PRECISIONS."""
    from plaster_model.catalog import objects
    from plaster_model.io.readers import normalize, schema

    assert normalize.normalize_precision is objects.normalize_precision
    assert schema.PRECISIONS is objects.PRECISIONS
    # A user's argument is never read as free text; the catalog and a file agree on tf32.
    assert objects.normalize_precision("tf32") == precision_from_text("tf32") == "tf32"
    with pytest.raises(ValueError, match="fp12"):
        objects.normalize_precision("fp12")
    # "not stated" is allowed in a measurement table, tf32 too.
    validate_measurements(frame_from_records([_row(precision="tf32"), _row(precision="not stated")]))


def test_precision_from_trtexec_flags():
    assert precision_from_flags(["--fp16"]) == "fp16"
    assert precision_from_flags(["--fp16", "--int8"]) == "int8"
    assert precision_from_flags(["--best"]) == "int8"
    assert precision_from_flags(["--bf16"]) == "bf16"
    assert precision_from_flags([]) is None


CATALOG = {
    "device": {"v100": "V100", "v100-sxm2-16gb": "V100", "tesla v100": "V100", "p100": "P100",
               "h100 sxm": "H100-SXM"},
    "interconnect": {"nvlink 1": "NVLink 1", "nvlink 2": "NVLink 2", "nvswitch": "NVSwitch",
                     "pcie 3.0": "PCIe 3.0"},
}


def fake_find_name(kind, text):
    return CATALOG[kind].get(text.strip().lower())


def test_device_candidates_drop_vendor_words_only():
    assert [c for c, _ in device_candidates("NVIDIA GeForce RTX 3060 Laptop GPU")] == [
        "NVIDIA GeForce RTX 3060 Laptop GPU", "GeForce RTX 3060 Laptop GPU", "RTX 3060 Laptop GPU"]
    assert [c for c, _ in device_candidates("Tesla V100-SXM2-16GB")] == ["Tesla V100-SXM2-16GB", "V100-SXM2-16GB"]


def test_normalize_names_maps_and_reports():
    df = frame_from_records([
        _row(device="Tesla V100-SXM2-16GB", interconnect="NVLink (DGX-1 V100 16GB, single node)"),
        _row(device="NVIDIA GeForce RTX 3060 Laptop GPU", interconnect=None),
        _row(device="P100", interconnect="NVLink (single NVIDIA DGX-1 server)"),
        _row(device="P100", interconnect="PCIe (single AWS p2.8xlarge instance)"),
        _row(device="V100", interconnect="NVSwitch (DGX-2 V100 32GB, single node)"),
        _row(device=None, precision="not stated", precision_raw="quantum"),
    ])
    out, report = normalize_names(df, find_name=fake_find_name)
    assert list(out.device[:5]) == ["V100", "NVIDIA GeForce RTX 3060 Laptop GPU", "P100", "P100", "V100"]
    assert out.device_raw[0] == "Tesla V100-SXM2-16GB"
    assert out.interconnect[0] == "NVLink 2" and out.interconnect[2] == "NVLink 1"
    assert out.interconnect[3] == "PCIe (single AWS p2.8xlarge instance)"  # unmapped: raw kept
    assert out.interconnect[4] == "NVSwitch" and out.interconnect.isna()[1]
    assert out.interconnect_raw[2] == "NVLink (single NVIDIA DGX-1 server)"
    assert math.isnan(out.device[5])
    validate_measurements(out)
    rep = report.set_index(["kind", "raw"])
    assert pd.isna(rep.loc[("device", "NVIDIA GeForce RTX 3060 Laptop GPU"), "mapped_to"])
    assert rep.loc[("device", "Tesla V100-SXM2-16GB"), "how"] == "vendor prefix dropped"
    assert pd.isna(rep.loc[("interconnect", "PCIe (single AWS p2.8xlarge instance)"), "mapped_to"])
    assert rep.loc[("interconnect", "NVLink (single NVIDIA DGX-1 server)"), "how"] == "NVLink generation of the P100"
    assert pd.isna(rep.loc[("precision", "quantum"), "mapped_to"])
    assert rep.loc[("device", "P100"), "n_rows"] == 2
    unmapped = report[report.mapped_to.isna()]
    assert set(unmapped.raw) == {"NVIDIA GeForce RTX 3060 Laptop GPU",
                                 "PCIe (single AWS p2.8xlarge instance)", "quantum"}
    # idempotent: normalizing again starts from the *_raw columns
    again, _ = normalize_names(out, find_name=fake_find_name)
    assert again.device_raw.equals(out.device_raw) and again.device.equals(out.device)


def test_normalize_names_uses_catalog_find_name(monkeypatch):
    fake_catalog = types.ModuleType("plaster_model.catalog")
    fake_catalog.find_name = fake_find_name
    monkeypatch.setitem(sys.modules, "plaster_model.catalog", fake_catalog)
    out, report = normalize_names(frame_from_records([_row(device="NVIDIA Tesla V100")]))
    assert out.device[0] == "V100" and report.mapped_to[0] == "V100"


def test_normalize_names_without_catalog_warns(monkeypatch):
    monkeypatch.setitem(sys.modules, "plaster_model.catalog", types.ModuleType("plaster_model.catalog"))
    with pytest.warns(RuntimeWarning, match="unmapped"):
        out, report = normalize_names(frame_from_records([_row(device="V100")]))
    assert out.device[0] == "V100" and pd.isna(report.mapped_to[0])


def test_nearest_rank_percentile_matches_trtexec_rule():
    x = np.arange(1.0, 101.0)
    # trtexec computes (1 - p/100) * n in single precision: 0.99999905 -> 0 excluded for p99
    # (double would give 1.0000000000000009 -> 1), and 10.000002 -> 10 for p90 (double: 9.99..)
    assert nearest_rank_percentile(x, 99) == 100.0
    assert nearest_rank_percentile(x, 90) == 90.0
    assert nearest_rank_percentile(np.arange(1.0, 748.0), 99) == 740.0  # 747 - 1 - 7
    assert nearest_rank_percentile(np.array([3.0]), 99) == 3.0
