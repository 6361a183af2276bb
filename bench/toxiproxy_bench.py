"""Benchmark the embedded Toxiproxy against a direct connection, in one run.

Measures, with no toxic:

* round-trip latency of 100-byte ping-pong (p50, p99), direct vs proxied;
* bulk throughput (MB/s) of a one-way stream, direct vs proxied;
* memory per idle proxied connection (RSS growth of the server process over
  N idle connections, divided by N).

The proxy server and the upstream (echo, sink and idle servers on asyncio)
each run in their own process, as in a real run; the client is this process.
Prints a Markdown table.

    python bench/toxiproxy_bench.py [--pings 5000] [--bulk-mb 64] [--idle 500]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time

from common import percentile, rss_kib

from harness.toxiproxy.client import ToxiproxyHandle, start_toxiproxy

MSG = 100
BULK_BLOCK = 256 * 1024


# --------------------------------------------------------------------- upstream
class _Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)  # type: ignore[attr-defined]


class _Sink(asyncio.Protocol):
    """Counts bytes; on EOF answers with the count and closes."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.count = 0

    def data_received(self, data: bytes) -> None:
        self.count += len(data)

    def eof_received(self) -> bool:
        self.transport.write(f"{self.count}\n".encode())  # type: ignore[attr-defined]
        self.transport.close()
        return True


async def _upstreams() -> None:
    loop = asyncio.get_running_loop()
    echo = await loop.create_server(_Echo, "127.0.0.1", 0)
    sink = await loop.create_server(_Sink, "127.0.0.1", 0)
    ports = [s.sockets[0].getsockname()[1] for s in (echo, sink)]
    print(*ports, flush=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()


def start_upstreams() -> tuple[subprocess.Popen[str], int, int]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--upstreams"], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    echo_port, sink_port = (int(p) for p in proc.stdout.readline().split())
    return proc, echo_port, sink_port


# --------------------------------------------------------------------- measures
def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def ping_pong(port: int, count: int) -> list[float]:
    """Round-trip times in microseconds."""
    payload = b"x" * MSG
    out: list[float] = []
    with connect(port) as sock:
        for i in range(count + 100):
            t0 = time.perf_counter_ns()
            sock.sendall(payload)
            got = 0
            while got < MSG:
                got += len(sock.recv(MSG - got))
            if i >= 100:  # warm-up
                out.append((time.perf_counter_ns() - t0) / 1000)
    return out


def bulk(port: int, megabytes: int) -> float:
    """MB/s of a one-way stream, until the sink confirms every byte."""
    block = os.urandom(BULK_BLOCK)
    total = megabytes * 1024 * 1024
    with connect(port) as sock:
        t0 = time.perf_counter()
        sent = 0
        while sent < total:
            sock.sendall(block)
            sent += len(block)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = sock.recv(64)
            if not chunk:
                break
            answer += chunk
        elapsed = time.perf_counter() - t0
    assert int(answer) == sent, (answer, sent)
    return sent / elapsed / 1e6



def idle_memory(tp: ToxiproxyHandle, port: int, count: int) -> float:
    """KiB of server RSS per idle proxied connection."""
    assert tp.pid is not None
    warm = [connect(port) for _ in range(20)]  # let allocator pools settle
    for s in warm:
        s.sendall(b"x")
        s.recv(1)
    time.sleep(0.3)
    before = rss_kib(tp.pid)
    socks = []
    try:
        for _ in range(count):
            s = connect(port)
            socks.append(s)
        for s in socks:  # every connection is established end to end
            s.sendall(b"x")
            s.recv(1)
        time.sleep(0.3)
        after = rss_kib(tp.pid)
    finally:
        for s in socks + warm:
            s.close()
    return (after - before) / count


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pings", type=int, default=5000)
    p.add_argument("--bulk-mb", type=int, default=64)
    p.add_argument("--idle", type=int, default=500)
    p.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto")
    p.add_argument("--upstreams", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.upstreams:
        asyncio.run(_upstreams())
        return 0

    up, echo_port, sink_port = start_upstreams()
    tp = start_toxiproxy(loop=args.loop)
    try:
        echo_px = int(tp.create_proxy("echo", f"127.0.0.1:{echo_port}").rsplit(":", 1)[1])
        sink_px = int(tp.create_proxy("sink", f"127.0.0.1:{sink_port}").rsplit(":", 1)[1])
        # interleaved rounds, so that load from elsewhere hits both sides alike
        direct_rtt: list[float] = []
        proxied_rtt: list[float] = []
        rounds = 5
        for _ in range(rounds):
            direct_rtt += ping_pong(echo_port, args.pings // rounds)
            proxied_rtt += ping_pong(echo_px, args.pings // rounds)
        direct_bw = proxied_bw = 0.0
        for _ in range(2):
            direct_bw = max(direct_bw, bulk(sink_port, args.bulk_mb))
            proxied_bw = max(proxied_bw, bulk(sink_px, args.bulk_mb))
        per_conn = idle_memory(tp, echo_px, args.idle)
    finally:
        tp.close()
        up.terminate()
        up.wait(10)

    d50, d99 = percentile(direct_rtt, 50), percentile(direct_rtt, 99)
    p50, p99 = percentile(proxied_rtt, 50), percentile(proxied_rtt, 99)
    print("| measure | direct | proxied | ratio | target |")
    print("|---|---|---|---|---|")
    print(f"| round trip p50 (µs, {MSG} B) | {d50:.0f} | {p50:.0f} | {p50 / d50:.2f}x | ≤ 2.5x |")
    print(f"| round trip p99 (µs, {MSG} B) | {d99:.0f} | {p99:.0f} | {p99 / d99:.2f}x | ≤ 3x |")
    print(
        f"| bulk throughput (MB/s) | {direct_bw:.0f} | {proxied_bw:.0f} "
        f"| {100 * proxied_bw / direct_bw:.0f} % | ≥ 15 % |"
    )
    print(f"| memory per idle connection (KiB) | - | {per_conn:.1f} | - | - |")
    print(
        f"\n{args.pings} pings, {args.bulk_mb} MB bulk (best of 2), {args.idle} idle connections; "
        f"server loop {args.loop}; Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
