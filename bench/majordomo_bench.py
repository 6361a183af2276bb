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
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zmq
from common import ROOT, free_port, rss_kib

from patterns.common.fastio import poll_in, recv_frames, send_frames
from patterns.majordomo import mdp

ECHO = b"echo"




# The same broker with its hot path on pyzmq's send_multipart/recv_multipart,
# i.e. what a straightforward implementation does; shows what fastio buys.
SUGAR_BROKER = """
import sys, zmq
import patterns.majordomo.broker as b
from patterns.common import role
b.send_frames = lambda s, f, noblock=True: s.send_multipart(f, zmq.NOBLOCK if noblock else 0)
b.send_prefixed = lambda s, head, f, start: s.send_multipart([*head, *f[start:]], zmq.NOBLOCK)
b.recv_frames = lambda s, noblock=True: s.recv_multipart(zmq.NOBLOCK if noblock else 0)
b.set_recv_timeout = lambda s, ms: s.setsockopt(zmq.RCVTIMEO, ms)
sys.argv[0] = "broker"
role.run_role(b.main)
"""


def start_broker(
    endpoint: str, heartbeat_ms: int = 2500, sugar: bool = False
) -> subprocess.Popen[bytes]:
    launcher = ["-c", SUGAR_BROKER] if sugar else ["-m", "patterns.majordomo.broker"]
    return subprocess.Popen(
        [
            sys.executable,
            *launcher,
            "--bind",
            endpoint,
            "--heartbeat-ms",
            str(heartbeat_ms),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop(proc: subprocess.Popen[bytes] | mp.process.BaseProcess) -> None:
    if isinstance(proc, subprocess.Popen):
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    else:
        proc.join(10)
        if proc.is_alive():
            proc.kill()
            proc.join()


def wait_for_service(endpoint: str, service: bytes, timeout: float = 10.0) -> None:
    """Ask mmi.service until the broker knows a worker for ``service``."""
    ctx = zmq.Context.instance()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = ctx.socket(zmq.DEALER)
        s.linger = 0
        s.connect(endpoint)
        s.send_multipart(mdp.client_request(mdp.MMI_SERVICE, [service]))
        if s.poll(500) and s.recv_multipart()[-1] == mdp.MMI_FOUND:
            s.close()
            return
        s.close()
        time.sleep(0.05)
    raise RuntimeError(f"no worker for {service!r} registered at {endpoint}")


# --- processes of the throughput run ---


def echo_worker(endpoint: str, speak_mdp: bool, stop_at: float, ready: mp.Queue) -> None:
    ctx = zmq.Context()
    s = ctx.socket(zmq.DEALER)
    s.linger = 0
    s.connect(endpoint)
    if speak_mdp:
        s.send_multipart(mdp.worker_ready(ECHO))
    ready.put(os.getpid())
    request, reply, header = mdp.W_REQUEST, mdp.W_REPLY, mdp.W_WORKER
    while time.time() < stop_at:
        if not poll_in(s, 100):
            continue
        while True:
            try:
                frames = recv_frames(s)
            except zmq.Again:
                break
            if not speak_mdp:
                send_frames(s, frames, noblock=False)
            elif len(frames) >= 6 and frames[2] == request:
                send_frames(s, [b"", header, reply, frames[3], b"", *frames[5:]], noblock=False)
    s.close()
    ctx.term()


def pipelined_client(
    endpoint: str,
    speak_mdp: bool,
    window: int,
    clock: Any,
    seconds: float,
    ready: mp.Queue,
    results: mp.Queue,
) -> None:
    """Keep ``window`` requests in flight; count replies in [start + 1 s, start + 1 s + seconds).

    ``clock`` (a shared double) is 0 until every process of the run is up;
    then it holds the common start time, so no client starts late.
    """
    ctx = zmq.Context()
    s = ctx.socket(zmq.DEALER)
    s.linger = 0
    s.connect(endpoint)
    prefix = [b"", mdp.C_CLIENT, ECHO] if speak_mdp else []
    ready.put(os.getpid())
    while clock.value == 0 or time.time() < clock.value:
        time.sleep(0.005)
    measure_from = clock.value + 1.0
    stop_at = measure_from + seconds
    for i in range(window):
        send_frames(s, [*prefix, b"%d" % i], noblock=False)
    counted = 0
    sent = window
    while True:
        now = time.time()
        if now >= stop_at:
            break
        if not poll_in(s, 100):
            continue
        while True:
            try:
                recv_frames(s)
            except zmq.Again:
                break
            if now >= measure_from:
                counted += 1
            sent += 1
            send_frames(s, [*prefix, b"%d" % sent], noblock=False)
    results.put(counted)
    s.close()
    ctx.term()


def api_worker(endpoint: str, ready: mp.Queue) -> None:
    """An echo worker on our ``MajordomoWorker`` API (what the ``majordomo.worker`` role runs)."""
    from patterns.majordomo.worker import MajordomoWorker

    worker = MajordomoWorker(endpoint, ECHO)
    ready.put(os.getpid())
    while True:  # killed at the end of the run
        body = worker.recv()
        if body is not None:
            worker.send(body)


def api_client(
    endpoint: str, window: int, clock: Any, seconds: float, ready: mp.Queue, results: mp.Queue
) -> None:
    """:func:`pipelined_client` on our ``MajordomoAsyncClient`` API (replies are validated)."""
    from patterns.majordomo.async_client import MajordomoAsyncClient

    client = MajordomoAsyncClient(endpoint)
    ready.put(os.getpid())
    while clock.value == 0 or time.time() < clock.value:
        time.sleep(0.005)
    measure_from = clock.value + 1.0
    stop_at = measure_from + seconds
    for i in range(window):
        client.send(ECHO, [b"%d" % i])
    counted = 0
    sent = window
    while time.time() < stop_at:
        if client.recv(100) is None:
            continue
        if time.time() >= measure_from:
            counted += 1
        sent += 1
        client.send(ECHO, [b"%d" % sent])
    results.put(counted)
    client.close()


def run_proxy(frontend: str, backend: str) -> None:
    ctx = zmq.Context()
    f = ctx.socket(zmq.ROUTER)
    b = ctx.socket(zmq.DEALER)
    f.bind(frontend)
    b.bind(backend)
    try:
        zmq.proxy(f, b)
    except zmq.ContextTerminated:
        pass


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    """One throughput run: replies per second, and CPU seconds per second of each role."""

    rate: float
    server_cpu: float | None  # the broker's (or proxy's) CPU share, in cores
    workers_cpu: float
    clients_cpu: float

    def per_request_us(self, cores: float | None) -> float:
        return (cores or 0.0) * 1e6 / self.rate if self.rate else 0.0


def wait_ready(ready: mp.Queue, count: int, timeout: float = 60.0) -> list[int]:
    deadline = time.monotonic() + timeout
    return [ready.get(timeout=max(0.1, deadline - time.monotonic())) for _ in range(count)]


def throughput(
    client_ep: str,
    worker_ep: str,
    speak_mdp: bool,
    clients: int,
    workers: int,
    window: int,
    seconds: float,
    server_pid: int | None = None,
    use_apis: bool = False,
) -> Run:
    """Replies per second summed over the clients, and each role's CPU meanwhile.

    Every worker and client process reports when its socket is connected
    (workers after sending READY); the clients start together only then, so
    both kinds of run measure the same number of live processes.
    """
    mpc = mp.get_context("spawn")
    results: mp.Queue = mpc.Queue()
    ready: mp.Queue = mpc.Queue()
    clock = mpc.Value("d", 0.0)
    procs = [
        mpc.Process(target=api_worker, args=(worker_ep, ready))
        if use_apis
        else mpc.Process(target=echo_worker, args=(worker_ep, speak_mdp, time.time() + 600, ready))
        for _ in range(workers)
    ]
    for p in procs:
        p.start()
    wait_ready(ready, workers)
    if speak_mdp:
        wait_for_service(client_ep, ECHO)
    cprocs = [
        mpc.Process(target=api_client, args=(client_ep, window, clock, seconds, ready, results))
        if use_apis
        else mpc.Process(
            target=pipelined_client,
            args=(client_ep, speak_mdp, window, clock, seconds, ready, results),
        )
        for _ in range(clients)
    ]
    for p in cprocs:
        p.start()
    wait_ready(ready, clients)
    time.sleep(0.3)  # READYs and connections settle before the clock starts
    start_at = time.time() + 0.2
    clock.value = start_at
    measure_from = start_at + 1.0
    stop_at = measure_from + seconds

    def cpu(pids: list[int]) -> float:
        return sum(cpu_seconds(pid) for pid in pids)

    worker_pids = [p.pid for p in procs if p.pid is not None]
    client_pids = [p.pid for p in cprocs if p.pid is not None]
    server_pids = [] if server_pid is None else [server_pid]
    time.sleep(max(0.0, measure_from - time.time()))
    before = cpu(server_pids), cpu(worker_pids), cpu(client_pids)
    time.sleep(max(0.0, stop_at - time.time()))
    after = cpu(server_pids), cpu(worker_pids), cpu(client_pids)
    used = [(a - b) / seconds for a, b in zip(after, before, strict=True)]
    total = sum(results.get(timeout=seconds + 60) for _ in cprocs)
    for p in cprocs:
        stop(p)
    for p in procs:
        p.kill()
        p.join()
    return Run(total / seconds, used[0] if server_pids else None, used[1], used[2])


# --- synchronous round trips ---


def rep_server(endpoint: str) -> None:
    ctx = zmq.Context()
    s = ctx.socket(zmq.REP)
    s.bind(endpoint)
    while True:
        s.send_multipart(s.recv_multipart())


def percentiles(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return (statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))])


def round_trips(send_recv: Callable[[int], None], count: int) -> list[float]:
    out = []
    for i in range(count):
        t = time.perf_counter()
        send_recv(i)
        out.append((time.perf_counter() - t) * 1e6)
    return out


def latency(count: int) -> dict[str, tuple[float, float]]:
    """p50/p99 (us) of round trips direct, via the C proxy and via our broker, interleaved."""
    mpc = mp.get_context("spawn")
    ctx = zmq.Context.instance()
    direct_ep, broker_ep = f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}"
    server = mpc.Process(target=rep_server, args=(direct_ep,), daemon=True)
    server.start()
    broker = start_broker(broker_ep)
    ready: mp.Queue = mpc.Queue()
    worker = mpc.Process(
        target=echo_worker, args=(broker_ep, True, time.time() + 600, ready), daemon=True
    )
    worker.start()
    front, back = f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}"
    proxy = mpc.Process(target=run_proxy, args=(front, back), daemon=True)
    proxy.start()
    proxy_worker = mpc.Process(
        target=echo_worker, args=(back, False, time.time() + 600, ready), daemon=True
    )
    proxy_worker.start()
    wait_ready(ready, 2)
    req = ctx.socket(zmq.REQ)
    req.linger = 0
    req.connect(direct_ep)
    proxied = ctx.socket(zmq.REQ)
    proxied.linger = 0
    proxied.connect(front)
    client = ctx.socket(zmq.DEALER)
    client.linger = 0
    client.connect(broker_ep)

    def direct(i: int) -> None:
        req.send(b"%d" % i)
        req.recv()

    def via_proxy(i: int) -> None:
        proxied.send(b"%d" % i)
        proxied.recv()

    def via_broker(i: int) -> None:
        send_frames(client, mdp.client_request(ECHO, [b"%d" % i]), noblock=False)
        recv_frames(client, noblock=False)

    paths = {"direct": direct, "proxy": via_proxy, "broker": via_broker}
    samples: dict[str, list[float]] = {name: [] for name in paths}
    try:
        wait_for_service(broker_ep, ECHO)
        for path in paths.values():  # warm-up
            round_trips(path, 50)
        # Alternate in short blocks so that all paths see the same background
        # load: on the shared machine it changes within seconds.
        block = 50
        for _ in range(max(1, count // block)):
            for name, path in paths.items():
                samples[name] += round_trips(path, block)
    finally:
        for sock in (req, proxied, client):
            sock.close()
        for proc in (server, worker, proxy, proxy_worker):
            proc.kill()
            proc.join()
        stop(broker)
    return {name: percentiles(values) for name, values in samples.items()}


# --- memory ---


def memory(idle_workers: int, services: int) -> tuple[int, int]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, idle_workers * 3 + 256))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    ep = f"tcp://127.0.0.1:{free_port()}"
    broker = start_broker(ep, heartbeat_ms=1000)
    ctx = zmq.Context()
    ctx.set(zmq.MAX_SOCKETS, idle_workers + 64)
    sockets = []
    try:
        time.sleep(0.5)  # broker bound and idle
        baseline = rss_kib(broker.pid)
        for i in range(idle_workers):
            s = ctx.socket(zmq.DEALER)
            s.linger = 0
            s.rcvhwm = 10  # heartbeats pile up unread: keep the queues tiny
            s.connect(ep)
            s.send_multipart(mdp.worker_ready(b"svc-%d" % (i % services)))
            sockets.append(s)
        for i in range(services):
            wait_for_service(ep, b"svc-%d" % i)
        for s in sockets:  # stay alive through the measurement
            s.send_multipart(mdp.worker_heartbeat())
        time.sleep(0.5)
        loaded = rss_kib(broker.pid)
    finally:
        for s in sockets:
            s.close()
        ctx.term()
        stop(broker)
    return baseline, loaded


def median_run(runs: list[Run]) -> Run:
    """Field-wise medians over the rounds of one kind of run."""
    servers = [r.server_cpu for r in runs if r.server_cpu is not None]
    return Run(
        statistics.median(r.rate for r in runs),
        statistics.median(servers) if servers else None,
        statistics.median(r.workers_cpu for r in runs),
        statistics.median(r.clients_cpu for r in runs),
    )


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
            front, back = f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}"
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
        ep = f"tcp://127.0.0.1:{free_port()}"
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
