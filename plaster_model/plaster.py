"""The PLASTER scorecard: seven deployability dimensions of a model on candidate devices.

PLASTER (TIRIAS Research for NVIDIA, 2018): **P**rogrammability, **L**atency, **A**ccuracy,
**S**ize of model, **T**hroughput, **E**nergy efficiency, **R**ate of learning.
:func:`plaster_report` answers them for one model on several devices and precisions, one
tidy row per (device, precision); the single-dimension helpers (:func:`programmability`,
:func:`published_accuracy`, :func:`rate_of_learning`, and
:func:`~plaster_model.inference.best_batch`, :func:`~plaster_model.inference.model_footprint`)
are public too.

References
----------
.. [1] TIRIAS Research, "PLASTER: A Framework for Deep Learning Performance", 2018.
.. [2] N. P. Jouppi et al., "In-Datacenter Performance Analysis of a Tensor Processing Unit",
   ISCA 2017 (the 7 ms latency target of production inference).
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Mapping

from .catalog.loader import active_catalog
from .catalog.objects import normalize_precision
from .cluster import Cluster
from .inference.api import (UnknownLatencyDistribution, best_batch, latency_throughput_curve,
                            model_footprint)
from .errors import MemoryFitError, ParameterError, ParameterTypeError
from .units import format_si, to_si

__all__ = ["plaster_report", "programmability", "published_accuracy", "rate_of_learning",
           "default_training_cluster", "training_recipe", "throughput_unit", "compact_table",
           "NOT_PUBLISHED", "NOT_KNOWN", "PLASTER_COLUMNS", "TRAINING_RECIPES"]

#: What the report says where the zoo has no published accuracy (never an invented number).
NOT_PUBLISHED = "not published"

#: Columns of :func:`plaster_report`, in order, grouped by dimension.
PLASTER_COLUMNS = [
    "model", "device", "precision",
    "programmability_supported", "programmability_precisions", "programmability_frameworks",
    "latency_budget_s", "latency_statistic", "latency_s", "latency_low_s", "latency_high_s",
    "latency_batch1_s", "latency_meets_budget",
    "accuracy_top1_pct", "accuracy_top5_pct", "accuracy_top1_drop_vs_fp32_pct", "accuracy_source",
    "size_params", "size_weight_bytes", "size_memory_needed_bytes", "size_device_memory_bytes",
    "size_fits_in_memory", "size_weight_transfer_time_s", "size_transfer_link",
    "throughput_batch", "throughput_samples_s", "throughput_unit", "throughput_bound", "throughput_limited_by",
    "energy_power_w", "energy_power_source", "energy_per_inference_j", "energy_inferences_per_j",
    "rate_of_learning_cluster", "rate_of_learning_dataset", "rate_of_learning_epochs",
    "rate_of_learning_precision", "rate_of_learning_training_time_s",
    "rate_of_learning_refreshes_per_day",
    "basis", "note",
]

_SECONDS_PER_DAY = 86400.0

#: What the report says where a figure is not known (rate of learning without a recipe).
NOT_KNOWN = "not known"

#: Retraining recipes by the zoo's ``task``: (dataset, epochs, source). A model whose task is
#: not here has no rate of learning unless ``dataset=`` and ``epochs=`` are given.
TRAINING_RECIPES = {
    "image classification": ("ImageNet-1k", 90, "90 epochs of ImageNet-1k (He et al., CVPR 2016; Goyal et al., "
                                               "arXiv:1706.02677, 2017)"),
    "language model (SQuAD question answering)": (
        "SQuAD v1.1", 3, "fine-tuning, 3 epochs of SQuAD v1.1 (Devlin et al., NAACL 2019, section 4.2)"),
}


def training_recipe(model) -> tuple[str, float, str] | None:
    """``(dataset, epochs, source)`` of retraining ``model`` (:data:`TRAINING_RECIPES` by its
    task), or None when the zoo has none (GPT-2's WebText is not in the catalog).

    Examples
    --------
    >>> training_recipe("BERT-base")[:2]
    ('SQuAD v1.1', 3)
    >>> training_recipe("GPT-2") is None
    True
    """
    m = active_catalog().get("model", model)
    return TRAINING_RECIPES.get(m.task)


def throughput_unit(model) -> str:
    """The unit of a sample per second in the model's own words: ``"img/s"`` for image models,
    ``"seq/s"`` for sequence models (a sample is one sequence of ``seq_len`` tokens),
    else ``"samples/s"``.

    >>> throughput_unit("ResNet-50"), throughput_unit("BERT-base"), throughput_unit("DLRM (Criteo 1TB)")
    ('img/s', 'seq/s', 'samples/s')
    """
    m = active_catalog().get("model", model)
    if m.seq_len:
        return "seq/s"
    if "image" in (m.task or "") or len(m.input_shape) == 3:
        return "img/s"
    return "samples/s"


# --------------------------------------------------------------------------- P
def programmability(device) -> dict[str, tuple[str, ...]]:
    """Precisions (with a published peak) and frameworks a device supports, from the catalog.

    Parameters
    ----------
    device : str or Device
        Catalog name or a :class:`~plaster_model.Device`.

    Returns
    -------
    dict
        ``precisions`` (names of :data:`plaster_model.PRECISIONS`), ``frameworks``.

    Examples
    --------
    >>> import plaster_model as pm
    >>> pm.programmability("T4")["precisions"]
    ('fp32', 'fp16', 'mixed', 'int8')
    """
    dev = active_catalog().get("device", device)
    return {"precisions": tuple(dev.precisions), "frameworks": tuple(dev.frameworks)}


# --------------------------------------------------------------------------- A
def published_accuracy(model, precision="fp32", metric="top1"):
    """Published accuracy of ``model`` at ``precision`` [%], or ``"not published"``.

    Values come only from the zoo's accuracy records (e.g. the PLASTER whitepaper's TensorRT
    FP32 → INT8 ImageNet top-1); nothing is interpolated or borrowed from another precision.

    Parameters
    ----------
    model : str or Model
        Zoo name or a :class:`~plaster_model.Model`.
    precision : str
        Precision of the record (``"fp32"``, ``"int8"``, ...).
    metric : {"top1", "top5"}
        Accuracy metric.

    Returns
    -------
    float or str
        The accuracy [%], or :data:`NOT_PUBLISHED` (``plaster_report`` puts NaN in its numeric
        columns instead).

    Examples
    --------
    >>> import plaster_model as pm
    >>> pm.published_accuracy("ResNet-50", "int8")
    72.54
    >>> pm.published_accuracy("ResNet-50", "fp16")
    'not published'
    """
    m = active_catalog().get("model", model)
    value = m.accuracy_for(precision, metric)
    return NOT_PUBLISHED if value is None else float(value)


def _number(value) -> float:
    """A published figure as a float, NaN for :data:`NOT_PUBLISHED` (numeric columns hold no text)."""
    return float(value) if isinstance(value, (int, float)) else math.nan


def _accuracy_source(model, precision, metric="top1") -> str:
    prec = normalize_precision(precision)
    for rec in model.accuracy_records:
        if rec.get("precision") == prec and rec.get("metric") == metric:
            parts = [str(rec[k]) for k in ("engine", "dataset", "source") if rec.get(k)]
            return ", ".join(parts)
    return NOT_PUBLISHED


# --------------------------------------------------------------------------- R
def default_training_cluster(device) -> tuple[Cluster, str]:
    """The training cluster assumed for retraining when none is given.

    One node of the same device: the catalog system built around it when there is one
    (``"V100"`` → one DGX-1 (V100), 8 GPUs over NVLink 2); else 8 devices joined by the
    device's host link (``"T4"`` → 8 × T4 over PCIe 3.0 x16); else (no host link in the
    catalog) a single device.

    Parameters
    ----------
    device : str or Device
        The inference device whose model is retrained.

    Returns
    -------
    (Cluster, str)
        The cluster and a sentence saying how it was chosen.

    Examples
    --------
    >>> import plaster_model as pm
    >>> cluster, how = pm.default_training_cluster("V100")
    >>> cluster.n_devices, cluster.intra_node.name
    (8, 'NVLink 2')
    """
    cat = active_catalog()
    dev = cat.get("device", device)
    for sys_ in cat.entries["system"].values():
        if cat.get("device", sys_.device).name == dev.name:
            return (Cluster.from_system(sys_.name, n_nodes=1),
                    f"default training cluster: one {sys_.name} node ({sys_.devices_per_node} × {dev.name} "
                    f"over {sys_.intra_node})")
    if dev.host_link is not None:
        return (Cluster(dev, n_devices=8, devices_per_node=8, intra_node=dev.host_link),
                f"default training cluster: one node of 8 × {dev.name} over its host link {dev.host_link}")
    return (Cluster(dev, n_devices=1),
            f"default training cluster: a single {dev.name} (no catalog system or host link to join 8)")


def rate_of_learning(model, device=None, training_cluster=None, epochs=None, dataset=None,
                     batch_per_device=32, precision=None, calibration=None) -> dict[str, Any]:
    """Retraining time and how many refreshes fit in a day.

    ``T_train = epochs · ceil(N / B) · T_iter`` (:func:`plaster_model.predict_epoch_time`,
    data-parallel, weak scaling) and ``refreshes/day = 86400 s / T_train``.

    Parameters
    ----------
    model : str or Model
    device : str or Device, optional
        Used for the default cluster (:func:`default_training_cluster`) when
        ``training_cluster`` is None.
    training_cluster : Cluster, optional
    epochs : float, optional
        Passes over the dataset per retraining (default: the model's recipe,
        :func:`training_recipe`: 90 for ImageNet classifiers, 3 for BERT on SQuAD).
    dataset : str or int, optional
        Catalog dataset or sample count (default: the model's recipe). A model with no
        recipe and no ``dataset``/``epochs`` gets NaN times and a note saying so.
    batch_per_device : int
        Training batch per device; when it does not fit in device memory the largest that
        fits is used instead (said in the assumptions).
    precision : str, optional
        Training precision; default fp32 where the device has it, else ``mixed``.
    calibration : Calibration, optional
        Used for the training efficiency when it has training parameters for the cluster;
        otherwise peak-based (stated).

    Returns
    -------
    dict
        ``training_time_s`` [s], ``refreshes_per_day`` [1/day], ``cluster``, ``dataset``,
        ``epochs``, ``precision``, ``calibrated`` (bool), ``assumptions`` (list of str).

    Examples
    --------
    >>> import plaster_model as pm
    >>> r = pm.rate_of_learning("ResNet-50", "V100", epochs=90)
    >>> r["cluster"], r["refreshes_per_day"] > 1
    ('8× V100, NVLink 2', True)
    """
    from .estimators.memory import max_batch_that_fits
    from .errors import MemoryFitError
    from .training import MemoryWarning, predict_epoch_time

    notes = []
    recipe = training_recipe(model)
    if dataset is None or epochs is None:
        if recipe is None:
            m = active_catalog().get("model", model)
            return {"training_time_s": math.nan, "refreshes_per_day": math.nan, "cluster": NOT_KNOWN,
                    "dataset": NOT_KNOWN if dataset is None else str(dataset),
                    "epochs": math.nan if epochs is None else float(epochs), "precision": NOT_KNOWN,
                    "calibrated": False,
                    "assumptions": [f"rate of learning not known: the zoo has no training recipe for {m.name} "
                                    f"(task {m.task!r}); pass dataset= and epochs="]}
        notes.append(f"retraining recipe: {recipe[2]}")
        dataset = recipe[0] if dataset is None else dataset
        epochs = recipe[1] if epochs is None else epochs
    if training_cluster is None:
        if device is None:
            raise ParameterError("training_cluster", None,
                                 message="rate_of_learning: give training_cluster= or a device for the default cluster")
        training_cluster, how = default_training_cluster(device)
        notes.append(how)
    elif not isinstance(training_cluster, Cluster):
        raise ParameterTypeError("training_cluster", training_cluster,
                                 message=f"training_cluster must be a plaster_model.Cluster, got {type(training_cluster).__name__}")
    dev = training_cluster.device
    if precision is None:
        precision = "fp32" if "fp32" in dev.precisions else ("mixed" if "mixed" in dev.precisions else dev.precisions[0])
        notes.append(f"training precision {precision} (default: fp32 where the device has it, else mixed)")
    precision = normalize_precision(precision)
    calibrated = False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MemoryWarning)
        pred = None
        if calibration is not None:
            try:
                pred = predict_epoch_time(model, training_cluster, dataset=dataset, epochs=epochs,
                                          batch_per_device=batch_per_device, precision=precision,
                                          calibration=calibration)
                calibrated = True
            except LookupError as exc:
                notes.append(f"calibration has no training parameters for {training_cluster.name} ({exc}): "
                             "peak-based training time")
        if pred is None:
            try:
                pred = predict_epoch_time(model, training_cluster, dataset=dataset, epochs=epochs,
                                          batch_per_device=batch_per_device, precision=precision)
            except MemoryFitError as exc:
                try:
                    fits = max_batch_that_fits(model, dev, precision)
                except ValueError:  # no activation figure: no smaller batch to offer
                    fits = 0
                if fits < 1:
                    raise
                notes.append(f"training batch {batch_per_device:g} per device does not fit ({exc}); "
                             f"retraining at {fits} per device, the largest that fits")
                pred = predict_epoch_time(model, training_cluster, dataset=dataset, epochs=epochs,
                                          batch_per_device=fits, precision=precision)
    notes += [f"training memory: {w.message}" for w in caught if issubclass(w.category, MemoryWarning)]
    t = pred.epoch_time_s
    return {"training_time_s": t, "refreshes_per_day": _SECONDS_PER_DAY / t, "cluster": pred.cluster,
            "dataset": pred.dataset, "epochs": pred.epochs, "precision": precision,
            "calibrated": calibrated, "assumptions": notes + list(pred.assumptions)}


# --------------------------------------------------------------------------- report
def _cluster_for(training_cluster, device):
    if training_cluster is None or isinstance(training_cluster, Cluster):
        return training_cluster
    if isinstance(training_cluster, Mapping):
        for key, value in training_cluster.items():
            if active_catalog().get("device", key).name == device.name:
                return value
        return None
    raise ParameterTypeError("training_cluster", None,
                             message="training_cluster must be a Cluster, a {device: Cluster} mapping or None")


def plaster_report(model, devices, latency_budget="7 ms", precision="fp32", calibration=None,
                   training_cluster=None, *, percentile=None, batches=None, max_batch=4096,
                   epochs=None, dataset=None, training_batch_per_device=32,
                   training_precision=None, serving=None, **kwargs):
    """Score ``model`` on each device and precision along the seven PLASTER dimensions.

    With ``serving=`` (a dict of :func:`~plaster_model.serving.report.serving_plaster_report`
    arguments: ``ttft_budget``, ``tpot_budget``, ``n_devices``, ``input_len``, ``output_len``,
    ``engine``, ``power_w``...) an LLM is scored as a service instead: latency as TTFT/TPOT,
    throughput in tokens/s, energy in joules per output token (columns
    :data:`~plaster_model.serving.report.SERVING_PLASTER_COLUMNS`).

    One row per (device, precision). Per dimension:

    * **Programmability** — precisions with a published peak and frameworks (catalog).
    * **Latency** — latency at the best batch within ``latency_budget``, and at batch 1 [s]
      (:func:`~plaster_model.inference.best_batch`).
    * **Accuracy** — published top-1 / top-5 at the precision [%] and the top-1 drop from
      fp32 [percentage points], or ``"not published"``.
    * **Size** — parameters, weight bytes at the precision, memory needed at the best batch,
      whether it fits, weight load time over the host link [s].
    * **Throughput** — samples/s delivered within the budget (0 when batch 1 misses).
    * **Energy** — power [W] (board TDP or measured), J per inference, inferences per J.
    * **Rate of learning** — retraining time on a training cluster and refreshes per day.

    Pairs the device does not support (no peak for the precision) are kept as rows with the
    programmability, accuracy and size columns filled, the rest NaN and a ``note``; the
    report never fails for them.

    Parameters
    ----------
    model : str or Model
    devices : str, Device or list of them
    latency_budget : float or str
        [s] or ``"7 ms"``.
    precision : str or list of str
    calibration : Calibration, optional
        Inference parameters per (device, precision) (see
        :func:`~plaster_model.inference.latency_throughput_curve`); training parameters for
        the rate of learning when it has them.
    training_cluster : Cluster or mapping of device name to Cluster, optional
        Where retraining runs (default :func:`default_training_cluster` per device).
    percentile : float, optional
        Judge the budget at this latency percentile (needs a known tail ratio).
    batches, max_batch :
        Candidate batches (default every integer up to ``max_batch``).
    epochs, dataset, training_batch_per_device, training_precision :
        Retraining job (default the model's own recipe, :func:`training_recipe`: 90 epochs of
        ImageNet-1k for image classifiers, 3 epochs of SQuAD v1.1 for BERT; "not known"
        and NaN for a model without one; 32 per device, fp32 or mixed).
    serving : dict, optional
        Score the LLM as a service (see above); ``precision`` and ``calibration`` are passed
        on, ``latency_budget`` is not used (give ``ttft_budget``/``tpot_budget``).
    **kwargs
        Passed to :func:`~plaster_model.inference.best_batch` (``compute_efficiency``,
        ``t0``, ``include_transfer``, ``power_w``, ``percentile_ratio``...).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`PLASTER_COLUMNS` (units in the names: ``_s``, ``_j``, ``_w``,
        ``_bytes``, ``_pct``, ``_samples_s``, ``_per_j``, ``_per_day``). ``basis`` says which
        numbers are calibrated, peak-based, published or from the catalog; ``note`` holds
        caveats. ``df.attrs["assumptions"]`` maps ``"device/precision"`` to the assumption list.

    Examples
    --------
    >>> import plaster_model as pm
    >>> df = pm.plaster_report("ResNet-50", ["T4", "V100"], precision=["fp32", "int8"])
    >>> df[["device", "precision", "programmability_supported"]].values.tolist()
    [['T4', 'fp32', True], ['T4', 'int8', True], ['V100', 'fp32', True], ['V100', 'int8', False]]
    >>> import math   # no published top-5 for ResNet-50: NaN, and accuracy_source says so
    >>> float(df.loc[3, "accuracy_top1_pct"]), math.isnan(df.loc[2, "accuracy_top5_pct"])
    (72.54, True)
    """
    import numpy as np
    import pandas as pd

    if serving is not None:
        if not isinstance(serving, Mapping):
            raise ParameterTypeError("serving", serving, "a dict of serving_plaster_report arguments")
        from .serving.report import serving_plaster_report  # noqa: PLC0415
        prec = serving.get("precision", ("bf16", "fp8", "fp4") if precision == "fp32" else precision)
        return serving_plaster_report(model, devices, **{**dict(serving), "precision": prec,
                                                          "calibration": serving.get("calibration", calibration)})
    cat = active_catalog()
    mdl = cat.get("model", model)
    budget = float(to_si(latency_budget, "time", name="latency_budget"))
    if not (math.isfinite(budget) and budget > 0):
        raise ParameterError("latency_budget", latency_budget, "a positive finite time, e.g. '7 ms'")
    if isinstance(devices, (str, bytes)) or not hasattr(devices, "__iter__"):
        devices = [devices]
    devs = [cat.get("device", d) for d in devices]
    if not devs:
        raise ParameterError("devices", devices, message="devices: give at least one device")
    precs = [precision] if isinstance(precision, str) else list(precision)
    precs = list(dict.fromkeys(normalize_precision(p) for p in precs))
    if not precs:
        raise ParameterError("precision", precision, message="precision: give at least one precision")

    rows, all_assumptions = [], {}
    rol_cache: dict[str, dict] = {}
    for dev in devs:
        prog = programmability(dev)
        for prec in precs:
            row = dict.fromkeys(PLASTER_COLUMNS, np.nan)
            notes: list[str] = []
            fp = model_footprint(mdl, dev, prec)
            # numeric columns hold NaN where nothing is published (accuracy_source says so)
            top1 = _number(published_accuracy(mdl, prec, "top1"))
            fp32_top1 = _number(published_accuracy(mdl, "fp32", "top1"))
            drop = round(fp32_top1 - top1, 6) if math.isfinite(top1) and math.isfinite(fp32_top1) else math.nan
            row.update(
                model=mdl.name, device=dev.name, precision=prec,
                programmability_supported=prec in prog["precisions"],
                programmability_precisions=", ".join(prog["precisions"]),
                programmability_frameworks=", ".join(prog["frameworks"]) or "not listed",
                latency_budget_s=budget,
                accuracy_top1_pct=top1, accuracy_top5_pct=_number(published_accuracy(mdl, prec, "top5")),
                accuracy_top1_drop_vs_fp32_pct=drop, accuracy_source=_accuracy_source(mdl, prec),
                size_params=mdl.params, size_weight_bytes=fp["weight_bytes"],
                size_device_memory_bytes=fp["device_memory_bytes"],
                size_weight_transfer_time_s=fp["weight_transfer_time_s"],
                size_transfer_link=fp["transfer_link"],
            )
            if prec not in prog["precisions"]:
                row["note"] = (f"not predicted: device {dev.name!r} has no published {prec} peak "
                               f"(supports {', '.join(prog['precisions'])})")
                row["basis"] = "programmability/size: catalog; accuracy: published; rest not predicted"
                rows.append(row)
                continue
            basis = []
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", UserWarning)
                    bb = best_batch(mdl, dev, budget, prec, batches=batches, calibration=calibration,
                                    percentile=percentile, max_batch=max_batch, **kwargs)
                    b1 = latency_throughput_curve(mdl, dev, prec, batches=[1], calibration=calibration,
                                                  latency_percentile=percentile, **kwargs)
                notes += list(dict.fromkeys(str(w.message) for w in caught))
            except UnknownLatencyDistribution as exc:
                row["note"] = f"latency not predicted: {exc}"
                row["basis"] = "programmability/size: catalog; accuracy: published"
                rows.append(row)
                continue
            except MemoryFitError as exc:  # not even the smallest batch fits: infeasible, no number
                row.update(size_fits_in_memory=False, size_memory_needed_bytes=exc.need_bytes,
                           note=f"infeasible: {exc}",
                           basis="programmability/size: catalog; accuracy: published; rest not predicted")
                rows.append(row)
                continue
            all_assumptions[f"{dev.name}/{prec}"] = list(bb.assumptions)
            lo, hi = bb.latency_interval_s if bb.latency_interval_s else (np.nan, np.nan)
            fp_b = model_footprint(mdl, dev, prec, batch=max(bb.batch, 1))
            row.update(
                latency_statistic=bb.latency_statistic, latency_s=bb.latency_s, latency_low_s=lo,
                latency_high_s=hi, latency_batch1_s=float(b1.loc[0, "latency_s"]), latency_meets_budget=bb.meets_budget,
                size_memory_needed_bytes=fp_b["memory_needed_bytes"], size_fits_in_memory=fp_b["fits_in_memory"],
                throughput_batch=bb.batch, throughput_samples_s=bb.throughput_samples_s,
                throughput_unit=throughput_unit(mdl),
                throughput_bound=bb.bound, throughput_limited_by=bb.limited_by,
                energy_power_w=bb.power_w,
                energy_power_source=bb.power_source,
                energy_per_inference_j=bb.energy_per_inference_j, energy_inferences_per_j=bb.inferences_per_j,
            )
            if not bb.meets_budget:
                notes.append(bb.message)
            if bb.calibrated:
                perf = "calibrated"
            elif any(kwargs.get(k) is not None for k in ("compute_efficiency", "memory_efficiency", "t0")):
                perf = "given efficiencies/overhead"
            else:
                perf = "peak-based (efficiency 1.0, t0 = 0: a lower bound on latency)"
            basis.append(f"latency/throughput/energy: {perf}; power: {bb.power_source}")
            # rate of learning (shared by the precisions of one device)
            cl = _cluster_for(training_cluster, dev)
            key = f"{dev.name}|{id(cl)}"
            if key not in rol_cache:
                try:
                    rol_cache[key] = rate_of_learning(mdl, dev, cl, epochs=epochs, dataset=dataset,
                                                      batch_per_device=training_batch_per_device,
                                                      precision=training_precision, calibration=calibration)
                except MemoryFitError as exc:  # not even one sample fits: no retraining time
                    rol_cache[key] = {"training_time_s": math.nan, "refreshes_per_day": math.nan,
                                      "cluster": NOT_KNOWN, "dataset": NOT_KNOWN, "epochs": math.nan,
                                      "precision": NOT_KNOWN, "calibrated": False,
                                      "assumptions": [f"rate of learning not known: training memory: {exc}"]}
            rol = rol_cache[key]
            row.update(rate_of_learning_cluster=rol["cluster"], rate_of_learning_dataset=rol["dataset"],
                       rate_of_learning_epochs=rol["epochs"], rate_of_learning_precision=rol["precision"],
                       rate_of_learning_training_time_s=rol["training_time_s"],
                       rate_of_learning_refreshes_per_day=rol["refreshes_per_day"])
            basis.append("rate_of_learning: " + (NOT_KNOWN if not math.isfinite(rol["training_time_s"]) else
                                                 "calibrated" if rol["calibrated"] else "peak-based (efficiency 1.0)"))
            notes += [x for x in rol["assumptions"]
                      if x.startswith(("default training cluster", "training memory:", "calibration has no",
                                       "rate of learning not known", "retraining recipe", "training batch"))]
            basis.append("accuracy: " + ("published" if math.isfinite(top1) else NOT_PUBLISHED))
            basis.append("programmability/size: catalog")
            row["basis"] = "; ".join(basis)
            row["note"] = "; ".join(notes) if notes else ""
            rows.append(row)
    df = pd.DataFrame(rows, columns=PLASTER_COLUMNS)
    df["throughput_batch"] = df["throughput_batch"].astype("Int64")
    df["size_params"] = df["size_params"].astype("int64")
    df.attrs["assumptions"] = all_assumptions
    df.attrs["latency_budget"] = format_si(budget, "s")
    return df


#: The columns of :func:`compact_table`: one per PLASTER dimension, units in the headers.
_COMPACT = [
    ("device", "device"), ("precision", "precision"),
    ("P: precisions", "programmability_precisions"),
    ("L: latency [ms]", "latency_s"),
    ("A: top-1 [%]", "accuracy_top1_pct"),
    ("S: weights [MB]", "size_weight_bytes"),
    ("T: throughput", "throughput_samples_s"),
    ("E: inferences/J", "energy_inferences_per_j"),
    ("R: retraining [h]", "rate_of_learning_training_time_s"),
]


def compact_table(report):
    """One readable column per PLASTER dimension of a :func:`plaster_report`, as text.

    Latency in ms, weights in MB, retraining in hours, throughput in the model's own unit
    (img/s, seq/s); "not published", "not known" and "not predicted" spelled out, never 0.

    Examples
    --------
    >>> import plaster_model as pm
    >>> t = compact_table(pm.plaster_report("ResNet-50", "V100", precision=["fp32", "fp16"]))
    >>> list(t["A: top-1 [%]"])
    ['73.11', 'not published']
    """
    import pandas as pd

    def fmt(col, v, row):
        if col in ("device", "precision", "programmability_precisions"):
            return str(v)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            if col == "accuracy_top1_pct":
                return NOT_PUBLISHED
            if not row["programmability_supported"]:
                return "not predicted"
            return NOT_KNOWN if col.startswith("rate_of_learning") else "-"
        scale = {"latency_s": 1e3, "size_weight_bytes": 1e-6, "rate_of_learning_training_time_s": 1 / 3600}
        v = float(v) * scale.get(col, 1.0)
        if col == "throughput_samples_s":
            return f"{v:,.1f} {row.get('throughput_unit') or 'samples/s'}"
        return f"{v:,.4g}" if abs(v) < 1e4 else f"{v:,.0f}"

    out = {head: [fmt(col, r[col], r) for _, r in report.iterrows()] for head, col in _COMPACT}
    return pd.DataFrame(out)
