"""``ParallelPlan``: how a training job splits a transformer over devices, validated once.

A plan names the sizes of the five parallel dimensions (tensor ``tp``, pipeline ``pp``,
context ``cp``, expert ``ep``, data ``dp``), the sharding of model states (ZeRO stage, FSDP is
ZeRO-3), the batch (micro-batch and global batch, in sequences), the pipeline schedule
(``virtual_stages`` > 1 is Megatron's interleaved 1F1B) and the activation recomputation.
``tp × pp × cp × dp`` devices run it; ``ep`` experts groups are carved out of ``dp × cp``
(Megatron-Core's layout), so it does not multiply the device count.

The default plan, ``ParallelPlan()``, is today's data parallelism: every device a full
replica, no sharding, no recomputation.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ..errors import ParameterError

__all__ = ["ParallelPlan", "RECOMPUTE_MODES", "ATTENTION_KERNELS", "FINETUNE_MODES", "ResolvedPlan"]

#: Activation recomputation: none, Korthikanti et al.'s selective (attention core only), full
#: (every layer's forward pass run again in the backward pass; only the layer input kept).
RECOMPUTE_MODES = ("none", "selective", "full")
#: ``"flash"``: fused attention (FlashAttention; causal blocks skipped, no s×s scores kept);
#: ``"materialized"``: the s×s score matrix computed whole and stored (Megatron-LM 2021-22).
ATTENTION_KERNELS = ("flash", "materialized")
#: ``"full"``: every weight trains; ``"lora"``: low-rank adapters on frozen weights.
FINETUNE_MODES = ("full", "lora")


def _count(value, name: str, *, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value != int(value) or value < 1:
        raise ParameterError(name, value, "a whole number >= 1")
    return int(value)


@dataclass(frozen=True)
class ParallelPlan:
    """A parallel layout of one training job (Megatron-LM / DeepSpeed / FSDP vocabulary).

    Parameters
    ----------
    tp : int
        Tensor-parallel size (Megatron: attention heads and MLP columns split over ``tp``).
    pp : int
        Pipeline stages.
    dp : int, optional
        Data-parallel size; default: the devices left, ``n_devices / (tp·pp·cp)``.
    sp : bool
        Sequence parallelism (Korthikanti et al. 2022): TP all-reduces become
        reduce-scatter + all-gather and norm/dropout activations are split over ``tp``.
    cp : int
        Context-parallel size (ring attention over the sequence).
    ep : int
        Expert-parallel size (MoE experts split over ``ep`` ranks of the ``dp·cp`` group).
    zero : {0, 1, 2, 3}
        ZeRO stage (Rajbhandari et al. 2020): 1 shards optimizer states, 2 also gradients,
        3 also weights (= PyTorch FSDP full sharding) over the data-parallel ranks.
    micro_batch : int, optional
        Sequences per micro-batch (default 1).
    global_batch : int, optional
        Sequences per optimizer step (default ``micro_batch · dp``: no accumulation).
    virtual_stages : int
        Model chunks per pipeline rank (interleaved 1F1B when > 1).
    recompute : {"none", "selective", "full"}
        Activation recomputation.
    attention : {"flash", "materialized"}
        Attention kernel (``"materialized"`` keeps the ``5·a·s/h`` score term of Korthikanti's
        activation memory and computes every one of the s×s scores).
    grad_reduce_precision : {"fp32", "bf16", "fp16"}
        Gradients' accumulation and all-reduce precision. ``"fp32"`` (default) is PyTorch AMP
        and Megatron's ``main_grad``: 4 B per gradient element.
    dp_overlap : bool
        Overlap the data-parallel gradient reduction with the last micro-batch's backward pass
        (PyTorch DDP buckets, Megatron ``--overlap-grad-reduce``).
    framework_reserve_bytes : float
        Memory the framework holds besides model states and activations (CUDA context, NCCL
        buffers, allocator slack) [B]; default 3 GiB (an assumption, stated).
    expert_tp : int, optional
        Tensor-parallel size of the routed experts (Megatron-Core's ``expert_tensor_parallel_size``).
        Default: ``tp`` when ``ep`` divides ``dp·cp`` (the experts split as the dense layers),
        else 1 with the expert-parallel group folded over ``tp·cp·dp`` ranks (Megatron-Core's
        "MoE parallel folding": DeepSeek-V3's EP 64 on TP 2 × DP 32).
    finetune : {"full", "lora"}
        ``"lora"``: low-rank adapters (Hu et al. 2021) on frozen base weights; the base gets no
        weight gradients and no optimizer states, the backward pass still computes its input
        gradients.
    lora_rank : int
        Adapter rank ``r`` (``finetune="lora"``; default 16).
    lora_targets : {"attention", "all"}
        Layers the adapters sit on: q, k, v, o projections, or also the dense MLP.

    Examples
    --------
    The Megatron-LM paper's GPT-3 175B layout on 1,024 A100:

    >>> import plaster_model as pm
    >>> plan = pm.ParallelPlan(tp=8, pp=8, micro_batch=1, global_batch=1536, virtual_stages=2)
    >>> r = plan.resolve(1024)
    >>> r.dp, r.micro_batches
    (16, 96)
    >>> pm.ParallelPlan().is_data_parallel
    True
    """

    tp: int = 1
    pp: int = 1
    dp: int | None = None
    sp: bool = False
    cp: int = 1
    ep: int = 1
    zero: int = 0
    micro_batch: int | None = None
    global_batch: int | None = None
    virtual_stages: int = 1
    recompute: str = "none"
    attention: str = "flash"
    grad_reduce_precision: str = "fp32"
    dp_overlap: bool = True
    framework_reserve_bytes: float = 3.0 * 2**30
    expert_tp: int | None = None
    finetune: str = "full"
    lora_rank: int = 16
    lora_targets: str = "attention"

    def __post_init__(self):
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen dataclass)
        for name in ("tp", "pp", "cp", "ep", "virtual_stages"):
            set_(name, _count(getattr(self, name), name))
        for name in ("dp", "micro_batch", "global_batch", "expert_tp"):
            set_(name, _count(getattr(self, name), name, allow_none=True))
        if not isinstance(self.sp, (bool, int)) or self.sp not in (0, 1):
            raise ParameterError("sp", self.sp, "True or False")
        set_("sp", bool(self.sp))
        if isinstance(self.zero, bool) or self.zero not in (0, 1, 2, 3):
            raise ParameterError("zero", self.zero, "a ZeRO stage 0, 1, 2 or 3 (3 = FSDP full sharding)")
        set_("zero", int(self.zero))
        rec = str(self.recompute).strip().lower()
        if rec not in RECOMPUTE_MODES:
            raise ParameterError("recompute", self.recompute, f"one of {RECOMPUTE_MODES}")
        set_("recompute", rec)
        att = str(self.attention).strip().lower()
        if att not in ATTENTION_KERNELS:
            raise ParameterError("attention", self.attention, f"one of {ATTENTION_KERNELS}")
        set_("attention", att)
        grp = str(self.grad_reduce_precision).strip().lower()
        if grp not in ("fp32", "bf16", "fp16"):
            raise ParameterError("grad_reduce_precision", self.grad_reduce_precision, "'fp32', 'bf16' or 'fp16'")
        set_("grad_reduce_precision", grp)
        if self.virtual_stages > 1 and self.pp == 1:
            raise ParameterError("virtual_stages", self.virtual_stages,
                                 "1 without pipeline parallelism (interleaving needs pp > 1)")
        ft = str(self.finetune).strip().lower()
        if ft not in FINETUNE_MODES:
            raise ParameterError("finetune", self.finetune, f"one of {FINETUNE_MODES}")
        set_("finetune", ft)
        set_("lora_rank", _count(self.lora_rank, "lora_rank"))
        lt = str(self.lora_targets).strip().lower()
        if lt not in ("attention", "all"):
            raise ParameterError("lora_targets", self.lora_targets, "'attention' or 'all'")
        set_("lora_targets", lt)
        if self.expert_tp is not None and self.expert_tp not in (1, self.tp):
            raise ParameterError("expert_tp", self.expert_tp, f"1 or tp={self.tp}")
        r = self.framework_reserve_bytes
        if isinstance(r, bool) or not isinstance(r, (int, float)) or not math.isfinite(r) or r < 0:
            raise ParameterError("framework_reserve_bytes", r, "a finite number of bytes >= 0")
        set_("framework_reserve_bytes", float(r))
        if self.micro_batch is not None and self.global_batch is not None \
                and self.global_batch % self.micro_batch:
            raise ParameterError("global_batch", self.global_batch,
                                 f"a multiple of micro_batch={self.micro_batch}")

    @property
    def is_data_parallel(self) -> bool:
        """True for pure data parallelism without sharding or recomputation (today's path)."""
        return (self.tp == self.pp == self.cp == self.ep == 1 and self.zero == 0
                and self.recompute == "none" and self.micro_batch is None and self.finetune == "full")

    @property
    def model_parallel_size(self) -> int:
        """Devices one model replica spans, ``tp·pp·cp``."""
        return self.tp * self.pp * self.cp

    def describe(self) -> str:
        """One line: ``TP 8 × PP 8 (v=2) × DP 16, SP, recompute selective, ZeRO-1``."""
        parts = [f"TP {self.tp}", f"PP {self.pp}" + (f" (v={self.virtual_stages})" if self.virtual_stages > 1 else "")]
        if self.cp > 1:
            parts.append(f"CP {self.cp}")
        parts.append(f"DP {self.dp if self.dp is not None else '?'}")
        etp = "" if self.expert_tp is None or self.ep == 1 or self.expert_tp == self.tp else f" (expert TP {self.expert_tp})"
        extra = [e for e in (("SP" if self.sp else ""), (f"EP {self.ep}{etp}" if self.ep > 1 else ""),
                             (f"LoRA r={self.lora_rank}" if self.finetune == "lora" else ""),
                             (f"ZeRO-{self.zero}" if self.zero else ""),
                             (f"recompute {self.recompute}" if self.recompute != "none" else "")) if e]
        return " × ".join(parts) + (", " + ", ".join(extra) if extra else "")

    def resolve(self, n_devices: int, global_batch: int | None = None) -> "ResolvedPlan":
        """The plan on ``n_devices`` devices: data-parallel size and micro-batches, checked.

        Parameters
        ----------
        n_devices : int
            Devices of the cluster.
        global_batch : int, optional
            Global batch [sequences] when the plan leaves it open.

        Raises
        ------
        ParameterError
            When ``tp·pp·cp·dp`` is not ``n_devices``, ``ep`` does not divide ``dp·cp``, or the
            global batch is not a whole number of micro-batches per data-parallel rank.
        """
        n = _count(n_devices, "n_devices")
        mp = self.model_parallel_size
        if n % mp:
            raise ParameterError("n_devices", n, f"a multiple of tp·pp·cp = {mp} ({self.describe()})")
        dp = n // mp if self.dp is None else self.dp
        if dp * mp != n:
            raise ParameterError("dp", self.dp, f"n_devices / (tp·pp·cp) = {n}/{mp} = {n / mp:g}")
        etp = self.expert_tp
        if etp is None:  # Megatron-Core: experts split like the dense layers, else folded (ETP 1)
            etp = self.tp if (dp * self.cp) % self.ep == 0 else 1
        if (self.tp * dp * self.cp) % (etp * self.ep) or (etp == self.tp and (dp * self.cp) % self.ep):
            raise ParameterError("ep", self.ep, f"a divisor of dp·cp = {dp * self.cp}, or of tp·dp·cp = "
                                                f"{self.tp * dp * self.cp} with expert_tp=1 (MoE parallel folding)")
        gb = self.global_batch if self.global_batch is not None else _count(global_batch, "global_batch",
                                                                           allow_none=True)
        if self.global_batch is not None and global_batch is not None and int(global_batch) != self.global_batch:
            raise ParameterError("global_batch", global_batch,
                                 f"the plan's global_batch={self.global_batch} (give it once)")
        mb = self.micro_batch if self.micro_batch is not None else 1
        if gb is None:
            gb = mb * dp
        if gb % (mb * dp):
            raise ParameterError("global_batch", gb, f"a multiple of micro_batch·dp = {mb}·{dp} = {mb * dp}")
        m = gb // (mb * dp)
        if self.virtual_stages > 1 and m % self.pp:
            raise ParameterError("global_batch", gb, f"micro-batches per step ({m}) a multiple of pp={self.pp} "
                                                     "for the interleaved schedule (Megatron-LM's rule)")
        return ResolvedPlan(replace(self, dp=dp, micro_batch=mb, global_batch=gb, expert_tp=etp), n, m)


@dataclass(frozen=True)
class ResolvedPlan:
    """A :class:`ParallelPlan` with every size known, on ``n_devices`` devices.

    ``micro_batches`` is ``m = global_batch / (micro_batch · dp)``, the micro-batches each
    pipeline runs per optimizer step (gradient accumulation steps without a pipeline).
    """

    plan: ParallelPlan
    n_devices: int
    micro_batches: int

    def __getattr__(self, name):  # the plan's fields read through
        if name == "plan":  # not set yet (copy, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.plan, name)
