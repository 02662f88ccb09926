"""`import plaster_model` stays light: no heavy dependency is imported eagerly.

Timing is measured in benchmarks/bench_import.py, not here; this checks what is imported.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("scipy", "sympy", "matplotlib", "pint", "pandas")


def _imported_after(code: str) -> list[str]:
    probe = f"{code}; import sys; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True,
                         check=True, timeout=60)
    return [m for m in out.stdout.strip().split(",") if m]


def test_import_plaster_model_imports_no_heavy_module():
    assert _imported_after("import plaster_model") == []


def test_public_names_resolve_lazily():
    # Listing the public API must not import submodules either.
    assert _imported_after("import plaster_model as pm; dir(pm); pm.__all__") == []


def test_sweep_does_not_need_sympy_or_matplotlib():
    # pandas (the result) and pint (parsing the catalog's unit strings) are needed here;
    # pint itself imports scipy when it is installed (pint/compat.py), so scipy is not checked.
    loaded = _imported_after("import plaster_model as pm; pm.sweep('ResNet-50', 'V100', [1, 8], "
                             "'InfiniBand EDR', 32, devices_per_node=8, intra_node='NVLink 2')")
    assert not {"sympy", "matplotlib"} & set(loaded)


def test_cli_help_imports_no_heavy_module():
    # `plaster-model --help` builds every sub-command's parser (the calibrate one included)
    # and formats it, without importing pandas, scipy or pint (its time: benchmarks/bench_import.py)
    assert _imported_after("from plaster_model import cli; cli.build_parser().format_help()") == []
