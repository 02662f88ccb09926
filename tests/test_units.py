"""Unit parsing: bits vs bytes, GB vs GiB, rates vs counts, dimension errors."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from plaster_model.units import UnitError, format_si, to_si


@pytest.mark.parametrize("text, kind, expected", [
    # bits vs bytes: 56 Gb/s = 56e9 bit/s / 8 bit/B = 7e9 B/s
    ("56 Gb/s", "bandwidth", 7e9),
    ("56 Gbit/s", "bandwidth", 7e9),
    ("56 Gbps", "bandwidth", 7e9),
    ("100 Gb/s", "bandwidth", 12.5e9),
    # bytes per second stays bytes
    ("900 GB/s", "bandwidth", 900e9),
    ("15.75 GB/s", "bandwidth", 15.75e9),
    ("3.35 TB/s", "bandwidth", 3.35e12),
    # GB = 1e9 B; GiB = 2**30 B = 1,073,741,824 B
    ("16 GB", "bytes", 16e9),
    ("16 GiB", "bytes", 16 * 2**30),
    ("528 MiB", "bytes", 528 * 2**20),
    ("1 Gb", "bytes", 1.25e8),
    # rates (FLOPS, TOPS) vs counts (FLOP, GFLOPs)
    ("15.7 TFLOPS", "flop_rate", 15.7e12),
    ("130 TOPS", "flop_rate", 130e12),
    ("11.3 GFLOP", "flops", 11.3e9),
    ("11.3 GFLOPs", "flops", 11.3e9),
    ("300 W", "power", 300.0),
    ("1.3 us", "time", 1.3e-6),
    ("7 ms", "time", 7e-3),
    ("2 h", "time", 7200.0),
    ("2 J", "energy", 2.0),
])
def test_parse(text, kind, expected):
    assert to_si(text, kind) == pytest.approx(expected, rel=1e-12)


def test_bits_are_never_bytes():
    # The classic bug: reading 56 Gb/s InfiniBand as 56 GB/s overstates it 8x.
    assert to_si("56 GB/s", "bandwidth") / to_si("56 Gb/s", "bandwidth") == pytest.approx(8.0)


def test_b_is_a_bit_not_a_barn():
    # pint's default registry reads "b" as barn (an area); ours must not.
    assert to_si("8 b", "bytes") == 1.0


@pytest.mark.parametrize("text, kind, fragment", [
    ("56 Gb/s", "flop_rate", "bandwidth"),       # a bandwidth where a FLOP rate is expected
    ("15 TFLOPS", "bandwidth", "compute rate"),
    ("16 GB", "bandwidth", "size in bytes"),      # a size where a rate is expected
    ("15", "bytes", "no unit"),
    ("56 G/s", "bandwidth", "cannot parse"),
    ("11.3 GFLOPs", "flop_rate", "work"),          # a count where a rate is expected
])
def test_dimension_errors(text, kind, fragment):
    with pytest.raises(UnitError, match=fragment):
        to_si(text, kind, name="beta")


def test_error_names_the_parameter():
    with pytest.raises(UnitError, match="^beta:"):
        to_si("3 W", "bandwidth", name="beta")


def test_numbers_and_arrays_pass_through():
    assert to_si(7e9, "bandwidth") == 7e9
    np.testing.assert_array_equal(to_si([1, 2], "bandwidth"), [1.0, 2.0])
    np.testing.assert_allclose(to_si(["1 GB/s", "8 Gb/s"], "bandwidth"), [1e9, 1e9])


@given(st.floats(min_value=1e-3, max_value=1e6), st.sampled_from(["k", "M", "G", "T"]))
def test_unit_round_trip(x, prefix):
    factor = {"k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}[prefix]
    assert to_si(f"{x!r} {prefix}B/s", "bandwidth") == pytest.approx(x * factor, rel=1e-12)
    assert to_si(f"{x!r} {prefix}b/s", "bandwidth") == pytest.approx(x * factor / 8, rel=1e-12)
    assert to_si(f"{x!r} {prefix}FLOPS", "flop_rate") == pytest.approx(x * factor, rel=1e-12)


def test_format_si():
    assert format_si(3e11, "B/s") == "300 GB/s"
    assert format_si(5.5e5, "s") == "153 h"
    assert not math.isnan(to_si("0 s", "time"))


# The plain "<number> <unit>" forms are parsed without pint (a first prediction no longer
# imports it); pint stays the reference: the same float, bit for bit, for every entry of the
# table on the catalogs' own magnitudes and on random ones, and every string the bundled
# catalogs hold parses to what pint gives.
@given(mag=st.one_of(st.integers(0, 10**9), st.decimals(0, 10**6, places=4, allow_nan=False)),
       unit=st.sampled_from(sorted(__import__("plaster_model.units", fromlist=["_PLAIN_UNITS"])._PLAIN_UNITS)))
def test_plain_units_equal_pint_bit_for_bit(mag, unit):
    from plaster_model import units

    kind = units._PLAIN_UNITS[unit][0]
    text = f"{mag} {unit}"
    fast = units._parse_plain(text, kind)
    assert fast is not None
    assert fast == units._parse_checked(text, kind)


def test_catalog_strings_parse_as_pint_does(monkeypatch):
    from plaster_model import units
    from plaster_model.catalog import loader

    seen = []
    parse = units._parse_string.__wrapped__
    monkeypatch.setattr(units, "_parse_string", lambda t, k: seen.append((t, k)) or parse(t, k))
    cat = loader.Catalog()  # a fresh catalog from the bundled files (bundled_catalog() is cached)
    for path in loader._bundled_files():
        cat._add_file(path)
    assert len(seen) > 300  # every quantity in the bundled catalogs went through the parser
    plain = [(t, k) for t, k in seen if units._parse_plain(t, k) is not None]
    assert len(plain) == len(seen)  # all of them are plain forms: no pint at catalog load
    for t, k in seen:
        assert units._parse_plain(t, k) == units._parse_checked(t, k), t


def test_plain_forms_leave_the_rest_to_pint():
    from plaster_model import units

    # a unit of the wrong kind, an expression, a sign or an exponent is not a plain form
    for text, kind in [("16 GB", "bandwidth"), ("2 * 8 GB", "bytes"), ("-3 W", "power"), ("1e3 GB", "bytes"),
                       ("56 Gbit/s", "bandwidth")]:
        assert units._parse_plain(text, kind) is None
    assert to_si("1e3 GB", "bytes") == 1e12 and to_si("56 Gbit/s", "bandwidth") == 7e9
    with pytest.raises(UnitError):
        to_si("16 GB", "bandwidth")
