"""NeuSight's per-model latency labels read into the measurement schema, the device spec
table recognised and skipped, and a calibration that keeps the rows it cannot fit with a
reason (issue 22 items 2-3)."""
import warnings

import numpy as np
import pandas as pd
import pytest

import plaster_model as pm
from plaster_model.errors import ParseError
from plaster_model.io.readers.neusight import parse_neusight_labels

HEADER = ("source,source_detail,model,model_config,device,device_key,phase,batch,seq_len,precision,"
          "n_devices,parallel,parallel_degree,execution,metric,value,forward_ms,backward_ms,num_layers,notes\n")
# four label records in NeuSight's layout (values made up for the test, not NeuSight's)
RECORDS = [
    "NS,f1.json,BERT-Large,bert_large.json,Tesla T4,Tesla_T4,inference,16,512,fp32,1,none,,eager,"
    "latency_ms,1500.0,1500.0,,24,forward only",
    "NS,f2.json,GPT2-Large,gpt2_large.json,NVIDIA A100 80GB PCIe,NVIDIA_A100_80GB_PCIe,training,2,1024,"
    "fp32,1,none,,eager,latency_ms,600.0,200.0,400.0,36,forward + backward",
    "NS,f3.json,GPT2-Large,gpt2_large.json,NVIDIA A100-SXM4-40GB,NVIDIA_A100-SXM4-40GB,training,4,1024,"
    "fp32,4,DP,4,Megatron-LM via accelerate,latency_ms,450.0,,,,4 GPUs",
    "NS,f4.json,OPT-1.3B,opt_13.json,NVIDIA A100-SXM4-40GB,NVIDIA_A100-SXM4-40GB,training,4,2048,"
    "fp32,4,TP,4,Megatron-LM via accelerate,latency_ms,480.0,,,,4 GPUs",
]
SPEC = ("device,device_key,Dev_Mem_GB,Mem_Bw_GBps,Num_Sm,Core_Per_SM,Freq_MHz,SingleFLOPs_GFLOPs\n"
        "Tesla T4,Tesla_T4,15,320,40,64,1590,8141\n")


def test_label_records_map_to_the_schema():
    df = parse_neusight_labels(HEADER + "\n".join(RECORDS) + "\n", file="labels.csv")
    assert len(df) == 4 and list(df["line"]) == [2, 3, 4, 5]
    # zoo models of the same architecture; the others keep NeuSight's name and config
    assert list(df["model"]) == ["BERT-large", "GPT-2 large", "GPT-2 large", "OPT-1.3B"]
    assert list(df["model_raw"]) == ["BERT-Large", "GPT2-Large", "GPT2-Large", "OPT-1.3B"]
    assert df["model_config"].iloc[3] == "opt_13.json"
    assert list(df["device_raw"]) == list(df["device"]) == [
        "Tesla T4", "NVIDIA A100 80GB PCIe", "NVIDIA A100-SXM4-40GB", "NVIDIA A100-SXM4-40GB"]
    assert list(df["phase"]) == ["inference", "training", "training", "training"]
    assert set(df["precision"]) == {"fp32"} and set(df["metric"]) == {"latency_ms"}
    assert list(df["seq_len"]) == [512, 1024, 1024, 2048]
    # DP4 at global batch 4: 1 sequence per GPU; TP4: every rank sees the whole batch
    assert list(df["batch_per_device"]) == [16, 2, 1, 4]
    assert list(df["data_parallel"]) == [1, 1, 4, 1] and list(df["tensor_parallel"]) == [1, 1, 1, 4]
    assert list(df["pipeline_parallel"]) == [1, 1, 1, 1]
    assert list(df["n_devices"]) == list(df["devices_per_node"]) == [1, 1, 4, 4]
    assert list(df["execution"]) == ["eager", "eager", "Megatron-LM via accelerate", "Megatron-LM via accelerate"]
    assert df["framework"].iloc[0] == "PyTorch (eager)"
    # the training split is kept: value = forward + backward
    assert df["forward_ms"].iloc[1] + df["backward_ms"].iloc[1] == df["value"].iloc[1]
    pm.measurements.validate_measurements(df)


@pytest.mark.parametrize("record, fragment", [
    (RECORDS[0].replace("none,,eager", "SP,4,eager"), "unknown kind"),
    (RECORDS[0].replace(",1500.0,1500.0", ",-1,1500.0"), "value"),
    (RECORDS[0].replace(",16,512,", ",16,5x2,"), "seq_len"),
])
def test_bad_label_records_name_the_line(record, fragment):
    with pytest.raises(ParseError, match=fragment) as err:
        parse_neusight_labels(HEADER + RECORDS[1] + "\n" + record + "\n", file="labels.csv")
    assert err.value.line == 3


def test_folder_reads_labels_and_skips_the_spec_table(tmp_path):
    (tmp_path / "neusight_labels.csv").write_text(HEADER + "\n".join(RECORDS) + "\n")
    (tmp_path / "neusight_devices.csv").write_text(SPEC)
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # a spec table is not a failure: no warning
        df = pm.read_measurements(tmp_path)
    assert len(df) == 4 and df.attrs["failed"] == []
    (path, why), = df.attrs["skipped"]
    assert path.endswith("neusight_devices.csv") and "not measurements" in why
    assert df.attrs["files"] == {str(tmp_path / "neusight_labels.csv"): "neusight_labels"}
    # a single spec table asked for by name is refused with the same reason
    with pytest.raises(ParseError, match="not measurements"):
        pm.read_measurements(tmp_path / "neusight_devices.csv")


def test_calibration_keeps_rows_it_cannot_fit_with_reasons(tmp_path):
    # Every single-GPU row goes to the transformer step model (calibration/transformer_latency.py),
    # BERT-Large at its own 512 tokens included (issue 22: the work scales with the row's seq_len;
    # this test asserted the CNN path's skip before); the tensor-parallel run is kept with a reason
    recs = list(RECORDS) + [RECORDS[3].replace("OPT-1.3B,opt_13.json", "GPT2-Large,g.json").replace(",2048,", ",1024,")]
    for dev, key in (("NVIDIA A100 80GB PCIe", "k1"), ("Tesla T4", "k2")):
        for b, v in ((1, 300.0), (2, 590.0), (4, 1170.0)):
            recs.append(f"NS,x.json,GPT2-Large,g.json,{dev},{key},inference,{b},1024,fp32,1,none,,eager,"
                        f"latency_ms,{v * (3 if key == 'k2' else 1)},,,36,forward only")
    (tmp_path / "labels.csv").write_text(HEADER + "\n".join(recs) + "\n")
    df = pm.read_measurements(tmp_path / "labels.csv")
    cal = pm.calibrate(df, n_bootstrap=0)
    reasons = " | ".join(cal.skipped_["reason"])
    assert "4-GPU run" in reasons and "seq_len 512" not in reasons
    pred = cal.predict(df)
    assert np.isfinite(pred["value"].to_numpy(dtype=float)).sum() >= 6
    bert = pred["model"] == "BERT-large"
    assert np.isfinite(pred.loc[bert, "value"].to_numpy(dtype=float)).all()


def test_shared_neusight_labels(shared_dir):
    folder = shared_dir / "data"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = pm.read_measurements(folder)
    assert not any("neusight" in str(w.message) for w in caught)
    ns = df[df["file"].str.endswith("neusight_labels.csv")]
    # README: 100 rows; three 4-GPU GPT2-Large training runs (DP, TP, PP); four torch.compile rows
    assert len(ns) == 100
    assert (ns["n_devices"] == 4).sum() == 3 and set(ns.loc[ns["n_devices"] == 4, "model"]) == {"GPT-2 large"}
    assert (ns["execution"] == "torch.compile").sum() == 4
    assert ns["device_raw"].str.contains("A100-PCIE-40GB").any()
    assert any(p.endswith("neusight_devices.csv") and "not measurements" in why for p, why in df.attrs["skipped"])
    cal = pm.calibrate(df, n_bootstrap=0)            # must not raise on the NeuSight rows
    # the single-GPU rows go to the transformer step model (BERT at 512 tokens included: issue
    # 22); the Switch Transformer and the 4-GPU runs are kept there with their reasons
    skipped = cal.transformer_latency_.skipped
    assert not skipped["reason"].str.contains("seq_len 512").any()
    assert skipped["reason"].str.contains("SwitchTrans-XL4").sum() == 8
    assert skipped["reason"].str.contains("4-GPU run").sum() == 3
