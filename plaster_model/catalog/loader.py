"""Load, validate, merge and look up the YAML catalogs.

The bundled catalogs (``hardware_catalog/*.yaml`` and ``model_zoo.yaml``) ship inside the
wheel as package data (``plaster_model/_data``); in a source checkout they are read from
the repository root beside the package. They are parsed once per process and cached.
:func:`load_catalog` merges a user's YAML files over them.

Name look-ups are case-insensitive and accept aliases; an unknown name raises
:class:`~plaster_model.UnknownNameError` (a ``CatalogError`` that is also a ``KeyError``)
listing the closest catalog names (never a silent default).
"""
from __future__ import annotations

import difflib
import functools
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping

from .objects import Dataset, Device, Interconnect, Model, System, field_names

__all__ = [
    "Catalog", "bundled_catalog", "load_catalog", "active_catalog", "reset_catalog",
    "load_device", "load_model", "load_interconnect", "load_system", "load_dataset",
    "list_devices", "list_models", "list_interconnects", "list_systems", "list_datasets",
    "find_name", "CatalogError",
]


from ..errors import CatalogError, ParameterError, ParameterTypeError, UnknownNameError


# YAML key -> constructor field, where the YAML key differs from the Python attribute.
_RENAMES = {
    "device": {"memory": "memory_bytes", "power": "power_w"},
    "interconnect": {"latency": "latency_s"},
    "system": {},
    "model": {"activation_memory_per_sample": "activation_bytes_per_sample"},
    "dataset": {},
}
#: Deprecated YAML keys (issue 26, Names) -> their canonical key, the Python attribute's name:
#: ``memory_bytes: "16 GB"`` (a string with a unit, converted to the key's unit, or a bare
#: number in that unit). The old keys still load, with a DeprecationWarning naming the file
#: and the new key; ``plaster-model catalog upgrade FILE`` rewrites them.
DEPRECATED_KEYS = {
    "device": {"memory": "memory_bytes", "power": "power_w"},
    "interconnect": {"latency": "latency_s"},
}
#: Canonical quantity keys whose bare numbers are read in the key's unit (B, W, s).
_UNIT_KEYS = {"memory_bytes", "power_w", "latency_s"}


def _deprecated_keys(kind: str, name: str, entry: Mapping[str, Any], origin: str, found: dict) -> None:
    """Note the deprecated keys of an entry in ``found`` (``(kind, old, new) -> [names]``);
    refuse an entry giving both spellings."""
    if not isinstance(entry, Mapping):
        return
    for old, new in DEPRECATED_KEYS.get(kind, {}).items():
        if old not in entry:
            continue
        if new in entry:
            raise CatalogError(f"{origin}: {kind} {name!r} gives both {old!r} and {new!r}; keep {new!r}")
        found.setdefault((kind, old, new), []).append(name)


def _warn_deprecated(found: dict, origin: str) -> None:
    """One DeprecationWarning per deprecated key of a file, naming the file and the new key."""
    import warnings

    for (kind, old, new), names in found.items():
        more = f" and {len(names) - 1} more" if len(names) > 1 else ""
        warnings.warn(f"{origin}: YAML key {old!r} is deprecated, write {new!r} (same value; in {kind} "
                      f"{names[0]!r}{more}); 'plaster-model catalog upgrade {origin} --in-place' rewrites "
                      "the file", DeprecationWarning, stacklevel=5)  # the caller of load_catalog


# Fields computed on construction, never read from YAML.
_DERIVED = {"layers", "accuracy_records", "reported_flops"}
_CLASSES = {"device": Device, "interconnect": Interconnect, "system": System,
            "model": Model, "dataset": Dataset}
_SECTIONS = {"devices": "device", "interconnects": "interconnect", "systems": "system",
             "models": "model", "datasets": "dataset"}


def _data_root() -> Path:
    """Folder holding ``hardware_catalog/`` and ``model_zoo.yaml``.

    Installed wheel: ``plaster_model/_data``. Source checkout or editable install: the
    repository root, i.e. the parent of the package folder (never the current directory).
    """
    override = os.environ.get("PLASTER_MODEL_DATA")
    if override:
        return Path(override)
    packaged = resources.files("plaster_model").joinpath("_data")
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2]


def _bundled_files() -> list[Path]:
    root = _data_root()
    files = sorted((root / "hardware_catalog").glob("*.yaml")) + [root / "model_zoo.yaml"]
    missing = [str(p) for p in files if not p.is_file()]
    if missing or not files:
        raise FileNotFoundError(f"bundled catalog files not found under {root}: {missing}")
    return files


# YAML key -> what a quantity field must be written as. A bare number is refused: "memory: 24"
# would otherwise be 24 B and "link_bandwidth: 56" 56 B/s (issue 12, defect 1).
_UNIT_FIELDS = {
    "device": {"peak_flops": "a compute rate with its unit, e.g. '15.7 TFLOPS'",
               "memory": "a size with its unit, e.g. '16 GB' or '16 GiB'",
               "memory_bytes": "a size with its unit, e.g. '16 GB', or a number of bytes",
               "memory_bandwidth": "a bandwidth with its unit, e.g. '900 GB/s'",
               "power": "a power with its unit, e.g. '300 W'",
               "power_w": "a power with its unit, e.g. '300 W', or a number of watts"},
    "interconnect": {"latency": "a time with its unit, e.g. '1.3 us'",
                     "latency_s": "a time with its unit, e.g. '1.3 us', or a number of seconds",
                     "bandwidth": "a bandwidth with its unit, e.g. '25 GB/s' or '200 Gb/s'",
                     "link_bandwidth": "a bandwidth with its unit, e.g. '25 GB/s' or '200 Gb/s'",
                     "signalling_rate": "a bandwidth with its unit, e.g. '56 Gb/s'"},
    "model": {"fwd_flops": "a work with its unit, e.g. '3.9 GFLOP'",
              "activation_memory_per_sample": "a size with its unit, e.g. '100 MB'"},
}
# YAML key -> expected plain type, for the fields every catalog writes the same way (fields
# not listed go to the constructor unchecked, which validates them).
_TEXT_FIELDS = {"source", "full_name", "vendor", "kind", "form_factor", "notes", "task",
                "flop_convention", "scope", "encoding"}
_OPTIONAL_TEXT_FIELDS = {"host_link", "board", "device", "intra_node", "interconnect", "process",
                         "memory_technology"}
_COUNT_FIELDS = {"params", "links", "devices_per_node", "nics_per_node", "dies_per_board",
                 "train_samples", "kernels", "scale_up_domain"}
_TEXT_LIST_FIELDS = {"aliases", "frameworks"}


def _is_bare_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_entry(kind: str, name: str, entry: Mapping[str, Any], origin: str) -> None:
    """Refuse wrong types and unit-less quantities, naming the field, the file and what is expected."""
    where = f"{origin}: {kind} {name!r}"
    for key, unit in _UNIT_FIELDS.get(kind, {}).items():
        if key not in entry:
            continue
        value = entry[key]
        items = value.items() if key == "peak_flops" and isinstance(value, Mapping) else [(None, value)]
        if key == "peak_flops" and not isinstance(value, Mapping):
            raise CatalogError(f"{where}: peak_flops must be a mapping of precision to rate, got {value!r}")
        for sub, v in items:
            field_name = f"{key}.{sub}" if sub is not None else key
            if _is_bare_number(v):
                if key in _UNIT_KEYS:  # the key names its unit: a number is read in it
                    continue
                raise CatalogError(f"{where}: {field_name} = {v!r} has no unit; write {unit}")
            if v is not None and not isinstance(v, str):
                raise CatalogError(f"{where}: {field_name} = {v!r} must be {unit}")
    for key, value in entry.items():
        if key in _TEXT_FIELDS and not isinstance(value, str):
            raise CatalogError(f"{where}: {key} must be text, got {value!r}")
        if key in _OPTIONAL_TEXT_FIELDS and value is not None and not isinstance(value, str):
            raise CatalogError(f"{where}: {key} must be a name (text) or null, got {value!r}")
        if key in _COUNT_FIELDS and (isinstance(value, bool) or not isinstance(value, int)):
            raise CatalogError(f"{where}: {key} must be an integer count, got {value!r}")
        if key in _TEXT_LIST_FIELDS:
            values = [value] if isinstance(value, str) else value
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise CatalogError(f"{where}: {key} must be a list of text, got {value!r}")
        if key == "sources" and not (isinstance(value, Mapping)
                                     and all(isinstance(v, str) for v in value.values())):
            raise CatalogError(f"{where}: sources must map field names to source text, got {value!r}")
        if key == "input_shape" and value is not None and not (
                isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
            raise CatalogError(f"{where}: input_shape must be a list of integers (C, H, W), got {value!r}")
        if key == "accuracy" and value is not None:
            records = list(value.values()) if isinstance(value, Mapping) else value
            if not isinstance(records, list) or not all(isinstance(r, Mapping) for r in records):
                raise CatalogError(f"{where}: accuracy must be a list of records "
                                   f"{{precision, metric, value, source}} (or a mapping of them), got {value!r}"[:400])


def _build(kind: str, name: str, entry: Mapping[str, Any], origin: str):
    cls = _CLASSES[kind]
    if not isinstance(entry, Mapping):
        raise CatalogError(f"{origin}: {kind} {name!r} must be a mapping, got {type(entry).__name__}")
    kwargs = {}
    allowed = field_names(cls)
    renames = _RENAMES[kind]
    deprecated = DEPRECATED_KEYS.get(kind, {})
    for key, value in entry.items():
        target = renames.get(key, key)
        if target not in allowed or target in _DERIVED:
            current = {k: v for k, v in renames.items() if k not in deprecated}
            raise CatalogError(
                f"{origin}: {kind} {name!r} has unknown field {key!r}; known fields: "
                f"{sorted(set(allowed) - set(current.values()) - _DERIVED - {'name'} | set(current))}"
            )
        kwargs[target] = value
    _check_entry(kind, name, entry, origin)
    if kind == "model" and "transformer" in kwargs:
        kwargs = _transformer_fields(name, kwargs, origin)
    if kind == "model":
        records = kwargs.pop("accuracy", None) or []
        if isinstance(records, Mapping):  # {precision: {metric: value}} shorthand
            records = [{"precision": p, "metric": m, "value": v}
                       for p, d in records.items() for m, v in d.items()]
        acc: dict[str, dict[str, float]] = {}
        for rec in records:
            for req in ("precision", "metric", "value"):
                if req not in rec:
                    raise CatalogError(f"{origin}: model {name!r} accuracy record {rec!r} lacks {req!r}")
            if not all(isinstance(rec[k], str) for k in ("precision", "metric")):
                raise CatalogError(f"{origin}: model {name!r} accuracy record {rec!r}: precision and "
                                   "metric must be text")
            value = rec["value"]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 100:
                raise CatalogError(f"{origin}: model {name!r} accuracy {rec!r}: value must be a percentage in (0, 100]")
            acc.setdefault(rec["precision"], {}).setdefault(rec["metric"], float(value))
        kwargs["accuracy"] = acc
        kwargs["accuracy_records"] = tuple(records)
        if "input_shape" in kwargs and kwargs["input_shape"] is not None:
            kwargs["input_shape"] = tuple(kwargs["input_shape"])
    try:
        return cls(name=name, **kwargs)
    except (TypeError, AttributeError) as exc:  # missing required field, wrong shape
        raise CatalogError(f"{origin}: {kind} {name!r}: {exc}") from None
    except ValueError as exc:
        raise CatalogError(f"{origin}: {exc}") from None


def _transformer_fields(name: str, kwargs: dict, origin: str) -> dict:
    """A zoo transformer: its params and work derived from the ``transformer:`` architecture
    (a Hugging Face config with its ``model_type``, or TransformerConfig fields)."""
    from .transformer import TransformerConfig, transformer_model_fields

    spec = kwargs.pop("transformer")
    if not isinstance(spec, Mapping):
        raise CatalogError(f"{origin}: model {name!r}: transformer must be a mapping (a Hugging Face "
                           f"config or TransformerConfig fields), got {spec!r}"[:300])
    try:
        if "model_type" in spec:
            cfg = TransformerConfig.from_hf_config(spec, name=name)
        else:
            cfg = TransformerConfig(name=name, **dict(spec))
    except TypeError as exc:
        raise CatalogError(f"{origin}: model {name!r}: transformer: {exc}") from None
    cfg = cfg.with_(source=str(kwargs.get("source", cfg.source)))
    fields_ = transformer_model_fields(cfg, kwargs.get("seq_len"))
    # an entry may also state its counts (e.g. counted from an ONNX graph): the parameter count
    # must then be the architecture's, exactly; a stated work is kept with its convention
    if "params" in kwargs and kwargs["params"] != fields_["params"]:
        raise CatalogError(f"{origin}: model {name!r}: params {kwargs['params']} differs from the "
                           f"{fields_['params']} its transformer architecture has")
    if "fwd_flops" in kwargs:
        fields_.pop("flop_convention")
    if kwargs.get("notes") and fields_.get("notes") and fields_["notes"] not in kwargs["notes"]:
        kwargs["notes"] = f"{kwargs['notes']}; {fields_['notes']}"
    fields_.update(kwargs)
    return fields_


@dataclass
class Catalog:
    """All catalog entries by kind, plus a case-insensitive alias index."""

    entries: dict[str, dict[str, Any]] = field(default_factory=lambda: {k: {} for k in _CLASSES})
    origins: dict[tuple[str, str], str] = field(default_factory=dict)

    def merge_file(self, path: Path | str) -> None:
        """Add (or replace) the entries of one YAML file, then check cross-references.

        Warns (:class:`~plaster_model.CatalogWarning`) for each entry that replaces one of
        another file (a bundled device included), and for each name or alias that another
        entry already answers to (the look-up would silently pick one of the two).
        """
        self._add_file(path, warn=True)
        self._check_references()

    def _add_file(self, path: Path | str, warn: bool = False) -> None:
        import yaml

        path = Path(path)
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CatalogError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason}); "
                               "save the catalog as UTF-8") from None
        try:
            data = _yaml_load(text)
        except RecursionError:
            raise CatalogError(f"{path}: YAML nested too deeply") from None
        except yaml.YAMLError as exc:
            raise CatalogError(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(data, Mapping):
            raise CatalogError(f"{path}: expected a mapping with sections {sorted(_SECTIONS)}")
        # every cache of look-ups over the entries (here and in catalog.names) is stale now
        self.__dict__.pop("_alias_cache", None)
        self.__dict__.pop("_squash_cache", None)
        self.__dict__["_generation"] = self.__dict__.get("_generation", 0) + 1
        unknown = set(data) - set(_SECTIONS) - {"schema_version"}
        if unknown:
            raise CatalogError(f"{path}: unknown top-level section(s) {sorted(unknown)}; expected {sorted(_SECTIONS)}")
        found: dict = {}
        for section, kind in _SECTIONS.items():
            body = data.get(section) or {}
            if not isinstance(body, Mapping):
                raise CatalogError(f"{path}: section {section!r} must be a mapping of name -> "
                                   f"{kind}, got {type(body).__name__} {body!r}"[:300])
            for name, entry in body.items():
                if not isinstance(name, str):
                    raise CatalogError(f"{path}: {kind} name {name!r} must be text (quote it)")
                _deprecated_keys(kind, str(name), entry, str(path), found)
                obj = _build(kind, str(name), entry, str(path))
                if warn:
                    self._warn_collisions(kind, obj, str(path))
                self.entries[kind][obj.name] = obj
                self.origins[(kind, obj.name)] = str(path)
        _warn_deprecated(found, str(path))

    def _warn_collisions(self, kind: str, obj, path: str) -> None:
        import warnings

        from ..errors import CatalogWarning

        before = self.origins.get((kind, obj.name))
        if obj.name in self.entries[kind] and before != path:
            warnings.warn(f"{path}: {kind} {obj.name!r} replaces the entry of {before} "
                          f"(a different {kind} under the same name)", CatalogWarning, stacklevel=4)
        # A fresh index, not _alias_map: its cache is keyed on the entry count, which a
        # replacement leaves unchanged (the stale aliases would then stay findable).
        index: dict[str, str] = {}
        for name, other in self.entries[kind].items():
            if name != obj.name:
                index.update({_key(a): name for a in other.aliases})
                index[_key(name)] = name
        for text in (obj.name, *obj.aliases):
            owner = index.get(_key(text))
            if owner is not None and owner != obj.name:
                warnings.warn(f"{path}: {kind} {obj.name!r}: {'name' if text == obj.name else 'alias'} "
                              f"{text!r} is already {owner!r} (from {self.origins.get((kind, owner))}); "
                              f"a look-up of {text!r} finds one of the two", CatalogWarning, stacklevel=4)

    def _check_references(self) -> None:
        for sysobj in self.entries["system"].values():
            self.get("device", sysobj.device)
            for link in (sysobj.intra_node, sysobj.interconnect):
                if link is not None:
                    self.get("interconnect", link)
        for dev in self.entries["device"].values():
            if dev.host_link is not None:
                self.get("interconnect", dev.host_link)
            if dev.board is not None:
                self.get("device", dev.board)

    def _alias_map(self, kind: str) -> dict[str, str]:
        # Cached per kind; keyed on the entry count so merges invalidate it.
        cache = self.__dict__.setdefault("_alias_cache", {})
        hit = cache.get(kind)
        if hit is not None and hit[0] == len(self.entries[kind]):
            return hit[1]
        out: dict[str, str] = {}
        for name, obj in self.entries[kind].items():
            for alias in obj.aliases:
                out[_key(alias)] = name
        for name in self.entries[kind]:  # canonical names win over aliases
            out[_key(name)] = name
        cache[kind] = (len(self.entries[kind]), out)
        return out

    def find(self, kind: str, text: str) -> str | None:
        """Canonical name for ``text`` (a name or alias, case-insensitive), or None."""
        if kind not in _CLASSES:
            raise ParameterError("kind", kind, f"one of {sorted(_CLASSES)}")
        if not isinstance(text, str):
            return None
        return self._alias_map(kind).get(_key(text))

    def get(self, kind: str, name):
        """The entry called ``name``; :class:`~plaster_model.UnknownNameError` (a ``KeyError``)
        listing close matches when unknown."""
        if isinstance(name, _CLASSES[kind]):
            return name
        if not isinstance(name, str):
            raise ParameterTypeError(kind, name, f"a name (str) or a {_CLASSES[kind].__name__}")
        canonical = self.find(kind, name)
        if canonical is None:
            choices = list(self.entries[kind]) + [a for o in self.entries[kind].values() for a in o.aliases]
            close = difflib.get_close_matches(name, choices, n=5, cutoff=0.4)
            low = {c.lower(): c for c in choices}
            close += [low[c] for c in difflib.get_close_matches(_key(name), list(low), n=5, cutoff=0.4)]
            close = [self.find(kind, c) or c for c in close]
            close = list(dict.fromkeys(close))[:5]
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise UnknownNameError(
                f"unknown {kind} {name!r}{hint} (see plaster_model.list_{kind}s() for all "
                f"{len(self.entries[kind])} names)"
            )
        return self.entries[kind][canonical]


def _yaml_load(text: str):
    # libyaml's C parser (~9x faster than the pure-Python one), aliases refused (a
    # "billion laughs" in notes loads small and explodes when printed).
    from .._yaml import load_yaml

    return load_yaml(text)


@functools.lru_cache(maxsize=4096)
def _key(text: str) -> str:
    # cached: every name look-up normalises its text (a prediction loop asks the same few)
    return " ".join(text.lower().replace("_", " ").split())


@functools.lru_cache(maxsize=1)
def bundled_catalog() -> Catalog:
    """The catalogs shipped with the package (parsed once, cached)."""
    cat = Catalog()
    for path in _bundled_files():
        cat._add_file(path)
    # Cross-references (a system's device, a device's host link) span files: check once.
    cat._check_references()
    return cat


_ACTIVE: Catalog | None = None


def active_catalog() -> Catalog:
    """The catalog used by name look-ups: the bundled one, or the last :func:`load_catalog`."""
    return _ACTIVE if _ACTIVE is not None else bundled_catalog()


def reset_catalog() -> None:
    """Forget user catalogs merged by :func:`load_catalog`; back to the bundled one.

    Returns
    -------
    None

    Examples
    --------
    >>> import plaster_model as pm
    >>> pm.reset_catalog()
    >>> pm.load_device("V100").name
    'V100'
    """
    global _ACTIVE
    _ACTIVE = None


def load_catalog(paths: str | os.PathLike | Iterable[str | os.PathLike] = (), *,
                 include_bundled: bool = True, activate: bool = True) -> Catalog:
    """Merge user YAML catalogs over the bundled ones.

    Each file may hold any of the sections ``devices``, ``interconnects``, ``systems``,
    ``models`` and ``datasets`` in the bundled schema (see ``hardware_catalog/README.md``).
    An entry with the name of a bundled one replaces it.

    Parameters
    ----------
    paths : path or list of paths
        YAML files to merge, in order (later files win).
    include_bundled : bool
        Start from the bundled catalogs (default) or from nothing.
    activate : bool
        Make the merged catalog the one every ``load_*``/``list_*`` call and every
        predictor uses by name (default). Call :func:`reset_catalog` to undo.

    Returns
    -------
    Catalog

    Examples
    --------
    >>> import plaster_model as pm, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "mine.yaml"
    >>> _ = p.write_text('''
    ... devices:
    ...   MyGPU:
    ...     peak_flops: {fp32: "20 TFLOPS"}
    ...     memory_bytes: "24 GB"
    ...     memory_bandwidth: "1 TB/s"
    ...     power_w: "250 W"
    ...     source: "vendor datasheet"
    ... ''')
    >>> cat = pm.load_catalog([p])
    >>> pm.load_device("mygpu").peak("fp32")
    20000000000000.0
    >>> pm.reset_catalog()
    """
    global _ACTIVE
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    cat = Catalog()
    if include_bundled:
        base = bundled_catalog()
        cat.entries = {k: dict(v) for k, v in base.entries.items()}
        cat.origins = dict(base.origins)
    for path in paths:
        cat.merge_file(path)
    if activate:
        _ACTIVE = cat
    return cat


def find_name(kind: str, text: str) -> str | None:
    """Canonical catalog name for a name or alias (case-insensitive), or None if unknown.

    Parameters
    ----------
    kind : {"device", "interconnect", "system", "model", "dataset"}
        Which section of the catalog to search.
    text : str
        A name or alias as a user or a log file wrote it.

    Returns
    -------
    str or None
        The catalog's canonical name, or None when nothing matches.

    Examples
    --------
    >>> find_name("interconnect", "ib fdr")
    'InfiniBand FDR'
    """
    return active_catalog().find(kind, text)


def _loader(kind: str):
    def load(name):
        return active_catalog().get(kind, name)

    load.__name__ = f"load_{kind}"
    cls = _CLASSES[kind].__name__
    load.__doc__ = f"""Load the {kind} called ``name`` from the active catalog.

    Parameters
    ----------
    name : str or {cls}
        Catalog name or alias (case-insensitive). A {cls} object is returned unchanged,
        so every function that takes a name also takes a user-built object.

    Returns
    -------
    {cls}
        A frozen object with quantities in SI units.

    Raises
    ------
    UnknownNameError
        (a ``CatalogError`` and a ``KeyError``) For an unknown name; the message lists the
        closest catalog names.

    Examples
    --------
    >>> import plaster_model as pm
    >>> pm.load_{kind}({_EXAMPLE_NAMES[kind]!r}).name
    {_EXAMPLE_NAMES[kind]!r}
    """
    return load


#: A name per kind for the ``load_*`` doctests.
_EXAMPLE_NAMES = {"device": "V100", "model": "ResNet-50", "interconnect": "NVLink 2",
                  "system": "DGX-1 (V100)", "dataset": "ImageNet-1k"}

load_device = _loader("device")
load_model = _loader("model")
load_interconnect = _loader("interconnect")
load_system = _loader("system")
load_dataset = _loader("dataset")


def list_devices():
    """Devices in the active catalog as a DataFrame, one row per device.

    Columns: ``name``, ``kind``, ``form_factor``, peak rates per precision key
    (``fp64_flops`` … ``fp4_flops``) [FLOP/s], ``memory_bytes`` [B], ``memory_bandwidth_Bps``
    [B/s], ``memory_technology`` (``"HBM3e"``, ...), ``process``, ``power_w`` [W] (NaN where
    the vendor publishes no power), ``frameworks``, ``source``, ``notes``.

    Returns
    -------
    pandas.DataFrame
        One row per device; peak columns no device fills are dropped.

    Examples
    --------
    >>> import plaster_model as pm
    >>> df = pm.list_devices().set_index("name")
    >>> float(df.loc["V100", "fp32_flops"])
    15700000000000.0
    """
    import pandas as pd
    from .objects import PEAK_KEYS

    rows = []
    for d in active_catalog().entries["device"].values():
        row = {"name": d.name, "full_name": d.full_name, "kind": d.kind, "form_factor": d.form_factor}
        row.update({f"{k}_flops": d.peak_flops.get(k) for k in PEAK_KEYS})
        row.update({"memory_bytes": d.memory_bytes, "memory_bandwidth_Bps": d.memory_bandwidth,
                    "memory_technology": d.memory_technology, "process": d.process,
                    "power_w": d.power_w if d.power_w is not None else float("nan"),
                    "frameworks": ", ".join(d.frameworks),
                    "source": d.source, "notes": d.notes})
        rows.append(row)
    df = pd.DataFrame(rows)
    return df.dropna(axis=1, how="all") if not df.empty else df


def list_interconnects():
    """Interconnects as a DataFrame, one row per link.

    Returns
    -------
    pandas.DataFrame
        ``name``, ``scope``, ``bandwidth_Bps`` (effective, per direction) [B/s],
        ``link_bandwidth_Bps`` [B/s], ``links``, ``signalling_rate_Bps`` [B/s],
        ``encoding``, ``latency_s`` [s], ``source``, ``notes``.

    Examples
    --------
    >>> import plaster_model as pm
    >>> df = pm.list_interconnects().set_index("name")
    >>> float(df.loc["InfiniBand EDR", "bandwidth_Bps"])  # 100 Gb/s of data = 12.5 GB/s
    12500000000.0
    """
    import pandas as pd

    rows = [{"name": i.name, "scope": i.scope, "bandwidth_Bps": i.bandwidth,
             "link_bandwidth_Bps": i.link_bandwidth, "links": i.links,
             "signalling_rate_Bps": i.signalling_rate, "encoding": i.encoding,
             "latency_s": i.latency_s, "source": i.source, "notes": i.notes}
            for i in active_catalog().entries["interconnect"].values()]
    return pd.DataFrame(rows)


def list_systems():
    """Systems (server designs) as a DataFrame, one row per system.

    Returns
    -------
    pandas.DataFrame
        ``name``, ``device``, ``devices_per_node``, ``scale_up_domain`` (devices on the
        intra-node fabric), ``intra_node``, ``interconnect``, ``nics_per_node``, ``source``,
        ``notes``.

    Examples
    --------
    >>> import plaster_model as pm
    >>> df = pm.list_systems().set_index("name")
    >>> int(df.loc["DGX-1 (V100)", "devices_per_node"])
    8
    """
    import pandas as pd

    rows = [{"name": s.name, "device": s.device, "devices_per_node": s.devices_per_node,
             "scale_up_domain": s.scale_up_domain, "intra_node": s.intra_node, "interconnect": s.interconnect,
             "nics_per_node": s.nics_per_node, "source": s.source, "notes": s.notes}
            for s in active_catalog().entries["system"].values()]
    return pd.DataFrame(rows)


def list_models():
    """Models of the zoo as a DataFrame, one row per model.

    Returns
    -------
    pandas.DataFrame
        ``name``, ``family``, ``task``, ``params``, ``fwd_flops`` (2 × MACs per sample)
        [FLOP], ``seq_len`` (tokens per sample of sequence models), ``fwd_macs`` [MAC],
        ``reported_flops`` (as printed by the source) and ``flop_convention``,
        ``size_fp32_bytes`` [B], ``input_shape``, ``activation_bytes_per_sample`` [B],
        ``source``, ``notes``.

    Examples
    --------
    >>> import plaster_model as pm
    >>> df = pm.list_models().set_index("name")
    >>> float(df.loc["ResNet-50", "fwd_flops"])  # 3.9 G multiply-adds, 2 FLOPs each
    7800000000.0
    """
    import pandas as pd

    rows = [{"name": m.name, "family": m.family, "task": m.task, "params": m.params,
             "fwd_flops": m.fwd_flops, "seq_len": m.seq_len,
             "fwd_macs": m.fwd_macs, "reported_flops": m.reported_flops,
             "flop_convention": m.flop_convention, "size_fp32_bytes": m.size_bytes("fp32"),
             "input_shape": "x".join(map(str, m.input_shape)),
             "activation_bytes_per_sample": m.activation_bytes_per_sample,
             "source": m.source, "notes": m.notes}
            for m in active_catalog().entries["model"].values()]
    return pd.DataFrame(rows)


def list_datasets():
    """Datasets as a DataFrame, one row per dataset.

    Returns
    -------
    pandas.DataFrame
        ``name``, ``train_samples``, ``source``, ``notes``.

    Examples
    --------
    >>> import plaster_model as pm
    >>> int(pm.list_datasets().set_index("name").loc["ImageNet-1k", "train_samples"])
    1281167
    """
    import pandas as pd

    rows = [{"name": d.name, "train_samples": d.train_samples, "source": d.source, "notes": d.notes}
            for d in active_catalog().entries["dataset"].values()]
    return pd.DataFrame(rows)
