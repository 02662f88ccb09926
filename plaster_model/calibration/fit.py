"""Joint robust least-squares fit of the calibration parameters, and its bootstrap.

Parameters (``G`` groups, ``M`` models)::

    x = [log η_g, t_g / τ_g, log η2_g]  for g = 1..G,  then [log κ_m] for m = 1..M,
        then [log η_comm,c] for c = 1..C

``η_g`` is the compute efficiency of group ``g`` (fraction of the catalog peak), ``t_g`` its
per-iteration overhead (training) or per-batch ``t0`` (inference) in units of ``τ_g``, the
group's median measured time (for conditioning), ``η2_g`` its memory efficiency (inference;
unused by training groups), ``κ_m`` the model factor shared by every group (held at 1 when
model factors are off), and ``η_comm,c`` the communication efficiency of each (backend, link
class) ``c`` that multi-device training rows used — keyed by how a run communicated, not by
its device: a parameter server over 10 GbE says nothing of NCCL rings over NVLink.

The model factor is kept per phase, ``κ_(m, phase)``: training runs each convolution three
times (forward, data gradient, weight gradient) with other algorithms than inference's
forward pass alone, so a model's speed per nominal FLOP in training says little about its
inference (and the other way round); a model seen in one phase only lends its factor to the
other with the model-to-model spread. An inference batch's overhead is a cost per operator:
the runtime dispatches and launches each of the model's ``K_m`` operators
(:attr:`plaster_model.Model.kernels`) on its own, so a row pays ``t_g·K_m/K̄_g``, with ``t_g``
the overhead of the group's typical model (``K̄_g``, the median ``K`` of its rows): AlexNet's
20 operators cost a ninth of ResNet-50's 174. (A training step's overhead also holds the
optimizer update and the input pipeline, which do not follow the forward pass's operators,
and stays one figure per group.) The residual of row ``i`` is the log ratio of prediction and measurement::

    r_i = log ŷ_i − log y_i

minimised with :func:`scipy.optimize.least_squares` (trust-region reflective, analytic
Jacobian, bounds ``10⁻⁵ ≤ η ≤ 1``, ``η_m ≤ 1``, ``η_comm ≤ 1`` (no memory beats its DRAM
peak, no link its payload rate), ``t ≥ 0``, ``0.2 ≤ κ ≤ 5``) under a robust loss. Compute
may exceed the direct-count peak only through ``κ``: Winograd/FFT kernels do less
arithmetic than the zoo's direct count for 3×3 convolutions. Weak
Gaussian priors (pseudo-residuals ``w·(x − x₀)/σ``) keep parameters the data do not
determine at their neutral value instead of letting them wander: ``log κ`` (σ = 1; it also
shrinks the factor of a model with few rows), ``log η_comm`` and
``log η_m`` (σ = 1, towards 1) and ``t/τ`` (σ = 1, towards 0). One more pseudo-residual per
connected component of the group–model graph, ``mean_m(log κ_m)`` over its models, fixes the
direction ``(η_g·c, κ_m/c)`` the data cannot see: within each set of groups and models
linked by shared rows the factors have a geometric mean of 1 (a component holding one model
gives it κ = 1, and its groups' η are then plain efficiencies).
"""
from __future__ import annotations
from ..errors import CalibrationError, ParameterError

import math
from dataclasses import dataclass

import numpy as np

from ..estimators._validate import COMPUTE_EFFICIENCY_MAX, TRANSFER_EFFICIENCY_MAX
from .predict import log_prediction

__all__ = ["Layout", "build_layout", "solve", "parameter_blocks", "bootstrap", "factor_family", "factor_key", "ETA_BOUNDS",
           "KAPPA_BOUNDS", "FACTOR_FAMILIES", "OPERATOR_SCALED_PHASES"]

#: Bounds of every efficiency (η, η_comm, η_m): a fraction of the catalog peak, DRAM
#: bandwidth or link payload rate. Faster-than-direct-count convolutions are the model
#: factor's business (:data:`KAPPA_BOUNDS`).
ETA_BOUNDS = (1e-5, TRANSFER_EFFICIENCY_MAX)
#: Bounds of the model factors κ.
KAPPA_BOUNDS = (0.2, COMPUTE_EFFICIENCY_MAX)
#: Models that share one factor κ: variants of one architecture whose FLOP counts already
#: differ in the zoo. ResNet-50 v1.5 moves the stride of each downsampling bottleneck from
#: the first 1×1 to the 3×3 convolution (same layers and kernels, 5 % more FLOPs).
FACTOR_FAMILIES = {"ResNet-50 v1.5": "ResNet-50"}
#: Weight of a prior pseudo-residual, in log-residual units (a data row 10 % off weighs
#: like a parameter one prior standard deviation away from its neutral value).
PRIOR_WEIGHT = 0.1
PRIOR_SD = {"kappa": 1.0, "eta2": 1.0, "t": 1.0}
#: Phases whose per-batch overhead scales with the model's operator count (see the module
#: docstring): inference; a training step's overhead is one figure per group.
OPERATOR_SCALED_PHASES = ("inference",)


@dataclass
class Layout:
    """Where each parameter sits in ``x`` and which row uses which parameter."""

    groups: list          # group keys, in x order
    phases: list          # "training" / "inference" per group
    models: list          # model names with a factor, in x order
    tau: np.ndarray       # per-group time scale [s]
    row_group: np.ndarray  # group index per row
    row_model: np.ndarray  # model index per row, -1 without a factor
    free: np.ndarray      # bool per parameter
    components: list = None  # model indices per connected component (one gauge each)
    comm_keys: list = None   # (backend, link class) with a communication efficiency, in x order
    row_comm: np.ndarray = None  # comm-key index per row, -1 for rows without an exchange
    row_ops: np.ndarray = None  # the row's overhead / its group's: K_m / K̄_g (1 where not scaled)
    row_kernels: np.ndarray = None  # K_m: operators per forward pass of the row's model (0: unknown)
    kernels_ref: np.ndarray = None  # K̄_g: median operators of the group's rows' models (NaN: unknown)

    @property
    def n_params(self) -> int:
        return 3 * len(self.groups) + len(self.models) + len(self.comm_keys or ())

    @property
    def comm_offset(self) -> int:
        return 3 * len(self.groups) + len(self.models)

    def unpack(self, x, rows_group=None, rows_model=None, rows_comm=None, rows_ops=None):
        """Per-row (η, t, η2, κ) arrays for parameter vector ``x`` (η2: η_comm of the row's
        (backend, link class) for multi-device training rows, else the group's η2; t: the
        group's overhead scaled by the row's operator ratio ``K_m/K̄_g``)."""
        g = self.row_group if rows_group is None else rows_group
        m = self.row_model if rows_model is None else rows_model
        c = self.row_comm if rows_comm is None else rows_comm
        ops = self.row_ops if rows_group is None else rows_ops  # per-row arrays come together
        G = len(self.groups)
        eta = np.exp(x[3 * g])
        t = x[3 * g + 1] * self.tau[g]
        if ops is not None:
            t = t * ops
        eta2 = np.exp(x[3 * g + 2])
        if self.comm_keys:
            eta2 = np.where(c >= 0, np.exp(x[self.comm_offset + np.maximum(c, 0)]), eta2)
        kappa = np.where(m >= 0, np.exp(x[3 * G + np.maximum(m, 0)]), 1.0) if self.models else np.ones(len(g))
        return eta, t, eta2, kappa


def measured_time(rows) -> np.ndarray:
    """Time per iteration/batch implied by each measured value [s] (NaN for ratios)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.exp((np.log(rows.value) - rows.const) / rows.sign)
    return np.where(np.asarray(rows.metric, dtype=object) == "scaling_efficiency", np.nan, out)


def build_layout(rows, model_factors: bool) -> Layout:
    """Groups and models of the (``ok``) rows to fit."""
    groups = sorted(set(rows.group), key=lambda k: tuple(str(v) for v in k))
    gi = {g: i for i, g in enumerate(groups)}
    row_group = np.array([gi[g] for g in rows.group], dtype=int)
    families = [factor_key(m, ph) for m, ph in zip(rows.model, rows.phase)]
    models = sorted(set(families)) if model_factors else []
    mi = {m: i for i, m in enumerate(models)}
    row_model = np.array([mi.get(m, -1) for m in families], dtype=int)
    phases = [g[2] for g in groups]
    t_meas = measured_time(rows)
    tau = np.array([np.nanmedian(t_meas[row_group == i]) if np.any(np.isfinite(t_meas[row_group == i]))
                    else 1.0 for i in range(len(groups))])
    comm_keys = sorted({k for k in rows.comm_key if k is not None})
    ci = {k: i for i, k in enumerate(comm_keys)}
    row_comm = np.array([ci.get(k, -1) if k is not None else -1 for k in rows.comm_key], dtype=int)
    free = np.ones(3 * len(groups) + len(models) + len(comm_keys), dtype=bool)
    for i, ph in enumerate(phases):
        if ph == "training":
            free[3 * i + 2] = False  # training exchanges use the comm-key parameters
    kernels = np.nan_to_num(np.asarray(rows.kernels, dtype=float), nan=0.0)
    scaled = np.isin(np.asarray(rows.phase, dtype=object), list(OPERATOR_SCALED_PHASES)) & (kernels > 0)
    kref = np.array([np.median(kernels[(row_group == i) & scaled]) if np.any((row_group == i) & scaled)
                     else np.nan for i in range(len(groups))])
    ops = operator_ratio(kernels, kref[row_group], scaled)
    return Layout(groups, phases, models, tau, row_group, row_model, free,
                  _components(row_group, row_model, len(models)), comm_keys, row_comm, ops, kernels, kref)


def operator_ratio(kernels, kernels_ref, scaled=True):
    """``K_m / K̄_g``: the share of a group's per-batch overhead a row's model pays (1 where
    either count is unknown or the phase is not operator-scaled)."""
    k = np.asarray(kernels, dtype=float)
    ref = np.asarray(kernels_ref, dtype=float)
    ok = np.asarray(scaled, dtype=bool) & (k > 0) & np.isfinite(ref) & (ref > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ok, k / np.where(ok, ref, 1.0), 1.0)


def factor_key(model: str, phase: str) -> tuple[str, str]:
    """The factor κ a row of ``model`` in ``phase`` uses: ``(factor_family(model), phase)``."""
    return (factor_family(model), phase)


def factor_family(model: str) -> str:
    """The name whose factor κ a model shares (:data:`FACTOR_FAMILIES`, else itself)."""
    return FACTOR_FAMILIES.get(model, model)


def _labels(n: int, pairs) -> np.ndarray:
    """Connected-component label of each of ``n`` nodes linked by the index ``pairs``."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    pairs = np.asarray(pairs, dtype=int).reshape(-1, 2)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _components(row_group, row_model, n_models) -> list:
    """Model indices of each connected component of the group–model graph (two models are
    linked when some group has rows of both). Each component has its own unseen direction
    ``(η_g·c, κ_m/c)``, so each gets its own gauge."""
    pairs = []
    for g in np.unique(row_group):
        ms = np.unique(row_model[(row_group == g) & (row_model >= 0)])
        pairs += [(ms[0], m) for m in ms[1:]]
    labels = _labels(n_models, pairs)
    comps: dict[int, list] = {}
    for m in range(n_models):
        comps.setdefault(int(labels[m]), []).append(m)
    return list(comps.values())


def initial_guess(rows, layout: Layout) -> np.ndarray:
    """Start: κ = 1, η from the median of ``T_compute(η=1)/T_measured`` per group,
    overheads at 1 % of the group's median time, η2 = 1 (inference groups: the largest
    single-model curve fitted by :func:`plaster_model.inference.fit_inference_curve`)."""
    x = np.zeros(layout.n_params)
    t_meas = measured_time(rows)
    lo, hi = ETA_BOUNDS
    for i, ph in enumerate(layout.phases):
        m = layout.row_group == i
        ratio = rows.compute_s[m] / (t_meas[m] - rows.last_a[m] - rows.last_l[m])
        ratio = ratio[np.isfinite(ratio) & (ratio > 0)]
        eta0 = float(np.clip(np.median(ratio), lo * 2, hi * 0.95)) if ratio.size else 0.5
        x[3 * i] = math.log(eta0)
        x[3 * i + 1] = 0.01
        if ph == "inference":
            start = _inference_start(rows, m, t_meas)
            if start is not None:
                x[3 * i:3 * i + 3] = [math.log(np.clip(start[0], lo * 2, hi * 0.95)),
                                      max(start[1] / layout.tau[i], 0.01),
                                      math.log(np.clip(start[2], lo * 2, hi * 0.95))]
    x[layout.comm_offset:] = math.log(0.8)
    return x


def _inference_start(rows, mask, t_meas):
    """(η_c, t0, η_m) of the inference roofline fitted to the largest one-model curve."""
    idx = np.flatnonzero(mask & np.isfinite(t_meas))
    if idx.size < 3:
        return None
    names = np.asarray(rows.model, dtype=object)[idx]
    # sorted first: a tie must not be broken by set order, which changes with PYTHONHASHSEED
    best = max(sorted(set(names)), key=lambda n: np.unique(rows.batch[idx[names == n]]).size)
    sel = idx[names == best]
    batches = np.unique(rows.batch[sel])
    if batches.size < 3:
        return None
    times = np.array([np.median(t_meas[sel][rows.batch[sel] == b]) for b in batches])
    try:
        from ..inference.fit import fit_inference_curve

        fit = fit_inference_curve(batches, times, fwd_flops=rows.fwd_flops[sel[0]],
                                  weight_bytes=rows.weight_bytes[sel[0]],
                                  peak_flops=rows.peak[sel[0]], peak_bandwidth=rows.bandwidth[sel[0]])
    except (ImportError, ValueError, np.linalg.LinAlgError):
        return None
    return fit.compute_efficiency, fit.t0_s, fit.memory_efficiency


def _bounds(layout: Layout):
    G = len(layout.groups)
    lo = np.empty(layout.n_params)
    hi = np.empty(layout.n_params)
    for i in range(G):
        lo[3 * i:3 * i + 3] = [math.log(ETA_BOUNDS[0]), 0.0, math.log(ETA_BOUNDS[0])]
        hi[3 * i:3 * i + 3] = [math.log(ETA_BOUNDS[1]), np.inf, math.log(ETA_BOUNDS[1])]
    M = len(layout.models)
    lo[3 * G:3 * G + M] = math.log(KAPPA_BOUNDS[0])
    hi[3 * G:3 * G + M] = math.log(KAPPA_BOUNDS[1])
    lo[layout.comm_offset:] = math.log(ETA_BOUNDS[0])
    hi[layout.comm_offset:] = math.log(ETA_BOUNDS[1])
    return lo, hi


def _prior_rows(layout: Layout):
    """(parameter index, 1/σ) of every prior pseudo-residual (towards x = 0)."""
    idx, inv = [], []
    G = len(layout.groups)
    for i in range(G):
        idx.append(3 * i + 1)
        inv.append(1.0 / PRIOR_SD["t"])
        if layout.free[3 * i + 2]:
            idx.append(3 * i + 2)
            inv.append(1.0 / PRIOR_SD["eta2"])
    for j in range(len(layout.models)):
        idx.append(3 * G + j)
        inv.append(1.0 / PRIOR_SD["kappa"])
    for c in range(len(layout.comm_keys or ())):
        idx.append(layout.comm_offset + c)  # towards η_comm = 1, the link's payload rate
        inv.append(1.0 / PRIOR_SD["eta2"])
    return np.array(idx, dtype=int), PRIOR_WEIGHT * np.array(inv)


#: Weight of the gauge pseudo-residual ``mean_m(log κ_m)``: the data cannot tell a common
#: factor of all κ from one of all η, so the κ are pinned to a geometric mean of 1 (a model
#: without a factor then runs like the typical fitted model).
GAUGE_WEIGHT = 10.0


def _objective(rows, layout: Layout, x0, sel=None, block=None):
    """``evaluate(x_free) -> (r, J)``: the residual vector (data rows ``sel``, then the prior
    and gauge pseudo-rows) and its Jacobian over the free parameters, cached per point.

    ``sel`` holds increasing, distinct row indices (a bootstrap resample passes its repeats
    as loss weights, :func:`_weighted_loss`); only those rows are evaluated. ``block`` (bool
    per parameter) limits the free parameters, priors and gauges to one block of
    :func:`parameter_blocks` (the rows ``sel`` must be the block's)."""
    n = len(rows.ok)
    if sel is None:
        sel = np.arange(n)
        sub = rows
    else:
        sel = np.asarray(sel, dtype=int)
        if sel.size and (np.any(np.diff(sel) <= 0) or sel[0] < 0 or sel[-1] >= n):
            raise ParameterError("sel", sel, message="sel must hold increasing, distinct row indices")
        mask = np.zeros(n, dtype=bool)
        mask[sel] = True
        sub = rows.subset(mask)
    logy = np.log(sub.value)
    G = len(layout.groups)
    block = np.ones(layout.n_params, dtype=bool) if block is None else np.asarray(block, dtype=bool)
    pidx, pinv = _prior_rows(layout)
    keep = block[pidx]
    pidx, pinv = pidx[keep], pinv[keep]
    free = np.flatnonzero(layout.free & block)
    g_sel, m_sel = layout.row_group[sel], layout.row_model[sel]
    c_sel = layout.row_comm[sel]
    o_sel = layout.row_ops[sel]
    comps = [np.array(c) for c in (layout.components or []) if block[3 * G + np.array(c)].all()]
    n_rows = sel.size + pidx.size + len(comps)
    # Where each row's four derivatives land in the full Jacobian (fixed for the fit): the
    # Jacobian is block-sparse (a row touches its group, its model and its link class), so
    # it is scattered into one preallocated array instead of rebuilt per evaluation.
    ar = np.arange(sel.size)
    has_m = m_sel >= 0
    col_eta2 = np.where(c_sel >= 0, layout.comm_offset + np.maximum(c_sel, 0), 3 * g_sel + 2)
    col_kappa = 3 * G + np.maximum(m_sel, 0)
    tau = layout.tau[g_sel] * o_sel  # d t / d x[3g+1]
    J = np.zeros((n_rows, layout.n_params))
    for k, c in enumerate(comps):
        J[sel.size + pidx.size + k, 3 * G + c] = GAUGE_WEIGHT / len(c)
    J[sel.size + np.arange(pidx.size), pidx] = pinv
    cache = {}

    def evaluate(xf):
        key = xf.tobytes()
        if key not in cache:
            x = x0.copy()
            x[free] = xf
            eta, t, eta2, kappa = layout.unpack(x, g_sel, m_sel, c_sel, o_sel)
            lp, J4 = log_prediction(sub, eta, t, eta2, kappa, jacobian=True)
            gauge = [GAUGE_WEIGHT * np.mean(x[3 * G + c]) for c in comps]
            r = np.concatenate([lp - logy, pinv * x[pidx], gauge])
            J[:sel.size] = 0.0
            J[ar, 3 * g_sel] = J4[:, 0]
            J[ar, 3 * g_sel + 1] = J4[:, 1] * tau
            J[ar, col_eta2] = J4[:, 2]
            if layout.models:
                J[ar[has_m], col_kappa[has_m]] = J4[has_m, 3]
            cache.clear()
            cache[key] = (r, J[:, free])
        return cache[key]

    return evaluate, sel.size


def _rho(loss: str, z) -> np.ndarray:
    """``(ρ(z), ρ'(z), ρ''(z))`` of scipy's named robust ``loss`` at ``z = (r/f)²``, shape (3, n)."""
    z = np.asarray(z, dtype=float)
    out = np.empty((3, z.size))
    if loss == "linear":
        out[0], out[1], out[2] = z, 1.0, 0.0
    elif loss == "soft_l1":
        t = 1.0 + z
        out[0], out[1], out[2] = 2.0 * (np.sqrt(t) - 1.0), t ** -0.5, -0.5 * t ** -1.5
    elif loss == "huber":
        small = z <= 1.0
        zs = np.maximum(z, 1e-300)
        out[0] = np.where(small, z, 2.0 * np.sqrt(zs) - 1.0)
        out[1] = np.where(small, 1.0, zs ** -0.5)
        out[2] = np.where(small, 0.0, -0.5 * zs ** -1.5)
    elif loss == "cauchy":
        out[0], out[1], out[2] = np.log1p(z), 1.0 / (1.0 + z), -1.0 / (1.0 + z) ** 2
    elif loss == "arctan":
        out[0], out[1], out[2] = np.arctan(z), 1.0 / (1.0 + z ** 2), -2.0 * z / (1.0 + z ** 2) ** 2
    else:
        raise CalibrationError(f"loss {loss!r} is unknown")
    return out


def _weighted_loss(loss: str, weights):
    """scipy's robust ``loss`` with row ``weights``, as a callable for ``least_squares``:
    ``Σ w_i·ρ(z_i)`` is the loss of a resample that holds row ``i`` ``w_i`` times, so a
    bootstrap refit evaluates each distinct row once."""
    w = np.asarray(weights, dtype=float)
    _rho(loss, np.zeros(1))  # an unknown name fails here, not inside the solver

    def rho(z):
        return _rho(loss, z) * w

    return rho


#: Tolerance (``ftol`` = ``xtol`` = ``gtol`` of ``least_squares``) of a bootstrap refit. A
#: draw needs its parameters to well under their spread across draws (typically a few
#: hundredths in log units), not to 1e-8: at 1e-3 a refit from the converged fit takes about
#: a third of the evaluations (11 instead of 32 on the published data) and the spread of the
#: draws is the same (``tests/test_calibration_speed.py`` compares them).
BOOTSTRAP_TOL = 1e-3


def parameter_blocks(layout: Layout) -> list:
    """Sets of parameters no row links: ``[(row mask, parameter mask), ...]``.

    A row ties its group's three parameters, its model factor and its communication key
    together; parameters that no chain of rows connects (training and inference, whose
    model factors are per phase, or devices that share no model) are separate least-squares
    problems. Solved apart, each converges on its own terms (a tolerance relative to its own
    cost, not to the whole table's, so adding training rows cannot move an inference fit)
    and the trust-region steps factor small matrices (cost ∝ rows × parameters²)."""
    G = len(layout.groups)
    cols = [3 * layout.row_group, 3 * layout.row_group + 1,
            np.where(layout.row_comm >= 0, layout.comm_offset + np.maximum(layout.row_comm, 0),
                     3 * layout.row_group + 2)]
    if layout.models:
        cols.append(np.where(layout.row_model >= 0, 3 * G + np.maximum(layout.row_model, 0), 3 * layout.row_group))
    links = np.unique(np.column_stack(cols), axis=0)
    pairs = [np.column_stack([links[:, 0], links[:, k]]) for k in range(1, links.shape[1])]
    pairs.append(np.column_stack([3 * np.arange(G), 3 * np.arange(G) + 2]))  # a training group's unused η2
    labels = _labels(layout.n_params, np.vstack(pairs))
    row_label = labels[3 * layout.row_group]
    out = []
    for r in sorted(set(row_label.tolist())):
        out.append((row_label == r, labels == r))
    return out


def solve(rows, layout: Layout, x0, *, sel=None, weights=None, loss="soft_l1", f_scale=0.1,
          max_nfev=None, tol=1e-8):
    """Fit ``x`` to the rows ``sel`` (increasing, distinct indices into ``rows``; default
    all), row ``sel[i]`` counted ``weights[i]`` times (default once), to tolerance ``tol``:
    one least-squares problem per block of :func:`parameter_blocks`.

    Returns
    -------
    x : numpy.ndarray
        The full parameter vector (fixed entries as in ``x0``).
    result : types.SimpleNamespace
        ``fun`` (the residuals of every block, concatenated), ``jac`` (their Jacobian over
        all free parameters, block-diagonal), ``cost``, ``nfev``, ``status`` (the worst) and
        ``success``.
    """
    from types import SimpleNamespace

    from scipy.optimize import least_squares

    n = len(rows.ok)
    sel = np.arange(n) if sel is None else np.asarray(sel, dtype=int)
    w_all = None if weights is None else np.asarray(weights, dtype=float)
    lo, hi = _bounds(layout)
    x = x0.copy()
    free_all = np.flatnonzero(layout.free)
    col_of = {p: k for k, p in enumerate(free_all)}
    funs, jacs, cost, nfev, status = [], [], 0.0, 0, []
    for row_mask, block in parameter_blocks(layout):
        pick = row_mask[sel]
        if not pick.any():
            continue
        evaluate, n_data = _objective(rows, layout, x0, sel[pick], block)
        free = np.flatnonzero(layout.free & block)
        bloss = loss
        if w_all is not None:
            n_pseudo = evaluate(x0[free])[0].size - n_data
            bloss = _weighted_loss(loss, np.concatenate([w_all[pick], np.ones(n_pseudo)]))
        start = np.clip(x0[free], lo[free] + 1e-9, np.where(np.isfinite(hi[free]), hi[free] - 1e-9, np.inf))
        res = least_squares(lambda xf: evaluate(xf)[0], start, jac=lambda xf: evaluate(xf)[1],
                            bounds=(lo[free], hi[free]), loss=bloss, f_scale=f_scale, method="trf",
                            x_scale="jac", max_nfev=max_nfev, ftol=tol, xtol=tol, gtol=tol)
        x[free] = res.x
        J = np.zeros((res.fun.size, free_all.size))
        J[:, [col_of[p] for p in free]] = res.jac
        funs.append(res.fun)
        jacs.append(J)
        cost += float(res.cost)
        nfev += int(res.nfev)
        status.append(int(res.status))
    out = SimpleNamespace(fun=np.concatenate(funs) if funs else np.zeros(0),
                          jac=np.vstack(jacs) if jacs else np.zeros((0, free_all.size)), cost=cost,
                          nfev=nfev, status=min(status) if status else 0, success=bool(status) and min(status) > 0)
    return x, out


def _resample_counts(layout: Layout, n_bootstrap: int, rng) -> np.ndarray:
    """``(n_bootstrap, n_rows)`` counts of each row in resamples drawn with replacement
    **within each group** (so every group keeps its size)."""
    n = layout.row_group.size
    counts = np.zeros((n_bootstrap, n))
    for i in range(len(layout.groups)):
        g = np.flatnonzero(layout.row_group == i)
        picks = rng.integers(0, g.size, size=(n_bootstrap, g.size))
        np.add.at(counts, (np.arange(n_bootstrap)[:, None], g[picks]), 1.0)
    return counts


def _loss_weights(r, loss: str, f_scale: float) -> np.ndarray:
    """IRLS weights ``ρ'((r/f)²)`` of scipy's robust losses at the residuals ``r``."""
    return _rho(loss, (np.asarray(r, dtype=float) / f_scale) ** 2)[1]


def bootstrap(rows, layout: Layout, x_hat, n_bootstrap: int, rng, *, method="refit",
              loss="soft_l1", f_scale=0.1) -> np.ndarray:
    """Parameter draws ``(n_bootstrap, n_params)`` from row resamples drawn with replacement
    within each group.

    ``method="refit"`` (default) refits every resample from ``x̂`` (warm start), each
    distinct row evaluated once with its count as a loss weight, to :data:`BOOTSTRAP_TOL`.
    ``"linearized"`` takes, for each resample, the Gauss-Newton step of the reweighted problem from
    the converged ``x̂``: with the Jacobian ``J`` and robust (IRLS) weights ``w`` at ``x̂``
    and resample counts ``c``, ``Δ = −(Jᵀ·diag(c·w)·J)⁻¹·Jᵀ·diag(c·w)·r`` (the one-step
    bootstrap, Davison & Hinkley 1997, §6.2; exact for a linear model). All resamples are one
    batched solve, so 200 draws cost about one refit; but the model is piecewise (roofline
    maxima, overlap minima, bounds), and near a kink one step underestimates the spread.
    Draws are clipped to the parameter bounds.
    """
    counts = _resample_counts(layout, n_bootstrap, rng)
    if method == "refit":
        draws = np.empty((n_bootstrap, layout.n_params))
        for k in range(n_bootstrap):
            sel = np.flatnonzero(counts[k])
            draws[k], _ = solve(rows, layout, x_hat, sel=sel, weights=counts[k, sel], max_nfev=200,
                                loss=loss, f_scale=f_scale, tol=BOOTSTRAP_TOL)
        return draws
    if method != "linearized":
        raise ParameterError("bootstrap", method,
                             message=f"bootstrap method must be 'linearized' or 'refit', got {method!r}")
    free = np.flatnonzero(layout.free)
    evaluate, n_data = _objective(rows, layout, x_hat)
    r, J = evaluate(x_hat[free])
    w = _loss_weights(r, loss, f_scale)
    cw = np.concatenate([counts, np.ones((n_bootstrap, r.size - n_data))], axis=1) * w[None, :]
    A = np.einsum("bi,ip,iq->bpq", cw, J, J, optimize=True)
    g = np.einsum("bi,ip,i->bp", cw, J, r, optimize=True)
    ridge = 1e-10 * np.trace(A, axis1=1, axis2=2)[:, None, None] * np.eye(free.size)[None]
    step = -np.linalg.solve(A + ridge, g[..., None])[..., 0]
    draws = np.tile(x_hat, (n_bootstrap, 1))
    draws[:, free] += step
    lo, hi = _bounds(layout)
    return np.clip(draws, lo, hi)
