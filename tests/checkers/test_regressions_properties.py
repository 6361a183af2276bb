"""Counter-examples the property tests found, kept as plain tests (shrunk by Hypothesis).

Each one broke a checker (or a reference model's agreement with a checker's
documented rule) until it was fixed; the comment says which and how.
"""

from __future__ import annotations

from chk_events import by_time, context, fail, invoke, ok

from harness.checkers import run_contract


def test_availability_exactly_at_min_is_ok_even_when_not_a_round_number() -> None:
    # 5 of 6 answered, min 5/6: the checker rounded 0.8333... to 0.833333 before
    # comparing, and flagged a run that met its threshold exactly.
    history = by_time(*(e for n in range(1, 6) for e in (invoke(n, "c", n), ok(n + 0.1, "c", n))),
                      invoke(7, "c", 6), fail(7.5, "c", 6))
    result = run_contract("availability", {"min": 5 / 6}, history, context(end=10))
    assert result.verdict == "ok"
    assert result.figures["availability"] == 0.833333


def test_a_request_left_open_by_a_client_killed_before_its_deadline_is_an_orphan() -> None:
    # The property tests first "injected" a hang by dropping the reply of an op whose
    # client the nemesis killed a moment later: by the orphan rule that op is excused
    # (the kill came before its deadline), and the models now inject hangs elsewhere.
    nodes = {"c": ("lazy_pirate.client", "client", {"timeout": 50, "retries": 1})}
    history = by_time(invoke(0.0, "c", 1), invoke(0.001, "c", 2),
                      {"t": 0.002, "node": "harness", "type": "fault", "fault": "kill",
                       "target": "c", "phase": "apply"})
    for name in ("every_request_answered", "bounded_give_up"):
        result = run_contract(name, {}, history, context(nodes, end=1.0))
        assert result.verdict == "unknown" and result.figures["orphaned"] == 2, name


def test_an_acked_request_whose_client_never_returns_is_an_orphan_not_lost() -> None:
    nodes = {"c": ("titanic.client", "client", {})}
    history = by_time(invoke(0.0, "c", 1), ok(0.02, "c", 1),
                      {"t": 0.005, "node": "c", "type": "ack", "op": "c:1", "uuid": "u1"},
                      invoke(0.1, "c", 2),
                      {"t": 0.11, "node": "c", "type": "ack", "op": "c:2", "uuid": "u2"},
                      {"t": 0.3, "node": "harness", "type": "fault", "fault": "kill",
                       "target": "c", "phase": "apply"})
    result = run_contract("durable_acks", {"grace": 2.0}, history, context(nodes, end=2.8))
    assert result.verdict == "ok" and result.figures["orphaned"] == 1
