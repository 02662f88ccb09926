"""``read_measurements``: read measurement files of any supported format, chosen by content.

Formats (:func:`sniff_format` looks at the first KiB of content, then at the first 256 KiB
for logs with a long preamble):

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
``neusight_labels``  a CSV header with NeuSight's label columns               1 per record
                     (``device_key``, ``seq_len``, ``parallel``, ...)
``csv``              a CSV header with ``metric`` and ``value`` columns        1 per record
``llm_serving``      a CSV header with ``ttft_ms``, ``tpot_ms``, ``input_len``... 2 per run
==================== ======================================================== ==============

NeuSight's device specification table (``device_key, Dev_Mem_GB, Mem_Bw_GBps, ...``) is
recognised as ``neusight_devices`` and refused as "not measurements" (a folder read lists it
under ``attrs["skipped"]``).
"""
from __future__ import annotations

import glob
import os
import re
import stat
import warnings
import zlib
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from ...errors import ParameterError, ParseWarning
from .csv_table import read_measurement_csv
from .dlbs import dlbs_log_records
from .llm_training import is_llm_training_csv, read_llm_training_csv
from .llm_serving import is_llm_serving_header, read_llm_serving
from .neusight import SPEC_TABLE_REASON, read_neusight_labels, sniff_neusight, spec_table_error
from .normalize import normalize_names
from .ort_profile import ort_profile_records
from .schema import (_PARSER_SLIPS, ParseError, as_parse_error, binary_share, check_batch,
                     check_record_numbers,
                     conform, empty_measurements, frame_from_records, row_error, row_problems,
                     text_encoding)
from .trtexec import trtexec_log_records
from .trtexec_json import export_times_records, trex_metadata_records, trex_siblings

__all__ = ["sniff_format", "read_file", "read_measurements", "FORMATS"]

_HEAD_BYTES = 1024
#: Bytes of content (after leading blank space) that sniffing looks at: enough for the
#: longest preamble of the shared samples (a verbose log's banner is on its first lines)
#: and small enough that sniffing a 50 MB file costs what sniffing a 50 kB one does.
_SNIFF_BYTES = 256 * 1024
#: Leading blank space skipped before the content (a log behind 20,000 blank lines is
#: still a log); beyond this the file is refused rather than read forever.
_MAX_BLANK_BYTES = 64 * 1024 * 1024
_BLANK = b" \t\r\n\x0b\x0c"
# Line-anchored and linear: "[ \t]" (never "\s", which also eats newlines and made a run of
# blank lines quadratic) and "[^\]\n]" so that an unclosed "[" cannot scan the whole text.
_TRTEXEC_MARKERS = re.compile(
    r"&&&& (?:RUNNING|PASSED|FAILED) TensorRT|\[I\] ===|^[ \t]*=== Performance summary ===|"
    r"^[ \t]*(?:\[[^\]\n]*\][ \t]*)*Throughput: [-+.\deE]+ qps[ \t]*$|"
    r"^[ \t]*(?:\[[^\]\n]*\][ \t]*)*Host [Ll]atency[ \t]*$", re.MULTILINE)
_DLBS_MARKER = re.compile(r"^[ \t]*__(?:exp|results)\.[A-Za-z0-9_.]+__[ \t]*=", re.MULTILINE)

#: Reasons (message starts) of files a directory read skips rather than counts as failed:
#: they hold no measurements of any format (binary data such as a model or an image).
_SKIP_REASONS = ("unrecognised measurement format", "not a regular file", "binary data")
#: Files beside measurements that are documentation, never logs: skipped without a warning.
_DOCUMENT_SUFFIXES = frozenset({".md", ".rst", ".yaml", ".yml", ".png", ".jpg", ".jpeg", ".svg", ".pdf",
                                ".ipynb", ".html"})

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
    first = head.split("\n", 1)[0]
    fields = [f.strip().strip('"') for f in first.split(",")]
    return "metric" in fields and "value" in fields


def _check_regular(path: str | os.PathLike) -> None:
    """Refuse, without opening it, anything that is not a regular file.

    Opening a FIFO blocks until a writer comes; ``/dev/zero`` never ends; a dangling link
    has nothing behind it.
    """
    name = os.fspath(path)
    try:
        mode = os.stat(name).st_mode
    except FileNotFoundError:
        if os.path.islink(name):
            raise ParseError("not a regular file: a dangling symbolic link", name, None) from None
        raise
    if stat.S_ISDIR(mode):
        raise ParseError("not a regular file: a directory (pass it to read_measurements)", name, None)
    if not stat.S_ISREG(mode):
        kind = ("a FIFO" if stat.S_ISFIFO(mode) else "a character device" if stat.S_ISCHR(mode)
                else "a block device" if stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode)
                else "a special file")
        raise ParseError(f"not a regular file: {kind}", name, None)


def _sniff_window(path: str | os.PathLike) -> str:
    """The first :data:`_SNIFF_BYTES` of content after leading blank space, as LF-ended text.

    UTF-16 and UTF-32 files (a byte-order mark, or NUL in every other byte) are decoded
    first; binary data (NUL padding included) is refused.
    """
    name = os.fspath(path)
    _check_regular(name)
    if name.endswith(".gz"):
        import gzip  # noqa: PLC0415
        opener = gzip.open
    else:
        opener = open
    try:
        with opener(name, "rb") as fh:
            chunk = fh.read(64 * 1024)
            codec, bom = text_encoding(chunk[:4096])
            if codec != "utf-8":
                # 2-4 bytes a character: read that much more, decode, then skip blank space.
                data = chunk[bom:] + fh.read(4 * _SNIFF_BYTES)
                text = data.decode(codec, errors="replace").lstrip(_BLANK.decode())[:_SNIFF_BYTES]
                return _checked_window(text, name)
            chunk = chunk[bom:]
            skipped = 0
            while chunk and not chunk.lstrip(_BLANK):
                skipped += len(chunk)
                if skipped > _MAX_BLANK_BYTES:
                    raise ParseError(f"more than {_MAX_BLANK_BYTES >> 20} MiB of blank space "
                                     "before any content", name, None)
                chunk = fh.read(64 * 1024)
            chunk = chunk.lstrip(_BLANK)
            data = chunk + fh.read(max(_SNIFF_BYTES - len(chunk), 0))
    except (EOFError, OSError, zlib.error) as exc:
        if isinstance(exc, (FileNotFoundError, PermissionError)):
            raise
        raise ParseError(f"unreadable file ({type(exc).__name__}: {exc})", name, None) from None
    return _checked_window(data[:_SNIFF_BYTES].decode("utf-8", errors="replace"), name)


def _checked_window(text: str, name: str) -> str:
    bad, binary = binary_share(text)
    if binary:
        raise ParseError(f"binary data, not a text file ({bad:,} of the first {len(text):,} "
                         "characters are undecodable or NUL)", name, None)
    # CR-only (classic Mac) and CRLF line ends: the markers are line-anchored on "\n".
    return text.replace("\r\n", "\n").replace("\r", "\n")


def sniff_format(path: str | os.PathLike) -> str:
    """Name of the format of `path`, from its content (see the module table).

    Looks at a bounded window: the first 256 KiB of content after any leading blank space
    and byte-order mark (linear in the window, whatever the file holds); line ends may be
    LF, CRLF or CR.

    Raises
    ------
    ParseError
        The content matches no supported format (line 1), or `path` is not a regular file
        (a FIFO, a device, a dangling link).
    """
    text = _sniff_window(path)
    head = text[:_HEAD_BYTES]
    if _TRTEXEC_MARKERS.search(head):
        return "trtexec_log"
    if _DLBS_MARKER.search(head):
        return "dlbs"
    if head.startswith(("[", "{")):
        fmt = _sniff_json(head)
        if fmt:
            return fmt
    if is_llm_training_csv(head):
        return "llm_training_csv"
    if is_llm_serving_header(head.split("\n", 1)[0]):
        return "llm_serving"
    neusight = sniff_neusight(head)
    if neusight:
        return neusight
    if _is_csv(head):
        return "csv"
    # Logs with a long preamble: look at the whole window.
    if _TRTEXEC_MARKERS.search(text):
        return "trtexec_log"
    if _DLBS_MARKER.search(text):
        return "dlbs"
    if path_str(path).lower().endswith(".csv"):
        return "csv"
    raise ParseError("unrecognised measurement format", path_str(path), 1)


def path_str(path: str | os.PathLike) -> str:
    return os.fspath(path)


def _fill_device(records: list[dict], device: str | None) -> list[dict]:
    """Use `device` where the file names none."""
    if device:
        for rec in records:
            if rec.get("device") is None:
                rec["device"] = rec["device_raw"] = device
    return records


def _refuse(exc: Exception):
    raise exc


# Format -> reader of its rows: a list of row dicts (one frame is built per call of
# read_measurements, not per file) or, for CSV tables, a conformed frame.
_RECORDS: dict[str, Callable[..., Any]] = {
    "trtexec_log": lambda p, batch, device: _fill_device(trtexec_log_records(p, batch=batch)[0], device),
    "dlbs": lambda p, batch, device: dlbs_log_records(p, device=device)[0],
    "trtexec_times": lambda p, batch, device: export_times_records(p, batch=batch, device=device)[0],
    "trex_metadata": lambda p, batch, device: _fill_device(trex_metadata_records(p, batch=batch), device),
    "ort_profile": lambda p, batch, device: ort_profile_records(p, batch=batch, device=device),
    "csv": lambda p, batch, device: read_measurement_csv(p),
    "llm_training_csv": lambda p, batch, device: read_llm_training_csv(p),  # parallel-layout tables
    "llm_serving": lambda p, batch, device: read_llm_serving(p),
    "neusight_labels": lambda p, batch, device: read_neusight_labels(p),
    "neusight_devices": lambda p, batch, device: _refuse(spec_table_error(p)),
    "trtexec_profile": lambda p, batch, device: [],
    "trtexec_layers": lambda p, batch, device: [],
}

#: Format -> ``reader(path, batch=None, device=None) -> DataFrame`` (one file, one frame).
FORMATS: dict[str, Callable[..., pd.DataFrame]] = {
    fmt: (lambda reader: lambda p, batch=None, device=None: _as_frame(reader(p, batch, device)))(r)
    for fmt, r in _RECORDS.items()
}


def _as_frame(rows) -> pd.DataFrame:
    return rows if isinstance(rows, pd.DataFrame) else frame_from_records(rows)


def _read_rows(path: str | os.PathLike, batch: int | None, device: str | None):
    """(format, rows) of one file; every failure is a :class:`ParseError` naming the file."""
    fmt = sniff_format(path)
    if path_str(path).endswith(".gz") and fmt != "dlbs":
        raise ParseError(f"gzip-compressed {fmt} files are not supported; decompress first",
                         path_str(path), None)
    try:
        rows = _RECORDS[fmt](path, batch, device)
        if not isinstance(rows, pd.DataFrame):
            check_record_numbers(rows, path_str(path))
        return fmt, rows
    except (ParseError, FileNotFoundError, PermissionError):
        raise
    except (*_PARSER_SLIPS, OSError) as exc:  # MemoryError included
        # Safety net: a parser met a shape it does not check for. Still one error type,
        # naming the file; the parsers' own checks name the line or JSON path.
        raise as_parse_error(exc, fmt, path_str(path)) from exc


def read_file(path: str | os.PathLike, *, batch: int | None = None,
              device: str | None = None) -> pd.DataFrame:
    """Read one measurement file (format sniffed from content); no name normalization.

    Every row is validated (:func:`~.schema.row_problems`): an impossible number (NaN,
    inf, a negative time, a median above the max) fails the file.

    Returns
    -------
    pandas.DataFrame
        Rows in :data:`~.schema.MEASUREMENT_COLUMNS`; ``df.attrs["format"]`` is the format.

    Raises
    ------
    ParseError
        Whatever is wrong with the file, naming it (and the line where known).
    """
    batch = check_batch(batch)
    fmt, rows = _read_rows(path, batch, device)
    df = _as_frame(rows)
    problems = row_problems(df)
    if problems:
        raise row_error(problems[0], df, path_str(path))
    df.attrs["format"] = fmt
    return df


def _walk(root: Path) -> list[Path]:
    """Files under `root`, sorted, hidden ones skipped; symbolic links to folders not followed.

    An explicit stack, not :func:`os.walk` (recursive before Python 3.12): a tree 1,100
    folders deep raised RecursionError (issue 25). A folder that cannot be listed is skipped.
    """
    out: list[Path] = []
    stack = [os.fspath(root)]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError:
            continue
        for e in entries:
            if e.name.startswith("."):
                continue
            try:
                is_dir = e.is_dir()  # follows links: a link to a folder is neither read nor a file
                is_link = e.is_symlink()
            except OSError:
                is_dir, is_link = False, False
            if is_dir:
                if not is_link:
                    stack.append(e.path)
            else:
                out.append(Path(e.path))
    return sorted(out)


def _expand(source) -> tuple[list[Path], bool]:
    """Files to read and whether the input named a single file.

    Special files (FIFO, device, dangling link) are listed like files: :func:`read_file`
    refuses them without opening them.
    """
    if isinstance(source, (list, tuple, set)):
        files: list[Path] = []
        for item in (sorted(source, key=os.fspath) if isinstance(source, set) else source):
            files += _expand(item)[0]
        return files, False
    if not isinstance(source, (str, os.PathLike)):
        raise ParameterError("source", source, "a path, a directory, a glob pattern or a list of them")
    text = os.fspath(source)
    if not str(text).strip():
        # Path("") is the current directory: never read it by accident.
        raise ParameterError("source", source, "a non-empty path (use '.' for the current directory)")
    p = Path(source)
    if p.is_dir():
        return _walk(p), False
    if p.is_file() or os.path.lexists(p):
        return [p], True
    try:
        matches = sorted(glob.glob(text, recursive=True))
    except RecursionError:  # glob's "**" recurses once per folder level
        raise ParameterError("source", source, "a glob pattern whose '**' spans fewer than ~900 "
                             "folder levels (pass the folder itself: it is walked at any depth)") from None
    if not matches:
        raise FileNotFoundError(f"no measurement file matches {text!r}")
    files = []
    for m in matches:
        mp = Path(m)
        files += _walk(mp) if mp.is_dir() else [mp]
    return files, False


def _drop_trex_duplicates(counts: dict[Path, tuple[str, int]]) -> tuple[set[Path], list[str]]:
    """A trex profile digest repeats the summary of the timing.json next to it: drop it."""
    drop, notes = set(), []
    for path, (fmt, n) in counts.items():
        if fmt != "trex_metadata" or not n:
            continue
        timing = trex_siblings(path).get("timing")
        if timing is not None and timing in counts and counts[timing][1]:
            drop.add(path)
            notes.append(f"{path}: same run as {timing.name} (kept the per-inference file)")
    return drop, notes


def _combine(parts: list[tuple[Path, Any]]) -> tuple[pd.DataFrame, list[Path]]:
    """One conformed frame from every file's rows, and the file of each row (by position)."""
    records: list[dict] = []
    owners: list[Path] = []
    frames: list[pd.DataFrame] = []
    frame_owners: list[Path] = []
    for path, rows in parts:
        if isinstance(rows, pd.DataFrame):
            frames.append(rows)
            frame_owners += [path] * len(rows)
        else:
            records += rows
            owners += [path] * len(rows)
    pieces = []
    if records:
        pieces.append(pd.DataFrame.from_records(records))
    pieces += frames
    if not pieces:
        return empty_measurements(), []
    df = pieces[0] if len(pieces) == 1 else pd.concat(pieces, ignore_index=True)
    return conform(df.reset_index(drop=True)), owners + frame_owners


def _layer_only_files(parts: list[tuple[Path, Any]], formats: dict[Path, str]) -> list[tuple[str, str]]:
    """Files that gave no rows but hold per-layer data, with the layer count and the reader."""
    from .trtexec_json import read_layer_info, read_layer_profile  # noqa: PLC0415

    out = []
    for path, rows in parts:
        fmt = formats.get(path)
        if len(rows) or (fmt not in LAYER_ONLY_FORMATS and fmt != "trtexec_log"):
            continue
        reader = read_layer_info if fmt == "trtexec_layers" else read_layer_profile
        try:
            n = len(reader(path))
        except (ParseError, OSError, ValueError):
            n = 0
        if n or fmt in LAYER_ONLY_FORMATS:
            out.append((str(path), f"{n} layer rows; read them with "
                                   f"plaster_model.io.readers.{reader.__name__}(path)"))
    return out


def read_measurements(source, *, normalize: bool = True, on_error: str = "collect",
                      batch: int | None = None, device: str | None = None,
                      model_map=None) -> pd.DataFrame:
    """Read measurements from files, directories and glob patterns.

    Parameters
    ----------
    source : str, path-like, or list of them
        A file, a directory (read recursively, hidden files skipped, links to folders not
        followed), or a glob pattern. Each file's parser is chosen by content
        (:func:`sniff_format`), not by extension. An empty string is refused (it would
        mean the current directory).
    normalize : bool
        Map device and interconnect names to catalog names (:func:`normalize_names`); the
        report goes to ``df.attrs["name_report"]``.
    on_error : {"collect", "raise"}
        With several files: "collect" keeps every good file's rows, warns once listing each
        failed file and its reason, and stores ``[(path, message)]`` in
        ``df.attrs["failed"]``; "raise" raises the first failure. A single named file
        always raises.
    batch : int, optional
        Batch size [samples] for files that do not reveal it (exportTimes, some logs).
    device : str, optional
        Device name for files that do not name one (DLBS without ``exp.device_title``,
        onnxruntime profiles, TRT 7 logs).
    model_map : mapping of str to str, optional
        ``{NAME: ZOO}``: the zoo model each model name of the files means (``{"resnet50_bs_dynamic":
        "ResNet-50 v1.5"}``), tried before the documented rule of
        :func:`plaster_model.catalog.names.resolve_model` (file extensions and batch /
        precision / format suffixes stripped, then the zoo's aliases).

    Returns
    -------
    pandas.DataFrame
        :data:`~.schema.MEASUREMENT_COLUMNS`. Every row is validated
        (:func:`~.schema.row_problems`: finite, positive, min <= median <= max, throughput
        = qps x batch); a file with an impossible row is a failed file. Files holding only
        per-layer data (exportProfile, exportLayerInfo, a ``--dumpProfile`` log) add no
        rows and are not failures; a ``UserWarning`` names them, how many layer rows each
        holds and the function that reads them, and ``df.attrs["layer_only"]`` lists them.
        ``df.attrs``: ``failed``, ``skipped`` (unrecognised or
        special files in a directory/glob, with the reason), ``files`` (``{path: format}``
        of the files read), ``dropped`` (duplicate trex digests), ``name_report`` (the
        :func:`normalize_names` report as a list of dicts, or None).

    Raises
    ------
    ParseError
        A malformed, truncated or impossible file (single file, or ``on_error="raise"``);
        the only error a file's content can cause.
    FileNotFoundError
        Nothing matches `source`.
    ParameterError
        `source` is empty or not a path, or `on_error` is not one of the two modes.

    Examples
    --------
    >>> import plaster_model as pm                                         # doctest: +SKIP
    >>> df = pm.read_measurements("runs/")        # a directory, a file or a glob  # doctest: +SKIP
    >>> df.attrs["failed"]                         # [(path, reason)] of unreadable files  # doctest: +SKIP
    []
    """
    if on_error not in ("collect", "raise"):
        raise ParameterError("on_error", on_error, "'collect' or 'raise'")
    batch = check_batch(batch)
    files, single = _expand(source)
    parts: list[tuple[Path, Any]] = []
    formats: dict[Path, str] = {}
    failed: list[tuple[str, str]] = []
    skipped: list[tuple[str, str]] = []

    def fail(path: Path, exc: Exception, message: str) -> None:
        if single or on_error == "raise":
            raise exc
        failed.append((str(path), message))

    cut: list[tuple[str, str]] = []
    for f in files:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ParseWarning)
                fmt, rows = _read_rows(f, batch, device)
        except ParseError as exc:
            if single or on_error == "raise":
                raise
            if exc.reason.startswith(_SKIP_REASONS + (SPEC_TABLE_REASON,)):
                skipped.append((str(f), str(exc)))
            else:
                failed.append((str(f), str(exc)))
            continue
        except OSError as exc:
            fail(f, exc, f"{type(exc).__name__}: {exc}")
            continue
        except Exception as exc:  # noqa: BLE001 - one file's failure of any kind never costs the others
            if single or on_error == "raise":
                raise as_parse_error(exc, "measurement", str(f)) from exc
            failed.append((str(f), f"{f}: {type(exc).__name__}: {exc}"[:500]))
            continue
        for w in caught:
            if issubclass(w.category, ParseWarning):
                cut.append((str(f), str(w.message)))
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        formats[f] = fmt
        parts.append((f, rows))
    drop, dropped = _drop_trex_duplicates({p: (formats[p], len(r)) for p, r in parts})
    parts = [(p, r) for p, r in parts if p not in drop]
    layer_only = _layer_only_files(parts, formats)
    if layer_only:
        warnings.warn("{} file(s) hold per-layer data only and give no measurement rows:\n".format(len(layer_only))
                      + "\n".join(f"  {p}: {m}" for p, m in layer_only), UserWarning, stacklevel=2)
    out, owners = _combine(parts)
    problems = row_problems(out)
    if problems:
        bad: dict[Path, ParseError] = {}
        for exc in problems:
            path = owners[out.index.get_loc(exc.row)]
            bad.setdefault(path, row_error(exc, out, str(path)))
        for path, exc in bad.items():
            fail(path, exc, str(exc))
            formats.pop(path, None)
        keep = [o not in bad for o in owners]
        out = out.loc[keep].reset_index(drop=True)
    # a recognised companion table (NeuSight's device specs beside its labels) and documentation
    # (READMEs, model configs, pictures) are listed in attrs["skipped"] without a warning: they
    # are known, not lost; any other skipped file is said
    unknown = [(p, m) for p, m in skipped
               if SPEC_TABLE_REASON not in m and Path(p).suffix.lower() not in _DOCUMENT_SUFFIXES]
    if unknown:
        warnings.warn("skipped {} file(s) that hold no measurements:\n".format(len(unknown))
                      + "\n".join(f"  {p}: {m}" for p, m in unknown), ParseWarning, stacklevel=2)
    if cut:
        warnings.warn("kept the complete runs of {} file(s) with a cut run:\n".format(len(cut))
                      + "\n".join(f"  {m}" for _, m in cut), ParseWarning, stacklevel=2)
    if failed:
        warnings.warn("could not read {} file(s):\n".format(len(failed))
                      + "\n".join(f"  {p}: {m}" for p, m in failed), RuntimeWarning, stacklevel=2)
    report = None
    if normalize and len(out):
        out, report = normalize_names(out, model_map=model_map)
        # Plain records, not a DataFrame: pandas compares attrs when concatenating frames.
        report = report.to_dict("records")
    out.attrs.update(failed=failed, skipped=skipped, cut=cut, dropped=dropped, name_report=report,
                     layer_only=layer_only, files={str(p): fmt for p, fmt in formats.items()})
    return out
