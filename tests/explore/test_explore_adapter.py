"""The adapter's reading of a run: provisional coverage and the search's figures."""

from __future__ import annotations

from harness.explore.adapter import informative, provisional_coverage, read_coverage, target_figures
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


def test_provisional_coverage_says_what_each_fault_hit() -> None:
    kill, latency, pause = provisional_coverage(HISTORY, SCENARIO)
    assert kill["hit"] and kill["alive"] and kill["ops_in_flight"] == 1
    assert (kill["at"], kill["until"]) == (1.0, 2.0)
    assert latency["alive"] and not latency["hit"]
    assert "no client work" in latency["why"]
    assert not pause["alive"] and not pause["hit"]  # the server had exited by then
    assert informative("fail", [kill, latency, pause])
    assert not informative("pass", [latency, pause])
    assert informative("unknown", [kill])  # one contract undecided; the run still tested
    assert not informative("error", [])


def test_report_coverage_wins_over_the_provisional_one() -> None:
    report = {"coverage": {"faults": [{"index": 0, "hit": False}], "uncovered": [0]}}
    coverage, source = read_coverage(report, HISTORY, SCENARIO)
    assert source == "report" and coverage == [{"index": 0, "hit": False}]
    coverage, source = read_coverage({}, HISTORY, SCENARIO)
    assert source == "provisional" and len(coverage) == 3


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


def test_a_network_fault_on_a_link_nobody_uses_hit_nothing() -> None:
    report = {"proxies": {"client->primary": {"listen": "127.0.0.1:4001"},
                          "client->backup": {"listen": "127.0.0.1:4002"},
                          "primary->backup": {"listen": "127.0.0.1:4003"},
                          "backup->primary": {"listen": "127.0.0.1:4004"}}}
    history = [ev(0.0, type="lifecycle", target=n, event="start")
               for n in ("primary", "backup", "client")]
    for i, t in enumerate([1.2, 1.5, 3.2], start=1):
        op = f"client:{i}"
        history.append(ev(t, node="client", type="invoke", op=op, body=op))
        history.append(ev(t + 0.01, node="client", type="ok", op=op, reply=op,
                          server="tcp://127.0.0.1:4001"))
    history += [ev(1.0, type="fault", fault="disconnect", target="client->backup",
                   phase="apply"),
                ev(2.0, type="fault", fault="disconnect", target="client->backup",
                   phase="revert"),
                ev(3.0, type="fault", fault="disconnect", target="client->primary",
                   phase="apply"),
                ev(4.0, type="fault", fault="disconnect", target="client->primary",
                   phase="revert")]
    history.sort(key=lambda e: e["t"])
    to_backup, to_primary = provisional_coverage(history, PAIR, report)
    assert not to_backup["hit"] and to_backup["ops_started"] == 0
    assert to_primary["hit"] and to_primary["ops_started"] == 1


def test_a_link_between_untraced_nodes_counts_every_op() -> None:
    scenario = load_text("""
name: broker
pattern: majordomo
duration: 6s
nodes:
  broker: {role: majordomo.broker}
  worker: {role: majordomo.worker, connect: [broker], service: echo}
  client: {role: majordomo.client, connect: [broker], service: echo}
faults:
  - {at: 1s, latency: {link: worker->broker, latency: 100}, for: 1s}
contracts: [replies_match_requests]
""", "broker.yaml")
    history = [ev(0.0, type="lifecycle", target=n, event="start")
               for n in ("broker", "worker", "client")]
    history += [ev(1.2, node="client", type="invoke", op="client:1", body="client:1"),
                ev(1.0, type="fault", fault="latency", target="worker->broker", phase="apply"),
                ev(2.0, type="fault", fault="latency", target="worker->broker",
                   phase="revert")]
    history.sort(key=lambda e: e["t"])
    # the worker traces no `handled`: its link cannot be judged, so the op counts
    (item,) = provisional_coverage(history, scenario, {})
    assert item["hit"] and item["ops_started"] == 1


def test_a_node_dead_before_the_first_fault_makes_the_run_an_error() -> None:
    from harness.explore.adapter import startup_failure

    history = [ev(0.0, type="lifecycle", target="server", event="start"),
               ev(0.2, type="lifecycle", target="server", event="exit", code=1),
               ev(1.0, type="fault", fault="kill", target="server", phase="apply")]
    assert "server exited with status 1" in (startup_failure(history) or "")
    later = [history[0], history[2],
             ev(1.01, type="lifecycle", target="server", event="exit", code=-9)]
    assert startup_failure(later) is None
