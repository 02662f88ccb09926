"""The shortcuts that make the fit fast change nothing a user can see (issue 17).

Timing itself lives in ``benchmarks/bench_calibration.py``; these tests check that each
shortcut computes what the slow way computes:

* a bootstrap refit evaluates each distinct row once, with its count as a loss weight,
  instead of repeating it (the objectives are equal by construction, checked here);
* a bootstrap refit stops at :data:`~plaster_model.calibration.fit.BOOTSTRAP_TOL` instead
  of 1e-8 (the spread of the draws is unchanged);
* the inference curve's starting points stop at a loose tolerance and only the best is
  polished (the fitted parameters and predictions are unchanged).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import least_squares

import plaster_model as pm
from plaster_model.calibration import fit as _fit
from plaster_model.inference import fit as _inference_fit

CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "published_measurements.csv"
LOSSES = ("linear", "soft_l1", "huber", "cauchy", "arctan")


def _toy_problem():
    """A small nonlinear least-squares problem with outliers: y = a·exp(b·x)."""
    rng = np.random.default_rng(3)
    x = np.linspace(0.0, 1.0, 25)
    y = 2.0 * np.exp(1.5 * x) * np.exp(rng.normal(0.0, 0.05, x.size))
    y[[4, 17]] *= 3.0  # outliers, so the robust losses act
    return x, y


@pytest.mark.parametrize("loss", LOSSES)
def test_weighted_loss_with_unit_weights_is_scipys_loss(loss):
    # _weighted_loss(name, 1) must be scipy's named loss: the same problem solved with the
    # string and with the callable reaches the same point (scipy treats both alike).
    x, y = _toy_problem()

    def res(p):
        return np.log(p[0] * np.exp(p[1] * x)) - np.log(y)

    a = least_squares(res, [1.0, 1.0], loss=loss, f_scale=0.1)
    b = least_squares(res, [1.0, 1.0], loss=_fit._weighted_loss(loss, np.ones(x.size)), f_scale=0.1)
    np.testing.assert_allclose(b.x, a.x, rtol=1e-9)
    assert b.cost == pytest.approx(a.cost, rel=1e-9)


@pytest.mark.parametrize("loss", LOSSES)
def test_weights_equal_repeated_rows(loss):
    # A resample holding row i c_i times has the loss Σ_i c_i·ρ(r_i²): repeating the rows
    # and weighting the distinct rows is the same problem, so both fits agree.
    x, y = _toy_problem()
    counts = np.random.default_rng(5).integers(0, 4, x.size)
    counts[0] = 2
    keep = counts > 0
    rep = np.repeat(np.arange(x.size), counts)

    def res_rep(p):
        return np.log(p[0] * np.exp(p[1] * x[rep])) - np.log(y[rep])

    def res_w(p):
        return np.log(p[0] * np.exp(p[1] * x[keep])) - np.log(y[keep])

    a = least_squares(res_rep, [1.0, 1.0], loss=loss, f_scale=0.1)
    b = least_squares(res_w, [1.0, 1.0], loss=_fit._weighted_loss(loss, counts[keep]), f_scale=0.1)
    np.testing.assert_allclose(b.x, a.x, rtol=1e-7)
    assert b.cost == pytest.approx(a.cost, rel=1e-9)


def test_weighted_loss_refuses_an_unknown_name():
    with pytest.raises(ValueError, match="unknown"):
        _fit._weighted_loss("l3", np.ones(3))(np.ones(3))


def test_objective_refuses_repeated_indices():
    # repeats are loss weights now; a repeated index would silently count a row twice
    df = pm.read_measurements(str(CSV)) if CSV.is_file() else None
    if df is None:
        pytest.skip("../shared/data is absent")
    from plaster_model.calibration.rows import prepare_rows

    rows = prepare_rows(df.head(40))
    rows = rows.subset(rows.ok)
    layout = _fit.build_layout(rows, True)
    with pytest.raises(ValueError, match="distinct"):
        _fit._objective(rows, layout, _fit.initial_guess(rows, layout), sel=[0, 0, 1])


def test_inference_curve_fit_unchanged_by_the_loose_starts(monkeypatch):
    # Points of a known roofline (t0 = 0.4 ms, η_c = 0.45, η_m = 0.6; batches 1-2
    # memory-bound, 4-256 compute-bound): with the loose start tolerance the fit
    # reaches the same parameters as with every start polished to 1e-8.
    F, W, gamma, bw = 8.2e9, 51e6, 65e12, 320e9
    b = np.array([1, 2, 4, 8, 16, 32, 64, 128, 256])
    t = pm.inference_batch_time(F, W, 0.0, b, 0.45 * gamma, 0.6 * bw, 4e-4)
    t = t * np.exp(np.random.default_rng(1).normal(0.0, 0.02, b.size))
    kw = dict(fwd_flops=F, weight_bytes=W, peak_flops=gamma, peak_bandwidth=bw)
    loose = pm.inference.fit_inference_curve(b, t, **kw)
    monkeypatch.setattr(_inference_fit, "_START_TOL", 1e-8)
    strict = pm.inference.fit_inference_curve(b, t, **kw)
    for name in ("t0_s", "compute_efficiency", "memory_efficiency"):
        assert getattr(loose, name) == pytest.approx(getattr(strict, name), rel=1e-6, abs=1e-12)


@pytest.mark.slow  # two fits of the published data with 50 bootstrap draws
@pytest.mark.skipif(not CSV.is_file(), reason="../shared/data is absent")
def test_fast_fit_matches_the_strict_fit_within_its_spread(monkeypatch):
    # The default fit against one with every shortcut's tolerance at 1e-8 (the slow fit of
    # the previous release, up to floating-point order; the weighting is exact, above).
    import warnings

    df = pm.read_measurements(str(CSV))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fast = pm.calibrate(df)
        monkeypatch.setattr(_fit, "BOOTSTRAP_TOL", 1e-8)
        monkeypatch.setattr(_inference_fit, "_START_TOL", 1e-8)
        strict = pm.calibrate(df)
    # the bootstrap spread is the same. Compared as interquartile ranges: now and then a
    # draw lands in another basin of the piecewise model (roofline maxima, overlap minima)
    # in one fit and not in the other, which moves a standard deviation of 50 draws by a
    # factor of 5 but not the bulk of the draws.
    def iqr(draws):
        q25, q75 = np.percentile(draws, [25, 75], axis=0)
        return q75 - q25

    sd_f, sd_s = iqr(fast.theta_bootstrap_), iqr(strict.theta_bootstrap_)
    spread = sd_s > 1e-3
    ratio = sd_f[spread] / sd_s[spread]
    assert 0.9 < np.median(ratio) < 1.1
    assert np.mean((ratio > 0.7) & (ratio < 1.4)) >= 0.85
    sd_s = strict.theta_bootstrap_.std(axis=0)
    # fitted parameters agree within the bootstrap spread, or to 0.02 in log units (2 % of
    # a factor): the main solve is the same, but its start differs by the inference
    # curves' ~1e-6, and along a nearly flat direction (an η_comm just under its bound of
    # 1) the solver stops ~1 % apart
    diff = np.abs(fast.theta_ - strict.theta_)
    bad = np.flatnonzero(diff > np.maximum(3.0 * sd_s, 2e-2))
    assert bad.size == 0, (bad, diff[bad], sd_s[bad], fast.theta_[bad], strict.theta_[bad])
    # predictions of every fitted row agree within their 90 % intervals
    pf, ps = fast.residuals_["predicted"].to_numpy(), strict.residuals_["predicted"].to_numpy()
    q = strict.predict(df.loc[strict.residuals_["row"].to_numpy()])
    np.testing.assert_allclose(q["value"].to_numpy(), ps, rtol=1e-9)  # the same rows, in order
    lo, hi = q["value_low"].to_numpy(), q["value_high"].to_numpy()
    inside = (pf >= lo) & (pf <= hi)
    assert inside.mean() >= 0.98, np.flatnonzero(~inside)
    assert np.median(np.abs(pf / ps - 1.0)) < 0.01
