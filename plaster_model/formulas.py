"""The performance models as sympy expressions: read them, solve them, lambdify them.

Every model of :mod:`plaster_model.estimators` that has a closed form is here as a
:class:`Formula`: a sympy expression with its left-hand side, documented symbols, a
description and a reference. Formulas render as LaTeX in notebooks (``_repr_latex_``),
evaluate numerically on numpy arrays (:meth:`Formula.__call__`, :meth:`Formula.lambdify`)
and can be solved for any symbol (:meth:`Formula.solve_for`). The solvers below answer the
questions of the HPE slides symbolically:

* :func:`crossover_devices` — the device count ``p*`` where communication equals compute
  (tree, weak: ``p* = 2^(3·F·b·β/(2·w·γ))``; tree, strong: ``p* = exp(W(3·F·B·β·ln2/(2·w·γ)))``
  with ``W`` the Lambert W function; ring, strong: ``p* = 1 + 3·F·B·β/(2·w·γ)``);
* :func:`required_bandwidth` — the ``β`` at which they are equal at a given ``p``;
* :func:`max_compute_bound_params` — the largest model (parameters) that stays compute-bound;
* :func:`summa_min_matrix_size` — the smallest SUMMA matrix with no bandwidth stall.

sympy is imported by this module only (``import plaster_model`` does not load it).

Symbols (all positive reals; units in brackets)
-----------------------------------------------
=========  =============================================================
``p``      devices
``F``      forward FLOPs per sample [FLOP] (2 × MACs)
``b``      per-device batch (weak scaling) [samples]
``B``      global batch (strong scaling) [samples]
``gamma``  sustained device rate γ [FLOP/s]
``beta``   link bandwidth β per direction [B/s]
``alpha``  per-message latency α [s]
``w``      gradient bytes ``w = P·s`` [B]
``P``      parameters
``s``      bytes per element [B]
``g``      devices per node; ``m`` NICs per node; ``beta_in``, ``alpha_in`` the intra-node link
``k``      parameter-server shards; ``beta_s`` server bandwidth [B/s]
``n``      SUMMA matrix size (``n × n``); ``p`` its grid side
``m_``, ``k_``, ``n_``  rectangular GEMM dimensions; ``p_r × p_c`` the grid
=========  =============================================================

Examples
--------
>>> from plaster_model import formulas as fm
>>> f = fm.crossover_devices("tree", "weak")
>>> f.expr
2**(3*F*b*beta/(2*gamma*w))
>>> round(float(f(F=7.8e9, b=64, beta=7e9, gamma=15.7e12, w=102.4e6)), 2)   # 2^3.26
9.58
"""
from __future__ import annotations

import numbers

import functools
from dataclasses import dataclass, field
from typing import Callable, Mapping

import sympy as sp

from .errors import NoClosedFormError, ParameterError, ParameterTypeError, UnknownNameError

__all__ = [
    "Formula", "SYMBOLS", "symbol", "lambdify",
    "compute_time", "allreduce_time", "iteration_time", "crossover_devices", "required_bandwidth",
    "max_compute_bound_params", "summa_compute_time", "summa_data_read_time", "summa_bandwidth_bound",
    "summa_min_matrix_size", "summa_gemm_bandwidth_bound", "ALGORITHMS",
]

#: Symbol name -> description (with unit). Every symbol is a positive real.
SYMBOLS: dict[str, str] = {
    "p": "devices (SUMMA: grid side, p × p devices)",
    "F": "forward FLOPs per sample [FLOP]",
    "b": "per-device batch [samples]",
    "B": "global batch [samples]",
    "gamma": "sustained device rate γ [FLOP/s]",
    "beta": "link bandwidth β per direction [B/s]",
    "alpha": "latency per message α [s]",
    "w": "gradient bytes w = P·s [B]",
    "P": "parameters",
    "s": "bytes per element [B]",
    "g": "devices per node",
    "m": "NICs per node",
    "beta_in": "intra-node bandwidth [B/s]",
    "alpha_in": "intra-node latency [s]",
    "k": "parameter-server shards",
    "beta_s": "server bandwidth [B/s]",
    "n": "SUMMA matrix size (n × n)",
    "m_": "GEMM rows of A and C",
    "k_": "GEMM reduction dimension",
    "n_": "GEMM columns of B and C",
    "p_r": "device-grid rows",
    "p_c": "device-grid columns",
    "T_c": "compute time [s]",
    "T_comm": "communication time [s]",
    "T_iter": "iteration time [s]",
    "T_read": "SUMMA data-read time [s]",
    "p_star": "crossover device count",
    "beta_req": "required bandwidth [B/s]",
    "P_max": "largest compute-bound parameter count",
    "n_min": "smallest compute-bound SUMMA matrix size",
}

_LATEX = {"gamma": r"\gamma", "beta": r"\beta", "alpha": r"\alpha", "beta_in": r"\beta_{in}",
          "alpha_in": r"\alpha_{in}", "beta_s": r"\beta_{s}", "m_": "m", "k_": "k", "n_": "n",
          "T_c": r"T_{c}", "T_comm": r"T_{comm}", "T_iter": r"T_{iter}", "T_read": r"T_{read}",
          "p_star": "p^{*}", "beta_req": r"\beta_{req}", "P_max": r"P_{max}", "n_min": r"n_{min}",
          "p_r": "p_{r}", "p_c": "p_{c}"}


@functools.lru_cache(maxsize=None)
def symbol(name: str) -> sp.Symbol:
    """The positive real sympy symbol ``name`` of :data:`SYMBOLS`."""
    if name not in SYMBOLS:
        raise UnknownNameError(f"unknown symbol {name!r}; known: {sorted(SYMBOLS)}")
    return sp.Symbol(name, positive=True)


def _S(*names):
    return [symbol(n) for n in names]


def _log2(x):
    return sp.log(x) / sp.log(2)


@dataclass(frozen=True)
class Formula:
    """A model equation ``lhs = expr`` with documented symbols.

    Attributes
    ----------
    name : str
        Short identifier, e.g. ``"ring_allreduce_time"``.
    lhs : sympy.Symbol
        The quantity defined.
    expr : sympy.Expr
        Its expression in the symbols of :data:`SYMBOLS`.
    description : str
        What it is, with units.
    reference : str
        Where the model comes from.
    assumptions : tuple of str
        Conditions under which it holds.
    """

    name: str
    lhs: sp.Symbol
    expr: sp.Expr
    description: str = ""
    reference: str = ""
    assumptions: tuple[str, ...] = ()
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    # ---- presentation
    @property
    def symbols(self) -> dict[str, str]:
        """Free symbols of ``expr`` (sorted by name) and their descriptions."""
        return {s.name: SYMBOLS.get(s.name, "") for s in self.args}

    @property
    def args(self) -> tuple[sp.Symbol, ...]:
        """Free symbols of ``expr``, sorted by name: the positional order of :meth:`lambdify`."""
        return tuple(sorted(self.expr.free_symbols, key=lambda s: s.name))

    def latex(self) -> str:
        """LaTeX of ``lhs = expr``."""
        names = {s: _LATEX[s.name] for s in self.expr.free_symbols | {self.lhs} if s.name in _LATEX}
        return f"{sp.latex(self.lhs, symbol_names=names)} = {sp.latex(self.expr, symbol_names=names)}"

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {self.latex()}$"

    def __str__(self) -> str:
        return f"{self.lhs} = {self.expr}"

    def __repr__(self) -> str:
        return f"Formula({self.name}: {self})"

    # ---- numerics
    def lambdify(self, args=None, modules="numpy") -> Callable:
        """A numpy function of ``args`` (symbol names; default :attr:`args`, sorted by name).

        Examples
        --------
        >>> f = allreduce_time("ring").lambdify(["w", "p", "beta", "alpha"])
        >>> round(float(f(100e6, 4, 10e9, 1e-6)), 6)
        0.015006
        """
        syms = self.args if args is None else tuple(symbol(a) if isinstance(a, str) else a for a in args)
        missing = set(self.args) - set(syms)
        if missing:
            raise ParameterError("args", sorted(s.name for s in missing),
                                 message=f"{self.name}: args lack {sorted(s.name for s in missing)}")
        key = (syms, modules if isinstance(modules, str) else id(modules))
        if key not in self._cache:
            self._cache[key] = sp.lambdify(syms, self.expr, modules=[modules, {"LambertW": _lambertw}]
                                           if modules == "numpy" else modules)
        return self._cache[key]

    def __call__(self, **values):
        """Evaluate with keyword values by symbol name (numbers or numpy arrays).

        Examples
        --------
        >>> round(float(allreduce_time("tree")(w=100e6, p=8, beta=7e9, alpha=0)), 4)
        0.0857
        """
        needed = [s.name for s in self.args]
        missing = [n for n in needed if n not in values]
        if missing:
            raise ParameterTypeError("values", missing,
                                     message=f"{self.name}: missing values for {missing} (needs {needed})")
        extra = set(values) - set(needed)
        if extra:
            raise ParameterTypeError("values", sorted(extra),
                                     message=f"{self.name}: unused values {sorted(extra)} (needs {needed})")
        import numpy as np

        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            out = np.asarray(self.lambdify()(*(np.asarray(values[n], dtype=float) for n in needed)))
        return out if out.ndim else float(out)

    def subs(self, **values) -> "Formula":
        """The formula with some symbols replaced by numbers or sympy expressions.

        Strings are refused: sympy would parse (and so evaluate) them as Python code.
        """
        for k, v in values.items():
            if isinstance(v, (bool, str, bytes)) or not isinstance(v, (numbers.Number, sp.Basic)):
                raise ParameterError(k, v, "a number or a sympy expression (no strings: sympy would parse them)")
        expr = self.expr.subs({symbol(k): v for k, v in values.items()})
        return Formula(self.name, self.lhs, expr, self.description, self.reference, self.assumptions)

    def solve_for(self, name: str, rhs=None, *, equals=None) -> list["Formula"]:
        """Solve ``lhs = expr`` for the symbol ``name`` (all solutions sympy finds).

        Parameters
        ----------
        name : str
            The symbol to solve for.
        equals : sympy expression, number or str, optional
            What the formula equals. Default: the formula's own left-hand side (``T_c``
            for a compute time), so ``solve_for("p")`` gives ``p`` in terms of ``T_c``.
        rhs : optional
            The older name of ``equals`` (deprecated: it used to default to 0, solving
            ``expr = 0``, which is rarely what is meant).

        Examples
        --------
        >>> f = compute_time("strong")
        >>> [str(s.expr) for s in f.solve_for("p")]
        ['3*B*F/(T_c*gamma)']
        >>> [str(s.expr) for s in f.solve_for("p", equals=2)]
        ['3*B*F/(2*gamma)']
        """
        if rhs is not None:
            import warnings

            warnings.warn("Formula.solve_for(rhs=) is deprecated: pass equals= (the default is now the "
                          "formula's left-hand side, not 0)", DeprecationWarning, stacklevel=2)
            if equals is None:
                equals = rhs
        if equals is None:
            equals = self.lhs
        rhs = equals
        x = symbol(name)
        sols = sp.solve(sp.Eq(self.expr, rhs), x)
        return [Formula(f"{self.name}_solved_for_{name}", x, sp.simplify(sol),
                        f"{name} from {self.name} = {rhs}", self.reference, self.assumptions) for sol in sols]


def _lambertw(x):
    from scipy.special import lambertw

    return lambertw(x).real


def lambdify(formula: Formula, args=None) -> Callable:
    """``formula.lambdify(args)``: a numpy function of the formula's symbols."""
    return formula.lambdify(args)


# --------------------------------------------------------------------------- data parallelism
@functools.lru_cache(maxsize=None)
def compute_time(scaling: str = "weak") -> Formula:
    """Compute time of one data-parallel iteration: weak ``3·F·b/γ``, strong ``3·F·B/(p·γ)``.

    Examples
    --------
    >>> compute_time("strong").expr
    3*B*F/(gamma*p)
    """
    from .estimators.data_parallel import TRAINING_FLOPS_FACTOR

    F, b, B, gamma, p = _S("F", "b", "B", "gamma", "p")
    k = sp.Integer(int(TRAINING_FLOPS_FACTOR)) if float(TRAINING_FLOPS_FACTOR).is_integer() \
        else sp.Float(TRAINING_FLOPS_FACTOR)
    if scaling == "weak":
        expr = k * F * b / gamma
    elif scaling == "strong":
        expr = k * F * B / (p * gamma)
    else:
        raise ParameterError("scaling", scaling, message=f"scaling must be 'weak' or 'strong', got {scaling!r}")
    return Formula(f"compute_time_{scaling}", symbol("T_c"), expr,
                   "per-device compute time of one iteration [s] (training = 3 × forward FLOPs)",
                   "HPE Deep Learning Cookbook slides (2017)",
                   (f"{scaling} scaling", "FLOPs = 2 × MACs", "γ = peak × efficiency"))


def _allreduce_expr(algorithm: str):
    w, p, beta, alpha = _S("w", "p", "beta", "alpha")
    if algorithm == "tree":
        return 2 * _log2(p) * (w / beta + alpha), "HPE slides; Qi et al., Paleo, ICLR 2017"
    if algorithm == "ring":
        return (2 * (p - 1) / p * w / beta + 2 * (p - 1) * alpha,
                "Patarasuk & Yuan, JPDC 2009; Thakur, Rabenseifner & Gropp, IJHPCA 2005")
    if algorithm == "halving_doubling":
        return 2 * _log2(p) * alpha + 2 * (p - 1) / p * w / beta, "Thakur, Rabenseifner & Gropp, IJHPCA 2005"
    if algorithm == "parameter_server":
        k, beta_s = _S("k", "beta_s")
        return 2 * (sp.Max(w / beta, p * w / (k * beta_s)) + alpha), "Li et al., OSDI 2014"
    if algorithm == "parameter_server_colocated":
        return 2 * (w / beta + alpha), "Li et al., OSDI 2014 (one shard per worker: k = p, β_s = β)"
    if algorithm == "hierarchical":
        g, m, beta_in, alpha_in = _S("g", "m", "beta_in", "alpha_in")
        n = p / g
        return (2 * (g - 1) / g * w / beta_in + 2 * (g - 1) * alpha_in
                + 2 * (n - 1) / n * w / (sp.Min(m, g) * beta) + 2 * (n - 1) * alpha,
                "Sergeev & Del Balso, Horovod, 2018; NCCL documentation")
    raise ParameterError("algorithm", algorithm, message=f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")


#: Algorithms with a symbolic all-reduce model. ``parameter_server`` is the general push/pull
#: (``k`` shards, server bandwidth ``β_s``); ``parameter_server_colocated`` its default
#: (one shard per worker); ``hierarchical`` assumes ``p`` a multiple of ``g``.
ALGORITHMS = ("tree", "ring", "halving_doubling", "parameter_server", "parameter_server_colocated",
              "hierarchical")


@functools.lru_cache(maxsize=None)
def allreduce_time(algorithm: str = "tree") -> Formula:
    """All-reduce time of ``w`` bytes over ``p`` devices (see :mod:`plaster_model.estimators.collectives`).

    Examples
    --------
    >>> allreduce_time("ring").expr
    alpha*(2*p - 2) + w*(2*p - 2)/(beta*p)
    """
    expr, ref = _allreduce_expr(algorithm)
    return Formula(f"{algorithm}_allreduce_time", symbol("T_comm"), expr,
                   f"{algorithm} all-reduce time [s]", ref, ("α-β model, full-duplex links",))


@functools.lru_cache(maxsize=None)
def iteration_time(algorithm: str = "tree", scaling: str = "weak") -> Formula:
    """``T_iter = T_c + T_comm`` (no overlap, no overhead)."""
    tc, tm = compute_time(scaling), allreduce_time(algorithm)
    return Formula(f"iteration_time_{algorithm}_{scaling}", symbol("T_iter"), tc.expr + tm.expr,
                   "data-parallel iteration time without overlap [s]", tm.reference,
                   tc.assumptions + tm.assumptions + ("no overlap",))


def _comm(algorithm, latency):
    expr, ref = _allreduce_expr(algorithm)
    if not latency:
        expr = expr.subs({symbol("alpha"): 0, symbol("alpha_in"): 0})
    return expr, ref


def _tidy(expr):
    """Simplify without merging logarithms (``log(p)/log(2)`` must not become
    ``log(p**…)``, which overflows when evaluated)."""
    return sp.factor(sp.together(sp.expand_log(expr, force=True)))


def _pick_root(solutions, x_name):
    """The crossover root: the only one, or the largest where sympy returns several.

    Where ``p*`` solves a quadratic (ring with latency), the product of the roots is
    negative (``−w/(α·β)`` weak, ``−(2·w/β + 3·F·B/γ)/(2·α)`` strong), so exactly one is
    positive: the larger. It is picked by evaluating the roots at a few random points.
    """
    if len(solutions) == 1:
        return solutions[0]
    if not solutions:
        raise ParameterError(x_name, None, message=f"sympy found no solution for {x_name}")
    import random

    rng = random.Random(0)
    wins = [0] * len(solutions)
    for _ in range(5):
        point = {s: sp.Float(10 ** rng.uniform(-1, 1)) for sol in solutions for s in sol.free_symbols}
        vals = [complex(sol.subs(point).evalf()).real for sol in solutions]
        wins[max(range(len(vals)), key=vals.__getitem__)] += 1
    return solutions[max(range(len(wins)), key=wins.__getitem__)]


@functools.lru_cache(maxsize=None)
def crossover_devices(algorithm: str = "tree", scaling: str = "weak", latency: bool = False) -> Formula:
    """Device count ``p*`` where all-reduce time equals compute time, solved by sympy.

    ================  ======  =============================================================
    algorithm         scaling ``p*`` (``latency=False``: ``α = 0``)
    ================  ======  =============================================================
    tree              weak    ``2^(3·F·b·β/(2·w·γ))``
    tree              strong  ``exp(W(3·F·B·β·ln 2/(2·w·γ)))`` (Lambert W)
    ring              weak    ``2·w·γ/(2·w·γ − 3·F·b·β)`` (none when ``3·F·b·β ≥ 2·w·γ``)
    ring              strong  ``1 + 3·F·B·β/(2·w·γ)``
    ================  ======  =============================================================

    With ``latency=True`` the tree keeps its form with ``w/β`` replaced by ``w/β + α`` and
    the ring's become the positive roots of quadratics. ``halving_doubling`` equals the
    ring without latency; with latency it has no closed form (use
    :func:`plaster_model.is_bandwidth_bound`).

    Examples
    --------
    >>> crossover_devices("ring", "strong").expr
    3*B*F*beta/(2*gamma*w) + 1
    """
    if algorithm == "halving_doubling":
        if latency:
            raise NoClosedFormError("halving_doubling with latency has no closed-form crossover; "
                                    "use plaster_model.is_bandwidth_bound (numeric)")
        algorithm_eq = "ring"
    elif algorithm in ("tree", "ring", "parameter_server_colocated"):
        algorithm_eq = algorithm
    else:
        raise NoClosedFormError(f"no closed-form crossover for {algorithm!r}; "
                                "use plaster_model.is_bandwidth_bound (numeric)")
    p = symbol("p")
    comm, ref = _comm(algorithm_eq, latency)
    tc = compute_time(scaling).expr
    if algorithm_eq == "parameter_server_colocated":
        raise NoClosedFormError("the co-located parameter server's time does not depend on p "
                                "(2·(w/β + α)): weak scaling never crosses over")
    poly = sp.Poly(sp.numer(sp.together(comm - tc)), p) if not comm.has(sp.log) else None
    if poly is not None and poly.degree() == 2:
        # ring with latency: a·p² + b·p + c = 0 with a > 0 > c, one positive root. Written
        # in the form that avoids cancellation for either sign of b (Piecewise).
        a, b, c = poly.all_coeffs()
        if a.is_negative:
            a, b, c = -a, -b, -c
        d = sp.sqrt(b**2 - 4 * a * c)
        expr = sp.Piecewise((-2 * c / (b + d), b > 0), ((-b + d) / (2 * a), True))
    else:
        expr = _pick_root(sp.solve(sp.Eq(tc, comm), p), "p*")
    return Formula(f"crossover_devices_{algorithm}_{scaling}", symbol("p_star"), expr,
                   "device count where communication time equals compute time", ref,
                   (f"{scaling} scaling", "latency included" if latency else "α = 0", "no overlap"))


@functools.lru_cache(maxsize=None)
def required_bandwidth(algorithm: str = "tree", scaling: str = "weak", latency: bool = True) -> Formula:
    """Bandwidth ``β`` at which all-reduce time equals compute time at ``p`` devices.

    Every model here is ``T_comm = A/β + L`` (hierarchical: β is the NIC), so
    ``β_req = A / (T_c − L)`` (``∞`` when latency alone exceeds compute). Tree, weak:
    ``β_req = 2·log2(p)·w / (3·F·b/γ − 2·log2(p)·α)``.

    Examples
    --------
    >>> required_bandwidth("tree", latency=False).expr
    2*gamma*w*log(p)/(3*F*b*log(2))
    """
    if algorithm == "parameter_server":
        raise ParameterError("algorithm", algorithm,
                             message="parameter_server with an independent server bandwidth is not linear in 1/β; "
                                     "use 'parameter_server_colocated' (k = p, β_s = β)")
    comm, ref = _comm(algorithm, latency)
    beta, x = symbol("beta"), sp.Symbol("x", positive=True)
    lin = sp.expand(comm.subs(beta, 1 / x))
    a = sp.factor(sp.diff(lin, x))
    rest = sp.factor(sp.expand(lin - sp.diff(lin, x) * x))
    if a.has(x) or rest.has(x):  # pragma: no cover - every model above is linear in 1/β
        raise ParameterError(algorithm, None, message=f"{algorithm}: communication time is not linear in 1/β")
    tc = compute_time(scaling).expr
    expr = _tidy(a / (tc - rest))
    return Formula(f"required_bandwidth_{algorithm}_{scaling}", symbol("beta_req"), expr,
                   "link bandwidth at which communication equals compute [B/s]", ref,
                   (f"{scaling} scaling", "latency included" if latency else "α = 0",
                    "valid where T_c exceeds the latency terms"))


@functools.lru_cache(maxsize=None)
def max_compute_bound_params(algorithm: str = "tree", scaling: str = "weak", latency: bool = True) -> Formula:
    """Largest parameter count ``P`` (``w = P·s``) that stays compute-bound at fixed ``F``.

    The compute per sample ``F`` is held fixed (a wider model at the same FLOPs, or a
    model's gradients exchanged at a different precision): ``T_comm(P·s) = T_c`` solved
    for ``P``. Tree, weak: ``P_max = (3·F·b/(2·γ·log2 p) − α)·β/s``.

    Examples
    --------
    >>> max_compute_bound_params("tree", latency=False).expr
    3*F*b*beta*log(2)/(2*gamma*s*log(p))
    """
    if algorithm == "parameter_server":
        raise ParameterError("algorithm", algorithm, message="use 'parameter_server_colocated' (linear in w)")
    comm, ref = _comm(algorithm, latency)
    w, P, s = _S("w", "P", "s")
    tc = compute_time(scaling).expr
    # T_comm is affine in w: T_comm = A·w + L  ->  P_max = (T_c − L)/(A·s)
    lin = sp.expand(comm)
    a = sp.diff(lin, w)
    rest = sp.expand(lin - a * w)
    if a.has(w) or rest.has(w):  # pragma: no cover - every model above is affine in w
        raise ParameterError(algorithm, None, message=f"{algorithm}: communication time is not affine in w")
    expr = _tidy((tc - rest) / (sp.factor(a) * s))
    return Formula(f"max_compute_bound_params_{algorithm}_{scaling}", symbol("P_max"), expr,
                   "largest parameter count with communication ≤ compute", ref,
                   (f"{scaling} scaling", "forward FLOPs F fixed", "latency included" if latency else "α = 0"))


# --------------------------------------------------------------------------- SUMMA
@functools.lru_cache(maxsize=None)
def summa_compute_time() -> Formula:
    """``T_c = 2·n³/(p²·γ)``: SUMMA compute per device on a ``p × p`` grid."""
    n, p, gamma = _S("n", "p", "gamma")
    return Formula("summa_compute_time", symbol("T_c"), 2 * n**3 / (p**2 * gamma),
                   "SUMMA compute time per device [s]", "van de Geijn & Watts 1997; HPE slides",
                   ("n × n matrices", "p × p grid"))


@functools.lru_cache(maxsize=None)
def summa_data_read_time() -> Formula:
    """``T_read = 2·n²·s/(p·β)``: a block row of A and a block column of B per device."""
    n, p, s, beta = _S("n", "p", "s", "beta")
    return Formula("summa_data_read_time", symbol("T_read"), 2 * n**2 * s / (p * beta),
                   "SUMMA data-read time per device [s]", "van de Geijn & Watts 1997; HPE slides",
                   ("n × n matrices", "p × p grid"))


@functools.lru_cache(maxsize=None)
def summa_bandwidth_bound() -> Formula:
    """``β ≥ s·p·γ/n``, solved from ``T_read = T_c`` by sympy.

    Examples
    --------
    >>> summa_bandwidth_bound().expr
    gamma*p*s/n
    >>> float(summa_bandwidth_bound()(n=2000, p=10, s=4, gamma=15e12))   # HPE slides: 300 GB/s
    300000000000.0
    """
    beta = symbol("beta")
    sol = sp.solve(sp.Eq(summa_data_read_time().expr, summa_compute_time().expr), beta)[0]
    return Formula("summa_bandwidth_bound", symbol("beta_req"), sp.simplify(sol),
                   "smallest per-device bandwidth with no SUMMA stall [B/s]", "HPE slides",
                   ("n × n matrices", "p × p grid", "reads overlap compute"))


@functools.lru_cache(maxsize=None)
def summa_min_matrix_size() -> Formula:
    """Smallest ``n`` that keeps SUMMA compute-bound at bandwidth β: ``n = s·p·γ/β``."""
    n = symbol("n")
    sol = sp.solve(sp.Eq(summa_data_read_time().expr, summa_compute_time().expr), n)[0]
    return Formula("summa_min_matrix_size", symbol("n_min"), sp.simplify(sol),
                   "smallest compute-bound SUMMA matrix size", "HPE slides", ("p × p grid",))


@functools.lru_cache(maxsize=None)
def summa_gemm_bandwidth_bound() -> Formula:
    """Rectangular GEMM ``m×k · k×n`` on a ``p_r × p_c`` grid: ``β ≥ s·γ·(p_r/m + p_c/n)/2``.

    Examples
    --------
    >>> summa_gemm_bandwidth_bound().expr
    gamma*s*(m_*p_c + n_*p_r)/(2*m_*n_)
    """
    m, k, n, pr, pc, s, gamma, beta = _S("m_", "k_", "n_", "p_r", "p_c", "s", "gamma", "beta")
    t_c = 2 * m * k * n / (pr * pc * gamma)
    t_r = s * (m * k / pr + k * n / pc) / beta
    sol = sp.solve(sp.Eq(t_r, t_c), beta)[0]
    return Formula("summa_gemm_bandwidth_bound", symbol("beta_req"), sp.factor(sp.simplify(sol)),
                   "smallest per-device bandwidth with no SUMMA stall, rectangular GEMM [B/s]",
                   "van de Geijn & Watts 1997", ("p_r × p_c grid", "reads overlap compute"))


def table() -> "Mapping[str, Formula]":
    """Every formula of the module by name (for a notebook overview)."""
    out = {}
    for scaling in ("weak", "strong"):
        out[f"compute_time_{scaling}"] = compute_time(scaling)
    for alg in ALGORITHMS:
        out[f"{alg}_allreduce_time"] = allreduce_time(alg)
    out["crossover_tree_weak"] = crossover_devices("tree", "weak")
    out["crossover_tree_strong"] = crossover_devices("tree", "strong")
    out["crossover_ring_strong"] = crossover_devices("ring", "strong")
    out["required_bandwidth_tree_weak"] = required_bandwidth("tree", "weak")
    out["max_params_tree_weak"] = max_compute_bound_params("tree", "weak")
    out["summa_bandwidth_bound"] = summa_bandwidth_bound()
    out["summa_gemm_bandwidth_bound"] = summa_gemm_bandwidth_bound()
    return out
