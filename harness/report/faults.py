"""Faults as the reports draw them: one span per applied fault, labelled in full.

A reader must see *what* was broken, not just that something was: the label
names the full target and the parameters (``latency 500 ms on
client->server-1, downstream``), the span runs from the moment the fault took
effect (its ``apply`` event) to its ``revert`` (or the end of the run).

Fault events carry the action, a target string and the toxic's attributes,
but not the stream or toxicity; the resolved ``scenario.yaml`` of the report
folder has those. The two are paired by order: the k-th ``apply`` of an
action is the k-th scheduled fault of that action in schedule order (the
nemesis fires in ``(at, index)`` order). When an event carries an ``index``
(the schedule position) it wins. Either source may be missing or odd (old
reports, a user's hand-edited history): every field falls back, nothing
raises.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROCESS_ACTIONS = frozenset({"kill", "stop", "start", "restart", "pause", "resume"})
# Process actions that are a moment, not a state (a `for:` turns them into a span).
INSTANT_ACTIONS = frozenset({"kill", "stop", "start", "restart", "resume", "heal"})
STREAM_WORDS = {"up": "upstream", "down": "downstream", "both": "both directions",
                "upstream": "upstream", "downstream": "downstream"}


@dataclass
class ScheduledFault:
    """One fault as the scenario declared it (the parts a label needs)."""

    action: str
    at: float = 0.0
    targets: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    sides: tuple[tuple[str, ...], ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    stream: str | None = None
    toxicity: float | None = None
    duration: float | None = None


@dataclass
class FaultSpan:
    """One applied fault: when it took effect, when it was undone, what it touched."""

    index: int
    action: str
    label: str
    start: float
    end: float | None  # reverted at; None = never reverted (instant, or until the run's end)
    nodes: tuple[str, ...]  # the lanes it touches
    links: tuple[str, ...] = ()
    sides: tuple[tuple[str, ...], ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    instant: bool = False
    target: str = ""

    @property
    def is_process(self) -> bool:
        return self.action in PROCESS_ACTIONS

    def active_at(self, t: float, until: float) -> bool:
        """True when ``t`` falls in the span (an unreverted span lasts ``until``)."""
        end = self.end if self.end is not None else (self.start if self.instant else until)
        return self.start <= t <= end


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _toxic_words(action: str, params: Mapping[str, Any]) -> str:
    """The toxic and its attributes in words: ``latency 700 ms ± 50 ms``."""
    p = dict(params)

    def take(key: str) -> Any:
        return p.pop(key, None)

    words: str
    if action == "latency":
        ms, jitter = take("latency"), take("jitter")
        words = f"latency {_num(ms)} ms" if ms is not None else "latency"
        if jitter:
            words += f" ± {_num(jitter)} ms"
    elif action == "bandwidth":
        rate = take("rate")
        words = f"bandwidth {_num(rate)} KB/s" if rate is not None else "bandwidth"
    elif action == "slow_close":
        delay = take("delay")
        words = f"slow_close {_num(delay)} ms" if delay is not None else "slow_close"
    elif action == "timeout":
        ms = take("timeout")
        words = "timeout (black hole)" if not ms else f"timeout {_num(ms)} ms"
    elif action == "reset_peer":
        ms = take("timeout")
        words = f"reset_peer after {_num(ms)} ms" if ms else "reset_peer"
    elif action == "slicer":
        size, var, delay = take("average_size"), take("size_variation"), take("delay")
        words = "slicer"
        if size is not None:
            words += f" {_num(size)} B"
            if var:
                words += f" ± {_num(var)} B"
        if delay is not None:
            words += f", {_num(delay)} µs apart"
    elif action == "limit_data":
        size = take("bytes")
        words = f"limit_data {_num(size)} B" if size is not None else "limit_data"
    else:
        words = action
    rest = ", ".join(f"{k} {_num(v)}" for k, v in p.items() if k not in ("link", "stream",
                                                                          "toxicity"))
    return f"{words} ({rest})" if rest else words


def fault_label(
    action: str,
    *,
    targets: Sequence[str] = (),
    links: Sequence[str] = (),
    sides: Sequence[Sequence[str]] = (),
    params: Mapping[str, Any] | None = None,
    stream: str | None = None,
    toxicity: float | None = None,
    target_text: str = "",
) -> str:
    """A fault in words, with its full target and parameters.

    ``kill worker-1``, ``partition client | broker``,
    ``latency 500 ms on client->server-1, downstream``. ``target_text`` (the
    fault event's own ``target``) is used when the structured parts are empty.
    """
    params = params or {}
    if action in PROCESS_ACTIONS:
        who = ", ".join(targets) or target_text or "?"
        return f"{action} {who}"
    if action == "heal":
        return "heal (every network fault removed)"
    if action == "partition":
        cut = " | ".join(", ".join(side) for side in sides) if sides else target_text
        return f"partition {cut}".rstrip()
    where = ", ".join(links) or target_text or "every link"
    if where == "all":
        where = "every link"
    if action == "disconnect":
        return f"disconnect {where}"
    text = f"{_toxic_words(action, params)} on {where}"
    if stream:
        text += f", {STREAM_WORDS.get(stream, stream)}"
    if toxicity is not None and toxicity < 1:
        text += f", toxicity {toxicity:.0%}"
    return text


def _split_target(action: str, target: str) -> tuple[tuple[str, ...], tuple[str, ...],
                                                   tuple[tuple[str, ...], ...]]:
    """(targets, links, sides) parsed from a fault event's ``target`` string."""
    target = target.strip()
    if not target:
        return (), (), ()
    if action in PROCESS_ACTIONS:
        return tuple(t.strip() for t in target.split(",") if t.strip()), (), ()
    if action == "partition":
        sides = tuple(tuple(n.strip() for n in side.split(",") if n.strip())
                      for side in target.split("|"))
        return (), (), tuple(s for s in sides if s)
    if target == "all":
        return (), (), ()
    return (), tuple(t.strip() for t in target.split(",") if "->" in t), ()


def link_nodes(link: str) -> tuple[str, ...]:
    """The two node names of a link ``a->b`` (empty when it is not one)."""
    a, sep, b = link.partition("->")
    return (a.strip(), b.strip()) if sep else ()


def touched_nodes(action: str, targets: Sequence[str], links: Sequence[str],
                  sides: Sequence[Sequence[str]]) -> tuple[str, ...]:
    """Node lanes a fault is drawn on, in a stable order."""
    found: dict[str, None] = {}
    if action in PROCESS_ACTIONS:
        found.update(dict.fromkeys(targets))
    elif action == "partition":
        for side in sides:
            found.update(dict.fromkeys(side))
    else:
        for link in links:
            found.update(dict.fromkeys(link_nodes(link)))
    return tuple(n for n in found if n)


def scheduled_from_scenario(path: Path) -> list[ScheduledFault] | None:
    """The resolved ``scenario.yaml``'s faults in firing order, or None when unreadable."""
    try:
        from harness.scenario import load_scenario

        scenario = load_scenario(path)
    except Exception:  # an old or foreign scenario file must not stop the report
        return None
    faults = []
    order = sorted(range(len(scenario.faults)), key=lambda i: (scenario.faults[i].at, i))
    for i in order:
        f = scenario.faults[i]
        faults.append(ScheduledFault(
            action=f.action, at=f.at, targets=tuple(f.targets), links=tuple(f.links),
            sides=tuple(tuple(s) for s in (f.sides or ())), params=dict(f.attributes),
            stream=f.stream if f.action not in PROCESS_ACTIONS | {"partition", "heal",
                                                                  "disconnect"} else None,
            toxicity=f.toxicity, duration=f.duration,
        ))
    return faults


def scheduled_from_report(report: Mapping[str, Any]) -> list[ScheduledFault]:
    """The schedule as report.json lists it (no stream/toxicity), in firing order."""
    entries = report.get("schedule")
    if not isinstance(entries, list):
        return []
    faults = []
    for entry in entries:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("fault"), str):
            continue
        at = entry.get("at")
        faults.append(ScheduledFault(
            action=entry["fault"],
            at=float(at) if isinstance(at, int | float) else 0.0,
            targets=tuple(str(t) for t in entry.get("targets") or ()),
            links=tuple(str(t) for t in entry.get("links") or ()),
        ))
    return sorted(faults, key=lambda f: f.at)


def fault_spans(history: Iterable[Mapping[str, Any]],
                scheduled: Sequence[ScheduledFault] = ()) -> list[FaultSpan]:
    """Pair ``fault`` events into spans, labelled from the schedule where it matches."""
    unused: dict[str, list[ScheduledFault]] = {}
    for sf in scheduled:
        unused.setdefault(sf.action, []).append(sf)
    spans: list[FaultSpan] = []
    open_spans: list[FaultSpan] = []
    for event in history:
        if event.get("type") != "fault":
            continue
        action = event.get("fault")
        if not isinstance(action, str):
            continue
        t = float(event["t"])
        target = str(event.get("target") or "")
        phase = event.get("phase", "apply")
        if phase == "revert":
            for span in open_spans:
                if span.action == action and span.target == target:
                    span.end, span.instant = t, False
                    open_spans.remove(span)
                    break
            continue
        if phase != "apply":
            continue
        queue = unused.get(action) or []
        sf = queue.pop(0) if queue else None
        targets, links, sides = _split_target(action, target)
        if sf is not None:
            targets = sf.targets or targets
            links = sf.links or links
            sides = sf.sides or sides
        raw_params = event.get("params")
        params = dict(raw_params) if isinstance(raw_params, Mapping) else {}
        if sf is not None and not params:
            params = dict(sf.params)
        index = event.get("index")
        label = fault_label(
            action, targets=targets, links=links, sides=sides, params=params,
            stream=sf.stream if sf else None, toxicity=sf.toxicity if sf else None,
            target_text=target,
        )
        span = FaultSpan(
            index=index if isinstance(index, int) and not isinstance(index, bool)
            else len(spans),
            action=action, label=label, start=t, end=None,
            nodes=touched_nodes(action, targets, links, sides), links=tuple(links),
            sides=tuple(tuple(s) for s in sides), params=params,
            instant=action in INSTANT_ACTIONS, target=target,
        )
        if action == "heal":
            for other in open_spans:
                if not other.is_process:
                    other.end = t
            open_spans = [s for s in open_spans if s.is_process]
        if action == "resume":
            for other in list(open_spans):
                if other.action == "pause" and set(other.nodes) & set(span.nodes):
                    other.end = t
                    open_spans.remove(other)
        spans.append(span)
        if action not in ("heal", "resume"):
            open_spans.append(span)
    return spans
