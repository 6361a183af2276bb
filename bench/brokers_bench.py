"""Chapter 3 brokers against a raw ``zmq.proxy``, the async server by window, peering by clusters.

Three measurements, printed as Markdown tables (every figure in a table
comes from the same run, so the ratios are fair on a busy machine):

1. **Brokers vs raw.** Echo throughput through a bare ``zmq.proxy(ROUTER,
   DEALER)`` process (libzmq's C loop, nothing else), through our
   ``shared_queue.rrbroker`` and ``shared_queue.msgqueue``, and through the
   load-balancing broker ``lbbroker.broker``, with the *same* minimal
   clients and workers written here: DEALER clients keeping ``--window``
   requests in flight as ``["" | body]`` (what a REQ sends), DEALER workers
   echoing whatever arrives (the LB broker's say ``["" | "READY"]`` first,
   like a REQ worker). Each system is measured ``--rounds`` times in turn;
   the table shows the median and the ratio to raw. A second table varies
   the worker count for raw and the LB broker: the LB broker hands a worker
   one request at a time, so its parallelism is its number of workers,
   while the DEALER pipelines everything in flight.
2. **Async server by requests in flight.** ``async_server.server`` (its
   worker threads) with the minimal clients at windows 1 .. 64.
3. **Peering by clusters.** 1, 2 and 3 peering brokers; cluster 1 has all
   the clients (more work than its own workers can do), every cluster has
   the same workers, each spending ``--work-ms`` per request (so capacity
   is workers, not this machine's two cores), and what clusters 2 and 3 add
   arrives over the cloud flow. Shows requests/s and the share the other
   clusters' workers served.

    .venv/bin/python bench/brokers_bench.py              # about 2 minutes
    .venv/bin/python bench/brokers_bench.py --only raw   # one section
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import zmq
from common import ROOT, cpu_seconds, free_endpoint

READY = b"READY"
SETTLE_S = 0.5  # after the system is up, before clients start (workers connect and register)


# -- the minimal clients and workers (identical for every system) --------------------------------


def bench_worker(connect: str, ready: bool, work_s: float = 0.0,
                 counter: Any = None) -> None:
    """DEALER echo worker; with ``ready`` it behaves like a REQ worker (READY, one at a time).

    ``work_s`` of simulated work per request; ``counter`` (a shared integer) counts them.
    """
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(connect)
    if ready:
        sock.send_multipart([b"", READY])
    try:
        while True:
            frames = sock.recv_multipart()
            if work_s:
                time.sleep(work_s)
            if counter is not None:
                counter.value += 1
            sock.send_multipart(frames)
    finally:
        sock.close(linger=0)
        ctx.term()


def bench_client(connect: str, requests: int, window: int, out: mp.Queue) -> None:
    """DEALER client with ``window`` requests in flight; reports (first send, last reply, n,
    its CPU seconds)."""
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(connect)
    body = b"x" * 16
    sent = received = 0
    started = time.monotonic()
    while sent < min(window, requests):
        sock.send_multipart([b"", body])
        sent += 1
    while received < requests:
        if not sock.poll(10_000):
            break  # a stuck system: report what was done
        sock.recv_multipart()
        received += 1
        if sent < requests:
            sock.send_multipart([b"", body])
            sent += 1
    out.put((started, time.monotonic(), received, time.process_time()))
    sock.close(linger=0)
    ctx.term()


def raw_proxy(front: str, back: str) -> None:
    ctx = zmq.Context()
    frontend, backend = ctx.socket(zmq.ROUTER), ctx.socket(zmq.DEALER)
    frontend.bind(front)
    backend.bind(back)
    zmq.proxy(frontend, backend)


# -- systems -------------------------------------------------------------------------------------


class System:
    """Processes started for one measurement, stopped (by their handles) at the end.

    ``brokers`` and ``workers`` list the pids of each kind, for CPU accounting.
    """

    def __init__(self) -> None:
        self.procs: list[mp.Process] = []
        self.popens: list[subprocess.Popen] = []
        self.brokers: list[int] = []
        self.workers: list[int] = []

    def role(self, module: str, *args: str) -> None:
        popen = subprocess.Popen(
            [sys.executable, "-m", module, *args], cwd=ROOT, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        self.popens.append(popen)
        self.brokers.append(popen.pid)

    def process(self, target, *args, broker: bool = False) -> None:  # type: ignore[no-untyped-def]
        proc = mp.Process(target=target, args=args, daemon=True)
        proc.start()
        self.procs.append(proc)
        (self.brokers if broker else self.workers).append(proc.pid)  # type: ignore[arg-type]

    def cpu(self) -> tuple[float, float]:
        """CPU seconds used so far by (brokers, workers)."""
        return (sum(cpu_seconds(p) for p in self.brokers),
                sum(cpu_seconds(p) for p in self.workers))

    def stop(self) -> None:
        for proc in self.procs:
            proc.kill()
        for popen in self.popens:
            popen.terminate()
        for proc in self.procs:
            proc.join(5)
        for popen in self.popens:
            try:
                popen.wait(5)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait()


@contextmanager
def system() -> Iterator[System]:
    s = System()
    try:
        yield s
    finally:
        s.stop()


@dataclass
class Measure:
    rate: float  # requests/s
    client_us: float  # client CPU per request (µs)


def drive(front: str, clients: int, requests: int, window: int) -> float:
    """Run ``clients`` bench clients against ``front``; requests/s over the whole run."""
    return drive_measured(front, clients, requests, window).rate


def drive_measured(front: str, clients: int, requests: int, window: int) -> Measure:
    """Run ``clients`` bench clients against ``front``: requests/s and their CPU per request."""
    out: mp.Queue = mp.Queue()
    procs = [mp.Process(target=bench_client, args=(front, requests, window, out), daemon=True)
             for _ in range(clients)]
    for proc in procs:
        proc.start()
    results = [out.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(5)
    start = min(r[0] for r in results)
    end = max(r[1] for r in results)
    done = sum(r[2] for r in results)
    if done < clients * requests:
        print(f"  (warning: only {done} of {clients * requests} replies)", file=sys.stderr)
    client_cpu = sum(r[3] for r in results)
    return Measure(done / (end - start), client_cpu / max(done, 1) * 1e6)


@dataclass
class BrokerRun:
    rate: float
    broker_us: float  # CPU per request of the broker process
    worker_us: float  # ... of all the workers
    client_us: float  # ... of all the clients


def broker_throughput(kind: str, args: argparse.Namespace,
                      workers: int | None = None) -> BrokerRun:
    front, back = free_endpoint(), free_endpoint()
    with system() as s:
        if kind == "raw":
            s.process(raw_proxy, front, back, broker=True)
        elif kind == "lbbroker":
            s.role("patterns.lbbroker.broker", "--bind", front, "--bind", back)
        else:
            s.role(f"patterns.shared_queue.{kind}", "--bind", front, "--bind", back)
        for _ in range(workers or args.workers):
            s.process(bench_worker, back, kind == "lbbroker")
        time.sleep(SETTLE_S)
        drive(front, args.clients, 200, args.window)  # warm-up
        broker0, workers0 = s.cpu()
        measure = drive_measured(front, args.clients, args.requests, args.window)
        broker1, workers1 = s.cpu()
        done = args.clients * args.requests
        return BrokerRun(measure.rate, (broker1 - broker0) / done * 1e6,
                         (workers1 - workers0) / done * 1e6, measure.client_us)


def brokers_vs_raw(args: argparse.Namespace) -> None:
    kinds = ["raw", "rrbroker", "msgqueue", "lbbroker"]
    samples: dict[str, list[BrokerRun]] = {k: [] for k in kinds}
    for _ in range(args.rounds):
        for kind in kinds:
            samples[kind].append(broker_throughput(kind, args))

    def median(kind: str, field: str) -> float:
        return statistics.median(getattr(run, field) for run in samples[kind])

    raw = median("raw", "rate")
    print(f"\n### Brokers vs raw zmq.proxy ({args.clients} clients x {args.window} in flight, "
          f"{args.workers} workers, {args.requests} requests per client, median of "
          f"{args.rounds})\n")
    print("| path | req/s | of raw | CPU per request: broker / workers / clients (µs) |")
    print("|---|---|---|---|")
    labels = {"raw": "raw `zmq.proxy` ROUTER-DEALER (C)", "rrbroker": "`shared_queue.rrbroker`",
              "msgqueue": "`shared_queue.msgqueue`", "lbbroker": "`lbbroker.broker` (LRU)"}
    for kind in kinds:
        value = median(kind, "rate")
        print(f"| {labels[kind]} | {value:,.0f} | {value / raw:.0%} | "
              f"{median(kind, 'broker_us'):.0f} / {median(kind, 'worker_us'):.0f} / "
              f"{median(kind, 'client_us'):.0f} |")


def lb_by_workers(args: argparse.Namespace) -> None:
    """The LB broker gives a worker one request at a time, so its parallelism is its worker
    count, where the DEALER pipelines every request in flight to some worker."""
    counts = (8, 16, 32)
    samples: dict[tuple[str, int], list[float]] = {}
    for _ in range(args.rounds):
        for workers in counts:
            for kind in ("raw", "lbbroker"):
                samples.setdefault((kind, workers), []).append(
                    broker_throughput(kind, args, workers).rate)
    print(f"\n### Load-balancing broker vs raw by worker count ({args.clients} clients x "
          f"{args.window} in flight, median of {args.rounds})\n")
    print("| workers | raw req/s | LB req/s | LB of raw |")
    print("|---|---|---|---|")
    for workers in counts:
        raw = statistics.median(samples[("raw", workers)])
        lb = statistics.median(samples[("lbbroker", workers)])
        print(f"| {workers} | {raw:,.0f} | {lb:,.0f} | {lb / raw:.0%} |")


def async_by_window(args: argparse.Namespace) -> None:
    windows = (1, 2, 4, 8, 16, 32, 64)
    samples: dict[int, list[float]] = {w: [] for w in windows}
    for _ in range(args.rounds):
        for window in windows:
            front, back = free_endpoint(), free_endpoint()
            with system() as s:
                s.role("patterns.async_server.server", "--bind", front, "--bind", back,
                       "--threads", str(args.threads))
                time.sleep(SETTLE_S)
                drive(front, args.clients, 100, window)
                samples[window].append(drive(front, args.clients, args.requests // 2, window))
    print(f"\n### Async server: requests/s by requests in flight ({args.clients} clients, "
          f"server with {args.threads} worker threads, no work; median of {args.rounds})\n")
    print("| in flight per client | req/s |")
    print("|---|---|")
    for window in windows:
        print(f"| {window} | {statistics.median(samples[window]):,.0f} |")


def peering_run(clusters: int, args: argparse.Namespace) -> tuple[float, float]:
    """(requests/s, share served by other clusters' workers) with ``clusters`` brokers."""
    names = [f"c{i}" for i in range(1, clusters + 1)]
    ports = {n: [free_endpoint() for _ in range(4)] for n in names}
    counters = {n: mp.Value("l", 0, lock=False) for n in names}
    with system() as s:
        for name in names:
            peers = [p for p in names if p != name]
            argv = [x for ep in ports[name] for x in ("--bind", ep)]
            argv += [x for p in peers for x in ("--connect", ports[p][2])]
            argv += [x for p in peers for x in ("--connect-state", ports[p][3])]
            s.role("patterns.peering.broker", *argv, "--name", name, "--heartbeat-ms", "100")
            for _ in range(args.peer_workers):
                s.process(bench_worker, ports[name][1], True, args.work_ms / 1000.0,
                          counters[name])
        time.sleep(SETTLE_S * 2)  # state flows settle
        front = ports["c1"][0]
        drive(front, args.clients, 20, args.window)
        before = {n: counters[n].value for n in names}
        value = drive(front, args.clients, args.peer_requests, args.window)
        served = {n: counters[n].value - before[n] for n in names}
    total = sum(served.values()) or 1
    return value, 1.0 - served["c1"] / total


def peering_by_clusters(args: argparse.Namespace) -> None:
    samples: dict[int, list[tuple[float, float]]] = {c: [] for c in (1, 2, 3)}
    for _ in range(args.rounds):
        for clusters in (1, 2, 3):
            samples[clusters].append(peering_run(clusters, args))
    print(f"\n### Peering: requests/s by clusters (cluster 1 has the clients, {args.clients} "
          f"x {args.window} in flight; every cluster {args.peer_workers} workers of "
          f"{args.work_ms} ms; median of {args.rounds})\n")
    print("| clusters | req/s | vs 1 cluster | served by other clusters |")
    print("|---|---|---|---|")
    base = None
    for clusters in (1, 2, 3):
        value = statistics.median(v for v, _ in samples[clusters])
        cloud = statistics.median(c for _, c in samples[clusters])
        base = base or value
        print(f"| {clusters} | {value:,.0f} | {value / base:.2f}x | {cloud:.0%} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--window", type=int, default=16)
    p.add_argument("--workers", type=int, default=16)
    p.add_argument("--threads", type=int, default=5)
    p.add_argument("--peer-workers", type=int, default=4)
    p.add_argument("--work-ms", type=float, default=5.0, help="peering workers' work")
    p.add_argument("--peer-requests", type=int, default=500, help="per client, peering")
    p.add_argument("--requests", type=int, default=5000, help="per client")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--only", choices=["raw", "async", "peering"])
    args = p.parse_args()
    if args.only in (None, "raw"):
        brokers_vs_raw(args)
        lb_by_workers(args)
    if args.only in (None, "async"):
        async_by_window(args)
    if args.only in (None, "peering"):
        peering_by_clusters(args)


if __name__ == "__main__":
    main()
