"""Loading scenario files: top-level checks, then nodes, faults, contracts, expect.

Every problem of a file is collected (see :class:`Issues`) and raised together
as :class:`ScenarioErrors`; sections that depend on a broken one are checked
with what could be resolved, so one typo yields one message, not a cascade.
:func:`check_paths` is the whole of ``zchaos check`` minus printing.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.durations import DurationError, parse_duration
from harness.roles import ROLES
from harness.scenario.contracts import listed_names, resolve_contracts, resolve_expect
from harness.scenario.errors import (
    Issues,
    Path_,
    ScenarioError,
    ScenarioErrors,
    did_you_mean,
    one_of,
)
from harness.scenario.explore import resolve_explore
from harness.scenario.faults import resolve_faults
from harness.scenario.limits import (
    MAX_CONTRACTS,
    MAX_DESCRIPTION,
    MAX_DURATION_S,
    MAX_FAULTS,
    MAX_FILE_BYTES,
    MAX_NAME,
    MAX_SEED,
    number,
)
from harness.scenario.model import Scenario, connect_edges
from harness.scenario.nodes import group_members, resolve_nodes, resolve_timing
from harness.scenario.source import read_yaml
from harness.scenario.warnings import scenario_warnings
from harness.scenario.world import World

TOP_KEYS = ("name", "description", "pattern", "duration", "seed", "timing", "nodes", "faults",
            "contracts", "expect", "explore")
REQUIRED_KEYS = ("name", "pattern", "duration", "nodes")
SCENARIO_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
SUFFIXES = (".yaml", ".yml")


def known_patterns() -> set[str]:
    return {name.split(".", 1)[0] for name in ROLES}


def _check_top(data: Mapping[Any, Any], issues: Issues) -> dict[str, Any]:
    """The scalar top-level fields; returns those that are valid."""
    out: dict[str, Any] = {}
    for key in data:
        if isinstance(key, str) and key.startswith("x-"):
            continue  # extension keys, e.g. a place for YAML anchors to reuse
        if key not in TOP_KEYS:
            issues.add((key,), f"unknown key {key!r}{did_you_mean(str(key), TOP_KEYS)}; "
                               f"a scenario has: {', '.join(TOP_KEYS)} (and x-... keys, "
                               "ignored, e.g. to hold YAML anchors)")
    for key in REQUIRED_KEYS:
        if key not in data:
            issues.add((), f"missing required key {key!r} (required: {', '.join(REQUIRED_KEYS)})")
    name = data.get("name")
    if "name" in data:
        if isinstance(name, str) and SCENARIO_NAME.fullmatch(name) and len(name) <= MAX_NAME:
            out["name"] = name
        else:
            issues.add(("name",), f"bad scenario name {str(name)[:80]!r}: use lowercase "
                                  f"letters, digits, '_' and '-', at most {MAX_NAME} characters "
                                  "(it names the report folder)")
    description = data.get("description", "")
    if description is None:
        description = ""
    if isinstance(description, str) and len(description) > MAX_DESCRIPTION:
        issues.add(("description",), f"{len(description)} characters is too long: at most "
                                     f"{number(MAX_DESCRIPTION)}")
    elif isinstance(description, str):
        out["description"] = description.strip()
    else:
        issues.add(("description",), "expected text")
    if "pattern" in data:
        pattern, patterns = data["pattern"], known_patterns()
        if isinstance(pattern, str) and pattern in patterns:
            out["pattern"] = pattern
        else:
            issues.add(("pattern",), f"unknown pattern {pattern!r}"
                                     f"{did_you_mean(str(pattern), patterns)}; "
                                     f"known patterns: {one_of(patterns)}")
    if "duration" in data:
        try:
            duration = parse_duration(data["duration"])
        except DurationError as exc:
            issues.add(("duration",), str(exc))
        else:
            if 0 < duration <= MAX_DURATION_S:
                out["duration"] = duration
            elif duration > MAX_DURATION_S:
                issues.add(("duration",), f"{data['duration']} is too long: a scenario runs at "
                                          f"most {MAX_DURATION_S / 3600:g}h")
            else:
                issues.add(("duration",), "must be longer than 0, e.g. duration: 10s")
    if "seed" in data:
        seed = data["seed"]
        if isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed <= MAX_SEED:
            out["seed"] = seed
        else:
            issues.add(("seed",), f"expected an integer from 0 to 2**64 - 1, got "
                                  f"{str(seed)[:80]}")
    else:
        out["seed"] = random.SystemRandom().randrange(2**32)
    return out


def _build(data: Any, issues: Issues) -> Scenario | None:
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else repr(data)
        issues.add((), f"a scenario file is a mapping (name: ..., nodes: ...), got {kind}")
        return None
    for key in data:
        if not isinstance(key, str):
            issues.add((), f"keys must be text, got {key!r}; quote it")
    top = _check_top(data, issues)
    timing = resolve_timing(data.get("timing"), issues)
    nodes, broken = (resolve_nodes(data.get("nodes"), timing, issues) if "nodes" in data
                     else ({}, set()))
    world = World(
        nodes=nodes,
        groups=group_members(nodes),
        edges=connect_edges(nodes.values()),
        duration=top.get("duration", float("inf")),
        broken=broken,
    )
    raw_faults, raw_contracts = data.get("faults"), data.get("contracts")
    if isinstance(raw_faults, list) and len(raw_faults) > MAX_FAULTS:
        issues.add(("faults",), f"{len(raw_faults)} faults is too many: at most "
                                f"{number(MAX_FAULTS)} per scenario")
        raw_faults = None
    if isinstance(raw_contracts, list) and len(raw_contracts) > MAX_CONTRACTS:
        issues.add(("contracts",), f"{len(raw_contracts)} contracts is too many: at most "
                                   f"{MAX_CONTRACTS}")
        raw_contracts = None
    faults = resolve_faults(raw_faults, world, issues)
    contracts = resolve_contracts(raw_contracts, issues)
    expect = resolve_expect(data.get("expect"), listed_names(data.get("contracts")), issues)
    explore = resolve_explore(data.get("explore"), world, issues)
    if issues:
        return None
    scenario = Scenario(
        name=top["name"], description=top.get("description", ""), pattern=top["pattern"],
        duration=top["duration"], seed=top["seed"], timing=timing, nodes=nodes,
        faults=faults, contracts=contracts, expect=expect, explore=explore, source=issues.source,
    )
    scenario._warnings = [
        str(ScenarioError(issues.source, w.line, w.field, "warning: " + w.message))
        for w in scenario_warnings(scenario, issues.lines)
    ]
    return scenario


def scenario_from_dict(data: Any, source: str = "<dict>",
                       lines: Mapping[Path_, int] | None = None) -> Scenario:
    """A Scenario from already-parsed YAML data; raises :class:`ScenarioErrors`."""
    issues = Issues(source, lines)
    scenario = _build(data, issues)
    issues.raise_if_any()
    assert scenario is not None
    return scenario


def load_text(text: str, source: str = "<text>") -> Scenario:
    """A Scenario from YAML text (errors carry ``source`` and lines)."""
    if len(text) > MAX_FILE_BYTES:
        raise ScenarioError(source, None, "", f"{number(len(text))} characters: a scenario "
                                              f"file has at most {number(MAX_FILE_BYTES)}")
    issues = Issues(source)
    data = read_yaml(text, issues)
    issues.raise_if_any()
    if data is None:  # pragma: no cover - read_yaml records an issue whenever it returns None
        raise ScenarioError(source, None, "", "nothing to load")
    scenario = _build(data, issues)
    issues.raise_if_any()
    assert scenario is not None
    return scenario


def load_scenario(path: Path | str) -> Scenario:
    """Load and validate one scenario file; raises :class:`ScenarioError` (all problems)."""
    source = str(path)
    try:
        size = Path(path).stat().st_size
        if size > MAX_FILE_BYTES:
            raise ScenarioError(source, None, "", f"the file is {number(size)} bytes: a "
                                                  f"scenario file has at most "
                                                  f"{number(MAX_FILE_BYTES)}")
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(source, None, "", "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(source, None, "", f"cannot read the file: {exc}") from None
    return load_text(text, source)


def discover(paths: list[str]) -> list[Path]:
    """Files as given; folders -> their *.yaml/*.yml files, recursively, sorted."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file())
            if not files:
                raise ScenarioError(raw, None, "", "no scenario files (*.yaml, *.yml) in this "
                                                   "folder")
            found += files
        elif path.is_file():
            found.append(path)
        else:
            raise ScenarioError(raw, None, "", "no such file or directory")
    return list(dict.fromkeys(found))


def _load_each(files: list[Path]) -> list[Scenario | list[ScenarioError]]:
    """Per file, in order: its Scenario, or its errors (a name used twice is an error)."""
    results: list[Scenario | list[ScenarioError]] = []
    by_name: dict[str, Scenario] = {}
    for file in files:
        try:
            scenario = load_scenario(file)
        except ScenarioErrors as exc:
            results.append(list(exc.errors))
            continue
        except ScenarioError as exc:
            results.append([exc])
            continue
        if scenario.name in by_name:
            results.append([ScenarioError(
                str(file), None, "name",
                f"scenario name {scenario.name!r} is also used by "
                f"{by_name[scenario.name].source}; names must be unique in a run "
                "(each names its report folder)")])
            continue
        by_name[scenario.name] = scenario
        results.append(scenario)
    return results


def load_paths(paths: list[str]) -> list[Scenario]:
    """Every scenario under ``paths``; raises :class:`ScenarioErrors` with every problem."""
    results = _load_each(discover(paths))
    errors = [e for r in results if isinstance(r, list) for e in r]
    if errors:
        raise ScenarioErrors(errors)
    return [r for r in results if isinstance(r, Scenario)]


def check_paths(paths: list[str]) -> tuple[int, list[str]]:
    """``zchaos check``: (exit code 0 or 2, lines to print), one line per error or file,
    plus one per warning (which leaves the exit code alone)."""
    try:
        files = discover(paths)
    except ScenarioError as exc:
        return 2, [str(exc)]
    lines: list[str] = []
    failed = False
    for result in _load_each(files):
        if isinstance(result, Scenario):
            lines.append(f"ok  {result.source}  {result.name}  "
                         f"({len(result.nodes)} nodes, {len(result.faults)} faults)")
            lines += result.warnings
        else:
            failed = True
            lines += [str(e) for e in result]
    return (2 if failed else 0), lines
