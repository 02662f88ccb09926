"""Precisions per component of a served LLM: weights, activations (GEMM math), KV cache.

A precision argument is either one name (``"bf16"``, ``"fp8"``, ``"fp4"``/``"nvfp4"``,
``"int4"`` = int4 weight-only with bf16 math, ``"int8"``) or a mapping
``{"weights": ..., "activations": ..., "kv_cache": ..., "moe_weights": ...}``.
Unstated components follow the rules in :func:`resolve_serving_precision` (stated in the
prediction's assumptions).

The math runs at the device's peak for the activation precision when the catalog lists one;
otherwise a stated fallback: fp4 math on a device without an fp4 peak runs as weight-only
fp4 dequantised to fp8 math (Hopper has no FP4 tensor cores), fp8 without an fp8 peak as
bf16 math.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import ParameterError

__all__ = ["WEIGHT_BYTES", "ServingPrecision", "resolve_serving_precision", "math_peak"]

#: Stored bytes per weight of each weight format, block scales included: fp8 block scaling
#: keeps one fp32 scale per 128x128 block (4/16384 B); NVFP4 one fp8 scale per 16 values
#: (0.5 + 1/16 B, NVIDIA's NVFP4 format); MXFP4 one 8-bit scale per 32 (0.5 + 1/32 B, OCP
#: MX spec v1.0); int4 weight-only (AWQ/GPTQ) one fp16 scale per group of 128 (0.5 + 2/128 B).
WEIGHT_BYTES = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "fp8_block": 1.0 + 4.0 / 16384.0,
                "nvfp4": 0.5 + 1.0 / 16.0, "mxfp4": 0.5 + 1.0 / 32.0, "int4": 0.5 + 2.0 / 128.0}

#: Bytes per element of activations and KV-cache entries.
_ELEM_BYTES = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "fp4": 0.5 + 1.0 / 16.0}

# one name -> (weights, activations); the KV cache follows _KV_DEFAULT
_NAMED = {"bf16": ("bf16", "bf16"), "fp16": ("fp16", "fp16"), "fp8": ("fp8", "fp8"),
          "fp8_block": ("fp8_block", "fp8"), "fp4": ("nvfp4", "fp4"), "nvfp4": ("nvfp4", "fp4"),
          "mxfp4": ("mxfp4", "fp4"), "int4": ("int4", "bf16"), "int4_wo": ("int4", "bf16"),
          "int8": ("int8", "int8")}


@dataclass(frozen=True)
class ServingPrecision:
    """Formats of one served model: ``weights``, ``moe_weights``, ``activations`` (math), ``kv_cache``."""

    weights: str
    moe_weights: str
    activations: str
    kv_cache: str
    assumptions: tuple[str, ...] = ()

    @property
    def weight_bytes(self) -> float:
        """Bytes per dense weight [B]."""
        return WEIGHT_BYTES[self.weights]

    @property
    def moe_weight_bytes(self) -> float:
        """Bytes per routed-expert weight [B]."""
        return WEIGHT_BYTES[self.moe_weights]

    @property
    def kv_bytes(self) -> float:
        """Bytes per cached K or V element [B]."""
        return _ELEM_BYTES[self.kv_cache]

    @property
    def act_bytes(self) -> float:
        """Bytes per activation exchanged between GPUs [B] (bf16: the collectives run in 16 bits)."""
        return 2.0


def resolve_serving_precision(precision) -> ServingPrecision:
    """Component formats of `precision` (one name or a mapping), with the rules used stated.

    Rules: the MoE experts take the dense weights' format unless stated; the KV cache is
    fp8 when the math is fp8 or fp4 (TensorRT-LLM's, vLLM's and SGLang's fp8 recipes quantise
    it) and bf16 otherwise.

    Examples
    --------
    >>> p = resolve_serving_precision("fp4")
    >>> p.weights, p.activations, p.kv_cache, p.weight_bytes
    ('nvfp4', 'fp4', 'fp8', 0.5625)
    >>> resolve_serving_precision({"weights": "int4"}).activations
    'bf16'
    """
    notes = []
    if isinstance(precision, str):
        key = precision.strip().lower()
        if key not in _NAMED:
            raise ParameterError("precision", precision, f"one of {sorted(_NAMED)} or a mapping "
                                 "{'weights', 'activations', 'kv_cache', 'moe_weights'}")
        w, a = _NAMED[key]
        spec = {"weights": w, "activations": a}
    elif isinstance(precision, dict):
        bad = set(precision) - {"weights", "activations", "kv_cache", "moe_weights"}
        if bad:
            raise ParameterError("precision", precision, "keys among weights, activations, kv_cache, moe_weights")
        spec = {k: str(v).lower() for k, v in precision.items()}
        if "weights" not in spec:
            raise ParameterError("precision", precision, "a 'weights' entry")
        w = _NAMED.get(spec["weights"], (spec["weights"], None))[0]
        spec["weights"] = w
        if "activations" not in spec:
            spec["activations"] = _NAMED.get(w, (w, "bf16"))[1]
            notes.append(f"activations {spec['activations']} follow the {w} weights")
    else:
        raise ParameterError("precision", precision, "a precision name or a mapping")
    spec.setdefault("moe_weights", spec["weights"])
    if "kv_cache" not in spec:
        spec["kv_cache"] = "fp8" if spec["activations"] in ("fp8", "fp4") else "bf16"
        notes.append(f"KV cache in {spec['kv_cache']} (follows the math precision; not stated)")
    for comp, table in (("weights", WEIGHT_BYTES), ("moe_weights", WEIGHT_BYTES),
                        ("activations", _ELEM_BYTES), ("kv_cache", _ELEM_BYTES)):
        if spec[comp] not in table:
            raise ParameterError(f"precision[{comp!r}]", spec[comp], f"one of {sorted(table)}")
    return ServingPrecision(spec["weights"], spec["moe_weights"], spec["activations"], spec["kv_cache"],
                            tuple(notes))


def math_peak(device, activations: str) -> tuple[float, str, str | None]:
    """(peak FLOP/s, the precision it is the peak of, the fallback rule used or None) of `device`.

    fp4 math needs an ``fp4`` peak; without one it runs as fp8 math on dequantised weights
    (then bf16). fp8 without an fp8 peak runs as bf16. bf16 uses the tensor-core peak.

    Examples
    --------
    >>> import plaster_model as pm
    >>> math_peak(pm.load_device("H100"), "fp4")[1:]
    ('fp8', 'fp4 math: the device lists no fp4 peak; fp4 weights dequantised to fp8 math')
    """
    peaks = dict(device.peak_flops)
    order = {"fp4": ("fp4", "fp8", "bf16"), "fp8": ("fp8", "bf16"), "int8": ("int8", "bf16"),
             "bf16": ("bf16",), "fp16": ("fp16",)}[activations]
    for i, key in enumerate(order):
        if key in ("bf16", "fp16"):
            value = next((peaks[k] for k in (f"{key}_tensor", key) if k in peaks), None)
        else:
            value = peaks.get(key)
        if value:
            rule = None if i == 0 else (f"{activations} math: the device lists no {activations} peak; "
                                        f"{activations} weights dequantised to {key} math")
            return float(value), key, rule
    raise ParameterError("device", device.name, f"a device with a {activations} or bf16 peak")
