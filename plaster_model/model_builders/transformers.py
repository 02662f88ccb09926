"""Transformer encoders and decoders: ViT (Dosovitskiy et al., ICLR 2021; torchvision
``vit_*``), BERT (Devlin et al., NAACL 2019; Hugging Face ``BertModel``), GPT-2 (Radford et al.
2019; Hugging Face ``GPT2LMHeadModel``, output projection tied to the token embedding) and
the Transformer "big" (Vaswani et al., NeurIPS 2017).

Attention is written unfused (MatMul → Div → [mask Add] → Softmax → MatMul), so the ONNX
counter tags it and counts ``QKᵀ`` and ``AV``: ``L·S·d_model`` multiply-adds each per layer
(L query, S key positions). A *sample* is one sequence of ``seq_len`` tokens (ViT: the
patches plus the class token).
"""
from __future__ import annotations

from ._graph import Graph

__all__ = ["vit", "bert", "gpt2", "transformer_nmt"]


def _block(g, x, d, heads, ff, act, eps, pre_norm, causal=False, fused_qkv=False):
    """One encoder block (self-attention + MLP), pre- or post-LayerNorm."""
    if pre_norm:
        h = g.layernorm(x, eps)
        x = g.add(x, g.attention(h, h, d, heads, causal=causal, fused_qkv=fused_qkv))
        h = g.layernorm(x, eps)
        x = g.add(x, g.linear(g.act(g.linear(h, ff), act), d))
        return x
    x = g.layernorm(g.add(x, g.attention(x, x, d, heads, causal=causal, fused_qkv=fused_qkv)), eps)
    return g.layernorm(g.add(x, g.linear(g.act(g.linear(x, ff), act), d)), eps)


def vit(patch=16, d=768, layers=12, heads=12, ff=3072, hw=224, num_classes=1000, batch=None,
        name=None):
    """torchvision ``vit_b_16`` (defaults), ``vit_b_32``, ``vit_l_16`` (d 1024, 24 layers, 16 heads,
    ff 4096), ``vit_h_14``.

    Patch embedding = a ``patch``×``patch`` stride-``patch`` convolution (with bias); a class
    token and learned position embeddings; pre-norm blocks (LayerNorm eps 1e-6, exact GELU);
    a final LayerNorm and a linear head on the class token. Tokens ``(hw/patch)² + 1``.

    >>> import plaster_model as pm
    >>> pm.model_from_onnx(vit()).params      # vit_b_16
    86567656
    """
    n = (hw // patch) ** 2
    g = Graph(name or f"vit_{patch}", (3, hw, hw))
    x = g.conv(g.x, d, patch, patch, 0, bias=True)
    x = g.transpose(g.reshape(x, (d, n)), (1, 0))                 # (n, d)
    # class token: zero a copy of the first token and add the learned vector (a trainable
    # constant of an Add, so the counter finds it; 2·d FLOPs)
    first = g.node("Slice", [x, g.const_i64(g.uid("st"), [0]), g.const_i64(g.uid("en"), [1]),
                             g.const_i64(g.uid("ax"), [1])], (1, d))
    cls = g.node("Add", [g.node("Mul", [first, g.scalar(0.0)], (1, d)),
                         g.weight("class_token", (1, d))], (1, d))
    x = g.node("Concat", [cls, x], (n + 1, d), axis=1)
    x = g.node("Add", [x, g.weight("pos_embedding", (n + 1, d))], (n + 1, d))
    for _ in range(layers):
        x = _block(g, x, d, heads, ff, "gelu", 1e-6, pre_norm=True, fused_qkv=True)
    x = g.layernorm(x, 1e-6)
    tok = g.node("Gather", [x, g.const_i64(g.uid("cls_idx"), 0)], (d,), axis=1)
    g.x = g.linear(tok, num_classes)
    return g.build(batch=batch)


def bert(d=768, layers=12, heads=12, ff=3072, vocab=30522, max_pos=512, type_vocab=2,
         seq_len=384, pooler=True, batch=None, name=None):
    """Hugging Face ``BertModel`` (``bert-base-uncased`` defaults; large: d 1024, 24 layers,
    16 heads, ff 4096) for one sequence of ``seq_len`` tokens.

    Inputs ``input_ids``, ``token_type_ids``, ``position_ids`` (int64 [N, seq_len]); word,
    position and token-type embeddings summed, LayerNorm (eps 1e-12); post-norm layers with
    exact GELU; the pooler (dense + tanh on the first token).

    >>> import plaster_model as pm
    >>> pm.model_from_onnx(bert(seq_len=128)).params       # bert-base-uncased
    109482240
    """
    import onnx

    i64 = onnx.TensorProto.INT64
    g = Graph(name or "bert", (seq_len,), input_name="input_ids", elem_type=i64)
    tt = g.add_input("token_type_ids", (seq_len,), i64)
    pos = g.add_input("position_ids", (seq_len,), i64)
    emb = [g.node("Gather", [g.weight(f"{w}_embeddings", (n, d)), ids], (seq_len, d))
           for w, n, ids in (("word", vocab, g.x), ("position", max_pos, pos), ("token_type", type_vocab, tt))]
    x = g.layernorm(g.add(g.add(emb[0], emb[1]), emb[2]), 1e-12)
    for _ in range(layers):
        x = _block(g, x, d, heads, ff, "gelu", 1e-12, pre_norm=False)
    outs = [x]
    if pooler:
        first = g.node("Gather", [x, g.const_i64(g.uid("cls_idx"), 0)], (d,), axis=1)
        outs.append(g.node("Tanh", [g.linear(first, d, prefix="pooler")], (d,)))
    return g.build(outputs=outs, batch=batch)


def gpt2(d=768, layers=12, heads=12, vocab=50257, n_ctx=1024, seq_len=1024, batch=None, name=None):
    """Hugging Face ``GPT2LMHeadModel`` (``gpt2``, 124 M) for one sequence of ``seq_len`` tokens.

    Token + position embeddings, pre-norm blocks with causal attention and the tanh GELU
    ("gelu_new"), a final LayerNorm and the LM head, which reuses the token embedding
    (tied: counted once, as ``model.num_parameters()`` counts it).

    >>> import plaster_model as pm
    >>> pm.model_from_onnx(gpt2(seq_len=128)).params
    124439808
    """
    import onnx

    i64 = onnx.TensorProto.INT64
    g = Graph(name or "gpt2", (seq_len,), input_name="input_ids", elem_type=i64)
    pos = g.add_input("position_ids", (seq_len,), i64)
    wte = g.weight("wte", (vocab, d))
    x = g.add(g.node("Gather", [wte, g.x], (seq_len, d)),
              g.node("Gather", [g.weight("wpe", (n_ctx, d)), pos], (seq_len, d)))
    for _ in range(layers):
        x = _block(g, x, d, heads, 4 * d, "gelu_tanh", 1e-5, pre_norm=True, causal=True, fused_qkv=True)
    x = g.layernorm(x, 1e-5)
    head = g.node("Transpose", [wte], (d, vocab), perm=[1, 0])   # folded: the tied weight
    g.x = g.node("MatMul", [x, head], (seq_len, vocab))
    return g.build(batch=batch)


def transformer_nmt(d=1024, layers=6, heads=16, ff=4096, vocab=33708, src_len=128, tgt_len=128,
                    batch=None, name=None):
    """The Transformer "big" of Vaswani et al. (2017) for WMT translation, one sentence pair.

    Post-norm encoder and decoder (6 + 6 layers, d 1024, 16 heads, ff 4096, ReLU), sinusoidal
    positions (no parameters), one embedding shared by source, target and the output
    projection (the paper's shared BPE vocabulary; 33,708 = the MLPerf reference ``wmt32k``
    vocabulary). A sample is a pair of ``src_len`` source and ``tgt_len`` target tokens
    (teacher forcing: the decoder sees the whole target at once).
    """
    import onnx

    i64 = onnx.TensorProto.INT64
    g = Graph(name or "transformer_big", (src_len,), input_name="src_ids", elem_type=i64)
    tgt = g.add_input("tgt_ids", (tgt_len,), i64)
    emb = g.weight("shared_embedding", (vocab, d))
    scale = g.scalar(d ** 0.5)
    x = g.node("Mul", [g.node("Gather", [emb, g.x], (src_len, d)), scale], (src_len, d))
    for _ in range(layers):
        x = _block(g, x, d, heads, ff, "relu", 1e-5, pre_norm=False)
    mem = x
    y = g.node("Mul", [g.node("Gather", [emb, tgt], (tgt_len, d)), scale], (tgt_len, d))
    for _ in range(layers):
        y = g.layernorm(g.add(y, g.attention(y, y, d, heads, causal=True)), 1e-5)
        y = g.layernorm(g.add(y, g.attention(y, mem, d, heads)), 1e-5)
        y = g.layernorm(g.add(y, g.linear(g.act(g.linear(y, ff), "relu"), d)), 1e-5)
    head = g.node("Transpose", [emb], (d, vocab), perm=[1, 0])
    g.x = g.node("MatMul", [y, head], (tgt_len, vocab))
    return g.build(batch=batch)
