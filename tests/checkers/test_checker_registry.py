"""The registry and run_contract: names, signatures, and never crashing a run."""

from __future__ import annotations

import inspect

import pytest
from chk_events import by_time, context, invoke, ok

from harness import checkers
from harness.checkers import REGISTRY, contract_params, describe, run_contract
from harness.checkers.base import CheckResult

EXPECTED = {
    "replies_match_requests", "every_request_answered", "bounded_give_up",
    "no_duplicate_execution", "duplicate_executions", "availability", "latency",
    "at_most_one_active", "failover_within", "durable_acks", "mmi_reflects_workers",
    "lru_dispatch", "local_first", "stale_peer_routes", "no_loss_in_dead_peer",
    "ordered_delivery", "bounded_loss", "delivery_latency", "tasks_exactly_once",
    "kill_stops_workers",
}


def test_registry_has_every_contract() -> None:
    assert set(REGISTRY) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_signatures_take_history_context_then_keyword_only_params(name: str) -> None:
    params = list(inspect.signature(REGISTRY[name]).parameters.values())
    assert [p.name for p in params[:2]] == ["history", "ctx"]
    for p in params[2:]:
        assert p.kind is inspect.Parameter.KEYWORD_ONLY, (name, p.name)
        assert p.default is not inspect.Parameter.empty, (name, p.name)
    assert describe(name)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_checker_handles_an_empty_history_as_unknown(name: str) -> None:
    result = run_contract(name, {}, [], context(end=1.0))
    assert result.verdict == "unknown", (name, result.message)
    assert result.name == name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_checker_survives_odd_events(name: str) -> None:
    odd = [
        {"t": 0.1, "node": "c", "type": "ok"},  # no op
        {"t": 0.2, "node": "c", "type": "invoke", "op": 5, "body": None},
        {"t": 0.2, "node": "c", "type": "invoke"},  # no op at all
        {"t": 0.25, "node": "c", "type": "ok", "op": ["not", "hashable"]},
        {"t": 0.25, "node": "s", "type": "handled", "op": {"x": 1}},
        {"t": 0.26, "node": "c", "type": "retry", "op": "c:1", "attempt": "two"},
        {"t": 0.3, "node": "harness", "type": "fault", "fault": "kill", "target": None},
        {"t": 0.4, "node": "x", "type": "state", "state": None},
        {"t": 0.5, "node": "p", "type": "mmi"},
        {"t": 0.6, "node": "c", "type": "ack", "op": "c:1"},
        {"t": 0.7, "node": "harness", "type": "lifecycle", "target": ["odd"], "event": "exit"},
    ]
    result = run_contract(name, {}, odd, context(end=1.0))
    assert not result.message.startswith("checker error"), result.message


def test_contract_params_match_the_documented_defaults() -> None:
    assert contract_params("every_request_answered") == {"within": None}
    assert contract_params("bounded_give_up") == {"slack": 0.5}
    assert contract_params("no_duplicate_execution") == {"max": 1}
    assert contract_params("latency") == {"p50_max": None, "p99_max": None}
    assert contract_params("failover_within") == {"within": 5.0}


def test_run_contract_passes_params() -> None:
    history = by_time(invoke(0, "c", 1), ok(0.5, "c", 1))
    assert run_contract("latency", {"p50_max": 1.0}, history, context()).verdict == "ok"
    assert run_contract("latency", {"p50_max": 0.1}, history, context()).verdict == "violated"


def test_a_crashing_checker_gives_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(history, ctx):
        raise ZeroDivisionError("boom")

    monkeypatch.setitem(checkers.REGISTRY, "broken", broken)
    result = run_contract("broken", None, [], context())
    assert result.verdict == "unknown"
    assert "ZeroDivisionError: boom" in result.message


def test_unknown_name_and_bad_params_give_unknown() -> None:
    assert run_contract("no_such_contract", {}, [], context()).verdict == "unknown"
    bad = run_contract("availability", {"maximum": 3}, [], context())
    assert bad.verdict == "unknown" and "checker error" in bad.message


def test_result_serialises() -> None:
    result = run_contract("replies_match_requests", {}, [invoke(0, "c", 1), ok(1, "c", 1,
                                                                             reply="x")], context())
    assert isinstance(result, CheckResult)
    data = result.to_json()
    assert data["verdict"] == "violated" and data["violation_count"] == 1


def test_one_cap_and_a_true_count_past_it() -> None:
    from chk_events import handled

    from harness.checkers.base import MAX_VIOLATIONS

    history = by_time(*(handled(0.001 * i, s, f"c:{i}") for i in range(250) for s in ("a", "b")))
    result = run_contract("no_duplicate_execution", {}, history, context(end=1.0))
    data = result.to_json()
    assert len(result.violations) == len(data["violations"]) == MAX_VIOLATIONS
    assert data["violation_count"] == 250
    assert result.message.endswith("(+249 more)")


def test_checkers_are_independent_of_each_other() -> None:
    """A contract module imports only the shared modules, never another contract's."""
    import ast
    from pathlib import Path

    shared = {"harness.checkers.base", "harness.checkers.verdicts", "harness.checkers.rules",
              "harness.checkers.timeline", "harness.checkers.routing", "harness.checkers.oneway",
              "harness.history",
              "harness.roles"}
    folder = Path(checkers.__file__).parent
    for path in folder.glob("*.py"):
        if path.stem in ("__init__", "base", "verdicts", "rules", "timeline", "routing",
                         "oneway"):
            continue
        tree = ast.parse(path.read_text())
        imported = {node.module for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom) and node.module
                    and node.module.startswith("harness")}
        assert imported <= shared, (path.name, imported - shared)
