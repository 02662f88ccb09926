"""One result contract: every result object has ``to_frame()``, ``to_dict()``, ``__str__`` and
``_repr_html_``, and one naming rule for intervals.

A field ``<quantity>_interval_s`` holding ``(low, high)`` (or None) becomes the columns
``<quantity>_low_s`` and ``<quantity>_high_s`` (NaN when None): the names the sweep,
the inference curves, the scaling curves and the plotting functions use.
"""
from __future__ import annotations

import html
import math
from dataclasses import asdict, fields
from typing import Any

__all__ = ["Result", "result_frame"]


def result_frame(result, exclude: tuple[str, ...] = ()):
    """A one-row :class:`pandas.DataFrame` of a result dataclass (assumptions and notes joined
    by '; '; intervals split into ``_low_``/``_high_`` columns; ``exclude`` fields left out)."""
    import pandas as pd

    row = {}
    for f in fields(result):
        if f.name in exclude:
            continue
        value = getattr(result, f.name)
        if f.name in ("assumptions", "notes"):
            row[f.name] = "; ".join(value)
        elif f.name.endswith("_interval_s"):
            base = f.name[: -len("_interval_s")]
            row[f"{base}_low_s"], row[f"{base}_high_s"] = value if value else (math.nan, math.nan)
        else:
            row[f.name] = value
    return pd.DataFrame([row])


class Result:
    """Shared behaviour of the result dataclasses (mixin).

    Subclasses provide :meth:`_summary_rows` (label, formatted value) pairs and may list
    fields to leave out of the frame in ``_FRAME_EXCLUDE``; ``assumptions`` (and ``notes``)
    are printed below the summary.
    """

    _FRAME_EXCLUDE: tuple[str, ...] = ()

    def to_frame(self):
        """The result as a one-row :class:`pandas.DataFrame` (assumptions joined by '; ', the
        intervals as ``<quantity>_low_s``/``<quantity>_high_s``)."""
        return result_frame(self, self._FRAME_EXCLUDE)

    def to_dict(self) -> dict[str, Any]:
        """Every field as a plain dict (``dataclasses.asdict``), units as in the names."""
        return asdict(self)

    def _summary_rows(self) -> list[tuple[str, str]]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _footer(self) -> list[str]:
        return list(getattr(self, "assumptions", ()) or ()) + list(getattr(self, "notes", ()) or ())

    def __str__(self) -> str:
        rows = self._summary_rows()
        width = max(len(k) for k, _ in rows)
        lines = [f"{k:<{width}}  {v}" for k, v in rows]
        extra = self._footer()
        if extra:
            lines.append("assumptions:")
            lines += [f"  - {a}" for a in extra]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                       for k, v in self._summary_rows())
        items = "".join(f"<li>{html.escape(a)}</li>" for a in self._footer())
        return f"<table>{body}</table><details><summary>assumptions</summary><ul>{items}</ul></details>"
