"""Fault coverage as the HTML shows it: what each fault hit. The one place that reads it.

``report.json`` carries a ``coverage`` object (BRIEF decision 4, built by the
runner): per fault, in schedule order, ``index``, ``fault``, ``target``,
``params``, ``at``, ``until``, ``alive``, ``ops_in_flight``, ``ops_started``,
``messages``, ``bytes`` (per proxy, or null = not measured), ``idle_ok``,
``hit`` and ``why``; plus a top-level list of uncovered faults. Reports
written before it existed have none: the page then says "coverage not
recorded". Every field is optional here, so a change of shape degrades to
blanks rather than a broken page; adapt :func:`coverage_view` when the shape
settles.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.report.faults import fault_label


@dataclass
class CoverageRow:
    number: int
    label: str
    window: str
    alive: str
    in_flight: str
    started: str
    messages: str
    bytes: str
    hit: str  # hit | missed | idle-ok | ?
    why: str


@dataclass
class CoverageView:
    recorded: bool
    rows: list[CoverageRow] = field(default_factory=list)
    uncovered: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        """``3/4 faults hit`` for the run index; ``not recorded`` for old reports."""
        if not self.recorded:
            return "not recorded"
        if not self.rows:
            return "no faults"
        hit = sum(r.hit in ("hit", "idle-ok") for r in self.rows)
        return f"{hit}/{len(self.rows)} hit"

    @property
    def all_hit(self) -> bool:
        return self.recorded and all(r.hit in ("hit", "idle-ok") for r in self.rows)


def _text(value: Any, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}{unit}"
    return f"{value}{unit}"


def _byte_count(value: Any) -> str:
    if isinstance(value, Mapping):  # one proxy: {received, sent} as the harness records it
        return (f"{_text(value.get('received'), ' B')} in, "
                f"{_text(value.get('sent'), ' B')} out")
    return _text(value, " B")


def _bytes(value: Any) -> str:
    """Bytes per proxy as ``a->b: 120 B in, 96 B out; ...``; "not measured" for null."""
    if value is None:
        return "not measured"
    if isinstance(value, Mapping):
        parts = [f"{k}: {_byte_count(v)}" for k, v in value.items()]
        return "; ".join(parts) if parts else "—"
    return _text(value, " B")


def _fault_entries(coverage: Any) -> list[Mapping[str, Any]]:
    if isinstance(coverage, list):
        entries = coverage
    elif isinstance(coverage, Mapping):
        entries = coverage.get("faults") or coverage.get("per_fault") or []
    else:
        entries = []
    return [e for e in entries if isinstance(e, Mapping)] if isinstance(entries, list) else []


def coverage_view(report: Mapping[str, Any]) -> CoverageView:
    coverage = report.get("coverage")
    if coverage is None:
        return CoverageView(recorded=False)
    rows = []
    for i, entry in enumerate(_fault_entries(coverage)):
        index = entry.get("index")
        number = index + 1 if isinstance(index, int) and not isinstance(index, bool) else i + 1
        params = entry.get("params") if isinstance(entry.get("params"), Mapping) else {}
        target = entry.get("target")
        targets = [str(t) for t in target] if isinstance(target, list) else []
        target_text = str(target) if isinstance(target, str) else ""
        action = str(entry.get("fault", "?"))
        links = [t for t in targets if "->" in t]
        label = fault_label(
            action, targets=[t for t in targets if "->" not in t], links=links,
            params=params, stream=params.get("stream") if params else None,
            target_text=target_text or ", ".join(targets),
        )
        at, until = entry.get("at"), entry.get("until")
        window = _text(at, " s") + (f" \u2013 {_text(until, ' s')}" if until is not None else "")
        hit = entry.get("hit")
        status = ("hit" if hit is True else "idle-ok" if entry.get("idle_ok") is True
                  else "missed" if hit is False else "?")
        rows.append(CoverageRow(
            number=number, label=label, window=window, alive=_text(entry.get("alive")),
            in_flight=_text(entry.get("ops_in_flight")), started=_text(entry.get("ops_started")),
            messages=_text(entry.get("messages")), bytes=_bytes(entry.get("bytes")),
            hit=status, why=str(entry.get("why") or ""),
        ))
    uncovered_raw = coverage.get("uncovered") if isinstance(coverage, Mapping) else None
    uncovered = []
    for item in uncovered_raw if isinstance(uncovered_raw, list) else []:
        if isinstance(item, Mapping):
            index = item.get("index")
            number = index + 1 if isinstance(index, int) and not isinstance(index, bool) else "?"
            uncovered.append(f"fault #{number} {item.get('fault', '')} "
                             f"{item.get('target', '')}: {item.get('why', '')}".strip())
        elif isinstance(item, int) and not isinstance(item, bool):
            uncovered.append(f"fault #{item + 1}")
        else:
            uncovered.append(str(item))
    return CoverageView(recorded=True, rows=rows, uncovered=uncovered)
