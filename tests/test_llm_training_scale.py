"""LLM training at scale: LoRA fine-tuning, MoE parallel folding, NICs per scale-up domain,
clusters inside one ICI domain, tier-based link efficiencies, cost ranking (issue 23 follow-up)."""
import numpy as np
import pytest

import plaster_model as pm
from plaster_model.estimators.transformer import (lora_adapter_params, lora_model_flops_per_token,
                                                  model_flops_per_token, transformer_param_counts)
from plaster_model.parallel.placement import cluster_tiers


def _llama2_70b():
    return pm.load_model("Llama-2-70B").transformer


def test_lora_adapter_parameters_from_the_shapes():
    cfg = _llama2_70b()
    # Llama 2 70B: L 80, h 8192, 64 query heads × 128, 8 kv heads × 128 = 1024 columns each for K, V.
    # q: r(h + 8192), k: r(h + 1024), v: r(h + 1024), o: r(8192 + h) per layer
    r = 16
    per_layer = (8192 + 8192) + 2 * (8192 + 1024) + (8192 + 8192)
    assert lora_adapter_params(cfg, r) == 80 * r * per_layer == 65_536_000
    # "all" adds the gated MLP's three projections, r(h + f) each: 3·16·(8192 + 28672) per layer
    assert lora_adapter_params(cfg, r, "all") == 65_536_000 + 80 * 16 * 3 * (8192 + 28672)
    with pytest.raises(pm.ParameterError, match="lora_rank"):
        lora_adapter_params(cfg, 0)
    with pytest.raises(pm.ParameterError, match="lora_targets"):
        lora_adapter_params(cfg, 16, "mlp-only")


def test_lora_model_flops_drop_the_weight_gradients():
    cfg = _llama2_70b()
    # full training 6N + attention; LoRA: the frozen weights skip their weight-gradient GEMMs
    # (2N), the adapters train fully (6P)
    pc = transformer_param_counts(cfg)
    n = pc["active"] - pc["embedding"]
    full, lora = model_flops_per_token(cfg, 4096), lora_model_flops_per_token(cfg, 4096, 16)
    assert full - lora == pytest.approx(2 * n - 6 * 65_536_000, rel=1e-12)


def test_lora_memory_keeps_states_only_for_the_adapters():
    c = pm.Cluster.from_system("DGX H100", n_nodes=1)
    plan = pm.ParallelPlan(tp=8, micro_batch=1, recompute="full")
    with pytest.warns(pm.MemoryWarning):
        full = pm.predict_llm_training("Llama-2-70B", c, plan, global_batch=8, seq_len=4096, check_memory=False)
    lora = pm.predict_llm_training("Llama-2-70B", c, plan, global_batch=8, seq_len=4096, finetune="lora",
                                   lora_rank=16)
    p_adapt = 65_536_000 / 8  # the rank's TP share of the adapters
    # fp32 gradients (4 B) and Adam states (12 B) of the adapters only, no ZeRO (dp = 1)
    assert lora.memory_gradients_bytes == pytest.approx(4.0 * p_adapt, rel=1e-9)
    assert lora.memory_optimizer_bytes == pytest.approx(12.0 * p_adapt, rel=1e-9)
    # the frozen base is still held in 16 bits, plus the adapters' 16-bit copy
    assert lora.memory_weights_bytes == pytest.approx(full.memory_weights_bytes + 2.0 * p_adapt, rel=1e-9)
    # the full fine-tune needs 16 B per parameter: far beyond 80 GB on 8 GPUs; LoRA fits
    assert full.memory_per_device_bytes > c.device.memory_bytes > lora.memory_per_device_bytes
    assert "LoRA r=16" in lora.plan and any("LoRA r=16" in a for a in lora.assumptions)


def test_lora_step_is_faster_but_not_by_more_than_the_weight_gradients():
    c = pm.Cluster.from_system("DGX H100", n_nodes=1)
    plan = pm.ParallelPlan(tp=8, micro_batch=1, recompute="full")
    kw = dict(global_batch=8, seq_len=4096, check_memory=False)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = pm.predict_llm_training("Llama-2-70B", c, plan, **kw)
    lora = pm.predict_llm_training("Llama-2-70B", c, plan, finetune="lora", **kw)
    # per layer: full = fwd + 2·fwd + recomputed fwd (4 passes); LoRA skips the weight-gradient
    # half of the backward GEMMs only, so the compute lies between 3/4 and 1 of the full's
    ratio = lora.compute_time_s / full.compute_time_s
    assert 0.7 < ratio < 0.95
    # the data-parallel exchange and optimizer step shrink to the adapters' (here dp = 1: none)
    assert lora.optimizer_time_s < 0.01 * full.optimizer_time_s


def test_lora_through_best_plans():
    c = pm.Cluster.from_system("DGX H100", n_nodes=1)
    df = pm.best_plans("Llama-2-70B", c, global_batch=8, seq_len=8192, precision="fp8", top=3, finetune="lora")
    assert len(df) and df["fits_memory"].all() and df["plan"].str.contains("LoRA r=16").all()


def test_nics_count_per_scale_up_domain():
    # GB200 NVL72: 18 trays of 4 GPUs, 4 NICs per tray, one NVLink domain of 72: 72 NICs per domain
    L = cluster_tiers(pm.Cluster.from_system("GB200 NVL72", n_devices=144))
    assert (L.domain, L.nics) == (72, 72.0)
    # DGX H100: the domain is the node, 8 NICs
    L = cluster_tiers(pm.Cluster.from_system("DGX H100", n_nodes=4))
    assert (L.domain, L.nics) == (8, 8.0)


def test_pod_inside_one_ici_domain_needs_no_network():
    c = pm.Cluster.from_system("Cloud TPU v5p pod", n_devices=256)
    assert c.interconnect is None and c.n_nodes == 64 and c.bottleneck_link.name == "TPU v5p ICI"
    p = pm.predict_llm_training("Llama-2-70B", c, pm.ParallelPlan(zero=3, micro_batch=1, recompute="full"),
                                global_batch=256, seq_len=4096)
    assert any("DP group of 256 on TPU v5p ICI" in a for a in p.assumptions)
    # beyond the domain a network is still required
    with pytest.raises(pm.ParameterError, match="interconnect"):
        pm.Cluster.from_system("Cloud TPU v6e pod", n_devices=512)


def test_moe_parallel_folding_deepseek_v3():
    # DeepSeek-V3 on 1024 H100 as TP 2 × PP 16 × DP 32 with EP 64: 64 does not divide dp = 32, it
    # divides tp·dp = 64: the experts are folded over TP (expert_tp 1), 256/64 = 4 experts per rank
    c = pm.Cluster.from_system("DGX H100", n_nodes=128)
    plan = pm.ParallelPlan(tp=2, pp=16, ep=64, sp=True, micro_batch=1, zero=1)
    r = plan.resolve(1024, 8192)
    assert (r.dp, r.expert_tp) == (32, 1)
    p = pm.predict_llm_training("DeepSeek-V3", c, plan, global_batch=8192, seq_len=4096, precision="bf16")
    assert p.ep_comm_time_s > 0 and 0.05 < p.mfu < 0.6


def test_collective_efficiency_follows_the_link_tier():
    # the same TP 8 group on one DGX A100 node: only η_tp matters; a DP group across nodes only η_dp
    from plaster_model.parallel.step import DEFAULT_EFFICIENCIES
    from plaster_model.calibration.llm_training import LLMTrainingFit

    c = pm.Cluster.from_system("DGX A100 640GB", n_nodes=4)
    plan = pm.ParallelPlan(tp=8, sp=True, micro_batch=1, global_batch=64, dp_overlap=False)

    class Fixed(LLMTrainingFit):
        def __init__(self, **eff):
            super().__init__()
            self._eff = dict(DEFAULT_EFFICIENCIES, **eff)
            self.n_rows_, self.devices_ = 0, ()

        def efficiencies(self):
            return dict(self._eff)

        def interval_factors(self):
            return None

    base = pm.predict_llm_training("GPT-3 13B", c, plan, seq_len=2048, calibration=Fixed())
    slow_net = pm.predict_llm_training("GPT-3 13B", c, plan, seq_len=2048, calibration=Fixed(eta_dp=0.35))
    # halving η_dp doubles the exposed cross-node DP time (the α part is negligible) and leaves TP alone
    assert slow_net.tp_comm_time_s == pytest.approx(base.tp_comm_time_s, rel=1e-12)
    assert slow_net.dp_comm_time_s == pytest.approx(2 * base.dp_comm_time_s, rel=0.02)


def test_uninformed_network_efficiency_is_held_at_its_prior():
    # single-node rows carry no network traffic: eta_dp cannot be fitted and stays at 0.7
    import pandas as pd

    from plaster_model.calibration.llm_training import PRIORS, LLMTrainingFit, row_setup
    from plaster_model.parallel.step import llm_step

    recs = [dict(source="synthetic", model=f"GPT-h{h}-L{L}", device="A100", n_devices=tp * dp, devices_per_node=8,
                 precision="mixed", metric="time_per_iter_s", value=1.0, tensor_parallel=tp, pipeline_parallel=1,
                 data_parallel=dp, sequence_parallel=0, virtual_pipeline_stages=1, micro_batch=1, global_batch=8 * dp,
                 seq_len=1024, recompute="full", zero_stage=0, attention="materialized", hidden_size=h,
                 num_layers=L, num_attention_heads=16, ffn_hidden_size=4 * h)
            for L, h in ((12, 1024), (24, 2048)) for tp, dp in ((1, 8), (2, 4), (8, 1))]
    rows = pd.DataFrame(recs)
    setup = row_setup(rows)
    truth = dict(PRIORS and {k: v[0] for k, v in PRIORS.items()}, eta_c=0.5)
    rows["value"] = llm_step(setup["terms"], setup["hw"], setup["plan"], truth)["time_per_iter_s"]
    fit = LLMTrainingFit().fit(rows)
    assert "eta_dp" in fit.held_at_prior_ and fit.params_["eta_dp"] == PRIORS["eta_dp"][0]
    assert "eta_c" not in fit.held_at_prior_
    assert "held at the prior" in fit.summary()
    back = LLMTrainingFit.from_dict(fit.to_dict())
    assert back.held_at_prior_ == fit.held_at_prior_


def test_multinode_assumptions_are_stated():
    c = pm.Cluster.from_system("DGX H100", n_nodes=64)
    plan = pm.ParallelPlan(tp=8, pp=8, sp=True, micro_batch=1, zero=1, virtual_stages=4)
    p = pm.predict_llm_training("GPT-3 175B", c, plan, global_batch=2048, seq_len=2048, precision="fp8")
    text = " | ".join(p.assumptions)
    # 8 × 400 Gb/s NDR per 8-GPU node: 50 GB/s per GPU
    assert "8 × InfiniBand NDR ports per 8-device scale-up domain (50 GB/s per device" in text
    assert "reduced in fp32 (4 B/element" in text and "distributed optimizer" in text
    assert "PP point-to-point sends cross the network" in text


def test_best_plans_rank_by_cost():
    c = pm.Cluster.from_system("DGX A100 640GB", n_nodes=128)
    df = pm.best_plans("GPT-3 175B", c, global_batch=1536, seq_len=2048, top=5, rank_by="cost",
                       price_per_device_hour=2.0, device_counts=[256, 512, 1024], tokens=300e9)
    # cost of a step: price · devices · seconds / 3600; per million tokens of 1536·2048 per step
    want = 2.0 * df["n_devices"] * df["time_per_iter_s"] / 3600
    assert np.allclose(df["cost_per_step"], want)
    assert np.allclose(df["cost_per_million_tokens"], want / (1536 * 2048) * 1e6)
    assert df["cost_per_million_tokens"].is_monotonic_increasing
    steps = np.ceil(300e9 / (1536 * 2048))
    assert np.allclose(df["time_to_train_days"], steps * df["time_per_iter_s"] / 86400)
    with pytest.raises(pm.ParameterError, match="price_per_device_hour"):
        pm.best_plans("GPT-3 175B", c, global_batch=1536, seq_len=2048, rank_by="cost")
    with pytest.raises(pm.ParameterError, match="rank_by"):
        pm.best_plans("GPT-3 175B", c, global_batch=1536, seq_len=2048, rank_by="speed")


def test_dropout_masks_follow_the_recipe():
    from plaster_model.catalog.transformer import TransformerConfig
    from plaster_model.estimators.llm_memory import activation_bytes_per_layer
    from plaster_model.estimators.transformer import trains_with_dropout

    assert trains_with_dropout(pm.load_model("GPT-3 175B").transformer)          # Megatron GPT: 0.1
    assert not trains_with_dropout(pm.load_model("Llama-3.1-70B").transformer)   # Llama: none
    # a config that states its dropout decides
    kw = dict(name="x", n_layers=2, d_model=64, n_heads=4, ffn_dim=256, vocab_size=100)
    assert trains_with_dropout(TransformerConfig(**kw, hf_config={"model_type": "llama", "hidden_dropout": 0.1}))
    assert not trains_with_dropout(TransformerConfig(**kw, hf_config={"model_type": "gpt2", "resid_pdrop": 0.0}))
    # Korthikanti's 34·s·b·h (no TP, scores dropped by selective recomputation) loses its two
    # 1-byte masks: 32·s·b·h
    s, b, h = 2048, 1, 4096
    with_masks = activation_bytes_per_layer(s, b, h, 32, recompute="selective")
    without = activation_bytes_per_layer(s, b, h, 32, recompute="selective", dropout=False)
    assert (with_masks, without) == (34 * s * b * h, 32 * s * b * h)


def test_fp8_recipe_saves_gemm_inputs_in_one_byte():
    from plaster_model.estimators.llm_memory import activation_bytes_per_layer

    # GPT-3 layer (h 12288, f 4h), TP 8 + SP, selective recompute, no dropout, per s·b·h/t:
    # bf16: norms 4 + GEMM inputs 2 + 2 + Q,K,V,O 8 + GeLU in 8 + fc2 in 8 = 32
    # fp8:  norms 4 + GEMM inputs 1 + 1 + Q,K,V,O 8 + fp8 copy of O 1 + GeLU in 8 + fc2 in 4 = 27
    s, b, h, t = 2048, 1, 12288, 8
    kw = dict(tp=t, sp=True, recompute="selective", dropout=False)
    assert activation_bytes_per_layer(s, b, h, 96, **kw) == pytest.approx(32 * s * b * h / t)
    assert activation_bytes_per_layer(s, b, h, 96, gemm_input_bytes=1.0, **kw) == pytest.approx(27 * s * b * h / t)
    c = pm.Cluster.from_system("DGX H100", n_nodes=8)
    plan = pm.ParallelPlan(tp=8, pp=8, sp=True, recompute="selective", micro_batch=1)
    bf = pm.predict_llm_training("GPT-3 175B", c, plan, global_batch=64, seq_len=2048, precision="bf16")
    f8 = pm.predict_llm_training("GPT-3 175B", c, plan, global_batch=64, seq_len=2048, precision="fp8")
    assert f8.memory_activations_bytes < bf.memory_activations_bytes


def test_fsdp_under_pipeline_parallelism_gathers_once_per_step():
    # with PP, ZeRO-3 behaves as ZeRO-1 (weights kept gathered across micro-batches): same
    # step time and memory as the ZeRO-1 plan, and no per-micro-batch gathers
    c = pm.Cluster.from_system("DGX H100", n_nodes=64)
    kw = dict(global_batch=64, seq_len=8192, precision="fp8")
    z3 = pm.predict_llm_training("Llama-3.1-405B", c, pm.ParallelPlan(tp=8, pp=8, sp=True, zero=3, micro_batch=1, recompute="full"), **kw)
    z1 = pm.predict_llm_training("Llama-3.1-405B", c, pm.ParallelPlan(tp=8, pp=8, sp=True, zero=1, micro_batch=1, recompute="full"), **kw)
    assert z3.zero3_comm_time_s == 0.0
    assert z3.time_per_iter_s == pytest.approx(z1.time_per_iter_s, rel=1e-12)
    assert z3.memory_per_device_bytes == pytest.approx(z1.memory_per_device_bytes, rel=1e-12)
    assert any("reshard_after_forward=False" in a for a in z3.assumptions)


def test_best_plans_searches_folded_expert_parallelism():
    # Mixtral-8x7B (8 experts) on 2 DGX H100 with TP 8: dp = 2, so EP 8 exists only folded over
    # TP (expert_tp 1); the search offers it
    from plaster_model.parallel.search import candidate_plans, flatten_plans

    cfg = pm.load_model("Mixtral-8x7B").transformer
    plans = flatten_plans(candidate_plans(16, cfg, 64, 4096, max_tp=8))
    folded = (plans["tp"] == 8) & (plans["ep"] == 8)
    assert folded.any() and (plans["etp"][folded] == 1).all()
    classic = (plans["tp"] == 1) & (plans["ep"] == 8)
    assert classic.any() and (plans["etp"][classic] == 1).all()  # etp = tp = 1
    c = pm.Cluster.from_system("DGX H100", n_nodes=2)
    df = pm.best_plans("Mixtral-8x7B", c, global_batch=64, seq_len=4096, top=3)
    assert "expert_tp" in df.columns and len(df)
