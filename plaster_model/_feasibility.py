"""Rows that cannot run: a ``fits_memory`` column and no number where it is False.

Sweeps and scaling curves answer many configurations at once; a configuration that does not
fit in device memory is marked infeasible instead of raising (one bad row must not hide the
others), and its times, rates, speedups and efficiencies are NaN, so no plot or table shows
a time for it. ``allow_oversubscribed=True`` keeps the numbers (and the column).
"""
from __future__ import annotations

import warnings

import numpy as np

__all__ = ["mark_memory_fit", "mark_sweep_memory", "blank_infeasible", "training_fits"]

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
    cols = [c for c in frame.columns
            if (c.endswith(_NUMBER_SUFFIXES) or c in _NUMBER_COLUMNS) and c != "crossover_devices"
            and np.issubdtype(frame[c].dtype, np.number)]
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
    note = (f"memory fit per row ({optimizer} optimizer, 1 GiB workspace; " + "; ".join(hows)
            + "): rows that do not fit have fits_memory False and NaN times")
    df.attrs["notes"] = (list(notes) if isinstance(notes, (list, tuple)) else ([notes] if notes else [])) + [note]
    return df
