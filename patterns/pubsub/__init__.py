"""Publish-subscribe (Guide ch. 1-2): weather feed, envelopes, proxy, node coordination.

``envelope`` holds the wire format; ``publisher``, ``subscriber``, ``proxy``
(XSUB/XPUB), ``syncpub`` and ``syncsub`` are importable classes and role CLIs
(``python -m patterns.pubsub.<role>``). Nothing here retries or recovers a
message: loss is silent in pub-sub, so every message carries what a checker
needs to see it (docs/pubsub.md).
"""
