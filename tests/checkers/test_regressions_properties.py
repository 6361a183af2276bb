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
