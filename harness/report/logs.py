"""The log pane: each node's own log lines with the harness's events woven in.

``logs/<node>.log`` holds what the node printed, stamped by the node with
wall-clock time (Python's logging: ``2026-12-02 13:25:28,509``), plus the
runtime's ``--- zchaos: start #N: argv`` header before each start. The
history is in run seconds. To put both on one clock the pane needs the wall
time of run second 0 (the *anchor*), taken from, in order:

1. ``report.json`` ``clock.t0_unix`` when a report carries it;
2. the modification time of ``traces/harness.jsonl``, which the harness
   flushed with its last event, so ``mtime - t(last harness event)`` is
   exact for a fresh folder; it is kept only when every start header's first
   stamped line lands within ``HEADER_SLACK_S`` after that start;
3. per node, the first stamped line after each start header taken as the
   start itself (approximate: a process prints a little after it starts; the
   pane says so).

Lines without a stamp (tracebacks, a user's node printing bare text) take
the time of the line before. A long log is cut to the lines around faults,
violations and lifecycle events, with a note of how much was left out.
"""

from __future__ import annotations

import datetime as dt
import heapq
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.report.scene import HARNESS, Scene, exit_words

STAMP = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:[,.](\d{1,6}))?")
HEADER = re.compile(r"^--- zchaos: start #(\d+)")
MAX_LINES = 2000  # per node, after which the log is cut around interesting moments
KEEP_WINDOW_S = 2.0
HEAD_TAIL = 100
MAX_LINE_CHARS = 500
HEADER_SLACK_S = 30.0


@dataclass
class LogLine:
    t: float | None
    text: str
    kind: str  # log | harness | elided


@dataclass
class NodeLog:
    node: str
    slug: str
    file: str  # path relative to the scenario folder
    lines: list[LogLine] = field(default_factory=list)
    total: int = 0
    clock: str = "exact"  # exact | approximate | none

    def line_before(self, t: float) -> int:
        """Index of the last line at or before ``t`` (the first line when none)."""
        best = 0
        for i, line in enumerate(self.lines):
            if line.t is not None and line.t <= t:
                best = i
            elif line.t is not None and line.t > t:
                break
        return best

    def anchor(self, i: int) -> str:
        return f"log-{self.slug}-{i}"


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


def _stamp(text: str) -> float | None:
    """Wall-clock seconds (local time) of a ``YYYY-MM-DD HH:MM:SS,mmm`` prefix."""
    m = STAMP.match(text)
    if not m:
        return None
    try:
        base = dt.datetime.strptime(f"{m.group(1)} {m.group(2)}", "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    frac = m.group(3) or "0"
    return base.timestamp() + int(frac) / (10 ** len(frac))


def _starts(history: Sequence[Mapping[str, Any]], node: str) -> list[float]:
    return [float(e["t"]) for e in history
            if e.get("type") == "lifecycle" and e.get("target") == node
            and e.get("event") == "start"]


def _first_stamps(raw: list[str]) -> list[tuple[int, float]]:
    """(start number, wall time of the first stamped line after that header)."""
    found: list[tuple[int, float]] = []
    current: int | None = None
    for line in raw:
        header = HEADER.match(line)
        if header:
            current = int(header.group(1))
            continue
        if current is not None:
            wall = _stamp(line)
            if wall is not None:
                found.append((current, wall))
                current = None
    return found


def _mtime_anchor(folder: Path, history: Sequence[Mapping[str, Any]]) -> float | None:
    trace = folder / "traces" / "harness.jsonl"
    last = next((e for e in reversed(history) if e.get("node") == HARNESS), None)
    if last is None:
        return None
    try:
        return trace.stat().st_mtime - float(last["t"])
    except OSError:
        return None


def _plausible(anchor: float, logs: Mapping[str, list[str]],
               history: Sequence[Mapping[str, Any]]) -> bool:
    checked = 0
    for node, raw in logs.items():
        starts = _starts(history, node)
        for number, wall in _first_stamps(raw):
            if number - 1 >= len(starts):
                continue
            checked += 1
            delta = (wall - anchor) - starts[number - 1]
            if not -0.5 <= delta <= HEADER_SLACK_S:
                return False
    return checked > 0


def choose_anchor(folder: Path, report: Mapping[str, Any],
                  history: Sequence[Mapping[str, Any]],
                  logs: Mapping[str, list[str]]) -> float | None:
    """Wall time of run second 0, when it can be known exactly (see module doc)."""
    clock = report.get("clock")
    if isinstance(clock, Mapping) and isinstance(clock.get("t0_unix"), int | float):
        return float(clock["t0_unix"])
    anchor = _mtime_anchor(folder, history)
    if anchor is not None and _plausible(anchor, logs, history):
        return anchor
    return None


def _harness_lines(node: str, scene: Scene, history: Sequence[Mapping[str, Any]],
                   with_starts: bool) -> list[LogLine]:
    lines: list[LogLine] = []
    for e in history:
        kind = e.get("type")
        if kind == "lifecycle" and e.get("target") == node:
            if e.get("event") == "exit":
                lines.append(LogLine(e["t"], f"[zchaos] process ended: {exit_words(e.get('code'))}",
                                     "harness"))
            elif with_starts and e.get("event") == "start":
                lines.append(LogLine(e["t"], "[zchaos] process started", "harness"))
        elif kind in ("state", "fatal") and e.get("node") == node:
            what = e.get("state") if kind == "state" else e.get("reason")
            lines.append(LogLine(e["t"], f"[trace] {kind}: {what}", "harness"))
    for f in scene.faults:
        if node not in f.nodes:
            continue
        lines.append(LogLine(f.start, f"[zchaos] fault #{f.index + 1} applied: {f.label}",
                             "harness"))
        if f.end is not None:
            lines.append(LogLine(f.end, f"[zchaos] fault #{f.index + 1} reverted: {f.label}",
                                 "harness"))
    lines.sort(key=lambda line: line.t or 0.0)
    return lines


def _timed_lines(node: str, raw: list[str], history: Sequence[Mapping[str, Any]],
                 anchor: float | None) -> tuple[list[LogLine], str]:
    starts = _starts(history, node)
    firsts = dict(_first_stamps(raw))
    clock = "exact" if anchor is not None else ("approximate" if firsts else "none")
    lines: list[LogLine] = []
    t: float | None = None
    number = 0
    for text in raw:
        text = text[:MAX_LINE_CHARS]
        header = HEADER.match(text)
        if header:
            number = int(header.group(1))
            if number - 1 < len(starts):
                t = starts[number - 1]
            lines.append(LogLine(t, "[zchaos] " + text.removeprefix("--- zchaos: "), "harness"))
            continue
        wall = _stamp(text)
        if wall is not None:
            if anchor is not None:
                t = wall - anchor
            elif number in firsts and number - 1 < len(starts):
                t = starts[number - 1] + (wall - firsts[number])
        lines.append(LogLine(t, text, "log"))
    return lines, clock


def _merge(log_lines: list[LogLine], harness: list[LogLine]) -> list[LogLine]:
    """Harness lines go before the first log line that is later; log order is kept."""
    def keyed(lines: Iterable[LogLine], rank: int) -> Iterable[tuple[float, int, int, LogLine]]:
        last = 0.0
        for i, line in enumerate(lines):
            if line.t is not None:
                last = line.t
            yield (last, rank, i, line)

    return [item[3] for item in heapq.merge(keyed(harness, 0), keyed(log_lines, 1))]


def _keep(lines: list[LogLine], keep_times: Sequence[float], window: float,
          file: str) -> tuple[list[LogLine], int]:
    """Lines within ``window`` of a kept time (plus head, tail and harness lines)."""
    out: list[LogLine] = []
    skipped = kept = 0
    for i, line in enumerate(lines):
        keep = (i < HEAD_TAIL or i >= len(lines) - HEAD_TAIL or line.kind == "harness"
                or (line.t is not None and any(abs(line.t - k) <= window for k in keep_times)))
        if not keep:
            skipped += 1
            continue
        if skipped:
            out.append(LogLine(line.t, f"\u2026 {skipped} lines not shown (full log: {file})",
                               "elided"))
            skipped = 0
        out.append(line)
        kept += 1
    if skipped:
        out.append(LogLine(None, f"\u2026 {skipped} lines not shown (full log: {file})",
                           "elided"))
    return out, kept


def _cut(lines: list[LogLine], keep_times: Sequence[float], file: str) -> list[LogLine]:
    """At most about ``MAX_LINES``: the windows around faults and violations shrink until
    they fit, down to the head, the tail and the harness's own lines."""
    if len(lines) <= MAX_LINES:
        return lines
    out: list[LogLine] = lines
    for window in (KEEP_WINDOW_S, 1.0, 0.5, 0.25, 0.1, 0.0):
        out, kept = _keep(lines, keep_times if window else (), window, file)
        if kept <= MAX_LINES:
            break
    return out


def node_logs(folder: Path, report: Mapping[str, Any], history: Sequence[Mapping[str, Any]],
              scene: Scene) -> list[NodeLog]:
    """The log pane's content: one entry per node (lane order), logs or not."""
    files = {p.stem: p for p in sorted((folder / "logs").glob("*.log"))}
    raw: dict[str, list[str]] = {}
    for node, path in files.items():
        try:
            raw[node] = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            raw[node] = []
    anchor = choose_anchor(folder, report, history, raw)
    keep_times = [f.start for f in scene.faults] + [f.end for f in scene.faults
                                                     if f.end is not None]
    keep_times += [v.t for v in scene.violations if v.t is not None]
    names = [lane.node for lane in scene.lanes if lane.node != HARNESS]
    names += [n for n in raw if n not in names]
    result: list[NodeLog] = []
    for node in names:
        lines, clock = _timed_lines(node, raw.get(node, []), history, anchor)
        has_headers = any(HEADER.match(text) for text in raw.get(node, []))
        harness = _harness_lines(node, scene, history, with_starts=not has_headers)
        merged = _merge(lines, harness)
        file = f"logs/{node}.log" if node in raw else ""
        result.append(NodeLog(node=node, slug=slug(node), file=file,
                              lines=_cut(merged, keep_times, file), total=len(lines),
                              clock=clock if node in raw else "none"))
    return result
