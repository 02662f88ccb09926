"""The iteration model of a parallel transformer training step, vectorized over plans and models.

One optimizer step of a plan ``(t, p, d, c, e, ZeRO, b, m, v, recompute)`` takes::

    T = T_pipe + T_dp,exposed + T_optimizer + τ_0
    T_pipe = m·t_stage,max + κ_bubble·(p−1)/v·t_stage,mean          (1F1B / interleaved)
    t_stage = (ℓ/L)·(t_layers + t_tp + t_cp,exposed + t_ep) + [last stage] t_head + t_p2p (+ ZeRO-3 exposed)

per micro-batch of ``b`` sequences of ``s`` tokens (``s/c`` per rank under context parallelism):
``t_layers`` is the roofline of the layers' operators (GEMM FLOPs over ``η_c·γ``, element-wise
bytes over ``η_m·β_mem``) for forward + backward (×3 FLOPs; full recomputation adds a forward,
selective the attention core's), each layer pass taking at least the host's launch time
``τ_layer`` (a smooth maximum ``(t_gpu⁴ + τ⁴)^¼``: small layers are launch-bound); ``t_tp``,
``t_cp``, ``t_ep``, ``t_p2p`` and the data-parallel terms are the collectives of :mod:`.tensor`,
:mod:`.context`, :mod:`.expert`, :mod:`.pipeline` and :mod:`.zero` on the link tier each group
spans (:mod:`.placement`), at efficiencies ``η_tp``, ``η_dp``, each call costing ``τ_coll`` more.
The calibration (:mod:`plaster_model.calibration.llm_training`) fits ``η_c``, ``τ_layer``,
``η_m``, ``η_tp``, ``η_dp``, ``κ_bubble``, ``κ_recompute``, ``τ_0`` and ``τ_coll``.

Memory per device (the first or last pipeline stage, whichever holds more): model states of its
share of the parameters (:func:`~plaster_model.estimators.llm_memory.model_state_bytes`),
Korthikanti activations of its layers for the micro-batches in flight, the output layer's
logits, and the framework reserve.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..estimators.data_parallel import TRAINING_FLOPS_FACTOR  # forward + backward = 3 forwards
from ..estimators.llm_memory import activation_bytes_per_layer, model_state_bytes, pipeline_inflight_microbatches
from .context import cp_comm_time_per_layer
from .expert import ep_comm_time_per_layer
from .pipeline import p2p_time_per_microbatch, pipeline_time
from .tensor import tp_collectives_per_layer, tp_comm_time_per_layer
from .zero import dp_step_comm_time, zero3_microbatch_comm_time

__all__ = ["DEFAULT_EFFICIENCIES", "model_terms", "llm_step", "OPTIMIZER_STEP_BYTES_PER_PARAM"]

#: Uncalibrated defaults (the calibration's prior medians): GEMM efficiency of peak, element-wise
#: memory efficiency, launch time of a layer's forward pass [s], TP and DP collective
#: efficiencies, bubble and recomputation scales, per-step overhead [s], cost per collective call [s].
DEFAULT_EFFICIENCIES = {"eta_c": 0.6, "eta_m": 0.7, "tau_layer": 2e-4, "eta_tp": 0.7, "eta_dp": 0.7,
                        "k_bubble": 1.0, "k_recompute": 1.0, "tau0": 0.01, "tau_coll": 2e-5}
#: HBM bytes per local parameter an Adam step touches: reads fp32 master, m, v and the gradient
#: (16 B), writes master, m, v (12 B) and the 16-bit weight (2 B).
OPTIMIZER_STEP_BYTES_PER_PARAM = 30.0


@dataclass(frozen=True)
class _Terms:
    """Whole-model per-token quantities of a transformer (forward, from the operator table)."""

    name: str
    layers: int
    hidden: int
    heads: int
    kv_hidden: float
    ffn: float            # MLP width kept in activations (MoE: top_k·expert + shared)
    gated: bool
    vocab: int
    moe_layers: int
    top_k: float
    f_tp: float           # FLOPs/token of tensor-split GEMMs (dense and active experts), all layers
    f_rep: float          # FLOPs/token not split by TP (router, norms, ...), all layers
    attn_per_key: float   # attention-core FLOPs/token/key, all layers
    f_head: float         # output layer FLOPs/token
    elem_bytes_tp: float  # element-wise activation elements/token of TP-split ops, all layers
    elem_bytes_rep: float  # ... of ops TP does not split (norms, residuals)
    p_layers_tp: float    # parameters split by TP (attention, dense MLP, shared experts)
    p_layers_rep: float   # parameters every TP rank keeps (norms, router)
    p_experts: float      # routed-expert parameters (split over ep and tp)
    p_embed: float        # input embedding (+ learned positions), split by TP over the vocabulary
    p_head: float         # untied output layer (0 when tied: the last stage keeps a copy)
    tied: bool
    causal: bool
    dropout: bool = True  # dropout masks kept for the backward pass (GPT-3 recipes; not Llama's)


def model_terms(cfg) -> _Terms:
    """The per-token terms of a :class:`~plaster_model.catalog.transformer.TransformerConfig`,
    summed from :func:`~plaster_model.estimators.transformer.transformer_operators` and
    :func:`~plaster_model.estimators.transformer.transformer_param_counts` (the one home of the
    transformer's FLOPs and parameters)."""
    from ..estimators.transformer import trains_with_dropout, transformer_operators, transformer_param_counts

    ops = transformer_operators(cfg)
    pc = transformer_param_counts(cfg)
    n = ops["layers"].to_numpy(float)
    cls = ops["op_class"].to_numpy(str)
    split = ops["tp_split"].to_numpy(bool)
    f = ops["flops_per_token"].to_numpy(float) * n
    head = cls == "lm_head"
    emb = cls == "embedding"
    lin = ~head & ~emb
    elem = ops["act_elems_per_token"].to_numpy(float) * n
    mem_ops = np.isin(cls, ["norm", "elementwise"])
    moe_layers = int(getattr(cfg, "n_moe_layers", 0) or 0)
    top_k = float(cfg.top_k or 0) if cfg.is_moe else 0.0
    if cfg.is_moe:
        dense_l = cfg.n_layers - moe_layers
        ffn_moe = top_k * (cfg.expert_ffn_dim or 0) + (cfg.n_shared_experts or 0) * (cfg.shared_ffn_dim or cfg.expert_ffn_dim or 0)
        ffn = (dense_l * cfg.ffn_dim + moe_layers * ffn_moe) / cfg.n_layers
    else:
        ffn = cfg.ffn_dim
    return _Terms(
        name=cfg.name, layers=int(cfg.n_layers), hidden=int(cfg.d_model), heads=int(cfg.n_heads),
        kv_hidden=float((getattr(cfg, "kv_heads_effective", None) or cfg.n_kv_heads or cfg.n_heads) * cfg.head_dim), ffn=float(ffn), gated=bool(cfg.gated_mlp),
        vocab=int(cfg.vocab_size), moe_layers=moe_layers, top_k=top_k,
        f_tp=float(f[lin & split & ~mem_ops].sum()), f_rep=float(f[lin & ~split & ~mem_ops].sum()),
        attn_per_key=float((ops["attn_flops_per_key"].to_numpy(float) * n).sum()),
        f_head=float(f[head].sum()),
        elem_bytes_tp=float(elem[mem_ops & split].sum()), elem_bytes_rep=float(elem[mem_ops & ~split].sum()),
        p_layers_tp=float(pc["attention"] + pc["mlp"] + pc.get("shared_experts", 0.0)),
        p_layers_rep=float(pc["norms"] + pc.get("router", 0.0) + pc.get("other", 0.0)),
        p_experts=float(pc.get("experts", 0.0)),
        p_embed=float(pc["embedding"]),  # token (+ learned position) embeddings
        p_head=float(pc.get("lm_head", 0.0)), tied=bool(cfg.tied_embeddings), causal=not bool(cfg.encoder),
        dropout=trains_with_dropout(cfg),
    )


def _a(x):
    return np.asarray(x, dtype=float)


#: Exponent of the smooth maximum of GPU time and launch time.
SMOOTH_MAX_ORDER = 4.0


def smooth_max(a, b, k=SMOOTH_MAX_ORDER):
    """``(a^k + b^k)^(1/k)``: max(a, b) where one dominates, 2^(1/k)·a where they are equal.

    >>> round(float(smooth_max(1.0, 0.0)), 6), round(float(smooth_max(1.0, 1.0)), 4)
    (1.0, 1.1892)
    """
    return (np.asarray(a, dtype=float) ** k + np.asarray(b, dtype=float) ** k) ** (1.0 / k)


def llm_step(terms: dict, hw: dict, plan: dict, eff: dict) -> dict:
    """Evaluate the step model (module docstring) on broadcastable arrays.

    Parameters
    ----------
    terms : dict
        Fields of :func:`model_terms` (scalars or arrays, one per row).
    hw : dict
        ``peak`` [FLOP/s] of the GEMM precision, ``mem_bw`` [B/s], ``memory`` [B], and
        ``beta_*`` [B/s] / ``alpha_*`` [s] for the ``tp``, ``cp``, ``ep``, ``dp``, ``pp`` groups.
    plan : dict
        ``tp, pp, dp, cp, ep, sp, zero, mb, m, v, rec`` (0 none, 1 selective, 2 full),
        ``flash`` (bool), ``seq_len``, ``w_bytes``, ``g_bytes``, ``o_bytes``, ``act_bytes``,
        ``comm_bytes`` (activation bytes on the wire), ``dp_overlap`` (bool), ``reserve`` [B];
        optional: ``etp`` (experts' tensor-parallel size, default ``tp``), ``lora`` (bool: a
        LoRA fine-tune), ``lora_params`` (its adapter parameters, whole model), ``frozen_mlp``
        (the MLP carries no adapter).
    eff : dict
        :data:`DEFAULT_EFFICIENCIES` keys.

    Returns
    -------
    dict of numpy.ndarray
        Times [s]: ``time_per_iter_s``, ``compute_s`` (m·stage compute, no bubble), ``tp_s``,
        ``pp_bubble_s``, ``pp_p2p_s``, ``dp_s`` (exposed), ``cp_s``, ``ep_s``, ``zero3_s``,
        ``optimizer_s``, ``overhead_s``; memory [B]: ``mem_weights``, ``mem_grads``,
        ``mem_optimizer``, ``mem_activations``, ``mem_reserve``, ``mem_total``; ``hw_flops``
        (FLOPs executed per device per step, recomputation included).
    """
    T = terms
    tp, pp, dp, cp, ep = (_a(plan[k]) for k in ("tp", "pp", "dp", "cp", "ep"))
    etp = _a(plan.get("etp", plan["tp"]))
    lora = np.asarray(plan.get("lora", False), dtype=bool)
    p_lora = np.where(lora, _a(plan.get("lora_params", 0.0)), 0.0)
    sp = np.asarray(plan["sp"], dtype=bool)
    zero = _a(plan["zero"])
    # under pipeline parallelism FSDP keeps a stage's weights gathered (and its gradients
    # unsharded) across the micro-batches, gathering and reducing once per step (torchtitan's
    # reshard_after_forward=False with PP; DeepSpeed has no ZeRO-3 with PP): ZeRO-1's memory and traffic
    zero = np.where((zero >= 3) & (_a(plan["pp"]) > 1), 1.0, zero)
    mb, m, v, rec = _a(plan["mb"]), _a(plan["m"]), _a(plan["v"]), _a(plan["rec"])
    s = _a(plan["seq_len"])
    L = _a(T["layers"])
    h = _a(T["hidden"])
    flash = np.asarray(plan["flash"], dtype=bool)
    causal = np.asarray(T["causal"], dtype=bool)
    # --- compute of the whole layer stack for one micro-batch on one rank (forward)
    tok = mb * s / cp
    keys = np.where(flash & causal, (s + 1.0) / 2.0, s)  # a fused causal kernel skips masked blocks
    f_adapt = tok * 2.0 * p_lora / tp  # LoRA adapters' forward GEMMs (2 FLOPs per weight and token)
    f_lin = tok * (_a(T["f_tp"]) / tp + _a(T["f_rep"])) + f_adapt
    f_att = tok * keys * _a(T["attn_per_key"]) / tp
    e_bytes = tok * (_a(T["elem_bytes_tp"]) / tp + _a(T["elem_bytes_rep"]) / np.where(sp, tp, 1.0)) * _a(plan["act_bytes"])
    gamma = _a(hw["peak"]) * eff["eta_c"]
    mem_rate = _a(hw["mem_bw"]) * eff["eta_m"]
    gamma_att = _a(hw.get("peak_attn", hw["peak"])) * eff["eta_c"]  # fp8 recipes run attention in 16 bits
    t_lin, t_att, t_elem = f_lin / gamma, f_att / gamma_att, e_bytes / mem_rate
    # a layer's kernels run no faster than the host issues them: the pass takes the larger of its
    # GPU time and the launch time τ_layer (a smooth maximum: the two overlap asynchronously)
    fwd = L * smooth_max((t_lin + t_att + t_elem) / L, eff["tau_layer"])
    # backward = 2 forwards (input and weight gradients); a LoRA fine-tune's frozen GEMMs skip
    # the weight gradients (1×), its adapters, the attention core and element-wise ops do not
    t_adapt = f_adapt / gamma
    bwd_lora = L * smooth_max((t_lin - t_adapt + 2.0 * (t_adapt + t_att + t_elem)) / L, 2.0 * eff["tau_layer"])
    bwd = np.where(lora, bwd_lora, (TRAINING_FLOPS_FACTOR - 1.0) * fwd)
    # recomputation: full re-runs the forward, selective the attention core
    recomp = np.where(rec == 2, fwd, np.where(rec == 1, t_att, 0.0)) * eff["k_recompute"]
    t_layers = fwd + bwd + recomp
    bwd_flops = np.where(lora, f_lin + f_adapt + 2.0 * f_att, (TRAINING_FLOPS_FACTOR - 1.0) * (f_lin + f_att))
    hw_flops_mb = f_lin + f_att + bwd_flops + np.where(rec == 2, f_lin + f_att, np.where(rec == 1, f_att, 0.0))
    f_head = tok * _a(T["f_head"]) / tp
    head_factor = np.where(lora, 2.0, TRAINING_FLOPS_FACTOR)  # a frozen output layer: no weight gradient
    t_head = head_factor * f_head / gamma
    # collective efficiency by the link tier a group runs on, not by its parallel dimension:
    # η_tp on the scale-up domain (NVLink/NVSwitch, Infinity Fabric, ICI), η_dp on the network
    def eta(g):
        return np.where(_a(hw.get(f"tier_{g}", 0)) > 0, eff["eta_dp"], eff["eta_tp"])

    # --- tensor-parallel collectives (per layer, every micro-batch)
    cb = _a(plan["comm_bytes"])
    # every collective call also costs a fixed τ_coll (NCCL launch and synchronization)
    calls = tp_collectives_per_layer(rec, sp) * np.where(sp, 2.0, 1.0) * (tp > 1)
    t_tp = L * (tp_comm_time_per_layer(mb, s / cp, h, tp, _a(hw["beta_tp"]) * eta("tp"), _a(hw["alpha_tp"]),
                                       sp, rec, cb) + calls * eff["tau_coll"])
    # --- context parallelism: ring attention overlaps the attention core, the rest is exposed
    t_cp_raw = L * cp_comm_time_per_layer(mb, s, _a(T["kv_hidden"]) / tp, cp, _a(hw["beta_cp"]) * eta("cp"),
                                          _a(hw["alpha_cp"]), cb)
    t_cp = np.maximum(0.0, t_cp_raw - TRAINING_FLOPS_FACTOR * t_att)
    # --- expert parallelism: two all-to-alls forward and two backward per MoE layer
    t_ep = _a(T["moe_layers"]) * ep_comm_time_per_layer(mb, s / cp, h / np.where(sp, tp, 1.0), _a(T["top_k"]), ep,
                                                        _a(hw["beta_ep"]) * eta("ep"), _a(hw["alpha_ep"]), cb)
    # --- stages: the slowest holds ceil(L/p) layers and, when it is the last, the output layer
    lp_max = np.ceil(L / pp - 1e-9)
    per_layer = (t_layers + t_tp + t_cp + t_ep) / L
    t_p2p = p2p_time_per_microbatch(mb, s / cp, h, tp, pp, _a(hw["beta_pp"]) * eta("pp"),
                                    _a(hw["alpha_pp"]) + eff["tau_coll"], v, cb)
    # parameters held by one rank (its stage's share), for ZeRO-3 traffic and model states
    p_layer = (_a(T["p_layers_tp"]) / tp + _a(T["p_layers_rep"]) + _a(T["p_experts"]) / (etp * ep)) / L
    p_embed = _a(T["p_embed"]) / tp
    p_head = np.where(np.asarray(T["tied"], dtype=bool), p_embed, _a(T["p_head"]) / tp)
    p_first = lp_max * p_layer + p_embed + np.where(pp == 1, p_head * (1 - np.asarray(T["tied"], dtype=float)), 0.0)
    p_last = lp_max * p_layer + np.where(pp == 1, p_embed + p_head * (1 - np.asarray(T["tied"], dtype=float)), p_head)
    p_rank = np.maximum(p_first, p_last)
    # routed experts are sharded over etp·ep already: their states and gradients go over the
    # expert-data-parallel group of tp·dp·cp/(etp·ep) ranks (dp·cp/ep when etp = tp), the rest
    # over all dp·cp
    dpg = dp * cp
    edp = np.maximum(1.0, tp * dpg / (etp * ep))
    p_exp = lp_max * _a(T["p_experts"]) / (etp * ep * L)
    p_dense = p_rank - p_exp
    # what trains: everything, or (LoRA) only the adapters of the rank's layers (TP-split)
    p_train = np.where(lora, lp_max * p_lora / (L * tp), p_dense)
    p_train_exp = np.where(lora, 0.0, p_exp)
    p_dense = p_dense + np.where(lora, p_train, 0.0)  # adapters' weights are held too
    z3 = zero >= 3
    beta_dp, alpha_dp = _a(hw["beta_dp"]) * eta("dp"), _a(hw["alpha_dp"])
    g_b, w_b = _a(plan["g_bytes"]), _a(plan["w_bytes"])
    t_z3_raw = (zero3_microbatch_comm_time(p_train * g_b, p_dense * w_b, dpg, beta_dp, alpha_dp)
                + zero3_microbatch_comm_time(p_train_exp * g_b, p_exp * w_b, edp, beta_dp, alpha_dp))
    # every stage's layers, plus the output layer on the last (the only stage when p = 1)
    t_stage_max = lp_max * per_layer + t_head + t_p2p
    t_z3 = np.where(z3, np.maximum(0.0, t_z3_raw - t_stage_max), 0.0)
    t_stage_max = t_stage_max + t_z3
    t_stage_mean = (L * per_layer + t_head) / pp + t_p2p + t_z3
    t_pipe = pipeline_time(t_stage_max, t_stage_mean, pp, m, v, eff["k_bubble"])
    bubble = t_pipe - m * t_stage_max
    # --- data-parallel gradient exchange once per step (ZeRO 0-2), over dp·cp ranks
    t_dp_raw = (dp_step_comm_time(p_train * g_b, p_train * w_b, dpg, beta_dp, alpha_dp, zero)
                + dp_step_comm_time(p_train_exp * g_b, p_train_exp * w_b, edp, beta_dp, alpha_dp, zero))
    window = (2.0 / 3.0) * (t_stage_max - t_p2p - t_z3)  # the last micro-batch's backward pass
    t_dp = np.where(np.asarray(plan["dp_overlap"], dtype=bool), np.maximum(0.0, t_dp_raw - window), t_dp_raw)
    # --- optimizer step: memory-bound over the rank's (sharded) parameters
    t_opt = OPTIMIZER_STEP_BYTES_PER_PARAM * (p_train / np.where(zero >= 1, dpg, 1.0)
                                              + p_train_exp / np.where(zero >= 1, edp, 1.0)) / mem_rate
    total = t_pipe + t_dp + t_opt + eff["tau0"]
    # --- memory per device
    o_b = _a(plan["o_bytes"])
    # weights of everything held; gradients and optimizer states of what trains
    w_d, w_e = (model_state_bytes(p, n, zero, w_b, g_b, o_b)["weights"] for p, n in ((p_dense, dpg), (p_exp, edp)))
    ms_d = model_state_bytes(p_train, dpg, zero, w_b, g_b, o_b)
    ms_e = model_state_bytes(p_train_exp, edp, zero, w_b, g_b, o_b)
    ms = {k: ms_d[k] + ms_e[k] for k in ms_d}
    ms["weights"] = w_d + w_e
    ms["total"] = ms["weights"] + ms["gradients"] + ms["optimizer"]
    act_layer = activation_bytes_per_layer(s / cp, mb, h, _a(T["heads"]), tp, sp, rec, ffn_hidden=_a(T["ffn"]),
                                           kv_hidden=_a(T["kv_hidden"]), gated_mlp=np.asarray(T["gated"], bool),
                                           scores=~flash, bytes_per_element=_a(plan["act_bytes"]),
                                           frozen_mlp=lora & np.asarray(plan.get("frozen_mlp", True), dtype=bool),
                                           dropout=np.asarray(T.get("dropout", True), dtype=bool),
                                           gemm_input_bytes=_a(plan.get("gemm_act_bytes", plan["act_bytes"])))
    inflight = pipeline_inflight_microbatches(pp, m, v)
    act_first = lp_max * act_layer * inflight
    logits = 4.0 * tok * _a(T["vocab"]) / tp  # fp32 logits of one micro-batch for the loss
    act_last = lp_max * act_layer + logits
    act = np.where(pp == 1, act_first + logits, np.maximum(act_first, act_last))
    reserve = _a(plan["reserve"])
    mem_total = ms["total"] + act + reserve
    return {
        "time_per_iter_s": total, "compute_s": m * (lp_max * t_layers / L + t_head),
        "tp_s": m * lp_max * t_tp / L, "cp_s": m * lp_max * t_cp / L, "ep_s": m * lp_max * t_ep / L,
        "pp_bubble_s": bubble, "pp_p2p_s": m * t_p2p, "zero3_s": m * t_z3, "dp_s": t_dp,
        "optimizer_s": t_opt, "overhead_s": np.broadcast_to(eff["tau0"], np.shape(total)) + 0.0,
        "hw_flops": m * (lp_max / L * hw_flops_mb + head_factor * f_head),
        "mem_weights": ms["weights"], "mem_grads": ms["gradients"], "mem_optimizer": ms["optimizer"],
        "mem_activations": act, "mem_reserve": reserve + 0.0 * total, "mem_total": mem_total,
    }
