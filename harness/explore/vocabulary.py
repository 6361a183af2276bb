"""The fault vocabulary of one exploration: what may break, where, when and how hard.

It combines the scenario's topology (nodes, groups, connect edges) with its
optional ``explore:`` section (:class:`~harness.scenario.explore_spec.ExploreSpec`).
Without that section the default is the whole vocabulary: every node may be
killed, stopped, restarted or paused; every connect edge (and every
``group->group`` bundle of edges) may be disconnected, cut one way or given
any toxic of the embedded Toxiproxy; every split of the nodes into two groups
that cuts a link may be partitioned.

**When.** Faults are applied and reverted inside ``window``: by default from
the base scenario's first fault (its authors know when the system has
settled; 1 s or a fifth of the duration without faults) to the duration
minus the longest ``within`` bound of its contracts (at least 1 s), so a
contract can still judge the recovery. A fault lasts ``length``: by default
from 200 ms to the whole window. Times are drawn in steps of 100 ms.

Kinds are ranked from simple to elaborate (:data:`KIND_RANK`); the strategies
draw them and the shrinker moves a fault towards the simpler end.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from harness.scenario import Scenario
from harness.scenario.explore_spec import EXPLORE_PROCESS, ExploreSpec, ToxicRange

STEP = 0.1  # seconds: the grid of fault times and lengths
# Simple to elaborate. "cut" is a one-way black hole (timeout toxic, timeout 0).
KIND_RANK = ("kill", "stop", "restart", "pause", "start", "partition", "disconnect", "cut",
             "latency", "timeout", "reset_peer", "slow_close", "bandwidth", "limit_data", "slicer")
PROCESS_KINDS = ("kill", "stop", "restart", "pause", "start")
LINK_KINDS = ("disconnect", "cut", "latency", "timeout", "reset_peer", "slow_close",
              "bandwidth", "limit_data", "slicer")
DEFAULT_SETTLE = 1.0  # s kept free of faults at the end when no contract names a bound
MIN_WINDOW = 0.5
ENUMERATE_PARTITIONS_UP_TO = 12  # nodes; above that a split is drawn as a random subset


def rank(kind: str) -> int:
    return KIND_RANK.index(kind) if kind in KIND_RANK else len(KIND_RANK)


@dataclass(frozen=True)
class Vocabulary:
    """Concrete choices for the strategies and the shrinker (all names resolved)."""

    nodes: tuple[str, ...]
    process: dict[str, tuple[tuple[str, ...], ...]]  # kind -> target options
    link_options: tuple[tuple[str, ...], ...]  # one edge, or a group->group bundle
    allowed_links: frozenset[str]
    edges: tuple[tuple[str, str, str], ...]  # (link name, source, target)
    partition: bool
    cuts: tuple[tuple[tuple[str, ...], ...], ...] | None  # explicit partitions
    one_way: bool
    disconnect: bool
    toxics: dict[str, ToxicRange]
    window: tuple[float, float]
    length: tuple[float, float]
    max_faults: int
    permanent: bool
    notes: list[str] = field(default_factory=list)

    # -- what the strategies may draw ---------------------------------------
    def process_kinds(self) -> list[str]:
        return [k for k in PROCESS_KINDS if self.process.get(k)]

    def link_kinds(self) -> list[str]:
        if not self.link_options:
            return []
        kinds = []
        if self.disconnect:
            kinds.append("disconnect")
        if self.one_way:
            kinds.append("cut")
        kinds += [k for k in LINK_KINDS if k in self.toxics]
        return kinds

    def has_partitions(self) -> bool:
        if not self.partition:
            return False
        return bool(self.cuts) if self.cuts is not None else len(self.nodes) >= 2

    def kinds(self) -> list[str]:
        """Every kind of fault allowed, simplest first (what a drawn fault is made of)."""
        kinds = [*self.process_kinds(), *(["partition"] if self.has_partitions() else []),
                 *self.link_kinds()]
        return sorted(kinds, key=rank)

    def categories(self) -> list[str]:
        out = []
        if self.process_kinds():
            out.append("process")
        if self.has_partitions():
            out.append("partition")
        if self.link_kinds():
            out.append("link")
        return out

    def cut_links(self, side: set[str]) -> list[str]:
        """Links a two-group partition with ``side`` on one side cuts."""
        return [name for name, src, dst in self.edges if (src in side) != (dst in side)]

    def partition_allowed(self, side: set[str]) -> bool:
        cut = self.cut_links(side)
        return bool(cut) and all(link in self.allowed_links for link in cut)

    # -- identity -------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """A JSON-able summary (explore.json and the example database key)."""
        return {
            "window_s": list(self.window),
            "length_s": list(self.length),
            "max_faults": self.max_faults,
            "permanent": self.permanent,
            "process": {k: [list(t) for t in v] for k, v in self.process.items()},
            "links": [list(o) for o in self.link_options],
            "partition": (
                [[list(s) for s in c] for c in self.cuts] if self.cuts is not None
                else ("every two-group split that cuts an allowed link" if self.partition
                      else False)),
            "one_way": self.one_way,
            "disconnect": self.disconnect,
            "toxics": {name: t.to_yaml_value() for name, t in self.toxics.items()},
            "notes": list(self.notes),
        }

    def digest(self) -> str:
        text = json.dumps(self.describe(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _grid(value: float) -> float:
    return round(round(value / STEP) * STEP, 6)


def default_window(scenario: Scenario) -> tuple[tuple[float, float], list[str]]:
    notes: list[str] = []
    if scenario.faults:
        start = min(f.at for f in scenario.faults)
        notes.append(f"window starts at the base scenario's first fault ({start:g}s)")
    else:
        start = min(1.0, scenario.duration / 5)
    bounds = [float(v) for spec in scenario.contracts for k, v in spec.params.items()
              if k == "within" and isinstance(v, int | float)]
    settle = max([DEFAULT_SETTLE, *bounds])
    end = scenario.duration - settle
    if end - start < MIN_WINDOW:
        end = min(scenario.duration, start + MIN_WINDOW)
        notes.append("window shorter than the contracts' bounds: the scenario is short")
    else:
        notes.append(f"window ends {settle:g}s before the end (the longest `within` bound)")
    return (_grid(start), _grid(end)), notes


def _link_options(scenario: Scenario, allowed: frozenset[str]) -> tuple[tuple[str, ...], ...]:
    """Every edge alone, then every group->group bundle of two or more edges."""
    edges = scenario.edges()
    singles = [(e.name,) for e in edges if e.name in allowed]
    group_of = {n.name: n.group for n in scenario.nodes.values()}
    bundles: dict[tuple[str, str], list[str]] = {}
    for e in edges:
        if e.name in allowed:
            bundles.setdefault((group_of[e.source], group_of[e.target]), []).append(e.name)
    groups = [tuple(names) for names in bundles.values() if len(names) > 1]
    return tuple(singles + groups)


def _targets(scenario: Scenario,
             targets: list[list[str]] | None) -> tuple[tuple[str, ...], ...]:
    """Target options: as the explore section lists them, else each node alone and
    each group (of two or more) together."""
    if targets is not None:
        return tuple(tuple(t) for t in targets)
    singles = [(n,) for n in scenario.nodes]
    groups = [tuple(members) for members in scenario.groups().values() if len(members) > 1]
    return tuple(singles + groups)


def _every_split(scenario: Scenario, allowed: frozenset[str]) -> tuple[
        tuple[tuple[str, ...], ...], ...]:
    """Every split of the nodes into two groups that cuts at least one link, all allowed;
    smallest minority side first."""
    nodes = list(scenario.nodes)
    edges = [(e.name, e.source, e.target) for e in scenario.edges()]
    found = []
    first, rest = nodes[0], nodes[1:]
    for mask in range(2 ** len(rest)):
        side = {first} | {n for i, n in enumerate(rest) if mask >> i & 1}
        if len(side) == len(nodes):
            continue
        cut = [name for name, src, dst in edges if (src in side) != (dst in side)]
        if not cut or any(link not in allowed for link in cut):
            continue
        one = tuple(n for n in nodes if n in side)
        other = tuple(n for n in nodes if n not in side)
        small, big = sorted((one, other), key=len)
        found.append((small, big))
    found.sort(key=lambda c: (len(c[0]), c))
    return tuple(found)


def build_vocabulary(scenario: Scenario, spec: ExploreSpec | None = None) -> Vocabulary:
    """The vocabulary for ``scenario`` (its own ``explore:`` section unless ``spec`` is given)."""
    spec = spec if spec is not None else (scenario.explore or ExploreSpec())
    window, notes = default_window(scenario)
    if spec.window is not None:
        window = (_grid(spec.window[0]), _grid(spec.window[1]))
        notes = ["window from the explore section"]
    span = max(STEP, window[1] - window[0])
    length = spec.length if spec.length is not None else (min(0.2, span), span)
    length = (max(STEP, _grid(length[0])), max(STEP, _grid(min(length[1], span))))
    if length[0] > length[1]:
        length = (length[1], length[1])
    autostart = {n.name for n in scenario.nodes.values() if n.autostart}
    process: dict[str, tuple[tuple[str, ...], ...]] = {}
    for kind in EXPLORE_PROCESS:
        if kind not in spec.process:
            continue
        options = tuple(t for t in _targets(scenario, spec.process[kind])
                        if all(n in autostart for n in t))
        if options:
            process[kind] = options
    late = [(n,) for n in scenario.nodes if n not in autostart]
    if late:
        process["start"] = tuple(late)
        notes.append("nodes with start: false may be started: " + ", ".join(n for (n,) in late))
    all_links = [e.name for e in scenario.edges()]
    if spec.links is not None:
        link_options = tuple(tuple(option) for option in spec.links)
        allowed = frozenset(link for option in spec.links for link in option)
    else:
        allowed = frozenset(all_links)
        link_options = _link_options(scenario, allowed)
    cuts = None
    if spec.cuts is not None:
        cuts = tuple(tuple(tuple(side) for side in cut) for cut in spec.cuts)
    elif spec.partition and len(scenario.nodes) <= ENUMERATE_PARTITIONS_UP_TO:
        cuts = _every_split(scenario, allowed)
        notes.append(f"{len(cuts)} two-group partitions cut only allowed links")
    return Vocabulary(
        nodes=tuple(scenario.nodes),
        process=process,
        link_options=link_options,
        allowed_links=allowed,
        edges=tuple((e.name, e.source, e.target) for e in scenario.edges()),
        partition=spec.partition or spec.cuts is not None,
        cuts=cuts,
        one_way=spec.one_way,
        disconnect=spec.disconnect,
        toxics=dict(spec.toxics),
        window=window,
        length=length,
        max_faults=spec.max_faults,
        permanent=spec.permanent,
        notes=notes,
    )
