"""The nemesis: turns a scenario's fault schedule into actions, and reverts them.

Process faults go to the runtime (kill, stop, start, restart, pause,
resume); network faults go to Toxiproxy's HTTP API. Each fault is a small
reversible action, as in Jepsen's nemeses: ``apply`` records what it did so
``revert`` (a ``for:`` expiring, or ``heal``) can undo exactly that. Every
apply and revert is a ``fault`` event in the history, so checkers can relate
outcomes to faults.

A partition black-holes both streams of every link across the cut with a
``timeout`` toxic (timeout 0). Healing removes those toxics *and resets the
connections*: Toxiproxy drops the bytes it held, so a ZMTP stream that
resumed would continue mid-frame; a reset makes ZeroMQ reconnect cleanly.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from harness.runtime.base import NodeSpec, Runtime
from harness.scenario.model import PROCESS_ACTIONS, STREAMS, TOXIC_ACTIONS
from harness.seeds import derive

log = logging.getLogger(__name__)

PROCESS_FAULTS = frozenset(PROCESS_ACTIONS)
TOXIC_FAULTS = frozenset(TOXIC_ACTIONS)


class ToxicApi(Protocol):
    """The part of ``ToxiproxyHandle`` the nemesis needs."""

    def add_toxic(
        self,
        proxy: str,
        toxic_type: str,
        stream: str,
        attributes: dict[str, Any],
        toxicity: float = 1.0,
        name: str | None = None,
        seed: int | None = None,
    ) -> str: ...
    def remove_toxic(self, proxy: str, name: str) -> None: ...
    def set_enabled(self, proxy: str, enabled: bool) -> None: ...
    def reset_connections(self, proxy: str) -> None: ...


@dataclass
class _Applied:
    """What one applied network fault changed, so it can be undone precisely."""

    toxics: list[tuple[str, str]] = field(default_factory=list)  # (proxy, toxic name)
    disabled: list[str] = field(default_factory=list)
    reset_on_revert: list[str] = field(default_factory=list)


def describe_target(fault: Any) -> str:
    """The `target` text of a fault event: `a,b`, `a | b` (partition sides), links."""
    if fault.action in PROCESS_FAULTS:
        return ",".join(fault.targets)
    if fault.action == "partition" and fault.sides:
        return " | ".join(",".join(side) for side in fault.sides)
    return ",".join(fault.links) if fault.links else "all"


def fault_nodes(fault: Any) -> list[str]:
    """The nodes a fault names: its targets, or every node of a partition's sides."""
    if fault.action in PROCESS_FAULTS:
        return list(fault.targets)
    if fault.action == "partition" and fault.sides:
        return [node for side in fault.sides for node in side]
    return []


class Nemesis:
    """Applies and reverts faults; owns no schedule (see :class:`Schedule`)."""

    def __init__(
        self,
        runtime: Runtime,
        toxics: ToxicApi,
        spec_for: Callable[[str], NodeSpec],
        emit: Callable[[dict[str, Any]], None],
        *,
        seed: int = 0,
        after_start: Callable[[str], None] | None = None,
    ) -> None:
        self.runtime = runtime
        self.toxics = toxics
        self.spec_for = spec_for
        self.emit = emit
        self.seed = seed
        # told after every (re)start, so the runner can log the true start time
        self.after_start = after_start or (lambda _node: None)
        self._applied: dict[int, _Applied] = {}

    def _event(self, index: int, fault: Any, phase: str, **extra: Any) -> None:
        record: dict[str, Any] = {
            "type": "fault",
            "fault": fault.action,
            "target": describe_target(fault),
            "phase": phase,
            "index": index,
        }
        nodes = fault_nodes(fault)
        if nodes:
            record["targets"] = nodes
        if fault.links:
            record["links"] = list(fault.links)
        if fault.attributes:
            record["params"] = dict(fault.attributes)
        record.update(extra)
        self.emit(record)

    def _toxic_seed(self, proxy: str, name: str) -> int:
        return derive(self.seed, "toxic", proxy, name)

    # -- apply ---------------------------------------------------------------
    def apply(self, index: int, fault: Any) -> None:
        action = fault.action
        if action in PROCESS_FAULTS:
            # Log before acting: a kill's fault event must precede the node's exit.
            self._event(index, fault, "apply")
            self._each(action, list(fault.targets))
            return
        if action == "heal":
            self.heal()
            self._event(index, fault, "apply")
            return
        applied = _Applied()
        if action == "partition":
            for link in fault.links:
                for stream in STREAMS["both"]:
                    name = f"zchaos-{index}-partition-{stream}"
                    self.toxics.add_toxic(link, "timeout", stream, {"timeout": 0}, 1.0, name,
                                          seed=self._toxic_seed(link, name))
                    applied.toxics.append((link, name))
                applied.reset_on_revert.append(link)
        elif action == "disconnect":
            for link in fault.links:
                self.toxics.set_enabled(link, False)
                applied.disabled.append(link)
        elif action in TOXIC_FAULTS:
            for link in fault.links:
                for stream in STREAMS[fault.stream]:
                    name = f"zchaos-{index}-{action}-{stream}"
                    self.toxics.add_toxic(
                        link, action, stream, dict(fault.attributes), fault.toxicity, name,
                        seed=self._toxic_seed(link, name),
                    )
                    applied.toxics.append((link, name))
                if action == "timeout" and not fault.attributes.get("timeout"):
                    applied.reset_on_revert.append(link)
        else:
            raise ValueError(f"unknown fault action {action!r}")
        self._applied[index] = applied
        self._event(index, fault, "apply")

    def _each(self, action: str, nodes: list[str]) -> None:
        """``action`` on every node; kills and stops of several nodes at once, not in turn.

        A kill returns once its node is reaped, which takes 0.1-0.3 s on a busy
        machine: one after another, six workers killed "at once" were spread
        over 1.2 s, long enough for one request's two sends to be swallowed by
        two different dying workers (majordomo-worker-killed under -j).
        """
        if action not in ("kill", "stop") or len(nodes) < 2:
            for node in nodes:
                self._process(action, node)
            return
        import threading

        errors: list[BaseException] = []

        def one(node: str) -> None:
            try:
                self._process(action, node)
            except Exception as exc:  # raised below, in the runner's thread, as before
                errors.append(exc)

        threads = [threading.Thread(target=one, args=(node,), name=f"zchaos-{action}-{node}")
                   for node in nodes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]

    def _process(self, action: str, node: str) -> None:
        rt = self.runtime
        if action == "kill":
            rt.kill(node)
        elif action == "stop":
            rt.stop(node)
        elif action == "start":
            if not rt.is_running(node):
                rt.start(self.spec_for(node))
                self.after_start(node)
        elif action == "restart":
            rt.kill(node)
            rt.start(self.spec_for(node))
            self.after_start(node)
        elif action == "pause":
            rt.pause(node)
        elif action == "resume":
            rt.resume(node)

    # -- revert --------------------------------------------------------------
    def revert(self, index: int, fault: Any) -> None:
        """Undo a fault whose ``for:`` expired."""
        action = fault.action
        if action in PROCESS_FAULTS:
            undo = {"kill": "start", "stop": "start", "pause": "resume"}.get(action)
            if undo is None:
                return
            # Logged before acting, as an apply: the revert's time is when the
            # node is started (or thawed); its lifecycle start follows.
            self._event(index, fault, "revert")
            for node in fault.targets:
                self._process(undo, node)
            return
        applied = self._applied.pop(index, None)
        if applied is None:
            return  # already healed
        self._undo(applied)
        self._event(index, fault, "revert")

    def _undo(self, applied: _Applied) -> None:
        for proxy, name in applied.toxics:
            try:
                self.toxics.remove_toxic(proxy, name)
            except Exception as exc:  # a proxy deleted under us must not stop the heal
                log.warning("could not remove toxic %s from %s: %s", name, proxy, exc)
        for proxy in applied.disabled:
            self.toxics.set_enabled(proxy, True)
        for proxy in dict.fromkeys(applied.reset_on_revert):
            self.toxics.reset_connections(proxy)

    def heal(self) -> None:
        """Remove every network fault currently applied (the ``heal`` action)."""
        for index in sorted(self._applied):
            self._undo(self._applied.pop(index))

    def active_network_faults(self) -> int:
        return len(self._applied)


@dataclass(order=True)
class _Step:
    at: float
    order: int
    kind: str = field(compare=False)  # "apply" | "revert"
    index: int = field(compare=False)
    fault: Any = field(compare=False)


class Schedule:
    """The timeline of applies and reverts, fired by the runner's loop."""

    def __init__(self, faults: list[Any]) -> None:
        self._steps: list[_Step] = []
        order = 0
        for index, fault in enumerate(faults):
            heapq.heappush(self._steps, _Step(fault.at, order, "apply", index, fault))
            order += 1
            if fault.duration is not None:
                at = fault.at + fault.duration
                heapq.heappush(self._steps, _Step(at, order, "revert", index, fault))
                order += 1

    def due(self, now: float) -> list[_Step]:
        steps: list[_Step] = []
        while self._steps and self._steps[0].at <= now:
            steps.append(heapq.heappop(self._steps))
        return steps

    def next_at(self) -> float | None:
        return self._steps[0].at if self._steps else None

    def done(self) -> bool:
        return not self._steps

    @staticmethod
    def fire(nemesis: Nemesis, step: _Step) -> None:
        if step.kind == "apply":
            nemesis.apply(step.index, step.fault)
        else:
            nemesis.revert(step.index, step.fault)
