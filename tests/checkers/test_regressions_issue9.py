"""Issue 9: the eleven histories the checkers misjudged, one plain test each.

Every test feeds a hand-made history through ``run_contract`` exactly as the
runner does, and states the verdict the documented rule gives (see
docs/contracts.md). Each of them failed on the checkers before issue 9.
"""

from __future__ import annotations

from chk_events import (
    ack,
    by_time,
    context,
    fail,
    fatal,
    fault,
    handled,
    invoke,
    lifecycle,
    mmi,
    ok,
    retry,
    state,
)

from harness.checkers import run_contract


def verdict(name: str, history: list[dict], ctx, **params) -> str:
    return run_contract(name, params, by_time(*history), ctx).verdict


# 1 -----------------------------------------------------------------------------

def test_1_deadline_counts_from_the_ops_own_impairments_not_the_runs_last_fault() -> None:
    # c:1 invoked at 1.0 and never answered; the server paused 2..4; within 3 s.
    base = [invoke(0.1, "c", 0), ok(0.2, "c", 0), invoke(1.0, "c", 1),
            fault(2.0, "pause", "s"), fault(4.0, "pause", "s", "revert")]
    # Due at max(1.0, 4.0) + 3 = 7: at run end 6 the run is too short to decide.
    assert verdict("every_request_answered", base, context(end=6.0), within=3.0) == "unknown"
    assert verdict("every_request_answered", base, context(end=7.5), within=3.0) == "violated"
    # A fault long after the op was due (10..12) does not excuse it.
    later = [*base, fault(10.0, "pause", "s"), fault(12.0, "pause", "s", "revert")]
    assert verdict("every_request_answered", later, context(end=16.0), within=3.0) == "violated"


def test_1_a_run_that_ends_before_the_last_heal_plus_within_is_unknown() -> None:
    # A client that hangs right after the last fault: nothing after it is due by the end.
    history = [invoke(0.1, "c", 0), ok(0.2, "c", 0), fault(1.0, "pause", "s"),
               fault(3.0, "pause", "s", "revert"), invoke(3.1, "c", 1), ok(3.2, "c", 1),
               invoke(3.3, "c", 2)]
    assert verdict("every_request_answered", history, context(end=5.0), within=3.0) == "unknown"
    assert verdict("every_request_answered", history, context(end=6.5), within=3.0) == "violated"


# 2 -----------------------------------------------------------------------------

LAZY_1S = {"c": ("lazy_pirate.client", "client", {"timeout": 1000, "retries": 3})}


def test_2_a_kill_long_after_the_deadline_does_not_orphan_an_overdue_op() -> None:
    # bounded_give_up bound: 3 x 1 s x 1.5 + 0.2 = 4.7 s; killed at 30, long overdue.
    history = [invoke(0.5, "c", 0), ok(0.6, "c", 0), invoke(1.0, "c", 1),
               fault(30.0, "kill", "c")]
    ctx = context(LAZY_1S, end=40.0)
    assert verdict("every_request_answered", history, ctx) == "violated"
    assert verdict("bounded_give_up", history, ctx) == "violated"


def test_2_a_kill_before_the_deadline_still_orphans_the_op() -> None:
    history = [invoke(0.5, "c", 0), ok(0.6, "c", 0), invoke(1.0, "c", 1),
               fault(2.0, "kill", "c")]
    ctx = context(LAZY_1S, end=40.0)
    assert verdict("every_request_answered", history, ctx) == "ok"
    assert verdict("bounded_give_up", history, ctx) == "ok"


# 3 -----------------------------------------------------------------------------

BSTAR = {
    "p": ("binary_star.server", "server", {"primary": True}),
    "b": ("binary_star.server", "server", {"backup": True}),
    "c": ("binary_star.client", "client", {"timeout": 2000, "retries": 3, "settle": 500}),
    "d": ("binary_star.client", "client", {"timeout": 2000, "retries": 3, "settle": 500}),
}
BSTAR_OWNER = {"tcp://p": "p", "tcp://b": "b"}


def bstar(end: float = 3.0):
    return context(BSTAR, end=end, owner=BSTAR_OWNER,
                   connects={"c": ("p", "b"), "d": ("p", "b")})


def test_3_overlapping_answer_windows_alone_are_no_split_brain() -> None:
    # p answers c at 0.05 (delivered slowly at 1.0), is killed at 0.1; b ACTIVE at 0.7.
    history = [state(0.0, "p", "ACTIVE"), state(0.0, "b", "PASSIVE"), invoke(0.01, "c", 1),
               fault(0.1, "kill", "p"), lifecycle(0.11, "p", "exit"), invoke(0.6, "d", 1),
               state(0.7, "b", "ACTIVE"), ok(0.9, "d", 1, server="tcp://b"),
               ok(1.0, "c", 1, server="tcp://p")]
    assert verdict("at_most_one_active", history, bstar()) == "ok"


# 4 -----------------------------------------------------------------------------

def test_4_a_stateless_server_answering_while_the_other_is_active_is_a_split_brain() -> None:
    history = [state(0.1, "p", "ACTIVE"),
               invoke(1.0, "c", 1), ok(1.1, "c", 1, server="tcp://p"),
               invoke(1.2, "c", 2), ok(1.3, "c", 2, server="tcp://b"),
               invoke(1.4, "c", 3), ok(1.5, "c", 3, server="tcp://p")]
    assert verdict("at_most_one_active", history, bstar()) == "violated"


def test_4_a_pair_with_one_silent_server_is_at_best_unknown() -> None:
    history = [state(0.1, "p", "ACTIVE"), invoke(1.0, "c", 1),
               ok(1.1, "c", 1, server="tcp://p")]
    assert verdict("at_most_one_active", history, bstar()) == "unknown"


# 5 -----------------------------------------------------------------------------

def test_5_a_reply_accepted_long_after_the_budget_breaks_bounded_give_up() -> None:
    history = [invoke(1.0, "c", 1), ok(21.0, "c", 1)]
    assert verdict("bounded_give_up", history, context(LAZY_1S, end=30.0)) == "violated"


def test_5_a_reply_accepted_after_giving_up_is_flagged() -> None:
    history = [invoke(0.1, "c", 0), ok(0.2, "c", 0),
               invoke(1.0, "c", 1), fail(2.0, "c", 1), ok(3.0, "c", 1)]
    ctx = context(LAZY_1S, end=10.0)
    assert verdict("replies_match_requests", history, ctx) == "violated"
    assert verdict("every_request_answered", history, ctx) == "violated"


# 6 -----------------------------------------------------------------------------

ONE_WORKER = {
    "broker": ("majordomo.broker", "server", {}),
    "worker": ("majordomo.worker", "server", {"service": "echo"}),
    "probe": ("majordomo.mmi_probe", "client", {"service": "echo"}),
}
UP = [lifecycle(0.0, "broker", "start"), lifecycle(0.1, "worker", "start")]


def test_6_two_faults_of_one_name_on_one_link_are_tracked_apart() -> None:
    link = "worker->broker"
    history = [*UP, fault(1.0, "timeout", link), fault(2.0, "timeout", link),
               fault(3.0, "timeout", link, "revert"), mmi(5.0, "echo", "404"),
               fault(7.0, "timeout", link, "revert")]
    assert verdict("mmi_reflects_workers", history, context(ONE_WORKER, end=9.0)) == "ok"


def test_6_latency_and_bandwidth_excuse_a_404() -> None:
    for toxic in ("latency", "bandwidth"):
        history = [*UP, fault(1.0, toxic, "worker->broker"), mmi(5.0, "echo", "404"),
                   fault(11.0, toxic, "worker->broker", "revert")]
        assert verdict("mmi_reflects_workers", history, context(ONE_WORKER, end=12.0)) == "ok"


# 7 -----------------------------------------------------------------------------

def test_7_oks_that_cannot_be_verified_decide_nothing() -> None:
    history = [{"t": 0.1, "node": "c", "type": "invoke", "op": "c:1"},
               {"t": 0.2, "node": "c", "type": "ok", "op": "c:1", "reply": "anything"}]
    assert verdict("replies_match_requests", history, context(end=1.0)) == "unknown"


# 8 -----------------------------------------------------------------------------

TITANIC = {"c": ("titanic.client", "client", {"timeout": 500, "retries": 1})}


def test_8_an_ack_just_before_the_end_is_pending_not_lost() -> None:
    history = [invoke(0.0, "c", 0), ack(0.1, "c", 0, "u0"), ok(1.0, "c", 0),
               invoke(9.0, "c", 1), ack(9.999, "c", 1, "u1")]
    assert verdict("durable_acks", history, context(TITANIC, end=10.0)) == "ok"


def test_8_an_ack_whose_client_was_killed_for_good_is_orphaned_not_lost() -> None:
    history = [invoke(0.0, "c", 0), ack(0.1, "c", 0, "u0"), ok(1.0, "c", 0),
               invoke(1.5, "c", 1), ack(1.6, "c", 1, "u1"), fault(2.0, "kill", "c")]
    assert verdict("durable_acks", history, context(TITANIC, end=30.0)) == "ok"


# 9 -----------------------------------------------------------------------------

def test_9_each_role_declares_its_own_budget() -> None:
    # Freelance model 1 tries each of its 3 servers once even with retries 1.
    nodes = {"c": ("freelance.client1", "client", {"timeout": 200, "retries": 1}),
             **{f"s{i}": ("freelance.server1", "server", {}) for i in range(3)}}
    ctx = context(nodes, end=5.0, connects={"c": ("s0", "s1", "s2")})
    history = [invoke(1.0, "c", 1), retry(1.2, "c", 1, 2), retry(1.4, "c", 1, 3),
               ok(1.5, "c", 1)]
    assert verdict("bounded_give_up", history, ctx) == "ok"


# 10 ----------------------------------------------------------------------------

def test_10_a_stopped_server_is_active_until_its_process_exits() -> None:
    history = [state(0.5, "p", "ACTIVE"), state(0.5, "b", "PASSIVE"), fault(2.0, "stop", "p"),
               state(3.0, "b", "ACTIVE"), lifecycle(4.0, "p", "exit", code=0)]
    assert verdict("at_most_one_active", history, bstar(end=6.0)) == "violated"


def test_10_a_server_is_active_after_its_own_fatal_until_it_exits() -> None:
    history = [state(0.5, "p", "ACTIVE"), state(0.5, "b", "PASSIVE"), fatal(3.0, "p"),
               state(3.5, "b", "ACTIVE"), lifecycle(4.0, "p", "exit", code=3)]
    assert verdict("at_most_one_active", history, bstar(end=6.0)) == "violated"


def test_10_a_worker_in_its_sigterm_grace_is_still_alive_for_a_200() -> None:
    history = [*UP, fault(2.0, "stop", "worker"), handled(2.5, "worker", "x"),
               mmi(3.5, "echo", "200"), lifecycle(4.0, "worker", "exit", code=0)]
    assert verdict("mmi_reflects_workers", history, context(ONE_WORKER, end=6.0)) == "ok"


# 11 ----------------------------------------------------------------------------

def test_11_each_client_is_judged_by_its_own_budget() -> None:
    nodes = {"slow": ("lazy_pirate.client", "client", {"timeout": 5000, "retries": 3}),
             "fast": ("lazy_pirate.client", "client", {"timeout": 250, "retries": 3})}
    history = [invoke(0.1, "slow", 0), ok(0.2, "slow", 0), invoke(0.1, "fast", 0),
               ok(0.2, "fast", 0), invoke(1.0, "fast", 1)]
    assert verdict("every_request_answered", history, context(nodes, end=5.0)) == "violated"
