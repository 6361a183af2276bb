"""Property: toxics that do not drop data never lose, duplicate or reorder a byte.

Random bytes stream through an echo upstream while random non-dropping toxics
are added, updated and removed on both streams mid-stream; everything sent
must come back, in order, followed by a clean end of stream.
"""

from __future__ import annotations

import itertools
import os
import socket
import threading
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tpx_support import recv_until_eof

_names = itertools.count()

STREAMS = st.sampled_from(["upstream", "downstream"])
TOXICS = st.one_of(
    st.tuples(
        st.just("latency"),
        st.fixed_dictionaries({"latency": st.integers(0, 20), "jitter": st.integers(0, 5)}),
    ),
    st.tuples(st.just("bandwidth"), st.fixed_dictionaries({"rate": st.integers(3000, 30000)})),
    st.tuples(
        st.just("slicer"),
        st.fixed_dictionaries(
            {
                "average_size": st.integers(1, 2000),
                "size_variation": st.integers(0, 100),
                "delay": st.integers(0, 100),
            }
        ),
    ),
    st.tuples(st.just("slow_close"), st.fixed_dictionaries({"delay": st.integers(0, 30)})),
    st.tuples(st.just("limit_data"), st.fixed_dictionaries({"bytes": st.just(10**9)})),
)
UPDATES = {
    "latency": lambda v: {"latency": v},
    "bandwidth": lambda v: {"rate": 3000 + 1000 * v},
    "slicer": lambda v: {"average_size": 1 + 100 * v},
    "slow_close": lambda v: {"delay": v},
    "limit_data": lambda v: {"bytes": 10**9 + v},
}
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("add"), TOXICS, STREAMS),
        st.tuples(st.just("remove"), st.integers(0, 10)),
        st.tuples(st.just("update"), st.integers(0, 10), st.integers(0, 15)),
    ),
    min_size=1,
    max_size=8,
)


#: Examples per loop; raise it for a one-off hard run, e.g. ``TPX_INTEGRITY_EXAMPLES=300``.
EXAMPLES = int(os.environ.get("TPX_INTEGRITY_EXAMPLES", "12"))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    sizes=st.lists(st.integers(1, 40_000), min_size=1, max_size=12),
    ops=OPS,
    initial=st.lists(st.tuples(TOXICS, STREAMS), max_size=2),
)
def test_stream_survives_live_toxic_changes(api, echo, sizes, ops, initial):
    name = f"prop{next(_names)}"
    host, port = api.create_proxy(name, echo.address)
    live: list[str] = []
    types: dict[str, str] = {}

    def add(toxic, stream) -> None:
        (type_, attrs) = toxic
        tname = f"t{next(_names)}"
        resp = api.post(
            f"/proxies/{name}/toxics",
            json={"name": tname, "type": type_, "stream": stream, "attributes": attrs},
        )
        assert resp.status_code == 200, resp.text
        live.append(tname)
        types[tname] = type_

    for toxic, stream in initial:
        add(toxic, stream)

    payload = os.urandom(sum(sizes))
    sock = socket.create_connection((host, port), timeout=10)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(recv_until_eof(sock, timeout=20)))
    reader.start()
    try:
        step = max(1, len(sizes) // len(ops))
        pending = list(ops)
        offset = 0
        for i, size in enumerate(sizes):
            sock.sendall(payload[offset : offset + size])
            offset += size
            if i % step == 0 and pending:
                op = pending.pop(0)
                if op[0] == "add":
                    add(op[1], op[2])
                elif op[0] == "remove" and live:
                    tname = live.pop(op[1] % len(live))
                    assert api.delete(f"/proxies/{name}/toxics/{tname}").status_code == 204
                elif op[0] == "update" and live:
                    tname = live[op[1] % len(live)]
                    change = UPDATES[types[tname]](op[2])
                    resp = api.post(f"/proxies/{name}/toxics/{tname}", json={"attributes": change})
                    assert resp.status_code == 200
            time.sleep(0.002)
        for op in pending:  # the rest, after the data, before the end of stream
            if op[0] == "add":
                add(op[1], op[2])
        sock.shutdown(socket.SHUT_WR)
        reader.join(30)
        assert not reader.is_alive()
        assert received and received[0] == payload
    finally:
        sock.close()
        api.delete(f"/proxies/{name}")


def test_many_connections_while_toxics_flip(api, echo):
    """Ten streams at once, toxics added and removed on both streams meanwhile."""
    host, port = api.create_proxy("flip", echo.address)
    payloads = [os.urandom(150_000 + i * 1000) for i in range(10)]
    socks = [socket.create_connection((host, port), timeout=20) for _ in payloads]
    results: dict[int, bytes] = {}

    def run(i: int) -> None:
        sock = socks[i]
        reader = threading.Thread(target=lambda: results.__setitem__(i, recv_until_eof(sock, 30)))
        reader.start()
        for off in range(0, len(payloads[i]), 10_000):
            sock.sendall(payloads[i][off : off + 10_000])
            time.sleep(0.001)
        sock.shutdown(socket.SHUT_WR)
        reader.join(40)

    writers = [threading.Thread(target=run, args=(i,)) for i in range(len(socks))]
    try:
        for w in writers:
            w.start()
        toxics = [
            ("latency", {"latency": 5, "jitter": 2}),
            ("slicer", {"average_size": 500, "size_variation": 100, "delay": 10}),
            ("bandwidth", {"rate": 20_000}),
        ]
        for round_ in range(6):
            for type_, attrs in toxics:
                stream = "upstream" if round_ % 2 else "downstream"
                body = {"name": f"{type_}{round_}", "type": type_, "stream": stream}
                body["attributes"] = attrs
                assert api.post("/proxies/flip/toxics", json=body).status_code == 200
            time.sleep(0.02)
            for type_, _ in toxics:
                assert api.delete(f"/proxies/flip/toxics/{type_}{round_}").status_code == 204
        for w in writers:
            w.join(60)
        assert [results.get(i) == payloads[i] for i in range(len(payloads))] == [True] * 10
    finally:
        for sock in socks:
            sock.close()
