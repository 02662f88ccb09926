"""PLASTER scorecard of LLM services (issue 24 item 4): TTFT/TPOT, tokens/s, J per token."""
import math

import pytest

import plaster_model as pm
from plaster_model.errors import ParameterError, PlasterError
from plaster_model.serving.report import SERVING_PLASTER_COLUMNS, energy_per_token, serving_plaster_report

LLAMA70_PARAMS = 70_553_706_496  # Hugging Face config of meta-llama/Llama-3.1-70B (the zoo's count)


def test_energy_per_token_worked_number():
    # 8 GPUs x 700 W = 5600 J/s over 14,000 tokens/s = 0.4 J per token; zero throughput: NaN, never 0
    assert energy_per_token(14000.0, 700.0, 8) == pytest.approx(0.4)
    assert math.isnan(energy_per_token(0.0, 700.0, 8))


@pytest.fixture(scope="module")
def report():
    return pm.plaster_report("Llama-3.1-70B", ["H100", "H200"], precision=["bf16", "fp8"],
                             serving=dict(ttft_budget="2 s", tpot_budget="50 ms", n_devices=8))


def test_report_columns_and_budgets(report):
    assert list(report.columns) == SERVING_PLASTER_COLUMNS
    assert len(report) == 4
    assert report["latency_meets_budget"].all()
    assert (report["latency_tpot_s"] <= 0.05).all() and (report["latency_ttft_s"] <= 2.0).all()
    # intervals bracket the point; request latency = TTFT + TPOT*(OSL-1), OSL 1024 by default
    assert (report["latency_tpot_low_s"] <= report["latency_tpot_s"]).all()
    assert (report["latency_tpot_high_s"] >= report["latency_tpot_s"]).all()
    r = report.iloc[0]
    assert r.latency_request_s == pytest.approx(r.latency_ttft_s + r.latency_tpot_s * 1023)


def test_report_size_energy_accuracy(report):
    # bf16 weights: 2 bytes per parameter (the embeddings are bf16 too); the serving geometry
    # leaves out the RMSNorm gains, (2*80 + 1)*8192 = 1.3e6 of the 70.55e9 parameters (2e-5)
    bf16 = report[report.precision == "bf16"].iloc[0]
    assert bf16.size_weight_bytes == pytest.approx(2 * (LLAMA70_PARAMS - 161 * 8192), rel=1e-6)
    fp8 = report[report.precision == "fp8"].iloc[0]
    assert fp8.size_weight_bytes < 0.55 * bf16.size_weight_bytes  # ~1 byte per GEMM weight
    # energy: the catalog's 700 W board power of each of the 8 H100/H200 over the tokens/s
    for _, r in report.iterrows():
        assert r.energy_power_w == 700.0
        assert r.energy_per_token_j * r.throughput_tokens_s == pytest.approx(700.0 * 8)
        assert r.energy_tokens_per_j == pytest.approx(1.0 / r.energy_per_token_j)
        assert r.throughput_tokens_s_per_gpu == pytest.approx(r.throughput_tokens_s / 8)
    # the zoo publishes no accuracy for Llama-3.1-70B: stated, and NaN (never drawn as 0)
    assert (report["accuracy_source"] == pm.plaster.NOT_PUBLISHED).all()
    assert report["accuracy_pct"].isna().all()


def test_report_keeps_infeasible_and_dequantised_rows():
    df = serving_plaster_report("Llama-3.1-70B", "H100", tpot_budget=1e-3, precision=["fp8", "fp4"])
    # a 1 ms TPOT is below the weights' memory floor on 8 H100: refused with the reason, no number
    assert not df["latency_meets_budget"].any()
    assert df["throughput_tokens_s"].isna().all()
    assert df["note"].str.startswith("infeasible").all()
    ok = serving_plaster_report("Llama-3.1-70B", "H100", tpot_budget=0.05, precision="fp4")
    assert not ok.loc[0, "programmability_supported"]  # Hopper has no fp4 peak: fp8 math
    assert "fp4 math" in ok.loc[0, "note"] and ok.loc[0, "throughput_tokens_s"] > 0


def test_report_rejects_bad_arguments():
    with pytest.raises(ParameterError, match="tpot_budget"):
        serving_plaster_report("Llama-3.1-70B", "H100", tpot_budget=-1.0)
    with pytest.raises(PlasterError, match="serving"):
        pm.plaster_report("Llama-3.1-70B", "H100", serving="fast")
