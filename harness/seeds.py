"""Everything random the harness decides derives from the scenario's seed.

One integer per run (the scenario's ``seed``, or ``--seed``) is the root.
Each consumer asks :func:`derive` for its own seed with labels that name it
(``derive(seed, "toxic", "client->broker", "zchaos-3-latency-downstream")``),
so consumers never share a stream: adding a toxic, or a new kind of random
choice, does not shift the decisions of the others. The derivation is a
keyed hash, stable across processes, machines and Python versions (unlike
``hash()``).

What the seed controls, and what it cannot (OS scheduling), is on
docs/coverage-and-seeds.md.
"""

from __future__ import annotations

import hashlib
import random

#: Seeds are unsigned 64-bit integers (scenario files, --seed, toxic seeds).
MAX_SEED = 2**64 - 1


def derive(seed: int, *labels: str) -> int:
    """A 63-bit seed for the consumer named by ``labels``."""
    text = "\x1f".join([str(seed), *labels]).encode()
    digest = hashlib.blake2b(text, digest_size=8, person=b"zchaos-seed").digest()
    return int.from_bytes(digest, "big") >> 1


def generator(seed: int, *labels: str) -> random.Random:
    """A ``random.Random`` for that consumer (schedule generators, explorers)."""
    return random.Random(derive(seed, *labels))
