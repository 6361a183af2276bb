"""TSP over the wire: the real broker, echo workers and Titanic as subprocesses.

Timing is scaled down (heartbeat 100 ms); every wait is bounded and polls a
condition. Each test starts its own processes and kills them (by PID) in the
fixture's teardown.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import zmq

from patterns.common.errors import RequestAbandoned
from patterns.majordomo.client import MajordomoClient
from tests.patterns.procs import free_port, kill_groups, read_events

pytestmark = pytest.mark.slow

HEARTBEAT_MS = 100


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Cluster:
    """Broker + Titanic (+ optional workers) on loopback, all killed on teardown."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.endpoint = f"tcp://127.0.0.1:{free_port()}"
        self.procs: dict[str, subprocess.Popen] = {}
        self.context = zmq.Context()
        self.trace = tmp / "trace.jsonl"

    def spawn(self, name: str, module: str, *args: str, env: dict[str, str] | None = None,
              script: Path | None = None):
        full_env = {**os.environ, "ZCHAOS_NODE": name, "ZCHAOS_TRACE": str(self.trace),
                    **(env or {})}
        with open(self.tmp / f"{name}.log", "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, *([str(script)] if script else ["-m", module]), *args],
                stdout=log, stderr=subprocess.STDOUT, env=full_env, start_new_session=True,
            )
        self.procs[name] = proc
        return proc

    def broker(self) -> None:
        self.spawn("broker", "patterns.majordomo.broker", "--bind", self.endpoint,
                   "--heartbeat-ms", str(HEARTBEAT_MS), "--liveness", "3")

    def worker(self, name: str, service: str = "echo") -> None:
        self.spawn(name, "patterns.majordomo.worker", "--connect", self.endpoint,
                   "--service", service, "--heartbeat-ms", str(HEARTBEAT_MS),
                   "--reconnect-ms", str(HEARTBEAT_MS))

    def titanic(self, *extra: str, script: Path | None = None) -> None:
        self.spawn("titanic", "patterns.titanic.service", "--connect", self.endpoint,
                   "--data-dir", str(self.tmp / "titanic"), "--heartbeat-ms", str(HEARTBEAT_MS),
                   "--reconnect-ms", str(HEARTBEAT_MS), "--dispatch-timeout-ms", "1000", *extra,
                   script=script)
        self.wait_for_service("titanic.request")
        self.wait_for_service("titanic.reply")
        self.wait_for_service("titanic.close")

    def client(self, timeout_ms: int = 500, retries: int = 1) -> MajordomoClient:
        return MajordomoClient(self.endpoint, timeout_ms=timeout_ms, retries=retries,
                               context=self.context)

    def call(self, service: bytes, body: list[bytes]) -> list[bytes]:
        c = self.client(timeout_ms=1000, retries=3)
        try:
            return c.send(service, body)
        finally:
            c.close()

    def mmi(self, service: str) -> bytes:
        try:
            return self.call(b"mmi.service", [service.encode()])[0]
        except RequestAbandoned:
            return b""

    def wait_for_service(self, service: str, timeout: float = 10.0) -> None:
        wait_for(lambda: self.mmi(service) == b"200", timeout, f"{service} registered")

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)

    def stop(self, name: str) -> int:
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGTERM)
        return proc.wait(10)

    def events(self, kind: str) -> list[dict]:
        return [e for e in read_events(self.trace) if e["type"] == kind]

    def teardown(self) -> None:
        kill_groups(self.procs.values())
        self.context.destroy(linger=0)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path)
    try:
        c.broker()
        yield c
    finally:
        c.teardown()


def request(cluster: Cluster, service: bytes, body: bytes) -> bytes:
    reply = cluster.call(b"titanic.request", [service, body])
    assert reply[0] == b"200" and len(reply) == 2, reply
    assert len(reply[1]) == 32
    return reply[1]


def reply_when_ready(cluster: Cluster, uuid: bytes, timeout: float = 10.0) -> list[bytes]:
    def ready():
        reply = cluster.call(b"titanic.reply", [uuid])
        assert reply[0] in (b"200", b"300"), reply
        return reply if reply[0] == b"200" else None

    return wait_for(ready, timeout, f"reply for {uuid!r}")  # type: ignore[return-value]


def test_tsp_request_reply_close_cycle(cluster: Cluster) -> None:
    cluster.titanic()
    uuid = request(cluster, b"later", b"payload")
    # No worker for "later" yet: the dispatcher learns that from MMI, the reply is pending.
    assert cluster.call(b"titanic.reply", [uuid]) == [b"300"]
    # Keep the service absent for longer than one dispatch timeout (1 s): a
    # dispatcher that ignored MMI would queue a copy in the broker per pass.
    absent_until = time.monotonic() + 1.5
    wait_for(lambda: time.monotonic() >= absent_until, 3, "the absence period")
    assert cluster.call(b"titanic.reply", [uuid]) == [b"300"]
    cluster.worker("worker", "later")
    first = reply_when_ready(cluster, uuid)
    assert first == [b"200", b"payload"]
    assert cluster.call(b"titanic.reply", [uuid]) == first  # idempotent until close
    assert cluster.call(b"titanic.reply", [uuid.upper()]) == first  # case-normalised
    assert cluster.call(b"titanic.close", [uuid]) == [b"200"]
    assert cluster.call(b"titanic.reply", [uuid]) == [b"400"]
    assert cluster.call(b"titanic.close", [uuid]) == [b"200"]
    handled = [e for e in cluster.events("handled") if e["op"] == "payload"]
    assert len(handled) == 1, handled  # run once: no copies piled up while nobody served it


def test_tsp_rejects_bad_input_and_keeps_serving(cluster: Cluster) -> None:
    cluster.titanic()
    assert cluster.call(b"titanic.reply", [b"0" * 32]) == [b"400"]  # unknown
    assert cluster.call(b"titanic.close", [b"f" * 32]) == [b"200"]  # unknown: 200
    assert cluster.call(b"titanic.reply", [b"../../etc/passwd"]) == [b"400"]
    assert cluster.call(b"titanic.reply", [b"\xff\xfe" * 16]) == [b"400"]
    assert cluster.call(b"titanic.reply", [b""]) == [b"400"]
    assert cluster.call(b"titanic.request", [b"echo"]) == [b"400"]  # no body
    assert cluster.call(b"titanic.request", [b""]) == [b"400"]
    # Still alive and correct after all that.
    cluster.worker("worker")
    uuid = request(cluster, b"echo", b"")  # an empty body frame is a valid request
    assert reply_when_ready(cluster, uuid) == [b"200", b""]


def test_sigkill_after_acknowledgements_loses_nothing(cluster: Cluster) -> None:
    cluster.titanic()
    acked = {request(cluster, b"late", f"op-{i}".encode()): f"op-{i}".encode() for i in range(8)}
    cluster.kill("titanic")
    cluster.titanic()
    cluster.worker("worker", "late")
    for uuid, body in acked.items():
        assert reply_when_ready(cluster, uuid) == [b"200", body]
    # Replies are durable too: another kill, and they are still there.
    cluster.kill("titanic")
    cluster.titanic()
    for uuid, body in acked.items():
        assert cluster.call(b"titanic.reply", [uuid]) == [b"200", body]
    assert cluster.stop("titanic") == 0  # SIGTERM is a clean exit


def test_client_role_finishes_and_resumes_after_being_killed(cluster: Cluster) -> None:
    cluster.titanic()
    args = ["--connect", cluster.endpoint, "--data-dir", str(cluster.tmp / "client"),
            "--service", "slowstart", "--requests", "5", "--poll-ms", "50",
            "--timeout-ms", "500", "--retries", "1"]
    cluster.spawn("client", "patterns.titanic.client", *args)
    wait_for(lambda: len(cluster.events("ack")) == 5, 10, "5 acknowledgements")
    cluster.kill("client")  # acknowledged, not answered: no worker yet
    assert cluster.events("ok") == []
    cluster.worker("worker", "slowstart")
    restarted = cluster.spawn("client", "patterns.titanic.client", *args,
                              env={"ZCHAOS_INCARNATION": "1"})
    assert restarted.wait(20) == 0
    acks = {e["op"]: e["uuid"] for e in cluster.events("ack")}
    oks = cluster.events("ok")
    original = [op for op in acks if not op.startswith("client.1:")]
    assert len(original) == 5
    by_op = {e["op"]: e for e in oks}
    for op in original:  # resumed under the ORIGINAL op id, with the acknowledged UUID
        assert by_op[op]["reply"] == op
        assert by_op[op]["uuid"] == acks[op]
    assert all(e["reply"] == e["op"] for e in oks)
    assert len(by_op) == 10  # the 5 resumed + 5 new ones of incarnation 1


NEGATIVE = Path(__file__).resolve().parents[1] / "negative" / "titanic_ack_before_disk.py"


def test_negative_control_forgets_acknowledged_requests_on_sigkill(cluster: Cluster) -> None:
    """The ack-before-disk Titanic really has the flaw durable_acks must catch."""
    cluster.titanic(script=NEGATIVE)
    acked = [request(cluster, b"late", f"op-{i}".encode()) for i in range(3)]
    cluster.kill("titanic")
    cluster.titanic(script=NEGATIVE)
    for uuid in acked:
        assert cluster.call(b"titanic.reply", [uuid]) == [b"400"]
