"""Every shipped scenario folder runs on the local runtime and matches its `expect`."""

from __future__ import annotations

import pytest

from tests.integration.conftest import ROOT

FOLDERS = sorted(p.name for p in (ROOT / "scenarios").iterdir() if p.is_dir())


@pytest.mark.slow
@pytest.mark.parametrize("folder", FOLDERS)
def test_suite_matches_expectations(cli, folder: str) -> None:
    res = cli("run", str(ROOT / "scenarios" / folder), run_id=folder, timeout=900)
    reports = res.reports()
    assert reports, f"no report written:\n{res.stdout}\n{res.stderr}"
    bad = {name: r for name, r in reports.items() if r["verdict"] != "pass"}
    detail = "\n".join(
        f"{name}: verdict {r['verdict']}, expected {r['expected']}, got "
        + ", ".join(f"{c['name']}={c['verdict']} ({c.get('message', '')})" for c in r["contracts"])
        + (f", error {r['error']}" if r.get("error") else "")
        for name, r in bad.items()
    )
    assert not bad, detail
    assert res.code == 0, res.stdout + res.stderr
