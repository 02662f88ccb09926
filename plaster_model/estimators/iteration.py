"""The data-parallel training iteration: compute, gradient all-reduce and their overlap.

This is the one implementation of the iteration model: :func:`plaster_model.predict_training`,
:func:`plaster_model.sweep`, :func:`plaster_model.scaling_curve`, the bandwidth verdict and the
calibration's forward model all evaluate it (through :mod:`plaster_model.resolution`).

References
----------
.. [1] N. Vassilieva, S. Serebryakov, "HPE Deep Learning Cookbook" (slides, HPE, 2017).
.. [2] S. Li et al., "PyTorch Distributed: Experiences on Accelerating Data Parallel
   Training", VLDB 13(12), 2020 (gradient buckets, ``bucket_cap_mb = 25``).
.. [3] A. Sergeev, M. Del Balso, "Horovod", arXiv:1802.05799, 2018 (tensor fusion).
"""
from __future__ import annotations
from ..errors import ParameterTypeError

import numpy as np

from ._validate import _PLAIN_SCALARS, _count_array, _factor, _fraction_array, _positive_array
from .collectives import _cached_allreduce_time, allreduce_time
from .data_parallel import TRAINING_FLOPS_FACTOR

__all__ = ["DEFAULT_BUCKET_BYTES", "COMM_EFFICIENCY_MIN", "ITERATION_OUTPUTS", "data_parallel_iteration"]

#: Smallest communication efficiency accepted (1e-4 of the payload rate): below that a
#: "link" is not a link, and a fit that wants it has the wrong communication model.
COMM_EFFICIENCY_MIN = 1e-4

#: Default gradient bucket of the overlap model: PyTorch DDP's ``bucket_cap_mb=25``
#: (25 MiB = 26,214,400 B; DDP multiplies by 1024 · 1024).
DEFAULT_BUCKET_BYTES = 25 * 1024 * 1024

#: Keys of the dict :func:`data_parallel_iteration` returns (and accepts as ``out=``).
ITERATION_OUTPUTS = ("compute_time_s", "communication_time_s", "exposed_communication_time_s",
                     "overhead_time_s", "iteration_time_s", "throughput_samples_s",
                     "comm_to_compute_ratio", "communication_bound")


def data_parallel_iteration(fwd_flops, params, n_devices, batch_per_device, gamma, grad_bytes,
                            beta, alpha=0.0, *, algorithm="auto", overhead_s=0.0,
                            comm_efficiency=1.0, flops_factor=TRAINING_FLOPS_FACTOR,
                            overlap=0.0, bucket_bytes=DEFAULT_BUCKET_BYTES, out=None, **topology):
    """One data-parallel training iteration, vectorized over every argument.

    ``T_compute = 3·F·b / γ`` (per device: ``c/(p·γ)`` with ``c = 3·F·b·p``), split into
    forward ``T_fwd = T_compute/3`` and backward ``T_bwd = 2·T_compute/3`` (``flops_factor``
    ``f`` in general: ``T_bwd = (f−1)/f·T_compute``).
    ``T_comm = allreduce(w = P·s, p, β·η_comm, α)`` (the intra-node and server bandwidths of
    ``topology`` are scaled by ``η_comm`` too).

    **Overlap model.** Gradients are all-reduced in buckets of ``bucket_bytes`` while the
    backward pass runs (PyTorch DDP, Horovod tensor fusion). The last bucket
    (``w_last = min(w, bucket_bytes)``) is ready only when the backward pass ends, so its
    all-reduce ``T_last = allreduce(w_last, …)`` is always exposed. A fraction ``o``
    (``overlap``) of the rest ``T_rest = T_comm − T_last`` runs concurrently with the
    backward pass; the remaining ``(1−o)·T_rest`` is serialized (a framework that does not
    overlap, or contention between the two)::

        T_iter = T_fwd + max(T_bwd, o·T_rest) + (1−o)·T_rest + T_last + T_overhead

    ``o = 0`` (default) is the seed model ``T_compute + T_comm + T_overhead``; since
    ``max(a, b) ≤ a + b`` overlap never makes an iteration slower, and with ``o = 1`` and
    ample bandwidth the iteration costs ``T_compute + T_last``.

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
        Sustained device rate (peak × efficiency) [FLOP/s]; NaN marks a device without a
        peak at the precision (its outputs are NaN).
    grad_bytes : array_like
        Bytes per gradient element ``s`` [B].
    beta : array_like
        Bottleneck link bandwidth [B/s] (the network NIC across nodes, else the intra-node link).
    alpha : array_like
        Link latency [s].
    algorithm : str
        All-reduce algorithm (see :data:`plaster_model.estimators.ALGORITHMS`; default
        ``"auto"``, what NCCL/Horovod run; ``"tree"`` is the seed's HPE Cookbook model).
    overhead_s : array_like
        Fixed per-iteration overhead [s] (framework, data loading), 0 uncalibrated.
    comm_efficiency : array_like
        Fraction of ``β`` (the link's payload rate) the collective achieves, in
        ``[1e-4, 1]`` (1 uncalibrated; a link never beats its payload rate).
    flops_factor : float
        Training work relative to the forward pass (3); finite and >= 1 (1: forward only).
    overlap : array_like
        Fraction ``o`` in [0, 1] of the overlappable communication hidden behind the
        backward pass (default 0: no overlap, the seed model).
    bucket_bytes : array_like or None
        Gradient bucket size [B] (default 25 MiB, PyTorch DDP); None means one bucket
        holding the whole gradient (nothing can overlap).
    out : dict of numpy.ndarray, optional
        Arrays to write the results into, keyed as the returned dict (any subset of
        :data:`ITERATION_OUTPUTS`). Each must have a shape the inputs broadcast to; the
        times are written as float, ``communication_bound`` as 0/1 into any integer or bool
        array. Only the keys given are computed, each written once, and every intermediate
        stays at the inputs' broadcast shape: no full-size temporary (a sweep passes views
        of its output columns). The same floating-point operations as without ``out``.
    **topology
        Passed to :func:`~plaster_model.estimators.allreduce_time` (``devices_per_node``,
        ``nics_per_node``, ``beta_intra``, ``alpha_intra``, ``servers``, ``beta_server``,
        ``inter_algorithm``).

    Returns
    -------
    dict of numpy.ndarray
        ``compute_time_s``, ``communication_time_s`` (the whole all-reduce),
        ``exposed_communication_time_s`` (the part not hidden by overlap),
        ``overhead_time_s``, ``iteration_time_s`` [s], ``throughput_samples_s``
        [samples/s], ``comm_to_compute_ratio`` (``T_comm/T_compute``),
        ``communication_bound`` (bool, ``T_comm > T_compute``). With ``out``: ``out``
        itself, filled.

    Examples
    --------
    ResNet-50 (7.8 GFLOP forward, 25.6 M parameters) at batch 64 on 8 V100s, fp32 gradients
    over a 12.5 GB/s link: compute ``3·7.8e9·64/15.7e12`` = 95.4 ms, ring all-reduce
    ``2·7/8·102.4 MB/12.5 GB/s`` = 14.3 ms, of which all but the last 25 MiB bucket hides
    behind the backward pass:

    >>> out = data_parallel_iteration(7.8e9, 25.6e6, 8, 64, 15.7e12, 4, 12.5e9,
    ...                               algorithm="ring", overlap=1.0)
    >>> round(float(out["compute_time_s"]) * 1e3, 1), round(float(out["communication_time_s"]) * 1e3, 1)
    (95.4, 14.3)
    >>> bool(out["exposed_communication_time_s"] < out["communication_time_s"])
    True

    Written in place, for two batch sizes at once:

    >>> buf = {"iteration_time_s": np.empty(2), "communication_bound": np.empty(2, dtype=np.int8)}
    >>> _ = data_parallel_iteration(7.8e9, 25.6e6, 8, [64, 128], 15.7e12, 4, 12.5e9, algorithm="ring", out=buf)
    >>> (buf["iteration_time_s"] * 1e3).round(1).tolist(), buf["communication_bound"].tolist()
    ([109.7, 205.1], [0, 0])
    """
    if out is not None:
        unknown = set(out) - set(ITERATION_OUTPUTS)
        if unknown:
            raise ParameterTypeError("out", sorted(unknown),
                                     message=f"data_parallel_iteration: unknown out key(s) {sorted(unknown)}; "
                                             f"known: {list(ITERATION_OUTPUTS)}")
    # >= 1: the backward share (f - 1)/f of the compute time is never negative (issue 25)
    flops_factor = _factor(flops_factor, "flops_factor", low=1.0, include_low=True)
    if out is None and _plain_scalars(fwd_flops, params, n_devices, batch_per_device, gamma, grad_bytes, beta,
                                      alpha, overhead_s, comm_efficiency, overlap, bucket_bytes, topology):
        return _scalar_iteration(fwd_flops, params, n_devices, batch_per_device, gamma, grad_bytes, beta, alpha,
                                 algorithm, overhead_s, comm_efficiency, flops_factor, overlap, bucket_bytes,
                                 topology)
    f = np.asarray(_positive_array(fwd_flops, "flops", "fwd_flops"))
    # real-valued counts on purpose: training._crossover evaluates the iteration at real p
    p = np.asarray(_count_array(n_devices, "n_devices"))
    b = np.asarray(_positive_array(batch_per_device, "dimensionless", "batch_per_device"))
    eta = np.asarray(_fraction_array(comm_efficiency, "comm_efficiency", COMM_EFFICIENCY_MIN, 1.0))
    o = np.asarray(_fraction_array(overlap, "overlap"))
    gamma = _positive_array(gamma, "flop_rate", "gamma", allow_nan=True)
    t_compute = flops_factor * f * b / np.asarray(gamma, dtype=float)
    w = np.asarray(_positive_array(params, "dimensionless", "params")) \
        * np.asarray(_positive_array(grad_bytes, "bytes", "grad_bytes"))
    beta_eff = np.asarray(_positive_array(beta, "bandwidth", "beta"), dtype=float) * eta
    alpha = _positive_array(alpha, "time", "alpha", allow_zero=True)
    topo = dict(topology)
    for key in ("beta_intra", "beta_server"):
        if topo.get(key) is not None:
            topo[key] = np.asarray(topo[key], dtype=float) * eta
    t_comm = np.where(p > 1, allreduce_time(algorithm, w, p, beta_eff, alpha, **topo), 0.0)
    t_overhead = np.asarray(_positive_array(overhead_s, "time", "overhead_s", allow_zero=True))
    if np.any(o > 0):
        if bucket_bytes is None:
            w_last = w
        else:
            bucket = np.asarray(_positive_array(bucket_bytes, "bytes", "bucket_bytes"))
            w_last = np.minimum(w, bucket)
        t_last = np.where(p > 1, allreduce_time(algorithm, w_last, p, beta_eff, alpha, **topo), 0.0)
        t_rest = np.maximum(t_comm - t_last, 0.0)
        t_bwd = t_compute * (flops_factor - 1.0) / flops_factor
        # T_fwd + max(T_bwd, o·R) + (1−o)·R + T_last  ==  T_compute + T_comm − min(T_bwd, o·R):
        # written as a subtraction of the hidden part so that rounding can never make
        # an overlapped iteration slower than the serial one.
        hidden = np.minimum(t_bwd, o * t_rest)
    else:
        hidden = 0.0
    if out is not None:
        return _write_outputs(out, p, b, t_compute, t_comm, t_overhead, hidden)
    # every output shares the broadcast shape of all inputs; 0-d results come back as scalars
    shape = np.broadcast_shapes(*(np.shape(v) for v in (t_compute, t_comm, t_overhead, hidden, p, b)))
    res = {k: np.empty(shape, dtype=bool if k == "communication_bound" else float) for k in ITERATION_OUTPUTS}
    _write_outputs(res, p, b, t_compute, t_comm, t_overhead, hidden)
    return {k: v[()] if v.ndim == 0 else v for k, v in res.items()}


def _write_outputs(out, p, b, t_compute, t_comm, t_overhead, hidden):
    """The outputs of :func:`data_parallel_iteration` written into ``out``, each once.

    The operations, and their order, are those of the returned dict (``T_iter`` is
    ``((T_compute + T_comm) + T_overhead) − hidden``), so the values are bit-identical.
    A step adding or subtracting exact zeros is skipped: ``x + 0.0 == x`` for every
    ``x`` but −0.0, and ``T_compute > 0`` (or NaN) rules that out.
    """
    t_iter = out.get("iteration_time_s")
    if t_iter is None and "throughput_samples_s" in out:  # the rate needs T_iter: a temporary
        t_iter = np.empty(out["throughput_samples_s"].shape)
    nothing_hidden = np.ndim(hidden) == 0 and hidden == 0.0
    if t_iter is not None:
        np.add(t_compute, t_comm, out=t_iter)
        if np.any(t_overhead != 0.0):
            np.add(t_iter, t_overhead, out=t_iter)
        if not nothing_hidden:
            np.subtract(t_iter, hidden, out=t_iter)
    if "throughput_samples_s" in out:
        np.divide(p * b, t_iter, out=out["throughput_samples_s"])
    if "compute_time_s" in out:
        np.copyto(out["compute_time_s"], t_compute)
    if "communication_time_s" in out:
        np.copyto(out["communication_time_s"], t_comm)
    if "exposed_communication_time_s" in out:
        if nothing_hidden:  # a copy is twice as fast as subtracting a zero
            np.copyto(out["exposed_communication_time_s"], t_comm)
        else:
            np.subtract(t_comm, hidden, out=out["exposed_communication_time_s"])
    if "overhead_time_s" in out:
        np.copyto(out["overhead_time_s"], t_overhead)
    if "comm_to_compute_ratio" in out:
        with np.errstate(divide="ignore", invalid="ignore"):
            np.divide(t_comm, t_compute, out=out["comm_to_compute_ratio"])
    if "communication_bound" in out:
        # bool -> the caller's dtype: an int8 categorical code column takes 0/1 directly
        np.greater(t_comm, t_compute, out=out["communication_bound"])
    return out


# ---------------------------------------------------------------------------------------------
# The scalar path: one configuration on plain Python floats. A scalar prediction spent most of
# its time wrapping 0-d arrays; the operations below are those of the array path, in the same
# order, on IEEE doubles (a 0-d numpy operation and the Python one round alike), so every
# output is bit-identical. The all-reduce itself is the same call to ``allreduce_time``, with
# floats, so its scalar cache answers repeats (same bytes, devices and links at another batch).

#: Topology options that are names, not numbers (any other option must be a number or None).
_NAME_OPTIONS = frozenset({"inter_algorithm", "placement"})
_NAN = float("nan")


def _plain_scalars(*values) -> bool:
    """Whether every argument (the last: the topology dict) is a plain real scalar (or None
    where None is meaningful): then :func:`_scalar_iteration` answers without numpy arrays.
    Anything else (arrays, strings with units, bools) takes the array path unchanged."""
    *numbers, bucket_bytes, topology = values
    if not all(type(v) in _PLAIN_SCALARS for v in numbers):
        return False
    if bucket_bytes is not None and type(bucket_bytes) not in _PLAIN_SCALARS:
        return False
    for k, v in topology.items():
        if not (v is None or type(v) in _PLAIN_SCALARS or (k in _NAME_OPTIONS and type(v) is str)):
            return False
    return True


def _min(a, b):
    """``np.minimum`` on two floats: NaN if either is NaN (Python's ``min`` is order-dependent)."""
    return a if a <= b else b if b < a else _NAN


def _max(a, b):
    """``np.maximum`` on two floats (NaN propagates)."""
    return a if a >= b else b if b > a else _NAN


def _div(a, b):
    """``a / b`` as numpy divides (``x/0`` is ±inf or NaN, never an exception)."""
    if b != 0.0:
        return a / b
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.divide(a, b))


def _scalar_iteration(fwd_flops, params, n_devices, batch_per_device, gamma, grad_bytes, beta, alpha,
                      algorithm, overhead_s, comm_efficiency, flops_factor, overlap, bucket_bytes, topology):
    """:func:`data_parallel_iteration` of one configuration (plain scalars): the same checks in
    the same order, the same formula, Python floats; returns numpy scalars as the array path."""
    f = _positive_array(fwd_flops, "flops", "fwd_flops")
    p = _count_array(n_devices, "n_devices")
    b = _positive_array(batch_per_device, "dimensionless", "batch_per_device")
    eta = _fraction_array(comm_efficiency, "comm_efficiency", COMM_EFFICIENCY_MIN, 1.0)
    o = _fraction_array(overlap, "overlap")
    gamma = _positive_array(gamma, "flop_rate", "gamma", allow_nan=True)
    t_compute = flops_factor * f * b / gamma
    w = _positive_array(params, "dimensionless", "params") * _positive_array(grad_bytes, "bytes", "grad_bytes")
    beta_eff = _positive_array(beta, "bandwidth", "beta") * eta
    alpha = _positive_array(alpha, "time", "alpha", allow_zero=True)
    topo = dict(topology)
    for key in ("beta_intra", "beta_server"):
        if topo.get(key) is not None:
            topo[key] = float(topo[key]) * eta
    # evaluated at p = 1 too (as np.where does), so a bad topology is refused alike
    t_comm = _cached_allreduce_time(algorithm, w, p, beta_eff, alpha, topo)
    t_comm = float(t_comm) if p > 1 else 0.0
    t_overhead = _positive_array(overhead_s, "time", "overhead_s", allow_zero=True)
    hidden = 0.0
    if o > 0:
        if bucket_bytes is None:
            w_last = w
        else:
            w_last = _min(w, _positive_array(bucket_bytes, "bytes", "bucket_bytes"))
        t_last = _cached_allreduce_time(algorithm, w_last, p, beta_eff, alpha, topo)
        t_last = float(t_last) if p > 1 else 0.0
        t_rest = _max(t_comm - t_last, 0.0)
        t_bwd = t_compute * (flops_factor - 1.0) / flops_factor
        hidden = _min(t_bwd, o * t_rest)
    nothing_hidden = hidden == 0.0
    t_iter = t_compute + t_comm
    if t_overhead != 0.0:
        t_iter = t_iter + t_overhead
    if not nothing_hidden:
        t_iter = t_iter - hidden
    f64 = np.float64
    return {
        "compute_time_s": f64(t_compute),
        "communication_time_s": f64(t_comm),
        "exposed_communication_time_s": f64(t_comm if nothing_hidden else t_comm - hidden),
        "overhead_time_s": f64(t_overhead),
        "iteration_time_s": f64(t_iter),
        "throughput_samples_s": f64(_div(p * b, t_iter)),
        "comm_to_compute_ratio": f64(_div(t_comm, t_compute)),
        "communication_bound": np.bool_(t_comm > t_compute),
    }
