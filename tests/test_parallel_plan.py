"""ParallelPlan validation, the per-strategy forms (Narayanan bubbles, Megatron TP volumes, ZeRO
traffic), link placement, and the LLM-training reader."""
import numpy as np
import pytest

import plaster_model as pm
from plaster_model.parallel.pipeline import bubble_fraction, p2p_time_per_microbatch, pipeline_time
from plaster_model.parallel.placement import ClusterLinks, cluster_tiers, group_link
from plaster_model.parallel.tensor import tp_comm_time_per_layer
from plaster_model.parallel.zero import dp_step_comm_time, dp_volume_factor, zero3_microbatch_comm_time


def test_plan_defaults_are_data_parallel():
    p = pm.ParallelPlan()
    assert p.is_data_parallel
    r = p.resolve(64, global_batch=256)
    assert (r.dp, r.micro_batch, r.micro_batches) == (64, 1, 4)
    assert not pm.ParallelPlan(tp=2).is_data_parallel


@pytest.mark.parametrize("kw, bad", [
    (dict(tp=0), "tp"), (dict(pp=1.5), "pp"), (dict(zero=4), "zero"), (dict(recompute="some"), "recompute"),
    (dict(virtual_stages=2), "virtual_stages"), (dict(micro_batch=3, global_batch=10), "global_batch"),
    (dict(attention="sparse"), "attention"), (dict(sp="yes"), "sp"),
])
def test_plan_refuses(kw, bad):
    with pytest.raises(pm.ParameterError) as e:
        pm.ParallelPlan(**kw)
    assert e.value.name == bad


def test_plan_resolution_checks_the_cluster():
    with pytest.raises(pm.ParameterError, match="n_devices"):
        pm.ParallelPlan(tp=8, pp=3).resolve(64)
    with pytest.raises(pm.ParameterError, match="dp"):
        pm.ParallelPlan(tp=8, dp=4).resolve(64)
    # ep must divide dp·cp (experts split like the dense layers) or, folded over TP with
    # expert_tp=1 (Megatron-Core's MoE parallel folding), tp·dp·cp: 128 divides neither of 8, 64
    with pytest.raises(pm.ParameterError, match="ep"):
        pm.ParallelPlan(tp=8, ep=128).resolve(64)
    with pytest.raises(pm.ParameterError, match="ep"):
        pm.ParallelPlan(tp=8, ep=16, expert_tp=8).resolve(64)
    # ep 16 on TP 8 × DP 8 folds: the experts are not TP-split (expert_tp resolves to 1)
    assert pm.ParallelPlan(tp=8, ep=16).resolve(64).expert_tp == 1
    assert pm.ParallelPlan(tp=8, ep=8).resolve(64).expert_tp == 8
    # interleaving needs the micro-batches a multiple of pp (Megatron-LM)
    with pytest.raises(pm.ParameterError, match="multiple of pp"):
        pm.ParallelPlan(tp=8, pp=8, virtual_stages=2, global_batch=12).resolve(64)
    r = pm.ParallelPlan(tp=8, pp=8, micro_batch=1, global_batch=1536, virtual_stages=2).resolve(1024)
    assert (r.dp, r.micro_batches, r.tp) == (16, 96, 8)
    assert "TP 8 × PP 8 (v=2) × DP 16" in r.plan.describe()


def test_narayanan_bubble_fractions():
    # Section 2.2: 1F1B bubble (p-1)/m, interleaved (p-1)/(v·m)
    assert bubble_fraction(4, 8) == pytest.approx(3 / 8)
    assert bubble_fraction(4, 8, 2) == pytest.approx(3 / 16)
    np.testing.assert_allclose(bubble_fraction(np.array([1, 2, 8]), 32), [0, 1 / 32, 7 / 32])
    # balanced stages of time t: the schedule takes m·t·(1 + bubble)
    t, p, m, v = 0.2, 8, 64, 4
    assert pipeline_time(t, t, p, m, v) == pytest.approx(m * t * (1 + bubble_fraction(p, m, v)))


def test_megatron_tp_volume():
    # 4 all-reduces of b·s·h·2 bytes per layer (2 fwd, 2 bwd), ring: 2(t-1)/t·w/β each
    b, s, h, t, beta = 2, 2048, 8192, 8, 200e9
    w = b * s * h * 2
    want = 4 * 2 * (t - 1) / t * w / beta
    assert tp_comm_time_per_layer(b, s, h, t, beta) == pytest.approx(want)
    # sequence parallelism: reduce-scatter + all-gather, the same volume per all-reduce, plus the
    # 2 backward all-gathers Megatron re-does (2 halves of an all-reduce): 5/4 in all
    assert tp_comm_time_per_layer(b, s, h, t, beta, sp=True) == pytest.approx(want * 5 / 4)
    assert tp_comm_time_per_layer(b, s, h, t, beta, sp=True, recompute_code=2) == pytest.approx(want * 6 / 4)
    # full recomputation repeats the 2 forward all-reduces
    assert tp_comm_time_per_layer(b, s, h, t, beta, recompute_code=2) == pytest.approx(want * 6 / 4)
    assert tp_comm_time_per_layer(b, s, h, 1, beta) == 0.0


def test_zero_traffic():
    # ZeRO 1/2 move an all-reduce's volume; ZeRO-3 1.5x (SC'20 Section 7)
    psi, n, beta = 1e9, 16, 100e9
    ar = dp_step_comm_time(2 * psi, 2 * psi, n, beta, zero=0)
    assert dp_step_comm_time(2 * psi, 2 * psi, n, beta, zero=1) == pytest.approx(ar)
    assert zero3_microbatch_comm_time(2 * psi, 2 * psi, n, beta) == pytest.approx(1.5 * ar)
    assert dp_volume_factor(3) == 1.5


def test_p2p_and_placement():
    # b·s·h·2 B per boundary, fwd + bwd, /t with scatter-gather, ×v when interleaved
    w = 1 * 2048 * 12288 * 2 / 8
    assert p2p_time_per_microbatch(1, 2048, 12288, 8, 8, 25e9, virtual_stages=3) == pytest.approx(2 * 3 * w / 25e9)
    assert p2p_time_per_microbatch(1, 2048, 12288, 8, 1, 25e9) == 0.0
    L = ClusterLinks(8, 300e9, 1e-6, 25e9, 5e-6, 8, "NVLink", "IB")
    b, a, tier = group_link(np.array([8, 16, 2, 4]), np.array([1, 1, 8, 64]), L)
    # TP 8 inside; TP 16 crosses: one group per node pair gets all 8 NICs; stride-8 groups: one NIC each
    np.testing.assert_allclose(b, [300e9, 200e9, 25e9, 25e9])
    assert tier.tolist() == [0, 1, 1, 1]
    c = pm.Cluster.from_system("DGX A100", n_nodes=2)
    assert cluster_tiers(c).domain == 8


def test_reader_llm_rows(shared_dir):
    rows = pm.read_measurements(shared_dir / "data" / "llm_training")
    assert len(rows) == 1448  # 1,440 vTrain + 8 Korthikanti Table 5 (memory rows are not measurements)
    assert set(rows.metric) == {"time_per_iter_s"}
    assert (rows.tensor_parallel * rows.pipeline_parallel * rows.data_parallel == rows.n_devices).all()
    k = rows[rows.model.str.contains("Korthikanti")]
    assert sorted(k.recompute) == ["full"] * 4 + ["selective"] * 4
    assert set(k.device) == {"A100-80GB"} and (k.sequence_parallel == (k.recompute == "selective")).all()
    assert (rows.batch_per_device == rows.global_batch / rows.data_parallel).all()
