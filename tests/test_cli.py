"""The plaster-model command line."""
import subprocess
import sys

import pytest

from plaster_model.cli import main


def test_predict_issue_example(capsys):
    rc = main(["predict", "--model", "ResNet-50", "--device", "V100", "--devices", "64",
               "--interconnect", "InfiniBand EDR", "--epochs", "90"])
    out = capsys.readouterr().out
    assert rc == 0
    for word in ("total time (90 epochs)", "compute", "communication", "bound", "assumptions", "ResNet-50"):
        assert word in out


def test_predict_csv_has_numbers(capsys):
    assert main(["predict", "--model", "ResNet-50", "--system", "DGX-1 (V100)", "--nodes", "2",
                 "--batch-per-device", "64", "--format", "csv", "--efficiency", "1.0"]) == 0
    import io

    import pandas as pd
    df = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert df.loc[0, "n_devices"] == 16
    # compute per iteration = 3 × 7.8e9 × 64 / 15.7e12 s
    assert df.loc[0, "compute_time_s"] == pytest.approx(3 * 7.8e9 * 64 / 15.7e12)


@pytest.mark.parametrize("cmd", [["devices"], ["models"], ["interconnects"], ["systems"], ["devices", "--format", "csv"]])
def test_listings(cmd, capsys):
    assert main(cmd) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) > 5


def test_unknown_model_is_a_clear_error(capsys):
    rc = main(["predict", "--model", "ResNet-05", "--device", "V100"])
    assert rc == 2
    assert "ResNet-50" in capsys.readouterr().err


def test_console_script_entry_point():
    # the same entry point the installed `plaster-model` script calls
    out = subprocess.run([sys.executable, "-m", "plaster_model.cli", "devices"], capture_output=True, text=True)
    assert out.returncode == 0 and "V100" in out.stdout
