"""One serializer for catalog objects: every bundled entry round-trips exactly."""
from __future__ import annotations

import pytest

import plaster_model as pm
from plaster_model.catalog.loader import active_catalog
from plaster_model.catalog.serialize import catalog_entry, from_entry, to_yaml

KINDS = ("device", "interconnect", "system", "model", "dataset")


def _all():
    cat = active_catalog()
    return [(k, cat.get(k, n)) for k in KINDS for n in getattr(pm, f"list_{k}s")()["name"]]


@pytest.mark.parametrize("kind", KINDS)
def test_every_bundled_entry_round_trips_exactly(kind):
    objs = [o for k, o in _all() if k == kind]
    assert objs
    for o in objs:
        k, name, entry = catalog_entry(o)
        assert (k, name) == (kind, o.name)
        assert from_entry(k, name, entry) == o


def test_yaml_file_loads_back(tmp_path):
    # a catalog file written by to_yaml is what load_catalog reads: a user model built by hand
    # (or from ONNX) and a user device, exact to the last bit
    m = pm.Model(name="my-net", params=12_345, fwd_flops=3.3e9, source="hand count", task="classification")
    d = pm.Device(name="my-gpu", peak_flops={"fp32": 1.234567e13}, memory_bytes=2.4e10,
                  memory_bandwidth=9.36e11, power_w=350.0, source="datasheet")
    path = tmp_path / "mine.yaml"
    path.write_text(to_yaml(m, d))
    try:
        pm.load_catalog(str(path))
        assert pm.load_model("my-net") == m and pm.load_device("my-gpu") == d
    finally:
        pm.reset_catalog()


def test_quantities_carry_units():
    # every quantity is written with its SI unit (canonical keys: latency_s, issue 26 Names)
    _, _, e = catalog_entry(pm.load_interconnect("InfiniBand FDR"))
    assert e["signalling_rate"].endswith(" B/s") and e["latency_s"].endswith(" s")
    assert pm.to_si(e["signalling_rate"], "bandwidth") == pytest.approx(56e9 / 8)   # 56 Gb/s
