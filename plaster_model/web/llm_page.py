"""Panel widgets of the guide's LLM modes, bound to :mod:`plaster_model.web.llm`.

:class:`LLMTrainingPanel` is the training tab's "LLM plans" mode (one plan and the best
plans of the cluster); :class:`ServingPanel` is the inference tab's "LLM serving" mode (the
Pareto front within TTFT/TPOT budgets and one configuration). Each form change calls the
library once per view and writes the answers back; a library error is shown as text
(:func:`plaster_model.web._security.text`), an infeasible plan as infeasible with its
reason and no time. Their fields live in the page's URL under the keys of
:data:`LLM_URL_FIELDS` and :data:`SERVING_URL_FIELDS`.
"""
from __future__ import annotations

import dataclasses

import panel as pn
from bokeh.models.widgets.tables import NumberFormatter

import plaster_model as pm

from . import charts, llm
from ._security import md_text, text
from .state import USER_ERRORS, user_error

__all__ = ["LLMTrainingPanel", "ServingPanel", "LLM_URL_FIELDS", "SERVING_URL_FIELDS"]

#: URL key -> LLMTrainingConfig field (prefixed: the CNN form owns the plain names).
LLM_URL_FIELDS = {f"llm_{f.name}": f.name for f in dataclasses.fields(llm.LLMTrainingConfig)}
#: URL key -> ServingConfig field.
SERVING_URL_FIELDS = {f"srv_{f.name}": f.name for f in dataclasses.fields(llm.ServingConfig)}

_TABLE_CSS = [""".tabulator-cell, .tabulator-col-title { font-size: 12px !important; }
.tabulator-cell { padding: 3px 5px !important; }
.tabulator-col-title { white-space: normal !important; text-overflow: clip !important;
                       overflow-wrap: normal !important; }
.tabulator-col .tabulator-col-content { padding: 3px 5px !important; }"""]
_PRE_CSS = [""":host { width: 100%; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; font-size: 12px; margin: 0; }"""]
_ALERT_CSS = [""":host { width: 100%; }
.pm-alert { background: #f8d7da; color: #58151c; border: 1px solid #f1aeb5; border-radius: 4px;
            padding: 6px 10px; white-space: pre-wrap; overflow-wrap: anywhere; font-size: 13px; }"""]
_PRECISIONS = ("bf16", "fp16", "fp8", "fp4", "fp32")


def _make(cls, label, **kw):
    """A widget with its label in the installed Panel's spelling (``name=``/``label=``)."""
    kw["label" if "label" in cls.param else "name"] = label
    return cls(**kw)


def _fmt(pattern):
    return NumberFormatter(format=pattern, nan_format="–")


def _pre(message: str) -> str:
    """Library text (a summary, an error) as escaped, preformatted HTML."""
    return f"<pre>{text(message)}</pre>"


class _Form:
    """Widgets for the fields of a frozen config dataclass, with URL restore and sync."""

    #: field -> (label, kind, options) ; kind in {"select", "int", "float"}
    SPEC: dict = {}
    PREFIX = ""

    def __init__(self, config, on_change):
        self.config = config
        self._on_change = on_change
        self._busy = False
        W = pn.widgets
        self.w = {}
        for name, (label, kind, options) in self.SPEC.items():
            value = getattr(config, name)
            if kind == "select":
                opts = list(options() if callable(options) else options)
                if value not in opts:
                    opts.append(value)
                widget = _make(W.Select, label, options=opts, value=value)
            elif kind == "int":
                widget = _make(W.IntInput, label, value=int(value), start=options if options is not None else 1)
            else:
                widget = _make(W.FloatInput, label, value=float(value), start=0)
            widget.css_classes = [f"pm-{self.PREFIX}-{name}"]
            widget.param.watch(lambda e, name=name: self._changed(name, e.new), "value")
            self.w[name] = widget

    def _changed(self, name, value):
        if self._busy:
            return
        self.config = self.config.update(**{name: value})
        self._on_change()

    def restore(self, query) -> bool:
        """Set fields from URL query arguments (``{"llm_tp": ["4"]}``) quietly: unknown
        keys and refused values are ignored. Returns whether any field was set."""
        from .page import _url_value

        changed = False
        self._busy = True
        try:
            for name in self.SPEC:
                key = f"{self.PREFIX}_{name}"
                if key not in (query or {}):
                    continue
                value = _url_value(query[key])
                widget = self.w[name]
                options = getattr(widget, "options", None)
                if options is not None and value not in list(options):
                    continue
                try:
                    widget.value = value
                except (ValueError, TypeError):
                    continue
                self.config = self.config.update(**{name: widget.value})
                changed = True
        finally:
            self._busy = False
        return changed

    def sync_url(self) -> None:
        """Keep the fields in the page's URL (served sessions only)."""
        loc = getattr(pn.state, "location", None)
        if loc is None or pn.state.curdoc is None or pn.state.curdoc.session_context is None:
            return
        for name, widget in self.w.items():
            try:
                loc.sync(widget, {"value": f"{self.PREFIX}_{name}"})
            except Exception:  # noqa: BLE001 - a field that cannot sync stays out of the URL
                continue


class LLMTrainingPanel(_Form):
    """The training tab's LLM mode: a plan's prediction and the cluster's best plans.

    Parameters
    ----------
    calibration : callable
        Returns the session's calibration (or None) at each update.
    """

    PREFIX = "llm"
    SPEC = {
        "model": ("Model (zoo transformer)", "select", llm.transformer_models),
        "system": ("Server (system)", "select", llm.llm_systems),
        "n_devices": ("Cluster size (devices)", "int", 1),
        "tp": ("TP", "int", 1), "pp": ("PP", "int", 1), "dp": ("DP (0: the rest)", "int", 0),
        "cp": ("CP", "int", 1), "ep": ("EP", "int", 1),
        "zero": ("ZeRO stage", "select", (0, 1, 2, 3)),
        "micro_batch": ("Micro-batch [seq]", "int", 1),
        "global_batch": ("Global batch [seq]", "int", 1),
        "seq_len": ("Sequence length [tokens]", "int", 1),
        "recompute": ("Recompute", "select", llm.RECOMPUTE),
        "precision": ("Precision", "select", _PRECISIONS),
    }

    def __init__(self, calibration=lambda: None):
        self._calibration = calibration
        super().__init__(llm.LLMTrainingConfig(), self.refresh)
        w = self.w
        for key in ("n_devices", "tp", "pp", "dp", "cp", "ep", "zero", "micro_batch", "global_batch",
                    "seq_len", "recompute", "precision"):
            w[key].width = 95 if key in ("tp", "pp", "dp", "cp", "ep") else 140
        self.error = pn.pane.HTML("", visible=False, sizing_mode="stretch_width", stylesheets=_ALERT_CSS,
                                  css_classes=["pm-llm-error"])
        self.summary = pn.pane.HTML("", sizing_mode="stretch_width", stylesheets=_PRE_CSS,
                                    css_classes=["pm-llm-summary"])
        self.headline = pn.pane.Markdown("", sizing_mode="stretch_width", css_classes=["pm-llm-headline"])
        self.plans_note = pn.pane.Markdown("", sizing_mode="stretch_width", css_classes=["pm-llm-plans-note"])
        self.plans = pn.widgets.Tabulator(
            None, show_index=False, disabled=True, layout="fit_columns", sizing_mode="stretch_width",
            css_classes=["pm-llm-plans"], stylesheets=_TABLE_CSS, sortable=False, titles=llm.PLAN_TITLES,
            widths={"plan": 200, "micro_batch": 70, "status": 170, "time_per_step": 80,
                    "throughput_tokens_s": 90, "tflops_per_device": 80, "mfu_pct": 60,
                    "memory_per_device_GB": 80, "binding": 120},
            formatters={"throughput_tokens_s": _fmt("0,0"), "tflops_per_device": _fmt("0,0.0"),
                        "mfu_pct": _fmt("0.0"), "memory_per_device_GB": _fmt("0,0.0"),
                        "plan": {"type": "textarea"}, "status": {"type": "textarea"},
                        "binding": {"type": "textarea"}})
        form = pn.Column(
            pn.pane.Markdown("### Model and cluster"), w["model"], w["system"], w["n_devices"],
            pn.pane.Markdown("### Parallel plan"), pn.Row(w["tp"], w["pp"], w["dp"]), pn.Row(w["cp"], w["ep"]),
            pn.Row(w["zero"], w["recompute"]), pn.Row(w["micro_batch"], w["global_batch"]),
            pn.Row(w["seq_len"], w["precision"]), self.error, width=310)
        results = pn.Column(
            pn.pane.Markdown("### This plan (`plaster_model.predict_llm_training`)"), self.headline,
            self.summary,
            pn.pane.Markdown("### Best plans of this cluster (`plaster_model.best_plans`, same model, "
                             "global batch, sequence length and precision)"),
            self.plans_note, self.plans, sizing_mode="stretch_width")
        self.layout = pn.Row(form, results, sizing_mode="stretch_width", css_classes=["pm-llm-training"])

    def refresh(self):
        """Predict the form's plan and list the cluster's best plans."""
        cal = self._calibration()
        cfg = self.config
        try:
            row = llm.predict_plan(cfg, calibration=cal)
            table = llm.plan_table(cfg, calibration=cal)
        except USER_ERRORS as exc:
            self.error.object = f'<div class="pm-alert" role="alert">{text(user_error(exc))}</div>'
            self.error.visible = True
            return
        self.error.object, self.error.visible = "", False
        if row["feasible"]:
            self.headline.object = (f"**{md_text(row['time_per_step'])} per step**, "
                                    f"{row['throughput_tokens_s']:,.0f} tokens/s, MFU {row['mfu_pct']:.1f} %, "
                                    f"binding term: {md_text(row['binding'])}; memory {md_text(row['status'])}")
        else:
            self.headline.object = "**Infeasible: does not fit in device memory** (no time is given)"
        self.summary.object = _pre(row["summary"])
        n_plans, n_ok = table.attrs.get("n_plans"), table.attrs.get("n_feasible")
        self.plans_note.object = (f"{n_ok:,} of {n_plans:,} plans fit on {md_text(row['cluster'])}; "
                                  "the fastest first" + ("" if n_ok else " (none fits: the nearest are shown "
                                                                          "as infeasible)")
                                  if n_plans is not None else "")
        self.plans.value = table


class ServingPanel(_Form):
    """The inference tab's LLM mode: the serving Pareto front and one configuration."""

    PREFIX = "srv"
    SPEC = {
        "model": ("Model (zoo LLM)", "select", lambda: llm.transformer_models(decoder_only=True)),
        "device": ("GPU", "select", lambda: list(dict.fromkeys(
            str(pm.load_system(s).device) for s in llm.llm_systems()))),
        "n_devices": ("GPUs", "int", 1),
        "input_len": ("Input length (ISL) [tokens]", "int", 1),
        "output_len": ("Output length (OSL) [tokens]", "int", 1),
        "ttft_budget_ms": ("TTFT budget [ms] (0: none)", "float", None),
        "tpot_budget_ms": ("TPOT budget [ms] (0: none)", "float", None),
        "precision": ("Precision", "select", ("bf16", "fp8", "fp4")),
        "tp": ("TP", "int", 1), "pp": ("PP", "int", 1), "ep": ("EP", "int", 1),
        "concurrency": ("Concurrency [requests]", "int", 1),
    }

    def __init__(self, calibration=lambda: None):
        self._calibration = calibration
        super().__init__(llm.ServingConfig(), self.refresh)
        w = self.w
        for key in ("n_devices", "input_len", "output_len", "ttft_budget_ms", "tpot_budget_ms", "precision",
                    "concurrency"):
            w[key].width = 140
        for key in ("tp", "pp", "ep"):
            w[key].width = 90
        self.error = pn.pane.HTML("", visible=False, sizing_mode="stretch_width", stylesheets=_ALERT_CSS,
                                  css_classes=["pm-srv-error"])
        self.front_note = pn.pane.Markdown("", sizing_mode="stretch_width", css_classes=["pm-srv-note"])
        self.front = pn.widgets.Tabulator(
            None, show_index=False, disabled=True, layout="fit_columns", sizing_mode="stretch_width",
            css_classes=["pm-srv-front"], stylesheets=_TABLE_CSS, sortable=False, titles=llm.SERVING_TITLES,
            formatters={"ttft_ms": _fmt("0,0.0"), "tpot_ms": _fmt("0,0.00"), "tokens_s_per_gpu": _fmt("0,0.0"),
                        "tokens_s_per_user": _fmt("0,0.0"), "kv_capacity_requests": _fmt("0,0"),
                        "layout": {"type": "textarea"}})
        self.chart = charts.ServingFrontChart(width=480, height=320)
        self.one = pn.pane.HTML("", sizing_mode="stretch_width", stylesheets=_PRE_CSS, css_classes=["pm-srv-one"])
        form = pn.Column(
            pn.pane.Markdown("### Model and GPUs"), w["model"], w["device"], w["n_devices"],
            pn.Row(w["input_len"], w["output_len"]), pn.Row(w["ttft_budget_ms"], w["tpot_budget_ms"]),
            pn.pane.Markdown("### One configuration"), pn.Row(w["tp"], w["pp"], w["ep"]),
            pn.Row(w["precision"], w["concurrency"]), self.error, width=310)
        results = pn.Column(
            pn.pane.Markdown("### Pareto front within the budgets (`plaster_model.best_serving`)"),
            self.front_note, self.front, pn.pane.Bokeh(self.chart.figure, css_classes=["pm-srv-chart"]),
            pn.pane.Markdown("### One configuration (`plaster_model.predict_serving`)"), self.one,
            sizing_mode="stretch_width")
        self.layout = pn.Row(form, results, sizing_mode="stretch_width", css_classes=["pm-llm-serving"])

    def refresh(self):
        """The front within the budgets and the one configuration's prediction."""
        cal = self._calibration()
        cfg = self.config
        try:
            front = llm.serving_front(cfg, calibration=cal)
            one = llm.serving_one(cfg, calibration=cal)
        except USER_ERRORS as exc:
            self.error.object = f'<div class="pm-alert" role="alert">{text(user_error(exc))}</div>'
            self.error.visible = True
            return
        self.error.object, self.error.visible = "", False
        n, ok = front.attrs.get("evaluated"), front.attrs.get("feasible")
        self.front_note.object = (
            f"{len(front)} configurations on the front; {ok:,} of {n:,} searched fit memory and the budgets"
            if n is not None else "") + ("" if len(front) else " (none meets the budgets: loosen them)")
        self.front.value = front
        self.chart.update(front)
        self.one.object = _pre(one["summary"])
