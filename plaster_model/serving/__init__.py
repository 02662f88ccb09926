"""LLM serving: prefill and decode with a KV cache, continuous batching, TTFT/TPOT under load.

Public entry points (also at the top level): :func:`predict_serving`, :func:`serving_sweep`,
:func:`best_serving`; the closed forms live in :mod:`plaster_model.estimators.serving`, the
fit in :mod:`plaster_model.calibration.serving`. See ``docs/llm-serving.md``.
"""
from .api import ServingPrediction, best_serving, predict_serving, serving_sweep  # noqa: F401
from .report import energy_per_token, serving_plaster_report  # noqa: F401

__all__ = ["predict_serving", "serving_sweep", "best_serving", "ServingPrediction", "serving_plaster_report",
           "energy_per_token"]
