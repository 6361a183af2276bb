"""A timeline picture per scenario: operations over time with fault windows.

Optional: needs matplotlib (the ``plot`` extra). A report without the
picture is still complete, so a missing matplotlib is silently skipped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def try_timeline(history: list[dict[str, Any]], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception:
        return False
    invokes = {e["op"]: e["t"] for e in history if e.get("type") == "invoke" and "op" in e}
    ok_pts = [(invokes[e["op"]], e["t"] - invokes[e["op"]]) for e in history
              if e.get("type") == "ok" and e.get("op") in invokes]
    fail_pts = [(invokes[e["op"]], e["t"] - invokes[e["op"]]) for e in history
                if e.get("type") == "fail" and e.get("op") in invokes]
    if not ok_pts and not fail_pts:
        return False
    fig, ax = plt.subplots(figsize=(9, 3.2), dpi=100)
    if ok_pts:
        ax.scatter([p[0] for p in ok_pts], [p[1] * 1000 for p in ok_pts], s=4, c="tab:green",
                   label="ok")
    if fail_pts:
        ax.scatter([p[0] for p in fail_pts], [p[1] * 1000 for p in fail_pts], s=10,
                   c="tab:red", marker="x", label="fail")
    open_at: dict[str, float] = {}
    for e in history:
        if e.get("type") != "fault":
            continue
        key = f"{e.get('fault')}:{e.get('target')}"
        if e.get("phase") == "apply":
            open_at[key] = e["t"]
            ax.axvline(e["t"], color="tab:orange", lw=0.8)
            ax.text(e["t"], ax.get_ylim()[1] if ax.has_data() else 0, e.get("fault", ""),
                    fontsize=7, rotation=90, va="top")
        elif e.get("phase") == "revert" and key in open_at:
            ax.axvspan(open_at.pop(key), e["t"], color="tab:orange", alpha=0.15)
    ax.set_xlabel("time since start (s)")
    ax.set_ylabel("latency (ms)")
    ax.set_yscale("log")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True
