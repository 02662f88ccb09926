"""One-row tables for result objects, with one naming rule for intervals.

A field ``<quantity>_interval_s`` holding ``(low, high)`` (or None) becomes the columns
``<quantity>_low_s`` and ``<quantity>_high_s`` (NaN when None): the names the sweep,
the inference curves and the plotting functions use.
"""
from __future__ import annotations

import math
from dataclasses import fields

__all__ = ["result_frame"]


def result_frame(result):
    """A one-row :class:`pandas.DataFrame` of a result dataclass (assumptions joined by '; ')."""
    import pandas as pd

    row = {}
    for f in fields(result):
        value = getattr(result, f.name)
        if f.name == "assumptions":
            row[f.name] = "; ".join(value)
        elif f.name.endswith("_interval_s"):
            base = f.name[: -len("_interval_s")]
            row[f"{base}_low_s"], row[f"{base}_high_s"] = value if value else (math.nan, math.nan)
        else:
            row[f.name] = value
    return pd.DataFrame([row])
