"""Plots of the library's tidy DataFrames: scaling curves, time breakdowns, rooflines,
latency/throughput curves, calibration quality and the PLASTER comparison.

Every function takes ``ax=None`` (a new figure is made when omitted), draws on one
:class:`matplotlib.axes.Axes`, labels its axes with units and returns the axes, so plots
compose::

    import matplotlib.pyplot as plt
    import plaster_model as pm
    from plaster_model.plotting import plot_scaling, plot_breakdown

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    plot_scaling(curve, y="speedup", ax=a)
    plot_breakdown(curve, ax=b)

matplotlib is imported inside the functions, never at module import, so
``import plaster_model`` stays light.

Column conventions (the ones the library returns): ``devices`` (or ``n_devices``) [count],
times ``*_s`` [s], ``throughput_samples_s`` [samples/s], ``speedup`` [×], ``efficiency``
[fraction], ``crossover_devices`` [count], calibrated intervals ``<column>_low`` /
``<column>_high``.
"""
from __future__ import annotations
from .errors import ParameterError, ParameterTypeError

import math
import re
from typing import Any, Iterable, Mapping, Sequence

__all__ = [
    "plot_scaling", "plot_breakdown", "plot_roofline", "plot_latency_throughput",
    "plot_calibration", "plot_plaster", "plaster_scores", "axis_label", "PLASTER_DIMENSIONS",
]

#: The seven PLASTER dimensions, in the order of the acronym.
PLASTER_DIMENSIONS: tuple[str, ...] = (
    "programmability", "latency", "accuracy", "size", "throughput", "energy", "rate_of_learning",
)

#: Axis labels (with units) for the columns the library returns.
_LABELS = {
    "devices": "devices p [count]",
    "n_devices": "devices p [count]",
    "nodes": "nodes [count]",
    "speedup": "speedup [×]",
    "efficiency": "parallel efficiency [fraction of ideal]",
    "iteration_time_s": "iteration time [s]",
    "compute_time_s": "compute time per iteration [s]",
    "communication_time_s": "communication time per iteration [s]",
    "exposed_communication_time_s": "exposed communication time per iteration [s]",
    "overhead_time_s": "overhead time per iteration [s]",
    "throughput_samples_s": "throughput [samples/s]",
    "epoch_time_s": "epoch time [s]",
    "time_per_epoch_s": "time per epoch [s]",
    "latency_s": "latency per batch [s]",
    "batch": "batch [samples]",
    "batch_per_device": "batch per device [samples]",
    "energy_per_inference_j": "energy per inference [J]",
    "inferences_per_j": "inferences per joule [1/J]",
    "comm_to_compute_ratio": "communication / compute [ratio]",
}

#: Units of the measurement-table metrics (``plaster_model.measurements.METRICS``).
_METRIC_UNITS = {
    "throughput_img_s": ("throughput", "samples/s"),
    "latency_ms": ("latency per batch", "ms"),
    "time_per_iter_s": ("time per iteration", "s"),
    "epoch_time_s": ("epoch time", "s"),
    "time_to_train_min": ("time to train", "min"),
    "scaling_efficiency": ("scaling efficiency", "fraction"),
    "layer_time_ms": ("layer time per batch", "ms"),
}

_SUFFIX_UNITS = (
    ("_samples_s", "samples/s"), ("_img_s", "samples/s"), ("_per_day", "1/day"), ("_pct", "%"),
    ("_count", "count"), ("_per_j", "1/J"), ("_per_w", "1/(s·W)"),
    ("_flops_s", "FLOP/s"), ("_flops", "FLOP"), ("_bytes", "B"), ("_bps", "B/s"), ("_ms", "ms"),
    ("_s", "s"), ("_w", "W"), ("_j", "J"),
)

_BREAKDOWN_COLORS = {"compute": "#4C72B0", "communication": "#DD8452", "overhead": "#8C8C8C"}

_HUE_CANDIDATES = ("interconnect", "algorithm", "model", "device", "precision", "link", "label",
                   "intra_node", "scaling", "batch_per_device", "cluster")


def axis_label(column: str) -> str:
    """Human-readable axis label with its unit for a library column name.

    Parameters
    ----------
    column : str
        A column of a library DataFrame, e.g. ``"iteration_time_s"``.

    Returns
    -------
    str
        e.g. ``"iteration time [s]"``; columns with a unit suffix (``_s``, ``_bytes``,
        ``_samples_s``, ``_j``, ``_w``) get that unit in brackets.

    Examples
    --------
    >>> axis_label("throughput_samples_s")
    'throughput [samples/s]'
    >>> axis_label("queue_time_s")
    'queue time [s]'
    """
    if column in _LABELS:
        return _LABELS[column]
    if column in _METRIC_UNITS:
        name, unit = _METRIC_UNITS[column]
        return f"{name} [{unit}]"
    for suffix, unit in _SUFFIX_UNITS:
        if column.endswith(suffix) and len(column) > len(suffix):
            return f"{column[: -len(suffix)].replace('_', ' ')} [{unit}]"
    return column.replace("_", " ")


# --------------------------------------------------------------------------- helpers
def _pyplot():
    import matplotlib.pyplot as plt

    return plt


def _new_axes(ax, figsize=(6.4, 4.2), **subplot_kw):
    if ax is not None:
        return ax
    plt = _pyplot()
    _, ax = plt.subplots(figsize=figsize, subplot_kw=subplot_kw or None, layout="constrained")
    return ax


def _frame(data) -> Any:
    """A DataFrame from a DataFrame, a result object with ``to_frame()``, or a list of them."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if hasattr(data, "to_frame") and not isinstance(data, pd.Series):
        return data.to_frame()
    if isinstance(data, Mapping):
        return pd.DataFrame(data)
    if isinstance(data, Iterable) and not isinstance(data, (str, bytes)):
        items = list(data)
        if items and all(hasattr(i, "to_frame") for i in items):
            return pd.concat([i.to_frame() for i in items], ignore_index=True)
        return pd.DataFrame(items)
    raise ParameterTypeError("data", data, message=f"expected a pandas DataFrame (or result objects with to_frame()), "
                             f"got {type(data).__name__}")


def _require(df, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ParameterError(what, None,
                             message=f"{what}: the DataFrame lacks column(s) {missing}; it has {list(df.columns)}")


def _x_column(df) -> str:
    for col in ("devices", "n_devices"):
        if col in df.columns:
            return col
    raise ParameterError("data", list(df.columns),
                         message=f"plot_scaling: need a 'devices' (or 'n_devices') column; got {list(df.columns)}")


def _auto_hue(df, exclude: Sequence[str] = ()) -> str | None:
    for col in _HUE_CANDIDATES:
        if col in df.columns and col not in exclude and df[col].nunique(dropna=True) > 1:
            return col
    return None


def _groups(df, hue):
    """[(label, sub-frame)] in order of first appearance (a single group when hue is None).

    ``hue`` is a column or a list of columns; with several, each distinct combination is a
    group labelled by its values joined by spaces (``"T4 int8"``).
    """
    if hue is None:
        return [(None, df)]
    cols = [hue] if isinstance(hue, str) else list(hue)
    for col in cols:
        if col not in df.columns:
            raise ParameterError("hue", col, message=f"hue: no column {col!r}; columns are {list(df.columns)}")
    if len(cols) == 1:
        keys = list(dict.fromkeys(df[cols[0]].tolist()))
        return [(k, df[df[cols[0]] == k]) for k in keys]
    combos = list(dict.fromkeys(zip(*(df[c].tolist() for c in cols))))
    out = []
    for combo in combos:
        mask = df[cols[0]] == combo[0]
        for col, value in zip(cols[1:], combo[1:]):
            mask &= df[col] == value
        out.append((" ".join(str(v) for v in combo), df[mask]))
    return out


#: Columns that identify one latency/throughput curve (one model on one device at one precision).
_CURVE_IDENTITY = ("model", "device", "precision")


def _curve_hue(df):
    """Hue of :func:`plot_latency_throughput` for ``hue="auto"``: every identity column that
    varies (so V100 fp16, T4 int8 and T4 fp16 are three lines, not two zig-zags), else the
    usual single-column choice."""
    varying = [c for c in _CURVE_IDENTITY if c in df.columns and df[c].nunique(dropna=True) > 1]
    if len(varying) > 1:
        return varying
    return varying[0] if varying else _auto_hue(df, exclude=("batch",))


#: Columns that identify one scaling curve (a configuration); ``link``, ``bound`` and
#: ``nodes`` change along a curve and are drawn as markers, never as separate lines.
_SCALING_IDENTITY = ("interconnect", "algorithm", "model", "device", "precision", "intra_node",
                     "scaling", "label", "cluster", "batch_per_device", "global_batch")
#: Marker per link along a scaling curve (the link the collective is bound by at that size).
_LINK_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def _scaling_hue(df, x):
    """Hue of :func:`plot_scaling` for ``hue="auto"``: every configuration column that varies
    between curves (one line per configuration), never a column that varies along one curve
    (the link, the bound, the per-device batch under strong scaling)."""
    varying = []
    for col in _SCALING_IDENTITY:
        if col not in df.columns or df[col].nunique(dropna=True) <= 1:
            continue
        # a column that takes several values at one device count separates curves; one that
        # is a function of the device count (strong scaling's batch) runs along each curve
        if (df.groupby(x, observed=True)[col].nunique(dropna=True) > 1).any():
            varying.append(col)
    if len(varying) > 1:
        return varying
    return varying[0] if varying else None


def _log2_devices_axis(ax, values) -> None:
    """Log-2 x axis with plain integer tick labels when the device counts span ≥ 8×."""
    import numpy as np
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    v = np.asarray([x for x in values if x and x > 0], dtype=float)
    if v.size == 0 or v.max() / v.min() < 8:
        return
    ax.set_xscale("log", base=2)
    lo, hi = int(math.floor(math.log2(v.min()))), int(math.ceil(math.log2(v.max())))
    step = max(1, math.ceil((hi - lo + 1) / 12))
    ax.xaxis.set_major_locator(FixedLocator([2.0**k for k in range(lo, hi + 1, step)]))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}" if x >= 1 else f"{x:g}"))


def _interval_columns(df, y: str) -> tuple[str, str] | None:
    """Columns holding the interval of ``y``: ``<y>_low``/``<y>_high``, or the bound inserted
    before the unit suffix (``latency_low_s``/``latency_high_s`` for ``latency_s``)."""
    candidates = [(f"{y}_low", f"{y}_high")]
    candidates += [(f"{y[:i]}_low{y[i:]}", f"{y[:i]}_high{y[i:]}")
                   for i in range(len(y) - 1, 0, -1) if y[i] == "_"]
    for lo, hi in candidates:
        if lo in df.columns and hi in df.columns and df[[lo, hi]].notna().any().all():
            return lo, hi
    return None


def _fmt_count(v: float) -> str:
    return f"{v:,.0f}" if v >= 100 else f"{v:.3g}"


def _finite_first(series) -> float | None:
    import numpy as np

    vals = [float(v) for v in series.tolist() if v is not None and np.isfinite(float(v))]
    return vals[0] if vals else None


# --------------------------------------------------------------------------- scaling
def plot_scaling(data, y: str = "speedup", *, hue: str | None = "auto", ax=None, ideal: bool = True,
                 crossover=None, measured=None, measured_y: str | None = None,
                 measured_label: str = "measured", band: bool = True, logy: bool = False,
                 title: str | None = None):
    """Speedup, efficiency, time or throughput versus the number of devices.

    One line per value of ``hue`` (e.g. several interconnects or all-reduce algorithms
    concatenated into one frame), the ideal line, the crossover device count ``p*`` (where
    communication time equals compute time) as a vertical line, the calibrated interval
    as a band where ``<y>_low``/``<y>_high`` (or ``<stem>_low_<unit>``) columns exist, and
    measurements as points.

    Parameters
    ----------
    data : pandas.DataFrame
        A scaling curve (:func:`plaster_model.scaling_curve`) or sweep rows: a ``devices``
        (or ``n_devices``) column [count] and the ``y`` column.
    y : str
        Column to plot: ``"speedup"`` [×], ``"efficiency"`` [fraction],
        ``"iteration_time_s"`` [s], ``"throughput_samples_s"`` [samples/s], or any other
        numeric column (labelled by its unit suffix).
    hue : str, list of str or None
        Column(s) whose values get one line each; ``"auto"`` (default) takes every
        configuration column (interconnect, algorithm, model, device, precision, …) that
        varies between curves, so each configuration is one line whatever its links; the
        link along a curve (``link`` column) is drawn as the marker shape. None for one line.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when omitted.
    ideal : bool
        Draw the ideal line: linear speedup/throughput (through the smallest device
        count), efficiency 1, constant time under weak scaling or ``1/p`` under strong
        scaling (from a ``scaling`` column or ``data.attrs["scaling"]``).
    crossover : None, False, float or mapping
        Device count(s) ``p*`` [count] to mark. None (default) reads the
        ``crossover_devices`` column (one value per hue group); a number marks that count;
        a mapping gives one per hue value; False marks nothing. Counts outside the plotted
        range are listed in the legend instead of drawn.
    measured : pandas.DataFrame, optional
        Measurements drawn as points: a ``devices`` (or ``n_devices``) column and the
        ``measured_y`` column (default ``y`` when present, else ``value``); coloured by
        ``hue`` when it has that column.
    measured_y : str, optional
        Column of ``measured`` with the measured values.
    measured_label : str
        Legend label of the measured points.
    band : bool
        Shade the calibrated interval ``<y>_low`` … ``<y>_high`` (or ``iteration_time_low_s`` …
        ``iteration_time_high_s``) when those columns exist.
    logy : bool
        Logarithmic y axis.
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
        x: devices p [count] (log 2 when the counts span 8× or more); y: the quantity with
        its unit, log 2 too for speedup and throughput on a log x axis (log-log: the ideal
        line is straight), 0 to 1 for efficiency.

    Examples
    --------
    >>> import pandas as pd, matplotlib
    >>> matplotlib.use("Agg")
    >>> df = pd.DataFrame({"devices": [1, 2, 4, 8], "speedup": [1, 1.9, 3.5, 6.0]})
    >>> ax = plot_scaling(df)
    >>> ax.get_ylabel()
    'speedup [×]'
    """
    import numpy as np

    df = _frame(data)
    x = _x_column(df)
    _require(df, [y], "plot_scaling")
    df = df.sort_values(x, kind="stable")
    if hue == "auto":
        hue = _scaling_hue(df, x)
    ax = _new_axes(ax)
    colors: dict[Any, str] = {}
    band_labelled = False
    # the link along a curve is a marker shape (one line per configuration, whatever its links)
    links = (list(dict.fromkeys(str(v) for v in df["link"].tolist() if v is not None and v == v))
             if "link" in df.columns and hue != "link" else [])
    marker_of = {k: _LINK_MARKERS[i % len(_LINK_MARKERS)] for i, k in enumerate(links)}
    for key, sub in _groups(df, hue):
        label = None if key is None else str(key)
        (line,) = ax.plot(sub[x], sub[y], marker=None if len(links) > 1 else "o", ms=4, lw=1.8,
                          label=label or y.replace("_", " "))
        colors[key] = line.get_color()
        if len(links) > 1:
            for link, part in sub.groupby(sub["link"].astype(str), sort=False):
                if link in marker_of:
                    ax.scatter(part[x], part[y], marker=marker_of[link], s=30, color=line.get_color(), zorder=4)
        cols = _interval_columns(sub, y) if band else None
        if cols:
            lo, hi = cols
            ax.fill_between(sub[x], sub[lo], sub[hi], color=line.get_color(), alpha=0.2, lw=0,
                            label=None if band_labelled else "calibrated interval")
            band_labelled = True
    for link in (links if len(links) > 1 else []):  # the legend says which marker is which link
        ax.scatter([], [], marker=marker_of[link], s=30, color="0.35", label=f"over {link}")
    if "fits_memory" in df.columns and not df["fits_memory"].astype(bool).all():
        bad = df.loc[~df["fits_memory"].astype(bool), x]
        ax.plot([], [], " ", label="does not fit in memory at p = " + ", ".join(_fmt_count(v) for v in
                                                                            sorted(set(bad.tolist()))))

    # ideal line through the smallest device count
    if ideal:
        ref = df[df[x] == df[x].min()]
        xs = np.unique(df[x].to_numpy(dtype=float))
        x0, y0 = float(ref[x].iloc[0]), float(ref[y].iloc[0])
        scaling = None
        if "scaling" in df.columns and df["scaling"].nunique() == 1:
            scaling = str(df["scaling"].iloc[0])
        scaling = scaling or df.attrs.get("scaling")
        ideal_y = None
        if y in ("speedup", "throughput_samples_s") or y.startswith("throughput"):
            ideal_y = y0 * xs / x0
        elif y in ("efficiency", "scaling_efficiency"):
            ideal_y = np.ones_like(xs)
        elif y.endswith("_s") and scaling in ("weak", "strong"):
            ideal_y = np.full_like(xs, y0) if scaling == "weak" else y0 * x0 / xs
        if ideal_y is not None and len(xs) > 1:
            ax.plot(xs, ideal_y, color="black", ls="--", lw=1, label="ideal", zorder=1)

    # crossover p*
    if crossover is not False:
        marks: list[tuple[Any, float]] = []
        if crossover is None:
            if "crossover_devices" in df.columns:
                for key, sub in _groups(df, hue):
                    v = _finite_first(sub["crossover_devices"])
                    if v is not None:
                        marks.append((key, v))
        elif isinstance(crossover, Mapping):
            marks = [(k, float(v)) for k, v in crossover.items()]
        else:
            marks = [(None, float(crossover))]
        xmin, xmax = float(df[x].min()), float(df[x].max())
        for key, v in marks:
            name = f"crossover p* ≈ {_fmt_count(v)}" + (f" ({key})" if key is not None else "")
            color = colors.get(key, "0.3")
            if xmin / 1.5 <= v <= xmax * 1.5:
                ax.axvline(v, color=color, ls=":", lw=1.5, label=name)
            else:
                ax.plot([], [], color=color, ls=":", lw=1.5, label=name + ", off the axis")

    # measured points
    if measured is not None:
        m = _frame(measured)
        mx = _x_column(m)
        my = measured_y or (y if y in m.columns else "value")
        _require(m, [my], "plot_scaling(measured=)")
        labelled = False
        for key, sub in _groups(m, hue if hue is not None and hue in m.columns else None):
            ax.scatter(sub[mx], sub[my], marker="D", s=36, zorder=5, edgecolor="black", lw=0.8,
                       color=colors.get(key, "white"),
                       label=None if labelled else measured_label)
            labelled = True

    _log2_devices_axis(ax, df[x].tolist())
    proportional = y == "speedup" or y.startswith("throughput")
    if logy or (proportional and ax.get_xscale() == "log"):
        # log-log: the ideal (proportional) line is straight, and so is any power law
        ax.set_yscale("log", base=2 if proportional and not logy else 10)
        if proportional and not logy:
            from matplotlib.ticker import FuncFormatter
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}"))
    if y in ("efficiency", "scaling_efficiency"):
        # anchored at 0–1: a 0.998 efficiency must not look like a collapse
        top = float(np.nanmax(df[y].to_numpy(dtype=float))) if df[y].notna().any() else 1.0
        ax.set_ylim(0.0, max(1.05, top * 1.05))
    ax.set_xlabel(axis_label(x))
    ax.set_ylabel(axis_label(y))
    ax.grid(True, which="major", alpha=0.3)
    if title:
        ax.set_title(title)
    hue_title = None if not hue else (hue if isinstance(hue, str) else " / ".join(hue)).replace("_", " ")
    ax.legend(fontsize="small", title=hue_title, title_fontsize="small")
    return ax


# --------------------------------------------------------------------------- breakdown
def _config_labels(df, x: str | None) -> list[str]:
    if x is not None:
        _require(df, [x], "plot_breakdown")
        return [str(v) for v in df[x].tolist()]
    cols = [c for c in ("model", "device", "precision", "interconnect", "algorithm", "devices",
                        "n_devices", "batch_per_device", "cluster")
            if c in df.columns and df[c].nunique(dropna=True) > 1]
    if not cols:
        for c in ("devices", "n_devices", "cluster", "label"):
            if c in df.columns:
                cols = [c]
                break
    if not cols:
        return [str(i) for i in df.index]
    count_cols = {"devices", "n_devices"}
    return [", ".join(f"{r[c]:g} dev" if c in count_cols else f"b={r[c]:g}" if c == "batch_per_device"
                      else str(r[c]) for c in cols) for _, r in df[cols].iterrows()]


def plot_breakdown(data, *, x: str | None = None, components: Sequence[str] | None = None, ax=None,
                   normalize: bool = False, horizontal: bool = False, title: str | None = None):
    """Stacked compute / communication / overhead time per configuration.

    Parameters
    ----------
    data : pandas.DataFrame or prediction(s)
        Rows with ``compute_time_s``, ``communication_time_s`` and ``overhead_time_s`` [s]
        (a scaling curve, sweep rows, ``TrainingPrediction.to_frame()``), or a
        prediction / list of predictions (anything with ``to_frame()``). Where an
        ``exposed_communication_time_s`` column exists (overlap), the exposed part is
        stacked so the bar height is the iteration time.
    x : str, optional
        Column labelling the bars; default: the configuration columns that vary
        (model, device, interconnect, devices …).
    components : sequence of str, optional
        Time columns to stack [s], bottom first.
    ax : matplotlib.axes.Axes, optional
    normalize : bool
        Show each component as a share of the bar [%] instead of seconds.
    horizontal : bool
        Horizontal bars (for long labels).
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
        Bars in time per iteration [s] (or share [%] when ``normalize``).

    Examples
    --------
    >>> import pandas as pd, matplotlib
    >>> matplotlib.use("Agg")
    >>> df = pd.DataFrame({"devices": [1, 8], "compute_time_s": [0.2, 0.2],
    ...                    "communication_time_s": [0.0, 0.1], "overhead_time_s": [0.01, 0.01]})
    >>> ax = plot_breakdown(df)
    >>> ax.get_ylabel()
    'time per iteration [s]'
    """
    import numpy as np

    df = _frame(data).reset_index(drop=True)
    if components is None:
        comm = "exposed_communication_time_s" if "exposed_communication_time_s" in df.columns \
            else "communication_time_s"
        components = [c for c in ("compute_time_s", comm, "overhead_time_s") if c in df.columns]
    _require(df, list(components) or ["compute_time_s"], "plot_breakdown")
    labels = _config_labels(df, x)
    values = np.column_stack([df[c].to_numpy(dtype=float) for c in components])
    values = np.nan_to_num(values)
    if normalize:
        totals = values.sum(axis=1, keepdims=True)
        values = np.divide(100.0 * values, totals, out=np.zeros_like(values), where=totals > 0)
    ax = _new_axes(ax, figsize=(max(5.0, 0.6 * len(labels) + 2.5), 4.2) if not horizontal
                   else (6.4, max(3.0, 0.35 * len(labels) + 1.5)))
    pos = np.arange(len(labels))
    bottom = np.zeros(len(labels))
    for i, col in enumerate(components):
        short = col.replace("exposed_", "").removesuffix("_time_s").removesuffix("_s")
        color = _BREAKDOWN_COLORS.get(short)
        name = short.replace("_", " ")
        if col.startswith("exposed_"):
            name += " (exposed)"
        if horizontal:
            ax.barh(pos, values[:, i], left=bottom, color=color, label=name, height=0.7)
        else:
            ax.bar(pos, values[:, i], bottom=bottom, color=color, label=name, width=0.7)
        bottom += values[:, i]
    unit_label = "share of iteration time [%]" if normalize else "time per iteration [s]"
    if horizontal:
        ax.set_yticks(pos, labels)
        ax.invert_yaxis()
        ax.set_xlabel(unit_label)
        ax.grid(True, axis="x", alpha=0.3)
    else:
        rotate = len(labels) > 6 or max((len(s) for s in labels), default=0) > 12
        ax.set_xticks(pos, labels, rotation=35 if rotate else 0, ha="right" if rotate else "center")
        ax.set_ylabel(unit_label)
        ax.set_xlabel(axis_label(x) if x else "configuration")
        ax.set_ylim(0, float(bottom.max()) * 1.08 if bottom.size and bottom.max() > 0 else None)
        ax.grid(True, axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    if title:
        ax.set_title(title)
    ax.legend(fontsize="small")
    return ax


# --------------------------------------------------------------------------- roofline
def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        return [value]
    return list(value)


def _model_intensity(model, batch: float, precision: str) -> tuple[float, float]:
    """(FLOP, bytes) of one inference batch: ``F·b`` and ``W + A·b`` at ``precision``."""
    from .catalog.objects import BYTES_PER_ELEMENT, normalize_precision

    scale = BYTES_PER_ELEMENT[normalize_precision(precision)] / 4.0
    acts = (model.activation_bytes_per_sample or 0.0) * scale
    return model.fwd_flops * batch, model.size_bytes(precision) + acts * batch


def plot_roofline(devices, models=None, *, precisions: Sequence[str] | None = None, batch: float = 1,
                  model_precision: str | None = None, ax=None, intensity_range=None,
                  title: str | None = None):
    """Device rooflines per precision, with models or layers placed by arithmetic intensity.

    A roofline is ``attainable(I) = min(peak, I · memory bandwidth)`` [FLOP/s] for
    arithmetic intensity ``I`` [FLOP/B]; its ridge ``peak / bandwidth`` separates
    memory-bound (left) from compute-bound (right) work.

    Parameters
    ----------
    devices : str, Device or list of them
        Catalog names or :class:`~plaster_model.Device` objects (peak FLOP/s per precision
        and memory bandwidth [B/s] from the catalog).
    models : str, Model, list of them, or pandas.DataFrame, optional
        Models placed at their inference intensity ``F·b / (W + A·b)`` at ``batch``
        (forward FLOPs per sample ``F`` [FLOP], weight bytes ``W`` and activation bytes
        per sample ``A`` [B] at ``model_precision``), on the first device's first roof.
        A DataFrame is a per-layer table (:func:`plaster_model.onnx_import.onnx_layer_table`)
        with ``flops`` [FLOP] and ``bytes`` [B] or ``arithmetic_intensity`` [FLOP/B]; each
        layer is a point sized by its FLOPs share, coloured by ``kind`` when present, at
        its achieved rate ``flops / time_s`` when a ``time_s`` [s] column exists, else at
        the attainable rate.
    precisions : sequence of str, optional
        Precisions to draw per device (default: those of fp32, fp16, int8 the device has).
    batch : float
        Batch [samples] for placing models.
    model_precision : str, optional
        Precision of the model bytes (default: the first precision drawn).
    ax : matplotlib.axes.Axes, optional
    intensity_range : (float, float), optional
        x-axis range [FLOP/B] (default covers the ridges and the points).
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
        Log-log: x arithmetic intensity [FLOP/B], y attainable performance [TFLOP/s].

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = plot_roofline("V100", ["ResNet-50"], precisions=["fp32"])
    >>> ax.get_xlabel()
    'arithmetic intensity [FLOP/B]'
    """
    import numpy as np
    import pandas as pd

    from .catalog.loader import load_device, load_model
    from .catalog.objects import normalize_precision

    devs = [load_device(d) for d in _as_list(devices)]
    if not devs:
        raise ParameterError("devices", devices, message="plot_roofline: give at least one device")
    roofs = []  # (device, precision, peak, bandwidth)
    for dev in devs:
        wanted = [normalize_precision(p) for p in precisions] if precisions else \
            [p for p in ("fp32", "fp16", "int8") if p in dev.precisions] or list(dev.precisions[:1])
        seen_keys = set()
        for prec in wanted:
            key = dev.peak_key(prec)  # raises, listing what the device supports
            if key in seen_keys:
                continue
            seen_keys.add(key)
            roofs.append((dev, prec, dev.peak(prec), dev.memory_bandwidth))

    # points to place: (label, intensity, flops, rate or None, kind)
    points: list[tuple[str, float, float, float | None, str | None]] = []
    layer_mode = isinstance(models, pd.DataFrame)
    mprec = normalize_precision(model_precision) if model_precision else roofs[0][1]
    if layer_mode:
        lay = models
        if "arithmetic_intensity" in lay.columns:
            ai = lay["arithmetic_intensity"].to_numpy(dtype=float)
        else:
            _require(lay, ["flops", "bytes"], "plot_roofline(layers)")
            with np.errstate(divide="ignore", invalid="ignore"):
                ai = lay["flops"].to_numpy(dtype=float) / lay["bytes"].to_numpy(dtype=float)
        flops = lay["flops"].to_numpy(dtype=float) if "flops" in lay.columns else np.ones(len(lay))
        times = lay["time_s"].to_numpy(dtype=float) if "time_s" in lay.columns else None
        names = lay["layer"].astype(str).tolist() if "layer" in lay.columns else [str(i) for i in lay.index]
        kinds = lay["kind"].astype(str).tolist() if "kind" in lay.columns else \
            (lay["op_type"].astype(str).tolist() if "op_type" in lay.columns else [None] * len(lay))
        for i in range(len(lay)):
            if not (np.isfinite(ai[i]) and ai[i] > 0 and flops[i] > 0):
                continue
            rate = flops[i] / times[i] if times is not None and times[i] > 0 else None
            points.append((names[i], float(ai[i]), float(flops[i]), rate, kinds[i]))
    else:
        for m in _as_list(models):
            model = load_model(m)
            f, b = _model_intensity(model, batch, mprec)
            points.append((model.name, f / b, f, None, None))

    ridges = [peak / bw for _, _, peak, bw in roofs]
    if intensity_range is None:
        lo = min([0.1] + [p[1] / 3 for p in points])
        hi = max([1e3] + [r * 10 for r in ridges] + [p[1] * 3 for p in points])
    else:
        lo, hi = (float(v) for v in intensity_range)
    xs = np.logspace(math.log10(lo), math.log10(hi), 400)

    ax = _new_axes(ax, figsize=(7.0, 4.8))
    styles = ["-", "--", ":", "-."]
    dev_colors: dict[str, str] = {}
    for dev, prec, peak, bw in roofs:
        color = dev_colors.get(dev.name)
        style = styles[sum(1 for r in roofs[: roofs.index((dev, prec, peak, bw))] if r[0] is dev) % len(styles)]
        (line,) = ax.plot(xs, np.minimum(peak, xs * bw) / 1e12, ls=style, lw=1.8, color=color,
                          label=f"{dev.name} {prec}: {peak / 1e12:.3g} TFLOP/s, {bw / 1e9:.0f} GB/s")
        dev_colors.setdefault(dev.name, line.get_color())
        ax.plot([peak / bw], [peak / 1e12], marker="o", ms=3, color=line.get_color())

    _, _, peak0, bw0 = roofs[0]
    if points:
        if layer_mode:
            total = sum(p[2] for p in points) or 1.0
            by_kind: dict[str | None, list] = {}
            for p in points:
                by_kind.setdefault(p[4], []).append(p)
            for kind, pts in by_kind.items():
                xv = [p[1] for p in pts]
                yv = [(p[3] if p[3] is not None else min(peak0, p[1] * bw0)) / 1e12 for p in pts]
                sizes = [12 + 300 * math.sqrt(p[2] / total) for p in pts]
                ax.scatter(xv, yv, s=sizes, alpha=0.6, edgecolor="black", lw=0.5, zorder=4,
                           label=f"layers: {kind}" if kind is not None else "layers")
        else:
            offsets = [(8, -26), (-8, 8), (8, 8), (-8, -26)]  # alternate so close points stay legible
            for i, (name, ai, _, _, _) in enumerate(sorted(points, key=lambda p: p[1])):
                yv = min(peak0, ai * bw0) / 1e12
                ax.scatter([ai], [yv], marker="*", s=140, color="black", zorder=5)
                dx, dy = offsets[i % len(offsets)]
                ax.annotate(f"{name}\n{ai:.3g} FLOP/B", (ai, yv), textcoords="offset points",
                            xytext=(dx, dy), fontsize="x-small", ha="left" if dx > 0 else "right")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_xlabel("arithmetic intensity [FLOP/B]")
    ax.set_ylabel("attainable performance [TFLOP/s]")
    ax.grid(True, which="major", alpha=0.3)
    if title is None and points and not layer_mode:
        title = f"models at batch {batch:g}, {mprec} weights"
    if title:
        ax.set_title(title, fontsize="medium")
    ax.legend(fontsize="x-small", loc="lower right")
    return ax


# --------------------------------------------------------------------------- inference
def plot_latency_throughput(data, *, latency_budget=None, hue: str | None = "auto", ax=None,
                            annotate: bool = True, logx: bool | None = None, title: str | None = None):
    """Throughput versus latency over batch size, with the latency budget.

    Parameters
    ----------
    data : pandas.DataFrame
        A curve from :func:`plaster_model.latency_throughput_curve`: ``batch`` [samples],
        ``latency_s`` [s] and ``throughput_samples_s`` [samples/s]; several devices or
        precisions concatenated are drawn as one line each. Intervals
        ``latency_low_s``/``latency_high_s`` [s] are drawn as error bars.
    latency_budget : float or str, optional
        Latency budget [s] (``"7 ms"`` accepted): drawn as a vertical line, the region
        beyond it shaded, and the best batch within it starred on each line.
    hue : str, list of str or None
        Column(s) with one line per value (per combination for a list); ``"auto"`` takes
        every one of model, device and precision that varies, so each (device, precision)
        curve is its own line (``"T4 int8"``, ``"T4 fp16"``, ``"V100 fp16"``).
    ax : matplotlib.axes.Axes, optional
    annotate : bool
        Write the batch size beside each point.
    logx : bool, optional
        Log latency axis (default when latencies span more than 20×).
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
        x latency per batch [ms], y throughput [samples/s].

    Examples
    --------
    >>> import pandas as pd, matplotlib
    >>> matplotlib.use("Agg")
    >>> df = pd.DataFrame({"batch": [1, 8, 64], "latency_s": [1e-3, 3e-3, 2e-2],
    ...                    "throughput_samples_s": [1000, 2667, 3200]})
    >>> ax = plot_latency_throughput(df, latency_budget="7 ms")
    >>> ax.get_xlabel()
    'latency per batch [ms]'
    """
    import numpy as np

    from .units import to_si

    df = _frame(data)
    _require(df, ["latency_s", "throughput_samples_s"], "plot_latency_throughput")
    if hue == "auto":
        hue = _curve_hue(df)
    budget = None if latency_budget is None else float(to_si(latency_budget, "time", name="latency_budget"))
    ax = _new_axes(ax)
    best_labelled = False
    for key, sub in _groups(df, hue):
        sub = sub.sort_values("batch" if "batch" in sub.columns else "latency_s")
        lat_ms = sub["latency_s"].to_numpy(dtype=float) * 1e3
        thr = sub["throughput_samples_s"].to_numpy(dtype=float)
        (line,) = ax.plot(lat_ms, thr, marker="o", ms=4, lw=1.8,
                          label=str(key) if key is not None else "predicted")
        cols = _interval_columns(sub, "throughput_samples_s")
        if cols:
            ax.fill_between(lat_ms, sub[cols[0]], sub[cols[1]], color=line.get_color(), alpha=0.2, lw=0)
        cols = _interval_columns(sub, "latency_s")
        if cols:
            xerr = np.vstack([lat_ms - sub[cols[0]].to_numpy(dtype=float) * 1e3,
                              sub[cols[1]].to_numpy(dtype=float) * 1e3 - lat_ms])
            ax.errorbar(lat_ms, thr, xerr=np.nan_to_num(np.clip(xerr, 0, None)), fmt="none",
                        ecolor=line.get_color(), elinewidth=0.8, capsize=2)
        if annotate and "batch" in sub.columns and len(sub) <= 24:
            for xv, yv, b in zip(lat_ms, thr, sub["batch"]):
                ax.annotate(f"{b:g}", (xv, yv), textcoords="offset points", xytext=(3, 4),
                            fontsize="x-small", color=line.get_color())
        if budget is not None:
            ok = lat_ms <= budget * 1e3 * (1 + 1e-9)
            if ok.any():
                # the largest batch within the budget among those at the best throughput
                # (as best_batch: batching until the budget is spent)
                best = np.max(thr[ok])
                i = int(np.flatnonzero(ok & (thr >= best * (1 - 1e-6)))[-1])
                ax.scatter([lat_ms[i]], [thr[i]], marker="*", s=180, color=line.get_color(),
                           edgecolor="black", zorder=5,
                           label=None if best_labelled else "best batch within budget")
                best_labelled = True
    lat_all = df["latency_s"].to_numpy(dtype=float) * 1e3
    if logx is None:
        pos = lat_all[lat_all > 0]
        logx = pos.size > 1 and pos.max() / pos.min() > 20
    if logx:
        ax.set_xscale("log")
    if budget is not None:
        ax.axvline(budget * 1e3, color="crimson", ls="--", lw=1.5, label=f"latency budget {budget * 1e3:g} ms")
        right = max(float(np.nanmax(lat_all)) * 1.5, budget * 1e3 * 1.1)
        ax.axvspan(budget * 1e3, right, color="crimson", alpha=0.06, lw=0)
        left = ax.get_xlim()[0]
        ax.set_xlim(left, right)
    ax.set_xlabel("latency per batch [ms]")
    ax.set_ylabel(axis_label("throughput_samples_s"))
    ax.grid(True, which="major", alpha=0.3)
    if title:
        ax.set_title(title)
    ax.legend(fontsize="small", title=(hue if isinstance(hue, str) else " / ".join(hue)) if hue else None,
              title_fontsize="small")
    return ax


# --------------------------------------------------------------------------- calibration
def plot_calibration(data, *, metric: str | None = None, hue: str | None = "auto", ax=None,
                     band=None, log: bool = True, title: str | None = None):
    """Predicted versus measured, with the y = x line and a relative-error band.

    Parameters
    ----------
    data : Calibration or pandas.DataFrame
        A fitted :class:`plaster_model.Calibration` (its ``residuals_`` are used) or a
        DataFrame with ``measured`` and ``predicted`` columns (unit set by ``metric``),
        optionally ``rel_error`` (``predicted/measured − 1``), ``metric``, ``device`` and
        a prediction interval ``predicted_low``/``predicted_high`` (or
        ``value_low``/``value_high``) drawn as error bars.
    metric : str, optional
        Keep only rows of this metric (``"latency_ms"`` [ms], ``"throughput_img_s"``
        [samples/s], ``"time_per_iter_s"`` [s] …); the axes then carry its unit.
    hue : str or None
        Colour column; ``"auto"`` picks metric, device, model, precision or the
        calibration ``group`` when it varies.
    ax : matplotlib.axes.Axes, optional
    band : None, False, float or sequence of float
        Relative error band(s) drawn around y = x as fractions (0.15 = ±15 %). None
        (default) draws the 90th percentile of |relative error| of the data; False none.
    log : bool
        Log-log axes (default; measured values often span decades).
    title : str, optional
        Default: the median |relative error| [%] and the number of rows.

    Returns
    -------
    matplotlib.axes.Axes
        x measured, y predicted, both in the metric's unit.

    Examples
    --------
    >>> import pandas as pd, matplotlib
    >>> matplotlib.use("Agg")
    >>> df = pd.DataFrame({"measured": [1.0, 2.0, 4.0], "predicted": [1.1, 1.9, 4.4],
    ...                    "metric": "latency_ms"})
    >>> ax = plot_calibration(df)
    >>> ax.get_xlabel()
    'measured latency per batch [ms]'
    """
    import numpy as np

    df = getattr(data, "residuals_", data)
    df = _frame(df).copy()
    _require(df, ["measured", "predicted"], "plot_calibration")
    if metric is not None:
        _require(df, ["metric"], "plot_calibration(metric=)")
        df = df[df["metric"] == metric]
        if df.empty:
            raise ParameterError("metric", metric, message=f"plot_calibration: no rows with metric {metric!r}")
    df = df[np.isfinite(df["measured"].astype(float)) & np.isfinite(df["predicted"].astype(float))]
    if "rel_error" not in df.columns:
        df["rel_error"] = df["predicted"] / df["measured"] - 1.0
    if hue == "auto":
        hue = next((c for c in ("metric", "device", "model", "precision", "group")
                    if c in df.columns and df[c].nunique() > 1), None)
    ax = _new_axes(ax, figsize=(5.4, 5.0))
    meas = df["measured"].to_numpy(dtype=float)
    pred = df["predicted"].to_numpy(dtype=float)
    lo_col = next((c for c in ("predicted_low", "value_low") if c in df.columns), None)
    hi_col = next((c for c in ("predicted_high", "value_high") if c in df.columns), None)
    for key, sub in _groups(df, hue):
        yerr = None
        if lo_col and hi_col:
            p = sub["predicted"].to_numpy(dtype=float)
            yerr = np.vstack([np.clip(p - sub[lo_col].to_numpy(dtype=float), 0, None),
                              np.clip(sub[hi_col].to_numpy(dtype=float) - p, 0, None)])
            yerr = np.nan_to_num(yerr)
        ax.errorbar(sub["measured"], sub["predicted"], yerr=yerr, fmt="o", ms=5, alpha=0.85,
                    elinewidth=0.8, capsize=2, label=str(key) if key is not None else "rows")
    allv = np.concatenate([meas, pred])
    allv = allv[allv > 0] if log else allv
    if allv.size == 0:
        raise ParameterError("data", None, message="plot_calibration: no finite rows to plot")
    vmin, vmax = float(allv.min()), float(allv.max())
    if log:
        lo_lim, hi_lim = vmin / 1.6, vmax * 1.6
        grid = np.logspace(math.log10(lo_lim), math.log10(hi_lim), 50)
    else:
        pad = 0.08 * (vmax - vmin or abs(vmax) or 1.0)
        lo_lim, hi_lim = vmin - pad, vmax + pad
        grid = np.linspace(lo_lim, hi_lim, 50)
    ax.plot(grid, grid, color="black", lw=1, label="y = x")
    abs_err = np.abs(df["rel_error"].to_numpy(dtype=float))
    abs_err = abs_err[np.isfinite(abs_err)]
    if band is None:
        bands = [float(np.percentile(abs_err, 90))] if abs_err.size else []
        band_note = " (90th percentile)"
    elif band is False:
        bands, band_note = [], ""
    else:
        bands, band_note = [float(b) for b in _as_list(band)], ""
    for i, e in enumerate(sorted(bands)):
        ax.fill_between(grid, grid * max(1 - e, 1e-9), grid * (1 + e), color="0.5",
                        alpha=0.18 / (i + 1), lw=0, label=f"±{100 * e:.0f} %{band_note}")
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlim(lo_lim, hi_lim)
    ax.set_ylim(lo_lim, hi_lim)
    ax.set_aspect("equal", adjustable="box")
    metrics = df["metric"].unique().tolist() if "metric" in df.columns else []
    if len(metrics) == 1 and metrics[0] in _METRIC_UNITS:
        name, unit = _METRIC_UNITS[metrics[0]]
        ax.set_xlabel(f"measured {name} [{unit}]")
        ax.set_ylabel(f"predicted {name} [{unit}]")
    else:
        ax.set_xlabel("measured [unit of each metric]")
        ax.set_ylabel("predicted [unit of each metric]")
    if title is None and abs_err.size:
        title = f"median |error| {100 * float(np.median(abs_err)):.1f} %, n = {abs_err.size}"
    if title:
        ax.set_title(title, fontsize="medium")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize="small", loc="upper left")
    return ax


# --------------------------------------------------------------------------- PLASTER
# Preferred columns per dimension (first match wins, shortest name first), as substrings of
# the column name after the dimension prefix.
_PLASTER_PREFERENCES = {
    "programmability": ("score", "n_frameworks", "frameworks_count", "n_precisions", "count"),
    "latency": ("score", "batch1_s", "latency_s", "_s", "_ms"),
    "accuracy": ("score", "top1", "top5", "percent", "pct"),
    "size": ("score", "bytes", "fits", "headroom"),
    "throughput": ("score", "samples_s", "throughput", "qps"),
    "energy": ("score", "inferences_per_j", "per_j", "per_w", "energy_per_inference_j", "_j"),
    "rate_of_learning": ("score", "per_day", "retrain", "_s"),
}
_WORSE_WORDS = ("loss", "drop", "error", "degradation")
_HIGHER_RE = re.compile(
    r"(^n_|_n_|score|samples_s|img_s|throughput|qps|top1|top5|fits|headroom|count"
    r"|(inferences|samples|images|img|retrains|trainings|epochs|updates)_per_"
    r"|per_(j|w|s|day|joule|watt)$)")
_LOWER_RE = re.compile(r"(latency|time|_s$|_ms$|_min$|_h$|_bytes$|_j$|_w$|fraction)")


def _direction(column: str) -> str:
    """"higher" or "lower": which way a column is better, from its name."""
    name = column.lower()
    if any(w in name for w in _WORSE_WORDS):
        return "lower"
    if _HIGHER_RE.search(name):
        return "higher"
    if _LOWER_RE.search(name):
        return "lower"
    return "higher"


def _numeric_columns(df, prefix: str) -> list[str]:
    import numpy as np
    import pandas as pd

    cols = []
    for c in df.columns:
        if not str(c).startswith(prefix):
            continue
        s = df[c]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            if pd.to_numeric(s, errors="coerce").notna().any():
                cols.append(c)
        elif s.dtype == object:  # numbers mixed with text such as "not published"
            nums = [v for v in s.tolist() if isinstance(v, (int, float, np.integer, np.floating))
                    and not isinstance(v, bool) and np.isfinite(v)]
            if nums:
                cols.append(c)
    return cols


def _programmability_count(df):
    """Frameworks + precisions a row's device supports (0 where the precision is not
    supported), from ``programmability_frameworks`` / ``programmability_precisions`` lists."""
    import numpy as np

    def count(v):
        if isinstance(v, str):
            return len([t for t in v.split(",") if t.strip()])
        if isinstance(v, (list, tuple, set, frozenset)):
            return len(v)
        return 0

    cols = [c for c in ("programmability_frameworks", "programmability_precisions") if c in df.columns]
    if not cols:
        return None
    n = np.zeros(len(df))
    for c in cols:
        n += np.array([count(v) for v in df[c].tolist()], dtype=float)
    if "programmability_supported" in df.columns:
        n *= df["programmability_supported"].fillna(False).astype(bool).to_numpy()
    return n


def plaster_scores(data, dimensions: Mapping[str, Any] | None = None):
    """One normalized score per PLASTER dimension and row (1 = best of the rows compared).

    Parameters
    ----------
    data : pandas.DataFrame
        A :func:`plaster_model.plaster_report` frame: one row per (device, precision),
        column groups prefixed ``programmability_``, ``latency_``, ``accuracy_``,
        ``size_``, ``throughput_``, ``energy_``, ``rate_of_learning_``.
    dimensions : mapping, optional
        Override the column used per dimension: ``{"energy": "energy_inferences_per_j"}``
        or ``{"latency": ("latency_s", "lower")}``. By default a ``<dim>_score`` column is
        used when present, else the first numeric column of the group matching a
        preference list (latency [s] lower is better, throughput [samples/s] higher,
        inferences per joule [1/J] higher, accuracy [%] higher, …).

    Returns
    -------
    pandas.DataFrame
        Rows as in ``data``, one column per dimension found, each in [0, 1] (higher is
        better, dimensionless: ``v / max`` or ``min / v``). Programmability counts the
        frameworks and precisions listed (0 where the precision is unsupported).
        ``attrs["columns"]`` maps each
        dimension to ``(column, "higher" | "lower")``; ``attrs["missing"]`` lists the
        dimensions with no numeric column.
    """
    import numpy as np
    import pandas as pd

    df = _frame(data)
    dimensions = dict(dimensions or {})
    chosen: dict[str, tuple[str, str]] = {}
    derived: dict[str, Any] = {}
    missing = []
    for dim in PLASTER_DIMENSIONS:
        if dim in dimensions:
            spec = dimensions[dim]
            col, direction = (spec, _direction(spec)) if isinstance(spec, str) else tuple(spec)
            _require(df, [col], f"plaster_scores({dim})")
            chosen[dim] = (col, direction)
            continue
        prefix = f"{dim}_"
        cols = [c for c in _numeric_columns(df, prefix) if "budget" not in c]
        if dim == "programmability" and f"{dim}_score" not in cols:
            counted = _programmability_count(df)
            if counted is not None:
                derived[dim] = counted
                chosen[dim] = ("programmability_count", "higher")
                continue
        if not cols:
            missing.append(dim)
            continue
        pick = None
        for pref in _PLASTER_PREFERENCES[dim]:
            pick = next((c for c in sorted(cols, key=len) if pref in c), None)
            if pick:
                break
        pick = pick or cols[0]
        chosen[dim] = (pick, _direction(pick))
    out = pd.DataFrame(index=df.index)
    for dim, (col, direction) in chosen.items():
        if dim in derived:
            v = derived[dim]
        else:
            v = pd.to_numeric(df[col].map(lambda x: x if not isinstance(x, str) else np.nan),
                              errors="coerce").to_numpy(dtype=float)
        if not np.isfinite(v).any():
            missing.append(dim)
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            if direction == "higher":
                best = np.nanmax(v) if np.isfinite(v).any() else np.nan
                s = v / best if best and best > 0 else np.where(np.isfinite(v), 1.0, np.nan)
            else:
                pos = v[np.isfinite(v) & (v > 0)]
                best = pos.min() if pos.size else np.nan
                s = np.where(v > 0, best / v, np.where(v == 0, 1.0, np.nan))
        out[dim] = np.clip(s, 0.0, 1.0)
    out.attrs["columns"] = {d: chosen[d] for d in out.columns}
    out.attrs["missing"] = [d for d in PLASTER_DIMENSIONS if d in missing]
    return out


def _row_labels(df, label: str | None) -> list[str]:
    if label is not None:
        _require(df, [label], "plot_plaster")
        return df[label].astype(str).tolist()
    parts = [c for c in ("device", "precision", "model") if c in df.columns]
    varying = [c for c in parts if df[c].nunique() > 1] or parts[:1]
    if not varying:
        return [str(i) for i in df.index]
    return [" ".join(str(r[c]) for c in varying) for _, r in df[varying].iterrows()]


#: Rows beyond which ``plot_plaster(kind="auto")`` draws small multiples instead of one radar.
RADAR_MAX_ROWS = 4


def plot_plaster(data, *, kind: str = "auto", dimensions: Mapping[str, Any] | None = None,
                 label: str | None = None, include_unsupported: bool = False, ax=None,
                 title: str | None = None):
    """The seven PLASTER dimensions compared across devices (and precisions).

    Each dimension is normalized across the rows to [0, 1], 1 being the best row
    (:func:`plaster_scores`), so a larger polygon is a better deployment on every axis.

    Parameters
    ----------
    data : pandas.DataFrame
        A :func:`plaster_model.plaster_report` frame (one row per device and precision).
    kind : {"auto", "radar", "bars", "multiples"}
        A radar (polar axes), grouped bars (dimensions on x, one bar per row), or small
        multiples (one small bar chart per row, the seven dimensions in each, on a grid of
        at most four columns). ``"auto"`` (default): a radar up to
        :data:`RADAR_MAX_ROWS` rows, small multiples beyond (a radar of more overlapping
        polygons cannot be read). A dimension with no value for a row (accuracy not
        published, rate of learning not known) is drawn as no bar / a gap and labelled,
        never as 0.
    dimensions : mapping, optional
        Columns to use per dimension (see :func:`plaster_scores`).
    label : str, optional
        Column naming the rows (default: device and precision where they vary).
    include_unsupported : bool
        Keep rows whose ``programmability_supported`` is False (a device without that
        precision: nothing predicted); by default they are left out and named in the title.
    ax : matplotlib.axes.Axes, optional
        For ``kind="radar"`` a polar axes (``subplot_kw={"projection": "polar"}``); for
        ``"multiples"`` its place in the figure is split into the grid.
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes or numpy.ndarray of Axes
        Scores are dimensionless, normalized [0–1, 1 = best of compared]; the column used
        for each dimension (with its unit) is written in the tick label. Small multiples
        return the array of their axes (one per row, in row order).

    Examples
    --------
    >>> import pandas as pd, matplotlib
    >>> matplotlib.use("Agg")
    >>> df = pd.DataFrame({"device": ["T4", "V100"], "latency_s": [2e-3, 1e-3],
    ...                    "throughput_samples_s": [900.0, 2000.0]})
    >>> ax = plot_plaster(df, kind="bars")
    >>> ax.get_ylabel()
    'normalized score [0–1, 1 = best of compared]'
    """
    import numpy as np

    df = _frame(data).reset_index(drop=True)
    dropped: list[str] = []
    if not include_unsupported and "programmability_supported" in df.columns:
        ok = df["programmability_supported"].fillna(False).astype(bool)
        dropped = [n for n, keep in zip(_row_labels(df, label), ok) if not keep]
        df = df[ok.to_numpy()].reset_index(drop=True)
        if df.empty:
            raise ParameterError("data", None, message="plot_plaster: no supported (device, precision) row to plot")
    scores = plaster_scores(df, dimensions)
    dims = [d for d in PLASTER_DIMENSIONS if d in scores.columns]
    if not dims:
        raise ParameterError("data", None,
                             message="plot_plaster: no numeric column found for any PLASTER dimension; expected column "
                                     f"groups prefixed {', '.join(d + '_' for d in PLASTER_DIMENSIONS)}")
    labels = _row_labels(df, label)
    used = scores.attrs["columns"]
    if kind == "auto":
        kind = "radar" if len(df) <= RADAR_MAX_ROWS else "multiples"
    if kind == "multiples":
        return _plaster_multiples(scores, dims, labels, used, ax, title, dropped)

    def tick(dim):
        col, direction = used[dim]
        unit = axis_label(col)
        unit = unit[unit.find("["):] if "[" in unit else ""
        return f"{dim.replace('_', ' ').capitalize()}\n{'↑' if direction == 'higher' else '↓'} {unit}".rstrip()

    if kind == "radar":
        if ax is None:
            ax = _new_axes(None, figsize=(6.4, 6.0), projection="polar")
        elif getattr(ax, "name", "") != "polar":
            raise ParameterError("ax", ax, message="plot_plaster(kind='radar') needs polar axes: "
                             "plt.subplots(subplot_kw={'projection': 'polar'}), or kind='bars'")
        ax.set_theta_offset(np.pi / 2)  # P at the top, then clockwise L, A, S, T, E, R
        ax.set_theta_direction(-1)
        angles = np.linspace(0, 2 * np.pi, len(dims), endpoint=False)
        closed = np.concatenate([angles, angles[:1]])
        for i, name in enumerate(labels):
            vals = scores.loc[i, dims].to_numpy(dtype=float)
            vals = np.concatenate([vals, vals[:1]])  # NaN (no value) leaves a gap, never a 0
            (line,) = ax.plot(closed, vals, lw=1.8, marker="o", ms=3, label=name)
            ax.fill(closed, vals, color=line.get_color(), alpha=0.1)
        ax.set_xticks(angles, [tick(d) for d in dims], fontsize="small")
        ax.tick_params(axis="x", pad=12)
        ax.set_ylim(0, 1.05)
        ax.set_yticks([0.25, 0.5, 0.75, 1.0], ["0.25", "0.5", "0.75", "1"], fontsize="x-small")
        ax.set_rlabel_position(90)
        ax.legend(fontsize="small", loc="upper right", bbox_to_anchor=(1.35, 1.12))
    elif kind == "bars":
        ax = _new_axes(ax, figsize=(max(6.4, 1.1 * len(dims) + 2), 4.4))
        n = len(labels)
        width = 0.8 / max(n, 1)
        pos = np.arange(len(dims))
        for i, name in enumerate(labels):
            raw = scores.loc[i, dims].to_numpy(dtype=float)
            xs = pos - 0.4 + width * (i + 0.5)
            ax.bar(xs, np.nan_to_num(raw), width=width, label=name)
            for xv in xs[np.isnan(raw)]:  # no value: say so where the bar would stand
                ax.text(xv, 0.02, "n/a", rotation=90, ha="center", va="bottom", fontsize="xx-small")
        ax.set_xticks(pos, [tick(d) for d in dims], fontsize="small")
        ax.set_ylim(0, 1.1)
        ax.set_ylabel("normalized score [0–1, 1 = best of compared]")
        ax.grid(True, axis="y", alpha=0.3)
        ax.set_axisbelow(True)
        ax.legend(fontsize="small", ncols=min(n, 4))
    else:
        raise ParameterError("kind", kind, message=f"plot_plaster: kind must be 'radar' or 'bars', got {kind!r}")
    missing = scores.attrs["missing"]
    if title is None:
        title = "PLASTER: normalized score [0–1, 1 = best of compared]"
        if missing:
            title += f"\nnot in the data: {', '.join(missing)}"
        if dropped:
            title += f"\nnot supported: {', '.join(dropped)}"
        gaps = [f"{d.replace('_', ' ')} ({int(scores[d].isna().sum())} rows)"
                for d in dims if scores[d].isna().any()]
        if gaps:
            title += f"\nno value (not published / not known), left blank: {', '.join(gaps)}"
    ax.set_title(title, fontsize="medium", pad=18 if kind == "radar" else 6)
    return ax


def _plaster_multiples(scores, dims, labels, used, ax, title, dropped):
    """One small horizontal bar chart per row: the seven PLASTER scores, "n/a" where a
    dimension has no value (not published, not known)."""
    import numpy as np

    n = len(labels)
    ncols = min(4, n)
    nrows = int(math.ceil(n / ncols))
    if ax is None:
        plt = _pyplot()
        fig = plt.figure(figsize=(3.0 * ncols + 1.2, 2.4 * nrows + 0.8), layout="constrained")
        grid = fig.add_gridspec(nrows, ncols)
    else:
        fig = ax.figure
        grid = ax.get_subplotspec().subgridspec(nrows, ncols)
        ax.remove()
    names = [d.replace("_", " ").capitalize() for d in dims]
    axes = []
    for i, name in enumerate(labels):
        a = fig.add_subplot(grid[i // ncols, i % ncols])
        vals = scores.iloc[i][dims].to_numpy(dtype=float)
        ypos = np.arange(len(dims))[::-1]
        a.barh(ypos, np.nan_to_num(vals), color=[f"C{k}" for k in range(len(dims))], height=0.7)
        for yv, v in zip(ypos, vals):
            if np.isnan(v):
                a.text(0.02, yv, "n/a", va="center", fontsize="x-small", color="0.35")
        a.set_xlim(0, 1.05)
        a.set_yticks(ypos, names if i % ncols == 0 else [""] * len(dims), fontsize="x-small")
        a.tick_params(axis="x", labelsize="x-small")
        a.set_title(name, fontsize="small")
        a.grid(True, axis="x", alpha=0.3)
        axes.append(a)
    if title is None:
        title = "PLASTER: normalized score [0–1, 1 = best of compared]; n/a = not published / not known"
        if dropped:
            title += f"\nnot supported: {', '.join(dropped)}"
    fig.suptitle(title, fontsize="medium")
    return np.array(axes)
