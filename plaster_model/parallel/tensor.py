"""Tensor parallelism (Megatron-LM, Shoeybi et al. 2019; sequence parallelism, Korthikanti et al. 2022).

Each transformer layer splits its attention heads and MLP columns over ``t`` ranks. The
forward pass all-reduces the ``b·s·h`` layer output twice (after attention, after the MLP),
the backward pass twice more (the inputs' gradients), and full recomputation runs the
forward's two again. Sequence parallelism replaces each all-reduce by a reduce-scatter and an
all-gather of the same total volume (and splits norms and dropout over ``t``).
"""
from __future__ import annotations

import numpy as np

from .collectives import all_gather_s, allreduce_s, reduce_scatter_s

__all__ = ["tp_collectives_per_layer", "tp_bytes_per_layer", "tp_comm_time_per_layer"]


def tp_collectives_per_layer(recompute_code=0, sp=False):
    """All-reduces (or RS + AG pairs) per layer and micro-batch: 2 forward + 2 backward,
    + 2 when full recomputation re-runs the forward (code 2). With sequence parallelism and no
    full recomputation, Megatron-LM re-does the 2 all-gathers of the column-parallel inputs in
    the backward pass instead of keeping them (half an all-reduce each: +1).

    >>> tp_collectives_per_layer(0), tp_collectives_per_layer(2), tp_collectives_per_layer(1, sp=True)
    (4.0, 6.0, 5.0)
    """
    code = np.asarray(recompute_code)
    out = 4.0 + 2.0 * (code == 2) + 1.0 * (np.asarray(sp, dtype=bool) & (code != 2))
    return float(out) if np.ndim(out) == 0 else out


def tp_bytes_per_layer(micro_batch, seq_len, hidden, bytes_per_element=2.0):
    """Bytes of one TP all-reduce: the ``b·s·h`` activations of a layer's output.

    >>> float(tp_bytes_per_layer(1, 2048, 12288))
    50331648.0
    """
    return np.asarray(micro_batch, dtype=float) * seq_len * hidden * bytes_per_element


def tp_comm_time_per_layer(micro_batch, seq_len, hidden, tp, beta, alpha=0.0, sp=False,
                           recompute_code=0, bytes_per_element=2.0):
    """Time of one layer's TP collectives for one micro-batch (forward + backward) [s].

    ``k·T_AR(b·s·h·e, t)`` with ``k`` from :func:`tp_collectives_per_layer`; with sequence
    parallelism ``k·(T_RS + T_AG)`` — the same bandwidth term, twice the latency steps (``k``
    counting the backward all-gathers Megatron re-does).

    Examples
    --------
    GPT-3 175B layer, b = 1, s = 2048, t = 8 at 300 GB/s, no latency:
    ``4 · 2·7/8 · 50.3 MB / 300 GB/s`` = 1.17 ms:

    >>> round(float(tp_comm_time_per_layer(1, 2048, 12288, 8, 300e9)) * 1e3, 3)
    1.174
    """
    w = tp_bytes_per_layer(micro_batch, seq_len, hidden, bytes_per_element)
    k = tp_collectives_per_layer(recompute_code, sp)
    one = np.where(np.asarray(sp, dtype=bool),
                   reduce_scatter_s(w, tp, beta, alpha) + all_gather_s(w, tp, beta, alpha),
                   allreduce_s(w, tp, beta, alpha))
    out = k * np.where(np.asarray(tp) > 1, one, 0.0)
    return float(out) if np.ndim(out) == 0 else out
