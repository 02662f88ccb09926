"""The installed package ships its catalogs (import weight: tests/test_import_light.py)."""
import importlib.metadata
import pytest


def test_wheel_ships_catalogs():
    # `pip install .` must put hardware_catalog/ and model_zoo.yaml inside the package
    # (plaster_model/_data), found through package resources, not the current directory.
    try:
        files = importlib.metadata.files("plaster_model") or []
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("plaster_model is not installed (running from a bare checkout)")
    names = {str(f) for f in files}
    if not any(n.startswith("plaster_model/") and n.endswith(".py") for n in names):
        pytest.skip("editable install: data is read from the checkout")
    for expected in ("plaster_model/_data/model_zoo.yaml",
                     "plaster_model/_data/hardware_catalog/devices.yaml",
                     "plaster_model/_data/hardware_catalog/interconnects.yaml",
                     "plaster_model/_data/hardware_catalog/systems.yaml",
                     "plaster_model/_units_definitions.txt"):
        assert expected in names
