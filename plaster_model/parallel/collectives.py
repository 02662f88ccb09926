"""The collectives of the parallel plans, unvalidated for the plan search's large arrays; their
forms live once in :mod:`plaster_model.estimators.collectives`.

With ``n`` ranks and ``w`` bytes of the *whole* buffer, a ring reduce-scatter or all-gather
moves ``(n−1)/n·w`` bytes per rank in ``n−1`` steps (half a ring all-reduce, whose form lives
in :func:`plaster_model.estimators.ring_allreduce_time`); an all-to-all sends ``(n−1)/n`` of its
``w`` bytes to the other ranks; a point-to-point send moves ``w`` once.

References
----------
Thakur, Rabenseifner & Gropp, "Optimization of Collective Communication Operations in MPICH",
IJHPCA 19(1), 2005.
"""
from __future__ import annotations

import numpy as np

__all__ = ["allreduce_s", "reduce_scatter_s", "all_gather_s", "all_to_all_s", "p2p_s"]


def allreduce_s(w, n, beta, alpha=0.0):
    """Ring all-reduce ``2·(n−1)/n·w/β + 2·(n−1)·α`` [s] (0 for one rank), vectorized.

    :func:`plaster_model.estimators.ring_allreduce_time`'s kernel (the form's one home),
    without its argument validation (the plan search calls it on 10^6-element arrays).

    >>> round(float(allreduce_s(100e6, 4, 10e9, 1e-6)), 9)
    0.015006
    """
    from ..estimators.collectives import _ring

    return _ring(np.asarray(w, dtype=float), np.asarray(n, dtype=float), beta, alpha)


def reduce_scatter_s(w, n, beta, alpha=0.0):
    """Ring reduce-scatter of a ``w``-byte buffer over ``n`` ranks, ``(n−1)/n·w/β + (n−1)·α`` [s].

    >>> round(float(reduce_scatter_s(100e6, 4, 10e9)), 9)
    0.0075
    """
    from ..estimators.collectives import _reduce_scatter

    return _reduce_scatter(np.asarray(w, dtype=float), np.asarray(n, dtype=float), beta, alpha)


#: An all-gather mirrors a reduce-scatter (same steps and volume).
all_gather_s = reduce_scatter_s


def all_to_all_s(w, n, beta, alpha=0.0):
    """All-to-all of ``w`` bytes per rank, ``(n−1)/n·w/β + (n−1)·α`` [s] (pairwise exchange).

    >>> round(float(all_to_all_s(8e6, 8, 1e9)), 9)
    0.007
    """
    from ..estimators.collectives import _alltoall

    return _alltoall(np.asarray(w, dtype=float), np.asarray(n, dtype=float), beta, alpha)


def p2p_s(w, beta, alpha=0.0):
    """Point-to-point send of ``w`` bytes, ``w/β + α`` [s].

    >>> round(float(p2p_s(1e6, 1e9, 1e-6)), 9)
    0.001001
    """
    return np.asarray(w, dtype=float) / beta + alpha
