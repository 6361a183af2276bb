"""The resolved ``explore:`` section: which faults ``zchaos explore`` may try.

A scenario's ``faults:`` say what happens in one run; its optional
``explore:`` section says what a *search* may do instead (docs/explore.md):
which nodes may be killed, stopped, restarted or paused, which links may be
cut or slowed, which toxics with which ranges, how many faults at most, and
when. Everything here is already checked and expanded (groups to nodes,
``group->group`` to links, durations to seconds, toxic attributes to
Toxiproxy's integer units), and :meth:`ExploreSpec.to_yaml_value` writes it
back so the resolved scenario in a report reloads to an equal spec.

This module holds only the model (no validation, no imports of the rest of
the scenario package) so :mod:`harness.scenario.model` can refer to it.
The rules live in :mod:`harness.scenario.explore`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from harness.durations import format_duration

# Process faults a search may generate (start/resume only appear as reverts).
EXPLORE_PROCESS = ("kill", "stop", "restart", "pause")
# Every toxic of the embedded Toxiproxy, with the range a search draws from by
# default, in the attribute's Toxiproxy unit (ms, us or a plain integer).
DEFAULT_TOXIC_RANGES: dict[str, dict[str, tuple[int, int]]] = {
    "latency": {"latency": (20, 1000), "jitter": (0, 100)},
    "bandwidth": {"rate": (1, 64)},
    "slow_close": {"delay": (10, 1000)},
    "timeout": {"timeout": (0, 2000)},
    "reset_peer": {"timeout": (0, 500)},
    "slicer": {"average_size": (1, 64), "size_variation": (0, 32), "delay": (0, 10000)},
    "limit_data": {"bytes": (0, 10000)},
}
# The values of a fault's stream: a search may draw, i.e. the keys of
# harness.scenario.model.STREAMS (model imports this module, so not from there).
ALL_STREAMS = ("up", "down", "both")


def _one_or_all(names: list[str]) -> str | list[str]:
    """A target as written back: one name, or the list of names hit together."""
    return names[0] if len(names) == 1 else list(names)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ToxicRange(_Frozen):
    """One toxic a search may apply: attribute ranges, streams and toxicity range."""

    attributes: dict[str, tuple[int, int]] = Field(default_factory=dict)
    streams: tuple[str, ...] = ALL_STREAMS
    toxicity: tuple[float, float] = (1.0, 1.0)

    def to_yaml_value(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: [lo, hi] for name, (lo, hi) in self.attributes.items()}
        out["stream"] = list(self.streams)
        out["toxicity"] = [self.toxicity[0], self.toxicity[1]]
        return out


def default_toxics() -> dict[str, ToxicRange]:
    return {name: ToxicRange(attributes=dict(ranges))
            for name, ranges in DEFAULT_TOXIC_RANGES.items()}


class ExploreSpec(_Frozen):
    """What ``zchaos explore`` may generate for a scenario (all names resolved).

    ``window`` and ``length`` left as None are derived from the scenario by
    the explorer (see ``harness.explore.vocabulary``). A process action maps
    to its targets, each a list of nodes hit together (a group written in the
    file is one target: all its members at once); None = every node alone and
    every group together; absent = never. ``links`` lists link targets the
    same way (``client->server`` with groups is one bundle; None = every edge
    alone and every group-to-group bundle); their union bounds every network
    fault, partitions included (a partition is allowed only if every link it
    cuts is in it).
    ``cuts`` None with ``partition`` true means every two-group split of the
    nodes that cuts an allowed link.
    """

    max_faults: int = 3
    window: tuple[float, float] | None = None
    length: tuple[float, float] | None = None
    permanent: bool = True
    process: dict[str, list[list[str]] | None] = Field(
        default_factory=lambda: dict.fromkeys(EXPLORE_PROCESS))
    links: list[list[str]] | None = None
    partition: bool = True
    cuts: list[list[list[str]]] | None = None
    one_way: bool = True
    disconnect: bool = True
    toxics: dict[str, ToxicRange] = Field(default_factory=default_toxics)

    def to_yaml_value(self) -> dict[str, Any]:
        """The section as scenario YAML, every default spelled out."""
        out: dict[str, Any] = {"max_faults": self.max_faults}
        if self.window is not None:
            out["window"] = [format_duration(self.window[0]), format_duration(self.window[1])]
        if self.length is not None:
            out["length"] = [format_duration(self.length[0]), format_duration(self.length[1])]
        out["permanent"] = self.permanent
        for action in EXPLORE_PROCESS:
            if action not in self.process:
                out[action] = False
            else:
                targets = self.process[action]
                out[action] = True if targets is None else [_one_or_all(t) for t in targets]
        if self.links is not None:
            out["links"] = [_one_or_all(option) for option in self.links]
        if self.cuts is not None:
            out["partition"] = [[list(side) for side in cut] for cut in self.cuts]
        else:
            out["partition"] = self.partition
        out["one_way"] = self.one_way
        out["disconnect"] = self.disconnect
        out["toxics"] = {name: spec.to_yaml_value() for name, spec in self.toxics.items()} \
            if self.toxics else False
        return out
