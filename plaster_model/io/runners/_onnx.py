"""Small helpers shared by the runners: load an ONNX model, read its inputs, count its work."""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["load_onnx", "graph_inputs", "model_for", "onnx_name"]

#: ONNX TensorProto element type -> (numpy dtype name, schema precision).
ELEM_TYPES = {1: ("float32", "fp32"), 10: ("float16", "fp16"), 16: ("bfloat16", "bf16"),
              11: ("float64", "fp64"), 3: ("int8", "int8"), 2: ("uint8", "int8"),
              6: ("int32", None), 7: ("int64", None), 9: ("bool", None)}


def load_onnx(model_or_path):
    """An ``onnx.ModelProto`` from a ModelProto, a path or serialized bytes."""
    try:
        import onnx
    except ImportError as exc:
        raise ImportError("reading ONNX models needs the 'onnx' package: "
                          "pip install 'plaster_model[measure]'") from exc
    if hasattr(model_or_path, "graph") and not isinstance(model_or_path, (str, bytes, bytearray, os.PathLike)):
        return model_or_path
    if isinstance(model_or_path, (str, os.PathLike)) and not Path(model_or_path).is_file():
        raise FileNotFoundError(f"ONNX model not found: {os.fspath(model_or_path)!r}")
    from ...onnx_import import _load  # one loader: undecodable bytes are a ParseError

    return _load(model_or_path)[0]


def graph_inputs(model) -> list[tuple[str, list, int]]:
    """Real inputs (not initializers): ``[(name, dims, elem_type)]``; a dim is an int, a
    symbol string, or None."""
    inits = {i.name for i in model.graph.initializer}
    out = []
    for vi in model.graph.input:
        if vi.name in inits:
            continue
        t = vi.type.tensor_type
        dims = []
        for d in t.shape.dim:
            if d.HasField("dim_value"):
                dims.append(int(d.dim_value))
            elif d.HasField("dim_param"):
                dims.append(d.dim_param)
            else:
                dims.append(None)
        out.append((vi.name, dims, int(t.elem_type)))
    if not out:
        from ...errors import ParseError

        raise ParseError("the ONNX model has no graph input")
    return out


def onnx_name(model, path=None, name=None) -> str:
    """Model name: ``name``, else the graph name, else the file stem."""
    if name:
        return str(name)
    if getattr(model.graph, "name", ""):
        return model.graph.name
    if path is not None and isinstance(path, (str, os.PathLike)):
        return Path(path).stem
    return "onnx_model"


def model_for(model, name):
    """A :class:`~plaster_model.Model` with the FLOPs of the ONNX graph (batch 1), or None
    when the graph cannot be counted (the rows then need ``models=`` at calibration)."""
    try:
        from ...onnx_import import model_from_onnx
        return model_from_onnx(model, batch=1, name=name)
    except Exception:  # noqa: BLE001 - counting is a convenience, never fatal for measuring
        return None


def add_model_columns(df, model):
    """Write the model's work into the rows (``model_fwd_flops`` [FLOP per sample],
    ``model_params``), so the table is self-describing for
    :func:`plaster_model.calibrate` even when the model is not in the zoo."""
    if model is not None:
        df["model_fwd_flops"] = float(model.fwd_flops)
        df["model_params"] = float(model.params)
    return df
