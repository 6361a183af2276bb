"""The request loop every request-reply client CLI shares.

Kept apart from the socket logic so that every client (Hello, Lazy Pirate and
its broken negative control, Binary Star, the Freelance models) drives
requests, pacing and trace events the same way: a checker then sees
differences in *behaviour*, never in bookkeeping.

Each request is an operation whose body is its op id (``trace.op_id``); the
loop traces ``invoke`` (with ``expect`` when the server does not echo), then
``ok`` with the endpoint that answered, or ``gave_up`` when the client gave up,
and moves on to the next request either way.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from typing import TypeAlias

from patterns.common import trace
from patterns.common.errors import RequestAbandoned

# request(body, op) -> (accepted reply, endpoint that answered or None);
# raises RequestAbandoned when the client gives up on the request.
RequestFn = Callable[[bytes, str], tuple[bytes, str | None]]
# The reply a request must get when the server does not echo: fixed, or per op id.
Expect: TypeAlias = bytes | Callable[[str], bytes] | None


def run_workload(
    request: RequestFn,
    *,
    requests: int,
    rate: float,
    log: logging.Logger,
    expect: Expect = None,
) -> tuple[int, int]:
    """Send ``requests`` requests (0 = until stopped) at ``rate`` per second (0 = back to back).

    ``expect`` is the reply every request must get when the server does not
    echo (Freelance model 2 answers ``seq|OK``), or a function of the op id
    giving it; it is traced in ``invoke`` so the checkers know what to
    compare against. An abandoned request is logged and traced as
    ``gave_up``, and the loop moves on. Returns (answered, abandoned).
    """
    answered = abandoned = 0
    start = time.monotonic()
    for seq in itertools.count(1):
        if requests and seq > requests:
            break
        if rate > 0:
            time.sleep(max(0.0, start + (seq - 1) / rate - time.monotonic()))
        op = trace.op_id(seq)
        body = op.encode()
        wanted = expect(op) if callable(expect) else expect
        if wanted is None:
            trace.invoke(op, body)
        else:
            trace.invoke(op, body, expect=wanted)
        try:
            reply, server = request(body, op)
        except RequestAbandoned as exc:
            abandoned += 1
            log.warning("request %s abandoned: %s", op, exc)
            trace.gave_up(op, str(exc))
            continue
        answered += 1
        trace.ok(op, reply, server=server)
    log.info("workload done: %d answered, %d abandoned", answered, abandoned)
    return answered, abandoned
