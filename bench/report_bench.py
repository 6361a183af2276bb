"""How big and how fast the HTML reports are (docs/reports.md "Size and speed").

Measures, in one run:

* a 10 s scenario with 5,000 operations (generated history, two clients, a
  kill, a latency toxic, a partition, Binary Star states, 300 log lines per
  node): the page's size, the time to render it in Python (page and
  ``timeline.png``), and, with headless Chromium, the time from navigation
  until the page has run its script and painted twice (median of 5 loads);
* a run of 100 scenarios: how many copies of the script it holds and its
  total size.

Targets (issue 12): under 1 s in the browser, under 2 MB of HTML plus shared
assets, one copy of any script per run. Usage: ``python bench/report_bench.py``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import common  # noqa: F401  (puts the repo on sys.path)

from harness.report import pages, plots
from tests.report.chromium_cdp import Chromium, find_chromium
from tests.report.synth import synthetic_history, synthetic_report, write_folder

PAINTED = ("new Promise(r => requestAnimationFrame(() => requestAnimationFrame("
           "() => r(performance.now()))))")


def logs_for(nodes: list[str], lines: int) -> dict[str, str]:
    return {n: "--- zchaos: start #1: x\n" + "".join(
        f"2026-01-01 00:00:{i * 10 // lines:02d},{i % 1000:03d} {n} INFO line {i}\n"
        for i in range(lines)) for n in nodes}


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="zchaos-report-bench-") as tmp:
        run = Path(tmp) / "run"
        history = synthetic_history(ops=5000, duration=10.0, clients=2)
        report = synthetic_report(history, name="big")
        folder = write_folder(run / "big", report, history,
                              logs=logs_for(["server", "backup", "client-1", "client-2"], 300))
        started = time.perf_counter()
        page = pages.render_scenario(folder)
        html_s = time.perf_counter() - started
        started = time.perf_counter()
        plots.try_timeline(history, folder / "timeline.png", report=report, folder=folder)
        png_s = time.perf_counter() - started
        size = page.stat().st_size
        script = (run / "assets" / "zchaos-report.js").stat().st_size
        ops = sum(1 for e in history if e.get("type") == "invoke")
        print(f"5,000-operation scenario: {ops} ops, {len(history)} events")
        print(f"  page size            {size / 1024 / 1024:.2f} MB (+ {script / 1024:.1f} KB "
              f"shared script); target < 2 MB: {'met' if size < 2 * 1024 * 1024 else 'NOT met'}")
        print(f"  render in Python     {html_s:.2f} s (timeline.png {png_s:.2f} s)")
        chromium = find_chromium()
        if chromium is None:
            print("  browser              skipped: no chromium")
        else:
            with Chromium(chromium) as browser:
                loads = []
                for _ in range(6):
                    browser.open(page.resolve().as_uri())
                    loads.append(browser.evaluate(PAINTED, await_promise=True) / 1000.0)
                    assert browser.console_errors() == [], browser.console_errors()
                loads = loads[1:]  # the first load warms the browser's caches
                median = statistics.median(loads)
                print(f"  browser, navigation to script done and painted: median {median:.2f} s"
                      f" (min {min(loads):.2f}, max {max(loads):.2f}, 5 loads); target < 1 s: "
                      f"{'met' if median < 1 else 'NOT met'} ({median:.0%} of it)")
        many = Path(tmp) / "many"
        small = synthetic_history(ops=200, duration=5.0)
        for i in range(100):
            write_folder(many / f"s{i:03d}", synthetic_report(small, name=f"s{i:03d}"), small)
        started = time.perf_counter()
        pages.render_path(many)
        many_s = time.perf_counter() - started
        scripts = list(many.rglob("*.js"))
        total = sum(p.stat().st_size for p in many.rglob("*.html")) + sum(
            p.stat().st_size for p in scripts)
        print(f"100-scenario run: {len(scripts)} script file(s), {total / 1024 / 1024:.1f} MB of "
              f"HTML and script, rendered in {many_s:.1f} s (pages, PNGs and index)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
