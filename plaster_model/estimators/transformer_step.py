r"""One forward (or forward + backward) pass of a transformer on one GPU, operator by operator.

The work comes from the operator table (:func:`~.transformer.transformer_operators`); each
operator class is timed with the roofline plus a launch cost per kernel
(:func:`~.roofline.operator_roofline_time`):

.. math::

    t = \sum_{c} \max\left(\frac{F_c}{\eta_c\,\gamma_c},\ \frac{B_c}{\eta_m\,\beta}\right)
        + n_{k}\,t_\mathrm{launch}

with :math:`\gamma_c` the matrix peak for GEMMs and attention products and the vector peak for
element-wise work, :math:`\beta` the memory bandwidth. Conventions for **eager PyTorch**
(Hugging Face ``transformers`` with eager attention, NeuSight's labels):

- Attention computes the whole :math:`s \times s` score matrix (a causal mask is applied to it,
  not skipped) and materialises it: the QKᵀ product writes it, :data:`EAGER_SCORE_PASSES`
  element-wise kernels (scale, mask, softmax; dropout when training) each read and write it,
  and the A·V product reads it.
- An activation runs as the kernels its Python expression launches (:data:`ACTIVATION_KERNELS`:
  ``gelu_new`` is eight: pow, mul, add, mul, tanh, add, mul, mul).
- Training (``model.train()``) adds dropout after the embeddings, the attention output and the
  MLP; the backward pass costs twice the forward FLOPs of every product (input and weight
  gradients) and about twice the bytes and kernels of every operator. No optimizer step.
- ``fused=True`` (``torch.compile``) fuses each element-wise chain into one kernel.

Elements are 4 bytes (fp32).

References
----------
- S. Williams, A. Waterman, D. Patterson, "Roofline", CACM 52(4), 2009.
- S. Lee, A. Phanishayee, D. Mahajan, "Forecasting GPU performance for deep learning training and
  inference" (NeuSight), ASPLOS 2025 (per-operator tiles; whole-model labels).
- Hugging Face transformers 4.38.1, ``modeling_gpt2.GPT2Attention._attn``,
  ``activations.NewGELUActivation``, ``modeling_bert.BertSelfAttention``, ``modeling_opt.OPTAttention``.
"""
from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from .roofline import operator_roofline_time
from .transformer import _config, transformer_operators

__all__ = ["STEP_CLASSES", "EAGER_SCORE_PASSES", "ACTIVATION_KERNELS", "CDNA_FP32_MATRIX_RATIO",
           "fp32_matrix_peak_flops", "transformer_step_work", "transformer_step_time"]

#: Classes an efficiency is fitted per: products on the matrix peak (``gemm``: the linear layers
#: and the LM head; ``attention``: QKᵀ and A·V), ``vector`` (element-wise, normalisation, softmax,
#: embedding on the vector peak).
STEP_CLASSES = ("gemm", "attention", "vector")

#: Element-wise kernels over the s×s scores in eager attention, forward, per layer: scale, mask
#: (GPT-2 ``torch.where``; BERT/OPT add the extended mask), softmax. Training adds the dropout.
EAGER_SCORE_PASSES = 3

#: Kernels of an eager activation, and elements read plus written per output element:
#: ``gelu_new`` = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) is 8 kernels reading 10 and
#: writing 8 tensors; ``gelu`` (erf), ``relu`` one kernel reading 1 and writing 1.
ACTIVATION_KERNELS = {"gelu_new": (8, 18.0), "gelu_pytorch_tanh": (1, 2.0), "gelu": (1, 2.0),
                      "relu": (1, 2.0), "silu": (1, 2.0)}

#: CDNA and CDNA 2 (MI100, MI210, MI250) run fp32 GEMMs on the matrix cores at twice the vector
#: fp32 rate: MI100 46.1 vs 23.1 TFLOP/s, MI210 and one MI250 GCD 45.3 vs 22.6 (AMD Instinct
#: MI100 / MI210 / MI250 datasheets; AMD CDNA and CDNA 2 whitepapers). The catalog's ``fp32``
#: key holds the vector rate.
CDNA_FP32_MATRIX_RATIO = 2.0

_BYTES = 4.0  # fp32


def fp32_matrix_peak_flops(device) -> float:
    """fp32 peak a GEMM runs at [FLOP/s]: the catalog's ``fp32``, × 2 on AMD CDNA matrix cores.

    NVIDIA parts without TF32 (or with it off, PyTorch's default for matmul) run fp32 GEMMs on
    the SIMT units at the ``fp32`` peak; AMD Instinct CDNA parts run them on the matrix cores
    (:data:`CDNA_FP32_MATRIX_RATIO`).

    >>> import plaster_model as pm
    >>> round(fp32_matrix_peak_flops(pm.load_device("MI100")) / 1e12, 1)
    46.2
    >>> fp32_matrix_peak_flops(pm.load_device("V100-PCIe-32GB")) / 1e12
    14.0
    """
    fp32 = device.peak_flops.get("fp32")
    if fp32 is None:
        raise ParameterError("device", device.name, "a device with an fp32 peak in the catalog")
    # CDNA 1-2 only: MI300 (CDNA 3) runs fp32 matrix and vector at the same rate, MI50/60 has no
    # matrix cores
    cdna = device.vendor == "AMD" and str(device.name).upper().startswith(("MI100", "MI2"))
    return float(fp32) * (CDNA_FP32_MATRIX_RATIO if cdna else 1.0)


def _activation(cfg) -> str:
    hf = getattr(cfg, "hf_config", None) or {}
    act = hf.get("activation_function") or hf.get("hidden_act")
    if act is None:  # the Hugging Face defaults of the families
        act = {"gpt2": "gelu_new", "bert": "gelu", "opt": "relu"}.get(str(hf.get("model_type")), "gelu")
    return str(act)


def transformer_step_work(cfg, batch, seq_len, *, training: bool = False, lm_head: bool = True,
                          fused: bool = False) -> dict:
    r"""FLOPs, bytes and kernels of one pass, per class, broadcast over ``batch`` and ``seq_len``.

    Parameters
    ----------
    cfg : TransformerConfig or Model
        The architecture.
    batch, seq_len : int or array_like
        Sequences and tokens per sequence (the row's own ``seq_len``: the work scales with it).
    training : bool
        Forward + backward (``model.train()``, dropout on), else one forward pass.
    lm_head : bool
        Include the vocabulary projection over every token (False: a classification head, as
        BERT's ``BertForSequenceClassification``, whose work is negligible).
    fused : bool
        Element-wise chains fused into one kernel each (``torch.compile``).

    Returns
    -------
    dict
        ``{"gemm" | "attention" | "vector": {"flops": F, "bytes": B, "kernels": n}}`` with
        arrays of the broadcast shape [FLOP], [B], [kernels].

    Examples
    --------
    BERT-large, 8 × 512, forward: the QKᵀ and A·V products compute 2·2·b·a·s²·d_h per layer,
    24 × 4 × 8 × 16 × 512² × 64 = 2.06e11 FLOP.

    >>> import plaster_model as pm
    >>> w = transformer_step_work(pm.load_model("BERT-large"), 8, 512, lm_head=False)
    >>> float(w["attention"]["flops"]) / 1e11
    2.06158430208
    """
    c = _config(cfg)
    b = np.asarray(batch, dtype=float)
    s = np.asarray(seq_len, dtype=float)
    if np.any(b <= 0) or np.any(s <= 0):
        raise ParameterError("batch/seq_len", (batch, seq_len), "positive sizes")
    T = b * s
    zero = np.zeros(np.broadcast(b, s).shape)
    out = {k: {"flops": zero.copy(), "bytes": zero.copy(), "kernels": zero.copy()} for k in STEP_CLASSES}

    def add(cls, flops, bytes_, kernels):
        out[cls]["flops"] = out[cls]["flops"] + flops
        out[cls]["bytes"] = out[cls]["bytes"] + bytes_
        out[cls]["kernels"] = out[cls]["kernels"] + kernels

    hf = getattr(c, "hf_config", None) or {}
    split_qkv = str(hf.get("model_type")) in ("bert", "opt")  # three nn.Linear, not GPT-2's one Conv1D
    act_k, act_touch = ACTIVATION_KERNELS.get(_activation(c), (1, 2.0))
    if fused:
        act_k, act_touch = 1, 2.0
    drop = 1.0 if training else 0.0
    h, a = c.d_model, c.n_heads
    for r in transformer_operators(c).itertuples(index=False):
        L = float(r.layers)
        if r.op_class in ("gemm", "lm_head", "moe_gemm", "router"):
            if r.op == "pooler" or (r.op_class == "lm_head" and not lm_head):
                continue
            k = 3.0 if (r.op == "qkv_proj" and split_qkv) else 1.0
            add("gemm", L * r.flops_per_token * T,
                _BYTES * L * (r.active_weight_params + r.act_elems_per_token * T), L * k)
            if r.op_class == "lm_head" and c.encoder:  # BERT's MLM transform: dense h×h, gelu, LayerNorm
                add("gemm", 2.0 * h * h * T, _BYTES * (h * h + 2.0 * h * T), 1.0)
                add("vector", 13.0 * h * T, _BYTES * 4.0 * h * T, 2.0)
        elif r.op_class == "attention":
            if r.attn_flops_per_key == 0:
                continue
            scores = b * a * s * s  # eager: the full s×s matrix per head, causal or not
            # QKᵀ writes the scores, A·V reads them; q, k, v read and the output written once
            add("attention", L * r.attn_flops_per_key * T * s,
                _BYTES * L * (2.0 * scores + (r.act_elems_per_token + r.kv_elems_per_key) * T), 2.0 * L)
            passes = 1.0 if fused else EAGER_SCORE_PASSES + drop
            add("vector", L * passes * 5.0 * scores, _BYTES * L * passes * 2.0 * scores, L * passes)
            # q, k and v made contiguous per head for the batched products (torch.matmul reshapes
            # the permuted 4-D views: a copy each), and the heads merged back: four copies of b·s·h
            add("vector", 0.0, _BYTES * L * 4.0 * 2.0 * h * T, 4.0 * L)
        else:  # norm, element-wise, embedding
            elems = r.act_elems_per_token
            k = 1.0
            if r.op in ("mlp_act", "expert_act", "shared_act"):
                elems, k = elems * act_touch / 2.0, float(act_k)
            elif r.op == "embedding":
                k = 2.0 * (1.0 + (c.n_positions > 0) + (c.type_vocab_size > 0)) - 1.0  # lookups and adds
            add("vector", L * r.flops_per_token * T, _BYTES * (L * elems * T + r.active_weight_params), L * k)
    if training:
        # dropout on the embeddings and after attention and MLP: read x, write y and a 1-byte mask
        n_drop = 2.0 * c.n_layers + 1.0
        add("vector", n_drop * h * T, n_drop * (2.0 * _BYTES + 1.0) * h * T, n_drop)
        # backward: input and weight gradients of every product (2× FLOPs), ~2× bytes and kernels
        # (forward + backward = 3 × forward)
        out = {k: {q: v * 3.0 for q, v in d.items()} for k, d in out.items()}
    return out


def transformer_step_time(work: dict, gemm_peak_flops, vector_peak_flops, memory_bandwidth, *,
                          gemm_efficiency=1.0, attention_efficiency=1.0, vector_efficiency=1.0,
                          memory_efficiency=1.0, launch_s=0.0):
    r"""Seconds of a pass from :func:`transformer_step_work` (the module equation).

    Parameters
    ----------
    work : dict
        From :func:`transformer_step_work`.
    gemm_peak_flops, vector_peak_flops : float or array_like
        Matrix (GEMM) and vector fp32 peaks [FLOP/s] (:func:`fp32_matrix_peak_flops`).
    memory_bandwidth : float or array_like
        [B/s].
    gemm_efficiency, attention_efficiency, vector_efficiency, memory_efficiency : float or array_like
        Achieved fractions of the peaks, > 0.
    launch_s : float or array_like
        Cost per kernel [s], >= 0.

    Returns
    -------
    float or numpy.ndarray
        [s].

    Examples
    --------
    One 4096³ fp32 GEMM at 19.5 TFLOP/s is compute-bound: 2·4096³/19.5e12 = 7.05 ms.

    >>> w = {"gemm": {"flops": 2 * 4096.0**3, "bytes": 3 * 4 * 4096.0**2, "kernels": 1.0},
    ...      "attention": {"flops": 0.0, "bytes": 0.0, "kernels": 0.0},
    ...      "vector": {"flops": 0.0, "bytes": 0.0, "kernels": 0.0}}
    >>> round(transformer_step_time(w, 19.5e12, 19.5e12, 1.555e12) * 1e3, 2)
    7.05
    """
    eff = {"gemm": gemm_efficiency, "attention": attention_efficiency, "vector": vector_efficiency}
    peak = {"gemm": gemm_peak_flops, "attention": gemm_peak_flops, "vector": vector_peak_flops}
    total = 0.0
    for k in STEP_CLASSES:
        w = work[k]
        total = total + operator_roofline_time(w["flops"], w["bytes"], peak[k], memory_bandwidth,
                                               eff[k], memory_efficiency,
                                               np.multiply(w["kernels"], launch_s))
    return total
