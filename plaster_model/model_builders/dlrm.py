"""DLRM (Naumov et al., "Deep Learning Recommendation Model for Personalization and
Recommendation Systems", 2019) in the MLPerf Criteo-Terabyte configuration of the reference
code (facebookresearch/dlrm ``dlrm_s_pytorch.py``, ``--max-ind-range=40000000``).

A sample is one click-log record: 13 dense features and one index into each of the 26
embedding tables. Bottom MLP 13-512-256-128, dot-product interaction of the 27 vectors
(the 351 pairs below the diagonal, concatenated with the bottom output: 479 features), top
MLP 479-1024-1024-512-256-1.
"""
from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from ._graph import Graph

__all__ = ["dlrm", "dlrm_dcnv2", "CRITEO_TB_TABLES", "CRITEO_TB_DCNV2_TABLES", "CRITEO_MULTI_HOT"]

#: Rows of the 26 embedding tables for Criteo Terabyte with indices capped at 40 M
#: (``ln_emb`` of the reference code's MLPerf configuration).
CRITEO_TB_TABLES = (39884406, 39043, 17289, 7420, 20263, 3, 7120, 1543, 63, 38532951, 2953546,
                    403346, 10, 2208, 11938, 155, 4, 976, 14, 39979771, 25641295, 39664984,
                    585935, 12972, 108, 36)


def dlrm(tables=CRITEO_TB_TABLES, dim=128, bottom=(512, 256, 128), top=(1024, 1024, 512, 256, 1),
         dense=13, batch=None):
    """The DLRM graph (embedding look-ups as Gather, so the tables count as parameters).

    Parameters: ``dim · Σ rows`` for the tables plus the two MLPs' weights and biases.
    """
    import onnx

    if bottom[-1] != dim:
        raise ParameterError("bottom", bottom,
                             message=f"the bottom MLP must end at the embedding width {dim}, got {bottom[-1]}")
    g = Graph("dlrm", (dense,), input_name="dense")
    x = g.x
    for i, w in enumerate(bottom):
        x = g.act(g.linear(x, w, prefix="bot"))
    one = g.const_i64("axis1", [1])
    vecs = [g.node("Unsqueeze", [x, one], (1, dim))]
    for t, rows in enumerate(tables):
        idx = g.add_input(f"sparse_{t}", (), onnx.TensorProto.INT64)
        e = g.node("Gather", [g.weight(f"emb_{t}", (rows, dim)), idx], (dim,))
        vecs.append(g.node("Unsqueeze", [e, one], (1, dim)))
    n = len(vecs)
    z = g.node("Concat", vecs, (n, dim), axis=1)
    zt = g.node("Transpose", [z], (dim, n), perm=[0, 2, 1])
    inter = g.node("MatMul", [z, zt], (n, n))
    flat = g.node("Flatten", [inter], (n * n,), axis=1)
    pairs = [i * n + j for i in range(n) for j in range(i)]
    lower = g.node("Gather", [flat, g.const_i64("tril_idx", np.asarray(pairs))], (len(pairs),), axis=1)
    y = g.concat([x, lower])
    for i, w in enumerate(top):
        y = g.linear(y, w, prefix="top")
        y = g.act(y, "relu" if i < len(top) - 1 else "sigmoid")
    g.x = y
    return g.build(batch=batch)


#: Rows of the 26 tables of MLPerf's DLRM-DCNv2 (Criteo 1TB with indices capped at 40 M:
#: ``--num_embeddings_per_feature`` of mlcommons/training ``recommendation_v2/torchrec_dlrm``).
CRITEO_TB_DCNV2_TABLES = (40000000, 39060, 17295, 7424, 20265, 3, 7122, 1543, 63, 40000000, 3067956,
                          405282, 10, 2209, 11938, 155, 4, 976, 14, 40000000, 40000000, 40000000,
                          590152, 12973, 108, 36)
#: Indices per table per sample (``--multi_hot_sizes``: the synthetic multi-hot Criteo set).
CRITEO_MULTI_HOT = (3, 2, 1, 2, 6, 1, 1, 1, 1, 7, 3, 8, 1, 6, 9, 5, 1, 1, 1, 12, 100, 27, 10, 3, 1, 1)


def dlrm_dcnv2(tables=CRITEO_TB_DCNV2_TABLES, hotness=CRITEO_MULTI_HOT, dim=128, bottom=(512, 256, 128),
               top=(1024, 1024, 512, 256, 1), cross_layers=3, low_rank=512, dense=13, batch=None):
    """MLPerf's DLRM-DCNv2 (Training v3.0+, Inference v3.0+ "dlrm-v2"; torchrec ``DLRM_DCN``).

    Bottom MLP 13-512-256-128; 26 multi-hot embedding bags (sum of ``hotness[t]`` rows of 128);
    the 27 vectors concatenated (3,456 features) through a low-rank cross network of
    ``cross_layers`` layers, ``x_{l+1} = x_0 ⊙ (W_l (V_l x_l) + b_l) + x_l`` with V 3456→512,
    W 512→3456 (torchrec ``LowRankCrossNet``); top MLP 3456-1024-1024-512-256-1.

    Parameters: ``dim · Σ rows`` + bottom MLP + 3 · (2 · 3456 · 512 + 3456) + top MLP.
    """
    import onnx

    if bottom[-1] != dim:
        raise ParameterError("bottom", bottom,
                             message=f"the bottom MLP must end at the embedding width {dim}, got {bottom[-1]}")
    if len(hotness) != len(tables):
        raise ParameterError("hotness", hotness, f"one count per table ({len(tables)})")
    g = Graph("dlrm_dcnv2", (dense,), input_name="dense")
    x = g.x
    for w in bottom:
        x = g.act(g.linear(x, w, prefix="bot"))
    vecs = [x]
    axis = g.const_i64("bag_axis", [1])
    for t, (rows, nnz) in enumerate(zip(tables, hotness)):
        idx = g.add_input(f"sparse_{t}", (nnz,), onnx.TensorProto.INT64)
        e = g.node("Gather", [g.weight(f"emb_{t}", (rows, dim)), idx], (nnz, dim))
        vecs.append(g.node("ReduceSum", [e, axis], (dim,), keepdims=0))     # EmbeddingBag(sum)
    x0 = g.concat(vecs)
    x = x0
    width = g.shapes[x0][0]
    for _ in range(cross_layers):
        v = g.linear(x, low_rank, bias=False, prefix="cross_V")
        w = g.linear(v, width, prefix="cross_W")
        x = g.add(g.mul(x0, w), x)
    for i, w in enumerate(top):
        x = g.linear(x, w, prefix="top")
        x = g.act(x, "relu" if i < len(top) - 1 else "sigmoid")
    g.x = x
    return g.build(batch=batch)
