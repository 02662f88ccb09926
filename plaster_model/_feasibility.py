"""Rows that cannot run: a ``fits_memory`` column and no number where it is False.

Sweeps and scaling curves answer many configurations at once; a configuration that does not
fit in device memory is marked infeasible instead of raising (one bad row must not hide the
others), and its times, rates, speedups and efficiencies are NaN, so no plot or table shows
a time for it. ``allow_oversubscribed=True`` keeps the numbers (and the column).
"""
from __future__ import annotations

import warnings

import numpy as np

__all__ = ["mark_memory_fit", "mark_sweep_memory", "blank_infeasible", "training_fits", "training_fits_table",
           "blanked_columns", "memory_fit_note"]

#: Column suffixes and names that carry a number a configuration that cannot run must not show.
_NUMBER_SUFFIXES = ("_s", "_samples_s", "_tokens_s")
_NUMBER_COLUMNS = ("speedup", "efficiency", "mfu", "tflops_per_device", "cost")


def training_fits(model, device, precision, batch_per_device, optimizer="momentum"):
    """Boolean array: does each per-device batch fit ``device`` (training, data parallel)?

    ``(fits, need_bytes, hint_note)``; see
    :func:`~plaster_model.estimators.memory.training_memory_fit`.
    """
    from .estimators.memory import training_memory_fit

    fit = training_memory_fit(model, device, precision, np.asarray(batch_per_device, dtype=float), optimizer)
    return np.asarray(fit["fits"], dtype=bool), np.asarray(fit["need_bytes"], dtype=float), fit["how"]


def training_fits_table(models, devices, precisions, wl_m, wl_d, wl_q, batch_per_device, optimizer="momentum"):
    """:func:`training_fits` for a whole workload axis at once (a sweep's), vectorized.

    Row ``w`` of the result is ``training_fits(models[wl_m[w]], devices[wl_d[w]],
    precisions[wl_q[w]], batch_per_device)``: the same
    :func:`~plaster_model.estimators.memory.training_memory_bytes` (one home of the formula)
    evaluated once per precision over every (workload, batch) pair, instead of once per
    (model, device, precision) group; the values are the same floating-point operations.
    A non-finite batch counts as fitting (as :func:`mark_sweep_memory` has it).

    Parameters
    ----------
    models, devices : list of Model, list of Device
        Resolved catalog objects.
    precisions : list of str
        Normalized training precisions.
    wl_m, wl_d, wl_q : numpy.ndarray of int
        The workload axis: indices into ``models``, ``devices``, ``precisions``.
    batch_per_device : numpy.ndarray
        Samples per device, any shape (broadcast against the workload axis in front).
    optimizer : str
        A key of :data:`~plaster_model.estimators.memory.OPTIMIZER_STATE_COPIES`.

    Returns
    -------
    (numpy.ndarray, list of str)
        ``fits`` of shape ``(len(wl_m),) + batch_per_device.shape`` (bool), and the activation
        figure's origin (``how``) of each of ``models``.

    Examples
    --------
    >>> import numpy as np
    >>> from plaster_model.catalog.loader import active_catalog
    >>> cat = active_catalog()
    >>> fits, _ = training_fits_table([cat.get("model", "ResNet-50")], [cat.get("device", "V100")], ["fp32"],
    ...                               np.array([0]), np.array([0]), np.array([0]), np.array([64.0, 4096.0]))
    >>> fits.tolist()
    [[True, False]]
    """
    from .catalog.objects import BYTES_PER_ELEMENT, normalize_precision
    from .estimators.memory import DEFAULT_WORKSPACE_BYTES, model_activation_bytes, training_memory_bytes

    wl_m, wl_d, wl_q = (np.asarray(x, dtype=np.int64).reshape(-1) for x in (wl_m, wl_d, wl_q))
    batch = np.asarray(batch_per_device, dtype=float)
    ok = np.isfinite(batch)
    batch = np.where(ok, batch, 1.0)
    acts_how = [model_activation_bytes(m) for m in models]
    acts = np.array([a or 0.0 for a, _ in acts_how], dtype=float)
    params = np.array([float(m.params) for m in models], dtype=float)
    avail = np.array([float(d.memory_bytes) for d in devices], dtype=float)
    lead = (-1,) + (1,) * batch.ndim
    fits = np.ones((len(wl_m),) + batch.shape, dtype=bool)
    for iq, q in enumerate(precisions):
        rows = np.flatnonzero(wl_q == iq)
        if not len(rows):
            continue
        prec = normalize_precision(q)
        need = training_memory_bytes(params[wl_m[rows]].reshape(lead), batch, acts[wl_m[rows]].reshape(lead),
                                     float(BYTES_PER_ELEMENT[prec]), optimizer, DEFAULT_WORKSPACE_BYTES,
                                     prec == "mixed")
        fits[rows] = (np.asarray(need) <= avail[wl_d[rows]].reshape(lead)) | ~ok
    return fits, [how for _, how in acts_how]


def memory_fit_note(hows, optimizer="momentum") -> str:
    """The ``df.attrs["notes"]`` line a memory-checked sweep carries."""
    return (f"memory fit per row ({optimizer} optimizer, 1 GiB workspace; " + "; ".join(hows)
            + "): rows that do not fit have fits_memory False and NaN times")


def blanked_columns(columns, dtypes=None):
    """The columns :func:`blank_infeasible` sets to NaN: times (``*_s``), rates and the like.

    ``dtypes`` (column -> dtype, optional) keeps the numeric ones only."""
    return [c for c in columns
            if (c.endswith(_NUMBER_SUFFIXES) or c in _NUMBER_COLUMNS) and c != "crossover_devices"
            and (dtypes is None or np.issubdtype(dtypes[c], np.number))]


def mark_memory_fit(frame, fits, allow_oversubscribed: bool = False, what: str = "rows"):
    """Add ``fits_memory`` to ``frame`` (in place) and blank the numbers of rows that do not fit.

    Time columns (ending ``_s``), rates, ``speedup``, ``efficiency``, ``cost`` and the like
    become NaN where ``fits`` is False, unless ``allow_oversubscribed``: then the numbers stay
    and a :class:`~plaster_model.errors.MemoryWarning` says how many rows are oversubscribed.
    The ``crossover_devices`` column (a property of the design) is kept.
    """
    from .errors import MemoryWarning

    fits = np.asarray(fits, dtype=bool).reshape(-1)
    frame["fits_memory"] = fits
    bad = ~fits
    if not bad.any():
        return frame
    if allow_oversubscribed:
        warnings.warn(f"{int(bad.sum())} of {len(fits)} {what} do not fit in device memory "
                      "(fits_memory False); kept as asked (allow_oversubscribed=True)", MemoryWarning, stacklevel=3)
        return frame
    return blank_infeasible(frame, fits)


def blank_infeasible(frame, fits):
    """Set the time, rate, speedup, efficiency and cost columns of rows where ``fits`` is
    False to NaN (in place); other columns (names, batches, memory needed) stay."""
    bad = ~np.asarray(fits, dtype=bool).reshape(-1)
    if not bad.any():
        return frame
    cols = blanked_columns(frame.columns, {c: frame[c].dtype for c in frame.columns})
    frame.loc[bad, cols] = np.nan
    return frame


def mark_sweep_memory(df, models, devices, allow_oversubscribed=False, optimizer="momentum"):
    """:func:`mark_memory_fit` for a :func:`~plaster_model.sweep` frame: per (model, device,
    precision) group, the per-device batch of each row against the device memory."""
    from .catalog.loader import active_catalog

    if len(df) == 0:
        df["fits_memory"] = np.ones(0, dtype=bool)
        return df
    cat = active_catalog()
    as_list = lambda v: list(v) if isinstance(v, (list, tuple)) else [v]  # noqa: E731
    by_name = {}
    for kind, given in (("model", models), ("device", devices)):
        for item in as_list(given):
            obj = cat.get(kind, item)
            by_name[(kind, obj.name)] = obj
    fits = np.ones(len(df), dtype=bool)
    batch = df["batch_per_device"].to_numpy(dtype=float)
    hows = []
    groups = df.groupby(["model", "device", "precision"], observed=True, sort=False).indices
    for (m, d, q), rows in groups.items():
        ok = np.isfinite(batch[rows])
        f, _, how = training_fits(by_name.get(("model", m), m), by_name.get(("device", d), d), q,
                                  np.where(ok, batch[rows], 1.0), optimizer)
        fits[rows] = f | ~ok
        if how not in hows:
            hows.append(how)
    mark_memory_fit(df, fits, allow_oversubscribed, "sweep rows")
    notes = df.attrs.get("notes")
    note = memory_fit_note(hows, optimizer)
    df.attrs["notes"] = (list(notes) if isinstance(notes, (list, tuple)) else ([notes] if notes else [])) + [note]
    return df
