"""The web guide's view logic, in plain Python: no Panel, no browser.

:class:`GuideState` holds what the page shows (the form's configuration, the comparison
table, the active calibration) and turns form values into library calls. It computes no
performance number itself: every time, rate, verdict and curve comes from the public
functions (:func:`plaster_model.predict_epoch_time`, :func:`plaster_model.is_bandwidth_bound`,
:func:`plaster_model.scaling_curve`, :func:`plaster_model.best_batch`, ...). The only
arithmetic here is unit display (seconds to hours or milliseconds, B/s to GB/s).

The Panel layer (:mod:`plaster_model.web.page`) only forwards widget values to these
methods, so the callbacks are unit-tested without a browser (``tests/test_web.py``).
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
import math
import os
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import plaster_model as pm
from plaster_model.errors import PlasterError, UnknownNameError

__all__ = ["TrainingConfig", "InferenceConfig", "GuideState", "HPE_COOKBOOK_JOB", "user_error",
           "algorithm_choices", "backend_choices", "published_measurements_path",
           "COMPARISON_COLUMNS", "CUSTOM", "SAMPLE_COUNT", "FRAMEWORKS", "framework_backend",
           "compatible_links", "system_for_device", "format_duration", "UploadTooLarge",
           "MAX_UPLOAD_BYTES", "upload_limit", "is_infeasible"]

#: Select value meaning "no catalog system: the cluster fields as typed".
CUSTOM = "(custom)"
#: Dataset value meaning "use the sample count field".
SAMPLE_COUNT = "(sample count)"

#: Exceptions a user's input can raise from the library: shown in the page, never a
#: traceback. KeyError is the catalogs' unknown-name error (with close matches).
USER_ERRORS = (PlasterError, ValueError, KeyError, TypeError)

#: Largest uploaded measurement file the guide reads [bytes] (a trtexec or DLBS log is
#: kilobytes; a published CSV a few MB). Larger files are refused with a message, in the
#: browser before they are sent (``_security.upload_guard_js``) and again here.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


def upload_limit() -> int:
    """The per-file upload limit in force [bytes]: ``PLASTER_WEB_MAX_UPLOAD_BYTES`` from
    the environment (what ``serve(max_upload_bytes=)`` sets), else :data:`MAX_UPLOAD_BYTES`."""
    try:
        return int(os.environ.get("PLASTER_WEB_MAX_UPLOAD_BYTES") or MAX_UPLOAD_BYTES)
    except ValueError:
        return MAX_UPLOAD_BYTES

#: The framework choice of the HPE guide, mapped to what the library is told
#: (``framework=`` of :func:`plaster_model.predict_training`, which picks the
#: gradient-exchange backend: :func:`plaster_model.resolution.communication_backend`).
#: Display name -> framework text (None: not stated, an NCCL-class all-reduce). Caffe,
#: Caffe2 and TensorFlow are read as the Cookbook ran them (HPE DLBS: BVLC Caffe built with
#: NCCL, tf_cnn_benchmarks with variable_update=replicated + NCCL;
#: :data:`plaster_model.catalog.frameworks.DLBS_BACKENDS`); tf_cnn_benchmarks' own default,
#: a parameter server, is its own choice.
FRAMEWORKS = {
    "(not stated)": None,
    "Caffe": "BVLC Caffe (HPE DLBS)",
    "Caffe2": "Caffe2 (HPE DLBS)",
    "TensorFlow": "TensorFlow (HPE DLBS)",
    "TensorFlow (parameter server)": "TensorFlow (tf_cnn_benchmarks)",
    "TensorFlow + Horovod": "TensorFlow (Horovod)",
    "PyTorch": "PyTorch",
    "PyTorch + Horovod": "PyTorch (Horovod)",
    "MXNet": "MXNet",
    "MXNet + Horovod": "MXNet (Horovod)",
    "PaddlePaddle": "PaddlePaddle",
    "Chainer": "Chainer",
    "JAX": "JAX",
}


class UploadTooLarge(PlasterError, ValueError):
    """An uploaded file is over :data:`MAX_UPLOAD_BYTES`."""


def is_infeasible(exc: BaseException) -> bool:
    """Whether ``exc`` says the configuration cannot run (does not fit memory, outside
    physics) rather than that the form is wrong: the library's ``MemoryFitError`` and
    whatever infeasibility errors it grows (class names ending in ``InfeasibleError``)."""
    from plaster_model import errors

    kinds = tuple(getattr(errors, n) for n in ("MemoryFitError", "InfeasibleError")
                  if isinstance(getattr(errors, n, None), type))
    return isinstance(exc, kinds) or any(c.__name__.endswith("InfeasibleError") for c in type(exc).__mro__)


def framework_backend(framework: str | None) -> str:
    """The gradient-exchange backend a framework choice implies, in words
    (:func:`plaster_model.resolution.communication_backend`).

    >>> framework_backend("Caffe")[:60]
    'nccl: HPE DLBS builds BVLC Caffe with USE_NCCL=1 (layer-wise'
    """
    from plaster_model.resolution import communication_backend

    backend, why = communication_backend(FRAMEWORKS.get(framework, framework))
    return f"{backend.name}: {why}"


def format_duration(seconds: float) -> str:
    """A duration in the unit that suits it: hours from one hour, minutes from one minute,
    else seconds (the unit is in the text).

    >>> format_duration(311 * 3600.0), format_duration(290.0), format_duration(4.2)
    ('311.00 h', '4.83 min', '4.20 s')
    """
    if seconds is None or not math.isfinite(seconds):
        return "–"
    if seconds >= 3600.0:
        return f"{seconds / 3600.0:,.2f} h"
    if seconds >= 60.0:
        return f"{seconds / 60.0:,.2f} min"
    return f"{seconds:,.2f} s"


def _pcie_links(links, host_link=None):
    """PCIe links up to the device's own generation (a PCIe 3.0 card in a PCIe 4.0 slot
    runs at 3.0); all of them when the device states none."""
    names = [n for n, s in zip(links["name"], links["scope"]) if s == "host" and n.startswith("PCIe")]
    if host_link and host_link in names:
        names = [n for n in names if n <= host_link]  # "PCIe 3.0 x16" < "PCIe 4.0 x16"
    return names


def compatible_links(device: str) -> tuple[list[str], list[str]]:
    """The catalog links a server built on ``device`` can have: ``(inside a node,
    between nodes)``.

    Inside a node: the intra-node links of the catalog systems built on this device
    (NVLink 1 for a P100 SXM2, NVSwitch for a DGX-2, TPU ICI for a TPU chip), plus PCIe for
    every device that is not a TPU (a PCIe card has no NVLink, a P100 PCIe server no TPU
    ICI or NVLink-C2C). Between nodes: every catalog network for GPUs and other
    accelerators; none for TPUs (their pods are joined by ICI).

    >>> intra, inter = compatible_links("P100-PCIe")
    >>> [l for l in intra if "NVLink" in l or "TPU" in l], "InfiniBand FDR" in inter
    ([], True)
    """
    links = pm.list_interconnects()
    systems = pm.list_systems()
    try:
        dev = pm.load_device(device)
        kind = str(getattr(dev, "kind", "") or "")
    except USER_ERRORS:
        return _pcie_links(links), [n for n, s in zip(links["name"], links["scope"]) if s == "inter_node"]
    own = [str(x) for x in systems.loc[systems["device"] == dev.name, "intra_node"].dropna()]
    if kind == "tpu" or dev.name.upper().startswith("TPU"):
        gen = "".join(ch for ch in dev.name.split()[0] if ch.isdigit())
        intra = [n for n in links["name"] if n.startswith(f"TPU v{gen}")] + own
        inter: list[str] = []
    else:
        form = str(getattr(dev, "form_factor", "") or "").lower()
        intra = (_pcie_links(links, getattr(dev, "host_link", None))
                 + ([] if "pcie" in form and "nvlink" not in form else own))
        inter = [n for n, s in zip(links["name"], links["scope"]) if s == "inter_node"]
    return list(dict.fromkeys(intra)), inter


def system_for_device(device: str, current: str = CUSTOM) -> str:
    """The server choice that follows a device: the current system when it is built on
    ``device``, else the first catalog system that is, else :data:`CUSTOM`.

    >>> system_for_device("H100", "HPE Apollo 6500")
    'DGX H100'
    """
    systems = pm.list_systems()
    names = [str(n) for n, d in zip(systems["name"], systems["device"]) if d == device]
    if current in names:
        return current
    return names[0] if names else CUSTOM


def user_error(exc: BaseException) -> str:
    """One line naming the library's error class and its message."""
    msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    return f"{type(exc).__name__}: {msg}"


def algorithm_choices() -> tuple[list[str], str]:
    """All-reduce algorithms the library accepts, and its default.

    ``"auto"`` (what NCCL/Horovod run, the default of :func:`plaster_model.predict_training`)
    first, then the named algorithms of :data:`plaster_model.estimators.ALGORITHMS`, the
    seed's ``"tree"`` among them; the default is read from ``predict_training``'s signature
    so the page follows the library rather than fixing a choice of its own.
    """
    from plaster_model.estimators import ALGORITHMS

    default = inspect.signature(pm.predict_training).parameters["algorithm"].default
    names = [default] + [a for a in ALGORITHMS if a != default]
    return names, default


def backend_choices() -> list[str]:
    """Communication backends ``backend=`` accepts (:data:`plaster_model.resolution.BACKENDS`),
    after ``"(default)"`` (the framework's default, else NCCL)."""
    from plaster_model.resolution import BACKENDS

    return ["(default)"] + sorted(BACKENDS)


def published_measurements_path() -> Path | None:
    """``shared/data/published_measurements.csv`` beside the repository, if present.

    The published set is third-party data kept outside the repository (``../shared``
    relative to a checkout); an installed package without it simply offers no such button.
    Looked for beside the source checkout, then beside the working directory (a
    non-editable install runs from site-packages); ``PLASTER_PUBLISHED_MEASUREMENTS``
    names another file.
    """
    env = os.environ.get("PLASTER_PUBLISHED_MEASUREMENTS")
    candidates = [Path(env)] if env else []
    rel = Path("shared", "data", "published_measurements.csv")
    for base in (Path(__file__).resolve().parents[2], Path.cwd()):
        candidates += [base.parent / rel, base / rel]
    return next((p for p in candidates if p.is_file()), None)


@dataclass(frozen=True)
class TrainingConfig:
    """One row of the HPE-style form: what to train, on what, how.

    ``system`` fills the cluster fields from the catalog (:func:`plaster_model.load_system`);
    the fields then win, so a user can keep the system and change its network.
    ``dataset`` is a catalog name or :data:`SAMPLE_COUNT` (then ``samples`` is used).
    ``batch_mode`` is ``"per device"`` (``batch`` samples on each device) or ``"global"``
    (``batch`` samples per iteration across the cluster).
    """

    model: str = "VGG-16"
    dataset: str = SAMPLE_COUNT
    samples: int = 100_000_000
    epochs: float = 10
    system: str = "HPE Apollo 6500"
    device: str = "P100"
    n_devices: int = 8
    devices_per_node: int = 8
    intra_node: str | None = "PCIe 3.0 x16"
    interconnect: str | None = "InfiniBand FDR"
    nics_per_node: int = 1
    algorithm: str | None = None  # None: the library's default
    framework: str = "(not stated)"  # a FRAMEWORKS key
    backend: str | None = None  # advanced: overrides the framework's backend
    precision: str = "fp32"
    batch_mode: str = "per device"
    batch: float = 16
    scaling: str = "weak"

    def with_system(self, system: str) -> "TrainingConfig":
        """The same job on a catalog system's node design (device, links, NICs)."""
        if system == CUSTOM:
            return replace(self, system=CUSTOM)
        s = pm.load_system(system)
        return replace(self, system=s.name, device=s.device, devices_per_node=s.devices_per_node,
                       intra_node=s.intra_node, interconnect=s.interconnect,
                       nics_per_node=s.nics_per_node)

    # -- library arguments ------------------------------------------------------------
    def cluster(self) -> "pm.Cluster":
        """The :class:`plaster_model.Cluster` of the form's fields.

        Built with ``pm.Cluster(...)`` from the fields (which a system pre-fills from
        :func:`plaster_model.load_system`) rather than ``Cluster.from_system``: the form
        counts devices, not nodes, and lets each field be overridden.
        """
        return pm.Cluster(device=self.device, n_devices=int(self.n_devices),
                          devices_per_node=int(self.devices_per_node),
                          intra_node=self.intra_node or None,
                          interconnect=self.interconnect or None,
                          nics_per_node=int(self.nics_per_node))

    def dataset_arg(self):
        """``dataset=`` of :func:`plaster_model.predict_epoch_time`: a name or a count."""
        return int(self.samples) if self.dataset == SAMPLE_COUNT else self.dataset

    def training_kwargs(self, calibration=None) -> dict[str, Any]:
        """Keyword arguments shared by ``predict_training``, ``predict_epoch_time``,
        ``is_bandwidth_bound`` and ``scaling_curve`` for this configuration."""
        kw: dict[str, Any] = {"precision": self.precision, "scaling": self.scaling,
                              "calibration": calibration}
        if self.batch_mode == "global":
            kw["global_batch"] = float(self.batch)
        elif self.batch_mode == "per device":
            kw["batch_per_device"] = float(self.batch)
        else:
            raise pm.ParameterError("batch_mode", self.batch_mode, "'per device' or 'global'")
        if self.algorithm:
            kw["algorithm"] = self.algorithm
        if self.backend and self.backend != "(default)":
            kw["backend"] = self.backend
        framework = FRAMEWORKS.get(self.framework, self.framework)
        if framework:
            kw["framework"] = framework
        return kw

    def epoch_kwargs(self, calibration=None) -> dict[str, Any]:
        """Keyword arguments of :func:`plaster_model.predict_epoch_time`."""
        return {"dataset": self.dataset_arg(), "epochs": self.epochs,
                **self.training_kwargs(calibration)}


#: The HPE Deep Learning Cookbook's example job (Vassilieva & Serebryakov, 2017):
#: VGG-16, 100 M images, 10 epochs on an HPE Apollo 6500 with 8 × P100, InfiniBand FDR,
#: batch 16 per GPU, weak scaling. The page opens on it.
HPE_COOKBOOK_JOB = TrainingConfig()


@dataclass(frozen=True)
class InferenceConfig:
    """The inference tab: one model on several devices and precisions within a budget."""

    model: str = "ResNet-50"
    devices: tuple[str, ...] = ("V100", "P100")
    precisions: tuple[str, ...] = ("fp32", "fp16")
    latency_budget: str = "7 ms"


#: Columns of the comparison table, in order (units in the names).
COMPARISON_COLUMNS = [
    "id", "model", "dataset", "epochs", "cluster", "device", "n_devices", "interconnect", "link",
    "algorithm", "framework", "precision", "batch_per_device", "global_batch", "scaling",
    "total_time", "total_time_h", "total_time_low_h", "total_time_high_h",
    "compute_ms", "communication_ms", "overhead_ms", "iteration_ms",
    "throughput", "throughput_samples_s", "sample_unit", "bound", "comm_to_compute_ratio",
    "crossover_devices", "required_bandwidth_GBps", "feasible", "memory",
    "memory_per_device_GB", "device_memory_GB", "calibrated", "assumptions",
]


@dataclass
class GuideState:
    """Everything the guide shows, and the operations its widgets trigger.

    Parameters
    ----------
    config : TrainingConfig
        The form (default: the HPE Cookbook job).
    calibration : Calibration, optional
        Used by every later prediction (:func:`plaster_model.calibrate` or
        :meth:`plaster_model.Calibration.load`).

    Examples
    --------
    >>> from plaster_model.web.state import GuideState
    >>> g = GuideState()
    >>> row = g.add_row()          # the HPE Cookbook job
    >>> row["model"], row["n_devices"], row["total_time_h"] > 0
    ('VGG-16', 8, True)
    >>> g.remove_all(); len(g.rows)
    0
    """

    config: TrainingConfig = field(default_factory=lambda: HPE_COOKBOOK_JOB)
    calibration: Any = None
    calibration_label: str = "none (peak-based)"
    rows: list[dict[str, Any]] = field(default_factory=list)
    _entries: dict[int, tuple[TrainingConfig, Any]] = field(default_factory=dict, repr=False)
    _next_id: int = 1

    # -- the form ---------------------------------------------------------------------
    def update(self, **changes) -> TrainingConfig:
        """Change form fields; ``system=`` first re-fills the cluster fields from the
        catalog, then the other changes apply. Returns the new configuration."""
        cfg = self.config
        if "system" in changes:
            cfg = cfg.with_system(changes.pop("system"))
        unknown = set(changes) - {f.name for f in dataclasses.fields(TrainingConfig)}
        if unknown:
            raise pm.ParameterError("field", sorted(unknown)[0], "a TrainingConfig field")
        self.config = replace(cfg, **changes)
        return self.config

    def current_prediction(self, config: TrainingConfig | None = None):
        """:func:`plaster_model.predict_epoch_time` for the form (or ``config``); a
        configuration that does not fit device memory raises the library's error
        (``check_memory="error"``), never a time."""
        cfg = config or self.config
        if self.calibration is None:
            return _peak_prediction(cfg)
        return pm.predict_epoch_time(cfg.model, cfg.cluster(), check_memory="error",
                                     **cfg.epoch_kwargs(self.calibration))

    def current_verdict(self, config: TrainingConfig | None = None):
        """:func:`plaster_model.is_bandwidth_bound` for the form (or ``config``)."""
        cfg = config or self.config
        if self.calibration is None:
            return _peak_verdict(cfg)
        return pm.is_bandwidth_bound(cfg.model, cfg.cluster(), **cfg.training_kwargs(self.calibration))

    def _predict_row(self, row_id: int, cfg: TrainingConfig, verdict: bool = True) -> dict[str, Any]:
        """The comparison row of ``cfg``: predicted, or marked infeasible with the
        library's message when it cannot run; other errors (a wrong form) propagate."""
        try:
            pred = self.current_prediction(cfg)
        except PlasterError as exc:
            if not is_infeasible(exc):
                raise
            return self._infeasible_row(row_id, cfg, exc)
        return self._row(row_id, cfg, pred, self.current_verdict(cfg) if verdict else None)

    def preview_row(self, config: TrainingConfig | None = None, verdict: bool = True) -> dict[str, Any]:
        """The comparison row the form would add (id 0), without adding it; without
        ``verdict`` the bandwidth verdict's columns (``p*``, required bandwidth) are NaN,
        which saves the crossover search on every form change."""
        return self._predict_row(0, config or self.config, verdict=verdict)

    # -- the comparison table ---------------------------------------------------------
    def add_row(self, config: TrainingConfig | None = None) -> dict[str, Any]:
        """Predict the form's configuration and append it to the comparison table."""
        cfg = config or self.config
        row = self._predict_row(self._next_id, cfg)
        self._entries[self._next_id] = (cfg, self.calibration)
        self._next_id += 1
        self.rows.append(row)
        return row

    def remove_row(self, row_id: int) -> None:
        """Remove the row with ``id == row_id`` (KeyError naming it when absent)."""
        for i, row in enumerate(self.rows):
            if row["id"] == row_id:
                del self.rows[i]
                self._entries.pop(row_id, None)
                return
        raise UnknownNameError(f"comparison row {row_id!r} not found; rows are {[r['id'] for r in self.rows]}")

    def remove_all(self) -> None:
        """Empty the comparison table ("Remove all")."""
        self.rows.clear()
        self._entries.clear()

    def table(self):
        """The comparison table as a DataFrame with :data:`COMPARISON_COLUMNS`."""
        import pandas as pd

        return pd.DataFrame(self.rows, columns=COMPARISON_COLUMNS)

    def to_csv(self) -> str:
        """The comparison table as CSV text (one header line, one line per row)."""
        return self.table().to_csv(index=False)

    def config_of(self, row_id: int) -> TrainingConfig:
        """The configuration a comparison row was predicted from."""
        return self._entries[row_id][0]

    # -- charts -----------------------------------------------------------------------
    def curve_devices(self, config: TrainingConfig) -> list[int]:
        """Device counts of the scaling chart: powers of two up to at least 64 and 4× the
        cluster, plus the cluster's own size (a view range, not a model choice)."""
        top = max(64, 4 * int(config.n_devices))
        counts = {2 ** k for k in range(int(math.log2(top)) + 1)} | {int(config.n_devices)}
        return sorted(counts)

    def scaling(self, config: TrainingConfig | None = None, calibration=...):
        """:func:`plaster_model.scaling_curve` of a configuration over
        :meth:`curve_devices` (memory not re-checked: the row already was)."""
        cfg = config or self.config
        cal = self.calibration if calibration is ... else calibration
        if cal is None:
            return _peak_scaling(cfg, tuple(self.curve_devices(cfg)))
        kw = cfg.training_kwargs(cal)
        return pm.scaling_curve(cfg.model, cfg.cluster(), devices=self.curve_devices(cfg),
                                check_memory=False, **kw)

    def row_scaling(self, row_id: int):
        """The scaling curve of a comparison row (with the calibration it was made with)."""
        cfg, cal = self._entries[row_id]
        return self.scaling(cfg, calibration=cal)

    # -- bandwidth tab ----------------------------------------------------------------
    def bandwidth_table(self, config: TrainingConfig | None = None):
        """:func:`plaster_model.is_bandwidth_bound` for the configuration with each of the
        links its device can have (:func:`compatible_links`) in place of the bottleneck one:
        the networks when the cluster has several nodes, else the links inside a node. One
        row per link."""
        import pandas as pd

        cfg = config or self.config
        multi_node = cfg.cluster().n_nodes > 1
        intra, inter = compatible_links(cfg.device)
        field_name = "interconnect" if multi_node else "intra_node"
        out = []
        for name in (inter if multi_node else intra):
            c = replace(cfg, **{field_name: name})
            try:
                v = self.current_verdict(c)
            except USER_ERRORS as exc:
                out.append({"link": name, "verdict": user_error(exc)})
                continue
            out.append({"link": name, "link_bandwidth_GBps": (v.link_bandwidth or float("nan")) / 1e9,
                        "bandwidth_bound": bool(v), "comm_to_compute_ratio": v.comm_to_compute_ratio,
                        "crossover_devices": v.crossover_devices,
                        "required_bandwidth_GBps": v.required_bandwidth / 1e9,
                        "verdict": self.verdict_words(v),
                        "current": name == getattr(cfg, field_name)})
        return pd.DataFrame(out)

    @staticmethod
    def verdict_words(v) -> str:
        """A :class:`~plaster_model.BandwidthVerdict` in one sentence."""
        fmt = pm.format_si
        if v.link is None:
            return "One device: no all-reduce, nothing to be bound by."
        head = (f"Yes: {v.link} is the bottleneck" if v
                else f"No: {v.link} keeps up")
        return (f"{head} at {v.n_devices} devices (communication is {v.comm_to_compute_ratio:.3g}× "
                f"the compute); communication equals compute at p* = {v.crossover_devices:.4g} "
                f"devices; staying compute-bound needs ≥ {fmt(v.required_bandwidth, 'B/s')} "
                f"(it has {fmt(v.link_bandwidth, 'B/s')}).")

    # -- inference tab ----------------------------------------------------------------
    def inference(self, cfg: InferenceConfig):
        """Latency/throughput curves, best batches and the PLASTER report.

        Returns ``(curves, best, report)``: :func:`plaster_model.latency_throughput_curve`
        rows for every supported (device, precision), one :func:`plaster_model.best_batch`
        row per pair (energy per inference included), and :func:`plaster_model.plaster_report`.
        """
        import pandas as pd

        budget = cfg.latency_budget
        curves, best, notes = [], [], []
        for dev in cfg.devices:
            for prec in cfg.precisions:
                try:
                    curve = pm.latency_throughput_curve(cfg.model, dev, precision=prec,
                                                        calibration=self.calibration)
                    curves.append(curve.assign(configuration=f"{dev} {prec}"))  # one line each
                    b = pm.best_batch(cfg.model, dev, budget, precision=prec,
                                      calibration=self.calibration, require_fit=False)
                    best.append({"device": dev, "precision": prec, "batch": b.batch,
                                 "latency_ms": b.latency_s * 1e3,
                                 "throughput_samples_s": b.throughput_samples_s,
                                 "energy_per_inference_mJ": b.energy_per_inference_j * 1e3,
                                 "inferences_per_J": b.inferences_per_j,
                                 "meets_budget": b.meets_budget, "limited_by": b.limited_by,
                                 "calibrated": b.calibrated})
                except USER_ERRORS as exc:
                    notes.append(f"{dev} / {prec}: {user_error(exc)}")
        report = pm.plaster_report(cfg.model, list(cfg.devices), budget,
                                   precision=list(cfg.precisions), calibration=self.calibration)
        curves_df = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame()
        best_df = pd.DataFrame(best)
        best_df.attrs["notes"] = notes
        return curves_df, best_df, report

    # -- calibration ------------------------------------------------------------------
    @staticmethod
    def upload_labels(names) -> list[str]:
        """Unique labels for uploaded file names: the base name, numbered when two uploads
        share it (``run.log``, ``run.log (2)``); browsers send base names only.

        >>> GuideState.upload_labels(["a/run.log", "b/run.log", "x.csv"])
        ['run.log', 'run.log (2)', 'x.csv']
        """
        seen: dict[str, int] = {}
        out = []
        for name in names:
            base = Path(str(name).replace("\\", "/")).name or "upload"
            seen[base] = seen.get(base, 0) + 1
            out.append(base if seen[base] == 1 else f"{base} ({seen[base]})")
        return out

    def read_uploads(self, files):
        """Read uploaded measurement files: ``files`` is a mapping name -> bytes or a
        sequence of ``(name, bytes)`` pairs (two uploads may share a name).

        Each file is written into its own temporary folder under its base name (so two
        ``run.log`` from different folders stay apart and a name cannot climb out of the
        folder) and read by :func:`plaster_model.read_measurements` on its own (the reader
        is picked by name and content: trtexec logs, DLBS logs, CSV), so a bad file raises
        that reader's named error (:class:`~plaster_model.ParseError`, ...) naming the
        upload instead of being skipped. A file over :data:`MAX_UPLOAD_BYTES` raises
        :class:`UploadTooLarge`.
        """
        import pandas as pd

        pairs = list(files.items()) if isinstance(files, dict) else [tuple(f) for f in files]
        if not pairs:
            raise pm.ParameterError("files", files, "one or more measurement files")
        labels = self.upload_labels(n for n, _ in pairs)
        limit = upload_limit()
        for label, (_, data) in zip(labels, pairs):
            if len(data) > limit:
                raise UploadTooLarge(f"{label}: {len(data):,} bytes is over the guide's upload limit of "
                                     f"{limit:,} bytes; read it with plaster_model.read_measurements")
        frames = []
        with tempfile.TemporaryDirectory(prefix="plaster-web-") as tmp:
            for i, (label, (name, data)) in enumerate(zip(labels, pairs)):
                folder = Path(tmp, str(i))
                folder.mkdir()
                path = folder / (Path(str(name).replace("\\", "/")).name or "upload")
                path.write_bytes(data)
                try:
                    frames.append(pm.read_measurements(path))
                except PlasterError as exc:
                    # The temporary folder means nothing to the user: name the upload.
                    exc.args = (str(exc).replace(str(path), label).replace(str(folder), ""),)
                    raise
        return pd.concat(frames, ignore_index=True), labels

    def fit_files(self, files, **kwargs):
        """:func:`plaster_model.calibrate` on uploaded files (:meth:`read_uploads`) without
        using it yet: returns ``(calibration, label)`` (what the page's fit worker process runs)."""
        measurements, labels = self.read_uploads(files)
        return pm.calibrate(measurements, **kwargs), ", ".join(sorted(labels))

    def calibrate_files(self, files, **kwargs):
        """Fit a calibration on uploaded measurement files (:meth:`read_uploads`), then
        :func:`plaster_model.calibrate`; later predictions use it."""
        cal, label = self.fit_files(files, **kwargs)
        self.set_calibration(cal, label)
        return cal

    def fit_published(self, **kwargs):
        """:func:`plaster_model.calibrate` on the published set, not used yet:
        ``(calibration, label)``."""
        path = published_measurements_path()
        if path is None:
            raise FileNotFoundError("published_measurements.csv not found beside the repository")
        return pm.calibrate(pm.read_measurements(path), **kwargs), path.name

    def calibrate_published(self, **kwargs):
        """Fit on the published measurement set (:func:`published_measurements_path`)."""
        path = published_measurements_path()
        if path is None:
            raise FileNotFoundError("published_measurements.csv not found beside the repository")
        return self.use_measurements(pm.read_measurements(path), label=path.name, **kwargs)

    def use_measurements(self, measurements, label="measurements", **kwargs):
        """:func:`plaster_model.calibrate` on a measurement frame; later predictions use it."""
        cal = pm.calibrate(measurements, **kwargs)
        self.set_calibration(cal, label)
        return cal

    def set_calibration(self, calibration, label: str = "calibration") -> None:
        """Use ``calibration`` (or None: peak-based) for every later prediction."""
        self.calibration = calibration
        self.calibration_label = label if calibration is not None else "none (peak-based)"

    # -- internals --------------------------------------------------------------------
    @staticmethod
    def _base(row_id: int, cfg: TrainingConfig) -> dict[str, Any]:
        """The fields a row states from its configuration alone."""
        from .charts import rate_unit

        return {"id": row_id, "model": cfg.model, "dataset": cfg.dataset_arg() if cfg.dataset == SAMPLE_COUNT
                else cfg.dataset, "epochs": cfg.epochs, "cluster": cfg.cluster().name, "device": cfg.device,
                "n_devices": int(cfg.n_devices), "interconnect": cfg.interconnect or "none",
                "framework": cfg.framework, "precision": cfg.precision, "scaling": cfg.scaling,
                "sample_unit": rate_unit(cfg.model)}

    @classmethod
    def _infeasible_row(cls, row_id: int, cfg: TrainingConfig, exc: BaseException) -> dict[str, Any]:
        nan = math.nan
        row = {c: nan for c in COMPARISON_COLUMNS}
        row.update(cls._base(row_id, cfg))
        dev = pm.load_device(cfg.device)
        row.update({"link": "–", "algorithm": cfg.algorithm or "auto", "total_time": "does not fit",
                    "throughput": "–", "bound": "infeasible", "feasible": False,
                    "memory": f"does not fit: {exc}", "device_memory_GB": dev.memory_bytes / 1e9,
                    "calibrated": False, "assumptions": f"not predicted: {exc}",
                    "batch_per_device": float(cfg.batch) if cfg.batch_mode == "per device" else nan,
                    "global_batch": float(cfg.batch) if cfg.batch_mode == "global" else nan})
        return row

    @classmethod
    def _row(cls, row_id: int, cfg: TrainingConfig, pred, verdict) -> dict[str, Any]:
        lo, hi = pred.epoch_time_interval_s or (math.nan, math.nan)
        row = cls._base(row_id, cfg)
        unit = row["sample_unit"]
        mem = getattr(pred, "memory_per_device_bytes", None)
        dev_mem = pm.load_device(cfg.device).memory_bytes
        fmt = pm.format_si
        memory = (f"fits: {fmt(mem, 'B')} of {fmt(dev_mem, 'B')}" if mem is not None and math.isfinite(mem)
                  else "not estimated")
        row.update({
            "model": pred.model, "dataset": pred.dataset, "epochs": pred.epochs,
            "cluster": pred.cluster, "device": pred.device, "n_devices": pred.n_devices,
            "link": pred.link or "none", "algorithm": pred.algorithm, "precision": pred.precision,
            "batch_per_device": pred.batch_per_device, "global_batch": pred.global_batch,
            "scaling": pred.scaling,
            "total_time": format_duration(pred.epoch_time_s),
            "total_time_h": pred.epoch_time_h, "total_time_low_h": lo / 3600.0,
            "total_time_high_h": hi / 3600.0,
            "compute_ms": pred.compute_time_s * 1e3,
            "communication_ms": pred.communication_time_s * 1e3,
            "overhead_ms": pred.overhead_time_s * 1e3,
            "iteration_ms": pred.iteration_time_s * 1e3,
            "throughput": f"{pred.throughput_samples_s:,.0f} {unit}/s",
            "throughput_samples_s": pred.throughput_samples_s, "bound": pred.bound,
            "comm_to_compute_ratio": pred.comm_to_compute_ratio,
            "crossover_devices": verdict.crossover_devices if verdict is not None else math.nan,
            "required_bandwidth_GBps": verdict.required_bandwidth / 1e9 if verdict is not None else math.nan,
            "feasible": True, "memory": memory,
            "memory_per_device_GB": (mem / 1e9) if mem is not None else math.nan,
            "device_memory_GB": dev_mem / 1e9,
            "calibrated": pred.calibrated,
            "assumptions": "; ".join(pred.assumptions + (tuple(verdict.notes) if verdict is not None else ())),
        })
        return row


# --------------------------------------------------------------------------- caches
# Peak-based (uncalibrated) answers depend on the configuration alone, so every session
# shares them: a page load's HPE row, a URL shared around, a form toggled back and forth.
# (A calibrated answer is computed each time: the calibration is the session's own.)
# The cached values are never modified by the callers.
@functools.lru_cache(maxsize=512)
def _peak_prediction(cfg: TrainingConfig):
    return pm.predict_epoch_time(cfg.model, cfg.cluster(), check_memory="error", **cfg.epoch_kwargs(None))


@functools.lru_cache(maxsize=512)
def _peak_verdict(cfg: TrainingConfig):
    return pm.is_bandwidth_bound(cfg.model, cfg.cluster(), **cfg.training_kwargs(None))


@functools.lru_cache(maxsize=256)
def _peak_scaling(cfg: TrainingConfig, devices: tuple):
    return pm.scaling_curve(cfg.model, cfg.cluster(), devices=list(devices), check_memory=False,
                            **cfg.training_kwargs(None))
