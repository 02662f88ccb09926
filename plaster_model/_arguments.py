"""Renamed keyword arguments: one canonical name across the API, the old one kept as an alias.

``batches`` is the package's name for a list of batch sizes (:func:`latency_throughput_curve`,
:func:`best_batch`, the ``pm.measure`` runners); ``batch_sizes``, which the runners used to
take, stays accepted everywhere as an alias so existing code keeps working.
"""
from __future__ import annotations

from typing import Any

from .errors import ParameterError

__all__ = ["aliased"]


def aliased(name: str, value: Any, alias: str, alias_value: Any, default: Any = None) -> Any:
    """The value of argument ``name`` given either as ``name=`` or as its alias ``alias=``.

    Parameters
    ----------
    name, alias : str
        Canonical and alias argument names (for the error message).
    value : object
        What the caller passed as ``name`` (``default`` when not passed).
    alias_value : object
        What the caller passed as ``alias`` (None when not passed).
    default : object
        The default of ``name`` in the signature: ``value is default`` means "not given".

    Returns
    -------
    object
        ``alias_value`` when the alias was given, else ``value``.

    Raises
    ------
    ParameterError
        When both were given.

    Examples
    --------
    >>> aliased("batches", None, "batch_sizes", [1, 8])
    [1, 8]
    """
    if alias_value is None:
        return value
    if value is not default:
        raise ParameterError(alias, alias_value, f"either {name}= or its alias {alias}=, not both "
                             f"({name}={value!r} was given too)")
    return alias_value
