"""The forward model the calibration fits: time per iteration (or per inference batch).

Training (the data-parallel model of :func:`plaster_model.estimators.data_parallel_iteration`,
with the overlap of the row's communication backend)::

    T = C + (A/η_comm + L) + t_oh − min(⅔·C, o·((A − A_last)/η_comm + L − L_last)),
    C = 3·F·b / (η·κ_m·γ_peak)

with ``A/η_comm + L`` the all-reduce of ``w = P·s`` gradient bytes over the row's link with
its backend's algorithm (``A`` its bandwidth part, ``L`` its latency part; every α-β formula
has this form, since ``data_parallel_iteration`` scales the bandwidth by ``η_comm``),
``A_last, L_last`` those of the last 25 MiB bucket (a backend that reduces layer by layer:
the first layer's gradient, reduced last), and ``o`` the backend's overlap.

Inference (:func:`plaster_model.inference.inference_batch_time`)::

    T = t0 + max(F·b / (η·κ_m·γ_peak), (W + A·b) / (η_m·bw_peak))

with ``t0`` the row's share of its group's per-batch overhead (the group's ``t0`` times
``K_m/K̄_g``, applied by :meth:`~plaster_model.calibration.fit.Layout.unpack`; the
functions here take each row's ``t`` as given), ``W = P·bytes(precision)`` the weights read once per batch and ``A`` the activation
traffic per sample that :func:`plaster_model.inference.latency_throughput_curve` counts
(:func:`~plaster_model.inference.api.inference_workload`; 0 for models without an
activation figure). ``κ_m`` is the model factor (1 when model factors are off or the model was not
seen). The prediction of a row is ``exp(s·log T + c)`` (see :mod:`.rows`), and
``scaling_efficiency`` is ``T(p=1)/T(p)``. A row's measured host-transfer time (``extra_s``,
trtexec throughput rows) is added to ``T``.

:func:`log_prediction` evaluates this in closed form with its Jacobian (the fit's inner
loop); :func:`reference_times` evaluates the same rows through the library's own
``data_parallel_iteration`` and ``inference_batch_time`` (the tests check they agree).
"""
from __future__ import annotations

import numpy as np

__all__ = ["log_prediction", "reference_times"]


def _terms(rows, eta, t, eta2, kappa):
    from ..estimators.data_parallel import TRAINING_FLOPS_FACTOR

    training = np.asarray(rows.phase, dtype=object) == "training"
    comp = rows.compute_s / (eta * kappa)
    comm = np.where(training, rows.comm_a / eta2 + rows.comm_l, 0.0)
    # overlap (data_parallel_iteration's model): all but the last bucket may hide behind the
    # backward pass, (f−1)/f of the compute
    bwd_frac = (TRAINING_FLOPS_FACTOR - 1.0) / TRAINING_FLOPS_FACTOR
    rest = np.maximum(np.where(training, (rows.comm_a - rows.last_a) / eta2 + (rows.comm_l - rows.last_l), 0.0), 0.0)
    bwd_limited = bwd_frac * comp < rows.overlap * rest  # the whole backward pass is hidden under
    hidden = np.where(training, np.minimum(bwd_frac * comp, rows.overlap * rest), 0.0)
    mem = np.where(training, 0.0, (rows.weight_bytes + rows.act_bytes * rows.batch) / (eta2 * rows.bandwidth))
    mem_bound = ~training & (mem > comp)
    T = np.where(training, comp + comm + t - hidden, t + np.where(mem_bound, mem, comp)) + rows.extra_s
    return training, comp, comm, mem, mem_bound, T, bwd_limited & training, bwd_frac


def log_prediction(rows, eta, t, eta2, kappa, jacobian=False):
    """Log of the predicted ``value`` of each row, and optionally its derivatives.

    Parameters
    ----------
    rows : RowTable
        Resolved rows (only ``ok`` rows give finite results).
    eta : array_like
        Compute efficiency η per row [-].
    t : array_like
        Per-iteration overhead ``t_oh`` (training) or per-batch ``t0`` (inference) [s].
    eta2 : array_like
        ``η_comm`` (training) or ``η_m`` (inference) per row [-].
    kappa : array_like
        Model factor κ per row [-].
    jacobian : bool
        Also return the derivatives of the log prediction with respect to
        ``(log η, t, log η2, log κ)``, shape (n, 4).

    Returns
    -------
    numpy.ndarray or (numpy.ndarray, numpy.ndarray)
    """
    training, comp, comm, mem, mem_bound, T, bwd_limited, bwd_frac = _terms(rows, eta, t, eta2, kappa)
    metric = np.asarray(rows.metric, dtype=object)
    scaling = metric == "scaling_efficiency"
    T1 = comp + t  # one device: no exchange (training only)
    with np.errstate(divide="ignore", invalid="ignore"):
        logT = np.log(T)
        out = np.where(scaling, np.log(T1) - logT, rows.sign * logT + rows.const)
    if not jacobian:
        return out
    # d log T / d (log η, t, log η2); κ enters exactly like η
    # hidden = min(bwd·comp, o·rest): when the backward pass is the limit, it cancels 2/3 of
    # the compute's sensitivity; otherwise o·rest cancels part of the communication's
    comp_part = np.where(mem_bound, 0.0, np.where(bwd_limited, comp * (1.0 - bwd_frac), comp))
    comm_part = np.where(bwd_limited, rows.comm_a / eta2,
                         rows.comm_a / eta2 - rows.overlap * np.maximum(rows.comm_a - rows.last_a, 0.0) / eta2)
    with np.errstate(divide="ignore", invalid="ignore"):
        d_eta = -comp_part / T
        d_t = 1.0 / T
        d_eta2 = np.where(training, -comm_part / T, np.where(mem_bound, -mem / T, 0.0))
        s = rows.sign
        J = np.column_stack([s * d_eta, s * d_t, s * d_eta2, s * d_eta])
        # scaling efficiency: d log T1 − d log T
        d1_eta = -comp / T1
        d1_t = 1.0 / T1
        Js = np.column_stack([d1_eta - d_eta, d1_t - d_t, -d_eta2, d1_eta - d_eta])
    J = np.where(scaling[:, None], Js, J)
    return out, J


def reference_times(rows, eta, t, eta2, kappa):
    """Time per iteration/batch ``T`` [s] through the library's own estimators (plus the
    row's measured host-transfer time ``extra_s``, see :mod:`.rows`).

    Training rows go through :func:`plaster_model.estimators.data_parallel_iteration` (with
    ``γ = η·κ·γ_peak``, ``overhead_s = t_oh``, ``comm_efficiency = η_comm``, each row's
    backend algorithm and overlap, and its node layout), inference rows
    through :func:`plaster_model.inference.inference_batch_time`. NaN for rows that are
    not ``ok``.
    """
    from ..estimators.inference import inference_batch_time
    from ..estimators.iteration import data_parallel_iteration

    n = len(rows.ok)
    eta, t, eta2, kappa = (np.broadcast_to(np.asarray(v, dtype=float), (n,)) for v in (eta, t, eta2, kappa))
    T = np.full(n, np.nan)
    training = rows.ok & (np.asarray(rows.phase, dtype=object) == "training")
    inference = rows.ok & ~training
    algos = np.asarray(rows.algorithm, dtype=object)
    for algo in {a for a, m in zip(algos, training) if m}:
        m = training & (algos == algo)
        topo = {"devices_per_node": rows.devices_per_node[m], "nics_per_node": np.ones(m.sum()),
                "beta_intra": rows.beta_intra[m], "alpha_intra": rows.alpha_intra[m]}
        T[m] = data_parallel_iteration(
            rows.fwd_flops[m], rows.params[m], rows.n_devices[m], rows.batch[m],
            rows.peak_effective[m] * eta[m] * kappa[m], rows.grad_bytes[m], rows.beta[m], rows.alpha[m],
            algorithm=algo or "auto", overhead_s=t[m], comm_efficiency=np.minimum(eta2[m], 1.0),
            overlap=rows.overlap[m], **topo,
            **({} if rows.last_bytes is None else {"bucket_bytes": rows.last_bytes[m]}))["iteration_time_s"]
    if inference.any():
        m = inference
        T[m] = inference_batch_time(rows.fwd_flops[m], rows.weight_bytes[m], rows.act_bytes[m], rows.batch[m],
                                    rows.peak_effective[m] * eta[m] * kappa[m], rows.bandwidth[m] * eta2[m], t[m])
    return T + rows.extra_s
