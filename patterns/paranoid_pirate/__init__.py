"""Paranoid Pirate (Guide ch. 4, RFC 6/PPP): heartbeating queue and DEALER workers.

Workers announce themselves with READY, both sides heartbeat, the queue
expires silent workers and workers reconnect with exponential back-off, so a
queue restart and a hung worker are both survived. PROTOCOLS.md §4.
"""
