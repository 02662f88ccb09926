"""Exposed gradient exchange of a pipelined all-reduce: when each gradient byte is ready.

A data-parallel framework that overlaps its exchange with backpropagation (PyTorch DDP's
buckets, Horovod's fused tensors, Caffe's layer-wise NCCL, TensorFlow's per-variable
all-reduce started by its dataflow executor) can start reducing a bucket only once the
backward pass has produced all of that bucket's gradients. Backpropagation visits the layers
last to first, so the last layers' gradients are ready early and the first layers' at the
very end: how much of the exchange hides is set by the order and size of the gradients,
not by a constant.

This module holds that physics in two closed forms:

* :func:`gradient_ready_profile`: from a model's layer table (forward order, per-layer
  backward work and gradient bytes), the buckets in the order backpropagation fills them,
  each with the fraction ``τ_k`` of the backward pass after which it is ready and the
  fraction ``s_k`` of the gradient bytes in it and every later bucket;
* :func:`pipelined_exposed_time`: one FIFO channel reducing the buckets in that order,
  the time its last reduction ends after the backward pass.

References
----------
.. [1] S. Li et al., "PyTorch Distributed: Experiences on Accelerating Data Parallel
   Training", VLDB 13(12), 2020, §3.2 (buckets filled in reverse order, reduced as soon as
   ready; ``bucket_cap_mb = 25``).
.. [2] Y. Peng et al., "A Generic Communication Scheduler for Distributed DNN Training
   Acceleration" (ByteScheduler), SOSP 2019, §2 (FIFO exchange in backward order; the
   first layers' gradients, needed first by the next forward pass, come last).
.. [3] M. Pinedo, *Scheduling: Theory, Algorithms, and Systems*, 5th ed., Springer 2016,
   §3 (single machine with release dates: the makespan of a fixed sequence is
   ``max_k (r_k + Σ_{m ≥ k} p_m)``).
"""
from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from ._validate import _positive_array

__all__ = ["gradient_ready_profile", "pipelined_exposed_time"]


def gradient_ready_profile(backward_work, gradient_bytes, bucket_bytes=None):
    """Buckets of a backward pass: when each is ready and the bytes still to reduce.

    Layers are given in **forward** order; backpropagation runs them last to first, and
    layer ``i``'s gradient exists once the backward work of layers ``i … L`` is done:
    ``τ_i = Σ_{j ≥ i} w_j / Σ_j w_j``. Walking the layers in backward order, gradients
    are packed into buckets that close once they hold at least ``bucket_bytes`` (PyTorch
    DDP's rule; ``None``: one bucket per layer that has gradients, TensorFlow's and
    Caffe's per-variable reduction). A bucket is ready when its last layer is, and
    ``s_k = Σ_{m ≥ k} G_m / G`` is the share of the gradient bytes in bucket ``k`` and the
    buckets after it.

    Parameters
    ----------
    backward_work : array_like
        Backward work of each layer, forward order, in any unit (FLOPs or seconds): only the
        shares matter; >= 0, not all zero.
    gradient_bytes : array_like
        Gradient bytes of each layer [B], forward order, >= 0, not all zero (a layer
        without parameters has 0).
    bucket_bytes : float, optional
        Bucket capacity [B] (> 0); None: every layer with gradients is its own bucket.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``τ`` (ready fraction of the backward pass, non-decreasing, the last one 1 when the
        first layer has parameters) and ``s`` (bytes share from this bucket on,
        decreasing from 1), one entry per bucket in reduction order.

    Raises
    ------
    ParameterError
        Mismatched lengths, negative entries or all-zero work or bytes.

    Examples
    --------
    Three layers with equal backward work; the first has 1 B of gradient, the last 3 B.
    Backward order is layer 3, 2, 1: layer 3 ready after 1/3 of the pass, layer 1 at its
    end; the bytes left from each bucket on are 6/6, 3/6, 1/6:

    >>> tau, s = gradient_ready_profile([1, 1, 1], [1, 2, 3])
    >>> [round(float(x), 3) for x in tau], [round(float(x), 3) for x in s]
    ([0.333, 0.667, 1.0], [1.0, 0.5, 0.167])

    With 4 B buckets, layers 3 and 2 share the first (closed once it holds 5 B >= 4 B):

    >>> tau, s = gradient_ready_profile([1, 1, 1], [1, 2, 3], bucket_bytes=4)
    >>> [round(float(x), 3) for x in tau], [round(float(x), 3) for x in s]
    ([0.667, 1.0], [1.0, 0.167])
    """
    w = np.asarray(backward_work, dtype=float).ravel()
    g = np.asarray(gradient_bytes, dtype=float).ravel()
    if w.shape != g.shape or w.size == 0:
        raise ParameterError("gradient_bytes", f"{g.size} entries",
                             f"one entry per layer, as backward_work ({w.size} entries)")
    for name, v in (("backward_work", w), ("gradient_bytes", g)):
        if not np.all(np.isfinite(v)) or np.any(v < 0) or not v.sum() > 0:
            raise ParameterError(name, v.tolist() if v.size <= 8 else f"{v.size} values",
                                 "finite, >= 0 and not all zero")
    if bucket_bytes is not None:
        cap = float(_positive_array(bucket_bytes, "bytes", "bucket_bytes"))
    # backward order: layer L first; ready once its own backward work is done
    w_b, g_b = w[::-1], g[::-1]
    ready = np.cumsum(w_b) / w_b.sum()
    taus, sizes, filled = [], [], 0.0
    for k in range(w_b.size):
        if g_b[k] == 0.0:
            continue
        filled += g_b[k]
        if bucket_bytes is None or filled >= cap:
            taus.append(ready[k])
            sizes.append(filled)
            filled = 0.0
    if filled > 0.0:  # the last, partly filled bucket: ready when its last layer is
        last = np.flatnonzero(g_b > 0)[-1]
        taus.append(ready[last])
        sizes.append(filled)
    sizes = np.asarray(sizes)
    s = np.cumsum(sizes[::-1])[::-1] / sizes.sum()
    return np.minimum(np.asarray(taus), 1.0), s


def pipelined_exposed_time(backward_time_s, communication_time_s, tau, s, per_bucket_s=0.0):
    """Exchange time left after the backward pass when buckets are reduced as they are ready.

    One channel reduces the buckets first ready, first served (a NCCL stream, Horovod's
    background thread). Bucket ``k`` is released at ``τ_k·T_bwd`` and takes
    ``C_k = (s_k − s_{k+1})·C + α_b``, with ``C`` the bandwidth time of the whole gradient's
    all-reduce and ``α_b`` a fixed cost per bucket. The last reduction ends at
    ``max_k (τ_k·T_bwd + s_k·C + n_k·α_b)`` (a single machine with release dates [3]_;
    ``n_k`` buckets from ``k`` on), so::

        T_exposed = max(0, max_k (s_k·C + n_k·α_b − (1 − τ_k)·T_bwd))

    With two buckets (everything ready at once, ``τ = 0``, then the last bucket ``c`` of the
    bytes at the end, ``τ = 1``) this is ``max(C − T_bwd, c·C)``: the library's overlap model
    with ``o = 1`` (:func:`~plaster_model.estimators.data_parallel_iteration`).

    Parameters
    ----------
    backward_time_s : array_like
        Backward pass time ``T_bwd`` [s], > 0.
    communication_time_s : array_like
        All-reduce time of the whole gradient, bandwidth part ``C`` [s], >= 0.
    tau, s : array_like
        The profile of :func:`gradient_ready_profile` (one entry per bucket, in reduction
        order; broadcast against the times along a new last axis).
    per_bucket_s : array_like
        Fixed cost per bucket ``α_b`` [s] (launch, latency), >= 0 (default 0).

    Returns
    -------
    numpy.ndarray or float
        ``T_exposed`` [s], in ``[0, C + n·α_b]``.

    Examples
    --------
    VGG-16's layout in miniature: 90 % of the bytes (the classifier) ready after 1 % of the
    backward pass, the rest spread to its end. With ``T_bwd = 60 ms`` and ``C = 62 ms``
    the classifier's reduction ends at ``0.6 + 62 = 62.6 ms``, 2.6 ms after the pass; the
    convolutions' 10 % (6.2 ms) start at 54 ms at the latest and end by 60.2 ms:

    >>> round(float(pipelined_exposed_time(0.060, 0.062, [0.01, 0.9, 1.0], [1.0, 0.1, 0.02])) * 1e3, 2)
    2.6

    The same gradient with the classifier first in the network (ready last) hides little:

    >>> round(float(pipelined_exposed_time(0.060, 0.062, [0.1, 1.0], [1.0, 0.9])) * 1e3, 2)
    55.8
    """
    t_bwd = np.asarray(_positive_array(backward_time_s, "time", "backward_time_s"), dtype=float)
    comm = np.asarray(_positive_array(communication_time_s, "time", "communication_time_s", allow_zero=True),
                      dtype=float)
    alpha = np.asarray(_positive_array(per_bucket_s, "time", "per_bucket_s", allow_zero=True), dtype=float)
    tau = np.asarray(tau, dtype=float)
    s = np.asarray(s, dtype=float)
    if tau.shape != s.shape or tau.ndim != 1 or tau.size == 0:
        raise ParameterError("s", f"shape {s.shape}", f"one entry per bucket, as tau (shape {tau.shape})")
    if np.any((tau < 0) | (tau > 1)) or np.any((s < 0) | (s > 1)):
        raise ParameterError("tau", tau.tolist() if tau.size <= 8 else f"{tau.size} values",
                             "fractions in [0, 1] (tau and s)")
    n_after = np.arange(tau.size, 0, -1, dtype=float)
    t = t_bwd[..., None]
    finish = s * comm[..., None] + n_after * alpha[..., None] - (1.0 - tau) * t
    out = np.maximum(finish.max(axis=-1), 0.0)
    return out[()] if out.ndim == 0 else out
