"""The guide's charts: :mod:`plaster_model.plotting` drawn on standalone figures.

Figures are :class:`matplotlib.figure.Figure` objects made without pyplot, so a server
with many sessions keeps no global figure state and never needs a display. Each
function only lays out axes and calls the library's plotting function on them.
"""
from __future__ import annotations

from plaster_model import plotting

__all__ = ["scaling_figure", "breakdown_figure", "latency_figure", "plaster_figure",
           "calibration_figure", "figure_png"]


# Fixed margins instead of constrained layout: the solver costs a third of a redraw and
# these layouts never change (labels are the library's, axes fixed), so [fractions].
_MARGINS = dict(left=0.11, right=0.98, bottom=0.16, top=0.93)


def _figure(width=6.4, height=3.6, margins=None, **subplot_kw):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(**(margins or _MARGINS))
    return fig, fig.add_subplot(**subplot_kw)


def scaling_figure(curve, title: str = ""):
    """Speedup and efficiency versus devices (:func:`plotting.plot_scaling`): ideal line,
    calibrated band where the curve has one, crossover ``p*`` marked."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9.0, 3.4))
    fig.subplots_adjust(left=0.07, right=0.99, bottom=0.15, top=0.9 if title else 0.96, wspace=0.22)
    ax1, ax2 = fig.subplots(1, 2)
    plotting.plot_scaling(curve, y="speedup", ax=ax1, hue=None)
    plotting.plot_scaling(curve, y="efficiency", ax=ax2, hue=None)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def breakdown_figure(curve, title: str = ""):
    """Compute / communication / overhead per iteration over the curve's device counts
    (:func:`plotting.plot_breakdown`)."""
    fig, ax = _figure(6.0, 3.4, margins=dict(left=0.12, right=0.98, bottom=0.2, top=0.96))
    plotting.plot_breakdown(curve, x="devices", ax=ax, title=title or None)
    return fig


def latency_figure(curves, latency_budget):
    """Throughput versus latency over batch with the budget (:func:`plotting.plot_latency_throughput`)."""
    fig, ax = _figure(6.4, 3.8)
    plotting.plot_latency_throughput(curves, latency_budget=latency_budget, ax=ax, annotate=False,
                                     hue="configuration" if "configuration" in curves else "auto")
    return fig


def plaster_figure(report):
    """The PLASTER radar (:func:`plotting.plot_plaster`)."""
    fig, ax = _figure(6.6, 4.4, margins=dict(left=0.06, right=0.66, bottom=0.1, top=0.85),
                      projection="polar")
    plotting.plot_plaster(report, kind="radar", ax=ax)
    return fig


def calibration_figure(calibration):
    """Predicted versus measured of a fitted calibration (:func:`plotting.plot_calibration`)."""
    fig, ax = _figure(5.6, 4.2, margins=dict(left=0.14, right=0.97, bottom=0.12, top=0.93))
    plotting.plot_calibration(calibration, ax=ax)
    return fig


def figure_png(fig, dpi: int = 96) -> bytes:
    """Render a figure to PNG bytes (what the page's image panes send)."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
