"""Bad values at the public estimators' boundary: refused by name, never a silent number.

Each case is a valid call; hypothesis replaces one argument by a value outside its domain
(negative, zero where a positive is needed, NaN, ±inf, a fraction of a device, a wrong
unit string). The call must raise the package's own error naming that argument, and never
return a NaN, infinite or negative time.
"""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import plaster_model as pm

W, P, BETA = 100e6, 8, 12.5e9

#: name -> (function, valid keyword arguments, {argument: strategy of bad values})
NEG = st.one_of(st.floats(max_value=-1e-9, allow_nan=False, allow_infinity=False), st.just(-1.0))
NONFINITE = st.sampled_from([math.nan, math.inf, -math.inf])
FRACTION_OF_DEVICE = st.floats(min_value=0.0, max_value=0.999, allow_nan=False)


def _cases():
    allreduce = {"w": NEG | NONFINITE, "p": FRACTION_OF_DEVICE | NONFINITE | NEG, "beta": NEG | NONFINITE | st.just(0.0),
                 "alpha": NEG | NONFINITE}
    base = dict(w=W, p=P, beta=BETA, alpha=1e-6)
    out = [(f, base, allreduce) for f in (pm.tree_allreduce_time, pm.ring_allreduce_time,
                                          pm.halving_doubling_allreduce_time, pm.auto_allreduce_time,
                                          pm.multirail_ring_allreduce_time, pm.hierarchical_allreduce_time,
                                          pm.parameter_server_time)]
    out.append((pm.data_parallel_iteration,
                dict(fwd_flops=7.8e9, params=25.6e6, n_devices=8, batch_per_device=64, gamma=15.7e12,
                     grad_bytes=4, beta=BETA),
                {"fwd_flops": NEG | NONFINITE, "n_devices": FRACTION_OF_DEVICE | NONFINITE,
                 "batch_per_device": NEG | NONFINITE | st.just(0.0), "gamma": NEG | st.just(0.0) | st.just(math.inf),
                 "grad_bytes": NEG | NONFINITE, "beta": NEG | NONFINITE,
                 "comm_efficiency": st.floats(1.0001, 100.0) | NEG | NONFINITE,
                 "overlap": st.floats(1.0001, 10.0) | NEG | NONFINITE, "overhead_s": NEG | NONFINITE}))
    out.append((pm.inference_batch_time,
                dict(fwd_flops=7.8e9, weight_bytes=102e6, activation_bytes_per_sample=0.0, batch=8,
                     gamma_eff=15e12, bandwidth_eff=900e9),
                {"batch": NEG | NONFINITE | st.just(0.0), "gamma_eff": NEG | st.just(0.0),
                 "bandwidth_eff": NEG | st.just(0.0), "weight_bytes": NEG | NONFINITE}))
    out.append((pm.training_memory_bytes, dict(params=25.6e6, batch_per_device=64),
                {"params": NEG | NONFINITE, "batch_per_device": NEG | NONFINITE}))
    out.append((pm.required_bandwidth, dict(w=W, t_compute=0.1, steps=6),
                {"w": NEG | NONFINITE, "t_compute": NEG | NONFINITE, "steps": NEG | NONFINITE}))
    out.append((pm.summa_bandwidth_bound, dict(n=2000, gamma=15e12, p=10),
                {"n": NEG | st.just(0.0), "gamma": NEG | st.just(0.0), "p": FRACTION_OF_DEVICE | NEG}))
    return out


CASES = _cases()


@pytest.mark.parametrize("fn, base, bad", CASES, ids=[c[0].__name__ for c in CASES])
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_bad_value_is_refused_by_name(fn, base, bad, data):
    name = data.draw(st.sampled_from(sorted(bad)))
    value = data.draw(bad[name])
    kwargs = {**base, name: value}
    with pytest.raises(pm.PlasterError) as info:
        fn(**kwargs)
    assert name in str(info.value)


@pytest.mark.parametrize("fn, base, bad", CASES, ids=[c[0].__name__ for c in CASES])
def test_valid_call_gives_a_finite_non_negative_number(fn, base, bad):
    out = fn(**base)
    values = out.values() if isinstance(out, dict) else [out]
    for v in values:
        if isinstance(v, (int, float)) or hasattr(v, "dtype"):
            assert math.isfinite(float(v)) and float(v) >= 0


def test_unit_strings_are_accepted_where_quantities_are():
    # every public quantity argument takes SI floats or unit strings (API.md)
    assert pm.required_bandwidth("100 MB", "0.1 s", 6) == pytest.approx(6 * 100e6 / 0.1)
    assert pm.inference_batch_time("7.8 GFLOP", "102.4 MB", "0 B", 1, "15.7 TFLOPS", "900 GB/s") == \
        pytest.approx(pm.inference_batch_time(7.8e9, 102.4e6, 0.0, 1, 15.7e12, 900e9))
    with pytest.raises(pm.UnitError, match="w"):
        pm.required_bandwidth("56 GB/s", 0.1, 6)  # a bandwidth where bytes are expected


def test_predictor_boundaries():
    c = pm.Cluster("V100", 1)
    for kwargs, name in ((dict(efficiency=50), "efficiency"), (dict(overhead_s=math.nan), "overhead_s"),
                         (dict(comm_efficiency=1.5), "comm_efficiency")):
        with pytest.raises(pm.PlasterError, match=name):
            pm.predict_training("ResNet-50", c, 64, check_memory=False, **kwargs)
    with pytest.raises(pm.PlasterError, match="batch_per_device"):
        pm.predict_training("ResNet-50", c, 0.5, check_memory=False)
    with pytest.raises(pm.PlasterError, match="batch_per_device"):
        pm.training_memory_breakdown("ResNet-50", batch_per_device=-100)
    with pytest.raises(pm.PlasterError, match="batch"):
        pm.model_footprint("ResNet-50", "V100", batch=1e19)
    with pytest.raises(pm.PlasterError, match="F"):
        pm.formulas.compute_time("weak").subs(F="__import__('os')")  # never parsed as code
