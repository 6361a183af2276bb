"""Negative control for ``durable_acks``: a Titanic that acknowledges before the disk.

Run as ``titanic.service`` (same options) with
``zchaos run --impl titanic.service="python tests/negative/titanic_ack_before_disk.py"
scenarios/titanic/titanic-kill-restart.yaml``; the run must exit 1 with
``durable_acks`` violated.

The flaw is the one the Guide invites ("keep the data in memory for speed",
PROTOCOLS.md §8.3): ``titanic.request`` answers 200 as soon as the request is
in memory and in the dispatcher's queue; the request record reaches the disk
only in a lazy background flush (every 30 s, or on a clean stop). A SIGKILL
before that flush forgets every acknowledged request that had not been
closed yet, so after the restart ``titanic.reply`` answers 400 for UUIDs
the clients hold, and their operations never get their replies.

Everything else (replies, closes, dispatching, the wire protocol) is the real
service, so this is the only difference the checker can be catching.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from patterns.common import role
from patterns.titanic import service
from patterns.titanic.frames import new_uuid
from patterns.titanic.storage import _KIND_REQUEST, StoredRequest, TitanicStore, _encode

FLUSH_EVERY_S = 30.0

log = logging.getLogger("titanic.lazy")


class AckBeforeDiskStore(TitanicStore):
    """A store whose requests are acknowledged from memory and written later."""

    def __init__(self, data_dir: Path, **kwargs: object) -> None:
        super().__init__(data_dir, **kwargs)  # type: ignore[arg-type]
        self._unwritten: list[bytes] = []
        self._flusher = threading.Thread(target=self._flush_loop, daemon=True)
        self._stopped = threading.Event()

    def open(self) -> None:
        super().open()
        self._flusher.start()

    def add_request(self, service: bytes, body: list[bytes]) -> str:
        uuid = new_uuid()
        with self._work:
            # THE BUG: no log.append here; the record waits for the flusher.
            self._unwritten.append(_encode(_KIND_REQUEST, uuid, [service, *body]))
            self._entries[uuid] = StoredRequest(uuid, service, list(body))
            self._generation += 1
            self._work.notify_all()
        return uuid

    def _flush(self) -> None:
        with self._lock:
            if self._unwritten:
                self.log.append_many(self._unwritten)
                self._unwritten = []

    def _flush_loop(self) -> None:
        while not self._stopped.wait(FLUSH_EVERY_S):
            self._flush()

    def close(self) -> None:
        self._stopped.set()
        self._flush()
        super().close()


if __name__ == "__main__":
    role.run_role(lambda: service.main(store_factory=AckBeforeDiskStore))
