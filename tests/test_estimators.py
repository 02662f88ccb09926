"""The closed-form estimators against the brief's worked examples (BRIEF.md §3)."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import plaster_model as pm
from plaster_model.estimators.data_parallel import _solve_p_log_p


# --- SUMMA bandwidth bound: beta >= s·p·gamma/n ---------------------------------------
def test_summa_bound_p10():
    # 4 B · 10 · 15e12 FLOP/s / 2000 = 3.0e11 B/s = 300 GB/s (HPE slides)
    assert pm.summa_bandwidth_bound(n=2000, gamma="15 TFLOPS", p=10, precision="fp32") == pytest.approx(300e9)


def test_summa_bound_p1():
    # 4 · 1 · 15e12 / 2000 = 3.0e10 B/s = 30 GB/s (HPE slides)
    assert pm.summa_bandwidth_bound(n=2000, gamma=15e12, p=1) == pytest.approx(30e9)


def test_summa_bound_is_where_read_time_equals_compute_time():
    beta = pm.summa_bandwidth_bound(2000, 15e12, 10)
    assert pm.summa_data_read_time(2000, 10, beta) == pytest.approx(pm.summa_compute_time(2000, 10, 15e12))


def test_summa_precision_element_size():
    # fp16 elements are 2 B: half the fp32 bound
    assert pm.summa_bandwidth_bound(2000, 15e12, 10, "fp16") == pytest.approx(150e9)


# --- epoch compute budget: ResNet-152, 14 M images, 1 hour -------------------------------
def test_resnet152_epoch_budget():
    c = pm.training_flops(11.3e9, 14e6)          # 3 × 11.3e9 × 14e6 = 4.746e17 FLOP
    assert c == pytest.approx(4.746e17)
    sustained = c / 3600.0                         # one epoch in one hour
    assert sustained == pytest.approx(131.8e12, rel=1e-3)   # ≈ 132 TFLOPS (slide rounds to 140)


# --- peak-only bound: VGG-16 on 8 × P100 -------------------------------------------------
def test_vgg16_peak_only_bound_152h():
    # 3 × 15.5e9 × (100e6 images × 10 epochs) / (8 × 10.6e12) = 5.483e5 s = 152.3 h
    t = pm.data_parallel_compute_time(pm.training_flops(15.5e9, 100e6 * 10), 8, "10.6 TFLOPS")
    assert t == pytest.approx(5.483e5, rel=1e-3)
    assert t / 3600 == pytest.approx(152.3, abs=0.1)


def test_vgg16_measured_efficiencies():
    # HPE web tool measured 188.1 / 175.8 / 416.1 h: efficiency = 152.3 h / measured
    t = pm.data_parallel_compute_time(pm.training_flops(15.5e9, 1e9), 8, 10.6e12) / 3600
    assert [round(t / h, 2) for h in (188.1, 175.8, 416.1)] == [0.81, 0.87, 0.37]


# --- tree all-reduce -------------------------------------------------------------------
def test_tree_allreduce_hand_value():
    # 2 · 100 MB · log2(8) / 7 GB/s = 600e6 / 7e9 = 0.0857 s
    assert pm.tree_allreduce_time(100e6, 8, "56 Gb/s") == pytest.approx(600e6 / 7e9)


def test_tree_allreduce_bits_and_bytes_consistent():
    # the slides' units (w in bits, beta in bit/s) give the same time as bytes and B/s
    w_bits, beta_bits = 25.6e6 * 32, 56e9
    slides = 2 * w_bits * math.log2(16) / beta_bits
    assert pm.tree_allreduce_time(25.6e6 * 4, 16, beta_bits / 8) == pytest.approx(slides)


def test_tree_allreduce_single_device_is_free():
    assert pm.tree_allreduce_time(1e9, 1, 1e9) == 0.0


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(w=1e6, p=0, beta=1e9), r"p=0\.0: expected a device count >= 1"),
    (dict(w=1e6, p=-4, beta=1e9), r"p=-4\.0: expected a device count"),
    (dict(w=1e6, p=4, beta=0), r"beta=0\.0: expected finite and > 0"),
    (dict(w=1e6, p=4, beta="15 TFLOPS"), "bandwidth"),
])
def test_tree_allreduce_bad_input(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        pm.tree_allreduce_time(**kwargs)


@given(st.floats(1e3, 1e10), st.integers(2, 4096), st.floats(1e8, 1e12), st.floats(1.01, 100))
def test_more_bandwidth_is_never_slower(w, p, beta, factor):
    assert pm.tree_allreduce_time(w, p, beta * factor) <= pm.tree_allreduce_time(w, p, beta)


@given(st.floats(1e9, 1e18), st.integers(1, 10_000), st.floats(1e11, 1e15))
def test_compute_time_scales_as_one_over_p(c, p, gamma):
    t1 = pm.data_parallel_compute_time(c, 1, gamma)
    assert pm.data_parallel_compute_time(c, p, gamma) == pytest.approx(t1 / p, rel=1e-12)


def test_vectorized_broadcasting():
    p = np.array([1, 2, 4, 8])[:, None]
    beta = np.array([1e9, 1e10])[None, :]
    out = pm.tree_allreduce_time(1e8, p, beta)
    assert out.shape == (4, 2)
    np.testing.assert_allclose(out[:, 0], 2 * 1e8 * np.log2([1, 2, 4, 8]) / 1e9)


# --- crossover ---------------------------------------------------------------------------
@given(st.floats(1e-3, 1e4))
def test_p_log_p_solver(rhs):
    p = _solve_p_log_p(rhs)
    assert p * math.log(p) == pytest.approx(rhs, rel=1e-9)


def test_tree_crossover_weak_closed_form():
    # 3·F·b/γ = 2·w·log2(p)/β  ->  log2 p* = 3·F·b·β/(2·w·γ)
    F, b, g, w, beta = 7.8e9, 64, 15.7e12, 102.4e6, 7e9
    p = pm.tree_crossover_devices(F, b, g, w, beta)
    assert 3 * F * b / g == pytest.approx(2 * w * math.log2(p) / beta)


def test_tree_crossover_strong():
    F, B, g, w, beta = 7.8e9, 4096, 15.7e12, 102.4e6, 7e9
    p = pm.tree_crossover_devices(F, B, g, w, beta, scaling="strong")
    assert 3 * F * B / (p * g) == pytest.approx(2 * w * math.log2(p) / beta)
