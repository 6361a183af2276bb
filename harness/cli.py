"""``zchaos``: run, check, list and replay scenarios; serve the embedded Toxiproxy.

Exit codes (DESIGN.md): 0 every scenario's verdict is ``pass``; 1 at least
one is ``fail``, ``unknown`` (nothing contradicts the expectation but the run
could not prove it) or ``error`` (the harness or a node's start failed); 2
bad input (scenario file, option, ``--impl``, ``--seed``), reported as one
line per problem and never a traceback; 130 interrupted (Ctrl-C / SIGTERM),
after teardown.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

EXIT_OK, EXIT_MISMATCH, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130

err = Console(stderr=True, highlight=False)
out = Console(highlight=False)
if not out.is_terminal:  # CI logs: wide enough that the summary table stays readable
    out = Console(highlight=False, width=160)


class BadInput(Exception):
    """Anything the user can fix on the command line or in a file: exit 2."""


def _sigterm_as_interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def parse_impls(values: list[str]) -> dict[str, str]:
    from harness.roles import ROLES

    impls: dict[str, str] = {}
    for value in values:
        role, sep, command = value.partition("=")
        role = role.strip()
        if not sep or not command.strip():
            raise BadInput(f"--impl {value!r}: expected ROLE=COMMAND, e.g. "
                           "--impl lazy_pirate.client='python my_client.py'")
        if role not in ROLES:
            import difflib

            close = difflib.get_close_matches(role, ROLES, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise BadInput(f"--impl {value!r}: unknown role {role!r}{hint}; "
                           "`zchaos list --roles` shows them")
        impls[role] = command.strip()
    return impls


def _load(paths: list[str], keyword: str | None) -> list[Any]:
    from harness.scenario import ScenarioError, load_paths

    try:
        scenarios = load_paths(paths)
    except ScenarioError as exc:  # ScenarioErrors too: str() is one line per problem
        raise BadInput(str(exc)) from None
    if keyword:
        scenarios = [s for s in scenarios if keyword in s.name or fnmatch.fnmatch(s.name, keyword)]
        if not scenarios:
            raise BadInput(f"-k {keyword!r} matches no scenario")
    names = [s.name for s in scenarios]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise BadInput(f"scenario names must be unique in one run: {', '.join(dupes)}")
    return scenarios


VERDICT_STYLE = {"pass": "green", "fail": "red", "unknown": "yellow", "error": "magenta"}


def _faults_hit(outcome: Any) -> str:
    coverage = outcome.coverage or {}
    if not coverage.get("total"):
        return "-"
    text = f"{coverage['hit']}/{coverage['total']}"
    return text if coverage["hit"] == coverage["total"] else f"[yellow]{text}[/yellow]"


def _summary_table(outcomes: list[Any]) -> Table:
    table = Table(title="zchaos summary", show_lines=False)
    for col in ("scenario", "verdict", "expected", "contracts", "faults hit",
                "ops ok/gave up/open", "p99 ms", "wall s"):
        table.add_column(col)
    for o in outcomes:
        style = VERDICT_STYLE.get(o.verdict, "")
        contracts = ", ".join(f"{c.name}={c.verdict}" for c in o.contracts) or (o.error or "")
        ops = o.operations or {}
        lat = ops.get("latency") or {}
        p99 = lat.get("p99_ms") if isinstance(lat, dict) else None
        verdict = o.verdict.upper() + (" (interrupted)" if o.status == "interrupted" else "")
        table.add_row(
            o.name,
            f"[{style}]{verdict}[/{style}]",
            o.expected,
            escape(contracts),
            _faults_hit(o),
            f"{ops.get('ok', 0)}/{ops.get('failed', 0)}/{ops.get('unanswered', 0)}",
            "-" if p99 is None else f"{p99:.1f}",
            f"{o.wall_s:.1f}",
        )
    return table


def _explain(outcome: Any) -> None:
    """Under the table: why a scenario is not a pass, and what it left unproven."""
    style = VERDICT_STYLE.get(outcome.verdict, "")
    out.print(f"[{style}]{outcome.verdict.upper()}[/{style}] {escape(outcome.name)}: expected "
              f"{outcome.expected}  (replay: zchaos replay {outcome.report_dir})")
    for reason in outcome.reasons:
        out.print(f"  - {escape(reason)}", soft_wrap=True)
    for note in outcome.notes:
        out.print(f"  - note: {escape(note)}", soft_wrap=True)


def _progress_hooks(progress: Progress) -> tuple[Any, Any, Any, Any]:
    """on_start / on_progress / on_done for run_suite: a live line per running scenario."""
    tasks: dict[int, Any] = {}
    stops: dict[int, threading.Event] = {}
    lock = threading.Lock()

    def on_start(job: Any) -> None:
        total = job.scenario.duration
        task = progress.add_task(job.label, total=total, status="")
        stop = threading.Event()
        with lock:
            tasks[job.index], stops[job.index] = task, stop
        started = time.monotonic()

        def tick() -> None:
            while not stop.wait(0.2):
                progress.update(task, completed=min(total, time.monotonic() - started))

        threading.Thread(target=tick, daemon=True).start()

    def on_progress(job: Any, msg: str) -> None:
        with lock:
            task = tasks.get(job.index)
        if task is not None:
            progress.update(task, status=msg)

    def on_done(job: Any, outcome: Any) -> None:
        with lock:
            task, stop = tasks.get(job.index), stops.pop(job.index, None)
        if stop is not None:
            stop.set()
        colour = VERDICT_STYLE.get(outcome.verdict, "magenta")
        if task is not None:
            progress.update(task, completed=job.scenario.duration,
                            status=f"[{colour}]{outcome.verdict.upper()}[/{colour}]")
        if not err.is_terminal:
            err.print(f"{outcome.verdict.upper():5} {job.label} "
                      f"({outcome.wall_s:.1f}s) -> {outcome.report_dir}")

    def stop_all() -> None:
        with lock:
            for stop in stops.values():
                stop.set()

    return on_start, on_progress, on_done, stop_all


def run_scenarios(scenarios: list[Any], options: Any, jobs: int = 1, repeats: int = 1) -> int:
    """Run, print the summary, write the run index; the exit code (see the module docstring)."""
    from harness.suite import run_suite

    previous = signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[status]}"),
        console=err,
        transient=False,
    )
    on_start, on_progress, on_done, stop_all = _progress_hooks(progress)

    def on_ready(reaped: list[str]) -> None:
        if reaped:
            err.print(f"reaped leftovers of a dead run: {', '.join(reaped)}")

    run_root = options.report_root / options.run_id
    try:
        with progress:
            result = run_suite(scenarios, options, jobs=jobs, repeats=repeats,
                               on_start=on_start, on_progress=on_progress, on_done=on_done,
                               on_ready=on_ready)
    except KeyboardInterrupt:  # before any run started, or while the slots came up
        err.print("[yellow]interrupted: everything started was stopped[/yellow]")
        return EXIT_INTERRUPTED
    finally:
        stop_all()
        signal.signal(signal.SIGTERM, previous)
    if result.interrupted:
        err.print("[yellow]interrupted: everything started was stopped[/yellow]")
        if result.outcomes:
            _print_summary(result, scenarios)
            _write_run_index(run_root, result, scenarios)
        return EXIT_INTERRUPTED
    _print_summary(result, scenarios)
    _write_run_index(run_root, result, scenarios)
    out.print(f"reports: {run_root}")
    for o in result.outcomes:
        if o.verdict != "pass" or o.notes:
            _explain(o)
    if result.repeats > 1:
        _explain_repeats(result.by_scenario(scenarios))
    return EXIT_OK if result.ok else EXIT_MISMATCH


def _print_summary(result: Any, scenarios: list[Any]) -> None:
    if result.repeats > 1:
        out.print(_repeat_table(result.by_scenario(scenarios), scenarios))
    else:
        out.print(_summary_table(result.outcomes))


def _expected_violated(scenario: Any) -> set[str]:
    return set(scenario.expect.violated) if scenario.expect.outcome != "pass" else set()


def _repeat_table(results: list[Any], scenarios: list[Any]) -> Table:
    """One row per scenario over its repeats: verdicts matched, each contract's count."""
    table = Table(title="zchaos summary (repeats)", show_lines=False)
    for col in ("scenario", "verdict", "matched", "expected", "contracts (as expected / runs)",
                "wall s (mean)"):
        table.add_column(col)
    by_name = {s.name: s for s in scenarios}
    for r in results:
        style = VERDICT_STYLE.get(r.verdict, "")
        counts = r.contract_counts(_expected_violated(by_name[r.name]))
        contracts = ", ".join(f"{name} {held}/{runs}" for name, (held, runs) in counts.items())
        wall = sum(o.wall_s for o in r.outcomes) / max(1, r.runs)
        table.add_row(r.name, f"[{style}]{r.verdict.upper()}[/{style}]",
                      f"{r.matched}/{r.runs}", r.expected, escape(contracts), f"{wall:.1f}")
    return table


def _explain_repeats(results: list[Any]) -> None:
    """Under the table: which seeds of a scenario did not match, and how to reproduce one."""
    for r in results:
        differing = r.differing()
        if not differing:
            continue
        seeds = ", ".join(f"{seed} ({o.verdict})" for seed, o in differing)
        out.print(f"[red]REPEATS[/red] {escape(r.name)}: {r.matched}/{r.runs} runs matched "
                  f"{r.expected}; seeds that differed: {seeds}", soft_wrap=True)
        out.print(f"  reproduce one: zchaos replay {differing[0][1].report_dir}", soft_wrap=True)


def _write_run_index(run_root: Path, result: Any, scenarios: list[Any]) -> None:
    outcomes = result.outcomes
    index: dict[str, Any] = {
        "scenarios": [
            {"scenario": o.name, "verdict": o.verdict, "expected": o.expected,
             "status": o.status, "reasons": o.reasons,
             "faults_hit": (o.coverage or {}).get("hit", 0),
             "faults": (o.coverage or {}).get("total", 0),
             "wall_s": round(o.wall_s, 3), "report": str(o.report_dir)}
            for o in outcomes
        ],
        "passed": sum(o.verdict == "pass" for o in outcomes),
        "verdicts": {v: sum(o.verdict == v for o in outcomes)
                     for v in ("pass", "fail", "unknown", "error")},
        "total": len(outcomes),
    }
    if result.repeats > 1:
        index["repeats"] = repeats_index(result, scenarios)
    (run_root / "index.json").write_text(json.dumps(index, indent=2))
    if result.repeats > 1:
        from harness.report.junit import write_repeat_junit

        for entry in index["repeats"]:
            folder = run_root / entry["scenario"]
            if folder.is_dir():
                write_repeat_junit(entry, folder / "junit.xml")
    from harness.report.pages import write_run_index_html

    write_run_index_html(run_root)  # index.html: every scenario, failures first


def repeats_index(result: Any, scenarios: list[Any]) -> list[dict[str, Any]]:
    """index.json "repeats": per scenario, runs matched and each contract's count."""
    by_name = {s.name: s for s in scenarios}
    entries = []
    for r in result.by_scenario(scenarios):
        counts = r.contract_counts(_expected_violated(by_name[r.name]))
        entries.append({
            "scenario": r.name, "expected": r.expected, "verdict": r.verdict,
            "runs": r.runs, "matched": r.matched,
            "contracts": {name: {"as_expected": held, "runs": runs}
                          for name, (held, runs) in counts.items()},
            "seeds": r.seeds,
            "differed": [{"seed": seed, "verdict": o.verdict, "report": str(o.report_dir),
                          "replay": f"zchaos replay {o.report_dir}"}
                         for seed, o in r.differing()],
        })
    return entries


def _options(args: argparse.Namespace, impls: dict[str, str]) -> Any:
    from harness.runner import RunOptions, new_run_id

    return RunOptions(
        report_root=Path(args.report_dir),
        run_id=args.run_id or new_run_id(),
        runtime=args.runtime,
        impls=impls,
        seed=args.seed,
        image=getattr(args, "image", "zchaos:latest"),
        toxiproxy_image=getattr(args, "toxiproxy_image", None),
    )


def _check_seed(seed: int | None) -> None:
    from harness.seeds import MAX_SEED

    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise BadInput(f"--seed {seed}: a seed is an integer from 0 to {MAX_SEED}")


def _check_runnable(args: argparse.Namespace, impls: dict[str, str],
                    scenarios: list[Any]) -> None:
    """--impl and node commands that cannot run here: exit 2 before anything starts."""
    if args.runtime != "local":
        return  # they run inside the image
    from harness.impl_check import check_commands

    problems = check_commands(impls, scenarios)
    if problems:
        raise BadInput("\n".join(problems))


def _jobs_and_repeats(args: argparse.Namespace) -> tuple[int, int]:
    """-j and --repeat, checked; a shared TOXIPROXY_URL server means one slot."""
    import os

    from harness.suite import default_jobs

    jobs = getattr(args, "jobs", None)
    repeats = getattr(args, "repeat", None) or 1
    if jobs is not None and jobs < 1:
        raise BadInput(f"-j {jobs}: the number of scenarios run at once is at least 1")
    if repeats < 1:
        raise BadInput(f"--repeat {repeats}: a scenario runs at least once")
    if args.runtime == "local" and os.environ.get("TOXIPROXY_URL"):
        if jobs is not None and jobs > 1:
            err.print("note: TOXIPROXY_URL is one shared server (proxies are named after "
                      "links), so scenarios run one at a time")
        return 1, repeats
    return (default_jobs() if jobs is None else jobs), repeats


def cmd_run(args: argparse.Namespace) -> int:
    _check_seed(args.seed)
    impls = parse_impls(args.impl or [])
    scenarios = _load(args.paths, args.keyword)
    if args.seed is not None:
        scenarios = [s.model_copy(update={"seed": args.seed}) for s in scenarios]
    _check_runnable(args, impls, scenarios)
    jobs, repeats = _jobs_and_repeats(args)
    return run_scenarios(scenarios, _options(args, impls), jobs=jobs, repeats=repeats)


def cmd_replay(args: argparse.Namespace) -> int:
    from harness.scenario import ScenarioError, load_scenario

    folder = Path(args.dir)
    resolved = folder / "scenario.yaml"
    if not resolved.is_file():
        raise BadInput(f"{folder}: not a scenario report folder (no scenario.yaml)")
    try:
        scenario = load_scenario(resolved)
    except ScenarioError as exc:
        raise BadInput(str(exc)) from None
    impls: dict[str, str] = {}
    report = folder / "report.json"
    if report.is_file():
        try:
            impls = dict(json.loads(report.read_text()).get("impls") or {})
        except ValueError:
            pass
    impls.update(parse_impls(args.impl or []))
    _check_seed(args.seed)
    if args.seed is not None:
        scenario = scenario.model_copy(update={"seed": args.seed})
    if args.report_dir is None:  # beside the run it came from (a repeat's rNN one level deeper)
        repeat = folder.name[:1] == "r" and folder.name[1:].isdigit()
        args.report_dir = str(folder.parent.parent.parent if repeat else folder.parent.parent)
    _check_runnable(args, impls, [scenario])
    jobs, repeats = _jobs_and_repeats(args)
    return run_scenarios([scenario], _options(args, impls), jobs=jobs, repeats=repeats)


def cmd_check(args: argparse.Namespace) -> int:
    from harness.scenario import check_paths

    code, lines = check_paths(args.paths)
    for line in lines:  # plain prints: one problem per line, never wrapped
        print(line, file=sys.stdout if line.startswith("ok ") else sys.stderr)
    return code


def cmd_list(args: argparse.Namespace) -> int:
    if args.roles:
        from harness.roles import ROLES, flag_for

        table = Table(title="roles")
        for col in ("role", "kind", "binds", "options", "what"):
            table.add_column(col)
        for role in ROLES.values():
            table.add_row(role.name, role.kind, ", ".join(role.binds),
                          " ".join(flag_for(o) for o in sorted(role.options)), role.summary)
        out.print(table)
        return EXIT_OK
    scenarios = _load(args.paths or ["scenarios"], args.keyword)
    table = Table(title="scenarios")
    for col in ("scenario", "pattern", "duration", "expect", "description"):
        table.add_column(col)
    for s in scenarios:
        exp = "pass" if s.expect.outcome == "pass" else "violated: " + ", ".join(s.expect.violated)
        table.add_row(s.name, s.pattern, f"{s.duration:g}s", exp, s.description)
    out.print(table)
    return EXIT_OK


def cmd_explore(args: argparse.Namespace) -> int:
    """``zchaos explore``: the search lives in harness.explore; this only wires it in."""
    from harness.explore import ExploreError
    from harness.explore.command import run

    impls = parse_impls(args.impl or [])
    previous = signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    try:
        return run(args, impls, out, err)
    except (ExploreError, ValueError) as exc:
        raise BadInput(str(exc)) from None
    except KeyboardInterrupt:
        err.print("[yellow]interrupted: everything started was stopped[/yellow]")
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)


def cmd_toxiproxy_server(args: argparse.Namespace) -> int:
    from harness.toxiproxy.server import main as server_main

    return int(server_main(["--host", args.host, "--port", str(args.port)]) or 0)


def _add_run_options(p: argparse.ArgumentParser, report_default: str | None) -> None:
    from harness.runtime import runtime_names

    p.add_argument("--runtime", choices=runtime_names(), default="local",
                   help="where nodes run (default: local processes)")
    p.add_argument("--impl", action="append", metavar="ROLE=COMMAND",
                   help="run COMMAND (plus the role's usual options) instead of a built-in role")
    p.add_argument("--report-dir", default=report_default, metavar="DIR",
                   help="where reports go (default: reports/)")
    p.add_argument("--run-id", help="name of the run folder (default: timestamp-pid)")
    p.add_argument("--seed", type=int, metavar="N",
                   help="override every scenario's seed (an integer >= 0): it drives every "
                        "random choice of the harness, its toxics and its roles "
                        "(docs/coverage-and-seeds.md)")
    p.add_argument("--image", default="zchaos:latest", help="docker runtime: node image")
    p.add_argument("--toxiproxy-image", default=None,
                   help="docker runtime: Toxiproxy image (default: the real Toxiproxy)")


def _add_suite_options(p: argparse.ArgumentParser) -> None:
    """-j and --repeat (run and replay; explore has its own -j)."""
    p.add_argument("-j", "--jobs", type=int, default=None, metavar="N",
                   help="run N scenarios at once (default: 3 per CPU, at most 8; "
                        "-j 1: one at a time), docs/parallel.md")
    p.add_argument("--repeat", type=int, default=1, metavar="K",
                   help="run each scenario K times with derived seeds and count how often "
                        "each verdict and contract held; fewer than K of K fails the run")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("zchaos")
    except PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zchaos",
        description=(
            "Run the ZeroMQ Guide's patterns behind Toxiproxy, break them, check contracts."
        ),
    )
    parser.add_argument("--version", action="version", version=f"zchaos {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="run scenarios (files or folders)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("-k", dest="keyword", help="only scenarios whose name contains this")
    _add_run_options(p, "reports")
    _add_suite_options(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("check", help="validate scenario files without running them")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("list", help="list scenarios (default: scenarios/) or roles")
    p.add_argument("paths", nargs="*", metavar="PATH")
    p.add_argument("-k", dest="keyword")
    p.add_argument("--roles", action="store_true", help="list the built-in roles and options")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("replay", help="run a saved scenario report folder again")
    p.add_argument("dir", metavar="DIR")
    _add_run_options(p, None)
    _add_suite_options(p)
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("explore", help="search fault schedules that break a scenario's "
                                       "contracts; shrink and replay what it finds")
    from harness.explore.command import add_arguments as add_explore_arguments

    add_explore_arguments(p)
    _add_run_options(p, "reports")
    for action in p._actions:
        if action.dest == "seed":
            action.help = "seed of the search itself (default: random, printed); repeats it"
    p.set_defaults(func=cmd_explore)

    p = sub.add_parser("toxiproxy-server", help="serve the embedded Toxiproxy-compatible API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8474)
    p.set_defaults(func=cmd_toxiproxy_server)

    try:
        from harness import cli_docker
    except ImportError:
        cli_docker = None  # type: ignore[assignment]
    if cli_docker is not None:
        cli_docker.register(sub)
    from harness.report.cli_report import register as register_report

    register_report(sub)  # zchaos report DIR [--open]
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except BadInput as exc:
        for line in str(exc).splitlines():
            print(f"zchaos: {line}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
