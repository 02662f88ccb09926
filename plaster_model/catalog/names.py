r"""Real-world names: free-text device, interconnect, system, precision and model
descriptions turned into catalog entries, with the reason for each match.

Benchmark tables, vendor pages and tool logs describe hardware in prose:
``"Tesla V100-SXM2-32GB"``, ``"8x ConnectX-6 IB HDR 200 Gb/s per node"``,
``"NVLink 3.0/NVSwitch within DGX A100"``, ``"100Gbit Ethernet"``, ``"p3.16xlarge"``; logs
name models by their file (``resnet50_bs_dynamic``, ``resnet.onnx.engine``). The functions
here map such text to catalog names and **never guess silently**: every result carries
``how`` (the rule that matched), and text that matches nothing, or matches more than one
entry, is returned unmapped with the closest catalog names.

Rules
-----
Devices (:func:`resolve_device`)
    The text as written, then without leading vendor words (NVIDIA, Tesla, GeForce, AMD,
    Intel, ...), then with punctuation ignored (``"V100 SXM2 32GB"`` = ``"V100-SXM2-32GB"``).
    A leading count (``"8x A100"``) is returned as ``count``. Suffixes are never dropped: a
    "Laptop GPU" or a memory size is a different part.
Interconnects (:func:`resolve_interconnect`)
    A technology keyword plus a rate or generation: InfiniBand (``IB``, ``InfiniBand``,
    ``ConnectX-N``, generation words QDR/FDR/EDR/HDR/NDR/XDR or the 4x rate 40/56/100/200/
    400/800 Gb/s), RoCE + rate, Ethernet (``GbE``, ``Gbit Ethernet``, ``Gigabit``) + rate,
    AWS EFA (a total such as ``400 Gbps EFA`` gives 4 interfaces), Omni-Path, Slingshot,
    (a rate alone, ``"200 Gb/s"``, is ambiguous and reported with the entries at that rate),
    NVLink + version (``NVLink 3.0``, ``NVLink3``, ``third-generation NVLink``; a bare
    ``NVLink`` takes the generation of the device's GPU), NVSwitch (generation from the
    NVLink version or the GPU), PCIe + generation, TPU ICI. A generation and a rate that
    disagree (``"IB EDR 200 Gb/s"``) are reported, not reconciled.
Fabric descriptions (:func:`parse_fabric`)
    One string naming the node's intra link, the network and the NIC count:
    split into clauses at ``,`` ``;`` ``+`` and ``and``; each clause is resolved as above; a
    clause's ``Nx`` count is the NICs per node when it names a network; intra-node links
    (NVLink, NVSwitch, ICI, PCIe) go to ``intra_node``, the others to ``interconnect``; a
    system name anywhere in the text (``"within DGX A100"``) is returned too, and supplies
    the parts the text leaves out.
Systems (:func:`resolve_system`)
    Catalog names and aliases, punctuation ignored, also found inside a longer text
    (longest name first, so ``"DGX A100 640GB"`` is not read as ``"DGX A100"``).
Precision (:func:`resolve_precision`)
    :func:`plaster_model.catalog.objects.normalize_precision`; text that states no
    precision takes the framework's documented default (:data:`FRAMEWORK_DEFAULT_PRECISION`;
    on a TPU, XLA's default bfloat16 matmuls) and says so in ``how``. TensorRT has no such default for a *loaded* engine, so it is not
    in the table: an engine's precision is fixed when it is built.
Models (:func:`resolve_model`)
    1. the user's ``model_map`` (``{"resnet50_bs_dynamic": "ResNet-50 v1.5"}``), matched
       case-insensitively; 2. the zoo's names and aliases; 3. the name with its directory and
       file extensions removed (``.onnx``, ``.engine``, ``.plan``, ``.trt``, ``.pb``,
       ``.prototxt``, ...), then with trailing tokens that describe the *run*, not the
       network, removed one at a time: batch (``bs32``, ``b8``, ``batch16``, ``bs_dynamic``,
       ``dynamic``, ``static``), precision (``fp32``, ``fp16``, ``int8``, ``bf16``, ...),
       format or framework (``onnx``, ``trt``, ``engine``, ``caffe``, ``pytorch``, ``tf``,
       ``keras``, ``opset13``, ``simplified``, ``nchw``/``nhwc``), matching aliases with
       punctuation ignored. Architectural words (``ssd``, ``yolo``, ``v1.5``, ``large``) are
       never removed, so ``vgg16-ssd`` (an SSD detector) does not become VGG-16.

Examples
--------
>>> from plaster_model.catalog.names import parse_fabric, resolve_model
>>> f = parse_fabric("NVLink 3.0/NVSwitch within DGX A100, 8x ConnectX-6 IB HDR 200 Gb/s per node")
>>> f.intra_node, f.interconnect, f.nics_per_node, f.system
('NVSwitch 2 (DGX A100)', 'InfiniBand HDR', 8, 'DGX A100')
>>> resolve_model("resnet50_bs_dynamic").name
'ResNet-50'
>>> resolve_model("vgg16-ssd").name is None
True
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Mapping

__all__ = [
    "NameMatch", "Fabric", "resolve_device", "resolve_interconnect", "resolve_system",
    "resolve_precision", "resolve_model", "parse_fabric", "parse_rate_gbps",
    "FRAMEWORK_DEFAULT_PRECISION", "model_key",
]


@dataclass(frozen=True)
class NameMatch:
    """One free-text name resolved (or not) to a catalog entry.

    Attributes
    ----------
    kind : str
        ``"device"``, ``"interconnect"``, ``"system"``, ``"model"`` or ``"precision"``.
    text : str
        The text as given.
    name : str or None
        The catalog name (precision: the canonical precision), None when unmapped.
    how : str
        The rule that matched, or why nothing did.
    candidates : tuple of str
        Closest catalog names when unmapped (or all matching names when ambiguous).
    count : int or None
        A leading count in the text (``"8x A100"`` -> 8; ``"400 Gbps EFA"`` -> 4 interfaces).
    """

    kind: str
    text: str
    name: str | None
    how: str
    candidates: tuple[str, ...] = ()
    count: int | None = None

    @property
    def ok(self) -> bool:
        """True when the text mapped to a catalog name."""
        return self.name is not None


@dataclass(frozen=True)
class Fabric:
    """A node's links read from one free-text description (see :func:`parse_fabric`).

    Attributes
    ----------
    text : str
    intra_node, interconnect : str or None
        Catalog interconnect names of the link between the devices of a node and of the
        network between nodes.
    nics_per_node : int or None
        Network ports per node (``"8x ConnectX-6"`` -> 8), None when not stated.
    system : str or None
        A catalog system named in the text.
    device : str or None
        The device of that system (or the one passed in).
    matches : tuple of NameMatch
        Each clause's match.
    unmapped_ : tuple of (str, tuple of str)
        Clauses that matched nothing, with the closest catalog names.
    assumed : tuple of str
        The parts the text did not state and the named system supplied (its intra-node
        link, its network, its NICs per node), one sentence each.
    """

    text: str
    intra_node: str | None = None
    interconnect: str | None = None
    nics_per_node: int | None = None
    system: str | None = None
    device: str | None = None
    matches: tuple[NameMatch, ...] = ()
    unmapped_: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())
    assumed: tuple[str, ...] = ()

    @property
    def how(self) -> str:
        """The rules that matched, one per clause."""
        return "; ".join(f"{m.text!r}: {m.how}" for m in self.matches)


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------

def _cat():
    from .loader import active_catalog
    return active_catalog()


def _squash(text: str) -> str:
    """Lower case, letters and digits only: "V100-SXM2 32GB" -> "v100sxm232gb"."""
    return re.sub(r"[^0-9a-z]+", "", str(text).lower())


def _squashed_index(kind: str) -> dict[str, set[str]]:
    cat = _cat()
    cache = cat.__dict__.setdefault("_squash_cache", {})  # dropped by Catalog._add_file
    if kind not in cache:
        out: dict[str, set[str]] = {}
        for name, obj in cat.entries[kind].items():
            for alias in (name, *obj.aliases):
                out.setdefault(_squash(alias), set()).add(name)
        cache[kind] = out
    return cache[kind]


#: Per-catalog memo of the slow look-ups (a table repeats its texts on every row, and difflib
#: over every alias is the slow part of reading names); reset when another catalog becomes
#: active or a file is merged into this one (its ``_generation``).
_MEMO: dict = {"catalog": None}


def _memo(kind: str) -> dict:
    cat = _cat()
    stamp = (cat, cat.__dict__.get("_generation", 0))
    if _MEMO["catalog"] != stamp:
        _MEMO.clear()
        _MEMO["catalog"] = stamp
    return _MEMO.setdefault(kind, {})


def _closest(kind: str, text: str, n: int = 5) -> tuple[str, ...]:
    memo = _memo("closest")
    key = (kind, str(text), n)
    if key not in memo:
        memo[key] = _closest_in(_cat(), kind, str(text), n)
    return memo[key]


def _closest_in(cat, kind: str, text: str, n: int) -> tuple[str, ...]:
    choices = {}
    for name, obj in cat.entries[kind].items():
        for alias in (name, *obj.aliases):
            choices.setdefault(alias.lower(), name)
    close = difflib.get_close_matches(str(text).lower(), list(choices), n=n * 3, cutoff=0.3)
    sq = _squash(text)
    # names that contain the text's longest word (e.g. "RoCE" -> every RoCE entry)
    words = sorted(re.findall(r"[a-z0-9]+", str(text).lower()), key=len, reverse=True)
    extra = [a for a in choices if words and len(words[0]) >= 3 and words[0] in a]
    names = [choices[c] for c in close] + [choices[a] for a in sorted(extra)]
    if sq:
        names += [choices[a] for a in choices if _squash(a).startswith(sq[:4])][:n]
    return tuple(dict.fromkeys(names))[:n]


def _find(kind: str, text: str) -> tuple[str | None, str, tuple[str, ...]]:
    """(name, how, ambiguous candidates) by exact alias, then punctuation-free alias."""
    cat = _cat()
    hit = cat.find(kind, text)
    if hit:
        return hit, "catalog name or alias", ()
    names = _squashed_index(kind).get(_squash(text), set())
    if len(names) == 1:
        return next(iter(names)), "catalog alias, punctuation ignored", ()
    if len(names) > 1:
        return None, "ambiguous (punctuation ignored, several entries match)", tuple(sorted(names))
    return None, "", ()


_COUNT = re.compile(r"^\s*(\d+)\s*(?:x|×|\*)\s*(?=\S)", re.IGNORECASE)
_VENDOR_WORDS = ("nvidia", "tesla", "geforce", "quadro", "amd", "radeon", "intel", "habana",
                 "google", "cloud")


def _strip_count(text: str) -> tuple[str, int | None]:
    m = _COUNT.match(text)
    if m:
        return text[m.end():].strip(), int(m.group(1))
    return text.strip(), None


# ---------------------------------------------------------------------------------------
# devices
# ---------------------------------------------------------------------------------------

def resolve_device(text: str) -> NameMatch:
    """Map a free-text device name to a catalog device (see the module rules).

    Parameters
    ----------
    text : str
        E.g. ``"Tesla V100-SXM2-32GB"``, ``"NVIDIA A100-SXM4-80GB"``, ``"8x A100 80GB"``.

    Returns
    -------
    NameMatch
        ``name`` None when unmapped (``candidates`` lists the closest devices).

    Examples
    --------
    >>> resolve_device("Tesla V100-SXM2-32GB").name
    'V100-32GB'
    >>> m = resolve_device("8x NVIDIA A100 SXM4 80GB"); (m.name, m.count)
    ('A100-80GB', 8)
    """
    raw = str(text)
    body, count = _strip_count(raw)
    tries = [(body, "as written")]
    words = body.split()
    while len(words) > 1 and words[0].lower() in _VENDOR_WORDS:
        words = words[1:]
        tries.append((" ".join(words), "vendor words dropped"))
    base = re.sub(r"\s*\(.*\)\s*$", "", body).strip()
    if base and base != body:
        tries.append((base, "trailing parenthetical dropped"))
    ambiguous: tuple[str, ...] = ()
    for t, how in tries:
        name, why, amb = _find("device", t)
        if name:
            return NameMatch("device", raw, name, f"{how}; {why}", count=count)
        ambiguous = ambiguous or amb
    if ambiguous:
        return NameMatch("device", raw, None, "ambiguous: several devices match", ambiguous, count)
    return NameMatch("device", raw, None, "no catalog device matches", _closest("device", body), count)


# ---------------------------------------------------------------------------------------
# rates and interconnects
# ---------------------------------------------------------------------------------------

def parse_rate_gbps(text: str) -> float | None:
    """A network rate in the text, in Gb/s (bits): ``"200 Gb/s"``, ``"100Gbit"``, ``"25G"``,
    ``"100 Gbps"``, ``"10 Gigabit"``, ``"100GbE"`` -> 200, 100, 25, 100, 10, 100.

    Bytes (``"GB/s"``) are not network rates and are ignored. Returns None without a rate.
    """
    for m in re.finditer(r"(\d+(?:\.\d+)?)\s*([TGM])(b(?:it)?s?(?:/s|ps)?|bps|igabit|bit|bE|b)?"
                         r"(?![A-Za-z0-9])|(\d+(?:\.\d+)?)\s*([TGM])(?=\s*(?:ethernet|ether|gbe|roce|efa)\b)",
                         str(text), flags=re.IGNORECASE):
        num = m.group(1) or m.group(4)
        prefix = (m.group(2) or m.group(5)).upper()
        unit = m.group(3) or ""
        if unit.startswith("B") and not unit.lower().startswith("bit") and unit != "bE":
            continue  # "GB/s": bytes, not a link rate
        scale = {"T": 1e3, "G": 1.0, "M": 1e-3}[prefix]
        return float(num) * scale
    return None


_IB_BY_GEN = {"qdr": "InfiniBand QDR", "fdr": "InfiniBand FDR", "edr": "InfiniBand EDR",
              "hdr": "InfiniBand HDR", "ndr": "InfiniBand NDR", "xdr": "InfiniBand XDR"}
_IB_BY_RATE = {40: "qdr", 56: "fdr", 100: "edr", 200: "hdr", 400: "ndr", 800: "xdr"}
#: ConnectX generation -> InfiniBand generation of its top port speed (NVIDIA/Mellanox product briefs).
_CONNECTX_GEN = {3: "fdr", 4: "edr", 5: "edr", 6: "hdr", 7: "ndr", 8: "xdr"}
_ETH_BY_RATE = {10: "10GbE", 25: "25GbE", 40: "40GbE", 50: "50GbE", 100: "100GbE",
                200: "200GbE", 400: "400GbE"}
_ROCE_BY_RATE = {25: "RoCE 25G", 100: "RoCE 100G", 200: "RoCE 200G", 400: "RoCE 400G"}
_NVLINK = {1: "NVLink 1", 2: "NVLink 2", 3: "NVLink 3", 4: "NVLink 4", 5: "NVLink 5"}
_NVSWITCH_BY_NVLINK = {2: "NVSwitch", 3: "NVSwitch 2 (DGX A100)", 4: "NVSwitch 3 (DGX H100)",
                       5: "NVSwitch 4 (DGX B200)"}
#: NVLink generation of a GPU family (the GPU fixes it: P100 has NVLink 1 ... B200 NVLink 5).
_NVLINK_BY_GPU = (("B200", 5), ("H200", 4), ("H100", 4), ("A100", 3), ("V100", 2), ("P100", 1))
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "1st": 1, "2nd": 2,
             "3rd": 3, "4th": 4, "5th": 5}
_TPU_ICI = (("v5p", "TPU v5p ICI"), ("v5e", "TPU v5e ICI"), ("v4", "TPU v4 ICI"),
            ("v3", "TPU v3 ICI"), ("v2", "TPU v2 ICI"))


def _gpu_nvlink(device: str | None) -> int | None:
    if not device:
        return None
    up = str(device).upper()
    for key, gen in _NVLINK_BY_GPU:
        if key in up:
            return gen
    return None


def _nvlink_version(t: str) -> int | None:
    m = re.search(r"nvlink[\s\-_]*(?:v|gen(?:eration)?\s*)?(\d)(?:\.\d)?", t)
    if m:
        return int(m.group(1))
    m = re.search(r"\b(first|second|third|fourth|fifth|1st|2nd|3rd|4th|5th)[\s\-]+gen(?:eration)?\s+nvlink", t)
    if m:
        return _ORDINALS[m.group(1)]
    return None


def _link(text, name, how, count=None):
    return NameMatch("interconnect", text, name, how, count=count)


def _no_link(text, how, kind_hint: str | None = None, count=None):
    cands = _closest("interconnect", kind_hint or text)
    return NameMatch("interconnect", text, None, how, cands, count)


def resolve_interconnect(text: str, device: str | None = None) -> NameMatch:
    """Map a free-text link description to a catalog interconnect (see the module rules).

    Parameters
    ----------
    text : str
        E.g. ``"IB HDR 200 Gb/s"``, ``"NVLink 3.0"``, ``"100Gbit Ethernet"``, ``"RoCE 100G"``,
        ``"8x ConnectX-6"``, ``"PCIe Gen4"``.
    device : str, optional
        The row's device; fixes the generation of a bare ``"NVLink"`` / ``"NVSwitch"`` / ``"ICI"``.

    Returns
    -------
    NameMatch
        ``count``: a leading ``Nx`` (or the interface count of an EFA total).

    Examples
    --------
    >>> resolve_interconnect("IB HDR 200 Gb/s").name
    'InfiniBand HDR'
    >>> resolve_interconnect("100Gbit Ethernet").name
    '100GbE'
    >>> resolve_interconnect("NVLink", device="V100").name
    'NVLink 2'
    >>> resolve_interconnect("RoCE").name is None    # no rate: ambiguous, reported
    True
    """
    raw = str(text)
    body, count = _strip_count(raw)
    name, why, _ = _find("interconnect", body)
    if name:
        return _link(raw, name, why, count)
    from .frameworks import negated_spans, strip_negated  # noqa: PLC0415

    # negated keywords name no technology ("Ethernet, RoCE disabled" is Ethernet)
    t = strip_negated(body)
    negated = " ".join(body.lower()[a:b] for a, b in negated_spans(body))
    rate = parse_rate_gbps(body)
    rate_i = int(round(rate)) if rate is not None else None
    if "roce" in t and "rdma" in negated and rate_i in _ETH_BY_RATE:
        return _link(raw, _ETH_BY_RATE[rate_i], f"RoCE with RDMA disabled: TCP over {rate_i} Gb/s Ethernet", count)

    if re.search(r"\befa(?:v\d)?\b|elastic fabric", t):
        nics = count
        how = "AWS EFA (100 Gb/s per interface)"
        if rate_i and rate_i > 100 and rate_i % 100 == 0:
            nics = (count or 1) * rate_i // 100
            how += f"; {rate_i} Gb/s total = {rate_i // 100} interfaces"
        return _link(raw, "AWS EFA 100G", how, nics)
    if re.search(r"omni[\s\-]?path|\bopa\b", t):
        return _link(raw, "Omni-Path 100", "Omni-Path keyword", count)
    if "slingshot" in t:
        return _link(raw, "HPE Slingshot", "Slingshot keyword", count)
    if "roce" in t:
        if rate_i in _ROCE_BY_RATE:
            return _link(raw, _ROCE_BY_RATE[rate_i], f"RoCE at {rate_i} Gb/s", count)
        return _no_link(raw, "RoCE without a catalogued rate (25/100/200/400 Gb/s)", "RoCE", count)
    cx = re.search(r"connect[\s\-]?x[\s\-]?(\d)", t)
    ib_word = re.search(r"infini[\s\-]?band|\bib\b|\b(qdr|fdr|edr|hdr|ndr|xdr)\b", t)
    eth_word = re.search(r"ethernet|\bgbe\b|\d\s*gbe\b|\bgige\b|gigabit|\d\s*g\s*eth", t)
    if ib_word or (cx and not eth_word):
        gen = re.search(r"\b(qdr|fdr|edr|hdr|ndr|xdr)\b", t)
        gen = gen.group(1) if gen else None
        how = []
        if gen is None and rate_i in _IB_BY_RATE:
            gen = _IB_BY_RATE[rate_i]
            how.append(f"InfiniBand at {rate_i} Gb/s = {gen.upper()}")
        elif gen is None and cx and int(cx.group(1)) in _CONNECTX_GEN:
            gen = _CONNECTX_GEN[int(cx.group(1))]
            how.append(f"ConnectX-{cx.group(1)} top speed = {gen.upper()}"
                       + ("" if ib_word else " (VPI adapter, InfiniBand assumed)"))
        elif gen is not None:
            how.append(f"InfiniBand {gen.upper()}")
        if gen is None:
            return _no_link(raw, "InfiniBand without a generation or a 4x rate", "InfiniBand", count)
        if rate_i is not None and rate_i in _IB_BY_RATE and _IB_BY_RATE[rate_i] != gen:
            return _no_link(raw, f"InfiniBand {gen.upper()} contradicts {rate_i} Gb/s "
                                 f"({_IB_BY_RATE[rate_i].upper()})", "InfiniBand", count)
        return _link(raw, _IB_BY_GEN[gen], "; ".join(how), count)
    if eth_word:
        if rate_i in _ETH_BY_RATE:
            return _link(raw, _ETH_BY_RATE[rate_i], f"Ethernet at {rate_i} Gb/s", count)
        return _no_link(raw, "Ethernet without a catalogued rate", "GbE", count)
    if "nvswitch" in t or "nvlink switch" in t:
        ver = _nvlink_version(t)
        how = f"NVSwitch with NVLink {ver}" if ver else None
        if ver is None:
            ver = _gpu_nvlink(device)
            how = f"NVSwitch generation of the {device}" if ver else None
        if ver in _NVSWITCH_BY_NVLINK:
            return _link(raw, _NVSWITCH_BY_NVLINK[ver], how, count)
        return _no_link(raw, "NVSwitch without an NVLink version or a known GPU", "NVSwitch", count)
    if "nvlink" in t:
        if "c2c" in t:
            return _link(raw, "NVLink-C2C", "NVLink-C2C keyword", count)
        ver = _nvlink_version(t)
        if ver in _NVLINK:
            return _link(raw, _NVLINK[ver], f"NVLink version {ver}", count)
        ver = _gpu_nvlink(device)
        if ver in _NVLINK:
            return _link(raw, _NVLINK[ver], f"NVLink generation of the {device}", count)
        return _no_link(raw, "NVLink without a version or a known GPU", "NVLink", count)
    if re.search(r"pci[\s\-]?e|pci express", t):
        m = re.search(r"(?:gen|v|pcie|express)\s*(\d)(?:\.0)?", t)
        if m and int(m.group(1)) in (3, 4, 5):
            return _link(raw, f"PCIe {m.group(1)}.0 x16", f"PCIe generation {m.group(1)}", count)
        return _no_link(raw, "PCIe without a generation", "PCIe", count)
    if re.search(r"\bici\b|inter[\s\-]?chip", t) or "tpu" in t:
        for key, name in _TPU_ICI:
            if key in t.replace(" ", "") or (device and key in str(device).lower().replace(" ", "")):
                return _link(raw, name, f"TPU {key} ICI", count)
        m = re.search(r"tpu\s*v?(\d)", f"{t} {str(device or '').lower()}")
        if m and f"v{m.group(1)}" in dict(_TPU_ICI):
            return _link(raw, dict(_TPU_ICI)[f"v{m.group(1)}"], f"TPU v{m.group(1)} ICI", count)
        return _no_link(raw, "TPU ICI without a generation", "ICI", count)
    if rate_i is not None:
        # a rate alone names no technology: 200 Gb/s is HDR InfiniBand, 200 GbE or RoCE
        same = [n for n in (_ETH_BY_RATE.get(rate_i), _IB_BY_GEN.get(_IB_BY_RATE.get(rate_i, "")),
                            _ROCE_BY_RATE.get(rate_i)) if n]
        return NameMatch("interconnect", raw, None,
                         f"a rate ({rate_i} Gb/s) without a technology keyword is ambiguous",
                         tuple(same) or _closest("interconnect", body), count)
    return _no_link(raw, "no technology keyword (InfiniBand, RoCE, Ethernet, EFA, NVLink, "
                         "NVSwitch, PCIe, ICI, Omni-Path, Slingshot) recognised", None, count)


# ---------------------------------------------------------------------------------------
# systems and fabric descriptions
# ---------------------------------------------------------------------------------------

def _system_aliases() -> list[tuple[str, str]]:
    memo = _memo("system_aliases")
    if "pairs" not in memo:
        memo["pairs"] = _system_aliases_of(_cat())
    return memo["pairs"]


def _system_aliases_of(cat) -> list[tuple[str, str]]:
    pairs = [(_squash(a), name) for name, obj in cat.entries["system"].items()
             for a in (name, *obj.aliases)]
    return sorted({p for p in pairs if len(p[0]) >= 3}, key=lambda p: -len(p[0]))


def resolve_system(text: str, device: str | None = None) -> NameMatch:
    """Map a system name, or a text that contains one, to a catalog system.

    Parameters
    ----------
    text : str
        E.g. ``"AWS p3.16xlarge"``, ``"NVLink 3.0/NVSwitch within DGX A100"``.
    device : str, optional
        The run's device: a system name that needs the GPU to be one entry (``"DGX-1"`` is
        the P100 or the V100 DGX-1) is completed with it (``"DGX-1"`` + V100 ->
        ``"DGX-1 (V100)"``, the alias ``"DGX-1 V100"``).

    Returns
    -------
    NameMatch
        ``name`` (the catalog entry, or None when unmapped), ``how`` (why), and the closest
        names when nothing matched.

    Examples
    --------
    >>> resolve_system("AWS p3.16xlarge").name
    'p3.16xlarge'
    >>> resolve_system("NVLink 3.0/NVSwitch within DGX A100").name
    'DGX A100'
    >>> resolve_system("NVLink within DGX-1; multi-node", device="V100").name
    'DGX-1 (V100)'
    """
    raw = str(text)
    name, why, amb = _find("system", raw)
    if name:
        return NameMatch("system", raw, name, why)
    # inside a longer text: token-aligned, longest alias first
    tokens = re.findall(r"[0-9a-z]+", raw.lower())
    for i in range(len(tokens)):
        for j in range(len(tokens), i, -1):
            sq = "".join(tokens[i:j])
            for alias, sys_name in _system_aliases():
                if sq == alias:
                    return NameMatch("system", raw, sys_name, f"system name {' '.join(tokens[i:j])!r} in the text")
    if device:
        # "DGX-1" names a family whose GPU picks the entry: an alias equal to the words plus
        # the device's name ("DGX-1" + "V100" = alias "DGX-1 V100")
        devs = {_squash(device), _squash(re.sub(r"[\s\-_]*\d+\s*gb$", "", str(device), flags=re.I))}
        for i in range(len(tokens)):
            for j in range(len(tokens), i, -1):
                sq = "".join(tokens[i:j])
                if len(sq) < 3 or not re.search(r"[a-z]", sq):
                    continue
                hits = {name for alias, name in _system_aliases() for dev in devs if alias == sq + dev}
                if len(hits) == 1:
                    name = hits.pop()
                    return NameMatch("system", raw, name, f"system name {' '.join(tokens[i:j])!r} in the text, "
                                                          f"with the run's device {device}")
    return NameMatch("system", raw, None, "no catalog system named", amb or _closest("system", raw))


_CLAUSES = re.compile(r"\s*(?:,|;|\+|\band\b|\bplus\b|\bwith\b(?=\s+\d+\s*x))\s*", re.IGNORECASE)


def _clauses(text: str) -> list[str]:
    """Split at the separators of :data:`_CLAUSES` outside parentheses."""
    masked, depth = [], 0
    for ch in text:  # hide separators inside (...) by masking them
        depth += ch == "("
        depth -= ch == ")" and depth > 0
        masked.append("\0" if depth and ch in ",;+" else ch)
    out, start = [], 0
    m_text = "".join(masked)
    for m in _CLAUSES.finditer(m_text):
        if _depth_at(m_text, m.start()):
            continue
        out.append(text[start:m.start()])
        start = m.end()
    out.append(text[start:])
    return [c.strip() for c in out if c and c.strip()]


def _depth_at(text: str, pos: int) -> int:
    """Parenthesis depth at ``pos`` (words such as "and" inside (...) do not split)."""
    return max(text[:pos].count("(") - text[:pos].count(")"), 0)


def parse_fabric(text: str, device: str | None = None) -> Fabric:
    """Read a node's intra link, network and NIC count from one description.

    Parameters
    ----------
    text : str
        E.g. ``"NVLink 3.0/NVSwitch within DGX A100, 8x ConnectX-6 IB HDR 200 Gb/s per node"``,
        ``"8x V100 NVLink, 4x EDR InfiniBand"``, ``"p4d.24xlarge"``.
    device : str, optional
        The row's device (fixes a bare NVLink / NVSwitch generation).

    Returns
    -------
    Fabric
        ``unmapped_`` lists clauses that named nothing known, with the closest names.

    Examples
    --------
    >>> f = parse_fabric("8x V100 NVLink, 4x EDR InfiniBand")
    >>> f.intra_node, f.interconnect, f.nics_per_node
    ('NVLink 2', 'InfiniBand EDR', 4)
    """
    cat = _cat()
    raw = str(text)
    sysm = resolve_system(raw, device)
    system = sysm.name
    sys_obj = cat.get("system", system) if system else None
    dev = device or (sys_obj.device if sys_obj else None)
    intra = inter = None
    nics = None
    matches: list[NameMatch] = []
    unmapped: list[tuple[str, tuple[str, ...]]] = []
    for clause in _clauses(raw):
        # "8x V100 NVLink": a device count, not a NIC count
        dev_in_clause = None
        body, cnt = _strip_count(clause)
        first = body.split()[0] if body.split() else ""
        dm = resolve_device(first) if first else None
        if dm is not None and dm.ok and cnt is not None:
            dev_in_clause = dm.name
            dev = dev or dm.name
        m = resolve_interconnect(clause, dev)
        if not m.ok:
            # a clause that only names the system ("DGX A100") or a device is not a failure
            if resolve_system(clause).ok or dev_in_clause or resolve_device(clause).ok:
                continue
            unmapped.append((clause, m.candidates))
            matches.append(m)
            continue
        matches.append(m)
        scope = cat.get("interconnect", m.name).scope
        between = re.search(r"between nodes|inter[\s\-]?node|across nodes|per node|network", clause, re.I)
        if (scope in ("intra_node", "host") and not between) or \
                re.search(r"within|intra[\s\-]?node|inside", clause, re.I) and scope != "inter_node":
            intra = intra or m.name
        else:
            inter = inter or m.name
            if m.count is not None and not dev_in_clause:
                nics = m.count
    assumed = []
    if sys_obj is not None:
        if intra is None and sys_obj.intra_node:
            intra = sys_obj.intra_node
            assumed.append(f"intra-node link {intra} of system {system} (not stated in the text)")
        if inter is None and sys_obj.interconnect:
            inter = sys_obj.interconnect
            assumed.append(f"network {inter} of system {system} (not stated in the text)")
        if nics is None and inter == sys_obj.interconnect:
            nics = sys_obj.nics_per_node
            assumed.append(f"{nics} NIC(s) per node of system {system} (not stated in the text)")
    return Fabric(raw, intra, inter, nics, system, dev, tuple(matches), tuple(unmapped), tuple(assumed))


# ---------------------------------------------------------------------------------------
# precision
# ---------------------------------------------------------------------------------------

# (the table lives with the other framework facts in plaster_model.catalog.frameworks)
from .frameworks import FRAMEWORK_DEFAULT_PRECISION  # noqa: E402


def resolve_precision(text, framework: str | None = None, device: str | None = None) -> NameMatch:
    """Canonical precision of a free-text precision, with the framework default when none is stated.

    Parameters
    ----------
    text : str or None
        The precision as a table or log prints it (``"mixed (fp16)"``, ``"not stated"``).
    framework : str, optional
        The run's framework: its documented default precision when the text states none.
    device : str, optional
        The run's device (a TPU's default is bfloat16 matmuls).

    Returns
    -------
    NameMatch
        ``name`` (the catalog entry, or None when unmapped), ``how`` (why), and the closest
        names when nothing matched.

    Examples
    --------
    >>> resolve_precision("mixed (fp16)").name
    'mixed'
    >>> m = resolve_precision("not stated", framework="PyTorch 1.13"); (m.name, m.how)
    ('fp32', "not stated: PyTorch's default floating-point type is fp32")
    >>> resolve_precision("", framework="TensorRT").name is None
    True
    """
    from .objects import normalize_precision  # noqa: PLC0415

    raw = "" if text is None or (isinstance(text, float) and text != text) else str(text)
    prec = normalize_precision(raw, free_text=True)
    if prec != "not stated":
        return NameMatch("precision", raw, prec, "precision text")
    if device is not None:
        dev = _cat().find("device", str(device))
        if dev is not None and _cat().get("device", dev).kind == "tpu":
            # XLA on TPU runs matmuls at "DEFAULT" precision: bfloat16 multiplies, fp32
            # accumulation (JAX jax.default_matmul_precision / TensorFlow TPU docs).
            return NameMatch("precision", raw, "bf16",
                             "not stated: XLA's default matmul precision on a TPU is bfloat16")
    fw = str(framework or "").lower()
    hits = [(fw.find(k), k) for k in FRAMEWORK_DEFAULT_PRECISION if re.search(rf"\b{k}\b", fw)]
    if hits:
        key = min(hits)[1]
        shown = str(framework).split()[0] if framework else key
        return NameMatch("precision", raw, FRAMEWORK_DEFAULT_PRECISION[key],
                         f"not stated: {shown}'s default floating-point type is "
                         f"{FRAMEWORK_DEFAULT_PRECISION[key]}")
    return NameMatch("precision", raw, None,
                     "not stated, and the framework has no documented default"
                     + (f" ({framework})" if framework else ""), tuple(sorted({"fp32", "fp16", "mixed", "int8", "bf16", "fp8"})))


# ---------------------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------------------

_EXTENSIONS = re.compile(r"\.(onnx|engine|plan|trt|pb|pbtxt|prototxt|caffemodel|pt|pth|uff|"
                         r"tflite|h5|keras|savedmodel|json|log|txt|bin|xml|mlmodel)$", re.IGNORECASE)
#: Trailing tokens that describe a run or a file, never the architecture.
_RUN_TOKENS = re.compile(
    r"^(?:bs\d*|b\d+|batch\d*|n\d+|dynamic|static|dyn|fp32|fp16|int8|bf16|fp8|tf32|half|"
    r"float|float32|float16|mixed|amp|onnx|trt|tensorrt|engine|plan|caffe|pytorch|torch|tf|"
    r"tensorflow|keras|mxnet|opset\d+|op\d+|sim|simplified|optimized|opt|nchw|nhwc|"
    r"explicit|implicit|model|export(?:ed)?|infer(?:ence)?|deploy|\d+x\d+(?:x\d+)?)$",
    re.IGNORECASE)


def model_key(text: str) -> tuple[str, list[str]]:
    """The name left after the rule's stripping, and the tokens removed.

    >>> model_key("resnet50_bs_dynamic")
    ('resnet50', ['dynamic', 'bs'])
    >>> model_key("/models/resnet.onnx.engine")
    ('resnet', ['.engine', '.onnx'])
    """
    removed: list[str] = []
    name = re.split(r"[\\/]", str(text).strip())[-1]
    while True:
        m = _EXTENSIONS.search(name)
        if not m:
            break
        removed.append(m.group(0))
        name = name[:m.start()]
    tokens = [t for t in re.split(r"([_\-\s.]+)", name)]
    # tokens alternate word, separator, word ...; drop trailing run tokens
    words = tokens[0::2]
    seps = tokens[1::2]
    while len(words) > 1 and _RUN_TOKENS.match(words[-1] or "x"):
        removed.append(words.pop())
        if seps:
            seps.pop()
    out = words[0]
    for s, w in zip(seps, words[1:]):
        out += s + w
    return out, removed


def resolve_model(text: str, model_map: Mapping[str, str] | None = None) -> NameMatch:
    """Map a model name from a log or file name to a zoo model (see the module rules).

    Parameters
    ----------
    text : str
        E.g. ``"resnet50_bs_dynamic"``, ``"resnet50-caffe"``, ``"vgg16.onnx"``.
    model_map : mapping of str to str, optional
        ``{NAME: ZOO}`` overrides, tried first (NAME case-insensitive). A ZOO name that is not
        in the zoo is kept as given (for a model you pass to ``calibrate(models=...)``).

    Returns
    -------
    NameMatch
        ``name`` (the catalog entry, or None when unmapped), ``how`` (why), and the closest
        names when nothing matched.

    Examples
    --------
    >>> resolve_model("resnet50_bs_dynamic", {"resnet50_bs_dynamic": "ResNet-50 v1.5"}).name
    'ResNet-50 v1.5'
    >>> resolve_model("resnet50-caffe").name
    'ResNet-50'
    """
    raw = str(text)
    if model_map:
        low = {str(k).strip().lower(): v for k, v in model_map.items()}
        target = low.get(raw.strip().lower())
        if target is not None:
            zoo = _cat().find("model", target)
            return NameMatch("model", raw, zoo or str(target),
                             "model_map" + ("" if zoo else " (name not in the zoo; kept as given)"))
    name, why, amb = _find("model", raw)
    if name:
        return NameMatch("model", raw, name, why)
    stem = re.split(r"[\\/]", raw.strip())[-1]
    while _EXTENSIONS.search(stem):
        stem = _EXTENSIONS.sub("", stem)
    tried = [stem]
    key, removed = model_key(raw)
    if key != stem:
        tried.append(key)
    for cand in tried:
        name, why, amb2 = _find("model", cand)
        amb = amb or amb2
        if name:
            how = why if cand == raw else f"{why} after stripping {removed or 'the file extension'}"
            return NameMatch("model", raw, name, how)
    if amb:
        return NameMatch("model", raw, None, "ambiguous: several zoo models match", amb)
    return NameMatch("model", raw, None,
                     f"no zoo model matches {key!r} (pass model_map={{{raw!r}: ZOO_NAME}})",
                     _closest("model", key))
