"""Synthetic measurement rows built from the library's own estimators (shared by the tests).

A calibration fitted on these rows must recover the parameters they were made with, which is
what the tests that use them assert.
"""
from __future__ import annotations

import pandas as pd

import plaster_model as pm

#: Batch sizes of a latency sweep, as trtexec / the NVIDIA READMEs step them.
BATCHES = (1, 2, 4, 8, 16, 32, 64, 128)


def inference_latency_rows(models, device, precision, framework, eta, t0_s, batches=BATCHES):
    """Latency rows [ms] of each model in ``models`` on ``device`` from the inference roofline
    ``t0 + max(F·b/(η·γ_peak), (W + A·b)/bw_peak)`` (:func:`plaster_model.inference_batch_time`).

    ``t0_s`` is the per-batch overhead [s], or a function of the zoo Model giving it (an
    overhead per operator: ``lambda m: 30e-6 * m.kernels``).
    """
    recs = []
    for name in ([models] if isinstance(models, str) else models):
        m = pm.load_model(name)
        w = pm.inference.api.inference_workload(name, device, precision)
        t0 = t0_s(m) if callable(t0_s) else t0_s
        for b in batches:
            t = pm.inference_batch_time(w["fwd_flops"], w["weight_bytes"], w["activation_bytes_per_sample"], b,
                                        eta * w["peak_flops"], w["peak_bandwidth"], t0)
            recs.append({"source": "synthetic", "source_detail": "", "model": name, "framework": framework,
                         "device": getattr(device, "name", device), "n_devices": 1, "devices_per_node": 1,
                         "interconnect": None, "precision": precision, "batch_per_device": b,
                         "phase": "inference", "metric": "latency_ms", "value": t * 1e3, "notes": ""})
    return pd.DataFrame(recs)
