"""Binary Star failover time, measured over repeated kills of the active server.

Spawns a primary, a backup and one client as processes (no Toxiproxy), all
tracing into one file. Each round SIGKILLs whichever server is ACTIVE, then
measures the time from the kill to the client's first reply from the other
server; the killed server is started again, must come back PASSIVE, and
the next round kills the new active one. Prints a Markdown table.

    .venv/bin/python bench/binary_star_bench.py --kills 20 --heartbeat-ms 100

Expected failover: about timeout + settle (the client notices silence, waits,
votes), plus up to one request interval.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from common import ROOT as REPO
from common import free_ports, percentile

from harness.history import GAVE_UP_TYPES


class Trace:
    """Incremental reader of the shared trace file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.events: list[dict] = []

    def poll(self) -> list[dict]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as f:
            f.seek(self.offset)
            data = f.read()
        end = data.rfind(b"\n") + 1
        self.offset += end
        new = [json.loads(line) for line in data[:end].splitlines() if line.strip()]
        self.events.extend(new)
        return new

    def last_state(self, node: str) -> str | None:
        states = [e["state"] for e in self.events if e["node"] == node and e["type"] == "state"]
        return states[-1] if states else None


def wait_until(condition: Callable[[], bool], trace: Trace, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        trace.poll()
        if condition():
            return
        time.sleep(0.005)
    raise RuntimeError(f"timed out waiting for {what}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--heartbeat-ms", type=int, default=100)
    p.add_argument("--timeout-ms", type=int, default=200)
    p.add_argument("--settle-ms", type=int, default=250)
    p.add_argument("--rate", type=float, default=50.0, help="client requests per second")
    args = p.parse_args()
    if args.settle_ms < 2 * args.heartbeat_ms:
        p.error("--settle-ms must be at least the failover timeout (2 x heartbeat)")

    tmp = Path(tempfile.mkdtemp(prefix="bstar-bench-"))
    trace = Trace(tmp / "trace.jsonl")
    t0 = time.monotonic()
    pf, ps, bf, bs = free_ports(4)
    ep = {"primary": f"tcp://127.0.0.1:{pf}", "backup": f"tcp://127.0.0.1:{bf}"}
    server_args = {
        "primary": [
            "--primary",
            "--bind",
            ep["primary"],
            "--bind",
            f"tcp://127.0.0.1:{ps}",
            "--connect",
            f"tcp://127.0.0.1:{bs}",
        ],
        "backup": [
            "--backup",
            "--bind",
            ep["backup"],
            "--bind",
            f"tcp://127.0.0.1:{bs}",
            "--connect",
            f"tcp://127.0.0.1:{ps}",
        ],
    }
    procs: dict[str, subprocess.Popen] = {}

    def spawn(node: str, argv: list[str]) -> None:
        env = dict(os.environ, ZCHAOS_TRACE=str(trace.path), ZCHAOS_NODE=node, ZCHAOS_T0=repr(t0))
        procs[node] = subprocess.Popen(
            [sys.executable, *argv],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def start_server(node: str) -> None:
        spawn(
            node,
            [
                "-m",
                "patterns.binary_star.server",
                *server_args[node],
                "--heartbeat-ms",
                str(args.heartbeat_ms),
            ],
        )

    times: list[float] = []
    try:
        start_server("primary")
        start_server("backup")
        wait_until(lambda: trace.last_state("backup") == "PASSIVE", trace, 15, "backup PASSIVE")
        spawn(
            "client",
            [
                "-m",
                "patterns.binary_star.client",
                "--connect",
                ep["primary"],
                "--connect",
                ep["backup"],
                "--timeout-ms",
                str(args.timeout_ms),
                "--settle-ms",
                str(args.settle_ms),
                "--requests",
                "0",
                "--rate",
                str(args.rate),
                "--retries",
                "0",
            ],
        )
        wait_until(lambda: any(e["type"] == "ok" for e in trace.events), trace, 15, "first reply")
        for round_no in range(1, args.kills + 1):
            active = next(n for n in ("primary", "backup") if trace.last_state(n) == "ACTIVE")
            other = "backup" if active == "primary" else "primary"
            os.killpg(procs[active].pid, signal.SIGKILL)
            killed_at = time.monotonic() - t0
            procs[active].wait()
            seen = len(trace.events)

            def answered_by_other(
                seen: int = seen, other: str = other, killed_at: float = killed_at
            ) -> bool:
                return any(
                    e["type"] == "ok" and e.get("server") == ep[other] and e["t"] > killed_at
                    for e in trace.events[seen:]
                )

            wait_until(answered_by_other, trace, 20, f"round {round_no}: reply from {other}")
            first = min(
                e["t"]
                for e in trace.events[seen:]
                if e["type"] == "ok" and e.get("server") == ep[other]
            )
            times.append(first - killed_at)
            print(
                f"round {round_no:2d}: killed {active:7s} -> {other} answered after "
                f"{(first - killed_at) * 1000:6.0f} ms",
                file=sys.stderr,
            )
            mark = len(trace.events)
            start_server(active)
            wait_until(
                lambda mark=mark, node=active: any(
                    e["node"] == node and e["type"] == "state" and e["state"] == "PASSIVE"
                    for e in trace.events[mark:]
                ),
                trace,
                15,
                f"{active} back PASSIVE",
            )
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        trace.poll()
        shutil.rmtree(tmp, ignore_errors=True)
    fails = sum(1 for e in trace.events if e["type"] in GAVE_UP_TYPES)
    ms = [t * 1000 for t in times]
    print(
        f"| kills | heartbeat | client timeout | settle | median | p99 | min | max | "
        f"client fails |\n|---|---|---|---|---|---|---|---|---|\n"
        f"| {len(ms)} | {args.heartbeat_ms} ms | {args.timeout_ms} ms | {args.settle_ms} ms | "
        f"{statistics.median(ms):.0f} ms | {percentile(ms, 99):.0f} ms | {min(ms):.0f} ms | "
        f"{max(ms):.0f} ms | {fails} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
