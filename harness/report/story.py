"""The report's sentences: what the verdict means, what broke, when, and on which node.

A reader who has never seen zchaos should learn from the top of the page
alone whether the run is good news, and if not, what went wrong and what
the system was going through at that moment ("during latency 700 ms on
client->server, downstream"). These are plain functions of the report and
the scene, so the HTML page and its tests share one wording.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.report.coverage import coverage_view
from harness.report.scene import Scene, ViolationRef

# How long after an instant fault (a kill) an event is still told "after" it.
AFTER_WINDOW_S = 5.0


def secs(t: float | None) -> str:
    return "?" if t is None else f"{t:.3f} s"


def expected_violated(report: Mapping[str, Any]) -> list[str]:
    """Contracts the scenario expects to be violated (a negative control), else []."""
    expected = str(report.get("expected") or "pass")
    if not expected.startswith("violated"):
        return []
    _, _, names = expected.partition(":")
    return [n.strip() for n in names.split(",") if n.strip()]


def fault_context(scene: Scene, t: float | None) -> str:
    """What the nemesis was doing at ``t``: ``during <fault>`` / ``0.4 s after <fault>``."""
    if t is None:
        return ""
    during = [f for f in scene.faults
              if not f.instant and f.start <= t <= (f.end if f.end is not None else scene.t_hi)]
    if during:
        parts = [f"{f.label} ({f.start:.2f}\u2013"
                 f"{(f.end if f.end is not None else scene.t_hi):.2f} s)" for f in during]
        return "during " + "; ".join(parts)
    before = [f for f in scene.faults if f.start <= t and t - f.start <= AFTER_WINDOW_S]
    if before:
        last = max(before, key=lambda f: f.start)
        return f"{t - last.start:.2f} s after {last.label} at {last.start:.2f} s"
    if scene.faults:
        return "with no fault active"
    return ""


def where_when(scene: Scene, v: ViolationRef) -> str:
    """``at 1.915 s on client, during latency ...`` for one violation."""
    parts = []
    if v.t is not None:
        parts.append(f"at {secs(v.t)}")
    if v.nodes:
        parts.append("on " + ", ".join(v.nodes))
    context = fault_context(scene, v.t)
    if context:
        parts.append(context)
    return " ".join(parts[:2]) + (", " + parts[2] if len(parts) > 2 else "")


def headline(report: Mapping[str, Any], scene: Scene) -> list[str]:
    """Two or three sentences that explain the verdict."""
    verdict = str(report.get("verdict") or "?")
    contracts = [c for c in report.get("contracts") or [] if isinstance(c, Mapping)]
    by_verdict: dict[str, list[Mapping[str, Any]]] = {}
    for c in contracts:
        by_verdict.setdefault(str(c.get("verdict")), []).append(c)
    wanted = expected_violated(report)
    violated = [str(c.get("name")) for c in by_verdict.get("violated", [])]
    lines: list[str] = []
    if verdict == "error":
        lines.append(f"The harness could not finish this run: {report.get('error') or '?'}.")
        return lines
    if wanted:
        lines.append(f"This is a negative control: {', '.join(wanted)} must be violated "
                     "(a deliberately broken implementation or a pattern known to fail).")
        missed = [n for n in wanted if n not in violated]
        if missed:
            lines.append(f"The checker did not flag it: {', '.join(missed)} "
                         + ("was" if len(missed) == 1 else "were") + " not violated.")
        elif verdict == "pass":
            lines.append(f"As expected, {', '.join(wanted)} was violated.")
    unexpected = [n for n in violated if n not in wanted]
    if unexpected:
        counts = {str(c.get("name")): c.get("violation_count", len(c.get("violations") or []))
                  for c in by_verdict.get("violated", [])}

        def times(n: str) -> str:
            count = counts.get(n)
            return "once" if count == 1 else f"{count} times" if count else ""

        what = ", ".join(f"{n} was violated {times(n)}".rstrip() for n in unexpected)
        if wanted:
            lines.append(f"Also violated, which the scenario does not expect: {what}.")
        else:
            lines.append(f"Expected every contract to hold, but {what}.")
    shown = [v for v in scene.violations if v.contract in (unexpected or wanted)]
    if shown:
        first = min(shown, key=lambda v: (v.t is None, v.t or 0.0))
        lines.append(f"First violation of {first.contract}: {first.why} — "
                     f"{where_when(scene, first)}.")
    impls = report.get("impls")
    if isinstance(impls, Mapping) and impls and (violated or wanted):
        lines.append("Implementation under test (--impl): " + "; ".join(
            f"{role} = {cmd}" for role, cmd in impls.items()) + ".")
    unknown = by_verdict.get("unknown", [])
    if unknown:
        lines.append("Undecided: " + "; ".join(
            f"{c.get('name')} ({c.get('message') or 'nothing to test'})" for c in unknown)
            + ". An undecided contract is never a pass.")
    missed = [row for row in coverage_view(report).rows if row.hit == "missed"]
    if missed:
        lines.append("Faults that hit nothing: " + "; ".join(
            f"#{row.number} {row.label}" + (f" ({row.why})" if row.why else "")
            for row in missed) + ". A pass that rests on them proves nothing.")
    if verdict == "pass" and not wanted:
        names = ", ".join(str(c.get("name")) for c in contracts)
        lines.append(f"Every contract held: {names}." if names else "No contract was checked.")
    return lines
