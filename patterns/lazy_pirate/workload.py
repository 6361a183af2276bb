"""The request loop every request-reply client CLI shares.

Kept apart from the socket logic so the real Lazy Pirate client and the
broken negative control drive requests, pacing and trace events the same way:
a checker then sees differences in *behaviour*, never in bookkeeping.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable

from patterns.common import trace
from patterns.common.errors import RequestAbandoned


def run_workload(
    request: Callable[[bytes], bytes],
    *,
    requests: int,
    rate: float,
    server: str,
    log: logging.Logger,
) -> tuple[int, int]:
    """Send ``requests`` requests (0 = until stopped) at ``rate`` per second (0 = back to back).

    Each body is ``trace.op_id(seq)``. ``request`` returns the accepted reply
    or raises :class:`RequestAbandoned`; an abandoned request is logged and the
    loop moves on. Returns (answered, abandoned).
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
        trace.invoke(op, body)
        try:
            reply = request(body)
        except RequestAbandoned as exc:
            abandoned += 1
            log.warning("request %s abandoned: %s", op, exc)
            trace.fail(op, str(exc))
            continue
        answered += 1
        trace.ok(op, reply, server=server)
    log.info("workload done: %d answered, %d abandoned", answered, abandoned)
    return answered, abandoned
