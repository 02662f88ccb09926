"""Parser for trtexec text logs, TensorRT 7.x to 10.x/11.x (``shared/formats/tensorrt.md`` §1).

Each performance summary in a log is one *run* (a file may hold several: the TRT 7.1
``--batch`` sweep concatenates seven logs; README excerpts paste several summaries without
the ``[date] [I]`` prefix). A run gives two rows:

* ``throughput_img_s``: samples/s. For explicit-batch engines trtexec's "qps" counts
  inferences, so samples/s = qps x batch; for implicit-batch engines (``--batch=N``,
  Caffe/UFF, TRT <= 8.6) the printed qps already counts samples.
* ``latency_ms``: the **median GPU Compute Time** per inference (per batch) [ms], the number
  the compute estimators are fitted to.

Both rows carry the GPU compute statistics (``latency_*_ms``), host latency, H2D/D2H and
enqueue means, the raw qps (``throughput_qps``, inferences/s), the device, TensorRT
version, precision and batch. A log whose profiler replaced the summary (``--dumpProfile``
without ``--separateProfileRun``) has no run; its per-layer table is returned by
:func:`read_trtexec_layer_profile`.
"""
from __future__ import annotations

import bisect
import copy
import itertools
import math
import os
import re
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import pandas as pd

from ...errors import ParseWarning
from .normalize import precision_from_text, precision_from_flags
from .schema import (ParseError, check_batch, checked_frame, empty_layer_profile,
                     frame_from_records, layer_frame,
                     only_parse_errors, read_text)

__all__ = ["TrtexecRun", "TrtexecLog", "parse_trtexec_text", "read_trtexec_log",
           "trtexec_log_records", "runs_to_records", "runs_to_frame", "read_trtexec_layer_profile", "decode_trt_version"]

NUM = r"(?:[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf))"

# Drops "[date] [I] [TRT]", wrapper tags like "[INFO]", and indentation.
_PREFIX = re.compile(r"^\s*(?:\[[^\]]*\]\s*)*")
_SEV = re.compile(r"\[(?P<sev>[IWEVF])\]")
# Only timestamp and severity/tag groups, for table rows whose names may start with "[".
_KNOWN_PREFIX = re.compile(r"^\s*(?:\[(?:\d{1,2}/\d{1,2}/\d{2,4}-\d{1,2}:\d{2}:\d{2}|[IWEVF]|TRT|"
                           r"INFO|WARN(?:ING)?|ERROR|DEBUG|VERBOSE)\]\s*)*")

_BANNER = re.compile(r"^&&&& (?P<status>RUNNING|PASSED|FAILED|WAIVED) TensorRT\.trtexec"
                     r"(?: \[TensorRT v(?P<ver>\d+)\])?(?: \[b(?P<build>\d+)\])?"
                     r"(?: # (?P<cmd>.*))?$")

# --- 8.0+ one-line summary
_HEAD = re.compile(r"^=== Performance summary ===$")
_TPUT = re.compile(rf"^Throughput: ({NUM}) qps$")
_STAT_KEYS = ("Latency", "End-to-End Host Latency", "Enqueue Time", "H2D Latency",
              "GPU Compute Time", "D2H Latency")
_STAT = re.compile(rf"^(?P<metric>{'|'.join(re.escape(k) for k in _STAT_KEYS)}): "
                   rf"min = (?P<min>{NUM}) ms, max = (?P<max>{NUM}) ms, "
                   rf"mean = (?P<mean>{NUM}) ms, median = (?P<median>{NUM}) ms"
                   rf"(?P<pcts>(?:, percentile\({NUM}%\) = {NUM} ms)*)$")
_PCT = re.compile(rf"percentile\(({NUM})%\) = ({NUM}) ms")
_WALL = re.compile(rf"^Total Host Walltime: ({NUM}) s$")
_GTOT = re.compile(rf"^Total GPU Compute Time: ({NUM}) s$")
_ONE_LINE_KEYS = re.compile(r"^(?:Throughput|Total Host Walltime|Total GPU Compute Time|"
                            + "|".join(re.escape(k) for k in _STAT_KEYS) + r"):")
_ONE_LINE_REQUIRED = ("throughput", "Latency", "Enqueue Time", "H2D Latency",
                      "GPU Compute Time", "D2H Latency", "walltime", "gpu_total")

# --- 7.x block summary
_BLOCK_HEAD = {"Host Latency": "Latency", "Host latency": "Latency",
               "Enqueue Time": "Enqueue Time", "GPU Compute": "GPU Compute Time"}
_BLOCK_STAT = re.compile(rf"^(?P<stat>min|max|mean|median): (?P<v>{NUM}) ms"
                         rf"(?: \(end to end (?P<e2e>{NUM}) ms\))?$")
_BLOCK_PCT = re.compile(rf"^percentile: (?P<v>{NUM}) ms at (?P<p>{NUM})%"
                        rf"(?: \(end to end (?P<e2e>{NUM}) ms at {NUM}%\))?$")
_BLOCK_TPUT = re.compile(rf"^throughput: ({NUM}) qps$")
_BLOCK_WALL = re.compile(rf"^walltime: ({NUM}) s$")
_BLOCK_GTOT = re.compile(rf"^total compute time: ({NUM}) s$")
_BLOCK_KEYS = re.compile(r"^(?:min|max|mean|median|percentile|throughput|walltime|"
                         r"total compute time):")

# --- context lines
_CTX = {
    "device": re.compile(r"^Selected Device: (.+?)\s*$"),
    "version_line": re.compile(r"^TensorRT version: (\S+)\s*$"),
    "precision_line": re.compile(r"^Precision: (.*?)\s*$"),
    "calibration": re.compile(r"^Calibration: (.*?)\s*$"),
    "max_batch": re.compile(r"^Max batch: (.*?)\s*$"),
    "batch_option": re.compile(r"^Batch: (.*?)\s*$"),
    "streams": re.compile(r"^(?:Inference )?Streams: (\d+)\s*$"),
    "cuda_graph": re.compile(r"^CUDA Graph: (Enabled|Disabled)\s*$"),
    "data_transfers": re.compile(r"^Data transfers: (Enabled|Disabled)\s*$"),
    "spin_wait": re.compile(r"^Spin-wait: (Enabled|Disabled)\s*$"),
    "model_line": re.compile(r"^(?:Model|Prototxt|UFF): (.+?)\s*$"),
    "warmup": re.compile(rf"^Warmup completed (\d+) queries over ({NUM}) ms$"),
    "trace": re.compile(rf"^Timing trace has (\d+) queries over ({NUM}) s$"),
}
_INFER_SHAPE = re.compile(r"^Input inference shapes?\s*: (.+?)\s*$")
_BUILD_SHAPE = re.compile(r"^Input build shapes?(?: \(profile \d+\))?\s*: (.+?)\s*$")
_BINDING = re.compile(r"^(?:Created input binding for (?P<a>.+?) with dimensions (?P<ad>\S+)|"
                      r"Input binding for (?P<b>.+?) with dimensions (?P<bd>\S+)"
                      r"(?: and type \S+)? is created\.)\s*$")
_COV = re.compile(rf"coefficient of variance = ({NUM})%")
# Literal starts of every context line above: one C-level startswith() rejects the other
# lines before any of the sixteen regular expressions runs.
_CTX_STARTS = ("Selected Device: ", "TensorRT version: ", "Precision: ", "Calibration: ",
               "Max batch: ", "Batch: ", "Streams: ", "Inference Streams: ", "CUDA Graph: ",
               "Data transfers: ", "Spin-wait: ", "Model: ", "Prototxt: ", "UFF: ",
               "Warmup completed ", "Timing trace has ", "Input inference shape",
               "Input build shape", "Created input binding for ", "Input binding for ",
               "The e2e network timing is not reported")
_NO_SUMMARY = re.compile(r"^The e2e network timing is not reported")

# --- dumpProfile table
_PROFILE_HEAD = re.compile(r"^=== Profile \((\d+) iterations? \) ===$")
_PROFILE_ROW_NEW = re.compile(rf"^\s*({NUM})\s+({NUM})\s+({NUM})\s+({NUM})\s{{3}}(?P<name>.+?)\s*$")
_PROFILE_ROW_OLD4 = re.compile(rf"^\s*(?P<name>.+?)\s+({NUM})\s+({NUM})\s+({NUM})\s+({NUM})\s*$")
_PROFILE_ROW_OLD3 = re.compile(rf"^\s*(?P<name>.+?)\s+({NUM})\s+({NUM})\s+({NUM})\s*$")

# --- markdown (README excerpts of summaries)
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_MD_BATCH = re.compile(r"batch\s*[-_ ]?\s*size\s*[:=]?\s*(\d+)", re.IGNORECASE)
_FLAG = re.compile(r"(?:^|\s)--(?P<name>[A-Za-z0-9]+)(?:=(?P<value>\S+))?")
_MODEL_FLAGS = ("onnx", "deploy", "uff", "model", "loadEngine")
_MODEL_SUFFIXES = (".onnx", ".prototxt", ".uff", ".caffemodel", ".engine", ".trt", ".plan")


def decode_trt_version(token: str | int) -> str:
    """TensorRT version string from a banner/version integer.

    ``8601`` -> ``"8.6.1"`` (major*1000 + minor*100 + patch, TRT 8.x);
    ``101601`` -> ``"10.16.1"`` (major*10000 + minor*100 + patch, TRT >= 10).
    Dotted strings are returned unchanged.
    """
    text = str(token).strip()
    if not text.isdigit():
        return text
    v = int(text)
    if v >= 10000:
        return f"{v // 10000}.{v // 100 % 100}.{v % 100}"
    return f"{v // 1000}.{v // 100 % 10}.{v % 100}"


def _num(text: str, file: str, line: int, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ParseError(f"non-numeric {what}: {text!r}", file, line) from None


@dataclass
class _Context:
    """What the option/device blocks of one trtexec invocation say."""

    status: str | None = None
    version_token: str | None = None
    build: str | None = None
    command: str | None = None
    has_banner: bool = False
    banner_line: int | None = None
    device: str | None = None
    version_line: str | None = None
    precision_line: str | None = None
    calibration: str | None = None
    max_batch: str | None = None
    batch_option: str | None = None
    streams: str | None = None
    cuda_graph: str | None = None
    data_transfers: str | None = None
    spin_wait: str | None = None
    model_line: str | None = None
    warmup: tuple | None = None
    trace: tuple | None = None
    inference_shapes: list = field(default_factory=list)
    build_shapes: list = field(default_factory=list)
    bindings: list = field(default_factory=list)
    no_summary_note: bool = False

    def feed(self, text: str) -> None:
        if not text.startswith(_CTX_STARTS):
            return
        for key, rx in _CTX.items():
            m = rx.match(text)
            if m:
                setattr(self, key, m.groups() if len(m.groups()) > 1 else m.group(1))
                return
        m = _INFER_SHAPE.match(text)
        if m:
            if m.group(1).strip().lower() != "model":
                self.inference_shapes += _parse_shape_list(m.group(1))
            return
        m = _BUILD_SHAPE.match(text)
        if m:
            if m.group(1).strip().lower() != "model":
                self.build_shapes += _parse_shape_list(m.group(1))
            return
        m = _BINDING.match(text)
        if m:
            name, dims = (m.group("a"), m.group("ad")) if m.group("a") else (m.group("b"), m.group("bd"))
            self.bindings.append((name, dims))
            return
        if _NO_SUMMARY.match(text):
            self.no_summary_note = True

    @property
    def flags(self) -> dict[str, str | None]:
        """Command-line flags of the banner, ``{name: value or None}``."""
        if not self.command:
            return {}
        return {m.group("name"): m.group("value") for m in _FLAG.finditer(self.command)}


def _parse_shape_list(text: str) -> list[tuple[str, str]]:
    """``"x:0=4x1x28x28,y=..."`` -> [(name, dims)]; names may hold ":" so split at the last "="."""
    out = []
    for item in re.split(r",(?=[^,=]*=)", text.strip()):
        if "=" in item:
            name, dims = item.rsplit("=", 1)
            out.append((name.strip(), dims.strip()))
    return out


def _first_dim(dims: str) -> int | None:
    """Leading dimension of ``"32x3x224x224"`` (or the opt of ``"1x3+32x3+64x3"``)."""
    part = dims.split("+")[1] if dims.count("+") == 2 else dims
    m = re.match(r"^\s*(\d+)", part)
    return int(m.group(1)) if m else None


@dataclass
class TrtexecRun:
    """One trtexec performance summary and the context it was run in.

    Attributes
    ----------
    stats : dict
        ``{"GPU Compute Time": {"min": .., "max": .., "mean": .., "median": ..,
        "p99": ..}, "Latency": {...}, ...}`` [ms] (trtexec's 8.x names; 7.x block layout
        is mapped onto them, "end to end" becomes "End-to-End Host Latency").
    throughput_printed : float
        The "qps" number as printed (samples/s for implicit batch) [1/s].
    """

    file: str
    line: int
    layout: str
    stats: dict[str, dict[str, float]] = field(default_factory=dict)
    throughput_printed: float | None = None
    walltime_s: float | None = None
    gpu_total_s: float | None = None
    cov_percent: float | None = None
    context: _Context = field(default_factory=_Context)
    md_section: str | None = None
    md_batch: int | None = None
    md_batch_conflict: bool = False
    engine_version: str | None = None
    model: str | None = None
    precision: str = "not stated"
    precision_raw: str | None = None
    batch: int | None = None
    batch_source: str | None = None
    implicit_batch: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def samples_per_s(self) -> float | None:
        """Throughput in samples/s, or None when unknown (no batch, or 0 qps)."""
        if not self.throughput_printed or self.throughput_printed <= 0:
            return None
        if self.implicit_batch:
            return self.throughput_printed
        return self.throughput_printed * self.batch if self.batch else None

    @property
    def inferences_per_s(self) -> float | None:
        """Throughput in inferences (batches) per second, or None when unknown."""
        if not self.throughput_printed or self.throughput_printed <= 0:
            return None
        if self.implicit_batch:
            return self.throughput_printed / self.batch if self.batch else None
        return self.throughput_printed


@dataclass
class TrtexecLog:
    """Everything parsed from one log: its runs and its per-layer profile tables."""

    file: str
    runs: list[TrtexecRun]
    layers: pd.DataFrame | None
    notes: list[str] = field(default_factory=list)
    n_layer_rows: int = 0
    lost: list[str] = field(default_factory=list)


class _Summary:
    """What both summary layouts track: statistics per metric, single values, the last line read."""

    def __init__(self, start: int, file: str):
        self.start, self.file = start, file
        self.stats: dict[str, dict[str, float]] = {}
        self.values: dict[str, float] = {}
        self.last_line = start

    def _consumed(self, line: int) -> str:
        self.last_line = line
        return "consumed"


class _OneLineSummary(_Summary):
    """State machine for the 8.0+ layout (one line per metric, ends at Total GPU Compute Time)."""

    layout = "8.x+"

    def feed(self, line: int, text: str) -> str:
        if text == "" or _HEAD.match(text):
            return "consumed" if text == "" or line == self.start else "ended"
        m = _TPUT.match(text)
        if m:
            if "throughput" in self.values:
                return "ended"
            self.values["throughput"] = _num(m.group(1), self.file, line, "throughput")
            return self._consumed(line)
        m = _STAT.match(text)
        if m:
            stats = {k: _num(m.group(k), self.file, line, m.group("metric"))
                     for k in ("min", "max", "mean", "median")}
            for p, v in _PCT.findall(m.group("pcts")):
                stats[f"p{_pct_label(p, self.file, line)}"] = _num(v, self.file, line, "percentile")
            self.stats[m.group("metric")] = stats
            return self._consumed(line)
        m = _WALL.match(text)
        if m:
            self.values["walltime"] = _num(m.group(1), self.file, line, "walltime")
            return self._consumed(line)
        m = _GTOT.match(text)
        if m:
            self.values["gpu_total"] = _num(m.group(1), self.file, line, "GPU total")
            self.last_line = line
            return "done"
        if _ONE_LINE_KEYS.match(text):
            raise ParseError(f"malformed performance-summary line: {text!r}", self.file, line)
        return "ended"

    def check(self, end_line: int, at_eof: bool = False) -> None:
        have = set(self.values) | set(self.stats)
        missing = [_LABELS.get(k, k) for k in _ONE_LINE_REQUIRED if k not in have]
        if missing:
            _incomplete(self.file, self.start, end_line, missing, at_eof)
        _check_finite(self.stats, self.file, self.start)

    def layout_name(self) -> str:
        if "End-to-End Host Latency" in self.stats:
            return "8.0-8.2"
        pcts = [k for k in self.stats.get("GPU Compute Time", {}) if k.startswith("p")]
        return "8.4" if pcts == ["p99"] else "8.5+"


class _BlockSummary(_Summary):
    """State machine for the 7.x layout (Host Latency / Enqueue Time / GPU Compute blocks)."""

    def __init__(self, start: int, file: str, heading: str):
        super().__init__(start, file)
        self.heading = heading
        self.block = _BLOCK_HEAD[heading]
        self.stats[self.block] = {}

    def feed(self, line: int, text: str) -> str:
        if text == "":
            return "consumed"
        if text in _BLOCK_HEAD and line != self.start:
            self.block = _BLOCK_HEAD[text]
            self.stats.setdefault(self.block, {})
            return self._consumed(line)
        if line == self.start:
            return "consumed"
        m = _BLOCK_STAT.match(text)
        if m:
            self.stats[self.block][m.group("stat")] = _num(m.group("v"), self.file, line, m.group("stat"))
            if m.group("e2e") is not None:
                self.stats.setdefault("End-to-End Host Latency", {})[m.group("stat")] = \
                    _num(m.group("e2e"), self.file, line, "end to end")
            return self._consumed(line)
        m = _BLOCK_PCT.match(text)
        if m:
            key = f"p{_pct_label(m.group('p'), self.file, line)}"
            self.stats[self.block][key] = _num(m.group("v"), self.file, line, "percentile")
            if m.group("e2e") is not None:
                self.stats.setdefault("End-to-End Host Latency", {})[key] = \
                    _num(m.group("e2e"), self.file, line, "end to end")
            return self._consumed(line)
        for key, rx in (("throughput", _BLOCK_TPUT), ("walltime", _BLOCK_WALL)):
            m = rx.match(text)
            if m:
                self.values[key] = _num(m.group(1), self.file, line, key)
                return self._consumed(line)
        m = _BLOCK_GTOT.match(text)
        if m:
            self.values["gpu_total"] = _num(m.group(1), self.file, line, "total compute time")
            self.last_line = line
            return "done"
        if _BLOCK_KEYS.match(text):
            raise ParseError(f"malformed performance-summary line: {text!r}", self.file, line)
        return "ended"

    def check(self, end_line: int, at_eof: bool = False) -> None:
        missing = [label for key, label in (("throughput", "throughput"), ("walltime", "walltime"),
                                            ("gpu_total", "total compute time"))
                   if key not in self.values]
        for block, title in (("Latency", "Host Latency"), ("GPU Compute Time", "GPU Compute")):
            have = self.stats.get(block, {})
            missing += [f"{title} {s}" for s in ("min", "max", "mean", "median") if s not in have]
        if missing:
            _incomplete(self.file, self.start, end_line, missing, at_eof)
        _check_finite(self.stats, self.file, self.start)

    def layout_name(self) -> str:
        return "7.0 blocks" if self.heading == "Host latency" else "7.1-7.2 blocks"


_LABELS = {"throughput": "Throughput", "walltime": "Total Host Walltime",
           "gpu_total": "Total GPU Compute Time"}


class _RunLost(ParseError):
    """One run of a log cannot give rows (its summary is cut, or it never reached one);
    the log's complete runs are kept when it has any."""


def _incomplete(file: str, start: int, end_line: int, missing: list[str], at_eof: bool) -> None:
    where = (f"the file ends at line {end_line}" if at_eof
             else f"it stops at line {end_line}")
    raise _RunLost(f"performance summary starting at line {start} is truncated: {where} "
                     f"without {', '.join(missing)}", file, end_line)


def _pct_label(p: str, file: str | None = None, line: int | None = None) -> str:
    """"99" -> "99", "99.9" -> "99.9" (labels of percentile keys).

    Raises
    ------
    ParseError
        A percentile outside (0, 100] (``percentile(inf%)``, ``percentile(-1%)``).
    """
    v = float(p)
    if not (math.isfinite(v) and 0 < v <= 100):
        raise ParseError(f"percentile {p!r}% is not in (0, 100]", file, line)
    return str(int(v)) if v == int(v) else str(v)


def _check_finite(stats: dict, file: str, line: int) -> None:
    median = stats.get("GPU Compute Time", {}).get("median")
    if median is None or not math.isfinite(median) or median <= 0:
        raise ParseError(f"GPU Compute Time median is {median!r}; expected a finite time > 0",
                         file, line)


class _Markdown:
    """Heading context of README excerpts: section path and a "Batch Size N" hint."""

    def __init__(self) -> None:
        self.stack: list[tuple[int, str]] = []
        self.batch: int | None = None
        self.in_code = False
        self.seen: set[tuple[str, int]] = set()

    def feed(self, text: str) -> None:
        if not text.startswith(("`", "#")):
            return
        if text.startswith("```"):
            self.in_code = not self.in_code
            return
        if self.in_code:
            return
        m = _MD_HEADING.match(text)
        if not m:
            return
        level, title = len(m.group(1)), m.group(2).strip()
        b = _MD_BATCH.search(title)
        if b:
            self.batch = int(b.group(1))
            return
        self.stack = [(lv, t) for lv, t in self.stack if lv < level] + [(level, title)]
        self.batch = None

    @property
    def section(self) -> str | None:
        return " > ".join(t for _, t in self.stack) or None

    def claim(self) -> tuple[int | None, bool]:
        """Batch hint for a summary; a second summary under the same heading is a conflict."""
        if self.batch is None:
            return None, False
        key = (self.section or "", self.batch)
        if key in self.seen:
            return None, True
        self.seen.add(key)
        return self.batch, False


# Literal starts of every line the main loop acts on (outside a summary): markdown fences
# and headings, summary heads and lines, profile tables, context lines.
_LINE_STARTS = (("`", "#", "=== ", "Throughput: ", "Host Latency", "Host latency",
                 "Total GPU Compute Time: ") + tuple(f"{k}: " for k in _STAT_KEYS) + _CTX_STARTS)
# The same lines as one pattern (after the "[date] [I] [TRT]" prefix), plus banners and
# the CoV note; a superset of what the loop acts on, so jumping between matches is exact.
_CANDIDATE = re.compile(r"\s*(?:\[[^\]]*\]\s*)*(?:&&&& |" + "|".join(re.escape(s) for s in _LINE_STARTS)
                        + r")|.*coefficient of variance")
# Blank space long enough to hold many blank lines, starting at a line end: a literal
# first character lets the regex engine skip to candidates at C speed, and one character
# class follows (a grouped "(?:[ \t]*\n){64,}" costs ~250 ns per line).
_BLANK_RUN_LF = re.compile(r"\n[ \t\r\n]{127,}")
_BLANK_RUN_CR = re.compile(r"\r[ \t\r]{127,}")  # CR-only files (no "\n" at all)


_LINE_ENDS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # what str.splitlines() splits at


def _breaks(s: str) -> int:
    """Line ends in `s` ("\r\n" counts once)."""
    return s.count("\n") + s.count("\r") - s.count("\r\n")


def _split_lines(text: str) -> tuple[list[str], Callable[[int], int], int]:
    """Lines of `text` (as :meth:`str.splitlines`), ``line_of(index) -> 1-based line``, and
    the number of lines of `text`.

    A long stretch of blank lines is kept as one blank line (everywhere in the parser a
    run of blank lines acts as one), so that a file of 50 million blank lines costs one
    regex pass; ``line_of`` still gives the line number in the original text. Trailing
    blanks of the line before a stretch are dropped (the parser strips them anyway).
    """
    finder = _BLANK_RUN_LF if "\n" in text else _BLANK_RUN_CR
    runs = []
    for m in finder.finditer(text):
        start = m.start()
        if start and text[start - 1] == "\r":
            start -= 1  # the "\r" of a CRLF belongs to the stretch
        if _breaks(text[start:m.end()]) >= 3:
            runs.append((start, m.end()))
    if not runs:
        lines = text.splitlines()
        return lines, lambda i: i + 1, len(lines)
    pieces, starts, removed = [], [], []
    pos, dropped, n_lines, lead = 0, 0, 0, ""
    for start, end in runs:
        run = text[start:end]
        last = max(run.rfind("\n"), run.rfind("\r"))
        segment = lead + text[pos:start]
        breaks = _breaks(run)
        if segment and segment[-1] not in _LINE_ENDS:
            segment += "\n"  # the stretch's first line end ends this line
            breaks -= 1
        # `segment` ends with a line end (or is empty): its splitlines() count is exact.
        # ...and one blank line stands for `breaks` of them ("\r" after a "\r": a "\n"
        # there would join it into one CRLF)
        pieces += [segment, "\r" if segment.endswith("\r") else "\n"]
        n_lines += len(segment.splitlines()) + 1
        dropped += breaks - 1
        starts.append(n_lines)
        removed.append(dropped)
        lead = run[last + 1:]  # leading blanks of the line after the stretch
        pos = end
    pieces.append(lead + text[pos:])
    lines = "".join(pieces).splitlines()

    def line_of(i: int) -> int:
        k = bisect.bisect_right(starts, i)
        return i + 1 + (removed[k - 1] if k else 0)

    return lines, line_of, len(lines) + dropped



def parse_trtexec_text(text: str, *, file: str = "<string>", batch: int | None = None,
                       layers: bool = True) -> TrtexecLog:
    """Parse the text of a trtexec log (any TensorRT version 7.x-11.x).

    Parameters
    ----------
    text : str
        Whole log, possibly several concatenated invocations, or a README excerpt of
        summaries without the ``[date] [I]`` prefix.
    file : str
        Name used in errors and in the ``file`` column.
    batch : int, optional
        Batch size to use where the log does not reveal it [samples].
    layers : bool
        Build the per-layer profile frame (``TrtexecLog.layers``); with False it is None
        and only ``n_layer_rows`` counts the rows (the measurement reader needs no more).

    Returns
    -------
    TrtexecLog
        The runs (one per performance summary) and the per-layer profile tables.

    Raises
    ------
    ParseError
        A summary has a non-numeric value; or a summary is cut short, or the log ends (or
        fails) before any summary although a run was started, and the log has no complete
        run. A log with complete runs keeps them: the cut or failed runs are listed in
        ``TrtexecLog.lost`` (the readers warn with a :class:`~plaster_model.ParseWarning`
        naming each); the message names file and line.
    """
    lost: list[ParseError] = []  # runs cut short or failed: kept out, the others kept
    try:
        return _parse_log(text, file, batch, layers, lost)
    except _RunLost:
        raise
    except ParseError:
        if lost:  # the first problem in the file: a run cut before this error
            raise lost[0] from None
        raise


def _parse_log(text: str, file: str, batch: int | None, layers: bool,
               lost: list[ParseError]) -> TrtexecLog:
    lines, line_of, total_lines = _split_lines(text)
    # Indices of the lines the loop acts on outside a summary, found at C speed: between
    # them it jumps (a 50 MB file of junk costs a split and a regex pass, not a Python
    # iteration per line).
    candidates = list(itertools.compress(range(len(lines)), map(_CANDIDATE.match, lines)))
    ctx, md = _Context(), _Markdown()
    runs: list[TrtexecRun] = []
    layer_records: list[dict[str, Any]] = []
    summary: _OneLineSummary | _BlockSummary | None = None
    segment_runs, segment_cut = 0, False
    i = 0
    n_lines = len(lines)
    while i < n_lines:
        if summary is None:
            k = bisect.bisect_left(candidates, i)
            i = candidates[k] if k < len(candidates) else n_lines
            if i >= n_lines:
                break
        lineno, raw = line_of(i), lines[i]
        if summary is None and "] [V] " in raw[:48] and raw.lstrip().startswith("["):
            # A verbose line ("[date] [V] [TRT] ..."): most of a --verbose log, never data.
            i += 1
            continue
        # the hot path of a long log: strip the "[date] [I] [TRT]" prefix and note whether
        # the last severity tag is [V].
        if raw.startswith(("[", " ", "\t")):
            end = _PREFIX.match(raw).end()
            body = raw[end:].rstrip()
            verbose = "[V]" in raw[:end] and _SEV.findall(raw, 0, end)[-1] == "V"
        else:
            body, verbose = raw.rstrip(), False
        if summary is not None:
            state = summary.feed(lineno, body)
            if state == "consumed":
                i += 1
                continue
            if state == "done":
                made = _finish(summary, lineno, False, ctx, md, file, batch, runs, lost)
                segment_runs, segment_cut = segment_runs + made, segment_cut or not made
                summary = None
                i += 1
                continue
            made = _finish(summary, summary.last_line + 1, False, ctx, md, file, batch, runs, lost)
            segment_runs, segment_cut = segment_runs + made, segment_cut or not made
            summary = None
        m = _BANNER.match(body)
        if m:
            if m.group("status") == "RUNNING":
                _segment_end(ctx, segment_runs or segment_cut, file, lineno - 1, lost)
                ctx, segment_runs, segment_cut = _Context(), 0, False
                ctx.has_banner, ctx.banner_line = True, lineno
                ctx.version_token, ctx.build, ctx.command = m.group("ver"), m.group("build"), m.group("cmd")
            ctx.status = m.group("status")
            i += 1
            continue
        if verbose:
            i += 1
            continue
        if not (body.startswith(_LINE_STARTS) or "coefficient of variance" in body):
            i += 1  # none of the lines below: skip their sixteen regular expressions
            continue
        md.feed(body)
        if _HEAD.match(body) or _TPUT.match(body):
            summary = _OneLineSummary(lineno, file)
            continue  # re-feed this line to the summary
        if body in ("Host Latency", "Host latency"):
            summary = _BlockSummary(lineno, file, body)
            i += 1
            continue
        if _STAT.match(body) or _GTOT.match(body):
            raise ParseError(f"performance-summary line outside a summary (no Throughput line "
                             f"before it): {body!r}", file, lineno)
        m = _PROFILE_HEAD.match(body)
        if m:
            table, i = _parse_profile_table(lines, i, int(m.group(1)), file)
            layer_records += table
            continue
        m = _COV.search(body)
        if m and runs and segment_runs:
            runs[-1].cov_percent = float(m.group(1))
            runs[-1].notes.append(f"GPU compute time CoV {float(m.group(1)):.3g} %")
        ctx.feed(body)
        i += 1
    if summary is not None:
        made = _finish(summary, total_lines, True, ctx, md, file, batch, runs, lost)
        segment_runs, segment_cut = segment_runs + made, segment_cut or not made
    # a segment whose summary was cut is reported once (its summary), not again at its end
    _segment_end(ctx, segment_runs or segment_cut, file, total_lines, lost)
    if lost and not runs:
        raise lost[0]
    frame = None
    if layers:
        frame = layer_frame(layer_records) if layer_records else empty_layer_profile()
    return TrtexecLog(file=file, runs=runs, layers=frame, n_layer_rows=len(layer_records),
                      lost=[str(e) for e in lost])


def _finish(summary, end_line: int, at_eof: bool, ctx: _Context, md: _Markdown, file: str,
            batch: int | None, runs: list[TrtexecRun], lost: list[ParseError]) -> int:
    """Close a summary: 1 when it became a run, 0 when it was cut (noted in `lost`)."""
    try:
        summary.check(end_line, at_eof=at_eof)
    except _RunLost as exc:
        lost.append(exc)
        return 0
    runs.append(_make_run(summary, ctx, md, file, batch))
    return 1


def _segment_end(ctx: _Context, n_runs: int, file: str, last_line: int,
                 lost: list[ParseError]) -> None:
    try:
        _check_segment_end(ctx, n_runs, file, last_line)
    except _RunLost as exc:
        lost.append(exc)


def _check_segment_end(ctx: _Context, n_runs: int, file: str, last_line: int) -> None:
    """A started invocation without a summary: fine if it passed (build-only, profiler on)."""
    if not ctx.has_banner or n_runs:
        return
    if ctx.status == "FAILED":
        raise _RunLost("trtexec run failed (&&&& FAILED) before any performance summary",
                         file, last_line)
    if ctx.status == "RUNNING" and not ctx.no_summary_note:
        raise _RunLost("log ends before the performance summary (truncated? no &&&& PASSED "
                         f"for the run started at line {ctx.banner_line})", file, max(last_line, 1))


def _make_run(summary, ctx: _Context, md: _Markdown, file: str, batch: int | None) -> TrtexecRun:
    md_batch, conflict = md.claim()
    run = TrtexecRun(file=file, line=summary.start, layout=summary.layout_name(),
                     stats=summary.stats, throughput_printed=summary.values.get("throughput"),
                     walltime_s=summary.values.get("walltime"),
                     gpu_total_s=summary.values.get("gpu_total"),
                     context=_snapshot(ctx), md_section=md.section, md_batch=md_batch,
                     md_batch_conflict=conflict)
    _resolve(run, batch)
    _check_consistent(run)
    return run


#: Slack of the throughput-latency consistency check: the numbers are printed to 4-6
#: significant digits and the host and GPU clocks differ; real logs stay below 1.0
#: (qps x min GPU time is 0.62-0.997 over the 45 runs of the shared samples).
_CONSISTENCY_SLACK = 1.05


def _concurrency(ctx: _Context) -> int:
    """Inferences that may run at once: streams (or threads) the run was given, at least 1."""
    values = [ctx.streams, ctx.flags.get("streams"), ctx.flags.get("infStreams"), ctx.flags.get("threads")]
    return max([int(v) for v in values if v and str(v).isdigit()] + [1])


def _check_consistent(run: TrtexecRun) -> None:
    """Refuse a summary whose throughput the GPU could not have given.

    With ``k`` concurrent streams, ``qps`` inferences per second each taking at least the
    minimum GPU compute time ``t_min`` keep the GPU busy ``qps * t_min <= k`` of the time,
    and the GPU time summed over the trace cannot exceed ``k`` times the wall time.
    """
    check_gpu_busy(run.inferences_per_s, run.stats.get("GPU Compute Time", {}).get("min"),
                   _concurrency(run.context), run.gpu_total_s, run.walltime_s, run.file, run.line,
                   printed=run.throughput_printed)


def check_gpu_busy(qps: float | None, gpu_min_ms: float | None, streams: int,
                   gpu_total_s: float | None, walltime_s: float | None, file: str,
                   line: int | None, printed: float | None = None) -> None:
    """Refuse a throughput the GPU could not have given (every trtexec summary, text or trex).

    With ``k`` concurrent streams, ``qps`` inferences per second each taking at least
    ``t_min`` keep the GPU busy ``qps * t_min <= k`` of the time, and the GPU time summed
    over the trace cannot exceed ``k`` times the wall time (both with
    :data:`_CONSISTENCY_SLACK` for printed rounding).

    Raises
    ------
    ParseError
        Naming the throughput (or the total GPU time) and the bound it breaks.
    """
    k = max(int(streams), 1) * _CONSISTENCY_SLACK
    if (qps is not None and gpu_min_ms is not None and math.isfinite(gpu_min_ms)
            and qps * gpu_min_ms / 1000.0 > k):
        shown = qps if printed is None else printed
        raise ParseError(f"throughput {shown!r} qps is impossible with a minimum GPU "
                         f"compute time of {gpu_min_ms!r} ms ({qps * gpu_min_ms / 1000.0:.3g} "
                         f"inferences at once; at most {max(int(streams), 1)} stream(s))", file, line)
    if walltime_s and gpu_total_s and gpu_total_s > walltime_s * k:
        raise ParseError(f"total GPU compute time {gpu_total_s!r} s exceeds the host wall time "
                         f"{walltime_s!r} s", file, line)


def _snapshot(ctx: _Context) -> _Context:
    """A copy of `ctx` that later lines cannot change (its lists copied; ~20x a deepcopy)."""
    out = copy.copy(ctx)
    out.inference_shapes, out.build_shapes = list(ctx.inference_shapes), list(ctx.build_shapes)
    out.bindings = list(ctx.bindings)
    return out


def _resolve(run: TrtexecRun, batch_arg: int | None) -> None:
    """Fill version, model, precision and batch from the run's context."""
    ctx = run.context
    if ctx.version_line:
        run.engine_version = decode_trt_version(ctx.version_line)
    elif ctx.version_token:
        run.engine_version = decode_trt_version(ctx.version_token)
    elif ctx.has_banner:
        run.engine_version = "7.x"  # only TRT 7 prints a banner without a version token
        run.notes.append(f"TensorRT version not printed; report layout {run.layout}")
    if ctx.build:
        run.notes.append(f"TensorRT build b{ctx.build}")
    run.model = _model_name(ctx)
    run.precision, run.precision_raw = _precision(ctx)
    _resolve_batch(run, batch_arg)
    _context_notes(run)


def _model_name(ctx: _Context) -> str | None:
    flags = ctx.flags
    path = next((flags[f] for f in _MODEL_FLAGS if flags.get(f)), None) or ctx.model_line
    if not path:
        return None
    name = re.split(r"[\\/]", path.strip().strip("'\""))[-1]
    for suffix in _MODEL_SUFFIXES:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return name or None


def _precision(ctx: _Context) -> tuple[str, str | None]:
    """Normalized precision and its raw text: flags, then the "Precision:" line."""
    flags = [f for f in ctx.flags if f.lower() in ("fp16", "int8", "best", "bf16", "fp8")]
    from_flags = precision_from_flags(flags)
    if from_flags:
        return from_flags, " ".join(f"--{f}" for f in flags)
    if ctx.precision_line:
        return precision_from_text(ctx.precision_line), ctx.precision_line
    if ctx.has_banner and "loadEngine" in ctx.flags:
        return "not stated", "(engine loaded with --loadEngine; build precision not in log)"
    if ctx.has_banner:
        return "fp32", "(no precision flag)"
    return "not stated", None


def _resolve_batch(run: TrtexecRun, batch_arg: int | None) -> None:
    ctx, flags = run.context, run.context.flags
    major = _major_version(run.engine_version)
    explicit = (str(ctx.batch_option).lower() == "explicit"
                or str(ctx.max_batch).lower().startswith("explicit")
                or "shapes" in flags
                or (major is not None and major >= 10))  # implicit batch was removed in 10.0
    implicit_n = None
    if not explicit:
        for source, value in (("--batch", flags.get("batch")), ("Batch option", ctx.batch_option),
                              ("Max batch", ctx.max_batch)):
            if value and str(value).isdigit():
                implicit_n = (int(value), source)
                break
    # "Batch: 1" of an ONNX engine is ambiguous (tensorrt.md §1.3): trust shapes then.
    if implicit_n and not (implicit_n[0] == 1 and implicit_n[1] != "--batch"
                           and (ctx.bindings or ctx.inference_shapes)):
        run.implicit_batch = True
        run.batch, run.batch_source = implicit_n[0], f"{implicit_n[1]} (implicit batch)"
        return
    candidates = [
        ("input binding", ctx.bindings[0][1] if ctx.bindings else None),
        ("Input inference shape", ctx.inference_shapes[0][1] if ctx.inference_shapes else None),
        ("--shapes", _flag_shape(flags.get("shapes"))),
        ("opt build shape", ctx.build_shapes[0][1] if ctx.build_shapes else None),
    ]
    for source, dims in candidates:
        n = _first_dim(dims) if dims else None
        if n:
            run.batch, run.batch_source = n, source
            return
    if run.md_batch:
        run.batch, run.batch_source = run.md_batch, "markdown heading"
    elif run.md_batch_conflict:
        run.notes.append("batch unknown: a second summary under the same 'Batch Size' heading")
    if run.batch is None and batch_arg:
        run.batch, run.batch_source = int(batch_arg), "batch argument"


def _major_version(version: str | None) -> int | None:
    m = re.match(r"^(\d+)\.", version or "")
    return int(m.group(1)) if m else None


def _flag_shape(value: str | None) -> str | None:
    """Dims of the first tensor in ``--shapes=x:0:4x1x28x28,...`` (name may hold ":")."""
    if not value:
        return None
    first = value.split(",")[0]
    return first.rsplit(":", 1)[-1] if ":" in first else first


def _context_notes(run: TrtexecRun) -> None:
    ctx, notes = run.context, run.notes
    if run.batch:
        notes.append(f"batch {run.batch} from {run.batch_source}")
    if run.implicit_batch:
        notes.append("implicit batch: printed qps counts samples")
    if run.throughput_printed is not None and run.throughput_printed <= 0:
        notes.append("throughput reported as 0 qps (TRT 7 explicit-batch quirk): not used")
    if ctx.streams and ctx.streams.isdigit() and int(ctx.streams) > 1:
        notes.append(f"{ctx.streams} inference streams: latencies overlap")
    if ctx.cuda_graph == "Enabled" or "useCudaGraph" in ctx.flags:
        notes.append("CUDA graph")
    if ctx.data_transfers == "Disabled" or "noDataTransfers" in ctx.flags:
        notes.append("data transfers disabled")
    if ctx.spin_wait == "Enabled" or "useSpinWait" in ctx.flags:
        notes.append("spin-wait")
    if run.precision == "int8" and ctx.calibration:
        notes.append(f"INT8 calibration: {ctx.calibration}")
    if ctx.trace:
        notes.append(f"{ctx.trace[0]} queries over {ctx.trace[1]} s")
    if run.md_section:
        notes.append(f"section: {run.md_section}")


def runs_to_records(runs: list[TrtexecRun]) -> list[dict[str, Any]]:
    """Measurement rows (``throughput_img_s`` and ``latency_ms``) for trtexec runs, as dicts."""
    records: list[dict[str, Any]] = []
    for run in runs:
        base = _run_columns(run)
        tput = run.samples_per_s
        if tput:
            records.append({**base, "metric": "throughput_img_s", "value": tput})
        records.append({**base, "metric": "latency_ms",
                        "value": run.stats["GPU Compute Time"]["median"]})
    return records


def runs_to_frame(runs: list[TrtexecRun]) -> pd.DataFrame:
    """Measurement rows (``throughput_img_s`` and ``latency_ms``) for trtexec runs."""
    return frame_from_records(runs_to_records(runs))


def _run_columns(run: TrtexecRun) -> dict[str, Any]:
    gpu = run.stats.get("GPU Compute Time", {})
    host = run.stats.get("Latency", {})
    std = run.cov_percent / 100.0 * gpu["mean"] if run.cov_percent is not None and "mean" in gpu else None
    detail = f"{os.path.basename(run.file)} line {run.line}"
    if run.md_section:
        detail += f" ({run.md_section})"
    return {
        "source": "trtexec log", "source_detail": detail, "model": run.model,
        "framework": "TensorRT", "device": run.context.device, "device_raw": run.context.device,
        "n_devices": 1, "devices_per_node": 1, "precision": run.precision,
        "precision_raw": run.precision_raw, "batch_per_device": run.batch, "phase": "inference",
        "notes": "; ".join(run.notes) or None, "engine_version": run.engine_version,
        "latency_mean_ms": gpu.get("mean"), "latency_median_ms": gpu.get("median"),
        "latency_min_ms": gpu.get("min"), "latency_max_ms": gpu.get("max"),
        "latency_p90_ms": gpu.get("p90"), "latency_p95_ms": gpu.get("p95"),
        "latency_p99_ms": gpu.get("p99"), "latency_std_ms": std,
        "host_latency_mean_ms": host.get("mean"), "host_latency_median_ms": host.get("median"),
        "h2d_mean_ms": run.stats.get("H2D Latency", {}).get("mean"),
        "d2h_mean_ms": run.stats.get("D2H Latency", {}).get("mean"),
        "enqueue_mean_ms": run.stats.get("Enqueue Time", {}).get("mean"),
        "throughput_qps": run.inferences_per_s, "file": run.file, "line": run.line,
    }


def _parse_profile_table(lines: list[str], i: int, iterations: int, file: str
                         ) -> tuple[list[dict[str, Any]], int]:
    """Parse a ``--dumpProfile`` table starting at ``lines[i]``; return it and the next index."""
    records, new_layout, has_median = [], True, True
    j = i + 1
    while j < len(lines):
        text = _KNOWN_PREFIX.sub("", lines[j], count=1).rstrip()
        if not text.strip():
            if records:
                break
            j += 1
            continue
        if "Layer" in text and "Time" in text and not records:
            new_layout = not text.strip().startswith("Layer")
            has_median = "Median" in text
            j += 1
            continue
        rec = _profile_row(text, new_layout, has_median)
        if rec is None:
            break
        j += 1
        if rec["layer"] == "Total":
            break
        records.append({**rec, "count": iterations, "file": file})
    return records, j


def _profile_row(text: str, new_layout: bool, has_median: bool) -> dict[str, Any] | None:
    if new_layout:
        m = _PROFILE_ROW_NEW.match(text)
        if not m:
            return None
        _, avg, med, pct = (float(g) for g in m.groups()[:4])
        return {"layer": m.group("name"), "time_ms_mean": avg, "time_ms_median": med, "percent": pct}
    m = (_PROFILE_ROW_OLD4 if has_median else _PROFILE_ROW_OLD3).match(text)
    if not m:
        return None
    nums = [float(g) for g in m.groups()[1:]]
    med = nums[2] if has_median else float("nan")
    return {"layer": m.group("name").strip(), "time_ms_mean": nums[1], "time_ms_median": med,
            "percent": nums[-1]}


@only_parse_errors("trtexec log")
def read_trtexec_log(path: str | os.PathLike, *, batch: int | None = None) -> pd.DataFrame:
    """Read a trtexec text log into measurement rows.

    Parameters
    ----------
    path : str or path-like
        The log (any extension: ``.log``, ``.txt``, a ``.md`` excerpt).
    batch : int, optional
        Batch size [samples] for runs whose log does not reveal it.

    Returns
    -------
    pandas.DataFrame
        Two rows per run (``throughput_img_s``, ``latency_ms``; only ``latency_ms`` when
        samples/s cannot be computed), in :data:`~.schema.MEASUREMENT_COLUMNS`.
        ``df.attrs["n_runs"]`` and ``df.attrs["n_layers"]`` count what was found.
    """
    records, n_layers = trtexec_log_records(path, batch=check_batch(batch))
    df = checked_frame(records, str(path))
    df.attrs["n_runs"] = sum(r["metric"] == "latency_ms" for r in records)
    df.attrs["n_layers"] = n_layers
    return df


def trtexec_log_records(path: str | os.PathLike, *, batch: int | None = None
                        ) -> tuple[list[dict[str, Any]], int]:
    """The rows of :func:`read_trtexec_log` as dicts, and the number of per-layer rows.

    :func:`~plaster_model.io.readers.read.read_measurements` builds one frame from the
    records of all its files (one schema conversion per call, not per file).
    """
    log = parse_trtexec_text(read_text(path), file=str(path), batch=batch, layers=False)
    for why in log.lost:
        warnings.warn(f"{why}; kept the {len(log.runs)} complete run(s) of the log", ParseWarning,
                      stacklevel=2)
    return runs_to_records(log.runs), log.n_layer_rows


@only_parse_errors("trtexec log")
def read_trtexec_layer_profile(path: str | os.PathLike) -> pd.DataFrame:
    """Per-layer table(s) printed by ``--dumpProfile`` in a trtexec log.

    Returns
    -------
    pandas.DataFrame
        :data:`~.schema.LAYER_PROFILE_COLUMNS`; times are per inference [ms], ``percent`` is
        the layer's share of the profiled total [%], ``count`` the profiled iterations.
    """
    return parse_trtexec_text(read_text(path), file=str(path)).layers
