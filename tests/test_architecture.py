"""One home per formula: each closed form is defined once, in estimators/, and the
orchestrators call it. These tests read the package source, so they fail the moment a
model is restated somewhere else."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import plaster_model as pm

PKG = Path(pm.__file__).resolve().parent


def _definitions():
    """Function name -> files defining it. ``formulas.py`` is skipped: it is the sympy twin
    of the estimators (same names, symbolic; tests/test_formulas.py checks they agree)."""
    out = {}
    for path in PKG.rglob("*.py"):
        if path.name == "formulas.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                out.setdefault(node.name, []).append(path.relative_to(PKG).as_posix())
    return out


@pytest.mark.parametrize("name, home", [
    ("data_parallel_iteration", "estimators/iteration.py"),
    ("inference_batch_time", "estimators/inference.py"),
    ("inference_roofline_terms", "estimators/inference.py"),
    ("_roofline_terms", "estimators/inference.py"),
    ("tree_allreduce_time", "estimators/collectives.py"),
    ("ring_allreduce_time", "estimators/collectives.py"),
    ("hierarchical_allreduce_time", "estimators/collectives.py"),
    ("auto_allreduce_time", "estimators/collectives.py"),
    ("parameter_server_time", "estimators/collectives.py"),
    ("training_memory_bytes", "estimators/memory.py"),
    ("summa_bandwidth_bound", "estimators/summa.py"),
    ("inferences_per_joule", "estimators/energy.py"),
    ("power_capped_clock_ratio", "estimators/power_cap.py"),
    ("layerwise_time", "estimators/layerwise.py"),
    ("operator_table", "estimators/step.py"),
    ("roofline_step_time", "estimators/step.py"),
    ("roofline_ratio", "estimators/step.py"),
    ("node_links", "resolution.py"),
])
def test_each_model_is_defined_once_in_its_home(name, home):
    assert _definitions().get(name) == [home]


def test_the_training_work_factor_is_one_constant():
    # "3 × forward FLOPs" is TRAINING_FLOPS_FACTOR; no orchestrator writes the literal into
    # a compute-time expression (a float 3.0 multiplying flops)
    offenders = []
    for path in PKG.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for needle in ("3.0 * f", "3 * F *", "3.0 * F", "3 * fwd_flops", "3.0 * fwd_flops"):
            if needle in text and path.name != "formulas.py":
                offenders.append(f"{path.relative_to(PKG)}: {needle!r}")
    assert not offenders, offenders
