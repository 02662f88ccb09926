"""``predict_llm_training``: one parallel training step of a transformer on a cluster.

Resolves the model (a zoo transformer or :meth:`~plaster_model.Model.from_hf_config`), the
plan (:class:`~plaster_model.ParallelPlan`), the precision recipe and the link tier of every
group, evaluates :func:`~plaster_model.parallel.step.llm_step` once, refuses a plan that does
not fit in device memory (:class:`~plaster_model.MemoryFitError`, naming the largest term and
the excess) and reports time per step, tokens/s, model TFLOP/s per device, MFU (PaLM's
definition), the breakdown and memory per device, with the calibration's interval.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .._results import Result
from ..errors import MemoryFitError, ParameterError
from ..units import format_si
from .placement import cluster_tiers, group_link
from .plan import ParallelPlan, ResolvedPlan
from .step import DEFAULT_EFFICIENCIES, llm_step, model_terms

__all__ = ["LLMTrainingPrediction", "predict_llm_training", "precision_recipe", "transformer_of",
           "hardware_arrays", "plan_arrays", "efficiencies_from"]

_GEMM_PEAKS = {"bf16": ("bf16_tensor", "bf16"), "fp16": ("fp16_tensor", "fp16"),
               "mixed": ("bf16_tensor", "fp16_tensor", "bf16", "fp16"),
               "fp8": ("fp8",), "fp4": ("fp4", "nvfp4", "mxfp4"), "fp32": ("fp32",), "tf32": ("tf32",)}


def precision_recipe(device, precision="bf16", grad_reduce_precision="fp32") -> dict:
    """Peaks and bytes of a training precision as frameworks run it.

    ``bf16``/``fp16``/``mixed``: AMP, 16-bit GEMMs and activations, fp32 master weights and
    Adam states (12 B/parameter), gradients accumulated and all-reduced in
    ``grad_reduce_precision`` (fp32 by default: 4 B). ``fp8``: Transformer Engine, fp8 GEMMs,
    attention and everything else in bf16, same states. ``fp4``: fp4 GEMMs where the device
    publishes an fp4 peak. ``fp32``/``tf32``: 4-byte weights, gradients, activations, Adam 8 B.
    ``gemm_act_bytes``: bytes of the activations the GEMMs save for the backward pass (fp8 and
    fp4 recipes: 1, Transformer Engine's fp8 copies; fp4 kept at 1 B, not assumed smaller).

    Examples
    --------
    >>> import plaster_model as pm
    >>> r = precision_recipe(pm.load_device("H100"), "fp8")
    >>> r["peak"] / 1e12, r["peak_attn"] / 1e12, r["g_bytes"]
    (1978.9, 989.4, 4.0)
    """
    prec = str(precision).strip().lower()
    if prec not in _GEMM_PEAKS:
        raise ParameterError("precision", precision, f"one of {tuple(_GEMM_PEAKS)}")
    keys = [k for k in _GEMM_PEAKS[prec] if k in device.peak_flops]
    if not keys:
        raise ParameterError("precision", precision,
                             f"a precision {device.name} has a published peak for ({sorted(device.peak_flops)})")
    peak = float(device.peak_flops[keys[0]])
    wide = prec in ("fp32", "tf32")
    if wide:
        attn = peak
    else:
        half = [k for k in _GEMM_PEAKS["mixed"] if k in device.peak_flops]
        attn = float(device.peak_flops[half[0]]) if half else peak
    g = 4.0 if (wide or grad_reduce_precision == "fp32") else 2.0
    return {"precision": prec, "peak_key": keys[0], "peak": peak, "peak_attn": attn,
            "w_bytes": 4.0 if wide else 2.0, "g_bytes": g, "o_bytes": 8.0 if wide else 12.0,
            "act_bytes": 4.0 if wide else 2.0, "comm_bytes": 4.0 if wide else 2.0,
            # Transformer Engine keeps the GEMM inputs for the weight gradients in fp8
            "gemm_act_bytes": 1.0 if prec in ("fp8", "fp4") else (4.0 if wide else 2.0)}


def transformer_of(model):
    """``(Model, TransformerConfig)`` of a zoo name or a Model; refuses a non-transformer."""
    from ..catalog.loader import active_catalog

    m = active_catalog().get("model", model) if not hasattr(model, "transformer") else model
    cfg = getattr(m, "transformer", None)
    if cfg is None:
        raise ParameterError("model", getattr(m, "name", model),
                             "a transformer (a zoo LLM or pm.Model.from_hf_config(...)) for a parallel plan")
    return m, cfg


def hardware_arrays(cluster, recipe, tp, pp, dp, cp, ep, etp=None) -> dict:
    """Peaks, memory and each group's link (vectorized over the plan sizes). The expert-parallel
    group sits at stride ``etp`` (the experts' TP size: ``tp``, or 1 when folded over TP)."""
    links = cluster_tiers(cluster)
    tp, pp, dp, cp, ep = (np.asarray(x, dtype=float) for x in (tp, pp, dp, cp, ep))
    etp = tp if etp is None else np.asarray(etp, dtype=float)
    hw = {"peak": recipe["peak"], "peak_attn": recipe["peak_attn"],
          "mem_bw": float(cluster.device.memory_bandwidth), "memory": float(cluster.device.memory_bytes)}
    for name, size, stride in (("tp", tp, 1.0), ("cp", cp, tp), ("ep", ep, etp), ("dp", dp, tp * cp),
                               ("pp", np.where(pp > 1, 2.0, 1.0), tp * cp * dp)):
        b, a, tier = group_link(size, stride, links)
        hw[f"beta_{name}"], hw[f"alpha_{name}"], hw[f"tier_{name}"] = b, a, tier
    hw["links"] = links
    return hw


def plan_arrays(rp: ResolvedPlan, seq_len, recipe, lora_params=None) -> dict:
    """The :func:`llm_step` plan dict of one resolved plan (``lora_params``: the adapters'
    parameters of a LoRA plan, :func:`~plaster_model.estimators.transformer.lora_adapter_params`)."""
    from ..estimators.llm_memory import RECOMPUTE_CODES

    p = rp.plan
    return {"tp": p.tp, "pp": p.pp, "dp": p.dp, "cp": p.cp, "ep": p.ep, "sp": p.sp, "zero": p.zero,
            "mb": p.micro_batch, "m": rp.micro_batches, "v": p.virtual_stages, "rec": RECOMPUTE_CODES[p.recompute],
            "flash": p.attention == "flash", "seq_len": seq_len, "w_bytes": recipe["w_bytes"],
            "g_bytes": recipe["g_bytes"], "o_bytes": recipe["o_bytes"], "act_bytes": recipe["act_bytes"],
            "gemm_act_bytes": recipe.get("gemm_act_bytes", recipe["act_bytes"]),
            "comm_bytes": recipe["comm_bytes"], "dp_overlap": p.dp_overlap, "reserve": p.framework_reserve_bytes,
            "etp": p.expert_tp if p.expert_tp is not None else p.tp, "lora": p.finetune == "lora",
            "lora_params": lora_params if lora_params is not None else 0.0,
            "frozen_mlp": p.lora_targets == "attention"}


def efficiencies_from(calibration, device=None):
    """``(efficiencies, (low, high) time factors or None, notes)`` from a calibration that holds
    an LLM-training fit (``calibration.llm_training_``), else the uncalibrated defaults; the
    notes say when ``device`` is not one the fit saw."""
    fit = getattr(calibration, "llm_training_", None) if calibration is not None else None
    if fit is None:
        if calibration is not None and hasattr(calibration, "efficiencies") and hasattr(calibration, "interval_factors"):
            fit = calibration  # an LLMTrainingFit given directly
    if fit is None:
        return dict(DEFAULT_EFFICIENCIES), None, ["uncalibrated: default efficiencies "
                                                  + ", ".join(f"{k}={v:g}" for k, v in DEFAULT_EFFICIENCIES.items())]
    notes = [f"calibrated on {fit.n_rows_} LLM-training rows"]
    seen = getattr(fit, "devices_", ())
    if device is not None and seen and device.name not in seen:
        notes.append(f"{device.name} was not among the calibration's devices ({', '.join(seen)}): "
                     "their efficiencies are applied to its peaks and links")
    return fit.efficiencies(), fit.interval_factors(), notes


@dataclass(frozen=True)
class LLMTrainingPrediction(Result):
    """One parallel training step of a transformer.

    Times in seconds, memory in bytes, rates per second. ``mfu`` is PaLM's model FLOPs
    utilisation (model FLOPs, recomputation not counted, over the devices' dense peak);
    ``hfu`` counts the FLOPs executed (recomputation included). ``binding`` names the largest
    term besides compute. ``*_interval_s`` hold the calibration's 90 % interval.
    """

    model: str
    cluster: str
    device: str
    n_devices: int
    plan: str
    tp: int
    pp: int
    dp: int
    cp: int
    ep: int
    sp: bool
    zero: int
    virtual_stages: int
    recompute: str
    micro_batch: int
    global_batch: int
    micro_batches: int
    seq_len: int
    precision: str
    peak_flops: float
    time_per_iter_s: float
    throughput_tokens_s: float
    tflops_per_device: float
    mfu: float
    hfu: float
    model_flops_per_token: float
    compute_time_s: float
    tp_comm_time_s: float
    pp_bubble_time_s: float
    pp_p2p_time_s: float
    dp_comm_time_s: float
    cp_comm_time_s: float
    ep_comm_time_s: float
    zero3_comm_time_s: float
    optimizer_time_s: float
    overhead_time_s: float
    binding: str
    memory_weights_bytes: float
    memory_gradients_bytes: float
    memory_optimizer_bytes: float
    memory_activations_bytes: float
    memory_reserve_bytes: float
    memory_per_device_bytes: float
    device_memory_bytes: float
    calibrated: bool
    time_per_iter_interval_s: tuple[float, float] | None = None
    mfu_low: float | None = None
    mfu_high: float | None = None
    tokens: float | None = None
    time_to_train_s: float | None = None
    time_to_train_interval_s: tuple[float, float] | None = None
    assumptions: tuple[str, ...] = field(default=())

    @property
    def time_to_train_days(self) -> float | None:
        """``time_to_train_s`` in days."""
        return None if self.time_to_train_s is None else self.time_to_train_s / 86400.0

    def breakdown(self):
        """The step's terms as a tidy frame: ``term``, ``time_s``, ``fraction``."""
        import pandas as pd

        terms = {"compute": self.compute_time_s, "TP communication": self.tp_comm_time_s,
                 "PP bubble": self.pp_bubble_time_s, "PP point-to-point": self.pp_p2p_time_s,
                 "DP communication (exposed)": self.dp_comm_time_s, "CP communication (exposed)": self.cp_comm_time_s,
                 "EP all-to-all": self.ep_comm_time_s, "ZeRO-3 gathers (exposed)": self.zero3_comm_time_s,
                 "optimizer step": self.optimizer_time_s, "per-step overhead": self.overhead_time_s}
        df = pd.DataFrame({"term": list(terms), "time_s": list(terms.values())})
        df["fraction"] = df["time_s"] / self.time_per_iter_s
        return df

    def _summary_rows(self):
        rows = [("model / cluster", f"{self.model} on {self.cluster}"),
                ("plan", f"{self.plan}; micro-batch {self.micro_batch}, global batch {self.global_batch} "
                         f"({self.micro_batches} micro-batches), seq {self.seq_len}, {self.precision}"),
                ("time per step", format_si(self.time_per_iter_s, "s"))]
        if self.time_per_iter_interval_s:
            lo, hi = self.time_per_iter_interval_s
            rows.append(("  90% interval", f"{format_si(lo, 's')} – {format_si(hi, 's')}"))
        rows += [("throughput", f"{self.throughput_tokens_s:,.0f} tokens/s"),
                 ("per device", f"{self.tflops_per_device:.1f} model TFLOP/s, MFU {100 * self.mfu:.1f} %"
                  + (f" ({100 * self.mfu_low:.1f}–{100 * self.mfu_high:.1f} %)" if self.mfu_low else "")),
                 ("binding term", self.binding)]
        for term, t in self.breakdown().set_index("term")["time_s"].items():
            if t > 0:
                rows.append((f"  {term}", format_si(t, "s")))
        rows.append(("memory per device", f"{format_si(self.memory_per_device_bytes, 'B')} of "
                                          f"{format_si(self.device_memory_bytes, 'B')} (weights "
                                          f"{format_si(self.memory_weights_bytes, 'B')}, gradients "
                                          f"{format_si(self.memory_gradients_bytes, 'B')}, optimizer "
                                          f"{format_si(self.memory_optimizer_bytes, 'B')}, activations "
                                          f"{format_si(self.memory_activations_bytes, 'B')})"))
        if self.time_to_train_s is not None:
            rows.append((f"time to train {self.tokens:.3g} tokens", f"{self.time_to_train_days:.1f} days"))
        return rows


_BREAKDOWN = (("compute_s", "compute"), ("tp_s", "TP communication"), ("pp_bubble_s", "PP bubble"),
              ("pp_p2p_s", "PP point-to-point"), ("dp_s", "DP communication"), ("cp_s", "CP communication"),
              ("ep_s", "EP all-to-all"), ("zero3_s", "ZeRO-3 gathers"), ("optimizer_s", "optimizer step"),
              ("overhead_s", "per-step overhead"))
_MEMORY_TERMS = (("mem_weights", "weights"), ("mem_grads", "gradients"), ("mem_optimizer", "optimizer states"),
                 ("mem_activations", "activations"), ("mem_reserve", "framework reserve"))


def binding_term(out: dict, i=None) -> str | np.ndarray:
    """The largest term of a step besides compute (vectorized: an array of names)."""
    keys = [k for k, _ in _BREAKDOWN[1:]]
    stack = np.stack([np.broadcast_to(np.asarray(out[k], dtype=float), np.shape(out["time_per_iter_s"]))
                      for k in keys])
    names = np.array([n for _, n in _BREAKDOWN[1:]], dtype=object)
    return names[np.argmax(stack, axis=0)]


def memory_error_text(out: dict, device, plan_text: str, i=None) -> str:
    """The message of a plan that does not fit: the total, the excess and the largest term."""
    get = (lambda k: float(np.asarray(out[k]).ravel()[i])) if i is not None else (lambda k: float(out[k]))
    need, have = get("mem_total"), float(device.memory_bytes)
    parts = ", ".join(f"{n} {format_si(get(k), 'B')}" for k, n in _MEMORY_TERMS)
    big = max(_MEMORY_TERMS[:4], key=lambda kn: get(kn[0]))[1]
    hint = ("recompute='selective' or 'full', sp=True, a smaller micro_batch, or more tp/pp/cp"
            if big == "activations" else "shard them: zero=1/2/3, or more tp/pp; a fine-tune: finetune='lora'")
    return (f"plan {plan_text}: memory per device {format_si(need, 'B')} ({parts}) exceeds "
            f"{device.name}'s {format_si(have, 'B')} by {format_si(need - have, 'B')}; the largest term is "
            f"the {big} ({hint})")


def _multinode_assumptions(cluster, links, p, hw, pa) -> list:
    """The cross-node mechanisms a prediction rests on, in words (the assumptions list)."""
    out = []
    g = links.domain
    if cluster.n_devices > g and links.net_name:
        per_gpu = links.beta_net * links.nics / g
        out.append(f"network: {links.nics:g} × {links.net_name} ports per {g}-device scale-up domain "
                   f"({format_si(per_gpu, 'B/s')} per device when every device's group crosses at once); "
                   "collectives as α-β rings at that rate (hierarchical: a group with k ranks per domain "
                   "gets k devices' share of the ports); NCCL trees/SHARP not modelled")
    if p.dp * p.cp > 1:
        gb = "fp32" if pa["g_bytes"] == 4.0 else "16-bit"
        how = {0: "all-reduce", 1: "reduce-scatter + all-gather of the updated weights (distributed optimizer)",
               2: "reduce-scatter + all-gather (ZeRO-2)", 3: "ZeRO-3/FSDP all-gathers and reduce-scatter every micro-batch"}[p.zero]
        out.append(f"DP gradients accumulated and reduced in {gb} ({int(pa['g_bytes'])} B/element; Megatron's default "
                   f"for bf16 is fp32 main_grad; grad_reduce_precision= changes it): {how}"
                   + ("; overlapped with the last micro-batch's backward pass (--overlap-grad-reduce / DDP buckets)"
                      if p.dp_overlap and p.zero < 3 else "")
                   + ("; ZeRO-3 gathers overlapped with each micro-batch's compute" if p.zero >= 3 else ""))
    if p.zero >= 3 and p.pp > 1:
        out.append("ZeRO-3/FSDP with pipeline parallelism: a stage's weights stay gathered and its gradients "
                   "unsharded across the micro-batches, gathered and reduced once per step (torchtitan's "
                   "reshard_after_forward=False under PP): ZeRO-1's memory and traffic")
    if p.pp > 1 and cluster.n_devices > g and int(hw["tier_pp"]) == 1:
        out.append("PP point-to-point sends cross the network (stages on different scale-up domains)")
    return out


def predict_llm_training(model, cluster, plan: ParallelPlan | None = None, *, seq_len=None, global_batch=None,
                         precision="bf16", calibration=None, tokens=None, check_memory=True, finetune=None,
                         lora_rank=None) -> LLMTrainingPrediction:
    """Predict one optimizer step of a transformer under a parallel plan.

    ``T = m·t_stage + κ·(p−1)/v·t_stage + T_DP,exposed + T_opt + τ_0`` (see
    :mod:`plaster_model.parallel.step`); throughput ``B·s/T`` tokens/s; model FLOPs per token
    PaLM's ``6·N + 12·L·H·Q·T``; ``MFU = tokens/s · flops/token / (n · peak)``.

    Parameters
    ----------
    model : str or Model
        A zoo transformer (``"GPT-3 175B"``, ``"Llama-3.1-70B"``) or
        ``pm.Model.from_hf_config(...)``.
    cluster : Cluster
        The devices and their links (``pm.Cluster.from_system("DGX A100", n_nodes=128)``).
    plan : ParallelPlan, optional
        Default ``ParallelPlan()``: data parallelism over every device.
    seq_len : int, optional
        Tokens per sequence (default: the model's ``seq_len``, else its learned context capped
        at 4,096, else 4,096; stated in the assumptions).
    global_batch : int, optional
        Sequences per step when the plan leaves it open.
    precision : {"bf16", "fp16", "mixed", "fp8", "fp4", "fp32", "tf32"}
        Training precision as run (:func:`precision_recipe`).
    calibration : Calibration, optional
        A calibration fitted with LLM-training rows (its efficiencies and interval).
    tokens : float, optional
        Training tokens: adds ``time_to_train_s``.
    check_memory : bool
        Refuse (:class:`~plaster_model.MemoryFitError`) a plan that does not fit (default);
        ``False`` answers anyway, with a :class:`~plaster_model.MemoryWarning`.
    finetune : {"full", "lora"}, optional
        Overrides the plan's ``finetune``: ``"lora"`` trains rank-``lora_rank`` adapters on
        frozen weights (no weight gradients or optimizer states for the base; its backward
        still computes input gradients; model FLOPs per token ``4·N + 6·P_LoRA + 12·L·H·Q·T``,
        :func:`~plaster_model.estimators.transformer.lora_model_flops_per_token`).
    lora_rank : int, optional
        Overrides the plan's ``lora_rank`` (default 16).

    Returns
    -------
    LLMTrainingPrediction

    Raises
    ------
    MemoryFitError
        The plan needs more memory than a device has; the message names the excess and the
        largest term.
    ParameterError
        A plan that does not tile the cluster or the batch, a non-transformer model, a
        precision the device has no peak for.

    References
    ----------
    Narayanan et al., SC'21 (arXiv:2104.04473); Korthikanti et al., MLSys'23
    (arXiv:2205.05198); Chowdhery et al., PaLM (arXiv:2204.02311), Appendix B.

    Examples
    --------
    >>> import plaster_model as pm
    >>> c = pm.Cluster.from_system("DGX A100 640GB", n_nodes=128)
    >>> plan = pm.ParallelPlan(tp=8, pp=8, sp=True, recompute="selective", micro_batch=1,
    ...                        global_batch=1536, virtual_stages=3)
    >>> pred = pm.predict_llm_training("GPT-3 175B", c, plan, seq_len=2048)
    >>> pred.dp, pred.micro_batches, 0.2 < pred.mfu < 0.8
    (16, 96, True)
    """
    from dataclasses import replace

    from ..estimators.transformer import lora_adapter_params, lora_model_flops_per_token, model_flops_per_token
    from ..training import _resolve_cluster

    m, cfg = transformer_of(model)
    cluster = _resolve_cluster(cluster)
    plan = ParallelPlan() if plan is None else plan
    if not isinstance(plan, ParallelPlan):
        raise ParameterError("plan", plan, "a pm.ParallelPlan")
    if finetune is not None or lora_rank is not None:
        plan = replace(plan, finetune=plan.finetune if finetune is None else finetune,
                       lora_rank=plan.lora_rank if lora_rank is None else lora_rank)
    assumptions = []
    if seq_len is None:
        seq_len = int(getattr(m, "seq_len", None) or min(cfg.n_positions or 4096, 4096) or 4096)
        assumptions.append(f"sequence length {seq_len} (default; pass seq_len=)")
    if isinstance(seq_len, bool) or not isinstance(seq_len, (int, np.integer)) or seq_len < 1:
        raise ParameterError("seq_len", seq_len, "a whole number of tokens >= 1")
    rp = plan.resolve(cluster.n_devices, global_batch)
    recipe = precision_recipe(cluster.device, precision, plan.grad_reduce_precision)
    terms = model_terms(cfg)
    eff, factors, notes = efficiencies_from(calibration, cluster.device)
    assumptions += notes
    p = rp.plan
    hw = hardware_arrays(cluster, recipe, p.tp, p.pp, p.dp, p.cp, p.ep, p.expert_tp)
    lora = p.finetune == "lora"
    p_lora = lora_adapter_params(cfg, p.lora_rank, p.lora_targets) if lora else None
    pa = plan_arrays(rp, seq_len, recipe, p_lora)
    out = llm_step(vars(terms), hw, pa, eff)
    out = {k: float(np.asarray(v)) for k, v in out.items()}
    if out["mem_total"] > cluster.device.memory_bytes:
        text = memory_error_text(out, cluster.device, p.describe())
        if check_memory:
            raise MemoryFitError(text)
        import warnings

        from ..errors import MemoryWarning
        warnings.warn(text + " (answered anyway: check_memory=False)", MemoryWarning, stacklevel=2)
        assumptions.append("does NOT fit in device memory (answered with check_memory=False)")
    t = out["time_per_iter_s"]
    tokens_step = p.global_batch * seq_len
    fpt = float(lora_model_flops_per_token(cfg, seq_len, p.lora_rank, p.lora_targets) if lora
                else model_flops_per_token(cfg, seq_len))
    thr = tokens_step / t
    n = cluster.n_devices
    mfu = thr * fpt / (n * recipe["peak"])
    hfu = out["hw_flops"] / t / recipe["peak"]
    L = cluster_tiers(cluster)
    tiers = {0: L.intra_name, 1: L.net_name}
    for g, size in (("tp", p.tp), ("cp", p.cp), ("ep", p.ep), ("dp", p.dp), ("pp", p.pp)):
        if size > 1:
            assumptions.append(f"{g.upper()} group of {size} on {tiers[int(hw['tier_' + g])]} at "
                               f"{format_si(float(hw['beta_' + g]), 'B/s')} per device")
    assumptions += _multinode_assumptions(cluster, L, p, hw, pa)
    if lora:
        assumptions.append(f"LoRA r={p.lora_rank} on the {'attention projections' if p.lora_targets == 'attention' else 'attention and dense MLP'}"
                           f": {p_lora / 1e6:.1f} M trainable parameters; base weights frozen ({recipe['w_bytes']:g} B each, "
                           "no gradients or optimizer states), their input gradients still computed; model FLOPs/token "
                           "4·N + 6·P_LoRA + 12·L·H·Q·T")
    assumptions += [f"precision {recipe['precision']}: GEMMs at '{recipe['peak_key']}' "
                    f"{format_si(recipe['peak'], 'FLOP/s')}; weights {recipe['w_bytes']:g} B, gradients "
                    f"{pa['g_bytes']:g} B, optimizer {recipe['o_bytes']:g} B per parameter",
                    f"attention kernel: {p.attention}; framework reserve {format_si(p.framework_reserve_bytes, 'B')}",
                    "MFU per PaLM (Chowdhery et al. 2022, App. B): 6·N + 12·L·H·Q·T model FLOPs per token"
                    + (" (LoRA: 4·N + 6·P_LoRA + ...)" if lora else "")]
    interval = mlo = mhi = None
    if factors is not None:
        interval = (t * factors[0], t * factors[1])
        mlo, mhi = mfu / factors[1], mfu / factors[0]
    ttt = tti = None
    if tokens is not None:
        if isinstance(tokens, bool) or not isinstance(tokens, (int, float)) or not tokens > 0:
            raise ParameterError("tokens", tokens, "a positive number of training tokens")
        steps = math.ceil(tokens / tokens_step)
        ttt = steps * t
        tti = (steps * interval[0], steps * interval[1]) if interval else None
    return LLMTrainingPrediction(
        model=m.name, cluster=cluster.name, device=cluster.device.name, n_devices=n, plan=p.describe(),
        tp=p.tp, pp=p.pp, dp=p.dp, cp=p.cp, ep=p.ep, sp=p.sp, zero=p.zero, virtual_stages=p.virtual_stages,
        recompute=p.recompute, micro_batch=p.micro_batch, global_batch=p.global_batch,
        micro_batches=rp.micro_batches, seq_len=int(seq_len), precision=recipe["precision"], peak_flops=recipe["peak"],
        time_per_iter_s=t, throughput_tokens_s=thr, tflops_per_device=thr * fpt / n / 1e12, mfu=mfu, hfu=hfu,
        model_flops_per_token=fpt,
        compute_time_s=out["compute_s"], tp_comm_time_s=out["tp_s"], pp_bubble_time_s=out["pp_bubble_s"],
        pp_p2p_time_s=out["pp_p2p_s"], dp_comm_time_s=out["dp_s"], cp_comm_time_s=out["cp_s"],
        ep_comm_time_s=out["ep_s"], zero3_comm_time_s=out["zero3_s"], optimizer_time_s=out["optimizer_s"],
        overhead_time_s=out["overhead_s"], binding=str(binding_term(out)),
        memory_weights_bytes=out["mem_weights"], memory_gradients_bytes=out["mem_grads"],
        memory_optimizer_bytes=out["mem_optimizer"], memory_activations_bytes=out["mem_activations"],
        memory_reserve_bytes=out["mem_reserve"], memory_per_device_bytes=out["mem_total"],
        device_memory_bytes=float(cluster.device.memory_bytes), calibrated=factors is not None,
        time_per_iter_interval_s=interval, mfu_low=mlo, mfu_high=mhi, tokens=tokens, time_to_train_s=ttt,
        time_to_train_interval_s=tti, assumptions=tuple(assumptions))
