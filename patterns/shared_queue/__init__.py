"""Shared queue (Guide ch. 2): a ROUTER/DEALER broker between REQ clients and REP workers.

Two brokers with the same wire behaviour: ``rrbroker`` shuttles messages
between its two sockets in a poll loop of its own, ``msgqueue`` hands both
sockets to libzmq's built-in ``zmq_proxy``. Neither looks inside a message:
the ROUTER frontend prepends the client's identity, the DEALER backend
round-robins requests over the connected REP workers (it does *not* know
which worker is idle, unlike the load-balancing broker), and replies find
their way back through the envelope the REP worker returns.

What this buys and costs under faults (see docs/shared_queue.md): REP
workers *connect*, so a restarted broker gets them back by libzmq's own
reconnect, with no READY to resend; but a worker that is frozen or slow still
receives its round-robin share, and those requests wait behind it.
PROTOCOLS.md §0, Guide "Shared Queue (DEALER and ROUTER sockets)" and
"ZeroMQ's Built-In Proxy Function".
"""
