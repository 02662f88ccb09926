"""Closed forms of LLM serving: prefill, decode steps, KV-cache capacity, continuous batching.

Every function is pure and broadcasts over numpy arrays (one element per configuration), so
:func:`plaster_model.predict_serving`, :func:`plaster_model.best_serving` and the serving
calibration share one implementation. Times in seconds, sizes in bytes, rates in FLOP/s and B/s.

A request's life (Pope et al. 2023, arXiv:2211.05102; Kwon et al. 2023, vLLM; Yu et al. 2022,
Orca):

* **prefill** of ``n`` prompt tokens: every GEMM sees ``n`` tokens (``2·N·n`` FLOPs, GEMM-bound),
  attention ``n·keys(n)`` query-key pairs (quadratic in the prompt), the weights read once;
* **decode step** of a running batch of ``b`` requests: every weight is read once per step,
  each request reads its whole KV cache; at small ``b`` the step is memory-bound,
  ``t ≥ (weight bytes + KV bytes) / bandwidth`` (the *memory floor*, :func:`decode_memory_floor`);
* **MoE**: ``T`` tokens choosing ``k`` of ``E`` experts touch ``E·(1 − (1 − k/E)^T)`` experts in
  expectation (uniform routing, :func:`expected_active_experts`): all of them at large batch;
* **continuous batching** at a closed-loop concurrency ``C`` (the benchmark client keeps ``C``
  requests in flight): a request's first token waits for the prefills queued before it; the
  running batch's decode steps absorb the prefills of newly admitted requests (chunked prefill
  shares steps with decode), ``b/OSL`` prefills per step; when the KV cache holds only ``R < C``
  requests, Little's law gives the admission wait ``(C/R − 1)·T_service``
  (:func:`capacity_wait`).
"""
from __future__ import annotations

import numpy as np

from .collectives import _alltoall, _ring
from .roofline import _roofline

__all__ = ["expected_active_experts", "kv_capacity_requests", "capacity_wait", "decode_memory_floor",
           "roofline", "serving_step_times", "continuous_batching", "SERVING_PARAMETERS"]

#: Parameters of :func:`serving_step_times` and their prior values (the calibration's prior
#: means; the uncalibrated prediction uses them). Efficiencies are fractions of the datasheet
#: peak (``eta_*``); ``eta_fp8_rel``/``eta_fp4_rel`` scale ``eta_gemm`` for fp8/fp4 math,
#: ``eta_kv_rel`` scales ``eta_mem`` for paged KV-cache reads; ``tile_tokens`` is
#: the rows each active expert's grouped-GEMM tile is padded to; ``q_queue`` scales the M/D/1
#: queueing wait of the prefill lane (1/2 for deterministic service); ``s_step`` the decode
#: steps a new request waits for before its prefill runs (1: the step in flight; fixed);
#: ``iota`` the share of the admitted prefills that stall a decode step (1 = none overlaps);
#: ``t_step_s``/``t_layer_s``/``t_request_s`` the engine's fixed time per decode step, per
#: layer per step (kernel launches) and per request (scheduling, tokenization, first sampling);
#: ``prefill_budget`` the prompt tokens one step batches under load (chunked prefill's
#: max-num-batched-tokens: vLLM's and TensorRT-LLM's default 8192; fixed, not fitted).
SERVING_PARAMETERS = {
    "eta_gemm": 0.60, "eta_fp8_rel": 0.85, "eta_fp4_rel": 0.70, "eta_moe": 0.35,
    "eta_attn": 0.40, "eta_mem": 0.75, "eta_kv_rel": 0.8, "eta_link": 0.60, "alpha_link_s": 10e-6, "tile_tokens": 64.0,
    "q_queue": 0.5, "q_wave": 0.05, "iota": 0.75, "s_step": 1.0,
    "t_step_s": 2e-3, "t_layer_s": 2e-5, "t_request_s": 10e-3, "prefill_budget": 8192.0,
}


def roofline(flops, bytes_, peak_flops, bandwidth, compute_efficiency=1.0, memory_efficiency=1.0):
    """Time of one operator class, ``max(F/(γ·η_c), B/(β·η_m))`` [s] (Williams et al. 2009;
    :func:`plaster_model.estimators.roofline.operator_roofline_time`'s form, unvalidated)."""
    return _roofline(flops, bytes_, peak_flops * compute_efficiency, bandwidth * memory_efficiency)


def expected_active_experts(tokens, experts, top_k):
    """Experts that ``tokens`` tokens touch, each choosing ``top_k`` of ``experts``: ``E·(1 − (1 − k/E)^T)``.

    Uniform, independent routing (the load-balancing loss of Fedus et al. 2021 pushes routing
    towards it): an expert escapes one token with probability ``1 − k/E``.

    Parameters
    ----------
    tokens, experts, top_k : float or array_like
        Tokens routed at once; routed experts per MoE layer (0 for dense); experts per token.

    Returns
    -------
    float or numpy.ndarray
        Expected distinct experts touched (0 for a dense model).

    Examples
    --------
    One token touches exactly k experts; 256 tokens touch almost all of 8:

    >>> float(expected_active_experts(1, 256, 8))
    8.0
    >>> round(float(expected_active_experts(256, 8, 2)), 6)
    8.0
    """
    e = np.asarray(experts, dtype=float)
    safe = np.where(e > 0, e, 1.0)
    return np.where(e > 0, safe * (1.0 - (1.0 - np.asarray(top_k, float) / safe) ** np.asarray(tokens, float)), 0.0)


def decode_memory_floor(weight_bytes, kv_bytes, bandwidth):
    """The decode step's memory floor ``(weight bytes + KV bytes) / bandwidth`` [s] (Pope et al. 2023).

    Examples
    --------
    Llama-3.1-70B (70.55e9 parameters) in fp8 on one H200 (4.8 TB/s) with 16 requests of 2,048
    cached tokens at 327,680 B per token (bf16 GQA cache): ``(70.55e9 + 16·2048·327680)/4.8e12``

    >>> round(float(decode_memory_floor(70.55e9, 16 * 2048 * 327680, 4.8e12)) * 1e3, 3)
    16.935
    """
    return (np.asarray(weight_bytes, float) + np.asarray(kv_bytes, float)) / np.asarray(bandwidth, float)


def kv_capacity_requests(memory_bytes, weight_bytes, kv_bytes_per_request, memory_fraction=0.9,
                         reserve_bytes=0.0):
    """Requests whose KV cache fits beside the weights: ``⌊f·(M − W − reserve) / kv_request⌋`` (≥ 0).

    The engine gives its KV-cache pool a share ``f`` of the memory the weights and the
    largest step's activations and workspace (``reserve``) leave: TensorRT-LLM's
    ``free_gpu_memory_fraction`` (default 0.9) is defined so. vLLM's ``gpu_memory_utilization``
    (0.9 of the whole memory by default) is stricter, and deployments that hold their
    weights in most of the memory raise it: the shared measurements ran DeepSeek-V3 in fp8
    (168 GB of weights per GPU) on four 180 GB B200s at 32 concurrent 8k-token requests,
    which ``0.9·M − W`` would refuse.

    Examples
    --------
    80 GB, 35 GB of weights, 2 GB reserve, 1 GiB per request: ``⌊0.9·(80e9 − 35e9 − 2e9)/2^30⌋ = 36``

    >>> int(kv_capacity_requests(80e9, 35e9, 2**30, 0.9, 2e9))
    36
    """
    free = np.asarray(memory_bytes, float) - weight_bytes - reserve_bytes
    return np.floor(memory_fraction * np.maximum(free, 0.0) / np.asarray(kv_bytes_per_request, float))


def capacity_wait(concurrency, capacity, service_s):
    """Admission wait of a closed loop of ``C`` clients served ``R`` at a time: ``max(C/R − 1, 0)·T`` [s].

    Little's law: the server completes ``R`` requests per service time ``T``, so the ``C``
    clients cycle in ``C·T/R`` and each waits ``(C/R − 1)·T`` before admission.

    Examples
    --------
    >>> float(capacity_wait(300, 100, 20.0))
    40.0
    """
    c = np.asarray(concurrency, float)
    r = np.maximum(np.asarray(capacity, float), 1.0)
    return np.maximum(c / r - 1.0, 0.0) * service_s


def serving_step_times(g: dict, p: dict) -> dict:
    """Prefill time, decode step time, TTFT and TPOT of configurations (vectorized).

    Parameters
    ----------
    g : dict of array_like
        Per-GPU geometry of one pipeline stage, from :mod:`plaster_model.serving.layout`:
        ``gemm_params`` (dense GEMM weights per GPU), ``gemm_weight_bytes``, ``expert_params``
        (routed-expert weights per GPU), ``expert_weight_bytes``, ``experts``, ``top_k``,
        ``moe_flops_per_token`` (routed-expert FLOPs per token per GPU), ``attn_flops_per_key``
        (attention-core FLOPs per token per attended key per GPU; ``attn_flops_per_key_decode``
        in decode, MLA's absorbed form, defaults to it), ``kv_bytes_per_token``
        (cache bytes per token per GPU), ``window`` and ``window_share`` (sliding-window
        keys and share of layers), ``layers`` and ``moe_layers`` (per stage),
        ``d_model``, ``act_bytes`` (bytes per exchanged activation), ``tp``, ``pp``,
        ``attention_dp``, ``ep`` (GPUs of the all-to-all), ``peak_gemm``, ``peak_attn``
        [FLOP/s], ``bandwidth`` [B/s], ``link_bw``, ``a2a_bw`` [B/s], ``math_rel``
        (``eta_*_rel`` of the GEMM math precision), ``batch`` (requests per micro-batch),
        ``input_len``, ``output_len``, ``queue`` (requests queued per lane), ``capacity``
        (requests the KV cache holds per attention rank), ``concurrency_rank``,
        ``interference`` (1 aggregated, 0 disaggregated), ``kv_transfer_s``.
    p : dict
        :data:`SERVING_PARAMETERS` (scalars or arrays, e.g. per-row engine overheads).

    Returns
    -------
    dict of numpy.ndarray
        ``prefill_s`` (one prompt alone, with the request's host time), ``prefill_service_s``
        (the GPU time one prompt adds to a batched prefill step of ``prefill_budget`` tokens:
        its compute, its share ``n/B`` of the weight reads and step overheads),
        ``decode_step_s``, ``ttft_s``, ``tpot_s`` and the terms
        ``decode_floor_s`` (the memory floor of the step), ``decode_gemm_s``, ``decode_moe_s``,
        ``decode_attn_s``, ``decode_comm_s``, ``decode_overhead_s``, ``interference_s``,
        ``queue_s``, ``capacity_wait_s``, ``kv_transfer_s``.
    """
    eta_g = p["eta_gemm"] * g["math_rel"]
    eta_m = p["eta_mem"]
    tp, pp, ep = g["tp"], g["pp"], g["ep"]

    def stage(tokens, moe_tokens, keys, kv_tokens, fpk, share=1.0, routed=None):
        """One stage: `tokens` tokens of one rank, each attending `keys` keys, `kv_tokens` cache reads;
        `share`: the part of the weight reads these tokens pay (1 alone; n/B in a batched step of B tokens)."""
        t_gemm = roofline(2.0 * g["gemm_params"] * tokens, g["gemm_weight_bytes"] * share, g["peak_gemm"],
                          g["bandwidth"], eta_g, eta_m)
        # experts the step touches (`routed` tokens of the whole step when these share it)
        frac = expected_active_experts(moe_tokens if routed is None else routed, g["experts"],
                                       g["top_k"]) / np.maximum(g["experts"], 1.0)
        expert_bytes = g["expert_weight_bytes"] * frac * share
        # grouped expert GEMMs pad each active expert's tokens to a tile of M rows: at small
        # batch every active expert costs a tile's FLOPs (CUTLASS/DeepGEMM grouped GEMMs)
        rows = np.maximum(moe_tokens * g["top_k"], p["tile_tokens"] * frac * g["experts"] * share)
        t_moe = roofline(g["moe_flops_per_token"] / np.maximum(g["top_k"], 1.0) * rows, expert_bytes,
                         g["peak_gemm"], g["bandwidth"], eta_g * p["eta_moe"] / p["eta_gemm"], eta_m)
        # sliding-window layers attend at most `window` keys (their share of the layers)
        win = np.where(g["window"] > 0, np.minimum(keys, np.maximum(g["window"], 1.0)) / np.maximum(keys, 1e-9), 1.0)
        keep = 1.0 - g["window_share"] * (1.0 - win)
        kv_bytes = g["kv_bytes_per_token"] * kv_tokens * keep
        t_attn = roofline(fpk * tokens * keys * keep, kv_bytes, g["peak_attn"],
                          g["bandwidth"], p["eta_attn"], eta_m * p["eta_kv_rel"])
        # Megatron TP: two all-reduces of the layer's activations per layer (Shoeybi et al. 2019);
        # expert parallelism: dispatch and combine all-to-alls per MoE layer (GShard).
        msg = tokens * g["d_model"] * g["act_bytes"]
        # inference engines all-reduce small messages in one shot (TensorRT-LLM's and vLLM's
        # custom all-reduce): one latency per collective, the ring's bandwidth term
        t_ar = 2.0 * g["layers"] * np.where(tp > 1, _ring(msg, tp, g["link_bw"] * p["eta_link"], 0.0)
                                            + p["alpha_link_s"], 0.0)
        a2a = moe_tokens / g["attention_dp"] * g["top_k"] * g["d_model"] * g["act_bytes"]
        t_a2a = np.where(ep > 1, 2.0 * g["moe_layers"]
                         * (_alltoall(a2a, ep, g["a2a_bw"] * p["eta_link"], 0.0) + p["alpha_link_s"]), 0.0)
        floor = (g["gemm_weight_bytes"] + expert_bytes + kv_bytes) / g["bandwidth"]
        return t_gemm, t_moe, t_attn, t_ar + t_a2a, floor

    # decode: `batch` requests per micro-batch, each reading its cache of the mean context
    b = g["batch"]
    ctx = g["input_len"] + 0.5 * g["output_len"]
    d_gemm, d_moe, d_attn, d_comm, d_floor = stage(b, b * g["attention_dp"], ctx, b * ctx,
                                                   g.get("attn_flops_per_key_decode", g["attn_flops_per_key"]))
    d_over = p["t_step_s"] + p["t_layer_s"] * g["layers"]
    # a token crosses the pp stages in turn; the other micro-batches fill the pipeline
    decode_step = pp * (d_gemm + d_moe + d_attn + d_comm + d_over)
    # prefill of one prompt of n tokens: causal attention over (n+1)/2 keys on average
    n = g["input_len"]
    f_gemm, f_moe, f_attn, f_comm, _ = stage(n, n, 0.5 * (n + 1.0), n, g["attn_flops_per_key"])
    prefill = pp * (f_gemm + f_moe + f_attn + f_comm + d_over) + p["t_request_s"]
    # under load the engine batches the queued prompts into steps of `prefill_budget` tokens
    # (chunked prefill's max-num-batched-tokens): each prompt pays its share n/B of the weight
    # reads and of the step overheads, the host's per-request work overlaps the GPU (it is in
    # the request's own TTFT, not in the time other requests wait behind it)
    budget = np.maximum(p["prefill_budget"], n)
    share = n / budget
    s_gemm, s_moe, s_attn, s_comm, _ = stage(n, n, 0.5 * (n + 1.0), n, g["attn_flops_per_key"], share, budget)
    service = pp * (s_gemm + s_moe + s_attn + s_comm + d_over * share)
    out = continuous_batching(prefill, decode_step, g, p, service)
    zero = 0.0 * b
    return {
        "prefill_s": prefill, "prefill_service_s": service, "decode_step_s": decode_step, **out,
        "decode_floor_s": pp * d_floor, "decode_gemm_s": pp * d_gemm, "decode_moe_s": pp * d_moe,
        "decode_attn_s": pp * d_attn, "decode_comm_s": pp * d_comm, "decode_overhead_s": pp * d_over + zero,
    }


def continuous_batching(prefill_s, decode_step_s, g: dict, p: dict, service_s=None) -> dict:
    """TTFT and TPOT of a closed loop under continuous batching, from the prefill and step times.

    The closed loop's requests drift apart (each restarts when it ends), so arrivals at a
    prefill lane look random: ``n`` requests in flight per lane, each cycling in
    ``T = t_prefill + (OSL − 1)·TPOT``, arrive at ``λ = n/T``. Then

    * ``TPOT = t_step + ι·b·t_serve/OSL``: the ``b`` requests of a micro-batch restart every
      OSL steps, so ``b/OSL`` prefills join each step (chunked prefill shares steps with
      decode; 0 on disaggregated decode workers);
    * ``TTFT = t_prefill + s·t_step + W + q_w·(n − 1)·t_serve/pp + t_kv + W_cap``: the step in
      flight when the request comes (``s``), the benchmark's first wave (its clients start
      together; ``q_w`` is half the share of requests in that wave), the M/D/1 wait of the prefill lane ``W = q·ρ/(1 − ρ)·t_serve/pp`` with
      ``ρ = λ·t_serve/pp`` (Pollaczek-Khinchine, ``q = 1/2`` for deterministic service),
      the KV transfer ``t_kv`` of disaggregated serving, and the admission wait ``W_cap`` of
      :func:`capacity_wait` when the KV cache holds fewer requests than are in flight.

    The queue, the first wave and the decode steps' interference are paid in ``t_serve``, the
    GPU time a prompt adds to a batched prefill step (``prefill_service_s`` of
    :func:`serving_step_times`), not in ``t_prefill``: queued prompts share a step's weight
    reads and overheads, and one request's host work (tokenization, admission) does not hold
    up the others. Without ``service_s`` both are the same.

    Parameters
    ----------
    prefill_s, decode_step_s : array_like
        Prefill time of one prompt and decode step time of the running batch [s].
    service_s : array_like, optional
        GPU time one prompt adds to a batched prefill step [s] (default ``prefill_s``).
    g : dict
        ``batch`` (requests per micro-batch), ``pp``, ``output_len``, ``queue`` (requests in
        flight per prefill lane), ``concurrency_rank``, ``capacity``, ``interference`` (1 or
        0), ``kv_transfer_s``, ``step_in_flight`` (1 aggregated, 0 disaggregated).
    p : dict
        ``iota``, ``q_queue`` and ``s_step`` of :data:`SERVING_PARAMETERS`.

    Returns
    -------
    dict
        ``ttft_s``, ``tpot_s``, ``interference_s``, ``queue_s``, ``capacity_wait_s``,
        ``kv_transfer_s``, ``utilization`` (ρ of the prefill lane).

    Examples
    --------
    A 100 ms prefill, 20 ms steps, 8 requests, 1024 output tokens, no capacity limit:
    ``TPOT = 0.02 + 0.75·8·0.1/1024 = 0.0205859``; ``T = 0.1 + 1023·TPOT``, ``ρ = 8·0.1/T``,
    ``TTFT = 0.1 + 1·0.02 + 0.5·ρ/(1 − ρ)·0.1 + 0.05·7·0.1``

    >>> g = dict(batch=8, pp=1, output_len=1024, queue=8, concurrency_rank=8, capacity=100,
    ...          interference=1, kv_transfer_s=0.0, step_in_flight=1)
    >>> r = continuous_batching(0.1, 0.02, g, {"iota": 0.75, "q_queue": 0.5, "s_step": 1.0, "q_wave": 0.05})
    >>> round(float(r["tpot_s"]), 7), round(float(r["ttft_s"]), 6)
    (0.0205859, 0.156965)
    """
    b, pp, osl = g["batch"], g["pp"], g["output_len"]
    service_s = prefill_s if service_s is None else service_s
    interference = p["iota"] * g["interference"] * b * service_s / osl
    tpot = decode_step_s + interference
    cycle = prefill_s + np.maximum(osl - 1.0, 0.0) * tpot
    lane_s = service_s / pp
    rho = np.minimum(g["queue"] / cycle * lane_s, 0.98)
    queue = p["q_queue"] * rho / (1.0 - rho) * lane_s
    # the benchmark's first wave: the clients start together, so 1 request in 1/q_wave waits
    # behind the other prefills of its lane (mean (n − 1)/2 of them)
    wave = p["q_wave"] * np.maximum(g["queue"] - 1.0, 0.0) * lane_s
    ttft0 = prefill_s + p["s_step"] * g["step_in_flight"] * decode_step_s + queue + wave + g["kv_transfer_s"]
    wait = capacity_wait(g["concurrency_rank"], g["capacity"], ttft0 + np.maximum(osl - 1.0, 0.0) * tpot)
    zero = 0.0 * (ttft0 + tpot)
    return {"ttft_s": ttft0 + wait, "tpot_s": tpot, "interference_s": interference + zero,
            "queue_s": queue + wave + zero, "capacity_wait_s": wait + zero,
            "kv_transfer_s": g["kv_transfer_s"] + zero, "utilization": rho + zero}
