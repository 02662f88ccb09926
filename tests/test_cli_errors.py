"""The command line's failure modes and its README example (issue 12, defects 7 and 9).

A user's mistake (a missing file, a glob that matches nothing, an unknown name) prints one
line on stderr and exits 2; a reader that goes away (``| head``) ends the command quietly
with 141 (128 + SIGPIPE, what a shell reports for a process SIGPIPE killed).
"""
import io
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from plaster_model.cli import main

REPO = Path(__file__).resolve().parents[1]


def _cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "plaster_model.cli", *args],
                          capture_output=True, text=True, timeout=120, **kw)


def _one_line_error(proc):
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("plaster-model: error: "), proc.stderr
    return lines[0]


def test_missing_calibration_file(tmp_path):
    missing = tmp_path / "no-such-calibration.yaml"
    line = _one_line_error(_cli("predict", "--model", "ResNet-50", "--device", "V100",
                                "--calibration", str(missing)))
    assert str(missing) in line


def test_unmatched_calibrate_glob(tmp_path):
    line = _one_line_error(_cli("calibrate", str(tmp_path / "nothing-*.log"), "-o", str(tmp_path / "c.yaml")))
    assert "nothing-*.log" in line


def test_unknown_system_is_one_line():
    line = _one_line_error(_cli("predict", "--model", "ResNet-50", "--system", "DGX-9"))
    assert "DGX-9" in line


def test_broken_pipe_is_quiet():
    # The read end is closed before the child writes anything (it is still importing), so
    # its first write fails with EPIPE: deterministic, unlike racing ``| head -1``.
    proc = subprocess.Popen([sys.executable, "-m", "plaster_model.cli", "devices", "--format", "csv"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert err == ""


def test_system_sized_in_devices(capsys):
    # HPE Apollo 6500 holds 8 P100s per node: 12 devices = 2 nodes, the second half full
    assert main(["predict", "--model", "ResNet-50", "--system", "HPE Apollo 6500", "--devices", "12",
                 "--interconnect", "InfiniBand EDR", "--format", "csv"]) == 0
    df = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert (df.loc[0, "n_devices"], df.loc[0, "n_nodes"]) == (12, 2)
    assert df.loc[0, "link"] == "InfiniBand EDR"  # the override, not the system's FDR


def test_system_nodes_and_devices_refused(capsys):
    assert main(["predict", "--model", "ResNet-50", "--system", "DGX-1 (V100)", "--nodes", "2",
                 "--devices", "16"]) == 2
    assert "not both" in capsys.readouterr().err


# --------------------------------------------------------------------------- README
def _readme():
    return (REPO / "README.md").read_text()


def test_readme_cli_and_python_examples_are_the_same_job(capsys):
    """README command 1 and the Python example predict the same cluster and job.

    Command 1 is run through the CLI's entry point (``--format csv`` added); the Python
    block is executed as written. Both must give the same cluster (devices, nodes, links),
    batch, epochs and time.
    """
    readme = _readme()
    bash = re.search(r"```bash\n(.*?)```", readme, re.S).group(1).splitlines()
    assert len(bash) == 2 and "pip install ." in bash[0] and "pytest" in bash[1]
    argv = shlex.split(bash[0].split("plaster-model", 1)[1])
    assert argv[0] == "predict"
    assert main(argv + ["--format", "csv"]) == 0
    cli = pd.read_csv(io.StringIO(capsys.readouterr().out)).iloc[0]

    code = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    ns: dict = {}
    exec(compile(code, "README.md", "exec"), ns)  # noqa: S102 (the README's own example)
    capsys.readouterr()
    py = ns["pred"].to_frame().iloc[0]
    for col in ("model", "n_devices", "n_nodes", "batch_per_device", "precision", "link", "epochs"):
        assert cli[col] == py[col], col
    assert (ns["cluster"].n_devices, ns["cluster"].devices_per_node) == (64, 8)
    assert cli["epoch_time_s"] == pytest.approx(py["epoch_time_s"], rel=1e-9)
