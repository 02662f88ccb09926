"""Cluster construction: catalog systems sized in nodes or devices (issue 12, defects 2 and 9)."""
import pytest

import plaster_model as pm


def test_from_system_in_devices():
    # HPE Apollo 6500 (hardware_catalog/systems.yaml): 8 x P100 per node, PCIe 3.0 x16 inside,
    # InfiniBand FDR between nodes, 1 NIC. 8 devices = exactly one node.
    c = pm.Cluster.from_system("HPE Apollo 6500", n_devices=8)
    assert (c.n_devices, c.n_nodes, c.devices_per_node) == (8, 1, 8)
    assert c.device.name == "P100" and c.intra_node.name == "PCIe 3.0 x16"
    assert c.bottleneck_link.name == "PCIe 3.0 x16"  # one node: no network crossed


def test_from_system_partial_last_node():
    # 20 devices at 8 per node: ceil(20 / 8) = 3 nodes, the last holding 4
    c = pm.Cluster.from_system("HPE Apollo 6500", n_devices=20)
    assert (c.n_devices, c.n_nodes) == (20, 3)
    assert c.bottleneck_link.name == "InfiniBand FDR"


def test_from_system_in_nodes_unchanged():
    # DGX-1 (V100): 8 GPUs per node, so 4 nodes = 32 devices
    assert pm.Cluster.from_system("DGX-1 (V100)", n_nodes=4).n_devices == 32
    assert pm.Cluster.from_system("DGX-1 (V100)").n_devices == 8  # default: one node


def test_from_system_both_sizes_refused():
    with pytest.raises(pm.ParameterError, match="not both"):
        pm.Cluster.from_system("HPE Apollo 6500", n_nodes=2, n_devices=16)


@pytest.mark.parametrize("kw", [{"n_devices": 0}, {"n_devices": 2.5}, {"n_nodes": -1}])
def test_from_system_bad_counts(kw):
    with pytest.raises(pm.ParameterError, match=next(iter(kw))):
        pm.Cluster.from_system("HPE Apollo 6500", **kw)


def test_from_system_overrides_links():
    c = pm.Cluster.from_system("HPE Apollo 6500", n_devices=16, intra_node="NVLink 1",
                               interconnect="InfiniBand EDR", nics_per_node=2)
    assert c.intra_node.name == "NVLink 1"
    assert c.interconnect.name == "InfiniBand EDR"
    assert c.nics_per_node == 2


def test_eight_gpus_one_server_vs_eight_nodes():
    # pm.Cluster("V100", 8) is eight one-GPU nodes (devices_per_node defaults to 1), as the
    # docstring says; from_system gives one 8-GPU server whose all-reduce stays on NVLink.
    nodes = pm.Cluster("V100", 8, interconnect="InfiniBand EDR")
    box = pm.Cluster.from_system("DGX-1 (V100)", n_devices=8)
    assert (nodes.n_nodes, box.n_nodes) == (8, 1)
    assert nodes.bottleneck_link.name == "InfiniBand EDR"
    assert box.bottleneck_link.name == box.intra_node.name == "NVLink 2"
    assert "single-GPU" in pm.Cluster.__doc__
