"""Issue 26: the command line covers the library (inference, best batch, PLASTER, bandwidth,
sweep; --format json|csv|table), refuses what does not fit, and prints warnings on one line."""
import io
import json

import pandas as pd
import pytest

from plaster_model.cli import main


def test_predict_that_does_not_fit_exits_non_zero_with_one_line(capsys):
    # ResNet-50 at 4096 per device on a 16 GB V100: 329 GB estimated (see test_newcomer.py)
    rc = main(["predict", "--model", "ResNet-50", "--device", "V100", "--batch-per-device", "4096"])
    err = capsys.readouterr().err
    assert rc == 2
    assert len(err.strip().splitlines()) == 1 and "does not fit in memory" in err and "313 GB" in err
    assert "--allow-oversubscribed answers anyway" in err
    rc = main(["predict", "--model", "ResNet-50", "--device", "V100", "--batch-per-device", "4096",
               "--allow-oversubscribed"])
    out, err = capsys.readouterr()
    assert rc == 0 and "total time" in out
    # the warning is one line, with no source path and no class name
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines and all(ln.startswith("plaster-model: warning: ") for ln in lines)
    assert ".py" not in err and "MemoryWarning" not in err


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_inference_best_batch_plaster_bandwidth_sweep_formats(fmt, capsys):
    commands = [
        ["inference", "--model", "ResNet-50", "--device", "T4", "--batches", "1,8,64"],
        ["best-batch", "--model", "ResNet-50", "--device", "T4", "--budget", "7 ms", "--precision", "int8"],
        ["plaster", "--model", "ResNet-50", "--devices", "T4,V100", "--precision", "fp32,int8"],
        ["bandwidth", "--model", "VGG-16", "--device", "K40", "--devices", "16", "--interconnect",
         "InfiniBand FDR", "--batch-per-device", "16", "--algorithm", "tree"],
        ["sweep", "--models", "ResNet-50", "--devices", "V100,A100", "--n-devices", "1,8",
         "--interconnects", "InfiniBand EDR", "--batch-per-device", "64,4096", "--devices-per-node", "8",
         "--intra-node", "NVLink 2"],
    ]
    for cmd in commands:
        assert main(cmd + ["--format", fmt]) == 0, cmd
        out = capsys.readouterr().out
        if fmt == "json":
            data = json.loads(out)
            assert data, cmd
        elif fmt == "csv":
            df = pd.read_csv(io.StringIO(out))
            assert len(df) >= 1, cmd
        else:
            assert out.strip(), cmd
        if cmd[0] == "sweep" and fmt == "csv":
            # 4096 per device does not fit: marked, no time
            assert (~df.loc[df.batch_per_device == 4096, "fits_memory"]).all()
            assert df.loc[df.batch_per_device == 4096, "iteration_time_s"].isna().all()
        if cmd[0] == "bandwidth" and fmt == "table":
            assert out.startswith("BANDWIDTH-BOUND")  # the seed tree model: p* = 4.4 < 16
        if cmd[0] == "plaster" and fmt == "table":
            assert "not predicted" in out and "img/s" in out


def test_system_sized_with_nodes(capsys):
    assert main(["predict", "--model", "ResNet-50", "--system", "DGX-1 (V100)", "--nodes", "2",
                 "--batch-per-device", "64", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["n_devices"] == 16
