"""``read_measurements``: read measurement files of any supported format, chosen by content.

Formats (:func:`sniff_format` looks at the first KiB, then the whole text for logs):

==================== ======================================================== ==============
format               recognised by                                            rows
==================== ======================================================== ==============
``trtexec_log``      ``&&&& RUNNING TensorRT``, ``[I] ===``, a performance    2 per run
                     summary line (also without the ``[date] [I]`` prefix)
``dlbs``             ``__exp.*__=`` / ``__results.*__=`` lines                 1-2 per log
``trtexec_times``    JSON array whose first record has ``startComputeMs``     2
``trtexec_profile``  JSON array starting with ``{"count": N}``                none (layers)
``trtexec_layers``   JSON object with ``"Layers"``                            none (layers)
``trex_metadata``    JSON object with ``performance_summary`` / build options 2 / none
``ort_profile``      ``"traceEvents"`` or events with ``"cat": "Session"``    2
``csv``              a CSV header with ``metric`` and ``value`` columns        1 per record
==================== ======================================================== ==============
"""
from __future__ import annotations

import glob
import os
import re
import warnings
from pathlib import Path
from typing import Callable

import pandas as pd

from .csv_table import read_measurement_csv
from .dlbs import read_dlbs_log
from .normalize import normalize_names
from .ort_profile import read_ort_profile
from .schema import ParseError, conform, empty_measurements
from .trtexec import read_trtexec_log
from .trtexec_json import read_export_times, read_trex_metadata, trex_siblings

__all__ = ["sniff_format", "read_file", "read_measurements", "FORMATS"]

_HEAD_BYTES = 1024
_TRTEXEC_MARKERS = re.compile(
    r"&&&& (?:RUNNING|PASSED|FAILED) TensorRT|\[I\] ===|^\s*=== Performance summary ===|"
    r"^\s*(?:\[[^\]]*\]\s*)*Throughput: [-+.\deE]+ qps\s*$|"
    r"^\s*(?:\[[^\]]*\]\s*)*Host [Ll]atency\s*$", re.MULTILINE)
_DLBS_MARKER = re.compile(r"^\s*__(?:exp|results)\.[A-Za-z0-9_.]+__\s*=", re.MULTILINE)

#: Formats that never give measurement rows (per-layer data or build context only).
LAYER_ONLY_FORMATS = ("trtexec_profile", "trtexec_layers")


def _sniff_json(head: str) -> str | None:
    if re.match(r"^\s*\[\s*\{\s*\"count\"", head):
        return "trtexec_profile"
    if re.match(r"^\s*\[\s*\{[^{}]*\"(?:startComputeMs|startInMs|startEnqMs)\"", head):
        return "trtexec_times"
    if '"traceEvents"' in head or re.search(r"\"cat\"\s*:\s*\"(?:Session|Node)\"", head):
        return "ort_profile"
    if re.match(r"^\s*\{\s*\"Layers\"", head):
        return "trtexec_layers"
    if re.search(r"\"(?:performance_summary|build_options|model_options|device_information)\"", head):
        return "trex_metadata"
    return None


def _is_csv(head: str) -> bool:
    first = head.splitlines()[0] if head else ""
    fields = [f.strip().strip('"') for f in first.split(",")]
    return "metric" in fields and "value" in fields


def sniff_format(path: str | os.PathLike) -> str:
    """Name of the format of `path`, from its content (see the module table).

    Raises
    ------
    ParseError
        The content matches no supported format (line 1).
    """
    with open(path, "rb") as fh:
        raw = fh.read()
    if path_str(path).endswith(".gz"):
        import gzip  # noqa: PLC0415
        raw = gzip.decompress(raw)
    text = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
    head = text[:_HEAD_BYTES]
    if _TRTEXEC_MARKERS.search(head):
        return "trtexec_log"
    if _DLBS_MARKER.search(head):
        return "dlbs"
    if head.lstrip().startswith(("[", "{")):
        fmt = _sniff_json(head)
        if fmt:
            return fmt
    if _is_csv(head):
        return "csv"
    # Logs with a long preamble: look at the whole text.
    if _TRTEXEC_MARKERS.search(text):
        return "trtexec_log"
    if _DLBS_MARKER.search(text):
        return "dlbs"
    if path_str(path).lower().endswith(".csv"):
        return "csv"
    raise ParseError("unrecognised measurement format", path_str(path), 1)


def path_str(path: str | os.PathLike) -> str:
    return os.fspath(path)


FORMATS: dict[str, Callable[..., pd.DataFrame]] = {
    "trtexec_log": lambda p, batch=None, device=None: _fill_device(read_trtexec_log(p, batch=batch), device),
    "dlbs": lambda p, batch=None, device=None: read_dlbs_log(p, device=device),
    "trtexec_times": lambda p, batch=None, device=None: read_export_times(p, batch=batch, device=device),
    "trex_metadata": lambda p, batch=None, device=None: _fill_device(read_trex_metadata(p, batch=batch), device),
    "ort_profile": lambda p, batch=None, device=None: read_ort_profile(p, batch=batch, device=device),
    "csv": lambda p, batch=None, device=None: read_measurement_csv(p),
    "trtexec_profile": lambda p, batch=None, device=None: empty_measurements(),
    "trtexec_layers": lambda p, batch=None, device=None: empty_measurements(),
}


def _fill_device(df: pd.DataFrame, device: str | None) -> pd.DataFrame:
    """Use `device` where the file names none."""
    if device and len(df):
        missing = df["device"].isna()
        df.loc[missing, "device"] = device
        df.loc[missing, "device_raw"] = device
    return df


def read_file(path: str | os.PathLike, *, batch: int | None = None,
              device: str | None = None) -> pd.DataFrame:
    """Read one measurement file (format sniffed from content); no name normalization.

    Returns
    -------
    pandas.DataFrame
        Rows in :data:`~.schema.MEASUREMENT_COLUMNS`; ``df.attrs["format"]`` is the format.
    """
    fmt = sniff_format(path)
    if path_str(path).endswith(".gz") and fmt != "dlbs":
        raise ParseError(f"gzip-compressed {fmt} files are not supported; decompress first",
                         path_str(path), None)
    df = FORMATS[fmt](path, batch=batch, device=device)
    df.attrs["format"] = fmt
    return df


def _expand(source) -> tuple[list[Path], bool]:
    """Files to read and whether the input named a single file."""
    if isinstance(source, (list, tuple, set)):
        files: list[Path] = []
        for item in source:
            files += _expand(item)[0]
        return files, False
    p = Path(source)
    if p.is_file():
        return [p], True
    if p.is_dir():
        return sorted(f for f in p.rglob("*") if f.is_file() and not _hidden(f, p)), False
    matches = sorted(Path(m) for m in glob.glob(os.fspath(source), recursive=True))
    if not matches:
        raise FileNotFoundError(f"no measurement file matches {os.fspath(source)!r}")
    files = []
    for m in matches:
        files += _expand(m)[0]
    return files, False


def _hidden(f: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in f.relative_to(root).parts)


def _drop_trex_duplicates(frames: dict[Path, pd.DataFrame]) -> list[str]:
    """A trex profile digest repeats the summary of the timing.json next to it: drop it."""
    dropped = []
    for path, df in frames.items():
        if df.attrs.get("format") != "trex_metadata" or not len(df):
            continue
        timing = trex_siblings(path).get("timing")
        if timing is not None and timing in frames and len(frames[timing]):
            frames[path] = df.iloc[0:0]
            dropped.append(f"{path}: same run as {timing.name} (kept the per-inference file)")
    return dropped


def read_measurements(source, *, normalize: bool = True, on_error: str = "collect",
                      batch: int | None = None, device: str | None = None) -> pd.DataFrame:
    """Read measurements from files, directories and glob patterns.

    Parameters
    ----------
    source : str, path-like, or list of them
        A file, a directory (read recursively, hidden files skipped), or a glob pattern.
        Each file's parser is chosen by content (:func:`sniff_format`), not by extension.
    normalize : bool
        Map device and interconnect names to catalog names (:func:`normalize_names`); the
        report goes to ``df.attrs["name_report"]``.
    on_error : {"collect", "raise"}
        With several files: "collect" warns once listing each failed file and its error,
        keeps the rest and stores ``[(path, message)]`` in ``df.attrs["failed"]``; "raise"
        raises the first failure. A single named file always raises.
    batch : int, optional
        Batch size [samples] for files that do not reveal it (exportTimes, some logs).
    device : str, optional
        Device name for files that do not name one (DLBS without ``exp.device_title``,
        onnxruntime profiles, TRT 7 logs).

    Returns
    -------
    pandas.DataFrame
        :data:`~.schema.MEASUREMENT_COLUMNS`. Files holding only per-layer data (exportProfile,
        exportLayerInfo, a ``--dumpProfile`` log) add no rows and are not failures.
        ``df.attrs``: ``failed``, ``skipped`` (unrecognised files in a directory/glob, with the
        reason), ``files`` (``{path: format}``), ``dropped`` (duplicate trex digests),
        ``name_report`` (the :func:`normalize_names` report as a list of dicts, or None).

    Raises
    ------
    ParseError
        A malformed or truncated file (single file, or ``on_error="raise"``).
    FileNotFoundError
        Nothing matches `source`.
    """
    if on_error not in ("collect", "raise"):
        raise ValueError(f"on_error must be 'collect' or 'raise', not {on_error!r}")
    files, single = _expand(source)
    frames: dict[Path, pd.DataFrame] = {}
    failed: list[tuple[str, str]] = []
    skipped: list[tuple[str, str]] = []
    for f in files:
        try:
            frames[f] = read_file(f, batch=batch, device=device)
        except ParseError as exc:
            if single or on_error == "raise":
                raise
            if exc.reason == "unrecognised measurement format":
                skipped.append((str(f), str(exc)))
            else:
                failed.append((str(f), str(exc)))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            if single or on_error == "raise":
                raise
            failed.append((str(f), f"{type(exc).__name__}: {exc}"))
    dropped = _drop_trex_duplicates(frames)
    parts = [df for df in frames.values() if len(df)]
    out = conform(pd.concat(parts, ignore_index=True)) if parts else empty_measurements()
    if failed:
        warnings.warn("could not read {} file(s):\n".format(len(failed))
                      + "\n".join(f"  {p}: {m}" for p, m in failed), RuntimeWarning, stacklevel=2)
    report = None
    if normalize and len(out):
        out, report = normalize_names(out)
        # Plain records, not a DataFrame: pandas compares attrs when concatenating frames.
        report = report.to_dict("records")
    out.attrs.update(failed=failed, skipped=skipped, dropped=dropped, name_report=report,
                     files={str(p): df.attrs.get("format") for p, df in frames.items()})
    return out
