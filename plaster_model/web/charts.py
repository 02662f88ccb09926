"""The guide's charts: :mod:`plaster_model.plotting` drawn on standalone figures.

Figures are :class:`matplotlib.figure.Figure` objects made without pyplot, so a server
with many sessions keeps no global figure state and never needs a display. Each
function only lays out axes and calls the library's plotting function on them.
"""
from __future__ import annotations

from plaster_model import plotting

__all__ = ["scaling_figure", "breakdown_figure", "latency_figure", "plaster_figure",
           "calibration_figure", "figure_png"]


def _figure(width=6.4, height=3.6, **subplot_kw):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot(**subplot_kw)


def scaling_figure(curve, title: str = ""):
    """Speedup and efficiency versus devices (:func:`plotting.plot_scaling`): ideal line,
    calibrated band where the curve has one, crossover ``p*`` marked."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9.0, 3.4), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    plotting.plot_scaling(curve, y="speedup", ax=ax1, hue=None)
    plotting.plot_scaling(curve, y="efficiency", ax=ax2, hue=None)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def breakdown_figure(curve, title: str = ""):
    """Compute / communication / overhead per iteration over the curve's device counts
    (:func:`plotting.plot_breakdown`)."""
    fig, ax = _figure(6.0, 3.4)
    plotting.plot_breakdown(curve, x="devices", ax=ax, title=title or None)
    return fig


def latency_figure(curves, latency_budget):
    """Throughput versus latency over batch with the budget (:func:`plotting.plot_latency_throughput`)."""
    fig, ax = _figure(6.4, 3.8)
    plotting.plot_latency_throughput(curves, latency_budget=latency_budget, ax=ax, annotate=False)
    return fig


def plaster_figure(report):
    """The PLASTER radar (:func:`plotting.plot_plaster`)."""
    fig, ax = _figure(5.2, 4.4, projection="polar")
    plotting.plot_plaster(report, kind="radar", ax=ax)
    return fig


def calibration_figure(calibration):
    """Predicted versus measured of a fitted calibration (:func:`plotting.plot_calibration`)."""
    fig, ax = _figure(5.6, 4.2)
    plotting.plot_calibration(calibration, ax=ax)
    return fig


def figure_png(fig, dpi: int = 96) -> bytes:
    """Render a figure to PNG bytes (what the page's image panes send)."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
