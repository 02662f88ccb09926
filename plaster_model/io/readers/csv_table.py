"""Reader for measurement tables stored as CSV in the published schema.

``shared/data/published_measurements.csv`` is the reference: columns ``source,
source_detail, model, framework, device, n_devices, devices_per_node, interconnect,
precision, batch_per_device, phase, metric, value, notes``; any of the optional detail
columns of :data:`~.schema.MEASUREMENT_COLUMNS` may follow. A minimal table needs only
:data:`MINIMAL_COLUMNS` (``model, device, metric, value``): the others are defaulted
(:data:`DEFAULTS`) and each row's ``notes`` says which. Precision is normalized (the
original goes to ``precision_raw``); the table is validated, and a bad cell raises
:class:`~.schema.ParseError` naming the file, the line and the column.
"""
from __future__ import annotations

import bisect
import csv
import io
import os
import re
from typing import Callable

import pandas as pd

from .normalize import precision_from_text
from .schema import (CSV_COLUMNS, FLOAT_COLUMNS, INT_COLUMNS, MeasurementValidationError,
                     ParseError, conform, only_parse_errors, read_text, validate_measurements)

__all__ = ["read_measurement_csv", "parse_measurement_csv", "MINIMAL_COLUMNS", "DEFAULTS"]

#: The columns a row needs; every other published column has a default.
MINIMAL_COLUMNS = ("model", "device", "metric", "value")
#: Defaults of the columns a minimal table leaves out (stated in each row's ``notes``);
#: ``phase`` follows the metric where it says (latency: inference; epoch and
#: time-to-train: training), else stays unknown.
DEFAULTS = {"n_devices": "1", "devices_per_node": "1", "precision": "fp32", "batch_per_device": "",
            "interconnect": "", "framework": "", "source_detail": "", "phase": "", "notes": ""}
_PHASE_OF_METRIC = {"latency_ms": "inference", "epoch_time_s": "training", "time_to_train_min": "training",
                    "time_per_iter_s": "training", "scaling_efficiency": "training"}


def _to_float(text: str, column: str, file: str, line: int) -> float:
    t = text.strip()
    if t == "":
        return float("nan")
    try:
        return float(t)
    except ValueError:
        raise ParseError(f"column {column!r}: non-numeric value {text!r}", file, line) from None


def parse_measurement_csv(text: str, *, file: str = "<string>") -> pd.DataFrame:
    """Parse CSV text in the published schema into a validated measurement table.

    Raises
    ------
    ParseError
        Missing required columns (line 1), a row with the wrong number of fields, a
        non-numeric number, or a value that breaks the schema (metric name, value <= 0, ...),
        with the file and the line of the offending record.
    """
    try:
        return _parse_csv(text, file)
    except csv.Error as exc:  # a NUL byte, an oversized field, a stray quote
        raise ParseError(f"malformed CSV: {exc}", file, None) from None


#: Blank space long enough to hold many blank lines, from a line end (after line ends are
#: made LF). One character class: a grouped ``(?:[ \t]*\n){64,}`` costs far more per line.
_BLANK_RUN = re.compile(r"\n[ \t\n]{127,}")


def _squeeze_blank_runs(text: str) -> tuple[str, Callable[[int], int]]:
    """`text` with each stretch of 64+ blank lines kept as one, and ``line_of(n)``: the line
    of the original text that line ``n`` of the squeezed text is.

    The csv module yields a record per blank line, one Python step each: 50 MB of blank
    lines took 7 s of CPU (the fuzz harness, issue 25); one regex pass costs ~0.05 s.
    """
    starts, removed = [], []
    pieces, pos, line, dropped = [], 0, 1, 0  # line: the squeezed text's line at `pos`
    for m in _BLANK_RUN.finditer(text):
        run = m.group()
        breaks = run.count("\n")
        if breaks < 64:  # long blank space, few lines: leave it
            continue
        pieces.append(text[pos:m.start()] + "\n\n")
        kept = line + text.count("\n", pos, m.start()) + 1  # the one blank line kept
        dropped += breaks - 2
        starts.append(kept + 1)
        removed.append(dropped)
        # the blanks after the last line end lead the next line: they stay
        line, pos = kept + 1, m.start() + run.rfind("\n") + 1
    if not starts:
        return text, lambda n: n
    pieces.append(text[pos:])

    def line_of(n: int) -> int:
        k = bisect.bisect_right(starts, n)
        return n + (removed[k - 1] if k else 0)

    return "".join(pieces), line_of


def _parse_csv(text: str, file: str) -> pd.DataFrame:
    # CR-only (classic Mac) and CRLF tables read as LF ones (the csv module refuses a bare
    # CR outside quotes; found by the fuzz harness, issue 25).
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text, line_of = _squeeze_blank_runs(text)
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] = []
    try:
        while not any(header):  # blank lines before the header, as sniffing allows
            header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise ParseError("empty CSV file", file, 1) from None
    lacking = [c for c in MINIMAL_COLUMNS if c not in header]
    if lacking:
        raise ParseError(f"CSV header lacks required column(s) {lacking} (a row needs "
                         f"{', '.join(MINIMAL_COLUMNS)}; the other columns have defaults)", file,
                         line_of(reader.line_num))
    defaulted = [c for c in CSV_COLUMNS if c not in header]  # filled below, said in notes
    rows, lines = [], []
    start = reader.line_num + 1
    for record in reader:
        line = line_of(start)
        start = reader.line_num + 1
        if not any(f.strip() for f in record):
            continue
        if len(record) != len(header):
            raise ParseError(f"{len(record)} fields, header has {len(header)}", file, line)
        row = {}
        for col, cell in zip(header, record):
            if col in FLOAT_COLUMNS or col in INT_COLUMNS:
                row[col] = _to_float(cell, col, file, line)
            else:
                row[col] = cell if cell.strip() != "" else None
        rows.append(row)
        lines.append(line)
    df = pd.DataFrame(rows, columns=header)
    if defaulted:
        _fill_defaults(df, defaulted, file)
    df["precision_raw"] = df["precision"] if "precision_raw" not in header else df["precision_raw"]
    df["precision"] = [precision_from_text(p) for p in df["precision"]]
    if "file" not in header:
        df["file"] = file
    if "line" not in header:
        df["line"] = lines
    df = conform(df)
    try:
        validate_measurements(df)
    except MeasurementValidationError as exc:
        line = lines[exc.row] if isinstance(exc.row, int) and 0 <= exc.row < len(lines) else None
        raise ParseError(f"column {exc.column!r}: bad value {exc.value!r} ({exc.reason})",
                         file, line) from None
    return df


def _fill_defaults(df: pd.DataFrame, columns: list, file: str) -> None:
    """Add the published columns a minimal table leaves out, and say so in ``notes``."""
    said = []
    for col in columns:
        if col == "source":
            df[col] = f"user table {os.path.basename(str(file))}"
        elif col == "phase":
            df[col] = [_PHASE_OF_METRIC.get(m) for m in df["metric"]]
        elif col in FLOAT_COLUMNS or col in INT_COLUMNS:
            df[col] = float(DEFAULTS[col]) if DEFAULTS.get(col) else float("nan")
        else:
            df[col] = DEFAULTS.get(col) or None
        if col == "phase":
            said.append("phase from the metric")
        elif col == "source":
            said.append(f"source '{df[col].iloc[0] if len(df) else ''}'")
        elif col not in ("notes", "source_detail"):
            said.append(f"{col}={DEFAULTS.get(col) or 'not stated'}")
    text = "columns not in the file, defaulted: " + ", ".join(said)
    if "notes" in columns:
        df["notes"] = text
    else:
        df["notes"] = [f"{n}; {text}" if n else text for n in df["notes"]]


@only_parse_errors("CSV")
def read_measurement_csv(path: str | os.PathLike) -> pd.DataFrame:
    """Read and validate a CSV file in the published measurement schema.

    Returns
    -------
    pandas.DataFrame
        :data:`~.schema.MEASUREMENT_COLUMNS` (plus any extra CSV columns); ``file`` and
        ``line`` give each row's origin (``line`` is the CSV record's first line).
    """
    return parse_measurement_csv(read_text(path), file=str(path))
