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
   does) so the broker is what differs.
2. **Synchronous round trip.** One request at a time, p50/p99 over
   ``--round-trips`` requests: client -> broker -> MDP worker and back, against
   a direct REQ -> REP round trip between two processes.
3. **Broker memory.** RSS of the broker process after ``--idle-workers``
   DEALER workers (one process, one context) registered across
   ``--services`` services, against its RSS right after binding.

Run: ``.venv/bin/python bench/majordomo_bench.py`` (about 30 s).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import zmq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from patterns.majordomo import mdp  # noqa: E402
from patterns.majordomo.fastio import poll_in, recv_frames, send_frames  # noqa: E402

ECHO = b"echo"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# The same broker with its hot path on pyzmq's send_multipart/recv_multipart/poll,
# i.e. what a straightforward implementation does; shows what fastio buys.
SUGAR_BROKER = """
import sys, zmq
import patterns.majordomo.broker as b
from patterns.common import role
b.send_frames = lambda s, f, noblock=True: s.send_multipart(f, zmq.NOBLOCK if noblock else 0)
b.recv_frames = lambda s, noblock=True: s.recv_multipart(zmq.NOBLOCK if noblock else 0)
b.poll_in = lambda s, t: bool(s.poll(t, zmq.POLLIN))
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


def echo_worker(endpoint: str, speak_mdp: bool, stop_at: float) -> None:
    ctx = zmq.Context()
    s = ctx.socket(zmq.DEALER)
    s.linger = 0
    s.connect(endpoint)
    if speak_mdp:
        s.send_multipart(mdp.worker_ready(ECHO))
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
    start_at: float,
    measure_from: float,
    stop_at: float,
    results: mp.Queue,
) -> None:
    ctx = zmq.Context()
    s = ctx.socket(zmq.DEALER)
    s.linger = 0
    s.connect(endpoint)
    prefix = [b"", mdp.C_CLIENT, ECHO] if speak_mdp else []
    while time.time() < start_at:
        time.sleep(0.01)
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


def throughput(
    client_ep: str,
    worker_ep: str,
    speak_mdp: bool,
    clients: int,
    workers: int,
    window: int,
    seconds: float,
    server_pid: int | None = None,
) -> tuple[float, float | None]:
    """Replies per second summed over the clients, and the server's CPU share meanwhile."""
    mpc = mp.get_context("spawn")
    results: mp.Queue = mpc.Queue()
    start_at = time.time() + 60  # replaced below once workers are up
    stop_at = start_at + 60
    procs = [
        mpc.Process(target=echo_worker, args=(worker_ep, speak_mdp, time.time() + 600))
        for _ in range(workers)
    ]
    for p in procs:
        p.start()
    if speak_mdp:
        wait_for_service(client_ep, ECHO)
    time.sleep(1.0)  # let the spawned interpreters finish importing before the clock starts
    start_at = time.time() + 0.5
    measure_from = start_at + 1.0
    stop_at = measure_from + seconds
    cprocs = [
        mpc.Process(
            target=pipelined_client,
            args=(client_ep, speak_mdp, window, start_at, measure_from, stop_at, results),
        )
        for _ in range(clients)
    ]
    for p in cprocs:
        p.start()
    busy = None
    if server_pid is not None:
        time.sleep(max(0.0, measure_from - time.time()))
        cpu_start = cpu_seconds(server_pid)
        time.sleep(max(0.0, stop_at - time.time()))
        busy = (cpu_seconds(server_pid) - cpu_start) / seconds
    total = sum(results.get(timeout=seconds + 60) for _ in cprocs)
    for p in cprocs:
        stop(p)
    for p in procs:
        p.kill()
        p.join()
    return total / seconds, busy


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
    for i in range(min(50, count)):  # warm-up
        send_recv(i)
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
    worker = mpc.Process(target=echo_worker, args=(broker_ep, True, time.time() + 600), daemon=True)
    worker.start()
    front, back = f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}"
    proxy = mpc.Process(target=run_proxy, args=(front, back), daemon=True)
    proxy.start()
    proxy_worker = mpc.Process(
        target=echo_worker, args=(back, False, time.time() + 600), daemon=True
    )
    proxy_worker.start()
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
        block = max(1, count // 6)
        for _ in range(6):  # alternate so all paths see the same background load
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
    args = p.parse_args()
    os.chdir(ROOT)

    def measure(kind: str) -> tuple[float, float | None]:
        if kind == "proxy":
            front, back = f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}"
            proxy = mp.get_context("spawn").Process(
                target=run_proxy, args=(front, back), daemon=True
            )
            proxy.start()
            try:
                return throughput(
                    front, back, False, args.clients, args.workers, args.window, args.seconds
                )
            finally:
                proxy.kill()
                proxy.join()
        workers = args.many_workers if kind == "many" else args.workers
        ep = f"tcp://127.0.0.1:{free_port()}"
        broker = start_broker(ep, sugar=kind == "sugar")  # a fresh broker for each run
        try:
            return throughput(
                ep, ep, True, args.clients, workers, args.window, args.seconds, broker.pid
            )
        finally:
            stop(broker)

    # Interleaved rounds, medians: other processes on the machine come and go.
    samples: dict[str, list[tuple[float, float | None]]] = {}
    for _ in range(args.repeats):
        for kind in ("ours", "proxy", "sugar", "many"):
            samples.setdefault(kind, []).append(measure(kind))

    def median_of(kind: str) -> tuple[float, float]:
        rates = [r for r, _ in samples[kind]]
        cpus = [c for _, c in samples[kind] if c is not None]
        return statistics.median(rates), statistics.median(cpus) if cpus else 0.0

    (mdp_rate, mdp_cpu), (many_rate, many_cpu) = median_of("ours"), median_of("many")
    (sugar_rate, sugar_cpu), (raw_rate, _) = median_of("sugar"), median_of("proxy")
    spread = {k: [round(r) for r, _ in v] for k, v in samples.items()}
    trips = latency(args.round_trips)
    (d50, d99), (p50, p99), (b50, b99) = trips["direct"], trips["proxy"], trips["broker"]
    base, loaded = memory(args.idle_workers, args.services)

    load = f"{args.clients} clients x {args.window} in flight, {args.workers} workers"
    print("| measurement | ours | reference | ratio |")
    print("|---|---|---|---|")
    print(
        f"| echo throughput, {load} (req/s) | {mdp_rate:,.0f} (MDP broker) | "
        f"{raw_rate:,.0f} (C zmq.proxy ROUTER-DEALER) | {mdp_rate / raw_rate:.0%} |"
    )
    print(
        f"| same with {args.many_workers} workers (req/s) | {many_rate:,.0f} (MDP broker) | "
        f"{raw_rate:,.0f} (proxy, {args.workers} workers) | {many_rate / raw_rate:.0%} |"
    )
    print(
        f"| same broker on pyzmq send/recv_multipart (req/s) | {sugar_rate:,.0f} | "
        f"{raw_rate:,.0f} (proxy) | {sugar_rate / raw_rate:.0%}; "
        f"{sugar_cpu * 1e6 / sugar_rate:.0f} us CPU per request |"
    )
    print(
        f"| broker CPU while measuring, {args.workers} / {args.many_workers} workers | "
        f"{mdp_cpu:.0%} / {many_cpu:.0%} of one core | | "
        f"{mdp_cpu * 1e6 / mdp_rate:.0f} / {many_cpu * 1e6 / many_rate:.0f} us CPU per request |"
    )
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
    print(
        f"| broker RSS, {args.idle_workers} workers / {args.services} services (MiB) | "
        f"{loaded / 1024:.1f} | {base / 1024:.1f} (idle broker) | "
        f"+{(loaded - base) / args.idle_workers:.1f} KiB/worker |"
    )
    print()
    print(f"Throughput of each round (req/s): {spread}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
