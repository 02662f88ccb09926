"""Vectorized what-if sweeps over cluster designs, and Pareto fronts of the results.

:func:`sweep` evaluates the full cross product of models × devices × device counts ×
interconnects × batch sizes × precisions × all-reduce algorithms (and, optionally, node
sizes and intra-node links) with numpy broadcasting. Every catalog name is resolved once
into a small array; the grid is never materialised as Python objects. Each chunk of the grid
is handed, as broadcast arrays, to :func:`plaster_model.training.data_parallel_iteration`,
the same function :func:`plaster_model.predict_training` calls, so a sweep row and the scalar
prediction for the same configuration are the same floating-point computation. The function
writes its outputs straight into views of the preallocated output columns (``out=``): each
column is written once, from intermediates at the broadcast-small shapes of the inputs.

:func:`pareto` keeps the non-dominated rows of a result for cost / time trade-offs.
"""
from __future__ import annotations

import math
import numbers
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from .errors import ParameterError, ParameterTypeError

__all__ = ["sweep", "sweep_chunks", "sweep_size", "SWEEP_COLUMNS", "INTERVAL_COLUMNS", "MEMORY_COLUMNS"]

#: Columns of a :func:`sweep` result, in order. Times are in seconds [s], rates in
#: samples per second; categorical columns hold catalog names.
SWEEP_COLUMNS = (
    "model", "device", "n_devices", "nodes", "devices_per_node", "intra_node", "interconnect",
    "link", "batch_per_device", "global_batch", "precision", "algorithm",
    "compute_time_s", "communication_time_s", "exposed_communication_time_s", "overhead_time_s",
    "iteration_time_s", "throughput_samples_s", "comm_to_compute_ratio", "bound",
)
#: Columns appended after :data:`SWEEP_COLUMNS` (and the intervals) when memory is checked.
MEMORY_COLUMNS = ("fits_memory",)
#: Extra columns present when a calibration supplies an efficiency interval.
INTERVAL_COLUMNS = ("iteration_time_low_s", "iteration_time_high_s")

# Grid axes, in row order (C order, the last one fastest); the algorithm loop is outermost.
_W, _J, _I, _K, _N, _B = range(6)  # workload (model, device, precision), intra, inter, dpn, n, batch
_NDIM = 6
_FLOAT_OUT = ("compute_time_s", "communication_time_s", "exposed_communication_time_s", "overhead_time_s",
              "iteration_time_s", "throughput_samples_s", "comm_to_compute_ratio")
_BOUND_CATEGORIES = ("compute", "communication")
# Rough rate used to decide, before the first chunk is timed, whether a bar is worth it.
_ASSUMED_ROWS_PER_S = 2e7


# --------------------------------------------------------------------------- helpers
def _as_list(value, name: str) -> list:
    """A scalar (or a catalog object, or None) as a one-element list; a list-like as a list."""
    if isinstance(value, Mapping):
        raise ParameterTypeError(name, None, message=f"{name}: expected a value or a list of values, got a mapping")
    if isinstance(value, np.ndarray):
        out = list(value.ravel())
    elif value is None or isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        return [value]
    else:
        out = list(value)
    if not out:
        raise ParameterError(name, None, message=f"{name}: give at least one value")
    return out


def _counts(values, name: str) -> np.ndarray:
    out = []
    for v in _as_list(values, name):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real) or not math.isfinite(v) \
                or v != int(v) or v < 1:
            raise ParameterError(name, v, message=f"{name} must be positive integers, got {v!r}")
        out.append(int(v))
    return np.array(list(dict.fromkeys(out)), dtype=np.int64)


def _positives(values, name: str) -> np.ndarray:
    out = []
    for v in _as_list(values, name):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real) or not math.isfinite(v) or v <= 0:
            raise ParameterError(name, v, "finite positive numbers")
        out.append(float(v))
    return np.array(list(dict.fromkeys(out)), dtype=float)


def _positive(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise ParameterError(name, value, "a finite positive number")
    return float(value)


def _resolve(kind: str, values, name: str, allow_none: bool = False) -> list:
    from .catalog.loader import active_catalog

    cat = active_catalog()
    out: dict[str, Any] = {}
    for v in _as_list(values, name):
        if v is None:
            if not allow_none:
                raise ParameterError(name, None, message=f"{name}: give at least one {kind} name")
            out.setdefault(None, None)
            continue
        obj = cat.get(kind, v)
        if obj.name in out and out[obj.name] != obj:
            raise ParameterError(name, None, message=f"{name}: two different {kind}s are called {obj.name!r}")
        out.setdefault(obj.name, obj)
    return list(out.values())


def _shape6(arr, axes: Sequence[int]) -> np.ndarray:
    """Reshape a small table with the given grid axes into 6-d broadcast form."""
    arr = np.asarray(arr)
    shape = [1] * _NDIM
    for k, ax in enumerate(axes):
        shape[ax] = arr.shape[k]
    return arr.reshape(shape)


def _cut(arr, sl):
    """The part of a 6-d broadcast table under a chunk's slices."""
    if np.ndim(arr) == 0:
        return arr
    return arr[tuple(s if arr.shape[d] > 1 else slice(None) for d, s in enumerate(sl))]


def _constant(table: np.ndarray):
    """A scalar in place of a table whose entries are all equal (fewer array passes)."""
    flat = np.asarray(table).ravel()
    if flat.size and np.all(flat == flat[0]):
        return float(flat[0])
    return table


def _codes_with_none(objs) -> np.ndarray:
    """Category codes of named objects; -1 (NaN in the categorical) for None."""
    codes, k = [], 0
    for o in objs:
        codes.append(-1 if o is None else k)
        k += o is not None
    return np.array(codes, dtype=np.int64)


# --------------------------------------------------------------------------- plan
@dataclass
class _Plan:
    algorithms: list
    shape: tuple
    strong: bool
    tables: dict
    codes: dict
    categories: dict
    intervals: bool
    nics_per_node: int
    iteration_kw: dict
    algorithm_kw: dict
    attrs: dict = field(default_factory=dict)
    #: rows may be NaN (unsupported="nan" pairs, failed calibration lookups): their bound is -1
    nan_rows: bool = False
    #: output column -> numpy dtype (see :func:`_column_spec`)
    spec: dict = field(default_factory=dict)
    #: the resolved axes (models, devices, precisions, workload indices, per-device batches)
    axes: dict = field(default_factory=dict)
    #: memory check (:func:`_check_memory`): ``fits`` 6-d bool table, ``hows``, ``blank`` columns
    memory: dict | None = None

    @property
    def rows_per_algorithm(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def total(self) -> int:
        return len(self.algorithms) * self.rows_per_algorithm


def _normalize_algorithm(name) -> str:
    from .estimators import collectives

    if hasattr(collectives, "normalize_algorithm"):
        return collectives.normalize_algorithm(name)
    if name not in collectives.ALGORITHMS:
        raise ParameterError("algorithm", name, message=f"algorithm: unknown all-reduce algorithm {name!r}; "
                         f"expected one of {sorted(collectives.ALGORITHMS)}")
    return name


def _plan(models, devices, n_devices, interconnects=None, batch_per_device=None, precisions="fp32",
          algorithms="auto", devices_per_node=1, intra_node=None, scaling="weak", calibration=None,
          efficiency=None, *, global_batch=None, nics_per_node=1, comm_efficiency=None, overhead_s=None,
          gradient_precision=None, unsupported="drop", overlap=None, bucket_bytes=None, servers=None,
          inter_algorithm=None, _bucket_given=False) -> _Plan:
    from .catalog.objects import gradient_bytes_per_element, normalize_precision
    from .units import to_si

    if scaling not in ("weak", "strong"):
        raise ParameterError("scaling", scaling, message=f"scaling must be 'weak' or 'strong', got {scaling!r}")
    if unsupported not in ("drop", "nan", "raise"):
        raise ParameterError("unsupported", unsupported,
                             message=f"unsupported must be 'drop', 'nan' or 'raise', got {unsupported!r}")
    strong = scaling == "strong"
    if strong:
        if global_batch is None:
            raise ParameterError("global_batch", global_batch,
                                 message="scaling='strong' keeps the global batch fixed: give global_batch=[...] "
                                         "(batch_per_device is then global_batch / n_devices)")
        if batch_per_device is not None:
            raise ParameterError("batch_per_device", batch_per_device,
                                 message="scaling='strong': give global_batch, not batch_per_device")
        batches = _positives(global_batch, "global_batch")
    else:
        if global_batch is not None:
            raise ParameterError("global_batch", global_batch,
                                 message="global_batch is for scaling='strong'; with weak scaling give batch_per_device")
        if batch_per_device is None:
            raise ParameterError("batch_per_device", None,
                                 "the per-device batch (or scaling='strong' with global_batch)")
        batches = _positives(batch_per_device, "batch_per_device")
        if (batches < 1).any():  # as predict_training: a fraction of a sample is no batch
            raise ParameterError("batch_per_device", float(batches[batches < 1][0]), "at least 1 sample per device")

    model_objs = _resolve("model", models, "models")
    device_objs = _resolve("device", devices, "devices")
    inter_objs = _resolve("interconnect", interconnects, "interconnects", allow_none=True)
    intra_objs = _resolve("interconnect", intra_node, "intra_node", allow_none=True)
    precs = list(dict.fromkeys(normalize_precision(p) for p in _as_list(precisions, "precisions")))
    algs = list(dict.fromkeys(_normalize_algorithm(a) for a in _as_list(algorithms, "algorithms")))
    # options of data_parallel_iteration, validated as predict_training validates them
    iteration_kw: dict[str, Any] = {}
    if overlap is not None:
        from .estimators._validate import _fraction_array

        _fraction_array(overlap, "overlap")
    if _bucket_given:
        iteration_kw["bucket_bytes"] = None if bucket_bytes is None else _positive(
            float(to_si(bucket_bytes, "bytes", name="bucket_bytes")), "bucket_bytes")
    # per-algorithm topology options (predict_training refuses them for other algorithms)
    # overlap as predict_training sets it: the NCCL backend's (1) for "auto", serial for a
    # named algorithm, unless overlap= says otherwise
    from .resolution import BACKENDS, backend_for_algorithm

    algorithm_kw: dict[str, dict] = {a: {"overlap": float(overlap) if overlap is not None else
                                         (BACKENDS["nccl"].overlap if a == "auto" else 0.0)} for a in algs}
    if servers is not None:
        if "parameter_server" not in algs:
            raise ParameterError("servers", servers,
                                 message=f"servers={servers!r} applies to algorithm 'parameter_server', which is not in "
                                         f"algorithms={algs}")
        algorithm_kw["parameter_server"]["servers"] = _positive(servers, "servers")
    if inter_algorithm is not None:
        if "hierarchical" not in algs:
            raise ParameterError("inter_algorithm", inter_algorithm,
                                 message=f"inter_algorithm={inter_algorithm!r} applies to algorithm 'hierarchical', which is "
                                         f"not in algorithms={algs}")
        algorithm_kw["hierarchical"]["inter_algorithm"] = _normalize_algorithm(inter_algorithm)
    ns = _counts(n_devices, "n_devices")
    dpns = _counts(devices_per_node, "devices_per_node")
    if len(_as_list(nics_per_node, "nics_per_node")) != 1:
        raise ParameterError("nics_per_node", nics_per_node,
                             message=f"nics_per_node must be a single positive integer, got {nics_per_node!r}")
    nics = int(_counts(nics_per_node, "nics_per_node")[0])
    from .estimators._validate import COMPUTE_EFFICIENCY_MAX, TRANSFER_EFFICIENCY_MAX, _bounded_fraction

    user_eff = None if efficiency is None else _bounded_fraction(
        efficiency, "efficiency", COMPUTE_EFFICIENCY_MAX, f"a fraction of the peak in (0, {COMPUTE_EFFICIENCY_MAX:g}]")
    user_ce = None if comm_efficiency is None else _bounded_fraction(
        comm_efficiency, "comm_efficiency", TRANSFER_EFFICIENCY_MAX, "a fraction in (0, 1] of the link's payload rate")
    user_oh = None
    if overhead_s is not None:
        from .estimators._validate import _positive_array

        user_oh = float(_positive_array(overhead_s, "time", "overhead_s", allow_zero=True))
    grad_prec = normalize_precision(gradient_precision) if gradient_precision else None

    # ---- workload axis: valid (model, device, precision) triples, resolved once each
    # the peak depends on (device, precision) only: looked up once per pair, not per model
    pair_peak: dict[tuple[int, int], float] = {}
    unsupported_pairs = []
    for idev, d in enumerate(device_objs):
        for iq, q in enumerate(precs):
            try:
                pair_peak[idev, iq] = d.peak_flops[d.peak_key(q)]
            except ValueError as exc:
                if unsupported == "raise":
                    raise
                unsupported_pairs.append((d.name, q, str(exc)))
                if unsupported == "nan":
                    pair_peak[idev, iq] = math.nan
    # workload axis: every model × the kept (device, precision) pairs, the pair fastest
    kept = np.array(list(pair_peak), dtype=np.int64).reshape(-1, 2)
    wl_m = np.repeat(np.arange(len(model_objs), dtype=np.int64), len(kept))
    wl_d, wl_q = np.tile(kept[:, 0], len(model_objs)), np.tile(kept[:, 1], len(model_objs))
    peak = np.tile(np.array(list(pair_peak.values()), dtype=float), len(model_objs))
    notes: list[str] = []
    if unsupported_pairs:
        pairs = ", ".join(f"{d}/{q}" for d, q, _ in unsupported_pairs)
        verb = "dropped" if unsupported == "drop" else "kept as NaN rows"
        notes.append(f"device/precision pairs without a published peak, {verb}: {pairs}")
        hint = "unsupported='nan' keeps them as NaN rows" if unsupported == "drop" else "unsupported='drop' leaves them out"
        warnings.warn(f"sweep: {len(unsupported_pairs)} device/precision pair(s) have no published peak and "
                      f"are {verb}: {pairs} ({hint}; 'raise' stops)", UserWarning, stacklevel=3)
    if not len(wl_m):
        raise ParameterError("precisions", precs, message="sweep: no device supports any of the requested precisions "
                         f"({', '.join(precs)}); see Device.precisions")
    nW = len(wl_m)
    # one entry per model / precision, spread over the workload axis by index
    fwd = np.array([m.fwd_flops for m in model_objs], dtype=float)[wl_m]
    params = np.array([float(m.params) for m in model_objs], dtype=float)[wl_m]
    gbytes = np.array([gradient_bytes_per_element(q, grad_prec) for q in precs], dtype=float)[wl_q]

    # ---- per (workload, n_devices): efficiency, overhead, comm efficiency (calibration once each)
    nN = len(ns)
    eff = np.full((nW, nN), 1.0 if user_eff is None else user_eff)
    oh = np.full((nW, nN), 0.0 if user_oh is None else user_oh)
    ce = np.full((nW, nN), 1.0 if user_ce is None else user_ce)
    eff_lo = eff_hi = None
    if calibration is not None:
        eff_lo, eff_hi = np.full((nW, nN), np.nan), np.full((nW, nN), np.nan)
        failed = []
        # the framework predict_training assumes when none is named (its per-step cost)
        from .catalog.frameworks import DEFAULT_FRAMEWORK
        from .training import accepts_keyword

        fw_kw = {"framework": DEFAULT_FRAMEWORK} if accepts_keyword(calibration.parameters_for, "framework") else {}
        for w in range(nW):
            m, d, q = model_objs[wl_m[w]], device_objs[wl_d[w]], precs[wl_q[w]]
            if not math.isfinite(peak[w]):
                eff[w] = math.nan
                continue
            for j, n in enumerate(ns):
                try:
                    cp = calibration.parameters_for(device=d.name, precision=q, model=m.name,
                                                    phase="training", n_devices=int(n), **fw_kw)
                    e = _positive(cp["efficiency"], "efficiency") if user_eff is None else user_eff
                    o = cp.get("overhead_s", 0.0) if user_oh is None else user_oh
                    o = float(to_si(0.0 if o is None else o, "time", name="overhead_s"))
                    c = cp.get("comm_efficiency", 1.0) if user_ce is None else user_ce
                    c = _positive(1.0 if c is None else c, "comm_efficiency")
                    # (a Calibration keys η_comm by backend and link class: see comm_tables below)
                except Exception as exc:  # noqa: BLE001 - one uncalibratable combination must not sink the sweep
                    failed.append(f"{m.name}/{d.name}/{q}/{int(n)}: {exc}")
                    eff[w, j] = math.nan
                    continue
                eff[w, j], oh[w, j], ce[w, j] = e, o, c
                interval = cp.get("efficiency_interval")
                if interval is not None:
                    eff_lo[w, j], eff_hi[w, j] = interval
        if failed:
            notes.append("calibration gave no parameters (NaN rows) for: " + "; ".join(failed[:20])
                         + (f" … and {len(failed) - 20} more" if len(failed) > 20 else ""))
            warnings.warn(f"sweep: calibration gave no parameters for {len(failed)} "
                          f"model/device/precision/n_devices combination(s), e.g. {failed[0]}; "
                          "those rows are NaN", UserWarning, stacklevel=3)
        if np.all(np.isnan(eff_lo)):
            eff_lo = eff_hi = None
    if user_eff is None and calibration is None:
        # the per-operator roofline bound, as predict_training takes it uncalibrated: 1/r_∞ of
        # the FLOP-only peak rate per (model, device, precision) workload
        from .model_builders.operators import roofline_factor

        for w in range(nW):
            if math.isfinite(peak[w]):
                r_inf = roofline_factor(model_objs[wl_m[w]], device_objs[wl_d[w]], precs[wl_q[w]], "training")
                eff[w] = min(1.0, 1.0 / r_inf)
        notes.append("efficiency: the per-operator roofline bound 1/r_∞ of peak per model, device and precision "
                     "(uncalibrated: pass calibration= or efficiency=)")
    gamma = peak[:, None] * eff  # the same product predict_training forms: peak × efficiency

    # ---- links per (intra, inter, devices_per_node, n_devices): the resolution layer's rule
    from .resolution import link_class, node_links

    nJ, nI, nK = len(intra_objs), len(inter_objs), len(dpns)
    nodes = -(-ns[None, :] // dpns[:, None])  # ceil(n / dpn), shape (K, N)
    multi = nodes > 1
    single = (ns == 1)[None, :]
    needs_intra = np.minimum(dpns[:, None], ns[None, :]) > 1
    for j, intra in enumerate(intra_objs):
        if intra is None and needs_intra.any():
            k, n_ = np.argwhere(needs_intra)[0]
            raise ParameterError("intra_node", None,
                                 message=f"intra_node: nodes of {dpns[k]} devices ({ns[n_]} devices in all) need an "
                                         "intra-node link, e.g. intra_node='NVLink 2' or 'PCIe 3.0 x16'")
    for i, inter in enumerate(inter_objs):
        if inter is None and multi.any():
            k, n_ = np.argwhere(multi)[0]
            raise ParameterError("interconnects", None,
                                 message=f"interconnects: {ns[n_]} devices on {nodes[k, n_]} nodes need an inter-node "
                                         "interconnect, e.g. interconnects=['InfiniBand EDR'] (see plaster_model.list_interconnects())")
    nan = math.nan
    intra_bw = np.array([o.bandwidth if o is not None else nan for o in intra_objs])
    intra_lat = np.array([o.latency_s if o is not None else nan for o in intra_objs])
    inter_bw = np.array([o.bandwidth if o is not None else nan for o in inter_objs])
    inter_lat = np.array([o.latency_s if o is not None else nan for o in inter_objs])
    grid = node_links(ns[None, None, None, :], dpns[None, None, :, None],
                      intra_bw[:, None, None, None], intra_lat[:, None, None, None],
                      inter_bw[None, :, None, None], inter_lat[None, :, None, None], nics)
    grid = {k: np.broadcast_to(v, (nJ, nI, nK, nN)) for k, v in grid.items()}
    mk = multi[None, None, :, :]
    sj = single[None, None, :, :]
    # η_comm of a Calibration depends on how the exchange runs (backend, link class): one
    # table per algorithm over (workload, intra, inter, layout, n); other calibrations give
    # it per (workload, n) through parameters_for, as before
    comm_tables = {}
    if calibration is not None and user_ce is None and hasattr(calibration, "comm_efficiency_for"):
        cls_intra = [link_class(o) for o in intra_objs]
        cls_inter = [link_class(o) for o in inter_objs]
        for a_ in algs:
            be = backend_for_algorithm(a_)
            ci = np.array([calibration.comm_efficiency_for(be, c)[0] for c in cls_intra])
            cn = np.array([calibration.comm_efficiency_for(be, c)[0] for c in cls_inter])
            tab = np.where(mk, cn[None, :, None, None], ci[:, None, None, None])
            comm_tables[a_] = np.broadcast_to(tab, (nJ, nI, nK, nN))
    # link label: inter names then intra names; -1 (no link) for a single device
    link_names = list(dict.fromkeys([o.name for o in inter_objs if o is not None]
                                    + [o.name for o in intra_objs if o is not None]))
    inter_code = np.array([link_names.index(o.name) if o is not None else -1 for o in inter_objs])
    intra_code = np.array([link_names.index(o.name) if o is not None else -1 for o in intra_objs])
    link_code = np.where(sj, -1, np.where(mk, inter_code[None, :, None, None], intra_code[:, None, None, None]))
    link_code = np.broadcast_to(link_code, (nJ, nI, nK, nN))

    t = {}
    t["fwd"], t["params"], t["gbytes"] = (_shape6(x, [_W]) for x in (fwd, params, gbytes))
    t["gamma"], t["overhead"], t["ce"] = (_shape6(x, [_W, _N]) for x in (gamma, oh, ce))
    for key in ("gbytes", "overhead", "ce"):
        t[key] = _constant(t[key])
    if eff_lo is not None:
        t["gamma_lo"] = _shape6(peak[:, None] * eff_lo, [_W, _N])
        t["gamma_hi"] = _shape6(peak[:, None] * eff_hi, [_W, _N])
    t["beta"] = _shape6(grid["beta"], [_J, _I, _K, _N])
    t["alpha"] = _shape6(grid["alpha"], [_J, _I, _K, _N])
    for a_, tab in comm_tables.items():
        t["ce:" + a_] = _shape6(tab, [_J, _I, _K, _N])
    t["n"] = _shape6(ns.astype(float), [_N])
    t["batch"] = _shape6(batches, [_B])
    # topology keywords of every row (devices_per_node = 1 on flat rows: "flat over β")
    t["topo_dpn"] = _shape6(grid["devices_per_node"], [_J, _I, _K, _N])
    t["topo_beta_intra"] = _shape6(grid["beta_intra"], [_J, _I, _K, _N])
    t["topo_alpha_intra"] = _shape6(grid["alpha_intra"], [_J, _I, _K, _N])

    int_dtype = np.int32 if max(int(ns.max()), int(dpns.max())) < 2**31 else np.int64
    codes = {
        "model": _shape6(wl_m, [_W]), "device": _shape6(wl_d, [_W]), "precision": _shape6(wl_q, [_W]),
        "intra_node": _shape6(_codes_with_none(intra_objs), [_J]),
        "interconnect": _shape6(_codes_with_none(inter_objs), [_I]),
        "link": _shape6(link_code, [_J, _I, _K, _N]),
        "n_devices": _shape6(ns.astype(int_dtype), [_N]),
        "nodes": _shape6(nodes.astype(int_dtype), [_K, _N]),
        "devices_per_node": _shape6(dpns.astype(int_dtype), [_K]),
    }
    categories = {
        "model": [m.name for m in model_objs], "device": [d.name for d in device_objs],
        "precision": precs, "algorithm": [str(a) for a in algs],
        "intra_node": [o.name for o in intra_objs if o is not None],
        "interconnect": [o.name for o in inter_objs if o is not None],
        "link": link_names, "bound": list(_BOUND_CATEGORIES),
    }
    shape = (nW, nJ, nI, nK, nN, len(batches))
    notes.append(f"{scaling} scaling: " + ("batch_per_device = global_batch / n_devices" if strong
                                           else "batch_per_device fixed, global_batch = n_devices × batch"))
    attrs = {"scaling": scaling, "notes": notes,
             "unsupported": [(d, q) for d, q, _ in unsupported_pairs], "calibrated": calibration is not None}
    for a_ in algs:
        if algorithm_kw[a_]["overlap"]:
            notes.append(f"{a_}: overlap {algorithm_kw[a_]['overlap']:g} of the all-reduce with the backward pass, "
                         "the last bucket exposed")
    attrs.update({k: v for k, v in iteration_kw.items()})
    plan = _Plan(algs, shape, strong, t, codes, categories, eff_lo is not None,
                 nics, iteration_kw, algorithm_kw, attrs,
                 nan_rows=calibration is not None or (unsupported == "nan" and bool(unsupported_pairs)))
    plan.spec = _column_spec(plan)
    # the per-device batch of every (workload-independent) grid cell, as the evaluation forms it
    b_cells = (_shape6(batches, [_B]) / _shape6(ns.astype(float), [_N])) if strong else _shape6(batches, [_B])
    plan.axes = dict(models=model_objs, devices=device_objs, precisions=precs, wl_m=wl_m, wl_d=wl_d, wl_q=wl_q,
                     batch=b_cells)
    # code tables in their column's dtype: a broadcast copy without a cast is one pass
    plan.codes = {col: np.asarray(c, dtype=plan.spec[col]) for col, c in codes.items()}
    return plan


# --------------------------------------------------------------------------- evaluation
def _chunk_slices(shape, chunk_size) -> Iterator[tuple]:
    """Contiguous C-order blocks of the grid with at most ``chunk_size`` cells each."""
    suffix = [1] * (len(shape) + 1)
    for d in range(len(shape) - 1, -1, -1):
        suffix[d] = suffix[d + 1] * shape[d]
    a = next(d for d in range(len(shape) + 1) if suffix[d] <= chunk_size)
    full = [slice(0, s) for s in shape]
    if a == 0:
        yield tuple(full)
        return
    split = a - 1
    step = max(1, chunk_size // suffix[a])
    for outer in np.ndindex(*shape[:split]):
        for s in range(0, shape[split], step):
            yield tuple([slice(i, i + 1) for i in outer] + [slice(s, min(s + step, shape[split]))]
                        + full[split + 1:])


def _write(plan: _Plan, arrays: dict, offset: int, sl, a_index: int) -> int:
    """Evaluate one chunk of the grid straight into its rows ``offset:`` of ``arrays``.

    :func:`~plaster_model.estimators.iteration.data_parallel_iteration` writes its outputs
    into views of the output columns (``out=``), from intermediates at the broadcast-small
    shapes of the inputs: every column is written once, with no full-size temporary.
    Returns the chunk's rows that do not fit in memory (0 unless memory is checked).
    """
    from .estimators.iteration import data_parallel_iteration

    cshape = tuple(s.stop - s.start for s in sl)
    size = math.prod(cshape)
    views = {col: arr[offset:offset + size].reshape(cshape) for col, arr in arrays.items()}
    algorithm = plan.algorithms[a_index]
    t = plan.tables
    g = lambda key: _cut(t[key], sl)  # noqa: E731
    n = g("n")
    b = g("batch") / n if plan.strong else g("batch")
    ce = g("ce:" + algorithm) if "ce:" + algorithm in t else g("ce")
    # every row takes the same topology keywords (flat rows: devices_per_node = 1)
    kw = dict(algorithm=algorithm, overhead_s=g("overhead"), comm_efficiency=ce, **plan.iteration_kw,
              **plan.algorithm_kw[algorithm], devices_per_node=g("topo_dpn"), nics_per_node=plan.nics_per_node,
              beta_intra=g("topo_beta_intra"), alpha_intra=g("topo_alpha_intra"))

    def run(gamma, out):
        data_parallel_iteration(g("fwd"), g("params"), n, b, gamma, g("gbytes"), g("beta"), g("alpha"),
                                out=out, **kw)

    out = {k: views[k] for k in _FLOAT_OUT}
    out["communication_bound"] = views["bound"]  # 0/1: the codes of "compute"/"communication"
    run(g("gamma"), out)
    np.copyto(views["batch_per_device"], b)
    np.multiply(b, n, out=views["global_batch"])
    if plan.intervals:
        # the high-efficiency time into the low column, the low-efficiency one into the high
        # column, then ordered (either may be NaN)
        first, second = views["iteration_time_low_s"], views["iteration_time_high_s"]
        run(g("gamma_hi"), {"iteration_time_s": first})
        run(g("gamma_lo"), {"iteration_time_s": second})
        low = np.minimum(first, second)
        np.maximum(first, second, out=second)
        first[...] = low
    if plan.nan_rows:  # no bound for a row without a prediction
        views["bound"][np.isnan(views["iteration_time_s"])] = -1
    views["algorithm"].fill(a_index)
    for col, codes in plan.codes.items():
        np.copyto(views[col], _cut(codes, sl))
    return _write_memory(plan, views, sl) if plan.memory is not None else 0


def _check_memory(plan: _Plan, allow_oversubscribed: bool, optimizer: str = "momentum") -> None:
    """Add the per-row memory check to ``plan``: a ``fits_memory`` column, and NaN times for
    the rows that do not fit (unless ``allow_oversubscribed``), written chunk by chunk.

    Fitting depends on (model, device, precision) and the per-device batch only, so it is
    evaluated once over those axes (:func:`~plaster_model._feasibility.training_fits_table`)
    and broadcast, never per row or per group of rows.
    """
    from ._feasibility import blanked_columns, training_fits_table

    ax = plan.axes
    b = ax["batch"]  # (1, …, 1, [N,] B)
    fits, hows = training_fits_table(ax["models"], ax["devices"], ax["precisions"], ax["wl_m"], ax["wl_d"],
                                     ax["wl_q"], b[0], optimizer)
    plan.memory = {"fits": fits.reshape(fits.shape[:1] + b.shape[1:]), "model_hows": hows, "optimizer": optimizer,
                   "allow": allow_oversubscribed, "blank": blanked_columns(list(plan.spec), plan.spec)}
    plan.spec["fits_memory"] = np.dtype(bool)


def _write_memory(plan: _Plan, views: dict, sl) -> int:
    """``fits_memory`` of one chunk, and NaN in its number columns where it is False (unless
    oversubscription is allowed); returns the chunk's rows that do not fit."""
    fits = _cut(plan.memory["fits"], sl)
    np.copyto(views["fits_memory"], fits)
    bad = ~fits
    n_bad = int(np.count_nonzero(bad)) * (views["fits_memory"].size // fits.size)
    if n_bad and not plan.memory["allow"]:
        for col in plan.memory["blank"]:
            np.copyto(views[col], np.nan, where=bad)
    return n_bad


def _memory_attrs(plan: _Plan, df, n_bad: int, stacklevel: int, sl=None) -> None:
    """The memory check's note (and oversubscription warning) on a result frame (a chunk's
    when ``sl`` gives its slices)."""
    from ._feasibility import memory_fit_note
    from .errors import MemoryWarning

    if n_bad and plan.memory["allow"]:
        warnings.warn(f"{n_bad} of {len(df)} sweep rows do not fit in device memory (fits_memory False); "
                      "kept as asked (allow_oversubscribed=True)", MemoryWarning, stacklevel=stacklevel + 1)
    # the activation figure of each model present, in row order (the workload axis is model-major)
    wl_m = plan.axes["wl_m"] if sl is None else plan.axes["wl_m"][sl[0]]
    hows = list(dict.fromkeys(plan.memory["model_hows"][m] for m in dict.fromkeys(wl_m.tolist())))
    df.attrs["notes"] = list(df.attrs.get("notes") or []) + [memory_fit_note(hows, plan.memory["optimizer"])]


def _column_spec(plan: _Plan) -> dict:
    """Output column -> numpy dtype (categoricals hold their codes)."""
    def code_dtype(n):
        return np.int8 if n < 127 else (np.int16 if n < 32767 else np.int32)

    spec = {}
    for col in SWEEP_COLUMNS:
        if col in plan.categories:
            spec[col] = code_dtype(len(plan.categories[col]))
        elif col in ("n_devices", "nodes", "devices_per_node"):
            spec[col] = plan.codes[col].dtype
        else:
            spec[col] = np.float64
    if plan.intervals:
        for col in INTERVAL_COLUMNS:
            spec[col] = np.float64
    return spec


def _frame(plan: _Plan, arrays: dict):
    import pandas as pd

    cols = {}
    for col, arr in arrays.items():
        if col in plan.categories:
            cols[col] = pd.Categorical.from_codes(arr, categories=plan.categories[col], validate=False)
        else:
            cols[col] = arr
    df = pd.DataFrame(cols, copy=False)
    df.attrs.update({k: (list(v) if isinstance(v, list) else v) for k, v in plan.attrs.items()})
    return df


class _Progress:
    """tqdm bar if installed and wanted; ``progress=None`` shows one only for sweeps that
    are predicted (from the first chunk's speed) to take more than a second."""

    def __init__(self, total: int, progress):
        self.total, self.mode, self.bar, self.done = total, progress, None, 0
        self.t0 = time.perf_counter()
        if progress is True or (progress is None and total / _ASSUMED_ROWS_PER_S > 1.0):
            self._open()

    def _open(self):
        try:
            from tqdm.auto import tqdm
        except ImportError:
            if self.mode is True:
                warnings.warn("progress=True needs tqdm (pip install 'plaster_model[progress]'); "
                              "running without a progress bar", UserWarning, stacklevel=4)
            self.mode = False
            return
        self.bar = tqdm(total=self.total, initial=self.done, unit="config", unit_scale=True,
                        desc="sweep", leave=False)

    def update(self, n: int):
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.mode is None and 0 < self.done < self.total:
            elapsed = time.perf_counter() - self.t0
            if elapsed / self.done * (self.total - self.done) > 1.0:
                self._open()

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _iterate(plan: _Plan, chunk_size: int, progress) -> Iterator[tuple]:
    chunk_size = int(chunk_size)
    if chunk_size < 1:
        raise ParameterError("chunk_size", chunk_size,
                             message=f"chunk_size must be a positive integer, got {chunk_size!r}")
    rows = plan.rows_per_algorithm
    bar = _Progress(plan.total, progress)
    try:
        for a_index, alg in enumerate(plan.algorithms):
            for sl in _chunk_slices(plan.shape, chunk_size):
                start = int(np.ravel_multi_index(tuple(s.start for s in sl), plan.shape))
                yield a_index * rows + start, sl, a_index  # the caller evaluates it (_write)
                bar.update(math.prod(s.stop - s.start for s in sl))
    finally:
        bar.close()


_SWEEP_DOC_PARAMS = """
    Parameters
    ----------
    models : str, Model or list
        Zoo names (``"ResNet-50"``) or :class:`~plaster_model.Model` objects.
    devices : str, Device or list
        Catalog device names (``"V100"``) or :class:`~plaster_model.Device` objects.
    n_devices : int or list of int
        Device counts ``p``.
    interconnects : str, Interconnect, list or None
        Networks between nodes, used as the bottleneck link when a configuration spans more
        than one node. ``None`` only when every configuration fits in one node.
    batch_per_device : float or list of float
        Samples per device per iteration ``b`` (weak scaling).
    precisions : str or list of str
        Training precisions (``"fp32"``, ``"fp16"``, ``"mixed"``, ``"bf16"``, ...).
    algorithms : str or list of str
        All-reduce algorithms (keys of :data:`plaster_model.estimators.ALGORITHMS`).
    devices_per_node : int or list of int
        Devices per node; ``nodes = ceil(n_devices / devices_per_node)``. Default 1 (every
        device its own node, so ``interconnects`` is the link for any ``n_devices > 1``).
    intra_node : str, Interconnect, list or None
        Link between the devices of one node; required when ``devices_per_node > 1``.
    scaling : {"weak", "strong"}
        ``"weak"``: the batch axis is ``batch_per_device``. ``"strong"``: give
        ``global_batch`` instead; ``batch_per_device = global_batch / n_devices``.
    calibration : Calibration, optional
        Fitted calibration; ``parameters_for(device=, precision=, model=, phase="training",
        n_devices=)`` is asked once per (model, device, precision, n_devices) combination,
        never per row. Adds ``iteration_time_low_s`` / ``iteration_time_high_s`` when it
        gives an efficiency interval.
    efficiency : float, optional
        Fraction of peak sustained (default 1.0, or the calibration's).
    chunk_size : int
        Grid cells evaluated per numpy call. Results are written straight into the output
        columns (92 B per row), so this bounds only the temporaries beyond them: none for
        serial algorithms, about ``chunk_size × 16 B`` with ``overlap`` (the hidden part of
        the all-reduce depends on every axis); and a :func:`sweep_chunks` frame holds
        ``chunk_size`` rows.
    progress : bool or None
        Progress bar (tqdm, when installed). ``None``: shown for sweeps predicted to run
        longer than a second.

    Other Parameters
    ----------------
    global_batch : float or list of float
        Global batch sizes ``B`` (strong scaling).
    nics_per_node : int
        Network ports per node (passed to topology-aware algorithms).
    comm_efficiency : float, optional
        Fraction of link bandwidth achieved (default 1.0, or the calibration's).
    overhead_s : float or str, optional
        Per-iteration overhead [s] (default 0, or the calibration's).
    gradient_precision : str, optional
        Precision of the all-reduce (default: each row's training precision).
    unsupported : {"drop", "nan", "raise"}
        What to do with device/precision pairs the device publishes no peak for (a K40 has
        no fp16 peak): ``"drop"`` (default) leaves those rows out, ``"nan"`` keeps them with
        NaN times and no ``bound``, ``"raise"`` raises ``ValueError``. Either way a
        ``UserWarning`` names the pairs and ``df.attrs["unsupported"]`` lists them.
    overlap : float, optional
        Fraction in [0, 1] of the all-reduce hidden behind the backward pass (default, as
        ``predict_training``: the NCCL backend's 1 for ``"auto"`` rows, 0 for a named algorithm).
    bucket_bytes : float or str or None, optional
        Gradient bucket of the overlap model [B] (default: ``predict_training``'s, 25 MiB).
    servers : int, optional
        Parameter-server shards, for the ``"parameter_server"`` rows only.
    inter_algorithm : str, optional
        Algorithm across nodes, for the ``"hierarchical"`` rows only.
    check_memory : bool
        Check each row's per-device training memory (momentum optimizer, 1 GiB workspace).
    allow_oversubscribed : bool
        Keep the times of rows that do not fit (``fits_memory`` still False), with a warning.
    plan, seq_len : optional
        A :class:`~plaster_model.ParallelPlan` and tokens per sequence: the rows are
        :func:`~plaster_model.predict_llm_training` of each (model, device, precision,
        interconnect, count) (:func:`~plaster_model.parallel.data.sweep_with_plan`), with ``fits_memory``
        False and the ``reason`` where a plan does not fit or tile.
"""


# --------------------------------------------------------------------------- public API
_UNSET = object()
_OPTIONS = ("global_batch", "nics_per_node", "comm_efficiency", "overhead_s", "gradient_precision",
            "unsupported", "overlap", "bucket_bytes", "servers", "inter_algorithm")


def _options(kwargs: dict, caller: str) -> dict:
    unknown = set(kwargs) - set(_OPTIONS)
    if unknown:
        raise ParameterTypeError(caller, None,
                                 message=f"{caller}() got unexpected keyword argument(s) {sorted(unknown)}")
    out = dict(kwargs)
    if "bucket_bytes" in out:
        out["_bucket_given"] = True
    return out


def sweep(models, devices, n_devices, interconnects=None, batch_per_device=None,
          precisions="fp32", algorithms="auto", devices_per_node=1, intra_node=None,
          scaling="weak", calibration=None, efficiency=None, chunk_size=2_000_000, progress=None,
          *, global_batch=None, nics_per_node=1, comm_efficiency=None, overhead_s=None,
          gradient_precision=None, unsupported="drop", overlap=None, bucket_bytes=_UNSET, servers=None,
          inter_algorithm=None, check_memory=True, allow_oversubscribed=False, plan=None, seq_len=None):
    """Predict data-parallel training for every configuration of a cross product.

    Evaluates models × devices × precisions × ``intra_node`` × ``interconnects`` ×
    ``devices_per_node`` × ``n_devices`` × batch sizes × ``algorithms`` with numpy broadcasting
    (no Python loop over configurations) through
    :func:`~plaster_model.training.data_parallel_iteration`, the formula
    :func:`~plaster_model.predict_training` uses: each row equals the scalar prediction for a
    ``Cluster(device, n_devices, devices_per_node, intra_node, interconnect)``.
    ``T_iter = 3·F·b/(η·γ_peak) + T_allreduce(w = P·s, p, β·η_comm, α) + T_overhead``; the
    link is the interconnect when ``nodes > 1``, else the intra-node link; a single device
    has no communication.
    {params}
    Returns
    -------
    pandas.DataFrame
        One row per configuration, in C order over (algorithm, model, device, precision,
        intra_node, interconnect, devices_per_node, n_devices, batch), the last fastest.
        Columns: ``model``, ``device``, ``n_devices``, ``nodes``, ``devices_per_node``,
        ``intra_node``, ``interconnect``, ``link`` (the bottleneck link used; NaN for one
        device), ``batch_per_device``, ``global_batch``, ``precision``, ``algorithm``,
        ``compute_time_s``, ``communication_time_s`` (the whole all-reduce),
        ``exposed_communication_time_s`` (the part not hidden by ``overlap``),
        ``overhead_time_s``, ``iteration_time_s`` [s], ``throughput_samples_s`` [samples/s],
        ``comm_to_compute_ratio``, ``bound`` (``"compute"`` / ``"communication"``),
        ``fits_memory`` (the per-device training memory against the device's; a row that
        does not fit has NaN times and throughput unless ``allow_oversubscribed=True``;
        ``check_memory=False`` skips the check). String columns are categoricals.
        ``df.attrs`` holds ``scaling``, ``notes`` (assumptions and anything dropped) and
        ``unsupported``.

    Raises
    ------
    ValueError
        For non-positive counts or batches, unknown precisions or algorithms, or a
        configuration that needs a link that was not given.
    KeyError
        For an unknown catalog name (with close matches).

    See Also
    --------
    sweep_chunks : the same rows as an iterator of DataFrames, for sweeps larger than memory.
    pareto : the non-dominated rows of a result.

    Examples
    --------
    >>> import plaster_model as pm
    >>> df = pm.sweep(models=["ResNet-50", "VGG-16"], devices=["V100", "P100"],
    ...               n_devices=[1, 2, 4, 8, 16, 32, 64], interconnects=["InfiniBand EDR", "10GbE"],
    ...               batch_per_device=[32, 64], precisions=["fp32", "mixed"],
    ...               algorithms=["tree"], devices_per_node=8, intra_node="NVLink 2")
    >>> len(df)   # 2 models × 2 devices × 2 precisions × 2 networks × 7 counts × 2 batches
    224
    >>> (df["bound"] == "communication").groupby(df["interconnect"], observed=True).mean().round(2).to_dict()
    {{'InfiniBand EDR': 0.31, '10GbE': 0.43}}
    >>> best = df.loc[df.groupby("model", observed=True)["throughput_samples_s"].idxmax()]
    >>> print(best[["model", "device", "n_devices", "interconnect", "precision", "bound"]].to_string(index=False))
        model device  n_devices   interconnect precision         bound
    ResNet-50   V100         64 InfiniBand EDR     mixed communication
       VGG-16   V100         64 InfiniBand EDR     mixed communication
    """
    if plan is not None:  # a ParallelPlan: the LLM path (plaster_model/parallel/data.py), rows marked `fits`
        from .parallel.data import sweep_with_plan
        return sweep_with_plan(models, devices, n_devices, interconnects, plan, precisions, devices_per_node,
                               intra_node, nics_per_node, calibration, seq_len, global_batch, batch_per_device)
    plan = _plan(models, devices, n_devices, interconnects, batch_per_device, precisions, algorithms,
                 devices_per_node, intra_node, scaling, calibration, efficiency, global_batch=global_batch,
                 nics_per_node=nics_per_node, comm_efficiency=comm_efficiency, overhead_s=overhead_s,
                 gradient_precision=gradient_precision, unsupported=unsupported, overlap=overlap,
                 bucket_bytes=None if bucket_bytes is _UNSET else bucket_bytes,
                 _bucket_given=bucket_bytes is not _UNSET, servers=servers, inter_algorithm=inter_algorithm)
    if check_memory:
        _check_memory(plan, allow_oversubscribed)
    arrays = {col: np.empty(plan.total, dtype=dt) for col, dt in plan.spec.items()}
    n_bad = 0
    for offset, sl, a_index in _iterate(plan, chunk_size, progress):
        n_bad += _write(plan, arrays, offset, sl, a_index)
    df = _frame(plan, arrays)
    if check_memory:
        _memory_attrs(plan, df, n_bad, stacklevel=2)
    return df


def sweep_chunks(models, devices, n_devices, interconnects=None, batch_per_device=None,
                 precisions="fp32", algorithms="auto", devices_per_node=1, intra_node=None,
                 scaling="weak", calibration=None, efficiency=None, chunk_size=2_000_000,
                 progress=None, **kwargs):
    """The rows of :func:`sweep` as an iterator of DataFrames of at most ``chunk_size`` rows.

    Memory stays bounded by one chunk, whatever the size of the cross product: reduce each
    chunk (a ``groupby``, a running minimum, :func:`pareto`) and keep only what you need.
    Arguments are those of :func:`sweep`; concatenating the chunks gives its result.

    Yields
    ------
    pandas.DataFrame
        Consecutive blocks of rows, with the columns and categories of :func:`sweep`
        (categories are the same in every chunk, so ``pd.concat`` keeps them categorical).

    Examples
    --------
    >>> import plaster_model as pm
    >>> best = min((c.loc[c["iteration_time_s"].idxmin()] for c in pm.sweep_chunks(
    ...     "ResNet-50", ["V100", "A100"], [8, 16, 32], "InfiniBand EDR", [32, 64, 128],
    ...     chunk_size=10)), key=lambda r: r["iteration_time_s"])
    >>> best["device"], int(best["n_devices"])
    ('A100', 8)
    """
    check_memory = kwargs.pop("check_memory", True)
    allow_oversubscribed = kwargs.pop("allow_oversubscribed", False)
    plan = _plan(models, devices, n_devices, interconnects, batch_per_device, precisions, algorithms,
                 devices_per_node, intra_node, scaling, calibration, efficiency, **_options(kwargs, "sweep_chunks"))
    if check_memory:
        _check_memory(plan, allow_oversubscribed)
    for offset, sl, a_index in _iterate(plan, chunk_size, progress):
        size = math.prod(s.stop - s.start for s in sl)
        arrays = {col: np.empty(size, dtype=dt) for col, dt in plan.spec.items()}
        n_bad = _write(plan, arrays, 0, sl, a_index)
        df = _frame(plan, arrays)
        df.index = range(offset, offset + size)
        if check_memory:
            _memory_attrs(plan, df, n_bad, stacklevel=2, sl=sl)
        yield df


def sweep_size(models, devices, n_devices, interconnects=None, batch_per_device=None,
               precisions="fp32", algorithms="auto", devices_per_node=1, intra_node=None,
               scaling="weak", **kwargs) -> int:
    """Number of rows :func:`sweep` returns for these arguments (after dropping unsupported
    device/precision pairs), without evaluating anything."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kwargs.pop("chunk_size", None), kwargs.pop("progress", None)
        # a calibration changes values, never the row count (a configuration it cannot answer
        # is a NaN row): it is not consulted
        kwargs.pop("calibration", None)
        kwargs.pop("check_memory", None), kwargs.pop("allow_oversubscribed", None)  # rows kept either way
        efficiency = kwargs.pop("efficiency", None)
        plan = _plan(models, devices, n_devices, interconnects, batch_per_device, precisions, algorithms,
                     devices_per_node, intra_node, scaling, None, efficiency, **_options(kwargs, "sweep_size"))
    return plan.total


sweep.__doc__ = sweep.__doc__.format(params=_SWEEP_DOC_PARAMS)


# the Pareto front has its own module; re-exported here (pm.sweeps.pareto keeps working)
from .pareto_front import pareto  # noqa: E402,F401
