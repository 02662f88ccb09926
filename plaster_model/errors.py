"""The package's exceptions and warnings, in one module with one base class.

Every exception plaster_model raises on purpose derives from :class:`PlasterError`, so
``except pm.PlasterError`` catches them all; each also keeps the builtin base it always had
(``ValueError``, ``LookupError``, ...), so code written as ``except ValueError`` still works.
This follows pint's ``PintError`` and scikit-learn's ``sklearn.exceptions``.
"""
from __future__ import annotations

from typing import Any

__all__ = [
    "PlasterError", "CatalogError", "UnitError", "ParseError", "MeasurementValidationError",
    "CalibrationError", "NotFittedError", "CalibrationLookupError", "MemoryFitError",
    "UnknownLatencyDistribution", "ParameterError", "PlasterWarning", "MemoryWarning",
    "ParseWarning", "MeasureError", "GuideError", "MeasureWarning", "CatalogWarning", "UnknownNameError", "ParameterTypeError",
    "NoClosedFormError",
]


class PlasterError(Exception):
    """Base class of every exception plaster_model raises on purpose."""


class ParameterError(PlasterError, ValueError):
    """A public function got an argument outside its domain; names the parameter and value.

    Parameters
    ----------
    name : str
        The parameter's name as the caller wrote it.
    value : object
        The value received.
    expected : str
        What the parameter accepts, in words ("an integer >= 1", "finite and > 0").
    message : str, optional
        The full sentence, where the site words it itself (the parameter and value are still
        kept as attributes); by default ``"{name}={value!r}: expected {expected}"``.
    """

    def __init__(self, name: str, value: Any, expected: str | None = None, *, message: str | None = None):
        self.name, self.value, self.expected = name, value, expected
        super().__init__(message if message is not None else f"{name}={value!r}: expected {expected}")


class ParameterTypeError(ParameterError, TypeError):
    """A public function got an argument of the wrong type (a number where a name goes);
    a :class:`ParameterError` that is also a ``TypeError``, as Python's own type errors are."""


class CatalogError(PlasterError, ValueError):
    """A catalog file is malformed: a missing field, a wrong unit, a negative value."""


class UnknownNameError(CatalogError, KeyError):
    """A name that is no catalog entry nor alias; the message lists close matches.

    A :class:`CatalogError` that is also a ``KeyError`` (what the look-ups raised before),
    so ``except KeyError`` and ``except pm.PlasterError`` both catch it.
    """

    def __str__(self) -> str:
        # KeyError's str() is the repr of its key; this is a sentence, printed as written.
        return str(self.args[0]) if self.args else ""


class UnitError(PlasterError, ValueError):
    """A quantity has the wrong dimension, no unit where one is needed, or cannot be parsed."""


class ParseError(PlasterError, ValueError):
    """A measurement file is malformed or truncated.

    Parameters
    ----------
    message : str
        What is wrong.
    file : str, optional
        The file being parsed.
    line : int, optional
        1-based line number where the problem was found.
    """

    def __init__(self, message: str, file: str | None = None, line: int | None = None):
        self.file = file
        self.line = line
        self.reason = message
        where = ""
        if file is not None:
            where = f"{file}:{line}: " if line is not None else f"{file}: "
        elif line is not None:
            where = f"line {line}: "
        super().__init__(where + message)


class MeasurementValidationError(PlasterError, ValueError):
    """A measurement table breaks the schema; names the column, the row index and the value."""

    def __init__(self, column: str, row: Any, value: Any, reason: str):
        self.column, self.row, self.value, self.reason = column, row, value, reason
        super().__init__(f"column {column!r}, row {row!r}: bad value {value!r} ({reason})")


class CalibrationError(PlasterError, ValueError):
    """A calibration cannot be fitted, saved or loaded as asked."""


class NotFittedError(CalibrationError, AttributeError):
    """A :class:`~plaster_model.Calibration` was used before ``fit`` (as scikit-learn's)."""


class CalibrationLookupError(CalibrationError, LookupError):
    """The calibration has nothing for the asked phase (no group of it was fitted)."""


class MemoryFitError(PlasterError, ValueError):
    """A configuration does not fit in device memory: the message names what and by how much.

    Parameters
    ----------
    message : str
        What does not fit, the estimate against the device memory, and a way out.
    need_bytes, available_bytes : float, optional
        The memory estimate and the device memory [B]; ``excess_bytes`` is their difference.
    """

    def __init__(self, message: str, need_bytes: float | None = None, available_bytes: float | None = None):
        self.need_bytes, self.available_bytes = need_bytes, available_bytes
        self.excess_bytes = (None if need_bytes is None or available_bytes is None
                             else float(need_bytes) - float(available_bytes))
        super().__init__(message)


class NoClosedFormError(PlasterError, NotImplementedError):
    """A symbolic formula (``pm.formulas``) has no closed form for the asked case (the
    halving-doubling crossover with latency); the message names the numeric alternative.
    A ``NotImplementedError`` as before."""


class UnknownLatencyDistribution(PlasterError, ValueError):
    """A latency percentile was asked for, but no tail ratio (p<P>/median) is known."""


class MeasureError(PlasterError, RuntimeError):
    """A measurement runner (``pm.measure.trtexec``) could not measure: every run failed,
    timed out or printed no summary, or no runner is available."""


class GuideError(PlasterError, RuntimeError):
    """The local web guide's server could not be started or did not answer."""


class PlasterWarning(UserWarning):
    """Base class of the package's warnings."""


class MemoryWarning(PlasterWarning):
    """A requested batch does not fit in device memory by the memory estimate."""


class ParseWarning(PlasterWarning):
    """A measurement read kept what it could: a file was skipped (no measurements in it), or
    a cut run of a multi-run log was left out while its complete runs were kept."""


class MeasureWarning(PlasterWarning):
    """Some runs of a measurement failed; the finished ones are returned (and the failures
    listed in ``df.attrs["failed"]``)."""


class CatalogWarning(PlasterWarning):
    """A user catalog replaces an entry it may not mean to: a bundled device of the same
    name, or a name or alias that another entry already answers to."""
