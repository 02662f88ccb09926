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

from ..errors import GuideError

__all__ = ["chromium_path", "free_port", "serve_subprocess", "run_scenario", "ScenarioResult",
           "LOOPBACK_HOSTS", "SCENARIO_CHANGES", "run_injection", "InjectionResult", "PAYLOAD",
           "hours", "browser"]

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


class ServedURL(str):
    """The served page's URL; ``.pid`` is the server process (for memory readings)."""

    pid: int = 0


@contextlib.contextmanager
def serve_subprocess(port: int | None = None, args=(), timeout: float = 180.0, log_path=None, env=None):
    """Run ``plaster-model serve --port P --no-browser`` in a subprocess until the block ends.

    Yields the page URL (a :class:`ServedURL`, with the server's ``pid``) once the server
    answers HTTP; the process is terminated (and
    killed if it lingers) on exit. Its output goes to ``log_path`` (or is discarded).
    """
    port = port or free_port()
    url = f"http://127.0.0.1:{port}/"
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL
    env = dict(os.environ, MPLBACKEND="Agg", **(env or {}))
    proc = subprocess.Popen([*_cli(), "serve", "--port", str(port), "--no-browser", *args],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        url = ServedURL(url)
        url.pid = proc.pid
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise GuideError(f"plaster-model serve exited with {proc.returncode} before answering"
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


#: What the crafted uploads carry: an inline handler that would retitle the page.
PAYLOAD = "<img src=x onerror='document.title=1337'>"


def hours(cell: str) -> float:
    """A table's time cell ("310.97 h", "4.83 min", "35.00 s") in hours."""
    value, unit = cell.replace(",", "").split()
    return float(value) * {"h": 1.0, "min": 1 / 60, "s": 1 / 3600}[unit]


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
    elided_headers: list = field(default_factory=list)
    framework_options: list = field(default_factory=list)
    infeasible_row: dict = field(default_factory=dict)
    restored_row: dict = field(default_factory=dict)
    tab_screenshots: dict = field(default_factory=dict)
    csp: str = ""
    llm_plan_rows: list = field(default_factory=list)
    llm_headline: str = ""
    serving_rows: list = field(default_factory=list)
    llm_elided_headers: list = field(default_factory=list)


@dataclass
class InjectionResult:
    """What the page showed for crafted uploads, and whether anything ran."""

    title_before: str
    title_after: str
    pwned: bool
    error_text: str
    oversize_text: str
    csp: str
    dialogs: list = field(default_factory=list)


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
    return [r for r in _rows(page) if r.get("total_time") not in (None, "")]


def _elided_headers(page, selector=".pm-table") -> list[str]:
    """Column titles that do not show in full (clipped, or cut with an ellipsis)."""
    return page.locator(f"{selector} .tabulator-col-title").evaluate_all(
        """els => els.filter(e => e.offsetParent !== null && e.innerText.trim() &&
                 (e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1 ||
                  e.innerText.includes('\u2026'))).map(e => e.innerText)""")


def _wait_rows(page, n: int, timeout: float = 60.0, where=None) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        rows = _table_rows(page)
        if len(rows) == n and (where is None or where(rows)):
            return rows
        if time.monotonic() > deadline:
            raise TimeoutError(f"comparison table has {len(rows)} rows ({rows}), expected {n}")
        page.wait_for_timeout(100)


def _preview(page) -> str:
    return " ".join(page.locator(".pm-preview strong").all_inner_texts())


def _wait_preview_change(page, before: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        now = _preview(page)
        if now and now != before:
            return now
        if time.monotonic() > deadline:
            raise TimeoutError(f"the predicted time did not change from {before!r}")
        page.wait_for_timeout(25)


@contextlib.contextmanager
def browser(chromium: str | None = None, width: int = 1280, height: int = 800):
    """A headless Chromium page whose off-host requests are recorded and aborted.

    Yields ``(page, requests, off_host)``.
    """
    from playwright.sync_api import sync_playwright

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
        b = pw.chromium.launch(executable_path=exe, headless=True,
                               args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            context = b.new_context(viewport={"width": width, "height": height})
            context.route("**/*", route)
            page = context.new_page()
            # WebSockets bypass routes: record their URLs too.
            page.on("websocket", lambda ws: requests.append(ws.url) or (
                urlparse(ws.url).hostname not in LOOPBACK_HOSTS and off_host.append(ws.url)))
            yield page, requests, off_host
        finally:
            b.close()


def _open(page, url, timeout_ms):
    page.set_default_timeout(timeout_ms)
    response = page.goto(url)
    page.wait_for_selector(".pm-table .tabulator-row")
    return response.headers.get("content-security-policy", "")


def run_scenario(url: str, out_dir, *, chromium: str | None = None, width: int = 1280,
                 height: int = 800, timeout_ms: int = 120_000, tab_shots: bool = False) -> ScenarioResult:
    """Open the guide, read the pre-filled HPE row, change interconnect and cluster size,
    add a row, read it, screenshot, make a configuration that does not fit and add it,
    click "Remove all", screenshot again; open the page again from a shared URL.

    Non-loopback requests are recorded and aborted (the network is loopback only for
    the page). Screenshots: ``out_dir/web_guide.png`` (two rows) and
    ``out_dir/web_guide_removed.png`` (after "Remove all"); with ``tab_shots`` one per
    tab too (``web_<tab>.png``).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tabs = {}
    with browser(chromium, width, height) as (page, requests, off_host):
        csp = _open(page, url, timeout_ms)
        first = _wait_rows(page, 1)[0]
        prefilled = hours(first["total_time"])
        elided = _elided_headers(page)
        frameworks = page.locator(".pm-w-framework select option").all_inner_texts()

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
        page.wait_for_timeout(800)  # let the selected row's charts arrive
        shot = out_dir / "web_guide.png"
        page.screenshot(path=str(shot), full_page=True)
        elided += _elided_headers(page)

        # A batch that cannot fit: 4096 images of ResNet-50 per 16 GB P100 (about 330 GB).
        page.locator(".pm-w-model select").select_option("ResNet-50")
        page.wait_for_timeout(300)
        batch = page.locator(".pm-w-batch input")
        batch.fill("4096")
        batch.press("Enter")
        deadline = time.monotonic() + 60
        while "Infeasible" not in _preview(page) and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        page.locator(".pm-add button").click()
        infeasible = _wait_rows(page, 3)[-1]

        if tab_shots:
            for i, name in enumerate(("bandwidth", "inference", "calibration"), start=1):
                page.locator(".bk-tab").nth(i).click()
                page.wait_for_timeout(4000 if name == "inference" else 2000)
                tabs[name] = out_dir / f"web_{name}.png"
                page.screenshot(path=str(tabs[name]), full_page=True)
            page.locator(".bk-tab").nth(0).click()
            page.wait_for_timeout(500)

        page.locator(".pm-remove-all button").click()
        remaining = len(_wait_rows(page, 0))
        shot2 = out_dir / "web_guide_removed.png"
        page.screenshot(path=str(shot2), full_page=True)

        # A shared link restores the form: the first row is that configuration.
        page.goto(url.rstrip("/") + "/?n_devices=32&interconnect=InfiniBand+EDR&model=ResNet-50")
        page.wait_for_selector(".pm-table .tabulator-row")
        restored = _wait_rows(page, 1)[0]

        # The LLM modes, from a shared link: the training tab's plan form and best plans
        # (a plan that does not fit: pure DP), then the inference tab's serving mode.
        page.goto(url.rstrip("/") + "/?" + LLM_QUERY)
        page.wait_for_selector(".pm-llm-plans .tabulator-row", timeout=timeout_ms)
        page.wait_for_timeout(500)
        llm_rows = _table_rows_of(page, ".pm-llm-plans")
        headline = " ".join(page.locator(".pm-llm-headline strong").all_inner_texts())
        llm_elided = _elided_headers(page, ".pm-llm-plans")
        if tab_shots:
            tabs["llm_training"] = out_dir / "web_llm_training.png"
            page.screenshot(path=str(tabs["llm_training"]), full_page=True)
        page.locator(".bk-tab").nth(2).click()
        page.locator(".pm-inference-mode button", has_text="LLM serving").click()
        page.wait_for_selector(".pm-srv-front .tabulator-row", timeout=timeout_ms)
        page.wait_for_timeout(1500)
        serving_rows = _table_rows_of(page, ".pm-srv-front")
        llm_elided += _elided_headers(page, ".pm-srv-front")
        if tab_shots:
            tabs["llm_serving"] = out_dir / "web_llm_serving.png"
            page.screenshot(path=str(tabs["llm_serving"]), full_page=True)
    return ScenarioResult(prefilled_time_h=prefilled, prefilled_row=first,
                          added_time_h=hours(added["total_time"]), added_row=added,
                          rows_after_add=len(rows), rows_after_remove_all=remaining,
                          requests=requests, off_host_requests=off_host, screenshot=shot,
                          screenshot_after_remove_all=shot2, update_seconds=update_s,
                          elided_headers=sorted(set(elided)), framework_options=frameworks,
                          infeasible_row=infeasible, restored_row=restored, tab_screenshots=tabs, csp=csp,
                          llm_plan_rows=llm_rows, llm_headline=headline, serving_rows=serving_rows,
                          llm_elided_headers=sorted(set(llm_elided)))


#: The LLM part of the scenario: Llama-3.1-70B on one DGX H100 (8 × 80 GB) as pure data
#: parallelism, which does not fit (141 GB of bf16 weights per GPU), and its best plans.
LLM_QUERY = ("mode=llm&llm_model=Llama-3.1-70B&llm_system=DGX+H100&llm_n_devices=8&llm_tp=1&llm_pp=1"
             "&llm_zero=0&llm_global_batch=64&llm_seq_len=4096")


def _table_rows_of(page, selector) -> list[dict]:
    """A Tabulator's rendered rows (field -> cell text)."""
    return page.locator(f"{selector} .tabulator-row").evaluate_all(
        """rows => rows.map(r => Object.fromEntries(Array.from(r.querySelectorAll('.tabulator-cell'))
                 .map(c => [c.getAttribute('tabulator-field'), c.innerText])))""")


def _wait_text(page, selector, timeout=120.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        found = [t for t in page.locator(selector).all_inner_texts() if t.strip()]
        if found:
            return " ".join(found)
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing shown in {selector}")
        page.wait_for_timeout(100)


def run_injection(url: str, *, chromium: str | None = None, oversize_bytes: int = 0,
                  timeout_ms: int = 120_000) -> InjectionResult:
    """Upload crafted logs and file names in the Calibration tab and see what runs.

    The file names and the log lines carry :data:`PAYLOAD` (and a ``<script>``); the
    parse error quotes them. A page that ran any of it would change ``document.title`` to
    ``1337`` or set ``window.__pwned``. With ``oversize_bytes``, a file of that size is
    uploaded too and the page's refusal is read.
    """
    script = "<script>window.__pwned=1</script>"
    files = [
        {"name": f"{PAYLOAD}.log", "mimeType": "text/plain",
         "buffer": f"&&&& RUNNING TensorRT.trtexec {PAYLOAD}\n{script} not a measurement\n".encode()},
        {"name": f"{PAYLOAD}.csv", "mimeType": "text/csv",
         "buffer": f"model,device,metric,value\n{PAYLOAD},{script},bogus,{PAYLOAD}\n".encode()},
    ]
    dialogs = []
    with browser(chromium) as (page, _requests, _off):
        page.on("dialog", lambda d: dialogs.append(d.message) or d.dismiss())
        csp = _open(page, url, timeout_ms)
        title = page.title()
        page.locator(".bk-tab").nth(3).click()
        page.wait_for_selector(".pm-cal-files input[type=file]", state="attached")
        page.locator(".pm-cal-files input[type=file]").set_input_files(files)
        page.wait_for_timeout(1500)
        page.locator(".pm-cal-fit button").click()
        error = _wait_text(page, ".pm-cal-error .pm-alert")
        oversize = ""
        if oversize_bytes:
            page.locator(".pm-cal-files input[type=file]").set_input_files(
                [{"name": "big.log", "mimeType": "text/plain", "buffer": b"x" * oversize_bytes}])
            page.wait_for_timeout(1500)
            page.locator(".pm-cal-fit button").click()
            deadline = time.monotonic() + 60
            while "big.log" not in oversize and time.monotonic() < deadline:
                oversize = " ".join(page.locator(".pm-cal-error .pm-alert").all_inner_texts())
                page.wait_for_timeout(200)
        page.wait_for_timeout(500)
        pwned = bool(page.evaluate("() => window.__pwned === 1"))
        title_after = page.title()
    return InjectionResult(title_before=title, title_after=title_after, pwned=pwned, error_text=error,
                           oversize_text=oversize, csp=csp, dialogs=dialogs)
