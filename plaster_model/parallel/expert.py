"""Expert parallelism for mixture-of-experts layers (Lepikhin et al. 2020, GShard; Fedus et al. 2021).

Each MoE layer sends every token's ``h``-wide activations to its ``k`` experts and back: two
all-to-alls forward and two backward over the ``e`` expert-parallel ranks, each rank sending
``b·s·k·h·bytes`` of which ``(e−1)/e`` leaves it.
"""
from __future__ import annotations

import numpy as np

from .collectives import all_to_all_s

__all__ = ["ep_comm_time_per_layer"]


def ep_comm_time_per_layer(micro_batch, seq_len, hidden, top_k, ep, beta, alpha=0.0, bytes_per_element=2.0):
    """All-to-all time of one MoE layer and micro-batch, forward + backward, ``4·T_A2A`` [s].

    >>> round(ep_comm_time_per_layer(1, 4096, 4096, 2, 8, 50e9) * 1e3, 4)  # 4 · 7/8 · 64 MiB / 50 GB/s [ms]
    4.6976
    """
    e = np.asarray(ep, dtype=float)
    w = np.asarray(micro_batch, dtype=float) * seq_len * top_k * hidden * bytes_per_element
    out = np.where(e > 1, 4.0 * all_to_all_s(w, e, beta, alpha), 0.0)
    return float(out) if np.ndim(out) == 0 else out
