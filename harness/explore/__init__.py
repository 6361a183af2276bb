"""``zchaos explore``: search fault schedules, shrink a failure, measure how often it reproduces.

Beside the runner, not inside it (DESIGN.md "What a verdict is worth"): a
generator of fault schedules drives the same ``ScenarioRun`` as ``zchaos
run``, reads verdicts and coverage, and shrinks a failing schedule to a
minimal scenario file, confirmed by replays. One job per module:

- ``vocabulary``: the faults allowed, from the topology and ``explore:``;
- ``strategies``: Hypothesis strategies for schedules;
- ``schedules``: schedules as scenario faults, turned into runnable scenarios;
- ``adapter``: the only contact with the runner (run one scenario, read it);
- ``executor``: real runs, ``-j`` at a time;
- ``search``: the Hypothesis-driven search with ``hypothesis.target``;
- ``shrink``: confirmation-based shrinking;
- ``replay``: the reproduction rate;
- ``writer``: ``reports/<run-id>/explore/``;
- ``progress``: the live progress line;
- ``engine``: all of the above, for the CLI and the pytest entry point;
- ``command``: the ``zchaos explore`` options and summary.

docs/explore.md is the user's page.
"""

from harness.explore.engine import ExploreError, ExploreOptions, ExploreResult, explore

__all__ = ["ExploreError", "ExploreOptions", "ExploreResult", "explore"]
