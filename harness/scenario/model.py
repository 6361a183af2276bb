"""The resolved scenario: what the runner, topology, nemesis and checkers read.

Everything here is already checked and expanded: replicas are separate
nodes, timing defaults are copied into each node's options, group names in
faults are expanded to nodes and links, durations are numbers (seconds, or
milliseconds for role options, which is what the flags take). Nothing
downstream has to parse YAML strings or second-guess a value.

:meth:`Scenario.to_resolved_dict` writes the model back as scenario YAML so a
report keeps the exact run (seed included) and ``zchaos replay`` reloads it to
an equal :class:`Scenario`. Provenance (``source``, a fault's ``line``) does
not take part in equality, since a reloaded copy lives in another file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from harness.durations import format_duration, format_ms
from harness.roles import OPTION_TYPES
from harness.scenario.explore_spec import ExploreSpec

PROCESS_ACTIONS = ("kill", "stop", "start", "restart", "pause", "resume")
TOXIC_ACTIONS = (
    "latency",
    "bandwidth",
    "slow_close",
    "reset_peer",
    "slicer",
    "limit_data",
    "timeout",
)
NETWORK_ACTIONS = ("partition", "disconnect", *TOXIC_ACTIONS, "heal")
# A toxic fault's ``stream:`` and the Toxiproxy streams it acts on ("up" is
# client -> server). The one place both vocabularies meet: the nemesis adds
# toxics per Toxiproxy stream, the conflict checks compare them.
STREAMS: dict[str, tuple[str, ...]] = {
    "up": ("upstream",), "down": ("downstream",), "both": ("upstream", "downstream")}
ACTIONS = (*PROCESS_ACTIONS, *NETWORK_ACTIONS)

Stream = Literal["up", "down", "both"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ConnectTarget(_Frozen):
    """One ``connect`` entry after expansion: a node and the bind it connects to."""

    node: str
    port: str

    def __str__(self) -> str:
        return f"{self.node}:{self.port}"


@dataclass(frozen=True)
class Edge:
    """A connect edge ``source -> target``; Toxiproxy gets one proxy per edge, named ``name``.

    A node usually connects to another once, and the edge is ``A->B``. A node
    that connects to several binds of the same node (a peering broker reaches
    each peer's cloud ROUTER and its state PUB) has one edge per bind, each
    named with the port, ``A->B:cloud`` and ``A->B:state``, so a fault can cut
    one flow and keep the other; ``A->B`` in a fault then means all of them.
    """

    source: str
    target: str
    port: str
    qualified: bool = False  # the pair has several edges: the name carries the port

    @property
    def name(self) -> str:
        base = f"{self.source}->{self.target}"
        return f"{base}:{self.port}" if self.qualified else base


class Node(_Frozen):
    """One process of the run (a replica of a group is its own node)."""

    name: str
    group: str
    role: str
    connect: list[ConnectTarget] = Field(default_factory=list)
    # Role options after timing defaults; durations in milliseconds.
    options: dict[str, Any] = Field(default_factory=dict)
    command: list[str] | None = None
    autostart: bool = True


def connect_edges(nodes: Iterable[Node]) -> list[Edge]:
    """Every connect edge of ``nodes``, in node order then connect order.

    An edge's name carries the port when its source connects to the same
    target more than once (see :class:`Edge`).
    """
    edges: list[Edge] = []
    for node in nodes:
        per_target = Counter(target.node for target in node.connect)
        edges += [
            Edge(source=node.name, target=target.node, port=target.port,
                 qualified=per_target[target.node] > 1)
            for target in node.connect
        ]
    return edges


def _one_or_list(names: list[str]) -> str | list[str]:
    return names[0] if len(names) == 1 else list(names)


class Fault(_Frozen):
    """One scheduled fault; ``duration`` (YAML ``for:``) reverts it, None = never reverted.

    ``idle_ok``: the fault may hit an idle system without making an
    ``expect: pass`` scenario ``unknown`` (harness/coverage.py).
    """

    at: float
    action: str
    targets: list[str] = Field(default_factory=list)
    links: list[str] = Field(default_factory=list)
    sides: list[list[str]] | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    stream: Stream = "both"
    toxicity: float = 1.0
    duration: float | None = None
    idle_ok: bool = False
    line: int = 0

    @property
    def until(self) -> float | None:
        """When the fault is reverted (seconds since start), or None."""
        return None if self.duration is None else self.at + self.duration

    @property
    def is_process(self) -> bool:
        return self.action in PROCESS_ACTIONS

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Fault):
            return NotImplemented
        return self.model_dump(exclude={"line"}) == other.model_dump(exclude={"line"})

    __hash__ = None  # type: ignore[assignment]

    def to_yaml_entry(self) -> dict[str, Any]:
        """The fault as a scenario file entry, every group and default spelled out."""
        entry: dict[str, Any] = {"at": format_duration(self.at)}
        if self.action in PROCESS_ACTIONS:
            entry[self.action] = _one_or_list(self.targets)
        elif self.action == "heal":
            entry["heal"] = True
        elif self.action == "partition":
            entry["partition"] = [list(side) for side in self.sides or []]
        elif self.action == "disconnect":
            entry["disconnect"] = {"link": _one_or_list(self.links)}
        else:
            entry[self.action] = {
                "link": _one_or_list(self.links),
                "stream": self.stream,
                "toxicity": self.toxicity,
                **self.attributes,
            }
        if self.duration is not None:
            entry["for"] = format_duration(self.duration)
        if self.idle_ok:
            entry["idle_ok"] = True
        return entry


class ContractSpec(_Frozen):
    """A contract to check and its parameters (durations in seconds)."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    # Which params were written as durations, so they are written back as such.
    _duration_params: frozenset[str] = PrivateAttr(default_factory=frozenset)

    def to_yaml_entry(self) -> str | dict[str, Any]:
        if not self.params:
            return self.name
        params = {
            key: format_duration(value) if key in self._duration_params else value
            for key, value in self.params.items()
        }
        return {self.name: params}


class Expectation(_Frozen):
    """What the run should conclude: every contract holds, or these ones are violated."""

    outcome: Literal["pass", "violated"] = "pass"
    violated: list[str] = Field(default_factory=list)

    def to_yaml_value(self) -> str | dict[str, Any]:
        return "pass" if self.outcome == "pass" else {"violated": list(self.violated)}


def _option_to_yaml(option: str, value: Any) -> Any:
    if OPTION_TYPES.get(option) == "duration":
        return format_ms(float(value))
    return value


class Scenario(_Frozen):
    """A loaded, validated, fully resolved scenario."""

    name: str
    description: str = ""
    pattern: str
    duration: float
    seed: int
    timing: dict[str, Any] = Field(default_factory=dict)  # durations in milliseconds
    nodes: dict[str, Node]
    faults: list[Fault] = Field(default_factory=list)
    contracts: list[ContractSpec] = Field(default_factory=list)
    expect: Expectation = Field(default_factory=Expectation)
    explore: ExploreSpec | None = None  # what `zchaos explore` may try (docs/explore.md)
    source: str = "<dict>"
    # `zchaos check` advice found at load time (harness/scenario/warnings.py):
    # "file:line: field: warning: message" lines; not part of equality.
    _warnings: list[str] = PrivateAttr(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        return list(self._warnings)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Scenario):
            return NotImplemented
        return all(
            getattr(self, name) == getattr(other, name)
            for name in type(self).model_fields
            if name != "source"
        )

    __hash__ = None  # type: ignore[assignment]

    def edges(self) -> list[Edge]:
        """Every connect edge, in node order then connect order."""
        return connect_edges(self.nodes.values())

    def groups(self) -> dict[str, list[str]]:
        """Group name -> its nodes (a node without replicas is a group of one)."""
        out: dict[str, list[str]] = {}
        for node in self.nodes.values():
            out.setdefault(node.group, []).append(node.name)
        return out

    def to_resolved_dict(self) -> dict[str, Any]:
        """The scenario as a file that loads back to an equal Scenario (seed included)."""
        nodes: dict[str, Any] = {}
        for node in self.nodes.values():
            entry: dict[str, Any] = {}
            if node.group != node.name:
                entry["group"] = node.group
            entry["role"] = node.role
            if node.connect:
                entry["connect"] = [str(target) for target in node.connect]
            if node.command is not None:
                entry["command"] = list(node.command)
            if not node.autostart:
                entry["start"] = False
            for option, value in node.options.items():
                entry[option] = _option_to_yaml(option, value)
            nodes[node.name] = entry
        out: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "pattern": self.pattern,
            "duration": format_duration(self.duration),
            "seed": self.seed,
        }
        if self.timing:
            out["timing"] = {k: _option_to_yaml(k, v) for k, v in self.timing.items()}
        out["nodes"] = nodes
        if self.faults:
            out["faults"] = [fault.to_yaml_entry() for fault in self.faults]
        if self.contracts:
            out["contracts"] = [spec.to_yaml_entry() for spec in self.contracts]
        out["expect"] = self.expect.to_yaml_value()
        if self.explore is not None:
            out["explore"] = self.explore.to_yaml_value()
        return out

    def to_resolved_yaml(self) -> str:
        """:meth:`to_resolved_dict` as YAML text (what reports save as scenario.yaml)."""
        # allow_unicode=False: YAML escapes then keep odd characters (NEL, U+2028)
        # exact, where raw they would be read back as line breaks.
        return yaml.safe_dump(self.to_resolved_dict(), sort_keys=False, default_flow_style=None,
                              allow_unicode=False, width=100)
