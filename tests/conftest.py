"""Shared fixtures: where the third-party data lives, and a clean catalog per test."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: ../shared beside the checkout: third-party logs and published measurements (never copied).
SHARED = REPO.parent / "shared"
ARTIFACTS = REPO / "tests" / "_artifacts"


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is absent (third-party data is not part of the repository)")
    return SHARED


@pytest.fixture(autouse=True)
def _reset_catalog():
    """Tests that merge user catalogs must not leak them into other tests."""
    yield
    import plaster_model as pm
    pm.reset_catalog()


@pytest.fixture
def artifacts_dir() -> Path:
    """Folder for PNGs and other outputs a person may want to look at after a test run."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


# Hypothesis' default 200 ms deadline per example is a wall-clock assert: it fails on a
# loaded machine (issue 25, defect 9). Property tests check values; timing lives in
# benchmarks/.
try:
    from hypothesis import settings as _hypothesis_settings

    _hypothesis_settings.register_profile("plaster", deadline=None)
    _hypothesis_settings.load_profile("plaster")
except ImportError:  # hypothesis is a test extra; tests that need it skip without it
    pass
