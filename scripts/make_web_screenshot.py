"""Regenerate docs/img/web_*.png: the served guide's tabs in headless Chromium at 1280 px.

    .venv/bin/python scripts/make_web_screenshot.py

Runs the browser test's scenario (:func:`plaster_model.web._browser.run_scenario`, the
code path of ``tests/test_web.py::test_served_page_in_a_real_browser``): ``plaster-model
serve`` on a free loopback port, the pre-filled HPE Cookbook row, then InfiniBand EDR and
32 GPUs added for comparison (``web_guide.png``), then one screenshot per other tab
(``web_bandwidth.png``, ``web_inference.png``, ``web_calibration.png``). Needs the
``test`` extra (panel, playwright) and Debian's ``chromium``.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from plaster_model.web._browser import run_scenario, serve_subprocess  # noqa: E402

OUT = REPO / "docs" / "img"


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="plaster-web-shot-") as tmp:
        with serve_subprocess(log_path=Path(tmp) / "serve.log") as url:
            result = run_scenario(url, tmp, width=1280, height=800, tab_shots=True)
        if result.off_host_requests:
            print(f"off-host requests: {result.off_host_requests}", file=sys.stderr)
            return 1
        OUT.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(result.screenshot, OUT / "web_guide.png")
        for name, path in result.tab_screenshots.items():
            shutil.copyfile(path, OUT / f"web_{name}.png")
    print(f"pre-filled HPE row: {result.prefilled_time_h:,.2f} h; "
          f"32 GPUs over InfiniBand EDR: {result.added_time_h:,.2f} h")
    print(f"{len(result.requests)} requests, all to the loopback server")
    print(f"headers cut at 1280 px: {result.elided_headers or 'none'}")
    print(f"wrote {', '.join(sorted(p.name for p in OUT.glob('web_*.png')))} in {OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
