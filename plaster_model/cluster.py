"""A cluster: ``n_devices`` devices, grouped in nodes, joined by links."""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, replace

from .catalog.loader import active_catalog
from .catalog.objects import Device, Interconnect
from .errors import ParameterError

__all__ = ["Cluster"]


def _count(value, name: str) -> int:
    """``value`` as an int >= 1, else :class:`ParameterError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
            or value != int(value) or value < 1:
        raise ParameterError(name, value, "a positive integer")
    return int(value)


@dataclass(frozen=True)
class Cluster:
    """Devices of one kind, ``devices_per_node`` to a node, linked inside and across nodes.

    Parameters
    ----------
    device : str or Device
        Catalog name (``"V100"``) or a :class:`~plaster_model.Device`.
    n_devices : int
        Total devices ``p``.
    devices_per_node : int
        Devices per node (server). Nodes are ``ceil(n_devices / devices_per_node)``.
    intra_node : str or Interconnect, optional
        Link between devices of one node (``"NVLink 2"``, ``"PCIe 3.0 x16"``). Required when
        a node holds more than one of the cluster's devices.
    interconnect : str or Interconnect, optional
        Network between nodes (``"InfiniBand EDR"``). Required with more than one node.
    nics_per_node : int
        Network ports per node (DGX-1: 4), shared by the node's devices.
    name : str
        Label used in tables and plots.
    scale_up_domain : int, optional
        Devices one scale-up fabric joins (NVLink Switch, Infinity Fabric, TPU ICI), a whole
        number of nodes: 72 for a GB200 NVL72 rack of 4-GPU trays. Default: one node.
        ``Cluster.from_system`` takes it from the system. The parallel plans place tensor,
        expert and context groups that fit in one domain on its links.

    Raises
    ------
    ValueError
        For a non-positive count or a missing link the cluster needs.
    KeyError
        For an unknown device or interconnect name (with close matches).

    Notes
    -----
    ``devices_per_node`` defaults to 1, so ``pm.Cluster("V100", 8)`` is **eight single-GPU
    nodes** joined by the network (and needs ``interconnect=``), not one 8-GPU server. For
    "8 GPUs in one box" give the node size and its link,
    ``pm.Cluster("V100", 8, devices_per_node=8, intra_node="NVLink 2")``, or take a catalog
    server: ``pm.Cluster.from_system("DGX-1 (V100)", n_devices=8)``
    (:func:`plaster_model.list_systems`).

    Examples
    --------
    >>> import plaster_model as pm
    >>> c = pm.Cluster(device="V100", n_devices=64, devices_per_node=8,
    ...                intra_node="NVLink 2", interconnect="InfiniBand EDR")
    >>> c.n_nodes
    8

    Eight GPUs in one server, and the same eight GPUs as eight one-GPU nodes:

    >>> pm.Cluster.from_system("DGX-1 (V100)", n_devices=8).n_nodes
    1
    >>> pm.Cluster("V100", 8, interconnect="InfiniBand EDR").n_nodes
    8
    """

    device: Device
    n_devices: int = 1
    devices_per_node: int = 1
    intra_node: Interconnect | None = None
    interconnect: Interconnect | None = None
    nics_per_node: int = 1
    name: str = ""
    scale_up_domain: int | None = None

    def __post_init__(self):
        cat = active_catalog()
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen dataclass)
        set_("device", cat.get("device", self.device))
        set_("n_devices", _count(self.n_devices, "n_devices"))
        set_("devices_per_node", _count(self.devices_per_node, "devices_per_node"))
        set_("nics_per_node", _count(self.nics_per_node, "nics_per_node"))
        for attr in ("intra_node", "interconnect"):
            value = getattr(self, attr)
            if value is not None:
                set_(attr, cat.get("interconnect", value))
        if self.scale_up_domain is not None:
            dom = _count(self.scale_up_domain, "scale_up_domain")
            if dom % self.devices_per_node:
                raise ParameterError("scale_up_domain", self.scale_up_domain,
                                     f"a whole number of nodes of {self.devices_per_node} devices "
                                     "(the devices one NVLink/Infinity Fabric/ICI domain joins)")
            set_("scale_up_domain", dom)
        # a scale-up domain spanning every node (a TPU pod's ICI, an NVL72 rack) needs no network
        spans_all = self.scale_up_domain is not None and self.n_devices <= self.scale_up_domain
        if self.n_nodes > 1 and self.interconnect is None and not spans_all:
            raise ParameterError(
                "interconnect", None, f"an inter-node interconnect for a cluster of {self.n_devices} "
                f"devices on {self.n_nodes} nodes, e.g. interconnect='InfiniBand EDR' "
                "(see plaster_model.list_interconnects())"
            )
        if min(self.devices_per_node, self.n_devices) > 1 and self.intra_node is None:
            raise ParameterError(
                "intra_node", None, f"an intra-node link for nodes of {self.devices_per_node} "
                "devices, e.g. intra_node='NVLink 2' or 'PCIe 3.0 x16'"
            )
        if not self.name:
            set_("name", self._default_name())

    def _default_name(self) -> str:
        parts = [f"{self.n_devices}× {self.device.name}"]
        if self.n_nodes > 1:
            parts.append(f"{self.n_nodes} nodes")
        links = [l.name for l in (self.intra_node if self.devices_per_node > 1 else None,
                                  self.interconnect if self.n_nodes > 1 else None) if l is not None]
        if links:
            parts.append(" + ".join(links))
        return ", ".join(parts)

    @property
    def n_nodes(self) -> int:
        """Number of nodes, ``ceil(n_devices / devices_per_node)``."""
        return math.ceil(self.n_devices / self.devices_per_node)

    @property
    def bottleneck_link(self) -> Interconnect | None:
        """The slowest link a cluster-wide collective crosses: the network when there are
        several nodes, else the intra-node link; None for a single device."""
        if self.n_devices == 1:
            return None
        if self.n_nodes > 1 and self.interconnect is not None:
            return self.interconnect
        return self.intra_node  # one node, or a scale-up domain spanning them all

    def with_devices(self, n_devices: int) -> "Cluster":
        """The same cluster design with ``n_devices`` devices (nodes fill up first)."""
        return replace(self, n_devices=n_devices, name="")

    @classmethod
    def from_system(cls, system, n_nodes: int | None = None, interconnect=None, *, n_devices: int | None = None,
                    intra_node=None, nics_per_node: int | None = None, nodes: int | None = None,
                    **kwargs) -> "Cluster":
        """A cluster of catalog systems (``"DGX-1 (V100)"``), sized in nodes or in devices.

        Parameters
        ----------
        system : str or System
            Catalog system name (:func:`plaster_model.list_systems`) or a
            :class:`~plaster_model.System`.
        n_nodes : int, optional
            Number of systems; the cluster has ``n_nodes × devices_per_node`` devices.
        interconnect : str or Interconnect, optional
            Network between nodes; overrides the system's network card.
        n_devices : int, optional
            Number of devices instead of ``n_nodes``: nodes are
            ``ceil(n_devices / devices_per_node)``, the last one possibly partly filled.
            Give ``n_nodes`` or ``n_devices``, not both (default one full node).
        intra_node : str or Interconnect, optional
            Link inside a node; overrides the system's.
        nics_per_node : int, optional
            Network ports per node; overrides the system's.
        nodes : int, optional
            The same as ``n_nodes`` (the command line's ``--nodes``); give one of them.
        **kwargs
            Other :class:`Cluster` fields (``name``).

        Returns
        -------
        Cluster

        Raises
        ------
        ParameterError
            When both ``n_nodes`` and ``n_devices`` are given, or either is not a positive
            integer.

        Examples
        --------
        >>> import plaster_model as pm
        >>> pm.Cluster.from_system("DGX-1 (V100)", n_nodes=4).n_devices
        32
        >>> c = pm.Cluster.from_system("HPE Apollo 6500", n_devices=12)  # 8 + 4 P100s
        >>> c.n_nodes, c.devices_per_node, c.intra_node.name
        (2, 8, 'PCIe 3.0 x16')
        >>> pm.Cluster.from_system("DGX-1 (V100)", nodes=2).n_devices
        16
        """
        from ._arguments import aliased

        n_nodes = aliased("n_nodes", n_nodes, "nodes", nodes)
        sys_ = active_catalog().get("system", system)
        if n_nodes is not None and n_devices is not None:
            raise ParameterError("n_devices", n_devices,
                                 f"either n_nodes= or n_devices=, not both (n_nodes={n_nodes!r} was given too)")
        if n_devices is not None:
            n_devices = _count(n_devices, "n_devices")
        else:
            n_devices = _count(1 if n_nodes is None else n_nodes, "n_nodes") * sys_.devices_per_node
        return cls(device=sys_.device, n_devices=n_devices,
                   devices_per_node=sys_.devices_per_node,
                   intra_node=intra_node if intra_node is not None else sys_.intra_node,
                   interconnect=interconnect if interconnect is not None else sys_.interconnect,
                   nics_per_node=nics_per_node if nics_per_node is not None else sys_.nics_per_node,
                   **({"scale_up_domain": sys_.scale_up_domain}
                      if getattr(sys_, "scale_up_domain", None) and "scale_up_domain" not in kwargs else {}),
                   **kwargs)
