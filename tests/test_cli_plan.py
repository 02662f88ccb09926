"""Issue 23 item 8: ``plaster-model predict --tp/--pp/--dp/...`` routes a transformer to the
plan predictor (:func:`plaster_model.predict_llm_training`), with --format json|csv|table."""
import io
import json

import pandas as pd
import pytest

import plaster_model as pm
from plaster_model.cli import main

ARGS = ["predict", "--model", "Llama-3.1-70B", "--system", "DGX H100", "--nodes", "8", "--tp", "8", "--pp", "4",
        "--zero", "1", "--micro-batch", "1", "--global-batch", "512", "--seq-len", "4096"]


def _library():
    plan = pm.ParallelPlan(tp=8, pp=4, zero=1, micro_batch=1, global_batch=512)
    return pm.predict_llm_training("Llama-3.1-70B", pm.Cluster.from_system("DGX H100", nodes=8), plan,
                                   seq_len=4096, precision="bf16")


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_predict_with_plan_flags_is_the_plan_prediction(fmt, capsys):
    rc = main(ARGS + ["--format", fmt])
    out = capsys.readouterr().out
    assert rc == 0
    expect = _library()
    if fmt == "json":
        row = json.loads(out)[0]
    elif fmt == "csv":
        row = pd.read_csv(io.StringIO(out)).iloc[0]
    else:
        # the table is the prediction's own summary (bf16 is the plan default precision)
        assert out.strip() == str(expect).strip()
        return
    assert row["plan"] == "TP 8 × PP 4 × DP 2, ZeRO-1" and row["precision"] == "bf16"
    assert row["time_per_iter_s"] == pytest.approx(expect.time_per_iter_s, rel=1e-9)
    assert row["mfu"] == pytest.approx(expect.mfu, rel=1e-9)


def test_plan_that_does_not_fit_exits_non_zero(capsys):
    # 70B as pure data parallelism on 8 x 80 GB: 141 GB of bf16 weights alone per device
    rc = main(["predict", "--model", "Llama-3.1-70B", "--system", "DGX H100", "--tp", "1", "--global-batch", "64"])
    err = capsys.readouterr().err
    assert rc == 2 and "exceeds H100's 85.5 GB" in err and len(err.strip().splitlines()) == 1


def test_plan_flags_on_a_cnn_are_refused_and_cnn_predict_is_unchanged(capsys):
    rc = main(["predict", "--model", "ResNet-50", "--device", "V100", "--tp", "2"])
    assert rc == 2 and "a zoo transformer" in capsys.readouterr().err
    rc = main(["predict", "--model", "ResNet-50", "--device", "V100", "--format", "json"])
    row = json.loads(capsys.readouterr().out)[0]
    assert rc == 0 and row["precision"] == "fp32"  # the CNN default precision stays fp32
