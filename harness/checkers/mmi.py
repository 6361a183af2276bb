"""Contract ``mmi_reflects_workers``: MMI answers match the live workers (RFC 8).

``mmi.service`` must say 200 when a worker is registered for a service and
404 when none is. The Guide's Python broker answers 200 for any name a
client ever asked for, even with no worker (see PROTOCOLS.md §6), so this
contract compares every probe's answer with what the harness knows about the
workers' processes. Registration lags a process's start or death by up to a
heartbeat expiry, so each answer is judged against the ``grace`` seconds
before it, and any doubt (a pause, any network fault on its links, latency
and bandwidth included, a kill or stop under way, a broker restart in the
window) is resolved in the broker's favour. A worker is alive until its
process exits (a stopped one may take seconds), so a 200 in that time is
never flagged either.
"""

from __future__ import annotations

from collections import Counter

from harness.checkers.base import CheckContext, CheckResult, Event
from harness.checkers.timeline import (
    Interval,
    alive_intervals,
    covers,
    horizon,
    impaired_intervals,
    intersects,
)
from harness.checkers.verdicts import Violations, decide

WORKER_ROLE = "majordomo.worker"
BROKER_ROLES = frozenset({"majordomo.broker"})
DEFAULT_SERVICE = "echo"  # a majordomo.worker's service when its options name none
# Roles that register fixed services with the broker themselves.
FIXED_SERVICES = {"titanic.service": ("titanic.request", "titanic.reply", "titanic.close")}


def providers(ctx: CheckContext) -> dict[str, list[str]]:
    """service name -> nodes that register it with the broker."""
    result: dict[str, list[str]] = {}
    for facts in ctx.nodes.values():
        if facts.role == WORKER_ROLE:
            served = (str(facts.options.get("service", DEFAULT_SERVICE)),)
        else:
            served = FIXED_SERVICES.get(facts.role, ())
        for service in served:
            result.setdefault(service, []).append(facts.name)
    return result


class _Lives:
    """Alive and impaired intervals per node, computed once per node."""

    def __init__(self, history: list[Event], end: float) -> None:
        self._history = history
        self._end = end
        self._alive: dict[str, list[Interval]] = {}
        self._impaired: dict[str, list[Interval]] = {}

    def alive(self, node: str) -> list[Interval]:
        if node not in self._alive:
            self._alive[node] = alive_intervals(self._history, node, self._end)
        return self._alive[node]

    def impaired(self, node: str) -> list[Interval]:
        if node not in self._impaired:
            self._impaired[node] = impaired_intervals(self._history, node, self._end)
        return self._impaired[node]

    def healthy_throughout(self, node: str, start: float, stop: float) -> bool:
        return covers(self.alive(node), start, stop) and not intersects(
            self.impaired(node), start, stop
        )


def mmi_reflects_workers(
    history: list[Event],
    ctx: CheckContext,
    *,
    service: str | None = None,
    grace: float = 1.0,
) -> CheckResult:
    """Judge every ``mmi`` event (only those about ``service`` when given).

    At time t, for the probed name S and the nodes that register S
    (``majordomo.worker`` nodes with ``service`` S, default ``echo``):
    ``404`` is a violation if one of them was alive and not impaired (paused,
    dying, or on a link under any network fault: ``timeline.impaired_intervals``)
    over all of [t - grace, t] while every broker was alive and untroubled
    too; ``200`` is a violation if none of them was alive at any moment of
    [t - grace, t]; ``501`` is a violation unless S
    starts with ``mmi.``; any other code is a violation. Probes about
    ``mmi.*`` names are only checked for 501. Unknown with no such probe.
    """
    name = "mmi_reflects_workers"
    lives = _Lives(history, horizon(history, ctx))
    by_service = providers(ctx)
    brokers = [f.name for f in ctx.nodes.values() if f.role in BROKER_ROLES]
    probes = [
        e for e in history
        if e.get("type") == "mmi" and (service is None or e.get("service") == service)
    ]
    codes: Counter[str] = Counter()
    violations = Violations()
    for probe in probes:
        asked = str(probe.get("service"))
        code = str(probe.get("code"))
        codes[code] += 1
        t = probe["t"]
        start = t - grace
        nodes = by_service.get(asked, [])
        why: str | None = None
        if code == "501":
            if not asked.startswith("mmi."):
                why = f"501 for {asked!r}, which is not an mmi.* name"
        elif asked.startswith("mmi."):
            why = None if code in ("200", "404") else f"unexpected code {code!r} for {asked!r}"
        elif code == "404":
            brokers_fine = all(lives.healthy_throughout(b, start, t) for b in brokers)
            healthy = [n for n in nodes if lives.healthy_throughout(n, start, t)]
            if healthy and brokers_fine:
                why = f"404 for {asked!r} while {', '.join(healthy)} served it since {start:.3f}"
        elif code == "200":
            if not any(intersects(lives.alive(n), start, t) for n in nodes):
                why = f"200 for {asked!r} with no live worker for it since {start:.3f}"
        else:
            why = f"unexpected code {code!r} for {asked!r}"
        if why is not None:
            violations.add(why, probe)
    figures = {"probes": len(probes), "codes": dict(codes), "grace_s": grace,
               "providers": by_service}
    return decide(
        name,
        violations,
        decided=bool(probes),
        figures=figures,
        ok_message=f"{len(probes)} mmi answers consistent with the workers",
        unknown_message="no mmi event" + (f" about {service!r}" if service else ""),
    )
