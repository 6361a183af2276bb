"""Builders for hand-made histories: one short call per trace event.

Checker tests describe runs as a few lines of events; these helpers fill in
the fields each event type carries (docs/trace-events.md) so a test reads
like the history it checks.
"""

from __future__ import annotations

from typing import Any

from harness.checkers.base import CheckContext, NodeFacts
from harness.history import Event


def ev(t: float, node: str, kind: str, **fields: Any) -> Event:
    return {"t": float(t), "node": node, "type": kind, **fields}


def op_of(node: str, seq: int) -> str:
    return f"{node}:{seq}"


def invoke(t: float, node: str, seq: int, **fields: Any) -> Event:
    op = op_of(node, seq)
    return ev(t, node, "invoke", op=op, body=op, **fields)


def ok(t: float, node: str, seq: int, reply: str | None = None, **fields: Any) -> Event:
    op = op_of(node, seq)
    return ev(t, node, "ok", op=op, reply=op if reply is None else reply, **fields)


def fail(t: float, node: str, seq: int, reason: str = "gave up") -> Event:
    """The legacy name of a give-up (still read, forever)."""
    return ev(t, node, "fail", op=op_of(node, seq), reason=reason)


def gave_up(t: float, node: str, seq: int, reason: str = "gave up") -> Event:
    """The client gave up on the op; it may or may not have executed."""
    return ev(t, node, "gave_up", op=op_of(node, seq), reason=reason)


def retry(t: float, node: str, seq: int, attempt: int) -> Event:
    return ev(t, node, "retry", op=op_of(node, seq), attempt=attempt)


def handled(t: float, server: str, op: str) -> Event:
    return ev(t, server, "handled", op=op)


def ack(t: float, node: str, seq: int, uuid: str) -> Event:
    return ev(t, node, "ack", op=op_of(node, seq), uuid=uuid)


def state(t: float, node: str, name: str) -> Event:
    return ev(t, node, "state", state=name)


def fault(t: float, name: str, target: str, phase: str = "apply") -> Event:
    return ev(t, "harness", "fault", fault=name, target=target, phase=phase)


def lifecycle(t: float, target: str, what: str, **fields: Any) -> Event:
    return ev(t, "harness", "lifecycle", target=target, event=what, **fields)


def fatal(t: float, node: str, reason: str = "dual active") -> Event:
    return ev(t, node, "fatal", reason=reason)


def mmi(t: float, service: str, code: str, node: str = "probe") -> Event:
    return ev(t, node, "mmi", service=service, code=code)


def context(
    nodes: dict[str, tuple[str, str, dict[str, Any]]] | None = None,
    *,
    end: float = 0.0,
    owner: dict[str, str] | None = None,
    connects: dict[str, tuple[str, ...]] | None = None,
) -> CheckContext:
    """A context from ``{name: (role, kind, options)}`` and ``{name: connected nodes}``."""
    facts = {
        name: NodeFacts(name=name, role=role, kind=kind, options=options,  # type: ignore[arg-type]
                        connects=(connects or {}).get(name, ()))
        for name, (role, kind, options) in (nodes or {}).items()
    }
    return CheckContext(nodes=facts, end=end, endpoint_owner=owner or {})


def by_time(*events: Event) -> list[Event]:
    return sorted(events, key=lambda e: e["t"])
