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


def test_a_failover_no_client_ever_reached_is_a_violation() -> None:
    # Found by the deep profile: the Binary Star model let a second fault hit the new
    # ACTIVE server before any client reached it, and its clients, alternating out of
    # phase, went unanswered for the whole window. By the contract that is a failed
    # failover (demand, no reply from another server), so the checker was right; the
    # model now spaces its faults by the time clients need to reach a new server.
    from chk_events import fault, gave_up, lifecycle, retry, state

    nodes = {"p": ("binary_star.server", "server", {}), "b": ("binary_star.server", "server", {}),
             "c0": ("binary_star.client", "client", {"timeout": 200, "settle": 50,
                                                     "retries": 2})}
    history = by_time(
        state(0.05, "p", "ACTIVE"), state(0.055, "b", "PASSIVE"), invoke(0.99, "c0", 3),
        fault(0.35, "stop", "p"), lifecycle(0.533, "p", "exit"), state(0.583, "b", "ACTIVE"),
        fault(1.083, "start", "p"), lifecycle(1.083, "p", "start"), state(1.087, "p", "PASSIVE"),
        fault(1.383, "kill", "b"), lifecycle(1.384, "b", "exit"), state(1.41, "p", "ACTIVE"),
        retry(2.274, "c0", 3, 2), gave_up(3.306, "c0", 3), invoke(3.506, "c0", 4),
        gave_up(5.822, "c0", 4))
    ctx = context(nodes, end=7.107, owner={"tcp://p": "p", "tcp://b": "b"},
                  connects={"c0": ("p", "b")})
    result = run_contract("failover_within", {"within": 6.5}, history, ctx)
    assert result.verdict == "violated" and "stop at 0.350" in result.message
