"""Toxics by name: the registry the API consults when a toxic is created."""

from __future__ import annotations

from harness.toxiproxy.toxics.bandwidth import BandwidthToxic
from harness.toxiproxy.toxics.base import Toxic
from harness.toxiproxy.toxics.latency import LatencyToxic
from harness.toxiproxy.toxics.limit_data import LimitDataToxic
from harness.toxiproxy.toxics.reset_peer import ResetPeerToxic
from harness.toxiproxy.toxics.slicer import SlicerToxic
from harness.toxiproxy.toxics.slow_close import SlowCloseToxic
from harness.toxiproxy.toxics.timeout import TimeoutToxic

REGISTRY: dict[str, type[Toxic]] = {
    cls.type_name: cls
    for cls in (
        LatencyToxic,
        BandwidthToxic,
        SlowCloseToxic,
        TimeoutToxic,
        ResetPeerToxic,
        SlicerToxic,
        LimitDataToxic,
    )
}

__all__ = ["REGISTRY", "Toxic"]
