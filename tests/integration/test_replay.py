"""`zchaos replay DIR` runs a saved scenario again with its seed, schedule and --impl."""

from __future__ import annotations

import yaml

from tests.integration.conftest import ROOT


def test_replay_reruns_the_resolved_scenario(cli) -> None:
    first = cli("run", "--seed", "1234", str(ROOT / "scenarios" / "hello" / "hello-steady.yaml"),
                run_id="first")
    assert first.code == 0, first.stdout + first.stderr
    folder = first.run_root / "hello-steady"
    saved = yaml.safe_load((folder / "scenario.yaml").read_text())
    assert saved["seed"] == 1234
    again = cli("replay", str(folder), run_id="again")
    assert again.code == 0, again.stdout + again.stderr
    report = again.reports()["hello-steady"]
    assert report["seed"] == 1234 and report["verdict"] == "pass"
    replayed = yaml.safe_load((again.run_root / "hello-steady" / "scenario.yaml").read_text())
    assert replayed == saved
