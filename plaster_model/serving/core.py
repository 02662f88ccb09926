"""Vectorized evaluation of serving configurations (shared by the API, the search and the fit).

:func:`evaluate` takes arrays (one element per configuration: model shape, device, layout,
precisions, workload) and the parameters, builds each role's geometry
(:func:`~plaster_model.serving.layout.serving_geometry`), applies the closed forms of
:mod:`plaster_model.estimators.serving`, and returns TTFT, TPOT, the KV capacity and the terms.
Nothing here raises for a configuration that does not fit: ``fits`` is False there and
``why`` says why (the scalar API refuses such configurations; the search drops them).
"""
from __future__ import annotations

import numpy as np

from ..estimators.serving import continuous_batching, kv_capacity_requests, serving_step_times
from .layout import serving_geometry

__all__ = ["evaluate", "role_layout", "MEMORY_FRACTION", "RESERVE_BYTES"]

LAYOUT_KEYS = ("tp", "pp", "attention_dp", "ep", "workers")


def role_layout(prefill: dict, decode: dict | None = None) -> dict:
    """``{"prefill_tp": ..., "decode_tp": ...}`` from two role dicts (one dict: both roles)."""
    decode = prefill if decode is None else decode
    return {**{f"prefill_{k}": prefill.get(k, 1) for k in LAYOUT_KEYS},
            **{f"decode_{k}": decode.get(k, 1) for k in LAYOUT_KEYS}}

#: Share of the memory the weights and :data:`RESERVE_BYTES` leave that the engine gives its KV
#: cache (TensorRT-LLM ``free_gpu_memory_fraction`` default 0.9; see
#: :func:`~plaster_model.estimators.serving.kv_capacity_requests` for why not vLLM's rule).
MEMORY_FRACTION = 0.9
#: Memory kept for activations, workspaces and CUDA graphs of the largest step [B] (stated
#: assumption: about 3 GB at an 8k-token step budget).
RESERVE_BYTES = 3e9


def _role(shape, hw, lay, prec, wl, prefix):
    tp, pp, adp, ep = (np.asarray(lay[f"{prefix}{k}"], float) for k in ("tp", "pp", "attention_dp", "ep"))
    geo = serving_geometry(shape, tp=tp, pp=pp, attention_dp=adp, ep=ep, weight_bytes=prec["weight_bytes"],
                           moe_weight_bytes=prec["moe_weight_bytes"], kv_bytes=prec["kv_bytes"])
    # TP all-reduces stay on the NVLink fabric while the group fits its domain (a node, or the 72
    # GPUs of an NVL72 rack); the experts' all-to-all crosses the network when the stage spans
    # more (per-GPU NIC bandwidth).
    dpn = hw.get("scale_up_domain", hw["devices_per_node"])
    geo["link_bw"] = np.where(tp <= dpn, hw["link_bw"], hw["inter_bw"])
    geo["a2a_bw"] = np.where(tp * adp <= dpn, hw["link_bw"], hw["inter_bw"])
    # paged KV caches (vLLM PagedAttention, SGLang, TensorRT-LLM) allocate blocks as a request
    # grows: in steady state a request holds its prompt and half its output on average
    ctx = wl["input_len"] + 0.5 * wl["output_len"]
    # sliding-window layers keep at most `window` tokens (kv_cache_bytes' cap)
    keep = 1.0 - geo["window_share"] * (1.0 - np.where(geo["window"] > 0, np.minimum(ctx, np.maximum(
        geo["window"], 1.0)) / ctx, 1.0))
    kv_request = ctx * geo["kv_bytes_per_token"] * keep
    cap = kv_capacity_requests(hw["memory_bytes"], geo["weight_bytes_gpu"], kv_request,
                               MEMORY_FRACTION, RESERVE_BYTES)
    return geo, cap


def _rows(d: dict, mask, n: int) -> dict:
    """Elements `mask` of every length-`n` array of `d` (scalars stay)."""
    return {k: (v[mask] if isinstance(v, np.ndarray) and v.shape[:1] == (n,) else v) for k, v in d.items()}


def evaluate(shape: dict, hw: dict, lay: dict, prec: dict, wl: dict, params: dict,
             cache: dict | None = None) -> dict:
    """TTFT, TPOT and terms of configurations (all inputs broadcast; see the module doc).

    Parameters
    ----------
    shape : dict
        :func:`~plaster_model.serving.layout.model_shape` values (scalars or arrays).
    hw : dict
        ``memory_bytes``, ``bandwidth`` [B/s], ``peak_gemm``, ``peak_attn`` [FLOP/s],
        ``link_bw``, ``inter_bw`` [B/s per GPU], ``devices_per_node``, ``scale_up_domain``
        (GPUs the intra-node fabric joins; default ``devices_per_node``).
    lay : dict
        ``prefill_*`` and ``decode_*`` of ``tp``, ``pp``, ``attention_dp``, ``ep``, ``workers``
        (aggregated configurations give both roles the worker's layout: :func:`role_layout`).
    prec : dict
        ``weight_bytes``, ``moe_weight_bytes``, ``kv_bytes`` [B], ``math_rel``.
    wl : dict
        ``input_len``, ``output_len``, ``concurrency``, ``disaggregated`` (bool).
    params : dict
        :data:`~plaster_model.estimators.serving.SERVING_PARAMETERS` (arrays allowed).
    cache : dict, optional
        Holds the roles' geometry between calls with the same configurations and other
        parameters (the calibration's repeated evaluations); empty on the first call.

    Returns
    -------
    dict of numpy.ndarray
        ``ttft_s``, ``tpot_s``, ``prefill_s``, ``decode_step_s``, ``batch`` (requests per
        micro-batch), ``kv_capacity`` (requests per attention rank of a decode worker),
        ``weight_bytes_gpu``, ``kv_bytes_gpu`` (at the running batch), ``gpus``, ``fits``,
        ``why`` (0 fits, 1 weights exceed memory, 2 no room for one request's KV cache), and
        the step terms of :func:`~plaster_model.estimators.serving.serving_step_times`.
    """
    dis = np.asarray(wl["disaggregated"], bool)
    isl, osl, conc = (np.asarray(wl[k], float) for k in ("input_len", "output_len", "concurrency"))
    # the geometry does not depend on the parameters: computed once per set of configurations
    if cache is not None and "roles" in cache:
        g_d, cap_d, g_p, cap_p = cache["roles"]
    else:
        g_d, cap_d = _role(shape, hw, lay, prec, wl, "decode_")
        g_p, cap_p = _role(shape, hw, lay, prec, wl, "prefill_")
        if cache is not None:
            cache["roles"] = (g_d, cap_d, g_p, cap_p)
    pp_d, adp_d, w_d = lay["decode_pp"], lay["decode_attention_dp"], lay["decode_workers"]
    conc_rank = conc / (np.asarray(w_d, float) * adp_d)
    running = np.minimum(conc_rank, np.maximum(cap_d, 1.0))
    batch = np.maximum(running / pp_d, np.minimum(running, 1.0))
    conc_prefill = conc / (np.asarray(lay["prefill_workers"], float) * lay["prefill_attention_dp"])
    common = {"input_len": isl, "output_len": osl, "peak_gemm": hw["peak_gemm"], "peak_attn": hw["peak_attn"],
              "bandwidth": hw["bandwidth"], "math_rel": prec["math_rel"], "concurrency_rank": conc_rank,
              "capacity": cap_d, "kv_transfer_s": 0.0, "interference": 1.0, "step_in_flight": 1.0}
    dec = serving_step_times({**g_d, **common, "batch": batch, "queue": running}, params)
    prefill_s, service_s = dec["prefill_s"], dec["prefill_service_s"]
    if dis.any():
        # the prefill workers' layout, evaluated on the disaggregated configurations only
        g_pre = {**g_p, **common, "batch": batch, "queue": np.minimum(conc_prefill, np.maximum(cap_p, 1.0))}
        shp = np.broadcast(dis, batch, isl, osl, conc).shape
        if len(shp) != 1:  # one configuration (or a grid): the whole prefill role, then chosen
            pre = serving_step_times(g_pre, params)
            prefill_s = np.where(dis, pre["prefill_s"], prefill_s)
            service_s = np.where(dis, pre["prefill_service_s"], service_s)
        else:
            n, mask = shp[0], np.broadcast_to(dis, shp)
            pre = serving_step_times(_rows(g_pre, mask, n), _rows(params, mask, n))
            prefill_s = np.array(np.broadcast_to(prefill_s, shp), float)
            service_s = np.array(np.broadcast_to(service_s, shp), float)
            prefill_s[mask] = pre["prefill_s"]
            service_s[mask] = pre["prefill_service_s"]
    # disaggregated: the prompt's KV cache crosses the network, each prefill GPU sending its shard
    prefill_gpus = lay["prefill_tp"] * lay["prefill_pp"] * lay["prefill_attention_dp"]
    kv_total = isl * shape["kv_elems_per_token"] * prec["kv_bytes"]
    kv_transfer = np.where(dis, kv_total / (prefill_gpus * hw["inter_bw"]), 0.0)
    queue = np.where(dis, conc_prefill, running * adp_d / np.maximum(adp_d, 1.0))
    pp_q = np.where(dis, lay["prefill_pp"], pp_d)
    cb = continuous_batching(prefill_s, dec["decode_step_s"],
                             {"batch": batch, "pp": pp_q, "output_len": osl, "queue": queue,
                              "concurrency_rank": conc_rank, "capacity": cap_d,
                              "interference": np.where(dis, 0.0, 1.0), "kv_transfer_s": kv_transfer,
                              "step_in_flight": np.where(dis, 0.0, 1.0)}, params, service_s)
    fits_w = (g_d["weight_bytes_gpu"] < hw["memory_bytes"] - RESERVE_BYTES) & \
             (g_p["weight_bytes_gpu"] < hw["memory_bytes"] - RESERVE_BYTES)
    fits_kv = (cap_d >= 1) & (cap_p >= 1)
    why = np.where(~fits_w, 1, np.where(~fits_kv, 2, 0))
    gpus = np.where(dis, prefill_gpus * lay["prefill_workers"]
                    + lay["decode_tp"] * pp_d * adp_d * w_d,
                    lay["decode_tp"] * pp_d * adp_d * w_d)
    out = {k: v for k, v in dec.items() if k not in ("prefill_s", "ttft_s", "tpot_s")}
    out.update(cb)
    out.update({"prefill_s": prefill_s, "prefill_service_s": service_s, "batch": batch, "running": running * adp_d * w_d,
                "kv_capacity": cap_d, "weight_bytes_gpu": g_d["weight_bytes_gpu"],
                "kv_bytes_gpu": running * (isl + 0.5 * osl) * g_d["kv_bytes_per_token"],
                "gpus": gpus, "fits": why == 0, "why": why})
    return out
