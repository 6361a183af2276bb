"""Titanic storage: durability, rebuild after restart, torn and corrupt records.

These tests exercise the on-disk format directly (no sockets): what a kill -9
mid-write leaves behind must be detected and skipped without losing any other
record, and a restart must rebuild exactly the pending queue.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patterns.titanic import handlers
from patterns.titanic.frames import normalise_uuid, pack_frames, unpack_frames
from patterns.titanic.journal import ClientJournal, Phase
from patterns.titanic.recordlog import HEADER_SIZE, RecordLog, encode_record, scan_bytes
from patterns.titanic.storage import LOG_NAME, ReplyState, StorageLocked, TitanicStore


def open_store(path: Path) -> TitanicStore:
    store = TitanicStore(path, lock_wait_s=0.2)
    store.open()
    return store


@pytest.fixture
def store(tmp_path: Path):
    s = open_store(tmp_path)
    try:
        yield s
    finally:
        s.close()


# --- record framing ----------------------------------------------------------

payloads_st = st.lists(st.binary(min_size=0, max_size=64), min_size=1, max_size=8)


@given(payloads_st)
def test_scan_returns_every_record_written(payloads: list[bytes]) -> None:
    data = b"".join(encode_record(p) for p in payloads)
    assert list(scan_bytes(data)) == payloads


@given(payloads_st, st.data())
def test_torn_last_record_is_skipped_and_the_others_kept(payloads, data) -> None:
    blob = b"".join(encode_record(p) for p in payloads)
    last = encode_record(payloads[-1])
    cut = data.draw(st.integers(min_value=len(blob) - len(last), max_value=len(blob) - 1))
    assert list(scan_bytes(blob[:cut])) == payloads[:-1]


def test_torn_last_record_at_every_truncation_point() -> None:
    payloads = [b"first", b"second" * 10, b"third" * 7]
    blob = b"".join(encode_record(p) for p in payloads)
    last = len(encode_record(payloads[-1]))
    for cut in range(len(blob) - last, len(blob)):
        assert list(scan_bytes(blob[:cut])) == payloads[:-1], f"cut at {cut}"


@given(payloads_st, st.binary(min_size=1, max_size=40))
def test_garbage_appended_after_records_loses_nothing(payloads, garbage) -> None:
    blob = b"".join(encode_record(p) for p in payloads)
    assert list(scan_bytes(blob + garbage)) == payloads


@given(payloads_st, st.data())
def test_a_flipped_byte_costs_exactly_the_record_it_hits(payloads, data) -> None:
    records = [encode_record(p) for p in payloads]
    blob = bytearray(b"".join(records))
    index = data.draw(st.integers(min_value=0, max_value=len(payloads) - 1))
    start = sum(len(r) for r in records[:index])
    offset = data.draw(st.integers(min_value=0, max_value=len(records[index]) - 1))
    blob[start + offset] ^= data.draw(st.integers(min_value=1, max_value=255))
    expected = payloads[:index] + payloads[index + 1 :]
    assert list(scan_bytes(bytes(blob))) == expected


def test_torn_write_followed_by_later_appends_keeps_the_later_records() -> None:
    # A partial record whose header promises more bytes than were written,
    # then more records appended by a restarted writer: only the torn one goes.
    torn = encode_record(b"x" * 500)[: HEADER_SIZE + 10]
    later = [b"after-1", b"after-2"]
    blob = encode_record(b"before") + torn + b"".join(encode_record(p) for p in later)
    assert list(scan_bytes(blob)) == [b"before", *later]


@given(st.lists(st.binary(max_size=20), max_size=6))
def test_frames_pack_round_trip(frames: list[bytes]) -> None:
    assert unpack_frames(pack_frames(frames)) == frames


@given(st.binary(max_size=40))
def test_unpack_never_raises_anything_but_value_error(data: bytes) -> None:
    try:
        unpack_frames(data)
    except ValueError:
        pass


# --- UUIDs -------------------------------------------------------------------


def test_uuid_is_normalised_to_lower_case() -> None:
    assert normalise_uuid(b"ABCDEF0123456789abcdef0123456789") == "abcdef0123456789" * 2


@pytest.mark.parametrize(
    "frame",
    [
        b"../../../../etc/passwd",
        b"..%2f..%2fabcdef0123456789abcdef01",
        b"abcdef0123456789abcdef012345678",  # 31
        b"abcdef0123456789abcdef01234567890",  # 33
        b"abcdef0123456789abcdef012345678\n",
        b"abcdef0123456789abcdef0123456789\n",
        b"ghijkl0123456789abcdef0123456789",
        b"\xff" * 32,
        b"",
    ],
)
def test_anything_but_32_hex_digits_is_refused(frame: bytes, store: TitanicStore) -> None:
    assert normalise_uuid(frame) is None
    assert handlers.handle_reply(store, [frame]) == [b"400"]
    assert handlers.handle_close(store, [frame]) == [b"400"]


# --- the store ---------------------------------------------------------------


def test_request_is_pending_then_replied_then_closed(store: TitanicStore) -> None:
    uuid = store.add_request(b"echo", [b"a", b"b"])
    assert len(uuid) == 32 and uuid == uuid.lower()
    assert store.reply_for(uuid) == (ReplyState.PENDING, [])
    assert [r.uuid for r in store.pending()] == [uuid]
    assert store.store_reply(uuid, [b"A", b"B"])
    assert store.reply_for(uuid) == (ReplyState.READY, [b"A", b"B"])
    assert store.reply_for(uuid) == (ReplyState.READY, [b"A", b"B"])  # idempotent
    assert store.pending() == []
    store.close_request(uuid)
    assert store.reply_for(uuid) == (ReplyState.UNKNOWN, [])
    store.close_request(uuid)  # idempotent
    assert not store.store_reply(uuid, [b"late"])  # no orphan reply after close


def test_restart_rebuilds_pending_queue_and_replies(tmp_path: Path) -> None:
    first = open_store(tmp_path)
    a = first.add_request(b"echo", [b"a"])
    b = first.add_request(b"echo", [b"b"])
    c = first.add_request(b"other", [b"c"])
    first.store_reply(b, [b"B"])
    first.close_request(c)
    first.close()  # the data as a killed process leaves it: nothing else flushed

    second = open_store(tmp_path)
    try:
        assert [(r.uuid, r.service, r.body) for r in second.pending()] == [(a, b"echo", [b"a"])]
        assert second.reply_for(b) == (ReplyState.READY, [b"B"])
        assert second.reply_for(c) == (ReplyState.UNKNOWN, [])
    finally:
        second.close()


def test_restart_compacts_closed_requests_away(tmp_path: Path) -> None:
    first = open_store(tmp_path)
    for i in range(20):
        first.close_request(first.add_request(b"echo", [str(i).encode()]))
    keep = first.add_request(b"echo", [b"keep"])
    first.close()
    size_before = (tmp_path / LOG_NAME).stat().st_size
    second = open_store(tmp_path)
    try:
        assert (tmp_path / LOG_NAME).stat().st_size < size_before / 10
        assert [r.uuid for r in second.pending()] == [keep]
    finally:
        second.close()


@pytest.mark.parametrize("cut_from_end", [1, 5, HEADER_SIZE, HEADER_SIZE + 3])
def test_torn_tail_in_store_is_skipped_and_others_kept(tmp_path: Path, cut_from_end: int) -> None:
    first = open_store(tmp_path)
    kept = [first.add_request(b"echo", [f"r{i}".encode()]) for i in range(3)]
    first.add_request(b"echo", [b"torn" * 10])
    first.close()
    path = tmp_path / LOG_NAME
    path.write_bytes(path.read_bytes()[:-cut_from_end])
    second = open_store(tmp_path)
    try:
        assert [r.uuid for r in second.pending()] == kept
        assert second.scan.torn_tail
        # And the store keeps working: a new request after the repair survives too.
        extra = second.add_request(b"echo", [b"new"])
    finally:
        second.close()
    third = open_store(tmp_path)
    try:
        assert [r.uuid for r in third.pending()] == [*kept, extra]
    finally:
        third.close()


def test_corrupt_byte_in_store_is_detected(tmp_path: Path) -> None:
    first = open_store(tmp_path)
    a = first.add_request(b"echo", [b"aaaaaaaa"])
    b = first.add_request(b"echo", [b"bbbbbbbb"])
    c = first.add_request(b"echo", [b"cccccccc"])
    first.close()
    path = tmp_path / LOG_NAME
    data = bytearray(path.read_bytes())
    data[data.index(b"bbbbbbbb") + 3] ^= 0x20  # damage b's payload only
    path.write_bytes(bytes(data))
    second = open_store(tmp_path)
    try:
        assert [r.uuid for r in second.pending()] == [a, c]
        assert second.scan.damaged == 1
        assert (tmp_path / (LOG_NAME + ".damaged")).read_bytes() == bytes(data)
        assert second.reply_for(b) == (ReplyState.UNKNOWN, [])
    finally:
        second.close()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(garbage=st.binary(min_size=1, max_size=64))
def test_garbage_tail_never_crashes_the_store(tmp_path_factory, garbage: bytes) -> None:
    path = tmp_path_factory.mktemp("garbage")
    first = open_store(path)
    kept = first.add_request(b"echo", [b"x"])
    first.close()
    with open(path / LOG_NAME, "ab") as f:
        f.write(garbage)
    second = open_store(path)
    try:
        assert [r.uuid for r in second.pending()] == [kept]
    finally:
        second.close()


def test_a_second_titanic_on_the_same_directory_is_refused(store: TitanicStore) -> None:
    with pytest.raises(StorageLocked):
        open_store(store.data_dir)


def test_log_is_fsynced_before_add_request_returns(tmp_path: Path, monkeypatch) -> None:
    calls: list[str] = []
    real_fsync = os.fsync
    real_append = RecordLog.append_many

    def spy_fsync(fd: int) -> None:
        calls.append("fsync")
        real_fsync(fd)

    def spy_append(self, payloads):
        calls.append("write")
        real_append(self, payloads)

    s = open_store(tmp_path)
    try:
        monkeypatch.setattr(os, "fsync", spy_fsync)
        monkeypatch.setattr(RecordLog, "append_many", spy_append)
        s.add_request(b"echo", [b"x"])
        assert calls == ["write", "fsync"]
    finally:
        s.close()


# --- TSP handlers ------------------------------------------------------------


def test_handlers_follow_tsp(store: TitanicStore) -> None:
    reply = handlers.handle_request(store, [b"echo", b"hello"])
    assert reply[0] == b"200" and len(reply) == 2
    uuid = reply[1]
    assert handlers.handle_reply(store, [uuid]) == [b"300"]
    store.store_reply(uuid.decode(), [b"hello"])
    assert handlers.handle_reply(store, [uuid.upper()]) == [b"200", b"hello"]
    assert handlers.handle_close(store, [uuid]) == [b"200"]
    assert handlers.handle_reply(store, [uuid]) == [b"400"]
    assert handlers.handle_close(store, [b"0" * 32]) == [b"200"]  # unknown: still 200


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(frames=st.lists(st.binary(max_size=40), max_size=4))
def test_handlers_never_raise_on_arbitrary_frames(store: TitanicStore, frames) -> None:
    for handler in (handlers.handle_request, handlers.handle_reply, handlers.handle_close):
        reply = handler(store, frames)
        assert reply and reply[0] in (b"200", b"300", b"400")


def test_reply_and_close_take_exactly_one_frame(store: TitanicStore) -> None:
    uuid = store.add_request(b"echo", [b"x"]).encode()
    assert handlers.handle_reply(store, [uuid, b"extra"]) == [b"400"]
    assert handlers.handle_reply(store, []) == [b"400"]
    assert handlers.handle_close(store, [uuid, b"extra"]) == [b"400"]
    assert store.has_request(uuid.decode())


@pytest.mark.parametrize(
    "frames", [[], [b"echo"], [b"", b"body"], [b"titanic.request", b"echo", b"x"]]
)
def test_malformed_titanic_request_is_refused(store: TitanicStore, frames) -> None:
    assert handlers.handle_request(store, frames) == [b"400"]
    assert store.pending() == []


def test_storage_failure_answers_500(store: TitanicStore, monkeypatch) -> None:
    def broken(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store.log, "append_many", broken)
    assert handlers.handle_request(store, [b"echo", b"x"]) == [b"500"]
    assert store.pending() == []  # nothing acknowledged, nothing queued


# --- the client journal ------------------------------------------------------


def test_client_journal_resumes_unfinished_operations(tmp_path: Path) -> None:
    first = ClientJournal(tmp_path)
    assert first.open() == []
    done = first.invoked("c:1")
    first.acked(done, "a" * 32)
    first.answered(done)
    first.done(done)
    polling = first.invoked("c:2")
    first.acked(polling, "b" * 32)
    closing = first.invoked("c:3")
    first.acked(closing, "c" * 32)
    first.answered(closing)
    first.invoked("c:4")
    first.close()

    second = ClientJournal(tmp_path)
    resumed = second.open()
    try:
        assert [(o.op, o.phase, o.uuid) for o in resumed] == [
            ("c:2", Phase.POLL, "b" * 32),
            ("c:3", Phase.CLOSE, "c" * 32),
            ("c:4", Phase.SUBMIT, None),
        ]
        assert second.total == 4
    finally:
        second.close()
    third = ClientJournal(tmp_path)
    try:
        assert len(third.open()) == 3 and third.total == 4  # compaction kept the count
    finally:
        third.close()


# --- a real kill -9 in the middle of writing -----------------------------------

_WRITER = """
import sys
from pathlib import Path
from patterns.titanic.storage import TitanicStore
store = TitanicStore(Path(sys.argv[1]))
store.open()
n = 0
while True:
    n += 1
    uuid = store.add_request(b"echo", [b"x" * (n % 700)])
    if n % 3 == 0:
        store.store_reply(uuid, [b"r" * (n % 300)])
    print(uuid, flush=True)  # acknowledged: add_request returned
"""


@pytest.mark.slow
def test_sigkill_while_writing_never_loses_an_acknowledged_request(tmp_path: Path) -> None:
    acknowledged: list[str] = []
    for round_ in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(tmp_path)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        try:
            assert proc.stdout is not None
            for _ in range(20 + 10 * round_):
                line = proc.stdout.readline()
                assert line, "writer died"
                acknowledged.append(line.strip())
        finally:
            proc.send_signal(signal.SIGKILL)  # very likely mid-append: it never pauses
            proc.wait(10)
        store = open_store(tmp_path)
        try:
            known = {r.uuid for r in store.pending()}
            known |= {u for u in acknowledged if store.reply_for(u)[0] is ReplyState.READY}
            missing = [u for u in acknowledged if u not in known]
            assert missing == [], f"round {round_}: lost {len(missing)} acknowledged requests"
        finally:
            store.close()
