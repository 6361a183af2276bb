"""Benchmark of the Majordomo broker; prints a Markdown table.

Three measurements, each taken in one run so the ratios compare like with like
on whatever else the machine is doing at the time:

1. **Echo throughput.** ``--clients`` pipelined DEALER clients (each keeping
   ``--window`` requests in flight) and ``--workers`` echo workers, each its
   own process, through (a) our broker (``python -m patterns.majordomo.broker``,
   full MDP 0.1 framing: clients send ``["" | MDPC01 | echo | n]``, workers
   answer REQUEST with REPLY) and (b) the ceiling: libzmq's C ``zmq.proxy``
   between a ROUTER frontend and a DEALER backend, with the same processes
   speaking plain frames (clients send ``[n]``, workers echo ``[C | n]``; no
   MDP, no service routing, no per-worker bookkeeping). Workers and clients
   are minimal raw-socket loops in both cases (using ``fastio``, as the broker
   does) so the broker is what differs; every process reports when it is
   connected and the clients start together. Each run also reads the CPU
   time of the broker (or proxy), the workers and the clients, which splits
   the cost of one request by role. Extra MDP runs: more workers, the broker
   on pyzmq's convenience layer, and the same load on our
   ``MajordomoWorker``/``MajordomoAsyncClient`` APIs.
2. **Synchronous round trip.** One request at a time, p50/p99 over
   ``--round-trips`` requests: client -> broker -> MDP worker and back, against
   a direct REQ -> REP round trip between two processes and, as the two-hop
   floor, REQ -> C ``zmq.proxy`` -> echo worker; the paths alternate in
   blocks of 50.
3. **Broker memory.** RSS of the broker process after ``--idle-workers``
   DEALER workers (one process, one context) registered across
   ``--services`` services, against its RSS right after binding.

Run: ``.venv/bin/python bench/majordomo_bench.py`` (about 2 minutes; ``--only`` to run a part).
The processes that make the load are in ``majordomo_load.py``, the measuring
in ``majordomo_measure.py``; this script chooses the runs and prints the table.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
from pathlib import Path

from common import ROOT, free_endpoint, stop
from majordomo_load import run_proxy, start_broker
from majordomo_measure import Run, latency, median_run, memory, throughput


def print_throughput(args: argparse.Namespace, samples: dict[str, list[Run]]) -> None:
    ours, many, sugar, proxy, apis = (
        median_run(samples[k]) for k in ("ours", "many", "sugar", "proxy", "apis")
    )
    raw = proxy.rate
    load = f"{args.clients} clients x {args.window} in flight, {args.workers} workers"
    print("| measurement | ours | reference | ratio |")
    print("|---|---|---|---|")
    print(
        f"| echo throughput, {load} (req/s) | {ours.rate:,.0f} (MDP broker) | "
        f"{raw:,.0f} (C zmq.proxy ROUTER-DEALER) | {ours.rate / raw:.0%} |"
    )
    print(
        f"| same with {args.many_workers} workers (req/s) | {many.rate:,.0f} (MDP broker) | "
        f"{raw:,.0f} (proxy, {args.workers} workers) | {many.rate / raw:.0%} |"
    )
    print(
        f"| same broker on pyzmq send/recv_multipart (req/s) | {sugar.rate:,.0f} | "
        f"{raw:,.0f} (proxy) | {sugar.rate / raw:.0%}; "
        f"{sugar.per_request_us(sugar.server_cpu):.0f} us broker CPU per request |"
    )
    print(
        f"| broker CPU while measuring, {args.workers} / {args.many_workers} workers | "
        f"{ours.server_cpu or 0:.0%} / {many.server_cpu or 0:.0%} of one core | "
        f"{proxy.server_cpu or 0:.0%} (proxy) | "
        f"{ours.per_request_us(ours.server_cpu):.0f} / "
        f"{many.per_request_us(many.server_cpu):.0f} us per request "
        f"(proxy {proxy.per_request_us(proxy.server_cpu):.0f}) |"
    )
    print(
        f"| same load on our MajordomoWorker / MajordomoAsyncClient APIs (req/s) | "
        f"{apis.rate:,.0f} | {raw:,.0f} (proxy, raw loops) | {apis.rate / raw:.0%} |"
    )
    for label, run in (
        (f"{args.workers} workers", ours),
        (f"{args.many_workers} workers", many),
        ("our APIs", apis),
    ):
        print(
            f"| CPU per request, broker / workers / clients, {label} (us) | "
            f"{run.per_request_us(run.server_cpu):.0f} / "
            f"{run.per_request_us(run.workers_cpu):.0f} / "
            f"{run.per_request_us(run.clients_cpu):.0f} | "
            f"{proxy.per_request_us(proxy.server_cpu):.0f} / "
            f"{proxy.per_request_us(proxy.workers_cpu):.0f} / "
            f"{proxy.per_request_us(proxy.clients_cpu):.0f} (proxy) | |"
        )
    print()
    rounds = {k: [round(r.rate) for r in v] for k, v in samples.items()}
    ratios = [
        f"{o.rate / p.rate:.1%}" for o, p in zip(samples["ours"], samples["proxy"], strict=True)
    ]
    print(f"Throughput of each round (req/s): {rounds}")
    print(f"ours / proxy in each round: {ratios}")
    print()


def print_latency(trips: dict[str, tuple[float, float]]) -> None:
    (d50, d99), (p50, p99), (b50, b99) = trips["direct"], trips["proxy"], trips["broker"]
    print(
        f"| sync round trip p50 (us) | {b50:,.0f} (via broker) | {d50:,.0f} (direct REQ-REP) "
        f"| {b50 / d50:.2f}x |"
    )
    print(
        f"| sync round trip p99 (us) | {b99:,.0f} (via broker) | {d99:,.0f} (direct REQ-REP) "
        f"| {b99 / d99:.2f}x |"
    )
    print(
        f"| floor: sync round trip p50 / p99 via C zmq.proxy (us) | {p50:,.0f} / {p99:,.0f} | "
        f"{d50:,.0f} / {d99:,.0f} (direct REQ-REP) | {p50 / d50:.2f}x / {p99 / d99:.2f}x |"
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--window", type=int, default=50)
    p.add_argument(
        "--many-workers",
        type=int,
        default=16,
        help="a second MDP run with more workers (MDP hands each worker one request at a time)",
    )
    p.add_argument("--seconds", type=float, default=3.0, help="measured seconds per run")
    p.add_argument("--repeats", type=int, default=3, help="interleaved rounds (medians shown)")
    p.add_argument("--round-trips", type=int, default=3000)
    p.add_argument("--idle-workers", type=int, default=1000)
    p.add_argument("--services", type=int, default=100)
    p.add_argument(
        "--only",
        default="throughput,latency,memory",
        help="comma-separated parts to run: throughput, latency, memory",
    )
    args = p.parse_args()
    os.chdir(ROOT)

    def measure(kind: str) -> Run:
        if kind == "proxy":
            front, back = free_endpoint(), free_endpoint()
            proxy = mp.get_context("spawn").Process(
                target=run_proxy, args=(front, back), daemon=True
            )
            proxy.start()
            try:
                return throughput(
                    front,
                    back,
                    False,
                    args.clients,
                    args.workers,
                    args.window,
                    args.seconds,
                    proxy.pid,
                )
            finally:
                proxy.kill()
                proxy.join()
        workers = args.many_workers if kind == "many" else args.workers
        ep = free_endpoint()
        broker = start_broker(ep, sugar=kind == "sugar")  # a fresh broker for each run
        try:
            return throughput(
                ep,
                ep,
                True,
                args.clients,
                workers,
                args.window,
                args.seconds,
                broker.pid,
                use_apis=kind == "apis",
            )
        finally:
            stop(broker)

    parts = set(args.only.split(","))
    print(f"load average before: {Path('/proc/loadavg').read_text().split()[:3]}")
    if "throughput" in parts:
        # Interleaved rounds, medians: other processes on the machine come and go.
        kinds = ("ours", "proxy", "sugar", "many", "apis")
        samples: dict[str, list[Run]] = {kind: [] for kind in kinds}
        for _ in range(args.repeats):
            for kind in kinds:
                samples[kind].append(measure(kind))
        print_throughput(args, samples)
    if "latency" in parts:
        print_latency(latency(args.round_trips))
    if "memory" in parts:
        base, loaded = memory(args.idle_workers, args.services)
        print(
            f"| broker RSS, {args.idle_workers} workers / {args.services} services (MiB) | "
            f"{loaded / 1024:.1f} | {base / 1024:.1f} (idle broker) | "
            f"+{(loaded - base) / args.idle_workers:.1f} KiB/worker |"
        )
    print(f"load average after: {Path('/proc/loadavg').read_text().split()[:3]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
