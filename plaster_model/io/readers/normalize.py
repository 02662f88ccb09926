"""Normalization of free-text fields: precision names, device and interconnect names.

Precision is always normalized by the parsers (the original text goes to ``precision_raw``).
Device and interconnect names are mapped to hardware-catalog names by
:func:`normalize_names`, which never guesses silently: whatever it cannot map keeps its raw
text and is listed in the report.
"""
from __future__ import annotations

import re
import warnings
from typing import Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from ...catalog.objects import normalize_precision
from .schema import _is_missing, conform

__all__ = ["precision_from_text", "normalize_precision", "precision_from_flags", "normalize_names",
           "device_candidates", "interconnect_candidates"]

def precision_from_text(text: object) -> str:
    """Map a free-text precision to a key of :data:`plaster_model.PRECISIONS` or "not stated".

    ``normalize_precision(text, free_text=True)``: the rules live once, in
    :func:`plaster_model.catalog.objects.normalize_precision`.

    Parameters
    ----------
    text : str or None
        E.g. ``"mixed (fp16)"``, ``"bfloat16 (mixed; not stated in log)"``, ``"FP32+FP16"``,
        ``"float16"``, ``"--int8"``, ``"TF32"``.

    Returns
    -------
    str
        ``"fp32"``, ``"tf32"``, ``"fp16"``, ``"mixed"``, ``"int8"``, ``"bf16"``, ``"fp8"``,
        ``"fp64"`` or ``"not stated"`` (also for empty or unrecognised text; callers keep the
        original in ``precision_raw`` and :func:`normalize_names` reports unrecognised ones).

    Examples
    --------
    >>> precision_from_text("FP32+INT8"), precision_from_text(None)
    ('int8', 'not stated')
    """
    return normalize_precision(text, free_text=True)


def precision_from_flags(flags: Iterable[str]) -> str | None:
    """Precision implied by trtexec precision flags, or None when no flag is set.

    ``--best`` and ``--int8`` -> int8, ``--fp8`` -> fp8, ``--fp16`` -> fp16, ``--bf16`` -> bf16
    (the lowest precision allowed wins: TensorRT picks per layer among the allowed ones).
    """
    flags = {f.lstrip("-").lower() for f in flags}
    for flag, name in (("best", "int8"), ("int8", "int8"), ("fp8", "fp8"),
                       ("fp16", "fp16"), ("bf16", "bf16")):
        if flag in flags:
            return name
    return None


# Vendor and product-family words dropped, one at a time, from the front of a device name.
_VENDOR_WORDS = ("nvidia", "tesla", "geforce", "quadro", "amd", "radeon", "intel")


def device_candidates(text: str) -> list[tuple[str, str]]:
    """Names to try for a device, with how each was derived.

    "Tesla V100-SXM2-16GB" -> [as is, "V100-SXM2-16GB"]; only leading vendor words are
    dropped, never suffixes (a "Laptop GPU" or a memory size is a different device).
    """
    out = [(text.strip(), "as written")]
    words = text.split()
    while len(words) > 1 and words[0].lower() in _VENDOR_WORDS:
        words = words[1:]
        out.append((" ".join(words), "vendor prefix dropped"))
    return out


# NVLink generation is fixed by the GPU generation (P100 NVLink 1 ... H100 NVLink 4).
_NVLINK_BY_GPU = {"P100": "NVLink 1", "V100": "NVLink 2", "A100": "NVLink 3", "H100": "NVLink 4"}


def interconnect_candidates(text: str, device: str | None) -> list[tuple[str, str]]:
    """Names to try for an interconnect, with how each was derived.

    Tries the text, then the text without a trailing parenthetical
    ("PCIe (single AWS p2.8xlarge instance)" -> "PCIe"; the catalog decides whether that is
    unambiguous), then for a bare "NVLink" the generation fixed by the row's GPU
    (a P100 DGX-1 is "NVLink 1", a V100 one "NVLink 2").
    """
    text = text.strip()
    out = [(text, "as written")]
    base = re.sub(r"\s*\(.*\)\s*$", "", text).strip()
    if base and base != text:
        out.append((base, "parenthetical dropped"))
    if base.lower() == "nvlink" and device:
        m = re.search(r"\b([PVAH]100)\b", device.upper())
        if m:
            out.append((_NVLINK_BY_GPU[m.group(1)], f"NVLink generation of the {m.group(1)}"))
    return out


def _default_find_name() -> Callable[[str, str], str | None] | None:
    """The catalog's ``find_name(kind, text)``, imported lazily (None when unavailable)."""
    try:
        from plaster_model.catalog import find_name  # noqa: PLC0415 - lazy on purpose
    except (ImportError, AttributeError):
        return None
    return find_name


def _lookup(find_name, kind: str, candidates: list[tuple[str, str]]) -> tuple[str | None, str]:
    for name, how in candidates:
        if not name:
            continue
        hit = find_name(kind, name)
        if hit:
            return hit, how
    return None, "not in catalog"


def _raw_column(df: pd.DataFrame, col: str) -> pd.Series:
    """Original text: ``<col>_raw`` where already filled (re-normalization), else ``<col>``."""
    raw = df[f"{col}_raw"]
    return raw.where(raw.notna(), df[col])


def _report_rows(kind: str, raws: pd.Series, mapping: dict, hows: dict) -> list[dict]:
    counts = raws.dropna().value_counts()
    return [{"kind": kind, "raw": raw, "mapped_to": mapping.get(raw), "n_rows": int(n),
             "how": hows.get(raw, "")} for raw, n in counts.items()]


def normalize_names(df: pd.DataFrame, *, find_name: Callable[[str, str], str | None] | None = None,
                    model_map: Mapping[str, str] | None = None,
                    framework_default_precision: bool = False,
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Map free-text device, interconnect and model names to catalog names.

    Parameters
    ----------
    df : pandas.DataFrame
        A measurement table (missing schema columns are added).
    find_name : callable, optional
        ``find_name(kind, text) -> str | None`` with kind ``"device"`` or ``"interconnect"``;
        defaults to :func:`plaster_model.catalog.find_name` (imported lazily). With the default,
        names the alias look-up misses go through :mod:`plaster_model.catalog.names`
        (punctuation-free device aliases; technology keywords, rates and NIC counts in
        interconnect texts; a fabric text naming both an intra-node link and a network
        gives the network to rows that span nodes, ``n_devices > devices_per_node``, and the
        intra-node link to the others) and model names are mapped to zoo models by its
        rule (:func:`plaster_model.catalog.names.resolve_model`).
    model_map : mapping of str to str, optional
        ``{NAME: ZOO}``: model names of the table mapped by the user, tried first.
    framework_default_precision : bool
        Give rows whose precision is "not stated" the framework's documented default
        (:func:`plaster_model.catalog.names.resolve_precision`), reported with kind
        ``"precision"``. Off by default: a default is a guess about the run.

    Returns
    -------
    df : pandas.DataFrame
        A copy; ``device``/``interconnect``/``model`` hold the catalog name where one was
        found and the text otherwise; ``device_raw``/``interconnect_raw``/``model_raw`` hold
        the original. A ``model`` that already names a zoo model (an earlier mapping) is kept.
        Inference rows without an ``engine_mode`` get the one their framework and notes
        state (:func:`plaster_model.catalog.frameworks.engine_mode`: ``server`` for a model
        server such as Triton, ``harness`` for a benchmark harness, else ``engine``).
    report : pandas.DataFrame
        One row per distinct raw name: ``kind``, ``raw``, ``mapped_to`` (None when not
        mapped), ``n_rows``, ``how`` (how the name was matched, or why not). Rows with
        ``mapped_to`` None are what could not be mapped; precision texts that normalized
        to "not stated" without saying so are listed with kind ``"precision"``.
    """
    out = conform(df)
    smart = False  # True with the catalog's own look-up: plaster_model.catalog.names is used too
    if find_name is None:
        find_name = _default_find_name()
        smart = find_name is not None and _names_available()
        if find_name is None:
            warnings.warn("plaster_model.catalog.find_name is unavailable: device and "
                          "interconnect names left unmapped", RuntimeWarning, stacklevel=2)
            find_name = lambda kind, text: None  # noqa: E731
    rows: list[dict] = []

    dev_raw = _raw_column(out, "device")
    dev_map, dev_how = {}, {}
    for raw in dev_raw.dropna().unique():
        dev_map[raw], dev_how[raw] = _lookup(find_name, "device", device_candidates(raw))
        if dev_map[raw] is None and smart:
            m = _names().resolve_device(raw)
            dev_map[raw], dev_how[raw] = m.name, m.how + _closest_text(m)
    out["device_raw"] = dev_raw
    out["device"] = [dev_map.get(r) or r if not _is_missing(r) else np.nan for r in dev_raw]
    rows += _report_rows("device", dev_raw, dev_map, dev_how)

    ic_raw = _raw_column(out, "interconnect")
    ic_map, ic_how, mapped_ic = {}, {}, []
    spans = _spans_nodes(out)
    for raw, dev, multi in zip(ic_raw, out["device"], spans):
        if _is_missing(raw):
            mapped_ic.append(np.nan)
            continue
        key = (raw, None if _is_missing(dev) else dev, multi)
        if key not in ic_map:
            ic_map[key], ic_how[key] = _lookup(find_name, "interconnect",
                                               interconnect_candidates(raw, key[1]))
            if ic_map[key] is None and smart:
                ic_map[key], ic_how[key] = _fabric_link(raw, key[1], multi)
        mapped_ic.append(ic_map[key] or raw)
    out["interconnect_raw"] = ic_raw
    out["interconnect"] = mapped_ic
    rows += _interconnect_report(ic_raw, out["device"], spans, ic_map, ic_how)
    if smart or model_map:
        rows += _map_models(out, model_map)
    _fill_engine_modes(out)
    if framework_default_precision:
        rows += _default_precisions(out)
    rows += _precision_report(out)
    report = pd.DataFrame(rows, columns=["kind", "raw", "mapped_to", "n_rows", "how"])
    return conform(out), report


def _interconnect_report(raws: pd.Series, devices: pd.Series, spans, mapping: dict, hows: dict) -> list[dict]:
    counts: dict = {}
    for raw, dev, multi in zip(raws, devices, spans):
        if _is_missing(raw):
            continue
        key = (raw, None if _is_missing(dev) else dev, multi)
        counts[key] = counts.get(key, 0) + 1
    merged: dict[str, dict] = {}
    for key, n in counts.items():
        raw = key[0]
        entry = merged.setdefault(raw, {"kind": "interconnect", "raw": raw, "mapped_to": set(),
                                        "n_rows": 0, "how": set()})
        entry["n_rows"] += n
        entry["mapped_to"].add(mapping[key])
        entry["how"].add(hows[key])
    out = []
    for entry in merged.values():
        targets = sorted(t for t in entry["mapped_to"] if t)
        if None in entry["mapped_to"] and targets:
            targets.append("(unmapped for some devices)")
        entry["mapped_to"] = ", ".join(targets) if targets else None
        entry["how"] = "; ".join(sorted(entry["how"]))
        out.append(entry)
    return out


def _precision_report(df: pd.DataFrame) -> list[dict]:
    """Precision texts that fell to "not stated" although they said something else."""
    bad = (df["precision"] == "not stated") & df["precision_raw"].notna()
    raws = df.loc[bad, "precision_raw"]
    said_not_stated = raws.str.lower().str.contains("not stated|unknown|strongly typed|"
                                                    r"not in log|\(no ", regex=True)
    raws = raws[~said_not_stated.fillna(False).astype(bool)]
    return [{"kind": "precision", "raw": raw, "mapped_to": None, "n_rows": int(n),
             "how": "unrecognised precision text"} for raw, n in raws.value_counts().items()]


# --- real-world names (plaster_model.catalog.names) -------------------------------------

def _names_available() -> bool:
    """Whether :mod:`plaster_model.catalog.names` imports (a stand-in catalog may lack it)."""
    try:
        _names()
    except ImportError:
        return False
    return True


def _names():
    from plaster_model.catalog import names  # noqa: PLC0415 - lazy: catalog imports are heavier
    return names


def _closest_text(match) -> str:
    return f"; closest: {', '.join(match.candidates)}" if match.candidates else ""


def _spans_nodes(df: pd.DataFrame) -> list[bool]:
    """Rows whose run spans nodes (``n_devices > devices_per_node``): they need the network."""
    n = pd.to_numeric(df["n_devices"], errors="coerce").to_numpy(dtype=float)
    dpn = pd.to_numeric(df["devices_per_node"], errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        return list((n > dpn) & np.isfinite(n) & np.isfinite(dpn))


def _fabric_link(raw: str, device: str | None, spans_nodes: bool) -> tuple[str | None, str]:
    """The link a row uses from a fabric description: its network when the run spans nodes,
    else the intra-node link (a single-link text is that link either way)."""
    fab = _names().parse_fabric(raw, device)
    if spans_nodes:
        name, part = fab.interconnect, "network"
    else:
        name, part = fab.intra_node or fab.interconnect, "intra-node link" if fab.intra_node else "link"
    if name is None:
        shown = "; ".join(f"{t!r} (closest: {', '.join(c)})" for t, c in fab.unmapped_) or "nothing recognised"
        return None, f"not in catalog; {shown}"
    how = f"{part} of the fabric text ({fab.how})" if fab.matches else f"{part} of system {fab.system}"
    if spans_nodes and fab.nics_per_node:
        how += f"; {fab.nics_per_node} NICs per node"
    if fab.assumed:
        how += "; assumed: " + "; ".join(fab.assumed)
    return name, how


def _map_models(out: pd.DataFrame, model_map: Mapping[str, str] | None) -> list[dict]:
    """Map ``model`` texts to zoo names in place (``model_raw`` keeps the text); report rows."""
    names = _names()
    cat = names._cat()
    raw = out["model_raw"] if "model_raw" in out.columns else pd.Series(np.nan, index=out.index)
    raw = raw.where(raw.notna(), out["model"])
    current = out["model"]
    result, hows, mapped = [], {}, {}
    for r, cur in zip(raw, current):
        if _is_missing(r):
            result.append(cur)
            continue
        if r not in mapped:
            m = names.resolve_model(str(r), model_map)
            earlier = not _is_missing(cur) and str(cur) != str(r) and not (model_map and r in model_map)
            if (m.name is None or earlier) and not _is_missing(cur) and cat.find("model", str(cur)):
                # mapped earlier (e.g. by read_measurements(model_map=...)): keep it
                mapped[r], hows[r] = str(cur), "kept the earlier mapping"
            else:
                mapped[r], hows[r] = m.name, m.how + _closest_text(m)
        result.append(mapped[r] or cur)
    out["model_raw"] = raw
    out["model"] = result
    counts = raw.dropna().value_counts()
    return [{"kind": "model", "raw": r, "mapped_to": mapped.get(r), "n_rows": int(n),
             "how": hows.get(r, "")} for r, n in counts.items()]


def _default_precisions(out: pd.DataFrame) -> list[dict]:
    """Give "not stated" rows the framework's documented default; report each text."""
    names = _names()
    rows: dict = {}
    for i in np.flatnonzero((out["precision"] == "not stated").to_numpy()):
        fw = out["framework"].iat[i]
        dev = out["device"].iat[i]
        m = names.resolve_precision(out["precision_raw"].iat[i],
                                    None if _is_missing(fw) else str(fw),
                                    None if _is_missing(dev) else str(dev))
        if m.name is not None:
            out.iat[i, out.columns.get_loc("precision")] = m.name
        key = (m.text, m.name, m.how)
        rows[key] = rows.get(key, 0) + 1
    return [{"kind": "precision default", "raw": t, "mapped_to": n, "n_rows": c, "how": h}
            for (t, n, h), c in rows.items()]


def _fill_engine_modes(out: pd.DataFrame) -> None:
    """``engine_mode`` of inference rows that have none, from the framework and notes texts
    (in place; a mode the table states is kept)."""
    from plaster_model.catalog.frameworks import engine_mode  # noqa: PLC0415 - light, lazy for symmetry

    phase = out["phase"].tolist()
    current = out["engine_mode"].tolist()
    fw, notes = out["framework"].tolist(), out["notes"].tolist()
    memo: dict = {}
    modes = []
    for ph, cur, f, nt in zip(phase, current, fw, notes):
        if ph != "inference" or not _is_missing(cur):
            modes.append(cur)
            continue
        key = (None if _is_missing(f) else f, None if _is_missing(nt) else nt)
        if key not in memo:
            memo[key] = engine_mode(*key)
        modes.append(memo[key])
    out["engine_mode"] = pd.array(modes, dtype=out["engine_mode"].dtype)
