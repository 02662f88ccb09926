"""From a transformer, a device and a parallel layout to the per-GPU geometry of serving.

:func:`model_shape` sums the transformer operator table
(:func:`plaster_model.estimators.transformer.transformer_operators`) into the few totals
serving needs; :func:`serving_geometry` splits them over the layout (vectorized over arrays of
layouts, workloads and precisions) into the ``g`` dict that
:func:`plaster_model.estimators.serving.serving_step_times` evaluates.

Layout (one worker; aiconfigurator's and the engines' meanings): ``tp`` tensor parallel,
``pp`` pipeline stages, ``attention_dp`` attention data-parallel ranks (each holds its own
requests and KV cache; the MoE layers span all ``tp·attention_dp`` GPUs of a stage), ``ep``
expert parallel and ``moe_tp`` expert tensor parallel with ``moe_tp·ep = tp·attention_dp``.
GPUs per worker = ``tp·pp·attention_dp``.
"""
from __future__ import annotations

import numpy as np

from ..errors import ParameterError

__all__ = ["model_shape", "serving_geometry", "SHAPE_KEYS"]

SHAPE_KEYS = ("layers", "moe_layers", "d_model", "experts", "top_k", "dense_params", "replicated_params",
              "expert_params", "expert_flops_per_token", "attn_flops_per_key", "attn_flops_per_key_decode",
              "kv_elems_per_token", "kv_heads",
              "is_mla", "window", "window_share", "embedding_params", "total_params")


def model_shape(cfg) -> dict:
    """Totals of a :class:`~plaster_model.catalog.transformer.TransformerConfig` used by serving.

    Sums :func:`~plaster_model.estimators.transformer.transformer_operators` over layers.

    Returns
    -------
    dict
        ``layers``, ``moe_layers``, ``d_model``, ``experts``, ``top_k``; ``dense_params``
        (GEMM weights every token reads that tensor parallelism splits: attention projections,
        dense and shared MLPs, the LM head), ``replicated_params`` (GEMM weights every rank
        keeps whole: MLA's down-projections, the router), ``expert_params`` (all routed
        experts), ``expert_flops_per_token`` (routed-expert FLOPs per token),
        ``attn_flops_per_key`` (attention-core FLOPs per token per attended key, all layers),
        ``attn_flops_per_key_decode`` (the same in decode: MLA's absorbed form),
        ``kv_elems_per_token`` (cache elements per token, all layers, windowed layers at full
        length), ``kv_heads`` (KV heads tensor parallelism splits; 1 for MLA, whose latent
        every rank keeps), ``is_mla``, ``window`` and ``window_share`` (keys of the
        sliding-window layers and their share of the attention layers), ``embedding_params``,
        ``total_params``.

    Examples
    --------
    >>> import plaster_model as pm
    >>> s = model_shape(pm.load_model("Llama-3.1-70B").transformer)
    >>> s["kv_elems_per_token"], s["kv_heads"]          # 2 x 80 layers x 8 heads x 128
    (163840.0, 8.0)
    """
    from ..estimators.transformer import (kv_cache_bytes_per_token, transformer_operators,
                                          transformer_param_counts)
    ops = transformer_operators(cfg)
    counts = transformer_param_counts(cfg)
    layers = ops["layers"].to_numpy(float)
    cls = ops["op_class"].to_numpy()
    split = ops["tp_split"].to_numpy(bool)
    # the LM head reads the (possibly tied) vocabulary matrix: its active weights
    w = np.where(cls == "lm_head", ops["active_weight_params"].to_numpy(float),
                 ops["weight_params"].to_numpy(float)) * layers
    gemm = np.isin(cls, ("gemm", "router", "lm_head"))
    moe = cls == "moe_gemm"
    attn = (cls == "attention") & (ops["attn_flops_per_key"].to_numpy(float) > 0)
    fpk = ops["attn_flops_per_key"].to_numpy(float) * layers
    windowed = attn & (ops["window"].to_numpy(float) > 0)
    n_attn = layers[attn].sum()
    return {
        "layers": float(cfg.n_layers), "moe_layers": float(cfg.n_moe_layers if cfg.is_moe else 0),
        "d_model": float(cfg.d_model), "experts": float(cfg.n_experts if cfg.is_moe else 0),
        "top_k": float(cfg.top_k) if cfg.is_moe else 0.0,
        "dense_params": float(w[gemm & split].sum()), "replicated_params": float(w[gemm & ~split].sum()),
        "expert_params": float(w[moe].sum()),
        "expert_flops_per_token": float((ops["flops_per_token"].to_numpy(float) * layers)[moe].sum()),
        "attn_flops_per_key": float(fpk[attn].sum()),
        # decode with MLA runs the absorbed form (DeepSeek-V2 §2.1.2; FlashMLA): queries projected
        # into the latent, scores over the d_c + d_R cached elements and the output in the latent,
        # 2·a·(d_c + d_R) + 2·a·d_c FLOPs per key per layer instead of 2·a·(d_nope + d_R + d_v)
        "attn_flops_per_key_decode": float(
            (2.0 * cfg.n_heads * (2 * cfg.kv_lora_rank + cfg.qk_rope_head_dim)) * layers[attn].sum()
            if cfg.is_mla else fpk[attn].sum()),
        "kv_elems_per_token": float(kv_cache_bytes_per_token(cfg, bytes_per_element=1.0)),
        "kv_heads": 1.0 if cfg.is_mla else float(cfg.n_kv_heads),
        "is_mla": bool(cfg.is_mla), "window": float(cfg.sliding_window or 0),
        "window_share": float(layers[windowed].sum() / n_attn) if n_attn else 0.0,
        "embedding_params": float(counts.get("embedding", 0.0)), "total_params": float(counts["total"]),
    }


def _arr(x):
    return np.asarray(x, dtype=float)


def check_layout(shape: dict, tp, pp, attention_dp, ep):
    """Refuse layouts the model cannot take (ParameterError naming the argument)."""
    tp, pp, adp, ep = (np.atleast_1d(_arr(v)) for v in (tp, pp, attention_dp, ep))
    for name, v in (("tp", tp), ("pp", pp), ("attention_dp", adp), ("ep", ep)):
        if not np.all((v >= 1) & (v == np.round(v))):
            raise ParameterError(name, v[~((v >= 1) & (v == np.round(v)))][0], "an integer >= 1")
    if np.any(pp > shape["layers"]):
        raise ParameterError("pp", pp.max(), f"at most the model's {int(shape['layers'])} layers")
    if shape["experts"] == 0 and np.any(ep > 1):
        raise ParameterError("ep", ep.max(), "1 for a dense model (no experts to spread)")
    bad = ep > tp * adp
    if np.any(bad):
        raise ParameterError("ep", ep[bad][0], "a divisor of tp·attention_dp (moe_tp·ep = tp·attention_dp)")
    if shape["experts"] and np.any(shape["experts"] % ep != 0):
        raise ParameterError("ep", ep[shape["experts"] % ep != 0][0],
                             f"a divisor of the model's {int(shape['experts'])} experts")


def serving_geometry(shape: dict, *, tp, pp, attention_dp, ep, weight_bytes, moe_weight_bytes,
                     kv_bytes, act_bytes=2.0) -> dict:
    """Per-GPU, per-stage geometry of a worker (the model part of ``g``; arrays broadcast).

    Tensor parallelism splits the GEMM weights and the attention heads over ``tp`` (Shoeybi et
    al. 2019) and the KV heads over ``min(tp, kv_heads)`` (ranks beyond the KV-head count keep
    copies; an MLA latent is kept whole on every rank); the routed experts spread over the
    stage's ``tp·attention_dp`` GPUs; pipeline parallelism splits the layers over ``pp``.
    """
    tp, pp, adp, ep = (_arr(v) for v in (tp, pp, attention_dp, ep))
    stage_gpus = tp * adp
    kv_split = np.minimum(tp, shape["kv_heads"])
    return {
        "gemm_params": (shape["dense_params"] / tp + shape["replicated_params"]) / pp,
        "gemm_weight_bytes": (shape["dense_params"] / tp + shape["replicated_params"]) / pp * weight_bytes,
        "expert_params": shape["expert_params"] / stage_gpus / pp,
        "expert_weight_bytes": shape["expert_params"] / stage_gpus / pp * moe_weight_bytes,
        "experts": shape["experts"] + 0.0 * tp, "top_k": shape["top_k"] + 0.0 * tp,
        "moe_flops_per_token": shape["expert_flops_per_token"] / stage_gpus / pp,
        "attn_flops_per_key": shape["attn_flops_per_key"] / tp / pp,
        "attn_flops_per_key_decode": shape["attn_flops_per_key_decode"] / tp / pp,
        "kv_bytes_per_token": shape["kv_elems_per_token"] * kv_bytes / kv_split / pp,
        "layers": shape["layers"] / pp, "moe_layers": shape["moe_layers"] / pp,
        "window": shape["window"] + 0.0 * tp, "window_share": shape["window_share"] + 0.0 * tp,
        "d_model": shape["d_model"] + 0.0 * tp, "act_bytes": act_bytes + 0.0 * tp,
        "tp": tp, "pp": pp, "attention_dp": adp, "ep": ep,
        # weights held per GPU (memory): GEMMs, experts, and the vocabulary-parallel embedding
        "weight_bytes_gpu": ((shape["dense_params"] * weight_bytes + shape["embedding_params"] * 2.0) / tp
                             + shape["replicated_params"] * weight_bytes) / pp
        + shape["expert_params"] * moe_weight_bytes / stage_gpus / pp,
    }
