"""Files from strangers (issue 25, defects 2, 4 and 5): bounded reading, impossible numbers
refused by name in every reader path, UTF-16/32 logs, no silent loss in directory reads.

Every input is built in code (no ../shared needed). Each test fails on the code before
issue 25: there a .gz bomb or a NUL-padded log raised MemoryError (or was read whole), a
1e-320 qps or a batch of 10^12 came back as rows, a UTF-16 log was skipped silently and one
cut run discarded the complete runs of its log.
"""
from __future__ import annotations

import gzip
import json
import re
import sys
from pathlib import Path

import pytest

import plaster_model as pm
from plaster_model.io import fuzz
from plaster_model.io.readers import read as read_mod
from plaster_model.io.readers import schema
from plaster_model.io.readers.trtexec import read_trtexec_log
from plaster_model.io.readers.trtexec_json import read_export_times, read_trex_metadata

# A DLBS log of one training benchmark: 500 samples/s at a replica batch of 32.
DLBS = (b'__exp.model_title__= "ResNet50"\n__exp.phase__= "training"\n'
        b"__exp.replica_batch__= 32\n__results.throughput__= 500\n")


def _log(batch="32", qps="1000", gmin="0.9", extra="") -> str:
    """One trtexec 8.6 run; 1000 qps x 0.9 ms min GPU time = 0.9 of one stream: possible."""
    return fuzz._trt8_run(32, 1000.0, 0.92).replace("32x3x224x224", f"{batch}x3x224x224").replace(
        "Throughput: 1000 qps", f"Throughput: {qps} qps") + extra


# --------------------------------------------------------------------------- defect 2
def test_gzip_bomb_is_refused_by_its_inflated_size(tmp_path, monkeypatch):
    # 16 MiB of newlines behind a DLBS header, limit 4 MiB: refused while streaming, after
    # 4 MiB + 1 byte of output (the old reader inflated the whole file with gzip.decompress).
    monkeypatch.setattr(schema, "MAX_FILE_BYTES", 4 * 2**20)
    bomb = tmp_path / "run.log.gz"
    bomb.write_bytes(gzip.compress(DLBS + b"\n" * (16 * 2**20)))
    assert bomb.stat().st_size < 100_000
    with pytest.raises(pm.ParseError, match="decompresses to more than 4 MiB"):
        pm.read_measurements(bomb)
    # Under the limit the same content reads (the cap is on size, not on the format).
    ok = tmp_path / "ok.log.gz"
    ok.write_bytes(gzip.compress(DLBS + b"\n" * 1000))
    assert pm.read_measurements(ok)["value"].tolist() == [500.0]


def test_oversized_file_is_refused_unread(tmp_path, monkeypatch):
    # A plain file over the limit is refused from its size (stat), before any byte is read.
    monkeypatch.setattr(schema, "MAX_FILE_BYTES", 1 * 2**20)
    big = tmp_path / "big.log"
    big.write_bytes(DLBS + b" " * (2 * 2**20))
    with pytest.raises(pm.ParseError, match="over the limit of 1 MiB per file"):
        pm.read_measurements(big)


def test_nul_padded_log_is_binary(tmp_path):
    # A log followed by 200 kB of NUL (a preallocated file cut by a crash): 200,000 NUL of
    # ~200,100 characters is far over 1 % and 1,000: binary data, refused by name. The old
    # reader decoded NUL as text and parsed the log.
    padded = tmp_path / "padded.log"
    padded.write_bytes(_log().encode() + b"\x00" * 200_000)
    with pytest.raises(pm.ParseError, match="binary data"):
        pm.read_measurements(padded)
    # NUL padding before the content: refused while sniffing, not read whole.
    front = fuzz.nul_padded(tmp_path / "front.log", b"", 3 * 2**20)
    front.write_bytes(front.read_bytes() + _log().encode())
    with pytest.raises(pm.ParseError, match="binary data"):
        pm.read_measurements(front)


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS caps the address space on Linux")
def test_bombs_are_refused_under_a_1_gib_memory_cap(tmp_path):
    # Issue 25's inputs at full size, read in a child process capped at 1 GiB of address
    # space: a 3 MB .log.gz inflating to 3 GiB and a log padded with 2.5 GB of NUL (sparse,
    # no disk cost). Before: MemoryError (not a ParseError), good rows of the folder lost.
    bomb = fuzz.gzip_bomb(tmp_path / "bomb.log.gz", DLBS, 3 * 2**30)
    assert bomb.stat().st_size < 4e6
    padded = fuzz.nul_padded(tmp_path / "padded.log", _log().encode(), int(2.5e9))
    for path, why in ((bomb, "decompresses to more than 64 MiB"), (padded, "binary data|over the limit")):
        got = fuzz.read_under_cap(path)
        assert got["outcome"] == "ParseError", got
        assert re.search(why, got["message"]), got
    # The folder: both refused, the good log's two rows kept.
    (tmp_path / "good.log").write_text(_log())
    got = fuzz.read_under_cap(tmp_path)
    assert got["outcome"] == "rows" and got["rows"] == 2, got


def test_every_failure_kind_is_isolated_per_file(tmp_path, monkeypatch):
    # A parser that runs out of memory (or fails in any unforeseen way) on one file costs
    # that file only: the good rows of the folder are kept and the file is listed.
    (tmp_path / "good.log").write_text(_log())
    (tmp_path / "dlbs.log").write_bytes(DLBS)
    for exc in (MemoryError(), RuntimeError("unforeseen")):
        def boom(p, batch, device, exc=exc):
            raise exc
        monkeypatch.setitem(read_mod._RECORDS, "dlbs", boom)
        with pytest.warns(RuntimeWarning, match="could not read 1 file"):
            df = pm.read_measurements(tmp_path)
        assert len(df) == 2 and [Path(p).name for p, _ in df.attrs["failed"]] == ["dlbs.log"]
        # Alone, the file raises a ParseError naming it (the one error type of the contract).
        with pytest.raises(pm.ParseError, match="dlbs.log"):
            pm.read_measurements(tmp_path / "dlbs.log")


# --------------------------------------------------------------------------- defect 4
@pytest.mark.parametrize("kw, column", [
    ({"qps": "1e-320"}, "throughput_qps"),          # a denormal, not a measurement
    ({"batch": "1000000000000"}, "batch_per_device"),  # 10^12 samples per batch
    ({"batch": "1000000000000000000"}, "batch_per_device"),
])
def test_numbers_outside_physical_limits_are_refused_by_name(tmp_path, kw, column):
    path = tmp_path / "run.log"
    path.write_text(_log(**kw))
    with pytest.raises(pm.ParseError, match=f"{column}.*physical limits"):
        pm.read_measurements(path)
    with pytest.raises(pm.ParseError, match=column):
        read_trtexec_log(path)  # the per-format reader too


def test_trex_metadata_gets_the_qps_latency_cross_check(tmp_path):
    # 1e12 qps x 3.98 ms min GPU time = 4e9 inferences at once on 1 stream: impossible
    # (the text-log check, qps x t_min <= streams, now runs on trex digests too).
    meta = {"performance_summary": {"Throughput": 1e12, "GPU Compute Time": [3.98, 4.05, 4.01, 4.0, 4.04]},
            "inference_options": {"Input inference shape": "x=32x3x224x224", "Streams": "1"}}
    path = tmp_path / "m.profile.metadata.json"
    path.write_text(json.dumps(meta))
    for read in (pm.read_measurements, read_trex_metadata):
        with pytest.raises(pm.ParseError, match="impossible"):
            read(path)
    # 243 qps x 3.98 ms = 0.97: fine.
    meta["performance_summary"]["Throughput"] = 243.0
    path.write_text(json.dumps(meta))
    assert pm.read_measurements(path, normalize=False)["value"].tolist() == [243.0 * 32, 4.0]


@pytest.mark.parametrize("batch", [-1, 0, 2.5, True, float("nan"), 10**12, "32"])
def test_batch_argument_is_checked_not_truncated(tmp_path, batch):
    path = tmp_path / "run.timing.json"
    # exportTimes records of TRT 8.x (startEnqMs..latencyMs), after the 200 ms warm-up
    path.write_text(json.dumps([{"startEnqMs": 300 + i, "endEnqMs": 300.01 + i, "startComputeMs": 300 + i,
                                 "endComputeMs": 300.9 + i, "computeMs": 0.9, "latencyMs": 0.95}
                                for i in range(5)]))
    for call in (lambda: pm.read_measurements(path, batch=batch),
                 lambda: read_export_times(path, batch=batch),
                 lambda: pm.io.readers.read_file(path, batch=batch)):
        with pytest.raises(pm.ParameterError, match=r"batch=.*whole number of samples"):
            call()
    # An integral float is a batch: 4.0 -> 4 samples.
    assert pm.read_measurements(path, batch=4.0, normalize=False)["batch_per_device"].tolist() == [4.0, 4.0]


def test_fractional_dlbs_batch_is_refused(tmp_path):
    path = tmp_path / "dlbs.log"
    path.write_bytes(DLBS.replace(b"= 32", b"= 2.5"))
    with pytest.raises(pm.ParseError, match="batch_per_device"):
        pm.read_measurements(path)


# --------------------------------------------------------------------------- defect 5
@pytest.mark.parametrize("codec, bom", [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"),
                                        ("utf-32-le", b"\xff\xfe\x00\x00"), ("utf-32-be", b"\x00\x00\xfe\xff"),
                                        ("utf-16-le", b""), ("utf-8", b"\xef\xbb\xbf")])
def test_utf16_and_utf32_logs_are_read(tmp_path, codec, bom):
    # Windows PowerShell's ">" writes UTF-16LE with a byte-order mark; the old reader
    # skipped such a log as "unrecognised" without a word. Same rows as the UTF-8 log.
    text = _log() + fuzz._trt8_run(8, 700.0, 1.35)
    utf8 = tmp_path / "utf8.log"
    utf8.write_text(text)
    other = tmp_path / "sub" / "other.log"
    other.parent.mkdir()
    other.write_bytes(bom + text.replace("\n", "\r\n").encode(codec))
    expected = pm.read_measurements(utf8, normalize=False)
    got = pm.read_measurements(other.parent, normalize=False)  # a directory read
    cols = ["metric", "value", "batch_per_device", "precision", "line"]
    assert len(got) == 4 and got[cols].equals(expected[cols])


def test_every_skipped_file_is_warned(tmp_path):
    (tmp_path / "notes.txt").write_text("nothing to see\n")
    (tmp_path / "model.onnx").write_bytes(bytes(range(256)) * 100)
    (tmp_path / "good.log").write_text(_log())
    with pytest.warns(pm.ParseWarning, match="skipped 2 file") as rec:
        df = pm.read_measurements(tmp_path)
    text = str(rec[0].message)
    assert "notes.txt" in text and "model.onnx" in text and len(df) == 2
    # A folder holding nothing readable says so instead of returning 0 rows silently.
    (tmp_path / "good.log").unlink()
    with pytest.warns(pm.ParseWarning, match="skipped 2 file"):
        assert len(pm.read_measurements(tmp_path)) == 0


def test_complete_runs_of_a_multi_run_log_are_kept(tmp_path):
    # Three runs; the third is cut after its Throughput line (a killed trtexec). The two
    # complete runs give their 2 rows each; a ParseWarning names the cut run's line.
    runs = [_log(), fuzz._trt8_run(8, 700.0, 1.35), fuzz._trt8_run(16, 800.0, 1.2)]
    third = runs[2].split("\n")
    cut_at = next(i for i, line in enumerate(third) if "Throughput:" in line) + 1
    text = runs[0] + runs[1] + "\n".join(third[:cut_at]) + "\n"
    path = tmp_path / "three.log"
    path.write_text(text)
    start = len((runs[0] + runs[1]).split("\n")) + cut_at - 2  # the summary head's line
    with pytest.warns(pm.ParseWarning, match=f"summary starting at line {start} is truncated"):
        df = pm.read_measurements(path, normalize=False)
    assert df["batch_per_device"].tolist() == [32.0, 32.0, 8.0, 8.0]
    assert len(df.attrs["cut"]) == 1 and "kept the 2 complete run(s)" in df.attrs["cut"][0][1]
    # A cut run between complete ones, and a failed one, are kept out the same way.
    failed = runs[1].replace("&&&& PASSED", "&&&& FAILED").split("=== Performance summary ===")[0]
    failed = failed.rsplit("\n", 1)[0] + "\n&&&& FAILED TensorRT.trtexec [TensorRT v8601] # trtexec\n"
    path.write_text(runs[0] + failed + runs[2])
    with pytest.warns(pm.ParseWarning, match="FAILED"):
        df = pm.read_measurements(path, normalize=False)
    assert df["batch_per_device"].tolist() == [32.0, 32.0, 16.0, 16.0]
    # A log whose only run is cut is still an error (nothing complete to keep).
    path.write_text("\n".join(third[:cut_at]) + "\n")
    with pytest.raises(pm.ParseError, match="truncated"):
        pm.read_measurements(path)
