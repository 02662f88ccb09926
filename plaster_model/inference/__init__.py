"""Inference estimators: latency and throughput versus batch, the best batch under a latency
budget, energy per inference, the model's footprint, and the fit of the inference roofline to
measured runs."""
from ..estimators.inference import host_transfer_time, inference_batch_time, inference_knee_batch
from .fit import InferenceFit, fit_inference_curve
from ..estimators.energy import energy_per_inference, inferences_per_joule
from .api import (BestBatch, UnknownLatencyDistribution, best_batch, inference_workload,
                  latency_throughput_curve, model_footprint)

__all__ = ["inference_batch_time", "host_transfer_time", "inference_knee_batch",
           "fit_inference_curve", "InferenceFit", "inferences_per_joule", "energy_per_inference",
           "latency_throughput_curve", "best_batch", "BestBatch", "model_footprint",
           "inference_workload", "UnknownLatencyDistribution"]
