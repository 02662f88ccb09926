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
``seq_len``               float  tokens per sequence of a sequence model's sample (positive
                                 integer) [-]
``data_parallel``         float  data-parallel degree (positive integer) [-]
``tensor_parallel``       float  tensor-parallel degree (positive integer) [-]
``pipeline_parallel``     float  pipeline-parallel degree (positive integer) [-]
``execution``             text   how the framework executed the model (``"eager"``,
                                 ``"torch.compile"``, ``"Megatron-LM via accelerate"``)
``engine_mode``           text   how an inference engine was driven: ``"engine"`` (called
                                 directly: trtexec, a Python loop), ``"harness"`` (a
                                 benchmark harness in-process: MLPerf LoadGen) or
                                 ``"server"`` (a model server: Triton, TF Serving), set by
                                 :func:`~.normalize.normalize_names` for inference rows
                                 (:func:`plaster_model.catalog.frameworks.engine_mode`)
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

from ...catalog.frameworks import ENGINE_MODES
from ...catalog.objects import NOT_STATED, PRECISIONS as _CATALOG_PRECISIONS
from ...errors import MeasurementValidationError, ParameterError, ParseError, PlasterError

__all__ = [
    "MEASUREMENT_COLUMNS", "CSV_COLUMNS", "TEXT_COLUMNS", "FLOAT_COLUMNS", "INT_COLUMNS",
    "REQUIRED_COLUMNS", "METRICS", "PRECISIONS", "PHASES", "LAYER_PROFILE_COLUMNS",
    "ParseError", "MeasurementValidationError",
    "empty_measurements", "empty_layer_profile", "conform", "frame_from_records",
    "validate_measurements", "row_problems", "nearest_rank_percentile", "read_text", "decode_text",
    "read_bytes", "text_encoding", "MAX_FILE_BYTES", "PHYSICAL_LIMITS", "VALUE_LIMITS", "MAX_BATCH",
    "check_batch", "row_error", "checked_frame", "check_record_numbers",
    "only_parse_errors", "as_parse_error",
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
    "enqueue_mean_ms", "throughput_qps", "measured_power_w",
    "seq_len", "data_parallel", "tensor_parallel", "pipeline_parallel", "execution", "engine_mode",
    "file", "line",
]

#: Every column of the measurement table, in order (a list, so ``df[MEASUREMENT_COLUMNS]`` works).
MEASUREMENT_COLUMNS: list[str] = CSV_COLUMNS + DETAIL_COLUMNS

#: Columns a table must have to be validated (the published CSV's columns).
REQUIRED_COLUMNS: list[str] = list(CSV_COLUMNS)

TEXT_COLUMNS: list[str] = [
    "source", "source_detail", "model", "framework", "device", "interconnect", "precision",
    "phase", "metric", "notes", "engine_version", "device_raw", "interconnect_raw",
    "precision_raw", "execution", "engine_mode", "file",
]
INT_COLUMNS: list[str] = ["line"]
FLOAT_COLUMNS: list[str] = [c for c in MEASUREMENT_COLUMNS
                            if c not in TEXT_COLUMNS and c not in INT_COLUMNS]

#: Columns that must hold positive integers where given (stored as float so NaN fits).
_POSITIVE_INT_COLUMNS = ("n_devices", "devices_per_node", "batch_per_device", "line", "seq_len",
                         "data_parallel", "tensor_parallel", "pipeline_parallel")
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
    "ttft_ms": "ms, time to first token of an LLM request (queueing + prefill)",
    "tpot_ms": "ms, time per output token after the first (LLM decode)",
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


def _schema_dtype(col: str) -> Any:
    if col in TEXT_COLUMNS:
        return _text_dtype()
    return "Int64" if col in INT_COLUMNS else "float64"


def _conforms(df: pd.DataFrame) -> bool:
    """True when `df` already has every schema column, in order, with the schema dtypes."""
    cols = list(df.columns[:len(MEASUREMENT_COLUMNS)])
    if cols != MEASUREMENT_COLUMNS:
        return False
    for col, dtype in zip(MEASUREMENT_COLUMNS, df.dtypes.iloc[:len(MEASUREMENT_COLUMNS)]):
        want = _schema_dtype(col)
        if col in TEXT_COLUMNS:
            if not (dtype == object or pd.api.types.is_string_dtype(dtype)):
                return False
        elif str(dtype) != want:
            return False
    return True


def conform(df: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of `df` with every schema column, in order, with the schema dtypes.

    Missing columns are added as NaN; extra columns are kept after the schema columns.
    Numeric columns must convert with :func:`pandas.to_numeric` (else ``ValueError``).
    A frame that already conforms is copied as it is (the readers conform once per call).
    """
    if _conforms(df):
        return df.copy()
    n = len(df)
    columns: dict[str, Any] = {}
    text_dtype = _text_dtype()
    for col in MEASUREMENT_COLUMNS:
        if col not in df.columns:
            columns[col] = (pd.array([None] * n, dtype=text_dtype) if col in TEXT_COLUMNS
                            else pd.array([None] * n, dtype="Int64") if col in INT_COLUMNS
                            else np.full(n, np.nan))
            continue
        src = df[col]
        if col in TEXT_COLUMNS:
            columns[col] = _to_text(src).array
        elif col in INT_COLUMNS:
            columns[col] = pd.to_numeric(src).astype("Int64").array
        else:
            columns[col] = _to_float(src)
    for col in df.columns:
        if col not in columns:
            columns[col] = df[col].array
    # One constructor call from plain arrays, not one aligned column insert per column.
    return pd.DataFrame(columns, index=df.index)


def _to_float(src: pd.Series) -> np.ndarray:
    """float64 values of a column (None/NA -> NaN); strings go through pandas.to_numeric."""
    if src.dtype.kind in "fiub":
        return src.to_numpy(dtype="float64", na_value=np.nan)
    try:
        values = src.to_numpy(dtype=object)
        return np.array([np.nan if _is_missing(v) else v for v in values], dtype="float64")
    except (TypeError, ValueError):
        return pd.to_numeric(src).astype("float64").to_numpy()


_EMPTY: dict[str, pd.DataFrame] = {}


def empty_measurements() -> pd.DataFrame:
    """An empty measurement table with the schema's columns and dtypes."""
    if "measurements" not in _EMPTY:
        _EMPTY["measurements"] = conform(pd.DataFrame())
    return _EMPTY["measurements"].copy()


def frame_from_records(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Build a schema-conforming table from row dicts (unknown keys become extra columns)."""
    records = list(records)
    if not records:
        return empty_measurements()
    return conform(pd.DataFrame.from_records(records).reset_index(drop=True))


def row_error(exc: MeasurementValidationError, df: pd.DataFrame, file: str) -> ParseError:
    """A row problem of a file's rows as the :class:`ParseError` naming the file and line."""
    line = None
    if "line" in df.columns and exc.row in df.index:
        v = df.at[exc.row, "line"]
        line = None if pd.isna(v) else int(v)
    return ParseError(f"impossible row: column {exc.column!r} = {exc.value!r} ({exc.reason})",
                      file, line)


def check_record_numbers(records: Iterable[Mapping[str, Any]], file: str) -> None:
    """Refuse a row dict whose numeric column holds something that is not a number.

    A number, None/NaN, or text that reads as a number (``"64"``) passes; anything else
    (``'64\ufffd__exp.pha\ufffde__'`` from a corrupt DLBS line, ``True``, a list) is a
    :class:`ParseError` naming the column and the file. Checked per file, before the rows
    of a directory are combined: one file's bad cell must not fail the others (issue 25).
    """
    numeric = set(FLOAT_COLUMNS) | set(INT_COLUMNS)
    for rec in records:
        for col, v in rec.items():
            if col not in numeric or v is None or (isinstance(v, (int, float, np.number))
                                                   and not isinstance(v, (bool, np.bool_))):
                continue
            ok = isinstance(v, str)
            if ok:
                try:
                    float(v)
                except ValueError:
                    ok = False
            if not ok:
                raise ParseError(f"column {col!r} holds {v!r}, not a number"[:300], file, rec.get("line"))


def checked_frame(records: Iterable[Mapping[str, Any]], file: str) -> pd.DataFrame:
    """:func:`frame_from_records`, refusing the file at its first impossible row
    (:func:`row_problems`): what every public per-format reader returns."""
    df = frame_from_records(records)
    problems = row_problems(df)
    if problems:
        raise row_error(problems[0], df, file)
    return df


#: What a parser may raise on a shape it does not check for; :func:`only_parse_errors`
#: turns them into a ParseError naming the file (the safety net under the parsers' checks).
_PARSER_SLIPS = (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError,
                 ZeroDivisionError, LookupError, ArithmeticError, EOFError, RecursionError,
                 MemoryError)


def as_parse_error(exc: BaseException, what: str, file: str | None) -> ParseError:
    """`exc`, raised while parsing `file` as `what`, as a :class:`ParseError` naming the file."""
    if isinstance(exc, ParseError):
        return exc
    if isinstance(exc, RecursionError):
        return ParseError(f"{what} file nested too deeply to parse", file, None)
    if isinstance(exc, MemoryError):
        return ParseError(f"out of memory parsing the {what} file", file, None)
    return ParseError(f"malformed {what} file ({type(exc).__name__}: {exc})"[:500], file, None)


def only_parse_errors(what: str):
    """Decorator: a reader ``f(path, ...)`` raises only ParseError for the file's content
    (I/O errors such as a missing file pass through unchanged)."""
    import functools  # noqa: PLC0415

    def wrap(fn):
        @functools.wraps(fn)
        def reader(path, *args, **kwargs):
            try:
                return fn(path, *args, **kwargs)
            except PlasterError:  # ParseError, and ParameterError for a bad argument
                raise
            except _PARSER_SLIPS as exc:
                raise as_parse_error(exc, what, str(path)) from exc
        return reader
    return wrap


#: Largest measurement file a reader reads [B] (64 MiB), after decompression for ``.gz``.
#: The largest real trtexec log we know (a ``--verbose --dumpProfile`` log of a large
#: network) is a few MB; a file beyond this is refused by size before it is read, so a
#: 2.5 GB log of NUL padding or a 3 MB ``.gz`` inflating to 3 GiB costs at most this much
#: memory (the text and its lines stay well under 1 GiB).
MAX_FILE_BYTES = 64 * 2**20

#: Byte-order marks, longest first (the UTF-32LE mark starts with the UTF-16LE one).
_BOMS = ((b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"),
         (b"\xef\xbb\xbf", "utf-8"), (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"))


def text_encoding(head: bytes) -> tuple[str, int]:
    """``(codec, bom_length)`` of file bytes starting with `head` (a few KiB are enough).

    A byte-order mark decides (UTF-8, UTF-16 and UTF-32, either byte order: Windows
    PowerShell's ``>`` writes UTF-16LE with a mark). Without one, text whose every other
    byte is NUL is UTF-16 without a mark (ASCII in UTF-16); anything else is UTF-8.

    Examples
    --------
    >>> text_encoding("Throughput".encode("utf-16"))
    ('utf-16-le', 2)
    >>> text_encoding(b"Throughput: 1 qps")
    ('utf-8', 0)
    """
    for bom, codec in _BOMS:
        if head.startswith(bom):
            rest = head[len(bom):4096]
            if codec != "utf-8" and len(rest) >= 8 and b"\x00" not in rest and _is_utf8(rest):
                # A UTF-16/32 mark before UTF-8 text (no NUL at all: ASCII in UTF-16 has one
                # every other byte): a stray mark, dropped; the text is UTF-8.
                return "utf-8", len(bom)
            return codec, len(bom)
    sample = head[:4096]
    if len(sample) >= 8:
        even, odd = sample[0::2], sample[1::2]
        if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
            return "utf-16-le", 0
        if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
            return "utf-16-be", 0
    return "utf-8", 0


def _is_utf8(sample: bytes) -> bool:
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(sample) - 3  # a character cut by the sample's end
    return True


def read_bytes(path, limit: int | None = None) -> bytes:
    """Bytes of a measurement file, at most `limit` (:data:`MAX_FILE_BYTES`) of them.

    A ``.gz`` file is decompressed as a stream and stopped one byte past the limit (a
    decompression bomb costs the limit, not its inflated size); a plain file larger than
    the limit is refused from its size, unread.

    Raises
    ------
    ParseError
        The file (or its decompressed content) is larger than the limit, or not a readable
        gzip stream, or memory ran out.
    """
    import gzip  # noqa: PLC0415
    import os  # noqa: PLC0415
    import zlib  # noqa: PLC0415

    name = os.fspath(path)
    limit = MAX_FILE_BYTES if limit is None else limit
    mib = f"{limit / 2**20:g} MiB"
    try:
        if name.endswith(".gz"):
            try:
                with gzip.open(name, "rb") as fh:
                    data = fh.read(limit + 1)
            except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
                raise ParseError(f"not a readable gzip file ({type(exc).__name__}: {exc})",
                                 name, None) from None
            if len(data) > limit:
                raise ParseError(f"decompresses to more than {mib}, the limit per file "
                                 "(MAX_FILE_BYTES; a decompression bomb?)", name, None)
            return data
        with open(name, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > limit:
                raise ParseError(f"{size:,} bytes, over the limit of {mib} per file "
                                 "(MAX_FILE_BYTES)", name, None)
            data = fh.read(limit + 1)
        if len(data) > limit:
            raise ParseError(f"more than {mib} (the file grew while read), over the limit "
                             "per file (MAX_FILE_BYTES)", name, None)
        return data
    except MemoryError:
        raise ParseError(f"out of memory reading the file (limit {mib} per file)", name, None) from None


def binary_share(text: str) -> tuple[int, bool]:
    """``(bad, is_binary)``: characters that are not text (U+FFFD for undecodable bytes, NUL)
    and whether they make `text` binary data (more than 1,000 and more than 1 %)."""
    bad = text.count("\ufffd") + text.count("\x00")
    return bad, bad > 1000 and bad > 0.01 * len(text)


def read_text(path) -> str:
    """Text of a measurement file: UTF-8, UTF-16 or UTF-32 (a byte-order mark decides).

    Read with :func:`read_bytes` (at most :data:`MAX_FILE_BYTES`; ``.gz`` decompressed as
    a bounded stream). Undecodable bytes become U+FFFD (a log with one corrupt byte still
    parses; the numbers are checked afterwards). Line ends may be LF, CRLF or CR alone
    (the parsers split with :meth:`str.splitlines`).

    Raises
    ------
    ParseError
        The file is over the size limit, or binary data, not text: more than 1,000
        characters and more than 1 % of them undecodable or NUL (NUL padding included).
    """
    text = decode_text(read_bytes(path))
    bad, binary = binary_share(text)
    if binary:
        raise ParseError(f"binary data, not a text file: {bad:,} of {len(text):,} characters are "
                         "undecodable or NUL", str(path), None)
    return text


def decode_text(data: bytes) -> str:
    """Decode file bytes as :func:`read_text` does (:func:`text_encoding`: a byte-order
    mark is dropped and decides the codec; bad bytes are replaced)."""
    codec, skip = text_encoding(data[:4096])
    return data[skip:].decode(codec, errors="replace")


def empty_layer_profile() -> pd.DataFrame:
    """An empty per-layer profile frame with :data:`LAYER_PROFILE_COLUMNS`."""
    if "layers" not in _EMPTY:
        _EMPTY["layers"] = layer_frame([])
    return _EMPTY["layers"].copy()


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


#: Pairs (a, b) of statistic columns with a <= b wherever both are given (the order of
#: the statistics of one sample): min <= mean, median, percentiles <= max; p90 <= p95 <= p99.
_ORDERED: tuple[tuple[str, str], ...] = (
    ("latency_min_ms", "latency_median_ms"), ("latency_median_ms", "latency_max_ms"),
    ("latency_min_ms", "latency_mean_ms"), ("latency_mean_ms", "latency_max_ms"),
    ("latency_min_ms", "latency_p90_ms"), ("latency_min_ms", "latency_p95_ms"),
    ("latency_min_ms", "latency_p99_ms"), ("latency_p90_ms", "latency_max_ms"),
    ("latency_p95_ms", "latency_max_ms"), ("latency_p99_ms", "latency_max_ms"),
    ("latency_p90_ms", "latency_p95_ms"), ("latency_p95_ms", "latency_p99_ms"),
)
#: Relative slack of the order and consistency checks. Logs print statistics rounded to a
#: few significant digits; rounding is monotone, so the order survives it exactly, and
#: products of printed numbers agree to far better than this.
_REL_TOL = 1e-6


#: Physical limits of the numbers a measurement may hold: ``column -> (low, high, unit)``.
#: A given value outside ``[low, high]`` is refused by name (a zero statistic stays allowed
#: where the column allows 0: H2D/D2H are 0 with transfers disabled). The bounds are far
#: outside every real run and far inside what a float can print:
#:
#: * counts: a batch of at most 10^8 samples per device (the largest published batches are
#:   ~10^4; 10^12-10^18 came from corrupted shapes), at most 10^6 devices (the largest
#:   clusters hold ~10^5 accelerators) and 4,096 per node (an NVL576 rack holds 576);
#: * times: at least 1 ns (no kernel launch or copy is shorter) and at most 10^9 ms
#:   (11.6 days for one batch);
#: * rates: at most 10^9 inferences/s (1 ns each) and 10^12 samples/s (the published
#:   maximum is ~10^6); at least 10^-6 (one inference in 11.6 days: ``1e-320 qps``
#:   is a denormal, not a measurement);
#: * power: at most 10^8 W (a 100 MW data centre).
PHYSICAL_LIMITS: dict[str, tuple[float, float, str]] = {
    "batch_per_device": (1.0, 1e8, "samples"),
    "n_devices": (1.0, 1e6, "devices"),
    "devices_per_node": (1.0, 4096.0, "devices"),
    "throughput_qps": (1e-6, 1e9, "inferences/s"),
    "measured_power_w": (1e-3, 1e8, "W"),
    **{c: (1e-6, 1e9, "ms") for c in DETAIL_COLUMNS if c.endswith("_ms") and c != "latency_std_ms"},
    "latency_std_ms": (0.0, 1e9, "ms"),
}

#: Physical limits of ``value`` per metric: ``metric -> (low, high, unit)`` (see
#: :data:`PHYSICAL_LIMITS`; a scaling efficiency is at most 10: superlinear scaling from
#: caches reaches ~1.2).
VALUE_LIMITS: dict[str, tuple[float, float, str]] = {
    "throughput_img_s": (1e-6, 1e12, "samples/s"),
    "latency_ms": (1e-6, 1e9, "ms"),
    "layer_time_ms": (1e-6, 1e9, "ms"),
    "time_per_iter_s": (1e-9, 1e6, "s"),
    "epoch_time_s": (1e-9, 1e9, "s"),
    "time_to_train_min": (1e-9 / 60, 1e7, "min"),
    "scaling_efficiency": (1e-6, 10.0, "fraction"),
}

#: Largest batch a reader's ``batch=`` argument may give [samples] (:data:`PHYSICAL_LIMITS`).
MAX_BATCH = int(PHYSICAL_LIMITS["batch_per_device"][1])


def check_batch(batch: Any, name: str = "batch") -> int | None:
    """`batch` as an int (None stays None), or :class:`ParameterError` naming it.

    A batch is a whole number of samples in ``[1, 10^8]``: ``2.5`` is refused, not
    truncated to 2; ``True`` is not a batch.

    Examples
    --------
    >>> check_batch(32.0), check_batch(None)
    (32, None)
    """
    if batch is None:
        return None
    import numbers  # noqa: PLC0415

    ok = isinstance(batch, numbers.Real) and not isinstance(batch, bool)
    if ok:
        try:
            ok = math.isfinite(batch) and batch == int(batch) and 1 <= batch <= MAX_BATCH
        except (OverflowError, ValueError, TypeError):
            ok = False
    if not ok:
        raise ParameterError(name, batch, f"a whole number of samples in [1, {MAX_BATCH:,}]")
    return int(batch)


def _limit_reason(low: float, high: float, unit: str):
    return f"outside the physical limits [{low:g}, {high:g}] {unit}"


def _numeric(df: pd.DataFrame, col: str) -> np.ndarray:
    return pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def row_problems(df: pd.DataFrame) -> list[MeasurementValidationError]:
    """Every row that breaks the schema's value rules, one error per row (its first problem).

    Vectorized over the rows (a directory read validates thousands at once). The rules are
    those of :func:`validate_measurements` after its column and dtype checks: ``metric``
    one of :data:`METRICS`; ``value`` finite and > 0; positive integers where given;
    statistics finite and >= 0; ``precision`` and ``phase`` allowed names; the statistics
    of one sample in order (min <= mean, median, percentiles <= max; p90 <= p95 <= p99);
    a ``throughput_img_s`` value equal to ``throughput_qps`` x ``batch_per_device`` where
    both are given (samples/s = inferences/s x samples per inference); ``layer_time_ms``
    rows with a ``layer``.

    Returns
    -------
    list of MeasurementValidationError
        In row order; empty when every row is fine. ``err.row`` is the index label.
    """
    n = len(df)
    if n == 0:
        return []
    first: dict[int, MeasurementValidationError] = {}
    index = df.index

    def flag(mask: np.ndarray, col: str, values, reason) -> None:
        for pos in np.flatnonzero(mask):
            if pos not in first:
                why = reason(pos) if callable(reason) else reason
                value = values[pos]
                value = value.item() if isinstance(value, np.generic) else value
                first[pos] = MeasurementValidationError(col, index[pos], value, why)

    def allowed(col: str, names: set, required: bool) -> None:
        if col not in df.columns:
            return
        vals = df[col].to_numpy(dtype=object)
        missing = np.fromiter((_is_missing(x) for x in vals), dtype=bool, count=n)
        ok = np.fromiter((x in names for x in vals), dtype=bool, count=n)
        if not required:
            ok |= missing
        flag(~ok, col, vals, lambda pos: "missing" if missing[pos] else f"not one of {sorted(names)}")

    allowed("metric", set(METRICS), True)
    allowed("precision", set(_TABLE_PRECISIONS), False)
    allowed("phase", set(PHASES), False)
    allowed("engine_mode", set(ENGINE_MODES), False)
    with np.errstate(invalid="ignore", over="ignore"):
        v = _numeric(df, "value")
        # Physical limits first: they name the column that is impossible (a 1e-320 qps
        # makes a 3e-319 samples/s value; the qps is what the file got wrong).
        for col, (low, high, unit) in PHYSICAL_LIMITS.items():
            if col in df.columns:
                # Positive values only: zero (a statistic's "none") and negative numbers
                # meet the sign rules below, with their own message.
                x = _numeric(df, col)
                bad = np.isfinite(x) & (x > 0) & ((x < low) | (x > high))
                flag(bad, col, x, _limit_reason(low, high, unit))
        if "metric" in df.columns:
            metric = df["metric"].to_numpy(dtype=object)
            for name, (low, high, unit) in VALUE_LIMITS.items():
                bad = (metric == name) & np.isfinite(v) & (v > 0) & ((v < low) | (v > high))
                flag(bad, "value", v, _limit_reason(low, high, unit))
        flag(~(np.isfinite(v) & (v > 0)), "value", v, "must be finite and > 0")
        for col in _POSITIVE_INT_COLUMNS:
            if col in df.columns:
                x = _numeric(df, col)
                bad = ~np.isnan(x) & ~(np.isfinite(x) & (x > 0) & (np.floor(x) == x))
                flag(bad, col, x, "must be a positive integer")
        cache: dict[str, np.ndarray] = {}
        for col in _NONNEGATIVE_COLUMNS:
            if col in df.columns:
                x = cache[col] = _numeric(df, col)
                bad = ~np.isnan(x) & ~(np.isfinite(x) & (x >= 0))
                flag(bad, col, x, "must be finite and >= 0")
        for a, b in _ORDERED:
            if a in cache and b in cache:
                xa, xb = cache[a], cache[b]
                bad = (xa - xb) > _REL_TOL * np.maximum(np.abs(xa), np.abs(xb))
                flag(bad, b, xb, lambda pos, a=a, xa=xa: f"below {a} = {xa[pos]!r}")
        if "throughput_qps" in cache and "batch_per_device" in df.columns:
            qps, batch = cache["throughput_qps"], _numeric(df, "batch_per_device")
            tput = (df["metric"] == "throughput_img_s").to_numpy(dtype=bool, na_value=False)
            expect = qps * batch
            bad = tput & np.isfinite(expect) & (np.abs(v - expect) > _REL_TOL * np.abs(expect))
            flag(bad, "value", v, lambda pos: (f"disagrees with throughput_qps x batch_per_device"
                                               f" = {expect[pos]!r} samples/s"))
    if "metric" in df.columns:
        layer_rows = (df["metric"] == "layer_time_ms").to_numpy(dtype=bool, na_value=False)
        if layer_rows.any():
            if "layer" not in df.columns:
                raise MeasurementValidationError("layer", "*", None,
                                                 "layer_time_ms rows need a 'layer' column")
            layer_vals = df["layer"].to_numpy(dtype=object)
            empty = np.fromiter((_is_missing(x) or not str(x) for x in layer_vals), dtype=bool, count=n)
            flag(layer_rows & empty, "layer", layer_vals, "missing for a layer_time_ms row")
    return [first[pos] for pos in sorted(first)]


def validate_measurements(df: pd.DataFrame) -> pd.DataFrame:
    """Check that `df` follows the measurement schema; return it unchanged.

    Checks: the published CSV's columns are present; text and numeric columns have text and
    numeric dtypes; ``metric`` is one of :data:`METRICS`; ``value`` is finite and > 0;
    ``n_devices``, ``devices_per_node``, ``batch_per_device`` and ``line`` are positive
    integers where given; statistic columns are finite and >= 0 where given; ``precision``
    is a key of :data:`PRECISIONS` or "not stated" and ``phase`` one of :data:`PHASES` where
    given; the statistics of one sample are in order (min <= median <= max, ...) and a
    throughput equals ``throughput_qps`` x ``batch_per_device`` where both are given
    (:func:`row_problems`); ``layer_time_ms`` rows need a non-empty ``layer`` column.

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
    problems = row_problems(df)
    if problems:
        raise problems[0]
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
