"""Every file in tests/scenario/bad/ must be refused with its expected message, at its line.

A bad file starts with ``# expect: <substring of the message>`` and marks the
line the error must point at with a trailing ``# <-`` (no marker = no line,
e.g. an empty file). Exactly one error is expected per file, so a single
mistake never cascades into a screenful of follow-up messages.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.scenario import ScenarioError, ScenarioErrors, check_paths, load_scenario

BAD = Path(__file__).parent / "bad"
FILES = sorted(BAD.glob("*.yaml"))


def _expectation(path: Path) -> tuple[str, int | None]:
    lines = path.read_text().splitlines()
    assert lines[0].startswith("# expect: "), f"{path.name} must start with '# expect: ...'"
    expected = lines[0].removeprefix("# expect: ")
    marked = [number for number, text in enumerate(lines, start=1) if text.endswith("# <-")]
    assert len(marked) <= 1, f"{path.name} marks more than one line"
    return expected, (marked[0] if marked else None)


def test_corpus_is_big_enough() -> None:
    assert len(FILES) >= 25


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_bad_file_is_refused_with_its_message(path: Path) -> None:
    expected, line = _expectation(path)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    errors = caught.value.errors if isinstance(caught.value, ScenarioErrors) else [caught.value]
    messages = [str(e) for e in errors]
    assert len(errors) == 1, "expected one error, got:\n" + "\n".join(messages)
    error = errors[0]
    assert expected in str(error), f"{expected!r} not in {str(error)!r}"
    assert error.file == str(path)
    assert error.line == line, f"line {error.line} != marked line {line}: {error}"
    prefix = f"{path}:{line}: " if line is not None else f"{path}: "
    assert str(error).startswith(prefix)
    assert "Traceback" not in str(error)


def test_check_paths_prints_one_line_per_error_and_exits_2() -> None:
    code, lines = check_paths([str(BAD)])
    assert code == 2
    assert len(lines) == len(FILES)
    assert not any(line.startswith("ok  ") for line in lines)
    assert all(line.startswith(str(BAD)) for line in lines)
