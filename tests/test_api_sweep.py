"""The API sweep of issue 15: bad values over the public callables, refused by name.

Every (callable, argument) below gets each bad value of ``BAD`` (negative, zero, NaN, ±inf, a
boolean, a non-numeric string, None). A call must raise the package's own error
(:class:`plaster_model.PlasterError`) naming the argument or the value, except where the
value is legitimate there (None = "the default" for optional arguments; 0 where zero is a
real value: no overhead, no activations, no latency). Nothing may be accepted silently.
"""
from __future__ import annotations

import math
import warnings

import pytest

import plaster_model as pm

C8 = pm.Cluster("V100", 8, devices_per_node=8, intra_node="NVLink 2")
BAD = [-1.0, 0.0, math.nan, math.inf, -math.inf, True, "abc", None]
#: arguments for which None means "use the default"
NONE_IS_DEFAULT = {"efficiency", "comm_efficiency", "overhead_s", "overlap", "bucket_bytes", "global_batch",
                   "compute_efficiency", "memory_efficiency", "t0", "alpha", "workspace_bytes"}
#: arguments for which 0 is a real value
ZERO_IS_VALID = {"overhead_s", "overlap", "t0", "alpha", "workspace_bytes", "w", "batch_per_device", "steps",
                 "weight_bytes"}
#: arguments that take a catalog name: an unknown name is a KeyError with close matches (API.md)
NAMES = {"dataset"}

CASES = [
 ("predict_training", lambda **k: pm.predict_training(**{**dict(model="ResNet-50", cluster=C8, batch_per_device=64, check_memory=False), **k}), ["batch_per_device", "efficiency", "comm_efficiency", "overhead_s", "overlap", "bucket_bytes", "global_batch"]),
 ("predict_epoch_time", lambda **k: pm.predict_epoch_time(**{**dict(model="ResNet-50", cluster=C8, batch_per_device=64, check_memory=False), **k}), ["epochs", "dataset"]),
 ("is_bandwidth_bound", lambda **k: pm.is_bandwidth_bound(**{**dict(model="ResNet-50", cluster=C8, batch_per_device=64), **k}), ["batch_per_device", "efficiency"]),
 ("scaling_curve", lambda **k: pm.scaling_curve(**{**dict(model="ResNet-50", cluster=C8, devices=[1, 8], batch_per_device=64, check_memory=False), **k}), ["batch_per_device", "efficiency", "overlap"]),
 ("sweep", lambda **k: pm.sweep(**{**dict(models="ResNet-50", devices="V100", n_devices=[1, 8], interconnects="InfiniBand EDR", batch_per_device=64), **k}), ["batch_per_device", "efficiency", "overlap", "comm_efficiency", "overhead_s"]),
 ("latency_throughput_curve", lambda **k: pm.latency_throughput_curve(**{**dict(model="ResNet-50", device="T4", precision="fp16", batches=[1, 8]), **k}), ["compute_efficiency", "memory_efficiency", "t0"]),
 ("best_batch", lambda **k: pm.best_batch(**{**dict(model="ResNet-50", device="T4", precision="fp16", max_batch=64), **k}), ["latency_budget", "max_batch"]),
 ("model_footprint", lambda **k: pm.model_footprint(**{**dict(model="ResNet-50", device="T4"), **k}), ["batch"]),
 ("training_memory_breakdown", lambda **k: pm.training_memory_breakdown(**{**dict(model="ResNet-50"), **k}), ["batch_per_device", "workspace_bytes"]),
 ("summa_bandwidth_bound", lambda **k: pm.summa_bandwidth_bound(**{**dict(n=2000, gamma=15e12, p=10), **k}), ["n", "gamma", "p"]),
 ("summa_time", lambda **k: pm.summa_time(**{**dict(m=1000, k=1000, n=1000, gamma=15e12, beta=10e9, pr=2), **k}), ["m", "k", "n", "gamma", "beta", "pr"]),
 ("tree_crossover_devices", lambda **k: pm.tree_crossover_devices(**{**dict(fwd_flops=7.8e9, batch=64, gamma=15e12, w=1e8, beta=7e9), **k}), ["fwd_flops", "batch", "gamma", "w", "beta"]),
 ("required_bandwidth", lambda **k: pm.required_bandwidth(**{**dict(w=1e8, t_compute=0.1, steps=6), **k}), ["w", "t_compute", "steps", "alpha"]),
 ("inferences_per_joule", lambda **k: pm.inferences_per_joule(**{**dict(throughput_samples_s=1000, power_w=70), **k}), ["throughput_samples_s", "power_w"]),
 ("inference_roofline_terms", lambda **k: pm.inference_roofline_terms(**{**dict(fwd_flops=7.8e9, weight_bytes=1e8, activation_bytes_per_sample=0, batch=8, gamma_eff=1e14, bandwidth_eff=3e11), **k}), ["batch", "gamma_eff", "bandwidth_eff"]),
 ("power_capped_clock_ratio", lambda **k: pm.power_capped_clock_ratio(**{**dict(power_w=70, peak_flops=8.1e12, power_w_ref=300, peak_flops_ref=15.7e12), **k}), ["power_w", "peak_flops", "power_w_ref", "peak_flops_ref"]),
 ("energy_per_inference", lambda **k: pm.energy_per_inference(**{**dict(throughput_samples_s=1000, power_w=70), **k}), ["throughput_samples_s", "power_w"]),
 ("training_flops", lambda **k: pm.training_flops(**{**dict(fwd_flops=7.8e9, batch=64), **k}), ["fwd_flops", "batch"]),
 ("data_parallel_compute_time", lambda **k: pm.data_parallel_compute_time(**{**dict(flops=1e15, p=8, gamma=15e12), **k}), ["flops", "p", "gamma"]),
 ("inference_knee_batch", lambda **k: pm.inference_knee_batch(**{**dict(fwd_flops=7.8e9, weight_bytes=1e8, activation_bytes_per_sample=0, gamma_eff=1e14, bandwidth_eff=3e11), **k}), ["fwd_flops", "weight_bytes", "gamma_eff", "bandwidth_eff"]),
 ("Cluster", lambda **k: pm.Cluster(**{**dict(device="V100", n_devices=8, devices_per_node=8, intra_node="NVLink 2"), **k}), ["n_devices", "devices_per_node", "nics_per_node"]),
]


@pytest.mark.parametrize("name, fn, args", CASES, ids=[c[0] for c in CASES])
def test_no_bad_value_is_accepted_silently(name, fn, args):
    silent, unclear = [], []
    for arg in args:
        for value in BAD:
            if (value is None and arg in NONE_IS_DEFAULT) or (value == 0.0 and value is not True
                                                              and arg in ZERO_IS_VALID):
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    fn(**{arg: value})
                except KeyError as exc:
                    if not (arg in NAMES and isinstance(value, str)):
                        unclear.append((arg, value, f"KeyError: {exc}"))
                    continue
                except pm.PlasterError as exc:
                    if arg not in str(exc) and repr(value) not in str(exc):
                        unclear.append((arg, value, str(exc)))
                    continue
                except Exception as exc:  # noqa: BLE001 - anything but our own error is a defect here
                    unclear.append((arg, value, f"{type(exc).__name__}: {exc}"))
                    continue
            silent.append((arg, value))
    assert not silent, f"{name}: accepted silently {silent}"
    assert not unclear, f"{name}: not a named PlasterError {unclear}"
