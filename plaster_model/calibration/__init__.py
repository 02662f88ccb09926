"""Calibration: fit the estimators' efficiency factors to measured runs, with intervals.

Usage::

    import plaster_model as pm
    cal = pm.calibrate("runs/")                    # logs, CSV tables or a DataFrame
    print(cal.summary())
    c = pm.Cluster("V100", 8, devices_per_node=8, intra_node="NVLink 2")
    pm.predict_training("ResNet-50", c, 64, calibration=cal)
    cal.save("calib.yaml")
    cal = pm.Calibration.load("calib.yaml")

Modules: :mod:`.rows` (rows to arrays: name mapping, metric algebra), :mod:`.predict` (the
forward model), :mod:`.fit` (the least-squares problem and its bootstrap), :mod:`.model`
(the :class:`Calibration` estimator), :mod:`.lookup` (how a fitted calibration answers a
configuration: its group or a fallback, and the spreads), :mod:`.io` (YAML/JSON files), :mod:`.cli` (the
``plaster-model calibrate`` command). See ``docs/calibration.md``.
"""
import importlib

# public name -> submodule (PEP 562 lazy attributes): `plaster-model --help` imports the
# ``calibrate`` sub-command's parser from .cli without loading pandas and scipy
_EXPORTS = {
    "Calibration": "model", "calibrate": "model", "NotFittedError": "model", "CalibrationLookupError": "model",
    "load_calibration": "io", "save_calibration": "io",
    "DEVICE_MAP": "rows", "INTERCONNECT_MAP": "rows", "SUPPORTED_METRICS": "rows",
}

__all__ = ["Calibration", "calibrate", "NotFittedError", "CalibrationLookupError", "load_calibration",
           "save_calibration",
           "DEVICE_MAP", "INTERCONNECT_MAP", "SUPPORTED_METRICS"]


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
