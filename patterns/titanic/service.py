"""The ``titanic.service`` role: three TSP workers and a dispatcher around one store.

Threads, one socket (or one MDP peer) each, all sharing one ZeroMQ context
and one :class:`~patterns.titanic.storage.TitanicStore`:

- ``titanic.request``, ``titanic.reply``, ``titanic.close``: MDP workers whose
  requests go through :mod:`patterns.titanic.handlers`;
- the dispatcher (:mod:`patterns.titanic.dispatcher`): an MDP client.

The main thread only waits for a stop signal; SIGTERM/SIGINT end every
thread, close every socket with linger 0 and exit 0. A kill -9 loses nothing
that was acknowledged: that is the store's job.
"""

from __future__ import annotations

import argparse
import logging
import threading
from collections.abc import Callable
from pathlib import Path

import zmq

from patterns.common import role
from patterns.majordomo.worker import MajordomoWorker
from patterns.titanic import handlers
from patterns.titanic.dispatcher import Dispatcher
from patterns.titanic.frames import ERROR, SERVICE_CLOSE, SERVICE_REPLY, SERVICE_REQUEST
from patterns.titanic.storage import StorageLocked, TitanicStore

log = logging.getLogger("titanic.service")

Handler = Callable[[TitanicStore, list[bytes]], list[bytes]]


class TitanicService:
    """Owns the store, the context and the four threads."""

    def __init__(
        self,
        broker: str,
        store: TitanicStore,
        *,
        heartbeat_ms: int = 2500,
        liveness: int = 3,
        reconnect_ms: int = 2500,
        dispatch_timeout_ms: int = 5000,
    ) -> None:
        self.broker = broker
        self.store = store
        self.heartbeat_ms = heartbeat_ms
        self.liveness = liveness
        self.reconnect_ms = reconnect_ms
        self.stop = threading.Event()
        self.context = zmq.Context()
        self.dispatcher = Dispatcher(
            store,
            broker,
            self.stop,
            context=self.context,
            timeout_ms=dispatch_timeout_ms,
            mmi_timeout_ms=max(200, min(dispatch_timeout_ms, heartbeat_ms * liveness)),
            idle_pause_ms=max(50, min(1000, heartbeat_ms)),
        )
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        services: list[tuple[bytes, Handler]] = [
            (SERVICE_REQUEST, handlers.handle_request),
            (SERVICE_REPLY, handlers.handle_reply),
            (SERVICE_CLOSE, handlers.handle_close),
        ]
        for name, handler in services:
            t = threading.Thread(
                target=self._serve, args=(name, handler), name=name.decode(), daemon=True
            )
            self.threads.append(t)
        self.threads.append(
            threading.Thread(target=self.dispatcher.run, name="dispatcher", daemon=True)
        )
        for t in self.threads:
            t.start()

    def _serve(self, service: bytes, handler: Handler) -> None:
        """One TSP service: receive, handle, reply, until stopped."""
        worker = MajordomoWorker(
            self.broker,
            service,
            heartbeat_ms=self.heartbeat_ms,
            liveness=self.liveness,
            reconnect_ms=self.reconnect_ms,
            context=self.context,
        )
        poll_ms = max(10, min(self.heartbeat_ms, 200))
        try:
            while not self.stop.is_set():
                request = worker.recv(timeout_ms=poll_ms)
                if request is None:  # a timeout, not an empty request (§8.4)
                    continue
                try:
                    reply = handler(self.store, request)
                except Exception:  # handlers catch their own; this is a last resort
                    log.exception("%s failed on a request", service.decode())
                    reply = [ERROR]
                worker.send(reply)
        except Exception:
            log.exception("%s thread failed", service.decode())
            self.stop.set()  # let the process exit non-zero rather than limp on
        finally:
            worker.close()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until a thread asks to stop; True if that happened."""
        return self.stop.wait(timeout_s)

    def shutdown(self, join_timeout_s: float = 2.0) -> None:
        """Stop every thread, close every socket (linger 0), close the store.

        The dispatcher may be waiting for a service reply; terminating the
        context wakes it with ETERM so it closes its sockets at once.
        """
        self.stop.set()
        self.store.wake()
        for t in self.threads:
            if t.name != "dispatcher":
                t.join(join_timeout_s)
        terminator = threading.Thread(target=self.context.term, name="term", daemon=True)
        terminator.start()
        terminator.join(join_timeout_s)
        for t in self.threads:
            t.join(0.1)
        self.store.close()


def build_parser() -> argparse.ArgumentParser:
    p = role.parser(
        "Titanic (RFC 9/TSP): titanic.request/reply/close workers plus a dispatcher, "
        "with requests and replies fsynced to --data-dir before they are acknowledged."
    )
    role.add_connect(p, "Majordomo broker")
    p.add_argument("--data-dir", default=".titanic", help="directory for the request log")
    p.add_argument("--heartbeat-ms", type=int, default=2500, help="MDP heartbeat interval (ms)")
    p.add_argument("--liveness", type=int, default=3, help="silent heartbeats before reconnecting")
    p.add_argument("--reconnect-ms", type=int, default=2500, help="worker reconnect delay (ms)")
    p.add_argument(
        "--dispatch-timeout-ms",
        type=int,
        default=5000,
        help="dispatcher's wait for a service reply per attempt; must exceed the service time",
    )
    p.add_argument(
        "--fsync",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="fsync before acknowledging (--no-fsync only to measure what durability costs)",
    )
    return p


def main(store_factory: Callable[..., TitanicStore] = TitanicStore) -> int:
    """Run the role. ``store_factory`` lets a negative control swap in a broken store."""
    args = build_parser().parse_args()
    role.configure_logging(args.verbose)
    endpoint = (args.connect or ["tcp://127.0.0.1:5555"])[0]
    store = store_factory(Path(args.data_dir), sync=args.fsync)
    try:
        store.open()
    except (OSError, StorageLocked) as exc:
        log.error("cannot open the store in %s: %s", args.data_dir, exc)
        return 2
    service = TitanicService(
        endpoint,
        store,
        heartbeat_ms=args.heartbeat_ms,
        liveness=args.liveness,
        reconnect_ms=args.reconnect_ms,
        dispatch_timeout_ms=args.dispatch_timeout_ms,
    )
    service.start()
    log.info("Titanic serving via %s, data in %s (fsync %s)", endpoint, args.data_dir,
             "on" if args.fsync else "off")
    failed = False
    try:
        while not service.wait(1.0):
            pass
        failed = True  # a thread gave up
    finally:
        service.shutdown()
    return 1 if failed else 0


if __name__ == "__main__":
    role.run_role(main)
