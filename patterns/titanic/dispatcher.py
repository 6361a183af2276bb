"""Titanic's dispatcher: an MDP client that runs stored requests until each has a reply.

It differs from the Guide's loop (PROTOCOLS.md §8.2, §8.4) where the Guide
loses or repeats work:

- Pending work comes from the store's index, rebuilt from disk at start, so
  there is no separate queue file to mark (the wrong-entry bug) and no window
  where an acknowledged request is unknown to the dispatcher.
- Before sending to a service it asks the broker ``mmi.service``; a 404 means
  "no worker now", so the request is not pushed into a broker queue where
  every retry would pile up another copy. The answer is cached for one pass
  and dropped as soon as a request to that service times out.
- The per-attempt timeout is configurable (``--dispatch-timeout-ms``) and
  should exceed the service time; a request that times out is retried on a
  later pass, forever, until it has a reply or its client closes it.
- A reply that arrives after the client closed the request is dropped, not
  written as an orphan file.
"""

from __future__ import annotations

import logging
import threading

import zmq

from patterns.common.errors import RequestAbandoned
from patterns.majordomo.client import MajordomoClient
from patterns.majordomo.mdp import MMI_FOUND, MMI_NOT_FOUND, MMI_SERVICE
from patterns.titanic.storage import StoredRequest, TitanicStore

log = logging.getLogger("titanic.dispatcher")


class Dispatcher:
    """Runs in its own thread with its own sockets; stops when ``stop`` is set."""

    def __init__(
        self,
        store: TitanicStore,
        broker: str,
        stop: threading.Event,
        *,
        context: zmq.Context,
        timeout_ms: int = 5000,
        mmi_timeout_ms: int = 1000,
        idle_pause_ms: int = 500,
    ) -> None:
        self.store = store
        self.broker = broker
        self.stop = stop
        self.context = context
        self.timeout_ms = timeout_ms
        self.mmi_timeout_ms = mmi_timeout_ms
        self.idle_pause = idle_pause_ms / 1000.0
        self.dispatched = 0  # replies stored (for logs and tests)

    def run(self) -> None:
        """Dispatch until stopped. An unexpected error is logged and the loop goes on."""
        while not self.stop.is_set():
            try:
                self._run_clients()
            except zmq.ContextTerminated:
                return  # shutting down
            except Exception:
                if self.stop.is_set():
                    return
                log.exception("dispatcher error; starting again")
                self.stop.wait(self.idle_pause)

    def _run_clients(self) -> None:
        service_client = MajordomoClient(
            self.broker, timeout_ms=self.timeout_ms, retries=1, context=self.context
        )
        mmi_client = MajordomoClient(
            self.broker, timeout_ms=self.mmi_timeout_ms, retries=1, context=self.context
        )
        try:
            while not self.stop.is_set():
                seen = self.store.generation()
                progressed = self._one_pass(service_client, mmi_client)
                if not progressed and not self.stop.is_set():
                    self.store.wait_for_work(self.idle_pause, seen)
        finally:
            service_client.close()
            mmi_client.close()

    def _one_pass(self, service_client: MajordomoClient, mmi_client: MajordomoClient) -> bool:
        """Try every pending request once; True if at least one got its reply."""
        available: dict[bytes, bool] = {}
        progressed = False
        for request in self.store.pending():
            if self.stop.is_set():
                break
            if not self.store.has_request(request.uuid):
                continue  # closed by its client meanwhile
            if request.service not in available:
                answer = self._ask_mmi(mmi_client, request.service)
                if answer is None:
                    return progressed  # broker unreachable: end the pass, pause
                available[request.service] = answer
            if not available[request.service]:
                continue
            outcome = self._dispatch(service_client, request)
            if outcome is None:
                available.pop(request.service, None)  # ask MMI again before the next one
            elif outcome:
                progressed = True
        return progressed

    def _ask_mmi(self, client: MajordomoClient, service: bytes) -> bool | None:
        """True if a worker serves ``service``, False if not, None if no answer."""
        try:
            reply = client.send(MMI_SERVICE, [service])
        except RequestAbandoned:
            log.warning("broker did not answer mmi.service for %r", service)
            return None
        code = reply[0][:3] if reply else b""
        if code == MMI_FOUND:
            return True
        if code == MMI_NOT_FOUND:
            log.debug("no worker for %r yet", service)
            return False
        # A broker without MMI (501 or anything else): send and let timeouts decide.
        return True

    def _dispatch(self, client: MajordomoClient, request: StoredRequest) -> bool | None:
        """Send one request. True: reply stored; False: not stored; None: timed out."""
        try:
            reply = client.send(request.service, request.body)
        except RequestAbandoned:
            log.warning("service %r did not answer %s within %d ms; will retry",
                        request.service, request.uuid, self.timeout_ms)
            return None
        try:
            stored = self.store.store_reply(request.uuid, reply)
        except OSError:
            log.exception("could not store the reply for %s; will run it again", request.uuid)
            return False
        if stored:
            self.dispatched += 1
        return stored
