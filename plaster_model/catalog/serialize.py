"""One serializer for the catalog objects: object -> catalog entry -> object, exactly.

:func:`catalog_entry` writes a :class:`~plaster_model.Device`, :class:`~plaster_model.Interconnect`,
:class:`~plaster_model.System`, :class:`~plaster_model.Model` or :class:`~plaster_model.Dataset`
as the mapping a catalog YAML file holds for it: every quantity as a string with its SI unit
(``"9e+11 B/s"``; ``repr`` of the float, so the round trip is exact), counts and text as
they are, fields at their default left out. :func:`from_entry` reads one back through the
catalog loader itself (the same checks a YAML file gets), and :func:`to_yaml` writes a
loadable catalog file. ``Model.to_yaml`` and the calibration files use it.
"""
from __future__ import annotations

import math
from dataclasses import MISSING, fields
from typing import Any, Mapping

__all__ = ["catalog_entry", "from_entry", "to_yaml", "KINDS"]

#: Catalog section of each object kind, in the order a file lists them.
KINDS = {"device": "devices", "interconnect": "interconnects", "system": "systems", "model": "models",
         "dataset": "datasets"}

#: Constructor field -> (catalog key, SI unit written) of every quantity.
_QUANTITIES = {
    # canonical YAML keys (issue 26, Names): the Python attribute's name, unit in it
    "device": {"peak_flops": ("peak_flops", "FLOP/s"), "memory_bytes": ("memory_bytes", "B"),
               "memory_bandwidth": ("memory_bandwidth", "B/s"), "power_w": ("power_w", "W")},
    "interconnect": {"latency_s": ("latency_s", "s"), "bandwidth": ("bandwidth", "B/s"),
                     "link_bandwidth": ("link_bandwidth", "B/s"), "signalling_rate": ("signalling_rate", "B/s")},
    "model": {"fwd_flops": ("fwd_flops", "FLOP"),
              "activation_bytes_per_sample": ("activation_memory_per_sample", "B")},
    "system": {}, "dataset": {},
}
#: Fields computed from others on construction (never written).
_SKIP = {"name", "layers", "reported_flops", "accuracy", "transformer"}


def _kind(obj) -> str:
    from .objects import Dataset, Device, Interconnect, Model, System

    for kind, cls in (("device", Device), ("interconnect", Interconnect), ("system", System),
                      ("model", Model), ("dataset", Dataset)):
        if isinstance(obj, cls):
            return kind
    from ..errors import ParameterTypeError

    raise ParameterTypeError("obj", obj, "a catalog object (Device, Interconnect, System, Model or Dataset)")


def _quantity(value: float, unit: str) -> str:
    return f"{float(value)!r} {unit}"


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def catalog_entry(obj) -> tuple[str, str, dict]:
    """The catalog entry of a catalog object: ``(kind, name, mapping)``.

    Parameters
    ----------
    obj : Device, Interconnect, System, Model or Dataset
        The object (a catalog entry, or one built by hand or from ONNX).

    Returns
    -------
    (str, str, dict)
        The kind (``"device"``, ...), the name, and the mapping a catalog file holds under
        ``<kind>s: {name: ...}``: quantities as SI unit strings, defaults left out; a model's
        work as its source printed it, with its ``flop_convention``, and its accuracy as records.

    Examples
    --------
    >>> import plaster_model as pm
    >>> kind, name, entry = catalog_entry(pm.Device(name="toy", peak_flops={"fp32": "10 TFLOPS"},
    ...                                    memory_bytes="16 GB", memory_bandwidth="900 GB/s",
    ...                                    power_w="300 W", source="hand"))
    >>> kind, entry["memory_bandwidth"], entry["peak_flops"]
    ('device', '900000000000.0 B/s', {'fp32': '10000000000000.0 FLOP/s'})
    """
    kind = _kind(obj)
    quantities = _QUANTITIES[kind]
    entry: dict[str, Any] = {}
    for f in fields(obj):
        if f.name in _SKIP or (kind == "model" and f.name == "accuracy_records"):
            continue
        value = getattr(obj, f.name)
        default = f.default if f.default is not MISSING else (
            f.default_factory() if f.default_factory is not MISSING else MISSING)
        if default is not MISSING and (value is None or _plain(value) == _plain(default)):
            continue  # at its default: left out (a required field is written, even when None)
        if f.name in quantities:
            key, unit = quantities[f.name]
            if isinstance(value, Mapping):
                entry[key] = {str(k): _quantity(v, unit) for k, v in value.items()}
            elif isinstance(value, float) and math.isnan(value):
                continue
            elif value is None:  # a required quantity stated as not published (device power)
                entry[key] = None
            else:
                entry[key] = _quantity(value, unit)
        else:
            entry[f.name] = _plain(value)
    if kind == "model" and obj.transformer is not None:
        # the architecture (its Hugging Face config when it was read from one, else its own
        # fields); the loader checks the written params against it
        entry["transformer"] = transformer_entry(obj.transformer)
    if kind == "model":
        # the work as its source printed it, with that source's convention (MACs are doubled
        # on reading), so the entry round-trips to the same object
        entry["fwd_flops"] = _quantity(obj.reported_flops, "FLOP")
        entry["flop_convention"] = obj.flop_convention
        if obj.accuracy_records:
            entry["accuracy"] = [_plain(dict(r)) for r in obj.accuracy_records]
    return kind, obj.name, entry


def transformer_entry(cfg) -> dict:
    """The ``transformer:`` mapping of a zoo entry: the Hugging Face config a
    :class:`~plaster_model.catalog.transformer.TransformerConfig` was read from, else its fields."""
    if cfg.hf_config:
        return _plain(dict(cfg.hf_config))
    out = {}
    for f in fields(cfg):
        if f.name in ("name", "hf_config"):
            continue
        value = getattr(cfg, f.name)
        if f.default is not MISSING and value == f.default:
            continue
        out[f.name] = _plain(value)
    return out


def from_entry(kind: str, name: str, entry: Mapping[str, Any], origin: str = "catalog entry"):
    """The catalog object of an entry, built by the catalog loader (the checks a file gets).

    Parameters
    ----------
    kind : {"device", "interconnect", "system", "model", "dataset"}
        The entry's kind.
    name : str
        Its name.
    entry : mapping
        As :func:`catalog_entry` writes it (or a catalog YAML file holds it).
    origin : str
        Where it comes from, for error messages.

    Returns
    -------
    Device, Interconnect, System, Model or Dataset

    Raises
    ------
    CatalogError
        A malformed entry (unknown field, bare number for a quantity, ...).

    Examples
    --------
    >>> import plaster_model as pm
    >>> m = pm.load_model("ResNet-50")
    >>> from_entry(*catalog_entry(m)) == m
    True
    """
    from ..errors import CatalogError
    from .loader import _build

    if kind not in KINDS:
        raise CatalogError(f"{origin}: unknown kind {kind!r}; expected one of {sorted(KINDS)}")
    return _build(kind, name, dict(entry), origin)


def to_yaml(*objects) -> str:
    """A catalog YAML file holding ``objects``, loadable by :func:`plaster_model.load_catalog`.

    Parameters
    ----------
    *objects : Device, Interconnect, System, Model or Dataset
        What to write, in sections by kind.

    Returns
    -------
    str
        YAML text (``schema_version: 1`` and one section per kind present).

    Examples
    --------
    >>> import plaster_model as pm
    >>> print(to_yaml(pm.Model(name="toy", params=10, fwd_flops=2e9, source="hand")).strip())
    schema_version: 1
    models:
      toy:
        params: 10
        fwd_flops: 2000000000.0 FLOP
        source: hand
        flop_convention: flops
    """
    import yaml

    doc: dict[str, Any] = {"schema_version": 1}
    for obj in objects:
        kind, name, entry = catalog_entry(obj)
        doc.setdefault(KINDS[kind], {})[name] = entry
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
