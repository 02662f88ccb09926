"""Whole-transformer pass latency: the eager step model, the NeuSight mapping, the calibration hook."""
import numpy as np
import pandas as pd
import pytest

import plaster_model as pm
from plaster_model.calibration import transformer_latency as tl
from plaster_model.estimators.transformer_step import (EAGER_SCORE_PASSES, fp32_matrix_peak_flops,
                                                       transformer_step_time, transformer_step_work)
from plaster_model.io.readers.neusight import NEUSIGHT_MODELS


def test_bert_large_forward_work_from_an_independent_count():
    # BERT-large (24 layers, h 1024, 16 heads of 64, ffn 4096), batch 8 × 512, forward, no LM head.
    b, s, h, a, f, L = 8, 512, 1024, 16, 4096, 24
    T = b * s
    w = transformer_step_work(pm.load_model("BERT-large"), b, s, lm_head=False)
    # linear layers per layer: QKV 3·h·h, output h·h, MLP up h·f and down f·h MACs per token
    gemm_flops = 2 * T * L * (3 * h * h + h * h + 2 * h * f)
    assert float(w["gemm"]["flops"]) == pytest.approx(gemm_flops, rel=1e-12)
    # one GEMM, MLP up: reads x (T·h) and W (h·f + f bias), writes y (T·f), 4 bytes each
    up_bytes = 4 * (h * f + f + T * (h + f))
    # all four linears: weights + bias, activations in and out
    lin_bytes = 4 * L * ((3 * h * h + 3 * h) + (h * h + h) + (h * f + f) + (f * h + h)
                         + T * ((h + 3 * h) + (h + h) + (h + f) + (f + h)))
    assert float(w["gemm"]["bytes"]) == pytest.approx(lin_bytes, rel=1e-12)
    assert up_bytes < lin_bytes / L
    # attention products: QKᵀ and A·V over the full 512 × 512 scores, 2·2·b·a·s²·d_h per layer
    assert float(w["attention"]["flops"]) == pytest.approx(L * 4 * b * a * s * s * 64, rel=1e-12)
    # kernels of the linear layers: BERT runs Q, K, V as three nn.Linear -> 6 per layer
    assert float(w["gemm"]["kernels"]) == 6 * L
    # scores written by QKᵀ, read by A·V, read+written by each of the eager passes
    scores = b * a * s * s
    assert float(w["vector"]["bytes"]) > 4 * L * EAGER_SCORE_PASSES * 2 * scores


def test_training_is_three_forwards_and_gelu_new_costs_eight_kernels():
    m = pm.load_model("GPT-2 large")
    fwd = transformer_step_work(m, 2, 1024)
    trn = transformer_step_work(m, 2, 1024, training=True)
    # forward + backward: 3 × the forward products (dropout adds no product FLOPs)
    assert float(trn["gemm"]["flops"]) == pytest.approx(3 * float(fwd["gemm"]["flops"]))
    fused = transformer_step_work(m, 2, 1024, fused=True)
    # gelu_new: 8 eager kernels -> 1 fused; score passes 3 -> 1; per layer 7 + 2 fewer kernels
    assert float(fwd["vector"]["kernels"] - fused["vector"]["kernels"]) == 36 * (7 + 2)


def test_step_time_is_the_roofline_sum_and_vectorized():
    w = transformer_step_work(pm.load_model("OPT-1.3B"), np.array([1, 2, 4]), 2048)
    t = transformer_step_time(w, 19.5e12, 19.5e12, 1.555e12)
    # compute-bound GEMMs: time at least F/peak, and linear in the batch at this size
    assert np.all(t >= w["gemm"]["flops"] / 19.5e12)
    assert t[2] / t[1] == pytest.approx(2.0, rel=0.05)


def test_amd_matrix_peak_is_twice_the_vector_peak():
    # AMD datasheets: MI210 fp32 matrix 45.3 TFLOP/s, vector 22.6
    assert fp32_matrix_peak_flops(pm.load_device("MI210")) == pytest.approx(45.2e12, rel=0.01)
    assert fp32_matrix_peak_flops(pm.load_device("A100-PCIe")) == 19.5e12


def test_neusight_names_map_to_transformer_zoo_models():
    for raw, zoo in NEUSIGHT_MODELS.items():
        assert pm.load_model(zoo).transformer is not None, raw
    xl = pm.load_model(NEUSIGHT_MODELS["GPT3-XL"]).transformer
    assert (xl.n_layers, xl.d_model, xl.n_heads) == (24, 3072, 24)  # NeuSight's gpt3_xl.json
    assert "SwitchTrans-XL4" not in NEUSIGHT_MODELS


def _synthetic(theta) -> pd.DataFrame:
    """Rows whose values the step model itself gives at known parameters (exactly recoverable)."""
    rows = []
    for dev in ("A100-PCIe", "V100-PCIe-32GB", "T4", "MI210"):
        for model, s in (("BERT-large", 512), ("GPT-2 large", 1024), ("OPT-1.3B", 2048)):
            for phase, b in (("inference", 2), ("inference", 8), ("training", 1)):
                rows.append(dict(model=model, device=dev, phase=phase, batch_per_device=float(b),
                                 seq_len=float(s), precision="fp32", metric="latency_ms", n_devices=1.0,
                                 execution="eager", value=1.0))
    rows.append(dict(rows[0], model="SwitchTrans-XL4"))
    df = pd.DataFrame(rows)
    truth = tl.TransformerLatencyFit(np.log(theta), np.zeros((len(theta),) * 2), 0.0, 0.0, 0)
    df["value"] = truth.predict_rows(df)["value"].to_numpy()
    df.loc[df.index[-1], "value"] = 50.0
    return df


def test_calibration_hook_recovers_known_parameters_and_round_trips(tmp_path):
    theta = np.array([0.8, 0.5, 0.3, 0.7, 6e-6, 0.8])
    df = _synthetic(theta)
    cal = pm.calibrate(df)
    fit = cal.transformer_latency_
    p = fit.params.set_index("name")["value"]
    assert p["gemm_efficiency"] == pytest.approx(0.8, rel=0.05)
    assert p["memory_efficiency"] == pytest.approx(0.7, rel=0.1)
    assert p["amd_matrix_ratio"] == pytest.approx(0.8, rel=0.05)
    pred = cal.predict(df)
    good = pred["model"] != "SwitchTrans-XL4"
    np.testing.assert_allclose(pred.loc[good, "value"], df.loc[good, "value"], rtol=0.03)
    assert (pred.loc[good, "value_low"] < pred.loc[good, "value"]).all()
    assert "no TransformerConfig" in pred.loc[~good, "reason"].iloc[0]
    path = tmp_path / "cal.json"
    cal.save(path)
    again = pm.Calibration.load(path).predict(df)
    np.testing.assert_allclose(again.loc[good, "value"], pred.loc[good, "value"])


def test_the_real_labels_leave_one_gpu_out(shared_dir):
    path = shared_dir / "data" / "per_model_latency"
    if not (path / "neusight_labels.csv").is_file():
        pytest.skip("NeuSight labels not present")
    df = pm.read_measurements(path)
    assert set(df.loc[df["model_raw"] == "GPT3-XL", "model"]) == {"GPT3-XL (NeuSight config)"}
    d = df[tl.is_transformer_latency_rows(df) & (df["n_devices"] == 1)
           & (df["model_raw"] != "SwitchTrans-XL4")].reset_index(drop=True)
    assert len(d) == 89
    errs = []
    for dev in d["device"].unique():
        test = d["device"] == dev
        q = tl.fit_transformer_latency(d[~test]).predict_rows(d[test])
        errs += list(np.abs(q["value"].to_numpy() / d.loc[test, "value"].to_numpy() - 1))
    assert np.median(errs) <= 0.12  # issue 22 acceptance


def test_unpredictable_claimed_rows_leave_the_fit_to_the_other_rows():
    # only a Switch row is claimed: no transformer part, the row keeps the step model's skip reason
    df = _synthetic(np.array([0.8, 0.5, 0.3, 0.7, 6e-6, 0.8])).tail(1)
    cal = pm.Calibration()
    assert tl.fit_transformer_part(cal, df) is df
    assert cal.transformer_latency_ is None
