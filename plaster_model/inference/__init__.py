"""Inference estimators: latency and throughput versus batch, and the PLASTER scorecard."""
from .roofline import host_transfer_time, inference_batch_time
