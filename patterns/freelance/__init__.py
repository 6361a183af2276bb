"""Freelance: brokerless reliability, three models (PROTOCOLS.md §10).

Model 1 (``server1``/``client1``): REQ, retry then fail over.
Model 2 (``server2``/``client2``): DEALER shotgun to every server.
Model 3 (``server3``/``client3``, ``flp``): RFC 10/FLP, ROUTER to ROUTER with
an agent thread, heartbeats and per-server failover.
"""
