"""Memory per device of a parallel transformer training job: model states and activations.

Model states (Rajbhandari et al. 2020, ZeRO): with Ψ parameters on a device, mixed-precision
Adam keeps ``k_w·Ψ`` weight bytes, ``k_g·Ψ`` gradient bytes and ``k_o·Ψ`` optimizer bytes (fp32
master copy, momentum and variance: ``k_o = 12``). ZeRO-1 shards the optimizer states over the
``N_d`` data-parallel ranks, ZeRO-2 the gradients too, ZeRO-3 (FSDP full sharding) the weights
too; with ``k_w = k_g = 2``: ``16Ψ`` (stage 0), ``4Ψ + 12Ψ/N_d``, ``2Ψ + 14Ψ/N_d``, ``16Ψ/N_d``.

Activations (Korthikanti et al. 2022, Table 2; 2-byte activations, 1-byte dropout masks, per
transformer layer, ``s`` sequence, ``b`` micro-batch, ``h`` hidden, ``a`` heads, ``t`` TP):

=================================== ==========================================
no parallelism                      ``s·b·h·(34 + 5·a·s/h)``
tensor parallel                     ``s·b·h·(10 + 24/t + 5·a·s/(h·t))``
tensor + sequence parallel          ``s·b·h·(34 + 5·a·s/h)/t``
tensor parallel + selective recomp. ``s·b·h·(10 + 24/t)``
tensor + sequence + selective       ``s·b·h·34/t``
full recomputation                  ``2·s·b·h`` (``/t`` with sequence parallelism)
=================================== ==========================================

The 34 splits into 10 bytes·sbh that tensor parallelism alone does not split (two layer-norm
inputs 4, the attention and MLP inputs 2 + 2, two dropout masks 1 + 1) and 24 it does (Q, K, V
and the projection input 8; the GeLU input and output 16). Generalized here to grouped-query
attention (K, V of ``kv_hidden`` columns), other FFN widths and gated MLPs (gate, up and
product kept: ``6·f/h``); the defaults give the paper's numbers.
"""
from __future__ import annotations
from ..errors import ParameterError

import numpy as np

from ._validate import _positive_array

__all__ = ["RECOMPUTE_CODES", "activation_bytes_per_layer", "model_state_bytes",
           "pipeline_inflight_microbatches", "OPTIMIZER_BYTES_PER_PARAM"]

#: Integer codes of the recomputation modes (vectorized plans carry them as arrays).
RECOMPUTE_CODES = {"none": 0, "selective": 1, "full": 2}
#: Optimizer-state bytes per parameter: Adam's fp32 master copy, momentum and variance under
#: mixed precision (ZeRO's K = 12); under fp32 training the weights are the master copy (8).
OPTIMIZER_BYTES_PER_PARAM = {"mixed": 12.0, "fp32": 8.0}


def _code(recompute):
    if isinstance(recompute, str):
        key = recompute.strip().lower()
        if key not in RECOMPUTE_CODES:
            raise ParameterError("recompute", recompute,
                                 message=f"recompute must be one of {tuple(RECOMPUTE_CODES)}, got {recompute!r}")
        return RECOMPUTE_CODES[key]
    return np.asarray(recompute)


def activation_bytes_per_layer(seq_len, micro_batch, hidden, heads, tp=1, sp=False, recompute="none",
                               *, ffn_hidden=None, kv_hidden=None, gated_mlp=False, scores=True,
                               bytes_per_element=2.0, frozen_mlp=False, dropout=True, gemm_input_bytes=None):
    """Activation bytes one transformer layer keeps for the backward pass (Korthikanti et al.).

    ``s·b·h·(10 + 24/t + 5·a·s/(h·t))`` with tensor parallelism; sequence parallelism divides
    the 10 by ``t`` too; selective recomputation (or an attention kernel that keeps no scores,
    ``scores=False``) drops the ``5·a·s/h`` term; full recomputation keeps ``2·s·b·h``.
    Vectorized over every numeric argument.

    Parameters
    ----------
    seq_len, micro_batch, hidden, heads : array_like
        ``s`` tokens, ``b`` sequences, ``h`` model width, ``a`` attention heads.
    tp : array_like
        Tensor-parallel size ``t``.
    sp : array_like of bool
        Sequence parallelism.
    recompute : {"none", "selective", "full"} or array_like of int
        Or the codes of :data:`RECOMPUTE_CODES`.
    ffn_hidden : array_like, optional
        MLP width ``f`` (default ``4·h``: the paper's 16 = 4·f/h bytes·sbh).
    kv_hidden : array_like, optional
        Columns of K and of V (``kv_heads · head_dim``; default ``h``, multi-head attention).
    gated_mlp : bool
        Gated MLP (SwiGLU): ``6·f/h`` instead of ``4·f/h``.
    scores : bool
        The ``a·s×s`` softmax input, its dropout mask and output are kept (no fused attention).
    bytes_per_element : float
        Activation bytes (2 for 16-bit; masks stay 1 byte).
    frozen_mlp : array_like of bool
        The MLP's weights are frozen and unadapted (a LoRA fine-tune of the attention
        projections): their weight gradients are not computed, so the inputs of its two GEMMs
        are not kept (the MLP input ``2`` and the down projection's input ``2·f/h``; the
        activation function's input stays, its backward needs it).
    dropout : array_like of bool
        Dropout after attention and after the MLP (the paper's two 1-byte masks, ``2·s·b·h``);
        recipes without dropout (Llama, Mixtral, Nemotron-4, ...) keep no masks.
    gemm_input_bytes : float, optional
        Bytes per element of the inputs the GEMMs save for their weight gradients (default
        ``bytes_per_element``). Transformer Engine's fp8 recipe saves them in fp8 (1 B): the
        attention and MLP inputs and the down projection's input shrink, and the output
        projection keeps an fp8 copy besides the attention kernel's 16-bit output.

    Returns
    -------
    float or numpy.ndarray
        [B] per layer and device.

    References
    ----------
    V. Korthikanti et al., "Reducing Activation Recomputation in Large Transformer Models",
    MLSys 2023 (arXiv:2205.05198), Section 4 and Table 2.

    Examples
    --------
    GPT-3 175B (h = 12288, a = 96, s = 2048), b = 1, t = 8: tensor parallel alone
    ``2048·12288·(10 + 3 + 5·96·2048/(12288·8))`` = 2048·12288·23 B = 578.8 MB:

    >>> activation_bytes_per_layer(2048, 1, 12288, 96, tp=8) / 1e6
    578.813952

    The same layer in a LoRA fine-tune of the attention only: ``10 − 2`` unsplit, ``24 − 8``
    split: ``2048·12288·(8 + 2 + 5·96·2048/(12288·8))`` = 2048·12288·20 B:

    >>> activation_bytes_per_layer(2048, 1, 12288, 96, tp=8, frozen_mlp=True) / 1e6
    503.31648

    Without dropout the masks go: the two of ``s·b·h`` (``10 − 2`` unsplit) and the softmax's
    ``a·s/h`` one (``5 → 4``): ``2048·12288·(8 + 3 + 4·96·2048/(12288·8))`` = 2048·12288·19 B:

    >>> activation_bytes_per_layer(2048, 1, 12288, 96, tp=8, dropout=False) / 1e6
    478.150656
    """
    s = _positive_array(seq_len, "dimensionless", "seq_len")
    b = _positive_array(micro_batch, "dimensionless", "micro_batch")
    h = _positive_array(hidden, "dimensionless", "hidden")
    a = _positive_array(heads, "dimensionless", "heads")
    t = np.asarray(tp, dtype=float)
    spf = np.asarray(sp, dtype=bool)
    code = _code(recompute)
    f = 4.0 * h if ffn_hidden is None else np.asarray(ffn_hidden, dtype=float)
    kv = h if kv_hidden is None else np.asarray(kv_hidden, dtype=float)
    e = float(bytes_per_element) / 2.0  # the paper's terms are at 2 bytes per element
    # not split by TP alone: 2 norm inputs (4), attention and MLP inputs (2 + 2), 2 masks (1 + 1)
    g = e if gemm_input_bytes is None else np.asarray(gemm_input_bytes, dtype=float) / 2.0
    frozen = np.asarray(frozen_mlp, dtype=bool)
    masks = np.where(np.asarray(dropout, dtype=bool), 2.0, 0.0)
    # two norm inputs (4) + the attention and MLP GEMM inputs (2 + 2; the MLP's not kept when frozen)
    unsplit = 4.0 * e + 2.0 * g + np.where(frozen, 0.0, 2.0 * g) + masks
    # Q, K, V and the projection input (= the attention output), plus an fp8 copy of the latter
    attn = e * (4.0 * h + 4.0 * kv) / h + np.where(g < e, 2.0 * g, 0.0)
    # gate and up outputs (gated) or the GeLU input, and the down projection's input
    mlp = (e * np.where(gated_mlp, 4.0, 2.0) + np.where(frozen, 0.0, 2.0 * g)) * f / h
    split = attn + mlp
    score = np.where(np.asarray(scores, dtype=bool), (4.0 * e + masks / 2.0) * a * s / h, 0.0)  # + softmax-dropout mask
    score = np.where(code >= 1, 0.0, score)
    per_sbh = np.where(spf, (unsplit + split + score) / t, unsplit + (split + score) / t)
    full = 2.0 * e * np.where(spf, 1.0 / t, 1.0)
    out = s * b * h * np.where(code == 2, full, per_sbh)
    return float(out) if np.ndim(out) == 0 else out


def model_state_bytes(params, dp=1, zero=0, weight_bytes=2.0, grad_bytes=2.0, optimizer_bytes=12.0):
    """Weights, gradients and optimizer states on one device under ZeRO stage ``zero``.

    ``M = k_w·Ψ/(N_d if zero ≥ 3) + k_g·Ψ/(N_d if zero ≥ 2) + k_o·Ψ/(N_d if zero ≥ 1)``.

    Parameters
    ----------
    params : array_like
        Parameters ``Ψ`` the device holds before sharding (its model-parallel share).
    dp : array_like
        Data-parallel ranks ``N_d`` the states are sharded over.
    zero : array_like of int
        ZeRO stage 0–3 (3 = FSDP full sharding).
    weight_bytes, grad_bytes, optimizer_bytes : float
        Bytes per parameter ``k_w``, ``k_g``, ``k_o`` (mixed-precision Adam: 2, 2, 12; fp32
        gradient accumulation, PyTorch AMP and Megatron's ``main_grad``: ``k_g = 4``).

    Returns
    -------
    dict of float or numpy.ndarray
        ``weights``, ``gradients``, ``optimizer``, ``total`` [B].

    References
    ----------
    S. Rajbhandari et al., "ZeRO: Memory Optimizations Toward Training Trillion Parameter
    Models", SC 2020 (arXiv:1910.02054), Section 5 and Figure 1.

    Examples
    --------
    ZeRO's Figure 1: Ψ = 7.5 B, N_d = 64: 120 GB, 31.4 GB, 16.6 GB, 1.88 GB:

    >>> [round(model_state_bytes(7.5e9, 64, z)["total"] / 1e9, 2) for z in range(4)]
    [120.0, 31.41, 16.64, 1.88]
    """
    psi = _positive_array(params, "dimensionless", "params", allow_zero=True)
    nd = np.asarray(dp, dtype=float)
    z = np.asarray(zero)
    w = weight_bytes * psi / np.where(z >= 3, nd, 1.0)
    g = grad_bytes * psi / np.where(z >= 2, nd, 1.0)
    o = optimizer_bytes * psi / np.where(z >= 1, nd, 1.0)
    out = {"weights": w, "gradients": g, "optimizer": o, "total": w + g + o}
    return {k: (float(v) if np.ndim(v) == 0 else v) for k, v in out.items()}


def pipeline_inflight_microbatches(pp, micro_batches, virtual_stages=1):
    """Micro-batches whose activations the first pipeline stage holds at once (1F1B).

    ``min(p, m)`` for the 1F1B schedule (Narayanan et al. 2021); the interleaved schedule
    holds ``1 + (p−1)/(p·v)`` times more (Korthikanti et al. 2022, Section 4.2.3), i.e.
    ``p·(1 + (p−1)/(p·v))`` when ``m ≥ p``; counted in units of one stage's layers.

    Examples
    --------
    >>> pipeline_inflight_microbatches(8, 64), pipeline_inflight_microbatches(8, 64, 3)
    (8.0, 10.333333333333334)
    """
    p = np.asarray(pp, dtype=float)
    m = np.asarray(micro_batches, dtype=float)
    v = np.asarray(virtual_stages, dtype=float)
    out = np.minimum(p, m) * np.where(v > 1, 1.0 + (p - 1.0) / (p * v), 1.0)
    return float(out) if np.ndim(out) == 0 else out
