"""Titanic's durable store: requests, replies and closes in one record log.

The contract this module exists for (PROTOCOLS.md §8.3, TI1/TI4):

- :meth:`TitanicStore.add_request` returns a UUID only once the request is
  fsynced **and** in the dispatcher's pending queue, so a 200 built from that
  UUID can never refer to a request a kill -9 would lose or a dispatcher
  would never see.
- :meth:`TitanicStore.store_reply` makes a reply durable (one checksummed
  record, so it is all-or-nothing) before :meth:`reply_for` can return it.
- Opening the store rebuilds the pending queue from disk, skipping torn or
  corrupt records, and compacts the log (closed requests go away).

All three TSP services and the dispatcher share one store; one lock orders
index updates with log writes, so compaction never misses a record.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from patterns.common.seeding import role_random
from patterns.titanic.frames import new_uuid, pack_frames, unpack_frames
from patterns.titanic.recordlog import RecordLog, ScanReport

log = logging.getLogger(__name__)

LOG_NAME = "titanic.log"
LOCK_NAME = "titanic.lock"

_KIND_REQUEST = b"Q"
_KIND_REPLY = b"P"
_KIND_CLOSE = b"C"


class StorageLocked(RuntimeError):
    """Another live Titanic holds this data directory."""


@dataclass
class StoredRequest:
    """One request Titanic accepted, and its reply once the service answered."""

    uuid: str
    service: bytes
    body: list[bytes]
    reply: list[bytes] | None = None


class ReplyState(Enum):
    READY = "200"
    PENDING = "300"
    UNKNOWN = "400"


def _encode(kind: bytes, uuid: str, frames: list[bytes] | None = None) -> bytes:
    return kind + bytes.fromhex(uuid) + (pack_frames(frames) if frames is not None else b"")


def _decode(payload: bytes) -> tuple[bytes, str, list[bytes]]:
    """(kind, uuid, frames); ValueError when the record makes no sense."""
    if len(payload) < 17:
        raise ValueError("record too short")
    kind, uuid = payload[:1], payload[1:17].hex()
    if kind == _KIND_CLOSE:
        if len(payload) != 17:
            raise ValueError("close record with trailing bytes")
        return kind, uuid, []
    if kind not in (_KIND_REQUEST, _KIND_REPLY):
        raise ValueError(f"unknown record kind {kind!r}")
    frames = unpack_frames(payload, 17)
    if kind == _KIND_REQUEST and len(frames) < 2:
        raise ValueError("request record without a body")
    return kind, uuid, frames


class TitanicStore:
    """The request/reply index in memory, backed by an fsynced record log."""

    def __init__(
        self,
        data_dir: Path,
        *,
        sync: bool = True,
        compact_after_bytes: int = 8 * 1024 * 1024,
        lock_wait_s: float = 10.0,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.sync = sync
        self.compact_after_bytes = compact_after_bytes
        self.lock_wait_s = lock_wait_s
        self.log = RecordLog(self.data_dir / LOG_NAME, sync=sync)
        self.scan = ScanReport()
        self._entries: dict[str, StoredRequest] = {}  # insertion order = FIFO
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        self._lock_fd: int | None = None
        self._generation = 0  # bumped by every new request, for wait_for_work
        # UUIDs from the node's seeded generator (a replay hands out the same
        # ones); drawn under the lock, so their order follows the requests'
        self._uuids = role_random("uuid")

    # -- lifecycle -------------------------------------------------------

    def open(self) -> None:
        """Lock the directory, rebuild the index from disk, compact the log."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._acquire_dir_lock()
        payloads, self.scan = self.log.read_all()
        entries: dict[str, StoredRequest] = {}
        for payload in payloads:
            try:
                kind, uuid, frames = _decode(payload)
            except ValueError as exc:
                log.warning("skipping undecodable record: %s", exc)
                continue
            if kind == _KIND_REQUEST:
                entries[uuid] = StoredRequest(uuid, frames[0], frames[1:])
            elif kind == _KIND_REPLY:
                entry = entries.get(uuid)
                if entry is not None:
                    entry.reply = frames
            else:
                entries.pop(uuid, None)
        if self.scan.damaged:
            # Keep the evidence: compaction is about to drop the unreadable bytes.
            kept = self.data_dir / (LOG_NAME + ".damaged")
            shutil.copyfile(self.log.path, kept)
            log.warning("%d damaged record(s) skipped; the log as found is in %s",
                        self.scan.damaged, kept)
        with self._lock:
            self._entries = entries
            self.log.rewrite(self._live_payloads())
        pending = sum(1 for e in entries.values() if e.reply is None)
        log.info("store open: %d requests (%d pending) in %s", len(entries), pending,
                 self.data_dir)

    def close(self) -> None:
        self.log.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _acquire_dir_lock(self) -> None:
        # A killed predecessor's lock vanishes with it; a stopping one may need
        # a moment, so wait a bounded time rather than failing at once.
        fd = os.open(self.data_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.lock_wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._lock_fd = fd
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise StorageLocked(f"{self.data_dir} is in use by another Titanic") from None
                time.sleep(0.05)

    def _live_payloads(self) -> list[bytes]:
        payloads: list[bytes] = []
        for entry in self._entries.values():
            payloads.append(_encode(_KIND_REQUEST, entry.uuid, [entry.service, *entry.body]))
            if entry.reply is not None:
                payloads.append(_encode(_KIND_REPLY, entry.uuid, entry.reply))
        return payloads

    def _maybe_compact(self) -> None:
        """Rewrite the log once closed records dominate it (lock held)."""
        if self.log.bytes_appended < self.compact_after_bytes:
            return
        live = self._live_payloads()
        if sum(len(p) for p in live) * 2 < self.log.bytes_appended:
            self.log.rewrite(live)

    # -- the three TSP operations ---------------------------------------

    def add_request(self, service: bytes, body: list[bytes]) -> str:
        """Store a request durably and queue it; returns its UUID (OSError on failure)."""
        if not body:
            raise ValueError("a request needs at least one body frame")
        with self._work:
            uuid = new_uuid(self._uuids)
            while uuid in self._entries:  # a restart with an unchanged seed and incarnation
                uuid = new_uuid(self._uuids)
            self.log.append(_encode(_KIND_REQUEST, uuid, [service, *body]))
            self._entries[uuid] = StoredRequest(uuid, service, list(body))
            self._generation += 1
            self._work.notify_all()
        return uuid

    def reply_for(self, uuid: str) -> tuple[ReplyState, list[bytes]]:
        """200 with the stored reply, 300 while pending, 400 when unknown or closed."""
        with self._lock:
            entry = self._entries.get(uuid)
            if entry is None:
                return ReplyState.UNKNOWN, []
            if entry.reply is None:
                return ReplyState.PENDING, []
            return ReplyState.READY, list(entry.reply)

    def close_request(self, uuid: str) -> None:
        """Forget a request and its reply; a no-op for unknown UUIDs."""
        with self._lock:
            if uuid not in self._entries:
                return
            self.log.append(_encode(_KIND_CLOSE, uuid))
            del self._entries[uuid]
            self._maybe_compact()

    # -- the dispatcher's side ------------------------------------------

    def store_reply(self, uuid: str, reply: list[bytes]) -> bool:
        """Make ``reply`` durable for ``uuid``; False if the request is gone or done."""
        with self._lock:
            entry = self._entries.get(uuid)
            if entry is None or entry.reply is not None:
                return False
            self.log.append(_encode(_KIND_REPLY, uuid, reply))
            entry.reply = list(reply)
            return True

    def pending(self) -> list[StoredRequest]:
        """Requests still waiting for a reply, oldest first (a snapshot)."""
        with self._lock:
            return [
                StoredRequest(e.uuid, e.service, list(e.body))
                for e in self._entries.values()
                if e.reply is None
            ]

    def has_request(self, uuid: str) -> bool:
        with self._lock:
            return uuid in self._entries

    def generation(self) -> int:
        """A counter of accepted requests; pass it to :meth:`wait_for_work`."""
        with self._lock:
            return self._generation

    def wait_for_work(self, timeout_s: float, seen: int) -> None:
        """Block until a request newer than generation ``seen`` arrives, or timeout."""
        with self._work:
            self._work.wait_for(lambda: self._generation != seen, timeout_s)

    def wake(self) -> None:
        """Release every :meth:`wait_for_work` (used on shutdown)."""
        with self._work:
            self._generation += 1
            self._work.notify_all()
