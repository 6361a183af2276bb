"""Scenario errors that say where: file, line, field path in YAML terms, and what to do.

Validation collects every problem of a file in an :class:`Issues` list rather
than stopping at the first, so a user fixes a file in one round trip. The
result is raised as :class:`ScenarioErrors`, itself a :class:`ScenarioError`
(the first problem), so callers that only want "one message" can catch the
base class and callers that print every line can read ``errors``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

Path_ = tuple[str | int, ...]


def field_path(path: Path_) -> str:
    """``("faults", 2, "latency", "link")`` -> ``"faults[2].latency.link"``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``" (did you mean 'faults'?)"`` when a close match exists, else ``""``."""
    matches = difflib.get_close_matches(word, list(dict.fromkeys(choices)), n=3, cutoff=0.6)
    if not matches:
        return ""
    # Keep only the suggestions about as good as the best one.
    score = {m: difflib.SequenceMatcher(None, word, m).ratio() for m in matches}
    matches = [m for m in matches if score[m] >= score[matches[0]] - 0.05]
    return " (did you mean " + " or ".join(repr(m) for m in matches) + "?)"


def one_of(choices: Iterable[str]) -> str:
    return ", ".join(sorted(choices)) or "(none)"


class ScenarioError(Exception):
    """One problem in a scenario file: ``file:line: field.path: message``."""

    def __init__(self, file: str, line: int | None, field: str, message: str) -> None:
        super().__init__(file, line, field, message)
        self.file = file
        self.line = line
        self.field = field
        self.message = message

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        if self.field:
            return f"{where}: {self.field}: {self.message}"
        return f"{where}: {self.message}"

    def __repr__(self) -> str:
        return f"ScenarioError({str(self)!r})"


class ScenarioErrors(ScenarioError):
    """Every problem found in one file; behaves as its first problem where one is expected."""

    def __init__(self, errors: list[ScenarioError]) -> None:
        if not errors:
            raise ValueError("ScenarioErrors needs at least one error")
        first = errors[0]
        super().__init__(first.file, first.line, first.field, first.message)
        self.errors = errors

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)

    def lines(self) -> list[str]:
        return [str(e) for e in self.errors]


class Issues:
    """The problems of one file, with the YAML line of every field path we know."""

    def __init__(self, source: str, lines: Mapping[Path_, int] | None = None) -> None:
        self.source = source
        self.lines: Mapping[Path_, int] = lines or {}
        self.errors: list[ScenarioError] = []

    def line_of(self, path: Path_) -> int | None:
        """The line of ``path``, or of its nearest ancestor written in the file."""
        for cut in range(len(path), -1, -1):
            line = self.lines.get(path[:cut])
            if line is not None:
                return line
        return None

    def add(self, path: Path_, message: str, line: int | None = None) -> None:
        """Record a problem at ``path`` (at ``line`` when given, else the path's line)."""
        where = line if line is not None else self.line_of(path)
        error = ScenarioError(self.source, where, field_path(path), message)
        if str(error) not in {str(e) for e in self.errors}:  # replicas repeat their group's
            self.errors.append(error)

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            ordered = sorted(
                self.errors, key=lambda e: (e.line is None, e.line or 0)
            )
            raise ScenarioErrors(ordered)
