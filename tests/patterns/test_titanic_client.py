"""The Titanic client's decisions, against a scripted Titanic (no sockets).

What the client must get right whatever Titanic says: read only the first
3 bytes of a status, retry on 300/500/no answer, stop on 400, never accept a
reply that differs from the body, and write (op, uuid) to its journal before
the ``ack`` event.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from patterns.common.errors import RequestAbandoned
from patterns.titanic import client as client_module
from patterns.titanic.client import TitanicClient
from patterns.titanic.journal import JOURNAL_NAME, ClientJournal

UUID = "0123456789abcdef" * 2

Script = Callable[[bytes, list[bytes]], list[bytes]]


class FakeTitanic:
    """Stands in for MajordomoClient; answers from a per-service script."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.calls: list[tuple[bytes, list[bytes]]] = []

    def send(self, service: bytes, body: list[bytes]) -> list[bytes]:
        self.calls.append((service, body))
        return self.script(service, body)

    def services(self) -> list[bytes]:
        return [service for service, _ in self.calls]


@pytest.fixture
def trace_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "trace.jsonl"
    monkeypatch.setenv("ZCHAOS_TRACE", str(path))
    monkeypatch.setenv("ZCHAOS_NODE", "client")
    monkeypatch.delenv("ZCHAOS_INCARNATION", raising=False)
    return path


def events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def run_client(tmp_path: Path, script: Script, requests: int = 1) -> FakeTitanic:
    fake = FakeTitanic(script)
    journal = ClientJournal(tmp_path / "journal")
    journal.open()
    client = TitanicClient(fake, journal, b"echo", poll_s=0.001)  # type: ignore[arg-type]
    try:
        client.run(requests)
    finally:
        journal.close()
    return fake


def echo_titanic(
    reply_status: list[bytes],
    body_override: bytes | None = None,
    stored: dict[str, bytes] | None = None,
) -> Script:
    """A Titanic that answers request ``200 OK`` + an upper-case UUID (the first one is
    ``UUID``), reply with the given statuses in turn then 200 + the body, close 200."""
    bodies = stored if stored is not None else {}
    statuses = list(reply_status)

    def script(service: bytes, body: list[bytes]) -> list[bytes]:
        if service == b"titanic.request":
            uuid = UUID if not bodies else f"{len(bodies):032x}"
            bodies[uuid] = body[1]
            return [b"200 OK", uuid.upper().encode()]
        if service == b"titanic.reply":
            status = statuses.pop(0) if statuses else b"200"
            if status[:3] == b"200":
                answer = bodies[body[0].decode().lower()]
                return [status, body_override if body_override is not None else answer]
            return [status]
        return [b"200"]

    return script


def test_status_is_read_from_its_first_three_bytes(tmp_path: Path, trace_file: Path) -> None:
    fake = run_client(tmp_path, echo_titanic([b"300 PENDING", b"500 oops", b"200 OK"]))
    kinds = [e["type"] for e in events(trace_file)]
    assert kinds == ["invoke", "ack", "ok"]
    ok = events(trace_file)[-1]
    assert ok["op"] == ok["reply"] == "client:1" and ok["uuid"] == UUID  # UUID lower-cased
    assert fake.services() == [b"titanic.request"] + [b"titanic.reply"] * 3 + [b"titanic.close"]


def test_a_different_reply_is_refused_never_accepted(tmp_path: Path, trace_file: Path) -> None:
    run_client(tmp_path, echo_titanic([], body_override=b"client:999"))
    by_type = {e["type"]: e for e in events(trace_file)}
    assert "ok" not in by_type
    assert by_type["refused"]["reply"] == "client:999"
    assert by_type["gave_up"]["op"] == "client:1"


def test_unknown_uuid_is_final(tmp_path: Path, trace_file: Path) -> None:
    fake = run_client(tmp_path, echo_titanic([b"400"]))
    assert [e["type"] for e in events(trace_file)] == ["invoke", "ack", "gave_up"]
    assert fake.services()[-1] == b"titanic.reply"  # nothing to close, no retry after 400


def test_titanic_down_is_not_fatal(tmp_path: Path, trace_file: Path) -> None:
    answers = echo_titanic([])
    silent = {"left": 3}

    def script(service: bytes, body: list[bytes]) -> list[bytes]:
        if silent["left"]:
            silent["left"] -= 1
            raise RequestAbandoned("no reply")
        return answers(service, body)

    fake = run_client(tmp_path, script)
    assert [e["type"] for e in events(trace_file)] == ["invoke", "ack", "ok"]
    assert fake.services()[:4] == [b"titanic.request"] * 4


def test_ack_is_journalled_before_it_is_announced(
    tmp_path: Path, trace_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal_path = tmp_path / "journal" / JOURNAL_NAME
    on_disk_at_ack: list[bool] = []
    real_emit = client_module.trace.emit

    def spy_emit(event_type: str, **fields: object) -> None:
        if event_type == "ack":
            on_disk_at_ack.append(bytes.fromhex(UUID) in journal_path.read_bytes())
        real_emit(event_type, **fields)

    monkeypatch.setattr(client_module.trace, "emit", spy_emit)
    run_client(tmp_path, echo_titanic([]))
    assert on_disk_at_ack == [True]


def test_unfinished_operations_are_resumed_under_their_original_ids(
    tmp_path: Path, trace_file: Path
) -> None:
    journal = ClientJournal(tmp_path / "journal")
    journal.open()
    journal.acked(journal.invoked("client:1"), UUID)
    journal.close()

    resumed = ClientJournal(tmp_path / "journal")
    fake = FakeTitanic(echo_titanic([], stored={UUID: b"client:1"}))
    client = TitanicClient(fake, resumed, b"echo", poll_s=0.001)  # type: ignore[arg-type]
    try:
        client.resume(resumed.open())
        client.run(1)
    finally:
        resumed.close()
    oks = [e for e in events(trace_file) if e["type"] == "ok"]
    assert [e["op"] for e in oks] == ["client:1", "client:2"]  # old first, new numbered after
    assert fake.calls[0] == (b"titanic.reply", [UUID.encode()])  # no resubmission of client:1
