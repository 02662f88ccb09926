"""Context parallelism: ring attention (Liu et al. 2023, arXiv:2310.01889; Megatron-Core CP).

The sequence is split over ``c`` ranks; each layer's attention passes the K and V blocks of
``s/c`` tokens around the ring (``c−1`` steps) while computing on the block it holds, and the
backward pass passes K, V and their gradients (twice the forward's bytes).
"""
from __future__ import annotations

import numpy as np

from .collectives import p2p_s

__all__ = ["cp_comm_time_per_layer"]


def cp_comm_time_per_layer(micro_batch, seq_len, kv_hidden, cp, beta, alpha=0.0, bytes_per_element=2.0):
    """Ring-attention traffic of one layer and micro-batch (forward + backward) [s].

    ``3·(c−1)·(2·b·(s/c)·kv·e/β + α)``: K and V blocks of ``s/c`` tokens, ``c−1`` ring steps
    forward and twice the bytes backward. It overlaps the attention core (the caller takes the
    exposed part).

    >>> round(cp_comm_time_per_layer(1, 8192, 1024, 2, 100e9) * 1e6, 3)  # 3·(2·4096·1024·2 B)/100 GB/s [us]
    503.316
    """
    c = np.asarray(cp, dtype=float)
    w = 2.0 * np.asarray(micro_batch, dtype=float) * (seq_len / c) * kv_hidden * bytes_per_element
    out = np.where(c > 1, 3.0 * (c - 1.0) * p2p_s(w, beta, alpha), 0.0)
    return float(out) if np.ndim(out) == 0 else out
