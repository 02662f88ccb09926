"""Data parallelism, the default plan, and the ``plan=`` routing of the public training API.

``ParallelPlan()`` with no model parallelism, sharding or recomputation is today's data
parallelism: for a model that is not a transformer, :func:`~plaster_model.predict_training`,
:func:`~plaster_model.predict_epoch_time`, :func:`~plaster_model.scaling_curve` and
:func:`~plaster_model.sweep` answer exactly as without a plan (their existing data-parallel path,
untouched). Any other plan, or any plan for a transformer (whose memory the LLM model counts
per Korthikanti and ZeRO), goes to :func:`~plaster_model.predict_llm_training`.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from ..errors import ParameterError
from .plan import ParallelPlan

__all__ = ["routes_to_llm", "predict_training_with_plan", "epoch_with_plan", "scaling_curve_with_plan",
           "sweep_with_plan"]


def routes_to_llm(model, plan) -> bool:
    """True when ``plan`` sends a prediction to the LLM path (module docstring); refuses a
    model-parallel plan for a model that is not a transformer."""
    from ..catalog.loader import active_catalog

    if not isinstance(plan, ParallelPlan):
        raise ParameterError("plan", plan, "a pm.ParallelPlan")
    m = model if hasattr(model, "transformer") else active_catalog().get("model", model)
    is_llm = getattr(m, "transformer", None) is not None
    if not is_llm and not plan.is_data_parallel:
        raise ParameterError("plan", plan.describe(),
                             f"pure data parallelism for {m.name}, which is not a transformer "
                             "(tensor/pipeline/ZeRO plans need a transformer's layers)")
    return is_llm


def _global(cluster, batch_per_device, global_batch):
    if global_batch is not None:
        return int(global_batch)
    if batch_per_device is not None:
        g = batch_per_device * cluster.n_devices
        if g != int(g):
            raise ParameterError("batch_per_device", batch_per_device, "a whole number of sequences")
        return int(g)
    return None


def _precision(precision):
    # predict_training's default "fp32" means nothing special for an LLM recipe: keep what was asked
    return "mixed" if precision == "mixed" else precision


def predict_training_with_plan(model, cluster, plan, batch_per_device=None, global_batch=None, precision="bf16",
                               calibration=None, seq_len=None, check_memory=True, tokens=None):
    """:func:`~plaster_model.predict_llm_training` for ``predict_training(..., plan=)``, or None
    when the plan is today's data parallelism of a non-transformer (the caller goes on)."""
    from .predict import predict_llm_training

    if not routes_to_llm(model, plan):
        return None
    gb = _global(cluster, batch_per_device, global_batch)  # batch_per_device: sequences per device per step
    return predict_llm_training(model, cluster, plan, seq_len=seq_len, global_batch=gb,
                                precision=_precision(precision), calibration=calibration, tokens=tokens,
                                check_memory=bool(check_memory))


def epoch_with_plan(model, cluster, dataset, epochs, batch_per_device, precision, calibration, plan,
                    seq_len=None, global_batch=None, check_memory=True, **ignored):
    """``predict_epoch_time(..., plan=)``: ``epochs`` passes over ``dataset`` sequences as tokens
    to train (``time_to_train_s``), or None for the data-parallel path."""
    from ..training import _resolve_dataset

    if not routes_to_llm(model, plan):
        return None
    _, n = _resolve_dataset(dataset)
    first = predict_training_with_plan(model, cluster, plan, batch_per_device, global_batch, precision,
                                       calibration, seq_len, check_memory)
    return predict_training_with_plan(model, cluster, plan, batch_per_device, global_batch, precision,
                                      calibration, seq_len, check_memory, tokens=float(n) * epochs * first.seq_len)


def scaling_curve_with_plan(model, cluster, plan, devices=None, precision="bf16", calibration=None, seq_len=None,
                            global_batch=None, batch_per_device=None):
    """``scaling_curve(..., plan=)``: the plan at each device count (``dp`` grows), as a tidy
    frame; counts the plan does not tile or that do not fit are kept with ``fits_memory`` False and the ``reason``."""
    import pandas as pd

    from ..errors import MemoryFitError
    from ..training import _resolve_cluster
    from .predict import predict_llm_training

    template = _resolve_cluster(cluster)
    routes_to_llm(model, plan)
    mp = plan.model_parallel_size
    if devices is None:
        devices = [mp * 2**k for k in range(0, 40) if mp * 2**k <= template.n_devices] or [mp]
    rows = []
    for n in devices:
        c = template.with_devices(int(n))
        gb = global_batch if global_batch is not None else (None if batch_per_device is None
                                                            else int(batch_per_device * n))
        row = {"devices": int(n), "nodes": c.n_nodes}
        try:
            p = predict_llm_training(model, c, plan, seq_len=seq_len, global_batch=gb, precision=precision,
                                     calibration=calibration)
            lo, hi = p.time_per_iter_interval_s or (math.nan, math.nan)
            row.update(fits_memory=True, plan=p.plan, time_per_iter_s=p.time_per_iter_s, time_per_iter_low_s=lo,
                       time_per_iter_high_s=hi, throughput_tokens_s=p.throughput_tokens_s, mfu=p.mfu,
                       memory_per_device_bytes=p.memory_per_device_bytes, binding=p.binding, reason=None)
        except (MemoryFitError, ParameterError) as exc:
            row.update(fits_memory=False, plan=None, time_per_iter_s=math.nan, time_per_iter_low_s=math.nan,
                       time_per_iter_high_s=math.nan, throughput_tokens_s=math.nan, mfu=math.nan,
                       memory_per_device_bytes=math.nan, binding=None, reason=str(exc))
        rows.append(row)
    df = pd.DataFrame(rows)
    base = df.loc[df["fits_memory"]].head(1)
    if len(base):
        b = base.iloc[0]
        df["speedup"] = df["throughput_tokens_s"] / b["throughput_tokens_s"]
        df["efficiency"] = df["speedup"] * b["devices"] / df["devices"]
    return df


def sweep_with_plan(models, devices, n_devices, interconnects=None, plan=None, precisions="bf16",
                    devices_per_node=8, intra_node=None, nics_per_node=1, calibration=None, seq_len=None,
                    global_batch=None, batch_per_device=None):
    """``sweep(..., plan=)``: every (model, device, precision, interconnect, n_devices) under one
    plan; rows that do not fit or do not tile are kept, ``fits_memory`` False, with the ``reason``."""
    import pandas as pd

    from ..cluster import Cluster
    from ..errors import MemoryFitError
    from .predict import predict_llm_training

    L = lambda v: list(v) if isinstance(v, (list, tuple, np.ndarray)) else [v]  # noqa: E731
    rows = []
    for m, d, prec, ic, n in itertools.product(L(models), L(devices), L(precisions), L(interconnects), L(n_devices)):
        n = int(n)
        g = min(int(devices_per_node), n)
        row = {"model": str(getattr(m, "name", m)), "device": str(getattr(d, "name", d)), "precision": prec,
               "interconnect": None if ic is None else str(getattr(ic, "name", ic)), "n_devices": n}
        try:
            c = Cluster(d, n, devices_per_node=g, intra_node=intra_node if g > 1 else None,
                        interconnect=ic, nics_per_node=nics_per_node)
            gb = global_batch if global_batch is not None else (None if batch_per_device is None
                                                                else int(batch_per_device * n))
            p = predict_llm_training(m, c, plan, seq_len=seq_len, global_batch=gb, precision=prec,
                                     calibration=calibration)
            row.update(fits_memory=True, plan=p.plan, time_per_iter_s=p.time_per_iter_s,
                       throughput_tokens_s=p.throughput_tokens_s, mfu=p.mfu,
                       memory_per_device_bytes=p.memory_per_device_bytes, binding=p.binding, reason=None)
        except (MemoryFitError, ParameterError, ValueError) as exc:
            row.update(fits_memory=False, plan=None, time_per_iter_s=math.nan, throughput_tokens_s=math.nan, mfu=math.nan,
                       memory_per_device_bytes=math.nan, binding=None, reason=str(exc))
        rows.append(row)
    return pd.DataFrame(rows)
