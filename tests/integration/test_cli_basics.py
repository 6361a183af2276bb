"""The CLI's contract with users: exit codes, one-line errors, no traceback."""

from __future__ import annotations

from pathlib import Path

from tests.integration.conftest import ROOT


def test_bad_scenario_is_one_line_and_exit_2(cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\npattern: lazy_pirate\nduration: 2s\nnodes:\n"
                   "  server: {role: lazy_pirate.server, bogus: 1}\n")
    for verb in ("check", "run"):
        res = cli(verb, str(bad))
        assert res.code == 2, res
        assert "Traceback" not in res.stderr + res.stdout
        lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1, lines
        assert f"{bad}:5" in lines[0] and "bogus" in lines[0]


def test_bad_impl_is_exit_2(cli) -> None:
    res = cli("run", "--impl", "no.such.role=python x.py", str(ROOT / "scenarios" / "hello"))
    assert res.code == 2
    assert "unknown role" in res.stderr and "Traceback" not in res.stderr


def test_missing_path_is_exit_2(cli, tmp_path: Path) -> None:
    res = cli("check", str(tmp_path / "nope.yaml"))
    assert res.code == 2 and "Traceback" not in res.stderr


def test_list_roles_and_scenarios(cli) -> None:
    res = cli("list", "--roles")
    assert res.code == 0 and "lazy_pirate.client" in res.stdout
    res = cli("list", str(ROOT / "scenarios" / "hello"))
    assert res.code == 0 and "hello" in res.stdout


def test_check_accepts_every_shipped_scenario(cli) -> None:
    res = cli("check", str(ROOT / "scenarios"))
    assert res.code == 0, res.stderr
