"""History reading, merging and the report's operation figures."""

from __future__ import annotations

import json
from pathlib import Path

from chk_events import by_time, ev, fail, handled, invoke, ok, retry
from hypothesis import given
from hypothesis import strategies as st

from harness import history as hist


def write_lines(path: Path, lines: list[str], *, newline_at_end: bool = True) -> Path:
    text = "\n".join(lines) + ("\n" if newline_at_end else "")
    path.write_text(text, encoding="utf-8")
    return path


def line(event: dict) -> str:
    return json.dumps(event)


def test_torn_last_line_is_skipped_and_counted(tmp_path: Path) -> None:
    good = [line(ev(0.1, "c", "invoke", op="c:1", body="c:1")), line(ev(0.2, "c", "ok", op="c:1"))]
    path = write_lines(tmp_path / "c.jsonl", [*good, '{"t": 0.3, "node": "c", "ty'],
                       newline_at_end=False)
    events, stats = hist.read_trace(path)
    assert [e["t"] for e in events] == [0.1, 0.2]
    assert stats.skipped == 1
    assert stats.skipped_by_file == {str(path): 1}


def test_garbage_lines_are_skipped_not_fatal(tmp_path: Path) -> None:
    lines = [
        "not json at all",
        "[1, 2, 3]",
        '{"node": "c", "type": "ok"}',  # no t
        '{"t": "soon", "node": "c", "type": "ok"}',  # t not a number
        '{"t": true, "node": "c", "type": "ok"}',  # bool is not a time
        '{"t": NaN, "node": "c", "type": "ok"}',  # not finite
        '{"t": 1.0, "node": "c"}',  # no type
        "",
        line(ev(2.0, "c", "invoke", op="c:1", body="c:1")),
    ]
    path = tmp_path / "c.jsonl"
    path.write_bytes(("\n".join(lines) + "\n").encode() + b"\xff\xfe{garbage\n")
    events, stats = hist.read_trace(path)
    assert len(events) == 1 and events[0]["op"] == "c:1"
    assert stats.skipped == 8


def test_missing_node_name_gets_a_placeholder(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "x.jsonl", ['{"t": 1, "type": "handled", "op": "a:1"}'])
    events, _ = hist.read_trace(path)
    assert events == [{"t": 1.0, "type": "handled", "op": "a:1", "node": "?"}]


def test_missing_file_reads_as_empty(tmp_path: Path) -> None:
    events, stats = hist.read_trace(tmp_path / "never-started.jsonl")
    assert events == [] and stats.skipped == 0


def test_merge_files_interleaves_by_time_and_adds_harness_events(tmp_path: Path) -> None:
    a = write_lines(tmp_path / "a.jsonl", [line(ev(t, "a", "handled", op=f"x:{t}"))
                                           for t in (0.1, 0.4, 0.7)])
    b = write_lines(tmp_path / "b.jsonl", [line(ev(t, "b", "handled", op=f"y:{t}"))
                                           for t in (0.2, 0.3, 0.9)])
    extra = [{"t": 0.5, "node": "harness", "type": "fault", "fault": "kill", "target": "a"},
             {"t": "bad"}]
    stats = hist.ReadStats()
    merged = hist.merge_files([a, b], extra=extra, stats=stats)
    assert [e["t"] for e in merged] == [0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 0.9]
    assert [e["node"] for e in merged] == ["a", "b", "b", "a", "harness", "a", "b"]
    assert stats.events == 7 and stats.skipped == 1


def test_merge_keeps_ties_in_source_then_line_order() -> None:
    first = [ev(1.0, "a", "x", n=1), ev(1.0, "a", "x", n=2)]
    second = [ev(0.5, "b", "x", n=3), ev(1.0, "b", "x", n=4)]
    merged = hist.merge(first, second)
    assert [e["n"] for e in merged] == [3, 1, 2, 4]


@given(st.lists(st.lists(st.integers(min_value=0, max_value=20), max_size=15), max_size=5))
def test_merge_is_sorted_and_stable_for_any_sources(times: list[list[int]]) -> None:
    sources = [[ev(t / 10, f"n{i}", "x", src=i, pos=j) for j, t in enumerate(ts)]
               for i, ts in enumerate(times)]
    merged = hist.merge(*sources)
    assert len(merged) == sum(len(s) for s in sources)
    keys = [(e["t"], e["src"], e["pos"]) for e in merged]
    # sorted by t, and among equal t by (source, position): exactly a stable sort
    assert keys == sorted(keys)


def test_write_and_load_round_trip(tmp_path: Path) -> None:
    history = by_time(invoke(0.1, "c", 1), ok(0.2, "c", 1, reply="c:1 \u00e9"))
    path = tmp_path / "history.jsonl"
    hist.write_jsonl(history, path)
    assert hist.load_history(path) == history
    assert len(path.read_text(encoding="utf-8").splitlines()) == 2


def test_operations_pair_events_by_op() -> None:
    history = by_time(
        invoke(1.0, "c", 1), retry(1.5, "c", 1, 2), handled(1.6, "s1", "c:1"),
        handled(1.7, "s2", "c:1"), ok(1.8, "c", 1, server="tcp://x"),
        invoke(2.0, "c", 2), fail(3.0, "c", 2), invoke(4.0, "c", 3),
        handled(4.5, "s1", "nobody:9"),
    )
    ops = hist.operations(history)
    first = ops["c:1"]
    assert first.node == "c" and first.outcome == "ok"
    assert abs(first.latency - 0.8) < 1e-9
    assert first.attempts == 2 and len(first.handled) == 2
    assert first.expected_reply == "c:1"
    assert ops["c:2"].outcome == "gave_up" and ops["c:2"].latency is None
    assert ops["c:2"].gave_ups == ops["c:2"].fails == [fail(3.0, "c", 2)]
    assert ops["c:3"].outcome == "open"
    assert ops["nobody:9"].invoke is None and len(ops["nobody:9"].handled) == 1


def test_summarize_counts_and_availability() -> None:
    history = by_time(
        invoke(0.0, "c", 1), ok(0.1, "c", 1),
        invoke(1.0, "c", 2), ok(1.3, "c", 2),
        invoke(2.0, "c", 3), fail(3.0, "c", 3),
        invoke(4.0, "c", 4),
        ev(1.2, "c", "refused", op="c:2", reply="c:1"),
        retry(2.5, "c", 3, 2),
        handled(0.05, "s", "c:1"), handled(1.1, "s", "c:2"), handled(1.2, "s", "c:2"),
        ev(0.5, "harness", "fault", fault="kill", target="s", phase="apply"),
        ev(0.9, "harness", "fault", fault="kill", target="s", phase="revert"),
    )
    summary = hist.summarize(history)
    assert summary["invoked"] == 4
    assert (summary["ok"], summary["failed"], summary["unanswered"]) == (2, 1, 1)
    assert summary["availability"] == 0.5
    assert summary["refused"] == 1 and summary["retries"] == 1
    assert summary["handled"] == summary["executions"] == 3
    assert summary["duplicates"] == 1
    assert summary["faults"] == 1
    assert summary["latency"]["max_ms"] == 300.0
    assert summary["latency"]["p50_ms"] == 100.0
    assert summary["clients"]["c"] == {"invoked": 4, "ok": 2, "failed": 1, "unanswered": 1}


def test_summarize_empty_history() -> None:
    summary = hist.summarize([])
    assert summary["invoked"] == 0 and summary["availability"] is None
    assert summary["latency"]["p99_ms"] is None


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert hist.percentile(values, 50) == 50.0
    assert hist.percentile(values, 99) == 99.0
    assert hist.percentile(values, 100) == 100.0
    assert hist.percentile([3.0], 1) == 3.0
    assert hist.percentile([], 50) is None


@given(st.lists(st.floats(min_value=0, max_value=100, allow_nan=False), min_size=1),
       st.floats(min_value=0, max_value=100))
def test_percentile_is_an_element_between_min_and_max(values: list[float], q: float) -> None:
    p = hist.percentile(values, q)
    assert p in values and min(values) <= p <= max(values)


@st.composite
def random_runs(draw: st.DrawFn) -> list[dict]:
    events: list[dict] = []
    for c in range(draw(st.integers(min_value=0, max_value=3))):
        node = f"c{c}"
        t = 0.0
        for seq in range(draw(st.integers(min_value=0, max_value=10))):
            t += draw(st.floats(min_value=0.001, max_value=1))
            events.append(invoke(t, node, seq))
            outcome = draw(st.sampled_from(["ok", "fail", "open"]))
            t += draw(st.floats(min_value=0.001, max_value=1))
            if outcome == "ok":
                events.append(ok(t, node, seq))
            elif outcome == "fail":
                events.append(fail(t, node, seq))
    return by_time(*events)


@given(random_runs())
def test_summary_outcomes_partition_the_invoked_ops(history: list[dict]) -> None:
    summary = hist.summarize(history)
    assert summary["ok"] + summary["failed"] + summary["unanswered"] == summary["invoked"]
    assert summary["invoked"] == sum(1 for e in history if e["type"] == "invoke")
    if summary["invoked"]:
        assert 0.0 <= summary["availability"] <= 1.0
        assert summary["availability"] == round(summary["ok"] / summary["invoked"], 6)
