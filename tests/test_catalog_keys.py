"""Issue 26 (Names): YAML keys ``memory_bytes``/``power_w``/``latency_s`` are the Python
attribute names; the old ``memory``/``power``/``latency`` load with a DeprecationWarning,
and ``plaster-model catalog upgrade`` rewrites them line by line, keeping comments."""
from __future__ import annotations

import warnings

import pytest

import plaster_model as pm
from plaster_model.catalog.upgrade import upgrade_text
from plaster_model.cli import main
from plaster_model.errors import CatalogError

OLD = """schema_version: 1
# a user's catalog: comments and quoting are kept
devices:
  MyGPU:
    peak_flops: {fp32: "20 TFLOPS"}
    memory: "24 GiB"        # HBM, GiB as the vendor prints it
    memory_bandwidth: "1 TB/s"
    power: null
    sources: {power: "not published: memory: power: in text stays"}
    notes: "memory: 12 GB per die"
    source: "vendor datasheet"
interconnects:
  MyNet:
    latency: "2 us"
    link_bandwidth: "25 GB/s"
    source: "vendor datasheet"
"""
NEW = OLD.replace('    memory: "24 GiB"', '    memory_bytes: "24 GiB"').replace(
    "    power: null", "    power_w: null").replace('    latency: "2 us"', '    latency_s: "2 us"')


@pytest.fixture(autouse=True)
def _reset():
    yield
    pm.reset_catalog()


def _load(tmp_path, text, name="mine.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pm.load_catalog([path])
    # the user's file's warnings (the bundled catalogs' own are checked on their own below)
    return path, [w for w in caught if issubclass(w.category, DeprecationWarning) and str(path) in str(w.message)]


def test_canonical_keys_load_without_warning_and_convert_units(tmp_path):
    _, dep = _load(tmp_path, NEW)
    assert dep == []
    d, link = pm.load_device("MyGPU"), pm.load_interconnect("MyNet")
    assert d.memory_bytes == 24 * 2**30  # "24 GiB" converted to the key's unit: 25,769,803,776 B
    assert d.power_w is None
    assert link.latency_s == pytest.approx(2e-6, rel=1e-12)


def test_a_bare_number_is_read_in_the_keys_unit(tmp_path):
    text = NEW.replace('memory_bytes: "24 GiB"', "memory_bytes: 16000000000").replace(
        "power_w: null", "power_w: 300").replace('latency_s: "2 us"', "latency_s: 1.3e-6")
    _load(tmp_path, text)
    d = pm.load_device("MyGPU")
    assert (d.memory_bytes, d.power_w) == (16e9, 300.0)
    assert pm.load_interconnect("MyNet").latency_s == pytest.approx(1.3e-6, rel=1e-12)


def test_old_keys_warn_naming_the_file_and_the_new_key_and_load_the_same(tmp_path):
    path, dep = _load(tmp_path, OLD)
    messages = [str(w.message) for w in dep]
    assert len(messages) == 3  # one per deprecated key of the file
    for old, new in (("memory", "memory_bytes"), ("power", "power_w"), ("latency", "latency_s")):
        msg = next(m for m in messages if f"YAML key {old!r}" in m)
        assert str(path) in msg and f"write {new!r}" in msg and "catalog upgrade" in msg
    assert pm.load_device("MyGPU").memory_bytes == 24 * 2**30
    assert pm.load_interconnect("MyNet").latency_s == pytest.approx(2e-6, rel=1e-12)
    # a bare number under an old key stays refused (it named no unit)
    with pytest.raises(CatalogError, match="has no unit"):
        _load(tmp_path, OLD.replace('memory: "24 GiB"', "memory: 24"), "bare.yaml")


def test_both_spellings_in_one_entry_are_refused(tmp_path):
    text = OLD.replace('    memory: "24 GiB"', '    memory: "24 GiB"\n    memory_bytes: "24 GiB"')
    with pytest.raises(CatalogError, match="both 'memory' and 'memory_bytes'"):
        _load(tmp_path, text)


def test_upgrade_renames_entry_keys_only_and_keeps_everything_else():
    new, n = upgrade_text(OLD)
    assert n == 3 and new == NEW  # comments, quotes, sources keys and text values untouched
    assert upgrade_text(NEW) == (NEW, 0)


def test_catalog_upgrade_command(tmp_path, capsys):
    path = tmp_path / "mine.yaml"
    path.write_text(OLD, encoding="utf-8")
    assert main(["catalog", "upgrade", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out == NEW and "3 deprecated key(s) renamed" in err
    assert path.read_text(encoding="utf-8") == OLD  # printed, not rewritten
    assert main(["catalog", "upgrade", str(path), "--in-place"]) == 0
    assert path.read_text(encoding="utf-8") == NEW
    _, dep = _load(tmp_path, NEW, "again.yaml")
    assert dep == []


def test_serialized_entries_use_the_canonical_keys():
    from plaster_model.catalog.serialize import catalog_entry

    entry = catalog_entry(pm.load_device("V100"))[2]
    assert "memory_bytes" in entry and "power_w" in entry and "memory" not in entry
    assert "latency_s" in catalog_entry(pm.load_interconnect("NVLink 2"))[2]


def test_bundled_catalogs_load_without_a_deprecation_warning():
    from plaster_model.catalog.loader import Catalog, _bundled_files

    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        cat = Catalog()
        for path in _bundled_files():
            cat._add_file(path)
