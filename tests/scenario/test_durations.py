"""Durations: units are mandatory, parsing is exact, formatting round-trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.durations import (
    DurationError,
    format_duration,
    format_ms,
    parse_duration,
    parse_duration_ms,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2s", 2.0),
        ("150ms", 0.15),
        ("1.5s", 1.5),
        ("2m", 120.0),
        ("500us", 0.0005),
        ("1h", 3600.0),
        ("1m30s", 90.0),
        ("1m 30s", 90.0),
        (".5s", 0.5),
        ("250ns", 250e-9),
        ("0", 0.0),
        (0, 0.0),
        (0.0, 0.0),
        ("0s", 0.0),
    ],
)
def test_parse_duration(text: str | int | float, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds, rel=1e-12, abs=0)


def test_parse_duration_ms_is_exact_for_milliseconds() -> None:
    assert parse_duration_ms("100ms") == 100.0
    assert parse_duration_ms("1.5s") == 1500.0
    assert parse_duration_ms("0.1s") == 100.0


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (15, "bare number is ambiguous"),
        (2.5, "bare number is ambiguous"),
        ("15", "bare number is ambiguous"),
        ("5 seconds", "not a duration"),
        ("-1s", "must not be negative"),
        (-3, "must not be negative"),
        ("", "not a duration"),
        ("s", "not a duration"),
        ("1.5 parsecs", "not a duration"),
        ("2s3", "not a duration"),
        (True, "expected a duration"),
        (None, "expected a duration"),
        ([1, "s"], "expected a duration"),
        (float("nan"), "expected a duration"),
    ],
)
def test_bad_durations_say_what_to_write(value: object, message: str) -> None:
    with pytest.raises(DurationError, match=message):
        parse_duration(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(2.0, "2s"), (1.5, "1500ms"), (120.0, "2m"), (90.0, "90s"), (0.0005, "500us"), (0, "0s")],
)
def test_format_duration_prefers_whole_big_units(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@given(st.floats(min_value=0, max_value=1e7, allow_nan=False, allow_infinity=False))
def test_format_duration_round_trips_exactly(seconds: float) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


@given(st.floats(min_value=0, max_value=1e9, allow_nan=False, allow_infinity=False))
def test_format_ms_round_trips_exactly(milliseconds: float) -> None:
    assert parse_duration_ms(format_ms(milliseconds)) == milliseconds


@given(st.text(max_size=20))
def test_parse_duration_only_ever_raises_duration_error(text: str) -> None:
    try:
        value = parse_duration(text)
    except DurationError:
        return
    assert value >= 0
