"""The guide's LLM modes, in plain Python: training plans and serving layouts.

Two forms beside the CNN ones: the training tab's **LLM plans** (a zoo transformer on a
cluster of catalog systems under a parallel plan: :func:`plaster_model.predict_llm_training`,
and the fastest plans of the cluster: :func:`plaster_model.best_plans`), and the inference
tab's **LLM serving** (a zoo LLM on N GPUs within TTFT/TPOT budgets:
:func:`plaster_model.best_serving`, and one configuration: :func:`plaster_model.predict_serving`).

Like :mod:`plaster_model.web.state`, nothing here computes a performance number: the
library does, and these functions turn its answers into tidy frames with readable headers
(units in brackets). A plan or layout that does not fit device memory is shown as
infeasible with the library's reason, never with a time.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, fields, replace
from typing import Any

import plaster_model as pm
from plaster_model.errors import PlasterError

from .state import is_infeasible, user_error

__all__ = ["LLMTrainingConfig", "ServingConfig", "transformer_models", "llm_systems",
           "predict_plan", "plan_table", "serving_front", "serving_one", "PLAN_TITLES",
           "SERVING_TITLES", "RECOMPUTE"]

#: Recompute choices of :class:`plaster_model.ParallelPlan`.
RECOMPUTE = ("none", "selective", "full")


@functools.lru_cache(maxsize=1)
def _transformers() -> tuple[tuple[str, bool], ...]:
    """``(name, is_decoder)`` of every zoo model with a transformer layout."""
    out = []
    for name in pm.list_models()["name"]:
        try:
            t = getattr(pm.load_model(str(name)), "transformer", None)
        except (PlasterError, KeyError, ValueError):
            continue
        if t is not None:
            out.append((str(name), not bool(getattr(t, "encoder", False))))
    return tuple(out)


def transformer_models(decoder_only: bool = False) -> list[str]:
    """Zoo models the LLM planners take (those with a ``.transformer`` layout); with
    ``decoder_only`` the generative ones (what serving takes).

    >>> "Llama-3.1-70B" in transformer_models(), "BERT-large" in transformer_models(True)
    (True, False)
    """
    return [n for n, dec in _transformers() if dec or not decoder_only]


def llm_systems() -> list[str]:
    """Catalog systems built on GPUs or accelerators with a bf16 peak (what an LLM plan
    runs on), in catalog order.

    >>> "DGX H100" in llm_systems(), "K80 server" in llm_systems()
    (True, False)
    """
    systems = pm.list_systems()
    out = []
    for name, device in zip(systems["name"], systems["device"]):
        try:
            peaks = pm.load_device(str(device)).peak_flops
        except (PlasterError, KeyError, ValueError):
            continue
        if any(k.startswith("bf16") for k in peaks):
            out.append(str(name))
    return out


@dataclass(frozen=True)
class LLMTrainingConfig:
    """The LLM plan form: a transformer, a cluster of catalog systems and a parallel plan.

    ``dp=0`` means "what is left": ``n_devices / (tp · pp · cp)``
    (:class:`plaster_model.ParallelPlan` with ``dp=None``). Sizes are in sequences
    (``micro_batch``, ``global_batch``) and tokens (``seq_len``).
    """

    model: str = "Llama-3.1-70B"
    system: str = "DGX H100"
    n_devices: int = 64
    tp: int = 8
    pp: int = 4
    dp: int = 0
    cp: int = 1
    ep: int = 1
    zero: int = 1
    micro_batch: int = 1
    global_batch: int = 512
    seq_len: int = 4096
    recompute: str = "none"
    precision: str = "bf16"

    def cluster(self) -> "pm.Cluster":
        """``pm.Cluster.from_system(system, n_devices=n_devices)``."""
        return pm.Cluster.from_system(self.system, n_devices=int(self.n_devices))

    def plan(self) -> "pm.ParallelPlan":
        """The :class:`plaster_model.ParallelPlan` of the form."""
        return pm.ParallelPlan(tp=int(self.tp), pp=int(self.pp), dp=int(self.dp) or None, cp=int(self.cp),
                               ep=int(self.ep), zero=int(self.zero), micro_batch=int(self.micro_batch),
                               global_batch=int(self.global_batch), recompute=self.recompute)

    def update(self, **changes) -> "LLMTrainingConfig":
        """A copy with fields changed (a ParameterError naming an unknown field)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise pm.ParameterError("field", sorted(unknown)[0], "an LLMTrainingConfig field")
        return replace(self, **changes)


@dataclass(frozen=True)
class ServingConfig:
    """The LLM serving form: a model on ``n_devices`` GPUs, request shape, budgets, and
    the one configuration (``tp``/``pp``/``ep``, ``precision``, ``concurrency``) predicted
    alone. Budgets are in milliseconds (0: no budget)."""

    model: str = "Llama-3.1-70B"
    device: str = "H200"
    n_devices: int = 8
    input_len: int = 1024
    output_len: int = 1024
    ttft_budget_ms: float = 2000.0
    tpot_budget_ms: float = 50.0
    precision: str = "fp8"
    tp: int = 8
    pp: int = 1
    ep: int = 1
    concurrency: int = 16

    def update(self, **changes) -> "ServingConfig":
        """A copy with fields changed (a ParameterError naming an unknown field)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise pm.ParameterError("field", sorted(unknown)[0], "a ServingConfig field")
        return replace(self, **changes)


# --------------------------------------------------------------------------- training
#: Readable headers (units in brackets) of :func:`plan_table` and :func:`predict_plan`.
PLAN_TITLES = {
    "plan": "plan", "micro_batch": "micro-batch [seq]", "status": "status",
    "time_per_step": "time per step", "throughput_tokens_s": "throughput [tokens/s]",
    "tflops_per_device": "per device [TFLOP/s]", "mfu_pct": "MFU [%]",
    "memory_per_device_GB": "memory per device [GB]", "binding": "binding term",
}


def _seconds(value: float) -> str:
    """A step time in the unit that suits (ms below a second)."""
    from .state import format_duration

    if value is None or not math.isfinite(value):
        return "–"
    return f"{value * 1e3:,.1f} ms" if value < 1.0 else format_duration(value)


def _device_memory_bytes(cluster) -> float:
    return float(pm.load_device(cluster.device).memory_bytes)


def predict_plan(cfg: LLMTrainingConfig, calibration=None) -> dict[str, Any]:
    """:func:`plaster_model.predict_llm_training` of the form as one readable row.

    Returns a dict with :data:`PLAN_TITLES`' keys, ``feasible``, the prediction's
    ``summary`` (its printed text) and ``prediction`` (the result, None when infeasible).
    A plan that does not fit device memory gives ``feasible=False``, ``status`` with the
    library's reason and no time; a wrong form raises the library's error.
    """
    cluster = cfg.cluster()
    try:
        pred = pm.predict_llm_training(cfg.model, cluster, cfg.plan(), seq_len=int(cfg.seq_len),
                                       precision=cfg.precision, calibration=calibration)
    except PlasterError as exc:
        if not is_infeasible(exc):
            raise
        return {"plan": cfg.plan().describe(), "micro_batch": int(cfg.micro_batch), "feasible": False,
                "status": f"infeasible: {exc}", "time_per_step": "–", "throughput_tokens_s": math.nan,
                "tflops_per_device": math.nan, "mfu_pct": math.nan, "memory_per_device_GB": math.nan,
                "binding": "–", "summary": f"Infeasible: {user_error(exc)}", "prediction": None,
                "cluster": cluster.name}
    mem, dev = pred.memory_per_device_bytes, _device_memory_bytes(cluster)
    return {"plan": pred.plan, "micro_batch": int(pred.micro_batch), "feasible": True,
            "status": f"fits: {mem / 1e9:,.1f} of {dev / 1e9:,.0f} GB",
            "time_per_step": _seconds(pred.time_per_iter_s),
            "throughput_tokens_s": pred.throughput_tokens_s, "tflops_per_device": pred.tflops_per_device,
            "mfu_pct": 100.0 * pred.mfu, "memory_per_device_GB": mem / 1e9, "binding": pred.binding,
            "summary": str(pred), "prediction": pred, "cluster": cluster.name}


def plan_table(cfg: LLMTrainingConfig, top: int = 10, calibration=None):
    """The fastest plans of the form's cluster (:func:`plaster_model.best_plans` with the
    form's model, global batch, sequence length and precision), as a tidy frame with the
    columns of :data:`PLAN_TITLES`.

    Plans that fit come first, fastest first; when fewer than ``top`` fit, the fastest
    plans that do not fill the list, marked ``infeasible`` with the memory they would
    need and no time (``time per step`` is "–", the rates NaN). ``attrs`` carries the
    library's ``n_plans`` and ``n_feasible``.
    """
    import pandas as pd

    cluster = cfg.cluster()
    df = _best_plans(cfg.model, cluster, int(cfg.global_batch), int(cfg.seq_len), cfg.precision, int(top),
                     calibration)
    dev = _device_memory_bytes(cluster)
    fits = df["fits_memory"].to_numpy(bool)
    mem_gb = df["memory_per_device_bytes"] / 1e9
    nan = math.nan
    out = pd.DataFrame({
        "plan": df["plan"], "micro_batch": df["micro_batch"].astype(int),
        "status": [f"fits: {m:,.1f} of {dev / 1e9:,.0f} GB" if f else
                   f"infeasible: needs {m:,.1f} GB per device, has {dev / 1e9:,.0f} GB"
                   for m, f in zip(mem_gb, fits)],
        "time_per_step": [_seconds(t) if f else "–" for t, f in zip(df["time_per_iter_s"], fits)],
        "throughput_tokens_s": [t if f else nan for t, f in zip(df["throughput_tokens_s"], fits)],
        "tflops_per_device": [t if f else nan for t, f in zip(df["tflops_per_device"], fits)],
        "mfu_pct": [100.0 * m if f else nan for m, f in zip(df["mfu"], fits)],
        "memory_per_device_GB": mem_gb.to_numpy(),
        "binding": [b if f else "memory" for b, f in zip(df["binding"], fits)],
    })
    out.attrs.update(df.attrs)
    return out


def _best_plans(model, cluster, global_batch, seq_len, precision, top, calibration):
    if calibration is None:  # peak-based answers depend on the inputs alone: shared
        return _peak_best_plans(model, cluster, global_batch, seq_len, precision, top)
    return pm.best_plans(model, cluster, global_batch=global_batch, seq_len=seq_len, precision=precision,
                         top=top, include_infeasible=True, calibration=calibration)


@functools.lru_cache(maxsize=64)
def _peak_best_plans(model, cluster, global_batch, seq_len, precision, top):
    return pm.best_plans(model, cluster, global_batch=global_batch, seq_len=seq_len, precision=precision,
                         top=top, include_infeasible=True)


# --------------------------------------------------------------------------- serving
#: Readable headers of :func:`serving_front` (units in brackets).
SERVING_TITLES = {
    "precision": "precision", "layout": "layout", "concurrency": "concurrency [requests]",
    "ttft_ms": "TTFT [ms]", "tpot_ms": "TPOT [ms]", "tokens_s_per_gpu": "tokens/s per GPU",
    "tokens_s_per_user": "tokens/s per user", "kv_capacity_requests": "KV capacity [requests]",
}


def _layout(tp, pp, ep, replicas) -> str:
    parts = [f"TP {int(tp)}"] + ([f"PP {int(pp)}"] if pp > 1 else []) + ([f"EP {int(ep)}"] if ep > 1 else [])
    return " × ".join(parts) + (f", {int(replicas)} replicas" if replicas > 1 else "")


def _budget_s(ms: float):
    return None if not ms or ms <= 0 else float(ms) / 1e3


def serving_front(cfg: ServingConfig, calibration=None):
    """:func:`plaster_model.best_serving` of the form: the Pareto front of tokens/s per
    GPU against tokens/s per user within the TTFT/TPOT budgets, as a tidy frame with
    :data:`SERVING_TITLES`' columns, most tokens/s per GPU first. ``attrs`` carries the
    library's ``evaluated`` and ``feasible`` counts.
    """
    import pandas as pd

    args = (cfg.model, cfg.device, int(cfg.n_devices), _budget_s(cfg.ttft_budget_ms),
            _budget_s(cfg.tpot_budget_ms), int(cfg.input_len), int(cfg.output_len))
    df = _peak_front(*args) if calibration is None else _front(*args, calibration)
    out = pd.DataFrame({
        "precision": df["precision"],
        "layout": [_layout(*v) for v in zip(df["tp"], df["pp"], df["ep"], df["replicas"])],
        "concurrency": df["concurrency"].astype(int),
        "ttft_ms": df["ttft_s"] * 1e3, "tpot_ms": df["tpot_s"] * 1e3,
        "tokens_s_per_gpu": df["tokens_s_per_gpu"], "tokens_s_per_user": df["tokens_s_per_user"],
        "kv_capacity_requests": df["kv_capacity_requests"],
    })
    out.attrs.update(df.attrs)
    return out


def serving_one(cfg: ServingConfig, calibration=None) -> dict[str, Any]:
    """:func:`plaster_model.predict_serving` of the form's one configuration.

    Returns ``{"feasible", "summary", "prediction"}``: the result's printed summary and
    assumptions, or, when the layout does not fit memory, ``feasible=False`` and the
    library's reason (no time).
    """
    try:
        r = pm.predict_serving(cfg.model, cfg.device, tp=int(cfg.tp), pp=int(cfg.pp), ep=int(cfg.ep),
                               precision=cfg.precision, input_len=int(cfg.input_len),
                               output_len=int(cfg.output_len), concurrency=int(cfg.concurrency),
                               calibration=calibration)
    except PlasterError as exc:
        if not is_infeasible(exc):
            raise
        return {"feasible": False, "summary": f"Infeasible: {user_error(exc)}", "prediction": None}
    lines = [str(r)] + [f"assumption: {a}" for a in getattr(r, "assumptions", ())]
    return {"feasible": True, "summary": "\n".join(lines), "prediction": r}


def _front(model, device, n_devices, ttft_s, tpot_s, input_len, output_len, calibration=None):
    return pm.best_serving(model, device, n_devices=n_devices, ttft_budget=ttft_s, tpot_budget=tpot_s,
                           input_len=input_len, output_len=output_len, calibration=calibration)


#: Peak-based fronts depend on the inputs alone: shared across sessions (never modified).
_peak_front = functools.lru_cache(maxsize=64)(_front)
