"""Scaling curves as data: one tidy row per device count, computed in one vectorized call.

:func:`scaling_curve` takes a cluster *template* (device, devices per node, intra-node link,
network, NICs per node) and a list of device counts. Nodes fill up first:
``nodes = ⌈N / devices_per_node⌉``; a collective inside one node uses the intra-node link,
one across nodes the network. Every count is evaluated by the same
:func:`~plaster_model.training.data_parallel_iteration` that
:func:`~plaster_model.predict_training` calls, with arrays over the device counts, so a row
equals ``predict_training(model, cluster.with_devices(N), ...)``.

Speedup and efficiency are relative to one device of the same design::

    speedup    = throughput(N) / throughput(1)
    efficiency = speedup / N        (weak: t1/tN;  strong: t1/(N·tN))

since weak scaling keeps the per-device batch (throughput ``N·b/tN``) and strong scaling
the global batch (throughput ``B/tN``).
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from .cluster import Cluster
from .errors import ParameterError
from .resolution import cluster_links, link_class
from ._feasibility import mark_memory_fit, training_fits
from .training import (DEFAULT_BUCKET_BYTES, _crossover, _design_topology, _iteration, _positive,
                       _resolve_cluster, _setup)

__all__ = ["scaling_curve", "SCALING_COLUMNS"]

#: Columns of :func:`scaling_curve`, in order.
SCALING_COLUMNS = (
    "model", "device", "precision", "scaling", "algorithm", "interconnect", "intra_node", "link",
    "devices", "nodes", "batch_per_device", "global_batch", "iteration_time_s", "compute_time_s",
    "communication_time_s", "exposed_communication_time_s", "overhead_time_s",
    "throughput_samples_s", "speedup", "efficiency", "bound", "crossover_devices",
    "iteration_time_low_s", "iteration_time_high_s", "throughput_low_samples_s", "throughput_high_samples_s",
    "fits_memory",
)


def _default_devices(cluster: Cluster) -> list[int]:
    top = max(cluster.n_devices, 1)
    out = [1 << i for i in range(int(math.log2(top)) + 1)]
    if out[-1] != top:
        out.append(top)
    return out


def _as_list(value):
    if value is None or isinstance(value, (str, bytes)) or not np.iterable(value):
        return [value]
    return list(value)


def scaling_curve(model, cluster, devices=None, batch_per_device=None, precision="fp32", scaling="weak",
                  algorithm="auto", calibration=None, *, global_batch=None, interconnect=None,
                  efficiency=None, comm_efficiency=None, overhead_s=None, gradient_precision=None,
                  overlap=None, bucket_bytes=DEFAULT_BUCKET_BYTES, servers=None, inter_algorithm=None,
                  optimizer="momentum", check_memory=True, backend=None, framework=None,
                  allow_oversubscribed=False, plan=None, seq_len=None):
    """Predicted data-parallel scaling over device counts, as a tidy DataFrame.

    For each device count ``N`` the template ``cluster`` is resized (nodes of its
    ``devices_per_node`` fill up first), and the iteration is
    ``T(N) = 3·F·b/γ + T_allreduce(P·s, N, β(N), α(N)) + T_overhead`` (with the overlap
    model of :func:`~plaster_model.training.data_parallel_iteration` when ``overlap > 0``),
    ``β(N)`` being the intra-node link while ``N`` fits one node and the network beyond.
    All counts are computed in one vectorized call per (algorithm, interconnect).

    Parameters
    ----------
    model : str or Model
        Zoo name or :class:`~plaster_model.Model`.
    cluster : Cluster
        Template: device, ``devices_per_node``, ``intra_node``, ``interconnect``,
        ``nics_per_node`` (its ``n_devices`` sets the default ``devices``).
    devices : list of int, optional
        Device counts (default ``1, 2, 4, …`` up to the template's ``n_devices``).
    batch_per_device : float, optional
        Per-device batch ``b`` (weak scaling).
    precision : str
        Training precision (device peak and gradient bytes).
    scaling : {"weak", "strong"}
        Weak keeps ``b`` fixed; strong keeps ``global_batch`` fixed (``b = B/N``).
    algorithm : str or list of str
        All-reduce algorithm(s); a list stacks the curves (column ``algorithm``).
    calibration : Calibration, optional
        As for :func:`~plaster_model.predict_training`: its communication efficiency is looked up
        for each device count's own link class.
    global_batch : float, optional
        Global batch ``B`` (strong scaling).
    interconnect : str, Interconnect or list, optional
        Network(s) replacing the template's; a list stacks the curves (column
        ``interconnect``).
    efficiency, comm_efficiency, overhead_s, gradient_precision, overlap, bucket_bytes : optional
        As for :func:`~plaster_model.predict_training`.
    servers, inter_algorithm, optimizer, backend, framework : optional
        As for :func:`~plaster_model.predict_training`.
    check_memory : bool or {"warn", "error"}
        Check memory at every count: a row that does not fit has ``fits_memory`` False and
        NaN times, throughputs, speedup and efficiency (``False``: no check, every row
        ``fits_memory`` True; ``"warn"``: numbers kept, a warning).
    allow_oversubscribed : bool
        Keep the numbers of rows that do not fit (``fits_memory`` still False), with a warning.
    plan, seq_len : optional
        A :class:`~plaster_model.ParallelPlan` (and tokens per sequence): for a transformer or a
        plan beyond pure data parallelism, the curve of
        :func:`~plaster_model.parallel.data.scaling_curve_with_plan` (``dp`` grows with the count).

    Returns
    -------
    pandas.DataFrame
        One row per (algorithm, interconnect, device count) with the columns of
        :data:`SCALING_COLUMNS`: ``devices``, ``nodes``, the times [s] (``compute_time_s``,
        ``communication_time_s`` the whole all-reduce, ``exposed_communication_time_s``,
        ``overhead_time_s``, ``iteration_time_s``), ``throughput_samples_s``, ``speedup``,
        ``efficiency``, ``bound`` (``"compute"``/``"communication"``), ``link`` (the link the
        collective is bound by at that size), and ``crossover_devices`` (the same on every
        row of a curve: the ``p*`` of :func:`~plaster_model.is_bandwidth_bound` for the
        template). With a calibration, ``iteration_time_low_s``/``_high_s`` and
        ``throughput_low_samples_s``/``_high_samples_s`` hold the 90 % interval (NaN
        uncalibrated). ``DataFrame.attrs["assumptions"]`` lists the modelling choices.

    Examples
    --------
    >>> import plaster_model as pm
    >>> c = pm.Cluster.from_system("DGX-1 (V100)", n_nodes=8)
    >>> df = pm.scaling_curve("ResNet-50", c, devices=[1, 8, 64], batch_per_device=64,
    ...                       algorithm=["ring", "hierarchical"])
    >>> df[["algorithm", "devices", "nodes"]].values.tolist()
    [['ring', 1, 1], ['ring', 8, 1], ['ring', 64, 8], ['hierarchical', 1, 1], ['hierarchical', 8, 1], ['hierarchical', 64, 8]]
    >>> bool((df["efficiency"] <= 1 + 1e-12).all())
    True
    """
    import pandas as pd

    if plan is not None:  # parallel plans: plaster_model/parallel (None: today's data parallelism)
        from .parallel.data import routes_to_llm, scaling_curve_with_plan
        if routes_to_llm(model, plan):
            return scaling_curve_with_plan(model, cluster, plan, devices, precision, calibration, seq_len,
                                           global_batch, batch_per_device)
    template = _resolve_cluster(cluster)
    if scaling not in ("weak", "strong"):
        raise ParameterError("scaling", scaling, message=f"scaling must be 'weak' or 'strong', got {scaling!r}")
    devs = _default_devices(template) if devices is None else list(devices)
    if not devs:
        raise ParameterError("devices", devices, message="devices: give at least one device count")
    for d in devs:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer, float)) or d != int(d) or d < 1:
            raise ParameterError("devices", d, message=f"devices must be positive integers, got {d!r}")
    devs = [int(d) for d in devs]
    if scaling == "weak":
        if global_batch is not None:
            raise ParameterError("global_batch", global_batch,
                                 message="global_batch is for scaling='strong'; weak scaling takes batch_per_device")
        if batch_per_device is None:
            raise ParameterError("batch_per_device", None, "the per-device batch for weak scaling")
        b_fixed = _positive(batch_per_device, "batch_per_device")
    else:
        if batch_per_device is not None:
            raise ParameterError("batch_per_device", batch_per_device,
                                 message="batch_per_device is for scaling='weak'; strong scaling takes global_batch")
        if global_batch is None:
            raise ParameterError("global_batch", None, message="global_batch: give the global batch for strong scaling")
        b_fixed = _positive(global_batch, "global_batch")

    frames = []
    assumptions = []
    for alg in _as_list(algorithm):
        for net in _as_list(interconnect):
            tmpl = template if net is None else replace(template, interconnect=net, name="")
            s0 = _setup(model, tmpl, precision, alg, calibration, efficiency, comm_efficiency, overhead_s,
                        gradient_precision, servers=servers, inter_algorithm=inter_algorithm, overlap=overlap,
                        bucket_bytes=bucket_bytes, backend=backend, framework=framework)
            # a Calibration keys η_comm by link class: each count's own link, unless given
            per_count = calibration if comm_efficiency is None else None
            frame, notes = _one_curve(s0, devs, b_fixed, scaling, optimizer, check_memory, per_count)
            if check_memory:  # infeasible rows: fits_memory False and no time (see _feasibility)
                fits, _, how = training_fits(s0.model, s0.cluster.device, s0.precision, frame["batch_per_device"],
                                             optimizer)
                mark_memory_fit(frame, fits, allow_oversubscribed or check_memory == "warn", "device counts")
                notes.append(f"memory fit checked per row ({how}); rows that do not fit show no time")
            else:
                frame["fits_memory"] = True
            frames.append(frame)
            assumptions += [a for a in notes if a not in assumptions]
    df = pd.concat(frames, ignore_index=True)[list(SCALING_COLUMNS)]
    df.attrs["assumptions"] = assumptions
    return df


def _one_curve(s0, devs, b_fixed, scaling, optimizer, check_memory, calibration=None):
    """One curve: the template's setup (resolved once) evaluated over every device count,
    with the links of each count from the resolution layer, and with ``calibration`` the
    communication efficiency of each count's link class (what :func:`predict_training`
    asks for that cluster)."""
    import pandas as pd

    counts = sorted(set(devs) | {1})
    p = np.array(counts, dtype=float)
    b = np.full_like(p, b_fixed) if scaling == "weak" else b_fixed / p
    c = s0.cluster
    if c.interconnect is None and p.max() > c.devices_per_node:
        raise ParameterError("interconnect", None,
                             message=f"interconnect: {int(p.max())} devices need {int(np.ceil(p.max() / c.devices_per_node))} "
                                     f"nodes of {c.devices_per_node}, and the cluster has no inter-node interconnect; "
                                     "pass interconnect=... (see plaster_model.list_interconnects())")
    links = cluster_links(c, p)
    topo = _design_topology(s0, links)

    comm = {}
    if calibration is not None and hasattr(calibration, "comm_efficiency_for"):
        comm["comm_efficiency"] = np.array([
            calibration.comm_efficiency_for(s0.backend, link_class(link), int(n))[0] if n > 1 else 1.0
            for link, n in zip(links["link"], counts)])

    def run(efficiency):
        return _iteration(s0, p, b, s0.gamma_peak * efficiency, links["beta"], links["alpha"], topo, **comm)

    out = run(s0.efficiency)
    thr = out["throughput_samples_s"]
    speedup = thr / thr[0]
    lo = hi = np.full_like(p, np.nan)
    if s0.efficiency_interval is not None:
        t_a, t_b = (run(e)["iteration_time_s"] for e in s0.efficiency_interval)
        lo, hi = np.minimum(t_a, t_b), np.maximum(t_a, t_b)
    p_star = _crossover(s0, b_fixed, scaling, s0.algorithm)
    nodes = np.ceil(p / c.devices_per_node - 1e-12)
    frame = pd.DataFrame({
        "model": s0.model.name, "device": c.device.name, "precision": s0.precision, "scaling": scaling,
        "algorithm": s0.algorithm,
        "interconnect": c.interconnect.name if c.interconnect is not None else None,
        "intra_node": c.intra_node.name if c.intra_node is not None else None,
        "link": pd.Series([link.name if link is not None else None for link in links["link"]], dtype=object),
        "devices": np.array(counts, dtype=int), "nodes": nodes.astype(int),
        "batch_per_device": b, "global_batch": b * p,
        "iteration_time_s": out["iteration_time_s"], "compute_time_s": out["compute_time_s"],
        "communication_time_s": out["communication_time_s"],
        "exposed_communication_time_s": out["exposed_communication_time_s"],
        "overhead_time_s": out["overhead_time_s"], "throughput_samples_s": thr,
        "speedup": speedup, "efficiency": speedup / p,
        "bound": np.where(out["communication_bound"], "communication", "compute"),
        "crossover_devices": p_star,
        "iteration_time_low_s": lo, "iteration_time_high_s": hi,
        "throughput_low_samples_s": p * b / hi, "throughput_high_samples_s": p * b / lo,
    })
    keep = frame["devices"].isin(devs)
    order = {d: i for i, d in enumerate(dict.fromkeys(devs))}
    frame = frame[keep].sort_values("devices", key=lambda s: s.map(order)).reset_index(drop=True)
    notes = [a for a in s0.assumptions if "weak scaling" not in a and "strong scaling" not in a]
    notes.append(f"{scaling} scaling: " + (f"batch {b_fixed:g} per device" if scaling == "weak"
                                           else f"global batch {b_fixed:g} split over the devices"))
    notes.append(f"nodes of {c.devices_per_node} device(s) fill up first; "
                 "speedup and efficiency relative to one device of the same design")
    return frame, notes
