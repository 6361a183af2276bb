"""Resolving ``faults:``: one entry -> one :class:`Fault`, then checking them together.

Each entry is ``at`` + exactly one action + optional ``for``. Names are
expanded here (a group to its nodes, ``group->group`` to every matching edge,
a partition to every edge across its cut) so the nemesis only sees node and
link names. The checks across faults live in :mod:`harness.scenario.conflicts`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.durations import DurationError, format_duration, parse_duration, parse_duration_ms
from harness.scenario.conflicts import check_conflicts
from harness.scenario.errors import Issues, Path_, did_you_mean
from harness.scenario.limits import SLICER_DELAY_MAX_US, TOXIC_MAX, number
from harness.scenario.model import (
    ACTIONS,
    PROCESS_ACTIONS,
    STREAMS,
    Fault,
)
from harness.scenario.world import World, plus

# Toxiproxy attribute names per toxic, and how a value is read:
# "ms"/"us": an integer in that unit, or a duration string converted to it; "int": an integer.
TOXIC_ATTRIBUTES: dict[str, dict[str, str]] = {
    "latency": {"latency": "ms", "jitter": "ms"},
    "bandwidth": {"rate": "int"},
    "slow_close": {"delay": "ms"},
    "timeout": {"timeout": "ms"},
    "reset_peer": {"timeout": "ms"},
    "slicer": {"average_size": "int", "size_variation": "int", "delay": "us"},
    "limit_data": {"bytes": "int"},
}
REQUIRED_ATTRIBUTE = {
    "latency": "latency",
    "bandwidth": "rate",
    "slow_close": "delay",
    "slicer": "average_size",
    "limit_data": "bytes",
}
TOXIC_KEYS = ("link", "stream", "toxicity")
INSTANT_ACTIONS = ("start", "restart", "resume", "heal")
FAULT_KEYS = ("at", "for", "idle_ok")


def _fmt(seconds: float) -> str:
    return format_duration(seconds)




def _names(world: World) -> str:
    return ", ".join(world.nodes)


# -- one entry --------------------------------------------------------------------------------


def _expand_node(name: Any, path: Path_, world: World, issues: Issues) -> list[str] | None:
    if not isinstance(name, str):
        issues.add(path, f"expected a node name, got {name!r}")
        return None
    if name in world.nodes:
        return [name]
    if name in world.groups:
        return list(world.groups[name])
    if name in world.broken:
        return None  # already reported where the node is defined
    issues.add(path, f"unknown node {name!r}{did_you_mean(name, [*world.nodes, *world.groups])};"
                     f" nodes: {_names(world)}")
    return None


def _expand_each(
    value: Any,
    path: Path_,
    issues: Issues,
    shape: str,
    expand: Callable[[Any, Path_], list[str] | None],
) -> list[str] | None:
    """One name or a list of names, each expanded by ``expand``; the union, in order.

    None when any entry was bad (``expand`` reported it), so one fault with a
    bad entry is one error, not a half-applied fault.
    """
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        issues.add(path, f"expected {shape}")
        return None
    out: list[str] = []
    ok = True
    for index, item in enumerate(items):
        expanded = expand(item, path if isinstance(value, str) else (*path, index))
        if expanded is None:
            ok = False
            continue
        out += [n for n in expanded if n not in out]
    return out if ok else None


def _targets(value: Any, path: Path_, world: World, issues: Issues) -> list[str] | None:
    return _expand_each(
        value, path, issues, "a node name or a list of node names",
        lambda item, where: _expand_node(item, where, world, issues),
    )


def _links(value: Any, path: Path_, world: World, issues: Issues) -> list[str] | None:
    def expand(item: Any, where: Path_) -> list[str] | None:
        if not isinstance(item, str) or "->" not in item:
            issues.add(where, f"expected a link SOURCE->TARGET, e.g. client->broker, got {item!r}")
            return None
        source, target = (part.strip() for part in item.split("->", 1))
        # ``A->B:port`` picks one of several edges between the same two nodes.
        target, _, port = target.partition(":")
        sources = _expand_node(source, where, world, issues)
        targets = _expand_node(target, where, world, issues)
        if sources is None or targets is None:
            return None
        matched = [e.name for e in world.edges if e.source in sources and e.target in targets
                   and (not port or e.port == port)]
        if not matched:
            known = ", ".join(e.name for e in world.edges) or "(none: no node has connect)"
            issues.add(where, f"no connect edge {item!r}: a link exists only where a node "
                              f"lists the other in `connect`; links: {known}")
            return None
        return matched

    return _expand_each(
        value, path, issues,
        "a link SOURCE->TARGET (or a list of them), e.g. client->broker", expand,
    )


def _partition(value: Any, path: Path_, world: World,
               issues: Issues) -> tuple[list[list[str]], list[str]] | None:
    if not isinstance(value, list) or len(value) < 2:
        issues.add(path, "expected two or more sides, e.g. [[client], [broker, worker]]")
        return None
    sides: list[list[str]] = []
    side_of: dict[str, int] = {}
    ok = True
    for index, side in enumerate(value):
        where = (*path, index)
        members = _targets(side, where, world, issues)
        if members is None:
            ok = False
            continue
        for member in members:
            if member in side_of:
                issues.add(where, f"{member} is on two sides of the partition")
                ok = False
            side_of[member] = index
        sides.append(members)
    if not ok:
        return None
    links = [
        e.name for e in world.edges
        if e.source in side_of and e.target in side_of and side_of[e.source] != side_of[e.target]
    ]
    if not links:
        issues.add(path, "this partition cuts no link: no node on one side connects to a node "
                         "on another")
        return None
    return sides, links


def _attribute_max(key: str, kind: str) -> int:
    return SLICER_DELAY_MAX_US if kind == "us" else TOXIC_MAX.get(key, 2**31 - 1)


def _attribute(kind: str, value: Any, path: Path_, issues: Issues, key: str = "") -> int | None:
    unit = {"ms": " ms", "us": " us"}.get(kind, "")
    limit = _attribute_max(key, kind)
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            issues.add(path, f"must not be negative, got {value}")
            return None
        if value > limit:
            issues.add(path, f"{value}{unit} is too large: at most {number(limit)}{unit} "
                             "(harness/scenario/limits.py)")
            return None
        return value
    if kind in ("ms", "us") and isinstance(value, str):
        try:
            amount = parse_duration_ms(value) * (1000 if kind == "us" else 1)
        except DurationError as exc:
            issues.add(path, str(exc))
            return None
        if amount != int(amount):
            issues.add(path, f"{value!r} is not a whole number of {kind}; Toxiproxy takes "
                             f"integers in {kind}")
            return None
        if amount > limit:
            issues.add(path, f"{value} is too long: at most {number(limit)}{unit} "
                             "(harness/scenario/limits.py)")
            return None
        return int(amount)
    unit = {"ms": "milliseconds", "us": "microseconds"}.get(kind)
    hint = f" ({unit}, or a duration like \"200ms\")" if unit else ""
    issues.add(path, f"expected an integer{hint}, got {value!r}")
    return None


def _toxic(action: str, value: Any, path: Path_, world: World,
           issues: Issues) -> dict[str, Any] | None:
    allowed = TOXIC_ATTRIBUTES.get(action, {})
    if action == "disconnect" and isinstance(value, str):
        value = {"link": value}
    if not isinstance(value, dict):
        example = "{link: client->broker}" if action == "disconnect" else (
            f"{{link: client->broker, {next(iter(allowed))}: ...}}")
        issues.add(path, f"expected a mapping like {example}")
        return None
    keys = ("link",) if action == "disconnect" else (*TOXIC_KEYS, *allowed)
    if action == "latency":
        keys = (*keys, "ms")
    ok = True
    for key in value:
        if key not in keys:
            issues.add((*path, key), f"unknown key {key!r} for {action}"
                                     f"{did_you_mean(str(key), keys)}; it takes: {', '.join(keys)}")
            ok = False
    out: dict[str, Any] = {"stream": "both", "toxicity": 1.0, "attributes": {}}
    if "link" not in value:
        issues.add(path, f"missing 'link': which link to {action}, e.g. link: client->broker")
        ok = False
    else:
        links = _links(value["link"], (*path, "link"), world, issues)
        ok = ok and links is not None
        out["links"] = links
    if "stream" in value:
        if isinstance(value["stream"], str) and value["stream"] in STREAMS:
            out["stream"] = value["stream"]
        else:
            issues.add((*path, "stream"), f"expected up, down or both, got {value['stream']!r} "
                                          "(up = from the connecting node to its target)")
            ok = False
    if "toxicity" in value:
        tox = value["toxicity"]
        if isinstance(tox, int | float) and not isinstance(tox, bool) and 0 <= tox <= 1:
            out["toxicity"] = float(tox)
        else:
            issues.add((*path, "toxicity"), f"expected a probability between 0 and 1, got {tox!r}")
            ok = False
    raw_attrs = {k: v for k, v in value.items() if k in allowed or k == "ms"}
    if "ms" in raw_attrs:
        if "latency" in raw_attrs:
            issues.add((*path, "ms"), "'ms' is an alias of 'latency'; give one of them")
            ok = False
        raw_attrs["latency"] = raw_attrs.pop("ms")
    for key, raw in raw_attrs.items():
        written = "ms" if key == "latency" and "ms" in value else key
        converted = _attribute(allowed[key], raw, (*path, written), issues, key)
        if converted is None:
            ok = False
        else:
            out["attributes"][key] = converted
    required = REQUIRED_ATTRIBUTE.get(action)
    if required and required not in raw_attrs:
        issues.add(path, f"missing {required!r}: a {action} toxic needs it "
                         f"(attributes: {', '.join(allowed)})")
        ok = False
    return out if ok else None


def parse_fault(index: int, entry: Any, world: World, issues: Issues) -> Fault | None:
    """One ``faults:`` entry -> a Fault, or None after recording its problems."""
    base: Path_ = ("faults", index)
    line = issues.line_of(base) or 0
    if not isinstance(entry, dict):
        issues.add(base, "expected a mapping like {at: 2s, kill: worker-1}")
        return None
    actions = [k for k in entry if k in ACTIONS]
    unknown = [k for k in entry if k not in ACTIONS and k not in FAULT_KEYS]
    for key in unknown:
        hint = did_you_mean(str(key), [*ACTIONS, *FAULT_KEYS])
        issues.add((*base, key), f"unknown key {key!r}{hint}; a fault has at, one action "
                                 f"({', '.join(ACTIONS)}) and optionally for and idle_ok")
    if not actions and not unknown:
        issues.add(base, f"no action; add one of: {', '.join(ACTIONS)}")
    if len(actions) > 1:
        issues.add(base, f"one action per fault, got {' and '.join(actions)}; "
                         "write one entry for each")
    if unknown or len(actions) != 1:
        return None
    action = actions[0]
    ok = True
    at = 0.0
    if "at" not in entry:
        issues.add(base, "missing 'at': when the fault happens, e.g. at: 2s")
        ok = False
    else:
        try:
            at = parse_duration(entry["at"])
        except DurationError as exc:
            issues.add((*base, "at"), str(exc))
            ok = False
        else:
            if at >= world.duration:
                issues.add((*base, "at"), f"at {_fmt(at)} is not before the end of the scenario "
                                          f"(duration {_fmt(world.duration)})")
                ok = False
    duration: float | None = None
    if "for" in entry:
        if action in INSTANT_ACTIONS:
            hint = (" (to keep a node down for a while, use kill or stop with for)"
                    if action == "restart" else "")
            issues.add((*base, "for"), f"'for' does not apply to {action}, which is "
                                       f"instantaneous{hint}")
            ok = False
        else:
            try:
                duration = parse_duration(entry["for"])
            except DurationError as exc:
                issues.add((*base, "for"), str(exc))
                ok = False
            else:
                if duration <= 0:
                    issues.add((*base, "for"), "must be longer than 0; omit 'for' to never "
                                               "revert the fault")
                    ok = False
                elif ok and plus(at, duration) > world.duration:
                    issues.add((*base, "for"), f"the fault would be reverted at "
                                               f"{_fmt(plus(at, duration))}, after the end of the "
                                               f"scenario ({_fmt(world.duration)}); shorten "
                                               "'for' or lengthen 'duration'")
                    ok = False
    idle_ok = entry.get("idle_ok", False)
    if not isinstance(idle_ok, bool):
        issues.add((*base, "idle_ok"), f"expected true or false, got {idle_ok!r}")
        ok = False
    value = entry[action]
    path = (*base, action)
    fields: dict[str, Any] = {"idle_ok": idle_ok is True}
    if action in PROCESS_ACTIONS:
        targets = _targets(value, path, world, issues)
        if targets is None:
            return None
        fields["targets"] = targets
    elif action == "heal":
        if value is not True:
            issues.add(path, "write heal: true")
            return None
    elif action == "partition":
        cut = _partition(value, path, world, issues)
        if cut is None:
            return None
        fields["sides"], fields["links"] = cut
    else:
        toxic = _toxic(action, value, path, world, issues)
        if toxic is None:
            return None
        fields["links"] = toxic["links"]
        if action != "disconnect":
            fields.update(stream=toxic["stream"], toxicity=toxic["toxicity"],
                          attributes=toxic["attributes"])
    if not ok:
        return None
    return Fault(at=at, action=action, duration=duration, line=line, **fields)


def resolve_faults(raw: Any, world: World, issues: Issues) -> list[Fault]:
    """``faults:`` -> faults sorted by ``at`` (YAML order among equal times)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        issues.add(("faults",), "expected a list of faults, e.g. - {at: 2s, kill: worker-1}")
        return []
    parsed: list[tuple[int, Fault]] = []
    for index, entry in enumerate(raw):
        fault = parse_fault(index, entry, world, issues)
        if fault is not None:
            parsed.append((index, fault))
    check_conflicts(parsed, world, issues)
    return [fault for _, fault in sorted(parsed, key=lambda item: (item[1].at, item[0]))]
