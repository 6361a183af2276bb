"""ordered_delivery, bounded_loss and delivery_latency on hand-made histories."""

from __future__ import annotations

from oneway_events import by_time, context, deliver, fault, lifecycle, publish, subscribe

from harness.checkers import run_contract
from harness.checkers.delivery import bounded_loss, delivery_latency, ordered_delivery
from harness.checkers.oneway import fault_windows, parse_target

DIRECT = {"s1": ["pub"], "s2": ["pub"]}


def stream(node: str, seqs: list[int], topic: str = "a", t0: float = 1.0,
           epoch: int = 0) -> list[dict]:
    return [deliver(t0 + i * 0.01, node, topic, seq, epoch=epoch) for i, seq in enumerate(seqs)]


def published(count: int, topic: str = "a", t0: float = 1.0, epoch: int = 0) -> list[dict]:
    return [publish(t0 - 0.001 + i * 0.01, topic, i + 1, epoch=epoch) for i in range(count)]


# -- ordered_delivery -----------------------------------------------------------------


def test_in_order_with_gaps_is_ok() -> None:
    history = by_time(subscribe(0, "s1"), published(6), stream("s1", [1, 2, 4, 6]))
    result = ordered_delivery(history, context(DIRECT, end=5))
    assert result.verdict == "ok", result.message
    assert result.figures["deliveries"] == 4


def test_a_reorder_is_named() -> None:
    history = by_time(subscribe(0, "s1"), published(4), stream("s1", [1, 3, 2, 4]))
    result = ordered_delivery(history, context(DIRECT, end=5))
    assert result.verdict == "violated"
    assert "s1 received pub/0/a#2 after #3" in result.message
    assert result.violations[0]["subscriber"] == "s1"
    assert result.figures["reorders"] == 1


def test_a_duplicate_is_named() -> None:
    history = by_time(subscribe(0, "s1"), published(3), stream("s1", [1, 2, 2, 3]))
    result = ordered_delivery(history, context(DIRECT, end=5))
    assert result.verdict == "violated" and "received pub/0/a#2 twice" in result.message
    assert result.figures["duplicates"] == 1


def test_order_is_per_topic_and_per_subscriber() -> None:
    history = by_time(subscribe(0, "s1"), subscribe(0, "s2"), published(3, "a"),
                      published(3, "b"), stream("s1", [3], "a", t0=1.0),
                      stream("s1", [1, 2], "b", t0=1.1), stream("s2", [1, 2, 3], "a", t0=1.0))
    assert ordered_delivery(history, context(DIRECT, end=5)).verdict == "ok"


def test_a_new_epoch_is_a_new_stream() -> None:
    history = by_time(subscribe(0, "s1"), published(5), published(2, t0=3.0, epoch=1),
                      stream("s1", [4, 5]), stream("s1", [1, 2], t0=3.0, epoch=1),
                      deliver(3.05, "s1", "a", 5))  # old epoch's last straggler after the new
    result = ordered_delivery(history, context(DIRECT, end=5))
    assert result.verdict == "violated"  # #5 of epoch 0 twice: a duplicate, not a reorder
    assert result.figures["duplicates"] == 1 and result.figures["reorders"] == 0


def test_an_unpublished_message_is_flagged() -> None:
    history = by_time(subscribe(0, "s1"), published(2), stream("s1", [1, 2, 7]))
    result = ordered_delivery(history, context(DIRECT, end=5))
    assert result.verdict == "violated" and "never published" in result.message


def test_a_restarted_subscriber_starts_a_new_session() -> None:
    history = by_time(subscribe(0, "s1"), published(4), stream("s1", [1, 2, 3]),
                      lifecycle(1.5, "s1", "exit"), subscribe(2.0, "s1"),
                      deliver(2.1, "s1", "a", 3))
    assert ordered_delivery(history, context(DIRECT, end=5)).verdict == "ok"


def test_untracked_deliveries_alone_are_unknown() -> None:
    history = [subscribe(0, "s1"), {"t": 1.0, "node": "s1", "type": "deliver",
                                    "untracked": True, "frames": 1, "head": "10001 5 5"}]
    assert ordered_delivery(history, context(DIRECT, end=5)).verdict == "unknown"


# -- bounded_loss -----------------------------------------------------------------


def test_no_loss_is_ok() -> None:
    history = by_time(subscribe(0, "s1"), published(50), stream("s1", list(range(1, 51))))
    result = bounded_loss(history, context(DIRECT, end=5))
    assert result.verdict == "ok", result.message
    assert result.figures["lost"] == 0 and result.figures["owed"] == 50


def test_loss_outside_faults_is_named() -> None:
    seqs = [s for s in range(1, 51) if s not in (20, 21)]
    history = by_time(subscribe(0, "s1"), published(50), stream("s1", seqs))
    result = bounded_loss(history, context(DIRECT, end=5))
    assert result.verdict == "violated"
    assert "s1 lost 2 message(s)" in result.message and "pub/0/a#20" in result.message
    assert result.violations[0]["lost"] == ["pub/0/a#20", "pub/0/a#21"]
    assert bounded_loss(history, context(DIRECT, end=5), max=2).verdict == "ok"


def test_loss_inside_a_fault_on_the_path_is_excused() -> None:
    seqs = [s for s in range(1, 51) if not 20 <= s <= 30]
    pause = [fault(1.19, "pause", "s1"), fault(1.30, "pause", "s1", "revert")]
    history = by_time(subscribe(0, "s1"), published(50), stream("s1", seqs), pause)
    result = bounded_loss(history, context(DIRECT, end=5), grace=0.05)
    assert result.verdict == "ok", result.message
    assert result.figures["dropped_in_faults"] == 11


def test_a_fault_elsewhere_excuses_nothing() -> None:
    seqs = [s for s in range(1, 51) if not 20 <= s <= 30]
    pause = [fault(1.19, "pause", "s2"), fault(1.30, "pause", "s2", "revert")]
    history = by_time(subscribe(0, "s1"), published(50), stream("s1", seqs), pause)
    assert bounded_loss(history, context(DIRECT, end=5), grace=0.05).verdict == "violated"


def test_a_fault_on_the_proxy_excuses_its_subscribers() -> None:
    ctx = context({"s1": ["proxy"], "proxy": ["pub"]}, end=5)
    seqs = [s for s in range(1, 51) if not 20 <= s <= 30]
    kill = [fault(1.19, "kill", "proxy"), lifecycle(1.19, "proxy", "exit"),
            fault(1.30, "start", "proxy"), lifecycle(1.30, "proxy", "start")]
    history = by_time(subscribe(0, "s1"), published(50), stream("s1", seqs), kill)
    assert bounded_loss(history, ctx, grace=0.05).verdict == "ok"
    link = [fault(1.19, "latency", "s1->proxy"), fault(1.30, "latency", "s1->proxy", "revert")]
    history = by_time(subscribe(0, "s1"), published(50), stream("s1", seqs), link)
    assert bounded_loss(history, ctx, grace=0.05).verdict == "ok"
    elsewhere = [fault(1.19, "latency", "s2->proxy"),
                 fault(1.30, "latency", "s2->proxy", "revert")]
    history = by_time(subscribe(0, "s1"), published(50), stream("s1", seqs), elsewhere)
    assert bounded_loss(history, ctx, grace=0.05).verdict == "violated"


def test_a_partition_cutting_the_path_excuses() -> None:
    seqs = [s for s in range(1, 51) if not 20 <= s <= 30]
    cut = [fault(1.19, "partition", "s1 | pub"), fault(1.30, "partition", "s1 | pub", "revert")]
    history = by_time(subscribe(0, "s1"), published(50), stream("s1", seqs), cut)
    assert bounded_loss(history, context(DIRECT, end=5), grace=0.05).verdict == "ok"


def test_since_decides_whether_the_slow_joiner_counts() -> None:
    history = by_time(subscribe(0.95, "s1"), published(50), stream("s1", list(range(5, 51)),
                                                                 t0=1.04))
    ctx = context(DIRECT, end=5)
    late = bounded_loss(history, ctx, since="subscribe")
    assert late.verdict == "violated" and late.figures["late_join"] == 4
    first = bounded_loss(history, ctx, since="first")
    assert first.verdict == "ok" and first.figures["late_join"] == 4
    assert bounded_loss(history, ctx, since="sync").verdict == "unknown"  # no sync event
    synced = by_time(history, {"t": 1.03, "node": "s1", "type": "sync", "hello": True})
    assert bounded_loss(synced, ctx, since="sync").verdict == "ok"


def test_filters_decide_what_is_owed() -> None:
    history = by_time(subscribe(0, "s1", ["b"]), published(20, "a"), published(20, "b"),
                      stream("s1", list(range(1, 21)), "b"))
    result = bounded_loss(history, context(DIRECT, end=5))
    assert result.verdict == "ok" and result.figures["owed"] == 20


def test_the_tail_is_spared_by_grace() -> None:
    history = by_time(subscribe(0, "s1"), published(50), stream("s1", list(range(1, 45))))
    assert bounded_loss(history, context(DIRECT, end=1.5), grace=0.1).verdict == "ok"
    assert bounded_loss(history, context(DIRECT, end=1.5), grace=0.01).verdict == "violated"


def test_min_dropped_makes_an_untested_drop_scenario_unknown() -> None:
    history = by_time(subscribe(0, "s1"), published(50), stream("s1", list(range(1, 51))),
                      fault(1.1, "pause", "s1"), fault(1.2, "pause", "s1", "revert"))
    result = bounded_loss(history, context(DIRECT, end=5), min_dropped=1)
    assert result.verdict == "unknown" and "drops were not tested" in result.message


def test_a_subscriber_that_never_receives_is_judged_after_grace() -> None:
    history = by_time(subscribe(0, "s1"), published(50))
    result = bounded_loss(history, context(DIRECT, end=5), grace=0.5)
    assert result.verdict == "violated"


def test_nothing_owed_is_unknown_and_a_bad_since_too() -> None:
    assert bounded_loss([subscribe(0, "s1")], context(DIRECT, end=5)).verdict == "unknown"
    assert bounded_loss([], context(DIRECT, end=5), since="later").verdict == "unknown"


# -- delivery_latency --------------------------------------------------------------


def test_latency_judges_only_unfaulted_subscribers() -> None:
    fast = stream("s2", list(range(1, 21)))
    slow = [deliver(1.5 + i * 0.01, "s1", "a", i + 1) for i in range(20)]
    link = [fault(1.0, "latency", "s1->pub"), fault(2.0, "latency", "s1->pub", "revert")]
    history = by_time(subscribe(0, "s1"), subscribe(0, "s2"), published(20), fast, slow, link)
    result = delivery_latency(history, context(DIRECT, end=5), p99_max=0.1)
    assert result.verdict == "ok", result.message
    assert result.figures["s1"]["judged"] is False and result.figures["s2"]["judged"] is True
    no_fault = [e for e in history if e["type"] != "fault"]
    flagged = delivery_latency(no_fault, context(DIRECT, end=5), p99_max=0.1)
    assert flagged.verdict == "violated" and "s1: p99 delivery latency" in flagged.message


def test_a_stalled_publisher_shows_as_silence() -> None:
    pubs = published(10) + [publish(3.0 + i * 0.01, "a", 11 + i) for i in range(10)]
    got = stream("s2", list(range(1, 11))) + [deliver(3.001 + i * 0.01, "s2", "a", 11 + i)
                                              for i in range(10)]
    history = by_time(subscribe(0, "s2"), pubs, got)
    assert delivery_latency(history, context(DIRECT, end=5), p99_max=0.1).verdict == "ok"
    result = delivery_latency(history, context(DIRECT, end=5), p99_max=0.1, silence_max=1.0)
    assert result.verdict == "violated" and "without a delivery" in result.message


def test_latency_unknown_when_every_subscriber_was_faulted() -> None:
    history = by_time(subscribe(0, "s1"), published(5), stream("s1", [1, 2, 3, 4, 5]),
                      fault(1.0, "pause", "s1"), fault(1.01, "pause", "s1", "revert"))
    assert delivery_latency(history, context(DIRECT, end=5)).verdict == "unknown"


# -- fault windows ------------------------------------------------------------------


def test_fault_targets_parse() -> None:
    assert parse_target("w-1,w-2").nodes == {"w-1", "w-2"}
    assert parse_target("a->b,c->d:control").edges == {("a", "b"), ("c", "d")}
    assert [set(s) for s in parse_target("a,b | c").sides] == [{"a", "b"}, {"c"}]
    assert parse_target(None).nodes == set()


def test_windows_from_events_and_from_the_schedule() -> None:
    history = [fault(1.0, "kill", "p"), lifecycle(1.0, "p", "exit"), fault(2.0, "start", "p"),
               lifecycle(2.1, "p", "start"), fault(3.0, "latency", "a->b"),
               fault(4.0, "latency", "a->b", "revert"), fault(5.0, "pause", "s"),
               fault(5.5, "resume", "s")]
    windows = fault_windows(history, context(end=9), 9)
    spans = {(w.fault, w.start, w.end) for w in windows}
    assert ("kill", 1.0, 2.1) in spans and ("latency", 3.0, 4.0) in spans
    assert ("pause", 5.0, 5.5) in spans
    ctx = context(end=9)
    ctx = type(ctx)(nodes=ctx.nodes, end=9, faults=(
        {"at": 1.0, "fault": "kill", "target": "p", "until": None},
        {"at": 2.0, "fault": "start", "target": "p", "until": None},
        {"at": 3.0, "fault": "partition", "target": "a->b", "until": 4.0}))
    spans = {(w.fault, w.start, w.end) for w in fault_windows([], ctx, 9)}
    assert ("kill", 1.0, 2.0) in spans and ("partition", 3.0, 4.0) in spans


def test_odd_events_never_crash_the_checkers() -> None:
    odd = [
        {"t": 0.1, "node": "s1", "type": "subscribe", "topics": "not a list"},
        {"t": 0.2, "node": "s1", "type": "deliver", "seq": "7"},
        {"t": 0.3, "node": "s1", "type": "deliver", "publisher": 1, "epoch": True, "seq": 1},
        {"t": 0.4, "node": "pub", "type": "publish", "topic": None, "seq": None},
        {"t": 0.5, "node": "harness", "type": "fault", "fault": "pause", "target": ["s1"]},
        {"t": 0.6, "node": "harness", "type": "lifecycle", "target": None, "event": "exit"},
        {"t": 0.7, "node": "s1", "type": "sync"},
    ]
    for name in ("ordered_delivery", "bounded_loss", "delivery_latency"):
        result = run_contract(name, {}, odd, context(DIRECT, end=1))
        assert not result.message.startswith("checker error"), (name, result.message)


def test_no_session_runs_past_the_run_end() -> None:
    # The harness logs the exit of a client it stopped at the end only after
    # stopping the others: seconds late. Messages after the run end are not owed.
    history = by_time(subscribe(0, "s1"), published(300), stream("s1", list(range(1, 101))),
                      lifecycle(4.5, "s1", "exit"))
    assert bounded_loss(history, context(DIRECT, end=2.0), grace=0.02).verdict == "ok"
    assert bounded_loss(history, context(DIRECT, end=3.0), grace=0.02).verdict == "violated"


def test_behind_a_shared_proxy_each_stream_gets_its_own_start() -> None:
    # s1 subscribed to everything; another subscriber's filter (topic b) was
    # already at the publisher, so s1's first message is a "b" while its own
    # filter ("") is still on its way: "a" starts flowing 30 ms later.
    ctx = context({"s1": ["proxy"], "proxy": ["pub"]}, end=5)
    history = by_time(subscribe(0, "s1"), published(50, "a"), published(50, "b"),
                      stream("s1", list(range(1, 51)), "b"),
                      stream("s1", list(range(4, 51)), "a", t0=1.03))
    result = bounded_loss(history, ctx, grace=0.1)
    assert result.verdict == "ok", result.message
    assert result.figures["late_join"] == 3
    # ... but only within grace: a stream that starts later than that is loss
    assert bounded_loss(history, ctx, grace=0.02).verdict == "violated"
