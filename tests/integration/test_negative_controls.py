"""Negative controls: each contract must flag a deliberately broken implementation.

Each row swaps one role for a broken program under ``tests/negative/`` with
``--impl`` and runs a scenario whose outcome matches its ``expect`` with our
implementation. The run must exit 1 and name the contract as violated, in
the summary and in ``report.json``. (Controls that need no broken code, where
the Guide's own pattern is the broken one, are scenarios with ``expect:
{violated: [...]}`` and run with the suites.)
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

import pytest

from tests.integration.conftest import ROOT

NEGATIVE = ROOT / "tests" / "negative"
SCENARIOS = ROOT / "scenarios"

# (role replaced, broken program, scenario, contract that must be violated)
CONTROLS = [
    ("lazy_pirate.client", "broken_lazy_pirate_client.py",
     "lazy_pirate/lazy-pirate-reply-latency.yaml", "replies_match_requests"),
    ("lazy_pirate.client", "stubborn_lazy_pirate_client.py",
     "lazy_pirate/lazy-pirate-server-gone.yaml", "bounded_give_up"),
    ("binary_star.client", "binary_star_sticky_client.py",
     "binary_star/bstar-primary-killed.yaml", "failover_within"),
    ("binary_star.server", "binary_star_no_vote_server.py",
     "binary_star/bstar-peer-link-cut.yaml", "at_most_one_active"),
    ("titanic.service", "titanic_ack_before_disk.py",
     "titanic/titanic-kill-restart.yaml", "durable_acks"),
    ("paranoid_pirate.queue", "broken_ppp_queue.py",
     "paranoid_pirate/paranoid-pirate-slow-work.yaml", "every_request_answered"),
    ("majordomo.broker", "majordomo_immortal_worker_broker.py",
     "majordomo/majordomo-worker-killed.yaml", "every_request_answered"),
    ("majordomo.broker", "majordomo_immortal_worker_broker.py",
     "majordomo/majordomo-mmi.yaml", "mmi_reflects_workers"),
    ("majordomo.broker", "majordomo_misrouting_broker.py",
     "majordomo/majordomo-steady.yaml", "every_request_answered"),
    ("lbbroker.broker", "lbbroker_round_robin.py",
     "lbbroker/lbbroker-steady.yaml", "lru_dispatch"),
    ("peering.broker", "peering_cloud_first_broker.py",
     "peering/peering-steady.yaml", "local_first"),
    ("peering.broker", "peering_guide_capacity_broker.py",
     "peering/peering-state-partition.yaml", "stale_peer_routes"),
    ("pubsub.subscriber", "reordering_subscriber.py",
     "pubsub/pubsub-proxy-restart.yaml", "ordered_delivery"),
    ("pubsub.subscriber", "duplicating_subscriber.py",
     "pubsub/pubsub-proxy-restart.yaml", "ordered_delivery"),
    ("pubsub.subscriber", "slow_subscriber.py",
     "pubsub/pubsub-subscriber-paused.yaml", "bounded_loss"),
    ("pubsub.publisher", "blocking_publisher.py",
     "pubsub/pubsub-slow-subscriber.yaml", "delivery_latency"),
    ("pipeline.sink", "double_counting_sink.py",
     "pipeline/pipeline-steady.yaml", "tasks_exactly_once"),
    ("pipeline.worker", "deaf_worker.py",
     "pipeline/pipeline-steady.yaml", "kill_stops_workers"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("role", "program", "scenario", "contract"), CONTROLS,
                         ids=[c[1].removesuffix(".py") for c in CONTROLS])
def test_broken_implementation_is_flagged(cli, role: str, program: str, scenario: str,
                                          contract: str) -> None:
    res = cli("run", "--impl", f"{role}=python {NEGATIVE / program}", str(SCENARIOS / scenario))
    assert res.code == 1, res.stdout + res.stderr
    (report,) = res.reports().values()
    verdicts = {c["name"]: c["verdict"] for c in report["contracts"]}
    assert verdicts[contract] == "violated", verdicts
    assert report["verdict"] == "fail"
    assert f"{contract}=violated" in res.stdout
    assert report["impls"] == {role: f"python {NEGATIVE / program}"}
    # CI sees the violated contract as a failed testcase, with its violation as the text
    suite = ET.parse(res.run_root / report["scenario"] / "junit.xml").getroot()
    case = next(c for c in suite.iter("testcase") if c.get("name") == contract)
    failure = case.find("failure")
    assert failure is not None and failure.get("type") == "violated", ET.tostring(case)
    assert failure.text and "replay:" in failure.text
