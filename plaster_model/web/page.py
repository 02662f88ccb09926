"""The Panel layout of the guide: widgets bound to :class:`~plaster_model.web.state.GuideState`.

Every callback reads widget values, calls one :class:`GuideState` method and writes the
result back into panes; a library error (:class:`plaster_model.PlasterError`, or the
catalogs' ``KeyError``/``ValueError``) is shown in the page's alert next to the form,
never as a server traceback.
"""
from __future__ import annotations

import io
import math

import panel as pn
from bokeh.models.widgets.tables import NumberFormatter

import plaster_model as pm

from . import charts
from .state import (CUSTOM, SAMPLE_COUNT, USER_ERRORS, GuideState, InferenceConfig,
                    algorithm_choices, backend_choices, published_measurements_path, user_error)

__all__ = ["GuideApp", "build"]

_NONE = "(none)"
# In the CSV (and the expanded row's assumptions) only: the visible set fits a 1,600 px
# window; the cluster's name is in the chart title of the selected row.
_HIDDEN = ["dataset", "device", "interconnect", "scaling", "batch_per_device", "epochs",
           "cluster", "assumptions", "total_time_low_h", "total_time_high_h", "overhead_ms",
           "iteration_ms"]


def _fmt(pattern):
    return NumberFormatter(format=pattern)


_FORMATTERS = {
    "total_time_h": _fmt("0,0.00"), "total_time_low_h": _fmt("0,0.00"),
    "total_time_high_h": _fmt("0,0.00"), "compute_ms": _fmt("0,0.0"),
    "communication_ms": _fmt("0,0.0"), "overhead_ms": _fmt("0,0.0"),
    "iteration_ms": _fmt("0,0.0"), "throughput_img_s": _fmt("0,0.0"),
    "comm_to_compute_ratio": _fmt("0.000"), "crossover_devices": _fmt("0,0.00"),
    "required_bandwidth_GBps": _fmt("0,0.00"), "global_batch": _fmt("0,0"),
    "epochs": _fmt("0,0.[00]"),
}
_TITLES = {
    "id": "#", "total_time_h": "total time [h]", "compute_ms": "compute [ms]",
    "communication_ms": "comm. [ms]", "iteration_ms": "iteration [ms]",
    "throughput_img_s": "img/s", "comm_to_compute_ratio": "comm / compute",
    "crossover_devices": "p*", "required_bandwidth_GBps": "needs [GB/s]",
    "n_devices": "devices", "global_batch": "global batch", "link": "bottleneck link",
    "calibrated": "calib.",
    "total_time_low_h": "90 % low [h]", "total_time_high_h": "90 % high [h]",
}


def _make(cls, label, **kw):
    """A widget with its label, in the spelling of the installed Panel: 1.3 takes
    ``name=``/``button_type=``, newer releases deprecate them for ``label=``/``color=``."""
    kw["label" if "label" in cls.param else "name"] = label
    if "button_type" in kw and "color" in cls.param:
        kw["color"] = kw.pop("button_type")
    return cls(**kw)


def _names(frame) -> list[str]:
    return [str(n) for n in frame["name"]]


def _md(text: str) -> str:
    """Plain text safe inside Markdown (``p*`` must not open emphasis)."""
    return str(text).replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_")


#: Form group -> the library's names of its fields (as its error messages spell them).
_FIELD_GROUPS = {
    "data": ("model", "dataset", "samples", "epochs"),
    "hardware": ("device", "n_devices", "devices_per_node", "intra_node", "interconnect",
                 "nics_per_node", "system", "cluster"),
    "software": ("algorithm", "backend", "precision", "batch_per_device", "global_batch",
                 "batch", "scaling", "batch_mode"),
}


def _field_group(message: str) -> str | None:
    """The form group whose field the message names first (``"interconnect: ..."``)."""
    import re

    best = None
    for group, names in _FIELD_GROUPS.items():
        for name in names:
            m = re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", message)
            if m and (best is None or m.start() < best[0]):
                best = (m.start(), group)
    return best[1] if best else None


def _link(value):
    return None if value in (None, "", _NONE) else value


class GuideApp:
    """One browser session (or notebook cell) of the guide.

    Parameters
    ----------
    calibration : Calibration, optional
        Start with this calibration (``plaster-model serve --calibration FILE``).
    """

    def __init__(self, calibration=None, calibration_label: str = "calibration file"):
        self.state = GuideState()
        if calibration is not None:
            self.state.set_calibration(calibration, calibration_label)
        self._selected_id = None
        self._busy = False
        self._build_training()
        self._build_bandwidth()
        self._build_inference()
        self._build_calibration()
        self.header = pn.pane.Markdown(sizing_mode="stretch_width", css_classes=["pm-header"])
        self.tabs = pn.Tabs(("Training", self.training_tab), ("Bandwidth", self.bandwidth_tab),
                            ("Inference", self.inference_tab), ("Calibration", self.calibration_tab),
                            dynamic=False)
        # The other tabs are computed when opened (and the bandwidth one again after a
        # form change), so the training form's updates stay fast.
        self.tabs.param.watch(self._on_tab, "active")
        self._bandwidth_stale = self._inference_stale = True
        self.layout = pn.Column(self.header, self.tabs, sizing_mode="stretch_width")
        self._refresh_header()
        # The page opens on the HPE Cookbook job, already in the comparison table.
        self._on_form_change()
        self.add_row()

    # ------------------------------------------------------------------ training tab
    def _build_training(self):
        cfg = self.state.config
        cat_models = _names(pm.list_models())
        datasets = [SAMPLE_COUNT] + _names(pm.list_datasets())
        systems = [CUSTOM] + _names(pm.list_systems())
        devices = _names(pm.list_devices())
        links = pm.list_interconnects()
        intra = [_NONE] + [n for n, s in zip(links["name"], links["scope"]) if s in ("intra_node", "host")]
        inter = [_NONE] + [n for n, s in zip(links["name"], links["scope"]) if s == "inter_node"]
        algorithms, default_algorithm = algorithm_choices()
        backends = backend_choices()

        W = pn.widgets
        self.w = {
            "model": _make(W.Select, "Model", options=cat_models, value=cfg.model),
            "dataset": _make(W.Select, "Dataset", options=datasets, value=cfg.dataset),
            "samples": _make(W.IntInput, "Samples (data size)", value=int(cfg.samples), start=1),
            "epochs": _make(W.FloatInput, "Epochs", value=float(cfg.epochs), start=0),
            "system": _make(W.Select, "Server (system)", options=systems, value=cfg.system),
            "device": _make(W.Select, "Processor unit (device)", options=devices, value=cfg.device),
            "n_devices": _make(W.IntInput, "Cluster size (devices)", value=int(cfg.n_devices), start=1),
            "devices_per_node": _make(W.IntInput, "Devices per node", value=int(cfg.devices_per_node), start=1),
            "intra_node": _make(W.Select, "Intra-node link", options=intra, value=cfg.intra_node or _NONE),
            "interconnect": _make(W.Select, "Interconnect", options=inter, value=cfg.interconnect or _NONE),
            "algorithm": _make(W.Select, "All-reduce algorithm", options=algorithms, value=default_algorithm),
            "backend": _make(W.Select, "Framework / backend", options=backends),
            "precision": _make(W.Select, "Precision", options=self._precisions(cfg.device), value=cfg.precision),
            "batch_mode": _make(W.RadioButtonGroup, "Batch", options={"batch per device": "per device", "global batch": "global"},
                                value=cfg.batch_mode),
            "batch": _make(W.FloatInput, "Batch size", value=float(cfg.batch), start=1),
            "scaling": _make(W.RadioButtonGroup, "Scaling", options={"weak scaling": "weak", "strong scaling": "strong"},
                             value=cfg.scaling),
        }
        for key, widget in self.w.items():
            widget.css_classes = [f"pm-w-{key}"]  # stable hooks for the browser test
            widget.param.watch(lambda event, key=key: self._on_widget(key, event.new), "value")

        self.form_error = pn.pane.Alert("", alert_type="danger", visible=False, css_classes=["pm-error"])
        # An error naming a field is shown under that field's group of the form.
        self.group_errors = {g: pn.pane.Alert("", alert_type="danger", visible=False,
                                              css_classes=["pm-error", f"pm-error-{g}"])
                             for g in _FIELD_GROUPS}
        self.preview = pn.pane.Markdown("", css_classes=["pm-preview"], sizing_mode="stretch_width")
        self.add_button = _make(W.Button, "Add to comparison", button_type="primary", css_classes=["pm-add"])
        self.add_button.on_click(lambda _e: self.add_row())
        self.remove_all_button = _make(W.Button, "Remove all", button_type="warning", css_classes=["pm-remove-all"])
        self.remove_all_button.on_click(lambda _e: self.remove_all())
        self.csv_button = _make(W.FileDownload, "Export CSV", callback=lambda: io.StringIO(self.state.to_csv()),
                                filename="plaster_comparison.csv", button_type="light", css_classes=["pm-csv"])
        self.table = W.Tabulator(
            self.state.table(), show_index=False, selectable=1, disabled=True, layout="fit_columns",
            formatters=_FORMATTERS, titles=_TITLES, hidden_columns=_HIDDEN,
            buttons={"remove": "✕"}, row_content=self._assumptions_content, embed_content=False,
            sizing_mode="stretch_width", css_classes=["pm-table"],
            # Compact cells so the whole comparison row fits a 1,600 px window.
            widths={"id": 44, "n_devices": 84, "link": 124, "algorithm": 90, "precision": 90, "bound": 104,
                    "remove": 34},
            stylesheets=[".tabulator-cell, .tabulator-col-title { font-size: 12px !important; }"
                         " .tabulator-cell { padding: 3px 5px !important; }"
                         " .tabulator-col-title { white-space: normal !important; }"])
        self.table.on_click(self._on_table_click, column="remove")
        self.table.param.watch(self._on_select, "selection")
        self.chart_title = pn.pane.Markdown("", css_classes=["pm-chart-title"])
        # Figures are rendered to PNG once here (charts.figure_png) rather than by
        # pn.pane.Matplotlib, which draws each figure twice at double resolution.
        self.scaling_pane = pn.pane.PNG(None, width=650, css_classes=["pm-scaling"])
        self.breakdown_pane = pn.pane.PNG(None, width=430, css_classes=["pm-breakdown"])

        w = self.w
        for key in ("samples", "epochs", "n_devices", "devices_per_node", "batch", "precision"):
            w[key].width = 150
        form = pn.Column(
            pn.pane.Markdown("### Data and model"), w["model"], w["dataset"], pn.Row(w["samples"], w["epochs"]),
            self.group_errors["data"],
            pn.pane.Markdown("### Hardware"), w["system"], w["device"], pn.Row(w["n_devices"], w["devices_per_node"]),
            w["intra_node"], w["interconnect"], self.group_errors["hardware"],
            pn.pane.Markdown("### Software"), w["algorithm"], pn.Row(w["precision"], w["batch"]), w["backend"],
            w["batch_mode"], w["scaling"], self.group_errors["software"],
            self.form_error, self.preview, self.add_button, width=330)
        results = pn.Column(
            pn.pane.Markdown("### Training performance"),
            pn.Row(self.remove_all_button, self.csv_button),
            self.table, self.chart_title,
            pn.Row(self.scaling_pane, self.breakdown_pane),
            sizing_mode="stretch_width")
        self.training_tab = pn.Row(form, results, sizing_mode="stretch_width")

    def _precisions(self, device):
        try:
            peaks = pm.load_device(device).peak_flops
        except USER_ERRORS:
            return ["fp32"]
        # One entry per precision name the library knows that this device has a peak for.
        return [p for p in pm.PRECISIONS if any(k in peaks for k in pm.PRECISIONS[p])] or ["fp32"]

    def _assumptions_content(self, row):
        items = "\n".join(f"- {a}" for a in str(row["assumptions"]).split("; ") if a)
        return pn.pane.Markdown(f"**Assumptions**\n\n{items}", sizing_mode="stretch_width")

    def _on_widget(self, key, value):
        if self._busy:
            return
        if key == "system":
            if value == CUSTOM:
                self.state.update(system=CUSTOM)
            else:
                try:
                    self.state.update(system=value)
                except USER_ERRORS as exc:
                    self._show_error(exc)
                    return
            self._sync_widgets()
        elif key == "dataset":
            if value != SAMPLE_COUNT:
                try:
                    samples = int(pm.load_dataset(value).train_samples)
                except USER_ERRORS as exc:
                    self._show_error(exc)
                    return
                self.state.update(dataset=value, samples=samples)
                self._sync_widgets()
            else:
                self.state.update(dataset=value)
        elif key == "samples":
            self.state.update(samples=value, dataset=SAMPLE_COUNT)
            self._sync_widgets()
        elif key == "backend":
            self.state.update(backend=None if value in ("(default)", "(library default)") else value)
        elif key in ("intra_node", "interconnect"):
            self.state.update(**{key: _link(value)})
        else:
            changes = {key: value}
            if key == "device":
                options = self._precisions(value)
                self.w["precision"].options = options
                if self.state.config.precision not in options:
                    changes["precision"] = options[0]
            self.state.update(**changes)
            self._sync_widgets()
        self._on_form_change()

    def _sync_widgets(self):
        """Write the state's configuration back into the widgets (after a system or
        dataset filled several fields), without re-triggering the callbacks."""
        cfg = self.state.config
        self._busy = True
        try:
            values = {"dataset": cfg.dataset, "samples": int(cfg.samples), "system": cfg.system,
                      "device": cfg.device, "devices_per_node": int(cfg.devices_per_node),
                      "intra_node": cfg.intra_node or _NONE, "interconnect": cfg.interconnect or _NONE,
                      "precision": cfg.precision}
            self.w["precision"].options = self._precisions(cfg.device)
            for key, value in values.items():
                if self.w[key].value != value:
                    self.w[key].value = value
        finally:
            self._busy = False

    def _show_error(self, exc):
        """Show a library error under the form group of the field it names (else below
        the form)."""
        text = user_error(exc)
        self._clear_errors()
        pane = self.group_errors.get(_field_group(text), self.form_error)
        pane.object = text
        pane.visible = True

    def _clear_errors(self):
        for pane in (self.form_error, *self.group_errors.values()):
            pane.visible = False

    def _on_tab(self, event):
        if event.new == 1 and self._bandwidth_stale:
            self.refresh_bandwidth()
        elif event.new == 2 and self._inference_stale:
            self.refresh_inference()

    def _on_form_change(self):
        """A form field changed: predict the configuration and redraw its charts."""
        self._bandwidth_stale = True
        try:
            row = self.state.preview_row()
            curve = self.state.scaling()
        except USER_ERRORS as exc:
            self._show_error(exc)
            self.preview.object = ""
            return
        self._clear_errors()
        self.preview.object = self._preview_text(row)
        self._draw(curve, f"Current form: {row['cluster']}, {row['model']}")

    @staticmethod
    def _preview_text(row):
        interval = ""
        if not math.isnan(row["total_time_low_h"]):
            interval = f" (90 % interval {row['total_time_low_h']:,.2f} – {row['total_time_high_h']:,.2f} h)"
        return (f"**Predicted total time: {row['total_time_h']:,.2f} h**{interval}  \n"
                f"{row['iteration_ms']:,.1f} ms per iteration, {row['throughput_img_s']:,.1f} img/s, "
                f"{row['bound']}-bound")

    def _draw(self, curve, title):
        self.chart_title.object = f"**{title}**"
        self.scaling_pane.object = charts.figure_png(charts.scaling_figure(curve))
        self.breakdown_pane.object = charts.figure_png(charts.breakdown_figure(curve))

    def _refresh_table(self, select_last=False):
        """Show the state's rows; with ``select_last`` select the newest one (its charts
        are then drawn by the caller, once)."""
        df = self.state.table()
        # The 90 % interval columns appear once a calibrated row has one.
        has_interval = bool(df["total_time_low_h"].notna().any()) if len(df) else False
        hidden = [c for c in _HIDDEN if not (has_interval and c.startswith("total_time_"))]
        if self.table.hidden_columns != hidden:
            self.table.hidden_columns = hidden
        self.table.value = df
        if select_last and len(df):
            self._busy = True  # no _on_select redraw: add_row draws the new row itself
            try:
                self.table.selection = [len(df) - 1]
            finally:
                self._busy = False

    def add_row(self):
        """"Add to comparison": append the form's prediction and select it."""
        try:
            row = self.state.add_row()
        except USER_ERRORS as exc:
            self._show_error(exc)
            return None
        self._clear_errors()
        self._refresh_table(select_last=True)
        self._draw_row(row["id"])
        return row

    def remove_all(self):
        self.state.remove_all()
        self._selected_id = None
        self._refresh_table()

    def _on_table_click(self, event):
        try:
            row_id = int(self.table.value.iloc[event.row]["id"])
        except (IndexError, KeyError, ValueError):
            return
        self.state.remove_row(row_id)
        self._refresh_table()

    def _on_select(self, event):
        if not event.new or self._busy:
            return
        try:
            row_id = int(self.table.value.iloc[event.new[0]]["id"])
        except (IndexError, KeyError, ValueError):
            return
        self._draw_row(row_id)

    def _draw_row(self, row_id):
        try:
            curve = self.state.row_scaling(row_id)
        except USER_ERRORS as exc:
            self._show_error(exc)
            return
        self._selected_id = row_id
        cfg = self.state.config_of(row_id)
        self._draw(curve, f"Row {row_id}: {cfg.model} on {cfg.cluster().name}")

    # ------------------------------------------------------------------ bandwidth tab
    def _build_bandwidth(self):
        self.bw_button = _make(pn.widgets.Button, "Check the training form's configuration",
                                           button_type="primary", css_classes=["pm-bw-run"])
        self.bw_button.on_click(lambda _e: self.refresh_bandwidth())
        self.bw_verdict = pn.pane.Markdown("", sizing_mode="stretch_width", css_classes=["pm-bw-verdict"])
        self.bw_table = pn.widgets.Tabulator(None, show_index=False, disabled=True, layout="fit_data_table",
                                             sizing_mode="stretch_width", height=360,
                                             formatters={"link_bandwidth_GBps": _fmt("0,0.00"),
                                                         "comm_to_compute_ratio": _fmt("0.000"),
                                                         "crossover_devices": _fmt("0,0.00"),
                                                         "required_bandwidth_GBps": _fmt("0,0.00")})
        self.bandwidth_tab = pn.Column(
            pn.pane.Markdown("### Is my interconnect the bottleneck?\n"
                             "The training form's configuration with each catalog link in place of "
                             "its bottleneck link (`plaster_model.is_bandwidth_bound`)."),
            self.bw_button, self.bw_verdict, self.bw_table, sizing_mode="stretch_width")

    def refresh_bandwidth(self):
        try:
            verdict = self.state.current_verdict()
            table = self.state.bandwidth_table()
        except USER_ERRORS as exc:
            self.bw_verdict.object = f"**{_md(user_error(exc))}**"
            return
        self.bw_verdict.object = f"**{_md(self.state.verdict_words(verdict))}**"
        self.bw_table.value = table
        self._bandwidth_stale = False

    # ------------------------------------------------------------------ inference tab
    def _build_inference(self):
        cfg = InferenceConfig()
        devices = _names(pm.list_devices())
        W = pn.widgets
        self.inf_model = _make(W.Select, "Model", options=_names(pm.list_models()), value=cfg.model)
        self.inf_devices = _make(W.MultiChoice, "Devices", options=devices, value=list(cfg.devices))
        self.inf_precisions = _make(W.MultiChoice, "Precisions", options=list(pm.PRECISIONS),
                                            value=list(cfg.precisions))
        self.inf_budget = _make(W.TextInput, "Latency budget", value=cfg.latency_budget)
        self.inf_button = _make(W.Button, "Predict inference", button_type="primary", css_classes=["pm-inf-run"])
        self.inf_button.on_click(lambda _e: self.refresh_inference())
        self.inf_error = pn.pane.Alert("", alert_type="danger", visible=False)
        self.inf_best = W.Tabulator(None, show_index=False, disabled=True, layout="fit_data_table",
                                    sizing_mode="stretch_width",
                                    formatters={"latency_ms": _fmt("0,0.000"), "throughput_img_s": _fmt("0,0.0"),
                                                "energy_per_inference_mJ": _fmt("0,0.00"),
                                                "inferences_per_J": _fmt("0,0.00")})
        self.inf_curve = pn.pane.PNG(None, width=560)
        self.inf_radar = pn.pane.PNG(None, width=460)
        self.inf_report = W.Tabulator(None, show_index=False, disabled=True, layout="fit_data_table",
                                      sizing_mode="stretch_width", height=300)
        self.inference_tab = pn.Row(
            pn.Column(self.inf_model, self.inf_devices, self.inf_precisions, self.inf_budget,
                      self.inf_button, self.inf_error, width=320),
            pn.Column(pn.pane.Markdown("### Best batch within the budget"), self.inf_best,
                      pn.Row(self.inf_curve, self.inf_radar),
                      pn.pane.Markdown("### PLASTER scorecard"), self.inf_report,
                      sizing_mode="stretch_width"),
            sizing_mode="stretch_width")

    def refresh_inference(self):
        cfg = InferenceConfig(model=self.inf_model.value, devices=tuple(self.inf_devices.value),
                              precisions=tuple(self.inf_precisions.value),
                              latency_budget=self.inf_budget.value)
        try:
            curves, best, report = self.state.inference(cfg)
            self.inf_curve.object = (charts.figure_png(charts.latency_figure(curves, cfg.latency_budget))
                                     if len(curves) else None)
            self.inf_radar.object = charts.figure_png(charts.plaster_figure(report))
        except USER_ERRORS as exc:
            self.inf_error.object = user_error(exc)
            self.inf_error.visible = True
            return
        notes = best.attrs.get("notes", [])
        self.inf_error.object = "\n\n".join(notes)
        self.inf_error.visible = bool(notes)
        self.inf_best.value = best
        self.inf_report.value = report
        self._inference_stale = False

    # ------------------------------------------------------------------ calibration tab
    def _build_calibration(self):
        W = pn.widgets
        self.cal_files = W.FileInput(multiple=True, css_classes=["pm-cal-files"])
        self.cal_fit = _make(W.Button, "Fit uploaded files", button_type="primary", css_classes=["pm-cal-fit"])
        self.cal_fit.on_click(lambda _e: self.calibrate_uploaded())
        published = published_measurements_path()
        self.cal_published = _make(
            W.Button, "Use the published measurements" if published else "Published measurements not found",
            disabled=published is None, css_classes=["pm-cal-published"])
        self.cal_published.on_click(lambda _e: self._calibrate(self.state.calibrate_published))
        self.cal_clear = _make(W.Button, "Back to peak-based (no calibration)")
        self.cal_clear.on_click(lambda _e: self._set_calibration(None))
        self.cal_status = pn.pane.Markdown("", css_classes=["pm-cal-status"], sizing_mode="stretch_width")
        self.cal_error = pn.pane.Alert("", alert_type="danger", visible=False, css_classes=["pm-cal-error"])
        self.cal_groups = W.Tabulator(None, show_index=False, disabled=True, layout="fit_data_table",
                                      sizing_mode="stretch_width", height=280)
        self.cal_errors = W.Tabulator(None, show_index=False, disabled=True, layout="fit_data_table",
                                      sizing_mode="stretch_width")
        self.cal_plot = pn.pane.PNG(None, width=520)
        self.calibration_tab = pn.Column(
            pn.pane.Markdown("### Calibrate on measured runs\nUpload trtexec logs, DLBS logs or CSV "
                             "measurement files (`plaster_model.read_measurements`), or fit the "
                             "published set; later predictions in every tab use the fit."),
            pn.Row(self.cal_files, self.cal_fit), pn.Row(self.cal_published, self.cal_clear),
            self.cal_error, self.cal_status,
            pn.Row(pn.Column(pn.pane.Markdown("**Fitted groups**"), self.cal_groups,
                             pn.pane.Markdown("**Errors per metric**"), self.cal_errors,
                             sizing_mode="stretch_width"),
                   self.cal_plot, sizing_mode="stretch_width"),
            sizing_mode="stretch_width")

    def calibrate_uploaded(self):
        names = self.cal_files.filename or []
        data = self.cal_files.value or []
        if isinstance(names, str):
            names, data = [names], [data]
        files = dict(zip(names, data))
        self._calibrate(lambda: self.state.calibrate_files(files))

    def _calibrate(self, fit):
        self.cal_status.object = "Fitting… (the published set takes a while)"
        doc = pn.state.curdoc
        if doc is not None and doc.session_context is not None:
            # Let the browser show "Fitting…" before the fit blocks this session.
            doc.add_next_tick_callback(lambda: self._run_fit(fit))
        else:
            self._run_fit(fit)

    def _run_fit(self, fit):
        try:
            cal = fit()
        except (*USER_ERRORS, OSError) as exc:
            self.cal_error.object = user_error(exc)
            self.cal_error.visible = True
            self.cal_status.object = ""
            return
        self.cal_error.visible = False
        self._show_calibration(cal)
        self._refresh_header()
        self._on_form_change()

    def _set_calibration(self, cal):
        self.state.set_calibration(cal)
        self.cal_groups.value = None
        self.cal_errors.value = None
        self.cal_plot.object = None
        self.cal_status.object = ""
        self._refresh_header()
        self._on_form_change()

    def _show_calibration(self, cal):
        self.cal_status.object = f"**Fitted** ({self.state.calibration_label}): `{cal!r}`"
        self.cal_groups.value = getattr(cal, "params_", None)
        self.cal_errors.value = getattr(cal, "errors_", None)
        try:
            self.cal_plot.object = charts.figure_png(charts.calibration_figure(cal))
        except USER_ERRORS as exc:  # a fit without residual rows still predicts
            self.cal_status.object += f"  \n(no residual chart: {user_error(exc)})"

    def _refresh_header(self):
        self.header.object = (
            "## plaster_model performance guide\n"
            f"Calibration: **{self.state.calibration_label}** · every number comes from "
            "`plaster_model`'s estimators; nothing is loaded from off this machine.")
        if self.state.calibration is not None and not self.cal_status.object:
            self._show_calibration(self.state.calibration)

    def servable(self):
        return self.layout


def build(calibration=None, calibration_label: str = "calibration file"):
    """A new :class:`GuideApp`'s layout (one per session)."""
    return GuideApp(calibration, calibration_label).layout
