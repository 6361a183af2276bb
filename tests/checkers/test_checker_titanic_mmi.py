"""durable_acks (Titanic) and mmi_reflects_workers (MMI)."""

from __future__ import annotations

from chk_events import ack, by_time, context, fault, invoke, lifecycle, mmi, ok

from harness.checkers.durability import durable_acks
from harness.checkers.mmi import mmi_reflects_workers

# -- durable_acks --------------------------------------------------------------


def test_every_acked_request_answered_is_ok() -> None:
    history = by_time(invoke(0, "c", 1), ack(0.1, "c", 1, "u1"), ok(2.0, "c", 1),
                      invoke(2.1, "c", 2), ack(2.2, "c", 2, "u2"), ok(3.0, "c", 2))
    result = durable_acks(history, context(end=10))
    assert result.verdict == "ok"
    assert (result.figures["acked"], result.figures["replied"], result.figures["lost"]) == (2, 2, 0)


def test_acked_but_never_answered_is_lost() -> None:
    history = by_time(invoke(0, "c", 1), ack(0.1, "c", 1, "u1"), ok(2.0, "c", 1),
                      invoke(2.1, "c", 2), ack(2.2, "c", 2, "u2"))
    result = durable_acks(history, context(end=10))
    assert result.verdict == "violated" and result.figures["lost"] == 1
    assert "u2" in result.message
    assert durable_acks(history, context(end=10), grace=8.0).verdict == "ok"


def test_wrong_reply_after_ack_is_flagged() -> None:
    history = by_time(invoke(0, "c", 1), ack(0.1, "c", 1, "u1"), ok(1.0, "c", 1, reply="c:0"))
    result = durable_acks(history, context(end=10))
    assert result.verdict == "violated" and result.figures["wrong"] == 1


def test_two_uuids_for_one_op_are_reported_only() -> None:
    history = by_time(invoke(0, "c", 1), ack(0.1, "c", 1, "u1"), ack(0.5, "c", 1, "u2"),
                      ok(1.0, "c", 1))
    result = durable_acks(history, context(end=10))
    assert result.verdict == "ok" and result.figures["multi_uuid_ops"] == 1


def test_no_ack_is_unknown() -> None:
    assert durable_acks(by_time(invoke(0, "c", 1), ok(1, "c", 1)), context(end=5)).verdict \
        == "unknown"


# -- mmi_reflects_workers -------------------------------------------------------

MDP = {
    "broker": ("majordomo.broker", "server", {}),
    "worker-1": ("majordomo.worker", "server", {"service": "echo"}),
    "worker-2": ("majordomo.worker", "server", {}),  # service defaults to echo
    "probe": ("majordomo.mmi_probe", "client", {"service": "echo"}),
}


def started() -> list[dict]:
    return [lifecycle(0.0, "broker", "start"), lifecycle(0.1, "worker-1", "start"),
            lifecycle(0.1, "worker-2", "start")]


def test_consistent_answers_pass() -> None:
    history = by_time(
        *started(), mmi(1.5, "echo", "200"), mmi(1.5, "nosuch", "404"),
        mmi(1.6, "mmi.frobnicate", "501"),
        fault(2.0, "kill", "worker-1,worker-2"),
        mmi(2.5, "echo", "200"),  # still registered: within the grace of the kill
        mmi(3.5, "echo", "404"),
    )
    result = mmi_reflects_workers(history, context(MDP, end=5))
    assert result.verdict == "ok", result.violations
    assert result.figures["codes"] == {"200": 2, "404": 2, "501": 1}


def test_stale_200_after_every_worker_died_is_flagged() -> None:
    history = by_time(*started(), fault(2.0, "kill", "worker-1"), fault(2.0, "kill", "worker-2"),
                      mmi(3.5, "echo", "200"))
    result = mmi_reflects_workers(history, context(MDP, end=5))
    assert result.verdict == "violated" and "no live worker" in result.message


def test_200_for_a_service_nobody_serves_is_flagged() -> None:
    history = by_time(*started(), mmi(1.5, "nosuch", "200"))
    assert mmi_reflects_workers(history, context(MDP, end=5)).verdict == "violated"
    only_echo = mmi_reflects_workers(history, context(MDP, end=5), service="echo")
    assert only_echo.verdict == "unknown"


def test_404_with_a_healthy_worker_is_flagged() -> None:
    history = by_time(*started(), mmi(1.5, "echo", "404"))
    result = mmi_reflects_workers(history, context(MDP, end=5))
    assert result.verdict == "violated" and "worker-1" in result.message


def test_404_right_after_start_is_within_grace() -> None:
    history = by_time(*started(), mmi(0.3, "echo", "404"))
    assert mmi_reflects_workers(history, context(MDP, end=5)).verdict == "ok"


def test_404_while_workers_paused_or_cut_off_or_broker_restarted_is_excused() -> None:
    for trouble in (
        [fault(1.0, "pause", "worker-1,worker-2"), fault(3.0, "pause", "worker-1,worker-2",
                                                          "revert")],
        [fault(1.0, "partition", "worker-1,worker-2 | broker"), fault(3.0, "heal", "all")],
        [fault(1.8, "restart", "broker"), lifecycle(1.81, "broker", "start")],
    ):
        history = by_time(*started(), *trouble, mmi(2.5, "echo", "404"))
        result = mmi_reflects_workers(history, context(MDP, end=5))
        assert result.verdict == "ok", (trouble, result.violations)


def test_404_long_after_a_broker_restart_is_flagged() -> None:
    # workers re-register within a heartbeat expiry; grace (1 s) covers that
    history = by_time(*started(), fault(1.0, "restart", "broker"),
                      lifecycle(1.01, "broker", "start"), mmi(2.5, "echo", "404"))
    assert mmi_reflects_workers(history, context(MDP, end=5)).verdict == "violated"


def test_501_for_a_normal_service_and_garbage_codes_are_flagged() -> None:
    history = by_time(*started(), mmi(1.5, "echo", "501"))
    assert mmi_reflects_workers(history, context(MDP, end=5)).verdict == "violated"
    history = by_time(*started(), mmi(1.5, "echo", "2OO"))
    assert mmi_reflects_workers(history, context(MDP, end=5)).verdict == "violated"


def test_worker_restarted_by_a_kill_revert_counts_as_alive_again() -> None:
    history = by_time(*started(), fault(1.0, "kill", "worker-1,worker-2"),
                      fault(2.0, "kill", "worker-1,worker-2", "revert"),
                      lifecycle(2.0, "worker-1", "start"), lifecycle(2.0, "worker-2", "start"),
                      mmi(4.0, "echo", "404"))
    assert mmi_reflects_workers(history, context(MDP, end=5)).verdict == "violated"


def test_no_probe_is_unknown() -> None:
    assert mmi_reflects_workers(started(), context(MDP, end=5)).verdict == "unknown"
