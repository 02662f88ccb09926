"""pm.sweep / pm.sweep_chunks / pm.pareto: the vectorized sweep equals the scalar API row by row."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import plaster_model as pm
from plaster_model.catalog.loader import active_catalog
from plaster_model.catalog.objects import PRECISIONS
from plaster_model.estimators import collectives

TIMES = ("compute_time_s", "communication_time_s", "exposed_communication_time_s", "overhead_time_s",
         "iteration_time_s", "throughput_samples_s", "comm_to_compute_ratio")
REL = 1e-12


def _close(a, b):
    return a == b or abs(a - b) <= REL * max(abs(a), abs(b))


def _scalar(row, nics_per_node=1, **kwargs):
    """predict_training for one sweep row."""
    cluster = pm.Cluster(row["device"], int(row["n_devices"]), devices_per_node=int(row["devices_per_node"]),
                         intra_node=None if pd.isna(row["intra_node"]) else row["intra_node"],
                         interconnect=None if pd.isna(row["interconnect"]) else row["interconnect"],
                         nics_per_node=nics_per_node)
    return pm.predict_training(row["model"], cluster, row["batch_per_device"], row["precision"],
                               algorithm=row["algorithm"], check_memory=False, **kwargs)


def _assert_row_equals_scalar(row, pred, intervals=False):
    for col in TIMES:
        assert _close(row[col], getattr(pred, col)), (col, row[col], getattr(pred, col), dict(row))
    assert row["bound"] == pred.bound
    assert row["nodes"] == pred.n_nodes
    assert _close(row["global_batch"], pred.global_batch)
    if pred.link is None:
        assert pd.isna(row["link"])
    else:
        assert row["link"] == pred.link
    if intervals:
        lo, hi = pred.iteration_time_interval_s
        assert _close(row["iteration_time_low_s"], lo) and _close(row["iteration_time_high_s"], hi)


# --------------------------------------------------------------------------- shape and columns
def test_cross_product_columns_and_dtypes():
    df = pm.sweep(models=["ResNet-50", "VGG-16"], devices=["V100", "P100"], n_devices=[1, 2, 8, 16, 64],
                  interconnects=["InfiniBand EDR", "10GbE"], batch_per_device=[32, 64],
                  precisions=["fp32", "mixed"], algorithms="tree", devices_per_node=8, intra_node="NVLink 2")
    assert len(df) == 2 * 2 * 5 * 2 * 2 * 2
    assert tuple(df.columns) == pm.sweeps.SWEEP_COLUMNS + pm.sweeps.MEMORY_COLUMNS
    for col in ("model", "device", "interconnect", "intra_node", "link", "precision", "algorithm", "bound"):
        assert isinstance(df[col].dtype, pd.CategoricalDtype), col
    assert set(df["bound"].cat.categories) == {"compute", "communication"}
    assert (df.loc[df.n_devices == 1, "communication_time_s"] == 0).all()
    assert df.loc[df.n_devices == 1, "link"].isna().all()
    # within a node the link is NVLink, beyond it the network
    assert (df.loc[(df.n_devices > 1) & (df.n_devices <= 8), "link"] == "NVLink 2").all()
    multi = df[df.nodes > 1]
    assert (multi["link"].astype(str) == multi["interconnect"].astype(str)).all()
    assert (df["nodes"] == np.ceil(df["n_devices"] / 8)).all()
    assert df.attrs["scaling"] == "weak"
    assert any("per-operator roofline bound" in n for n in df.attrs["notes"])
    assert df["fits_memory"].dtype == bool


def test_rows_that_do_not_fit_memory_are_infeasible_not_timed():
    # issue 26: ResNet-50 at 4096 per device needs 4096 × 80.1 MB = 328 GB of activations
    # alone, beyond a 16 GB V100 (and a 40 GB A100); batch 64 needs 64 × 80.1 MB + 0.31 GB
    # + 1 GiB = 6.5 GB, which fits both
    df = pm.sweep("ResNet-50", ["V100", "A100"], [1, 8], "InfiniBand EDR", [64, 4096], devices_per_node=8,
                  intra_node="NVLink 2")
    big = df["batch_per_device"] == 4096
    assert (~df.loc[big, "fits_memory"]).all() and df.loc[~big, "fits_memory"].all()
    assert df.loc[big, ["iteration_time_s", "throughput_samples_s", "compute_time_s"]].isna().all().all()
    assert df.loc[~big, "iteration_time_s"].notna().all()
    with pytest.warns(pm.MemoryWarning, match="do not fit"):
        kept = pm.sweep("ResNet-50", "V100", 1, None, 4096, allow_oversubscribed=True)
    assert not kept["fits_memory"].iloc[0] and kept["iteration_time_s"].iloc[0] > 0
    # a transformer is checked too (GPT-2 XL: 1.56 G parameters × 12 B alone exceed 16 GB)
    gpt = pm.sweep("GPT-2 XL", "V100", 1, None, 1)
    assert not gpt["fits_memory"].iloc[0] and np.isnan(gpt["iteration_time_s"].iloc[0])


def test_hand_value_resnet50_v100_ib_edr():
    df = pm.sweep("ResNet-50", "V100", 64, "InfiniBand EDR", 64, devices_per_node=8, intra_node="NVLink 2",
                  algorithms=["tree", "auto"], efficiency=1.0)
    tree, auto = df.to_dict("records")
    ib, nv = pm.load_interconnect("InfiniBand EDR"), pm.load_interconnect("NVLink 2")
    w = 25_610_269 * 4
    assert tree["compute_time_s"] == pytest.approx(3 * 7.8e9 * 64 / 15.7e12)
    # the seed tree: 2·log2(64)·(w/β + α)
    assert tree["communication_time_s"] == pytest.approx(2 * 6 * (w / ib.bandwidth + ib.latency_s))
    # auto on 8 nodes × 8 (one NIC per node): the hierarchical all-reduce with halving-doubling
    # across nodes wins (the same bandwidth term as a ring there, 2·log2(8) latencies instead
    # of 2·7): 2·7/8·w/β_nvlink + 2·7·α_nv  +  2·7/8·(w/8)/(β_ib/8) + 2·3·α_ib
    hier = (2 * 7 / 8 * w / nv.bandwidth + 2 * 7 * nv.latency_s
            + 2 * 7 / 8 * (w / 8) / (ib.bandwidth / 8) + 2 * 3 * ib.latency_s)
    assert auto["communication_time_s"] == pytest.approx(hier, rel=1e-12)


def test_scalar_arguments_and_objects_and_aliases():
    dev = pm.Device(name="MyGPU", peak_flops={"fp32": "20 TFLOPS"}, memory_bytes="24 GB",
                    memory_bandwidth="1 TB/s", power_w="250 W", source="test")
    df = pm.sweep("resnet50", [dev, "V100"], np.array([1, 4]), "ib edr", 16)
    assert list(df["device"].cat.categories) == ["MyGPU", "V100"]
    assert list(df["model"].cat.categories) == ["ResNet-50"]
    assert len(df) == 4


def test_unsupported_device_precision_pairs():
    with pytest.warns(UserWarning, match="K40/fp16"):
        df = pm.sweep("ResNet-50", ["K40", "V100"], [1, 4], "InfiniBand FDR", 32, ["fp32", "fp16"])
    assert len(df) == 3 * 2 and ("K40", "fp16") in df.attrs["unsupported"]
    with pytest.warns(UserWarning, match="NaN"):
        df = pm.sweep("ResNet-50", ["K40", "V100"], [1, 4], "InfiniBand FDR", 32, ["fp32", "fp16"],
                      unsupported="nan")
    bad = df[(df.device == "K40") & (df.precision == "fp16")]
    assert len(df) == 8 and bad["iteration_time_s"].isna().all() and bad["bound"].isna().all()
    with pytest.raises(ValueError, match="fp16"):
        pm.sweep("ResNet-50", "K40", 4, "InfiniBand FDR", 32, "fp16", unsupported="raise")


def test_missing_links_and_bad_inputs_raise():
    with pytest.raises(ValueError, match="interconnect"):
        pm.sweep("ResNet-50", "V100", [1, 16], None, 32, devices_per_node=8, intra_node="NVLink 2")
    with pytest.raises(ValueError, match="intra_node"):
        pm.sweep("ResNet-50", "V100", [4], "InfiniBand EDR", 32, devices_per_node=8)
    with pytest.raises(ValueError, match="n_devices"):
        pm.sweep("ResNet-50", "V100", [0, 2], "InfiniBand EDR", 32)
    with pytest.raises(ValueError, match="batch_per_device"):
        pm.sweep("ResNet-50", "V100", 2, "InfiniBand EDR", -1)
    with pytest.raises(ValueError, match="algorithm"):
        pm.sweep("ResNet-50", "V100", 2, "InfiniBand EDR", 32, algorithms="butterfly-of-doom")
    with pytest.raises(KeyError, match="did you mean"):
        pm.sweep("ResNet-5O", "V100", 2, "InfiniBand EDR", 32)
    with pytest.raises(ValueError, match="global_batch"):
        pm.sweep("ResNet-50", "V100", 2, "InfiniBand EDR", 32, scaling="strong")
    # every configuration inside one node: no network needed
    df = pm.sweep("ResNet-50", "V100", [1, 2, 8], None, 32, devices_per_node=8, intra_node="NVLink 2")
    assert len(df) == 3 and df["interconnect"].isna().all() and (df["intra_node"] == "NVLink 2").all()


def test_strong_scaling_matches_predict_training():
    df = pm.sweep("VGG-16", "P100", [1, 3, 8, 24], "InfiniBand FDR", scaling="strong", global_batch=[256, 1000],
                  devices_per_node=8, intra_node="NVLink 1")
    assert np.allclose(df["global_batch"], np.repeat([[256, 1000]], 4, axis=0).ravel())
    for row in df.to_dict("records"):
        c = pm.Cluster("P100", int(row["n_devices"]), devices_per_node=8, intra_node="NVLink 1",
                       interconnect="InfiniBand FDR")
        pred = pm.predict_training("VGG-16", c, scaling="strong", global_batch=row["global_batch"],
                                   check_memory=False)
        _assert_row_equals_scalar(row, pred)


def test_efficiency_overhead_and_gradient_precision_pass_through():
    kw = dict(efficiency=0.6, comm_efficiency=0.8, overhead_s="2 ms", gradient_precision="fp32")
    df = pm.sweep(["ResNet-50", "AlexNet"], ["V100", "A100"], [1, 16], "100GbE", 64, "mixed",
                  devices_per_node=8, intra_node="NVLink 2", **kw)
    assert (df["overhead_time_s"] == 0.002).all()
    for row in df.to_dict("records"):
        _assert_row_equals_scalar(row, _scalar(row, **kw))


class _FakeCalibration:
    """Deterministic stand-in for plaster_model.calibration: parameters vary with every key."""

    def __init__(self):
        self.calls = []

    def parameters_for(self, device, precision, model, phase, n_devices, **how):
        # **how: backend / link_class (the multi-device scalar path names how it exchanges)
        self.calls.append((device, precision, model, phase, n_devices))
        eff = 0.3 + 0.1 * (len(device) % 5) + 0.01 * (len(model) % 7)
        return {"efficiency": eff, "efficiency_interval": (0.9 * eff, min(1.0, 1.1 * eff)),
                "overhead_s": 1e-4 * (len(precision) + 1), "comm_efficiency": 0.5 + 0.1 * (n_devices % 4),
                "notes": [f"fake fit for {device}"]}


def test_calibration_resolved_once_per_combination_and_matches_scalar():
    cal = _FakeCalibration()
    df = pm.sweep(["ResNet-50", "VGG-16"], ["V100", "T4"], [1, 2, 16], ["InfiniBand EDR", "25GbE"],
                  [16, 32, 64], ["fp32", "mixed"], devices_per_node=4, intra_node="PCIe 3.0 x16", calibration=cal)
    # (model, device, precision, n_devices) combinations, never per row
    assert len(cal.calls) == 2 * 2 * 2 * 3 < len(df)
    assert {c[3] for c in cal.calls} == {"training"}
    assert set(pm.sweeps.INTERVAL_COLUMNS) <= set(df.columns)
    assert df.attrs["calibrated"]
    for row in df.sample(25, random_state=0).to_dict("records"):
        _assert_row_equals_scalar(row, _scalar(row, calibration=cal), intervals=True)


def test_topology_kwargs_follow_predict_training(monkeypatch):
    """A topology-aware algorithm sees devices_per_node/beta_intra exactly where the scalar
    path passes them (multi-node clusters with several devices per node)."""
    seen = []

    def fake(w, p, beta, alpha, devices_per_node=1, nics_per_node=1, beta_intra=None, alpha_intra=None, **_):
        # the resolution layer passes devices_per_node = 1 ("flat over β") where a row has no
        # node layout (one node, or one device per node), the layout elsewhere
        g = np.asarray(devices_per_node, dtype=float)
        seen.extend(np.ravel(g > 1).tolist())
        flat = 2 * (p - 1) / p * w / beta + 2 * (p - 1) * alpha
        nodes = np.ceil(p / g)
        layered = (2 * w / beta_intra + alpha_intra * g
                   + 2 * (nodes - 1) / nodes * w * nics_per_node / beta + alpha)
        return np.where(g > 1, layered, flat)

    monkeypatch.setitem(collectives.ALGORITHMS, "fake_hier", fake)
    df = pm.sweep(["ResNet-50"], ["V100"], [1, 2, 4, 8, 12, 16, 64], ["InfiniBand EDR"], [32],
                  algorithms=["tree", "fake_hier"], devices_per_node=[1, 8], intra_node="NVLink 2",
                  nics_per_node=2)
    assert True in seen and False in seen
    for row in df.to_dict("records"):
        c = pm.Cluster("V100", int(row["n_devices"]), devices_per_node=int(row["devices_per_node"]),
                       intra_node="NVLink 2", interconnect="InfiniBand EDR", nics_per_node=2)
        pred = pm.predict_training("ResNet-50", c, 32, algorithm=row["algorithm"], check_memory=False)
        _assert_row_equals_scalar(row, pred)


def test_algorithm_specific_options_go_to_their_algorithm_only():
    algs = ["tree", "ps", "Hierarchical"]  # aliases are normalized
    df = pm.sweep(["VGG-16"], ["V100"], [1, 4, 16, 32], ["InfiniBand EDR"], [32], algorithms=algs,
                  devices_per_node=8, intra_node="NVLink 2", nics_per_node=4, servers=2,
                  inter_algorithm="tree", overlap=0.5)
    assert list(df["algorithm"].cat.categories) == ["tree", "parameter_server", "hierarchical"]
    assert (df["exposed_communication_time_s"] <= df["communication_time_s"]).all()
    for row in df.to_dict("records"):
        extra = {"parameter_server": {"servers": 2}, "hierarchical": {"inter_algorithm": "tree"}}
        pred = _scalar(row, nics_per_node=4, overlap=0.5, **extra.get(row["algorithm"], {}))
        _assert_row_equals_scalar(row, pred)
    with pytest.raises(ValueError, match="servers"):
        pm.sweep("VGG-16", "V100", 4, "InfiniBand EDR", 32, algorithms="ring", servers=2)
    with pytest.raises(ValueError, match="overlap"):
        pm.sweep("VGG-16", "V100", 4, "InfiniBand EDR", 32, overlap=1.5)


# --------------------------------------------------------------------------- hypothesis: sweep == scalar
_CAT = active_catalog()
_MODELS = sorted(_CAT.entries["model"])
_DEVICES = sorted(_CAT.entries["device"])
_INTER = sorted(_CAT.entries["interconnect"])
_INTRA = sorted(n for n, i in _CAT.entries["interconnect"].items() if i.scope != "inter_node")


def _sub(values, max_size=3):
    return st.lists(st.sampled_from(values), min_size=1, max_size=max_size, unique=True)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models=_sub(_MODELS), devices=_sub(_DEVICES), inter=_sub(_INTER, 2), intra=st.sampled_from(_INTRA),
       ns=st.lists(st.integers(1, 4096), min_size=1, max_size=4, unique=True),
       dpn=st.lists(st.sampled_from([1, 2, 4, 8, 16]), min_size=1, max_size=2, unique=True),
       batches=st.lists(st.one_of(st.integers(1, 512), st.floats(1.0, 512.0)), min_size=1, max_size=3),
       precs=st.one_of(_sub(["fp32", "mixed", "fp16"]), _sub(sorted(PRECISIONS))),
       algs=_sub(sorted(collectives.ALGORITHMS)),
       eff=st.one_of(st.none(), st.floats(0.05, 1.0)),
       options=st.fixed_dictionaries({}, optional={"overlap": st.sampled_from([0.0, 0.3, 1.0]),
                                                   "bucket_bytes": st.sampled_from([None, "4 MiB", 1e9]),
                                                   "gradient_precision": st.sampled_from(["fp32", "fp16"]),
                                                   "nics_per_node": st.integers(1, 8)}),
       data=st.data())
def test_sweep_equals_predict_training(models, devices, inter, intra, ns, dpn, batches, precs, algs, eff,
                                       options, data):
    nics = options.pop("nics_per_node", 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            df = pm.sweep(models, devices, ns, inter, batches, precs, algs, devices_per_node=dpn,
                          intra_node=intra, efficiency=eff, unsupported="drop", nics_per_node=nics,
                          check_memory=False, **options)
        except ValueError as exc:  # every device/precision pair unsupported
            assert "no device supports" in str(exc)
            assert not any(p in active_catalog().get("device", d).precisions for d in devices for p in precs)
            return
    idx = data.draw(st.lists(st.integers(0, len(df) - 1), min_size=3, max_size=12, unique=True)
                    if len(df) >= 3 else st.just(list(range(len(df)))))
    for row in df.iloc[idx].to_dict("records"):
        _assert_row_equals_scalar(row, _scalar(row, nics_per_node=nics, efficiency=eff, **options))


# --------------------------------------------------------------------------- chunks
@pytest.mark.parametrize("chunk_size", [1, 7, 50, 10**6])
def test_chunks_concatenate_to_the_sweep(chunk_size):
    args = (["ResNet-50", "TextCNN"], ["V100", "K80"], [1, 3, 9, 32], ["InfiniBand QDR", "40GbE"], [8, 24])
    kw = dict(precisions=["fp32", "fp16"], algorithms=["tree"], devices_per_node=[1, 4], intra_node="PCIe 3.0 x16")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        whole = pm.sweep(*args, chunk_size=chunk_size, **kw)
        parts = list(pm.sweep_chunks(*args, chunk_size=chunk_size, **kw))
        assert pm.sweep_size(*args, **kw) == len(whole)
        reference = pm.sweep(*args, **kw)
    assert all(len(p) <= chunk_size for p in parts)
    joined = pd.concat(parts)
    assert isinstance(joined["model"].dtype, pd.CategoricalDtype)
    pd.testing.assert_frame_equal(joined, whole)
    pd.testing.assert_frame_equal(whole, reference)


def test_progress_bar_is_optional(capsys):
    df = pm.sweep("ResNet-50", "V100", [1, 2, 4], "InfiniBand EDR", [1, 2], progress=True, chunk_size=2)
    assert len(df) == 6
    df = pm.sweep("ResNet-50", "V100", [1, 2, 4], "InfiniBand EDR", [1, 2], progress=False)
    assert len(df) == 6


# --------------------------------------------------------------------------- pareto
def _brute_front(x):
    keep = []
    for i in range(len(x)):
        if np.isnan(x[i]).any():
            continue
        dom = False
        for j in range(len(x)):
            if np.isnan(x[j]).any():
                continue
            if np.all(x[j] <= x[i]) and np.any(x[j] < x[i]):
                dom = True
                break
        if not dom:
            keep.append(i)
    return keep


@settings(max_examples=80, deadline=None)
@given(data=st.data(), k=st.integers(1, 4), n=st.integers(0, 60))
def test_pareto_matches_brute_force(data, k, n):
    vals = data.draw(st.lists(st.lists(st.one_of(st.integers(0, 5).map(float), st.just(np.nan)),
                                       min_size=k, max_size=k), min_size=n, max_size=n))
    x = np.array(vals, dtype=float).reshape(n, k)
    senses = data.draw(st.lists(st.sampled_from(["min", "max"]), min_size=k, max_size=k))
    df = pd.DataFrame(x, columns=[f"c{i}" for i in range(k)], index=np.arange(n) * 3 + 1)
    front = pm.pareto(df, dict(zip(df.columns, senses)))
    signed = x * np.where(np.array(senses) == "max", -1.0, 1.0)
    assert sorted(front.index) == sorted(df.index[_brute_front(signed)])


def test_pareto_list_objectives_and_cost_example():
    df = pm.sweep(["ResNet-50"], ["V100", "A100", "T4"], [1, 2, 4, 8, 16, 32, 64], ["InfiniBand EDR"], [64],
                  ["mixed"], devices_per_node=8, intra_node="NVLink 2")
    price = {"V100": 2.48, "A100": 3.67, "T4": 0.35}
    df["epoch_h"] = 1_281_167 / df["throughput_samples_s"] / 3600
    df["cost"] = df["n_devices"] * df["device"].map(price).astype(float) * df["epoch_h"]
    front = pm.pareto(df, ["epoch_h", "cost"])
    assert 2 <= len(front) < len(df)
    assert front["epoch_h"].is_monotonic_increasing
    assert front["cost"].is_monotonic_decreasing
    # the cheapest and the fastest configurations are on the front
    assert df["cost"].idxmin() in front.index and df["epoch_h"].idxmin() in front.index
    same = pm.pareto(df, {"epoch_h": "min", "cost": "min"})
    pd.testing.assert_frame_equal(front, same)
    # throughput maximised instead of epoch time minimised: a monotone transform, same front
    alt = pm.pareto(df, {"throughput_samples_s": "max", "cost": "min"})
    assert set(alt.index) == set(front.index)
    with pytest.raises(KeyError, match="no column"):
        pm.pareto(df, ["price_per_hour"])
    with pytest.raises(ValueError, match="'min' or 'max'"):
        pm.pareto(df, {"cost": "lowest"})
