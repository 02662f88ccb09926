"""Data-parallel training predictions: one iteration, an epoch, and the bandwidth verdict.

The public functions resolve names, validate inputs once, and call
:func:`data_parallel_iteration`, the single vectorized implementation that the sweep
(:func:`plaster_model.sweep`) calls too, so scalar and vectorized paths cannot disagree.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from .catalog.loader import active_catalog
from .catalog.objects import BYTES_PER_ELEMENT, Dataset, Model, normalize_precision
from .cluster import Cluster
from .estimators.collectives import allreduce_time
from .estimators.data_parallel import TRAINING_FLOPS_FACTOR
from .estimators.memory import training_memory_bytes
from .units import format_si, to_si

__all__ = [
    "TrainingPrediction", "EpochPrediction", "BandwidthVerdict", "MemoryWarning",
    "predict_training", "predict_epoch_time", "is_bandwidth_bound", "data_parallel_iteration",
]


class MemoryWarning(UserWarning):
    """A requested batch does not fit in device memory by the memory estimate."""


def data_parallel_iteration(fwd_flops, params, n_devices, batch_per_device, gamma, grad_bytes,
                            beta, alpha=0.0, *, algorithm="tree", overhead_s=0.0,
                            comm_efficiency=1.0, flops_factor=TRAINING_FLOPS_FACTOR, **topology):
    """One data-parallel training iteration, vectorized over every argument.

    ``T_compute = 3·F·b / γ`` (per device: ``c/(p·γ)`` with ``c = 3·F·b·p``),
    ``T_comm = allreduce(w = P·s, p, β·η_comm, α)``,
    ``T_iter = T_compute + T_comm + T_overhead`` (no overlap).

    Parameters
    ----------
    fwd_flops : array_like
        Forward FLOPs per sample ``F`` [FLOP].
    params : array_like
        Parameter count ``P``.
    n_devices : array_like
        Devices ``p``.
    batch_per_device : array_like
        Samples per device per iteration ``b``.
    gamma : array_like
        Sustained device rate (peak × efficiency) [FLOP/s].
    grad_bytes : array_like
        Bytes per gradient element ``s`` [B].
    beta : array_like
        Bottleneck link bandwidth [B/s].
    alpha : array_like
        Link latency [s].
    algorithm : str
        All-reduce algorithm (see :data:`plaster_model.estimators.ALGORITHMS`).
    overhead_s : array_like
        Fixed per-iteration overhead [s] (framework, data loading), 0 uncalibrated.
    comm_efficiency : array_like
        Fraction of ``β`` the collective achieves (1 uncalibrated).

    Returns
    -------
    dict of numpy.ndarray
        ``compute_time_s``, ``communication_time_s``, ``overhead_time_s``,
        ``iteration_time_s`` [s], ``throughput_samples_s`` [samples/s],
        ``comm_to_compute_ratio``, ``communication_bound`` (bool).
    """
    f = np.asarray(fwd_flops, dtype=float)
    p = np.asarray(n_devices, dtype=float)
    b = np.asarray(batch_per_device, dtype=float)
    t_compute = flops_factor * f * b / np.asarray(gamma, dtype=float)
    w = np.asarray(params, dtype=float) * np.asarray(grad_bytes, dtype=float)
    beta_eff = np.asarray(beta, dtype=float) * np.asarray(comm_efficiency, dtype=float)
    t_comm = np.where(p > 1, allreduce_time(algorithm, w, p, beta_eff, alpha, **topology), 0.0)
    t_overhead = np.broadcast_to(np.asarray(overhead_s, dtype=float), np.shape(t_compute))
    t_iter = t_compute + t_comm + t_overhead
    ratio = t_comm / t_compute
    return {
        "compute_time_s": t_compute,
        "communication_time_s": t_comm,
        "overhead_time_s": t_overhead + 0.0,
        "iteration_time_s": t_iter,
        "throughput_samples_s": p * b / t_iter,
        "comm_to_compute_ratio": ratio,
        "communication_bound": t_comm > t_compute,
    }


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class TrainingPrediction:
    """Predicted time of one data-parallel training iteration.

    Times are in seconds, rates in samples per second, bandwidths in bytes per second.
    ``bound`` is ``"communication"`` when the all-reduce takes longer than the compute,
    else ``"compute"``. ``assumptions`` lists every modelling choice made for this number
    (efficiency, algorithm, precision, link, scaling mode). ``*_interval_s`` hold the
    calibrated 90 % interval when a calibration was used, else None.
    """

    model: str
    device: str
    cluster: str
    n_devices: int
    n_nodes: int
    batch_per_device: float
    global_batch: float
    precision: str
    scaling: str
    algorithm: str
    efficiency: float
    peak_flops: float
    sustained_flops: float
    link: str | None
    link_bandwidth: float | None
    gradient_bytes: float
    compute_time_s: float
    communication_time_s: float
    overhead_time_s: float
    iteration_time_s: float
    throughput_samples_s: float
    comm_to_compute_ratio: float
    bound: str
    memory_per_device_bytes: float | None
    calibrated: bool
    iteration_time_interval_s: tuple[float, float] | None
    assumptions: tuple[str, ...] = field(default=())

    def to_frame(self):
        """The prediction as a one-row :class:`pandas.DataFrame` (assumptions joined by '; ')."""
        import pandas as pd

        row = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "assumptions":
                v = "; ".join(v)
            elif isinstance(v, tuple):
                row[f"{f.name}_low"], row[f"{f.name}_high"] = v
                continue
            row[f.name] = v
        return pd.DataFrame([row])

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of every field."""
        return asdict(self)

    def _summary_rows(self) -> list[tuple[str, str]]:
        rows = [
            ("model", self.model),
            ("cluster", self.cluster),
            ("precision / batch per device", f"{self.precision} / {self.batch_per_device:g}"),
            ("iteration time", format_si(self.iteration_time_s, "s")),
            ("  compute", format_si(self.compute_time_s, "s")),
            ("  communication", format_si(self.communication_time_s, "s")),
            ("  overhead", format_si(self.overhead_time_s, "s")),
            ("throughput", f"{self.throughput_samples_s:,.1f} samples/s"),
            ("bound", f"{self.bound} (comm/compute = {self.comm_to_compute_ratio:.3g})"),
        ]
        if self.iteration_time_interval_s:
            lo, hi = self.iteration_time_interval_s
            rows.insert(4, ("  90% interval", f"{format_si(lo, 's')} – {format_si(hi, 's')}"))
        return rows

    def __str__(self) -> str:
        rows = self._summary_rows()
        width = max(len(k) for k, _ in rows)
        lines = [f"{k:<{width}}  {v}" for k, v in rows]
        lines.append("assumptions:")
        lines += [f"  - {a}" for a in self.assumptions]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        body = "".join(f"<tr><th style='text-align:left'>{k}</th><td>{v}</td></tr>"
                       for k, v in self._summary_rows())
        assumptions = "".join(f"<li>{a}</li>" for a in self.assumptions)
        return f"<table>{body}</table><details><summary>assumptions</summary><ul>{assumptions}</ul></details>"


@dataclass(frozen=True)
class EpochPrediction(TrainingPrediction):
    """A :class:`TrainingPrediction` plus the time for ``epochs`` passes over a dataset.

    ``epoch_time_s`` is the time for all ``epochs`` (``time_per_epoch_s`` for one);
    an epoch is ``ceil(dataset_samples / global_batch)`` iterations.
    """

    dataset: str = ""
    dataset_samples: int = 0
    epochs: float = 1
    iterations_per_epoch: int = 0
    time_per_epoch_s: float = 0.0
    epoch_time_s: float = 0.0
    epoch_time_interval_s: tuple[float, float] | None = None

    @property
    def epoch_time_h(self) -> float:
        """``epoch_time_s`` in hours [h]."""
        return self.epoch_time_s / 3600.0

    def _summary_rows(self):
        rows = super()._summary_rows()
        total = [(f"total time ({self.epochs:g} epoch{'s' if self.epochs != 1 else ''})",
                  format_si(self.epoch_time_s, "s")),
                 ("dataset", f"{self.dataset} ({self.dataset_samples:,} samples, "
                             f"{self.iterations_per_epoch:,} iterations/epoch)")]
        if self.epoch_time_interval_s:
            lo, hi = self.epoch_time_interval_s
            total.insert(1, ("  90% interval", f"{format_si(lo, 's')} – {format_si(hi, 's')}"))
        return rows[:3] + total + rows[3:]


@dataclass(frozen=True)
class BandwidthVerdict:
    """Is the interconnect the bottleneck? Truthy when communication exceeds compute.

    Attributes
    ----------
    bandwidth_bound : bool
    comm_to_compute_ratio : float
        ``T_comm / T_compute`` at this cluster size.
    crossover_devices : float
        Device count ``p*`` where ``T_comm = T_compute`` for this cluster design and
        scaling mode (``inf`` if never within 2^40 devices).
    required_bandwidth : float
        Bottleneck-link bandwidth at which ``T_comm = T_compute`` at this size [B/s]
        (``inf`` when latency alone exceeds compute).
    link, link_bandwidth :
        The bottleneck link and its effective bandwidth [B/s].
    """

    bandwidth_bound: bool
    comm_to_compute_ratio: float
    crossover_devices: float
    required_bandwidth: float
    compute_time_s: float
    communication_time_s: float
    n_devices: int
    link: str | None
    link_bandwidth: float | None
    prediction: TrainingPrediction = field(repr=False)

    def __bool__(self) -> bool:
        return bool(self.bandwidth_bound)

    def __str__(self) -> str:
        verdict = "BANDWIDTH-BOUND" if self.bandwidth_bound else "compute-bound"
        link = f"{self.link} ({format_si(self.link_bandwidth, 'B/s')})" if self.link else "no link"
        return (f"{verdict} at {self.n_devices} devices over {link}: comm/compute = "
                f"{self.comm_to_compute_ratio:.3g}; crossover at p* = {self.crossover_devices:.4g} "
                f"devices; compute-bound needs >= {format_si(self.required_bandwidth, 'B/s')}")


# --------------------------------------------------------------------------- resolution
def _resolve_model(model) -> Model:
    return active_catalog().get("model", model)


def _resolve_cluster(cluster) -> Cluster:
    if not isinstance(cluster, Cluster):
        raise TypeError(f"cluster must be a plaster_model.Cluster, got {type(cluster).__name__}; "
                        "e.g. pm.Cluster(device='V100', n_devices=8, devices_per_node=8, intra_node='NVLink 2')")
    return cluster


def _positive(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def _calibration_parameters(calibration, model: Model, cluster: Cluster, precision: str):
    """Ask a calibration for (efficiency, (low, high), overhead_s, comm_efficiency, notes)."""
    params = calibration.parameters_for(device=cluster.device.name, precision=precision,
                                        model=model.name, phase="training",
                                        n_devices=cluster.n_devices)
    return params


@dataclass(frozen=True)
class _Setup:
    model: Model
    cluster: Cluster
    precision: str
    gamma_peak: float
    peak_key: str
    grad_bytes: float
    efficiency: float
    efficiency_interval: tuple[float, float] | None
    overhead_s: float
    comm_efficiency: float
    beta: float
    alpha: float
    topology: dict
    assumptions: list


def _setup(model, cluster, precision, algorithm, calibration, efficiency, comm_efficiency,
           overhead_s, gradient_precision) -> _Setup:
    model = _resolve_model(model)
    cluster = _resolve_cluster(cluster)
    precision = normalize_precision(precision)
    device = cluster.device
    key = device.peak_key(precision)
    grad_prec = normalize_precision(gradient_precision) if gradient_precision else precision
    assumptions = [f"precision {precision}: device peak '{key}' = {format_si(device.peak_flops[key], 'FLOP/s')}",
                   f"work per sample = {TRAINING_FLOPS_FACTOR:g} × forward FLOPs "
                   f"({format_si(model.fwd_flops, 'FLOP')}, FLOPs = 2 × MACs)",
                   f"gradients exchanged in {grad_prec} ({BYTES_PER_ELEMENT[grad_prec]} B per parameter)"]
    eff_interval = None
    cal_overhead = cal_comm = None
    if calibration is not None:
        cp = _calibration_parameters(calibration, model, cluster, precision)
        cal_eff = cp["efficiency"]
        eff_interval = cp.get("efficiency_interval")
        cal_overhead = cp.get("overhead_s", 0.0)
        cal_comm = cp.get("comm_efficiency", 1.0)
        assumptions += [f"calibrated: {n}" for n in cp.get("notes", [])]
        if efficiency is None:
            efficiency = cal_eff
    if efficiency is None:
        efficiency = 1.0
        assumptions.append("efficiency 1.0 (peak; uncalibrated — pass calibration= or efficiency=)")
    else:
        efficiency = _positive(efficiency, "efficiency")
        assumptions.append(f"compute efficiency {efficiency:.3g} of peak")
    if overhead_s is None:
        overhead_s = cal_overhead if cal_overhead is not None else 0.0
    overhead_s = float(to_si(overhead_s, "time", name="overhead_s"))
    if overhead_s < 0:
        raise ValueError(f"overhead_s must be >= 0, got {overhead_s!r}")
    if overhead_s:
        assumptions.append(f"per-iteration overhead {format_si(overhead_s, 's')}")
    if comm_efficiency is None:
        comm_efficiency = cal_comm if cal_comm is not None else 1.0
    comm_efficiency = _positive(comm_efficiency, "comm_efficiency")
    link = cluster.bottleneck_link
    beta = link.bandwidth if link else 1.0
    alpha = link.latency_s if link else 0.0
    topology = {}
    if link is not None:
        assumptions.append(
            f"{algorithm} all-reduce over {link.name} at {format_si(beta, 'B/s')} per direction "
            f"(effective data rate) × {comm_efficiency:.3g}, latency {format_si(alpha, 's')}; no overlap with compute")
        if cluster.n_nodes > 1 and cluster.devices_per_node > 1:
            topology.update(devices_per_node=cluster.devices_per_node, nics_per_node=cluster.nics_per_node,
                            beta_intra=cluster.intra_node.bandwidth, alpha_intra=cluster.intra_node.latency_s)
    else:
        assumptions.append("single device: no gradient exchange")
    return _Setup(model, cluster, precision, device.peak_flops[key], key,
                  float(BYTES_PER_ELEMENT[grad_prec]), float(efficiency), eff_interval, overhead_s,
                  comm_efficiency, beta, alpha, topology, assumptions)


def _memory_check(s: _Setup, batch_per_device: float, optimizer: str):
    m = s.model
    mixed = s.precision == "mixed"
    bpe = BYTES_PER_ELEMENT[s.precision]
    acts = m.activation_bytes_per_sample or 0.0
    need = training_memory_bytes(m.params, batch_per_device, acts, bpe, optimizer, mixed_precision=mixed)
    if m.activation_bytes_per_sample is None:
        s.assumptions.append("memory estimate excludes activations (no activation figure for this model)")
    if need > s.cluster.device.memory_bytes:
        warnings.warn(
            f"batch_per_device={batch_per_device:g}: the memory estimate {format_si(need, 'B')} "
            f"(weights, gradients, {optimizer} state, activations) exceeds {s.cluster.device.name}'s "
            f"{format_si(s.cluster.device.memory_bytes, 'B')}", MemoryWarning, stacklevel=3)
    return float(need)


# --------------------------------------------------------------------------- public API
def predict_training(model, cluster, batch_per_device=None, precision="fp32", scaling="weak",
                     algorithm="tree", calibration=None, *, global_batch=None, efficiency=None,
                     comm_efficiency=None, overhead_s=None, gradient_precision=None,
                     optimizer="momentum", check_memory=True) -> TrainingPrediction:
    """Predict one data-parallel training iteration on a cluster.

    ``T_iter = 3·F·b/(η·γ_peak) + T_allreduce(w, p, β, α) + T_overhead`` with
    ``w = P·s`` gradient bytes; throughput ``= p·b / T_iter`` [samples/s].

    Parameters
    ----------
    model : str or Model
        Zoo name (``"ResNet-50"``) or a :class:`~plaster_model.Model`.
    cluster : Cluster
        The cluster.
    batch_per_device : float
        Samples per device per iteration ``b``. For strong scaling give ``global_batch``
        instead (or as well: then ``b = global_batch / p``).
    precision : {"fp32", "fp16", "mixed", "bf16", "tf32", "fp64", "int8", "fp8"}
        Picks the device peak (tensor cores for fp16/mixed/bf16 where present) and the
        gradient element size.
    scaling : {"weak", "strong"}
        Weak keeps ``b`` fixed as ``p`` grows, strong keeps the global batch fixed. For one
        configuration both give the same time; the mode matters for the crossover count
        and scaling curves and is recorded in the assumptions.
    algorithm : str
        All-reduce algorithm (default the seed's ``"tree"``: ``2·w·log2(p)/β``).
    calibration : Calibration, optional
        Fitted calibration (:func:`plaster_model.calibrate`): efficiency, overhead,
        communication efficiency and a 90 % interval.
    global_batch : float, optional
        Global batch ``B = p·b`` (strong scaling).
    efficiency : float, optional
        Fraction of peak sustained ``η`` (default 1.0 without calibration, stated).
    comm_efficiency : float, optional
        Fraction of link bandwidth achieved (default 1.0).
    overhead_s : float or str, optional
        Fixed per-iteration overhead [s] (default 0).
    gradient_precision : str, optional
        Precision of the all-reduce (default: the training precision; ``"fp32"`` to
        model an fp32 all-reduce under mixed precision).
    optimizer : {"sgd", "momentum", "adam"}
        For the memory check.
    check_memory : bool
        Warn (:class:`MemoryWarning`) when the batch does not fit in device memory.

    Returns
    -------
    TrainingPrediction

    References
    ----------
    HPE Deep Learning Cookbook slides (2017); Qi et al., "Paleo", ICLR 2017.

    Examples
    --------
    >>> import plaster_model as pm
    >>> c = pm.Cluster("V100", 8, devices_per_node=8, intra_node="NVLink 2")
    >>> pred = pm.predict_training("ResNet-50", c, batch_per_device=64)
    >>> pred.bound
    'compute'
    """
    if scaling not in ("weak", "strong"):
        raise ValueError(f"scaling must be 'weak' or 'strong', got {scaling!r}")
    s = _setup(model, cluster, precision, algorithm, calibration, efficiency, comm_efficiency,
               overhead_s, gradient_precision)
    p = s.cluster.n_devices
    if global_batch is not None:
        global_batch = _positive(global_batch, "global_batch")
        b = global_batch / p
        if batch_per_device is not None and not math.isclose(batch_per_device, b):
            raise ValueError(f"batch_per_device={batch_per_device!r} contradicts global_batch={global_batch!r} "
                             f"on {p} devices (= {b:g} per device); give one of them")
    elif batch_per_device is None:
        raise ValueError("batch_per_device: give the per-device batch (or global_batch for strong scaling)")
    else:
        b = _positive(batch_per_device, "batch_per_device")
    s.assumptions.append(f"{scaling} scaling: batch {b:g} per device, global batch {b * p:g}")
    mem = _memory_check(s, b, optimizer) if check_memory else None
    gamma = s.gamma_peak * s.efficiency
    out = data_parallel_iteration(s.model.fwd_flops, s.model.params, p, b, gamma, s.grad_bytes,
                                  s.beta, s.alpha, algorithm=algorithm, overhead_s=s.overhead_s,
                                  comm_efficiency=s.comm_efficiency, **s.topology)
    interval = None
    if s.efficiency_interval is not None:
        lo_eff, hi_eff = s.efficiency_interval
        ts = [float(data_parallel_iteration(s.model.fwd_flops, s.model.params, p, b, s.gamma_peak * e,
                                            s.grad_bytes, s.beta, s.alpha, algorithm=algorithm,
                                            overhead_s=s.overhead_s, comm_efficiency=s.comm_efficiency,
                                            **s.topology)["iteration_time_s"]) for e in (hi_eff, lo_eff)]
        interval = (min(ts), max(ts))
    link = s.cluster.bottleneck_link
    return TrainingPrediction(
        model=s.model.name, device=s.cluster.device.name, cluster=s.cluster.name,
        n_devices=p, n_nodes=s.cluster.n_nodes, batch_per_device=b, global_batch=b * p,
        precision=s.precision, scaling=scaling, algorithm=algorithm, efficiency=s.efficiency,
        peak_flops=s.gamma_peak, sustained_flops=gamma,
        link=link.name if link else None, link_bandwidth=link.bandwidth if link else None,
        gradient_bytes=s.model.params * s.grad_bytes,
        compute_time_s=float(out["compute_time_s"]),
        communication_time_s=float(out["communication_time_s"]),
        overhead_time_s=float(out["overhead_time_s"]),
        iteration_time_s=float(out["iteration_time_s"]),
        throughput_samples_s=float(out["throughput_samples_s"]),
        comm_to_compute_ratio=float(out["comm_to_compute_ratio"]),
        bound="communication" if bool(out["communication_bound"]) else "compute",
        memory_per_device_bytes=mem, calibrated=calibration is not None,
        iteration_time_interval_s=interval, assumptions=tuple(s.assumptions),
    )


def _resolve_dataset(dataset) -> tuple[str, int]:
    if isinstance(dataset, Dataset):
        return dataset.name, dataset.train_samples
    if isinstance(dataset, str):
        d = active_catalog().get("dataset", dataset)
        return d.name, d.train_samples
    if isinstance(dataset, (int, float, np.integer, np.floating)) and not isinstance(dataset, bool):
        if dataset < 1 or dataset != int(dataset):
            raise ValueError(f"dataset must be a positive whole number of samples, got {dataset!r}")
        return f"{int(dataset):,} samples", int(dataset)
    raise TypeError(f"dataset must be a catalog name, a Dataset or a number of samples, got {dataset!r}")


def predict_epoch_time(model, cluster, dataset="ImageNet-1k", epochs=1, batch_per_device=None,
                       precision="fp32", scaling="weak", algorithm="tree", calibration=None,
                       **kwargs) -> EpochPrediction:
    """Predict the time to train ``epochs`` passes over ``dataset``.

    ``T = epochs · ceil(N / B) · T_iter`` with ``N`` samples and global batch ``B = p·b``.

    Parameters
    ----------
    model : str or Model
    cluster : Cluster
    dataset : str or int or Dataset
        Catalog dataset (``"ImageNet-1k"``: 1,281,167 images) or a number of samples.
    epochs : float
        Passes over the dataset (``epoch_time_s`` covers all of them).
    batch_per_device, precision, scaling, algorithm, calibration, **kwargs
        As for :func:`predict_training`.

    Returns
    -------
    EpochPrediction
        ``epoch_time_s`` [s] for all epochs, ``time_per_epoch_s`` [s] for one.

    Examples
    --------
    >>> import plaster_model as pm
    >>> c = pm.Cluster("V100", 64, devices_per_node=8, intra_node="NVLink 2",
    ...                interconnect="InfiniBand EDR")
    >>> pred = pm.predict_epoch_time("ResNet-50", c, dataset="ImageNet-1k", batch_per_device=64)
    >>> pred.iterations_per_epoch   # ceil(1,281,167 / 4096)
    313
    """
    name, n = _resolve_dataset(dataset)
    epochs = _positive(epochs, "epochs")
    base = predict_training(model, cluster, batch_per_device, precision, scaling, algorithm,
                            calibration, **kwargs)
    iters = math.ceil(n / base.global_batch)
    per_epoch = iters * base.iteration_time_s
    interval = None
    if base.iteration_time_interval_s:
        interval = tuple(epochs * iters * t for t in base.iteration_time_interval_s)
    values = {f.name: getattr(base, f.name) for f in fields(base)}
    values["assumptions"] = base.assumptions + (
        f"{name}: {n:,} samples, {iters:,} iterations of {base.global_batch:g} per epoch (last one full-length)",)
    return EpochPrediction(**values, dataset=name, dataset_samples=n, epochs=epochs,
                           iterations_per_epoch=iters, time_per_epoch_s=per_epoch,
                           epoch_time_s=epochs * per_epoch, epoch_time_interval_s=interval)


def _comm_minus_compute(s: _Setup, p, b_or_global, scaling, algorithm):
    """``T_comm − T_compute`` for a cluster design of ``p`` devices (vectorized over p)."""
    p = np.asarray(p, dtype=float)
    b = b_or_global if scaling == "weak" else b_or_global / p
    c = s.cluster
    multi_node = p > c.devices_per_node
    inter = c.interconnect or c.intra_node
    intra = c.intra_node or c.interconnect
    if inter is None:  # single-device cluster: no link to scale onto
        return np.full_like(p, -np.inf)
    beta = np.where(multi_node, inter.bandwidth, intra.bandwidth)
    alpha = np.where(multi_node, inter.latency_s, intra.latency_s)
    topo = dict(s.topology)
    if topo:
        topo["devices_per_node"] = np.minimum(c.devices_per_node, p)
    out = data_parallel_iteration(s.model.fwd_flops, s.model.params, p, b, s.gamma_peak * s.efficiency,
                                  s.grad_bytes, beta, alpha, algorithm=algorithm,
                                  comm_efficiency=s.comm_efficiency, **topo)
    return out["communication_time_s"] - out["compute_time_s"]


def _crossover(s: _Setup, b_or_global, scaling, algorithm, p_max=2.0**40):
    """Smallest real p > 1 with T_comm(p) >= T_compute(p), by bisection on log2 p."""
    lo, hi = 0.0, math.log2(p_max)
    if _comm_minus_compute(s, 2.0**hi, b_or_global, scaling, algorithm) < 0:
        return math.inf
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if _comm_minus_compute(s, 2.0**mid, b_or_global, scaling, algorithm) >= 0:
            hi = mid
        else:
            lo = mid
        if hi - lo < 1e-13:
            break
    return 2.0**hi


def is_bandwidth_bound(model, cluster, batch_per_device=None, precision="fp32", scaling="weak",
                       algorithm="tree", calibration=None, **kwargs) -> BandwidthVerdict:
    """Is the interconnect the bottleneck, and from how many devices on?

    Truthy when ``T_comm > T_compute`` at the cluster's size. ``crossover_devices`` is the
    ``p*`` where ``T_comm(p*) = T_compute(p*)`` for the same design (the network's link
    beyond one node); for the seed tree with α = 0 and weak scaling
    ``p* = 2^(3·F·b·β/(2·w·γ))``. ``required_bandwidth`` is the bottleneck-link bandwidth
    at which the two are equal at this size.

    Parameters
    ----------
    model, cluster, batch_per_device, precision, scaling, algorithm, calibration, **kwargs
        As for :func:`predict_training`.

    Returns
    -------
    BandwidthVerdict

    Examples
    --------
    >>> import plaster_model as pm
    >>> c = pm.Cluster("K40", 16, interconnect="InfiniBand FDR")
    >>> v = pm.is_bandwidth_bound("VGG-16", c, batch_per_device=16)
    >>> bool(v), v.crossover_devices > 1
    (True, True)
    """
    kwargs.setdefault("check_memory", False)
    pred = predict_training(model, cluster, batch_per_device, precision, scaling, algorithm,
                            calibration, **kwargs)
    s = _setup(model, cluster, precision, algorithm, calibration, kwargs.get("efficiency"),
               kwargs.get("comm_efficiency"), kwargs.get("overhead_s"), kwargs.get("gradient_precision"))
    ref_batch = pred.batch_per_device if scaling == "weak" else pred.global_batch
    p_star = _crossover(s, ref_batch, scaling, algorithm)
    link = s.cluster.bottleneck_link
    if link is None:
        req = 0.0
    else:
        # Every α-β collective is T = A/β + L: two evaluations give A and L exactly.
        def comm_at(beta):
            return float(data_parallel_iteration(
                s.model.fwd_flops, s.model.params, pred.n_devices, pred.batch_per_device, pred.sustained_flops,
                s.grad_bytes, beta, s.alpha, algorithm=algorithm, comm_efficiency=s.comm_efficiency,
                **s.topology)["communication_time_s"])
        t1, t2 = comm_at(link.bandwidth), comm_at(2 * link.bandwidth)
        a_over_beta = 2.0 * (t1 - t2)
        latency = t1 - a_over_beta
        slack = pred.compute_time_s - latency
        req = a_over_beta * link.bandwidth / slack if slack > 0 else math.inf
    return BandwidthVerdict(
        bandwidth_bound=pred.bound == "communication", comm_to_compute_ratio=pred.comm_to_compute_ratio,
        crossover_devices=p_star, required_bandwidth=req, compute_time_s=pred.compute_time_s,
        communication_time_s=pred.communication_time_s, n_devices=pred.n_devices,
        link=pred.link, link_bandwidth=pred.link_bandwidth, prediction=pred)
