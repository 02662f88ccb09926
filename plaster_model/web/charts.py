"""The guide's interactive charts: Bokeh figures (hover, pan, zoom) shown through Panel.

Each chart is built once per session and then only its data sources change
(``ColumnDataSource.data``), so a form change sends a few numbers to the browser instead of
re-rendering an image. The numbers are the library's (:func:`plaster_model.scaling_curve`,
:func:`plaster_model.latency_throughput_curve`, :func:`plaster_model.plaster_report`,
``Calibration.residuals_``); the only arithmetic here is unit display (s -> ms) and the
calibrated band of the speedup, the curve's own throughput interval divided by its
one-device throughput (the same ratio the speedup is).

The axes follow what the data are: speedup on log-log axes with the straight ideal
``S = p``; efficiency on a fixed 0-1 scale (a drop from 1.000 to 0.998 stays a flat line);
latency/throughput on log-log axes (a 222 seq/s curve stays visible beside a 28,000 one).
"""
from __future__ import annotations

import math

__all__ = ["ScalingChart", "BreakdownChart", "latency_figure", "plaster_figures",
           "calibration_figure", "rate_unit", "speedup_band", "ServingFrontChart"]

_PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf")
_TOOLS = "pan,wheel_zoom,box_zoom,reset,save"


def _legend_below(fig) -> None:
    """Move the figure's legend under the plot, in one row, so it hides no data."""
    legend = fig.legend[0]
    fig.center.remove(legend) if legend in fig.center else None
    legend.orientation = "horizontal"
    legend.label_text_font_size = "10px"
    legend.glyph_width = legend.glyph_height = 14
    legend.spacing = 6
    legend.margin = 2
    fig.add_layout(legend, "below")


def _figure(**kw):
    from bokeh.plotting import figure

    kw.setdefault("tools", _TOOLS)
    kw.setdefault("toolbar_location", "above")
    fig = figure(**kw)
    fig.toolbar.logo = None
    fig.title.text_font_size = "12px"
    return fig


def rate_unit(model) -> str:
    """What a sample of ``model`` is, for throughput labels: ``"img"`` for image models,
    ``"seq"`` for models with a sequence length (BERT, GPT-2, Transformer), else
    ``"samples"``.

    >>> import plaster_model as pm
    >>> rate_unit(pm.load_model("ResNet-50")), rate_unit(pm.load_model("BERT-large"))
    ('img', 'seq')
    """
    import plaster_model as pm

    try:
        m = model if hasattr(model, "fwd_flops") else pm.load_model(model)
    except (KeyError, ValueError, pm.PlasterError):
        return "samples"
    if getattr(m, "seq_len", None):
        return "seq"
    shape = getattr(m, "input_shape", None) or ()
    task = str(getattr(m, "task", "") or "")
    if "image" in task or len(shape) == 3:
        return "img"
    return "samples"


def speedup_band(curve):
    """Lower and upper speedup of a calibrated curve: the speedup times the relative 90 %
    throughput interval at each count (NaN where the curve has no interval)."""
    import numpy as np

    thr = np.asarray(curve["throughput_samples_s"], float)
    sp = np.asarray(curve["speedup"], float)
    lo = np.asarray(curve.get("throughput_low_samples_s", np.full_like(thr, np.nan)), float)
    hi = np.asarray(curve.get("throughput_high_samples_s", np.full_like(thr, np.nan)), float)
    return sp * lo / thr, sp * hi / thr


class ScalingChart:
    """Speedup (log-log, with the ideal ``S = p``) and efficiency (0-1) versus devices,
    the calibrated 90 % band when the curve has one, and the crossover ``p*`` marked."""

    def __init__(self, width=430, height=300):
        from bokeh.models import ColumnDataSource, HoverTool, Range1d, Span

        self.source = ColumnDataSource(self._data(None))
        self.speedup = _figure(title="Speedup", x_axis_type="log", y_axis_type="log", width=width,
                               height=height, x_axis_label="devices", y_axis_label="speedup [×]")
        self.efficiency = _figure(title="Scaling efficiency", x_axis_type="log", width=width,
                                  height=height, x_axis_label="devices",
                                  y_axis_label="efficiency [fraction of ideal]",
                                  y_range=Range1d(0, 1.05), x_range=self.speedup.x_range)
        s, e = self.speedup, self.efficiency
        s.line("devices", "devices", source=self.source, color="#999999", line_dash="dashed",
               legend_label="ideal")
        e.line("devices", "ideal_efficiency", source=self.source, color="#999999", line_dash="dashed",
               legend_label="ideal")
        s.varea("devices", "speedup_low", "speedup_high", source=self.source, color=_PALETTE[0],
                alpha=0.18, legend_label="90 % calibrated band")
        e.varea("devices", "efficiency_low", "efficiency_high", source=self.source, color=_PALETTE[0],
                alpha=0.18, legend_label="90 % calibrated band")
        rs = s.line("devices", "speedup", source=self.source, color=_PALETTE[0], line_width=2,
                    legend_label="predicted")
        s.scatter("devices", "speedup", source=self.source, color=_PALETTE[0], size=6)
        re_ = e.line("devices", "efficiency", source=self.source, color=_PALETTE[0], line_width=2,
                     legend_label="predicted")
        e.scatter("devices", "efficiency", source=self.source, color=_PALETTE[0], size=6)
        self.crossover = [Span(location=float("nan"), dimension="height", line_color=_PALETTE[1],
                               line_dash="dotted", line_width=2, visible=False) for _ in range(2)]
        s.add_layout(self.crossover[0])
        e.add_layout(self.crossover[1])
        tips = [("devices", "@devices"), ("speedup", "@speedup{0,0.00}×"),
                ("efficiency", "@efficiency{0.000}"), ("iteration", "@iteration_ms{0,0.0} ms"),
                ("bottleneck link", "@link"), ("bound", "@bound")]
        s.add_tools(HoverTool(renderers=[rs], tooltips=tips))
        e.add_tools(HoverTool(renderers=[re_], tooltips=tips))
        for fig in (s, e):
            _legend_below(fig)

    @staticmethod
    def _data(curve):
        keys = ("devices", "speedup", "efficiency", "ideal_efficiency", "speedup_low", "speedup_high",
                "efficiency_low", "efficiency_high", "iteration_ms", "link", "bound")
        if curve is None or not len(curve):
            return {k: [] for k in keys}
        lo, hi = speedup_band(curve)
        p = [float(d) for d in curve["devices"]]
        return {"devices": p, "speedup": list(curve["speedup"]), "efficiency": list(curve["efficiency"]),
                "ideal_efficiency": [1.0] * len(p), "speedup_low": list(lo), "speedup_high": list(hi),
                "efficiency_low": [a / d for a, d in zip(lo, p)],
                "efficiency_high": [b / d for b, d in zip(hi, p)],
                "iteration_ms": [t * 1e3 for t in curve["iteration_time_s"]],
                "link": [str(x) if x is not None else "none (one device)" for x in curve["link"]],
                "bound": [str(b) for b in curve["bound"]]}

    def update(self, curve, title: str = "") -> None:
        """Show ``curve`` (a :func:`plaster_model.scaling_curve` frame)."""
        self.source.data = self._data(curve)
        p_star = float(curve["crossover_devices"].iloc[0]) if curve is not None and len(curve) else math.nan
        top = float(curve["devices"].max()) if curve is not None and len(curve) else 1.0
        for span in self.crossover:
            span.visible = math.isfinite(p_star) and 1.0 <= p_star <= top
            span.location = p_star if span.visible else 1.0
        self.speedup.title.text = f"Speedup{': ' + title if title else ''}" + (
            f" (p* = {p_star:,.3g} devices, dotted)" if self.crossover[0].visible else "")

    def figures(self):
        return self.speedup, self.efficiency


class BreakdownChart:
    """Time per iteration split into compute, exposed communication and overhead [ms]
    per device count (stacked bars; hover shows the whole all-reduce too)."""

    PARTS = ("compute_ms", "exposed_communication_ms", "overhead_ms")
    LABELS = ("compute", "exposed communication", "overhead")

    def __init__(self, width=430, height=300):
        from bokeh.models import ColumnDataSource, FactorRange, HoverTool

        self.source = ColumnDataSource(self._data(None))
        self.figure = _figure(title="Time per iteration", x_range=FactorRange(factors=[]), width=width,
                              height=height, x_axis_label="devices", y_axis_label="time per iteration [ms]")
        renderers = self.figure.vbar_stack(list(self.PARTS), x="devices", width=0.7, source=self.source,
                                           color=_PALETTE[:3], legend_label=list(self.LABELS))
        self.figure.y_range.start = 0
        _legend_below(self.figure)
        self.figure.add_tools(HoverTool(renderers=renderers, tooltips=[
            ("devices", "@devices"), ("compute", "@compute_ms{0,0.0} ms"),
            ("all-reduce (whole)", "@communication_ms{0,0.0} ms"),
            ("exposed communication", "@exposed_communication_ms{0,0.0} ms"),
            ("overhead", "@overhead_ms{0,0.0} ms")]))

    @classmethod
    def _data(cls, curve):
        keys = ("devices", *cls.PARTS, "communication_ms")
        if curve is None or not len(curve):
            return {k: [] for k in keys}
        return {"devices": [str(int(d)) for d in curve["devices"]],
                "compute_ms": [t * 1e3 for t in curve["compute_time_s"]],
                "exposed_communication_ms": [t * 1e3 for t in curve["exposed_communication_time_s"]],
                "overhead_ms": [t * 1e3 for t in curve["overhead_time_s"]],
                "communication_ms": [t * 1e3 for t in curve["communication_time_s"]]}

    def update(self, curve) -> None:
        data = self._data(curve)
        self.figure.x_range.factors = data["devices"]
        self.source.data = data


def latency_figure(curves, latency_budget_s: float | None, unit: str = "img", width=560, height=360):
    """Throughput [unit/s] versus latency [ms] over batch size, one line per
    (device, precision), log-log, with the latency budget as a vertical line."""
    from bokeh.models import ColumnDataSource, HoverTool, Span

    fig = _figure(title="Throughput versus latency over batch size", x_axis_type="log",
                  y_axis_type="log", width=width, height=height, x_axis_label="latency per batch [ms]",
                  y_axis_label=f"throughput [{unit}/s]")
    if curves is not None and len(curves):
        for i, (name, g) in enumerate(curves.groupby("configuration", sort=False)):
            src = ColumnDataSource({"latency_ms": [t * 1e3 for t in g["latency_s"]],
                                    "throughput": list(g["throughput_samples_s"]),
                                    "batch": list(g["batch"]), "configuration": [str(name)] * len(g)})
            color = _PALETTE[i % len(_PALETTE)]
            r = fig.line("latency_ms", "throughput", source=src, color=color, line_width=2,
                         legend_label=str(name))
            fig.scatter("latency_ms", "throughput", source=src, color=color, size=5)
            fig.add_tools(HoverTool(renderers=[r], tooltips=[
                ("configuration", "@configuration"), ("batch", "@batch"),
                ("latency", "@latency_ms{0,0.000} ms"), ("throughput", f"@throughput{{0,0.0}} {unit}/s")]))
        _legend_below(fig)
    if latency_budget_s and math.isfinite(latency_budget_s):
        fig.add_layout(Span(location=latency_budget_s * 1e3, dimension="height", line_color="#d62728",
                            line_dash="dashed", line_width=2))
        fig.title.text += f" (budget {latency_budget_s * 1e3:g} ms, dashed)"
    return fig


#: PLASTER small multiples: (column of :func:`plaster_model.plaster_report`, title, scale to
#: the shown unit, unit, log axis).
PLASTER_PANELS = (
    ("latency_s", "Latency", 1e3, "ms", False),
    ("throughput_samples_s", "Throughput", 1.0, "{unit}/s", True),
    ("energy_inferences_per_j", "Efficiency", 1.0, "inferences/J", True),
    ("size_memory_needed_bytes", "Size (memory needed)", 1e-9, "GB", False),
    ("accuracy_top1_pct", "Accuracy (top-1)", 1.0, "%", False),
    ("rate_of_learning_training_time_s", "Rate of learning (training time)", 1 / 3600, "h", False),
)


def plaster_figures(report, unit: str = "img", width=260, height=190):
    """One small horizontal bar chart per PLASTER dimension, one bar per (device,
    precision): readable for any number of configurations (a radar is not, beyond four).
    A value the report does not have is left out, never drawn as 0."""
    import numpy as np
    from bokeh.models import ColumnDataSource, HoverTool

    names = [f"{d} {p}" for d, p in zip(report["device"], report["precision"])] if len(report) else []
    figs = []
    for col, title, scale, u, log in PLASTER_PANELS:
        if col not in report:
            continue
        u = u.format(unit=unit)
        vals = np.asarray(report[col], float) * scale
        keep = np.isfinite(vals) & ((vals > 0) if log else True)
        shown = [n for n, k in zip(names, keep) if k]
        src = ColumnDataSource({"configuration": shown, "value": list(vals[keep])})
        fig = _figure(title=f"{title} [{u}]", y_range=shown or ["(none)"], width=width, height=height,
                      x_axis_type="log" if log else "linear", tools="save,reset", toolbar_location=None)
        fig.hbar(y="configuration", right="value", height=0.6, source=src, color=_PALETTE[0],
                 **({"left": float(vals[keep].min()) / 10} if log and keep.any() else {}))
        if not log:
            fig.x_range.start = 0
        fig.add_tools(HoverTool(tooltips=[("", "@configuration"), (title, f"@value{{0,0.000}} {u}")]))
        fig.yaxis.major_label_text_font_size = "10px"
        figs.append(fig)
    return figs


def calibration_figure(calibration, width=520, height=420):
    """Predicted versus measured (log-log) of a fitted calibration's residual rows, with
    y = x; hover names each row's model, device and metric."""
    from bokeh.models import ColumnDataSource, HoverTool

    df = getattr(calibration, "residuals_", None)
    if df is None or not len(df):
        return None
    df = df[(df["measured"] > 0) & (df["predicted"] > 0)]
    fig = _figure(title=f"Predicted versus measured ({len(df)} rows)", x_axis_type="log", y_axis_type="log",
                  width=width, height=height, x_axis_label="measured [the metric's unit]",
                  y_axis_label="predicted [the metric's unit]")
    lo, hi = float(min(df["measured"].min(), df["predicted"].min())), float(max(df["measured"].max(),
                                                                              df["predicted"].max()))
    fig.line([lo, hi], [lo, hi], color="#999999", line_dash="dashed", legend_label="y = x")
    metric = df["metric"] if "metric" in df else ["value"] * len(df)
    for i, m in enumerate(sorted(set(map(str, metric)))):
        g = df[[str(x) == m for x in metric]]
        src = ColumnDataSource({"measured": list(g["measured"]), "predicted": list(g["predicted"]),
                                **{c: [str(x) for x in g[c]] for c in ("model", "device") if c in g},
                                "metric": [m] * len(g)})
        r = fig.scatter("measured", "predicted", source=src, color=_PALETTE[i % len(_PALETTE)], size=5,
                        alpha=0.7, legend_label=m)
        fig.add_tools(HoverTool(renderers=[r], tooltips=[("model", "@model"), ("device", "@device"),
                                                         ("metric", "@metric"), ("measured", "@measured{0,0.000}"),
                                                         ("predicted", "@predicted{0,0.000}")]))
    fig.legend.location = "top_left"
    fig.legend.label_text_font_size = "10px"
    return fig


class ServingFrontChart:
    """The LLM serving Pareto front (:func:`plaster_model.best_serving`): tokens/s per GPU
    against tokens/s per user, log-log, one marker per layout on the front; built once,
    its data replaced on each form change."""

    def __init__(self, width=520, height=330):
        from bokeh.models import ColumnDataSource, HoverTool

        self.source = ColumnDataSource(self._empty())
        self.figure = _figure(title="Pareto front: throughput per GPU versus speed per user",
                              x_axis_type="log", y_axis_type="log", width=width, height=height,
                              x_axis_label="tokens/s per user", y_axis_label="tokens/s per GPU")
        r = self.figure.line("per_user", "per_gpu", source=self.source, color=_PALETTE[0], line_width=2)
        self.figure.scatter("per_user", "per_gpu", source=self.source, color=_PALETTE[0], size=7)
        self.figure.add_tools(HoverTool(renderers=[r], tooltips=[
            ("layout", "@layout (@precision)"), ("concurrency", "@concurrency"),
            ("TTFT", "@ttft_ms{0,0.0} ms"), ("TPOT", "@tpot_ms{0,0.00} ms"),
            ("per GPU", "@per_gpu{0,0.0} tokens/s"), ("per user", "@per_user{0,0.0} tokens/s")]))

    @staticmethod
    def _empty():
        return {k: [] for k in ("per_user", "per_gpu", "layout", "precision", "concurrency", "ttft_ms", "tpot_ms")}

    def update(self, front) -> None:
        """Show ``front`` (:func:`plaster_model.web.llm.serving_front`), or nothing (None)."""
        if front is None or not len(front):
            self.source.data = self._empty()
            return
        f = front.sort_values("tokens_s_per_user")
        self.source.data = {"per_user": list(f["tokens_s_per_user"]), "per_gpu": list(f["tokens_s_per_gpu"]),
                            "layout": [str(v) for v in f["layout"]], "precision": [str(v) for v in f["precision"]],
                            "concurrency": list(f["concurrency"]), "ttft_ms": list(f["ttft_ms"]),
                            "tpot_ms": list(f["tpot_ms"])}
