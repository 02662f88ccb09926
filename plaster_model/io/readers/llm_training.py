"""Reader of the shared LLM-training tables (``data/llm_training/*.csv``: vTrain, Korthikanti et al.).

Those tables carry the measurement schema's columns minus ``batch_per_device`` plus the
parallel layout of each run. This reader gives measurement-schema rows (``batch_per_device =
global_batch / data_parallel``, sequences per data-parallel rank per optimizer step) and keeps
the layout in columns that :func:`plaster_model.calibration.llm_training.plan_from_row` reads:
``tensor_parallel``, ``pipeline_parallel``, ``data_parallel``, ``sequence_parallel`` (0/1),
``virtual_pipeline_stages``, ``micro_batch``, ``global_batch``, ``seq_len``, ``recompute``
(``none`` / ``selective`` / ``full``), ``zero_stage``, ``attention`` and the architecture
(``hidden_size``, ``num_layers``, ``num_attention_heads``, ``ffn_hidden_size``).

Only measured iteration times become rows (``metric == "time_per_iter_s"``): Korthikanti's
memory values are the paper's formulas, not measurements (the folder's README), and
:func:`llm_training_table` returns them, untouched, for tests of the memory estimator.
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd

from .schema import ParseError, conform, validate_measurements

__all__ = ["LAYOUT_COLUMNS", "is_llm_training_csv", "llm_training_table", "read_llm_training_csv"]

#: Columns that describe a row's parallel layout and architecture (kept after the schema's).
LAYOUT_COLUMNS = ["tensor_parallel", "pipeline_parallel", "data_parallel", "sequence_parallel",
                  "virtual_pipeline_stages", "micro_batch", "global_batch", "seq_len", "recompute",
                  "zero_stage", "attention", "grad_reduce_precision", "hidden_size", "num_layers", "num_attention_heads",
                  "ffn_hidden_size"]
_MARKERS = ("tensor_parallel", "pipeline_parallel", "data_parallel", "metric", "value")


def is_llm_training_csv(head: str) -> bool:
    """True when the CSV header names the parallel-layout columns (sniffing)."""
    first = head.split("\n", 1)[0]
    fields = {f.strip().strip('"') for f in first.split(",")}
    return all(m in fields for m in _MARKERS)


def llm_training_table(path) -> pd.DataFrame:
    """The table as published (every row and column, memory rows included), for tests."""
    return pd.read_csv(path, dtype={"sequence_parallel": "string"})


def _recompute(text) -> str:
    t = str(text or "").lower()
    if t.startswith("selective"):
        return "selective"
    if t.startswith("none"):
        return "none"
    # "full", and vTrain's "activation checkpointing (use_checkpoint=true ...)": Megatron's
    # --checkpoint-activations recomputes each layer's forward (full recomputation)
    return "full"


def _device(text) -> str:
    t = str(text or "")
    # Selene is DGX A100 80GB (Korthikanti et al. ran there); vTrain states no memory size
    return "A100-80GB" if "Selene" in t else "A100"


def read_llm_training_csv(path) -> pd.DataFrame:
    """Measured iteration-time rows of an LLM-training table, in the measurement schema.

    Returns
    -------
    pandas.DataFrame
        Measurement-schema rows (metric ``time_per_iter_s``) followed by
        :data:`LAYOUT_COLUMNS`; precision ``"mixed"`` (16-bit AMP: vTrain's simulator models
        fp16, Korthikanti's runs are fp16) with the source's words in ``precision_raw``;
        ``attention = "materialized"`` (Megatron-LM of 2021–22 computes and stores the score
        matrix: the ``5·a·s/h`` term of Korthikanti's memory).

    Raises
    ------
    ParseError
        A missing column or a row that breaks the schema, naming the file.

    Examples
    --------
    >>> import plaster_model as pm, os
    >>> p = "../shared/data/llm_training/korthikanti2022_selene.csv"
    >>> rows = pm.read_measurements(p) if os.path.exists(p) else None
    >>> None if rows is None else (len(rows), sorted(set(rows.recompute)))
    (8, ['full', 'selective'])
    """
    file = os.fspath(path)
    try:
        raw = llm_training_table(file)
    except (ValueError, pd.errors.ParserError) as exc:
        raise ParseError(f"malformed CSV: {exc}", file, None) from None
    need = ["model", "device", "n_devices", "tensor_parallel", "pipeline_parallel", "data_parallel",
            "global_batch", "micro_batch", "seq_len", "metric", "value"]
    missing = [c for c in need if c not in raw.columns]
    if missing:
        raise ParseError(f"CSV header lacks required column(s) {missing}", file, 1)
    lines = np.arange(len(raw)) + 2
    keep = (raw["metric"] == "time_per_iter_s").to_numpy()
    t = raw.loc[keep].reset_index(drop=True)
    out = pd.DataFrame({
        "source": t["source"], "source_detail": t.get("source_detail"), "model": t["model"],
        "framework": t.get("framework"), "device": [_device(d) for d in t["device"]],
        "n_devices": t["n_devices"].astype(float), "devices_per_node": t.get("devices_per_node"),
        "interconnect": None, "precision": "mixed",
        "batch_per_device": (t["global_batch"] / t["data_parallel"]).astype(float),
        "phase": "training", "metric": "time_per_iter_s", "value": t["value"].astype(float),
        "notes": t.get("notes"),
        # Selene is DGX A100 80GB: said in the raw name, which the name normalization reads
        "device_raw": [("A100 80GB (" + d + ")") if "Selene" in str(d) else d for d in t["device"]], "precision_raw": t.get("precision"),
        "file": file, "line": lines[keep],
    })
    out = conform(out)
    sp = t.get("sequence_parallel", pd.Series([None] * len(t)))
    layout = {
        "tensor_parallel": t["tensor_parallel"].astype(int), "pipeline_parallel": t["pipeline_parallel"].astype(int),
        "data_parallel": t["data_parallel"].astype(int),
        "sequence_parallel": [int(str(v).lower() == "true") for v in sp],
        "virtual_pipeline_stages": t.get("virtual_pipeline_stages", pd.Series(np.nan, index=t.index))
        .fillna(1).astype(int),
        "micro_batch": t["micro_batch"].astype(int), "global_batch": t["global_batch"].astype(int),
        "seq_len": t["seq_len"].astype(int), "recompute": [_recompute(r) for r in t.get("recompute", [])],
        "zero_stage": t.get("zero_stage", pd.Series(np.nan, index=t.index)).fillna(0).astype(int),
        "attention": "materialized",
        # DeepSpeed's fp16 engine all-reduces fp16 gradients; Megatron-LM keeps fp32 main_grad
        "grad_reduce_precision": ["fp16" if "DeepSpeed" in str(f) else "fp32" for f in t.get("framework", [""] * len(t))],
    }
    for c in ("hidden_size", "num_layers", "num_attention_heads", "ffn_hidden_size"):
        layout[c] = t[c].astype(float) if c in t.columns else np.nan
    for k, v in layout.items():
        out[k] = v if not isinstance(v, pd.Series) else v.to_numpy()
    validate_measurements(out)
    return out
