"""Turning report data into text people read: values, events, violations, table cells.

Shared by summary.md, junit.xml and the console: one place decides how an
event or a violation is said, so the three never disagree. Three rules:

- no Python reprs and no ``None``: values are formatted (``-`` for nothing,
  ``yes``/``no``, ``1.23``, ``a, b``);
- node names, not proxy endpoints: any ``tcp://host:port`` that a proxy
  owns is replaced by the node behind it;
- a Markdown cell is one line with ``|`` escaped, whatever a fault target or
  a message holds (``client-1 | broker`` is a partition's sides).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

ENDPOINT = re.compile(r"tcp://[^\s,;'\"|)\]}]+")
MAX_TEXT = 120


def nodes_for_endpoints(text: str, owner: Mapping[str, str]) -> str:
    """Replace every proxy endpoint in ``text`` by the node bound behind it."""
    if not owner:
        return text
    return ENDPOINT.sub(lambda m: owner.get(m.group(0), m.group(0)), text)


def value(v: Any) -> str:
    """A value for people: ``-`` for nothing, short floats, lists and mappings spelled out."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    if isinstance(v, Mapping):
        return ", ".join(f"{k} {value(x)}" for k, x in v.items()) or "-"
    if isinstance(v, list | tuple):
        return ", ".join(value(x) for x in v) or "-"
    text = str(v)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def cell(v: Any, owner: Mapping[str, str] | None = None) -> str:
    """One Markdown table cell: a single line, ``|`` escaped."""
    text = value(v) if not isinstance(v, str) else v
    text = nodes_for_endpoints(text, owner or {})
    text = " ".join(text.split())  # newlines and runs of blanks
    return text.replace("\\", "\\\\").replace("|", "\\|") or " "


def table(header: list[str], rows: list[list[Any]], owner: Mapping[str, str] | None = None
          ) -> list[str]:
    """A GitHub-flavoured Markdown table, every cell escaped."""
    lines = ["| " + " | ".join(cell(h) for h in header) + " |",
             "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c, owner) for c in row) + " |" for row in rows]
    return lines


def _quoted(v: Any) -> str:
    text = value(v)
    return f"'{text}'"


def event_sentence(e: Mapping[str, Any], owner: Mapping[str, str] | None = None) -> str:
    """``at 3.512 s client-1 accepted reply 'client-1:16' for client-1:17 from server``."""
    owner = owner or {}
    node = e.get("node", "?")
    kind = e.get("type", "?")
    op = e.get("op")
    t = e.get("t")
    when = f"at {t:.3f} s " if isinstance(t, int | float) else ""
    if kind == "invoke":
        what = f"{node} sent {op}"
        if "expect" in e:
            what += f" (expecting {_quoted(e['expect'])})"
    elif kind == "ok":
        what = f"{node} accepted reply {_quoted(e.get('reply'))} for {op}"
        server = e.get("server")
        if isinstance(server, str):
            what += f" from {owner.get(server, server)}"
    elif kind in ("fail", "gave_up"):
        what = f"{node} gave up on {op}"
        if e.get("reason"):
            what += f" ({value(e['reason'])})"
    elif kind == "retry":
        what = f"{node} resent {op}" + (f" (attempt {e['attempt']})" if "attempt" in e else "")
    elif kind == "refused":
        what = f"{node} refused reply {_quoted(e.get('reply'))} for {op}"
    elif kind == "handled":
        what = f"{node} executed {op}"
    elif kind == "ack":
        what = f"{node} got {op} acknowledged as {value(e.get('uuid'))}"
    elif kind == "state":
        what = f"{node} became {value(e.get('state'))}"
    elif kind == "fault":
        what = f"harness: {e.get('fault')} {value(e.get('target'))} {e.get('phase', 'apply')}"
    elif kind == "lifecycle":
        what = f"{value(e.get('target'))} {e.get('event')}"
        if "code" in e:
            what += f" (status {e['code']})"
    else:
        extras = [f"{k} {value(v)}" for k, v in e.items()
                  if k not in ("t", "node", "type") and not isinstance(v, dict | list)]
        what = f"{node} {kind}" + (f" ({', '.join(extras)})" if extras else "")
    return nodes_for_endpoints(when + what, owner)


def violation_sentence(v: Mapping[str, Any], owner: Mapping[str, str] | None = None,
                       max_events: int = 4) -> str:
    """A violation as one readable sentence: why, then the events that show it."""
    owner = owner or {}
    why = nodes_for_endpoints(str(v.get("why") or "violation"), owner).rstrip(".")
    events = [e for e in v.get("events") or [] if isinstance(e, Mapping)]
    shown = [event_sentence(e, owner) for e in events[:max_events]]
    more = f" (+{len(events) - max_events} more events)" if len(events) > max_events else ""
    return why + (": " + "; ".join(shown) + more if shown else "") + "."
