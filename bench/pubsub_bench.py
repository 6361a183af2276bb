"""Pub-sub throughput: our publisher -> (our proxy) -> our subscriber vs raw pyzmq loops.

Four paths, measured in one run, alternating, ``--rounds`` times each:

1. raw direct: a minimal PUB loop (``send_multipart`` of a topic and a
   payload) -> a minimal SUB loop (``recv_multipart``);
2. raw proxy: the same loops through ``zmq.proxy`` on XSUB/XPUB;
3. ours direct: ``patterns.pubsub`` Publisher (envelopes, per-topic sequence
   numbers, the role's send path) -> Subscriber (decoding every envelope, the
   role's receive path);
4. ours proxy: the same through our ``XProxy`` (``pubsub.proxy``);

plus ours proxy with tracing on (every publish and delivery written to a
trace file, as under the harness), to show what the history costs.

Each path is three processes (publisher, proxy when there is one, and the
subscriber, which measures): before sending, the publisher beacons HELLO
until the subscriber has one (so nobody measures the slow joiner), then
sends ``--messages`` messages of ``--size`` bytes and END. HWMs are 0 (no
limit) on every socket, so nothing is dropped: the figure is messages per
second delivered end to end, first to last. The target (issue 13): our
proxy path at least 50 % of the raw proxy path.

    .venv/bin/python bench/pubsub_bench.py --messages 200000 --rounds 3
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

import zmq
from common import free_endpoint

from patterns.common.streams import SocketLimits
from patterns.pubsub import envelope
from patterns.pubsub.proxy import XProxy
from patterns.pubsub.publisher import Publisher
from patterns.pubsub.subscriber import DELIVERED, ENDED, Subscriber

TOPICS = [b"10001", b"10002", b"10003"]
UNLIMITED = SocketLimits(hwm=0)


def _beacon_until(sock: zmq.Socket, ready: EventType) -> None:
    while not ready.is_set():
        sock.send(envelope.HELLO)
        ready.wait(0.01)


def raw_publisher(bind: str, count: int, size: int, ready: EventType) -> None:
    ctx = zmq.Context()
    sock = ctx.socket(zmq.PUB)
    sock.sndhwm = 0
    sock.bind(bind)
    _beacon_until(sock, ready)
    payload = b"x" * size
    for i in range(count):
        sock.send_multipart([TOPICS[i % 3], payload])
    for _ in range(50):
        sock.send(envelope.END)
        time.sleep(0.01)
    sock.close(linger=0)
    ctx.term()


def our_publisher(bind: str, count: int, size: int, ready: EventType, trace: str) -> None:
    if trace:
        os.environ.update(ZCHAOS_TRACE=trace, ZCHAOS_NODE="pub", ZCHAOS_T0="0")
    ctx = zmq.Context()
    pub = Publisher([bind], topics=TOPICS, publisher_id=b"pub", epoch=0, limits=UNLIMITED,
                    size=size,
                    context=ctx)
    _beacon_until(pub.socket, ready)
    for _ in range(count):
        pub.publish_next()
    for _ in range(50):
        pub.end()
        time.sleep(0.01)
    pub.close()
    ctx.term()


def raw_proxy(publisher: str, backend: str) -> None:
    ctx = zmq.Context()
    xsub, xpub = ctx.socket(zmq.XSUB), ctx.socket(zmq.XPUB)
    for sock in (xsub, xpub):
        sock.sndhwm = sock.rcvhwm = 0
    xpub.bind(backend)
    xsub.connect(publisher)
    zmq.proxy(xsub, xpub)


def our_proxy(publisher: str, backend: str) -> None:
    XProxy([publisher], backend, limits=UNLIMITED, context=zmq.Context()).run()


def measure_raw(connect: str, ready: EventType) -> tuple[int, float]:
    ctx = zmq.Context()
    sock = ctx.socket(zmq.SUB)
    sock.rcvhwm = 0
    sock.setsockopt(zmq.SUBSCRIBE, b"")
    sock.connect(connect)
    count, first, last = 0, 0.0, 0.0
    while True:
        frames = sock.recv_multipart()
        if len(frames) == 1:
            if frames[0] == envelope.END:
                break
            ready.set()  # HELLO
            continue
        last = time.perf_counter()
        if count == 0:
            first = last
        count += 1
    sock.close(linger=0)
    ctx.term()
    return count, last - first


def measure_ours(connect: str, ready: EventType) -> tuple[int, float]:
    ctx = zmq.Context()
    sub = Subscriber([connect], topics=[b""], limits=UNLIMITED, context=ctx)
    count, first, last = 0, 0.0, 0.0
    while True:
        outcome = sub.receive(1000)
        if outcome == ENDED:
            break
        if outcome != DELIVERED:
            ready.set()  # HELLO (or nothing yet)
            continue
        last = time.perf_counter()
        if count == 0:
            first = last
        count += 1
    sub.close()
    ctx.term()
    return count, last - first


def run_path(path: str, count: int, size: int, trace_dir: str) -> float:
    """Messages per second delivered on ``path``."""
    spawn = mp.get_context("spawn")
    ready = spawn.Event()
    pub_ep, proxy_ep = free_endpoint(), free_endpoint()
    ours = path.startswith("ours")
    trace = ""
    if path == "ours proxy traced":
        trace = str(Path(trace_dir) / "pub.jsonl")
        os.environ.update(ZCHAOS_TRACE=str(Path(trace_dir) / "sub.jsonl"), ZCHAOS_NODE="sub",
                          ZCHAOS_T0="0")
    procs = []
    if ours:
        procs.append(spawn.Process(target=our_publisher, args=(pub_ep, count, size, ready, trace)))
    else:
        procs.append(spawn.Process(target=raw_publisher, args=(pub_ep, count, size, ready)))
    via = "proxy" in path
    if via:
        proxy = our_proxy if ours else raw_proxy
        procs.append(spawn.Process(target=proxy, args=(pub_ep, proxy_ep), daemon=True))
    for proc in procs:
        proc.start()
    try:
        measure = measure_ours if ours else measure_raw
        got, seconds = measure(proxy_ep if via else pub_ep, ready)
    finally:
        os.environ.pop("ZCHAOS_TRACE", None)
        procs[0].join(timeout=30)
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
    if got != count:
        print(f"  note: {path} delivered {got} of {count}", file=sys.stderr)
    return got / seconds if seconds > 0 else 0.0


PATHS = ["raw direct", "raw proxy", "ours direct", "ours proxy", "ours proxy traced"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=200_000)
    p.add_argument("--size", type=int, default=32, help="payload bytes per message")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    rates: dict[str, list[float]] = {path: [] for path in PATHS}
    with tempfile.TemporaryDirectory(prefix="pubsub-bench-") as trace_dir:
        for _ in range(args.rounds):
            for path in PATHS:
                rates[path].append(run_path(path, args.messages, args.size, trace_dir))
                for name in ("pub.jsonl", "sub.jsonl"):
                    (Path(trace_dir) / name).unlink(missing_ok=True)
    median = {path: statistics.median(values) for path, values in rates.items()}
    print(f"{args.messages} messages of {args.size} bytes, 3 topics, HWM unlimited; "
          f"median of {args.rounds} rounds (msg/s)\n")
    print("| path | msg/s | vs raw proxy |")
    print("|---|---|---|")
    for path in PATHS:
        print(f"| {path} | {median[path]:,.0f} | {median[path] / median['raw proxy']:.0%} |")
    ratio = median["ours proxy"] / median["raw proxy"]
    print(f"\nours proxy / raw proxy: {ratio:.0%} (target >= 50 %: "
          f"{'met' if ratio >= 0.5 else 'NOT met'})")
    per_round = [f"{o / r:.0%}" for o, r in zip(rates["ours proxy"], rates["raw proxy"],
                                                  strict=True)]
    print(f"per round: {', '.join(per_round)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
