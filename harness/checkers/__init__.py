"""The contract registry: scenario contract names -> checker functions.

The scenario loader validates a contract's name against :data:`REGISTRY`
and its parameters against the checker's keyword-only signature; the runner
calls :func:`run_contract`, which turns any checker exception into an
``unknown`` verdict so a bug in one checker never crashes a run or hides
the other contracts' verdicts.
"""

from __future__ import annotations

import inspect
import logging
import traceback
from collections.abc import Mapping
from typing import Any

from harness.checkers.base import CheckContext, Checker, CheckResult, Event, NodeFacts
from harness.checkers.delivery import bounded_loss, delivery_latency, ordered_delivery
from harness.checkers.durability import durable_acks
from harness.checkers.executions import duplicate_executions, no_duplicate_execution
from harness.checkers.failover import at_most_one_active, failover_within
from harness.checkers.liveness import bounded_give_up, every_request_answered
from harness.checkers.loadbalance import lru_dispatch
from harness.checkers.mmi import mmi_reflects_workers
from harness.checkers.peering import local_first, no_loss_in_dead_peer, stale_peer_routes
from harness.checkers.pipeline import kill_stops_workers, tasks_exactly_once
from harness.checkers.replies import replies_match_requests
from harness.checkers.service import availability, latency

log = logging.getLogger(__name__)

REGISTRY: dict[str, Checker] = {
    "replies_match_requests": replies_match_requests,
    "every_request_answered": every_request_answered,
    "bounded_give_up": bounded_give_up,
    "no_duplicate_execution": no_duplicate_execution,
    "duplicate_executions": duplicate_executions,
    "availability": availability,
    "latency": latency,
    "at_most_one_active": at_most_one_active,
    "failover_within": failover_within,
    "durable_acks": durable_acks,
    "mmi_reflects_workers": mmi_reflects_workers,
    "lru_dispatch": lru_dispatch,
    "local_first": local_first,
    "stale_peer_routes": stale_peer_routes,
    "no_loss_in_dead_peer": no_loss_in_dead_peer,
    "ordered_delivery": ordered_delivery,
    "bounded_loss": bounded_loss,
    "delivery_latency": delivery_latency,
    "tasks_exactly_once": tasks_exactly_once,
    "kill_stops_workers": kill_stops_workers,
}

__all__ = [
    "REGISTRY",
    "CheckContext",
    "CheckResult",
    "Checker",
    "NodeFacts",
    "contract_params",
    "describe",
    "run_contract",
]


def contract_params(name: str) -> dict[str, Any]:
    """A contract's parameters and their defaults (keyword-only, as scenarios give them)."""
    signature = inspect.signature(REGISTRY[name])
    return {
        p.name: p.default
        for p in signature.parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }


def describe(name: str) -> str:
    """The first line of a contract's docstring, for ``--help`` style listings."""
    doc = inspect.getdoc(REGISTRY[name]) or ""
    return doc.splitlines()[0] if doc else ""


def run_contract(
    name: str,
    params: Mapping[str, Any] | None,
    history: list[Event],
    ctx: CheckContext,
) -> CheckResult:
    """Run one contract; never raises.

    An unknown name, parameters the checker does not take, or an exception
    inside the checker all give verdict ``unknown`` with the reason, since
    nothing was proven either way.
    """
    checker = REGISTRY.get(name)
    if checker is None:
        return CheckResult(name, "unknown", message=f"no such contract {name!r}")
    try:
        result = checker(history, ctx, **dict(params or {}))
    except Exception as exc:  # a checker bug must not crash the run
        log.exception("contract %s raised", name)
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return CheckResult(
            name,
            "unknown",
            message=f"checker error: {type(exc).__name__}: {exc} "
            f"({where.filename.rsplit('/', 1)[-1]}:{where.lineno})",
        )
    if not isinstance(result, CheckResult):
        return CheckResult(name, "unknown", message="checker returned no CheckResult")
    result.name = name
    return result
