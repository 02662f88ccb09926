"""``best_plans``: search tp × pp × cp × ep × micro-batch × interleaving × recompute × ZeRO, vectorized.

Every candidate layout of a cluster is one element of a set of numpy arrays; the step model
(:func:`~plaster_model.parallel.step.llm_step`) evaluates them all at once, plans that do not fit
in device memory are dropped (or kept and marked with ``include_infeasible=True``) and the rest
ranked by step time. ``benchmarks/best_plans_speed.py`` measures the rate (≥ 10^6 plans/s).
"""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from ..errors import ParameterError
from .placement import cluster_tiers
from .plan import ParallelPlan
from .predict import efficiencies_from, hardware_arrays, precision_recipe, transformer_of
from .step import llm_step, model_terms

__all__ = ["best_plans", "candidate_plans", "evaluate_plans", "flatten_plans"]

_REC = np.array(["none", "selective", "full"], dtype=object)


def _pow2_upto(n):
    out, k = [], 1
    while k <= n:
        out.append(k)
        k *= 2
    return out


def candidate_plans(n_devices, cfg, global_batch, seq_len, *, max_tp=None, micro_batches=(1, 2, 4, 8, 16),
                    virtual_stages=(1, 2, 3, 4), zero_stages=(0, 1, 2, 3), recompute=("none", "selective", "full"),
                    cp_sizes=None) -> dict:
    """Every valid layout as broadcastable arrays (``tp, pp, dp, cp, ep, etp, sp, zero, mb, m, v, rec``):
    layouts down axis 0, ZeRO stage × recompute along axis 1 (:func:`flatten_plans` gives rows).

    Rules (Megatron-LM's): ``tp`` a power of two dividing the heads, at most ``max_tp`` (default
    the scale-up domain); ``pp`` dividing the layers; ``tp·pp·cp`` dividing ``n_devices``; the
    global batch a multiple of ``mb·dp``; interleaving ``v`` dividing the layers per stage, with
    the micro-batches a multiple of ``pp``; ``ep`` a power of two dividing the experts and
    ``dp·cp`` (experts split over ``tp`` too, ``etp = tp``) or, folded over the tensor-parallel
    ranks, ``tp·dp·cp`` (``etp = 1``, Megatron-Core's MoE parallel folding); sequence parallelism
    on whenever ``tp > 1`` (same traffic, less memory).
    """
    n = int(n_devices)
    L, heads = int(cfg.n_layers), int(cfg.n_heads)
    tps = [t for t in _pow2_upto(min(max_tp or n, n, heads)) if heads % t == 0]
    pps = [p for p in range(1, min(L, n) + 1) if L % p == 0 and n % p == 0]
    cps = list(cp_sizes) if cp_sizes is not None else [c for c in _pow2_upto(16) if seq_len % (2 * c) == 0 or c == 1]
    if cp_sizes is None and seq_len < 16384:
        cps = [1]  # ring attention pays off only on long sequences
    eps = [e for e in _pow2_upto(n) if cfg.n_experts and cfg.n_experts % e == 0] if cfg.is_moe else [1]
    rows = []
    for tp, pp, cp in itertools.product(tps, pps, cps):
        mp = tp * pp * cp
        if n % mp:
            continue
        dp = n // mp
        for mb in micro_batches:
            if global_batch % (mb * dp):
                continue
            m = global_batch // (mb * dp)
            for v in (virtual_stages if pp > 1 else (1,)):
                if v > 1 and ((L // pp) % v or m % pp):
                    continue
                for ep in eps:
                    if (dp * cp) % ep == 0:
                        rows.append((tp, pp, dp, cp, ep, tp, mb, m, v))
                    elif (tp * dp * cp) % ep == 0:
                        rows.append((tp, pp, dp, cp, ep, 1, mb, m, v))
    if not rows:
        raise ParameterError("global_batch", global_batch,
                             f"a batch some layout of {n} devices can split (none of tp×pp×cp×dp × micro-batch fits)")
    base = np.array(rows, dtype=float)
    nr = len(recompute)
    codes = np.array([{"none": 0, "selective": 1, "full": 2}[r] for r in recompute], dtype=float)
    # a grid: the layouts down axis 0, (ZeRO stage × recompute) along axis 1, so that numpy
    # broadcasting computes what depends on the layout once per layout (flatten_plans: one row each)
    out = {k: base[:, i:i + 1] for i, k in enumerate(("tp", "pp", "dp", "cp", "ep", "etp", "mb", "m", "v"))}
    out.update(zero=np.repeat(np.asarray(zero_stages, float), nr)[None, :], rec=np.tile(codes, len(zero_stages))[None, :],
               sp=out["tp"] > 1)
    return out


def flatten_plans(arrays: dict) -> dict:
    """The arrays of :func:`candidate_plans` (or of an evaluation on them) as one row per plan
    (scalars are left as they are)."""
    shape = np.broadcast_shapes(*[np.shape(v) for v in arrays.values() if np.ndim(v)])
    return {k: (np.broadcast_to(np.asarray(v), shape).ravel() if np.ndim(v) else v) for k, v in arrays.items()}


def evaluate_plans(cfg_or_terms, cluster, plans: dict, seq_len, precision="bf16", efficiencies=None,
                   attention="flash", grad_reduce_precision="fp32", dp_overlap=True,
                   framework_reserve_bytes=None, lora_params=None) -> dict:
    """:func:`llm_step` of many plans (arrays) on one cluster: the vectorized core of the search."""
    terms = cfg_or_terms if isinstance(cfg_or_terms, dict) else vars(model_terms(cfg_or_terms))
    recipe = precision_recipe(cluster.device, precision, grad_reduce_precision)
    hw = hardware_arrays(cluster, recipe, plans["tp"], plans["pp"], plans["dp"], plans["cp"], plans["ep"],
                         plans.get("etp"))
    reserve = ParallelPlan().framework_reserve_bytes if framework_reserve_bytes is None else framework_reserve_bytes
    pa = dict(plans, flash=attention == "flash", seq_len=seq_len, w_bytes=recipe["w_bytes"],
              g_bytes=recipe["g_bytes"], o_bytes=recipe["o_bytes"], act_bytes=recipe["act_bytes"],
              gemm_act_bytes=recipe.get("gemm_act_bytes", recipe["act_bytes"]),
              comm_bytes=recipe["comm_bytes"], dp_overlap=dp_overlap, reserve=reserve,
              lora=lora_params is not None, lora_params=lora_params or 0.0)
    from .step import DEFAULT_EFFICIENCIES

    out = llm_step(terms, hw, pa, efficiencies or dict(DEFAULT_EFFICIENCIES))
    out["fits_memory"] = out["mem_total"] <= float(cluster.device.memory_bytes)
    out["peak"] = recipe["peak"]
    return out


def best_plans(model, cluster, global_batch, seq_len=None, precision="bf16", top=10, *, calibration=None,
               include_infeasible=False, max_tp=None, rank_by="time", price_per_device_hour=None,
               device_counts=None, tokens=None, finetune="full", lora_rank=16, **space) -> pd.DataFrame:
    """The fastest parallel plans of a transformer on a cluster, as a tidy frame.

    Parameters
    ----------
    model : str or Model
        A zoo transformer or ``pm.Model.from_hf_config(...)``.
    cluster : Cluster
    global_batch : int
        Sequences per optimizer step.
    seq_len : int, optional
        Tokens per sequence (default 2,048).
    precision : str
        As :func:`~plaster_model.predict_llm_training`.
    top : int
        Rows returned (the fastest feasible plans).
    calibration : Calibration, optional
        A calibration with an LLM-training fit.
    include_infeasible : bool
        Keep the plans that do not fit (``fits_memory`` False), ranked after those that do.
    max_tp : int, optional
        Largest tensor-parallel size (default: the scale-up domain).
    rank_by : {"time", "cost"}
        Rank by step time (default) or by cost per trained token
        ``price · n_devices · T / (B·s)`` (needs ``price_per_device_hour``). On one cluster size
        the two orders agree; with ``device_counts`` a smaller cluster can be slower but cheaper.
    price_per_device_hour : float, optional
        Price of one device for one hour, in the user's currency (no built-in prices: cloud and
        amortized costs vary). Adds ``cost_per_step`` and ``cost_per_million_tokens``.
    device_counts : sequence of int, optional
        Also search these cluster sizes (the same design, :meth:`Cluster.with_devices`);
        default: the cluster's own size only.
    tokens : float, optional
        Training tokens: adds ``time_to_train_days`` (and ``cost_to_train`` with a price).
    finetune, lora_rank :
        As :class:`~plaster_model.ParallelPlan` (``"lora"``: adapters on the attention
        projections of frozen weights).
    **space
        ``micro_batches``, ``virtual_stages``, ``zero_stages``, ``recompute``, ``cp_sizes``: the
        values searched (:func:`candidate_plans`).

    Returns
    -------
    pandas.DataFrame
        One row per plan: ``n_devices, tp, pp, dp, cp, ep, sp, zero, micro_batch, micro_batches,
        virtual_stages, recompute, time_per_iter_s, throughput_tokens_s, tflops_per_device, mfu,
        memory_per_device_bytes, fits_memory, binding, plan``; ``attrs["n_plans"]`` and
        ``attrs["n_feasible"]`` count the space.

    Examples
    --------
    >>> import plaster_model as pm
    >>> c = pm.Cluster.from_system("DGX A100 640GB", n_nodes=128)
    >>> df = pm.best_plans("GPT-3 175B", c, global_batch=1536, seq_len=2048, top=3)
    >>> len(df), bool(df["fits_memory"].all()), df.attrs["n_plans"] > 1000
    (3, True, True)

    Ranked by cost over three cluster sizes at $2 per GPU-hour (an illustrative price):

    >>> df = pm.best_plans("GPT-3 175B", c, global_batch=1536, seq_len=2048, top=3, rank_by="cost",
    ...                    price_per_device_hour=2.0, device_counts=[256, 512, 1024])
    >>> bool(df["cost_per_million_tokens"].is_monotonic_increasing)
    True
    """
    rank = str(rank_by).strip().lower()
    if rank not in ("time", "cost"):
        raise ParameterError("rank_by", rank_by, "'time' or 'cost'")
    if price_per_device_hour is not None and (isinstance(price_per_device_hour, bool)
                                              or not isinstance(price_per_device_hour, (int, float))
                                              or not price_per_device_hour > 0):
        raise ParameterError("price_per_device_hour", price_per_device_hour, "a positive price per device-hour")
    if rank == "cost" and price_per_device_hour is None:
        raise ParameterError("price_per_device_hour", None, "a price per device-hour to rank by cost")
    if tokens is not None and (isinstance(tokens, bool) or not isinstance(tokens, (int, float)) or not tokens > 0):
        raise ParameterError("tokens", tokens, "a positive number of training tokens")
    if device_counts is not None:
        from ..training import _resolve_cluster

        base = _resolve_cluster(cluster)
        frames = []
        for n in device_counts:
            try:
                frames.append(best_plans(model, base.with_devices(int(n)), global_batch, seq_len, precision, top,
                                         calibration=calibration, include_infeasible=include_infeasible,
                                         max_tp=max_tp, rank_by=rank, price_per_device_hour=price_per_device_hour,
                                         tokens=tokens, finetune=finetune, lora_rank=lora_rank, **space))
            except ParameterError:  # a batch this size cannot split: no plans there
                continue
        if not frames:
            raise ParameterError("device_counts", device_counts, "a cluster size the global batch can be split over")
        df = pd.concat(frames, ignore_index=True)
        key = "cost_per_million_tokens" if rank == "cost" else "time_per_iter_s"
        df = df.sort_values(["fits_memory", key], ascending=[False, True], kind="stable").head(top)
        df = df.reset_index(drop=True)
        df.attrs.update(frames[0].attrs, n_plans=sum(f.attrs["n_plans"] for f in frames),
                        n_feasible=sum(f.attrs["n_feasible"] for f in frames))
        return df
    ft = ParallelPlan(finetune=finetune, lora_rank=lora_rank)  # validates both
    return _best_plans_one(model, cluster, global_batch, seq_len, precision, top, calibration, include_infeasible,
                           max_tp, price_per_device_hour, tokens, ft, **space)


def _best_plans_one(model, cluster, global_batch, seq_len, precision, top, calibration, include_infeasible, max_tp,
                    price_per_device_hour, tokens, ft, **space) -> pd.DataFrame:
    """:func:`best_plans` on one cluster size (time and cost order agree there)."""
    from ..estimators.transformer import model_flops_per_token
    from ..training import _resolve_cluster

    m, cfg = transformer_of(model)
    cluster = _resolve_cluster(cluster)
    seq_len = 2048 if seq_len is None else int(seq_len)
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
        raise ParameterError("top", top, "a whole number >= 1")
    if isinstance(global_batch, bool) or not isinstance(global_batch, (int, np.integer)) or global_batch < 1:
        raise ParameterError("global_batch", global_batch, "a whole number of sequences >= 1")
    links = cluster_tiers(cluster)
    plans = candidate_plans(cluster.n_devices, cfg, int(global_batch), seq_len,
                            max_tp=max_tp or links.domain, **space)
    eff, factors, _ = efficiencies_from(calibration, cluster.device)
    from ..estimators.transformer import lora_adapter_params, lora_model_flops_per_token

    lora = ft.finetune == "lora"
    out = evaluate_plans(cfg, cluster, plans, seq_len, precision, eff,
                         lora_params=lora_adapter_params(cfg, ft.lora_rank) if lora else None)
    shape = np.broadcast_shapes(*[np.shape(v) for v in plans.values()])
    plans = flatten_plans(dict(plans, _shape=np.empty(shape)))
    out = flatten_plans(dict(out, _shape=np.empty(shape)))
    t = out["time_per_iter_s"]
    fits = out["fits_memory"]
    order = np.lexsort((t, ~fits))
    if not include_infeasible:
        order = order[fits[order]]
    idx = order[:top]
    fpt = float(lora_model_flops_per_token(cfg, seq_len, ft.lora_rank) if lora else model_flops_per_token(cfg, seq_len))
    thr = global_batch * seq_len / t[idx]
    from .predict import binding_term

    sub = {k: np.asarray(v)[idx] for k, v in out.items() if np.ndim(v) > 0}
    df = pd.DataFrame({
        "n_devices": np.full(len(idx), cluster.n_devices, dtype=int),
        "tp": plans["tp"][idx].astype(int), "pp": plans["pp"][idx].astype(int), "dp": plans["dp"][idx].astype(int),
        "cp": plans["cp"][idx].astype(int), "ep": plans["ep"][idx].astype(int),
        "expert_tp": plans["etp"][idx].astype(int), "sp": plans["sp"][idx],
        "zero": plans["zero"][idx].astype(int), "micro_batch": plans["mb"][idx].astype(int),
        "micro_batches": plans["m"][idx].astype(int), "virtual_stages": plans["v"][idx].astype(int),
        "recompute": _REC[plans["rec"][idx].astype(int)],
        "time_per_iter_s": t[idx], "throughput_tokens_s": thr,
        "tflops_per_device": thr * fpt / cluster.n_devices / 1e12,
        "mfu": thr * fpt / (cluster.n_devices * out["peak"]),
        "memory_per_device_bytes": out["mem_total"][idx], "fits_memory": fits[idx],
        "binding": binding_term(sub) if len(idx) else np.array([], dtype=object),
    })
    if factors is not None:
        df["time_per_iter_low_s"] = df["time_per_iter_s"] * factors[0]
        df["time_per_iter_high_s"] = df["time_per_iter_s"] * factors[1]
    if price_per_device_hour is not None:
        df["cost_per_step"] = price_per_device_hour * cluster.n_devices * df["time_per_iter_s"] / 3600.0
        df["cost_per_million_tokens"] = df["cost_per_step"] / (global_batch * seq_len) * 1e6
    if tokens is not None:
        steps = np.ceil(float(tokens) / (global_batch * seq_len))
        df["time_to_train_days"] = steps * df["time_per_iter_s"] / 86400.0
        if price_per_device_hour is not None:
            df["cost_to_train"] = steps * df["cost_per_step"]
    df["plan"] = [ParallelPlan(tp=int(r.tp), pp=int(r.pp), dp=int(r.dp), cp=int(r.cp), ep=int(r.ep),
                               expert_tp=int(r.expert_tp) if r.ep > 1 else None, sp=bool(r.sp),
                               zero=int(r.zero), virtual_stages=int(r.virtual_stages), recompute=r.recompute,
                               finetune=ft.finetune, lora_rank=ft.lora_rank).describe()
                  for r in df.itertuples()]
    df.attrs.update(n_plans=int(t.size), n_feasible=int(fits.sum()), model=m.name, cluster=cluster.name)
    return df
