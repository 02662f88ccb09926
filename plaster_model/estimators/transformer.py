"""Transformers as operator tables: parameters, FLOPs, bytes and KV cache from the architecture.

Every count here follows from a :class:`~plaster_model.catalog.transformer.TransformerConfig`
(layers, widths, heads, experts, latent ranks); training, the parallel strategies and serving
take their work from :func:`transformer_operators` and never restate it.

Conventions: FLOPs count a multiply-add as two; "per token" is per token of the batch that the
step processes; an attention core's work grows with the keys each query attends
(:func:`attended_keys`), so it is given per (token, key).

References
----------
- J. Kaplan et al., "Scaling laws for neural language models", arXiv:2001.08361 (6·N per token).
- A. Chowdhery et al., "PaLM", arXiv:2204.02311, Appendix B (model FLOPs utilisation).
- D. Narayanan et al., "Efficient large-scale language model training on GPU clusters using
  Megatron-LM", SC'21, arXiv:2104.04473, eq. 3.
- R. Pope et al., "Efficiently scaling transformer inference", MLSys 2023, arXiv:2211.05102.
- J. Ainslie et al., "GQA", arXiv:2305.13245; DeepSeek-AI, "DeepSeek-V2", arXiv:2405.04434 (MLA).
"""
from __future__ import annotations

import numpy as np

from ..errors import ParameterError

__all__ = [
    "OP_CLASSES", "transformer_param_counts", "transformer_operators", "attended_keys",
    "transformer_forward_flops", "kv_cache_bytes_per_token", "kv_cache_bytes", "model_flops_per_token",
    "megatron_iteration_flops", "LORA_TARGETS", "lora_adapter_params", "lora_model_flops_per_token",
    "trains_with_dropout",
]

#: Operator classes of the table (what the step model fits an efficiency per).
OP_CLASSES = ("gemm", "moe_gemm", "attention", "norm", "elementwise", "embedding", "router", "lm_head")

_COLUMNS = ("op", "op_class", "layers", "flops_per_token", "attn_flops_per_key", "weight_params",
            "active_weight_params", "experts", "top_k", "act_elems_per_token", "kv_elems_per_key", "window",
            "tp_split")


def _norm_params(cfg, width: int) -> int:
    return (2 if cfg.norm == "layernorm" else 1) * width


def _rows(cfg) -> list[dict]:
    """The operator rows of ``cfg`` (see :func:`transformer_operators`)."""
    h, L, a, kv, dh = cfg.d_model, cfg.n_layers, cfg.n_heads, cfg.n_kv_heads, cfg.head_dim
    b = 1 if cfg.bias else 0
    rows: list[dict] = []

    def op(name, cls, layers, *, flops=0.0, attn=0.0, w=0, aw=None, experts=0, top_k=0, act=0.0, kvk=0.0,
           window=0, tp=True):
        if layers <= 0:
            return
        rows.append(dict(op=name, op_class=cls, layers=int(layers), flops_per_token=float(flops),
                         attn_flops_per_key=float(attn), weight_params=int(w),
                         active_weight_params=int(w if aw is None else aw), experts=int(experts), top_k=int(top_k),
                         act_elems_per_token=float(act), kv_elems_per_key=float(kvk), window=int(window),
                         tp_split=bool(tp)))

    def gemm(name, n_in, n_out, layers, cls="gemm", bias=b, tp=True):
        # y = x·W (+ b): 2·n_in·n_out FLOP per token; reads x (n_in), writes y (n_out)
        op(name, cls, layers, flops=2.0 * n_in * n_out, w=n_in * n_out + bias * n_out, act=n_in + n_out, tp=tp)

    # -- embeddings ---------------------------------------------------------------------------------
    emb_w = cfg.vocab_size * h + cfg.n_positions * h + cfg.type_vocab_size * h
    n_lookups = 1 + (cfg.n_positions > 0) + (cfg.type_vocab_size > 0)
    op("embedding", "embedding", 1, flops=(n_lookups - 1) * h, w=emb_w, aw=n_lookups * h,
       act=(n_lookups + 1) * h, tp=True)
    if cfg.encoder:                                 # BERT: LayerNorm of the summed embeddings
        op("embedding_norm", "norm", 1, flops=5.0 * h, w=_norm_params(cfg, h), act=2.0 * h, tp=False)

    # -- attention block (every layer) ----------------------------------------------------------------
    op("attn_norm", "norm", L, flops=5.0 * h, w=_norm_params(cfg, h), act=2.0 * h, tp=False)
    if cfg.is_mla:
        dqk, dv = cfg.qk_nope_head_dim + cfg.qk_rope_head_dim, cfg.v_head_dim
        if cfg.q_lora_rank:
            gemm("q_a_proj", h, cfg.q_lora_rank, L, bias=0, tp=False)
            op("q_a_norm", "norm", L, flops=5.0 * cfg.q_lora_rank, w=cfg.q_lora_rank,
               act=2.0 * cfg.q_lora_rank, tp=False)
            gemm("q_b_proj", cfg.q_lora_rank, a * dqk, L, bias=0)
        else:
            gemm("q_proj", h, a * dqk, L, bias=0)
        gemm("kv_a_proj", h, cfg.kv_lora_rank + cfg.qk_rope_head_dim, L, bias=0, tp=False)
        op("kv_a_norm", "norm", L, flops=5.0 * cfg.kv_lora_rank, w=cfg.kv_lora_rank,
           act=2.0 * cfg.kv_lora_rank, tp=False)
        gemm("kv_b_proj", cfg.kv_lora_rank, a * (cfg.qk_nope_head_dim + dv), L, bias=0)
        # the cache holds the latent and the shared rope key per token (absorbed decode reads it)
        kv_per_key = cfg.kv_lora_rank + cfg.qk_rope_head_dim
    else:
        dqk = dv = dh
        gemm("qkv_proj", h, (a + 2 * kv) * dh, L)
        kv_per_key = 2 * kv * dh
    if cfg.qk_norm:
        op("qk_norm", "norm", L, flops=5.0 * (a + kv) * dh, w=2 * dh, act=2.0 * (a + kv) * dh, tp=True)
    # attention core: QKᵀ (2·a·dqk per key) and A·V (2·a·dv per key); softmax ~5·a per key folded
    # into the element-wise work of a fused kernel; reads q, writes o
    n_lin = cfg.n_linear_attention_layers
    n_slide = cfg.n_sliding_layers if cfg.sliding_window else 0
    n_full = L - n_lin - n_slide
    attn_w = a if cfg.attention_sinks else 0
    core = dict(attn=2.0 * a * dqk + 2.0 * a * dv, act=a * dqk + a * dv, kvk=kv_per_key)
    op("attention", "attention", n_full, w=attn_w, **core)
    op("attention_sliding", "attention", n_slide, w=attn_w, window=cfg.sliding_window, **core)
    if n_lin:
        # linear attention (a recurrent matrix state per head): update and read-out, 2·2·a·dk·dv
        # per token, state held on chip; no cache that grows with the context
        op("attention_linear", "attention", n_lin, flops=4.0 * a * dh * dh, act=3.0 * a * dh)
    gemm("o_proj", a * dv, h, L)
    op("attn_residual", "elementwise", L, flops=h, act=3.0 * h, tp=False)

    # -- MLP block ----------------------------------------------------------------------------------
    op("mlp_norm", "norm", L, flops=5.0 * h, w=_norm_params(cfg, h), act=2.0 * h, tp=False)
    n_in = 2 if cfg.gated_mlp else 1
    n_dense = L - cfg.n_moe_layers
    if n_dense and cfg.ffn_dim:
        f = cfg.ffn_dim
        gemm("mlp_up", h, n_in * f, n_dense)
        op("mlp_act", "elementwise", n_dense, flops=(4.0 if cfg.gated_mlp else 8.0) * f, act=(n_in + 1.0) * f)
        gemm("mlp_down", f, h, n_dense)
    if cfg.is_moe:
        E, k, fe, M = cfg.n_experts, cfg.top_k, cfg.expert_ffn_dim, cfg.n_moe_layers
        eb = 1 if cfg.expert_bias else 0
        op("router", "router", M, flops=2.0 * h * E, w=h * E + eb * E, act=h + E, tp=False)
        # dispatch and combine: each token's activation copied to k experts and back
        op("moe_permute", "elementwise", M, flops=k * h, act=4.0 * k * h, tp=False)
        up_w, down_w = h * n_in * fe + eb * n_in * fe, fe * h + eb * h
        op("expert_up", "moe_gemm", M, flops=2.0 * k * h * n_in * fe, w=E * up_w, aw=k * up_w,
           experts=E, top_k=k, act=k * (h + n_in * fe))
        op("expert_act", "elementwise", M, flops=k * (4.0 if cfg.gated_mlp else 8.0) * fe,
           act=k * (n_in + 1.0) * fe)
        op("expert_down", "moe_gemm", M, flops=2.0 * k * fe * h, w=E * down_w, aw=k * down_w,
           experts=E, top_k=k, act=k * (fe + h))
        if cfg.n_shared_experts:
            fs = cfg.n_shared_experts * cfg.shared_ffn_dim
            gemm("shared_up", h, n_in * fs, M, bias=0)
            op("shared_act", "elementwise", M, flops=(4.0 if cfg.gated_mlp else 8.0) * fs, act=(n_in + 1.0) * fs)
            gemm("shared_down", fs, h, M, bias=0)
    op("mlp_residual", "elementwise", L, flops=h, act=3.0 * h, tp=False)

    # -- head ---------------------------------------------------------------------------------------
    if not cfg.encoder:
        op("final_norm", "norm", 1, flops=5.0 * h, w=_norm_params(cfg, h), act=2.0 * h, tp=False)
    if cfg.pooler:                                   # BERT pooler: dense + tanh on the first token only
        op("pooler", "gemm", 1, flops=0.0, w=h * h + h, act=0.0, tp=False)
    head_w = 0 if cfg.tied_embeddings else cfg.vocab_size * h
    op("lm_head", "lm_head", 1, flops=2.0 * h * cfg.vocab_size, w=head_w, aw=cfg.vocab_size * h,
       act=h + cfg.vocab_size)
    return rows


def transformer_operators(cfg) -> "pd.DataFrame":
    r"""The forward operators of a transformer, one row per operator of each layer kind.

    Columns: ``op``, ``op_class`` (one of :data:`OP_CLASSES`), ``layers`` (layers holding the
    operator), ``flops_per_token`` (forward FLOPs per token, the part linear in the tokens),
    ``attn_flops_per_key`` (attention cores: forward FLOPs per token per attended key, QKᵀ
    plus A·V: :math:`2a(d_{qk}+d_v)`), ``weight_params`` (parameters stored per layer; all
    experts for a routed expert GEMM), ``active_weight_params`` (touched by one token),
    ``experts``/``top_k`` (routed expert GEMMs), ``act_elems_per_token`` (activation elements
    read and written per token), ``kv_elems_per_key`` (cache elements per attended key:
    :math:`2\,n_{kv}\,d_h` for multi-head and grouped-query attention, ``kv_lora_rank +
    qk_rope_head_dim`` for latent attention), ``window`` (keys of a sliding-window layer, 0
    unbounded), ``tp_split`` (Megatron tensor parallelism divides the operator over the ranks).

    Parameters
    ----------
    cfg : TransformerConfig or Model
        The architecture (a :class:`~plaster_model.Model` built from a config carries it).

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    GPT-2 (124 M): the fused QKV projection of each of the 12 layers is 768 × 2304 (+ bias).

    >>> import plaster_model as pm
    >>> from plaster_model.estimators.transformer import transformer_operators
    >>> ops = transformer_operators(pm.load_model("GPT-2").transformer)
    >>> row = ops.set_index("op").loc["qkv_proj"]
    >>> int(row.layers), int(row.weight_params), float(row.flops_per_token)
    (12, 1771776, 3538944.0)
    """
    import pandas as pd

    return pd.DataFrame(_rows(_config(cfg)), columns=list(_COLUMNS))


def _config(cfg):
    t = getattr(cfg, "transformer", None)
    if t is not None:
        return t
    if hasattr(cfg, "n_layers") and hasattr(cfg, "d_model"):
        return cfg
    raise ParameterError("cfg", getattr(cfg, "name", cfg), "a TransformerConfig or a Model built from one "
                         "(pm.Model.from_hf_config, or a zoo transformer)")


def transformer_param_counts(cfg) -> dict:
    r"""Parameters of a transformer by part, the total and the active count per token.

    ``total`` counts tied embeddings once (as ``model.num_parameters()`` of Hugging Face
    transformers does); ``active`` counts only the ``top_k`` routed experts a token visits
    (all other parameters included), the "activated parameters" of MoE papers;
    ``non_embedding`` leaves out the token/position embeddings and the LM head (Kaplan et al.'s N).

    Parameters
    ----------
    cfg : TransformerConfig or Model

    Returns
    -------
    dict
        Keys ``embedding``, ``attention``, ``mlp``, ``experts``, ``shared_experts``, ``router``,
        ``norms``, ``lm_head``, ``other``, ``total``, ``active``, ``non_embedding`` (counts).

    Examples
    --------
    Llama-2-7B (h 4096, 32 layers, MLP 11008, vocabulary 32000, untied head): per layer
    4·4096² (attention) + 3·4096·11008 (gated MLP) + 2·4096 (RMSNorms) = 202,383,360;
    × 32 + 2·32000·4096 + 4096 = 6,738,415,616, the published ``num_parameters()``.

    >>> from plaster_model.catalog.transformer import TransformerConfig
    >>> from plaster_model.estimators.transformer import transformer_param_counts
    >>> cfg = TransformerConfig(name="llama-2-7b", n_layers=32, d_model=4096, n_heads=32, ffn_dim=11008,
    ...                         vocab_size=32000, gated_mlp=True, norm="rmsnorm")
    >>> transformer_param_counts(cfg)["total"]
    6738415616
    """
    c = _config(cfg)
    parts = dict(embedding=0, attention=0, mlp=0, experts=0, shared_experts=0, router=0, norms=0, lm_head=0,
                 other=0)
    active_experts = 0
    for r in _rows(c):
        n = r["weight_params"] * r["layers"]
        if r["op"] == "embedding":
            parts["embedding"] += n
        elif r["op"] == "lm_head":
            parts["lm_head"] += n
        elif r["op_class"] == "norm":
            parts["norms"] += n
        elif r["op_class"] == "moe_gemm":
            parts["experts"] += n
            active_experts += r["active_weight_params"] * r["layers"]
        elif r["op"].startswith("shared_"):
            parts["shared_experts"] += n
        elif r["op_class"] == "router":
            parts["router"] += n
        elif r["op"].startswith("mlp_"):
            parts["mlp"] += n
        elif r["op"] == "pooler":
            parts["other"] += n
        else:
            parts["attention"] += n
    total = int(sum(parts.values()))
    parts["total"] = total
    parts["active"] = int(total - parts["experts"] + active_experts)
    parts["non_embedding"] = int(total - parts["embedding"] - parts["lm_head"])
    return parts


def attended_keys(seq_len, causal: bool = True, window=None):
    r"""Mean keys one query attends in a prefill (a forward pass) of ``seq_len`` tokens.

    Causal: query i (1-based) attends i keys, so the mean is :math:`(s+1)/2`; bidirectional:
    :math:`s`; a sliding window of w keys caps each query at w: the mean is
    :math:`\frac{1}{s}\sum_i \min(i, w)`.

    Parameters
    ----------
    seq_len : int or array_like
        Tokens s in the sequence (>= 1).
    causal : bool
        Causal (decoder) attention.
    window : int, optional
        Sliding-window width w (0 or None: unbounded).

    Returns
    -------
    float or numpy.ndarray

    Examples
    --------
    >>> from plaster_model.estimators.transformer import attended_keys
    >>> attended_keys(2048), attended_keys(512, causal=False), attended_keys(4, window=2)
    (1024.5, 512.0, 1.75)
    """
    s = np.asarray(seq_len, dtype=float)
    if np.any(~np.isfinite(s) | (s < 1)):
        raise ParameterError("seq_len", seq_len, "a token count >= 1")
    if not causal:
        out = s if not window else np.minimum(s, float(window))
    elif not window:
        out = (s + 1.0) / 2.0
    else:
        w = float(window)
        # Σ_{i=1..s} min(i, w) = w(w+1)/2 + (s−w)·w for s > w, else s(s+1)/2
        out = np.where(s <= w, (s + 1.0) / 2.0, (w * (w + 1.0) / 2.0 + (s - w) * w) / s)
    return float(out) if out.ndim == 0 else out


def transformer_forward_flops(cfg, tokens, keys, lm_head_tokens=None):
    r"""Forward FLOPs of ``tokens`` tokens that each attend ``keys`` keys [FLOP].

    .. math::

        F = T\sum_o \ell_o\,f_o + T\,K\sum_{o\in\text{attn}} \ell_o\,g_o + T_\text{head}\,2hV

    with :math:`f_o` the linear FLOPs per token and :math:`g_o` the attention FLOPs per (token,
    key) of operator o held by :math:`\ell_o` layers (sliding-window layers attend
    ``min(keys, window)``).

    Parameters
    ----------
    cfg : TransformerConfig or Model
    tokens : float or array_like
        Tokens T in the step (batch × sequence in a prefill or training step; the batch in a
        decode step).
    keys : float or array_like
        Mean keys K each token attends (:func:`attended_keys` for a prefill; the context length
        for a decode step).
    lm_head_tokens : float or array_like, optional
        Tokens whose logits are computed (default all ``tokens``; in serving, one per sequence).

    Returns
    -------
    float or numpy.ndarray

    Examples
    --------
    GPT-2 (124 M) on one causal 1024-token sequence (each query attends 512.5 keys on
    average): the linear operators, 12 layers × 4·768 FLOP per (token, key) × 1024 × 512.5,
    and the head, 2·768·50257 per token.

    >>> import plaster_model as pm
    >>> from plaster_model.estimators.transformer import transformer_forward_flops, attended_keys
    >>> gpt2 = pm.load_model("GPT-2")
    >>> round(transformer_forward_flops(gpt2, 1024, attended_keys(1024)) / 1e9, 1)
    272.8
    """
    c = _config(cfg)
    t = np.asarray(tokens, dtype=float)
    k = np.asarray(keys, dtype=float)
    th = t if lm_head_tokens is None else np.asarray(lm_head_tokens, dtype=float)
    linear = head = 0.0
    attn = 0.0
    for r in _rows(c):
        if r["op"] == "lm_head":
            head += r["flops_per_token"]
        else:
            linear += r["layers"] * r["flops_per_token"]
        if r["attn_flops_per_key"]:
            kk = np.minimum(k, r["window"]) if r["window"] else k
            attn = attn + r["layers"] * r["attn_flops_per_key"] * kk
    out = t * linear + t * attn + th * head
    return float(out) if np.ndim(out) == 0 else out


def kv_cache_bytes_per_token(cfg, bytes_per_element: float = 2.0) -> float:
    r"""Key/value cache per token of context, all layers [B].

    Multi-head and grouped-query attention cache a key and a value per kv head:
    :math:`2\,L\,n_{kv}\,d_h\,s` bytes (Pope et al. 2023; Ainslie et al. 2023). Multi-head latent
    attention caches the compressed latent and the shared rotary key:
    :math:`L\,(d_c + d_h^R)\,s` (DeepSeek-V2, arXiv:2405.04434, section 2.1). Linear-attention
    layers keep a fixed state instead (not counted here); sliding-window layers are counted at
    full length here (:func:`kv_cache_bytes` caps them at the window).

    Parameters
    ----------
    cfg : TransformerConfig or Model
    bytes_per_element : float
        s, bytes of one cached element (2 for bf16/fp16, 1 for fp8).

    Returns
    -------
    float

    Examples
    --------
    Llama-3.1-70B: 2 × 80 layers × 8 kv heads × 128 × 2 B = 327,680 B (320 KiB) per token.

    >>> from plaster_model.catalog.transformer import TransformerConfig
    >>> from plaster_model.estimators.transformer import kv_cache_bytes_per_token
    >>> cfg = TransformerConfig(name="llama-3.1-70b", n_layers=80, d_model=8192, n_heads=64, n_kv_heads=8,
    ...                         ffn_dim=28672, vocab_size=128256, gated_mlp=True, norm="rmsnorm")
    >>> kv_cache_bytes_per_token(cfg)
    327680.0
    """
    c = _config(cfg)
    s = float(bytes_per_element)
    if not (np.isfinite(s) and s > 0):
        raise ParameterError("bytes_per_element", bytes_per_element, "bytes per cached element > 0")
    layers = c.n_layers - c.n_linear_attention_layers
    per = (c.kv_lora_rank + c.qk_rope_head_dim) if c.is_mla else 2 * c.n_kv_heads * c.head_dim
    return float(layers * per * s)


def kv_cache_bytes(cfg, context, bytes_per_element: float = 2.0):
    r"""Key/value cache of one sequence of ``context`` tokens, sliding windows capped [B].

    .. math::

        M = \sum_\ell c\,s\,\min(T, w_\ell)

    with c the cached elements per token of a layer (see :func:`kv_cache_bytes_per_token`) and
    :math:`w_\ell` its window (unbounded for full attention).

    Examples
    --------
    >>> import plaster_model as pm
    >>> from plaster_model.estimators.transformer import kv_cache_bytes
    >>> kv_cache_bytes(pm.load_model("GPT-2"), 1000)      # 2·12·768·2 B × 1000 tokens
    36864000.0
    """
    c = _config(cfg)
    T = np.asarray(context, dtype=float)
    if np.any(~np.isfinite(T) | (T < 0)):
        raise ParameterError("context", context, "a token count >= 0")
    per_layer = kv_cache_bytes_per_token(c, bytes_per_element) / max(c.n_layers - c.n_linear_attention_layers, 1)
    n_slide = c.n_sliding_layers if c.sliding_window else 0
    n_full = c.n_layers - c.n_linear_attention_layers - n_slide
    out = per_layer * (n_full * T + n_slide * np.minimum(T, c.sliding_window if n_slide else 0))
    return float(out) if np.ndim(out) == 0 else out


def model_flops_per_token(cfg, seq_len) -> float:
    r"""Model FLOPs per trained token, PaLM's definition (Chowdhery et al. 2022, Appendix B).

    .. math::

        6N + 12\,L\,H\,Q\,T

    with N the parameters excluding embeddings (for a mixture of experts, the active ones),
    L layers, H heads, Q head size, T the sequence length. Recomputation is not counted (that
    is hardware FLOPs, not model FLOPs). The LM head is part of N when untied (it is a GEMM per
    token); a tied head is counted once, as the embedding's GEMM.

    Parameters
    ----------
    cfg : TransformerConfig or Model
    seq_len : int
        T, tokens per sequence.

    Returns
    -------
    float

    Examples
    --------
    >>> from plaster_model.catalog.transformer import TransformerConfig
    >>> from plaster_model.estimators.transformer import model_flops_per_token
    >>> cfg = TransformerConfig(name="llama-2-7b", n_layers=32, d_model=4096, n_heads=32, ffn_dim=11008,
    ...                         vocab_size=32000, gated_mlp=True, norm="rmsnorm")
    >>> round(model_flops_per_token(cfg, 4096) / 1e9, 2)     # 6·6.607e9 + 12·32·32·128·4096
    46.09
    """
    c = _config(cfg)
    p = transformer_param_counts(c)
    # the embedding lookups do no arithmetic; a tied head still runs its V×h GEMM per token
    n = p["active"] - p["embedding"] + (c.vocab_size * c.d_model if c.tied_embeddings else 0)
    return float(6.0 * n + 12.0 * c.n_layers * c.n_heads * c.head_dim * float(seq_len))


def megatron_iteration_flops(batch, seq_len, layers, hidden, vocab, recompute: bool = True):
    r"""FLOPs of one GPT training iteration, Narayanan et al. (SC'21) eq. 3.

    .. math::

        F = k\,B\,s\,l\,h^2\left(1 + \frac{s}{6h} + \frac{V}{16\,l\,h}\right),\quad
        k = 96 \text{ with full activation recomputation, } 72 \text{ without}

    With k = 96 the transformer layers' GEMMs count four times their forward FLOPs (forward,
    recomputed forward, backward) and the LM head three times; the paper's k = 72 variant
    scales the head term by 3/4 too (an approximation of the paper, kept as printed).

    Parameters
    ----------
    batch : int or array_like
        B, global batch in sequences.
    seq_len, layers, hidden, vocab : int
        s, l, h, V.
    recompute : bool
        Full activation recomputation (an extra forward pass).

    Returns
    -------
    float or numpy.ndarray

    Examples
    --------
    GPT-3 175B (l 96, h 12288, s 2048, V 51200) at batch 1536, with recomputation:

    >>> from plaster_model.estimators.transformer import megatron_iteration_flops
    >>> f"{megatron_iteration_flops(1536, 2048, 96, 12288, 51200):.3e}"
    '4.511e+18'
    """
    k = 96.0 if recompute else 72.0
    B = np.asarray(batch, dtype=float)
    s, l, h, V = float(seq_len), float(layers), float(hidden), float(vocab)
    out = k * B * s * l * h * h * (1.0 + s / (6.0 * h) + V / (16.0 * l * h))
    return float(out) if out.ndim == 0 else out


#: Linear layers a LoRA fine-tune adapts: ``"attention"`` (q, k, v, o projections: the MLPerf
#: Llama 2 70B LoRA reference and NeMo's default) or ``"all"`` (also the dense MLP's).
LORA_TARGETS = ("attention", "all")


def lora_adapter_params(cfg, rank, targets="attention") -> float:
    r"""Trainable parameters of a LoRA fine-tune (Hu et al. 2021), all layers.

    Each adapted linear layer ``W ∈ R^{d_out×d_in}`` gains ``B·A`` with ``A ∈ R^{r×d_in}``,
    ``B ∈ R^{d_out×r}``: ``r·(d_in + d_out)`` parameters. With ``h`` the model width, ``H·q``
    the query width and ``g`` the key/value width (grouped-query attention):

    .. math::

        P_\text{attention} = L\,r\,\bigl[(h + Hq) + 2(h + g) + (Hq + h)\bigr],\qquad
        P_\text{all} = P_\text{attention} + L_\text{dense}\,r\,n_\text{mlp}(h + f)

    (``n_mlp`` = 3 for a gated MLP, 2 otherwise; experts of MoE layers are not adapted).

    Parameters
    ----------
    cfg : TransformerConfig or Model
    rank : int
        ``r``, the adapters' rank.
    targets : {"attention", "all"}

    Returns
    -------
    float
        Parameters (count).

    References
    ----------
    E. Hu et al., "LoRA: Low-Rank Adaptation of Large Language Models", ICLR 2022
    (arXiv:2106.09685), Section 4.

    Examples
    --------
    Llama 2 70B (L 80, h 8192, 64 query heads of 128, 8 kv heads), r = 16 on q, k, v, o:
    80·16·(16384 + 2·9216 + 16384) = 65,536,000:

    >>> from plaster_model.catalog.transformer import TransformerConfig
    >>> cfg = TransformerConfig(name="llama-2-70b", n_layers=80, d_model=8192, n_heads=64, n_kv_heads=8,
    ...                         ffn_dim=28672, vocab_size=32000, gated_mlp=True, norm="rmsnorm")
    >>> lora_adapter_params(cfg, 16)
    65536000.0
    """
    c = _config(cfg)
    if isinstance(rank, bool) or not isinstance(rank, (int, float, np.integer)) or not rank >= 1 or rank != int(rank):
        raise ParameterError("lora_rank", rank, "a whole number >= 1")
    tgt = str(targets).strip().lower()
    if tgt not in LORA_TARGETS:
        raise ParameterError("lora_targets", targets, f"one of {LORA_TARGETS}")
    h = float(c.d_model)
    q = float(c.n_heads * c.head_dim)
    g = float((c.n_kv_heads or c.n_heads) * c.head_dim)
    per_layer = (h + q) + 2.0 * (h + g) + (q + h)
    out = float(c.n_layers) * float(rank) * per_layer
    if tgt == "all":
        dense = c.n_layers - (int(getattr(c, "n_moe_layers", 0) or 0) if c.is_moe else 0)
        out += float(dense) * float(rank) * (3.0 if c.gated_mlp else 2.0) * (h + float(c.ffn_dim))
    return out


def lora_model_flops_per_token(cfg, seq_len, rank, targets="attention") -> float:
    r"""Model FLOPs per trained token of a LoRA fine-tune.

    .. math::

        4N + 6P_\text{LoRA} + 12\,L\,H\,Q\,T

    The frozen base weights run forward (``2N``) and propagate input gradients (``2N``) but
    compute no weight gradients (the ``2N`` that :func:`model_flops_per_token`'s ``6N``
    includes); the adapters train fully (``6P``); attention as PaLM's (Chowdhery et al. 2022,
    App. B). ``N`` and ``Q``, ``T`` as in :func:`model_flops_per_token`.

    Examples
    --------
    >>> from plaster_model.catalog.transformer import TransformerConfig
    >>> cfg = TransformerConfig(name="llama-2-7b", n_layers=32, d_model=4096, n_heads=32, ffn_dim=11008,
    ...                         vocab_size=32000, gated_mlp=True, norm="rmsnorm")
    >>> full, lora = model_flops_per_token(cfg, 4096), lora_model_flops_per_token(cfg, 4096, 16)
    >>> round((full - lora) / 1e9, 2)   # 2·6.607e9 − 6·(32·16·4·8192) = 13.21 − 0.10
    13.11
    """
    c = _config(cfg)
    full = model_flops_per_token(c, seq_len)
    p = transformer_param_counts(c)
    n = p["active"] - p["embedding"] + (c.vocab_size * c.d_model if c.tied_embeddings else 0)
    return float(full - 2.0 * n + 6.0 * lora_adapter_params(c, rank, targets))


#: Model families whose published pre-training recipes use no dropout (Llama 2/3: Touvron et
#: al. 2023 and Llama Team 2024 list none; Mistral/Mixtral, Qwen2/3, DeepSeek-V2/V3, Nemotron-4
#: ("no dropout", Parmar et al. 2024, arXiv:2402.16819), MPT (llm-foundry ``resid_pdrop: 0``),
#: Gemma, OLMo, gpt-oss): their configs set attention dropout 0 and have no hidden dropout.
NO_DROPOUT_FAMILIES = frozenset({"llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe",
                                 "deepseek_v2", "deepseek_v3", "nemotron", "mpt", "gemma", "gemma2", "gemma3",
                                 "olmo", "olmo2", "gpt_oss", "glm4_moe", "kimi_k2", "minimax_m2"})
_DROPOUT_KEYS = ("hidden_dropout", "resid_pdrop", "hidden_dropout_prob", "dropout", "ffn_dropout", "embd_pdrop")


def trains_with_dropout(cfg) -> bool:
    """Whether a transformer's training applies dropout after attention and the MLP (Korthikanti
    et al.'s two 1-byte masks per element of ``s·b·h``).

    The config's own hidden/residual dropout when it states one (> 0); else False for the
    families of :data:`NO_DROPOUT_FAMILIES`, True otherwise (GPT-2/GPT-3/BERT/OPT: 0.1).

    >>> from plaster_model.catalog.transformer import TransformerConfig
    >>> trains_with_dropout(TransformerConfig(name="x", n_layers=2, d_model=64, n_heads=4, ffn_dim=256,
    ...                                       vocab_size=100, hf_config={"model_type": "llama"}))
    False
    """
    c = _config(cfg)
    hf = dict(getattr(c, "hf_config", {}) or {})
    stated = [float(hf[k]) for k in _DROPOUT_KEYS if isinstance(hf.get(k), (int, float)) and not isinstance(hf.get(k), bool)]
    if stated:
        return max(stated) > 0.0
    return str(hf.get("model_type", "")).lower() not in NO_DROPOUT_FAMILIES
