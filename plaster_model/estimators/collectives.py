"""All-reduce cost models (α-β): the time to sum a gradient of ``w`` bytes over ``p`` devices.

Every model charges ``α`` [s] per message on the critical path and ``bytes/β`` per
transfer, with ``β`` the per-direction bandwidth of one port [B/s] and links full duplex
(a device sends and receives at ``β`` at the same time). :func:`allreduce_time` dispatches
on the algorithm name, so the scalar predictors and the vectorized sweeps share one
implementation of each formula. Every function broadcasts over numpy arrays.

=====================  ==================================================  ==========================
algorithm              time                                                 where it applies
=====================  ==================================================  ==========================
``tree``               ``2·log2(p)·(w/β + α)``                              the HPE slides / Paleo seed
``ring``               ``2·(p−1)/p·w/β + 2·(p−1)·α``                        NCCL inside a node, Horovod
``halving_doubling``   ``2·(p−1)/p·w/β + 2·log2(p)·α``                      MPI (Rabenseifner), large p
``parameter_server``   ``2·(max(w/β_w, P·w/(k·β_s)) + α)`` (+ local stage)  TF 2016-17 distributed
``hierarchical``       intra ring ``2·(g−1)/g·w/β_in`` + inter all-reduce   NCCL/Horovod across nodes
``multirail_ring``     ``2·(p−1)/p·w/min(β_in, m·β)`` + latency             NCCL rings, one per NIC
``auto`` (default)     fastest of the above on the cluster's links          what NCCL/Horovod run
=====================  ==================================================  ==========================

References
----------
.. [1] R. Thakur, R. Rabenseifner, W. Gropp, "Optimization of Collective Communication
   Operations in MPICH", IJHPCA 19(1), 2005.
.. [2] P. Patarasuk, X. Yuan, "Bandwidth optimal all-reduce algorithms for clusters of
   workstations", JPDC 69(2), 2009.
.. [3] A. Sergeev, M. Del Balso, "Horovod: fast and easy distributed deep learning in
   TensorFlow", arXiv:1802.05799, 2018.
.. [4] M. Li et al., "Scaling Distributed Machine Learning with the Parameter Server",
   OSDI 2014.
.. [5] NVIDIA Collective Communications Library (NCCL) documentation, "Collective
   operations" and the NCCL tests' bus-bandwidth notes (``busbw = algbw·2·(n−1)/n``).
.. [6] HPE Deep Learning Cookbook slides (2017): tree all-reduce ``2·w·log2(p)/β``.
"""
from __future__ import annotations
from ..errors import ParameterError, ParameterTypeError

import numpy as np

from ._validate import _count_array, _positive_array

__all__ = [
    "ALGORITHMS", "FLAT_ALGORITHMS", "allreduce_time", "normalize_algorithm",
    "auto_allreduce_time", "multirail_ring_allreduce_time", "tree_allreduce_time",
    "ring_allreduce_time", "halving_doubling_allreduce_time", "parameter_server_time",
    "hierarchical_allreduce_time", "alltoall_time",
]


def _out(x):
    x = np.asarray(x, dtype=float)
    return x if x.ndim else float(x)


def tree_allreduce_time(w, p, beta, alpha=0.0):
    """Tree all-reduce time, ``T_comm = 2·log2(p)·(w/β + α)`` [s].

    A reduction up a binary tree followed by a broadcast down it: ``log2(p)`` steps each
    way, each moving the whole gradient ``w`` over one link. With ``α = 0`` this is the
    HPE slides' ``2·w·log2(p)/β`` (and Paleo's, with ``⌈log2 p⌉``). ``w`` and ``β`` must be
    in the same information unit: both bytes here (strings are converted, so
    ``beta="56 Gb/s"`` is 7e9 B/s).

    Parameters
    ----------
    w : float or array_like or str
        Gradient (model) size [B].
    p : int or array_like
        Number of devices (``p = 1`` gives 0).
    beta : float or array_like or str
        Link bandwidth per direction [B/s].
    alpha : float or array_like or str
        Per-message latency [s] (default 0, the seed formula).

    Returns
    -------
    float or numpy.ndarray
        ``T_comm`` [s].

    References
    ----------
    HPE Deep Learning Cookbook slides (2017); Qi et al., "Paleo", ICLR 2017.

    Examples
    --------
    ResNet-50's 25.6 M fp32 parameters over 56 Gb/s InfiniBand on 8 devices:

    >>> round(float(tree_allreduce_time(25.6e6 * 4, 8, "56 Gb/s")), 4)   # 2·102.4 MB·3 / 7 GB/s
    0.0878
    """
    w = _positive_array(w, "bytes", "w", allow_zero=True)
    p = _count_array(p, "p")
    b = _positive_array(beta, "bandwidth", "beta")
    a = _positive_array(alpha, "time", "alpha", allow_zero=True)
    return _tree(w, p, b, a)


def _tree(w, p, b, a):
    return 2.0 * np.log2(p) * (w / b + a)


def _ring(w, p, b, a):
    return 2.0 * (p - 1.0) / p * w / b + 2.0 * (p - 1.0) * a


def _halving_doubling(w, p, b, a):
    return 2.0 * np.log2(p) * a + 2.0 * (p - 1.0) / p * w / b


#: The flat algorithms' formulas on validated SI arrays (the public functions validate first).
_FLAT_KERNELS = {"tree": _tree, "ring": _ring, "halving_doubling": _halving_doubling}


def ring_allreduce_time(w, p, beta, alpha=0.0):
    """Ring all-reduce time, ``T = 2·(p−1)/p · w/β + 2·(p−1)·α`` [s].

    A reduce-scatter followed by an all-gather around a ring of ``p`` devices: ``p − 1``
    steps each, every step sending one chunk of ``w/p`` bytes to the next device while
    receiving one from the previous. Each device therefore moves ``2·(p−1)/p·w`` bytes,
    the lower bound for any all-reduce (Patarasuk & Yuan 2009), so the bandwidth term
    never exceeds ``2·w/β`` however large ``p`` grows; the ``2·(p−1)`` latency terms grow
    linearly. This is NCCL's ring algorithm inside a node.

    Parameters
    ----------
    w : float or array_like or str
        Gradient size [B].
    p : int or array_like
        Devices in the ring, whole numbers >= 1 (``p = 1`` gives 0).
    beta : float or array_like or str
        Per-direction bandwidth of the slowest link of the ring [B/s].
    alpha : float or array_like or str
        Latency per step [s].

    Returns
    -------
    float or numpy.ndarray
        [s]

    References
    ----------
    Patarasuk & Yuan, JPDC 69(2), 2009; Thakur, Rabenseifner & Gropp, IJHPCA 19(1), 2005.

    Examples
    --------
    100 MB over 4 devices at 10 GB/s with 1 us latency: ``2·3/4·0.01 s + 6 us``

    >>> ring_allreduce_time(100e6, 4, 10e9, 1e-6)
    0.015006
    """
    return _ring_allreduce_time(w, p, beta, alpha, whole=True)


def _ring_allreduce_time(w, p, beta, alpha=0.0, *, whole=False):
    """:func:`ring_allreduce_time` with real-valued ``p`` allowed (``whole=False``): the
    dispatch of :func:`allreduce_time` runs it at the real device counts of the training
    crossover search (``training._crossover``); the public function refuses 2.5 devices."""
    w = _positive_array(w, "bytes", "w", allow_zero=True)
    p = _count_array(p, "p", whole=whole)
    b = _positive_array(beta, "bandwidth", "beta")
    a = _positive_array(alpha, "time", "alpha", allow_zero=True)
    return _out(_ring(w, p, b, a))


def halving_doubling_allreduce_time(w, p, beta, alpha=0.0):
    """Recursive halving-doubling (Rabenseifner) all-reduce, ``T = 2·log2(p)·α + 2·(p−1)/p·w/β`` [s].

    A reduce-scatter by recursive halving (``log2 p`` steps, exchanging ``w/2, w/4, …``)
    then an all-gather by recursive doubling: the ring's optimal bandwidth term with only
    ``2·log2(p)`` latency terms. Exact for ``p`` a power of two; for other ``p``,
    Thakur et al. add a pre- and post-step (``log2`` is kept continuous here, as in the tree).

    Parameters
    ----------
    w : float or array_like or str
        Gradient size [B].
    p : int or array_like
        Devices.
    beta : float or array_like or str
        Per-direction link bandwidth [B/s].
    alpha : float or array_like or str
        Latency per step [s].

    Returns
    -------
    float or numpy.ndarray
        [s]

    References
    ----------
    Thakur, Rabenseifner & Gropp, IJHPCA 19(1), 2005, §4.4.

    Examples
    --------
    >>> halving_doubling_allreduce_time(100e6, 4, 10e9, 1e-6)   # 2·2·1e-6 + 2·3/4·0.01
    0.015004
    """
    w = _positive_array(w, "bytes", "w", allow_zero=True)
    p = _count_array(p, "p")
    b = _positive_array(beta, "bandwidth", "beta")
    a = _positive_array(alpha, "time", "alpha", allow_zero=True)
    return _out(_halving_doubling(w, p, b, a))


def _node_layout(p, devices_per_node):
    """(p, g, n): devices, devices per node ``g = min(dpn, p)``, nodes ``n = ceil(p/g)``."""
    p = _count_array(p, "p")
    dpn = _positive_array(devices_per_node, "dimensionless", "devices_per_node")
    g = np.minimum(dpn, p)
    n = np.ceil(np.asarray(p, dtype=float) / g - 1e-12)
    return np.asarray(p, dtype=float), g, np.maximum(n, 1.0)


def _topology_args(w, p, beta, alpha, devices_per_node, nics_per_node, beta_intra, alpha_intra):
    """The topology-aware algorithms' arguments, validated once, in SI:
    ``(w, β, α, p, g, n, m, β_in, α_in)``."""
    w = _positive_array(w, "bytes", "w", allow_zero=True)
    b = _positive_array(beta, "bandwidth", "beta")
    a = _positive_array(alpha, "time", "alpha", allow_zero=True)
    p, g, n = _node_layout(p, devices_per_node)
    m = _positive_array(nics_per_node, "dimensionless", "nics_per_node")
    b_in = b if beta_intra is None else _positive_array(beta_intra, "bandwidth", "beta_intra")
    a_in = _positive_array(alpha_intra, "time", "alpha_intra", allow_zero=True)
    return w, b, a, p, g, n, m, b_in, a_in


def parameter_server_time(w, p, beta, alpha=0.0, *, servers=None, beta_server=None,
                          devices_per_node=1, nics_per_node=1, beta_intra=None, alpha_intra=0.0,
                          placement="balanced", largest_bytes=None):
    """Parameter-server gradient exchange: push to ``k`` server shards, then pull [s].

    Model (Li et al. 2014; TensorFlow's ``variable_update=parameter_server``): the
    parameters are sharded over ``k`` servers. Each of ``P`` workers pushes its whole
    gradient ``w`` (``w/k`` to each shard) and then pulls the whole updated model ``w``.
    A worker's port carries ``w`` each way; a server's port carries ``P·w/k`` each way, so
    each phase lasts as long as the busier of the two::

        T_net = 2 · ( max(w/β_w, P·w/(k·β_s)) + α )

    **Workers.** On a single node (or with one device per node) every device is a worker
    over the link ``beta`` (``P = p``, ``β_w = β``). With ``g > 1`` devices per node on
    ``n > 1`` nodes the devices of a node first sum their gradients over the intra-node
    link and one worker per node talks to the servers (``P = n``), as the TF benchmarks'
    workers did; the node's ``min(m, g)`` NICs carry its traffic (``β_w = min(m, g)·β``),
    and the local sum and broadcast cost a ring reduce-scatter + all-gather
    ``2·(g−1)/g·w/β_in + 2·(g−1)·α_in``.

    **Servers.** ``k`` defaults to the number of workers (one shard co-located with each
    worker, as TensorFlow's distributed benchmarks ran them: one per node across nodes,
    one per device on a single node, like ``local_parameter_device=gpu``); give
    ``servers=1`` for a single server such as the host CPU. ``β_s`` defaults to the
    worker's bandwidth ``β_w`` (servers on nodes like the workers'). Co-located shards also
    carry their own worker's traffic; the model ignores the ``1/k`` of it that stays
    local (slightly pessimistic). With the defaults ``T_net = 2·(w/β_w + α)``.

    **Placement.** ``placement="balanced"`` splits every variable evenly over the servers
    (MXNet's kvstore slices large arrays), so each holds ``w/k``. ``placement="largest"``
    places whole variables, as TensorFlow does (``tf.train.replica_device_setter`` puts
    each variable on one ps task): the busiest server holds at least the largest variable
    ``w_max`` (VGG-16's fc6, 25088 × 4096 × 4 B = 411 MB at fp32, on one server however
    many there are), and at best an even share of the rest, so its shard is
    ``max(w/k, min(w_max, w))``::

        T_net = 2 · ( max(w/β_w, P·max(w/k, w_max)/β_s) + α )

    Parameters
    ----------
    w : float or array_like or str
        Gradient (= model) size [B].
    p : int or array_like
        Devices.
    beta : float or array_like or str
        Per-direction bandwidth of one worker port [B/s] (the network NIC across nodes;
        the link to the server on a single node).
    alpha : float or array_like or str
        Latency per message [s]; charged once per phase.
    servers : int or array_like, optional
        Server shards ``k`` (default: one per worker).
    beta_server : float or array_like or str, optional
        Per-direction bandwidth of one server [B/s] (default: the worker's).
    devices_per_node, nics_per_node : int or array_like
        Node layout ``g`` and NICs per node ``m``.
    beta_intra, alpha_intra : float or array_like, optional
        Intra-node link for the local sum (default ``beta`` and 0).
    placement : {"balanced", "largest"}
        How variables are spread over the servers (see above).
    largest_bytes : float or array_like or str, optional
        The largest variable ``w_max`` [B] (at the gradient's precision); required with
        ``placement="largest"`` (0 where unknown: then balanced); clipped to ``w``.

    Returns
    -------
    float or numpy.ndarray
        [s]

    Raises
    ------
    ValueError
        An unknown ``placement``, or ``placement="largest"`` without ``largest_bytes``.

    References
    ----------
    Li et al., "Scaling Distributed Machine Learning with the Parameter Server", OSDI 2014.
    TensorFlow 1.x ``tf.train.replica_device_setter`` (round-robin placement of whole
    variables over the ps tasks); MXNet ``MXNET_KVSTORE_BIGARRAY_BOUND`` (arrays above it
    sliced over the servers).

    Examples
    --------
    8 workers, 2 servers, 100 MB, 10 GB/s: servers carry 8·100 MB/2 = 400 MB each way,
    ``2·(0.04 s + 1 us)``:

    >>> round(parameter_server_time(100e6, 8, 10e9, 1e-6, servers=2), 6)
    0.080002

    VGG-16 (553 MB at fp32, fc6 411 MB) on 8 workers with 8 co-located servers over
    1.25 GB/s: balanced, each server carries 8 × 553/8 MB; whole variables, the fc6 server
    carries 8 × 411 MB, 5.9× longer:

    >>> w, fc6 = 138_357_544 * 4, 25088 * 4096 * 4
    >>> bal = parameter_server_time(w, 8, 1.25e9)
    >>> big = parameter_server_time(w, 8, 1.25e9, placement="largest", largest_bytes=fc6)
    >>> round(float(big / bal), 2)
    5.94
    """
    w = _positive_array(w, "bytes", "w", allow_zero=True)
    b = _positive_array(beta, "bandwidth", "beta")
    a = _positive_array(alpha, "time", "alpha", allow_zero=True)
    p, g, n = _node_layout(p, devices_per_node)
    m = _positive_array(nics_per_node, "dimensionless", "nics_per_node")
    multi = (n > 1) & (g > 1)
    workers = np.where(n > 1, n, p)
    beta_w = np.where(multi, np.minimum(m, g) * b, b)
    k = workers if servers is None else _positive_array(servers, "dimensionless", "servers")
    beta_s = beta_w if beta_server is None else _positive_array(beta_server, "bandwidth", "beta_server")
    shard = w / k
    if placement == "largest":
        if largest_bytes is None:
            raise ParameterError("largest_bytes", None,
                                 message="largest_bytes: placement='largest' needs the largest variable's bytes "
                                         "(0 where unknown)")
        shard = np.maximum(shard, np.minimum(_positive_array(largest_bytes, "bytes", "largest_bytes",
                                                             allow_zero=True), w))
    elif placement != "balanced":
        raise ParameterError("placement", placement,
                             message=f"placement: expected 'balanced' or 'largest', got {placement!r}")
    t_net = 2.0 * (np.maximum(w / beta_w, workers * shard / beta_s) + a)
    b_in = b if beta_intra is None else _positive_array(beta_intra, "bandwidth", "beta_intra")
    a_in = _positive_array(alpha_intra, "time", "alpha_intra", allow_zero=True)
    t_local = np.where(multi, 2.0 * (g - 1.0) / g * w / b_in + 2.0 * (g - 1.0) * a_in, 0.0)
    return _out(np.where(p > 1, t_net + t_local, 0.0))


def hierarchical_allreduce_time(w, p, beta, alpha=0.0, *, devices_per_node=1, nics_per_node=1,
                                beta_intra=None, alpha_intra=0.0, inter_algorithm="ring"):
    """Hierarchical (two-level) all-reduce: inside each node, then across nodes [s].

    With ``g = min(devices_per_node, p)`` devices per node on ``n = ⌈p/g⌉`` nodes and
    ``m`` NICs per node (Horovod's hierarchical all-reduce; NCCL's tree/ring across
    nodes):

    1. reduce-scatter inside each node over the intra-node link (ring):
       ``(g−1)/g·w/β_in + (g−1)·α_in``; each device now holds ``w/g`` of the node's sum;
    2. the ``g`` devices of a node all-reduce their shards across the ``n`` nodes in
       parallel with ``inter_algorithm`` (ring by default). The ``g`` concurrent streams
       share the node's ``min(m, g)`` NICs, so each sees ``β·min(m, g)/g``::

           T_inter = allreduce(w/g, n, β·min(m, g)/g, α)  (ring: 2·(n−1)/n·w/(min(m, g)·β) + 2·(n−1)·α)

    3. all-gather inside each node: ``(g−1)/g·w/β_in + (g−1)·α_in``.

    ``T = 2·(g−1)/g·w/β_in + 2·(g−1)·α_in + T_inter``. With one device per node
    (``g = 1``) this is the flat ``inter_algorithm`` over ``β``; on one node (``n = 1``)
    it is a ring over the intra-node link. A design with one NIC shared by 8 GPUs moves
    the node's whole ``w`` through that NIC (``w/β``), one NIC per GPU splits it 8 ways.

    Parameters
    ----------
    w : float or array_like or str
        Gradient size [B].
    p : int or array_like
        Devices.
    beta : float or array_like or str
        Per-direction bandwidth of one network port (NIC) [B/s].
    alpha : float or array_like or str
        Network latency per step [s].
    devices_per_node : int or array_like
        Devices per node (``g``; capped at ``p``).
    nics_per_node : int or array_like
        Network ports per node ``m`` (DGX-1: 4).
    beta_intra, alpha_intra : float or array_like, optional
        Intra-node link bandwidth [B/s] and latency [s] (default ``beta``, 0).
    inter_algorithm : {"ring", "tree", "halving_doubling"}
        Flat algorithm across nodes.

    Returns
    -------
    float or numpy.ndarray
        [s]

    References
    ----------
    Sergeev & Del Balso, arXiv:1802.05799, 2018 (Horovod); NCCL documentation;
    Thakur, Rabenseifner & Gropp, IJHPCA 19(1), 2005.

    Examples
    --------
    4 nodes × 8 GPUs, NVLink 150 GB/s inside, 4 × 12.5 GB/s NICs, 100 MB, no latency:
    ``2·7/8·0.1/150e9 + 2·3/4·0.1/(4·12.5e9)`` = 1.1667 ms + 3 ms:

    >>> t = hierarchical_allreduce_time(100e6, 32, 12.5e9, devices_per_node=8, nics_per_node=4,
    ...                                 beta_intra=150e9)
    >>> round(t * 1e3, 4)
    4.1667
    """
    inter = normalize_algorithm(inter_algorithm)
    if inter not in FLAT_ALGORITHMS:
        raise ParameterError("inter_algorithm", inter_algorithm,
                             message=f"inter_algorithm must be one of {sorted(FLAT_ALGORITHMS)}, got {inter_algorithm!r}")
    w, b, a, p, g, n, m, b_in, a_in = _topology_args(w, p, beta, alpha, devices_per_node, nics_per_node,
                                                     beta_intra, alpha_intra)
    return _out(_hierarchical(w, p, b, a, g, n, m, b_in, a_in, inter))


def _hierarchical(w, p, b, a, g, n, m, b_in, a_in, inter):
    t_intra = 2.0 * (g - 1.0) / g * w / b_in + 2.0 * (g - 1.0) * a_in
    t_inter = _FLAT_KERNELS[inter](w / g, n, b * np.minimum(m, g) / g, a)
    return np.where(p > 1, t_intra + t_inter, 0.0)


def multirail_ring_allreduce_time(w, p, beta, alpha=0.0, *, devices_per_node=1, nics_per_node=1,
                                  beta_intra=None, alpha_intra=0.0):
    """Flat ring laid out node by node, one ring per NIC (NCCL's multi-rail rings) [s].

    NCCL orders a ring so that it crosses each node boundary **once**, and runs one ring
    (channel) per network port, each carrying ``1/m'`` of the gradient, ``m' = min(m, g)``.
    Every device still moves ``2·(p−1)/p·w`` bytes over its intra-node link, and each of
    the node's ``m'`` ports carries ``2·(p−1)/p·w/m'``, so::

        T = 2·(p−1)/p · w / min(β_in, m'·β) + 2·(p−1)·max(α, α_in)

    (every step of the ring waits for its slowest hop). On one node (``n = 1``) it is the
    ring over ``β_in``; with one device per node the plain ring over ``β``. Compare the
    :func:`hierarchical_allreduce_time`, which moves ``w/g`` per device across nodes but
    adds an intra-node reduce-scatter and all-gather.

    Parameters
    ----------
    w : float or array_like or str
        Gradient size [B].
    p : int or array_like
        Devices.
    beta : float or array_like or str
        Per-direction bandwidth of one network port (NIC) [B/s].
    alpha : float or array_like or str
        Network latency per step [s].
    devices_per_node, nics_per_node : int or array_like
        Node layout ``g`` and network ports per node ``m``.
    beta_intra, alpha_intra : float or array_like, optional
        Intra-node link per device [B/s] and its latency [s] (default ``beta``, 0).

    Returns
    -------
    float or numpy.ndarray
        [s]

    References
    ----------
    NCCL documentation ("rings ... cross each node boundary once"; one channel per NIC);
    Patarasuk & Yuan, JPDC 69(2), 2009.

    Examples
    --------
    4 DGX-1 (8 GPUs, 4 × 12.5 GB/s NICs, NVLink 150 GB/s): ``2·31/32·100 MB/min(150, 50) GB/s``:

    >>> round(multirail_ring_allreduce_time(100e6, 32, 12.5e9, devices_per_node=8, nics_per_node=4,
    ...                                     beta_intra=150e9) * 1e3, 4)
    3.875
    """
    w, b, a, p, g, n, m, b_in, a_in = _topology_args(w, p, beta, alpha, devices_per_node, nics_per_node,
                                                     beta_intra, alpha_intra)
    return _out(_multirail_ring(w, p, b, a, g, n, m, b_in, a_in))


def _multirail_ring(w, p, b, a, g, n, m, b_in, a_in):
    multi = n > 1
    single = g > 1  # devices of one node talk over the intra-node link
    beta_ring = np.where(multi, np.where(single, np.minimum(b_in, np.minimum(m, g) * b), b), b_in)
    alpha_ring = np.where(multi, np.where(single, np.maximum(a, a_in), a), a_in)
    t = 2.0 * (p - 1.0) / p * w / beta_ring + 2.0 * (p - 1.0) * alpha_ring
    return np.where(p > 1, t, 0.0)


def auto_allreduce_time(w, p, beta, alpha=0.0, *, devices_per_node=1, nics_per_node=1,
                        beta_intra=None, alpha_intra=0.0):
    """What an NCCL/Horovod-class library runs: the fastest of its algorithms here [s].

    NCCL picks, per message size and node count, among rings and trees with a tuning
    model; this estimator takes the fastest of the candidates it chooses from, each on the
    cluster's own links:

    * one node: the ring over the intra-node link (``beta`` is that link then), or
      halving-doubling / the seed tree when latency dominates (tiny messages);
    * several nodes: the multi-rail flat ring (:func:`multirail_ring_allreduce_time`, one
      ring per NIC, each node boundary crossed once), the hierarchical all-reduce with a
      ring, a halving-doubling or a tree across nodes (:func:`hierarchical_allreduce_time`,
      NICs shared by the node's devices), and the flat ring, halving-doubling and tree over
      one NIC.

    Because it is a minimum over candidates that include every flat algorithm on the same
    links, ``auto`` is never slower than the best flat algorithm.

    Parameters
    ----------
    w : float or array_like or str
        Gradient size [B].
    p : int or array_like
        Devices.
    beta : float or array_like or str
        Per-direction bandwidth of the bottleneck port [B/s]: the NIC across nodes, the
        intra-node link on one node.
    alpha : float or array_like or str
        Its latency [s].
    devices_per_node, nics_per_node : int or array_like
        Node layout ``g`` and network ports per node ``m`` (1: a flat cluster).
    beta_intra, alpha_intra : float or array_like, optional
        Intra-node link [B/s] and latency [s] (default ``beta``, 0).

    Returns
    -------
    float or numpy.ndarray
        [s]

    References
    ----------
    NCCL documentation (ring and double-binary-tree algorithms, chosen by size and node
    count); Sergeev & Del Balso, arXiv:1802.05799, 2018 (Horovod, hierarchical all-reduce).

    Examples
    --------
    On one node of 8 GPUs it is the ring, ``2·7/8·100 MB / 150 GB/s``:

    >>> round(auto_allreduce_time(100e6, 8, 150e9) * 1e3, 4)
    1.1667
    """
    # validated once, then every candidate's kernel on the same arrays
    w, b, a, p, g, n, m, b_in, a_in = _topology_args(w, p, beta, alpha, devices_per_node, nics_per_node,
                                                     beta_intra, alpha_intra)
    best = _multirail_ring(w, p, b, a, g, n, m, b_in, a_in)
    for name, kernel in _FLAT_KERNELS.items():
        best = np.minimum(best, np.where(p > 1, kernel(w, p, b, a), 0.0))
        best = np.minimum(best, _hierarchical(w, p, b, a, g, n, m, b_in, a_in, name))
    return _out(best)


#: The flat algorithms (one level, ``β`` of the slowest link).
FLAT_ALGORITHMS = {
    "tree": tree_allreduce_time,
    "ring": ring_allreduce_time,
    "halving_doubling": halving_doubling_allreduce_time,
}

#: Algorithm name -> function(w, p, beta, alpha, **topology) -> seconds. Flat algorithms
#: ignore the topology (``devices_per_node``, ``nics_per_node``, ``beta_intra``, ...).
ALGORITHMS = {
    "tree": lambda w, p, beta, alpha, **_: tree_allreduce_time(w, p, beta, alpha),
    "ring": lambda w, p, beta, alpha, **_: _ring_allreduce_time(w, p, beta, alpha),
    "halving_doubling": lambda w, p, beta, alpha, **_: halving_doubling_allreduce_time(w, p, beta, alpha),
    "parameter_server": lambda w, p, beta, alpha, **t: parameter_server_time(
        w, p, beta, alpha, **{k: v for k, v in t.items() if k in _PS_KEYS}),
    "hierarchical": lambda w, p, beta, alpha, **t: hierarchical_allreduce_time(
        w, p, beta, alpha, **{k: v for k, v in t.items() if k in _HIER_KEYS}),
    "multirail_ring": lambda w, p, beta, alpha, **t: multirail_ring_allreduce_time(
        w, p, beta, alpha, **{k: v for k, v in t.items() if k in _TOPOLOGY_KEYS}),
    "auto": lambda w, p, beta, alpha, **t: auto_allreduce_time(
        w, p, beta, alpha, **{k: v for k, v in t.items() if k in _TOPOLOGY_KEYS}),
}

_TOPOLOGY_KEYS = {"devices_per_node", "nics_per_node", "beta_intra", "alpha_intra"}
_PS_KEYS = _TOPOLOGY_KEYS | {"servers", "beta_server", "placement", "largest_bytes"}
_HIER_KEYS = _TOPOLOGY_KEYS | {"inter_algorithm"}
_KNOWN_KEYS = _PS_KEYS | _HIER_KEYS

_ALIASES = {
    "rabenseifner": "halving_doubling", "halving-doubling": "halving_doubling",
    "recursive_halving_doubling": "halving_doubling", "ps": "parameter_server",
    "parameter-server": "parameter_server", "parameterserver": "parameter_server",
    "two_level": "hierarchical", "2d": "hierarchical", "binary_tree": "tree",
    "nccl": "auto", "horovod": "auto", "multi_rail_ring": "multirail_ring",
}


def normalize_algorithm(algorithm) -> str:
    """Canonical name of an all-reduce algorithm (case-insensitive, ``-``/space → ``_``).

    Raises
    ------
    ValueError
        For an unknown name, listing the known ones.
    """
    if not isinstance(algorithm, str):
        raise ParameterError("algorithm", algorithm,
                             message=f"algorithm: expected a name such as 'ring', got {algorithm!r}")
    key = algorithm.strip().lower()
    key = _ALIASES.get(key, key)
    key = key.replace("-", "_").replace(" ", "_")
    key = _ALIASES.get(key, key)
    if key not in ALGORITHMS:
        raise ParameterError("algorithm", algorithm,
                             message=f"algorithm: unknown all-reduce algorithm {algorithm!r}; expected one of {sorted(ALGORITHMS)}")
    return key


def allreduce_time(algorithm, w, p, beta, alpha=0.0, **topology):
    """All-reduce time [s] of ``w`` bytes over ``p`` devices with the named algorithm.

    Parameters
    ----------
    algorithm : str
        A key of :data:`ALGORITHMS`: ``"auto"`` (what NCCL/Horovod run, the predictors'
        default), ``"tree"`` (``2·log2(p)·(w/β + α)``, the seed's HPE Cookbook model),
        ``"ring"``, ``"halving_doubling"``, ``"parameter_server"``, ``"hierarchical"``,
        ``"multirail_ring"`` (see each function).
    w : float or array_like
        Gradient bytes [B].
    p : int or array_like
        Devices taking part.
    beta : float or array_like
        Bottleneck link bandwidth per direction [B/s] (the network NIC across nodes).
    alpha : float or array_like
        Per-message latency [s].
    **topology
        ``devices_per_node``, ``nics_per_node``, ``beta_intra``, ``alpha_intra`` (used by
        ``hierarchical`` and ``parameter_server``, ignored by the flat algorithms),
        ``servers``, ``beta_server``, ``placement``, ``largest_bytes`` (``parameter_server``), ``inter_algorithm``
        (``hierarchical``). Any other key is an error.

    Returns
    -------
    float or numpy.ndarray
        [s]

    Examples
    --------
    >>> allreduce_time("ring", 100e6, 4, 10e9, 1e-6)
    0.015006
    >>> bool(allreduce_time("tree", 100e6, 8, 7e9) == 2 * 3 * 100e6 / 7e9)
    True
    """
    key = _cache_key(algorithm, w, p, beta, alpha, topology)
    if key is not None:
        hit = _EXCHANGE_CACHE.get(key)
        if hit is not None:
            return hit
    t = _allreduce_time(algorithm, w, p, beta, alpha, topology)
    if key is not None:
        if len(_EXCHANGE_CACHE) >= _EXCHANGE_CACHE_SIZE:
            _EXCHANGE_CACHE.clear()  # a bound, not an LRU: a scalar loop refills it in microseconds
        _EXCHANGE_CACHE[key] = t
    return t


def _allreduce_time(algorithm, w, p, beta, alpha, topology):
    """:func:`allreduce_time` without its cache."""
    name = normalize_algorithm(algorithm)
    unknown = set(topology) - _KNOWN_KEYS
    if unknown:
        raise ParameterTypeError("topology", sorted(unknown),
                                 message=f"allreduce_time: unknown topology option(s) {sorted(unknown)}; "
                                         f"known: {sorted(_KNOWN_KEYS)}")
    return ALGORITHMS[name](w, p, beta, alpha, **topology)


#: Exchange times of scalar questions, keyed by every argument and its type: a scalar
#: prediction asks for the same all-reduce (same gradient bytes, devices, links and
#: efficiencies) at every batch size and precision with the same gradient width, and the
#: ``auto`` choice evaluates seven candidate algorithms each time. Each formula is a pure
#: function of its arguments, so the stored answer (the very object returned the first
#: time) is what a recomputation gives; errors are never stored.
_EXCHANGE_CACHE: dict = {}
_EXCHANGE_CACHE_SIZE = 8192
#: Argument types a key may hold (arrays are not hashable; bool is typed apart from int).
_KEY_TYPES = frozenset({float, int, np.float64, np.float32, np.int64, np.int32, str, type(None)})


def _cached_allreduce_time(algorithm, w, p, beta, alpha, topology):
    """:func:`allreduce_time` for a caller that has already made ``w``, ``p``, ``beta`` and
    ``alpha`` Python floats and whose ``topology`` holds only numbers (never bool), None and
    option names (the scalar iteration): the key needs no type check. Same cache, same answers."""
    key = (algorithm, w, p, beta, alpha, *topology.items())
    try:
        hit = _EXCHANGE_CACHE.get(key)
    except TypeError:  # an unhashable algorithm argument: refused (or answered) uncached
        return _allreduce_time(algorithm, w, p, beta, alpha, topology)
    if hit is None:
        hit = _allreduce_time(algorithm, w, p, beta, alpha, topology)
        if len(_EXCHANGE_CACHE) >= _EXCHANGE_CACHE_SIZE:
            _EXCHANGE_CACHE.clear()
        _EXCHANGE_CACHE[key] = hit
    return hit


def _cache_key(algorithm, w, p, beta, alpha, topology):
    """``allreduce_time``'s arguments as a cache key (values and their types, so that
    ``p=True`` never finds the answer of ``p=1``), or None where one is not a plain scalar."""
    values = (algorithm, w, p, beta, alpha, *topology.values()) if topology else (algorithm, w, p, beta, alpha)
    types = tuple(map(type, values))
    if not _KEY_TYPES.issuperset(types):
        return None
    return (values, types, tuple(topology) if topology else ())


def alltoall_time(w, p, beta, alpha=0.0):
    """Pairwise all-to-all time, ``T = (p−1)/p · w/β + (p−1)·α`` [s].

    Each of ``p`` devices holds ``w`` bytes split into ``p`` equal parts and sends part ``j``
    to device ``j`` (expert parallelism's token dispatch and combine). In ``p − 1`` rounds
    every device sends one part of ``w/p`` bytes while receiving one, so each device moves
    ``(p−1)/p·w`` bytes, the lower bound over full-duplex ports of bandwidth ``β``
    (Thakur, Rabenseifner & Gropp 2005, pairwise exchange); ``α`` is charged per round.

    Parameters
    ----------
    w : float or array_like
        Bytes each device sends in total, its own share included [B].
    p : int or array_like
        Devices taking part (``p = 1`` gives 0).
    beta : float or array_like
        Per-direction bandwidth of one device's port [B/s].
    alpha : float or array_like
        Latency per round [s].

    Returns
    -------
    float or numpy.ndarray
        [s]

    References
    ----------
    Thakur, Rabenseifner & Gropp, IJHPCA 19(1), 2005 (pairwise-exchange all-to-all);
    Lepikhin et al., GShard, arXiv:2006.16668 (two all-to-alls per MoE layer).

    Examples
    --------
    8 MB over 8 devices at 100 GB/s with 2 us latency: ``7/8·8e6/1e11 + 7·2e-6 = 84 us``

    >>> round(alltoall_time(8e6, 8, 100e9, 2e-6) * 1e6, 6)
    84.0
    """
    w = _positive_array(w, "bytes", "w", allow_zero=True)
    p = _count_array(p, "p")
    b = _positive_array(beta, "bandwidth", "beta")
    a = _positive_array(alpha, "time", "alpha", allow_zero=True)
    return _out(_alltoall(w, p, b, a))


def _alltoall(w, p, b, a):
    return (p - 1.0) / p * w / b + (p - 1.0) * a


def _reduce_scatter(w, p, b, a):
    # a ring reduce-scatter (or all-gather) of a w-byte buffer: half a ring all-reduce, the
    # same steps and volume per rank as a pairwise all-to-all of w bytes
    return _alltoall(w, p, b, a)
