"""Freelance model 2 traces what it received, so a wrong reply can be caught (issue 9, item 7).

Every model 2 reply says "OK"; only its sequence frame tells one request's
reply from another's. The client therefore expects ``seq|OK`` and traces
the frames it accepted, and ``replies_match_requests`` can flag a client
that takes another request's reply.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.checkers import run_contract
from harness.checkers.base import CheckContext
from patterns.freelance.client2 import op_sequence
from tests.patterns.procs import Procs, free_ports, wait_for


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Procs]:
    with Procs(tmp_path) as p:
        yield p


def test_op_sequence_is_the_number_after_the_last_colon() -> None:
    assert op_sequence("client:17") == 17
    assert op_sequence("client-1.2:3") == 3


def test_client2_traces_the_sequence_it_received_and_the_checker_uses_it(procs: Procs) -> None:
    (port,) = free_ports(1)
    endpoint = f"tcp://127.0.0.1:{port}"
    server = procs.spawn("server", ["-m", "patterns.freelance.server2", "--bind", endpoint])
    client = procs.spawn("client", ["-m", "patterns.freelance.client2", "--connect", endpoint,
                                    "--requests", "5", "--timeout-ms", "2000"])
    wait_for(lambda: len(procs.events("client", "ok")) == 5, what="five replies")
    assert client.wait(timeout=10) == 0
    server.terminate()
    server.wait(timeout=10)
    invokes = procs.events("client", "invoke")
    oks = procs.events("client", "ok")
    assert [e["expect"] for e in invokes] == [f"{n}|OK" for n in range(1, 6)]
    assert [e["reply"] for e in oks] == [f"{n}|OK" for n in range(1, 6)]
    history = sorted(procs.events(), key=lambda e: e["t"])
    good = run_contract("replies_match_requests", {}, history, CheckContext(nodes={}))
    assert good.verdict == "ok" and good.figures["matched"] == 5
    # the same run, had the client accepted request 4's reply for request 5
    swapped = [dict(e, reply="4|OK") if e["type"] == "ok" and e["op"] == oks[-1]["op"] else e
               for e in history]
    bad = run_contract("replies_match_requests", {}, swapped, CheckContext(nodes={}))
    assert bad.verdict == "violated"
