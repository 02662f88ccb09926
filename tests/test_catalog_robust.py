"""Catalog loader robustness (issue 15 defect 9, issue 12 defect 1): every malformed catalog
is a CatalogError naming the file, the entry and the field; bare numbers for quantities and
YAML aliases are refused; the bundled catalogs still load."""
from __future__ import annotations

import pytest

import plaster_model as pm
from _hang_guard import hang_guard
from plaster_model.catalog.loader import Catalog, bundled_catalog

DEVICE = """devices:
  MyGPU:
    peak_flops: {{fp32: {peak}}}
    memory: {memory}
    memory_bandwidth: "1 TB/s"
    power: "250 W"
    source: "vendor datasheet"
"""
LINK = """interconnects:
  My fabric:
    link_bandwidth: {bw}
    latency: "2 us"
    source: "measured"
"""


def _load(tmp_path, text: str | bytes, name="mine.yaml"):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return Catalog().merge_file(path), path


def test_bundled_catalogs_load_with_units_everywhere():
    cat = bundled_catalog()
    assert len(cat.entries["device"]) > 10 and len(cat.entries["model"]) > 5
    # "900 GB/s" is 9e11 B/s: the bundled V100 (SXM2 datasheet) still converts.
    assert pm.load_device("V100").memory_bandwidth == pytest.approx(900e9)


@pytest.mark.parametrize("text, field, unit", [
    (DEVICE.format(peak='"20 TFLOPS"', memory="24"), "memory", "GB"),
    (DEVICE.format(peak="20.5", memory='"24 GB"'), "peak_flops.fp32", "TFLOPS"),
    (LINK.format(bw="56"), "link_bandwidth", "Gb/s"),
])
def test_bare_numbers_need_units(tmp_path, text, field, unit):
    # memory: 24 would be 24 B, link_bandwidth: 56 would be 56 B/s (36 years per iteration).
    with pytest.raises(pm.CatalogError) as info:
        _load(tmp_path, text)
    msg = str(info.value)
    assert "mine.yaml" in msg and field in msg and unit in msg and "no unit" in msg


def test_units_given_are_accepted(tmp_path):
    _load(tmp_path, DEVICE.format(peak='"20 TFLOPS"', memory='"24 GB"'))


@pytest.mark.parametrize("text, fragment", [
    ("devices: [1, 2]\n", "section 'devices' must be a mapping"),
    ("models:\n  M:\n    params: 10\n    fwd_flops: '1 GFLOP'\n    source: s\n    accuracy: [top1 is 70]\n",
     "accuracy must be a list of records"),
    (DEVICE.format(peak='"20 TFLOPS"', memory='"24 GB"').replace('    source:', '    aliases: [1, 2]\n    source:'),
     "aliases must be a list of text"),
    ("datasets:\n  D:\n    train_samples: '1000'\n    source: s\n", "train_samples must be an integer"),
    ("devices:\n  1: {}\n", "name 1 must be text"),
    (DEVICE.format(peak='"20 TFLOPS"', memory='"24 GB"').replace('source: "vendor datasheet"', "source: [a]"),
     "source must be text"),
])
def test_wrong_types_are_catalog_errors(tmp_path, text, fragment):
    with pytest.raises(pm.CatalogError, match=fragment.replace("[", r"\[")):
        _load(tmp_path, text)


def test_non_utf8_catalog_is_a_catalog_error(tmp_path):
    text = DEVICE.format(peak='"20 TFLOPS"', memory='"24 GB"').replace("vendor", "caf\xe9").encode("latin-1")
    with pytest.raises(pm.CatalogError, match="not UTF-8"):
        _load(tmp_path, text)


BILLION_LAUGHS = """a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_yaml_aliases_are_refused(tmp_path):
    # 9^9 = 387 million "lol"s once expanded: refused before anything is built.
    text = DEVICE.format(peak='"20 TFLOPS"', memory='"24 GB"').replace(
        'source: "vendor datasheet"', 'source: "x"\n    notes: *i') 
    text = "x:\n" + "".join("  " + line + "\n" for line in BILLION_LAUGHS.splitlines()) + text
    # Timing: benchmarks/bench_untrusted.py; here a hang guard only (issue 25).
    with hang_guard(), pytest.raises(pm.CatalogError, match="aliases are not allowed"):
        _load(tmp_path, text)
    # A single reused anchor is refused too (catalogs never need one).
    with pytest.raises(pm.CatalogError, match="aliases"):
        _load(tmp_path, DEVICE.format(peak='&p "20 TFLOPS"', memory='"24 GB"')
              .replace("    power:", "    xpower: *p\n    power:"))
