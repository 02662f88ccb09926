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

__all__ = ["dlrm", "CRITEO_TB_TABLES"]

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
