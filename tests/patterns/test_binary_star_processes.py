"""Binary Star role CLIs as processes: exit codes, traces, failover, the negative control."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.patterns.procs import REPO, Procs, free_port, help_text, wait_for

NO_VOTE = REPO / "tests" / "negative" / "binary_star_no_vote_server.py"
HB = 60


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Procs]:
    with Procs(tmp_path) as p:
        yield p


def server_argv(module_or_path: str | Path, role: str, front: int, pub: int,
                peer: int) -> list[str]:
    head = ["-m", module_or_path] if isinstance(module_or_path, str) else [str(module_or_path)]
    return [*head, f"--{role}", "--bind", f"tcp://127.0.0.1:{front}",
            "--bind", f"tcp://127.0.0.1:{pub}", "--connect", f"tcp://127.0.0.1:{peer}",
            "--heartbeat-ms", str(HB)]


SERVER = "patterns.binary_star.server"
CLIENT = "patterns.binary_star.client"


def test_help_documents_the_options() -> None:
    for module, flags in ((SERVER, ["--bind", "--connect", "--primary", "--backup",
                                    "--heartbeat-ms"]),
                          (CLIENT, ["--connect", "--timeout-ms", "--settle-ms", "--retries",
                                    "--requests", "--rate"])):
        out = help_text(module)
        for flag in flags:
            assert flag in out


def test_failover_across_processes_and_clean_stop(procs: Procs) -> None:
    pf, ps, bf, bs = (free_port() for _ in range(4))
    primary = procs.spawn("primary", server_argv(SERVER, "primary", pf, ps, bs))
    backup = procs.spawn("backup", server_argv(SERVER, "backup", bf, bs, ps))
    wait_for(lambda: "PASSIVE" in procs.states("backup"), what="backup PASSIVE")
    client = procs.spawn("client", ["-m", CLIENT, "--connect", f"tcp://127.0.0.1:{pf}",
                                    "--connect", f"tcp://127.0.0.1:{bf}", "--timeout-ms", "200",
                                    "--settle-ms", str(2 * HB + 40), "--requests", "0",
                                    "--rate", "50", "--retries", "50"])
    wait_for(lambda: len(procs.events("client", "ok")) >= 5, what="first replies")
    os.killpg(primary.pid, signal.SIGKILL)
    killed_at = time.monotonic() - procs.t0
    primary.wait(timeout=5)
    wait_for(lambda: any(e["t"] > killed_at and e["server"].endswith(str(bf))
                         for e in procs.events("client", "ok")), what="reply from the backup")
    assert "ACTIVE" in procs.states("backup")
    for p in (client, backup):
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=10) == 0
    oks = procs.events("client", "ok")
    assert all(e["reply"] == e["op"] for e in oks)
    assert not procs.events(kind="fatal")


def test_two_primaries_is_fatal_with_exit_3(procs: Procs) -> None:
    """Whichever hears the other first exits 3; the survivor may never hear a "1" again."""
    af, aps, bf, bps = (free_port() for _ in range(4))
    a = procs.spawn("a", server_argv(SERVER, "primary", af, aps, bps))
    b = procs.spawn("b", server_argv(SERVER, "primary", bf, bps, aps))
    wait_for(lambda: a.poll() is not None or b.poll() is not None, what="a fatal exit")
    assert 3 in (a.poll(), b.poll())
    reasons = [e["reason"] for e in procs.events(kind="fatal")]
    assert reasons and all("two primaries" in r for r in reasons)


def _active_primary_with_unreachable_backup(procs: Procs, backup_impl: str | Path) -> None:
    """Primary made ACTIVE by a client vote; then a backup that cannot hear it starts
    (its peer link is cut) while the primary hears the backup."""
    pf, ps, bf, bs, dead = (free_port() for _ in range(5))
    procs.spawn("primary", server_argv(SERVER, "primary", pf, ps, bs))
    procs.spawn("client", ["-m", CLIENT, "--connect", f"tcp://127.0.0.1:{pf}",
                           "--connect", f"tcp://127.0.0.1:{pf}", "--timeout-ms", "100",
                           "--settle-ms", "0", "--requests", "0", "--rate", "50"])
    wait_for(lambda: "ACTIVE" in procs.states("primary"), what="primary ACTIVE")
    procs.spawn("backup", server_argv(backup_impl, "backup", bf, bs, dead))
    wait_for(lambda: bool(procs.states("backup")), what="backup started")


def test_backup_that_cannot_hear_the_primary_never_serves(procs: Procs) -> None:
    _active_primary_with_unreachable_backup(procs, SERVER)
    end = time.monotonic() + 10 * HB / 1000
    wait_for(lambda: time.monotonic() > end, what="ten heartbeats")
    assert procs.states("backup") == ["BACKUP"]
    assert procs.states("primary")[-1] == "ACTIVE"
    assert not procs.events(kind="fatal")


def test_no_vote_control_goes_active_next_to_the_primary(procs: Procs) -> None:
    _active_primary_with_unreachable_backup(procs, NO_VOTE)
    wait_for(lambda: "ACTIVE" in procs.states("backup"), what="the broken backup ACTIVE")
    # the primary, still hearing the backup, then detects dual active and exits
    wait_for(lambda: bool(procs.events("primary", "fatal")), what="primary fatal")


def test_frozen_primary_exits_alone_on_resume(procs: Procs) -> None:
    """SIGSTOP past the failover timeout: clients vote the backup in; on SIGCONT the old
    primary listens before it speaks, sees the backup ACTIVE, exits 3; the backup survives."""
    pf, ps, bf, bs = (free_port() for _ in range(4))
    primary = procs.spawn("primary", server_argv(SERVER, "primary", pf, ps, bs))
    backup = procs.spawn("backup", server_argv(SERVER, "backup", bf, bs, ps))
    wait_for(lambda: "PASSIVE" in procs.states("backup"), what="backup PASSIVE")
    procs.spawn("client", ["-m", CLIENT, "--connect", f"tcp://127.0.0.1:{pf}",
                           "--connect", f"tcp://127.0.0.1:{bf}", "--timeout-ms", "200",
                           "--settle-ms", str(2 * HB + 40), "--requests", "0",
                           "--rate", "50", "--retries", "50"])
    wait_for(lambda: len(procs.events("client", "ok")) >= 3, what="first replies")
    os.killpg(primary.pid, signal.SIGSTOP)
    wait_for(lambda: "ACTIVE" in procs.states("backup"), what="backup voted ACTIVE")
    os.killpg(primary.pid, signal.SIGCONT)
    assert primary.wait(timeout=10) == 3
    assert backup.poll() is None
    assert procs.states("backup")[-1] == "ACTIVE"
    seen = len(procs.events("client", "ok"))
    wait_for(lambda: len(procs.events("client", "ok")) >= seen + 5, what="service goes on")
    assert not procs.events("backup", "fatal")
