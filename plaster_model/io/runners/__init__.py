"""Runners that measure models on this machine and return measurement rows.

Also reachable as :mod:`plaster_model.measure` (``pm.measure.trtexec``, ``pm.measure.onnxruntime``).

* :func:`trtexec` -- TensorRT's ``trtexec`` over an ONNX file, per batch size and precision
  (the TensorRT Python API when ``trtexec`` is not installed);
* :func:`onnxruntime` -- onnxruntime on the CPU, for models built in code
  (:mod:`plaster_model.onnx_builders`) or read from a file.

Both return a DataFrame in the measurement schema
(:data:`plaster_model.io.readers.MEASUREMENT_COLUMNS`), ready for
:func:`plaster_model.calibrate`, with two extra columns, ``model_fwd_flops`` [FLOP per sample]
and ``model_params``, counted from the ONNX graph: the calibration builds a
:class:`~plaster_model.Model` from them when the model is not in the zoo.

>>> import plaster_model as pm
>>> from plaster_model.onnx_builders import tiny_cnn
>>> df = pm.measure.onnxruntime(tiny_cnn(), batch_sizes=[1, 4, 16], n_runs=5)
>>> sorted(set(df["metric"]))
['latency_ms', 'throughput_img_s']
>>> cal = pm.calibrate(df, n_bootstrap=0)
>>> bool(cal.residuals_["rel_error"].abs().median() < 0.5)
True
"""
from .run_onnxruntime import onnxruntime
from .run_trtexec import trtexec

__all__ = ["trtexec", "onnxruntime"]
