"""Measurements for bench/majordomo_bench.py: throughput, round trips, memory.

Each function sets up the load of :mod:`majordomo_load` for one kind of run,
measures it, and tears it down; the ratios in the table only compare runs
taken by these same functions in one invocation.
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import zmq
from common import cpu_seconds, free_endpoint, percentile, rss_kib, stop
from majordomo_load import (
    ECHO,
    api_client,
    api_worker,
    echo_worker,
    pipelined_client,
    rep_server,
    run_proxy,
    start_broker,
    wait_for_service,
    wait_ready,
)

from patterns.common.fastio import recv_frames, send_frames
from patterns.majordomo import mdp


@dataclass
class Run:
    """One throughput run: replies per second, and CPU seconds per second of each role."""

    rate: float
    server_cpu: float | None  # the broker's (or proxy's) CPU share, in cores
    workers_cpu: float
    clients_cpu: float

    def per_request_us(self, cores: float | None) -> float:
        return (cores or 0.0) * 1e6 / self.rate if self.rate else 0.0


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


def percentiles(samples: list[float]) -> tuple[float, float]:
    """(p50, p99) of round-trip samples."""
    return percentile(samples, 50), percentile(samples, 99)


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
    direct_ep, broker_ep = free_endpoint(), free_endpoint()
    server = mpc.Process(target=rep_server, args=(direct_ep,), daemon=True)
    server.start()
    broker = start_broker(broker_ep)
    ready: mp.Queue = mpc.Queue()
    worker = mpc.Process(
        target=echo_worker, args=(broker_ep, True, time.time() + 600, ready), daemon=True
    )
    worker.start()
    front, back = free_endpoint(), free_endpoint()
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


def memory(idle_workers: int, services: int) -> tuple[int, int]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, idle_workers * 3 + 256))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    ep = free_endpoint()
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
