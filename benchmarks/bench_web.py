"""Time the web guide: one form change, page loads, sessions' memory, a fit's neighbours.

Run from the repository root (needs the ``web`` and ``test`` extras, and Debian's
``chromium`` for the session and fit parts)::

    .venv/bin/python benchmarks/bench_web.py                 # everything
    .venv/bin/python benchmarks/bench_web.py --only update   # the form-change cost only
    .venv/bin/python benchmarks/bench_web.py --loads 300 --sessions 20

Parts (every figure is printed as a ``name: value`` line, so docs/web.md can quote them):

``update``
    A form change in the Training tab, server side: the Panel callback of
    :class:`plaster_model.web.page.GuideApp` with its widgets and charts attached to a
    Bokeh document, as in a served session (prediction, memory check, scaling curve, the
    charts' data). New configurations (never seen, so nothing cached) and repeated ones
    (the shared peak-based cache) separately. Target: <= 0.15 s.
``llm``
    A form change in the LLM modes: the training tab's LLM plan (prediction and best-plan
    table) and the inference tab's LLM serving (Pareto front and one configuration).
``load``
    ``plaster-model serve`` in a subprocess; ``--loads`` sequential ``GET /`` (what any page
    the user visits could fire): median and 90th percentile latency [s], the server's
    resident memory [MiB] before and after. Target: median < 0.3 s.
``sessions``
    ``--sessions`` browser pages open at once (headless Chromium), each building a whole
    guide; then all closed: resident memory at the start, with the sessions, and after
    they are released. Target: back within 50 MiB of the start.
``fit``
    One page fits a calibration (an upload of the published P100 training rows); while it
    runs, ``GET /`` latencies and a form change in a second page are timed: the fit runs on
    a worker thread, so the others stay responsive.

Both wall time and process CPU time are printed for the update: on a shared machine the
wall time grows with the load of other processes, the CPU time does not.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _rss_mib(pid: int) -> float:
    """Resident set size of a process [MiB] (Linux ``/proc``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def _q(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def bench_update(n: int) -> None:
    import warnings

    warnings.simplefilter("ignore")
    from bokeh.document import Document

    from plaster_model.web import require_panel

    require_panel().extension("tabulator")
    from plaster_model.web.page import GuideApp

    app = GuideApp()
    app.layout.get_root(Document())  # attach models, as a served session does
    # New configurations: cluster sizes never used before (nothing cached).
    fresh = [8 * k + 3 for k in range(2, 2 + n)]
    wall, cpu = [], []
    for size in fresh:
        w, c = time.perf_counter(), time.process_time()
        app.w["n_devices"].value = size
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    print(f"update_new_config_wall_median_s: {statistics.median(wall):.4f}")
    print(f"update_new_config_wall_p90_s: {_q(wall, 0.9):.4f}")
    print(f"update_new_config_cpu_median_s: {statistics.median(cpu):.4f}")
    wall, cpu = [], []
    for size in fresh:  # the same configurations again: served from the shared cache
        w, c = time.perf_counter(), time.process_time()
        app.w["n_devices"].value = size
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    print(f"update_repeated_config_wall_median_s: {statistics.median(wall):.4f}")
    print(f"update_repeated_config_cpu_median_s: {statistics.median(cpu):.4f}")
    print("update_target_s: 0.15")


def bench_llm(n: int) -> None:
    """A form change in the LLM modes (training plans, serving), server side: the plan's
    prediction and the best-plan table; the serving front and one configuration."""
    import warnings

    warnings.simplefilter("ignore")
    from bokeh.document import Document

    from plaster_model.web import require_panel

    require_panel().extension("tabulator")
    from plaster_model.web.page import GuideApp

    app = GuideApp(query={"mode": ["llm"], "inf_mode": ["llm"]})
    app.layout.get_root(Document())
    for label, panel, field, values in (
            ("llm_plan", app.llm_training, "global_batch", [512 + 16 * k for k in range(1, 1 + n)]),
            ("llm_serving", app.serving, "input_len", [1000 + 37 * k for k in range(n)])):
        wall, cpu = [], []
        for v in values:  # new configurations each time (nothing cached)
            w, c = time.perf_counter(), time.process_time()
            panel.w[field].value = v
            wall.append(time.perf_counter() - w)
            cpu.append(time.process_time() - c)
        assert not panel.error.visible, panel.error.object  # timed answers, not errors
        print(f"{label}_update_wall_median_s: {statistics.median(wall):.4f}")
        print(f"{label}_update_cpu_median_s: {statistics.median(cpu):.4f}")


def _get(url: str, timeout: float = 60) -> float:
    t = time.perf_counter()
    with urllib.request.urlopen(url, timeout=timeout) as r:
        r.read()
    return time.perf_counter() - t


def bench_load(url: str, pid: int, loads: int) -> None:
    for _ in range(5):
        _get(url)  # warm: first imports, templates
    time.sleep(8)  # let the warm-up sessions expire
    before = _rss_mib(pid)
    times = [_get(url) for _ in range(loads)]
    during = _rss_mib(pid)
    time.sleep(10)  # unused sessions expire after 5 s, swept every 2 s
    after = _rss_mib(pid)
    print(f"page_loads: {loads}")
    print(f"page_load_median_s: {statistics.median(times):.4f}")
    print(f"page_load_p90_s: {_q(times, 0.9):.4f}")
    print(f"page_load_max_s: {max(times):.4f}")
    print(f"page_load_rss_before_mib: {before:.1f}")
    print(f"page_load_rss_after_loads_mib: {during:.1f}")
    print(f"page_load_rss_released_mib: {after:.1f}")


def bench_sessions(url: str, pid: int, n: int) -> None:
    from plaster_model.web._browser import browser

    with browser() as (page, _req, _off):
        page.goto(url)  # one session to warm the server (imports, caches) before the baseline
        page.wait_for_selector(".pm-table .tabulator-row", timeout=180_000)
        page.close()
        time.sleep(10)
        start = _rss_mib(pid)
        context = page.context
        pages = []
        t = time.perf_counter()
        for _ in range(n):
            p = context.new_page()
            p.goto(url)
            pages.append(p)
        for p in pages:
            p.wait_for_selector(".pm-table .tabulator-row", timeout=300_000)
        opened_s = time.perf_counter() - t
        with_sessions = _rss_mib(pid)
        for p in pages:
            p.close()
        # Bokeh sees each websocket close and destroys the session; then memory is trimmed.
        time.sleep(15)
        released = _rss_mib(pid)
    print(f"sessions: {n}")
    print(f"sessions_all_built_s: {opened_s:.2f}")
    print(f"sessions_rss_start_mib: {start:.1f}")
    print(f"sessions_rss_open_mib: {with_sessions:.1f}")
    print(f"sessions_rss_released_mib: {released:.1f}")
    print(f"sessions_rss_released_minus_start_mib: {released - start:.1f}")


def bench_fit(url: str) -> None:
    import pandas as pd

    from plaster_model.web._browser import browser
    from plaster_model.web.state import published_measurements_path

    path = published_measurements_path()
    if path is None:
        print("fit: skipped (no published_measurements.csv beside the checkout)")
        return
    import plaster_model as pm

    rows = pm.read_measurements(path)
    # The P100 training rows (the test suite's upload): a fit of seconds on an idle machine.
    rows = rows[(rows["phase"] == "training") & (rows["device"] == "P100")]
    columns = ["source", "source_detail", "model", "framework", "device", "n_devices", "devices_per_node",
               "interconnect", "precision", "batch_per_device", "phase", "metric", "value", "notes"]
    csv = rows[columns].to_csv(index=False).encode()
    latencies, stop = [], threading.Event()

    def poll():
        while not stop.is_set():
            latencies.append(_get(url))
            print(f"  GET during fit: {latencies[-1]:.3f} s", flush=True)
            time.sleep(0.5)

    with browser() as (page, _req, _off):
        other = page.context.new_page()
        for p in (page, other):
            p.set_default_timeout(300_000)
            p.goto(url)
            p.wait_for_selector(".pm-table .tabulator-row")
        page.locator(".bk-tab").nth(3).click()
        page.wait_for_selector(".pm-cal-files input[type=file]", state="attached")
        page.locator(".pm-cal-files input[type=file]").set_input_files(
            [{"name": "training.csv", "mimeType": "text/csv", "buffer": csv}])
        page.wait_for_timeout(2000)
        quiet = [_get(url) for _ in range(10)]
        poller = threading.Thread(target=poll, daemon=True)
        t0 = time.perf_counter()
        page.locator(".pm-cal-fit button").click()
        poller.start()
        page.wait_for_timeout(500)
        # A form change in the other page while the fit runs: time to the new preview.
        before = " ".join(other.locator(".pm-preview strong").all_inner_texts())
        t1 = time.perf_counter()
        box = other.locator(".pm-w-n_devices input")
        box.fill("48")
        box.press("Enter")
        while (" ".join(other.locator(".pm-preview strong").all_inner_texts()) == before
               and time.perf_counter() - t1 < 120):
            other.wait_for_timeout(20)
        other_update = time.perf_counter() - t1
        print(f"  other page updated in {other_update:.3f} s while fitting", flush=True)
        fitting = "Fitting" in " ".join(page.locator(".pm-cal-status").all_inner_texts())
        deadline = time.monotonic() + 300
        while "Fitted" not in " ".join(page.locator(".pm-cal-status").all_inner_texts()):
            if page.locator(".pm-cal-error .pm-alert").count() or time.monotonic() > deadline:
                break
            page.wait_for_timeout(100)
        fit_s = time.perf_counter() - t0
        page_status = page.locator(".pm-cal-status").all_inner_texts()
        stop.set()
        poller.join()
    print(f"fit_done: {'Fitted' in ' '.join(page_status)}")
    print(f"fit_rows: {len(rows)}")
    print(f"fit_wall_s: {fit_s:.2f}")
    print(f"fit_other_page_update_s: {other_update:.3f}")
    print(f"fit_other_page_update_while_fitting: {fitting}")
    print(f"fit_get_quiet_median_s: {statistics.median(quiet):.4f}")
    print(f"fit_get_during_fit_median_s: {statistics.median(latencies):.4f}")
    print(f"fit_get_during_fit_max_s: {max(latencies):.4f}")
    print(f"fit_get_during_fit_count: {len(latencies)}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20, help="form changes (default 20)")
    ap.add_argument("--loads", type=int, default=300, help="sequential page loads (default 300)")
    ap.add_argument("--sessions", type=int, default=20, help="browser sessions at once (default 20)")
    ap.add_argument("--only", choices=["update", "llm", "load", "sessions", "fit"], action="append",
                    help="run only these parts (repeatable)")
    args = ap.parse_args(argv)
    parts = args.only or ["update", "llm", "load", "sessions", "fit"]

    print(f"machine_cpus: {os.cpu_count()}")
    try:
        print(f"load_average_1min: {os.getloadavg()[0]:.2f}")
    except OSError:
        pass
    if "update" in parts:
        bench_update(args.n)
    if "llm" in parts:
        bench_llm(args.n)
    served = [p for p in parts if p not in ("update", "llm")]
    if served:
        from plaster_model.web._browser import serve_subprocess

        with tempfile.TemporaryDirectory(prefix="plaster-bench-web-") as tmp:
            with serve_subprocess(log_path=Path(tmp) / "serve.log") as url:
                print(f"server_rss_at_start_mib: {_rss_mib(url.pid):.1f}")
                if "load" in served:
                    bench_load(url, url.pid, args.loads)
                if "sessions" in served:
                    bench_sessions(url, url.pid, args.sessions)
                if "fit" in served:
                    bench_fit(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
