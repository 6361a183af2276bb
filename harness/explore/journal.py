"""Every run of one exploration, in order: what was tried, in which phase, and what it proved.

The journal is what ``explore.json`` lists and what the progress line counts.
It is appended to from the executor's callbacks (possibly from ``-j``
threads), hence the lock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from harness.explore.adapter import RunRecord
from harness.explore.schedules import Schedule, describe_schedule, entries


@dataclass
class Example:
    """One real run: its schedule, seed and phase, and what it proved."""

    index: int
    phase: str  # base | search | confirm | shrink | replay
    schedule: Schedule
    seed: int
    record: RunRecord
    note: str = ""

    def violates(self, contract: str) -> bool:
        """Did this run break ``contract`` (whatever its scenario expected)?"""
        return self.record.contracts.get(contract) == "violated"

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "phase": self.phase,
            "schedule": entries(self.schedule),
            "schedule_text": describe_schedule(self.schedule),
            "seed": self.seed,
            "note": self.note,
            **self.record.to_json(),
        }


class Journal:
    """Thread-safe, ordered list of every run's example."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.examples: list[Example] = []

    def add(self, phase: str, schedule: Schedule, seed: int, record: RunRecord,
            note: str = "") -> Example:
        with self._lock:
            example = Example(len(self.examples) + 1, phase, schedule, seed, record, note)
            self.examples.append(example)
            return example
