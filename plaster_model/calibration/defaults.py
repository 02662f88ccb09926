"""Documented defaults for measurement rows that leave a setting out.

Published tables sometimes omit the batch per device (NVIDIA's DeepLearningExamples READMEs
print throughput "at the default batch" and state that default elsewhere on the page). A
row without ``batch_per_device`` takes the default the framework's reference script
documents for that model and precision, from :data:`DEFAULT_BATCHES`, and the prediction
says so; a row no entry matches stays unpredicted ("batch_per_device not given").
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BatchDefault", "DEFAULT_BATCHES", "default_batch"]


@dataclass(frozen=True)
class BatchDefault:
    """The documented per-device batch of one reference training script.

    Attributes
    ----------
    framework : str
        Framework family (:func:`plaster_model.calibration.rows.framework_family`).
    marker : str
        Text the row's framework must contain (lower case), naming the distribution whose
        script this is (``"ngc"``: NVIDIA's containers and their DeepLearningExamples).
    model : str
        Zoo model name.
    precision : str
        Canonical precision (``"fp32"``, ``"mixed"``, ...).
    phase : str
        ``"training"`` or ``"inference"``.
    batch : int
        Samples per device per iteration.
    source : str
        Where the default is documented.
    """

    framework: str
    marker: str
    model: str
    precision: str
    phase: str
    batch: int
    source: str


_RN50_TF = ("NVIDIA DeepLearningExamples, TensorFlow/Classification/RN50v1.5/README.md, "
            "'Training process' (the default parameters): ")
#: Defaults, each with its source.
DEFAULT_BATCHES = (
    BatchDefault("tensorflow", "ngc", "ResNet-50 v1.5", "fp32", "training", 128,
                 _RN50_TF + "python ./main.py --batch_size=128 (FP32, 1 or more GPUs)"),
    BatchDefault("tensorflow", "ngc", "ResNet-50 v1.5", "mixed", "training", 256,
                 _RN50_TF + "python ./main.py --batch_size=256 --use_tf_amp (FP16, 1 or more GPUs)"),
)


def default_batch(framework_text, family, model, precision, phase):
    """The documented default batch for a row, or None.

    Parameters
    ----------
    framework_text : str or None
        The row's framework as written (``"TensorFlow 19.07 NGC (Horovod)"``).
    family : str
        Its framework family (``"tensorflow"``).
    model, precision, phase : str
        Zoo model name, canonical precision and phase.

    Returns
    -------
    BatchDefault or None

    Examples
    --------
    >>> default_batch("TensorFlow 19.07 NGC (Horovod)", "tensorflow", "ResNet-50 v1.5", "mixed", "training").batch
    256
    >>> default_batch("TensorFlow 1.3", "tensorflow", "ResNet-50 v1.5", "mixed", "training") is None
    True
    """
    text = str(framework_text or "").lower()
    for d in DEFAULT_BATCHES:
        if (d.framework, d.model, d.precision, d.phase) == (family, model, precision, phase) and d.marker in text:
            return d
    return None
