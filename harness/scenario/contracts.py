"""Resolving ``contracts:`` and ``expect:`` against the checker registry.

The registry (``harness.checkers.REGISTRY``) is the source of truth: a
contract name must be registered, and its parameters must be keyword-only
parameters of that checker function. While the registry is not importable
(e.g. a partial checkout) a built-in list of the known checkers stands in, so
scenario files can still be checked.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import Any

from harness.durations import DurationError, parse_duration
from harness.scenario.errors import Issues, did_you_mean, one_of
from harness.scenario.model import ContractSpec, Expectation

# Parameters that are time bounds: written as durations ("10s"), handed over in seconds.
# (bounded_give_up's ``slack`` is a ratio, availability's ``min`` a fraction: plain numbers.)
DURATION_PARAMS = frozenset({"within", "grace", "p50_max", "p90_max", "p99_max", "silence_max"})

# Used only when harness.checkers.REGISTRY cannot be imported: name -> parameters.
FALLBACK_CONTRACTS: dict[str, tuple[str, ...]] = {
    "replies_match_requests": (),
    "every_request_answered": ("within",),
    "bounded_give_up": ("slack",),
    "duplicate_executions": (),
    "no_duplicate_execution": ("max",),
    "availability": ("min",),
    "latency": ("p50_max", "p99_max"),
    "at_most_one_active": (),
    "failover_within": ("within",),
    "durable_acks": ("grace",),
    "mmi_reflects_workers": ("service", "grace"),
}


@dataclass(frozen=True)
class ContractSignature:
    """The parameters a checker takes: name -> required?; ``open`` = it takes **kwargs.

    ``numeric`` names the parameters annotated as numbers only (``float``,
    ``int | None``), so ``min: "95%"`` is refused at load time rather than
    turning the contract's verdict into ``unknown`` at the end of a run.
    """

    params: dict[str, bool]
    open: bool = False
    numeric: frozenset[str] = frozenset()


def _is_numeric(annotation: Any) -> bool:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    if annotation is inspect.Parameter.empty or not text:
        return False
    kinds = {part.strip() for part in str(text).split("|")} - {"None"}
    return bool(kinds) and kinds <= {"int", "float"}


def is_duration_param(name: str) -> bool:
    return name in DURATION_PARAMS or name.endswith(("_within", "_grace"))


def _signature(checker: Any) -> ContractSignature:
    try:
        sig = inspect.signature(checker)
    except (TypeError, ValueError):
        return ContractSignature({}, open=True)
    params = {
        p.name: p.default is inspect.Parameter.empty
        for p in sig.parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }
    is_open = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values())
    numeric = frozenset(p.name for p in sig.parameters.values()
                        if p.kind is inspect.Parameter.KEYWORD_ONLY and _is_numeric(p.annotation))
    return ContractSignature(params, open=is_open, numeric=numeric)


def known_contracts() -> dict[str, ContractSignature]:
    """Contract name -> signature, from the registry when it is importable."""
    try:
        module = importlib.import_module("harness.checkers")
        registry = module.REGISTRY
    except (ImportError, AttributeError):
        return {name: ContractSignature(dict.fromkeys(params, False),
                                        numeric=frozenset(params) & {"min", "max", "slack"})
                for name, params in FALLBACK_CONTRACTS.items()}
    return {name: _signature(checker) for name, checker in dict(registry).items()}


def _params(name: str, raw: Any, path: tuple[str | int, ...], sig: ContractSignature,
            issues: Issues) -> tuple[dict[str, Any], set[str]] | None:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        issues.add(path, f"expected the parameters of {name} as a mapping, e.g. "
                         f"{{{name}: {{{next(iter(sig.params), 'param')}: ...}}}}")
        return None
    params: dict[str, Any] = {}
    durations: set[str] = set()
    ok = True
    for key, value in raw.items():
        where = (*path, key)
        if key not in sig.params and not sig.open:
            takes = ", ".join(sig.params) or "no parameters"
            issues.add(where, f"unknown parameter {key!r} for {name}"
                              f"{did_you_mean(str(key), sig.params)}; it takes: {takes}")
            ok = False
            continue
        if is_duration_param(str(key)):
            try:
                params[key] = parse_duration(value)
            except DurationError as exc:
                issues.add(where, str(exc))
                ok = False
                continue
            durations.add(key)
        elif key in sig.numeric and (isinstance(value, bool)
                                     or not isinstance(value, int | float)):
            issues.add(where, f"expected a number, got {value!r}")
            ok = False
        else:
            params[key] = value
    for key, required in sig.params.items():
        if required and key not in params and key not in raw:
            issues.add(path, f"{name} needs the parameter {key!r}")
            ok = False
    return (params, durations) if ok else None


def resolve_contracts(raw: Any, issues: Issues) -> list[ContractSpec]:
    """``contracts:`` entries (a name, or ``{name: {param: value}}``) -> specs."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        issues.add(("contracts",), "expected a list, e.g. [replies_match_requests, "
                                   "{every_request_answered: {within: 10s}}]")
        return []
    known = known_contracts()
    specs: list[ContractSpec] = []
    for index, entry in enumerate(raw):
        path: tuple[str | int, ...] = ("contracts", index)
        if isinstance(entry, str):
            name, params_raw = entry, None
        elif isinstance(entry, dict) and len(entry) == 1:
            name, params_raw = next(iter(entry.items()))
            path = (*path, name)
        else:
            issues.add(path, "expected a contract name, or a one-key mapping "
                             "{name: {param: value}}")
            continue
        if not isinstance(name, str) or name not in known:
            issues.add(path, f"unknown contract {name!r}{did_you_mean(str(name), known)}; "
                             f"known contracts: {one_of(known)}")
            continue
        if any(spec.name == name for spec in specs):
            issues.add(path, f"contract {name!r} is listed twice; give it once with all its "
                             "parameters")
            continue
        resolved = _params(name, params_raw, path, known[name], issues)
        if resolved is None:
            continue
        spec = ContractSpec(name=name, params=resolved[0])
        spec._duration_params = frozenset(resolved[1])
        specs.append(spec)
    return specs


def listed_names(raw: Any) -> set[str]:
    """Contract names written in ``contracts:``, valid or not (so expect errors don't cascade)."""
    names: set[str] = set()
    for entry in raw if isinstance(raw, list) else []:
        if isinstance(entry, str):
            names.add(entry)
        elif isinstance(entry, dict) and len(entry) == 1:
            names.add(str(next(iter(entry))))
    return names


def resolve_expect(raw: Any, listed: set[str], issues: Issues) -> Expectation:
    """``expect: pass`` or ``expect: {violated: [names]}`` (names listed in contracts)."""
    if raw is None or raw == "pass":
        return Expectation()
    if not isinstance(raw, dict) or set(raw) != {"violated"}:
        issues.add(("expect",), "expected pass, or {violated: [contract, ...]} for a negative "
                                "control")
        return Expectation()
    names = raw["violated"]
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list) or not names:
        issues.add(("expect", "violated"), "expected a non-empty list of contract names")
        return Expectation()
    out: list[str] = []
    for index, name in enumerate(names):
        where = ("expect", "violated", index) if isinstance(raw["violated"], list) else (
            "expect", "violated")
        if not isinstance(name, str) or name not in listed:
            issues.add(where, f"{name!r} is not in this scenario's contracts"
                              f"{did_you_mean(str(name), listed)}; list it under contracts "
                              f"too (contracts: {one_of(listed)})")
            continue
        if name not in out:
            out.append(name)
    return Expectation(outcome="violated", violated=out)
