"""Sharded data parallelism: ZeRO-1/2/3 (Rajbhandari et al. SC'20) and PyTorch FSDP.

Memory: :func:`plaster_model.estimators.llm_memory.model_state_bytes` (the one home of the
per-stage bytes). Traffic: ZeRO-1 and 2 reduce-scatter the gradients and all-gather the
updated weights, the volume of one all-reduce; ZeRO-3 / FSDP full sharding also all-gathers
the weights again in the backward pass: 1.5× that volume, and it does so for every
micro-batch (the weights are not kept between them).
"""
from __future__ import annotations

import numpy as np

from .collectives import all_gather_s, allreduce_s, reduce_scatter_s

__all__ = ["dp_volume_factor", "dp_step_comm_time", "zero3_microbatch_comm_time"]


def dp_volume_factor(zero):
    """Bytes each rank moves per step over an all-reduce's: 1 for ZeRO 0–2, 1.5 for ZeRO-3.

    >>> dp_volume_factor(2), dp_volume_factor(3)
    (1.0, 1.5)
    """
    out = np.where(np.asarray(zero) >= 3, 1.5, 1.0)
    return float(out) if np.ndim(out) == 0 else out


def dp_step_comm_time(grad_bytes, weight_bytes, dp, beta, alpha=0.0, zero=0):
    """Gradient exchange once per optimizer step (ZeRO 0–2) [s].

    ZeRO 0: a ring all-reduce of the gradients; ZeRO 1–2: a reduce-scatter of the gradients
    plus an all-gather of the updated 16-bit weights. ZeRO-3's per-micro-batch traffic is
    :func:`zero3_microbatch_comm_time`; its step term here is 0.

    >>> round(dp_step_comm_time(4e9, 2e9, 8, 100e9), 9)            # fp32 gradients, all-reduce
    0.07
    >>> round(dp_step_comm_time(4e9, 2e9, 8, 100e9, zero=1), 9)    # RS 4 GB + AG 2 GB
    0.0525
    """
    z = np.asarray(zero)
    ar = allreduce_s(grad_bytes, dp, beta, alpha)
    rs_ag = reduce_scatter_s(grad_bytes, dp, beta, alpha) + all_gather_s(weight_bytes, dp, beta, alpha)
    out = np.where(np.asarray(dp) > 1, np.where(z == 0, ar, np.where(z >= 3, 0.0, rs_ag)), 0.0)
    return float(out) if np.ndim(out) == 0 else out


def zero3_microbatch_comm_time(grad_bytes, weight_bytes, dp, beta, alpha=0.0):
    """ZeRO-3 / FSDP traffic per micro-batch: all-gather the weights forward and backward,
    reduce-scatter the gradients [s].

    >>> round(zero3_microbatch_comm_time(2e9, 2e9, 8, 100e9), 9)
    0.0525
    """
    out = np.where(np.asarray(dp) > 1, 2.0 * all_gather_s(weight_bytes, dp, beta, alpha)
                   + reduce_scatter_s(grad_bytes, dp, beta, alpha), 0.0)
    return float(out) if np.ndim(out) == 0 else out
