"""The pages in a real browser: headless Chromium opens them from file://.

No console error, no request other than file://, and after the script ran:
the lanes are drawn, every violation link resolves and highlights its
operations, a log link opens its pane at the right line, the index sorts.
Screenshots of one negative control and one pass are kept in the CI log
folder (``$ZCHAOS_CI_LOGS``, default ``reports/ci-logs``) under ``browser/``.

Chromium is Debian's ``chromium`` package; ``.ci/browser-tier.sh`` installs
it and runs this file. Without it, these tests skip and say so.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.integration.conftest import ROOT
from tests.report.chromium_cdp import Chromium, find_chromium
from tests.report.conftest import RealRuns

CHROMIUM = find_chromium()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.xdist_group("report-real-runs"),  # one worker builds the real_runs fixture
    pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed (Debian "
                       "package `chromium`; .ci/browser-tier.sh installs it and runs this test)"),
]


def shots_dir() -> Path:
    return Path(os.environ.get("ZCHAOS_CI_LOGS") or ROOT / "reports" / "ci-logs") / "browser"


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM is not None
    with Chromium(CHROMIUM) as chromium:
        yield chromium


def open_clean(browser: Chromium, page: Path) -> None:
    browser.open(page.resolve().as_uri())
    assert browser.console_errors() == []
    requests = browser.requests()
    assert requests, "the page made no request at all?"
    assert [u for u in requests if not u.startswith("file://")] == []


def test_negative_control_page_in_the_browser(browser: Chromium, real_runs: RealRuns) -> None:
    open_clean(browser, real_runs.broken_page)
    state = browser.evaluate("""(() => {
      const lanes = [...document.querySelectorAll('#tl rect.lanebg')].map(r => r.dataset.node);
      const drawn = [...document.querySelectorAll('#tl rect.lanebg')]
          .every(r => r.getBBox().width > 100 && r.getBBox().height > 10);
      const links = [...document.querySelectorAll('a[href^="#"]')];
      const broken = links.filter(a => !document.getElementById(a.getAttribute('href').slice(1)))
          .map(a => a.getAttribute('href'));
      const bad = document.querySelectorAll('#ops rect.bad').length;
      return {lanes, drawn, broken, bad, links: links.length,
              ready: document.body.dataset.ready};
    })()""")
    assert state["ready"] == "1"
    assert state["lanes"] == ["server", "client"] and state["drawn"]
    assert state["broken"] == [] and state["links"] > 5 and state["bad"] >= 1
    shots = shots_dir()
    browser.screenshot(shots / "negative-control-lazy-pirate-reply-latency.png")
    # a violation link highlights the operations it names and opens their events
    clicked = browser.evaluate("""(() => {
      const a = document.querySelector('a.vlink');
      a.click();
      const mark = document.getElementById(a.dataset.viol);
      const ops = (mark.dataset.ops || '').split(' ').filter(Boolean);
      const lit = ops.filter(i => document.querySelector(`#ops rect[data-i="${i}"]`)
          .classList.contains('hl'));
      const detail = document.getElementById('opdetail');
      return {ops: ops.length, lit: lit.length, detail: detail.classList.contains('on'),
              text: detail.textContent};
    })()""")
    assert clicked["ops"] >= 1 and clicked["lit"] == clicked["ops"] and clicked["detail"]
    assert "invoke" in clicked["text"] and "ok" in clicked["text"]
    browser.screenshot(shots / "negative-control-violation-clicked.png", full_page=False)
    # a log link shows the node's pane around the violation
    logged = browser.evaluate("""(() => {
      const a = [...document.querySelectorAll('a.loglink')]
          .find(a => a.textContent.startsWith('log: client.log'));
      a.click();
      const line = document.getElementById(a.getAttribute('href').slice(1));
      const pane = line.closest('.logpane');
      return {visible: !pane.classList.contains('hidden'), target:
              line.classList.contains('target'), lit: pane.querySelectorAll('.ll.hl').length,
              shown: [...document.querySelectorAll('.logpane')]
                  .filter(p => !p.classList.contains('hidden')).length};
    })()""")
    assert logged == {**logged, "visible": True, "target": True, "shown": 1}
    assert logged["lit"] >= 1
    assert browser.console_errors() == []


def test_pass_page_and_run_index_in_the_browser(browser: Chromium,
                                                real_runs: RealRuns) -> None:
    open_clean(browser, real_runs.pass_page)
    lanes = browser.evaluate("[...document.querySelectorAll('#tl rect.lanebg')]"
                             ".map(r => r.dataset.node)")
    assert lanes == ["server", "client"]
    assert browser.evaluate("document.querySelectorAll('#ops rect.op').length") == 80
    browser.screenshot(shots_dir() / "pass-lazy-pirate-server-restart.png")
    hover = browser.evaluate("""(() => {
      const r = document.querySelector('#ops rect.op');
      const b = r.getBoundingClientRect();
      r.dispatchEvent(new MouseEvent('mousemove', {bubbles: true, clientX: b.x + 1,
                                                    clientY: b.y + 1}));
      return document.getElementById('tip').textContent;
    })()""")
    assert hover.startswith("client:") and "answered" in hover

    open_clean(browser, real_runs.good / "index.html")
    rows = browser.evaluate("[...document.querySelectorAll('#runs tbody tr')]"
                            ".map(r => r.querySelector('a').textContent)")
    assert sorted(rows) == ["hello-server-killed", "lazy-pirate-server-restart"]
    resorted = browser.evaluate("""(() => {
      const th = document.querySelectorAll('#runs th')[0];
      th.click(); th.click();  // by name, descending
      return [...document.querySelectorAll('#runs tbody tr')]
          .map(r => r.querySelector('a').textContent);
    })()""")
    assert resorted == ["lazy-pirate-server-restart", "hello-server-killed"]
    browser.screenshot(shots_dir() / "run-index.png", full_page=False)
    open_clean(browser, real_runs.broken / "index.html")
    verdicts = browser.evaluate("[...document.querySelectorAll('#runs tbody tr')]"
                                ".map(r => r.dataset.verdict)")
    assert verdicts == ["fail"]
    (shots_dir() / "pages.json").write_text(json.dumps({
        "negative_control": str(real_runs.broken_page), "pass": str(real_runs.pass_page)}))
