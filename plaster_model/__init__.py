"""plaster_model: predict deep-learning training and inference performance before running it.

Everything public is importable from the top level (``import plaster_model as pm``).
Submodules load on first use, so ``import plaster_model`` stays light (no scipy, sympy,
matplotlib or pint at import time).
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> submodule that defines it (PEP 562 lazy attributes)
_EXPORTS = {
    # catalogs
    "Device": "catalog.objects", "Interconnect": "catalog.objects", "System": "catalog.objects",
    "Model": "catalog.objects", "Dataset": "catalog.objects", "PRECISIONS": "catalog.objects",
    "BYTES_PER_ELEMENT": "catalog.objects", "normalize_precision": "catalog.objects",
    "GRADIENT_PRECISION": "catalog.objects", "gradient_bytes_per_element": "catalog.objects",
    "list_devices": "catalog.loader", "list_models": "catalog.loader",
    "list_interconnects": "catalog.loader", "list_systems": "catalog.loader",
    "list_datasets": "catalog.loader", "load_device": "catalog.loader",
    "load_model": "catalog.loader", "load_interconnect": "catalog.loader",
    "load_system": "catalog.loader", "load_dataset": "catalog.loader",
    "load_catalog": "catalog.loader", "reset_catalog": "catalog.loader",
    "find_name": "catalog.loader",
    "resolve_device": "catalog.names", "resolve_interconnect": "catalog.names",
    "resolve_system": "catalog.names", "resolve_model": "catalog.names",
    "resolve_precision": "catalog.names", "parse_fabric": "catalog.names",
    # errors (one base class, one module)
    "PlasterError": "errors", "CatalogError": "errors", "UnitError": "errors",
    "ParseError": "errors", "MeasurementValidationError": "errors", "CalibrationError": "errors",
    "NotFittedError": "errors", "CalibrationLookupError": "errors", "ParameterError": "errors",
    "UnknownLatencyDistribution": "errors", "PlasterWarning": "errors", "ParseWarning": "errors",
    "MeasureError": "errors", "MeasureWarning": "errors", "GuideError": "errors",
    "UnknownNameError": "errors", "ParameterTypeError": "errors", "CatalogWarning": "errors",
    "NoClosedFormError": "errors",
    # units
    "to_si": "units", "format_si": "units",
    # transformers
    "TransformerConfig": "catalog.transformer",
    "transformer_param_counts": "estimators.transformer", "transformer_operators": "estimators.transformer",
    "kv_cache_bytes_per_token": "estimators.transformer", "model_flops_per_token": "estimators.transformer",
    "megatron_iteration_flops": "estimators.transformer", "operator_roofline_time": "estimators.roofline",
    # estimators
    "training_flops": "estimators.data_parallel",
    "data_parallel_compute_time": "estimators.data_parallel",
    "tree_allreduce_time": "estimators.data_parallel",
    "tree_crossover_devices": "estimators.data_parallel",
    "required_bandwidth": "estimators.data_parallel",
    "allreduce_time": "estimators.collectives",
    "training_memory_bytes": "estimators.memory",
    "summa_compute_time": "estimators.summa", "summa_data_read_time": "estimators.summa",
    "summa_bandwidth_bound": "estimators.summa",
    "ring_allreduce_time": "estimators.collectives",
    "halving_doubling_allreduce_time": "estimators.collectives",
    "parameter_server_time": "estimators.collectives",
    "hierarchical_allreduce_time": "estimators.collectives",
    "max_batch_that_fits": "estimators.memory", "training_memory_breakdown": "estimators.memory",
    "training_memory_fit": "estimators.memory", "transformer_activation_bytes": "estimators.memory",
    "MemoryFitError": "errors",
    "summa_gemm_compute_time": "estimators.summa", "summa_gemm_data_read_time": "estimators.summa",
    "summa_gemm_bandwidth_bound": "estimators.summa", "summa_time": "estimators.summa",
    "summa_grid": "estimators.summa", "summa_layers": "estimators.summa",
    "scaling_curve": "scaling", "data_parallel_iteration": "estimators.iteration",
    "auto_allreduce_time": "estimators.collectives",
    "multirail_ring_allreduce_time": "estimators.collectives",
    # ONNX import
    "model_from_onnx": "onnx_import", "onnx_layer_table": "onnx_import",
    "layerwise_time": "estimators.layerwise", "layerwise_summary": "estimators.layerwise",
    # clusters and predictions
    "Cluster": "cluster",
    "predict_training": "training", "predict_epoch_time": "training",
    "is_bandwidth_bound": "training", "TrainingPrediction": "training",
    "EpochPrediction": "training", "BandwidthVerdict": "training", "MemoryWarning": "errors",
    # inference and the PLASTER scorecard
    "latency_throughput_curve": "inference.api", "best_batch": "inference.api",
    "BestBatch": "inference.api", "model_footprint": "inference.api",
    "inference_workload": "inference.api",
    "fit_inference_curve": "inference.fit", "InferenceFit": "inference.fit",
    "inference_batch_time": "estimators.inference", "host_transfer_time": "estimators.inference",
    "inference_roofline_terms": "estimators.inference",
    "inference_knee_batch": "estimators.inference",
    "inferences_per_joule": "estimators.energy", "energy_per_inference": "estimators.energy",
    "power_capped_clock_ratio": "estimators.power_cap",
    "plaster_report": "plaster", "programmability": "plaster", "published_accuracy": "plaster",
    "rate_of_learning": "plaster", "default_training_cluster": "plaster",
    # vectorized sweeps
    "sweep": "sweeps", "sweep_chunks": "sweeps", "sweep_size": "sweeps", "pareto": "pareto_front",
    # measured runs and calibration
    "read_measurements": "measurements",
    "calibrate": "calibration.model", "Calibration": "calibration.model",
    # LLM training at scale (parallel plans)
    "ParallelPlan": "parallel.plan", "predict_llm_training": "parallel.predict",
    "LLMTrainingPrediction": "parallel.predict", "best_plans": "parallel.search",
    # LLM serving
    "predict_serving": "serving.api", "serving_sweep": "serving.api", "best_serving": "serving.api",
    "ServingPrediction": "serving.api", "fit_serving": "calibration.serving",
    "ServingCalibration": "calibration.serving", "alltoall_time": "estimators.collectives",
    "serving_plaster_report": "serving.report",
}

# Subpackages reachable as attributes (pm.measure.trtexec, pm.formulas, pm.plotting).
_SUBMODULES = {"errors", "formulas", "plotting", "measure", "estimators", "catalog", "units", "measurements",
               "io", "calibration", "inference", "sweeps", "onnx_import", "onnx_builders", "cli",
               "model_builders", "resolution", "parallel", "serving",
               "web"}  # the web guide: Panel is imported only by plaster_model.web.app()/serve()

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    if name in _EXPORTS:
        module = importlib.import_module(f".{_EXPORTS[name]}", __name__)
        value = getattr(module, name)
        globals()[name] = value  # cache: the next access skips __getattr__
        return value
    if name in _SUBMODULES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'plaster_model' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS) | _SUBMODULES)
