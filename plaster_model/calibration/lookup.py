"""How a fitted calibration answers a configuration: its group, or a fallback, and the spreads.

:class:`LookupMixin` holds the look-ups of :class:`~plaster_model.Calibration` (split from
the estimator so each module has one job): the per-group natural parameters and draws, the
fallback levels for a (device, precision, phase[, engine]) no group covers, the precision
speedup, the model factor (with family priors), the communication efficiency per (backend,
link class), and the measured fallback and source spreads.
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import CalibrationLookupError
from .architecture import die_of
from . import fit as _fit
from .predict import log_prediction
from .rows import framework_family, inference_engine, model_family

__all__ = ["LookupMixin"]

#: Precisions whose groups stand in for each other when a device has no group of its own
#: precision (all run on the same tensor-core peak where the device has one).
_SIBLING_PRECISIONS = {"mixed": ("fp16", "bf16"), "fp16": ("mixed",), "bf16": ("mixed",)}

#: How a fallback answered a group that was not fitted, from the nearest to the farthest:
#: the same device and precision fitted with other frameworks/models, the same device at
#: a sibling precision, a fitted board of the same GPU die (:func:`.architecture.die_of`),
#: the efficiency the precision path shares across devices (the
#: random-effects mean of :mod:`.pooling`, plus the architecture's shrunk deviation), the
#: same device at another precision scaled by a measured or assumed speed-up, the median of
#: every group of the phase, another inference engine's group. Each level's errors are measured separately
#: (:meth:`LookupMixin._measure_fallback_spread`).
FALLBACK_LEVELS = ("framework", "precision", "die", "shared", "pooled", "engine")
#: Fallback levels that stay on the group's device and precision: they add no group-to-group
#: spread, so their intervals keep the source-to-source spread of a fitted group. The others
#: add the group-to-group spread instead, which already holds it (those groups were measured
#: by other sources): adding both would count the source twice.
WITHIN_GROUP_LEVELS = ("framework",)
#: Fewest measured fallback errors for a level to have a spread of its own.
MIN_FALLBACK_ERRORS = 10

#: Smallest group-to-group spread (sd of log η, log t, log η2) added to the interval of a
#: prediction answered by a fallback group: ±z·0.25 is about ×/÷ 1.5 at 90 %.
SD_BETWEEN_FLOOR = np.array([0.25, 0.5, 0.25])
#: Overheads at or below this [s] (1 µs: less than one kernel launch) are at their bound 0,
#: and are left out of the group-to-group spread of log t.
OVERHEAD_SPREAD_MIN_S = 1e-6


def _key_text(key) -> str:
    return "|".join(str(k) for k in key)


def _device(name, user):
    from ..catalog.loader import active_catalog
    if name is None:
        return None
    if not isinstance(name, str):
        return name
    if user and name in user:
        return user[name]
    try:
        return active_catalog().get("device", name)
    except KeyError:
        return None


def _z(level: float) -> float:
    # norm.ppf(q) is ndtri(q)·1 + 0: the same double, without importing scipy.stats (~1 s)
    from scipy.special import ndtri
    return float(ndtri(0.5 + level / 2.0))


def _robust_sd(x) -> float:
    """1.4826 · median |x| (x are residuals of a fit, centred on 0 by construction)."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    return float(1.4826 * np.median(np.abs(x))) if x.size else math.nan


class LookupMixin:
    """The look-ups of a fitted :class:`~plaster_model.Calibration` (see the module docstring)."""

    def _index_tables(self):
        """Per-group natural parameters and draws, for the look-ups of predict/parameters_for."""
        G = len(self.groups_)
        self._frameworks_cache, self._kernels_ref_cache = {}, {}
        x, B = self.theta_, self.theta_bootstrap_
        tau = np.asarray(self.group_time_scale_, dtype=float)
        self._gidx = {tuple(g): i for i, g in enumerate(self.groups_)}
        mf = self.model_factors_
        models = list(zip(mf["model"], mf["phase"])) if "phase" in mf else [(m, None) for m in mf["model"]]
        self._midx = {m: j for j, m in enumerate(models)}
        # natural parameters: log η, t [s], log η2 ; per group, point (G, 3) and draws (B, G, 3)
        nat = x[:3 * G].reshape(G, 3).copy()
        nat[:, 1] *= tau
        natB = B[:, :3 * G].reshape(len(B), G, 3).copy()
        natB[:, :, 1] *= tau
        self._nat, self._natB = nat, natB
        M = len(models)
        self._logk = x[3 * G:3 * G + M]
        self._logkB = B[:, 3 * G:3 * G + M]
        ce = getattr(self, "comm_efficiencies_", None)
        keys = [] if ce is None else list(zip(ce["backend"], ce["link_class"]))
        self._cidx = {k: i for i, k in enumerate(keys)}
        self._logc = x[3 * G + M:3 * G + M + len(keys)]
        self._logcB = B[:, 3 * G + M:3 * G + M + len(keys)]
        # group-to-group spread of (log η, log t, log η2) per phase: the extra uncertainty of
        # a configuration answered by another group (a fallback)
        # (sample sd over the phase's groups, or over all groups when the phase has fewer
        # than 3; never below SD_BETWEEN_FLOOR: a handful of groups cannot show how far an
        # unseen device, precision or framework may land)
        # (an overhead at its bound 0 says "none measurable", not a value: its log would be
        # −∞, clamped to some −20, and dominate the spread, so it is left out of it)
        with np.errstate(divide="ignore"):
            logt = np.where(nat[:, 1] > OVERHEAD_SPREAD_MIN_S, np.log(np.maximum(nat[:, 1], 1e-300)), np.nan)
        logs = np.column_stack([nat[:, 0], logt, nat[:, 2]])
        self._sd_between = {}
        for ph in ("training", "inference"):
            sel = np.array([g[2] == ph for g in self.groups_])
            v = logs[sel] if sel.sum() >= 3 else logs
            with np.errstate(invalid="ignore", divide="ignore"):
                import warnings
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    sd = np.nanstd(v, axis=0, ddof=1) if len(v) >= 2 else np.zeros(3)
            self._sd_between[ph] = np.maximum(np.nan_to_num(sd), SD_BETWEEN_FLOOR)
        # device-to-device and architecture spreads of log η within each class (the group
        # key without the device), the variance components of :mod:`.pooling`
        from .architecture import architecture_of
        from .pooling import variance_components
        self.pooling_ = variance_components(
            [tuple(g[1:]) for g in self.groups_],
            [architecture_of(_device(g[0], self.user_devices_) or g[0]) for g in self.groups_], nat[:, 0])
        self._sd_kappa = float(np.std(self._logk)) if self._logk.size >= 2 else 0.3
        # a model without a factor is answered by the median of the others: the spread of
        # that answer is measured, each fitted factor predicted by the median of the rest
        # (the interval quantile of the errors over z), and never narrower than the sd
        if self._logk.size >= 3:
            loo = np.array([self._logk[k] - np.median(np.delete(self._logk, k)) for k in range(self._logk.size)])
            self._sd_kappa = max(self._sd_kappa, float(np.quantile(np.abs(loo), self.interval) / _z(self.interval)))

    # ------------------------------------------------------------------ look-ups
    def _key(self, device, precision, phase, model=None, framework=None):
        key = (device, precision, phase)
        if self.by_framework:
            key += (framework_family(framework) if framework else "unknown",)
        elif phase == "inference":
            # None: no engine named; the look-up takes the device's best-covered engine
            key += (inference_engine(framework) if framework else None,)
        if self.per == "device_precision_model":
            key += (model,)
        return key

    def _resolve(self, key, peak=None, dev=None):
        """Group parameters for ``key`` (``dev``: the query's Device, when known): (point (3,), draws (B, 3), scatter, extra sd of
        (log η, log t, log η2) (3,), notes, source group text, fallback level: None for a
        fitted group, else one of :data:`FALLBACK_LEVELS`). Falls back to similar groups when ``key`` was not
        fitted, and says so. Inference groups are keyed by engine (TensorRT, onnxruntime, a
        framework's own runtime): a fallback stays within the engine, and crosses to another
        engine only when the engine has no group of the phase at all (stated, with the
        group-to-group spread)."""
        engine_keyed = key[2] == "inference" and not self.by_framework
        i = self._gidx.get(tuple(key))
        p = self.params_
        if i is not None:
            row = p.iloc[i]
            note = (f"{row['group']}: fitted on {row['n_rows']} row(s) ({row['frameworks']}); "
                    f"in-sample median |error| {row['median_abs_pct_error']:.3g} %")
            return self._nat[i], self._natB[:, i], float(row["scatter"]), np.zeros(3), [note], row["group"], None
        device, precision, phase = key[:3]
        same_phase = [j for j, g in enumerate(self.groups_) if g[2] == phase]
        if not same_phase:
            raise CalibrationLookupError(f"the calibration has no {phase} group at all (groups: "
                             f"{[_key_text(g) for g in self.groups_]})")
        if engine_keyed:
            same_engine = [j for j in same_phase if self.groups_[j][3] == key[3]]
            if same_engine:
                return self._fallback(key, same_engine, peak, dev)
            nat, natB, sc, extra, notes, src, _ = self._fallback(key, same_phase, peak, dev)
            notes.append(f"no {key[3]} inference group was fitted at all: another engine's parameters, "
                         "with the group-to-group spread")
            return nat, natB, sc, np.maximum(extra, self._sd_between[phase]), notes, src, "engine"
        return self._fallback(key, same_phase, peak, dev)

    def _measure_fallback_spread(self, rows, layout) -> tuple[dict, dict]:
        """How wrong a fallback is, measured: each fitted group with at least 3 rows is
        answered as if it had not been fitted (the fallback path of :meth:`_resolve` over the
        other groups, no refit) and its rows' log errors ``log ŷ' − log y`` are pooled per
        phase, and per phase and fallback level (:data:`FALLBACK_LEVELS`: another device
        at the same precision errs less than the same device at another precision). Each sd
        is the ``interval`` quantile of the absolute errors over ``z``: the least spread a
        fallback prediction's interval gets, its level's where at least
        :data:`MIN_FALLBACK_ERRORS` errors measured it, else its phase's.

        Returns
        -------
        (dict, dict)
            ``{phase: sd}`` and ``{phase: {level: sd}}``.
        """
        pooled, by_level = {}, {}
        z = _z(self.interval)
        for ph in ("training", "inference"):
            errs: dict[str, list] = {}
            for i, key in enumerate(layout.groups):
                m = layout.row_group == i
                if key[2] != ph or m.sum() < 3:
                    continue
                pool = [j for j, g in enumerate(self.groups_) if g[2] == ph and j != i]
                if self.per == "device_precision" and not self.by_framework and ph == "inference":
                    same = [j for j in pool if self.groups_[j][3] == key[3]]
                    pool = same or pool
                if not pool:
                    continue
                dev = _device(key[0], self.user_devices_)
                try:
                    res = self._fallback(key, pool, float(rows.peak[m][0]), dev)
                except (LookupError, ValueError):
                    continue
                nat, level = res[0], res[6]
                sub = rows.subset(m)
                eta, t, eta2, kappa = layout.unpack(self.theta_, layout.row_group[m], layout.row_model[m],
                                                    layout.row_comm[m])
                eta2 = np.where(layout.row_comm[m] >= 0, eta2, np.exp(nat[2]))
                k = int(m.sum())
                # the fallback group's overhead, for each row's model (its operator count)
                ratio = _fit.operator_ratio(layout.row_kernels[m], self._kernels_ref(res[5], ph))
                lp = log_prediction(sub, np.full(k, np.exp(nat[0])), nat[1] * ratio, eta2, kappa)
                e = lp - np.log(sub.value)
                errs.setdefault(level, []).append(e[np.isfinite(e)])
            allv = np.concatenate([v for vs in errs.values() for v in vs]) if errs else np.array([])
            pooled[ph] = float(np.quantile(np.abs(allv), self.interval) / z) if allv.size >= 5 else math.nan
            by_level[ph] = {}
            for level, vs in sorted(errs.items()):
                v = np.concatenate(vs)
                if v.size >= MIN_FALLBACK_ERRORS:
                    by_level[ph][level] = float(np.quantile(np.abs(v), self.interval) / z)
        return pooled, by_level

    def _source_sd(self, phase) -> float:
        """The source-to-source spread of ``phase``. Where no group was measured by several
        sources it is unknown, and the measured fallback spread of the phase (how far one
        group sits from another) stands in: wider, never narrower, when the data cannot say."""
        v = getattr(self, "source_spread_", {}).get(phase, math.nan)
        return float(v) if v is not None and math.isfinite(v) else self._fallback_sd(phase)

    def _fallback_sd(self, phase, level=None) -> float:
        """The measured fallback spread of ``phase`` at fallback ``level`` (else the phase's)."""
        v = getattr(self, "fallback_level_spread_", {}).get(phase, {}).get(level, math.nan)
        if v is not None and math.isfinite(v):
            return float(v)
        v = getattr(self, "fallback_spread_", {}).get(phase, math.nan)
        return float(v) if v is not None and math.isfinite(v) else 0.0

    def _concrete(self, key):
        """``key`` with an unnamed inference engine (None) replaced by the engine with the most
        rows for this device and precision (else this device, else the phase), and a note."""
        if key[2] != "inference" or self.by_framework or key[3] is not None:
            return tuple(key), []
        p = self.params_
        inf = [g for g in self.groups_ if g[2] == "inference"]
        cand = [g for g in inf if g[:2] == tuple(key[:2])] or [g for g in inf if g[0] == key[0]] or inf
        if not cand:
            return tuple(key), []
        best = max(cand, key=lambda g: (int(p.iloc[self._gidx[tuple(g)]]["n_rows"]), str(g)))
        return (tuple(key[:3]) + (best[3],) + tuple(key[4:]),
                [f"no inference engine named: {best[3]} assumed (pass framework= to choose)"])

    def _fallback(self, key, same_phase, peak, dev=None):
        """The fallback levels of :meth:`_resolve` among the groups ``same_phase``."""
        p = self.params_
        vendor, kind = getattr(dev, "vendor", ""), getattr(dev, "kind", "")
        device, precision, phase = key[:3]
        sib = _SIBLING_PRECISIONS.get(precision, ())
        levels = [
            ("the same device and precision (other framework/model)",
             [j for j in same_phase if self.groups_[j][:2] == (device, precision)], "framework"),
            (f"the same device at a sibling precision ({', '.join(sib)})",
             [j for j in same_phase if self.groups_[j][0] == device and self.groups_[j][1] in sib], "precision"),
        ]
        for what, cand, level in levels:
            if cand:
                src = ", ".join(p.iloc[j]["group"] for j in cand)
                extra = np.zeros(3) if level == "framework" else self._sd_between[phase]
                note = (f"no {_key_text(key)} group was fitted: using {what}: {src}"
                        + (f" (median of {len(cand)})" if len(cand) > 1 else ""))
                return (np.median(self._nat[cand], axis=0), np.median(self._natB[:, cand], axis=1),
                        float(np.median(p.iloc[cand]["scatter"])), extra, [note], src, level)
        similar = [j for j in same_phase if self.groups_[j][1] in (precision, *sib) and self.groups_[j][0] != device
                   and (not vendor or p.iloc[j]["vendor"] == vendor) and (not kind or p.iloc[j]["kind"] == kind)]
        exact = [j for j in similar if self.groups_[j][1] == precision]
        # a fitted board of the same die (V100 PCIe for V100 SXM2, A100 80 GB for A100 40 GB):
        # the same SMs and kernels, its clocks carried by the power-cap ratio, before the
        # efficiency shared across dies and architectures
        die = die_of(dev if dev is not None else device)
        same_die = [j for j in (exact or similar) if die is not None and die_of(self.groups_[j][0]) == die]
        if same_die:
            nat, natB, cnotes = self._other_devices(dev, same_die)
            src = ", ".join(p.iloc[j]["group"] for j in same_die)
            note = (f"no {_key_text(key)} group was fitted: using a fitted board of the same {die} die: {src}"
                    + (f" (median of {len(same_die)})" if len(same_die) > 1 else ""))
            return (np.median(nat, axis=0), np.median(natB, axis=1),
                    float(np.median(p.iloc[same_die]["scatter"])), np.zeros(3), [note] + cnotes, src, "die")
        if exact or similar:
            return self._shared(key, exact or similar, dev)
        other = [j for j in same_phase if self.groups_[j][0] == device and self.groups_[j][1] != precision]
        if other and peak:
            # the nearest precision first: int8 from fp16/mixed, half from fp32, ...
            order = {"int8": ("fp16", "mixed", "bf16", "fp8", "fp32"), "fp8": ("fp16", "bf16", "mixed", "int8")}
            pref = order.get(precision, ())
            rank = lambda k: (pref.index(self.groups_[k][1]) if self.groups_[k][1] in pref else len(pref),  # noqa: E731
                              -p.iloc[k]["n_rows"])
            j = min(other, key=rank)
            src = p.iloc[j]
            roof = bool(getattr(self, "roofline", False))
            if phase == "inference" and precision == "int8" and src["precision"] in ("fp16", "mixed", "bf16"):
                # an engine that runs fp16 runs int8 at the same fraction of the int8 roofline
                # (TensorRT's int8 kernels are the fp16 ones on the int8 tensor-core path)
                log_speed = 0.0 if roof else math.log(peak / src["peak_flops"])
                sd_speed = max(abs(math.log(peak / src["peak_flops"])) / (2 * _z(self.interval)), 0.1)
                how = f"the same fraction of the int8 roofline (int8/{src['precision']} peak ratio {peak / src['peak_flops']:.3g})"
            else:
                engine = self.groups_[j][3] if phase == "inference" and len(self.groups_[j]) > 3 else None
                log_speed, sd_speed, how = self._speedup(src["precision"], precision, src["peak_flops"], peak, phase,
                                                         engine)
            # η (a fraction of each precision's roofline) scaled by the measured ratio; without
            # the roofline, the sustained rate scaled and turned into a fraction of this peak
            shift = log_speed + (0.0 if roof else math.log(src["peak_flops"] / peak))
            nat, natB = self._nat[j].copy(), self._natB[:, j].copy()
            nat[0] += shift
            natB[:, 0] += shift
            note = (f"no {_key_text(key)} group was fitted: using {src['group']} at its efficiency "
                    f"× {math.exp(log_speed):.3g} ({how})")
            extra = self._sd_between[phase].copy()
            extra[0] = sd_speed
            return nat, natB, float(src["scatter"]), extra, [note], src["group"], "precision"
        note = (f"no {_key_text(key)} group and no similar device was fitted: using the median "
                f"of all {len(same_phase)} {phase} groups (device-to-device spread added to the interval)")
        nat, natB, cnotes = self._other_devices(dev, same_phase)
        return (np.median(nat, axis=0), np.median(natB, axis=1),
                float(np.median(p.iloc[same_phase]["scatter"])), self._sd_between[phase], [note] + cnotes,
                "pooled", "pooled")

    def _shared(self, key, cand, dev):
        """The answer for a device with no group of its own: the parameters the groups
        ``cand`` (other devices, same precision path, phase and engine) share, by the model
        of :mod:`.pooling`.

        ``log η``: the random-effects mean over the devices (each group's sustained rate
        first carried to ``dev`` by :meth:`_other_devices`' power-cap ratio) plus the
        deviation of ``dev``'s architecture, kriged from the fitted devices' deviations by
        launch year (0 far from every fitted generation), with ``se(μ̂)² + Var(δ)`` added to
        its interval (``τ`` the measured device-to-device sd, :attr:`pooling_`, never below
        ``SD_BETWEEN_FLOOR[0]``). The overhead (log t) and the memory efficiency (log η_m,
        over the devices of ``dev``'s memory technology, HBM2, GDDR6, ..., where one was
        fitted, else all) are shared the same way with their own device-to-device spreads.
        Returns the tuple of :meth:`_resolve` with level ``"shared"``."""
        from .architecture import architecture_of, architecture_year
        from .pooling import correlated_deviation, random_effects_mean

        p = self.params_
        phase = key[2]
        nat, natB, cnotes = self._other_devices(dev, cand)
        devices = [p.iloc[j]["device"] for j in cand]
        names = sorted(set(devices))
        # one value per device (several groups of one device: by_framework / per model)
        idx = [[k for k, d in enumerate(devices) if d == n] for n in names]
        y = np.array([np.median(nat[ks, 0]) for ks in idx])
        yB = np.stack([np.median(natB[:, ks, 0], axis=1) for ks in idx], axis=1)  # (B, k)
        v = np.var(yB, axis=0) if len(yB) > 1 else np.zeros(len(y))
        pool = self.pooling_
        tau = max(np.nan_to_num(pool["sd_device"], nan=0.0), SD_BETWEEN_FLOOR[0])
        mu, se, w = random_effects_mean(y, v, tau)
        # the deviation of dev's architecture from the shared mean: correlated with the
        # fitted devices' by launch year (neighbouring generations alike), 0 far from all
        arch = architecture_of(dev if dev is not None else key[0])
        year = architecture_year(dev if dev is not None else key[0])
        years = [architecture_year(_device(n, self.user_devices_) or n) for n in names]
        delta, var_dev = correlated_deviation(y - mu, years, year, v, tau)
        out, outB = np.empty(3), np.empty((len(natB), 3))
        out[0] = mu + delta
        outB[:, 0] = yB @ w + delta
        memtech = getattr(dev, "memory_technology", None)
        same_mem = [k for k, n in enumerate(names) if memtech is not None and getattr(
            _device(n, self.user_devices_), "memory_technology", None) == memtech]
        extra_var = np.zeros(3)
        # the overhead (log t) and the memory efficiency (log η_m, over the devices of dev's
        # memory technology where one was fitted) are shared the same way, each with its
        # own device-to-device sd; an overhead at its bound 0 on some device: their median
        for c, pick in ((1, list(range(len(names)))), (2, same_mem or list(range(len(names))))):
            vals = np.array([np.median(nat[idx[k], c]) for k in pick])
            draws = np.stack([np.median(natB[:, idx[k], c], axis=1) for k in pick], axis=1)
            if c == 1 and not np.all(vals > OVERHEAD_SPREAD_MIN_S):
                out[c], outB[:, c] = np.median(vals), np.median(draws, axis=1)
                continue
            if c == 1:
                vals, draws = np.log(vals), np.log(np.maximum(draws, 1e-300))
            tau_c = float(self._sd_between[phase][c])
            vc = np.var(draws, axis=0) if len(draws) > 1 else np.zeros(len(vals))
            m_c, se_c, w_c = random_effects_mean(vals, vc, tau_c)
            d_c, var_c = correlated_deviation(vals - m_c, [years[k] for k in pick], year, vc, tau_c)
            out[c], outB[:, c] = m_c + d_c, draws @ w_c + d_c
            if c == 1:
                out[c], outB[:, c] = math.exp(out[c]), np.exp(outB[:, c])
            extra_var[c] = max(se_c ** 2 - float(np.var(draws @ w_c)), 0.0) + var_c
        extra = self._sd_between[phase].copy()
        # the draws carry the devices' sampling spread; the interval adds the rest of se(μ̂)²
        # (the between-device part) and the new device's deviation variance Var(δ) (its
        # architecture's, kriged, and its own); a training step's overhead keeps the
        # group-to-group spread of the phase (its overhead is not operator-scaled)
        sampled = float(np.var(outB[:, 0])) if len(outB) > 1 else 0.0
        extra[0] = math.sqrt(max(se ** 2 - sampled, 0.0) + var_dev)
        extra[1:] = np.sqrt(np.maximum(extra_var[1:], 0.0)) if phase == "inference" else extra[1:]
        src = ", ".join(p.iloc[j]["group"] for j in cand)
        how = (f"its {arch} ({year:g}) deviation {delta:+.3g} (from the fitted devices' by launch year)"
               if abs(delta) >= 0.005 else f"no {arch} deviation (deviation 0: no fitted device of a nearby generation)")
        note = (f"no {_key_text(key)} group was fitted: using the efficiency shared across devices "
                f"(random-effects mean of {len(names)} device(s): {', '.join(names)}; η = {math.exp(mu):.3g}) "
                f"and {how}; device-to-device sd {tau:.3g} (log) added to the interval"
                + (f"; memory efficiency of the {memtech} device(s)" if same_mem and memtech else ""))
        return out, outB, float(np.median(p.iloc[cand]["scatter"])), extra, [note] + cnotes, src, "shared"

    def _other_devices(self, target, cand):
        """The natural parameters (and draws) of the groups ``cand``, fitted on other devices,
        as they stand for the Device ``target``: a group on a device of the same vendor, kind and
        fabrication process has its sustained efficiency scaled by the ratio of the two
        devices' power-capped clocks (:func:`~plaster_model.estimators.power_capped_clock_ratio`:
        a 70 W T4 holds 0.77 of the clock fraction a 300 W V100 does), applied to the
        compute-bound share ``1/r_∞`` of the group's roofline time only
        (:func:`~plaster_model.estimators.power_cap.capped_efficiency_ratio`: memory clocks are
        not power-managed; ``r_∞`` the group's ``roofline_ref``, 1 without). Other groups pass
        unchanged: on another process the energy per operation is not known. Returns
        (nat (n, 3), draws (B, n, 3), notes)."""
        from ..estimators.power_cap import capped_efficiency_ratio, power_capped_clock_ratio

        p = self.params_
        nat, natB = self._nat[cand].copy(), self._natB[:, cand].copy()
        proc = getattr(target, "process", None)
        if proc is None:
            return nat, natB, []
        notes = []
        for k, j in enumerate(cand):
            src = _device(p.iloc[j]["device"], self.user_devices_)
            if (src is None or getattr(src, "process", None) != proc or src.vendor != target.vendor
                    or src.kind != target.kind or src.name == target.name
                    or target.power_w is None or src.power_w is None):  # no published power: no cap ratio
                continue
            # both at the source group's precision: the clock fraction is the chip's, whatever unit runs
            try:
                peak_t = target.peak(p.iloc[j]["precision"])
            except ValueError:
                continue
            x = power_capped_clock_ratio(target.power_w, peak_t, src.power_w, float(p.iloc[j]["peak_flops"]))
            # the cap lowers the SM clock only: the memory-bound share of the group's roofline
            # time (1 − 1/r_∞, its typical model's) does not stretch (issue 22: a T4 at mixed
            # precision held 1.10 × a V100's fitted η, not 0.77 ×)
            rr = float(p.iloc[j].get("roofline_ref", math.nan))
            c = min(1.0, 1.0 / rr) if rr == rr and rr > 0 else 1.0
            r = capped_efficiency_ratio(x, c)
            nat[k, 0] += math.log(r)
            natB[:, k, 0] += math.log(r)
            notes.append(f"sustained rate × {r:.3g} for the power cap ({target.name} {target.power_w:.0f} W "
                         f"against {src.name} {src.power_w:.0f} W at their peaks, both {proc}: clock × {x:.3g} "
                         f"on the {c:.0%} of the time in compute-bound operators)")
        return nat, natB, sorted(set(notes))

    def _roofline(self, model, dev, prec, phase, src) -> tuple[float, list]:
        """The per-operator roofline ratio ``r_∞`` of ``model`` on ``dev`` at ``prec``
        (:func:`plaster_model.model_builders.operators.roofline_factor`), else the median of
        the answering group(s)' rows (``roofline_ref``), else 1; and a note."""
        from ..model_builders.operators import operator_layers, roofline_factor

        if not getattr(self, "roofline", False):
            return 1.0, []
        m = self._model(model) if model is not None else None
        if m is not None and dev is not None and (getattr(m, "layers", None) is not None
                                                  or operator_layers(m.name) is not None):
            engine = (src.split("|")[3] if phase == "inference" and isinstance(src, str)
                      and src.count("|") >= 3 and not self.by_framework else None)
            r = roofline_factor(m, dev, prec, phase, engine)
            return r, ([f"per-operator roofline {r:.3g} × the FLOP-only time ({m.name} on {dev.name}, {prec})"]
                       if r != 1.0 else [])
        p = self.params_
        if "roofline_ref" in p.columns:
            refs = [float(p.iloc[self._gidx[g]]["roofline_ref"]) for g in self._gidx
                    if _key_text(g) in str(src).split(", ")]
            refs = [v for v in refs if math.isfinite(v) and v > 0]
            if refs:
                r = float(np.median(refs))
                return r, [f"operators of the model unknown: the answering group's median roofline ratio {r:.3g}"]
        return 1.0, []

    def _speedup(self, prec_from, prec_to, peak_from, peak_to, phase, engine=None):
        """log of the sustained-rate ratio ``prec_to``/``prec_from`` for a device with no
        ``prec_to`` group: the median over devices fitted at both precisions in ``phase`` (for
        inference, with the same ``engine``: TensorRT's fp16 gain over fp32, with fused
        kernels, says little of a framework's mixed precision); without any, the geometric
        mean of 1 (no gain) and the peak ratio (full gain), with an sd that puts both ends at
        the interval's edges. Returns (log ratio, sd, text)."""
        cls = lambda q: "half" if q in ("fp16", "mixed", "bf16") else q  # noqa: E731
        p = self.params_
        # roofline: η is a fraction of each precision's own roofline and the ratio of the
        # η carries; without it, the ratio of sustained rates η·γ_peak (the older model)
        roof = bool(getattr(self, "roofline", False))
        rate = {}
        for g, (_, row) in zip(self.groups_, p.iterrows()):
            eng = g[3] if row["phase"] == "inference" and len(g) > 3 else None
            # η is a fraction of each precision's own per-operator roofline: its ratio
            # between precisions is what carries from device to device
            rate.setdefault((row["device"], row["phase"], eng, cls(row["precision"])), []).append(
                math.log(row["efficiency"]) + (0.0 if roof else math.log(row["peak_flops"])))
        ratios = []
        for (dev, ph, eng, q), v in rate.items():
            if ph == phase and eng == engine and q == cls(prec_to) and (dev, ph, eng, cls(prec_from)) in rate:
                ratios.append(np.median(v) - np.median(rate[(dev, ph, eng, cls(prec_from))]))
        if ratios:
            sd = _robust_sd(np.array(ratios) - np.median(ratios)) if len(ratios) >= 3 else 0.3
            return (float(np.median(ratios)), max(sd, 0.1),
                    f"{prec_to}/{prec_from} {phase} efficiency ratio (of each precision's roofline) of "
                    f"{len(ratios)} device(s) fitted at both" + (f" with {engine}" if engine else ""))
        if not roof:
            half = 0.5 * math.log(peak_to / peak_from)
            return half, abs(half) / _z(self.interval), (f"no device was fitted at both precisions: the geometric "
                                                         f"mean of no gain and the peak ratio {peak_to / peak_from:.3g}")
        # no device measured both: the same fraction of the precision's own roofline, with
        # an sd that spans the efficiency spread between precisions (×/÷ 1.6 at 90 %)
        return 0.0, 0.3, (f"no device was fitted at both precisions: the same fraction of the "
                          f"{prec_to} per-operator roofline (peak ratio {peak_to / peak_from:.3g})")

    def _frameworks_of(self, src: str, phase: str) -> set:
        """Framework families the group(s) named in ``src`` were fitted on."""
        cache = self.__dict__.setdefault("_frameworks_cache", {})
        if (src, phase) not in cache:
            cache[(src, phase)] = self._frameworks_uncached(src, phase)
        return cache[(src, phase)]

    def _frameworks_uncached(self, src: str, phase: str) -> set:
        p = self.params_
        names = p["group"][p["phase"] == phase] if src == "pooled" else src.split(", ")
        fws = set()
        for g in names:
            hit = p.loc[p["group"] == g, "frameworks"]
            if len(hit):
                fws |= {f.strip() for f in str(hit.iloc[0]).split(",") if f.strip()}
        return fws

    def _setup_sd(self, src, phase, framework) -> np.ndarray:
        """The framework-to-framework spread (sd of log η, log t, log η2) for a run of
        ``framework`` answered by ``src``: 0 when the group was fitted on runs of that
        framework, else :attr:`setup_spread_`."""
        if framework and framework_family(framework) in self._frameworks_of(src, phase):
            return np.zeros(3)
        return np.asarray(self.setup_spread_, dtype=float)

    def _kappa(self, model, phase="training"):
        """(log κ, draws, extra sd, notes) of a model in ``phase``. Factors are per (model,
        phase). A model without a factor in ``phase`` takes its factor of the other phase;
        a model with none takes the median factor of its family's fitted models in ``phase``
        (ResNets for a ResNet-101), else the median of all the phase's fitted factors. Either
        way the model-to-model spread is added to its interval."""
        nB = len(self.theta_bootstrap_)
        if not len(self.model_factors_):
            return 0.0, np.zeros(nB), 0.0, []
        key = _fit.factor_key(model, phase)
        j = self._midx.get(key)
        if j is not None:
            note = f"model factor κ({key[0]}, {phase}) = {math.exp(self._logk[j]):.3g}"
            return float(self._logk[j]), self._logkB[:, j], 0.0, [note]
        mf = self.model_factors_
        base = list(mf["model"])
        ph_of = list(mf["phase"]) if "phase" in mf else [phase] * len(base)
        names = [f"{b} ({q})" for b, q in zip(base, ph_of)]
        other = [k for k, b in enumerate(base) if b == _fit.factor_family(model)]
        if other:  # the same model in the other phase, with the model-to-model spread
            k = other[0]
            return float(self._logk[k]), self._logkB[:, k], self._sd_kappa, [
                f"model {model!r} has no {phase} factor: κ = {math.exp(self._logk[k]):.3g}, its {ph_of[k]} "
                "factor, with the model-to-model spread"]
        fam = model_family(model)
        same = [k for k, m in enumerate(base) if fam is not None and model_family(m) == fam and ph_of[k] == phase]
        allp = [k for k in range(len(names)) if ph_of[k] == phase] or list(range(len(names)))
        pool, what = (same, f"the {fam} family's fitted factor(s) ({', '.join(names[k] for k in same)})") if same \
            else (allp, f"all {len(allp)} fitted factors")
        lk = float(np.median(self._logk[pool]))
        lkB = np.median(self._logkB[:, pool], axis=1)
        return lk, lkB, self._sd_kappa, [
            f"model {model!r} has no fitted factor: κ = {math.exp(lk):.3g}, the median of {what}; "
            "the model-to-model spread is added to the interval"]

    def _model(self, name):
        """The Model called ``name`` (the fit's user models first, then the zoo), or None."""
        if name is None:
            return None
        if not isinstance(name, str):
            return name
        m = self.user_models_.get(name)
        if m is not None:
            return m
        try:
            from ..catalog.loader import active_catalog
            return active_catalog().get("model", name)
        except (KeyError, LookupError, ValueError):
            return None

    def _kernels_ref(self, src, phase) -> float:
        """K̄ of the group(s) ``src`` (the median operator count of the models their
        per-batch overhead was fitted on; ``"pooled"``: every group of ``phase``), NaN when
        the phase is not operator-scaled or no count is known."""
        if phase not in _fit.OPERATOR_SCALED_PHASES or "kernels_ref" not in self.params_:
            return math.nan
        cache = self.__dict__.setdefault("_kernels_ref_cache", {})
        if (src, phase) not in cache:
            cache[(src, phase)] = self._kernels_ref_uncached(src, phase)
        return cache[(src, phase)]

    def _kernels_ref_uncached(self, src, phase) -> float:
        p = self.params_
        names = set(p["group"][p["phase"] == phase]) if src == "pooled" else set(str(src).split(", "))
        refs = p.loc[p["group"].isin(names), "kernels_ref"].to_numpy(dtype=float)
        refs = refs[np.isfinite(refs) & (refs > 0)]
        return float(np.median(refs)) if refs.size else math.nan

    def _operator_ratio(self, src, phase, kernels) -> tuple[float, list]:
        """``K_m / K̄``: the share of the overhead of the group(s) ``src`` (fitted for their
        typical model, :meth:`_kernels_ref`) that a model of ``kernels`` operators pays in
        ``phase``; 1 when a count is unknown. Returns the ratio and a note."""
        ref = self._kernels_ref(src, phase)
        if not (kernels is not None and np.isfinite(kernels) and kernels > 0 and np.isfinite(ref)):
            return 1.0, []
        ratio = float(_fit.operator_ratio(kernels, ref))
        return ratio, [f"per-batch overhead × {ratio:.3g} ({kernels:g} operators against the "
                       f"{ref:g} of the group's typical model)"]

    def _comm(self, backend, lclass, n_devices=None):
        """(log η_comm, draws, extra sd, notes) for an exchange by ``backend`` over a link of
        class ``lclass``. Not fitted: the same backend on other link classes (median, with
        the spread between keys), else η_comm = 1 (the payload rate; a prior, stated)."""
        nB = len(self.theta_bootstrap_)
        ce = self.comm_efficiencies_
        i = self._cidx.get((backend, lclass))
        if i is not None:
            row = ce.iloc[i]
            note = (f"η_comm({backend} over {lclass}) = {math.exp(self._logc[i]):.3g}, fitted on "
                    f"{int(row['n_rows'])} multi-device row(s)")
            if n_devices and n_devices > row["max_devices"]:
                note += f" of at most {row['max_devices']:g} devices; {n_devices} is an extrapolation"
            return float(self._logc[i]), self._logcB[:, i], 0.0, [note]
        same = [k for k, (b, _) in enumerate(self._cidx) if b == backend]
        sd_keys = float(np.std(self._logc, ddof=1)) if len(self._logc) >= 2 else 0.3
        if same:
            lc = float(np.median(self._logc[same]))
            return lc, np.median(self._logcB[:, same], axis=1), max(sd_keys, 0.2), [
                f"η_comm({backend} over {lclass}) not fitted: {math.exp(lc):.3g}, the {backend} "
                f"efficiency fitted on other links ({', '.join(ce.iloc[k]['link_class'] for k in same)})"]
        return 0.0, np.zeros(nB), max(sd_keys, 0.2), [
            f"η_comm({backend} over {lclass}) not fitted: 1.0 (the link's payload rate; no run of "
            f"this backend was in the data)"]
