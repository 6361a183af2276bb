"""zchaos from pytest: ``@zchaos.explore("scenarios/x.yaml", budget=30)`` on a test.

The decorated test runs ``zchaos explore`` on the scenario (the same engine
as the command line: search, shrink, replay, report folders) before its own
body. When a contract the scenario expects to hold breaks, the test fails
with the minimal scenario and its reproduction rate in the message; when
the budget runs out without a failure, the body runs, and may take an
``explored`` argument to look at the result (``ExploreResult``)::

    import zchaos

    @zchaos.explore("scenarios/binary_star/bstar-primary-killed.yaml", budget=30)
    def test_binary_star_survives_exploration():
        pass

    @zchaos.explore("scenarios/titanic/titanic-kill-restart.yaml", budget=20,
                    impls={"titanic.service": "python my_titanic.py"}, seed=7)
    def test_my_titanic(explored):
        assert explored.search.runs == 20

A relative scenario path is taken from the current directory, else from the
test file's directory. Reports go to ``report_dir`` (default ``reports/``).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from harness.explore.engine import DEFAULT_DATABASE, ExploreOptions, ExploreResult
from harness.explore.engine import explore as _explore

__all__ = ["ExploreFailed", "ExploreResult", "explore"]

F = TypeVar("F", bound=Callable[..., Any])


class ExploreFailed(AssertionError):
    """The search broke a contract; the message holds the minimal scenario."""

    def __init__(self, result: ExploreResult) -> None:
        super().__init__(result.message())
        self.result = result


def _resolve(scenario: str | Path, test: Callable[..., Any]) -> Path:
    path = Path(scenario)
    if path.is_absolute() or path.exists():
        return path
    beside = Path(inspect.getfile(test)).resolve().parent / path
    return beside if beside.exists() else path


def explore(
    scenario: str | Path,
    *,
    budget: int = 30,
    jobs: int = 1,
    impls: dict[str, str] | None = None,
    seed: int | None = None,
    replays: int = 10,
    shrink_budget: int = 30,
    time_limit: float | None = None,
    report_dir: str | Path = "reports",
    database: str | Path | None = DEFAULT_DATABASE,
    quiet: bool = True,
) -> Callable[[F], F]:
    """Run ``zchaos explore`` on ``scenario`` as part of the decorated test."""

    def decorate(test: F) -> F:
        signature = inspect.signature(test)
        wants_result = "explored" in signature.parameters

        @functools.wraps(test)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            options = ExploreOptions(
                scenario=_resolve(scenario, test), budget=budget, jobs=jobs,
                impls=dict(impls or {}), seed=seed, replays=replays,
                shrink_budget=shrink_budget, time_limit=time_limit,
                report_root=Path(report_dir),
                database=None if database is None else Path(database), quiet=quiet,
            )
            result = _explore(options)
            if result.failures:
                raise ExploreFailed(result)
            if wants_result:
                kwargs["explored"] = result
            return test(*args, **kwargs)

        # pytest must not take ``explored`` for a fixture: hide it from the signature.
        wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[p for name, p in signature.parameters.items() if name != "explored"])
        return wrapper  # type: ignore[return-value]

    return decorate
