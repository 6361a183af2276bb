"""The Titanic client's own durable memory: which operations it has, and their UUIDs.

TSP leaves the UUID in the client's hands: a client that forgets it can
never fetch its reply (PROTOCOLS.md §8.3). So the client writes every
acknowledged (op, uuid) pair here, fsynced, before it tells anyone about the
acknowledgement, and a restarted client picks up exactly where the previous
incarnation stopped: resubmitting what was never acknowledged, polling what
was, closing what was answered.

It reuses the checksummed :class:`~patterns.titanic.recordlog.RecordLog`, so
a client killed mid-write loses at most the record it was writing.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from patterns.titanic.recordlog import RecordLog

JOURNAL_NAME = "client.journal"

_FINISHED = b"N"  # count of finished operations dropped by compaction
_INVOKED = b"I"
_ACKED = b"A"
_ANSWERED = b"R"
_DONE = b"D"
_U64 = struct.Struct(">Q")


class Phase(Enum):
    SUBMIT = "submit"  # invoked; titanic.request not yet answered 200
    POLL = "poll"  # acknowledged with a UUID; waiting for the reply
    CLOSE = "close"  # reply accepted; titanic.close not yet answered 200
    DONE = "done"


@dataclass
class Operation:
    op: str
    phase: Phase = Phase.SUBMIT
    uuid: str | None = None

    @property
    def body(self) -> bytes:
        return self.op.encode()


class ClientJournal:
    """Operations in the order they were invoked, each with its phase."""

    def __init__(self, data_dir: Path) -> None:
        self.log = RecordLog(Path(data_dir) / JOURNAL_NAME, sync=True)
        self.ops: dict[str, Operation] = {}
        self.finished_before = 0

    @property
    def total(self) -> int:
        """Operations ever invoked through this journal (for unique sequence numbers)."""
        return self.finished_before + len(self.ops)

    def open(self) -> list[Operation]:
        """Load the journal, compact it, and return the unfinished operations in order."""
        payloads, _report = self.log.read_all()
        for payload in payloads:
            self._apply(payload)
        finished = [op for op in self.ops.values() if op.phase is Phase.DONE]
        self.finished_before += len(finished)
        self.ops = {k: v for k, v in self.ops.items() if v.phase is not Phase.DONE}
        self.log.rewrite(self._live_payloads())
        return list(self.ops.values())

    def _apply(self, payload: bytes) -> None:
        kind, rest = payload[:1], payload[1:]
        try:
            if kind == _FINISHED:
                self.finished_before += _U64.unpack(rest)[0]
            elif kind == _INVOKED:
                op = rest.decode()
                self.ops.setdefault(op, Operation(op))
            elif kind == _ACKED and len(rest) > 16:
                op = rest[16:].decode()
                entry = self.ops.setdefault(op, Operation(op))
                entry.uuid = rest[:16].hex()
                if entry.phase is Phase.SUBMIT:
                    entry.phase = Phase.POLL
            elif kind in (_ANSWERED, _DONE):
                entry = self.ops.get(rest.decode())
                if entry is not None:
                    entry.phase = Phase.CLOSE if kind == _ANSWERED else Phase.DONE
        except (UnicodeDecodeError, struct.error):
            pass  # a record we cannot read tells us nothing; the checksum passed, so skip it

    def _live_payloads(self) -> list[bytes]:
        payloads = [_FINISHED + _U64.pack(self.finished_before)]
        for entry in self.ops.values():
            payloads.append(_INVOKED + entry.body)
            if entry.uuid is not None:
                payloads.append(_ACKED + bytes.fromhex(entry.uuid) + entry.body)
            if entry.phase is Phase.CLOSE:
                payloads.append(_ANSWERED + entry.body)
        return payloads

    # -- transitions, each durable before it returns ---------------------

    def invoked(self, op: str) -> Operation:
        entry = Operation(op)
        self.log.append(_INVOKED + entry.body)
        self.ops[op] = entry
        return entry

    def acked(self, entry: Operation, uuid: str) -> None:
        self.log.append(_ACKED + bytes.fromhex(uuid) + entry.body)
        entry.uuid = uuid
        entry.phase = Phase.POLL

    def answered(self, entry: Operation) -> None:
        self.log.append(_ANSWERED + entry.body)
        entry.phase = Phase.CLOSE

    def done(self, entry: Operation) -> None:
        self.log.append(_DONE + entry.body)
        entry.phase = Phase.DONE
        if self.ops.pop(entry.op, None) is not None:
            self.finished_before += 1  # keeps ``total`` while memory stays bounded

    def close(self) -> None:
        self.log.close()
