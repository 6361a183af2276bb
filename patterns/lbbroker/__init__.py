"""Load-balancing message broker (Guide ch. 3): ROUTER/ROUTER with LRU routing.

Clients are REQ sockets; workers are REQ sockets that announce themselves
with READY and then answer one request at a time. The broker keeps the idle
workers least recently used first and reads the client side only while one
is idle, so requests wait in the clients' sockets, never behind a busy
worker. PROTOCOLS.md §1.4.

This is the same queue Simple Pirate runs (patterns/common/lru_queue.py,
patterns/simple_pirate/queue.py); the broker here differs only in taking
both READY spellings of the Guide (``"READY"`` from the Python examples,
``0x01`` from the C ones), and its worker says ``"READY"`` and names itself
after its node so a history reads ``worker-2``, not a random identity.
Nothing retries and nothing detects a dead worker: a request handed to a
worker that dies is lost, and a restarted broker never hears from REQ
workers again. Those are the Guide's design, kept as negative controls.
"""

READY = b"READY"  # what the Guide's Python workers send (lbbroker.py, peering*.py)
READY_SIGNALS = (READY, b"\x01")  # ... and the C ones (lbbroker3.c, peering3.c, spworker)
