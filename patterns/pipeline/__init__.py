"""Pipeline (Guide ch. 1-2): ventilator, workers, sink, and the sink's kill signal.

``tasks`` holds the wire format; ``ventilator``, ``worker`` and ``sink`` are
importable classes and role CLIs (``python -m patterns.pipeline.<role>``).
PUSH/PULL has no acknowledgements: a task pushed to a worker that dies is
gone, so every task carries an id a checker can follow (docs/pipeline.md).
"""
