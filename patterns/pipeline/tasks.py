"""The pipeline's wire format: the Guide's frames, plus an id on every task and result.

All messages are one frame of ASCII, space-separated:

| message | from -> to | frame |
|---|---|---|
| batch start | ventilator -> sink | ``0`` (the Guide's start-of-batch message) |
| task | ventilator -> worker | ``WORKLOAD_MS VENTILATOR EPOCH SEQ`` |
| result | worker -> sink | ``VENTILATOR EPOCH SEQ WORKER`` |
| kill signal | sink -> workers (PUB) | ``KILL`` (workers take *any* message as the kill) |

A task id is ``VENTILATOR:EPOCH:SEQ`` (``ventilator:0:17``): ``SEQ`` counts the
tasks of one ventilator process from 1, ``EPOCH`` is that process's
incarnation, so ids never repeat across restarts.

Where this differs from the Guide: its task is the workload alone (``"37"``)
and its result empty (taskwork) or the workload echoed (taskwork2), so nobody
can tell *which* task was lost or counted twice. Our worker still accepts
the Guide's bare workload (its result is then the workload echoed, as
taskwork2 does) and our sink counts results it cannot identify as
*untracked*. The Guide's workers cannot take our tasks: they ``int()`` the
whole frame.
"""

from __future__ import annotations

from dataclasses import dataclass

BATCH_START = b"0"
KILL = b"KILL"


@dataclass(frozen=True)
class TaskId:
    ventilator: str
    epoch: int
    seq: int

    def __str__(self) -> str:
        return f"{self.ventilator}:{self.epoch}:{self.seq}"

    def fields(self) -> dict[str, object]:
        """The trace fields every task event carries."""
        return {"task": str(self), "ventilator": self.ventilator, "epoch": self.epoch,
                "seq": self.seq}


def encode_task(task: TaskId, workload_ms: int) -> bytes:
    return f"{workload_ms} {task.ventilator} {task.epoch} {task.seq}".encode()


def decode_task(frame: bytes) -> tuple[TaskId | None, int] | None:
    """(id, workload in ms) of a task; id None for the Guide's bare workload; None if garbage."""
    parts = frame.split()
    if not parts or not parts[0].isdigit():
        return None
    workload = int(parts[0])
    if len(parts) == 1:
        return None, workload
    task = _task_id(parts[1:])
    return None if task is None else (task, workload)


def encode_result(task: TaskId, worker: str) -> bytes:
    return f"{task.ventilator} {task.epoch} {task.seq} {worker}".encode()


def decode_result(frame: bytes) -> tuple[TaskId, str] | None:
    """(task id, worker) of one of our results; None for anything else."""
    parts = frame.split()
    if len(parts) != 4:
        return None
    task = _task_id(parts[:3])
    if task is None:
        return None
    return task, parts[3].decode(errors="backslashreplace")


def _task_id(parts: list[bytes]) -> TaskId | None:
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    return TaskId(parts[0].decode(errors="backslashreplace"), int(parts[1]), int(parts[2]))
