"""Resolving ``explore:``: the fault vocabulary of ``zchaos explore`` for one scenario.

The section is validated like the rest of a file (``zchaos check``: every
problem as ``file:line: explore.field: message``, exit 2), with the same
name rules as ``faults:``: a node or group name, a link ``SOURCE->TARGET``
(groups expand to every matching edge), a partition as a list of sides.
Nothing here generates faults; :mod:`harness.explore.vocabulary` turns the
resolved :class:`ExploreSpec` into choices.

Written form (every key optional, docs/explore.md)::

    explore:
      max_faults: 2                     # 1..10, default 3
      window: [2500ms, 5s]              # faults are applied and reverted inside
      length: [300ms, 2s]               # how long a fault lasts (its for:)
      permanent: false                  # may a kill/stop stay unreverted (default true)
      kill: [primary, backup]           # true (every node and group, default), false,
      stop: false                       #   or targets: a node, a group (all of it at
      restart: [primary, backup]        #   once) or a list of nodes hit together
      pause: [client]
      links: [client-1->primary, client->backup]  # link targets (a group bundle = one);
                                        #   network faults only there (default: all)
      partition: true                   # true, false, or a list of cuts [[[a], [b, c]], ...]
      one_way: true                     # cut one direction of a link
      disconnect: true
      toxics:                           # true (all, default ranges), false, or a mapping
        latency: {latency: [50ms, 800ms], jitter: [0ms, 50ms], stream: [up, down]}
        reset_peer: true
"""

from __future__ import annotations

from typing import Any

from harness.durations import DurationError, parse_duration, parse_duration_ms
from harness.scenario.errors import Issues, Path_, did_you_mean
from harness.scenario.explore_spec import (
    ALL_STREAMS,
    DEFAULT_TOXIC_RANGES,
    EXPLORE_PROCESS,
    ExploreSpec,
    ToxicRange,
)
from harness.scenario.faults import TOXIC_ATTRIBUTES, _links, _partition, _targets
from harness.scenario.world import World

KEYS = ("max_faults", "window", "length", "permanent", *EXPLORE_PROCESS, "links", "partition",
        "one_way", "disconnect", "toxics")
MAX_FAULTS_LIMIT = 10


def _bool(value: Any, path: Path_, issues: Issues) -> bool | None:
    if isinstance(value, bool):
        return value
    issues.add(path, f"expected true or false, got {value!r}")
    return None


def _span(value: Any, path: Path_, issues: Issues, what: str) -> tuple[float, float] | None:
    """``[from, to]`` as two durations in seconds, ``from < to`` (``<=`` for lengths)."""
    if not isinstance(value, list) or len(value) != 2:
        issues.add(path, f"expected [FROM, TO], two durations, e.g. [{what}]")
        return None
    out: list[float] = []
    for index, item in enumerate(value):
        try:
            out.append(parse_duration(item))
        except DurationError as exc:
            issues.add((*path, index), str(exc))
            return None
    return out[0], out[1]


def _grouped(value: Any, path: Path_, issues: Issues, what: str,
             expand: Any) -> list[list[str]] | None:
    """Targets written one per entry: a name (a group = its members together) or a
    list of names hit together; None after reporting a problem."""
    entries = [value] if isinstance(value, str) else value
    if not isinstance(entries, list):
        issues.add(path, f"expected true, false, or a list of {what}")
        return None
    out: list[list[str]] = []
    ok = True
    for index, entry in enumerate(entries):
        where = path if isinstance(value, str) else (*path, index)
        expanded = expand(entry, where)
        if expanded is None:
            ok = False
        elif expanded not in out:
            out.append(expanded)
    return out if ok else None


def _nodes(value: Any, path: Path_, world: World,
           issues: Issues) -> list[list[str]] | bool | None:
    """true -> None (every node, every group); false -> False; else the targets."""
    if value is True:
        return None
    if value is False:
        return False
    if isinstance(value, list) and not value:
        issues.add(path, "empty list: write false to allow no node")
        return False
    return _grouped(value, path, issues, "nodes or groups",
                    lambda entry, where: _targets(entry, where, world, issues))


def _int_range(kind: str, value: Any, path: Path_, issues: Issues) -> tuple[int, int] | None:
    if not isinstance(value, list) or len(value) != 2:
        issues.add(path, "expected [LOW, HIGH], e.g. [50ms, 800ms] or [1, 64]")
        return None
    out: list[int] = []
    for index, item in enumerate(value):
        where = (*path, index)
        if isinstance(item, int) and not isinstance(item, bool):
            if item < 0:
                issues.add(where, f"must not be negative, got {item}")
                return None
            out.append(item)
            continue
        if kind in ("ms", "us") and isinstance(item, str):
            try:
                amount = parse_duration_ms(item) * (1000 if kind == "us" else 1)
            except DurationError as exc:
                issues.add(where, str(exc))
                return None
            if amount != int(amount):
                issues.add(where, f"{item!r} is not a whole number of {kind}")
                return None
            out.append(int(amount))
            continue
        issues.add(where, f"expected an integer{' or a duration' if kind != 'int' else ''}, "
                          f"got {item!r}")
        return None
    if out[0] > out[1]:
        issues.add(path, f"LOW {out[0]} is above HIGH {out[1]}")
        return None
    return out[0], out[1]


def _toxic(name: str, value: Any, path: Path_, issues: Issues) -> ToxicRange | None:
    defaults = dict(DEFAULT_TOXIC_RANGES[name])
    if value is True or value is None:
        return ToxicRange(attributes=defaults)
    if not isinstance(value, dict):
        issues.add(path, f"expected true, false or a mapping of ranges, e.g. "
                         f"{{{next(iter(defaults))}: [LOW, HIGH]}}")
        return None
    allowed = (*TOXIC_ATTRIBUTES[name], "stream", "toxicity")
    ranges = dict(defaults)
    streams: tuple[str, ...] = ALL_STREAMS
    toxicity = (1.0, 1.0)
    ok = True
    for key, raw in value.items():
        where = (*path, key)
        if key not in allowed:
            issues.add(where, f"unknown key {key!r} for {name}{did_you_mean(str(key), allowed)};"
                              f" it takes: {', '.join(allowed)}")
            ok = False
        elif key == "stream":
            items = [raw] if isinstance(raw, str) else raw
            if (not isinstance(items, list) or not items
                    or any(s not in ALL_STREAMS for s in items)):
                issues.add(where, f"expected up, down, both or a list of them, got {raw!r}")
                ok = False
            else:
                streams = tuple(dict.fromkeys(items))
        elif key == "toxicity":
            if (not isinstance(raw, list) or len(raw) != 2
                    or any(isinstance(x, bool) or not isinstance(x, int | float) for x in raw)
                    or not 0 <= raw[0] <= raw[1] <= 1):
                issues.add(where, f"expected [LOW, HIGH] probabilities, 0 <= LOW <= HIGH <= 1, "
                                  f"got {raw!r}")
                ok = False
            else:
                toxicity = (float(raw[0]), float(raw[1]))
        else:
            span = _int_range(TOXIC_ATTRIBUTES[name][key], raw, where, issues)
            if span is None:
                ok = False
            else:
                ranges[key] = span
    if not ok:
        return None
    return ToxicRange(attributes=ranges, streams=streams, toxicity=toxicity)


def _toxics(value: Any, path: Path_, issues: Issues) -> dict[str, ToxicRange] | None:
    if value is True:
        return {name: ToxicRange(attributes=dict(r)) for name, r in DEFAULT_TOXIC_RANGES.items()}
    if value is False:
        return {}
    if not isinstance(value, dict):
        issues.add(path, "expected true, false or a mapping {toxic: true | {ranges}}")
        return None
    out: dict[str, ToxicRange] = {}
    ok = True
    for name, raw in value.items():
        where = (*path, name)
        if name not in DEFAULT_TOXIC_RANGES:
            issues.add(where, f"unknown toxic {name!r}{did_you_mean(str(name), TOXIC_ATTRIBUTES)}"
                              f"; toxics: {', '.join(DEFAULT_TOXIC_RANGES)}")
            ok = False
            continue
        if raw is False:
            continue
        spec = _toxic(name, raw, where, issues)
        if spec is None:
            ok = False
        else:
            out[name] = spec
    return out if ok else None


def _cuts(value: Any, path: Path_, world: World, allowed_links: list[str] | None,
          issues: Issues) -> list[list[list[str]]] | None:
    if not isinstance(value, list) or not value:
        issues.add(path, "expected true, false or a list of partitions, "
                         "e.g. [[[client], [server]]]")
        return None
    cuts: list[list[list[str]]] = []
    for index, raw in enumerate(value):
        where = (*path, index)
        resolved = _partition(raw, where, world, issues)
        if resolved is None:
            return None
        sides, links = resolved
        if allowed_links is not None:
            outside = [link for link in links if link not in allowed_links]
            if outside:
                issues.add(where, f"this partition cuts {', '.join(outside)}, which `links` "
                                  "does not allow")
                return None
        cuts.append(sides)
    return cuts


def resolve_explore(raw: Any, world: World, issues: Issues) -> ExploreSpec | None:
    """``explore:`` -> an :class:`ExploreSpec`; None when absent or broken (reported)."""
    if raw is None:
        return None
    base: Path_ = ("explore",)
    if not isinstance(raw, dict):
        issues.add(base, "expected a mapping, e.g. {max_faults: 2, kill: [server]}")
        return None
    fields: dict[str, Any] = {}
    ok = True
    for key in raw:
        if key not in KEYS:
            issues.add((*base, key), f"unknown key {key!r}{did_you_mean(str(key), KEYS)}; "
                                     f"explore takes: {', '.join(KEYS)}")
            ok = False
    if "max_faults" in raw:
        value = raw["max_faults"]
        if (isinstance(value, bool) or not isinstance(value, int)
                or not 1 <= value <= MAX_FAULTS_LIMIT):
            issues.add((*base, "max_faults"), f"expected an integer from 1 to "
                                              f"{MAX_FAULTS_LIMIT}, got {value!r}")
            ok = False
        else:
            fields["max_faults"] = value
    if "window" in raw:
        span = _span(raw["window"], (*base, "window"), issues, "2s, 5s")
        if span is None:
            ok = False
        elif not span[0] < span[1] <= world.duration:
            issues.add((*base, "window"), f"expected FROM < TO <= the scenario's duration "
                                          f"({world.duration:g}s), got {raw['window']!r}")
            ok = False
        else:
            fields["window"] = span
    if "length" in raw:
        span = _span(raw["length"], (*base, "length"), issues, "300ms, 2s")
        if span is None:
            ok = False
        elif not 0 < span[0] <= span[1]:
            issues.add((*base, "length"), f"expected 0 < FROM <= TO, got {raw['length']!r}")
            ok = False
        else:
            fields["length"] = span
    for key in ("permanent", "one_way", "disconnect"):
        if key in raw:
            flag = _bool(raw[key], (*base, key), issues)
            if flag is None:
                ok = False
            else:
                fields[key] = flag
    process: dict[str, list[list[str]] | None] = dict.fromkeys(EXPLORE_PROCESS)
    for action in EXPLORE_PROCESS:
        if action not in raw:
            continue
        targets = _nodes(raw[action], (*base, action), world, issues)
        if targets is False:
            process.pop(action)
        elif isinstance(targets, list) or raw[action] is True:
            process[action] = targets  # type: ignore[assignment]
        else:
            ok = False
    fields["process"] = process
    links: list[str] | None = None
    if "links" in raw:
        options = _grouped(raw["links"], (*base, "links"), issues, "links",
                           lambda entry, where: _links(entry, where, world, issues))
        if options is None:
            ok = False
        else:
            links = [link for option in options for link in option]
            fields["links"] = options
    if "partition" in raw:
        value = raw["partition"]
        if isinstance(value, bool):
            fields["partition"] = value
        else:
            cuts = _cuts(value, (*base, "partition"), world, links, issues)
            if cuts is None:
                ok = False
            else:
                fields["cuts"] = cuts
    if "toxics" in raw:
        toxics = _toxics(raw["toxics"], (*base, "toxics"), issues)
        if toxics is None:
            ok = False
        else:
            fields["toxics"] = toxics
    if not ok:
        return None
    return ExploreSpec(**fields)
