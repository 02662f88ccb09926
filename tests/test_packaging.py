"""The package ships its catalogs and stays light to import."""
import importlib.metadata
import subprocess
import sys

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


def test_import_does_not_load_heavy_modules():
    code = ("import sys, plaster_model; "
            "print(','.join(m for m in ('scipy', 'sympy', 'matplotlib', 'pint', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
