"""Transformer architectures as numbers: :class:`TransformerConfig`, read from a Hugging Face
``config.json`` (locally; no network) or written in the zoo.

One frozen record per architecture carries what the operator table
(:func:`plaster_model.estimators.transformer.transformer_operators`) needs: layers, widths,
heads (grouped-query attention: fewer key/value heads), the MLP (gated or not), mixture of
experts (routed experts, top-k, shared experts, leading dense layers), multi-head latent
attention (DeepSeek-V2/V3: compressed key/value latent) and sliding-window layers.

The field names of the configs differ by ``model_type``; :meth:`TransformerConfig.from_hf_config`
maps each family once, here, and refuses a config it cannot read with a
:class:`~plaster_model.errors.CatalogError` that names the missing field.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from ..errors import CatalogError, ParameterTypeError

__all__ = ["TransformerConfig", "HF_MODEL_TYPES", "transformer_model_fields", "DEFAULT_SEQ_LEN"]

#: Tokens of one sample of a transformer built without a stated sequence length.
DEFAULT_SEQ_LEN = 2048

#: ``model_type`` values :meth:`TransformerConfig.from_hf_config` reads, with the family's
#: conventions (gated MLP, RMSNorm, linear biases, tied embeddings by default).
HF_MODEL_TYPES = (
    "gpt2", "gpt_neox", "opt", "bert", "llama", "mistral", "mixtral", "qwen2", "qwen3", "qwen2_moe",
    "qwen3_moe", "deepseek_v2", "deepseek_v3", "kimi_k2", "glm_moe_dsa", "gpt_oss", "minimax_m2", "mpt",
    "nemotron", "qwen3_5_moe_text", "megatron_gpt",
)


def _int(value, what: str, owner: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or value is None:
        raise CatalogError(f"{owner}: {what} must be an integer >= {minimum}, got {value!r}")
    try:
        iv = int(value)
    except (TypeError, ValueError):
        raise CatalogError(f"{owner}: {what} must be an integer >= {minimum}, got {value!r}") from None
    if iv != value or iv < minimum:
        raise CatalogError(f"{owner}: {what} must be an integer >= {minimum}, got {value!r}")
    return iv


@dataclass(frozen=True)
class TransformerConfig:
    """A transformer's architecture, the numbers its operator table is built from.

    Parameters
    ----------
    name : str
        Model name.
    n_layers : int
        Transformer blocks (decoder layers; for an encoder, encoder layers) [count].
    d_model : int
        Hidden size h [elements per token].
    n_heads : int
        Query heads a [count].
    ffn_dim : int
        Width of the dense MLP's hidden layer (``intermediate_size``; 4·h in GPT) [elements].
    vocab_size : int
        Vocabulary V (rows of the token embedding and of the LM head) [tokens].
    n_kv_heads : int, optional
        Key/value heads (grouped-query attention, Ainslie et al. 2023); default ``n_heads``.
    head_dim : int, optional
        Width of one head; default ``d_model // n_heads``.
    gated_mlp : bool
        SwiGLU/GeGLU MLP (three matrices: gate, up, down) instead of two (up, down).
    tied_embeddings : bool
        The LM head reuses the token embedding (its parameters counted once).
    n_positions : int
        Rows of a learned position embedding (GPT-2, BERT, OPT); 0 for rotary or ALiBi.
    norm : {"layernorm", "rmsnorm"}
        LayerNorm has a weight and a bias per channel, RMSNorm a weight only.
    bias : bool
        Linear layers carry biases (GPT-2, BERT, OPT) or not (Llama, Mistral, Qwen3).
    encoder : bool
        Bidirectional attention (BERT); False is a causal decoder.
    type_vocab_size : int
        BERT's token-type embedding rows (0 elsewhere).
    n_experts, top_k, expert_ffn_dim : int
        Mixture of experts (Shazeer et al. 2017; GShard; Switch): routed experts per MoE layer,
        experts each token visits, each expert's MLP width. ``n_experts = 0``: dense.
    n_shared_experts, shared_ffn_dim : int
        Experts every token visits (DeepSeekMoE) and their width.
    n_dense_layers : int
        Leading layers of an MoE model with a dense MLP (DeepSeek-V3's ``first_k_dense_replace``).
    q_lora_rank, kv_lora_rank, qk_nope_head_dim, qk_rope_head_dim, v_head_dim : int
        Multi-head latent attention (DeepSeek-V2, arXiv:2405.04434): queries and keys/values go
        through low-rank latents; the cache holds ``kv_lora_rank + qk_rope_head_dim`` values per
        token and layer. ``kv_lora_rank = 0``: ordinary attention.
    sliding_window : int
        Keys a sliding-window layer attends (0: none); ``n_sliding_layers`` of the layers use it.
    n_linear_attention_layers : int
        Layers with linear attention (a recurrent state, no KV cache growing with the context);
        their attention is counted as a full-attention layer's projections with no quadratic term.
    expert_bias : bool
        Routed experts and the router carry biases (gpt-oss).
    qk_norm : bool
        Per-head RMSNorm of queries and keys (Qwen3): ``2·head_dim`` parameters per layer.
    attention_sinks : bool
        A learned sink logit per head (gpt-oss): ``n_heads`` parameters per layer.
    pooler : bool
        BERT's pooler (a dense layer on the first token).
    source, notes : str
        Where the numbers come from; caveats.

    Examples
    --------
    >>> from plaster_model.catalog.transformer import TransformerConfig
    >>> cfg = TransformerConfig.from_hf_config({"model_type": "llama", "hidden_size": 4096,
    ...     "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
    ...     "intermediate_size": 14336, "vocab_size": 128256, "tie_word_embeddings": False})
    >>> cfg.head_dim, cfg.n_kv_heads, cfg.gated_mlp
    (128, 8, True)
    """

    name: str
    n_layers: int
    d_model: int
    n_heads: int
    ffn_dim: int
    vocab_size: int
    n_kv_heads: int = 0
    head_dim: int = 0
    gated_mlp: bool = False
    tied_embeddings: bool = False
    n_positions: int = 0
    norm: str = "layernorm"
    bias: bool = False
    encoder: bool = False
    type_vocab_size: int = 0
    n_experts: int = 0
    top_k: int = 0
    expert_ffn_dim: int = 0
    n_shared_experts: int = 0
    shared_ffn_dim: int = 0
    n_dense_layers: int = 0
    q_lora_rank: int = 0
    kv_lora_rank: int = 0
    qk_nope_head_dim: int = 0
    qk_rope_head_dim: int = 0
    v_head_dim: int = 0
    sliding_window: int = 0
    n_sliding_layers: int = 0
    n_linear_attention_layers: int = 0
    expert_bias: bool = False
    qk_norm: bool = False
    attention_sinks: bool = False
    pooler: bool = False
    source: str = ""
    notes: str = ""
    hf_config: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        owner = f"transformer {self.name!r}"
        for f in ("n_layers", "d_model", "n_heads", "ffn_dim", "vocab_size"):
            _int(getattr(self, f), f, owner, 1 if f != "ffn_dim" else 0)
        for f in ("n_kv_heads", "head_dim", "n_positions", "type_vocab_size", "n_experts", "top_k",
                  "expert_ffn_dim", "n_shared_experts", "shared_ffn_dim", "n_dense_layers", "q_lora_rank",
                  "kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim", "sliding_window",
                  "n_sliding_layers", "n_linear_attention_layers"):
            _int(getattr(self, f), f, owner, 0)
        if self.n_kv_heads == 0:
            object.__setattr__(self, "n_kv_heads", self.n_heads)
        if self.head_dim == 0:
            if self.d_model % self.n_heads:
                raise CatalogError(f"{owner}: d_model {self.d_model} is not a multiple of n_heads "
                                   f"{self.n_heads}; give head_dim")
            object.__setattr__(self, "head_dim", self.d_model // self.n_heads)
        if self.n_heads % self.n_kv_heads:
            raise CatalogError(f"{owner}: n_heads {self.n_heads} is not a multiple of n_kv_heads "
                               f"{self.n_kv_heads} (grouped-query attention shares whole groups)")
        if self.norm not in ("layernorm", "rmsnorm"):
            raise CatalogError(f"{owner}: norm must be 'layernorm' or 'rmsnorm', got {self.norm!r}")
        if self.n_experts:
            if not (1 <= self.top_k <= self.n_experts):
                raise CatalogError(f"{owner}: top_k must be in 1..n_experts={self.n_experts}, got {self.top_k}")
            if self.expert_ffn_dim < 1:
                raise CatalogError(f"{owner}: an MoE model needs expert_ffn_dim >= 1")
        elif self.top_k or self.n_shared_experts:
            raise CatalogError(f"{owner}: top_k/n_shared_experts given without n_experts")
        if self.n_dense_layers > self.n_layers or self.n_sliding_layers > self.n_layers \
                or self.n_linear_attention_layers > self.n_layers:
            raise CatalogError(f"{owner}: more dense/sliding/linear-attention layers than n_layers={self.n_layers}")
        if self.kv_lora_rank and not (self.qk_rope_head_dim + self.qk_nope_head_dim and self.v_head_dim):
            raise CatalogError(f"{owner}: multi-head latent attention needs qk_nope_head_dim, "
                               f"qk_rope_head_dim and v_head_dim")

    # -- derived -----------------------------------------------------------------------------------------
    @property
    def is_moe(self) -> bool:
        """True when the MLP of some layers is a mixture of experts."""
        return self.n_experts > 0

    @property
    def is_mla(self) -> bool:
        """True for multi-head latent attention (a compressed key/value latent is cached)."""
        return self.kv_lora_rank > 0

    @property
    def n_moe_layers(self) -> int:
        """Layers whose MLP is a mixture of experts."""
        return self.n_layers - self.n_dense_layers if self.is_moe else 0

    @property
    def causal(self) -> bool:
        """True for a causal decoder (each token attends the tokens before it)."""
        return not self.encoder

    def with_(self, **changes) -> "TransformerConfig":
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    # -- Hugging Face configs ------------------------------------------------------------------------
    @classmethod
    def from_hf_config(cls, path_or_dict, name: str | None = None) -> "TransformerConfig":
        """Read a Hugging Face ``config.json`` (a path or the parsed dict); no network.

        Vision-language configs are read through their ``text_config``. The families in
        :data:`HF_MODEL_TYPES` are mapped field by field; a config without a ``model_type``
        is read with the Llama names when it has them.

        Parameters
        ----------
        path_or_dict : str, os.PathLike or mapping
            A ``config.json`` file or its contents.
        name : str, optional
            Model name (default: ``_name_or_path``, else the ``model_type``).

        Returns
        -------
        TransformerConfig

        Raises
        ------
        CatalogError
            The file cannot be read, or the config lacks a field its family needs.

        Examples
        --------
        >>> from plaster_model.catalog.transformer import TransformerConfig
        >>> TransformerConfig.from_hf_config({"model_type": "gpt2", "n_embd": 768, "n_layer": 12,
        ...     "n_head": 12, "vocab_size": 50257, "n_positions": 1024}).ffn_dim
        3072
        """
        if isinstance(path_or_dict, (str, os.PathLike)):
            p = Path(path_or_dict)
            try:
                if p.stat().st_size > 16 * 2**20:
                    raise CatalogError(f"{p}: a config.json over 16 MiB is not a model config")
                cfg = json.loads(p.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise CatalogError(f"cannot read Hugging Face config {str(p)!r}: {exc}") from None
            source = f"Hugging Face config {p.name}"
        elif isinstance(path_or_dict, Mapping):
            cfg = dict(path_or_dict)
            source = "Hugging Face config (dict)"
        else:
            raise CatalogError(f"from_hf_config needs a path or a dict, got {type(path_or_dict).__name__}")
        if isinstance(cfg.get("text_config"), Mapping) and "num_hidden_layers" not in cfg:
            cfg = {**cfg["text_config"], "model_type": cfg["text_config"].get("model_type", cfg.get("model_type"))}
        mt = str(cfg.get("model_type") or ("llama" if "num_hidden_layers" in cfg else "")).lower()
        if mt not in HF_MODEL_TYPES:
            raise CatalogError(f"model_type {mt!r} is not a transformer family this reader knows; "
                               f"known: {', '.join(HF_MODEL_TYPES)}")
        nm = name or str(cfg.get("_name_or_path") or cfg.get("name") or mt)
        kw = _READERS[mt](cfg, nm)
        return cls(name=nm, source=kw.pop("source", source), hf_config=MappingProxyDict(cfg), **kw)


class MappingProxyDict(dict):
    """A dict that refuses changes (the config a TransformerConfig was read from)."""

    def _refuse(self, *a, **k):
        raise ParameterTypeError("hf_config", None,
                                 message="the Hugging Face config of a TransformerConfig is read-only")

    __setitem__ = __delitem__ = update = pop = popitem = clear = setdefault = _refuse  # type: ignore[assignment]

    def __hash__(self):  # pragma: no cover - identity hash; dataclass field has compare=False
        return id(self)


def _need(cfg: Mapping, key: str, name: str, *alts: str):
    for k in (key, *alts):
        if cfg.get(k) is not None:
            return cfg[k]
    raise CatalogError(f"config of {name!r} (model_type {cfg.get('model_type')!r}) lacks {key!r}")


def _gpt2(cfg, name):
    h = _need(cfg, "n_embd", name, "hidden_size")
    return dict(n_layers=_need(cfg, "n_layer", name, "num_hidden_layers"), d_model=h,
                n_heads=_need(cfg, "n_head", name, "num_attention_heads"),
                ffn_dim=cfg.get("n_inner") or 4 * h, vocab_size=_need(cfg, "vocab_size", name),
                n_positions=cfg.get("n_positions") or cfg.get("max_position_embeddings") or 1024,
                tied_embeddings=bool(cfg.get("tie_word_embeddings", True)), norm="layernorm", bias=True)


def _megatron_gpt(cfg, name):
    # Megatron-LM / vTrain GPT: learned positions, biases, LayerNorm, 4h MLP, tied head
    h = _need(cfg, "hidden_size", name)
    return dict(n_layers=_need(cfg, "num_layers", name, "num_hidden_layers"), d_model=h,
                n_heads=_need(cfg, "num_attention_heads", name), ffn_dim=cfg.get("ffn_hidden_size") or 4 * h,
                vocab_size=_need(cfg, "vocab_size", name), n_positions=cfg.get("max_position_embeddings") or 0,
                tied_embeddings=bool(cfg.get("tie_word_embeddings", True)), norm="layernorm", bias=True)


def _gpt_neox(cfg, name):
    return dict(n_layers=_need(cfg, "num_hidden_layers", name), d_model=_need(cfg, "hidden_size", name),
                n_heads=_need(cfg, "num_attention_heads", name), ffn_dim=_need(cfg, "intermediate_size", name),
                vocab_size=_need(cfg, "vocab_size", name), tied_embeddings=bool(cfg.get("tie_word_embeddings", False)),
                norm="layernorm", bias=True)


def _opt(cfg, name):
    h = _need(cfg, "hidden_size", name)
    proj = cfg.get("word_embed_proj_dim") or h
    if proj != h:
        raise CatalogError(f"config of {name!r}: OPT with word_embed_proj_dim != hidden_size is not supported")
    # OPT's learned positions carry an offset of 2 rows (OPTLearnedPositionalEmbedding)
    return dict(n_layers=_need(cfg, "num_hidden_layers", name), d_model=h,
                n_heads=_need(cfg, "num_attention_heads", name), ffn_dim=_need(cfg, "ffn_dim", name),
                vocab_size=_need(cfg, "vocab_size", name),
                n_positions=(cfg.get("max_position_embeddings") or 2048) + 2,
                tied_embeddings=bool(cfg.get("tie_word_embeddings", True)), norm="layernorm",
                bias=bool(cfg.get("enable_bias", True)))


def _bert(cfg, name):
    return dict(n_layers=_need(cfg, "num_hidden_layers", name), d_model=_need(cfg, "hidden_size", name),
                n_heads=_need(cfg, "num_attention_heads", name), ffn_dim=_need(cfg, "intermediate_size", name),
                vocab_size=_need(cfg, "vocab_size", name), n_positions=cfg.get("max_position_embeddings") or 512,
                type_vocab_size=cfg.get("type_vocab_size", 2), tied_embeddings=True, norm="layernorm",
                bias=True, encoder=True, pooler=True)


def _llama(cfg, name):
    kw = dict(n_layers=_need(cfg, "num_hidden_layers", name), d_model=_need(cfg, "hidden_size", name),
              n_heads=_need(cfg, "num_attention_heads", name),
              n_kv_heads=cfg.get("num_key_value_heads") or cfg.get("num_attention_heads"),
              head_dim=cfg.get("head_dim") or 0, ffn_dim=cfg.get("intermediate_size") or 0,
              vocab_size=_need(cfg, "vocab_size", name), gated_mlp=True,
              tied_embeddings=bool(cfg.get("tie_word_embeddings", False)), norm="rmsnorm",
              bias=bool(cfg.get("attention_bias", False)))
    mt = cfg.get("model_type")
    if mt in ("qwen3", "qwen3_moe", "qwen3_5_moe_text"):
        kw["qk_norm"] = True                        # Qwen3: RMSNorm of q and k per head
    if mt == "qwen2":
        kw["bias"] = True                           # Qwen2: q/k/v projections carry biases
    if cfg.get("use_sliding_window") and cfg.get("sliding_window"):
        kw["sliding_window"] = int(cfg["sliding_window"])
        kw["n_sliding_layers"] = kw["n_layers"] - int(cfg.get("max_window_layers") or 0)
    elif mt == "mistral" and cfg.get("sliding_window"):
        kw["sliding_window"] = int(cfg["sliding_window"])
        kw["n_sliding_layers"] = kw["n_layers"]
    return kw


def _moe_common(cfg, name, experts_key, ffn_key):
    kw = _llama(cfg, name)
    kw.update(n_experts=_need(cfg, experts_key, name), top_k=_need(cfg, "num_experts_per_tok", name,
                                                                    "experts_per_token"),
              expert_ffn_dim=_need(cfg, ffn_key, name))
    return kw


def _mixtral(cfg, name):
    kw = _moe_common(cfg, name, "num_local_experts", "intermediate_size")
    kw["ffn_dim"] = 0
    if cfg.get("sliding_window"):
        kw.update(sliding_window=int(cfg["sliding_window"]), n_sliding_layers=kw["n_layers"])
    return kw


def _qwen_moe(cfg, name):
    kw = _moe_common(cfg, name, "num_experts", "moe_intermediate_size")
    shared = int(cfg.get("shared_expert_intermediate_size") or 0)
    if shared:
        kw.update(n_shared_experts=1, shared_ffn_dim=shared)
    dense = list(cfg.get("mlp_only_layers") or [])
    step = int(cfg.get("decoder_sparse_step") or 1)
    if step != 1:
        raise CatalogError(f"config of {name!r}: decoder_sparse_step={step} (MoE every k-th layer) is not supported")
    kw["n_dense_layers"] = len(dense)
    kw["ffn_dim"] = int(cfg.get("intermediate_size") or 0) if dense else 0
    if cfg.get("model_type") == "qwen2_moe":
        kw["bias"] = True
    if cfg.get("model_type") == "qwen3_5_moe_text":
        counts = cfg.get("layer_types_count") or {}
        lin = int(counts.get("linear_attention", 0))
        if not lin and cfg.get("full_attention_interval"):
            lin = kw["n_layers"] - kw["n_layers"] // int(cfg["full_attention_interval"])
        kw["n_linear_attention_layers"] = lin
        kw["notes"] = (f"{lin} of {kw['n_layers']} layers use linear attention (Gated DeltaNet): counted "
                       f"with full-attention projections and no quadratic term or growing cache")
    return kw


def _deepseek(cfg, name):
    L = _need(cfg, "num_hidden_layers", name)
    freq = int(cfg.get("moe_layer_freq") or 1)
    if freq != 1:
        raise CatalogError(f"config of {name!r}: moe_layer_freq={freq} is not supported")
    n_exp = int(cfg.get("n_routed_experts") or 0)
    kw = dict(n_layers=L, d_model=_need(cfg, "hidden_size", name), n_heads=_need(cfg, "num_attention_heads", name),
              ffn_dim=_need(cfg, "intermediate_size", name), vocab_size=_need(cfg, "vocab_size", name),
              gated_mlp=True, tied_embeddings=bool(cfg.get("tie_word_embeddings", False)), norm="rmsnorm",
              q_lora_rank=int(cfg.get("q_lora_rank") or 0), kv_lora_rank=_need(cfg, "kv_lora_rank", name),
              qk_nope_head_dim=_need(cfg, "qk_nope_head_dim", name),
              qk_rope_head_dim=_need(cfg, "qk_rope_head_dim", name), v_head_dim=_need(cfg, "v_head_dim", name))
    kw["head_dim"] = kw["qk_nope_head_dim"] + kw["qk_rope_head_dim"]
    if n_exp:
        kw.update(n_experts=n_exp, top_k=_need(cfg, "num_experts_per_tok", name),
                  expert_ffn_dim=_need(cfg, "moe_intermediate_size", name),
                  n_shared_experts=int(cfg.get("n_shared_experts") or 0),
                  n_dense_layers=int(cfg.get("first_k_dense_replace") or 0))
        kw["shared_ffn_dim"] = kw["expert_ffn_dim"] if kw["n_shared_experts"] else 0
    mtp = int(cfg.get("num_nextn_predict_layers") or 0)
    if mtp:
        kw["notes"] = (f"{mtp} multi-token-prediction layer(s) of the checkpoint are not counted (as the "
                       f"published parameter counts do not count them)")
    if cfg.get("index_topk"):
        kw["notes"] = (kw.get("notes", "") + "; " if kw.get("notes") else "") + (
            f"sparse attention indexer (top {cfg['index_topk']} keys) not modelled: attention counted dense")
    return kw


def _gpt_oss(cfg, name):
    kw = _moe_common(cfg, name, "num_local_experts", "intermediate_size")
    kw.update(ffn_dim=0, bias=True, expert_bias=True, attention_sinks=True)
    counts = cfg.get("layer_types_count") or {}
    if cfg.get("sliding_window"):
        kw["sliding_window"] = int(cfg["sliding_window"])
        kw["n_sliding_layers"] = int(counts.get("sliding_attention", kw["n_layers"] // 2))
    return kw


def _minimax(cfg, name):
    kw = _moe_common(cfg, name, "num_local_experts", "intermediate_size")
    kw["ffn_dim"] = 0
    shared = int(cfg.get("shared_intermediate_size") or 0)
    if shared:
        kw.update(n_shared_experts=1, shared_ffn_dim=shared)
    return kw


def _mpt(cfg, name):
    h = _need(cfg, "d_model", name)
    return dict(n_layers=_need(cfg, "n_layers", name), d_model=h, n_heads=_need(cfg, "n_heads", name),
                ffn_dim=int((cfg.get("expansion_ratio") or 4) * h), vocab_size=_need(cfg, "vocab_size", name),
                tied_embeddings=True, bias=not cfg.get("no_bias", True),
                # MPT's LayerNorms drop their bias with no_bias: a weight per channel, as an RMSNorm
                norm="rmsnorm" if cfg.get("no_bias", True) else "layernorm")


def _nemotron(cfg, name):
    kw = _llama(cfg, name)
    kw.update(gated_mlp=False, norm="layernorm", bias=bool(cfg.get("mlp_bias", False)))
    return kw


_READERS = {
    "gpt2": _gpt2, "megatron_gpt": _megatron_gpt, "gpt_neox": _gpt_neox, "opt": _opt, "bert": _bert,
    "llama": _llama, "mistral": _llama, "qwen2": _llama, "qwen3": _llama, "mixtral": _mixtral,
    "qwen2_moe": _qwen_moe, "qwen3_moe": _qwen_moe, "qwen3_5_moe_text": _qwen_moe,
    "deepseek_v2": _deepseek, "deepseek_v3": _deepseek, "kimi_k2": _deepseek, "glm_moe_dsa": _deepseek,
    "gpt_oss": _gpt_oss, "minimax_m2": _minimax, "mpt": _mpt, "nemotron": _nemotron,
}


_FAMILY = {"gpt2": "gpt", "megatron_gpt": "gpt", "gpt_neox": "gpt", "opt": "opt", "bert": "bert", "llama": "llama",
           "mistral": "llama", "qwen2": "qwen", "qwen3": "qwen", "mixtral": "moe", "qwen2_moe": "moe",
           "qwen3_moe": "moe", "qwen3_5_moe_text": "moe", "deepseek_v2": "moe", "deepseek_v3": "moe",
           "kimi_k2": "moe", "glm_moe_dsa": "moe", "gpt_oss": "moe", "minimax_m2": "moe", "mpt": "gpt",
           "nemotron": "llama"}


def transformer_model_fields(cfg: TransformerConfig, seq_len: int | None = None) -> dict:
    """The :class:`~plaster_model.Model` fields a transformer's architecture implies.

    ``params`` (total), ``fwd_flops`` (one sequence of ``seq_len`` tokens, every query attending
    all keys: the FLOP-count convention of PaLM and Megatron), ``flop_convention="flops"``,
    ``seq_len``, ``family``, ``task``, ``input_shape``, ``source`` and ``transformer``.
    """
    from ..estimators.transformer import transformer_forward_flops, transformer_param_counts

    notes = cfg.notes
    if seq_len is None:
        seq_len = DEFAULT_SEQ_LEN
        notes = (notes + "; " if notes else "") + f"a sample is {DEFAULT_SEQ_LEN} tokens (no seq_len given)"
    seq_len = _int(seq_len, "seq_len", f"transformer {cfg.name!r}", 1)
    mt = str(cfg.hf_config.get("model_type", "")) if cfg.hf_config else ""
    return dict(params=transformer_param_counts(cfg)["total"],
                fwd_flops=transformer_forward_flops(cfg, seq_len, seq_len), flop_convention="flops",
                seq_len=seq_len, family=_FAMILY.get(mt, "moe" if cfg.is_moe else "transformer"),
                task="masked language model" if cfg.encoder else "language model", input_shape=(seq_len,),
                source=cfg.source or "transformer architecture", notes=notes, transformer=cfg)
