"""Which link tier each parallel group's collectives run on.

Ranks are laid out as Megatron-LM does, tensor-parallel innermost: ``rank = tp_rank +
tp·(cp_rank + cp·(dp_rank + dp·pp_rank))``, so a group of ``n`` ranks at stride ``s`` spans
``s·n`` consecutive ranks. A group that fits in one scale-up domain of ``g`` devices (a node's
NVLink/NVSwitch, an NVL72 rack, a TPU slice's ICI) runs on that domain's link at its per-device
bandwidth; a larger group crosses the network, where the node's ``nics`` ports are shared by the
``g/k`` groups that cross at once (``k`` of a group's ranks per node), so a rank gets
``β_net·nics·k/g`` (never more than the scale-up link).
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["ClusterLinks", "cluster_tiers", "group_link"]


class ClusterLinks:
    """The two link tiers of a cluster, as plain floats (SI).

    Attributes
    ----------
    domain : int
        Devices of one scale-up domain (the cluster's ``scale_up_domain`` where it has one,
        else ``devices_per_node``).
    beta_intra, alpha_intra : float
        Per-device scale-up bandwidth [B/s] and latency [s].
    beta_net, alpha_net : float
        One network port [B/s] and its latency [s]; ``nics`` ports per domain.
    """

    def __init__(self, domain, beta_intra, alpha_intra, beta_net, alpha_net, nics, intra_name, net_name):
        self.domain, self.nics = int(domain), float(nics)
        self.beta_intra, self.alpha_intra = float(beta_intra), float(alpha_intra)
        self.beta_net, self.alpha_net = float(beta_net), float(alpha_net)
        self.intra_name, self.net_name = intra_name, net_name


def cluster_tiers(cluster) -> ClusterLinks:
    """:class:`ClusterLinks` of a :class:`~plaster_model.Cluster` (a design with one link kind
    uses it for both tiers)."""
    intra, inter = cluster.intra_node, cluster.interconnect
    domain = int(getattr(cluster, "scale_up_domain", None) or cluster.devices_per_node)
    a, b = intra or inter, inter or intra
    if a is None:  # one device: no link; placeholders never used (every group has size 1)
        return ClusterLinks(1, 1.0, 0.0, 1.0, 0.0, 1, None, None)
    # NICs per scale-up domain: every node of the domain brings its own (an NVL72 rack of 18
    # 4-GPU trays has 72 ports, not 4)
    nics = cluster.nics_per_node * max(1, domain // max(1, cluster.devices_per_node))
    return ClusterLinks(domain, a.bandwidth, a.latency_s, b.bandwidth, b.latency_s, nics, a.name, b.name)


def group_link(size, stride, links: ClusterLinks):
    """Bandwidth [B/s], latency [s] and tier (0 scale-up, 1 network) of groups of ``size`` ranks
    at ``stride`` (vectorized).

    Examples
    --------
    DGX A100 nodes (8 GPUs, 300 GB/s NVLink, 8 × 25 GB/s HDR): TP 8 stays inside, a DP group at
    stride 64 crosses the network at one port's 25 GB/s per GPU:

    >>> L = ClusterLinks(8, 300e9, 1e-6, 25e9, 5e-6, 8, "NVLink 3", "InfiniBand HDR")
    >>> b, a, tier = group_link([8, 16], [1, 64], L)
    >>> b.tolist(), tier.tolist()
    ([300000000000.0, 25000000000.0], [0, 1])
    """
    n = np.asarray(size, dtype=float)
    s = np.asarray(stride, dtype=float)
    g = float(links.domain)
    inside = n * s <= g
    k = np.clip(np.floor(g / s), 1.0, None)  # ranks of one group per domain
    k = np.minimum(k, n)
    net = np.minimum(links.beta_intra, links.beta_net * links.nics * k / g)
    beta = np.where(inside, links.beta_intra, net)
    alpha = np.where(inside, links.alpha_intra, links.alpha_net)
    return beta, alpha, np.where(inside, 0, 1)
