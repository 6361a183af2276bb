"""Pirate round trips and recovery, measured on loopback (no Toxiproxy).

Two measurements, printed as Markdown tables:

1. Round trip of sequential echo requests through a Lazy Pirate client:
   straight to a REP server, through the Simple Pirate queue, and through
   the Paranoid Pirate queue (``--workers`` workers each), as percentiles and
   throughput. The queues add one hop; PPP adds heartbeat traffic.
2. Paranoid Pirate queue restart: the queue is SIGKILLed and started again
   ``--restart-gap-ms`` later, ``--kills`` times; each round reports the time
   from the kill to the client's first reply after the restart. Expected: the
   gap plus a worker's re-registration (silence detection or disconnect,
   plus its back-off) plus up to one client timeout.

    .venv/bin/python bench/pirate_bench.py --requests 2000 --workers 2 --kills 5
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import zmq
from common import ROOT as REPO
from common import free_endpoint, percentile, stop

from patterns.common.errors import RequestAbandoned
from patterns.lazy_pirate.client import LazyPirateClient


def spawn(module: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


@contextmanager
def system(kind: str, workers: int, hb_ms: int) -> Iterator[tuple[str, list[subprocess.Popen]]]:
    """Start a server (lp) or a queue plus workers (sp, ppp); yield the clients' endpoint."""
    procs: list[subprocess.Popen] = []
    front = free_endpoint()
    try:
        if kind == "lp":
            procs.append(spawn("patterns.lazy_pirate.server", "--bind", front))
        else:
            back = free_endpoint()
            timing = ["--heartbeat-ms", str(hb_ms), "--liveness", "3"] if kind == "ppp" else []
            procs.append(
                spawn(
                    f"patterns.{'simple' if kind == 'sp' else 'paranoid'}_pirate.queue",
                    "--bind",
                    front,
                    "--bind",
                    back,
                    *timing,
                )
            )
            for _ in range(workers):
                extra = (
                    [*timing, "--reconnect-ms", str(hb_ms), "--backoff-max-ms", str(4 * hb_ms)]
                    if kind == "ppp"
                    else []
                )
                procs.append(
                    spawn(
                        f"patterns.{'simple' if kind == 'sp' else 'paranoid'}_pirate.worker",
                        "--connect",
                        back,
                        *extra,
                    )
                )
        yield front, procs
    finally:
        for proc in reversed(procs):
            stop(proc)


def warm_up(client: LazyPirateClient) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            client.request(b"warm-up")
            return
        except RequestAbandoned:
            continue
    raise SystemExit("the system never answered")


def round_trips(args: argparse.Namespace, ctx: zmq.Context) -> None:
    print("| path | requests | p50 ms | p99 ms | max ms | req/s |")
    print("|---|---|---|---|---|---|")
    for kind, label in (
        ("lp", "client -> REP server"),
        ("sp", "client -> SP queue -> worker"),
        ("ppp", "client -> PPP queue -> worker"),
    ):
        with (
            system(kind, args.workers, args.heartbeat_ms) as (front, _procs),
            LazyPirateClient(front, timeout_ms=1000, retries=3, context=ctx) as client,
        ):
            warm_up(client)
            times: list[float] = []
            started = time.monotonic()
            for seq in range(args.requests):
                t = time.monotonic()
                client.request(f"bench:{seq}".encode())
                times.append((time.monotonic() - t) * 1000)
            elapsed = time.monotonic() - started
        print(
            f"| {label} | {args.requests} | {statistics.median(times):.2f} | "
            f"{percentile(times, 99):.2f} | {max(times):.2f} | {args.requests / elapsed:.0f} |"
        )


def queue_restarts(args: argparse.Namespace, ctx: zmq.Context) -> None:
    hb = args.heartbeat_ms
    print()
    print(
        f"PPP queue restart (heartbeat {hb} ms, liveness 3, back-off {hb}..{4 * hb} ms, "
        f"gap {args.restart_gap_ms} ms, client timeout 200 ms)"
    )
    print()
    print("| round | kill -> first reply after restart (ms) |")
    print("|---|---|")
    recoveries: list[float] = []
    with (
        system("ppp", args.workers, hb) as (front, procs),
        LazyPirateClient(front, timeout_ms=200, retries=1000, context=ctx) as client,
    ):
        warm_up(client)
        queue_args = procs[0].args[3:]  # type: ignore[index]
        for round_no in range(1, args.kills + 1):
            procs[0].kill()
            procs[0].wait()
            killed_at = time.monotonic()
            time.sleep(args.restart_gap_ms / 1000)  # the outage being measured
            procs[0] = spawn("patterns.paranoid_pirate.queue", *queue_args)
            client.request(f"after-restart:{round_no}".encode())
            recoveries.append((time.monotonic() - killed_at) * 1000)
            print(f"| {round_no} | {recoveries[-1]:.0f} |")
    print(f"| median | {statistics.median(recoveries):.0f} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--heartbeat-ms", type=int, default=100)
    p.add_argument("--kills", type=int, default=5)
    p.add_argument("--restart-gap-ms", type=int, default=500)
    args = p.parse_args()
    ctx = zmq.Context()
    try:
        round_trips(args, ctx)
        queue_restarts(args, ctx)
    finally:
        ctx.destroy(linger=0)


if __name__ == "__main__":
    main()
