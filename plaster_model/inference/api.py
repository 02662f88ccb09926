"""Inference predictions for users: latency/throughput versus batch, the best batch under a
latency budget, and the model's memory footprint.

Every time comes from :func:`plaster_model.estimators.inference_batch_time`::

    t(b) = t0 + max(F·b/(η_c·γ_peak), (W + A·b)/(η_m·bw_peak))  [+ host transfers]

``F`` forward FLOPs per sample (2 × MACs), ``W`` weight bytes at the precision, ``A``
activation bytes moved per sample, ``γ_peak`` the device peak for the precision
(:meth:`Device.peak`), ``bw_peak`` its memory bandwidth. ``η_c``, ``η_m`` and ``t0`` come
from a calibration (:func:`fit_inference_curve` on measured runs) or default to 1, 1 and 0
(the peak-based bound), which the ``assumptions`` say.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..catalog.loader import active_catalog
from ..catalog.objects import BYTES_PER_ELEMENT, Device, Interconnect, Model, normalize_precision
from .._arguments import aliased
from .._results import Result
from ..units import format_si, to_si
from ..estimators.energy import energy_per_inference, inferences_per_joule
from ..estimators.inference import host_transfer_time, inference_batch_time, inference_roofline_terms

__all__ = ["latency_throughput_curve", "best_batch", "BestBatch", "model_footprint", "inference_workload",
           "UnknownLatencyDistribution", "DEFAULT_BATCHES", "CURVE_COLUMNS",
           "INFERENCE_LIVE_ACTIVATION_FRACTION"]

#: Batches of :func:`latency_throughput_curve` when none are given.
DEFAULT_BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
#: Largest batch accepted (2^31 samples): far beyond any device memory, and small enough that
#: byte counts stay exact in float64 and integer casts cannot overflow.
MAX_BATCH = 2**31

#: Columns of :func:`latency_throughput_curve`, in order.
CURVE_COLUMNS = [
    "model", "device", "precision", "batch", "latency_s", "latency_statistic",
    "latency_low_s", "latency_high_s", "throughput_samples_s", "overhead_time_s",
    "compute_time_s", "memory_time_s", "transfer_time_s", "bound", "energy_per_inference_j",
    "inferences_per_j", "power_w", "memory_needed_bytes", "fits_in_memory", "calibrated",
]

#: Fraction of a model's fp32 *training* activation figure that inference holds live at
#: once, for models without a per-layer table. Inference frees each tensor once its last
#: consumer ran, so the peak is the largest layer's inputs + output, not every tensor the
#: backward pass would need. Derived on ResNet-50 (v1, 224²): the peak layer is a conv2_x
#: residual Add, two 56·56·256 inputs and one output = 3 × 802,816 = 2,408,448 elements,
#: against 20,023,272 elements saved for training (model_zoo.yaml): 0.1203. Chain networks
#: without skips hold less (two tensors), attention blocks more; give the model a layer
#: table (``Model.from_onnx``) for an exact peak.
INFERENCE_LIVE_ACTIVATION_FRACTION = 2_408_448 / 20_023_272

#: Relative slack when comparing a latency with a budget: absorbs the last-bit round-off
#: of unit conversion ("7 ms" -> 0.007), never more.
_BUDGET_RTOL = 1e-12




from ..errors import MemoryFitError, ParameterError, UnknownLatencyDistribution


# --------------------------------------------------------------------------- setup
@dataclass(frozen=True)
class _Setup:
    model: Model
    device: Device
    precision: str
    peak_key: str
    gamma_peak: float
    bandwidth_peak: float
    fwd_flops: float
    weight_bytes: float
    activation_traffic: float          # A [B/sample] moved per sample
    activation_memory: float           # resident activations per sample [B] (fit check)
    compute_efficiency: float
    memory_efficiency: float
    t0_s: float
    efficiency_interval: tuple[float, float] | None
    tail_ratio: float
    latency_statistic: str
    power_w: float
    power_source: str
    link: Interconnect | None
    input_bytes: float
    output_bytes: float
    calibrated: bool
    assumptions: tuple[str, ...]


def _resolve(model, device, precision):
    cat = active_catalog()
    model = cat.get("model", model)
    device = cat.get("device", device)
    prec = normalize_precision(precision)
    if prec not in device.precisions:
        raise ParameterError("precision", precision,
                             message=f"precision: device {device.name!r} has no published {prec} peak, so {model.name} cannot "
                                     f"be predicted at {prec} on it; {device.name} supports {list(device.precisions)}")
    return model, device, prec


def _activation_traffic(model, precision) -> float:
    """Activation bytes moved per sample at inference [B] (0 when the model has no figure).

    ``A = a_train · s/4``: a framework saves for the backward pass both a convolution's
    output and its ReLU/BatchNorm output; fused inference (TensorRT, cuDNN conv+bias+ReLU)
    materialises about half of them, each written once and read once, so the traffic is
    about one training activation figure, scaled from fp32 to ``s`` bytes per element.
    """
    if model.activation_bytes_per_sample is None:
        return 0.0
    return float(model.activation_bytes_per_sample) * BYTES_PER_ELEMENT[normalize_precision(precision)] / 4.0


def _live_activation_bytes(model, precision) -> tuple[float, str]:
    """Activation bytes per sample resident at the peak of an inference pass [B], and how.

    With a per-layer table (ONNX import): ``max over layers (input_bytes + 4·output_elements)
    / batch`` (fp32 table), scaled to ``s`` bytes per element. Otherwise the fp32 training
    figure × :data:`INFERENCE_LIVE_ACTIVATION_FRACTION` × ``s/4``; 0 when neither exists.
    """
    scale = BYTES_PER_ELEMENT[normalize_precision(precision)] / 4.0
    layers = getattr(model, "layers", None)
    if layers is not None and {"input_bytes", "output_elements"} <= set(getattr(layers, "columns", ())):
        batch = float(layers.attrs.get("batch", 1) or 1)
        peak = float((layers["input_bytes"] + 4.0 * layers["output_elements"]).max()) / batch
        return peak * scale, "the largest layer's inputs + output (per-layer table)"
    if model.activation_bytes_per_sample is not None:
        return (float(model.activation_bytes_per_sample) * INFERENCE_LIVE_ACTIVATION_FRACTION * scale,
                f"{INFERENCE_LIVE_ACTIVATION_FRACTION:.4f} × the fp32 training activation figure "
                "(the live fraction derived on ResNet-50)")
    from ..estimators.memory import transformer_live_activation_bytes

    live = transformer_live_activation_bytes(model)
    if live:
        return live * scale, "one transformer layer's activations (Korthikanti et al. 2022; an upper bound)"
    return 0.0, ""


def inference_workload(model, device, precision="fp32") -> dict[str, float]:
    """The fixed inputs of the inference roofline for (model, device, precision).

    Exactly what :func:`latency_throughput_curve` uses, in the keyword names of
    :func:`~plaster_model.inference.fit_inference_curve`, so a calibration fits the same
    model it later predicts with: ``fit_inference_curve(b, t, **inference_workload(m, d, p))``.

    Parameters
    ----------
    model : str or Model
        Zoo name or :class:`~plaster_model.Model`.
    device : str or Device
        Catalog name or :class:`~plaster_model.Device`.
    precision : str
        ``"fp32"``, ``"fp16"``, ``"int8"``, ...: sets the peak and bytes per element.

    Returns
    -------
    dict
        ``fwd_flops`` [FLOP] (2 × MACs), ``weight_bytes`` [B] (params × bytes per element),
        ``activation_bytes_per_sample`` [B] (traffic; 0 when the model has no activation
        figure), ``peak_flops`` [FLOP/s] (:meth:`Device.peak`), ``peak_bandwidth`` [B/s].

    Raises
    ------
    ValueError
        When the device has no peak for the precision.

    Examples
    --------
    >>> import plaster_model as pm
    >>> w = pm.inference_workload("ResNet-50", "T4", "int8")
    >>> w["weight_bytes"], w["peak_flops"]
    (25610269.0, 130000000000000.0)
    """
    model, device, prec = _resolve(model, device, precision)
    return {"fwd_flops": float(model.fwd_flops),
            "weight_bytes": float(model.params * BYTES_PER_ELEMENT[prec]),
            "activation_bytes_per_sample": _activation_traffic(model, prec),
            "peak_flops": float(device.peak(prec)), "peak_bandwidth": float(device.memory_bandwidth)}


def _efficiency(value, name):
    """A user's efficiency, inside the package's one bound for its kind."""
    from ..estimators._validate import COMPUTE_EFFICIENCY_MAX, TRANSFER_EFFICIENCY_MAX, _bounded_fraction

    return _bounded_fraction(value, name, TRANSFER_EFFICIENCY_MAX if name == "memory_efficiency"
                             else COMPUTE_EFFICIENCY_MAX)


def _calibration_parameters(calibration, model, device, precision, assumptions, framework=None):
    """The calibration's inference parameters for this pair (and inference engine named by
    ``framework``: TensorRT, onnxruntime or a framework's runtime), or None (stated)."""
    try:
        # framework= only when named: duck-typed calibrations (InferenceFit) predate it
        extra = {"framework": framework} if framework is not None else {}
        cp = calibration.parameters_for(device=device.name, precision=precision, model=model.name,
                                        phase="inference", n_devices=1, **extra)
    except LookupError as exc:
        cp, why = None, str(exc)
    else:
        why = "it returned nothing"
    if cp is None:
        msg = (f"calibration has no inference parameters for {model.name} on {device.name} at "
               f"{precision} ({why}): peak-based defaults used")
        warnings.warn(msg, UserWarning, stacklevel=4)
        assumptions.append(msg)
    return cp


def _setup(model, device, precision="fp32", calibration=None, compute_efficiency=None,
           memory_efficiency=None, t0=None, include_transfer=False, latency_percentile=None, *,
           percentile_ratio=None, power_w=None, host_link=None, activation_bytes_per_sample=None,
           input_bytes_per_sample=None, output_bytes_per_sample=None, framework=None) -> _Setup:
    model, device, prec = _resolve(model, device, precision)
    key = device.peak_key(prec)
    bpe = BYTES_PER_ELEMENT[prec]
    a: list[str] = [
        f"precision {prec}: device peak '{key}' = {format_si(device.peak_flops[key], 'FLOP/s')}, "
        f"memory bandwidth {format_si(device.memory_bandwidth, 'B/s')}",
        f"forward work {format_si(model.fwd_flops, 'FLOP')} per sample (FLOPs = 2 × MACs); "
        f"weights {model.params:,} × {bpe} B = {format_si(model.params * bpe, 'B')}, read once per batch",
    ]
    cp = _calibration_parameters(calibration, model, device, prec, a, framework) if calibration is not None else None
    calibrated = cp is not None
    eff_interval = None
    if cp is not None:
        a += [f"calibrated: {n}" for n in cp.get("notes", [])]
        eff_interval = cp.get("efficiency_interval")
    sources = {}
    for name, explicit, cal_key, default in (("compute_efficiency", compute_efficiency, "efficiency", 1.0),
                                             ("memory_efficiency", memory_efficiency, "memory_efficiency", 1.0),
                                             ("t0_s", t0, "t0_s", 0.0)):
        if explicit is not None:
            sources[name] = (explicit, "given")
        elif cp is not None and cp.get(cal_key) is not None:
            sources[name] = (cp[cal_key], "calibrated")
        else:
            sources[name] = (default, "uncalibrated default")
    eta_c = _efficiency(sources["compute_efficiency"][0], "compute_efficiency")
    eta_m = _efficiency(sources["memory_efficiency"][0], "memory_efficiency")
    from ..estimators._validate import _positive_array

    t0_s = float(_positive_array(sources["t0_s"][0], "time", "t0", allow_zero=True))
    if compute_efficiency is not None:
        eff_interval = None  # a given efficiency carries no calibrated interval
    a.append(f"compute efficiency η_c = {eta_c:.3g} ({sources['compute_efficiency'][1]}), "
             f"memory efficiency η_m = {eta_m:.3g} ({sources['memory_efficiency'][1]}), "
             f"fixed overhead t0 = {format_si(t0_s, 's')} ({sources['t0_s'][1]})")
    if not calibrated and compute_efficiency is None:
        a.append("uncalibrated: efficiencies 1.0 and t0 = 0 make this a peak-based lower bound on "
                 "latency (pass calibration= or compute_efficiency=/memory_efficiency=/t0=)")

    # activation traffic A and resident activation memory
    if activation_bytes_per_sample is not None:
        traffic = float(to_si(activation_bytes_per_sample, "bytes", name="activation_bytes_per_sample"))
        if traffic < 0:
            raise ParameterError("activation_bytes_per_sample", None,
                                 message="activation_bytes_per_sample must be >= 0")
        a.append(f"activation traffic {format_si(traffic, 'B')} per sample (given)")
    elif cp is not None and cp.get("activation_in_efficiency"):
        # the calibration's efficiency is a fraction of the per-operator roofline, which
        # counts every operator's activation traffic already
        traffic = 0.0
        a.append("activation traffic: in the calibrated efficiency (a fraction of the per-operator "
                 "roofline, plaster_model.estimators.step)")
    elif model.activation_bytes_per_sample is not None:
        traffic = _activation_traffic(model, prec)
        a.append(f"activation traffic {format_si(traffic, 'B')} per sample = the model's fp32 training "
                 f"activation figure × {bpe}/4 (fused inference materialises about half the tensors "
                 "training saves, each written once and read once)")
    else:
        traffic = 0.0
        a.append(f"{model.name} has no activation figure: memory time counts weights only (a lower bound)")
    resident, how = _live_activation_bytes(model, prec)
    if how:
        a.append(f"memory fit: weights once + live activations {format_si(resident, 'B')} per sample × batch "
                 f"({how}); no gradients or optimizer state at inference")
    else:
        a.append("memory fit: weights only (no activation figure for this model)")

    # latency statistic
    if latency_percentile is None:
        ratio, stat = 1.0, "mean"
        a.append("latency is the model's point estimate, read as the mean (calibrated on median GPU "
                 "compute times, which agree with the mean within about 1 % for steady TensorRT runs)")
    else:
        pct = float(latency_percentile)
        if not 0 < pct < 100:
            raise ParameterError("latency_percentile", latency_percentile,
                                 message=f"latency_percentile must be in (0, 100), got {latency_percentile!r}")
        stat = f"p{pct:g}"
        cal_key = f"latency_p{pct:g}_ratio"
        if percentile_ratio is not None:
            ratio, src = float(percentile_ratio), "given"
        elif cp is not None and cp.get(cal_key) is not None:
            ratio, src = float(cp[cal_key]), "calibrated"
        elif pct == 50:
            ratio, src = 1.0, "median = point estimate"
        else:
            raise UnknownLatencyDistribution(
                f"latency_percentile={latency_percentile!r}: no latency distribution is known for "
                f"{model.name} on {device.name} at {prec}; pass percentile_ratio= (the p{pct:g}/median "
                f"latency ratio) or a calibration that supplies {cal_key!r}")
        if not (math.isfinite(ratio) and (ratio >= 1.0 if pct >= 50 else ratio > 0)):
            raise ParameterError("latency_percentile", latency_percentile,
                                 message=f"percentile ratio for p{pct:g} must be >= 1 (a tail above the median), got {ratio!r}")
        a.append(f"latency at {stat} = {ratio:.4g} × point estimate ({src})")

    # power
    if power_w is not None:
        pw = float(to_si(power_w, "power", name="power_w"))
        psrc = "given"
    elif cp is not None and cp.get("measured_power_w") is not None:
        pw, psrc = float(cp["measured_power_w"]), "measured (calibration)"
    elif device.power_w is not None:
        pw, psrc = device.power_w, "board power (catalog TDP)"
    else:  # the vendor publishes no power (catalog sources.power says so): energy is not estimated
        pw, psrc = math.nan, f"not published for {device.name} (pass power_w= for an energy estimate)"
    if math.isnan(pw) and psrc.startswith("not published"):
        a.append(f"power {psrc}: energy per inference not estimated")
    elif not (math.isfinite(pw) and pw > 0):
        raise ParameterError("power_w", pw, message=f"power_w must be positive, got {pw!r}")
    else:
        a.append(f"power {pw:g} W: {psrc}" + ("; TDP is an upper bound on the draw, so energy per "
                                               "inference is pessimistic" if psrc.startswith("board") else ""))

    # host transfers
    link = None
    in_b = out_b = 0.0
    if include_transfer:
        link_name = host_link if host_link is not None else device.host_link
        if link_name is None:
            raise ParameterError("host_link", host_link,
                                 message=f"include_transfer: device {device.name!r} has no host_link in the catalog; "
                                         "pass host_link='PCIe 3.0 x16' (or an Interconnect)")
        link = active_catalog().get("interconnect", link_name)
        if input_bytes_per_sample is not None:
            in_b = float(to_si(input_bytes_per_sample, "bytes", name="input_bytes_per_sample"))
        elif model.input_shape:
            in_b = float(np.prod(model.input_shape)) * 4.0
        else:
            raise ParameterError("input_bytes_per_sample", None,
                                 message=f"include_transfer: model {model.name!r} has no input_shape; pass "
                                         "input_bytes_per_sample=")
        out_b = float(to_si(output_bytes_per_sample, "bytes", name="output_bytes_per_sample")) \
            if output_bytes_per_sample is not None else 0.0
        a.append(f"host↔device copies over {link.name} ({format_si(link.bandwidth, 'B/s')} per direction, "
                 f"{format_si(link.latency_s, 's')} per copy): input {format_si(in_b, 'B')} per sample"
                 + (" (fp32 input tensor)" if input_bytes_per_sample is None else "")
                 + f", output {format_si(out_b, 'B')} per sample"
                 + (" (not counted; pass output_bytes_per_sample=)" if output_bytes_per_sample is None else "")
                 + "; not overlapped with compute")
    else:
        a.append("host↔device transfers not included (device compute time only, like trtexec's GPU "
                 "Compute Time); pass include_transfer=True to add them")

    return _Setup(model, device, prec, key, device.peak_flops[key], device.memory_bandwidth,
                  model.fwd_flops, float(model.params * bpe), traffic, resident, eta_c, eta_m, t0_s,
                  tuple(eff_interval) if eff_interval is not None else None, ratio, stat, pw, psrc,
                  link, in_b, out_b, calibrated, tuple(a))


def _evaluate(s: _Setup, batch) -> dict[str, np.ndarray]:
    """Every column of the curve for the batches ``batch`` (vectorized)."""
    b = np.asarray(batch, dtype=float)
    gamma = s.compute_efficiency * s.gamma_peak
    bw = s.memory_efficiency * s.bandwidth_peak
    compute, memory = (np.asarray(t, dtype=float) for t in inference_roofline_terms(
        s.fwd_flops, s.weight_bytes, s.activation_traffic, b, gamma, bw))
    device_t = inference_batch_time(s.fwd_flops, s.weight_bytes, s.activation_traffic, b, gamma, bw, s.t0_s)
    if s.link is not None:
        transfer = np.asarray(host_transfer_time(s.input_bytes, s.output_bytes, b, s.link.bandwidth,
                                                 s.link.latency_s), dtype=float)
    else:
        transfer = np.zeros_like(b)
    typical = np.asarray(device_t, dtype=float) + transfer
    latency = typical * s.tail_ratio
    if s.efficiency_interval is not None:
        lo_eff, hi_eff = s.efficiency_interval
        ends = [(np.asarray(inference_batch_time(s.fwd_flops, s.weight_bytes, s.activation_traffic, b,
                                                 e * s.gamma_peak, bw, s.t0_s), dtype=float) + transfer)
                * s.tail_ratio for e in (hi_eff, lo_eff)]
        low, high = np.minimum(*ends), np.maximum(*ends)
    else:
        low = high = np.full_like(b, np.nan)
    throughput = b / typical
    need = s.weight_bytes + s.activation_memory * b
    return {
        "batch": b, "latency_s": latency, "latency_low_s": low, "latency_high_s": high,
        "typical_latency_s": typical, "throughput_samples_s": throughput,
        "overhead_time_s": np.full_like(b, s.t0_s), "compute_time_s": compute, "memory_time_s": memory,
        "transfer_time_s": transfer, "bound": np.where(compute >= memory, "compute", "memory"),
        # NaN where the device's power is not published (nothing to multiply the time by)
        "energy_per_inference_j": (np.asarray(energy_per_inference(throughput, s.power_w), dtype=float)
                                   if math.isfinite(s.power_w) else np.full_like(b, np.nan)),
        "inferences_per_j": (np.asarray(inferences_per_joule(throughput, s.power_w), dtype=float)
                             if math.isfinite(s.power_w) else np.full_like(b, np.nan)),
        "power_w": np.full_like(b, s.power_w), "memory_needed_bytes": need,
        "fits_in_memory": need <= s.device.memory_bytes,
    }


def _batches(batches, name="batches"):
    if isinstance(batches, (bool, np.bool_)) or (isinstance(batches, (list, tuple))
                                                  and any(isinstance(b, (bool, np.bool_)) for b in batches)):
        raise ParameterError(name, batches, "whole numbers of samples (True/False is not a batch)")
    arr = np.atleast_1d(np.asarray(batches))
    if arr.ndim != 1 or arr.size == 0:
        raise ParameterError(name, batches, message=f"{name} must be a non-empty list of batch sizes, got {batches!r}")
    try:
        vals = arr.astype(float)
    except (TypeError, ValueError):
        raise ParameterError(name, batches, "whole numbers of samples") from None
    if not np.all(np.isfinite(vals)) or np.any(vals < 1) or np.any(vals != np.round(vals)) \
            or np.any(vals > MAX_BATCH):
        raise ParameterError(name, batches, f"whole numbers of samples from 1 to {MAX_BATCH:,} "
                                            "(a device runs whole samples)")
    return np.unique(vals.astype(int))


# --------------------------------------------------------------------------- curve
def latency_throughput_curve(model, device, precision="fp32", batches=DEFAULT_BATCHES, calibration=None,
                             compute_efficiency=None, memory_efficiency=None, t0=None,
                             include_transfer=False, latency_percentile=None, allow_oversubscribed=False,
                             **kwargs):
    """Latency, throughput and energy of inference versus batch size, one row per batch.

    ``t(b) = t0 + max(F·b/(η_c·γ_peak), (W + A·b)/(η_m·bw_peak)) [+ 2α + (I+O)·b/β]``,
    ``throughput = b / t(b)`` [samples/s], ``energy per inference = P·t(b)/b`` [J],
    ``inferences per joule = throughput / P`` [1/J].

    Parameters
    ----------
    model : str or Model
        Zoo name (``"ResNet-50"``) or a :class:`~plaster_model.Model`.
    device : str or Device
        Catalog name (``"T4"``) or a :class:`~plaster_model.Device`.
    precision : str
        ``"fp32"``, ``"fp16"`` (tensor cores where present), ``"int8"``, ``"bf16"``, ...
    batches : sequence of int
        Samples per batch (default 1, 2, 4, ..., 256). ``batch_sizes=`` is accepted as an
        alias (not both).
    calibration : Calibration, optional
        Asked ``parameters_for(device=, precision=, model=, phase="inference", n_devices=1)``
        for ``efficiency``, ``efficiency_interval``, ``memory_efficiency``, ``t0_s``,
        ``notes`` and optionally ``latency_p99_ratio`` (any ``latency_p<P>_ratio``) and
        ``measured_power_w``. A calibration without this pair (``LookupError`` or None)
        leaves the peak-based defaults, with a warning and an assumption saying so.
    compute_efficiency, memory_efficiency : float, optional
        ``η_c`` in (0, 5] (above 1 only for kernels that beat the zoo's direct count) and
        ``η_m`` in (0, 1] (no memory beats its DRAM peak); override the calibration (default
        1.0 uncalibrated).
    t0 : float or str, optional
        Fixed per-batch overhead [s] (``"0.5 ms"``); default the calibration's, else 0.
    include_transfer : bool
        Add host↔device copies of inputs (fp32 ``input_shape``) and outputs over the
        device's ``host_link`` (or ``host_link=``).
    latency_percentile : float, optional
        Report ``latency_s`` at this percentile (e.g. 99) instead of the mean: the point
        estimate times a tail ratio ``p<P>/median`` from ``percentile_ratio=`` or the
        calibration (``latency_p99_ratio``). Raises when no ratio is known.
    allow_oversubscribed : bool
        Keep the latency and throughput of batches that do not fit in device memory
        (default False: NaN there, ``fits_in_memory`` False).
    **kwargs
        ``percentile_ratio``, ``power_w`` (measured power [W], default board TDP),
        ``host_link``, ``activation_bytes_per_sample`` (traffic per sample at this precision
        [B]), ``input_bytes_per_sample``, ``output_bytes_per_sample``, ``framework`` (the
        inference engine a calibration's parameters are taken from: "TensorRT",
        "onnxruntime" or a framework such as "PyTorch"; default: the engine the calibration
        measured most on this device, stated).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CURVE_COLUMNS`: ``batch``, ``latency_s`` (at ``latency_statistic``),
        ``latency_low_s``/``latency_high_s`` (the latency at the ends of the calibration's
        compute ``efficiency_interval``; zero width where memory-bound, NaN when unknown), ``throughput_samples_s`` (from the mean latency),
        ``overhead_time_s``, ``compute_time_s``, ``memory_time_s``, ``transfer_time_s`` [s],
        ``bound`` (``"compute"``/``"memory"``), ``energy_per_inference_j`` [J],
        ``inferences_per_j`` [1/J], ``power_w`` [W], ``memory_needed_bytes`` [B],
        ``fits_in_memory``, ``calibrated``. ``df.attrs["assumptions"]`` lists the modelling
        choices.

    Raises
    ------
    ValueError
        When the device has no peak for ``precision`` (naming both), or for invalid inputs.

    Examples
    --------
    A model of 25 M parameters and 8 GFLOP per sample (no activation figure) in int8 on a
    T4 (130 TOPS, 320 GB/s): batch 1 is bound by reading 25 MB of weights (78 µs > 62 µs
    of compute), larger batches by compute.

    >>> import plaster_model as pm
    >>> m = pm.Model(name="toy", params=25_000_000, fwd_flops="8 GFLOP", source="example")
    >>> df = pm.latency_throughput_curve(m, "T4", precision="int8", batches=[1, 8, 64])
    >>> df[["batch", "bound"]].values.tolist()
    [[1, 'memory'], [8, 'compute'], [64, 'compute']]
    >>> round(float(df.loc[0, "latency_s"]) * 1e6, 3)
    78.125
    """
    import pandas as pd

    batches = aliased("batches", batches, "batch_sizes", kwargs.pop("batch_sizes", None), DEFAULT_BATCHES)
    s = _setup(model, device, precision, calibration, compute_efficiency, memory_efficiency, t0,
               include_transfer, latency_percentile, **kwargs)
    b = _batches(batches)
    cols = _evaluate(s, b)
    df = pd.DataFrame({
        "model": s.model.name, "device": s.device.name, "precision": s.precision, "batch": b,
        "latency_s": cols["latency_s"], "latency_statistic": s.latency_statistic,
        **{k: cols[k] for k in CURVE_COLUMNS[6:-1]}, "calibrated": s.calibrated,
    })[CURVE_COLUMNS]
    df.attrs["assumptions"] = list(s.assumptions)
    from .._feasibility import blank_infeasible  # a batch that does not fit shows no time

    if not allow_oversubscribed and not df["fits_in_memory"].all():
        blank_infeasible(df, df["fits_in_memory"])
        df.attrs["assumptions"].append("batches that do not fit in device memory (fits_in_memory False) show "
                                       "no latency or throughput (allow_oversubscribed=True keeps them)")
    return df


# --------------------------------------------------------------------------- best batch
@dataclass(frozen=True)
class BestBatch(Result):
    """The largest batch whose latency meets a budget, and what it delivers.

    ``batch`` is 0 and ``throughput_samples_s`` 0 when even the smallest candidate misses
    the budget (``message`` says by how much; ``latency_s`` then is the smallest batch's
    latency, for comparison). Throughput counts only inferences delivered within the budget.

    Attributes
    ----------
    batch : int
    latency_s : float
        Latency at ``latency_statistic`` (``"mean"`` or ``"p99"``...) [s].
    throughput_samples_s : float
        ``batch / mean latency`` when the budget is met, else 0 [samples/s].
    meets_budget : bool
    budget_s : float
        [s]
    latency_interval_s : (float, float) or None
        Calibrated 90 % interval of ``latency_s`` [s].
    energy_per_inference_j, inferences_per_j, power_w : float
        [J], [1/J], [W] at the chosen batch (inf / 0 when nothing meets the budget).
    power_source : str
        ``"board power (catalog TDP)"``, ``"measured (calibration)"`` or ``"given"``.
    memory_needed_bytes : float
        Weights + activations at the batch [B].
    limited_by : str
        ``"latency"`` (the next batch would miss the budget), ``"memory"`` (it would not
        fit), ``"candidates"`` (largest batch searched), or ``"none met"``.
    assumptions : tuple of str
    """

    model: str
    device: str
    precision: str
    batch: int
    latency_s: float
    latency_statistic: str
    throughput_samples_s: float
    meets_budget: bool
    budget_s: float
    latency_interval_s: tuple[float, float] | None
    bound: str
    energy_per_inference_j: float
    inferences_per_j: float
    power_w: float
    power_source: str
    memory_needed_bytes: float
    limited_by: str
    calibrated: bool
    message: str
    assumptions: tuple[str, ...] = field(default=())

    def _summary_rows(self):
        return [("model / device / precision", f"{self.model} / {self.device} / {self.precision}"),
                ("budget", f"{format_si(self.budget_s, 's')} at the {self.latency_statistic}"),
                ("best batch", f"{self.batch} (limited by {self.limited_by})"),
                ("latency", format_si(self.latency_s, "s")),
                ("throughput within budget", f"{self.throughput_samples_s:,.1f} samples/s"),
                ("energy", f"{self.energy_per_inference_j * 1e3:.4g} mJ per inference, "
                           f"{self.inferences_per_j:.4g} inferences/J at {self.power_w:g} W"
                 if math.isfinite(self.power_w) else f"not estimated: power {self.power_source}"),
                ("basis", "calibrated" if self.calibrated else "peak-based (uncalibrated)"),
                ("verdict", self.message)]


def best_batch(model, device, latency_budget="7 ms", precision="fp32", batches=None, calibration=None,
               percentile=None, *, max_batch=4096, require_fit=True, **kwargs) -> BestBatch:
    """The largest batch whose latency stays within ``latency_budget``, and its throughput.

    Latency is non-decreasing in the batch, so the batches meeting the budget form a prefix
    and the answer is the last of them. A latency *equal* to the budget meets it. The
    comparison is at the mean latency, or at ``percentile`` when a latency distribution is
    known (a calibration's ``latency_p99_ratio``, or ``percentile_ratio=``). Throughput
    counts only inferences that meet the budget: ``batch / mean latency`` at the chosen
    batch, and 0 when even the smallest batch misses.

    Parameters
    ----------
    model, device : str or catalog object
    latency_budget : float or str
        [s] or a string such as ``"7 ms"`` (Google's service target; PLASTER cites 200 ms
        for speech, 0.1 s for "feels instant").
    precision : str
    batches : sequence of int, optional
        Candidate batches (default: every integer 1 … ``max_batch``); alias ``batch_sizes=``.
    calibration : Calibration, optional
        See :func:`latency_throughput_curve`.
    percentile : float, optional
        Judge the budget at this latency percentile (e.g. 99) instead of the mean.
    max_batch : int
        Largest batch searched when ``batches`` is None.
    require_fit : bool
        Skip batches whose weights + activations exceed device memory (default True); when
        not even the smallest candidate fits, raise :class:`~plaster_model.MemoryFitError`.
    **kwargs
        ``compute_efficiency``, ``memory_efficiency``, ``t0``, ``include_transfer``,
        ``percentile_ratio``, ``power_w``, ``host_link``, ``activation_bytes_per_sample``,
        ``input_bytes_per_sample``, ``output_bytes_per_sample``, ``framework`` (inference
        engine of the calibration, as for :func:`latency_throughput_curve`).

    Returns
    -------
    BestBatch

    Examples
    --------
    >>> import plaster_model as pm
    >>> m = pm.Model(name="toy", params=25_000_000, fwd_flops="7.8 GFLOP", source="example")
    >>> r = pm.best_batch(m, "T4", latency_budget="7 ms", precision="int8",
    ...                   compute_efficiency=0.3, t0="0.5 ms")
    >>> r.batch, r.meets_budget       # 0.5 ms + 0.2 ms × b <= 7 ms
    (32, True)
    """
    budget = float(to_si(latency_budget, "time", name="latency_budget"))
    if not (math.isfinite(budget) and budget > 0):
        raise ParameterError("latency_budget", latency_budget, "a positive finite time, e.g. '7 ms'")
    batches = aliased("batches", batches, "batch_sizes", kwargs.pop("batch_sizes", None))
    s = _setup(model, device, precision, calibration, kwargs.pop("compute_efficiency", None),
               kwargs.pop("memory_efficiency", None), kwargs.pop("t0", None),
               kwargs.pop("include_transfer", False), percentile, **kwargs)
    if batches is None:
        max_batch = int(_batches([max_batch], "max_batch")[0])
        cand = np.arange(1, max_batch + 1)
    else:
        cand = _batches(batches)
    cols = _evaluate(s, cand)
    meets = cols["latency_s"] <= budget * (1.0 + _BUDGET_RTOL)
    fits = cols["fits_in_memory"] if require_fit else np.ones_like(meets)
    ok = meets & fits
    a = list(s.assumptions)
    a.append(f"budget {format_si(budget, 's')} judged at the {s.latency_statistic} latency; "
             f"candidates {'1…' + str(int(cand[-1])) if batches is None else list(map(int, cand))}")
    if ok.any():
        i = int(np.flatnonzero(ok)[-1])
        if i == len(cand) - 1:
            limited = "candidates"
        elif not meets[i + 1]:
            limited = "latency"
        else:
            limited = "memory"
        if limited == "memory":
            a.append(f"batch {int(cand[i + 1])} would meet the budget but does not fit in "
                     f"{format_si(s.device.memory_bytes, 'B')} of device memory")
        thr = float(cols["throughput_samples_s"][i])
        interval = (float(cols["latency_low_s"][i]), float(cols["latency_high_s"][i])) \
            if s.efficiency_interval is not None else None
        msg = (f"batch {int(cand[i])} meets {format_si(budget, 's')} at {format_si(float(cols['latency_s'][i]), 's')} "
               f"({s.latency_statistic}), delivering {thr:,.1f} samples/s")
        return BestBatch(s.model.name, s.device.name, s.precision, int(cand[i]), float(cols["latency_s"][i]),
                         s.latency_statistic, thr, True, budget, interval, str(cols["bound"][i]),
                         float(cols["energy_per_inference_j"][i]), float(cols["inferences_per_j"][i]),
                         s.power_w, s.power_source, float(cols["memory_needed_bytes"][i]), limited, s.calibrated, msg, tuple(a))
    first = float(cols["latency_s"][0])
    if require_fit and not fits[0]:  # not even the smallest candidate fits: refused, whatever its latency
        from ..estimators.memory import memory_fit_message

        need = float(cols["memory_needed_bytes"][0])
        raise MemoryFitError(memory_fit_message(
            f"inference of {s.model.name} at batch {int(cand[0])} ({s.precision}, weights + live activations)",
            need, float(s.device.memory_bytes), s.device.name, "shard the model (pm.predict_serving with tp=/pp=) or lower the precision"),
            need, float(s.device.memory_bytes))
    if not meets[0]:
        msg = (f"no batch meets the budget: even batch {int(cand[0])} takes {format_si(first, 's')} "
               f"({s.latency_statistic}) > {format_si(budget, 's')}, so throughput within the budget is 0")
    else:
        msg = (f"no batch meets the budget and fits: batch {int(cand[0])} needs "
               f"{format_si(float(cols['memory_needed_bytes'][0]), 'B')} > "
               f"{format_si(s.device.memory_bytes, 'B')} of device memory")
    a.append(msg)
    interval = (float(cols["latency_low_s"][0]), float(cols["latency_high_s"][0])) \
        if s.efficiency_interval is not None else None
    return BestBatch(s.model.name, s.device.name, s.precision, 0, first, s.latency_statistic, 0.0, False,
                     budget, interval, str(cols["bound"][0]), math.inf, 0.0, s.power_w, s.power_source,
                     float(cols["memory_needed_bytes"][0]), "none met", s.calibrated, msg, tuple(a))


# --------------------------------------------------------------------------- size
def model_footprint(model, device, precision="fp32", batch=1, link=None) -> dict[str, Any]:
    """Size of a model on a device: bytes, memory fit at a batch, weight transfer time.

    ``weight_bytes = P·s``; ``memory_needed = P·s + b·a_live`` with ``a_live`` the
    activations live at the peak of one inference pass per sample (the largest layer's
    inputs + output from a per-layer table, else
    :data:`INFERENCE_LIVE_ACTIVATION_FRACTION` × the fp32 training figure × ``s/4``;
    weights only when the model has neither); no gradients or optimizer state;
    ``weight_transfer_time = α + P·s/β`` over ``link`` (default the device's ``host_link``).

    Parameters
    ----------
    model, device : str or catalog object
    precision : str
        Sets ``s``, bytes per element.
    batch : int
        Samples resident at once.
    link : str or Interconnect, optional
        Link the weights are loaded over (default the device's host link; None when the
        device has none, then the transfer time is NaN).

    Returns
    -------
    dict
        ``params``, ``bytes_per_element``, ``weight_bytes`` [B], ``activation_bytes`` [B]
        (at ``batch``, NaN when unknown), ``memory_needed_bytes`` [B],
        ``device_memory_bytes`` [B], ``fits_in_memory`` (bool), ``weight_transfer_time_s``
        [s], ``transfer_link``, ``notes`` (list of str).

    Examples
    --------
    >>> import plaster_model as pm
    >>> f = pm.model_footprint("VGG-16", "T4", precision="int8")
    >>> f["weight_bytes"], f["fits_in_memory"]
    (138357544.0, True)
    """
    cat = active_catalog()
    model = cat.get("model", model)
    device = cat.get("device", device)
    prec = normalize_precision(precision)
    b = int(_batches([batch], "batch")[0])
    bpe = BYTES_PER_ELEMENT[prec]
    w = float(model.params * bpe)
    notes = []
    live, how = _live_activation_bytes(model, prec)
    if how:
        act = live * b
        notes.append(f"live activations at inference: {how}, scaled to the precision")
    else:
        act = math.nan
        notes.append(f"{model.name} has no activation figure: memory fit checks weights only")
    need = w + (0.0 if math.isnan(act) else act)
    link_name = link if link is not None else device.host_link
    if link_name is not None:
        lk = cat.get("interconnect", link_name)
        t_xfer, lname = lk.latency_s + w / lk.bandwidth, lk.name
    else:
        t_xfer, lname = math.nan, None
        notes.append(f"device {device.name!r} has no host_link in the catalog: pass link= for a transfer time")
    return {"params": model.params, "bytes_per_element": bpe, "weight_bytes": w, "activation_bytes": act,
            "memory_needed_bytes": need, "device_memory_bytes": device.memory_bytes,
            "fits_in_memory": bool(need <= device.memory_bytes), "weight_transfer_time_s": t_xfer,
            "transfer_link": lname, "notes": notes}
