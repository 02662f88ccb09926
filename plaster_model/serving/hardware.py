"""The hardware a serving configuration runs on: peaks, memory, and the links between GPUs.

A bare device takes the links of the catalog server built around it (the first ``DGX``/``HGX``
system whose device it is: NVLink/NVSwitch inside the node, its NICs across nodes); a
:class:`~plaster_model.Cluster` gives its own. Without either, only single-GPU layouts run.
"""
from __future__ import annotations

from ..errors import ParameterError
from .precision import math_peak

__all__ = ["resolve_hardware", "hardware_values"]


def _catalog_system(device):
    from ..catalog.loader import list_systems, load_system  # noqa: PLC0415
    names = list(list_systems()["name"])
    names.sort(key=lambda n: (not n.startswith(("DGX", "HGX")), n))
    for name in names:
        s = load_system(name)
        if s.device == device.name:
            return s
    return None


def resolve_hardware(device_or_cluster):
    """(Device, links dict, description) of a device name, a Device, a Cluster or a system name.

    ``links``: ``link_bw`` (intra-node per-direction bandwidth per GPU [B/s]),
    ``link_latency_s``, ``inter_bw`` (network bandwidth per GPU [B/s]), ``devices_per_node``,
    ``scale_up_domain`` (GPUs one intra-node fabric joins: a node's, or an NVL72 rack's 72 where
    the catalog system or the cluster says so), ``n_devices`` (None for a bare device).
    """
    from ..catalog.loader import load_device  # noqa: PLC0415
    from ..catalog.objects import Device  # noqa: PLC0415
    from ..cluster import Cluster  # noqa: PLC0415
    cluster = None
    if isinstance(device_or_cluster, Cluster):
        cluster = device_or_cluster
        device = cluster.device
    elif isinstance(device_or_cluster, Device):
        device = device_or_cluster
    elif isinstance(device_or_cluster, str):
        try:
            device = load_device(device_or_cluster)
        except (KeyError, LookupError, ValueError):
            try:
                cluster = Cluster.from_system(device_or_cluster)
            except Exception:  # noqa: BLE001 - report the device look-up instead
                raise ParameterError("device_or_cluster", device_or_cluster,
                                     "a catalog device or system name, a Device or a Cluster") from None
            device = cluster.device
    else:
        raise ParameterError("device_or_cluster", device_or_cluster, "a device name, Device or Cluster")
    if cluster is not None:
        intra, inter = cluster.intra_node, cluster.interconnect
        dpn, nics, n = cluster.devices_per_node, cluster.nics_per_node, cluster.n_devices
        scale = getattr(cluster, "scale_up_domain", None)
        where = f"cluster {cluster.name}"
    else:
        s = _catalog_system(device)
        if s is None:
            intra = inter = None
            dpn, nics, n, scale = 1, 1, None, None
            where = f"{device.name} alone (no catalog server: single-GPU layouts only)"
        else:
            from ..catalog.loader import load_interconnect  # noqa: PLC0415
            intra = load_interconnect(s.intra_node) if s.intra_node else None
            inter = load_interconnect(s.interconnect) if s.interconnect else None
            dpn, nics, n = s.devices_per_node, s.nics_per_node, None
            scale = getattr(s, "scale_up_domain", None)
            where = f"{device.name} in a {s.name} ({s.intra_node} inside, {s.interconnect} across nodes)"
    link_bw = intra.bandwidth if intra is not None else 0.0
    inter_bw = inter.bandwidth * nics / dpn if inter is not None else 0.0
    links = {"link_bw": link_bw or inter_bw, "link_latency_s": (intra or inter).latency_s if (intra or inter) else 0.0,
             "inter_bw": inter_bw or link_bw, "devices_per_node": dpn, "n_devices": n,
             "scale_up_domain": max(int(scale or dpn), int(dpn))}
    return device, links, where


def hardware_values(device, links: dict, activations: str) -> tuple[dict, str | None]:
    """The ``hw`` dict of :func:`~plaster_model.serving.core.evaluate` for one device and math precision.

    Attention runs in bf16 (FlashAttention/FMHA kernels on a bf16 or dequantised fp8 cache).
    """
    peak, _, rule = math_peak(device, activations)
    attn, _, _ = math_peak(device, "bf16")
    return {"memory_bytes": device.memory_bytes, "bandwidth": device.memory_bandwidth, "peak_gemm": peak,
            "peak_attn": attn, "link_bw": links["link_bw"] or 1.0, "inter_bw": links["inter_bw"] or 1.0,
            "devices_per_node": links["devices_per_node"],
            "scale_up_domain": links.get("scale_up_domain", links["devices_per_node"])}, rule
