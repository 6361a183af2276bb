"""What faults may refer to, and the arithmetic of the run's timeline.

Shared by the resolution of each fault (:mod:`harness.scenario.faults`) and
the checks across faults (:mod:`harness.scenario.conflicts`); its own module
so neither needs the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.scenario.model import Edge, Node


def plus(at: float, duration: float) -> float:
    """``at + duration`` to the nanosecond, so 0.1s + 0.2s ends exactly at 0.3s."""
    return round(at + duration, 9)


@dataclass
class World:
    """What faults may refer to."""

    nodes: dict[str, Node]
    groups: dict[str, list[str]]
    edges: list[Edge]
    duration: float
    broken: set[str] = field(default_factory=set)  # nodes whose definition failed (reported)
