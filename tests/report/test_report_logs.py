"""The log pane: node lines on the run clock, the harness's events woven in."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from harness.report import logs as logmod
from harness.report.logs import node_logs
from harness.report.scene import build_scene

T0 = 1_800_000_000.0  # wall time of run second 0 in these tests


def stamp(t: float) -> str:
    """``t`` run seconds as the node's logging would print it (local time)."""
    wall = dt.datetime.fromtimestamp(T0 + t)
    return wall.strftime("%Y-%m-%d %H:%M:%S,") + f"{wall.microsecond // 1000:03d}"


def history() -> list[dict]:
    return [
        {"t": 0.0, "node": "harness", "type": "run", "event": "start"},
        {"t": 0.01, "node": "harness", "type": "lifecycle", "target": "worker-1",
         "event": "start", "incarnation": 0},
        {"t": 2.0, "node": "harness", "type": "fault", "fault": "kill", "target": "worker-1",
         "phase": "apply"},
        {"t": 2.01, "node": "harness", "type": "lifecycle", "target": "worker-1",
         "event": "exit", "code": -9},
        {"t": 3.0, "node": "harness", "type": "fault", "fault": "start", "target": "worker-1",
         "phase": "apply"},
        {"t": 3.0, "node": "harness", "type": "lifecycle", "target": "worker-1",
         "event": "start", "incarnation": 1},
        {"t": 5.0, "node": "harness", "type": "run", "event": "end"},
    ]


def folder_with_log(tmp_path: Path, first_line_delay: float = 0.2) -> Path:
    folder = tmp_path / "scn"
    (folder / "logs").mkdir(parents=True)
    (folder / "traces").mkdir()
    lines = [
        "--- zchaos: start #1: python -m patterns.majordomo.worker",
        f"{stamp(0.01 + first_line_delay)} worker-1 INFO connected",
        f"{stamp(1.5)} worker-1 INFO handled 10",
        "Traceback-ish line with no stamp",
        f"{stamp(1.9)} worker-1 INFO handled 20",
        "--- zchaos: start #2: python -m patterns.majordomo.worker",
        f"{stamp(3.0 + first_line_delay)} worker-1 INFO connected again",
    ]
    (folder / "logs" / "worker-1.log").write_text("\n".join(lines) + "\n")
    trace = folder / "traces" / "harness.jsonl"
    trace.write_text("{}\n")
    os.utime(trace, (T0 + 5.0, T0 + 5.0))  # flushed with the last harness event (t=5.0)
    return folder


def texts(folder: Path) -> list[tuple[float | None, str]]:
    h = history()
    scene = build_scene({"nodes": {"worker-1": {"role": "majordomo.worker"}}}, h)
    (pane,) = node_logs(folder, {}, h, scene)
    return [(line.t, line.text) for line in pane.lines]


def test_exact_clock_weaves_the_kill_between_the_lines_around_it(tmp_path: Path) -> None:
    lines = texts(folder_with_log(tmp_path))
    words = [text for _, text in lines]
    kill = words.index("[zchaos] fault #1 applied: kill worker-1")
    assert "handled 20" in words[kill - 1]
    assert words[kill + 1] == "[zchaos] process ended: killed by SIGKILL"
    assert "start #2" in words[kill + 3]
    handled = next(t for t, text in lines if "handled 10" in text)
    assert abs(handled - 1.5) < 0.002
    bare = next(t for t, text in lines if text.startswith("Traceback"))
    assert bare == handled  # an unstamped line takes the time of the line before


def test_without_a_trustworthy_mtime_each_start_anchors_its_lines(tmp_path: Path) -> None:
    folder = folder_with_log(tmp_path)
    os.utime(folder / "traces" / "harness.jsonl", (T0 + 500, T0 + 500))  # a copied folder
    h = history()
    scene = build_scene({}, h)
    (pane,) = node_logs(folder, {}, h, scene)
    assert pane.clock == "approximate"
    times = {text: t for t, text in ((ln.t, ln.text) for ln in pane.lines)}
    assert abs(times[next(k for k in times if "handled 10" in k)] - (1.5 - 0.2)) < 0.002
    assert abs(times[next(k for k in times if "connected again" in k)] - 3.0) < 0.002


def test_report_clock_wins(tmp_path: Path) -> None:
    folder = folder_with_log(tmp_path)
    os.utime(folder / "traces" / "harness.jsonl", (T0 + 500, T0 + 500))
    h = history()
    (pane,) = node_logs(folder, {"clock": {"t0_unix": T0}}, h, build_scene({}, h))
    assert pane.clock == "exact"
    assert any(ln.t is not None and abs(ln.t - 1.5) < 0.002 for ln in pane.lines)


def test_long_logs_keep_the_lines_around_faults(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(logmod, "MAX_LINES", 80)
    monkeypatch.setattr(logmod, "HEAD_TAIL", 5)
    folder = tmp_path / "scn"
    (folder / "logs").mkdir(parents=True)
    lines = ["--- zchaos: start #1: w"] + [f"{stamp(i * 0.01)} w INFO tick {i}" for i in range(500)]
    (folder / "logs" / "worker-1.log").write_text("\n".join(lines))
    h = history()
    (pane,) = node_logs(folder, {"clock": {"t0_unix": T0}}, h, build_scene({}, h))
    kept = [ln.text for ln in pane.lines]
    assert any("tick 200 " in t + " " for t in kept)  # 2.00 s: the kill
    assert not any("tick 450 " in t + " " for t in kept)  # far from any fault
    assert any(ln.kind == "elided" and "lines not shown" in ln.text for ln in pane.lines)
    assert pane.total == 501


def test_nodes_without_a_log_still_get_their_harness_lines(tmp_path: Path) -> None:
    h = history()
    scene = build_scene({"nodes": {"worker-1": {"role": "x"}}}, h)
    (pane,) = node_logs(tmp_path, {}, h, scene)
    assert pane.file == "" and pane.clock == "none"
    assert "[zchaos] process started" in [ln.text for ln in pane.lines]
