"""Readers (``plaster_model.io.readers``) of measured runs: parsers for trtexec (text and JSON), DLBS, onnxruntime profiles and CSV
tables, into one validated measurement table (see :mod:`.schema`).

>>> df = read_measurements("runs/")                      # doctest: +SKIP
>>> df[["model", "device", "batch_per_device", "metric", "value"]]   # doctest: +SKIP
"""
from .normalize import normalize_names
from .read import read_file, read_measurements, sniff_format
from .schema import (LAYER_PROFILE_COLUMNS, MEASUREMENT_COLUMNS, METRICS, PRECISIONS,
                     MeasurementValidationError, ParseError, empty_measurements,
                     validate_measurements)
from .trtexec_json import read_layer_info, read_layer_profile

__all__ = [
    "read_measurements", "read_file", "sniff_format", "read_layer_profile", "read_layer_info",
    "MEASUREMENT_COLUMNS", "LAYER_PROFILE_COLUMNS", "METRICS", "PRECISIONS",
    "validate_measurements", "empty_measurements", "ParseError", "MeasurementValidationError",
    "normalize_names",
]
