"""A harness session: one ``zchaos run`` invocation over many scenarios.

The embedded Toxiproxy is started once per session (not per scenario) to
keep the harness's overhead per scenario well under a second; each scenario
creates and deletes its own proxies on it. With ``TOXIPROXY_URL`` set, that
server is used instead and nothing is started. The docker runtime brings its
own Toxiproxy container per run, so there the handle is made per scenario.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.ports import release as release_ports
from harness.reaper import ledger_for, reap_dead_runs
from harness.runner import RunOptions, ScenarioOutcome, ScenarioRun, default_state_dir
from harness.runtime import make_runtime


class Session:
    """Owns what outlives one scenario: the Toxiproxy server and the reaper ledger."""

    def __init__(self, options: RunOptions) -> None:
        self.options = options
        self.state_dir = default_state_dir(options.report_root)
        self.toxiproxy: Any = None

    def __enter__(self) -> Session:
        from harness.toxiproxy.client import start_toxiproxy

        reaped = reap_dead_runs(self.state_dir)
        self.reaped = reaped
        run_root = self.options.report_root / self.options.run_id
        run_root.mkdir(parents=True, exist_ok=True)
        if self.options.runtime == "local":
            self.toxiproxy = start_toxiproxy(log_path=run_root / "toxiproxy.log")
            try:
                pid = getattr(self.toxiproxy, "pid", None)
                if pid:
                    ledger_for(self.state_dir).add(pid, "embedded toxiproxy")
            except BaseException:  # a Ctrl-C right here: __exit__ would not run
                self.__exit__()
                raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.toxiproxy is not None:
            pid = getattr(self.toxiproxy, "pid", None)
            with contextlib.suppress(Exception):
                self.toxiproxy.close()
            if pid:
                ledger_for(self.state_dir).remove(pid)
            self.toxiproxy = None

    def run(
        self, scenario: Any, on_progress: Callable[[str], None] | None = None,
        run_dir: Path | None = None,
    ) -> ScenarioOutcome:
        """Run one scenario on a runtime of its own; its reserved ports are given back after."""
        runtime = make_runtime(
            self.options.runtime,
            toxiproxy_url=self.toxiproxy.url if self.toxiproxy is not None else None,
            state_dir=self.state_dir,
            image=self.options.image,
            toxiproxy_image=self.options.toxiproxy_image,
        )
        run = ScenarioRun(scenario, self.options, runtime, self.toxiproxy, on_progress, run_dir)
        try:
            return run.execute()
        finally:
            release_ports(runtime)
