"""junit.xml and summary.md from a report: red exactly when CI should be, always valid Markdown."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from harness.report.junit import build_junit, write_junit
from harness.report.summary import render_summary
from harness.report.text import cell, event_sentence, violation_sentence

OWNER = {"tcp://127.0.0.1:40001": "broker", "tcp://127.0.0.1:40002": "server"}


def report(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "scenario": "demo", "description": "A demo.\nTwo lines.", "run_id": "r1",
        "runtime": "local", "seed": 7, "status": "complete", "verdict": "fail",
        "expected": "pass", "expected_violated": [], "reasons": ["every_request_answered "
                                                                 "violated: 1 unanswered"],
        "error": None, "failure": None, "contract_names": ["replies_match_requests",
                                                           "every_request_answered"],
        "contracts": [
            {"name": "replies_match_requests", "verdict": "ok", "message": "all 5 match",
             "violations": [], "violation_count": 0},
            {"name": "every_request_answered", "verdict": "violated",
             "message": "client-1:3 unanswered", "violation_count": 1, "violations": [
                 {"why": "client-1:3 was never answered (server tcp://127.0.0.1:40002)",
                  "events": [{"t": 1.5, "node": "client-1", "type": "invoke",
                              "op": "client-1:3", "body": "client-1:3"}]}]},
        ],
        "coverage": {"faults": [{"index": 0, "fault": "partition",
                                 "target": ["client-1->broker"], "at": 1.0, "until": 2.0,
                                 "alive": True, "ops_in_flight": 1, "ops_started": 2,
                                 "messages": 0, "bytes": None, "idle_ok": False, "hit": True,
                                 "why": "partition client-1 | broker: 1 in flight"}],
                     "uncovered": [], "hit": 1, "total": 1, "bytes_measured": False},
        "faults": [{"t": 1.0, "node": "harness", "type": "fault", "fault": "partition",
                    "target": "client-1 | broker", "phase": "apply", "index": 0}],
        "operations": {"invoked": 5, "ok": 4, "failed": 0, "unanswered": 1,
                       "availability": None,
                       "latency": {"p50_ms": 1.0, "p90_ms": None, "p99_ms": None,
                                   "max_ms": None},
                       "clients": {"client-1": {"invoked": 5, "ok": 4, "failed": 0,
                                                "unanswered": 1}}},
        "notes": ["client-2 (a client) died on its own at 1.600 s with code 1"],
        "timing": {"wall_s": 3.2},
        "endpoints": OWNER,
        "replay": "zchaos replay reports/r1/demo",
    }
    base.update(over)
    return base


def cases(suite: ET.Element) -> dict[str, ET.Element]:
    return {c.get("name"): c for c in suite.iter("testcase")}


def test_a_violated_contract_is_a_failed_testcase(tmp_path: Path) -> None:
    write_junit(report(), tmp_path / "junit.xml")
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    got = cases(suite)
    assert got["replies_match_requests"].find("failure") is None
    failure = got["every_request_answered"].find("failure")
    assert failure is not None and failure.get("type") == "violated"
    assert "client-1:3 was never answered (server server)" in failure.text  # node, not endpoint
    assert "tcp://" not in failure.text
    assert suite.get("failures") == "1" and suite.get("tests") == "3"
    assert got["fault coverage"].find("failure") is None


def test_an_expected_violation_is_green_with_the_violation_in_system_out() -> None:
    suite = build_junit(report(verdict="pass", expected="violated: every_request_answered",
                               expected_violated=["every_request_answered"]))
    case = cases(suite)["every_request_answered"]
    assert case.find("failure") is None
    out = case.find("system-out")
    assert out is not None and "expected violation" in out.text
    assert "never answered" in out.text
    assert suite.get("failures") == "0"


def test_a_negative_control_that_held_and_an_unknown_are_failures() -> None:
    contracts = [
        {"name": "every_request_answered", "verdict": "ok", "message": "all answered",
         "violations": [], "violation_count": 0},
        {"name": "latency", "verdict": "unknown", "message": "no operation completed",
         "violations": [], "violation_count": 0},
    ]
    suite = build_junit(report(contracts=contracts, expected_violated=["every_request_answered"],
                               expected="violated: every_request_answered"))
    got = cases(suite)
    assert got["every_request_answered"].find("failure").get("type") == "not-caught"
    unknown = got["latency"].find("failure")
    assert unknown.get("type") == "unknown" and "no operation completed" in unknown.get("message")


def test_uncovered_fault_is_a_failed_coverage_testcase() -> None:
    coverage = {"faults": [{"index": 0, "fault": "kill", "target": ["w"], "why": "idle",
                            "hit": False}], "uncovered": [{"index": 0}], "hit": 0, "total": 1}
    suite = build_junit(report(coverage=coverage, verdict="unknown"))
    assert cases(suite)["fault coverage"].find("failure").get("type") == "uncovered"


def test_an_error_marks_every_contract_not_checked() -> None:
    failure = {"node": "server", "code": 3, "when": "before it was ready",
               "summary": "server exited with code 3 before it was ready",
               "log_tail": ["binding failed"]}
    suite = build_junit(report(verdict="error", error="server exited with code 3",
                               failure=failure, contracts=[]))
    got = cases(suite)
    assert set(got) == {"replies_match_requests", "every_request_answered"}
    err = got["replies_match_requests"].find("error")
    assert "not checked" in err.get("message") and "binding failed" in err.text
    assert suite.get("errors") == "2"


def test_summary_tables_are_valid_whatever_the_cells_hold() -> None:
    text = render_summary(report())
    tables: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("|"):
            current.append(re.split(r"(?<!\\)\|", line)[1:-1])
        elif current:
            tables.append(current)
            current = []
    assert tables
    for rows in tables:
        assert len({len(row) for row in rows}) == 1, rows  # same column count in every row
    assert "client-1 \\| broker" in text
    assert "None" not in text and "{'" not in text and "tcp://" not in text
    assert "client-1:3 was never answered (server server): at 1.500 s client-1 sent client-1:3" \
        in text
    assert "## Fault coverage (1 of 1 hit)" in text and "not measured" in text
    assert "## Notes" in text and "died on its own" in text


def test_interrupted_and_failed_start_are_said() -> None:
    failure = {"node": "server", "code": 3, "when": "before it was ready",
               "summary": "server exited with code 3 before it was ready",
               "log_tail": ["Traceback ...", "OSError: no such interface"]}
    text = render_summary(report(status="interrupted", verdict="error", failure=failure))
    assert text.startswith("# demo: ERROR (interrupted)")
    assert "## What failed to start" in text and "OSError: no such interface" in text


@given(st.text(max_size=60))
def test_a_cell_is_one_line_without_bare_pipes(text: str) -> None:
    out = cell(text)
    assert "\n" not in out and "\r" not in out
    assert re.search(r"(?<!\\)\|", out.replace("\\\\", "")) is None


def test_event_and_violation_sentences_name_nodes() -> None:
    ok = {"t": 2.0, "node": "client-1", "type": "ok", "op": "client-1:4", "reply": "client-1:3",
          "server": "tcp://127.0.0.1:40001"}
    assert event_sentence(ok, OWNER) == ("at 2.000 s client-1 accepted reply 'client-1:3' for "
                                         "client-1:4 from broker")
    sentence = violation_sentence({"why": "stale reply", "events": [ok]}, OWNER)
    assert sentence.startswith("stale reply: at 2.000 s") and sentence.endswith(".")
