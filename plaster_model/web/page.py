"""The Panel layout of the guide: widgets bound to :class:`~plaster_model.web.state.GuideState`.

Every callback reads widget values, calls one :class:`GuideState` method and writes the
result back into panes; a library error (:class:`plaster_model.PlasterError`, or the
catalogs' ``KeyError``/``ValueError``) is shown as plain text next to the form, never as a
server traceback. Text that comes from a file, a file name, a catalog entry or an error
message is escaped (:mod:`plaster_model.web._security`): it is shown, never interpreted.

Charts are Bokeh figures whose data sources are updated in place (:mod:`.charts`); the
calibration fit runs in a worker process so the server keeps answering other sessions.
"""
from __future__ import annotations

import io
import json
import math
import os
import time

import panel as pn
from bokeh.models.widgets.tables import NumberFormatter

import plaster_model as pm

from . import charts
from ._security import TOO_LARGE_MIME, md_text, text
from .state import (CUSTOM, FRAMEWORKS, SAMPLE_COUNT, USER_ERRORS, GuideState,
                    InferenceConfig, algorithm_choices, backend_choices, compatible_links,
                    format_duration, framework_backend, published_measurements_path,
                    system_for_device, upload_limit, user_error)

__all__ = ["GuideApp", "build", "build_deferred", "URL_FIELDS", "MODE_URL_FIELDS"]

_NONE = "(none)"
_FROM_FRAMEWORK = "(from the framework)"

#: Visible comparison columns (the rest are in the CSV and the row's details): they fit
#: beside the form at 1,280 px with every header readable in full.
_VISIBLE = ["id", "model", "n_devices", "link", "total_time", "throughput", "bound", "memory", "calibrated"]
_TITLES = {"id": "#", "model": "model", "n_devices": "devices", "link": "bottleneck link",
           "total_time": "total time", "throughput": "throughput", "bound": "bound by",
           "memory": "memory per device", "calibrated": "calib."}
_WIDTHS = {"id": 36, "model": 104, "n_devices": 68, "link": 118, "total_time": 92, "throughput": 104,
           "bound": 96, "memory": 170, "calibrated": 56, "remove": 32}

#: Form fields kept in the page's URL (``?model=ResNet-50&n_devices=32``): a shared link
#: restores the form.
#: The mode switches: URL key -> (training tab's, inference tab's) choices.
_MODES = {"training": {"CNN training (HPE Cookbook)": "cnn", "LLM plans (tp/pp/dp...)": "llm"},
          "inference": {"CNN inference (best batch, PLASTER)": "cnn", "LLM serving": "llm"}}
#: URL keys of the mode switches.
MODE_URL_FIELDS = {"mode": "training", "inf_mode": "inference"}
URL_FIELDS = ("model", "dataset", "samples", "epochs", "system", "device", "n_devices", "devices_per_node",
              "intra_node", "interconnect", "framework", "precision", "batch_mode", "batch", "scaling",
              "algorithm", "backend")

# Fits run in a worker process, off the server's event loop and out of its interpreter
# (a fit holds the GIL for long stretches; a thread would slow every other session, and a
# memory bomb in a file would take the server down). One at a time across sessions.
_FIT_POOL = None


def _fit_pool():
    global _FIT_POOL
    if _FIT_POOL is None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        _FIT_POOL = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_exit_with_parent, initargs=(os.getpid(),))
    return _FIT_POOL


def _exit_with_parent(parent_pid: int) -> None:
    """In the fit worker: exit when the server is gone (killed servers leave no orphans)."""
    import threading

    def watch():
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def _fit_job(kind: str, payload):
    """A fit, runnable in another process: ``("files", [(name, bytes), ...])`` or
    ``("published", None)`` -> ``(calibration, label)`` or the error, never raised."""
    state = GuideState()
    return _run(lambda: state.fit_files(payload) if kind == "files" else state.fit_published())

_ALERT_CSS = [""":host { width: 100%; }
.pm-alert { background: #f8d7da; color: #58151c; border: 1px solid #f1aeb5; border-radius: 4px;
            padding: 6px 10px; white-space: pre-wrap; overflow-wrap: anywhere; font-size: 13px; }"""]
_TABLE_CSS = [""".tabulator-cell, .tabulator-col-title { font-size: 12px !important; }
.tabulator-cell { padding: 3px 5px !important; }
.tabulator-col-title { white-space: normal !important; text-overflow: clip !important;
                       overflow-wrap: normal !important; }
.tabulator-col .tabulator-col-content { padding: 3px 5px !important; }"""]


def _fmt(pattern):
    return NumberFormatter(format=pattern)


def _make(cls, label, **kw):
    """A widget with its label, in the spelling of the installed Panel: 1.3 takes
    ``name=``/``button_type=``, newer releases deprecate them for ``label=``/``color=``."""
    kw["label" if "label" in cls.param else "name"] = label
    if "button_type" in kw and "color" in cls.param:
        kw["color"] = kw.pop("button_type")
    return cls(**kw)


def _names(frame) -> list[str]:
    return [str(n) for n in frame["name"]]


def _alert(css_classes=()):
    """A pane that shows one message as plain text (escaped), hidden while empty."""
    return pn.pane.HTML("", visible=False, sizing_mode="stretch_width", css_classes=list(css_classes),
                        stylesheets=_ALERT_CSS)


def _show(pane, message: str | None) -> None:
    if message:
        pane.object = f'<div class="pm-alert" role="alert">{text(message)}</div>'
        pane.visible = True
    else:
        pane.object = ""
        pane.visible = False


#: Form group -> the library's names of its fields (as its error messages spell them).
_FIELD_GROUPS = {
    "data": ("model", "dataset", "samples", "epochs"),
    "hardware": ("device", "n_devices", "devices_per_node", "intra_node", "interconnect",
                 "nics_per_node", "system", "cluster"),
    "software": ("algorithm", "backend", "framework", "precision", "batch_per_device", "global_batch",
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


def _url_value(raw):
    """A query-string value as the widget takes it (JSON numbers, else the text)."""
    if isinstance(raw, (list, tuple)):
        raw = raw[-1] if raw else ""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    try:
        return json.loads(raw)
    except ValueError:
        return raw


class GuideApp:
    """One browser session (or notebook cell) of the guide.

    Parameters
    ----------
    calibration : Calibration, optional
        Start with this calibration (``plaster-model serve --calibration FILE``).
    calibration_label : str
        How the header names it.
    query : dict, optional
        URL query arguments (``{"n_devices": ["32"]}``) restoring a shared form; in a
        served session the page's own URL is read when this is None.
    """

    def __init__(self, calibration=None, calibration_label: str = "calibration file", query=None):
        self.state = GuideState()
        if calibration is not None:
            self.state.set_calibration(calibration, calibration_label)
        self._selected_id = None
        self._busy = False
        self._restoring = False
        self._fit_callback = None
        if query is None:
            query = dict(getattr(pn.state, "session_args", None) or {}) if pn.state.curdoc else {}
        self._query = query
        self.serving = None
        self._build_training()
        # The other tabs are built when first opened: a page load builds the form only.
        self.bandwidth_tab = pn.Column(sizing_mode="stretch_width")
        self.inference_tab = pn.Column(sizing_mode="stretch_width")
        self.calibration_tab = pn.Column(sizing_mode="stretch_width")
        self._built = set()
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
        self._restore_form(query)
        # The page opens on the HPE Cookbook job (or the shared form), already in the table.
        self._on_form_change()
        self.add_row()
        self._sync_url()
        self._restore_modes(query)

    # ------------------------------------------------------------------ training tab
    def _build_training(self):
        cfg = self.state.config
        cat_models = _names(pm.list_models())
        datasets = [SAMPLE_COUNT] + _names(pm.list_datasets())
        systems = [CUSTOM] + _names(pm.list_systems())
        devices = _names(pm.list_devices())
        algorithms, default_algorithm = algorithm_choices()
        intra, inter = self._link_options(cfg.device, cfg)

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
            "intra_node": _make(W.Select, "Link inside a node", options=intra, value=cfg.intra_node or _NONE),
            "interconnect": _make(W.Select, "Network between nodes", options=inter,
                                  value=cfg.interconnect or _NONE),
            "framework": _make(W.Select, "Framework", options=list(FRAMEWORKS), value=cfg.framework),
            "precision": _make(W.Select, "Precision", options=self._precisions(cfg.device), value=cfg.precision),
            "batch_mode": _make(W.RadioButtonGroup, "Batch",
                                options={"batch per device": "per device", "global batch": "global"},
                                value=cfg.batch_mode),
            "batch": _make(W.FloatInput, "Batch size", value=float(cfg.batch), start=1),
            "scaling": _make(W.RadioButtonGroup, "Scaling", options={"weak scaling": "weak",
                                                                     "strong scaling": "strong"},
                             value=cfg.scaling),
            "algorithm": _make(W.Select, "All-reduce algorithm", options=algorithms, value=default_algorithm),
            "backend": _make(W.Select, "Communication backend",
                             options=[_FROM_FRAMEWORK] + backend_choices()[1:], value=_FROM_FRAMEWORK),
        }
        for key, widget in self.w.items():
            widget.css_classes = [f"pm-w-{key}"]  # stable hooks for the browser test
            widget.param.watch(lambda event, key=key: self._on_widget(key, event.new), "value")

        self.form_error = _alert(["pm-error"])
        # An error naming a field is shown under that field's group of the form.
        self.group_errors = {g: _alert(["pm-error", f"pm-error-{g}"]) for g in _FIELD_GROUPS}
        self.framework_note = pn.pane.Markdown("", css_classes=["pm-framework-note"],
                                               styles={"font-size": "12px", "color": "#555"}, margin=(0, 10))
        self.preview = pn.pane.Markdown("", css_classes=["pm-preview"], sizing_mode="stretch_width")
        self.add_button = _make(W.Button, "Add to comparison", button_type="primary", css_classes=["pm-add"])
        self.add_button.on_click(lambda _e: self.add_row())
        self.remove_all_button = _make(W.Button, "Remove all", button_type="warning", css_classes=["pm-remove-all"])
        self.remove_all_button.on_click(lambda _e: self.remove_all())
        self.csv_button = _make(W.FileDownload, "Export CSV", callback=lambda: io.StringIO(self.state.to_csv()),
                                filename="plaster_comparison.csv", button_type="light", css_classes=["pm-csv"])
        self.table = W.Tabulator(
            self._table_frame(), show_index=False, selectable=1, disabled=True, layout="fit_columns",
            titles=_TITLES, buttons={"remove": "✕"},
            row_content=self._row_details, embed_content=False, sizing_mode="stretch_width",
            css_classes=["pm-table"], widths=_WIDTHS, stylesheets=_TABLE_CSS, sortable=False,
            formatters={"memory": {"type": "textarea"}, "model": {"type": "textarea"},
                        "link": {"type": "textarea"}})
        self.table.on_click(self._on_table_click, column="remove")
        self.table.param.watch(self._on_select, "selection")
        self.chart_title = pn.pane.Markdown("", css_classes=["pm-chart-title"])
        self.scaling_chart = charts.ScalingChart(width=400, height=290)
        self.breakdown_chart = charts.BreakdownChart(width=400, height=290)
        speedup, efficiency = self.scaling_chart.figures()
        self.scaling_panes = pn.Row(pn.pane.Bokeh(speedup), pn.pane.Bokeh(efficiency),
                                    css_classes=["pm-scaling"])
        self.breakdown_pane = pn.pane.Bokeh(self.breakdown_chart.figure, css_classes=["pm-breakdown"])

        w = self.w
        for key in ("samples", "epochs", "n_devices", "devices_per_node", "batch", "precision"):
            w[key].width = 140
        advanced = pn.Card(w["algorithm"], w["backend"], title="Advanced: all-reduce and backend",
                           collapsed=True, width=300, css_classes=["pm-advanced"])
        form = pn.Column(
            pn.pane.Markdown("### Data and model"), w["model"], w["dataset"], pn.Row(w["samples"], w["epochs"]),
            self.group_errors["data"],
            pn.pane.Markdown("### Hardware"), w["system"], w["device"], pn.Row(w["n_devices"], w["devices_per_node"]),
            w["intra_node"], w["interconnect"], self.group_errors["hardware"],
            pn.pane.Markdown("### Software"), w["framework"], self.framework_note,
            pn.Row(w["precision"], w["batch"]), w["batch_mode"], w["scaling"], advanced,
            self.group_errors["software"], self.form_error, self.preview, self.add_button, width=310)
        results = pn.Column(
            pn.pane.Markdown("### Training performance"),
            pn.Row(self.remove_all_button, self.csv_button),
            self.table, self.chart_title, self.scaling_panes, self.breakdown_pane,
            sizing_mode="stretch_width")
        self.cnn_training = pn.Row(form, results, sizing_mode="stretch_width")
        # The LLM plan form is built the first time its mode is chosen.
        self.training_mode = _make(W.RadioButtonGroup, "Workload", options=_MODES["training"], value="cnn",
                                   css_classes=["pm-training-mode"])
        self.training_mode.param.watch(lambda e: self._set_training_mode(e.new), "value")
        self.llm_training = None
        # The LLM form goes into a holder that is on the page (empty) from the start: a
        # table first rendered while hidden, or a removed Bokeh chart added back, does not
        # draw in the browser, so the CNN row and the filled holder are shown and hidden.
        self.llm_holder = pn.Column(sizing_mode="stretch_width")
        self.training_tab = pn.Column(self.training_mode, self.cnn_training, self.llm_holder,
                                      sizing_mode="stretch_width")
        self._note_framework()

    # -- LLM modes ----------------------------------------------------------------------
    def _calibration_now(self):
        return self.state.calibration

    def _set_training_mode(self, mode):
        """Show the CNN (HPE Cookbook) form or the LLM plan form."""
        from .llm_page import LLMTrainingPanel

        llm = mode == "llm"
        self.cnn_training.visible = not llm
        if llm and self.llm_training is None:
            self.llm_training = LLMTrainingPanel(self._calibration_now)
            self.llm_training.restore(self._query)
            self.llm_training.sync_url()
            self.llm_training.refresh()  # filled before the browser builds its tables
            self.llm_holder[:] = [self.llm_training.layout]
        self.llm_holder.visible = llm

    def _set_inference_mode(self, mode):
        """Show the CNN inference view (best batch, PLASTER) or LLM serving."""
        from .llm_page import ServingPanel

        llm = mode == "llm"
        # Written into the URL one way: a two-way link (location.sync) made in this tab's
        # lazy build fights the click in the browser and leaves both views shown.
        self._note_url(inf_mode=mode)
        self.cnn_inference.visible = not llm
        if llm and self.serving is None:
            self.serving = ServingPanel(self._calibration_now)
            self.serving.restore(self._query)
            self.serving.sync_url()
            self.serving.refresh()  # filled before the browser builds its tables
            self.serving_holder[:] = [self.serving.layout]
        self.serving_holder.visible = llm
        if not llm and self._inference_stale:
            self.refresh_inference()

    def _table_frame(self):
        """The visible columns of the comparison (the CSV and each row's details have
        all of them): a narrow frame keeps the page's table model small."""
        return self.state.table()[_VISIBLE]

    @staticmethod
    def _link_options(device, cfg):
        """Links a server on ``device`` can have, plus the form's current ones."""
        intra, inter = compatible_links(device)
        intra = [_NONE] + intra + ([cfg.intra_node] if cfg.intra_node and cfg.intra_node not in intra else [])
        inter = [_NONE] + inter + ([cfg.interconnect] if cfg.interconnect and cfg.interconnect not in inter
                                   else [])
        return intra, inter

    def _precisions(self, device):
        try:
            peaks = pm.load_device(device).peak_flops
        except USER_ERRORS:
            return ["fp32"]
        # One entry per precision name the library knows that this device has a peak for.
        return [p for p in pm.PRECISIONS if any(k in peaks for k in pm.PRECISIONS[p])] or ["fp32"]

    def _row_details(self, row):
        """The expanded row: every field of the comparison row and its assumptions, as text."""
        row = next((r for r in self.state.rows if r["id"] == row["id"]), row)
        skip = {"assumptions", "id"}
        lines = [f"- {md_text(k)}: {md_text(v)}" for k, v in row.items()
                 if k not in skip and not (isinstance(v, float) and math.isnan(v))]
        items = "\n".join(f"- {md_text(a)}" for a in str(row["assumptions"]).split("; ") if a)
        return pn.pane.Markdown(f"**Details**\n\n" + "\n".join(lines) + f"\n\n**Assumptions**\n\n{items}",
                                sizing_mode="stretch_width")

    # -- the URL ----------------------------------------------------------------------
    def _restore_form(self, query):
        """Set the form from URL query arguments (a shared link), quietly: unknown keys
        and values the widgets refuse are ignored; the state follows the widgets."""
        if query is None:
            query = dict(getattr(pn.state, "session_args", None) or {}) if pn.state.curdoc else {}
        values = {k: _url_value(query[k]) for k in URL_FIELDS if k in query}
        if not values:
            return
        self._restoring = True  # one prediction after the whole form is set, not one per field
        try:
            for key in URL_FIELDS:  # in form order: a system first, then what overrides it
                if key in values:
                    try:
                        self._on_widget_value(key, values[key])
                    except (ValueError, TypeError, KeyError):
                        continue
        finally:
            self._restoring = False

    def _restore_modes(self, query):
        """The URL's mode switches: an LLM mode opens its form (and, for serving, the
        Inference tab) with the URL's ``llm_*`` / ``srv_*`` fields."""
        if _url_value((query or {}).get("mode", "")) == "llm":
            self.training_mode.value = "llm"
        if _url_value((query or {}).get("inf_mode", "")) == "llm":
            self._ensure("inference")
            self.inference_mode.value = "llm"
            self.tabs.active = 2

    def _on_widget_value(self, key, value):
        widget = self.w[key]
        options = getattr(widget, "options", None)
        if options is not None:
            allowed = list(options.values()) if isinstance(options, dict) else list(options)
            if value not in allowed:
                if key in ("intra_node", "interconnect"):
                    # a link the device's list lacks but the catalog has: add it
                    if value not in _names(pm.list_interconnects()):
                        return
                    widget.options = allowed + [value]
                else:
                    return
        widget.value = value  # fires _on_widget

    def _sync_url(self):
        """Keep the form in the page's URL (served sessions only)."""
        loc = getattr(pn.state, "location", None)
        if loc is None or pn.state.curdoc is None or pn.state.curdoc.session_context is None:
            return
        for key in URL_FIELDS:
            try:
                loc.sync(self.w[key], {"value": key})
            except Exception:  # noqa: BLE001 - a field that cannot sync stays out of the URL
                continue
        self._sync_mode("mode", self.training_mode)

    @staticmethod
    def _note_url(**values):
        """Put ``values`` into the page's query string (served sessions only)."""
        loc = getattr(pn.state, "location", None)
        if loc is None or pn.state.curdoc is None or pn.state.curdoc.session_context is None:
            return
        try:
            loc.update_query(**values)
        except Exception:  # noqa: BLE001 - the URL then lacks it
            pass

    @staticmethod
    def _sync_mode(key, widget):
        loc = getattr(pn.state, "location", None)
        if loc is None or pn.state.curdoc is None or pn.state.curdoc.session_context is None:
            return
        try:
            loc.sync(widget, {"value": key})
        except Exception:  # noqa: BLE001 - the switch then stays out of the URL
            pass

    # -- callbacks --------------------------------------------------------------------
    def _on_widget(self, key, value):
        if self._busy:
            return
        try:
            self._apply(key, value)
        except USER_ERRORS as exc:
            if not self._restoring:
                self._show_error(exc)
            return
        if not self._restoring:
            self._on_form_change()

    def _apply(self, key, value):
        if key == "system":
            self.state.update(system=value)
            self._sync_widgets()
        elif key == "dataset":
            if value != SAMPLE_COUNT:
                samples = int(pm.load_dataset(value).train_samples)
                self.state.update(dataset=value, samples=samples)
                self._sync_widgets()
            else:
                self.state.update(dataset=value)
        elif key == "samples":
            self.state.update(samples=value, dataset=SAMPLE_COUNT)
            self._sync_widgets()
        elif key == "backend":
            self.state.update(backend=None if value == _FROM_FRAMEWORK else value)
        elif key == "framework":
            self.state.update(framework=value)
            self._note_framework()
        elif key == "algorithm":
            self.state.update(algorithm=value)
        elif key in ("intra_node", "interconnect"):
            self.state.update(**{key: _link(value)})
        elif key == "device":
            self._change_device(value)
        else:
            self.state.update(**{key: value})
            self._sync_widgets()

    def _change_device(self, device):
        """A new device: the server follows it (a catalog system built on it, else
        custom), the link lists keep only links it can have, precisions its peaks."""
        cfg = self.state.config
        system = system_for_device(device, cfg.system)
        if system != CUSTOM:
            self.state.update(system=system)
        else:
            intra, inter = compatible_links(device)
            changes = {"system": CUSTOM, "device": device}
            if cfg.intra_node and cfg.intra_node not in intra:
                changes["intra_node"] = intra[0] if intra else None
            if cfg.interconnect and cfg.interconnect not in inter:
                changes["interconnect"] = inter[0] if inter else None
            self.state.update(**changes)
        precisions = self._precisions(device)
        if self.state.config.precision not in precisions:
            self.state.update(precision=precisions[0])
        self._sync_widgets()

    def _note_framework(self):
        cfg = self.state.config
        note = framework_backend(cfg.framework)
        if cfg.backend:
            note = f"overridden (advanced): {cfg.backend}"
        self.framework_note.object = f"backend → {md_text(note)}"

    def _sync_widgets(self):
        """Write the state's configuration back into the widgets (after a system,
        device or dataset filled several fields), without re-triggering the callbacks."""
        cfg = self.state.config
        self._busy = True
        try:
            intra, inter = self._link_options(cfg.device, cfg)
            self.w["intra_node"].options = intra
            self.w["interconnect"].options = inter
            self.w["precision"].options = self._precisions(cfg.device)
            values = {"dataset": cfg.dataset, "samples": int(cfg.samples), "system": cfg.system,
                      "device": cfg.device, "devices_per_node": int(cfg.devices_per_node),
                      "intra_node": cfg.intra_node or _NONE, "interconnect": cfg.interconnect or _NONE,
                      "precision": cfg.precision}
            for key, value in values.items():
                if self.w[key].value != value:
                    self.w[key].value = value
        finally:
            self._busy = False

    def _show_error(self, exc):
        """Show a library error, as text, under the form group of the field it names
        (else below the form)."""
        message = user_error(exc)
        self._clear_errors()
        _show(self.group_errors.get(_field_group(message), self.form_error), message)

    def _clear_errors(self):
        for pane in (self.form_error, *self.group_errors.values()):
            if pane.visible:
                _show(pane, None)

    def _ensure(self, tab: str) -> None:
        """Build a tab's widgets the first time it is needed."""
        if tab in self._built:
            return
        self._built.add(tab)
        content = {"bandwidth": self._build_bandwidth, "inference": self._build_inference,
                   "calibration": self._build_calibration}[tab]()
        getattr(self, f"{tab}_tab")[:] = [content]

    def _on_tab(self, event):
        if event.new == 1:
            self._ensure("bandwidth")
            if self._bandwidth_stale:
                self.refresh_bandwidth()
        elif event.new == 2:
            self._ensure("inference")
            if self._inference_stale and self.inference_mode.value != "llm":
                self.refresh_inference()
        elif event.new == 3:
            self._ensure("calibration")

    def _on_form_change(self):
        """A form field changed: predict the configuration and redraw its charts."""
        self._bandwidth_stale = True
        try:
            row = self.state.preview_row(verdict=False)
            curve = self.state.scaling() if row["feasible"] else None
        except USER_ERRORS as exc:
            self._show_error(exc)
            self.preview.object = ""
            return
        self._clear_errors()
        self.preview.object = self._preview_text(row)
        self._draw(curve, f"Current form: {row['cluster']}, {row['model']}")

    @staticmethod
    def _preview_text(row):
        if not row["feasible"]:
            return f"**Infeasible: does not fit in memory.**  \n{md_text(row['memory'])}"
        interval = ""
        if not math.isnan(row["total_time_low_h"]):
            interval = (f" (90 % interval {format_duration(row['total_time_low_h'] * 3600)} – "
                        f"{format_duration(row['total_time_high_h'] * 3600)})")
        return (f"**Predicted total time: {md_text(row['total_time'])}**{interval}  \n"
                f"{row['iteration_ms']:,.1f} ms per iteration, {md_text(row['throughput'])}, "
                f"{md_text(row['bound'])}-bound; memory {md_text(row['memory'])}")

    def _draw(self, curve, title):
        if curve is None:
            self.chart_title.object = f"**{md_text(title)}**: no chart, the configuration does not fit"
        else:
            self.chart_title.object = f"**{md_text(title)}**"
        self.scaling_chart.update(curve)
        self.breakdown_chart.update(curve)

    def _refresh_table(self, select_last=False):
        """Show the state's rows; with ``select_last`` select the newest one (its charts
        are then drawn by the caller, once)."""
        df = self._table_frame()
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
        row = next((r for r in self.state.rows if r["id"] == row_id), None)
        cfg = self.state.config_of(row_id)
        try:
            curve = self.state.row_scaling(row_id) if row is None or row["feasible"] else None
        except USER_ERRORS as exc:
            self._show_error(exc)
            return
        self._selected_id = row_id
        self._draw(curve, f"Row {row_id}: {cfg.model} on {cfg.cluster().name}")

    # ------------------------------------------------------------------ bandwidth tab
    def _build_bandwidth(self):
        self.bw_button = _make(pn.widgets.Button, "Check the training form's configuration",
                               button_type="primary", css_classes=["pm-bw-run"])
        self.bw_button.on_click(lambda _e: self.refresh_bandwidth())
        self.bw_verdict = pn.pane.Markdown("", sizing_mode="stretch_width", css_classes=["pm-bw-verdict"])
        self.bw_table = pn.widgets.Tabulator(
            None, show_index=False, disabled=True, layout="fit_columns", sizing_mode="stretch_width",
            height=380, css_classes=["pm-bw-table"], stylesheets=_TABLE_CSS, sortable=False,
            titles={"link": "link", "link_bandwidth_GBps": "link bandwidth [GB/s]",
                    "bandwidth_bound": "bandwidth-bound", "comm_to_compute_ratio": "comm / compute",
                    "crossover_devices": "p* [devices]", "required_bandwidth_GBps": "needs [GB/s]",
                    "verdict": "verdict", "current": "current"},
            widths={"link": 150, "link_bandwidth_GBps": 100, "bandwidth_bound": 90,
                    "comm_to_compute_ratio": 90, "crossover_devices": 90, "required_bandwidth_GBps": 90,
                    "current": 70},
            formatters={"link_bandwidth_GBps": _fmt("0,0.00"), "comm_to_compute_ratio": _fmt("0.000"),
                        "crossover_devices": _fmt("0,0.00"), "required_bandwidth_GBps": _fmt("0,0.00"),
                        "verdict": {"type": "textarea"}})
        return pn.Column(
            pn.pane.Markdown("### Is my interconnect the bottleneck?\n"
                             "The training form's configuration with each link its device can have in "
                             "place of its bottleneck link (`plaster_model.is_bandwidth_bound`)."),
            self.bw_button, self.bw_verdict, self.bw_table, sizing_mode="stretch_width")

    def refresh_bandwidth(self):
        self._ensure("bandwidth")
        try:
            verdict = self.state.current_verdict()
            table = self.state.bandwidth_table()
        except USER_ERRORS as exc:
            self.bw_verdict.object = f"**{md_text(user_error(exc))}**"
            return
        self.bw_verdict.object = f"**{md_text(self.state.verdict_words(verdict))}**"
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
        self.inf_error = _alert(["pm-inf-error"])
        self.inf_best = W.Tabulator(None, show_index=False, disabled=True, layout="fit_columns",
                                    sizing_mode="stretch_width", css_classes=["pm-inf-best"],
                                    stylesheets=_TABLE_CSS, sortable=False)
        self.inf_curve = pn.pane.Bokeh(None, css_classes=["pm-inf-curve"])
        self.inf_multiples = pn.GridBox(ncols=3, css_classes=["pm-plaster-multiples"])
        self.inf_report = W.Tabulator(None, show_index=False, disabled=True, layout="fit_columns",
                                      sizing_mode="stretch_width", css_classes=["pm-plaster-table"],
                                      stylesheets=_TABLE_CSS, row_content=self._plaster_details, sortable=False,
                                      embed_content=False)
        self._report_full = None
        self.cnn_inference = pn.Row(
            pn.Column(self.inf_model, self.inf_devices, self.inf_precisions, self.inf_budget,
                      self.inf_button, self.inf_error, width=300),
            pn.Column(pn.pane.Markdown("### Best batch within the budget"), self.inf_best,
                      self.inf_curve,
                      pn.pane.Markdown("### PLASTER (expand a row with ▸ for every column)"), self.inf_report,
                      self.inf_multiples, sizing_mode="stretch_width"),
            sizing_mode="stretch_width")
        self.inference_mode = _make(W.RadioButtonGroup, "Workload", options=_MODES["inference"], value="cnn",
                                    css_classes=["pm-inference-mode"])
        self.inference_mode.param.watch(lambda e: self._set_inference_mode(e.new), "value")
        self.serving_holder = pn.Column(sizing_mode="stretch_width")  # see llm_holder
        return pn.Column(self.inference_mode, self.cnn_inference, self.serving_holder, sizing_mode="stretch_width")

    def _plaster_details(self, row):
        full = self._report_full
        lines = []
        if full is not None:
            match = full[(full["device"] == row["device"]) & (full["precision"] == row["precision"])]
            if len(match):
                lines = [f"- {md_text(k)}: {md_text(v)}" for k, v in match.iloc[0].items()
                         if not (isinstance(v, float) and math.isnan(v))]
        return pn.pane.Markdown("\n".join(lines) or "(no details)", sizing_mode="stretch_width")

    @staticmethod
    def _compact_plaster(report, unit):
        """The PLASTER report in nine readable columns (the rest in the row's details)."""
        import pandas as pd

        def col(name):
            return report[name] if name in report else [math.nan] * len(report)

        return pd.DataFrame({
            "device": report["device"], "precision": report["precision"],
            "batch": col("throughput_batch"),
            "latency_ms": [v * 1e3 for v in col("latency_s")],
            "throughput_per_s": col("throughput_samples_s"),
            "inferences_per_J": col("energy_inferences_per_j"),
            "memory_GB": [v / 1e9 for v in col("size_memory_needed_bytes")],
            "fits": col("size_fits_in_memory"),
            "top1_pct": col("accuracy_top1_pct"),
            "training": [format_duration(v) for v in col("rate_of_learning_training_time_s")],
        })

    def refresh_inference(self):
        self._ensure("inference")
        cfg = InferenceConfig(model=self.inf_model.value, devices=tuple(self.inf_devices.value),
                              precisions=tuple(self.inf_precisions.value),
                              latency_budget=self.inf_budget.value)
        unit = charts.rate_unit(cfg.model)
        try:
            curves, best, report = self.state.inference(cfg)
        except USER_ERRORS as exc:
            _show(self.inf_error, user_error(exc))
            return
        budget_s = float(report["latency_budget_s"].iloc[0]) if len(report) and "latency_budget_s" in report \
            else None
        self.inf_curve.object = charts.latency_figure(curves, budget_s, unit=unit)
        self.inf_multiples[:] = [pn.pane.Bokeh(f) for f in charts.plaster_figures(report, unit=unit)]
        _show(self.inf_error, "\n".join(best.attrs.get("notes", [])))
        self.inf_best.titles = {"latency_ms": "latency [ms]", "throughput_samples_s": f"throughput [{unit}/s]",
                                "energy_per_inference_mJ": "energy [mJ/inference]",
                                "inferences_per_J": "inferences per J", "meets_budget": "meets budget",
                                "limited_by": "limited by", "calibrated": "calib."}
        self.inf_best.formatters = {"latency_ms": _fmt("0,0.000"), "throughput_samples_s": _fmt("0,0.0"),
                                    "energy_per_inference_mJ": _fmt("0,0.00"), "inferences_per_J": _fmt("0,0.0")}
        self.inf_best.value = best
        self._report_full = report
        compact = self._compact_plaster(report, unit)
        self.inf_report.titles = {"latency_ms": "latency [ms]", "throughput_per_s": f"throughput [{unit}/s]",
                                  "inferences_per_J": "inferences per J", "memory_GB": "memory [GB]",
                                  "fits": "fits memory", "top1_pct": "top-1 [%]",
                                  "training": "training time"}
        self.inf_report.formatters = {"latency_ms": _fmt("0,0.000"), "throughput_per_s": _fmt("0,0.0"),
                                      "inferences_per_J": _fmt("0,0.0"), "memory_GB": _fmt("0,0.00"),
                                      "top1_pct": _fmt("0.0")}
        self.inf_report.value = compact
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
        self.cal_published.on_click(lambda _e: self._calibrate("published", None))
        self.cal_clear = _make(W.Button, "Back to peak-based (no calibration)")
        self.cal_clear.on_click(lambda _e: self._set_calibration(None))
        self.cal_status = pn.pane.Markdown("", css_classes=["pm-cal-status"], sizing_mode="stretch_width")
        self.cal_error = _alert(["pm-cal-error"])
        self.cal_groups = W.Tabulator(None, show_index=False, disabled=True, layout="fit_data_table",
                                      sizing_mode="stretch_width", height=280, css_classes=["pm-cal-groups"])
        self.cal_errors = W.Tabulator(None, show_index=False, disabled=True, layout="fit_data_table",
                                      sizing_mode="stretch_width", css_classes=["pm-cal-errors"])
        self.cal_plot = pn.pane.Bokeh(None, css_classes=["pm-cal-plot"])
        return pn.Column(
            pn.pane.Markdown("### Calibrate on measured runs\nUpload trtexec logs, DLBS logs or CSV "
                             "measurement files (`plaster_model.read_measurements`; up to "
                             f"{upload_limit() / 2**20:g} MiB each), or fit the published set; later "
                             "predictions in every tab use the fit."),
            pn.Row(self.cal_files, self.cal_fit), pn.Row(self.cal_published, self.cal_clear),
            self.cal_error, self.cal_status,
            pn.Row(pn.Column(pn.pane.Markdown("**Fitted groups**"), self.cal_groups,
                             pn.pane.Markdown("**Errors per metric**"), self.cal_errors,
                             sizing_mode="stretch_width"),
                   self.cal_plot, sizing_mode="stretch_width"),
            sizing_mode="stretch_width")

    def uploads(self):
        """The file input's uploads as ``(name, bytes)`` pairs, and the messages for files
        the browser refused to send (over the size limit)."""
        names = self.cal_files.filename or []
        data = self.cal_files.value or []
        mimes = self.cal_files.mime_type or []
        if isinstance(names, str):
            names, data, mimes = [names], [data], [mimes]
        pairs, refused = [], []
        for i, (name, blob) in enumerate(zip(names, data)):
            mime = mimes[i] if i < len(mimes) else ""
            if mime == TOO_LARGE_MIME:
                size = blob.decode("ascii", "replace") if isinstance(blob, bytes) else str(blob)
                refused.append(f"{name}: {size} bytes is over the guide's upload limit of "
                               f"{upload_limit():,} bytes; not read")
            else:
                pairs.append((name, blob))
        return pairs, refused

    def calibrate_uploaded(self):
        self._ensure("calibration")
        pairs, refused = self.uploads()
        if refused:
            _show(self.cal_error, "\n".join(refused))
            self.cal_status.object = ""
            return
        self._calibrate("files", pairs)

    def _calibrate(self, kind, payload):
        """Run a fit (:func:`_fit_job`) in the worker process (in this one outside a served
        session); the page says it is fitting, with the elapsed time, until the result
        is shown."""
        self._ensure("calibration")
        _show(self.cal_error, None)
        self.cal_fit.disabled = self.cal_published.disabled = True
        start = time.monotonic()
        self.cal_status.object = "Fitting… (the published set takes a while)"
        doc = pn.state.curdoc
        if doc is None or doc.session_context is None:
            self._fit_done(_fit_job(kind, payload))
            return

        def progress():
            self.cal_status.object = f"Fitting… {time.monotonic() - start:,.0f} s"

        self._fit_callback = doc.add_periodic_callback(progress, 1000)
        def done(future):
            try:
                outcome = future.result()
            except Exception as exc:  # noqa: BLE001 - the worker died (e.g. out of memory)
                outcome = (None, exc)
            doc.add_next_tick_callback(lambda: self._fit_done(outcome))

        _fit_pool().submit(_fit_job, kind, payload).add_done_callback(done)

    def _fit_done(self, outcome):
        if self._fit_callback is not None:
            try:
                pn.state.curdoc.remove_periodic_callback(self._fit_callback)
            except (ValueError, AttributeError):
                pass
            self._fit_callback = None
        self.cal_fit.disabled = False
        self.cal_published.disabled = published_measurements_path() is None
        result, exc = outcome
        if exc is not None:
            _show(self.cal_error, user_error(exc))
            self.cal_status.object = ""
            return
        cal, label = result
        self.state.set_calibration(cal, label)
        self._show_calibration(cal)
        self._refresh_header()
        self._on_form_change()
        self._refresh_llm()

    def _refresh_llm(self):
        """After a calibration change: the LLM forms that are built predict again."""
        for panel in (self.llm_training, self.serving):
            if panel is not None:
                panel.refresh()

    def _set_calibration(self, cal):
        self._ensure("calibration")
        self.state.set_calibration(cal)
        self.cal_groups.value = None
        self.cal_errors.value = None
        self.cal_plot.object = None
        self.cal_status.object = ""
        self._refresh_header()
        self._on_form_change()
        self._refresh_llm()

    def _show_calibration(self, cal):
        self.cal_status.object = (f"**Fitted** ({md_text(self.state.calibration_label)}): "
                                  f"{md_text(repr(cal))}")
        self.cal_groups.value = getattr(cal, "params_", None)
        self.cal_errors.value = getattr(cal, "errors_", None)
        try:
            self.cal_plot.object = charts.calibration_figure(cal)
        except USER_ERRORS as exc:  # a fit without residual rows still predicts
            self.cal_status.object += f"  \n(no residual chart: {md_text(user_error(exc))})"

    def _refresh_header(self):
        self.header.object = (
            "## plaster_model performance guide\n"
            f"Calibration: **{md_text(self.state.calibration_label)}** · every number comes from "
            "`plaster_model`'s estimators; nothing is loaded from off this machine.")
        if self.state.calibration is not None and "calibration" not in self._built:
            self._ensure("calibration")
            self._show_calibration(self.state.calibration)

    def servable(self):
        return self.layout


def _run(fit):
    """``(result, None)`` or ``(None, error)`` of a fit: the error is shown in the page."""
    try:
        return fit(), None
    except Exception as exc:  # noqa: BLE001 - shown in the page; a lost error would hang "Fitting…"
        return None, exc


def build(calibration=None, calibration_label: str = "calibration file", query=None):
    """A new :class:`GuideApp`'s layout (one per session)."""
    return GuideApp(calibration, calibration_label, query=query).layout


def build_deferred(calibration=None, calibration_label: str = "calibration file"):
    """A served session's page: a light shell now, the guide once the browser connects.

    A plain ``GET /`` (a crawler, another site's request, a health check) then costs the
    shell only; the form, charts and predictions are built in ``pn.state.onload``, which
    runs when the page's websocket opens. The URL's query restores the form.
    """
    shell = pn.Column(pn.pane.Markdown("## plaster_model performance guide\nLoading…",
                                       css_classes=["pm-loading"]),
                      sizing_mode="stretch_width", css_classes=["pm-shell"])
    query = dict(getattr(pn.state, "session_args", None) or {})

    def load():
        shell[:] = [GuideApp(calibration, calibration_label, query=query).layout]

    pn.state.onload(load)
    return shell
