"""The resolution layer: which links, topology and communication backend apply at ``p`` devices.

Every predictor (:func:`~plaster_model.predict_training`, :func:`~plaster_model.sweep`,
:func:`~plaster_model.scaling_curve`, :func:`~plaster_model.is_bandwidth_bound`) and the
calibration's forward model ask this module, and only this module, two questions:

1. **Links at p devices** (:func:`node_links`): a cluster design fills nodes of
   ``devices_per_node`` first; while ``p`` fits one node the collective runs over the
   intra-node link, beyond it over the network, with the node layout (devices and NICs per
   node, the intra-node link) passed to the topology-aware algorithms. One device per node
   (or a single node) passes ``devices_per_node = 1``, which every algorithm reads as "flat
   over ``β``", so no caller needs a special case.
2. **Communication backend** (:func:`communication_backend`): how a framework exchanged
   gradients (NCCL/Horovod rings, parameter servers, Caffe's P2P tree, TPU all-reduce), read
   from a run's framework and notes, and the all-reduce algorithm and overlap that backend
   implies (:data:`BACKENDS`).

The functions are pure and vectorized, so the sweep evaluates the same rule over millions of
configurations that the scalar path evaluates once.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

__all__ = ["BACKENDS", "Backend", "communication_backend", "backend_for_algorithm", "link_class",
           "node_links", "cluster_links"]


@dataclass(frozen=True)
class Backend:
    """A gradient-exchange backend: the all-reduce it runs and whether it overlaps backprop.

    Attributes
    ----------
    name : str
        Key of :data:`BACKENDS`.
    algorithm : str
        All-reduce algorithm (:data:`plaster_model.estimators.ALGORITHMS`).
    overlap : float
        Fraction in [0, 1] of the exchange that can hide behind the backward pass.
    description : str
        What it is, with its reference.
    """

    name: str
    algorithm: str
    overlap: float
    description: str


#: Gradient-exchange backends of the stacks that produced published measurements
#: (``shared/BRIEF.md`` §9). ``overlap = 1``: buckets/fused tensors are reduced while
#: backpropagation continues, only the last bucket exposed (PyTorch DDP, Li et al. VLDB 2020;
#: Horovod tensor fusion, Sergeev & Del Balso 2018; TensorFlow's and MXNet's dataflow engines
#: send each gradient as soon as it is computed). Caffe's ``P2PSync`` reduces after the
#: backward pass (``overlap = 0``), and the seed model is serial.
BACKENDS: dict[str, Backend] = {
    "nccl": Backend("nccl", "auto", 1.0,
                    "NCCL all-reduce (Horovod, PyTorch DDP, TF replicated+NCCL, Caffe2, MXNet NCCL "
                    "kvstore): rings inside a node, multi-rail rings or hierarchical across nodes"),
    "parameter_server": Backend("parameter_server", "parameter_server", 1.0,
                                "parameter servers (TF variable_update=parameter_server / "
                                "distributed_replicated, MXNet kvstore local/device/dist_sync): each "
                                "worker pushes its gradient and pulls the model"),
    "p2p_tree": Backend("p2p_tree", "tree", 0.0,
                        "Caffe multi-GPU P2PSync: a binary reduction tree over PCIe after the backward "
                        "pass (the seed's tree model)"),
    "tpu": Backend("tpu", "ring", 1.0, "TPU all-reduce over the inter-chip interconnect (2-D torus rings)"),
    "seed": Backend("seed", "tree", 0.0, "the HPE Deep Learning Cookbook's tree 2·w·log2(p)/β, serial"),
}

# (pattern in framework/notes, backend, why) in order: the first match wins.
_RULES: tuple[tuple[str, str, str], ...] = (
    (r"horovod", "nccl", "Horovod runs NCCL all-reduce of fused tensors"),
    (r"variable_update\s*=\s*replicated.*nccl|nccl", "nccl", "NCCL all-reduce stated"),
    (r"variable_update\s*=\s*distributed_replicated", "parameter_server",
     "distributed_replicated: replicated inside a node, parameter servers across nodes"),
    (r"variable_update\s*=\s*parameter_server", "parameter_server", "variable_update=parameter_server"),
    (r"variable_update\s*=\s*replicated", "nccl", "variable_update=replicated (all-reduce on the GPUs)"),
    (r"kvstore\s*[=:]?\s*['\"]?(dist_sync|dist_device_sync|dist_async|local)", "parameter_server",
     "MXNet kvstore parameter server"),
    (r"kvstore\s*[=:]?\s*['\"]?device", "parameter_server",
     "MXNet kvstore=device: each gradient reduced on one GPU (sharded over the GPUs)"),
    (r"kvstore\s*[=:]?\s*['\"]?nccl", "nccl", "MXNet kvstore=nccl"),
    (r"\btpu", "tpu", "TPU all-reduce"),
    (r"ddp|distributeddataparallel", "nccl", "PyTorch DDP over NCCL"),
)

# framework family -> (default backend, documented default)
_FRAMEWORK_DEFAULTS: dict[str, tuple[str, str]] = {
    "tensorflow": ("parameter_server", "tf_cnn_benchmarks' default variable_update=parameter_server"),
    "pytorch": ("nccl", "PyTorch DistributedDataParallel over NCCL"),
    "torch": ("nccl", "PyTorch DistributedDataParallel over NCCL"),
    "mxnet": ("parameter_server", "MXNet's default kvstore ('device' for multi-GPU training scripts)"),
    "caffe2": ("nccl", "Caffe2 data_parallel_model with NCCL all-reduce"),
    "caffe": ("p2p_tree", "BVLC Caffe's multi-GPU P2PSync tree"),
    "paddlepaddle": ("nccl", "PaddlePaddle ParallelExecutor NCCL all-reduce"),
    "chainer": ("nccl", "ChainerMN pure_nccl communicator"),
    "jax": ("nccl", "JAX pmap/psum over NCCL"),
}


def communication_backend(framework=None, notes=None, backend=None) -> tuple[Backend, str]:
    """The gradient-exchange backend of a run, and how it was decided.

    Parameters
    ----------
    framework : str, optional
        Free-text framework ("TensorFlow 19.07 NGC (Horovod)").
    notes : str, optional
        Free-text run notes ("variable_update=parameter_server").
    backend : str, optional
        An explicit backend name (a key of :data:`BACKENDS`, or ``"auto"`` for NCCL): wins
        over the texts.

    Returns
    -------
    (Backend, str)
        The backend and a sentence saying why (an explicit name, a keyword found in the
        texts, the framework's documented default, or ``auto`` when nothing is known).

    Raises
    ------
    KeyError
        For an unknown explicit backend name (with the known ones).

    Examples
    --------
    >>> b, why = communication_backend("TensorFlow (tf_cnn_benchmarks)", "variable_update=replicated with NCCL")
    >>> b.name, b.algorithm
    ('nccl', 'auto')
    >>> communication_backend("TensorFlow (tf_cnn_benchmarks)")[0].name
    'parameter_server'
    """
    if backend is not None:
        key = str(backend).strip().lower().replace("-", "_").replace(" ", "_")
        key = {"auto": "nccl", "horovod": "nccl", "ddp": "nccl", "ps": "parameter_server",
               "tree": "seed", "caffe": "p2p_tree"}.get(key, key)
        if key not in BACKENDS:
            import difflib

            close = difflib.get_close_matches(key, list(BACKENDS), n=3, cutoff=0.4)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise KeyError(f"backend {backend!r} is unknown; expected one of {sorted(BACKENDS)} or 'auto'{hint}")
        return BACKENDS[key], f"backend {key!r} as given"
    text = " ".join(str(t) for t in (framework, notes) if isinstance(t, str)).lower()
    for pattern, name, why in _RULES:
        if re.search(pattern, text):
            return BACKENDS[name], why
    if isinstance(framework, str) and framework.strip():
        # (imported here: calibration.rows loads pandas, which a default prediction never needs)
        from .calibration.rows import framework_family  # noqa: PLC0415

        fam = framework_family(framework)
    else:
        fam = "unknown"
    if fam in _FRAMEWORK_DEFAULTS:
        name, why = _FRAMEWORK_DEFAULTS[fam]
        return BACKENDS[name], f"not stated: {why} assumed"
    return BACKENDS["nccl"], "not stated: an NCCL-class all-reduce ('auto') assumed"


def backend_for_algorithm(algorithm: str) -> str:
    """The backend whose communication efficiency applies to a named algorithm.

    A parameter-server exchange takes the ``parameter_server`` backend's; every all-reduce
    (``auto``, ring, tree, halving-doubling, hierarchical, multi-rail ring) the NCCL one:
    they run on the GPUs over the same links.

    Parameters
    ----------
    algorithm : str
        An all-reduce algorithm name.

    Returns
    -------
    str
        A key of :data:`BACKENDS`.

    Examples
    --------
    >>> backend_for_algorithm("parameter_server"), backend_for_algorithm("ring")
    ('parameter_server', 'nccl')
    """
    from .estimators.collectives import normalize_algorithm

    return "parameter_server" if normalize_algorithm(algorithm) == "parameter_server" else "nccl"


_LINK_CLASSES = (
    ("nvlink", ("nvlink", "nvswitch", "infinity fabric", "xgmi", "c2c")),
    ("pcie", ("pcie", "pci express", "pci-e")),
    ("ici", ("ici", "inter-chip", "tpu")),
    ("rdma", ("infiniband", " ib ", "omni-path", "omnipath", "efa", "slingshot", "roce")),
    ("ethernet", ("ethernet", "gbe", "gige", "gbit", "10g", "25g", "40g", "100g")),
)


def link_class(interconnect) -> str:
    """Technology class of a link: ``nvlink``, ``pcie``, ``ici``, ``rdma`` or ``ethernet``.

    The calibration keys communication efficiency by (backend, link class): a parameter
    server over 10 GbE says nothing about NCCL rings over NVLink.

    Parameters
    ----------
    interconnect : Interconnect or str or None
        The link (its ``name``, ``full_name`` and ``aliases`` are read).

    Returns
    -------
    str
        The class, ``"none"`` for no link, ``"other"`` when no keyword matches.

    Examples
    --------
    >>> link_class("InfiniBand FDR"), link_class("NVLink 2"), link_class("10GbE")
    ('rdma', 'nvlink', 'ethernet')
    """
    if interconnect is None:
        return "none"
    if isinstance(interconnect, str):
        text = interconnect
    else:
        text = " ".join([interconnect.name, getattr(interconnect, "full_name", "") or "",
                         *getattr(interconnect, "aliases", ())])
    text = f" {text.lower()} "
    for cls, keys in _LINK_CLASSES:
        if any(k in text for k in keys):
            return cls
    return "other"


def node_links(n_devices, devices_per_node, intra_bandwidth, intra_latency, inter_bandwidth,
               inter_latency, nics_per_node=1):
    """The links and node layout in force at ``p`` devices (vectorized over every argument).

    Nodes of ``g = devices_per_node`` fill up first. With ``p ≤ g`` (one node) the
    collective runs over the intra-node link, flat; with ``p > g`` over the network, with
    the node layout for the topology-aware algorithms. A single device has no link
    (``β = 1`` B/s placeholder, never used: the all-reduce of one device is 0).

    Parameters
    ----------
    n_devices : array_like
        Devices ``p``.
    devices_per_node : array_like
        Devices per node ``g``.
    intra_bandwidth, intra_latency : array_like
        Intra-node link per device [B/s], [s] (NaN where the design has none).
    inter_bandwidth, inter_latency : array_like
        Network port [B/s], [s] (NaN where the design has none).
    nics_per_node : array_like
        Network ports per node ``m``.

    Returns
    -------
    dict of numpy.ndarray
        ``beta`` [B/s] and ``alpha`` [s] of the bottleneck link, ``multi_node`` (bool), and
        the topology keywords of :func:`plaster_model.estimators.allreduce_time`:
        ``devices_per_node`` (``g`` across nodes, 1 = flat), ``nics_per_node``,
        ``beta_intra`` [B/s], ``alpha_intra`` [s].

    Examples
    --------
    >>> out = node_links([8, 16], 8, 150e9, 1e-6, 12.5e9, 2e-6, nics_per_node=4)
    >>> out["beta"].tolist(), out["devices_per_node"].tolist()
    ([150000000000.0, 12500000000.0], [1.0, 8.0])
    """
    p = np.asarray(n_devices, dtype=float)
    g = np.asarray(devices_per_node, dtype=float)
    multi = np.ceil(p / g - 1e-12) > 1
    intra_bw = np.asarray(intra_bandwidth, dtype=float)
    intra_lat = np.asarray(intra_latency, dtype=float)
    inter_bw = np.asarray(inter_bandwidth, dtype=float)
    inter_lat = np.asarray(inter_latency, dtype=float)
    single = p <= 1
    beta = np.where(single, 1.0, np.where(multi, inter_bw, intra_bw))
    alpha = np.where(single, 0.0, np.where(multi, inter_lat, intra_lat))
    layered = multi & (g > 1)
    return {
        "beta": beta, "alpha": alpha, "multi_node": multi,
        "devices_per_node": np.where(layered, g, 1.0),
        "nics_per_node": np.broadcast_to(np.asarray(nics_per_node, dtype=float), np.shape(beta)) + 0.0,
        # placeholders where unused (flat rows): the network link itself
        "beta_intra": np.where(layered, np.nan_to_num(intra_bw, nan=1.0), beta),
        "alpha_intra": np.where(layered, np.nan_to_num(intra_lat, nan=0.0), alpha),
    }


def cluster_links(cluster, n_devices=None):
    """:func:`node_links` of a :class:`~plaster_model.Cluster` design at ``n_devices``.

    Parameters
    ----------
    cluster : Cluster
        The design (device, devices per node, links, NICs per node).
    n_devices : array_like, optional
        Device counts (default: the cluster's own).

    Returns
    -------
    dict
        As :func:`node_links`, plus ``link`` (the bottleneck :class:`Interconnect` per
        count, an object array; None for one device).

    Examples
    --------
    >>> import plaster_model as pm
    >>> c = pm.Cluster("V100", 16, devices_per_node=8, intra_node="NVLink 2", interconnect="InfiniBand EDR")
    >>> [l.name for l in cluster_links(c, [8, 16])["link"]]
    ['NVLink 2', 'InfiniBand EDR']
    """
    p = np.asarray(cluster.n_devices if n_devices is None else n_devices, dtype=float)
    intra, inter = cluster.intra_node, cluster.interconnect
    # a design with only one kind of link uses it at every size (a stated assumption of
    # is_bandwidth_bound when the crossover lies beyond one node of a network-less design)
    intra_l = intra or inter
    inter_l = inter or intra
    nan = math.nan
    out = node_links(p, cluster.devices_per_node,
                     intra_l.bandwidth if intra_l else nan, intra_l.latency_s if intra_l else nan,
                     inter_l.bandwidth if inter_l else nan, inter_l.latency_s if inter_l else nan,
                     cluster.nics_per_node)
    link = np.empty(p.shape, dtype=object)
    link[...] = None
    flat_link = np.where(out["multi_node"], 1, 0)
    for idx in np.ndindex(p.shape):
        if p[idx] > 1:
            link[idx] = inter_l if flat_link[idx] else intra_l
    out["link"] = link
    return out
