"""Fault schedules as the explorer handles them: tuples of scenario :class:`Fault` values.

A schedule is exactly what a scenario's ``faults:`` resolve to, so every
schedule the search, the shrinker or the replayer runs goes through the
scenario loader first (:func:`with_schedule`): the same checks as a file
(no start of a running node, no two partitions at once...), the same
nemesis afterwards. The explorer never applies a fault itself; it only
writes scenarios (the generator never knows how a fault is applied).

This module also gives schedules a stable text form: :func:`describe` (one
line for progress and reports) and :func:`schedule_key` (identity for the
run memo, the shrinker's "already tried" set and failure folders).
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from harness.durations import format_duration
from harness.scenario import Fault, Scenario, ScenarioError, scenario_from_dict

Schedule = tuple[Fault, ...]

ONE_WAY_CUT = "cut"  # a timeout toxic with timeout 0 on one stream: a one-way black hole


def kind_of(fault: Fault) -> str:
    """The explorer's name for a fault's kind (``cut`` for a one-way black hole)."""
    if fault.action == "timeout" and not fault.attributes.get("timeout"):
        return ONE_WAY_CUT
    return fault.action


def _secs(value: float) -> str:
    return format_duration(round(value, 6))


def describe(fault: Fault) -> str:
    """One fault in a few words: ``kill primary @3s for 1200ms``."""
    kind = kind_of(fault)
    if fault.action == "partition" and fault.sides:
        what = "partition " + " | ".join(",".join(side) for side in fault.sides)
    elif fault.is_process:
        what = f"{kind} {','.join(fault.targets)}"
    elif fault.action == "heal":
        what = "heal"
    else:
        what = f"{kind} {','.join(fault.links)}"
        if fault.action != "disconnect":
            if fault.stream != "both":
                what += f" {fault.stream}"
            params = {k: v for k, v in fault.attributes.items()
                      if not (kind == ONE_WAY_CUT and k == "timeout")}
            if params:
                what += " " + " ".join(f"{k}={v}" for k, v in params.items())
            if fault.toxicity != 1.0:
                what += f" toxicity={fault.toxicity:g}"
    when = f" @{_secs(fault.at)}"
    if fault.duration is not None:
        when += f" for {_secs(fault.duration)}"
    return what + when


def describe_schedule(schedule: Iterable[Fault]) -> str:
    text = "; ".join(describe(f) for f in schedule)
    return text or "(no faults)"


def entries(schedule: Iterable[Fault]) -> list[dict[str, Any]]:
    """The schedule as ``faults:`` entries of a scenario file."""
    return [fault.to_yaml_entry() for fault in schedule]


def schedule_key(schedule: Iterable[Fault]) -> str:
    """A stable identity: equal schedules (up to YAML line numbers) give equal keys."""
    return json.dumps(entries(schedule), sort_keys=True, separators=(",", ":"))


def short_hash(text: str, length: int = 8) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def sort_schedule(faults: Iterable[Fault]) -> Schedule:
    return tuple(sorted(faults, key=lambda f: (f.at, schedule_key([f]))))


class ScheduleBuilder:
    """Turns schedules into runnable scenarios derived from one base scenario.

    The base is resolved once; each build copies its data, swaps ``faults``
    (and optionally name, seed, contracts, expect, commands) and loads it
    through the scenario loader, so an invalid schedule is refused exactly
    as a file would be.
    """

    def __init__(self, base: Scenario) -> None:
        self.base = base
        data = base.to_resolved_dict()
        data.pop("faults", None)
        data.pop("explore", None)
        self._data = data

    def data(
        self,
        schedule: Iterable[Fault],
        *,
        name: str | None = None,
        seed: int | None = None,
        description: str | None = None,
        contracts: list[Any] | None = None,
        expect: Any = None,
        commands: Mapping[str, str | list[str]] | None = None,
    ) -> dict[str, Any]:
        """The scenario file contents for ``schedule`` (a plain dict, YAML-ready)."""
        data = copy.deepcopy(self._data)
        if name is not None:
            data["name"] = name
        if seed is not None:
            data["seed"] = seed
        if description is not None:
            data["description"] = description
        faults = entries(schedule)
        rebuilt: dict[str, Any] = {}
        for key, value in data.items():
            if key == "contracts":
                rebuilt["faults"] = faults
            rebuilt[key] = value
        if "faults" not in rebuilt:
            rebuilt["faults"] = faults
        if not faults:
            rebuilt.pop("faults")
        if contracts is not None:
            rebuilt["contracts"] = contracts
        if expect is not None:
            rebuilt["expect"] = expect
        if commands:
            for node in rebuilt["nodes"].values():
                command = commands.get(node["role"])
                if command is not None and "command" not in node:
                    node["command"] = command
        return rebuilt

    def build(self, schedule: Iterable[Fault], **kw: Any) -> Scenario:
        """A validated scenario; raises :class:`ScenarioError` when the schedule is invalid."""
        return scenario_from_dict(self.data(schedule, **kw), source=f"<explore {self.base.name}>")

    def is_valid(self, schedule: Iterable[Fault]) -> bool:
        try:
            self.build(schedule)
        except ScenarioError:
            return False
        return True

    def repair(self, faults: Iterable[Fault]) -> Schedule:
        """Keep faults in time order while the schedule stays valid; drop the others.

        Generated faults can collide (a pause of a node that is down, two
        toxics of one kind on one link at once); rather than reject the
        whole example, the colliding fault is dropped, which the loader's
        own checks decide.
        """
        kept: list[Fault] = []
        for fault in sort_schedule(faults):
            if self.is_valid([*kept, fault]):
                kept.append(fault)
        return tuple(kept)
