"""Former home of the inference roofline: it lives in :mod:`plaster_model.estimators.inference`
(one home per formula); these names are re-exported so existing imports keep working."""
from ..estimators.inference import host_transfer_time, inference_batch_time, inference_knee_batch

__all__ = ["inference_batch_time", "host_transfer_time", "inference_knee_batch"]
