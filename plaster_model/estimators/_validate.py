"""Argument checks shared by the estimators: SI conversion at the edge, then finite and in range.

Declared once here so every estimator refuses the same bad values with the same words
(scikit-learn's parameter-constraints idea): the error names the parameter and the value.
"""
from __future__ import annotations

import numpy as np

from ..errors import ParameterError

#: The one bound on an effective compute efficiency (fraction of the catalog peak): 1 for the
#: hardware, times at most 5 for kernels that do less arithmetic than the zoo's direct
#: count (Winograd/FFT 3×3 convolutions; the calibration's model factor κ ≤ 5).
COMPUTE_EFFICIENCY_MAX = 5.0
#: The one bound on memory and link efficiencies: no memory beats its DRAM peak, no link its
#: payload rate.
TRANSFER_EFFICIENCY_MAX = 1.0
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


def _first_bad(arr: np.ndarray, bad: np.ndarray):
    return arr[bad].ravel()[0].item()


def _refuse_bool(value, name):
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, np.ndarray) and value.dtype == bool):
        raise ParameterError(name, value, "a number (True/False is not a quantity)")


def _positive_array(value, kind, name, allow_zero=False, allow_nan=False):
    """``value`` in SI as a float or float array, finite and > 0 (>= 0 with ``allow_zero``).

    ``allow_nan`` lets NaN through as a "not applicable" marker (a sweep's device with no
    peak at a precision): its outputs are NaN, never a number."""
    _refuse_bool(value, name)
    if value is None:
        raise ParameterError(name, value, "a number or a quantity with its unit")
    arr = np.asarray(to_si(value, kind, name=name), dtype=float)
    bad = ((arr < 0) if allow_zero else (arr <= 0)) | np.isinf(arr)
    if not allow_nan:
        bad |= np.isnan(arr)
    if np.any(bad):
        raise ParameterError(name, _first_bad(arr, bad), "finite and >= 0" if allow_zero else "finite and > 0")
    return arr if arr.ndim else float(arr)


def _count_array(value, name):
    """A device count: finite and >= 1 (real values allowed: the crossover search uses them)."""
    _refuse_bool(value, name)
    if value is None:
        raise ParameterError(name, value, "a device count >= 1")
    arr = np.asarray(to_si(value, "dimensionless", name=name), dtype=float)
    bad = ~np.isfinite(arr) | (arr < 1)
    if np.any(bad):
        raise ParameterError(name, _first_bad(arr, bad), "a device count >= 1")
    return arr if arr.ndim else float(arr)


def _fraction_array(value, name, low=0.0, high=1.0):
    """A fraction in [low, high]."""
    _refuse_bool(value, name)
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(name, value, f"a fraction in [{low:g}, {high:g}]") from None
    bad = ~np.isfinite(arr) | (arr < low) | (arr > high)
    if np.any(bad):
        raise ParameterError(name, _first_bad(arr, bad), f"a fraction in [{low:g}, {high:g}]")
    return arr if arr.ndim else float(arr)
