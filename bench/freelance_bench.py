"""Freelance round trip: model 3 (FLP agent) against model 1 (REQ per attempt), one run.

Starts three servers per model as processes on loopback (no Toxiproxy), then
sends ``--requests`` sequential echo requests through each client class and
reports round-trip percentiles and throughput as a Markdown table. Model 2
(the shotgun) is measured too, for reference.

    .venv/bin/python bench/freelance_bench.py --requests 2000

Model 1 pays a socket setup and TCP connect per request; model 3 keeps one
ROUTER and pays the hop through the agent thread's inproc pipe.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import zmq
from common import ROOT as REPO
from common import free_ports, percentile

from patterns.freelance.client1 import FreelanceClient1
from patterns.freelance.client2 import FreelanceClient2
from patterns.freelance.flp import FreelanceClient3


def wait_bound(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"server on port {port} never bound")


def measure(ask: Callable[[bytes], bytes], requests: int) -> tuple[list[float], float]:
    for i in range(20):  # warm-up: connections, first PONGs
        ask(f"warm:{i}".encode())
    rtts: list[float] = []
    start = time.perf_counter()
    for i in range(requests):
        body = f"bench:{i}".encode()
        t = time.perf_counter()
        ask(body)
        rtts.append(time.perf_counter() - t)
    return rtts, time.perf_counter() - start


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=2000)
    args = p.parse_args()
    procs: list[subprocess.Popen] = []
    rows: list[str] = []
    ctx = zmq.Context()
    try:
        endpoints: dict[int, list[str]] = {}
        for model in (1, 2, 3):
            ports = free_ports(3)
            endpoints[model] = [f"tcp://127.0.0.1:{port}" for port in ports]
            for endpoint in endpoints[model]:
                procs.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            f"patterns.freelance.server{model}",
                            "--bind",
                            endpoint,
                        ],
                        cwd=REPO,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                        start_new_session=True,
                    )
                )
            for port in ports:
                wait_bound(port)

        c1 = FreelanceClient1(endpoints[1], timeout_ms=1000, retries=3, context=ctx)
        c2 = FreelanceClient2(endpoints[2], timeout_ms=1000, retries=1, context=ctx)
        c3 = FreelanceClient3(endpoints[3], timeout_ms=1000, retries=3, context=ctx)
        try:
            cases = [
                ("model 1 (REQ, new socket per request)", lambda b: c1.request(b)),
                ("model 2 (DEALER shotgun, 3 copies)", lambda b: c2.request(b)),
                ("model 3 (FLP agent, ROUTER)", lambda b: c3.request(b)),
            ]
            for label, ask in cases:
                rtts, wall = measure(ask, args.requests)
                ms = [x * 1000 for x in rtts]
                rows.append(
                    f"| {label} | {len(ms)} | {statistics.median(ms):.3f} ms | "
                    f"{percentile(ms, 99):.3f} ms | {max(ms):.3f} ms | "
                    f"{len(ms) / wall:.0f}/s |"
                )
        finally:
            c2.close()
            c3.close()
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        ctx.term()
    print("| client | requests | median RTT | p99 RTT | max RTT | throughput |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
