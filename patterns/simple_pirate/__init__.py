"""Simple Pirate (Guide ch. 4): a load-balancing queue in front of REQ workers.

All reliability comes from Lazy Pirate clients retrying; the queue only keeps
a FIFO of idle workers. Its known weakness (a restarted queue never hears from
the REQ workers again) is kept on purpose: it is a negative control.
PROTOCOLS.md §1.4 and §3.
"""

READY = b"\x01"  # a worker's first message, app view [0x01]
