"""Unit parsing at the edges: strings with units in, SI floats out.

Every quantity inside plaster_model is a plain float (or numpy array) in SI-style base
units: bytes, bytes per second, FLOP, FLOP per second, seconds, watts, joules. Users and
catalogs may write quantities as strings (``"56 Gb/s"``, ``"16 GiB"``, ``"15.7 TFLOPS"``,
``"1.3 us"``); :func:`to_si` converts them with a small, dedicated `pint`_ registry and
checks that the dimension is the one the caller expects.

The registry is our own, not pint's default: the default reads ``b`` as *barn*, so
``"56 Gb/s"`` would silently become an area per second. Here ``b``/``bit`` is one eighth of
a ``B``/``byte``, decimal prefixes (k, M, G, T) are powers of 1000 and binary prefixes
(Ki, Mi, Gi, Ti) powers of 1024. ``FLOPS`` (capital S) is a rate, ``FLOPs``/``FLOP`` a count.

.. _pint: https://pint.readthedocs.io
"""
from __future__ import annotations

import functools
import math
import numbers
import re
from importlib import resources
from typing import Any

import numpy as np

__all__ = ["to_si", "format_si", "KINDS", "UnitError", "MAX_UNIT_CHARS"]


from .errors import UnitError


#: The physical kinds of quantity plaster_model uses, with their pint dimensionality and
#: the SI-style base unit they convert to.
KINDS: dict[str, tuple[str, str]] = {
    "bytes": ("[information]", "byte"),
    "bandwidth": ("[information] / [time]", "byte / second"),
    "flops": ("[compute]", "flop"),
    "flop_rate": ("[compute] / [time]", "flop / second"),
    "time": ("[time]", "second"),
    "power": ("[power]", "watt"),
    "energy": ("[power] * [time]", "joule"),
    "samples": ("[samples]", "sample"),
    "sample_rate": ("[samples] / [time]", "sample / second"),
    "dimensionless": ("", ""),
}

_KIND_DESCRIPTIONS = {
    "bytes": "a size in bytes (e.g. '16 GiB', '528 MB')",
    "bandwidth": "a bandwidth (e.g. '900 GB/s', '56 Gb/s')",
    "flops": "an amount of work in FLOP (e.g. '11.3 GFLOP')",
    "flop_rate": "a compute rate (e.g. '15.7 TFLOPS')",
    "time": "a time (e.g. '1.3 us', '7 ms')",
    "power": "a power (e.g. '300 W')",
    "energy": "an energy (e.g. '2 J')",
    "samples": "a number of samples",
    "sample_rate": "a rate in samples per second (e.g. '1000 img/s')",
    "dimensionless": "a plain number",
}


@functools.lru_cache(maxsize=1)
def _registry():
    # Imported lazily: pint costs ~0.2 s to import and the registry is only needed when
    # a string is actually parsed (catalog load, or a user passing "15 TFLOPS").
    import pint

    ureg = pint.UnitRegistry(None, autoconvert_offset_to_baseunit=False, cache_folder=None)
    text = resources.files("plaster_model").joinpath("_units_definitions.txt").read_text()
    ureg.load_definitions(text.splitlines())
    return ureg


#: Longest unit string :func:`to_si` parses [characters]. The longest a catalog needs is
#: ~20 ("1.5 TB/s", "19.5 TFLOPS"); pint's parser is superlinear in the length (a
#: 100,000-character string took 80 s), so anything longer is refused unparsed.
MAX_UNIT_CHARS = 200

#: What pint's parser raises on malformed text besides its own errors: an exponent that
#: overflows ("1 B**99999"), an unclosed bracket (tokenize.TokenError), nesting deeper than
#: the recursion limit, a division by zero in the expression ("1/0 B").
_PINT_SLIPS = (AttributeError, TypeError, ValueError, SyntaxError, OverflowError, ArithmeticError,
               RecursionError, IndexError, KeyError, MemoryError)


#: The plain "<number> <unit>" forms the bundled catalogs write, answered without pint
#: (importing it and building the registry was half of a first prediction's time): unit ->
#: (kind, the factor to the base unit as ``_units_definitions.txt`` defines it). Anything else
#: (other units, expressions, signs, errors) goes to pint. ``tests/test_units.py`` checks
#: every entry against pint, bit for bit, on the catalogs' strings and on random magnitudes.
_PLAIN_UNITS: dict[str, tuple[str, float]] = {
    **{f"{p}FLOPS": ("flop_rate", f) for p, f in (("", 1.0), ("G", 1e9), ("T", 1e12), ("P", 1e15))},
    **{f"{p}OPS": ("flop_rate", f) for p, f in (("G", 1e9), ("T", 1e12), ("P", 1e15))},
    **{f"{p}FLOP": ("flops", f) for p, f in (("", 1.0), ("M", 1e6), ("G", 1e9), ("T", 1e12))},
    **{f"{p}B": ("bytes", f) for p, f in (("", 1.0), ("k", 1e3), ("K", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12),
                                          ("Ki", 2.0**10), ("Mi", 2.0**20), ("Gi", 2.0**30), ("Ti", 2.0**40))},
    **{f"{p}B/s": ("bandwidth", f) for p, f in (("", 1.0), ("M", 1e6), ("G", 1e9), ("T", 1e12))},
    **{f"{p}b/s": ("bandwidth", f) for p, f in (("M", 1e6 / 8), ("G", 1e9 / 8), ("T", 1e12 / 8))},
    **{u: ("time", f) for u, f in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("µs", 1e-6), ("ns", 1e-9))},
    **{f"{p}W": ("power", f) for p, f in (("", 1.0), ("k", 1e3))},
}
_PLAIN_QUANTITY = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-zµ/]+)\s*")


def _parse_plain(text: str, kind: str) -> float | None:
    """``text`` in base units when it is one of the :data:`_PLAIN_UNITS` forms of ``kind``,
    else None (then pint parses it). The value is ``float(number) × factor``, one rounding,
    as pint's conversion of a single prefixed unit."""
    m = _PLAIN_QUANTITY.fullmatch(text)
    if m is None:
        return None
    unit = _PLAIN_UNITS.get(m.group(2))
    if unit is None or unit[0] != kind:
        return None
    out = float(m.group(1)) * unit[1]
    return out if math.isfinite(out) else None


@functools.lru_cache(maxsize=4096)
def _parse_string(text: str, kind: str) -> float:
    if len(text) > MAX_UNIT_CHARS:
        raise UnitError(f"{text[:40]!r}... is {len(text):,} characters long; a quantity is at most "
                        f"{MAX_UNIT_CHARS} (e.g. {_KIND_DESCRIPTIONS[kind]})")
    plain = _parse_plain(text, kind)
    if plain is not None:
        return plain
    import tokenize

    import pint

    try:
        return _parse_checked(text, kind)
    except UnitError:
        raise
    except (pint.errors.PintError, tokenize.TokenError, *_PINT_SLIPS) as exc:
        raise UnitError(f"cannot parse {text!r} as {_KIND_DESCRIPTIONS[kind]} "
                        f"({type(exc).__name__}: {exc})"[:400]) from None


def _parse_checked(text: str, kind: str) -> float:
    ureg = _registry()
    import pint

    dim, base = KINDS[kind]
    cleaned = text.strip().replace("·", "*").replace("×", "*")
    q = ureg.Quantity(cleaned)
    if not isinstance(q, pint.Quantity):  # a bare number such as "3"
        q = ureg.Quantity(float(q), "")
    if kind == "dimensionless":
        if not q.dimensionless:
            raise UnitError(f"{text!r} has units {q.units:~}, expected a plain number")
        out = float(q.to("").magnitude)
        if not np.isfinite(out):
            raise UnitError(f"{text!r} is not a finite number")
        return out
    if q.dimensionless:
        raise UnitError(
            f"{text!r} has no unit; expected {_KIND_DESCRIPTIONS[kind]}. "
            "Write the unit explicitly, or pass an SI float"
        )
    if q.dimensionality != ureg.get_dimensionality(dim):
        raise UnitError(
            f"{text!r} is {_describe(q)}, but {_KIND_DESCRIPTIONS[kind]} is expected"
        )
    out = float(q.to(base).magnitude)
    if not np.isfinite(out):
        raise UnitError(f"{text!r} is not a finite quantity ({out!r} {base})")
    return out


def _describe(q) -> str:
    for kind, (dim, _) in KINDS.items():
        if dim and q.dimensionality == q._REGISTRY.get_dimensionality(dim):
            return _KIND_DESCRIPTIONS[kind].split(" (")[0]
    return f"a quantity of dimension {q.dimensionality}"


def to_si(value: Any, kind: str, *, name: str = "value") -> Any:
    """Convert a quantity to an SI-style float (or array) of the given kind.

    Parameters
    ----------
    value : float, int, array_like, str or pint.Quantity
        A number already in base units ([B], [B/s], [FLOP], [FLOP/s], [s], [W], [J]),
        an array of such numbers, or a string with a unit such as ``"56 Gb/s"``.
    kind : str
        One of :data:`KINDS`: ``"bytes"``, ``"bandwidth"``, ``"flops"``, ``"flop_rate"``,
        ``"time"``, ``"power"``, ``"energy"``, ``"samples"``, ``"sample_rate"``,
        ``"dimensionless"``.
    name : str
        Name of the parameter, used in error messages.

    Returns
    -------
    float or numpy.ndarray
        The value in base units. Numbers and arrays pass through unchanged (as float).

    Raises
    ------
    UnitError
        When a string has no unit, the wrong dimension (a bandwidth where a compute rate is
        expected), is not finite, cannot be parsed, or is longer than
        :data:`MAX_UNIT_CHARS` (200 characters).

    Examples
    --------
    >>> to_si("56 Gb/s", "bandwidth")      # 56e9 bit/s = 7e9 B/s
    7000000000.0
    >>> to_si("16 GiB", "bytes")
    17179869184.0
    >>> to_si("15.7 TFLOPS", "flop_rate")
    15700000000000.0
    """
    if kind not in KINDS:
        from .errors import ParameterError

        raise ParameterError("kind", kind, f"one of {sorted(KINDS)}")
    if isinstance(value, str):
        try:
            return _parse_string(value, kind)
        except UnitError as exc:
            raise UnitError(f"{name}: {exc}") from None
    if hasattr(value, "dimensionality") and hasattr(value, "to"):  # a pint Quantity
        return to_si(f"{value:~}" if not hasattr(value.magnitude, "shape") else str(value), kind, name=name)
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, (list, tuple, np.ndarray)):
        arr = np.asarray(value)
        if arr.dtype.kind in "US O".replace(" ", ""):
            return np.array([to_si(v, kind, name=name) for v in arr.ravel()]).reshape(arr.shape)
        return arr.astype(float)
    raise UnitError(f"{name}: cannot interpret {value!r} as {_KIND_DESCRIPTIONS[kind]}")


_PREFIXES = [(1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, "")]


def format_si(value: float, unit: str, digits: int = 3) -> str:
    """Format an SI float with a decimal prefix, e.g. ``format_si(3e11, 'B/s') == '300 GB/s'``.

    Parameters
    ----------
    value : float
        Value in base units.
    unit : str
        Unit symbol to append (``"B/s"``, ``"FLOP/s"``, ``"B"``).
    digits : int
        Significant digits.

    Returns
    -------
    str
        The value and unit, e.g. ``"15.7 TFLOP/s"``; times in ``ns`` … ``d``.

    Examples
    --------
    >>> format_si(3e11, "B/s")
    '300 GB/s'
    >>> format_si(15.7e12, "FLOP/s")
    '15.7 TFLOP/s'
    >>> format_si(3.9e-30, "s"), format_si(5e-8, "s")
    ('0 s', '50 ns')
    """
    if value is None or not np.isfinite(value):
        return f"{value} {unit}"
    if unit == "s":
        return _format_time(value, digits)
    mag = abs(value)
    for factor, prefix in _PREFIXES:
        if mag >= factor:
            return f"{value / factor:.{digits}g} {prefix}{unit}"
    return f"{value:.{digits}g} {unit}"


def _format_time(seconds: float, digits: int) -> str:
    s = abs(seconds)
    if s >= 86400 * 10:
        return f"{seconds / 86400:.{digits}g} d"
    if s >= 3600:
        return f"{seconds / 3600:.{digits}g} h"
    if s >= 60:
        return f"{seconds / 60:.{digits}g} min"
    if s >= 1:
        return f"{seconds:.{digits}g} s"
    if s >= 1e-3:
        return f"{seconds * 1e3:.{digits}g} ms"
    if s < 1e-12:  # below a picosecond: rounding residue of a fit, not a time ("3.9e-24 us")
        return "0 s"
    if s < 1e-6:
        return f"{seconds * 1e9:.{digits}g} ns"
    return f"{seconds * 1e6:.{digits}g} us"
