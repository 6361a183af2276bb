"""The Guide's own Python examples interoperate with our chapter 3 brokers and roles.

Each test copies an example out of the Guide snapshot into a temporary
directory (skipped when the snapshot is absent, as in CI) and runs it as
the Guide wrote it; only its fixed TCP ports are rewritten to free ones so
that parallel runs never collide (the ``ipc://`` examples run unchanged in
the temporary directory, which is where their relative paths then point).

Where the wire format is theirs and ours alike, the exchange must work both
ways. Where it cannot, docs/shared_queue.md, docs/lbbroker.md,
docs/async_server.md and docs/peering.md say why.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.patterns.procs import free_endpoint, kill_groups, read_events, wait_until

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
GUIDE = Path(os.environ.get("ZGUIDE_REPO", "/work/.mirror/booksbyus+zguide/repo"))


def guide_example(name: str) -> str:
    """The text of ``examples/Python/<name>.py`` from the snapshot, or skip the test."""
    if not GUIDE.exists():
        pytest.skip(f"no Guide snapshot at {GUIDE}")
    proc = subprocess.run(["git", "-C", str(GUIDE), "show", f"HEAD:examples/Python/{name}.py"],
                          capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        pytest.skip(f"{name}.py is not in the Guide snapshot")
    return proc.stdout


def port_of(endpoint: str) -> str:
    return endpoint.rsplit(":", 1)[1]


class Runner:
    """Starts programs in their own sessions, in one directory, and kills what is left."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.trace = tmp / "trace.jsonl"
        self.procs: list[subprocess.Popen] = []

    def example(self, name: str, text: str, ports: dict[str, str] | None = None) -> Path:
        """Write the example into the directory, with ``ports`` (old -> new) rewritten."""
        for old, new in (ports or {}).items():
            text = re.sub(rf"(tcp://[^:'\"]+:){old}\b", rf"\g<1>{new}", text)
        path = self.tmp / f"{name}.py"
        path.write_text(text)
        return path

    def start(self, node: str, argv: list[str]) -> subprocess.Popen:
        env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{self.tmp}",
                   ZCHAOS_TRACE=str(self.trace), ZCHAOS_NODE=node, PYTHONUNBUFFERED="1")
        out = (self.tmp / f"{node}.out").open("ab")
        proc = subprocess.Popen([sys.executable, *argv], cwd=self.tmp, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def output(self, node: str) -> str:
        path = self.tmp / f"{node}.out"
        return path.read_text(errors="replace") if path.exists() else ""

    def events(self, node: str | None = None, kind: str | None = None) -> list[dict]:
        return [e for e in read_events(self.trace) if (node is None or e["node"] == node)
                and (kind is None or e["type"] == kind)]


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Runner]:
    runner = Runner(tmp_path)
    try:
        yield runner
    finally:
        kill_groups(runner.procs)


def lazy_client(run: Runner, node: str, endpoint: str, requests: int = 5,
                timeout_ms: int = 2000, retries: int = 5) -> subprocess.Popen:
    return run.start(node, ["-m", "patterns.lazy_pirate.client", "--connect", endpoint,
                            "--requests", str(requests), "--timeout-ms", str(timeout_ms),
                            "--retries", str(retries)])


# -- shared queue --------------------------------------------------------------------------------


@pytest.mark.parametrize("broker", ["rrbroker", "msgqueue"])
def test_guide_rrclient_and_rrworker_through_our_brokers(run: Runner, broker: str) -> None:
    front, back = free_endpoint(), free_endpoint()
    run.start("broker", ["-m", f"patterns.shared_queue.{broker}", "--bind", front,
                         "--bind", back])
    worker = run.example("rrworker", guide_example("rrworker"), {"5560": port_of(back)})
    client = run.example("rrclient", guide_example("rrclient"), {"5559": port_of(front)})
    run.start("guide-worker", [str(worker)])
    proc = run.start("guide-client", [str(client)])
    assert proc.wait(30) == 0, run.output("guide-client")
    assert "Received reply 10 [b'World']" in run.output("guide-client")


@pytest.mark.parametrize("example", ["rrbroker", "msgqueue"])
def test_our_client_and_worker_through_the_guide_brokers(run: Runner, example: str) -> None:
    front, back = free_endpoint(), free_endpoint()
    broker = run.example(example, guide_example(example),
                         {"5559": port_of(front), "5560": port_of(back)})
    run.start("guide-broker", [str(broker)])
    run.start("worker", ["-m", "patterns.shared_queue.worker", "--connect", back])
    proc = lazy_client(run, "client", front)
    assert proc.wait(60) == 0
    assert len(run.events("client", "ok")) == 5, run.output("client")
    assert all(e["reply"] == e["op"] for e in run.events("client", "ok"))


# -- load-balancing broker -----------------------------------------------------------------------


LB_DRIVER = """\
import sys, threading
import lbbroker
if sys.argv[1] == "worker":
    lbbroker.worker_task(int(sys.argv[2]))
else:
    lbbroker.client_task(int(sys.argv[2]))
"""


def test_guide_lb_clients_and_workers_through_our_broker(run: Runner) -> None:
    run.example("lbbroker", guide_example("lbbroker"))
    driver = run.example("lbdriver", LB_DRIVER)
    # the example's relative ipc://frontend.ipc and ipc://backend.ipc, in this directory
    run.start("broker", ["-m", "patterns.lbbroker.broker", "--bind", "ipc://frontend.ipc",
                         "--bind", "ipc://backend.ipc"])
    for i in range(2):
        run.start(f"guide-worker-{i}", [str(driver), "worker", str(i)])  # says "READY"
    clients = [run.start(f"guide-client-{i}", [str(driver), "client", str(i)])
               for i in range(4)]
    for i, proc in enumerate(clients):
        assert proc.wait(30) == 0, run.output(f"guide-client-{i}")
        assert f"Client-{i}: OK" in run.output(f"guide-client-{i}")
    assert len(run.events("broker", "route")) == 4


LB_BROKER_DRIVER = """\
import lbbroker
lbbroker.NBR_WORKERS = 0  # the example's own workers off: ours is the only one
lbbroker.main()
"""


def test_our_worker_under_the_guide_lb_broker(run: Runner) -> None:
    run.example("lbbroker", guide_example("lbbroker"))
    driver = run.example("lbbrokerdriver", LB_BROKER_DRIVER)
    run.start("worker", ["-m", "patterns.lbbroker.worker", "--connect", "ipc://backend.ipc"])
    proc = run.start("guide-broker", [str(driver)])
    assert proc.wait(60) == 0, run.output("guide-broker")  # it exits after 10 replies
    assert len(run.events("worker", "handled")) == 10
    # Its clients print what they got: our echo of their "HELLO". (The example exits at its
    # tenth reply and its daemon client processes with it, so the last lines may be missing.)
    out = run.output("guide-broker")
    assert out.count(": HELLO") >= 1 and out.count("Client-") == out.count(": HELLO")


# -- asynchronous client/server ------------------------------------------------------------------


ASYNC_CLIENT_DRIVER = """\
import sys, threading, time
import asyncsrv
client = asyncsrv.ClientTask(1)
client.daemon = True
client.start()
time.sleep(float(sys.argv[1]))
"""

ASYNC_SERVER_DRIVER = """\
import asyncsrv
server = asyncsrv.ServerTask()
server.daemon = True
server.start()
server.join()
"""


def test_guide_async_client_against_our_server(run: Runner) -> None:
    front, back = free_endpoint(), free_endpoint()
    run.start("server", ["-m", "patterns.async_server.server", "--bind", front, "--bind", back])
    run.example("asyncsrv", guide_example("asyncsrv"), {"5570": port_of(front)})
    driver = run.example("asyncdriver", ASYNC_CLIENT_DRIVER)
    proc = run.start("guide-client", [str(driver), "2.5"])
    assert proc.wait(30) == 0
    assert "Client worker-1 received: b'request #1'" in run.output("guide-client")


def test_our_async_client_against_the_guide_server(run: Runner) -> None:
    front = free_endpoint()
    run.example("asyncsrv", guide_example("asyncsrv"), {"5570": port_of(front)})
    driver = run.example("asyncserver", ASYNC_SERVER_DRIVER)
    run.start("guide-server", [str(driver)])
    # The Guide's workers answer each request 0 to 4 times, after up to a second each: our
    # client resends what got no answer and refuses the extra copies.
    proc = run.start("client", ["-m", "patterns.async_server.client", "--connect", front,
                                "--requests", "10", "--window", "10", "--timeout-ms", "2500",
                                "--retries", "4"])
    assert proc.wait(60) == 0
    oks = run.events("client", "ok")
    assert len(oks) >= 5, run.output("client")
    assert all(e["reply"] == e["op"] for e in oks)
    assert len({e["op"] for e in oks}) == len(oks)  # each op accepted once


# -- peering -------------------------------------------------------------------------------------


def ipc(run: Runner, broker: str, socket: str) -> str:
    """Where peering3.py looks for ``broker``'s ``socket``: under Python 3 it formats the
    name as bytes, so its paths are ``b'NAME'-cloud.ipc`` (a flaw of the example)."""
    return f"ipc://{run.tmp}/b'{broker}'-{socket}.ipc"


P3_DRIVER = """\
import sys
import peering3
peering3.NBR_CLIENTS = int(sys.argv[1])
peering3.main(b"p3", [b"ours"])
"""


def start_ours_next_to_peering3(run: Runner, workers: int, p3_clients: int) -> None:
    """Guide broker "p3" (``p3_clients`` clients of its own, 5 workers) and our "ours"."""
    run.example("peering3", guide_example("peering3"))
    driver = run.example("p3driver", P3_DRIVER)
    binds = [x for part in ("localfe", "localbe", "cloud", "state")
             for x in ("--bind", ipc(run, "ours", part))]
    # peering3 publishes its capacity only when it changes, never periodically: a quiet p3
    # must not look silent to us, so its report never expires (a huge --liveness)
    run.start("ours", ["-m", "patterns.peering.broker", *binds, "--name", "ours",
                       "--heartbeat-ms", "200", "--liveness", "100000",
                       "--connect", ipc(run, "p3", "cloud"),
                       "--connect-state", ipc(run, "p3", "state")])
    # ours first: its subscription is waiting when p3 starts publishing
    assert wait_until(lambda: "peering broker ours" in run.output("ours"), timeout=20)
    run.start("guide-p3", [str(driver), str(p3_clients)])
    for i in range(workers):
        run.start(f"ours-worker-{i}", ["-m", "patterns.lbbroker.worker", "--connect",
                                       ipc(run, "ours", "localbe")])


def test_our_requests_are_served_by_the_guide_peer(run: Runner) -> None:
    # One client of p3's own: ten of them keep its workers busy for seconds at a time, none
    # would leave its capacity unchanged, and peering3 publishes only on a change (so a
    # broker that subscribed after its start-up would never hear of it).
    start_ours_next_to_peering3(run, workers=0, p3_clients=1)
    # no local worker: everything goes to p3, whose workers echo (after 0 or 1 s)
    proc = lazy_client(run, "client", ipc(run, "ours", "localfe"), requests=4,
                       timeout_ms=3000, retries=5)
    assert proc.wait(90) == 0
    oks = run.events("client", "ok")
    assert len(oks) == 4, run.output("client") + run.output("ours")
    assert all(e["reply"] == e["op"] for e in oks)
    assert {e["peer"] for e in run.events("ours", "route")} == {"p3"}


def test_the_guide_peer_overflows_to_our_workers(run: Runner) -> None:
    start_ours_next_to_peering3(run, workers=2, p3_clients=10)  # the example's own load
    # p3's ten clients outrun its five workers now and then; it then sends us work
    assert wait_until(lambda: any(e.get("from") == "cloud" and e.get("origin") == "p3"
                                  for e in run.events("ours", "route")), timeout=40), \
        run.output("ours")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not run.events(kind="handled"):
        time.sleep(0.05)
    assert run.events(kind="handled")
    assert "E: CLIENT EXIT" not in run.output("guide-p3")
