"""``predict_serving``, ``serving_sweep`` and ``best_serving``: LLM serving under load.

See ``docs/llm-serving.md`` for the formulas (:mod:`plaster_model.estimators.serving`) and
their sources.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import MemoryFitError, ParameterError
from ..estimators.serving import SERVING_PARAMETERS
from .core import MEMORY_FRACTION, RESERVE_BYTES, evaluate, role_layout
from .engines import ENGINE_KEYS, ENGINE_PRIORS, normalize_engine
from .hardware import hardware_values, resolve_hardware
from .layout import check_layout, model_shape
from .precision import resolve_serving_precision

__all__ = ["predict_serving", "serving_sweep", "best_serving", "ServingPrediction", "resolve_transformer"]

#: Multiplicative half-width (log space) of the 90 % interval without a calibration: the
#: priors are order-of-magnitude values (factor 2 either way).
_UNCALIBRATED_LOG_HALF_WIDTH = math.log(2.0)
_MODES = ("aggregated", "disaggregated")
_MATH_REL = {"fp8": "eta_fp8_rel", "int8": "eta_fp8_rel", "fp4": "eta_fp4_rel"}


def resolve_transformer(model):
    """The :class:`~plaster_model.catalog.transformer.TransformerConfig` of a zoo name, a Model,
    a config, or a Hugging Face config (dict or path)."""
    from ..catalog.transformer import TransformerConfig  # noqa: PLC0415
    if isinstance(model, TransformerConfig):
        return model
    cfg = getattr(model, "transformer", None)
    if cfg is not None:
        return cfg
    if isinstance(model, dict):
        return TransformerConfig.from_hf_config(model)
    if isinstance(model, str):
        from ..catalog.loader import load_model  # noqa: PLC0415
        try:
            m = load_model(model)
        except (KeyError, LookupError, ValueError):
            if model.endswith(".json"):
                return TransformerConfig.from_hf_config(model)
            raise
        if getattr(m, "transformer", None) is None:
            raise ParameterError("model", model, "a transformer (a zoo LLM, a Model with .transformer or an HF config)")
        return m.transformer
    raise ParameterError("model", model, "a zoo LLM name, a Model, a TransformerConfig or an HF config")


def _params(calibration, engine):
    """(parameter dict, log half-widths {metric: (lo, hi)} or None, notes)."""
    from ..calibration.serving import ServingCalibration  # noqa: PLC0415
    cal = getattr(calibration, "serving_", calibration)
    name = normalize_engine(engine)
    if cal is None:
        p = dict(SERVING_PARAMETERS)
        shared = {k: float(np.exp(np.mean([np.log(v[k]) for v in ENGINE_PRIORS.values()]))) for k in ENGINE_KEYS}
        p.update(ENGINE_PRIORS.get(name, shared))
        note = ("uncalibrated: efficiencies and engine overheads are the priors of "
                "SERVING_PARAMETERS/ENGINE_PRIORS; the interval is a factor 2 either way")
        return p, None, [note]
    if not isinstance(cal, ServingCalibration):
        raise ParameterError("calibration", calibration, "a ServingCalibration, a Calibration fitted on "
                             "serving rows, or None")
    p, known = cal.parameters_for(engine)
    level = cal.level_of(engine)
    notes = [] if level == "version" or (level == "engine" and not cal.versions) else [
        f"engine {engine!r} not in the calibration: the engines' shared overheads, interval widened by "
        "the engine-to-engine spread" if not known else
        f"engine {engine!r}: the engine's fitted overheads (version not given or not fitted), interval "
        "widened by the version-to-version spread"]
    return p, cal, notes


@dataclass
class ServingPrediction:
    """One serving configuration's prediction (times in s, rates in tokens/s, sizes in bytes)."""

    model: str
    device: str
    mode: str
    engine: str | None
    tp: int
    pp: int
    ep: int
    attention_dp: int
    gpus: int
    precision: dict
    input_len: int
    output_len: int
    concurrency: float
    ttft_s: float
    tpot_s: float
    throughput_tokens_s: float
    throughput_tokens_s_per_gpu: float
    tokens_s_per_user: float
    weight_bytes_per_gpu: float
    kv_cache_bytes_per_gpu: float
    kv_capacity_requests: float
    kv_capacity_tokens: float
    memory_bytes_per_gpu: float
    bound: str
    ttft_interval_s: tuple
    tpot_interval_s: tuple
    terms: dict
    assumptions: list = field(default_factory=list)

    @property
    def request_latency_s(self) -> float:
        """``TTFT + TPOT·(OSL − 1)`` [s] (aiconfigurator's request latency)."""
        return self.ttft_s + self.tpot_s * (self.output_len - 1)

    def to_frame(self):
        """One-row tidy frame with units in the column names."""
        import pandas as pd  # noqa: PLC0415
        row = {k: v for k, v in self.__dict__.items() if k not in ("terms", "assumptions", "precision",
                                                                   "ttft_interval_s", "tpot_interval_s")}
        row.update({f"precision_{k}": v for k, v in self.precision.items()})
        row.update({"ttft_low_s": self.ttft_interval_s[0], "ttft_high_s": self.ttft_interval_s[1],
                    "tpot_low_s": self.tpot_interval_s[0], "tpot_high_s": self.tpot_interval_s[1],
                    "request_latency_s": self.request_latency_s})
        row.update({f"term_{k}": v for k, v in self.terms.items()})
        return pd.DataFrame([row])

    def __str__(self):
        return (f"{self.model} on {self.gpus} x {self.device} ({self.mode}, tp{self.tp} pp{self.pp} ep{self.ep}, "
                f"{self.precision['weights']} weights, {self.engine or 'engine not given'}): "
                f"TTFT {self.ttft_s * 1e3:.1f} ms [{self.ttft_interval_s[0] * 1e3:.1f}, "
                f"{self.ttft_interval_s[1] * 1e3:.1f}], TPOT {self.tpot_s * 1e3:.2f} ms "
                f"[{self.tpot_interval_s[0] * 1e3:.2f}, {self.tpot_interval_s[1] * 1e3:.2f}], "
                f"{self.throughput_tokens_s_per_gpu:.0f} tok/s/GPU, {self.tokens_s_per_user:.1f} tok/s/user; "
                f"{self.bound}")


_TPOT_TERMS = {"decode_gemm_s": "dense GEMMs (weights)", "decode_moe_s": "expert GEMMs",
               "decode_attn_s": "attention (KV cache)", "decode_comm_s": "collectives",
               "decode_overhead_s": "engine overhead", "interference_s": "prefill interference"}


def _bound(out, i=0):
    terms = {k: float(np.ravel(out[k])[i]) for k in _TPOT_TERMS}
    top = max(terms, key=terms.get)
    floor = float(np.ravel(out["decode_floor_s"])[i])
    mem = floor >= 0.5 * float(np.ravel(out["decode_step_s"])[i])
    what = _TPOT_TERMS[top]
    if top in ("decode_gemm_s", "decode_moe_s", "decode_attn_s"):
        what += ", memory-bound" if mem else ", compute-bound"
    cap = float(np.ravel(out["capacity_wait_s"])[i]) > 0
    return f"TPOT bound by {what}" + ("; TTFT bound by KV-cache capacity (requests wait for admission)" if cap else "")


def _inputs(cfg, device_or_cluster, *, tp, pp, ep, attention_dp, precision, input_len, output_len,
            concurrency, mode, engine, calibration, prefill, decode, replicas):
    if mode not in _MODES:
        raise ParameterError("mode", mode, "'aggregated' or 'disaggregated'")
    for name, v in (("input_len", input_len), ("output_len", output_len), ("concurrency", concurrency)):
        a = np.asarray(v, float)
        if not np.all(np.isfinite(a) & (a >= 1)):
            raise ParameterError(name, v, "a number >= 1")
    shape = model_shape(cfg)
    device, links, where = resolve_hardware(device_or_cluster)
    prec = resolve_serving_precision(precision)
    hw, rule = hardware_values(device, links, prec.activations)
    p, cal, notes = _params(calibration, engine)
    rel = p[_MATH_REL[prec.activations]] if prec.activations in _MATH_REL else 1.0
    base = {"tp": tp, "pp": pp, "attention_dp": attention_dp, "ep": ep}
    if mode == "aggregated":
        check_layout(shape, tp, pp, attention_dp, ep)
        gpw = np.asarray(tp) * np.asarray(pp) * np.asarray(attention_dp)
        if replicas is None:
            replicas = max(1, int(links["n_devices"] // int(np.max(gpw)))) if links["n_devices"] else 1
        lay = role_layout({**base, "workers": replicas})
    else:
        pr = {**base, "workers": 1, **(prefill or {})}
        de = {**base, "workers": 1, **(decode or {})}
        for role, d in (("prefill", pr), ("decode", de)):
            unknown = set(d) - {"tp", "pp", "attention_dp", "ep", "workers"}
            if unknown:
                raise ParameterError(role, d, "keys among tp, pp, attention_dp, ep, workers")
            check_layout(shape, d["tp"], d["pp"], d["attention_dp"], d["ep"])
        lay = role_layout(pr, de)
    multi = any(np.any(np.asarray(lay[f"{r}_{k}"]) > 1) for r in ("prefill", "decode") for k in ("tp", "attention_dp"))
    if multi and links["devices_per_node"] == 1 and links["n_devices"] is None:
        raise ParameterError("device_or_cluster", device_or_cluster,
                             "a Cluster (or a device with a catalog server) for a multi-GPU layout")
    assumptions = [f"hardware: {where}", *prec.assumptions, *notes]
    if rule:
        assumptions.append(rule)
    assumptions += [f"KV cache gets {MEMORY_FRACTION:.0%} of the memory the weights and {RESERVE_BYTES / 1e9:.0f} GB "
                    "(activations, workspace, CUDA graphs) leave",
                    "uniform expert routing (expected experts touched per step)",
                    "closed loop: `concurrency` clients each keep one request in flight"]
    prec_arr = {"weight_bytes": prec.weight_bytes, "moe_weight_bytes": prec.moe_weight_bytes,
                "kv_bytes": prec.kv_bytes, "math_rel": rel}
    wl = {"input_len": input_len, "output_len": output_len, "concurrency": concurrency,
          "disaggregated": mode == "disaggregated"}
    return shape, device, hw, lay, prec, prec_arr, wl, p, cal, assumptions


def predict_serving(model, device_or_cluster, tp=1, pp=1, ep=1, precision="bf16", input_len=1024,
                    output_len=1024, concurrency=1, mode="aggregated", engine=None, calibration=None, *,
                    attention_dp=1, prefill=None, decode=None, replicas=None) -> ServingPrediction:
    """TTFT, TPOT and throughput of an LLM served at a concurrency (continuous batching).

    Parameters
    ----------
    model : str, Model, TransformerConfig or dict
        A zoo LLM (``"Llama-3.1-70B"``), a Model with ``.transformer``, or a Hugging Face config.
    device_or_cluster : str, Device or Cluster
        The GPU (its catalog server gives the links) or a cluster.
    tp, pp, ep, attention_dp : int
        One worker's tensor, pipeline, expert and attention-data parallel sizes
        (``moe_tp·ep = tp·attention_dp``; GPUs per worker ``tp·pp·attention_dp``).
    precision : str or dict
        ``"bf16"``, ``"fp8"``, ``"fp4"``, ``"int4"`` (weight-only) or
        ``{"weights", "activations", "kv_cache", "moe_weights"}``.
    input_len, output_len : int
        Prompt and generated tokens per request.
    concurrency : int
        Requests in flight for the whole deployment (closed loop).
    mode : {"aggregated", "disaggregated"}
        Prefill and decode on the same workers, or on separate ones (KV cache sent across).
    engine : str, optional
        ``"TensorRT-LLM"``, ``"vLLM"``, ``"SGLang"``; None or unknown: the engines' shared
        overheads, with their spread in the interval.
    calibration : ServingCalibration or Calibration, optional
        Fitted efficiencies and engine overheads (:func:`plaster_model.fit_serving`); None
        uses the priors (factor-2 interval).
    prefill, decode : dict, optional
        Disaggregated roles' ``tp``, ``pp``, ``attention_dp``, ``ep``, ``workers``.
    replicas : int, optional
        Aggregated workers sharing the concurrency (default: the cluster's devices over the
        worker's, else 1).

    Returns
    -------
    ServingPrediction
        ``ttft_s``, ``tpot_s``, ``throughput_tokens_s`` (output tokens/s of the deployment,
        closed loop ``C·OSL/(TTFT + TPOT·(OSL−1))``), per GPU and per user (``1/TPOT``),
        memory per GPU, KV capacity, the binding term, 90 % intervals, assumptions.

    Raises
    ------
    MemoryFitError
        The weights, or the KV cache of one request, do not fit the device memory.
    ParameterError
        A layout the model cannot take, an unknown precision or mode.

    Examples
    --------
    >>> import plaster_model as pm                                           # doctest: +SKIP
    >>> r = pm.predict_serving("Llama-3.1-70B", "H200", tp=4, precision="fp8",
    ...                        input_len=1024, output_len=1024, concurrency=32)  # doctest: +SKIP
    >>> r.tpot_s < 0.05                                                      # doctest: +SKIP
    True
    """
    cfg = resolve_transformer(model)
    for name, v in (("tp", tp), ("pp", pp), ("ep", ep), ("attention_dp", attention_dp)):
        if np.ndim(v):
            raise ParameterError(name, v, "a scalar (use serving_sweep for arrays)")
    shape, device, hw, lay, prec, prec_arr, wl, p, cal, assumptions = _inputs(
        cfg, device_or_cluster, tp=tp, pp=pp, ep=ep, attention_dp=attention_dp, precision=precision,
        input_len=input_len, output_len=output_len, concurrency=concurrency, mode=mode, engine=engine,
        calibration=calibration, prefill=prefill, decode=decode, replicas=replicas)
    out = evaluate(shape, hw, lay, prec_arr, wl, p)
    why = int(np.ravel(out["why"])[0])
    if why == 1:
        need = float(np.ravel(out["weight_bytes_gpu"])[0])
        raise MemoryFitError(
            f"{cfg.name} with {prec.weights} weights does not fit: {need / 1e9:.1f} GB of weights per GPU "
            f"(tp={tp}, pp={pp}, ep={ep}) exceed the {device.memory_bytes / 1e9:.0f} GB "
            f"- {RESERVE_BYTES / 1e9:.0f} GB the engine can use on {device.name}; raise tp/pp/ep or quantise")
    if why == 2:
        raise MemoryFitError(
            f"{cfg.name}: the KV cache of one request of {input_len}+{output_len} tokens does not fit beside "
            f"{float(np.ravel(out['weight_bytes_gpu'])[0]) / 1e9:.1f} GB of weights per GPU on {device.name}; "
            "shorten the context, quantise the KV cache, or raise tp/pp")
    v = {k: float(np.ravel(x)[0]) for k, x in out.items() if np.asarray(x).dtype != bool}
    gpus = int(round(v["gpus"]))
    osl = float(output_len)
    thr = float(concurrency) * osl / (v["ttft_s"] + v["tpot_s"] * max(osl - 1.0, 0.0))
    if cal is None:
        h = _UNCALIBRATED_LOG_HALF_WIDTH
        iv_ttft = (v["ttft_s"] * math.exp(-h), v["ttft_s"] * math.exp(h))
        iv_tpot = (v["tpot_s"] * math.exp(-h), v["tpot_s"] * math.exp(h))
    else:
        known = cal.level_of(engine)
        dev_known = cal.knows_device(device)
        if not dev_known:
            assumptions.append(f"{device.name} is absent from the calibration's rows ({', '.join(cal.devices)}): "
                               "interval widened by the systems' spread")
        mod_known = cal.knows_model(cfg.name)
        if not mod_known:
            assumptions.append(f"{cfg.name} is absent from the calibration's rows: interval widened by the "
                               "models' spread")
        lo, hi = cal.interval("ttft_ms", known, dev_known, mod_known)
        iv_ttft = (v["ttft_s"] * lo, v["ttft_s"] * hi)
        lo, hi = cal.interval("tpot_ms", known, dev_known, mod_known)
        iv_tpot = (v["tpot_s"] * lo, v["tpot_s"] * hi)
    kv_tok = (v["kv_capacity"] * (float(input_len) + osl))
    terms = {k: v[k] for k in ("prefill_s", "decode_step_s", "decode_floor_s", *_TPOT_TERMS, "queue_s",
                               "capacity_wait_s", "kv_transfer_s", "utilization", "batch")}
    return ServingPrediction(
        model=cfg.name, device=device.name, mode=mode, engine=normalize_engine(engine), tp=int(tp), pp=int(pp),
        ep=int(ep), attention_dp=int(attention_dp), gpus=gpus,
        precision={"weights": prec.weights, "moe_weights": prec.moe_weights, "activations": prec.activations,
                   "kv_cache": prec.kv_cache},
        input_len=int(input_len), output_len=int(output_len), concurrency=float(concurrency),
        ttft_s=v["ttft_s"], tpot_s=v["tpot_s"], throughput_tokens_s=thr, throughput_tokens_s_per_gpu=thr / gpus,
        tokens_s_per_user=1.0 / v["tpot_s"], weight_bytes_per_gpu=v["weight_bytes_gpu"],
        kv_cache_bytes_per_gpu=v["kv_bytes_gpu"], kv_capacity_requests=v["kv_capacity"],
        kv_capacity_tokens=kv_tok, memory_bytes_per_gpu=device.memory_bytes, bound=_bound(out),
        ttft_interval_s=iv_ttft, tpot_interval_s=iv_tpot, terms=terms, assumptions=assumptions)


def serving_sweep(model, device_or_cluster, *, tp=1, pp=1, ep=1, attention_dp=1, precision="bf16",
                  input_len=1024, output_len=1024, concurrency=1, engine=None, calibration=None,
                  replicas=1, as_frame=True):
    """Vectorized aggregated serving over arrays of layouts and loads (one precision per call).

    Every array argument broadcasts (numpy rules); layouts the model cannot take raise
    ParameterError, configurations that do not fit come back with ``fits`` False.

    Parameters
    ----------
    model : str, Model, TransformerConfig or dict
        The LLM (see :func:`predict_serving`).
    device_or_cluster : str, Device or Cluster
        The GPU or cluster.
    tp, pp, ep, attention_dp : int or array_like
        Layouts of one worker.
    precision : str or dict
        One precision for the whole sweep.
    input_len, output_len : int or array_like
        Prompt and generated tokens per request.
    concurrency : int or array_like
        Requests in flight per deployment.
    engine : str, optional
        Serving engine.
    calibration : ServingCalibration or Calibration, optional
        Fitted parameters (None: priors).
    replicas : int or array_like
        Workers sharing the concurrency.
    as_frame : bool
        Return a DataFrame (True) or a dict of arrays (False, faster).

    Returns
    -------
    pandas.DataFrame or dict of numpy.ndarray
        ``tp``, ``pp``, ``ep``, ``attention_dp``, ``concurrency``, ``input_len``, ``output_len``,
        ``gpus``, ``ttft_s``, ``tpot_s``, ``throughput_tokens_s``, ``tokens_s_per_gpu``,
        ``tokens_s_per_user``, ``kv_capacity_requests``, ``fits``; times in s, rates in
        tokens/s.

    Examples
    --------
    >>> import plaster_model as pm
    >>> df = pm.serving_sweep("Llama-3.1-8B", "H100", concurrency=[1, 8, 64], precision="fp8")
    >>> bool(df["tpot_s"].is_monotonic_increasing)
    True
    """
    cfg = resolve_transformer(model)
    arrs = np.broadcast_arrays(*(np.asarray(x, float) for x in (tp, pp, ep, attention_dp, input_len, output_len,
                                                               concurrency, replicas)))
    tp_, pp_, ep_, adp_, isl, osl, conc, rep = (a.ravel() for a in arrs)
    shape, device, hw, lay, prec, prec_arr, wl, p, cal, _ = _inputs(
        cfg, device_or_cluster, tp=tp_, pp=pp_, ep=ep_, attention_dp=adp_, precision=precision,
        input_len=isl, output_len=osl, concurrency=conc, mode="aggregated", engine=engine,
        calibration=calibration, prefill=None, decode=None, replicas=rep)
    out = evaluate(shape, hw, lay, prec_arr, wl, p)
    thr = conc * osl / (out["ttft_s"] + out["tpot_s"] * np.maximum(osl - 1.0, 0.0))
    res = {"tp": tp_, "pp": pp_, "ep": ep_, "attention_dp": adp_, "replicas": rep, "concurrency": conc,
           "input_len": isl, "output_len": osl, "gpus": out["gpus"], "ttft_s": out["ttft_s"],
           "tpot_s": out["tpot_s"], "throughput_tokens_s": thr, "tokens_s_per_gpu": thr / out["gpus"],
           "tokens_s_per_user": 1.0 / out["tpot_s"], "kv_capacity_requests": out["kv_capacity"],
           "fits": out["fits"]}
    if not as_frame:
        return res
    import pandas as pd  # noqa: PLC0415
    df = pd.DataFrame(res)
    df.insert(0, "precision", str(precision))
    return df


def _divisors(n):
    return [d for d in range(1, n + 1) if n % d == 0]


def best_serving(model, device_or_cluster, n_devices=8, *, ttft_budget=None, tpot_budget=None,
                 input_len=1024, output_len=1024, precisions=("bf16", "fp8", "fp4"), engine=None,
                 calibration=None, concurrencies=None, max_pp=1):
    """Pareto front of tokens/s per GPU against tokens/s per user within latency budgets.

    Searches every aggregated layout of `n_devices` GPUs (replicas x tp x pp x attention-DP,
    expert parallel sizes for MoE models), each precision, and concurrencies (powers of two
    to 4096 by default), keeps the configurations that fit memory and meet ``TTFT ≤
    ttft_budget`` and ``TPOT ≤ tpot_budget``, and returns the non-dominated ones.

    Parameters
    ----------
    model : str, Model, TransformerConfig or dict
        The LLM.
    device_or_cluster : str, Device or Cluster
        The GPU (its catalog server gives the links) or a cluster.
    n_devices : int
        GPUs to deploy on.
    ttft_budget, tpot_budget : float, optional
        Latency budgets [s]; None leaves that one free.
    input_len, output_len : int
        Prompt and generated tokens per request.
    precisions : sequence of str
        Precisions to search.
    engine : str, optional
        Serving engine.
    calibration : ServingCalibration or Calibration, optional
        Fitted parameters (None: priors).
    concurrencies : array_like, optional
        Requests in flight to try (default 1, 2, 4, ..., 4096).
    max_pp : int
        Largest pipeline-parallel size searched.

    Returns
    -------
    pandas.DataFrame
        The front, sorted by tokens/s per user; ``attrs["evaluated"]`` counts the
        configurations searched and ``attrs["feasible"]`` those within the budgets; times in
        s, rates in tokens/s.

    Raises
    ------
    ParameterError
        A budget that is not positive, or nothing fits within the budgets (the message says
        what bound: memory, TTFT or TPOT).

    Examples
    --------
    >>> import plaster_model as pm
    >>> front = pm.best_serving("Llama-3.1-70B", "H200", n_devices=8, tpot_budget=0.05)
    >>> bool((front["tpot_s"] <= 0.05).all())
    True
    """
    import pandas as pd  # noqa: PLC0415

    from ..pareto_front import pareto  # noqa: PLC0415
    for name, b in (("ttft_budget", ttft_budget), ("tpot_budget", tpot_budget)):
        if b is not None and not (isinstance(b, (int, float)) and b > 0):
            raise ParameterError(name, b, "a time > 0 [s] or None")
    n = int(n_devices)
    if n < 1:
        raise ParameterError("n_devices", n_devices, "an integer >= 1")
    cfg = resolve_transformer(model)
    moe = bool(cfg.is_moe)
    conc = np.asarray(concurrencies if concurrencies is not None else 2.0 ** np.arange(0, 13), float)
    rows = []
    for tp, pp, adp in itertools.product(_divisors(n), _divisors(n), _divisors(n) if moe else [1]):
        if tp * pp * adp > n or n % (tp * pp * adp) or pp > max_pp or pp > cfg.n_layers:
            continue
        if not moe and tp > cfg.n_heads:
            continue
        eps = [e for e in _divisors(tp * adp) if cfg.n_experts % e == 0] if moe else [1]
        for ep in eps:
            rows.append((tp, pp, adp, ep, n // (tp * pp * adp)))
    lay = np.array(rows, float)
    frames = []
    for prec in precisions:
        t_, c_ = np.meshgrid(np.arange(len(lay)), conc, indexing="ij")
        L = lay[t_.ravel()]
        try:
            res = serving_sweep(cfg, device_or_cluster, tp=L[:, 0], pp=L[:, 1], attention_dp=L[:, 2], ep=L[:, 3],
                                replicas=L[:, 4], concurrency=c_.ravel(), precision=prec, input_len=input_len,
                                output_len=output_len, engine=engine, calibration=calibration, as_frame=False)
        except ParameterError:
            continue
        df = pd.DataFrame(res)
        df.insert(0, "precision", prec)
        frames.append(df)
    if not frames:
        raise ParameterError("precisions", precisions, f"at least one precision that {cfg.name} can run in")
    allc = pd.concat(frames, ignore_index=True)
    fit = allc[allc["fits"]]
    ok = fit
    if ttft_budget is not None:
        ok = ok[ok["ttft_s"] <= ttft_budget]
    if tpot_budget is not None:
        ok = ok[ok["tpot_s"] <= tpot_budget]
    if ok.empty:
        why = ("no layout fits the model in memory" if fit.empty else
               f"no configuration meets the budgets (best TTFT {fit['ttft_s'].min() * 1e3:.1f} ms, "
               f"best TPOT {fit['tpot_s'].min() * 1e3:.2f} ms)")
        raise ParameterError("ttft_budget/tpot_budget", (ttft_budget, tpot_budget), f"feasible budgets: {why}")
    front = pareto(ok, {"tokens_s_per_gpu": "max", "tokens_s_per_user": "max"})
    front = front.sort_values("tokens_s_per_user").reset_index(drop=True)
    front.attrs.update({"evaluated": int(len(allc)), "feasible": int(len(ok)), "model": cfg.name,
                        "n_devices": n})
    return front
