"""The proof behind docs/explore.md: `zchaos explore` finds what the shipped suite misses.

For each deliberately broken implementation in ``tests/negative/explore_*``:

- ``folders``: its pattern folder is run with ``--impl`` and must pass (the
  suite does not catch it);
- ``mutants``: ``zchaos explore`` on its shipped base scenario with the same
  ``--impl`` must break the right contract within the budget (60 runs) and
  shrink it to at most 2 faults; recorded: runs to the first failure, the
  shrunk schedule, the reproduction rate, wall time;
- ``correct``: the same explorations with our own implementations must find
  nothing (a violation there is a real bug);
- ``table``: prints the Markdown tables of docs/explore.md from the results.

Results accumulate in a JSON file (``--out``), so the slow parts can be run
one at a time::

    .venv/bin/python bench/explore_bench.py folders
    .venv/bin/python bench/explore_bench.py mutants [--only titanic] [-j 2]
    .venv/bin/python bench/explore_bench.py correct
    .venv/bin/python bench/explore_bench.py table

Throughput (runs per minute on this machine) is a figure measured in the
same runs: runs / wall minutes, per exploration.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from common import ROOT

from harness.explore.engine import ExploreOptions, explore
from harness.explore.schedules import describe_schedule

NEGATIVE = ROOT / "tests" / "negative"
SCENARIOS = ROOT / "scenarios"
DEFAULT_OUT = ROOT / "bench" / "explore_results.json"


@dataclass(frozen=True)
class Mutant:
    name: str
    role: str
    program: str
    folder: str  # the pattern folder it must pass
    base: str  # the shipped base scenario explored
    contract: str  # the contract it must be caught breaking
    flaw: str


MUTANTS = [
    Mutant("bstar-kept-socket", "binary_star.client", "explore_bstar_kept_socket_client.py",
           "binary_star", "binary_star/bstar-primary-frozen.yaml", "replies_match_requests",
           "keeps one socket per server; a late reply answers a later request"),
    Mutant("bstar-settled-passive", "binary_star.server",
           "explore_bstar_settled_passive_server.py", "binary_star",
           "binary_star/bstar-primary-killed.yaml", "at_most_one_active",
           "a backup passive for 2 s takes over on a vote alone"),
    Mutant("titanic-impatient", "titanic.client", "explore_titanic_impatient_client.py",
           "titanic", "titanic/titanic-kill-restart.yaml", "durable_acks",
           "abandons acknowledged requests after 2.5 s of Titanic silence"),
    Mutant("majordomo-async-dup", "majordomo.async_client",
           "explore_majordomo_async_dup_client.py", "majordomo",
           "majordomo/majordomo-async-broker-restart.yaml", "replies_match_requests",
           "accepts a second answer for an op already answered"),
    Mutant("freelance3-guide-seq", "freelance.client3", "explore_freelance3_guide_seq_client.py",
           "freelance", "freelance/freelance3-all-killed-one-returns.yaml",
           "replies_match_requests",
           "the Guide's sequence: reused after a FAILED request, matched alone"),
]


def impl_of(mutant: Mutant) -> str:
    return f"{mutant.role}=python {NEGATIVE / mutant.program}"


def load(out: Path) -> dict:
    return json.loads(out.read_text()) if out.exists() else {}


def save(out: Path, results: dict) -> None:
    """Merge this run's sections into the file (another bench may be writing other rows)."""
    current = load(out)
    for section, rows in results.items():
        current.setdefault(section, {}).update(rows)
    out.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")


def selected(args: argparse.Namespace) -> list[Mutant]:
    return [m for m in MUTANTS if not args.only or any(o in m.name for o in args.only)]


def run_folders(args: argparse.Namespace, results: dict) -> None:
    for mutant in selected(args):
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "harness.cli", "run", "--impl", impl_of(mutant),
             str(SCENARIOS / mutant.folder), "--report-dir", str(args.reports),
             "--run-id", f"folder-{mutant.name}-{time.strftime('%Y%m%d-%H%M%S')}"],
            cwd=ROOT, capture_output=True, text=True)
        wall = time.monotonic() - started
        passed = proc.returncode == 0
        results.setdefault("folders", {})[mutant.name] = {
            "folder": mutant.folder, "exit": proc.returncode, "passed": passed,
            "wall_s": round(wall, 1),
            "failing": [line for line in proc.stdout.splitlines() if line.startswith("FAIL")],
        }
        print(f"{mutant.name}: folder scenarios/{mutant.folder} "
              f"{'PASSED' if passed else 'FAILED'} ({wall:.0f}s)", flush=True)
        save(args.out, results)


def exploration(args: argparse.Namespace, mutant: Mutant, impls: dict[str, str],
                tag: str) -> dict:
    options = ExploreOptions(
        scenario=SCENARIOS / mutant.base, budget=args.budget, jobs=args.jobs, impls=impls,
        seed=args.seed, replays=args.replays, shrink_budget=args.shrink_budget,
        database=None, report_root=args.reports,
        run_id=f"{tag}-{mutant.name}-j{args.jobs}-{time.strftime('%Y%m%d-%H%M%S')}",
        quiet=args.quiet)
    result = explore(options)
    runs = len(result.journal.examples)
    row = {
        "base": mutant.base, "jobs": args.jobs, "seed": result.seed,
        "search_runs": result.search.runs, "runs": runs, "stopped": result.search.stopped,
        "wall_s": round(result.wall_s, 1),
        "runs_per_minute": round(runs / (result.wall_s / 60), 2) if result.wall_s else None,
        "uninformative": sum(1 for e in result.journal.examples if not e.record.informative),
        "folder": str(result.folder),
    }
    if result.failures:
        first = result.failures[0]
        row.update(
            found=first.contract, runs_to_first_failure=result.runs_to_failure,
            faults=len(first.schedule), minimal=describe_schedule(first.schedule),
            original=describe_schedule(first.original.schedule),
            rate=f"{first.reproduction.fails}/{first.reproduction.replays}",
            shrink_runs=first.shrink.runs, reported_step=first.reported_step,
            all_found=[f.contract for f in result.failures],
        )
    return row


def run_mutants(args: argparse.Namespace, results: dict) -> None:
    for mutant in selected(args):
        row = exploration(args, mutant, {mutant.role: f"python {NEGATIVE / mutant.program}"},
                          "mutant")
        row["expected"] = mutant.contract
        row["ok"] = (row.get("found") == mutant.contract and row.get("faults", 99) <= 2
                     and row.get("runs_to_first_failure", 999) <= args.budget)
        results.setdefault("mutants", {})[f"{mutant.name}-j{args.jobs}"] = row
        print(json.dumps({mutant.name: row}, indent=1), flush=True)
        save(args.out, results)


def run_correct(args: argparse.Namespace, results: dict) -> None:
    seen: set[str] = set()
    for mutant in selected(args):
        if mutant.base in seen:
            continue
        seen.add(mutant.base)
        row = exploration(args, mutant, {}, "correct")
        row["ok"] = "found" not in row
        results.setdefault("correct", {})[f"{mutant.base}-j{args.jobs}"] = row
        print(json.dumps({mutant.base: row}, indent=1), flush=True)
        save(args.out, results)


def table(results: dict) -> str:
    lines = ["| mutant (tests/negative/) | flaw | its folder | base scenario | contract found | "
             "runs to first failure | shrunk schedule | faults | reproduced | wall |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for mutant in MUTANTS:
        folder = results.get("folders", {}).get(mutant.name, {})
        for key, row in sorted(results.get("mutants", {}).items()):
            if not key.startswith(mutant.name + "-j"):
                continue
            folder_text = "passes" if folder.get("passed") else (
                "FAILS" if folder else "not run")
            lines.append(
                f"| `{mutant.program}` | {mutant.flaw} | {folder_text} "
                f"(`{mutant.folder}/`) | `{Path(mutant.base).name}` | "
                f"{row.get('found', 'none')} | {row.get('runs_to_first_failure', '-')} | "
                f"`{row.get('minimal', '-')}` | {row.get('faults', '-')} | "
                f"{row.get('rate', '-')} | {row['wall_s'] / 60:.1f} min (-j {row['jobs']}) |")
    lines += ["", "| base scenario (our implementations) | search runs | violations | "
              "uninformative runs | wall | runs/min |", "|---|---|---|---|---|---|"]
    for _key, row in sorted(results.get("correct", {}).items()):
        lines.append(f"| `{row['base']}` | {row['search_runs']} | "
                     f"{row.get('found', 'none')} | {row['uninformative']} | "
                     f"{row['wall_s'] / 60:.1f} min (-j {row['jobs']}) | "
                     f"{row['runs_per_minute']} |")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=["folders", "mutants", "correct", "table"])
    p.add_argument("--only", action="append", help="mutants whose name contains this")
    p.add_argument("-j", "--jobs", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--budget", type=int, default=60)
    p.add_argument("--replays", type=int, default=10)
    p.add_argument("--shrink-budget", type=int, default=30)
    p.add_argument("--reports", type=Path, default=Path("/tmp/zchaos-explore-bench"))
    p.add_argument("--out", type=Path, action="append",
                   help=f"results file (default {DEFAULT_OUT.name}); table reads all given")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args()
    outs = args.out or [DEFAULT_OUT]
    args.out = outs[0]
    results: dict = {}
    if args.what == "folders":
        run_folders(args, results)
    elif args.what == "mutants":
        run_mutants(args, results)
    elif args.what == "correct":
        run_correct(args, results)
    merged: dict = {}
    for out in outs:
        for section, rows in load(out).items():
            merged.setdefault(section, {}).update(rows)
    print(table(merged))
    bad = [k for part in ("mutants", "correct") for k, r in merged.get(part, {}).items()
           if not r.get("ok")]
    bad += [k for k, r in merged.get("folders", {}).items() if not r.get("passed")]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
