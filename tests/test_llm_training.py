"""LLM training under parallel plans: the step model against Narayanan et al.'s FLOP count, the
memory refusal, the default path unchanged, the search, the calibration on the shared rows."""
import math

import numpy as np
import pytest

import plaster_model as pm
from plaster_model.parallel.search import evaluate_plans
from plaster_model.parallel.step import model_terms


def _gpt(L, h, a, V, s):
    return pm.Model.from_hf_config({"model_type": "gpt2", "n_layer": L, "n_embd": h, "n_head": a,
                                    "vocab_size": V, "n_positions": s}, name=f"GPT L{L} h{h}", seq_len=s)


def _one_plan(**kw):
    base = dict(tp=1, pp=1, dp=1, cp=1, ep=1, zero=0, mb=1, m=1, v=1, rec=0, sp=False)
    base.update(kw)
    return {k: np.array([float(v)]) for k, v in base.items()}


@pytest.mark.parametrize("rec, factor", [(2, 96), (0, 72)])
def test_narayanan_eq3_flops(rec, factor):
    # GPT-3 175B shape: l = 96, h = 12288, a = 96, V = 51200, s = 2048, B = 16 sequences on one
    # rank. Per layer and sequence the forward pass is 24·s·h² (QKV 6, projection 2, MLP 16) +
    # 4·s²·h (scores and A·V): ×3 for forward + backward (72), ×4 with full recomputation (96);
    # the output layer 2·s·h·V forward, ×3 (never recomputed): 6·B·s·h·V.
    L, h, a, V, s, B = 96, 12288, 96, 51200, 2048, 16
    m = _gpt(L, h, a, V, s)
    c = pm.Cluster("A100-80GB", 1)
    out = evaluate_plans(m.transformer, c, _one_plan(m=B, rec=rec), s, "bf16", attention="materialized")
    want = factor * B * s * L * h**2 * (1 + s / (6 * h)) + 6 * B * s * h * V
    if rec == 2:  # eq. 3 as printed: 96·B·s·l·h²·(1 + s/(6h) + V/(16·l·h))
        eq3 = pm.estimators.transformer.megatron_iteration_flops(B, s, L, h, V, recompute=True)
        assert eq3 == pytest.approx(want, rel=1e-12)
    # the operator sum adds only biases (< 0.1 %); norms and element-wise ops are not GEMM FLOPs
    assert float(out["hw_flops"][0]) == pytest.approx(want, rel=2e-3)


def test_memory_error_70b_pure_dp():
    c = pm.Cluster.from_system("DGX H100", n_nodes=1)  # 8 × 80 GB (81,559 MiB = 85.5 GB as the driver reports)
    with pytest.raises(pm.MemoryFitError) as e:
        pm.predict_training("Llama-2-70B", c, plan=pm.ParallelPlan(), global_batch=8, seq_len=4096)
    msg = str(e.value)
    assert "exceeds H100's 85.5 GB by" in msg and "largest term is the optimizer states" in msg
    assert isinstance(e.value, ValueError) and isinstance(e.value, pm.PlasterError)
    # 16-18 B per parameter of ~69 B parameters: more than a TB per GPU
    with pytest.raises(pm.MemoryFitError, match=r"memory per device 1\.\d+ TB"):
        pm.predict_llm_training("Llama-2-70B", c, pm.ParallelPlan(), global_batch=8, seq_len=4096)


def test_default_plan_keeps_todays_answers():
    c = pm.Cluster.from_system("DGX-1 (V100)", n_nodes=2)
    a = pm.predict_training("ResNet-50", c, 64)
    b = pm.predict_training("ResNet-50", c, 64, plan=pm.ParallelPlan())
    assert a == b
    assert pm.predict_epoch_time("ResNet-50", c, batch_per_device=64, plan=pm.ParallelPlan()) == \
        pm.predict_epoch_time("ResNet-50", c, batch_per_device=64)
    with pytest.raises(pm.ParameterError, match="not a transformer"):
        pm.predict_training("ResNet-50", c, 64, plan=pm.ParallelPlan(tp=2))


def _gpt3_plan():
    return pm.ParallelPlan(tp=8, pp=8, sp=True, recompute="selective", micro_batch=1, global_batch=1536,
                           virtual_stages=3)


def test_gpt3_prediction_reads_sensibly():
    c = pm.Cluster.from_system("DGX A100 640GB", n_nodes=128)
    p = pm.predict_llm_training("GPT-3 175B", c, _gpt3_plan(), seq_len=2048, tokens=300e9)
    assert (p.dp, p.micro_batches) == (16, 96)
    # throughput·FLOPs/token is what the devices sustain: MFU = that / (n·peak)
    assert p.mfu == pytest.approx(p.throughput_tokens_s * p.model_flops_per_token / (1024 * 312e12))
    assert p.tflops_per_device == pytest.approx(p.mfu * 312)
    assert 0.2 < p.mfu < 0.75 and p.hfu > p.mfu  # selective recomputation executes more than model FLOPs
    # the bubble of the interleaved schedule: (p-1)/(v·m) of the ideal time, within the stage imbalance
    assert p.pp_bubble_time_s / p.compute_time_s == pytest.approx(7 / (3 * 96), rel=0.25)
    assert p.memory_per_device_bytes < 80e9 and p.memory_optimizer_bytes > p.memory_weights_bytes
    assert p.time_to_train_s == pytest.approx(math.ceil(300e9 / (1536 * 2048)) * p.time_per_iter_s)
    assert set(p.breakdown()["term"]) >= {"compute", "TP communication", "PP bubble"}
    assert "TP group of 8 on NVSwitch" in " ".join(p.assumptions)


def test_tp_beyond_a_node_crosses_the_network():
    c = pm.Cluster.from_system("DGX A100 640GB", n_nodes=8)
    p8 = pm.predict_llm_training("GPT-3 175B", c, pm.ParallelPlan(tp=8, pp=8, sp=True, recompute="full",
                                                                  global_batch=64), seq_len=2048)
    p16 = pm.predict_llm_training("GPT-3 175B", c, pm.ParallelPlan(tp=16, pp=4, sp=True, recompute="full",
                                                                   global_batch=64), seq_len=2048)
    assert "TP group of 16 on InfiniBand HDR" in " ".join(p16.assumptions)
    assert p16.tp_comm_time_s > 2 * p8.tp_comm_time_s


def test_best_plans_gpt3_on_1024_a100():
    c = pm.Cluster.from_system("DGX A100 640GB", n_nodes=128)
    df = pm.best_plans("GPT-3 175B", c, global_batch=1536, seq_len=2048, top=5)
    assert len(df) == 5 and df["fits_memory"].all() and df["time_per_iter_s"].is_monotonic_increasing
    top = df.iloc[0]
    assert top.tp * top.pp * top.dp == 1024 and top.tp <= 8 and 0.3 < top.mfu < 0.75
    # the vectorized row equals the scalar prediction of the same plan
    plan = pm.ParallelPlan(tp=int(top.tp), pp=int(top.pp), sp=bool(top.sp), zero=int(top.zero),
                           micro_batch=int(top.micro_batch), virtual_stages=int(top.virtual_stages),
                           recompute=top.recompute, global_batch=1536)
    p = pm.predict_llm_training("GPT-3 175B", c, plan, seq_len=2048)
    assert p.time_per_iter_s == pytest.approx(top.time_per_iter_s, rel=1e-9)
    assert p.memory_per_device_bytes == pytest.approx(top.memory_per_device_bytes, rel=1e-9)


def test_sweep_and_scaling_with_a_plan_mark_what_does_not_fit():
    plan = pm.ParallelPlan(tp=8, pp=8, recompute="full", global_batch=64)
    df = pm.sweep("GPT-3 175B", ["A100-80GB"], [32, 64, 128], "InfiniBand HDR", plan=plan, precisions="bf16",
                  devices_per_node=8, intra_node="NVSwitch 2 (DGX A100)", nics_per_node=8, seq_len=2048)
    # 32 GPUs cannot hold TP 8 × PP 8; 64 and 128 can (175 B / 64 × 18 B = 49 GB of model states)
    assert list(df["n_devices"]) == [32, 64, 128] and df["fits_memory"].tolist() == [False, True, True]
    assert "n_devices" in df["reason"].iloc[0]
    big = pm.ParallelPlan(tp=1, global_batch=64)
    df2 = pm.sweep("GPT-3 175B", ["A100-80GB"], [64], "InfiniBand HDR", plan=big, precisions="bf16",
                   devices_per_node=8, intra_node="NVSwitch 2 (DGX A100)", seq_len=2048)
    assert not df2["fits_memory"].iloc[0] and "exceeds" in df2["reason"].iloc[0]
    c = pm.Cluster.from_system("DGX A100 640GB", n_nodes=16)
    curve = pm.scaling_curve("GPT-3 175B", c, plan=pm.ParallelPlan(tp=8, pp=8, recompute="full"),
                             devices=[64, 128], global_batch=128, seq_len=2048, precision="bf16")
    assert curve["fits_memory"].all() and curve["throughput_tokens_s"].iloc[1] > curve["throughput_tokens_s"].iloc[0]


def test_precision_recipes():
    c = pm.Cluster.from_system("DGX H100", n_nodes=4)
    plan = pm.ParallelPlan(tp=8, pp=4, recompute="selective", sp=True, global_batch=64)
    b = pm.predict_llm_training("Llama-2-70B", c, plan, seq_len=4096, precision="bf16")
    f = pm.predict_llm_training("Llama-2-70B", c, plan, seq_len=4096, precision="fp8")
    assert f.time_per_iter_s < b.time_per_iter_s and f.peak_flops == pytest.approx(2 * b.peak_flops, rel=1e-3)
    with pytest.raises(pm.ParameterError, match="precision"):
        pm.predict_llm_training("Llama-2-70B", c, plan, seq_len=4096, precision="fp4")  # Hopper: no fp4 peak


@pytest.fixture(scope="module")
def llm_calibration():
    from pathlib import Path

    data = Path(__file__).resolve().parents[2] / "shared" / "data" / "llm_training"
    if not data.is_dir():
        pytest.skip("../shared is absent")
    rows = pm.read_measurements(data)
    return rows, pm.calibrate(rows)


@pytest.mark.slow
def test_korthikanti_iterations_within_10_percent(llm_calibration):
    rows, cal = llm_calibration
    k = rows[rows.model.str.contains("Korthikanti")]
    pred = cal.predict(k)
    err = (pred["value"] / pred["measured_value"] - 1).abs()
    assert len(err) == 8 and (err < 0.10).all(), err.round(3).tolist()
    assert ((pred["value_low"] <= pred["value"]) & (pred["value"] <= pred["value_high"])).all()


@pytest.mark.slow
def test_calibration_round_trip_and_use(llm_calibration, tmp_path):
    rows, cal = llm_calibration
    path = tmp_path / "llm.json"
    cal.save(path)
    back = pm.calibration.Calibration.load(path)
    assert back.llm_training_.params_ == cal.llm_training_.params_
    c = pm.Cluster.from_system("DGX A100 640GB", n_nodes=128)
    p = pm.predict_llm_training("GPT-3 175B", c, _gpt3_plan(), seq_len=2048, calibration=back)
    lo, hi = p.time_per_iter_interval_s
    assert p.calibrated and lo < p.time_per_iter_s < hi and p.mfu_low < p.mfu < p.mfu_high


@pytest.mark.slow
def test_synthetic_rows_recover_the_parameters():
    # rows built by the step model itself with known parameters are fitted back (no shared data)
    import pandas as pd

    from plaster_model.calibration.llm_training import LLMTrainingFit, row_setup
    from plaster_model.parallel.step import llm_step

    recs = []
    for L, h in ((12, 1024), (24, 2048), (48, 4096)):
        for tp, pp, dp in ((1, 1, 8), (2, 2, 2), (8, 1, 1), (1, 8, 1), (4, 2, 1)):
            for mb, gb in ((1, 16), (4, 64)):
                recs.append(dict(source="synthetic", model=f"GPT-h{h}-L{L}", device="A100", n_devices=tp * pp * dp,
                                 devices_per_node=8, precision="mixed", metric="time_per_iter_s", value=1.0,
                                 tensor_parallel=tp, pipeline_parallel=pp, data_parallel=dp, sequence_parallel=0,
                                 virtual_pipeline_stages=1, micro_batch=mb, global_batch=gb, seq_len=1024,
                                 recompute="full", zero_stage=0, attention="materialized", hidden_size=h,
                                 num_layers=L, num_attention_heads=16, ffn_hidden_size=4 * h))
    rows = pd.DataFrame(recs)
    truth = {"eta_c": 0.45, "eta_m": 0.6, "tau_layer": 5e-5, "eta_tp": 0.5, "eta_dp": 0.8, "k_bubble": 1.0,
             "k_recompute": 1.0, "tau0": 0.02, "tau_coll": 1e-5}
    setup = row_setup(rows)
    rows["value"] = llm_step(setup["terms"], setup["hw"], setup["plan"], truth)["time_per_iter_s"]
    fit = LLMTrainingFit().fit(rows)
    pred = fit.predict(rows)
    # the priors pull a little on 30 rows: every row within 5 %, the median within 2 %
    err = np.abs(pred["value"] / rows["value"] - 1)
    assert err.max() < 0.05 and err.median() < 0.02
    assert fit.params_["eta_c"] == pytest.approx(0.45, rel=0.15)


def test_expert_parallel_model_states():
    # Mixtral-8x7B on 8 GPUs, EP 8 and ZeRO-1: each rank keeps the dense parameters and 1/8 of
    # the experts; ZeRO-1 shards the dense optimizer states over the 8 data-parallel ranks and
    # the experts' over the 8/8 = 1 expert-data-parallel rank
    from plaster_model.estimators.transformer import transformer_param_counts

    pc = transformer_param_counts(pm.load_model("Mixtral-8x7B").transformer)
    dense, experts = pc["total"] - pc["experts"], pc["experts"]
    c = pm.Cluster.from_system("DGX H100", n_nodes=1)
    with pytest.warns(pm.MemoryWarning, match="answered anyway"):  # 118 GB: it does not fit, asked anyway
        p = pm.predict_llm_training("Mixtral-8x7B", c, pm.ParallelPlan(ep=8, zero=1, recompute="full",
                                                                       global_batch=8),
                                    seq_len=4096, check_memory=False)
    assert p.memory_weights_bytes == pytest.approx(2 * (dense + experts / 8), rel=1e-6)
    assert p.memory_optimizer_bytes == pytest.approx(12 * (dense / 8 + experts / 8), rel=1e-6)
    assert p.ep_comm_time_s > 0


def test_epoch_time_with_a_plan_counts_tokens():
    c = pm.Cluster.from_system("DGX A100 640GB", n_nodes=8)
    plan = pm.ParallelPlan(tp=8, pp=8, recompute="full", global_batch=64)
    # 1,000,000 sequences of 2,048 tokens, 2 epochs: ceil(2·10^6·2048 / (64·2048)) steps
    e = pm.predict_epoch_time("GPT-3 175B", c, dataset=1_000_000, epochs=2, plan=plan, seq_len=2048, precision="bf16")
    assert e.tokens == 2e6 * 2048
    assert e.time_to_train_s == pytest.approx(math.ceil(2e6 / 64) * e.time_per_iter_s)


def test_train_plan_cli(capsys):
    from plaster_model.cli import main

    args = ["train-plan", "--model", "GPT-3 175B", "--system", "DGX A100 640GB", "--nodes", "8",
            "--global-batch", "64"]
    assert main(args + ["--tp", "8", "--pp", "8", "--recompute", "full", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert "time_per_iter_s" in out.splitlines()[0] and "TP 8 × PP 8" in out
    assert main(args + ["--top", "3"]) == 0
    assert "plans fit; the fastest" in capsys.readouterr().out
    assert main(args + ["--tp", "1", "--pp", "1"]) == 2  # does not fit: one line, exit 2
    assert "exceeds" in capsys.readouterr().err


@pytest.mark.slow
def test_one_calibration_fits_cnn_and_llm_rows(shared_dir):
    # the same Calibration.fit takes both kinds of rows; predict sends each to its own model
    import pandas as pd

    cnn = pm.read_measurements(shared_dir / "data" / "published_measurements.csv").head(120)
    llm = pm.read_measurements(shared_dir / "data" / "llm_training" / "korthikanti2022_selene.csv")
    rows = pd.concat([cnn, llm], ignore_index=True)
    cal = pm.Calibration(n_bootstrap=0).fit(rows)
    assert cal.llm_training_.n_rows_ == 8 and cal.n_rows_ <= 120
    pred = cal.predict(rows.iloc[[0, 1, 120, 121]])
    assert list(pred.index) == [0, 1, 120, 121] and pred["value"].notna().all()
    assert (pred.loc[[120, 121], "calibration_group"] == "llm_training").all()
