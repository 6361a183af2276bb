"""Pipeline throughput: tasks per second through our ventilator, workers and sink.

The role CLIs run as processes, exactly as the harness runs them (without
tracing or Toxiproxy): a ventilator that waits for its ``K`` workers, ``K``
workers, and a sink that counts every task once and sends the kill signal.
The figure is the sink's own batch time (from the batch start to the last
result, from its ``batch_done`` log line), for 1, 2 and 4 workers, in one
run, alternating, ``--rounds`` times:

- ``--work-ms 0``: empty tasks, so the figure is the messaging and
  bookkeeping cost per task; on this 2-core machine more workers add
  processes competing for the same cores, so it does not scale;
- ``--work-ms 10`` (each task sleeps 1..10 ms, 5.5 ms on average, as the
  Guide's 1..100 ms scaled down): the Guide's "divide and conquer" case, where
  two and four workers should take about half and a quarter of the time.

    .venv/bin/python bench/pipeline_bench.py --rounds 3
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, free_endpoint, stop

BATCH = re.compile(r"batch done after (\d+) ms: (\d+) of (\d+) results")


def spawn(module: str, log: Path, *args: str) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", f"patterns.pipeline.{module}", *args],
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=out,
                                start_new_session=True)


def one_batch(workers: int, tasks: int, work_ms: int, tmp: Path) -> float:
    """Tasks per second of one batch, from the sink's own clock."""
    tasks_ep, results_ep, control_ep = free_endpoint(), free_endpoint(), free_endpoint()
    sink_log = tmp / f"sink-{time.monotonic_ns()}.log"
    sink = spawn("sink", sink_log, "--bind", results_ep, "--bind", control_ep,
                 "--tasks", str(tasks), "--timeout-ms", "10000")
    crew = [spawn("worker", tmp / "workers.log", "--connect", tasks_ep, "--connect", results_ep,
                  "--connect", control_ep) for _ in range(workers)]
    vent = spawn("ventilator", tmp / "vent.log", "--bind", tasks_ep, "--connect", results_ep,
                 "--tasks", str(tasks), "--work-ms", str(work_ms), "--workers", str(workers),
                 "--hwm", "1000")
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            match = BATCH.search(sink_log.read_text())
            if match:
                elapsed_ms, counted, expected = (int(g) for g in match.groups())
                if counted != expected:
                    print(f"  note: {counted} of {expected} results", file=sys.stderr)
                return counted / (elapsed_ms / 1000) if elapsed_ms else 0.0
            time.sleep(0.05)
        raise RuntimeError(f"no batch_done from the sink: {sink_log.read_text()[-500:]}")
    finally:
        for proc in (vent, *crew, sink):
            stop(proc)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--empty-tasks", type=int, default=20_000, help="batch size, --work-ms 0")
    p.add_argument("--work-tasks", type=int, default=800, help="batch size, --work-ms 10")
    args = p.parse_args()
    cases = [(0, args.empty_tasks), (10, args.work_tasks)]
    counts = (1, 2, 4)
    rates: dict[tuple[int, int], list[float]] = {(w, n): [] for w, _ in cases for n in counts}
    with tempfile.TemporaryDirectory(prefix="pipeline-bench-") as tmp:
        for _ in range(args.rounds):
            for work, tasks in cases:
                for n in counts:
                    rates[(work, n)].append(one_batch(n, tasks, work, Path(tmp)))
    print(f"tasks/s, sink's batch clock, median of {args.rounds} rounds\n")
    print("| tasks | 1 worker | 2 workers | 4 workers | 2 vs 1 | 4 vs 1 |")
    print("|---|---|---|---|---|---|")
    for work, tasks in cases:
        one, two, four = (statistics.median(rates[(work, n)]) for n in counts)
        label = "empty (--work-ms 0)" if work == 0 else f"1..{work} ms of work"
        print(f"| {tasks} x {label} | {one:,.0f} | {two:,.0f} | {four:,.0f} | "
              f"{two / one:.2f}x | {four / one:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
