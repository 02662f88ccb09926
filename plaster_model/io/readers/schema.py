"""The measurement table: one measured number per row, in a documented, validated schema.

Every parser in :mod:`plaster_model.io.readers` returns a :class:`pandas.DataFrame` with the
columns :data:`MEASUREMENT_COLUMNS`, in that order (extra columns, if any, follow).

Columns
-------
The first fourteen are the columns of ``shared/data/published_measurements.csv``:

========================  =====  ==========================================================
column                    type   meaning
========================  =====  ==========================================================
``source``                text   where the number comes from (publication, or parser name)
``source_detail``         text   where inside the source (table, file and line, section)
``model``                 text   model name as the source writes it
``framework``             text   framework / engine (``"TensorRT"``, ``"onnxruntime"``, ...)
``device``                text   catalog device name when mapped, else the raw text
``n_devices``             float  devices used by the run (positive integer) [-]
``devices_per_node``      float  devices per node (positive integer) [-]
``interconnect``          text   catalog interconnect name when mapped, else the raw text
``precision``             text   a key of :data:`PRECISIONS`, or ``"not stated"``
``batch_per_device``      float  samples per device per iteration (positive integer) [-]
``phase``                 text   ``"training"`` or ``"inference"``
``metric``                text   one of :data:`METRICS`
``value``                 float  the measured number, unit set by ``metric``; finite, > 0
``notes``                 text   free text (how the number was derived, caveats)
========================  =====  ==========================================================

then optional detail columns (NaN where the source does not give them):

========================  =====  ==========================================================
``engine_version``        text   version of the framework/engine (``"8.6.0"``, ``"10.16.1"``)
``device_raw``            text   device name exactly as the source writes it
``interconnect_raw``      text   interconnect exactly as the source writes it
``precision_raw``         text   precision exactly as the source writes it (or the flags)
``latency_*_ms``          float  statistics of the per-batch latency the ``latency_ms`` value
                                 is taken from (trtexec: GPU Compute Time) [ms]: ``mean``,
                                 ``median``, ``min``, ``max``, ``p90``, ``p95``, ``p99``,
                                 ``std`` (population standard deviation)
``host_latency_*_ms``     float  host latency = H2D + compute + D2H (trtexec "Latency"):
                                 ``mean``, ``median`` [ms]
``h2d_mean_ms``           float  mean host-to-device copy time per batch [ms]
``d2h_mean_ms``           float  mean device-to-host copy time per batch [ms]
``enqueue_mean_ms``       float  mean host enqueue time per batch [ms]
``throughput_qps``        float  inferences (batches) per second [1/s]
``measured_power_w``      float  measured mean power draw [W]
``file``                  text   file the row was parsed from
``line``                  Int64  1-based line in ``file`` (summary start, CSV record, ...)
========================  =====  ==========================================================

Per-layer times (``metric == "layer_time_ms"``) are not mixed into this table: the parsers
return them from separate functions, as a frame with :data:`LAYER_PROFILE_COLUMNS`.
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from ...catalog.objects import NOT_STATED, PRECISIONS as _CATALOG_PRECISIONS
from ...errors import MeasurementValidationError, ParseError

__all__ = [
    "MEASUREMENT_COLUMNS", "CSV_COLUMNS", "TEXT_COLUMNS", "FLOAT_COLUMNS", "INT_COLUMNS",
    "REQUIRED_COLUMNS", "METRICS", "PRECISIONS", "PHASES", "LAYER_PROFILE_COLUMNS",
    "ParseError", "MeasurementValidationError",
    "empty_measurements", "empty_layer_profile", "conform", "frame_from_records",
    "validate_measurements", "nearest_rank_percentile",
]

#: Columns of the published CSV, in its order.
CSV_COLUMNS: list[str] = [
    "source", "source_detail", "model", "framework", "device", "n_devices",
    "devices_per_node", "interconnect", "precision", "batch_per_device", "phase", "metric",
    "value", "notes",
]

#: Optional detail columns that follow the CSV columns.
DETAIL_COLUMNS: list[str] = [
    "engine_version", "device_raw", "interconnect_raw", "precision_raw",
    "latency_mean_ms", "latency_median_ms", "latency_min_ms", "latency_max_ms",
    "latency_p90_ms", "latency_p95_ms", "latency_p99_ms", "latency_std_ms",
    "host_latency_mean_ms", "host_latency_median_ms", "h2d_mean_ms", "d2h_mean_ms",
    "enqueue_mean_ms", "throughput_qps", "measured_power_w", "file", "line",
]

#: Every column of the measurement table, in order (a list, so ``df[MEASUREMENT_COLUMNS]`` works).
MEASUREMENT_COLUMNS: list[str] = CSV_COLUMNS + DETAIL_COLUMNS

#: Columns a table must have to be validated (the published CSV's columns).
REQUIRED_COLUMNS: list[str] = list(CSV_COLUMNS)

TEXT_COLUMNS: list[str] = [
    "source", "source_detail", "model", "framework", "device", "interconnect", "precision",
    "phase", "metric", "notes", "engine_version", "device_raw", "interconnect_raw",
    "precision_raw", "file",
]
INT_COLUMNS: list[str] = ["line"]
FLOAT_COLUMNS: list[str] = [c for c in MEASUREMENT_COLUMNS
                            if c not in TEXT_COLUMNS and c not in INT_COLUMNS]

#: Columns that must hold positive integers where given (stored as float so NaN fits).
_POSITIVE_INT_COLUMNS = ("n_devices", "devices_per_node", "batch_per_device", "line")
#: Statistic columns: finite and >= 0 where given (H2D/D2H are 0 with transfers disabled).
_NONNEGATIVE_COLUMNS = tuple(c for c in FLOAT_COLUMNS if c.endswith("_ms")) + (
    "throughput_qps", "measured_power_w")

#: Metric name -> unit of ``value``.
METRICS: dict[str, str] = {
    "throughput_img_s": "samples/s (whole run, all devices)",
    "latency_ms": "ms per batch",
    "time_per_iter_s": "s per iteration",
    "epoch_time_s": "s per epoch",
    "time_to_train_min": "min",
    "scaling_efficiency": "fraction (0.9 = 90 %)",
    "layer_time_ms": "ms per layer per batch (per-layer profiles; needs a 'layer' column)",
}

#: Precision names: the catalog's one list (:data:`plaster_model.PRECISIONS`; "mixed" = fp16
#: compute with fp32 master weights, e.g. AMP). A table may also say :data:`NOT_STATED`.
PRECISIONS = _CATALOG_PRECISIONS
_TABLE_PRECISIONS = (*PRECISIONS, NOT_STATED)

PHASES: tuple[str, ...] = ("training", "inference")

#: Columns of a per-layer profile frame (``layer_type`` is the op/layer type when known).
LAYER_PROFILE_COLUMNS: list[str] = [
    "layer", "time_ms_mean", "time_ms_median", "percent", "count", "file", "layer_type",
]


def _text_dtype() -> Any:
    """Dtype for text columns: pandas' ``str`` dtype on pandas >= 3, else ``object``."""
    major = int(pd.__version__.split(".")[0])
    return "str" if major >= 3 else object


def _to_text(series: pd.Series) -> pd.Series:
    """Text column with missing values as NaN (never the string ``"nan"``)."""
    values = [None if _is_missing(v) else (v if isinstance(v, str) else str(v))
              for v in series.tolist()]
    return pd.Series(values, index=series.index, dtype=_text_dtype())


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def conform(df: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of `df` with every schema column, in order, with the schema dtypes.

    Missing columns are added as NaN; extra columns are kept after the schema columns.
    Numeric columns must convert with :func:`pandas.to_numeric` (else ``ValueError``).
    """
    out = pd.DataFrame(index=df.index)
    for col in MEASUREMENT_COLUMNS:
        src = df[col] if col in df.columns else pd.Series(np.nan, index=df.index, dtype=float)
        if col in TEXT_COLUMNS:
            out[col] = _to_text(src)
        elif col in INT_COLUMNS:
            out[col] = pd.to_numeric(src).astype("Int64")
        else:
            out[col] = pd.to_numeric(src).astype("float64")
    for col in df.columns:
        if col not in out.columns:
            out[col] = df[col]
    return out


def empty_measurements() -> pd.DataFrame:
    """An empty measurement table with the schema's columns and dtypes."""
    return conform(pd.DataFrame())


def frame_from_records(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Build a schema-conforming table from row dicts (unknown keys become extra columns)."""
    records = list(records)
    if not records:
        return empty_measurements()
    return conform(pd.DataFrame.from_records(records).reset_index(drop=True))


def empty_layer_profile() -> pd.DataFrame:
    """An empty per-layer profile frame with :data:`LAYER_PROFILE_COLUMNS`."""
    return layer_frame([])


def layer_frame(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Per-layer profile frame from row dicts (times in [ms], ``percent`` in [%])."""
    df = pd.DataFrame.from_records(list(records), columns=LAYER_PROFILE_COLUMNS)
    for col in ("time_ms_mean", "time_ms_median", "percent", "count"):
        df[col] = pd.to_numeric(df[col]).astype("float64")
    for col in ("layer", "file", "layer_type"):
        df[col] = _to_text(df[col])
    return df


def _check_text(df: pd.DataFrame, col: str) -> None:
    s = df[col]
    if not (pd.api.types.is_string_dtype(s) or s.dtype == object):
        raise MeasurementValidationError(col, "*", str(s.dtype), "text column has a non-text dtype")
    for idx, v in s.items():
        if not _is_missing(v) and not isinstance(v, str):
            raise MeasurementValidationError(col, idx, v, "not a string")


def _check_numeric(df: pd.DataFrame, col: str) -> None:
    s = df[col]
    if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
        raise MeasurementValidationError(col, "*", str(s.dtype), "numeric column has a non-numeric dtype")


def _check_allowed(df: pd.DataFrame, col: str, allowed: Iterable[str], required: bool) -> None:
    allowed = set(allowed)
    for idx, v in df[col].items():
        if _is_missing(v):
            if required:
                raise MeasurementValidationError(col, idx, v, "missing")
            continue
        if v not in allowed:
            raise MeasurementValidationError(col, idx, v, f"not one of {sorted(allowed)}")


def _check_values(df: pd.DataFrame) -> None:
    for idx, v in df["value"].items():
        if _is_missing(v) or not np.isfinite(v) or v <= 0:
            raise MeasurementValidationError("value", idx, v, "must be finite and > 0")
    for col in _POSITIVE_INT_COLUMNS:
        if col not in df.columns:
            continue
        for idx, v in df[col].items():
            if _is_missing(v):
                continue
            if not np.isfinite(v) or v <= 0 or float(v) != int(v):
                raise MeasurementValidationError(col, idx, v, "must be a positive integer")
    for col in _NONNEGATIVE_COLUMNS:
        if col not in df.columns:
            continue
        for idx, v in df[col].items():
            if not _is_missing(v) and (not np.isfinite(v) or v < 0):
                raise MeasurementValidationError(col, idx, v, "must be finite and >= 0")


def validate_measurements(df: pd.DataFrame) -> pd.DataFrame:
    """Check that `df` follows the measurement schema; return it unchanged.

    Checks: the published CSV's columns are present; text and numeric columns have text and
    numeric dtypes; ``metric`` is one of :data:`METRICS`; ``value`` is finite and > 0;
    ``n_devices``, ``devices_per_node``, ``batch_per_device`` and ``line`` are positive
    integers where given; statistic columns are finite and >= 0 where given; ``precision``
    is a key of :data:`PRECISIONS` or "not stated" and ``phase`` one of :data:`PHASES` where given;
    ``layer_time_ms`` rows need a non-empty ``layer`` column.

    Raises
    ------
    MeasurementValidationError
        (a ``ValueError``) naming the column, the row index and the bad value.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise MeasurementValidationError(missing[0], "*", None,
                                         f"missing required column(s) {missing}")
    for col in (c for c in MEASUREMENT_COLUMNS if c in df.columns):
        if col in TEXT_COLUMNS:
            _check_text(df, col)
        else:
            _check_numeric(df, col)
    _check_allowed(df, "metric", METRICS, required=True)
    _check_allowed(df, "precision", _TABLE_PRECISIONS, required=False)
    _check_allowed(df, "phase", PHASES, required=False)
    _check_values(df)
    layer_rows = df["metric"] == "layer_time_ms"
    if layer_rows.any():
        if "layer" not in df.columns:
            raise MeasurementValidationError("layer", "*", None,
                                             "layer_time_ms rows need a 'layer' column")
        for idx, v in df.loc[layer_rows, "layer"].items():
            if _is_missing(v) or not str(v):
                raise MeasurementValidationError("layer", idx, v, "missing for a layer_time_ms row")
    return df


def nearest_rank_percentile(sorted_values: np.ndarray, percent: float) -> float:
    """Percentile by trtexec's rule: element ``max(n - 1 - floor((1 - p/100) n), 0)`` (float32).

    Parameters
    ----------
    sorted_values : numpy.ndarray
        Values sorted ascending.
    percent : float
        Percentile [%].
    """
    n = len(sorted_values)
    # trtexec computes the excluded count in single precision; in double, (1 - 0.9) * 100
    # is 9.99... and would pick the next element.
    excluded = int(math.floor((np.float32(1) - np.float32(percent) / np.float32(100)) * np.float32(n)))
    return float(sorted_values[max(n - 1 - excluded, 0)])


def latency_stats(values_ms: Iterable[float]) -> dict[str, float]:
    """trtexec-style statistics of per-batch times [ms] as ``latency_*_ms`` column values.

    Median is the middle element or the mean of the two middle ones; percentiles follow
    :func:`nearest_rank_percentile`; ``std`` is the population standard deviation.
    """
    x = np.sort(np.asarray(list(values_ms), dtype=float))
    if x.size == 0:
        return {}
    return {
        "latency_mean_ms": float(x.mean()),
        "latency_median_ms": float(np.median(x)),
        "latency_min_ms": float(x[0]),
        "latency_max_ms": float(x[-1]),
        "latency_p90_ms": nearest_rank_percentile(x, 90),
        "latency_p95_ms": nearest_rank_percentile(x, 95),
        "latency_p99_ms": nearest_rank_percentile(x, 99),
        "latency_std_ms": float(x.std()),
    }
