"""One vocabulary for a toxic's stream, from the scenario file to Toxiproxy."""

from __future__ import annotations

from harness.scenario.explore_spec import ALL_STREAMS
from harness.scenario.model import STREAMS
from harness.toxiproxy.spec import TOXIPROXY_STREAMS


def test_stream_names_agree() -> None:
    assert tuple(STREAMS) == ALL_STREAMS, "explore draws exactly the values a fault may say"
    assert STREAMS["both"] == TOXIPROXY_STREAMS, "'both' is every Toxiproxy stream"
    assert {s for streams in STREAMS.values() for s in streams} == set(TOXIPROXY_STREAMS)
