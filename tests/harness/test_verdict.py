"""Scenario verdicts (harness/verdict.py) and why each process ended (harness/lifecycle.py)."""

from __future__ import annotations

import pytest

from harness.checkers.base import CheckResult
from harness.lifecycle import describe_status, exit_records
from harness.scenario.model import Expectation
from harness.verdict import account_for_lost_lines, decide

PASS = Expectation()
NEGATIVE = Expectation(outcome="violated", violated=["every_request_answered"])
UNCOVERED = [{"index": 2, "fault": "kill", "target": ["worker-1"],
              "why": "kill worker-1 at 3.000 s hit an idle system"}]


def r(name: str, verdict: str, message: str = "") -> CheckResult:
    return CheckResult(name, verdict, message=message)  # type: ignore[arg-type]


@pytest.mark.parametrize(("expect", "verdicts", "uncovered", "want"), [
    (PASS, ["ok", "ok"], [], "pass"),
    (PASS, ["ok", "violated"], [], "fail"),
    (PASS, ["ok", "unknown"], [], "unknown"),
    (PASS, ["ok", "ok"], UNCOVERED, "unknown"),
    (PASS, ["violated", "unknown"], UNCOVERED, "fail"),
    (NEGATIVE, ["ok", "violated"], [], "pass"),
    (NEGATIVE, ["ok", "violated"], UNCOVERED, "pass"),  # the violation proves it
    (NEGATIVE, ["ok", "ok"], [], "fail"),  # the broken behaviour was not caught
    (NEGATIVE, ["ok", "unknown"], [], "unknown"),
    (NEGATIVE, ["violated", "violated"], [], "fail"),
])
def test_verdict_rules(expect, verdicts, uncovered, want) -> None:
    results = [r("replies_match_requests", verdicts[0]), r("every_request_answered", verdicts[1])]
    assert decide(expect, results, uncovered, None).verdict == want


def test_reasons_name_the_uncovered_fault_and_the_contract() -> None:
    decision = decide(PASS, [r("latency", "unknown", "no operation completed")], UNCOVERED,
                      None)
    assert decision.verdict == "unknown"
    assert any("fault #2" in reason and "idle system" in reason for reason in decision.reasons)
    assert any("latency could not be decided: no operation completed" in reason
               for reason in decision.reasons)


def test_error_wins() -> None:
    assert decide(PASS, [], [], "server exited with code 3").verdict == "error"


def test_lost_lines_make_a_reading_contract_unknown() -> None:
    kinds = {"client": "client", "server": "server"}
    results = [r("replies_match_requests", "ok"), r("no_duplicate_execution", "violated"),
               r("every_request_answered", "unknown", "short")]
    out = account_for_lost_lines(results, {"server": 2}, kinds)
    # replies_match_requests reads only clients; no_duplicate_execution reads servers too
    assert [x.verdict for x in out] == ["ok", "unknown", "unknown"]
    assert "2 of server" in out[1].message
    assert out[1].figures["verdict_before_lost_lines"] == "violated"
    assert out[2].message == "short"
    out = account_for_lost_lines(results, {"client": 1}, kinds)
    assert out[0].verdict == "unknown"
    # a contract nobody told us about reads every node
    (other,) = account_for_lost_lines([r("new_contract", "ok")], {"server": 1}, kinds)
    assert other.verdict == "unknown"


def life(t, target, event, **kw):
    return {"t": t, "node": "harness", "type": "lifecycle", "target": target, "event": event,
            **kw}


def test_exit_causes() -> None:
    kinds = {"client-1": "client", "client-2": "client", "client-3": "client",
             "worker": "server", "broker": "server"}
    history = [
        life(0.0, "broker", "start"), life(0.0, "worker", "start"),
        life(0.1, "client-1", "start"), life(0.1, "client-2", "start"),
        life(0.1, "client-3", "start"),
        {"t": 1.0, "node": "harness", "type": "fault", "fault": "kill", "phase": "apply",
         "target": "worker", "targets": ["worker"]},
        life(1.01, "worker", "exit", code=-9),
        life(1.5, "client-1", "exit", code=0),
        life(1.6, "client-2", "exit", code=1),
        life(2.0, "broker", "exit", code=0),
        {"t": 3.0, "node": "harness", "type": "run", "event": "stopping"},
        life(3.1, "client-3", "exit", code=0),
    ]
    causes = {e["node"]: e["cause"] for e in exit_records(history, kinds)}
    assert causes == {"worker": "fault", "client-1": "finished", "client-2": "crashed",
                      "broker": "exited", "client-3": "harness"}
    crashed = next(e for e in exit_records(history, kinds) if e["node"] == "client-2")
    assert "client-2 (a client) died on its own at 1.600 s with code 1" in crashed["sentence"]


def test_describe_status() -> None:
    assert describe_status(3) == "code 3"
    assert describe_status(-9) == "signal SIGKILL"
    assert describe_status(137) == "code 137 (SIGKILL)"
