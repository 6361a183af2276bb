"""Lazy Pirate (Guide ch. 4): client-side reliability over plain REQ/REP.

The client times out, closes its REQ socket, opens a new one and resends, up
to a fixed number of sends, then gives up. PROTOCOLS.md §2.
"""
