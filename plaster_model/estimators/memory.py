"""Per-device training memory: weights, gradients, optimizer state, activations, workspace.

References
----------
.. [1] S. Rajbhandari et al., "ZeRO: Memory Optimizations Toward Training Trillion
   Parameter Models", SC 2020 (bytes per parameter for weights, gradients, Adam state).
"""
from __future__ import annotations

import numpy as np

__all__ = ["OPTIMIZER_STATE_COPIES", "training_memory_bytes"]

#: fp32 copies of the parameters each optimizer keeps (SGD: none; momentum: velocity;
#: Adam: first and second moments).
OPTIMIZER_STATE_COPIES = {"sgd": 0, "momentum": 1, "adam": 2}


def training_memory_bytes(params, batch_per_device, activation_bytes_per_sample=0.0,
                          bytes_per_element=4, optimizer="momentum", workspace_bytes=0.0,
                          mixed_precision=False):
    """Memory one device needs to train with data parallelism [B].

    ``M = P·(s_w + s_g) + P·4·k_opt (+ P·4 master copy when mixed) + b·a·s/4 + workspace``

    with ``P`` parameters, ``s`` bytes per element of the training precision, ``k_opt``
    optimizer state copies (SGD 0, momentum 1, Adam 2, kept in fp32), ``b`` the per-device
    batch and ``a`` the fp32 activation bytes per sample (scaled by ``s/4``).

    Parameters
    ----------
    params : int or array_like
        Parameter count.
    batch_per_device : int or array_like
        Samples per device.
    activation_bytes_per_sample : float or array_like
        Activations kept for the backward pass per sample at fp32 [B].
    bytes_per_element : int
        Bytes per weight/gradient/activation element (4 fp32, 2 fp16/mixed).
    optimizer : {"sgd", "momentum", "adam"}
    workspace_bytes : float
        Framework workspace (cuDNN scratch, allocator slack) [B].
    mixed_precision : bool
        Keep an fp32 master copy of the weights (NVIDIA AMP).

    Returns
    -------
    float or numpy.ndarray
        [B]
    """
    if optimizer not in OPTIMIZER_STATE_COPIES:
        raise ValueError(f"optimizer must be one of {sorted(OPTIMIZER_STATE_COPIES)}, got {optimizer!r}")
    params = np.asarray(params, dtype=float)
    s = float(bytes_per_element)
    state = params * 4.0 * (OPTIMIZER_STATE_COPIES[optimizer] + (1 if mixed_precision else 0))
    acts = np.asarray(batch_per_device, dtype=float) * np.asarray(activation_bytes_per_sample, dtype=float) * s / 4.0
    out = params * 2.0 * s + state + acts + workspace_bytes
    return out if np.ndim(out) else float(out)
