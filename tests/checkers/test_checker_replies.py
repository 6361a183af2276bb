"""replies_match_requests on hand-made histories and generated interleavings."""

from __future__ import annotations

from chk_events import by_time, context, ev, invoke, ok
from hypothesis import given
from hypothesis import strategies as st
from models import PROPERTY

from harness.checkers.replies import replies_match_requests

CTX = context()


def check(*events):
    return replies_match_requests(by_time(*events), CTX)


def test_matching_replies_pass() -> None:
    result = check(invoke(0, "c", 1), ok(0.1, "c", 1), invoke(0.2, "c", 2), ok(0.3, "c", 2))
    assert result.verdict == "ok"
    assert result.figures["matched"] == 2


def test_no_ok_is_unknown() -> None:
    assert check(invoke(0, "c", 1)).verdict == "unknown"
    assert check().verdict == "unknown"


def test_wrong_reply_is_flagged_with_evidence() -> None:
    result = check(invoke(0, "c", 1), invoke(1, "c", 2), ok(1.1, "c", 2, reply="c:1"))
    assert result.verdict == "violated"
    assert len(result.violations) == 1
    assert "expected 'c:2'" in result.violations[0]["why"]
    assert [e["type"] for e in result.violations[0]["events"]] == ["invoke", "ok"]


def test_expect_field_overrides_body() -> None:
    good = check(invoke(0, "c", 1, expect="OK"), ok(0.1, "c", 1, reply="OK"))
    bad = check(invoke(0, "c", 1, expect="OK"), ok(0.1, "c", 1, reply="c:1"))
    assert good.verdict == "ok" and bad.verdict == "violated"


def test_ok_for_unknown_op_and_ok_before_invoke() -> None:
    unknown = check(ok(0.1, "c", 7))
    assert unknown.verdict == "violated" and "never invoked" in unknown.message
    early = check(ok(0.1, "c", 1), invoke(0.2, "c", 1))
    assert early.verdict == "violated" and "before its invoke" in early.message


def test_second_ok_for_same_invoke() -> None:
    result = check(invoke(0, "c", 1), ok(0.1, "c", 1), ok(0.2, "c", 1))
    assert result.verdict == "violated" and "second ok" in result.message


def test_ok_on_another_node() -> None:
    foreign = ev(0.1, "d", "ok", op="c:1", reply="c:1")
    result = check(invoke(0, "c", 1), foreign)
    assert result.verdict == "violated" and "invoked on c" in result.message


def test_restarted_client_reusing_an_op_id_is_judged_against_latest_invoke() -> None:
    result = check(invoke(0, "c", 1), ok(0.1, "c", 1), invoke(1, "c", 1), ok(1.1, "c", 1))
    assert result.verdict == "ok" and result.figures["duplicate_invokes"] == 1


@st.composite
def interleaved_histories(draw: st.DrawFn) -> list[dict]:
    """Several clients, each invoke-then-ok in order, interleaved at random times."""
    clients = draw(st.integers(min_value=1, max_value=4))
    events: list[dict] = []
    for c in range(clients):
        node = f"client-{c}"
        t = draw(st.floats(min_value=0, max_value=1))
        for seq in range(draw(st.integers(min_value=1, max_value=8))):
            t += draw(st.floats(min_value=0.001, max_value=0.5))
            events.append(invoke(t, node, seq))
            t += draw(st.floats(min_value=0.001, max_value=0.5))
            if draw(st.booleans()) or seq == 0:
                events.append(ok(t, node, seq))
    return by_time(*events)


@PROPERTY
@given(interleaved_histories())
def test_valid_interleavings_are_never_flagged(history: list[dict]) -> None:
    result = replies_match_requests(history, CTX)
    assert result.verdict == "ok", result.violations[:3]


@PROPERTY
@given(interleaved_histories(), st.data())
def test_any_corrupted_reply_is_flagged(history: list[dict], data: st.DataObject) -> None:
    oks = [i for i, e in enumerate(history) if e["type"] == "ok"]
    index = data.draw(st.sampled_from(oks))
    original = history[index]["reply"]
    wrong = data.draw(st.text(max_size=12).filter(lambda s: s != original))
    history[index] = {**history[index], "reply": wrong}
    result = replies_match_requests(history, CTX)
    assert result.verdict == "violated"
    assert any(history[index] in v["events"] for v in result.violations)
