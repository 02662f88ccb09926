"""Reader for NeuSight's per-model latency labels (``per_model_latency/neusight_labels.csv``).

NeuSight (Lee, Phanishayee, Mahajan, ASPLOS 2025; ``sitar-lab/NeuSight``, MIT licence)
measured whole Hugging Face transformer models on ten GPUs: one forward pass (inference) or
forward + backward without an optimizer step (training), in milliseconds, at fp32. Its label
table has its own columns::

    source, source_detail, model, model_config, device, device_key, phase, batch, seq_len,
    precision, n_devices, parallel, parallel_degree, execution, metric, value,
    forward_ms, backward_ms, num_layers, notes

Each record becomes one row of the measurement schema (:data:`~.schema.MEASUREMENT_COLUMNS`):

=====================  ==================================================================
schema column          from
=====================  ==================================================================
``model``              the zoo model of the same architecture (:data:`NEUSIGHT_MODELS`:
                       ``BERT-Large`` -> ``BERT-large``, ``GPT2-Large`` -> ``GPT-2 large``,
                       ``GPT3-XL`` -> ``GPT3-XL (NeuSight config)``, ...), else NeuSight's
                       name (SwitchTrans-XL4, which no TransformerConfig expresses),
                       with ``model_raw`` and ``model_config`` kept
``framework``          ``"PyTorch (<execution>)"``: the labels ran PyTorch eager, under
                       ``torch.compile``, or Megatron-LM via accelerate
``device``             the name ``torch.cuda.get_device_name()`` reported (also in
                       ``device_raw``); :func:`~.normalize.normalize_names` maps it
``n_devices``          ``n_devices``; ``devices_per_node`` equals it (the 4-GPU runs
                       ran as four processes on one machine)
``batch_per_device``   ``batch`` for one GPU, tensor or pipeline parallelism (every rank sees
                       the whole batch); ``batch / degree`` for data parallelism (the
                       4-GPU rows' ``batch`` is the global batch)
``seq_len``            tokens per sequence
``data_parallel``,     the ``parallel`` kind (``DP``/``TP``/``PP``) and its degree, 1 for
``tensor_parallel``,   the others
``pipeline_parallel``
``execution``          ``eager``, ``torch.compile`` or ``Megatron-LM via accelerate``
``metric``, ``value``  ``latency_ms`` [ms per batch]
=====================  ==================================================================

``forward_ms``, ``backward_ms``, ``num_layers`` and ``device_key`` follow as extra columns.
The interconnect of the 4-GPU machine is not stated and stays empty.

NeuSight's device table (``neusight_devices.csv``: ``device_key, Dev_Mem_GB, Mem_Bw_GBps,
...``) holds the GPUs' specifications, not measurements: :func:`sniff_neusight` recognises it
and :func:`~.read.read_measurements` lists it under ``attrs["skipped"]`` with that reason.
"""
from __future__ import annotations

import csv
import io
import math
import os

import pandas as pd

from .normalize import precision_from_text
from .schema import (ParseError, conform, only_parse_errors, read_text, row_problems)

__all__ = ["NEUSIGHT_MODELS", "NEUSIGHT_LABEL_COLUMNS", "SPEC_TABLE_REASON", "sniff_neusight",
           "parse_neusight_labels", "read_neusight_labels"]

#: NeuSight model name -> zoo model of the same architecture (layers, width, heads, vocabulary:
#: ``neusight_models.yaml`` against ``model_zoo.yaml``). The others keep NeuSight's name.
NEUSIGHT_MODELS: dict[str, str] = {
    "BERT-Large": "BERT-large",     # 24 layers, hidden 1024, 16 heads, vocab 30522
    "GPT2-Large": "GPT-2 large",    # 36 layers, n_embd 1280, 20 heads, vocab 50257
    "GPT3-2.7B": "GPT-3 2.7B",      # 32 layers, n_embd 2560, 32 heads, vocab 50257
    # NeuSight's GPT3-XL is 24 layers of n_embd 3072 (not GPT-3 1.3B's 2048, which the name
    # "GPT3-XL" would otherwise resolve to): its own zoo entry
    "GPT3-XL": "GPT3-XL (NeuSight config)",
    "OPT-1.3B": "OPT-1.3B",         # 24 layers, hidden 2048, 32 heads, ffn 8192, vocab 50272
}

#: Columns that identify a NeuSight label table (its header holds all of them).
NEUSIGHT_LABEL_COLUMNS = ("source", "model", "device", "device_key", "phase", "batch", "seq_len",
                          "precision", "n_devices", "parallel", "parallel_degree", "execution",
                          "metric", "value")
#: Columns that identify NeuSight's device specification table.
_DEVICE_TABLE_COLUMNS = ("device_key", "Dev_Mem_GB", "Mem_Bw_GBps")

#: Start of the reason a specification table is skipped with (read_measurements lists files
#: whose reason starts with it under ``attrs["skipped"]``, not as failures).
SPEC_TABLE_REASON = "not measurements"

_PARALLEL = {"dp": "data_parallel", "tp": "tensor_parallel", "pp": "pipeline_parallel"}


def _header(head: str) -> list[str]:
    first = head.split("\n", 1)[0]
    return [f.strip().strip('"') for f in first.split(",")]


def sniff_neusight(head: str) -> str | None:
    """``"neusight_labels"``, ``"neusight_devices"`` or None, from a file's first line.

    >>> sniff_neusight("device,device_key,Dev_Mem_GB,Mem_Bw_GBps,Num_Sm\\n")
    'neusight_devices'
    >>> sniff_neusight("source,model,metric,value\\n") is None
    True
    """
    fields = set(_header(head))
    if set(NEUSIGHT_LABEL_COLUMNS) <= fields:
        return "neusight_labels"
    if set(_DEVICE_TABLE_COLUMNS) <= fields and "value" not in fields:
        return "neusight_devices"
    return None


def spec_table_error(path) -> ParseError:
    """The error a device specification table is refused with (skipped by a folder read)."""
    return ParseError(f"{SPEC_TABLE_REASON}: NeuSight's GPU specification table (memory, bandwidth, "
                      "SMs, clocks, peak FLOP/s per device_key), the inputs of its predictor; "
                      "the measured latencies are in neusight_labels.csv", os.fspath(path), None)


def _num(text: str, column: str, file: str, line: int) -> float:
    t = (text or "").strip()
    if not t:
        return math.nan
    try:
        return float(t)
    except ValueError:
        raise ParseError(f"column {column!r}: non-numeric value {text!r}", file, line) from None


def parse_neusight_labels(text: str, *, file: str = "<string>") -> pd.DataFrame:
    """Parse NeuSight label CSV text into measurement rows (see the module table).

    Parameters
    ----------
    text : str
        The CSV text.
    file : str
        Name for messages and the ``file`` column.

    Returns
    -------
    pandas.DataFrame
        :data:`~.schema.MEASUREMENT_COLUMNS` plus ``model_raw``, ``model_config``,
        ``device_key``, ``forward_ms``, ``backward_ms``, ``num_layers``.

    Raises
    ------
    ParseError
        A header without NeuSight's columns, a record with the wrong number of fields, a
        non-numeric number, an unknown ``parallel`` kind, or a value that breaks the schema.

    Examples
    --------
    >>> csv_text = ("source,model,model_config,device,device_key,phase,batch,seq_len,precision,"
    ...             "n_devices,parallel,parallel_degree,execution,metric,value\\n"
    ...             "NeuSight,GPT2-Large,gpt2_large.json,NVIDIA A100-SXM4-40GB,k,training,4,1024,fp32,"
    ...             "4,DP,4,Megatron-LM via accelerate,latency_ms,452.3\\n")
    >>> row = parse_neusight_labels(csv_text).iloc[0]
    >>> row["model"], float(row["batch_per_device"]), float(row["data_parallel"]), row["framework"]
    ('GPT-2 large', 1.0, 4.0, 'PyTorch (Megatron-LM via accelerate)')
    """
    try:
        reader = csv.reader(io.StringIO(text))
        header = [h.strip() for h in next(reader, [])]
        missing = [c for c in NEUSIGHT_LABEL_COLUMNS if c not in header and c != "source"]
        if missing:
            raise ParseError(f"NeuSight label header lacks column(s) {missing}", file, 1)
        rows = []
        start = reader.line_num + 1
        for record in reader:
            line, start = start, reader.line_num + 1
            if not any(f.strip() for f in record):
                continue
            if len(record) != len(header):
                raise ParseError(f"{len(record)} fields, header has {len(header)}", file, line)
            rows.append(_row(dict(zip(header, record)), file, line))
    except csv.Error as exc:
        raise ParseError(f"malformed CSV: {exc}", file, None) from None
    df = conform(pd.DataFrame(rows))
    problems = row_problems(df)
    if problems:
        exc = problems[0]
        line = int(df.at[exc.row, "line"]) if exc.row in df.index else None
        raise ParseError(f"column {exc.column!r}: bad value {exc.value!r} ({exc.reason})", file, line)
    return df


def _row(rec: dict, file: str, line: int) -> dict:
    text = lambda k: (rec.get(k) or "").strip() or None  # noqa: E731
    name = text("model")
    batch = _num(rec.get("batch", ""), "batch", file, line)
    n_dev = _num(rec.get("n_devices", ""), "n_devices", file, line)
    kind = (text("parallel") or "none").lower()
    degree = _num(rec.get("parallel_degree", ""), "parallel_degree", file, line)
    degrees = {"data_parallel": 1.0, "tensor_parallel": 1.0, "pipeline_parallel": 1.0}
    if kind != "none":
        if kind not in _PARALLEL:
            raise ParseError(f"column 'parallel': unknown kind {rec.get('parallel')!r} "
                             "(expected none, DP, TP or PP)", file, line)
        if not (degree >= 1):
            raise ParseError(f"column 'parallel_degree': {rec.get('parallel_degree')!r} for a "
                             f"{kind.upper()} run (expected a positive integer)", file, line)
        degrees[_PARALLEL[kind]] = degree
    execution = text("execution")
    # data parallelism splits the global batch over the replicas; tensor and pipeline
    # parallelism (one micro-batch) give every rank the whole batch
    per_device = batch / degrees["data_parallel"]
    return {
        "source": text("source") or "NeuSight labels",
        "source_detail": text("source_detail"),
        "model": NEUSIGHT_MODELS.get(name, name), "model_raw": name,
        "model_config": text("model_config"),
        "framework": f"PyTorch ({execution})" if execution else "PyTorch",
        "device": text("device"), "device_raw": text("device"), "device_key": text("device_key"),
        "n_devices": n_dev, "devices_per_node": n_dev,
        "interconnect": None,
        "precision": precision_from_text(text("precision")), "precision_raw": text("precision"),
        "batch_per_device": per_device, "phase": text("phase"),
        "metric": text("metric"), "value": _num(rec.get("value", ""), "value", file, line),
        "notes": text("notes"),
        "seq_len": _num(rec.get("seq_len", ""), "seq_len", file, line),
        **degrees,
        "execution": execution,
        "forward_ms": _num(rec.get("forward_ms", ""), "forward_ms", file, line),
        "backward_ms": _num(rec.get("backward_ms", ""), "backward_ms", file, line),
        "num_layers": _num(rec.get("num_layers", ""), "num_layers", file, line),
        "file": file, "line": line,
    }


@only_parse_errors("NeuSight labels")
def read_neusight_labels(path: str | os.PathLike) -> pd.DataFrame:
    """Read NeuSight's ``neusight_labels.csv`` into measurement rows (the module table).

    Returns
    -------
    pandas.DataFrame
        One row per label.
    """
    return parse_neusight_labels(read_text(path), file=os.fspath(path))
