"""The ``titanic.client`` role: a patient TSP client with a durable memory.

For each operation (body = its op id): ``titanic.request [service | body]``;
on 200 the (op, uuid) pair goes to the journal (fsynced) *before* the ``ack``
trace event; then ``titanic.reply [uuid]`` every ``--poll-ms`` until 200,
where the reply must equal the body or it is refused; then
``titanic.close [uuid]``. Many operations are in flight at once: while some
wait for replies, new ones are submitted (at ``--rate`` per second).

Fixed relative to ``ticlient`` (PROTOCOLS.md §8.4): the status is read from
the first 3 bytes only; 300 and 500 mean "later", 400 is final; an MDP
timeout (broker or Titanic down) is not fatal, the client just tries again
until it is stopped; and the UUIDs survive the client itself, so a client
killed after an acknowledgement and started again finishes its old
operations, emitting ``ok`` under their original op ids.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from patterns.common import role, trace
from patterns.common.errors import RequestAbandoned
from patterns.majordomo.client import MajordomoClient
from patterns.titanic.frames import (
    OK,
    PENDING,
    SERVICE_CLOSE,
    SERVICE_REPLY,
    SERVICE_REQUEST,
    UNKNOWN,
    normalise_uuid,
    status_of,
)
from patterns.titanic.journal import ClientJournal, Operation, Phase

log = logging.getLogger("titanic.client")

MAX_POLL_BACKOFF = 8  # a pending reply is polled at least every 8 x --poll-ms


class TitanicClient:
    """Drives operations through request -> reply -> close, one MDP call at a time."""

    def __init__(
        self,
        mdp: MajordomoClient,
        journal: ClientJournal,
        service: bytes,
        *,
        poll_s: float,
        rate: float = 0.0,
        server: str | None = None,
    ) -> None:
        self.mdp = mdp
        self.journal = journal
        self.service = service
        self.poll_s = poll_s
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.server = server
        self.queue: list[Operation] = []  # unfinished, in order
        self.due: dict[str, float] = {}  # op -> monotonic time of its next call
        self.poll_delay: dict[str, float] = {}  # op -> wait after its next 300 (backs off)
        self.next_submit_at = time.monotonic()

    # -- scheduling ---------------------------------------------------------

    def resume(self, ops: list[Operation]) -> None:
        """Operations a previous incarnation left unfinished go first."""
        for entry in ops:
            log.info("resuming %s (%s%s)", entry.op, entry.phase.value,
                     f", uuid {entry.uuid}" if entry.uuid else "")
            self.queue.append(entry)
            self.due[entry.op] = 0.0

    def run(self, new_requests: int) -> None:
        """Finish resumed work and ``new_requests`` new operations (0 = forever)."""
        created = 0
        while True:
            for finished in [e for e in self.queue if e.phase is Phase.DONE]:
                self.queue.remove(finished)
                self.due.pop(finished.op, None)
                self.poll_delay.pop(finished.op, None)
            now = time.monotonic()
            entry = self._next_due(now)
            if entry is not None:
                self._step(entry)
                continue
            wants_more = new_requests == 0 or created < new_requests
            if wants_more and now >= self.next_submit_at:
                created += 1
                self._invoke()
                continue
            if not wants_more and not self.queue:
                return
            wake = min([self.due[e.op] for e in self.queue] +
                       ([self.next_submit_at] if wants_more else []), default=now)
            time.sleep(min(0.1, max(0.0, wake - now)))

    def _next_due(self, now: float) -> Operation | None:
        best: Operation | None = None
        for entry in self.queue:
            at = self.due.get(entry.op, 0.0)
            if at <= now and (best is None or at < self.due[best.op]):
                best = entry
        return best

    def _later(self, entry: Operation, delay: float) -> None:
        self.due[entry.op] = time.monotonic() + delay

    def _invoke(self) -> None:
        op = trace.op_id(self.journal.total + 1)
        trace.invoke(op, op)
        entry = self.journal.invoked(op)
        self.queue.append(entry)
        self.due[op] = 0.0
        self.next_submit_at = max(self.next_submit_at + self.interval,
                                  time.monotonic() - self.interval)

    # -- one call per step ----------------------------------------------------

    def _call(self, service: bytes, body: list[bytes]) -> list[bytes] | None:
        """One MDP call; None when Titanic or the broker did not answer (try later)."""
        try:
            reply = self.mdp.send(service, body)
        except RequestAbandoned:
            log.info("no answer from %s; will try again", service.decode())
            return None
        if not reply:
            log.warning("empty reply from %s", service.decode())
            return None
        return reply

    def _step(self, entry: Operation) -> None:
        if entry.phase is Phase.SUBMIT:
            self._submit(entry)
        elif entry.phase is Phase.POLL:
            self._poll(entry)
        elif entry.phase is Phase.CLOSE:
            self._close(entry)

    def _submit(self, entry: Operation) -> None:
        reply = self._call(SERVICE_REQUEST, [self.service, entry.body])
        if reply is None:
            self._later(entry, self.poll_s)
            return
        status = status_of(reply[0])
        if status == OK:
            uuid = normalise_uuid(reply[1]) if len(reply) == 2 else None
            if uuid is None:
                log.warning("titanic.request answered 200 without a valid UUID; retrying")
                self._later(entry, self.poll_s)
                return
            self.journal.acked(entry, uuid)  # durable first ...
            trace.emit("ack", op=entry.op, uuid=uuid)  # ... then acknowledged
            self._later(entry, self.poll_s)
        elif status == UNKNOWN:
            trace.fail(entry.op, "titanic.request refused (400)")
            self.journal.done(entry)
        else:  # 300, 500 or anything unexpected: try again later
            self._later(entry, self.poll_s)

    def _poll(self, entry: Operation) -> None:
        assert entry.uuid is not None  # the journal sets it with the POLL phase
        reply = self._call(SERVICE_REPLY, [entry.uuid.encode()])
        if reply is None:
            self._later(entry, self.poll_s)
            return
        status = status_of(reply[0])
        if status == OK:
            if reply[1:] == [entry.body]:
                trace.ok(entry.op, reply[1], server=self.server, uuid=entry.uuid)
            else:
                shown = trace.text(reply[1]) if len(reply) > 1 else ""
                trace.emit("refused", op=entry.op, reply=shown)
                trace.fail(entry.op, f"titanic.reply returned a different reply for {entry.uuid}")
            self.journal.answered(entry)
            self._close(entry)
        elif status == UNKNOWN:
            trace.fail(entry.op, f"titanic.reply: unknown uuid {entry.uuid} (request lost)")
            self.journal.done(entry)
        elif status == PENDING:
            # Back off while the reply is pending (up to 8 x --poll-ms), so a
            # long backlog is not polled every interval by the whole queue.
            delay = self.poll_delay.get(entry.op, self.poll_s)
            self.poll_delay[entry.op] = min(delay * 2, self.poll_s * MAX_POLL_BACKOFF)
            self._later(entry, delay)
        else:
            log.info("titanic.reply %s answered %r; will ask again", entry.uuid, reply[0])
            self._later(entry, self.poll_s)

    def _close(self, entry: Operation) -> None:
        assert entry.uuid is not None
        reply = self._call(SERVICE_CLOSE, [entry.uuid.encode()])
        if reply is not None and status_of(reply[0]) == OK:
            self.journal.done(entry)
        else:
            self._later(entry, self.poll_s)


def build_parser() -> argparse.ArgumentParser:
    p = role.parser(
        "Titanic (TSP) client: titanic.request, poll titanic.reply, titanic.close; "
        "acknowledged UUIDs are kept in --data-dir so a restarted client finishes them."
    )
    role.add_connect(p, "Majordomo broker")
    p.add_argument("--data-dir", default=".titanic-client",
                   help="directory for the client's journal of UUIDs")
    p.add_argument("--service", default="echo", help="service Titanic should call")
    role.add_client_options(p)
    p.add_argument("--poll-ms", type=int, default=1000,
                   help="wait between titanic.reply polls (and between retries)")
    return p


def main() -> int:
    args = build_parser().parse_args()
    role.configure_logging(args.verbose)
    endpoint = (args.connect or ["tcp://127.0.0.1:5555"])[0]
    journal = ClientJournal(Path(args.data_dir))
    unfinished = journal.open()
    mdp_client = MajordomoClient(endpoint, timeout_ms=args.timeout_ms, retries=args.retries)
    client = TitanicClient(
        mdp_client,
        journal,
        args.service.encode(),
        poll_s=max(1, args.poll_ms) / 1000.0,
        rate=args.rate,
        server=endpoint,
    )
    client.resume(unfinished)
    try:
        client.run(args.requests)
    finally:
        mdp_client.close()
        journal.close()
    return 0


if __name__ == "__main__":
    role.run_role(main)
