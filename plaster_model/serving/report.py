"""PLASTER scorecard of LLM services: latency as TTFT/TPOT, throughput in tokens/s, energy per token.

:func:`serving_plaster_report` answers the PLASTER questions (TIRIAS Research 2018) for a
language model served on ``n_devices`` GPUs, one tidy row per (device, precision), at the
deployment :func:`~plaster_model.best_serving` finds with the highest output tokens/s per GPU
within the TTFT and TPOT budgets (the "throughput within a latency budget" question for LLMs).
:func:`plaster_model.plaster_report` calls it when given ``serving=``.

Energy per output token is ``E = P·G / X`` [J/token] for ``G`` GPUs drawing ``P`` W each
while the deployment delivers ``X`` output tokens/s (:func:`energy_per_token`); the power is
the catalog's board power (TDP, an upper bound on the draw, so the energy is pessimistic)
unless ``power_w`` is given. Accuracy is the zoo's published record at the precision, else
``"not published"`` (NaN in the numeric column, never 0).
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import ParameterError

__all__ = ["serving_plaster_report", "energy_per_token", "SERVING_PLASTER_COLUMNS"]

#: Columns of :func:`serving_plaster_report`, grouped by PLASTER dimension.
SERVING_PLASTER_COLUMNS = [
    "model", "device", "precision", "engine", "n_devices", "input_len", "output_len",
    "programmability_supported", "programmability_precisions", "programmability_frameworks",
    "latency_ttft_budget_s", "latency_tpot_budget_s", "latency_ttft_s", "latency_ttft_low_s",
    "latency_ttft_high_s", "latency_tpot_s", "latency_tpot_low_s", "latency_tpot_high_s",
    "latency_request_s", "latency_meets_budget",
    "accuracy_pct", "accuracy_metric", "accuracy_source",
    "size_params", "size_weight_bytes", "size_weight_bytes_per_gpu", "size_kv_cache_bytes_per_gpu",
    "size_memory_bytes_per_gpu", "size_device_memory_bytes", "size_kv_capacity_requests",
    "throughput_tokens_s", "throughput_tokens_s_per_gpu", "throughput_tokens_s_per_user",
    "throughput_concurrency", "throughput_layout", "throughput_bound",
    "energy_power_w", "energy_power_source", "energy_per_token_j", "energy_tokens_per_j",
    "basis", "note",
]



def energy_per_token(throughput_tokens_s, power_w, gpus) -> float:
    """Energy per output token ``E = P·G / X`` [J/token].

    :func:`~plaster_model.estimators.energy.energy_per_inference` with a generated token as the
    inference and the deployment's ``G`` GPUs drawing ``P`` W each (NVIDIA's tokens-per-watt
    figures are its inverse). NaN where the power or the throughput is not known or zero (an
    energy is not estimated then, never drawn as 0 or infinite).

    Parameters
    ----------
    throughput_tokens_s : float
        Output tokens/s ``X`` of the deployment.
    power_w : float
        Power drawn per GPU ``P`` [W].
    gpus : float
        GPUs ``G`` of the deployment.

    Returns
    -------
    float
        [J/token].

    Examples
    --------
    8 GPUs at 700 W delivering 14,000 tokens/s: ``700·8/14000 = 0.4`` J per token

    >>> energy_per_token(14000.0, 700.0, 8)
    0.4
    """
    from ..estimators.energy import energy_per_inference  # noqa: PLC0415
    x, p = float(throughput_tokens_s), float(power_w) * float(gpus)
    if not (math.isfinite(x) and x > 0 and math.isfinite(p) and p > 0):
        return math.nan
    return energy_per_inference(x, p)


def _accuracy(model, precision) -> tuple[float, str, str]:
    """(value [%], metric, source) of the zoo's record at the precision, or NaN and 'not published'."""
    from ..plaster import NOT_PUBLISHED  # noqa: PLC0415
    for rec in getattr(model, "accuracy_records", ()) or ():
        if rec.get("precision") == precision and isinstance(rec.get("value"), (int, float)):
            src = ", ".join(str(rec[k]) for k in ("engine", "dataset", "source") if rec.get(k))
            return float(rec["value"]), str(rec.get("metric", "")), src or "published"
    return math.nan, NOT_PUBLISHED, NOT_PUBLISHED


def _total_weight_bytes(model, precision) -> float:
    """Weight bytes of the whole model at the precision (the geometry of one GPU holding it all)."""
    from .api import resolve_transformer  # noqa: PLC0415
    from .layout import model_shape, serving_geometry  # noqa: PLC0415
    from .precision import resolve_serving_precision  # noqa: PLC0415
    prec = resolve_serving_precision(precision)
    g = serving_geometry(model_shape(resolve_transformer(model)), tp=1, pp=1, attention_dp=1, ep=1,
                         weight_bytes=prec.weight_bytes, moe_weight_bytes=prec.moe_weight_bytes,
                         kv_bytes=prec.kv_bytes)
    return float(g["weight_bytes_gpu"])


def serving_plaster_report(model, devices, *, ttft_budget=None, tpot_budget=None, n_devices=8,
                           precision=("bf16", "fp8", "fp4"), input_len=1024, output_len=1024, engine=None,
                           calibration=None, power_w=None, max_pp=1):
    """Score an LLM service on each device and precision along the PLASTER dimensions.

    One row per (device, precision), at the deployment of ``n_devices`` GPUs with the most
    output tokens/s per GPU that meets both budgets (:func:`~plaster_model.best_serving`):

    * **Programmability** — precisions with a published peak, frameworks (catalog);
      ``programmability_supported`` is False where the device runs the precision as
      dequantised math of a wider one (fp4 weights on Hopper: fp8 math), said in ``note``.
    * **Latency** — TTFT and TPOT [s] with their 90 % intervals, request latency
      ``TTFT + TPOT·(OSL − 1)`` [s], whether the budgets are met.
    * **Accuracy** — the zoo's published record at the precision [%], else "not published".
    * **Size** — parameters, weight bytes (total and per GPU), KV cache and memory per GPU,
      KV-cache capacity [requests].
    * **Throughput** — output tokens/s of the deployment, per GPU and per user, the
      concurrency and layout that deliver it.
    * **Energy** — power per GPU [W] and its source, joules per output token
      (:func:`energy_per_token`), tokens per joule.

    A deployment that nothing fits within the budgets keeps its row with a ``note`` saying why
    and NaN in the predicted columns (never 0).
    Rate of learning is not scored for a service (the LLM-training planners answer it).

    Parameters
    ----------
    model : str or Model
        A zoo LLM with a transformer configuration.
    devices : str, Device or list of them
    ttft_budget, tpot_budget : float or str, optional
        Budgets [s] or ``"2 s"``/``"50 ms"``; None leaves one free.
    n_devices : int
        GPUs of the deployment.
    precision : str or sequence of str
        Serving precisions (``bf16``, ``fp8``, ``fp4``, ``int4`` weight-only).
    input_len, output_len : int
        Prompt and generated tokens per request.
    engine : str, optional
        ``"TensorRT-LLM"``, ``"vLLM"``, ``"SGLang"``; None: the engines' shared overheads.
    calibration : ServingCalibration or Calibration, optional
        Fitted serving parameters (None: the priors, factor-2 intervals).
    power_w : float or str, optional
        Power per GPU (default the catalog board power).
    max_pp : int
        Largest pipeline-parallel size searched.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SERVING_PLASTER_COLUMNS` (units in the names).

    Raises
    ------
    ParameterError
        A budget or power that is not a positive time or power, no device, no precision.

    Examples
    --------
    >>> import plaster_model as pm
    >>> df = serving_plaster_report("Llama-3.1-70B", "H200", tpot_budget=0.05, precision="fp8")
    >>> bool(df.loc[0, "latency_tpot_s"] <= 0.05), df.loc[0, "accuracy_source"]
    (True, 'not published')
    >>> e = df.loc[0]   # joules per token = 8 GPUs x 700 W / tokens/s of the deployment
    >>> round(float(e.energy_per_token_j * e.throughput_tokens_s), 6)
    5600.0
    """
    import pandas as pd  # noqa: PLC0415

    from ..catalog.loader import active_catalog  # noqa: PLC0415
    from ..plaster import NOT_PUBLISHED, programmability  # noqa: PLC0415
    from ..units import to_si  # noqa: PLC0415
    from .api import best_serving, predict_serving  # noqa: PLC0415
    from .precision import math_peak, resolve_serving_precision  # noqa: PLC0415

    budgets = {}
    for name, b in (("ttft_budget", ttft_budget), ("tpot_budget", tpot_budget)):
        if b is None:
            budgets[name] = None
            continue
        v = float(to_si(b, "time", name=name))
        if not (math.isfinite(v) and v > 0):
            raise ParameterError(name, b, "a positive finite time [s], e.g. '50 ms', or None")
        budgets[name] = v
    pw_given = None
    if power_w is not None:
        pw_given = float(to_si(power_w, "power", name="power_w"))
        if not (math.isfinite(pw_given) and pw_given > 0):
            raise ParameterError("power_w", power_w, "a positive power [W]")
    cat = active_catalog()
    mdl = cat.get("model", model)
    if isinstance(devices, (str, bytes)) or not hasattr(devices, "__iter__"):
        devices = [devices]
    devs = [cat.get("device", d) for d in devices]
    if not devs:
        raise ParameterError("devices", devices, message="devices: give at least one device")
    precs = [precision] if isinstance(precision, str) else list(precision)
    if not precs:
        raise ParameterError("precision", precision, message="precision: give at least one precision")
    rows = []
    for dev in devs:
        prog = programmability(dev)
        for prec in precs:
            row = dict.fromkeys(SERVING_PLASTER_COLUMNS, np.nan)
            acc, metric, acc_src = _accuracy(mdl, prec)
            # the GEMM math the precision runs (int4 is weight-only: bf16 math); a device without
            # that peak runs it as dequantised fp8/bf16 math (math_peak's rule), said in the note
            sp = resolve_serving_precision(prec)
            try:
                _, _, rule = math_peak(dev, sp.activations)
            except ParameterError as exc:
                rule = exc
            row.update(model=mdl.name, device=dev.name, precision=prec, engine=engine or "not given (shared)",
                       n_devices=int(n_devices), input_len=int(input_len), output_len=int(output_len),
                       programmability_supported=rule is None,
                       programmability_precisions=", ".join(prog["precisions"]),
                       programmability_frameworks=", ".join(prog["frameworks"]) or "not listed",
                       latency_ttft_budget_s=budgets["ttft_budget"], latency_tpot_budget_s=budgets["tpot_budget"],
                       accuracy_pct=acc, accuracy_metric=metric, accuracy_source=acc_src,
                       size_params=mdl.params, size_device_memory_bytes=dev.memory_bytes,
                       size_weight_bytes=_total_weight_bytes(mdl, prec))
            if isinstance(rule, Exception):
                row.update(latency_meets_budget=False, basis="programmability/size: catalog",
                           note=f"not predicted: {rule}")
                rows.append(row)
                continue
            try:
                front = best_serving(mdl, dev, n_devices=n_devices, ttft_budget=budgets["ttft_budget"],
                                     tpot_budget=budgets["tpot_budget"], input_len=input_len,
                                     output_len=output_len, precisions=(prec,), engine=engine,
                                     calibration=calibration, max_pp=max_pp)
            except ParameterError as exc:  # nothing fits within the budgets: refused, no number
                row.update(latency_meets_budget=False, basis="programmability/size: catalog",
                           note=f"infeasible: {exc}")
                rows.append(row)
                continue
            best = front.loc[front["tokens_s_per_gpu"].idxmax()]
            r = predict_serving(mdl, dev, tp=int(best.tp), pp=int(best.pp), ep=int(best.ep),
                                attention_dp=int(best.attention_dp), precision=prec, input_len=input_len,
                                output_len=output_len, concurrency=float(best.concurrency), engine=engine,
                                calibration=calibration, replicas=int(best.replicas))
            if pw_given is not None:
                pw, psrc = pw_given, "given"
            elif dev.power_w is not None:
                pw, psrc = float(dev.power_w), "board power (catalog TDP): an upper bound on the draw"
            else:
                pw, psrc = math.nan, f"not published for {dev.name} (pass power_w= for an energy estimate)"
            e_tok = energy_per_token(r.throughput_tokens_s, pw, r.gpus)
            row.update(
                latency_ttft_s=r.ttft_s, latency_ttft_low_s=r.ttft_interval_s[0],
                latency_ttft_high_s=r.ttft_interval_s[1], latency_tpot_s=r.tpot_s,
                latency_tpot_low_s=r.tpot_interval_s[0], latency_tpot_high_s=r.tpot_interval_s[1],
                latency_request_s=r.request_latency_s, latency_meets_budget=True,
                size_weight_bytes_per_gpu=r.weight_bytes_per_gpu,
                size_kv_cache_bytes_per_gpu=r.kv_cache_bytes_per_gpu,
                size_memory_bytes_per_gpu=r.memory_bytes_per_gpu, size_kv_capacity_requests=r.kv_capacity_requests,
                throughput_tokens_s=r.throughput_tokens_s, throughput_tokens_s_per_gpu=r.throughput_tokens_s_per_gpu,
                throughput_tokens_s_per_user=r.tokens_s_per_user, throughput_concurrency=r.concurrency,
                throughput_layout=(f"{int(best.replicas)} x (tp{r.tp} pp{r.pp} ep{r.ep} "
                                   f"adp{r.attention_dp})"),
                throughput_bound=r.bound, energy_power_w=pw, energy_power_source=psrc,
                energy_per_token_j=e_tok, energy_tokens_per_j=1.0 / e_tok if e_tok > 0 else math.nan,
                basis=("latency/throughput/energy: " + ("calibrated" if calibration is not None else
                                                        "uncalibrated priors (factor-2 intervals)")
                       + "; accuracy: " + ("published" if math.isfinite(acc) else NOT_PUBLISHED)
                       + "; programmability/size: catalog"),
                note="; ".join(a for a in r.assumptions if "uncalibrated" in a or "engine" in a or " math:" in a))
            rows.append(row)
    df = pd.DataFrame(rows, columns=SERVING_PLASTER_COLUMNS)
    df["size_params"] = df["size_params"].astype("int64")
    return df
