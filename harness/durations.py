"""Durations as scenario files write them: ``"2s"``, ``"150ms"``, ``"1m30s"``.

A duration always carries its unit. A bare number is refused (except ``0``,
which means the same in every unit) because ``timeout: 300`` is ambiguous:
the Guide writes milliseconds, Toxiproxy takes milliseconds for latency but
microseconds for the slicer's delay, and our ``for:`` is in seconds. Making
the unit mandatory removes a whole class of silent off-by-1000 mistakes.

Parsing goes through :class:`~decimal.Decimal` so the result is the float
nearest to the exact written value, and :func:`format_duration` /
:func:`format_ms` produce text that parses back to the very same float: the
resolved scenario saved in a report reloads identically.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

# Unit -> its length in seconds, longest first (formatting prefers big units).
UNITS: dict[str, Decimal] = {
    "h": Decimal(3600),
    "m": Decimal(60),
    "s": Decimal(1),
    "ms": Decimal("0.001"),
    "us": Decimal("0.000001"),
    "ns": Decimal("0.000000001"),
}
_ALIASES = {"µs": "us", "μs": "us", "sec": "s", "min": "m"}

_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(h|min|ms|m|sec|s|us|µs|μs|ns)")
_NUMBER = re.compile(r"\d+(?:\.\d*)?|\.\d+")
_HINT = 'write a number with a unit: "2s", "150ms", "1.5s", "2m", "500us" (or 0)'


class DurationError(ValueError):
    """A value that is not a valid duration; the message says what to write instead."""


def _exact(value: str | int | float) -> Decimal:
    """The written duration as an exact number of seconds."""
    if isinstance(value, bool):
        raise DurationError(f"expected a duration, got {value!r}; {_HINT}")
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise DurationError(f"expected a duration, got {value!r}; {_HINT}")
        if value == 0:
            return Decimal(0)
        if value < 0:
            raise DurationError(f"a duration must not be negative, got {value!r}")
        raise DurationError(
            f"a bare number is ambiguous as a duration, got {value!r}; "
            f'add a unit, e.g. "{value}ms" or "{value}s"'
        )
    if not isinstance(value, str):
        raise DurationError(f"expected a duration, got {type(value).__name__} {value!r}; {_HINT}")
    text = value.strip()
    if text.startswith("-"):
        raise DurationError(f"a duration must not be negative, got {value!r}")
    if text.startswith("+"):
        text = text[1:]
    if text in ("0", "0.0"):
        return Decimal(0)
    if not text:
        raise DurationError(f"not a duration: {value!r}; {_HINT}")
    if _NUMBER.fullmatch(text):
        raise DurationError(
            f"a bare number is ambiguous as a duration, got {value!r}; "
            f'add a unit, e.g. "{text}ms" or "{text}s"'
        )
    total = Decimal(0)
    pos = 0
    while pos < len(text):
        match = _PART.match(text, pos)
        if match is None:
            raise DurationError(f"not a duration: {value!r}; {_HINT}")
        number, unit = match.groups()
        try:
            total += Decimal(number) * UNITS[_ALIASES.get(unit, unit)]
        except InvalidOperation as exc:  # pragma: no cover - the regex admits only digits
            raise DurationError(f"not a duration: {value!r}; {_HINT}") from exc
        pos = match.end()
        while pos < len(text) and text[pos] == " ":
            pos += 1
    return total


def parse_duration(value: str | int | float) -> float:
    """Seconds in ``value`` (``"1500ms"`` -> 1.5). Raises :class:`DurationError`."""
    return float(_exact(value))


def parse_duration_ms(value: str | int | float) -> float:
    """Milliseconds in ``value`` (``"1.5s"`` -> 1500.0). Raises :class:`DurationError`."""
    return float(_exact(value) * 1000)


def _format(exact: Decimal) -> str | None:
    """The shortest ``<integer><unit>`` spelling of ``exact`` seconds, if there is one."""
    for unit, length in UNITS.items():
        count = exact / length
        if count == count.to_integral_value():
            return f"{int(count)}{unit}"
    return None


def _plain(value: float) -> str:
    """``value`` in positional notation (no exponent), exactly as ``repr`` rounds it."""
    return format(Decimal(repr(float(value))), "f")


def format_duration(seconds: float) -> str:
    """A duration string that :func:`parse_duration` turns back into exactly ``seconds``."""
    if seconds < 0 or not math.isfinite(seconds):
        raise DurationError(f"cannot format {seconds!r} as a duration")
    if seconds == 0:
        return "0s"
    text = _format(Decimal(repr(float(seconds))))
    if text is not None and parse_duration(text) == seconds:
        return text
    return f"{_plain(seconds)}s"


def format_ms(milliseconds: float) -> str:
    """A duration string that :func:`parse_duration_ms` turns back into ``milliseconds``."""
    if milliseconds < 0 or not math.isfinite(milliseconds):
        raise DurationError(f"cannot format {milliseconds!r} ms as a duration")
    if milliseconds == 0:
        return "0ms"
    text = _format(Decimal(repr(float(milliseconds))) / 1000)
    if text is not None and parse_duration_ms(text) == milliseconds:
        return text
    return f"{_plain(milliseconds)}ms"
