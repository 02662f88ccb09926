"""From measurement rows to the arrays the calibration fits: names mapped, work counted.

Every row of a measurement table (:data:`plaster_model.measurements.MEASUREMENT_COLUMNS`)
is resolved once, here, into catalog objects and numbers: the model's forward FLOPs and
parameters, the device peak for the row's precision, the memory bandwidth, the link the
gradients cross, and how the measured ``value`` relates to the time of one iteration (or one
inference batch) ``T``::

    log(prediction) = s · log T + c

=======================  ==========  ==========================================  ===========
metric                   ``s``       ``c``                                       unit
=======================  ==========  ==========================================  ===========
``throughput_img_s``     −1          ``log(p · b)``                              samples/s
``latency_ms``           +1          ``log 1000``                                ms per batch
``time_per_iter_s``      +1          0                                           s
``epoch_time_s``         +1          ``log(ceil(N / (p·b)))`` (one epoch)        s
``time_to_train_min``    +1          ``log(E · ceil(N / (p·b)) / 60)``           min
``scaling_efficiency``   (ratio)     ``T(1) / T(p)`` at the same batch per       fraction
                                     device (weak scaling)
=======================  ==========  ==========================================  ===========

An inference ``throughput_img_s`` row that reports host transfers (``h2d_mean_ms``,
``d2h_mean_ms``: trtexec with data transfers on) is predicted from ``T + H2D + D2H``: its
qps counts the copies, while its ``latency_ms`` row (the GPU compute time) does not.

with ``p`` devices, ``b`` samples per device, ``N`` the dataset's training samples
(ImageNet-1k: 1,281,167) and ``E`` the epochs, read from the row's ``notes``
("90 epochs", "50-epoch"). A row that cannot be interpreted keeps NaN arrays and a
``reason``; nothing is guessed silently.

Name mapping
------------
Devices, precisions and interconnects go through explicit tables (:data:`DEVICE_MAP`,
:data:`INTERCONNECT_MAP`) before the catalog's own aliases
(:func:`plaster_model.find_name`). The published CSV counts TPUs per **chip**, so its
``TPU2``/``TPU3`` are the catalog's ``TPU2 chip``/``TPU3 chip`` (the catalog's ``TPU2`` and
``TPU3`` are 4-chip devices). Interconnect texts are needed only by multi-device rows;
those that stay unmapped are reported (``Calibration.unmapped_``) and their rows are not
predicted.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

from .defaults import default_batch

__all__ = ["DEVICE_MAP", "INTERCONNECT_MAP", "SUPPORTED_METRICS", "RowTable", "prepare_rows",
           "framework_family", "model_family", "inference_engine", "INFERENCE_ENGINES", "parse_epochs"]

#: Device texts whose catalog entry is not the alias match (raw text -> catalog name).
#: ``"TPU2"``/``"TPU3"``: published TPU results count chips (2 TensorCores each), see
#: ``shared/data/README.md``; the catalog's ``TPU2``/``TPU3`` are the 4-chip devices.
DEVICE_MAP: dict[str, str] = {
    "TPU2": "TPU2 chip",
    "TPU3": "TPU3 chip",
    "TPU v2": "TPU2 chip",
    "TPU v3": "TPU3 chip",
}

#: Free-text interconnect descriptions of the published CSV -> catalog interconnect, with the
#: reason for each entry. Texts not listed go to the catalog's aliases (after
#: :func:`plaster_model.io.readers.normalize_names`, which resolves "NVLink (... DGX-1 ...)"
#: by the GPU generation and drops trailing parentheticals).
INTERCONNECT_MAP: dict[str, tuple[str, str]] = {
    "PCIe (single GCE n1-standard-32-k80x8 instance)":
        ("PCIe 3.0 x16", "K80 boards sit in PCIe 3.0 x16 slots"),
    "PCIe (single AWS p2.8xlarge instance)":
        ("PCIe 3.0 x16", "K80 boards sit in PCIe 3.0 x16 slots"),
    "single server, 4x K40m (PCIe)":
        ("PCIe 3.0 x16", "Tesla K40m is a PCIe 3.0 x16 card"),
    "Amazon EC2 network between p2.8xlarge instances (bandwidth not stated)":
        ("10GbE", "Amazon EC2 P2 instance page: p2.8xlarge has a 10 Gigabit network "
                  "(catalog system 'K80 server')"),
    "single Cloud TPU device (generation not stated; inferred TPU v2 from the Feb 2018 date)":
        ("TPU v2 ICI", "the 4 chips of one Cloud TPU v2 device are joined by ICI"),
    "half of a TPUv2 Pod": ("TPU v2 ICI", "TPU v2 pods join chips by ICI (2-D torus)"),
}

#: Metrics the calibration predicts (``time_to_train_min`` needs the epochs in ``notes``).
SUPPORTED_METRICS = ("throughput_img_s", "latency_ms", "time_per_iter_s", "epoch_time_s",
                     "time_to_train_min", "scaling_efficiency")

_EPOCHS = re.compile(r"(\d+(?:\.\d+)?)[\s-]*epochs?\b", re.IGNORECASE)


# Framework facts (family by longest match with negations, inference engine and its mode)
# live in plaster_model.catalog.frameworks; re-exported here by their public names.
from ..catalog.frameworks import INFERENCE_ENGINES, framework_family, inference_engine  # noqa: E402


#: Architecture families by name, in match order (a zoo model's own ``family`` field wins).
_FAMILIES = (("resnext", "resnext"), ("wide_resnet", "resnet"), ("wide resnet", "resnet"), ("resnet", "resnet"),
             ("vgg", "vgg"), ("googlenet", "inception"), ("inception", "inception"),
             ("efficientnet", "efficientnet"), ("mobilenet", "mobilenet"), ("densenet", "densenet"),
             ("alexnet", "alexnet"), ("squeezenet", "squeezenet"), ("vit", "vit"), ("swin", "swin"),
             ("bert", "bert"), ("gpt", "gpt"), ("transformer", "transformer"))


def model_family(model) -> str | None:
    """Architecture family of a model (``"resnet"`` for ResNet-101): the zoo entry's
    ``family`` field when it has one, else the first family keyword in its name; None when
    neither says. A model the calibration never saw borrows its family's factor."""
    from ..catalog.loader import active_catalog

    name = getattr(model, "name", model)
    if not isinstance(name, str):
        return None
    fam = getattr(model, "family", None)
    if fam is None:
        found = active_catalog().find("model", name)
        if found is not None:
            fam = getattr(active_catalog().get("model", found), "family", None)
    if fam:
        return str(fam).lower()
    low = name.lower().replace("-", "").replace(" ", "")
    for key, fam in _FAMILIES:
        if key.replace(" ", "").replace("_", "") in low.replace("_", ""):
            return fam
    return None


def parse_epochs(notes) -> float | None:
    """Epochs stated in a row's notes ("90 epochs", "50-epoch runs"), or None."""
    if not isinstance(notes, str):
        return None
    m = _EPOCHS.search(notes)
    return float(m.group(1)) if m else None


@dataclass
class RowTable:
    """Measurement rows resolved to arrays (one entry per row; NaN where not usable).

    ``ok`` marks rows that can be predicted; ``reason`` says why the others cannot.
    ``group`` holds the calibration group key of each row (None when not ok).
    """

    index: pd.Index
    ok: np.ndarray
    reason: list
    model: list
    device: list
    precision: list
    phase: list
    metric: list
    framework: list
    group: list
    fwd_flops: np.ndarray      # F [FLOP per sample]
    params: np.ndarray         # P
    peak: np.ndarray           # γ_peak [FLOP/s]
    bandwidth: np.ndarray      # device memory bandwidth [B/s]
    weight_bytes: np.ndarray   # W = P · bytes(precision) [B]
    act_bytes: np.ndarray      # A: activation traffic per sample at inference [B]
    extra_s: np.ndarray        # known host-transfer time in the measured value [s] (H2D + D2H)
    n_devices: np.ndarray      # p
    batch: np.ndarray          # b
    comm_a: np.ndarray         # bandwidth part of the all-reduce at η_comm = 1 [s]
    comm_l: np.ndarray         # latency part of the all-reduce [s]
    last_a: np.ndarray         # bandwidth part of the last gradient bucket's all-reduce [s]
    last_l: np.ndarray         # latency part of the last bucket's all-reduce [s]
    overlap: np.ndarray        # fraction of the exchange that can hide behind the backward pass
    comm_key: list             # (backend, link class) of multi-device training rows, else None
    algorithm: list            # all-reduce algorithm of multi-device training rows, else None
    devices_per_node: np.ndarray  # node layout g across nodes (1: flat)
    beta_intra: np.ndarray     # intra-node link of layered rows [B/s] (else the row's link)
    alpha_intra: np.ndarray    # its latency [s]
    beta: np.ndarray           # bottleneck link bandwidth [B/s] (1.0 on one device)
    alpha: np.ndarray          # its latency [s]
    grad_bytes: np.ndarray     # bytes per gradient element [B]
    sign: np.ndarray           # s
    const: np.ndarray          # c
    value: np.ndarray          # measured value (NaN when absent)
    p99_ratio: np.ndarray      # latency_p99_ms / latency_median_ms where both are given
    kernels: np.ndarray = None  # operators per forward pass of the row's model (NaN: unknown)
    roofline: np.ndarray = None  # large-batch per-operator roofline ratio r_inf (1: FLOPs only)
    assumed: list = field(default_factory=list)  # per row: a stated assumption (a default batch), else None
    link: list = field(default_factory=list)
    backend: list = field(default_factory=list)
    source: list = field(default_factory=list)  # the row's source (publication, log file)
    unmapped: list = field(default_factory=list)
    row_models: dict = field(default_factory=dict)  # models defined by the rows' own columns
    config: np.ndarray = None  # per row: its configuration (rows of one resolve alike)
    last_bytes: np.ndarray = None  # gradient bytes still to reduce when backprop ends (None: 25 MiB buckets)

    @property
    def compute_s(self) -> np.ndarray:
        """``T_compute`` at η = 1: ``r_∞·f·F·b/γ_peak`` (f = TRAINING_FLOPS_FACTOR = 3) (training) or
        ``r_∞·F·b/γ_peak`` (inference) [s], with ``r_∞`` the model's per-operator roofline ratio
        on the row's device and precision (:func:`plaster_model.estimators.step.roofline_ratio`;
        1 where the model's operators are unknown): an efficiency is a fraction of the
        per-operator roofline."""
        from ..estimators.data_parallel import TRAINING_FLOPS_FACTOR

        factor = np.where(np.asarray(self.phase, dtype=object) == "training", TRAINING_FLOPS_FACTOR, 1.0)
        return factor * self.fwd_flops * self.batch / self.peak_effective

    @property
    def peak_effective(self) -> np.ndarray:
        """``γ_peak / r_∞`` [FLOP/s]: the FLOP rate of the per-operator roofline at efficiency 1."""
        return self.peak if self.roofline is None else self.peak / self.roofline

    def take(self, indices) -> "RowTable":
        """The rows at positions ``indices`` (repeats allowed), in that order."""
        from operator import itemgetter

        ix = np.asarray(indices, dtype=int)
        out = {}
        for name, val in self.__dict__.items():
            if name == "unmapped":
                out[name] = list(val)
            elif name == "row_models":
                out[name] = dict(val)
            elif isinstance(val, (np.ndarray, pd.Index)):
                out[name] = val[ix]
            elif isinstance(val, list) and len(val) == len(self.ok):
                out[name] = list(itemgetter(*ix)(val)) if ix.size > 1 else [val[k] for k in ix]
            else:
                out[name] = val
        return RowTable(**out)

    def subset(self, mask) -> "RowTable":
        """The rows where ``mask`` is true, in order (:meth:`take` of their positions)."""
        return self.take(np.flatnonzero(np.asarray(mask, dtype=bool)))


def _text(v) -> str | None:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return None
    s = str(v).strip()
    return s or None


def _num(v) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return math.nan
    return f


def _resolve_model(name, models, cache, flops=math.nan, params=math.nan, row_models=None):
    """(Model or None, reason). Order: ``models``, the zoo, then the row's own
    ``model_fwd_flops``/``model_params`` columns (kept in ``row_models``)."""
    from ..catalog.loader import active_catalog
    from ..catalog.objects import Model

    if name is None:
        return None, "model not given"
    key = (name, flops, params) if math.isfinite(flops) else name
    if key in cache:
        return cache[key]
    if models and name in models:
        out = (models[name], None)
    elif active_catalog().find("model", name) is not None:
        out = (active_catalog().get("model", active_catalog().find("model", name)), None)
    elif flops > 0 and params >= 1:
        m = Model(name=name, params=int(round(params)), fwd_flops=float(flops),
                  source="measurement rows (model_fwd_flops, model_params columns)")
        if row_models is not None:
            row_models.setdefault(name, m)
        out = (m, None)
    else:
        out = (None, f"model {name!r} is not in the zoo (pass models={{{name!r}: pm.Model(...)}})")
    cache[key] = out
    return out


def _resolve_device(raw, mapped, devices, cache):
    from ..catalog.loader import active_catalog

    key = (raw, mapped)
    if key in cache:
        return cache[key]
    out = (None, "device not given")
    for text in (raw, mapped):
        if text is None:
            continue
        if devices and text in devices:
            out = (devices[text], None)
            break
        if text in DEVICE_MAP:
            out = (active_catalog().get("device", DEVICE_MAP[text]), None)
            break
    else:
        for text in (mapped, raw):
            if text is None:
                continue
            canonical = active_catalog().find("device", text)
            if canonical is not None:
                out = (active_catalog().get("device", canonical), None)
                break
        else:
            shown = raw or mapped
            if shown is not None:
                out = (None, f"device {shown!r} is not in the catalog (pass devices={{{shown!r}: pm.Device(...)}})")
    cache[key] = out
    return out


def _resolve_link(raw, mapped, cache):
    """(Interconnect or None, how, unmapped text or None)."""
    from ..catalog.loader import active_catalog

    key = (raw, mapped)
    if key in cache:
        return cache[key]
    cat = active_catalog()
    out = (None, "", raw or mapped)
    for text in (raw, mapped):
        if text is not None and text in INTERCONNECT_MAP:
            name, why = INTERCONNECT_MAP[text]
            out = (cat.get("interconnect", name), f"{text!r} -> {name} ({why})", None)
            break
    else:
        for text in (mapped, raw):
            if text is None:
                continue
            canonical = cat.find("interconnect", text)
            if canonical is not None:
                out = (cat.get("interconnect", canonical), f"{raw or text!r} -> {canonical}", None)
                break
    cache[key] = out
    return out


def _host_transfer_s(df: pd.DataFrame) -> np.ndarray:
    """Measured host↔device copy time per batch [s] (``h2d_mean_ms + d2h_mean_ms``), 0 where
    not reported. A trtexec run's ``throughput_img_s`` is qps × batch, and one stream's qps is
    about 1 / (H2D + GPU compute + D2H); its ``latency_ms`` is the GPU compute time alone."""
    out = np.zeros(len(df))
    for col in ("h2d_mean_ms", "d2h_mean_ms"):
        if col in df.columns:
            v = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
            out += np.where(np.isfinite(v) & (v > 0), v, 0.0) / 1e3
    return out


def _activation_traffic(model, device, precision) -> float:
    """Activation bytes per sample the inference roofline counts for this model, exactly as
    :func:`plaster_model.inference.latency_throughput_curve` does (via
    :func:`~plaster_model.inference.api.inference_workload`), so a calibration predicts with
    the model it was fitted with."""
    try:
        from ..inference.api import inference_workload
        return float(inference_workload(model, device, precision)["activation_bytes_per_sample"])
    except (ImportError, ValueError, KeyError, TypeError):
        return 0.0


def _raise_no_rows(attrs) -> None:
    """CalibrationError for an empty table: which files held no measurement, and why."""
    from ..errors import CalibrationError

    why = [f"{f}: {reason}" for f, reason in attrs.get("layer_only", ())]
    why += [f"{f}: unreadable ({reason})" for f, reason in
            (x if isinstance(x, tuple) and len(x) == 2 else (x, "failed") for x in attrs.get("failed", ()))]
    why += [f"{f}: skipped ({reason})" for f, reason in
            (x if isinstance(x, tuple) and len(x) == 2 else (x, "not a measurement file") for x in attrs.get("skipped", ()))]
    files = attrs.get("files") or {}
    listed = {w.split(":")[0] for w in why}
    why += [f"{f}: read as {kind}, no measurement row (or a filter removed them all)"
            for f, kind in files.items() if f not in listed]
    raise CalibrationError("no measurement rows to calibrate on"
                           + (": " + "; ".join(why) if why else
                              " (an empty table: a filter left no rows, or the files hold none)")
                           + ". Calibration needs measured times or throughputs (trtexec summaries, "
                             "DLBS logs, CSV tables)"
                           + ("; per-layer profiles alone hold none" if attrs.get("layer_only") else ""))


def _shape_reason(model, nums, i) -> str | None:
    """Why a row's shape is outside the data-parallel fit, or None (issue 22: the NeuSight
    rows). A row measured at another sequence length than the model's ``seq_len`` has other
    FLOPs per sample than the model counts; tensor- and pipeline-parallel rows split the
    model, which the data-parallel fit does not model. Their rows are kept with this reason
    (the operator-level step model fits them)."""
    seq = _num(nums["seq_len"][i]) if "seq_len" in nums else math.nan
    if math.isfinite(seq):
        own = getattr(model, "seq_len", None)
        if own is None or int(own) != int(seq):
            return (f"seq_len {int(seq)} differs from the model's {own if own else 'unstated'} tokens per "
                    "sample: the FLOPs per sample this fit counts do not apply")
    for col, what in (("tensor_parallel", "tensor"), ("pipeline_parallel", "pipeline")):
        deg = _num(nums[col][i]) if col in nums else math.nan
        if math.isfinite(deg) and deg > 1:
            return f"{what}-parallel run ({col} = {int(deg)}): the data-parallel fit does not model it"
    return None


def _node_layout(text, device, link, cache):
    """:func:`plaster_model.resolution.multi_node_layout`, once per (text, device, link)."""
    from ..resolution import multi_node_layout

    key = (text, device, getattr(link, "name", None))
    if key not in cache:
        cache[key] = multi_node_layout(text, device, link)
    return cache[key]


#: Columns that hold a row's measurement (or where it was published or sits in a file), never
#: how it ran: rows
#: equal in every other column resolve alike (:func:`prepare_rows` resolves each such
#: configuration once). ``batch_per_device`` is among them: only the metric's constant and
#: the batch column depend on it, and those are set per row.
_PER_ROW_COLUMNS = frozenset({
    "value", "batch_per_device", "line", "latency_mean_ms", "latency_median_ms", "latency_min_ms",
    "latency_max_ms", "latency_p90_ms", "latency_p95_ms", "latency_p99_ms", "latency_std_ms",
    "host_latency_mean_ms", "host_latency_median_ms", "h2d_mean_ms", "d2h_mean_ms", "enqueue_mean_ms",
    "throughput_qps", "measured_power_w", "source", "source_detail", "file"})


def _configuration_keys(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(first row of each distinct configuration, configuration index of every row): rows
    equal outside :data:`_PER_ROW_COLUMNS` (and equally with or without a batch) share one."""
    df = df.copy(deep=False)
    df.attrs = {}  # (pandas deep-copies attrs on every column read)
    cols = [c for c in df.columns if c not in _PER_ROW_COLUMNS]
    b = pd.to_numeric(df["batch_per_device"], errors="coerce").to_numpy(dtype=float) \
        if "batch_per_device" in df else np.full(len(df), np.nan)
    # a 64-bit hash of each row's configuration cells (pandas hashes every missing cell
    # alike), with or without a batch: one code per distinct configuration
    h = pd.util.hash_pandas_object(df[cols], index=False).to_numpy() if cols else np.zeros(len(df), np.uint64)
    inv = pd.factorize(pd.factorize(h)[0] * 2 + (b > 0))[0].astype(np.int64)
    return np.unique(inv, return_index=True)[1], inv


def prepare_rows(df: pd.DataFrame, *, models: Mapping | None = None, devices: Mapping | None = None,
                 dataset: str = "ImageNet-1k", algorithm: str = "auto", by_framework: bool = False,
                 per: str = "device_precision", roofline: bool = True) -> RowTable:
    """Resolve every row of a measurement table (see the module docstring).

    Each distinct configuration (the row outside its measured values and its batch,
    :data:`_PER_ROW_COLUMNS`) is resolved once and its fields spread to its rows; the
    batch, the metric's constant ``c``, the measured value, the latency ratio and the
    host-transfer time are set per row.

    Parameters
    ----------
    df : pandas.DataFrame
        Measurement rows (the published CSV's columns at least).
    models, devices : mapping, optional
        User :class:`~plaster_model.Model` / :class:`~plaster_model.Device` objects by the
        name the rows use, tried before the catalog. A model found in neither is built from
        the row's optional ``model_fwd_flops`` [FLOP per sample] and ``model_params``
        columns when they are given (the runners of :mod:`plaster_model.measure` write them).
    dataset : str
        Catalog dataset for ``epoch_time_s`` and ``time_to_train_min`` rows.
    algorithm : str
        ``"auto"`` (default): each multi-device training row is modelled with its
        communication backend's algorithm and overlap
        (:func:`plaster_model.resolution.communication_backend`, read from the row's
        framework and notes). Any other name (``"tree"``, ``"ring"``, ...) models every such
        row with that algorithm, serially (the seed model's way).
    by_framework : bool
        Add the framework family to the group key.
    per : {"device_precision", "device_precision_model"}
        Group key: (device, precision, phase) or (device, precision, phase, model).
    roofline : bool
        Scale each row's compute time by its model's per-operator roofline ratio ``r_∞``
        (:func:`plaster_model.model_builders.operators.roofline_factor`; default True);
        False: FLOPs at the peak only.

    Returns
    -------
    RowTable
    """
    if len(df) == 0:  # nothing to resolve: say why, from the reading report when there is one
        _raise_no_rows(df.attrs)
    first, inv = _configuration_keys(df)
    kw = dict(models=models, devices=devices, dataset=dataset, algorithm=algorithm,
              by_framework=by_framework, per=per, roofline=roofline)
    if first.size == len(df):
        table = _prepare_configurations(df, **kw)[0]
        table.config = np.arange(len(df))
        return table
    sub = df.iloc[first]
    table, log_epochs, n_samples = _prepare_configurations(sub, counts=np.bincount(inv), **kw)
    out = table.take(inv)
    out.index = df.index
    # per row: the batch (a missing one took its configuration's documented default), the
    # measured values, the metric's constant
    b_row = pd.to_numeric(df["batch_per_device"], errors="coerce").to_numpy(dtype=float) \
        if "batch_per_device" in df else np.full(len(df), np.nan)
    out.batch = np.where(out.ok & (b_row > 0), b_row, out.batch)
    out.value = pd.to_numeric(df["value"], errors="coerce").to_numpy(dtype=float) if "value" in df \
        else np.full(len(df), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        out.p99_ratio = (_numeric(df, "latency_p99_ms") / _numeric(df, "latency_median_ms"))
    phase, metric = np.asarray(out.phase, dtype=object), np.asarray(out.metric, dtype=object)
    out.extra_s = np.where(out.ok & (phase == "inference") & (metric == "throughput_img_s"), _host_transfer_s(df), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        pb = out.n_devices * out.batch
        iters = np.ceil(n_samples / pb)
        const = np.where(metric == "throughput_img_s", np.log(pb),
                         np.where(metric == "epoch_time_s", np.log(iters),
                                  np.where(metric == "time_to_train_min", log_epochs[inv] + np.log(iters / 60.0),
                                           out.const)))
    out.const = np.where(out.ok, const, out.const)
    out.source = _texts(df, "source", _texts(df, "file", [""] * len(df)))
    out.config = inv
    return out


def _texts(df, name, fallback) -> list:
    """``_text`` of every cell of column ``name`` (each distinct cell read once), else the
    row's ``fallback``."""
    if name not in df:
        return list(fallback)
    codes, uniques = pd.factorize(df[name], use_na_sentinel=True)
    texts = np.array([_text(u) for u in uniques] + [None], dtype=object)[codes]
    return [t if t is not None else f for t, f in zip(texts.tolist(), fallback)]


def _numeric(df, name) -> np.ndarray:
    return pd.to_numeric(df[name], errors="coerce").to_numpy(dtype=float) if name in df \
        else np.full(len(df), np.nan)


def _prepare_configurations(df: pd.DataFrame, *, models=None, devices=None, dataset="ImageNet-1k",
                            algorithm="auto", by_framework=False, per="device_precision", roofline=True,
                            counts=None):
    """:func:`prepare_rows` on every row of ``df`` (one row per configuration there, row ``i``
    standing for ``counts[i]`` rows, default 1): the RowTable, log(epochs) of
    ``time_to_train_min`` rows (NaN elsewhere) and the dataset's training samples."""
    from ..catalog.loader import active_catalog
    from ..catalog.objects import BYTES_PER_ELEMENT, gradient_bytes_per_element, normalize_precision as catalog_precision
    from ..io.readers.normalize import normalize_names, precision_from_text as normalize_precision
    from ..estimators.collectives import allreduce_time
    from ..estimators.iteration import DEFAULT_BUCKET_BYTES
    from ..resolution import (communication_backend, first_layer_params, largest_variable_params, link_class,
                              node_links)
    from ..model_builders.operators import roofline_factor

    # pandas deep-copies DataFrame.attrs on every column access (__finalize__): a table from
    # read_measurements carries its reading report there, which made each of the thousands
    # of cell reads below a deep copy. The rows need none of it.
    if len(df) == 0:  # nothing to resolve: say why, from the reading report when there is one
        _raise_no_rows(df.attrs)
    df = df.copy(deep=False)
    df.attrs = {}
    df, _ = normalize_names(df)
    n = len(df)
    n_samples = active_catalog().get("dataset", dataset).train_samples
    nan = lambda: np.full(n, np.nan)  # noqa: E731
    counts = np.ones(n, dtype=int) if counts is None else np.asarray(counts, dtype=int)
    log_epochs = nan()
    F, P, peak, bw, W, kern = nan(), nan(), nan(), nan(), nan(), nan()
    roof = np.ones(n)
    A = np.zeros(n)
    extra = _host_transfer_s(df)
    p_arr, b_arr, sign, const = nan(), nan(), nan(), nan()
    beta, alpha = nan(), np.zeros(n)
    value = pd.to_numeric(df["value"], errors="coerce").to_numpy(dtype=float) if "value" in df else nan()
    with np.errstate(divide="ignore", invalid="ignore"):
        p99 = (pd.to_numeric(df["latency_p99_ms"], errors="coerce").to_numpy(dtype=float)
               / pd.to_numeric(df["latency_median_ms"], errors="coerce").to_numpy(dtype=float))
    reason, models_l, devices_l, precs, phases, metrics, fws, groups, links = ([] for _ in range(9))
    backends, comm_keys, algos = [], [], []
    overlap = np.zeros(n)
    batch_notes = [None] * n
    dpn_arr, intra_bw, intra_lat = np.ones(n), np.full(n, np.nan), np.full(n, np.nan)
    # --- issue 22 (read every row as it ran): node layout and parameter-server placement
    nics_arr, largest = np.ones(n), np.zeros(n)  # NICs per node; largest variable [params] (0: balanced)
    first = np.zeros(n)  # layer-wise reduction: the first layer's parameters, reduced last (0: the bucket rule)
    layout_notes: list = [()] * n
    ycache: dict = {}
    unmapped: dict[str, int] = {}
    mcache, dcache, lcache = {}, {}, {}
    row_models: dict = {}

    # one list per column, read once: a pandas cell read costs ~30 µs, a list index ~30 ns
    cells = {name: df[name].tolist() for name in df.columns}
    none = [None] * n
    nums = {name: cells.get(name, [math.nan] * n) for name in
            ("model_fwd_flops", "model_params", "n_devices", "batch_per_device", "devices_per_node",
             "seq_len", "tensor_parallel", "pipeline_parallel")}

    def col(name, i):
        return _text(cells.get(name, none)[i])

    for i in range(n):
        why = None
        metric = col("metric", i)
        phase = col("phase", i)
        model, mwhy = _resolve_model(col("model", i), models, mcache,
                                     _num(nums["model_fwd_flops"][i]),
                                     _num(nums["model_params"][i]),
                                     row_models)
        device, dwhy = _resolve_device(col("device_raw", i), col("device", i), devices, dcache)
        prec_text = col("precision", i)
        prec = normalize_precision(prec_text) if prec_text else "not stated"
        fw = framework_family(col("framework", i))
        p = _num(nums["n_devices"][i])
        b = _num(nums["batch_per_device"][i])
        dpn = _num(nums["devices_per_node"][i])
        link_name = None
        if metric not in SUPPORTED_METRICS:
            why = f"metric {metric!r} is not predicted (supported: {', '.join(SUPPORTED_METRICS)})"
        elif phase not in ("training", "inference"):
            why = f"phase {phase!r} is neither 'training' nor 'inference'"
        elif metric == "scaling_efficiency" and phase != "training":
            why = "scaling_efficiency is a training metric"
        elif mwhy:
            why = mwhy
        elif dwhy:
            why = dwhy
        elif (shape_why := _shape_reason(model, nums, i)):
            why = shape_why
        elif prec == "not stated":
            why = f"precision not stated ({col('precision_raw', i) or prec_text!r})"
        elif not (p >= 1):
            why = "n_devices not given"
        elif not (b > 0):
            try:
                default = default_batch(col("framework", i), fw, model.name, catalog_precision(prec), phase)
            except ValueError:
                default = None
            if default is None:
                why = "batch_per_device not given"
            else:
                b = float(default.batch)
                batch_notes[i] = (f"batch_per_device not given: {default.batch}, the documented default "
                                  f"({default.source})")
        if why is None:
            prec = catalog_precision(prec)
            try:
                peak[i] = device.peak(prec)
            except ValueError as exc:
                why = str(exc).replace("precision: ", "")
        if why is None and p > 1:
            if not (dpn >= 1):
                why = f"devices_per_node not given for a {p:g}-device run"
            else:
                link, how, miss = _resolve_link(col("interconnect_raw", i), col("interconnect", i), lcache)
                if p > dpn and dpn > 1:
                    # several nodes of several devices: the node layout of the text or of the
                    # system it names (resolution.multi_node_layout: NVLink/NVSwitch/PCIe are
                    # never the network; what the text leaves out is supplied and stated)
                    lay = _node_layout(col("interconnect_raw", i) or col("interconnect", i), device.name,
                                       link, ycache)
                    if lay.refused:
                        text = miss or col("interconnect_raw", i) or "(none)"
                        unmapped[text] = unmapped.get(text, 0) + int(counts[i])
                        why = lay.refused
                    else:
                        net = active_catalog().get("interconnect", lay.network)
                        intra_l = active_catalog().get("interconnect", lay.intra_node)
                        beta[i], alpha[i], link_name = net.bandwidth, net.latency_s, net.name
                        dpn_arr[i], intra_bw[i], intra_lat[i] = dpn, intra_l.bandwidth, intra_l.latency_s
                        nics_arr[i] = lay.nics_per_node
                        layout_notes[i] = lay.assumptions
                elif link is None:
                    text = miss or "(none)"
                    unmapped[text] = unmapped.get(text, 0) + int(counts[i])
                    why = f"interconnect {text!r} is not mapped to a catalog link"
                else:
                    beta[i], alpha[i], link_name = link.bandwidth, link.latency_s, link.name
        if why is None and metric in ("epoch_time_s", "time_to_train_min"):
            iters = math.ceil(n_samples / (p * b))
            if metric == "epoch_time_s":
                const[i] = math.log(iters)
            else:
                epochs = parse_epochs(col("notes", i))
                if epochs is None:
                    why = "time_to_train_min: the notes state no number of epochs"
                else:
                    const[i] = math.log(epochs * iters / 60.0)
                    log_epochs[i] = math.log(epochs)
            sign[i] = 1.0
        elif why is None:
            sign[i], const[i] = {
                "throughput_img_s": (-1.0, math.log(p * b)),
                "latency_ms": (1.0, math.log(1000.0)),
                "time_per_iter_s": (1.0, 0.0),
                "scaling_efficiency": (1.0, 0.0),
            }[metric]
        if why is None:
            F[i], P[i] = model.fwd_flops, float(model.params)
            kern[i] = float(model.kernels) if getattr(model, "kernels", None) else math.nan
            if roofline:
                roof[i] = roofline_factor(model, device, prec, phase,
                                          inference_engine(col("framework", i)) if phase == "inference" else None)
            bw[i] = device.memory_bandwidth
            W[i] = P[i] * BYTES_PER_ELEMENT[prec]
            if phase == "inference" and not roofline:
                # (with the per-operator roofline, r_∞ holds every operator's activation traffic)
                A[i] = _activation_traffic(model, device, prec)
            p_arr[i], b_arr[i] = p, b
            key = (device.name, prec, phase)
            if by_framework:
                key += (fw,)
            elif phase == "inference":
                # the engine and whether a server answered (its own population: issue 22)
                key += (inference_engine(col("framework", i), col("notes", i), col("engine_mode", i)),)
            if per == "device_precision_model":
                key += (model.name,)
            groups.append(key)
        else:
            groups.append(None)
            sign[i] = const[i] = math.nan
        be = None
        if why is None and phase == "training" and p > 1:
            be, be_why = communication_backend(col("framework", i), col("notes", i), multi_node=p > dpn)
            overlap[i] = be.overlap
            if be.servers_on == "host" and p <= dpn and getattr(device, "host_link", None):
                # parameter servers in host memory: inside a node the exchange crosses each
                # device's host link (PCIe), not the GPU-to-GPU link the row names
                host = active_catalog().get("interconnect", device.host_link)
                beta[i], alpha[i], link_name = host.bandwidth, host.latency_s, host.name
            if be.placement == "largest":
                # whole variables per server: the largest one sits on one server (0: unknown)
                largest[i] = largest_variable_params(model) or 0.0
            if be.last_bucket == "first_layer":
                first[i] = first_layer_params(model) or 0.0
        backends.append(be.name if be is not None else None)
        algos.append(be.algorithm if be is not None else None)
        comm_keys.append((be.name, link_class(link_name, " ".join(filter(None, (
            col("interconnect_raw", i), col("notes", i)))))) if be is not None else None)
        reason.append(why)
        models_l.append(model.name if model is not None else None)
        devices_l.append(device.name if device is not None else None)
        precs.append(prec)
        phases.append(phase)
        metrics.append(metric)
        fws.append(fw)
        links.append(link_name)

    ok = np.array([r is None for r in reason], dtype=bool)
    if algorithm not in (None, "auto"):
        from ..estimators.collectives import normalize_algorithm

        forced = normalize_algorithm(algorithm)
        algos = [forced if a is not None else None for a in algos]
        overlap[:] = 0.0
    # The all-reduce of each row with its backend's algorithm, at η_comm = 1 and at twice the
    # bandwidth: every α-β formula is T = A/η_comm + L, so the two give A and L (for "auto",
    # a minimum over candidates, the candidate chosen at the nominal bandwidth).
    comm_a, comm_l, last_a, last_l = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    last_bytes = np.full(n, float(DEFAULT_BUCKET_BYTES))
    multi = ok & (p_arr > 1) & np.array([a is not None for a in algos])
    bytes_per = np.array([gradient_bytes_per_element(catalog_precision(q)) if m else 4.0
                          for q, m in zip(precs, ok)])
    # the links in force at p devices, by the resolution layer's one rule: a row's own link
    # inside one node; across nodes the row's link is the network and the node's devices
    # share PCIe (set above)
    spans = dpn_arr > 1
    links_at = node_links(np.where(multi, p_arr, 1.0), np.where(spans, dpn_arr, np.maximum(p_arr, 1.0)),
                          np.where(spans, intra_bw, beta), np.where(spans, intra_lat, alpha),
                          beta, alpha, nics_arr)
    beta = np.where(multi, links_at["beta"], 1.0)
    alpha = np.where(multi, links_at["alpha"], 0.0)
    layout = {k: np.where(multi, links_at[k], v) for k, v in
              (("devices_per_node", 1.0), ("beta_intra", 1.0), ("alpha_intra", 0.0))}
    w = np.where(multi, P, 0.0) * bytes_per
    for algo in sorted({a for a, m in zip(algos, multi) if m}):
        m = multi & (np.asarray(algos, dtype=object) == algo)
        topo = {"devices_per_node": layout["devices_per_node"][m], "nics_per_node": nics_arr[m],
                "beta_intra": layout["beta_intra"][m], "alpha_intra": layout["alpha_intra"][m]}
        if algo == "parameter_server":
            topo.update(placement="largest", largest_bytes=largest[m] * bytes_per[m])
        # what is left when backprop ends: the last 25 MiB bucket, or (layer-wise reduction)
        # the first layer's gradient (estimators.overlap.pipelined_exposed_time's last term)
        last = last_bytes[m] = np.where(first[m] > 0, first[m] * bytes_per[m], np.minimum(w[m], DEFAULT_BUCKET_BYTES))
        for size, out_a, out_l in ((w[m], comm_a, comm_l), (last, last_a, last_l)):
            t1 = allreduce_time(algo, size, p_arr[m], beta[m], alpha[m], **topo)
            t2 = allreduce_time(algo, size, p_arr[m], 2.0 * beta[m], alpha[m],
                                **{**topo, "beta_intra": 2.0 * topo["beta_intra"]})
            out_a[m] = 2.0 * (t1 - t2)
            out_l[m] = t1 - out_a[m]
    sources = [col("source", i) or col("file", i) or "" for i in range(n)]
    table = RowTable(index=df.index, ok=ok, reason=reason, model=models_l, device=devices_l, source=sources,
                    precision=precs, phase=phases, metric=metrics, framework=fws, group=groups,
                    fwd_flops=F, params=P, peak=peak, bandwidth=bw, weight_bytes=W, act_bytes=A,
                    extra_s=np.where(ok & (np.asarray(phases, dtype=object) == "inference")
                                     & (np.asarray(metrics, dtype=object) == "throughput_img_s"), extra, 0.0),
                    n_devices=p_arr, batch=b_arr, kernels=kern, roofline=roof,
                    assumed=["; ".join(x for x in (bn, *ln) if x) or None for bn, ln in zip(batch_notes, layout_notes)],
                    comm_a=comm_a, comm_l=comm_l, last_a=last_a,
                    last_l=last_l, last_bytes=last_bytes, overlap=np.where(multi, overlap, 0.0),
                    comm_key=[k if m else None for k, m in zip(comm_keys, multi)], backend=backends,
                    algorithm=[a if m else None for a, m in zip(algos, multi)],
                    devices_per_node=layout["devices_per_node"], beta_intra=layout["beta_intra"],
                    alpha_intra=layout["alpha_intra"], beta=beta,
                    alpha=alpha, grad_bytes=bytes_per, sign=sign,
                    const=const, value=value, p99_ratio=p99, link=links, row_models=row_models,
                    unmapped=[{"interconnect": k, "n_rows": v} for k, v in unmapped.items()])
    return table, log_epochs, n_samples
