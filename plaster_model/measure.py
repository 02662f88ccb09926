"""Runners that measure models on this machine: ``pm.measure.trtexec``, ``pm.measure.onnxruntime``.

A thin module over :mod:`plaster_model.io.runners`, where the runners live (one module per
runner, ``run_trtexec`` and ``run_onnxruntime``, so that no function hides its own module).

* :func:`trtexec` -- TensorRT's ``trtexec`` over an ONNX file, per batch size and precision;
* :func:`onnxruntime` -- onnxruntime on the CPU, for models built in code or read from a file.
"""
from .io.runners.run_onnxruntime import onnxruntime
from .io.runners.run_trtexec import trtexec

__all__ = ["trtexec", "onnxruntime"]
