"""Reader for the wide LLM-serving table (one row per run, TTFT and TPOT columns) -> long rows.

The shared ``llm_inference/serving_sample.csv`` (ai-dynamo/aiconfigurator@095f58a, Apache-2.0;
its README explains every column) holds one measured serving run per row with a time to first
token (``ttft_ms``) and a time per output token (``tpot_ms``). This reader turns each distinct
measurement into two rows of the measurement table, metrics ``ttft_ms`` and ``tpot_ms``
[ms], keeping the serving configuration in detail columns:

======================================  ======================================================
column                                  meaning
======================================  ======================================================
``input_len``, ``output_len``           prompt (ISL) and generated (OSL) tokens [-]
``concurrency``                         requests the client keeps in flight, whole deployment
``mode``                                ``"aggregated"`` or ``"disaggregated"``
``tp``, ``pp``, ``attention_dp``,       one (aggregated) worker's layout; NaN where the
``moe_tp``, ``ep``                      source's encoding is not resolved
``prefill_workers``, ``prefill_tp``,    disaggregated roles: workers and each worker's layout
``prefill_pp``, ``prefill_attention_dp``, (``decode_*`` alike); NaN where not stated
``prefill_moe_tp``, ``prefill_ep``
``weight_precision``                    GEMM weights: ``bf16``, ``fp8``, ``fp8_block``,
                                        ``nvfp4``, ``int4`` (weight-only)
``moe_weight_precision``                the same for the MoE experts (``""`` for dense models)
``activation_precision``                math precision of the GEMMs: ``bf16``, ``fp8``, ``fp4``
``kv_cache_precision``                  ``"not stated"`` (the source never records it)
``engine``                              ``TensorRT-LLM``, ``SGLang`` or ``vLLM``
``dup_group``, ``dup_count``            the README's duplicate key and copy count
======================================  ======================================================

De-duplication (README "Duplicates"): copies of one measurement share ``dup_group``; one row
per group is kept, the copy whose parallel fields are stated as-is when there is one (copies
differ only in how they encode the layout), else the first copy.

``precision`` holds the math precision where it is a catalog precision (:data:`PRECISIONS`),
else ``"not stated"``; ``precision_raw`` keeps the sample's label (``fp4``, ``int4``).
Rows whose precision the sample does not state (bf16 checkpoints) get ``bf16`` weights and
activations in the detail columns, and the notes say so.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ...catalog.objects import NOT_STATED, PRECISIONS
from ...serving.precision import WEIGHT_BYTES  # noqa: F401 - re-exported: the formats named here
from .schema import ParseError, conform

__all__ = ["read_llm_serving", "is_llm_serving_header", "WEIGHT_BYTES", "ENGINES"]

#: Header columns that identify the wide serving table (sniffed by :func:`read.sniff_format`).
_SIGNATURE = ("ttft_ms", "tpot_ms", "input_len", "output_len", "concurrency", "dup_group")

#: aiconfigurator's backend keys -> engine names.
ENGINES = {"trtllm": "TensorRT-LLM", "sglang": "SGLang", "vllm": "vLLM"}

# quant mode (aiconfigurator enum) -> (weight format, math precision)
_QUANT = {"fp8": ("fp8", "fp8"), "fp8_block": ("fp8_block", "fp8"), "nvfp4": ("nvfp4", "fp4"),
          "int4_wo": ("int4", "bf16"), "bf16": ("bf16", "bf16"), "": ("bf16", "bf16")}

_ROLE = re.compile(r"(prefill|decode)\s+(\d+|\?)x\[tp(\S+) pp(\S+) adp(\S+) moe_tp(\S+) moe_ep(\S+) batch(\S+)\]")


def is_llm_serving_header(first_line: str) -> bool:
    """True when a CSV header line has the serving table's columns (TTFT/TPOT, ISL/OSL, ...)."""
    fields = {f.strip().strip('"') for f in first_line.split(",")}
    return all(c in fields for c in _SIGNATURE)


def _num(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series.replace("", np.nan), errors="coerce").to_numpy(dtype=float)


def _roles(layout: pd.Series) -> pd.DataFrame:
    """Per-role workers and layout of disaggregated rows, parsed from ``parallel_layout``."""
    keys = ("workers", "tp", "pp", "attention_dp", "moe_tp", "ep", "batch")
    out = {f"{role}_{k}": np.full(len(layout), np.nan) for role in ("prefill", "decode") for k in keys}
    for i, text in enumerate(layout.to_numpy()):
        for m in _ROLE.finditer(str(text)):
            for k, v in zip(keys, m.groups()[1:]):
                if v != "?":
                    out[f"{m.group(1)}_{k}"][i] = float(v)
    return pd.DataFrame(out, index=layout.index)


def _dedupe(raw: pd.DataFrame) -> pd.DataFrame:
    """One row per ``dup_group``: the copy with stated parallel fields first, else the first copy."""
    stated = raw["parallel_basis"].astype(str).str.startswith(("as stated", "per role"))
    order = pd.DataFrame({"g": raw["dup_group"].to_numpy(), "pref": (~stated).to_numpy(int),
                          "pos": np.arange(len(raw))})
    keep = order.sort_values(["g", "pref", "pos"]).drop_duplicates("g")["pos"].sort_values()
    return raw.iloc[keep.to_numpy()]


def read_llm_serving(path, *, deduplicate: bool = True) -> pd.DataFrame:
    """Read the wide serving table into long measurement rows (metrics ``ttft_ms``, ``tpot_ms``).

    Parameters
    ----------
    path : str or path-like
        The CSV (``shared/data/llm_inference/serving_sample.csv`` or a file with its columns).
    deduplicate : bool
        Keep one copy per ``dup_group`` (the README's rule); False keeps every copy.

    Returns
    -------
    pandas.DataFrame
        Measurement-table rows (two per measurement), phase ``"inference"``, with the
        detail columns of the module table; ``df.attrs["dropped_copies"]`` counts the copies
        removed.

    Raises
    ------
    ParseError
        A required column is missing, or a TTFT/TPOT cell is not a positive number.

    Examples
    --------
    >>> import io, plaster_model as pm                                        # doctest: +SKIP
    >>> df = pm.read_measurements("../shared/data/llm_inference/serving_sample.csv")  # doctest: +SKIP
    >>> sorted(df.metric.unique())                                            # doctest: +SKIP
    ['tpot_ms', 'ttft_ms']
    """
    name = str(path)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    need = ("model", "device", "mode", "ttft_ms", "tpot_ms", "input_len", "output_len",
            "concurrency", "dup_group", "aic_backend", "parallel_layout")
    missing = [c for c in need if c not in raw.columns]
    if missing:
        raise ParseError(f"serving table lacks column(s) {missing}", name, 1)
    n_raw = len(raw)
    raw = raw.assign(_line=np.arange(n_raw) + 2)
    if deduplicate:
        raw = _dedupe(raw)
    ttft, tpot = _num(raw["ttft_ms"]), _num(raw["tpot_ms"])
    for col, vals in (("ttft_ms", ttft), ("tpot_ms", tpot)):
        bad = ~(np.isfinite(vals) & (vals > 0))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ParseError(f"column {col!r}: not a positive number: {raw[col].iloc[i]!r}",
                             name, int(raw["_line"].iloc[i]))
    gq = raw.get("aic_gemm_quant_mode", pd.Series("", index=raw.index)).fillna("")
    mq = raw.get("aic_moe_quant_mode", pd.Series("", index=raw.index)).fillna("")
    label = raw.get("aic_precision", raw.get("precision", pd.Series("", index=raw.index))).fillna("")
    gq = gq.where(gq != "", label.where(label.isin(["bf16", "fp8"]), ""))
    weight = gq.map(lambda q: _QUANT.get(q, ("bf16", "bf16"))[0])
    act = gq.map(lambda q: _QUANT.get(q, ("bf16", "bf16"))[1])
    moe_w = mq.map(lambda q: _QUANT.get(q, (q, None))[0] if q else "")
    precision = act.where(act.isin(list(PRECISIONS)), NOT_STATED)
    stated = label.replace({"": NOT_STATED, "not stated": NOT_STATED})
    notes = raw.get("notes", pd.Series("", index=raw.index)).fillna("").astype(str)
    unstated = stated == NOT_STATED
    notes = notes.where(~unstated, (notes + "; ").str.lstrip("; ")
                        + "precision not stated: bf16 weights and activations assumed (bf16 checkpoint)")
    roles = _roles(raw["parallel_layout"])
    engine = raw["aic_backend"].map(lambda b: ENGINES.get(b, b))
    version = raw.get("aic_backend_version", pd.Series("", index=raw.index)).replace("", np.nan)
    base = pd.DataFrame({
        "source": raw.get("source", "ai-dynamo/aiconfigurator@095f58a"),
        "source_detail": raw.get("source_detail", ""),
        "model": raw["model"], "framework": raw.get("framework", engine),
        "device": raw["device"], "n_devices": _num(raw.get("n_devices", pd.Series("", index=raw.index))),
        "devices_per_node": np.nan, "interconnect": np.nan,
        "precision": precision, "batch_per_device": np.nan, "phase": "inference",
        "notes": notes, "engine_version": version, "device_raw": raw["device"],
        "precision_raw": stated, "file": name, "line": raw["_line"].to_numpy(),
        "input_len": _num(raw["input_len"]), "output_len": _num(raw["output_len"]),
        "concurrency": _num(raw["concurrency"]), "mode": raw["mode"].to_numpy(),
        "tp": _num(raw.get("tensor_parallel", "")), "pp": _num(raw.get("pipeline_parallel", "")),
        "attention_dp": _num(raw.get("attention_dp", "")),
        "moe_tp": _num(raw.get("moe_tensor_parallel", "")), "ep": _num(raw.get("expert_parallel", "")),
        "batch_size": _num(raw.get("batch_size", "")),
        "weight_precision": weight.to_numpy(), "moe_weight_precision": moe_w.to_numpy(),
        "activation_precision": act.to_numpy(), "kv_cache_precision": NOT_STATED,
        "engine": engine.to_numpy(), "dup_group": _num(raw["dup_group"]),
        "dup_count": _num(raw.get("dup_count", "1")),
    }, index=raw.index)
    for col in roles.columns:
        base[col] = roles[col].to_numpy()
    # attention_dp left blank (the sample's default 1) while the MoE group spans more GPUs than
    # tp: the experts are sharded over moe_tp·ep = tp·attention_dp GPUs (aiconfigurator's and the
    # engines' layout rule; vLLM's data parallel with experts sharded over DP×TP), so the worker
    # ran attention_dp = moe_tp·ep/tp ranks (19 Qwen3-235B rows: "tp1 ... moe_tp2")
    blank = np.isnan(_num(raw["aic_attention_dp_size"] if "aic_attention_dp_size" in raw.columns
                          else raw.get("attention_dp", pd.Series("", index=raw.index))))
    moe_gpus = (base["moe_tp"].fillna(1.0) * base["ep"].fillna(1.0)).to_numpy()
    implied = moe_gpus / base["tp"].to_numpy()
    fix = blank & (implied > 1.0) & (implied == np.round(implied)) & base["attention_dp"].fillna(1.0).eq(1.0).to_numpy()
    if fix.any():
        base.loc[fix, "attention_dp"] = implied[fix]
        base.loc[fix, "notes"] = (base.loc[fix, "notes"] + "; ").str.lstrip("; ") + \
            "attention_dp inferred from moe_tp·ep = tp·attention_dp"
    rows = pd.concat([base.assign(metric="ttft_ms", value=ttft),
                      base.assign(metric="tpot_ms", value=tpot)], ignore_index=True)
    rows = rows.sort_values(["line", "metric"], ascending=[True, False], kind="stable")
    out = conform(rows.reset_index(drop=True))
    out.attrs["dropped_copies"] = n_raw - len(raw)
    return out
