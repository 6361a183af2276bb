"""The pages of real short runs, read as a person would: every contract, fault, lane, culprit.

One negative control run through ``--impl`` (a Lazy Pirate client that
accepts stale replies: ``replies_match_requests`` must be violated and its
operations marked), a pass with a kill and a restart, and a scenario-level
negative control (plain REQ/REP whose server dies).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import ROOT
from tests.report.conftest import RealRuns
from tests.report.dom import Page

# One xdist worker runs every test of the session fixture real_runs (two real runs).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("report-real-runs")]


def check_structure(folder: Path) -> Page:
    """What every scenario page must show, derived from the folder's own report.json."""
    report = json.loads((folder / "report.json").read_text())
    history = [json.loads(line) for line in (folder / "history.jsonl").read_text().splitlines()]
    page = Page.read(folder / "index.html")
    assert page.by_id("verdict").content == report["verdict"].upper()
    # every node has a lane, in the scenario's order
    lanes = [e.attrs["data-node"] for e in page.by_class("lanebg", "rect")]
    assert lanes[:len(report["nodes"])] == list(report["nodes"])
    # every contract, with its verdict
    articles = page.by_class("contract", "article")
    assert [a.attrs["data-contract"] for a in articles] == [c["name"] for c in
                                                            report["contracts"]]
    for article, contract in zip(articles, report["contracts"], strict=True):
        assert contract["verdict"] in article.content
    # every applied fault, with its target
    applied = [e for e in history if e.get("type") == "fault" and e.get("phase") == "apply"]
    labels = [e.content for e in page.by_class("fault-label")]
    assert len(labels) == len(applied)
    for event, label in zip(applied, labels, strict=True):
        assert label.startswith(event["fault"])
        for node in event["target"].replace("|", ",").split(","):
            assert node.strip() in label, (label, event)
    # every operation named in a violation is marked, and every in-page link resolves
    ids = page.ids()
    named = {e["op"] for c in report["contracts"] for v in c["violations"]
             for e in v["events"] if "op" in e}
    payload = json.loads(page.by_id("zc-data").content)
    marked = {payload["ops"][int(r.attrs["data-i"])][0] for r in page.by_class("bad", "rect")}
    assert marked == named
    for a in page.by_tag("a"):
        href = a.attrs.get("href", "")
        if href.startswith("#"):
            assert href[1:] in ids, href
    # the log pane has every node that wrote a log, with the harness's lines in it
    for log in (folder / "logs").glob("*.log"):
        pane = page.by_id(f"pane-{log.stem}")
        assert "[zchaos]" in pane.content
    return page


def test_negative_control_page_names_the_culprit(real_runs: RealRuns) -> None:
    folder = real_runs.broken_page.parent
    page = check_structure(folder)
    story = page.by_id("story").content
    assert "replies_match_requests was violated" in story
    assert "on client" in story and "latency 700 ms on client->server, downstream" in story
    assert len(page.by_class("bad", "rect")) >= 1
    vlinks = [a for a in page.by_tag("a") if "vlink" in a.classes]
    assert vlinks and all(a.attrs["href"][1:] in page.ids() for a in vlinks)
    loglinks = [a.content for a in page.by_tag("a") if "loglink" in a.classes]
    assert any(text.startswith("log: client.log @") for text in loglinks)
    assert "lazy_pirate.client=python" in page.by_id("run-cmd").content
    assert (folder / "timeline.png").stat().st_size > 10_000


def test_pass_and_scenario_negative_control_pages(real_runs: RealRuns) -> None:
    page = check_structure(real_runs.pass_page.parent)
    assert "Every contract held" in page.by_id("story").content
    server = page.by_id("pane-server").content
    assert "fault #1 applied: kill server" in server and "killed by SIGKILL" in server
    control = check_structure(real_runs.control_page.parent)
    story = control.by_id("story").content
    assert "negative control" in story and "As expected, every_request_answered" in story


def test_run_index_lists_every_scenario(real_runs: RealRuns) -> None:
    index = Page.read(real_runs.good / "index.html")
    rows = [e for e in index.elements if e.tag == "tr" and "data-verdict" in e.attrs]
    assert {e.content for e in index.by_tag("a")} == {"lazy-pirate-server-restart",
                                                      "hello-server-killed"}
    assert all(r.attrs["data-verdict"] == "pass" for r in rows)
    broken = Page.read(real_runs.broken / "index.html")
    assert [r.attrs["data-verdict"] for r in broken.elements
            if r.tag == "tr" and "data-verdict" in r.attrs] == ["fail"]


def test_zchaos_report_re_renders_an_old_run(real_runs: RealRuns, tmp_path: Path) -> None:
    import shutil

    old = tmp_path / "old-run"
    shutil.copytree(real_runs.broken, old)  # no metadata kept: the log clock falls back
    for page in old.rglob("index.html"):
        page.unlink()
    shutil.rmtree(old / "assets")
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "report", str(old)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(old / "index.html")
    check_structure(old / "lazy-pirate-reply-latency")
    assert (old / "assets" / "zchaos-report.js").is_file()
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "report", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "no report.json" in proc.stderr
