"""One seeded random generator per role: the run's seed, the node's name, its incarnation.

The harness gives every node ``ZCHAOS_SEED`` (the scenario's seed, or
``--seed``). A role that makes a random choice (a worker's identity, a
request's UUID) takes it from :func:`role_random` instead of ``random`` or
``uuid4``, so a replay with the same seed makes the same choices. The node's
name and incarnation are part of the derivation: two workers of one run
differ, and a restarted node does not repeat its predecessor's choices.
``purpose`` keeps independent uses within one role apart.

Without ``ZCHAOS_SEED`` (a role run standalone, like the Guide's examples)
the generator is seeded by the OS, as before. The seed cannot make the run
itself deterministic: what the OS schedules first, and when a timeout
fires, still varies (docs/coverage-and-seeds.md).
"""

from __future__ import annotations

import os
import random

from patterns.common import trace


def run_seed() -> int | None:
    """The run's seed from ``ZCHAOS_SEED``, or None when unset or not an integer >= 0."""
    raw = os.environ.get("ZCHAOS_SEED", "").strip()
    if not raw.isdigit():
        return None
    return int(raw)


def role_random(purpose: str = "", node: str | None = None) -> random.Random:
    """A generator for this node's ``purpose``: seeded from the run when there is one."""
    seed = run_seed()
    if seed is None:
        return random.Random()  # seeded from os.urandom
    name = node or trace.node_name("node")
    # A string seed is hashed with SHA-512 by random.Random: stable across
    # processes and Python runs (unlike hash(), which PYTHONHASHSEED salts).
    return random.Random(f"zchaos/{seed}/{name}/{trace.incarnation()}/{purpose}")
