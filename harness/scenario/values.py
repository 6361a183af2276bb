"""Checking one option value against its type in ``harness.roles.OPTION_TYPES``.

Shared by node options and ``timing`` defaults so both accept exactly the same
spellings and say the same thing when a value is wrong.
"""

from __future__ import annotations

import math
from typing import Any

from harness.durations import DurationError, parse_duration_ms
from harness.roles import OptionType
from harness.scenario.limits import MAX_TEXT_OPTION, number


class ValueProblem(ValueError):
    """A value of the wrong type or range; the message is shown to the user as is."""


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _bounded(value: float, limit: float | None, unit: str = "") -> None:
    if limit is not None and value > limit:
        shown = value if isinstance(value, int) else f"{value:g}"
        raise ValueProblem(f"{shown}{unit} is too large: at most {number(limit)}{unit} "
                           "(harness/scenario/limits.py)")


def convert_option(kind: OptionType, value: Any, limit: float | None = None) -> Any:
    """The resolved value (durations in milliseconds), or :class:`ValueProblem`.

    ``limit``: the largest value accepted (milliseconds for durations).
    """
    if kind == "duration":
        try:
            ms = parse_duration_ms(value)
        except DurationError as exc:
            raise ValueProblem(str(exc)) from None
        if limit is not None and ms > limit:
            raise ValueProblem(f"{value} is too long: at most {number(limit / 1000)} s "
                               "(harness/scenario/limits.py)")
        return ms
    if kind == "bool":
        if isinstance(value, bool):
            return value
        raise ValueProblem(f"expected true or false, got {_describe(value)}")
    if kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 0:
                raise ValueProblem(f"must not be negative, got {value}")
            _bounded(value, limit)
            return value
        raise ValueProblem(f"expected an integer, got {_describe(value)}")
    if kind == "float":
        if isinstance(value, int | float) and not isinstance(value, bool):
            if not math.isfinite(value) or value < 0:
                raise ValueProblem(f"expected a finite number >= 0, got {value!r}")
            _bounded(float(value), limit)
            return float(value)
        raise ValueProblem(f"expected a number, got {_describe(value)}")
    if isinstance(value, str) and value:
        if len(value) > MAX_TEXT_OPTION:
            raise ValueProblem(f"text of {len(value)} characters is too long: at most "
                               f"{MAX_TEXT_OPTION}")
        return value
    raise ValueProblem(f"expected a non-empty string, got {_describe(value)}")
