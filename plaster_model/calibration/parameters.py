"""The named parameter table of a fitted calibration (in the manner of lmfit's ``Parameters``).

:func:`parameter_table` names every entry of the fit's parameter vector
(:mod:`plaster_model.calibration.fit`): its value in natural units, its bounds, its prior, the
number of rows whose prediction it moves, its interval, and a status:

``fitted``
    at least one row informs it (``|∂ log ŷ/∂θ| > 0.01`` at the solution);
``prior-only``
    no row informs it: its value is the prior's and so is its interval (the prior's centre
    ± z·σ, within the bounds: never a zero-width interval), reported as such instead of as
    a fit;
``at bound``
    a fitted value on one of its bounds (an efficiency at 1: the data ask for more than the
    physical peak); flagged in :meth:`~plaster_model.Calibration.summary`;
``unused``
    a slot no row uses (the memory efficiency of a training group).
"""
from __future__ import annotations

import math

import numpy as np

from . import fit as _fit
from .predict import log_prediction

__all__ = ["parameter_table", "SENSITIVITY_MIN"]

#: Smallest |∂ log ŷ / ∂θ| (log units per log unit, or per time unit τ) for a row to count as
#: informing a parameter.
SENSITIVITY_MIN = 0.01


def _key_text(key) -> str:
    return "|".join(str(k) for k in key)


def parameter_table(rows, layout, x, draws, interval: float = 0.9):
    """One row per parameter of the fit.

    Parameters
    ----------
    rows : RowTable
        The fitted rows.
    layout : Layout
        Their parameter layout (:func:`plaster_model.calibration.fit.build_layout`).
    x : numpy.ndarray
        The fitted parameter vector.
    draws : numpy.ndarray
        Bootstrap (or Jacobian) draws of ``x``, shape (B, n).
    interval : float
        Coverage of the ``low``/``high`` interval.

    Returns
    -------
    pandas.DataFrame
        ``name`` (e.g. ``"eta[V100|fp32|training]"``), ``kind`` (``eta``, ``overhead_s``,
        ``memory_efficiency``, ``kappa``, ``comm_efficiency``), ``value``, ``lower``,
        ``upper`` (bounds, natural units; NaN: none), ``prior`` (its centre, or ``None``), ``prior_sd``
        (in the fit's units: log for efficiencies and factors, τ for overheads), ``n_rows``
        (rows informing it), ``low``, ``high`` (the ``interval`` range of the draws),
        ``status``.

    Examples
    --------
    >>> import pandas as pd, plaster_model as pm                 # doctest: +SKIP
    >>> pm.calibrate(rows).parameter_table_.head()               # doctest: +SKIP
    """
    import pandas as pd
    from scipy.special import ndtri  # norm.ppf's own kernel: the same doubles, no scipy.stats import

    G = len(layout.groups)
    eta, t, eta2, kappa = layout.unpack(x)
    _, J = log_prediction(rows, eta, t, eta2, kappa, jacobian=True)
    J = np.nan_to_num(np.abs(J))
    lo_b, hi_b = _fit._bounds(layout)
    pidx, pinv = _fit._prior_rows(layout)
    prior_sd = {int(i): float(_fit.PRIOR_WEIGHT / w) for i, w in zip(pidx, pinv)}
    n = layout.n_params
    informs = np.zeros(n, dtype=int)
    # column of J per parameter kind: 0 log η, 1 t, 2 log η2 (η_m or η_comm), 3 log κ
    g = layout.row_group
    tau = layout.tau[g] * (layout.row_ops if layout.row_ops is not None else 1.0)
    np.add.at(informs, 3 * g, J[:, 0] > SENSITIVITY_MIN)
    np.add.at(informs, 3 * g + 1, J[:, 1] * tau * np.maximum(x[3 * g + 1], 1.0) > SENSITIVITY_MIN)
    comm = layout.row_comm if layout.row_comm is not None else np.full(len(g), -1)
    own2 = comm < 0
    np.add.at(informs, (3 * g + 2)[own2], (J[:, 2] > SENSITIVITY_MIN)[own2])
    if layout.comm_keys:
        c = comm >= 0
        np.add.at(informs, layout.comm_offset + comm[c], (J[:, 2] > SENSITIVITY_MIN)[c])
    if layout.models:
        m = layout.row_model >= 0
        np.add.at(informs, 3 * G + layout.row_model[m], (J[:, 3] > SENSITIVITY_MIN)[m])
    z = float(ndtri(0.5 + interval / 2))
    sd = np.std(draws, axis=0) if len(draws) else np.zeros(n)
    recs = []

    def add(i, name, kind, natural, prior):
        unit = (lambda v: v * layout.tau[i // 3]) if kind == "overhead_s" else np.exp
        lo, hi = x[i] - z * sd[i], x[i] + z * sd[i]
        if kind == "overhead_s":
            lo = max(lo, 0.0)
        at_bound = (abs(x[i] - lo_b[i]) < 1e-6 or abs(x[i] - hi_b[i]) < 1e-6) and kind != "overhead_s" \
            or (kind == "overhead_s" and x[i] <= 1e-9)
        if not layout.free[i]:
            status = "unused"
        elif informs[i] == 0:
            status = "prior-only"
            if i in prior_sd and math.isfinite(prior_sd[i]):
                # no row sees it: its interval is the prior's (centre ± z·σ in the fit's
                # units, within the bounds), not the near-zero spread of draws that never
                # move it: a parameter the data cannot see must not look pinned
                lo, hi = -z * prior_sd[i], z * prior_sd[i]
                if kind == "overhead_s":
                    lo = 0.0
        elif at_bound:
            status = "at bound"
        else:
            status = "fitted"
        lo, hi = max(lo, lo_b[i]), min(hi, hi_b[i])
        recs.append({"name": name, "kind": kind, "value": float(unit(x[i])),
                     "lower": float(unit(lo_b[i])), "upper": float(unit(hi_b[i])) if math.isfinite(hi_b[i]) else math.nan,
                     "prior": prior, "prior_sd": prior_sd.get(i, math.nan), "n_rows": int(informs[i]),
                     "low": float(unit(lo)), "high": float(unit(hi)), "status": status})

    for k, key in enumerate(layout.groups):
        txt = _key_text(key)
        add(3 * k, f"eta[{txt}]", "eta", True, None)
        add(3 * k + 1, f"overhead_s[{txt}]", "overhead_s", True, 0.0)
        add(3 * k + 2, f"memory_efficiency[{txt}]", "memory_efficiency", True, 1.0)
    for j, (model, phase) in enumerate(layout.models):
        add(3 * G + j, f"kappa[{model}|{phase}]", "kappa", True, 1.0)
    for c, (backend, lclass) in enumerate(layout.comm_keys or ()):
        add(layout.comm_offset + c, f"comm_efficiency[{backend}|{lclass}]", "comm_efficiency", True, 1.0)
    return pd.DataFrame(recs)
