"""Checking one option value against its type in ``harness.roles.OPTION_TYPES``.

Shared by node options and ``timing`` defaults so both accept exactly the same
spellings and say the same thing when a value is wrong.
"""

from __future__ import annotations

import math
from typing import Any

from harness.durations import DurationError, parse_duration_ms
from harness.roles import OptionType


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


def convert_option(kind: OptionType, value: Any) -> Any:
    """The resolved value (durations in milliseconds), or :class:`ValueProblem`."""
    if kind == "duration":
        try:
            return parse_duration_ms(value)
        except DurationError as exc:
            raise ValueProblem(str(exc)) from None
    if kind == "bool":
        if isinstance(value, bool):
            return value
        raise ValueProblem(f"expected true or false, got {_describe(value)}")
    if kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 0:
                raise ValueProblem(f"must not be negative, got {value}")
            return value
        raise ValueProblem(f"expected an integer, got {_describe(value)}")
    if kind == "float":
        if isinstance(value, int | float) and not isinstance(value, bool):
            if not math.isfinite(value) or value < 0:
                raise ValueProblem(f"expected a finite number >= 0, got {value!r}")
            return float(value)
        raise ValueProblem(f"expected a number, got {_describe(value)}")
    if isinstance(value, str) and value:
        return value
    raise ValueProblem(f"expected a non-empty string, got {_describe(value)}")
