"""Per-device training memory: weights, gradients, optimizer state, activations, workspace.

With data parallelism every device holds a full replica, so the per-device footprint is::

    M(b) = P·(s_w + s_g) + P·4·k_opt (+ P·4 fp32 master copy under mixed precision)
           + b·a·s/4 + workspace

``P`` parameters, ``s`` bytes per element of the training precision, ``k_opt`` fp32
optimizer state copies per parameter (SGD 0, momentum 1, Adam 2), ``b`` the per-device
batch and ``a`` the activation bytes per sample kept for the backward pass, given at fp32
and scaled by ``s/4``. The largest batch that fits a device of ``M_dev`` bytes is
``b_max = ⌊(M_dev − M(0)) / (a·s/4)⌋``.

Mixed precision (NVIDIA AMP / Apex O2) keeps fp16 weights and gradients plus an fp32 master
copy: ``2 + 2 + 4 = 8`` B per parameter before the optimizer, the same as fp32's ``4 + 4``
(AMP O1 keeps fp32 weights and gradients: also 8 B), so mixed saves memory on the
activations only.

References
----------
.. [1] S. Rajbhandari et al., "ZeRO: Memory Optimizations Toward Training Trillion
   Parameter Models", SC 2020 (bytes per parameter for weights, gradients, Adam state).
.. [2] P. Micikevicius et al., "Mixed Precision Training", ICLR 2018 (fp32 master weights).
.. [3] T. Chen et al., "Training Deep Nets with Sublinear Memory Cost", arXiv:1604.06174,
   2016 (activations kept for the backward pass dominate the footprint of CNNs).
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["OPTIMIZER_STATE_COPIES", "DEFAULT_WORKSPACE_BYTES", "MemoryFitError",
           "training_memory_bytes", "training_memory_breakdown", "max_batch_that_fits"]


from ..errors import MemoryFitError
from ._validate import _positive_array

#: fp32 copies of the parameters each optimizer keeps (SGD: none; momentum / Nesterov /
#: RMSProp / Adagrad / LARS: one; Adam / AdamW / LAMB: first and second moments).
OPTIMIZER_STATE_COPIES = {"sgd": 0, "momentum": 1, "nesterov": 1, "rmsprop": 1, "adagrad": 1,
                          "lars": 1, "adam": 2, "adamw": 2, "lamb": 2}

#: Memory a framework takes besides weights, gradients, optimizer state and activations
#: [B]: the CUDA context (≈ 0.3–0.5 GB), cuDNN/cuBLAS workspaces and allocator slack.
#: 1 GiB is an assumption (a round figure of that order), stated wherever it is used.
DEFAULT_WORKSPACE_BYTES = float(2**30)


def _optimizer(optimizer: str) -> str:
    key = str(optimizer).strip().lower()
    if key not in OPTIMIZER_STATE_COPIES:
        raise ValueError(f"optimizer must be one of {sorted(OPTIMIZER_STATE_COPIES)}, got {optimizer!r}")
    return key


def training_memory_bytes(params, batch_per_device, activation_bytes_per_sample=0.0,
                          bytes_per_element=4, optimizer="momentum", workspace_bytes=0.0,
                          mixed_precision=False):
    """Memory one device needs to train with data parallelism [B].

    ``M = P·2·s + P·4·k_opt (+ P·4 master copy when mixed) + b·a·s/4 + workspace``

    with ``P`` parameters, ``s`` bytes per element of the training precision, ``k_opt``
    optimizer state copies (:data:`OPTIMIZER_STATE_COPIES`; kept in fp32), ``b`` the
    per-device batch and ``a`` the fp32 activation bytes per sample (scaled by ``s/4``).

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
    optimizer : str
        A key of :data:`OPTIMIZER_STATE_COPIES` (``"sgd"``, ``"momentum"``, ``"adam"``, …).
    workspace_bytes : float
        Framework workspace (CUDA context, cuDNN scratch, allocator slack) [B] (default 0
        here; :data:`DEFAULT_WORKSPACE_BYTES` in :func:`max_batch_that_fits`).
    mixed_precision : bool
        Keep an fp32 master copy of the weights (NVIDIA AMP).

    Returns
    -------
    float or numpy.ndarray
        [B]

    Examples
    --------
    ResNet-50 (25.6 M parameters), momentum SGD, fp32, no activations: 12 B per parameter

    >>> training_memory_bytes(25.6e6, 0)
    307200000.0
    """
    terms = _memory_terms(params, batch_per_device, activation_bytes_per_sample, bytes_per_element, optimizer,
                          workspace_bytes, mixed_precision)
    out = sum(terms.values())
    return out if np.ndim(out) else float(out)


def _memory_terms(params, batch_per_device, activation_bytes_per_sample, bytes_per_element, optimizer,
                  workspace_bytes, mixed_precision) -> dict:
    """The terms of the training-memory model, validated (the one place it is written)."""
    opt = _optimizer(optimizer)
    params = np.asarray(_positive_array(params, "dimensionless", "params", allow_zero=True))
    b = np.asarray(_positive_array(batch_per_device, "dimensionless", "batch_per_device", allow_zero=True))
    act = np.asarray(_positive_array(activation_bytes_per_sample, "bytes", "activation_bytes_per_sample",
                                     allow_zero=True))
    ws = np.asarray(_positive_array(workspace_bytes, "bytes", "workspace_bytes", allow_zero=True))
    s = np.asarray(_positive_array(bytes_per_element, "bytes", "bytes_per_element"))
    return {
        "weights_bytes": params * s,
        "gradients_bytes": params * s,
        # optimizer state in fp32, plus the fp32 master copy under mixed precision
        "optimizer_bytes": params * 4.0 * (OPTIMIZER_STATE_COPIES[opt] + (1 if mixed_precision else 0)),
        # the activation figure is for fp32; it scales with the element size
        "activations_bytes": b * act * s / 4.0,
        "workspace_bytes": ws,
    }


def _resolve(model, device, precision, activation_bytes_per_sample):
    from ..catalog.loader import active_catalog
    from ..catalog.objects import normalize_precision
    from ..units import to_si

    cat = active_catalog()
    m = cat.get("model", model)
    d = cat.get("device", device) if device is not None else None
    prec = normalize_precision(precision)
    if activation_bytes_per_sample is None:
        acts = m.activation_bytes_per_sample
        if acts is None:
            raise ValueError(
                f"activation_bytes_per_sample: model {m.name!r} has no activation figure in the zoo; "
                "pass activation_bytes_per_sample= (fp32 bytes kept per sample for the backward pass)")
    else:
        acts = float(to_si(activation_bytes_per_sample, "bytes", name="activation_bytes_per_sample"))
        if not acts > 0:
            raise ValueError(f"activation_bytes_per_sample must be positive, got {activation_bytes_per_sample!r}")
    return m, d, prec, float(acts)


def training_memory_breakdown(model, precision="fp32", batch_per_device=1, optimizer="momentum", *,
                              activation_bytes_per_sample=None,
                              workspace_bytes=DEFAULT_WORKSPACE_BYTES) -> dict:
    """Per-device training memory of a model, component by component [B].

    Parameters
    ----------
    model : str or Model
        Zoo name or :class:`~plaster_model.Model`.
    precision : str
        Training precision (``"fp32"``, ``"mixed"``, ``"fp16"``, ``"bf16"``, …).
    batch_per_device : float
        Samples per device.
    optimizer : str
        A key of :data:`OPTIMIZER_STATE_COPIES`.
    activation_bytes_per_sample : float or str, optional
        fp32 activation bytes per sample (default: the zoo's figure; an error when absent).
    workspace_bytes : float or str
        Framework workspace [B] (default :data:`DEFAULT_WORKSPACE_BYTES`, 1 GiB).

    Returns
    -------
    dict
        ``weights_bytes``, ``gradients_bytes``, ``optimizer_bytes`` (state + fp32 master
        copy under mixed precision), ``activations_bytes``, ``workspace_bytes``,
        ``total_bytes`` [B].

    Examples
    --------
    >>> b = training_memory_breakdown("ResNet-50", "fp32", 64)
    >>> b["weights_bytes"] == 25_610_269 * 4
    True
    """
    from ..catalog.objects import BYTES_PER_ELEMENT
    from ..units import to_si

    m, _, prec, acts = _resolve(model, None, precision, activation_bytes_per_sample)
    terms = _memory_terms(m.params, batch_per_device, acts, float(BYTES_PER_ELEMENT[prec]), optimizer,
                          to_si(workspace_bytes, "bytes", name="workspace_bytes"), prec == "mixed")
    out = {k: float(v) for k, v in terms.items()}
    out["total_bytes"] = sum(out.values())
    return out


def max_batch_that_fits(model, device, precision="fp32", optimizer="momentum", *,
                        activation_bytes_per_sample=None, workspace_bytes=DEFAULT_WORKSPACE_BYTES,
                        memory_bytes=None) -> int:
    """Largest per-device batch whose training footprint fits the device memory.

    ``b_max = ⌊(M_dev − P·2·s − P·4·(k_opt + [mixed]) − workspace) / (a·s/4)⌋``
    (see :func:`training_memory_bytes`); 0 when the weights, gradients, optimizer state and
    workspace alone do not fit (the model needs model parallelism or ZeRO-style sharding).

    Parameters
    ----------
    model : str or Model
        Zoo name or :class:`~plaster_model.Model`.
    device : str or Device
        Catalog name or :class:`~plaster_model.Device` (its ``memory_bytes``).
    precision : str
        ``"fp32"`` (4 B elements), ``"mixed"`` (fp16 activations and gradients, fp32 master
        copy), ``"fp16"``, ``"bf16"`` (2 B), ``"int8"`` (1 B), ...
    optimizer : str
        A key of :data:`OPTIMIZER_STATE_COPIES` (``"sgd"``, ``"momentum"``, ``"adam"``, …).
    activation_bytes_per_sample : float or str, optional
        fp32 activation bytes per sample; default the zoo's ``activation_bytes_per_sample``
        (a ``ValueError`` says so when the zoo has none).
    workspace_bytes : float or str
        Framework workspace [B] (default 1 GiB, an assumption).
    memory_bytes : float or str, optional
        Override the device memory [B] (e.g. what is left beside another job).

    Returns
    -------
    int

    References
    ----------
    Rajbhandari et al., SC 2020 (ZeRO); Micikevicius et al., ICLR 2018.

    Examples
    --------
    >>> max_batch_that_fits("ResNet-50", "V100", "fp32", "momentum")
    182
    """
    from ..catalog.objects import BYTES_PER_ELEMENT
    from ..units import to_si

    m, d, prec, acts = _resolve(model, device, precision, activation_bytes_per_sample)
    mem = d.memory_bytes if memory_bytes is None else float(to_si(memory_bytes, "bytes", name="memory_bytes"))
    s = BYTES_PER_ELEMENT[prec]
    ws = float(to_si(workspace_bytes, "bytes", name="workspace_bytes"))
    fixed = training_memory_bytes(m.params, 0, 0.0, s, optimizer, ws, mixed_precision=prec == "mixed")
    per_sample = acts * s / 4.0
    free = mem - fixed
    if free < per_sample:
        return 0
    return int(math.floor(free / per_sample * (1 + 1e-12)))
