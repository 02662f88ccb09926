"""Drive the served guide in a real headless browser (test suite and docs screenshot).

One code path for both: ``tests/test_web.py`` runs :func:`run_scenario` and checks what it
read against the library; ``scripts/make_web_screenshot.py`` runs the same scenario and
keeps its screenshot for ``docs/web.md``.

The browser is the system Chromium (Debian's ``chromium`` package) driven by Playwright's
Python API (``executable_path``), so nothing downloads a browser build. Every request the
page makes goes through a route handler that records it and aborts any that is not for
the loopback server, so "the page loads nothing from off-host" is checked, not assumed.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

__all__ = ["chromium_path", "free_port", "serve_subprocess", "run_scenario", "ScenarioResult",
           "LOOPBACK_HOSTS", "SCENARIO_CHANGES"]

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}

#: The scenario's form change: the HPE job on 32 GPUs (4 Apollo nodes) joined by
#: InfiniBand EDR instead of 8 GPUs in one node.
SCENARIO_CHANGES = {"interconnect": "InfiniBand EDR", "n_devices": 32}


def chromium_path() -> str | None:
    """The system Chromium executable, or None."""
    env = os.environ.get("PLASTER_CHROMIUM")
    if env and Path(env).exists():
        return env
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("plaster-model")
    return [str(script)] if script.exists() else [sys.executable, "-m", "plaster_model.cli"]


@contextlib.contextmanager
def serve_subprocess(port: int | None = None, args=(), timeout: float = 90.0, log_path=None):
    """Run ``plaster-model serve --port P --no-browser`` in a subprocess until the block ends.

    Yields the page URL once the server answers HTTP; the process is terminated (and
    killed if it lingers) on exit. Its output goes to ``log_path`` (or is discarded).
    """
    port = port or free_port()
    url = f"http://127.0.0.1:{port}/"
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.Popen([*_cli(), "serve", "--port", str(port), "--no-browser", *args],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"plaster-model serve exited with {proc.returncode} before answering"
                                   + (f"; log: {log_path}" if log_path else ""))
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"plaster-model serve did not answer on {url} within {timeout:g} s")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log_path:
            log.close()


@dataclass
class ScenarioResult:
    """What the browser read and where it went."""

    prefilled_time_h: float
    prefilled_row: dict
    added_time_h: float
    added_row: dict
    rows_after_add: int
    rows_after_remove_all: int
    requests: list = field(default_factory=list)
    off_host_requests: list = field(default_factory=list)
    screenshot: Path | None = None
    screenshot_after_remove_all: Path | None = None
    update_seconds: float = float("nan")


def _number(text: str) -> float:
    return float(text.replace(",", "").strip())


def _rows(page) -> list[dict]:
    """The comparison table's rendered rows, one dict per row (field -> cell text).

    Playwright's CSS engine pierces the open shadow roots Panel renders into.
    """
    return page.locator(".pm-table .tabulator-row").evaluate_all(
        """rows => rows.map(r => Object.fromEntries(Array.from(r.querySelectorAll('.tabulator-cell'))
                 .map(c => [c.getAttribute('tabulator-field'), c.innerText])))""")


def _table_rows(page) -> list[dict]:
    return [r for r in _rows(page) if r.get("total_time_h") not in (None, "")]


def _wait_rows(page, n: int, timeout: float = 30.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        rows = _table_rows(page)
        if len(rows) == n:
            return rows
        if time.monotonic() > deadline:
            raise TimeoutError(f"comparison table has {len(rows)} rows, expected {n}")
        page.wait_for_timeout(100)


def _preview(page) -> str:
    return " ".join(page.locator(".pm-preview strong").all_inner_texts())


def _wait_preview_change(page, before: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        now = _preview(page)
        if now and now != before:
            return now
        if time.monotonic() > deadline:
            raise TimeoutError(f"the predicted time did not change from {before!r}")
        page.wait_for_timeout(25)


def run_scenario(url: str, out_dir, *, chromium: str | None = None, width: int = 1500,
                 height: int = 1100, timeout_ms: int = 60_000) -> ScenarioResult:
    """Open the guide, read the pre-filled HPE row, change interconnect and cluster size,
    add a row, read it, screenshot, click "Remove all", screenshot again.

    Non-loopback requests are recorded and aborted (the network is loopback only for
    the page). Screenshots: ``out_dir/web_guide.png`` (two rows) and
    ``out_dir/web_guide_removed.png`` (after "Remove all").
    """
    from playwright.sync_api import sync_playwright

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    exe = chromium or chromium_path()
    if exe is None:
        raise FileNotFoundError("no chromium executable found (apt-get install chromium)")
    requests, off_host = [], []

    def route(r):
        req_url = r.request.url
        requests.append(req_url)
        host = urlparse(req_url).hostname
        if req_url.startswith(("data:", "blob:")) or host in LOOPBACK_HOSTS:
            r.continue_()
        else:
            off_host.append(req_url)
            r.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, headless=True,
                                     args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            context.route("**/*", route)
            # WebSockets bypass routes: record their URLs too.
            page = context.new_page()
            page.on("websocket", lambda ws: requests.append(ws.url) or (
                urlparse(ws.url).hostname not in LOOPBACK_HOSTS and off_host.append(ws.url)))
            page.set_default_timeout(timeout_ms)
            page.goto(url)
            page.wait_for_selector(".pm-table .tabulator-row")
            first = _wait_rows(page, 1)[0]
            prefilled = _number(first["total_time_h"])

            before = _preview(page)
            t0 = time.perf_counter()
            page.locator(".pm-w-interconnect select").select_option(SCENARIO_CHANGES["interconnect"])
            # Same-node change: 8 GPUs fit one Apollo node, so the preview stays; then grow.
            box = page.locator(".pm-w-n_devices input")
            box.fill(str(SCENARIO_CHANGES["n_devices"]))
            box.press("Enter")
            _wait_preview_change(page, before)
            update_s = time.perf_counter() - t0

            page.locator(".pm-add button").click()
            rows = _wait_rows(page, 2)
            added = rows[-1]
            page.wait_for_timeout(500)  # let the selected row's charts arrive
            shot = out_dir / "web_guide.png"
            page.screenshot(path=str(shot), full_page=True)

            page.locator(".pm-remove-all button").click()
            remaining = len(_wait_rows(page, 0))
            shot2 = out_dir / "web_guide_removed.png"
            page.screenshot(path=str(shot2), full_page=True)
        finally:
            browser.close()
    return ScenarioResult(prefilled_time_h=prefilled, prefilled_row=first,
                          added_time_h=_number(added["total_time_h"]), added_row=added,
                          rows_after_add=len(rows), rows_after_remove_all=remaining,
                          requests=requests, off_host_requests=off_host, screenshot=shot,
                          screenshot_after_remove_all=shot2, update_seconds=update_s)
