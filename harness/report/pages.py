"""The HTML reports: one page per scenario, one index per run, rendered with Jinja2.

Layout on disk (a run folder is self-contained and opens from ``file://``):

    reports/<run-id>/index.html              every scenario of the run, one table
    reports/<run-id>/assets/zchaos-report.js the one shared script (hover, click, sort)
    reports/<run-id>/<scenario>/index.html   the scenario's page (+ timeline.png)

Each page inlines its CSS and its SVG, so it reads correctly even copied
alone; only interaction needs the shared script, which is written once per
run folder however many scenarios it has. Nothing is fetched from the
network (no CDN, no web fonts).

Pages are rendered from ``report.json`` + ``history.jsonl`` + ``logs/`` +
``scenario.yaml`` of a folder, so ``zchaos report DIR`` can give any earlier
run new pages. Rendering never raises into a run: :func:`write_scenario_outputs`
turns a rendering bug into a small page that says so.
"""

from __future__ import annotations

import json
import logging
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from harness.history import load_history
from harness.report.coverage import coverage_view
from harness.report.faults import scheduled_from_report, scheduled_from_scenario
from harness.report.logs import NodeLog, node_logs
from harness.report.scene import Scene, ViolationRef, build_scene
from harness.report.story import expected_violated, fault_context, headline, where_when
from harness.report.svg import LABEL_W, LAYERS, histograms, timeline

log = logging.getLogger(__name__)

PAGE = "index.html"
ASSET_DIR = "assets"
SCRIPT = "zchaos-report.js"
VERDICT_RANK = {"fail": 0, "error": 1, "unknown": 2, "pass": 3}
TRIVIAL_FIELDS = ("t", "node", "type", "op")


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["secs"] = lambda t: f"{t:.3f} s" if _number(t) is not None else "\u2014"
    env.filters["ms"] = lambda v: f"{v:.1f} ms" if _number(v) is not None else "\u2014"
    return env


_ENV: jinja2.Environment | None = None


def env() -> jinja2.Environment:
    global _ENV
    if _ENV is None:
        _ENV = _env()
    return _ENV


def write_assets(run_root: Path) -> Path:
    """Write the shared script into ``run_root/assets`` (once; rewritten only if changed)."""
    target = run_root / ASSET_DIR / SCRIPT
    text = resources.files("harness.report").joinpath("assets", SCRIPT).read_text("utf-8")
    if not target.is_file() or target.read_text("utf-8") != text:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, "utf-8")
    return target


# -- the scenario page -------------------------------------------------------------------

def endpoint_nodes(report: Mapping[str, Any]) -> dict[str, str]:
    """Proxy address a client was handed -> the node behind it (``ok`` events' ``server``)."""
    owners: dict[str, str] = {}
    proxies = report.get("proxies")
    for link, proxy in (proxies.items() if isinstance(proxies, Mapping) else ()):
        _, sep, node = str(link).partition("->")
        listen = proxy.get("listen") if isinstance(proxy, Mapping) else None
        if sep and isinstance(listen, str):
            owners[listen] = node.partition(":")[0]
            owners[f"tcp://{listen}"] = owners[listen]
    return owners


def _detail(event: Mapping[str, Any], op: str | None, owners: Mapping[str, str]) -> str:
    """An event's fields beyond t/node/type/op, dropping what just repeats the op id."""
    parts = []
    for key, value in event.items():
        if key in TRIVIAL_FIELDS:
            continue
        if key in ("body", "reply", "expect") and value == op:
            continue
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        if key == "server" and isinstance(value, str) and value in owners:
            text += f" ({owners[value]})"
        parts.append(f"{key}={text}")
    return " ".join(parts)[:300]


def ops_payload(scene: Scene, report: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Compact per-operation data for the script: hover summary and click-through events.

    Repeated text is written once in ``s`` (node names, event types, field strings,
    outcomes) and referred to by index. ``ops[i]`` = [op id, client, invoke t, end t or
    null, outcome, attempts, violated 0/1, events [[t, node, type, fields]...]], every
    name an index into ``s``; ``why[i]`` lists the violations that name op ``i``. The
    script (assets/zchaos-report.js) reads exactly this shape.
    """
    owners = endpoint_nodes(report or {})
    why: dict[int, list[str]] = {}
    index = {o.op: o.index for o in scene.ops}
    for v in scene.violations:
        for op in v.ops:
            if op in index:
                why.setdefault(index[op], []).append(f"{v.contract}: {v.why}")
    strings: list[str] = []
    known: dict[str, int] = {}

    def ix(value: Any) -> int:
        key = str(value)
        if key not in known:
            known[key] = len(strings)
            strings.append(key)
        return known[key]

    ops = []
    for o in scene.ops:
        events = [[round(e["t"], 4), ix(e.get("node")), ix(e.get("type")),
                   ix(_detail(e, o.op, owners))] for e in o.events]
        ops.append([o.op, ix(o.client), round(o.start, 4),
                    None if o.end is None else round(o.end, 4), ix(o.outcome), o.attempts,
                    1 if o.violated else 0, events])
    return {"s": strings, "ops": ops, "why": {str(k): v[:5] for k, v in why.items()}}


@dataclass
class ViolationLink:
    ref: ViolationRef
    where: str
    logs: list[tuple[str, str]]  # (label, href)
    ops: list[tuple[str, str]]  # (op id, href)


def _violation_links(scene: Scene, logs: Sequence[NodeLog]) -> dict[int, list[ViolationLink]]:
    by_node = {n.node: n for n in logs}
    out: dict[int, list[ViolationLink]] = {}
    op_index = {o.op: o.index for o in scene.ops}
    for v in scene.violations:
        nodes = list(v.nodes)
        if v.t is not None:
            for f in scene.faults:
                if f.active_at(v.t, scene.t_hi) or (f.instant and 0 <= v.t - f.start <= 5):
                    nodes += [n for n in f.nodes if n not in nodes]
        links = []
        for node in nodes:
            nl = by_node.get(node)
            if nl is None or not nl.lines:
                continue
            i = nl.line_before(v.t) if v.t is not None else 0
            label = f"{node}.log" + (f" @ {v.t:.2f} s" if v.t is not None else "")
            links.append((label, "#" + nl.anchor(i)))
        ops = [(op, f"#op-{op_index[op]}") for op in v.ops if op in op_index]
        out.setdefault(v.contract_index, []).append(
            ViolationLink(v, where_when(scene, v), links, ops))
    return out


def _contract_rule(name: str) -> str:
    try:
        from harness.checkers import REGISTRY, describe

        rule = describe(name) if name in REGISTRY else ""
        return rule.replace("``", "")
    except Exception:
        return ""


def _commands(report: Mapping[str, Any], folder: Path) -> tuple[str, str]:
    """(replay command, equivalent ``zchaos run`` command) to reproduce the run."""
    replay = str(report.get("replay") or f"zchaos replay {folder}")
    parts = ["zchaos", "run"]
    if report.get("seed") is not None:
        parts += ["--seed", str(report["seed"])]
    if report.get("runtime") and report.get("runtime") != "local":
        parts += ["--runtime", str(report["runtime"])]
    impls = report.get("impls")
    if isinstance(impls, Mapping):
        for role, cmd in impls.items():
            parts += ["--impl", f"{role}={cmd}"]
    parts.append(str(report.get("source") or (folder / "scenario.yaml")))
    return replay, shlex.join(parts)


def _figures(figures: Any) -> list[tuple[str, str]]:
    if not isinstance(figures, Mapping):
        return []
    rows = []
    for key, value in figures.items():
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        rows.append((str(key), text if len(text) <= 240 else text[:237] + "…"))
    return rows


TIMING_KEYS = ("prepare_s", "overhead_s", "setup_s", "workload_start_s", "teardown_s", "wall_s")
OPS_KEYS = ("invoked", "ok", "failed", "unanswered", "retries", "duplicates")
LATENCY_KEYS = ("p50_ms", "p90_ms", "p99_ms", "max_ms")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def _numbers(source: Mapping[str, Any], keys: Sequence[str]) -> dict[str, float | None]:
    """Just the numeric figures the page shows; anything else reads as missing."""
    return {key: _number(source.get(key)) for key in keys}


def scenario_context(folder: Path, report: Mapping[str, Any],
                     history: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Everything the scenario template needs (public for tests)."""
    scheduled = scheduled_from_scenario(folder / "scenario.yaml")
    if scheduled is None:
        scheduled = scheduled_from_report(report)
    scene = build_scene(report, history, scheduled)
    logs = node_logs(folder, report, history, scene)
    tl = timeline(scene)
    replay, run_cmd = _commands(report, folder)
    contracts = []
    links = _violation_links(scene, logs)
    for ci, c in enumerate(report.get("contracts") or []):
        if not isinstance(c, Mapping):
            continue
        name = str(c.get("name", "?"))
        contracts.append({
            "index": ci, "name": name, "verdict": str(c.get("verdict", "?")),
            "rule": _contract_rule(name), "message": str(c.get("message") or ""),
            "figures": _figures(c.get("figures")),
            "count": c.get("violation_count", len(c.get("violations") or [])),
            "violations": links.get(ci, []),
            "expected": "violated" if name in expected_violated(report) else "ok",
        })
    ops = _mapping(report.get("operations"))
    run_root = folder.parent
    impls = report.get("impls")
    meta = {
        "description": str(report.get("description") or ""),
        "seed": report.get("seed"),
        "pattern": str(report.get("pattern") or ""),
        "runtime": str(report.get("runtime") or ""),
        "impls": dict(impls) if isinstance(impls, Mapping) else {},
        "error": report.get("error"),
    }
    return {
        "r": meta,
        "title": str(report.get("scenario") or folder.name),
        "verdict": str(report.get("verdict") or "?"),
        "expected": str(report.get("expected") or "?"),
        "story": headline(report, scene),
        "replay": replay,
        "run_cmd": run_cmd,
        "timing": _numbers(_mapping(report.get("timing")), TIMING_KEYS),
        "ops": _numbers(ops, OPS_KEYS),
        "latency": _numbers(_mapping(ops.get("latency")), LATENCY_KEYS),
        "scene": scene,
        "tl": tl,
        "layers": [(name, tl.layers.get(name, [])) for name in LAYERS if name != "violations"],
        "label_w": LABEL_W,
        "violation_layer": tl.layers.get("violations", []),
        "histograms": histograms(scene),
        "contracts": contracts,
        "coverage": coverage_view(report),
        "logs": logs,
        "faults": [(f, fault_context(scene, f.start)) for f in scene.faults],
        "payload": ops_payload(scene, report),
        "script": f"../{ASSET_DIR}/{SCRIPT}",
        "index_href": f"../{PAGE}",
        "run_id": str(report.get("run_id") or run_root.name),
        "other_types": scene.other_types,
    }


def render_scenario(folder: Path, report: Mapping[str, Any] | None = None,
                    history: Sequence[dict[str, Any]] | None = None) -> Path:
    """Write ``folder/index.html`` (and the run's shared script); returns the page."""
    folder = Path(folder)
    if report is None:
        report = json.loads((folder / "report.json").read_text("utf-8"))
    if history is None:
        history = load_history(folder / "history.jsonl")
    html = env().get_template("scenario.html.j2").render(
        **scenario_context(folder, report, history))
    write_assets(folder.parent)
    page = folder / PAGE
    page.write_text(html, "utf-8")
    return page


def _error_page(folder: Path, error: str) -> None:
    html = env().get_template("error.html.j2").render(title=folder.name, error=error)
    (folder / PAGE).write_text(html, "utf-8")


def write_scenario_outputs(folder: Path, report: Mapping[str, Any] | None = None,
                           history: Sequence[dict[str, Any]] | None = None) -> None:
    """The HTML page and ``timeline.png`` of one scenario folder; never raises.

    This is the one call ``writer.write_reports`` makes, after junit.xml and
    summary.md and just before report.json (written last, so a report.json
    without ``interrupted`` means every other file is there).
    """
    from harness.report import plots

    folder = Path(folder)
    try:
        if report is None:
            report = json.loads((folder / "report.json").read_text("utf-8"))
        if history is None:
            history = load_history(folder / "history.jsonl")
    except (OSError, ValueError) as exc:
        log.warning("no HTML report for %s: %s", folder, exc)
        return
    try:
        plots.try_timeline(history, folder / "timeline.png", report=report, folder=folder)
    except Exception as exc:  # a picture is optional; the run must not fail on it
        log.warning("timeline.png for %s failed: %s", folder, exc)
    try:
        render_scenario(folder, report, history)
    except Exception as exc:
        log.exception("HTML report for %s failed", folder)
        try:
            _error_page(folder, f"{type(exc).__name__}: {exc}")
        except Exception:
            pass


# -- the run index ---------------------------------------------------------------------

def _index_row(folder: Path, report: Mapping[str, Any], rel: str | None = None
               ) -> dict[str, Any]:
    ops = _mapping(report.get("operations"))
    lat = _mapping(ops.get("latency"))
    timing = _mapping(report.get("timing"))
    cov = coverage_view(report)
    verdict = str(report.get("verdict") or "?")
    wanted = expected_violated(report)
    return {
        "name": str(report.get("scenario") or folder.name)
        + (f" {folder.name}" if rel and rel != folder.name else ""),  # a repeat: "name r02"
        "href": f"{rel or folder.name}/{PAGE}",
        "verdict": verdict,
        "rank": VERDICT_RANK.get(verdict, 1),
        "expected": str(report.get("expected") or "?"),
        "contracts": [
            {"name": str(c.get("name")), "verdict": str(c.get("verdict")),
             "expected": "violated" if c.get("name") in wanted else "ok"}
            for c in report.get("contracts") or [] if isinstance(c, Mapping)
        ],
        "ok": _number(ops.get("ok")) or 0,
        "gave_up": _number(ops.get("failed")) or 0,
        "open": _number(ops.get("unanswered")) or 0,
        "p50": _number(lat.get("p50_ms")),
        "p99": _number(lat.get("p99_ms")),
        "wall": _number(timing.get("wall_s")),
        "coverage": cov.summary,
        "coverage_ok": cov.all_hit,
        "coverage_recorded": cov.recorded,
        "error": report.get("error"),
    }


def run_folders(run_root: Path) -> list[Path]:
    """Scenario folders of a run, in run order when index.json gives it, else by name."""
    found = sorted(p.parent for pattern in ("*/report.json", "*/r[0-9]*/report.json")
                   for p in run_root.glob(pattern))  # rNN: the repeats of --repeat K
    order: list[str] = []
    try:
        index = json.loads((run_root / "index.json").read_text("utf-8"))
        order = [_rel(run_root, Path(str(s.get("report", ""))))
                 for s in index.get("scenarios", [])]
    except (OSError, ValueError, AttributeError):
        pass
    rank = {name: i for i, name in enumerate(order)}
    return sorted(found, key=lambda p: (rank.get(_rel(run_root, p), len(rank)),
                                        _rel(run_root, p)))


def _rel(run_root: Path, folder: Path) -> str:
    """``name`` or ``name/rNN``: a report folder as seen from its run folder."""
    parts = folder.parts
    if len(parts) >= 2 and parts[-1][:1] == "r" and parts[-1][1:].isdigit():
        return f"{parts[-2]}/{parts[-1]}"
    return folder.name


def _repeats(run_root: Path) -> list[dict[str, Any]]:
    """index.json's "repeats" (``--repeat K``), with links relative to the run folder."""
    try:
        index = json.loads((run_root / "index.json").read_text("utf-8"))
        entries = list(index.get("repeats") or [])
    except (OSError, ValueError, AttributeError, TypeError):
        return []
    for entry in entries:
        for d in entry.get("differed") or []:
            d["href"] = f"{_rel(run_root, Path(str(d.get('report', ''))))}/{PAGE}"
    return entries


def render_run_index(run_root: Path) -> Path:
    """Write ``run_root/index.html``: every scenario, failures first, each linking its page."""
    run_root = Path(run_root)
    rows = []
    for i, folder in enumerate(run_folders(run_root)):
        try:
            report = json.loads((folder / "report.json").read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(report, Mapping):
            continue
        row = _index_row(folder, report, _rel(run_root, folder))
        row["order"] = i
        rows.append(row)
    rows.sort(key=lambda r: (r["rank"], r["order"]))
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["verdict"]] = counts.get(row["verdict"], 0) + 1
    html = env().get_template("index.html.j2").render(
        run_id=run_root.name, rows=rows, counts=counts, script=f"{ASSET_DIR}/{SCRIPT}",
        repeats=_repeats(run_root))
    write_assets(run_root)
    page = run_root / PAGE
    page.write_text(html, "utf-8")
    return page


def write_run_index_html(run_root: Path) -> None:
    """:func:`render_run_index` for the CLI after a run: a failure is logged, never raised."""
    try:
        render_run_index(run_root)
    except Exception:
        log.exception("run index for %s failed", run_root)


def render_path(path: Path) -> Path:
    """Re-render a scenario folder (and its run's index) or every scenario of a run folder.

    Returns the page to open: the scenario page, or the run index.
    """
    path = Path(path)
    if (path / "report.json").is_file():
        write_scenario_outputs(path)
        if any(path.parent.glob("*/report.json")):
            render_run_index(path.parent)
        return path / PAGE
    folders = run_folders(path)
    if not folders:
        raise FileNotFoundError(f"{path}: no report.json here or in its subfolders")
    for folder in folders:
        write_scenario_outputs(folder)
    return render_run_index(path)
