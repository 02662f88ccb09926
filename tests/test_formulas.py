"""plaster_model.formulas: the symbolic models agree with the numeric estimators."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import plaster_model as pm
from plaster_model import formulas as fm

w_ = st.floats(1e5, 1e10)
p_ = st.integers(2, 4096)
beta_ = st.floats(1e8, 1e12)
alpha_ = st.floats(0, 1e-4)
F_ = st.floats(1e8, 1e11)
b_ = st.floats(1, 512)
gamma_ = st.floats(1e11, 1e15)


@settings(max_examples=40, deadline=None)
@given(w=w_, p=p_, beta=beta_, alpha=alpha_)
def test_flat_allreduce_formulas_match_estimators(w, p, beta, alpha):
    vals = dict(w=w, p=p, beta=beta, alpha=alpha)
    assert fm.allreduce_time("tree")(**vals) == pytest.approx(pm.tree_allreduce_time(w, p, beta, alpha), rel=1e-10)
    assert fm.allreduce_time("ring")(**vals) == pytest.approx(pm.ring_allreduce_time(w, p, beta, alpha), rel=1e-10)
    assert fm.allreduce_time("halving_doubling")(**vals) == pytest.approx(
        pm.halving_doubling_allreduce_time(w, p, beta, alpha), rel=1e-10)
    # one shard per worker: 2·(w/β + α), independent of p
    assert fm.allreduce_time("parameter_server_colocated")(w=w, beta=beta, alpha=alpha) == pytest.approx(
        pm.parameter_server_time(w, p, beta, alpha), rel=1e-10)


@settings(max_examples=40, deadline=None)
@given(w=w_, nodes=st.integers(2, 256), g=st.integers(1, 16), m=st.integers(1, 8), beta=beta_, alpha=alpha_,
       beta_in=st.floats(1e9, 1e12), alpha_in=alpha_, k=st.integers(1, 64), beta_s=beta_)
def test_topology_formulas_match_estimators(w, nodes, g, m, beta, alpha, beta_in, alpha_in, k, beta_s):
    p = nodes * g
    sym = fm.allreduce_time("hierarchical")(w=w, p=p, g=g, m=m, beta=beta, alpha=alpha, beta_in=beta_in,
                                             alpha_in=alpha_in)
    num = pm.hierarchical_allreduce_time(w, p, beta, alpha, devices_per_node=g, nics_per_node=m,
                                         beta_intra=beta_in, alpha_intra=alpha_in)
    assert sym == pytest.approx(num, rel=1e-10)
    ps = fm.allreduce_time("parameter_server")(w=w, p=p, beta=beta, alpha=alpha, k=k, beta_s=beta_s)
    assert ps == pytest.approx(pm.parameter_server_time(w, p, beta, alpha, servers=k, beta_server=beta_s), rel=1e-10)


@settings(max_examples=40, deadline=None)
@given(F=F_, b=b_, gamma=gamma_, w=w_, beta=beta_)
def test_tree_crossover_closed_forms_match_the_numeric_solver(F, b, gamma, w, beta):
    weak = float(fm.crossover_devices("tree", "weak")(F=F, b=b, gamma=gamma, w=w, beta=beta))
    strong = float(fm.crossover_devices("tree", "strong")(F=F, B=b * 64, gamma=gamma, w=w, beta=beta))
    num_weak = pm.tree_crossover_devices(F, b, gamma, w, beta)
    num_strong = pm.tree_crossover_devices(F, b * 64, gamma, w, beta, scaling="strong")
    if math.isfinite(num_weak) and num_weak < 1e300:
        assert weak == pytest.approx(num_weak, rel=1e-9)
    if math.isfinite(num_strong):
        assert strong == pytest.approx(num_strong, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(F=F_, b=b_, gamma=gamma_, w=w_, beta=beta_, alpha=st.floats(1e-7, 1e-4))
def test_crossovers_with_latency_solve_the_equation(F, b, gamma, w, beta, alpha):
    # plugging p* back: compute time equals communication time
    for alg in ("tree", "ring"):
        for scaling, batch in (("weak", dict(b=b)), ("strong", dict(B=b * 64))):
            f = fm.crossover_devices(alg, scaling, latency=True)
            p_star = float(f(F=F, gamma=gamma, w=w, beta=beta, alpha=alpha, **batch))
            if not (math.isfinite(p_star) and 1.0 < p_star < 1e12):
                continue
            tc = float(fm.compute_time(scaling)(F=F, gamma=gamma, p=p_star, **batch)) if scaling == "strong" \
                else float(fm.compute_time(scaling)(F=F, gamma=gamma, **batch))
            num = pm.estimators.allreduce_time(alg, w, p_star, beta, alpha)
            assert num == pytest.approx(tc, rel=1e-9)


def test_ring_crossover_closed_forms():
    # strong: 3FB/(pγ) = 2(p−1)/p·w/β  ->  p* = 1 + 3FBβ/(2wγ)
    F, B, g, w, beta = 7.8e9, 256, 15.7e12, 102.4e6, 7e9
    p = float(fm.crossover_devices("ring", "strong")(F=F, B=B, gamma=g, w=w, beta=beta))
    assert p == pytest.approx(1 + 3 * F * B * beta / (2 * w * g))
    # weak: p* = 2wγ/(2wγ − 3Fbβ) when 3Fbβ < 2wγ (VGG-16-like: little compute per byte)
    F, b, w = 31e9, 1, 553e6
    p = float(fm.crossover_devices("ring", "weak")(F=F, b=b, gamma=g, w=w, beta=beta))
    assert p == pytest.approx(2 * w * g / (2 * w * g - 3 * F * b * beta))
    # at the real crossover p: the all-reduce dispatch takes real counts (ring_allreduce_time
    # itself refuses fractional devices since issue 25)
    assert pm.allreduce_time("ring", w, p, beta) == pytest.approx(3 * F * b / g)


@settings(max_examples=30, deadline=None)
@given(F=F_, b=b_, gamma=gamma_, w=w_, p=p_, alpha=st.floats(0, 1e-6),
       alg=st.sampled_from(["tree", "ring", "halving_doubling", "parameter_server_colocated"]))
def test_required_bandwidth_and_max_params(F, b, gamma, w, p, alpha, alg):
    tc = 3 * F * b / gamma
    beta = float(fm.required_bandwidth(alg)(F=F, b=b, gamma=gamma, w=w, p=p, alpha=alpha)) \
        if alg != "parameter_server_colocated" else float(
            fm.required_bandwidth(alg)(F=F, b=b, gamma=gamma, w=w, alpha=alpha))
    numeric_alg = "parameter_server" if alg == "parameter_server_colocated" else alg
    if 0 < beta < math.inf:
        assert pm.estimators.allreduce_time(numeric_alg, w, p, beta, alpha) == pytest.approx(tc, rel=1e-9)
    if alg == "tree":
        steps = 2 * math.log2(p)
        assert beta == pytest.approx(pm.required_bandwidth(w, tc, steps, alpha), rel=1e-9) or beta < 0
    # largest compute-bound model at β = 10 GB/s, s = 4 B
    f = fm.max_compute_bound_params(alg)
    vals = dict(F=F, b=b, gamma=gamma, beta=1e10, s=4, alpha=alpha)
    if alg != "parameter_server_colocated":
        vals["p"] = p
    P = float(f(**vals))
    if P > 0:
        assert pm.estimators.allreduce_time(numeric_alg, P * 4, p, 1e10, alpha) == pytest.approx(tc, rel=1e-9)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(16, 100_000), p=st.integers(1, 64), gamma=gamma_, s=st.sampled_from([1, 2, 4, 8]),
       m=st.integers(1, 10_000), k=st.integers(1, 10_000), nn=st.integers(1, 10_000), pr=st.integers(1, 16),
       pc=st.integers(1, 16))
def test_summa_formulas_match_estimators(n, p, gamma, s, m, k, nn, pr, pc):
    prec = {1: "int8", 2: "fp16", 4: "fp32", 8: "fp64"}[s]
    assert float(fm.summa_bandwidth_bound()(n=n, p=p, s=s, gamma=gamma)) == pytest.approx(
        pm.summa_bandwidth_bound(n, gamma, p, prec), rel=1e-12)
    assert float(fm.summa_compute_time()(n=n, p=p, gamma=gamma)) == pytest.approx(
        pm.summa_compute_time(n, p, gamma), rel=1e-12)
    assert float(fm.summa_gemm_bandwidth_bound()(m_=m, n_=nn, p_r=pr, p_c=pc, s=s, gamma=gamma)) == pytest.approx(
        pm.summa_gemm_bandwidth_bound(m, k, nn, gamma, pr, pc, prec), rel=1e-12)
    # the smallest compute-bound matrix at that bound is n itself
    beta = pm.summa_bandwidth_bound(n, gamma, p, prec)
    assert float(fm.summa_min_matrix_size()(p=p, s=s, gamma=gamma, beta=beta)) == pytest.approx(n, rel=1e-12)


def test_formula_objects_render_and_validate():
    f = fm.crossover_devices("tree", "weak")
    latex = f._repr_latex_()
    assert latex.startswith("$") and r"\gamma" in latex and r"\beta" in latex and "p^{*}" in latex
    assert set(f.symbols) == {"F", "b", "beta", "gamma", "w"}
    assert "FLOP/s" in f.symbols["gamma"]
    with pytest.raises(TypeError, match="missing"):
        f(F=1.0)
    with pytest.raises(TypeError, match="unused"):
        f(F=1, b=1, beta=1, gamma=1, w=1, zz=3)
    vec = f.lambdify(["F", "b", "beta", "gamma", "w"])(np.array([1e9, 2e9]), 32, 7e9, 15e12, 1e8)
    assert vec.shape == (2,)
    assert fm.lambdify(f) is f.lambdify()
    tc = fm.compute_time("weak").subs(F=7.8e9)
    assert tc.symbols.keys() == {"b", "gamma"}
    roots = fm.allreduce_time("ring").subs(alpha=0).solve_for("beta", equals=fm.symbol("T_c"))
    assert len(roots) == 1
    assert "HPE" in fm.summa_bandwidth_bound().reference
    with pytest.raises(NotImplementedError):
        fm.crossover_devices("hierarchical")
    assert len(fm.table()) >= 10
    assert str(fm.summa_bandwidth_bound()) == "beta_req = gamma*p*s/n"
