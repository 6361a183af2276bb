"""Lays a :class:`~harness.report.scene.Scene` out as SVG shapes (pixels), for the templates.

Why SVG generated here rather than a charting library: the page must open
from ``file://`` with no network, stay small (a 10 s run of 5,000
operations under 2 MB) and draw fast, and a static picture must already be
complete before any script runs (CI artifact viewers, screenshots, tests
that read the markup). Plain shapes computed in Python and written by Jinja
templates give all of that, and the same geometry is unit-testable. The
shared script only adds interaction (hover, click, highlight, sort).

One x scale serves the lanes, the latency scatter and the throughput bars,
so a moment lines up vertically across all of them; lane names live in a
separate left column so a long run can scroll sideways under them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from harness.report.faults import FaultSpan
from harness.report.scene import Scene

LABEL_W = 200
PAD_L, PAD_R = 44, 24
FIT_W = 1000  # plot width when the run is short enough to fit
FIT_SPAN_S = 12.0  # runs up to this long fit FIT_W; longer ones scroll
CHAR_W = 6.2  # average glyph width at 11 px, for label placement
AXIS_H = 24
FAULT_ROW_H = 17
PROC_H = 28
TICK_ROW_H = 12
OP_ROW_H = 12
OP_H = 9
VIOL_ROW_H = 18
LANE_GAP = 8
LAT_H = 150
THR_H = 90
CHART_GAP = 34
MAX_TICK_KINDS = 4
CLIENT_COLOURS = ("#1f77b4", "#9467bd", "#17becf", "#8c564b", "#e377c2", "#7f7f7f",
                  "#bcbd22", "#393b79")
TICK_COLOURS = ("#4a6fa5", "#6b8e23", "#b8860b", "#708090", "#996699")


def num(value: float) -> str:
    """A coordinate with one decimal, trailing zero dropped (keeps the HTML small)."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


@dataclass
class Shape:
    tag: str
    attrs: dict[str, str]
    title: str = ""
    text: str = ""


@dataclass
class LabelRow:
    """A row name in the left column, level with its row in the plot."""

    y: float
    h: float
    text: str
    cls: str = "row"
    note: str = ""
    colour: str = ""


@dataclass
class OpRect:
    x: str
    y: str
    w: str
    cls: str
    index: int
    anchor: str


@dataclass
class Timeline:
    width: float
    height: float
    layers: dict[str, list[Shape]] = field(default_factory=dict)
    labels: list[LabelRow] = field(default_factory=list)
    op_rects: list[OpRect] = field(default_factory=list)
    op_h: int = OP_H

    def add(self, layer: str, shape: Shape) -> None:
        self.layers.setdefault(layer, []).append(shape)


LAYERS = ("grid", "bands", "alive", "ticks", "marks", "faults", "charts", "violations")


def nice_step(span: float, target: int = 10) -> float:
    """A 1-2-5 step giving about ``target`` ticks over ``span``."""
    if span <= 0:
        return 1.0
    raw = span / target
    power = 10 ** math.floor(math.log10(raw))
    for mult in (1, 2, 5, 10):
        if raw <= mult * power:
            return mult * power
    return 10 * power


def fmt_tick(value: float, step: float) -> str:
    decimals = max(0, -math.floor(math.log10(step))) if step < 1 else 0
    return f"{value:.{decimals}f}"


class XScale:
    def __init__(self, t_lo: float, t_hi: float) -> None:
        self.t_lo, self.t_hi = t_lo, max(t_hi, t_lo + 1e-3)
        span = self.t_hi - self.t_lo
        self.pxs = FIT_W / span if span <= FIT_SPAN_S else FIT_W / FIT_SPAN_S
        self.width = PAD_L + span * self.pxs + PAD_R

    def __call__(self, t: float) -> float:
        return PAD_L + (t - self.t_lo) * self.pxs


def client_colour(i: int) -> str:
    return CLIENT_COLOURS[i % len(CLIENT_COLOURS)]


def _fault_class(span: FaultSpan) -> str:
    if span.action == "partition":
        return "f-part"
    if span.action == "heal":
        return "f-heal"
    return "f-proc" if span.is_process else "f-net"


def _place_rows(spans: Sequence[tuple[float, float]]) -> list[int]:
    """Greedy rows so that no two (x0, x1) extents overlap within a row."""
    ends: list[float] = []
    rows = []
    for x0, x1 in spans:
        for r, end in enumerate(ends):
            if end + 6 <= x0:
                ends[r] = x1
                rows.append(r)
                break
        else:
            ends.append(x1)
            rows.append(len(ends) - 1)
    return rows


def fault_placement(scene: Scene, x: XScale) -> list[tuple[FaultSpan, int]]:
    """Faults in time order with their row: no two labels (or bars) overlap in a row."""
    order = sorted(scene.faults, key=lambda f: f.start)
    extents = []
    for f in order:
        x0 = x(f.start)
        x1 = x(f.end if f.end is not None else (f.start if f.instant else scene.t_hi))
        extents.append((x0, max(x1, x0 + 10 + CHAR_W * len(f.label))))
    return list(zip(order, _place_rows(extents), strict=True))


def _faults(tl: Timeline, scene: Scene, x: XScale, y0: float, bottom: float) -> None:
    placed = fault_placement(scene, x)
    rows = [row for _, row in placed]
    for f, row in placed:
        cls = _fault_class(f)
        y = y0 + row * FAULT_ROW_H
        x0 = x(f.start)
        end = f.end if f.end is not None else (None if f.instant else scene.t_hi)
        title = (f"fault #{f.index + 1}: {f.label}\napplied at {f.start:.3f} s"
                 + (f", reverted at {f.end:.3f} s" if f.end is not None else
                    "" if f.instant else ", never reverted"))
        if end is None:
            tl.add("faults", Shape("path", {"d": f"M{num(x0)} {num(y + 2)}l4 6-4 6-4-6z",
                                            "class": f"fmark {cls}"}, title))
            text_x = x0 + 7
        else:
            tl.add("faults", Shape("rect", {
                "x": num(x0), "y": num(y + 2), "width": num(max(2.0, x(end) - x0)),
                "height": str(FAULT_ROW_H - 4), "class": f"fbar {cls}", "rx": "2"}, title))
            text_x = x0 + 4
            tl.add("grid", Shape("line", {"x1": num(x(end)), "x2": num(x(end)), "y1": num(y0),
                                          "y2": num(bottom), "class": f"fline {cls}"}))
        tl.add("faults", Shape("text", {"x": num(text_x), "y": num(y + FAULT_ROW_H - 5),
                                        "class": "flabel"}, title, f.label))
        tl.add("grid", Shape("line", {"x1": num(x0), "x2": num(x0), "y1": num(y0),
                                      "y2": num(bottom), "class": f"fline {cls}"}))
    rows_used = (max(rows) + 1) if rows else 0
    if rows_used:
        tl.labels.append(LabelRow(y0, rows_used * FAULT_ROW_H, "faults (nemesis)", "lane"))


def fault_rows(scene: Scene, x: XScale) -> int:
    rows = [row for _, row in fault_placement(scene, x)]
    return (max(rows) + 1) if rows else 0


def _tick_path(times: Iterable[float], x: XScale, y: float, h: float) -> tuple[str, int]:
    """One path of 1-px ticks, one per pixel column that has events (bounded size)."""
    columns = sorted({round(x(t)) for t in times})
    return "".join(f"M{c} {num(y)}v{num(h)}" for c in columns), len(columns)


def _lane(tl: Timeline, scene: Scene, lane_i: int, x: XScale, y: float) -> float:
    lane = scene.lanes[lane_i]
    kinds = sorted(lane.ticks, key=lambda k: -len(k.times))
    shown, rest = kinds[:MAX_TICK_KINDS], kinds[MAX_TICK_KINDS:]
    tick_rows = len(shown) + (1 if rest else 0)
    height = PROC_H + tick_rows * TICK_ROW_H + lane.rows * OP_ROW_H + LANE_GAP
    lane_id = f"lane-{lane_i}"
    tl.add("bands", Shape("rect", {"x": "0", "y": num(y), "width": num(x.width),
                                   "height": num(height - LANE_GAP / 2),
                                   "class": "lanebg" + (" odd" if lane_i % 2 else ""),
                                   "id": lane_id, "data-node": lane.node}))
    tl.labels.append(LabelRow(y, PROC_H, lane.node, "lane", note=lane.role))
    full_h = height - LANE_GAP
    for band in lane.bands:
        x0, x1 = x(band.start), x(band.end)
        if band.kind.startswith("state-"):
            tl.add("bands", Shape("rect", {
                "x": num(x0), "y": num(y + 2), "width": num(max(1.0, x1 - x0)),
                "height": str(PROC_H - 4), "class": f"state {band.kind}"},
                f"{band.detail} from {band.start:.3f} s to {band.end:.3f} s"))
            if x1 - x0 > 6.8 * len(band.label) + 8:  # bold 9.5 px capitals
                tl.add("marks", Shape("text", {"x": num(x0 + 3), "y": num(y + PROC_H - 9),
                                               "class": "statelabel"}, "", band.label))
        else:
            tl.add("bands", Shape("rect", {
                "x": num(x0), "y": num(y), "width": num(max(1.0, x1 - x0)),
                "height": num(full_h), "class": f"band b-{band.kind}"},
                f"{band.detail}\n{band.start:.3f} \u2013 {band.end:.3f} s"))
    for band in lane.alive:
        x0, x1 = x(band.start), x(band.end)
        tl.add("alive", Shape("rect", {
            "x": num(x0), "y": num(y + PROC_H / 2 - 2), "width": num(max(1.0, x1 - x0)),
            "height": "4", "class": band.kind},
            f"{lane.node}: {band.label} {band.start:.3f} \u2013 {band.end:.3f} s"))
    cy = y + PROC_H / 2
    label_ends = [-1e9, -1e9]  # right end of the last label on the upper and lower line
    for mark in sorted(lane.marks, key=lambda m: m.t):
        mx = x(mark.t)
        title = f"{lane.node}: {mark.detail or mark.label} at {mark.t:.3f} s"
        if mark.kind == "start":
            d = f"M{num(mx)} {num(cy - 6)}l8 6-8 6z"
        elif mark.kind.startswith("exit"):
            d = f"M{num(mx - 5)} {num(cy - 5)}l10 10m0-10l-10 10"
        elif mark.kind.startswith("fault-"):
            d = f"M{num(mx - 5)} {num(y + 1)}h10l-5 7z"
        else:
            d = f"M{num(mx)} {num(cy - 7)}l5 7-5 7-5-7z"
        tl.add("marks", Shape("path", {"d": d, "class": f"mk mk-{mark.kind}"}, title))
        if mark.kind == "exit-bad" or mark.label.startswith("start #"):
            line = 0 if label_ends[0] < mx + 8 else 1  # the lower line when the upper is taken
            label_ends[line] = mx + 8 + CHAR_W * len(mark.label)
            tl.add("marks", Shape("text", {"x": num(mx + 8), "y": num(cy - 4 + line * 14),
                                           "class": f"mklabel mk-{mark.kind}"}, title,
                                  mark.label))
    ty = y + PROC_H
    for i, ticks in enumerate(shown):
        d, _ = _tick_path(ticks.times, x, ty + 1, TICK_ROW_H - 2)
        tl.add("ticks", Shape("path", {"d": d, "class": "ticks",
                                       "stroke": TICK_COLOURS[i % len(TICK_COLOURS)]},
                              f"{lane.node}: {len(ticks.times)} '{ticks.kind}' events"))
        tl.labels.append(LabelRow(ty, TICK_ROW_H, f"{ticks.kind} \u00d7{len(ticks.times)}", "sub"))
        ty += TICK_ROW_H
    if rest:
        times = [t for k in rest for t in k.times]
        d, _ = _tick_path(times, x, ty + 1, TICK_ROW_H - 2)
        names = ", ".join(f"{k.kind} \u00d7{len(k.times)}" for k in rest)
        tl.add("ticks", Shape("path", {"d": d, "class": "ticks", "stroke": "#777"},
                              f"{lane.node}: {names}"))
        tl.labels.append(LabelRow(ty, TICK_ROW_H, f"other ({len(rest)} types)", "sub"))
        ty += TICK_ROW_H
    if lane.rows:
        tl.labels.append(LabelRow(ty, lane.rows * OP_ROW_H, "operations", "sub"))
        retries, refused = [], []
        for op in lane.ops:
            oy = ty + op.row * OP_ROW_H + 1
            x0 = x(op.start)
            x1 = x(op.end if op.end is not None else scene.t_hi)
            cls = f"op {op.outcome}" + (" bad" if op.violated else "")
            tl.op_rects.append(OpRect(num(x0), num(oy), num(max(1.5, x1 - x0)), cls, op.index,
                                      f"op-{op.index}" if op.violated else ""))
            retries += [f"M{num(x(t))} {num(oy - 1)}v{OP_H + 2}" for t in op.retries]
            refused += [f"M{num(x(t))} {num(oy - 1)}v{OP_H + 2}" for t in op.refused]
        if retries:
            tl.add("marks", Shape("path", {"d": "".join(retries), "class": "retry"},
                                  f"{lane.node}: {len(retries)} resends (retries)"))
        if refused:
            tl.add("marks", Shape("path", {"d": "".join(refused), "class": "refused"},
                                  f"{lane.node}: {len(refused)} wrong replies dropped"))
    tl.add("grid", Shape("line", {"x1": "0", "x2": num(x.width), "y1": num(y + height - 2),
                                  "y2": num(y + height - 2), "class": "lanesep"}))
    return height


def violation_rows(scene: Scene) -> list[str]:
    """Contracts with located violations, one summary row each (first-violation order)."""
    located = sorted((v for v in scene.violations if v.t is not None), key=lambda v: v.t or 0)
    return list(dict.fromkeys(v.contract for v in located))


def _violations(tl: Timeline, scene: Scene, x: XScale, lane_y: dict[str, float],
                rows_y: float) -> None:
    """A red diamond per violation in its node's lane (the link target), and per contract
    one summary row at the top: every violation's moment and how many there were."""
    contracts = violation_rows(scene)
    for row, name in enumerate(contracts):
        ry = rows_y + row * VIOL_ROW_H
        mine = [v for v in scene.violations if v.contract == name and v.t is not None]
        d = "".join(f"M{num(x(v.t or 0))} {num(ry + 2)}l5 7-5 7-5-7z" for v in mine)
        tl.add("violations", Shape("path", {"d": d, "class": "vrow"},
                                   f"{name}: {len(mine)} violations located in time"))
        first = min(mine, key=lambda v: v.t or 0)
        label = f"{name} violated \u00d7{len(mine)} (first at {first.t:.3f} s)"
        text_w = CHAR_W * 1.05 * len(label)
        last_x = max(x(v.t or 0) for v in mine)
        lx = x(first.t or 0) - 10 - text_w  # before the first marker if it fits,
        if lx < PAD_L:
            lx = last_x + 10  # else after the last one,
            if lx + text_w > x.width - PAD_R:
                lx = x(first.t or 0) + 10  # else over them (the halo keeps it legible)
        tl.add("violations", Shape("text", {"x": num(lx), "y": num(ry + 13),
                                            "class": "vlabel"}, "", label))
    if contracts:
        tl.labels.append(LabelRow(rows_y, len(contracts) * VIOL_ROW_H, "contract violations",
                                  "lane", colour="#d62728"))
    for v in scene.violations:
        if v.t is None:
            continue
        node = next((n for n in v.nodes if n in lane_y), None)
        y = lane_y[node] if node is not None else rows_y
        vx = x(v.t)
        tl.add("violations", Shape("path", {
            "d": f"M{num(vx)} {num(y + 3)}l6 9-6 9-6-9z", "class": "vmark", "id": v.anchor,
            "data-ops": " ".join(str(i) for i in _op_indexes(scene, v.ops))},
            f"{v.contract} violated at {v.t:.3f} s: {v.why}"))


def _op_indexes(scene: Scene, ops: Sequence[str]) -> list[int]:
    wanted = set(ops)
    return [o.index for o in scene.ops if o.op in wanted]


def _axis(tl: Timeline, scene: Scene, x: XScale, bottom: float) -> None:
    step = nice_step(scene.t_hi - scene.t_lo, max(4, int((x.width - PAD_L - PAD_R) / 90)))
    t = math.ceil(scene.t_lo / step) * step
    while t <= scene.t_hi + 1e-9:
        gx = x(t)
        tl.add("grid", Shape("line", {"x1": num(gx), "x2": num(gx), "y1": str(AXIS_H - 4),
                                      "y2": num(bottom), "class": "grid"}))
        tl.add("grid", Shape("text", {"x": num(gx), "y": str(AXIS_H - 8), "class": "axis"},
                             "", fmt_tick(t, step) + (" s" if abs(t) < 1e-9 else "")))
        t += step
    if scene.workload_start is not None and scene.workload_start > scene.t_lo:
        x0, x1 = x(max(0.0, scene.t_lo)), x(scene.workload_start)
        tl.add("bands", Shape("rect", {"x": num(x0), "y": str(AXIS_H), "width": num(x1 - x0),
                                       "height": num(bottom - AXIS_H), "class": "setup"},
                              f"setup: run start to the first client operation "
                              f"({scene.workload_start:.3f} s)"))
    for m in scene.milestones:
        if m.label in ("workload-start", "workload-done", "end", "error", "interrupted"):
            mx = x(m.t)
            tl.add("grid", Shape("line", {"x1": num(mx), "x2": num(mx), "y1": str(AXIS_H - 4),
                                          "y2": num(bottom), "class": "milestone"},
                                 f"run {m.label} at {m.t:.3f} s {m.detail}".strip()))
    tl.labels.append(LabelRow(0, AXIS_H, "time since run start (s)", "axislabel"))


def latency_scale(values: Sequence[float], height: float) -> tuple[bool, float, float,
                                                                   list[float]]:
    """(log?, lo, hi, ticks) for latencies in ms: log when they span over 2 decades."""
    positive = [v for v in values if v > 0]
    if not positive:
        return False, 0.0, 1.0, [0.0, 1.0]
    lo, hi = min(positive), max(positive)
    if hi / lo > 100:
        lo_d, hi_d = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
        if hi_d == lo_d:
            hi_d += 1
        return True, 10.0 ** lo_d, 10.0 ** hi_d, [10.0 ** d for d in range(lo_d, hi_d + 1)]
    step = nice_step(hi, 4)
    top = math.ceil(hi / step) * step
    ticks = [i * step for i in range(round(top / step) + 1)]
    return False, 0.0, top, ticks


def fmt_ms(value: float) -> str:
    if value >= 100 or value == 0:
        return f"{value:.0f}"
    if value >= 1:
        return f"{value:.3g}"
    return f"{value:.2g}"


def _latency_chart(tl: Timeline, scene: Scene, x: XScale, y: float,
                   client_index: dict[str, int]) -> float:
    ops = [o for o in scene.ops if o.latency_ms is not None]
    tl.labels.append(LabelRow(y, LAT_H, "latency (ms)", "lane",
                              note="answered operations, by invoke time"))
    tl.add("charts", Shape("rect", {"x": num(PAD_L), "y": num(y), "width": num(
        x.width - PAD_L - PAD_R), "height": str(LAT_H), "class": "chartbg"}))
    if not ops:
        tl.add("charts", Shape("text", {"x": num(PAD_L + 8), "y": num(y + LAT_H / 2),
                                        "class": "empty"}, "", "no completed operation"))
    else:
        log, lo, hi, ticks = latency_scale([o.latency_ms or 0.0 for o in ops], LAT_H)

        def yv(v: float) -> float:
            if log:
                v = max(v, lo)
                frac = (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
            else:
                frac = v / hi if hi else 0.0
            return y + LAT_H - frac * (LAT_H - 4) - 2

        for tv in ticks:
            gy = yv(tv)
            tl.add("charts", Shape("line", {"x1": num(PAD_L), "x2": num(x.width - PAD_R),
                                            "y1": num(gy), "y2": num(gy), "class": "hgrid"}))
            tl.add("charts", Shape("text", {"x": num(PAD_L - 4), "y": num(gy + 3),
                                            "class": "axis small end"}, "", fmt_ms(tv)))
        paths: dict[str, list[str]] = {}
        for o in ops:
            key = "bad" if o.violated else str(client_index.get(o.client, 0))
            paths.setdefault(key, []).append(f"M{num(x(o.start))} {num(yv(o.latency_ms or 0))}h0")
        for key, segs in paths.items():
            colour = "#d62728" if key == "bad" else client_colour(int(key))
            tl.add("charts", Shape("path", {"d": "".join(segs), "class": "dots",
                                            "stroke": colour},
                                   "violating operations" if key == "bad" else ""))
        if log:
            tl.add("charts", Shape("text", {"x": num(x.width - PAD_R - 4), "y": num(y + 12),
                                            "class": "axis small end"}, "", "log scale"))
    gave = [o for o in scene.ops if o.outcome == "gave_up" and o.end is not None]
    if gave:
        d = "".join(f"M{num(x(o.end or 0) - 3)} {num(y + 2)}h6l-3 6z" for o in gave)
        tl.add("charts", Shape("path", {"d": d, "class": "gaveup"},
                               f"{len(gave)} operations given up (at the moment the client gave"
                               " up)"))
    return LAT_H


def _throughput_chart(tl: Timeline, scene: Scene, x: XScale, y: float) -> float:
    span = scene.t_hi - scene.t_lo
    width = max(nice_step(span, 100), 0.05)
    tl.labels.append(LabelRow(y, THR_H, "throughput (per s)", "lane",
                              note=f"answered / gave up, {width:g} s bins"))
    tl.add("charts", Shape("rect", {"x": num(PAD_L), "y": num(y), "width": num(
        x.width - PAD_L - PAD_R), "height": str(THR_H), "class": "chartbg"}))
    bins: dict[int, list[int]] = {}
    for o in scene.ops:
        if o.end is None:
            continue
        b = int((o.end - scene.t_lo) // width)
        slot = bins.setdefault(b, [0, 0])
        slot[0 if o.outcome == "ok" else 1] += 1
    if not bins:
        tl.add("charts", Shape("text", {"x": num(PAD_L + 8), "y": num(y + THR_H / 2),
                                        "class": "empty"}, "", "no completed operation"))
        return THR_H
    peak = max(sum(v) for v in bins.values()) / width
    step = nice_step(peak, 3)
    top = math.ceil(peak / step) * step or 1.0

    def yv(rate: float) -> float:
        return y + THR_H - rate / top * (THR_H - 4)

    for i in range(round(top / step) + 1):
        gy = yv(i * step)
        tl.add("charts", Shape("line", {"x1": num(PAD_L), "x2": num(x.width - PAD_R),
                                        "y1": num(gy), "y2": num(gy), "class": "hgrid"}))
        tl.add("charts", Shape("text", {"x": num(PAD_L - 4), "y": num(gy + 3),
                                        "class": "axis small end"}, "", f"{i * step:g}"))
    ok_d, gave_d = [], []
    for b, (ok, gave) in sorted(bins.items()):
        x0 = x(scene.t_lo + b * width)
        w = max(1.0, width * x.pxs - 0.5)
        if ok:
            ok_d.append(f"M{num(x0)} {num(yv(0))}V{num(yv(ok / width))}h{num(w)}V{num(yv(0))}z")
        if gave:
            base = ok / width
            gave_d.append(f"M{num(x0)} {num(yv(base))}V{num(yv(base + gave / width))}"
                          f"h{num(w)}V{num(yv(base))}z")
    tl.add("charts", Shape("path", {"d": "".join(ok_d), "class": "thr-ok"},
                           "operations answered per second"))
    if gave_d:
        tl.add("charts", Shape("path", {"d": "".join(gave_d), "class": "thr-gave"},
                               "operations given up per second"))
    return THR_H


def timeline(scene: Scene) -> Timeline:
    """The whole picture: axis, faults, one lane per node, latency and throughput."""
    x = XScale(scene.t_lo, scene.t_hi)
    client_index = {lane.node: i for i, lane in enumerate(scene.clients)}
    tl = Timeline(width=x.width, height=0)
    y = float(AXIS_H)
    frows = fault_rows(scene, x)
    fault_y = y
    y += frows * FAULT_ROW_H + (4 if frows else 0)
    vrows_y = y
    vrows = len(violation_rows(scene))
    y += vrows * VIOL_ROW_H + (4 if vrows else 0)
    lane_y: dict[str, float] = {}
    for i, lane in enumerate(scene.lanes):
        lane_y[lane.node] = y
        y += _lane(tl, scene, i, x, y)
    lanes_bottom = y
    _faults(tl, scene, x, fault_y, lanes_bottom)
    _violations(tl, scene, x, lane_y, vrows_y)
    y += CHART_GAP
    y += _latency_chart(tl, scene, x, y, client_index)
    y += CHART_GAP
    y += _throughput_chart(tl, scene, x, y)
    y += 24
    _axis(tl, scene, x, lanes_bottom)
    tl.add("charts", Shape("text", {"x": num(x.width / 2), "y": num(y - 6),
                                    "class": "axis mid"}, "", "time since run start (s)"))
    tl.height = y
    for lane in scene.clients:
        for row in tl.labels:
            if row.text == lane.node:
                row.colour = client_colour(client_index[lane.node])
    return tl


@dataclass
class Histogram:
    client: str
    colour: str
    width: int
    height: int
    bars: list[Shape]
    labels: list[Shape]
    count: int
    p50: float | None
    p99: float | None


def histograms(scene: Scene, width: int = 320, height: int = 130) -> list[Histogram]:
    """One latency histogram per client (log-spaced bins when latencies span decades)."""
    out = []
    for ci, lane in enumerate(scene.clients):
        values = sorted(o.latency_ms for o in lane.ops if o.latency_ms is not None)
        bars: list[Shape] = []
        labels: list[Shape] = []
        pad_l, pad_b, top = 8, 18, 10
        plot_w, plot_h = width - pad_l - 8, height - pad_b - top
        p50 = values[max(0, math.ceil(0.5 * len(values)) - 1)] if values else None
        p99 = values[max(0, math.ceil(0.99 * len(values)) - 1)] if values else None
        if values:
            lo, hi = max(values[0], 1e-3), max(values[-1], 1e-3)
            log = hi / lo > 20
            nbins = 30

            def pos(v: float, lo: float = lo, hi: float = hi, log: bool = log) -> float:
                if hi <= lo:
                    return 0.5
                if log:
                    return (math.log10(max(v, lo)) - math.log10(lo)) / (
                        math.log10(hi) - math.log10(lo))
                return (v - lo) / (hi - lo)

            counts = [0] * nbins
            for v in values:
                counts[min(nbins - 1, int(pos(v) * nbins))] += 1
            peak = max(counts)
            bw = plot_w / nbins
            for i, c in enumerate(counts):
                if not c:
                    continue
                h = c / peak * plot_h
                bars.append(Shape("rect", {"x": num(pad_l + i * bw), "y": num(top + plot_h - h),
                                           "width": num(max(1.0, bw - 1)), "height": num(h)},
                                  f"{c} operations"))
            for label, v in (("p50", p50), ("p99", p99)):
                if v is None:
                    continue
                lx = pad_l + pos(v) * plot_w
                labels.append(Shape("line", {"x1": num(lx), "x2": num(lx), "y1": str(top - 4),
                                             "y2": num(top + plot_h), "class": "pline"}))
                text = f"{label} {fmt_ms(v)} ms"
                right = lx + 2 + CHAR_W * 0.85 * len(text) > width - 4
                labels.append(Shape("text", {
                    "x": num(lx - 2 if right else lx + 2),
                    "y": str(top + 4 if label == "p50" else top + 14),
                    "class": "axis small" + (" end" if right else "")}, "", text))
            labels.append(Shape("text", {"x": num(pad_l), "y": num(height - 4),
                                         "class": "axis small"}, "", f"{fmt_ms(lo)} ms"))
            labels.append(Shape("text", {"x": num(width - 8), "y": num(height - 4),
                                         "class": "axis small end"}, "",
                                f"{fmt_ms(hi)} ms" + (" (log bins)" if log else "")))
        out.append(Histogram(lane.node, client_colour(ci), width, height, bars, labels,
                             len(values), p50, p99))
    return out
