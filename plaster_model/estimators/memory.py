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
.. [4] V. Korthikanti et al., "Reducing Activation Recomputation in Large Transformer
   Models", arXiv:2205.05198, 2022 (activation bytes per transformer layer, Section 4).
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["OPTIMIZER_STATE_COPIES", "DEFAULT_WORKSPACE_BYTES", "MemoryFitError",
           "training_memory_bytes", "training_memory_breakdown", "max_batch_that_fits",
           "transformer_activation_bytes", "transformer_dims", "model_activation_bytes",
           "training_memory_fit", "memory_fit_message", "transformer_live_activation_bytes"]


from ..errors import MemoryFitError, ParameterError
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
        raise ParameterError("optimizer", optimizer,
                             message=f"optimizer must be one of {sorted(OPTIMIZER_STATE_COPIES)}, got {optimizer!r}")
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
    # _positive_array gives a float for a scalar, an array otherwise: a scalar question is
    # answered in Python floats (the same IEEE operations, without 0-d numpy arrays)
    params = _positive_array(params, "dimensionless", "params", allow_zero=True)
    b = _positive_array(batch_per_device, "dimensionless", "batch_per_device", allow_zero=True)
    act = _positive_array(activation_bytes_per_sample, "bytes", "activation_bytes_per_sample", allow_zero=True)
    ws = _positive_array(workspace_bytes, "bytes", "workspace_bytes", allow_zero=True)
    s = _positive_array(bytes_per_element, "bytes", "bytes_per_element")
    return {
        "weights_bytes": params * s,
        "gradients_bytes": params * s,
        # optimizer state in fp32, plus the fp32 master copy under mixed precision
        "optimizer_bytes": params * 4.0 * (OPTIMIZER_STATE_COPIES[opt] + (1 if mixed_precision else 0)),
        # the activation figure is for fp32; it scales with the element size
        "activations_bytes": b * act * s / 4.0,
        "workspace_bytes": ws,
    }


_RECOMPUTE = ("none", "selective", "full")


def transformer_activation_bytes(seq_len, batch, hidden, heads, layers=1, *, tp=1, sequence_parallel=False,
                                 recompute="none"):
    """Activation bytes a transformer keeps for the backward pass, 16-bit activations [B].

    Korthikanti et al. 2022, Section 4, per layer (``s`` tokens, ``b`` sequences, ``h``
    hidden size, ``a`` heads, ``t`` tensor-parallel ranks):

    * no parallelism: ``s·b·h·(34 + 5·a·s/h)``;
    * tensor parallelism: ``s·b·h·(10 + 24/t + 5·a·s/(h·t))``;
    * tensor + sequence parallelism: ``s·b·h·(34 + 5·a·s/h)/t``;
    * selective recomputation drops the ``5·a·s/h`` term (the attention scores, softmax and
      dropout mask); full recomputation keeps each layer's input only, ``2·s·b·h``.

    Parameters
    ----------
    seq_len, batch : int or array_like
        Tokens per sequence ``s`` and sequences ``b`` (per device, per micro-batch).
    hidden, heads : int
        Hidden size ``h`` and attention heads ``a``.
    layers : int
        Transformer layers held on the device.
    tp : int
        Tensor-parallel ranks ``t``.
    sequence_parallel : bool
        Sequence parallelism on top of tensor parallelism.
    recompute : {"none", "selective", "full"}

    Returns
    -------
    float or numpy.ndarray
        [B] at 2 bytes per element (dropout masks at 1 byte, as in the paper).

    References
    ----------
    Korthikanti et al., arXiv:2205.05198 (2022), eqs. 1-5.

    Examples
    --------
    GPT-2 XL (h 1600, 25 heads, 48 layers), one 1024-token sequence:
    ``1024·1600·(34 + 5·25·1024/1600)·48 = 8.97 GB``

    >>> round(transformer_activation_bytes(1024, 1, 1600, 25, 48) / 1e9, 2)
    8.97
    """
    if recompute not in _RECOMPUTE:
        raise ParameterError("recompute", recompute,
                             message=f"recompute must be one of {_RECOMPUTE}, got {recompute!r}")
    s_ = np.asarray(_positive_array(seq_len, "dimensionless", "seq_len"), dtype=float)
    b = np.asarray(_positive_array(batch, "dimensionless", "batch", allow_zero=True), dtype=float)
    h = float(_positive_array(hidden, "dimensionless", "hidden"))
    a = float(_positive_array(heads, "dimensionless", "heads"))
    t = float(_positive_array(tp, "dimensionless", "tp"))
    n = float(_positive_array(layers, "dimensionless", "layers", allow_zero=True))
    # the one home of Korthikanti et al.'s per-layer formula is llm_memory; it is linear in b
    from .llm_memory import activation_bytes_per_layer

    per_layer = b * activation_bytes_per_layer(s_, 1.0, h, a, tp=t, sp=bool(sequence_parallel),
                                               recompute=recompute)
    out = per_layer * n
    return out if np.ndim(out) else float(out)


def transformer_dims(model) -> dict | None:
    """``{"layers", "hidden", "heads", "seq_len"}`` of a transformer model, or None.

    Read from the model's own attributes where it has them (``hidden_size``,
    ``num_layers``, ``num_heads``), else from the builder of a zoo model built in code
    (:func:`plaster_model.model_builders.architecture`). ViT's sequence is its patches plus
    the class token; the encoder-decoder Transformer counts encoder and decoder layers
    (each decoder layer's cross-attention is not counted apart: a lower bound).

    Examples
    --------
    >>> transformer_dims("GPT-2 XL")
    {'layers': 48, 'hidden': 1600, 'heads': 25, 'seq_len': 1024}
    """
    name = model if isinstance(model, str) else getattr(model, "name", None)
    if isinstance(model, str):
        from ..catalog.loader import active_catalog

        model = active_catalog().get("model", model)
        name = model.name
    cfg = getattr(model, "transformer", None)
    if cfg is not None and getattr(model, "seq_len", None):
        # a transformer built from its architecture (the zoo's LLMs, Model.from_hf_config)
        return {"layers": int(cfg.n_layers), "hidden": int(cfg.d_model), "heads": int(cfg.n_heads),
                "seq_len": int(model.seq_len)}
    own = [getattr(model, k, None) for k in ("num_layers", "hidden_size", "num_heads")]
    if all(isinstance(v, (int, np.integer)) and v > 0 for v in own):
        seq = getattr(model, "seq_len", None)
        if seq:
            return {"layers": int(own[0]), "hidden": int(own[1]), "heads": int(own[2]), "seq_len": int(seq)}
    from ..model_builders import architecture

    arch = architecture(name) if name else {}
    builder = arch.get("builder")
    if builder in ("gpt2", "bert"):
        seq, layers = arch["seq_len"], arch["layers"]
    elif builder == "vit":
        seq, layers = (arch["hw"] // arch["patch"]) ** 2 + 1, arch["layers"]
    elif builder == "transformer_nmt":
        seq, layers = max(arch["src_len"], arch["tgt_len"]), 2 * arch["layers"]
    else:
        return None
    return {"layers": int(layers), "hidden": int(arch["d"]), "heads": int(arch["heads"]), "seq_len": int(seq)}


def model_activation_bytes(model) -> tuple[float | None, str]:
    """fp32 activation bytes per sample kept for the backward pass [B], and where it comes from.

    The zoo's ``activation_bytes_per_sample`` where given; for a transformer (see
    :func:`transformer_dims`) twice :func:`transformer_activation_bytes` at one sequence
    (Korthikanti et al.'s figure is for 16-bit activations; the training-memory model holds
    fp32 figures and scales them by ``s/4``, so a 16-bit run gets the paper's figure back);
    ``(None, reason)`` when neither is known.

    Examples
    --------
    >>> acts, how = model_activation_bytes("GPT-2 XL")
    >>> round(acts / 1e9, 2), how.split(":")[0]
    (17.93, 'Korthikanti et al. 2022')
    """
    from ..catalog.loader import active_catalog

    m = active_catalog().get("model", model) if isinstance(model, str) else model
    try:
        hit = _ACTIVATIONS.get(m)
    except TypeError:  # an unhashable model: answered, not cached
        return _model_activation_bytes(m)
    if hit is None:
        hit = _model_activation_bytes(m)
        if len(_ACTIVATIONS) >= 1024:
            del _ACTIVATIONS[next(iter(_ACTIVATIONS))]
        _ACTIVATIONS[m] = hit
    return hit


#: Model -> (activation bytes, origin): a model is a frozen dataclass compared by value, so
#: the answer holds whatever catalog is active (a prediction loop asks it once per model).
_ACTIVATIONS: dict = {}


def _model_activation_bytes(m) -> tuple[float | None, str]:
    """:func:`model_activation_bytes` of a resolved model, uncached."""
    if m.activation_bytes_per_sample is not None:
        return float(m.activation_bytes_per_sample), "the zoo's activation figure"
    dims = transformer_dims(m)
    if dims is None:
        return None, f"no activation figure for {m.name} (activations not counted)"
    act16 = transformer_activation_bytes(dims["seq_len"], 1, dims["hidden"], dims["heads"], dims["layers"])
    return 2.0 * act16, (f"Korthikanti et al. 2022: s·h·(34 + 5·a·s/h) B per layer at 16 bits "
                         f"(s {dims['seq_len']}, h {dims['hidden']}, a {dims['heads']}, {dims['layers']} layers)")


def transformer_live_activation_bytes(model) -> float | None:
    """fp32 activation bytes per sample live at once in a transformer's inference pass [B].

    One layer of :func:`transformer_activation_bytes` at one sequence, doubled to fp32
    (inference frees each layer's tensors before the next: one layer is live). It counts
    what training keeps for the backward pass of that layer, so it bounds the live
    tensors from above. None for a model that is not a known transformer.

    >>> round(transformer_live_activation_bytes("BERT-base") / 1e6, 1)   # 384·768·(34 + 5·12·384/768)·2
    37.7
    """
    from ..catalog.loader import active_catalog

    m = active_catalog().get("model", model) if isinstance(model, str) else model
    dims = transformer_dims(m)
    if dims is None:
        return None
    return 2.0 * transformer_activation_bytes(dims["seq_len"], 1, dims["hidden"], dims["heads"], 1)


def memory_fit_message(what: str, need_bytes: float, available_bytes: float, device: str, hint: str = "") -> str:
    """One line: what does not fit, the estimate, the device memory and the excess."""
    from ..units import format_si

    return (f"{what} does not fit in memory: the estimate {format_si(need_bytes, 'B')} exceeds {device}'s "
            f"{format_si(available_bytes, 'B')} by {format_si(need_bytes - available_bytes, 'B')}"
            + (f"; {hint}" if hint else ""))


def training_memory_fit(model, device, precision, batch_per_device, optimizer="momentum", *,
                        workspace_bytes=DEFAULT_WORKSPACE_BYTES) -> dict:
    """Does a data-parallel training configuration fit one device's memory?

    ``M(b)`` of :func:`training_memory_bytes` with the activation figure of
    :func:`model_activation_bytes`, against the device's ``memory_bytes``. Vectorized over
    ``batch_per_device``.

    Parameters
    ----------
    model : str or Model
        Zoo name or :class:`~plaster_model.Model`.
    device : str or Device
        Catalog name or :class:`~plaster_model.Device` (its ``memory_bytes``).
    precision : str
        Training precision (element size; ``"mixed"`` adds the fp32 master copy).
    batch_per_device : float or array_like
        Samples per device.
    optimizer : str
        A key of :data:`OPTIMIZER_STATE_COPIES`.
    workspace_bytes : float
        Framework workspace [B] (default 1 GiB, an assumption).

    Returns
    -------
    dict
        ``need_bytes`` [B], ``available_bytes`` [B], ``fits`` (bool or array), ``fixed_bytes``
        (the batch-independent part) [B], ``activation_bytes_per_sample`` (fp32, None when
        unknown) [B], ``how`` (the activation figure's origin), ``hint`` (a way out, for a
        scalar batch that does not fit; ``""`` otherwise).

    Examples
    --------
    ResNet-50 at batch 4096 on a 16 GB V100: 12 B per parameter + 1 GiB + 4096 × 80.1 MB

    >>> f = training_memory_fit("ResNet-50", "V100", "fp32", 4096)
    >>> bool(f["fits"]), round(f["need_bytes"] / 1e9)
    (False, 329)
    """
    from ..catalog.loader import active_catalog
    from ..catalog.objects import BYTES_PER_ELEMENT, normalize_precision

    cat = active_catalog()
    m = cat.get("model", model) if isinstance(model, str) else model
    d = cat.get("device", device) if isinstance(device, str) else device
    prec = normalize_precision(precision)
    acts, how = model_activation_bytes(m)
    s = float(BYTES_PER_ELEMENT[prec])
    mixed = prec == "mixed"
    need = training_memory_bytes(m.params, batch_per_device, acts or 0.0, s, optimizer, workspace_bytes, mixed)
    fixed = training_memory_bytes(m.params, 0, 0.0, s, optimizer, workspace_bytes, mixed)
    avail = float(d.memory_bytes)
    fits = np.asarray(need) <= avail
    hint = ""
    if np.ndim(fits) == 0:
        fits = bool(fits)
        if not fits:
            if fixed > avail:
                hint = ("even the weights, gradients and optimizer state do not fit: shard the model with "
                        "plan=pm.ParallelPlan(tp=..., pp=..., zero=...) or search pm.best_plans")
            elif acts:
                b_max = int(math.floor((avail - fixed) / (acts * s / 4.0) * (1 + 1e-12)))
                hint = f"the largest batch that fits is {b_max}"
            else:
                hint = "reduce the batch"
    return {"need_bytes": need, "available_bytes": avail, "fits": fits, "fixed_bytes": float(fixed),
            "activation_bytes_per_sample": acts, "how": how, "hint": hint}


def _resolve(model, device, precision, activation_bytes_per_sample):
    from ..catalog.loader import active_catalog
    from ..catalog.objects import normalize_precision
    from ..units import to_si

    cat = active_catalog()
    m = cat.get("model", model)
    d = cat.get("device", device) if device is not None else None
    prec = normalize_precision(precision)
    if activation_bytes_per_sample is None:
        acts, _ = model_activation_bytes(m)
        if acts is None:
            raise ParameterError("activation_bytes_per_sample", None,
                                 message=f"activation_bytes_per_sample: model {m.name!r} has no activation figure in the zoo; "
                                         "pass activation_bytes_per_sample= (fp32 bytes kept per sample for the backward pass)")
    else:
        acts = float(to_si(activation_bytes_per_sample, "bytes", name="activation_bytes_per_sample"))
        if not acts > 0:
            raise ParameterError("activation_bytes_per_sample", activation_bytes_per_sample,
                                 message=f"activation_bytes_per_sample must be positive, got {activation_bytes_per_sample!r}")
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
