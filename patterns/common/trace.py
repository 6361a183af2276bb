"""Trace events: how a pattern node tells the harness what it did.

This is the whole coupling between a node and zchaos, and it is a public
protocol (docs/trace-events.md): a node in any language that appends the same
JSON lines takes part in the checks. When ``ZCHAOS_TRACE`` is unset every
function here is a no-op, so each role still runs standalone like the Guide's
examples.

Environment, set by the harness for every node:

- ``ZCHAOS_TRACE``: file to append JSON lines to (one object per line).
- ``ZCHAOS_NODE``: this node's name (``client-2``).
- ``ZCHAOS_T0``: the run's start on CLOCK_MONOTONIC, in seconds; ``t`` is
  CLOCK_MONOTONIC now minus this, one clock for every process on the host.
- ``ZCHAOS_INCARNATION``: 0 for a node's first start, +1 on every restart, so
  operation ids stay unique across restarts.

Each line is written with a single ``os.write`` on an ``O_APPEND`` descriptor,
so lines from many processes never interleave mid-line.

A record always starts on a fresh line: a node's trace file outlives the
node's incarnations, and a predecessor killed by something that cut its last
line short (a user's node writing in pieces, a full disk) leaves a line
without its newline. Opening the file, a writer looks at its last byte and
writes a newline first if it is not one, so the torn line is lost on its own
(the harness counts it per node) instead of swallowing this node's first
record with it.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

_lock = threading.Lock()
_fd: int | None = None
_opened_path: str | None = None


def enabled() -> bool:
    """True when the harness (or a user) asked for a trace."""
    return bool(os.environ.get("ZCHAOS_TRACE"))


def node_name(default: str = "node") -> str:
    """This node's name as the harness knows it."""
    return os.environ.get("ZCHAOS_NODE") or default


def incarnation() -> int:
    """How many times the harness restarted this node before (0 = first start)."""
    try:
        return int(os.environ.get("ZCHAOS_INCARNATION", "0"))
    except ValueError:
        return 0


def now() -> float:
    """Seconds since the run started, on the clock every node shares."""
    t0 = os.environ.get("ZCHAOS_T0")
    base = float(t0) if t0 else 0.0
    return time.monotonic() - base


def op_id(seq: int, node: str | None = None) -> str:
    """A run-unique operation id: ``client-1:17``, or ``client-1.2:17`` after two restarts.

    The id doubles as the request body, so an echo server hands it back and
    both the client and the checkers can match replies to requests.
    """
    name = node or node_name("client")
    inc = incarnation()
    prefix = name if inc == 0 else f"{name}.{inc}"
    return f"{prefix}:{seq}"


def _descriptor() -> int | None:
    global _fd, _opened_path
    path = os.environ.get("ZCHAOS_TRACE")
    if not path:
        return None
    if _fd is None or _opened_path != path:
        _fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        _opened_path = path
        _end_torn_line(_fd)
    return _fd


def _end_torn_line(fd: int) -> None:
    """Write a newline if the file does not end with one (see the module docstring)."""
    try:
        size = os.fstat(fd).st_size
        if size > 0 and os.pread(fd, 1, size - 1) != b"\n":
            os.write(fd, b"\n")
    except OSError:
        pass  # not seekable (a pipe, /dev/stdout): nothing to repair


def text(value: bytes | str) -> str:
    """Frames are bytes; trace fields are text. Never fails on non-UTF-8 input."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="backslashreplace")
    return value


def emit(event_type: str, **fields: Any) -> None:
    """Append one event. ``t``, ``node`` and ``type`` are filled in here."""
    if not enabled():
        return
    record: dict[str, Any] = {"t": round(now(), 6), "node": node_name(), "type": event_type}
    for key, value in fields.items():
        record[key] = text(value) if isinstance(value, bytes) else value
    line = (json.dumps(record, separators=(",", ":")) + "\n").encode()
    with _lock:
        fd = _descriptor()
        if fd is not None:
            os.write(fd, line)


def invoke(op: str, body: bytes | str, **extra: Any) -> None:
    """A client is about to send request ``op`` (first attempt)."""
    emit("invoke", op=op, body=body, **extra)


def ok(op: str, reply: bytes | str, server: str | None = None, **extra: Any) -> None:
    """A client accepted ``reply`` as the answer to ``op``."""
    if server is not None:
        extra["server"] = server
    emit("ok", op=op, reply=reply, **extra)


def gave_up(op: str, reason: str, **extra: Any) -> None:
    """A client gave up on ``op``: it may or may not have executed (Jepsen's ``:info``).

    Readers still accept the older event name ``fail`` with the same meaning.
    """
    emit("gave_up", op=op, reason=reason, **extra)


fail = gave_up  # the older name of the same call


def handled(op: bytes | str, **extra: Any) -> None:
    """A server or worker executed request ``op`` (counts executions)."""
    emit("handled", op=op, **extra)


def state(name: str, **extra: Any) -> None:
    """A node changed state (Binary Star: PRIMARY, BACKUP, ACTIVE, PASSIVE)."""
    emit("state", state=name, **extra)
