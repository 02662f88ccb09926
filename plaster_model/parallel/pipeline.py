"""Pipeline parallelism (Narayanan et al. SC'21, arXiv:2104.04473).

With ``p`` stages and ``m`` micro-batches per optimizer step the 1F1B schedule idles a fraction
``(p−1)/m`` of the ideal time (the bubble); the interleaved schedule with ``v`` model chunks per
rank cuts it to ``(p−1)/(v·m)`` and sends ``v`` times as many point-to-point messages. Each
stage boundary sends the ``b·s·h`` activations of a micro-batch forward and their gradient
backward (``/t`` with Megatron's scatter-gather over the tensor-parallel ranks).
"""
from __future__ import annotations

import numpy as np

from .collectives import p2p_s

__all__ = ["bubble_fraction", "pipeline_time", "p2p_time_per_microbatch"]


def bubble_fraction(pp, micro_batches, virtual_stages=1):
    """Bubble time over ideal time, ``(p−1)/(v·m)`` (Narayanan et al. 2021, Sections 2.2.1–2.2.2).

    Examples
    --------
    The paper's GPT-3 175B run, p = 8 (v = 1), m = 1536/(1·16) = 96: 7/96:

    >>> bubble_fraction(8, 96)
    0.07291666666666667
    >>> bubble_fraction(8, 96, 2)
    0.036458333333333336
    """
    out = (np.asarray(pp, dtype=float) - 1.0) / (np.asarray(virtual_stages, dtype=float)
                                                 * np.asarray(micro_batches, dtype=float))
    return float(out) if np.ndim(out) == 0 else out


def pipeline_time(stage_time_max, stage_time_mean, pp, micro_batches, virtual_stages=1, bubble_scale=1.0):
    """Time of the schedule: ``m·t_max + κ·(p−1)/v·t_mean`` [s].

    ``t_max`` is the slowest stage's time per micro-batch (it sets the steady-state pace: a
    stage that also holds the embedding or the output layer), ``t_mean`` the mean stage's (the
    fill and drain run ordinary stages). With balanced stages this is ``m·t·(1 + (p−1)/(v·m))``,
    the paper's bubble; ``κ`` (1 by default) is the calibration's scale of the bubble.

    >>> float(pipeline_time(1.0, 1.0, 8, 96))
    103.0
    """
    p = np.asarray(pp, dtype=float)
    return (np.asarray(micro_batches, dtype=float) * stage_time_max
            + bubble_scale * (p - 1.0) / np.asarray(virtual_stages, dtype=float) * stage_time_mean)


def p2p_time_per_microbatch(micro_batch, seq_len, hidden, tp, pp, beta, alpha=0.0, virtual_stages=1,
                            bytes_per_element=2.0, scatter_gather=True):
    """Point-to-point time a stage spends per micro-batch: one send forward and one backward per
    model chunk, ``2·v·(b·s·h·e/t'/β + α)`` with ``t' = t`` under scatter-gather (0 for p = 1).

    >>> round(float(p2p_time_per_microbatch(1, 2048, 12288, 8, 8, 25e9)) * 1e6, 1)
    503.3
    """
    w = np.asarray(micro_batch, dtype=float) * seq_len * hidden * bytes_per_element
    w = w / np.where(scatter_gather, np.asarray(tp, dtype=float), 1.0)
    out = np.where(np.asarray(pp) > 1, 2.0 * np.asarray(virtual_stages, dtype=float) * p2p_s(w, beta, alpha), 0.0)
    return float(out) if np.ndim(out) == 0 else out
