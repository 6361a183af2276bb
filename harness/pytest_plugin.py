"""``pytest scenarios/``: every zchaos scenario file as a pytest test item.

Registered through the ``pytest11`` entry point, so installing zchaos is
enough. The plugin is deliberately thin: each item runs its scenario with
the same :class:`harness.session.Session` as ``zchaos run`` (one session,
hence one embedded Toxiproxy, per pytest process, so per ``pytest-xdist``
worker), and passes exactly when ``zchaos run`` would exit 0 for it: the
verdict is ``pass`` (every contract came out as ``expect:`` says and every
fault hit live work). ``fail``, ``unknown`` and ``error`` fail the item,
and its failure text lists each contract with its verdict, the reasons,
the report folder and the ``zchaos replay`` command that reproduces it.

Which YAML files are collected (docs/ci.md "pytest"): only under paths
named on the command line (``pytest scenarios/``, ``pytest a.yaml``), not
under ``testpaths`` or the current folder when pytest is run without
arguments, so a project whose tests keep broken scenario files as fixtures
is not disturbed. ``zchaos_collect = always`` in the ini file lifts that.
Among those, a file is a scenario when its top level is a mapping with
``name`` and ``nodes`` (other YAML, e.g. a compose file, is left alone) or
when the file itself was named on the command line. A scenario file that
does not load is a collection error with zchaos's own ``file:line: field:
message`` lines, never a traceback.
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

SUFFIXES = (".yaml", ".yml")
OPTION_KEYS = ("zchaos_runtime", "zchaos_impl", "zchaos_report_dir", "zchaos_seed",
               "zchaos_run_id")
_SESSION = pytest.StashKey["_Runner"]()
_RUN_ID = pytest.StashKey[str]()


class ScenarioLoadError(Exception):
    """A scenario file that does not load: its text is zchaos's file:line lines."""


class ScenarioMismatch(Exception):
    """The scenario's verdict is not ``pass``; the text is the whole explanation."""


# -- options and markers ---------------------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("zchaos", "zchaos scenarios (the same options as `zchaos run`)")
    group.addoption("--zchaos-runtime", choices=["local", "docker"], default="local",
                    help="where nodes run (default: local processes)")
    group.addoption("--zchaos-impl", action="append", default=[], metavar="ROLE=COMMAND",
                    help="run COMMAND instead of a built-in role (repeatable)")
    group.addoption("--zchaos-report-dir", default="reports", metavar="DIR",
                    help="where reports go (default: reports/)")
    group.addoption("--zchaos-seed", type=int, default=None, metavar="N",
                    help="override every scenario's seed")
    group.addoption("--zchaos-run-id", default=None, metavar="NAME",
                    help="name of the run folder (default: timestamp-pid)")
    parser.addini("zchaos_collect", default="args",
                  help="'args' (default): collect scenario files only under paths named on "
                       "the command line; 'always': wherever pytest collects")


def pytest_configure(config: pytest.Config) -> None:
    from harness.roles import ROLES  # light: the loader (pydantic) waits for a scenario file

    config.addinivalue_line("markers", "zchaos: a zchaos scenario file run as a test")
    config.addinivalue_line(
        "markers", "zchaos_negative: a zchaos negative control (expect: violated)")
    for pattern in sorted({role.split(".", 1)[0] for role in ROLES}):  # known_patterns()
        config.addinivalue_line("markers", f"{pattern}: zchaos scenarios of the {pattern} "
                                           "pattern")
    _check_options(config)
    config.pluginmanager.register(_RunIndex(config), "zchaos-run-index")
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and "zchaos_run_id" in workerinput:
        config.stash[_RUN_ID] = workerinput["zchaos_run_id"]


def run_id(config: pytest.Config) -> str:
    """The run folder's name: given, the xdist controller's, or made at first use."""
    if _RUN_ID not in config.stash:
        from harness.runner import new_run_id

        config.stash[_RUN_ID] = config.getoption("zchaos_run_id") or new_run_id()
    return config.stash[_RUN_ID]


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: every worker writes into the controller's run folder."""
    node.workerinput["zchaos_run_id"] = run_id(node.config)


def _check_options(config: pytest.Config) -> None:
    """--zchaos-impl and --zchaos-seed as ``zchaos run`` checks them: a usage error."""
    seed = config.getoption("zchaos_seed")
    if seed is not None:
        from harness.seeds import MAX_SEED

        if not 0 <= seed <= MAX_SEED:
            raise pytest.UsageError(
                f"--zchaos-seed {seed}: a seed is an integer from 0 to {MAX_SEED}")
    if config.getoption("zchaos_impl"):  # harness.cli only when needed: any pytest loads us
        from harness.cli import BadInput, parse_impls

        try:
            parse_impls(config.getoption("zchaos_impl"))
        except BadInput as exc:
            raise pytest.UsageError(str(exc).replace("--impl", "--zchaos-impl")) from None
    if config.getini("zchaos_collect") not in ("args", "always"):
        raise pytest.UsageError("zchaos_collect: expected 'args' or 'always'")


# -- collection ------------------------------------------------------------------------
def _named_on_command_line(config: pytest.Config, path: Path) -> tuple[bool, bool]:
    """(under a path the user named, the file itself was named)."""
    if config.getini("zchaos_collect") == "always":
        return True, False
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        return False, False
    under = named = False
    for arg in config.args:
        target = Path(config.invocation_params.dir, arg.split("::", 1)[0]).resolve()
        if target == path:
            named = under = True
        elif target in path.parents:
            under = True
    return under, named


def _looks_like_scenario(path: Path) -> bool:
    """A mapping with ``name`` and ``nodes`` on top; unreadable YAML counts (to report it)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return True
    return isinstance(data, dict) and "name" in data and "nodes" in data


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix not in SUFFIXES:
        return None
    under, named = _named_on_command_line(parent.config, file_path.resolve())
    if not under or not (named or _looks_like_scenario(file_path)):
        return None
    return ScenarioFile.from_parent(parent, path=file_path)


class ScenarioFile(pytest.File):
    """One scenario file: loads it with zchaos's loader and yields one item."""

    def collect(self) -> Iterator[ScenarioItem]:
        from harness.impl_check import check_commands
        from harness.scenario import ScenarioError, load_scenario

        try:
            scenario = load_scenario(self.path)
        except ScenarioError as exc:  # ScenarioErrors too: one line per problem
            raise ScenarioLoadError(str(exc)) from None
        seed = self.config.getoption("zchaos_seed")
        if seed is not None:
            scenario = scenario.model_copy(update={"seed": seed})
        if self.config.getoption("zchaos_runtime") == "local":
            from harness.cli import parse_impls

            impls = parse_impls(self.config.getoption("zchaos_impl"))
            problems = check_commands(impls, [scenario])
            if problems:
                raise ScenarioLoadError("\n".join(problems))
        yield ScenarioItem.from_parent(self, name=scenario.name, scenario=scenario)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:
        if isinstance(excinfo.value, ScenarioLoadError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Two scenarios with one name would share a report folder: refuse, as zchaos run does."""
    seen: dict[str, Path] = {}
    for item in items:
        if not isinstance(item, ScenarioItem):
            continue
        other = seen.setdefault(item.name, item.path)
        if other != item.path:
            raise pytest.UsageError(
                f"{item.path}: name: scenario name {item.name!r} is also used by {other}; "
                "names must be unique in a run (each names its report folder)")


# -- running ---------------------------------------------------------------------------
class _Runner:
    """This process's zchaos Session, opened at the first scenario and closed at the end."""

    def __init__(self, config: pytest.Config) -> None:
        from harness.cli import parse_impls
        from harness.runner import RunOptions

        self.options = RunOptions(
            report_root=Path(config.getoption("zchaos_report_dir")).resolve(),
            run_id=run_id(config),
            runtime=config.getoption("zchaos_runtime"),
            impls=parse_impls(config.getoption("zchaos_impl")),
            seed=config.getoption("zchaos_seed"),
        )
        self._session: Any = None

    def run(self, scenario: Any) -> Any:
        from harness.session import Session

        if self._session is None:
            session = Session(self.options)
            session.__enter__()
            self._session = session
        return self._session.run(scenario)

    def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            session.__exit__(None, None, None)


def _sigterm_as_interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM stops a run as Ctrl-C does (teardown in ``finally``), as in ``zchaos run``."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class ScenarioItem(pytest.Item):
    """One scenario; passes when its zchaos verdict is ``pass``."""

    def __init__(self, *, scenario: Any, **kw: Any) -> None:
        super().__init__(**kw)
        self.scenario = scenario
        self.add_marker("zchaos")
        self.add_marker(scenario.pattern)
        if scenario.expect.outcome != "pass":
            self.add_marker("zchaos_negative")
        # -k matches the pattern and contract names as well as the scenario and file names.
        self.extra_keyword_matches.update(
            {scenario.pattern, *(c.name for c in scenario.contracts)})

    def runtest(self) -> None:
        config = self.config
        if _SESSION not in config.stash:
            config.stash[_SESSION] = _Runner(config)
        with _sigterm_interrupts():
            outcome = config.stash[_SESSION].run(self.scenario)
        replay = f"zchaos replay {outcome.report_dir}"
        self.user_properties += [
            ("zchaos_verdict", outcome.verdict),
            ("zchaos_expected", outcome.expected),
            *((f"contract:{c.name}", c.verdict) for c in outcome.contracts),
            ("zchaos_report", str(outcome.report_dir)),
            ("zchaos_replay", replay),
        ]
        if outcome.verdict != "pass":
            raise ScenarioMismatch(failure_text(outcome, replay))
        # Shown for passes with -rP / -rA (a failure has them in its text already).
        self.add_report_section("call", "zchaos contracts", contract_lines(outcome))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> Any:
        if isinstance(excinfo.value, ScenarioMismatch):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"zchaos scenario {self.name}"


def contract_lines(outcome: Any) -> str:
    """One line per contract: ``name: verdict - message``."""
    lines = [f"{c.name}: {c.verdict}" + (f" - {c.message}" if c.message else "")
             for c in outcome.contracts]
    return "\n".join(lines) or "(no contract was checked)"


def failure_text(outcome: Any, replay: str) -> str:
    """What a red item says: verdict, each contract, why, where the report is, how to replay."""
    parts = [f"zchaos scenario {outcome.name}: verdict {outcome.verdict.upper()}, "
             f"expected {outcome.expected}"]
    if outcome.error:
        parts.append(f"error: {outcome.error}")
    parts.append("contracts:")
    parts += [f"  {line}" for line in contract_lines(outcome).splitlines()]
    if outcome.reasons:
        parts.append("why:")
        parts += [f"  - {r}" for r in outcome.reasons]
    parts += [f"  - note: {n}" for n in outcome.notes]
    parts.append(f"report: {outcome.report_dir}  (open index.html)")
    parts.append(f"replay: {replay}")
    return "\n".join(parts)


# -- the end of the run ----------------------------------------------------------------
class _RunIndex:
    """Remembers (on the xdist controller too) the report folders this pytest run wrote."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.folders: set[Path] = set()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for key, value in report.user_properties:
            if key == "zchaos_report":
                self.folders.add(Path(value))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        runner = self.config.stash.get(_SESSION, None)
        if runner is not None:
            runner.close()
        if getattr(self.config, "workerinput", None) is None:
            for root in self.roots():
                write_run_index(root, sorted(p for p in self.folders if p.parent == root))

    def roots(self) -> list[Path]:
        return sorted({p.parent for p in self.folders})

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        for root in self.roots():
            terminalreporter.write_line(f"zchaos reports: {root}  (open index.html)")


def write_run_index(run_root: Path, folders: list[Path]) -> None:
    """index.json and index.html of the run folder, as ``zchaos run`` writes them."""
    rows = []
    for folder in folders:
        try:
            report = json.loads((folder / "report.json").read_text())
        except (OSError, ValueError):
            continue
        coverage = report.get("coverage") or {}
        rows.append({
            "scenario": report.get("scenario", folder.name),
            "verdict": report.get("verdict", "error"),
            "expected": report.get("expected", ""),
            "status": report.get("status", "complete"),
            "reasons": report.get("reasons") or [],
            "faults_hit": coverage.get("hit", 0),
            "faults": coverage.get("total", 0),
            "wall_s": (report.get("timing") or {}).get("wall_s", 0.0),
            "report": str(folder),
        })
    index = {
        "scenarios": rows,
        "passed": sum(r["verdict"] == "pass" for r in rows),
        "verdicts": {v: sum(r["verdict"] == v for r in rows)
                     for v in ("pass", "fail", "unknown", "error")},
        "total": len(rows),
    }
    (run_root / "index.json").write_text(json.dumps(index, indent=2))
    from harness.report.pages import write_run_index_html

    write_run_index_html(run_root)
