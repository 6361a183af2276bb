"""The client workload loop shared by the Freelance client CLIs.

Each request is an operation whose body is its op id (``trace.op_id``); the
loop traces ``invoke`` (with ``expect`` when the server does not echo), then
``ok`` with the endpoint that answered, or ``fail`` when the client gave up.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from patterns.common import trace
from patterns.common.errors import RequestAbandoned

# request(body, op) -> (reply, endpoint that answered or None)
RequestFn = Callable[[bytes, str], tuple[bytes, str | None]]


def run_workload(
    request: RequestFn,
    requests: int,
    rate: float,
    log: logging.Logger,
    expect: bytes | None = None,
) -> int:
    """Send ``requests`` requests (0 = until stopped), paced at ``rate`` per second."""
    start = time.monotonic()
    seq = 0
    while requests == 0 or seq < requests:
        seq += 1
        if rate > 0:
            pause = start + (seq - 1) / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        op = trace.op_id(seq)
        body = op.encode()
        if expect is None:
            trace.invoke(op, body)
        else:
            trace.invoke(op, body, expect=expect)
        try:
            reply, server = request(body, op)
        except RequestAbandoned as exc:
            log.warning("%s abandoned: %s", op, exc)
            trace.fail(op, str(exc))
            continue
        trace.ok(op, reply, server=server)
    return 0
