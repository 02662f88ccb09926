"""Argument checks shared by the estimators: SI conversion at the edge, then finite and in range.

Declared once here so every estimator refuses the same bad values with the same words
(scikit-learn's parameter-constraints idea): the error names the parameter and the value.
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import ParameterError

#: The one bound on an effective compute efficiency (fraction of the catalog peak): 1 for the
#: hardware, times at most 5 for kernels that do less arithmetic than the zoo's direct
#: count (Winograd/FFT 3×3 convolutions; the calibration's model factor κ ≤ 5).
COMPUTE_EFFICIENCY_MAX = 5.0
#: The one bound on memory and link efficiencies: no memory beats its DRAM peak, no link its
#: payload rate.
TRANSFER_EFFICIENCY_MAX = 1.0
from ..units import KINDS as _KINDS
from ..units import to_si


def _bounded_fraction(value, name, cap, expected=None) -> float:
    """A user's efficiency: one real number in ``(0, cap]`` (``cap`` one of the bounds above),
    else :class:`ParameterError` naming ``name`` and saying ``expected``."""
    expected = expected or f"a fraction in (0, {cap:g}]"
    if isinstance(value, (bool, np.bool_, str)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ParameterError(name, value, expected)
    v = float(value)
    if not (np.isfinite(v) and 0 < v <= cap):
        raise ParameterError(name, value, expected)
    return v


#: Plain real scalars (bool excluded: ``type(True) is bool``) that the checks below answer
#: without numpy: a scalar prediction passes a dozen of them per call, and the array path
#: (``to_si``, ``np.asarray``, ``np.any``) costs about 20 µs each. A value the fast path does
#: not accept takes the array path, which gives the same value or raises the same error.
_PLAIN_SCALARS = frozenset({float, int, np.float64, np.float32, np.int64, np.int32})
_INF = float("inf")


def _real_0d(value) -> bool:
    """A 0-d float or integer array (what numpy arithmetic on scalars hands the next check)."""
    return type(value) is np.ndarray and value.ndim == 0 and value.dtype.kind in "fiu"


def _first_bad(arr: np.ndarray, bad: np.ndarray):
    return arr[bad].ravel()[0].item()


def _refuse_bool(value, name):
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, np.ndarray) and value.dtype == bool):
        raise ParameterError(name, value, "a number (True/False is not a quantity)")


def _positive_array(value, kind, name, allow_zero=False, allow_nan=False, whole=False):
    """``value`` in SI as a float or float array, finite and > 0 (>= 0 with ``allow_zero``).

    ``allow_nan`` lets NaN through as a "not applicable" marker (a sweep's device with no
    peak at a precision): its outputs are NaN, never a number. ``whole`` asks for whole
    numbers (a batch of 2.5 samples, 0.5 NICs are refused, not computed with)."""
    if (type(value) in _PLAIN_SCALARS or _real_0d(value)) and kind in _KINDS:  # fast path; else the array path
        v = float(value)
        if v != v:
            if allow_nan:
                return v
        elif (v >= 0.0 if allow_zero else v > 0.0) and v != _INF and (not whole or v == math.floor(v)):
            return v
    _refuse_bool(value, name)
    if value is None:
        raise ParameterError(name, value, "a number or a quantity with its unit")
    arr = np.asarray(to_si(value, kind, name=name), dtype=float)
    bad = ((arr < 0) if allow_zero else (arr <= 0)) | np.isinf(arr)
    if not allow_nan:
        bad |= np.isnan(arr)
    expected = "finite and >= 0" if allow_zero else "finite and > 0"
    if whole:
        with np.errstate(invalid="ignore"):
            bad |= np.isfinite(arr) & (np.floor(arr) != arr)
        expected = "a whole number >= 0" if allow_zero else "a whole number >= 1"
    if np.any(bad):
        raise ParameterError(name, _first_bad(arr, bad), expected)
    return arr if arr.ndim else float(arr)


def _count_array(value, name, whole=False):
    """A device count: finite and >= 1; with ``whole`` a whole number (2.5 devices refused).

    Real counts are the default because the training crossover search
    (``training._crossover``) evaluates the iteration at real ``p``; a public argument that
    takes a count from a user should pass ``whole=True`` (issue 25)."""
    if type(value) in _PLAIN_SCALARS or _real_0d(value):  # fast path; anything bad takes the array path
        v = float(value)
        if 1.0 <= v < _INF and (not whole or v == math.floor(v)):
            return v
    _refuse_bool(value, name)
    if value is None:
        raise ParameterError(name, value, "a device count >= 1")
    arr = np.asarray(to_si(value, "dimensionless", name=name), dtype=float)
    bad = ~np.isfinite(arr) | (arr < 1)
    if whole:
        with np.errstate(invalid="ignore"):
            bad |= np.isfinite(arr) & (np.floor(arr) != arr)
    if np.any(bad):
        raise ParameterError(name, _first_bad(arr, bad),
                             "a whole device count >= 1" if whole else "a device count >= 1")
    return arr if arr.ndim else float(arr)


def _factor(value, name, low=0.0, high=np.inf, *, include_low=False):
    """A multiplying factor (``flops_factor``, an exponent): a real number in ``(low, high]``
    (``[low, high]`` with ``include_low``), else :class:`ParameterError` naming it. A negative
    factor made a negative training FLOP count and a negative compute time (issue 25)."""
    _refuse_bool(value, name)
    if isinstance(value, str) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ParameterError(name, value, "a real number")
    v = float(value)
    ok = np.isfinite(v) and (v >= low if include_low else v > low) and v <= high
    if not ok:
        lo = "[" if include_low else "("
        raise ParameterError(name, value, f"a finite number in {lo}{low:g}, {high:g}]")
    return v


def _fraction_array(value, name, low=0.0, high=1.0):
    """A fraction in [low, high]."""
    if type(value) in _PLAIN_SCALARS or _real_0d(value):  # fast path; anything bad takes the array path
        v = float(value)
        if low <= v <= high and -_INF < v < _INF:
            return v
    _refuse_bool(value, name)
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(name, value, f"a fraction in [{low:g}, {high:g}]") from None
    bad = ~np.isfinite(arr) | (arr < low) | (arr > high)
    if np.any(bad):
        raise ParameterError(name, _first_bad(arr, bad), f"a fraction in [{low:g}, {high:g}]")
    return arr if arr.ndim else float(arr)
