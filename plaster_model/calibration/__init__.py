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
(the :class:`Calibration` estimator), :mod:`.io` (YAML/JSON files), :mod:`.cli` (the
``plaster-model calibrate`` command). See ``docs/calibration.md``.
"""
from .model import Calibration, CalibrationLookupError, NotFittedError, calibrate
from .io import load_calibration, save_calibration
from .rows import DEVICE_MAP, INTERCONNECT_MAP, SUPPORTED_METRICS

__all__ = ["Calibration", "calibrate", "NotFittedError", "CalibrationLookupError", "load_calibration",
           "save_calibration",
           "DEVICE_MAP", "INTERCONNECT_MAP", "SUPPORTED_METRICS"]
