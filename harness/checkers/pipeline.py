"""Pipeline contracts: ``tasks_exactly_once`` and ``kill_stops_workers``.

They read the task events of docs/trace-events.md: the ventilator's
``task_sent``, a worker's ``task_received`` / ``task_done``, the sink's
``result`` (the sink *counted* the task) and ``kill`` (the sink broadcast the
kill signal), and the harness's ``lifecycle`` events.

- ``tasks_exactly_once``: every task the ventilator sent is counted by the
  sink exactly once. PUSH/PULL has no acknowledgement, so a lost task is not
  a mystery to be hidden but a fact to be named: each lost task is reported
  with who had it last. *Held by W* means worker W received it and never
  finished it (W died, or the run ended); *finished by W* means W sent its
  result and the sink never counted it; *in transit* means no worker's
  application ever saw it (it sat in a socket queue: a worker that died
  between its sending and the kill signal is named as the suspect). A task
  without a result that was sent within ``grace`` of the end of the run is
  not judged (it may still be in flight); a counted one always is.
- ``kill_stops_workers``: once the sink has sent the kill signal, every
  worker process running then exits within ``within``, and a worker started
  later exits within ``within`` of its start (the sink repeats the signal).
  A worker that was not running is excused. Exits are the harness's
  ``lifecycle exit`` events (a worker's own ``killed`` event stands in only
  for a history without lifecycle events for it).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from harness.checkers.base import CheckContext, CheckResult, Event
from harness.checkers.oneway import lives, run_end
from harness.checkers.verdicts import MAX_VIOLATIONS, decide, seconds, violation

WORKER_ROLE = "pipeline.worker"
LIST_LIMIT = 20


def _task(event: Event) -> str | None:
    task = event.get("task")
    return task if isinstance(task, str) and not event.get("untracked") else None


def _by_task(history: list[Event], kind: str, node: str | None = None) -> dict[str, list[Event]]:
    found: dict[str, list[Event]] = defaultdict(list)
    for event in history:
        if event.get("type") == kind and (node is None or event.get("node") == node):
            task = _task(event)
            if task is not None:
                found[task].append(event)
    return found


def _deaths(history: list[Event]) -> dict[str, list[float]]:
    """node -> times its process exited (lifecycle) or was killed/stopped by a fault."""
    deaths: dict[str, list[float]] = defaultdict(list)
    for event in history:
        if event.get("type") == "lifecycle" and event.get("event") == "exit":
            deaths[str(event.get("target"))].append(event["t"])
        elif (event.get("type") == "fault" and event.get("phase", "apply") == "apply"
              and event.get("fault") in ("kill", "stop", "restart")):
            for node in str(event.get("target", "")).split(","):
                deaths[node.strip()].append(event["t"])
    return deaths


def _listing(tasks: list[str]) -> str:
    more = f" (+{len(tasks) - LIST_LIMIT} more)" if len(tasks) > LIST_LIMIT else ""
    return ", ".join(tasks[:LIST_LIMIT]) + more


def tasks_exactly_once(
    history: list[Event], ctx: CheckContext, *, grace: float = 1.0
) -> CheckResult:
    """Every task sent is counted by the sink exactly once; lost tasks are named with their holder.

    Unknown when no task was sent early enough to be judged.
    """
    name = "tasks_exactly_once"
    end = run_end(history, ctx)
    sent = {task: events[0] for task, events in _by_task(history, "task_sent").items()}
    received = _by_task(history, "task_received")
    done = _by_task(history, "task_done")
    counted = _by_task(history, "result")
    deaths = _deaths(history)
    workers = _workers(history, ctx)
    violations: list[dict[str, Any]] = []
    # A counted task is always judged; one without a result only if it was
    # sent more than ``grace`` before the end (else it may still be in flight).
    judged = [task for task, event in sent.items()
              if task in counted or event["t"] <= end - grace]
    t_kill = next((e["t"] for e in history if e.get("type") == "kill"), end)
    lost: dict[tuple[str, str], list[str]] = defaultdict(list)  # (how, who) -> tasks
    evidence: dict[tuple[str, str], list[Event]] = defaultdict(list)
    for task in judged:
        results = counted.get(task, [])
        if len(results) > 1:
            violations.append(violation(
                f"task {task} counted {len(results)} times by the sink", *results, task=task))
            continue
        if results:
            continue
        finished = done.get(task, [])
        taken = received.get(task, [])
        if finished:
            key = ("finished by", str(finished[-1].get("node")))
            evidence[key].append(finished[-1])
        elif taken:
            key = ("held by", str(taken[-1].get("node")))
            evidence[key].append(taken[-1])
        else:
            t_sent = sent[task]["t"]
            suspects = sorted(node for node, times in deaths.items()
                              if node in workers and any(t_sent <= t <= t_kill for t in times))
            key = ("in transit", ",".join(suspects))
            evidence[key].append(sent[task])
        lost[key].append(task)
    for (how, who), tasks in sorted(lost.items(), key=lambda item: -len(item[1])):
        if len(violations) >= MAX_VIOLATIONS:
            break
        violations.append(violation(_lost_why(how, who, tasks, deaths), *evidence[(how, who)][:5],
                                    tasks=tasks[:100], holder=who or None, how=how))
    phantom = [task for task in counted if task not in sent and sent]
    for task in phantom[:MAX_VIOLATIONS]:
        violations.append(violation(f"the sink counted task {task}, which was never sent",
                                    *counted[task], task=task))
    figures = {
        "sent": len(sent),
        "judged": len(judged),
        "counted": sum(1 for task in judged if counted.get(task)),
        "lost": sum(len(tasks) for tasks in lost.values()),
        "lost_by_holder": {f"{how} {who}".strip(): len(tasks)
                           for (how, who), tasks in lost.items()},
        "counted_twice": sum(1 for task in judged if len(counted.get(task, [])) > 1),
        "duplicates_refused": sum(1 for e in history if e.get("type") == "duplicate"),
        "untracked_results": sum(1 for e in history
                                 if e.get("type") == "result" and e.get("untracked")),
        "done_by_worker": {node: count for node, count in sorted(_done_counts(history).items())},
    }
    return decide(
        name, violations, decided=bool(judged), figures=figures,
        ok_message=f"all {len(judged)} judged task(s) counted exactly once",
        unknown_message="no task was sent early enough to be judged",
    )


def _lost_why(how: str, who: str, tasks: list[str], deaths: dict[str, list[float]]) -> str:
    count = f"{len(tasks)} task(s) lost"
    if how == "in transit":
        suspect = f"; {who} died meanwhile, the likely holder" if who else ""
        return (f"{count} in transit: queued in a socket, no worker's application received "
                f"them{suspect}: {_listing(tasks)}")
    died = deaths.get(who)
    when = f", which died at {seconds(died[0])}" if died else ""
    if how == "held by":
        return f"{count}, held by {who}{when} (received, never finished): {_listing(tasks)}"
    return f"{count}, finished by {who}{when} but never counted by the sink: {_listing(tasks)}"


def _done_counts(history: list[Event]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for event in history:
        if event.get("type") == "task_done":
            counts[str(event.get("node"))] += 1
    return counts


def _workers(history: list[Event], ctx: CheckContext) -> set[str]:
    """Nodes running the worker role, plus any node that received a task."""
    workers = {n.name for n in ctx.nodes.values() if n.role == WORKER_ROLE}
    workers |= {str(e.get("node")) for e in history if e.get("type") == "task_received"}
    return workers


def kill_stops_workers(
    history: list[Event], ctx: CheckContext, *, within: float = 1.0
) -> CheckResult:
    """Every worker running at (or started after) the kill signal exits within ``within``.

    Unknown when the sink never sent the kill signal, or when the run ended
    before a worker's bound had passed.
    """
    name = "kill_stops_workers"
    end = run_end(history, ctx)
    kills = [e for e in history if e.get("type") == "kill"]
    if not kills:
        return CheckResult(name, "unknown", message="the sink never sent the kill signal")
    kill = kills[0]
    t_kill = kill["t"]
    violations: list[dict[str, Any]] = []
    delays: dict[str, float] = {}
    undecided: list[str] = []
    excused: list[str] = []
    for worker in sorted(_workers(history, ctx)):
        spans = lives(history, worker, end)
        if not spans:
            spans = _spans_from_own_events(history, worker, end)
        judged = [(start, stop) for start, stop in spans if stop >= t_kill]
        if not judged:
            excused.append(worker)
            continue
        for start, stop in judged:
            since = max(start, t_kill)
            exited = stop < end or _exited(history, worker, stop)
            if exited:
                delay = stop - since
                delays[worker] = round(max(delays.get(worker, 0.0), delay), 6)
                if delay > within:
                    violations.append(violation(
                        f"{worker} exited {seconds(delay)} after the kill signal "
                        f"(bound {seconds(within)})", kill, worker=worker))
            elif end - since > within:
                violations.append(violation(
                    f"{worker} was still running {seconds(end - since)} after the kill signal "
                    f"(bound {seconds(within)})", kill, worker=worker))
            else:
                undecided.append(worker)
    decided = bool(delays) or bool(violations)
    if undecided and not violations:
        decided = False
    figures = {"kill_at": round(t_kill, 6), "exit_delay_s": delays, "excused": excused,
               "undecided": undecided,
               "max_exit_delay_s": max(delays.values()) if delays else None}
    return decide(
        name, violations, decided=decided, figures=figures,
        ok_message=f"{len(delays)} worker(s) exited within {seconds(within)} of the kill signal "
                   f"(slowest {seconds(figures['max_exit_delay_s'])})",
        unknown_message=(f"the run ended before the bound passed for {', '.join(undecided)}"
                         if undecided else "no worker was running when the kill signal came"),
    )


def _exited(history: list[Event], worker: str, at: float) -> bool:
    return any(e.get("type") == "lifecycle" and e.get("target") == worker
               and e.get("event") == "exit" and e["t"] == at for e in history)


def _spans_from_own_events(history: list[Event], worker: str,
                           end: float) -> list[tuple[float, float]]:
    """Without lifecycle events: from the worker's first event to its ``killed`` (or the end)."""
    own = [e for e in history if e.get("node") == worker]
    if not own:
        return []
    stop = next((e["t"] for e in own if e.get("type") == "killed"), None)
    return [(own[0]["t"], stop if stop is not None else end)]
