"""YAML for the package's own files (catalogs, calibrations): safe, fast, and without aliases.

``yaml.safe_load`` shares the node of an alias (``*a``) instead of copying it, so a
"billion laughs" document of a few hundred bytes loads quickly, and then printing or
walking the result expands it to 10⁹ elements and exhausts memory. Catalogs and
calibration files never need anchors or aliases, so they are refused altogether.

The document is composed by libyaml's C parser where available (9x faster than the pure
Python one on the bundled catalogs), every node is visited once to find an alias (a node
reached twice), and only then constructed.

>>> load_yaml("a: [1, 2]")
{'a': [1, 2]}
>>> load_yaml("a: &x [1]\\nb: *x")
Traceback (most recent call last):
...
plaster_model._yaml.YAMLAliasError: YAML anchors and aliases are not allowed (the node at line 1, column 4 is used twice)
"""
from __future__ import annotations

from typing import Any

import yaml

__all__ = ["load_yaml", "YAMLAliasError"]

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YAMLAliasError(yaml.YAMLError):
    """A document uses an alias (``*name``); the callers report it as their own error type."""


def _check_tree(root: yaml.Node) -> None:
    seen: set[int] = set()
    stack = [root]
    while stack:  # iterative: a deeply nested document must not exhaust the Python stack
        node = stack.pop()
        if id(node) in seen:
            mark = node.start_mark
            raise YAMLAliasError(f"YAML anchors and aliases are not allowed (the node at line "
                                 f"{mark.line + 1}, column {mark.column + 1} is used twice)")
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.append(key)
                stack.append(value)


def load_yaml(text: str) -> Any:
    """Parse one YAML document with the safe constructors, refusing anchors and aliases.

    Raises
    ------
    yaml.YAMLError
        Invalid YAML, or :class:`YAMLAliasError` for an alias.
    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_tree(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()
