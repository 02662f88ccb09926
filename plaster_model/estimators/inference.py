"""Inference time per batch: a roofline with a fixed launch/overhead term.

``t(b) = t0 + max(F·b / γ_eff, (W + A·b) / bw_eff) [+ H2D(b)]``

with ``F`` forward FLOPs per sample, ``W`` weight bytes (read once per batch), ``A``
activation bytes moved per sample, ``γ_eff = η_c·γ_peak`` and ``bw_eff = η_m·bw_peak``.
Small batches are memory- or overhead-bound (weights are streamed for few samples); large
batches become compute-bound, where throughput ``b/t(b)`` saturates at ``γ_eff/F``.

This is the single implementation used by the scalar inference API, the sweep and the
calibration fit.

References
----------
.. [1] S. Williams, A. Waterman, D. Patterson, "Roofline: an insightful visual performance
   model for multicore architectures", CACM 52(4), 2009.
.. [2] TIRIAS Research, "PLASTER: A Framework for Deep Learning Performance" (2018).
"""
from __future__ import annotations

import numpy as np

from ._validate import _positive_array

__all__ = ["inference_batch_time", "inference_roofline_terms", "host_transfer_time", "inference_knee_batch"]


def inference_batch_time(fwd_flops, weight_bytes, activation_bytes_per_sample, batch, gamma_eff,
                         bandwidth_eff, t0=0.0):
    """Time to run one inference batch on one device [s].

    ``t(b) = t0 + max(F·b/γ_eff, (W + A·b)/bw_eff)``

    Parameters
    ----------
    fwd_flops : array_like
        Forward FLOPs per sample ``F`` [FLOP] (2 × MACs).
    weight_bytes : array_like
        Weight bytes at the inference precision ``W`` [B].
    activation_bytes_per_sample : array_like
        Activation bytes read and written per sample ``A`` [B].
    batch : array_like
        Samples per batch ``b``.
    gamma_eff : array_like
        Sustained compute rate [FLOP/s].
    bandwidth_eff : array_like
        Sustained memory bandwidth [B/s].
    t0 : array_like
        Fixed per-batch overhead (kernel launches, synchronisation) [s].

    Returns
    -------
    float or numpy.ndarray
        [s]

    Examples
    --------
    ResNet-50 (7.8 GFLOP/sample, 102 MB fp32 weights) at batch 1 on a 15.7 TFLOPS,
    900 GB/s device, no activations counted: compute 0.50 ms > weights 0.11 ms.

    >>> round(inference_batch_time(7.8e9, 102.4e6, 0.0, 1, 15.7e12, 900e9) * 1e3, 3)
    0.497
    """
    compute, memory = inference_roofline_terms(fwd_flops, weight_bytes, activation_bytes_per_sample, batch,
                                               gamma_eff, bandwidth_eff)
    t0 = np.asarray(_positive_array(t0, "time", "t0", allow_zero=True))
    out = t0 + np.maximum(compute, memory)
    return out if out.ndim else float(out)


def inference_roofline_terms(fwd_flops, weight_bytes, activation_bytes_per_sample, batch, gamma_eff,
                             bandwidth_eff):
    """The two roofline terms of one inference batch [s]: compute and memory time.

    ``T_compute = F·b / γ_eff``, ``T_memory = (W + A·b) / bw_eff``; the batch takes
    ``t0 + max(T_compute, T_memory)`` (:func:`inference_batch_time`) and is compute-bound
    where ``T_compute ≥ T_memory``.

    Parameters
    ----------
    fwd_flops, weight_bytes, activation_bytes_per_sample, batch, gamma_eff, bandwidth_eff : array_like
        As for :func:`inference_batch_time` ([FLOP], [B], [B], samples, [FLOP/s], [B/s]).

    Returns
    -------
    (numpy.ndarray or float, numpy.ndarray or float)
        ``T_compute`` and ``T_memory`` [s].

    Examples
    --------
    ResNet-50 at batch 1 as above: 0.497 ms of compute against 0.114 ms of weight reads.

    >>> c, m = inference_roofline_terms(7.8e9, 102.4e6, 0.0, 1, 15.7e12, 900e9)
    >>> round(c * 1e3, 3), round(m * 1e3, 3)
    (0.497, 0.114)
    """
    b = np.asarray(_positive_array(batch, "dimensionless", "batch"))
    f = np.asarray(_positive_array(fwd_flops, "flops", "fwd_flops", allow_zero=True))
    g = np.asarray(_positive_array(gamma_eff, "flop_rate", "gamma_eff"))
    w = np.asarray(_positive_array(weight_bytes, "bytes", "weight_bytes", allow_zero=True))
    act = np.asarray(_positive_array(activation_bytes_per_sample, "bytes", "activation_bytes_per_sample",
                                     allow_zero=True))
    bw = np.asarray(_positive_array(bandwidth_eff, "bandwidth", "bandwidth_eff"))
    compute, memory = _roofline_terms(f, w, act, b, g, bw)
    if compute.ndim == 0 and memory.ndim == 0:
        return float(compute), float(memory)
    return compute, memory


def _roofline_terms(f, w, act, b, g, bw):
    """The formula of :func:`inference_roofline_terms` on validated SI arrays (the inner loop
    of :func:`plaster_model.fit_inference_curve` calls it directly, thousands of times)."""
    return f * b / g, (w + act * b) / bw


def host_transfer_time(input_bytes_per_sample, output_bytes_per_sample, batch, link_bandwidth,
                       link_latency=0.0):
    """Host↔device copy time of one batch's inputs and outputs over a link [s].

    ``t = 2·α + (I + O)·b / β`` (one copy each way, not overlapped with compute).

    Parameters
    ----------
    input_bytes_per_sample, output_bytes_per_sample : array_like
        [B] per sample.
    batch : array_like
        Samples per batch.
    link_bandwidth : array_like
        Host link bandwidth per direction [B/s] (PCIe 3.0 x16: 15.75 GB/s).
    link_latency : array_like
        Per-copy latency [s].

    Returns
    -------
    float or numpy.ndarray
        [s]

    Examples
    --------
    A batch of 32 ImageNet images (3·224·224 fp32 = 602,112 B each) in and 1,000 fp32 scores
    out over PCIe 3.0 x16 (15.75 GB/s, 1 µs each way): ``2·1e-6 + 32·606,112 / 15.75e9``:

    >>> round(host_transfer_time(602112, 4000, 32, 15.75e9, 1e-6) * 1e3, 4)
    1.2335
    """
    b = np.asarray(_positive_array(batch, "dimensionless", "batch"))
    io = (np.asarray(_positive_array(input_bytes_per_sample, "bytes", "input_bytes_per_sample", allow_zero=True))
          + np.asarray(_positive_array(output_bytes_per_sample, "bytes", "output_bytes_per_sample",
                                       allow_zero=True))) * b
    out = 2.0 * np.asarray(_positive_array(link_latency, "time", "link_latency", allow_zero=True)) \
        + io / np.asarray(_positive_array(link_bandwidth, "bandwidth", "link_bandwidth"))
    return out if out.ndim else float(out)


def inference_knee_batch(fwd_flops, weight_bytes, activation_bytes_per_sample, gamma_eff, bandwidth_eff):
    """Batch at the roofline knee, where compute time equals memory time [samples].

    ``F·b*/γ = (W + A·b*)/bw``  ⇒  ``b* = W / (F·bw/γ − A)``

    Below ``b*`` a batch is memory-bound (throughput rises with the batch as the weight read
    is shared by more samples); above it compute-bound (throughput saturates at ``γ/F``).
    Infinite when ``F·bw/γ ≤ A`` (the activation traffic alone keeps it memory-bound).

    Parameters
    ----------
    fwd_flops, weight_bytes, activation_bytes_per_sample, gamma_eff, bandwidth_eff : array_like
        As for :func:`inference_batch_time` ([FLOP], [B], [B], [FLOP/s], [B/s]).

    Returns
    -------
    float or numpy.ndarray
        [samples], real-valued.

    Examples
    --------
    ResNet-50 int8 on a T4 (7.8 GFLOP, 25.6 MB, 130 TOPS, 320 GB/s, no activations):

    >>> round(inference_knee_batch(7.8e9, 25.61e6, 0.0, 130e12, 320e9), 3)
    1.334
    """
    f = np.asarray(_positive_array(fwd_flops, "flops", "fwd_flops"))
    w = np.asarray(_positive_array(weight_bytes, "bytes", "weight_bytes", allow_zero=True))
    per_sample = f * np.asarray(_positive_array(bandwidth_eff, "bandwidth", "bandwidth_eff")) \
        / np.asarray(_positive_array(gamma_eff, "flop_rate", "gamma_eff")) \
        - np.asarray(_positive_array(activation_bytes_per_sample, "bytes", "activation_bytes_per_sample",
                                     allow_zero=True))
    with np.errstate(divide="ignore"):
        out = np.where(per_sample > 0, w / np.where(per_sample > 0, per_sample, 1.0), np.inf)
    return out if out.ndim else float(out)
