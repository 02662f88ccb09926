"""All-reduce cost models (α-β): the time to sum a gradient of ``w`` bytes over ``p`` devices.

:func:`allreduce_time` dispatches on the algorithm name, so the scalar predictors and the
vectorized sweep share one implementation of each formula.

References
----------
.. [1] R. Thakur, R. Rabenseifner, W. Gropp, "Optimization of Collective Communication
   Operations in MPICH", IJHPCA 19(1), 2005.
.. [2] HPE Deep Learning Cookbook slides (2017): tree all-reduce ``2·w·log2(p)/β``.
"""
from __future__ import annotations

from .data_parallel import tree_allreduce_time

__all__ = ["ALGORITHMS", "allreduce_time"]

#: Algorithm name -> function(w, p, beta, alpha, **topology) -> seconds.
ALGORITHMS = {
    "tree": lambda w, p, beta, alpha, **_: tree_allreduce_time(w, p, beta, alpha),
}


def allreduce_time(algorithm, w, p, beta, alpha=0.0, **topology):
    """All-reduce time [s] of ``w`` bytes over ``p`` devices with the named algorithm.

    Parameters
    ----------
    algorithm : str
        A key of :data:`ALGORITHMS` (``"tree"``: ``2·log2(p)·(w/β + α)``).
    w : float or array_like
        Gradient bytes [B].
    p : int or array_like
        Devices taking part.
    beta : float or array_like
        Bottleneck link bandwidth per direction [B/s].
    alpha : float or array_like
        Per-message latency [s].
    **topology
        Extra arguments some algorithms use (devices per node, intra-node link, servers).

    Returns
    -------
    float or numpy.ndarray
        [s]
    """
    try:
        fn = ALGORITHMS[algorithm]
    except KeyError:
        raise ValueError(f"algorithm: unknown all-reduce algorithm {algorithm!r}; expected one of {sorted(ALGORITHMS)}") from None
    return fn(w, p, beta, alpha, **topology)
