"""``timeline.png``: the HTML timeline as one picture, for places HTML can't go (a PR comment).

It draws the same :class:`~harness.report.scene.Scene` as the HTML page, so it
has the same lanes: faults at the top with their full target, one lane per
node (process running, starts, exits with code, kills, pauses, Binary Star
states, network faults and partitions on the lanes they cut), each client's
operations as bars coloured by outcome with violating ones in red, and the
latency of answered operations below on the same time axis. The title says
the verdict. Axes stay readable: time from the run's start (the setup stall
shaded, not hidden), latency in plain milliseconds (log scale only when
latencies span more than two decades), the legend outside the plot.

Optional: needs matplotlib (the ``plot`` extra). A report without the
picture is still complete, so a missing matplotlib is silently skipped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.report.scene import Scene, build_scene

OUTCOME_COLOURS = {"ok": "#2e9e44", "gave_up": "#e69f00", "open": "#9e9e9e"}
BAD = "#d62728"
STATE_COLOURS = {"PRIMARY": "#9ecae1", "BACKUP": "#d9d9d9", "ACTIVE": "#31a354",
                 "PASSIVE": "#c7e9c0"}
FAULT_COLOURS = {"proc": "#c0392b", "net": "#e67e22", "part": "#8e44ad", "heal": "#2e7d32"}
CLIENT_COLOURS = ("#1f77b4", "#9467bd", "#17becf", "#8c564b", "#e377c2", "#7f7f7f")
MAX_OP_ROWS = 6


def _fault_kind(action: str, is_process: bool) -> str:
    if action == "partition":
        return "part"
    if action == "heal":
        return "heal"
    return "proc" if is_process else "net"


def _title(report: Mapping[str, Any], name: str) -> tuple[str, str]:
    verdict = str(report.get("verdict") or "?").upper()
    expected = str(report.get("expected") or "?")
    contracts = [c for c in report.get("contracts") or [] if isinstance(c, Mapping)]
    got = ", ".join(f"{c.get('name')} {c.get('verdict')}" for c in contracts)
    return f"{name}: {verdict} (expected {expected})", got


def draw(scene: Scene, report: Mapping[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    from harness.report.faults import FaultSpan
    span = scene.t_hi - scene.t_lo
    char = span * 0.0068  # width of one label character, in seconds on this figure

    def extent(f: FaultSpan) -> float:
        end = f.end if f.end is not None else (f.start if f.instant else scene.t_hi)
        return max(end, f.start + char * (len(f.label) + 3))

    fault_rows: list[list[FaultSpan]] = []
    for f in sorted(scene.faults, key=lambda f: f.start):
        row = next((r for r in fault_rows if extent(r[-1]) < f.start), None)
        if row is None:
            fault_rows.append([f])
        else:
            row.append(f)

    # Lane geometry, top to bottom, in "row" units (y grows downward, inverted at the end).
    y = 0.0
    fault_y = []
    for _ in fault_rows:
        fault_y.append(y)
        y += 1.0
    y += 0.4 if fault_rows else 0.0
    lane_rows: list[tuple[Any, float, float, int]] = []  # (lane, proc y, height, op rows)
    for lane in scene.lanes:
        op_rows = min(lane.rows, MAX_OP_ROWS)
        height = 1.0 + op_rows * 0.5 + (0.45 if lane.ticks else 0.0) + 0.35
        lane_rows.append((lane, y, height, op_rows))
        y += height
    total = max(y, 1.0)

    fig_h = min(14.0, 2.2 + total * 0.32 + 2.2)
    fig, (ax, lat) = plt.subplots(
        2, 1, figsize=(13, fig_h), dpi=100, sharex=True,
        gridspec_kw={"height_ratios": [max(total * 0.32, 1.5), 2.0], "hspace": 0.08})
    name = str(report.get("scenario") or path.parent.name)
    title, got = _title(report, name)
    verdict = str(report.get("verdict") or "")
    colour = {"pass": "#1a7f37", "fail": "#cf222e", "unknown": "#9a6700",
              "error": "#8250df"}.get(verdict, "black")
    fig.suptitle(title, fontsize=13, fontweight="bold", color=colour, x=0.01, ha="left")
    fig.text(0.01, 1 - 0.42 / fig_h, got, fontsize=9, ha="left", va="top", color="#444")

    if scene.workload_start is not None and scene.workload_start > 0:
        for a in (ax, lat):
            a.axvspan(max(0.0, scene.t_lo), scene.workload_start, color="#e6e9ee", zorder=0)
        ax.text(max(0.0, scene.t_lo), -0.15, " setup", fontsize=7, color="#666", va="bottom")

    for row_y, row in zip(fault_y, fault_rows, strict=True):
        for f in row:
            kind = _fault_kind(f.action, f.is_process)
            c = FAULT_COLOURS[kind]
            if f.end is None and f.instant:
                ax.plot([f.start], [row_y + 0.5], marker="v", color=c, markersize=7, zorder=4)
            else:
                end = f.end if f.end is not None else scene.t_hi
                ax.broken_barh([(f.start, max(end - f.start, 1e-3))], (row_y + 0.15, 0.7),
                               facecolors=c, alpha=0.3, zorder=3)
            ax.text(f.start + (scene.t_hi - scene.t_lo) * 0.006, row_y + 0.5, f.label,
                    fontsize=8, va="center", zorder=5)
            for t in (f.start, f.end):
                if t is not None:
                    ax.axvline(t, color=c, lw=0.8, ls="--", alpha=0.7, zorder=1)
                    lat.axvline(t, color=c, lw=0.8, ls="--", alpha=0.7, zorder=1)

    yticks: list[float] = [y + 0.5 for y in fault_y[:1]]
    ylabels: list[str] = ["faults"] if fault_rows else []
    for i, (lane, ly, height, op_rows) in enumerate(lane_rows):
        if i % 2:
            ax.axhspan(ly - 0.05, ly + height - 0.1, color="#f6f8fa", zorder=0)
        yticks.append(ly + 0.5)
        ylabels.append(lane.node if not lane.role else f"{lane.node}\n{lane.role}")
        for band in lane.bands:
            if band.kind.startswith("state-"):
                ax.broken_barh([(band.start, band.end - band.start)], (ly + 0.15, 0.7),
                               facecolors=STATE_COLOURS.get(band.label, "#cccccc"), zorder=2)
                if (band.end - band.start) > (scene.t_hi - scene.t_lo) * 0.06:
                    ax.text(band.start, ly + 0.3, " " + band.label, fontsize=6.5,
                            va="center", fontweight="bold", zorder=6)
            else:
                c = {"partition": "#8e44ad", "net": "#e67e22", "paused": "#555555",
                     "violation": BAD}.get(band.kind, "#888888")
                ax.broken_barh([(band.start, band.end - band.start)], (ly, height - 0.35),
                               facecolors=c, alpha=0.16, zorder=1,
                               hatch="//" if band.kind == "paused" else None)
        for band in lane.alive:
            ax.broken_barh([(band.start, band.end - band.start)], (ly + 0.42, 0.16),
                           facecolors="#6e7f91" if band.kind == "alive" else "#b8c2cc",
                           zorder=3)
        for mark in lane.marks:
            if mark.kind == "start":
                ax.plot([mark.t], [ly + 0.5], marker=">", color="#2e9e44", markersize=6,
                        zorder=5)
            elif mark.kind.startswith("exit"):
                bad = mark.kind == "exit-bad"
                ax.plot([mark.t], [ly + 0.5], marker="x", color=BAD if bad else "#57606a",
                        markersize=8 if bad else 6, mew=2 if bad else 1.2, zorder=5)
                if bad:
                    ax.text(mark.t, ly + 0.12, " " + mark.label, fontsize=7, color=BAD,
                            va="top", zorder=5)
            elif mark.kind.startswith("fault-"):
                ax.plot([mark.t], [ly + 0.1], marker="v", color="#c0392b", markersize=6,
                        zorder=5)
            else:
                ax.plot([mark.t], [ly + 0.5], marker="D", color=BAD, markersize=5, zorder=5)
        oy = ly + 1.0
        if lane.ticks:
            times = [t for k in lane.ticks for t in k.times]
            ax.vlines(times, oy + 0.05, oy + 0.35, color="#4a6fa5", lw=0.5, zorder=3)
            oy += 0.45
        if op_rows:
            by_colour: dict[str, list[tuple[float, float]]] = {}
            for o in lane.ops:
                end = o.end if o.end is not None else scene.t_hi
                c = BAD if o.violated else OUTCOME_COLOURS[o.outcome]
                row = min(o.row, op_rows - 1)
                by_colour.setdefault(f"{c}|{row}", []).append(
                    (o.start, max(end - o.start, (scene.t_hi - scene.t_lo) * 0.0008)))
            for key, bars in by_colour.items():
                c, row = key.split("|")
                ax.broken_barh(bars, (oy + int(row) * 0.5 + 0.06, 0.38), facecolors=c,
                               zorder=4 if c == BAD else 3)
            retries = [t for o in lane.ops for t in o.retries]
            if retries:
                ax.vlines(retries, oy, oy + op_rows * 0.5, color="#1d232a", lw=0.6, zorder=5)
    labelled: set[str] = set()
    for v in sorted(scene.violations, key=lambda v: (v.t is None, v.t or 0.0)):
        lane_y = next((ly for lane, ly, _, _ in lane_rows if lane.node in v.nodes), None)
        if v.t is None or lane_y is None:
            continue
        ax.plot([v.t], [lane_y + 0.05], marker="D", color=BAD, markersize=6,
                markeredgecolor="white", zorder=6)
        if v.contract not in labelled:
            labelled.add(v.contract)
            count = sum(1 for w in scene.violations if w.contract == v.contract)
            text = f"{v.contract} violated \u00d7{count} (first at {v.t:.3f} s) "
            right = v.t + char * len(text) > scene.t_hi
            ax.text(v.t, lane_y - 0.02, text if right else " " + text, fontsize=8,
                    color=BAD, fontweight="bold", va="bottom", ha="right" if right else "left",
                    zorder=7, bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none",
                                    "pad": 0.5})
    ax.set_ylim(total, -0.2)
    ax.set_yticks(yticks)
    ax.set_yticklabels(ylabels, fontsize=8)
    ax.tick_params(axis="y", length=0)
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)
    legend = [Patch(color=OUTCOME_COLOURS["ok"], label="answered"),
              Patch(color=OUTCOME_COLOURS["gave_up"], label="gave up"),
              Patch(color=OUTCOME_COLOURS["open"], label="never answered"),
              Patch(color=BAD, label="violates a contract"),
              Patch(color="#e67e22", alpha=0.35, label="network fault"),
              Patch(color="#8e44ad", alpha=0.35, label="partition")]
    ax.legend(handles=legend, loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8,
              frameon=False)

    client_colour = {lane.node: CLIENT_COLOURS[i % len(CLIENT_COLOURS)]
                     for i, lane in enumerate(scene.clients)}
    answered = [o for o in scene.ops if o.latency_ms is not None]
    values = [o.latency_ms or 0.0 for o in answered]
    for node, c in client_colour.items():
        pts = [o for o in answered if o.client == node and not o.violated]
        if pts:
            lat.scatter([o.start for o in pts], [o.latency_ms for o in pts], s=6, color=c,
                        label=node, zorder=3)
    bad = [o for o in answered if o.violated]
    if bad:
        lat.scatter([o.start for o in bad], [o.latency_ms for o in bad], s=14, color=BAD,
                    label="violating", zorder=4)
    gave = [o for o in scene.ops if o.outcome == "gave_up" and o.end is not None]
    if values:
        positive = [v for v in values if v > 0]
        if positive and max(positive) / min(positive) > 100:
            lat.set_yscale("log")
            lat.yaxis.set_major_locator(LogLocator(base=10))
            lat.yaxis.set_minor_formatter(NullFormatter())
        lat.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
        top = max(values)
        if gave:
            lat.scatter([o.end for o in gave], [top] * len(gave), marker="v", s=24,
                        color=OUTCOME_COLOURS["gave_up"], label="gave up (at that time)",
                        zorder=4, clip_on=False)
    else:
        lat.text(0.5, 0.5, "no answered operation", transform=lat.transAxes, ha="center",
                 color="#666")
        lat.set_yticks([])
    lat.set_ylabel("latency (ms)", fontsize=9)
    lat.set_xlabel("time since run start (s)", fontsize=9)
    lat.set_xlim(scene.t_lo, scene.t_hi)
    lat.grid(axis="y", color="#eeeeee")
    for spine in ("top", "right"):
        lat.spines[spine].set_visible(False)
    if lat.get_legend_handles_labels()[0]:
        lat.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8, frameon=False)
    fig.subplots_adjust(left=0.13, right=0.86, top=1 - 0.75 / fig_h, bottom=0.5 / fig_h + 0.03)
    fig.savefig(path)
    plt.close(fig)


def try_timeline(history: Sequence[dict[str, Any]], path: Path,
                 report: Mapping[str, Any] | None = None, folder: Path | None = None) -> bool:
    """Draw ``timeline.png``; False (and no file) when matplotlib is missing or nothing ran."""
    try:
        import matplotlib  # noqa: F401
    except Exception:
        return False
    if not history:
        return False
    from harness.report.faults import scheduled_from_report, scheduled_from_scenario

    report = report or {}
    scheduled = None
    if folder is not None:
        scheduled = scheduled_from_scenario(Path(folder) / "scenario.yaml")
    if scheduled is None:
        scheduled = scheduled_from_report(report)
    scene = build_scene(report, history, scheduled)
    draw(scene, report, Path(path))
    return True
