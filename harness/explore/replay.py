"""Measuring how often a minimal scenario reproduces its failure.

The minimal scenario is written to ``minimal.yaml`` first and *loaded back
from that file* for the replays, so the rate is the rate of exactly what a
user gets with ``zchaos run minimal.yaml`` (same seed, same schedule, the
``--impl`` overrides baked in as node commands). Replays run ``-j`` at a
time and are not cut short by ``--time``: a failure without its rate would
be half a finding.

If the minimal schedule does not fail once in its replays, the engine does
not report it as the finding: it measures the previous accepted shrink step,
then the original, so a reported schedule has failed in its own
measurement, or is reported with its rate of 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.explore.journal import Example

RunReplays = Callable[[int], list[Example]]


@dataclass
class Reproduction:
    """How often a scenario broke its contract when run again."""

    contract: str
    fails: int = 0
    replays: int = 0
    examples: list[Example] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.fails / self.replays if self.replays else 0.0

    def first_failing(self) -> Example | None:
        return next((e for e in self.examples if e.violates(self.contract)), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "contract": self.contract,
            "fails": self.fails,
            "replays": self.replays,
            "rate": round(self.rate, 4),
            "runs": [e.record.name for e in self.examples],
            "verdicts": [e.record.contracts.get(self.contract, "?") for e in self.examples],
        }


def measure(run_replays: RunReplays, contract: str, count: int) -> Reproduction:
    """Run the scenario ``count`` times; count the runs that broke ``contract``."""
    result = Reproduction(contract)
    if count <= 0:
        return result
    result.examples = run_replays(count)
    result.replays = len(result.examples)
    result.fails = sum(1 for e in result.examples if e.violates(contract))
    return result
