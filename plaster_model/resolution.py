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

import functools
import math
import re
from dataclasses import dataclass, field

import numpy as np

__all__ = ["BACKENDS", "Backend", "communication_backend", "backend_for_algorithm", "link_class",
           "node_links", "cluster_links", "NodeLayout", "multi_node_layout", "DEFAULT_INTRA_NODE",
           "largest_variable_params", "first_layer_params"]


# Framework facts and backends live in plaster_model.catalog.frameworks (one home; neither
# this module nor calibration.rows imports the other); re-exported here by their public names.
from .catalog.frameworks import BACKENDS, Backend, communication_backend  # noqa: E402,F401


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


#: Texts saying that the exchange ran over TCP/IP sockets whatever the fabric (NCCL's socket
#: transport, IP over InfiniBand, RDMA switched off).
_SOCKETS = re.compile(r"nccl_ib_disable\s*=\s*1|nccl_net\s*=\s*['\"]?socket|tcp(?:/ip)?\s+sockets?|"
                      r"\bsockets?\s+transport|\bover\s+tcp\b|\bipoib\b|ip over infiniband")


def link_class(interconnect, text=None) -> str:
    """Technology class of a link: ``nvlink``, ``pcie``, ``ici``, ``rdma`` or ``ethernet``.

    The calibration keys communication efficiency by (backend, link class): a parameter
    server over 10 GbE says nothing about NCCL rings over NVLink, and NCCL over plain
    Ethernet (TCP sockets) is its own class, never the RDMA fabrics' (InfiniBand, RoCE,
    EFA). A run whose ``text`` says the exchange used sockets on an RDMA-capable fabric
    (``NCCL_IB_DISABLE=1``, IPoIB, "RDMA disabled") is classed ``ethernet`` too.

    Parameters
    ----------
    interconnect : Interconnect or str or None
        The link (its ``name``, ``full_name`` and ``aliases`` are read).
    text : str, optional
        The run's own words about its transport (interconnect text, notes).

    Returns
    -------
    str
        The class, ``"none"`` for no link, ``"other"`` when no keyword matches.

    Examples
    --------
    >>> link_class("InfiniBand FDR"), link_class("NVLink 2"), link_class("10GbE")
    ('rdma', 'nvlink', 'ethernet')
    >>> link_class("InfiniBand EDR", "NCCL_IB_DISABLE=1 (TCP sockets over IPoIB)")
    'ethernet'
    """
    if interconnect is None:
        return "none"
    if isinstance(interconnect, str):
        name = interconnect
    else:
        name = " ".join([interconnect.name, getattr(interconnect, "full_name", "") or "",
                         *getattr(interconnect, "aliases", ())])
    name = f" {name.lower()} "
    cls = next((c for c, keys in _LINK_CLASSES if any(k in name for k in keys)), "other")
    if cls == "rdma" and isinstance(text, str) and text.strip() and _socket_transport(text.lower()):
        return "ethernet"
    return cls


@functools.lru_cache(maxsize=4096)
def _socket_transport(low: str) -> bool:
    """Whether a run's text says its exchange used TCP sockets (cached: a table repeats its texts)."""
    from .catalog.frameworks import negated_spans

    negated = " ".join(low[a:b] for a, b in negated_spans(low))
    return bool(_SOCKETS.search(low)) or "rdma" in negated


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


@dataclass(frozen=True)
class NodeLayout:
    """The links of a run that spans nodes, read from its interconnect text (see
    :func:`multi_node_layout`).

    Attributes
    ----------
    network : str or None
        Catalog interconnect between nodes; None when the text states none and nothing
        supplies it (``refused`` says why).
    intra_node : str
        Catalog interconnect between the devices of a node.
    nics_per_node : int
        Network ports per node.
    system : str or None
        The catalog system the text names (or the default one), whose layout filled the gaps.
    assumptions : tuple of str
        One sentence per part the text did not state.
    refused : str or None
        Why no network could be given, else None.
    """

    network: str | None
    intra_node: str
    nics_per_node: int
    system: str | None = None
    assumptions: tuple[str, ...] = field(default=())
    refused: str | None = None


#: The intra-node link taken when neither the text nor a system names one: the servers of
#: the 2016-18 sources put their GPUs on PCIe 3.0 x16 switches.
DEFAULT_INTRA_NODE = "PCIe 3.0 x16"


#: Clauses that say the fabric is not stated (the documented default applies to them only).
_UNSTATED = re.compile(r"not (?:stated|given|known|specified|reported)|unknown|unspecified|\bn/?a\b|"
                       r"multi[\s\-]?node|several nodes|cluster|^\s*$", re.IGNORECASE)


def _reference_system(cat, device: str | None, intra: str | None):
    """The first catalog system built of ``device`` (and ``intra`` when given): the default
    layout of a multi-node run that names its GPU but not its system or network."""
    if not device:
        return None
    for name, sys_obj in cat.entries["system"].items():
        if sys_obj.device == device and sys_obj.interconnect and (intra is None or sys_obj.intra_node == intra):
            return sys_obj
    return None


def multi_node_layout(text, device=None, link=None) -> NodeLayout:
    """The node layout of a run that spans nodes, from its free-text interconnect.

    Rules (each part the text leaves out is supplied and stated, never guessed silently):

    1. The text is read by :func:`plaster_model.catalog.names.parse_fabric` (with the run's
       device, so ``"DGX-1"`` is the DGX-1 of that GPU). A clause naming a network
       (InfiniBand, Ethernet, RoCE, EFA, ...) is the network; NVLink, NVSwitch and PCIe are
       links **inside** a node, never between nodes.
    2. A system named in the text (DGX-1, DGX-2, DGX A100, DGX H100, p4d.24xlarge, ...)
       supplies what the text leaves out: its intra-node link (NVLink/NVSwitch), its
       network and its NICs per node.
    3. A clause the catalog cannot map (``"RoCE"`` without a rate, ``"carrier pigeon"``)
       is reported unmapped (``refused``), unless it says the fabric is not stated
       (``"not stated"``, ``"unknown"``, ``"multi-node"``, ``"cluster"``). A text naming
       neither a network nor a system (``"NVLink; multi-node (fabric not stated)"``) takes the layout of the catalog's first system built of the run's device
       (and intra-node link when stated), stated as an assumption; with no such system the
       run is refused (``refused``).
    4. With no intra-node link stated or supplied, the devices of a node share a
       :data:`DEFAULT_INTRA_NODE` switch; with no NIC count, one NIC per node (stated).

    Parameters
    ----------
    text : str
        The row's interconnect text.
    device : str, optional
        The run's catalog device.
    link : str or Interconnect, optional
        The link the text was mapped to already (a catalog name, e.g. by a table of known
        texts), used when the fabric reading finds no link and no system.

    Returns
    -------
    NodeLayout

    Examples
    --------
    >>> lay = multi_node_layout("NVLink within DGX-1; multi-node (fabric not stated)", "V100")
    >>> lay.network, lay.intra_node, lay.nics_per_node, lay.system
    ('InfiniBand EDR', 'NVLink 2', 4, 'DGX-1 (V100)')
    >>> multi_node_layout("8x ConnectX-6 HDR InfiniBand", "A100").intra_node
    'PCIe 3.0 x16'
    """
    from .catalog.loader import active_catalog
    from .catalog.names import parse_fabric

    cat = active_catalog()
    raw = "" if text is None else str(text)
    fab = parse_fabric(raw, device) if raw.strip() else None
    scope = lambda name: cat.get("interconnect", name).scope if name else None  # noqa: E731
    link_name = getattr(link, "name", link)
    stated_net = stated_intra = None
    nics = None
    if fab is not None:
        for m in fab.matches:
            if m.ok and scope(m.name) == "inter_node" and stated_net is None:
                stated_net, nics = m.name, m.count
            elif m.ok and scope(m.name) in ("intra_node", "host") and stated_intra is None:
                stated_intra = m.name
    # the link mapped earlier counts only where the fabric reading found nothing (a name
    # mapped by a table, such as calibration.rows.INTERCONNECT_MAP): a link filled in from a
    # system the text names is the system's, and is stated as such below
    parsed = fab is not None and (fab.system or any(m.ok for m in fab.matches))
    if not parsed and link_name and scope(link_name) == "inter_node":
        stated_net = link_name
    if not parsed and link_name and scope(link_name) in ("intra_node", "host"):
        stated_intra = link_name
    notes: list[str] = []
    sys_obj = cat.get("system", fab.system) if fab is not None and fab.system else None
    # a clause that says something the catalog cannot map ("RoCE" without a rate, "carrier
    # pigeon") states a network: it is reported unmapped, never replaced by a default; only
    # a clause that says the fabric is not stated ("multi-node (fabric not stated)") is
    vague = [m for m in (fab.matches if fab is not None else ()) if not m.ok
             and not _UNSTATED.search(m.text)]
    if stated_net is None and vague:
        return NodeLayout(None, stated_intra or DEFAULT_INTRA_NODE, 1, None, (),
                          f"interconnect {raw!r} is not mapped to a catalog link ({vague[0].how}"
                          + (f"; closest: {', '.join(vague[0].candidates)}" if vague[0].candidates else "") + ")")
    if sys_obj is None and stated_net is None:
        sys_obj = _reference_system(cat, device, stated_intra) or _reference_system(cat, device, None)
        if sys_obj is not None:
            notes.append(f"no system or network named in {raw!r}: the layout of the catalog's "
                         f"{sys_obj.name} (a {device} system) assumed")
    network = stated_net
    if network is None and sys_obj is not None and sys_obj.interconnect:
        network = sys_obj.interconnect
        notes.append(f"network between nodes not stated: {network} of {sys_obj.name} assumed")
    if network is None:
        return NodeLayout(None, stated_intra or DEFAULT_INTRA_NODE, 1, None, tuple(notes),
                          f"the network between nodes is not stated in {raw!r} and no catalog system "
                          f"supplies one (NVLink, NVSwitch and PCIe join the devices of one node only); "
                          "name the network, e.g. 'NVLink 2, 4x InfiniBand EDR'")
    intra = stated_intra
    if intra is None and sys_obj is not None and sys_obj.intra_node:
        intra = sys_obj.intra_node
        notes.append(f"intra-node link not stated: {intra} of {sys_obj.name} assumed")
    if intra is None:
        intra = DEFAULT_INTRA_NODE
        notes.append(f"intra-node link not stated: the devices of a node share a {intra} switch (assumed)")
    if nics is None and fab is not None and fab.nics_per_node and stated_net is not None:
        nics = fab.nics_per_node
    if nics is None and sys_obj is not None and network == sys_obj.interconnect and sys_obj.nics_per_node:
        nics = int(sys_obj.nics_per_node)
        notes.append(f"{nics} NIC(s) per node of {sys_obj.name} assumed")
    if nics is None:
        nics = 1
        notes.append("NICs per node not stated: 1 assumed")
    return NodeLayout(network, intra, int(nics), sys_obj.name if sys_obj is not None else None, tuple(notes))


def largest_variable_params(model) -> int | None:
    """Parameters of a model's largest variable (one weight tensor), or None when unknown.

    Read from the model's per-layer table (``layers["params"]``: the largest layer's
    weights and bias, the bias a rounding error beside them) or else its
    ``fully_connected`` list (``inputs × outputs`` of the largest layer; a lower bound when
    a convolution is larger). A parameter server that places whole variables
    (:func:`plaster_model.estimators.parameter_server_time`, ``placement="largest"``)
    puts this one on a single server.

    Examples
    --------
    >>> import plaster_model as pm
    >>> largest_variable_params(pm.load_model("VGG-16"))   # fc6: 25088 × 4096
    102760448
    >>> largest_variable_params(pm.Model(name="m", params=10, fwd_flops=1.0, source="x")) is None
    True
    """
    layers = getattr(model, "layers", None)
    if layers is not None:
        try:
            top = float(np.nanmax(np.asarray(layers["params"], dtype=float)))
        except (KeyError, TypeError, ValueError, IndexError):
            top = math.nan
        if math.isfinite(top) and top > 0:
            return int(top)
    fc = getattr(model, "fully_connected", None) or ()
    if fc:
        return int(max(i * o for i, o in fc))
    return None


def first_layer_params(model) -> int | None:
    """Parameters of a model's first layer with weights (forward order), or None when unknown.

    Backpropagation produces this layer's gradient last, so a framework that reduces
    gradients layer by layer as they are ready (BVLC Caffe 1.0's ``layer_wise_reduce``)
    exposes this reduction after the backward pass ends
    (:func:`plaster_model.estimators.pipelined_exposed_time`). Read from the model's
    operator table (:func:`plaster_model.model_builders.operators.operator_layers`, graph
    order); None for a model without one.

    Examples
    --------
    >>> import plaster_model as pm
    >>> first_layer_params(pm.load_model("VGG-16"))   # conv1_1: 3·3·3·64 weights + 64 biases
    1792
    >>> first_layer_params(pm.Model(name="m", params=10, fwd_flops=1.0, source="x")) is None
    True
    """
    from .model_builders.operators import operator_layers

    name = getattr(model, "name", None)
    try:
        table = operator_layers(name) if isinstance(name, str) else None
    except (KeyError, ValueError, LookupError, ImportError):
        table = None
    if table is None or "params" not in table:
        return None
    params = np.asarray(table["params"], dtype=float)
    nz = params[np.isfinite(params) & (params > 0)]
    return int(nz[0]) if nz.size else None
