"""The web guide's LLM modes: training plans (issue 23 item 8) and serving (issue 24 item 6).

Every number the modes show must be the library's for the same inputs
(:func:`plaster_model.predict_llm_training`, :func:`plaster_model.best_plans`,
:func:`plaster_model.best_serving`, :func:`plaster_model.predict_serving`); a plan that does
not fit device memory shows as infeasible with the reason, never a time.
"""
from __future__ import annotations

import math

import pytest

import plaster_model as pm
from plaster_model.web import llm

PAYLOAD = "<img src=x onerror='document.title=1337'>"


def test_plan_row_is_the_library_prediction():
    cfg = llm.LLMTrainingConfig()  # Llama-3.1-70B, 64 x H100 (8 DGX H100), TP 8 x PP 4, ZeRO-1
    row = llm.predict_plan(cfg)
    cluster = pm.Cluster.from_system("DGX H100", n_devices=64)
    plan = pm.ParallelPlan(tp=8, pp=4, zero=1, micro_batch=1, global_batch=512)
    expect = pm.predict_llm_training("Llama-3.1-70B", cluster, plan, seq_len=4096, precision="bf16")
    assert row["feasible"]
    assert row["throughput_tokens_s"] == pytest.approx(expect.throughput_tokens_s, rel=1e-12)
    assert row["mfu_pct"] == pytest.approx(100 * expect.mfu, rel=1e-12)
    assert row["memory_per_device_GB"] == pytest.approx(expect.memory_per_device_bytes / 1e9, rel=1e-12)
    # dp = 64 / (tp 8 x pp 4) = 2, as the plan's description says
    assert "DP 2" in row["plan"] and row["binding"] == expect.binding
    # a step of tens of seconds is shown in seconds, with the unit
    assert row["time_per_step"] == f"{expect.time_per_iter_s:,.2f} s"


def test_a_plan_that_does_not_fit_is_infeasible_with_the_reason_and_no_time():
    # Issue 23: a 70B model on 8 x 80 GB as pure data parallelism does not fit
    # (bf16 weights alone are 70.6e9 x 2 B = 141 GB > 80 GB per device).
    cfg = llm.LLMTrainingConfig(n_devices=8, tp=1, pp=1, zero=0, global_batch=64)
    row = llm.predict_plan(cfg)
    assert not row["feasible"] and row["prediction"] is None
    assert row["status"].startswith("infeasible:") and "exceeds" in row["status"]
    assert row["time_per_step"] == "–" and math.isnan(row["throughput_tokens_s"])
    assert "MemoryFitError" in row["summary"]


def test_best_plan_table_is_best_plans_with_readable_units():
    cfg = llm.LLMTrainingConfig()
    table = llm.plan_table(cfg, top=5)
    lib = pm.best_plans("Llama-3.1-70B", pm.Cluster.from_system("DGX H100", n_devices=64), global_batch=512,
                        seq_len=4096, precision="bf16", top=5)
    assert list(table["plan"]) == list(lib["plan"])
    assert table["throughput_tokens_s"].tolist() == pytest.approx(lib["throughput_tokens_s"].tolist(), rel=1e-12)
    assert table["mfu_pct"].tolist() == pytest.approx((100 * lib["mfu"]).tolist(), rel=1e-12)
    assert table.attrs["n_feasible"] == lib.attrs["n_feasible"] > 0
    # every header has a readable title with its unit
    assert set(table.columns) == set(llm.PLAN_TITLES)
    assert llm.PLAN_TITLES["throughput_tokens_s"] == "throughput [tokens/s]"


def test_best_plan_table_shows_infeasible_plans_without_a_time():
    # Llama-3.1-405B on one DGX H100 (8 x 80 GB): 405e9 x 2 B of bf16 weights = 810 GB
    # is more than the node's 640 GB, so no plan fits.
    cfg = llm.LLMTrainingConfig(model="Llama-3.1-405B", n_devices=8, tp=8, pp=1, global_batch=64)
    table = llm.plan_table(cfg, top=4)
    assert table.attrs["n_feasible"] == 0 and len(table) == 4
    assert table["status"].str.startswith("infeasible: needs").all()
    assert (table["time_per_step"] == "–").all() and table["throughput_tokens_s"].isna().all()
    assert (table["memory_per_device_GB"] > 80).all()


def test_serving_front_is_best_serving():
    cfg = llm.ServingConfig(tpot_budget_ms=30.0)
    front = llm.serving_front(cfg)
    lib = pm.best_serving("Llama-3.1-70B", "H200", n_devices=8, ttft_budget=2.0, tpot_budget=0.030,
                          input_len=1024, output_len=1024)
    assert front["tokens_s_per_gpu"].tolist() == pytest.approx(lib["tokens_s_per_gpu"].tolist(), rel=1e-12)
    assert front["tokens_s_per_user"].tolist() == pytest.approx(lib["tokens_s_per_user"].tolist(), rel=1e-12)
    assert (front["tpot_ms"] <= 30.0).all() and (front["ttft_ms"] <= 2000.0).all()
    assert set(front.columns) == set(llm.SERVING_TITLES)


def test_one_serving_configuration_and_an_infeasible_one():
    ok = llm.serving_one(llm.ServingConfig())
    expect = pm.predict_serving("Llama-3.1-70B", "H200", tp=8, precision="fp8", concurrency=16)
    assert ok["feasible"] and ok["prediction"].tpot_s == pytest.approx(expect.tpot_s, rel=1e-12)
    # bf16 weights of a 70B model on one H200: 141 GB > 90 % x 141 GB - 3 GB usable
    bad = llm.serving_one(llm.ServingConfig(tp=1, precision="bf16"))
    assert not bad["feasible"] and bad["summary"].startswith("Infeasible: MemoryFitError")


def test_model_lists_hold_transformers_only():
    names = llm.transformer_models()
    assert "Llama-3.1-70B" in names and "GPT-3 175B" in names and "ResNet-50" not in names
    assert "BERT-large" in names and "BERT-large" not in llm.transformer_models(decoder_only=True)


# --------------------------------------------------------------------------- Panel layer
def test_llm_modes_restore_from_the_url_and_show_errors_as_text():
    pytest.importorskip("panel")
    from plaster_model.web.page import GuideApp

    app = GuideApp(query={"mode": [b"llm"], "llm_model": [b"GPT-3 175B"], "llm_system": [b"DGX A100"],
                          "llm_n_devices": [b"1024"], "llm_global_batch": [b"1536"], "llm_seq_len": [b"2048"],
                          "llm_tp": [b"8"], "llm_pp": [b"16"], "llm_recompute": [PAYLOAD.encode()],
                          "inf_mode": [b"llm"], "srv_tpot_budget_ms": [b"30"], "srv_device": [b"H100"]})
    assert app.training_mode.value == "llm" and app.inference_mode.value == "llm" and app.tabs.active == 2
    cfg = app.llm_training.config
    # known fields restored; a value the form does not offer is ignored
    assert (cfg.model, cfg.system, cfg.n_devices, cfg.tp, cfg.pp, cfg.recompute) == \
        ("GPT-3 175B", "DGX A100", 1024, 8, 16, "none")
    assert (app.serving.config.tpot_budget_ms, app.serving.config.device) == (30, "H100")
    assert len(app.llm_training.plans.value) == 10 and len(app.serving.front.value) > 0
    # The CNN form still opens on the HPE Cookbook job.
    assert app.state.rows[0]["model"] == "VGG-16"
    # An error naming untrusted text is shown escaped, never as markup.
    panel = app.llm_training
    panel.config = panel.config.update(model=PAYLOAD)
    panel.refresh()
    assert panel.error.visible and "&lt;img" in panel.error.object and "<img" not in panel.error.object


def test_switching_modes_keeps_the_cnn_workflow():
    pytest.importorskip("panel")
    from plaster_model.web.page import GuideApp

    app = GuideApp()
    assert app.llm_training is None and app.cnn_training.visible  # built on demand
    app.training_mode.value = "llm"
    assert not app.cnn_training.visible and app.llm_holder.visible
    assert list(app.llm_holder) == [app.llm_training.layout]
    app.llm_training.w["zero"].value = 0
    app.llm_training.w["n_devices"].value = 8
    app.llm_training.w["tp"].value = 1
    app.llm_training.w["pp"].value = 1  # 70B as pure DP on 8 x 80 GB
    assert "Infeasible" in app.llm_training.headline.object
    app.training_mode.value = "cnn"
    assert app.cnn_training.visible and not app.llm_holder.visible
    app.w["n_devices"].value = 16
    assert app.state.config.n_devices == 16
