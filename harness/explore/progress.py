"""The live progress of an exploration: one line per finished run, a status line meanwhile.

Each finished run prints its phase, its schedule in one line, the verdicts
(a broken contract in capitals), how many of its faults hit something, its
wall time, the runs left in the phase and the failures found so far. On a
terminal a spinner line below shows the runs in flight; in CI logs only the
per-run lines appear.
"""

from __future__ import annotations

import threading
from typing import Any

from rich.console import Console
from rich.markup import escape

from harness.explore.journal import Example
from harness.explore.schedules import describe_schedule


def verdict_text(example: Example) -> str:
    record = example.record
    if record.verdict == "error":
        return f"[magenta]error[/magenta]: {escape(str(record.error))[:120]}"
    broken = [f"[red]{name}=VIOLATED[/red]" + ("" if name in record.violated else " (expected)")
              for name, verdict in record.contracts.items() if verdict == "violated"]
    others = [v for v in record.contracts.values() if v != "violated"]
    counts = {v: others.count(v) for v in dict.fromkeys(others)}
    rest = ", ".join(f"{n} {v}" for v, n in counts.items())
    return ", ".join([*broken, rest] if rest else broken) or "no contracts"


def coverage_text(example: Example) -> str:
    coverage = example.record.coverage
    if not coverage:
        return "no faults"
    hit = sum(1 for c in coverage if c.get("hit"))
    text = f"{hit}/{len(coverage)} hit"
    return text if example.record.informative else f"[yellow]{text}: uninformative[/yellow]"


class ProgressLine:
    """Prints per-run lines and keeps a status line (runs in flight, left, failures)."""

    def __init__(self, console: Console | None = None, quiet: bool = False) -> None:
        self.console = console or Console(stderr=True, highlight=False)
        self.quiet = quiet
        self.phase = "search"
        self.left = 0
        self.failures = 0
        self.in_flight = 0
        self._lock = threading.Lock()
        self._status: Any = None

    def __enter__(self) -> ProgressLine:
        if self.console.is_terminal and not self.quiet:
            self._status = self.console.status("")
            self._status.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.__exit__(*exc)
            self._status = None

    def _refresh(self) -> None:
        if self._status is not None:
            self._status.update(f"{self.phase}: {self.in_flight} run(s) in flight, "
                                f"{self.left} left, failures found: {self.failures}")

    def set_phase(self, phase: str, left: int) -> None:
        with self._lock:
            self.phase, self.left = phase, left
            self._refresh()

    def started(self) -> None:
        with self._lock:
            self.in_flight += 1
            self._refresh()

    def finished(self, example: Example) -> None:
        with self._lock:
            self.in_flight = max(0, self.in_flight - 1)
            self.left = max(0, self.left - 1)
            if not self.quiet:
                record = example.record
                self.console.print(
                    f"{example.phase:7} {example.index:>3}  "
                    f"{escape(describe_schedule(example.schedule))}  ->  "
                    f"{verdict_text(example)}  ({coverage_text(example)}, {record.wall_s:.1f}s)"
                    f"  {self.left} left, failures: {self.failures}",
                    soft_wrap=True,
                )
            self._refresh()

    def note(self, text: str) -> None:
        if not self.quiet:
            with self._lock:
                self.console.print(text, soft_wrap=True)

    def found(self) -> None:
        with self._lock:
            self.failures += 1
            self._refresh()
