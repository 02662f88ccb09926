"""LLM serving: worked KV-cache and decode-floor numbers, the reader, the fit, the API."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import plaster_model as pm
from plaster_model.calibration.serving import ServingCalibration, fit_serving, serving_inputs
from plaster_model.estimators.serving import (SERVING_PARAMETERS, capacity_wait, expected_active_experts,
                                              kv_capacity_requests)
from plaster_model.io.readers.llm_serving import read_llm_serving
from plaster_model.serving.engines import ENGINE_PRIORS
from plaster_model.serving.layout import model_shape, serving_geometry


# --------------------------------------------------------------------------- worked numbers
def test_kv_bytes_per_token_llama_gqa_from_config():
    # Llama-3.1-70B config: 80 layers, 8 KV heads (GQA), head_dim 8192/64 = 128.
    # K and V per layer per token: 2 x 8 x 128 = 2048 elements; x 80 layers = 163,840 elements;
    # bf16 (2 B) = 327,680 B per token. Under tp=8 each rank holds one KV head: 40,960 B.
    s = model_shape(pm.load_model("Llama-3.1-70B").transformer)
    assert s["kv_elems_per_token"] * 2 == 327_680
    g = serving_geometry(s, tp=8, pp=1, attention_dp=1, ep=1, weight_bytes=1, moe_weight_bytes=1, kv_bytes=2)
    assert float(g["kv_bytes_per_token"]) == 40_960


def test_kv_bytes_per_token_deepseek_mla_from_config():
    # DeepSeek-V3 config: 61 layers, kv_lora_rank 512, qk_rope_head_dim 64. MLA caches the
    # latent and the shared rope key: 512 + 64 = 576 elements per layer per token;
    # 61 x 576 = 35,136 elements = 70,272 B in bf16. Every TP rank keeps the whole latent.
    cfg = pm.load_model("DeepSeek-V3").transformer
    assert (cfg.kv_lora_rank, cfg.qk_rope_head_dim, cfg.n_layers) == (512, 64, 61)
    s = model_shape(cfg)
    assert s["kv_elems_per_token"] * 2 == 70_272
    g = serving_geometry(s, tp=8, pp=1, attention_dp=1, ep=1, weight_bytes=1, moe_weight_bytes=1, kv_bytes=2)
    assert float(g["kv_bytes_per_token"]) == 70_272


def test_decode_memory_floor_llama70b_fp8_h200():
    # Case: Llama-3.1-70B, fp8 weights, bf16 KV cache, one H200 (4.8 TB/s), 16 requests in
    # flight, prompt 1536 + 1024 generated -> mean cached context 1536 + 1024/2 = 2048 tokens.
    # GEMM weights read every step (from the config, per layer):
    #   qkv 8192 x (64 + 2 x 8) x 128 = 83,886,080; o 8192 x 8192 = 67,108,864;
    #   up 8192 x 2 x 28672 = 469,762,048; down 28672 x 8192 = 234,881,024
    #   -> 855,638,016 per layer x 80 = 68,451,041,280, + LM head 128,256 x 8192 = 1,050,673,152
    #   -> 69,501,714,432 B in fp8.
    # KV read per step: 16 x 2048 x 327,680 B = 10,737,418,240 B.
    # Floor = (69,501,714,432 + 10,737,418,240) / 4.8e12 = 16.7165 ms.
    expected = (69_501_714_432 + 16 * 2048 * 327_680) / 4.8e12
    r = pm.predict_serving("Llama-3.1-70B", "H200", tp=1, input_len=1536, output_len=1024, concurrency=16,
                           precision={"weights": "fp8", "activations": "fp8", "kv_cache": "bf16"})
    assert r.terms["batch"] == 16
    assert r.terms["decode_floor_s"] == pytest.approx(expected, rel=1e-9)
    assert r.tpot_s > expected  # the floor is a lower bound of the step
    # tensor parallelism over 2 splits the weights and the KV heads: half the floor
    r2 = pm.predict_serving("Llama-3.1-70B", "H200", tp=2, input_len=1536, output_len=1024, concurrency=16,
                            precision={"weights": "fp8", "activations": "fp8", "kv_cache": "bf16"})
    assert r2.terms["decode_floor_s"] == pytest.approx(expected / 2, rel=1e-9)


def test_expected_active_experts_and_capacity_wait():
    # one token touches exactly k experts; T tokens: E(1 - (1 - k/E)^T)
    assert float(expected_active_experts(1, 256, 8)) == pytest.approx(8.0)
    assert float(expected_active_experts(2, 4, 2)) == pytest.approx(4 * (1 - 0.5 ** 2))
    assert float(expected_active_experts(10, 0, 0)) == 0.0
    # Little's law: 300 clients served 100 at a time, 20 s each -> wait (300/100 - 1) x 20 s
    assert float(capacity_wait(300, 100, 20.0)) == 40.0
    assert float(capacity_wait(50, 100, 20.0)) == 0.0
    # the pool is 0.9 of what weights and reserve leave: 0.9 x (80e9 - 35e9 - 2e9) / 2^30 = 36.04 -> 36
    assert int(kv_capacity_requests(80e9, 35e9, 2 ** 30, 0.9, 2e9)) == 36
    # DeepSeek-V3 fp8 on 4 x B200 (168 GB of weights per 180 GB GPU) ran 32 requests of 8k tokens in
    # the shared rows: 0.9 x (180 - 168 - 3) GB = 8.1 GB holds 8.1e9 / (8704 x 35,136 B) = 26 such caches
    # (MLA latent 576 x 61 layers x 1 B = 35,136 B per token); 0.9 x 180 - 168 - 3 < 0 would refuse it
    assert int(kv_capacity_requests(180e9, 168e9, 8704 * 35136, 0.9, 3e9)) == 26


def test_refuses_what_does_not_fit():
    # bf16 Llama-3.1-70B: 139 GB of GEMM weights on one 80 GB H100
    with pytest.raises(pm.PlasterError, match="weights"):
        pm.predict_serving("Llama-3.1-70B", "H100", tp=1, precision="bf16")
    with pytest.raises(pm.errors.MemoryFitError, match="KV cache"):
        # 8B in bf16 (16 GB) fits an H100, a 2M-token context's cache (128 KiB/token = 275 GB) does not
        pm.predict_serving("Llama-3.1-8B", "H100", input_len=2_000_000, output_len=1000)
    with pytest.raises(pm.ParameterError, match="ep"):
        pm.predict_serving("Llama-3.1-8B", "H100", tp=2, ep=2)
    with pytest.raises(pm.ParameterError, match="mode"):
        pm.predict_serving("Llama-3.1-8B", "H100", mode="split")


def test_fp4_on_hopper_falls_back_with_a_stated_rule():
    r = pm.predict_serving("Llama-3.1-8B", "H100", precision="fp4", concurrency=4)
    assert any("no fp4 peak" in a for a in r.assumptions)
    assert r.precision["weights"] == "nvfp4"


def test_prediction_fields_and_throughput_definition():
    r = pm.predict_serving("Llama-3.1-8B", "H200", precision="fp8", concurrency=8, engine="vLLM")
    assert r.tokens_s_per_user == pytest.approx(1 / r.tpot_s)
    # closed loop: C x OSL / (TTFT + TPOT x (OSL - 1))
    assert r.throughput_tokens_s == pytest.approx(8 * 1024 / (r.ttft_s + r.tpot_s * 1023))
    assert r.throughput_tokens_s_per_gpu == pytest.approx(r.throughput_tokens_s / r.gpus)
    assert r.ttft_interval_s[0] < r.ttft_s < r.ttft_interval_s[1]
    df = r.to_frame()
    assert {"ttft_s", "tpot_s", "kv_capacity_requests", "ttft_low_s"} <= set(df.columns)
    # more requests in flight: a longer decode step
    r2 = pm.predict_serving("Llama-3.1-8B", "H200", precision="fp8", concurrency=64, engine="vLLM")
    assert r2.tpot_s > r.tpot_s


def test_disaggregated_adds_kv_transfer_and_no_interference():
    kw = dict(precision="fp8", input_len=8192, output_len=1024, concurrency=32)
    d = pm.predict_serving("Llama-3.1-70B", "H200", tp=4, mode="disaggregated",
                           prefill={"tp": 4, "workers": 1}, decode={"tp": 4, "workers": 1}, **kw)
    assert d.gpus == 8
    # KV of the prompt crosses the network: 8192 x 163,840 elements x 1 B (fp8) / (4 GPUs x 50 GB/s)
    assert d.terms["kv_transfer_s"] == pytest.approx(8192 * 163_840 / (4 * 50e9))
    assert d.terms["interference_s"] == 0.0


def test_serving_sweep_is_vectorized_and_matches_scalar():
    conc = np.array([1, 8, 64])
    df = pm.serving_sweep("Llama-3.1-8B", "H100", tp=1, concurrency=conc, precision="fp8")
    for c, row in zip(conc, df.itertuples()):
        r = pm.predict_serving("Llama-3.1-8B", "H100", tp=1, concurrency=int(c), precision="fp8")
        assert row.tpot_s == pytest.approx(r.tpot_s) and row.ttft_s == pytest.approx(r.ttft_s)


def test_best_serving_front_within_budgets():
    front = pm.best_serving("Llama-3.1-70B", "H200", n_devices=8, tpot_budget=0.05, ttft_budget=2.0)
    assert len(front) >= 1 and front.attrs["evaluated"] > len(front)
    assert (front["tpot_s"] <= 0.05).all() and (front["ttft_s"] <= 2.0).all()
    # a front: tokens/s per user rises while tokens/s per GPU falls
    assert front["tokens_s_per_user"].is_monotonic_increasing
    assert front["tokens_s_per_gpu"].is_monotonic_decreasing
    with pytest.raises(pm.ParameterError, match="budget"):
        pm.best_serving("Llama-3.1-70B", "H200", n_devices=8, tpot_budget=1e-6)


# --------------------------------------------------------------------------- reader
_HEADER = ("source,source_detail,origin_dump,model,framework,framework_image,device,n_devices,n_devices_basis,"
           "mode,prefill_workers,decode_workers,tensor_parallel,pipeline_parallel,attention_dp,"
           "moe_tensor_parallel,expert_parallel,parallel_basis,parallel_layout,parallel_flags,precision,"
           "precision_detail,kv_cache_precision,input_len,output_len,concurrency,batch_size,ttft_ms,tpot_ms,"
           "throughput_tokens_s,measured_date,dup_group,dup_count,notes,aic_backend,aic_backend_version,"
           "aic_precision,aic_gemm_quant_mode,aic_moe_quant_mode")


def _row(i, dup, basis="as stated", tp="2", ttft="100.5", mode="aggregated", layout="tp2 pp1 adp1 moe_tp2 moe_ep1"):
    return (f"s,row {i},d,meta-llama/Llama-3.1-8B-Instruct,vLLM 0.17.0,,H100 SXM,2,b,{mode},,,{tp},1,1,,,{basis},"
            f"{layout},,fp8,x,not stated,1024,1024,8,8,{ttft},5.5,,,{dup},2,,vllm,0.17.0,fp8,fp8,")


def test_reader_long_rows_and_dedup(tmp_path):
    # rows 1 and 2 are one measurement (dup_group 1) in two encodings; row 3 is another
    text = "\n".join([_HEADER, _row(1, 1, basis="not resolved", tp=""), _row(2, 1), _row(3, 3, ttft="80")]) + "\n"
    p = tmp_path / "serving.csv"
    p.write_text(text)
    assert pm.io.readers.read.sniff_format(p) == "llm_serving"
    df = pm.read_measurements(p)
    assert len(df) == 4 and sorted(df.metric.unique()) == ["tpot_ms", "ttft_ms"]
    kept = df[df.dup_group == 1]
    assert set(kept.line) == {3}  # the copy with stated fields (file line 3) is kept
    assert kept.tp.iloc[0] == 2 and kept.engine.iloc[0] == "vLLM"
    assert df.loc[(df.dup_group == 3) & (df.metric == "ttft_ms"), "value"].iloc[0] == 80
    assert set(df.precision) == {"fp8"} and set(df.weight_precision) == {"fp8"}
    full = read_llm_serving(p, deduplicate=False)
    assert len(full) == 6


def test_reader_refuses_bad_cells(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("\n".join([_HEADER, _row(1, 1, ttft="-3")]) + "\n")
    with pytest.raises(pm.ParseError, match="ttft_ms"):
        read_llm_serving(p)


def test_reader_on_shared_rows(shared_dir):
    path = shared_dir / "data" / "llm_inference" / "serving_sample.csv"
    if not path.is_file():
        pytest.skip("shared serving rows absent")
    df = pm.read_measurements(path)
    # README: 3,936 rows hold 3,119 distinct measurements -> 2 metric rows each
    assert len(df) == 2 * 3119
    assert df.groupby("metric").dup_group.nunique().to_dict() == {"tpot_ms": 3119, "ttft_ms": 3119}


# --------------------------------------------------------------------------- fit
def _synthetic_rows(true_params: dict, engines: dict) -> pd.DataFrame:
    """Rows whose values the model itself gives under `true_params` (the fit must recover them)."""
    recs, dup = [], 0
    for model in ("Llama-3.1-8B", "Llama-3.1-70B", "Qwen3-235B-A22B"):
        for device in ("H100", "H200"):
            for engine in engines:
                for tp, conc, isl in ((4, 4, 1024), (4, 32, 1024), (8, 16, 8192), (8, 128, 1024)):
                    dup += 1
                    ep = tp if model.startswith("Qwen") else 1
                    base = dict(model=model, device=device, engine=engine, framework=engine, mode="aggregated",
                                tp=tp, pp=1, attention_dp=1, ep=ep, concurrency=conc, input_len=isl,
                                output_len=1024, weight_precision="fp8",
                                moe_weight_precision="fp8" if ep > 1 else "", activation_precision="fp8",
                                dup_group=dup, phase="inference", source="synthetic", file="mem")
                    recs.append({**base, "metric": "ttft_ms", "value": 1.0})
                    recs.append({**base, "metric": "tpot_ms", "value": 1.0})
    df = pd.DataFrame(recs)
    from plaster_model.calibration.serving import predict_inputs
    t, inp, _ = serving_inputs(df)
    ev = {k: np.array([engines[e][k] for e in t.engine_name]) for k in engines["vLLM"]}
    out = predict_inputs(inp, {**SERVING_PARAMETERS, **true_params}, ev)
    ttft = dict(zip(t.index, out["ttft_s"] * 1e3))
    tpot = dict(zip(t.index, out["tpot_s"] * 1e3))
    df["value"] = [ttft[g] if m == "ttft_ms" else tpot[g] for g, m in zip(df.dup_group, df.metric)]
    return df


def test_fit_recovers_synthetic_rows_and_round_trips(tmp_path):
    true = {"eta_gemm": 0.45, "eta_mem": 0.65, "iota": 0.5}
    engines = {"vLLM": {**ENGINE_PRIORS["vLLM"], "t_step_s": 4e-3}, "SGLang": ENGINE_PRIORS["SGLang"]}
    df = _synthetic_rows(true, engines)
    cal = fit_serving(df, max_nfev=40)
    pred = cal.predict_rows(df)
    err = np.abs(pred.tpot_pred_ms / pred.tpot_ms - 1)
    assert np.median(err) < 0.03
    err = np.abs(pred.ttft_pred_ms / pred.ttft_ms - 1)
    assert np.median(err) < 0.05
    # the serving fit rides on a Calibration: fit, predict, save, load
    c = pm.Calibration(n_bootstrap=0).fit(df)
    assert isinstance(c.serving_, ServingCalibration)
    out = c.predict(df)
    assert np.all(np.isfinite(out["value"])) and np.all(out["value_low"] <= out["value"])
    rt = ServingCalibration.from_dict(c.serving_.to_dict())
    assert rt.params == c.serving_.params
    r = pm.predict_serving("Llama-3.1-70B", "H200", tp=4, precision="fp8", concurrency=16, engine="SGLang",
                           calibration=c)
    lo, hi = r.tpot_interval_s
    assert lo < r.tpot_s < hi
    # an engine the fit has not seen: shared overheads, a wider interval
    u = pm.predict_serving("Llama-3.1-70B", "H200", tp=4, precision="fp8", concurrency=16, engine="MyEngine",
                           calibration=c)
    assert (u.tpot_interval_s[1] / u.tpot_interval_s[0]) > (hi / lo)
    assert any("not in the calibration" in a for a in u.assumptions)


def test_cli_serve_plan(capsys):
    from plaster_model.cli import main
    assert main(["serve-plan", "--model", "Llama-3.1-8B", "--device", "H100", "--gpus", "2",
                 "--tpot-ms", "50", "--precision", "fp8", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("precision,tp,pp")
    assert main(["serve-plan", "--model", "Llama-3.1-8B", "--device", "H100", "--tp", "1",
                 "--concurrency", "4"]) == 0
    assert "TPOT" in capsys.readouterr().out


# --------------------------------------------------------------------------- prefill under load
def _toy_dense_g(n_tokens):
    """A dense GEMM-only stage: 1e9 fp8 weights (1 B each), 1 PFLOP/s, 1 TB/s, no attention."""
    z = 0.0
    return dict(gemm_params=1e9, gemm_weight_bytes=1e9, expert_params=z, expert_weight_bytes=z, experts=z,
                top_k=z, moe_flops_per_token=z, attn_flops_per_key=z, kv_bytes_per_token=z, window=z,
                window_share=z, layers=1.0, moe_layers=z, d_model=4096.0, act_bytes=2.0, tp=1.0, pp=1.0,
                attention_dp=1.0, ep=1.0, peak_gemm=1e15, peak_attn=1e15, bandwidth=1e12, link_bw=1e11,
                a2a_bw=1e11, math_rel=1.0, batch=1.0, input_len=float(n_tokens), output_len=1024.0, queue=1.0,
                capacity=100.0, concurrency_rank=1.0, interference=1.0, kv_transfer_s=0.0, step_in_flight=1.0)


def test_batched_prefill_service_pays_its_share_of_the_weight_reads():
    from plaster_model.estimators.serving import serving_step_times
    p = {**SERVING_PARAMETERS, "eta_gemm": 1.0, "eta_mem": 1.0, "t_step_s": 0.0, "t_layer_s": 0.0,
         "t_request_s": 5e-3, "prefill_budget": 8192.0}
    # 256 tokens alone: max(2·1e9·256 / 1e15, 1e9 B / 1e12 B/s) = max(0.512 ms, 1 ms) = 1 ms (memory-bound),
    # plus the 5 ms of host work of the request
    r = serving_step_times(_toy_dense_g(256), p)
    assert float(r["prefill_s"]) == pytest.approx(1e-3 + 5e-3)
    # batched with other prompts into 8192-token steps it pays 256/8192 of the weight read:
    # max(0.512 ms, 1e9·256/8192 / 1e12 = 0.03125 ms) = 0.512 ms (compute-bound), no host time
    assert float(r["prefill_service_s"]) == pytest.approx(0.512e-3)
    # a prompt as long as the budget fills a step alone: the same GPU time, without the host's 5 ms
    r = serving_step_times(_toy_dense_g(8192), p)
    assert float(r["prefill_s"]) - float(r["prefill_service_s"]) == pytest.approx(5e-3)


def test_continuous_batching_queues_behind_the_service_time():
    from plaster_model.estimators.serving import continuous_batching
    g = dict(batch=8, pp=1, output_len=1024, queue=8, concurrency_rank=8, capacity=100, interference=1,
             kv_transfer_s=0.0, step_in_flight=1)
    p = {"iota": 1.0, "q_queue": 0.5, "s_step": 1.0, "q_wave": 0.05}
    r = continuous_batching(0.1, 0.02, g, p, service_s=0.04)
    # TPOT = step + ι·b·service/OSL = 0.02 + 8·0.04/1024
    tpot = 0.02 + 8 * 0.04 / 1024
    assert float(r["tpot_s"]) == pytest.approx(tpot)
    # cycle T = prefill + 1023·TPOT; ρ = 8·0.04/T; TTFT = prefill + step + ½ρ/(1−ρ)·0.04 + 0.05·7·0.04
    cycle = 0.1 + 1023 * tpot
    rho = 8 * 0.04 / cycle
    assert float(r["ttft_s"]) == pytest.approx(0.1 + 0.02 + 0.5 * rho / (1 - rho) * 0.04 + 0.05 * 7 * 0.04)


def test_evaluate_mixed_modes_and_cache_match_one_by_one():
    from plaster_model.serving.core import evaluate
    shape = model_shape(pm.load_model("Llama-3.1-70B").transformer)
    hw = {"memory_bytes": 141e9, "bandwidth": 4.8e12, "peak_gemm": 1.979e15, "peak_attn": 0.989e15,
          "link_bw": 450e9, "inter_bw": 50e9, "devices_per_node": 8.0}
    arr = np.array
    lay = {f"{r}_{k}": arr(v, float) for r in ("prefill", "decode")
           for k, v in (("tp", [4, 4]), ("pp", [1, 1]), ("attention_dp", [1, 1]), ("ep", [1, 1]),
                        ("workers", [1, 2]))}
    prec = {"weight_bytes": arr([1.0, 1.0]), "moe_weight_bytes": arr([1.0, 1.0]), "kv_bytes": arr([1.0, 1.0]),
            "math_rel": arr([0.85, 0.85])}
    wl = {"input_len": arr([1024.0, 8192.0]), "output_len": arr([1024.0, 1024.0]),
          "concurrency": arr([16.0, 32.0]), "disaggregated": arr([False, True])}
    cache: dict = {}
    both = evaluate(shape, hw, lay, prec, wl, SERVING_PARAMETERS, cache=cache)
    again = evaluate(shape, hw, lay, prec, wl, SERVING_PARAMETERS, cache=cache)
    assert "roles" in cache
    for i in range(2):
        one = evaluate(shape, hw, {k: v[i] for k, v in lay.items()}, {k: v[i] for k, v in prec.items()},
                       {k: v[i] for k, v in wl.items()}, SERVING_PARAMETERS)
        for k in ("ttft_s", "tpot_s", "prefill_s", "prefill_service_s"):
            assert both[k][i] == pytest.approx(float(one[k])) and again[k][i] == both[k][i]


def test_sparse_jacobian_moves_parameters_that_start_at_zero():
    from scipy.sparse import csc_matrix

    from plaster_model.calibration.serving import _sparse_jacobian
    a = np.array([2.0, -3.0, 0.5])
    # residuals linear in θ: r = a·θ (one row per parameter) — a forward difference is exact; scipy's
    # relative step is ~1e-8 at θ = 0 (or nothing at −1e-22), this absolute one is 1e-3
    fun, jac = _sparse_jacobian(lambda th: a * th, csc_matrix(np.eye(3)), np.full(3, 6.0))
    th = np.array([0.0, -1e-22, 5.9995])   # the last sits within a step of its upper bound: steps down
    fun(th)
    np.testing.assert_allclose(jac(th).toarray(), np.diag(a), rtol=1e-9)


def test_reader_infers_attention_dp_from_the_moe_group(tmp_path):
    # attention_dp blank, tp1 with moe_tp2: the experts span moe_tp·ep = 2 GPUs = tp·attention_dp,
    # so the worker ran 2 attention-DP ranks; a stated attention_dp (row 2) is kept as stated
    def row(i, adp, moe_tp):
        return (f"s,row {i},d,Qwen/Qwen3-235B-A22B-FP8,vLLM 0.12.0,,H200 SXM,1,b,aggregated,,,1,1,{adp},{moe_tp},1,"
                f"as stated,tp1 pp1 adp? moe_tp{moe_tp} moe_ep1,,fp8,x,not stated,1000,100,8,8,357,55,,,{i},1,,"
                "vllm,0.12.0,fp8,fp8,fp8")
    header = _HEADER + ",aic_attention_dp_size"
    p = tmp_path / "moe.csv"
    p.write_text("\n".join([header, row(1, "", 2) + ",", row(2, "1", 4) + ",1", row(3, "", 1) + ","]) + "\n")
    df = read_llm_serving(p).drop_duplicates("dup_group").set_index("dup_group")
    assert df.loc[1, "attention_dp"] == 2 and "inferred" in df.loc[1, "notes"]
    assert df.loc[2, "attention_dp"] == 1  # stated: not overridden
    assert np.isnan(df.loc[3, "attention_dp"])  # moe_tp·ep = tp: nothing to infer, left unstated


def test_interval_widens_for_a_gpu_absent_from_the_fit():
    # residual quantiles ±0.2 (half-width 0.2); systems' spread 0.1: an absent GPU's half-width is
    # hypot(0.2, 1.645·0.1) = 0.2589, so the factors are exp(∓0.2589)
    cal = ServingCalibration(dict(SERVING_PARAMETERS), {}, 0.0, {"ttft_ms": (-0.2, 0.2), "tpot_ms": (-0.1, 0.1)},
                             100, devices=["H100", "H200"], system_spread={"ttft_ms": 0.1, "tpot_ms": 0.0})
    assert cal.knows_device("H100") and not cal.knows_device("B200")
    lo, hi = cal.interval("ttft_ms", True, known_device=True)
    assert (lo, hi) == pytest.approx((np.exp(-0.2), np.exp(0.2)))
    lo, hi = cal.interval("ttft_ms", True, known_device=False)
    w = np.hypot(0.2, 1.645 * 0.1)
    assert (lo, hi) == pytest.approx((np.exp(-w), np.exp(w)))
    assert ServingCalibration.from_dict(cal.to_dict()).system_spread == {"ttft_ms": 0.1, "tpot_ms": 0.0}
    # an older calibration file without devices knows every GPU (no widening)
    old = {k: v for k, v in cal.to_dict().items() if k not in ("devices", "system_spread")}
    assert ServingCalibration.from_dict(old).knows_device("B200")
    r = pm.predict_serving("Llama-3.1-70B", "B200", tp=4, precision="fp8", concurrency=16, calibration=cal)
    assert any("absent from the calibration" in a for a in r.assumptions)
    assert r.ttft_interval_s[1] / r.ttft_s == pytest.approx(np.exp(w))


def test_system_spread_is_the_rms_of_per_device_median_residuals():
    from plaster_model.calibration.serving import _system_spread
    res = np.array([0.1, 0.3, 0.2, -0.2, -0.2, 0.0])  # medians: A 0.2, B -0.2 -> RMS 0.2
    assert _system_spread(res, ["A", "A", "A", "B", "B", "B"]) == pytest.approx(0.2)
    assert _system_spread(res, ["A"] * 6) == 0.0


def test_rows_on_other_systems_resolve_or_drop_with_a_note(tmp_path):
    # aiconfigurator names systems "<gpu>_sxm"; the catalog knows A100 and GB200, not the
    # (made-up) Z99
    names = ["A100 SXM", "Z99 SXM", "GB200 SXM", "a100_sxm"]
    p = tmp_path / "systems.csv"
    p.write_text("\n".join([_HEADER, *(_row(i, i).replace("H100 SXM", d) for i, d in enumerate(names, 1))]) + "\n")
    df = pm.read_measurements(p)
    t, _, notes = serving_inputs(df)
    assert sorted(t.device) == ["A100 SXM", "GB200 SXM", "a100_sxm"]
    assert any("Z99 SXM" in n and "catalog lacks" in n for n in notes)
    cal = ServingCalibration(dict(SERVING_PARAMETERS), {}, 0.0, {"ttft_ms": (-0.2, 0.2), "tpot_ms": (-0.1, 0.1)},
                             100, devices=["H100"])
    pred = cal.predict_rows(df)
    assert len(pred) == 3 and not pred.device_known.any()  # none of them was in the fit
    assert cal.predict_rows(df[df.device == "Z99 SXM"]).empty  # nothing known to predict: empty, no error


def test_interval_widens_for_a_model_absent_from_the_fit():
    # a model the fit has not seen adds the models' spread in quadrature: hypot(0.2, 1.645 x 0.15)
    cal = ServingCalibration(dict(SERVING_PARAMETERS), {}, 0.0, {"ttft_ms": (-0.2, 0.2), "tpot_ms": (-0.1, 0.1)},
                             100, models=["Llama-3.1-8B", "Foo-7B"], model_spread={"ttft_ms": 0.15, "tpot_ms": 0.0})
    assert cal.knows_model("Llama-3.1-8B") and cal.knows_model("org/Foo-7B-NVFP4")  # re-quantised: same model
    assert not cal.knows_model("Llama-3.1-70B")
    w = np.hypot(0.2, 1.645 * 0.15)
    assert cal.interval("ttft_ms", True, True, known_model=False) == pytest.approx((np.exp(-w), np.exp(w)))
    r = pm.predict_serving("Llama-3.1-70B", "H200", tp=4, precision="fp8", concurrency=16, calibration=cal)
    assert any("models' spread" in a for a in r.assumptions)
    assert r.ttft_interval_s[1] / r.ttft_s == pytest.approx(np.exp(w))
    assert ServingCalibration.from_dict(cal.to_dict()).models == ["Llama-3.1-8B", "Foo-7B"]


def test_nvl72_tensor_parallel_stays_on_nvlink():
    # GB200 NVL72: a compute tray holds 4 GPUs but the NVLink Switch joins all 72 (the catalog's
    # scale_up_domain), so tp8 all-reduces run at the same 900 GB/s as inside a DGX B200: equal
    # collective terms for the same model, batch and precision (not the 50 GB/s per-GPU NIC)
    gb = pm.predict_serving("Llama-3.1-70B", "GB200", tp=8, precision="fp8", concurrency=16)
    b = pm.predict_serving("Llama-3.1-70B", "B200", tp=8, precision="fp8", concurrency=16)
    assert gb.terms["decode_comm_s"] == pytest.approx(b.terms["decode_comm_s"])
    from plaster_model.serving.hardware import resolve_hardware
    _, links, _ = resolve_hardware("GB200")
    assert (links["devices_per_node"], links["scale_up_domain"]) == (4, 72)
