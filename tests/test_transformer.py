"""Transformer architectures: parameter counts against published figures, FLOPs against
independent derivations (the ONNX graph counter, Megatron's eq. 3, PaLM's MFU formula), KV cache."""
import json

import numpy as np
import pytest

import plaster_model as pm
from plaster_model.catalog.transformer import TransformerConfig
from plaster_model.errors import CatalogError, ParameterError
from plaster_model.estimators.transformer import (attended_keys, kv_cache_bytes, kv_cache_bytes_per_token,
                                                  megatron_iteration_flops, model_flops_per_token,
                                                  transformer_forward_flops, transformer_operators,
                                                  transformer_param_counts)

# Exact Hugging Face ``model.num_parameters()`` of the published checkpoints (tied weights once).
EXACT = {
    "GPT-2": 124_439_808,            # gpt2
    "GPT-2 XL": 1_557_611_200,       # gpt2-xl
    "BERT-base": 109_482_240,        # bert-base-uncased (BertModel with pooler)
    "BERT-large": 335_141_888,       # bert-large-uncased
    "Llama-2-7B": 6_738_415_616,     # meta-llama/Llama-2-7b-hf
    "Llama-2-13B": 13_015_864_320,   # meta-llama/Llama-2-13b-hf
    "Llama-2-70B": 68_976_648_192,   # meta-llama/Llama-2-70b-hf
    "Llama-3.1-8B": 8_030_261_248,   # meta-llama/Llama-3.1-8B
    "Llama-3.1-70B": 70_553_706_496,  # meta-llama/Llama-3.1-70B
    "Llama-3.1-405B": 405_853_388_800,  # meta-llama/Llama-3.1-405B
    "Mixtral-8x7B": 46_702_792_704,  # mistralai/Mixtral-8x7B-v0.1
    "Qwen3-32B": 32_762_123_264,     # Qwen/Qwen3-32B
    "MPT-7B": 6_649_286_656,         # mosaicml/mpt-7b
    "gpt-oss-120b": 116_829_156_672,  # openai/gpt-oss-120b model card: 116.83B
}

# Published rounded figures: (total, active or None, relative tolerance, source)
ROUNDED = {
    "GPT-3 125M": (125e6, None, 0.01, "Brown et al. 2020, Table 2.1"),
    "GPT-3 350M": (350e6, None, 0.02, "Brown et al. 2020, Table 2.1"),
    "GPT-3 760M": (760e6, None, 0.01, "Brown et al. 2020, Table 2.1"),
    "GPT-3 1.3B": (1.3e9, None, 0.02, "Brown et al. 2020, Table 2.1"),
    "GPT-3 2.7B": (2.7e9, None, 0.02, "Brown et al. 2020, Table 2.1"),
    "GPT-3 6.7B": (6.7e9, None, 0.01, "Brown et al. 2020, Table 2.1"),
    "GPT-3 13B": (13.0e9, None, 0.015, "Brown et al. 2020, Table 2.1 (d_model printed 5140, 5120 used)"),
    "GPT-3 175B": (175.0e9, None, 0.005, "Brown et al. 2020, Table 2.1"),
    "Mixtral-8x22B": (141e9, 39e9, 0.01, "Mistral AI: 141B total, 39B active"),
    "DeepSeek-V3": (671e9, 37e9, 0.015, "DeepSeek-V3 report, arXiv:2412.19437: 671B total, 37B activated"),
    "Qwen3-8B": (8.2e9, None, 0.01, "Qwen3 report, arXiv:2505.09388, Table 1"),
    "Qwen3-30B-A3B": (30.5e9, 3.3e9, 0.02, "Qwen3 report, Table 2: 30B total, 3B activated (HF card 30.5B/3.3B)"),
    "Qwen3-235B-A22B": (235e9, 22e9, 0.01, "Qwen3 report, Table 2: 235B total, 22B activated"),
    "Nemotron-4-340B": (340e9, None, 0.01, "Nemotron-4 340B report, arXiv:2406.11704"),
    "MPT-30B": (30e9, None, 0.01, "MosaicML MPT-30B"),
    "Kimi-K2.5": (1.04e12, 32e9, 0.02, "Moonshot AI Kimi K2: 1.04T total, 32B activated"),
}


@pytest.mark.parametrize("name", sorted(EXACT))
def test_exact_parameter_counts(name):
    assert transformer_param_counts(pm.load_model(name).transformer)["total"] == EXACT[name]
    assert pm.load_model(name).params == EXACT[name]


@pytest.mark.parametrize("name", sorted(ROUNDED))
def test_published_parameter_counts(name):
    total, active, tol, _source = ROUNDED[name]
    p = transformer_param_counts(pm.load_model(name))
    assert p["total"] == pytest.approx(total, rel=tol)
    if active is not None:
        assert p["active"] == pytest.approx(active, rel=tol + 0.02)


def test_gpt_oss_active_parameters_exclude_the_embedding():
    # OpenAI's model card: 5.13B active parameters per token, counted without the 201,088 × 2,880
    # input embedding (0.579B); the unembedding (LM head) is a GEMM and is counted.
    p = transformer_param_counts(pm.load_model("gpt-oss-120b"))
    assert (p["active"] - p["embedding"]) / 1e9 == pytest.approx(5.13, abs=0.01)


def test_llama_parameter_derivation_by_part():
    # Llama-3.1-8B, by hand: q,o 4096² each; k,v 4096·1024 each (8 kv heads of 128)
    p = transformer_param_counts(pm.load_model("Llama-3.1-8B"))
    assert p["attention"] == 32 * (2 * 4096**2 + 2 * 4096 * 1024)
    assert p["mlp"] == 32 * 3 * 4096 * 14336
    assert p["embedding"] == p["lm_head"] == 128256 * 4096
    assert p["norms"] == (2 * 32 + 1) * 4096
    assert p["active"] == p["total"]


def test_moe_active_counts_top_k_experts():
    # Mixtral 8x7B: 8 experts of 3·4096·14336, 2 per token; active = total − 32·6·3·4096·14336
    p = transformer_param_counts(pm.load_model("Mixtral-8x7B"))
    assert p["experts"] == 32 * 8 * 3 * 4096 * 14336
    assert p["total"] - p["active"] == 32 * 6 * 3 * 4096 * 14336


@pytest.mark.parametrize("name", ["GPT-2", "GPT-2 XL", "BERT-base"])
def test_matmul_flops_equal_the_onnx_graph_count(name):
    # The zoo's fwd_flops of these models is counted independently from the ONNX graphs built
    # in code (plaster_model.model_builders): multiply-adds of every MatMul/Gemm, attention QKᵀ
    # and AV over all seq_len keys included. The operator table's GEMM, attention and head
    # FLOPs over full keys must give the same number (BERT: the pooler's one token and the
    # missing MLM head are the ONNX model's; GPT-2: the head over every token).
    m = pm.load_model(name)
    ops = transformer_operators(m)
    s = m.seq_len
    mm = ops[ops.op_class.isin(["gemm", "moe_gemm", "lm_head", "router"]) & (ops.op != "pooler")]
    att = ops[ops.op_class == "attention"]
    flops = s * (mm.layers * mm.flops_per_token).sum() + s * s * (att.layers * att.attn_flops_per_key).sum()
    if m.transformer.encoder:
        # BertModel has no LM head; the pooler is one token: 2·h·h
        flops -= s * 2 * m.transformer.d_model * m.transformer.vocab_size
        flops += 2 * m.transformer.d_model ** 2
    assert flops == pytest.approx(m.fwd_flops, rel=1e-9)


def test_megatron_eq3_matches_the_operator_table():
    # Narayanan et al. eq. 3, 96·B·s·l·h²·(1 + s/(6h) + V/(16lh)), counts the GEMMs (QKV,
    # attention over all s keys, projection, 4h MLP) four times (forward, recomputed forward,
    # backward = 2×) and the LM head three times (it is not recomputed): 96·B·s·l·h²·V/(16lh)
    # = 6·B·s·h·V = 3 × (2·B·s·h·V). The operator table of the same GPT must give it exactly.
    cfg = TransformerConfig(name="gpt", n_layers=24, d_model=2048, n_heads=16, ffn_dim=8192,
                            vocab_size=51200, tied_embeddings=True)
    ops = transformer_operators(cfg)
    s, B = 2048, 8
    mm = ops[ops.op_class == "gemm"]
    att = ops[ops.op_class == "attention"]
    head = ops[ops.op_class == "lm_head"]
    layers_fwd = B * s * ((mm.layers * mm.flops_per_token).sum() + s * (att.layers * att.attn_flops_per_key).sum())
    head_fwd = B * s * head.flops_per_token.sum()
    assert 4 * layers_fwd + 3 * head_fwd == pytest.approx(
        megatron_iteration_flops(B, s, 24, 2048, 51200, recompute=True), rel=1e-12)
    # without recomputation the paper writes 72 in place of 96, which also scales the head term
    # (72/96 of 6·B·s·h·V): the layers are exactly 3× forward
    no_rc = megatron_iteration_flops(B, s, 24, 2048, 51200, recompute=False)
    assert 3 * layers_fwd + 0.75 * 3 * head_fwd == pytest.approx(no_rc, rel=1e-12)


def test_palm_model_flops():
    # PaLM Appendix B: 6N + 12·L·H·Q·T. GPT-3 175B at T = 2048: N non-embedding (+ tied head GEMM)
    m = pm.load_model("GPT-3 175B")
    p = transformer_param_counts(m)
    n = p["total"] - p["embedding"] + 50257 * 12288
    assert model_flops_per_token(m, 2048) == pytest.approx(6 * n + 12 * 96 * 96 * 128 * 2048)


def test_attended_keys_closed_forms():
    assert attended_keys(1) == 1.0
    assert attended_keys(10) == 5.5                     # (1 + … + 10)/10
    assert attended_keys(10, window=4) == pytest.approx((1 + 2 + 3 + 4 * 7) / 10)   # min(i, 4) for i = 1..10
    assert attended_keys(10, causal=False) == 10.0
    np.testing.assert_allclose(attended_keys(np.array([2, 4])), [1.5, 2.5])
    with pytest.raises(ParameterError):
        attended_keys(0)


def test_kv_cache_gqa_and_mla():
    # Llama-3.1-70B (GQA): 2 (K and V) × 80 layers × 8 kv heads × 128 × 2 B = 327,680 B per token
    assert kv_cache_bytes_per_token(pm.load_model("Llama-3.1-70B")) == 2 * 80 * 8 * 128 * 2
    # DeepSeek-V3 (MLA): 61 layers × (512 latent + 64 rope) × 2 B = 70,272 B per token
    assert kv_cache_bytes_per_token(pm.load_model("DeepSeek-V3")) == 61 * (512 + 64) * 2
    # fp8 cache halves it
    assert kv_cache_bytes_per_token(pm.load_model("DeepSeek-V3"), 1) == 61 * 576


def test_kv_cache_sliding_window_is_capped():
    # gpt-oss-120b: 18 full layers, 18 sliding layers of 128 keys; 8 kv heads × 64 × 2 (K,V) × 2 B
    m = pm.load_model("gpt-oss-120b")
    per_layer = 2 * 8 * 64 * 2
    assert kv_cache_bytes(m, 10_000) == per_layer * (18 * 10_000 + 18 * 128)
    assert kv_cache_bytes(m, 100) == per_layer * 36 * 100


def test_from_hf_config_file_and_model(tmp_path):
    cfg = {"model_type": "llama", "hidden_size": 4096, "num_hidden_layers": 32, "num_attention_heads": 32,
           "num_key_value_heads": 8, "intermediate_size": 14336, "vocab_size": 128256,
           "tie_word_embeddings": False, "_name_or_path": "meta-llama/Llama-3.1-8B"}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    m = pm.Model.from_hf_config(path, seq_len=4096)
    assert m.name == "meta-llama/Llama-3.1-8B"
    assert m.params == EXACT["Llama-3.1-8B"]
    assert m.seq_len == 4096 and m.transformer.n_kv_heads == 8
    # forward FLOPs: every query over all 4096 keys (PaLM/Megatron convention)
    assert m.fwd_flops == pytest.approx(transformer_forward_flops(m, 4096, 4096))
    # default sequence length is stated
    assert "2048 tokens" in pm.Model.from_hf_config(cfg).notes


def test_vision_language_text_config():
    inner = {"model_type": "qwen3", "hidden_size": 5120, "num_hidden_layers": 64, "num_attention_heads": 64,
             "num_key_value_heads": 8, "head_dim": 128, "intermediate_size": 25600, "vocab_size": 151936,
             "tie_word_embeddings": False}
    m = pm.Model.from_hf_config({"model_type": "qwen3_vl", "text_config": inner}, name="vl")
    assert m.params == EXACT["Qwen3-32B"]


@pytest.mark.parametrize("bad, match", [
    ({"model_type": "resnet"}, "not a transformer family"),
    ({"model_type": "llama", "hidden_size": 4096}, "num_hidden_layers"),
    ({"model_type": "llama", "hidden_size": 4096, "num_hidden_layers": 2, "num_attention_heads": 32,
      "num_key_value_heads": 5, "intermediate_size": 1, "vocab_size": 10}, "multiple of n_kv_heads"),
])
def test_bad_configs_are_refused_by_name(bad, match):
    with pytest.raises(CatalogError, match=match):
        pm.Model.from_hf_config(bad)


def test_unreadable_config_file(tmp_path):
    p = tmp_path / "config.json"
    p.write_text("{not json")
    with pytest.raises(CatalogError, match="cannot read"):
        pm.Model.from_hf_config(p)


def test_zoo_entry_must_agree_with_its_architecture(tmp_path):
    y = tmp_path / "mine.yaml"
    y.write_text("models:\n  tiny:\n    source: me\n    params: 5\n    seq_len: 8\n"
                 "    transformer: {model_type: gpt2, n_embd: 64, n_layer: 2, n_head: 4, vocab_size: 100, n_positions: 8}\n")
    with pytest.raises(CatalogError, match="differs"):
        pm.load_catalog(y)


def test_transformer_round_trips_through_yaml():
    from plaster_model.catalog.serialize import catalog_entry, from_entry

    for name in ("Llama-3.1-70B", "DeepSeek-V3"):
        m = pm.load_model(name)
        back = from_entry(*catalog_entry(m))
        assert back.params == m.params and back.fwd_flops == pytest.approx(m.fwd_flops)
        assert back.transformer == m.transformer
    hand = pm.Model.from_hf_config(TransformerConfig(name="h", n_layers=2, d_model=64, n_heads=4, ffn_dim=256,
                                                     vocab_size=100), seq_len=16)
    assert from_entry(*catalog_entry(hand)).params == hand.params
