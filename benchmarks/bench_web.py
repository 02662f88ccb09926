"""Time the web guide's update path: what one form change costs the server.

Run from the repository root (needs the ``web`` extra)::

    .venv/bin/python benchmarks/bench_web.py            # 20 changes per step
    .venv/bin/python benchmarks/bench_web.py --n 50

A form change in the Training tab runs, in :class:`plaster_model.web.state.GuideState`:
the prediction and bandwidth verdict of the new configuration
(:func:`~plaster_model.predict_epoch_time`, :func:`~plaster_model.is_bandwidth_bound`),
its scaling curve (:func:`~plaster_model.scaling_curve`), and the two charts rendered to
PNG (:mod:`plaster_model.web.charts`); "Add to comparison" adds the table row. Then
the whole Panel callback (:class:`plaster_model.web.page.GuideApp`, widgets and panes
attached to a Bokeh document as in a served session) is timed the same way.

Both wall time and process CPU time are printed: on a shared machine the wall time
grows with the load of other processes, the CPU time does not. Every figure is printed
as ``name: value`` lines, so docs/web.md can quote them. The target: < 0.5 s per change.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import matplotlib  # noqa: E402

matplotlib.use("Agg")


def _timed(fn, n):
    wall, cpu = [], []
    for i in range(n):
        w, c = time.perf_counter(), time.process_time()
        fn(i)
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return wall, cpu


def _report(name, wall, cpu):
    print(f"{name}_wall_median_s: {statistics.median(wall):.4f}")
    print(f"{name}_wall_max_s: {max(wall):.4f}")
    print(f"{name}_cpu_median_s: {statistics.median(cpu):.4f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20, help="form changes per step (default 20)")
    args = ap.parse_args(argv)

    from plaster_model.web import charts
    from plaster_model.web.state import GuideState

    sizes = [8, 16, 32, 64, 128, 24, 48, 96]
    links = ["InfiniBand FDR", "InfiniBand EDR", "InfiniBand HDR", "100GbE"]
    state = GuideState()
    state.preview_row()
    charts.figure_png(charts.scaling_figure(state.scaling()))  # imports, font cache

    def numbers(i):
        state.update(n_devices=sizes[i % len(sizes)], interconnect=links[i % len(links)])
        state.preview_row()
        state.scaling()

    def change(i):
        state.update(n_devices=sizes[i % len(sizes)], interconnect=links[i % len(links)])
        state.preview_row()
        curve = state.scaling()
        charts.figure_png(charts.scaling_figure(curve))
        charts.figure_png(charts.breakdown_figure(curve))

    print(f"machine_cpus: {os.cpu_count()}")
    try:
        print(f"load_average_1min: {os.getloadavg()[0]:.2f}")
    except OSError:
        pass
    _report("controller_numbers", *_timed(numbers, args.n))
    _report("controller_update_with_charts", *_timed(change, args.n))
    _report("add_row", *_timed(lambda i: state.add_row(), args.n))

    try:
        from bokeh.document import Document

        from plaster_model.web import require_panel
        require_panel()
        from plaster_model.web.page import GuideApp
    except ImportError as exc:
        print(f"panel_callback: skipped ({exc})")
        return 0
    app = GuideApp()
    app.layout.get_root(Document())  # attach models, as a served session does

    def widget(i):
        app.w["n_devices"].value = sizes[(i + 1) % len(sizes)]

    _report("panel_form_change", *_timed(widget, args.n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
