"""The documentation site builds with ``mkdocs build --strict``, documents every public name,
and states units; the generated catalog reference is up to date.

The build uses a copy of mkdocs.yml with notebook execution switched off (the notebooks run
in tests/test_notebooks.py; the docs build renders them). Pages or modules listed in the nav
or in a ``:::`` directive but absent are left out of that copy so the rest is still
checked, and ``test_docs_complete`` fails on them (and on any public name without a
docstring of its own). The build tests are ``slow``; the completeness checks are not.
"""
from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
CONFIG = REPO / "mkdocs.yml"

_NEEDED = ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python", "mkdocs_jupyter")


def _tools_missing() -> list[str]:
    missing = []
    for mod in _NEEDED:
        try:
            if importlib.util.find_spec(mod) is None:
                missing.append(mod)
        except ModuleNotFoundError:
            missing.append(mod)
    return missing


def _nav_pages(nav) -> list[str]:
    out = []
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        if isinstance(value, list):
            out += _nav_pages(value)
        elif isinstance(value, str) and not value.startswith(("http://", "https://")):
            out.append(value)
    return out


def _prune_nav(nav, missing: set[str]):
    out = []
    for item in nav:
        if isinstance(item, dict):
            key, value = next(iter(item.items()))
            if isinstance(value, list):
                value = _prune_nav(value, missing)
                if value:
                    out.append({key: value})
            elif value not in missing:
                out.append(item)
        elif item not in missing:
            out.append(item)
    return out


_DIRECTIVE = re.compile(r"^::: *([\w.]+)\s*$", re.M)


def _module_exists(identifier: str) -> bool:
    """True when ``identifier`` (a module, or an object inside one) can be imported."""
    parts = identifier.split(".")
    for i in range(len(parts), 0, -1):
        name = ".".join(parts[:i])
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        obj = module
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return False
        # a namespace package (a folder without __init__.py yet) is not a module to document
        return getattr(module, "__file__", None) is not None or i < len(parts)
    return False


def _pending() -> tuple[set[str], set[str]]:
    """(nav pages that do not exist, ::: identifiers that cannot be imported)."""
    import yaml

    config = yaml.safe_load(CONFIG.read_text())
    pages = {p for p in _nav_pages(config["nav"]) if not (DOCS / p).exists()}
    idents = set()
    for page in DOCS.rglob("*.md"):
        for ident in _DIRECTIVE.findall(page.read_text()):
            if not _module_exists(ident):
                idents.add(ident)
    return pages, idents


@pytest.fixture(scope="module")
def built_site(tmp_path_factory):
    missing = _tools_missing()
    if missing:
        pytest.skip(f"docs toolchain not installed ({', '.join(missing)}): pip install '.[test]'")
    import yaml

    tmp = tmp_path_factory.mktemp("docs")
    pages, idents = _pending()
    docs = tmp / "docs"
    shutil.copytree(DOCS, docs, symlinks=False)  # follows docs/notebooks -> ../notebooks
    for page in docs.rglob("*.md"):
        text = page.read_text()
        for ident in idents:
            text = re.sub(rf"^::: *{re.escape(ident)}\s*$(\n    .*)*", f"*{ident}: pending*", text, flags=re.M)
        page.write_text(text)
    config = yaml.safe_load(CONFIG.read_text())
    config["docs_dir"] = str(docs)
    config["nav"] = _prune_nav(config["nav"], pages)
    config["hooks"] = [str(REPO / h) for h in config.get("hooks", [])]
    for plugin in config["plugins"]:
        if isinstance(plugin, dict) and "mkdocs-jupyter" in plugin:
            plugin["mkdocs-jupyter"]["execute"] = False
        if isinstance(plugin, dict) and "mkdocstrings" in plugin:
            plugin["mkdocstrings"]["handlers"]["python"]["paths"] = [str(REPO)]
    cfg = tmp / "mkdocs.yml"
    cfg.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    site = tmp / "site"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(cfg), "-d", str(site)],
                          cwd=REPO, capture_output=True, text=True, env=env, timeout=300)
    return proc, site, pages, idents


@pytest.mark.slow
def test_mkdocs_build_strict(built_site):
    proc, site, _, _ = built_site
    log = "\n".join(line for line in (proc.stdout + proc.stderr).splitlines()
                    if "WARNING" in line or "ERROR" in line or "Error" in line)
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{log or proc.stderr[-3000:]}"
    assert (site / "index.html").is_file()
    assert (site / "notebooks" / "01_quickstart" / "index.html").is_file()


def _own_doc(obj) -> str:
    """The docstring ``obj`` itself carries: not one inherited from a base class, nor the
    ``Name(field: type, ...)`` signature ``@dataclass`` writes for a class without one."""
    if inspect.isclass(obj):
        doc = obj.__dict__.get("__doc__") or ""
        return "" if doc.startswith(f"{obj.__name__}(") else doc.strip()
    return (getattr(obj, "__doc__", None) or "").strip()


def _undocumented(names) -> list[str]:
    """Public functions and classes, and the public methods and properties of those
    classes, that have no docstring of their own. ``names``: (name, object, module)."""
    missing = []
    for name, obj, _ in names:
        if not callable(obj):
            continue  # constants (PRECISIONS, ...) cannot carry a docstring
        if not _own_doc(obj):
            missing.append(name)
        if inspect.isclass(obj) and not issubclass(obj, BaseException):
            for attr, value in vars(obj).items():
                if attr.startswith("_"):
                    continue
                target = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
                if (callable(target) or isinstance(value, property)) and not _own_doc(target):
                    missing.append(f"{name}.{attr}")
    return missing


def test_docs_complete():
    """Every nav page and ``:::`` module exists, and every public name (with the public
    methods of public classes) has a docstring of its own."""
    pages, idents = _pending()
    assert not pages, f"mkdocs.yml lists pages that do not exist: {sorted(pages)}"
    assert not idents, f"docs pages document modules that cannot be imported: {sorted(idents)}"
    missing = _undocumented(_public_names())
    assert not missing, f"public names without a docstring: {missing}"


def test_docs_complete_catches_an_undocumented_name():
    # the check above must be able to fail: a bare function, a bare dataclass (which gets an
    # auto-generated "Name(...)" __doc__) and an undocumented method are all caught
    import dataclasses

    def bare(x):
        return x

    @dataclasses.dataclass
    class Bare:
        a: int = 0

    class Documented:
        """Has a docstring."""

        def method(self):
            return 1

    found = _undocumented([("bare", bare, "m"), ("Bare", Bare, "m"), ("Documented", Documented, "m")])
    assert found == ["bare", "Bare", "Documented.method"]


def _public_names():
    import plaster_model as pm

    for name in pm.__all__:
        if name.startswith("__"):
            continue
        yield name, getattr(pm, name), f"plaster_model.{pm._EXPORTS[name]}"


@pytest.mark.slow
def test_every_public_name_in_api_reference(built_site):
    """Each name of plaster_model.__all__ is rendered (with its docstring) on an API page."""
    proc, site, _, idents = built_site
    if proc.returncode != 0:
        pytest.skip("the docs build failed (see test_mkdocs_build_strict)")
    html = "\n".join(p.read_text() for p in (site / "api").rglob("*.html"))
    anchors = set(re.findall(r'id="(plaster_model\.[\w.]+)"', html))
    missing = []
    for name, obj, module in _public_names():
        if not callable(obj):
            continue  # constants: documented where they have a docstring
        if any(module == i or module.startswith(i + ".") for i in idents):
            continue  # its page is pending
        # rendered in its module, or re-exported by a parent package (plaster_model.calibration.X)
        homes = {module, getattr(obj, "__module__", module)}
        candidates = {".".join(h.split(".")[:k]) + f".{name}" for h in homes
                      for k in range(2, len(h.split(".")) + 1)}
        if not candidates & anchors:
            missing.append(f"{module}.{name}")
    assert not missing, ("public names missing from the API reference (add the module to a "
                         f"docs/api page, to its __all__, or give it a docstring): {missing}")


# --------------------------------------------------------------------------- units
_UNIT_BRACKET = re.compile(r"\[[^\]\n]*(\bs\b|ms|µs|us|B|FLOP|W|J|samples|%|count|img|Hz|day|h\b|min|"
                           r"dimensionless|fraction|×)[^\]\n]*\]")
_UNIT_WORDS = re.compile(r"\b(seconds?|bytes?|FLOP/s|FLOPs?|B/s|watts?|joules?|samples/s|samples per second|"
                         r"per second|GB/s|TFLOPS|percent|SI (floats?|units))\b", re.I)
#: A unit carried in an output name, per the API convention (``iteration_time_s``, ``memory_bytes``).
_UNIT_IN_NAME = re.compile(r"``\w+_(s|ms|bytes|flops|w|j|Bps|samples_s|per_j|pct)``")
_QUANTITY_WORDS = re.compile(r"(time|latency|bandwidth|flops|bytes|memory|power|energy|throughput|_s\b|gamma|"
                             r"beta|alpha|budget|rate|overhead|size)", re.I)

#: Public names whose docstrings do not (yet) state units where they take or return
#: quantities. Reported to their owners; shrink this set, never grow it.
KNOWN_WITHOUT_UNITS: set[str] = {
    "calibrate",           # delegates to Calibration.fit
    "sweep_size",          # returns a row count; arguments "as for sweep"
    "sweep_chunks",        # arguments "those of sweep"
}


def _takes_or_returns_quantities(name: str, obj) -> bool:
    if _QUANTITY_WORDS.search(name):
        return True
    try:
        params = inspect.signature(obj).parameters
    except (TypeError, ValueError):
        return False
    return any(_QUANTITY_WORDS.search(p) for p in params)


def _docstring_problems():
    problems = {}
    for name, obj, _ in _public_names():
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            if not inspect.getdoc(obj):
                problems[name] = "no docstring"
            continue
        doc = inspect.getdoc(obj) or ""
        if not doc:
            problems[name] = "no docstring"
        elif _takes_or_returns_quantities(name, obj) and not (
                _UNIT_BRACKET.search(doc) or _UNIT_WORDS.search(doc) or _UNIT_IN_NAME.search(doc)):
            problems[name] = "no unit in brackets or units word"
    return problems


def test_public_docstrings_state_units():
    problems = _docstring_problems()
    new = {k: v for k, v in problems.items() if k not in KNOWN_WITHOUT_UNITS}
    assert not new, f"public docstrings without units: {new}"


def test_catalog_reference_up_to_date():
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "make_catalog_reference.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_readme_links_and_picture():
    readme = (REPO / "README.md").read_text()
    assert "docs/img/scaling.png" in readme and (DOCS / "img" / "scaling.png").is_file()
    for target in re.findall(r"\]\(((?:docs|notebooks)/[^)#]+)\)", readme):
        if not (REPO / target).exists():
            pages, _ = _pending()
            rel = target.removeprefix("docs/")
            if rel in pages:
                continue  # a page another issue is still writing
            pytest.fail(f"README links to a missing file: {target}")
