"""``zchaos explore SCENARIO``: options, the run, and the closing summary.

Exit codes: 0 the budget ran out without a broken contract; 1 a failure was
found (its folder is printed); 2 bad input (``ExploreError``, turned into
``BadInput`` by ``harness.cli``); 130 interrupted after teardown.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

from harness.durations import DurationError, parse_duration
from harness.explore.engine import DEFAULT_DATABASE, ExploreOptions, ExploreResult, explore


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", metavar="SCENARIO", help="the base scenario file")
    p.add_argument("--budget", type=int, default=60, metavar="RUNS",
                   help="runs the search may spend (default 60)")
    p.add_argument("--time", dest="time_limit", metavar="DURATION",
                   help="stop searching and shrinking after this long, e.g. 10m")
    p.add_argument("-j", "--jobs", type=int, default=1, metavar="N",
                   help="runs side by side (local runtime; default 1)")
    p.add_argument("--replays", type=int, default=10, metavar="N",
                   help="replays of the minimal scenario to measure its rate (default 10)")
    p.add_argument("--shrink-budget", type=int, default=30, metavar="RUNS",
                   help="runs the shrinker may spend per failure (default 30)")
    p.add_argument("--db", default=str(DEFAULT_DATABASE), metavar="DIR",
                   help="example database: failing examples are tried first next time "
                        f"(default {DEFAULT_DATABASE})")
    p.add_argument("--no-db", action="store_true", help="do not read or write the database")
    p.add_argument("--base-first", action="store_true",
                   help="run the base scenario's own faults as the first example")
    p.add_argument("--quiet", action="store_true", help="no per-run lines")


def options_from(args: argparse.Namespace, impls: dict[str, str]) -> ExploreOptions:
    time_limit = None
    if args.time_limit:
        try:
            time_limit = parse_duration(args.time_limit)
        except DurationError as exc:
            raise ValueError(f"--time {args.time_limit!r}: {exc}") from None
    return ExploreOptions(
        scenario=args.scenario,
        budget=args.budget,
        time_limit=time_limit,
        jobs=args.jobs,
        impls=impls,
        seed=args.seed,
        replays=args.replays,
        shrink_budget=args.shrink_budget,
        database=None if args.no_db else Path(args.db),
        report_root=Path(args.report_dir),
        run_id=args.run_id,
        runtime=args.runtime,
        image=getattr(args, "image", "zchaos:latest"),
        toxiproxy_image=getattr(args, "toxiproxy_image", None),
        base_first=args.base_first,
        quiet=args.quiet,
    )


def summary(result: ExploreResult, out: Console) -> None:
    search = result.search
    runs = len(result.journal.examples)
    out.print(f"explored {result.scenario.name}: {search.runs} search run(s), {runs} run(s) in "
              f"all, {result.wall_s:.0f}s, seed {result.seed} (stopped: {search.stopped})")
    if not result.failures:
        out.print(f"[green]no contract broken[/green]; report: {result.folder}/explore.json")
        return
    for failure in result.failures:
        rep = failure.reproduction
        out.print(f"[red]{failure.contract} violated[/red] after {result.runs_to_failure} "
                  f"search run(s); minimal ({len(failure.schedule)} fault(s), reproduced "
                  f"{rep.fails}/{rep.replays}): {failure.to_json()['minimal_text']}")
        out.print(f"  {failure.folder}/  (zchaos run {failure.minimal_yaml})")


def run(args: argparse.Namespace, impls: dict[str, str], out: Console,
        err: Any) -> int:
    options = options_from(args, impls)
    result = explore(options, console=err)
    summary(result, out)
    return result.exit_code
