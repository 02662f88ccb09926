"""Frozen catalog objects: :class:`Device`, :class:`Interconnect`, :class:`System`,
:class:`Model` and :class:`Dataset`.

Users build them directly (``pm.Device(name=..., peak_flops={"fp32": "20 TFLOPS"}, ...)``)
or load them from the bundled YAML catalogs (:func:`plaster_model.load_device`). Every
quantity is converted to an SI float on construction, and validated once, here, so the
estimators never see a unit string or a negative bandwidth.
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, Mapping

from ..errors import CatalogError, ParameterError
from ..units import to_si

__all__ = [
    "Device", "Interconnect", "System", "Model", "Dataset",
    "PRECISIONS", "BYTES_PER_ELEMENT", "GRADIENT_PRECISION", "gradient_bytes_per_element", "PEAK_KEYS", "ENCODINGS", "PROCESS_NODES", "MEMORY_TECHNOLOGIES",
]

#: Precisions a user may ask for, and the order of catalog peak keys each one uses.
#: "fp16"/"bf16"/"mixed" use tensor-core (matrix-unit) peaks where the device has them:
#: that is what cuDNN/cuBLAS run half-precision training and inference on.
PRECISIONS: dict[str, tuple[str, ...]] = {
    "fp64": ("fp64",),
    "fp32": ("fp32",),
    "tf32": ("tf32",),
    "fp16": ("fp16_tensor", "fp16"),
    "bf16": ("bf16_tensor", "bf16"),
    "mixed": ("fp16_tensor", "bf16_tensor", "fp16", "bf16"),
    "int8": ("int8",),
    "fp8": ("fp8",),
    "fp4": ("fp4",),
}

#: Catalog keys of ``peak_flops``.
#: ``fp4`` is the 4-bit floating-point tensor rate (NVIDIA NVFP4, OCP MXFP4), dense.
PEAK_KEYS = ("fp64", "fp32", "tf32", "fp16", "fp16_tensor", "bf16", "bf16_tensor", "int8", "fp8", "fp4")

#: Fabrication processes a catalog device may name (``process``), spelled once so that two
#: devices on the same process compare equal. The foundry's own node names.
PROCESS_NODES = (
    "TSMC 28 nm", "TSMC 16 nm FinFET", "TSMC 12 nm FFN", "TSMC 7 nm N7", "TSMC 6 nm N6",
    "TSMC 5 nm N5", "TSMC 4N", "TSMC 4NP", "TSMC 3 nm N3P", "Samsung 8 nm 8N", "Intel 14 nm", "Intel 10 nm",
)

#: Device memory technologies a catalog device may name (``memory_technology``), spelled once.
#: "HBM" is for parts whose vendor says HBM without a generation (Google's TPUs).
MEMORY_TECHNOLOGIES = (
    "HBM", "HBM2", "HBM2e", "HBM3", "HBM3e", "GDDR5", "GDDR5X", "GDDR6", "GDDR6X",
    "LPDDR4x", "LPDDR5", "LPDDR5X", "DDR4", "DDR5", "MCDRAM",
)

#: Bytes per element of weights/activations for each precision. "mixed" keeps fp16
#: activations; its *gradients* are fp32 (see :data:`GRADIENT_PRECISION` and
#: :func:`gradient_bytes_per_element`, the one rule for the bytes a data-parallel exchange moves).
#: fp4 packs two elements per byte (0.5 B; NVFP4/MXFP4 block scales, 1 B per 16 or 32
#: elements, are not counted).
BYTES_PER_ELEMENT: dict[str, float] = {
    "fp64": 8, "fp32": 4, "tf32": 4, "fp16": 2, "bf16": 2, "mixed": 2, "int8": 1, "fp8": 1, "fp4": 0.5,
}

#: Precision of the gradients a data-parallel exchange reduces, where it differs from the
#: compute precision. ``mixed`` (automatic mixed precision) keeps fp32 master weights, so the
#: gradients accumulate in the parameters' dtype, fp32: PyTorch AMP (``torch.autocast``)
#: computes in fp16/bf16 but ``param.grad`` has the parameter's dtype, and
#: DistributedDataParallel all-reduces ``param.grad`` (fp32); Apex O1/O2 reduce fp32
#: master gradients by default; TensorFlow's ``mixed_float16`` policy keeps fp32 variables;
#: Megatron-LM reduces in fp32 with ``--accumulate-allreduce-grads-in-fp32``. A 16-bit
#: exchange (DDP's fp16 compression hook, Horovod ``Compression.fp16``) is an option:
#: ``gradient_precision="fp16"``. Pure ``fp16``/``bf16`` training reduces 16-bit gradients.
GRADIENT_PRECISION: dict[str, str] = {"mixed": "fp32"}


def gradient_bytes_per_element(precision: str, gradient_precision: str | None = None) -> float:
    """Bytes per gradient element a data-parallel exchange moves (the one rule).

    Parameters
    ----------
    precision : str
        Compute precision of the training run (any spelling :func:`normalize_precision` takes).
    gradient_precision : str, optional
        Precision of the reduced gradients when the run says so (wins).

    Returns
    -------
    float
        Bytes per gradient element: 4 for ``mixed`` (fp32 master gradients, see
        :data:`GRADIENT_PRECISION`), 2 for pure ``fp16``/``bf16``, else the precision's own.

    Examples
    --------
    >>> gradient_bytes_per_element("mixed"), gradient_bytes_per_element("bf16")
    (4.0, 2.0)
    >>> gradient_bytes_per_element("mixed", gradient_precision="fp16")
    2.0
    """
    if gradient_precision:
        return float(BYTES_PER_ELEMENT[normalize_precision(gradient_precision)])
    q = normalize_precision(precision)
    return float(BYTES_PER_ELEMENT[GRADIENT_PRECISION.get(q, q)])


#: Line encodings and their payload fraction (data bits / signalled bits).
ENCODINGS: dict[str, float] = {
    "none": 1.0,
    "8b/10b": 8 / 10,
    "64b/66b": 64 / 66,
    "128b/130b": 128 / 130,
    "128b/132b": 128 / 132,
    "242b/256b": 242 / 256,
}


def _positive(value: float, name: str, owner: str, allow_zero: bool = False) -> float:
    bad = (value < 0) if allow_zero else (value <= 0)
    if not math.isfinite(value) or bad:
        cond = "non-negative" if allow_zero else "positive"
        raise CatalogError(f"{owner}: {name} must be a finite, {cond} number, got {value!r}")
    return value


def _set(obj, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


def _as_tuple(value) -> tuple:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


#: What a measurement table writes when its source does not state the precision. Not a
#: precision a prediction can use; the measurement schema allows it besides :data:`PRECISIONS`.
NOT_STATED = "not stated"

# Exact spellings, looked up before the free-text rules below.
_PRECISION_ALIASES = {
    "float64": "fp64", "double": "fp64", "float32": "fp32", "single": "fp32",
    "float16": "fp16", "half": "fp16", "bfloat16": "bf16", "amp": "mixed",
    "mixed (fp16)": "mixed", "mixed precision": "mixed", "mixed-fp16": "mixed",
    "fp16 mixed": "mixed", "mixed_fp16": "mixed", "tensorfloat32": "tf32",
    "tensorfloat-32": "tf32", "nvfp4": "fp4", "mxfp4": "fp4", "float4": "fp4",
}

# Free text (log lines, CSV cells), checked in this order: "bfloat16 (mixed)" is bf16,
# "mixed (fp16)" is mixed, "FP32+FP16+INT8" is int8 (TensorRT may pick the lowest allowed
# precision per layer), "FP32+TF32" is tf32. TF32 is a precision of its own (10-bit
# mantissa, its own tensor-core peak), never folded into fp32.
_PRECISION_RULES: tuple[tuple[str, str], ...] = (
    (r"bfloat16|\bbf16\b", "bf16"),
    (r"\bint8\b|\bbest\b", "int8"),
    (r"\bfp8\b|float8", "fp8"),
    (r"\bfp4\b|\bnvfp4\b|\bmxfp4\b|float4", "fp4"),
    (r"mixed|\bamp\b", "mixed"),
    (r"\bfp16\b|float16|\bhalf\b", "fp16"),
    (r"\btf32\b|tensorfloat", "tf32"),
    (r"\bfp64\b|float64|\bdouble\b", "fp64"),
    (r"\bfp32\b|float32|\bfloat\b|\bsingle\b", "fp32"),
)


def normalize_precision(precision: str, *, free_text: bool = False) -> str:
    """Return the canonical precision name for ``precision`` (case-insensitive).

    The one precision normalizer of the package: catalogs, predictors and the measurement
    readers all use it. Accepts the names of :data:`PRECISIONS` and common spellings
    (``"FP16"``, ``"float16"``, ``"half"``, ``"amp"``, ``"mixed (fp16)"``, ``"bfloat16"``,
    ``"float32"``, ``"tensorfloat32"``); with ``free_text=True`` also text such as
    ``"FP32+FP16"`` or ``"bfloat16 (mixed; not stated in log)"`` (the first rule that
    matches wins), as measurement files write it.

    Parameters
    ----------
    precision : str
        The text to normalize.
    free_text : bool
        Read free text (the measurement readers): apply the rules and return
        :data:`NOT_STATED` for missing, empty or unrecognised text instead of raising (the
        readers keep the original text in ``precision_raw``). A user's argument is never
        read as free text: ``"fp12"`` must fail, not become something.

    Returns
    -------
    str
        A key of :data:`PRECISIONS` (``"tf32"`` stays ``"tf32"``), or :data:`NOT_STATED`.

    Raises
    ------
    ValueError
        For an unknown precision (unless `free_text`), listing the known ones.

    Examples
    --------
    >>> normalize_precision("TF32"), normalize_precision("FP32+FP16", free_text=True)
    ('tf32', 'fp16')
    >>> normalize_precision("fp12", free_text=True)
    'not stated'
    """
    import re  # noqa: PLC0415 - only this function needs it

    if not isinstance(precision, str):
        if free_text:
            return NOT_STATED
        raise ParameterError("precision", precision,
                             message=f"precision must be a string such as 'fp32', got {precision!r}")
    key = precision.strip().lower()
    key = _PRECISION_ALIASES.get(key, key)
    if key in PRECISIONS:
        return key
    if free_text:
        text = key.replace("_", " ")
        for pattern, name in _PRECISION_RULES:
            if re.search(pattern, text):
                return name
        return NOT_STATED
    raise ParameterError("precision", precision,
                         message=f"precision: unknown precision {precision!r}; expected one of {sorted(PRECISIONS)}")


@dataclass(frozen=True, eq=True)
class Device:
    """A compute device: a GPU die, a TPU device, a CPU socket.

    Parameters
    ----------
    name : str
        Catalog name, e.g. ``"V100"``.
    peak_flops : mapping of str to float or str
        Peak rates by catalog key (:data:`PEAK_KEYS`: ``fp64``, ``fp32``, ``tf32``, ``fp16``,
        ``fp16_tensor``, ``bf16``, ``bf16_tensor``, ``int8``, ``fp8``) [FLOP/s] or strings such
        as ``"15.7 TFLOPS"``. Integer ops (``"130 TOPS"``) count as FLOP/s.
    memory_bytes : float or str
        Device memory [B], e.g. ``"16 GB"``.
    memory_bandwidth : float or str
        Device memory bandwidth [B/s], e.g. ``"900 GB/s"``.
    power_w : float or str or None
        Board power (TDP) [W]. ``None`` where the vendor publishes none (Google's TPU
        v5e/v5p/Trillium chips): the device is still usable, energy estimates then say
        that the power is not published, and ``sources["power"]`` must say so.
    source : str
        Where the figures come from (datasheet, paper, measurement). Required.

    Other Parameters
    ----------------
    full_name, vendor, kind, form_factor, host_link, frameworks, notes, aliases,
    dies_per_board, board, sources, process, memory_technology :
        Descriptive fields; ``kind`` is ``"gpu"``, ``"tpu"``, ``"cpu"`` or ``"manycore"``;
        ``host_link`` names the interconnect to the host (for input transfers);
        ``memory_technology`` names the memory (:data:`MEMORY_TECHNOLOGIES`, ``"HBM3e"``);
        ``process`` names the chip's fabrication process, one of :data:`PROCESS_NODES`
        (devices on one process spend about the same energy per operation, which is what
        :func:`~plaster_model.estimators.power_capped_clock_ratio` compares);
        ``sources`` maps a field name to a source that overrides ``source`` for it.

    Examples
    --------
    >>> import plaster_model as pm
    >>> gpu = pm.Device(name="MyGPU", peak_flops={"fp32": "20 TFLOPS"},
    ...                 memory_bytes="24 GB", memory_bandwidth="1 TB/s", power_w="250 W",
    ...                 source="vendor datasheet")
    >>> gpu.peak("fp32")
    20000000000000.0
    """

    name: str
    peak_flops: Mapping[str, float]
    memory_bytes: float
    memory_bandwidth: float
    power_w: float | None
    source: str
    full_name: str = ""
    vendor: str = ""
    kind: str = "gpu"
    form_factor: str = ""
    host_link: str | None = None
    frameworks: tuple[str, ...] = ()
    notes: str = ""
    aliases: tuple[str, ...] = ()
    dies_per_board: int = 1
    board: str | None = None
    sources: Mapping[str, str] = field(default_factory=dict)
    process: str | None = None
    memory_technology: str | None = None

    def __post_init__(self):
        owner = f"device {self.name!r}"
        if self.memory_technology is not None and self.memory_technology not in MEMORY_TECHNOLOGIES:
            raise CatalogError(f"{owner}: memory_technology {self.memory_technology!r} is unknown; "
                             f"expected one of {list(MEMORY_TECHNOLOGIES)}")
        if self.process is not None and self.process not in PROCESS_NODES:
            close = difflib.get_close_matches(str(self.process), PROCESS_NODES, n=3, cutoff=0.4)
            raise CatalogError(f"{owner}: process {self.process!r} is not a known fabrication process"
                             + (f"; did you mean {close}?" if close else "")
                             + f" Known: {list(PROCESS_NODES)}")
        if not self.name or not isinstance(self.name, str):
            raise ParameterError("device", self.name,
                                 message=f"device: name must be a non-empty string, got {self.name!r}")
        if not self.source or not isinstance(self.source, str):
            raise ParameterError("source", self.source,
                                 message=f"{owner}: source is required (datasheet, paper or measurement)")
        peaks = {}
        if not isinstance(self.peak_flops, Mapping) or not self.peak_flops:
            raise ParameterError("peak_flops", self.peak_flops,
                                 message=f"{owner}: peak_flops must be a non-empty mapping, got {self.peak_flops!r}")
        for key, val in self.peak_flops.items():
            if key not in PEAK_KEYS:
                raise ParameterError("peak_flops", key,
                                     message=f"{owner}: peak_flops key {key!r} is unknown; expected one of {list(PEAK_KEYS)}")
            peaks[key] = _positive(to_si(val, "flop_rate", name=f"{owner} peak_flops.{key}"),
                                   f"peak_flops.{key}", owner)
        _set(self, "peak_flops", MappingProxyType(peaks))
        _set(self, "memory_bytes", _positive(to_si(self.memory_bytes, "bytes", name=f"{owner} memory_bytes"), "memory_bytes", owner))
        _set(self, "memory_bandwidth", _positive(to_si(self.memory_bandwidth, "bandwidth", name=f"{owner} memory_bandwidth"), "memory_bandwidth", owner))
        if self.power_w is None:
            # "not published" is a statement with a source, never a silent gap
            if not str((self.sources or {}).get("power", "")).strip():
                raise CatalogError(f"{owner}: power_w is None (not published); give the board power, or "
                                 "say why it is missing in sources['power'] (YAML: sources: {power: ...})")
        else:
            _set(self, "power_w", _positive(to_si(self.power_w, "power", name=f"{owner} power_w"),
                                            "power_w", owner))
        if self.kind not in ("gpu", "tpu", "cpu", "manycore", "accelerator"):
            raise ParameterError("kind", self.kind,
                                 message=f"{owner}: kind must be gpu, tpu, cpu, manycore or accelerator, got {self.kind!r}")
        if int(self.dies_per_board) < 1:
            raise ParameterError("dies_per_board", self.dies_per_board,
                                 message=f"{owner}: dies_per_board must be >= 1, got {self.dies_per_board!r}")
        _set(self, "frameworks", _as_tuple(self.frameworks))
        _set(self, "aliases", _as_tuple(self.aliases))
        _set(self, "sources", MappingProxyType(dict(self.sources or {})))

    def __hash__(self):
        return hash((self.name, tuple(sorted(self.peak_flops.items())), self.memory_bytes))

    # -- precision handling: the one place that maps a precision to a peak --------------
    @property
    def precisions(self) -> tuple[str, ...]:
        """Precisions this device has a peak for (names of :data:`PRECISIONS`)."""
        return tuple(p for p, keys in PRECISIONS.items() if any(k in self.peak_flops for k in keys))

    def peak_key(self, precision: str) -> str:
        """The ``peak_flops`` key used for ``precision`` (e.g. ``"fp16_tensor"`` for fp16 on V100).

        Raises
        ------
        ValueError
            When the device publishes no peak for that precision; the message lists the
            precisions it does support.
        """
        prec = normalize_precision(precision)
        for key in PRECISIONS[prec]:
            if key in self.peak_flops:
                return key
        raise ParameterError("precision", precision,
                             message=f"precision: device {self.name!r} has no published {prec} peak; it supports "
                                     f"{list(self.precisions)}")

    def peak(self, precision: str = "fp32") -> float:
        """Peak compute rate [FLOP/s] for ``precision`` (see :meth:`peak_key`)."""
        return self.peak_flops[self.peak_key(precision)]

    def __str__(self) -> str:
        """One line: name, peaks, memory, bandwidth, power (``repr`` keeps every field).

        >>> import plaster_model as pm
        >>> print(pm.load_device("V100"))
        V100: fp64 7.8 TFLOP/s, fp32 15.7 TFLOP/s, fp16 31.4 TFLOP/s, fp16_tensor 125 TFLOP/s; 16 GB at 900 GB/s; 300 W
        """
        from ..units import format_si

        peaks = ", ".join(f"{k} {format_si(v, 'FLOP/s')}" for k, v in self.peak_flops.items())
        return (f"{self.name}: {peaks}; {format_si(self.memory_bytes, 'B')} at "
                f"{format_si(self.memory_bandwidth, 'B/s')}; {self.power_w:g} W")


@dataclass(frozen=True, eq=True)
class Interconnect:
    """A link between devices or nodes.

    Bandwidths are per direction, per device port. The effective (payload) bandwidth is
    ``links × link_bandwidth``; where a link is described by its signalling rate, the
    payload rate is ``signalling_rate × encoding efficiency`` (e.g. InfiniBand FDR:
    56 Gb/s × 64/66 = 54.3 Gb/s = 6.79 GB/s).

    Parameters
    ----------
    name : str
        Catalog name, e.g. ``"InfiniBand FDR"``.
    bandwidth : float or str, optional
        Effective per-direction bandwidth of the whole port [B/s]. Computed from
        ``link_bandwidth`` or ``signalling_rate`` and ``encoding`` when omitted.
    latency_s : float or str
        One-way small-message latency α [s], e.g. ``"1.3 us"``.
    source : str
        Where the figures come from. Required.
    signalling_rate : float or str, optional
        Raw per-direction line rate of one link [B/s] (``"56 Gb/s"``).
    encoding : str
        Line encoding (:data:`ENCODINGS`), default ``"none"``.
    link_bandwidth : float or str, optional
        Payload bandwidth of one link per direction [B/s].
    links : int
        Number of links aggregated per device (NVLink 2 on V100: 6).
    scope : str
        ``"intra_node"``, ``"inter_node"`` or ``"host"``.

    Examples
    --------
    >>> import plaster_model as pm
    >>> ib = pm.Interconnect(name="my IB", signalling_rate="56 Gb/s", encoding="64b/66b",
    ...                      latency_s="1 us", source="example")
    >>> round(ib.bandwidth / 1e9, 3)   # GB/s
    6.788
    """

    name: str
    latency_s: float
    source: str
    bandwidth: float | None = None
    signalling_rate: float | None = None
    encoding: str = "none"
    link_bandwidth: float | None = None
    links: int = 1
    scope: str = "inter_node"
    full_name: str = ""
    notes: str = ""
    aliases: tuple[str, ...] = ()
    sources: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self):
        owner = f"interconnect {self.name!r}"
        if not self.name or not isinstance(self.name, str):
            raise ParameterError("interconnect", self.name,
                                 message=f"interconnect: name must be a non-empty string, got {self.name!r}")
        if not self.source:
            raise ParameterError("source", self.source, message=f"{owner}: source is required")
        if self.encoding not in ENCODINGS:
            raise CatalogError(f"{owner}: encoding {self.encoding!r} is unknown; expected one of {list(ENCODINGS)}")
        if not isinstance(self.links, int) or self.links < 1:
            raise ParameterError("links", self.links,
                                 message=f"{owner}: links must be a positive integer, got {self.links!r}")
        if self.scope not in ("intra_node", "inter_node", "host"):
            raise ParameterError("scope", self.scope,
                                 message=f"{owner}: scope must be intra_node, inter_node or host, got {self.scope!r}")
        sig = link = bw = None
        if self.signalling_rate is not None:
            sig = _positive(to_si(self.signalling_rate, "bandwidth", name=f"{owner} signalling_rate"), "signalling_rate", owner)
        if self.link_bandwidth is not None:
            link = _positive(to_si(self.link_bandwidth, "bandwidth", name=f"{owner} link_bandwidth"), "link_bandwidth", owner)
        elif sig is not None:
            link = sig * ENCODINGS[self.encoding]
        if self.bandwidth is not None:
            bw = _positive(to_si(self.bandwidth, "bandwidth", name=f"{owner} bandwidth"), "bandwidth", owner)
        elif link is not None:
            bw = link * self.links
        else:
            raise CatalogError(f"{owner}: give bandwidth, link_bandwidth or signalling_rate")
        if link is None:
            link = bw / self.links
        if sig is not None and link > sig * (1 + 1e-9):
            raise CatalogError(
                f"{owner}: link_bandwidth {link:.4g} B/s exceeds the signalling rate {sig:.4g} B/s"
            )
        _set(self, "signalling_rate", sig)
        _set(self, "link_bandwidth", link)
        _set(self, "bandwidth", bw)
        _set(self, "latency_s", _positive(to_si(self.latency_s, "time", name=f"{owner} latency_s"), "latency_s", owner, allow_zero=True))
        _set(self, "aliases", _as_tuple(self.aliases))
        _set(self, "sources", MappingProxyType(dict(self.sources or {})))

    def __hash__(self):
        return hash((self.name, self.bandwidth, self.latency_s))


@dataclass(frozen=True, eq=True)
class System:
    """A server design: devices per node, the intra-node link and the network card(s).

    Parameters
    ----------
    name : str
        e.g. ``"DGX-1 (V100)"``.
    device : str
        Catalog name of the device.
    devices_per_node : int
        Devices in one server.
    intra_node : str
        Interconnect between devices of a node (``"NVLink 2"``).
    interconnect : str or None
        Network between nodes (``"InfiniBand EDR"``), or None for a single box.
    nics_per_node : int
        Network ports per node sharing the inter-node traffic.
    source : str
        Where the description comes from.
    scale_up_domain : int, optional
        Devices joined by the ``intra_node`` (scale-up) fabric: NVLink/NVSwitch, Infinity
        Fabric, TPU ICI. Default ``devices_per_node`` (an 8-GPU server); larger where the
        fabric leaves the node: 72 in a GB200/GB300 NVL72 rack (18 trays of 4 GPUs), 256
        chips in a TPU v5e/Trillium pod, 8960 in a TPU v5p pod. A whole number of nodes.
        A collective whose group fits in the domain runs on ``intra_node``; a larger group
        crosses ``interconnect``.

    Examples
    --------
    >>> import plaster_model as pm
    >>> s = pm.load_system("GB200 NVL72")
    >>> s.devices_per_node, s.scale_up_domain
    (4, 72)
    >>> pm.load_system("DGX H100").scale_up_domain   # default: one node
    8
    """

    name: str
    device: str
    devices_per_node: int
    intra_node: str | None
    interconnect: str | None
    source: str
    nics_per_node: int = 1
    full_name: str = ""
    notes: str = ""
    aliases: tuple[str, ...] = ()
    scale_up_domain: int | None = None

    def __post_init__(self):
        owner = f"system {self.name!r}"
        if not self.source:
            raise ParameterError("source", self.source, message=f"{owner}: source is required")
        for attr in ("devices_per_node", "nics_per_node"):
            v = getattr(self, attr)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise CatalogError(f"{owner}: {attr} must be a positive integer, got {v!r}")
        dom = self.devices_per_node if self.scale_up_domain is None else self.scale_up_domain
        if isinstance(dom, bool) or not isinstance(dom, int) or dom < 1:
            raise CatalogError(f"{owner}: scale_up_domain must be a positive integer (devices on the "
                             f"scale-up fabric), got {self.scale_up_domain!r}")
        if dom % self.devices_per_node:
            raise CatalogError(f"{owner}: scale_up_domain={dom} must be a whole number of nodes "
                             f"(a multiple of devices_per_node={self.devices_per_node})")
        _set(self, "scale_up_domain", dom)
        _set(self, "aliases", _as_tuple(self.aliases))


@dataclass(frozen=True, eq=True)
class Model:
    """A neural network's workload figures.

    ``fwd_flops`` always counts a multiply-add as **two** FLOPs (FLOPs = 2 × MACs), the
    convention of device peak FLOP/s. Many papers (ResNet, VGG, the HPE slides) print
    multiply-adds and call them FLOPs; give such figures with ``flop_convention="macs"``
    and they are doubled here. ``fwd_macs`` is then the printed figure.

    Parameters
    ----------
    name : str
        Model name.
    params : int
        Number of trainable parameters.
    fwd_flops : float or str
        Forward-pass work per sample at batch 1 [FLOP], in the convention given by
        ``flop_convention``.
    flop_convention : {"flops", "macs"}
        ``"flops"``: ``fwd_flops`` already counts 2 FLOPs per multiply-add.
        ``"macs"``: ``fwd_flops`` counts multiply-adds; it is doubled on construction.
    source : str
        Where the figures come from.
    input_shape : tuple of int
        Shape of one sample (without the batch dimension).
    activation_bytes_per_sample : float or str, optional
        Training activation memory per sample at fp32 [B] (for memory-fit checks).
    accuracy : mapping, optional
        ``{precision: {metric: value}}``, e.g. ``{"fp32": {"top1": 73.11}}``.
    fully_connected : sequence of (int, int), optional
        ``(inputs, outputs)`` of each fully connected layer in order, e.g. VGG-16's
        ``[(25088, 4096), (4096, 4096), (4096, 1000)]`` (used by
        :func:`plaster_model.summa_layers`).
    family : str, optional
        Architecture family (``"resnet"``, ``"vgg"``, ``"efficientnet"``, ``"vit"``,
        ``"bert"``, ``"gpt"``, ...).
    seq_len : int, optional
        For sequence models: the tokens one *sample* means (``fwd_flops`` is per sequence of
        this length; attention work grows with its square).
    transformer : TransformerConfig, optional
        The architecture of a transformer (:class:`plaster_model.catalog.transformer.TransformerConfig`):
        its operator table, KV cache and parallel layouts are derived from it
        (:func:`plaster_model.estimators.transformer.transformer_operators`).
    kernels : int, optional
        Operators of one forward pass that launch work on the device (the non-view nodes of
        the model's ONNX graph: convolutions, normalizations, activations, pooling, ...). A
        framework's per-batch cost grows with it (each operator is dispatched and launched
        on its own); the calibration fits a launch cost per operator and framework
        (:class:`plaster_model.Calibration`).

    Examples
    --------
    >>> import plaster_model as pm
    >>> m = pm.Model(name="toy", params=1_000_000, fwd_flops="0.5 GFLOP",
    ...              flop_convention="macs", source="hand count")
    >>> m.fwd_flops, m.fwd_macs
    (1000000000.0, 500000000.0)
    """

    name: str
    params: int
    fwd_flops: float
    source: str
    flop_convention: str = "flops"
    full_name: str = ""
    task: str = ""
    input_shape: tuple[int, ...] = ()
    activation_bytes_per_sample: float | None = None
    accuracy: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    accuracy_records: tuple[Mapping[str, Any], ...] = ()
    reported_flops: float | None = None
    notes: str = ""
    aliases: tuple[str, ...] = ()
    layers: Any = field(default=None, compare=False, repr=False)
    sources: Mapping[str, str] = field(default_factory=dict)
    fully_connected: tuple[tuple[int, int], ...] = ()
    family: str = ""
    seq_len: int | None = None
    kernels: int | None = None
    transformer: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        owner = f"model {self.name!r}"
        if self.kernels is not None and (isinstance(self.kernels, bool) or not isinstance(self.kernels, int)
                                         or self.kernels < 1):
            raise ParameterError("kernels", self.kernels,
                                 message=f"{owner}: kernels must be a positive integer (operators per forward pass), "
                                         f"got {self.kernels!r}")
        if not isinstance(self.family, str):
            raise ParameterError("family", self.family,
                                 message=f"{owner}: family must be a string such as 'resnet', got {self.family!r}")
        if self.seq_len is not None and (isinstance(self.seq_len, bool) or not isinstance(self.seq_len, int)
                                         or self.seq_len < 1):
            raise ParameterError("seq_len", self.seq_len,
                                 message=f"{owner}: seq_len must be a positive integer (tokens per sample), "
                                         f"got {self.seq_len!r}")
        if not self.source:
            raise ParameterError("source", self.source, message=f"{owner}: source is required")
        if isinstance(self.params, bool) or not isinstance(self.params, (int, float)) or self.params <= 0 \
                or float(self.params) != int(self.params):
            raise ParameterError("params", self.params,
                                 message=f"{owner}: params must be a positive integer count, got {self.params!r}")
        _set(self, "params", int(self.params))
        if self.flop_convention not in ("flops", "macs"):
            raise ParameterError("flop_convention", self.flop_convention,
                                 message=f"{owner}: flop_convention must be 'flops' (2 per multiply-add) or 'macs' "
                                         f"(1 per multiply-add), got {self.flop_convention!r}")
        reported = _positive(to_si(self.fwd_flops, "flops", name=f"{owner} fwd_flops"), "fwd_flops", owner)
        _set(self, "reported_flops", reported)
        _set(self, "fwd_flops", reported * (2.0 if self.flop_convention == "macs" else 1.0))
        if self.activation_bytes_per_sample is not None:
            _set(self, "activation_bytes_per_sample", _positive(
                to_si(self.activation_bytes_per_sample, "bytes", name=f"{owner} activation_bytes_per_sample"),
                "activation_bytes_per_sample", owner))
        _set(self, "input_shape", tuple(int(d) for d in (self.input_shape or ())))
        _set(self, "accuracy", MappingProxyType({k: MappingProxyType(dict(v)) for k, v in (self.accuracy or {}).items()}))
        _set(self, "accuracy_records", tuple(MappingProxyType(dict(r)) for r in self.accuracy_records))
        _set(self, "aliases", _as_tuple(self.aliases))
        _set(self, "sources", MappingProxyType(dict(self.sources or {})))
        fc = tuple(tuple(pair) for pair in (self.fully_connected or ()))
        if any(len(pair) != 2 or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in pair)
               for pair in fc):
            raise ParameterError("fully_connected", self.fully_connected,
                                 message=f"{owner}: fully_connected must be (inputs, outputs) pairs of positive "
                                         f"integers, got {self.fully_connected!r}")
        _set(self, "fully_connected", fc)

    def __hash__(self):
        return hash((self.name, self.params, self.fwd_flops))

    @classmethod
    def from_onnx(cls, model_or_path, batch=1, name=None, **kwargs) -> "Model":
        """Build a model from an ONNX file or ``onnx.ModelProto`` (needs the ``[onnx]`` extra).

        Runs ONNX shape inference and counts MACs, FLOPs (2 × MACs for Conv/Gemm/MatMul),
        parameters and activation bytes per node; the per-layer table is in ``layers``.
        See :func:`plaster_model.onnx_import.model_from_onnx`.

        Parameters
        ----------
        model_or_path : str, path or onnx.ModelProto
        batch : int
            Batch size substituted for a symbolic batch dimension.
        name : str, optional
            Model name (default: the graph name).

        Returns
        -------
        Model
            ``fwd_flops`` per sample [FLOP], ``activation_bytes_per_sample`` [B].

        Examples
        --------
        >>> import plaster_model as pm
        >>> from plaster_model.onnx_builders import tiny_mlp
        >>> m = pm.Model.from_onnx(tiny_mlp())
        >>> m.params                            # 256·512 + 512·128
        196608
        """
        from ..onnx_import import _from_onnx

        return _from_onnx(cls, model_or_path, batch=batch, name=name, **kwargs)

    @classmethod
    def from_hf_config(cls, path_or_dict, name: str | None = None, seq_len: int | None = None,
                       **kwargs) -> "Model":
        """Build a transformer from a Hugging Face ``config.json`` (a path or its dict), read locally.

        ``params`` is the total parameter count (tied embeddings once; for a mixture of experts
        all experts) and ``fwd_flops`` the forward FLOPs of one sequence of ``seq_len`` tokens
        with every query attending all ``seq_len`` keys (the convention of PaLM's and Megatron's
        FLOP counts); ``transformer`` carries the architecture for the operator-level estimators.

        Parameters
        ----------
        path_or_dict : str, os.PathLike or mapping
            The config (see :meth:`plaster_model.catalog.transformer.TransformerConfig.from_hf_config`).
        name : str, optional
            Model name (default: the config's ``_name_or_path`` or its ``model_type``).
        seq_len : int, optional
            Tokens of one sample (default 2048, stated in ``notes``).
        **kwargs
            Other :class:`Model` fields (``source``, ``aliases``, ``accuracy``, ...).

        Returns
        -------
        Model

        Examples
        --------
        >>> import plaster_model as pm
        >>> m = pm.Model.from_hf_config({"model_type": "llama", "hidden_size": 4096, "num_hidden_layers": 32,
        ...     "num_attention_heads": 32, "num_key_value_heads": 8, "intermediate_size": 14336,
        ...     "vocab_size": 128256, "tie_word_embeddings": False}, name="Llama-3.1-8B", seq_len=8192)
        >>> m.params                                  # the published num_parameters()
        8030261248
        """
        from .transformer import TransformerConfig, transformer_model_fields

        cfg = path_or_dict if isinstance(path_or_dict, TransformerConfig) else \
            TransformerConfig.from_hf_config(path_or_dict, name=name)
        fields_ = transformer_model_fields(cfg, seq_len)
        fields_.update(kwargs)
        return cls(name=name or cfg.name, **fields_)

    def to_yaml(self) -> str:
        """A ``model_zoo.yaml`` entry for this model (text), loadable by :func:`plaster_model.load_catalog`
        (the catalog's one serializer, :func:`plaster_model.catalog.serialize.to_yaml`)."""
        from .serialize import to_yaml

        return to_yaml(self)

    @property
    def fwd_macs(self) -> float:
        """Forward multiply-accumulates per sample (= ``fwd_flops / 2``) [MAC]."""
        return self.fwd_flops / 2.0

    def size_bytes(self, precision: str = "fp32") -> float:
        """Bytes of the weights at ``precision`` [B] (params × bytes per element)."""
        return float(self.params * BYTES_PER_ELEMENT[normalize_precision(precision)])

    def accuracy_for(self, precision: str = "fp32", metric: str = "top1"):
        """Published accuracy for ``precision`` and ``metric`` [%], or None when not published."""
        return self.accuracy.get(normalize_precision(precision), {}).get(metric)


@dataclass(frozen=True, eq=True)
class Dataset:
    """A training dataset: a name and its number of training samples."""

    name: str
    train_samples: int
    source: str
    full_name: str = ""
    notes: str = ""
    aliases: tuple[str, ...] = ()

    def __post_init__(self):
        if not isinstance(self.train_samples, int) or isinstance(self.train_samples, bool) or self.train_samples < 1:
            raise CatalogError(f"dataset {self.name!r}: train_samples must be a positive integer, got {self.train_samples!r}")
        if not self.source:
            raise CatalogError(f"dataset {self.name!r}: source is required")
        _set(self, "aliases", _as_tuple(self.aliases))


def field_names(cls) -> set[str]:
    """Names of the constructor fields of a catalog dataclass."""
    return {f.name for f in fields(cls)}
