"""Pareto fronts of tidy result tables: the rows no other row beats on every objective.

:func:`pareto` takes any DataFrame (a :func:`plaster_model.sweep`, a scaling curve, a
PLASTER report) and the objectives to minimise or maximise; it never evaluates a model.
"""
from __future__ import annotations
from .errors import ParameterError, UnknownNameError

from typing import Mapping

import numpy as np

__all__ = ["pareto"]


def _objective_matrix(df, objectives):
    if isinstance(objectives, str):
        objectives = [objectives]
    if isinstance(objectives, Mapping):
        items = list(objectives.items())
    else:
        items = [(c, "min") for c in objectives]
    if not items:
        raise ParameterError("objectives", objectives, message="objectives: give at least one column")
    cols = []
    for col, sense in items:
        if col not in df.columns:
            raise UnknownNameError(f"objectives: no column {col!r} in the frame; columns are {list(df.columns)}")
        if sense not in ("min", "max"):
            raise ParameterError("objectives", sense,
                                 message=f"objectives: {col!r} must be 'min' or 'max', got {sense!r}")
        v = np.asarray(df[col], dtype=float)
        cols.append(-v if sense == "max" else v)
    return np.column_stack(cols), [c for c, _ in items]


def _front_2d(x: np.ndarray) -> np.ndarray:
    """Non-dominated mask of distinct, lexicographically sorted 2-objective points."""
    f2 = x[:, 1]
    # x is sorted by (f1, f2) with no duplicate rows; a point is dominated iff an earlier
    # point with a smaller f1 has f2 <= its f2, or an earlier point with the same f1 exists.
    first_of_group = np.ones(len(x), dtype=bool)
    first_of_group[1:] = x[1:, 0] != x[:-1, 0]
    cm = np.minimum.accumulate(f2)
    prev = np.empty_like(cm)
    prev[0] = np.inf
    prev[1:] = cm[:-1]
    return first_of_group & (f2 < prev)


def _weakly_dominates(points: np.ndarray, by: np.ndarray) -> np.ndarray:
    """``[i, j]``: ``by[j] <= points[i]`` in every objective (one 2-d pass per objective,
    much faster than a reduction over a short last axis)."""
    out = by[None, :, 0] <= points[:, None, 0]
    for k in range(1, points.shape[1]):
        out &= by[None, :, k] <= points[:, None, k]
    return out


def _dominated_by_strong_points(x: np.ndarray, m: int = 16) -> np.ndarray:
    """Cheap pre-filter: rows strictly dominated by one of ``m`` points with the smallest sum
    of range-normalised objectives (such points dominate many others). Any dominated row may
    be dropped, whoever dominates it, so the choice of points only affects speed."""
    n = len(x)
    if n <= 16 * m:
        return np.zeros(n, dtype=bool)
    cols = [np.ascontiguousarray(x[:, k]) for k in range(x.shape[1])]
    z = np.zeros(n)
    with np.errstate(invalid="ignore", over="ignore"):
        for c in cols:
            fin = c[np.isfinite(c)]
            if len(fin):
                lo, hi = fin.min(), fin.max()
                z += (c - lo) / (hi - lo if hi > lo else 1.0)
    z[~np.isfinite(z)] = np.inf
    strong = x[np.argpartition(z, m)[:m]]
    out = np.zeros(n, dtype=bool)
    for p in strong:  # m vectorized passes over all rows
        le = cols[0] >= p[0]
        lt = cols[0] > p[0]
        for k in range(1, len(cols)):
            le &= cols[k] >= p[k]
            lt |= cols[k] > p[k]
        out |= le & lt
    return out


def _front_nd(x: np.ndarray, block: int = 1024) -> np.ndarray:
    """Non-dominated mask of distinct, lexicographically sorted points (any dimension).

    In lexicographic order a point can only be dominated by an earlier one, and (by
    transitivity) then also by a point of the front found so far. So each block is first
    checked against that front, and only its survivors against each other.
    """
    keep = np.zeros(len(x), dtype=bool)
    front = np.empty((0, x.shape[1]))
    for s in range(0, len(x), block):
        blk = x[s:s + block]
        idx = np.arange(len(blk))
        for f0 in range(0, len(front), 4096):  # bound the (block, front) temporary
            if not len(idx):
                break
            idx = idx[~_weakly_dominates(blk[idx], front[f0:f0 + 4096]).any(axis=1)]
        if len(idx) > 1:
            cand = blk[idx]
            le = _weakly_dominates(cand, cand)  # [i, j]: j <= i everywhere
            le &= np.tri(len(cand), k=-1, dtype=bool)  # only j before i (distinct points)
            idx = idx[~le.any(axis=1)]
        keep[s + idx] = True
        front = np.vstack([front, blk[idx]])
    return keep


#: The default objectives: time against cost.
_DEFAULT = ("iteration_time_s", "cost")
#: The cost :func:`pareto` derives when the frame has no ``cost`` column: device-seconds per
#: sample, what any per-device-hour price multiplies (the catalog carries no prices).
DERIVED_COST = "cost_device_s_per_sample"


def pareto(df, objectives=_DEFAULT):
    """The non-dominated rows of ``df``: no other row is at least as good in every objective
    and strictly better in one.

    Parameters
    ----------
    df : pandas.DataFrame
        Any table, typically a :func:`sweep` result with a cost column you add.
    objectives : mapping of column to {"min", "max"}, or list of columns
        Columns to trade off; a list means every column is minimised. The default,
        ``("iteration_time_s", "cost")``, on a frame with no ``cost`` column (a plain
        :func:`sweep`) uses ``cost_device_s_per_sample = n_devices / throughput_samples_s``
        [device·s per sample] instead, added to the result and said in ``attrs["notes"]``.

    Returns
    -------
    pandas.DataFrame
        The Pareto-optimal rows (original index kept), sorted by the objectives in order.
        Rows with the same objective values are all kept. Rows with NaN in an objective are
        left out (they cannot be compared).

    Notes
    -----
    Two objectives: one lexicographic sort and a running minimum, ``O(n log n)``. More: the
    sorted rows are checked in blocks against the front found so far, ``O(n · front)``.
    Duplicate objective vectors are compared once.

    Examples
    --------
    The catalog carries no prices: bring your own. Time and cost of one ImageNet epoch
    (1,281,167 images) on each cluster, cost = devices × hourly price × hours:

    >>> import plaster_model as pm
    >>> df = pm.sweep(["ResNet-50"], ["V100", "A100", "T4"], [1, 2, 4, 8, 16, 32, 64],
    ...               ["InfiniBand EDR"], [64], ["mixed"], devices_per_node=8, intra_node="NVLink 2")
    >>> usd_per_device_hour = {"V100": 2.48, "A100": 3.67, "T4": 0.35}   # your prices
    >>> df["epoch_h"] = 1_281_167 / df["throughput_samples_s"] / 3600
    >>> df["cost_usd"] = df["n_devices"] * df["device"].map(usd_per_device_hour).astype(float) * df["epoch_h"]
    >>> front = pm.pareto(df, {"epoch_h": "min", "cost_usd": "min"})
    >>> print(front[["device", "n_devices", "epoch_h", "cost_usd"]].round(4).to_string(index=False))
    device  n_devices  epoch_h  cost_usd
      A100         64   0.0020    0.4601
      A100         32   0.0038    0.4494
      A100         16   0.0073    0.4279
        T4         64   0.0082    0.1828
        T4         32   0.0162    0.1818
        T4         16   0.0321    0.1798
        T4          8   0.0627    0.1757
        T4          4   0.1254    0.1756
        T4          2   0.2506    0.1754
        T4          1   0.5002    0.1751
    """
    if objectives == _DEFAULT and "cost" not in df.columns \
            and {"n_devices", "throughput_samples_s"} <= set(df.columns):
        df = df.assign(**{DERIVED_COST: df["n_devices"].astype(float) / df["throughput_samples_s"]})
        notes = df.attrs.get("notes")
        df.attrs["notes"] = (list(notes) if isinstance(notes, (list, tuple)) else ([notes] if notes else [])) + [
            f"no cost column: cost is {DERIVED_COST} = n_devices / throughput_samples_s (device-seconds per "
            "sample; multiply by a price per device-second for money)"]
        objectives = ("iteration_time_s", DERIVED_COST)
    x, names = _objective_matrix(df, objectives)
    finite = ~np.isnan(x).any(axis=1)
    rows = np.flatnonzero(finite)
    x = x[rows]
    if x.shape[1] > 1:  # drop most dominated rows before sorting
        alive = ~_dominated_by_strong_points(x)
        rows, x = rows[alive], x[alive]
    if len(x) == 0:
        return df.iloc[[]]
    order = np.lexsort(x.T[::-1])  # by the first objective, then the second, ...
    xs = x[order]
    new = np.ones(len(xs), dtype=bool)
    new[1:] = np.any(xs[1:] != xs[:-1], axis=1)
    group = np.cumsum(new) - 1  # distinct-vector id of each sorted row
    uniq = xs[new]
    if uniq.shape[1] == 1:
        keep_u = np.arange(len(uniq)) == 0
    elif uniq.shape[1] == 2:
        keep_u = _front_2d(uniq)
    else:
        keep_u = _front_nd(uniq)
    selected = rows[order[keep_u[group]]]
    return df.iloc[selected]
