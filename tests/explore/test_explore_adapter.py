"""The adapter's reading of a run: coverage, startup failures and the search's figures."""

from __future__ import annotations

from harness.explore.adapter import informative, read_coverage, target_figures
from harness.scenario import load_text

SCENARIO = load_text("""
name: cov
pattern: lazy_pirate
duration: 6s
nodes:
  server: {role: lazy_pirate.server}
  client: {role: lazy_pirate.client, connect: [server], requests: 0, rate: 10}
faults:
  - {at: 1s, kill: server, for: 1s}
  - {at: 3s, latency: {link: client->server, latency: 100}, for: 1s}
  - {at: 5s, pause: server, for: 500ms}
contracts: [replies_match_requests]
""", "cov.yaml")


def ev(t: float, **fields):
    return {"t": t, "node": fields.pop("node", "harness"), **fields}


HISTORY = [
    ev(0.0, type="lifecycle", target="server", event="start"),
    ev(0.0, type="lifecycle", target="client", event="start"),
    ev(0.9, node="client", type="invoke", op="client:1", body="client:1"),
    ev(1.0, type="fault", fault="kill", target="server", phase="apply"),
    ev(1.01, type="lifecycle", target="server", event="exit", code=-9),
    ev(1.5, node="client", type="retry", op="client:1", attempt=2),
    ev(2.0, type="lifecycle", target="server", event="start"),
    ev(2.0, type="fault", fault="kill", target="server", phase="revert"),
    ev(2.1, node="client", type="ok", op="client:1", reply="client:1"),
    ev(3.0, type="fault", fault="latency", target="client->server", phase="apply"),
    # no client work during the latency: the client was idle
    ev(4.0, type="fault", fault="latency", target="client->server", phase="revert"),
    ev(4.9, type="lifecycle", target="server", event="exit", code=0),
    ev(5.0, type="fault", fault="pause", target="server", phase="apply"),
    ev(5.5, type="fault", fault="pause", target="server", phase="revert"),
]


def test_coverage_is_the_reports() -> None:
    report = {"coverage": {"faults": [{"index": 0, "hit": False}], "uncovered": [0]}}
    coverage, source = read_coverage(report, HISTORY, SCENARIO)
    assert source == "report" and coverage == [{"index": 0, "hit": False}]
    assert read_coverage({}, HISTORY, SCENARIO) == ([], "none")


def test_a_run_is_informative_when_some_fault_hit() -> None:
    hit, idle = {"index": 0, "hit": True}, {"index": 1, "hit": False}
    assert informative("fail", [hit, idle])
    assert not informative("pass", [idle])
    assert informative("unknown", [hit])  # one contract undecided; the run still tested
    assert not informative("error", [])


def test_target_figures_come_from_the_checkers_and_the_operations() -> None:
    report = {"contracts": [
        {"name": "at_most_one_active", "figures": {"active_intervals": {
            "primary": [[0.5, 3.0]], "backup": [[2.2, 4.0], [5.0, 6.0]]}}},
        {"name": "failover_within", "figures": {"max_s": 0.8}},
    ]}
    operations = {"failed": 2, "unanswered": 1, "retries": 7, "latency": {"max_ms": 640.0}}
    figures = target_figures(report, operations)
    assert figures == {"two_active_s": 0.8, "failed_ops": 3.0, "worst_latency_ms": 640.0,
                       "retries": 7.0, "failover_s": 0.8}
    assert target_figures({}, {}) == {"two_active_s": 0.0, "failed_ops": 0.0,
                                      "worst_latency_ms": 0.0, "retries": 0.0,
                                      "failover_s": 0.0}


PAIR = load_text("""
name: pair
pattern: binary_star
duration: 6s
nodes:
  primary: {role: binary_star.server, connect: [backup], primary: true}
  backup: {role: binary_star.server, connect: [primary], backup: true}
  client: {role: binary_star.client, connect: [primary, backup], requests: 0, rate: 10}
faults:
  - {at: 1s, disconnect: {link: client->backup}, for: 1s}
  - {at: 3s, disconnect: {link: client->primary}, for: 1s}
contracts: [replies_match_requests]
""", "pair.yaml")


def test_a_node_dead_before_the_first_fault_makes_the_run_an_error() -> None:
    from harness.explore.adapter import startup_failure

    history = [ev(0.0, type="lifecycle", target="server", event="start"),
               ev(0.2, type="lifecycle", target="server", event="exit", code=1),
               ev(1.0, type="fault", fault="kill", target="server", phase="apply")]
    assert "server exited with status 1" in (startup_failure(history) or "")
    later = [history[0], history[2],
             ev(1.01, type="lifecycle", target="server", event="exit", code=-9)]
    assert startup_failure(later) is None
