"""Input and output of measured runs, in one package with two halves.

* :mod:`plaster_model.io.readers` -- parsers of trtexec logs and JSON exports, DLBS logs,
  onnxruntime profiles and CSV tables into one validated measurement table
  (:func:`~plaster_model.io.readers.read_measurements`, also ``pm.read_measurements``);
* :mod:`plaster_model.io.runners` -- runners that measure a model on this machine
  (``trtexec``, onnxruntime) and return rows of the same table (also ``pm.measure``).

The halves share the schema (:mod:`plaster_model.io.readers.schema`): a runner's output and
a parsed log go into :func:`plaster_model.calibrate` alike. Importing this package loads
neither half; each loads on first use.
"""
from __future__ import annotations

import importlib

__all__ = ["readers", "runners"]


def __getattr__(name: str):
    # Lazy, like the top-level package: ``import plaster_model.io`` must not pull in pandas.
    if name in __all__:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'plaster_model.io' has no attribute {name!r}")
