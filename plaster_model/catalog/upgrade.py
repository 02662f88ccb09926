"""Rewrite a catalog YAML's deprecated keys to the canonical ones, line by line.

``plaster-model catalog upgrade FILE [--in-place]`` calls :func:`upgrade_text`: the keys of
:data:`plaster_model.catalog.loader.DEPRECATED_KEYS` (``memory`` -> ``memory_bytes``,
``power`` -> ``power_w`` in ``devices``; ``latency`` -> ``latency_s`` in ``interconnects``)
are renamed where they are an entry's own field. Nothing else changes: values (strings with
units stay strings with units), comments, quoting, order and blank lines are kept, and keys
nested deeper (a ``sources: {power: ...}`` mapping, which names the quantity a source is
for) are left alone. The places are found from the YAML document's own node positions, so a
value or comment that happens to read ``memory:`` is never touched.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import CatalogError
from .loader import DEPRECATED_KEYS

__all__ = ["upgrade_text", "upgrade_file"]

_SECTION_KIND = {"devices": "device", "interconnects": "interconnect"}


def _renames(text: str, origin: str):
    """``(line, column, old, new)`` of every deprecated entry key in the document."""
    import yaml

    try:
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise CatalogError(f"{origin}: not valid YAML: {exc}") from None
    out = []
    if not isinstance(root, yaml.MappingNode):
        return out
    for sec_key, sec_val in root.value:
        kind = _SECTION_KIND.get(getattr(sec_key, "value", None))
        if kind is None or not isinstance(sec_val, yaml.MappingNode):
            continue
        old_new = DEPRECATED_KEYS[kind]
        for _name, entry in sec_val.value:
            if not isinstance(entry, yaml.MappingNode):
                continue
            keys = {k.value for k, _ in entry.value if isinstance(k, yaml.ScalarNode)}
            for key, _v in entry.value:
                if isinstance(key, yaml.ScalarNode) and key.value in old_new:
                    new = old_new[key.value]
                    if new in keys:
                        raise CatalogError(f"{origin}: {kind} {_name.value!r} gives both {key.value!r} "
                                           f"and {new!r}; delete one by hand")
                    if key.style not in (None, "") or key.start_mark.line != key.end_mark.line:
                        raise CatalogError(f"{origin}:{key.start_mark.line + 1}: quoted or multi-line key "
                                           f"{key.value!r}; rename it to {new!r} by hand")
                    out.append((key.start_mark.line, key.start_mark.column, key.value, new))
    return out


def upgrade_text(text: str, origin: str = "<text>") -> tuple[str, int]:
    """``text`` with its deprecated catalog keys renamed, and how many were.

    Examples
    --------
    >>> new, n = upgrade_text('devices:\\n  X:\\n    memory: "16 GB"   # HBM2\\n'
    ...                       '    sources: {power: "not published"}\\n    power: null\\n')
    >>> print(new, end=""); n
    devices:
      X:
        memory_bytes: "16 GB"   # HBM2
        sources: {power: "not published"}
        power_w: null
    2
    """
    renames = _renames(text, origin)
    if not renames:
        return text, 0
    lines = text.splitlines(keepends=True)
    for line, col, old, new in renames:
        s = lines[line]
        if s[col:col + len(old)] != old:  # pragma: no cover - positions come from the parser
            raise CatalogError(f"{origin}:{line + 1}: expected {old!r} at column {col + 1}")
        lines[line] = s[:col] + new + s[col + len(old):]
    return "".join(lines), len(renames)


def upgrade_file(path, in_place: bool = False) -> tuple[str, int]:
    """Upgrade one catalog file: returns ``(new text, keys renamed)``; with ``in_place``
    the file is rewritten (atomically, through a temporary file beside it) when any key
    changed."""
    path = Path(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CatalogError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    new, n = upgrade_text(text, str(path))
    if in_place and n:
        tmp = path.with_name(path.name + ".upgrade-tmp")
        tmp.write_bytes(new.encode("utf-8"))
        os.replace(tmp, path)
    return new, n
