"""NEGATIVE CONTROL: a sink that counts a task twice.

It is the real ``pipeline.sink`` with two bugs that often come together. It
keeps a running count instead of the set of tasks it has seen ("PUSH/PULL
delivers each message once, so why remember?"), and it drains its socket in
a loop that handles the last message of each burst once more after the loop
ends. Every such task is counted twice, the batch looks complete early, and
``tasks_exactly_once`` must flag it:

    zchaos run --impl pipeline.sink="python tests/negative/double_counting_sink.py" \\
        scenarios/pipeline/pipeline-steady.yaml

Do not use it for anything else.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

try:
    import patterns  # noqa: F401
except ImportError:  # run as a plain script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from patterns.common import role
from patterns.common.fastio import poll_in, recv_frames
from patterns.pipeline import sink, tasks


class DoubleCountingSink(sink.Sink):
    running_count = 0

    @property
    def tally(self) -> int:
        return self.running_count + self.untracked

    def handle(self, frame: bytes) -> None:
        decoded = tasks.decode_result(frame)
        if decoded is None:
            super().handle(frame)
            return
        self.last_at = time.monotonic()
        self._start("result")
        self.running_count += 1
        self.count(*decoded)

    def step(self) -> None:
        frame = None
        while poll_in(self.receiver, sink.POLL_MS if frame is None else 0):
            frame = recv_frames(self.receiver)[0]
            self.handle(frame)
        if frame is not None:
            self.handle(frame)  # the bug: the loop's last message, once more
        self.check_batch()
        self.kill_if_due()


if __name__ == "__main__":
    role.run_role(lambda: sink.main(DoubleCountingSink))
