"""Operator tables of zoo models, from their graphs built in code (for the step model).

:func:`operator_layers` gives a model's layer table at batch 1 with a ``groups`` column
(convolution groups, read from the graph's ``Conv`` nodes), for
:func:`plaster_model.estimators.step.operator_table`. Zoo models built in code
(:data:`~plaster_model.model_builders.SPECS`) use their own graphs; the hand-written zoo
entries use the graph of the same architecture named in :data:`GRAPH_OF` (the entry's
``sources.kernels`` names the same one). Models with neither return ``None``: the step model
then knows their FLOPs only.

Examples
--------
>>> t = operator_layers("ResNet-50")
>>> int((t["op_type"] == "Conv").sum()), int(t["groups"].max())
(53, 1)
"""
from __future__ import annotations

import functools
import gzip
import json
from pathlib import Path

__all__ = ["GRAPH_OF", "OPERATOR_TABLES", "operator_layers", "operator_tables", "roofline_factor"]

#: The operator tables of every zoo model with a graph, stored by ``scripts/make_model_zoo.py``
#: (building the graphs takes seconds; reading this file, milliseconds). A model missing
#: from it is built on demand.
OPERATOR_TABLES = Path(__file__).with_name("operator_tables.json.gz")

#: Layer-table columns the step model reads (``estimators.step.operator_table``).
_COLUMNS = ("op_type", "kind", "flops", "params", "input_bytes", "output_bytes", "bytes",
            "groups", "kernel", "stride")

#: Hand-written zoo entries and the code-built architecture whose operators they share.
GRAPH_OF = {
    "ResNet-50": ("resnet", "resnet", {"depth": 50}),
    "ResNet-50 v1.5": ("resnet", "resnet", {"depth": 50}),
    "ResNet-101": ("resnet", "resnet", {"depth": 101}),
    "ResNet-152": ("resnet", "resnet", {"depth": 152}),
    "VGG-16": ("vgg", "vgg", {"depth": 16}),
    "VGG-19": ("vgg", "vgg", {"depth": 19}),
    "AlexNet": ("vgg", "alexnet", {}),
    "GoogleNet": ("inception", "googlenet", {}),
    "Inception-v3": ("inception", "inception_v3", {}),
}


def _conv_attrs(proto) -> dict:
    """``{node name: (groups, square kernel size or 0, stride or 0)}`` of the Conv nodes."""
    out = {}
    for node in proto.graph.node:
        if node.op_type == "Conv":
            a = {x.name: x for x in node.attribute}
            g = int(a["group"].i) if "group" in a else 1
            ks = list(a["kernel_shape"].ints) if "kernel_shape" in a else []
            st = list(a["strides"].ints) if "strides" in a else [1]
            k = ks[0] if ks and all(v == ks[0] for v in ks) else 0
            s = st[0] if st and all(v == st[0] for v in st) else 0
            out[node.name] = (g, k, s)
    return out


@functools.lru_cache(maxsize=1)
def _stored() -> dict:
    try:
        with gzip.open(OPERATOR_TABLES, "rt", encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def operator_tables() -> dict:
    """``{model name: {column: list}}`` of every model with a graph, built now (what
    ``scripts/make_model_zoo.py`` stores in :data:`OPERATOR_TABLES`)."""
    from . import SPECS
    out = {}
    for name in sorted(set(SPECS) | set(GRAPH_OF)):
        t = _build(name)
        if t is not None:
            out[name] = {c: [v.item() if hasattr(v, "item") else v for v in t[c]] for c in _COLUMNS}
    return out


@functools.lru_cache(maxsize=None)
def operator_layers(name: str):
    """Layer table (batch 1) of zoo model ``name`` with ``groups``, ``kernel`` and ``stride``
    columns (of its convolutions), or None: read from :data:`OPERATOR_TABLES`, else built.

    Cached per process; the caller must not modify the frame.
    """
    stored = _stored().get(name)
    if stored is not None:
        import pandas as pd
        return pd.DataFrame(stored)
    return _build(name)


def _build(name: str):
    import importlib

    from . import SPECS
    try:
        if name in SPECS:
            proto = SPECS[name].builder()
        elif name in GRAPH_OF:
            module, fn, kw = GRAPH_OF[name]
            proto = getattr(importlib.import_module(f".{module}", __package__), fn)(**kw)
        else:
            return None
    except ImportError:   # onnx not installed
        return None
    from ..onnx_import import onnx_layer_table
    t = onnx_layer_table(proto, 1)
    c = _conv_attrs(proto)
    t["groups"] = [c.get(layer, (1, 0, 0))[0] for layer in t["layer"]]
    t["kernel"] = [c.get(layer, (1, 0, 0))[1] for layer in t["layer"]]
    t["stride"] = [c.get(layer, (1, 0, 0))[2] for layer in t["layer"]]
    return t


@functools.lru_cache(maxsize=4096)
def _ratio(name, layers_id, device, precision: str, training: bool, fused: bool = False) -> float:
    from ..catalog.objects import BYTES_PER_ELEMENT
    from ..estimators.data_parallel import TRAINING_FLOPS_FACTOR
    from ..estimators.step import class_rates, operator_table, roofline_ratio

    layers = operator_layers(name) if layers_id is None else _USER_LAYERS[layers_id]
    s = BYTES_PER_ELEMENT[precision]
    ops = operator_table(layers, training=training, weight_bytes_per_element=2 if s == 2 else 4, fused=fused)
    # the base counts every forward FLOP, fused or not: the ratio is of the model's FLOPs
    return float(roofline_ratio(ops, class_rates(device, precision), device.memory_bandwidth,
                                base_flops=float(layers["flops"].sum()),
                                bytes_per_element=s,
                                flops_factor=TRAINING_FLOPS_FACTOR if training else 1.0))


_USER_LAYERS: dict = {}

#: Inference engines that run a fused graph (normalisation folded, epilogue activations).
FUSING_ENGINES = ("tensorrt", "onnxruntime")


def roofline_factor(model, device, precision: str, phase: str = "training", engine: str | None = None) -> float:
    """Large-batch per-operator roofline ratio of ``model`` on ``device`` (see
    :func:`plaster_model.estimators.step.roofline_ratio`), 1.0 when the model's operators
    are unknown (no graph, no layer table: its FLOPs are all the step model knows).
    Inference on a fusing engine (``engine`` ``"tensorrt"`` or ``"onnxruntime"``) runs the
    fused graph (``operator_table(fused=True)``).

    Examples
    --------
    >>> import plaster_model as pm
    >>> r = roofline_factor(pm.load_model("ResNet-50"), pm.load_device("V100"), "mixed")
    >>> 2.5 < r < 3.5    # BatchNorm/ReLU/adds are memory-bound against 125 TFLOPS tensor cores
    True
    """
    from ..catalog.objects import normalize_precision

    prec = normalize_precision(precision)
    layers = getattr(model, "layers", None)
    lid = None
    if layers is not None and {"op_type", "kind", "flops", "input_bytes", "output_bytes", "bytes"} <= set(layers.columns):
        lid = id(layers)
        _USER_LAYERS[lid] = layers
    elif operator_layers(getattr(model, "name", model)) is None:
        return 1.0
    try:
        r = _ratio(getattr(model, "name", model), lid, device, prec, phase == "training",
                   phase != "training" and engine in FUSING_ENGINES)
    except (ValueError, KeyError):
        return 1.0
    return r if r == r and r > 0 else 1.0
