"""numpydoc validation of the public functions of ``plaster_model.__all__``.

Checked, per function: every parameter documented (PR01) and no documented parameter that
does not exist (PR02), a Returns section (RT01), an Examples section (EX01). Docstrings
that do not pass yet are listed, item by item, in :data:`KNOWN_FAILURES`; the test fails on
a new failure *and* on an entry that passes now, so the list can only shrink.
"""
from __future__ import annotations

import ast
import inspect
import re

import pytest

import plaster_model as pm

numpydoc_validate = pytest.importorskip("numpydoc.validate", reason="numpydoc is in the [test] extra")
from numpydoc.docscrape import get_doc_object  # noqa: E402

#: The numpydoc checks enforced (see numpydoc.validate.ERROR_MSGS).
CODES = ("PR01", "PR02", "RT01", "EX01")

#: Items that fail today, as "<code>" or "<code> <parameter>". Most live in modules being
#: restructured on main (issue 12), whose owner fixes them there and deletes the entry.
KNOWN_FAILURES: dict[str, set[str]] = {
    # plaster_model/sweeps.py: "Arguments are those of sweep" instead of a Parameters section
    # (they take sweep's options through **kwargs; listing them would be PR02 there)
    "sweep_chunks": {f"PR01 {p}" for p in (
        "models", "devices", "n_devices", "interconnects", "batch_per_device", "precisions",
        "algorithms", "calibration", "efficiency", "scaling", "devices_per_node", "intra_node",
        "chunk_size", "progress", "**kwargs")},
    "sweep_size": {f"PR01 {p}" for p in (
        "models", "devices", "n_devices", "interconnects", "batch_per_device", "precisions",
        "algorithms", "scaling", "devices_per_node", "intra_node", "**kwargs")} | {"RT01", "EX01"},
}

_SET_IN_MESSAGE = re.compile(r"\{.*\}")


def _items(code: str, message: str) -> set[str]:
    """numpydoc's error as allow-list items: one per parameter for PR01/PR02."""
    if code in ("PR01", "PR02"):
        names = ast.literal_eval(_SET_IN_MESSAGE.search(message).group(0))
        return {f"{code} {n}" for n in names}
    return {code}


def _failures(obj) -> set[str]:
    result = numpydoc_validate.validate(get_doc_object(obj))
    out: set[str] = set()
    for code, message in result["errors"]:
        if code in CODES:
            out |= _items(code, message)
    return out


def _public_functions():
    for name in pm.__all__:
        obj = getattr(pm, name, None)
        if inspect.isfunction(obj):
            yield name, obj


def test_public_function_docstrings():
    new, fixed = {}, {}
    for name, obj in _public_functions():
        found = _failures(obj)
        known = KNOWN_FAILURES.get(name, set())
        if found - known:
            new[name] = sorted(found - known)
        if known - found:
            fixed[name] = sorted(known - found)
    stale = sorted(set(KNOWN_FAILURES) - {n for n, _ in _public_functions()})
    assert not new, f"numpydoc failures in public docstrings (fix the docstring): {new}"
    assert not fixed, f"these now pass: delete them from KNOWN_FAILURES: {fixed}"
    assert not stale, f"KNOWN_FAILURES names no public function: {stale}"


def test_the_validation_can_fail():
    # a docstring missing a parameter, the Returns and the Examples is caught item by item
    def undocumented(a, b=1):
        """Summary line.

        Parameters
        ----------
        a : int
            A number.
        """
        return a + b

    assert _failures(undocumented) == {"PR01 b", "RT01", "EX01"}
