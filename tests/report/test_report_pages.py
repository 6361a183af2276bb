"""Rendered pages from synthetic folders: structure, coverage, the run index, sizes."""

from __future__ import annotations

import json
from pathlib import Path

from harness.report import pages
from tests.report.dom import Page
from tests.report.synth import synthetic_history, synthetic_report, write_folder

COVERAGE = {
    "faults": [
        {"index": 0, "fault": "kill", "target": ["server"], "params": {}, "at": 3.0,
         "until": None, "alive": True, "ops_in_flight": 2, "ops_started": 0, "messages": 0,
         "bytes": None, "idle_ok": False, "hit": True, "why": "killed with 2 ops in flight"},
        {"index": 1, "fault": "latency", "target": ["client-1->server"],
         "params": {"latency": 500, "stream": "down"}, "at": 5.0, "until": 6.0,
         "alive": None, "ops_in_flight": 0, "ops_started": 0, "messages": 0,
         "bytes": {"client-1->server": 0}, "idle_ok": False, "hit": False,
         "why": "no operation crossed the link in its window"},
    ],
    "uncovered": [1],
}


def render(tmp_path: Path, name: str = "synthetic", **kw) -> tuple[Path, Page]:
    history = synthetic_history(ops=kw.pop("ops", 300))
    report = synthetic_report(history, name=name, **kw)
    folder = write_folder(tmp_path / "run-1" / name, report, history,
                          logs={"server": "--- zchaos: start #1: server\nhello\n"})
    page = pages.render_scenario(folder)
    return folder, Page.read(page)


def test_scenario_page_structure(tmp_path: Path) -> None:
    folder, page = render(tmp_path)
    lanes = [e.attrs["data-node"] for e in page.by_class("lanebg", "rect")]
    assert lanes == ["server", "backup", "client-1", "client-2"]
    fault_labels = {e.content for e in page.by_class("fault-label")}
    assert {"kill server", "start server", "latency 500 ms on client-1->server",
            "partition client-2 | server"} <= fault_labels
    contracts = [e.attrs["data-contract"] for e in page.by_class("contract", "article")]
    assert contracts == ["replies_match_requests", "at_most_one_active"]
    bad = page.by_class("bad", "rect")
    assert len(bad) == 2 and all(e.attrs["id"].startswith("op-") for e in bad)
    ids = page.ids()
    links = [e.attrs["href"] for e in page.elements if e.tag == "a"
             and e.attrs.get("href", "").startswith("#")]
    assert links and all(href[1:] in ids for href in links)
    assert any(e.classes >= {"vlink"} for e in page.by_tag("a"))
    assert "coverage not recorded" in page.text
    assert page.by_id("replay-cmd").content == "zchaos replay reports/r/synthetic"
    assert page.by_id("run-cmd").content == "zchaos run --seed 7 scenarios/x/synthetic.yaml"
    scripts = page.by_tag("script")
    assert [s.attrs.get("src") for s in scripts] == [None, "../assets/zchaos-report.js"]
    payload = json.loads(page.by_id("zc-data").content)
    assert len(payload["ops"]) == 300
    assert (folder.parent / "assets" / "zchaos-report.js").is_file()


def test_coverage_is_rendered_when_recorded(tmp_path: Path) -> None:
    _, page = render(tmp_path, coverage=COVERAGE)
    assert "coverage not recorded" not in page.text
    table = [e for e in page.elements if "coverage-table" in e.parents and e.tag == "tr"]
    assert len(table) == 3  # header + two faults
    assert page.by_class("cov-missed")[0].content == "missed"
    assert "latency 500 ms on client-1->server, downstream" in page.text
    assert "no operation crossed the link in its window" in page.text
    assert "Faults that hit nothing: #2 latency 500 ms on client-1->server, downstream" in (
        page.by_id("story").content)


def test_error_and_unknown_verdicts_render(tmp_path: Path) -> None:
    history = synthetic_history(ops=20)
    report = synthetic_report(history, verdict="error")
    report.update(contracts=[], error="RuntimeError: toxiproxy went away")
    folder = write_folder(tmp_path / "run" / "e", report, history)
    page = Page.read(pages.render_scenario(folder))
    assert page.by_id("verdict").content == "ERROR"
    assert "toxiproxy went away" in page.by_id("story").content


def test_run_index_puts_failures_first_and_links_every_scenario(tmp_path: Path) -> None:
    run = tmp_path / "run-1"
    for name, verdict in (("a-pass", "pass"), ("b-fail", "fail"), ("c-unknown", "unknown"),
                          ("d-error", "error")):
        history = synthetic_history(ops=20)
        write_folder(run / name, synthetic_report(history, name=name, verdict=verdict,
                                                  coverage=COVERAGE if name == "a-pass"
                                                  else None), history)
    index = Page.read(pages.render_path(run))
    rows = [e for e in index.elements if e.tag == "tr" and "data-verdict" in e.attrs]
    assert [r.attrs["data-verdict"] for r in rows] == ["fail", "error", "unknown", "pass"]
    hrefs = [e.attrs["href"] for e in index.by_tag("a")]
    assert hrefs == ["b-fail/index.html", "d-error/index.html", "c-unknown/index.html",
                     "a-pass/index.html"]
    assert all((run / h).is_file() for h in hrefs)  # render_path rendered every page
    assert "1/2 hit" in index.text and "not recorded" in index.text
    assert index.by_tag("script")[0].attrs["src"] == "assets/zchaos-report.js"


def test_a_run_of_many_scenarios_has_one_copy_of_the_script(tmp_path: Path) -> None:
    run = tmp_path / "run"
    history = synthetic_history(ops=20)
    for i in range(12):
        write_folder(run / f"s{i}", synthetic_report(history, name=f"s{i}"), history)
    pages.render_path(run)
    scripts = sorted(p.relative_to(run) for p in run.rglob("*.js"))
    assert scripts == [Path("assets/zchaos-report.js")]
    for i in range(12):
        html = (run / f"s{i}" / "index.html").read_text()
        assert html.count("<script") == 2 and "function" not in html.split("<style>")[0]


def test_ten_seconds_of_five_thousand_operations_stay_under_two_megabytes(tmp_path: Path) -> None:
    folder, page = render(tmp_path, ops=5000)
    size = (folder / "index.html").stat().st_size
    assert size < 2 * 1024 * 1024, size
    assert len(page.by_class("op", "rect")) == 5000


def test_render_path_rejects_a_folder_without_reports(tmp_path: Path) -> None:
    try:
        pages.render_path(tmp_path)
    except FileNotFoundError as exc:
        assert "no report.json" in str(exc)
    else:
        raise AssertionError("expected FileNotFoundError")


def test_a_broken_folder_gets_an_error_page_not_an_exception(tmp_path: Path,
                                                              monkeypatch) -> None:
    history = synthetic_history(ops=10)
    folder = write_folder(tmp_path / "run" / "x", synthetic_report(history), history)

    def boom(*_a, **_k):
        raise RuntimeError("template bug")

    monkeypatch.setattr(pages, "scenario_context", boom)
    pages.write_scenario_outputs(folder)
    assert "template bug" in (folder / "index.html").read_text()
    pages.write_scenario_outputs(tmp_path / "nowhere")  # no report.json: logged, not raised


def test_timeline_png_is_drawn_and_skipped_for_an_empty_history(tmp_path: Path) -> None:
    from harness.report import plots

    history = synthetic_history(ops=100)
    report = synthetic_report(history)
    assert plots.try_timeline(history, tmp_path / "t.png", report=report)
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"
    assert not plots.try_timeline([], tmp_path / "empty.png", report=report)
    assert not (tmp_path / "empty.png").exists()


def test_zchaos_report_open_opens_the_page(tmp_path: Path, monkeypatch, capsys) -> None:
    from harness import cli

    history = synthetic_history(ops=20)
    write_folder(tmp_path / "run" / "s", synthetic_report(history, name="s"), history)
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", opened.append)
    assert cli.main(["report", str(tmp_path / "run" / "s"), "--open"]) == 0
    page = tmp_path / "run" / "s" / "index.html"
    assert capsys.readouterr().out.strip() == str(page)
    assert opened == [page.resolve().as_uri()]
    assert (tmp_path / "run" / "index.html").is_file()  # its run's index too
    assert cli.main(["report", str(tmp_path / "missing")]) == 2
