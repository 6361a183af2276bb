"""Upper bounds on every count and size a scenario file can ask for.

A scenario is input, and input is bounded: ``replicas: 100000000`` used to
make ``zchaos check`` build a hundred million nodes. Every bound here is far
above what a chaos scenario on one machine needs (each node is a process)
and low enough that loading, checking and resolving any file takes well
under a second. A value past its bound is one ``file:line: field: message``
error (exit 2) saying the limit and why it exists.

Reserved node names are names the harness itself uses in the places nodes'
names go: the ``node`` of its own trace events and its trace file
(``harness``), the word for "every node" (``all``), the Toxiproxy server and
its log (``toxiproxy``), the fault injector (``nemesis``).
"""

from __future__ import annotations

from harness.seeds import MAX_SEED

MAX_FILE_BYTES = 1_000_000  # a scenario file (a generous hand-written file is ~5 KB)
MAX_NAME = 64  # scenario, node and group names (they name folders and files)
MAX_DESCRIPTION = 10_000  # characters
MAX_DURATION_S = 6 * 3600.0  # a run, and any time in it
MAX_NODES = 200  # after replicas are expanded: each node is a process
MAX_FAULTS = 1_000
MAX_CONTRACTS = 50
MAX_COMMAND_CHARS = 4_096
MAX_TEXT_OPTION = 256  # e.g. a service name

RESERVED_NAMES: dict[str, str] = {
    "harness": "its own trace events (node \"harness\") and traces/harness.jsonl",
    "all": "\"every node\" in fault targets and reports",
    "toxiproxy": "the Toxiproxy server (its container and its log)",
    "nemesis": "the fault injector (zchaos nemesis, nemesis.jsonl)",
}

# Role options, by name: the largest value accepted (durations in milliseconds).
OPTION_MAX: dict[str, float] = {
    "requests": 10_000_000,
    "retries": 10_000,
    "liveness": 10_000,
    "window": 100_000,
    "rate": 100_000.0,
}
# By option type, for names without their own bound above.
TYPE_MAX: dict[str, float] = {
    "duration": MAX_DURATION_S * 1000.0,  # ms
    "int": 1_000_000_000,
    "float": 1_000_000_000.0,
}

# Toxic attributes, in Toxiproxy's units.
TOXIC_MAX: dict[str, int] = {
    "latency": 3_600_000,  # ms
    "jitter": 3_600_000,
    "delay": 3_600_000,  # ms for slow_close; the slicer's delay is in us, bounded below
    "timeout": 3_600_000,
    "rate": 10_000_000,  # KB/s
    "bytes": 2**40,
    "average_size": 2**30,
    "size_variation": 2**30,
}
SLICER_DELAY_MAX_US = 3_600_000_000

__all__ = [
    "MAX_COMMAND_CHARS",
    "MAX_CONTRACTS",
    "MAX_DESCRIPTION",
    "MAX_DURATION_S",
    "MAX_FAULTS",
    "MAX_FILE_BYTES",
    "MAX_NAME",
    "MAX_NODES",
    "MAX_SEED",
    "MAX_TEXT_OPTION",
    "OPTION_MAX",
    "RESERVED_NAMES",
    "SLICER_DELAY_MAX_US",
    "TOXIC_MAX",
    "TYPE_MAX",
]


def option_max(option: str, kind: str) -> float | None:
    """The bound of a role option (None for booleans and text, bounded by length)."""
    return OPTION_MAX.get(option, TYPE_MAX.get(kind))


def number(value: float) -> str:
    """A bound as people write it: ``10,000,000``, ``21,600``."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,}"
